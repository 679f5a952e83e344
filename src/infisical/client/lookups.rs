//! Re-reads after a write whose outcome is unknown.

use super::*;
use crate::infisical::api::Depth;
use crate::infisical::ids::ProjectId;
use crate::model::TagSlug;

impl HttpClient {
    // -----------------------------------------------------------------------------------------
    // Re-reads

    pub(super) async fn find_environment(
        &self,
        project_id: &str,
        slug: &str,
    ) -> Result<Option<RemoteEnvironment>, ApiError> {
        let call = Call::new(
            Method::GET,
            Route::new(
                "/api/v1/projects/{projectId}/environments/slug/{slug}",
                &[project_id, slug],
            ),
            Safety::Idempotent,
        );
        Ok(self
            .get_optional::<wire::EnvironmentEnvelope>(call)
            .await?
            .map(|e| e.environment.into()))
    }

    pub(super) async fn find_folder(
        &self,
        request: &CreateFolder,
    ) -> Result<Option<RemoteFolder>, ApiError> {
        let listed = match self
            .list_folders(
                &request.project_id,
                &request.environment,
                &request.parent_path,
                Depth::Direct,
            )
            .await
        {
            Ok(folders) => folders,
            // the parent does not exist: neither does the folder
            Err(ApiError::NotFound(_)) => return Ok(None),
            Err(e) => return Err(e),
        };
        Ok(listed.into_iter().find(|f| f.name == request.name))
    }

    pub(super) async fn find_tag(
        &self,
        project_id: &ProjectId,
        slug: &TagSlug,
    ) -> Result<Option<RemoteTag>, ApiError> {
        Ok(self
            .list_tags(project_id)
            .await?
            .into_iter()
            .find(|t| t.slug == slug.as_str()))
    }

    /// After a batch create with unknown outcome: `Some` when every key exists with the value
    /// sent (it happened), `None` otherwise (repeat it: the server answers "already exists"
    /// for keys someone else created).
    pub(super) async fn find_created_secrets(
        &self,
        scope: &SecretScope,
        secrets: &[SecretWrite],
    ) -> Result<Option<WriteOutcome>, ApiError> {
        let live = match self
            .list_secrets(
                &scope.project_id,
                &scope.environment,
                &scope.path,
                Depth::Direct,
            )
            .await
        {
            Ok(live) => live,
            Err(ApiError::NotFound(_)) => return Ok(None),
            Err(e) => return Err(e),
        };
        let mut found = Vec::with_capacity(secrets.len());
        for write in secrets {
            let Some(secret) = live.iter().find(|s| s.key == write.key) else {
                return Ok(None);
            };
            let same_value = match (&write.value, &secret.value) {
                (Some(ours), Some(theirs)) => ours.matches(theirs),
                (None, _) => true,
                (Some(_), None) => false,
            };
            if !same_value {
                return Ok(None);
            }
            found.push(secret.clone());
        }
        Ok(Some(WriteOutcome::Applied(found)))
    }

    /// After a batch delete with unknown outcome: `Some` when none of the keys exists any more.
    pub(super) async fn find_deleted_secrets(
        &self,
        scope: &SecretScope,
        secrets: &[SecretDelete],
    ) -> Result<Option<WriteOutcome>, ApiError> {
        let live = self
            .list_secrets(
                &scope.project_id,
                &scope.environment,
                &scope.path,
                Depth::Direct,
            )
            .await?;
        let any_left = secrets.iter().any(|d| live.iter().any(|s| s.key == d.key));
        Ok((!any_left).then(|| WriteOutcome::Applied(Vec::new())))
    }
}
