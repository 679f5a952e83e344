//! `infisical-gitops mcp [PATH | --git-url URL] (--listen ADDR | --stdio)`: the MCP server.
//!
//! Read tools describe the repository and plan against Infisical; propose tools turn an
//! agent's change into a branch, a commit and a merge request (GitLab) or pull request
//! (GitHub). Over HTTP the endpoint is `/mcp` and needs a bearer token
//! (`--mcp-token-file FILE` or `INFISICAL_GITOPS_MCP_TOKEN`); over stdio it needs none.
//! `run --mcp` serves the same endpoint on the daemon's listener.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::Arc;

use clap::ValueEnum;
use miette::{IntoDiagnostic, WrapErr};
use secrecy::ExposeSecret;

use super::connection::ConnectionArgs;
use super::git_args::{GitAuthArgs, secret};
use super::{Context, EXIT_OK, env};
use crate::mcp::http::{DEFAULT_MAX_BODY_BYTES, DEFAULT_RATE_PER_MINUTE, HttpSecurity};
use crate::mcp::{McpServer, McpState, NO_REMOTE, Proposals, Transport, directory_label};
use crate::propose::{ForgeConfig, ForgeKind, ProposerConfig};
use crate::source::git::{GitConfig, GitReference, GitSource};
use crate::source::{GitRemote, LocalDirectory, Source};

/// Shortest bearer token accepted.
pub(crate) const MIN_TOKEN_LENGTH: usize = 16;

/// `--forge`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum ForgeChoice {
    /// GitLab merge requests (`/api/v4/projects/:id/merge_requests`).
    Gitlab,
    /// GitHub pull requests (`/repos/:owner/:repo/pulls`).
    Github,
}

impl ForgeChoice {
    /// The API URL used without `--forge-url`.
    pub fn default_api_url(self) -> &'static str {
        match self {
            ForgeChoice::Gitlab => "https://gitlab.com",
            ForgeChoice::Github => "https://api.github.com",
        }
    }
}

/// The MCP endpoint's options, shared by `mcp` and `run --mcp`.
#[derive(Debug, Clone, clap::Args)]
pub struct McpOptions {
    /// A file holding the MCP bearer token (or set INFISICAL_GITOPS_MCP_TOKEN). Required for
    /// HTTP; at least 16 characters (e.g. `openssl rand -hex 32`).
    #[arg(
        long = "mcp-token-file",
        visible_alias = "token-file",
        value_name = "FILE"
    )]
    pub token_file: Option<PathBuf>,
    /// Another accepted `Host` header (`name` or `name:port`) besides localhost, 127.0.0.1
    /// and [::1], e.g. the name behind a reverse proxy. Repeatable.
    #[arg(long = "allowed-host", value_name = "HOST")]
    pub allowed_hosts: Vec<String>,
    /// Another accepted `Origin` (`https://app.example.com`) besides localhost origins.
    /// Repeatable. Requests without an Origin header are accepted.
    #[arg(long = "allowed-origin", value_name = "ORIGIN")]
    pub allowed_origins: Vec<String>,
    /// Largest accepted MCP request body, in bytes.
    #[arg(long = "mcp-max-body-bytes", default_value_t = DEFAULT_MAX_BODY_BYTES, value_name = "BYTES")]
    pub max_body_bytes: usize,
    /// MCP requests per minute per token (the burst is the same number).
    #[arg(long = "mcp-rate-limit", default_value_t = DEFAULT_RATE_PER_MINUTE, value_name = "N")]
    pub rate_per_minute: u32,
    /// Where proposals open a change request: GitLab merge requests or GitHub pull requests.
    /// Without it proposals push a branch only.
    #[arg(long, value_enum, env = env::FORGE, requires = "forge_project")]
    pub forge: Option<ForgeChoice>,
    /// The forge's API URL [default: https://gitlab.com (`/api/v4` is appended) or
    /// https://api.github.com].
    #[arg(long, env = env::FORGE_URL, value_name = "URL")]
    pub forge_url: Option<String>,
    /// The forge project: `group/repo` (GitLab) or `owner/repo` (GitHub).
    #[arg(long, env = env::FORGE_PROJECT, value_name = "PATH")]
    pub forge_project: Option<String>,
    /// A file holding the forge API token (or set INFISICAL_GITOPS_FORGE_TOKEN).
    #[arg(long, value_name = "FILE")]
    pub forge_token_file: Option<PathBuf>,
    /// Author name of proposal commits.
    #[arg(long, env = env::AUTHOR_NAME, default_value = "infisical-gitops")]
    pub author_name: String,
    /// Author e-mail of proposal commits.
    #[arg(long, env = env::AUTHOR_EMAIL, default_value = "infisical-gitops@localhost")]
    pub author_email: String,
    /// Prefix of proposal branches (a unique suffix is added to each).
    #[arg(long, default_value = "infisical-gitops/proposal-")]
    pub branch_prefix: String,
}

/// Arguments of `mcp`.
#[derive(Debug, clap::Args)]
#[command(group(clap::ArgGroup::new("transport").required(true).args(["listen", "stdio"])))]
pub struct McpCommand {
    /// A local repository directory (read tools only; proposals need --git-url).
    #[arg(conflicts_with = "git_url")]
    pub path: Option<PathBuf>,
    /// The Git remote of the repository: read from it, and proposals push branches to it.
    #[arg(long, env = env::GIT_URL)]
    pub git_url: Option<String>,
    /// The tracked branch: read from it, and proposals branch off it [default: main].
    #[arg(long, env = env::GIT_BRANCH)]
    pub git_branch: Option<String>,
    /// The directory inside the repository that holds the YAML.
    #[arg(long, env = env::GIT_PATH)]
    pub git_path: Option<PathBuf>,
    /// Where clones live [default: <temp dir>/infisical-gitops/mcp].
    #[arg(long, env = env::WORK_DIR)]
    pub work_dir: Option<PathBuf>,
    /// Git credentials and host keys.
    #[command(flatten)]
    pub git_auth: GitAuthArgs,
    /// Serve Streamable HTTP at `/mcp` on this address (needs a bearer token).
    #[arg(long, env = env::MCP_LISTEN)]
    pub listen: Option<SocketAddr>,
    /// Serve on standard input and output (for clients that start the server themselves).
    #[arg(long)]
    pub stdio: bool,
    /// The MCP endpoint and proposals.
    #[command(flatten)]
    pub mcp: McpOptions,
    /// Connection to Infisical, for `get_plan` and the plans in proposals.
    #[command(flatten)]
    pub connection: ConnectionArgs,
}

impl McpOptions {
    /// The HTTP endpoint's security settings; refuses to go on without a token.
    ///
    /// # Errors
    /// No token, a token shorter than [`MIN_TOKEN_LENGTH`], or an unreadable token file.
    pub fn security(&self) -> miette::Result<HttpSecurity> {
        let Some(token) = secret(self.token_file.as_ref(), env::MCP_TOKEN)? else {
            miette::bail!(
                "the MCP HTTP endpoint needs a bearer token: pass --mcp-token-file FILE or set \
                 {} (generate one with `openssl rand -hex 32`); use --stdio for a local client \
                 that starts the server itself",
                env::MCP_TOKEN
            );
        };
        if token.expose_secret().chars().count() < MIN_TOKEN_LENGTH {
            miette::bail!(
                "the MCP bearer token is too short: use at least {MIN_TOKEN_LENGTH} characters \
                 (e.g. `openssl rand -hex 32`)"
            );
        }
        Ok(HttpSecurity {
            allowed_hosts: self.allowed_hosts.clone(),
            allowed_origins: self.allowed_origins.clone(),
            max_body_bytes: self.max_body_bytes,
            rate_per_minute: self.rate_per_minute,
            ..HttpSecurity::new(token)
        })
    }

    /// What the propose tools do: open proposals against `git`, or explain why they cannot.
    ///
    /// # Errors
    /// A forge without a token, or an unreadable token file.
    pub fn proposals(
        &self,
        git: Option<&GitConfig>,
        reconciler: Option<&crate::reconcile::Reconciler>,
    ) -> miette::Result<Proposals> {
        let Some(git) = git else {
            return Ok(Proposals::Disabled(NO_REMOTE.to_string()));
        };
        let config = self.proposer_config(git)?;
        let forge = config
            .forge
            .as_ref()
            .map(crate::propose::forge::from_config)
            .transpose()
            .into_diagnostic()
            .wrap_err("--forge")?;
        Ok(Proposals::Enabled(Arc::new(crate::propose::Proposer::new(
            config,
            reconciler.cloned(),
            forge,
        ))))
    }

    /// The proposal engine's configuration for a Git remote.
    ///
    /// # Errors
    /// A forge without a token, or an unreadable token file.
    pub fn proposer_config(&self, git: &GitConfig) -> miette::Result<ProposerConfig> {
        let branch = match &git.reference {
            GitReference::Branch(branch) => branch.clone(),
            other => miette::bail!("proposals need a tracked branch, not a {other}"),
        };
        let mut config = ProposerConfig::new(git.url.clone(), branch);
        config.auth = git.auth.clone();
        config.known_hosts = git.known_hosts.clone();
        let sub_path = git.sub_path.to_string_lossy().trim_matches('/').to_string();
        config.sub_path = (!sub_path.is_empty()).then_some(sub_path);
        config.author_name = self.author_name.clone();
        config.author_email = self.author_email.clone();
        config.branch_prefix = self.branch_prefix.clone();
        config.work_dir = git.work_dir.join("proposals");
        if let Some(kind) = self.forge {
            config.forge = Some(forge_config(
                kind,
                self.forge_url.as_deref(),
                self.forge_project.as_deref(),
                self.forge_token_file.as_ref(),
                "--forge",
            )?);
        }
        Ok(config)
    }
}

/// A forge's settings from the `--forge-*` flags and the token (file or
/// `INFISICAL_GITOPS_FORGE_TOKEN`); `flag` names the flag that asked for it in errors.
///
/// # Errors
/// No token, or an unreadable token file.
pub(crate) fn forge_config(
    kind: ForgeChoice,
    url: Option<&str>,
    project: Option<&str>,
    token_file: Option<&PathBuf>,
    flag: &str,
) -> miette::Result<ForgeConfig> {
    let Some(token) = secret(token_file, env::FORGE_TOKEN)? else {
        miette::bail!(
            "{flag} needs an API token: pass --forge-token-file FILE or set {}",
            env::FORGE_TOKEN
        );
    };
    Ok(ForgeConfig {
        kind: match kind {
            ForgeChoice::Gitlab => ForgeKind::GitLab,
            ForgeChoice::Github => ForgeKind::GitHub,
        },
        api_url: url.unwrap_or(kind.default_api_url()).to_string(),
        project: project.unwrap_or_default().to_string(),
        token,
    })
}

impl McpCommand {
    fn git_config(&self) -> miette::Result<Option<GitConfig>> {
        let Some(url) = &self.git_url else {
            return Ok(None);
        };
        let auth = self.git_auth.auth()?;
        let work_dir = self
            .work_dir
            .clone()
            .unwrap_or_else(|| std::env::temp_dir().join("infisical-gitops").join("mcp"));
        Ok(Some(GitConfig {
            url: url.clone(),
            reference: GitReference::Branch(
                self.git_branch.clone().unwrap_or_else(|| "main".into()),
            ),
            sub_path: self.git_path.clone().unwrap_or_default(),
            work_dir,
            auth,
            known_hosts: self.git_auth.known_hosts.clone(),
            shallow: true,
        }))
    }
}

/// The source the MCP server reads, and its Git configuration when it is a remote. The reads
/// use their own clone (`<work dir>/read`), apart from the daemon's and the proposals'.
pub(crate) fn source_of(
    path: Option<PathBuf>,
    git: Option<&GitConfig>,
) -> (Arc<dyn Source>, Option<String>) {
    match git {
        Some(config) => {
            let mut config = config.clone();
            config.work_dir = config.work_dir.join("read");
            (Arc::new(GitRemote(Arc::new(GitSource::new(config)))), None)
        }
        None => {
            let path = path.unwrap_or_else(|| PathBuf::from("."));
            let label = directory_label(&path);
            (Arc::new(LocalDirectory(path)), Some(label))
        }
    }
}

/// Builds the shared state.
///
/// # Errors
/// As [`McpOptions::proposals`].
pub(crate) fn state(
    options: &McpOptions,
    source: (Arc<dyn Source>, Option<String>),
    git: Option<&GitConfig>,
    reconciler: Result<crate::reconcile::Reconciler, String>,
) -> miette::Result<Arc<McpState>> {
    let proposals = options.proposals(git, reconciler.as_ref().ok())?;
    let (source, label) = source;
    let mut state = McpState::new(source, reconciler, proposals);
    if let Some(label) = label {
        state = state.with_source_label(label);
    }
    Ok(Arc::new(state))
}

/// Runs `mcp`.
pub(crate) async fn run(args: McpCommand, _context: &Context) -> miette::Result<ExitCode> {
    let security = if args.stdio {
        None
    } else {
        Some(args.mcp.security()?)
    };
    let git = args.git_config()?;
    let session = match args.connection.open().await {
        Ok(session) => Some(session),
        Err(error) => {
            tracing::warn!(
                error = %error,
                "no Infisical connection: get_plan is unavailable and proposals carry no plan"
            );
            None
        }
    };
    let reconciler = match &session {
        Some(session) => Ok(super::plan::reconciler(session, &args.connection)),
        None => Err(
            "get_plan needs a connection to Infisical: start the server with INFISICAL_API_URL \
             and credentials (INFISICAL_UNIVERSAL_AUTH_CLIENT_ID/_SECRET or INFISICAL_TOKEN), \
             or --dev"
                .to_string(),
        ),
    };
    let source = source_of(args.path.clone(), git.as_ref());
    let state = state(&args.mcp, source, git.as_ref(), reconciler)?;

    match security {
        None => {
            McpServer::new(state, Transport::Stdio)
                .serve_stdio()
                .await
                .into_diagnostic()
                .wrap_err("the MCP stdio session failed")?;
        }
        Some(security) => {
            let listen = args
                .listen
                .unwrap_or_else(|| SocketAddr::from(([127, 0, 0, 1], 8081)));
            let listener = tokio::net::TcpListener::bind(listen)
                .await
                .into_diagnostic()
                .wrap_err_with(|| format!("cannot listen on {listen}"))?;
            let address = listener.local_addr().into_diagnostic()?;
            let (router, handle) = crate::mcp::http::router(state, security);
            // The line tests and scripts wait for (the port may have been 0).
            eprintln!("infisical-gitops mcp listening on http://{address}/mcp");
            crate::net::listener::serve(
                listener,
                router,
                crate::net::listener::ListenerLimits::default(),
                async move {
                    shutdown_signal().await;
                    handle.shutdown();
                },
            )
            .await
            .into_diagnostic()?;
        }
    }
    if let Some(session) = session {
        session.close().await;
    }
    Ok(ExitCode::from(EXIT_OK))
}

async fn shutdown_signal() {
    #[cfg(unix)]
    {
        use tokio::signal::unix::{SignalKind, signal};
        if let Ok(mut term) = signal(SignalKind::terminate()) {
            tokio::select! {
                _ = term.recv() => {}
                _ = tokio::signal::ctrl_c() => {}
            }
            return;
        }
    }
    let _ = tokio::signal::ctrl_c().await;
}

#[cfg(test)]
mod tests {
    use clap::Parser;

    use super::*;
    use crate::cli::{Cli, Command};

    fn parse(args: &[&str]) -> McpCommand {
        match Cli::try_parse_from(args).expect("parses").command {
            Command::Mcp(args) => args,
            other => panic!("not mcp: {other:?}"),
        }
    }

    #[test]
    fn the_proposer_configuration_follows_the_flags() {
        let dir = tempfile::tempdir().unwrap();
        let token = dir.path().join("forge-token");
        std::fs::write(&token, "ghp-test-token\n").unwrap();
        let args = parse(&[
            "infisical-gitops",
            "mcp",
            "--stdio",
            "--git-url",
            "https://github.com/acme/secrets.git",
            "--git-branch",
            "trunk",
            "--git-path",
            "/desired-state/",
            "--work-dir",
            dir.path().to_str().unwrap(),
            "--forge",
            "github",
            "--forge-project",
            "acme/secrets",
            "--forge-token-file",
            token.to_str().unwrap(),
            "--author-name",
            "Bot",
            "--author-email",
            "bot@example.com",
        ]);
        let git = args.git_config().unwrap().expect("a remote");
        let config = args.mcp.proposer_config(&git).unwrap();
        assert_eq!(config.remote_url, "https://github.com/acme/secrets.git");
        assert_eq!(config.tracked_branch, "trunk");
        assert_eq!(config.sub_path.as_deref(), Some("desired-state"));
        assert_eq!(
            (config.author_name.as_str(), config.author_email.as_str()),
            ("Bot", "bot@example.com")
        );
        assert_eq!(config.work_dir, dir.path().join("proposals"));
        let forge = config.forge.expect("a forge");
        assert_eq!(forge.kind, ForgeKind::GitHub);
        assert_eq!(forge.api_url, "https://api.github.com");
        assert_eq!(forge.project, "acme/secrets");
        assert_eq!(forge.token.expose_secret(), "ghp-test-token");
        // The reads use their own clone.
        let (source, label) = source_of(None, Some(&git));
        assert!(label.is_none());
        assert!(
            source
                .describe()
                .starts_with("https://github.com/acme/secrets.git")
        );
    }

    #[test]
    fn a_directory_cannot_propose_and_http_needs_a_long_token() {
        let args = parse(&["infisical-gitops", "mcp", "--listen", "127.0.0.1:0", "."]);
        assert!(args.git_config().unwrap().is_none());
        let proposals = args.mcp.proposals(None, None).unwrap();
        assert!(matches!(proposals, Proposals::Disabled(reason) if reason == NO_REMOTE));
        let dir = tempfile::tempdir().unwrap();
        let short = dir.path().join("token");
        std::fs::write(&short, "short\n").unwrap();
        let mut options = args.mcp.clone();
        options.token_file = Some(short);
        let error = options.security().unwrap_err().to_string();
        assert!(error.contains("too short"), "{error}");
        assert!(
            Cli::try_parse_from(["infisical-gitops", "mcp", "."]).is_err(),
            "a transport is required"
        );
        assert!(
            Cli::try_parse_from([
                "infisical-gitops",
                "mcp",
                "--stdio",
                "--listen",
                "127.0.0.1:1"
            ])
            .is_err()
        );
    }
}
