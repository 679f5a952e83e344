//! The planner: a pure, deterministic walk over the desired and the live state.
//!
//! Rules (see `docs/plan-apply.md`):
//! - values are compared after Infisical's own trimming ([`SecretValue::matches`]) against the
//!   raw, unexpanded live value; versions, ids and timestamps are never compared;
//! - only marked objects are updated or deleted; an unmarked object with a declared name is an
//!   error under `adoption: create`, and is adopted (marked) under `adopt`/`create-or-adopt`;
//! - generated secrets are created once: an existing secret's value is never compared or
//!   regenerated;
//! - unresolved secrets are listed and never written;
//! - prune deletes only marked secrets and marked folders, only with `prune: true`, and a
//!   deleting plan is refused above `maxDeletions` or from an empty or partly unreadable source
//!   unless deletions are forced.

use std::collections::{BTreeMap, BTreeSet};

use crate::model::document::BackupTarget;
use crate::model::{
    Address, Adoption, DesiredSecret, EnvironmentSlug, FolderPath, Mode, Project, SecretKey,
    SecretSource,
};

use super::live::{LiveEnvironment, LiveImport, LiveProject, LiveState};
use super::ownership::user_metadata;
use super::resolved::{Provenance, Resolution, ResolvedState, Unresolved};
use super::{
    Action, Change, FieldChange, Plan, PlanPolicy, PlanProblem, Reason, UnresolvedSecret,
    ValueChange, fingerprint,
};

/// Plans the changes that make `live` match `resolved`.
///
/// # Guarantees
/// - Pure and deterministic: the same inputs give the same plan, in the same order.
/// - Creates and updates come first, parents before children; deletes come last, children
///   before parents.
/// - No field of a [`Change`] holds a secret value or anything derived from one.
pub fn plan(resolved: &ResolvedState, live: &LiveState, policy: &PlanPolicy) -> Plan {
    let mut plan = Plan {
        observed: fingerprint::observed(live),
        ..Plan::default()
    };
    for (slug, project) in &resolved.desired.projects {
        let mut outcome = ProjectOutcome::default();
        ProjectPlanner {
            resolved,
            project,
            policy,
            live: live.projects.get(slug),
            outcome: &mut outcome,
        }
        .run();
        guard_deletions(resolved, project, policy, &mut outcome);
        match project.policy.mode {
            Mode::Correct => plan.changes.extend(outcome.changes),
            Mode::Detect => plan.detected.extend(outcome.changes),
        }
        plan.unresolved.extend(outcome.unresolved);
        plan.errors.extend(outcome.errors);
        plan.warnings.extend(outcome.warnings);
    }
    order(&mut plan.changes);
    order(&mut plan.detected);
    plan.unresolved.sort_by(|a, b| a.address.cmp(&b.address));
    let by_place = |a: &PlanProblem, b: &PlanProblem| {
        (&a.address, &a.code, &a.message).cmp(&(&b.address, &b.code, &b.message))
    };
    plan.errors.sort_by(by_place);
    plan.warnings.sort_by(by_place);
    plan
}

/// Creates and updates by address (the address order puts parents first), then deletes in
/// reverse address order (children first). The creates and moves of the imports of one folder
/// run by their target position, which is what makes each land there.
pub fn order(changes: &mut [Change]) {
    changes.sort_by(|a, b| {
        let a_delete = a.action == Action::Delete;
        let b_delete = b.action == Action::Delete;
        match (a_delete, b_delete) {
            (false, false) => match (&a.address, &b.address) {
                (Address::Import(p, e, f, ..), Address::Import(p2, e2, f2, ..))
                    if (p, e, f) == (p2, e2, f2) =>
                {
                    (import_position(a), &a.address).cmp(&(import_position(b), &b.address))
                }
                _ => a.address.cmp(&b.address),
            },
            (true, true) => b.address.cmp(&a.address),
            (false, true) => std::cmp::Ordering::Less,
            (true, false) => std::cmp::Ordering::Greater,
        }
    });
}

/// The target position of an import create or move.
fn import_position(change: &Change) -> Option<u32> {
    change.fields.iter().find_map(|field| match field {
        FieldChange::Position { after, .. } => Some(*after),
        _ => None,
    })
}

#[derive(Default)]
struct ProjectOutcome {
    changes: Vec<Change>,
    unresolved: Vec<UnresolvedSecret>,
    errors: Vec<PlanProblem>,
    warnings: Vec<PlanProblem>,
}

struct ProjectPlanner<'a> {
    resolved: &'a ResolvedState,
    project: &'a Project,
    policy: &'a PlanPolicy,
    live: Option<&'a LiveProject>,
    outcome: &'a mut ProjectOutcome,
}

fn normalized_description(description: Option<&str>) -> Option<String> {
    description
        .map(str::trim)
        .filter(|d| !d.is_empty())
        .map(str::to_string)
}

impl<'a> ProjectPlanner<'a> {
    fn may_create(&self) -> bool {
        self.project.policy.adoption != Adoption::Adopt
    }

    fn may_adopt(&self) -> bool {
        self.project.policy.adoption != Adoption::Create
    }

    /// Creates a missing object with `fields` when the adoption policy allows creating;
    /// otherwise records the refusal. Whether the creation is planned.
    fn create(&mut self, address: Address, fields: Vec<FieldChange>) -> bool {
        if !self.may_create() {
            self.refuse_create(address);
            return false;
        }
        self.change(address, Action::Create, Reason::Missing, fields);
        true
    }

    /// Updates `fields` of an existing object: drift on a `marked` (owned) one; on an unmarked
    /// one an adoption that also adds the ownership marker. Nothing when nothing differs.
    fn update(&mut self, address: Address, marked: bool, mut fields: Vec<FieldChange>) {
        if !marked {
            fields.push(FieldChange::Marker {
                before: false,
                after: true,
            });
        }
        if fields.is_empty() {
            return;
        }
        let reason = if marked {
            Reason::Drifted
        } else {
            Reason::Adopted
        };
        self.change(address, Action::Update, reason, fields);
    }

    fn change(
        &mut self,
        address: Address,
        action: Action,
        reason: Reason,
        fields: Vec<FieldChange>,
    ) {
        self.outcome.changes.push(Change {
            address,
            action,
            reason,
            fields,
        });
    }

    fn error(&mut self, problem: PlanProblem) {
        self.outcome.errors.push(problem);
    }

    fn refuse_create(&mut self, address: Address) {
        let message = format!(
            "{} `{address}` does not exist, and the adoption policy `adopt` creates nothing",
            address.kind()
        );
        self.error(
            PlanProblem::new("adopt-only-missing", Some(address), message)
                .with_help("set `spec.policy.adoption: create-or-adopt` to create what is missing"),
        );
    }

    fn refuse_unowned(&mut self, address: Address) {
        let message = format!(
            "{} `{address}` exists in Infisical without the ownership marker",
            address.kind()
        );
        self.error(
            PlanProblem::new("unowned-object", Some(address), message).with_help(
                "set `spec.policy.adoption: create-or-adopt` (or `adopt`) to take it over, \
                 or remove it from the repository",
            ),
        );
    }

    fn run(mut self) {
        let slug = self.project.slug.clone();
        let address = Address::Project(slug.clone());
        let desired_description = normalized_description(self.project.description.as_deref());
        match self.live {
            None => {
                let planned = self.create(
                    address,
                    vec![
                        FieldChange::Name {
                            before: None,
                            after: self.project.name.clone(),
                        },
                        FieldChange::Description {
                            before: None,
                            after: desired_description,
                        },
                        FieldChange::Marker {
                            before: false,
                            after: true,
                        },
                    ],
                );
                if !planned {
                    return;
                }
            }
            Some(live) => {
                let marked = live.is_marked();
                if !marked && !self.may_adopt() {
                    self.refuse_unowned(address);
                    return;
                }
                let mut fields = Vec::new();
                if live.name != self.project.name {
                    fields.push(FieldChange::Name {
                        before: Some(live.name.clone()),
                        after: self.project.name.clone(),
                    });
                }
                let live_description = live.user_description();
                if !marked || live_description != desired_description {
                    fields.push(FieldChange::Description {
                        before: live_description,
                        after: desired_description,
                    });
                }
                self.update(address, marked, fields);
            }
        }
        for environment in &self.project.environments {
            self.plan_environment(&environment.slug, &environment.name, environment.position);
        }
        self.plan_secrets();
        self.plan_imports();
    }

    /// The import list of every folder of this project that declares `imports:`: declared
    /// imports first, in the declared order (a missing one is created at its position, a
    /// misplaced one moved), then whatever else the folder holds; undeclared imports are
    /// deleted with prune. Each change carries its target position, and [`order`] runs the
    /// changes of one folder by it, so every create or move lands where the plan says.
    fn plan_imports(&mut self) {
        let folders: Vec<(&Address, &Vec<crate::model::DesiredImport>)> = self
            .resolved
            .desired
            .imports
            .iter()
            .filter(|(folder, _)| folder.project() == &self.project.slug)
            .collect();
        for (folder, declared) in folders {
            let (Some(environment), Some(path)) = (folder.environment(), folder.folder()) else {
                continue;
            };
            let live: Vec<LiveImport> = self
                .live_environment(environment)
                .and_then(|e| e.imports.get(path))
                .cloned()
                .unwrap_or_default();
            self.plan_folder_imports(environment, path, declared, &live);
        }
    }

    fn plan_folder_imports(
        &mut self,
        environment: &EnvironmentSlug,
        path: &FolderPath,
        declared: &[crate::model::DesiredImport],
        live: &[LiveImport],
    ) {
        let project = self.project.slug.clone();
        let address = |source: &(EnvironmentSlug, FolderPath)| {
            Address::Import(
                project.clone(),
                environment.clone(),
                path.clone(),
                source.0.clone(),
                source.1.clone(),
            )
        };
        // Slots: the live imports in position order, by index into `live`; `None` is one this
        // plan creates.
        let mut slots: Vec<Option<usize>> = (0..live.len()).map(Some).collect();
        let mut matched: BTreeSet<usize> = BTreeSet::new();
        for (index, import) in declared.iter().enumerate() {
            let source = (import.environment.clone(), import.path.clone());
            let target = index as u32 + 1;
            let found = live.iter().enumerate().position(|(at, candidate)| {
                !matched.contains(&at) && candidate.manageable_source() == Some(&source)
            });
            match found {
                Some(at) => {
                    matched.insert(at);
                    let current = slots
                        .iter()
                        .position(|slot| *slot == Some(at))
                        .unwrap_or(index);
                    if current != index {
                        self.change(
                            address(&source),
                            Action::Update,
                            Reason::Drifted,
                            vec![FieldChange::Position {
                                before: Some(live[at].position),
                                after: target,
                            }],
                        );
                        let slot = slots.remove(current);
                        slots.insert(index.min(slots.len()), slot);
                    }
                }
                None => {
                    let planned = self.create(
                        address(&source),
                        vec![FieldChange::Position {
                            before: None,
                            after: target,
                        }],
                    );
                    if planned {
                        slots.insert(index.min(slots.len()), None);
                    }
                }
            }
        }
        let undeclared: BTreeSet<&(EnvironmentSlug, FolderPath)> = live
            .iter()
            .enumerate()
            .filter(|(at, _)| !matched.contains(at))
            .filter_map(|(_, import)| import.manageable_source())
            .collect();
        if undeclared.is_empty() {
            return;
        }
        if !self.project.policy.prune {
            let count = live
                .iter()
                .enumerate()
                .filter(|(at, i)| !matched.contains(at) && i.manageable_source().is_some())
                .count();
            self.outcome.warnings.push(
                PlanProblem::new(
                    "prune-off",
                    Some(Address::Folder(
                        project.clone(),
                        environment.clone(),
                        path.clone(),
                    )),
                    format!(
                        "{count} import(s) into `{project}/{environment}:{path}` are not declared and are kept because prune is off"
                    ),
                )
                .with_help("set `spec.policy.prune: true` to delete them, or declare them"),
            );
            return;
        }
        for source in undeclared {
            self.change(
                address(source),
                Action::Delete,
                Reason::NotInSource,
                Vec::new(),
            );
        }
    }

    fn live_environment(&self, environment: &EnvironmentSlug) -> Option<&'a LiveEnvironment> {
        self.live.and_then(|p| p.environments.get(environment))
    }

    fn plan_environment(&mut self, slug: &EnvironmentSlug, name: &str, position: u32) {
        let address = Address::Environment(self.project.slug.clone(), slug.clone());
        let live = self.live.and_then(|p| p.environments.get(slug));
        match live {
            None => {
                let planned = self.create(
                    address,
                    vec![
                        FieldChange::Name {
                            before: None,
                            after: name.to_string(),
                        },
                        FieldChange::Position {
                            before: None,
                            after: position,
                        },
                    ],
                );
                if !planned {
                    return;
                }
            }
            Some(live) => {
                let mut fields = Vec::new();
                if live.name != name {
                    fields.push(FieldChange::Name {
                        before: Some(live.name.clone()),
                        after: name.to_string(),
                    });
                }
                // The project listing does not carry positions: compare only when known.
                if let Some(before) = live.position.filter(|p| *p != position) {
                    fields.push(FieldChange::Position {
                        before: Some(before),
                        after: position,
                    });
                }
                if !fields.is_empty() {
                    self.change(address, Action::Update, Reason::Drifted, fields);
                }
            }
        }
        self.plan_folders(slug);
    }

    fn plan_folders(&mut self, environment: &EnvironmentSlug) {
        let empty = BTreeMap::new();
        let desired = self.project.folders.get(environment).unwrap_or(&empty);
        let project = self.project.slug.clone();
        for (path, folder) in desired {
            if path.is_root() {
                continue;
            }
            let exists = self
                .live_environment(environment)
                .is_some_and(|e| e.folders.contains_key(path));
            if exists {
                // Folders are containers: an existing one is used as it is (its description is
                // set at creation only).
                continue;
            }
            let address = Address::Folder(project.clone(), environment.clone(), path.clone());
            self.create(
                address,
                vec![
                    FieldChange::Description {
                        before: None,
                        after: normalized_description(folder.description.as_deref()),
                    },
                    FieldChange::Marker {
                        before: false,
                        after: true,
                    },
                ],
            );
        }
        self.plan_folder_prune(environment);
    }

    fn plan_secrets(&mut self) {
        let secrets: Vec<(&Address, &DesiredSecret)> = self
            .resolved
            .desired
            .secrets_of(&self.project.slug)
            .collect();
        for (address, secret) in secrets {
            self.plan_secret(address, secret);
        }
        let environments: Vec<EnvironmentSlug> = self
            .project
            .environments
            .iter()
            .map(|e| e.slug.clone())
            .collect();
        for environment in environments {
            self.plan_secret_prune(&environment);
        }
    }

    /// A declared secret that Infisical does not hold: a create, or a refusal.
    fn plan_secret_create(
        &mut self,
        address: &Address,
        secret: &DesiredSecret,
        resolution: &Resolution,
        comment: String,
        metadata: BTreeMap<String, String>,
    ) {
        if !self.may_create() {
            self.refuse_create(address.clone());
            return;
        }
        let value = match resolution {
            Resolution::Value { provenance, .. } => value_change(secret, *provenance),
            Resolution::Generate(rule)
                if rule.backup_to == Some(BackupTarget::Bitwarden)
                    && !self.policy.generated_backup
                    && self.project.policy.mode == Mode::Correct =>
            {
                self.outcome.errors.push(
                    PlanProblem::new(
                        "backup-unavailable",
                        Some(address.clone()),
                        format!(
                            "secret `{address}` is generated with `backupTo: bitwarden`, but no writable bitwarden vault is configured for the backup"
                        ),
                    )
                    .with_help(
                        "run `bw serve` and pass --bitwarden-url (an export file from --bitwarden-export is read-only); or drop `backupTo`",
                    ),
                );
                return;
            }
            Resolution::Generate(rule) => ValueChange::Generated {
                length: rule.length,
                charset: rule.charset,
            },
            Resolution::Unresolved(_) => return,
        };
        self.change(
            address.clone(),
            Action::Create,
            Reason::Missing,
            vec![
                FieldChange::Value { change: value },
                FieldChange::Comment {
                    before: None,
                    after: comment,
                },
                FieldChange::Tags {
                    before: None,
                    after: secret.tags.clone(),
                },
                FieldChange::Metadata {
                    before: None,
                    after: metadata,
                },
                FieldChange::Marker {
                    before: false,
                    after: true,
                },
            ],
        );
    }

    fn plan_secret(&mut self, address: &Address, secret: &DesiredSecret) {
        let Address::Secret(_, environment, path, key) = address else {
            return;
        };
        let resolution = match self.resolved.resolution(address) {
            Some(Resolution::Unresolved(reason)) => {
                self.outcome.unresolved.push(UnresolvedSecret {
                    address: address.clone(),
                    reason: reason.clone(),
                });
                return;
            }
            None => {
                self.outcome.unresolved.push(UnresolvedSecret {
                    address: address.clone(),
                    reason: Unresolved {
                        code: "not-resolved".to_string(),
                        message: "the value was not resolved".to_string(),
                        cause: None,
                    },
                });
                return;
            }
            Some(resolution) => resolution,
        };
        let comment = secret.comment.trim().to_string();
        let metadata = user_metadata(&secret.metadata);
        let live = self
            .live_environment(environment)
            .and_then(|e| e.secrets.get(&(path.clone(), key.clone())));
        let Some(live) = live else {
            self.plan_secret_create(address, secret, resolution, comment, metadata);
            return;
        };
        let marked = live.is_marked();
        if !marked && !self.may_adopt() {
            self.refuse_unowned(address.clone());
            return;
        }
        let mut fields = Vec::new();
        if let Resolution::Value { value, provenance } = resolution {
            match &live.value {
                Some(live_value) if !value.matches(live_value) => {
                    fields.push(FieldChange::Value {
                        change: value_change(secret, *provenance),
                    });
                }
                Some(_) => {}
                None => self.outcome.warnings.push(PlanProblem::new(
                    "value-hidden",
                    Some(address.clone()),
                    "the value of this secret is hidden from this identity; its value is not compared or written",
                )),
            }
        }
        if live.comment != comment {
            fields.push(FieldChange::Comment {
                before: Some(live.comment.clone()),
                after: comment,
            });
        }
        if live.tags != secret.tags {
            fields.push(FieldChange::Tags {
                before: Some(live.tags.clone()),
                after: secret.tags.clone(),
            });
        }
        let live_metadata = live.user_metadata();
        if !marked || live_metadata != metadata {
            fields.push(FieldChange::Metadata {
                before: Some(live_metadata),
                after: metadata,
            });
        }
        self.update(address.clone(), marked, fields);
    }

    fn is_declared_secret(
        &self,
        environment: &EnvironmentSlug,
        path: &FolderPath,
        key: &SecretKey,
    ) -> bool {
        let address = Address::Secret(
            self.project.slug.clone(),
            environment.clone(),
            path.clone(),
            key.clone(),
        );
        self.resolved.desired.secrets.contains_key(&address)
    }

    /// Secrets that would be pruned in `environment`: marked and not declared.
    fn prunable_secrets(&self, environment: &EnvironmentSlug) -> Vec<(FolderPath, SecretKey)> {
        let Some(live) = self.live_environment(environment) else {
            return Vec::new();
        };
        live.secrets
            .iter()
            .filter(|((path, key), secret)| {
                secret.is_marked() && !self.is_declared_secret(environment, path, key)
            })
            .map(|(id, _)| id.clone())
            .collect()
    }

    fn plan_secret_prune(&mut self, environment: &EnvironmentSlug) {
        let prunable = self.prunable_secrets(environment);
        if prunable.is_empty() {
            return;
        }
        if !self.project.policy.prune {
            let message = format!(
                "{} managed secret(s) in `{}/{environment}` are no longer declared and are kept because prune is off",
                prunable.len(),
                self.project.slug
            );
            self.outcome.warnings.push(
                PlanProblem::new(
                    "prune-off",
                    Some(Address::Environment(
                        self.project.slug.clone(),
                        environment.clone(),
                    )),
                    message,
                )
                .with_help("set `spec.policy.prune: true` to delete them"),
            );
            return;
        }
        for (path, key) in prunable {
            let address =
                Address::Secret(self.project.slug.clone(), environment.clone(), path, key);
            self.change(address, Action::Delete, Reason::NotInSource, Vec::new());
        }
    }

    fn plan_folder_prune(&mut self, environment: &EnvironmentSlug) {
        if !self.project.policy.prune {
            return;
        }
        let Some(live) = self.live_environment(environment) else {
            return;
        };
        let empty = BTreeMap::new();
        let declared = self.project.folders.get(environment).unwrap_or(&empty);
        let pruned_secrets: BTreeSet<(FolderPath, SecretKey)> =
            self.prunable_secrets(environment).into_iter().collect();
        // Deepest first, so that a folder knows whether its children go.
        let mut folders: Vec<&FolderPath> = live.folders.keys().collect();
        folders.sort_by(|a, b| b.depth().cmp(&a.depth()).then_with(|| a.cmp(b)));
        let mut deletable: BTreeSet<FolderPath> = BTreeSet::new();
        let mut kept = Vec::new();
        for path in folders {
            let folder = &live.folders[path];
            if declared.contains_key(path) || !folder.is_marked() {
                continue;
            }
            let secrets_go = live
                .secrets
                .keys()
                .filter(|(p, _)| p == path)
                .all(|id| pruned_secrets.contains(id));
            let children_go = live
                .folders
                .keys()
                .filter(|child| child.parent().as_ref() == Some(path))
                .all(|child| deletable.contains(child));
            if secrets_go && children_go {
                deletable.insert(path.clone());
            } else {
                kept.push(path.clone());
            }
        }
        for path in kept {
            let address = Address::Folder(self.project.slug.clone(), environment.clone(), path);
            self.outcome.warnings.push(PlanProblem::new(
                "folder-kept",
                Some(address.clone()),
                format!("managed folder `{address}` is no longer declared but holds objects infisical-gitops does not manage; it is kept"),
            ));
        }
        for path in deletable {
            let address = Address::Folder(self.project.slug.clone(), environment.clone(), path);
            self.change(address, Action::Delete, Reason::NotInSource, Vec::new());
        }
    }
}

/// How a value is shown: a `sensitive: false` literal is configuration written in Git and is
/// shown; anything else is only described.
fn value_change(secret: &DesiredSecret, provenance: Provenance) -> ValueChange {
    match (provenance, &secret.source) {
        (Provenance::Source, SecretSource::Literal(value)) => ValueChange::Literal {
            value: value.clone(),
        },
        (Provenance::Source, _) => ValueChange::Sensitive,
        (Provenance::DevPlaceholder, _) => ValueChange::DevPlaceholder,
    }
}

fn guard_deletions(
    resolved: &ResolvedState,
    project: &Project,
    policy: &PlanPolicy,
    outcome: &mut ProjectOutcome,
) {
    let deletions = outcome
        .changes
        .iter()
        .filter(|c| c.action == Action::Delete)
        .count();
    if deletions == 0 || policy.force_deletions {
        return;
    }
    let address = Some(Address::Project(project.slug.clone()));
    let limit = project.policy.max_deletions as usize;
    if deletions > limit {
        outcome.errors.push(
            PlanProblem::new(
                "too-many-deletions",
                address.clone(),
                format!(
                    "project `{}` would delete {}, more than its maxDeletions ({limit})",
                    project.slug,
                    objects(deletions)
                ),
            )
            .with_help(
                "check the repository; raise `spec.policy.maxDeletions` or pass --force-deletions",
            ),
        );
    }
    let declared = resolved.desired.secrets_of(&project.slug).count()
        + resolved
            .desired
            .imports
            .keys()
            .filter(|folder| folder.project() == &project.slug)
            .count();
    let why = if !resolved.source_complete {
        Some("the source could only partly be read")
    } else if declared == 0 {
        Some("the repository declares no secrets for it")
    } else if !outcome.unresolved.is_empty() {
        Some("some of its values could not be resolved")
    } else {
        None
    };
    if let Some(why) = why {
        outcome.errors.push(
            PlanProblem::new(
                "unsafe-deletions",
                address,
                format!(
                    "project `{}` would delete {} although {why}",
                    project.slug,
                    objects(deletions)
                ),
            )
            .with_help("fix the source, or pass --force-deletions if the deletions are intended"),
        );
    }
}

fn objects(count: usize) -> String {
    if count == 1 {
        "1 object".to_string()
    } else {
        format!("{count} objects")
    }
}
