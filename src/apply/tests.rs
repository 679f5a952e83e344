use std::collections::BTreeMap;
use std::sync::Arc;

use crate::infisical::memory::MemoryInfisical;
use crate::model::{Address, EnvironmentSlug, FolderPath, ProjectSlug, SecretKey};
use crate::plan::{
    Action, Change, LiveEnvironment, LiveProject, LiveState, Plan, Reason, ResolvedState,
};

use super::{Applier, Status};

fn live() -> LiveState {
    let mut live = LiveState::default();
    let mut environments = BTreeMap::new();
    environments.insert(
        EnvironmentSlug::new("dev").unwrap(),
        LiveEnvironment {
            id: "env-dev".to_string(),
            name: "Development".to_string(),
            position: Some(1),
            observed: true,
            folders: BTreeMap::new(),
            secrets: BTreeMap::new(),
            imports: BTreeMap::new(),
        },
    );
    live.projects.insert(
        ProjectSlug::new("web-app").unwrap(),
        LiveProject {
            id: "project-web".to_string(),
            name: "Web".to_string(),
            description: None,
            environments,
            tags: BTreeMap::new(),
        },
    );
    live
}

fn change(address: Address, action: Action) -> Change {
    Change {
        address,
        action,
        reason: Reason::Missing,
        fields: Vec::new(),
    }
}

/// A change whose kind lacks what it needs ends as `failed` with the reason: every change of
/// the plan has exactly one outcome, none is dropped.
#[tokio::test]
async fn a_malformed_change_is_reported_not_dropped() {
    let web = ProjectSlug::new("web-app").unwrap();
    let dev = EnvironmentSlug::new("dev").unwrap();
    let root = FolderPath::root();
    let plan = Plan {
        changes: vec![
            // An environment update for an environment that was not observed: no id.
            change(
                Address::Environment(web.clone(), EnvironmentSlug::new("staging").unwrap()),
                Action::Update,
            ),
            // A secret create without a value.
            change(
                Address::Secret(
                    web.clone(),
                    dev.clone(),
                    root.clone(),
                    SecretKey::new("TOKEN").unwrap(),
                ),
                Action::Create,
            ),
            // An import create without a position.
            change(
                Address::Import(web.clone(), dev.clone(), root.clone(), dev.clone(), root),
                Action::Create,
            ),
        ],
        ..Plan::default()
    };
    let live = live();
    let api = Arc::new(MemoryInfisical::from_live(&live));
    let report = Applier::new(api.clone())
        .apply(&plan, &ResolvedState::default(), &live)
        .await
        .unwrap();
    assert_eq!(report.outcomes.len(), plan.changes.len(), "{report:?}");
    let reasons: Vec<String> = report
        .outcomes
        .iter()
        .map(|outcome| match &outcome.status {
            Status::Failed { reason } => reason.clone(),
            other => panic!("{}: {other:?}", outcome.address),
        })
        .collect();
    assert_eq!(
        reasons,
        [
            "the id of `web-app/staging` is unknown (it was not observed before planning)",
            "a created secret needs a value",
            "the plan names no position for this import",
        ]
    );
    assert_eq!(api.total_calls(), 0, "nothing was sent");
}
