//! Notifications against webhook doubles on 127.0.0.1 that answer as Slack (200 `ok`),
//! Discord (204), Teams Workflows (202) and a generic JSON receiver do: paths, headers and
//! bodies of every format; the failure → failure → recovery → failure sequence through the
//! daemon and a real Git remote (3 messages, with commit links); a leak scan with canary values
//! over every message and log line; slow, failing and oversized webhooks that never delay a
//! reconcile.

use std::collections::VecDeque;
use std::path::Path;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::body::Bytes;
use axum::http::{HeaderMap, StatusCode, Uri};
use axum::response::{IntoResponse, Response};
use infisical_gitops::daemon::{Daemon, DaemonConfig, ReconcileOutcome, ReconcileRecord, Trigger};
use infisical_gitops::infisical::memory::MemoryInfisical;
use infisical_gitops::notify::{
    CommitLink, DeliveryRetry, ForgeWeb, HttpTransport, Notifier, NotifyConfig, NotifyFormat,
    NotifyUrl, Target,
};
use infisical_gitops::reconcile::Reconciler;
use infisical_gitops::resolve::SourceResolver;
use infisical_gitops::source::git::{GitReference, GitSource};
use infisical_gitops::source::{GitRemote, LocalDirectory};

use super::daemon::write_repo;
use super::daemon_git::{Remote, git};
use super::support::Logs;

/// What a double answers.
#[derive(Debug, Clone)]
enum Reply {
    /// The answer the real service gives for this path.
    Native,
    Status(u16, Option<&'static str>),
    Hang,
    Huge,
    Redirect,
}

#[derive(Debug, Clone)]
struct Received {
    path: String,
    headers: HeaderMap,
    body: serde_json::Value,
    at: std::time::Instant,
}

#[derive(Default)]
struct HookState {
    received: Vec<Received>,
    script: VecDeque<Reply>,
    otherwise: Option<Reply>,
}

#[derive(Clone, Default)]
struct Hooks(Arc<Mutex<HookState>>);

impl Hooks {
    async fn start() -> (Self, String) {
        let hooks = Hooks::default();
        let app = axum::Router::new()
            .fallback(answer)
            .with_state(hooks.clone());
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let address = listener.local_addr().unwrap();
        tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
        (hooks, format!("http://{address}"))
    }

    fn received(&self) -> Vec<Received> {
        self.0.lock().unwrap().received.clone()
    }

    fn script(&self, replies: impl IntoIterator<Item = Reply>) {
        self.0.lock().unwrap().script.extend(replies);
    }

    fn otherwise(&self, reply: Reply) {
        self.0.lock().unwrap().otherwise = Some(reply);
    }
}

async fn answer(
    axum::extract::State(hooks): axum::extract::State<Hooks>,
    uri: Uri,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let path = uri
        .path_and_query()
        .map(ToString::to_string)
        .unwrap_or_default();
    let reply = {
        let mut state = hooks.0.lock().unwrap();
        state.received.push(Received {
            path: path.clone(),
            headers,
            body: serde_json::from_slice(&body).unwrap_or(serde_json::Value::Null),
            at: std::time::Instant::now(),
        });
        state
            .script
            .pop_front()
            .or_else(|| state.otherwise.clone())
            .unwrap_or(Reply::Native)
    };
    match reply {
        Reply::Native if path.starts_with("/services/") => (StatusCode::OK, "ok").into_response(),
        Reply::Native if path.starts_with("/api/webhooks/") => {
            StatusCode::NO_CONTENT.into_response()
        }
        Reply::Native if path.starts_with("/workflows/") => StatusCode::ACCEPTED.into_response(),
        Reply::Native => (StatusCode::OK, "{}").into_response(),
        Reply::Status(status, retry_after) => {
            let mut response = (
                StatusCode::from_u16(status).unwrap(),
                format!("{{\"message\":\"status {status} for {path}\"}}"),
            )
                .into_response();
            if let Some(seconds) = retry_after {
                response
                    .headers_mut()
                    .insert("retry-after", seconds.parse().unwrap());
            }
            response
        }
        Reply::Hang => {
            tokio::time::sleep(Duration::from_secs(60)).await;
            StatusCode::OK.into_response()
        }
        Reply::Huge => (StatusCode::INTERNAL_SERVER_ERROR, vec![b'x'; 1024 * 1024]).into_response(),
        Reply::Redirect => (
            StatusCode::FOUND,
            [("location", "http://127.0.0.1:1/elsewhere")],
        )
            .into_response(),
    }
}

const SLACK: &str = "/services/T0001/B0001/slack-token-5f2a";
const DISCORD: &str = "/api/webhooks/1234567890/discord-token-8c1e";
const TEAMS: &str =
    "/workflows/3a9b/triggers/manual/paths/invoke?api-version=2016-06-01&sig=teams-sig-2d7f";
const JSON: &str = "/hooks/infisical?token=json-token-6b0c";

fn targets(base: &str) -> Vec<Target> {
    [
        (SLACK, NotifyFormat::Slack),
        (DISCORD, NotifyFormat::Discord),
        (TEAMS, NotifyFormat::Teams),
        (JSON, NotifyFormat::Json),
    ]
    .into_iter()
    .map(|(path, format)| Target {
        url: NotifyUrl::parse(&format!("{base}{path}")).unwrap(),
        format,
    })
    .collect()
}

fn notifier(targets: Vec<Target>, link: Option<CommitLink>, timeout: Duration) -> Notifier {
    Notifier::start(
        NotifyConfig {
            targets,
            per_hour: 1000,
            burst: 100,
            retry: DeliveryRetry {
                attempts: 3,
                initial_backoff: Duration::from_millis(20),
                max_wait: Duration::from_secs(5),
            },
            link,
        },
        Arc::new(HttpTransport::new(timeout).unwrap()),
    )
}

const SHA: &str = "4b825dc642cb6eb9a060e54bf8d69288fbee4904";

fn record(outcome: ReconcileOutcome, errors: &[&str]) -> ReconcileRecord {
    let mut record = ReconcileRecord::started(Trigger::Webhook);
    record.started_at = "2026-12-05T09:00:00Z".into();
    record.outcome = outcome;
    record.revision = Some(SHA.into());
    record.errors = errors.iter().map(ToString::to_string).collect();
    record
}

#[tokio::test]
async fn every_format_reaches_its_webhook_with_the_expected_path_headers_and_body() {
    let (hooks, base) = Hooks::start().await;
    let link = CommitLink::new(
        ForgeWeb::GitLab,
        "https://gitlab.example.com",
        "acme/secrets",
    );
    let notifier = notifier(targets(&base), link, Duration::from_secs(5));
    let source = "https://git.example.com/acme/secrets.git#main <@here>";
    notifier.observe(&record(ReconcileOutcome::Success, &[]), source);
    notifier.observe(
        &record(
            ReconcileOutcome::Failed,
            &[
                "api/prod:/#DB_URL: infisical refused the write (HTTP 403): <!channel> @everyone [click](https://evil.example) **bold** {{DATE(2017-02-14T06:08:00Z)}}",
                "line one\nline two \u{1b}[31m & more",
            ],
        ),
        source,
    );
    notifier.observe(&record(ReconcileOutcome::Failed, &["again"]), source);
    notifier.observe(&record(ReconcileOutcome::Success, &[]), source);
    notifier.close(Duration::from_secs(10)).await;

    let received = hooks.received();
    assert_eq!(received.len(), 8, "two messages to each of four webhooks");
    for request in &received {
        assert_eq!(request.headers["content-type"], "application/json");
        assert!(
            request.headers["user-agent"]
                .to_str()
                .unwrap()
                .starts_with("infisical-gitops/")
        );
    }
    let mut bodies = Vec::new();
    for path in [SLACK, DISCORD, TEAMS, JSON] {
        let for_path: Vec<&Received> = received.iter().filter(|r| r.path == path).collect();
        assert_eq!(for_path.len(), 2, "{path}");
        bodies.push(serde_json::json!({
            "path": path,
            "bodies": for_path.iter().map(|r| r.body.clone()).collect::<Vec<_>>(),
        }));
    }
    insta::assert_json_snapshot!("notification_bodies", bodies);
    let sent = |format| notifier.metrics().get(format, "sent");
    assert_eq!(
        [
            sent(NotifyFormat::Slack),
            sent(NotifyFormat::Discord),
            sent(NotifyFormat::Teams),
            sent(NotifyFormat::Json)
        ],
        [2, 2, 2, 2]
    );
}

fn events(hooks: &Hooks) -> Vec<String> {
    hooks
        .received()
        .iter()
        .map(|r| r.body["event"].as_str().unwrap_or("?").to_string())
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn failure_failure_recovery_failure_gives_three_messages_with_commit_links() {
    let remote = Remote::new();
    let first = remote.push("", "info");
    let source = Arc::new(GitSource::new(remote.config(
        remote.file_url(),
        GitReference::Branch("main".into()),
        "",
    )));
    let memory = Arc::new(MemoryInfisical::new());
    let reconciler = Reconciler::new(memory.clone(), Arc::new(SourceResolver::new()));
    let (mut daemon, state) = Daemon::new(
        reconciler,
        Arc::new(GitRemote(source)),
        DaemonConfig::default(),
    );
    let (hooks, base) = Hooks::start().await;
    let link = CommitLink::new(ForgeWeb::GitHub, "https://api.github.com", "acme/secrets");
    let json = targets(&base).pop().unwrap();
    let notifier = notifier(vec![json], link, Duration::from_secs(5));
    assert!(state.set_notifier(notifier.clone()));

    // Applied: nothing to say.
    daemon.run_once(Trigger::Startup).await;
    assert_eq!(state.last().unwrap().outcome, ReconcileOutcome::Success);
    // Infisical fails twice, recovers, fails again.
    let second = remote.push("", "debug");
    memory.fail_calls(&[1]);
    daemon.run_once(Trigger::Webhook).await;
    memory.fail_calls(&[1]);
    daemon.run_once(Trigger::Retry).await;
    daemon.run_once(Trigger::Retry).await;
    memory.fail_calls(&[1]);
    daemon.run_once(Trigger::Drift).await;
    memory.fail_calls(&[1]);
    daemon.run_once(Trigger::Retry).await;
    let outcomes: Vec<ReconcileOutcome> = state
        .status()
        .reconciles
        .iter()
        .rev()
        .map(|r| r.outcome)
        .collect();
    assert_eq!(
        outcomes,
        [
            ReconcileOutcome::Success,
            ReconcileOutcome::Failed,
            ReconcileOutcome::Failed,
            ReconcileOutcome::Success,
            ReconcileOutcome::Failed,
            ReconcileOutcome::Failed
        ]
    );
    notifier.close(Duration::from_secs(10)).await;
    assert_eq!(
        events(&hooks),
        ["reconcile-failed", "recovered", "reconcile-failed"]
    );
    for request in hooks.received() {
        assert_eq!(request.body["revision"], second.as_str());
        assert_eq!(
            request.body["commitUrl"],
            format!("https://github.com/acme/secrets/commit/{second}")
        );
    }
    assert_ne!(first, second);
    let metrics = state.metrics();
    let start = metrics
        .find("# HELP infisical_gitops_notification_events_total")
        .unwrap();
    insta::assert_snapshot!("notification_metrics", &metrics[start..]);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_invalid_push_is_announced_once_and_its_fix_as_a_recovery() {
    let remote = Remote::new();
    remote.push("", "info");
    let source = Arc::new(GitSource::new(remote.config(
        remote.file_url(),
        GitReference::Branch("main".into()),
        "",
    )));
    let reconciler = Reconciler::new(
        Arc::new(MemoryInfisical::new()),
        Arc::new(SourceResolver::new()),
    );
    let (mut daemon, state) = Daemon::new(
        reconciler,
        Arc::new(GitRemote(source)),
        DaemonConfig::default(),
    );
    let (hooks, base) = Hooks::start().await;
    let notifier = notifier(targets(&base).split_off(3), None, Duration::from_secs(5));
    state.set_notifier(notifier.clone());
    daemon.run_once(Trigger::Startup).await;
    std::fs::write(
        remote.work.join("secrets/broken.yaml"),
        "kind: SecretSet\nspec: [\n",
    )
    .unwrap();
    git(&remote.work, &["add", "-A"]);
    git(&remote.work, &["commit", "--quiet", "-m", "broken"]);
    git(&remote.work, &["push", "--quiet", "origin", "HEAD:main"]);
    let broken = git(&remote.work, &["rev-parse", "HEAD"]);
    daemon.run_once(Trigger::Webhook).await;
    // Drift checks re-apply the last good revision: the refused head is not announced again,
    // and the re-apply is no recovery.
    daemon.run_once(Trigger::Drift).await;
    daemon.run_once(Trigger::Drift).await;
    std::fs::remove_file(remote.work.join("secrets/broken.yaml")).unwrap();
    let fixed = remote.push("", "warn");
    daemon.run_once(Trigger::Webhook).await;
    notifier.close(Duration::from_secs(10)).await;
    assert_eq!(events(&hooks), ["revision-invalid", "recovered"]);
    let received = hooks.received();
    assert_eq!(received[0].body["revision"], broken.as_str());
    assert!(
        received[0].body["errors"][0]
            .as_str()
            .unwrap()
            .contains("broken.yaml"),
        "{}",
        received[0].body
    );
    assert_eq!(received[1].body["revision"], fixed.as_str());
    assert_eq!(received[1].body["commitUrl"], serde_json::Value::Null);
}

const CANARY_USER: &str = "canary-user-77ab31";
const CANARY_PASSWORD: &str = "canary-password-9f1c2e";
const CANARY_LITERAL: &str = "canary-literal-4d8e";

fn write_vault_repo(dir: &Path, mode: &str, level: &str) {
    write_repo(dir, level, mode);
    std::fs::write(
        dir.join("secrets/vault.yaml"),
        "apiVersion: infisical-gitops.io/v1alpha1
kind: SecretSet
metadata:
  name: vault
spec:
  project: demo-app
  environments: [prod]
  path: /
  secrets:
    - key: DB_USER
      bitwarden:
        item: 6b1f0c3e-2a7d-4c59-9e48-1d3a5f7b9c01
        field: username
    - key: DB_PASSWORD
      bitwarden:
        item: 6b1f0c3e-2a7d-4c59-9e48-1d3a5f7b9c01
",
    )
    .unwrap();
}

#[tokio::test]
async fn no_value_reaches_any_notification_or_log_line() {
    use infisical_gitops::resolve::bitwarden::double::BwServeDouble;
    use infisical_gitops::resolve::bitwarden::{BitwardenResolver, PasswordManager, ServeClient};

    let logs = Logs::default();
    let subscriber = tracing_subscriber::fmt()
        .with_env_filter(tracing_subscriber::EnvFilter::new("debug"))
        .with_writer(logs.clone())
        .with_ansi(false)
        .finish();
    let _guard = tracing::subscriber::set_default(subscriber);

    let temp = tempfile::tempdir().unwrap();
    write_vault_repo(temp.path(), "correct", CANARY_LITERAL);
    let export = std::fs::read_to_string(
        Path::new(env!("CARGO_MANIFEST_DIR")).join("examples/bitwarden-export.json"),
    )
    .unwrap()
    .replace("fake-postgres-user", CANARY_USER)
    .replace("fake-postgres-password-do-not-use", CANARY_PASSWORD);
    let double = BwServeDouble::with_export(&export).await.unwrap();
    double.state.set_locked(true);
    let bitwarden = BitwardenResolver::new(
        PasswordManager::Serve(ServeClient::new(&double.url()).unwrap()),
        None,
    );
    let memory = Arc::new(MemoryInfisical::new());
    let reconciler = Reconciler::new(
        memory.clone(),
        Arc::new(SourceResolver::new().with_bitwarden(Arc::new(bitwarden))),
    );
    let (mut daemon, state) = Daemon::new(
        reconciler,
        Arc::new(LocalDirectory(temp.path().to_path_buf())),
        DaemonConfig::default(),
    );
    let (hooks, base) = Hooks::start().await;
    let notifier = notifier(targets(&base), None, Duration::from_secs(5));
    state.set_notifier(notifier.clone());

    // Locked vault: unresolved. Unlocked: recovered, the canaries written to Infisical.
    daemon.run_once(Trigger::Startup).await;
    double.state.set_locked(false);
    daemon.run_once(Trigger::Retry).await;
    let written = memory
        .secret_value("demo-app", "prod", "/", "DB_PASSWORD")
        .map(|v| v.expose().to_string());
    assert_eq!(written.as_deref(), Some(CANARY_PASSWORD));
    // Infisical fails while writing a changed literal; then recovers.
    write_vault_repo(temp.path(), "correct", &format!("{CANARY_LITERAL}-2"));
    memory.fail_calls(&[1]);
    daemon.run_once(Trigger::Watch).await;
    daemon.run_once(Trigger::Retry).await;
    // Detect mode with a changed literal: drift, then gone.
    write_vault_repo(temp.path(), "detect", &format!("{CANARY_LITERAL}-3"));
    daemon.run_once(Trigger::Watch).await;
    write_vault_repo(temp.path(), "detect", &format!("{CANARY_LITERAL}-2"));
    daemon.run_once(Trigger::Watch).await;
    // An invalid revision.
    std::fs::write(
        temp.path().join("secrets/broken.yaml"),
        format!("kind: SecretSet\nspec: [{CANARY_LITERAL}\n"),
    )
    .unwrap();
    daemon.run_once(Trigger::Watch).await;
    notifier.close(Duration::from_secs(10)).await;

    let kinds = events_of_json(&hooks);
    assert_eq!(
        kinds,
        [
            "values-unresolved",
            "recovered",
            "reconcile-failed",
            "recovered",
            "drift-detected",
            "drift-resolved",
            "revision-invalid"
        ]
    );
    assert_eq!(hooks.received().len(), kinds.len() * 4);
    let mut everything = String::new();
    for request in hooks.received() {
        everything.push_str(&request.body.to_string());
        everything.push('\n');
    }
    everything.push_str(&state.metrics());
    everything.push_str(&logs.text());
    for canary in [CANARY_USER, CANARY_PASSWORD, CANARY_LITERAL] {
        assert!(!everything.contains(canary), "{canary} leaked");
    }
    for token in [
        "slack-token-5f2a",
        "discord-token-8c1e",
        "teams-sig-2d7f",
        "json-token-6b0c",
    ] {
        assert!(!everything.contains(token), "{token} leaked");
    }
    assert!(
        everything.contains("notification sent"),
        "the logs were read"
    );
}

fn events_of_json(hooks: &Hooks) -> Vec<String> {
    hooks
        .received()
        .iter()
        .filter(|r| r.path == JSON)
        .map(|r| r.body["event"].as_str().unwrap_or("?").to_string())
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn slow_failing_and_oversized_webhooks_never_delay_a_reconcile() {
    let temp = tempfile::tempdir().unwrap();
    write_repo(temp.path(), "info", "correct");
    let memory = Arc::new(MemoryInfisical::new());
    let reconciler = Reconciler::new(memory.clone(), Arc::new(SourceResolver::new()));
    let (mut daemon, state) = Daemon::new(
        reconciler,
        Arc::new(LocalDirectory(temp.path().to_path_buf())),
        DaemonConfig::default(),
    );
    let (hanging, hanging_base) = Hooks::start().await;
    hanging.otherwise(Reply::Hang);
    let (failing, failing_base) = Hooks::start().await;
    failing.otherwise(Reply::Status(500, None));
    let (huge, huge_base) = Hooks::start().await;
    huge.otherwise(Reply::Huge);
    let mut all = targets(&hanging_base).split_off(3);
    all.extend(targets(&failing_base).split_off(3));
    all.extend(targets(&huge_base).split_off(3));
    let notifier = notifier(all, None, Duration::from_millis(300));
    state.set_notifier(notifier.clone());

    daemon.run_once(Trigger::Startup).await;
    // 40 state changes: every other reconcile fails.
    let mut slowest = Duration::ZERO;
    let started = std::time::Instant::now();
    for i in 0..40 {
        if i % 2 == 0 {
            memory.fail_calls(&[1]);
        }
        let run = std::time::Instant::now();
        daemon.run_once(Trigger::Drift).await;
        slowest = slowest.max(run.elapsed());
    }
    let total = started.elapsed();
    eprintln!("40 reconciles with stuck webhooks: {total:?}, slowest {slowest:?}");
    // Waiting for a webhook would take 3 × 300 ms at least.
    assert!(slowest < Duration::from_millis(750), "{slowest:?}");
    assert_eq!(state.status().reconciles.len(), 20, "the history is capped");

    let closing = std::time::Instant::now();
    notifier.close(Duration::from_secs(2)).await;
    assert!(closing.elapsed() < Duration::from_secs(4));
    let metrics = notifier.metrics();
    // Each queue holds 16: the rest of the 40 are dropped, never waited for.
    assert!(metrics.get(NotifyFormat::Json, "dropped") >= 40 - 16 - 1);
    assert_eq!(metrics.get(NotifyFormat::Json, "sent"), 0);
    assert!(metrics.get(NotifyFormat::Json, "failed") >= 2);
    // A 500 is retried (3 attempts per message), an oversized answer is not read nor retried.
    let failing_requests = failing.received();
    assert!(failing_requests.len() >= 3, "{}", failing_requests.len());
    let gaps: Vec<Duration> = failing_requests[..3]
        .windows(2)
        .map(|w| w[1].at - w[0].at)
        .collect();
    assert!(gaps[0] >= Duration::from_millis(20), "{gaps:?}");
    assert!(gaps[1] >= Duration::from_millis(40), "{gaps:?}");
    let huge_requests = huge.received().len();
    assert!(huge_requests >= 1);
    let text = state.metrics();
    assert!(
        text.contains("infisical_gitops_notifications_total{format=\"json\",result=\"dropped\"}"),
        "{text}"
    );
}

#[tokio::test]
async fn a_429_is_retried_and_refusals_and_redirects_are_not() {
    let (hooks, base) = Hooks::start().await;
    hooks.script([
        Reply::Status(429, Some("0")),
        Reply::Status(503, None),
        Reply::Native,
        Reply::Status(404, None),
        Reply::Redirect,
    ]);
    let notifier = notifier(targets(&base).split_off(3), None, Duration::from_secs(5));
    notifier.observe(&record(ReconcileOutcome::Failed, &[]), "src");
    notifier.observe(&record(ReconcileOutcome::Success, &[]), "src");
    notifier.observe(&record(ReconcileOutcome::SourceError, &[]), "src");
    notifier.close(Duration::from_secs(10)).await;
    let paths: Vec<String> = hooks.received().iter().map(|r| r.path.clone()).collect();
    assert_eq!(paths, [JSON; 5]);
    let metrics = notifier.metrics();
    assert_eq!(metrics.get(NotifyFormat::Json, "sent"), 1);
    assert_eq!(metrics.get(NotifyFormat::Json, "failed"), 2);
}

#[tokio::test]
async fn the_rate_limit_holds_back_bursts_and_counts_them() {
    let (hooks, base) = Hooks::start().await;
    let notifier = Notifier::start(
        NotifyConfig {
            targets: targets(&base).split_off(2),
            per_hour: 2,
            burst: 2,
            retry: DeliveryRetry::default(),
            link: None,
        },
        Arc::new(HttpTransport::new(Duration::from_secs(5)).unwrap()),
    );
    for outcome in [
        ReconcileOutcome::Failed,
        ReconcileOutcome::Success,
        ReconcileOutcome::Failed,
        ReconcileOutcome::Success,
    ] {
        notifier.observe(&record(outcome, &[]), "src");
    }
    notifier.close(Duration::from_secs(10)).await;
    assert_eq!(events_of_json(&hooks), ["reconcile-failed", "recovered"]);
    let metrics = notifier.metrics();
    assert_eq!(metrics.get(NotifyFormat::Teams, "sent"), 2);
    assert_eq!(metrics.get(NotifyFormat::Teams, "rate-limited"), 2);
    assert_eq!(metrics.get(NotifyFormat::Json, "rate-limited"), 2);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn run_once_through_the_binary_announces_an_invalid_commit_with_its_link() {
    let remote = Remote::new();
    remote.push("", "info");
    std::fs::write(
        remote.work.join("secrets/broken.yaml"),
        "kind: SecretSet\nspec: [\n",
    )
    .unwrap();
    git(&remote.work, &["add", "-A"]);
    git(&remote.work, &["commit", "--quiet", "-m", "broken"]);
    git(&remote.work, &["push", "--quiet", "origin", "HEAD:main"]);
    let broken = git(&remote.work, &["rev-parse", "HEAD"]);
    let (hooks, base) = Hooks::start().await;
    let file = remote.root.join("notify-urls");
    std::fs::write(&file, format!("# chat\nslack={base}{SLACK}\n")).unwrap();
    let output = tokio::process::Command::new(env!("CARGO_BIN_EXE_infisical-gitops"))
        .args([
            "run",
            "--once",
            "--dev",
            "--git-url",
            &remote.file_url(),
            "--work-dir",
            remote.root.join("once").to_str().unwrap(),
            "--notify-file",
            file.to_str().unwrap(),
            "--forge",
            "github",
            "--forge-project",
            "acme/secrets",
        ])
        .env_remove("INFISICAL_API_URL")
        .env_remove("INFISICAL_GITOPS_GIT_URL")
        .env_remove("INFISICAL_GITOPS_NOTIFY_URLS")
        .env("INFISICAL_GITOPS_LOG", "info")
        .env("NO_COLOR", "1")
        .output()
        .await
        .unwrap();
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert_eq!(output.status.code(), Some(1), "{stderr}");
    let received = hooks.received();
    assert_eq!(received.len(), 1, "{stderr}");
    assert_eq!(received[0].path, SLACK);
    let text = received[0].body["text"].as_str().unwrap();
    assert!(
        text.starts_with(&format!(
            ":red_circle: *infisical-gitops: Revision {} is invalid and was not applied*",
            &broken[..12]
        )),
        "{text}"
    );
    assert!(
        text.contains(&format!(
            "<https://github.com/acme/secrets/commit/{broken}|View the commit>"
        )),
        "{text}"
    );
    assert!(!stderr.contains("slack-token-5f2a"), "{stderr}");
}
