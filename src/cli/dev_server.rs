//! `infisical-gitops dev-server`: a local Infisical-compatible server (see `docs/dev-server.md`).
//!
//! Prints `listening on <URL>` as its first stdout line once it accepts connections, then how to
//! connect; stops cleanly on Ctrl-C or SIGTERM.

use std::io::Write;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Duration;

use miette::{Context as _, IntoDiagnostic};

use super::{Context, EXIT_OK, env};
use crate::dev::{DevServer, DevServerConfig, Faults};

/// Arguments of `dev-server`.
#[derive(Debug, clap::Args)]
#[command(
    after_help = "Every switch marked \"for tests\" makes the server misbehave on purpose; \
                        \"every N\" counts API requests from 1 and is deterministic."
)]
pub struct DevServerCommand {
    /// Address to listen on; port 0 picks a free port.
    #[arg(long, default_value = "127.0.0.1:8080", env = env::DEV_SERVER_LISTEN)]
    pub listen: SocketAddr,
    /// Client id of the machine identity (universal auth) the server accepts.
    #[arg(long, default_value = "dev-client-id", env = env::DEV_SERVER_CLIENT_ID)]
    pub client_id: String,
    /// Client secret of that identity. Printed in the connection hints unless it came from the
    /// environment.
    #[arg(long, default_value = "dev-client-secret", env = env::DEV_SERVER_CLIENT_SECRET, hide_default_value = true, hide_env_values = true)]
    pub client_secret: String,
    /// Name of the organization the server bootstraps.
    #[arg(long, default_value = "dev-org")]
    pub organization: String,
    /// Persist to this JSON file (loaded on start, rewritten atomically after every write).
    /// It holds secret values in clear; it is created with mode 0600. Without it, state is
    /// in memory only.
    #[arg(long, env = env::DEV_SERVER_STATE)]
    pub state: Option<PathBuf>,
    /// Access token lifetime (`expiresIn`), e.g. `1h`, `30s`.
    #[arg(long, default_value = "24h", value_parser = humantime::parse_duration)]
    pub token_ttl: Duration,
    /// Longest life of a token through renewals (`accessTokenMaxTTL`).
    #[arg(long, default_value = "30days", value_parser = humantime::parse_duration)]
    pub token_max_ttl: Duration,
    /// For tests: delay added before every API request, e.g. `5ms`.
    #[arg(long, default_value = "0s", value_parser = humantime::parse_duration)]
    pub latency: Duration,
    /// For tests: answer every N-th API request with 429 and `Retry-After`.
    #[arg(long, value_name = "N", value_parser = clap::value_parser!(u64).range(1..))]
    pub rate_limit_every: Option<u64>,
    /// For tests: the `Retry-After` of those 429s, in seconds.
    #[arg(long, value_name = "S", default_value_t = 1)]
    pub retry_after: u64,
    /// For tests: answer every N-th API request with 500 "Something went wrong".
    #[arg(long, value_name = "N", value_parser = clap::value_parser!(u64).range(1..))]
    pub server_error_every: Option<u64>,
    /// For tests: close the connection without an answer on every N-th API request.
    #[arg(long, value_name = "N", value_parser = clap::value_parser!(u64).range(1..))]
    pub drop_connection_every: Option<u64>,
}

/// Runs the server until Ctrl-C or SIGTERM.
pub(crate) async fn run(args: DevServerCommand, _context: &Context) -> miette::Result<ExitCode> {
    let secret_from_env =
        std::env::var(env::DEV_SERVER_CLIENT_SECRET).is_ok_and(|value| value == args.client_secret);
    let config = DevServerConfig {
        listen: args.listen,
        client_id: args.client_id.clone(),
        client_secret: args.client_secret.clone(),
        organization: args.organization.clone(),
        state_file: args.state.clone(),
        token_ttl: args.token_ttl,
        token_max_ttl: args.token_max_ttl,
        faults: Faults {
            latency: args.latency,
            rate_limit_every: args.rate_limit_every,
            retry_after_secs: args.retry_after,
            server_error_every: args.server_error_every,
            drop_connection_every: args.drop_connection_every,
        },
    };
    let server = DevServer::start(config)
        .await
        .into_diagnostic()
        .wrap_err("cannot start the dev server")?;
    let url = server.url();
    let secret_hint = if secret_from_env {
        format!("\"${}\"", env::DEV_SERVER_CLIENT_SECRET)
    } else {
        shell_quote(&args.client_secret)
    };
    let state = match &args.state {
        Some(path) => format!("persisted to {}", path.display()),
        None => "in memory only".to_owned(),
    };
    let mut out = std::io::stdout().lock();
    let banner = format!(
        "listening on {url}\n\
         organization {org}, one machine identity (universal auth, client id {id}), state {state}\n\
         connect with:\n  \
         export {api}={url}\n  \
         export {cid}={id_quoted}\n  \
         export {csecret}={secret_hint}\n\
         request counts: GET {url}/__dev/requests\n\
         stop with Ctrl-C\n",
        org = args.organization,
        id = args.client_id,
        id_quoted = shell_quote(&args.client_id),
        api = env::INFISICAL_API_URL,
        cid = env::INFISICAL_UNIVERSAL_AUTH_CLIENT_ID,
        csecret = env::INFISICAL_UNIVERSAL_AUTH_CLIENT_SECRET,
    );
    out.write_all(banner.as_bytes()).into_diagnostic()?;
    out.flush().into_diagnostic()?;
    drop(out);
    shutdown_signal().await;
    tracing::info!("dev server: shutting down");
    server.shutdown().await;
    Ok(ExitCode::from(EXIT_OK))
}

fn shell_quote(text: &str) -> String {
    if !text.is_empty()
        && text
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"-_.:/@".contains(&b))
    {
        text.to_owned()
    } else {
        format!("'{}'", text.replace('\'', "'\\''"))
    }
}

async fn shutdown_signal() {
    #[cfg(unix)]
    {
        use tokio::signal::unix::{SignalKind, signal};
        match signal(SignalKind::terminate()) {
            Ok(mut terminate) => {
                tokio::select! {
                    _ = tokio::signal::ctrl_c() => {}
                    _ = terminate.recv() => {}
                }
            }
            Err(_) => {
                let _ = tokio::signal::ctrl_c().await;
            }
        }
    }
    #[cfg(not(unix))]
    {
        let _ = tokio::signal::ctrl_c().await;
    }
}
