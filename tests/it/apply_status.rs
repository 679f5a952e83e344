//! Apply statuses after each daemon reconcile, against a real Git remote, the dev server and
//! the GitLab and GitHub doubles: success on an applied commit, failed on an invalid one, no
//! second post on a drift tick, and forge failures (401, 404, 5xx) counted and logged while the
//! reconcile loop goes on.

use std::sync::Arc;
use std::time::Duration;

use infisical_gitops::daemon::forge_status::{ApplyStatuses, ForgeCalls};
use infisical_gitops::daemon::{ReconcileOutcome, Trigger};
use infisical_gitops::propose::review;
use infisical_gitops::source::git::{GitReference, GitSource};

use super::daemon_git::{Remote, dev_reconciler, git};
use super::forge_double::{FORGE_TOKEN, ForgeDouble, Kind, Status};
use super::review::config;
use super::support::daemon::Running;

/// A value that must never reach the forge.
const CANARY: &str = "canary-apply-status-7c2e";

async fn statuses_on(double: &ForgeDouble, sha: &str, count: usize) -> Vec<Status> {
    for _ in 0..200 {
        let found: Vec<Status> = double
            .lock()
            .statuses
            .iter()
            .filter(|s| s.sha == sha)
            .cloned()
            .collect();
        if found.len() >= count {
            return found;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    panic!(
        "no {count} status(es) on {sha}: {:?}",
        double.lock().requests
    );
}

async fn calls_reach(calls: &ForgeCalls, result: &str, count: u64) {
    for _ in 0..200 {
        if calls.get("status", result) >= count {
            return;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    panic!("no {count} status call(s) with result {result}");
}

fn start(
    remote: &Remote,
    reconciler: infisical_gitops::reconcile::Reconciler,
    double: &ForgeDouble,
    calls: Arc<ForgeCalls>,
) -> Running {
    let source = Arc::new(GitSource::new(remote.config(
        remote.file_url(),
        GitReference::Branch("main".into()),
        "",
    )));
    let review = review::from_config(&config(double, FORGE_TOKEN)).unwrap();
    Running::start_with(reconciler, source, move |state| {
        assert!(state.set_apply_statuses(ApplyStatuses::start(review, calls)));
    })
}

fn push_broken(remote: &Remote) -> String {
    std::fs::write(
        remote.work.join("secrets/broken.yaml"),
        "kind: SecretSet\nspec: [\n",
    )
    .unwrap();
    git(&remote.work, &["add", "-A"]);
    git(&remote.work, &["commit", "--quiet", "-m", "broken"]);
    git(&remote.work, &["push", "--quiet", "origin", "HEAD:main"]);
    git(&remote.work, &["rev-parse", "HEAD"])
}

fn assert_clean(double: &ForgeDouble) {
    let forge = double.lock();
    for text in forge.bodies.iter().chain(&forge.requests) {
        assert!(!text.contains(CANARY), "{text}");
        assert!(!text.contains(FORGE_TOKEN), "{text}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn each_reconciled_commit_gets_one_apply_status_per_state() {
    for kind in [Kind::GitLab, Kind::GitHub] {
        let remote = Remote::new();
        let first = remote.push("", CANARY);
        let double = ForgeDouble::start(kind).await;
        double.lock().commits.insert(first.clone());
        let (server, reconciler) = dev_reconciler().await;
        let calls = Arc::new(ForgeCalls::default());
        let daemon = start(&remote, reconciler, &double, calls.clone());

        daemon.applied(&first).await;
        let statuses = statuses_on(&double, &first, 1).await;
        assert_eq!(statuses[0].context, "infisical-gitops/apply");
        assert_eq!(statuses[0].state, "success", "{statuses:?}");
        assert!(
            statuses[0].description.starts_with("applied: "),
            "{statuses:?}"
        );

        // A drift tick that ends as the last run did sets nothing new.
        daemon.state.trigger(Trigger::Drift);
        for _ in 0..200 {
            if daemon.state.status().reconciles.len() >= 2 {
                break;
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        assert!(daemon.state.status().reconciles.len() >= 2);

        // An invalid commit fails its status; the last good one stays applied.
        let broken = push_broken(&remote);
        double.lock().commits.insert(broken.clone());
        daemon.state.trigger(Trigger::Webhook);
        let record = daemon.reconciled(&broken).await;
        assert_eq!(record.outcome, ReconcileOutcome::Invalid);
        let statuses = statuses_on(&double, &broken, 1).await;
        let failed = match kind {
            Kind::GitLab => "failed",
            Kind::GitHub => "failure",
        };
        assert_eq!(statuses[0].state, failed, "{statuses:?}");
        assert_eq!(
            statuses[0].description,
            "the revision does not validate; nothing applied"
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
        assert_eq!(
            double.lock().statuses.len(),
            2,
            "{:?}",
            double.lock().statuses
        );
        assert_eq!(calls.get("status", "success"), 2);
        let metrics = daemon.state.metrics();
        assert!(
            metrics.contains(
                "infisical_gitops_forge_calls_total{call=\"status\",result=\"success\"} 2"
            ),
            "{metrics}"
        );
        assert_clean(&double);
        daemon.stop().await;
        server.shutdown().await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn forge_failures_are_counted_and_the_reconcile_loop_goes_on() {
    let remote = Remote::new();
    let first = remote.push("", CANARY);
    let double = ForgeDouble::start(Kind::GitLab).await;
    double.lock().commits.insert(first.clone());
    double.lock().fail_with = Some(503);
    let (server, reconciler) = dev_reconciler().await;
    let calls = Arc::new(ForgeCalls::default());
    let daemon = start(&remote, reconciler, &double, calls.clone());
    daemon.applied(&first).await;
    calls_reach(&calls, "unavailable", 1).await;

    for (status, result) in [(401, "unauthorized"), (404, "not-found")] {
        double.lock().fail_with = Some(status);
        let next = remote.push("", &format!("{CANARY}-{status}"));
        double.lock().commits.insert(next.clone());
        daemon.state.trigger(Trigger::Webhook);
        daemon.applied(&next).await;
        assert_eq!(
            daemon.state.last().unwrap().outcome,
            ReconcileOutcome::Success
        );
        calls_reach(&calls, result, 1).await;
    }

    // The forge comes back: the next commit gets its status.
    double.lock().fail_with = None;
    let last = remote.push("", "recovered");
    double.lock().commits.insert(last.clone());
    daemon.state.trigger(Trigger::Webhook);
    daemon.applied(&last).await;
    let statuses = statuses_on(&double, &last, 1).await;
    assert_eq!(statuses[0].state, "success");
    let metrics = daemon.state.metrics();
    for result in ["unavailable", "unauthorized", "not-found", "success"] {
        assert!(
            metrics.contains(&format!(
                "infisical_gitops_forge_calls_total{{call=\"status\",result=\"{result}\"}} 1"
            )),
            "{metrics}"
        );
    }
    assert_clean(&double);
    daemon.stop().await;
    server.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_forge_that_never_answers_does_not_hold_the_reconcile_loop() {
    // A listener that accepts and never answers: every status call hangs until its timeout.
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}", listener.local_addr().unwrap());
    tokio::spawn(async move {
        let mut held = Vec::new();
        while let Ok((socket, _)) = listener.accept().await {
            held.push(socket);
        }
    });
    let remote = Remote::new();
    let first = remote.push("", CANARY);
    let (server, reconciler) = dev_reconciler().await;
    let calls = Arc::new(ForgeCalls::default());
    let review = review::from_config(&infisical_gitops::propose::ForgeConfig {
        kind: infisical_gitops::propose::ForgeKind::GitHub,
        api_url: url,
        project: "acme/secrets".to_string(),
        token: FORGE_TOKEN.into(),
    })
    .unwrap();
    let source = Arc::new(GitSource::new(remote.config(
        remote.file_url(),
        GitReference::Branch("main".into()),
        "",
    )));
    let daemon = Running::start_with(reconciler, source, move |state| {
        assert!(state.set_apply_statuses(ApplyStatuses::start(review, calls)));
    });
    daemon.applied(&first).await;
    // Later commits are reconciled while the status calls hang.
    for i in 0..3 {
        let next = remote.push("", &format!("v{i}"));
        daemon.state.trigger(Trigger::Webhook);
        daemon.applied(&next).await;
    }
    daemon.stop().await;
    server.shutdown().await;
}
