//! The propose tools: one per mutating tool of the official Infisical MCP server
//! (`create_secret`, `update_secret`, `delete_secret`, `create_project`,
//! `create_environment`, `create_folder`), plus `move_secret`, `add_kubernetes_sync` and
//! `propose_changes` (several edits in one proposal). Each turns its arguments into a
//! [`ProposalRequest`] and hands it to the [`Proposer`]: a fresh branch, the YAML edited,
//! validated and planned, a commit, a push and a merge request (or pull request).

use std::sync::Arc;

use rmcp::model::{CallToolResult, ContentBlock, Tool, ToolAnnotations};
use schemars::JsonSchema;
use serde::Deserialize;
use serde::de::DeserializeOwned;
use serde_json::{Map, Value, json};

use super::tools::{ProposeTool, arguments};
use super::{McpState, Proposals, ToolError};
use crate::propose::{
    AddKubernetesSync, CheckedProposal, CreateEnvironmentEdit, CreateFolderEdit, CreateProjectEdit,
    CreateSecret, DeleteSecret, Edit, MoveSecret, Proposal, ProposalRequest, ProposeError,
    Proposer, UpdateSecret,
};

/// Arguments of a single-edit propose tool: the edit's fields, plus the merge request's title
/// and rationale.
#[derive(Debug, Clone, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub(crate) struct ProposeArgs<T> {
    /// The merge request title (default: derived from the change, e.g. "Add
    /// CLOUDFLARE_API_TOKEN to k3s-infrastructure/prod:/api-keys").
    #[serde(default)]
    pub title: Option<String>,
    /// Why the change is needed; shown at the top of the merge request description.
    #[serde(default)]
    pub rationale: Option<String>,
    /// The change.
    #[serde(flatten)]
    pub edit: T,
}

/// Arguments of `propose_changes`.
#[derive(Debug, Clone, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub(crate) struct BatchArgs {
    /// The merge request title (default: derived from the edits).
    #[serde(default)]
    pub title: Option<String>,
    /// Why the change is needed; shown at the top of the merge request description.
    #[serde(default)]
    pub rationale: Option<String>,
    /// 1 to 50 edits, applied in order; each has an `op` (`create_secret`, `update_secret`,
    /// `delete_secret`, `move_secret`, `create_project`, `create_environment`,
    /// `create_folder`, `add_kubernetes_sync`) and that tool's fields.
    pub edits: Vec<Edit>,
}

fn schema<T: JsonSchema + 'static>() -> Arc<rmcp::model::JsonObject> {
    rmcp::handler::server::common::schema_for_type::<T>()
}

fn proposes(title: &str, destructive: bool) -> ToolAnnotations {
    let mut annotations = ToolAnnotations::with_title(title)
        .read_only(false)
        .destructive(destructive);
    // Every call opens a new branch and merge request.
    annotations.idempotent_hint = Some(false);
    annotations.open_world_hint = Some(true);
    annotations
}

const TAIL: &str = " Nothing changes in Infisical: the change is committed on a new branch and \
     opened as a merge request (GitLab) or pull request (GitHub) whose description holds the \
     plan; it is applied after a human merges it. Returns the merge request URL, the branch, \
     the commit and the plan summary. Refused, with the diagnostics and nothing pushed, when \
     the result does not validate.";

/// What `create_secret` does (apart, as its examples hold braces).
const CREATE_SECRET: &str = "Propose a new secret in one or more environments of a folder. The \
     value is never given: `source` is a Bitwarden item (`{\"bitwarden\": {\"item\": \
     \"<uuid>\", \"field\": \"password\"}}`), a Bitwarden Secrets Manager secret \
     (`{\"bitwardenSecretsManager\": {\"secret\": \"<uuid>\"}}`) or a generated value \
     (`{\"generate\": {\"length\": 32}}`); a `value` argument is refused.";

/// A propose tool's catalogue entry: description, argument schema and annotations.
pub(crate) fn describe(tool: ProposeTool) -> Tool {
    let (what, schema, title, destructive): (&str, _, &str, bool) = match tool {
        ProposeTool::CreateSecret => (
            CREATE_SECRET,
            schema::<ProposeArgs<CreateSecret>>(),
            "Propose a new secret",
            false,
        ),
        ProposeTool::UpdateSecret => (
            "Propose changing a declared secret's comment, tags or value source (never a value).",
            schema::<ProposeArgs<UpdateSecret>>(),
            "Propose a secret change",
            false,
        ),
        ProposeTool::DeleteSecret => (
            "Propose removing a declared secret (Infisical deletes it after the merge only when \
             the project's policy has `prune: true`).",
            schema::<ProposeArgs<DeleteSecret>>(),
            "Propose deleting a secret",
            true,
        ),
        ProposeTool::MoveSecret => (
            "Propose moving a secret to another folder or project and/or renaming it, keeping \
             its value source, comment and tags.",
            schema::<ProposeArgs<MoveSecret>>(),
            "Propose moving a secret",
            true,
        ),
        ProposeTool::CreateProject => (
            "Propose a new Infisical project with its environments.",
            schema::<ProposeArgs<CreateProjectEdit>>(),
            "Propose a new project",
            false,
        ),
        ProposeTool::CreateEnvironment => (
            "Propose a new environment in a declared project.",
            schema::<ProposeArgs<CreateEnvironmentEdit>>(),
            "Propose a new environment",
            false,
        ),
        ProposeTool::CreateFolder => (
            "Propose a new folder in a declared project.",
            schema::<ProposeArgs<CreateFolderEdit>>(),
            "Propose a new folder",
            false,
        ),
        ProposeTool::AddKubernetesSync => (
            "Propose a KubernetesSync: one Infisical scope (project, environment, folder) sent \
             into one Kubernetes Secret through the Infisical operator.",
            schema::<ProposeArgs<AddKubernetesSync>>(),
            "Propose a Kubernetes sync",
            false,
        ),
        ProposeTool::ProposeChanges => (
            "Propose several edits (1 to 50) as one merge request, e.g. a new folder, the \
             secrets in it and the KubernetesSync that sends them to a namespace.",
            schema::<BatchArgs>(),
            "Propose several changes",
            true,
        ),
    };
    Tool::new(tool.name(), format!("{what}{TAIL}"), schema)
        .with_annotations(proposes(title, destructive))
}

fn single<T: DeserializeOwned>(
    tool: &str,
    args: Map<String, Value>,
    wrap: fn(T) -> Edit,
) -> Result<ProposalRequest, ToolError> {
    let args: ProposeArgs<T> = arguments(tool, args)?;
    Ok(ProposalRequest {
        title: args.title,
        description: args.rationale,
        edits: vec![wrap(args.edit)],
    })
}

/// The request a propose tool's arguments describe.
pub(crate) fn request(
    tool: ProposeTool,
    args: Map<String, Value>,
) -> Result<ProposalRequest, ToolError> {
    let name = tool.name();
    match tool {
        ProposeTool::CreateSecret => single(name, args, Edit::CreateSecret),
        ProposeTool::UpdateSecret => single(name, args, Edit::UpdateSecret),
        ProposeTool::DeleteSecret => single(name, args, Edit::DeleteSecret),
        ProposeTool::MoveSecret => single(name, args, Edit::MoveSecret),
        ProposeTool::CreateProject => single(name, args, Edit::CreateProject),
        ProposeTool::CreateEnvironment => single(name, args, Edit::CreateEnvironment),
        ProposeTool::CreateFolder => single(name, args, Edit::CreateFolder),
        ProposeTool::AddKubernetesSync => single(name, args, Edit::AddKubernetesSync),
        ProposeTool::ProposeChanges => {
            arguments::<BatchArgs>(name, args).map(|args| ProposalRequest {
                title: args.title,
                description: args.rationale,
                edits: args.edits,
            })
        }
    }
}

fn proposer(state: &McpState) -> Result<Arc<Proposer>, ToolError> {
    match &state.proposals {
        Proposals::Enabled(proposer) => Ok(proposer.clone()),
        Proposals::Disabled(reason) => Err(ToolError::new(reason.clone())),
    }
}

fn propose_error(error: ProposeError) -> ToolError {
    match error {
        ProposeError::Invalid { diagnostics } => {
            let mut tool_error = ToolError::new(
                "the proposed change does not validate; nothing was committed or pushed",
            );
            tool_error.detail = Some(json!({ "diagnostics": diagnostics }));
            tool_error.message.push('\n');
            tool_error.message.push_str(&diagnostics);
            tool_error
        }
        // Its message already holds the edit error.
        request @ ProposeError::Request(_) => ToolError::new(request.to_string()),
        other => ToolError::new(crate::errors::cause_chain(&other)),
    }
}

fn checked_json(checked: &CheckedProposal) -> Value {
    json!({
        "title": checked.title,
        "changedFiles": checked.changed_files,
        "planSummary": checked.plan_summary,
        "diff": checked.diff,
        "planMarkdown": checked.plan_markdown,
    })
}

fn summary_line(checked: &CheckedProposal) -> String {
    match &checked.plan_summary {
        Some(s) => {
            let mut notes = Vec::new();
            if s.errors > 0 {
                notes.push(format!(
                    "{} error(s) that make apply refuse the plan",
                    s.errors
                ));
            }
            if s.unresolved > 0 {
                notes.push(format!(
                    "{} secret value(s) cannot be resolved (a Bitwarden reference that does \
                     not exist or cannot be read; the plan names each)",
                    s.unresolved
                ));
            }
            if s.detected > 0 {
                notes.push(format!(
                    "{} drift(s) reported in detect-mode projects",
                    s.detected
                ));
            }
            let notes = if notes.is_empty() {
                String::new()
            } else {
                format!("; {}", notes.join("; "))
            };
            format!(
                "Plan: {} to create, {} to update, {} to delete ({} introduced by this change, \
                 the rest is drift the tracked branch already plans){notes}.",
                s.create, s.update, s.delete, s.introduced,
            )
        }
        None => "Plan: not computed (no Infisical connection).".to_string(),
    }
}

/// Makes a proposal.
pub(crate) async fn propose(
    state: &Arc<McpState>,
    request: ProposalRequest,
) -> Result<CallToolResult, ToolError> {
    let proposer = proposer(state)?;
    let proposal: Proposal = proposer.propose(request).await.map_err(propose_error)?;
    let mut value = checked_json(&proposal.checked);
    value["branch"] = json!(proposal.branch);
    value["commit"] = json!(proposal.commit);
    value["changeRequestUrl"] = json!(proposal.change_request_url);
    value["changeRequestNumber"] = json!(proposal.change_request_number);
    let opened = match &proposal.change_request_url {
        Some(url) => format!("Opened {url}"),
        None => "Pushed the branch (no forge configured, so no merge request)".to_string(),
    };
    let text = format!(
        "{opened}\nTitle: {}\nBranch: {}\nCommit: {}\nChanged files: {}\n{}",
        proposal.checked.title,
        proposal.branch,
        proposal.commit,
        proposal.checked.changed_files.join(", "),
        summary_line(&proposal.checked),
    );
    let mut result = CallToolResult::success(vec![ContentBlock::text(text)]);
    result.structured_content = Some(value);
    Ok(result)
}

/// Validates and plans edits without committing (`validate_change` with `edits`).
pub(crate) async fn check(
    state: &Arc<McpState>,
    request: ProposalRequest,
) -> Result<CallToolResult, ToolError> {
    let proposer = proposer(state)?;
    let checked = proposer.check(&request).await.map_err(propose_error)?;
    let mut value = checked_json(&checked);
    value["valid"] = json!(true);
    let text = format!(
        "The change validates.\nChanged files: {}\n{}\n\n{}",
        checked.changed_files.join(", "),
        summary_line(&checked),
        checked.diff
    );
    let mut result = CallToolResult::success(vec![ContentBlock::text(text)]);
    result.structured_content = Some(value);
    Ok(result)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::propose::PlanSummary;

    fn checked(summary: Option<PlanSummary>) -> CheckedProposal {
        CheckedProposal {
            changed_files: vec!["secrets/app.yaml".into()],
            diff: String::new(),
            plan_summary: summary,
            plan_markdown: None,
            title: "Add NEW_TOKEN".into(),
        }
    }

    #[test]
    fn the_summary_line_names_what_would_stop_or_skip_the_apply() {
        let clean = PlanSummary {
            create: 1,
            introduced: 1,
            ..PlanSummary::default()
        };
        insta::assert_snapshot!(summary_line(&checked(Some(clean))), @"Plan: 1 to create, 0 to update, 0 to delete (1 introduced by this change, the rest is drift the tracked branch already plans).");
        let troubled = PlanSummary {
            create: 54,
            errors: 1,
            unresolved: 1,
            detected: 2,
            ..PlanSummary::default()
        };
        insta::assert_snapshot!(summary_line(&checked(Some(troubled))), @"Plan: 54 to create, 0 to update, 0 to delete (0 introduced by this change, the rest is drift the tracked branch already plans); 1 error(s) that make apply refuse the plan; 1 secret value(s) cannot be resolved (a Bitwarden reference that does not exist or cannot be read; the plan names each); 2 drift(s) reported in detect-mode projects.");
        insta::assert_snapshot!(summary_line(&checked(None)), @"Plan: not computed (no Infisical connection).");
    }
}
