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
use crate::model::names::MAX_FOLDER_DEPTH;

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
// Secret imports (§6.1)

/// The imported environment of an import.
#[derive(Debug, Deserialize)]
pub struct ImportEnvironmentWire {
    /// Slug.
    pub slug: String,
}

/// A secret import.
#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct SecretImportWire {
    /// Id.
    pub id: String,
    /// The imported folder's path.
    pub import_path: String,
    /// The imported environment (`null` when it no longer exists).
    #[serde(default)]
    pub import_env: Option<ImportEnvironmentWire>,
    /// Position (1-based).
    pub position: u32,
    /// Replication import.
    #[serde(default)]
    pub is_replication: Option<bool>,
    /// Reserved entry of a replication import.
    #[serde(default)]
    pub is_reserved: Option<bool>,
}

impl SecretImportWire {
    /// In domain terms.
    pub fn into_remote(self) -> crate::infisical::api::RemoteImport {
        crate::infisical::api::RemoteImport {
            id: self.id,
            environment: self.import_env.map(|e| e.slug).unwrap_or_default(),
            path: normalize_path(&self.import_path),
            position: self.position,
            replication: self.is_replication.unwrap_or(false),
            reserved: self.is_reserved.unwrap_or(false),
        }
    }
}

/// `{ "secretImports": [...] }`.
#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct SecretImportsEnvelope {
    /// Imports.
    pub secret_imports: Vec<SecretImportWire>,
}

/// `{ "secretImport": ... }`.
#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct SecretImportEnvelope {
    /// The import.
    pub secret_import: SecretImportWire,
}

/// The `import` object of a create or update.
#[derive(Debug, Serialize)]
pub struct ImportSourceRequest<'a> {
    /// The imported environment's slug.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub environment: Option<&'a str>,
    /// The imported folder's path.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub path: Option<&'a str>,
    /// New position (update only).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub position: Option<u32>,
}

/// `POST /api/v2/secret-imports` and `PATCH /api/v2/secret-imports/{id}` body.
#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct SecretImportRequest<'a> {
    /// Project id.
    pub project_id: &'a str,
    /// Environment slug of the importing folder.
    pub environment: &'a str,
    /// The importing folder's path.
    pub path: &'a str,
    /// The imported folder, or the position.
    pub import: ImportSourceRequest<'a>,
}

/// `DELETE /api/v2/secret-imports/{id}` body.
#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct DeleteSecretImportRequest<'a> {
    /// Project id.
    pub project_id: &'a str,
    /// Environment slug of the importing folder.
    pub environment: &'a str,
    /// The importing folder's path.
    pub path: &'a str,
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

/// A folder listing whose parent links cannot form a tree.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum FolderTreeError {
    /// Following `parentId` from a folder comes back to it: the server's folder tree is
    /// corrupt (or the answer is forged), so no path can be given to any folder in the cycle.
    #[error(
        "the folder listing of `{root}` has a parent cycle through folder ids {ids}; \
         repair the folders in Infisical"
    )]
    Cycle {
        /// The listed path.
        root: String,
        /// The ids in the cycle (printable, cut short), comma-separated.
        ids: String,
    },
    /// The paths of the listed folders add up to more than [`MAX_FOLDER_PATH_BYTES`].
    #[error(
        "the folder listing of `{root}` is too large: its folder paths add up to more than \
         {limit} bytes; remove unused folders in Infisical"
    )]
    TooLarge {
        /// The listed path.
        root: String,
        /// [`MAX_FOLDER_PATH_BYTES`].
        limit: usize,
    },
}

/// Most bytes of folder paths one listing may add up to (32 MiB: 100,000 folders with paths of
/// 335 characters). Each path is at most [`MAX_FOLDER_DEPTH`] names long, but many long paths
/// would still take far more memory than the listing that named them.
pub const MAX_FOLDER_PATH_BYTES: usize = 32 * 1024 * 1024;

/// The folders [`folders_with_paths`] kept, and how many it left out because they sit deeper
/// than [`MAX_FOLDER_DEPTH`].
#[derive(Debug, Default)]
pub struct FolderTree {
    /// The folders with their absolute paths, sorted by path.
    pub folders: Vec<RemoteFolder>,
    /// Folders deeper than the limit (not returned; their paths are never built).
    pub too_deep: usize,
}

/// How a folder's place in the tree is known while paths are built.
enum Place {
    /// Not reached yet.
    Unknown,
    /// On the chain being walked (meeting it again is a cycle).
    Walking,
    /// The environment's root (`parentId: null`): it stands for the listed path itself.
    EnvironmentRoot,
    /// Its absolute path and depth.
    Known(String, usize),
    /// Deeper than [`MAX_FOLDER_DEPTH`]: no path is built.
    TooDeep,
}

/// Where a walk up the parent links stopped.
#[derive(Clone, Copy)]
enum Base {
    /// At the listed path.
    Root,
    /// At a folder whose place is known.
    Folder(usize),
    /// Below a folder that is too deep.
    TooDeep,
}

/// The cycle error for the folders at `members` (indexes into `folders`).
fn cycle(root: &str, folders: &[FolderWire], members: &[usize]) -> FolderTreeError {
    const SHOWN: usize = 10;
    let mut ids: Vec<String> = members
        .iter()
        .take(SHOWN)
        .map(|&member| shown_id(&folders[member].id))
        .collect();
    if members.len() > SHOWN {
        ids.push(format!("and {} more", members.len() - SHOWN));
    }
    FolderTreeError::Cycle {
        root: root.to_string(),
        ids: ids.join(", "),
    }
}

/// A server-given folder id for an error message: printable characters only, cut short.
fn shown_id(id: &str) -> String {
    let printable: String = id.chars().filter(|c| !c.is_control()).take(40).collect();
    format!("`{printable}`")
}

/// Turns a folder listing into domain folders with absolute paths, following `parentId` links
/// below `root` (the listed path). Environment roots (`parentId: null`) are skipped; a folder
/// whose parent is not in the listing sits directly below `root` (a listing leaves out the
/// listed folder itself).
///
/// Linear in the listing: each folder's path is built once, from its parent's. Folders deeper
/// than [`MAX_FOLDER_DEPTH`] levels (counted from the environment root) are counted, not
/// returned, and no path is built for them, so a deep or long chain costs memory in proportion
/// to the listing, never to the square of its depth; the paths together may take at most
/// [`MAX_FOLDER_PATH_BYTES`].
///
/// # Errors
/// [`FolderTreeError::Cycle`] when parent links form a cycle, naming the folder ids in it;
/// [`FolderTreeError::TooLarge`] past [`MAX_FOLDER_PATH_BYTES`].
pub fn folders_with_paths(
    root: &str,
    folders: Vec<FolderWire>,
) -> Result<FolderTree, FolderTreeError> {
    use std::collections::HashMap;
    let root = normalize_path(root);
    let root_depth = root.split('/').filter(|s| !s.is_empty()).count();
    let mut index: HashMap<&str, usize> = HashMap::with_capacity(folders.len());
    for (position, folder) in folders.iter().enumerate() {
        index.entry(folder.id.as_str()).or_insert(position);
    }
    let mut places: Vec<Place> = std::iter::repeat_with(|| Place::Unknown)
        .take(folders.len())
        .collect();
    let mut chain: Vec<usize> = Vec::new();
    let mut path_bytes: usize = 0;
    for start in 0..folders.len() {
        // Walk up until a folder whose place is known (or the top), remembering the chain.
        chain.clear();
        let mut current = start;
        let base = loop {
            match &places[current] {
                Place::Walking => {
                    let from = chain.iter().position(|&c| c == current).unwrap_or(0);
                    return Err(cycle(&root, &folders, &chain[from..]));
                }
                Place::EnvironmentRoot => break Base::Root,
                Place::Known(..) => break Base::Folder(current),
                Place::TooDeep => break Base::TooDeep,
                Place::Unknown => {}
            }
            let Some(parent) = folders[current].parent_id.as_deref() else {
                places[current] = Place::EnvironmentRoot;
                break Base::Root;
            };
            places[current] = Place::Walking;
            chain.push(current);
            match index.get(parent) {
                Some(&next) => current = next,
                None => break Base::Root,
            }
        };
        // Give each folder of the chain its place, outermost first, from its parent's.
        let mut above = base;
        for &folder in chain.iter().rev() {
            let parent = match above {
                Base::Root => Some((root.as_str(), root_depth)),
                Base::Folder(index) => match &places[index] {
                    Place::Known(path, depth) => Some((path.as_str(), *depth)),
                    _ => None,
                },
                Base::TooDeep => None,
            };
            places[folder] = match parent {
                Some((path, depth)) if depth < MAX_FOLDER_DEPTH => {
                    let path = join_path(path, &folders[folder].name);
                    path_bytes = path_bytes.saturating_add(path.len());
                    if path_bytes > MAX_FOLDER_PATH_BYTES {
                        return Err(FolderTreeError::TooLarge {
                            root,
                            limit: MAX_FOLDER_PATH_BYTES,
                        });
                    }
                    Place::Known(path, depth + 1)
                }
                _ => Place::TooDeep,
            };
            above = Base::Folder(folder);
        }
    }
    let mut tree = FolderTree::default();
    for (folder, place) in folders.into_iter().zip(places) {
        match place {
            Place::Known(path, _) => tree.folders.push(RemoteFolder {
                id: folder.id,
                name: folder.name,
                path,
                parent_id: folder.parent_id,
                description: folder.description,
            }),
            Place::TooDeep => tree.too_deep += 1,
            Place::EnvironmentRoot | Place::Unknown | Place::Walking => {}
        }
    }
    tree.folders.sort_by(|a, b| a.path.cmp(&b.path));
    Ok(tree)
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

    fn folder(id: &str, name: &str, parent: Option<&str>) -> FolderWire {
        FolderWire {
            id: id.into(),
            name: name.into(),
            parent_id: parent.map(Into::into),
            description: None,
            path: None,
        }
    }

    /// A chain `/f0/f1/…` of `length` folders below an environment root, leaf first.
    fn chain(length: usize) -> Vec<FolderWire> {
        let mut folders = vec![folder("root", "root", None)];
        for level in 0..length {
            let parent = if level == 0 {
                "root".to_string()
            } else {
                format!("id-{}", level - 1)
            };
            folders.push(folder(
                &format!("id-{level}"),
                &format!("f{level}"),
                Some(&parent),
            ));
        }
        folders.reverse();
        folders
    }

    #[test]
    fn folder_paths_follow_parent_links() {
        let folders = vec![
            folder("c", "web", Some("b")),
            folder("b", "apps", Some("root")),
            folder("root", "root", None),
        ];
        let out = folders_with_paths("/", folders).expect("a tree").folders;
        assert_eq!(out.len(), 2, "the environment root is not a folder");
        assert_eq!(out[0].path, "/apps");
        assert_eq!(out[1].path, "/apps/web");
    }

    #[test]
    fn a_folder_whose_parent_is_not_listed_sits_below_the_listed_path() {
        // A listing of `/apps` leaves `/apps` itself out: its children name an unknown parent.
        let folders = vec![
            folder("d", "deep", Some("c")),
            folder("c", "web", Some("apps-id")),
            folder("e", "orphan", Some("gone")),
        ];
        let out = folders_with_paths("/apps", folders)
            .expect("a tree")
            .folders;
        let paths: Vec<&str> = out.iter().map(|f| f.path.as_str()).collect();
        assert_eq!(paths, ["/apps/orphan", "/apps/web", "/apps/web/deep"]);
    }

    #[test]
    fn a_parent_cycle_is_an_error_naming_its_folders() {
        let folders = vec![
            folder("ok", "fine", Some("root")),
            folder("root", "root", None),
            folder("a", "x", Some("b")),
            folder("b", "y", Some("c")),
            folder("c", "z", Some("a")),
            folder("below", "w", Some("a")),
        ];
        let error = folders_with_paths("/", folders).expect_err("a cycle");
        insta::assert_snapshot!(error, @"the folder listing of `/` has a parent cycle through folder ids `a`, `b`, `c`; repair the folders in Infisical");
        let error =
            folders_with_paths("/", vec![folder("self\nforged", "s", Some("self\nforged"))])
                .expect_err("a folder that is its own parent");
        assert_eq!(
            error.to_string(),
            "the folder listing of `/` has a parent cycle through folder ids `selfforged`; \
             repair the folders in Infisical"
        );
    }

    #[test]
    fn a_long_cycle_names_its_first_ten_folders() {
        let length = 50_000;
        let folders: Vec<FolderWire> = (0..length)
            .map(|i| folder(&format!("{i}"), "n", Some(&format!("{}", (i + 1) % length))))
            .collect();
        let error = folders_with_paths("/", folders).expect_err("a cycle");
        assert!(
            error
                .to_string()
                .ends_with("`8`, `9`, and 49990 more; repair the folders in Infisical"),
            "{error}"
        );
    }

    #[test]
    fn folders_deeper_than_the_limit_are_counted_and_left_out() {
        for folders in [chain(100), chain(100).into_iter().rev().collect()] {
            let tree = folders_with_paths("/", folders).expect("a tree");
            assert_eq!(tree.folders.len(), MAX_FOLDER_DEPTH);
            assert_eq!(tree.too_deep, 100 - MAX_FOLDER_DEPTH);
            let deepest = tree
                .folders
                .iter()
                .map(|f| f.path.matches('/').count())
                .max();
            assert_eq!(deepest, Some(MAX_FOLDER_DEPTH));
        }
        // The depth counts from the environment root, not from the listed path.
        let tree = folders_with_paths("/a/b", chain(MAX_FOLDER_DEPTH)).expect("a tree");
        assert_eq!(tree.folders.len(), MAX_FOLDER_DEPTH - 2);
        assert_eq!(tree.too_deep, 2);
    }

    #[test]
    fn the_paths_of_one_listing_are_bounded() {
        // Chains of 64 levels of 64-character names: 2 KiB per path on average, so 19,200
        // such folders (300 chains) would take 40 MiB of paths.
        let name = "n".repeat(64);
        let mut folders = Vec::new();
        for tree in 0..300 {
            let mut parent = "root".to_string();
            for level in 0..MAX_FOLDER_DEPTH {
                let id = format!("{tree}-{level}");
                folders.push(folder(&id, &name, Some(&parent)));
                parent = id;
            }
        }
        let error = folders_with_paths("/", folders).expect_err("too large");
        assert_eq!(
            error.to_string(),
            "the folder listing of `/` is too large: its folder paths add up to more than \
             33554432 bytes; remove unused folders in Infisical"
        );
    }

    #[test]
    fn a_chain_of_100000_folders_is_reconstructed_in_linear_time() {
        let started = std::time::Instant::now();
        let tree = folders_with_paths("/", chain(100_000)).expect("a tree");
        assert_eq!(tree.folders.len(), MAX_FOLDER_DEPTH);
        assert_eq!(tree.too_deep, 100_000 - MAX_FOLDER_DEPTH);
        // Quadratic reconstruction took minutes here; linear takes milliseconds. The bound is
        // loose so a loaded machine does not fail it.
        assert!(started.elapsed() < std::time::Duration::from_secs(20));
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
