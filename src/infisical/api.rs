//! The port: what the reconciler needs from Infisical, in domain terms.
//!
//! Implementations: the reqwest client (`client`), and anything a test wants to put in its
//! place. Every method maps to one documented route of the current API (see
//! `docs/infisical-api.md`); batch methods write one folder per call.

use async_trait::async_trait;

use crate::model::{EnvironmentSlug, FolderPath, SecretKey, SecretValue, TagSlug};

use super::error::ApiError;
use super::ids::{EnvironmentId, FolderId, ProjectId};

/// A project as Infisical returns it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RemoteProject {
    /// Project id (UUID).
    pub id: ProjectId,
    /// Slug.
    pub slug: String,
    /// Display name.
    pub name: String,
    /// Description (`None` when null).
    pub description: Option<String>,
    /// Environments (`id`, `name`, `slug`; position when the server tells it).
    pub environments: Vec<RemoteEnvironment>,
}

/// An environment.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RemoteEnvironment {
    /// Environment id (UUID).
    pub id: EnvironmentId,
    /// Slug.
    pub slug: String,
    /// Display name.
    pub name: String,
    /// Display position, when known (the project listing does not carry it).
    pub position: Option<u32>,
}

/// A folder, with its absolute path.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RemoteFolder {
    /// Folder id (UUID).
    pub id: FolderId,
    /// Last segment.
    pub name: String,
    /// Absolute path (`/apps/web`).
    pub path: String,
    /// Parent folder id (`None` for a root).
    pub parent_id: Option<FolderId>,
    /// Description.
    pub description: Option<String>,
}

/// A secret import: the folder `path` of `environment` (same project) shown in the folder that
/// holds it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RemoteImport {
    /// Import id (UUID).
    pub id: String,
    /// The imported environment's slug.
    pub environment: String,
    /// The imported folder's absolute path.
    pub path: String,
    /// Position among the folder's imports (1-based).
    pub position: u32,
    /// A replication import (Infisical copies the secrets instead of reading through).
    pub replication: bool,
    /// A reserved entry Infisical keeps after a replication import.
    pub reserved: bool,
}

/// A tag.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RemoteTag {
    /// Tag id (UUID).
    pub id: String,
    /// Slug.
    pub slug: String,
}

/// A secret as listed (v4, `expandSecretReferences=false`): the raw, unexpanded value.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RemoteSecret {
    /// Secret id (UUID).
    pub id: String,
    /// Key.
    pub key: String,
    /// Raw value (`None` when the server hides it: `secretValueHidden`).
    pub value: Option<SecretValue>,
    /// Comment (`""` when none).
    pub comment: String,
    /// Absolute folder path.
    pub path: String,
    /// Tags.
    pub tags: Vec<RemoteTag>,
    /// Metadata pairs, in server order.
    pub metadata: Vec<(String, String)>,
    /// Version (server-set; never compared).
    pub version: u64,
}

/// Where a batch of secret writes goes: one project, environment and folder.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct SecretScope {
    /// Project id.
    pub project_id: ProjectId,
    /// Environment slug.
    pub environment: EnvironmentSlug,
    /// Absolute folder path.
    pub path: FolderPath,
}

/// How deep a folder or secret listing goes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Depth {
    /// The listed folder only.
    Direct,
    /// The listed folder and every folder below it.
    Recursive,
}

impl Depth {
    /// Whether the listing includes the folders below.
    pub fn is_recursive(self) -> bool {
        self == Depth::Recursive
    }
}

/// One secret in a create or update batch. `None` fields are left unchanged on update.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SecretWrite {
    /// Key.
    pub key: String,
    /// Value (required on create).
    pub value: Option<SecretValue>,
    /// Comment.
    pub comment: Option<String>,
    /// Tag ids (replace the set on update).
    pub tag_ids: Option<Vec<String>>,
    /// Metadata pairs (replace the set on update).
    pub metadata: Option<Vec<(String, String)>>,
}

/// One secret in a delete batch.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SecretDelete {
    /// Key.
    pub key: String,
}

/// The result of a secret write: done, or held for a change-approval policy (nothing written).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum WriteOutcome {
    /// The server wrote it; the secrets as returned.
    Applied(Vec<RemoteSecret>),
    /// The path is under a change-approval policy: a request was opened, nothing was written.
    PendingApproval {
        /// The approval request id, when the server returned one.
        approval_id: Option<String>,
    },
}

/// `POST /api/v1/projects`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CreateProject {
    /// `projectName`.
    pub name: String,
    /// `slug`.
    pub slug: String,
    /// `projectDescription`.
    pub description: Option<String>,
    /// `shouldCreateDefaultEnvs` (the reconciler sends `false` and creates its own).
    pub create_default_environments: bool,
}

/// `PATCH /api/v1/projects/{id}`.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct UpdateProject {
    /// New name.
    pub name: Option<String>,
    /// New description.
    pub description: Option<String>,
}

/// `POST /api/v1/projects/{id}/environments`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CreateEnvironment {
    /// Display name.
    pub name: String,
    /// Slug.
    pub slug: String,
    /// Position (1-based).
    pub position: Option<u32>,
}

/// `PATCH /api/v1/projects/{id}/environments/{envId}`.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct UpdateEnvironment {
    /// New name.
    pub name: Option<String>,
    /// New position.
    pub position: Option<u32>,
}

/// `POST /api/v2/folders`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CreateFolder {
    /// Project id.
    pub project_id: ProjectId,
    /// Environment slug.
    pub environment: EnvironmentSlug,
    /// Parent path (missing parents are created by the server).
    pub parent_path: FolderPath,
    /// Folder name.
    pub name: String,
    /// Description.
    pub description: Option<String>,
}

/// `PATCH /api/v2/folders/{folderId}`: rename a folder or change its description.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UpdateFolder {
    /// Project id.
    pub project_id: ProjectId,
    /// Environment slug.
    pub environment: EnvironmentSlug,
    /// Parent path of the folder.
    pub parent_path: FolderPath,
    /// Folder id.
    pub folder_id: FolderId,
    /// The (new) name; the current name to change only the description.
    pub name: String,
    /// New description.
    pub description: Option<String>,
}

/// `DELETE /api/v2/folders/{idOrName}`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DeleteFolder {
    /// Project id.
    pub project_id: ProjectId,
    /// Environment slug.
    pub environment: EnvironmentSlug,
    /// Parent path.
    pub parent_path: FolderPath,
    /// Folder id or name.
    pub folder: String,
    /// `forceDelete`: delete even when it holds secrets.
    pub force: bool,
}

/// Everything the reconciler asks of Infisical.
///
/// Contract for implementations: timeouts on every call, bounded retries for 429/5xx/connection
/// errors (never a blind retry of a create after a timeout), errors as [`ApiError`] naming the
/// method, path and `reqId` and never a token or a value.
#[async_trait]
pub trait InfisicalApi: Send + Sync {
    /// `GET /api/v1/projects` (secret-manager projects the identity can see).
    async fn list_projects(&self) -> Result<Vec<RemoteProject>, ApiError>;
    /// `GET /api/v1/projects/slug/{slug}`; `Ok(None)` on 404.
    async fn get_project_by_slug(&self, slug: &str) -> Result<Option<RemoteProject>, ApiError>;
    /// `GET /api/v1/projects/{id}`; `Ok(None)` on 404.
    ///
    /// The default implementation filters [`InfisicalApi::list_projects`].
    async fn get_project(&self, project_id: &ProjectId) -> Result<Option<RemoteProject>, ApiError> {
        Ok(self
            .list_projects()
            .await?
            .into_iter()
            .find(|p| &p.id == project_id))
    }
    /// `POST /api/v1/projects`.
    async fn create_project(&self, request: &CreateProject) -> Result<RemoteProject, ApiError>;
    /// `PATCH /api/v1/projects/{id}`.
    async fn update_project(
        &self,
        project_id: &ProjectId,
        request: &UpdateProject,
    ) -> Result<RemoteProject, ApiError>;
    /// `DELETE /api/v1/projects/{id}`.
    async fn delete_project(&self, project_id: &ProjectId) -> Result<(), ApiError>;

    /// `POST /api/v1/projects/{id}/environments`.
    async fn create_environment(
        &self,
        project_id: &ProjectId,
        request: &CreateEnvironment,
    ) -> Result<RemoteEnvironment, ApiError>;
    /// `PATCH /api/v1/projects/{id}/environments/{envId}`.
    async fn update_environment(
        &self,
        project_id: &ProjectId,
        environment_id: &EnvironmentId,
        request: &UpdateEnvironment,
    ) -> Result<RemoteEnvironment, ApiError>;
    /// `DELETE /api/v1/projects/{id}/environments/{envId}`.
    async fn delete_environment(
        &self,
        project_id: &ProjectId,
        environment_id: &EnvironmentId,
    ) -> Result<(), ApiError>;

    /// `GET /api/v2/folders?recursive=…`: folders under `path` (all descendants when
    /// [`Depth::Recursive`]), each with its absolute path.
    async fn list_folders(
        &self,
        project_id: &ProjectId,
        environment: &EnvironmentSlug,
        path: &FolderPath,
        depth: Depth,
    ) -> Result<Vec<RemoteFolder>, ApiError>;
    /// `POST /api/v2/folders`.
    async fn create_folder(&self, request: &CreateFolder) -> Result<RemoteFolder, ApiError>;
    /// `PATCH /api/v2/folders/{folderId}`.
    ///
    /// The default implementation refuses (implementations that predate it).
    async fn update_folder(&self, request: &UpdateFolder) -> Result<RemoteFolder, ApiError> {
        Err(ApiError::BadRequest(super::error::ErrorContext {
            method: "PATCH".into(),
            path: "/api/v2/folders/{folderId}".into(),
            request_id: None,
            message: format!(
                "updating folder {} is not supported by this implementation",
                request.folder_id
            ),
        }))
    }
    /// `DELETE /api/v2/folders/{idOrName}`.
    async fn delete_folder(&self, request: &DeleteFolder) -> Result<(), ApiError>;

    /// `GET /api/v4/secrets` with `expandSecretReferences=false`, metadata and tags.
    async fn list_secrets(
        &self,
        project_id: &ProjectId,
        environment: &EnvironmentSlug,
        path: &FolderPath,
        depth: Depth,
    ) -> Result<Vec<RemoteSecret>, ApiError>;
    /// `GET /api/v4/secrets/{key}` (`expandSecretReferences=false`); `Ok(None)` on 404.
    ///
    /// The default implementation filters a non-recursive [`InfisicalApi::list_secrets`].
    async fn get_secret(
        &self,
        scope: &SecretScope,
        key: &SecretKey,
    ) -> Result<Option<RemoteSecret>, ApiError> {
        Ok(self
            .list_secrets(
                &scope.project_id,
                &scope.environment,
                &scope.path,
                Depth::Direct,
            )
            .await?
            .into_iter()
            .find(|s| s.key == key.as_str()))
    }
    /// `POST /api/v4/secrets/batch`: all or nothing (400 when any key exists).
    async fn create_secrets(
        &self,
        scope: &SecretScope,
        secrets: &[SecretWrite],
    ) -> Result<WriteOutcome, ApiError>;
    /// `PATCH /api/v4/secrets/batch` with `mode: failOnNotFound`.
    async fn update_secrets(
        &self,
        scope: &SecretScope,
        secrets: &[SecretWrite],
    ) -> Result<WriteOutcome, ApiError>;
    /// `DELETE /api/v4/secrets/batch`.
    async fn delete_secrets(
        &self,
        scope: &SecretScope,
        secrets: &[SecretDelete],
    ) -> Result<WriteOutcome, ApiError>;

    /// `GET /api/v2/secret-imports`: the imports of one folder, in position order.
    ///
    /// The default implementation refuses (implementations that predate imports).
    async fn list_imports(&self, scope: &SecretScope) -> Result<Vec<RemoteImport>, ApiError> {
        Err(unsupported(
            "GET",
            "/api/v2/secret-imports",
            scope.path.as_str(),
        ))
    }
    /// `POST /api/v2/secret-imports`: imports the folder `path` of `environment` into `scope`,
    /// appended after the existing imports.
    async fn create_import(
        &self,
        scope: &SecretScope,
        environment: &EnvironmentSlug,
        path: &FolderPath,
    ) -> Result<RemoteImport, ApiError> {
        let _ = (environment, path);
        Err(unsupported(
            "POST",
            "/api/v2/secret-imports",
            scope.path.as_str(),
        ))
    }
    /// `PATCH /api/v2/secret-imports/{id}` with `import.position`: moves the import, shifting
    /// those in between.
    async fn move_import(
        &self,
        scope: &SecretScope,
        import_id: &str,
        position: u32,
    ) -> Result<RemoteImport, ApiError> {
        let _ = (import_id, position);
        Err(unsupported(
            "PATCH",
            "/api/v2/secret-imports/{id}",
            scope.path.as_str(),
        ))
    }
    /// `DELETE /api/v2/secret-imports/{id}`.
    async fn delete_import(&self, scope: &SecretScope, import_id: &str) -> Result<(), ApiError> {
        let _ = import_id;
        Err(unsupported(
            "DELETE",
            "/api/v2/secret-imports/{id}",
            scope.path.as_str(),
        ))
    }

    /// `GET /api/v1/projects/{id}/tags`.
    async fn list_tags(&self, project_id: &ProjectId) -> Result<Vec<RemoteTag>, ApiError>;
    /// `POST /api/v1/projects/{id}/tags`.
    async fn create_tag(
        &self,
        project_id: &ProjectId,
        slug: &TagSlug,
    ) -> Result<RemoteTag, ApiError>;
}

/// The refusal of a default method an implementation does not provide.
fn unsupported(method: &str, path: &str, subject: &str) -> ApiError {
    ApiError::BadRequest(super::error::ErrorContext {
        method: method.into(),
        path: path.into(),
        request_id: None,
        message: format!("secret imports of `{subject}` are not supported by this implementation"),
    })
}
