//! Property: any valid model, serialised to YAML, loads back equal and validates.

use std::collections::BTreeMap;
use std::sync::Arc;

use infisical_gitops::model::check;
use infisical_gitops::model::diagnostics::Diagnostics;
use infisical_gitops::model::document::{
    API_VERSION, Adoption, BitwardenField, BitwardenSecretsManagerSpec, BitwardenSpec, Charset,
    Document, EnvironmentSpec, FolderSpec, GenerateSpec, Metadata, PolicySpec, ProjectDocument,
    ProjectSpec, SecretSetDocument, SecretSetSpec, SecretSpec,
};
use infisical_gitops::model::names::is_unprintable;
use infisical_gitops::model::span::Located;
use infisical_gitops::model::value::is_blank;
use infisical_gitops::source::{Limits, load_str};
use proptest::prelude::*;

fn located<T>(value: T) -> Located<T> {
    Located::unplaced(value)
}

/// Text that needs quoting in YAML now and then: indicators, quotes, leading spaces, unicode.
fn text() -> impl Strategy<Value = String> {
    prop_oneof![
        "[a-zA-Z0-9 ._-]{1,20}",
        "[ -~]{1,20}",
        "\\PC{1,12}",
        Just("yes".to_string()),
        Just("null".to_string()),
        Just("0123".to_string()),
        Just("- a: b # c".to_string()),
        Just("  padded  ".to_string()),
        Just("line one\nline two\n".to_string()),
    ]
}

/// Text that is a valid name: nothing that does not print (a line break, a bidirectional
/// override).
fn printable_text() -> impl Strategy<Value = String> {
    text().prop_filter("a name prints", |s| !s.chars().any(is_unprintable))
}

/// A metadata value Infisical stores unchanged: printable and not padded.
fn metadata_value() -> impl Strategy<Value = String> {
    printable_text().prop_filter("Infisical trims metadata", |s| s.trim() == s)
}

fn uuid() -> impl Strategy<Value = String> {
    "[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}"
}

fn source() -> impl Strategy<Value = SecretSpec> {
    prop_oneof![
        (
            uuid(),
            prop::option::of(prop_oneof![
                Just(BitwardenField::Password),
                Just(BitwardenField::Username),
                Just(BitwardenField::Notes),
                Just(BitwardenField::Totp),
            ])
        )
            .prop_map(|(item, field)| SecretSpec {
                bitwarden: Some(located(BitwardenSpec {
                    item: Some(located(item)),
                    field: field.map(located),
                    ..BitwardenSpec::default()
                })),
                ..SecretSpec::default()
            }),
        (
            printable_text().prop_filter("an item name is not blank", |s| !s.trim().is_empty()),
            uuid()
        )
            .prop_map(|(name, folder)| SecretSpec {
                bitwarden: Some(located(BitwardenSpec {
                    item_name: Some(located(name)),
                    folder: Some(located(folder)),
                    custom_field: Some(located("api-key".to_string())),
                    ..BitwardenSpec::default()
                })),
                ..SecretSpec::default()
            }),
        uuid().prop_map(|secret| SecretSpec {
            bitwarden_secrets_manager: Some(located(BitwardenSecretsManagerSpec {
                secret: located(secret),
            })),
            ..SecretSpec::default()
        }),
        (
            8u32..=4096,
            prop_oneof![
                Just(Charset::Hex),
                Just(Charset::Base64url),
                Just(Charset::Symbols)
            ]
        )
            .prop_map(|(length, charset)| SecretSpec {
                generate: Some(located(GenerateSpec {
                    length: Some(located(length)),
                    charset: Some(charset),
                    backup_to: None,
                })),
                ..SecretSpec::default()
            }),
        text()
            .prop_filter("a literal is not blank", |s| !is_blank(s))
            .prop_map(|value| SecretSpec {
                sensitive: Some(located(false)),
                value: Some(located(value)),
                ..SecretSpec::default()
            }),
    ]
}

fn secret() -> impl Strategy<Value = SecretSpec> {
    (
        source(),
        prop::option::of(text()),
        prop::collection::btree_set("[a-z][a-z0-9]{0,6}", 0..3),
        prop::collection::btree_map("[a-z][a-z0-9-]{0,8}", metadata_value(), 0..3),
    )
        .prop_map(|(mut secret, comment, tags, metadata)| {
            secret.comment = comment.map(located);
            secret.tags = tags.into_iter().map(located).collect();
            secret.metadata = metadata;
            secret
        })
}

fn metadata(name: String) -> Metadata {
    Metadata {
        name: located(name),
        labels: BTreeMap::new(),
        annotations: BTreeMap::new(),
    }
}

#[derive(Debug, Clone)]
struct Model {
    project: ProjectDocument,
    secret_sets: Vec<SecretSetDocument>,
}

fn model() -> impl Strategy<Value = Model> {
    (
        "[a-z][a-z0-9]{4,12}",
        prop::option::of(text()),
        prop::sample::subsequence(vec!["dev", "staging", "prod", "qa"], 1..=4),
        prop::collection::btree_set("/[a-z]{1,6}(/[a-z0-9_-]{1,6})?", 0..4),
        prop::collection::btree_map("[A-Z][A-Z0-9_]{0,10}", secret(), 1..8),
        any::<bool>(),
        prop::option::of(0u32..50),
    )
        .prop_map(
            |(slug, description, environments, folders, secrets, prune, max_deletions)| {
                let environments: Vec<String> =
                    environments.into_iter().map(str::to_owned).collect();
                let project = ProjectDocument {
                    api_version: located(API_VERSION.to_string()),
                    kind: located("Project".to_string()),
                    metadata: metadata(slug.clone()),
                    spec: ProjectSpec {
                        display_name: Some(located(format!("Project {slug}"))),
                        description: description.map(located),
                        environments: environments
                            .iter()
                            .map(|slug| {
                                located(EnvironmentSpec {
                                    slug: located(slug.clone()),
                                    name: Some(located(slug.to_uppercase())),
                                    position: None,
                                })
                            })
                            .collect(),
                        folders: folders
                            .iter()
                            .map(|path| {
                                located(FolderSpec {
                                    path: located(path.clone()),
                                    environments: None,
                                    description: None,
                                })
                            })
                            .collect(),
                        policy: Some(PolicySpec {
                            prune: Some(prune),
                            adoption: Some(Adoption::CreateOrAdopt),
                            max_deletions,
                            mode: None,
                        }),
                    },
                };
                let path = folders
                    .iter()
                    .next()
                    .cloned()
                    .unwrap_or_else(|| "/".to_string());
                let secret_set = SecretSetDocument {
                    api_version: located(API_VERSION.to_string()),
                    kind: located("SecretSet".to_string()),
                    metadata: metadata(format!("{slug}-secrets")),
                    spec: SecretSetSpec {
                        project: located(slug),
                        environments: environments.into_iter().map(located).collect(),
                        path: located(path),
                        secrets: secrets
                            .into_iter()
                            .map(|(key, mut secret)| {
                                secret.key = located(key);
                                located(secret)
                            })
                            .collect(),
                        imports: None,
                    },
                };
                Model {
                    project,
                    secret_sets: vec![secret_set],
                }
            },
        )
}

fn to_yaml(model: &Model) -> String {
    let mut out = serde_saphyr::to_string(&model.project).expect("serialise the project");
    for set in &model.secret_sets {
        out.push_str("---\n");
        out.push_str(&serde_saphyr::to_string(set).expect("serialise a secret set"));
    }
    out
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(200))]

    #[test]
    fn any_valid_model_round_trips(model in model()) {
        let yaml = to_yaml(&model);
        let file: Arc<str> = "model.yaml".into();
        let mut diagnostics = Diagnostics::default();
        let loaded = load_str(&file, &yaml, &Limits::DEFAULT, &mut diagnostics);
        prop_assert!(diagnostics.is_empty(), "{diagnostics:#?}\n{yaml}");
        prop_assert_eq!(loaded.len(), 1 + model.secret_sets.len());
        prop_assert_eq!(&loaded[0].document, &Document::Project(model.project.clone()));
        for (document, set) in loaded[1..].iter().zip(&model.secret_sets) {
            prop_assert_eq!(&document.document, &Document::SecretSet(set.clone()));
        }
        let (state, diagnostics) = check(&loaded);
        prop_assert!(!diagnostics.has_errors(), "{diagnostics:#?}\n{yaml}");
        let state = state.expect("a valid model builds");
        let environments = model.project.spec.environments.len();
        prop_assert_eq!(
            state.secret_count(),
            environments * model.secret_sets[0].spec.secrets.len()
        );
    }
}
