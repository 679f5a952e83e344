//! Response objects, with the field sets Infisical answers with.

use std::borrow::Cow;

use serde::Serialize;
use serde_json::{Number, Value, json};
use uuid::Uuid;

use super::store::{Environment, Folder, Project, Secret, Tag, iso};

/// The value Infisical puts in `secretValue` when the value is not shown.
pub(crate) const HIDDEN_VALUE: &str = "<hidden-by-infisical>";

/// `ProjectWithEnv` (with `_id` and `environments`) or `Project` (without).
pub(crate) fn project(project: &Project, organization_id: Uuid, with_environments: bool) -> Value {
    let mut object = json!({
        "id": project.id,
        "name": project.name,
        "slug": project.slug,
        "description": project.description,
        "type": project.kind,
        "defaultProduct": project.kind,
        "orgId": organization_id,
        "autoCapitalization": project.auto_capitalization,
        "version": 3,
        "upgradeStatus": null,
        "pitVersionLimit": 10,
        "kmsCertificateKeyId": null,
        "auditLogsRetentionDays": null,
        "hasDeleteProtection": project.has_delete_protection,
        "secretSharing": true,
        "showSnapshotsLegacy": false,
        "secretDetectionIgnoreValues": [],
        "createdAt": iso(project.created_at),
        "updatedAt": iso(project.updated_at),
    });
    if with_environments && let Value::Object(map) = &mut object {
        map.insert("_id".to_owned(), json!(project.id));
        let environments: Vec<Value> = project
            .environments
            .iter()
            .map(|env| json!({ "id": env.id, "name": env.name, "slug": env.slug }))
            .collect();
        map.insert("environments".to_owned(), Value::Array(environments));
    }
    object
}

/// `Env`.
pub(crate) fn environment(env: &Environment, project_id: Uuid) -> Value {
    json!({
        "id": env.id,
        "name": env.name,
        "slug": env.slug,
        "position": env.position,
        "projectId": project_id,
        "createdAt": iso(env.created_at),
        "updatedAt": iso(env.updated_at),
    })
}

/// `Folder`, plus the extra keys a route adds (`path`, `relativePath`, …).
pub(crate) fn folder(folder: &Folder, env_id: Uuid, extra: &[(&str, Value)]) -> Value {
    let mut object = json!({
        "id": folder.id,
        "name": folder.name,
        "version": folder.version,
        "createdAt": iso(folder.created_at),
        "updatedAt": iso(folder.updated_at),
        "envId": env_id,
        "parentId": folder.parent_id,
        "isReserved": false,
        "description": folder.description,
        "lastSecretModified": folder.last_secret_modified.map(iso),
    });
    if let Value::Object(map) = &mut object {
        for (key, value) in extra {
            map.insert((*key).to_owned(), value.clone());
        }
    }
    object
}

/// `Tag` as the tag routes answer it.
pub(crate) fn tag(tag: &Tag, project_id: Uuid) -> Value {
    json!({
        "id": tag.id,
        "slug": tag.slug,
        "color": tag.color,
        "projectId": project_id,
        "createdAt": iso(tag.created_at),
        "updatedAt": iso(tag.updated_at),
        "createdBy": null,
        "createdByActorType": "identity",
        "name": tag.slug,
    })
}

/// A secret's tag as secret routes answer it.
#[derive(Debug, Serialize)]
pub(crate) struct SecretTag<'a> {
    id: Uuid,
    slug: &'a str,
    color: Option<&'a str>,
    name: &'a str,
}

#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct SecretMetadata<'a> {
    key: &'a str,
    value: &'a str,
    is_encrypted: bool,
}

/// A secret, with exactly the fields of a v4 list item (§12). Borrows from the store, so a
/// listing of many secrets costs little more than its JSON.
#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct SecretView<'a> {
    #[serde(rename = "_id")]
    legacy_id: Uuid,
    id: Uuid,
    workspace: Uuid,
    environment: &'a str,
    secret_key: &'a str,
    secret_value: Cow<'a, str>,
    secret_value_hidden: bool,
    secret_comment: &'a str,
    secret_path: &'a str,
    secret_metadata: Vec<SecretMetadata<'a>>,
    tags: Vec<SecretTag<'a>>,
    #[serde(rename = "type")]
    kind: &'static str,
    version: u64,
    skip_multiline_encoding: bool,
    secret_reminder_note: Option<&'a str>,
    secret_reminder_repeat_days: Option<&'a Number>,
    is_rotated_secret: bool,
    rotation_id: Option<Uuid>,
    created_at: String,
    updated_at: String,
}

/// How a secret's value is shown.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum ValueMode {
    /// As stored.
    Raw,
    /// With references expanded.
    Expanded,
    /// Hidden (`viewSecretValue=false`).
    Hidden,
}

/// Renders a secret of `project`/`environment` at `path`.
pub(crate) fn secret<'a>(
    project: &'a Project,
    environment: &'a str,
    path: &'a str,
    secret: &'a Secret,
    mode: ValueMode,
) -> SecretView<'a> {
    let (value, hidden) = match mode {
        ValueMode::Raw => (Cow::Borrowed(secret.value.as_str()), false),
        ValueMode::Expanded => (
            Cow::Owned(super::store::expand_references(
                project,
                environment,
                path,
                &secret.value,
                0,
            )),
            false,
        ),
        ValueMode::Hidden => (Cow::Borrowed(HIDDEN_VALUE), true),
    };
    SecretView {
        legacy_id: secret.id,
        id: secret.id,
        workspace: project.id,
        environment,
        secret_key: &secret.key,
        secret_value: value,
        secret_value_hidden: hidden,
        secret_comment: &secret.comment,
        secret_path: path,
        secret_metadata: secret
            .metadata
            .iter()
            .map(|entry| SecretMetadata {
                key: &entry.key,
                value: &entry.value,
                is_encrypted: entry.is_encrypted,
            })
            .collect(),
        tags: secret
            .tag_ids
            .iter()
            .filter_map(|id| project.tag(*id))
            .map(|tag| SecretTag {
                id: tag.id,
                slug: &tag.slug,
                color: tag.color.as_deref(),
                name: &tag.slug,
            })
            .collect(),
        kind: "shared",
        version: secret.version,
        skip_multiline_encoding: secret.skip_multiline_encoding,
        secret_reminder_note: secret.reminder_note.as_deref(),
        secret_reminder_repeat_days: secret.reminder_repeat_days.as_ref(),
        is_rotated_secret: false,
        rotation_id: None,
        created_at: iso(secret.created_at),
        updated_at: iso(secret.updated_at),
    }
}

/// The answer of a secret listing, serialised straight from the borrowed views.
#[derive(Debug, Serialize)]
pub(crate) struct SecretList<'a> {
    pub(crate) secrets: Vec<SecretView<'a>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(crate) imports: Option<Vec<ImportedSecrets<'a>>>,
}

/// One entry of `imports` in a listing with `include_imports=true`: the secrets an import of a
/// listed folder makes visible, with those of the imported folder's own imports appended.
#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct ImportedSecrets<'a> {
    pub(crate) secret_path: &'a str,
    pub(crate) environment: &'a str,
    /// The imported folder; `null` when the path does not exist (any more).
    pub(crate) folder_id: Option<Uuid>,
    pub(crate) id: Uuid,
    /// The folder that declares the import.
    pub(crate) import_folder_id: Uuid,
    pub(crate) secrets: Vec<SecretView<'a>>,
}

/// The `SecretApprovalRequest` answered (with HTTP 200) instead of a write under a policy.
pub(crate) fn approval(policy_id: Uuid, folder_id: Uuid) -> Value {
    let now = iso(super::store::now_millis());
    let id = Uuid::new_v4();
    json!({
        "approval": {
            "id": id,
            "policyId": policy_id,
            "folderId": folder_id,
            "slug": format!("change-{}", &id.simple().to_string()[..8]),
            "status": "open",
            "hasMerged": false,
            "conflicts": [],
            "isReplicated": false,
            "committerUserId": null,
            "statusChangedByUserId": null,
            "bypassReason": null,
            "createdAt": now,
            "updatedAt": now,
        }
    })
}
