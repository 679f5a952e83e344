//! Import: an existing Infisical → a desired-state repository (see `docs/import.md`).
//!
//! 1. [`read_live`] looks the projects up and reads them with [`observe_projects`] (one lookup
//!    per project, plus one folder and one secret listing per environment; `--all` adds one
//!    project listing);
//! 2. [`generate`] turns the observation into files, in the repository's conventions:
//!    `projects/<slug>.yaml` (one `Project`) and `secrets/<slug>/<folder>.yaml` (the
//!    `SecretSet`s of one folder: a secret declared identically in several environments is
//!    written once, in a document for exactly that set of environments). Everything is sorted; nothing depends on the
//!    clock.
//!
//! Values are never written. Each secret gets a Bitwarden reference from the mapping file, or
//! from the one item named like it in the given Bitwarden scope, or else a `todo` placeholder
//! that `validate` reports as `placeholder-source`. The ownership marker is left out of
//! metadata and descriptions, and every project gets `policy.adoption: adopt` (or the chosen
//! policy), so the first plan against the same Infisical only adopts.

pub mod matching;

use std::collections::{BTreeMap, BTreeSet};
use std::path::PathBuf;

use futures::StreamExt;

use crate::infisical::api::{InfisicalApi, RemoteProject};
use crate::infisical::error::ApiError;
use crate::infisical::observe::{ObserveError, observe_projects};
use crate::model::document::{
    API_VERSION, Adoption, BitwardenSpec, EnvironmentSpec, FolderSpec, Metadata, PolicySpec,
    ProjectDocument, ProjectSpec, SecretSetDocument, SecretSetSpec, SecretSpec,
};
use crate::model::span::Located;
use crate::model::{Address, EnvironmentSlug, FolderPath, ProjectSlug};
use crate::plan::{LiveEnvironment, LiveProject, LiveState};

pub use matching::{Catalog, Mapping, MappingEntry, MappingError, NameMatch};

/// Why an import failed.
#[derive(Debug, thiserror::Error)]
pub enum ImportError {
    /// A project lookup or listing failed.
    #[error("failed to read project `{project}`")]
    Lookup {
        /// The project slug.
        project: String,
        /// The call that failed.
        #[source]
        source: Box<ApiError>,
    },
    /// The project listing failed (`--all`).
    #[error("failed to list the projects")]
    Listing(#[source] Box<ApiError>),
    /// A requested project does not exist.
    #[error("project `{0}` does not exist (or this identity cannot see it)")]
    NoSuchProject(String),
    /// Reading folders or secrets failed.
    #[error(transparent)]
    Observe(Box<ObserveError>),
    /// Names that match several Bitwarden items, none chosen.
    #[error("{} secret(s) match several bitwarden items by name:\n{}", .0.len(), render_ambiguities(.0))]
    Ambiguous(Vec<Ambiguity>),
    /// Two generated files would have one path (compared without letter case, as a
    /// case-insensitive file system does). File names are made injective, so this is a bug
    /// guard: nothing is written rather than one file over another.
    #[error(
        "two generated files would both be written to `{}`; nothing was written (please report this)",
        .0.display()
    )]
    FileNameCollision(PathBuf),
}

/// A secret whose name matches several Bitwarden items.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Ambiguity {
    /// The secret.
    pub address: Address,
    /// The item name that matched.
    pub name: String,
    /// The candidate item ids, sorted.
    pub candidates: Vec<String>,
}

fn render_ambiguities(list: &[Ambiguity]) -> String {
    list.iter()
        .map(|a| {
            format!(
                "  {}: {} items are named `{}`: {}",
                a.address,
                a.candidates.len(),
                a.name,
                a.candidates.join(", ")
            )
        })
        .collect::<Vec<_>>()
        .join("\n")
        + "\nchoose one per secret in a mapping file (--mapping), rename the items, or run on a terminal to be asked"
}

/// Which projects to import.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Selection {
    /// These slugs.
    Projects(Vec<String>),
    /// Every secret-manager project the identity can see.
    All,
}

/// Reads the selected projects: their lookups (for names, descriptions and environment
/// positions) and every environment's folders and secrets.
///
/// # Errors
/// A failed call, or a named project that does not exist.
pub async fn read_live(
    api: &dyn InfisicalApi,
    selection: &Selection,
    concurrency: usize,
) -> Result<(Vec<RemoteProject>, LiveState), ImportError> {
    let slugs: Vec<String> = match selection {
        Selection::Projects(slugs) => {
            let mut slugs = slugs.clone();
            slugs.sort();
            slugs.dedup();
            slugs
        }
        Selection::All => {
            let mut slugs: Vec<String> = api
                .list_projects()
                .await
                .map_err(|e| ImportError::Listing(Box::new(e)))?
                .into_iter()
                .map(|p| p.slug)
                .collect();
            slugs.sort();
            slugs.dedup();
            slugs
        }
    };
    let found: Vec<Result<RemoteProject, ImportError>> =
        futures::stream::iter(slugs.into_iter().map(|slug| async move {
            match api.get_project_by_slug(&slug).await {
                Ok(Some(project)) => Ok(project),
                Ok(None) => Err(ImportError::NoSuchProject(slug)),
                Err(source) => Err(ImportError::Lookup {
                    project: slug,
                    source: Box::new(source),
                }),
            }
        }))
        .buffered(concurrency.max(1))
        .collect()
        .await;
    let projects: Vec<RemoteProject> = found.into_iter().collect::<Result<_, _>>()?;
    let live = observe_projects(api, projects.clone(), concurrency)
        .await
        .map_err(|e| ImportError::Observe(Box::new(e)))?;
    Ok((projects, live))
}

/// How to generate.
#[derive(Debug, Clone)]
pub struct ImportOptions {
    /// The instance URL, for the header comment.
    pub instance: String,
    /// The adoption policy written into every project (`adopt` or `create-or-adopt`).
    pub adoption: Adoption,
}

/// One file to write, relative to the output directory.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct GeneratedFile {
    /// Relative path, `/`-separated.
    pub path: PathBuf,
    /// The YAML text.
    pub content: String,
}

/// Where each secret's source came from, and what to review.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ImportReport {
    /// Projects written.
    pub projects: usize,
    /// Secrets written (one per project, environment, folder and key).
    pub secrets: usize,
    /// Secrets referenced through the mapping file.
    pub mapped: usize,
    /// Secrets referenced through an item found by name.
    pub matched_by_name: usize,
    /// Secrets left with a `todo` placeholder.
    pub placeholders: Vec<Address>,
    /// References whose Bitwarden value differs from the live one (the first plan would write
    /// the Bitwarden value).
    pub differing_values: Vec<Address>,
    /// Other things to review, one line each (never a value).
    pub warnings: Vec<String>,
}

/// The files and the report.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Imported {
    /// The files, sorted by path.
    pub files: Vec<GeneratedFile>,
    /// The report.
    pub report: ImportReport,
}

/// Picks one of several candidate items for a name (a terminal prompt), or `None` to refuse.
pub trait Chooser {
    /// `candidates` are item ids; returns the chosen one.
    fn choose(&mut self, address: &Address, name: &str, candidates: &[String]) -> Option<String>;
}

/// Never chooses: every ambiguity is an error.
#[derive(Debug, Clone, Copy, Default)]
pub struct Refuse;

impl Chooser for Refuse {
    fn choose(&mut self, _: &Address, _: &str, _: &[String]) -> Option<String> {
        None
    }
}

/// Turns an observation into files. `projects` are the lookups [`read_live`] returned.
///
/// # Errors
/// [`ImportError::Ambiguous`] listing every secret whose name matched several items and for
/// which `chooser` chose none.
pub fn generate(
    projects: &[RemoteProject],
    live: &LiveState,
    mapping: &Mapping,
    catalog: Option<&Catalog>,
    chooser: &mut dyn Chooser,
    options: &ImportOptions,
) -> Result<Imported, ImportError> {
    let mut report = ImportReport::default();
    let mut files = Vec::new();
    let mut ambiguities = Vec::new();
    // One choice per ambiguous name, so a key in three environments is asked once.
    let mut chosen: BTreeMap<String, Option<String>> = BTreeMap::new();
    let mut used_mappings = BTreeSet::new();

    for (slug, project) in &live.projects {
        let remote = projects.iter().find(|p| p.slug == slug.as_str());
        let environments = ordered_environments(project, remote);
        report.projects += 1;
        files.push(project_file(slug, project, &environments, options));

        // path → environment → secrets (sorted by key)
        let mut by_folder: BTreeMap<FolderPath, BTreeMap<EnvironmentSlug, Vec<SecretSpec>>> =
            BTreeMap::new();
        for (env_slug, environment) in &environments {
            for ((path, key), secret) in &environment.secrets {
                let address =
                    Address::Secret(slug.clone(), env_slug.clone(), path.clone(), key.clone());
                let source = if let Some(entry) = mapping.get(&address) {
                    used_mappings.insert(address.clone());
                    report.mapped += 1;
                    Source::Bitwarden(entry.to_spec())
                } else {
                    match catalog.map(|c| c.find(&address)) {
                        Some(NameMatch::One { item, field }) => {
                            report.matched_by_name += 1;
                            Source::Bitwarden(reference(item, field))
                        }
                        Some(NameMatch::Ambiguous { name, candidates }) => {
                            let choice = chosen
                                .entry(name.clone())
                                .or_insert_with(|| chooser.choose(&address, &name, &candidates))
                                .clone();
                            match choice {
                                Some(item) => {
                                    report.matched_by_name += 1;
                                    let field = catalog.and_then(|c| c.field_for(&item));
                                    Source::Bitwarden(reference(item, field))
                                }
                                None => {
                                    ambiguities.push(Ambiguity {
                                        address: address.clone(),
                                        name,
                                        candidates,
                                    });
                                    Source::Todo(String::new())
                                }
                            }
                        }
                        Some(NameMatch::None) => Source::Todo(format!(
                            "fill in a bitwarden reference (no item named `{key}` or `{address}` in {})",
                            catalog.map(Catalog::scope_label).unwrap_or_default()
                        )),
                        None => Source::Todo("fill in a bitwarden reference".to_string()),
                    }
                };
                let mut spec = SecretSpec {
                    key: Located::unplaced(key.to_string()),
                    comment: (!secret.comment.is_empty())
                        .then(|| Located::unplaced(secret.comment.clone())),
                    tags: secret
                        .tags
                        .iter()
                        .map(|t| Located::unplaced(t.to_string()))
                        .collect(),
                    metadata: secret.user_metadata(),
                    ..SecretSpec::default()
                };
                if secret.comment.trim() != secret.comment {
                    report.warnings.push(format!(
                        "{address}: the comment has surrounding whitespace, which the repository trims; the first plan updates it"
                    ));
                }
                match source {
                    Source::Bitwarden(reference) => {
                        if let Some(catalog) = catalog
                            && catalog.same_value(&reference, secret.value.as_ref()) == Some(false)
                        {
                            report.differing_values.push(address.clone());
                        }
                        spec.bitwarden = Some(Located::unplaced(reference));
                    }
                    Source::Todo(note) => {
                        report.placeholders.push(address.clone());
                        spec.todo = Some(Located::unplaced(note));
                    }
                }
                report.secrets += 1;
                by_folder
                    .entry(path.clone())
                    .or_default()
                    .entry(env_slug.clone())
                    .or_default()
                    .push(spec);
            }
        }
        let order: Vec<EnvironmentSlug> = environments.iter().map(|(s, _)| s.clone()).collect();
        let mut names = BTreeSet::new();
        let stems = folder_file_stems(by_folder.keys());
        for (path, per_environment) in by_folder {
            let stem = stems
                .get(&path)
                .cloned()
                .unwrap_or_else(|| folder_file_stem(&path));
            files.push(secret_set_file(
                slug,
                &path,
                &stem,
                per_environment,
                &order,
                &mut names,
                options,
            ));
        }
    }
    if !ambiguities.is_empty() {
        return Err(ImportError::Ambiguous(ambiguities));
    }
    for address in mapping.addresses() {
        if !used_mappings.contains(address) {
            report.warnings.push(format!(
                "{address}: mapping entry matches no imported secret"
            ));
        }
    }
    files.sort_by(|a, b| a.path.cmp(&b.path));
    refuse_colliding_paths(&files)?;
    report.placeholders.sort();
    report.differing_values.sort();
    Ok(Imported { files, report })
}

enum Source {
    Bitwarden(BitwardenSpec),
    Todo(String),
}

fn reference(item: String, field: Option<crate::model::document::BitwardenField>) -> BitwardenSpec {
    BitwardenSpec {
        item: Some(Located::unplaced(item)),
        field: field.map(Located::unplaced),
        ..BitwardenSpec::default()
    }
}

/// Environments in display order (position, then slug).
fn ordered_environments<'a>(
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

fn header(options: &ImportOptions, project: &ProjectSlug) -> String {
    format!(
        "# Imported by `infisical-gitops import` from {}, project `{project}`.\n\
         # Values are never written here: each secret references Bitwarden or carries a `todo`.\n",
        crate::escape::Visible(&options.instance)
    )
}

fn project_file(
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
fn folder_file_stem(path: &FolderPath) -> String {
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
fn folder_file_stems<'a>(
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
fn refuse_colliding_paths(files: &[GeneratedFile]) -> Result<(), ImportError> {
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
fn document_name(parts: &[&str]) -> String {
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

#[allow(clippy::too_many_arguments)]
fn secret_set_file(
    slug: &ProjectSlug,
    path: &FolderPath,
    stem: &str,
    per_environment: BTreeMap<EnvironmentSlug, Vec<SecretSpec>>,
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
        let base = document_name(&parts);
        let mut name = base.clone();
        let mut n = 2;
        while !names.insert(name.clone()) {
            name = format!("{base}-{n}");
            n += 1;
        }
        let document = SecretSetDocument {
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
            },
        };
        documents.push(to_yaml(&document));
    }
    GeneratedFile {
        path: PathBuf::from("secrets")
            .join(slug.as_str())
            .join(format!("{stem}.yaml")),
        content: format!("{}{}", header(options, slug), documents.join("---\n")),
    }
}

fn to_yaml<T: serde::Serialize>(document: &T) -> String {
    // The document types serialize infallibly (strings, numbers, maps, sequences).
    serde_saphyr::to_string(document).unwrap_or_else(|error| format!("# unserializable: {error}\n"))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn paths(list: &[&str]) -> Vec<FolderPath> {
        list.iter().map(|p| FolderPath::new(*p).unwrap()).collect()
    }

    #[test]
    fn file_stems_are_injective_even_without_case() {
        let folders = paths(&[
            "/", "/root", "/Root", "/apps", "/Apps", "/APPS", "/a/b", "/a_b",
        ]);
        let stems = folder_file_stems(&folders);
        let got: Vec<(&str, &str)> = stems
            .iter()
            .map(|(path, stem)| (path.as_str(), stem.as_str()))
            .collect();
        assert_eq!(
            got,
            [
                ("/", "root"),
                ("/APPS", "APPS~3"),
                ("/Apps", "Apps~2"),
                ("/Root", "Root~3"),
                ("/a/b", "a.b"),
                ("/a_b", "a_b"),
                ("/apps", "apps"),
                ("/root", "root~2"),
            ]
        );
        let lowercase: BTreeSet<String> = stems.values().map(|s| s.to_lowercase()).collect();
        assert_eq!(lowercase.len(), folders.len(), "no two stems share a file");
        let mut reversed = folders.clone();
        reversed.reverse();
        assert_eq!(
            folder_file_stems(&reversed),
            stems,
            "the order given does not matter"
        );
        // Without the root, `/root` still does not take the root's name.
        let alone = folder_file_stems(&paths(&["/root"]));
        assert_eq!(alone.values().next().unwrap(), "root~2");
    }

    #[test]
    fn two_files_on_one_path_are_refused() {
        let file = |path: &str| GeneratedFile {
            path: PathBuf::from(path),
            content: String::new(),
        };
        assert!(
            refuse_colliding_paths(&[file("secrets/a/root.yaml"), file("secrets/a/x.yaml")])
                .is_ok()
        );
        let error =
            refuse_colliding_paths(&[file("secrets/a/Root.yaml"), file("secrets/a/root.yaml")])
                .unwrap_err();
        assert_eq!(
            error.to_string(),
            "two generated files would both be written to `secrets/a/root.yaml`; nothing was written (please report this)"
        );
    }

    #[test]
    fn file_stems_and_document_names() {
        assert_eq!(folder_file_stem(&FolderPath::new("/").unwrap()), "root");
        assert_eq!(
            folder_file_stem(&FolderPath::new("/apps/web_1").unwrap()),
            "apps.web_1"
        );
        assert_eq!(
            document_name(&["api", "apps.Web_1", "prod"]),
            "api-apps.web-1-prod"
        );
    }
}
