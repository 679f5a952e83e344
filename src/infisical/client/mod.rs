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

mod auth;
mod config;
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
    ENV_API_URL, ENV_CLIENT_ID, ENV_CLIENT_SECRET, ENV_TOKEN, RetryPolicy, api_root,
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

    // -----------------------------------------------------------------------------------------
    // The retry loop

    /// Sends `call` until it succeeds, fails for good, or (non-idempotent calls) its outcome is
    /// unknown.
    async fn execute(&self, call: &Call, budget: &mut Budget) -> Result<Raw, Failure> {
        let config = &self.inner.config;
        let mut fresh_login_tried = false;
        loop {
            let token = if call.authenticated {
                // boxed: logging in runs an (anonymous) call through this same loop
                Some(Box::pin(self.token()).await.map_err(Failure::Final)?)
            } else {
                None
            };
            budget.record_attempt();
            let sent = {
                let _permit = self.inner.permits.acquire().await.map_err(|_| {
                    Failure::Final(ApiError::Network {
                        context: call.context(None, "client is shutting down".into()),
                        source: "semaphore closed".into(),
                    })
                })?;
                let started = Instant::now();
                let sent = transport::send_once(
                    &self.inner.http,
                    &self.inner.root,
                    call,
                    token.as_ref().map(|t| &t.token),
                    config.request_timeout,
                    config.max_response_bytes,
                )
                .await;
                if let Some(observer) = &self.inner.observer {
                    observer.request(&RequestRecord {
                        method: observer::method_label(&call.method),
                        route: call.route.template(),
                        status: transport::request_status(&sent),
                        duration: started.elapsed(),
                    });
                }
                sent
            };
            let (error, requested_wait) = match sent {
                Ok(raw) if raw.status.is_success() => return Ok(raw),
                Ok(raw) => {
                    let error = transport::map_error(call, &raw, &config.retry);
                    if transport::is_token_rejection(call, &error) && !fresh_login_tried {
                        fresh_login_tried = true;
                        let generation = token.as_ref().map_or(0, |t| t.generation);
                        if self.reject_token(generation).await {
                            tracing::info!(
                                method = %call.method,
                                path = %call.route.display(),
                                "token rejected; logging in again"
                            );
                            continue;
                        }
                    }
                    match error {
                        ApiError::RateLimited { retry_after, .. } => {
                            let wait = retry_after;
                            (error, wait)
                        }
                        ApiError::Server { .. } => {
                            if call.safety == Safety::NonIdempotent {
                                return Err(Failure::Ambiguous(error));
                            }
                            if call.safety == Safety::Delete {
                                budget.mark_ambiguous();
                            }
                            (error, None)
                        }
                        _ => return Err(Failure::Final(error)),
                    }
                }
                Err(SendError::TooLarge { status, too_large }) => {
                    return Err(Failure::Final(transport::too_large_error(
                        call, status, too_large,
                    )));
                }
                Err(SendError::NotSent(source)) => (
                    ApiError::Network {
                        context: call.context(None, "request not sent".into()),
                        source: Box::new(source),
                    },
                    None,
                ),
                Err(SendError::Unknown(source)) => {
                    let error = ApiError::Network {
                        context: call.context(None, "no complete answer".into()),
                        source,
                    };
                    if call.safety == Safety::NonIdempotent {
                        return Err(Failure::Ambiguous(error));
                    }
                    if call.safety == Safety::Delete {
                        budget.mark_ambiguous();
                    }
                    (error, None)
                }
            };
            transport::wait_or_give_up(budget, requested_wait, error, call)
                .await
                .map_err(Failure::Final)?;
        }
    }

    /// [`HttpClient::execute`] with a fresh budget, for idempotent calls.
    async fn execute_plain(&self, call: &Call) -> Result<Raw, ApiError> {
        let mut budget = Budget::new(&self.inner.config.retry);
        match self.execute(call, &mut budget).await {
            Ok(raw) => Ok(raw),
            Err(Failure::Final(e) | Failure::Ambiguous(e)) => Err(e),
        }
    }

    /// Runs a create; when its outcome is unknown, `reread` says whether it happened
    /// (`Some(result)`) or not (`None`: the create is repeated, budget permitting).
    async fn execute_create<T, F, Fut>(
        &self,
        call: &Call,
        decode: impl Fn(&Raw) -> Result<T, ApiError>,
        reread: F,
    ) -> Result<T, ApiError>
    where
        F: Fn() -> Fut,
        Fut: Future<Output = Result<Option<T>, ApiError>>,
    {
        let mut budget = Budget::new(&self.inner.config.retry);
        loop {
            match self.execute(call, &mut budget).await {
                Ok(raw) => return decode(&raw),
                Err(Failure::Final(error)) => return Err(error),
                Err(Failure::Ambiguous(error)) => {
                    tracing::warn!(
                        method = %call.method,
                        path = %call.route.display(),
                        error = %error,
                        "outcome of a create is unknown; re-reading before any retry"
                    );
                    match reread().await {
                        Ok(Some(done)) => {
                            tracing::info!(path = %call.route.display(), "the create had happened");
                            return Ok(done);
                        }
                        Ok(None) => {
                            transport::wait_or_give_up(&budget, None, error, call).await?;
                        }
                        Err(reread_error) => {
                            tracing::warn!(error = %reread_error, "re-read failed");
                            let mut context = error.context().clone();
                            context.message = format!(
                                "{}; the re-read to check whether it happened failed: {}",
                                context.message,
                                reread_error.context()
                            );
                            return Err(ApiError::OutcomeUnknown(context));
                        }
                    }
                }
            }
        }
    }

    /// Runs a delete; a 404 after an attempt with unknown outcome counts as done.
    async fn execute_delete(&self, call: &Call) -> Result<Option<Raw>, ApiError> {
        let mut budget = Budget::new(&self.inner.config.retry);
        match self.execute(call, &mut budget).await {
            Ok(raw) => Ok(Some(raw)),
            Err(Failure::Final(ApiError::NotFound(_))) if budget.was_ambiguous() => Ok(None),
            Err(Failure::Final(e) | Failure::Ambiguous(e)) => Err(e),
        }
    }

    async fn get<T: serde::de::DeserializeOwned>(&self, call: Call) -> Result<T, ApiError> {
        let raw = self.execute_plain(&call).await?;
        call.decode(&raw)
    }

    /// A read where 404 means "absent".
    async fn get_optional<T: serde::de::DeserializeOwned>(
        &self,
        call: Call,
    ) -> Result<Option<T>, ApiError> {
        match self.execute_plain(&call).await {
            Ok(raw) => call.decode(&raw).map(Some),
            Err(ApiError::NotFound(_)) => Ok(None),
            Err(e) => Err(e),
        }
    }

    // -----------------------------------------------------------------------------------------
    // Re-reads

    async fn find_environment(
        &self,
        project_id: &str,
        slug: &str,
    ) -> Result<Option<RemoteEnvironment>, ApiError> {
        let call = Call::new(
            Method::GET,
            Route::new(
                "/api/v1/projects/{projectId}/environments/slug/{slug}",
                &[project_id, slug],
            ),
            Safety::Idempotent,
        );
        Ok(self
            .get_optional::<wire::EnvironmentEnvelope>(call)
            .await?
            .map(|e| e.environment.into()))
    }

    async fn find_folder(&self, request: &CreateFolder) -> Result<Option<RemoteFolder>, ApiError> {
        let listed = match self
            .list_folders(
                &request.project_id,
                &request.environment,
                &request.parent_path,
                false,
            )
            .await
        {
            Ok(folders) => folders,
            // the parent does not exist: neither does the folder
            Err(ApiError::NotFound(_)) => return Ok(None),
            Err(e) => return Err(e),
        };
        Ok(listed.into_iter().find(|f| f.name == request.name))
    }

    async fn find_tag(&self, project_id: &str, slug: &str) -> Result<Option<RemoteTag>, ApiError> {
        Ok(self
            .list_tags(project_id)
            .await?
            .into_iter()
            .find(|t| t.slug == slug))
    }

    /// After a batch create with unknown outcome: `Some` when every key exists with the value
    /// sent (it happened), `None` otherwise (repeat it: the server answers "already exists"
    /// for keys someone else created).
    async fn find_created_secrets(
        &self,
        scope: &SecretScope,
        secrets: &[SecretWrite],
    ) -> Result<Option<WriteOutcome>, ApiError> {
        let live = match self
            .list_secrets(&scope.project_id, &scope.environment, &scope.path, false)
            .await
        {
            Ok(live) => live,
            Err(ApiError::NotFound(_)) => return Ok(None),
            Err(e) => return Err(e),
        };
        let mut found = Vec::with_capacity(secrets.len());
        for write in secrets {
            let Some(secret) = live.iter().find(|s| s.key == write.key) else {
                return Ok(None);
            };
            let same_value = match (&write.value, &secret.value) {
                (Some(ours), Some(theirs)) => ours.matches(theirs),
                (None, _) => true,
                (Some(_), None) => false,
            };
            if !same_value {
                return Ok(None);
            }
            found.push(secret.clone());
        }
        Ok(Some(WriteOutcome::Applied(found)))
    }

    /// After a batch delete with unknown outcome: `Some` when none of the keys exists any more.
    async fn find_deleted_secrets(
        &self,
        scope: &SecretScope,
        secrets: &[SecretDelete],
    ) -> Result<Option<WriteOutcome>, ApiError> {
        let live = self
            .list_secrets(&scope.project_id, &scope.environment, &scope.path, false)
            .await?;
        let any_left = secrets.iter().any(|d| live.iter().any(|s| s.key == d.key));
        Ok((!any_left).then(|| WriteOutcome::Applied(Vec::new())))
    }
}

/// A write answer: the secrets written, or a pending approval (nothing written).
fn write_outcome(call: &Call, raw: &Raw, path: &str) -> Result<WriteOutcome, ApiError> {
    let answer: wire::WriteEnvelope = call.decode(raw)?;
    if let Some(approval) = answer.approval {
        tracing::warn!(
            path = %call.route.display(),
            secret_path = path,
            "the folder is under a change-approval policy: an approval request was opened, nothing was written"
        );
        return Ok(WriteOutcome::PendingApproval {
            approval_id: approval.id,
        });
    }
    let secrets = match (answer.secrets, answer.secret) {
        (Some(secrets), _) => secrets,
        (None, Some(secret)) => vec![secret],
        (None, None) => {
            return Err(ApiError::Decode(call.context(
                None,
                "answer carries neither secrets nor an approval".into(),
            )));
        }
    };
    Ok(WriteOutcome::Applied(
        secrets.into_iter().map(|s| s.into_remote(path)).collect(),
    ))
}

/// The request of a v4 batch create (`POST`) or update (`PATCH`) for one folder, with every
/// value registered for redaction; also returns the normalised folder path.
fn batch_write_call(
    method: Method,
    safety: Safety,
    mode: Option<&'static str>,
    scope: &SecretScope,
    secrets: &[SecretWrite],
) -> Result<(Call, String), ApiError> {
    let path = wire::normalize_path(&scope.path);
    let call = Call::new(method, Route::new("/api/v4/secrets/batch", &[]), safety)
        .redacting(values_of(secrets))
        .json(&wire::BatchWriteRequest {
            project_id: &scope.project_id,
            environment: &scope.environment,
            secret_path: &path,
            mode,
            secrets: secrets
                .iter()
                .map(wire::SecretItemRequest::from_write)
                .collect(),
        })?;
    Ok((call, path))
}

fn values_of(secrets: &[SecretWrite]) -> Vec<SecretValue> {
    secrets.iter().filter_map(|s| s.value.clone()).collect()
}

/// A project answer that may be bare (`GET …/slug/{slug}`) or wrapped (`{ "project": … }`).
#[derive(serde::Deserialize)]
#[serde(untagged)]
enum ProjectAnswer {
    Wrapped(wire::ProjectEnvelope),
    Bare(wire::ProjectWire),
}

impl From<ProjectAnswer> for RemoteProject {
    fn from(answer: ProjectAnswer) -> Self {
        match answer {
            ProjectAnswer::Wrapped(w) => w.project.into(),
            ProjectAnswer::Bare(p) => p.into(),
        }
    }
}

fn bool_str(value: bool) -> &'static str {
    if value { "true" } else { "false" }
}

#[async_trait]
impl InfisicalApi for HttpClient {
    async fn list_projects(&self) -> Result<Vec<RemoteProject>, ApiError> {
        let call = Call::new(
            Method::GET,
            Route::new("/api/v1/projects", &[]),
            Safety::Idempotent,
        )
        .query("type", "secret-manager");
        let answer: wire::ProjectsEnvelope = self.get(call).await?;
        Ok(answer.projects.into_iter().map(Into::into).collect())
    }

    async fn get_project_by_slug(&self, slug: &str) -> Result<Option<RemoteProject>, ApiError> {
        let call = Call::new(
            Method::GET,
            Route::new("/api/v1/projects/slug/{slug}", &[slug]),
            Safety::Idempotent,
        );
        Ok(self
            .get_optional::<ProjectAnswer>(call)
            .await?
            .map(Into::into))
    }

    async fn get_project(&self, project_id: &str) -> Result<Option<RemoteProject>, ApiError> {
        let call = Call::new(
            Method::GET,
            Route::new("/api/v1/projects/{projectId}", &[project_id]),
            Safety::Idempotent,
        );
        Ok(self
            .get_optional::<ProjectAnswer>(call)
            .await?
            .map(Into::into))
    }

    async fn create_project(&self, request: &CreateProject) -> Result<RemoteProject, ApiError> {
        let call = Call::new(
            Method::POST,
            Route::new("/api/v1/projects", &[]),
            Safety::NonIdempotent,
        )
        .json(&wire::CreateProjectRequest {
            project_name: &request.name,
            slug: &request.slug,
            project_description: request.description.as_deref(),
            kind: "secret-manager",
            should_create_default_envs: request.create_default_environments,
        })?;
        self.execute_create(
            &call,
            |raw| call.decode::<ProjectAnswer>(raw).map(Into::into),
            || async {
                // the slug exists: ours only if it carries the name we sent
                Ok(self
                    .get_project_by_slug(&request.slug)
                    .await?
                    .filter(|p| p.name == request.name))
            },
        )
        .await
    }

    async fn update_project(
        &self,
        project_id: &str,
        request: &UpdateProject,
    ) -> Result<RemoteProject, ApiError> {
        let call = Call::new(
            Method::PATCH,
            Route::new("/api/v1/projects/{projectId}", &[project_id]),
            Safety::Idempotent,
        )
        .json(&wire::UpdateProjectRequest {
            name: request.name.as_deref(),
            description: request.description.as_deref(),
        })?;
        let updated: RemoteProject = self.get::<ProjectAnswer>(call).await?.into();
        if !updated.environments.is_empty() {
            return Ok(updated);
        }
        // The update answer carries no environments: read the project once more.
        Ok(self.get_project(project_id).await?.unwrap_or(updated))
    }

    async fn delete_project(&self, project_id: &str) -> Result<(), ApiError> {
        // No body and no content type: an empty JSON body makes the server answer 500.
        let call = Call::new(
            Method::DELETE,
            Route::new("/api/v1/projects/{projectId}", &[project_id]),
            Safety::Delete,
        );
        self.execute_delete(&call).await.map(|_| ())
    }

    async fn create_environment(
        &self,
        project_id: &str,
        request: &CreateEnvironment,
    ) -> Result<RemoteEnvironment, ApiError> {
        let call = Call::new(
            Method::POST,
            Route::new("/api/v1/projects/{projectId}/environments", &[project_id]),
            Safety::NonIdempotent,
        )
        .json(&wire::EnvironmentRequest {
            name: Some(&request.name),
            slug: Some(&request.slug),
            position: request.position,
        })?;
        self.execute_create(
            &call,
            |raw| {
                call.decode::<wire::EnvironmentEnvelope>(raw)
                    .map(|e| e.environment.into())
            },
            || async {
                Ok(self
                    .find_environment(project_id, &request.slug)
                    .await?
                    .filter(|e| e.name == request.name))
            },
        )
        .await
    }

    async fn update_environment(
        &self,
        project_id: &str,
        environment_id: &str,
        request: &UpdateEnvironment,
    ) -> Result<RemoteEnvironment, ApiError> {
        let call = Call::new(
            Method::PATCH,
            Route::new(
                "/api/v1/projects/{projectId}/environments/{environmentId}",
                &[project_id, environment_id],
            ),
            Safety::Idempotent,
        )
        .json(&wire::EnvironmentRequest {
            name: request.name.as_deref(),
            slug: None,
            position: request.position,
        })?;
        let answer: wire::EnvironmentEnvelope = self.get(call).await?;
        Ok(answer.environment.into())
    }

    async fn delete_environment(
        &self,
        project_id: &str,
        environment_id: &str,
    ) -> Result<(), ApiError> {
        let call = Call::new(
            Method::DELETE,
            Route::new(
                "/api/v1/projects/{projectId}/environments/{environmentId}",
                &[project_id, environment_id],
            ),
            Safety::Delete,
        );
        self.execute_delete(&call).await.map(|_| ())
    }

    async fn list_folders(
        &self,
        project_id: &str,
        environment: &str,
        path: &str,
        recursive: bool,
    ) -> Result<Vec<RemoteFolder>, ApiError> {
        let path = wire::normalize_path(path);
        let call = Call::new(
            Method::GET,
            Route::new("/api/v2/folders", &[]),
            Safety::Idempotent,
        )
        .query("projectId", project_id)
        .query("environment", environment)
        .query("path", path.clone())
        .query("recursive", bool_str(recursive));
        let raw = self.execute_plain(&call).await?;
        let answer: wire::FoldersEnvelope = call.decode(&raw)?;
        drop(raw);
        let tree = wire::folders_with_paths(&path, answer.folders)
            .map_err(|error| ApiError::Decode(call.context(None, error.to_string())))?;
        if tree.too_deep > 0 {
            tracing::warn!(
                too_deep = tree.too_deep,
                environment,
                limit = crate::model::names::MAX_FOLDER_DEPTH,
                "leaving alone folders deeper than the limit: they are not observed and never changed"
            );
        }
        Ok(tree.folders)
    }

    async fn create_folder(&self, request: &CreateFolder) -> Result<RemoteFolder, ApiError> {
        let parent = wire::normalize_path(&request.parent_path);
        let call = Call::new(
            Method::POST,
            Route::new("/api/v2/folders", &[]),
            Safety::NonIdempotent,
        )
        .json(&wire::FolderRequest {
            project_id: &request.project_id,
            environment: &request.environment,
            name: &request.name,
            path: &parent,
            description: request.description.as_deref(),
        })?;
        refuse_long_folder_description(&call, request.description.as_deref())?;
        self.execute_create(
            &call,
            |raw| {
                let folder = call.decode::<wire::FolderEnvelope>(raw)?.folder;
                Ok(RemoteFolder {
                    path: wire::join_path(&parent, &folder.name),
                    id: folder.id,
                    name: folder.name,
                    parent_id: folder.parent_id,
                    description: folder.description,
                })
            },
            || self.find_folder(request),
        )
        .await
    }

    async fn update_folder(&self, request: &UpdateFolder) -> Result<RemoteFolder, ApiError> {
        let parent = wire::normalize_path(&request.parent_path);
        let call = Call::new(
            Method::PATCH,
            Route::new("/api/v2/folders/{folderId}", &[&request.folder_id]),
            Safety::Idempotent,
        )
        .json(&wire::FolderRequest {
            project_id: &request.project_id,
            environment: &request.environment,
            name: &request.name,
            path: &parent,
            description: request.description.as_deref(),
        })?;
        refuse_long_folder_description(&call, request.description.as_deref())?;
        let folder = self.get::<wire::FolderEnvelope>(call).await?.folder;
        Ok(RemoteFolder {
            path: wire::join_path(&parent, &folder.name),
            id: folder.id,
            name: folder.name,
            parent_id: folder.parent_id,
            description: folder.description,
        })
    }

    async fn delete_folder(&self, request: &DeleteFolder) -> Result<(), ApiError> {
        let parent = wire::normalize_path(&request.parent_path);
        let call = Call::new(
            Method::DELETE,
            Route::new("/api/v2/folders/{folderIdOrName}", &[&request.folder]),
            Safety::Delete,
        )
        .json(&wire::DeleteFolderRequest {
            project_id: &request.project_id,
            environment: &request.environment,
            path: &parent,
            force_delete: request.force,
        })?;
        self.execute_delete(&call).await.map(|_| ())
    }

    async fn list_imports(&self, scope: &SecretScope) -> Result<Vec<RemoteImport>, ApiError> {
        let path = wire::normalize_path(&scope.path);
        let call = Call::new(
            Method::GET,
            Route::new("/api/v2/secret-imports", &[]),
            Safety::Idempotent,
        )
        .query("projectId", scope.project_id.clone())
        .query("environment", scope.environment.clone())
        .query("path", path);
        let answer: wire::SecretImportsEnvelope = self.get(call).await?;
        let mut imports: Vec<RemoteImport> = answer
            .secret_imports
            .into_iter()
            .map(wire::SecretImportWire::into_remote)
            .collect();
        imports.sort_by_key(|i| i.position);
        Ok(imports)
    }

    async fn create_import(
        &self,
        scope: &SecretScope,
        environment: &str,
        path: &str,
    ) -> Result<RemoteImport, ApiError> {
        let into = wire::normalize_path(&scope.path);
        let source = wire::normalize_path(path);
        let call = Call::new(
            Method::POST,
            Route::new("/api/v2/secret-imports", &[]),
            Safety::NonIdempotent,
        )
        .json(&wire::SecretImportRequest {
            project_id: &scope.project_id,
            environment: &scope.environment,
            path: &into,
            import: wire::ImportSourceRequest {
                environment: Some(environment),
                path: Some(&source),
                position: None,
            },
        })?;
        self.execute_create(
            &call,
            |raw| {
                Ok(call
                    .decode::<wire::SecretImportEnvelope>(raw)?
                    .secret_import
                    .into_remote())
            },
            || async {
                // The server accepts duplicates: only an import of that folder tells that the
                // create happened.
                match self.list_imports(scope).await {
                    Ok(listed) => Ok(listed
                        .into_iter()
                        .rev()
                        .find(|i| i.environment == environment && i.path == source)),
                    Err(ApiError::NotFound(_)) => Ok(None),
                    Err(e) => Err(e),
                }
            },
        )
        .await
    }

    async fn move_import(
        &self,
        scope: &SecretScope,
        import_id: &str,
        position: u32,
    ) -> Result<RemoteImport, ApiError> {
        let into = wire::normalize_path(&scope.path);
        let call = Call::new(
            Method::PATCH,
            Route::new("/api/v2/secret-imports/{id}", &[import_id]),
            Safety::Idempotent,
        )
        .json(&wire::SecretImportRequest {
            project_id: &scope.project_id,
            environment: &scope.environment,
            path: &into,
            import: wire::ImportSourceRequest {
                environment: None,
                path: None,
                position: Some(position),
            },
        })?;
        Ok(self
            .get::<wire::SecretImportEnvelope>(call)
            .await?
            .secret_import
            .into_remote())
    }

    async fn delete_import(&self, scope: &SecretScope, import_id: &str) -> Result<(), ApiError> {
        let into = wire::normalize_path(&scope.path);
        let call = Call::new(
            Method::DELETE,
            Route::new("/api/v2/secret-imports/{id}", &[import_id]),
            Safety::Delete,
        )
        .json(&wire::DeleteSecretImportRequest {
            project_id: &scope.project_id,
            environment: &scope.environment,
            path: &into,
        })?;
        self.execute_delete(&call).await.map(|_| ())
    }

    async fn list_secrets(
        &self,
        project_id: &str,
        environment: &str,
        path: &str,
        recursive: bool,
    ) -> Result<Vec<RemoteSecret>, ApiError> {
        let path = wire::normalize_path(path);
        let call = Call::new(
            Method::GET,
            Route::new("/api/v4/secrets", &[]),
            Safety::Idempotent,
        )
        .query("projectId", project_id)
        .query("environment", environment)
        .query("secretPath", path.clone())
        .query("recursive", bool_str(recursive))
        .query("expandSecretReferences", "false")
        .query("include_imports", "false")
        .query("viewSecretValue", "true");
        let answer: wire::SecretsEnvelope = self.get(call).await?;
        Ok(answer
            .secrets
            .into_iter()
            .filter(|s| !s.is_personal())
            .map(|s| s.into_remote(&path))
            .collect())
    }

    async fn get_secret(
        &self,
        scope: &SecretScope,
        key: &str,
    ) -> Result<Option<RemoteSecret>, ApiError> {
        let path = wire::normalize_path(&scope.path);
        let call = Call::new(
            Method::GET,
            Route::new("/api/v4/secrets/{secretName}", &[key]),
            Safety::Idempotent,
        )
        .query("projectId", scope.project_id.clone())
        .query("environment", scope.environment.clone())
        .query("secretPath", path.clone())
        .query("type", "shared")
        .query("expandSecretReferences", "false")
        .query("viewSecretValue", "true");
        Ok(self
            .get_optional::<wire::SecretEnvelope>(call)
            .await?
            .map(|e| e.secret.into_remote(&path)))
    }

    async fn create_secrets(
        &self,
        scope: &SecretScope,
        secrets: &[SecretWrite],
    ) -> Result<WriteOutcome, ApiError> {
        if secrets.is_empty() {
            return Ok(WriteOutcome::Applied(Vec::new()));
        }
        let (call, path) =
            batch_write_call(Method::POST, Safety::NonIdempotent, None, scope, secrets)?;
        self.execute_create(
            &call,
            |raw| write_outcome(&call, raw, &path),
            || self.find_created_secrets(scope, secrets),
        )
        .await
    }

    async fn update_secrets(
        &self,
        scope: &SecretScope,
        secrets: &[SecretWrite],
    ) -> Result<WriteOutcome, ApiError> {
        if secrets.is_empty() {
            return Ok(WriteOutcome::Applied(Vec::new()));
        }
        let (call, path) = batch_write_call(
            Method::PATCH,
            Safety::Idempotent,
            Some("failOnNotFound"),
            scope,
            secrets,
        )?;
        let raw = self.execute_plain(&call).await?;
        write_outcome(&call, &raw, &path)
    }

    async fn delete_secrets(
        &self,
        scope: &SecretScope,
        secrets: &[SecretDelete],
    ) -> Result<WriteOutcome, ApiError> {
        if secrets.is_empty() {
            return Ok(WriteOutcome::Applied(Vec::new()));
        }
        let path = wire::normalize_path(&scope.path);
        let call = Call::new(
            Method::DELETE,
            Route::new("/api/v4/secrets/batch", &[]),
            Safety::NonIdempotent,
        )
        .json(&wire::BatchDeleteRequest {
            project_id: &scope.project_id,
            environment: &scope.environment,
            secret_path: &path,
            secrets: secrets
                .iter()
                .map(|d| wire::DeleteItemRequest {
                    secret_key: &d.key,
                    kind: "shared",
                })
                .collect(),
        })?;
        self.execute_create(
            &call,
            |raw| write_outcome(&call, raw, &path),
            || self.find_deleted_secrets(scope, secrets),
        )
        .await
    }

    async fn list_tags(&self, project_id: &str) -> Result<Vec<RemoteTag>, ApiError> {
        let call = Call::new(
            Method::GET,
            Route::new("/api/v1/projects/{projectId}/tags", &[project_id]),
            Safety::Idempotent,
        );
        let answer: wire::TagsEnvelope = self.get(call).await?;
        Ok(answer.tags.into_iter().map(Into::into).collect())
    }

    async fn create_tag(&self, project_id: &str, slug: &str) -> Result<RemoteTag, ApiError> {
        let call = Call::new(
            Method::POST,
            Route::new("/api/v1/projects/{projectId}/tags", &[project_id]),
            Safety::NonIdempotent,
        )
        .json(&wire::CreateTagRequest {
            slug,
            color: TAG_COLOR,
        })?;
        self.execute_create(
            &call,
            |raw| call.decode::<wire::TagEnvelope>(raw).map(|t| t.tag.into()),
            || self.find_tag(project_id, slug),
        )
        .await
    }
}

/// Infisical keeps a folder description in a 255-character column and answers a longer one with
/// a bare 500 "Something went wrong" (reference §12), which looks transient but no retry fixes.
/// `validate` refuses such a description; this guard keeps any other caller from sending one
/// (and from retrying it): the call fails at once with a 422-like error, nothing is sent.
fn refuse_long_folder_description(call: &Call, description: Option<&str>) -> Result<(), ApiError> {
    let Some(description) = description else {
        return Ok(());
    };
    let length = crate::model::limits::infisical_length(description);
    let limit = crate::model::limits::FOLDER_DESCRIPTION;
    if length <= limit {
        return Ok(());
    }
    let issue = format!(
        "description: must be at most {limit} characters (it has {length}); not sent, Infisical answers 500 beyond its {limit}-character column"
    );
    Err(ApiError::Validation {
        context: call.context(None, issue.clone()),
        issues: vec![issue],
    })
}
