//! [`HttpClient`]: the [`InfisicalApi`] port over HTTPS (reqwest + rustls).
//!
//! Guarantees (see `docs/infisical-client.md`):
//! - every request has a timeout; at most `max_concurrent_requests` are in flight;
//! - 429 (honouring `Retry-After`), 5xx and connection failures are retried with exponential
//!   backoff and jitter, bounded in attempts and total time;
//! - a create whose outcome is unknown (timeout, dropped connection, 5xx) is never repeated
//!   blindly: the client re-reads to find out whether it happened, and answers
//!   [`ApiError::OutcomeUnknown`] when the re-read fails;
//! - a rejected token (403 `TokenError`, 401) leads to one fresh login and one retry;
//! - tokens, credentials and secret values never appear in logs, errors or `Debug` output.

mod api_impl;
mod auth;
mod calls;
mod config;
mod lookups;
mod observer;
mod retry;
mod transport;

use std::sync::{Arc, Once};

use async_trait::async_trait;
use reqwest::Method;
use secrecy::ExposeSecret;
use tokio::sync::Semaphore;
use tokio::time::Instant;

use crate::model::SecretValue;

use super::api::{
    CreateEnvironment, CreateFolder, CreateProject, DeleteFolder, InfisicalApi, RemoteEnvironment,
    RemoteFolder, RemoteImport, RemoteProject, RemoteSecret, RemoteTag, SecretDelete, SecretScope,
    SecretWrite, UpdateEnvironment, UpdateFolder, UpdateProject, WriteOutcome,
};
use super::error::{ApiError, ErrorContext};
use super::wire;

use auth::{CachedToken, TokenAction, TokenCache};
pub use config::{
    ClientConfig, ConfigError, Credentials, DEFAULT_API_URL, DEFAULT_MAX_RESPONSE_BYTES,
    RetryPolicy, SettingNames, api_root,
};
pub use observer::{RequestObserver, RequestRecord, RequestStatus};
use retry::Budget;
pub use retry::backoff;
use transport::{Call, Failure, Raw, Route, Safety, SendError};

/// The user agent sent with every request.
pub const USER_AGENT: &str = concat!("infisical-gitops/", env!("CARGO_PKG_VERSION"));

/// Color given to tags the client creates (Infisical's default tag color).
const TAG_COLOR: &str = "#bec2c8";

static CRYPTO_PROVIDER: Once = Once::new();

/// Installs rustls' ring provider as the process default, once.
fn install_crypto_provider() {
    CRYPTO_PROVIDER.call_once(|| {
        // Err means another provider is installed already: that one is used.
        let _ = rustls::crypto::ring::default_provider().install_default();
    });
}

/// The Infisical HTTP client. Cheap to clone; clones share the token, the connection pool and
/// the concurrency limit.
#[derive(Clone)]
pub struct HttpClient {
    inner: Arc<Inner>,
}

struct Inner {
    http: reqwest::Client,
    root: reqwest::Url,
    config: ClientConfig,
    permits: Semaphore,
    tokens: TokenCache,
    observer: Option<Arc<dyn RequestObserver>>,
}

impl std::fmt::Debug for HttpClient {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("HttpClient")
            .field("api_root", &self.inner.root.as_str())
            .field("credentials", &self.inner.config.credentials)
            .finish_non_exhaustive()
    }
}

impl HttpClient {
    /// Builds a client. Does not contact the server (the first call logs in).
    pub fn new(config: ClientConfig) -> Result<Self, ConfigError> {
        Self::with_observer(config, None)
    }

    /// Builds a client that tells `observer` about every request it sends (the daemon's
    /// metrics).
    pub fn with_observer(
        config: ClientConfig,
        observer: Option<Arc<dyn RequestObserver>>,
    ) -> Result<Self, ConfigError> {
        install_crypto_provider();
        let root = config.api_root()?;
        if config.credentials.is_empty() {
            return Err(ConfigError::EmptyCredentials);
        }
        if config.max_concurrent_requests == 0 {
            return Err(ConfigError::ZeroConcurrency);
        }
        if config.max_response_bytes == 0 {
            return Err(ConfigError::ZeroResponseLimit);
        }
        let mut builder = reqwest::Client::builder()
            .user_agent(USER_AGENT)
            .connect_timeout(config.connect_timeout)
            .redirect(reqwest::redirect::Policy::none())
            .pool_max_idle_per_host(config.max_concurrent_requests);
        if let Some(path) = &config.ca_bundle {
            let pem = std::fs::read(path).map_err(|e| ConfigError::CaBundle {
                path: path.clone(),
                source: Box::new(e),
            })?;
            let certs =
                reqwest::Certificate::from_pem_bundle(&pem).map_err(|e| ConfigError::CaBundle {
                    path: path.clone(),
                    source: Box::new(e),
                })?;
            if certs.is_empty() {
                return Err(ConfigError::CaBundle {
                    path: path.clone(),
                    source: "no PEM certificate in the file".into(),
                });
            }
            tracing::warn!(
                ca_bundle = %path.display(),
                certificates = certs.len(),
                "trusting an extra CA bundle for the infisical api, in addition to the system roots"
            );
            builder = builder.tls_certs_merge(certs);
        }
        if config.insecure_skip_tls_verify {
            tracing::warn!(
                api = %root,
                "TLS CERTIFICATE VERIFICATION IS DISABLED for the infisical api \
                 (--insecure-skip-tls-verify): anyone on the network path can read and change \
                 secrets; use --ca-cert instead"
            );
            builder = builder.tls_danger_accept_invalid_certs(true);
        }
        for name in [
            "HTTPS_PROXY",
            "https_proxy",
            "HTTP_PROXY",
            "http_proxy",
            "ALL_PROXY",
            "all_proxy",
        ] {
            if std::env::var_os(name).is_some() {
                tracing::info!(
                    variable = name,
                    "using a proxy from the environment for the infisical api"
                );
            }
        }
        let http = builder.build().map_err(ConfigError::Http)?;
        Ok(HttpClient {
            inner: Arc::new(Inner {
                http,
                root,
                permits: Semaphore::new(config.max_concurrent_requests),
                config,
                tokens: TokenCache::default(),
                observer,
            }),
        })
    }

    /// The API root in use (`…/api`).
    pub fn api_root(&self) -> &reqwest::Url {
        &self.inner.root
    }

    /// Logs in now (instead of on the first call), to check the credentials early.
    pub async fn authenticate(&self) -> Result<(), ApiError> {
        self.token().await.map(|_| ())
    }

    // -----------------------------------------------------------------------------------------
    // Token

    async fn token(&self) -> Result<CachedToken, ApiError> {
        let mut state = self.inner.tokens.state.lock().await;
        if state.is_none()
            && let Credentials::AccessToken(token) = &self.inner.config.credentials
        {
            *state = Some(CachedToken {
                token: token.clone(),
                generation: 1,
                refresh_at: None,
                renewable_until: None,
            });
        }
        let fresh = match TokenCache::action(state.as_ref(), Instant::now()) {
            TokenAction::Use(token) => return Ok(token),
            TokenAction::Renew(current) => match self.renew(&current).await {
                Ok(renewed) => renewed,
                Err(error) => {
                    tracing::info!(error = %error, "token renewal failed; logging in again");
                    self.login(current.generation).await?
                }
            },
            TokenAction::Login => {
                let generation = state.as_ref().map_or(0, |t| t.generation);
                self.login(generation).await?
            }
        };
        *state = Some(fresh.clone());
        Ok(fresh)
    }

    /// Drops the token the server rejected. Returns whether a fresh one can be had.
    async fn reject_token(&self, generation: u64) -> bool {
        if matches!(self.inner.config.credentials, Credentials::AccessToken(_)) {
            return false;
        }
        let mut state = self.inner.tokens.state.lock().await;
        if state.as_ref().is_some_and(|t| t.generation == generation) {
            *state = None;
        }
        true
    }

    async fn login(&self, previous_generation: u64) -> Result<CachedToken, ApiError> {
        let Credentials::UniversalAuth {
            client_id,
            client_secret,
        } = &self.inner.config.credentials
        else {
            // a given access token cannot be replaced
            return Err(ApiError::Token(ErrorContext {
                method: "POST".into(),
                path: "/api/v1/auth/universal-auth/login".into(),
                request_id: None,
                message: "the access token was rejected and cannot be renewed".into(),
            }));
        };
        let call = Call::new(
            Method::POST,
            Route::new("/api/v1/auth/universal-auth/login", &[]),
            Safety::Idempotent,
        )
        .anonymous()
        .json(&wire::LoginRequest {
            client_id,
            client_secret: client_secret.expose_secret(),
        })?;
        let started = Instant::now();
        let raw = self.execute_plain(&call).await?;
        let answer: wire::TokenResponse = call.decode(&raw)?;
        tracing::debug!(expires_in = ?answer.expires_in, "logged in to infisical");
        Ok(self.cached(answer, previous_generation + 1, started, None))
    }

    async fn renew(&self, current: &CachedToken) -> Result<CachedToken, ApiError> {
        let call = Call::new(
            Method::POST,
            Route::new("/api/v1/auth/token/renew", &[]),
            Safety::Idempotent,
        )
        .anonymous()
        .json(&wire::RenewRequest {
            access_token: current.token.expose_secret(),
        })?;
        let started = Instant::now();
        let raw = self.execute_plain(&call).await?;
        let answer: wire::TokenResponse = call.decode(&raw)?;
        tracing::debug!(expires_in = ?answer.expires_in, "renewed the infisical token");
        Ok(self.cached(
            answer,
            current.generation + 1,
            started,
            current.renewable_until,
        ))
    }

    fn cached(
        &self,
        answer: wire::TokenResponse,
        generation: u64,
        started: Instant,
        renewable_until: Option<Instant>,
    ) -> CachedToken {
        let margin = self.inner.config.token_refresh_margin;
        CachedToken {
            token: answer.access_token,
            generation,
            refresh_at: answer
                .expires_in
                .filter(|s| *s > 0)
                .map(|s| auth::refresh_at(started, s, margin)),
            renewable_until: renewable_until.or_else(|| {
                auth::renewable_until(
                    started,
                    answer.access_token_max_ttl.filter(|s| *s > 0),
                    margin,
                )
            }),
        }
    }
}
