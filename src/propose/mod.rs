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
//! - [`forge`]: the [`forge::Forge`] trait, GitLab and GitHub clients;
//! - [`review`]: the one plan comment per request and commit statuses;
//! - [`plaintext`]: the one plaintext guard, shared with the MCP server.
//!
//! Values are never accepted: a new secret takes a Bitwarden reference or `generate`. A proposal
//! that does not validate is refused with the diagnostics and nothing is pushed.

pub(crate) mod edit;
pub mod forge;
pub(crate) mod plaintext;
pub(crate) mod request_plan;
pub mod review;
pub(crate) mod workspace;

use std::path::PathBuf;
use std::sync::Arc;

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use crate::reconcile::Reconciler;
use crate::source::git::GitAuth;

pub use edit::{
    AddKubernetesSync, CreateEnvironmentEdit, CreateFolderEdit, CreateProjectEdit, CreateSecret,
    DeleteSecret, Edit, EditError, GenerateSource, MoveSecret, NewEnvironment, UpdateSecret,
    ValueSource,
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

impl ProposalRequest {
    /// Reads a request from JSON (an MCP tool's arguments), refusing any plaintext value
    /// first with a clear message (see [`refuse_plaintext`]); the value is never echoed.
    ///
    /// # Errors
    /// [`ProposeError::Request`].
    pub fn from_json(value: serde_json::Value) -> Result<Self, ProposeError> {
        refuse_plaintext(&value)?;
        serde_json::from_value(value).map_err(|error| {
            ProposeError::Request(EditError::Unsupported(format!(
                "the request does not match the schema: {}",
                serde_error_without_input(&error)
            )))
        })
    }
}

/// Refuses a request (or one edit) that carries a plaintext value anywhere: values are never
/// accepted, a new secret takes a Bitwarden reference or `generate`. The one guard shared with
/// the MCP server ([`plaintext::find_plaintext`]).
///
/// # Errors
/// [`EditError::PlaintextValue`] naming the secret key (never the value).
pub fn refuse_plaintext(value: &serde_json::Value) -> Result<(), EditError> {
    match plaintext::find_plaintext(value) {
        Some(found) => Err(EditError::PlaintextValue {
            key: found.secret_key,
        }),
        None => Ok(()),
    }
}

/// A serde error's message without the offending input (which could be a value): serde_json
/// messages name fields and types, not content, but cut at the first backquoted literal of an
/// `invalid value` to be safe.
fn serde_error_without_input(error: &serde_json::Error) -> String {
    let text = error.to_string();
    match text.find("invalid value: string") {
        Some(at) => format!("{}invalid value", &text[..at]),
        None => text,
    }
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
    /// Most proposals (and checks) at once; more wait their turn (default 4).
    pub max_concurrent: usize,
    /// Longest a fetch or a commit-and-push may take before the proposal fails (default 120 s).
    pub git_timeout: std::time::Duration,
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
            max_concurrent: 4,
            git_timeout: std::time::Duration::from_secs(120),
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
    /// Changes this proposal brings: those the tracked branch alone would not plan.
    pub introduced: usize,
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
            introduced: plan.changes.len(),
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
}

/// Makes proposals. Cheap to clone; every proposal works in its own clone and branch.
#[derive(Clone)]
pub struct Proposer {
    config: Arc<ProposerConfig>,
    reconciler: Option<Reconciler>,
    forge: Option<Arc<dyn forge::Forge>>,
    permits: Arc<tokio::sync::Semaphore>,
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
        let permits = Arc::new(tokio::sync::Semaphore::new(config.max_concurrent.max(1)));
        Self {
            config: Arc::new(config),
            reconciler,
            forge,
            permits,
        }
    }

    /// The configuration.
    pub fn config(&self) -> &ProposerConfig {
        &self.config
    }

    /// A proposer whose forge client is built from `config.forge`.
    ///
    /// # Errors
    /// [`forge::ForgeError::Config`] for an unusable forge configuration.
    pub fn from_config(
        config: ProposerConfig,
        reconciler: Option<Reconciler>,
    ) -> Result<Self, forge::ForgeError> {
        let forge = config.forge.as_ref().map(forge::from_config).transpose()?;
        Ok(Self::new(config, reconciler, forge))
    }

    async fn permit(&self) -> Result<tokio::sync::SemaphorePermit<'_>, ProposeError> {
        self.permits
            .acquire()
            .await
            .map_err(|_| ProposeError::Workspace(workspace::WorkspaceError::Join))
    }

    fn workspace_config(&self) -> workspace::WorkspaceConfig {
        workspace::WorkspaceConfig {
            remote_url: self.config.remote_url.clone(),
            auth: self.config.auth.clone(),
            known_hosts: self.config.known_hosts.clone(),
            tracked_branch: self.config.tracked_branch.clone(),
            sub_path: self.config.sub_path.clone().unwrap_or_default(),
            work_dir: self.config.work_dir.clone(),
            branch_prefix: self.config.branch_prefix.clone(),
        }
    }

    /// The path of a desired-state file relative to the repository root.
    fn repository_path(&self, path: &str) -> String {
        match self
            .config
            .sub_path
            .as_deref()
            .map(|p| p.trim_matches('/'))
            .filter(|p| !p.is_empty())
        {
            Some(sub_path) => format!("{sub_path}/{path}"),
            None => path.to_string(),
        }
    }

    /// Opens a workspace, applies and validates the edits, and plans.
    async fn prepare(
        &self,
        request: &ProposalRequest,
    ) -> Result<(workspace::Workspace, edit::Files, CheckedProposal), ProposeError> {
        edit::check_request(&request.edits)?;
        let config = self.workspace_config();
        let (workspace, files) = blocking(self.config.git_timeout, move || {
            let workspace = workspace::Workspace::open(&config)?;
            let files = workspace.files()?;
            Ok::<_, ProposeError>((workspace, files))
        })
        .await?;
        let edited = edit::apply(&files, &request.edits)?;
        if edited.files.is_empty() {
            return Err(ProposeError::Request(EditError::Unsupported(
                "the proposal changes nothing in the repository".to_string(),
            )));
        }
        let mut after = files.clone();
        after.extend(edited.files.clone());
        let (state, diagnostics) = edit::validate(&after);
        let Some(state) = state else {
            let diagnostics = diagnostics
                .iter()
                .filter(|d| d.severity == crate::model::Severity::Error)
                .map(|d| {
                    let mut d = d.clone();
                    d.origin.file = self.repository_path(&d.origin.file).into();
                    d.to_string()
                })
                .collect::<Vec<_>>()
                .join("\n");
            return Err(ProposeError::Invalid { diagnostics });
        };
        let (plan_summary, plan_markdown) = match &self.reconciler {
            Some(reconciler) => {
                let plan = plan(reconciler, state).await?;
                // The tracked branch's own plan, to tell the proposal's changes from drift
                // that exists without it (skipped when the tracked branch does not validate).
                let baseline = match edit::validate(&files).0 {
                    Some(before) => Some(plan_baseline(reconciler, before).await?),
                    None => None,
                };
                let mut summary = PlanSummary::of(&plan);
                let (introduced, section) = proposal_section(&plan, baseline.as_ref(), "proposal");
                summary.introduced = introduced;
                (
                    Some(summary),
                    Some(format!(
                        "{section}{}",
                        crate::plan::render::markdown::render(&plan)
                    )),
                )
            }
            None => (None, None),
        };
        let rooted = |files: &edit::Files| -> edit::Files {
            files
                .iter()
                .map(|(path, text)| (self.repository_path(path), text.clone()))
                .collect()
        };
        let checked = CheckedProposal {
            changed_files: edited
                .files
                .keys()
                .map(|p| self.repository_path(p))
                .collect(),
            diff: edit::unified_diff(&rooted(&files), &rooted(&edited.files)),
            plan_summary,
            plan_markdown,
            title: title(request),
        };
        Ok((workspace, edited.files, checked))
    }

    /// Edits on a fresh branch, validates, plans, commits, pushes and opens the change request.
    ///
    /// # Errors
    /// [`ProposeError`]; when the result does not validate, [`ProposeError::Invalid`] and
    /// nothing is pushed.
    pub async fn propose(&self, request: ProposalRequest) -> Result<Proposal, ProposeError> {
        edit::check_request(&request.edits)?;
        let _permit = self.permit().await?;
        let (workspace, changed, checked) = self.prepare(&request).await?;
        let message = commit_message(&checked.title, &request.edits);
        let author_name = self.config.author_name.clone();
        let author_email = self.config.author_email.clone();
        let (branch, commit) = blocking(self.config.git_timeout, move || {
            let commit = workspace.commit(&changed, &author_name, &author_email, &message)?;
            workspace.push()?;
            Ok::<_, ProposeError>((workspace.branch().to_string(), commit))
        })
        .await?;
        tracing::info!(branch = %branch, commit = %commit, files = checked.changed_files.len(), "proposal pushed");
        let (change_request_url, change_request_number) = match &self.forge {
            Some(forge) => {
                let description =
                    change_request_description(request.description.as_deref(), &checked);
                let opened = forge
                    .open_change_request(
                        &branch,
                        &self.config.tracked_branch,
                        &checked.title,
                        &description,
                    )
                    .await
                    .map_err(|source| ProposeError::Forge {
                        branch: branch.clone(),
                        source,
                    })?;
                tracing::info!(branch = %branch, url = %opened.url, "change request opened");
                (Some(opened.url), Some(opened.number))
            }
            None => (None, None),
        };
        Ok(Proposal {
            branch,
            commit,
            change_request_url,
            change_request_number,
            checked,
        })
    }

    /// The same edits validated and planned; nothing committed or pushed.
    ///
    /// # Errors
    /// As [`Self::propose`].
    pub async fn check(&self, request: &ProposalRequest) -> Result<CheckedProposal, ProposeError> {
        edit::check_request(&request.edits)?;
        let _permit = self.permit().await?;
        let (workspace, _, checked) = self.prepare(request).await?;
        // Removing the per-proposal repository is file-system work.
        let _ = tokio::task::spawn_blocking(move || drop(workspace)).await;
        Ok(checked)
    }
}

/// The most characters of an agent's description kept in a change request.
const MAX_DESCRIPTION: usize = 20_000;

fn title(request: &ProposalRequest) -> String {
    let title = request
        .title
        .as_deref()
        .map(str::trim)
        .filter(|t| !t.is_empty())
        .map(str::to_string)
        .unwrap_or_else(|| edit::title_of(&request.edits));
    let one_line: String = title
        .chars()
        .map(|c| if c.is_control() { ' ' } else { c })
        .take(200)
        .collect();
    one_line.trim().to_string()
}

/// `title`, a blank line, one line per edit.
pub fn commit_message(title: &str, edits: &[Edit]) -> String {
    let mut message = format!("{title}\n\n");
    let single = edits.len() == 1 && edit::title_of(edits) == title;
    for edit in edits.iter().filter(|_| !single) {
        message.push_str("- ");
        message.push_str(&edit::title_of(std::slice::from_ref(edit)));
        message.push('\n');
    }
    if !single {
        message.push('\n');
    }
    message.push_str("Proposed through infisical-gitops.\n");
    message
}

/// The change request's body: the rationale, the plan, the files.
pub fn change_request_description(rationale: Option<&str>, checked: &CheckedProposal) -> String {
    let mut out = String::new();
    if let Some(rationale) = rationale.map(str::trim).filter(|r| !r.is_empty()) {
        // The agent's Markdown, without HTML or code fences that could hide the plan below.
        let rationale: String = rationale.chars().take(MAX_DESCRIPTION).collect();
        out.push_str(&crate::escape::markdown::block(&rationale));
        out.push('\n');
    }
    match &checked.plan_markdown {
        Some(plan) => out.push_str(plan),
        None => out.push_str("_No plan: this proposal was not compared with a live Infisical._\n"),
    }
    out.push_str("\n#### Files\n\n");
    for file in &checked.changed_files {
        out.push_str(&format!("- {}\n", crate::escape::markdown::code(file)));
    }
    out.push_str(
        "\n---\nProposed through infisical-gitops. Secret values are never part of a proposal; \
         the reconciler applies this change after merge.\n",
    );
    out
}

/// Runs blocking work (git, files) off the async threads.
/// Past `timeout` the caller gets an error; the thread finishes on its own (libgit2 calls
/// cannot be interrupted) and then removes its per-proposal repository.
async fn blocking<T: Send + 'static>(
    timeout: std::time::Duration,
    work: impl FnOnce() -> Result<T, ProposeError> + Send + 'static,
) -> Result<T, ProposeError> {
    let task = tokio::task::spawn_blocking(work);
    let Ok(joined) = tokio::time::timeout(timeout, task).await else {
        return Err(ProposeError::Workspace(workspace::WorkspaceError::Timeout(
            timeout,
        )));
    };
    match joined {
        Ok(result) => result,
        Err(join) if join.is_panic() => std::panic::resume_unwind(join.into_panic()),
        Err(_) => Err(ProposeError::Workspace(workspace::WorkspaceError::Join)),
    }
}

async fn plan_baseline(
    reconciler: &Reconciler,
    desired: crate::model::DesiredState,
) -> Result<crate::plan::Plan, ProposeError> {
    plan(reconciler, desired).await
}

/// The changes this proposal (or merge request: `noun`) brings, those not in the tracked
/// branch's own plan, as a Markdown section that goes before the full plan; and their count.
/// Without a baseline every change is counted and no section is written.
pub(crate) fn proposal_section(
    plan: &crate::plan::Plan,
    baseline: Option<&crate::plan::Plan>,
    noun: &str,
) -> (usize, String) {
    use std::fmt::Write;
    let Some(baseline) = baseline else {
        return (plan.changes.len(), String::new());
    };
    let introduced: Vec<&crate::plan::Change> = plan
        .changes
        .iter()
        .filter(|change| !baseline.changes.contains(change))
        .collect();
    let mut out = format!("### What this {noun} changes in Infisical\n\n");
    if introduced.is_empty() {
        out.push_str("Nothing by itself (the repository changes, Infisical would not).\n");
    }
    for change in &introduced {
        let (symbol, verb) = match change.action {
            crate::plan::Action::Create => ("➕", "create"),
            crate::plan::Action::Update => ("✏️", "update"),
            crate::plan::Action::Delete => ("🗑️", "delete"),
        };
        let _ = writeln!(
            out,
            "- {symbol} {verb} {} {}",
            change.address.kind(),
            crate::escape::markdown::code(&change.address.to_string())
        );
    }
    let others = plan.changes.len() - introduced.len();
    if others > 0 {
        let _ = writeln!(
            out,
            "\nThe plan below also holds {others} change(s) that the tracked branch already \
             plans without this {noun} (drift between the repository and Infisical); the next \
             reconcile applies them either way."
        );
    }
    out.push('\n');
    (introduced.len(), out)
}

/// Plans against live Infisical.
async fn plan(
    reconciler: &Reconciler,
    desired: crate::model::DesiredState,
) -> Result<crate::plan::Plan, ProposeError> {
    reconciler
        .plan(desired)
        .await
        .map(|run| run.plan)
        .map_err(|error| ProposeError::Plan(Box::new(error)))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn assert_send<T: Send>(_: &T) {}

    #[test]
    fn proposer_futures_are_send() {
        let proposer = Proposer::new(ProposerConfig::new("file:///nowhere", "main"), None, None);
        let request = ProposalRequest {
            title: None,
            description: None,
            edits: Vec::new(),
        };
        assert_send(&proposer.check(&request));
        assert_send(&proposer.propose(request));
    }

    #[test]
    fn request_schema_has_no_value_field() {
        let schema = serde_json::to_string(&schemars::schema_for!(ProposalRequest))
            .expect("schema serialises");
        assert!(schema.contains("create_secret"));
        assert!(!schema.contains("\"value\""), "{schema}");
    }

    #[test]
    fn plaintext_values_are_refused_anywhere_in_the_json() {
        for json in [
            serde_json::json!({"edits": [{"op": "create_secret", "project": "k3s-infrastructure",
                "environments": ["prod"], "key": "LEAK", "value": "canary-91ab",
                "source": {"generate": {}}}]}),
            serde_json::json!({"edits": [{"op": "update_secret", "project": "k3s-infrastructure",
                "key": "LEAK", "source": {"value": "canary-91ab"}}]}),
            serde_json::json!({"edits": [{"op": "create_secret", "project": "k3s-infrastructure",
                "environments": ["prod"], "key": "LEAK", "source": {"bitwarden": {"item": "x",
                "plaintext": "canary-91ab"}}}]}),
        ] {
            let error = ProposalRequest::from_json(json).expect_err("refused");
            let message = error.to_string();
            assert!(message.contains("values are never accepted"), "{message}");
            assert!(message.contains("`LEAK`"), "{message}");
            assert!(!message.contains("canary-91ab"));
        }
        // A template output named `value` is not a value.
        let sync = serde_json::json!({"edits": [{"op": "add_kubernetes_sync", "name": "x",
            "project": "k3s-infrastructure", "environment": "prod", "namespace": "n",
            "secretName": "s", "template": {"value": "{{ .X.Value }}"}}]});
        assert!(ProposalRequest::from_json(sync).is_ok());
    }

    #[test]
    fn an_agent_rationale_cannot_hide_the_plan_or_the_files() {
        let checked = CheckedProposal {
            changed_files: vec!["secrets/a`b\n<!--.yaml".into()],
            diff: String::new(),
            plan_summary: None,
            plan_markdown: Some(
                "### infisical-gitops plan\n\n- 🗑️ delete secret `p/e:/#OLD`\n".into(),
            ),
            title: "t".into(),
        };
        let rationale =
            "Rotate the token.\n\n<!-- the rest is hidden\n```\n<details><summary>ok</summary>";
        let description = change_request_description(Some(rationale), &checked);
        insta::assert_snapshot!(description, @r"
        Rotate the token.

        \<!-- the rest is hidden
        \```
        \<details>\<summary>ok\</summary>

        ### infisical-gitops plan

        - 🗑️ delete secret `p/e:/#OLD`

        #### Files

        - ``secrets/a`b\n<!--.yaml``

        ---
        Proposed through infisical-gitops. Secret values are never part of a proposal; the reconciler applies this change after merge.
        ");
    }

    #[test]
    fn branch_names_are_unique_and_prefixed() {
        let a = workspace::branch_name(DEFAULT_BRANCH_PREFIX);
        let b = workspace::branch_name(DEFAULT_BRANCH_PREFIX);
        assert!(a.starts_with(DEFAULT_BRANCH_PREFIX));
        assert_ne!(a, b);
        assert_eq!(
            a.len(),
            DEFAULT_BRANCH_PREFIX.len() + "20261129-154000-0123abcd".len()
        );
    }
}
