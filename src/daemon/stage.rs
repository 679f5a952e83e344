//! One reconcile as stages that fail once.
//!
//! ```text
//! fetch source ──► verify signature ──► load + validate ──► plan + apply ──► record
//!                        └─ refused (untrusted or invalid): a drift check falls back to
//!                           the last good revision, parsed again from its files
//! ```
//!
//! Each stage returns `Result<_, StageError>`; [`Daemon::failed`] maps a [`StageError`] to the
//! record's outcome and errors, the source metric, the log line and the run's result, in one
//! place (kube-runtime's `error_policy`, Flux's per-stage failure reasons).

use std::path::PathBuf;
use std::sync::Arc;

use tokio::time::Instant;

use super::{Daemon, ReconcileOutcome, ReconcileRecord, RunResult, Trigger, unresolved_errors};
use crate::errors::cause_chain;
use crate::model::DesiredState;
use crate::model::diagnostics::Severity;
use crate::reconcile::ReconcileError;
use crate::source::git::{Checkout, GitError};
use crate::source::{Limits, SourceError, SourceFiles};

/// At most this many diagnostics of an invalid revision are recorded.
const INVALID_ERRORS: usize = 10;

/// Why a stage stopped a reconcile: one variant per failure reason, with what the status,
/// the metrics and the log need.
#[derive(Debug)]
pub(super) enum StageError {
    /// The source could not be fetched (outcome `source-error`).
    Fetch(Box<SourceError>),
    /// The revision's head commit is not signed by an allowed key (outcome `untrusted`; not
    /// applied, not retried). Carries the reason's cause chain.
    Untrusted(String),
    /// The revision has errors (outcome `invalid`; not applied, not retried). Carries the
    /// first error diagnostics, `origin: message`.
    Invalid(Vec<String>),
    /// Loading the revision panicked.
    LoadPanicked(tokio::task::JoinError),
    /// A drift check fell back to the last good revision, which no longer parses.
    LastGoodUnparsable,
    /// Infisical could not be read, or the reconcile failed before applying.
    Reconcile(Box<ReconcileError>),
    /// The plan has errors and was not applied. Carries them, `address: message`.
    PlanErrors(Vec<String>),
    /// Changes failed or were skipped. Carries them, `address: reason`.
    ChangesFailed(Vec<String>),
    /// Everything else was applied, but declared secrets were not resolved (outcome
    /// `unresolved`). Carries the `/status` errors of the unresolved secrets.
    Unresolved(Vec<String>),
}

impl StageError {
    /// A refused revision: recorded and not applied, and a drift check may reconcile the last
    /// good revision instead.
    fn is_refusal(&self) -> bool {
        matches!(self, Self::Untrusted(_) | Self::Invalid(_))
    }

    fn outcome(&self) -> ReconcileOutcome {
        match self {
            Self::Fetch(_) => ReconcileOutcome::SourceError,
            Self::Untrusted(_) => ReconcileOutcome::Untrusted,
            Self::Invalid(_) => ReconcileOutcome::Invalid,
            Self::Unresolved(_) => ReconcileOutcome::Unresolved,
            Self::LoadPanicked(_)
            | Self::LastGoodUnparsable
            | Self::Reconcile(_)
            | Self::PlanErrors(_)
            | Self::ChangesFailed(_) => ReconcileOutcome::Failed,
        }
    }

    fn run_result(&self) -> RunResult {
        if self.is_refusal() {
            RunResult::Invalid
        } else {
            RunResult::Failed
        }
    }
}

/// What the fetch stage found: a checkout, or a refused revision (nothing checked out) with
/// the reason.
struct Fetched {
    checkout: Checkout,
    untrusted: Option<String>,
}

impl Daemon {
    /// One reconcile: the stages, then the record.
    pub(super) async fn reconcile(&mut self, trigger: Trigger) -> RunResult {
        let started = Instant::now();
        let mut record = ReconcileRecord::started(trigger);
        match self.stages(trigger, &mut record, started).await {
            Ok(None) => RunResult::Unchanged,
            Ok(Some(files)) => {
                record.outcome = ReconcileOutcome::Success;
                if let Some(revision) = &record.revision {
                    self.last_good = Some((revision.clone(), files));
                }
                self.finish(record, started, RunResult::Success)
            }
            Err(error) => self.failed(record, started, error),
        }
    }

    /// The stages. `Ok(None)` when a poll found the revision already seen; `Ok(Some(files))`
    /// with the files of the revision applied.
    async fn stages(
        &mut self,
        trigger: Trigger,
        record: &mut ReconcileRecord,
        started: Instant,
    ) -> Result<Option<Arc<SourceFiles>>, StageError> {
        let Fetched {
            checkout,
            untrusted,
        } = self.fetch().await?;
        self.state.source_fetched(true);
        if trigger == Trigger::Poll && self.last_seen.as_deref() == Some(&checkout.revision) {
            return Ok(None);
        }
        self.last_seen = Some(checkout.revision.clone());
        record.revision = Some(checkout.revision.clone());
        let loaded = match verify(untrusted) {
            Ok(()) => load(checkout.path).await,
            Err(refused) => Err(refused),
        };
        let (desired, files) = match loaded {
            Ok(loaded) => loaded,
            Err(refused) if refused.is_refusal() => {
                self.last_good_state(trigger, record, started, refused)
                    .await?
            }
            Err(error) => return Err(error),
        };
        self.plan_and_apply(desired, record).await?;
        Ok(Some(files))
    }

    /// Fetch stage. A revision refused for its signature is not an error here: its revision
    /// is still recorded (and compared with the last seen one) before the verify stage
    /// refuses it.
    async fn fetch(&self) -> Result<Fetched, StageError> {
        match self.source.fetch().await {
            Ok(checkout) => Ok(Fetched {
                checkout,
                untrusted: None,
            }),
            Err(SourceError::Git(error @ GitError::Untrusted { .. })) => {
                let GitError::Untrusted { revision, .. } = &error else {
                    unreachable!("matched above")
                };
                let checkout = Checkout {
                    path: PathBuf::new(),
                    revision: revision.clone(),
                };
                Ok(Fetched {
                    checkout,
                    untrusted: Some(cause_chain(&error)),
                })
            }
            Err(error) => Err(StageError::Fetch(Box::new(error))),
        }
    }

    /// A refused revision is recorded and not applied. A drift check then reconciles the last
    /// good revision instead, parsed again from its files, under a fresh record.
    async fn last_good_state(
        &self,
        trigger: Trigger,
        record: &mut ReconcileRecord,
        started: Instant,
        refused: StageError,
    ) -> Result<(DesiredState, Arc<SourceFiles>), StageError> {
        let Some((good_revision, good)) = self.last_good.clone() else {
            return Err(refused);
        };
        if trigger != Trigger::Drift {
            return Err(refused);
        }
        self.failed(record.clone(), started, refused);
        *record = ReconcileRecord::started(trigger);
        record.revision = Some(good_revision);
        let files = good.clone();
        match tokio::task::spawn_blocking(move || files.desired_state()).await {
            Ok(Ok((desired, _warnings))) => Ok((desired, good)),
            Ok(Err(_)) | Err(_) => Err(StageError::LastGoodUnparsable),
        }
    }

    /// Plan and apply stage: through the reconciler's use case.
    async fn plan_and_apply(
        &self,
        desired: DesiredState,
        record: &mut ReconcileRecord,
    ) -> Result<(), StageError> {
        let (run, report) = match self.reconciler.reconcile(desired).await {
            Ok(reconciled) => reconciled,
            Err(ReconcileError::PlanRefused(run)) => {
                record.detected = run.plan.detected.len();
                record.unresolved = run.plan.unresolved.len();
                return Err(StageError::PlanErrors(
                    run.plan
                        .errors
                        .iter()
                        .map(|e| match &e.address {
                            Some(address) => format!("{address}: {}", e.message),
                            None => e.message.clone(),
                        })
                        .collect(),
                ));
            }
            Err(error) => return Err(StageError::Reconcile(Box::new(error))),
        };
        record.detected = run.plan.detected.len();
        record.unresolved = run.plan.unresolved.len();
        let mut failed = Vec::new();
        for outcome in &report.outcomes {
            match &outcome.status {
                crate::apply::Status::Done => record.changes.count(outcome.action),
                crate::apply::Status::Failed { reason }
                | crate::apply::Status::Skipped { reason } => {
                    failed.push(format!("{}: {reason}", outcome.address));
                }
                crate::apply::Status::PendingApproval { .. } => {
                    record.pending_approval += 1;
                }
            }
        }
        if !failed.is_empty() {
            return Err(StageError::ChangesFailed(failed));
        }
        if !run.plan.unresolved.is_empty() {
            return Err(StageError::Unresolved(unresolved_errors(&run.plan)));
        }
        Ok(())
    }

    /// The one place a stage's failure becomes the record's outcome and errors, the source
    /// metric, the log line and the run's result.
    pub(super) fn failed(
        &self,
        mut record: ReconcileRecord,
        started: Instant,
        error: StageError,
    ) -> RunResult {
        let result = error.run_result();
        record.outcome = error.outcome();
        match error {
            StageError::Fetch(error) => {
                self.state.source_fetched(false);
                record.errors.push(cause_chain(&*error));
            }
            StageError::Untrusted(reason) => {
                tracing::warn!(
                    revision = record.revision.as_deref().unwrap_or_default(),
                    error = reason.as_str(),
                    "revision refused: its head commit is not signed by an allowed key"
                );
                record.errors.push(reason);
            }
            StageError::Invalid(errors)
            | StageError::PlanErrors(errors)
            | StageError::ChangesFailed(errors)
            | StageError::Unresolved(errors) => record.errors.extend(errors),
            StageError::LoadPanicked(join) => {
                record.errors.push(format!("loading panicked: {join}"));
            }
            StageError::LastGoodUnparsable => record
                .errors
                .push("the last good revision could not be parsed again".into()),
            StageError::Reconcile(error) => record.errors.push(cause_chain(&*error)),
        }
        self.finish(record, started, result)
    }
}

/// Verify stage: a revision whose head commit is not signed by an allowed key is refused.
fn verify(untrusted: Option<String>) -> Result<(), StageError> {
    match untrusted {
        Some(reason) => Err(StageError::Untrusted(reason)),
        None => Ok(()),
    }
}

/// Load and validate stage: reads the checkout's files (off the async threads) and checks
/// them. The files are kept: a later drift check may parse them again.
async fn load(path: PathBuf) -> Result<(DesiredState, Arc<SourceFiles>), StageError> {
    let loaded = tokio::task::spawn_blocking(move || {
        let files = crate::source::read_dir_with(&path, &Limits::DEFAULT);
        let state = files.desired_state();
        (files, state)
    })
    .await;
    match loaded {
        Ok((files, Ok((desired, _warnings)))) => Ok((desired, Arc::new(files))),
        Ok((_, Err(diagnostics))) => Err(StageError::Invalid(
            diagnostics
                .iter()
                .filter(|d| d.severity == Severity::Error)
                .take(INVALID_ERRORS)
                .map(|d| format!("{}: {}", d.origin, d.message))
                .collect(),
        )),
        Err(join) => Err(StageError::LoadPanicked(join)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Refusals are recorded and not retried; every other stage failure is retried.
    #[test]
    fn each_stage_failure_has_one_outcome_and_one_result() {
        let cases = [
            (
                StageError::Untrusted("unsigned".into()),
                ReconcileOutcome::Untrusted,
                RunResult::Invalid,
            ),
            (
                StageError::Invalid(vec![]),
                ReconcileOutcome::Invalid,
                RunResult::Invalid,
            ),
            (
                StageError::Fetch(Box::new(SourceError::Task("gone".into()))),
                ReconcileOutcome::SourceError,
                RunResult::Failed,
            ),
            (
                StageError::LastGoodUnparsable,
                ReconcileOutcome::Failed,
                RunResult::Failed,
            ),
            (
                StageError::Reconcile(Box::new(ReconcileError::LiveChanged)),
                ReconcileOutcome::Failed,
                RunResult::Failed,
            ),
            (
                StageError::PlanErrors(vec![]),
                ReconcileOutcome::Failed,
                RunResult::Failed,
            ),
            (
                StageError::ChangesFailed(vec![]),
                ReconcileOutcome::Failed,
                RunResult::Failed,
            ),
            (
                StageError::Unresolved(vec![]),
                ReconcileOutcome::Unresolved,
                RunResult::Failed,
            ),
        ];
        for (error, outcome, result) in cases {
            assert_eq!(error.outcome(), outcome, "{error:?}");
            assert_eq!(error.run_result(), result, "{error:?}");
        }
    }
}
