//! Wire shapes of the Infisical REST API (see `docs/infisical-client.md` and the API reference).
//!
//! Responses: only the fields the client uses are declared, everything beyond the documented
//! required fields is optional, unknown fields are ignored, so older and newer servers both
//! decode. Secret values are wrapped into [`SecretValue`] while decoding; they never exist as a
//! plain `String` field of a response type.
//!
//! Requests borrow from the domain types; a value is exposed only into the serialized body.

mod paths;
mod secrets;
#[cfg(test)]
mod tests;

use serde::{Deserialize, Deserializer, Serialize};

use crate::model::SecretValue;

use super::api::{RemoteEnvironment, RemoteProject};

pub use paths::{
    FolderTree, FolderTreeError, MAX_FOLDER_PATH_BYTES, folders_with_paths, join_path,
    normalize_path,
};
pub use secrets::{
    ApprovalWire, BatchDeleteRequest, BatchWriteRequest, DeleteItemRequest, MetadataRequest,
    MetadataWire, SecretEnvelope, SecretItemRequest, SecretWire, SecretsEnvelope, TagWire,
    WriteEnvelope,
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
            id: wire.id.into(),
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
            id: wire.id.into(),
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
