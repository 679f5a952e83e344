//! The MCP server: tools that read the repository's structure and *propose* changes as merge
//! requests, instead of changing Infisical directly.
//!
//! ```text
//! MCP client ──► transport (stdio | Streamable HTTP at /mcp: Host, Origin, bearer token,
//!               body limit, rate limit) ──► McpServer::call_tool ──► guard (no plaintext values)
//!               ──► read tools (repository → DesiredState → JSON; get_plan via the Reconciler)
//!               ──► propose tools (crate::propose::Proposer: branch, commit, push, MR/PR)
//! ```
//!
//! - [`guard`]: argument checks (plaintext refusal, path checks) and the audit shape;
//! - [`read`]: the read tools' answers, pure;
//! - [`tools`]: the tool catalogue (names, descriptions, input schemas) and dispatch;
//! - [`propose`]: the propose tools, thin wrappers over [`crate::propose::Proposer`];
//! - [`http`]: the Streamable HTTP router with its security layers.
//!
//! Every tool call is logged (target `infisical_gitops::mcp::audit`): the tool, the shape of
//! its arguments (keys and types, never values), the caller (a token fingerprint or `stdio`),
//! the outcome and the duration. Tool failures are tool results with `isError: true` carrying
//! the message and, where there are any, the validation diagnostics; they are never transport
//! errors.

pub(crate) mod guard;
pub mod http;
pub(crate) mod propose;
pub(crate) mod read;
pub(crate) mod sessions;
pub mod tools;

use std::path::Path;
use std::sync::Arc;
use std::time::Instant;

use rmcp::model::{
    CallToolRequestParams, CallToolResponse, CallToolResult, ContentBlock, ErrorData,
    Implementation, ListToolsResult, PaginatedRequestParams, ServerCapabilities, ServerConfig,
    Tool,
};
use rmcp::service::RequestContext;
use rmcp::{RoleServer, ServerHandler};
use serde_json::{Value, json};

use crate::model::{DesiredState, Diagnostics};
use crate::reconcile::Reconciler;
use crate::source::Source;

/// The audit log's tracing target.
pub const AUDIT_TARGET: &str = "infisical_gitops::mcp::audit";

/// Who called a tool: set by the HTTP layer (a token fingerprint and the peer address), or
/// `stdio`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Caller(pub String);

/// Where proposals go, or why there are none.
#[derive(Debug, Clone)]
pub enum Proposals {
    /// Proposals are made through this engine.
    Enabled(Arc<crate::propose::Proposer>),
    /// Propose tools answer this error (e.g. the repository is a plain directory).
    Disabled(String),
}

/// The message propose tools answer when the server follows a plain directory.
pub const NO_REMOTE: &str = "proposals need a Git remote: start the server with `--git-url URL` \
     (and a forge for merge requests); a plain directory can only be read";

/// What the server serves.
pub struct McpState {
    source: Arc<dyn Source>,
    fetch_lock: tokio::sync::Mutex<()>,
    source_label: String,
    reconciler: Result<Reconciler, String>,
    proposals: Proposals,
    tools: Vec<Tool>,
}

impl std::fmt::Debug for McpState {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("McpState")
            .field("source", &self.source_label)
            .field("plans", &self.reconciler.is_ok())
            .field("proposals", &self.proposals)
            .finish_non_exhaustive()
    }
}

impl McpState {
    /// A server over a source (a directory or a Git remote), a reconciler for `get_plan` (or
    /// the reason there is none) and the proposal engine.
    pub fn new(
        source: Arc<dyn Source>,
        reconciler: Result<Reconciler, String>,
        proposals: Proposals,
    ) -> Self {
        let source_label = source.describe();
        Self {
            source,
            fetch_lock: tokio::sync::Mutex::new(()),
            source_label,
            reconciler,
            proposals,
            tools: tools::catalogue(),
        }
    }

    /// The label stored in plans (`plan.source`): for a directory its absolute path, as
    /// `plan` on the command line writes it.
    pub fn with_source_label(mut self, label: impl Into<String>) -> Self {
        self.source_label = label.into();
        self
    }

    /// Fetches the newest revision and runs `read` on its checkout on a blocking thread. The
    /// fetch lock is held until `read` returns, so a concurrent call never checks out another
    /// revision under it.
    async fn read_checkout<T, F>(&self, read: F) -> Result<T, ToolError>
    where
        F: FnOnce(&crate::source::git::Checkout) -> T + Send + 'static,
        T: Send + 'static,
    {
        let _guard = self.fetch_lock.lock().await;
        let checkout = self
            .source
            .fetch()
            .await
            .map_err(|error| ToolError::new(crate::errors::cause_chain(&error)))?;
        tokio::task::spawn_blocking(move || read(&checkout))
            .await
            .map_err(|join| ToolError::new(format!("reading the repository failed: {join}")))
    }

    /// Loads and validates the newest revision: the state and the revision.
    async fn desired(&self) -> Result<(DesiredState, String), ToolError> {
        let loaded = self
            .read_checkout(|checkout| {
                crate::source::load_desired_state(&checkout.path)
                    .map(|(state, _warnings)| (state, checkout.revision.clone()))
            })
            .await?;
        loaded.map_err(|diagnostics| {
            ToolError::new("the repository does not validate; fix it before reading or proposing")
                .with_diagnostics(&diagnostics)
        })
    }
}

/// A tool failure: a message that names the subject, and the validation diagnostics if any.
#[derive(Debug, Clone, PartialEq)]
pub struct ToolError {
    /// What went wrong.
    pub message: String,
    /// Diagnostics (JSON, as `validate --format json` writes them).
    pub diagnostics: Vec<Value>,
    /// Extra structured detail (e.g. a diff), if any.
    pub detail: Option<Value>,
}

impl ToolError {
    /// An error with a message.
    pub fn new(message: impl Into<String>) -> Self {
        Self {
            message: message.into(),
            diagnostics: Vec::new(),
            detail: None,
        }
    }

    /// With the errors and warnings of a validation.
    pub fn with_diagnostics(mut self, diagnostics: &Diagnostics) -> Self {
        self.diagnostics = diagnostics_json(diagnostics);
        self
    }

    /// The text has one line per diagnostic: file names and messages are escaped onto it.
    fn into_result(self) -> CallToolResult {
        use crate::escape::Visible;
        let mut text = self.message.clone();
        for diagnostic in &self.diagnostics {
            let origin = &diagnostic["origin"];
            text.push_str(&format!(
                "\n{}: {}:{}:{}: {} [{}]",
                diagnostic["severity"].as_str().unwrap_or("error"),
                Visible(origin["file"].as_str().unwrap_or("?")),
                origin["line"],
                origin["column"],
                Visible(diagnostic["message"].as_str().unwrap_or("")),
                diagnostic["code"].as_str().unwrap_or(""),
            ));
        }
        let mut structured = json!({ "error": self.message });
        if !self.diagnostics.is_empty() {
            structured["diagnostics"] = Value::Array(self.diagnostics);
        }
        if let Some(detail) = self.detail {
            structured["detail"] = detail;
        }
        let mut result = CallToolResult::error(vec![ContentBlock::text(text)]);
        result.structured_content = Some(structured);
        result
    }
}

impl From<read::ReadError> for ToolError {
    fn from(error: read::ReadError) -> Self {
        Self::new(error.to_string())
    }
}

/// Diagnostics as JSON objects (`severity`, `code`, `message`, `origin`, `help`, `related`).
pub fn diagnostics_json(diagnostics: &Diagnostics) -> Vec<Value> {
    diagnostics
        .iter()
        .filter_map(|d| serde_json::to_value(d).ok())
        .collect()
}

/// The transport a server instance answers on (for the audit log).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Transport {
    /// Standard input and output.
    Stdio,
    /// Streamable HTTP.
    Http,
}

/// The MCP server handler: one per session, sharing one [`McpState`].
#[derive(Debug, Clone)]
pub struct McpServer {
    state: Arc<McpState>,
    transport: Transport,
}

impl McpServer {
    /// A handler for one session.
    pub fn new(state: Arc<McpState>, transport: Transport) -> Self {
        Self { state, transport }
    }

    /// Serves MCP on standard input and output until the client closes it.
    ///
    /// # Errors
    /// When the handshake fails.
    pub async fn serve_stdio(self) -> Result<(), std::io::Error> {
        use rmcp::ServiceExt;
        let running = self
            .serve(rmcp::transport::stdio())
            .await
            .map_err(std::io::Error::other)?;
        running.waiting().await.map_err(std::io::Error::other)?;
        Ok(())
    }

    fn caller(&self, context: &RequestContext<RoleServer>) -> String {
        let from_http = context
            .extensions
            .get::<axum::http::request::Parts>()
            .and_then(|parts| parts.extensions.get::<Caller>())
            .map(|caller| caller.0.clone());
        match (from_http, self.transport) {
            (Some(caller), _) => caller,
            (None, Transport::Stdio) => "stdio".to_string(),
            (None, Transport::Http) => "http".to_string(),
        }
    }
}

/// Instructions sent to clients at initialisation.
pub const INSTRUCTIONS: &str = "infisical-gitops: the structure of an Infisical instance \
     (projects, environments, folders, which secrets exist and where their values come from) \
     is declared in a Git repository of YAML. Read tools describe what the repository \
     declares and how Infisical differs from it (get_plan). Propose tools never change \
     Infisical: each one edits the YAML on a new branch, validates it, commits, pushes and \
     opens a merge request whose description holds the plan; a human reviews and merges it, \
     and the reconciler applies it. Secret values are never accepted or returned: a new \
     secret takes a Bitwarden reference or a generate rule.";

impl ServerHandler for McpServer {
    fn get_info(&self) -> ServerConfig {
        let mut config = ServerConfig::new(ServerCapabilities::builder().enable_tools().build())
            .with_instructions(INSTRUCTIONS);
        let mut implementation = Implementation::new("infisical-gitops", env!("CARGO_PKG_VERSION"));
        implementation.title = Some("infisical-gitops".to_string());
        config.server_info = implementation;
        config
    }

    async fn list_tools(
        &self,
        _request: Option<PaginatedRequestParams>,
        _context: RequestContext<RoleServer>,
    ) -> Result<ListToolsResult, ErrorData> {
        Ok(ListToolsResult::with_all_items(self.state.tools.clone()))
    }

    async fn call_tool(
        &self,
        request: CallToolRequestParams,
        context: RequestContext<RoleServer>,
    ) -> Result<CallToolResponse, ErrorData> {
        let started = Instant::now();
        let caller = self.caller(&context);
        let name = request.name.to_string();
        let arguments = request.arguments.unwrap_or_default();
        let shape = guard::shape(&arguments);
        let known = self.state.tools.iter().any(|tool| tool.name == name);
        let result = if !known {
            Err(ToolError::new(format!(
                "unknown tool `{}`; call tools/list for the available tools",
                name.chars().take(64).collect::<String>()
            )))
        } else if let Some(pointer) = guard::find_plaintext(&arguments) {
            Err(ToolError::new(format!(
                "refused argument `{pointer}`: {}",
                guard::PLAINTEXT_REFUSED
            )))
        } else {
            tools::dispatch(&self.state, &name, arguments).await
        };
        let outcome = match &result {
            Ok(_) => "ok",
            Err(error) if error.diagnostics.is_empty() => "error",
            Err(_) => "invalid",
        };
        let error_message = result.as_ref().err().map(|e| e.message.clone());
        tracing::info!(
            target: AUDIT_TARGET,
            tool = name.chars().take(64).collect::<String>().as_str(),
            arguments = shape.as_str(),
            caller = caller.as_str(),
            outcome,
            error = error_message.as_deref().unwrap_or(""),
            duration_ms = u64::try_from(started.elapsed().as_millis()).unwrap_or(u64::MAX),
            "tool call"
        );
        Ok(match result {
            Ok(result) => result,
            Err(error) => error.into_result(),
        }
        .into())
    }
}

/// The label `plan` writes for a directory: its absolute path.
pub fn directory_label(path: &Path) -> String {
    std::fs::canonicalize(path)
        .unwrap_or_else(|_| path.to_path_buf())
        .display()
        .to_string()
}
