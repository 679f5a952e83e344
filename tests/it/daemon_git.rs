//! Git sources against real repositories made with the `git` CLI: `file://` and HTTP
//! (`git http-backend` behind a small CGI handler, with and without basic auth); branches,
//! tags, pinned commits, sub-paths, shallow fetches; end to end through the daemon into a dev
//! server, triggered by a signed webhook over real HTTP; `run --once` through the binary.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::Arc;
use std::time::Duration;

use infisical_gitops::daemon::ReconcileOutcome;
use infisical_gitops::daemon::http::{WebhookSecrets, github_signature, router};
use infisical_gitops::dev::{DevServer, DevServerConfig};
use infisical_gitops::infisical::{ClientConfig, Credentials, HttpClient};
use infisical_gitops::reconcile::Reconciler;
use infisical_gitops::resolve::SourceResolver;
use infisical_gitops::source::git::{GitAuth, GitConfig, GitError, GitReference, GitSource};

use super::daemon::write_repo;
use super::support::daemon::Running;
use super::support::git_http;

pub(crate) fn git(dir: &Path, args: &[&str]) -> String {
    let output = Command::new("git")
        .args(args)
        .current_dir(dir)
        .env("GIT_AUTHOR_NAME", "Test")
        .env("GIT_AUTHOR_EMAIL", "test@example.invalid")
        .env("GIT_COMMITTER_NAME", "Test")
        .env("GIT_COMMITTER_EMAIL", "test@example.invalid")
        .env("GIT_CONFIG_NOSYSTEM", "1")
        .env("HOME", dir)
        .output()
        .expect("git runs");
    assert!(
        output.status.success(),
        "git {args:?}: {}",
        String::from_utf8_lossy(&output.stderr)
    );
    String::from_utf8_lossy(&output.stdout).trim().to_string()
}

/// A bare "remote" and a work clone that pushes to it.
pub(crate) struct Remote {
    _temp: tempfile::TempDir,
    pub root: PathBuf,
    pub bare: PathBuf,
    pub work: PathBuf,
}

impl Remote {
    pub(crate) fn new() -> Self {
        let temp = tempfile::tempdir().unwrap();
        let root = temp.path().to_path_buf();
        let bare = root.join("remote.git");
        let work = root.join("work");
        std::fs::create_dir_all(&work).unwrap();
        git(
            &root,
            &["init", "--quiet", "--bare", "-b", "main", "remote.git"],
        );
        git(&bare, &["config", "http.receivepack", "true"]);
        git(&work, &["init", "--quiet", "-b", "main"]);
        git(&work, &["remote", "add", "origin", bare.to_str().unwrap()]);
        Self {
            _temp: temp,
            root,
            bare,
            work,
        }
    }

    /// Writes the repository (under `sub`) with `value`, commits and pushes; the commit id.
    pub(crate) fn push(&self, sub: &str, value: &str) -> String {
        write_repo(&self.work.join(sub), value, "correct");
        git(&self.work, &["add", "-A"]);
        git(
            &self.work,
            &[
                "commit",
                "--quiet",
                "--allow-empty",
                "-m",
                &format!("value {value}"),
            ],
        );
        git(&self.work, &["push", "--quiet", "origin", "HEAD:main"]);
        git(&self.work, &["rev-parse", "HEAD"])
    }

    pub(crate) fn file_url(&self) -> String {
        format!("file://{}", self.bare.display())
    }

    pub(crate) fn config(&self, url: String, reference: GitReference, sub: &str) -> GitConfig {
        GitConfig {
            url,
            reference,
            sub_path: PathBuf::from(sub),
            work_dir: self.root.join(format!("checkout-{}", rand_suffix())),
            auth: GitAuth::None,
            known_hosts: None,
            shallow: true,
        }
    }
}

fn rand_suffix() -> u64 {
    use std::sync::atomic::{AtomicU64, Ordering};
    static NEXT: AtomicU64 = AtomicU64::new(0);
    NEXT.fetch_add(1, Ordering::SeqCst)
}

pub(crate) fn read_value(checkout: &Path) -> String {
    std::fs::read_to_string(checkout.join("secrets/demo.yaml")).unwrap()
}

#[test]
fn file_remote_branch_follows_pushes() {
    let remote = Remote::new();
    let first = remote.push("", "info");
    let source =
        GitSource::new(remote.config(remote.file_url(), GitReference::Branch("main".into()), ""));
    let checkout = source.fetch().unwrap();
    assert_eq!(checkout.revision, first);
    assert!(read_value(&checkout.path).contains("value: info"));
    let second = remote.push("", "debug");
    let checkout = source.fetch().unwrap();
    assert_eq!(checkout.revision, second);
    assert!(read_value(&checkout.path).contains("value: debug"));
}

#[test]
fn file_remote_tags_pinned_commits_and_sub_paths() {
    let remote = Remote::new();
    let first = remote.push("infisical", "info");
    git(&remote.work, &["tag", "v1"]);
    git(&remote.work, &["push", "--quiet", "origin", "v1"]);
    let second = remote.push("infisical", "debug");

    let tag = GitSource::new(remote.config(
        remote.file_url(),
        GitReference::Tag("v1".into()),
        "infisical",
    ));
    let checkout = tag.fetch().unwrap();
    assert_eq!(checkout.revision, first);
    assert!(checkout.path.ends_with("infisical"));
    assert!(read_value(&checkout.path).contains("value: info"));

    let pinned = GitSource::new(remote.config(
        remote.file_url(),
        GitReference::Commit(first.clone()),
        "infisical",
    ));
    assert_eq!(pinned.fetch().unwrap().revision, first);

    let branch = GitSource::new(remote.config(
        remote.file_url(),
        GitReference::Branch("main".into()),
        "infisical",
    ));
    assert_eq!(branch.fetch().unwrap().revision, second);

    let missing =
        GitSource::new(remote.config(remote.file_url(), GitReference::Branch("nope".into()), ""));
    let error = missing.fetch().unwrap_err();
    assert!(
        matches!(error, GitError::Fetch { .. } | GitError::NotFound { .. }),
        "{error:?}"
    );

    let wrong_sub = GitSource::new(remote.config(
        remote.file_url(),
        GitReference::Branch("main".into()),
        "elsewhere",
    ));
    assert!(matches!(
        wrong_sub.fetch().unwrap_err(),
        GitError::SubPath { .. }
    ));
}

#[cfg(unix)]
#[test]
fn sub_paths_and_committed_links_never_leave_the_checkout() {
    use std::os::unix::fs::symlink;
    let remote = Remote::new();
    remote.push("infisical", "info");
    let outside = remote.root.join("outside");
    std::fs::create_dir_all(&outside).unwrap();
    std::fs::write(outside.join("creds.yaml"), "kind: canary-outside-5c1d\n").unwrap();
    // Links are committed as links: one to a directory outside, one to a file outside.
    symlink(&outside, remote.work.join("escape")).unwrap();
    symlink(
        outside.join("creds.yaml"),
        remote.work.join("infisical/creds.yaml"),
    )
    .unwrap();
    git(&remote.work, &["add", "-A"]);
    git(&remote.work, &["commit", "--quiet", "-m", "links"]);
    git(&remote.work, &["push", "--quiet", "origin", "HEAD:main"]);
    let revision = git(&remote.work, &["rev-parse", "HEAD"]);

    let main = || GitReference::Branch("main".into());
    let mut refused = Vec::new();
    for sub in ["escape", "escape/inner", "../outside", "/etc"] {
        let source = GitSource::new(remote.config(remote.file_url(), main(), sub));
        let error = source.fetch().unwrap_err();
        assert!(
            matches!(error, GitError::SubPathOutside { .. }),
            "{sub}: {error:?}"
        );
        refused.push(error.to_string().replace(&revision, "[REVISION]"));
    }
    insta::assert_snapshot!(refused.join("\n"), @r"
    refused sub-path `escape` in revision [REVISION]: it passes through a symbolic link in the repository, and links are never followed
    refused sub-path `escape/inner` in revision [REVISION]: it passes through a symbolic link in the repository, and links are never followed
    refused sub-path `../outside` in revision [REVISION]: it must be a relative path inside the repository, without `..`
    refused sub-path `/etc` in revision [REVISION]: it must be a relative path inside the repository, without `..`
    ");

    // The checkout holds the committed link; the loader refuses it without reading it.
    let source = GitSource::new(remote.config(remote.file_url(), main(), "infisical"));
    let checkout = source.fetch().unwrap();
    let kind = std::fs::symlink_metadata(checkout.path.join("creds.yaml")).unwrap();
    assert!(kind.file_type().is_symlink());
    let loaded = infisical_gitops::source::load_dir_with(
        &checkout.path,
        &infisical_gitops::source::Limits::DEFAULT,
    );
    let shown = format!("{:?}", loaded.diagnostics);
    assert!(!shown.contains("canary-outside-5c1d"), "{shown}");
    let refused: Vec<_> = loaded
        .diagnostics
        .iter()
        .filter(|d| d.code == "symbolic-link")
        .map(|d| d.origin.file.to_string())
        .collect();
    assert_eq!(refused, ["creds.yaml"]);
}

// ------------------------------------------------------------------ HTTP (git http-backend)

async fn fetch_blocking(
    source: Arc<GitSource>,
) -> Result<infisical_gitops::source::git::Checkout, GitError> {
    tokio::task::spawn_blocking(move || source.fetch())
        .await
        .unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn http_remote_shallow_fetch_and_basic_auth() {
    let remote = Remote::new();
    let first = remote.push("", "info");
    remote.push("", "debug");
    let third = remote.push("", "warn");
    let base = git_http::serve(&remote.root, None).await;
    let url = format!("{base}/remote.git");

    let source = Arc::new(GitSource::new(remote.config(
        url.clone(),
        GitReference::Branch("main".into()),
        "",
    )));
    let checkout = fetch_blocking(source.clone()).await.unwrap();
    assert_eq!(checkout.revision, third);
    assert!(read_value(&checkout.path).contains("value: warn"));
    // Shallow: the first commit was never downloaded.
    let repo = git2::Repository::open(&source.config().work_dir).unwrap();
    assert!(repo.is_shallow(), "depth-1 fetch");
    assert!(
        repo.find_commit(git2::Oid::from_str(&first).unwrap())
            .is_err()
    );

    // Basic auth: refused without and with wrong credentials, accepted with the right ones.
    let secured = git_http::serve(&remote.root, Some(("deploy", "s3cret-token"))).await;
    let url = format!("{secured}/remote.git");
    let mut config = remote.config(url.clone(), GitReference::Branch("main".into()), "");
    let anonymous = fetch_blocking(Arc::new(GitSource::new(config.clone())))
        .await
        .unwrap_err();
    assert!(matches!(anonymous, GitError::Fetch { .. }), "{anonymous:?}");
    config.auth = GitAuth::Basic {
        username: "deploy".into(),
        password: "wrong".into(),
    };
    let wrong = fetch_blocking(Arc::new(GitSource::new(config.clone())))
        .await
        .unwrap_err();
    assert!(
        !format!("{wrong:?}").contains("wrong\""),
        "no credentials in errors"
    );
    config.auth = GitAuth::Basic {
        username: "deploy".into(),
        password: "s3cret-token".into(),
    };
    config.work_dir = remote.root.join("checkout-auth");
    let checkout = fetch_blocking(Arc::new(GitSource::new(config)))
        .await
        .unwrap();
    assert_eq!(checkout.revision, third);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn ssh_remotes_need_a_known_host() {
    // No SSH server is needed to show that an unknown host is refused before any key is
    // offered: the host-key check runs first, and without a known-hosts file it fails.
    let remote = Remote::new();
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    drop(listener);
    let mut config = remote.config(
        format!("ssh://git@127.0.0.1:{port}/remote.git"),
        GitReference::Branch("main".into()),
        "",
    );
    config.known_hosts = Some(remote.root.join("missing_known_hosts"));
    let error = fetch_blocking(Arc::new(GitSource::new(config)))
        .await
        .unwrap_err();
    assert!(matches!(error, GitError::KnownHosts { .. }), "{error:?}");
}

// ------------------------------------------------------------------ end to end

pub(crate) async fn dev_reconciler() -> (DevServer, Reconciler) {
    let config = DevServerConfig::default();
    let credentials = Credentials::universal_auth(&config.client_id, &config.client_secret);
    let server = DevServer::start(config).await.unwrap();
    let client = HttpClient::new(ClientConfig::new(server.url(), credentials)).unwrap();
    let reconciler = Reconciler::new(Arc::new(client), Arc::new(SourceResolver::new()));
    (server, reconciler)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn push_then_signed_webhook_applies_to_the_dev_server() {
    let remote = Remote::new();
    let first = remote.push("", "info");
    let base = git_http::serve(&remote.root, None).await;
    let (server, reconciler) = dev_reconciler().await;
    let source = Arc::new(GitSource::new(remote.config(
        format!("{base}/remote.git"),
        GitReference::Branch("main".into()),
        "",
    )));
    let daemon = Running::start(reconciler.clone(), source);
    let app = router(
        daemon.state.clone(),
        WebhookSecrets {
            gitlab_token: None,
            github_secret: Some("hook-secret".into()),
        },
        axum::Router::new(),
    );
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move { axum::serve(listener, app).await });

    daemon.applied(&first).await;

    let second = remote.push("", "debug");
    let body = br#"{"ref":"refs/heads/main"}"#;
    let _ = rustls::crypto::ring::default_provider().install_default();
    let response = reqwest::Client::builder()
        .timeout(Duration::from_secs(10))
        .build()
        .unwrap()
        .post(format!("http://{addr}/hooks/github"))
        .header("x-hub-signature-256", github_signature("hook-secret", body))
        .body(body.to_vec())
        .send()
        .await
        .unwrap();
    assert_eq!(response.status().as_u16(), 202);
    daemon.applied(&second).await;
    let record = daemon.state.last().unwrap();
    assert_eq!(record.outcome, ReconcileOutcome::Success);
    assert_eq!(record.changes.update, 1, "{record:?}");

    // Infisical now equals the repository: a fresh plan is empty.
    let desired = infisical_gitops::source::load_desired_state(&remote.work)
        .unwrap()
        .0;
    let plan = reconciler.plan(desired).await.unwrap().plan;
    assert!(plan.is_empty(), "{plan:?}");

    daemon.stop().await;
    server.shutdown().await;
}

fn binary(args: &[&str]) -> (i32, String, String) {
    let output = Command::new(env!("CARGO_BIN_EXE_infisical-gitops"))
        .args(args)
        .env_remove("INFISICAL_API_URL")
        .env_remove("INFISICAL_GITOPS_GIT_URL")
        .env("NO_COLOR", "1")
        .output()
        .unwrap();
    (
        output.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&output.stdout).into_owned(),
        String::from_utf8_lossy(&output.stderr).into_owned(),
    )
}

#[test]
fn run_once_through_the_binary() {
    let remote = Remote::new();
    let revision = remote.push("deploy/infisical", "info");
    let work_dir = remote.root.join("once");
    let (code, stdout, stderr) = binary(&[
        "run",
        "--once",
        "--dev",
        "--git-url",
        &remote.file_url(),
        "--git-path",
        "deploy/infisical",
        "--work-dir",
        work_dir.to_str().unwrap(),
    ]);
    assert_eq!(code, 0, "{stderr}");
    assert_eq!(
        stdout.trim(),
        format!("startup {revision}: success, 4 created, 0 updated, 0 deleted, 0 drift detected")
    );

    // An invalid directory: exit 1, the problem on stderr.
    let broken = remote.root.join("broken");
    std::fs::create_dir_all(&broken).unwrap();
    std::fs::write(broken.join("a.yaml"), "kind: Project\nspec: [\n").unwrap();
    let (code, stdout, stderr) = binary(&["run", "--once", "--dev", broken.to_str().unwrap()]);
    assert_eq!(code, 1, "{stdout}");
    assert!(stdout.contains(": invalid,"), "{stdout}");
    assert!(stderr.contains("error: "), "{stderr}");
}
