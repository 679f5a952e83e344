//! `infisical-gitops run [PATH | --git-url URL] --listen ADDR --interval DURATION
//! [--drift-interval D] [--once]`: the daemon.
//!
//! Follows a local directory (watched for changes) or a Git remote (polled, and fetched at
//! once on a webhook), reconciles on every new revision and every drift interval, and serves
//! `/healthz`, `/readyz`, `/metrics`, `/status` and the webhooks on one listener.
//! `--once` reconciles once and exits with the CLI's exit codes (0 success, 1 anything else,
//! including a secret whose value could not be resolved: outcome `unresolved`).

use std::net::SocketAddr;
use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::Arc;
use std::time::Duration;

use miette::{IntoDiagnostic, WrapErr};
use tokio::sync::watch;

use super::connection::{ConnectionArgs, Observers};
use super::git_args::{GitAuthArgs, secret};
use super::{Context, EXIT_ERROR, EXIT_OK, env};
use crate::daemon::http::{WebhookSecrets, check_webhook_secret};
use crate::daemon::lease::LeaseConfig;
use crate::daemon::{
    AdapterMetrics, Backoff, DaemonConfig, McpRoutes, ReconcileRecord, RunResult, ServeConfig,
    Source,
};
use crate::reconcile::{ReconcileOptions, Reconciler};
use crate::source::git::{GitConfig, GitReference, GitSource};
use crate::source::signature::{AllowedPgpKeys, AllowedSigners};
use crate::source::{GitRemote, LocalDirectory};

/// Arguments of `run`.
#[derive(Debug, clap::Args)]
#[command(group = clap::ArgGroup::new("trusted_keys").multiple(true))]
pub struct RunCommand {
    /// A local repository directory to follow (watched for changes). Omit with `--git-url`.
    #[arg(conflicts_with = "git_url")]
    pub path: Option<PathBuf>,
    /// A Git remote to follow (`https://`, `ssh://`, `git@host:path`, `file://`).
    #[arg(long, env = env::GIT_URL)]
    pub git_url: Option<String>,
    /// The branch to follow [default: main].
    #[arg(long, env = env::GIT_BRANCH, conflicts_with_all = ["git_tag", "git_commit"])]
    pub git_branch: Option<String>,
    /// A tag to follow instead of a branch.
    #[arg(long, conflicts_with = "git_commit")]
    pub git_tag: Option<String>,
    /// A pinned commit to apply instead of a branch.
    #[arg(long)]
    pub git_commit: Option<String>,
    /// The directory inside the repository that holds the YAML.
    #[arg(long, env = env::GIT_PATH)]
    pub git_path: Option<PathBuf>,
    /// Where the clone lives [default: <temp dir>/infisical-gitops/checkout].
    #[arg(long, env = env::WORK_DIR)]
    pub work_dir: Option<PathBuf>,
    /// Git credentials and host keys.
    #[command(flatten)]
    pub git_auth: GitAuthArgs,
    /// Only apply revisions whose head commit is signed by a key in --allowed-signers (SSH,
    /// namespace `git`) or --allowed-pgp-keys (OpenPGP); others are reported and not applied.
    #[arg(long, requires = "trusted_keys", requires = "git_url")]
    pub verify_commits: bool,
    /// OpenSSH allowed-signers file (`principal[,…] [namespaces="git"] key-type key`) for
    /// --verify-commits.
    #[arg(
        long,
        env = env::ALLOWED_SIGNERS,
        value_name = "FILE",
        requires = "verify_commits",
        group = "trusted_keys"
    )]
    pub allowed_signers: Option<PathBuf>,
    /// Armored OpenPGP public keys (`gpg --export --armor KEYID …`) for --verify-commits.
    #[arg(
        long,
        env = env::ALLOWED_PGP_KEYS,
        value_name = "FILE",
        requires = "verify_commits",
        group = "trusted_keys"
    )]
    pub allowed_pgp_keys: Option<PathBuf>,
    /// Fetch full history instead of the tip only.
    #[arg(long)]
    pub full_clone: bool,
    /// Address of the HTTP listener (health, readiness, metrics, status, webhooks).
    #[arg(long, env = env::LISTEN, default_value = "127.0.0.1:8080")]
    pub listen: SocketAddr,
    /// How often the source is polled for a new revision (plus up to 10% jitter).
    #[arg(long, default_value = "1m", value_parser = humantime::parse_duration)]
    pub interval: Duration,
    /// How often Infisical is checked for drift even without a new revision.
    #[arg(long, default_value = "10m", value_parser = humantime::parse_duration)]
    pub drift_interval: Duration,
    /// How long a reconcile in progress may finish after SIGTERM.
    #[arg(long, default_value = "30s", value_parser = humantime::parse_duration)]
    pub shutdown_grace: Duration,
    /// Reconcile once and exit (0 success, 1 anything else); no listener.
    #[arg(long)]
    pub once: bool,
    /// A file holding the GitLab webhook token (or set the environment variable).
    #[arg(long, value_name = "FILE")]
    pub gitlab_token_file: Option<PathBuf>,
    /// A file holding the GitHub webhook secret (or set the environment variable).
    #[arg(long, value_name = "FILE")]
    pub github_secret_file: Option<PathBuf>,
    /// Plan merge/pull requests from forks too (with --forge and its token). Off by default:
    /// a fork's request gets a "not planned" comment and a failed status instead.
    #[arg(long)]
    pub allow_fork_plans: bool,
    /// Request plans at once (1–16); a newer push to a request supersedes its older plan.
    #[arg(long, default_value_t = 2, value_parser = clap::value_parser!(u16).range(1..=16))]
    pub max_concurrent_plans: u16,
    /// Reconcile only while holding a Kubernetes Lease (for more than one replica).
    #[arg(long)]
    pub leader_elect: bool,
    /// The Lease's name.
    #[arg(long, default_value = "infisical-gitops")]
    pub lease_name: String,
    /// The Lease's namespace [default: the pod's namespace].
    #[arg(long, env = env::POD_NAMESPACE)]
    pub lease_namespace: Option<String>,
    /// This replica's identity in the Lease [default: the pod name or host name].
    #[arg(long, env = env::POD_NAME)]
    pub lease_identity: Option<String>,
    /// Also serve the MCP tools (read the repository, plan, propose changes as merge requests)
    /// at `/mcp` on the listener; needs --mcp-token-file or INFISICAL_GITOPS_MCP_TOKEN.
    #[arg(long, conflicts_with = "once")]
    pub mcp: bool,
    /// The MCP endpoint and proposals (with --mcp); the forge also gives notifications their
    /// commit links.
    #[command(flatten)]
    pub mcp_options: super::mcp::McpOptions,
    /// Notifications.
    #[command(flatten)]
    pub notify: super::notify::NotifyArgs,
    /// Connection.
    #[command(flatten)]
    pub connection: ConnectionArgs,
}

impl RunCommand {
    #[expect(clippy::type_complexity)]
    fn source(&self) -> miette::Result<(Arc<dyn Source>, Option<PathBuf>, Option<GitConfig>)> {
        let Some(url) = &self.git_url else {
            let path = self.path.clone().unwrap_or_else(|| PathBuf::from("."));
            return Ok((Arc::new(LocalDirectory(path.clone())), Some(path), None));
        };
        let reference = match (&self.git_tag, &self.git_commit) {
            (Some(tag), _) => GitReference::Tag(tag.clone()),
            (_, Some(commit)) => GitReference::Commit(commit.clone()),
            _ => GitReference::Branch(self.git_branch.clone().unwrap_or_else(|| "main".into())),
        };
        let auth = self.git_auth.auth()?;
        let work_dir = self.work_dir.clone().unwrap_or_else(|| {
            std::env::temp_dir()
                .join("infisical-gitops")
                .join("checkout")
        });
        let config = GitConfig {
            url: url.clone(),
            reference,
            sub_path: self.git_path.clone().unwrap_or_default(),
            work_dir,
            auth,
            known_hosts: self.git_auth.known_hosts.clone(),
            shallow: !self.full_clone,
        };
        let mut source = GitSource::new(config.clone());
        if self.verify_commits {
            if let Some(path) = &self.allowed_signers {
                let signers = AllowedSigners::from_file(path)
                    .into_diagnostic()
                    .wrap_err("--allowed-signers")?;
                tracing::info!(
                    file = %path.display(),
                    keys = signers.signers().len(),
                    "verify-commits: trusting SSH signers"
                );
                source = source.with_allowed_signers(signers);
            }
            if let Some(path) = &self.allowed_pgp_keys {
                let keys = AllowedPgpKeys::from_file(path)
                    .into_diagnostic()
                    .wrap_err("--allowed-pgp-keys")?;
                tracing::info!(
                    file = %path.display(),
                    fingerprints = %keys.fingerprints().join(","),
                    "verify-commits: trusting OpenPGP keys"
                );
                source = source.with_allowed_pgp_keys(keys);
            }
        }
        Ok((Arc::new(GitRemote(Arc::new(source))), None, Some(config)))
    }

    /// The Lease to hold with `--leader-elect`.
    fn leader_election(&self) -> Option<LeaseConfig> {
        self.leader_elect.then(|| {
            LeaseConfig::new(
                self.lease_name.clone(),
                self.lease_namespace
                    .clone()
                    .unwrap_or_else(|| "default".into()),
                self.lease_identity
                    .clone()
                    .unwrap_or_else(|| format!("infisical-gitops-{}", std::process::id())),
            )
        })
    }

    fn daemon_config(&self) -> DaemonConfig {
        DaemonConfig {
            interval: self.interval,
            drift_interval: self.drift_interval,
            shutdown_grace: self.shutdown_grace,
            backoff: Backoff::default(),
            seed: u64::from(std::process::id()) ^ 0x9e37_79b9_7f4a_7c15,
            ..DaemonConfig::default()
        }
    }
}

/// Runs `run`.
pub(crate) async fn run(args: RunCommand, _context: &Context) -> miette::Result<ExitCode> {
    let (source, watched, git) = args.source()?;
    // Checked before anything starts: an unusable webhook secret is a configuration error.
    let webhook_secrets = if args.once {
        WebhookSecrets::default()
    } else {
        webhook_secrets(&args)?
    };
    let mcp_security = if args.mcp {
        Some(args.mcp_options.security()?)
    } else {
        None
    };
    // Checked before anything starts, like the webhook secrets.
    let notify_targets = args.notify.targets()?;
    let metrics = Arc::new(AdapterMetrics::default());
    let session = args
        .connection
        .open_observed(Observers {
            requests: Some(metrics.clone()),
            lookups: Some(metrics.clone()),
        })
        .await?;
    let reconciler = Reconciler::new(session.api.clone(), session.resolver.clone())
        .with_generated_store(session.generated_store.clone())
        .with_options(ReconcileOptions {
            force_deletions: args.connection.force_deletions,
            ..ReconcileOptions::default()
        });
    let mcp = match mcp_security {
        Some(security) => Some(mcp_routes(
            &args,
            &reconciler,
            watched.clone(),
            git.as_ref(),
            security,
        )?),
        None => None,
    };
    let notifier = args.notify.notifier(notify_targets, &args.mcp_options)?;
    let review = if args.once {
        None
    } else {
        apply_review(&args.mcp_options)?
    };
    let request_plans = review
        .as_ref()
        .and_then(|_| request_plans_config(&args, git.as_ref()));
    let config = ServeConfig {
        reconciler,
        source,
        daemon: args.daemon_config(),
        metrics,
        notifier,
        review,
        request_plans,
        listen: args.listen,
        webhook_secrets,
        watched,
        leader_election: args.leader_election(),
        mcp,
    };
    if args.once {
        let result = crate::daemon::once(config, print_record).await;
        session.close().await;
        return Ok(ExitCode::from(match result {
            RunResult::Success | RunResult::Unchanged => EXIT_OK,
            RunResult::Invalid | RunResult::Failed => EXIT_ERROR,
        }));
    }
    let (shutdown_tx, shutdown) = watch::channel(false);
    tokio::spawn(signals(shutdown_tx));
    let served = crate::daemon::serve(config, shutdown).await;
    if served.is_ok() {
        session.close().await;
    }
    served.into_diagnostic()?;
    Ok(ExitCode::from(EXIT_OK))
}

/// The MCP endpoint served next to the daemon (`--mcp`).
fn mcp_routes(
    args: &RunCommand,
    reconciler: &Reconciler,
    watched: Option<PathBuf>,
    git: Option<&GitConfig>,
    security: crate::mcp::http::HttpSecurity,
) -> miette::Result<McpRoutes> {
    // The MCP server keeps its own clones next to the daemon's, never inside it.
    let git = git.cloned().map(|mut config| {
        let name = config
            .work_dir
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_else(|| "checkout".into());
        config.work_dir = config.work_dir.with_file_name(format!("{name}-mcp"));
        config
    });
    let mcp_source = super::mcp::source_of(watched, git.as_ref());
    let state = super::mcp::state(
        &args.mcp_options,
        mcp_source,
        git.as_ref(),
        Ok(reconciler.clone()),
    )?;
    let (router, handle) = crate::mcp::http::router(state, security);
    Ok(McpRoutes {
        router,
        on_shutdown: Box::new(move || handle.shutdown()),
    })
}

/// The `--once` summary: the record's line on standard output, its errors on standard error.
fn print_record(record: Option<ReconcileRecord>) {
    let Some(record) = record else {
        return;
    };
    let unresolved = if record.unresolved > 0 {
        format!(
            "; {}",
            crate::plan::not_resolved_headline(record.unresolved)
        )
    } else {
        String::new()
    };
    println!(
        "{} {}: {}, {} created, {} updated, {} deleted, {} drift detected{unresolved}",
        record.trigger.as_str(),
        record.revision.as_deref().unwrap_or("-"),
        record.outcome.as_str(),
        record.changes.create,
        record.changes.update,
        record.changes.delete,
        record.detected
    );
    for error in &record.errors {
        eprintln!("error: {error}");
    }
}

/// The review client that sets apply statuses: `--forge` with `--forge-project` and a token
/// (`--forge-token-file` or the environment); `None` without a token, so `--forge` alone
/// still only links commits in notifications.
fn apply_review(
    options: &super::mcp::McpOptions,
) -> miette::Result<Option<Arc<dyn crate::propose::review::Review>>> {
    let Some(kind) = options.forge else {
        return Ok(None);
    };
    if secret(options.forge_token_file.as_ref(), env::FORGE_TOKEN)?.is_none() {
        return Ok(None);
    }
    let config = super::mcp::forge_config(
        kind,
        options.forge_url.as_deref(),
        options.forge_project.as_deref(),
        options.forge_token_file.as_ref(),
        "--forge",
    )?;
    crate::propose::review::from_config(&config)
        .map(Some)
        .into_diagnostic()
        .wrap_err("--forge")
}

/// The request plans' settings: a Git remote that follows a branch, with `--forge` (whose
/// token `apply_review` found); `None` otherwise.
fn request_plans_config(
    args: &RunCommand,
    git: Option<&GitConfig>,
) -> Option<crate::daemon::requests::RequestPlansConfig> {
    let kind = args.mcp_options.forge?;
    let git = git?;
    let GitReference::Branch(branch) = &git.reference else {
        tracing::warn!("request plans are off: they need a tracked branch, not a tag or commit");
        return None;
    };
    let mut git = git.clone();
    let name = git
        .work_dir
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_else(|| "checkout".into());
    git.work_dir = git.work_dir.with_file_name(format!("{name}-requests"));
    Some(crate::daemon::requests::RequestPlansConfig {
        forge: match kind {
            super::mcp::ForgeChoice::Gitlab => crate::propose::ForgeKind::GitLab,
            super::mcp::ForgeChoice::Github => crate::propose::ForgeKind::GitHub,
        },
        tracked_branch: branch.clone(),
        git,
        allow_forks: args.allow_fork_plans,
        max_concurrent: usize::from(args.max_concurrent_plans),
    })
}

/// Reads the webhook secrets and refuses empty, blank or short ones.
fn webhook_secrets(args: &RunCommand) -> miette::Result<WebhookSecrets> {
    let read = |provider: &'static str,
                flag: &str,
                file: Option<&PathBuf>,
                variable: &str|
     -> miette::Result<Option<secrecy::SecretString>> {
        let Some(value) = secret(file, variable)? else {
            return Ok(None);
        };
        let origin = match file {
            Some(path) => format!("{flag} {}", path.display()),
            None => variable.to_string(),
        };
        check_webhook_secret(provider, &origin, &value).into_diagnostic()?;
        Ok(Some(value))
    };
    Ok(WebhookSecrets {
        gitlab_token: read(
            "GitLab",
            "--gitlab-token-file",
            args.gitlab_token_file.as_ref(),
            env::GITLAB_WEBHOOK_TOKEN,
        )?,
        github_secret: read(
            "GitHub",
            "--github-secret-file",
            args.github_secret_file.as_ref(),
            env::GITHUB_WEBHOOK_SECRET,
        )?,
    })
}

async fn signals(shutdown: watch::Sender<bool>) {
    #[cfg(unix)]
    {
        use tokio::signal::unix::{SignalKind, signal};
        let Ok(mut term) = signal(SignalKind::terminate()) else {
            return;
        };
        tokio::select! {
            _ = term.recv() => {}
            _ = tokio::signal::ctrl_c() => {}
        }
    }
    #[cfg(not(unix))]
    let _ = tokio::signal::ctrl_c().await;
    tracing::info!("shutdown requested: finishing the reconcile in progress");
    let _ = shutdown.send(true);
}
