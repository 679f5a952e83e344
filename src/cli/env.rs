//! Environment variable names, in one place. Flags that read an environment variable name it
//! here; nothing else in the crate calls `std::env::var` for settings.

/// `--color`: `auto`, `always` or `never`.
pub(crate) const COLOR: &str = "INFISICAL_GITOPS_COLOR";
/// `--log-format`: `text` or `json`.
pub(crate) const LOG_FORMAT: &str = "INFISICAL_GITOPS_LOG_FORMAT";
/// Log filter in `tracing` `EnvFilter` syntax (e.g. `info`, `infisical_gitops=debug`).
pub(crate) const LOG: &str = "INFISICAL_GITOPS_LOG";
/// Disables colours when set to any non-empty value (<https://no-color.org>).
pub(crate) const NO_COLOR: &str = "NO_COLOR";
/// `dev-server --listen`.
pub(crate) const DEV_SERVER_LISTEN: &str = "INFISICAL_GITOPS_DEV_SERVER_LISTEN";
/// `dev-server --client-id`.
pub(crate) const DEV_SERVER_CLIENT_ID: &str = "INFISICAL_GITOPS_DEV_SERVER_CLIENT_ID";
/// `dev-server --client-secret`.
pub(crate) const DEV_SERVER_CLIENT_SECRET: &str = "INFISICAL_GITOPS_DEV_SERVER_CLIENT_SECRET";
/// `dev-server --state`.
pub(crate) const DEV_SERVER_STATE: &str = "INFISICAL_GITOPS_DEV_SERVER_STATE";
/// The Infisical API URL (name as in Infisical's own CLI).
pub(crate) const INFISICAL_API_URL: &str = "INFISICAL_API_URL";
/// Universal-auth client id (name as in Infisical's own CLI).
pub(crate) const INFISICAL_UNIVERSAL_AUTH_CLIENT_ID: &str = "INFISICAL_UNIVERSAL_AUTH_CLIENT_ID";
/// Universal-auth client secret (name as in Infisical's own CLI).
pub(crate) const INFISICAL_UNIVERSAL_AUTH_CLIENT_SECRET: &str =
    "INFISICAL_UNIVERSAL_AUTH_CLIENT_SECRET";
/// A ready access token, instead of universal auth (name as in Infisical's own CLI).
pub(crate) const INFISICAL_TOKEN: &str = "INFISICAL_TOKEN";
/// The four above, as the Infisical client configuration looks them up.
pub(crate) const INFISICAL_SETTINGS: crate::infisical::client::SettingNames =
    crate::infisical::client::SettingNames {
        api_url: INFISICAL_API_URL,
        client_id: INFISICAL_UNIVERSAL_AUTH_CLIENT_ID,
        client_secret: INFISICAL_UNIVERSAL_AUTH_CLIENT_SECRET,
        token: INFISICAL_TOKEN,
    };
/// Extra CA certificates (PEM) trusted for Infisical (`--ca-cert`).
pub(crate) const INFISICAL_CA_CERT: &str = "INFISICAL_CA_CERT";
/// `--infisical-max-response-bytes`: the largest Infisical answer read.
pub(crate) const INFISICAL_MAX_RESPONSE_BYTES: &str =
    "INFISICAL_GITOPS_INFISICAL_MAX_RESPONSE_BYTES";

/// `--bitwarden-url`: where `bw serve` listens.
pub(crate) const BITWARDEN_URL: &str = "INFISICAL_GITOPS_BITWARDEN_URL";
/// `--bitwarden-export`: an unencrypted `bw export --format json` file.
pub(crate) const BITWARDEN_EXPORT: &str = "INFISICAL_GITOPS_BITWARDEN_EXPORT";
/// `--bitwarden-sync`: `POST /sync` before the first lookup.
pub(crate) const BITWARDEN_SYNC: &str = "INFISICAL_GITOPS_BITWARDEN_SYNC";
/// `--bitwarden-concurrency`: concurrent Bitwarden lookups.
pub(crate) const BITWARDEN_CONCURRENCY: &str = "INFISICAL_GITOPS_BITWARDEN_CONCURRENCY";
/// `--bitwarden-backup-folder`: folder id for backups of generated values.
pub(crate) const BITWARDEN_BACKUP_FOLDER: &str = "INFISICAL_GITOPS_BITWARDEN_BACKUP_FOLDER";
/// `--bitwarden-backup-collection`: collection id for backups of generated values.
pub(crate) const BITWARDEN_BACKUP_COLLECTION: &str = "INFISICAL_GITOPS_BITWARDEN_BACKUP_COLLECTION";
/// `--bitwarden-backup-organization`: organisation of the backup collection.
pub(crate) const BITWARDEN_BACKUP_ORGANIZATION: &str =
    "INFISICAL_GITOPS_BITWARDEN_BACKUP_ORGANIZATION";
/// `--bws-path`: the Bitwarden Secrets Manager CLI.
pub(crate) const BWS_PATH: &str = "INFISICAL_GITOPS_BWS_PATH";
/// The Bitwarden Secrets Manager access token (name as in Bitwarden's own `bws`).
pub(crate) const BWS_ACCESS_TOKEN: &str = "BWS_ACCESS_TOKEN";
/// `run --git-url`.
pub(crate) const GIT_URL: &str = "INFISICAL_GITOPS_GIT_URL";
/// `run --git-branch`.
pub(crate) const GIT_BRANCH: &str = "INFISICAL_GITOPS_GIT_BRANCH";
/// `run --git-path`.
pub(crate) const GIT_PATH: &str = "INFISICAL_GITOPS_GIT_PATH";
/// `run --work-dir`.
pub(crate) const WORK_DIR: &str = "INFISICAL_GITOPS_WORK_DIR";
/// `run --git-username`.
pub(crate) const GIT_USERNAME: &str = "INFISICAL_GITOPS_GIT_USERNAME";
/// The HTTPS password for the Git remote (never a flag).
pub(crate) const GIT_PASSWORD: &str = "INFISICAL_GITOPS_GIT_PASSWORD";
/// An HTTPS token for the Git remote, used as the password when no password is set.
pub(crate) const GIT_TOKEN: &str = "INFISICAL_GITOPS_GIT_TOKEN";
/// `run --ssh-key`.
pub(crate) const GIT_SSH_KEY: &str = "INFISICAL_GITOPS_GIT_SSH_KEY";
/// The SSH key's passphrase (never a flag).
pub(crate) const GIT_SSH_KEY_PASSPHRASE: &str = "INFISICAL_GITOPS_GIT_SSH_KEY_PASSPHRASE";
/// `run --known-hosts`.
pub(crate) const GIT_KNOWN_HOSTS: &str = "INFISICAL_GITOPS_GIT_KNOWN_HOSTS";
/// `run --allowed-signers`.
pub(crate) const ALLOWED_SIGNERS: &str = "INFISICAL_GITOPS_ALLOWED_SIGNERS";
/// `run --allowed-pgp-keys`.
pub(crate) const ALLOWED_PGP_KEYS: &str = "INFISICAL_GITOPS_ALLOWED_PGP_KEYS";
/// `run --listen`.
pub(crate) const LISTEN: &str = "INFISICAL_GITOPS_LISTEN";
/// The GitLab webhook token (`X-Gitlab-Token`).
pub(crate) const GITLAB_WEBHOOK_TOKEN: &str = "INFISICAL_GITOPS_GITLAB_WEBHOOK_TOKEN";
/// The GitHub webhook secret (`X-Hub-Signature-256`).
pub(crate) const GITHUB_WEBHOOK_SECRET: &str = "INFISICAL_GITOPS_GITHUB_WEBHOOK_SECRET";
/// `run --notify-format`: `auto`, `slack`, `discord`, `teams` or `json`.
pub(crate) const NOTIFY_FORMAT: &str = "INFISICAL_GITOPS_NOTIFY_FORMAT";
/// Webhook URLs for `run` notifications, separated by spaces or newlines (as `--notify`; read
/// by the CLI itself so that `--help` never shows them).
pub(crate) const NOTIFY_URLS: &str = "INFISICAL_GITOPS_NOTIFY_URLS";
/// `run --lease-namespace` (set by the Deployment from the downward API).
pub(crate) const POD_NAMESPACE: &str = "POD_NAMESPACE";
/// `run --lease-identity` (set by the Deployment from the downward API).
pub(crate) const POD_NAME: &str = "POD_NAME";

/// The MCP server's bearer token (`mcp`, `run --mcp`; or `--mcp-token-file`).
pub(crate) const MCP_TOKEN: &str = "INFISICAL_GITOPS_MCP_TOKEN";
/// `mcp --listen`.
pub(crate) const MCP_LISTEN: &str = "INFISICAL_GITOPS_MCP_LISTEN";
/// `--forge`: `gitlab` or `github`, where proposals open merge or pull requests.
pub(crate) const FORGE: &str = "INFISICAL_GITOPS_FORGE";
/// `--forge-url`: the forge's API URL.
pub(crate) const FORGE_URL: &str = "INFISICAL_GITOPS_FORGE_URL";
/// `--forge-project`: `group/repo` (GitLab) or `owner/repo` (GitHub).
pub(crate) const FORGE_PROJECT: &str = "INFISICAL_GITOPS_FORGE_PROJECT";
/// The forge API token (or `--forge-token-file`).
pub(crate) const FORGE_TOKEN: &str = "INFISICAL_GITOPS_FORGE_TOKEN";
/// `plan --request`: the merge request `iid` or pull request number to comment on.
pub(crate) const FORGE_REQUEST: &str = "INFISICAL_GITOPS_FORGE_REQUEST";
/// `plan --head-commit`: the request's head commit, which gets the plan status.
pub(crate) const FORGE_HEAD_COMMIT: &str = "INFISICAL_GITOPS_FORGE_HEAD_COMMIT";
/// `plan --status-url`: the page a commit status links to (e.g. the CI job).
pub(crate) const STATUS_URL: &str = "INFISICAL_GITOPS_STATUS_URL";
/// `--author-name`: the author of proposal commits.
pub(crate) const AUTHOR_NAME: &str = "INFISICAL_GITOPS_AUTHOR_NAME";
/// `--author-email`: the author e-mail of proposal commits.
pub(crate) const AUTHOR_EMAIL: &str = "INFISICAL_GITOPS_AUTHOR_EMAIL";

/// Reads one of the variables above: the one place the CLI reads the environment for settings
/// that clap does not own (credentials are never taken from flags).
pub(crate) fn read(name: &str) -> Option<String> {
    std::env::var(name).ok()
}
