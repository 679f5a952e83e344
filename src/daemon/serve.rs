//! The daemon's wiring: the loop, the HTTP listener, leader election, the directory watch,
//! notifications and the forge's statuses and request plans, from settings the CLI builds.
//!
//! ```text
//! serve(config, shutdown)   bind ─► lease ─► watch ─► listener ─► loop until shutdown ─► drain
//! once(config, report)      one reconcile; report its record; drain the notifications
//! ```

use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use tokio::sync::watch;

use super::forge_status::{ApplyStatuses, ForgeCalls};
use super::http::{WebhookSecrets, router};
use super::lease::LeaseConfig;
use super::requests::{RequestPlans, RequestPlansConfig};
use super::{
    AdapterMetrics, Controls, Daemon, DaemonConfig, DaemonState, ReconcileRecord, RunResult,
    Source, Trigger,
};
use crate::net::listener::{ListenerLimits, serve as serve_listener};
use crate::notify::Notifier;
use crate::propose::review::Review;
use crate::reconcile::Reconciler;
use crate::source::watch_directory;

/// How long queued notifications may take to go out when the daemon stops.
const NOTIFY_DRAIN: Duration = Duration::from_secs(10);

/// The MCP endpoint's routes, served next to the daemon's, with what stops their open streams
/// at shutdown.
pub struct McpRoutes {
    /// The routes.
    pub router: axum::Router,
    /// Called when shutdown begins (open event streams would otherwise hold it).
    pub on_shutdown: Box<dyn FnOnce() + Send>,
}

impl std::fmt::Debug for McpRoutes {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("McpRoutes").finish_non_exhaustive()
    }
}

/// Everything the daemon is wired from.
pub struct ServeConfig {
    /// The use cases.
    pub reconciler: Reconciler,
    /// What is followed.
    pub source: Arc<dyn Source>,
    /// Scheduling.
    pub daemon: DaemonConfig,
    /// What the reconciler's adapters report into (served on `/metrics`).
    pub metrics: Arc<AdapterMetrics>,
    /// Notifications of outcome changes.
    pub notifier: Option<Notifier>,
    /// The forge client that sets apply statuses (and plans requests).
    pub review: Option<Arc<dyn Review>>,
    /// Request plans, with `review`.
    pub request_plans: Option<RequestPlansConfig>,
    /// The HTTP listener's address.
    pub listen: SocketAddr,
    /// The webhook secrets.
    pub webhook_secrets: WebhookSecrets,
    /// A local directory to watch for changes.
    pub watched: Option<PathBuf>,
    /// Reconcile only while holding this Lease.
    pub leader_election: Option<LeaseConfig>,
    /// The MCP endpoint, served at `/mcp` on the same listener.
    pub mcp: Option<McpRoutes>,
}

impl std::fmt::Debug for ServeConfig {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ServeConfig")
            .field("source", &self.source.describe())
            .field("daemon", &self.daemon)
            .field("listen", &self.listen)
            .field("watched", &self.watched)
            .finish_non_exhaustive()
    }
}

/// Why the daemon could not start.
#[derive(Debug, thiserror::Error)]
pub enum ServeError {
    /// The listener could not be bound.
    #[error("cannot listen on {address}")]
    Listen {
        /// The address.
        address: SocketAddr,
        /// The IO error.
        #[source]
        source: std::io::Error,
    },
    /// Leader election needs the Kubernetes API.
    #[error("--leader-elect: cannot reach the Kubernetes API")]
    Kubernetes(#[source] kube::Error),
    /// The directory could not be watched.
    #[error("cannot watch {}", path.display())]
    Watch {
        /// The directory.
        path: PathBuf,
        /// The watcher's error.
        #[source]
        source: notify::Error,
    },
}

/// The loop and its shared state, with the notifier, apply statuses and request plans set.
fn wire(config: &mut ServeConfig) -> (Daemon, Arc<DaemonState>) {
    let (daemon, state) = Daemon::with_metrics(
        config.reconciler.clone(),
        config.source.clone(),
        config.daemon.clone(),
        config.metrics.clone(),
    );
    if let Some(notifier) = &config.notifier {
        state.set_notifier(notifier.clone());
    }
    if let Some(review) = config.review.clone() {
        let calls = Arc::new(ForgeCalls::default());
        state.set_apply_statuses(ApplyStatuses::start(review.clone(), calls.clone()));
        if let Some(plans) = config.request_plans.take() {
            tracing::info!(
                branch = %plans.tracked_branch,
                max_concurrent = plans.max_concurrent,
                allow_forks = plans.allow_forks,
                "planning merge/pull requests that target the tracked branch on their webhook events"
            );
            state.set_request_plans(RequestPlans::start(
                plans,
                config.reconciler.clone(),
                review,
                calls,
            ));
        }
    }
    (daemon, state)
}

/// One reconcile (`run --once`): `report` gets its record, then queued notifications go out.
pub async fn once(
    mut config: ServeConfig,
    report: impl FnOnce(Option<ReconcileRecord>),
) -> RunResult {
    let (mut daemon, state) = wire(&mut config);
    let result = daemon.run_once(Trigger::Startup).await;
    report(state.last());
    if let Some(notifier) = &config.notifier {
        notifier.close(NOTIFY_DRAIN).await;
    }
    result
}

/// Serves until `shutdown` becomes `true`: the reconcile loop, and on one listener health,
/// readiness, metrics, status, the webhooks and the MCP endpoint. The Lease is released only
/// after the last reconcile finished, so a standby never overlaps with it.
///
/// # Errors
/// When the listener cannot be bound, the Kubernetes API cannot be reached for the Lease, or
/// the directory cannot be watched.
pub async fn serve(
    mut config: ServeConfig,
    shutdown: watch::Receiver<bool>,
) -> Result<(), ServeError> {
    let (daemon, state) = wire(&mut config);
    let listener = tokio::net::TcpListener::bind(config.listen)
        .await
        .map_err(|source| ServeError::Listen {
            address: config.listen,
            source,
        })?;
    tracing::info!(listen = %config.listen, "serving health, metrics, status and webhooks");

    let mut lease_task = None;
    let (_leader_tx, leader) = match config.leader_election.take() {
        Some(lease) => {
            let (tx, rx) = watch::channel(false);
            let client = kube::Client::try_default()
                .await
                .map_err(ServeError::Kubernetes)?;
            let (stop_tx, stop) = watch::channel(false);
            lease_task = Some((
                stop_tx,
                tokio::spawn(super::lease::run(client, lease, tx, stop)),
            ));
            (None, rx)
        }
        None => {
            let (tx, rx) = watch::channel(true);
            (Some(tx), rx)
        }
    };

    let (_watcher, watch_events) = match &config.watched {
        Some(path) => {
            let (watcher, events) = watch_directory(path).map_err(|source| ServeError::Watch {
                path: path.clone(),
                source,
            })?;
            (Some(watcher), Some(events))
        }
        None => (None, None),
    };

    let (extra, on_shutdown) = match config.mcp.take() {
        Some(McpRoutes {
            router,
            on_shutdown,
        }) => {
            tracing::info!(listen = %config.listen, "serving MCP at /mcp");
            (router, Some(on_shutdown))
        }
        None => (axum::Router::new(), None),
    };
    let app = router(state, std::mem::take(&mut config.webhook_secrets), extra);
    let mut server_shutdown = shutdown.clone();
    let server = tokio::spawn(async move {
        serve_listener(listener, app, ListenerLimits::default(), async move {
            while !*server_shutdown.borrow() {
                if server_shutdown.changed().await.is_err() {
                    break;
                }
            }
            // Open MCP event streams would otherwise hold the graceful shutdown.
            if let Some(on_shutdown) = on_shutdown {
                on_shutdown();
            }
        })
        .await
    });
    daemon
        .run(Controls {
            shutdown,
            leader,
            watch_events,
        })
        .await;
    if let Some((stop, task)) = lease_task {
        let _ = stop.send(true);
        let _ = task.await;
    }
    if let Some(notifier) = &config.notifier {
        notifier.close(NOTIFY_DRAIN).await;
    }
    let _ = server.await;
    Ok(())
}
