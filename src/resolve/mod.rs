//! Resolution: each declared secret's [`SecretSource`] → a value, a generate rule, or a typed
//! reason why not.
//!
//! - [`SecretResolver`]: the port (async, object-safe); one implementation per kind of source;
//! - [`LiteralResolver`], [`GenerateResolver`]: literals and generated values;
//! - [`bitwarden`]: Bitwarden Password Manager (`bw serve` or an export file) and Secrets Manager
//!   (`bws`), and backups of generated values ([`GeneratedValueStore`]);
//! - [`DevPlaceholderResolver`]: a clearly labelled stand-in for Secrets Manager sources under
//!   `--dev` when no `BWS_ACCESS_TOKEN` is set (Password Manager sources read the bundled sample
//!   export instead);
//! - [`SourceResolver`]: dispatches by kind of source;
//! - [`resolve_state`]: resolves a whole [`DesiredState`] into a [`ResolvedState`];
//! - [`generate`]: the generator that makes values at apply time.
//!
//! A generated secret resolves to its rule, not to a value: the value is made by the applier
//! only when the secret is created, so an existing secret is never regenerated and a plan never
//! holds a value.

pub mod bitwarden;
pub(crate) mod generate;

use std::collections::BTreeMap;
use std::sync::Arc;

use async_trait::async_trait;
use futures::StreamExt;
use sha2::{Digest, Sha256};

use crate::errors::cause_chain;
use crate::model::{DesiredState, GenerateRule, SecretSource, SecretValue};

pub use crate::plan::resolved::{Provenance, Resolution, ResolvedState, Unresolved};
pub use bitwarden::{BitwardenResolver, GeneratedValueStore};

/// What a resolver produces for one source.
#[derive(Debug, Clone)]
pub enum Resolved {
    /// The value from the source.
    Value(SecretValue),
    /// A `--dev` stand-in (never the real value), labelled as such in the plan.
    DevPlaceholder(SecretValue),
    /// A generated secret: made at apply time when missing.
    Generate(GenerateRule),
}

/// Why a source could not be resolved. Never contains a value.
#[derive(Debug, thiserror::Error)]
pub enum ResolveError {
    /// A Bitwarden lookup failed; the cause says how and what to do (its `code()` is used).
    #[error("cannot read {reference}")]
    Bitwarden {
        /// The reference, described.
        reference: String,
        /// What went wrong.
        #[source]
        source: bitwarden::BitwardenError,
    },
    /// No resolver handles this kind of source in this run.
    #[error("no resolver is configured for {source_description}")]
    NotConfigured {
        /// `SecretSource::describe()`.
        source_description: String,
    },
    /// The referenced item or field does not exist.
    #[error("{reference} was not found")]
    NotFound {
        /// The reference, described.
        reference: String,
    },
    /// A name matched more than one item.
    #[error("{reference} matches {count} items")]
    Ambiguous {
        /// The reference, described.
        reference: String,
        /// How many matched.
        count: usize,
    },
    /// The backend could not be reached or refused.
    #[error("{reference} could not be read")]
    Unavailable {
        /// The reference, described.
        reference: String,
        /// The cause (never a value).
        #[source]
        source: Box<dyn std::error::Error + Send + Sync>,
    },
    /// This resolver does not handle this kind of source.
    #[error("{source_description} is not handled by this resolver")]
    Unsupported {
        /// `SecretSource::describe()`.
        source_description: String,
    },
}

impl ResolveError {
    /// A stable kebab-case code.
    pub fn code(&self) -> &'static str {
        match self {
            ResolveError::Bitwarden { source, .. } => source.code(),
            ResolveError::NotConfigured { .. } => "not-configured",
            ResolveError::NotFound { .. } => "not-found",
            ResolveError::Ambiguous { .. } => "ambiguous",
            ResolveError::Unavailable { .. } => "unavailable",
            ResolveError::Unsupported { .. } => "unsupported",
        }
    }

    /// The message with its causes, for the plan. A failure of the whole backend (see
    /// [`bitwarden::BitwardenError::is_backend_wide`]) keeps its reason apart, as the
    /// [`Unresolved::cause`] every secret of that backend shares.
    pub fn to_unresolved(&self) -> Unresolved {
        match self {
            ResolveError::Bitwarden { source, .. } if source.is_backend_wide() => Unresolved {
                code: self.code().to_string(),
                message: self.to_string(),
                cause: Some(cause_chain(source)),
            },
            _ => Unresolved {
                code: self.code().to_string(),
                message: cause_chain(self),
                cause: None,
            },
        }
    }
}

/// Resolves a secret source. Implementations must never put a value into an error.
#[async_trait]
pub trait SecretResolver: Send + Sync {
    /// Resolves one source.
    async fn resolve(&self, source: &SecretSource) -> Result<Resolved, ResolveError>;

    /// Forgets what earlier resolves cached, so the next ones read the sources again (a
    /// long-running daemon calls it after each reconcile: a value rotated at the source is
    /// picked up, and nothing is kept between reconciles).
    async fn forget(&self) {}
}

/// One lookup in an external value source, as the [`LookupObserver`] sees it. Fixed words
/// only: never a reference, name or value.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct LookupRecord {
    /// `password-manager` (`bw serve`), `export` (a Password Manager export file),
    /// `secrets-manager` (`bws`).
    pub source: &'static str,
    /// `found`, `not-found` (the item, field or secret does not exist) or `error`.
    pub result: &'static str,
}

/// Told about every lookup a resolver makes in an external source (cached answers are not
/// lookups). The daemon installs one for its metrics; the CLI installs none. Must be cheap.
pub trait LookupObserver: Send + Sync {
    /// One lookup ended.
    fn lookup(&self, record: &LookupRecord);
}

/// Literal (non-sensitive) values.
#[derive(Debug, Clone, Copy, Default)]
pub struct LiteralResolver;

#[async_trait]
impl SecretResolver for LiteralResolver {
    async fn resolve(&self, source: &SecretSource) -> Result<Resolved, ResolveError> {
        match source {
            SecretSource::Literal(value) => Ok(Resolved::Value(SecretValue::new(value.clone()))),
            other => Err(ResolveError::Unsupported {
                source_description: other.describe(),
            }),
        }
    }
}

/// Generated values: the rule passes through; the applier makes the value when it creates the
/// secret.
#[derive(Debug, Clone, Copy, Default)]
pub struct GenerateResolver;

#[async_trait]
impl SecretResolver for GenerateResolver {
    async fn resolve(&self, source: &SecretSource) -> Result<Resolved, ResolveError> {
        match source {
            SecretSource::Generate(rule) => Ok(Resolved::Generate(*rule)),
            other => Err(ResolveError::Unsupported {
                source_description: other.describe(),
            }),
        }
    }
}

/// **Development only.** Stands in for Bitwarden sources with a deterministic fake derived from
/// the reference (`dev-placeholder-<24 hex>`), so that `--dev` runs work without a vault. The
/// plan labels every such value as a placeholder. Never used outside `--dev`.
#[derive(Debug, Clone, Copy, Default)]
pub struct DevPlaceholderResolver;

impl DevPlaceholderResolver {
    /// The placeholder for a reference (public so tests can predict it).
    pub fn placeholder(source: &SecretSource) -> SecretValue {
        let digest = Sha256::digest(source.describe().as_bytes());
        SecretValue::new(format!("dev-placeholder-{}", &hex::encode(digest)[..24]))
    }
}

#[async_trait]
impl SecretResolver for DevPlaceholderResolver {
    async fn resolve(&self, source: &SecretSource) -> Result<Resolved, ResolveError> {
        match source {
            SecretSource::Bitwarden(_) | SecretSource::BitwardenSecretsManager { .. } => {
                Ok(Resolved::DevPlaceholder(Self::placeholder(source)))
            }
            other => Err(ResolveError::Unsupported {
                source_description: other.describe(),
            }),
        }
    }
}

/// Dispatches by kind of source: literals and generated values always; Bitwarden sources to
/// the configured resolver, or `not-configured`.
#[derive(Clone, Default)]
pub struct SourceResolver {
    bitwarden: Option<Arc<dyn SecretResolver>>,
}

impl std::fmt::Debug for SourceResolver {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SourceResolver")
            .field("bitwarden", &self.bitwarden.is_some())
            .finish()
    }
}

impl SourceResolver {
    /// Literals and generated values only.
    pub fn new() -> Self {
        Self::default()
    }

    /// Bitwarden sources go to `resolver`.
    pub fn with_bitwarden(mut self, resolver: Arc<dyn SecretResolver>) -> Self {
        self.bitwarden = Some(resolver);
        self
    }

    /// Bitwarden sources get the `--dev` placeholder.
    pub fn with_dev_placeholders(self) -> Self {
        self.with_bitwarden(Arc::new(DevPlaceholderResolver))
    }
}

#[async_trait]
impl SecretResolver for SourceResolver {
    async fn resolve(&self, source: &SecretSource) -> Result<Resolved, ResolveError> {
        match source {
            SecretSource::Literal(_) => LiteralResolver.resolve(source).await,
            SecretSource::Generate(_) => GenerateResolver.resolve(source).await,
            SecretSource::Bitwarden(_) | SecretSource::BitwardenSecretsManager { .. } => {
                match &self.bitwarden {
                    Some(resolver) => resolver.resolve(source).await,
                    None => Err(ResolveError::NotConfigured {
                        source_description: source.describe(),
                    }),
                }
            }
        }
    }

    async fn forget(&self) {
        if let Some(resolver) = &self.bitwarden {
            resolver.forget().await;
        }
    }
}

/// How many sources are resolved at once.
pub const DEFAULT_CONCURRENCY: usize = 8;

/// Resolves every declared secret. Each distinct source is resolved once (a `SecretSet` for
/// three environments asks Bitwarden once), at most `concurrency` at a time.
pub async fn resolve_state(
    desired: DesiredState,
    resolver: &dyn SecretResolver,
    concurrency: usize,
) -> ResolvedState {
    let mut sources: Vec<&SecretSource> = desired.secrets.values().map(|s| &s.source).collect();
    sources.sort();
    sources.dedup();
    // Owned sources: a closure taking a reference would make this future not provably `Send`
    // (each source is cloned once either way, as the key of the results).
    let results: BTreeMap<SecretSource, Resolution> =
        futures::stream::iter(sources.into_iter().cloned().map(|source| async move {
            let resolution = match resolver.resolve(&source).await {
                Ok(Resolved::Value(value)) => Resolution::Value {
                    value,
                    provenance: Provenance::Source,
                },
                Ok(Resolved::DevPlaceholder(value)) => Resolution::Value {
                    value,
                    provenance: Provenance::DevPlaceholder,
                },
                Ok(Resolved::Generate(rule)) => Resolution::Generate(rule),
                Err(err) => Resolution::Unresolved(err.to_unresolved()),
            };
            (source, resolution)
        }))
        .buffer_unordered(concurrency.max(1))
        .collect()
        .await;
    let values = desired
        .secrets
        .iter()
        .filter_map(|(address, secret)| {
            results.get(&secret.source).map(|r| {
                let resolution = match r {
                    // Name the YAML location of this secret, so the message says where to look.
                    Resolution::Unresolved(reason) => Resolution::Unresolved(Unresolved {
                        code: reason.code.clone(),
                        message: format!("{} (declared at {})", reason.message, secret.origin),
                        cause: reason.cause.clone(),
                    }),
                    other => other.clone(),
                };
                (address.clone(), resolution)
            })
        })
        .collect();
    ResolvedState::new(desired, values)
}
