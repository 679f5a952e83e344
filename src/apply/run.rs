//! One project's run: the plan's changes split once by kind into typed changes, then the
//! structure (project, environments, folders, imports) and the deletes. Secret writes are in
//! [`super::secrets`].

use std::collections::BTreeMap;

use crate::infisical::api::{
    CreateEnvironment, CreateFolder, CreateProject, DeleteFolder, InfisicalApi, SecretScope,
    UpdateEnvironment, UpdateProject,
};
use crate::infisical::error::ApiError;
use crate::infisical::ids::{EnvironmentId, ProjectId};
use crate::model::{Address, EnvironmentSlug, FolderPath, ProjectSlug, SecretKey, TagSlug};
use crate::plan::ownership::marked_description;
use crate::plan::{Action, Change, LiveState, ResolvedState};
use crate::resolve::bitwarden::backup::GeneratedValueStore;

use super::{ApplyProgress, ChangeOutcome, Status};
use crate::errors::cause_chain;

/// What a change that is not a delete does.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub(super) enum Write {
    /// `Action::Create`.
    Create,
    /// `Action::Update`.
    Update,
}

impl Write {
    /// `None` for a delete.
    fn of(action: Action) -> Option<Self> {
        match action {
            Action::Create => Some(Write::Create),
            Action::Update => Some(Write::Update),
            Action::Delete => None,
        }
    }
}

/// One change of the plan, typed by kind: its index in the plan, the change, and the parts of
/// its address that kind carries, so that no step takes the address apart again (and none
/// can meet a change of another kind).
#[derive(Debug, Clone, Copy)]
pub(super) struct Planned<'a, T> {
    /// Position in the plan (the report is in plan order).
    pub(super) index: usize,
    /// The change.
    pub(super) change: &'a Change,
    /// The address parts of its kind.
    pub(super) at: T,
}

impl<'a, T> Planned<'a, T> {
    fn new(index: usize, change: &'a Change, at: T) -> Self {
        Self { index, change, at }
    }
}

/// A folder: its environment and path.
#[derive(Debug, Clone, Copy)]
pub(super) struct FolderAt<'a> {
    pub(super) environment: &'a EnvironmentSlug,
    pub(super) path: &'a FolderPath,
}

/// A secret: its environment, folder and key.
#[derive(Debug, Clone, Copy)]
pub(super) struct SecretAt<'a> {
    pub(super) environment: &'a EnvironmentSlug,
    pub(super) path: &'a FolderPath,
    pub(super) key: &'a SecretKey,
}

/// An import: the importing folder, and the imported environment and folder.
#[derive(Debug, Clone, Copy)]
pub(super) struct ImportAt<'a> {
    pub(super) environment: &'a EnvironmentSlug,
    pub(super) path: &'a FolderPath,
    pub(super) source_environment: &'a EnvironmentSlug,
    pub(super) source_path: &'a FolderPath,
}

/// A delete of a project or an environment.
#[derive(Debug, Clone, Copy)]
pub(super) enum StructureAt<'a> {
    Project,
    Environment(&'a EnvironmentSlug),
}

/// The changes of one project, split by kind and action.
#[derive(Debug, Default)]
struct Split<'a> {
    projects: Vec<(Planned<'a, ()>, Write)>,
    environments: Vec<(Planned<'a, &'a EnvironmentSlug>, Write)>,
    folders: Vec<(Planned<'a, FolderAt<'a>>, Write)>,
    secrets: Vec<(Planned<'a, SecretAt<'a>>, Write)>,
    imports: Vec<(Planned<'a, ImportAt<'a>>, Write)>,
    secret_deletes: Vec<Planned<'a, SecretAt<'a>>>,
    folder_deletes: Vec<Planned<'a, FolderAt<'a>>>,
    import_deletes: Vec<Planned<'a, ImportAt<'a>>>,
    structure_deletes: Vec<Planned<'a, StructureAt<'a>>>,
}

impl<'a> Split<'a> {
    fn new(changes: Vec<(usize, &'a Change)>) -> Self {
        let mut split = Split::default();
        for (index, change) in changes {
            let write = Write::of(change.action);
            match (&change.address, write) {
                (Address::Project(_), None) => {
                    split
                        .structure_deletes
                        .push(Planned::new(index, change, StructureAt::Project))
                }
                (Address::Project(_), Some(write)) => split
                    .projects
                    .push((Planned::new(index, change, ()), write)),
                (Address::Environment(_, environment), None) => split.structure_deletes.push(
                    Planned::new(index, change, StructureAt::Environment(environment)),
                ),
                (Address::Environment(_, environment), Some(write)) => {
                    split
                        .environments
                        .push((Planned::new(index, change, environment), write));
                }
                (Address::Folder(_, environment, path), write) => {
                    let at = Planned {
                        index,
                        change,
                        at: FolderAt { environment, path },
                    };
                    match write {
                        None => split.folder_deletes.push(at),
                        Some(write) => split.folders.push((at, write)),
                    }
                }
                (Address::Secret(_, environment, path, key), write) => {
                    let at = Planned {
                        index,
                        change,
                        at: SecretAt {
                            environment,
                            path,
                            key,
                        },
                    };
                    match write {
                        None => split.secret_deletes.push(at),
                        Some(write) => split.secrets.push((at, write)),
                    }
                }
                (Address::Import(_, environment, path, source_environment, source_path), write) => {
                    let at = Planned {
                        index,
                        change,
                        at: ImportAt {
                            environment,
                            path,
                            source_environment,
                            source_path,
                        },
                    };
                    match write {
                        None => split.import_deletes.push(at),
                        Some(write) => split.imports.push((at, write)),
                    }
                }
            }
        }
        split
    }
}

pub(super) struct ProjectRun<'a> {
    pub(super) api: &'a dyn InfisicalApi,
    pub(super) progress: Option<&'a dyn ApplyProgress>,
    pub(super) generated_store: Option<&'a dyn GeneratedValueStore>,
    pub(super) resolved: &'a ResolvedState,
    pub(super) live: &'a LiveState,
    pub(super) project: ProjectSlug,
    pub(super) project_id: Option<ProjectId>,
    pub(super) tags: BTreeMap<TagSlug, String>,
    pub(super) tags_listed: bool,
    /// Addresses that failed or were skipped: their descendants are skipped.
    pub(super) failed: Vec<Address>,
    pub(super) outcomes: Vec<(usize, ChangeOutcome)>,
}

pub(super) fn is_under(address: &Address, ancestor: &Address) -> bool {
    match (ancestor, address) {
        (Address::Project(p), other) => other.project() == p && other != ancestor,
        (Address::Environment(p, e), other) => {
            other.project() == p && other.environment() == Some(e) && other != ancestor
        }
        (Address::Folder(p, e, f), Address::Folder(p2, e2, f2)) => {
            p == p2 && e == e2 && f2 != f && f2.starts_with(f)
        }
        (Address::Folder(p, e, f), Address::Secret(p2, e2, f2, _)) => {
            p == p2 && e == e2 && f2.starts_with(f)
        }
        // An import needs both its folder and the folder it imports.
        (
            Address::Folder(p, e, f),
            Address::Import(p2, e2, f2, source_environment, source_path),
        ) => {
            p == p2
                && ((e == e2 && f2.starts_with(f))
                    || (e == source_environment && source_path.starts_with(f)))
        }
        _ => false,
    }
}

impl<'a> ProjectRun<'a> {
    pub(super) fn record(&mut self, index: usize, change: &Change, status: Status) {
        let outcome = ChangeOutcome {
            address: change.address.clone(),
            action: change.action,
            status,
        };
        match &outcome.status {
            Status::Done => {
                tracing::info!(address = %outcome.address, action = ?outcome.action, "applied")
            }
            Status::Failed { reason } => {
                tracing::warn!(address = %outcome.address, action = ?outcome.action, %reason, "failed")
            }
            Status::PendingApproval { .. } => {
                tracing::info!(address = %outcome.address, action = ?outcome.action, "pending approval")
            }
            Status::Skipped { reason } => {
                tracing::info!(address = %outcome.address, action = ?outcome.action, %reason, "skipped")
            }
        }
        if !matches!(outcome.status, Status::Done) {
            self.failed.push(change.address.clone());
        }
        if let Some(progress) = self.progress {
            progress.finished(&outcome);
        }
        self.outcomes.push((index, outcome));
    }

    fn blocked_by(&self, address: &Address) -> Option<Address> {
        self.failed.iter().find(|f| is_under(address, f)).cloned()
    }

    pub(super) fn skip_if_blocked(&mut self, index: usize, change: &Change) -> bool {
        if let Some(parent) = self.blocked_by(&change.address) {
            self.record(
                index,
                change,
                Status::Skipped {
                    reason: format!("`{parent}` was not applied"),
                },
            );
            return true;
        }
        false
    }

    pub(super) fn fail(&mut self, index: usize, change: &Change, err: &ApiError) {
        self.record(
            index,
            change,
            Status::Failed {
                reason: cause_chain(err),
            },
        );
    }

    /// Records `result` as done or failed.
    fn finish(&mut self, index: usize, change: &Change, result: Result<(), ApiError>) {
        match result {
            Ok(()) => self.record(index, change, Status::Done),
            Err(err) => self.fail(index, change, &err),
        }
    }

    pub(super) async fn run(
        mut self,
        changes: Vec<(usize, &'a Change)>,
    ) -> Vec<(usize, ChangeOutcome)> {
        let live_project = self.live.projects.get(&self.project);
        self.project_id = live_project.map(|p| ProjectId::new(p.id.clone()));
        if let Some(project) = live_project {
            self.tags = project.tags.clone();
        }
        let mut split = Split::new(changes);
        for (planned, write) in split.projects {
            self.apply_project(planned, write).await;
        }
        // Environments in display order, so that each position exists when it is used.
        split
            .environments
            .sort_by_key(|(planned, _)| (planned.change.position_after(), planned.index));
        for (planned, write) in split.environments {
            self.apply_environment(planned, write).await;
        }
        for (planned, write) in split.folders {
            self.create_folder(planned, write).await;
        }
        self.write_secrets(split.secrets).await;
        // In plan order: the imports of one folder by their target position.
        for (planned, write) in split.imports {
            self.apply_import(planned, write).await;
        }
        for planned in split.import_deletes {
            self.delete_import(planned).await;
        }
        self.delete_secrets(split.secret_deletes).await;
        for planned in split.folder_deletes {
            self.delete_folder(planned).await;
        }
        for planned in split.structure_deletes.into_iter().rev() {
            self.delete_structure(planned).await;
        }
        self.outcomes
    }

    async fn apply_project(&mut self, planned: Planned<'_, ()>, write: Write) {
        let Planned { index, change, .. } = planned;
        let description = change
            .description_after()
            .map(|d| marked_description(d.as_deref()));
        match write {
            Write::Create => {
                let request = CreateProject {
                    name: change
                        .name_after()
                        .unwrap_or_else(|| self.project.to_string()),
                    slug: self.project.to_string(),
                    description: Some(description.unwrap_or_else(|| marked_description(None))),
                    create_default_environments: false,
                };
                match self.api.create_project(&request).await {
                    Ok(project) => {
                        self.project_id = Some(project.id);
                        self.record(index, change, Status::Done);
                    }
                    Err(err) => self.fail(index, change, &err),
                }
            }
            Write::Update => {
                let Some(project_id) = self.project_id.clone() else {
                    return self.missing_id(index, change);
                };
                let request = UpdateProject {
                    name: change.name_after(),
                    description,
                };
                let result = self.api.update_project(&project_id, &request).await;
                self.finish(index, change, result.map(|_| ()));
            }
        }
    }

    pub(super) fn missing_id(&mut self, index: usize, change: &Change) {
        self.record(
            index,
            change,
            Status::Failed {
                reason: format!(
                    "the id of `{}` is unknown (it was not observed before planning)",
                    change.address
                ),
            },
        );
    }

    fn environment_id(&self, environment: &EnvironmentSlug) -> Option<EnvironmentId> {
        self.live
            .projects
            .get(&self.project)
            .and_then(|p| p.environments.get(environment))
            .map(|e| EnvironmentId::new(e.id.clone()))
    }

    async fn apply_environment(&mut self, planned: Planned<'_, &EnvironmentSlug>, write: Write) {
        let Planned {
            index,
            change,
            at: environment,
        } = planned;
        if self.skip_if_blocked(index, change) {
            return;
        }
        let Some(project_id) = self.project_id.clone() else {
            return self.missing_id(index, change);
        };
        let result = match write {
            Write::Create => {
                let request = CreateEnvironment {
                    name: change
                        .name_after()
                        .unwrap_or_else(|| environment.to_string()),
                    slug: environment.to_string(),
                    position: change.position_after(),
                };
                self.api
                    .create_environment(&project_id, &request)
                    .await
                    .map(|_| ())
            }
            Write::Update => {
                let Some(environment_id) = self.environment_id(environment) else {
                    return self.missing_id(index, change);
                };
                let request = UpdateEnvironment {
                    name: change.name_after(),
                    position: change.position_after(),
                };
                self.api
                    .update_environment(&project_id, &environment_id, &request)
                    .await
                    .map(|_| ())
            }
        };
        self.finish(index, change, result);
    }

    async fn create_folder(&mut self, planned: Planned<'_, FolderAt<'_>>, write: Write) {
        let Planned { index, change, at } = planned;
        if self.skip_if_blocked(index, change) {
            return;
        }
        let Some(project_id) = self.project_id.clone() else {
            return self.missing_id(index, change);
        };
        if write != Write::Create {
            // Folder descriptions are set at creation only; the planner plans no folder updates.
            return self.record(index, change, Status::Done);
        }
        let request = CreateFolder {
            project_id,
            environment: at.environment.clone(),
            parent_path: at.path.parent().unwrap_or_else(FolderPath::root),
            name: at.path.name().to_string(),
            description: Some(marked_description(
                change.description_after().flatten().as_deref(),
            )),
        };
        let result = self.api.create_folder(&request).await;
        self.finish(index, change, result.map(|_| ()));
    }

    async fn delete_folder(&mut self, planned: Planned<'_, FolderAt<'_>>) {
        let Planned { index, change, at } = planned;
        // A folder whose contents failed to go stays (the server would refuse it anyway).
        let blocked = self
            .failed
            .iter()
            .find(|f| is_under(f, &change.address))
            .cloned();
        if let Some(child) = blocked {
            return self.record(
                index,
                change,
                Status::Skipped {
                    reason: format!("`{child}` inside it was not deleted"),
                },
            );
        }
        let Some(project_id) = self.project_id.clone() else {
            return self.missing_id(index, change);
        };
        let request = DeleteFolder {
            project_id,
            environment: at.environment.clone(),
            parent_path: at.path.parent().unwrap_or_else(FolderPath::root),
            folder: at.path.name().to_string(),
            force: false,
        };
        let result = self.api.delete_folder(&request).await;
        self.finish(index, change, result);
    }

    /// The scope of an import's folder.
    fn import_scope(&self, at: &ImportAt<'_>) -> Option<SecretScope> {
        Some(SecretScope {
            project_id: self.project_id.clone()?,
            environment: at.environment.clone(),
            path: at.path.clone(),
        })
    }

    /// The observed imports of `at`'s source in its folder, in position order.
    fn live_imports(&self, at: &ImportAt<'_>) -> Vec<String> {
        let source = (at.source_environment.clone(), at.source_path.clone());
        self.live
            .projects
            .get(&self.project)
            .and_then(|p| p.environments.get(at.environment))
            .and_then(|e| e.imports.get(at.path))
            .map(|imports| {
                imports
                    .iter()
                    .filter(|i| i.manageable_source() == Some(&source))
                    .map(|i| i.id.clone())
                    .collect()
            })
            .unwrap_or_default()
    }

    /// Creates an import (Infisical appends it) and moves it to its planned position, or moves
    /// an existing one. A create or move that did not happen leaves the later imports of its
    /// folder skipped: their positions count on it.
    async fn apply_import(&mut self, planned: Planned<'_, ImportAt<'_>>, write: Write) {
        let Planned { index, change, at } = planned;
        if self.skip_if_blocked(index, change) {
            return;
        }
        let earlier = self.failed.iter().find(|failed| {
            matches!(failed, Address::Import(p2, e2, f2, ..)
                if (p2, e2, f2) == (&self.project, at.environment, at.path))
        });
        if let Some(earlier) = earlier.cloned() {
            return self.record(
                index,
                change,
                Status::Skipped {
                    reason: format!("`{earlier}` before it was not applied"),
                },
            );
        }
        let Some(scope) = self.import_scope(&at) else {
            return self.missing_id(index, change);
        };
        let Some(target) = change.position_after() else {
            return self.record(
                index,
                change,
                Status::Failed {
                    reason: "the plan names no position for this import".to_string(),
                },
            );
        };
        let result = match write {
            Write::Create => {
                match self
                    .api
                    .create_import(&scope, at.source_environment, at.source_path)
                    .await
                {
                    Ok(created) if created.position == target => Ok(()),
                    Ok(created) => self
                        .api
                        .move_import(&scope, &created.id, target)
                        .await
                        .map(|_| ()),
                    Err(err) => Err(err),
                }
            }
            Write::Update => {
                let Some(id) = self.live_imports(&at).into_iter().next() else {
                    return self.missing_id(index, change);
                };
                self.api.move_import(&scope, &id, target).await.map(|_| ())
            }
        };
        self.finish(index, change, result);
    }

    /// Deletes the observed imports of the change's source, except the first when the folder
    /// still declares that source (duplicates of a declared import go, the import stays).
    async fn delete_import(&mut self, planned: Planned<'_, ImportAt<'_>>) {
        let Planned { index, change, at } = planned;
        if self.skip_if_blocked(index, change) {
            return;
        }
        let Some(scope) = self.import_scope(&at) else {
            return self.missing_id(index, change);
        };
        let mut ids = self.live_imports(&at);
        let folder = Address::Folder(
            self.project.clone(),
            at.environment.clone(),
            at.path.clone(),
        );
        let declared = self
            .resolved
            .desired
            .imports
            .get(&folder)
            .is_some_and(|imports| {
                imports
                    .iter()
                    .any(|i| &i.environment == at.source_environment && &i.path == at.source_path)
            });
        if declared && !ids.is_empty() {
            ids.remove(0);
        }
        if ids.is_empty() {
            return self.missing_id(index, change);
        }
        for id in ids {
            if let Err(err) = self.api.delete_import(&scope, &id).await {
                return self.fail(index, change, &err);
            }
        }
        self.record(index, change, Status::Done);
    }

    async fn delete_structure(&mut self, planned: Planned<'_, StructureAt<'_>>) {
        let Planned { index, change, at } = planned;
        let Some(project_id) = self.project_id.clone() else {
            return self.missing_id(index, change);
        };
        let result = match at {
            StructureAt::Project => self.api.delete_project(&project_id).await,
            StructureAt::Environment(environment) => {
                let Some(environment_id) = self.environment_id(environment) else {
                    return self.missing_id(index, change);
                };
                self.api
                    .delete_environment(&project_id, &environment_id)
                    .await
            }
        };
        self.finish(index, change, result);
    }
}
