//! What `run` and `mcp` share to reach a Git remote: credentials, host keys, and reading a
//! secret from a file or the environment.

use std::path::PathBuf;

use miette::{IntoDiagnostic, WrapErr};
use secrecy::SecretString;

use super::env;
use crate::source::git::GitAuth;

/// Credentials and host keys for a Git remote.
#[derive(Debug, Clone, clap::Args)]
pub struct GitAuthArgs {
    /// HTTPS username (the password or token comes from the environment or --git-password-file).
    #[arg(long, env = env::GIT_USERNAME)]
    pub git_username: Option<String>,
    /// A file holding the HTTPS password or token (e.g. a mounted Secret).
    #[arg(long, value_name = "FILE")]
    pub git_password_file: Option<PathBuf>,
    /// SSH private key file.
    #[arg(long, env = env::GIT_SSH_KEY, value_name = "FILE")]
    pub ssh_key: Option<PathBuf>,
    /// OpenSSH known-hosts file; an SSH host key not listed here is refused.
    #[arg(long, env = env::GIT_KNOWN_HOSTS, value_name = "FILE")]
    pub known_hosts: Option<PathBuf>,
}

impl GitAuthArgs {
    /// SSH when a key is given; otherwise HTTPS basic auth when a password or token is found
    /// (`--git-password-file`, then the password and token variables); otherwise none.
    pub fn auth(&self) -> miette::Result<GitAuth> {
        if let Some(key) = &self.ssh_key {
            return Ok(GitAuth::SshKey {
                private_key: key.clone(),
                passphrase: secret(None, env::GIT_SSH_KEY_PASSPHRASE)?,
            });
        }
        let password = match secret(self.git_password_file.as_ref(), env::GIT_PASSWORD)? {
            Some(password) => Some(password),
            None => secret(None, env::GIT_TOKEN)?,
        };
        Ok(match password {
            Some(password) => GitAuth::Basic {
                username: self.git_username.clone().unwrap_or_else(|| "git".into()),
                password,
            },
            None => GitAuth::None,
        })
    }
}

/// A secret from `file` when given, else from the environment `variable`; a trailing line end
/// is dropped, an empty value counts as absent.
pub(crate) fn secret(
    file: Option<&PathBuf>,
    variable: &str,
) -> miette::Result<Option<SecretString>> {
    let text = match file {
        Some(path) => Some(
            std::fs::read_to_string(path)
                .into_diagnostic()
                .wrap_err_with(|| format!("cannot read {}", path.display()))?,
        ),
        None => env::read(variable),
    };
    Ok(text
        .map(|text| text.trim_end_matches(['\n', '\r']).to_string())
        .filter(|text| file.is_some() || !text.is_empty())
        .map(SecretString::from))
}
