//! Proposals: changes asked for by people or AI agents, made through Git instead of directly
//! in Infisical.
//!
//! ```text
//! edits ──► edit the YAML (text spans) ──► validate ──► plan against Infisical
//!       ──► branch + commit + push ──► GitLab merge request / GitHub pull request
//! ```
//!
//! - [`edit`]: the [`Edit`] types and the text-span YAML editor (pure);
//! - [`workspace`]: git2 work on a per-proposal clone;
//! - [`forge`]: the [`forge::Forge`] trait, GitLab and GitHub clients.
//!
//! Values are never accepted: a new secret takes a Bitwarden reference or `generate`. A proposal
//! that does not validate is refused with the diagnostics and nothing is pushed.

pub mod edit;
pub mod forge;
pub mod workspace;

use std::path::PathBuf;
use std::sync::Arc;

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use crate::reconcile::Reconciler;
use crate::source::git::GitAuth;

pub use edit::{
    AddKubernetesSync, CreateEnvironment, CreateFolder, CreateProject, CreateSecret, DeleteSecret,
    Edit, EditError, GenerateSource, MoveSecret, NewEnvironment, UpdateSecret, ValueSource,
};

/// Most edits in one proposal.
pub const MAX_EDITS: usize = 50;

/// The default branch prefix.
pub const DEFAULT_BRANCH_PREFIX: &str = "infisical-gitops/proposal-";

/// What an agent asks for.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct ProposalRequest {
    /// The merge request title (default: derived from the edits).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub title: Option<String>,
    /// The rationale, at the top of the merge request description.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
    /// The edits, 1 to 50, applied in order.
    pub edits: Vec<Edit>,
}

/// Where and how proposals are made.
#[derive(Debug, Clone)]
pub struct ProposerConfig {
    /// The Git remote (`file://`, `https://`, `ssh://`).
    pub remote_url: String,
    /// Credentials for the remote.
    pub auth: GitAuth,
    /// A known-hosts file for SSH remotes.
    pub known_hosts: Option<PathBuf>,
    /// The branch proposals start from and target, e.g. `main`.
    pub tracked_branch: String,
    /// The desired-state directory inside the repository (`None`: the root).
    pub sub_path: Option<String>,
    /// Commit author name.
    pub author_name: String,
    /// Commit author email.
    pub author_email: String,
    /// Prefix of proposal branches (default [`DEFAULT_BRANCH_PREFIX`]).
    pub branch_prefix: String,
    /// The forge; `None` pushes the branch only.
    pub forge: Option<ForgeConfig>,
    /// Where per-proposal clones live.
    pub work_dir: PathBuf,
}

impl ProposerConfig {
    /// A configuration with the defaults: anonymous remote, author `infisical-gitops`,
    /// [`DEFAULT_BRANCH_PREFIX`], no forge, clones under the system temporary directory.
    pub fn new(remote_url: impl Into<String>, tracked_branch: impl Into<String>) -> Self {
        Self {
            remote_url: remote_url.into(),
            auth: GitAuth::None,
            known_hosts: None,
            tracked_branch: tracked_branch.into(),
            sub_path: None,
            author_name: "infisical-gitops".to_string(),
            author_email: "infisical-gitops@localhost".to_string(),
            branch_prefix: DEFAULT_BRANCH_PREFIX.to_string(),
            forge: None,
            work_dir: std::env::temp_dir().join("infisical-gitops-proposals"),
        }
    }
}

/// Which forge API.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "lowercase")]
pub enum ForgeKind {
    /// GitLab merge requests (`/api/v4`).
    GitLab,
    /// GitHub pull requests (REST API).
    GitHub,
}

/// A forge's API and credentials.
#[derive(Debug, Clone)]
pub struct ForgeConfig {
    /// GitLab or GitHub.
    pub kind: ForgeKind,
    /// The API base: `https://gitlab.example.com` (GitLab; `/api/v4` is appended) or
    /// `https://api.github.com` (GitHub).
    pub api_url: String,
    /// `group/repo` (GitLab) or `owner/repo` (GitHub).
    pub project: String,
    /// The API token.
    pub token: secrecy::SecretString,
}

/// Counts of a plan's changes. Never a value.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct PlanSummary {
    /// Objects to create.
    pub create: usize,
    /// Objects to update.
    pub update: usize,
    /// Objects to delete.
    pub delete: usize,
    /// Drift reported by `mode: detect` projects (never applied).
    pub detected: usize,
    /// Secrets whose value could not be resolved.
    pub unresolved: usize,
    /// Problems that make apply refuse the plan.
    pub errors: usize,
    /// Warnings.
    pub warnings: usize,
}

impl PlanSummary {
    /// The counts of `plan`.
    pub fn of(plan: &crate::plan::Plan) -> Self {
        let summary = plan.summary();
        Self {
            create: summary.add,
            update: summary.change,
            delete: summary.destroy,
            detected: plan.detected.len(),
            unresolved: plan.unresolved.len(),
            errors: plan.errors.len(),
            warnings: plan.warnings.len(),
        }
    }
}

/// A validated (and planned) proposal, nothing committed.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct CheckedProposal {
    /// Changed or created files, relative to the repository root.
    pub changed_files: Vec<String>,
    /// Unified diff of the YAML.
    pub diff: String,
    /// The plan's counts (when a reconciler is configured).
    pub plan_summary: Option<PlanSummary>,
    /// The plan as Markdown (when a reconciler is configured).
    pub plan_markdown: Option<String>,
    /// The title the commit and change request carry.
    pub title: String,
}

/// A proposal made: pushed, and opened as a change request when a forge is configured.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct Proposal {
    /// The pushed branch.
    pub branch: String,
    /// The commit id (hex).
    pub commit: String,
    /// The merge request / pull request URL (`None` without a forge).
    pub change_request_url: Option<String>,
    /// The merge request `iid` / pull request number.
    pub change_request_number: Option<u64>,
    /// What was checked.
    pub checked: CheckedProposal,
}

/// Why a proposal was refused or failed. Never carries a token or a value.
#[derive(Debug, thiserror::Error)]
pub enum ProposeError {
    /// The request itself is unusable (no edits, too many, bad names, a value).
    #[error("invalid proposal: {0}")]
    Request(#[from] EditError),
    /// The edited repository does not validate; nothing was pushed.
    #[error("the proposed change does not validate:\n{diagnostics}")]
    Invalid {
        /// The rendered diagnostics.
        diagnostics: String,
    },
    /// The plan against Infisical failed.
    #[error("cannot plan the proposal against Infisical")]
    Plan(#[source] Box<crate::reconcile::ReconcileError>),
    /// Git failed.
    #[error(transparent)]
    Workspace(#[from] workspace::WorkspaceError),
    /// The change request could not be opened (the branch was pushed).
    #[error("branch `{branch}` was pushed, but the change request could not be opened")]
    Forge {
        /// The pushed branch.
        branch: String,
        /// Why.
        #[source]
        source: forge::ForgeError,
    },
    /// Not available yet.
    #[error("{0} is not available yet")]
    Unavailable(&'static str),
}

/// Makes proposals. Cheap to clone; every proposal works in its own clone and branch.
#[derive(Clone)]
pub struct Proposer {
    config: Arc<ProposerConfig>,
    reconciler: Option<Reconciler>,
    forge: Option<Arc<dyn forge::Forge>>,
}

impl std::fmt::Debug for Proposer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Proposer")
            .field(
                "remote_url",
                &crate::source::git::redact_url(&self.config.remote_url),
            )
            .field("tracked_branch", &self.config.tracked_branch)
            .field("plans", &self.reconciler.is_some())
            .field("forge", &self.forge)
            .finish_non_exhaustive()
    }
}

impl Proposer {
    /// A proposer. `reconciler` plans against live Infisical (without one, proposals carry no
    /// plan); `forge` opens change requests (without one, the branch is only pushed).
    pub fn new(
        config: ProposerConfig,
        reconciler: Option<Reconciler>,
        forge: Option<Arc<dyn forge::Forge>>,
    ) -> Self {
        Self {
            config: Arc::new(config),
            reconciler,
            forge,
        }
    }

    /// The configuration.
    pub fn config(&self) -> &ProposerConfig {
        &self.config
    }

    /// Edits on a fresh branch, validates, plans, commits, pushes and opens the change request.
    ///
    /// # Errors
    /// [`ProposeError`]; when the result does not validate, [`ProposeError::Invalid`] and
    /// nothing is pushed.
    pub async fn propose(&self, request: ProposalRequest) -> Result<Proposal, ProposeError> {
        let _ = request;
        Err(ProposeError::Unavailable("propose"))
    }

    /// The same edits validated and planned; nothing committed or pushed.
    ///
    /// # Errors
    /// As [`Self::propose`].
    pub async fn check(&self, request: &ProposalRequest) -> Result<CheckedProposal, ProposeError> {
        let _ = request;
        Err(ProposeError::Unavailable("check"))
    }
}
