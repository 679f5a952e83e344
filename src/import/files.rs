//! The generated files: one per project, one per folder of secrets.

use std::collections::{BTreeMap, BTreeSet};
use std::path::PathBuf;

use crate::infisical::api::RemoteProject;
use crate::model::document::{
    API_VERSION, EnvironmentSpec, FolderSpec, ImportSpec, Metadata, PolicySpec, ProjectDocument,
    ProjectSpec, SecretSetDocument, SecretSetSpec, SecretSpec,
};
use crate::model::span::Located;
use crate::model::{EnvironmentSlug, FolderPath, ProjectSlug};
use crate::plan::{LiveEnvironment, LiveProject};

use super::{GeneratedFile, ImportError, ImportOptions};

/// Environments in display order (position, then slug).
pub(super) fn ordered_environments<'a>(
    project: &'a LiveProject,
    remote: Option<&RemoteProject>,
) -> Vec<(EnvironmentSlug, &'a LiveEnvironment)> {
    let mut environments: Vec<(EnvironmentSlug, &LiveEnvironment)> = project
        .environments
        .iter()
        .map(|(slug, env)| (slug.clone(), env))
        .collect();
    let listed = |slug: &EnvironmentSlug| {
        remote
            .and_then(|r| r.environments.iter().position(|e| e.slug == slug.as_str()))
            .unwrap_or(usize::MAX)
    };
    environments.sort_by(|(a_slug, a), (b_slug, b)| {
        (a.position.unwrap_or(u32::MAX), listed(a_slug), a_slug).cmp(&(
            b.position.unwrap_or(u32::MAX),
            listed(b_slug),
            b_slug,
        ))
    });
    environments
}

pub(super) fn header(options: &ImportOptions, project: &ProjectSlug) -> String {
    format!(
        "# Imported by `infisical-gitops import` from {}, project `{project}`.\n\
         # Secret values are never written here: each secret references Bitwarden, is generated,\n\
         # carries a `todo`, or is a literal that apply recorded as non-sensitive.\n",
        crate::escape::Visible(&options.instance)
    )
}

pub(super) fn project_file(
    slug: &ProjectSlug,
    project: &LiveProject,
    environments: &[(EnvironmentSlug, &LiveEnvironment)],
    options: &ImportOptions,
) -> GeneratedFile {
    let mut folders: BTreeMap<FolderPath, (Vec<String>, Option<String>)> = BTreeMap::new();
    for (env_slug, environment) in environments {
        for (path, folder) in &environment.folders {
            let entry = folders.entry(path.clone()).or_default();
            entry.0.push(env_slug.to_string());
            if entry.1.is_none() {
                entry.1 =
                    crate::plan::ownership::strip_description_marker(folder.description.as_deref());
            }
        }
    }
    let all = environments.len();
    let spec = ProjectSpec {
        display_name: (project.name != slug.as_str())
            .then(|| Located::unplaced(project.name.clone())),
        description: project.user_description().map(Located::unplaced),
        environments: environments
            .iter()
            .map(|(env_slug, env)| {
                Located::unplaced(EnvironmentSpec {
                    slug: Located::unplaced(env_slug.to_string()),
                    name: (env.name != env_slug.as_str())
                        .then(|| Located::unplaced(env.name.clone())),
                    position: env.position.map(Located::unplaced),
                })
            })
            .collect(),
        folders: folders
            .into_iter()
            .map(|(path, (envs, description))| {
                Located::unplaced(FolderSpec {
                    path: Located::unplaced(path.to_string()),
                    environments: (envs.len() != all)
                        .then(|| envs.into_iter().map(Located::unplaced).collect()),
                    description,
                })
            })
            .collect(),
        policy: Some(PolicySpec {
            adoption: Some(options.adoption),
            ..PolicySpec::default()
        }),
    };
    let document = ProjectDocument {
        api_version: Located::unplaced(API_VERSION.to_string()),
        kind: Located::unplaced("Project".to_string()),
        metadata: Metadata {
            name: Located::unplaced(slug.to_string()),
            ..Metadata::default()
        },
        spec,
    };
    GeneratedFile {
        path: PathBuf::from("projects").join(format!("{slug}.yaml")),
        content: format!("{}{}", header(options, slug), to_yaml(&document)),
    }
}

/// `root` for `/`, else the segments joined by `.` (folder names cannot contain a dot, so two
/// different non-root paths never share a stem). The root's `root` is also the stem of the
/// folder `/root`: [`folder_file_stems`] tells them apart.
pub(super) fn folder_file_stem(path: &FolderPath) -> String {
    if path.is_root() {
        "root".to_string()
    } else {
        path.as_str().trim_matches('/').replace('/', ".")
    }
}

/// One file stem per folder of a project, all different even without letter case (so that
/// `/Apps` and `/apps` do not share a file on a case-insensitive file system). `/` is always
/// `root`; every other folder gets its [`folder_file_stem`], and when that is taken (by `root`,
/// or by a folder that differs only in case and comes first: lowercase before uppercase),
/// `~2`, `~3`, … is appended. A `~` never occurs in a folder name, so a suffixed stem cannot
/// collide with a plain one, and the result depends only on the set of paths.
pub(super) fn folder_file_stems<'a>(
    paths: impl IntoIterator<Item = &'a FolderPath>,
) -> BTreeMap<FolderPath, String> {
    let mut ordered: Vec<&FolderPath> = paths.into_iter().collect();
    ordered.sort_by_key(|path| (path.as_str().to_lowercase(), std::cmp::Reverse(*path)));
    ordered.dedup();
    let mut taken: BTreeSet<String> = BTreeSet::from(["root".to_string()]);
    let mut stems = BTreeMap::new();
    for path in ordered {
        if path.is_root() {
            stems.insert(path.clone(), "root".to_string());
            continue;
        }
        let base = folder_file_stem(path);
        let mut stem = base.clone();
        let mut n = 2u32;
        while !taken.insert(stem.to_lowercase()) {
            stem = format!("{base}~{n}");
            n += 1;
        }
        stems.insert(path.clone(), stem);
    }
    stems
}

/// Refuses a set of files in which two would land on one path (compared without letter case).
pub(super) fn refuse_colliding_paths(files: &[GeneratedFile]) -> Result<(), ImportError> {
    let mut seen = BTreeSet::new();
    for file in files {
        let key = file.path.to_string_lossy().to_lowercase();
        if !seen.insert(key) {
            return Err(ImportError::FileNameCollision(file.path.clone()));
        }
    }
    Ok(())
}

/// A Kubernetes-style document name (lowercase letters, digits, `-`, `.`).
pub(super) fn document_name(parts: &[&str]) -> String {
    let joined = parts.join("-");
    let mut name: String = joined
        .chars()
        .map(|c| match c.to_ascii_lowercase() {
            c @ ('a'..='z' | '0'..='9' | '-' | '.') => c,
            _ => '-',
        })
        .collect();
    name = name.trim_matches(|c| c == '-' || c == '.').to_string();
    name.truncate(253);
    name
}

/// `base`, or `base-2`, `base-3`… when a document of this import already has that name.
pub(super) fn unique_name(names: &mut BTreeSet<String>, base: String) -> String {
    let mut name = base.clone();
    let mut n = 2;
    while !names.insert(name.clone()) {
        name = format!("{base}-{n}");
        n += 1;
    }
    name
}

/// A generated SecretSet of one folder and set of environments.
pub(super) fn secret_set_document(
    name: String,
    slug: &ProjectSlug,
    envs: &[EnvironmentSlug],
    path: &FolderPath,
    secrets: Vec<SecretSpec>,
    imports: Option<Vec<ImportSpec>>,
) -> SecretSetDocument {
    SecretSetDocument {
        api_version: Located::unplaced(API_VERSION.to_string()),
        kind: Located::unplaced("SecretSet".to_string()),
        metadata: Metadata {
            name: Located::unplaced(name),
            ..Metadata::default()
        },
        spec: SecretSetSpec {
            project: Located::unplaced(slug.to_string()),
            environments: envs
                .iter()
                .map(|e| Located::unplaced(e.to_string()))
                .collect(),
            path: Located::unplaced(path.to_string()),
            secrets: secrets.into_iter().map(Located::unplaced).collect(),
            imports: imports.map(|list| list.into_iter().map(Located::unplaced).collect()),
        },
    }
}

#[expect(clippy::too_many_arguments)]
pub(super) fn secret_set_file(
    slug: &ProjectSlug,
    path: &FolderPath,
    stem: &str,
    per_environment: BTreeMap<EnvironmentSlug, Vec<SecretSpec>>,
    imports: BTreeMap<EnvironmentSlug, Vec<ImportSpec>>,
    order: &[EnvironmentSlug],
    names: &mut BTreeSet<String>,
    options: &ImportOptions,
) -> GeneratedFile {
    // Each secret spec goes to the set of environments where it is declared identically;
    // specs with the same environment set share one document.
    let mut by_spec: Vec<(SecretSpec, Vec<EnvironmentSlug>)> = Vec::new();
    for env in order {
        for secret in per_environment.get(env).into_iter().flatten() {
            match by_spec.iter_mut().find(|(s, _)| s == secret) {
                Some((_, envs)) => envs.push(env.clone()),
                None => by_spec.push((secret.clone(), vec![env.clone()])),
            }
        }
    }
    let rank = |envs: &Vec<EnvironmentSlug>| -> (std::cmp::Reverse<usize>, Vec<usize>) {
        (
            std::cmp::Reverse(envs.len()),
            envs.iter()
                .map(|e| order.iter().position(|o| o == e).unwrap_or(usize::MAX))
                .collect(),
        )
    };
    let mut groups: Vec<(Vec<EnvironmentSlug>, Vec<SecretSpec>)> = Vec::new();
    for (spec, envs) in by_spec {
        match groups.iter_mut().find(|(e, _)| *e == envs) {
            Some((_, specs)) => specs.push(spec),
            None => groups.push((envs, vec![spec])),
        }
    }
    groups.sort_by_key(|(envs, _)| rank(envs));
    for (_, specs) in &mut groups {
        specs.sort_by(|a, b| a.key.value.cmp(&b.key.value));
    }
    let single = groups.len() == 1;
    let mut documents = Vec::new();
    for (envs, secrets) in groups {
        let env_names: Vec<&str> = envs.iter().map(EnvironmentSlug::as_str).collect();
        let mut parts = vec![slug.as_str(), stem];
        if !single && envs.len() != order.len() {
            parts.extend(env_names.iter().copied());
        }
        let name = unique_name(names, document_name(&parts));
        let document = secret_set_document(name, slug, &envs, path, secrets, None);
        documents.push(to_yaml(&document));
    }
    // Imports: one document per set of environments with the same list (its order is the
    // import position), without secrets.
    let mut import_groups: Vec<(Vec<EnvironmentSlug>, Vec<ImportSpec>)> = Vec::new();
    for env in order {
        let Some(list) = imports.get(env) else {
            continue;
        };
        match import_groups.iter_mut().find(|(_, l)| l == list) {
            Some((envs, _)) => envs.push(env.clone()),
            None => import_groups.push((vec![env.clone()], list.clone())),
        }
    }
    let single = import_groups.len() == 1;
    for (envs, list) in import_groups {
        let mut parts = vec![slug.as_str(), stem, "imports"];
        if !single {
            parts.extend(envs.iter().map(EnvironmentSlug::as_str));
        }
        let name = unique_name(names, document_name(&parts));
        let document = secret_set_document(name, slug, &envs, path, Vec::new(), Some(list));
        documents.push(to_yaml(&document));
    }
    GeneratedFile {
        path: PathBuf::from("secrets")
            .join(slug.as_str())
            .join(format!("{stem}.yaml")),
        content: format!("{}{}", header(options, slug), documents.join("---\n")),
    }
}

pub(super) fn to_yaml<T: serde::Serialize>(document: &T) -> String {
    // The document types serialize infallibly (strings, numbers, maps, sequences).
    serde_saphyr::to_string(document).unwrap_or_else(|error| format!("# unserializable: {error}\n"))
}
