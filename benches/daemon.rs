//! Daemon benchmark.
//!
//! 1. Latency from `git push` to "applied in the dev server": through a signed GitHub webhook
//!    (Git remote over `file://`), and through local file watching (write → applied).
//! 2. An idle daemon (its own process) following a directory of 30,000 secrets against a
//!    dev server (another process), with a short `--drift-interval`: resident memory after the
//!    first reconcile and after each drift check (each reconciles all 30,000 secrets), CPU in a
//!    quiet window between ticks (the ticks themselves excluded), and the peak (`VmHWM`).
//!
//! `cargo bench --bench daemon` runs the full size; under `cargo test` it runs a smoke size.
//! Baselines in docs/benchmarks.md.

use std::alloc::System;
use std::io::{BufRead, BufReader};
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use infisical_gitops::daemon::http::{WebhookSecrets, github_signature, router};
use infisical_gitops::daemon::{Controls, Daemon, DaemonConfig, DaemonState, Source};
use infisical_gitops::dev::{DevServer, DevServerConfig};
use infisical_gitops::infisical::{ClientConfig, Credentials, HttpClient};
use infisical_gitops::reconcile::Reconciler;
use infisical_gitops::resolve::SourceResolver;
use infisical_gitops::source::git::{GitAuth, GitConfig, GitReference, GitSource};
use infisical_gitops::source::{GitRemote, LocalDirectory, watch_directory};
use tokio::sync::watch;

/// The system allocator, counting the bytes live in this process. It measures what the daemon
/// keeps (whatever an allocator retains besides); the shipped binary, with its own allocator,
/// is measured through `VmRSS` of its own process in `idle_cost`.
#[global_allocator]
static ALLOCATOR: cap::Cap<System> = cap::Cap::new(System, usize::MAX);

/// The highest live heap seen by [`PeakSampler`] since its last reset.
static PEAK: AtomicUsize = AtomicUsize::new(0);

/// Samples the live heap every millisecond, keeping the highest value in [`PEAK`] (a sampled
/// peak: a spike shorter than a millisecond can be missed).
fn start_peak_sampler() {
    std::thread::spawn(|| {
        loop {
            PEAK.fetch_max(ALLOCATOR.allocated(), Ordering::Relaxed);
            std::thread::sleep(Duration::from_millis(1));
        }
    });
}

struct Size {
    rounds: usize,
    secrets: usize,
    /// The daemon's `--drift-interval`.
    drift_interval: Duration,
    /// Drift checks to wait for.
    drift_checks: usize,
    /// After a tick ends: wait this long, then sample CPU over `window` (which ends well before
    /// the next tick starts).
    settle: Duration,
    window: Duration,
}

const FULL: Size = Size {
    rounds: 10,
    secrets: 30_000,
    drift_interval: Duration::from_secs(20),
    drift_checks: 3,
    settle: Duration::from_secs(1),
    window: Duration::from_secs(15),
};
const SMOKE: Size = Size {
    rounds: 2,
    secrets: 200,
    drift_interval: Duration::from_millis(1500),
    drift_checks: 2,
    settle: Duration::from_millis(200),
    window: Duration::from_millis(800),
};

fn write_repo(dir: &Path, secrets: usize, value: &str) {
    std::fs::create_dir_all(dir.join("secrets")).expect("mkdir");
    let per_folder = 1000.min(secrets.max(1));
    let folders = secrets.div_ceil(per_folder);
    let mut project = String::from(
        "apiVersion: infisical-gitops.io/v1alpha1\nkind: Project\nmetadata:\n  name: bench\nspec:\n  environments:\n    - slug: prod\n      name: Production\n  folders:\n",
    );
    for f in 0..folders {
        project.push_str(&format!("    - path: /folder-{f}\n"));
    }
    std::fs::write(dir.join("project.yaml"), project).expect("write");
    for f in 0..folders {
        let mut text = format!(
            "apiVersion: infisical-gitops.io/v1alpha1\nkind: SecretSet\nmetadata:\n  name: set-{f}\nspec:\n  project: bench\n  environments: [prod]\n  path: /folder-{f}\n  secrets:\n"
        );
        for s in 0..per_folder.min(secrets - f * per_folder) {
            let v = if f == 0 && s == 0 { value } else { "fixed" };
            text.push_str(&format!(
                "    - key: KEY_{s:04}\n      sensitive: false\n      value: {v}\n"
            ));
        }
        std::fs::write(dir.join(format!("secrets/set-{f}.yaml")), text).expect("write");
    }
}

fn git(dir: &Path, args: &[&str]) -> String {
    let output = Command::new("git")
        .args(args)
        .current_dir(dir)
        .env("GIT_AUTHOR_NAME", "Bench")
        .env("GIT_AUTHOR_EMAIL", "bench@example.invalid")
        .env("GIT_COMMITTER_NAME", "Bench")
        .env("GIT_COMMITTER_EMAIL", "bench@example.invalid")
        .env("GIT_CONFIG_NOSYSTEM", "1")
        .env("HOME", dir)
        .output()
        .expect("git");
    assert!(output.status.success(), "git {args:?}");
    String::from_utf8_lossy(&output.stdout).trim().to_string()
}

async fn reconciler() -> (DevServer, Reconciler) {
    let config = DevServerConfig::default();
    let credentials = Credentials::universal_auth(&config.client_id, &config.client_secret);
    let server = DevServer::start(config).await.expect("dev server");
    let client = HttpClient::new(ClientConfig::new(server.url(), credentials)).expect("client");
    (
        server,
        Reconciler::new(Arc::new(client), Arc::new(SourceResolver::new())),
    )
}

fn config() -> DaemonConfig {
    DaemonConfig {
        interval: Duration::from_secs(3600),
        drift_interval: Duration::from_secs(3600),
        debounce: Duration::from_millis(100),
        ..DaemonConfig::default()
    }
}

async fn wait_applied(state: &DaemonState, revision: Option<&str>, runs: usize) {
    for _ in 0..2000 {
        let status = state.status();
        let done = match revision {
            Some(revision) => status.applied_revision.as_deref() == Some(revision),
            None => status.reconciles.len() >= runs && status.applied_revision.is_some(),
        };
        if done {
            return;
        }
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    panic!("not applied: {:?}", state.status());
}

fn report(name: &str, samples: &mut [Duration]) {
    samples.sort();
    let median = samples[samples.len() / 2];
    let max = samples[samples.len() - 1];
    println!(
        "{name}: median {:.0} ms, max {:.0} ms over {} pushes",
        median.as_secs_f64() * 1000.0,
        max.as_secs_f64() * 1000.0,
        samples.len()
    );
}

async fn webhook_latency(size: &Size) {
    let temp = tempfile::tempdir().expect("tempdir");
    let root = temp.path();
    git(
        root,
        &["init", "--quiet", "--bare", "-b", "main", "remote.git"],
    );
    let work = root.join("work");
    std::fs::create_dir_all(&work).expect("mkdir");
    git(&work, &["init", "--quiet", "-b", "main"]);
    git(
        &work,
        &[
            "remote",
            "add",
            "origin",
            root.join("remote.git").to_str().expect("utf-8"),
        ],
    );
    write_repo(&work, 20, "v0");
    git(&work, &["add", "-A"]);
    git(&work, &["commit", "--quiet", "-m", "v0"]);
    git(&work, &["push", "--quiet", "origin", "HEAD:main"]);
    let (server, reconciler) = reconciler().await;
    let source = GitSource::new(GitConfig {
        url: format!("file://{}", root.join("remote.git").display()),
        reference: GitReference::Branch("main".into()),
        sub_path: "".into(),
        work_dir: root.join("checkout"),
        auth: GitAuth::None,
        known_hosts: None,
        shallow: true,
    });
    let source: Arc<dyn Source> = Arc::new(GitRemote(Arc::new(source)));
    let (daemon, state) = Daemon::new(reconciler, source, config());
    let (shutdown_tx, shutdown) = watch::channel(false);
    let (_leader_tx, leader) = watch::channel(true);
    let task = tokio::spawn(daemon.run(Controls {
        shutdown,
        leader,
        watch_events: None,
    }));
    let app = router(
        state.clone(),
        WebhookSecrets {
            gitlab_token: None,
            github_secret: Some("bench".into()),
        },
        axum::Router::new(),
    );
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind");
    let addr = listener.local_addr().expect("addr");
    tokio::spawn(async move { axum::serve(listener, app).await });
    wait_applied(&state, None, 1).await;
    let http = reqwest::Client::new();
    let mut samples = Vec::new();
    for round in 1..=size.rounds {
        write_repo(&work, 20, &format!("v{round}"));
        let started = Instant::now();
        git(&work, &["commit", "--quiet", "-am", "change"]);
        git(&work, &["push", "--quiet", "origin", "HEAD:main"]);
        let revision = git(&work, &["rev-parse", "HEAD"]);
        let body = b"{}".to_vec();
        let response = http
            .post(format!("http://{addr}/hooks/github"))
            .header("x-hub-signature-256", github_signature("bench", &body))
            .body(body)
            .send()
            .await
            .expect("webhook");
        assert_eq!(response.status().as_u16(), 202);
        wait_applied(&state, Some(&revision), 0).await;
        samples.push(started.elapsed());
    }
    report(
        "push → applied via webhook (commit + push + fetch + apply)",
        &mut samples,
    );
    shutdown_tx.send(true).expect("shutdown");
    task.await.expect("daemon");
    server.shutdown().await;
}

async fn watch_latency(size: &Size) {
    let temp = tempfile::tempdir().expect("tempdir");
    let dir = temp.path().to_path_buf();
    write_repo(&dir, 20, "v0");
    let (server, reconciler) = reconciler().await;
    let (_watcher, events) = watch_directory(&dir).expect("watch");
    let (daemon, state) = Daemon::new(reconciler, Arc::new(LocalDirectory(dir.clone())), config());
    let (shutdown_tx, shutdown) = watch::channel(false);
    let (_leader_tx, leader) = watch::channel(true);
    let task = tokio::spawn(daemon.run(Controls {
        shutdown,
        leader,
        watch_events: Some(events),
    }));
    wait_applied(&state, None, 1).await;
    let mut samples = Vec::new();
    for round in 1..=size.rounds {
        let before = state.status().reconciles.len();
        let started = Instant::now();
        write_repo(&dir, 20, &format!("v{round}"));
        let revision = infisical_gitops::source::local::directory_revision(&dir).expect("revision");
        let _ = before;
        wait_applied(&state, Some(&revision), 0).await;
        samples.push(started.elapsed());
    }
    report(
        "write → applied via local watch (100 ms debounce)",
        &mut samples,
    );
    shutdown_tx.send(true).expect("shutdown");
    task.await.expect("daemon");
    server.shutdown().await;
}

/// What `/proc` says about a process (Linux).
struct Sample {
    /// `utime + stime`, in clock ticks.
    ticks: u64,
    /// `VmRSS`, KiB.
    rss: u64,
    /// `VmHWM` (peak resident memory), KiB.
    hwm: u64,
    /// Threads.
    threads: u64,
}

fn sample(pid: u32) -> Sample {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).expect("stat");
    let after = stat.rsplit_once(')').expect("comm").1;
    let fields: Vec<&str> = after.split_whitespace().collect();
    let ticks =
        fields[11].parse::<u64>().expect("utime") + fields[12].parse::<u64>().expect("stime");
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).expect("status");
    let field = |name: &str| -> u64 {
        status
            .lines()
            .find_map(|l| l.strip_prefix(name))
            .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
            .unwrap_or_else(|| panic!("{name} in /proc/{pid}/status"))
    };
    Sample {
        ticks,
        rss: field("VmRSS:"),
        hwm: field("VmHWM:"),
        threads: field("Threads:"),
    }
}

fn mib(kib: u64) -> f64 {
    kib as f64 / 1024.0
}

struct Killed(Child);

impl Drop for Killed {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// The dev server in its own process (so that neither its memory nor its CPU is counted), and
/// its URL.
fn dev_server_process() -> (Killed, String) {
    let bin = env!("CARGO_BIN_EXE_infisical-gitops");
    let mut dev = Command::new(bin)
        .args(["dev-server", "--listen", "127.0.0.1:0"])
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .expect("dev-server");
    let mut line = String::new();
    BufReader::new(dev.stdout.take().expect("stdout"))
        .read_line(&mut line)
        .expect("line");
    let url = line
        .trim()
        .strip_prefix("listening on ")
        .expect("url")
        .to_string();
    (Killed(dev), url)
}

async fn idle_cost(size: &Size) {
    let temp = tempfile::tempdir().expect("tempdir");
    let dir = temp.path().join("repo");
    write_repo(&dir, size.secrets, "v0");
    let bin = env!("CARGO_BIN_EXE_infisical-gitops");
    let (_dev, url) = dev_server_process();
    let port = free_port();
    let daemon = Command::new(bin)
        .args(run_args(&dir, port, size.drift_interval))
        .env("INFISICAL_API_URL", &url)
        .env("INFISICAL_UNIVERSAL_AUTH_CLIENT_ID", "dev-client-id")
        .env(
            "INFISICAL_UNIVERSAL_AUTH_CLIENT_SECRET",
            "dev-client-secret",
        )
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("daemon");
    let pid = daemon.id();
    let _daemon = Killed(daemon);
    let tuning: Vec<String> = std::env::vars()
        .filter(|(k, _)| k.starts_with("MIMALLOC_") || k.starts_with("MALLOC_"))
        .map(|(k, v)| format!("{k}={v}"))
        .collect();
    println!(
        "idle daemon following {} secrets, --drift-interval {}, allocator settings: {}",
        size.secrets,
        humantime::format_duration(size.drift_interval),
        if tuning.is_empty() {
            "defaults".to_string()
        } else {
            tuning.join(" ")
        }
    );
    let http = reqwest::Client::new();
    let started = Instant::now();
    let first = wait_reconciles(&http, port, None, None, Duration::from_secs(600)).await;
    println!(
        "first reconcile of {} secrets: {:.2} s (seen after {:.1} s)",
        size.secrets,
        first.duration,
        started.elapsed().as_secs_f64()
    );
    quiet_window(&http, port, pid, size, "after the first reconcile").await;
    let mut seen: Option<String> = None;
    for check in 1..=size.drift_checks {
        let tick = wait_reconciles(
            &http,
            port,
            Some("drift"),
            seen.as_deref(),
            size.drift_interval + Duration::from_secs(600),
        )
        .await;
        seen = Some(tick.started_at.clone());
        assert_eq!(tick.outcome, "success", "drift check {check}");
        println!(
            "drift check {check} of {} secrets: {:.2} s, {} changes",
            size.secrets, tick.duration, tick.changes
        );
        quiet_window(
            &http,
            port,
            pid,
            size,
            &format!("after drift check {check}"),
        )
        .await;
    }
    println!(
        "peak resident memory (VmHWM) over the run: {:.1} MiB",
        mib(sample(pid).hwm)
    );
}

/// `run DIR --listen 127.0.0.1:PORT --interval 10m --drift-interval …`: the daemon as both idle
/// parts run it.
fn run_args(dir: &Path, port: u16, drift_interval: Duration) -> Vec<String> {
    vec![
        "run".into(),
        dir.to_str().expect("utf-8").into(),
        "--listen".into(),
        format!("127.0.0.1:{port}"),
        "--interval".into(),
        "10m".into(),
        "--drift-interval".into(),
        format!("{}ms", drift_interval.as_millis()),
    ]
}

fn free_port() -> u16 {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("port");
    listener.local_addr().expect("addr").port()
}

/// The heap the daemon keeps between ticks, counted allocation by allocation: `run` (the
/// binary's own code path, parsed from a command line) in this process, against the dev server
/// in another, with drift checks every few seconds. Live bytes that grew from check to check
/// would be data kept by the daemon; the resident figures of `idle_cost` also include what the
/// allocator keeps.
async fn live_heap(size: &Size) {
    use clap::Parser;
    // `run` reads the credentials from the environment, as the binary does: this part runs in a
    // copy of this process that has them (and nothing else that ran before).
    if std::env::var_os("INFISICAL_UNIVERSAL_AUTH_CLIENT_ID").is_none() {
        let status = Command::new(std::env::current_exe().expect("current exe"))
            .args(std::env::args_os().skip(1))
            .env("BENCH_ONLY", "heap")
            .env("INFISICAL_UNIVERSAL_AUTH_CLIENT_ID", "dev-client-id")
            .env(
                "INFISICAL_UNIVERSAL_AUTH_CLIENT_SECRET",
                "dev-client-secret",
            )
            .status()
            .expect("bench");
        assert!(status.success(), "live heap part: {status}");
        return;
    }
    use infisical_gitops::cli::{Cli, ColorChoice, Context};
    let temp = tempfile::tempdir().expect("tempdir");
    let dir = temp.path().join("repo");
    write_repo(&dir, size.secrets, "v0");
    let (dev, url) = dev_server_process();
    let port = free_port();
    let drift_interval = size.drift_interval.min(Duration::from_secs(3));
    let args = run_args(&dir, port, drift_interval);
    let cli = Cli::try_parse_from(
        ["infisical-gitops".to_string()]
            .into_iter()
            .chain(args)
            .chain(["--api-url".to_string(), url]),
    )
    .expect("command line");
    let baseline = ALLOCATOR.allocated();
    PEAK.store(baseline, Ordering::Relaxed);
    start_peak_sampler();
    // Runs until the process exits (`main` returns after this part).
    std::thread::spawn(move || {
        let _ = infisical_gitops::cli::run(cli.command, &Context::new(ColorChoice::Never));
    });
    println!(
        "live heap of `run` in process following {} secrets, --drift-interval {}",
        size.secrets,
        humantime::format_duration(drift_interval)
    );
    let http = reqwest::Client::new();
    let megabytes = |bytes: usize| bytes.saturating_sub(baseline) as f64 / 1e6;
    wait_reconciles(&http, port, None, None, Duration::from_secs(600)).await;
    tokio::time::sleep(size.settle).await;
    println!(
        "after the first reconcile: {:.1} MB live, peak {:.1} MB during it",
        megabytes(ALLOCATOR.allocated()),
        megabytes(PEAK.load(Ordering::Relaxed))
    );
    let (mut first, mut last) = (0, 0);
    let mut seen: Option<String> = None;
    for check in 1..=size.drift_checks {
        PEAK.store(ALLOCATOR.allocated(), Ordering::Relaxed);
        let tick = wait_reconciles(
            &http,
            port,
            Some("drift"),
            seen.as_deref(),
            drift_interval + Duration::from_secs(600),
        )
        .await;
        seen = Some(tick.started_at.clone());
        assert_eq!(tick.outcome, "success", "drift check {check}");
        tokio::time::sleep(size.settle).await;
        last = ALLOCATOR.allocated();
        if check == 1 {
            first = last;
        }
        println!(
            "after drift check {check}: {:.1} MB live, peak {:.1} MB during it",
            megabytes(last),
            megabytes(PEAK.load(Ordering::Relaxed))
        );
    }
    println!(
        "live heap from drift check 1 to {}: {:+.3} MB",
        size.drift_checks,
        (last as f64 - first as f64) / 1e6
    );
    drop(dev);
}

/// A reconcile as `/status` lists it.
struct Tick {
    /// `startedAt`: tells this reconcile from the next.
    started_at: String,
    duration: f64,
    outcome: String,
    changes: u64,
}

async fn status(http: &reqwest::Client, port: u16) -> Option<serde_json::Value> {
    let response = http
        .get(format!("http://127.0.0.1:{port}/status"))
        .timeout(Duration::from_secs(5))
        .send()
        .await
        .ok()?;
    response.json::<serde_json::Value>().await.ok()
}

fn reconciles(status: &serde_json::Value) -> &[serde_json::Value] {
    status["reconciles"].as_array().map_or(&[], Vec::as_slice)
}

/// When the newest reconcile listed by `/status` started (any trigger).
fn newest_start(status: &serde_json::Value) -> Option<String> {
    reconciles(status)
        .first()
        .and_then(|r| r["startedAt"].as_str())
        .map(str::to_string)
}

/// The newest reconcile (with `trigger`, when given) that is not `seen` (the `startedAt` of the
/// one waited for before); without `trigger`, once a revision is applied. Bounded by `limit`.
/// (`/status` keeps the last 20 reconciles, so counting them would stop there.)
async fn wait_reconciles(
    http: &reqwest::Client,
    port: u16,
    trigger: Option<&str>,
    seen: Option<&str>,
    limit: Duration,
) -> Tick {
    let started = Instant::now();
    loop {
        assert!(
            started.elapsed() < limit,
            "no new reconcile ({trigger:?}) within {limit:?}"
        );
        if let Some(status) = status(http, port).await {
            let newest = reconciles(&status)
                .iter()
                .find(|r| trigger.is_none_or(|t| r["trigger"] == t));
            if let Some(newest) = newest
                && newest["startedAt"].as_str() != seen
                && (trigger.is_some() || status["appliedRevision"].is_string())
            {
                let changes = newest["changes"]
                    .as_object()
                    .map_or(0, |c| c.values().filter_map(|v| v.as_u64()).sum());
                return Tick {
                    started_at: newest["startedAt"].as_str().unwrap_or("?").to_string(),
                    duration: newest["durationSeconds"].as_f64().unwrap_or(f64::NAN),
                    outcome: newest["outcome"].as_str().unwrap_or("?").to_string(),
                    changes,
                };
            }
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

/// Resident memory right after a tick, then CPU over a window between ticks (no HTTP requests
/// to the daemon during the window; checked afterwards that no tick ran in it).
async fn quiet_window(http: &reqwest::Client, port: u16, pid: u32, size: &Size, when: &str) {
    let after_tick = sample(pid);
    let before = status(http, port).await.and_then(|s| newest_start(&s));
    tokio::time::sleep(size.settle).await;
    let start = sample(pid);
    tokio::time::sleep(size.window).await;
    let end = sample(pid);
    let after = status(http, port).await.and_then(|s| newest_start(&s));
    assert_eq!(before, after, "a reconcile ran in the quiet window {when}");
    let tick_hz = 100.0;
    let cpu = (end.ticks - start.ticks) as f64 / tick_hz / size.window.as_secs_f64() * 100.0;
    println!(
        "{when}: VmRSS {:.1} MiB ({:.1} MB), {:.1} MiB after {:.1} s; CPU between ticks {cpu:.2}% of a core over {:.1} s; VmHWM {:.1} MiB; {} threads",
        mib(after_tick.rss),
        after_tick.rss as f64 * 1024.0 / 1e6,
        mib(end.rss),
        (size.settle + size.window).as_secs_f64(),
        size.window.as_secs_f64(),
        mib(end.hwm),
        end.threads,
    );
}

/// `BENCH_DRIFT_CHECKS=N` waits for N drift checks instead of the default; `BENCH_ONLY=latency`,
/// `idle` or `heap` runs one part.
fn main() {
    let full = std::env::args().any(|arg| arg == "--bench");
    let mut size = if full { FULL } else { SMOKE };
    if let Ok(checks) = std::env::var("BENCH_DRIFT_CHECKS") {
        size.drift_checks = checks.parse().expect("BENCH_DRIFT_CHECKS is a number");
    }
    let only = std::env::var("BENCH_ONLY").unwrap_or_default();
    let _ = rustls::crypto::ring::default_provider().install_default();
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .expect("runtime");
    runtime.block_on(async {
        let part = |name: &str| only.is_empty() || only == name;
        if part("latency") {
            webhook_latency(&size).await;
            watch_latency(&size).await;
        }
        if part("idle") {
            idle_cost(&size).await;
        }
        // Last: `run` keeps running in this process until it exits.
        if part("heap") {
            live_heap(&size).await;
        }
    });
}
