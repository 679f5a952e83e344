//! Commit signature verification, in pure Rust (no `ssh-keygen`, no `gpg`):
//!
//! - SSH signatures (`gpgsig` headers holding an `-----BEGIN SSH SIGNATURE-----` block, as
//!   `git commit -S` with `gpg.format=ssh` writes) checked against an OpenSSH
//!   `allowed_signers` file ([`AllowedSigners`], this module);
//! - OpenPGP signatures (`-----BEGIN PGP SIGNATURE-----`, `gpg.format=openpgp`) checked against
//!   an armored public keyring ([`AllowedPgpKeys`], [`crate::source::openpgp`]).
//!
//! [`TrustedKeys`] holds either or both and dispatches on the signature's armor.
//!
//! The file format is the one `git` and `ssh-keygen -Y verify` use, one signer a line:
//! `principal[,principal…] [namespaces="git[,…]"] key-type base64-key [comment]`.
//! Blank lines and `#` comments are skipped. Keys are Ed25519 or ECDSA P-256 (other types are
//! refused when the file is read). The options
//! `cert-authority`, `valid-after` and `valid-before` are not supported: a line using them is
//! refused when the file is read, so nothing is silently trusted more widely than written.
//! X.509 (`gpgsm`) signatures are not supported.

use std::path::Path;
use std::time::SystemTime;

use ssh_key::{PublicKey, SshSig};

pub use crate::source::openpgp::{AllowedPgpKeys, PgpKeysError};

/// The namespace git signs commits in.
pub const GIT_NAMESPACE: &str = "git";

/// One trusted key.
#[derive(Debug, Clone)]
pub struct AllowedSigner {
    /// The principals (e-mail addresses, usually) listed for the key.
    pub principals: Vec<String>,
    /// The namespaces the key may sign in (`None`: any).
    pub namespaces: Option<Vec<String>>,
    /// The key.
    pub key: PublicKey,
}

/// The keys whose signatures are accepted.
#[derive(Debug, Clone, Default)]
pub struct AllowedSigners {
    signers: Vec<AllowedSigner>,
}

/// Why an allowed-signers file could not be read.
#[derive(Debug, thiserror::Error)]
pub enum AllowedSignersError {
    /// The file could not be read.
    #[error("cannot read the allowed-signers file {path}")]
    Read {
        /// The file.
        path: std::path::PathBuf,
        /// The IO error.
        #[source]
        source: std::io::Error,
    },
    /// A line does not parse.
    #[error("allowed-signers line {line}: {reason}")]
    Line {
        /// The 1-based line number.
        line: usize,
        /// What is wrong.
        reason: String,
    },
    /// No key in the file.
    #[error("the allowed-signers file lists no key")]
    Empty,
}

/// Why a commit is not trusted.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SignatureError {
    /// The commit carries no signature.
    #[error("the commit is not signed")]
    Unsigned,
    /// The signature is neither SSH nor OpenPGP (X.509, or something else).
    #[error(
        "the commit signature is neither an SSH nor an OpenPGP signature (X.509 signatures are not supported)"
    )]
    Unsupported,
    /// The signature block does not parse.
    #[error("the commit signature is malformed: {0}")]
    Malformed(String),
    /// The signature was made in another namespace than `git`.
    #[error("the commit signature is in namespace `{0}`, not `git`")]
    Namespace(String),
    /// The signing key is not in the allowed-signers file (for the `git` namespace).
    #[error("the commit is signed by a key that is not allowed ({0})")]
    Untrusted(String),
    /// The signing key (OpenPGP) is revoked.
    #[error("the commit is signed by a revoked key ({0})")]
    Revoked(String),
    /// The signing key (OpenPGP) has expired.
    #[error("the commit is signed by an expired key ({0})")]
    Expired(String),
    /// The signature (OpenPGP) carried an expiration time that has passed.
    #[error("the commit signature has expired ({0})")]
    SignatureExpired(String),
    /// The signing key (OpenPGP) has no valid binding or its flags do not allow signing.
    #[error("the commit is signed by a key that is not valid for signing ({0})")]
    NotForSigning(String),
    /// The signature uses a hash algorithm too weak to trust (MD5, SHA-1, RIPEMD-160).
    #[error("the commit signature uses the weak hash algorithm {0}")]
    WeakHash(String),
    /// The signature does not match the commit's content.
    #[error(
        "the commit signature does not verify (the commit was altered or the signature is bad)"
    )]
    Invalid,
}

impl AllowedSigners {
    /// Reads an allowed-signers file.
    ///
    /// # Errors
    /// When the file cannot be read, a line does not parse, or no key is listed.
    pub fn from_file(path: &Path) -> Result<Self, AllowedSignersError> {
        let text = std::fs::read_to_string(path).map_err(|source| AllowedSignersError::Read {
            path: path.to_path_buf(),
            source,
        })?;
        Self::parse(&text)
    }

    /// Parses allowed-signers text.
    ///
    /// # Errors
    /// When a line does not parse or no key is listed.
    pub fn parse(text: &str) -> Result<Self, AllowedSignersError> {
        let mut signers = Vec::new();
        for (index, line) in text.lines().enumerate() {
            let line = line.trim();
            if line.is_empty() || line.starts_with('#') {
                continue;
            }
            let signer = parse_line(line).map_err(|reason| AllowedSignersError::Line {
                line: index + 1,
                reason,
            })?;
            signers.push(signer);
        }
        if signers.is_empty() {
            return Err(AllowedSignersError::Empty);
        }
        Ok(Self { signers })
    }

    /// The signers.
    pub fn signers(&self) -> &[AllowedSigner] {
        &self.signers
    }

    /// Verifies a commit against these SSH keys only: `signature` is its `gpgsig` header
    /// (empty when unsigned) and `signed` the payload it covers (libgit2's
    /// `extract_signature`). Returns the principals of the key that signed. An OpenPGP
    /// signature is reported as signed by a key that is not allowed.
    ///
    /// # Errors
    /// [`SignatureError`] when the commit is unsigned, signed by a key not allowed for the
    /// `git` namespace, or the signature does not match the payload.
    pub fn verify_commit(
        &self,
        signature: &[u8],
        signed: &[u8],
    ) -> Result<Vec<String>, SignatureError> {
        verify(Some(self), None, signature, signed, SystemTime::now())
    }

    fn verify_ssh(&self, text: &str, signed: &[u8]) -> Result<Vec<String>, SignatureError> {
        let sig = SshSig::from_pem(text).map_err(|e| SignatureError::Malformed(e.to_string()))?;
        if sig.namespace() != GIT_NAMESPACE {
            return Err(SignatureError::Namespace(sig.namespace().to_string()));
        }
        let signer = self
            .signers
            .iter()
            .find(|s| {
                s.key.key_data() == sig.public_key()
                    && s.namespaces
                        .as_ref()
                        .is_none_or(|ns| ns.iter().any(|n| n == GIT_NAMESPACE))
            })
            .ok_or_else(|| {
                let fingerprint = PublicKey::from(sig.public_key().clone())
                    .fingerprint(ssh_key::HashAlg::Sha256)
                    .to_string();
                SignatureError::Untrusted(fingerprint)
            })?;
        signer
            .key
            .verify(GIT_NAMESPACE, signed, &sig)
            .map_err(|_| SignatureError::Invalid)?;
        Ok(signer.principals.clone())
    }
}

/// The keys trusted for `--verify-commits`: SSH signers, OpenPGP keys, or both. A commit must
/// be signed by one of them, whatever the kind of its signature.
#[derive(Debug, Clone, Default)]
pub struct TrustedKeys {
    ssh: Option<AllowedSigners>,
    pgp: Option<AllowedPgpKeys>,
}

impl TrustedKeys {
    /// No key at all (every signed commit is refused as signed by a key not allowed).
    pub fn new() -> Self {
        Self::default()
    }

    /// Also trusts these SSH signers.
    #[must_use]
    pub fn with_ssh(mut self, signers: AllowedSigners) -> Self {
        self.ssh = Some(signers);
        self
    }

    /// Also trusts these OpenPGP keys.
    #[must_use]
    pub fn with_pgp(mut self, keys: AllowedPgpKeys) -> Self {
        self.pgp = Some(keys);
        self
    }

    /// The SSH signers, if configured.
    pub fn ssh(&self) -> Option<&AllowedSigners> {
        self.ssh.as_ref()
    }

    /// The OpenPGP keys, if configured.
    pub fn pgp(&self) -> Option<&AllowedPgpKeys> {
        self.pgp.as_ref()
    }

    /// Verifies a commit now: `signature` is its `gpgsig` header (empty when unsigned) and
    /// `signed` the payload it covers. Returns the principals (SSH) or user ids (OpenPGP) of
    /// the key that signed.
    ///
    /// # Errors
    /// [`SignatureError`] when the commit is unsigned, signed by a key not trusted (or
    /// revoked, expired, not valid for signing), or the signature does not match.
    pub fn verify_commit(
        &self,
        signature: &[u8],
        signed: &[u8],
    ) -> Result<Vec<String>, SignatureError> {
        self.verify_commit_at(signature, signed, SystemTime::now())
    }

    /// [`TrustedKeys::verify_commit`] at time `now` (OpenPGP key expiry is checked against it).
    ///
    /// # Errors
    /// As [`TrustedKeys::verify_commit`].
    pub fn verify_commit_at(
        &self,
        signature: &[u8],
        signed: &[u8],
        now: SystemTime,
    ) -> Result<Vec<String>, SignatureError> {
        verify(self.ssh.as_ref(), self.pgp.as_ref(), signature, signed, now)
    }
}

impl From<AllowedSigners> for TrustedKeys {
    fn from(signers: AllowedSigners) -> Self {
        Self::new().with_ssh(signers)
    }
}

impl From<AllowedPgpKeys> for TrustedKeys {
    fn from(keys: AllowedPgpKeys) -> Self {
        Self::new().with_pgp(keys)
    }
}

const NO_SSH: AllowedSigners = AllowedSigners {
    signers: Vec::new(),
};

fn verify(
    ssh: Option<&AllowedSigners>,
    pgp: Option<&AllowedPgpKeys>,
    signature: &[u8],
    signed: &[u8],
    now: SystemTime,
) -> Result<Vec<String>, SignatureError> {
    let text = std::str::from_utf8(signature).map_err(|_| SignatureError::Unsupported)?;
    let text = text.trim();
    if text.is_empty() {
        return Err(SignatureError::Unsigned);
    }
    if text.starts_with("-----BEGIN SSH SIGNATURE-----") {
        ssh.unwrap_or(&NO_SSH).verify_ssh(text, signed)
    } else if text.starts_with("-----BEGIN PGP SIGNATURE-----") {
        match pgp {
            Some(keys) => keys.verify(text, signed, now),
            None => AllowedPgpKeys::default().verify(text, signed, now),
        }
    } else {
        Err(SignatureError::Unsupported)
    }
}

/// Splits on whitespace outside double quotes.
fn tokens(line: &str) -> Vec<&str> {
    let mut out = Vec::new();
    let mut start = None;
    let mut quoted = false;
    for (i, c) in line.char_indices() {
        match c {
            '"' => {
                quoted = !quoted;
                start.get_or_insert(i);
            }
            c if c.is_whitespace() && !quoted => {
                if let Some(s) = start.take() {
                    out.push(&line[s..i]);
                }
            }
            _ => {
                start.get_or_insert(i);
            }
        }
    }
    if let Some(s) = start {
        out.push(&line[s..]);
    }
    out
}

/// Splits an options token on commas outside double quotes.
fn split_options(token: &str) -> Vec<&str> {
    let mut out = Vec::new();
    let mut quoted = false;
    let mut start = 0;
    for (i, c) in token.char_indices() {
        match c {
            '"' => quoted = !quoted,
            ',' if !quoted => {
                out.push(&token[start..i]);
                start = i + 1;
            }
            _ => {}
        }
    }
    out.push(&token[start..]);
    out.into_iter().filter(|o| !o.is_empty()).collect()
}

fn is_key_type(token: &str) -> bool {
    token.starts_with("ssh-") || token.starts_with("ecdsa-sha2-") || token.starts_with("sk-")
}

fn parse_line(line: &str) -> Result<AllowedSigner, String> {
    let tokens = tokens(line);
    let Some((principals, rest)) = tokens.split_first() else {
        return Err("empty line".into());
    };
    let principals: Vec<String> = principals
        .split(',')
        .filter(|p| !p.is_empty())
        .map(str::to_string)
        .collect();
    if principals.is_empty() {
        return Err("no principal".into());
    }
    let key_at = rest
        .iter()
        .position(|t| is_key_type(t))
        .ok_or("no key type (ssh-ed25519, ecdsa-sha2-nistp256, …)")?;
    let mut namespaces = None;
    for option in rest[..key_at].iter().flat_map(|t| split_options(t)) {
        let (name, value) = option.split_once('=').unwrap_or((option, ""));
        match name.to_ascii_lowercase().as_str() {
            "namespaces" => {
                let value = value.trim_matches('"');
                namespaces = Some(value.split(',').map(str::to_string).collect());
            }
            other => return Err(format!("option `{other}` is not supported")),
        }
    }
    let Some(blob) = rest.get(key_at + 1) else {
        return Err("the key is missing after its type".into());
    };
    let key = PublicKey::from_openssh(&format!("{} {blob}", rest[key_at]))
        .map_err(|e| format!("the key does not parse: {e}"))?;
    let supported = matches!(
        key.algorithm(),
        ssh_key::Algorithm::Ed25519
            | ssh_key::Algorithm::Ecdsa {
                curve: ssh_key::EcdsaCurve::NistP256
            }
    );
    if !supported {
        return Err(format!(
            "key type `{}` is not supported (use ssh-ed25519 or ecdsa-sha2-nistp256)",
            key.algorithm()
        ));
    }
    Ok(AllowedSigner {
        principals,
        namespaces,
        key,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    const KEY: &str =
        "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIEaFfBCFAuStsiB5reufeVNIe1wf28n7yD85l7PC7h6k";

    const RSA: &str = "ssh-rsa AAAAB3NzaC1yc2EAAAADAQABAAABAQDArpsssrezGUBQMCFmYC5Z+k0KCG53RdhF7spJNwk9PbsFGJXAHUddx/cwXgcAalg8ng9UHFewpvhPcShe8zx5s3wbvjvdW4SBvCvnaJjnIAN/CjesW2PC0H/d/C6xiEsiSxHvdBMjjC0zmx/DeUiBImZSkXD8VsGX90gH27MyS5/SGJhLmIq/nHVSkxXMO+ymc3lL5P7nJp//EPyaeWg5VFhP9tm6DnhC703xqqFGUV+v8BtSoZkCfi+0Si7KUWQDlryM0zL8rK3GUcw21ikv/UZPAC60sGJ9bkUwZ4WmdlFr5qfWEqLr2QIRM9pgqbnap36cVp9F5I9XVhm11Xcb";

    #[test]
    fn parses_principals_namespaces_and_comments() {
        let text = format!(
            "# team keys\n\nalice@example.com,ops@example.com namespaces=\"git,file\" {KEY} alice\nbob@example.com {KEY}\n"
        );
        let signers = AllowedSigners::parse(&text).unwrap();
        assert_eq!(signers.signers().len(), 2);
        assert_eq!(
            signers.signers()[0].principals,
            ["alice@example.com", "ops@example.com"]
        );
        assert_eq!(
            signers.signers()[0].namespaces.as_deref(),
            Some(&["git".to_string(), "file".to_string()][..])
        );
        assert!(signers.signers()[1].namespaces.is_none());
    }

    #[test]
    fn refuses_unsupported_options_and_bad_lines() {
        for (text, expected) in [
            (format!("a cert-authority {KEY}"), "option `cert-authority`"),
            (
                format!("a valid-after=\"20240101\" {KEY}"),
                "option `valid-after`",
            ),
            ("a ssh-ed25519".to_string(), "missing"),
            ("a ssh-ed25519 AAAA!!".to_string(), "does not parse"),
            ("a b c".to_string(), "no key type"),
            (format!("a {RSA}"), "key type `ssh-rsa` is not supported"),
        ] {
            let error = AllowedSigners::parse(&text).unwrap_err().to_string();
            assert!(error.contains(expected), "{text}: {error}");
        }
        assert!(matches!(
            AllowedSigners::parse("# nothing\n"),
            Err(AllowedSignersError::Empty)
        ));
    }

    #[test]
    fn unsigned_and_foreign_signatures_are_refused() {
        let signers = AllowedSigners::parse(&format!("a {KEY}")).unwrap();
        assert_eq!(
            signers.verify_commit(b"", b"tree x\n"),
            Err(SignatureError::Unsigned)
        );
        assert_eq!(
            signers.verify_commit(b"-----BEGIN SIGNED MESSAGE-----\n...", b"tree x\n"),
            Err(SignatureError::Unsupported)
        );
        assert!(matches!(
            signers.verify_commit(b"-----BEGIN PGP SIGNATURE-----\n\nAAAA\n", b"tree x\n"),
            Err(SignatureError::Malformed(_))
        ));
        assert!(matches!(
            signers.verify_commit(
                b"-----BEGIN SSH SIGNATURE-----\nAAAA\n-----END SSH SIGNATURE-----",
                b"tree x\n"
            ),
            Err(SignatureError::Malformed(_))
        ));
    }
}
