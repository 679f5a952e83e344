//! The example repository under `examples/desired-state` loads and validates.

use std::path::Path;

use infisical_gitops::model::{Address, SecretSource};
use infisical_gitops::source::load_desired_state;

fn example() -> &'static Path {
    Path::new(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/examples/desired-state"
    ))
}

#[test]
fn example_repository_validates() {
    let (state, warnings) = match load_desired_state(example()) {
        Ok(ok) => ok,
        Err(diagnostics) => panic!("the example is invalid: {diagnostics:#?}"),
    };
    assert!(warnings.is_empty(), "{warnings:#?}");
    let projects: Vec<&str> = state.projects.keys().map(|p| p.as_str()).collect();
    assert_eq!(
        projects,
        ["applications", "k3s-infrastructure", "mcp-servers"]
    );
    let k3s = &state.projects[&"k3s-infrastructure".parse().unwrap()];
    let envs: Vec<&str> = k3s.environments.iter().map(|e| e.slug.as_str()).collect();
    assert_eq!(envs, ["dev", "staging", "prod"]);
    let generated: Vec<String> = state
        .secrets
        .iter()
        .filter(|(_, s)| matches!(s.source, SecretSource::Generate(_)))
        .map(|(a, _)| a.to_string())
        .collect();
    assert!(generated.contains(&"k3s-infrastructure/prod:/#ENCRYPTION_KEY".to_string()));
    assert!(generated.contains(&"k3s-infrastructure/dev:/#AUTH_SECRET".to_string()));
    let address: Address = "k3s-infrastructure/prod:/databases#POSTGRES_PASSWORD"
        .parse()
        .unwrap();
    assert!(matches!(
        state.secrets[&address].source,
        SecretSource::Bitwarden(_)
    ));
    assert_eq!(state.kubernetes_syncs.len(), 4);
    assert!(
        state
            .kubernetes_syncs
            .values()
            .all(|sync| sync.spec.auth.is_some()),
        "KubernetesDefaults supplies the auth"
    );
}
