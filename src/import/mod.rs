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
//! Secret values are never written. Each secret gets, in this order: a Bitwarden reference from
//! the mapping file; the source apply recorded in the metadata of a secret it manages
//! (`generate`, or a non-sensitive literal `value`); a reference to the one Bitwarden field (or
//! Secrets Manager secret) that holds its value (compared by keyed digest, sensitive fields
//! first, see [`matching`]); a reference to the one item named like it; or else a `todo`
//! placeholder that `validate` reports as `placeholder-source`. The ownership marker is left out
//! of metadata and descriptions, and every project gets `policy.adoption: adopt` (or the chosen
//! policy), so the first plan against the same Infisical only adopts.

mod files;
pub(crate) mod matching;
mod sources;
#[cfg(test)]
mod tests;

use std::collections::{BTreeMap, BTreeSet};
use std::path::PathBuf;

use futures::StreamExt;

use crate::infisical::api::{InfisicalApi, RemoteProject};
use crate::infisical::error::ApiError;
use crate::infisical::observe::{ObserveError, observe_projects};
use crate::model::document::{
    Adoption, BitwardenSecretsManagerSpec, GenerateSpec, ImportSpec, SecretSpec,
};
use crate::model::span::Located;
use crate::model::{Address, EnvironmentSlug, FolderPath, SecretKey};
use crate::plan::{LiveProject, LiveSecret, LiveState};

pub use matching::{Catalog, Mapping, MappingEntry, MappingError, NameMatch, ValueHolder};

use files::{
    folder_file_stem, folder_file_stems, ordered_environments, project_file,
    refuse_colliding_paths, secret_set_file,
};
use sources::{Source, decide_sources};

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
    /// Names or values that match several Bitwarden items, none chosen.
    #[error("{} secret(s) match several bitwarden items:\n{}", .0.len(), render_ambiguities(.0))]
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

/// A secret whose name or value matches several Bitwarden items.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Ambiguity {
    /// The secret.
    pub address: Address,
    /// What matched.
    pub reason: ChoiceReason,
    /// The candidate item ids, sorted.
    pub candidates: Vec<String>,
}

/// Why several items are candidates for one secret.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub enum ChoiceReason {
    /// The items carry this name.
    Name(String),
    /// The items hold the secret's value (none of them named like the secret, none alone in
    /// the Bitwarden folder the secret's neighbours came from).
    Value,
}

fn render_ambiguities(list: &[Ambiguity]) -> String {
    list.iter()
        .map(|a| {
            let ids: Vec<String> = a
                .candidates
                .iter()
                .map(|id| crate::escape::visible(id).into_owned())
                .collect();
            match &a.reason {
                ChoiceReason::Name(name) => format!(
                    "  {}: {} items are named `{}`: {}",
                    a.address,
                    a.candidates.len(),
                    crate::escape::Visible(name),
                    ids.join(", ")
                ),
                ChoiceReason::Value => format!(
                    "  {}: {} items hold its value: {}",
                    a.address,
                    a.candidates.len(),
                    ids.join(", ")
                ),
            }
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

/// Which ways of finding a secret's Bitwarden item are tried (`--match`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum MatchMode {
    /// Only items named like the secret.
    Name,
    /// Only fields holding the secret's value.
    Value,
    /// The value first, then the name.
    #[default]
    Both,
}

impl MatchMode {
    fn by_value(self) -> bool {
        self != MatchMode::Name
    }

    fn by_name(self) -> bool {
        self != MatchMode::Value
    }
}

/// How to generate.
#[derive(Debug, Clone)]
pub struct ImportOptions {
    /// The instance URL, for the header comment.
    pub instance: String,
    /// The adoption policy written into every project (`adopt` or `create-or-adopt`).
    pub adoption: Adoption,
    /// How secrets are matched with Bitwarden items.
    pub matching: MatchMode,
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
    /// Secrets referenced through the one field (or Secrets Manager secret) holding their value.
    pub matched_by_value: usize,
    /// Secrets referenced through an item found by name.
    pub matched_by_name: usize,
    /// Secrets written back as `generate` from the rule apply recorded.
    pub generated: usize,
    /// Secrets written back as a literal `value` (`sensitive: false`) because apply recorded
    /// them as non-sensitive literals: listed for review, since the value is in the files.
    pub literals: Vec<Address>,
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

/// Picks one of several candidate items for a secret (a terminal prompt), or `None` to refuse.
pub trait Chooser {
    /// `candidates` are item ids; returns the chosen one.
    fn choose(
        &mut self,
        address: &Address,
        reason: &ChoiceReason,
        candidates: &[String],
    ) -> Option<String>;
}

/// Never chooses: every ambiguity is an error.
#[derive(Debug, Clone, Copy, Default)]
pub struct Refuse;

impl Chooser for Refuse {
    fn choose(&mut self, _: &Address, _: &ChoiceReason, _: &[String]) -> Option<String> {
        None
    }
}

/// Turns an observation into files. `projects` are the lookups [`read_live`] returned.
///
/// A secret's source, in order: the mapping file; the source record apply wrote on a secret it
/// manages (`infisical-gitops/generate` → `generate`, `infisical-gitops/literal` → `value`
/// with `sensitive: false`, unless a sensitive field holds the value); the one Bitwarden field
/// or Secrets Manager secret holding its value; the one item named like it; else a `todo`
/// placeholder.
///
/// # Errors
/// [`ImportError::Ambiguous`] listing every secret whose name or value matched several items
/// and for which `chooser` chose none.
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
    let mut sources = decide_sources(live, mapping, catalog, chooser, options, &mut report)?;

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
                let source = sources
                    .remove(&address)
                    .unwrap_or_else(|| Source::Todo("fill in a bitwarden reference".to_string()));
                let spec = secret_spec(&address, key, secret, source, catalog, &mut report);
                report.secrets += 1;
                by_folder
                    .entry(path.clone())
                    .or_default()
                    .entry(env_slug.clone())
                    .or_default()
                    .push(spec);
            }
        }
        let mut imports_by_folder = imports_by_folder(project);
        for path in imports_by_folder.keys() {
            by_folder.entry(path.clone()).or_default();
        }
        let order: Vec<EnvironmentSlug> = environments.iter().map(|(s, _)| s.clone()).collect();
        let mut names = BTreeSet::new();
        let stems = folder_file_stems(by_folder.keys());
        for (path, per_environment) in by_folder {
            let imports = imports_by_folder.remove(&path).unwrap_or_default();
            let stem = stems
                .get(&path)
                .cloned()
                .unwrap_or_else(|| folder_file_stem(&path));
            files.push(secret_set_file(
                slug,
                &path,
                &stem,
                per_environment,
                imports,
                &order,
                &mut names,
                options,
            ));
        }
    }
    files.sort_by(|a, b| a.path.cmp(&b.path));
    refuse_colliding_paths(&files)?;
    report.placeholders.sort();
    report.literals.sort();
    report.differing_values.sort();
    Ok(Imported { files, report })
}

/// The spec of one live secret, with its source written in; a Bitwarden reference whose value
/// differs from the live one is recorded in `report`.
fn secret_spec(
    address: &Address,
    key: &SecretKey,
    secret: &LiveSecret,
    source: Source,
    catalog: Option<&Catalog>,
    report: &mut ImportReport,
) -> SecretSpec {
    let mut spec = SecretSpec {
        key: Located::unplaced(key.to_string()),
        comment: (!secret.comment.is_empty()).then(|| Located::unplaced(secret.comment.clone())),
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
        Source::SecretsManager(secret_id) => {
            spec.bitwarden_secrets_manager = Some(Located::unplaced(BitwardenSecretsManagerSpec {
                secret: Located::unplaced(secret_id),
            }));
        }
        Source::Generate(rule) => {
            spec.generate = Some(Located::unplaced(GenerateSpec {
                length: Some(Located::unplaced(rule.length)),
                charset: Some(rule.charset),
                backup_to: rule.backup_to,
            }));
        }
        Source::Literal(value) => {
            spec.sensitive = Some(Located::unplaced(false));
            spec.value = Some(Located::unplaced(value));
        }
        Source::Todo(note) => {
            spec.todo = Some(Located::unplaced(note));
        }
    }
    spec
}

/// path → environment → imports, in position order (replication imports and imports of folders
/// that do not exist are left out: the repository could not declare them).
fn imports_by_folder(
    project: &LiveProject,
) -> BTreeMap<FolderPath, BTreeMap<EnvironmentSlug, Vec<ImportSpec>>> {
    let mut imports_by_folder: BTreeMap<FolderPath, BTreeMap<EnvironmentSlug, Vec<ImportSpec>>> =
        BTreeMap::new();
    for (env_slug, env) in &project.environments {
        for (path, imports) in &env.imports {
            let specs: Vec<ImportSpec> = imports
                .iter()
                .filter_map(|import| import.manageable_source())
                .filter(|(source_env, source_path)| {
                    source_path.is_root()
                        || project
                            .environments
                            .get(source_env)
                            .is_some_and(|e| e.folders.contains_key(source_path))
                })
                .map(|(source_env, source_path)| ImportSpec {
                    environment: Located::unplaced(source_env.to_string()),
                    path: Located::unplaced(source_path.to_string()),
                })
                .collect();
            if specs.is_empty() {
                continue;
            }
            imports_by_folder
                .entry(path.clone())
                .or_default()
                .insert(env_slug.clone(), specs);
        }
    }
    imports_by_folder
}
