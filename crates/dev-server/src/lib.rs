//! The local Infisical-compatible server: in-memory, faithful to the reference API down to status
//! codes and error bodies. Tests, benchmarks and the quickstart talk to it over real HTTP.
//!
//! - [`DevServer::start`] binds, bootstraps one organization and one machine identity
//!   (universal auth), and serves until [`DevServer::shutdown`].
//! - [`Faults`] injects latency, 429s, 5xx answers and dropped connections, deterministically
//!   ("every N-th request"), and can be changed while the server runs.
//! - Every API request is counted per route (`"GET /api/v4/secrets"`), readable through
//!   [`DevServer::request_counts`] or `GET /__dev/requests`.
//! - With a state file the server loads it on start and rewrites it atomically after every
//!   write; a corrupt file is an error, never silently replaced.
//!
//! The routes, their status codes and their deviations from a real Infisical are documented in
//! `docs/dev-server.md`.

mod failure;
mod input;
mod persist;
mod routes;
mod store;
mod views;

use std::collections::{BTreeMap, HashMap};
use std::convert::Infallible;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard, PoisonError, RwLock, RwLockReadGuard, RwLockWriteGuard};
use std::time::Duration;

use hyper::body::Incoming;
use hyper_util::rt::TokioIo;
use tokio::net::TcpListener;
use tokio::sync::watch;
use tokio::task::JoinHandle;
use tower::ServiceExt;
use uuid::Uuid;

use failure::ApiFailure;
use store::{Environment, Store, normalize_path};

/// How the dev server starts.
#[derive(Debug, Clone)]
pub struct DevServerConfig {
    /// Address to bind; port 0 picks a free port.
    pub listen: SocketAddr,
    /// The machine identity's universal-auth client id.
    pub client_id: String,
    /// The machine identity's universal-auth client secret.
    pub client_secret: String,
    /// The organization's name.
    pub organization: String,
    /// Load from and persist to this JSON file.
    pub state_file: Option<PathBuf>,
    /// Access token lifetime (`expiresIn` of a login).
    pub token_ttl: Duration,
    /// Longest life of a token through renewals (`accessTokenMaxTTL`).
    pub token_max_ttl: Duration,
    /// Injected faults.
    pub faults: Faults,
}

impl Default for DevServerConfig {
    fn default() -> Self {
        Self {
            listen: SocketAddr::from(([127, 0, 0, 1], 0)),
            client_id: "dev-client-id".to_owned(),
            client_secret: "dev-client-secret".to_owned(),
            organization: "dev-org".to_owned(),
            state_file: None,
            token_ttl: Duration::from_secs(86_400),
            token_max_ttl: Duration::from_secs(2_592_000),
            faults: Faults::default(),
        }
    }
}

/// Injected faults. "Every N" counts API requests (not `/__dev` ones) from 1; when several
/// faults fall on the same request, a dropped connection wins over a 429, and a 429 over a 500.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Faults {
    /// Added before every API request is handled.
    pub latency: Duration,
    /// Answer every N-th request with 429 and `Retry-After`.
    pub rate_limit_every: Option<u64>,
    /// The `Retry-After` value of those 429s, in seconds.
    pub retry_after_secs: u64,
    /// Answer every N-th request with 500 "Something went wrong" (without handling it).
    pub server_error_every: Option<u64>,
    /// Close the connection without an answer on every N-th request (without handling it).
    pub drop_connection_every: Option<u64>,
}

/// Why the dev server could not start or persist.
#[derive(Debug, thiserror::Error)]
pub enum DevServerError {
    /// The listen address could not be bound.
    #[error("cannot listen on {address}")]
    Bind {
        /// The address.
        address: SocketAddr,
        /// The cause.
        #[source]
        source: std::io::Error,
    },
    /// The state file exists but could not be read.
    #[error("cannot read the state file {}", path.display())]
    StateRead {
        /// The file.
        path: PathBuf,
        /// The cause.
        #[source]
        source: std::io::Error,
    },
    /// The state file is not a valid dev-server state; it was left untouched.
    #[error("the state file {} is corrupt (it was left untouched; move it away to start empty)", path.display())]
    StateCorrupt {
        /// The file.
        path: PathBuf,
        /// The cause.
        #[source]
        source: serde_json::Error,
    },
    /// The state file could not be written.
    #[error("cannot write the state file {}", path.display())]
    StateWrite {
        /// The file.
        path: PathBuf,
        /// The cause.
        #[source]
        source: std::io::Error,
    },
    /// A seed helper was given something the server refuses.
    #[error("cannot seed: {0}")]
    Seed(String),
}

/// An issued access token.
#[derive(Debug, Clone)]
struct TokenInfo {
    /// Expiry, in Unix milliseconds.
    expires_at: u64,
    /// No renewal beyond this.
    max_expires_at: u64,
}

/// State shared by every handler.
#[derive(Debug)]
pub(crate) struct Shared {
    client_id: String,
    client_secret: String,
    token_ttl: Duration,
    token_max_ttl: Duration,
    state_file: Option<PathBuf>,
    store: RwLock<Store>,
    tokens: Mutex<HashMap<String, TokenInfo>>,
    counts: Mutex<BTreeMap<String, u64>>,
    faults: Mutex<Faults>,
    sequence: AtomicU64,
}

fn lock<T>(mutex: &Mutex<T>) -> MutexGuard<'_, T> {
    mutex.lock().unwrap_or_else(PoisonError::into_inner)
}

impl Shared {
    pub(crate) fn read(&self) -> RwLockReadGuard<'_, Store> {
        self.store.read().unwrap_or_else(PoisonError::into_inner)
    }

    pub(crate) fn write(&self) -> RwLockWriteGuard<'_, Store> {
        self.store.write().unwrap_or_else(PoisonError::into_inner)
    }

    /// Persists the store after a write (call with the write lock held, so writes land in
    /// order). A failure is logged and answered as 500.
    pub(crate) fn persist(&self, store: &Store) -> Result<(), ApiFailure> {
        let Some(path) = &self.state_file else {
            return Ok(());
        };
        persist::save(path, store).map_err(|error| {
            tracing::error!(error = %error, "dev server: persisting the state failed");
            ApiFailure::internal()
        })
    }

    /// Issues a token for the identity.
    fn issue_token(&self) -> (String, &Duration) {
        let token = format!(
            "dev.{}.{}",
            Uuid::new_v4().simple(),
            Uuid::new_v4().simple()
        );
        let now = store::now_millis();
        let info = TokenInfo {
            expires_at: now.saturating_add(millis(self.token_ttl)),
            max_expires_at: now.saturating_add(millis(self.token_max_ttl)),
        };
        lock(&self.tokens).insert(token.clone(), info);
        (token, &self.token_ttl)
    }

    /// Checks a bearer token: unknown → 403 `TokenError`, expired → 403 `TokenError`.
    pub(crate) fn check_token(&self, token: &str) -> Result<(), ApiFailure> {
        let tokens = lock(&self.tokens);
        let info = tokens
            .get(token)
            .ok_or_else(|| ApiFailure::token("Invalid token"))?;
        if store::now_millis() >= info.expires_at {
            return Err(ApiFailure::token(
                "Your token has expired. Please re-authenticate.",
            ));
        }
        Ok(())
    }

    /// Expires every token issued so far.
    pub(crate) fn expire_tokens(&self) {
        for info in lock(&self.tokens).values_mut() {
            info.expires_at = 0;
            info.max_expires_at = 0;
        }
    }

    /// Adds an approval policy on an existing project; returns its id.
    pub(crate) fn add_approval_policy(
        &self,
        project_id: &str,
        environment: &str,
        path: &str,
    ) -> Result<Uuid, ApiFailure> {
        let mut store = self.write();
        let index = store.project_index(project_id)?;
        let project_id = store.projects[index].id;
        let id = Uuid::new_v4();
        store.approval_policies.push(store::ApprovalPolicy {
            id,
            project_id,
            environment: environment.to_owned(),
            path: normalize_path(path),
        });
        self.persist(&store)?;
        Ok(id)
    }

    fn count(&self, route: String) {
        *lock(&self.counts).entry(route).or_default() += 1;
    }
}

fn millis(duration: Duration) -> u64 {
    u64::try_from(duration.as_millis()).unwrap_or(u64::MAX)
}

/// Marks a response whose connection is to be closed without sending it.
#[derive(Debug, Clone, Copy)]
pub(crate) struct DropConnection;

#[derive(Debug, thiserror::Error)]
#[error("connection dropped by fault injection")]
struct DroppedConnection;

/// A running dev server.
#[derive(Debug)]
pub struct DevServer {
    address: SocketAddr,
    shared: Arc<Shared>,
    shutdown: watch::Sender<bool>,
    task: JoinHandle<()>,
}

impl DevServer {
    /// Loads the state file (if any), binds, and starts serving in the background.
    pub async fn start(config: DevServerConfig) -> Result<DevServer, DevServerError> {
        let store = match &config.state_file {
            Some(path) => match persist::load(path)? {
                Some(store) => store,
                None => {
                    let store = Store::new(&config.organization);
                    persist::save(path, &store).map_err(|source| DevServerError::StateWrite {
                        path: path.clone(),
                        source,
                    })?;
                    store
                }
            },
            None => Store::new(&config.organization),
        };
        let listener =
            TcpListener::bind(config.listen)
                .await
                .map_err(|source| DevServerError::Bind {
                    address: config.listen,
                    source,
                })?;
        let address = listener
            .local_addr()
            .map_err(|source| DevServerError::Bind {
                address: config.listen,
                source,
            })?;
        let shared = Arc::new(Shared {
            client_id: config.client_id,
            client_secret: config.client_secret,
            token_ttl: config.token_ttl,
            token_max_ttl: config.token_max_ttl.max(config.token_ttl),
            state_file: config.state_file,
            store: RwLock::new(store),
            tokens: Mutex::new(HashMap::new()),
            counts: Mutex::new(BTreeMap::new()),
            faults: Mutex::new(config.faults),
            sequence: AtomicU64::new(0),
        });
        let router = routes::router(shared.clone());
        let (shutdown, shutdown_rx) = watch::channel(false);
        let task = tokio::spawn(serve(listener, router, shutdown_rx));
        Ok(DevServer {
            address,
            shared,
            shutdown,
            task,
        })
    }

    /// The API base URL, e.g. `http://127.0.0.1:41234` (no `/api` suffix).
    pub fn url(&self) -> String {
        format!("http://{}", self.address)
    }

    /// The bound address.
    pub fn local_addr(&self) -> SocketAddr {
        self.address
    }

    /// Requests per route since start or the last reset: `"METHOD /route/pattern"` → count.
    /// Requests answered by an injected fault are counted too; unknown routes count as
    /// `"METHOD <unmatched>"`.
    pub fn request_counts(&self) -> BTreeMap<String, u64> {
        lock(&self.shared.counts).clone()
    }

    /// Zeroes the request counts and the fault sequence.
    pub fn reset_counts(&self) {
        lock(&self.shared.counts).clear();
        self.shared.sequence.store(0, Ordering::SeqCst);
    }

    /// Replaces the injected faults; the "every N" sequence restarts at 1.
    pub fn set_faults(&self, faults: Faults) {
        *lock(&self.shared.faults) = faults;
        self.shared.sequence.store(0, Ordering::SeqCst);
    }

    /// Expires every token issued so far: their next use answers 403 `TokenError`.
    pub fn expire_tokens(&self) {
        self.shared.expire_tokens();
    }

    /// Puts `path` (and everything below it) of an environment under a change-approval
    /// policy: secret writes there answer 200 `{"approval": …}` and write nothing.
    ///
    /// # Panics
    ///
    /// When the project does not exist (a test set-up mistake).
    pub fn set_approval_policy(&self, project_id: &str, environment: &str, path: &str) {
        if let Err(failure) = self
            .shared
            .add_approval_policy(project_id, environment, path)
        {
            panic!("set_approval_policy: {failure:?}");
        }
    }

    /// Creates a project (with the default environments dev, staging, prod); returns its id.
    pub fn seed_project(&self, name: &str, slug: &str) -> Result<String, DevServerError> {
        let mut store = self.shared.write();
        let id = routes::projects::insert_project(&mut store, name, slug, None, true)
            .map_err(|failure| DevServerError::Seed(format!("{failure:?}")))?;
        self.persist_seed(&store)?;
        Ok(id.to_string())
    }

    /// Creates a folder path and its missing parents (no error when it exists).
    pub fn seed_folder(
        &self,
        project_id: &str,
        environment: &str,
        path: &str,
    ) -> Result<(), DevServerError> {
        let mut store = self.shared.write();
        Self::seed_environment(&mut store, project_id, environment)?
            .ensure_path(&normalize_path(path));
        self.persist_seed(&store)
    }

    /// Creates or overwrites secrets in one folder (created with its parents when missing),
    /// without the server's value trim. Values stay in memory and in the state file only.
    pub fn seed_secrets<'a>(
        &self,
        project_id: &str,
        environment: &str,
        path: &str,
        secrets: impl IntoIterator<Item = (&'a str, &'a str)>,
    ) -> Result<(), DevServerError> {
        let mut store = self.shared.write();
        let env = Self::seed_environment(&mut store, project_id, environment)?;
        let path = normalize_path(path);
        env.ensure_path(&path);
        let folder = env
            .folders
            .get_mut(&path)
            .ok_or_else(|| DevServerError::Seed(format!("folder {path} vanished")))?;
        for (key, value) in secrets {
            routes::secrets::upsert_plain(folder, key, value);
        }
        self.persist_seed(&store)
    }

    /// How many secrets the server holds.
    pub fn secret_count(&self) -> usize {
        self.shared.read().secret_count()
    }

    fn seed_environment<'s>(
        store: &'s mut Store,
        project_id: &str,
        environment: &str,
    ) -> Result<&'s mut Environment, DevServerError> {
        let seed_error = |failure: ApiFailure| DevServerError::Seed(format!("{failure:?}"));
        let index = store.project_index(project_id).map_err(seed_error)?;
        let project = &mut store.projects[index];
        let env = project.environment_index(environment).map_err(seed_error)?;
        Ok(&mut project.environments[env])
    }

    fn persist_seed(&self, store: &Store) -> Result<(), DevServerError> {
        match &self.shared.state_file {
            Some(path) => persist::save(path, store).map_err(|source| DevServerError::StateWrite {
                path: path.clone(),
                source,
            }),
            None => Ok(()),
        }
    }

    /// Stops accepting, lets in-flight requests finish (up to 5 s), and returns.
    pub async fn shutdown(self) {
        let _ = self.shutdown.send(true);
        let _ = self.task.await;
    }
}

/// The accept loop: one hyper HTTP/1 connection per client, served by the router. A response
/// marked [`DropConnection`] closes the connection without an answer.
async fn serve(listener: TcpListener, router: axum::Router, mut shutdown: watch::Receiver<bool>) {
    let graceful = hyper_util::server::graceful::GracefulShutdown::new();
    loop {
        tokio::select! {
            accepted = listener.accept() => {
                let stream = match accepted {
                    Ok((stream, _)) => stream,
                    Err(error) => {
                        tracing::warn!(error = %error, "dev server: accept failed");
                        tokio::time::sleep(Duration::from_millis(10)).await;
                        continue;
                    }
                };
                let _ = stream.set_nodelay(true);
                let router = router.clone();
                let service = hyper::service::service_fn(move |request: hyper::Request<Incoming>| {
                    let router = router.clone();
                    async move {
                        let response = router
                            .oneshot(request.map(axum::body::Body::new))
                            .await
                            .unwrap_or_else(|never: Infallible| match never {});
                        if response.extensions().get::<DropConnection>().is_some() {
                            Err(DroppedConnection)
                        } else {
                            Ok(response)
                        }
                    }
                });
                let connection = hyper::server::conn::http1::Builder::new()
                    .serve_connection(TokioIo::new(stream), service);
                let connection = graceful.watch(connection);
                tokio::spawn(async move {
                    let _ = connection.await;
                });
            }
            _ = shutdown.changed() => break,
        }
    }
    drop(listener);
    let _ = tokio::time::timeout(Duration::from_secs(5), graceful.shutdown()).await;
}
