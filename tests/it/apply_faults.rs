//! Apply against the dev server over real HTTP, under trouble: 429 bursts, 5xx, dropped
//! connections, and every token expiring in the middle of a large apply. In paused tokio time
//! (retry waits cost nothing). The end state must equal the desired state: nothing lost (a fresh
//! plan is empty) and nothing duplicated (the server holds exactly the declared secrets).

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use infisical_gitops::apply::{ApplyProgress, ChangeOutcome};
use infisical_gitops::dev::{DevServer, DevServerConfig, Faults};
use infisical_gitops::infisical::observe::observe;
use infisical_gitops::infisical::{ClientConfig, Credentials, HttpClient, RetryPolicy};
use infisical_gitops::plan::ResolvedState;
use infisical_gitops::plan::testing::DesiredBuilder;
use infisical_gitops::reconcile::Reconciler;
use infisical_gitops::resolve::SourceResolver;

fn desired(projects: usize, folders: usize, secrets: usize) -> ResolvedState {
    let mut builder = DesiredBuilder::new();
    for p in 0..projects {
        let project = format!("fault-project-{p}");
        builder = builder.project(&project, &["dev", "prod"]);
        for environment in ["dev", "prod"] {
            for f in 0..folders {
                for s in 0..secrets {
                    builder = builder.secret(
                        &format!("{project}/{environment}:/folder-{f}#KEY_{s:03}"),
                        &format!("value-{p}-{f}-{s}"),
                    );
                }
            }
        }
    }
    builder.build()
}

async fn start() -> (DevServer, Arc<HttpClient>) {
    let config = DevServerConfig::default();
    let credentials = Credentials::universal_auth(&config.client_id, &config.client_secret);
    let server = DevServer::start(config).await.expect("dev server");
    let mut client_config = ClientConfig::new(server.url(), credentials);
    client_config.retry = RetryPolicy {
        max_attempts: 8,
        base_backoff: Duration::from_millis(100),
        max_backoff: Duration::from_secs(2),
        max_retry_after: Duration::from_secs(5),
        total_budget: Duration::from_secs(600),
    };
    let client = Arc::new(HttpClient::new(client_config).expect("client"));
    (server, client)
}

/// Applies until a plan is empty (at most `rounds` applies) and checks the end state.
async fn converge(
    server: &DevServer,
    reconciler: &Reconciler,
    resolved: &ResolvedState,
    rounds: usize,
) -> usize {
    let mut applies = 0;
    loop {
        // The fixture's values are resolved already: observe and plan with them directly.
        let live = observe(reconciler.api().as_ref(), &resolved.desired, 8)
            .await
            .expect("observe under faults");
        let plan = infisical_gitops::plan::plan(resolved, &live, &Default::default());
        if plan.is_empty() {
            break;
        }
        assert!(applies < rounds, "no convergence after {rounds} applies");
        let applier = infisical_gitops::apply::Applier::new(reconciler.api().clone());
        let report = applier
            .apply(&plan, resolved, &live)
            .await
            .expect("applicable");
        applies += 1;
        if !report.is_success() {
            eprintln!("apply {applies}: {}", report.summary_line());
        }
    }
    assert_eq!(
        server.secret_count(),
        resolved.desired.secret_count(),
        "lost or duplicated secrets"
    );
    applies
}

fn reconciler(client: &Arc<HttpClient>) -> Reconciler {
    Reconciler::new(client.clone(), Arc::new(SourceResolver::new()))
}

#[tokio::test(start_paused = true)]
async fn bursts_of_429_5xx_and_dropped_connections_end_in_the_desired_state() {
    let (server, client) = start().await;
    server.set_faults(Faults {
        rate_limit_every: Some(5),
        retry_after_secs: 1,
        server_error_every: Some(7),
        drop_connection_every: Some(11),
        ..Faults::default()
    });
    let resolved = desired(3, 4, 30);
    let applies = converge(&server, &reconciler(&client), &resolved, 3).await;
    assert!(applies >= 1);
    let faulted: u64 = server.request_counts().values().sum();
    assert!(faulted > 100, "the faults had requests to hit");
    server.shutdown().await;
}

struct ExpireTokens {
    server: Arc<DevServer>,
    after: usize,
    seen: AtomicUsize,
}

impl ApplyProgress for ExpireTokens {
    fn started(&self, _: usize) {}

    fn finished(&self, _: &ChangeOutcome) {
        if self.seen.fetch_add(1, Ordering::SeqCst) + 1 == self.after {
            self.server.expire_tokens();
        }
    }
}

#[tokio::test(start_paused = true)]
async fn a_token_expiring_in_the_middle_of_a_large_apply_loses_nothing() {
    let (server, client) = start().await;
    let server = Arc::new(server);
    let resolved = desired(2, 5, 120);
    let run = reconciler(&client)
        .plan(resolved.desired.clone())
        .await
        .expect("plan");
    let plan = infisical_gitops::plan::plan(&resolved, &run.live, &Default::default());
    let progress = Arc::new(ExpireTokens {
        server: server.clone(),
        after: plan.changes.len() / 2,
        seen: AtomicUsize::new(0),
    });
    let report = infisical_gitops::apply::Applier::new(client.clone())
        .with_progress(progress)
        .apply(&plan, &resolved, &run.live)
        .await
        .expect("applicable");
    assert!(report.is_success(), "{}", report.render_text());
    let again = reconciler(&client)
        .plan(resolved.desired.clone())
        .await
        .expect("plan");
    let replanned = infisical_gitops::plan::plan(&resolved, &again.live, &Default::default());
    assert!(replanned.is_empty(), "{:#?}", replanned.changes);
    assert_eq!(server.secret_count(), resolved.desired.secret_count());
}

#[tokio::test]
async fn writes_under_an_approval_policy_are_reported_pending_and_write_nothing() {
    let (server, client) = start().await;
    let resolved = DesiredBuilder::new()
        .project("approval-project", &["prod"])
        .secret("approval-project/prod:/guarded#TOKEN", "v")
        .secret("approval-project/prod:/open#TOKEN", "v")
        .build();
    // First create the structure, then guard one folder.
    let live = observe(client.as_ref(), &resolved.desired, 4)
        .await
        .expect("observe");
    let plan = infisical_gitops::plan::plan(&resolved, &live, &Default::default());
    let structure: Vec<_> = plan
        .changes
        .iter()
        .filter(|c| !matches!(c.address, infisical_gitops::model::Address::Secret(..)))
        .cloned()
        .collect();
    let structure_plan = infisical_gitops::plan::Plan {
        changes: structure,
        ..plan.clone()
    };
    let applier = infisical_gitops::apply::Applier::new(client.clone());
    assert!(
        applier
            .apply(&structure_plan, &resolved, &live)
            .await
            .expect("apply")
            .is_success()
    );
    let live = observe(client.as_ref(), &resolved.desired, 4)
        .await
        .expect("observe");
    let project_id = live.projects.values().next().expect("project").id.clone();
    server.set_approval_policy(&project_id, "prod", "/guarded");
    let plan = infisical_gitops::plan::plan(&resolved, &live, &Default::default());
    let report = applier.apply(&plan, &resolved, &live).await.expect("apply");
    assert!(!report.is_success());
    insta::with_settings!({filters => vec![(r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}", "[uuid]")]}, {
    insta::assert_snapshot!(report.render_text(), @r"
      + approval-project/prod:/guarded#TOKEN: pending approval (request [uuid])
    Apply finished; changes await approval: 1 done, 0 failed, 1 pending approval, 0 skipped.
    ");
    });
    assert_eq!(server.secret_count(), 1);
    server.shutdown().await;
}
