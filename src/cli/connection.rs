//! How `plan` and `apply` reach Infisical: flags and environment variables, or `--dev`, an
//! embedded in-process dev server.

use std::path::PathBuf;
use std::sync::Arc;

use miette::{IntoDiagnostic, WrapErr};

use super::env;
use crate::dev::{DevServer, DevServerConfig};
use crate::infisical::{ClientConfig, HttpClient, InfisicalApi, RequestObserver};
use crate::resolve::{LookupObserver, SecretResolver, SourceResolver};

/// Connection flags shared by `plan` and `apply`. Credentials come only from the environment
/// (`INFISICAL_UNIVERSAL_AUTH_CLIENT_ID` + `INFISICAL_UNIVERSAL_AUTH_CLIENT_SECRET`, or
/// `INFISICAL_TOKEN`), never from flags, so they do not show up in process listings.
#[derive(Debug, Clone, clap::Args)]
pub struct ConnectionArgs {
    /// Infisical instance URL, with or without `/api` [default: https://app.infisical.com].
    #[arg(long, env = env::INFISICAL_API_URL)]
    pub api_url: Option<String>,
    /// Extra CA certificates (PEM) to trust, for self-signed instances.
    #[arg(long, env = env::INFISICAL_CA_CERT)]
    pub ca_cert: Option<PathBuf>,
    /// Accept any server certificate (test instances only).
    #[arg(long)]
    pub insecure_skip_tls_verify: bool,
    /// Largest Infisical answer read, in bytes (a recursive listing of 10,000 secrets with
    /// 4 KB values is about 47 MiB); a larger answer fails the call.
    #[arg(
        long,
        env = env::INFISICAL_MAX_RESPONSE_BYTES,
        default_value_t = crate::infisical::client::DEFAULT_MAX_RESPONSE_BYTES,
        value_name = "BYTES"
    )]
    pub infisical_max_response_bytes: u64,
    /// Run against an embedded, in-process Infisical-compatible dev server instead of a real
    /// Infisical. Bitwarden Password Manager references read the bundled sample export
    /// (obviously fake values) unless --bitwarden-export is given; Secrets Manager references
    /// get labelled placeholders unless BWS_ACCESS_TOKEN is set.
    #[arg(long, conflicts_with_all = ["api_url", "ca_cert", "insecure_skip_tls_verify"])]
    pub dev: bool,
    /// With `--dev`: keep the dev server's state in this JSON file between runs.
    #[arg(long, requires = "dev", value_name = "FILE")]
    pub dev_state: Option<PathBuf>,
    /// Allow deletions above `maxDeletions`, and deletions from an empty or partly unreadable
    /// source.
    #[arg(long)]
    pub force_deletions: bool,
    /// Bitwarden sources.
    #[command(flatten)]
    pub bitwarden: super::bitwarden::BitwardenArgs,
}

/// Who hears about the adapters' work (none for the CLI; the daemon's metrics for `run`).
#[derive(Default, Clone)]
pub struct Observers {
    /// Every Infisical request.
    pub requests: Option<Arc<dyn RequestObserver>>,
    /// Every Bitwarden lookup.
    pub lookups: Option<Arc<dyn LookupObserver>>,
}

impl std::fmt::Debug for Observers {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Observers")
            .field("requests", &self.requests.is_some())
            .field("lookups", &self.lookups.is_some())
            .finish()
    }
}

/// An open connection: the API, the resolver, and the embedded server when `--dev`.
pub struct Session {
    /// Infisical.
    pub api: Arc<dyn InfisicalApi>,
    /// Values.
    pub resolver: Arc<dyn SecretResolver>,
    /// Backups of generated values (`backupTo: bitwarden`).
    pub generated_store: Option<Arc<dyn crate::resolve::GeneratedValueStore>>,
    /// The embedded dev server, kept alive for the session.
    pub dev: Option<DevServer>,
}

impl std::fmt::Debug for Session {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Session")
            .field("dev", &self.dev.is_some())
            .finish_non_exhaustive()
    }
}

impl Session {
    /// Stops the embedded server, if any (its state file is already written).
    pub async fn close(self) {
        if let Some(server) = self.dev {
            server.shutdown().await;
        }
    }
}

impl ConnectionArgs {
    /// Connects: the embedded dev server with `--dev`, else the configured Infisical.
    ///
    /// # Errors
    /// Missing credentials, a bad URL or CA file, or a dev server that cannot start.
    pub async fn open(&self) -> miette::Result<Session> {
        self.open_observed(Observers::default()).await
    }

    /// As [`ConnectionArgs::open`], telling `observers` about Infisical requests and Bitwarden
    /// lookups (the daemon's metrics).
    ///
    /// # Errors
    /// As [`ConnectionArgs::open`].
    pub async fn open_observed(&self, observers: Observers) -> miette::Result<Session> {
        if self.dev {
            let config = DevServerConfig {
                state_file: self.dev_state.clone(),
                ..DevServerConfig::default()
            };
            let (client_id, client_secret) =
                (config.client_id.clone(), config.client_secret.clone());
            let server = DevServer::start(config)
                .await
                .into_diagnostic()
                .wrap_err("cannot start the embedded dev server")?;
            let mut client_config = ClientConfig::new(
                server.url(),
                crate::infisical::Credentials::universal_auth(client_id, client_secret),
            );
            client_config.max_response_bytes = self.infisical_max_response_bytes;
            let client = HttpClient::with_observer(client_config, observers.requests)
                .into_diagnostic()
                .wrap_err("cannot configure the client for the dev server")?;
            tracing::info!(url = %server.url(), "embedded dev server started");
            let bitwarden = self
                .bitwarden
                .resolver(true)?
                .with_observer(observers.lookups);
            return Ok(Session {
                api: Arc::new(client),
                resolver: Arc::new(SourceResolver::new().with_bitwarden(Arc::new(bitwarden))),
                generated_store: self.bitwarden.generated_store(true)?,
                dev: Some(server),
            });
        }
        let api_url = self.api_url.clone();
        let mut config = ClientConfig::from_lookup(&env::INFISICAL_SETTINGS, |name| {
            if name == env::INFISICAL_API_URL && api_url.is_some() {
                return api_url.clone();
            }
            env::read(name)
        })
        .into_diagnostic()
        .wrap_err("cannot configure the Infisical client")?;
        config.ca_bundle = self.ca_cert.clone();
        config.insecure_skip_tls_verify = self.insecure_skip_tls_verify;
        config.max_response_bytes = self.infisical_max_response_bytes;
        let client = HttpClient::with_observer(config, observers.requests)
            .into_diagnostic()
            .wrap_err("cannot configure the Infisical client")?;
        let bitwarden = self
            .bitwarden
            .resolver(false)?
            .with_observer(observers.lookups);
        Ok(Session {
            api: Arc::new(client),
            resolver: Arc::new(SourceResolver::new().with_bitwarden(Arc::new(bitwarden))),
            generated_store: self.bitwarden.generated_store(false)?,
            dev: None,
        })
    }
}
