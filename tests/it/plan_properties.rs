//! Properties of the planner over generated desired and live states:
//! - convergence: planning again after applying a plan (simulated) gives an empty plan;
//! - idempotence: applying an empty plan changes nothing;
//! - ownership: unmarked objects are touched only when the adoption policy allows it.

use infisical_gitops::model::Adoption;
use infisical_gitops::plan::simulate::simulate;
use infisical_gitops::plan::testing::{DesiredBuilder, LiveBuilder, tag};
use infisical_gitops::plan::{Action, LiveState, PlanPolicy, Reason, ResolvedState, plan};
use proptest::prelude::*;

const PROJECTS: [&str; 2] = ["alpha-project", "bravo-project"];
const ENVIRONMENTS: [&str; 2] = ["dev", "prod"];
const FOLDERS: [&str; 4] = ["/", "/db", "/apps/web", "/apps"];
const KEYS: [&str; 4] = ["A", "B", "C", "D"];
const VALUES: [&str; 4] = ["one", " one ", "two", "three\n\n"];

#[derive(Debug, Clone)]
struct SecretCase {
    project: usize,
    environment: usize,
    folder: usize,
    key: usize,
    value: usize,
    generated: bool,
    comment: bool,
    tagged: bool,
}

#[derive(Debug, Clone)]
struct LiveCase {
    secret: SecretCase,
    marked: bool,
}

#[derive(Debug, Clone)]
struct Case {
    adoption: [Adoption; 2],
    prune: [bool; 2],
    project_exists: [bool; 2],
    project_marked: [bool; 2],
    desired: Vec<SecretCase>,
    live: Vec<LiveCase>,
}

fn secret_case() -> impl Strategy<Value = SecretCase> {
    (
        0..2usize,
        0..2usize,
        0..4usize,
        0..4usize,
        0..4usize,
        any::<bool>(),
        any::<bool>(),
        any::<bool>(),
    )
        .prop_map(
            |(project, environment, folder, key, value, generated, comment, tagged)| SecretCase {
                project,
                environment,
                folder,
                key,
                value,
                generated,
                comment,
                tagged,
            },
        )
}

fn adoption() -> impl Strategy<Value = Adoption> {
    prop_oneof![
        Just(Adoption::Create),
        Just(Adoption::Adopt),
        Just(Adoption::CreateOrAdopt)
    ]
}

fn case() -> impl Strategy<Value = Case> {
    (
        [adoption(), adoption()],
        any::<[bool; 2]>(),
        any::<[bool; 2]>(),
        any::<[bool; 2]>(),
        prop::collection::vec(secret_case(), 0..12),
        prop::collection::vec((secret_case(), any::<bool>()), 0..12),
    )
        .prop_map(
            |(adoption, prune, project_exists, project_marked, desired, live)| Case {
                adoption,
                prune,
                project_exists,
                project_marked,
                desired,
                live: live
                    .into_iter()
                    .map(|(secret, marked)| LiveCase { secret, marked })
                    .collect(),
            },
        )
}

fn address(secret: &SecretCase) -> String {
    format!(
        "{}/{}:{}#{}",
        PROJECTS[secret.project],
        ENVIRONMENTS[secret.environment],
        FOLDERS[secret.folder],
        KEYS[secret.key]
    )
}

fn build(case: &Case) -> (ResolvedState, LiveState) {
    let mut desired = DesiredBuilder::new();
    for (index, project) in PROJECTS.iter().enumerate() {
        desired = desired
            .project(project, &ENVIRONMENTS)
            .policy(project, |p| {
                p.adoption = case.adoption[index];
                p.prune = case.prune[index];
                p.max_deletions = 1000;
            });
    }
    for secret in &case.desired {
        let address = address(secret);
        desired = if secret.generated {
            desired.generated(&address)
        } else {
            desired.secret(&address, VALUES[secret.value])
        };
        let (comment, tagged) = (secret.comment, secret.tagged);
        desired = desired.with_secret(&address, |s| {
            if comment {
                s.comment = "declared".to_string();
            }
            if tagged {
                s.tags.insert(tag("declared"));
            }
        });
    }
    let mut live = LiveBuilder::new();
    for (index, project) in PROJECTS.iter().enumerate() {
        if case.project_exists[index] {
            live = live.project(project, case.project_marked[index], &ENVIRONMENTS);
        }
    }
    for item in &case.live {
        if !case.project_exists[item.secret.project] {
            continue;
        }
        let address = address(&item.secret);
        live = live.secret(&address, VALUES[(item.secret.value + 1) % 4], item.marked);
        if item.secret.comment {
            live = live.with_secret(&address, |s| s.comment = "live".to_string());
        }
    }
    (desired.build(), live.build())
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(256))]

    #[test]
    fn planning_after_applying_finds_nothing_left(case in case()) {
        let (desired, live) = build(&case);
        let first = plan(&desired, &live, &PlanPolicy::default());
        prop_assume!(first.is_applicable());
        let after = simulate(&first, &desired, &live);
        let second = plan(&desired, &after, &PlanPolicy::default());
        prop_assert!(second.is_empty(), "left over: {:#?}", second.changes);
        prop_assert!(second.errors.is_empty(), "errors after apply: {:#?}", second.errors);
        // Applying the (empty) second plan changes nothing.
        let again = simulate(&second, &desired, &after);
        prop_assert_eq!(again, after);
    }

    #[test]
    fn unmarked_objects_are_touched_only_when_adoption_allows(case in case()) {
        let (desired, live) = build(&case);
        let result = plan(&desired, &live, &PlanPolicy::default());
        for change in result.changes.iter().chain(&result.detected) {
            let project = change.address.project();
            let index = PROJECTS.iter().position(|p| *p == project.as_str()).unwrap_or(0);
            if change.reason == Reason::Adopted {
                prop_assert!(case.adoption[index] != Adoption::Create, "adopted under create: {}", change.address);
            }
            if change.action == Action::Delete {
                prop_assert!(case.prune[index], "deleted without prune: {}", change.address);
            }
            if change.action != Action::Create {
                let marked = is_marked(&live, change);
                prop_assert!(marked || change.reason == Reason::Adopted,
                    "unmarked object changed without adoption: {}", change.address);
            }
            if change.action == Action::Create {
                prop_assert!(case.adoption[index] != Adoption::Adopt, "created under adopt: {}", change.address);
            }
        }
    }
}

fn is_marked(live: &LiveState, change: &infisical_gitops::plan::Change) -> bool {
    use infisical_gitops::model::Address;
    match &change.address {
        Address::Project(p) => live.projects.get(p).is_some_and(|p| p.is_marked()),
        Address::Environment(p, _) => live.projects.get(p).is_some_and(|p| p.is_marked()),
        Address::Folder(p, e, f) => live
            .projects
            .get(p)
            .and_then(|p| p.environments.get(e))
            .and_then(|e| e.folders.get(f))
            .is_some_and(|f| f.is_marked()),
        Address::Secret(p, e, f, k) => live
            .projects
            .get(p)
            .and_then(|p| p.environments.get(e))
            .and_then(|e| e.secrets.get(&(f.clone(), k.clone())))
            .is_some_and(|s| s.is_marked()),
        // An import carries no marker: the repository owns the whole import list of a folder
        // that declares `imports:`.
        Address::Import(..) => true,
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(64))]

    /// The real applier against the in-memory Infisical: after apply, a fresh observation
    /// plans nothing, and a second apply writes nothing.
    #[test]
    fn the_applier_converges_against_the_in_memory_infisical(case in case()) {
        use std::sync::Arc;
        use infisical_gitops::apply::Applier;
        use infisical_gitops::infisical::memory::MemoryInfisical;
        use infisical_gitops::infisical::observe::observe;

        let (desired, live) = build(&case);
        let runtime = tokio::runtime::Builder::new_current_thread().build().expect("runtime");
        runtime.block_on(async {
            let memory = Arc::new(MemoryInfisical::from_live(&live));
            let observed = observe(memory.as_ref(), &desired.desired, 4).await.expect("observe");
            let first = plan(&desired, &observed, &PlanPolicy::default());
            if !first.is_applicable() {
                return Ok(());
            }
            let report = Applier::new(memory.clone()).apply(&first, &desired, &observed).await.expect("apply");
            prop_assert!(report.is_success(), "{}", report.render_text());
            let after = observe(memory.as_ref(), &desired.desired, 4).await.expect("observe");
            let second = plan(&desired, &after, &PlanPolicy::default());
            prop_assert!(second.is_empty(), "left over: {:#?}", second.changes);
            memory.reset_calls();
            let report = Applier::new(memory.clone()).apply(&second, &desired, &after).await.expect("apply");
            prop_assert!(report.outcomes.is_empty());
            prop_assert_eq!(memory.total_calls(), 0);
            Ok(())
        })?;
    }
}
