//! How to reach Infisical: URL, credentials, timeouts, retries, concurrency, TLS.

use std::path::PathBuf;
use std::time::Duration;

use secrecy::{ExposeSecret, SecretString};

/// The names under which [`ClientConfig::from_lookup`] looks its settings up. The CLI owns
/// them (its environment variables, `cli::env`); this module names none.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SettingNames {
    /// The instance URL (with or without `/api`).
    pub api_url: &'static str,
    /// Universal-auth client id.
    pub client_id: &'static str,
    /// Universal-auth client secret.
    pub client_secret: &'static str,
    /// A ready access token (machine identity or personal).
    pub token: &'static str,
}

/// The default instance.
pub const DEFAULT_API_URL: &str = "https://app.infisical.com";

/// Default largest answer body: 64 MiB. A recursive listing of 10,000 secrets with 4 KB values
/// is about 47 MiB of JSON; decoding needs about as much again, which keeps the peak well
/// inside a 256 MiB pod.
pub const DEFAULT_MAX_RESPONSE_BYTES: u64 = 64 * 1024 * 1024;

/// How the client authenticates.
#[derive(Clone)]
pub enum Credentials {
    /// Machine identity, universal auth: the client logs in, renews, and logs in again.
    UniversalAuth {
        /// Client id (not secret, but not logged either).
        client_id: String,
        /// Client secret.
        client_secret: SecretString,
    },
    /// A ready bearer token; used as is (no renewal possible).
    AccessToken(SecretString),
}

impl std::fmt::Debug for Credentials {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Credentials::UniversalAuth { .. } => f
                .debug_struct("UniversalAuth")
                .field("client_id", &"<redacted>")
                .field("client_secret", &"<redacted>")
                .finish(),
            Credentials::AccessToken(_) => {
                f.debug_tuple("AccessToken").field(&"<redacted>").finish()
            }
        }
    }
}

impl Credentials {
    /// Universal auth from id and secret.
    pub fn universal_auth(client_id: impl Into<String>, client_secret: impl Into<String>) -> Self {
        Credentials::UniversalAuth {
            client_id: client_id.into(),
            client_secret: SecretString::from(client_secret.into()),
        }
    }

    /// A ready access token.
    pub fn access_token(token: impl Into<String>) -> Self {
        Credentials::AccessToken(SecretString::from(token.into()))
    }

    pub(crate) fn is_empty(&self) -> bool {
        match self {
            Credentials::UniversalAuth {
                client_id,
                client_secret,
            } => client_id.trim().is_empty() || client_secret.expose_secret().trim().is_empty(),
            Credentials::AccessToken(token) => token.expose_secret().trim().is_empty(),
        }
    }
}

/// Retry policy for 429, 5xx and connection failures.
#[derive(Debug, Clone, PartialEq)]
pub struct RetryPolicy {
    /// Attempts per call, the first included (1 = no retries).
    pub max_attempts: u32,
    /// First backoff.
    pub base_backoff: Duration,
    /// Largest backoff between two attempts.
    pub max_backoff: Duration,
    /// Largest `Retry-After` honoured; longer answers are cut to this.
    pub max_retry_after: Duration,
    /// Total time a call may spend, retries and waits included; no retry starts after it.
    pub total_budget: Duration,
}

impl Default for RetryPolicy {
    fn default() -> Self {
        RetryPolicy {
            max_attempts: 6,
            base_backoff: Duration::from_millis(500),
            max_backoff: Duration::from_secs(30),
            max_retry_after: Duration::from_secs(60),
            total_budget: Duration::from_secs(300),
        }
    }
}

impl RetryPolicy {
    /// No retries at all.
    pub fn none() -> Self {
        RetryPolicy {
            max_attempts: 1,
            ..RetryPolicy::default()
        }
    }
}

/// Everything the HTTP client needs.
#[derive(Debug, Clone)]
pub struct ClientConfig {
    /// Instance URL, with or without a trailing `/api`.
    pub api_url: String,
    /// Credentials.
    pub credentials: Credentials,
    /// Timeout for one request (connect, send, whole answer).
    pub request_timeout: Duration,
    /// Timeout for establishing a connection.
    pub connect_timeout: Duration,
    /// Retries.
    pub retry: RetryPolicy,
    /// Requests in flight at most (across all tasks sharing the client).
    pub max_concurrent_requests: usize,
    /// Extra trusted CA certificates (PEM bundle), added to the system roots.
    pub ca_bundle: Option<PathBuf>,
    /// Accept any server certificate. For self-signed test instances only.
    pub insecure_skip_tls_verify: bool,
    /// Renew or log in again this long before the token expires.
    pub token_refresh_margin: Duration,
    /// Largest answer body read; a larger answer fails with `ApiError::TooLarge`.
    pub max_response_bytes: u64,
}

impl ClientConfig {
    /// A configuration with defaults for everything but URL and credentials.
    pub fn new(api_url: impl Into<String>, credentials: Credentials) -> Self {
        ClientConfig {
            api_url: api_url.into(),
            credentials,
            request_timeout: Duration::from_secs(30),
            connect_timeout: Duration::from_secs(10),
            retry: RetryPolicy::default(),
            max_concurrent_requests: 16,
            ca_bundle: None,
            insecure_skip_tls_verify: false,
            token_refresh_margin: Duration::from_secs(60),
            max_response_bytes: DEFAULT_MAX_RESPONSE_BYTES,
        }
    }

    /// Looks up the URL named `names.api_url` (default `https://app.infisical.com`) and the
    /// credentials: `names.client_id` + `names.client_secret`, else `names.token` (the CLI
    /// looks them up in its flags and the environment).
    pub fn from_lookup(
        names: &SettingNames,
        lookup: impl Fn(&str) -> Option<String>,
    ) -> Result<Self, ConfigError> {
        let get = |name: &str| lookup(name).filter(|v| !v.trim().is_empty());
        let api_url = get(names.api_url).unwrap_or_else(|| DEFAULT_API_URL.to_string());
        let credentials = match (
            get(names.client_id),
            get(names.client_secret),
            get(names.token),
        ) {
            (Some(id), Some(secret), _) => Credentials::universal_auth(id, secret),
            (Some(_), None, _) => return Err(ConfigError::Incomplete(names.client_secret)),
            (None, Some(_), _) => return Err(ConfigError::Incomplete(names.client_id)),
            (None, None, Some(token)) => Credentials::access_token(token),
            (None, None, None) => return Err(ConfigError::NoCredentials(*names)),
        };
        Ok(ClientConfig::new(api_url, credentials))
    }

    /// The API root: the URL with exactly one trailing `/api` (no trailing slash).
    pub fn api_root(&self) -> Result<reqwest::Url, ConfigError> {
        api_root(&self.api_url)
    }
}

/// `https://host`, `https://host/`, `https://host/api`, `https://host/api/` →
/// `https://host/api`. A path prefix (`https://host/infisical`) is kept.
pub fn api_root(url: &str) -> Result<reqwest::Url, ConfigError> {
    let trimmed = url.trim().trim_end_matches('/');
    let with_api = if trimmed.ends_with("/api") {
        trimmed.to_string()
    } else {
        format!("{trimmed}/api")
    };
    let parsed =
        reqwest::Url::parse(&with_api).map_err(|_| ConfigError::BadUrl(url.to_string()))?;
    match parsed.scheme() {
        "http" | "https" if parsed.host().is_some() => Ok(parsed),
        _ => Err(ConfigError::BadUrl(url.to_string())),
    }
}

/// Why a client could not be configured.
#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    /// Neither universal-auth credentials nor a token.
    #[error(
        "no infisical credentials: set {} and {}, or {}",
        .0.client_id,
        .0.client_secret,
        .0.token
    )]
    NoCredentials(SettingNames),
    /// Half of the universal-auth pair.
    #[error("incomplete infisical credentials: {0} is not set")]
    Incomplete(&'static str),
    /// Credentials given but empty.
    #[error("infisical credentials are empty")]
    EmptyCredentials,
    /// Not an http(s) URL.
    #[error("infisical api url is not an http(s) url: {0}")]
    BadUrl(String),
    /// The CA bundle could not be read or parsed.
    #[error("cannot use ca bundle {path}")]
    CaBundle {
        /// The file.
        path: PathBuf,
        /// Why.
        #[source]
        source: Box<dyn std::error::Error + Send + Sync>,
    },
    /// reqwest refused the settings.
    #[error("cannot build the http client")]
    Http(#[source] reqwest::Error),
    /// A limit of zero.
    #[error("max concurrent requests must be at least 1")]
    ZeroConcurrency,
    /// A response size limit of zero.
    #[error(
        "the largest infisical answer must be at least 1 byte (--infisical-max-response-bytes)"
    )]
    ZeroResponseLimit,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn api_root_accepts_with_or_without_api() {
        for url in [
            "https://infisical.example.com",
            "https://infisical.example.com/",
            "https://infisical.example.com/api",
            "https://infisical.example.com/api/",
        ] {
            assert_eq!(
                api_root(url).unwrap().as_str(),
                "https://infisical.example.com/api",
                "{url}"
            );
        }
        assert_eq!(
            api_root("http://127.0.0.1:8080/prefix").unwrap().as_str(),
            "http://127.0.0.1:8080/prefix/api"
        );
        assert!(api_root("ftp://x").is_err());
        assert!(api_root("not a url").is_err());
    }

    #[test]
    fn from_lookup_prefers_universal_auth_and_redacts() {
        const NAMES: SettingNames = SettingNames {
            api_url: "INFISICAL_API_URL",
            client_id: "INFISICAL_UNIVERSAL_AUTH_CLIENT_ID",
            client_secret: "INFISICAL_UNIVERSAL_AUTH_CLIENT_SECRET",
            token: "INFISICAL_TOKEN",
        };
        const ENV_API_URL: &str = NAMES.api_url;
        const ENV_CLIENT_ID: &str = NAMES.client_id;
        const ENV_CLIENT_SECRET: &str = NAMES.client_secret;
        const ENV_TOKEN: &str = NAMES.token;
        let vars = [
            (ENV_API_URL, "http://127.0.0.1:1"),
            (ENV_CLIENT_ID, "id-canary"),
            (ENV_CLIENT_SECRET, "secret-canary"),
            (ENV_TOKEN, "token-canary"),
        ];
        let config = ClientConfig::from_lookup(&NAMES, |name| {
            vars.iter()
                .find(|(k, _)| *k == name)
                .map(|(_, v)| v.to_string())
        })
        .unwrap();
        assert!(matches!(
            config.credentials,
            Credentials::UniversalAuth { .. }
        ));
        let debug = format!("{config:?}");
        assert!(!debug.contains("canary"), "{debug}");

        let config = ClientConfig::from_lookup(&NAMES, |name| {
            (name == ENV_TOKEN).then(|| "token-canary".to_string())
        })
        .unwrap();
        assert!(matches!(config.credentials, Credentials::AccessToken(_)));
        assert_eq!(config.api_url, DEFAULT_API_URL);

        assert!(matches!(
            ClientConfig::from_lookup(&NAMES, |_| None),
            Err(ConfigError::NoCredentials(_))
        ));
        assert!(matches!(
            ClientConfig::from_lookup(&NAMES, |name| (name == ENV_CLIENT_ID)
                .then(|| "x".to_string())),
            Err(ConfigError::Incomplete(ENV_CLIENT_SECRET))
        ));
    }
}
