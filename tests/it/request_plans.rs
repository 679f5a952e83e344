//! The daemon plans merge/pull requests on their webhook events, end to end: real bare Git
//! remotes holding `refs/merge-requests/N/head` and `refs/pull/N/head`, the dev server, the
//! GitLab and GitHub doubles, the webhooks over real HTTP. One comment per request updated on
//! every push, pending then final statuses, diagnostics for invalid YAML, forks refused unless
//! allowed, two requests at once, supersede, forge failures that leave the reconcile loop
//! alone, unsigned and hostile hooks refused, and no value anywhere.

use std::sync::Arc;
use std::time::Duration;

use infisical_gitops::daemon::Trigger;
use infisical_gitops::daemon::forge_status::ForgeCalls;
use infisical_gitops::daemon::http::{WebhookSecrets, github_signature, router};
use infisical_gitops::daemon::requests::{
    QUEUE, RequestAction, RequestEvent, RequestPlans, RequestPlansConfig,
};
use infisical_gitops::propose::{ForgeKind, review};
use infisical_gitops::reconcile::Reconciler;
use infisical_gitops::source::git::{GitReference, GitSource};

use super::daemon::write_repo;
use super::daemon_git::{Remote, dev_reconciler, git};
use super::forge_double::{FORGE_TOKEN, ForgeDouble, Kind, Status};
use super::review::config;
use super::support::Logs;
use super::support::daemon::Running;

/// A value of the request that must never reach the forge or a log line.
const CANARY: &str = "canary-request-plan-31f9";
const HOOK_SECRET: &str = "request-hook-secret-0b7d4e2a";

/// A daemon with request plans and its webhooks on a real listener.
pub(crate) struct Setup {
    pub(crate) remote: Remote,
    pub(crate) double: ForgeDouble,
    pub(crate) daemon: Running,
    pub(crate) plans: RequestPlans,
    pub(crate) hooks: String,
    pub(crate) reconciler: Reconciler,
    server: infisical_gitops::dev::DevServer,
    http: reqwest::Client,
}

pub(crate) struct Options {
    pub(crate) allow_forks: bool,
    pub(crate) max_concurrent: usize,
}

impl Default for Options {
    fn default() -> Self {
        Self {
            allow_forks: false,
            max_concurrent: 2,
        }
    }
}

impl Setup {
    pub(crate) async fn start(kind: Kind, options: Options) -> Self {
        let remote = Remote::new();
        let main = remote.push("", "info");
        let double = ForgeDouble::start(kind).await;
        let (server, reconciler) = dev_reconciler().await;
        let git_config = remote.config(remote.file_url(), GitReference::Branch("main".into()), "");
        let mut request_git = git_config.clone();
        request_git.work_dir = remote.root.join("requests");
        let review = review::from_config(&config(&double, FORGE_TOKEN)).unwrap();
        let plans = RequestPlans::start(
            RequestPlansConfig {
                forge: match kind {
                    Kind::GitLab => ForgeKind::GitLab,
                    Kind::GitHub => ForgeKind::GitHub,
                },
                git: request_git,
                tracked_branch: "main".into(),
                allow_forks: options.allow_forks,
                max_concurrent: options.max_concurrent,
            },
            reconciler.clone(),
            review,
            Arc::new(ForgeCalls::default()),
        );
        let installed = plans.clone();
        let daemon = Running::start_with(
            reconciler.clone(),
            Arc::new(GitSource::new(git_config)),
            move |state| assert!(state.set_request_plans(installed)),
        );
        let app = router(
            daemon.state.clone(),
            WebhookSecrets {
                gitlab_token: Some(HOOK_SECRET.into()),
                github_secret: Some(HOOK_SECRET.into()),
            },
            axum::Router::new(),
        );
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let hooks = format!("http://{}", listener.local_addr().unwrap());
        tokio::spawn(async move { axum::serve(listener, app).await });
        let _ = rustls::crypto::ring::default_provider().install_default();
        let http = reqwest::Client::builder()
            .timeout(Duration::from_secs(10))
            .build()
            .unwrap();
        daemon.applied(&main).await;
        Self {
            remote,
            double,
            daemon,
            plans,
            hooks,
            reconciler,
            server,
            http,
        }
    }

    /// Commits on branch `request-N` (from `main` the first time) a `FEATURE_FLAG` secret
    /// valued `flag` (and a broken file when `broken`), and pushes it to the request's head
    /// reference; the commit id.
    pub(crate) fn push_request(&self, number: u64, flag: &str, broken: bool) -> String {
        let extra: &[(&str, &str)] = if broken {
            &[(
                "secrets/broken.yaml",
                "apiVersion: infisical-gitops.io/v1alpha1\nkind: SecretSet\nspec: [\n",
            )]
        } else {
            &[]
        };
        self.push_request_with(number, flag, extra)
    }

    /// As [`Setup::push_request`], with `extra` files (path, text) instead of a broken one.
    pub(crate) fn push_request_with(
        &self,
        number: u64,
        flag: &str,
        extra: &[(&str, &str)],
    ) -> String {
        let work = &self.remote.work;
        let branch = format!("request-{number}");
        let exists = Command::exists(work, &branch);
        let start = if exists { branch.as_str() } else { "main" };
        git(work, &["checkout", "--quiet", "-B", &branch, start]);
        let demo = work.join("secrets/demo.yaml");
        let mut text = std::fs::read_to_string(&demo).unwrap();
        if let Some(at) = text.find("    - key: FEATURE_FLAG") {
            text.truncate(at);
        }
        text.push_str(&format!(
            "    - key: FEATURE_FLAG\n      sensitive: false\n      value: {flag}\n"
        ));
        std::fs::write(&demo, text).unwrap();
        for stale in ["secrets/broken.yaml", "secrets/vault.yaml"] {
            let _ = std::fs::remove_file(work.join(stale));
        }
        for (path, text) in extra {
            std::fs::write(work.join(path), text).unwrap();
        }
        git(work, &["add", "-A"]);
        git(
            work,
            &["commit", "--quiet", "--allow-empty", "-m", "request"],
        );
        let head_ref = match self.double.kind() {
            Kind::GitLab => format!("refs/merge-requests/{number}/head"),
            Kind::GitHub => format!("refs/pull/{number}/head"),
        };
        git(
            work,
            &[
                "push",
                "--quiet",
                "--force",
                "origin",
                &format!("HEAD:{head_ref}"),
            ],
        );
        let sha = git(work, &["rev-parse", "HEAD"]);
        git(work, &["checkout", "--quiet", "main"]);
        self.double.lock().commits.insert(sha.clone());
        sha
    }

    /// Sends a request event; the HTTP status.
    pub(crate) async fn event(&self, number: u64, action: &str, sha: &str, fork: bool) -> u16 {
        let (path, event, body) = match self.double.kind() {
            Kind::GitLab => {
                let mut attributes = serde_json::json!({
                    "iid": number, "action": action, "target_branch": "main",
                    "source_branch": format!("request-{number}"),
                    "source_project_id": if fork { 99 } else { 1 }, "target_project_id": 1,
                    "last_commit": {"id": sha, "message": "request"}, "state": "opened",
                });
                if action == "update" {
                    attributes["oldrev"] = "0".repeat(40).into();
                }
                (
                    "gitlab",
                    "Merge Request Hook",
                    serde_json::json!({"object_kind": "merge_request",
                        "event_type": "merge_request", "project": {"id": 1},
                        "object_attributes": attributes}),
                )
            }
            Kind::GitHub => (
                "github",
                "pull_request",
                serde_json::json!({"action": action, "number": number,
                    "pull_request": {"number": number,
                        "head": {"sha": sha, "ref": format!("request-{number}"),
                            "repo": {"id": if fork { 99 } else { 1 },
                                "full_name": if fork { "mallory/secrets" } else { "acme/secrets" }}},
                        "base": {"ref": "main", "repo": {"id": 1, "full_name": "acme/secrets"}}}}),
            ),
        };
        self.post(path, event, &serde_json::to_vec(&body).unwrap(), true)
            .await
    }

    /// Posts a body to a hook, signed (or with the token) when `authentic`.
    pub(crate) async fn post(&self, path: &str, event: &str, body: &[u8], authentic: bool) -> u16 {
        let mut request = self
            .http
            .post(format!("{}/hooks/{path}", self.hooks))
            .body(body.to_vec());
        request = if path == "gitlab" {
            request.header("x-gitlab-event", event).header(
                "x-gitlab-token",
                if authentic {
                    HOOK_SECRET
                } else {
                    "wrong-token-0000000000"
                },
            )
        } else {
            request.header("x-github-event", event).header(
                "x-hub-signature-256",
                github_signature(
                    if authentic {
                        HOOK_SECRET
                    } else {
                        "wrong-secret-000000000"
                    },
                    body,
                ),
            )
        };
        request.send().await.unwrap().status().as_u16()
    }

    /// Waits until the plan comment of `number` names `sha`; the comments with the marker.
    pub(crate) async fn comment_for(&self, number: u64, sha: &str) -> String {
        for _ in 0..400 {
            let comments = self.double.lock().plan_comments(number);
            if let Some(found) = comments.iter().find(|c| c.body.contains(sha)) {
                return found.body.clone();
            }
            tokio::time::sleep(Duration::from_millis(25)).await;
        }
        panic!(
            "no plan comment for {sha} on {number}: {:?}",
            self.double.lock().requests
        );
    }

    /// The statuses on `sha`, once its final one is there.
    pub(crate) async fn final_statuses(&self, sha: &str) -> Vec<Status> {
        for _ in 0..400 {
            let found: Vec<Status> = self
                .double
                .lock()
                .statuses
                .iter()
                .filter(|s| s.sha == sha)
                .cloned()
                .collect();
            if found.iter().any(|s| s.state != "pending") {
                return found;
            }
            tokio::time::sleep(Duration::from_millis(25)).await;
        }
        panic!(
            "no final status on {sha}: {:?}",
            self.double.lock().statuses
        );
    }

    /// Waits until the plans counted with `result` reach `count`.
    pub(crate) async fn counted(&self, result: &str, count: u64) {
        for _ in 0..400 {
            if self.plans.count(result) >= count {
                return;
            }
            tokio::time::sleep(Duration::from_millis(25)).await;
        }
        panic!(
            "not {count} plan(s) with result {result}: {}",
            self.daemon.state.metrics()
        );
    }

    /// Every comment, status description and request body the forge saw, and `logs`, hold
    /// neither the canary nor a token.
    fn assert_clean(&self, logs: &str) {
        let forge = self.double.lock();
        let comments = forge.comments.values().flatten().map(|c| &c.body);
        let statuses = forge.statuses.iter().map(|s| &s.description);
        for text in comments
            .chain(statuses)
            .chain(&forge.bodies)
            .chain(&forge.requests)
            .chain(std::iter::once(&logs.to_string()))
        {
            assert!(!text.contains(CANARY), "{text}");
            assert!(!text.contains(FORGE_TOKEN), "{text}");
            assert!(!text.contains(HOOK_SECRET), "{text}");
        }
    }

    pub(crate) async fn stop(self) {
        self.daemon.stop().await;
        self.server.shutdown().await;
    }
}

struct Command;

impl Command {
    fn exists(work: &std::path::Path, branch: &str) -> bool {
        std::process::Command::new("git")
            .args(["rev-parse", "--verify", "--quiet", branch])
            .current_dir(work)
            .output()
            .map(|o| o.status.success())
            .unwrap_or(false)
    }
}

fn stable(comment: &str, shas: &[&str]) -> String {
    let mut text = comment.to_string();
    for (index, sha) in shas.iter().enumerate() {
        text = text.replace(sha, &format!("<commit-{index}>"));
    }
    text
}

/// GitLab: opened, pushed to twice (the update without new commits ignored), closed. One
/// note among 60 others (two pages), updated in place; pending then success on each head; the
/// request's own changes told apart from drift the tracked branch already has; Infisical
/// untouched; no value in any comment, status or log line.
#[tokio::test]
async fn a_merge_request_gets_one_note_updated_on_every_push_and_nothing_leaks() {
    let logs = Logs::default();
    let subscriber = tracing_subscriber::fmt()
        .with_env_filter(tracing_subscriber::EnvFilter::new("debug"))
        .with_writer(logs.clone())
        .with_ansi(false)
        .finish();
    let _guard = tracing::subscriber::set_default(subscriber);

    let setup = Setup::start(Kind::GitLab, Options::default()).await;
    setup.double.lock().open(5, 60);
    // Infisical holds the canary (never shown: a live value is not rendered), then the
    // tracked branch moves on without being applied yet: drift.
    let applied = setup.remote.push("", CANARY);
    setup.daemon.state.trigger(Trigger::Webhook);
    setup.daemon.applied(&applied).await;
    setup.remote.push("", "warn");

    let first = setup.push_request(5, "on-1", false);
    assert_eq!(setup.event(5, "open", &first, false).await, 202);
    let comment = setup.comment_for(5, &first).await;
    let statuses = setup.final_statuses(&first).await;
    assert_eq!(
        statuses
            .iter()
            .map(|s| s.state.as_str())
            .collect::<Vec<_>>(),
        ["pending", "success"],
        "{statuses:?}"
    );
    assert_eq!(statuses[1].context, "infisical-gitops/plan");
    assert!(
        comment.contains("What this merge request changes"),
        "{comment}"
    );
    assert!(comment.contains("FEATURE_FLAG"), "{comment}");

    let mut heads = vec![first.clone()];
    for value in ["on-2", "on-3"] {
        let next = setup.push_request(5, value, false);
        // An update without new commits (a title edit) is ignored.
        assert_eq!(setup.event(5, "approved", &next, false).await, 202);
        assert_eq!(setup.event(5, "update", &next, false).await, 202);
        setup.comment_for(5, &next).await;
        setup.final_statuses(&next).await;
        heads.push(next);
    }
    let notes = setup.double.lock().plan_comments(5);
    assert_eq!(notes.len(), 1, "one note, updated in place: {notes:?}");
    let last = heads.last().unwrap();
    let shas: Vec<&str> = heads.iter().map(String::as_str).collect();
    insta::assert_snapshot!("request_plan_gitlab_note", stable(&notes[0].body, &shas));

    assert_eq!(setup.event(5, "close", last, false).await, 202);
    setup.counted("success", 3).await;
    // Infisical still holds the tracked branch's applied commit: nothing was applied from the
    // request.
    let applied = tempfile::tempdir().unwrap();
    write_repo(applied.path(), CANARY, "correct");
    let desired = infisical_gitops::source::load_desired_state(applied.path())
        .unwrap()
        .0;
    let plan = setup.reconciler.plan(desired).await.unwrap().plan;
    assert!(plan.is_empty(), "{plan:?}");
    let metrics = setup.daemon.state.metrics();
    assert!(
        metrics.contains("infisical_gitops_request_plans_total{result=\"success\"} 3"),
        "{metrics}"
    );
    setup.assert_clean(&logs.text());
    setup.stop().await;
}

/// GitHub: a pull request planned, then a push with invalid YAML: the comment shows the
/// diagnostics with file and line, the status fails.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_pull_request_with_invalid_yaml_gets_the_diagnostics_and_a_failed_status() {
    let setup = Setup::start(Kind::GitHub, Options::default()).await;
    setup.double.lock().open(8, 3);
    let good = setup.push_request(8, "debug", false);
    assert_eq!(setup.event(8, "opened", &good, false).await, 202);
    setup.comment_for(8, &good).await;
    assert_eq!(setup.final_statuses(&good).await[1].state, "success");

    let broken = setup.push_request(8, "debug", true);
    assert_eq!(setup.event(8, "synchronize", &broken, false).await, 202);
    let comment = setup.comment_for(8, &broken).await;
    let statuses = setup.final_statuses(&broken).await;
    assert_eq!(statuses[1].state, "failure", "{statuses:?}");
    assert!(
        statuses[1]
            .description
            .starts_with("the repository does not validate"),
        "{statuses:?}"
    );
    assert!(comment.contains("secrets/broken.yaml:"), "{comment}");
    assert_eq!(setup.double.lock().plan_comments(8).len(), 1);
    insta::assert_snapshot!(
        "request_plan_github_invalid",
        stable(&comment, &[&good, &broken])
    );

    // A Bitwarden reference the daemon cannot resolve: named in the comment, status failed.
    let vault = "apiVersion: infisical-gitops.io/v1alpha1
kind: SecretSet
metadata:
  name: vault
spec:
  project: demo-app
  environments: [prod]
  path: /
  secrets:
    - key: DB_PASSWORD
      bitwarden:
        item: 6b1f0c3e-2a7d-4c59-9e48-1d3a5f7b9c01
";
    let unresolved = setup.push_request_with(8, "debug", &[("secrets/vault.yaml", vault)]);
    assert_eq!(setup.event(8, "synchronize", &unresolved, false).await, 202);
    let comment = setup.comment_for(8, &unresolved).await;
    let statuses = setup.final_statuses(&unresolved).await;
    assert_eq!(statuses[1].state, "failure", "{statuses:?}");
    assert_eq!(statuses[1].description, "1 secret value(s) not resolved");
    assert!(comment.contains("DB_PASSWORD"), "{comment}");
    insta::assert_snapshot!(
        "request_plan_github_unresolved",
        stable(&comment, &[&unresolved])
    );
    setup.assert_clean("");
    setup.stop().await;
}

/// A fork's request is refused with a comment and a failed status, unless allowed.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn fork_requests_are_refused_unless_allowed() {
    for kind in [Kind::GitLab, Kind::GitHub] {
        let setup = Setup::start(kind, Options::default()).await;
        setup.double.lock().open(3, 0);
        let head = setup.push_request(3, "debug", false);
        let open = if kind == Kind::GitLab {
            "open"
        } else {
            "opened"
        };
        assert_eq!(setup.event(3, open, &head, true).await, 202);
        setup.counted("refused-fork", 1).await;
        let comment = setup.comment_for(3, "comes from a fork").await;
        assert!(comment.contains("--allow-fork-plans"), "{comment}");
        let statuses = setup.final_statuses(&head).await;
        assert_eq!(statuses.len(), 1, "no pending, no plan: {statuses:?}");
        assert_eq!(
            statuses[0].description,
            "not planned: the request comes from a fork"
        );
        setup.stop().await;
    }
    let setup = Setup::start(
        Kind::GitHub,
        Options {
            allow_forks: true,
            ..Options::default()
        },
    )
    .await;
    setup.double.lock().open(3, 0);
    let head = setup.push_request(3, "debug", false);
    assert_eq!(setup.event(3, "opened", &head, true).await, 202);
    setup.comment_for(3, &head).await;
    assert_eq!(setup.final_statuses(&head).await[1].state, "success");
    setup.stop().await;
}

/// Two requests at once both get their plan; three quick pushes to one request end with one
/// plan of the newest head (the older superseded or stale).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn concurrent_requests_and_superseded_pushes() {
    let setup = Setup::start(
        Kind::GitLab,
        Options {
            max_concurrent: 1,
            ..Options::default()
        },
    )
    .await;
    setup.double.lock().open(1, 0);
    setup.double.lock().open(2, 0);
    let one = setup.push_request(1, "debug", false);
    let two = setup.push_request(2, "error", false);
    let (a, b) = tokio::join!(
        setup.event(1, "open", &one, false),
        setup.event(2, "open", &two, false)
    );
    assert_eq!((a, b), (202, 202));
    setup.comment_for(1, &one).await;
    setup.comment_for(2, &two).await;

    let mut last = String::new();
    for value in ["v1", "v2", "v3"] {
        last = setup.push_request(1, value, false);
        assert_eq!(setup.event(1, "update", &last, false).await, 202);
    }
    setup.comment_for(1, &last).await;
    setup.counted("success", 3).await;
    tokio::time::sleep(Duration::from_millis(300)).await;
    let skipped = setup.plans.count("superseded") + setup.plans.count("stale");
    assert_eq!(
        setup.plans.count("success") + skipped,
        5,
        "{}",
        setup.daemon.state.metrics()
    );
    assert_eq!(setup.double.lock().plan_comments(1).len(), 1);
    assert_eq!(setup.plans.in_flight(), (0, 0));
    // No commit is left `pending`: a superseded plan's commit ends `failed`.
    let statuses = setup.double.lock().statuses.clone();
    let mut last_state = std::collections::BTreeMap::new();
    for status in &statuses {
        last_state.insert(status.sha.clone(), status.state.clone());
    }
    assert!(
        last_state.values().all(|state| state != "pending"),
        "{statuses:?}"
    );
    setup.stop().await;
}

/// A push while the request's plan is running (a slow Infisical): the running plan stops, writes
/// no comment, and its commit's `pending` status turns `failed`; the newer head is planned.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_plan_superseded_while_running_leaves_no_commit_pending() {
    let setup = Setup::start(Kind::GitLab, Options::default()).await;
    setup.double.lock().open(7, 0);
    setup.server.set_faults(infisical_gitops::dev::Faults {
        latency: Duration::from_millis(500),
        ..infisical_gitops::dev::Faults::default()
    });
    let first = setup.push_request(7, "slow-1", false);
    assert_eq!(setup.event(7, "open", &first, false).await, 202);
    for _ in 0..400 {
        if setup.double.lock().statuses.iter().any(|s| s.sha == first) {
            break;
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    // Past the fetch, inside the plan's first slow Infisical call.
    setup.server.reset_counts();
    for _ in 0..400 {
        if setup.server.request_counts().values().sum::<u64>() > 0 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    let second = setup.push_request(7, "slow-2", false);
    assert_eq!(setup.event(7, "update", &second, false).await, 202);
    setup
        .server
        .set_faults(infisical_gitops::dev::Faults::default());
    setup.comment_for(7, &second).await;
    let statuses = setup.final_statuses(&first).await;
    assert_eq!(
        statuses
            .iter()
            .map(|s| s.state.as_str())
            .collect::<Vec<_>>(),
        ["pending", "failed"],
        "{statuses:?}"
    );
    assert!(
        statuses[1].description.contains("superseded"),
        "{statuses:?}"
    );
    assert!(
        setup
            .double
            .lock()
            .plan_comments(7)
            .iter()
            .all(|c| !c.body.contains(&first)),
        "the stopped plan wrote no comment"
    );
    assert_eq!(setup.plans.count("superseded"), 1);
    setup.stop().await;
}

/// Forge 401, 404 and 5xx: counted, logged, and the reconcile loop goes on.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn forge_failures_leave_the_reconcile_loop_alone() {
    let setup = Setup::start(Kind::GitHub, Options::default()).await;
    setup.double.lock().open(4, 0);
    for (index, status) in [401u16, 404, 503].into_iter().enumerate() {
        setup.double.lock().fail_with = Some(status);
        let head = setup.push_request(4, &format!("v{status}"), false);
        assert_eq!(setup.event(4, "synchronize", &head, false).await, 202);
        setup.counted("forge-error", index as u64 + 1).await;
        let next = setup.remote.push("", &format!("main-{status}"));
        setup.daemon.state.trigger(Trigger::Webhook);
        setup.daemon.applied(&next).await;
    }
    let calls = setup.plans.calls();
    for result in ["unauthorized", "not-found", "unavailable"] {
        assert_eq!(calls.get("status", result), 1, "{result}");
    }
    setup.double.lock().fail_with = None;
    let head = setup.push_request(4, "recovered", false);
    assert_eq!(setup.event(4, "synchronize", &head, false).await, 202);
    setup.comment_for(4, &head).await;
    setup.stop().await;
}

/// Unsigned or wrongly signed hooks are refused; authentic hostile bodies are 400; other
/// branches and actions are 202 and planned nowhere.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn unsigned_and_hostile_request_hooks_are_refused() {
    let setup = Setup::start(Kind::GitHub, Options::default()).await;
    setup.double.lock().open(6, 0);
    let head = setup.push_request(6, "debug", false);
    let body = serde_json::to_vec(&serde_json::json!({"action": "opened",
        "pull_request": {"number": 6, "head": {"sha": head, "repo": {"full_name": "acme/secrets"}},
            "base": {"ref": "main", "repo": {"full_name": "acme/secrets"}}}}))
    .unwrap();
    assert_eq!(
        setup.post("github", "pull_request", &body, false).await,
        401
    );
    assert_eq!(
        setup
            .post("gitlab", "Merge Request Hook", &body, false)
            .await,
        401
    );
    for hostile in [
        b"[1,2,3]".to_vec(),
        b"{\"action\":\"opened\"}".to_vec(),
        String::from_utf8(body.clone())
            .unwrap()
            .replace(&head, "../../../etc/passwd")
            .into_bytes(),
        String::from_utf8(body.clone())
            .unwrap()
            .replace("\"number\":6", "\"number\":-6")
            .into_bytes(),
        vec![b'['; 100_000],
    ] {
        assert_eq!(
            setup.post("github", "pull_request", &hostile, true).await,
            400
        );
    }
    let other = String::from_utf8(body.clone())
        .unwrap()
        .replace("\"ref\":\"main\"", "\"ref\":\"release\"");
    assert_eq!(
        setup
            .post("github", "pull_request", other.as_bytes(), true)
            .await,
        202
    );
    assert_eq!(setup.post("github", "ping", b"{}", true).await, 202);
    // Past 1 MiB a merge request event is refused without being parsed.
    let large = [b" ".repeat(1024 * 1024), b"{}".to_vec()].concat();
    assert_eq!(
        setup
            .post("gitlab", "Merge Request Hook", &large, true)
            .await,
        413
    );
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert!(setup.double.lock().plan_comments(6).is_empty());
    assert!(setup.double.lock().statuses.is_empty());
    assert_eq!(setup.plans.count("other-branch"), 1);
    setup.stop().await;
}

/// The forge sends the event a moment before it updates the request's ref: the head is
/// fetched again until it is the event's commit.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_ref_updated_after_the_event_is_fetched_again() {
    let setup = Setup::start(Kind::GitLab, Options::default()).await;
    setup.double.lock().open(9, 0);
    let older = setup.push_request(9, "a", false);
    let newer = setup.push_request(9, "b", false);
    let head_ref = "refs/merge-requests/9/head";
    git(
        &setup.remote.work,
        &[
            "push",
            "--quiet",
            "--force",
            "origin",
            &format!("{older}:{head_ref}"),
        ],
    );
    assert_eq!(setup.event(9, "update", &newer, false).await, 202);
    tokio::time::sleep(Duration::from_millis(200)).await;
    git(
        &setup.remote.work,
        &[
            "push",
            "--quiet",
            "--force",
            "origin",
            &format!("{newer}:{head_ref}"),
        ],
    );
    setup.comment_for(9, &newer).await;
    assert_eq!(setup.final_statuses(&newer).await[1].state, "success");
    assert_eq!(setup.plans.count("stale"), 0);
    setup.stop().await;
}

/// A forge whose calls never answer: the plans it holds stay running.
#[derive(Debug, Default)]
struct StuckForge;

#[async_trait::async_trait]
impl review::Review for StuckForge {
    async fn upsert_plan_comment(
        &self,
        _number: u64,
        _markdown: &str,
    ) -> Result<review::PlanComment, infisical_gitops::propose::forge::ForgeError> {
        std::future::pending().await
    }

    async fn set_status(
        &self,
        _commit: &review::CommitId,
        _status: &review::CommitStatus,
    ) -> Result<(), infisical_gitops::propose::forge::ForgeError> {
        std::future::pending().await
    }
}

fn event(number: u64, action: RequestAction, branch: &str) -> RequestEvent {
    RequestEvent {
        forge: ForgeKind::GitLab,
        number,
        action,
        head: review::CommitId::parse(&format!("{number:040x}")).unwrap(),
        target_branch: branch.to_string(),
        fork: false,
    }
}

/// The queue: one plan per request at a time, a newer push supersedes, a close cancels, the
/// oldest is dropped past the bound, other branches and forges are ignored.
#[tokio::test]
async fn the_queue_supersedes_cancels_and_drops_the_oldest() {
    let remote = Remote::new();
    let reconciler = Reconciler::new(
        Arc::new(infisical_gitops::infisical::memory::MemoryInfisical::new()),
        Arc::new(infisical_gitops::resolve::SourceResolver::new()),
    );
    let plans = RequestPlans::start(
        RequestPlansConfig {
            forge: ForgeKind::GitLab,
            git: remote.config(remote.file_url(), GitReference::Branch("main".into()), ""),
            tracked_branch: "main".into(),
            allow_forks: false,
            max_concurrent: 1,
        },
        reconciler,
        Arc::new(StuckForge),
        Arc::new(ForgeCalls::default()),
    );
    // Request 1 runs (stuck on its pending status); request 2 waits.
    assert!(plans.submit(event(1, RequestAction::Plan, "main")));
    assert!(plans.submit(event(2, RequestAction::Plan, "main")));
    tokio::task::yield_now().await;
    assert_eq!(plans.in_flight(), (1, 1));
    // A newer push to 2 replaces its queued plan; closing 2 removes it.
    assert!(plans.submit(event(2, RequestAction::Plan, "main")));
    assert_eq!(plans.count("superseded"), 1);
    assert!(plans.submit(event(2, RequestAction::Close, "main")));
    assert_eq!(plans.count("cancelled"), 1);
    assert_eq!(plans.in_flight(), (0, 1));
    // A newer push to the running 1 waits for it (one plan per request at a time).
    assert!(plans.submit(event(1, RequestAction::Plan, "main")));
    assert_eq!(plans.in_flight(), (1, 1));
    // Other branches and forges are ignored.
    assert!(!plans.submit(event(3, RequestAction::Plan, "release")));
    let mut github = event(4, RequestAction::Plan, "main");
    github.forge = ForgeKind::GitHub;
    assert!(!plans.submit(github));
    assert_eq!(plans.count("other-branch"), 1);
    // Past the bound the oldest waiting plan is dropped.
    for number in 100..100 + QUEUE as u64 {
        assert!(plans.submit(event(number, RequestAction::Plan, "main")));
    }
    assert_eq!(plans.count("dropped"), 1);
    assert_eq!(plans.in_flight(), (QUEUE, 1));
}

/// `run --forge github …` through the binary: a signed `pull_request` event gets the plan
/// comment and statuses; a fork is refused.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn run_plans_pull_requests_through_the_binary() {
    let _ = rustls::crypto::ring::default_provider().install_default();
    let remote = Remote::new();
    remote.push("", "info");
    git(&remote.work, &["checkout", "--quiet", "-b", "feature"]);
    write_repo(&remote.work, "debug", "correct");
    git(&remote.work, &["commit", "--quiet", "-am", "debug"]);
    git(
        &remote.work,
        &["push", "--quiet", "origin", "HEAD:refs/pull/12/head"],
    );
    let head = git(&remote.work, &["rev-parse", "HEAD"]);
    let double = ForgeDouble::start(Kind::GitHub).await;
    double.lock().open(12, 2);
    double.lock().commits.insert(head.clone());
    let token = remote.root.join("forge-token");
    std::fs::write(&token, FORGE_TOKEN).unwrap();
    let secret = remote.root.join("hook-secret");
    std::fs::write(&secret, HOOK_SECRET).unwrap();
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let listen = format!("127.0.0.1:{port}");
    let mut daemon = tokio::process::Command::new(env!("CARGO_BIN_EXE_infisical-gitops"))
        .args(["run", "--dev", "--listen", &listen, "--git-url"])
        .arg(remote.file_url())
        .arg("--work-dir")
        .arg(remote.root.join("run"))
        .args(["--forge", "github", "--forge-project", "acme/secrets"])
        .args(["--forge-url", &double.url, "--forge-token-file"])
        .arg(&token)
        .arg("--github-secret-file")
        .arg(&secret)
        .args(["--max-concurrent-plans", "1"])
        .env_remove("INFISICAL_API_URL")
        .env_remove("INFISICAL_GITOPS_GIT_URL")
        .env_remove("INFISICAL_GITOPS_FORGE_TOKEN")
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .kill_on_drop(true)
        .spawn()
        .unwrap();
    assert!(
        crate::support::healthy(&listen, 100).await,
        "the daemon listens"
    );
    let http = reqwest::Client::new();
    let send = |fork: bool| {
        let body = serde_json::to_vec(&serde_json::json!({"action": "opened", "number": 12,
            "pull_request": {"number": 12,
                "head": {"sha": head, "repo": {"full_name": if fork { "mallory/secrets" } else { "acme/secrets" }}},
                "base": {"ref": "main", "repo": {"full_name": "acme/secrets"}}}}))
        .unwrap();
        http.post(format!("http://{listen}/hooks/github"))
            .header("x-github-event", "pull_request")
            .header("x-hub-signature-256", github_signature(HOOK_SECRET, &body))
            .body(body)
            .send()
    };
    assert_eq!(send(true).await.unwrap().status().as_u16(), 202);
    let mut refused = false;
    for _ in 0..400 {
        refused = double
            .lock()
            .plan_comments(12)
            .iter()
            .any(|c| c.body.contains("comes from a fork"));
        if refused {
            break;
        }
        tokio::time::sleep(Duration::from_millis(25)).await;
    }
    assert!(refused, "{:?}", double.lock().requests);
    assert_eq!(send(false).await.unwrap().status().as_u16(), 202);
    let mut comment = String::new();
    for _ in 0..400 {
        if let Some(found) = double.lock().plan_comments(12).iter().find(|c| {
            c.body.contains(&head) && c.body.contains("### infisical-gitops plan\n\n**Plan")
        }) {
            comment = found.body.clone();
            break;
        }
        tokio::time::sleep(Duration::from_millis(25)).await;
    }
    assert!(comment.contains("LOG_LEVEL"), "{comment}");
    assert_eq!(double.lock().plan_comments(12).len(), 1);
    // The comment is written before the final status: wait (bounded) for the status.
    let statuses = || -> Vec<String> {
        double
            .lock()
            .statuses
            .iter()
            .filter(|s| s.sha == head)
            .map(|s| s.state.clone())
            .collect()
    };
    for _ in 0..400 {
        if statuses().len() >= 3 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(25)).await;
    }
    let states = statuses();
    assert_eq!(states, ["failure", "pending", "success"], "{states:?}");
    let mut metrics = String::new();
    for _ in 0..400 {
        metrics = reqwest::get(format!("http://{listen}/metrics"))
            .await
            .unwrap()
            .text()
            .await
            .unwrap();
        if metrics.contains("infisical_gitops_request_plans_total{result=\"success\"} 1") {
            break;
        }
        tokio::time::sleep(Duration::from_millis(25)).await;
    }
    assert!(
        metrics.contains("infisical_gitops_request_plans_total{result=\"refused-fork\"} 1"),
        "{metrics}"
    );
    daemon.kill().await.unwrap();
}
