//! The daemon: a loop around an idempotent reconcile.
//!
//! ```text
//! triggers ──► (single flight) fetch source ──► load + validate ──► plan ──► apply ──► record
//!  startup, poll (interval + jitter), webhook, file watch (debounced), drift interval, retry (backoff)
//! ```
//!
//! - Never two reconciles at once: the loop runs them inline; triggers that arrive during a run
//!   coalesce into one follow-up run.
//! - A poll that finds the revision already seen does nothing; every other trigger reconciles.
//! - An invalid revision is recorded and not applied; the last good revision stays applied, and
//!   drift checks keep reconciling it.
//! - A failed reconcile (source unreachable, Infisical errors, failed changes) is retried with
//!   exponential backoff; success resets it.
//! - Projects with `policy.mode: detect` only report drift (the planner keeps their changes in
//!   `Plan::detected`, which the applier never executes).
//! - Shutdown: no new runs; a run in progress gets `shutdown_grace` to finish, then is dropped.
//!
//! Time comes from `tokio::time`, so tests drive it with paused time.

pub mod forge_status;
pub mod http;
pub mod lease;
pub mod requests;
pub(crate) mod schedule;
pub mod serve;
mod stage;
pub(crate) mod status;

use std::sync::Arc;
use std::time::Duration;

use tokio::sync::{mpsc, watch};
use tokio::time::Instant;

use crate::reconcile::Reconciler;
use crate::source::SourceFiles;

pub use crate::source::{Source, SourceError};
pub use schedule::{Backoff, Jitter};
pub use serve::{McpRoutes, ServeConfig, ServeError, once, serve};
pub use status::{AdapterMetrics, DaemonState, ReconcileOutcome, ReconcileRecord};

/// Why a reconcile ran.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, serde::Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Trigger {
    /// The first run.
    Startup,
    /// The poll interval.
    Poll,
    /// A webhook delivery.
    Webhook,
    /// A change in a watched directory.
    Watch,
    /// The drift-check interval.
    Drift,
    /// A retry after a failure.
    Retry,
    /// This replica became the leader.
    Leader,
}

impl Trigger {
    /// The label used in metrics and status.
    pub fn as_str(self) -> &'static str {
        match self {
            Trigger::Startup => "startup",
            Trigger::Poll => "poll",
            Trigger::Webhook => "webhook",
            Trigger::Watch => "watch",
            Trigger::Drift => "drift",
            Trigger::Retry => "retry",
            Trigger::Leader => "leader",
        }
    }
}

/// Scheduling settings.
#[derive(Debug, Clone)]
pub struct DaemonConfig {
    /// How often the source is polled for a new revision.
    pub interval: Duration,
    /// How often Infisical is checked for drift even without a new revision.
    pub drift_interval: Duration,
    /// Extra random delay added to each poll, as a fraction of `interval` (0.0–1.0).
    pub jitter: f64,
    /// Retry delays after a failure.
    pub backoff: Backoff,
    /// Consecutive failures during which `/readyz` still answers ready.
    pub retry_budget: u32,
    /// How long a run in progress may continue after shutdown was requested.
    pub shutdown_grace: Duration,
    /// Quiet time after the last file event before a watched directory is reconciled.
    pub debounce: Duration,
    /// Seed of the jitter generator.
    pub seed: u64,
}

impl Default for DaemonConfig {
    fn default() -> Self {
        Self {
            interval: Duration::from_secs(60),
            drift_interval: Duration::from_secs(600),
            jitter: 0.1,
            backoff: Backoff::default(),
            retry_budget: 5,
            shutdown_grace: Duration::from_secs(30),
            debounce: Duration::from_millis(500),
            seed: 0x5eed,
        }
    }
}

/// How a daemon is stopped and gated.
#[derive(Debug)]
pub struct Controls {
    /// Becomes `true` to stop.
    pub shutdown: watch::Receiver<bool>,
    /// `true` while this replica may reconcile (always `true` without leader election).
    pub leader: watch::Receiver<bool>,
    /// File events of a watched directory (each message is one event burst).
    pub watch_events: Option<mpsc::Receiver<()>>,
}

/// The reconcile loop.
pub struct Daemon {
    reconciler: Reconciler,
    source: Arc<dyn Source>,
    config: DaemonConfig,
    state: Arc<DaemonState>,
    triggers: mpsc::Receiver<Trigger>,
    last_seen: Option<String>,
    /// The last revision applied successfully, with its files (not its parsed state: the
    /// files are a fraction of its size).
    last_good: Option<(String, Arc<SourceFiles>)>,
    jitter: Jitter,
}

impl std::fmt::Debug for Daemon {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Daemon")
            .field("config", &self.config)
            .finish_non_exhaustive()
    }
}

/// What one run did, for scheduling.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RunResult {
    /// Reconciled (or nothing to do).
    Success,
    /// The poll found the revision already seen.
    Unchanged,
    /// The revision is invalid; not applied, not retried.
    Invalid,
    /// Failed; retried with backoff.
    Failed,
}

impl Daemon {
    /// A daemon over a reconciler and a source. Returns the shared state the HTTP surface
    /// reads and triggers through.
    pub fn new(
        reconciler: Reconciler,
        source: Arc<dyn Source>,
        config: DaemonConfig,
    ) -> (Self, Arc<DaemonState>) {
        Self::with_metrics(reconciler, source, config, Arc::default())
    }

    /// As [`Daemon::new`], serving on `/metrics` what the reconciler's adapters report into
    /// `adapters` (install it into the HTTP client and the resolver first).
    pub fn with_metrics(
        reconciler: Reconciler,
        source: Arc<dyn Source>,
        config: DaemonConfig,
        adapters: Arc<AdapterMetrics>,
    ) -> (Self, Arc<DaemonState>) {
        let (sender, triggers) = mpsc::channel(1);
        let state = Arc::new(DaemonState::new(
            sender,
            source.describe(),
            config.retry_budget,
            adapters,
        ));
        let jitter = Jitter::new(config.seed, config.jitter);
        let daemon = Self {
            reconciler,
            source,
            config,
            state: state.clone(),
            triggers,
            last_seen: None,
            last_good: None,
            jitter,
        };
        (daemon, state)
    }

    /// One run now (for `--once`).
    pub async fn run_once(&mut self, trigger: Trigger) -> RunResult {
        self.reconcile(trigger).await
    }

    /// Runs until shutdown.
    pub async fn run(mut self, mut controls: Controls) {
        let config = self.config.clone();
        let mut backoff_failures = 0u32;
        let mut retry_at: Option<Instant> = None;
        let mut debounce_at: Option<Instant> = None;
        let mut next_poll = Instant::now() + self.jitter.delay(config.interval);
        let mut next_drift = Instant::now() + config.drift_interval;
        let mut pending = Some(Trigger::Startup);
        let mut was_leader = *controls.leader.borrow();
        self.state.set_leader(was_leader);
        loop {
            if *controls.shutdown.borrow() {
                break;
            }
            let leader = *controls.leader.borrow();
            self.state.set_leader(leader);
            if leader && !was_leader {
                // One run covers whatever was asked for while standing by.
                while self.triggers.try_recv().is_ok() {}
                pending = Some(Trigger::Leader);
            }
            was_leader = leader;
            if let Some(trigger) = pending.take().filter(|_| leader) {
                let Some(result) = self.guarded(trigger, &mut controls.shutdown).await else {
                    tracing::warn!(
                        "shutdown: the reconcile in progress was abandoned after the grace period"
                    );
                    break;
                };
                let now = Instant::now();
                match result {
                    RunResult::Failed => {
                        backoff_failures += 1;
                        retry_at = Some(now + config.backoff.delay(backoff_failures));
                    }
                    RunResult::Success | RunResult::Invalid => {
                        backoff_failures = 0;
                        retry_at = None;
                    }
                    RunResult::Unchanged => {}
                }
                if result != RunResult::Unchanged {
                    next_drift = now + config.drift_interval;
                }
                next_poll = now + self.jitter.delay(config.interval);
                continue;
            }
            let mut deadline = next_poll.min(next_drift);
            for at in [retry_at, debounce_at].into_iter().flatten() {
                deadline = deadline.min(at);
            }
            let watch_events = controls.watch_events.as_mut();
            tokio::select! {
                biased;
                _ = controls.shutdown.changed() => {}
                _ = controls.leader.changed() => {}
                Some(trigger) = self.triggers.recv() => pending = Some(trigger),
                Some(()) = async {
                    match watch_events {
                        Some(events) => events.recv().await,
                        None => std::future::pending().await,
                    }
                } => {
                    debounce_at = Some(Instant::now() + config.debounce);
                }
                () = tokio::time::sleep_until(deadline) => {
                    let now = Instant::now();
                    if retry_at.is_some_and(|at| at <= now) {
                        retry_at = None;
                        pending = Some(Trigger::Retry);
                    } else if debounce_at.is_some_and(|at| at <= now) {
                        debounce_at = None;
                        pending = Some(Trigger::Watch);
                    } else if next_drift <= now {
                        pending = Some(Trigger::Drift);
                    } else {
                        pending = Some(Trigger::Poll);
                    }
                    if !leader {
                        // Followers keep their timers moving without reconciling.
                        next_poll = now + self.jitter.delay(config.interval);
                        next_drift = now + config.drift_interval;
                        retry_at = None;
                        debounce_at = None;
                    }
                }
            }
        }
        self.state.set_leader(false);
    }

    /// A run that shutdown can interrupt only after the grace period. `None` when abandoned.
    async fn guarded(
        &mut self,
        trigger: Trigger,
        shutdown: &mut watch::Receiver<bool>,
    ) -> Option<RunResult> {
        let grace = self.config.shutdown_grace;
        let run = self.reconcile(trigger);
        tokio::pin!(run);
        tokio::select! {
            result = &mut run => Some(result),
            _ = wait_true(shutdown) => {
                tokio::select! {
                    result = &mut run => Some(result),
                    () = tokio::time::sleep(grace) => None,
                }
            }
        }
    }

    fn finish(
        &self,
        mut record: ReconcileRecord,
        started: Instant,
        result: RunResult,
    ) -> RunResult {
        record.duration = started.elapsed();
        tracing::info!(
            trigger = record.trigger.as_str(),
            revision = record.revision.as_deref().unwrap_or("-"),
            outcome = record.outcome.as_str(),
            duration_ms = u64::try_from(record.duration.as_millis()).unwrap_or(u64::MAX),
            created = record.changes.create,
            updated = record.changes.update,
            deleted = record.changes.delete,
            detected = record.detected,
            errors = record.errors.len(),
            "reconcile finished"
        );
        self.state.record(record);
        result
    }
}

/// At most this many unresolved secrets are named one by one in a record's errors.
const UNRESOLVED_ERRORS: usize = 10;

/// The `/status` errors of a plan's unresolved secrets: the headline with each backend-wide
/// cause once (`21 secrets not resolved, not written: the bitwarden vault is locked; …`), then
/// the first secrets with their own reasons.
fn unresolved_errors(plan: &crate::plan::Plan) -> Vec<String> {
    let Some(headline) = plan.unresolved_headline() else {
        return Vec::new();
    };
    let groups = plan.unresolved_groups();
    let mut errors = Vec::new();
    // One group per cause and code (see `unresolved_groups`): each cause is named once.
    let causes: Vec<String> = groups
        .iter()
        .filter_map(|g| g.cause.map(|cause| format!("{cause} [{}]", g.code)))
        .collect();
    if causes.is_empty() {
        errors.push(headline);
    } else {
        errors.push(format!("{headline}: {}", causes.join("; ")));
    }
    errors.extend(
        groups
            .iter()
            .filter(|g| g.cause.is_none())
            .flat_map(|g| &g.secrets)
            .take(UNRESOLVED_ERRORS)
            .map(|u| format!("{}: {} [{}]", u.address, u.reason.message, u.reason.code)),
    );
    errors
}

async fn wait_true(receiver: &mut watch::Receiver<bool>) {
    while !*receiver.borrow() {
        if receiver.changed().await.is_err() {
            std::future::pending::<()>().await;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn assert_send<T: Send>(_: &T) {}

    /// The loop can be spawned on a multi-threaded runtime (checked when compiling).
    #[test]
    fn the_loop_futures_are_send() {
        fn check(mut daemon: Daemon, controls: Controls) {
            assert_send(&daemon.run_once(Trigger::Startup));
            assert_send(&daemon.run(controls));
        }
        let _ = check as fn(Daemon, Controls);
    }
}
