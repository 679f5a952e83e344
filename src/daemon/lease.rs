//! Leader election with a Kubernetes Lease (`coordination.k8s.io/v1`).
//!
//! Every replica tries, every `renew_every`, to acquire or renew the Lease: it takes the Lease
//! when it is absent, unheld, already its own, or expired (`renewTime + leaseDurationSeconds`
//! in the past). Writes carry the `resourceVersion` read, so two replicas racing for an expired
//! Lease cannot both win (the loser gets 409 Conflict). Only the holder reconciles; the others
//! serve HTTP. On shutdown the holder releases the Lease so a standby takes over at once.

use std::time::{Duration, SystemTime};

use k8s_openapi::api::coordination::v1::{Lease, LeaseSpec};
use k8s_openapi::apimachinery::pkg::apis::meta::v1::{MicroTime, ObjectMeta};
use k8s_openapi::jiff::Timestamp;
use kube::Api;
use kube::api::PostParams;
use tokio::sync::watch;

/// Lease settings.
#[derive(Debug, Clone)]
pub struct LeaseConfig {
    /// The Lease's name.
    pub name: String,
    /// Its namespace.
    pub namespace: String,
    /// This replica's identity.
    pub identity: String,
    /// How long a Lease stays valid without renewal.
    pub lease_duration: Duration,
    /// How often the holder renews (and standbys retry).
    pub renew_every: Duration,
}

impl LeaseConfig {
    /// Defaults: 15 s leases renewed every 5 s.
    pub fn new(name: String, namespace: String, identity: String) -> Self {
        Self {
            name,
            namespace,
            identity,
            lease_duration: Duration::from_secs(15),
            renew_every: Duration::from_secs(5),
        }
    }
}

/// The lease operations, over a Kubernetes client.
#[derive(Clone)]
pub struct LeaseLock {
    api: Api<Lease>,
    config: LeaseConfig,
}

impl std::fmt::Debug for LeaseLock {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("LeaseLock")
            .field("config", &self.config)
            .finish_non_exhaustive()
    }
}

fn timestamp(time: SystemTime) -> Timestamp {
    Timestamp::try_from(time).unwrap_or(Timestamp::UNIX_EPOCH)
}

fn is_conflict(error: &kube::Error) -> bool {
    matches!(error, kube::Error::Api(status) if status.code == 409)
}

impl LeaseLock {
    /// A lock over `client`.
    pub fn new(client: kube::Client, config: LeaseConfig) -> Self {
        Self {
            api: Api::namespaced(client, &config.namespace),
            config,
        }
    }

    fn spec(&self, now: Timestamp, previous: Option<&LeaseSpec>) -> LeaseSpec {
        let ours = previous
            .and_then(|p| p.holder_identity.as_deref())
            .is_some_and(|h| h == self.config.identity);
        let transitions = previous.and_then(|p| p.lease_transitions).unwrap_or(0);
        LeaseSpec {
            holder_identity: Some(self.config.identity.clone()),
            lease_duration_seconds: Some(
                i32::try_from(self.config.lease_duration.as_secs()).unwrap_or(i32::MAX),
            ),
            acquire_time: if ours {
                previous.and_then(|p| p.acquire_time.clone())
            } else {
                Some(MicroTime(now))
            },
            renew_time: Some(MicroTime(now)),
            lease_transitions: Some(if ours || previous.is_none() {
                transitions
            } else {
                transitions + 1
            }),
            ..LeaseSpec::default()
        }
    }

    /// Acquires or renews the Lease at `now`: `Ok(true)` when this replica holds it afterwards.
    ///
    /// # Errors
    /// When the API server fails (a lost race, 409, is `Ok(false)`).
    pub async fn try_acquire_or_renew(&self, now: SystemTime) -> Result<bool, kube::Error> {
        let now = timestamp(now);
        let Some(mut lease) = self.api.get_opt(&self.config.name).await? else {
            let lease = Lease {
                metadata: ObjectMeta {
                    name: Some(self.config.name.clone()),
                    namespace: Some(self.config.namespace.clone()),
                    ..ObjectMeta::default()
                },
                spec: Some(self.spec(now, None)),
            };
            return match self.api.create(&PostParams::default(), &lease).await {
                Ok(_) => Ok(true),
                Err(error) if is_conflict(&error) => Ok(false),
                Err(error) => Err(error),
            };
        };
        let spec = lease.spec.clone().unwrap_or_default();
        let holder = spec.holder_identity.as_deref().filter(|h| !h.is_empty());
        let expired = match (&spec.renew_time, spec.lease_duration_seconds) {
            (Some(MicroTime(renewed)), Some(seconds)) => {
                renewed.as_second() + i64::from(seconds) < now.as_second()
            }
            _ => true,
        };
        let ours = holder == Some(self.config.identity.as_str());
        if !(ours || holder.is_none() || expired) {
            return Ok(false);
        }
        lease.spec = Some(self.spec(now, Some(&spec)));
        match self
            .api
            .replace(&self.config.name, &PostParams::default(), &lease)
            .await
        {
            Ok(_) => Ok(true),
            Err(error) if is_conflict(&error) => Ok(false),
            Err(error) => Err(error),
        }
    }

    /// Gives the Lease up when this replica holds it.
    ///
    /// # Errors
    /// When the API server fails.
    pub async fn release(&self) -> Result<(), kube::Error> {
        let Some(mut lease) = self.api.get_opt(&self.config.name).await? else {
            return Ok(());
        };
        let mut spec = lease.spec.clone().unwrap_or_default();
        if spec.holder_identity.as_deref() != Some(self.config.identity.as_str()) {
            return Ok(());
        }
        spec.holder_identity = None;
        spec.renew_time = None;
        spec.acquire_time = None;
        lease.spec = Some(spec);
        match self
            .api
            .replace(&self.config.name, &PostParams::default(), &lease)
            .await
        {
            Ok(_) => Ok(()),
            Err(error) if is_conflict(&error) => Ok(()),
            Err(error) => Err(error),
        }
    }
}

/// Runs the election until shutdown, publishing leadership on `leader`.
pub async fn run(
    client: kube::Client,
    config: LeaseConfig,
    leader: watch::Sender<bool>,
    mut shutdown: watch::Receiver<bool>,
) {
    let renew_every = config.renew_every;
    let lease_duration = config.lease_duration;
    let lock = LeaseLock::new(client, config);
    let mut last_renewed: Option<tokio::time::Instant> = None;
    loop {
        if *shutdown.borrow() {
            break;
        }
        let held = match lock.try_acquire_or_renew(SystemTime::now()).await {
            Ok(held) => held,
            Err(error) => {
                tracing::warn!(error = %error, "leader election: cannot reach the Lease");
                // Keep leading only while the Lease we last renewed is still valid.
                last_renewed.is_some_and(|at| at.elapsed() < lease_duration)
            }
        };
        if held {
            last_renewed = Some(tokio::time::Instant::now());
        }
        leader.send_if_modified(|current| {
            let changed = *current != held;
            if changed {
                tracing::info!(leader = held, "leader election: leadership changed");
            }
            *current = held;
            changed
        });
        tokio::select! {
            _ = shutdown.changed() => {}
            () = tokio::time::sleep(renew_every) => {}
        }
    }
    if *leader.borrow() {
        let _ = leader.send(false);
        if let Err(error) = lock.release().await {
            tracing::warn!(error = %error, "leader election: cannot release the Lease");
        }
    }
}
