//! Bitwarden value sources.
//!
//! - Password Manager through the `bw serve` Vault Management API ([`serve`]; works with
//!   Bitwarden cloud and self-hosted Vaultwarden), or offline from an unencrypted
//!   `bw export --format json` file ([`export`]);
//! - Secrets Manager through the user's `bws` CLI as a separate process ([`secrets_manager`]; the
//!   SDK crates are not linked because of their licence);
//! - [`resolver`]: the cached, bounded-concurrency resolver over those backends;
//! - [`backup`]: backups of generated values before they reach Infisical;
//! - `double` (feature `testing`): a faithful in-memory `bw serve` for tests and benchmarks.
//!
//! Pure parsing ([`item`], the parsers in [`export`] and [`secrets_manager`]) is kept apart from
//! IO ([`serve`], the process runner, file loading).

pub mod backup;
#[cfg(any(test, feature = "testing"))]
pub mod double;
pub(crate) mod error;
pub(crate) mod export;
pub mod item;
pub(crate) mod resolver;
pub mod secrets_manager;
pub mod serve;

pub use backup::{BackupLocation, BitwardenBackup, GeneratedValueStore, backed_up_value};
pub use error::BitwardenError;
pub use export::ExportVault;
pub use resolver::{BitwardenResolver, BitwardenSettings, PasswordManager};
pub use secrets_manager::BwsCli;
pub use serve::ServeClient;
