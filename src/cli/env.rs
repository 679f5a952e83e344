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
