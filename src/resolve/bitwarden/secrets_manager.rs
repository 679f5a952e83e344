//! Bitwarden Secrets Manager through the user's `bws` CLI, run as a separate process.
//!
//! Why a subprocess: Bitwarden's Secrets Manager SDK crates carry a licence that forbids
//! offering an application built with them to third parties, so they are not linked into this
//! binary. `bws` is Bitwarden's own client for the same API; calling it keeps the decryption
//! flow in Bitwarden's code and our binary licence-clean.
//!
//! `bws secret get <id> --output json` (one value) and `bws secret list [project] --output json`
//! (every secret the token can read, for `import`), with the access token in `BWS_ACCESS_TOKEN`
//! (never on the command line), stdin closed, a time limit, bounded output, and the process
//! killed if we stop waiting. Output parsing and error classification are pure functions
//! ([`parse_secret`], [`parse_secret_list`], [`classify_failure`]).

use std::path::PathBuf;
use std::process::Stdio;
use std::time::Duration;

use secrecy::{ExposeSecret, SecretString};
use serde::Deserialize;

use super::error::BitwardenError;
use super::item::Sensitive;
use crate::model::SecretValue;
use crate::net::body::ByteSize;

/// Default program name (found on `PATH`).
pub const DEFAULT_PROGRAM: &str = "bws";

/// Default time limit for one `bws` call.
pub const DEFAULT_TIMEOUT: Duration = Duration::from_secs(30);

/// Largest standard output read from `bws`: 1 MiB (one secret in JSON; Secrets Manager values
/// are far smaller). More fails the lookup and the process is killed.
pub const MAX_STDOUT_BYTES: u64 = 1024 * 1024;

/// Largest standard output read from `bws secret list`: 64 MiB (every secret of the token's
/// projects, values included). More fails the listing and the process is killed.
pub const MAX_LIST_STDOUT_BYTES: u64 = 64 * 1024 * 1024;

/// Largest standard error kept from `bws` (for its error message).
pub const MAX_STDERR_BYTES: u64 = 64 * 1024;

/// Runs `bws`.
#[derive(Debug, Clone)]
pub struct BwsCli {
    program: PathBuf,
    token: Option<SecretString>,
    server_url: Option<String>,
    timeout: Duration,
}

/// The fields of `bws secret get --output json` we read.
#[derive(Debug, Deserialize)]
struct BwsSecret {
    #[serde(default)]
    id: Option<String>,
    value: Sensitive,
}

/// One secret of `bws secret list --output json`: its id, key, project and value (redacted in
/// `Debug`).
#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ListedSecret {
    /// The secret id (a UUID).
    pub id: String,
    /// The secret's key (its name in Secrets Manager).
    #[serde(default)]
    pub key: String,
    /// The project it belongs to.
    #[serde(default)]
    pub project_id: Option<String>,
    /// The value.
    pub value: Sensitive,
}

impl BwsCli {
    /// `bws` at `program` (a name on `PATH` or a path), with an access token (`None`: every call
    /// fails with "no access token").
    pub fn new(program: impl Into<PathBuf>, token: Option<SecretString>) -> Self {
        Self {
            program: program.into(),
            token,
            server_url: None,
            timeout: DEFAULT_TIMEOUT,
        }
    }

    /// Self-hosted Bitwarden: `bws --server-url`.
    pub fn with_server_url(mut self, url: Option<String>) -> Self {
        self.server_url = url;
        self
    }

    /// The time limit for one call.
    pub fn with_timeout(mut self, timeout: Duration) -> Self {
        self.timeout = timeout;
        self
    }

    fn program_name(&self) -> String {
        self.program.display().to_string()
    }

    /// Reads one secret's value.
    pub async fn secret(&self, id: &str) -> Result<SecretValue, BitwardenError> {
        // Ids are UUIDs; anything else could be read by `bws` as an option.
        if uuid::Uuid::parse_str(id).is_err() {
            self.token()?;
            return Err(BitwardenError::SecretNotFound { id: id.to_string() });
        }
        let stdout = self.run(&["get", id], MAX_STDOUT_BYTES, id).await?;
        parse_secret(&stdout, id, &self.program_name())
    }

    /// Every secret the token can read (`bws secret list`), or those of one project.
    ///
    /// # Errors
    /// No token, `bws` missing or failing, more than [`MAX_LIST_STDOUT_BYTES`] of output, the
    /// time limit, or output that is not a list of secrets.
    pub async fn list_secrets(
        &self,
        project: Option<&str>,
    ) -> Result<Vec<ListedSecret>, BitwardenError> {
        let mut args = vec!["list"];
        if let Some(project) = project {
            if uuid::Uuid::parse_str(project).is_err() {
                self.token()?;
                return Err(BitwardenError::SecretNotFound {
                    id: project.to_string(),
                });
            }
            args.push(project);
        }
        let stdout = self
            .run(
                &args,
                MAX_LIST_STDOUT_BYTES,
                project.unwrap_or("secret list"),
            )
            .await?;
        parse_secret_list(&stdout, &self.program_name())
    }

    fn token(&self) -> Result<&SecretString, BitwardenError> {
        self.token
            .as_ref()
            .filter(|t| !t.expose_secret().trim().is_empty())
            .ok_or(BitwardenError::SecretsManagerTokenMissing)
    }

    /// Runs `bws secret <args…> --output json --color no`; returns its standard output (at most
    /// `limit` bytes, zeroized on drop). `subject` names what was asked for in a "not found".
    async fn run(
        &self,
        args: &[&str],
        limit: u64,
        subject: &str,
    ) -> Result<zeroize::Zeroizing<Vec<u8>>, BitwardenError> {
        let token = self.token()?;
        let mut command = tokio::process::Command::new(&self.program);
        command
            .arg("secret")
            .args(args)
            .arg("--output")
            .arg("json")
            .arg("--color")
            .arg("no");
        if let Some(url) = &self.server_url {
            command.arg("--server-url").arg(url);
        }
        command
            .env("BWS_ACCESS_TOKEN", token.expose_secret())
            .env("NO_COLOR", "1")
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .kill_on_drop(true);
        let child = command
            .spawn()
            .map_err(|source| BitwardenError::BwsMissing {
                program: self.program_name(),
                source: std::sync::Arc::new(source),
            })?;
        let mut stdout = zeroize::Zeroizing::new(Vec::new());
        let mut stderr = Vec::new();
        // The child is killed when this future is dropped (time limit, output too large).
        let status = tokio::time::timeout(
            self.timeout,
            self.bounded_output(child, limit, &mut stdout, &mut stderr),
        )
        .await
        .map_err(|_| BitwardenError::BwsTimeout {
            program: self.program_name(),
            seconds: self.timeout.as_secs(),
        })
        .and_then(|finished| finished)?;
        if status.success() {
            Ok(stdout)
        } else {
            let status = status
                .code()
                .map_or_else(|| "signal".to_string(), |c| c.to_string());
            Err(classify_failure(
                &String::from_utf8_lossy(&stderr),
                subject,
                &self.program_name(),
                status,
            ))
        }
    }

    /// Reads at most `limit` bytes of standard output and [`MAX_STDERR_BYTES`] of standard
    /// error (the rest of the error output is discarded), then waits for the exit.
    async fn bounded_output(
        &self,
        mut child: tokio::process::Child,
        limit: u64,
        stdout: &mut Vec<u8>,
        stderr: &mut Vec<u8>,
    ) -> Result<std::process::ExitStatus, BitwardenError> {
        use tokio::io::AsyncReadExt;
        let io = |source: std::io::Error| BitwardenError::BwsMissing {
            program: self.program_name(),
            source: std::sync::Arc::new(source),
        };
        let (Some(mut out), Some(mut err)) = (child.stdout.take(), child.stderr.take()) else {
            return Err(io(std::io::Error::other("no pipe to the child process")));
        };
        let read_stdout = async {
            (&mut out)
                .take(limit + 1)
                .read_to_end(stdout)
                .await
                .map_err(io)?;
            if stdout.len() as u64 > limit {
                return Err(BitwardenError::BwsOutputTooLarge {
                    program: self.program_name(),
                    limit: ByteSize(limit),
                });
            }
            Ok(())
        };
        let read_stderr = async {
            (&mut err)
                .take(MAX_STDERR_BYTES)
                .read_to_end(stderr)
                .await
                .map_err(io)?;
            // Whatever else it writes is read and dropped, so that it never blocks on a full pipe.
            tokio::io::copy(&mut err, &mut tokio::io::sink())
                .await
                .map_err(io)?;
            Ok(())
        };
        tokio::try_join!(read_stdout, read_stderr)?;
        child.wait().await.map_err(io)
    }
}

/// Parses `bws secret get --output json`.
pub fn parse_secret(stdout: &[u8], id: &str, program: &str) -> Result<SecretValue, BitwardenError> {
    let secret: BwsSecret =
        serde_json::from_slice(stdout).map_err(|_| BitwardenError::BwsOutput {
            program: program.to_string(),
        })?;
    if secret
        .id
        .as_deref()
        .is_some_and(|got| !got.eq_ignore_ascii_case(id))
    {
        return Err(BitwardenError::BwsOutput {
            program: program.to_string(),
        });
    }
    let value = secret.value.0;
    if value.is_blank() {
        return Err(BitwardenError::SecretEmpty { id: id.to_string() });
    }
    Ok(value)
}

/// Parses `bws secret list --output json`: a JSON array of secrets. Secrets with an empty value
/// are kept out (nothing could match them).
pub fn parse_secret_list(
    stdout: &[u8],
    program: &str,
) -> Result<Vec<ListedSecret>, BitwardenError> {
    let secrets: Vec<ListedSecret> =
        serde_json::from_slice(stdout).map_err(|_| BitwardenError::BwsOutput {
            program: program.to_string(),
        })?;
    Ok(secrets
        .into_iter()
        .filter(|secret| !secret.value.0.is_blank())
        .collect())
}

/// The message `bws` printed: the line after `0:` in its error report, else the first
/// non-empty line; at most 200 characters, terminal escapes shown as text.
pub fn error_message(stderr: &str) -> String {
    let lines: Vec<&str> = stderr.lines().map(str::trim).collect();
    let message = lines
        .iter()
        .find_map(|l| l.strip_prefix("0:").map(str::trim))
        .or_else(|| {
            lines
                .iter()
                .copied()
                .find(|l| !l.is_empty() && *l != "Error:")
        })
        .unwrap_or("no error message");
    let message: String = message.chars().take(200).collect();
    crate::escape::visible(&message).into_owned()
}

/// Maps a failed `bws` run to an error.
pub fn classify_failure(stderr: &str, id: &str, program: &str, status: String) -> BitwardenError {
    let message = error_message(stderr);
    let lower = stderr.to_lowercase();
    let token_words = [
        "access token",
        "wrong version",
        "unauthorized",
        "401",
        "invalid_client",
        "invalid_grant",
    ];
    if token_words.iter().any(|w| lower.contains(w)) {
        BitwardenError::SecretsManagerTokenInvalid { message }
    } else if lower.contains("404") || lower.contains("not found") {
        BitwardenError::SecretNotFound { id: id.to_string() }
    } else {
        BitwardenError::BwsFailed {
            program: program.to_string(),
            status,
            message,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const ID: &str = "9a8b7c6d-5e4f-4a3b-8c2d-1e0f9a8b7c01";

    #[test]
    fn parses_bws_json() {
        let out = format!(
            r#"{{"object": "secret", "id": "{ID}", "organizationId": "o", "projectId": "p",
            "key": "SMTP", "value": "canary-smtp", "note": "", "creationDate": "2026-01-01T00:00:00Z",
            "revisionDate": "2026-01-01T00:00:00Z"}}"#
        );
        let value = parse_secret(out.as_bytes(), ID, "bws").expect("parses");
        assert_eq!(value.expose(), "canary-smtp");
        assert!(matches!(
            parse_secret(b"not json", ID, "bws"),
            Err(BitwardenError::BwsOutput { .. })
        ));
    }

    #[test]
    fn parses_a_bws_listing() {
        let out = format!(
            r#"[{{"object": "secret", "id": "{ID}", "organizationId": "o", "projectId": "p",
            "key": "SMTP", "value": "canary-smtp", "note": "", "creationDate": "2026-01-01T00:00:00Z",
            "revisionDate": "2026-01-01T00:00:00Z"}},
            {{"object": "secret", "id": "9a8b7c6d-5e4f-4a3b-8c2d-1e0f9a8b7cff", "key": "EMPTY",
            "value": "  "}}]"#
        );
        let list = parse_secret_list(out.as_bytes(), "bws").expect("parses");
        assert_eq!(list.len(), 1, "an empty value is left out");
        assert_eq!((list[0].id.as_str(), list[0].key.as_str()), (ID, "SMTP"));
        assert_eq!(list[0].project_id.as_deref(), Some("p"));
        assert_eq!(list[0].value.0.expose(), "canary-smtp");
        assert!(!format!("{list:?}").contains("canary"));
        assert!(matches!(
            parse_secret_list(b"{}", "bws"),
            Err(BitwardenError::BwsOutput { .. })
        ));
    }

    #[test]
    fn empty_and_whitespace_only_values_are_refused() {
        for value in ["", "   ", "\\n", " \\t\\r\\n "] {
            let out = format!(r#"{{"object": "secret", "id": "{ID}", "value": "{value}"}}"#);
            assert!(
                matches!(
                    parse_secret(out.as_bytes(), ID, "bws"),
                    Err(BitwardenError::SecretEmpty { .. })
                ),
                "{value:?}"
            );
        }
    }

    #[test]
    fn classifies_failures() {
        let token = "Error: \n   0: Access token is not in a valid format: Doesn't contain a decryption key\n\nLocation:\n   crates/bws/src/main.rs:67\n";
        let err = classify_failure(token, ID, "bws", "1".into());
        assert!(matches!(
            err,
            BitwardenError::SecretsManagerTokenInvalid { .. }
        ));
        assert!(
            err.to_string().contains("Doesn't contain a decryption key"),
            "{err}"
        );
        let wrong = "Error: \n   0: Is the wrong version\n";
        assert!(matches!(
            classify_failure(wrong, ID, "bws", "1".into()),
            BitwardenError::SecretsManagerTokenInvalid { .. }
        ));
        let missing = "Error: \n   0: Received error message from server: [404 Not Found] {\"message\":\"Resource not found.\"}\n";
        assert!(matches!(
            classify_failure(missing, ID, "bws", "1".into()),
            BitwardenError::SecretNotFound { .. }
        ));
        let other = "Error: \n   0: error sending request for url (https://api.bitwarden.com/)\n";
        let err = classify_failure(other, ID, "bws", "1".into());
        assert_eq!(
            err.to_string(),
            "`bws` failed (exit status 1): error sending request for url (https://api.bitwarden.com/)"
        );
    }
}
