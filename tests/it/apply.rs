//! Observe + apply against the in-memory Infisical: convergence, batching, call counts,
//! partial failures, adoption and prune.

use std::sync::Arc;

use infisical_gitops::apply::{Applier, Status};
use infisical_gitops::infisical::memory::MemoryInfisical;
use infisical_gitops::infisical::observe::{call_count, observe};
use infisical_gitops::model::Adoption;
use infisical_gitops::plan::testing::{DesiredBuilder, LiveBuilder, tag};
use infisical_gitops::plan::{PlanPolicy, ResolvedState, plan};

use super::support::fixtures::{desired_prod, live_prod};

async fn plan_and_apply(
    memory: &Arc<MemoryInfisical>,
    desired: &ResolvedState,
) -> (
    infisical_gitops::plan::Plan,
    infisical_gitops::apply::ApplyReport,
) {
    let live = observe(memory.as_ref(), &desired.desired, 4)
        .await
        .expect("observe");
    let plan = plan(desired, &live, &PlanPolicy::default());
    let report = Applier::new(memory.clone())
        .apply(&plan, desired, &live)
        .await
        .expect("applicable plan");
    (plan, report)
}

async fn replan(memory: &MemoryInfisical, desired: &ResolvedState) -> infisical_gitops::plan::Plan {
    let live = observe(memory, &desired.desired, 4).await.expect("observe");
    plan(desired, &live, &PlanPolicy::default())
}

fn desired() -> ResolvedState {
    DesiredBuilder::new()
        .project("k3s-infrastructure", &["dev", "prod"])
        .folder("k3s-infrastructure/prod:/apps/web/api")
        .secret(
            "k3s-infrastructure/prod:/databases#POSTGRES_PASSWORD",
            "s3cret",
        )
        .with_secret(
            "k3s-infrastructure/prod:/databases#POSTGRES_PASSWORD",
            |s| {
                s.comment = "rotated quarterly".to_string();
                s.tags.insert(tag("database"));
                s.metadata
                    .insert("owner".to_string(), "platform".to_string());
            },
        )
        .literal("k3s-infrastructure/dev:/#LOG_LEVEL", " debug\n\n")
        .generated("k3s-infrastructure/prod:/apps/web#SESSION_KEY")
        .project("billing-service", &["prod"])
        .secret("billing-service/prod:/#STRIPE_KEY", "sk_test")
        .build()
}

#[tokio::test]
async fn applying_from_empty_converges_and_a_second_apply_changes_nothing() {
    let memory = Arc::new(MemoryInfisical::new());
    let desired = desired();
    let (first, report) = plan_and_apply(&memory, &desired).await;
    assert!(report.is_success(), "{}", report.render_text());
    assert_eq!(report.outcomes.len(), first.changes.len());
    let generated = memory
        .secret_value("k3s-infrastructure", "prod", "/apps/web", "SESSION_KEY")
        .expect("generated secret exists");
    let second = replan(&memory, &desired).await;
    assert!(second.is_empty(), "{:#?}", second.changes);
    // Applying the empty plan writes nothing and keeps the generated value.
    memory.reset_calls();
    let (_, report) = plan_and_apply(&memory, &desired).await;
    assert!(report.outcomes.is_empty());
    let writes: usize = memory
        .calls()
        .iter()
        .filter(|(name, _)| !name.starts_with("list") && !name.starts_with("get"))
        .map(|(_, n)| n)
        .sum();
    assert_eq!(writes, 0);
    assert_eq!(
        memory.secret_value("k3s-infrastructure", "prod", "/apps/web", "SESSION_KEY"),
        Some(generated)
    );
    assert_eq!(
        memory
            .secret_value("k3s-infrastructure", "dev", "/", "LOG_LEVEL")
            .map(|v| v.expose().to_string()),
        Some("debug\n".to_string())
    );
}

#[tokio::test]
async fn observe_makes_one_lookup_per_project_and_two_listings_per_environment() {
    let memory = Arc::new(MemoryInfisical::new());
    let desired = desired();
    plan_and_apply(&memory, &desired).await;
    memory.reset_calls();
    let live = observe(memory.as_ref(), &desired.desired, 4)
        .await
        .expect("observe");
    let calls = memory.calls();
    insta::assert_debug_snapshot!(calls, @r#"
    {
        "get_project_by_slug": 2,
        "list_folders": 3,
        "list_secrets": 3,
    }
    "#);
    assert_eq!(memory.total_calls(), call_count(&desired.desired, &live));
}

#[tokio::test]
async fn secrets_are_written_in_batches_of_one_hundred_per_folder() {
    let mut builder = desired_prod();
    for index in 0..250 {
        builder = builder.secret(
            &format!("k3s-infrastructure/prod:/bulk#KEY_{index:03}"),
            "v",
        );
    }
    let desired = builder.build();
    let memory = Arc::new(MemoryInfisical::new());
    let (_, report) = plan_and_apply(&memory, &desired).await;
    assert!(report.is_success());
    let calls = memory.calls();
    assert_eq!(calls.get("create_secrets"), Some(&3));
    assert_eq!(calls.get("create_folder"), Some(&1));
}

#[tokio::test]
async fn a_failed_folder_skips_its_secrets_and_siblings_continue_then_a_rerun_converges() {
    let desired = desired_prod()
        .secret("k3s-infrastructure/prod:/alpha#A", "a")
        .secret("k3s-infrastructure/prod:/bravo#B", "b")
        .build();
    let memory = Arc::new(MemoryInfisical::new());
    let live = observe(memory.as_ref(), &desired.desired, 4)
        .await
        .expect("observe");
    let first = plan(&desired, &live, &PlanPolicy::default());
    // Calls: create project, create environment, create /alpha (fails), create /bravo, …
    memory.fail_calls(&[3]);
    let report = Applier::new(memory.clone())
        .apply(&first, &desired, &live)
        .await
        .expect("applicable");
    let lines: Vec<String> = report
        .outcomes
        .iter()
        .map(|o| {
            let status = match &o.status {
                Status::Done => "done".to_string(),
                Status::Failed { reason } => format!("failed: {reason}"),
                Status::PendingApproval { .. } => "pending".to_string(),
                Status::Skipped { reason } => format!("skipped: {reason}"),
            };
            format!("{} {}: {status}", o.action.symbol(), o.address)
        })
        .collect();
    insta::assert_debug_snapshot!(lines, @r#"
    [
        "+ k3s-infrastructure: done",
        "+ k3s-infrastructure/prod: done",
        "+ k3s-infrastructure/prod:/alpha: failed: server error 500: POST /api/v2/folders: Something went wrong",
        "+ k3s-infrastructure/prod:/bravo: done",
        "+ k3s-infrastructure/prod:/alpha#A: skipped: `k3s-infrastructure/prod:/alpha` was not applied",
        "+ k3s-infrastructure/prod:/bravo#B: done",
    ]
    "#);
    assert!(!report.is_success());
    let (_, rerun) = plan_and_apply(&memory, &desired).await;
    assert!(rerun.is_success());
    assert_eq!(
        rerun.outcomes.len(),
        2,
        "only the folder and its secret were left"
    );
    assert!(replan(&memory, &desired).await.is_empty());
}

#[tokio::test]
async fn a_plan_with_errors_is_refused_and_writes_nothing() {
    let desired = desired_prod()
        .secret("k3s-infrastructure/prod:/#TOKEN", "new")
        .build();
    let live = live_prod()
        .secret("k3s-infrastructure/prod:/#TOKEN", "hand-made", false)
        .build();
    let memory = Arc::new(MemoryInfisical::from_live(&live));
    let plan = plan(&desired, &live, &PlanPolicy::default());
    let err = Applier::new(memory.clone())
        .apply(&plan, &desired, &live)
        .await
        .expect_err("refused");
    assert_eq!(
        err.to_string(),
        "the plan has 1 error(s) and cannot be applied"
    );
    assert_eq!(memory.total_calls(), 0);
}

#[tokio::test]
async fn adoption_marks_existing_secrets_and_keeps_generated_values() {
    let desired = desired_prod()
        .policy("k3s-infrastructure", |p| {
            p.adoption = Adoption::CreateOrAdopt
        })
        .generated("k3s-infrastructure/prod:/#SESSION_KEY")
        .secret("k3s-infrastructure/prod:/#TOKEN", "from-git")
        .build();
    let live = LiveBuilder::new()
        .project("k3s-infrastructure", false, &["prod"])
        .secret(
            "k3s-infrastructure/prod:/#SESSION_KEY",
            "made-by-hand",
            false,
        )
        .secret("k3s-infrastructure/prod:/#TOKEN", "old", false)
        .build();
    let memory = Arc::new(MemoryInfisical::from_live(&live));
    let (_, report) = plan_and_apply(&memory, &desired).await;
    assert!(report.is_success(), "{}", report.render_text());
    assert!(replan(&memory, &desired).await.is_empty());
    assert_eq!(
        memory
            .secret_value("k3s-infrastructure", "prod", "/", "SESSION_KEY")
            .map(|v| v.expose().to_string()),
        Some("made-by-hand".to_string())
    );
    assert_eq!(
        memory
            .secret_value("k3s-infrastructure", "prod", "/", "TOKEN")
            .map(|v| v.expose().to_string()),
        Some("from-git".to_string())
    );
}

#[tokio::test]
async fn prune_deletes_managed_secrets_and_folders_and_leaves_the_rest() {
    let desired = desired_prod()
        .policy("k3s-infrastructure", |p| p.prune = true)
        .secret("k3s-infrastructure/prod:/#KEEP", "x")
        .build();
    let live = live_prod()
        .secret("k3s-infrastructure/prod:/#KEEP", "x", true)
        .secret("k3s-infrastructure/prod:/old/deep#A", "y", true)
        .secret("k3s-infrastructure/prod:/#HAND_MADE", "z", false)
        .build();
    let memory = Arc::new(MemoryInfisical::from_live(&live));
    let (plan, report) = plan_and_apply(&memory, &desired).await;
    assert_eq!(plan.summary().destroy, 3);
    assert!(report.is_success(), "{}", report.render_text());
    assert!(replan(&memory, &desired).await.is_empty());
    assert!(
        memory
            .secret_value("k3s-infrastructure", "prod", "/", "HAND_MADE")
            .is_some()
    );
    assert!(
        memory
            .secret_value("k3s-infrastructure", "prod", "/old/deep", "A")
            .is_none()
    );
}

fn with_imports(sources: &[&str], prune: bool) -> ResolvedState {
    DesiredBuilder::new()
        .project("web-apps", &["dev", "prod"])
        .policy("web-apps", |p| p.prune = prune)
        .folder("web-apps/prod:/shared")
        .literal("web-apps/prod:/#DB_HOST", "db.internal")
        .imports("web-apps/prod:/web", sources)
        .build()
}

/// Imports are created in the declared order, reordered, pruned; a re-plan is empty each time,
/// and observe reads imports once per folder that declares them.
#[tokio::test]
async fn imports_converge_in_the_declared_order_and_are_pruned() {
    let memory = Arc::new(MemoryInfisical::new());
    let first = with_imports(&["prod:/shared", "prod:/", "dev:/"], true);
    let (_, report) = plan_and_apply(&memory, &first).await;
    assert!(
        report.outcomes.iter().all(|o| o.status == Status::Done),
        "{:?}",
        report.outcomes
    );
    assert!(replan(&memory, &first).await.changes.is_empty());
    let listed = |memory: Arc<MemoryInfisical>| async move {
        let live = observe(memory.as_ref(), &with_imports(&[], true).desired, 4)
            .await
            .unwrap();
        assert_eq!(
            call_count(&with_imports(&[], true).desired, &live),
            1 + 2 * 2 + 1
        );
        live.projects.values().next().unwrap().environments[&"prod".parse().unwrap()]
            .imports
            .values()
            .next()
            .unwrap()
            .iter()
            .map(|i| {
                let (environment, path) = i.source.clone().unwrap();
                format!("{}:{environment}:{path}", i.position)
            })
            .collect::<Vec<_>>()
    };
    assert_eq!(
        listed(memory.clone()).await,
        ["1:prod:/shared", "2:prod:/", "3:dev:/"]
    );

    // Reversed, and `/shared` dropped: moves, then the delete.
    let second = with_imports(&["dev:/", "prod:/"], true);
    let (plan, report) = plan_and_apply(&memory, &second).await;
    assert!(!plan.changes.is_empty());
    assert!(
        report.outcomes.iter().all(|o| o.status == Status::Done),
        "{:?}",
        report.outcomes
    );
    assert!(replan(&memory, &second).await.changes.is_empty());
    assert_eq!(listed(memory.clone()).await, ["1:dev:/", "2:prod:/"]);
}

/// A failed import create leaves the later imports of its folder skipped, never dropped.
#[tokio::test]
async fn a_failed_import_skips_the_later_ones_of_its_folder() {
    let memory = Arc::new(MemoryInfisical::new());
    let desired = with_imports(&["prod:/shared", "prod:/"], false);
    let live = observe(memory.as_ref(), &desired.desired, 4).await.unwrap();
    let plan = plan(&desired, &live, &PlanPolicy::default());
    let imports = plan
        .changes
        .iter()
        .filter(|c| c.address.kind() == "import")
        .count();
    assert_eq!(imports, 2);
    // The first import create fails: count the calls a successful run makes before it.
    let mut calls_before = 0;
    {
        let probe = Arc::new(MemoryInfisical::new());
        let live = observe(probe.as_ref(), &desired.desired, 4).await.unwrap();
        probe.reset_calls();
        let _ = Applier::new(probe.clone())
            .apply(&plan, &desired, &live)
            .await;
        for (name, count) in probe.calls() {
            if name != "create_import" && name != "move_import" {
                calls_before += count;
            }
        }
    }
    memory.fail_calls(&[calls_before + 1]);
    let report = Applier::new(memory.clone())
        .apply(&plan, &desired, &live)
        .await
        .expect("applicable plan");
    let statuses: Vec<(String, &'static str)> = report
        .outcomes
        .iter()
        .filter(|o| o.address.kind() == "import")
        .map(|o| {
            let status = match o.status {
                Status::Done => "done",
                Status::Failed { .. } => "failed",
                Status::Skipped { .. } => "skipped",
                Status::PendingApproval { .. } => "pending",
            };
            (o.address.to_string(), status)
        })
        .collect();
    assert_eq!(
        statuses,
        [
            ("web-apps/prod:/web<-prod:/shared".to_string(), "failed"),
            ("web-apps/prod:/web<-prod:/".to_string(), "skipped"),
        ]
    );
    assert_eq!(
        report.outcomes.len(),
        plan.changes.len(),
        "every change ends"
    );
}
