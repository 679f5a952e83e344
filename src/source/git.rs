//! A Git remote as a source: fetch a branch, tag or pinned commit through libgit2 (`git2`),
//! check it out into a working directory, and hand back the sub-path and the revision.
//!
//! - HTTPS: a username and password (or token) from the environment or a mounted file; the
//!   server certificate is verified by the TLS library.
//! - SSH: a private key file, and the server's host key checked against a known-hosts file
//!   (`--known-hosts`). An unknown or mismatching host key is an error; there is no blind trust.
//! - Shallow fetches (`depth = 1`) for branches and tags over the network transports.
//!
//! Everything here blocks; the daemon calls it from `spawn_blocking`.

use std::path::{Path, PathBuf};

use base64_engine::decode as base64_decode;

use crate::source::signature::{AllowedPgpKeys, AllowedSigners, SignatureError, TrustedKeys};
use git2::{
    CertificateCheckStatus, Cred, CredentialType, FetchOptions, Oid, RemoteCallbacks, Repository,
    build::CheckoutBuilder,
};

/// What to follow on the remote.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum GitReference {
    /// The tip of a branch.
    Branch(String),
    /// A tag.
    Tag(String),
    /// A pinned commit (full or abbreviated hex).
    Commit(String),
    /// A full reference name on the remote, e.g. a merge request's
    /// `refs/merge-requests/7/head` (GitLab) or a pull request's `refs/pull/7/head` (GitHub).
    Ref(String),
}

impl std::fmt::Display for GitReference {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            GitReference::Branch(b) => write!(f, "branch {b}"),
            GitReference::Tag(t) => write!(f, "tag {t}"),
            GitReference::Commit(c) => write!(f, "commit {c}"),
            GitReference::Ref(r) => write!(f, "reference {r}"),
        }
    }
}

/// How to authenticate.
#[derive(Clone, Default)]
pub enum GitAuth {
    /// Anonymous (public HTTPS, `file://`).
    #[default]
    None,
    /// HTTPS basic auth: a username and a password or token.
    Basic {
        /// The username (`git` when only a token is given).
        username: String,
        /// The password or token.
        password: secrecy::SecretString,
    },
    /// SSH with a private key file.
    SshKey {
        /// The private key.
        private_key: PathBuf,
        /// Its passphrase, if any.
        passphrase: Option<secrecy::SecretString>,
    },
}

impl std::fmt::Debug for GitAuth {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            GitAuth::None => f.write_str("None"),
            GitAuth::Basic { username, .. } => write!(f, "Basic({username}, <redacted>)"),
            GitAuth::SshKey { private_key, .. } => write!(f, "SshKey({})", private_key.display()),
        }
    }
}

/// A Git source's configuration.
#[derive(Debug, Clone)]
pub struct GitConfig {
    /// The remote URL (`https://`, `http://`, `ssh://`, `git@host:path`, `file://`).
    pub url: String,
    /// What to follow.
    pub reference: GitReference,
    /// The directory within the repository that holds the YAML (empty: the root).
    pub sub_path: PathBuf,
    /// Where the clone lives (created when missing).
    pub work_dir: PathBuf,
    /// Credentials.
    pub auth: GitAuth,
    /// A known-hosts file (OpenSSH format); required for SSH remotes.
    pub known_hosts: Option<PathBuf>,
    /// Fetch only the tip (`depth = 1`) where the transport supports it.
    pub shallow: bool,
}

/// A checked-out revision.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Checkout {
    /// The directory holding the YAML (the work tree joined with the sub-path).
    pub path: PathBuf,
    /// The commit id (hex).
    pub revision: String,
}

/// Why a fetch or checkout failed. Messages never contain credentials.
#[derive(Debug, thiserror::Error)]
pub enum GitError {
    /// The remote could not be fetched.
    #[error("cannot fetch {reference} from {url}")]
    Fetch {
        /// The remote (credentials stripped).
        url: String,
        /// What was fetched.
        reference: GitReference,
        /// The libgit2 error.
        #[source]
        source: git2::Error,
    },
    /// The reference does not exist on the remote.
    #[error("{reference} not found on {url}")]
    NotFound {
        /// The remote (credentials stripped).
        url: String,
        /// What was looked for.
        reference: GitReference,
    },
    /// The local clone could not be created or updated.
    #[error("cannot update the local clone in {path}")]
    Local {
        /// The clone.
        path: PathBuf,
        /// The libgit2 error.
        #[source]
        source: git2::Error,
    },
    /// The sub-path is not a directory in the revision.
    #[error("`{sub_path}` is not a directory in revision {revision}")]
    SubPath {
        /// The configured sub-path.
        sub_path: String,
        /// The revision.
        revision: String,
    },
    /// The sub-path leaves the repository: absolute, `..`, or through a symbolic link in the
    /// checked-out revision. Nothing was read from it.
    #[error("refused sub-path `{sub_path}` in revision {revision}: {reason}")]
    SubPathOutside {
        /// The configured sub-path.
        sub_path: String,
        /// The revision.
        revision: String,
        /// Why.
        reason: &'static str,
    },
    /// The revision's head commit is not signed by an allowed key (`--verify-commits`);
    /// it was not checked out.
    #[error("revision {revision} is not trusted")]
    Untrusted {
        /// The refused commit.
        revision: String,
        /// Why.
        #[source]
        source: SignatureError,
    },
    /// The SSH server's host key is not the one the known-hosts file lists for it (or none is
    /// listed); nothing was sent to the server.
    #[error("cannot fetch {reference} from {url}")]
    HostKey {
        /// The remote (credentials stripped).
        url: String,
        /// What was fetched.
        reference: GitReference,
        /// Why the host key was refused.
        #[source]
        source: HostKeyRefused,
    },
    /// The known-hosts file could not be read.
    #[error("cannot read the known-hosts file {path}")]
    KnownHosts {
        /// The file.
        path: PathBuf,
        /// The IO error.
        #[source]
        source: std::io::Error,
    },
}

/// Why an SSH host key was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0}")]
pub struct HostKeyRefused(pub String);

/// Where the host-key check leaves its reason for refusing (libgit2 replaces a callback's
/// error with its own generic message).
type RefusalSlot = std::sync::Arc<std::sync::Mutex<Option<HostKeyRefused>>>;

/// Follows a Git remote.
#[derive(Debug)]
pub struct GitSource {
    config: GitConfig,
    trusted: Option<TrustedKeys>,
}

const FETCH_HEAD_REF: &str = "refs/infisical-gitops/fetched";

impl GitSource {
    /// A source over `config` (nothing is fetched yet).
    pub fn new(config: GitConfig) -> Self {
        Self {
            config,
            trusted: None,
        }
    }

    /// Only check out revisions whose head commit carries an SSH signature by one of
    /// `signers` (namespace `git`), or by a key added with [`GitSource::with_allowed_pgp_keys`];
    /// others fail with [`GitError::Untrusted`] before checkout.
    #[must_use]
    pub fn with_allowed_signers(mut self, signers: AllowedSigners) -> Self {
        self.trusted = Some(self.trusted.take().unwrap_or_default().with_ssh(signers));
        self
    }

    /// Only check out revisions whose head commit carries an OpenPGP signature by one of
    /// `keys` (primary keys or signing subkeys, neither revoked nor expired), or by a signer
    /// added with [`GitSource::with_allowed_signers`]; others fail with
    /// [`GitError::Untrusted`] before checkout.
    #[must_use]
    pub fn with_allowed_pgp_keys(mut self, keys: AllowedPgpKeys) -> Self {
        self.trusted = Some(self.trusted.take().unwrap_or_default().with_pgp(keys));
        self
    }

    /// Only check out revisions whose head commit is signed by one of `trusted`.
    #[must_use]
    pub fn with_trusted_keys(mut self, trusted: TrustedKeys) -> Self {
        self.trusted = Some(trusted);
        self
    }

    /// The configuration.
    pub fn config(&self) -> &GitConfig {
        &self.config
    }

    /// The URL without user info, for messages and status.
    pub fn display_url(&self) -> String {
        redact_url(&self.config.url)
    }

    /// Fetches the configured reference and checks it out.
    ///
    /// # Errors
    /// [`GitError`] when the remote is unreachable, refuses the credentials or host key, the
    /// reference is missing, or the sub-path is not a directory.
    pub fn fetch(&self) -> Result<Checkout, GitError> {
        let config = &self.config;
        let repo = self.open_or_init()?;
        let local = |source| GitError::Local {
            path: config.work_dir.clone(),
            source,
        };
        let refspec = match &config.reference {
            GitReference::Branch(b) => format!("+refs/heads/{b}:{FETCH_HEAD_REF}"),
            GitReference::Tag(t) => format!("+refs/tags/{t}:{FETCH_HEAD_REF}"),
            GitReference::Commit(c) => format!("+{c}:{FETCH_HEAD_REF}"),
            GitReference::Ref(r) => format!("+{r}:{FETCH_HEAD_REF}"),
        };
        let known_hosts = match &config.known_hosts {
            Some(path) => {
                Some(
                    std::fs::read_to_string(path).map_err(|source| GitError::KnownHosts {
                        path: path.clone(),
                        source,
                    })?,
                )
            }
            None => None,
        };
        let refusal = RefusalSlot::default();
        let mut options = FetchOptions::new();
        options.remote_callbacks(callbacks(config, known_hosts, refusal.clone()));
        options.download_tags(git2::AutotagOption::None);
        let is_local = config.url.starts_with("file://") || Path::new(&config.url).is_absolute();
        if config.shallow && !is_local {
            options.depth(1);
        }
        let mut remote = repo.remote_anonymous(&config.url).map_err(local)?;
        let fetched = remote.fetch(&[refspec.as_str()], Some(&mut options), None);
        if let Err(source) = fetched {
            // A pinned commit the server will not serve by id: fetch every branch and tag.
            if let GitReference::Commit(commit) = &config.reference {
                let mut options = FetchOptions::new();
                options.remote_callbacks(callbacks(
                    config,
                    config
                        .known_hosts
                        .as_ref()
                        .and_then(|p| std::fs::read_to_string(p).ok()),
                    refusal.clone(),
                ));
                remote
                    .fetch(
                        &[
                            "+refs/heads/*:refs/infisical-gitops/heads/*",
                            "+refs/tags/*:refs/infisical-gitops/tags/*",
                        ],
                        Some(&mut options),
                        None,
                    )
                    .map_err(|source| self.fetch_error(source, &refusal))?;
                let object = repo.revparse_single(commit).map_err(|_| self.not_found())?;
                repo.reference(FETCH_HEAD_REF, object.id(), true, "pinned commit")
                    .map_err(local)?;
            } else {
                return Err(self.fetch_error(source, &refusal));
            }
        }
        let target = repo
            .find_reference(FETCH_HEAD_REF)
            .and_then(|r| r.peel_to_commit())
            .map_err(|_| self.not_found())?;
        let revision = target.id().to_string();
        if let Some(trusted) = &self.trusted {
            verify_commit(&repo, target.id(), trusted).map_err(|source| GitError::Untrusted {
                revision: revision.clone(),
                source,
            })?;
        }
        let mut checkout = CheckoutBuilder::new();
        checkout.force().remove_untracked(true);
        repo.checkout_tree(target.as_object(), Some(&mut checkout))
            .map_err(local)?;
        repo.set_head_detached(target.id()).map_err(local)?;
        let path = checked_sub_path(&config.work_dir, &config.sub_path).map_err(|reason| {
            GitError::SubPathOutside {
                sub_path: config.sub_path.display().to_string(),
                revision: revision.clone(),
                reason,
            }
        })?;
        if !path.is_dir() {
            return Err(GitError::SubPath {
                sub_path: config.sub_path.display().to_string(),
                revision,
            });
        }
        Ok(Checkout { path, revision })
    }

    fn open_or_init(&self) -> Result<Repository, GitError> {
        let dir = &self.config.work_dir;
        let local = |source| GitError::Local {
            path: dir.clone(),
            source,
        };
        if dir.join(".git").is_dir() {
            Repository::open(dir).map_err(local)
        } else {
            std::fs::create_dir_all(dir).map_err(|e| GitError::Local {
                path: dir.clone(),
                source: git2::Error::from_str(&e.to_string()),
            })?;
            Repository::init(dir).map_err(local)
        }
    }

    fn fetch_error(&self, source: git2::Error, refusal: &RefusalSlot) -> GitError {
        let refused = refusal.lock().ok().and_then(|mut slot| slot.take());
        if let Some(source) = refused {
            return GitError::HostKey {
                url: self.display_url(),
                reference: self.config.reference.clone(),
                source,
            };
        }
        GitError::Fetch {
            url: self.display_url(),
            reference: self.config.reference.clone(),
            source,
        }
    }

    fn not_found(&self) -> GitError {
        GitError::NotFound {
            url: self.display_url(),
            reference: self.config.reference.clone(),
        }
    }
}

/// The directory `sub_path` names inside the work tree `work_dir`, when it stays inside: a
/// relative path of plain names (no `..`, not absolute), none of them a symbolic link in the
/// checkout (a committed link could point anywhere on the machine).
fn checked_sub_path(work_dir: &Path, sub_path: &Path) -> Result<PathBuf, &'static str> {
    use std::path::Component;
    let mut path = work_dir.to_path_buf();
    for component in sub_path.components() {
        match component {
            Component::Normal(name) => path.push(name),
            Component::CurDir => continue,
            Component::ParentDir | Component::RootDir | Component::Prefix(_) => {
                return Err("it must be a relative path inside the repository, without `..`");
            }
        }
        if std::fs::symlink_metadata(&path).is_ok_and(|meta| meta.file_type().is_symlink()) {
            return Err(
                "it passes through a symbolic link in the repository, and links are never followed",
            );
        }
    }
    Ok(path)
}

/// Checks the signature of commit `oid` against `trusted`.
///
/// # Errors
/// [`SignatureError`] when the commit is unsigned, signed by a key not allowed, or altered.
pub fn verify_commit(
    repo: &Repository,
    oid: Oid,
    trusted: &TrustedKeys,
) -> Result<(), SignatureError> {
    match repo.extract_signature(&oid, None) {
        Ok((signature, signed)) => trusted.verify_commit(&signature, &signed).map(|_| ()),
        Err(error) if error.code() == git2::ErrorCode::NotFound => Err(SignatureError::Unsigned),
        Err(error) => Err(SignatureError::Malformed(error.message().to_string())),
    }
}

fn callbacks(
    config: &GitConfig,
    known_hosts: Option<String>,
    refusal: RefusalSlot,
) -> RemoteCallbacks<'static> {
    let mut callbacks = RemoteCallbacks::new();
    set_credentials(&mut callbacks, &config.auth);
    let port = ssh_port(&config.url);
    callbacks.certificate_check(move |cert, host| {
        let Some(hostkey) = cert.as_hostkey() else {
            // X.509: let the TLS library's verification decide.
            return Ok(CertificateCheckStatus::CertificatePassthrough);
        };
        let refuse = |reason: String| {
            if let Ok(mut slot) = refusal.lock() {
                *slot = Some(HostKeyRefused(reason.clone()));
            }
            Err(git2::Error::from_str(&reason))
        };
        let Some(known_hosts) = &known_hosts else {
            return refuse(
                "no known-hosts file configured (--known-hosts); refusing an unverified SSH host key"
                    .into(),
            );
        };
        let Some(key) = hostkey.hostkey() else {
            return refuse("the SSH server sent no host key".into());
        };
        let name = known_hosts_name(host, port);
        match known_hosts_check(known_hosts, host, port, key) {
            HostKeyCheck::Match => Ok(CertificateCheckStatus::CertificateOk),
            HostKeyCheck::Missing => refuse(format!(
                "the known-hosts file has no entry for {name} (the server's host key is {})",
                describe_host_key(key)
            )),
            HostKeyCheck::Mismatch => refuse(format!(
                "the SSH host key of {name} does not match the known-hosts file (the server's host key is {}): the key changed, another server answers, or the file lists another key type",
                describe_host_key(key)
            )),
        }
    });
    callbacks
}

/// Answers libgit2's credential requests from `auth`: once per operation (libgit2 asks again
/// after a refusal; never a loop), and only with a kind of credential the remote allows.
pub(crate) fn set_credentials(callbacks: &mut RemoteCallbacks<'_>, auth: &GitAuth) {
    let auth = auth.clone();
    let mut attempts = 0u32;
    callbacks.credentials(move |_url, username_from_url, allowed| {
        attempts += 1;
        if attempts > 1 {
            return Err(git2::Error::from_str("the remote refused the credentials"));
        }
        use secrecy::ExposeSecret;
        match &auth {
            GitAuth::Basic { username, password }
                if allowed.contains(CredentialType::USER_PASS_PLAINTEXT) =>
            {
                Cred::userpass_plaintext(username, password.expose_secret())
            }
            GitAuth::SshKey {
                private_key,
                passphrase,
            } if allowed.contains(CredentialType::SSH_KEY) => Cred::ssh_key(
                username_from_url.unwrap_or("git"),
                None,
                private_key,
                passphrase.as_ref().map(|p| p.expose_secret()),
            ),
            _ if allowed.contains(CredentialType::USERNAME) => {
                Cred::username(username_from_url.unwrap_or("git"))
            }
            _ => Err(git2::Error::from_str(
                "the remote asks for credentials that are not configured",
            )),
        }
    });
}

/// `type SHA256:…` for a host key blob (wire format), as `ssh-keygen -l` shows it.
fn describe_host_key(key: &[u8]) -> String {
    match ssh_key::PublicKey::from_bytes(key) {
        Ok(key) => format!(
            "{} {}",
            key.algorithm(),
            key.fingerprint(ssh_key::HashAlg::Sha256)
        ),
        Err(_) => "of an unknown type".into(),
    }
}

/// The port of an `ssh://` URL, when not 22.
pub(crate) fn ssh_port(url: &str) -> Option<u16> {
    let rest = url.strip_prefix("ssh://")?;
    let authority = rest.split('/').next()?;
    let host_port = authority.rsplit('@').next()?;
    let (_, port) = host_port.rsplit_once(':')?;
    port.parse().ok().filter(|p| *p != 22)
}

/// What a known-hosts file says about a host's key.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum HostKeyCheck {
    /// An entry for the host lists this key.
    Match,
    /// Entries for the host list other keys only.
    Mismatch,
    /// No entry names the host.
    Missing,
}

/// How a known-hosts file names `host` on `port` (`[host]:port` unless 22).
fn known_hosts_name(host: &str, port: Option<u16>) -> String {
    match port {
        Some(port) => format!("[{host}]:{port}"),
        None => host.to_string(),
    }
}

/// Whether an OpenSSH known-hosts text lists `key` for `host` (plain host patterns and
/// `[host]:port`; hashed entries are not supported and never match).
pub fn known_hosts_match(known_hosts: &str, host: &str, port: Option<u16>, key: &[u8]) -> bool {
    known_hosts_check(known_hosts, host, port, key) == HostKeyCheck::Match
}

/// What an OpenSSH known-hosts text says about `key` for `host` (plain host patterns and
/// `[host]:port`; hashed entries and `@cert-authority`/`@revoked` lines are not supported and
/// never match).
pub fn known_hosts_check(
    known_hosts: &str,
    host: &str,
    port: Option<u16>,
    key: &[u8],
) -> HostKeyCheck {
    let name = known_hosts_name(host, port);
    let mut named = false;
    for line in known_hosts.lines() {
        let line = line.trim();
        if line.is_empty() || line.starts_with('#') || line.starts_with('@') {
            continue;
        }
        let mut fields = line.split_whitespace();
        let (Some(hosts), Some(_kind), Some(blob)) = (fields.next(), fields.next(), fields.next())
        else {
            continue;
        };
        if hosts.split(',').any(|h| h == name) {
            if base64_decode(blob).is_some_and(|b| b == key) {
                return HostKeyCheck::Match;
            }
            named = true;
        }
    }
    if named {
        HostKeyCheck::Mismatch
    } else {
        HostKeyCheck::Missing
    }
}

/// Strips user info (`user:token@`) from a URL.
pub fn redact_url(url: &str) -> String {
    if let Some((scheme, rest)) = url.split_once("://") {
        let (authority, path) = rest.split_once('/').unwrap_or((rest, ""));
        if let Some((_, host)) = authority.rsplit_once('@') {
            return format!("{scheme}://{host}/{path}");
        }
    }
    url.to_string()
}

/// A small standard base64 decoder (known-hosts keys), to avoid a dependency.
mod base64_engine {
    pub(super) fn decode(input: &str) -> Option<Vec<u8>> {
        let mut out = Vec::with_capacity(input.len() * 3 / 4);
        let mut buffer = 0u32;
        let mut bits = 0u32;
        for byte in input.bytes() {
            let value = match byte {
                b'A'..=b'Z' => byte - b'A',
                b'a'..=b'z' => byte - b'a' + 26,
                b'0'..=b'9' => byte - b'0' + 52,
                b'+' => 62,
                b'/' => 63,
                b'=' => break,
                _ => return None,
            };
            buffer = (buffer << 6) | u32::from(value);
            bits += 6;
            if bits >= 8 {
                bits -= 8;
                out.push((buffer >> bits) as u8);
                buffer &= (1 << bits) - 1;
            }
        }
        Some(out)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn redacts_user_info() {
        assert_eq!(
            redact_url("https://user:tok@git.example/a/b.git"),
            "https://git.example/a/b.git"
        );
        assert_eq!(redact_url("git@host:a/b.git"), "git@host:a/b.git");
    }

    #[test]
    fn known_hosts_matching() {
        let text = "# comment\ngit.example ssh-ed25519 AAECAw==\n[h]:2222 ssh-ed25519 BAUG\n";
        assert!(known_hosts_match(text, "git.example", None, &[0, 1, 2, 3]));
        assert!(!known_hosts_match(text, "git.example", None, &[0, 1, 2]));
        assert!(!known_hosts_match(text, "other", None, &[0, 1, 2, 3]));
        assert!(known_hosts_match(text, "h", Some(2222), &[4, 5, 6]));
        assert_eq!(
            known_hosts_check(text, "h", Some(2222), &[4, 5]),
            HostKeyCheck::Mismatch
        );
        assert_eq!(
            known_hosts_check(text, "h", None, &[4, 5, 6]),
            HostKeyCheck::Missing
        );
        assert_eq!(ssh_port("ssh://git@h:2222/r.git"), Some(2222));
        assert_eq!(ssh_port("ssh://git@h/r.git"), None);
    }
}
