//! Secret writes: creates and updates through the v4 batch routes (one call per folder and at
//! most [`BATCH_SIZE`] secrets), then deletes.

use std::collections::{BTreeMap, BTreeSet, HashMap};

use crate::infisical::api::{SecretDelete, SecretScope, SecretWrite, WriteOutcome};
use crate::infisical::error::ApiError;
use crate::model::document::BackupTarget;
use crate::model::{Address, EnvironmentSlug, FolderPath, TagSlug};
use crate::model::{GenerateRule, SecretValue};
use crate::plan::ownership::stored_metadata;
use crate::plan::{Change, FieldChange, Resolution};
use crate::resolve::bitwarden::BitwardenError;
use crate::resolve::bitwarden::backup::backed_up_value;
use crate::resolve::generate::generate_value;

use super::run::{Planned, ProjectRun, SecretAt, Write};
use super::{BATCH_SIZE, Status};
use crate::errors::cause_chain;

/// One batch: an environment, a folder and what it does.
type BatchKey = (EnvironmentSlug, FolderPath, Write);

/// Why a secret's write could not be prepared (nothing was sent for it).
#[derive(Debug, thiserror::Error)]
pub(super) enum SecretWriteError {
    /// The value was not resolved.
    #[error("the value is not available at apply time (unresolved)")]
    Unresolved,
    /// A create without a value.
    #[error("a created secret needs a value")]
    NoValue,
    /// Listing or creating its tags failed.
    #[error("tags: {}", cause_chain(.0))]
    Tags(ApiError),
    /// A generated value to back up, and nowhere to back it up.
    #[error(
        "`backupTo: bitwarden` needs `bw serve` for the backup (--bitwarden-url); \
         the secret is not created without it"
    )]
    NoBackupStore,
    /// The backup of a generated value failed.
    #[error("backup to bitwarden: {}", cause_chain(.0))]
    Backup(BitwardenError),
}

impl ProjectRun<'_> {
    /// Tag ids for `slugs`, listing the project's tags once and creating missing ones.
    async fn tag_ids(&mut self, slugs: &BTreeSet<TagSlug>) -> Result<Vec<String>, ApiError> {
        let project_id = self.project_id.clone().unwrap_or_default();
        if slugs.iter().any(|s| !self.tags.contains_key(s)) && !self.tags_listed {
            for tag in self.api.list_tags(&project_id).await? {
                if let Ok(slug) = TagSlug::new(tag.slug) {
                    self.tags.insert(slug, tag.id);
                }
            }
            self.tags_listed = true;
        }
        let mut ids = Vec::with_capacity(slugs.len());
        for slug in slugs {
            let id = match self.tags.get(slug) {
                Some(id) => id.clone(),
                None => {
                    let tag = self.api.create_tag(&project_id, slug).await?;
                    self.tags.insert(slug.clone(), tag.id.clone());
                    tag.id
                }
            };
            ids.push(id);
        }
        Ok(ids)
    }

    async fn secret_write(
        &mut self,
        change: &Change,
        at: &SecretAt<'_>,
        write_kind: Write,
    ) -> Result<SecretWrite, SecretWriteError> {
        let source = self
            .resolved
            .desired
            .secrets
            .get(&change.address)
            .map(|secret| &secret.source);
        let mut write = SecretWrite {
            key: at.key.to_string(),
            value: None,
            comment: None,
            tag_ids: None,
            metadata: None,
        };
        for field in &change.fields {
            match field {
                FieldChange::Value { .. } => {
                    write.value = Some(match self.resolved.resolution(&change.address) {
                        Some(Resolution::Value { value, .. }) => value.clone(),
                        Some(Resolution::Generate(rule)) if write_kind == Write::Create => {
                            self.generated_value(&change.address, rule).await?
                        }
                        _ => return Err(SecretWriteError::Unresolved),
                    });
                }
                FieldChange::Comment { after, .. } => write.comment = Some(after.clone()),
                FieldChange::Tags { after, .. } => {
                    let ids = self.tag_ids(after).await.map_err(SecretWriteError::Tags)?;
                    write.tag_ids = Some(ids);
                }
                FieldChange::Metadata { after, .. } => {
                    write.metadata = Some(stored_metadata(after, source).into_iter().collect());
                }
                // The marker is written with every secret write, below.
                FieldChange::Marker { .. }
                | FieldChange::Name { .. }
                | FieldChange::Description { .. }
                | FieldChange::Position { .. } => {}
            }
        }
        if write_kind == Write::Create && write.value.is_none() {
            return Err(SecretWriteError::NoValue);
        }
        // Every write records the marker and the declared source (`infisical-gitops/generate`,
        // `infisical-gitops/literal`) next to the live user metadata, so a record never
        // outlives the source it describes (a literal that became a Bitwarden reference loses
        // its `literal` record with the value's update).
        if write.metadata.is_none() {
            let live = self.live_metadata(at);
            write.metadata = Some(stored_metadata(&live, source).into_iter().collect());
        }
        Ok(write)
    }

    /// A new generated value. With `backupTo: bitwarden`: the backed-up value when one exists
    /// (a previous run stored it and stopped before writing Infisical), else a fresh value that
    /// is stored in the backup first. A failed backup stops the create.
    async fn generated_value(
        &self,
        address: &Address,
        rule: &GenerateRule,
    ) -> Result<SecretValue, SecretWriteError> {
        match rule.backup_to {
            None => Ok(generate_value(rule)),
            Some(BackupTarget::Bitwarden) => {
                let store = self
                    .generated_store
                    .ok_or(SecretWriteError::NoBackupStore)?;
                backed_up_value(store, address, || generate_value(rule))
                    .await
                    .map_err(SecretWriteError::Backup)
            }
        }
    }

    fn live_metadata(&self, at: &SecretAt<'_>) -> BTreeMap<String, String> {
        self.live
            .projects
            .get(&self.project)
            .and_then(|p| p.environments.get(at.environment))
            .and_then(|e| e.secrets.get(&(at.path.clone(), at.key.clone())))
            .map(|s| s.metadata.clone())
            .unwrap_or_default()
    }

    fn scope(&self, environment: &EnvironmentSlug, path: &FolderPath) -> Option<SecretScope> {
        Some(SecretScope {
            project_id: self.project_id.clone()?,
            environment: environment.clone(),
            path: path.clone(),
        })
    }

    pub(super) async fn write_secrets(&mut self, changes: Vec<(Planned<'_, SecretAt<'_>>, Write)>) {
        // One batch per folder and action, in plan order of the folders.
        let mut groups: Vec<(BatchKey, Vec<Planned<'_, SecretAt<'_>>>)> = Vec::new();
        let mut positions: HashMap<BatchKey, usize> = HashMap::new();
        for (planned, write) in changes {
            let key = (
                planned.at.environment.clone(),
                planned.at.path.clone(),
                write,
            );
            let position = *positions.entry(key.clone()).or_insert_with(|| {
                groups.push((key, Vec::new()));
                groups.len() - 1
            });
            groups[position].1.push(planned);
        }
        for ((environment, path, write), members) in groups {
            for chunk in members.chunks(BATCH_SIZE) {
                self.write_batch(&environment, &path, write, chunk).await;
            }
        }
    }

    async fn write_batch(
        &mut self,
        environment: &EnvironmentSlug,
        path: &FolderPath,
        write_kind: Write,
        chunk: &[Planned<'_, SecretAt<'_>>],
    ) {
        let mut writes = Vec::new();
        let mut members = Vec::new();
        for planned in chunk {
            let (index, change) = (planned.index, planned.change);
            if self.skip_if_blocked(index, change) {
                continue;
            }
            match self.secret_write(change, &planned.at, write_kind).await {
                Ok(write) => {
                    writes.push(write);
                    members.push((index, change));
                }
                Err(err) => self.record(
                    index,
                    change,
                    Status::Failed {
                        reason: err.to_string(),
                    },
                ),
            }
        }
        if writes.is_empty() {
            return;
        }
        let Some(scope) = self.scope(environment, path) else {
            for (index, change) in members {
                self.missing_id(index, change);
            }
            return;
        };
        let result = match write_kind {
            Write::Create => self.api.create_secrets(&scope, &writes).await,
            Write::Update => self.api.update_secrets(&scope, &writes).await,
        };
        drop(writes);
        self.record_batch(members, result);
    }

    fn record_batch(
        &mut self,
        members: Vec<(usize, &Change)>,
        result: Result<WriteOutcome, ApiError>,
    ) {
        match result {
            Ok(WriteOutcome::Applied(_)) => {
                for (index, change) in members {
                    self.record(index, change, Status::Done);
                }
            }
            Ok(WriteOutcome::PendingApproval { approval_id }) => {
                for (index, change) in members {
                    self.record(
                        index,
                        change,
                        Status::PendingApproval {
                            approval_id: approval_id.clone(),
                        },
                    );
                }
            }
            Err(err) => {
                for (index, change) in members {
                    self.fail(index, change, &err);
                }
            }
        }
    }

    pub(super) async fn delete_secrets(&mut self, changes: Vec<Planned<'_, SecretAt<'_>>>) {
        let mut groups: BTreeMap<(EnvironmentSlug, FolderPath), Vec<Planned<'_, SecretAt<'_>>>> =
            BTreeMap::new();
        for planned in changes {
            groups
                .entry((planned.at.environment.clone(), planned.at.path.clone()))
                .or_default()
                .push(planned);
        }
        for ((environment, path), members) in groups.into_iter().rev() {
            for chunk in members.chunks(BATCH_SIZE) {
                let Some(scope) = self.scope(&environment, &path) else {
                    for planned in chunk {
                        self.missing_id(planned.index, planned.change);
                    }
                    continue;
                };
                let deletes: Vec<SecretDelete> = chunk
                    .iter()
                    .map(|planned| SecretDelete {
                        key: planned.at.key.to_string(),
                    })
                    .collect();
                let result = self.api.delete_secrets(&scope, &deletes).await;
                let members = chunk.iter().map(|p| (p.index, p.change)).collect();
                self.record_batch(members, result);
            }
        }
    }
}
