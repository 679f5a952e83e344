//! The whole pipeline on the example repository: load → resolve → observe → plan → apply →
//! plan again, against the in-memory Infisical.

use std::path::Path;
use std::sync::Arc;

use infisical_gitops::infisical::memory::MemoryInfisical;
use infisical_gitops::plan::render::text;
use infisical_gitops::reconcile::Reconciler;
use infisical_gitops::resolve::SourceResolver;
use infisical_gitops::source::load_desired_state;

fn example() -> &'static Path {
    Path::new(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/examples/desired-state"
    ))
}

#[tokio::test]
async fn the_example_repository_applies_and_then_plans_no_changes() {
    let (desired, _) = load_desired_state(example()).expect("the example is valid");
    let memory = Arc::new(MemoryInfisical::new());
    let reconciler = Reconciler::new(
        memory.clone(),
        Arc::new(SourceResolver::new().with_dev_placeholders()),
    );
    let (run, report) = reconciler
        .reconcile(desired.clone())
        .await
        .expect("reconcile");
    assert!(run.plan.unresolved.is_empty(), "{:#?}", run.plan.unresolved);
    assert!(report.is_success(), "{}", report.render_text());
    insta::assert_snapshot!(text::render(&run.plan, Default::default()));
    let again = reconciler.plan(desired).await.expect("plan");
    assert!(
        again.plan.is_empty(),
        "{}",
        text::render(&again.plan, Default::default())
    );
    assert!(again.plan.errors.is_empty());
}

#[tokio::test]
async fn without_a_bitwarden_resolver_bitwarden_secrets_are_unresolved_and_not_written() {
    let (desired, _) = load_desired_state(example()).expect("the example is valid");
    let memory = Arc::new(MemoryInfisical::new());
    let reconciler = Reconciler::new(memory.clone(), Arc::new(SourceResolver::new()));
    let (run, report) = reconciler.reconcile(desired).await.expect("reconcile");
    assert!(!run.plan.unresolved.is_empty());
    // Every planned change is done, but the report is no success: secrets are missing.
    let (done, failed, pending, skipped) = report.counts();
    assert_eq!((failed, pending, skipped), (0, 0, 0));
    assert_eq!(done, run.plan.changes.len());
    assert!(!report.is_success(), "{}", report.render_text());
    assert_eq!(report.unresolved.len(), run.plan.unresolved.len());
    assert!(
        report.summary_line().starts_with("Apply incomplete: "),
        "{}",
        report.summary_line()
    );
    assert!(
        run.plan
            .unresolved
            .iter()
            .all(|u| u.reason.code == "not-configured")
    );
    assert!(
        memory
            .secret_value(
                "k3s-infrastructure",
                "prod",
                "/databases",
                "POSTGRES_PASSWORD"
            )
            .is_none()
    );
}
