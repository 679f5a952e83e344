//! OpenPGP commit signatures: `gpgsig` headers holding a `-----BEGIN PGP SIGNATURE-----` block
//! (what `git commit -S` writes with the default `gpg.format=openpgp`), checked in pure Rust
//! (rPGP, no `gpg` needed) against an armored public keyring (`--allowed-pgp-keys`), the way
//! Flux's verification secret holds armored keys.
//!
//! A signature is accepted when its issuer (fingerprint or key id) is the primary key or a
//! subkey of a key in the keyring, and that key:
//!
//! - carries a valid self-signature (or, for a subkey, a valid binding signature with the
//!   embedded back-signature a signing subkey needs) whose key flags allow signing;
//! - is not revoked (a valid key or subkey revocation signature refuses it, whatever its
//!   reason);
//! - has not expired (the primary key's and, for a subkey, the subkey's expiration), at the
//!   time of verification;
//!
//! and the signature is a binary or text data signature, not made before the key was created,
//! not expired itself, with a hash of at least SHA-224 (MD5, SHA-1 and RIPEMD-160 are refused),
//! over exactly the commit's signed content.
//!
//! Third-party certifications in the keyring are ignored: trust comes from the file alone.

use std::path::{Path, PathBuf};
use std::time::{SystemTime, UNIX_EPOCH};

use pgp::composed::{Deserializable, DetachedSignature, SignedPublicKey, SignedPublicSubKey};
use pgp::crypto::hash::HashAlgorithm;
use pgp::packet::{self, Signature, SignatureType};
use pgp::types::{Fingerprint, KeyDetails, KeyId, Tag};

use crate::source::signature::SignatureError;

const PUBLIC_BEGIN: &str = "-----BEGIN PGP PUBLIC KEY BLOCK-----";
const PUBLIC_END: &str = "-----END PGP PUBLIC KEY BLOCK-----";
const PRIVATE_BEGIN: &str = "-----BEGIN PGP PRIVATE KEY BLOCK-----";

/// The OpenPGP keys whose commit signatures are accepted.
#[derive(Debug, Clone, Default)]
pub struct AllowedPgpKeys {
    keys: Vec<SignedPublicKey>,
}

/// Why an OpenPGP keyring could not be read.
#[derive(Debug, thiserror::Error)]
pub enum PgpKeysError {
    /// The file could not be read.
    #[error("cannot read the OpenPGP keyring {path}")]
    Read {
        /// The file.
        path: PathBuf,
        /// The IO error.
        #[source]
        source: std::io::Error,
    },
    /// The file holds a private key.
    #[error(
        "the OpenPGP keyring holds a private key; export public keys only (`gpg --export --armor KEYID`)"
    )]
    PrivateKey,
    /// An armored block does not parse.
    #[error("OpenPGP keyring block {block}: {reason}")]
    Block {
        /// The 1-based number of the armored block.
        block: usize,
        /// What is wrong.
        reason: String,
    },
    /// A key has no valid self-signature (it cannot be trusted for anything).
    #[error("OpenPGP key {0} has no valid self-signature")]
    NoSelfSignature(String),
    /// A key appears more than once.
    #[error("OpenPGP key {0} appears more than once in the keyring; keep one, current export")]
    Duplicate(String),
    /// No key in the file.
    #[error(
        "the OpenPGP keyring lists no public key (expected `-----BEGIN PGP PUBLIC KEY BLOCK-----` armor)"
    )]
    Empty,
}

impl AllowedPgpKeys {
    /// Reads an armored keyring file (one or more `PGP PUBLIC KEY BLOCK`s, each with one or
    /// more keys, as `gpg --export --armor` writes them; text around the blocks is ignored).
    ///
    /// # Errors
    /// When the file cannot be read, holds a private key, a block does not parse, a key has no
    /// valid self-signature, or no key is listed.
    pub fn from_file(path: &Path) -> Result<Self, PgpKeysError> {
        let text = std::fs::read_to_string(path).map_err(|source| PgpKeysError::Read {
            path: path.to_path_buf(),
            source,
        })?;
        Self::parse(&text)
    }

    /// Parses armored keyring text.
    ///
    /// # Errors
    /// As [`AllowedPgpKeys::from_file`].
    pub fn parse(text: &str) -> Result<Self, PgpKeysError> {
        if text.contains(PRIVATE_BEGIN) {
            return Err(PgpKeysError::PrivateKey);
        }
        let mut keys = Vec::new();
        let mut rest = text;
        let mut block = 0;
        while let Some(start) = rest.find(PUBLIC_BEGIN) {
            block += 1;
            let from_start = &rest[start..];
            let end = from_start
                .find(PUBLIC_END)
                .ok_or_else(|| PgpKeysError::Block {
                    block,
                    reason: format!("no `{PUBLIC_END}` line"),
                })?
                + PUBLIC_END.len();
            let armored = &from_start[..end];
            rest = &from_start[end..];
            let parse_error = |e: pgp::errors::Error| PgpKeysError::Block {
                block,
                reason: e.to_string(),
            };
            let (parsed, _headers) =
                SignedPublicKey::from_string_many(armored).map_err(parse_error)?;
            for key in parsed {
                let key = key.map_err(parse_error)?;
                let fingerprint = key.primary_key.fingerprint();
                if self_signature(&key).is_none() {
                    return Err(PgpKeysError::NoSelfSignature(fingerprint_hex(&fingerprint)));
                }
                // Two copies (say an old export and a revoked one) would make the outcome
                // depend on their order: refuse rather than guess.
                if keys
                    .iter()
                    .any(|k: &SignedPublicKey| k.primary_key.fingerprint() == fingerprint)
                {
                    return Err(PgpKeysError::Duplicate(fingerprint_hex(&fingerprint)));
                }
                keys.push(key);
            }
        }
        if keys.is_empty() {
            return Err(PgpKeysError::Empty);
        }
        Ok(Self { keys })
    }

    /// The primary key fingerprints (upper-case hex), in file order.
    pub fn fingerprints(&self) -> Vec<String> {
        self.keys
            .iter()
            .map(|k| fingerprint_hex(&k.primary_key.fingerprint()))
            .collect()
    }

    /// Verifies an armored detached OpenPGP signature (a commit's `gpgsig` header) over
    /// `signed` (the commit without that header), at time `now`. Returns the user ids of the
    /// key that signed.
    ///
    /// # Errors
    /// [`SignatureError`] when the signature does not parse, its key is not in the keyring, is
    /// revoked, expired or not allowed to sign, or the signature does not match `signed`.
    pub fn verify(
        &self,
        armored: &str,
        signed: &[u8],
        now: SystemTime,
    ) -> Result<Vec<String>, SignatureError> {
        let malformed = |e: pgp::errors::Error| SignatureError::Malformed(e.to_string());
        let (signature, _headers) = DetachedSignature::from_string(armored).map_err(malformed)?;
        let signature = signature.signature;
        if !matches!(
            signature.typ(),
            Some(SignatureType::Binary | SignatureType::Text)
        ) {
            return Err(SignatureError::Malformed(
                "the OpenPGP signature is not a data signature".into(),
            ));
        }
        let issuer_ids: Vec<&KeyId> = signature.issuer_key_id();
        let issuer_fingerprints: Vec<&Fingerprint> = signature.issuer_fingerprint();
        let named = |id: KeyId, fingerprint: Fingerprint| {
            issuer_fingerprints.contains(&&fingerprint) || issuer_ids.contains(&&id)
        };
        let Some((key, component)) = self.keys.iter().find_map(|key| {
            let primary = &key.primary_key;
            if named(primary.legacy_key_id(), primary.fingerprint()) {
                return Some((key, Component::Primary(primary)));
            }
            key.public_subkeys
                .iter()
                .find(|sub| named(sub.key.legacy_key_id(), sub.key.fingerprint()))
                .map(|sub| (key, Component::Subkey(sub)))
        }) else {
            let name = issuer_fingerprints
                .first()
                .map(|f| key_id_of(f))
                .or_else(|| issuer_ids.first().map(|id| key_id_hex(id)))
                .ok_or_else(|| {
                    SignatureError::Malformed("the OpenPGP signature names no issuer key".into())
                })?;
            return Err(SignatureError::Untrusted(format!("OpenPGP key id {name}")));
        };
        let name = describe(key, &component);
        let now = unix_seconds(now);

        if let Some(hash) = signature.hash_alg()
            && matches!(
                hash,
                HashAlgorithm::None
                    | HashAlgorithm::Md5
                    | HashAlgorithm::Sha1
                    | HashAlgorithm::Ripemd160
            )
        {
            return Err(SignatureError::WeakHash(hash.to_string()));
        }

        // The certificate: the primary key's self-signature, revocations and expiry.
        let primary = &key.primary_key;
        let Some(self_sig) = self_signature(key) else {
            return Err(SignatureError::NotForSigning(name));
        };
        if primary_revoked(key) {
            return Err(SignatureError::Revoked(name));
        }
        if expired(primary.created_at().as_secs(), self_sig, now) {
            return Err(SignatureError::Expired(name));
        }
        // The component that signed.
        let (created, flags_sig) = match &component {
            Component::Primary(_) => (primary.created_at().as_secs(), self_sig),
            Component::Subkey(sub) => {
                if subkey_revoked(primary, sub) {
                    return Err(SignatureError::Revoked(name));
                }
                let Some(binding) = subkey_binding(primary, sub) else {
                    return Err(SignatureError::NotForSigning(name));
                };
                let created = sub.key.created_at().as_secs();
                if expired(created, binding, now) {
                    return Err(SignatureError::Expired(name));
                }
                (created, binding)
            }
        };
        if !flags_sig.key_flags().sign() {
            return Err(SignatureError::NotForSigning(name));
        }
        // The signature itself.
        let signed_at = signature
            .created()
            .map(|t| u64::from(t.as_secs()))
            .ok_or_else(|| {
                SignatureError::Malformed("the OpenPGP signature has no creation time".into())
            })?;
        if signed_at < u64::from(created) {
            return Err(SignatureError::Invalid);
        }
        if let Some(valid_for) = signature.signature_expiration_time()
            && valid_for.as_secs() != 0
            && signed_at.saturating_add(u64::from(valid_for.as_secs())) <= now
        {
            return Err(SignatureError::SignatureExpired(name));
        }
        let verified = match &component {
            Component::Primary(primary) => signature.verify(*primary, signed),
            Component::Subkey(sub) => signature.verify(&sub.key, signed),
        };
        verified.map_err(|_| SignatureError::Invalid)?;
        Ok(key
            .details
            .users
            .iter()
            .map(|u| String::from_utf8_lossy(u.id.id()).into_owned())
            .collect())
    }
}

/// The key (primary or subkey) a signature names.
enum Component<'a> {
    Primary(&'a packet::PublicKey),
    Subkey(&'a SignedPublicSubKey),
}

fn describe(key: &SignedPublicKey, component: &Component<'_>) -> String {
    let primary = key_id_hex(&key.primary_key.legacy_key_id());
    match component {
        Component::Primary(_) => format!("OpenPGP key id {primary}"),
        Component::Subkey(sub) => format!(
            "OpenPGP key id {}, a subkey of {primary}",
            key_id_hex(&sub.key.legacy_key_id())
        ),
    }
}

fn unix_seconds(time: SystemTime) -> u64 {
    time.duration_since(UNIX_EPOCH).map_or(0, |d| d.as_secs())
}

/// Whether a key created at `created` is expired at `now` by the expiration in `sig`.
fn expired(created: u32, sig: &Signature, now: u64) -> bool {
    match sig.key_expiration_time() {
        Some(lifetime) if lifetime.as_secs() != 0 => {
            u64::from(created).saturating_add(u64::from(lifetime.as_secs())) <= now
        }
        _ => false,
    }
}

fn created(sig: &Signature) -> u32 {
    sig.created().map_or(0, |t| t.as_secs())
}

/// The newest valid self-signature of the primary key: a direct-key signature or a user id
/// certification made by the primary key itself.
fn self_signature(key: &SignedPublicKey) -> Option<&Signature> {
    let primary = &key.primary_key;
    let direct = key
        .details
        .direct_signatures
        .iter()
        .filter(|sig| sig.typ() == Some(SignatureType::Key) && sig.verify_key(primary).is_ok());
    let certifications = key.details.users.iter().flat_map(|user| {
        user.signatures.iter().filter(move |sig| {
            is_issued_by(sig, primary)
                && sig
                    .verify_certification(primary, Tag::UserId, &user.id)
                    .is_ok()
        })
    });
    direct.chain(certifications).max_by_key(|sig| created(sig))
}

/// Whether a valid key revocation signature (by the key itself) is present.
fn primary_revoked(key: &SignedPublicKey) -> bool {
    let primary = &key.primary_key;
    key.details.revocation_signatures.iter().any(|sig| {
        sig.typ() == Some(SignatureType::KeyRevocation)
            && is_issued_by(sig, primary)
            && sig.verify_key(primary).is_ok()
    })
}

fn subkey_revoked(primary: &packet::PublicKey, sub: &SignedPublicSubKey) -> bool {
    sub.signatures.iter().any(|sig| {
        sig.typ() == Some(SignatureType::SubkeyRevocation)
            && sig.verify_subkey_binding(primary, &sub.key).is_ok()
    })
}

/// The newest valid binding signature of a subkey; a binding that lets the subkey sign must
/// carry a valid back-signature by the subkey.
fn subkey_binding<'a>(
    primary: &packet::PublicKey,
    sub: &'a SignedPublicSubKey,
) -> Option<&'a Signature> {
    sub.signatures
        .iter()
        .filter(|sig| {
            sig.typ() == Some(SignatureType::SubkeyBinding)
                && sig.verify_subkey_binding(primary, &sub.key).is_ok()
                && (!sig.key_flags().sign()
                    || sig.embedded_signature().is_some_and(|back| {
                        back.verify_primary_key_binding(&sub.key, primary).is_ok()
                    }))
        })
        .max_by_key(|sig| created(sig))
}

fn is_issued_by(sig: &Signature, key: &impl KeyDetails) -> bool {
    let ids = sig.issuer_key_id();
    let fingerprints = sig.issuer_fingerprint();
    (ids.is_empty() && fingerprints.is_empty())
        || ids.contains(&&key.legacy_key_id())
        || fingerprints.contains(&&key.fingerprint())
}

fn hex_upper(bytes: &[u8]) -> String {
    use std::fmt::Write;
    bytes.iter().fold(String::new(), |mut out, b| {
        let _ = write!(out, "{b:02X}");
        out
    })
}

fn key_id_hex(id: &KeyId) -> String {
    hex_upper(id.as_ref())
}

fn fingerprint_hex(fingerprint: &Fingerprint) -> String {
    hex_upper(fingerprint.as_bytes())
}

/// The key id a fingerprint stands for (v4: its last 8 bytes; v5/v6: its first 8).
fn key_id_of(fingerprint: &Fingerprint) -> String {
    let bytes = fingerprint.as_bytes();
    match fingerprint {
        Fingerprint::V4(_) if bytes.len() >= 8 => hex_upper(&bytes[bytes.len() - 8..]),
        Fingerprint::V5(_) | Fingerprint::V6(_) if bytes.len() >= 8 => hex_upper(&bytes[..8]),
        _ => hex_upper(bytes),
    }
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use super::*;

    // Made with gpg at a faked 2026-01-01: an Ed25519 primary key and an Ed25519 signing
    // subkey, both expiring after two years, and detached signatures of `commit.txt` by each.
    const KEYRING: &str = include_str!("../../tests/fixtures/openpgp/signer.pub.asc");
    const PAYLOAD: &[u8] = include_bytes!("../../tests/fixtures/openpgp/commit.txt");
    const BY_PRIMARY: &str = include_str!("../../tests/fixtures/openpgp/commit.primary.asc");
    const BY_SUBKEY: &str = include_str!("../../tests/fixtures/openpgp/commit.subkey.asc");
    const PRIMARY: &str = "264171AD9FABC5048055C082E7E885E6F557BB8D";

    fn at(unix: u64) -> SystemTime {
        UNIX_EPOCH + Duration::from_secs(unix)
    }

    const JUNE_2026: u64 = 1_780_185_600;
    const YEAR_2029: u64 = 1_861_920_000;

    #[test]
    fn fixture_signatures_verify_while_the_key_is_valid() {
        let keys = AllowedPgpKeys::parse(KEYRING).unwrap();
        assert_eq!(keys.fingerprints(), [PRIMARY]);
        let twice = AllowedPgpKeys::parse(&format!("{KEYRING}\n{KEYRING}")).unwrap_err();
        assert_eq!(
            twice.to_string(),
            format!(
                "OpenPGP key {PRIMARY} appears more than once in the keyring; keep one, current export"
            )
        );
        for signature in [BY_PRIMARY, BY_SUBKEY] {
            assert_eq!(
                keys.verify(signature, PAYLOAD, at(JUNE_2026)).unwrap(),
                ["Fixture Signer <fixture@example.com>"]
            );
        }
        assert_eq!(
            keys.verify(BY_PRIMARY, PAYLOAD, at(YEAR_2029)),
            Err(SignatureError::Expired(
                "OpenPGP key id E7E885E6F557BB8D".into()
            ))
        );
        assert_eq!(
            keys.verify(BY_SUBKEY, PAYLOAD, at(YEAR_2029)),
            Err(SignatureError::Expired(
                "OpenPGP key id 9DF8B399318E8D17, a subkey of E7E885E6F557BB8D".into()
            ))
        );
        let mut altered = PAYLOAD.to_vec();
        altered.extend_from_slice(b"more\n");
        assert_eq!(
            keys.verify(BY_PRIMARY, &altered, at(JUNE_2026)),
            Err(SignatureError::Invalid)
        );
        // Not in an empty keyring: named by the subkey's id.
        assert_eq!(
            AllowedPgpKeys::default().verify(BY_SUBKEY, PAYLOAD, at(JUNE_2026)),
            Err(SignatureError::Untrusted(
                "OpenPGP key id 9DF8B399318E8D17".into()
            ))
        );
    }

    #[test]
    fn refuses_private_keys_empty_files_and_broken_armor() {
        assert!(matches!(
            AllowedPgpKeys::parse("-----BEGIN PGP PRIVATE KEY BLOCK-----\n\nxx\n"),
            Err(PgpKeysError::PrivateKey)
        ));
        assert!(matches!(
            AllowedPgpKeys::parse("just text\n"),
            Err(PgpKeysError::Empty)
        ));
        let error = AllowedPgpKeys::parse(&format!("{PUBLIC_BEGIN}\n\nAAAA\n")).unwrap_err();
        assert!(
            error
                .to_string()
                .starts_with("OpenPGP keyring block 1: no `"),
            "{error}"
        );
        let error =
            AllowedPgpKeys::parse(&format!("{PUBLIC_BEGIN}\n\n!!!!\n{PUBLIC_END}\n")).unwrap_err();
        assert!(
            error.to_string().starts_with("OpenPGP keyring block 1:"),
            "{error}"
        );
    }

    #[test]
    fn a_signature_that_does_not_parse_is_malformed() {
        let keys = AllowedPgpKeys::default();
        let result = keys.verify(
            "-----BEGIN PGP SIGNATURE-----\n\nAAAA\n-----END PGP SIGNATURE-----\n",
            b"tree x\n",
            SystemTime::now(),
        );
        assert!(
            matches!(result, Err(SignatureError::Malformed(_))),
            "{result:?}"
        );
    }
}
