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

pub mod matching;

use std::collections::{BTreeMap, BTreeSet};
use std::path::PathBuf;

use futures::StreamExt;

use crate::infisical::api::{InfisicalApi, RemoteProject};
use crate::infisical::error::ApiError;
use crate::infisical::observe::{ObserveError, observe_projects};
use crate::model::document::{
    API_VERSION, Adoption, BitwardenSecretsManagerSpec, BitwardenSpec, EnvironmentSpec, FolderSpec,
    GenerateSpec, ImportSpec, Metadata, PolicySpec, ProjectDocument, ProjectSpec,
    SecretSetDocument, SecretSetSpec, SecretSpec,
};
use crate::model::span::Located;
use crate::model::{Address, EnvironmentSlug, FolderPath, GenerateRule, ProjectSlug, SecretValue};
use crate::plan::{LiveEnvironment, LiveProject, LiveState};

pub use matching::{Catalog, Mapping, MappingEntry, MappingError, NameMatch, ValueHolder};

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

/// Where one secret's value comes from, in the generated file.
#[derive(Debug, Clone)]
enum Source {
    Bitwarden(BitwardenSpec),
    /// A Bitwarden Secrets Manager secret, by id.
    SecretsManager(String),
    Generate(GenerateRule),
    Literal(String),
    Todo(String),
}

/// What the first pass decided for a secret.
enum Pending {
    Decided(Source),
    /// Several items hold the value, none named like the secret: decided in the second pass
    /// (same Bitwarden folder as the secret's neighbours, then the chooser).
    ValueChoice(Vec<ValueHolder>),
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
                    Source::SecretsManager(secret_id) => {
                        spec.bitwarden_secrets_manager =
                            Some(Located::unplaced(BitwardenSecretsManagerSpec {
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
                report.secrets += 1;
                by_folder
                    .entry(path.clone())
                    .or_default()
                    .entry(env_slug.clone())
                    .or_default()
                    .push(spec);
            }
        }
        // path → environment → imports, in position order (replication imports and imports of
        // folders that do not exist are left out: the repository could not declare them)
        let mut imports_by_folder: BTreeMap<
            FolderPath,
            BTreeMap<EnvironmentSlug, Vec<ImportSpec>>,
        > = BTreeMap::new();
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
                by_folder.entry(path.clone()).or_default();
                imports_by_folder
                    .entry(path.clone())
                    .or_default()
                    .insert(env_slug.clone(), specs);
            }
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

/// Every secret's source, counted in `report`. Two passes: the first decides every secret it
/// can on its own; the second settles values held by several items, preferring the Bitwarden
/// folder that the other secrets of the same Infisical folder were found in.
fn decide_sources(
    live: &LiveState,
    mapping: &Mapping,
    catalog: Option<&Catalog>,
    chooser: &mut dyn Chooser,
    options: &ImportOptions,
    report: &mut ImportReport,
) -> Result<BTreeMap<Address, Source>, ImportError> {
    let mut ambiguities = Vec::new();
    // One choice per ambiguous name or candidate set, so a key in three environments is asked
    // once.
    let mut chosen: BTreeMap<(ChoiceReason, Vec<String>), Option<String>> = BTreeMap::new();
    let mut used_mappings = BTreeSet::new();
    let mut pending: BTreeMap<Address, Pending> = BTreeMap::new();

    for (slug, project) in &live.projects {
        for (env_slug, environment) in &project.environments {
            for ((path, key), secret) in &environment.secrets {
                let address =
                    Address::Secret(slug.clone(), env_slug.clone(), path.clone(), key.clone());
                let decision = if let Some(entry) = mapping.get(&address) {
                    used_mappings.insert(address.clone());
                    report.mapped += 1;
                    Pending::Decided(Source::Bitwarden(entry.to_spec()))
                } else if let Some(source) = recorded_source(&address, secret, catalog, report) {
                    Pending::Decided(source)
                } else {
                    match value_match(&address, secret, catalog, options) {
                        Some(Pending::Decided(source)) => {
                            report.matched_by_value += 1;
                            Pending::Decided(source)
                        }
                        Some(other) => other,
                        None => Pending::Decided(name_match(
                            &address,
                            catalog,
                            options,
                            chooser,
                            &mut chosen,
                            &mut ambiguities,
                            report,
                        )),
                    }
                };
                pending.insert(address, decision);
            }
        }
    }

    // The Bitwarden folders each Infisical folder's secrets were found in.
    let mut neighbours: BTreeMap<(ProjectSlug, FolderPath), BTreeSet<String>> = BTreeMap::new();
    if let Some(catalog) = catalog {
        for (address, decision) in &pending {
            if let (
                Address::Secret(project, _, path, _),
                Pending::Decided(Source::Bitwarden(reference)),
            ) = (address, decision)
                && let Some(folder) = reference
                    .item
                    .as_ref()
                    .and_then(|item| catalog.folder_of(&item.value))
            {
                neighbours
                    .entry((project.clone(), path.clone()))
                    .or_default()
                    .insert(folder.to_string());
            }
        }
    }

    let mut sources = BTreeMap::new();
    for (address, decision) in pending {
        let source = match decision {
            Pending::Decided(source) => source,
            Pending::ValueChoice(holders) => {
                let folders = match &address {
                    Address::Secret(project, _, path, _) => {
                        neighbours.get(&(project.clone(), path.clone()))
                    }
                    _ => None,
                };
                let near: Vec<&ValueHolder> = holders
                    .iter()
                    .filter(|h| {
                        h.folder
                            .as_ref()
                            .is_some_and(|f| folders.is_some_and(|set| set.contains(f)))
                    })
                    .collect();
                let picked = if let [one] = near.as_slice() {
                    Some((*one).clone())
                } else {
                    let ids: Vec<String> = holders.iter().map(|h| h.item.clone()).collect();
                    let choice = chosen
                        .entry((ChoiceReason::Value, ids.clone()))
                        .or_insert_with(|| chooser.choose(&address, &ChoiceReason::Value, &ids))
                        .clone();
                    match choice.and_then(|id| holders.iter().find(|h| h.item == id)) {
                        Some(holder) => Some(holder.clone()),
                        None => {
                            ambiguities.push(Ambiguity {
                                address: address.clone(),
                                reason: ChoiceReason::Value,
                                candidates: ids,
                            });
                            None
                        }
                    }
                };
                match picked {
                    Some(holder) => {
                        report.matched_by_value += 1;
                        holder_source(&holder)
                    }
                    None => Source::Todo(String::new()),
                }
            }
        };
        if matches!(source, Source::Todo(_)) {
            report.placeholders.push(address.clone());
        }
        sources.insert(address, source);
    }
    if !ambiguities.is_empty() {
        ambiguities.sort_by(|a, b| a.address.cmp(&b.address));
        return Err(ImportError::Ambiguous(ambiguities));
    }
    for address in mapping.addresses() {
        if !used_mappings.contains(address) {
            report.warnings.push(format!(
                "{address}: mapping entry matches no imported secret"
            ));
        }
    }
    Ok(sources)
}

/// The source apply recorded on a secret it manages: `generate` from
/// `infisical-gitops/generate` (when the live value fits the rule), `value` from
/// `infisical-gitops/literal: true` (unless a *sensitive* Bitwarden field in scope holds the
/// value, a password, notes, hidden custom field or Secrets Manager value: then it is a secret,
/// and the value match decides; a URI or username holding it does not count, so a literal URL
/// stays a literal). The recorded source comes before value matching. Records on unmarked
/// secrets are ignored: only a secret this tool writes carries its records.
fn recorded_source(
    address: &Address,
    secret: &crate::plan::LiveSecret,
    catalog: Option<&Catalog>,
    report: &mut ImportReport,
) -> Option<Source> {
    use crate::plan::ownership::{GENERATE_KEY, LITERAL_KEY, LITERAL_VALUE, parse_generate_record};
    if !secret.is_marked() {
        return None;
    }
    if let Some(record) = secret.metadata.get(GENERATE_KEY) {
        let Some(rule) = parse_generate_record(record) else {
            report.warnings.push(format!(
                "{address}: the metadata `{GENERATE_KEY}` is not a rule this tool writes; the secret is matched like an unmanaged one"
            ));
            return None;
        };
        if let Some(value) = &secret.value
            && !fits_rule(value, &rule)
        {
            report.warnings.push(format!(
                "{address}: the value does not fit its recorded rule `{}` (changed by hand?); the secret is matched like an unmanaged one",
                crate::plan::ownership::generate_record(&rule)
            ));
            return None;
        }
        report.generated += 1;
        return Some(Source::Generate(rule));
    }
    if secret.metadata.get(LITERAL_KEY).map(String::as_str) == Some(LITERAL_VALUE) {
        let value = secret.value.as_ref()?;
        if value.is_blank() {
            return None;
        }
        if catalog.is_some_and(|c| c.holds_sensitive_value(value)) {
            report.warnings.push(format!(
                "{address}: recorded as a non-sensitive literal, but a sensitive bitwarden field holds its value; it is imported as a reference, not as a literal"
            ));
            return None;
        }
        report.literals.push(address.clone());
        return Some(Source::Literal(value.expose().to_string()));
    }
    None
}

/// Whether `value` could have been made by `rule`: its length and alphabet.
fn fits_rule(value: &SecretValue, rule: &GenerateRule) -> bool {
    let alphabet = crate::resolve::generate::alphabet(rule.charset);
    let text = value.expose();
    text.len() == rule.length as usize && text.bytes().all(|b| alphabet.contains(&b))
}

/// The value match: `None` when no field holds the value (or value matching is off).
fn value_match(
    address: &Address,
    secret: &crate::plan::LiveSecret,
    catalog: Option<&Catalog>,
    options: &ImportOptions,
) -> Option<Pending> {
    if !options.matching.by_value() {
        return None;
    }
    let holders = catalog?.find_by_value(secret.value.as_ref()?);
    match holders.as_slice() {
        [] => None,
        [one] => Some(Pending::Decided(holder_source(one))),
        many => {
            // The most specific: an item (or Secrets Manager secret) named like the secret.
            let names = Catalog::names_for(address);
            let named: Vec<&ValueHolder> =
                many.iter().filter(|h| names.contains(&h.name)).collect();
            match named.as_slice() {
                [one] => Some(Pending::Decided(holder_source(one))),
                _ => Some(Pending::ValueChoice(holders)),
            }
        }
    }
}

/// The source written for a value holder: a Secrets Manager reference or a Password Manager one.
fn holder_source(holder: &ValueHolder) -> Source {
    if holder.secrets_manager {
        Source::SecretsManager(holder.item.clone())
    } else {
        Source::Bitwarden(holder.to_spec())
    }
}

/// The name match, then the placeholder.
fn name_match(
    address: &Address,
    catalog: Option<&Catalog>,
    options: &ImportOptions,
    chooser: &mut dyn Chooser,
    chosen: &mut BTreeMap<(ChoiceReason, Vec<String>), Option<String>>,
    ambiguities: &mut Vec<Ambiguity>,
    report: &mut ImportReport,
) -> Source {
    let key = match address {
        Address::Secret(_, _, _, key) => key.to_string(),
        _ => String::new(),
    };
    let Some(catalog) = catalog else {
        return Source::Todo("fill in a bitwarden reference".to_string());
    };
    if !options.matching.by_name() {
        return Source::Todo(format!(
            "fill in a bitwarden reference (no field in {} holds this value)",
            catalog.scope_label()
        ));
    }
    match catalog.find(address) {
        NameMatch::One { item, field } => {
            report.matched_by_name += 1;
            Source::Bitwarden(reference(item, field))
        }
        NameMatch::Ambiguous { name, candidates } => {
            let reason = ChoiceReason::Name(name);
            let choice = chosen
                .entry((reason.clone(), Vec::new()))
                .or_insert_with(|| chooser.choose(address, &reason, &candidates))
                .clone();
            match choice {
                Some(item) => {
                    report.matched_by_name += 1;
                    let field = catalog.field_for(&item);
                    Source::Bitwarden(reference(item, field))
                }
                None => {
                    ambiguities.push(Ambiguity {
                        address: address.clone(),
                        reason,
                        candidates,
                    });
                    Source::Todo(String::new())
                }
            }
        }
        NameMatch::None if options.matching.by_value() => Source::Todo(format!(
            "fill in a bitwarden reference (no field holds this value, and no item is named `{key}` or `{address}` in {})",
            catalog.scope_label()
        )),
        NameMatch::None => Source::Todo(format!(
            "fill in a bitwarden reference (no item named `{key}` or `{address}` in {})",
            catalog.scope_label()
        )),
    }
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
         # Secret values are never written here: each secret references Bitwarden, is generated,\n\
         # carries a `todo`, or is a literal that apply recorded as non-sensitive.\n",
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

/// `base`, or `base-2`, `base-3`… when a document of this import already has that name.
fn unique_name(names: &mut BTreeSet<String>, base: String) -> String {
    let mut name = base.clone();
    let mut n = 2;
    while !names.insert(name.clone()) {
        name = format!("{base}-{n}");
        n += 1;
    }
    name
}

/// A generated SecretSet of one folder and set of environments.
fn secret_set_document(
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
fn secret_set_file(
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
