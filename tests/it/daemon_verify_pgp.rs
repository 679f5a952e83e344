//! OpenPGP commit signatures (`--verify-commits --allowed-pgp-keys`) against real commits
//! signed by `git commit -S` through `gpg`, with throwaway keys in a temporary GNUPGHOME:
//! Ed25519 and RSA-3072 primary keys, a signing subkey, unsigned commits, a key not in the
//! keyring, an altered commit, revoked and expired keys; end to end through the daemon with
//! SSH and OpenPGP keys configured together; the command line's keyring checks.
//!
//! Without `gpg` these tests fail under `CI` and print a skip notice elsewhere.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::Arc;
use std::time::{Duration, SystemTime};

use infisical_gitops::daemon::{ReconcileOutcome, Trigger};
use infisical_gitops::source::git::{GitError, GitReference, GitSource};
use infisical_gitops::source::signature::{
    AllowedPgpKeys, AllowedSigners, SignatureError, TrustedKeys,
};

use super::daemon::write_repo;
use super::daemon_git::{Remote, dev_reconciler, git, read_value};
use super::daemon_verify::push as push_ssh_signed;
use super::support::daemon::Running;
use super::support::ssh_keys::keygen;

/// A throwaway GnuPG home with its keys.
struct Gpg {
    _dir: tempfile::TempDir,
    home: PathBuf,
}

/// `gpg`, or `None` (with a notice) when it is not installed outside CI.
fn gpg_or_skip() -> Option<Gpg> {
    let found = Command::new("gpg")
        .arg("--version")
        .output()
        .is_ok_and(|o| o.status.success());
    if found {
        return Some(Gpg::new());
    }
    assert!(
        std::env::var_os("CI").is_none(),
        "gpg is required in CI for the OpenPGP signature tests (apt package gnupg)"
    );
    eprintln!("skipping the OpenPGP signature test: gpg is not installed (apt package gnupg)");
    None
}

impl Gpg {
    fn new() -> Self {
        let dir = tempfile::Builder::new().prefix("gpg").tempdir().unwrap();
        let home = dir.path().to_path_buf();
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            std::fs::set_permissions(&home, std::fs::Permissions::from_mode(0o700)).unwrap();
        }
        Self { _dir: dir, home }
    }

    fn run(&self, args: &[&str], stdin: Option<&str>) -> String {
        use std::io::Write;
        let mut child = Command::new("gpg")
            .arg("--homedir")
            .arg(&self.home)
            .args([
                "--batch",
                "--yes",
                "--no-tty",
                "--pinentry-mode",
                "loopback",
            ])
            .args(["--passphrase", ""])
            .args(args)
            .stdin(std::process::Stdio::piped())
            .stdout(std::process::Stdio::piped())
            .stderr(std::process::Stdio::piped())
            .spawn()
            .expect("gpg runs");
        let mut input = child.stdin.take().unwrap();
        if let Some(text) = stdin {
            input.write_all(text.as_bytes()).unwrap();
        }
        drop(input);
        let output = child.wait_with_output().unwrap();
        assert!(
            output.status.success(),
            "gpg {args:?}: {}",
            String::from_utf8_lossy(&output.stderr)
        );
        String::from_utf8_lossy(&output.stdout).into_owned()
    }

    /// A new primary key; its fingerprint. `fake_time` is gpg's `--faked-system-time`.
    fn generate(&self, uid: &str, algo: &str, expire: &str, fake_time: Option<&str>) -> String {
        let mut args = Vec::new();
        if let Some(time) = fake_time {
            args.extend(["--faked-system-time", time]);
        }
        args.extend(["--quick-gen-key", uid, algo, "sign", expire]);
        self.run(&args, None);
        self.fingerprints(uid)[0].clone()
    }

    /// Adds a signing subkey; its fingerprint.
    fn add_signing_subkey(&self, primary: &str) -> String {
        self.run(
            &["--quick-add-key", primary, "ed25519", "sign", "never"],
            None,
        );
        self.fingerprints(primary).last().unwrap().clone()
    }

    /// The fingerprints of the key (primary first, then subkeys).
    fn fingerprints(&self, key: &str) -> Vec<String> {
        self.run(&["--with-colons", "--list-keys", key], None)
            .lines()
            .filter_map(|l| l.strip_prefix("fpr:"))
            .map(|l| l.trim_matches(':').to_string())
            .collect()
    }

    fn export(&self, key: &str) -> String {
        self.run(&["--export", "--armor", key], None)
    }

    /// Imports the revocation certificate gpg made at key generation.
    fn revoke(&self, primary: &str) {
        let path = self
            .home
            .join("openpgp-revocs.d")
            .join(format!("{primary}.rev"));
        let text = std::fs::read_to_string(path)
            .unwrap()
            .replace(":-----BEGIN PGP", "-----BEGIN PGP");
        self.run(&["--import"], Some(&text));
    }

    /// Revokes the first subkey.
    fn revoke_subkey(&self, primary: &str) {
        self.run(
            &["--command-fd", "0", "--edit-key", primary],
            Some("key 1\nrevkey\ny\n0\n\ny\nsave\n"),
        );
    }

    /// Re-certifies the primary key as certify-only (no signing), a minute from now so its
    /// self-signature is the newest.
    fn make_certify_only(&self, primary: &str) {
        let later = SystemTime::now()
            .duration_since(SystemTime::UNIX_EPOCH)
            .unwrap()
            .as_secs()
            + 60;
        self.run(
            &[
                "--faked-system-time",
                &format!("{later}!"),
                "--expert",
                "--command-fd",
                "0",
                "--edit-key",
                primary,
            ],
            Some("change-usage\nS\nQ\nsave\n"),
        );
    }

    /// A `gpg.program` for git using this home (and optionally a faked time).
    fn program(&self, fake_time: Option<&str>) -> PathBuf {
        match fake_time {
            Some(time) => self.program_with("gpg-faked", &format!("--faked-system-time {time}")),
            None => self.program_with("gpg-program", ""),
        }
    }

    /// A `gpg.program` named `name` for git using this home and `extra` options.
    fn program_with(&self, name: &str, extra: &str) -> PathBuf {
        let path = self.home.join(name);
        std::fs::write(
            &path,
            format!(
                "#!/bin/sh\nexec gpg --homedir '{}' {extra} \"$@\"\n",
                self.home.display()
            ),
        )
        .unwrap();
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o755)).unwrap();
        }
        path
    }
}

impl Drop for Gpg {
    fn drop(&mut self) {
        let _ = Command::new("gpgconf")
            .arg("--homedir")
            .arg(&self.home)
            .args(["--kill", "gpg-agent"])
            .output();
    }
}

/// The key id (last 16 hex digits) of a v4 fingerprint.
fn key_id(fingerprint: &str) -> &str {
    &fingerprint[fingerprint.len() - 16..]
}

/// Writes the repository with `value`, commits signed by `key` through `program` (unsigned
/// when `None`), pushes; the commit id.
fn push_pgp(remote: &Remote, value: &str, signer: Option<(&Path, &str)>) -> String {
    write_repo(&remote.work, value, "correct");
    git(&remote.work, &["add", "-A"]);
    let message = format!("value {value}");
    match signer {
        Some((program, key)) => {
            let program = format!("gpg.program={}", program.display());
            let key = format!("user.signingkey={key}");
            git(
                &remote.work,
                &[
                    "-c",
                    "gpg.format=openpgp",
                    "-c",
                    &program,
                    "-c",
                    &key,
                    "commit",
                    "--quiet",
                    "--allow-empty",
                    "-S",
                    "-m",
                    &message,
                ],
            );
        }
        None => {
            git(
                &remote.work,
                &["commit", "--quiet", "--allow-empty", "-m", &message],
            );
        }
    }
    git(&remote.work, &["push", "--quiet", "origin", "HEAD:main"]);
    git(&remote.work, &["rev-parse", "HEAD"])
}

/// Rewrites the head commit's message while keeping its signature, and force-pushes it.
fn push_tampered(remote: &Remote) -> String {
    let object = git(&remote.work, &["cat-file", "commit", "HEAD"]);
    assert!(object.contains("-----BEGIN PGP SIGNATURE-----"), "{object}");
    let tampered = object.replace("value ", "tampered ");
    assert_ne!(object, tampered);
    let path = remote.root.join("tampered-commit");
    std::fs::write(&path, format!("{tampered}\n")).unwrap();
    let id = git(
        &remote.work,
        &["hash-object", "-t", "commit", "-w", path.to_str().unwrap()],
    );
    git(&remote.work, &["reset", "--quiet", "--hard", &id]);
    git(
        &remote.work,
        &["push", "--quiet", "--force", "origin", "HEAD:main"],
    );
    id
}

fn source_with(remote: &Remote, trusted: TrustedKeys) -> GitSource {
    GitSource::new(remote.config(remote.file_url(), GitReference::Branch("main".into()), ""))
        .with_trusted_keys(trusted)
}

fn pgp_source(remote: &Remote, keyring: &str) -> GitSource {
    source_with(
        remote,
        TrustedKeys::new().with_pgp(AllowedPgpKeys::parse(keyring).unwrap()),
    )
}

/// The refusal, with the revision checked; the message with ids replaced by names.
fn refused(
    result: Result<impl std::fmt::Debug, GitError>,
    revision: &str,
    names: &[(&str, &str)],
) -> (SignatureError, String) {
    let error = match result {
        Err(error @ GitError::Untrusted { .. }) => error,
        other => panic!("expected an untrusted revision, got {other:?}"),
    };
    let message = format!("{}: {}", error, std::error::Error::source(&error).unwrap());
    let GitError::Untrusted {
        revision: refused,
        source,
    } = error
    else {
        unreachable!()
    };
    assert_eq!(refused, revision);
    let mut message = message.replace(revision, "<revision>");
    for (id, name) in names {
        message = message.replace(id, name);
    }
    (source, message)
}

/// The `gpgsig` header and signed payload of `commit` in the bare repository.
fn signature_of(remote: &Remote, commit: &str) -> (Vec<u8>, Vec<u8>) {
    let repo = git2::Repository::open(&remote.bare).unwrap();
    let (signature, signed) = repo
        .extract_signature(&git2::Oid::from_str(commit).unwrap(), None)
        .unwrap();
    (signature.to_vec(), signed.to_vec())
}

#[test]
fn openpgp_signed_commits_by_allowed_keys_are_checked_out_and_others_refused() {
    let Some(gpg) = gpg_or_skip() else { return };
    let remote = Remote::new();
    let alice = gpg.generate("Alice <alice@example.com>", "ed25519", "never", None);
    let bob = gpg.generate("Bob <bob@example.com>", "rsa3072", "never", None);
    let mallory = gpg.generate("Mallory <mallory@example.com>", "ed25519", "never", None);
    let program = gpg.program(None);
    // Two armored blocks, as when files are concatenated, with text around them.
    let keyring = format!(
        "# platform team\n{}\n{}",
        gpg.export(&alice),
        gpg.export(&bob)
    );
    let keys = AllowedPgpKeys::parse(&keyring).unwrap();
    assert_eq!(keys.fingerprints(), [alice.clone(), bob.clone()]);
    let source = pgp_source(&remote, &keyring);
    let names = [(key_id(&mallory), "<mallory>"), (key_id(&alice), "<alice>")];
    let mut messages = Vec::new();

    let good = push_pgp(&remote, "info", Some((&program, &alice)));
    let checkout = source.fetch().unwrap();
    assert_eq!(checkout.revision, good);
    let good_content = read_value(&checkout.path);

    let rsa = push_pgp(&remote, "warn", Some((&program, &bob)));
    assert_eq!(source.fetch().unwrap().revision, rsa);
    let rsa_content = read_value(&checkout.path);
    assert_ne!(rsa_content, good_content);

    let unsigned = push_pgp(&remote, "debug", None);
    let (reason, message) = refused(source.fetch(), &unsigned, &names);
    assert_eq!(reason, SignatureError::Unsigned);
    messages.push(message);
    // Refused before checkout: the work tree still holds the last good revision.
    assert_eq!(read_value(&checkout.path), rsa_content);

    let foreign = push_pgp(&remote, "error", Some((&program, &mallory)));
    let (reason, message) = refused(source.fetch(), &foreign, &names);
    assert_eq!(
        reason,
        SignatureError::Untrusted(format!("OpenPGP key id {}", key_id(&mallory)))
    );
    messages.push(message);
    assert_eq!(read_value(&checkout.path), rsa_content);

    // SHA-1 is refused, whoever signs.
    let sha1 = gpg.program_with("gpg-sha1", "--digest-algo SHA1");
    let weak = push_pgp(&remote, "trace", Some((&sha1, &bob)));
    let (reason, message) = refused(source.fetch(), &weak, &names);
    assert_eq!(reason, SignatureError::WeakHash("SHA1".into()));
    messages.push(message);

    push_pgp(&remote, "trace", Some((&program, &alice)));
    let tampered = push_tampered(&remote);
    let (reason, message) = refused(source.fetch(), &tampered, &names);
    assert_eq!(reason, SignatureError::Invalid);
    messages.push(message);

    // An OpenPGP-only configuration names the SSH key it does not trust.
    let ssh_key = keygen(&remote.root, "ssh-signer");
    let ssh_signed = push_ssh_signed(&remote, "info", Some(&ssh_key));
    let (reason, message) = refused(source.fetch(), &ssh_signed, &names);
    assert!(
        matches!(reason, SignatureError::Untrusted(ref f) if f.starts_with("SHA256:")),
        "{reason:?}"
    );
    messages.push(message.split(" (SHA256:").next().unwrap().to_string() + " (SHA256:…)");

    let good = push_pgp(&remote, "info", Some((&program, &alice)));
    assert_eq!(source.fetch().unwrap().revision, good);

    insta::assert_snapshot!("openpgp_refusals", messages.join("\n"));
}

#[test]
fn signing_subkeys_are_accepted_until_revoked() {
    let Some(gpg) = gpg_or_skip() else { return };
    let remote = Remote::new();
    let carol = gpg.generate("Carol <carol@example.com>", "ed25519", "never", None);
    let subkey = gpg.add_signing_subkey(&carol);
    assert_ne!(subkey, carol);
    let program = gpg.program(None);
    // `KEY!` makes gpg sign with exactly that subkey.
    let signed = push_pgp(&remote, "info", Some((&program, &format!("{subkey}!"))));
    let (signature, payload) = signature_of(&remote, &signed);

    let source = pgp_source(&remote, &gpg.export(&carol));
    assert_eq!(source.fetch().unwrap().revision, signed);
    let keys = TrustedKeys::new().with_pgp(AllowedPgpKeys::parse(&gpg.export(&carol)).unwrap());
    assert_eq!(
        keys.verify_commit(&signature, &payload).unwrap(),
        ["Carol <carol@example.com>"]
    );

    gpg.revoke_subkey(&carol);
    let source = pgp_source(&remote, &gpg.export(&carol));
    let names = [(key_id(&subkey), "<subkey>"), (key_id(&carol), "<carol>")];
    let (reason, message) = refused(source.fetch(), &signed, &names);
    assert!(matches!(reason, SignatureError::Revoked(_)), "{reason:?}");
    insta::assert_snapshot!("openpgp_revoked_subkey", message);
}

#[test]
fn revoked_expired_and_non_signing_keys_are_refused() {
    let Some(gpg) = gpg_or_skip() else { return };
    let remote = Remote::new();
    let program = gpg.program(None);
    let mut messages = Vec::new();

    // Revoked after signing: the key in the keyring carries the revocation.
    let dave = gpg.generate("Dave <dave@example.com>", "ed25519", "never", None);
    let signed = push_pgp(&remote, "info", Some((&program, &dave)));
    assert_eq!(
        pgp_source(&remote, &gpg.export(&dave))
            .fetch()
            .unwrap()
            .revision,
        signed
    );
    gpg.revoke(&dave);
    let (reason, message) = refused(
        pgp_source(&remote, &gpg.export(&dave)).fetch(),
        &signed,
        &[(key_id(&dave), "<dave>")],
    );
    assert!(matches!(reason, SignatureError::Revoked(_)), "{reason:?}");
    messages.push(message);

    // Its owner re-certified it as certify-only after signing: not valid for signing any more.
    let grace = gpg.generate("Grace <grace@example.com>", "ed25519", "never", None);
    let signed = push_pgp(&remote, "trace", Some((&program, &grace)));
    gpg.make_certify_only(&grace);
    let (reason, message) = refused(
        pgp_source(&remote, &gpg.export(&grace)).fetch(),
        &signed,
        &[(key_id(&grace), "<grace>")],
    );
    assert!(
        matches!(reason, SignatureError::NotForSigning(_)),
        "{reason:?}"
    );
    messages.push(message);

    // Made and used in 2020 with a one-day lifetime: expired now.
    let past = "20200101T000000!";
    let erin = gpg.generate("Erin <erin@example.com>", "rsa3072", "1d", Some(past));
    let old = push_pgp(&remote, "warn", Some((&gpg.program(Some(past)), &erin)));
    let (reason, message) = refused(
        pgp_source(&remote, &gpg.export(&erin)).fetch(),
        &old,
        &[(key_id(&erin), "<erin>")],
    );
    assert!(matches!(reason, SignatureError::Expired(_)), "{reason:?}");
    messages.push(message);

    // Valid now, expired at verification two days later (the clock is an argument).
    let frank = gpg.generate("Frank <frank@example.com>", "ed25519", "1d", None);
    let current = push_pgp(&remote, "debug", Some((&program, &frank)));
    let (signature, payload) = signature_of(&remote, &current);
    let keys = TrustedKeys::new().with_pgp(AllowedPgpKeys::parse(&gpg.export(&frank)).unwrap());
    assert!(keys.verify_commit(&signature, &payload).is_ok());
    let later = SystemTime::now() + Duration::from_secs(2 * 86_400);
    assert_eq!(
        keys.verify_commit_at(&signature, &payload, later),
        Err(SignatureError::Expired(format!(
            "OpenPGP key id {}",
            key_id(&frank)
        )))
    );

    insta::assert_snapshot!("openpgp_key_state_refusals", messages.join("\n"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_daemon_applies_commits_signed_with_either_kind_of_key() {
    let Some(gpg) = gpg_or_skip() else { return };
    let remote = Remote::new();
    let alice = gpg.generate("Alice <alice@example.com>", "ed25519", "never", None);
    let mallory = gpg.generate("Mallory <mallory@example.com>", "ed25519", "never", None);
    let program = gpg.program(None);
    let ssh_key = keygen(&remote.root, "ssh-signer");
    let ssh_public = std::fs::read_to_string(ssh_key.with_extension("pub")).unwrap();
    let trusted = TrustedKeys::new()
        .with_ssh(AllowedSigners::parse(&format!("ops@example.com {ssh_public}")).unwrap())
        .with_pgp(AllowedPgpKeys::parse(&gpg.export(&alice)).unwrap());

    let first = push_pgp(&remote, "info", Some((&program, &alice)));
    let (server, reconciler) = dev_reconciler().await;
    let source = Arc::new(source_with(&remote, trusted));
    let daemon = Running::start(reconciler, source);
    let state = &daemon.state;
    let record = daemon.reconciled(&first).await;
    assert_eq!(record.outcome, ReconcileOutcome::Success, "{record:?}");

    let foreign = push_pgp(&remote, "debug", Some((&program, &mallory)));
    state.trigger(Trigger::Webhook);
    let record = daemon.reconciled(&foreign).await;
    assert_eq!(record.outcome, ReconcileOutcome::Untrusted);
    assert_eq!(
        record.errors,
        [format!(
            "revision {foreign} is not trusted: the commit is signed by a key that is not allowed (OpenPGP key id {})",
            key_id(&mallory)
        )]
    );
    assert_eq!(
        state.status().applied_revision.as_deref(),
        Some(first.as_str())
    );
    assert!(
        state.metrics().contains(
            "infisical_gitops_reconciles_total{trigger=\"webhook\",outcome=\"untrusted\"} 1"
        ),
        "{}",
        state.metrics()
    );

    // An SSH-signed commit from the same repository is applied too.
    let ssh_signed = push_ssh_signed(&remote, "warn", Some(&ssh_key));
    state.trigger(Trigger::Webhook);
    let record = daemon.reconciled(&ssh_signed).await;
    assert_eq!(record.outcome, ReconcileOutcome::Success, "{record:?}");
    assert_eq!(record.changes.update, 1, "{record:?}");
    assert_eq!(
        state.status().applied_revision.as_deref(),
        Some(ssh_signed.as_str())
    );

    daemon.stop().await;
    server.shutdown().await;
}

#[test]
fn the_command_line_reads_the_openpgp_keyring() {
    let temp = tempfile::tempdir().unwrap();
    let run = |args: &[&str], env: Option<(&str, &Path)>| {
        let mut command = Command::new(env!("CARGO_BIN_EXE_infisical-gitops"));
        command.args(args);
        if let Some((name, value)) = env {
            command.env(name, value);
        }
        let output = command.output().unwrap();
        (
            output.status.code(),
            String::from_utf8_lossy(&output.stderr).into_owned(),
        )
    };
    let private = temp.path().join("private.asc");
    std::fs::write(
        &private,
        "-----BEGIN PGP PRIVATE KEY BLOCK-----\n\nxx\n-----END PGP PRIVATE KEY BLOCK-----\n",
    )
    .unwrap();
    // From the environment variable, as a Deployment would set it.
    let (code, stderr) = run(
        &[
            "run",
            "--git-url",
            "file:///nowhere",
            "--verify-commits",
            "--once",
        ],
        Some(("INFISICAL_GITOPS_ALLOWED_PGP_KEYS", &private)),
    );
    assert_eq!(code, Some(1), "{stderr}");
    assert!(stderr.contains("--allowed-pgp-keys"), "{stderr}");
    assert!(stderr.contains("holds a private key"), "{stderr}");

    let missing = temp.path().join("missing.asc");
    let (code, stderr) = run(
        &[
            "run",
            "--git-url",
            "file:///nowhere",
            "--verify-commits",
            "--allowed-pgp-keys",
            missing.to_str().unwrap(),
            "--once",
        ],
        None,
    );
    assert_eq!(code, Some(1), "{stderr}");
    assert!(
        stderr.contains("cannot read the OpenPGP keyring"),
        "{stderr}"
    );

    // Without --verify-commits a keyring is a usage error (nothing would check it).
    let (code, stderr) = run(
        &[
            "run",
            "--git-url",
            "file:///nowhere",
            "--allowed-pgp-keys",
            missing.to_str().unwrap(),
        ],
        None,
    );
    assert_eq!(code, Some(2), "{stderr}");
    assert!(stderr.contains("--verify-commits"), "{stderr}");
}

#[test]
fn run_once_applies_only_openpgp_signed_revisions_through_the_binary() {
    let Some(gpg) = gpg_or_skip() else { return };
    let remote = Remote::new();
    let alice = gpg.generate("Alice <alice@example.com>", "ed25519", "never", None);
    let mallory = gpg.generate("Mallory <mallory@example.com>", "ed25519", "never", None);
    let program = gpg.program(None);
    let keyring = remote.root.join("allowed.asc");
    std::fs::write(&keyring, gpg.export(&alice)).unwrap();
    let run_once = |work_dir: &str| {
        let output = Command::new(env!("CARGO_BIN_EXE_infisical-gitops"))
            .args(["run", "--once", "--dev", "--verify-commits"])
            .args(["--git-url", &remote.file_url(), "--work-dir"])
            .arg(remote.root.join(work_dir))
            .arg("--allowed-pgp-keys")
            .arg(&keyring)
            .env_remove("INFISICAL_API_URL")
            .env_remove("INFISICAL_GITOPS_GIT_URL")
            .env("NO_COLOR", "1")
            .output()
            .unwrap();
        (
            output.status.code(),
            String::from_utf8_lossy(&output.stdout).trim().to_string(),
            String::from_utf8_lossy(&output.stderr).into_owned(),
        )
    };

    let signed = push_pgp(&remote, "info", Some((&program, &alice)));
    let (code, stdout, stderr) = run_once("first");
    assert_eq!(code, Some(0), "{stderr}");
    assert_eq!(
        stdout,
        format!("startup {signed}: success, 4 created, 0 updated, 0 deleted, 0 drift detected")
    );

    let foreign = push_pgp(&remote, "warn", Some((&program, &mallory)));
    let (code, stdout, stderr) = run_once("second");
    assert_eq!(code, Some(1), "{stdout}\n{stderr}");
    assert!(
        stdout.contains(&format!("{foreign}: untrusted")),
        "{stdout}"
    );
    assert!(
        stderr.contains(&format!(
            "the commit is signed by a key that is not allowed (OpenPGP key id {})",
            key_id(&mallory)
        )),
        "{stderr}"
    );
}
