//! Request plans benchmark: a GitLab `Merge Request Hook` → the plan comment posted, through
//! the daemon's webhook route, a real bare Git remote (`refs/merge-requests/N/head` over
//! `file://`), the dev server and a small GitLab API double.
//!
//! 1. Latency from the webhook's delivery to the comment posted (fetch of the tracked branch and
//!    the request's head, validate, two plans against live Infisical, the comment): p50 and p95
//!    over sequential merge requests. Target: under 2 s.
//! 2. 20 merge requests opened at once (`--max-concurrent-plans 2`): the wall time until every
//!    comment and status is written, and the peak live heap above the idle daemon (sampled
//!    every millisecond).
//!
//! `cargo bench --bench request_plans` runs the full size (50 requests); under `cargo test` it
//! runs a smoke size. Baselines in docs/benchmarks.md.

use std::collections::BTreeMap;
use std::path::Path;
use std::process::Command;
use std::sync::atomic::Ordering;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use axum::extract::State;
use axum::http::{Method, StatusCode, Uri};
use axum::response::{IntoResponse, Response};
use infisical_gitops::daemon::forge_status::ForgeCalls;
use infisical_gitops::daemon::http::{WebhookSecrets, router};
use infisical_gitops::daemon::requests::{RequestPlans, RequestPlansConfig};
use infisical_gitops::daemon::{Daemon, DaemonConfig};
use infisical_gitops::dev::{DevServer, DevServerConfig};
use infisical_gitops::infisical::{ClientConfig, Credentials, HttpClient};
use infisical_gitops::propose::{ForgeConfig, ForgeKind, review};
use infisical_gitops::reconcile::Reconciler;
use infisical_gitops::resolve::SourceResolver;
use infisical_gitops::source::GitRemote;
use infisical_gitops::source::git::{GitAuth, GitConfig, GitReference, GitSource};

#[path = "support/peak_heap.rs"]
mod peak_heap;

use peak_heap::{ALLOCATOR, PEAK, start_peak_sampler};

const HOOK_TOKEN: &str = "bench-gitlab-hook-token-0123456789";
const FORGE_TOKEN: &str = "bench-forge-token";

struct Size {
    sequential: usize,
    concurrent: usize,
    secrets: usize,
}

const FULL: Size = Size {
    sequential: 50,
    concurrent: 20,
    secrets: 200,
};
const SMOKE: Size = Size {
    sequential: 3,
    concurrent: 4,
    secrets: 20,
};

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
    assert!(
        output.status.success(),
        "git {args:?}: {}",
        String::from_utf8_lossy(&output.stderr)
    );
    String::from_utf8_lossy(&output.stdout).trim().to_string()
}

/// A project with `secrets` non-sensitive literals in files of 50; the first is `value`.
fn write_repo(dir: &Path, secrets: usize, value: &str) {
    std::fs::create_dir_all(dir.join("secrets")).expect("mkdir");
    std::fs::write(
        dir.join("project.yaml"),
        "apiVersion: infisical-gitops.io/v1alpha1\nkind: Project\nmetadata:\n  name: bench\nspec:\n  environments:\n    - slug: prod\n      name: Production\n",
    )
    .expect("write");
    for (file, start) in (0..secrets).step_by(50).enumerate() {
        let mut text = format!(
            "apiVersion: infisical-gitops.io/v1alpha1\nkind: SecretSet\nmetadata:\n  name: set-{file}\nspec:\n  project: bench\n  environments: [prod]\n  path: /\n  secrets:\n"
        );
        for s in start..(start + 50).min(secrets) {
            let v = if s == 0 { value } else { "fixed" };
            text.push_str(&format!(
                "    - key: KEY_{s:04}\n      sensitive: false\n      value: {v}\n"
            ));
        }
        std::fs::write(dir.join(format!("secrets/set-{file}.yaml")), text).expect("write");
    }
}

/// What the GitLab double keeps: notes per merge request, statuses per commit.
#[derive(Default)]
struct Forge {
    notes: BTreeMap<u64, Vec<(u64, String)>>,
    statuses: BTreeMap<String, String>,
    next: u64,
}

type Shared = Arc<Mutex<Forge>>;

fn json(status: u16, value: serde_json::Value) -> Response {
    (
        StatusCode::from_u16(status).expect("status"),
        axum::Json(value),
    )
        .into_response()
}

/// Answers the calls the review client makes, as GitLab does (one page of notes).
async fn gitlab(
    State(forge): State<Shared>,
    method: Method,
    uri: Uri,
    body: axum::body::Bytes,
) -> Response {
    let body: serde_json::Value = serde_json::from_slice(&body).unwrap_or_default();
    let path: Vec<&str> = uri.path().trim_start_matches('/').split('/').collect();
    let mut forge = forge.lock().expect("lock");
    match (method.as_str(), path.as_slice()) {
        ("GET", ["api", "v4", "user"]) => {
            json(200, serde_json::json!({"id": 1, "username": "bot"}))
        }
        ("GET", [.., "merge_requests", iid, "notes"]) => {
            let iid: u64 = iid.parse().unwrap_or(0);
            let notes: Vec<_> = forge
                .notes
                .get(&iid)
                .into_iter()
                .flatten()
                .map(|(id, body)| {
                    serde_json::json!({"id": id, "body": body, "system": false,
                        "author": {"username": "bot"}})
                })
                .collect();
            let mut response = json(200, serde_json::Value::Array(notes));
            response
                .headers_mut()
                .insert("x-next-page", "".parse().expect("header"));
            response
        }
        ("POST", [.., "merge_requests", iid, "notes"]) => {
            let iid: u64 = iid.parse().unwrap_or(0);
            forge.next += 1;
            let id = forge.next;
            let text = body["body"].as_str().unwrap_or_default().to_string();
            forge.notes.entry(iid).or_default().push((id, text));
            json(201, serde_json::json!({"id": id}))
        }
        ("PUT", [.., "merge_requests", iid, "notes", note]) => {
            let iid: u64 = iid.parse().unwrap_or(0);
            let note: u64 = note.parse().unwrap_or(0);
            let text = body["body"].as_str().unwrap_or_default().to_string();
            if let Some(found) = forge
                .notes
                .get_mut(&iid)
                .and_then(|n| n.iter_mut().find(|(id, _)| *id == note))
            {
                found.1 = text;
            }
            json(200, serde_json::json!({"id": note}))
        }
        ("POST", [.., "statuses", sha]) => {
            let state = body["state"].as_str().unwrap_or_default().to_string();
            forge.statuses.insert((*sha).to_string(), state);
            json(201, serde_json::json!({"id": 1}))
        }
        _ => json(404, serde_json::json!({"message": "404 Not found"})),
    }
}

struct Bench {
    _temp: tempfile::TempDir,
    work: std::path::PathBuf,
    forge: Shared,
    hooks: String,
    http: reqwest::Client,
    plans: RequestPlans,
    server: DevServer,
    secrets: usize,
}

impl Bench {
    async fn start(size: &Size) -> Self {
        let temp = tempfile::tempdir().expect("tempdir");
        let root = temp.path().to_path_buf();
        git(
            &root,
            &["init", "--quiet", "--bare", "-b", "main", "remote.git"],
        );
        let work = root.join("work");
        std::fs::create_dir_all(&work).expect("mkdir");
        git(&work, &["init", "--quiet", "-b", "main"]);
        let bare = root.join("remote.git");
        git(
            &work,
            &["remote", "add", "origin", bare.to_str().expect("utf-8")],
        );
        write_repo(&work, size.secrets, "v0");
        git(&work, &["add", "-A"]);
        git(&work, &["commit", "--quiet", "-m", "v0"]);
        git(&work, &["push", "--quiet", "origin", "HEAD:main"]);

        let config = DevServerConfig::default();
        let credentials = Credentials::universal_auth(&config.client_id, &config.client_secret);
        let server = DevServer::start(config).await.expect("dev server");
        let client = HttpClient::new(ClientConfig::new(server.url(), credentials)).expect("client");
        let reconciler = Reconciler::new(Arc::new(client), Arc::new(SourceResolver::new()));
        // Infisical matches the tracked branch: apply it once.
        let desired = infisical_gitops::source::load_desired_state(&work)
            .expect("valid")
            .0;
        let run = reconciler.plan(desired).await.expect("plan");
        reconciler.apply(&run, None).await.expect("apply");

        let forge: Shared = Arc::default();
        let app = axum::Router::new()
            .fallback(gitlab)
            .with_state(forge.clone());
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .expect("bind");
        let forge_url = format!("http://{}/api/v4", listener.local_addr().expect("addr"));
        tokio::spawn(async move { axum::serve(listener, app).await });
        let review = review::from_config(&ForgeConfig {
            kind: ForgeKind::GitLab,
            api_url: forge_url,
            project: "infra/secrets".into(),
            token: FORGE_TOKEN.into(),
        })
        .expect("review");

        let git_config = GitConfig {
            url: format!("file://{}", bare.display()),
            reference: GitReference::Branch("main".into()),
            sub_path: "".into(),
            work_dir: root.join("checkout"),
            auth: GitAuth::None,
            known_hosts: None,
            shallow: true,
        };
        let mut request_git = git_config.clone();
        request_git.work_dir = root.join("requests");
        let plans = RequestPlans::start(
            RequestPlansConfig {
                forge: ForgeKind::GitLab,
                git: request_git,
                tracked_branch: "main".into(),
                allow_forks: false,
                max_concurrent: 2,
            },
            reconciler.clone(),
            review,
            Arc::new(ForgeCalls::default()),
        );
        // The daemon's state serves the hooks; its loop is not needed here.
        let (_daemon, state) = Daemon::new(
            reconciler,
            Arc::new(GitRemote(Arc::new(GitSource::new(git_config)))),
            DaemonConfig::default(),
        );
        state.set_request_plans(plans.clone());
        let app = router(
            state,
            WebhookSecrets {
                gitlab_token: Some(HOOK_TOKEN.into()),
                github_secret: None,
            },
            axum::Router::new(),
        );
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .expect("bind");
        let hooks = format!(
            "http://{}/hooks/gitlab",
            listener.local_addr().expect("addr")
        );
        tokio::spawn(async move { axum::serve(listener, app).await });
        Self {
            _temp: temp,
            work,
            forge,
            hooks,
            http: reqwest::Client::new(),
            plans,
            server,
            secrets: size.secrets,
        }
    }

    /// A commit changing one value, pushed as merge request `iid`'s head; its id.
    fn push_request(&self, iid: u64) -> String {
        write_repo(&self.work, self.secrets, &format!("request-{iid}"));
        git(&self.work, &["commit", "--quiet", "-am", "request"]);
        git(
            &self.work,
            &[
                "push",
                "--quiet",
                "--force",
                "origin",
                &format!("HEAD:refs/merge-requests/{iid}/head"),
            ],
        );
        let sha = git(&self.work, &["rev-parse", "HEAD"]);
        git(&self.work, &["reset", "--quiet", "--hard", "HEAD~1"]);
        sha
    }

    async fn open(&self, iid: u64, sha: &str) {
        let body = serde_json::to_vec(&serde_json::json!({
            "object_kind": "merge_request",
            "object_attributes": {"iid": iid, "action": "open", "target_branch": "main",
                "source_project_id": 1, "target_project_id": 1, "last_commit": {"id": sha}}
        }))
        .expect("json");
        let response = self
            .http
            .post(&self.hooks)
            .header("x-gitlab-event", "Merge Request Hook")
            .header("x-gitlab-token", HOOK_TOKEN)
            .body(body)
            .send()
            .await
            .expect("hook");
        assert_eq!(response.status().as_u16(), 202);
    }

    fn commented(&self, iid: u64, sha: &str) -> bool {
        self.forge
            .lock()
            .expect("lock")
            .notes
            .get(&iid)
            .is_some_and(|notes| notes.iter().any(|(_, body)| body.contains(sha)))
    }

    fn finished(&self, sha: &str) -> bool {
        self.forge
            .lock()
            .expect("lock")
            .statuses
            .get(sha)
            .is_some_and(|state| state != "pending")
    }
}

fn percentile(sorted: &[Duration], p: f64) -> Duration {
    let index = ((sorted.len() as f64 * p).ceil() as usize).clamp(1, sorted.len()) - 1;
    sorted[index]
}

async fn latency(bench: &Bench, size: &Size) {
    let mut samples = Vec::new();
    for iid in 1..=size.sequential as u64 {
        let sha = bench.push_request(iid);
        let started = Instant::now();
        bench.open(iid, &sha).await;
        while !bench.commented(iid, &sha) {
            tokio::time::sleep(Duration::from_millis(2)).await;
        }
        samples.push(started.elapsed());
        while !bench.finished(&sha) {
            tokio::time::sleep(Duration::from_millis(2)).await;
        }
    }
    samples.sort();
    println!(
        "webhook → comment posted: p50 {:.0} ms, p95 {:.0} ms, max {:.0} ms over {} merge requests ({} secrets)",
        percentile(&samples, 0.5).as_secs_f64() * 1000.0,
        percentile(&samples, 0.95).as_secs_f64() * 1000.0,
        samples[samples.len() - 1].as_secs_f64() * 1000.0,
        samples.len(),
        size.secrets,
    );
    // The final status is posted before the plan's result is counted: wait (bounded) for the
    // count to catch up rather than reading it the instant the last status lands.
    let counted = Instant::now();
    while bench.plans.count("success") < size.sequential as u64
        && counted.elapsed() < Duration::from_secs(10)
    {
        tokio::time::sleep(Duration::from_millis(2)).await;
    }
    assert_eq!(bench.plans.count("success"), size.sequential as u64);
}

async fn concurrent(bench: &Bench, size: &Size) {
    let first = 1000u64;
    let heads: Vec<(u64, String)> = (first..first + size.concurrent as u64)
        .map(|iid| (iid, bench.push_request(iid)))
        .collect();
    let baseline = ALLOCATOR.allocated();
    PEAK.store(baseline, Ordering::Relaxed);
    let started = Instant::now();
    futures_join(bench, &heads).await;
    while !heads.iter().all(|(_, sha)| bench.finished(sha)) {
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    let elapsed = started.elapsed();
    let peak = PEAK.load(Ordering::Relaxed).saturating_sub(baseline);
    println!(
        "{} merge requests at once (2 plans at a time): all commented in {:.0} ms, peak live heap +{:.1} MiB",
        size.concurrent,
        elapsed.as_secs_f64() * 1000.0,
        peak as f64 / (1024.0 * 1024.0)
    );
    for (iid, sha) in &heads {
        assert!(bench.commented(*iid, sha), "{iid}");
    }
}

async fn futures_join(bench: &Bench, heads: &[(u64, String)]) {
    let mut tasks = tokio::task::JoinSet::new();
    for (iid, sha) in heads {
        let http = bench.http.clone();
        let hooks = bench.hooks.clone();
        let body = serde_json::to_vec(&serde_json::json!({
            "object_kind": "merge_request",
            "object_attributes": {"iid": iid, "action": "open", "target_branch": "main",
                "source_project_id": 1, "target_project_id": 1, "last_commit": {"id": sha}}
        }))
        .expect("json");
        tasks.spawn(async move {
            let response = http
                .post(&hooks)
                .header("x-gitlab-event", "Merge Request Hook")
                .header("x-gitlab-token", HOOK_TOKEN)
                .body(body)
                .send()
                .await
                .expect("hook");
            assert_eq!(response.status().as_u16(), 202);
        });
    }
    while let Some(joined) = tasks.join_next().await {
        joined.expect("hook task");
    }
}

fn main() {
    let full = std::env::args().any(|arg| arg == "--bench");
    let size = if full { FULL } else { SMOKE };
    let _ = rustls::crypto::ring::default_provider().install_default();
    start_peak_sampler();
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .expect("runtime");
    runtime.block_on(async {
        let bench = Bench::start(&size).await;
        latency(&bench, &size).await;
        concurrent(&bench, &size).await;
        bench.server.shutdown().await;
    });
}
