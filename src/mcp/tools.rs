//! The tool catalogue (names, descriptions, JSON Schemas of the arguments) and the dispatch.

use std::sync::Arc;

use rmcp::model::{CallToolResult, ContentBlock, JsonObject, Tool, ToolAnnotations};
use schemars::JsonSchema;
use serde::Deserialize;
use serde::de::DeserializeOwned;
use serde_json::{Map, Value, json};

use super::read::{self, ExplainArgs, FolderArgs, ProjectArgs, SecretArgs};
use super::{McpState, ToolError, diagnostics_json, guard};
use crate::model::check;
use crate::model::diagnostics::{Diagnostics, Severity};
use crate::source::{Limits, load_dir_with, load_str};

/// Arguments of tools that take none.
#[derive(Debug, Clone, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct NoArgs {}

/// One YAML file of a proposed change.
#[derive(Debug, Clone, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct FileArg {
    /// Path relative to the desired-state directory, `/`-separated, e.g.
    /// `secrets/k3s-infrastructure/api-keys.yaml`. No `..`, no absolute paths, no hidden
    /// components; must end in `.yaml` or `.yml`.
    pub path: String,
    /// The complete new content of the file (replaces the file, or adds it when new).
    pub content: String,
}

/// Arguments of `validate_change`.
#[derive(Debug, Clone, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct ValidateArgs {
    /// Whole YAML files to put in place of (or next to) the repository's files; the
    /// repository with these files is validated in memory. Nothing is written.
    #[serde(default)]
    pub files: Vec<FileArg>,
    /// Or: edits, as `propose_changes` takes them; they are applied to a fresh clone of the
    /// tracked branch, validated and planned, and nothing is committed or pushed (needs a
    /// server started with `--git-url`).
    #[serde(default)]
    pub edits: Vec<crate::propose::Edit>,
}

/// Most files one `validate_change` call may carry.
pub const MAX_FILES: usize = 50;

fn schema<T: JsonSchema + 'static>() -> Arc<JsonObject> {
    rmcp::handler::server::common::schema_for_type::<T>()
}

fn read_only(title: &str) -> ToolAnnotations {
    let mut annotations = ToolAnnotations::with_title(title).read_only(true);
    annotations.open_world_hint = Some(false);
    annotations
}

/// A tool's name: the one place each tool's name is spelled; the catalogue, the dispatch and
/// the audit go through it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ToolName {
    /// A tool that reads the repository (or plans against Infisical).
    Read(ReadTool),
    /// A tool that proposes a change as a merge request.
    Propose(ProposeTool),
}

/// The read tools, in the order `tools/list` shows them.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ReadTool {
    /// `list_projects`.
    ListProjects,
    /// `list_environments`.
    ListEnvironments,
    /// `list_folders`.
    ListFolders,
    /// `list_secrets`.
    ListSecrets,
    /// `get_plan`.
    GetPlan,
    /// `validate_change`.
    ValidateChange,
    /// `explain_secret`.
    ExplainSecret,
}

/// The propose tools, in the order `tools/list` shows them (after the read tools).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ProposeTool {
    /// `create_secret`.
    CreateSecret,
    /// `update_secret`.
    UpdateSecret,
    /// `delete_secret`.
    DeleteSecret,
    /// `move_secret`.
    MoveSecret,
    /// `create_project`.
    CreateProject,
    /// `create_environment`.
    CreateEnvironment,
    /// `create_folder`.
    CreateFolder,
    /// `add_kubernetes_sync`.
    AddKubernetesSync,
    /// `propose_changes`.
    ProposeChanges,
}

impl ReadTool {
    /// Every read tool, in catalogue order.
    pub const ALL: [Self; 7] = [
        Self::ListProjects,
        Self::ListEnvironments,
        Self::ListFolders,
        Self::ListSecrets,
        Self::GetPlan,
        Self::ValidateChange,
        Self::ExplainSecret,
    ];

    /// The name clients call it by.
    pub fn name(self) -> &'static str {
        match self {
            Self::ListProjects => "list_projects",
            Self::ListEnvironments => "list_environments",
            Self::ListFolders => "list_folders",
            Self::ListSecrets => "list_secrets",
            Self::GetPlan => "get_plan",
            Self::ValidateChange => "validate_change",
            Self::ExplainSecret => "explain_secret",
        }
    }
}

impl ProposeTool {
    /// Every propose tool, in catalogue order.
    pub const ALL: [Self; 9] = [
        Self::CreateSecret,
        Self::UpdateSecret,
        Self::DeleteSecret,
        Self::MoveSecret,
        Self::CreateProject,
        Self::CreateEnvironment,
        Self::CreateFolder,
        Self::AddKubernetesSync,
        Self::ProposeChanges,
    ];

    /// The name clients call it by.
    pub fn name(self) -> &'static str {
        match self {
            Self::CreateSecret => "create_secret",
            Self::UpdateSecret => "update_secret",
            Self::DeleteSecret => "delete_secret",
            Self::MoveSecret => "move_secret",
            Self::CreateProject => "create_project",
            Self::CreateEnvironment => "create_environment",
            Self::CreateFolder => "create_folder",
            Self::AddKubernetesSync => "add_kubernetes_sync",
            Self::ProposeChanges => "propose_changes",
        }
    }
}

impl ToolName {
    /// Every tool, in the order `tools/list` shows them: the read tools, then the propose
    /// tools.
    pub fn all() -> impl Iterator<Item = Self> {
        ReadTool::ALL
            .into_iter()
            .map(Self::Read)
            .chain(ProposeTool::ALL.into_iter().map(Self::Propose))
    }

    /// The name clients call it by.
    pub fn name(self) -> &'static str {
        match self {
            Self::Read(tool) => tool.name(),
            Self::Propose(tool) => tool.name(),
        }
    }

    /// The tool called `name`, if there is one.
    pub fn from_name(name: &str) -> Option<Self> {
        Self::all().find(|tool| tool.name() == name)
    }
}

/// Every tool, in the order `tools/list` shows them.
pub fn catalogue() -> Vec<Tool> {
    ToolName::all()
        .map(|tool| match tool {
            ToolName::Read(tool) => describe(tool),
            ToolName::Propose(tool) => super::propose::describe(tool),
        })
        .collect()
}

/// A read tool's catalogue entry: description, argument schema and annotations.
fn describe(tool: ReadTool) -> Tool {
    let name = tool.name();
    match tool {
        ReadTool::ListProjects => Tool::new(
            name,
            "List the Infisical projects the repository declares: slug, display name, \
             description, environments, number of secrets, reconciliation policy, and the \
             file that declares each. Reads the repository, not Infisical.",
            schema::<NoArgs>(),
        )
        .with_annotations(read_only("List projects")),
        ReadTool::ListEnvironments => Tool::new(
            name,
            "List the environments of one declared project (slug, display name, position).",
            schema::<ProjectArgs>(),
        )
        .with_annotations(read_only("List environments")),
        ReadTool::ListFolders => Tool::new(
            name,
            "List the folders of one declared project, per environment (implied parent folders \
             included, marked `declared: false`), with the secret imports the repository \
             manages for each, in position order.",
            schema::<FolderArgs>(),
        )
        .with_annotations(read_only("List folders")),
        ReadTool::ListSecrets => Tool::new(
            name,
            "List the secrets one project declares, as the repository declares them: key, \
             environment, folder, comment, tags, where the value comes from (a Bitwarden item \
             and field, a Bitwarden Secrets Manager secret, or a generate rule) and the \
             ownership marker. Never returns values.",
            schema::<SecretArgs>(),
        )
        .with_annotations(read_only("List secrets")),
        ReadTool::GetPlan => Tool::new(
            name,
            "Compare the repository with the live Infisical and return the plan: what `apply` \
             would create, update or delete, and drift. The same JSON document as \
             `infisical-gitops plan --format json` (formatVersion 1). Values are compared by \
             digest and never shown.",
            schema::<NoArgs>(),
        )
        .with_annotations({
            let mut annotations = read_only("Plan against Infisical");
            annotations.open_world_hint = Some(true);
            annotations
        }),
        ReadTool::ValidateChange => Tool::new(
            name,
            "Validate a proposed change without committing anything. Either give whole YAML \
             files (`files: [{path, content}]`, paths relative to the repository): the \
             repository with those files is loaded and checked in memory; or give `edits` as \
             `propose_changes` takes them: they are applied, validated and planned, and the \
             diff and plan summary are returned. Returns every diagnostic with file, line and \
             column; `isError` when the result does not validate.",
            schema::<ValidateArgs>(),
        )
        .with_annotations(read_only("Validate a change")),
        ReadTool::ExplainSecret => Tool::new(
            name,
            "Explain one secret: where its value comes from (Bitwarden item/field, Bitwarden \
             Secrets Manager, or generated), where it lives in Infisical (project, environment, \
             folder, key) and which KubernetesSync sends it to which namespace and Secret.",
            schema::<ExplainArgs>(),
        )
        .with_annotations(read_only("Explain a secret")),
    }
}

/// Deserialises a tool's arguments; serde's messages may quote a string argument, which is
/// cut out so that no argument value is echoed back or logged.
pub fn arguments<T: DeserializeOwned>(
    tool: &str,
    arguments: Map<String, Value>,
) -> Result<T, ToolError> {
    serde_json::from_value(Value::Object(arguments)).map_err(|error| {
        ToolError::new(format!(
            "invalid arguments for `{tool}`: {}",
            without_quoted(&error.to_string())
        ))
    })
}

/// Cuts argument values out of a serde message: `"…"` (strings) become `"…"`, and the
/// unexpected value of `invalid type: integer `5`, expected …` is dropped. Field names (in
/// backticks elsewhere) stay.
fn without_quoted(message: &str) -> String {
    let message = without_unexpected(message);
    let mut out = String::with_capacity(message.len());
    let mut inside = false;
    for c in message.chars() {
        if c == '"' {
            if inside {
                out.push_str("…\"");
            } else {
                out.push('"');
            }
            inside = !inside;
        } else if !inside {
            out.push(c);
        }
    }
    out
}

fn success(value: Value) -> CallToolResult {
    let text = serde_json::to_string_pretty(&value).unwrap_or_default();
    let mut result = CallToolResult::success(vec![ContentBlock::text(text)]);
    result.structured_content = Some(value);
    result
}

/// Runs one tool (its name is known and its arguments carry no plaintext value).
pub async fn dispatch(
    state: &Arc<McpState>,
    name: &str,
    args: Map<String, Value>,
) -> Result<CallToolResult, ToolError> {
    let tool = match ToolName::from_name(name) {
        Some(ToolName::Read(tool)) => tool,
        Some(ToolName::Propose(tool)) => {
            let request = super::propose::request(tool, args)?;
            return super::propose::propose(state, request).await;
        }
        None => return Err(ToolError::new(format!("unknown tool `{name}`"))),
    };
    let name = tool.name();
    match tool {
        ReadTool::ListProjects => {
            let _: NoArgs = arguments(name, args)?;
            let (desired, revision) = state.desired().await?;
            let mut value = read::list_projects(&desired);
            value["revision"] = json!(revision);
            Ok(success(value))
        }
        ReadTool::ListEnvironments => {
            let args: ProjectArgs = arguments(name, args)?;
            let (desired, _) = state.desired().await?;
            Ok(success(read::list_environments(&desired, &args)?))
        }
        ReadTool::ListFolders => {
            let args: FolderArgs = arguments(name, args)?;
            let (desired, _) = state.desired().await?;
            Ok(success(read::list_folders(&desired, &args)?))
        }
        ReadTool::ListSecrets => {
            let args: SecretArgs = arguments(name, args)?;
            let (desired, _) = state.desired().await?;
            Ok(success(read::list_secrets(&desired, &args)?))
        }
        ReadTool::ExplainSecret => {
            let args: ExplainArgs = arguments(name, args)?;
            let (desired, _) = state.desired().await?;
            Ok(success(read::explain_secret(&desired, &args)?))
        }
        ReadTool::GetPlan => {
            let _: NoArgs = arguments(name, args)?;
            get_plan(state).await
        }
        ReadTool::ValidateChange => {
            let args: ValidateArgs = arguments(name, args)?;
            match (args.files.is_empty(), args.edits.is_empty()) {
                (false, true) => validate_files(state, args).await,
                (true, false) => {
                    let request = crate::propose::ProposalRequest {
                        title: None,
                        description: None,
                        edits: args.edits,
                    };
                    super::propose::check(state, request).await
                }
                _ => Err(ToolError::new(
                    "validate_change takes either `files` (whole YAML files) or `edits`, not \
                     both and not neither",
                )),
            }
        }
    }
}

async fn get_plan(state: &Arc<McpState>) -> Result<CallToolResult, ToolError> {
    let reconciler = state.reconciler.clone().map_err(ToolError::new)?;
    let (desired, _) = state.desired().await?;
    let label = state.source_label.clone();
    let mut run = reconciler
        .plan(desired)
        .await
        .map_err(|error| ToolError::new(crate::errors::cause_chain(&error)))?;
    run.plan.source = Some(label);
    let text = crate::plan::render::json::render(&run.plan);
    let structured: Value = serde_json::from_str(&text).unwrap_or(Value::Null);
    let mut result = CallToolResult::success(vec![ContentBlock::text(text)]);
    result.structured_content = Some(structured);
    Ok(result)
}

/// `validate_change` with whole files: the repository with the given files put in place,
/// loaded and checked in memory.
async fn validate_files(
    state: &Arc<McpState>,
    args: ValidateArgs,
) -> Result<CallToolResult, ToolError> {
    if args.files.len() > MAX_FILES {
        return Err(ToolError::new(format!(
            "validate_change takes at most {MAX_FILES} files, got {}",
            args.files.len()
        )));
    }
    let mut files = Vec::with_capacity(args.files.len());
    for file in args.files {
        let path = guard::check_relative_path(&file.path)
            .map_err(|error| ToolError::new(error.to_string()))?;
        if file.content.len() as u64 > Limits::DEFAULT.max_file_bytes {
            return Err(ToolError::new(format!(
                "file `{path}` is larger than the limit of {} bytes",
                Limits::DEFAULT.max_file_bytes
            )));
        }
        if files.iter().any(|(p, _): &(String, String)| *p == path) {
            return Err(ToolError::new(format!("file `{path}` is given twice")));
        }
        files.push((path, file.content));
    }
    let (diagnostics, changed) = state
        .read_checkout(move |checkout| {
            let limits = Limits::DEFAULT;
            let mut loaded = load_dir_with(&checkout.path, &limits);
            let replaced: Vec<&str> = files.iter().map(|(p, _)| p.as_str()).collect();
            loaded
                .documents
                .retain(|d| !replaced.contains(&d.file.as_ref()));
            loaded
                .diagnostics
                .0
                .retain(|d| !replaced.contains(&d.origin.file.as_ref()));
            let mut diagnostics = loaded.diagnostics;
            for (path, content) in &files {
                let file: Arc<str> = path.as_str().into();
                let documents = load_str(&file, content, &limits, &mut diagnostics);
                loaded.documents.extend(documents);
            }
            let (_, more) = check(&loaded.documents);
            diagnostics.0.extend(more.0);
            diagnostics.sort();
            let changed: Vec<String> = files.into_iter().map(|(p, _)| p).collect();
            (diagnostics, changed)
        })
        .await?;
    let report = validation_json(&diagnostics, &changed);
    if diagnostics.has_errors() {
        let mut error = ToolError::new(format!(
            "the change does not validate: {} error(s)",
            diagnostics.error_count()
        ))
        .with_diagnostics(&diagnostics);
        error.detail = Some(report);
        return Err(error);
    }
    Ok(success(report))
}

fn validation_json(diagnostics: &Diagnostics, changed: &[String]) -> Value {
    let warnings = diagnostics
        .iter()
        .filter(|d| d.severity == Severity::Warning)
        .count();
    json!({
        "valid": !diagnostics.has_errors(),
        "errors": diagnostics.error_count(),
        "warnings": warnings,
        "files": changed,
        "diagnostics": diagnostics_json(diagnostics),
    })
}

/// `invalid type: integer `5`, expected a string` → `invalid type: integer, expected a string`.
fn without_unexpected(message: &str) -> String {
    if let Some(start) = message.find("unknown variant `") {
        let rest = &message[start + "unknown variant `".len()..];
        if let Some(end) = rest.find('`') {
            return format!("{}unknown variant{}", &message[..start], &rest[end + 1..]);
        }
    }
    for prefix in ["invalid type: ", "invalid value: "] {
        if let Some(start) = message.find(prefix) {
            let rest = &message[start + prefix.len()..];
            if let Some(end) = rest.find(", expected") {
                let kind = rest[..end].split([' ', '`']).next().unwrap_or("value");
                return format!("{}{prefix}{kind}{}", &message[..start], &rest[end..]);
            }
        }
    }
    message.to_string()
}

#[cfg(test)]
mod tests {
    #[test]
    fn quoted_values_are_cut_from_argument_errors() {
        assert_eq!(
            super::without_quoted("invalid type: integer `5`, expected a string"),
            "invalid type: integer, expected a string"
        );
        assert_eq!(
            super::without_quoted(r#"invalid type: string "hunter2", expected u32"#),
            "invalid type: string, expected u32"
        );
        assert_eq!(
            super::without_quoted("unknown variant `hunter2`, expected one of `a`"),
            "unknown variant, expected one of `a`"
        );
        assert_eq!(
            super::without_quoted("unknown field `foo`, expected `project`"),
            "unknown field `foo`, expected `project`"
        );
    }

    #[test]
    fn the_catalogue_lists_every_tool_once_by_its_name() {
        use super::ToolName;
        let names: Vec<String> = super::catalogue()
            .into_iter()
            .map(|tool| tool.name.to_string())
            .collect();
        let expected: Vec<&str> = ToolName::all().map(ToolName::name).collect();
        assert_eq!(names, expected);
        for tool in ToolName::all() {
            assert_eq!(ToolName::from_name(tool.name()), Some(tool));
        }
        assert_eq!(ToolName::from_name("set_secret_value"), None);
    }

    #[test]
    fn every_tool_has_a_snake_case_name_a_description_and_an_object_schema() {
        for tool in super::catalogue() {
            assert!(
                tool.name
                    .chars()
                    .all(|c| c.is_ascii_lowercase() || c == '_'),
                "{}",
                tool.name
            );
            assert!(tool.description.as_deref().is_some_and(|d| d.len() > 40));
            assert_eq!(
                tool.input_schema.get("type"),
                Some(&serde_json::json!("object"))
            );
        }
    }
}
