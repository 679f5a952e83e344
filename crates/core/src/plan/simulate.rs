//! A pure model of applying a plan: what Infisical would hold after every change of `plan`
//! succeeded. Used by property tests (convergence, idempotence) and by nothing at run time.

use crate::model::{
    Address, EnvironmentSlug, FolderPath, ProjectSlug, SecretKey, SecretValue, TagSlug,
};

use super::live::{LiveEnvironment, LiveFolder, LiveImport, LiveProject, LiveSecret, LiveState};
use super::ownership::{marked_description, with_marker};
use super::resolved::{Resolution, ResolvedState};
use super::{Action, Change, FieldChange, Plan};

/// The live state after applying every change of `plan` to `live`.
///
/// Generated values are a fixed stand-in; ids are `sim-<n>`.
pub fn simulate(plan: &Plan, resolved: &ResolvedState, live: &LiveState) -> LiveState {
    let mut state = live.clone();
    let mut next_id = 0u64;
    let mut id = || {
        next_id += 1;
        format!("sim-{next_id}")
    };
    for change in &plan.changes {
        apply_change(&mut state, change, resolved, &mut id);
    }
    state
}

fn apply_change(
    state: &mut LiveState,
    change: &Change,
    resolved: &ResolvedState,
    id: &mut impl FnMut() -> String,
) {
    match (&change.address, change.action) {
        (Address::Project(slug), Action::Create) => create_project(state, change, slug, id),
        (Address::Project(slug), Action::Update) => update_project(state, change, slug),
        (Address::Project(slug), Action::Delete) => {
            state.projects.remove(slug);
        }
        (Address::Environment(project, slug), action) => {
            environment(state, change, action, project, slug, id);
        }
        (Address::Folder(project, environment, path), action) => {
            folder(state, change, action, (project, environment, path), id);
        }
        (Address::Secret(project_slug, environment, path, key), action) => {
            secret(
                state,
                change,
                action,
                resolved,
                (project_slug, environment, path, key),
                id,
            );
        }
        (
            Address::Import(project_slug, environment, path, source_environment, source_path),
            action,
        ) => {
            import(
                state,
                change,
                action,
                resolved,
                (project_slug, environment, path),
                (source_environment, source_path),
                id,
            );
        }
    }
}

fn create_project(
    state: &mut LiveState,
    change: &Change,
    slug: &ProjectSlug,
    id: &mut impl FnMut() -> String,
) {
    let name = change.name_after().unwrap_or_else(|| slug.to_string());
    state.projects.insert(
        slug.clone(),
        LiveProject {
            id: id(),
            name,
            description: Some(marked_description(
                change.description_after().flatten().as_deref(),
            )),
            environments: Default::default(),
            tags: Default::default(),
        },
    );
}

fn update_project(state: &mut LiveState, change: &Change, slug: &ProjectSlug) {
    let Some(project) = state.projects.get_mut(slug) else {
        return;
    };
    if let Some(name) = change.name_after() {
        project.name = name;
    }
    let has_description = change
        .fields
        .iter()
        .any(|f| matches!(f, FieldChange::Description { .. }));
    if has_description {
        project.description = Some(marked_description(
            change.description_after().flatten().as_deref(),
        ));
    }
}

fn environment(
    state: &mut LiveState,
    change: &Change,
    action: Action,
    project: &ProjectSlug,
    slug: &EnvironmentSlug,
    id: &mut impl FnMut() -> String,
) {
    let Some(project) = state.projects.get_mut(project) else {
        return;
    };
    match action {
        Action::Create => {
            project.environments.insert(
                slug.clone(),
                LiveEnvironment {
                    id: id(),
                    name: change.name_after().unwrap_or_else(|| slug.to_string()),
                    position: change.position_after(),
                    observed: true,
                    folders: Default::default(),
                    secrets: Default::default(),
                    imports: Default::default(),
                },
            );
        }
        Action::Update => {
            if let Some(environment) = project.environments.get_mut(slug) {
                if let Some(name) = change.name_after() {
                    environment.name = name;
                }
                if let Some(position) = change.position_after() {
                    environment.position = Some(position);
                }
            }
        }
        Action::Delete => {
            project.environments.remove(slug);
        }
    }
}

fn folder(
    state: &mut LiveState,
    change: &Change,
    action: Action,
    (project, environment, path): (&ProjectSlug, &EnvironmentSlug, &FolderPath),
    id: &mut impl FnMut() -> String,
) {
    let Some(environment) = state
        .projects
        .get_mut(project)
        .and_then(|p| p.environments.get_mut(environment))
    else {
        return;
    };
    match action {
        Action::Create => {
            environment.folders.insert(
                path.clone(),
                LiveFolder {
                    id: id(),
                    description: Some(marked_description(
                        change.description_after().flatten().as_deref(),
                    )),
                },
            );
        }
        Action::Update => {}
        Action::Delete => {
            environment.folders.remove(path);
        }
    }
}

fn secret(
    state: &mut LiveState,
    change: &Change,
    action: Action,
    resolved: &ResolvedState,
    (project_slug, environment, path, key): (
        &ProjectSlug,
        &EnvironmentSlug,
        &FolderPath,
        &SecretKey,
    ),
    id: &mut impl FnMut() -> String,
) {
    let Some(project) = state.projects.get_mut(project_slug) else {
        return;
    };
    let tags = &mut project.tags;
    let Some(environment) = project.environments.get_mut(environment) else {
        return;
    };
    let slot = (path.clone(), key.clone());
    match action {
        Action::Create => {
            let mut secret = LiveSecret {
                id: id(),
                value: Some(value_of(resolved, &change.address)),
                comment: String::new(),
                tags: Default::default(),
                metadata: with_marker(&Default::default()),
                version: 1,
            };
            write_fields(&mut secret, change, resolved, tags, id);
            environment.secrets.insert(slot, secret);
        }
        Action::Update => {
            if let Some(secret) = environment.secrets.get_mut(&slot) {
                write_fields(secret, change, resolved, tags, id);
                secret.version += 1;
            }
        }
        Action::Delete => {
            environment.secrets.remove(&slot);
        }
    }
}

fn import(
    state: &mut LiveState,
    change: &Change,
    action: Action,
    resolved: &ResolvedState,
    (project_slug, environment, path): (&ProjectSlug, &EnvironmentSlug, &FolderPath),
    (source_environment, source_path): (&EnvironmentSlug, &FolderPath),
    id: &mut impl FnMut() -> String,
) {
    let declared = resolved
        .desired
        .imports
        .get(&Address::Folder(
            project_slug.clone(),
            environment.clone(),
            path.clone(),
        ))
        .is_some_and(|imports| {
            imports
                .iter()
                .any(|i| &i.environment == source_environment && &i.path == source_path)
        });
    let Some(environment) = state
        .projects
        .get_mut(project_slug)
        .and_then(|p| p.environments.get_mut(environment))
    else {
        return;
    };
    let imports = environment.imports.entry(path.clone()).or_default();
    let source = (source_environment.clone(), source_path.clone());
    let first = imports
        .iter()
        .position(|i| i.manageable_source() == Some(&source));
    let target = change.position_after().unwrap_or(1).max(1) as usize - 1;
    match action {
        Action::Create => {
            let import = LiveImport {
                id: id(),
                source: Some(source),
                position: 0,
                replication: false,
            };
            imports.insert(target.min(imports.len()), import);
        }
        Action::Update => {
            if let Some(first) = first {
                let import = imports.remove(first);
                imports.insert(target.min(imports.len()), import);
            }
        }
        Action::Delete => {
            let mut kept_first = !declared;
            imports.retain(|i| {
                if i.manageable_source() != Some(&source) {
                    return true;
                }
                if !kept_first {
                    kept_first = true;
                    return true;
                }
                false
            });
        }
    }
    for (index, import) in imports.iter_mut().enumerate() {
        import.position = index as u32 + 1;
    }
}

fn value_of(resolved: &ResolvedState, address: &Address) -> SecretValue {
    match resolved.resolution(address) {
        Some(Resolution::Value { value, .. }) => SecretValue::new(value.normalized()),
        _ => SecretValue::new("simulated-generated-value"),
    }
}

fn write_fields(
    secret: &mut LiveSecret,
    change: &Change,
    resolved: &ResolvedState,
    tags: &mut std::collections::BTreeMap<TagSlug, String>,
    id: &mut impl FnMut() -> String,
) {
    for field in &change.fields {
        match field {
            FieldChange::Value { .. } => {
                secret.value = Some(value_of(resolved, &change.address));
            }
            FieldChange::Comment { after, .. } => secret.comment = after.clone(),
            FieldChange::Tags { after, .. } => {
                for tag in after {
                    tags.entry(tag.clone()).or_insert_with(&mut *id);
                }
                secret.tags = after.clone();
            }
            FieldChange::Metadata { after, .. } => secret.metadata = with_marker(after),
            FieldChange::Marker { .. } => secret.metadata = with_marker(&secret.metadata),
            FieldChange::Name { .. }
            | FieldChange::Description { .. }
            | FieldChange::Position { .. } => {}
        }
    }
}
