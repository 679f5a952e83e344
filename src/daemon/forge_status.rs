//! Apply statuses: after each reconcile, the reconciled commit gets `infisical-gitops/apply`
//! `success` or `failed` on the forge (GitLab commit statuses, GitHub statuses), through the
//! review client of [`crate::propose::review`].
//!
//! ```text
//! daemon records a reconcile ──► ApplyStatuses::observe (inline, never blocks)
//!     dedup (commit + state, last DEDUP commits) ──► try_send into a QUEUE-long queue
//!         └──► one task: Review::set_status ──► count {call, result}, log failures
//! ```
//!
//! - Only `success` is success: `unresolved`, `failed`, `invalid`, `untrusted` and changes
//!   waiting for an approval are `failed`. A record without a full commit id (a local
//!   directory, an unreachable source) sets nothing.
//! - A drift tick that ends as the last one did re-posts nothing; a full queue drops the status
//!   (counted as `dropped`) instead of delaying the reconcile loop.
//! - Forge errors (401, 404, 5xx, unreachable) are logged with the forge's scrubbed message and
//!   counted; the token never appears in them.

use std::collections::{BTreeMap, VecDeque};
use std::fmt::Write as _;
use std::sync::{Arc, Mutex};

use tokio::sync::mpsc;

use super::status::{ReconcileOutcome, ReconcileRecord, family};
use crate::propose::review::{CommitId, CommitStatus, Review, StatusContext, StatusState};

/// Statuses waiting to be sent; more are dropped (and counted).
pub const QUEUE: usize = 16;
/// Commits whose last sent state is remembered.
pub const DEDUP: usize = 64;

/// Forge calls, by call and result: `infisical_gitops_forge_calls_total`.
#[derive(Debug, Default)]
pub struct ForgeCalls(Mutex<BTreeMap<(&'static str, &'static str), u64>>);

impl ForgeCalls {
    /// Counts one call.
    pub fn count(&self, call: &'static str, result: &'static str) {
        *self
            .0
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .entry((call, result))
            .or_default() += 1;
    }

    /// The count of `call` with `result`.
    pub fn get(&self, call: &str, result: &str) -> u64 {
        self.0
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .iter()
            .filter(|((c, r), _)| *c == call && *r == result)
            .map(|(_, n)| *n)
            .sum()
    }

    /// Appends the family in the Prometheus text format.
    pub fn render(&self, out: &mut String) {
        family(
            out,
            "forge_calls_total",
            "counter",
            "Calls to the forge's API, by call and result (dropped: the queue was full).",
        );
        let calls = self
            .0
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        for ((call, result), n) in calls.iter() {
            let _ = writeln!(
                out,
                "infisical_gitops_forge_calls_total{{call=\"{call}\",result=\"{result}\"}} {n}"
            );
        }
    }
}

/// The result label of a forge error.
pub fn error_result(error: &crate::propose::forge::ForgeError) -> &'static str {
    use crate::propose::forge::ForgeError;
    match error {
        ForgeError::Unauthorized { .. } => "unauthorized",
        ForgeError::NotFound { .. } => "not-found",
        ForgeError::Unavailable { .. } => "unavailable",
        ForgeError::Transport { .. } | ForgeError::TooLarge { .. } => "unreachable",
        _ => "refused",
    }
}

/// The apply status of a record: `None` without a full commit id.
pub fn apply_status(record: &ReconcileRecord) -> Option<(CommitId, CommitStatus)> {
    let commit = CommitId::parse(record.revision.as_deref()?).ok()?;
    let changes = record.changes.create + record.changes.update + record.changes.delete;
    let (state, description) = match record.outcome {
        ReconcileOutcome::Success if record.pending_approval > 0 => (
            StatusState::Failed,
            format!(
                "applied; {} change(s) wait for an approval",
                record.pending_approval
            ),
        ),
        ReconcileOutcome::Success => (
            StatusState::Success,
            format!("applied: {changes} change(s), Infisical matches the repository"),
        ),
        ReconcileOutcome::Unresolved => (
            StatusState::Failed,
            format!(
                "applied, but {} secret value(s) not resolved",
                record.unresolved
            ),
        ),
        ReconcileOutcome::Failed => (
            StatusState::Failed,
            format!("apply failed: {} error(s)", record.errors.len()),
        ),
        ReconcileOutcome::Invalid => (
            StatusState::Failed,
            "the revision does not validate; nothing applied".to_string(),
        ),
        ReconcileOutcome::Untrusted => (
            StatusState::Failed,
            "the commit is not signed by an allowed key; nothing applied".to_string(),
        ),
        ReconcileOutcome::SourceError => return None,
    };
    Some((
        commit,
        CommitStatus {
            context: StatusContext::Apply,
            state,
            description,
            target_url: None,
        },
    ))
}

/// Sends apply statuses in the background; cheap to clone.
#[derive(Debug, Clone)]
pub struct ApplyStatuses {
    queue: mpsc::Sender<(CommitId, CommitStatus)>,
    sent: Arc<Mutex<VecDeque<(CommitId, StatusState)>>>,
    calls: Arc<ForgeCalls>,
}

impl ApplyStatuses {
    /// Starts the sending task on the current runtime; `calls` counts its calls.
    pub fn start(review: Arc<dyn Review>, calls: Arc<ForgeCalls>) -> Self {
        let (queue, mut receiver) = mpsc::channel::<(CommitId, CommitStatus)>(QUEUE);
        let counted = calls.clone();
        tokio::spawn(async move {
            while let Some((commit, status)) = receiver.recv().await {
                match review.set_status(&commit, &status).await {
                    Ok(()) => counted.count("status", "success"),
                    Err(error) => {
                        counted.count("status", error_result(&error));
                        tracing::warn!(
                            commit = %commit,
                            error = %crate::errors::cause_chain(&error),
                            "cannot set the apply status on the forge; the reconcile loop goes on"
                        );
                    }
                }
            }
        });
        Self {
            queue,
            sent: Arc::new(Mutex::new(VecDeque::new())),
            calls,
        }
    }

    /// Queues the apply status of `record` unless the same state was queued for its commit
    /// already. Never waits.
    pub fn observe(&self, record: &ReconcileRecord) {
        let Some((commit, status)) = apply_status(record) else {
            return;
        };
        {
            let mut sent = self
                .sent
                .lock()
                .unwrap_or_else(std::sync::PoisonError::into_inner);
            if sent.iter().any(|(c, s)| *c == commit && *s == status.state) {
                return;
            }
            sent.retain(|(c, _)| *c != commit);
            sent.push_back((commit.clone(), status.state));
            while sent.len() > DEDUP {
                sent.pop_front();
            }
        }
        if let Err(error) = self.queue.try_send((commit, status)) {
            // Forgotten, so the next reconcile of the commit tries again.
            let (commit, _) = error.into_inner();
            self.sent
                .lock()
                .unwrap_or_else(std::sync::PoisonError::into_inner)
                .retain(|(c, _)| *c != commit);
            self.calls.count("status", "dropped");
        }
    }

    /// The counters.
    pub fn calls(&self) -> &ForgeCalls {
        &self.calls
    }
}
