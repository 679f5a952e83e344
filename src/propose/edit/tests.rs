//! Each edit against the example repository: the exact diff (snapshot), and that the result
//! validates.

use std::path::Path;

use proptest::prelude::*;

use super::*;

fn example() -> Files {
    fn walk(root: &Path, dir: &Path, files: &mut Files) {
        let mut entries: Vec<_> = std::fs::read_dir(dir)
            .expect("example directory")
            .map(|e| e.expect("entry").path())
            .collect();
        entries.sort();
        for path in entries {
            if path.is_dir() {
                walk(root, &path, files);
            } else if path.extension().is_some_and(|e| e == "yaml") {
                let relative = path
                    .strip_prefix(root)
                    .expect("inside")
                    .to_string_lossy()
                    .replace('\\', "/");
                files.insert(relative, std::fs::read_to_string(&path).expect("read"));
            }
        }
    }
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("examples/desired-state");
    let mut files = Files::new();
    walk(&root, &root, &mut files);
    files
}

fn edits(json: serde_json::Value) -> Vec<Edit> {
    serde_json::from_value(json).expect("edits parse")
}

/// Applies, checks the result validates, and returns the diff.
fn diff_of(json: serde_json::Value) -> String {
    let before = example();
    let edited = apply(&before, &edits(json)).expect("edit applies");
    let mut after = before.clone();
    after.extend(edited.files.clone());
    let (state, diagnostics) = validate(&after);
    assert!(
        state.is_some(),
        "edited repository does not validate:\n{}",
        diagnostics
            .iter()
            .map(ToString::to_string)
            .collect::<Vec<_>>()
            .join("\n")
    );
    unified_diff(&before, &edited.files)
}

fn error_of(json: serde_json::Value) -> String {
    apply(&example(), &edits(json))
        .expect_err("edit is refused")
        .to_string()
}

#[test]
fn create_secret_appends_to_the_matching_set() {
    insta::assert_snapshot!(diff_of(serde_json::json!([{
        "op": "create_secret",
        "project": "k3s-infrastructure",
        "environments": ["prod"],
        "path": "/api-keys",
        "key": "GITHUB_TOKEN",
        "comment": "CI: release uploads",
        "tags": ["api-key"],
        "source": {"bitwarden": {"item": "6b1f0c3e-2a7d-4c59-9e48-1d3a5f7b9c99", "field": "password"}}
    }])));
}

#[test]
fn create_secret_without_a_matching_set_makes_a_new_file() {
    insta::assert_snapshot!(diff_of(serde_json::json!([
        {"op": "create_folder", "project": "mcp-servers", "path": "/home-assistant"},
        {
            "op": "create_secret",
            "project": "mcp-servers",
            "environments": ["prod"],
            "path": "/home-assistant",
            "key": "HA_TOKEN",
            "source": {"generate": {"length": 64, "charset": "hex"}}
        }
    ])));
}

#[test]
fn create_secret_for_other_environments_of_a_folder_gets_its_own_file() {
    insta::assert_snapshot!(diff_of(serde_json::json!([{
        "op": "create_secret",
        "project": "k3s-infrastructure",
        "environments": ["dev", "staging"],
        "key": "DEBUG_TOKEN",
        "source": {"bitwardenSecretsManager": {"secret": "9a8b7c6d-5e4f-4a3b-8c2d-1e0f9a8b7c77"}}
    }])));
}

#[test]
fn update_secret_replaces_only_the_named_fields() {
    insta::assert_snapshot!(diff_of(serde_json::json!([{
        "op": "update_secret",
        "project": "k3s-infrastructure",
        "path": "/api-keys",
        "key": "CLOUDFLARE_API_TOKEN",
        "comment": "DNS-01 challenges (cert-manager and external-dns)",
        "source": {"bitwarden": {"item": "6b1f0c3e-2a7d-4c59-9e48-1d3a5f7b9c44", "customField": "token"}}
    }])));
}

#[test]
fn update_secret_adds_missing_fields_after_the_key() {
    insta::assert_snapshot!(diff_of(serde_json::json!([{
        "op": "update_secret",
        "project": "k3s-infrastructure",
        "path": "/databases",
        "key": "POSTGRES_USER",
        "comment": "Application role",
        "tags": ["database"]
    }])));
}

#[test]
fn update_secret_from_a_literal_drops_sensitive_false() {
    insta::assert_snapshot!(diff_of(serde_json::json!([{
        "op": "update_secret",
        "project": "applications",
        "path": "/app-name-1",
        "key": "LOG_LEVEL",
        "source": {"generate": {}}
    }])));
}

#[test]
fn delete_secret_removes_exactly_its_lines() {
    insta::assert_snapshot!(diff_of(serde_json::json!([{
        "op": "delete_secret",
        "project": "k3s-infrastructure",
        "path": "/api-keys",
        "key": "BACKUP_S3_ACCESS_KEY_ID"
    }])));
}

#[test]
fn deleting_the_last_secret_leaves_an_empty_list() {
    let before = example();
    let all = [
        "WILDCARD_TLS_CRT",
        "WILDCARD_TLS_KEY",
        "RELEASE_SIGNING_KEY",
    ]
    .iter()
    .map(|key| {
        serde_json::json!({"op": "delete_secret", "project": "k3s-infrastructure",
                "path": "/certificates", "key": key})
    })
    .collect::<Vec<_>>();
    let edited = apply(&before, &edits(serde_json::Value::Array(all))).expect("applies");
    insta::assert_snapshot!(unified_diff(&before, &edited.files));
}

#[test]
fn move_secret_keeps_the_item_and_renames_it() {
    insta::assert_snapshot!(diff_of(serde_json::json!([{
        "op": "move_secret",
        "project": "k3s-infrastructure",
        "path": "/api-keys",
        "key": "SMTP_RELAY_PASSWORD",
        "toPath": "/databases",
        "toKey": "SMTP_PASSWORD"
    }])));
}

#[test]
fn create_project_writes_a_project_file() {
    insta::assert_snapshot!(diff_of(serde_json::json!([{
        "op": "create_project",
        "slug": "billing-service",
        "displayName": "Billing service",
        "description": "Payments: Stripe and the ledger database",
        "environments": [{"slug": "staging", "name": "Staging"}, {"slug": "prod", "name": "Production"}]
    }])));
}

#[test]
fn create_environment_appends_to_the_project() {
    insta::assert_snapshot!(diff_of(serde_json::json!([{
        "op": "create_environment",
        "project": "applications",
        "slug": "staging",
        "name": "Staging",
        "position": 2
    }])));
}

#[test]
fn create_folder_appends_to_the_project() {
    insta::assert_snapshot!(diff_of(serde_json::json!([{
        "op": "create_folder",
        "project": "k3s-infrastructure",
        "path": "/monitoring",
        "environments": ["prod"],
        "description": "Grafana and alerting"
    }])));
}

#[test]
fn add_kubernetes_sync_appends_a_document_to_the_syncs_file() {
    insta::assert_snapshot!(diff_of(serde_json::json!([{
        "op": "add_kubernetes_sync",
        "name": "smtp-relay",
        "project": "k3s-infrastructure",
        "environment": "prod",
        "path": "/api-keys",
        "namespace": "mail",
        "secretName": "smtp-relay",
        "template": {"password": "{{ .SMTP_RELAY_PASSWORD.Value }}"}
    }])));
}

#[test]
fn add_kubernetes_sync_without_a_syncs_file_writes_its_own() {
    let mut before = example();
    before.remove("kubernetes/syncs.yaml");
    let edited = apply(
        &before,
        &edits(serde_json::json!([{
            "op": "add_kubernetes_sync",
            "name": "mcp-gitlab",
            "project": "mcp-servers",
            "environment": "prod",
            "path": "/gitlab",
            "namespace": "mcp",
            "secretName": "gitlab-mcp"
        }])),
    )
    .expect("applies");
    insta::assert_snapshot!(unified_diff(&before, &edited.files));
}

#[test]
fn refusals_name_the_subject() {
    insta::assert_snapshot!(
        [
            error_of(
                serde_json::json!([{"op": "create_secret", "project": "k3s-infrastructure",
                "environments": ["prod"], "path": "/api-keys", "key": "CLOUDFLARE_API_TOKEN",
                "source": {"generate": {}}}])
            ),
            error_of(
                serde_json::json!([{"op": "delete_secret", "project": "k3s-infrastructure",
                "path": "/api-keys", "key": "NOPE"}])
            ),
            error_of(
                serde_json::json!([{"op": "update_secret", "project": "k3s-infrastructure",
                "environment": "prod", "key": "AUTH_SECRET", "comment": "x"}])
            ),
            error_of(
                serde_json::json!([{"op": "create_secret", "project": "k3s-infrastructure",
                "environments": ["prod"], "path": "/../etc", "key": "X",
                "source": {"generate": {}}}])
            ),
            error_of(
                serde_json::json!([{"op": "create_secret", "project": "k3s-infrastructure",
                "environments": ["prod"], "key": "BAD/KEY", "source": {"generate": {}}}])
            ),
            error_of(serde_json::json!([{"op": "create_project", "slug": "applications"}])),
            error_of(
                serde_json::json!([{"op": "create_environment", "project": "nowhere-project",
                "slug": "dev", "name": "Dev"}])
            ),
            error_of(
                serde_json::json!([{"op": "add_kubernetes_sync", "name": "app-name-1",
                "project": "applications", "environment": "prod", "namespace": "x",
                "secretName": "y"}])
            ),
            error_of(
                serde_json::json!([{"op": "add_kubernetes_sync", "name": "../../etc",
                "project": "applications", "environment": "prod", "namespace": "x",
                "secretName": "y"}])
            ),
            error_of(serde_json::json!([])),
        ]
        .join("\n")
    );
}

#[test]
fn a_plaintext_value_is_refused_without_echoing_it() {
    let request = serde_json::json!([{"op": "create_secret", "project": "k3s-infrastructure",
        "environments": ["prod"], "key": "LEAK", "value": "canary-3d1f-plaintext",
        "source": {"generate": {}}}]);
    let message = error_of(request);
    assert!(message.contains("values are never accepted"), "{message}");
    assert!(!message.contains("canary-3d1f-plaintext"));
    // No literal variant in the value sources.
    let literal = serde_json::json!({"op": "create_secret", "project": "k3s-infrastructure",
        "environments": ["prod"], "key": "LEAK", "source": {"value": "canary-3d1f-plaintext"}});
    let error = serde_json::from_value::<Edit>(literal).expect_err("no literal source");
    assert!(!error.to_string().contains("canary-3d1f-plaintext"));
}

#[test]
fn unknown_fields_and_operations_are_refused() {
    for json in [
        serde_json::json!({"op": "delete_secret", "project": "k3s-infrastructure", "key": "X", "bogus": 1}),
        serde_json::json!({"op": "drop_database", "project": "k3s-infrastructure"}),
        serde_json::json!({"op": "create_secret", "project": "k3s-infrastructure",
            "environments": ["prod"], "key": "X", "source": {"generate": {"lenght": 3}}}),
    ] {
        assert!(serde_json::from_value::<Edit>(json).is_err());
    }
}

#[test]
fn titles_describe_the_edits() {
    let list = edits(
        serde_json::json!([{"op": "create_secret", "project": "k3s-infrastructure",
        "environments": ["prod"], "path": "/api-keys", "key": "CLOUDFLARE_API_TOKEN",
        "source": {"generate": {}}}]),
    );
    assert_eq!(
        title_of(&list),
        "Add CLOUDFLARE_API_TOKEN to k3s-infrastructure/prod:/api-keys"
    );
}

/// Whether `small` is a subsequence of `large` (every line kept, in order).
fn is_subsequence(small: &[&str], large: &[&str]) -> bool {
    let mut iter = large.iter();
    small.iter().all(|line| iter.any(|l| l == line))
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(48))]

    /// Creating a secret in any existing set only adds lines; deleting any secret only removes
    /// lines; the result always validates.
    #[test]
    fn edits_never_lose_untouched_lines(set in 0usize..9, key in "[A-Z][A-Z0-9_]{0,20}", delete in any::<bool>()) {
        let before = example();
        let (_, diagnostics) = validate(&before);
        prop_assert!(!diagnostics.has_errors());
        let repo = editor_sets(&before);
        let (project, path, environments, existing) = &repo[set % repo.len()];
        let request = if delete {
            serde_json::json!([{"op": "delete_secret", "project": project, "path": path,
                "key": existing}])
        } else {
            let key = format!("NEW_{key}");
            serde_json::json!([{"op": "create_secret", "project": project, "path": path,
                "environments": environments, "key": key, "source": {"generate": {}}}])
        };
        let edited = apply(&before, &edits(request)).expect("applies");
        prop_assert_eq!(edited.files.len(), 1);
        for (file, text) in &edited.files {
            let old: Vec<&str> = before[file].lines().collect();
            let new: Vec<&str> = text.lines().collect();
            if delete {
                prop_assert!(is_subsequence(&new, &old));
                prop_assert!(new.len() < old.len());
            } else {
                prop_assert!(is_subsequence(&old, &new));
                prop_assert!(new.len() > old.len());
            }
        }
        let mut after = before.clone();
        after.extend(edited.files);
        let (state, _) = validate(&after);
        prop_assert!(state.is_some());
    }
}

/// (project, path, environments, first key) of every SecretSet in `files`.
fn editor_sets(files: &Files) -> Vec<(String, String, Vec<String>, String)> {
    let mut out = Vec::new();
    let mut diagnostics = crate::model::Diagnostics::default();
    for (path, text) in files {
        let file: std::sync::Arc<str> = path.as_str().into();
        for loaded in crate::source::load_str(
            &file,
            text,
            &crate::source::Limits::DEFAULT,
            &mut diagnostics,
        ) {
            if let crate::model::Document::SecretSet(set) = loaded.document
                && let Some(first) = set.spec.secrets.first()
            {
                out.push((
                    set.spec.project.value.clone(),
                    set.spec.path.value.clone(),
                    set.spec
                        .environments
                        .iter()
                        .map(|e| e.value.clone())
                        .collect(),
                    first.value.key.value.clone(),
                ));
            }
        }
    }
    out
}

/// A file written in other styles: zero-indented lists, quoted keys, comments everywhere,
/// blank lines between items, a folded scalar, a flow mapping, two documents in one file.
const TRICKY: &str = r#"# Everything about the tricky project.
apiVersion: infisical-gitops.io/v1alpha1
kind: Project
metadata:
  name: tricky-project
spec:
  environments:
  - slug: prod          # zero-indented list
    name: Production
  policy:
    prune: true
---
apiVersion: infisical-gitops.io/v1alpha1
kind: SecretSet
metadata:
  name: tricky
spec:
  project: tricky-project
  environments: [prod]
  secrets:
  # The database password, rotated quarterly.
  - key: "DB_PASSWORD"   # quoted key
    bitwarden:
      item: 6b1f0c3e-2a7d-4c59-9e48-1d3a5f7b9c01

  - key: API_TOKEN
    comment: >-
      A folded
      comment
    generate: {length: 40}
  # The end of the list.
"#;

fn tricky() -> Files {
    Files::from([("tricky.yaml".to_string(), TRICKY.to_string())])
}

fn tricky_diff(json: serde_json::Value) -> String {
    let before = tricky();
    let (state, diagnostics) = validate(&before);
    assert!(state.is_some(), "{diagnostics:?}");
    let edited = apply(&before, &edits(json)).expect("applies");
    let mut after = before.clone();
    after.extend(edited.files.clone());
    let (state, diagnostics) = validate(&after);
    assert!(state.is_some(), "{diagnostics:?}");
    unified_diff(&before, &edited.files)
}

#[test]
fn other_styles_keep_their_style() {
    insta::assert_snapshot!(tricky_diff(serde_json::json!([
        {"op": "create_secret", "project": "tricky-project", "environments": ["prod"],
         "key": "NEW_KEY", "source": {"generate": {}}},
        {"op": "delete_secret", "project": "tricky-project", "key": "DB_PASSWORD"},
        {"op": "update_secret", "project": "tricky-project", "key": "API_TOKEN",
         "comment": "Rotated by CI", "source": {"bitwardenSecretsManager": {"secret": "9a8b7c6d-5e4f-4a3b-8c2d-1e0f9a8b7c09"}}},
        {"op": "create_environment", "project": "tricky-project", "slug": "dev", "name": "Development"},
        {"op": "create_folder", "project": "tricky-project", "path": "/ci"}
    ])));
}

#[test]
fn crlf_files_stay_crlf() {
    let before = Files::from([("tricky.yaml".to_string(), TRICKY.replace('\n', "\r\n"))]);
    let edited = apply(
        &before,
        &edits(serde_json::json!([
            {"op": "create_secret", "project": "tricky-project", "environments": ["prod"],
             "key": "NEW_KEY", "source": {"generate": {}}},
            {"op": "delete_secret", "project": "tricky-project", "key": "DB_PASSWORD"}
        ])),
    )
    .expect("applies");
    let text = &edited.files["tricky.yaml"];
    assert_eq!(text.matches('\n').count(), text.matches("\r\n").count());
    assert_eq!(
        text.replace("\r\n", "\n"),
        apply(
            &tricky(),
            &edits(serde_json::json!([
                {"op": "create_secret", "project": "tricky-project", "environments": ["prod"],
                 "key": "NEW_KEY", "source": {"generate": {}}},
                {"op": "delete_secret", "project": "tricky-project", "key": "DB_PASSWORD"}
            ]))
        )
        .expect("applies")
        .files["tricky.yaml"]
    );
}

#[test]
fn a_moved_secret_takes_its_own_comments_along() {
    insta::assert_snapshot!(tricky_diff(serde_json::json!([
        {"op": "create_folder", "project": "tricky-project", "path": "/databases"},
        {"op": "move_secret", "project": "tricky-project", "key": "DB_PASSWORD",
         "toPath": "/databases", "toKey": "POSTGRES_PASSWORD"}
    ])));
}

#[test]
fn an_empty_or_missing_secrets_list_takes_a_new_secret() {
    let base = "apiVersion: infisical-gitops.io/v1alpha1\nkind: Project\nmetadata:\n  name: tricky-project\nspec:\n  environments:\n    - slug: prod\n---\napiVersion: infisical-gitops.io/v1alpha1\nkind: SecretSet\nmetadata:\n  name: empty\nspec:\n  project: tricky-project\n  environments: [prod]\n";
    let create = serde_json::json!([{"op": "create_secret", "project": "tricky-project",
        "environments": ["prod"], "key": "FIRST", "source": {"generate": {"length": 16}}}]);
    let mut diffs = Vec::new();
    for text in [
        format!("{base}  secrets: []  # none yet\n"),
        base.to_string(),
        format!("{base}  path: /\n"),
    ] {
        let before = Files::from([("a.yaml".to_string(), text)]);
        let edited = apply(&before, &edits(create.clone())).expect("applies");
        let mut after = before.clone();
        after.extend(edited.files.clone());
        assert!(validate(&after).0.is_some());
        diffs.push(unified_diff(&before, &edited.files));
    }
    insta::assert_snapshot!(diffs.join("\n"));
}

#[test]
fn update_secret_in_one_environment_and_removing_fields() {
    insta::assert_snapshot!(diff_of(serde_json::json!([{
        "op": "update_secret",
        "project": "applications",
        "environment": "prod",
        "path": "/app-name-1",
        "key": "DATABASE_PASSWORD",
        "comment": "Primary database",
        "tags": []
    }, {
        "op": "update_secret",
        "project": "k3s-infrastructure",
        "path": "/api-keys",
        "key": "CLOUDFLARE_API_TOKEN",
        "comment": ""
    }])));
}

#[test]
fn a_key_with_control_characters_is_refused_and_printed_escaped() {
    let error = error_of(serde_json::json!([{
        "op": "create_secret",
        "project": "k3s-infrastructure",
        "environments": ["prod"],
        "path": "/api-keys",
        "key": "AAA\n\n<!--",
        "source": {"generate": {}}
    }]));
    assert!(!error.contains('\n'), "{error}");
    assert!(error.contains("AAA\\n\\n<!--"), "{error}");
    assert!(
        error.contains("must not contain control or invisible characters"),
        "{error}"
    );
}
