//! The read tools' answers, computed from a checked [`DesiredState`]. Pure: no IO.
//!
//! Everything here describes what the repository *declares*: names, comments, tags, where each
//! value comes from (a Bitwarden item and field, a Bitwarden Secrets Manager secret, a
//! `generate` rule) and where it is declared. Values never appear, not even non-sensitive
//! literals (they are reported as `{"kind": "literal", "sensitive": false}`).

use schemars::JsonSchema;
use serde::Deserialize;
use serde_json::{Value, json};

use crate::model::document::{BitwardenField, OperatorApi, SyncTargetKind};
use crate::model::{
    Address, BitwardenFieldRef, BitwardenItem, DesiredSecret, DesiredState, FolderPath,
    KubernetesSync, Origin, Project, SecretSource,
};
use crate::plan::ownership::{MARKER_KEY, MARKER_LINE, MARKER_VALUE};

/// Arguments of `list_environments`.
#[derive(Debug, Clone, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub(crate) struct ProjectArgs {
    /// The project slug, e.g. `k3s-infrastructure` (see `list_projects`).
    pub project: String,
}

/// Arguments of `list_folders`.
#[derive(Debug, Clone, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub(crate) struct FolderArgs {
    /// The project slug.
    pub project: String,
    /// Only this environment (slug). Default: every environment.
    #[serde(default)]
    pub environment: Option<String>,
}

/// Arguments of `list_secrets`.
#[derive(Debug, Clone, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub(crate) struct SecretArgs {
    /// The project slug.
    pub project: String,
    /// Only this environment (slug). Default: every environment.
    #[serde(default)]
    pub environment: Option<String>,
    /// Only this folder path, e.g. `/databases`. Default: every folder.
    #[serde(default)]
    pub path: Option<String>,
    /// With `path`: include sub-folders.
    #[serde(default)]
    pub recursive: bool,
}

/// Arguments of `explain_secret`.
#[derive(Debug, Clone, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub(crate) struct ExplainArgs {
    /// The project slug.
    pub project: String,
    /// The secret key, e.g. `POSTGRES_PASSWORD`.
    pub key: String,
    /// Only this environment (slug). Default: every environment that declares the key.
    #[serde(default)]
    pub environment: Option<String>,
    /// Only this folder path. Default: every folder that declares the key.
    #[serde(default)]
    pub path: Option<String>,
}

/// A read tool that cannot answer: the message names the subject.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ReadError {
    /// No such project in the repository.
    #[error("project `{project}` is not declared in the repository{hint}")]
    UnknownProject {
        /// The slug asked for.
        project: String,
        /// ` (did you mean …?)` or the declared projects.
        hint: String,
    },
    /// No such environment in the project.
    #[error("environment `{environment}` is not declared in project `{project}`{hint}")]
    UnknownEnvironment {
        /// The project.
        project: String,
        /// The slug asked for.
        environment: String,
        /// The declared environments.
        hint: String,
    },
    /// Not a folder path.
    #[error("`{0}` is not a folder path (absolute, e.g. `/databases`)")]
    BadPath(String),
    /// No secret with that key.
    #[error("no secret `{key}` is declared in project `{project}`{scope}")]
    UnknownSecret {
        /// The project.
        project: String,
        /// The key.
        key: String,
        /// ` in prod:/x` when filtered.
        scope: String,
    },
}

fn origin(origin: &Origin) -> String {
    origin.to_string()
}

fn project<'a>(state: &'a DesiredState, slug: &str) -> Result<&'a Project, ReadError> {
    state
        .projects
        .values()
        .find(|p| p.slug.as_str() == slug)
        .ok_or_else(|| {
            let names: Vec<&str> = state.projects.keys().map(|p| p.as_str()).collect();
            ReadError::UnknownProject {
                project: slug.chars().take(100).collect(),
                hint: hint(slug, &names),
            }
        })
}

fn hint(given: &str, names: &[&str]) -> String {
    match crate::model::diagnostics::did_you_mean(given, names.iter().copied()) {
        Some(best) => format!(" (did you mean `{best}`?)"),
        None if names.is_empty() => String::new(),
        None => format!(" (declared: {})", names.join(", ")),
    }
}

fn check_environment(project: &Project, environment: Option<&str>) -> Result<(), ReadError> {
    let Some(environment) = environment else {
        return Ok(());
    };
    if project
        .environments
        .iter()
        .any(|e| e.slug.as_str() == environment)
    {
        return Ok(());
    }
    let names: Vec<&str> = project
        .environments
        .iter()
        .map(|e| e.slug.as_str())
        .collect();
    Err(ReadError::UnknownEnvironment {
        project: project.slug.to_string(),
        environment: environment.chars().take(100).collect(),
        hint: hint(environment, &names),
    })
}

fn folder_path(path: Option<&str>) -> Result<Option<FolderPath>, ReadError> {
    path.map(|p| FolderPath::new(p).map_err(|_| ReadError::BadPath(p.chars().take(100).collect())))
        .transpose()
}

/// `list_projects`.
pub(crate) fn list_projects(state: &DesiredState) -> Value {
    let projects: Vec<Value> = state
        .projects
        .values()
        .map(|p| {
            json!({
                "slug": p.slug.as_str(),
                "name": p.name,
                "description": p.description,
                "environments": p.environments.iter().map(|e| e.slug.as_str()).collect::<Vec<_>>(),
                "secrets": state.secrets_of(&p.slug).count(),
                "policy": {
                    "prune": p.policy.prune,
                    "adoption": p.policy.adoption,
                    "maxDeletions": p.policy.max_deletions,
                    "mode": p.policy.mode,
                },
                "declaredIn": origin(&p.origin),
            })
        })
        .collect();
    json!({ "projects": projects })
}

/// `list_environments`.
pub(crate) fn list_environments(
    state: &DesiredState,
    args: &ProjectArgs,
) -> Result<Value, ReadError> {
    let project = project(state, &args.project)?;
    let environments: Vec<Value> = project
        .environments
        .iter()
        .map(|e| {
            json!({
                "slug": e.slug.as_str(),
                "name": e.name,
                "position": e.position,
                "declaredIn": origin(&e.origin),
            })
        })
        .collect();
    Ok(json!({ "project": project.slug.as_str(), "environments": environments }))
}

/// `list_folders`.
pub(crate) fn list_folders(state: &DesiredState, args: &FolderArgs) -> Result<Value, ReadError> {
    let project = project(state, &args.project)?;
    check_environment(project, args.environment.as_deref())?;
    let mut folders = Vec::new();
    for environment in &project.environments {
        if args
            .environment
            .as_deref()
            .is_some_and(|e| e != environment.slug.as_str())
        {
            continue;
        }
        let Some(declared) = project.folders.get(&environment.slug) else {
            continue;
        };
        for (path, folder) in declared {
            let mut entry = json!({
                "environment": environment.slug.as_str(),
                "path": path.as_str(),
                "description": folder.description,
                "declared": folder.declared,
                "declaredIn": origin(&folder.origin),
            });
            // Secret imports, in position order, where the repository manages them.
            let address =
                Address::Folder(project.slug.clone(), environment.slug.clone(), path.clone());
            if let Some(imports) = state.imports.get(&address) {
                entry["imports"] = imports
                    .iter()
                    .map(|import| {
                        json!({
                            "environment": import.environment.as_str(),
                            "path": import.path.as_str(),
                            "declaredIn": origin(&import.origin),
                        })
                    })
                    .collect();
            }
            folders.push(entry);
        }
    }
    Ok(json!({ "project": project.slug.as_str(), "folders": folders }))
}

/// Where a value comes from, as JSON, without the value.
pub(crate) fn source_json(source: &SecretSource) -> Value {
    match source {
        SecretSource::Bitwarden(reference) => {
            let mut out = json!({ "kind": "bitwarden" });
            match &reference.item {
                BitwardenItem::Id(id) => out["item"] = json!(id),
                BitwardenItem::Name {
                    name,
                    folder,
                    collection,
                } => {
                    out["itemName"] = json!(name);
                    if let Some(folder) = folder {
                        out["folder"] = json!(folder);
                    }
                    if let Some(collection) = collection {
                        out["collection"] = json!(collection);
                    }
                }
            }
            match &reference.field {
                BitwardenFieldRef::Builtin { field, uri_index } => {
                    out["field"] = json!(field);
                    if *field == BitwardenField::Uri {
                        out["uriIndex"] = json!(uri_index);
                    }
                }
                BitwardenFieldRef::Custom(name) => out["customField"] = json!(name),
            }
            out
        }
        SecretSource::BitwardenSecretsManager { secret } => {
            json!({ "kind": "bitwardenSecretsManager", "secret": secret })
        }
        SecretSource::Generate(rule) => json!({
            "kind": "generate",
            "length": rule.length,
            "charset": rule.charset,
            "backupTo": rule.backup_to,
        }),
        SecretSource::Literal(_) => json!({ "kind": "literal", "sensitive": false }),
    }
}

fn secret_json(address: &Address, secret: &DesiredSecret) -> Value {
    let (environment, path) = match address {
        Address::Secret(_, environment, path, _) => (environment.as_str(), path.as_str()),
        _ => ("", "/"),
    };
    json!({
        "address": address.exact(),
        "environment": environment,
        "path": path,
        "key": secret.key.as_str(),
        "comment": secret.comment,
        "tags": secret.tags.iter().map(|t| t.as_str()).collect::<Vec<_>>(),
        "metadataKeys": secret.metadata.keys().collect::<Vec<_>>(),
        "source": source_json(&secret.source),
        "sourceDescription": secret.source.describe(),
        "ownership": { "metadata": { MARKER_KEY: MARKER_VALUE } },
        "declaredIn": origin(&secret.origin),
    })
}

fn in_scope(
    address: &Address,
    environment: Option<&str>,
    path: Option<&FolderPath>,
    recursive: bool,
) -> bool {
    if environment.is_some_and(|e| address.environment().map(|x| x.as_str()) != Some(e)) {
        return false;
    }
    match (path, address.folder()) {
        (None, _) => true,
        (Some(wanted), Some(folder)) if recursive => folder.starts_with(wanted),
        (Some(wanted), Some(folder)) => folder == wanted,
        (Some(_), None) => false,
    }
}

/// `list_secrets`.
pub(crate) fn list_secrets(state: &DesiredState, args: &SecretArgs) -> Result<Value, ReadError> {
    let project = project(state, &args.project)?;
    check_environment(project, args.environment.as_deref())?;
    let path = folder_path(args.path.as_deref())?;
    let secrets: Vec<Value> = state
        .secrets_of(&project.slug)
        .filter(|(address, _)| {
            in_scope(
                address,
                args.environment.as_deref(),
                path.as_ref(),
                args.recursive,
            )
        })
        .map(|(address, secret)| secret_json(address, secret))
        .collect();
    Ok(json!({
        "project": project.slug.as_str(),
        "ownershipMarker": {
            "secrets": format!("metadata {MARKER_KEY}: {MARKER_VALUE}"),
            "projectsAndFolders": format!("a last description line `{MARKER_LINE}`"),
        },
        "secrets": secrets,
    }))
}

/// Whether a sync's scope includes a secret at `address` (one entry per target that receives
/// it), and whether each target's template reads the key (a template without
/// `includeAllSecrets` sends only the keys it names).
fn sync_covers(sync: &KubernetesSync, address: &Address, key: &str) -> Vec<Value> {
    let covered = sync.spec.all_sources().any(|source| {
        if address.project().as_str() != source.project.as_str()
            || address.environment().map(|e| e.as_str()) != Some(source.environment.as_str())
        {
            return false;
        }
        let (Some(folder), Ok(scope)) = (address.folder(), FolderPath::new(source.path.as_str()))
        else {
            return false;
        };
        if source.recursive {
            folder.starts_with(&scope)
        } else {
            folder == &scope
        }
    });
    if !covered {
        return Vec::new();
    }
    let operator_api = match sync.spec.operator_api.unwrap_or_default() {
        OperatorApi::V1alpha1 => "v1alpha1",
        OperatorApi::V1beta1 => "v1beta1",
    };
    let resource_namespace = crate::manifest::build::object_namespace(sync);
    sync.spec
        .all_targets()
        .map(|target| {
            let (as_keys, sent) = match &target.template {
                Some(template) if !template.data.is_empty() => {
                    let needle = format!(".{key}.");
                    let keys: Vec<&String> = template
                        .data
                        .iter()
                        .filter(|(_, text)| text.contains(&needle))
                        .map(|(output, _)| output)
                        .collect();
                    let sent = template.include_all_secrets || !keys.is_empty();
                    (keys.into_iter().cloned().collect::<Vec<_>>(), sent)
                }
                _ => (vec![key.to_string()], true),
            };
            let kind = match target.kind.unwrap_or_default() {
                SyncTargetKind::Secret => "Secret",
                SyncTargetKind::ConfigMap => "ConfigMap",
            };
            json!({
                "name": sync.name,
                "sent": sent,
                "namespace": target.namespace.as_str(),
                "kind": kind,
                "targetName": target.name.as_str(),
                "asKeys": as_keys,
                "operatorApi": operator_api,
                "operatorResourceNamespace": resource_namespace,
                "declaredIn": origin(&sync.origin),
            })
        })
        .collect()
}

/// `explain_secret`.
pub(crate) fn explain_secret(state: &DesiredState, args: &ExplainArgs) -> Result<Value, ReadError> {
    let project = project(state, &args.project)?;
    check_environment(project, args.environment.as_deref())?;
    let path = folder_path(args.path.as_deref())?;
    let mut places = Vec::new();
    for (address, secret) in state.secrets_of(&project.slug) {
        if secret.key.as_str() != args.key
            || !in_scope(address, args.environment.as_deref(), path.as_ref(), false)
        {
            continue;
        }
        let syncs: Vec<Value> = state
            .kubernetes_syncs
            .values()
            .flat_map(|sync| sync_covers(sync, address, &args.key))
            .collect();
        let (environment, folder) = match address {
            Address::Secret(_, environment, folder, _) => (environment.as_str(), folder.as_str()),
            _ => ("", "/"),
        };
        places.push(json!({
            "address": address.exact(),
            "valueSource": source_json(&secret.source),
            "valueSourceDescription": secret.source.describe(),
            "infisical": {
                "project": project.slug.as_str(),
                "projectName": project.name,
                "environment": environment,
                "secretPath": folder,
                "secretKey": secret.key.as_str(),
                "comment": secret.comment,
                "tags": secret.tags.iter().map(|t| t.as_str()).collect::<Vec<_>>(),
                "ownershipMetadata": { MARKER_KEY: MARKER_VALUE },
                "policyMode": project.policy.mode,
            },
            "declaredIn": origin(&secret.origin),
            "kubernetesSyncs": syncs,
        }));
    }
    if places.is_empty() {
        let scope = match (&args.environment, &args.path) {
            (None, None) => String::new(),
            (environment, path) => format!(
                " in {}:{}",
                environment.as_deref().unwrap_or("*"),
                path.as_deref().unwrap_or("*")
            ),
        };
        return Err(ReadError::UnknownSecret {
            project: project.slug.to_string(),
            key: args.key.chars().take(100).collect(),
            scope,
        });
    }
    Ok(json!({ "key": args.key, "project": project.slug.as_str(), "declarations": places }))
}
