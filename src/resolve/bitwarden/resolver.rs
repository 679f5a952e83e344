//! [`BitwardenResolver`]: Bitwarden references → values, over `bw serve` or an export file
//! (Password Manager) and `bws` (Secrets Manager).
//!
//! - every distinct reference is resolved at most once per resolver (one resolver per run), and
//!   every distinct item is fetched at most once (several fields of one item cost one request);
//! - at most `concurrency` lookups run at once (a semaphore around each request or process);
//! - with `bw serve`, the first lookup checks the vault once (`GET /status`, then `POST /sync`
//!   when asked), so a locked vault yields one clear error instead of one per secret;
//! - values stay in [`SecretValue`] (zeroized on drop); errors never contain one.

use std::collections::HashMap;
use std::path::PathBuf;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

use secrecy::SecretString;
use tokio::sync::{Mutex, OnceCell, Semaphore};

use super::error::BitwardenError;
use super::export::{ExportVault, name_error};
use super::item::{FieldError, Item, NameScope, select_by_name};
use super::secrets_manager::BwsCli;
use super::serve::ServeClient;
use crate::model::document::BitwardenField;
use crate::model::{BitwardenFieldRef, BitwardenItem, BitwardenRef, SecretSource, SecretValue};
use crate::resolve::{LookupObserver, LookupRecord};

/// The sample export bundled into the binary (`examples/bitwarden-export.json`, obviously fake
/// values): the Password Manager source of `--dev` when no `--bitwarden-export` is given.
pub(crate) const EMBEDDED_SAMPLE_EXPORT: &str =
    include_str!("../../../examples/bitwarden-export.json");

/// Default number of concurrent Bitwarden lookups.
pub(crate) const DEFAULT_CONCURRENCY: usize = 16;

/// Where Password Manager references are read.
#[derive(Debug, Clone)]
pub enum PasswordManager {
    /// The `bw serve` API.
    Serve(ServeClient),
    /// An unencrypted JSON export, loaded once.
    Export(Arc<ExportVault>),
    /// Not configured: every reference fails with a hint.
    None,
}

/// Settings, as the CLI gathers them.
#[derive(Debug, Clone, Default)]
pub struct BitwardenSettings {
    /// `bw serve` base URL (used when no export file is given).
    pub url: Option<String>,
    /// An export file to read instead of `bw serve`.
    pub export: Option<PathBuf>,
    /// `POST /sync` before the first lookup.
    pub sync: bool,
    /// The `bws` program.
    pub bws_path: Option<PathBuf>,
    /// The Secrets Manager access token.
    pub bws_token: Option<SecretString>,
    /// Concurrent lookups (0: default).
    pub concurrency: usize,
}

type Shared<T> = Arc<OnceCell<Result<T, BitwardenError>>>;

/// Resolves Bitwarden references. Its caches live until [`SecretResolver::forget`] (the
/// daemon forgets after each reconcile) or as long as it does.
///
/// [`SecretResolver::forget`]: crate::resolve::SecretResolver::forget
pub struct BitwardenResolver {
    password_manager: PasswordManager,
    secrets_manager: Option<BwsCli>,
    secrets_manager_placeholders: bool,
    sync: bool,
    limit: Semaphore,
    session: Mutex<Shared<()>>,
    items: Mutex<HashMap<BitwardenItem, Shared<Arc<Item>>>>,
    values: Mutex<HashMap<SecretSource, Shared<SecretValue>>>,
    backend_calls: AtomicUsize,
    observer: Option<Arc<dyn LookupObserver>>,
}

impl std::fmt::Debug for BitwardenResolver {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("BitwardenResolver")
            .field("password_manager", &self.password_manager)
            .field("secrets_manager", &self.secrets_manager)
            .field(
                "secrets_manager_placeholders",
                &self.secrets_manager_placeholders,
            )
            .field("sync", &self.sync)
            .field("backend_calls", &self.backend_calls)
            .field("observer", &self.observer.is_some())
            .finish_non_exhaustive()
    }
}

impl BitwardenResolver {
    /// A resolver over the given backends.
    pub fn new(password_manager: PasswordManager, secrets_manager: Option<BwsCli>) -> Self {
        Self {
            password_manager,
            secrets_manager,
            secrets_manager_placeholders: false,
            sync: false,
            limit: Semaphore::new(DEFAULT_CONCURRENCY),
            session: Mutex::default(),
            items: Mutex::new(HashMap::new()),
            values: Mutex::new(HashMap::new()),
            backend_calls: AtomicUsize::new(0),
            observer: None,
        }
    }

    /// Tells `observer` about every lookup (the daemon's metrics).
    pub fn with_observer(mut self, observer: Option<Arc<dyn LookupObserver>>) -> Self {
        self.observer = observer;
        self
    }

    /// From CLI settings: the export file when given, else `bw serve` at `url` (or the
    /// default); `bws` for Secrets Manager. Fails only when the export cannot be loaded or the
    /// HTTP client cannot be built.
    pub fn from_settings(settings: &BitwardenSettings) -> Result<Self, BitwardenError> {
        let password_manager = match &settings.export {
            Some(path) => PasswordManager::Export(Arc::new(ExportVault::load(path)?)),
            None => {
                let url = settings.url.as_deref().unwrap_or(super::serve::DEFAULT_URL);
                let client =
                    ServeClient::new(url).map_err(|source| BitwardenError::Unreachable {
                        url: url.to_string(),
                        source: Arc::new(source),
                    })?;
                PasswordManager::Serve(client)
            }
        };
        let bws = BwsCli::new(
            settings
                .bws_path
                .clone()
                .unwrap_or_else(|| super::secrets_manager::DEFAULT_PROGRAM.into()),
            settings.bws_token.clone(),
        );
        Ok(Self::new(password_manager, Some(bws))
            .with_sync(settings.sync)
            .with_concurrency(settings.concurrency))
    }

    /// For `--dev`: Password Manager references from `--bitwarden-export` or the bundled sample
    /// export; Secrets Manager through `bws` when a token is set, else labelled placeholders.
    pub fn for_dev(settings: &BitwardenSettings) -> Result<Self, BitwardenError> {
        let vault = match &settings.export {
            Some(path) => ExportVault::load(path)?,
            None => ExportVault::parse(EMBEDDED_SAMPLE_EXPORT, "examples/bitwarden-export.json")?,
        };
        let has_token = settings
            .bws_token
            .as_ref()
            .is_some_and(|t| !secrecy::ExposeSecret::expose_secret(t).trim().is_empty());
        let bws = has_token.then(|| {
            BwsCli::new(
                settings
                    .bws_path
                    .clone()
                    .unwrap_or_else(|| super::secrets_manager::DEFAULT_PROGRAM.into()),
                settings.bws_token.clone(),
            )
        });
        let mut resolver = Self::new(PasswordManager::Export(Arc::new(vault)), bws)
            .with_concurrency(settings.concurrency);
        resolver.secrets_manager_placeholders = !has_token;
        Ok(resolver)
    }

    /// `POST /sync` before the first `bw serve` lookup.
    pub fn with_sync(mut self, sync: bool) -> Self {
        self.sync = sync;
        self
    }

    /// At most `n` lookups at once (0 keeps the default).
    pub fn with_concurrency(mut self, n: usize) -> Self {
        if n > 0 {
            self.limit = Semaphore::new(n);
        }
        self
    }

    /// Whether Secrets Manager sources get `--dev` placeholders.
    pub fn uses_secrets_manager_placeholders(&self) -> bool {
        self.secrets_manager_placeholders
    }

    /// How many requests or `bws` runs this resolver has made (for tests and benchmarks).
    pub fn backend_calls(&self) -> usize {
        self.backend_calls.load(Ordering::Relaxed)
    }

    /// Resolves one Bitwarden source (Password Manager or Secrets Manager). Other kinds of
    /// source are not handled here.
    pub async fn resolve_value(
        &self,
        source: &SecretSource,
    ) -> Result<SecretValue, BitwardenError> {
        let cell = {
            let mut values = self.values.lock().await;
            Arc::clone(values.entry(source.clone()).or_default())
        };
        cell.get_or_init(|| async {
            let result = self.lookup(source).await;
            if let Some(observer) = &self.observer {
                observer.lookup(&LookupRecord {
                    source: self.lookup_source(source),
                    result: match &result {
                        Ok(_) => "found",
                        Err(error) if matches!(error.code(), "not-found" | "field-missing") => {
                            "not-found"
                        }
                        Err(_) => "error",
                    },
                });
            }
            result
        })
        .await
        .clone()
    }

    /// The `source` label of a lookup.
    fn lookup_source(&self, source: &SecretSource) -> &'static str {
        match (source, &self.password_manager) {
            (SecretSource::BitwardenSecretsManager { .. }, _) => "secrets-manager",
            (_, PasswordManager::Export(_)) => "export",
            (_, PasswordManager::Serve(_) | PasswordManager::None) => "password-manager",
        }
    }

    /// Drops the cached items and values and the vault check (and sync) of `bw serve`: the
    /// next lookups check the vault again and read fresh values.
    pub async fn forget_cached(&self) {
        *self.session.lock().await = Shared::default();
        self.values.lock().await.clear();
        self.items.lock().await.clear();
    }

    async fn lookup(&self, source: &SecretSource) -> Result<SecretValue, BitwardenError> {
        match source {
            SecretSource::Bitwarden(reference) => self.password_manager_value(reference).await,
            SecretSource::BitwardenSecretsManager { secret } => {
                let bws = self
                    .secrets_manager
                    .as_ref()
                    .ok_or(BitwardenError::NotConfigured {
                        what: "bitwarden secrets manager",
                        hint: "set BWS_ACCESS_TOKEN and install `bws` (or set --bws-path)",
                    })?;
                let _permit = self.limit.acquire().await;
                self.backend_calls.fetch_add(1, Ordering::Relaxed);
                bws.secret(secret).await
            }
            SecretSource::Generate(_) | SecretSource::Literal(_) => {
                Err(BitwardenError::NotConfigured {
                    what: "this source",
                    hint: "only bitwarden sources are resolved here",
                })
            }
        }
    }

    async fn password_manager_value(
        &self,
        reference: &BitwardenRef,
    ) -> Result<SecretValue, BitwardenError> {
        let item = self.item(&reference.item).await?;
        let field_error = |reason: FieldError| BitwardenError::Field {
            id: item.id.clone(),
            reason,
        };
        match (&reference.field, &self.password_manager) {
            (
                BitwardenFieldRef::Builtin {
                    field: BitwardenField::Totp,
                    ..
                },
                PasswordManager::Serve(client),
            ) => {
                if !item.has_totp() {
                    return Err(field_error(FieldError::Empty {
                        field: "totp".to_string(),
                    }));
                }
                let _permit = self.limit.acquire().await;
                self.backend_calls.fetch_add(1, Ordering::Relaxed);
                client.totp(&item.id).await
            }
            (field, _) => item.field(field).map_err(field_error),
        }
    }

    async fn item(&self, item: &BitwardenItem) -> Result<Arc<Item>, BitwardenError> {
        let cell = {
            let mut items = self.items.lock().await;
            Arc::clone(items.entry(item.clone()).or_default())
        };
        cell.get_or_init(|| self.fetch_item(item)).await.clone()
    }

    async fn fetch_item(&self, item: &BitwardenItem) -> Result<Arc<Item>, BitwardenError> {
        match &self.password_manager {
            PasswordManager::None => Err(BitwardenError::NotConfigured {
                what: "bitwarden password manager",
                hint: "run `bw serve` (see --bitwarden-url) or pass --bitwarden-export FILE",
            }),
            PasswordManager::Export(vault) => vault.find(item).cloned().map(Arc::new),
            PasswordManager::Serve(client) => {
                self.session(client).await?;
                let _permit = self.limit.acquire().await;
                self.backend_calls.fetch_add(1, Ordering::Relaxed);
                match item {
                    BitwardenItem::Id(id) => client.item(id).await.map(Arc::new),
                    BitwardenItem::Name {
                        name,
                        folder,
                        collection,
                    } => {
                        let candidates = client
                            .list_items(Some(name), folder.as_deref(), collection.as_deref())
                            .await?;
                        let scope = NameScope {
                            folder: folder.as_deref(),
                            collection: collection.as_deref(),
                        };
                        select_by_name(&candidates, name, scope)
                            .cloned()
                            .map(Arc::new)
                            .map_err(|selection| {
                                name_error(
                                    name,
                                    folder.as_deref(),
                                    collection.as_deref(),
                                    selection,
                                )
                            })
                    }
                }
            }
        }
    }

    /// Once per resolver (until it forgets): `GET /status` (a locked vault fails here, once),
    /// then `POST /sync` when asked.
    async fn session(&self, client: &ServeClient) -> Result<(), BitwardenError> {
        let cell = Arc::clone(&*self.session.lock().await);
        cell.get_or_init(|| async {
            let _permit = self.limit.acquire().await;
            self.backend_calls.fetch_add(1, Ordering::Relaxed);
            client.ensure_unlocked().await?;
            if self.sync {
                self.backend_calls.fetch_add(1, Ordering::Relaxed);
                client.sync().await?;
            }
            Ok(())
        })
        .await
        .clone()
    }
}

#[async_trait::async_trait]
impl crate::resolve::SecretResolver for BitwardenResolver {
    async fn resolve(
        &self,
        source: &SecretSource,
    ) -> Result<crate::resolve::Resolved, crate::resolve::ResolveError> {
        use crate::resolve::{DevPlaceholderResolver, ResolveError, Resolved};
        match source {
            SecretSource::BitwardenSecretsManager { .. }
                if self.secrets_manager.is_none() && self.secrets_manager_placeholders =>
            {
                Ok(Resolved::DevPlaceholder(
                    DevPlaceholderResolver::placeholder(source),
                ))
            }
            SecretSource::Bitwarden(_) | SecretSource::BitwardenSecretsManager { .. } => self
                .resolve_value(source)
                .await
                .map(Resolved::Value)
                .map_err(|error| ResolveError::Bitwarden {
                    reference: source.describe(),
                    source: error,
                }),
            other => Err(ResolveError::Unsupported {
                source_description: other.describe(),
            }),
        }
    }

    async fn forget(&self) {
        self.forget_cached().await;
    }
}
