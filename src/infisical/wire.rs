//! Wire shapes of the Infisical REST API (see `docs/infisical-client.md` and the API reference).
//!
//! Responses: only the fields the client uses are declared, everything beyond the documented
//! required fields is optional, unknown fields are ignored, so older and newer servers both
//! decode. Secret values are wrapped into [`SecretValue`] while decoding; they never exist as a
//! plain `String` field of a response type.
//!
//! Requests borrow from the domain types; a value is exposed only into the serialized body.

use serde::{Deserialize, Deserializer, Serialize};

use crate::model::SecretValue;

use super::api::{
    RemoteEnvironment, RemoteFolder, RemoteProject, RemoteSecret, RemoteTag, SecretWrite,
};

// ---------------------------------------------------------------------------------------------
// Helpers

/// Decodes a JSON string straight into a [`SecretValue`].
fn secret_value<'de, D: Deserializer<'de>>(d: D) -> Result<Option<SecretValue>, D::Error> {
    Ok(Option::<String>::deserialize(d)?.map(SecretValue::new))
}

/// Decodes a JSON string straight into a [`secrecy::SecretString`].
fn secret_string<'de, D: Deserializer<'de>>(d: D) -> Result<secrecy::SecretString, D::Error> {
    Ok(secrecy::SecretString::from(String::deserialize(d)?))
}

/// `null` → default.
fn null_default<'de, D, T>(d: D) -> Result<T, D::Error>
where
    D: Deserializer<'de>,
    T: Deserialize<'de> + Default,
{
    Ok(Option::<T>::deserialize(d)?.unwrap_or_default())
}

// ---------------------------------------------------------------------------------------------
// Errors (§7.1)

/// The error body every handled error carries.
#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ErrorBody {
    /// Server request id.
    #[serde(default)]
    pub req_id: Option<String>,
    /// A string, or for 422 an array of zod issues.
    #[serde(default)]
    pub message: Option<serde_json::Value>,
    /// The error's name (`TokenError`, `PermissionDenied`, `ValidationFailure`, …).
    #[serde(default)]
    pub error: Option<String>,
}

impl ErrorBody {
    /// The message as a list of human-readable issues (`path: message` for zod issues).
    pub fn issues(&self) -> Vec<String> {
        match &self.message {
            None | Some(serde_json::Value::Null) => Vec::new(),
            Some(serde_json::Value::String(text)) => vec![text.clone()],
            Some(serde_json::Value::Array(items)) => items.iter().map(describe_issue).collect(),
            Some(other) => vec![other.to_string()],
        }
    }
}

fn describe_issue(issue: &serde_json::Value) -> String {
    let Some(object) = issue.as_object() else {
        return issue
            .as_str()
            .map_or_else(|| issue.to_string(), str::to_string);
    };
    let message = object
        .get("message")
        .and_then(serde_json::Value::as_str)
        .unwrap_or("invalid");
    let path: Vec<String> = object
        .get("path")
        .and_then(serde_json::Value::as_array)
        .map(|segments| {
            segments
                .iter()
                .map(|s| s.as_str().map_or_else(|| s.to_string(), str::to_string))
                .collect()
        })
        .unwrap_or_default();
    if path.is_empty() {
        message.to_string()
    } else {
        format!("{}: {message}", path.join("."))
    }
}

// ---------------------------------------------------------------------------------------------
// Auth (§1)

/// `POST /api/v1/auth/universal-auth/login` body (`Debug` redacts).
#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
pub struct LoginRequest<'a> {
    /// Client id.
    pub client_id: &'a str,
    /// Client secret.
    pub client_secret: &'a str,
}

/// `POST /api/v1/auth/token/renew` body (`Debug` redacts).
#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
pub struct RenewRequest<'a> {
    /// The token to renew.
    pub access_token: &'a str,
}

impl std::fmt::Debug for LoginRequest<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("LoginRequest(<redacted>)")
    }
}

impl std::fmt::Debug for RenewRequest<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("RenewRequest(<redacted>)")
    }
}

/// Login and renew answers.
#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct TokenResponse {
    /// The bearer token.
    #[serde(deserialize_with = "secret_string")]
    pub access_token: secrecy::SecretString,
    /// Seconds until it expires.
    #[serde(default)]
    pub expires_in: Option<u64>,
    /// Seconds from creation until it can no longer be renewed.
    #[serde(default, rename = "accessTokenMaxTTL")]
    pub access_token_max_ttl: Option<u64>,
}

impl std::fmt::Debug for TokenResponse {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TokenResponse")
            .field("access_token", &"<redacted>")
            .field("expires_in", &self.expires_in)
            .field("access_token_max_ttl", &self.access_token_max_ttl)
            .finish()
    }
}

// ---------------------------------------------------------------------------------------------
// Projects and environments (§2, §3)

/// An environment as embedded in a project or returned by the environment routes.
#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct EnvironmentWire {
    /// Id.
    pub id: String,
    /// Display name.
    #[serde(default)]
    pub name: String,
    /// Slug.
    pub slug: String,
    /// Position (environment routes only).
    #[serde(default)]
    pub position: Option<u32>,
}

impl From<EnvironmentWire> for RemoteEnvironment {
    fn from(wire: EnvironmentWire) -> Self {
        RemoteEnvironment {
            id: wire.id,
            slug: wire.slug,
            name: wire.name,
            position: wire.position,
        }
    }
}

/// `ProjectWithEnv` / `Project`.
#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ProjectWire {
    /// Id.
    pub id: String,
    /// Slug.
    pub slug: String,
    /// Name.
    #[serde(default)]
    pub name: String,
    /// Description.
    #[serde(default)]
    pub description: Option<String>,
    /// Environments (absent on update/delete answers).
    #[serde(default, deserialize_with = "null_default")]
    pub environments: Vec<EnvironmentWire>,
}

impl From<ProjectWire> for RemoteProject {
    fn from(wire: ProjectWire) -> Self {
        RemoteProject {
            id: wire.id,
            slug: wire.slug,
            name: wire.name,
            description: wire.description,
            environments: wire.environments.into_iter().map(Into::into).collect(),
        }
    }
}

/// `{ "projects": [...] }`.
#[derive(Debug, Deserialize)]
pub struct ProjectsEnvelope {
    /// Projects.
    pub projects: Vec<ProjectWire>,
}

/// `{ "project": ... }`.
#[derive(Debug, Deserialize)]
pub struct ProjectEnvelope {
    /// Project.
    pub project: ProjectWire,
}

/// `POST /api/v1/projects` body.
#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct CreateProjectRequest<'a> {
    /// Name.
    pub project_name: &'a str,
    /// Slug.
    pub slug: &'a str,
    /// Description.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub project_description: Option<&'a str>,
    /// Always `secret-manager`.
    #[serde(rename = "type")]
    pub kind: &'a str,
    /// Whether the template's environments are created.
    pub should_create_default_envs: bool,
}

/// `PATCH /api/v1/projects/{id}` body.
#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct UpdateProjectRequest<'a> {
    /// New name.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub name: Option<&'a str>,
    /// New description.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub description: Option<&'a str>,
}

/// `{ "environment": ... }` (create, update, delete and get answers).
#[derive(Debug, Deserialize)]
pub struct EnvironmentEnvelope {
    /// Environment.
    pub environment: EnvironmentWire,
}

/// Environment create and update body.
#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct EnvironmentRequest<'a> {
    /// Name.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub name: Option<&'a str>,
    /// Slug.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub slug: Option<&'a str>,
    /// Position.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub position: Option<u32>,
}

// ---------------------------------------------------------------------------------------------
// Folders (§4)

/// A folder.
#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct FolderWire {
    /// Id.
    pub id: String,
    /// Name.
    pub name: String,
    /// Parent id (`null` for an environment root).
    #[serde(default)]
    pub parent_id: Option<String>,
    /// Description.
    #[serde(default)]
    pub description: Option<String>,
    /// Absolute path (create/update/get answers only).
    #[serde(default)]
    pub path: Option<String>,
}

/// `{ "folders": [...] }`.
#[derive(Debug, Deserialize)]
pub struct FoldersEnvelope {
    /// Folders.
    pub folders: Vec<FolderWire>,
}

/// `{ "folder": ... }`.
#[derive(Debug, Deserialize)]
pub struct FolderEnvelope {
    /// Folder.
    pub folder: FolderWire,
}

/// `POST /api/v2/folders` and `PATCH /api/v2/folders/{id}` body.
#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct FolderRequest<'a> {
    /// Project id.
    pub project_id: &'a str,
    /// Environment slug.
    pub environment: &'a str,
    /// Folder name (new name on update).
    pub name: &'a str,
    /// Parent path.
    pub path: &'a str,
    /// Description.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub description: Option<&'a str>,
}

/// `DELETE /api/v2/folders/{idOrName}` body.
#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct DeleteFolderRequest<'a> {
    /// Project id.
    pub project_id: &'a str,
    /// Environment slug.
    pub environment: &'a str,
    /// Parent path.
    pub path: &'a str,
    /// Delete even when not empty.
    pub force_delete: bool,
}

// ---------------------------------------------------------------------------------------------
// Secrets (§5)

/// A tag as embedded in a secret or returned by the tag routes.
#[derive(Debug, Deserialize)]
pub struct TagWire {
    /// Id.
    pub id: String,
    /// Slug.
    pub slug: String,
}

impl From<TagWire> for RemoteTag {
    fn from(wire: TagWire) -> Self {
        RemoteTag {
            id: wire.id,
            slug: wire.slug,
        }
    }
}

/// One metadata pair.
#[derive(Debug, Deserialize)]
pub struct MetadataWire {
    /// Key.
    pub key: String,
    /// Value.
    #[serde(default, deserialize_with = "null_default")]
    pub value: String,
}

/// `SecretRaw` (+ `secretPath`, `secretValueHidden`, `tags`, `secretMetadata`).
#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct SecretWire {
    /// Id.
    pub id: String,
    /// Key.
    pub secret_key: String,
    /// Value (wrapped at once).
    #[serde(default, deserialize_with = "secret_value")]
    pub secret_value: Option<SecretValue>,
    /// True when the caller may not read the value.
    #[serde(default, deserialize_with = "null_default")]
    pub secret_value_hidden: bool,
    /// Comment.
    #[serde(default, deserialize_with = "null_default")]
    pub secret_comment: String,
    /// Folder path.
    #[serde(default)]
    pub secret_path: Option<String>,
    /// Version.
    #[serde(default)]
    pub version: Option<u64>,
    /// `shared` or `personal`.
    #[serde(default, rename = "type")]
    pub kind: Option<String>,
    /// Tags.
    #[serde(default, deserialize_with = "null_default")]
    pub tags: Vec<TagWire>,
    /// Metadata.
    #[serde(default, deserialize_with = "null_default")]
    pub secret_metadata: Vec<MetadataWire>,
}

impl SecretWire {
    /// Converts to the domain type; `default_path` when the answer does not carry `secretPath`.
    pub fn into_remote(self, default_path: &str) -> RemoteSecret {
        RemoteSecret {
            id: self.id,
            key: self.secret_key,
            value: if self.secret_value_hidden {
                None
            } else {
                self.secret_value
            },
            comment: self.secret_comment,
            path: self
                .secret_path
                .map_or_else(|| default_path.to_string(), |p| normalize_path(&p)),
            tags: self.tags.into_iter().map(Into::into).collect(),
            metadata: self
                .secret_metadata
                .into_iter()
                .map(|m| (m.key, m.value))
                .collect(),
            version: self.version.unwrap_or(0),
        }
    }

    /// Whether this is a personal override (the reconciler only handles shared secrets).
    pub fn is_personal(&self) -> bool {
        self.kind.as_deref() == Some("personal")
    }
}

/// `{ "secrets": [...] }` (list and batch answers).
#[derive(Debug, Deserialize)]
pub struct SecretsEnvelope {
    /// Secrets.
    pub secrets: Vec<SecretWire>,
}

/// `{ "secret": ... }`.
#[derive(Debug, Deserialize)]
pub struct SecretEnvelope {
    /// Secret.
    pub secret: SecretWire,
}

/// A write answer: the secrets, or a change-approval request (nothing written).
#[derive(Debug, Deserialize)]
pub struct WriteEnvelope {
    /// Batch answers.
    #[serde(default)]
    pub secrets: Option<Vec<SecretWire>>,
    /// Single-secret answers.
    #[serde(default)]
    pub secret: Option<SecretWire>,
    /// Present when the path is under an approval policy.
    #[serde(default)]
    pub approval: Option<ApprovalWire>,
}

/// The approval request (only its id is read).
#[derive(Debug, Deserialize)]
pub struct ApprovalWire {
    /// Id.
    #[serde(default)]
    pub id: Option<String>,
}

/// One metadata pair on write.
#[derive(Debug, Serialize)]
pub struct MetadataRequest<'a> {
    /// Key.
    pub key: &'a str,
    /// Value.
    pub value: &'a str,
}

/// One item of a batch create or update.
#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
pub struct SecretItemRequest<'a> {
    /// Key.
    pub secret_key: &'a str,
    /// Value.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub secret_value: Option<&'a str>,
    /// Comment.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub secret_comment: Option<&'a str>,
    /// Tag ids.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub tag_ids: Option<&'a [String]>,
    /// Metadata.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub secret_metadata: Option<Vec<MetadataRequest<'a>>>,
}

impl<'a> SecretItemRequest<'a> {
    /// Borrows a domain write.
    pub fn from_write(write: &'a SecretWrite) -> Self {
        SecretItemRequest {
            secret_key: &write.key,
            secret_value: write.value.as_ref().map(SecretValue::expose),
            secret_comment: write.comment.as_deref(),
            tag_ids: write.tag_ids.as_deref(),
            secret_metadata: write.metadata.as_ref().map(|pairs| {
                pairs
                    .iter()
                    .map(|(key, value)| MetadataRequest { key, value })
                    .collect()
            }),
        }
    }
}

impl std::fmt::Debug for SecretItemRequest<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SecretItemRequest")
            .field("secret_key", &self.secret_key)
            .field("secret_value", &self.secret_value.map(|_| "<redacted>"))
            .finish_non_exhaustive()
    }
}

/// `POST/PATCH /api/v4/secrets/batch` body.
#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct BatchWriteRequest<'a> {
    /// Project id.
    pub project_id: &'a str,
    /// Environment slug.
    pub environment: &'a str,
    /// Folder path.
    pub secret_path: &'a str,
    /// `failOnNotFound` on update; absent on create.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub mode: Option<&'a str>,
    /// Items.
    pub secrets: Vec<SecretItemRequest<'a>>,
}

/// One item of a batch delete.
#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct DeleteItemRequest<'a> {
    /// Key.
    pub secret_key: &'a str,
    /// Always `shared`.
    #[serde(rename = "type")]
    pub kind: &'a str,
}

/// `DELETE /api/v4/secrets/batch` body.
#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct BatchDeleteRequest<'a> {
    /// Project id.
    pub project_id: &'a str,
    /// Environment slug.
    pub environment: &'a str,
    /// Folder path.
    pub secret_path: &'a str,
    /// Items.
    pub secrets: Vec<DeleteItemRequest<'a>>,
}

// ---------------------------------------------------------------------------------------------
// Tags (§6.2)

/// `{ "tags": [...] }`.
#[derive(Debug, Deserialize)]
pub struct TagsEnvelope {
    /// Tags.
    pub tags: Vec<TagWire>,
}

/// `{ "tag": ... }`.
#[derive(Debug, Deserialize)]
pub struct TagEnvelope {
    /// Tag.
    pub tag: TagWire,
}

/// `POST /api/v1/projects/{id}/tags` body.
#[derive(Debug, Serialize)]
pub struct CreateTagRequest<'a> {
    /// Slug.
    pub slug: &'a str,
    /// Color (required by older servers).
    pub color: &'a str,
}

// ---------------------------------------------------------------------------------------------
// Paths

/// Normalises a folder path as the server does: a leading `/`, no trailing `/`, no empty
/// segments.
pub fn normalize_path(path: &str) -> String {
    let segments: Vec<&str> = path.split('/').filter(|s| !s.is_empty()).collect();
    format!("/{}", segments.join("/"))
}

/// `parent` + `/` + `name`, normalised.
pub fn join_path(parent: &str, name: &str) -> String {
    normalize_path(&format!("{parent}/{name}"))
}

/// Turns a folder listing into domain folders with absolute paths, following `parentId` links
/// below `root` (the listed path). Environment roots (`parentId: null`) are skipped.
pub fn folders_with_paths(root: &str, folders: Vec<FolderWire>) -> Vec<RemoteFolder> {
    use std::collections::HashMap;
    let root = normalize_path(root);
    let by_id: HashMap<String, (String, Option<String>)> = folders
        .iter()
        .map(|f| (f.id.clone(), (f.name.clone(), f.parent_id.clone())))
        .collect();
    let mut out: Vec<RemoteFolder> = folders
        .into_iter()
        .filter(|f| f.parent_id.is_some())
        .map(|f| {
            let mut segments = vec![f.name.clone()];
            let mut parent = f.parent_id.clone();
            let mut hops = 0;
            while let Some(id) = parent {
                let Some((name, next)) = by_id.get(&id) else {
                    break;
                };
                if next.is_none() || hops > by_id.len() {
                    break;
                }
                segments.push(name.clone());
                parent = next.clone();
                hops += 1;
            }
            segments.reverse();
            let path = normalize_path(&format!("{root}/{}", segments.join("/")));
            RemoteFolder {
                id: f.id,
                name: f.name,
                path,
                parent_id: f.parent_id,
                description: f.description,
            }
        })
        .collect();
    out.sort_by(|a, b| a.path.cmp(&b.path));
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn error_body_message_string_or_array() {
        let body: ErrorBody = serde_json::from_str(
            r#"{"reqId":"req-1","statusCode":422,"error":"ValidationFailure",
                "message":[{"code":"too_big","message":"String must contain at most 64 character(s)","path":["projectName"]},
                           {"code":"custom","message":"bad","path":[]}]}"#,
        )
        .unwrap();
        assert_eq!(body.req_id.as_deref(), Some("req-1"));
        assert_eq!(
            body.issues(),
            vec![
                "projectName: String must contain at most 64 character(s)".to_string(),
                "bad".to_string()
            ]
        );
        let body: ErrorBody =
            serde_json::from_str(r#"{"message":"Secret already exists","extra":1}"#).unwrap();
        assert_eq!(body.issues(), vec!["Secret already exists".to_string()]);
    }

    #[test]
    fn secret_decodes_minimal_and_full_shapes() {
        let minimal: SecretWire = serde_json::from_str(
            r#"{"id":"1","_id":"1","workspace":"p","environment":"dev","version":1,"type":"shared",
                "secretKey":"A","secretValue":"canary-value","secretComment":""}"#,
        )
        .unwrap();
        let remote = minimal.into_remote("/x");
        assert_eq!(remote.path, "/x");
        assert_eq!(remote.value, Some(SecretValue::new("canary-value")));
        assert!(!format!("{remote:?}").contains("canary-value"));

        let full: SecretWire = serde_json::from_str(
            r#"{"id":"2","secretKey":"B","secretValue":"","secretValueHidden":true,"secretComment":null,
                "secretPath":"/a/b/","tags":[{"id":"t","slug":"managed","color":null,"name":"managed"}],
                "secretMetadata":[{"key":"managed-by","value":"gitops","isEncrypted":false}],
                "version":3,"unknownField":{"x":1}}"#,
        )
        .unwrap();
        let remote = full.into_remote("/");
        assert_eq!(remote.path, "/a/b");
        assert_eq!(remote.value, None);
        assert_eq!(remote.comment, "");
        assert_eq!(remote.tags[0].slug, "managed");
        assert_eq!(
            remote.metadata,
            vec![("managed-by".to_string(), "gitops".to_string())]
        );
        assert_eq!(remote.version, 3);
    }

    #[test]
    fn folder_paths_follow_parent_links() {
        let folders = vec![
            FolderWire {
                id: "c".into(),
                name: "web".into(),
                parent_id: Some("b".into()),
                description: None,
                path: None,
            },
            FolderWire {
                id: "b".into(),
                name: "apps".into(),
                parent_id: Some("root".into()),
                description: None,
                path: None,
            },
        ];
        let out = folders_with_paths("/", folders);
        assert_eq!(out[0].path, "/apps");
        assert_eq!(out[1].path, "/apps/web");
    }

    #[test]
    fn paths_normalise() {
        assert_eq!(normalize_path(""), "/");
        assert_eq!(normalize_path("a//b/"), "/a/b");
        assert_eq!(join_path("/", "x"), "/x");
        assert_eq!(join_path("/a/", "x"), "/a/x");
    }

    #[test]
    fn write_item_redacts_in_debug_but_serializes_value() {
        let write = SecretWrite {
            key: "K".into(),
            value: Some(SecretValue::new("canary-value")),
            comment: None,
            tag_ids: None,
            metadata: Some(vec![("m".into(), "v".into())]),
        };
        let item = SecretItemRequest::from_write(&write);
        assert!(!format!("{item:?}").contains("canary-value"));
        let json = serde_json::to_string(&item).unwrap();
        assert!(json.contains(r#""secretValue":"canary-value""#));
        assert!(json.contains(r#""secretMetadata":[{"key":"m","value":"v"}]"#));
    }
}
