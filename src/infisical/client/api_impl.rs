//! The [`InfisicalApi`] implementation.

use super::*;
use crate::infisical::api::Depth;
use crate::infisical::ids::{EnvironmentId, ProjectId};
use crate::model::{EnvironmentSlug, FolderPath, SecretKey, TagSlug};

/// A write answer: the secrets written, or a pending approval (nothing written).
fn write_outcome(call: &Call, raw: &Raw, path: &str) -> Result<WriteOutcome, ApiError> {
    let answer: wire::WriteEnvelope = call.decode(raw)?;
    if let Some(approval) = answer.approval {
        tracing::warn!(
            path = %call.route.display(),
            secret_path = path,
            "the folder is under a change-approval policy: an approval request was opened, nothing was written"
        );
        return Ok(WriteOutcome::PendingApproval {
            approval_id: approval.id,
        });
    }
    let secrets = match (answer.secrets, answer.secret) {
        (Some(secrets), _) => secrets,
        (None, Some(secret)) => vec![secret],
        (None, None) => {
            return Err(ApiError::Decode(call.context(
                None,
                "answer carries neither secrets nor an approval".into(),
            )));
        }
    };
    Ok(WriteOutcome::Applied(
        secrets.into_iter().map(|s| s.into_remote(path)).collect(),
    ))
}

/// The request of a v4 batch create (`POST`) or update (`PATCH`) for one folder, with every
/// value registered for redaction; also returns the normalised folder path.
fn batch_write_call(
    method: Method,
    safety: Safety,
    mode: Option<&'static str>,
    scope: &SecretScope,
    secrets: &[SecretWrite],
) -> Result<(Call, String), ApiError> {
    let path = wire::normalize_path(scope.path.as_str());
    let call = Call::new(method, Route::new("/api/v4/secrets/batch", &[]), safety)
        .redacting(values_of(secrets))
        .json(&wire::BatchWriteRequest {
            project_id: scope.project_id.as_str(),
            environment: scope.environment.as_str(),
            secret_path: &path,
            mode,
            secrets: secrets
                .iter()
                .map(wire::SecretItemRequest::from_write)
                .collect(),
        })?;
    Ok((call, path))
}

fn values_of(secrets: &[SecretWrite]) -> Vec<SecretValue> {
    secrets.iter().filter_map(|s| s.value.clone()).collect()
}

/// A project answer that may be bare (`GET …/slug/{slug}`) or wrapped (`{ "project": … }`).
#[derive(serde::Deserialize)]
#[serde(untagged)]
enum ProjectAnswer {
    Wrapped(wire::ProjectEnvelope),
    Bare(wire::ProjectWire),
}

impl From<ProjectAnswer> for RemoteProject {
    fn from(answer: ProjectAnswer) -> Self {
        match answer {
            ProjectAnswer::Wrapped(w) => w.project.into(),
            ProjectAnswer::Bare(p) => p.into(),
        }
    }
}

fn bool_str(value: bool) -> &'static str {
    if value { "true" } else { "false" }
}

#[async_trait]
impl InfisicalApi for HttpClient {
    async fn list_projects(&self) -> Result<Vec<RemoteProject>, ApiError> {
        let call = Call::new(
            Method::GET,
            Route::new("/api/v1/projects", &[]),
            Safety::Idempotent,
        )
        .query("type", "secret-manager");
        let answer: wire::ProjectsEnvelope = self.get(call).await?;
        Ok(answer.projects.into_iter().map(Into::into).collect())
    }

    async fn get_project_by_slug(&self, slug: &str) -> Result<Option<RemoteProject>, ApiError> {
        let call = Call::new(
            Method::GET,
            Route::new("/api/v1/projects/slug/{slug}", &[slug]),
            Safety::Idempotent,
        );
        Ok(self
            .get_optional::<ProjectAnswer>(call)
            .await?
            .map(Into::into))
    }

    async fn get_project(&self, project_id: &ProjectId) -> Result<Option<RemoteProject>, ApiError> {
        let project_id = project_id.as_str();
        let call = Call::new(
            Method::GET,
            Route::new("/api/v1/projects/{projectId}", &[project_id]),
            Safety::Idempotent,
        );
        Ok(self
            .get_optional::<ProjectAnswer>(call)
            .await?
            .map(Into::into))
    }

    async fn create_project(&self, request: &CreateProject) -> Result<RemoteProject, ApiError> {
        let call = Call::new(
            Method::POST,
            Route::new("/api/v1/projects", &[]),
            Safety::NonIdempotent,
        )
        .json(&wire::CreateProjectRequest {
            project_name: &request.name,
            slug: &request.slug,
            project_description: request.description.as_deref(),
            kind: "secret-manager",
            should_create_default_envs: request.create_default_environments,
        })?;
        self.execute_create(
            &call,
            |raw| call.decode::<ProjectAnswer>(raw).map(Into::into),
            || async {
                // the slug exists: ours only if it carries the name we sent
                Ok(self
                    .get_project_by_slug(&request.slug)
                    .await?
                    .filter(|p| p.name == request.name))
            },
        )
        .await
    }

    async fn update_project(
        &self,
        project_id: &ProjectId,
        request: &UpdateProject,
    ) -> Result<RemoteProject, ApiError> {
        let call = Call::new(
            Method::PATCH,
            Route::new("/api/v1/projects/{projectId}", &[project_id.as_str()]),
            Safety::Idempotent,
        )
        .json(&wire::UpdateProjectRequest {
            name: request.name.as_deref(),
            description: request.description.as_deref(),
        })?;
        let updated: RemoteProject = self.get::<ProjectAnswer>(call).await?.into();
        if !updated.environments.is_empty() {
            return Ok(updated);
        }
        // The update answer carries no environments: read the project once more.
        Ok(self.get_project(project_id).await?.unwrap_or(updated))
    }

    async fn delete_project(&self, project_id: &ProjectId) -> Result<(), ApiError> {
        let project_id = project_id.as_str();
        // No body and no content type: an empty JSON body makes the server answer 500.
        let call = Call::new(
            Method::DELETE,
            Route::new("/api/v1/projects/{projectId}", &[project_id]),
            Safety::Delete,
        );
        self.execute_delete(&call).await.map(|_| ())
    }

    async fn create_environment(
        &self,
        project_id: &ProjectId,
        request: &CreateEnvironment,
    ) -> Result<RemoteEnvironment, ApiError> {
        let project_id = project_id.as_str();
        let call = Call::new(
            Method::POST,
            Route::new("/api/v1/projects/{projectId}/environments", &[project_id]),
            Safety::NonIdempotent,
        )
        .json(&wire::EnvironmentRequest {
            name: Some(&request.name),
            slug: Some(&request.slug),
            position: request.position,
        })?;
        self.execute_create(
            &call,
            |raw| {
                call.decode::<wire::EnvironmentEnvelope>(raw)
                    .map(|e| e.environment.into())
            },
            || async {
                Ok(self
                    .find_environment(project_id, &request.slug)
                    .await?
                    .filter(|e| e.name == request.name))
            },
        )
        .await
    }

    async fn update_environment(
        &self,
        project_id: &ProjectId,
        environment_id: &EnvironmentId,
        request: &UpdateEnvironment,
    ) -> Result<RemoteEnvironment, ApiError> {
        let project_id = project_id.as_str();
        let environment_id = environment_id.as_str();
        let call = Call::new(
            Method::PATCH,
            Route::new(
                "/api/v1/projects/{projectId}/environments/{environmentId}",
                &[project_id, environment_id],
            ),
            Safety::Idempotent,
        )
        .json(&wire::EnvironmentRequest {
            name: request.name.as_deref(),
            slug: None,
            position: request.position,
        })?;
        let answer: wire::EnvironmentEnvelope = self.get(call).await?;
        Ok(answer.environment.into())
    }

    async fn delete_environment(
        &self,
        project_id: &ProjectId,
        environment_id: &EnvironmentId,
    ) -> Result<(), ApiError> {
        let project_id = project_id.as_str();
        let environment_id = environment_id.as_str();
        let call = Call::new(
            Method::DELETE,
            Route::new(
                "/api/v1/projects/{projectId}/environments/{environmentId}",
                &[project_id, environment_id],
            ),
            Safety::Delete,
        );
        self.execute_delete(&call).await.map(|_| ())
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
        let path = wire::normalize_path(path);
        let call = Call::new(
            Method::GET,
            Route::new("/api/v2/folders", &[]),
            Safety::Idempotent,
        )
        .query("projectId", project_id)
        .query("environment", environment)
        .query("path", path.clone())
        .query("recursive", bool_str(depth.is_recursive()));
        let raw = self.execute_plain(&call).await?;
        let answer: wire::FoldersEnvelope = call.decode(&raw)?;
        drop(raw);
        let tree = wire::folders_with_paths(&path, answer.folders)
            .map_err(|error| ApiError::Decode(call.context(None, error.to_string())))?;
        if tree.too_deep > 0 {
            tracing::warn!(
                too_deep = tree.too_deep,
                environment,
                limit = crate::model::names::MAX_FOLDER_DEPTH,
                "leaving alone folders deeper than the limit: they are not observed and never changed"
            );
        }
        Ok(tree.folders)
    }

    async fn create_folder(&self, request: &CreateFolder) -> Result<RemoteFolder, ApiError> {
        let parent = wire::normalize_path(request.parent_path.as_str());
        let call = Call::new(
            Method::POST,
            Route::new("/api/v2/folders", &[]),
            Safety::NonIdempotent,
        )
        .json(&wire::FolderRequest {
            project_id: request.project_id.as_str(),
            environment: request.environment.as_str(),
            name: &request.name,
            path: &parent,
            description: request.description.as_deref(),
        })?;
        refuse_long_folder_description(&call, request.description.as_deref())?;
        self.execute_create(
            &call,
            |raw| {
                let folder = call.decode::<wire::FolderEnvelope>(raw)?.folder;
                Ok(RemoteFolder {
                    path: wire::join_path(&parent, &folder.name),
                    id: folder.id.into(),
                    name: folder.name,
                    parent_id: folder.parent_id.map(Into::into),
                    description: folder.description,
                })
            },
            || self.find_folder(request),
        )
        .await
    }

    async fn update_folder(&self, request: &UpdateFolder) -> Result<RemoteFolder, ApiError> {
        let parent = wire::normalize_path(request.parent_path.as_str());
        let call = Call::new(
            Method::PATCH,
            Route::new("/api/v2/folders/{folderId}", &[request.folder_id.as_str()]),
            Safety::Idempotent,
        )
        .json(&wire::FolderRequest {
            project_id: request.project_id.as_str(),
            environment: request.environment.as_str(),
            name: &request.name,
            path: &parent,
            description: request.description.as_deref(),
        })?;
        refuse_long_folder_description(&call, request.description.as_deref())?;
        let folder = self.get::<wire::FolderEnvelope>(call).await?.folder;
        Ok(RemoteFolder {
            path: wire::join_path(&parent, &folder.name),
            id: folder.id.into(),
            name: folder.name,
            parent_id: folder.parent_id.map(Into::into),
            description: folder.description,
        })
    }

    async fn delete_folder(&self, request: &DeleteFolder) -> Result<(), ApiError> {
        let parent = wire::normalize_path(request.parent_path.as_str());
        let call = Call::new(
            Method::DELETE,
            Route::new("/api/v2/folders/{folderIdOrName}", &[&request.folder]),
            Safety::Delete,
        )
        .json(&wire::DeleteFolderRequest {
            project_id: request.project_id.as_str(),
            environment: request.environment.as_str(),
            path: &parent,
            force_delete: request.force,
        })?;
        self.execute_delete(&call).await.map(|_| ())
    }

    async fn list_imports(&self, scope: &SecretScope) -> Result<Vec<RemoteImport>, ApiError> {
        let path = wire::normalize_path(scope.path.as_str());
        let call = Call::new(
            Method::GET,
            Route::new("/api/v2/secret-imports", &[]),
            Safety::Idempotent,
        )
        .query("projectId", scope.project_id.to_string())
        .query("environment", scope.environment.to_string())
        .query("path", path);
        let answer: wire::SecretImportsEnvelope = self.get(call).await?;
        let mut imports: Vec<RemoteImport> = answer
            .secret_imports
            .into_iter()
            .map(wire::SecretImportWire::into_remote)
            .collect();
        imports.sort_by_key(|i| i.position);
        Ok(imports)
    }

    async fn create_import(
        &self,
        scope: &SecretScope,
        environment: &EnvironmentSlug,
        path: &FolderPath,
    ) -> Result<RemoteImport, ApiError> {
        let environment = environment.as_str();
        let path = path.as_str();
        let into = wire::normalize_path(scope.path.as_str());
        let source = wire::normalize_path(path);
        let call = Call::new(
            Method::POST,
            Route::new("/api/v2/secret-imports", &[]),
            Safety::NonIdempotent,
        )
        .json(&wire::SecretImportRequest {
            project_id: scope.project_id.as_str(),
            environment: scope.environment.as_str(),
            path: &into,
            import: wire::ImportSourceRequest {
                environment: Some(environment),
                path: Some(&source),
                position: None,
            },
        })?;
        self.execute_create(
            &call,
            |raw| {
                Ok(call
                    .decode::<wire::SecretImportEnvelope>(raw)?
                    .secret_import
                    .into_remote())
            },
            || async {
                // The server accepts duplicates: only an import of that folder tells that the
                // create happened.
                match self.list_imports(scope).await {
                    Ok(listed) => Ok(listed
                        .into_iter()
                        .rev()
                        .find(|i| i.environment == environment && i.path == source)),
                    Err(ApiError::NotFound(_)) => Ok(None),
                    Err(e) => Err(e),
                }
            },
        )
        .await
    }

    async fn move_import(
        &self,
        scope: &SecretScope,
        import_id: &str,
        position: u32,
    ) -> Result<RemoteImport, ApiError> {
        let into = wire::normalize_path(scope.path.as_str());
        let call = Call::new(
            Method::PATCH,
            Route::new("/api/v2/secret-imports/{id}", &[import_id]),
            Safety::Idempotent,
        )
        .json(&wire::SecretImportRequest {
            project_id: scope.project_id.as_str(),
            environment: scope.environment.as_str(),
            path: &into,
            import: wire::ImportSourceRequest {
                environment: None,
                path: None,
                position: Some(position),
            },
        })?;
        Ok(self
            .get::<wire::SecretImportEnvelope>(call)
            .await?
            .secret_import
            .into_remote())
    }

    async fn delete_import(&self, scope: &SecretScope, import_id: &str) -> Result<(), ApiError> {
        let into = wire::normalize_path(scope.path.as_str());
        let call = Call::new(
            Method::DELETE,
            Route::new("/api/v2/secret-imports/{id}", &[import_id]),
            Safety::Delete,
        )
        .json(&wire::DeleteSecretImportRequest {
            project_id: scope.project_id.as_str(),
            environment: scope.environment.as_str(),
            path: &into,
        })?;
        self.execute_delete(&call).await.map(|_| ())
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
        let path = wire::normalize_path(path);
        let call = Call::new(
            Method::GET,
            Route::new("/api/v4/secrets", &[]),
            Safety::Idempotent,
        )
        .query("projectId", project_id)
        .query("environment", environment)
        .query("secretPath", path.clone())
        .query("recursive", bool_str(depth.is_recursive()))
        .query("expandSecretReferences", "false")
        .query("include_imports", "false")
        .query("viewSecretValue", "true");
        let answer: wire::SecretsEnvelope = self.get(call).await?;
        Ok(answer
            .secrets
            .into_iter()
            .filter(|s| !s.is_personal())
            .map(|s| s.into_remote(&path))
            .collect())
    }

    async fn get_secret(
        &self,
        scope: &SecretScope,
        key: &SecretKey,
    ) -> Result<Option<RemoteSecret>, ApiError> {
        let key = key.as_str();
        let path = wire::normalize_path(scope.path.as_str());
        let call = Call::new(
            Method::GET,
            Route::new("/api/v4/secrets/{secretName}", &[key]),
            Safety::Idempotent,
        )
        .query("projectId", scope.project_id.to_string())
        .query("environment", scope.environment.to_string())
        .query("secretPath", path.clone())
        .query("type", "shared")
        .query("expandSecretReferences", "false")
        .query("viewSecretValue", "true");
        Ok(self
            .get_optional::<wire::SecretEnvelope>(call)
            .await?
            .map(|e| e.secret.into_remote(&path)))
    }

    async fn create_secrets(
        &self,
        scope: &SecretScope,
        secrets: &[SecretWrite],
    ) -> Result<WriteOutcome, ApiError> {
        if secrets.is_empty() {
            return Ok(WriteOutcome::Applied(Vec::new()));
        }
        let (call, path) =
            batch_write_call(Method::POST, Safety::NonIdempotent, None, scope, secrets)?;
        self.execute_create(
            &call,
            |raw| write_outcome(&call, raw, &path),
            || self.find_created_secrets(scope, secrets),
        )
        .await
    }

    async fn update_secrets(
        &self,
        scope: &SecretScope,
        secrets: &[SecretWrite],
    ) -> Result<WriteOutcome, ApiError> {
        if secrets.is_empty() {
            return Ok(WriteOutcome::Applied(Vec::new()));
        }
        let (call, path) = batch_write_call(
            Method::PATCH,
            Safety::Idempotent,
            Some("failOnNotFound"),
            scope,
            secrets,
        )?;
        let raw = self.execute_plain(&call).await?;
        write_outcome(&call, &raw, &path)
    }

    async fn delete_secrets(
        &self,
        scope: &SecretScope,
        secrets: &[SecretDelete],
    ) -> Result<WriteOutcome, ApiError> {
        if secrets.is_empty() {
            return Ok(WriteOutcome::Applied(Vec::new()));
        }
        let path = wire::normalize_path(scope.path.as_str());
        let call = Call::new(
            Method::DELETE,
            Route::new("/api/v4/secrets/batch", &[]),
            Safety::NonIdempotent,
        )
        .json(&wire::BatchDeleteRequest {
            project_id: scope.project_id.as_str(),
            environment: scope.environment.as_str(),
            secret_path: &path,
            secrets: secrets
                .iter()
                .map(|d| wire::DeleteItemRequest {
                    secret_key: &d.key,
                    kind: "shared",
                })
                .collect(),
        })?;
        self.execute_create(
            &call,
            |raw| write_outcome(&call, raw, &path),
            || self.find_deleted_secrets(scope, secrets),
        )
        .await
    }

    async fn list_tags(&self, project_id: &ProjectId) -> Result<Vec<RemoteTag>, ApiError> {
        let project_id = project_id.as_str();
        let call = Call::new(
            Method::GET,
            Route::new("/api/v1/projects/{projectId}/tags", &[project_id]),
            Safety::Idempotent,
        );
        let answer: wire::TagsEnvelope = self.get(call).await?;
        Ok(answer.tags.into_iter().map(Into::into).collect())
    }

    async fn create_tag(
        &self,
        project_id: &ProjectId,
        slug: &TagSlug,
    ) -> Result<RemoteTag, ApiError> {
        let call = Call::new(
            Method::POST,
            Route::new("/api/v1/projects/{projectId}/tags", &[project_id.as_str()]),
            Safety::NonIdempotent,
        )
        .json(&wire::CreateTagRequest {
            slug: slug.as_str(),
            color: TAG_COLOR,
        })?;
        self.execute_create(
            &call,
            |raw| call.decode::<wire::TagEnvelope>(raw).map(|t| t.tag.into()),
            || self.find_tag(project_id, slug),
        )
        .await
    }
}

/// Infisical keeps a folder description in a 255-character column and answers a longer one with
/// a bare 500 "Something went wrong" (reference §12), which looks transient but no retry fixes.
/// `validate` refuses such a description; this guard keeps any other caller from sending one
/// (and from retrying it): the call fails at once with a 422-like error, nothing is sent.
fn refuse_long_folder_description(call: &Call, description: Option<&str>) -> Result<(), ApiError> {
    let Some(description) = description else {
        return Ok(());
    };
    let length = crate::model::limits::infisical_length(description);
    let limit = crate::model::limits::FOLDER_DESCRIPTION;
    if length <= limit {
        return Ok(());
    }
    let issue = format!(
        "description: must be at most {limit} characters (it has {length}); not sent, Infisical answers 500 beyond its {limit}-character column"
    );
    Err(ApiError::Validation {
        context: call.context(None, issue.clone()),
        issues: vec![issue],
    })
}
