//! The applier: executes exactly a [`Plan`] through [`InfisicalApi`] and reports every change.
//!
//! Order inside a project: the project, its environments, folders (parents first), secret
//! creates and updates through the v4 batch routes (one call per folder and at most
//! [`BATCH_SIZE`] secrets), then deletes (secrets, then folders, children first). Projects run
//! concurrently with a bound. A failure stops only what depends on it: the secrets of a folder
//! whose creation failed are *skipped*, while sibling folders and other environments continue.
//! Every change ends as done, failed (with the reason), pending approval, or skipped.
//!
//! The applier decides nothing: it branches on [`Action`] only (never on the reason), takes
//! values from the [`ResolvedState`] (making generated values here, for creates only), and ids
//! from the [`LiveState`] the plan was made from. Because the plan is recomputed from what
//! Infisical holds, a re-run after any failure converges.

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::sync::Arc;

use futures::StreamExt;

use crate::infisical::api::{
    CreateEnvironment, CreateFolder, CreateProject, DeleteFolder, InfisicalApi, SecretDelete,
    SecretScope, SecretWrite, UpdateEnvironment, UpdateProject, WriteOutcome,
};
use crate::infisical::error::ApiError;
use crate::infisical::ids::{EnvironmentId, ProjectId};
use crate::model::document::BackupTarget;
use crate::model::{Address, EnvironmentSlug, FolderPath, ProjectSlug, TagSlug};
use crate::model::{GenerateRule, SecretValue};
use crate::plan::ownership::{marked_description, stored_metadata};
use crate::plan::{Action, Change, FieldChange, LiveState, Plan, Resolution, ResolvedState};
use crate::resolve::bitwarden::backup::{GeneratedValueStore, backed_up_value};
use crate::resolve::generate::generate_value;

/// Secrets per batch call (Infisical's batch routes take one folder per call).
pub const BATCH_SIZE: usize = 100;
/// Projects applied at once by default.
pub const DEFAULT_CONCURRENCY: usize = 4;

/// How one change ended.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
#[serde(tag = "status", rename_all = "kebab-case")]
pub enum Status {
    /// Written.
    Done,
    /// The call failed; nothing is known to be written.
    Failed {
        /// The error, with its causes (never a value).
        reason: String,
    },
    /// The path is under a change-approval policy: a request was opened, nothing written.
    PendingApproval {
        /// The approval request id, when known.
        #[serde(skip_serializing_if = "Option::is_none")]
        approval_id: Option<String>,
    },
    /// Not attempted because something it depends on failed.
    Skipped {
        /// What failed.
        reason: String,
    },
}

/// One change and how it ended.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "camelCase")]
pub struct ChangeOutcome {
    /// The object.
    pub address: Address,
    /// What was to happen.
    pub action: Action,
    /// How it ended.
    #[serde(flatten)]
    pub status: Status,
}

/// The result of an apply: one outcome per change of the plan, in plan order.
#[derive(Debug, Clone, Default, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "camelCase")]
pub struct ApplyReport {
    /// Outcomes in plan order.
    pub outcomes: Vec<ChangeOutcome>,
    /// Declared secrets whose value could not be resolved: not written (the plan says why).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub unresolved: Vec<Address>,
}

impl ApplyReport {
    /// The report of a plan with nothing to apply: only its unresolved secrets.
    pub fn nothing_applied(plan: &Plan) -> Self {
        Self {
            outcomes: Vec::new(),
            unresolved: plan.unresolved.iter().map(|u| u.address.clone()).collect(),
        }
    }

    /// Whether every change is done and every declared secret was resolved.
    pub fn is_success(&self) -> bool {
        self.unresolved.is_empty() && self.outcomes.iter().all(|o| o.status == Status::Done)
    }

    /// Counts: (done, failed, pending approval, skipped).
    pub fn counts(&self) -> (usize, usize, usize, usize) {
        let mut counts = (0, 0, 0, 0);
        for outcome in &self.outcomes {
            match outcome.status {
                Status::Done => counts.0 += 1,
                Status::Failed { .. } => counts.1 += 1,
                Status::PendingApproval { .. } => counts.2 += 1,
                Status::Skipped { .. } => counts.3 += 1,
            }
        }
        counts
    }

    /// `Apply complete: 7 done, 0 failed, 0 pending approval, 0 skipped.`; with unresolved
    /// secrets `Apply incomplete: 7 done, 0 failed, 0 pending approval, 0 skipped; 21 secrets
    /// not resolved, not written.` (never "complete" then).
    pub fn summary_line(&self) -> String {
        let (done, failed, pending, skipped) = self.counts();
        let verdict = if failed + skipped > 0 {
            "Apply finished with failures"
        } else if !self.unresolved.is_empty() {
            "Apply incomplete"
        } else if pending > 0 {
            "Apply finished; changes await approval"
        } else {
            "Apply complete"
        };
        let mut line = format!(
            "{verdict}: {done} done, {failed} failed, {pending} pending approval, {skipped} skipped"
        );
        if !self.unresolved.is_empty() {
            line.push_str("; ");
            line.push_str(&crate::plan::not_resolved_headline(self.unresolved.len()));
        }
        line.push('.');
        line
    }

    /// Human text: one line per change that did not simply succeed, then the summary.
    /// Reasons quote servers; they are escaped onto their line.
    pub fn render_text(&self) -> String {
        use crate::escape::Visible;
        let mut out = String::new();
        for outcome in &self.outcomes {
            let line = match &outcome.status {
                Status::Done => continue,
                Status::Failed { reason } => format!("failed: {}", Visible(reason)),
                Status::PendingApproval { approval_id } => match approval_id {
                    Some(id) => format!("pending approval (request {})", Visible(id)),
                    None => "pending approval".to_string(),
                },
                Status::Skipped { reason } => format!("skipped: {}", Visible(reason)),
            };
            out.push_str(&format!(
                "  {} {}: {line}\n",
                outcome.action.symbol(),
                outcome.address
            ));
        }
        out.push_str(&self.summary_line());
        out.push('\n');
        out
    }
}

/// Why an apply did not start.
#[derive(Debug, thiserror::Error)]
pub enum ApplyError {
    /// The plan has errors (unowned objects, unsafe deletions, …).
    #[error("the plan has {0} error(s) and cannot be applied")]
    PlanHasErrors(usize),
}

/// Receives progress; the CLI draws a progress bar with it.
pub trait ApplyProgress: Send + Sync {
    /// Before the first change.
    fn started(&self, total: usize);
    /// After each change.
    fn finished(&self, outcome: &ChangeOutcome);
}

/// Executes plans.
#[derive(Clone)]
pub struct Applier {
    api: Arc<dyn InfisicalApi>,
    concurrency: usize,
    progress: Option<Arc<dyn ApplyProgress>>,
    generated_store: Option<Arc<dyn GeneratedValueStore>>,
}

impl std::fmt::Debug for Applier {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Applier")
            .field("concurrency", &self.concurrency)
            .finish_non_exhaustive()
    }
}

impl Applier {
    /// An applier over `api`.
    pub fn new(api: Arc<dyn InfisicalApi>) -> Self {
        Self {
            api,
            concurrency: DEFAULT_CONCURRENCY,
            progress: None,
            generated_store: None,
        }
    }

    /// Where generated values with `backupTo: bitwarden` are backed up before they are
    /// written (see [`crate::resolve::bitwarden::backup`]). Without a store, such secrets are
    /// not created.
    pub fn with_generated_store(mut self, store: Arc<dyn GeneratedValueStore>) -> Self {
        self.generated_store = Some(store);
        self
    }

    /// Projects applied at once.
    pub fn with_concurrency(mut self, concurrency: usize) -> Self {
        self.concurrency = concurrency.max(1);
        self
    }

    /// Progress reporting.
    pub fn with_progress(mut self, progress: Arc<dyn ApplyProgress>) -> Self {
        self.progress = Some(progress);
        self
    }

    /// Executes `plan`, made from `resolved` and `live`.
    ///
    /// # Errors
    /// [`ApplyError::PlanHasErrors`] when the plan is not applicable; nothing is written then.
    /// Failures of single changes are not errors: they are in the report.
    pub async fn apply(
        &self,
        plan: &Plan,
        resolved: &ResolvedState,
        live: &LiveState,
    ) -> Result<ApplyReport, ApplyError> {
        if !plan.is_applicable() {
            return Err(ApplyError::PlanHasErrors(plan.errors.len()));
        }
        if let Some(progress) = &self.progress {
            progress.started(plan.changes.len());
        }
        let mut by_project: BTreeMap<ProjectSlug, Vec<(usize, &Change)>> = BTreeMap::new();
        for (index, change) in plan.changes.iter().enumerate() {
            by_project
                .entry(change.address.project().clone())
                .or_default()
                .push((index, change));
        }
        // The runs are made first (one per project): a closure taking borrowed changes inside
        // the stream would make this future not provably `Send`.
        let runs: Vec<_> = by_project
            .into_iter()
            .map(|(slug, changes)| {
                let run = ProjectRun {
                    api: self.api.as_ref(),
                    progress: self.progress.as_deref(),
                    generated_store: self.generated_store.as_deref(),
                    resolved,
                    live,
                    project: slug,
                    project_id: None,
                    tags: BTreeMap::new(),
                    tags_listed: false,
                    failed: Vec::new(),
                    outcomes: Vec::new(),
                };
                run.run(changes)
            })
            .collect();
        let results: Vec<Vec<(usize, ChangeOutcome)>> = futures::stream::iter(runs)
            .buffer_unordered(self.concurrency)
            .collect()
            .await;
        let mut outcomes: Vec<(usize, ChangeOutcome)> = results.into_iter().flatten().collect();
        outcomes.sort_by_key(|(index, _)| *index);
        Ok(ApplyReport {
            outcomes: outcomes.into_iter().map(|(_, o)| o).collect(),
            ..ApplyReport::nothing_applied(plan)
        })
    }
}

/// Renders an error with its causes (API errors never carry values).
fn describe_error(err: &(dyn std::error::Error + 'static)) -> String {
    let mut message = err.to_string();
    let mut cause = err.source();
    while let Some(inner) = cause {
        message.push_str(": ");
        message.push_str(&inner.to_string());
        cause = inner.source();
    }
    message
}

/// One batch: an environment, a folder and an action.
type BatchKey = (EnvironmentSlug, FolderPath, Action);

struct ProjectRun<'a> {
    api: &'a dyn InfisicalApi,
    progress: Option<&'a dyn ApplyProgress>,
    generated_store: Option<&'a dyn GeneratedValueStore>,
    resolved: &'a ResolvedState,
    live: &'a LiveState,
    project: ProjectSlug,
    project_id: Option<ProjectId>,
    tags: BTreeMap<TagSlug, String>,
    tags_listed: bool,
    /// Addresses that failed or were skipped: their descendants are skipped.
    failed: Vec<Address>,
    outcomes: Vec<(usize, ChangeOutcome)>,
}

fn is_under(address: &Address, ancestor: &Address) -> bool {
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

fn field_description(change: &Change) -> Option<Option<String>> {
    change.fields.iter().find_map(|f| match f {
        FieldChange::Description { after, .. } => Some(after.clone()),
        _ => None,
    })
}

fn field_name(change: &Change) -> Option<String> {
    change.fields.iter().find_map(|f| match f {
        FieldChange::Name { after, .. } => Some(after.clone()),
        _ => None,
    })
}

fn field_position(change: &Change) -> Option<u32> {
    change.fields.iter().find_map(|f| match f {
        FieldChange::Position { after, .. } => Some(*after),
        _ => None,
    })
}

impl<'a> ProjectRun<'a> {
    fn record(&mut self, index: usize, change: &Change, status: Status) {
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

    fn skip_if_blocked(&mut self, index: usize, change: &Change) -> bool {
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

    fn fail(&mut self, index: usize, change: &Change, err: &ApiError) {
        self.record(
            index,
            change,
            Status::Failed {
                reason: describe_error(err),
            },
        );
    }

    async fn run(mut self, changes: Vec<(usize, &'a Change)>) -> Vec<(usize, ChangeOutcome)> {
        let live_project = self.live.projects.get(&self.project);
        self.project_id = live_project.map(|p| ProjectId::new(p.id.clone()));
        if let Some(project) = live_project {
            self.tags = project.tags.clone();
        }
        let mut environments = Vec::new();
        let mut folders = Vec::new();
        let mut secrets = Vec::new();
        let mut secret_deletes = Vec::new();
        let mut folder_deletes = Vec::new();
        let mut other_deletes = Vec::new();
        let mut imports = Vec::new();
        let mut import_deletes = Vec::new();
        for (index, change) in changes {
            match (&change.address, change.action) {
                (Address::Project(_), Action::Delete) => other_deletes.push((index, change)),
                (Address::Project(_), _) => self.apply_project(index, change).await,
                (Address::Environment(..), Action::Delete) => other_deletes.push((index, change)),
                (Address::Environment(..), _) => environments.push((index, change)),
                (Address::Folder(..), Action::Delete) => folder_deletes.push((index, change)),
                (Address::Folder(..), _) => folders.push((index, change)),
                (Address::Secret(..), Action::Delete) => secret_deletes.push((index, change)),
                (Address::Secret(..), _) => secrets.push((index, change)),
                (Address::Import(..), Action::Delete) => import_deletes.push((index, change)),
                (Address::Import(..), _) => imports.push((index, change)),
            }
        }
        // Environments in display order, so that each position exists when it is used.
        environments.sort_by_key(|(index, change)| (field_position(change), *index));
        for (index, change) in environments {
            self.apply_environment(index, change).await;
        }
        for (index, change) in folders {
            self.create_folder(index, change).await;
        }
        self.write_secrets(secrets).await;
        // In plan order: the imports of one folder by their target position.
        for (index, change) in imports {
            self.apply_import(index, change).await;
        }
        for (index, change) in import_deletes {
            self.delete_import(index, change).await;
        }
        self.delete_secrets(secret_deletes).await;
        for (index, change) in folder_deletes {
            self.delete_folder(index, change).await;
        }
        for (index, change) in other_deletes.into_iter().rev() {
            self.delete_structure(index, change).await;
        }
        self.outcomes
    }

    async fn apply_project(&mut self, index: usize, change: &Change) {
        let description = field_description(change).map(|d| marked_description(d.as_deref()));
        match change.action {
            Action::Create => {
                let request = CreateProject {
                    name: field_name(change).unwrap_or_else(|| self.project.to_string()),
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
            Action::Update => {
                let Some(project_id) = self.project_id.clone() else {
                    return self.missing_id(index, change);
                };
                let request = UpdateProject {
                    name: field_name(change),
                    description,
                };
                match self.api.update_project(&project_id, &request).await {
                    Ok(_) => self.record(index, change, Status::Done),
                    Err(err) => self.fail(index, change, &err),
                }
            }
            Action::Delete => {}
        }
    }

    fn missing_id(&mut self, index: usize, change: &Change) {
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

    async fn apply_environment(&mut self, index: usize, change: &Change) {
        if self.skip_if_blocked(index, change) {
            return;
        }
        let Address::Environment(_, environment) = &change.address else {
            return;
        };
        let Some(project_id) = self.project_id.clone() else {
            return self.missing_id(index, change);
        };
        let result = match change.action {
            Action::Create => {
                let request = CreateEnvironment {
                    name: field_name(change).unwrap_or_else(|| environment.to_string()),
                    slug: environment.to_string(),
                    position: field_position(change),
                };
                self.api
                    .create_environment(&project_id, &request)
                    .await
                    .map(|_| ())
            }
            Action::Update => {
                let Some(environment_id) = self.environment_id(environment) else {
                    return self.missing_id(index, change);
                };
                let request = UpdateEnvironment {
                    name: field_name(change),
                    position: field_position(change),
                };
                self.api
                    .update_environment(&project_id, &environment_id, &request)
                    .await
                    .map(|_| ())
            }
            Action::Delete => return,
        };
        match result {
            Ok(()) => self.record(index, change, Status::Done),
            Err(err) => self.fail(index, change, &err),
        }
    }

    async fn create_folder(&mut self, index: usize, change: &Change) {
        if self.skip_if_blocked(index, change) {
            return;
        }
        let Address::Folder(_, environment, path) = &change.address else {
            return;
        };
        let Some(project_id) = self.project_id.clone() else {
            return self.missing_id(index, change);
        };
        if change.action != Action::Create {
            // Folder descriptions are set at creation only; the planner plans no folder updates.
            return self.record(index, change, Status::Done);
        }
        let request = CreateFolder {
            project_id,
            environment: environment.clone(),
            parent_path: path.parent().unwrap_or_else(FolderPath::root),
            name: path.name().to_string(),
            description: Some(marked_description(
                field_description(change).flatten().as_deref(),
            )),
        };
        match self.api.create_folder(&request).await {
            Ok(_) => self.record(index, change, Status::Done),
            Err(err) => self.fail(index, change, &err),
        }
    }

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

    async fn secret_write(&mut self, change: &Change) -> Result<SecretWrite, String> {
        let Address::Secret(_, _, _, key) = &change.address else {
            return Err("not a secret".to_string());
        };
        let source = self
            .resolved
            .desired
            .secrets
            .get(&change.address)
            .map(|secret| &secret.source);
        let mut write = SecretWrite {
            key: key.to_string(),
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
                        Some(Resolution::Generate(rule)) if change.action == Action::Create => {
                            self.generated_value(&change.address, rule).await?
                        }
                        _ => {
                            return Err(
                                "the value is not available at apply time (unresolved)".to_string()
                            );
                        }
                    });
                }
                FieldChange::Comment { after, .. } => write.comment = Some(after.clone()),
                FieldChange::Tags { after, .. } => {
                    let ids = self
                        .tag_ids(after)
                        .await
                        .map_err(|err| format!("tags: {}", describe_error(&err)))?;
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
        if change.action == Action::Create && write.value.is_none() {
            return Err("a created secret needs a value".to_string());
        }
        // Every write records the marker and the declared source (`infisical-gitops/generate`,
        // `infisical-gitops/literal`) next to the live user metadata, so a record never
        // outlives the source it describes (a literal that became a Bitwarden reference loses
        // its `literal` record with the value's update).
        if write.metadata.is_none() {
            let live = self.live_metadata(&change.address);
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
    ) -> Result<SecretValue, String> {
        match rule.backup_to {
            None => Ok(generate_value(rule)),
            Some(BackupTarget::Bitwarden) => {
                let store = self.generated_store.ok_or_else(|| {
                    "`backupTo: bitwarden` needs `bw serve` for the backup (--bitwarden-url); \
                     the secret is not created without it"
                        .to_string()
                })?;
                backed_up_value(store, address, || generate_value(rule))
                    .await
                    .map_err(|err| format!("backup to bitwarden: {}", describe_error(&err)))
            }
        }
    }

    fn live_metadata(&self, address: &Address) -> BTreeMap<String, String> {
        let Address::Secret(p, e, f, k) = address else {
            return BTreeMap::new();
        };
        self.live
            .projects
            .get(p)
            .and_then(|p| p.environments.get(e))
            .and_then(|e| e.secrets.get(&(f.clone(), k.clone())))
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

    async fn write_secrets(&mut self, changes: Vec<(usize, &Change)>) {
        // One batch per folder and action, in plan order of the folders.
        let mut groups: Vec<(BatchKey, Vec<(usize, &Change)>)> = Vec::new();
        let mut positions: HashMap<BatchKey, usize> = HashMap::new();
        for (index, change) in changes {
            let Address::Secret(_, environment, path, _) = &change.address else {
                continue;
            };
            let key = (environment.clone(), path.clone(), change.action);
            let position = *positions.entry(key.clone()).or_insert_with(|| {
                groups.push((key, Vec::new()));
                groups.len() - 1
            });
            groups[position].1.push((index, change));
        }
        for ((environment, path, action), members) in groups {
            for chunk in members.chunks(BATCH_SIZE) {
                self.write_batch(&environment, &path, action, chunk).await;
            }
        }
    }

    async fn write_batch(
        &mut self,
        environment: &EnvironmentSlug,
        path: &FolderPath,
        action: Action,
        chunk: &[(usize, &Change)],
    ) {
        let mut writes = Vec::new();
        let mut members = Vec::new();
        for (index, change) in chunk {
            if self.skip_if_blocked(*index, change) {
                continue;
            }
            match self.secret_write(change).await {
                Ok(write) => {
                    writes.push(write);
                    members.push((*index, *change));
                }
                Err(reason) => self.record(*index, change, Status::Failed { reason }),
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
        let result = match action {
            Action::Create => self.api.create_secrets(&scope, &writes).await,
            Action::Update => self.api.update_secrets(&scope, &writes).await,
            Action::Delete => return,
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

    async fn delete_secrets(&mut self, changes: Vec<(usize, &Change)>) {
        let mut groups: BTreeMap<(EnvironmentSlug, FolderPath), Vec<(usize, &Change)>> =
            BTreeMap::new();
        for (index, change) in changes {
            if let Address::Secret(_, environment, path, _) = &change.address {
                groups
                    .entry((environment.clone(), path.clone()))
                    .or_default()
                    .push((index, change));
            }
        }
        for ((environment, path), members) in groups.into_iter().rev() {
            for chunk in members.chunks(BATCH_SIZE) {
                let Some(scope) = self.scope(&environment, &path) else {
                    for (index, change) in chunk {
                        self.missing_id(*index, change);
                    }
                    continue;
                };
                let deletes: Vec<SecretDelete> = chunk
                    .iter()
                    .filter_map(|(_, c)| match &c.address {
                        Address::Secret(_, _, _, key) => Some(SecretDelete {
                            key: key.to_string(),
                        }),
                        _ => None,
                    })
                    .collect();
                let result = self.api.delete_secrets(&scope, &deletes).await;
                self.record_batch(chunk.to_vec(), result);
            }
        }
    }

    async fn delete_folder(&mut self, index: usize, change: &Change) {
        let Address::Folder(_, environment, path) = &change.address else {
            return;
        };
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
            environment: environment.clone(),
            parent_path: path.parent().unwrap_or_else(FolderPath::root),
            folder: path.name().to_string(),
            force: false,
        };
        match self.api.delete_folder(&request).await {
            Ok(()) => self.record(index, change, Status::Done),
            Err(err) => self.fail(index, change, &err),
        }
    }

    /// The scope of an import's folder, and the imported environment and path.
    fn import_scope(
        &self,
        address: &Address,
    ) -> Option<(SecretScope, EnvironmentSlug, FolderPath)> {
        let Address::Import(_, environment, path, source_environment, source_path) = address else {
            return None;
        };
        Some((
            SecretScope {
                project_id: self.project_id.clone()?,
                environment: environment.clone(),
                path: path.clone(),
            },
            source_environment.clone(),
            source_path.clone(),
        ))
    }

    /// The observed imports of `address`'s source in its folder, in position order.
    fn live_imports(&self, address: &Address) -> Vec<String> {
        let Address::Import(project, environment, path, source_environment, source_path) = address
        else {
            return Vec::new();
        };
        let source = (source_environment.clone(), source_path.clone());
        self.live
            .projects
            .get(project)
            .and_then(|p| p.environments.get(environment))
            .and_then(|e| e.imports.get(path))
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
    async fn apply_import(&mut self, index: usize, change: &Change) {
        if self.skip_if_blocked(index, change) {
            return;
        }
        let Address::Import(p, e, f, ..) = &change.address else {
            return;
        };
        let earlier = self.failed.iter().find(
            |failed| matches!(failed, Address::Import(p2, e2, f2, ..) if (p2, e2, f2) == (p, e, f)),
        );
        if let Some(earlier) = earlier.cloned() {
            return self.record(
                index,
                change,
                Status::Skipped {
                    reason: format!("`{earlier}` before it was not applied"),
                },
            );
        }
        let Some((scope, source_environment, source_path)) = self.import_scope(&change.address)
        else {
            return self.missing_id(index, change);
        };
        let Some(target) = field_position(change) else {
            return self.record(
                index,
                change,
                Status::Failed {
                    reason: "the plan names no position for this import".to_string(),
                },
            );
        };
        let result = match change.action {
            Action::Create => {
                match self
                    .api
                    .create_import(&scope, &source_environment, &source_path)
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
            _ => {
                let Some(id) = self.live_imports(&change.address).into_iter().next() else {
                    return self.missing_id(index, change);
                };
                self.api.move_import(&scope, &id, target).await.map(|_| ())
            }
        };
        match result {
            Ok(()) => self.record(index, change, Status::Done),
            Err(err) => self.fail(index, change, &err),
        }
    }

    /// Deletes the observed imports of the change's source, except the first when the folder
    /// still declares that source (duplicates of a declared import go, the import stays).
    async fn delete_import(&mut self, index: usize, change: &Change) {
        if self.skip_if_blocked(index, change) {
            return;
        }
        let Some((scope, _, _)) = self.import_scope(&change.address) else {
            return self.missing_id(index, change);
        };
        let mut ids = self.live_imports(&change.address);
        let Address::Import(p, e, f, source_environment, source_path) = &change.address else {
            return;
        };
        let folder = Address::Folder(p.clone(), e.clone(), f.clone());
        let declared = self
            .resolved
            .desired
            .imports
            .get(&folder)
            .is_some_and(|imports| {
                imports
                    .iter()
                    .any(|i| &i.environment == source_environment && &i.path == source_path)
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

    async fn delete_structure(&mut self, index: usize, change: &Change) {
        let Some(project_id) = self.project_id.clone() else {
            return self.missing_id(index, change);
        };
        let result = match &change.address {
            Address::Project(_) => self.api.delete_project(&project_id).await,
            Address::Environment(_, environment) => {
                let Some(environment_id) = self.environment_id(environment) else {
                    return self.missing_id(index, change);
                };
                self.api
                    .delete_environment(&project_id, &environment_id)
                    .await
            }
            _ => return,
        };
        match result {
            Ok(()) => self.record(index, change, Status::Done),
            Err(err) => self.fail(index, change, &err),
        }
    }
}
