//! The [`InfisicalApi`] implementation of [`MemoryInfisical`].

use async_trait::async_trait;

use crate::infisical::api::Depth;
use crate::infisical::api::{
    CreateEnvironment, CreateFolder, CreateProject, DeleteFolder, InfisicalApi, RemoteEnvironment,
    RemoteFolder, RemoteImport, RemoteProject, RemoteSecret, RemoteTag, SecretDelete, SecretScope,
    SecretWrite, UpdateEnvironment, UpdateProject, WriteOutcome,
};
use crate::infisical::error::ApiError;
use crate::infisical::ids::{EnvironmentId, FolderId, ProjectId};
use crate::model::SecretValue;
use crate::model::value::normalize_value;
use crate::model::{EnvironmentSlug, FolderPath, TagSlug};

use super::{MemoryInfisical, Store, StoredSecret, context, env_exists, folder_exists};

const IMPORTS: &str = "/api/v2/secret-imports";
const IMPORT: &str = "/api/v2/secret-imports/{id}";

/// A scope as the store keys it: plain strings.
struct Scope {
    project_id: String,
    environment: String,
    path: String,
}

impl From<&SecretScope> for Scope {
    fn from(scope: &SecretScope) -> Self {
        Self {
            project_id: scope.project_id.to_string(),
            environment: scope.environment.to_string(),
            path: scope.path.to_string(),
        }
    }
}

/// A folder create or delete as the store keys it: plain strings.
struct FolderRequest<'a> {
    project_id: String,
    environment: String,
    parent_path: String,
    /// The name (create) or the id or name (delete).
    folder: &'a str,
    description: Option<String>,
    force: bool,
}

impl<'a> From<&'a CreateFolder> for FolderRequest<'a> {
    fn from(request: &'a CreateFolder) -> Self {
        Self {
            project_id: request.project_id.to_string(),
            environment: request.environment.to_string(),
            parent_path: request.parent_path.to_string(),
            folder: &request.name,
            description: request.description.clone(),
            force: false,
        }
    }
}

impl<'a> From<&'a DeleteFolder> for FolderRequest<'a> {
    fn from(request: &'a DeleteFolder) -> Self {
        Self {
            project_id: request.project_id.to_string(),
            environment: request.environment.to_string(),
            parent_path: request.parent_path.to_string(),
            folder: &request.folder,
            description: None,
            force: request.force,
        }
    }
}

fn import_key(scope: &Scope) -> (String, String, String) {
    (
        scope.project_id.clone(),
        scope.environment.clone(),
        scope.path.clone(),
    )
}

/// 404 when the importing folder (or its environment) does not exist.
fn import_folder(store: &Store, scope: &Scope, method: &str) -> Result<(), ApiError> {
    if env_exists(store, &scope.project_id, &scope.environment)
        && folder_exists(store, &scope.project_id, &scope.environment, &scope.path)
    {
        return Ok(());
    }
    Err(ApiError::NotFound(context(
        method,
        IMPORTS,
        format!(
            "Folder with path '{}' in environment with slug '{}' not found",
            scope.path, scope.environment
        ),
    )))
}

#[async_trait]
impl InfisicalApi for MemoryInfisical {
    async fn list_projects(&self) -> Result<Vec<RemoteProject>, ApiError> {
        self.enter("list_projects", "GET", "/api/v1/projects")?;
        Ok(self.store().projects.values().cloned().collect())
    }

    async fn get_project_by_slug(&self, slug: &str) -> Result<Option<RemoteProject>, ApiError> {
        self.enter("get_project_by_slug", "GET", "/api/v1/projects/slug/{slug}")?;
        Ok(self
            .store()
            .projects
            .values()
            .find(|p| p.slug == slug)
            .cloned())
    }

    async fn create_project(&self, request: &CreateProject) -> Result<RemoteProject, ApiError> {
        self.enter("create_project", "POST", "/api/v1/projects")?;
        let mut store = self.store();
        if store.projects.values().any(|p| p.slug == request.slug) {
            return Err(ApiError::AlreadyExists(context(
                "POST",
                "/api/v1/projects",
                "project with this slug already exists",
            )));
        }
        let id = store.id("project");
        let project = RemoteProject {
            id: ProjectId::new(id.clone()),
            slug: request.slug.clone(),
            name: request.name.clone(),
            description: request.description.clone(),
            environments: Vec::new(),
        };
        store.projects.insert(id, project.clone());
        Ok(project)
    }

    async fn update_project(
        &self,
        project_id: &ProjectId,
        request: &UpdateProject,
    ) -> Result<RemoteProject, ApiError> {
        let project_id = project_id.as_str();
        self.enter("update_project", "PATCH", "/api/v1/projects/{id}")?;
        let mut store = self.store();
        let project = store.projects.get_mut(project_id).ok_or_else(|| {
            ApiError::NotFound(context(
                "PATCH",
                "/api/v1/projects/{id}",
                "project not found",
            ))
        })?;
        if let Some(name) = &request.name {
            project.name = name.clone();
        }
        if let Some(description) = &request.description {
            project.description = Some(description.clone());
        }
        Ok(project.clone())
    }

    async fn delete_project(&self, project_id: &ProjectId) -> Result<(), ApiError> {
        let project_id = project_id.as_str();
        self.enter("delete_project", "DELETE", "/api/v1/projects/{id}")?;
        self.store().projects.remove(project_id);
        Ok(())
    }

    async fn create_environment(
        &self,
        project_id: &ProjectId,
        request: &CreateEnvironment,
    ) -> Result<RemoteEnvironment, ApiError> {
        let project_id = project_id.as_str();
        let path = "/api/v1/projects/{id}/environments";
        self.enter("create_environment", "POST", path)?;
        let mut store = self.store();
        let id = store.id("environment");
        let project = store
            .projects
            .get_mut(project_id)
            .ok_or_else(|| ApiError::NotFound(context("POST", path, "project not found")))?;
        if project.environments.iter().any(|e| e.slug == request.slug) {
            return Err(ApiError::AlreadyExists(context(
                "POST",
                path,
                "environment already exists",
            )));
        }
        let environment = RemoteEnvironment {
            id: EnvironmentId::new(id),
            slug: request.slug.clone(),
            name: request.name.clone(),
            position: None,
        };
        project.environments.push(environment.clone());
        Ok(environment)
    }

    async fn update_environment(
        &self,
        project_id: &ProjectId,
        environment_id: &EnvironmentId,
        request: &UpdateEnvironment,
    ) -> Result<RemoteEnvironment, ApiError> {
        let project_id = project_id.as_str();
        let environment_id = environment_id.as_str();
        let path = "/api/v1/projects/{id}/environments/{envId}";
        self.enter("update_environment", "PATCH", path)?;
        let mut store = self.store();
        let environment = store
            .projects
            .get_mut(project_id)
            .and_then(|p| p.environments.iter_mut().find(|e| e.id == environment_id))
            .ok_or_else(|| ApiError::NotFound(context("PATCH", path, "environment not found")))?;
        if let Some(name) = &request.name {
            environment.name = name.clone();
        }
        Ok(environment.clone())
    }

    async fn delete_environment(
        &self,
        project_id: &ProjectId,
        environment_id: &EnvironmentId,
    ) -> Result<(), ApiError> {
        let project_id = project_id.as_str();
        let environment_id = environment_id.as_str();
        self.enter(
            "delete_environment",
            "DELETE",
            "/api/v1/projects/{id}/environments/{envId}",
        )?;
        if let Some(project) = self.store().projects.get_mut(project_id) {
            project.environments.retain(|e| e.id != environment_id);
        }
        Ok(())
    }

    async fn list_folders(
        &self,
        project_id: &ProjectId,
        environment: &EnvironmentSlug,
        path: &FolderPath,
        depth: Depth,
    ) -> Result<Vec<RemoteFolder>, ApiError> {
        let project_id = project_id.as_str();
        let environment = environment.as_str();
        let path = path.as_str();
        let recursive = depth.is_recursive();
        self.enter("list_folders", "GET", "/api/v2/folders")?;
        let store = self.store();
        let prefix = if path == "/" {
            "/".to_string()
        } else {
            format!("{path}/")
        };
        Ok(store
            .folders
            .get(&(project_id.to_string(), environment.to_string()))
            .map(|folders| {
                folders
                    .values()
                    .filter(|f| {
                        f.path.starts_with(&prefix)
                            && (recursive || !f.path[prefix.len()..].contains('/'))
                    })
                    .cloned()
                    .collect()
            })
            .unwrap_or_default())
    }

    async fn create_folder(&self, request: &CreateFolder) -> Result<RemoteFolder, ApiError> {
        let request = &FolderRequest::from(request);
        self.enter("create_folder", "POST", "/api/v2/folders")?;
        let mut store = self.store();
        if !env_exists(&store, &request.project_id, &request.environment) {
            return Err(ApiError::NotFound(context(
                "POST",
                "/api/v2/folders",
                "environment not found",
            )));
        }
        let parent = request.parent_path.trim_end_matches('/');
        let full = format!("{parent}/{}", request.folder);
        let key = (request.project_id.clone(), request.environment.clone());
        if store
            .folders
            .get(&key)
            .is_some_and(|f| f.contains_key(&full))
        {
            return Err(ApiError::AlreadyExists(context(
                "POST",
                "/api/v2/folders",
                format!(
                    "Folder with name '{}' already exists in path '{}'",
                    request.folder, request.parent_path
                ),
            )));
        }
        // Missing parents are created, as Infisical does.
        let mut current = String::new();
        let segments: Vec<&str> = full.trim_start_matches('/').split('/').collect();
        let mut created = None;
        for (index, segment) in segments.iter().enumerate() {
            let parent_path = if current.is_empty() {
                "/".to_string()
            } else {
                current.clone()
            };
            current = format!("{current}/{segment}");
            let exists = store
                .folders
                .get(&key)
                .is_some_and(|f| f.contains_key(&current));
            if exists {
                continue;
            }
            let id = store.id("folder");
            let last = index + 1 == segments.len();
            let folder = RemoteFolder {
                id: FolderId::new(id),
                name: (*segment).to_string(),
                path: current.clone(),
                parent_id: Some(FolderId::new(parent_path)),
                description: if last {
                    request.description.clone()
                } else {
                    None
                },
            };
            store
                .folders
                .entry(key.clone())
                .or_default()
                .insert(current.clone(), folder.clone());
            created = Some(folder);
        }
        created.ok_or_else(|| {
            ApiError::BadRequest(context("POST", "/api/v2/folders", "nothing created"))
        })
    }

    async fn delete_folder(&self, request: &DeleteFolder) -> Result<(), ApiError> {
        let request = &FolderRequest::from(request);
        self.enter("delete_folder", "DELETE", "/api/v2/folders/{idOrName}")?;
        let mut store = self.store();
        let parent = request.parent_path.trim_end_matches('/');
        let full = format!("{parent}/{}", request.folder);
        let key = (request.project_id.clone(), request.environment.clone());
        if !store
            .folders
            .get(&key)
            .is_some_and(|f| f.contains_key(&full))
        {
            return Err(ApiError::NotFound(context(
                "DELETE",
                "/api/v2/folders/{idOrName}",
                "folder not found",
            )));
        }
        let prefix = format!("{full}/");
        let has_children = store
            .folders
            .get(&key)
            .is_some_and(|f| f.keys().any(|p| p.starts_with(&prefix)))
            || store.secrets.iter().any(|((p, e, path), secrets)| {
                p == &key.0
                    && e == &key.1
                    && (path == &full || path.starts_with(&prefix))
                    && !secrets.is_empty()
            });
        if has_children && !request.force {
            return Err(ApiError::BadRequest(context(
                "DELETE",
                "/api/v2/folders/{idOrName}",
                format!(
                    "Cannot delete folder \"{}\" because it contains resources. Use forceDelete=true to delete it forcefully.",
                    request.folder
                ),
            )));
        }
        if let Some(folders) = store.folders.get_mut(&key) {
            folders.retain(|p, _| p != &full && !p.starts_with(&prefix));
        }
        store.secrets.retain(|(p, e, path), _| {
            !(p == &key.0 && e == &key.1 && (path == &full || path.starts_with(&prefix)))
        });
        store.imports.retain(|(p, e, path), _| {
            !(p == &key.0 && e == &key.1 && (path == &full || path.starts_with(&prefix)))
        });
        Ok(())
    }

    async fn list_secrets(
        &self,
        project_id: &ProjectId,
        environment: &EnvironmentSlug,
        path: &FolderPath,
        depth: Depth,
    ) -> Result<Vec<RemoteSecret>, ApiError> {
        let project_id = project_id.as_str();
        let environment = environment.as_str();
        let path = path.as_str();
        let recursive = depth.is_recursive();
        self.enter("list_secrets", "GET", "/api/v4/secrets")?;
        let store = self.store();
        let tags = store.tags.get(project_id).cloned().unwrap_or_default();
        let prefix = if path == "/" {
            "/".to_string()
        } else {
            format!("{path}/")
        };
        let mut out = Vec::new();
        for ((p, e, folder), secrets) in &store.secrets {
            if p != project_id || e != environment {
                continue;
            }
            let inside = folder == path || (recursive && folder.starts_with(&prefix));
            if !inside {
                continue;
            }
            for (key, secret) in secrets {
                out.push(Self::remote_secret(&tags, folder, key, secret));
            }
        }
        Ok(out)
    }

    async fn create_secrets(
        &self,
        scope: &SecretScope,
        secrets: &[SecretWrite],
    ) -> Result<WriteOutcome, ApiError> {
        let scope = &Scope::from(scope);
        let route = "/api/v4/secrets/batch";
        self.enter("create_secrets", "POST", route)?;
        let mut store = self.store();
        if !folder_exists(&store, &scope.project_id, &scope.environment, &scope.path) {
            return Err(ApiError::NotFound(context(
                "POST",
                route,
                "folder not found",
            )));
        }
        let key = (
            scope.project_id.clone(),
            scope.environment.clone(),
            scope.path.clone(),
        );
        let existing: Vec<&str> = secrets
            .iter()
            .filter(|s| {
                store
                    .secrets
                    .get(&key)
                    .is_some_and(|m| m.contains_key(&s.key))
            })
            .map(|s| s.key.as_str())
            .collect();
        if !existing.is_empty() {
            return Err(ApiError::AlreadyExists(context(
                "POST",
                route,
                format!("Secret already exists: {}", existing.join(",")),
            )));
        }
        let mut written = Vec::new();
        for write in secrets {
            let id = store.id("secret");
            let stored = StoredSecret {
                id,
                value: normalize_value(write.value.as_ref().map(SecretValue::expose).unwrap_or("")),
                comment: write.comment.clone().unwrap_or_default().trim().to_string(),
                tag_ids: write.tag_ids.clone().unwrap_or_default(),
                metadata: write.metadata.clone().unwrap_or_default(),
                version: 1,
            };
            let tags = store
                .tags
                .get(&scope.project_id)
                .cloned()
                .unwrap_or_default();
            written.push(Self::remote_secret(&tags, &scope.path, &write.key, &stored));
            store
                .secrets
                .entry(key.clone())
                .or_default()
                .insert(write.key.clone(), stored);
        }
        Ok(WriteOutcome::Applied(written))
    }

    async fn update_secrets(
        &self,
        scope: &SecretScope,
        secrets: &[SecretWrite],
    ) -> Result<WriteOutcome, ApiError> {
        let scope = &Scope::from(scope);
        let route = "/api/v4/secrets/batch";
        self.enter("update_secrets", "PATCH", route)?;
        let mut store = self.store();
        let key = (
            scope.project_id.clone(),
            scope.environment.clone(),
            scope.path.clone(),
        );
        let missing: Vec<&str> = secrets
            .iter()
            .filter(|s| {
                !store
                    .secrets
                    .get(&key)
                    .is_some_and(|m| m.contains_key(&s.key))
            })
            .map(|s| s.key.as_str())
            .collect();
        if !missing.is_empty() {
            return Err(ApiError::NotFound(context(
                "PATCH",
                route,
                format!("Secret does not exist: {}", missing.join(", ")),
            )));
        }
        let tags = store
            .tags
            .get(&scope.project_id)
            .cloned()
            .unwrap_or_default();
        let mut written = Vec::new();
        let folder = store.secrets.entry(key).or_default();
        for write in secrets {
            if let Some(stored) = folder.get_mut(&write.key) {
                if let Some(value) = &write.value {
                    stored.value = normalize_value(value.expose());
                }
                if let Some(comment) = &write.comment {
                    stored.comment = comment.trim().to_string();
                }
                if let Some(tag_ids) = &write.tag_ids {
                    stored.tag_ids = tag_ids.clone();
                }
                if let Some(metadata) = &write.metadata {
                    stored.metadata = metadata.clone();
                }
                stored.version += 1;
                written.push(Self::remote_secret(&tags, &scope.path, &write.key, stored));
            }
        }
        Ok(WriteOutcome::Applied(written))
    }

    async fn delete_secrets(
        &self,
        scope: &SecretScope,
        secrets: &[SecretDelete],
    ) -> Result<WriteOutcome, ApiError> {
        let scope = &Scope::from(scope);
        let route = "/api/v4/secrets/batch";
        self.enter("delete_secrets", "DELETE", route)?;
        let mut store = self.store();
        let key = (
            scope.project_id.clone(),
            scope.environment.clone(),
            scope.path.clone(),
        );
        let missing = secrets.iter().any(|s| {
            !store
                .secrets
                .get(&key)
                .is_some_and(|m| m.contains_key(&s.key))
        });
        if missing {
            return Err(ApiError::NotFound(context(
                "DELETE",
                route,
                "One or more secrets does not exist",
            )));
        }
        if let Some(folder) = store.secrets.get_mut(&key) {
            for delete in secrets {
                folder.remove(&delete.key);
            }
        }
        Ok(WriteOutcome::Applied(Vec::new()))
    }

    async fn list_imports(&self, scope: &SecretScope) -> Result<Vec<RemoteImport>, ApiError> {
        let scope = &Scope::from(scope);
        self.enter("list_imports", "GET", IMPORTS)?;
        let store = self.store();
        import_folder(&store, scope, "GET")?;
        Ok(store
            .imports
            .get(&import_key(scope))
            .cloned()
            .unwrap_or_default())
    }

    async fn create_import(
        &self,
        scope: &SecretScope,
        environment: &EnvironmentSlug,
        path: &FolderPath,
    ) -> Result<RemoteImport, ApiError> {
        let environment = environment.as_str();
        let path = path.as_str();
        let scope = &Scope::from(scope);
        self.enter("create_import", "POST", IMPORTS)?;
        let mut store = self.store();
        import_folder(&store, scope, "POST")?;
        if !env_exists(&store, &scope.project_id, environment) {
            return Err(ApiError::NotFound(context(
                "POST",
                IMPORTS,
                "The requested entity is not found",
            )));
        }
        let imports_back = store
            .imports
            .get(&(
                scope.project_id.clone(),
                environment.to_string(),
                path.to_string(),
            ))
            .is_some_and(|list| {
                list.iter()
                    .any(|i| i.environment == scope.environment && i.path == scope.path)
            });
        if (environment == scope.environment && path == scope.path) || imports_back {
            return Err(ApiError::BadRequest(context(
                "POST",
                IMPORTS,
                "Cyclic import not allowed",
            )));
        }
        let id = store.id("import");
        let list = store.imports.entry(import_key(scope)).or_default();
        let import = RemoteImport {
            id,
            environment: environment.to_string(),
            path: path.to_string(),
            position: list.len() as u32 + 1,
            replication: false,
            reserved: false,
        };
        list.push(import.clone());
        Ok(import)
    }

    async fn move_import(
        &self,
        scope: &SecretScope,
        import_id: &str,
        position: u32,
    ) -> Result<RemoteImport, ApiError> {
        let scope = &Scope::from(scope);
        self.enter("move_import", "PATCH", IMPORT)?;
        let mut store = self.store();
        import_folder(&store, scope, "PATCH")?;
        let list = store.imports.entry(import_key(scope)).or_default();
        let Some(index) = list.iter().position(|i| i.id == import_id) else {
            return Err(ApiError::BadRequest(context(
                "PATCH",
                IMPORT,
                "Secret import not found",
            )));
        };
        let moved = list.remove(index);
        let target = (position.max(1) as usize - 1).min(list.len());
        list.insert(target, moved);
        for (index, import) in list.iter_mut().enumerate() {
            import.position = index as u32 + 1;
        }
        Ok(list[target].clone())
    }

    async fn delete_import(&self, scope: &SecretScope, import_id: &str) -> Result<(), ApiError> {
        let scope = &Scope::from(scope);
        self.enter("delete_import", "DELETE", IMPORT)?;
        let mut store = self.store();
        import_folder(&store, scope, "DELETE")?;
        let list = store.imports.entry(import_key(scope)).or_default();
        let Some(index) = list.iter().position(|i| i.id == import_id) else {
            return Err(ApiError::NotFound(context(
                "DELETE",
                IMPORT,
                format!("Secret import with folder ID '{import_id}' not found"),
            )));
        };
        list.remove(index);
        for (index, import) in list.iter_mut().enumerate() {
            import.position = index as u32 + 1;
        }
        Ok(())
    }

    async fn list_tags(&self, project_id: &ProjectId) -> Result<Vec<RemoteTag>, ApiError> {
        let project_id = project_id.as_str();
        self.enter("list_tags", "GET", "/api/v1/projects/{id}/tags")?;
        Ok(self
            .store()
            .tags
            .get(project_id)
            .cloned()
            .unwrap_or_default())
    }

    async fn create_tag(
        &self,
        project_id: &ProjectId,
        slug: &TagSlug,
    ) -> Result<RemoteTag, ApiError> {
        let project_id = project_id.as_str();
        let slug = slug.as_str();
        let route = "/api/v1/projects/{id}/tags";
        self.enter("create_tag", "POST", route)?;
        let mut store = self.store();
        if store
            .tags
            .get(project_id)
            .is_some_and(|t| t.iter().any(|t| t.slug == slug))
        {
            return Err(ApiError::AlreadyExists(context(
                "POST",
                route,
                "tag exists",
            )));
        }
        let id = store.id("tag");
        let tag = RemoteTag {
            id,
            slug: slug.to_string(),
        };
        store
            .tags
            .entry(project_id.to_string())
            .or_default()
            .push(tag.clone());
        Ok(tag)
    }
}
