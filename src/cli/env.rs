//! Environment variable names, in one place. Flags that read an environment variable name it
//! here; nothing else in the crate calls `std::env::var` for settings.

/// `--color`: `auto`, `always` or `never`.
pub const COLOR: &str = "INFISICAL_GITOPS_COLOR";
/// `--log-format`: `text` or `json`.
pub const LOG_FORMAT: &str = "INFISICAL_GITOPS_LOG_FORMAT";
/// Log filter in `tracing` `EnvFilter` syntax (e.g. `info`, `infisical_gitops=debug`).
pub const LOG: &str = "INFISICAL_GITOPS_LOG";
/// Disables colours when set to any non-empty value (<https://no-color.org>).
pub const NO_COLOR: &str = "NO_COLOR";
/// Set to `1` to make the schema staleness test rewrite `schema/` instead of failing.
pub const UPDATE_SCHEMA: &str = "INFISICAL_GITOPS_UPDATE_SCHEMA";
/// `dev-server --listen`.
pub const DEV_SERVER_LISTEN: &str = "INFISICAL_GITOPS_DEV_SERVER_LISTEN";
/// `dev-server --client-id`.
pub const DEV_SERVER_CLIENT_ID: &str = "INFISICAL_GITOPS_DEV_SERVER_CLIENT_ID";
/// `dev-server --client-secret`.
pub const DEV_SERVER_CLIENT_SECRET: &str = "INFISICAL_GITOPS_DEV_SERVER_CLIENT_SECRET";
/// `dev-server --state`.
pub const DEV_SERVER_STATE: &str = "INFISICAL_GITOPS_DEV_SERVER_STATE";
/// The Infisical API URL (name as in Infisical's own CLI).
pub const INFISICAL_API_URL: &str = "INFISICAL_API_URL";
/// Universal-auth client id (name as in Infisical's own CLI).
pub const INFISICAL_UNIVERSAL_AUTH_CLIENT_ID: &str = "INFISICAL_UNIVERSAL_AUTH_CLIENT_ID";
/// Universal-auth client secret (name as in Infisical's own CLI).
pub const INFISICAL_UNIVERSAL_AUTH_CLIENT_SECRET: &str = "INFISICAL_UNIVERSAL_AUTH_CLIENT_SECRET";
/// A ready access token, instead of universal auth (name as in Infisical's own CLI).
pub const INFISICAL_TOKEN: &str = "INFISICAL_TOKEN";
/// Extra CA certificates (PEM) trusted for Infisical (`--ca-cert`).
pub const INFISICAL_CA_CERT: &str = "INFISICAL_CA_CERT";

/// `import --bitwarden-url`: the `bw serve` base URL.
pub const BITWARDEN_URL: &str = "INFISICAL_GITOPS_BITWARDEN_URL";

/// Reads one of the variables above: the one place the CLI reads the environment for settings
/// that clap does not own (credentials are never taken from flags).
pub fn read(name: &str) -> Option<String> {
    std::env::var(name).ok()
}
