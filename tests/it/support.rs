//! Shared test support: fixtures and servers that several areas' tests use.

/// A log writer for a test's tracing subscriber that keeps every line.
#[derive(Clone, Default)]
pub(crate) struct Logs(std::sync::Arc<std::sync::Mutex<Vec<u8>>>);

impl std::io::Write for Logs {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0.lock().unwrap().extend_from_slice(buf);
        Ok(buf.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

impl<'a> tracing_subscriber::fmt::MakeWriter<'a> for Logs {
    type Writer = Logs;
    fn make_writer(&'a self) -> Self::Writer {
        self.clone()
    }
}

impl Logs {
    /// Every line written so far.
    pub(crate) fn text(&self) -> String {
        String::from_utf8_lossy(&self.0.lock().unwrap()).into_owned()
    }
}

/// The Python with `.ci/requirements.txt` installed (`INFISICAL_GITOPS_TEST_PYTHON`, which
/// scripts/test sets), or `None` with a skip notice; unset under `CI` is a failure.
pub(crate) fn python() -> Option<String> {
    match std::env::var("INFISICAL_GITOPS_TEST_PYTHON") {
        Ok(python) if !python.is_empty() => Some(python),
        _ if std::env::var_os("CI").is_some() => {
            panic!("INFISICAL_GITOPS_TEST_PYTHON must be set in CI (scripts/test sets it)")
        }
        _ => {
            eprintln!("skipped: INFISICAL_GITOPS_TEST_PYTHON is not set (run scripts/test)");
            None
        }
    }
}

/// The added and removed lines of a unified diff, without its `+++`/`---` file headers.
pub(crate) fn changed_lines(diff: &str) -> Vec<&str> {
    diff.lines()
        .filter(|l| {
            (l.starts_with('+') || l.starts_with('-'))
                && !l.starts_with("+++")
                && !l.starts_with("---")
        })
        .collect()
}

/// Whether `GET http://{listen}/healthz` answers with success within `attempts` tries 100 ms
/// apart (a daemon started as a child process is up).
pub(crate) async fn healthy(listen: &str, attempts: usize) -> bool {
    let health = format!("http://{listen}/healthz");
    for _ in 0..attempts {
        if reqwest::get(&health)
            .await
            .is_ok_and(|r| r.status().is_success())
        {
            return true;
        }
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    false
}

pub(crate) mod git_http {
    //! Smart HTTP for Git: `git http-backend` run as CGI behind a small axum handler on
    //! 127.0.0.1, optionally behind basic auth.

    use std::path::{Path, PathBuf};

    use axum::body::Bytes;
    use axum::extract::State;
    use axum::http::{HeaderMap, Method, StatusCode, Uri};
    use axum::response::{IntoResponse, Response};

    #[derive(Clone)]
    struct Backend {
        root: PathBuf,
        /// The expected `authorization` header and the user it names.
        basic: Option<(String, String)>,
    }

    async fn cgi(
        State(backend): State<Backend>,
        method: Method,
        uri: Uri,
        headers: HeaderMap,
        body: Bytes,
    ) -> Response {
        if let Some((expected, _)) = &backend.basic {
            let given = headers
                .get("authorization")
                .and_then(|v| v.to_str().ok())
                .unwrap_or_default();
            if given != expected {
                return (
                    StatusCode::UNAUTHORIZED,
                    [("www-authenticate", "Basic realm=\"git\"")],
                    "",
                )
                    .into_response();
            }
        }
        let mut command = tokio::process::Command::new("git");
        command
            .arg("http-backend")
            .env_clear()
            .env("PATH", std::env::var("PATH").unwrap_or_default())
            .env("GIT_PROJECT_ROOT", &backend.root)
            .env("GIT_HTTP_EXPORT_ALL", "1")
            .env("REQUEST_METHOD", method.as_str())
            .env("PATH_INFO", uri.path())
            .env("QUERY_STRING", uri.query().unwrap_or(""))
            .env("CONTENT_LENGTH", body.len().to_string())
            .env("REMOTE_ADDR", "127.0.0.1")
            .stdin(std::process::Stdio::piped())
            .stdout(std::process::Stdio::piped())
            .stderr(std::process::Stdio::null());
        if let Some((_, user)) = &backend.basic {
            command.env("REMOTE_USER", user);
        }
        for (name, variable) in [
            ("content-type", "CONTENT_TYPE"),
            ("git-protocol", "GIT_PROTOCOL"),
            ("content-encoding", "HTTP_CONTENT_ENCODING"),
        ] {
            if let Some(value) = headers.get(name).and_then(|v| v.to_str().ok()) {
                command.env(variable, value);
            }
        }
        let mut child = command.spawn().unwrap();
        let mut stdin = child.stdin.take().unwrap();
        let writer = tokio::spawn(async move {
            use tokio::io::AsyncWriteExt;
            let _ = stdin.write_all(&body).await;
        });
        let output = child.wait_with_output().await.unwrap();
        writer.await.unwrap();
        let raw = output.stdout;
        let (end, gap) = raw
            .windows(4)
            .position(|w| w == b"\r\n\r\n")
            .map(|i| (i, 4))
            .or_else(|| raw.windows(2).position(|w| w == b"\n\n").map(|i| (i, 2)))
            .unwrap();
        let mut response = Response::builder().status(200);
        for line in String::from_utf8_lossy(&raw[..end]).lines() {
            let Some((name, value)) = line.split_once(':') else {
                continue;
            };
            let value = value.trim();
            if name.eq_ignore_ascii_case("status") {
                response = response.status(value[..3].parse::<u16>().unwrap());
            } else {
                response = response.header(name, value);
            }
        }
        response
            .body(axum::body::Body::from(raw[end + gap..].to_vec()))
            .unwrap()
    }

    /// Serves `root`'s repositories over smart HTTP on 127.0.0.1, behind basic auth with
    /// `(user, password)` when given; the base URL.
    pub(crate) async fn serve(root: &Path, basic: Option<(&str, &str)>) -> String {
        let backend = Backend {
            root: root.to_path_buf(),
            basic: basic.map(|(user, password)| {
                (
                    format!("Basic {}", base64(format!("{user}:{password}").as_bytes())),
                    user.to_owned(),
                )
            }),
        };
        let app = axum::Router::new().fallback(cgi).with_state(backend);
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        tokio::spawn(async move { axum::serve(listener, app).await });
        format!("http://{addr}")
    }

    /// Standard base64 with padding, for a basic-auth header.
    fn base64(input: &[u8]) -> String {
        const TABLE: &[u8; 64] =
            b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
        let mut out = String::new();
        for chunk in input.chunks(3) {
            let b = [
                chunk[0],
                *chunk.get(1).unwrap_or(&0),
                *chunk.get(2).unwrap_or(&0),
            ];
            let n = (u32::from(b[0]) << 16) | (u32::from(b[1]) << 8) | u32::from(b[2]);
            for i in 0..4 {
                if i <= chunk.len() {
                    out.push(TABLE[((n >> (18 - 6 * i)) & 63) as usize] as char);
                } else {
                    out.push('=');
                }
            }
        }
        out
    }
}

pub(crate) mod daemon {
    //! A daemon running in the background over a Git source, driven by triggers.

    use std::sync::Arc;
    use std::time::Duration;

    use infisical_gitops::daemon::{Controls, Daemon, DaemonConfig, DaemonState, ReconcileRecord};
    use infisical_gitops::reconcile::Reconciler;
    use infisical_gitops::source::GitRemote;
    use infisical_gitops::source::git::GitSource;
    use tokio::sync::watch;
    use tokio::task::JoinHandle;

    /// A daemon task that polls and checks drift only hourly (so tests drive it with
    /// triggers), as the leader, until [`Running::stop`].
    pub(crate) struct Running {
        pub state: Arc<DaemonState>,
        shutdown: watch::Sender<bool>,
        _leader: watch::Sender<bool>,
        task: JoinHandle<()>,
    }

    impl Running {
        pub(crate) fn start(reconciler: Reconciler, source: Arc<GitSource>) -> Self {
            Self::start_with(reconciler, source, |_| {})
        }

        /// As [`Running::start`], with `configure` run on the state before the first
        /// reconcile.
        pub(crate) fn start_with(
            reconciler: Reconciler,
            source: Arc<GitSource>,
            configure: impl FnOnce(&DaemonState),
        ) -> Self {
            let config = DaemonConfig {
                interval: Duration::from_secs(3600),
                drift_interval: Duration::from_secs(3600),
                ..DaemonConfig::default()
            };
            let (daemon, state) = Daemon::new(reconciler, Arc::new(GitRemote(source)), config);
            configure(&state);
            let (shutdown_tx, shutdown) = watch::channel(false);
            let (leader_tx, leader) = watch::channel(true);
            let task = tokio::spawn(daemon.run(Controls {
                shutdown,
                leader,
                watch_events: None,
            }));
            Self {
                state,
                shutdown: shutdown_tx,
                _leader: leader_tx,
                task,
            }
        }

        /// Waits (10 s at most) until the last reconcile is of `revision`; its record.
        pub(crate) async fn reconciled(&self, revision: &str) -> ReconcileRecord {
            for _ in 0..200 {
                if self.state.last().and_then(|r| r.revision).as_deref() == Some(revision) {
                    return self.state.last().unwrap();
                }
                tokio::time::sleep(Duration::from_millis(50)).await;
            }
            panic!(
                "revision {revision} not reconciled: {:?}",
                self.state.status()
            );
        }

        /// Waits (10 s at most) until `revision` is applied.
        pub(crate) async fn applied(&self, revision: &str) {
            for _ in 0..200 {
                if self.state.status().applied_revision.as_deref() == Some(revision) {
                    return;
                }
                tokio::time::sleep(Duration::from_millis(50)).await;
            }
            panic!("revision {revision} not applied: {:?}", self.state.status());
        }

        /// Asks the daemon to stop and waits until it has.
        pub(crate) async fn stop(self) {
            self.shutdown.send(true).unwrap();
            self.task.await.unwrap();
        }
    }
}

pub(crate) mod fixtures {
    //! Starting points for the chainable state builders that most planning tests share.

    use infisical_gitops::plan::testing::{DesiredBuilder, LiveBuilder};

    /// A repository declaring the project `k3s-infrastructure` with one environment, `prod`.
    pub(crate) fn desired_prod() -> DesiredBuilder {
        DesiredBuilder::new().project("k3s-infrastructure", &["prod"])
    }

    /// An Infisical holding the project `k3s-infrastructure` (with the ownership marker) and
    /// its environment `prod`.
    pub(crate) fn live_prod() -> LiveBuilder {
        LiveBuilder::new().project("k3s-infrastructure", true, &["prod"])
    }
}

pub(crate) mod ssh_keys {
    //! Throwaway SSH key pairs made with `ssh-keygen`.

    use std::path::{Path, PathBuf};
    use std::process::Command;

    /// A fresh Ed25519 key pair in `dir` (comment `name`); the private key's path.
    pub(crate) fn keygen(dir: &Path, name: &str) -> PathBuf {
        keygen_typed(dir, name, &["-t", "ed25519"])
    }

    /// A fresh key pair of the given `ssh-keygen` type arguments; the private key's path.
    pub(crate) fn keygen_typed(dir: &Path, name: &str, kind: &[&str]) -> PathBuf {
        let path = dir.join(name);
        let output = Command::new("ssh-keygen")
            .args(["-q", "-N", "", "-C", name])
            .args(kind)
            .arg("-f")
            .arg(&path)
            .output()
            .expect("ssh-keygen runs");
        assert!(
            output.status.success(),
            "{}",
            String::from_utf8_lossy(&output.stderr)
        );
        path
    }
}

pub(crate) mod writes {
    //! Secret writes as the reconciler sends them.

    use infisical_gitops::infisical::SecretWrite;
    use infisical_gitops::model::SecretValue;

    /// A write of `key` = `value` carrying the `managed-by` metadata.
    pub(crate) fn managed(key: &str, value: &str) -> SecretWrite {
        SecretWrite {
            key: key.into(),
            value: Some(SecretValue::new(value)),
            comment: None,
            tag_ids: None,
            metadata: Some(vec![("managed-by".into(), "infisical-gitops".into())]),
        }
    }
}

/// Typed names for the Infisical port's arguments in tests.
pub(crate) mod names {
    use infisical_gitops::model::{EnvironmentSlug, FolderPath, SecretKey, TagSlug};

    /// An environment slug the test knows to be valid.
    pub(crate) fn env_slug(slug: &str) -> EnvironmentSlug {
        EnvironmentSlug::new(slug).unwrap()
    }

    /// A folder path the test knows to be valid.
    pub(crate) fn folder_path(path: &str) -> FolderPath {
        FolderPath::new(path).unwrap()
    }

    /// A secret key the test knows to be valid.
    pub(crate) fn secret_key(key: &str) -> SecretKey {
        SecretKey::new(key).unwrap()
    }

    /// A tag slug the test knows to be valid.
    pub(crate) fn tag_slug(slug: &str) -> TagSlug {
        TagSlug::new(slug).unwrap()
    }
}
