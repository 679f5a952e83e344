//! The applier: executes exactly a [`Plan`] through [`InfisicalApi`] and reports every change.
//!
//! Order inside a project: the project, its environments, folders (parents first), secret
//! creates and updates through the v4 batch routes (one call per folder and at most
//! [`BATCH_SIZE`] secrets), then deletes (secrets, then folders, children first). Projects run
//! concurrently with a bound. A failure stops only what depends on it: the secrets of a folder
//! whose creation failed are *skipped*, while sibling folders and other environments continue.
//! Every change ends as done, failed (with the reason), pending approval, or skipped.
//!
//! The applier decides nothing: it branches on [`Action`] only (never on the reason), takes
//! values from the [`ResolvedState`] (making generated values here, for creates only), and ids
//! from the [`LiveState`] the plan was made from. Because the plan is recomputed from what
//! Infisical holds, a re-run after any failure converges.

mod run;
mod secrets;
#[cfg(test)]
mod tests;

use std::collections::BTreeMap;
use std::sync::Arc;

use futures::StreamExt;

use crate::infisical::api::InfisicalApi;
use crate::model::{Address, ProjectSlug};
use crate::plan::{Action, Change, LiveState, Plan, ResolvedState};
use crate::resolve::bitwarden::backup::GeneratedValueStore;

use run::ProjectRun;

/// Secrets per batch call (Infisical's batch routes take one folder per call).
pub const BATCH_SIZE: usize = 100;
/// Projects applied at once by default.
pub const DEFAULT_CONCURRENCY: usize = 4;

/// How one change ended.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
#[serde(tag = "status", rename_all = "kebab-case")]
pub enum Status {
    /// Written.
    Done,
    /// The call failed; nothing is known to be written.
    Failed {
        /// The error, with its causes (never a value).
        reason: String,
    },
    /// The path is under a change-approval policy: a request was opened, nothing written.
    PendingApproval {
        /// The approval request id, when known.
        #[serde(skip_serializing_if = "Option::is_none")]
        approval_id: Option<String>,
    },
    /// Not attempted because something it depends on failed.
    Skipped {
        /// What failed.
        reason: String,
    },
}

/// One change and how it ended.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "camelCase")]
pub struct ChangeOutcome {
    /// The object.
    pub address: Address,
    /// What was to happen.
    pub action: Action,
    /// How it ended.
    #[serde(flatten)]
    pub status: Status,
}

/// The result of an apply: one outcome per change of the plan, in plan order.
#[derive(Debug, Clone, Default, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "camelCase")]
pub struct ApplyReport {
    /// Outcomes in plan order.
    pub outcomes: Vec<ChangeOutcome>,
    /// Declared secrets whose value could not be resolved: not written (the plan says why).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub unresolved: Vec<Address>,
}

impl ApplyReport {
    /// The report of a plan with nothing to apply: only its unresolved secrets.
    pub fn nothing_applied(plan: &Plan) -> Self {
        Self {
            outcomes: Vec::new(),
            unresolved: plan.unresolved.iter().map(|u| u.address.clone()).collect(),
        }
    }

    /// Whether every change is done and every declared secret was resolved.
    pub fn is_success(&self) -> bool {
        self.unresolved.is_empty() && self.outcomes.iter().all(|o| o.status == Status::Done)
    }

    /// Counts: (done, failed, pending approval, skipped).
    pub fn counts(&self) -> (usize, usize, usize, usize) {
        let mut counts = (0, 0, 0, 0);
        for outcome in &self.outcomes {
            match outcome.status {
                Status::Done => counts.0 += 1,
                Status::Failed { .. } => counts.1 += 1,
                Status::PendingApproval { .. } => counts.2 += 1,
                Status::Skipped { .. } => counts.3 += 1,
            }
        }
        counts
    }

    /// `Apply complete: 7 done, 0 failed, 0 pending approval, 0 skipped.`; with unresolved
    /// secrets `Apply incomplete: 7 done, 0 failed, 0 pending approval, 0 skipped; 21 secrets
    /// not resolved, not written.` (never "complete" then).
    pub fn summary_line(&self) -> String {
        let (done, failed, pending, skipped) = self.counts();
        let verdict = if failed + skipped > 0 {
            "Apply finished with failures"
        } else if !self.unresolved.is_empty() {
            "Apply incomplete"
        } else if pending > 0 {
            "Apply finished; changes await approval"
        } else {
            "Apply complete"
        };
        let mut line = format!(
            "{verdict}: {done} done, {failed} failed, {pending} pending approval, {skipped} skipped"
        );
        if !self.unresolved.is_empty() {
            line.push_str("; ");
            line.push_str(&crate::plan::not_resolved_headline(self.unresolved.len()));
        }
        line.push('.');
        line
    }

    /// Human text: one line per change that did not simply succeed, then the summary.
    /// Reasons quote servers; they are escaped onto their line.
    pub fn render_text(&self) -> String {
        use crate::escape::Visible;
        let mut out = String::new();
        for outcome in &self.outcomes {
            let line = match &outcome.status {
                Status::Done => continue,
                Status::Failed { reason } => format!("failed: {}", Visible(reason)),
                Status::PendingApproval { approval_id } => match approval_id {
                    Some(id) => format!("pending approval (request {})", Visible(id)),
                    None => "pending approval".to_string(),
                },
                Status::Skipped { reason } => format!("skipped: {}", Visible(reason)),
            };
            out.push_str(&format!(
                "  {} {}: {line}\n",
                outcome.action.symbol(),
                outcome.address
            ));
        }
        out.push_str(&self.summary_line());
        out.push('\n');
        out
    }
}

/// Why an apply did not start.
#[derive(Debug, thiserror::Error)]
pub enum ApplyError {
    /// The plan has errors (unowned objects, unsafe deletions, …).
    #[error("the plan has {0} error(s) and cannot be applied")]
    PlanHasErrors(usize),
}

/// Receives progress; the CLI draws a progress bar with it.
pub trait ApplyProgress: Send + Sync {
    /// Before the first change.
    fn started(&self, total: usize);
    /// After each change.
    fn finished(&self, outcome: &ChangeOutcome);
}

/// Executes plans.
#[derive(Clone)]
pub struct Applier {
    api: Arc<dyn InfisicalApi>,
    concurrency: usize,
    progress: Option<Arc<dyn ApplyProgress>>,
    generated_store: Option<Arc<dyn GeneratedValueStore>>,
}

impl std::fmt::Debug for Applier {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Applier")
            .field("concurrency", &self.concurrency)
            .finish_non_exhaustive()
    }
}

impl Applier {
    /// An applier over `api`.
    pub fn new(api: Arc<dyn InfisicalApi>) -> Self {
        Self {
            api,
            concurrency: DEFAULT_CONCURRENCY,
            progress: None,
            generated_store: None,
        }
    }

    /// Where generated values with `backupTo: bitwarden` are backed up before they are
    /// written (see [`crate::resolve::bitwarden::backup`]). Without a store, such secrets are
    /// not created.
    pub fn with_generated_store(mut self, store: Arc<dyn GeneratedValueStore>) -> Self {
        self.generated_store = Some(store);
        self
    }

    /// Projects applied at once.
    pub fn with_concurrency(mut self, concurrency: usize) -> Self {
        self.concurrency = concurrency.max(1);
        self
    }

    /// Progress reporting.
    pub fn with_progress(mut self, progress: Arc<dyn ApplyProgress>) -> Self {
        self.progress = Some(progress);
        self
    }

    /// Executes `plan`, made from `resolved` and `live`.
    ///
    /// # Errors
    /// [`ApplyError::PlanHasErrors`] when the plan is not applicable; nothing is written then.
    /// Failures of single changes are not errors: they are in the report.
    pub async fn apply(
        &self,
        plan: &Plan,
        resolved: &ResolvedState,
        live: &LiveState,
    ) -> Result<ApplyReport, ApplyError> {
        if !plan.is_applicable() {
            return Err(ApplyError::PlanHasErrors(plan.errors.len()));
        }
        if let Some(progress) = &self.progress {
            progress.started(plan.changes.len());
        }
        let mut by_project: BTreeMap<ProjectSlug, Vec<(usize, &Change)>> = BTreeMap::new();
        for (index, change) in plan.changes.iter().enumerate() {
            by_project
                .entry(change.address.project().clone())
                .or_default()
                .push((index, change));
        }
        // The runs are made first (one per project): a closure taking borrowed changes inside
        // the stream would make this future not provably `Send`.
        let runs: Vec<_> = by_project
            .into_iter()
            .map(|(slug, changes)| {
                let run = ProjectRun {
                    api: self.api.as_ref(),
                    progress: self.progress.as_deref(),
                    generated_store: self.generated_store.as_deref(),
                    resolved,
                    live,
                    project: slug,
                    project_id: None,
                    tags: BTreeMap::new(),
                    tags_listed: false,
                    failed: Vec::new(),
                    outcomes: Vec::new(),
                };
                run.run(changes)
            })
            .collect();
        let results: Vec<Vec<(usize, ChangeOutcome)>> = futures::stream::iter(runs)
            .buffer_unordered(self.concurrency)
            .collect()
            .await;
        let mut outcomes: Vec<(usize, ChangeOutcome)> = results.into_iter().flatten().collect();
        outcomes.sort_by_key(|(index, _)| *index);
        Ok(ApplyReport {
            outcomes: outcomes.into_iter().map(|(_, o)| o).collect(),
            ..ApplyReport::nothing_applied(plan)
        })
    }
}
