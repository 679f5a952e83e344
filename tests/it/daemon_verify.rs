//! Commit signature verification (`--verify-commits`) against real commits signed with
//! `git` and `ssh-keygen`: a commit signed by an allowed key is checked out; unsigned, foreign
//! and tampered commits are refused before checkout; end to end, the daemon applies signed
//! pushes into a dev server and reports (and does not apply) the others.

use std::path::Path;
use std::process::Command;
use std::sync::Arc;

use infisical_gitops::daemon::{ReconcileOutcome, Trigger};
use infisical_gitops::source::git::{GitError, GitReference, GitSource};
use infisical_gitops::source::signature::{AllowedSigners, SignatureError};

use super::daemon::write_repo;
use super::daemon_git::{Remote, dev_reconciler, git, read_value};
use super::support::daemon::Running;
use super::support::ssh_keys::{keygen, keygen_typed};

fn public_key(key: &Path) -> String {
    std::fs::read_to_string(key.with_extension("pub"))
        .unwrap()
        .trim()
        .to_string()
}

/// Writes the repository with `value`, commits (signed with `key` when given), pushes.
pub(crate) fn push(remote: &Remote, value: &str, key: Option<&Path>) -> String {
    write_repo(&remote.work, value, "correct");
    git(&remote.work, &["add", "-A"]);
    let message = format!("value {value}");
    match key {
        Some(key) => {
            let signing = format!("user.signingkey={}", key.display());
            git(
                &remote.work,
                &[
                    "-c",
                    "gpg.format=ssh",
                    "-c",
                    &signing,
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

fn untrusted(result: Result<impl std::fmt::Debug, GitError>) -> (String, SignatureError) {
    match result {
        Err(GitError::Untrusted { revision, source }) => (revision, source),
        other => panic!("expected an untrusted revision, got {other:?}"),
    }
}

#[test]
fn only_commits_signed_by_allowed_keys_are_checked_out() {
    let remote = Remote::new();
    let allowed = keygen(&remote.root, "allowed");
    let other = keygen(&remote.root, "other");
    let ecdsa = keygen_typed(&remote.root, "ecdsa", &["-t", "ecdsa", "-b", "256"]);
    let signers = AllowedSigners::parse(&format!(
        "ops@example.com namespaces=\"git\" {}\nbot@example.com {}\n",
        public_key(&allowed),
        public_key(&ecdsa)
    ))
    .unwrap();
    let source =
        GitSource::new(remote.config(remote.file_url(), GitReference::Branch("main".into()), ""))
            .with_allowed_signers(signers);

    let good = push(&remote, "info", Some(&allowed));
    let checkout = source.fetch().unwrap();
    assert_eq!(checkout.revision, good);
    let good_content = read_value(&checkout.path);

    let unsigned = push(&remote, "debug", None);
    let (revision, reason) = untrusted(source.fetch());
    assert_eq!(revision, unsigned);
    assert_eq!(reason, SignatureError::Unsigned);
    // Refused before checkout: the work tree still holds the good revision.
    assert_eq!(read_value(&checkout.path), good_content);

    let foreign = push(&remote, "warn", Some(&other));
    let (revision, reason) = untrusted(source.fetch());
    assert_eq!(revision, foreign);
    assert!(matches!(reason, SignatureError::Untrusted(ref f) if f.starts_with("SHA256:")));
    assert_eq!(read_value(&checkout.path), good_content);

    push(&remote, "error", Some(&allowed));
    let tampered = push_tampered(&remote);
    let (revision, reason) = untrusted(source.fetch());
    assert_eq!(revision, tampered);
    assert_eq!(reason, SignatureError::Invalid);

    let good = push(&remote, "trace", Some(&allowed));
    assert_eq!(source.fetch().unwrap().revision, good);

    let good = push(&remote, "info", Some(&ecdsa));
    assert_eq!(source.fetch().unwrap().revision, good);
}

#[test]
fn a_key_limited_to_another_namespace_is_not_trusted_for_commits() {
    let remote = Remote::new();
    let key = keygen(&remote.root, "file-only");
    let signers = AllowedSigners::parse(&format!(
        "ops@example.com namespaces=\"file\" {}\n",
        public_key(&key)
    ))
    .unwrap();
    let source =
        GitSource::new(remote.config(remote.file_url(), GitReference::Branch("main".into()), ""))
            .with_allowed_signers(signers);
    push(&remote, "info", Some(&key));
    let (_, reason) = untrusted(source.fetch());
    assert!(matches!(reason, SignatureError::Untrusted(_)), "{reason:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_daemon_applies_signed_pushes_and_reports_unsigned_ones() {
    let remote = Remote::new();
    let key = keygen(&remote.root, "allowed");
    let signers =
        AllowedSigners::parse(&format!("ops@example.com {}\n", public_key(&key))).unwrap();
    let first = push(&remote, "info", Some(&key));
    let (server, reconciler) = dev_reconciler().await;
    let source = Arc::new(
        GitSource::new(remote.config(remote.file_url(), GitReference::Branch("main".into()), ""))
            .with_allowed_signers(signers),
    );
    let daemon = Running::start(reconciler, source);
    let state = &daemon.state;
    let record = daemon.reconciled(&first).await;
    assert_eq!(record.outcome, ReconcileOutcome::Success);

    let unsigned = push(&remote, "debug", None);
    state.trigger(Trigger::Webhook);
    let record = daemon.reconciled(&unsigned).await;
    assert_eq!(record.outcome, ReconcileOutcome::Untrusted);
    assert_eq!(
        record.errors,
        [format!(
            "revision {unsigned} is not trusted: the commit is not signed"
        )]
    );
    let status = state.status();
    assert_eq!(status.applied_revision.as_deref(), Some(first.as_str()));
    assert!(
        status.ready,
        "an untrusted revision is not a failure of the daemon"
    );
    assert!(
        state.metrics().contains(
            "infisical_gitops_reconciles_total{trigger=\"webhook\",outcome=\"untrusted\"} 1"
        ),
        "{}",
        state.metrics()
    );

    let signed = push(&remote, "warn", Some(&key));
    state.trigger(Trigger::Webhook);
    let record = daemon.reconciled(&signed).await;
    assert_eq!(record.outcome, ReconcileOutcome::Success, "{record:?}");
    assert_eq!(record.changes.update, 1, "{record:?}");
    assert_eq!(
        state.status().applied_revision.as_deref(),
        Some(signed.as_str())
    );

    daemon.stop().await;
    server.shutdown().await;
}

#[test]
fn the_command_line_needs_an_allowed_signers_file_that_parses() {
    let temp = tempfile::tempdir().unwrap();
    let run = |args: &[&str]| {
        let output = Command::new(env!("CARGO_BIN_EXE_infisical-gitops"))
            .args(args)
            .output()
            .unwrap();
        (
            output.status.code(),
            String::from_utf8_lossy(&output.stderr).into_owned(),
        )
    };
    let (code, stderr) = run(&["run", "--git-url", "file:///nowhere", "--verify-commits"]);
    assert_eq!(code, Some(2), "{stderr}");
    assert!(stderr.contains("--allowed-signers"), "{stderr}");

    let file = temp.path().join("allowed_signers");
    std::fs::write(&file, "ops@example.com cert-authority ssh-ed25519 AAAA\n").unwrap();
    let (code, stderr) = run(&[
        "run",
        "--git-url",
        "file:///nowhere",
        "--verify-commits",
        "--allowed-signers",
        file.to_str().unwrap(),
        "--once",
    ]);
    assert_eq!(code, Some(1), "{stderr}");
    assert!(
        stderr.contains("option `cert-authority` is not supported"),
        "{stderr}"
    );
}
