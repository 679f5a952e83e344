use super::*;

fn documents(yaml: &[&str]) -> Vec<LoadedDocument> {
    yaml.iter()
        .enumerate()
        .map(|(index, text)| {
            let header: serde_json::Value = serde_saphyr::from_str(text).unwrap();
            let document = match header["kind"].as_str().unwrap() {
                "Project" => Document::Project(serde_saphyr::from_str(text).unwrap()),
                "SecretSet" => Document::SecretSet(serde_saphyr::from_str(text).unwrap()),
                "KubernetesSync" => Document::KubernetesSync(serde_saphyr::from_str(text).unwrap()),
                _ => Document::KubernetesDefaults(serde_saphyr::from_str(text).unwrap()),
            };
            LoadedDocument {
                file: format!("doc-{index}.yaml").into(),
                line_offset: 0,
                document,
            }
        })
        .collect()
}

const PROJECT: &str = "apiVersion: infisical-gitops.io/v1alpha1
kind: Project
metadata: {name: platform}
spec:
  environments: [{slug: dev}, {slug: prod, position: 5}]
  folders:
    - path: /apps/web/api
      environments: [prod]
";

#[test]
fn nested_folders_imply_their_parents_in_their_environments_only() {
    let state = build(&documents(&[PROJECT])).unwrap();
    let project = state.projects.values().next().unwrap();
    let prod: EnvironmentSlug = "prod".parse().unwrap();
    let folders: Vec<(&str, bool)> = project.folders[&prod]
        .iter()
        .map(|(path, folder)| (path.as_str(), folder.declared))
        .collect();
    assert_eq!(
        folders,
        [
            ("/apps", false),
            ("/apps/web", false),
            ("/apps/web/api", true)
        ]
    );
    assert!(!project.folders.contains_key(&"dev".parse().unwrap()));
    let positions: Vec<u32> = project.environments.iter().map(|e| e.position).collect();
    assert_eq!(
        positions,
        [1, 5],
        "explicit positions win, others follow the list"
    );
    assert_eq!(project.policy, Policy::default());
}

#[test]
fn secrets_may_live_in_implied_parent_folders_and_expand_per_environment() {
    let set = "apiVersion: infisical-gitops.io/v1alpha1
kind: SecretSet
metadata: {name: web}
spec:
  project: platform
  environments: [prod]
  path: /apps/web
  secrets:
    - key: TOKEN
      generate: {}
";
    let state = build(&documents(&[PROJECT, set])).unwrap();
    let (address, secret) = state.secrets.iter().next().unwrap();
    assert_eq!(address.to_string(), "platform/prod:/apps/web#TOKEN");
    assert_eq!(
        secret.source,
        SecretSource::Generate(GenerateRule {
            length: GenerateRule::DEFAULT_LENGTH,
            charset: Default::default(),
            backup_to: None,
        })
    );
}

#[test]
fn kubernetes_defaults_fill_unset_fields_only() {
    let defaults = "apiVersion: infisical-gitops.io/v1alpha1
kind: KubernetesDefaults
metadata: {name: defaults}
spec:
  resyncInterval: 5m
  operatorApi: v1beta1
  auth:
    universalAuth:
      credentialsRef: {name: creds, namespace: infisical}
";
    let sync = "apiVersion: infisical-gitops.io/v1alpha1
kind: KubernetesSync
metadata: {name: web}
spec:
  source: {project: platform, environment: prod, path: /apps/web/api}
  target: {namespace: web, name: web-secrets}
  resyncInterval: 1h
";
    let (state, diagnostics) = check(&documents(&[PROJECT, sync, defaults]));
    let state = state.unwrap();
    let merged = &state.kubernetes_syncs["web"].spec;
    assert_eq!(merged.resync_interval.as_ref().unwrap().value, "1h");
    assert_eq!(merged.operator_api, Some(OperatorApi::V1beta1));
    assert!(merged.auth.as_ref().unwrap().universal_auth.is_some());
    let codes: Vec<&str> = diagnostics.iter().map(|d| d.code).collect();
    assert_eq!(codes, ["empty-sync"], "no secret in that scope");
}

#[test]
fn one_typo_gives_one_diagnostic() {
    let set = "apiVersion: infisical-gitops.io/v1alpha1
kind: SecretSet
metadata: {name: web}
spec:
  project: platfrom
  environments: [prod, dev]
  path: /apps
  secrets:
    - key: A
      generate: {}
";
    let (state, diagnostics) = check(&documents(&[PROJECT, set]));
    assert!(state.is_none());
    let codes: Vec<&str> = diagnostics.iter().map(|d| d.code).collect();
    assert_eq!(codes, ["undeclared-project"]);
    assert_eq!(
        diagnostics.0[0].help.as_deref(),
        Some("did you mean `platform`?")
    );
}

#[test]
fn resync_intervals() {
    assert_eq!(parse_resync_interval("60s"), Some(60));
    assert_eq!(parse_resync_interval("5m"), Some(300));
    assert_eq!(parse_resync_interval("2w"), Some(1_209_600));
    assert_eq!(parse_resync_interval("1.5h"), None);
    assert_eq!(parse_resync_interval("m"), None);
    assert_eq!(parse_resync_interval("10"), None);
    assert_eq!(parse_resync_interval("10 s"), None);
    assert_eq!(parse_resync_interval("-5s"), None);
    assert_eq!(parse_resync_interval(""), None);
}

#[test]
fn references_in_literals_resolve_against_declared_secrets_only() {
    let secrets = "apiVersion: infisical-gitops.io/v1alpha1
kind: SecretSet
metadata: {name: refs}
spec:
  project: platform
  environments: [prod]
  secrets:
    - {key: DB_HOST, sensitive: false, value: db.internal}
    - {key: LOCAL, sensitive: false, value: '${DB_HOST}:5432'}
    - {key: ROOT, sensitive: false, value: '${prod.DB_HOST}'}
    - {key: MISSING, sensitive: false, value: '${prod.apps.web.NOPE} ${ not a reference }'}
    - {key: CROSS, sensitive: false, value: '${@other.prod.KEY}'}
    - {key: BAD, sensitive: false, value: '${@other.KEY}'}
";
    let (state, diagnostics) = check(&documents(&[PROJECT, secrets]));
    assert!(state.is_some(), "references never block: {diagnostics:?}");
    let found: Vec<(&str, &str)> = diagnostics
        .iter()
        .map(|d| (d.code, d.message.as_str()))
        .collect();
    assert_eq!(found.len(), 3, "{found:#?}");
    assert!(
        found
            .iter()
            .all(|(code, _)| *code == "unresolved-reference")
    );
    for expected in [
        "`${@other.KEY}`, which names no secret",
        "no secret `KEY` in `other/prod:/`",
        "no secret `NOPE` in `platform/prod:/apps/web`",
    ] {
        assert!(
            found.iter().any(|(_, m)| m.contains(expected)),
            "{expected}: {found:#?}"
        );
    }
}

#[test]
fn imports_are_kept_in_order_per_environment_and_references_still_resolve() {
    let shared = "apiVersion: infisical-gitops.io/v1alpha1
kind: SecretSet
metadata: {name: shared}
spec:
  project: platform
  environments: [dev, prod]
  secrets:
    - {key: DB_HOST, sensitive: false, value: db.internal}
";
    let api = "apiVersion: infisical-gitops.io/v1alpha1
kind: SecretSet
metadata: {name: api}
spec:
  project: platform
  environments: [prod]
  path: /apps/web/api
  imports:
    - {environment: prod}
    - {environment: dev, path: /}
  secrets:
    - {key: URL, sensitive: false, value: 'postgres://${prod.DB_HOST}'}
";
    let none = "apiVersion: infisical-gitops.io/v1alpha1
kind: SecretSet
metadata: {name: none}
spec:
  project: platform
  environments: [dev]
  imports: []
";
    let (state, diagnostics) = check(&documents(&[PROJECT, shared, api, none]));
    assert!(diagnostics.is_empty(), "{diagnostics:?}");
    let state = state.unwrap();
    let listed: Vec<(String, Vec<String>)> = state
        .imports
        .iter()
        .map(|(folder, imports)| {
            (
                folder.to_string(),
                imports
                    .iter()
                    .map(|i| format!("{}:{}", i.environment, i.path))
                    .collect(),
            )
        })
        .collect();
    assert_eq!(
        listed,
        vec![
            ("platform/dev:/".to_string(), vec![]),
            (
                "platform/prod:/apps/web/api".to_string(),
                vec!["prod:/".to_string(), "dev:/".to_string()]
            ),
        ]
    );
}

#[test]
fn references_per_value_are_bounded() {
    let many = "${A}".repeat(MAX_REFERENCES_PER_VALUE + 5);
    let secrets = format!(
        "apiVersion: infisical-gitops.io/v1alpha1
kind: SecretSet
metadata: {{name: refs}}
spec:
  project: platform
  environments: [prod]
  secrets:
    - {{key: A, sensitive: false, value: a}}
    - {{key: MANY, sensitive: false, value: '{many}'}}
"
    );
    let (_, diagnostics) = check(&documents(&[PROJECT, &secrets]));
    let codes: Vec<&str> = diagnostics.iter().map(|d| d.code).collect();
    assert_eq!(codes, ["too-many-references"]);
}

#[test]
fn uuids() {
    assert!(is_uuid("0f6a1c2e-3b4d-4e5f-8a9b-0c1d2e3f4a5b"));
    assert!(is_uuid("0F6A1C2E-3B4D-4E5F-8A9B-0C1D2E3F4A5B"));
    assert!(!is_uuid("0f6a1c2e3b4d4e5f8a9b0c1d2e3f4a5b"));
    assert!(!is_uuid("0f6a1c2e-3b4d-4e5f-8a9b-0c1d2e3f4a5g"));
}
