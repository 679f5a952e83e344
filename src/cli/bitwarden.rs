//! Bitwarden flags shared by `plan` and `apply`: where Password Manager and Secrets Manager
//! values come from, and where generated values are backed up.

use std::path::PathBuf;
use std::sync::Arc;

use miette::{IntoDiagnostic, WrapErr};
use secrecy::SecretString;

use super::env;
use crate::resolve::bitwarden::{
    BackupLocation, BitwardenBackup, BitwardenResolver, BitwardenSettings, GeneratedValueStore,
    ServeClient, serve,
};

/// Bitwarden flags. The Secrets Manager token comes only from `BWS_ACCESS_TOKEN`.
#[derive(Debug, Clone, Default, clap::Args)]
pub struct BitwardenArgs {
    /// Where `bw serve` listens [default: http://127.0.0.1:8087].
    #[arg(long, env = env::BITWARDEN_URL, value_name = "URL")]
    pub bitwarden_url: Option<String>,
    /// Read Password Manager references from an unencrypted `bw export --format json` file
    /// instead of `bw serve`. With `--dev` the bundled sample export is the default.
    #[arg(long, env = env::BITWARDEN_EXPORT, value_name = "FILE")]
    pub bitwarden_export: Option<PathBuf>,
    /// `POST /sync` before the first lookup, so new items are seen.
    #[arg(long, env = env::BITWARDEN_SYNC)]
    pub bitwarden_sync: bool,
    /// Concurrent Bitwarden lookups.
    #[arg(long, env = env::BITWARDEN_CONCURRENCY, value_name = "N", default_value_t = crate::resolve::bitwarden::resolver::DEFAULT_CONCURRENCY)]
    pub bitwarden_concurrency: usize,
    /// Folder id for backups of generated values (`backupTo: bitwarden`).
    #[arg(long, env = env::BITWARDEN_BACKUP_FOLDER, value_name = "ID")]
    pub bitwarden_backup_folder: Option<String>,
    /// Collection id for backups of generated values (needs --bitwarden-backup-organization).
    #[arg(long, env = env::BITWARDEN_BACKUP_COLLECTION, value_name = "ID", requires = "bitwarden_backup_organization")]
    pub bitwarden_backup_collection: Option<String>,
    /// Organisation id of the backup collection.
    #[arg(long, env = env::BITWARDEN_BACKUP_ORGANIZATION, value_name = "ID")]
    pub bitwarden_backup_organization: Option<String>,
    /// The Bitwarden Secrets Manager CLI [default: `bws` on PATH].
    #[arg(long, env = env::BWS_PATH, value_name = "PATH")]
    pub bws_path: Option<PathBuf>,
}

impl BitwardenArgs {
    fn settings(&self) -> BitwardenSettings {
        BitwardenSettings {
            url: self.bitwarden_url.clone(),
            export: self.bitwarden_export.clone(),
            sync: self.bitwarden_sync,
            bws_path: self.bws_path.clone(),
            bws_token: env::read(env::BWS_ACCESS_TOKEN).map(SecretString::from),
            concurrency: self.bitwarden_concurrency,
        }
    }

    /// The resolver for Bitwarden sources: `bw serve` or `--bitwarden-export`, and `bws`.
    /// Under `--dev`: the export (bundled sample by default), and placeholders for Secrets
    /// Manager unless `BWS_ACCESS_TOKEN` is set.
    ///
    /// # Errors
    /// An export file that cannot be read or is encrypted.
    pub fn resolver(&self, dev: bool) -> miette::Result<BitwardenResolver> {
        let settings = self.settings();
        let resolver = if dev {
            BitwardenResolver::for_dev(&settings)
        } else {
            BitwardenResolver::from_settings(&settings)
        };
        resolver
            .into_diagnostic()
            .wrap_err("cannot set up the bitwarden source")
    }

    /// Where generated values with `backupTo: bitwarden` go: `bw serve`. Under `--dev`, or
    /// with `--bitwarden-export` (read-only), only when `--bitwarden-url` is given; without a
    /// store, a plan that would create such a secret has a `backup-unavailable` error.
    ///
    /// # Errors
    /// When the HTTP client cannot be built.
    pub fn generated_store(
        &self,
        dev: bool,
    ) -> miette::Result<Option<Arc<dyn GeneratedValueStore>>> {
        if (dev || self.bitwarden_export.is_some()) && self.bitwarden_url.is_none() {
            return Ok(None);
        }
        let url = self.bitwarden_url.as_deref().unwrap_or(serve::DEFAULT_URL);
        let client = ServeClient::new(url)
            .into_diagnostic()
            .wrap_err("cannot configure the bw serve client")?;
        let location = BackupLocation {
            folder: self.bitwarden_backup_folder.clone(),
            organization: self.bitwarden_backup_organization.clone(),
            collection: self.bitwarden_backup_collection.clone(),
        };
        Ok(Some(Arc::new(BitwardenBackup::new(client, location))))
    }
}
