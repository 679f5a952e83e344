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

/// Default number of concurrent Bitwarden lookups.
pub const DEFAULT_CONCURRENCY: usize = 16;

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

/// Resolves Bitwarden references. Create one per run: its caches live as long as it does.
#[derive(Debug)]
pub struct BitwardenResolver {
    password_manager: PasswordManager,
    secrets_manager: Option<BwsCli>,
    sync: bool,
    limit: Semaphore,
    session: OnceCell<Result<(), BitwardenError>>,
    items: Mutex<HashMap<BitwardenItem, Shared<Arc<Item>>>>,
    values: Mutex<HashMap<SecretSource, Shared<SecretValue>>>,
    backend_calls: AtomicUsize,
}

impl BitwardenResolver {
    /// A resolver over the given backends.
    pub fn new(password_manager: PasswordManager, secrets_manager: Option<BwsCli>) -> Self {
        Self {
            password_manager,
            secrets_manager,
            sync: false,
            limit: Semaphore::new(DEFAULT_CONCURRENCY),
            session: OnceCell::new(),
            items: Mutex::new(HashMap::new()),
            values: Mutex::new(HashMap::new()),
            backend_calls: AtomicUsize::new(0),
        }
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
        cell.get_or_init(|| self.lookup(source)).await.clone()
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

    /// Once per resolver: `GET /status` (a locked vault fails here, once), then `POST /sync`
    /// when asked.
    async fn session(&self, client: &ServeClient) -> Result<(), BitwardenError> {
        self.session
            .get_or_init(|| async {
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
        use crate::resolve::{ResolveError, Resolved};
        match source {
            SecretSource::Bitwarden(_) | SecretSource::BitwardenSecretsManager { .. } => self
                .resolve_value(source)
                .await
                .map(Resolved::Value)
                .map_err(|error| match error {
                    BitwardenError::ItemNotFound { .. }
                    | BitwardenError::NameNotFound { .. }
                    | BitwardenError::SecretNotFound { .. } => ResolveError::NotFound {
                        reference: source.describe(),
                    },
                    other => ResolveError::Unavailable {
                        reference: source.describe(),
                        source: Box::new(other),
                    },
                }),
            other => Err(ResolveError::Unsupported {
                source_description: other.describe(),
            }),
        }
    }
}
