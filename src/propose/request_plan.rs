//! The plan of a merge/pull request as its one plan comment and the `infisical-gitops/plan`
//! status: shared by `plan --comment-on` (a CI job) and the daemon's request plans.
//!
//! ```text
//! desired state (or its diagnostics) ──► Verdict { markdown, state, description }
//!     [baseline: the tracked branch's plan, to tell the request's changes from drift]
//! Verdict ──► RequestReview::publish: comment (updated in place) ──► status on the head
//! ```
//!
//! Never a value: the plan renders none, diagnostics and errors go through the Markdown
//! escaper, status descriptions are one bounded line.

use std::sync::Arc;

use super::forge::ForgeError;
use super::review::{
    self, CommentWrite, CommitId, CommitStatus, Review, StatusContext, StatusState,
};
use crate::model::{DesiredState, Diagnostic};
use crate::plan::Plan;
use crate::reconcile::{ReconcileError, Reconciler};

/// What the comment and the status say.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Verdict {
    /// The comment's Markdown (without the marker).
    pub markdown: String,
    /// The final status.
    pub state: StatusState,
    /// The status description.
    pub description: String,
}

impl Verdict {
    /// A repository that does not validate: every error with its `file:line:column`.
    pub(crate) fn invalid(diagnostics: &[Diagnostic]) -> Self {
        let errors = diagnostics
            .iter()
            .filter(|d| d.severity == crate::model::Severity::Error)
            .count();
        Self {
            markdown: review::diagnostics_markdown(diagnostics),
            state: StatusState::Failed,
            description: format!("the repository does not validate: {errors} error(s)"),
        }
    }

    /// Infisical could not be read (or another failure before a plan): `message` is escaped.
    pub(crate) fn unplannable(message: &str) -> Self {
        Self {
            markdown: format!(
                "### infisical-gitops plan\n\n**Cannot plan against Infisical:** {}\n",
                crate::escape::markdown::text(message)
            ),
            state: StatusState::Failed,
            description: "cannot plan against Infisical".to_string(),
        }
    }

    /// Not planned on purpose: `reason` (trusted text, Markdown) and a one-line description.
    pub(crate) fn refused(reason: &str, description: &str) -> Self {
        Self {
            markdown: format!("### infisical-gitops plan\n\n**Not planned:** {reason}\n"),
            state: StatusState::Failed,
            description: description.to_string(),
        }
    }

    /// A computed plan. With `baseline` (the tracked branch's own plan) a first section names
    /// the changes the request (`noun`: `merge request`, `pull request`) brings, apart from
    /// drift that exists without it.
    pub(crate) fn planned(plan: &Plan, baseline: Option<&Plan>, noun: &str) -> Self {
        let (_, section) = super::proposal_section(plan, baseline, noun);
        let (state, description) = review::plan_status(plan);
        Self {
            markdown: format!("{section}{}", crate::plan::render::markdown::render(plan)),
            state,
            description,
        }
    }
}

/// Plans `desired` (and `baseline`, the tracked branch's state, when given) against live
/// Infisical, read only. The plan and its verdict.
///
/// # Errors
/// When Infisical cannot be read.
pub(crate) async fn plan(
    reconciler: &Reconciler,
    desired: DesiredState,
    baseline: Option<DesiredState>,
    noun: &str,
) -> Result<(Plan, Verdict), ReconcileError> {
    let planned = reconciler.plan(desired).await?.plan;
    let baseline = match baseline {
        Some(state) => Some(reconciler.plan(state).await?.plan),
        None => None,
    };
    let verdict = Verdict::planned(&planned, baseline.as_ref(), noun);
    Ok((planned, verdict))
}

/// Where a verdict goes: request `number`'s comment and its head commit's status.
#[derive(Debug, Clone)]
pub(crate) struct RequestReview {
    /// The forge project's review client.
    pub review: Arc<dyn Review>,
    /// The merge request `iid` or pull request number.
    pub number: u64,
    /// The head commit (no status without it).
    pub head: Option<CommitId>,
    /// The page the status links to.
    pub status_url: Option<String>,
}

impl RequestReview {
    /// Sets the plan status on the head commit (nothing without one).
    ///
    /// # Errors
    /// [`ForgeError`].
    pub(crate) async fn status(
        &self,
        state: StatusState,
        description: &str,
    ) -> Result<(), ForgeError> {
        let Some(head) = &self.head else {
            return Ok(());
        };
        let status = CommitStatus {
            context: StatusContext::Plan,
            state,
            description: description.to_string(),
            target_url: self.status_url.clone(),
        };
        self.review.set_status(head, &status).await
    }

    /// `pending` on the head commit.
    ///
    /// # Errors
    /// [`ForgeError`].
    pub(crate) async fn pending(&self) -> Result<(), ForgeError> {
        self.status(StatusState::Pending, "planning against Infisical")
            .await
    }

    /// Writes the comment (updated in place), then the final status.
    ///
    /// # Errors
    /// [`ForgeError`] of the first call that failed.
    pub(crate) async fn publish(&self, verdict: &Verdict) -> Result<CommentWrite, ForgeError> {
        let written = self
            .review
            .upsert_plan_comment(self.number, &verdict.markdown)
            .await?;
        self.status(verdict.state, &verdict.description).await?;
        Ok(written.write)
    }
}
