//! The daemon loop with paused time: startup, polling with jitter bounds, unchanged revisions,
//! retry backoff, single flight, webhook triggers, debounce, drift interval, invalid revisions,
//! detect mode, shutdown; the HTTP surface (webhooks, health, readiness, metrics, status).

use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::body::Body;
use http::{Request, StatusCode};
use infisical_gitops::daemon::http::{WebhookSecrets, github_signature, router};
use infisical_gitops::daemon::{
    Backoff, Controls, Daemon, DaemonConfig, DaemonState, ReconcileOutcome, Source, SourceError,
    Trigger,
};
use infisical_gitops::infisical::memory::MemoryInfisical;
use infisical_gitops::reconcile::Reconciler;
use infisical_gitops::resolve::SourceResolver;
use infisical_gitops::source::git::Checkout;
use infisical_gitops::source::local::directory_revision;
use tokio::sync::{mpsc, watch};
use tokio::time::Instant;
use tower::ServiceExt;

pub(crate) const PROJECT: &str = "apiVersion: infisical-gitops.io/v1alpha1
kind: Project
metadata:
  name: demo-app
spec:
  environments:
    - slug: prod
      name: Production
  policy:
    mode: MODE
";

/// Writes a one-project repository whose `LOG_LEVEL` is `value`.
pub(crate) fn write_repo(dir: &Path, value: &str, mode: &str) {
    std::fs::create_dir_all(dir.join("secrets")).unwrap();
    std::fs::write(dir.join("project.yaml"), PROJECT.replace("MODE", mode)).unwrap();
    std::fs::write(
        dir.join("secrets/demo.yaml"),
        format!(
            "apiVersion: infisical-gitops.io/v1alpha1
kind: SecretSet
metadata:
  name: demo-app
spec:
  project: demo-app
  environments: [prod]
  path: /
  secrets:
    - key: LOG_LEVEL
      sensitive: false
      value: {value}
    - key: REGION
      sensitive: false
      value: eu-west-1
"
        ),
    )
    .unwrap();
}

/// A directory source that counts fetches, can fail, and can take (virtual) time.
struct FakeSource {
    dir: PathBuf,
    fetches: Mutex<Vec<Instant>>,
    fail_next: AtomicUsize,
    delay: Duration,
    running: AtomicUsize,
    max_running: AtomicUsize,
}

impl FakeSource {
    fn new(dir: &Path, delay: Duration) -> Arc<Self> {
        Arc::new(Self {
            dir: dir.to_path_buf(),
            fetches: Mutex::new(Vec::new()),
            fail_next: AtomicUsize::new(0),
            delay,
            running: AtomicUsize::new(0),
            max_running: AtomicUsize::new(0),
        })
    }

    fn fetch_times(&self) -> Vec<Instant> {
        self.fetches.lock().unwrap().clone()
    }
}

#[async_trait::async_trait]
impl Source for FakeSource {
    async fn fetch(&self) -> Result<Checkout, SourceError> {
        let running = self.running.fetch_add(1, Ordering::SeqCst) + 1;
        self.max_running.fetch_max(running, Ordering::SeqCst);
        self.fetches.lock().unwrap().push(Instant::now());
        if !self.delay.is_zero() {
            tokio::time::sleep(self.delay).await;
        }
        self.running.fetch_sub(1, Ordering::SeqCst);
        if self
            .fail_next
            .fetch_update(Ordering::SeqCst, Ordering::SeqCst, |n| n.checked_sub(1))
            .is_ok()
        {
            return Err(SourceError::Task("remote unreachable".into()));
        }
        Ok(Checkout {
            path: self.dir.clone(),
            revision: directory_revision(&self.dir).unwrap(),
        })
    }

    fn describe(&self) -> String {
        "fake".into()
    }
}

fn config() -> DaemonConfig {
    DaemonConfig {
        interval: Duration::from_secs(60),
        drift_interval: Duration::from_secs(600),
        jitter: 0.1,
        backoff: Backoff {
            initial: Duration::from_secs(5),
            max: Duration::from_secs(40),
        },
        retry_budget: 2,
        shutdown_grace: Duration::from_secs(5),
        debounce: Duration::from_millis(500),
        seed: 7,
    }
}

struct Harness {
    state: Arc<DaemonState>,
    memory: Arc<MemoryInfisical>,
    source: Arc<FakeSource>,
    shutdown: watch::Sender<bool>,
    leader: watch::Sender<bool>,
    events: mpsc::Sender<()>,
    task: tokio::task::JoinHandle<()>,
    _dir: tempfile::TempDir,
    dir: PathBuf,
}

fn start(mode: &str, delay: Duration, config: DaemonConfig, failures: usize) -> Harness {
    let temp = tempfile::tempdir().unwrap();
    let dir = temp.path().to_path_buf();
    write_repo(&dir, "info", mode);
    let memory = Arc::new(MemoryInfisical::new());
    let source = FakeSource::new(&dir, delay);
    source.fail_next.store(failures, Ordering::SeqCst);
    let reconciler = Reconciler::new(memory.clone(), Arc::new(SourceResolver::new()));
    let (daemon, state) = Daemon::new(reconciler, source.clone(), config);
    let (shutdown, shutdown_rx) = watch::channel(false);
    let (leader, leader_rx) = watch::channel(true);
    let (events, events_rx) = mpsc::channel(1);
    let task = tokio::spawn(daemon.run(Controls {
        shutdown: shutdown_rx,
        leader: leader_rx,
        watch_events: Some(events_rx),
    }));
    Harness {
        state,
        memory,
        source,
        shutdown,
        leader,
        events,
        task,
        _dir: temp,
        dir,
    }
}

impl Harness {
    fn records(&self) -> usize {
        self.state.status().reconciles.len()
    }

    /// Lets the loop (and its blocking loads) settle without moving the clock far.
    async fn settle(&self) {
        for _ in 0..20 {
            tokio::time::sleep(Duration::from_millis(1)).await;
        }
    }

    fn value(&self) -> Option<String> {
        self.memory
            .secret_value("demo-app", "prod", "/", "LOG_LEVEL")
            .map(|v| v.expose().to_string())
    }
}

#[tokio::test(start_paused = true)]
async fn startup_applies_then_polls_only_reconcile_new_revisions() {
    let h = start("correct", Duration::ZERO, config(), 0);
    h.settle().await;
    assert_eq!(h.records(), 1);
    let first = h.state.last().unwrap();
    assert_eq!(first.trigger, Trigger::Startup);
    assert_eq!(first.outcome, ReconcileOutcome::Success);
    assert_eq!(first.changes.create, 4, "{first:?}");
    assert_eq!(h.value().as_deref(), Some("info"));
    assert!(h.state.is_ready());

    // Five polls of an unchanged revision (before the drift interval): fetched, not reconciled.
    tokio::time::sleep(Duration::from_secs(5 * 66 + 1)).await;
    assert!(h.source.fetch_times().len() >= 6);
    assert_eq!(h.records(), 1);

    // A new revision is applied by the next poll.
    write_repo(&h.dir, "debug", "correct");
    tokio::time::sleep(Duration::from_secs(67)).await;
    h.settle().await;
    let last = h.state.last().unwrap();
    assert_eq!(last.trigger, Trigger::Poll);
    assert_eq!(last.changes.update, 1, "{last:?}");
    assert_eq!(h.value().as_deref(), Some("debug"));
    h.shutdown.send(true).unwrap();
    h.task.await.unwrap();
}

#[tokio::test(start_paused = true)]
async fn poll_delays_stay_within_the_jitter_bounds_and_vary() {
    let mut config = config();
    config.drift_interval = Duration::from_secs(100_000);
    let h = start("correct", Duration::ZERO, config, 0);
    tokio::time::sleep(Duration::from_secs(40 * 66)).await;
    let times = h.source.fetch_times();
    assert!(times.len() >= 40, "{}", times.len());
    let gaps: Vec<Duration> = times.windows(2).map(|w| w[1] - w[0]).collect();
    for gap in &gaps {
        assert!(
            *gap >= Duration::from_secs(60) && *gap <= Duration::from_secs(66),
            "gap {gap:?}"
        );
    }
    let spread = *gaps.iter().max().unwrap() - *gaps.iter().min().unwrap();
    assert!(spread >= Duration::from_secs(3), "spread {spread:?}");
    h.shutdown.send(true).unwrap();
    h.task.await.unwrap();
}

#[tokio::test(start_paused = true)]
async fn failures_retry_with_exponential_backoff_and_readiness_follows_the_budget() {
    let h = start("correct", Duration::ZERO, config(), 4);
    let t0 = Instant::now();
    h.settle().await;
    assert!(!h.state.is_ready(), "not ready before the first success");
    tokio::time::sleep(Duration::from_secs(36)).await;
    h.settle().await;
    let offsets: Vec<u64> = h
        .source
        .fetch_times()
        .iter()
        .map(|t| (*t - t0).as_secs())
        .collect();
    // Startup fails, then retries after 5, 10 and 20 seconds; the fifth fetch succeeds.
    assert_eq!(offsets, [0, 5, 15, 35]);
    let status = h.state.status();
    assert_eq!(status.consecutive_failures, 4);
    assert!(!status.ready, "over the retry budget");
    tokio::time::sleep(Duration::from_secs(41)).await;
    h.settle().await;
    let status = h.state.status();
    assert_eq!(status.consecutive_failures, 0);
    assert_eq!(status.reconciles[0].outcome, ReconcileOutcome::Success);
    assert_eq!(status.reconciles[0].trigger, Trigger::Retry);
    assert!(status.ready);
    h.shutdown.send(true).unwrap();
    h.task.await.unwrap();
}

#[tokio::test(start_paused = true)]
async fn webhooks_during_a_run_coalesce_into_one_follow_up() {
    let h = start("correct", Duration::from_secs(10), config(), 0);
    tokio::time::sleep(Duration::from_secs(2)).await;
    for _ in 0..5 {
        h.state.trigger(Trigger::Webhook);
    }
    tokio::time::sleep(Duration::from_secs(25)).await;
    h.settle().await;
    let status = h.state.status();
    let triggers: Vec<Trigger> = status.reconciles.iter().map(|r| r.trigger).collect();
    assert_eq!(triggers, [Trigger::Webhook, Trigger::Startup]);
    assert_eq!(
        h.source.max_running.load(Ordering::SeqCst),
        1,
        "single flight"
    );
    h.shutdown.send(true).unwrap();
    h.task.await.unwrap();
}

#[tokio::test(start_paused = true)]
async fn file_events_are_debounced_into_one_run() {
    let h = start("correct", Duration::ZERO, config(), 0);
    h.settle().await;
    write_repo(&h.dir, "warn", "correct");
    let t0 = Instant::now();
    for _ in 0..5 {
        h.events.send(()).await.unwrap();
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    // Last event at 0.8 s; the run starts 0.5 s later, at 1.3 s.
    tokio::time::sleep(Duration::from_millis(200)).await;
    assert_eq!(h.records(), 1, "still inside the debounce window");
    tokio::time::sleep(Duration::from_millis(200)).await;
    h.settle().await;
    let times = h.source.fetch_times();
    assert_eq!(times.len(), 2);
    let at = times[1] - t0;
    assert!(
        at >= Duration::from_millis(1300) && at < Duration::from_millis(1400),
        "{at:?}"
    );
    assert_eq!(h.state.last().unwrap().trigger, Trigger::Watch);
    assert_eq!(h.value().as_deref(), Some("warn"));
    h.shutdown.send(true).unwrap();
    h.task.await.unwrap();
}

#[tokio::test(start_paused = true)]
async fn an_invalid_revision_is_reported_and_the_last_good_one_stays_applied() {
    let h = start("correct", Duration::ZERO, config(), 0);
    h.settle().await;
    let good = h.state.status().applied_revision.unwrap();
    std::fs::write(
        h.dir.join("secrets/broken.yaml"),
        "kind: SecretSet\nspec: [\n",
    )
    .unwrap();
    h.state.trigger(Trigger::Webhook);
    h.settle().await;
    let status = h.state.status();
    assert_eq!(status.reconciles[0].outcome, ReconcileOutcome::Invalid);
    assert!(!status.reconciles[0].errors.is_empty());
    assert_eq!(status.applied_revision.as_deref(), Some(good.as_str()));
    assert_ne!(status.last_revision.as_deref(), Some(good.as_str()));

    // Drift checks keep reconciling the last good revision.
    tokio::time::sleep(Duration::from_secs(601)).await;
    h.settle().await;
    let status = h.state.status();
    let drift: Vec<_> = status
        .reconciles
        .iter()
        .filter(|r| r.trigger == Trigger::Drift)
        .collect();
    assert!(
        drift.iter().any(|r| r.outcome == ReconcileOutcome::Success
            && r.revision.as_deref() == Some(good.as_str())),
        "{drift:?}"
    );
    assert_eq!(h.value().as_deref(), Some("info"));
    h.shutdown.send(true).unwrap();
    h.task.await.unwrap();
}

#[tokio::test(start_paused = true)]
async fn detect_mode_reports_drift_and_never_applies() {
    let h = start("detect", Duration::ZERO, config(), 0);
    h.settle().await;
    let record = h.state.last().unwrap();
    assert_eq!(record.outcome, ReconcileOutcome::Success);
    assert_eq!(record.changes.create + record.changes.update, 0);
    assert!(record.detected > 0, "{record:?}");
    assert!(h.memory.total_calls() > 0);
    assert_eq!(h.value(), None);
    assert!(h.state.metrics().contains(&format!(
        "infisical_gitops_drift_detected {}",
        record.detected
    )));
    h.shutdown.send(true).unwrap();
    h.task.await.unwrap();
}

#[tokio::test(start_paused = true)]
async fn followers_do_not_reconcile_until_they_lead() {
    let h = start("correct", Duration::ZERO, config(), 0);
    h.settle().await;
    h.leader.send(false).unwrap();
    h.settle().await;
    write_repo(&h.dir, "debug", "correct");
    h.state.trigger(Trigger::Webhook);
    tokio::time::sleep(Duration::from_secs(700)).await;
    assert_eq!(h.records(), 1, "a follower never reconciles");
    assert!(h.state.is_ready(), "followers are ready");
    h.leader.send(true).unwrap();
    h.settle().await;
    assert_eq!(h.state.last().unwrap().trigger, Trigger::Leader);
    assert_eq!(h.value().as_deref(), Some("debug"));
    h.shutdown.send(true).unwrap();
    h.task.await.unwrap();
}

#[tokio::test(start_paused = true)]
async fn shutdown_lets_the_current_run_finish_within_the_grace_period() {
    let mut config = config();
    config.shutdown_grace = Duration::from_secs(30);
    let mut h = start("correct", Duration::from_secs(10), config, 0);
    tokio::time::sleep(Duration::from_secs(2)).await;
    h.shutdown.send(true).unwrap();
    let Harness { task, .. } = &mut h;
    task.await.unwrap();
    assert_eq!(h.records(), 1, "the run in progress finished");
    assert_eq!(h.value().as_deref(), Some("info"));
}

#[tokio::test(start_paused = true)]
async fn shutdown_abandons_a_run_that_outlives_the_grace_period() {
    let mut h = start("correct", Duration::from_secs(60), config(), 0);
    let t0 = Instant::now();
    tokio::time::sleep(Duration::from_secs(2)).await;
    h.shutdown.send(true).unwrap();
    let Harness { task, .. } = &mut h;
    task.await.unwrap();
    assert_eq!(Instant::now() - t0, Duration::from_secs(7));
    assert_eq!(h.records(), 0);
}

// ---------------------------------------------------------------- HTTP surface

const GITLAB_TOKEN: &str = "gitlab-token-for-tests";
const GITHUB_SECRET: &str = "github-secret-for-tests";

fn app(state: Arc<DaemonState>) -> axum::Router {
    router(
        state,
        WebhookSecrets {
            gitlab_token: Some(GITLAB_TOKEN.into()),
            github_secret: Some(GITHUB_SECRET.into()),
        },
        axum::Router::new().route("/mcp", axum::routing::post(|| async { "mcp" })),
    )
}

async fn call(app: &axum::Router, request: Request<Body>) -> (StatusCode, String) {
    let response = app.clone().oneshot(request).await.unwrap();
    let status = response.status();
    let body = axum::body::to_bytes(response.into_body(), 4 * 1024 * 1024)
        .await
        .unwrap();
    (status, String::from_utf8_lossy(&body).into_owned())
}

fn post(path: &str, headers: &[(&str, &str)], body: Vec<u8>) -> Request<Body> {
    let mut builder = Request::post(path);
    for (name, value) in headers {
        builder = builder.header(*name, *value);
    }
    builder.body(Body::from(body)).unwrap()
}

fn get(path: &str) -> Request<Body> {
    Request::get(path).body(Body::empty()).unwrap()
}

fn redact_metrics(text: &str) -> String {
    text.lines()
        .map(|line| {
            if line.starts_with("infisical_gitops_reconcile_duration_seconds_sum") {
                "infisical_gitops_reconcile_duration_seconds_sum [duration]".to_string()
            } else if line.starts_with("infisical_gitops_applied_revision_info{") {
                "infisical_gitops_applied_revision_info{revision=\"[revision]\"} 1".to_string()
            } else {
                line.to_string()
            }
        })
        .collect::<Vec<_>>()
        .join("\n")
}

#[tokio::test(start_paused = true)]
async fn webhooks_health_metrics_and_status() {
    let h = start("correct", Duration::ZERO, config(), 0);
    h.settle().await;
    let app = app(h.state.clone());
    // Deliveries while standing by, so that how they interleave with runs cannot vary: the
    // accepted ones are counted, and leadership then brings one run.
    h.leader.send(false).unwrap();
    h.settle().await;

    let body = br#"{"ref":"refs/heads/main"}"#.to_vec();
    let good = github_signature(GITHUB_SECRET, &body);
    let bad = github_signature("wrong", &body);
    let cases: Vec<(&str, Request<Body>)> = vec![
        (
            "gitlab good token",
            post(
                "/hooks/gitlab",
                &[("x-gitlab-token", GITLAB_TOKEN)],
                body.clone(),
            ),
        ),
        (
            "gitlab bad token",
            post("/hooks/gitlab", &[("x-gitlab-token", "nope")], body.clone()),
        ),
        ("gitlab no token", post("/hooks/gitlab", &[], body.clone())),
        (
            "github good signature",
            post(
                "/hooks/github",
                &[("x-hub-signature-256", &good)],
                body.clone(),
            ),
        ),
        (
            "github bad signature",
            post(
                "/hooks/github",
                &[("x-hub-signature-256", &bad)],
                body.clone(),
            ),
        ),
        (
            "github signature of another body",
            post(
                "/hooks/github",
                &[("x-hub-signature-256", &good)],
                b"{}".to_vec(),
            ),
        ),
        (
            "github malformed signature",
            post(
                "/hooks/github",
                &[("x-hub-signature-256", "sha1=abc")],
                body.clone(),
            ),
        ),
        (
            "github oversized body",
            post(
                "/hooks/github",
                &[("x-hub-signature-256", &good)],
                vec![b'x'; 2 * 1024 * 1024],
            ),
        ),
        ("gitlab wrong method", get("/hooks/gitlab")),
        ("healthz", get("/healthz")),
        ("readyz", get("/readyz")),
        ("extra route", post("/mcp", &[], Vec::new())),
        ("unknown", get("/nope")),
    ];
    let mut table = String::new();
    for (name, request) in cases {
        let (status, _) = call(&app, request).await;
        table.push_str(&format!("{name}: {}\n", status.as_u16()));
    }
    insta::assert_snapshot!("daemon_http_statuses", table);

    h.leader.send(true).unwrap();
    h.settle().await;
    let (status, metrics) = call(&app, get("/metrics")).await;
    assert_eq!(status, StatusCode::OK);
    insta::assert_snapshot!("daemon_metrics", redact_metrics(&metrics));

    let (_, status_body) = call(&app, get("/status")).await;
    let status_json: serde_json::Value = serde_json::from_str(&status_body).unwrap();
    insta::assert_json_snapshot!("daemon_status", status_json, {
        ".reconciles[].startedAt" => "[time]",
        ".reconciles[].durationSeconds" => "[duration]",
        ".reconciles[].revision" => "[revision]",
        ".appliedRevision" => "[revision]",
        ".lastRevision" => "[revision]",
    });
    h.shutdown.send(true).unwrap();
    h.task.await.unwrap();
}

#[tokio::test]
async fn unconfigured_webhooks_have_no_route() {
    let temp = tempfile::tempdir().unwrap();
    write_repo(temp.path(), "info", "correct");
    let reconciler = Reconciler::new(
        Arc::new(MemoryInfisical::new()),
        Arc::new(SourceResolver::new()),
    );
    let (_daemon, state) = Daemon::new(
        reconciler,
        FakeSource::new(temp.path(), Duration::ZERO),
        config(),
    );
    let app = router(state, WebhookSecrets::default(), axum::Router::new());
    let (status, _) = call(&app, post("/hooks/gitlab", &[], Vec::new())).await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    let (status, _) = call(&app, get("/readyz")).await;
    assert_eq!(status, StatusCode::OK, "not leading yet: ready");
}

// ---------------------------------------------------------------- unresolved values

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_locked_vault_is_an_unresolved_reconcile_in_status_and_metrics() {
    use infisical_gitops::daemon::RunResult;
    use infisical_gitops::resolve::bitwarden::double::BwServeDouble;
    use infisical_gitops::resolve::bitwarden::{BitwardenResolver, PasswordManager, ServeClient};

    let temp = tempfile::tempdir().unwrap();
    write_repo(temp.path(), "info", "correct");
    std::fs::write(
        temp.path().join("secrets/vault.yaml"),
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
    let export = std::fs::read_to_string(
        Path::new(env!("CARGO_MANIFEST_DIR")).join("examples/bitwarden-export.json"),
    )
    .unwrap();
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
        Arc::new(infisical_gitops::source::LocalDirectory(
            temp.path().to_path_buf(),
        )),
        config(),
    );

    // The literals are written; the vault's secrets are not: no success.
    assert_eq!(daemon.run_once(Trigger::Startup).await, RunResult::Failed);
    assert_eq!(
        memory
            .secret_value("demo-app", "prod", "/", "REGION")
            .map(|v| v.expose().to_string())
            .as_deref(),
        Some("eu-west-1")
    );
    let record = state.last().unwrap();
    assert_eq!(record.outcome, ReconcileOutcome::Unresolved);
    assert_eq!(record.unresolved, 2);
    let app = app(state.clone());
    let (_, status_body) = call(&app, get("/status")).await;
    let status: serde_json::Value = serde_json::from_str(&status_body).unwrap();
    assert_eq!(status["reconciles"][0]["outcome"], "unresolved");
    assert_eq!(status["appliedRevision"], serde_json::Value::Null);
    assert_eq!(status["consecutiveFailures"], 1);
    // One line for the locked vault, not one per secret.
    insta::assert_json_snapshot!(status["reconciles"][0]["errors"], @r#"
    [
      "2 secrets not resolved, not written: the bitwarden vault is locked; unlock: `bw unlock`, then restart `bw serve` with BW_SESSION, or POST /unlock [vault-locked]"
    ]
    "#);
    let (_, metrics) = call(&app, get("/metrics")).await;
    assert!(
        metrics.contains(
            "infisical_gitops_reconciles_total{trigger=\"startup\",outcome=\"unresolved\"} 1"
        ),
        "{metrics}"
    );
    assert!(
        metrics.contains("infisical_gitops_unresolved_secrets 2"),
        "{metrics}"
    );
    assert!(!metrics.contains("outcome=\"success\""), "{metrics}");

    // Unlocked: the next run writes them and succeeds.
    double.state.set_locked(false);
    assert_eq!(daemon.run_once(Trigger::Drift).await, RunResult::Success);
    let (_, metrics) = call(&app, get("/metrics")).await;
    assert!(
        metrics.contains("infisical_gitops_unresolved_secrets 0"),
        "{metrics}"
    );
    assert!(
        memory
            .secret_value("demo-app", "prod", "/", "DB_USER")
            .is_some()
    );
}
