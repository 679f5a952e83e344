//! [`BitwardenError`]: every way a Bitwarden lookup or backup can fail. Never contains a value.

use std::sync::Arc;

use super::item::FieldError;
use crate::net::body::ByteSize;

/// The fix for a locked vault, quoted in the error.
pub(crate) const UNLOCK_HINT: &str =
    "unlock: `bw unlock`, then restart `bw serve` with BW_SESSION, or POST /unlock";

/// A Bitwarden failure. Cheap to clone (causes are shared), so one failed lookup can be reported
/// for every secret that depends on it.
#[derive(Debug, Clone, thiserror::Error)]
pub enum BitwardenError {
    /// `bw serve` answered "Vault is locked.".
    #[error("the bitwarden vault is locked; {UNLOCK_HINT}")]
    VaultLocked,
    /// `bw serve` answered "You are not logged in.".
    #[error(
        "`bw serve` is not logged in; run `bw login` (or `bw login --apikey`), then unlock and restart `bw serve`"
    )]
    NotLoggedIn,
    /// No item with that id.
    #[error("no bitwarden item has id {id}")]
    ItemNotFound {
        /// The item id.
        id: String,
    },
    /// No item with that exact name in the scope.
    #[error("no bitwarden item is named {name:?} in {scope}")]
    NameNotFound {
        /// The name.
        name: String,
        /// `folder …` / `collection …`.
        scope: String,
    },
    /// Several items with that exact name in the scope.
    #[error("{count} bitwarden items are named {name:?} in {scope} (ids: {}); reference one by `item: <id>`", candidates.join(", "), count = candidates.len())]
    Ambiguous {
        /// The name.
        name: String,
        /// `folder …` / `collection …`.
        scope: String,
        /// The matching item ids, sorted.
        candidates: Vec<String>,
    },
    /// The item exists but the field cannot be read.
    #[error("bitwarden item {id}: {reason}")]
    Field {
        /// The item id.
        id: String,
        /// Why (part of the message, so not repeated as a cause).
        reason: FieldError,
    },
    /// `bw serve` could not be reached.
    #[error(
        "`bw serve` at {url} is unreachable; start it with `bw serve --port 8087` (after `bw unlock`) or set --bitwarden-url"
    )]
    Unreachable {
        /// The base URL.
        url: String,
        /// The transport error.
        #[source]
        source: Arc<reqwest::Error>,
    },
    /// `bw serve` answered 403 (it rejects requests with an `Origin` header or a Host outside
    /// its allow-list).
    #[error(
        "`bw serve` at {url} refused the request (403 Forbidden): it accepts only the Host names localhost, 127.0.0.1, [::1] and its --hostname; start it with `--hostname` set to the name used here"
    )]
    Forbidden {
        /// The base URL.
        url: String,
    },
    /// `bw serve` answered `success: false` with another message.
    #[error("`bw serve` refused {what}: {message}")]
    Refused {
        /// What was asked.
        what: String,
        /// The CLI's message.
        message: String,
    },
    /// `bw serve` answered something that is not its envelope.
    #[error("`bw serve` answered {what} with an unexpected response (status {status})")]
    Protocol {
        /// What was asked.
        what: String,
        /// HTTP status.
        status: u16,
    },
    /// `bw serve` answered with a body larger than the limit.
    #[error(
        "`bw serve` answered {what} with more than {limit}, the limit; reference the item by \
         `item: <id>`, or narrow its folder or collection so that fewer items match"
    )]
    AnswerTooLarge {
        /// What was asked.
        what: String,
        /// The limit.
        limit: ByteSize,
    },
    /// `POST /sync` failed.
    #[error("`bw serve` could not sync the vault: {message}")]
    SyncFailed {
        /// The CLI's message.
        message: String,
    },
    /// The export file could not be read.
    #[error("cannot read the bitwarden export {path}")]
    ExportRead {
        /// The file.
        path: String,
        /// The IO error.
        #[source]
        source: Arc<std::io::Error>,
    },
    /// The export file is not a Bitwarden JSON export.
    #[error("{path} is not a bitwarden json export (`bw export --format json`)")]
    ExportParse {
        /// The file.
        path: String,
        /// The JSON error.
        #[source]
        source: Arc<serde_json::Error>,
    },
    /// The export file is encrypted.
    #[error(
        "{path} is an encrypted bitwarden export; infisical-gitops reads only unencrypted json exports (`bw export --format json`), kept out of Git and readable only by you"
    )]
    ExportEncrypted {
        /// The file.
        path: String,
    },
    /// No Secrets Manager access token.
    #[error(
        "no bitwarden secrets manager access token; set BWS_ACCESS_TOKEN to a machine account's access token"
    )]
    SecretsManagerTokenMissing,
    /// `bws` rejected the access token.
    #[error(
        "the bitwarden secrets manager access token is invalid or expired (bws: {message}); create a new one for the machine account and set BWS_ACCESS_TOKEN"
    )]
    SecretsManagerTokenInvalid {
        /// `bws`'s message.
        message: String,
    },
    /// No such secret, or the machine account may not read it.
    #[error(
        "bitwarden secrets manager secret {id} does not exist or the machine account cannot read it"
    )]
    SecretNotFound {
        /// The secret id.
        id: String,
    },
    /// The Secrets Manager secret has an empty value (or only whitespace).
    #[error("bitwarden secrets manager secret {id} has an empty value (empty or only whitespace)")]
    SecretEmpty {
        /// The secret id.
        id: String,
    },
    /// `bws` could not be started.
    #[error(
        "cannot run the bitwarden secrets manager cli `{program}`; install `bws` or set --bws-path"
    )]
    BwsMissing {
        /// The program.
        program: String,
        /// The IO error.
        #[source]
        source: Arc<std::io::Error>,
    },
    /// `bws` took too long.
    #[error("`{program}` did not answer within {seconds} s")]
    BwsTimeout {
        /// The program.
        program: String,
        /// The limit.
        seconds: u64,
    },
    /// `bws` failed otherwise.
    #[error("`{program}` failed (exit status {status}): {message}")]
    BwsFailed {
        /// The program.
        program: String,
        /// Exit status (or `signal`).
        status: String,
        /// Its first error line.
        message: String,
    },
    /// `bws` printed more than the limit.
    #[error("`{program}` printed more than {limit}, the limit for one secret")]
    BwsOutputTooLarge {
        /// The program.
        program: String,
        /// The limit.
        limit: ByteSize,
    },
    /// `bws` printed something other than a secret.
    #[error("`{program}` printed output that is not a secret in json")]
    BwsOutput {
        /// The program.
        program: String,
    },
    /// The source is not configured in this run.
    #[error("{what} is not configured; {hint}")]
    NotConfigured {
        /// What is missing.
        what: &'static str,
        /// How to configure it.
        hint: &'static str,
    },
}

impl BitwardenError {
    /// A stable kebab-case code.
    pub fn code(&self) -> &'static str {
        match self {
            BitwardenError::VaultLocked => "vault-locked",
            BitwardenError::NotLoggedIn => "not-logged-in",
            BitwardenError::ItemNotFound { .. }
            | BitwardenError::NameNotFound { .. }
            | BitwardenError::SecretNotFound { .. } => "not-found",
            BitwardenError::Ambiguous { .. } => "ambiguous",
            BitwardenError::Field { .. } | BitwardenError::SecretEmpty { .. } => "field-missing",
            BitwardenError::Unreachable { .. } => "unreachable",
            BitwardenError::Forbidden { .. } => "forbidden",
            BitwardenError::Refused { .. }
            | BitwardenError::Protocol { .. }
            | BitwardenError::AnswerTooLarge { .. }
            | BitwardenError::SyncFailed { .. } => "bitwarden-error",
            BitwardenError::ExportRead { .. }
            | BitwardenError::ExportParse { .. }
            | BitwardenError::ExportEncrypted { .. } => "export-unreadable",
            BitwardenError::SecretsManagerTokenInvalid { .. } => "token-invalid",
            BitwardenError::BwsMissing { .. }
            | BitwardenError::BwsTimeout { .. }
            | BitwardenError::BwsFailed { .. }
            | BitwardenError::BwsOutputTooLarge { .. }
            | BitwardenError::BwsOutput { .. } => "bws-failed",
            BitwardenError::SecretsManagerTokenMissing | BitwardenError::NotConfigured { .. } => {
                "not-configured"
            }
        }
    }

    /// Whether the error concerns the whole backend (every lookup would fail the same way),
    /// rather than one reference.
    pub fn is_backend_wide(&self) -> bool {
        matches!(
            self,
            BitwardenError::VaultLocked
                | BitwardenError::NotLoggedIn
                | BitwardenError::Unreachable { .. }
                | BitwardenError::Forbidden { .. }
                | BitwardenError::SecretsManagerTokenMissing
                | BitwardenError::SecretsManagerTokenInvalid { .. }
                | BitwardenError::BwsMissing { .. }
                | BitwardenError::ExportRead { .. }
                | BitwardenError::ExportParse { .. }
                | BitwardenError::ExportEncrypted { .. }
                | BitwardenError::NotConfigured { .. }
        )
    }
}
