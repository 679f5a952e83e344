//! Documents → [`DesiredState`], reporting every problem at once.
//!
//! The rules, in the order they run (each is documented with its source in `docs/spec.md`):
//!
//! 1. names: project slugs, environment slugs and names, folder paths, secret keys, tag slugs
//!    ([`super::names`]), Kubernetes names (RFC 1123);
//! 2. duplicates: projects, environments, folders, secrets (per project, environment and folder),
//!    document names per kind, Kubernetes targets — both locations reported;
//! 3. references: every project, environment and folder a `SecretSet` or `KubernetesSync` names
//!    must be declared;
//! 4. value sources: exactly one per secret, and no `todo` placeholder; a literal only with `sensitive: false`; Bitwarden
//!    references well formed; generated lengths within bounds;
//! 5. secret references in literal values (`${KEY}`, `${env.path.KEY}`,
//!    `${@project.env.path.KEY}`) must name a declared secret, else the warning
//!    `unresolved-reference`;
//! 6. Kubernetes: authentication present after merging `KubernetesDefaults`, resync intervals in
//!    the operator's format, at most one `KubernetesDefaults`.
//!
//! Validation never stops at the first problem: a bad name is reported and the name is still
//! used for the remaining checks, so one typo yields one diagnostic, not a cascade.

use std::collections::{BTreeMap, BTreeSet};
use std::sync::Arc;

use super::address::Address;
use super::diagnostics::{Diagnostic, Diagnostics};
use super::document::{
    BitwardenField, BitwardenSpec, CaRefSpec, CreationPolicy, Document, GenerateSpec, ImportSpec,
    KubernetesDefaultsDocument, KubernetesSyncDocument, KubernetesSyncSpec, Metadata, OperatorApi,
    ProjectDocument, SecretSetDocument, SecretSpec, SyncAuthSpec, SyncSourceSpec, SyncTargetKind,
    SyncTargetSpec, SyncTlsSpec,
};
use super::limits::{self, infisical_length, longest_description, stored_description_length};
use super::names::{
    EnvironmentSlug, FolderPath, NameError, ProjectSlug, SecretKey, TagSlug, check_dns1123_label,
    check_dns1123_subdomain, check_printable, check_secret_data_key, printable,
};
use super::ownership::{MARKER_LINE, RESERVED_PREFIX, with_marker};
use super::reference::{MAX_REFERENCES_PER_VALUE, references};
use super::span::{Located, Origin, Span};
use super::state::{
    BitwardenFieldRef, BitwardenItem, BitwardenRef, DesiredImport, DesiredSecret, DesiredState,
    Environment, Folder, GenerateRule, KubernetesSync, Policy, Project, SecretSource,
};
use super::template::check_template_entry;
use super::value::is_blank;

/// A parsed document and where it came from.
#[derive(Debug, Clone)]
pub struct LoadedDocument {
    /// File path relative to the repository root.
    pub file: Arc<str>,
    /// Line offset of the document inside the file (spans inside `document` are relative to it).
    pub line_offset: u32,
    /// The document.
    pub document: Document,
}

impl LoadedDocument {
    /// The file-level origin of a span inside this document.
    pub fn origin(&self, span: Span) -> Origin {
        Origin::new(self.file.clone(), span.shifted(self.line_offset))
    }

    /// The origin of the document itself (its `metadata.name`, else its first line).
    pub fn document_origin(&self) -> Origin {
        let metadata = match &self.document {
            Document::Project(d) => &d.metadata,
            Document::SecretSet(d) => &d.metadata,
            Document::KubernetesSync(d) => &d.metadata,
            Document::KubernetesDefaults(d) => &d.metadata,
        };
        self.origin(metadata.name.span)
    }
}

/// Checks all documents together and builds the desired state; warnings are dropped (use
/// [`check`] to keep them).
pub fn build(documents: &[LoadedDocument]) -> Result<DesiredState, Diagnostics> {
    match check(documents) {
        (Some(state), _) => Ok(state),
        (None, diagnostics) => Err(diagnostics),
    }
}

/// Checks all documents together: the desired state when there is no error, and every
/// diagnostic (errors and warnings), sorted.
pub fn check(documents: &[LoadedDocument]) -> (Option<DesiredState>, Diagnostics) {
    let mut checker = Checker::default();
    for loaded in documents {
        if let Document::Project(document) = &loaded.document {
            checker.project(loaded, document);
        }
    }
    for loaded in documents {
        if let Document::KubernetesDefaults(document) = &loaded.document {
            checker.kubernetes_defaults(loaded, document);
        }
    }
    for loaded in documents {
        if let Document::SecretSet(document) = &loaded.document {
            checker.secret_set(loaded, document);
        }
    }
    for loaded in documents {
        if let Document::KubernetesSync(document) = &loaded.document {
            checker.kubernetes_sync(loaded, document);
        }
    }
    checker.finish()
}

/// What the checker knows about a declared project, by its name as written.
#[derive(Debug)]
struct ProjectEntry {
    origin: Origin,
    /// Environment slugs as written, in order.
    environments: Vec<String>,
    /// Folder path → environments it exists in (implied parents included).
    folders: BTreeMap<String, BTreeSet<String>>,
    /// Declared folder path → where.
    declared_folders: BTreeMap<String, Origin>,
    /// The checked project, when its names are valid.
    project: Option<Project>,
}

impl ProjectEntry {
    fn folder_in(&self, path: &str, environment: &str) -> bool {
        path == "/"
            || self
                .folders
                .get(path)
                .is_some_and(|envs| envs.contains(environment))
    }
}

/// The connection settings a KubernetesSync shares with KubernetesDefaults.
struct ConnectionSettings<'a> {
    auth: Option<&'a SyncAuthSpec>,
    resync_interval: Option<&'a Located<String>>,
    host_api: Option<&'a Located<String>>,
    tls: Option<&'a SyncTlsSpec>,
    operator_api: Option<OperatorApi>,
}

#[derive(Debug, Default)]
struct Checker {
    diagnostics: Diagnostics,
    projects: BTreeMap<String, ProjectEntry>,
    /// (kind, name) → first origin.
    names: BTreeMap<(&'static str, String), Origin>,
    /// (project, env, path, key) → first origin.
    secret_keys: BTreeMap<(String, String, String, String), Origin>,
    secrets: BTreeMap<Address, DesiredSecret>,
    /// Importing folder → where its `imports:` list is, and the checked imports.
    imports: BTreeMap<Address, (Origin, Vec<DesiredImport>)>,
    defaults: Option<(Origin, KubernetesDefaultsDocument)>,
    /// (namespace, secret name) → first origin.
    targets: BTreeMap<(String, String), Origin>,
    syncs: BTreeMap<String, KubernetesSync>,
    /// Syncs whose source scope is declared (the others already have an error).
    sync_sources_ok: BTreeSet<String>,
}

fn name_diagnostic(
    code: &'static str,
    origin: Origin,
    what: &str,
    value: &str,
    error: NameError,
) -> Diagnostic {
    let diagnostic = Diagnostic::error(
        code,
        origin,
        format!("invalid {what} `{value}`: {}", error.reason),
    );
    match error.help {
        Some(help) => diagnostic.with_help(help),
        None => diagnostic,
    }
}

/// `Some(suggestion)` help for a name that is not among `candidates`.
fn suggestion<'a>(word: &str, candidates: impl IntoIterator<Item = &'a str>) -> Option<String> {
    let candidates: Vec<&str> = candidates.into_iter().collect();
    if let Some(best) = super::diagnostics::did_you_mean(word, candidates.iter().copied()) {
        return Some(format!("did you mean `{best}`?"));
    }
    if candidates.is_empty() {
        None
    } else {
        let list: Vec<String> = candidates.iter().map(|c| format!("`{c}`")).collect();
        Some(format!("declared: {}", list.join(", ")))
    }
}

fn is_uuid(value: &str) -> bool {
    let bytes = value.as_bytes();
    bytes.len() == 36
        && bytes.iter().enumerate().all(|(i, b)| match i {
            8 | 13 | 18 | 23 => *b == b'-',
            _ => b.is_ascii_hexdigit(),
        })
}

/// Parses the operator's `syncConfig.resyncInterval`: an integer followed by one of `s`, `m`,
/// `h`, `d`, `w`. Returns the number of seconds.
pub fn parse_resync_interval(value: &str) -> Option<u64> {
    let unit = value.chars().last()?;
    let digits = &value[..value.len() - unit.len_utf8()];
    if digits.is_empty() || !digits.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    let number: u64 = digits.parse().ok()?;
    let factor = match unit {
        's' => 1,
        'm' => 60,
        'h' => 3_600,
        'd' => 86_400,
        'w' => 604_800,
        _ => return None,
    };
    number.checked_mul(factor)
}

/// The shortest resync interval the operator accepts, in seconds.
pub const MIN_RESYNC_SECONDS: u64 = 5;

impl Checker {
    fn error(&mut self, diagnostic: Diagnostic) {
        self.diagnostics.push(diagnostic);
    }

    /// Registers `(kind, name)`; reports a duplicate with both locations.
    fn unique_name(&mut self, kind: &'static str, name: &str, origin: &Origin) -> bool {
        match self.names.get(&(kind, name.to_string())) {
            Some(first) => {
                let first = first.clone();
                let code = if kind == "Project" {
                    "duplicate-project"
                } else {
                    "duplicate-name"
                };
                self.error(
                    Diagnostic::error(
                        code,
                        origin.clone(),
                        format!("{kind} `{name}` is defined twice"),
                    )
                    .with_related(first, "first defined here"),
                );
                false
            }
            None => {
                self.names.insert((kind, name.to_string()), origin.clone());
                true
            }
        }
    }

    fn check_metadata_name(&mut self, loaded: &LoadedDocument, metadata: &Metadata, kind: &str) {
        let name = &metadata.name;
        if let Err(error) = check_dns1123_subdomain(name) {
            self.error(name_diagnostic(
                "invalid-name",
                loaded.origin(name.span),
                &format!("{kind} name"),
                name,
                error,
            ));
        }
    }

    // -----------------------------------------------------------------------------------------
    // Project

    fn project(&mut self, loaded: &LoadedDocument, document: &ProjectDocument) {
        let name = &document.metadata.name;
        let origin = loaded.origin(name.span);
        let slug = match ProjectSlug::new(name.value.clone()) {
            Ok(slug) => Some(slug),
            Err(error) => {
                self.error(name_diagnostic(
                    "invalid-project-slug",
                    origin.clone(),
                    "project slug",
                    name,
                    error,
                ));
                None
            }
        };
        if !self.unique_name("Project", name, &origin) {
            return;
        }
        let spec = &document.spec;
        let display_name = match &spec.display_name {
            Some(display) => {
                let length = display.chars().count();
                if display.trim().is_empty() || length > 64 {
                    self.error(Diagnostic::error(
                        "invalid-display-name",
                        loaded.origin(display.span),
                        format!("project display name must be 1 to 64 characters long and not blank (it has {length})"),
                    ));
                } else if let Err(error) = check_printable(display) {
                    self.error(name_diagnostic(
                        "invalid-display-name",
                        loaded.origin(display.span),
                        "project display name",
                        display,
                        error,
                    ));
                }
                display.value.clone()
            }
            None => name.value.clone(),
        };
        if let Some(description) = &spec.description {
            self.description_limit(
                loaded.origin(description.span),
                &format!("description of project `{name}`"),
                description,
                limits::PROJECT_DESCRIPTION,
            );
        }

        // Environments.
        if spec.environments.is_empty() {
            self.error(
                Diagnostic::error(
                    "no-environments",
                    origin.clone(),
                    format!("project `{name}` declares no environments"),
                )
                .with_help("add `spec.environments` with at least one `slug`"),
            );
        }
        let mut environments = Vec::new();
        let mut environment_slugs: Vec<String> = Vec::new();
        let mut seen: BTreeMap<String, Origin> = BTreeMap::new();
        let mut positions: BTreeMap<u32, Origin> = BTreeMap::new();
        for (index, environment) in spec.environments.iter().enumerate() {
            let raw = &environment.slug;
            let env_origin = loaded.origin(raw.span);
            let slug = match EnvironmentSlug::new(raw.value.clone()) {
                Ok(slug) => Some(slug),
                Err(error) => {
                    self.error(name_diagnostic(
                        "invalid-environment-slug",
                        env_origin.clone(),
                        "environment slug",
                        raw,
                        error,
                    ));
                    None
                }
            };
            if let Some(first) = seen.get(&raw.value) {
                self.error(
                    Diagnostic::error(
                        "duplicate-environment",
                        env_origin.clone(),
                        format!("environment `{raw}` is declared twice in project `{name}`"),
                    )
                    .with_related(first.clone(), "first declared here"),
                );
                continue;
            }
            seen.insert(raw.value.clone(), env_origin.clone());
            environment_slugs.push(raw.value.clone());
            let display = match &environment.name {
                Some(display) => {
                    let length = display.chars().count();
                    if display.trim().is_empty() || length > 64 {
                        self.error(Diagnostic::error(
                            "invalid-environment-name",
                            loaded.origin(display.span),
                            format!("environment name must be 1 to 64 characters long and not blank (it has {length})"),
                        ));
                    } else if let Err(error) = check_printable(display) {
                        self.error(name_diagnostic(
                            "invalid-environment-name",
                            loaded.origin(display.span),
                            "environment name",
                            display,
                            error,
                        ));
                    }
                    display.value.clone()
                }
                None => raw.value.clone(),
            };
            let position = match &environment.position {
                Some(position) => {
                    let position_origin = loaded.origin(position.span);
                    if position.value == 0 {
                        self.error(Diagnostic::error(
                            "invalid-position",
                            position_origin.clone(),
                            "environment position must be at least 1",
                        ));
                    } else if let Some(first) = positions.get(&position.value) {
                        self.error(
                            Diagnostic::error(
                                "duplicate-position",
                                position_origin.clone(),
                                format!(
                                    "environment position {} is used twice in project `{name}`",
                                    position.value
                                ),
                            )
                            .with_related(first.clone(), "first used here"),
                        );
                    } else {
                        positions.insert(position.value, position_origin);
                    }
                    position.value
                }
                None => u32::try_from(index + 1).unwrap_or(u32::MAX),
            };
            if let Some(slug) = slug {
                environments.push(Environment {
                    slug,
                    name: display,
                    position,
                    origin: env_origin,
                });
            }
        }

        // Folders.
        let mut folders: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
        let mut declared_folders: BTreeMap<String, Origin> = BTreeMap::new();
        let mut state_folders: BTreeMap<EnvironmentSlug, BTreeMap<FolderPath, Folder>> =
            BTreeMap::new();
        for folder in &spec.folders {
            let raw = &folder.path;
            let folder_origin = loaded.origin(raw.span);
            let path = match FolderPath::new(raw.value.clone()) {
                Ok(path) => path,
                Err(error) => {
                    self.error(name_diagnostic(
                        "invalid-folder-path",
                        folder_origin,
                        "folder path",
                        raw,
                        error,
                    ));
                    continue;
                }
            };
            if path.is_root() {
                self.error(
                    Diagnostic::error(
                        "root-folder",
                        folder_origin,
                        "the root folder `/` always exists and cannot be declared",
                    )
                    .with_help("remove this entry"),
                );
                continue;
            }
            if let Some(first) = declared_folders.get(path.as_str()) {
                self.error(
                    Diagnostic::error(
                        "duplicate-folder",
                        folder_origin,
                        format!("folder `{path}` is declared twice in project `{name}`"),
                    )
                    .with_related(first.clone(), "first declared here"),
                );
                continue;
            }
            declared_folders.insert(path.as_str().to_string(), folder_origin.clone());
            if let Some(description) = &folder.description {
                self.description_limit(
                    folder_origin.clone(),
                    &format!("description of folder `{path}`"),
                    description,
                    limits::FOLDER_DESCRIPTION,
                );
            }
            let in_environments: Vec<String> = match &folder.environments {
                None => environment_slugs.clone(),
                Some(list) => {
                    if list.is_empty() {
                        self.error(
                            Diagnostic::error(
                                "empty-environments",
                                folder_origin.clone(),
                                format!("folder `{path}` is limited to no environment"),
                            )
                            .with_help("remove `environments` to create it in every environment"),
                        );
                    }
                    let mut out = Vec::new();
                    for environment in list {
                        if !environment_slugs.contains(&environment.value) {
                            let mut diagnostic = Diagnostic::error(
                                "undeclared-environment",
                                loaded.origin(environment.span),
                                format!(
                                    "environment `{}` is not declared in project `{name}`",
                                    environment.value
                                ),
                            );
                            if let Some(help) = suggestion(
                                environment,
                                environment_slugs.iter().map(String::as_str),
                            ) {
                                diagnostic = diagnostic.with_help(help);
                            }
                            self.error(diagnostic);
                        } else if !out.contains(&environment.value) {
                            out.push(environment.value.clone());
                        }
                    }
                    out
                }
            };
            for ancestor in path.with_ancestors() {
                let entry = folders.entry(ancestor.as_str().to_string()).or_default();
                entry.extend(in_environments.iter().cloned());
                for environment in &in_environments {
                    let Ok(env_slug) = EnvironmentSlug::new(environment.clone()) else {
                        continue;
                    };
                    let declared = ancestor == path;
                    let folders_in_env = state_folders.entry(env_slug).or_default();
                    let state_folder = folders_in_env.entry(ancestor.clone()).or_insert(Folder {
                        description: None,
                        declared,
                        origin: folder_origin.clone(),
                    });
                    if declared {
                        state_folder.declared = true;
                        state_folder.description = folder.description.clone();
                        state_folder.origin = folder_origin.clone();
                    }
                }
            }
        }

        let policy_spec = spec.policy.clone().unwrap_or_default();
        let default_policy = Policy::default();
        let policy = Policy {
            prune: policy_spec.prune.unwrap_or(default_policy.prune),
            adoption: policy_spec.adoption.unwrap_or(default_policy.adoption),
            max_deletions: policy_spec
                .max_deletions
                .unwrap_or(default_policy.max_deletions),
            mode: policy_spec.mode.unwrap_or(default_policy.mode),
        };

        let project = slug.map(|slug| Project {
            slug,
            name: display_name,
            description: spec.description.as_ref().map(|d| d.value.clone()),
            environments,
            folders: state_folders,
            policy,
            origin: origin.clone(),
        });
        self.projects.insert(
            name.value.clone(),
            ProjectEntry {
                origin,
                environments: environment_slugs,
                folders,
                declared_folders,
                project,
            },
        );
    }

    /// Reports a project or folder description that Infisical would refuse once the applier has
    /// added the ownership marker line ([`super::ownership::marked_description`]).
    fn description_limit(&mut self, at: Origin, what: &str, description: &str, limit: usize) {
        let stored = stored_description_length(Some(description));
        if stored <= limit {
            return;
        }
        let declared = infisical_length(description.trim());
        self.error(
            Diagnostic::error(
                "invalid-description",
                at,
                format!(
                    "{what} is too long: it has {declared} characters, and with the ownership marker line Infisical would store {stored}, over its limit of {limit}"
                ),
            )
            .with_help(format!(
                "shorten it to at most {} characters (a blank line and `{MARKER_LINE}` are added to it)",
                longest_description(limit)
            )),
        );
    }

    /// Reports an undeclared project; `None` when it is not declared.
    fn lookup_project(&mut self, project: &Located<String>, at: Origin) -> bool {
        if self.projects.contains_key(&project.value) {
            return true;
        }
        let mut diagnostic = Diagnostic::error(
            "undeclared-project",
            at,
            format!("project `{}` is not declared", project.value),
        );
        let names: Vec<String> = self.projects.keys().cloned().collect();
        diagnostic = match suggestion(project, names.iter().map(String::as_str)) {
            Some(help) => diagnostic.with_help(help),
            None => diagnostic.with_help("declare it with a `kind: Project` document"),
        };
        self.error(diagnostic);
        false
    }

    /// Reports an environment not declared in `project`.
    fn check_environment(
        &mut self,
        project: &str,
        environment: &Located<String>,
        at: Origin,
    ) -> bool {
        let Some(entry) = self.projects.get(project) else {
            return false;
        };
        if entry.environments.contains(&environment.value) {
            return true;
        }
        let mut diagnostic = Diagnostic::error(
            "undeclared-environment",
            at,
            format!(
                "environment `{}` is not declared in project `{project}`",
                environment.value
            ),
        )
        .with_related(entry.origin.clone(), "project declared here");
        if let Some(help) = suggestion(environment, entry.environments.iter().map(String::as_str)) {
            diagnostic = diagnostic.with_help(help);
        }
        self.error(diagnostic);
        false
    }

    /// Reports a folder that does not exist in `environments` of `project`.
    fn check_folder(&mut self, project: &str, path: &str, environments: &[String], at: Origin) {
        let Some(entry) = self.projects.get(project) else {
            return;
        };
        let missing: Vec<&str> = environments
            .iter()
            .filter(|e| !entry.folder_in(path, e))
            .map(String::as_str)
            .collect();
        if missing.is_empty() {
            return;
        }
        let diagnostic = if entry.folders.contains_key(path) {
            let origin = entry.declared_folders.get(path).cloned();
            let mut diagnostic = Diagnostic::error(
                "undeclared-folder",
                at,
                format!(
                    "folder `{path}` of project `{project}` does not exist in environment {}",
                    missing
                        .iter()
                        .map(|e| format!("`{e}`"))
                        .collect::<Vec<_>>()
                        .join(", ")
                ),
            )
            .with_help("add the environment to the folder's `environments`, or remove it here");
            if let Some(origin) = origin {
                diagnostic = diagnostic.with_related(origin, "folder declared here");
            }
            diagnostic
        } else {
            let mut diagnostic = Diagnostic::error(
                "undeclared-folder",
                at,
                format!("folder `{path}` is not declared in project `{project}`"),
            )
            .with_related(entry.origin.clone(), "project declared here");
            let declared: Vec<&str> = entry.declared_folders.keys().map(String::as_str).collect();
            diagnostic = match suggestion(path, declared) {
                Some(help) => diagnostic.with_help(help),
                None => diagnostic.with_help("declare it under the project's `spec.folders`"),
            };
            diagnostic
        };
        self.error(diagnostic);
    }

    // -----------------------------------------------------------------------------------------
    // SecretSet

    fn secret_set(&mut self, loaded: &LoadedDocument, document: &SecretSetDocument) {
        let name = &document.metadata.name;
        let origin = loaded.origin(name.span);
        self.check_metadata_name(loaded, &document.metadata, "SecretSet");
        self.unique_name("SecretSet", name, &origin);
        let spec = &document.spec;
        let project_known = self.lookup_project(&spec.project, loaded.origin(spec.project.span));
        let project_slug = ProjectSlug::new(spec.project.value.clone()).ok();

        // Environments.
        if spec.environments.is_empty() {
            self.error(Diagnostic::error(
                "empty-environments",
                origin.clone(),
                format!("SecretSet `{name}` lists no environment"),
            ));
        }
        let mut environments: Vec<String> = Vec::new();
        for environment in &spec.environments {
            let at = loaded.origin(environment.span);
            if environments.contains(&environment.value) {
                self.error(Diagnostic::error(
                    "duplicate-environment",
                    at,
                    format!("environment `{}` is listed twice", environment.value),
                ));
                continue;
            }
            if let Err(error) = EnvironmentSlug::new(environment.value.clone()) {
                self.error(name_diagnostic(
                    "invalid-environment-slug",
                    at.clone(),
                    "environment slug",
                    environment,
                    error,
                ));
            }
            if project_known && !self.check_environment(&spec.project, environment, at) {
                continue;
            }
            environments.push(environment.value.clone());
        }

        // Folder.
        let path_origin = if spec.path.span.line == 0 {
            origin.clone()
        } else {
            loaded.origin(spec.path.span)
        };
        let path = match FolderPath::new(spec.path.value.clone()) {
            Ok(path) => {
                if project_known {
                    self.check_folder(&spec.project, path.as_str(), &environments, path_origin);
                }
                Some(path)
            }
            Err(error) => {
                self.error(name_diagnostic(
                    "invalid-folder-path",
                    path_origin,
                    "folder path",
                    &spec.path,
                    error,
                ));
                None
            }
        };

        if let Some(imports) = &spec.imports {
            self.imports_of(loaded, document, imports, &environments, path.as_ref());
        }

        if spec.secrets.is_empty() && spec.imports.is_none() {
            self.diagnostics.push(Diagnostic::warning(
                "empty-secret-set",
                origin.clone(),
                format!("SecretSet `{name}` declares no secrets"),
            ));
        }
        for secret in &spec.secrets {
            let key_origin = loaded.origin(secret.key.span);
            let checked = self.secret(loaded, &secret.value);
            for environment in &environments {
                let dedupe = (
                    spec.project.value.clone(),
                    environment.clone(),
                    spec.path.value.clone(),
                    secret.key.value.clone(),
                );
                if let Some(first) = self.secret_keys.get(&dedupe) {
                    let first = first.clone();
                    self.error(
                        Diagnostic::error(
                            "duplicate-secret",
                            key_origin.clone(),
                            format!(
                                "secret `{}` is defined twice in `{}/{}:{}`",
                                secret.key.value, spec.project.value, environment, spec.path.value
                            ),
                        )
                        .with_related(first, "first defined here"),
                    );
                    continue;
                }
                self.secret_keys.insert(dedupe, key_origin.clone());
                if let (Some(project), Ok(env), Some(path), Some(checked)) = (
                    &project_slug,
                    EnvironmentSlug::new(environment.clone()),
                    &path,
                    &checked,
                ) {
                    let address =
                        Address::Secret(project.clone(), env, path.clone(), checked.key.clone());
                    self.secrets.insert(address, checked.clone());
                }
            }
        }
    }

    /// Checks a `SecretSet`'s `imports:` and records them for each of its (valid) environments.
    fn imports_of(
        &mut self,
        loaded: &LoadedDocument,
        document: &SecretSetDocument,
        imports: &[Located<ImportSpec>],
        environments: &[String],
        path: Option<&FolderPath>,
    ) {
        let spec = &document.spec;
        let project_known = self.projects.contains_key(&spec.project.value);
        let list_origin = imports
            .first()
            .map(|first| loaded.origin(first.span))
            .unwrap_or_else(|| loaded.origin(document.metadata.name.span));
        let mut checked: Vec<DesiredImport> = Vec::new();
        for import in imports {
            let at = loaded.origin(import.span);
            let environment = &import.value.environment;
            let environment_slug = match EnvironmentSlug::new(environment.value.clone()) {
                Ok(slug) => Some(slug),
                Err(error) => {
                    self.error(name_diagnostic(
                        "invalid-environment-slug",
                        loaded.origin(environment.span),
                        "environment slug",
                        environment,
                        error,
                    ));
                    None
                }
            };
            let environment_known = project_known
                && self.check_environment(
                    &spec.project,
                    environment,
                    loaded.origin(environment.span),
                );
            let source_path = &import.value.path;
            let path_at = if source_path.span.line == 0 {
                at.clone()
            } else {
                loaded.origin(source_path.span)
            };
            let source = match FolderPath::new(source_path.value.clone()) {
                Ok(source) => {
                    if environment_known {
                        self.check_folder(
                            &spec.project,
                            source.as_str(),
                            std::slice::from_ref(&environment.value),
                            path_at,
                        );
                    }
                    Some(source)
                }
                Err(error) => {
                    self.error(name_diagnostic(
                        "invalid-folder-path",
                        path_at,
                        "folder path",
                        source_path,
                        error,
                    ));
                    None
                }
            };
            let (Some(environment_slug), Some(source)) = (environment_slug, source) else {
                continue;
            };
            if Some(&source) == path && environments.contains(&environment.value) {
                self.error(
                    Diagnostic::error(
                        "self-import",
                        at.clone(),
                        format!("folder `{}:{source}` imports itself", environment.value),
                    )
                    .with_help(
                        "remove this import; Infisical refuses it (`Cyclic import not allowed`)",
                    ),
                );
                continue;
            }
            if let Some(first) = checked
                .iter()
                .find(|c| c.environment == environment_slug && c.path == source)
            {
                self.error(
                    Diagnostic::error(
                        "duplicate-import",
                        at.clone(),
                        format!("folder `{}:{source}` is imported twice", environment.value),
                    )
                    .with_related(first.origin.clone(), "first imported here"),
                );
                continue;
            }
            checked.push(DesiredImport {
                environment: environment_slug,
                path: source,
                origin: at,
            });
        }
        let (Ok(project), Some(path)) = (ProjectSlug::new(spec.project.value.clone()), path) else {
            return;
        };
        for environment in environments {
            let Ok(environment) = EnvironmentSlug::new(environment.clone()) else {
                continue;
            };
            let folder = Address::Folder(project.clone(), environment, path.clone());
            if let Some((first, _)) = self.imports.get(&folder) {
                let first = first.clone();
                self.error(
                    Diagnostic::error(
                        "duplicate-imports",
                        list_origin.clone(),
                        format!("the imports of `{folder}` are declared twice"),
                    )
                    .with_related(first, "first declared here")
                    .with_help("declare a folder's imports in one SecretSet: their order is their priority"),
                );
                continue;
            }
            self.imports
                .insert(folder, (list_origin.clone(), checked.clone()));
        }
    }

    /// Import cycles (Infisical refuses an import whose source imports the destination, and
    /// ignores longer cycles when reading) and chains deeper than Infisical follows.
    fn import_graph_problems(&self) -> Vec<Diagnostic> {
        let mut problems = Vec::new();
        let edges = |folder: &Address| -> Vec<(Address, Origin)> {
            let Some((_, imports)) = self.imports.get(folder) else {
                return Vec::new();
            };
            let project = folder.project();
            imports
                .iter()
                .map(|import| {
                    (
                        Address::Folder(
                            project.clone(),
                            import.environment.clone(),
                            import.path.clone(),
                        ),
                        import.origin.clone(),
                    )
                })
                .collect()
        };
        // Cycles: an import whose source leads back to the importing folder.
        let mut cyclic = false;
        for folder in self.imports.keys() {
            for (source, origin) in edges(folder) {
                if let Some(mut chain) = path_between(&source, folder, &edges) {
                    cyclic = true;
                    chain.insert(0, folder.clone());
                    let shown: Vec<String> = chain.iter().map(folder_name).collect();
                    problems.push(
                        Diagnostic::error(
                            "import-cycle",
                            origin,
                            format!(
                                "the import of `{}` into `{}` closes a cycle: {}",
                                folder_name(&source),
                                folder_name(folder),
                                shown.join(" <- ")
                            ),
                        )
                        .with_help("Infisical refuses a direct cycle (`Cyclic import not allowed`) and skips longer ones when it reads; remove one of these imports"),
                    );
                }
            }
        }
        if cyclic {
            return problems;
        }
        // Depth: Infisical follows imports at most `MAX_IMPORT_DEPTH` levels deep.
        let mut depths: BTreeMap<Address, usize> = BTreeMap::new();
        for folder in self.imports.keys() {
            let depth = import_depth(folder, &edges, &mut depths);
            if depth > MAX_IMPORT_DEPTH
                && let Some((origin, _)) = self.imports.get(folder)
            {
                problems.push(
                    Diagnostic::error(
                        "import-too-deep",
                        origin.clone(),
                        format!(
                            "the imports of `{}` go {depth} levels deep; Infisical reads at most {MAX_IMPORT_DEPTH}",
                            folder_name(folder)
                        ),
                    )
                    .with_help("import the deeper folders directly, or shorten the chain"),
                );
            }
        }
        problems
    }

    /// Checks one secret; the checked secret when it is valid on its own.
    fn secret(&mut self, loaded: &LoadedDocument, secret: &SecretSpec) -> Option<DesiredSecret> {
        let key_origin = loaded.origin(secret.key.span);
        let key = match SecretKey::new(secret.key.value.clone()) {
            Ok(key) => Some(key),
            Err(error) => {
                self.error(name_diagnostic(
                    "invalid-secret-key",
                    key_origin.clone(),
                    "secret key",
                    &secret.key,
                    error,
                ));
                None
            }
        };
        let mut tags = BTreeSet::new();
        let mut tags_ok = true;
        for tag in &secret.tags {
            match TagSlug::new(tag.value.clone()) {
                Ok(slug) => {
                    tags.insert(slug);
                }
                Err(error) => {
                    tags_ok = false;
                    self.error(name_diagnostic(
                        "invalid-tag",
                        loaded.origin(tag.span),
                        "tag slug",
                        tag,
                        error,
                    ));
                }
            }
        }
        // What the applier writes: the declared pairs and the ownership marker (the source
        // record, `infisical-gitops/generate` or `/literal`, is short and always within the
        // limits: see `ownership::tests`).
        for (metadata_key, metadata_value) in &with_marker(&secret.metadata) {
            if let Some(diagnostic) = metadata_problem(
                key_origin.clone(),
                &secret.key.value,
                metadata_key,
                metadata_value,
            ) {
                tags_ok = false;
                self.error(diagnostic);
            }
        }

        // Exactly one source.
        let mut sources: Vec<(&str, Span)> = Vec::new();
        if let Some(s) = &secret.bitwarden {
            sources.push(("bitwarden", s.span));
        }
        if let Some(s) = &secret.bitwarden_secrets_manager {
            sources.push(("bitwardenSecretsManager", s.span));
        }
        if let Some(s) = &secret.generate {
            sources.push(("generate", s.span));
        }
        if let Some(s) = &secret.value {
            sources.push(("value", s.span));
        }
        if let Some(s) = &secret.todo {
            sources.push(("todo", s.span));
        }
        let source = match sources.as_slice() {
            [] => {
                self.error(
                    Diagnostic::error(
                        "missing-source",
                        key_origin.clone(),
                        format!("secret `{}` has no value source", secret.key.value),
                    )
                    .with_help("add exactly one of `bitwarden`, `bitwardenSecretsManager`, `generate` or `value`"),
                );
                None
            }
            [_] => self.source(loaded, secret),
            [(first, first_span), rest @ ..] => {
                for (other, span) in rest {
                    self.error(
                        Diagnostic::error(
                            "conflicting-sources",
                            loaded.origin(*span),
                            format!(
                                "secret `{}` has several value sources: `{other}` and `{first}`",
                                secret.key.value
                            ),
                        )
                        .with_related(loaded.origin(*first_span), format!("`{first}` is set here"))
                        .with_help("keep exactly one value source"),
                    );
                }
                None
            }
        };
        let key = key?;
        let source = source?;
        if !tags_ok {
            return None;
        }
        Some(DesiredSecret {
            key,
            comment: secret
                .comment
                .as_ref()
                .map(|c| c.value.trim().to_string())
                .unwrap_or_default(),
            tags,
            metadata: secret.metadata.clone(),
            source,
            origin: key_origin,
        })
    }

    /// Checks the one value source of `secret`.
    fn source(&mut self, loaded: &LoadedDocument, secret: &SecretSpec) -> Option<SecretSource> {
        let key = &secret.key.value;
        if let Some(todo) = &secret.todo {
            let note = todo.value.trim();
            let message = if note.is_empty() {
                format!("secret `{key}` has a placeholder instead of a value source")
            } else {
                format!("secret `{key}` has a placeholder instead of a value source: {note}")
            };
            self.error(
                Diagnostic::error("placeholder-source", loaded.origin(todo.span), message)
                    .with_help(
                        "replace `todo` with a `bitwarden` reference (`item: <uuid>`), or `generate`, or a `value` with `sensitive: false`; or run `import` again with a mapping file",
                    ),
            );
            return None;
        }
        if let Some(bitwarden) = &secret.bitwarden {
            return self
                .bitwarden(loaded, key, bitwarden)
                .map(SecretSource::Bitwarden);
        }
        if let Some(manager) = &secret.bitwarden_secrets_manager {
            let id = &manager.secret;
            if !is_uuid(id) {
                self.error(invalid_uuid(
                    loaded.origin(id.span),
                    "bitwardenSecretsManager.secret",
                    id,
                ));
                return None;
            }
            return Some(SecretSource::BitwardenSecretsManager {
                secret: id.value.to_ascii_lowercase(),
            });
        }
        if let Some(generate) = &secret.generate {
            return self.generate(loaded, generate).map(SecretSource::Generate);
        }
        if let Some(value) = &secret.value {
            let sensitive = secret.sensitive.as_ref().is_none_or(|s| s.value);
            if sensitive {
                let mut diagnostic = Diagnostic::error(
                    "sensitive-literal",
                    loaded.origin(value.span),
                    format!("secret `{key}` holds a literal `value` but is sensitive"),
                )
                .with_help(
                    "reference the value in Bitwarden or `generate` it; only configuration marked `sensitive: false` may be written in Git",
                );
                if let Some(marked) = &secret.sensitive {
                    diagnostic = diagnostic
                        .with_related(loaded.origin(marked.span), "marked sensitive here");
                }
                self.error(diagnostic);
                return None;
            }
            if is_blank(value) {
                self.error(
                    Diagnostic::error(
                        "empty-literal",
                        loaded.origin(value.span),
                        format!("secret `{key}` has an empty literal `value` (empty or only whitespace)"),
                    )
                    .with_help(
                        "Infisical would store an empty secret: write the value, or remove the secret",
                    ),
                );
                return None;
            }
            return Some(SecretSource::Literal(value.value.clone()));
        }
        None
    }

    fn bitwarden(
        &mut self,
        loaded: &LoadedDocument,
        key: &str,
        spec: &Located<BitwardenSpec>,
    ) -> Option<BitwardenRef> {
        let at = loaded.origin(spec.span);
        let mut ok = true;
        for (field, value) in [
            ("bitwarden.item", &spec.item),
            ("bitwarden.folder", &spec.folder),
            ("bitwarden.collection", &spec.collection),
        ] {
            if let Some(value) = value
                && !is_uuid(value)
            {
                ok = false;
                self.error(invalid_uuid(loaded.origin(value.span), field, value));
            }
        }
        let item = match (&spec.item, &spec.item_name) {
            (Some(item), None) => {
                for (field, value) in [("folder", &spec.folder), ("collection", &spec.collection)] {
                    if let Some(value) = value {
                        ok = false;
                        self.error(
                            Diagnostic::error(
                                "bitwarden-scope-without-name",
                                loaded.origin(value.span),
                                format!("`bitwarden.{field}` only scopes `itemName`; secret `{key}` uses `item`"),
                            )
                            .with_help(format!("remove `{field}`")),
                        );
                    }
                }
                Some(BitwardenItem::Id(item.value.to_ascii_lowercase()))
            }
            (None, Some(name)) => {
                if name.trim().is_empty() {
                    ok = false;
                    self.error(Diagnostic::error(
                        "bitwarden-item",
                        loaded.origin(name.span),
                        "`bitwarden.itemName` must not be empty",
                    ));
                } else if let Err(error) = check_printable(name) {
                    ok = false;
                    self.error(name_diagnostic(
                        "bitwarden-item",
                        loaded.origin(name.span),
                        "`bitwarden.itemName`",
                        name,
                        error,
                    ));
                }
                if spec.folder.is_none() && spec.collection.is_none() {
                    ok = false;
                    self.error(
                        Diagnostic::error(
                            "bitwarden-unscoped-name",
                            loaded.origin(name.span),
                            format!("`bitwarden.itemName` of secret `{key}` needs a `folder` or a `collection`"),
                        )
                        .with_help("item names are not unique in a vault: scope the name with a folder or collection id, or use `item` (the item id)"),
                    );
                }
                Some(BitwardenItem::Name {
                    name: name.value.clone(),
                    folder: spec.folder.as_ref().map(|f| f.value.to_ascii_lowercase()),
                    collection: spec
                        .collection
                        .as_ref()
                        .map(|c| c.value.to_ascii_lowercase()),
                })
            }
            (Some(_), Some(name)) => {
                self.error(
                    Diagnostic::error(
                        "bitwarden-item",
                        loaded.origin(name.span),
                        format!(
                            "secret `{key}` sets both `bitwarden.item` and `bitwarden.itemName`"
                        ),
                    )
                    .with_help("keep one: `item` (the id) is preferred"),
                );
                None
            }
            (None, None) => {
                self.error(
                    Diagnostic::error(
                        "bitwarden-item",
                        at.clone(),
                        format!("`bitwarden` of secret `{key}` names no item"),
                    )
                    .with_help(
                        "add `item: <item id>` (or `itemName` with a `folder` or `collection`)",
                    ),
                );
                None
            }
        };
        let field = match (&spec.field, &spec.custom_field) {
            (Some(field), Some(custom)) => {
                self.error(
                    Diagnostic::error(
                        "bitwarden-field",
                        loaded.origin(custom.span),
                        format!(
                            "secret `{key}` sets both `bitwarden.field` and `bitwarden.customField`"
                        ),
                    )
                    .with_related(loaded.origin(field.span), "`field` is set here")
                    .with_help("keep one"),
                );
                None
            }
            (None, Some(custom)) => {
                if custom.trim().is_empty() {
                    self.error(Diagnostic::error(
                        "bitwarden-field",
                        loaded.origin(custom.span),
                        "`bitwarden.customField` must not be empty",
                    ));
                    None
                } else if let Err(error) = check_printable(custom) {
                    self.error(name_diagnostic(
                        "bitwarden-field",
                        loaded.origin(custom.span),
                        "`bitwarden.customField`",
                        custom,
                        error,
                    ));
                    None
                } else {
                    Some(BitwardenFieldRef::Custom(custom.value.clone()))
                }
            }
            (field, None) => {
                let field = field.as_ref().map(|f| f.value).unwrap_or_default();
                Some(BitwardenFieldRef::Builtin {
                    field,
                    uri_index: spec.uri_index.unwrap_or(0),
                })
            }
        };
        if spec.uri_index.is_some()
            && !matches!(
                field,
                Some(BitwardenFieldRef::Builtin {
                    field: BitwardenField::Uri,
                    ..
                })
            )
        {
            ok = false;
            self.error(Diagnostic::error(
                "bitwarden-field",
                at,
                format!("`bitwarden.uriIndex` of secret `{key}` applies only with `field: uri`"),
            ));
        }
        match (ok, item, field) {
            (true, Some(item), Some(field)) => Some(BitwardenRef { item, field }),
            _ => None,
        }
    }

    fn generate(
        &mut self,
        loaded: &LoadedDocument,
        spec: &Located<GenerateSpec>,
    ) -> Option<GenerateRule> {
        let length = spec
            .length
            .as_ref()
            .map(|l| l.value)
            .unwrap_or(GenerateRule::DEFAULT_LENGTH);
        if !(GenerateRule::MIN_LENGTH..=GenerateRule::MAX_LENGTH).contains(&length) {
            let at = spec
                .length
                .as_ref()
                .map(|l| loaded.origin(l.span))
                .unwrap_or_else(|| loaded.origin(spec.span));
            self.error(Diagnostic::error(
                "generate-length",
                at,
                format!(
                    "generated length {length} is out of bounds ({} to {})",
                    GenerateRule::MIN_LENGTH,
                    GenerateRule::MAX_LENGTH
                ),
            ));
            return None;
        }
        Some(GenerateRule {
            length,
            charset: spec.charset.unwrap_or_default(),
            backup_to: spec.backup_to,
        })
    }

    // -----------------------------------------------------------------------------------------
    // Kubernetes

    fn kubernetes_defaults(
        &mut self,
        loaded: &LoadedDocument,
        document: &KubernetesDefaultsDocument,
    ) {
        let origin = loaded.origin(document.metadata.name.span);
        if let Some((first, _)) = &self.defaults {
            let first = first.clone();
            self.error(
                Diagnostic::error(
                    "duplicate-kubernetes-defaults",
                    origin,
                    "a repository may hold at most one KubernetesDefaults",
                )
                .with_related(first, "the first one is here")
                .with_help("merge the two documents"),
            );
            return;
        }
        let spec = &document.spec;
        self.connection_settings(
            loaded,
            &origin,
            "KubernetesDefaults",
            ConnectionSettings {
                auth: spec.auth.as_ref(),
                resync_interval: spec.resync_interval.as_ref(),
                host_api: spec.host_api.as_ref(),
                tls: spec.tls.as_ref(),
                operator_api: spec.operator_api,
            },
        );
        self.defaults = Some((origin, document.clone()));
    }

    /// The connection settings a KubernetesSync and KubernetesDefaults share.
    fn connection_settings(
        &mut self,
        loaded: &LoadedDocument,
        origin: &Origin,
        owner: &str,
        settings: ConnectionSettings<'_>,
    ) {
        if let Some(auth) = settings.auth {
            self.auth(auth, origin, owner);
        }
        if let Some(interval) = settings.resync_interval {
            self.resync_interval(loaded.origin(interval.span), interval);
        }
        if let Some(host) = settings.host_api {
            self.host_api(loaded.origin(host.span), host);
        }
        if let Some(tls) = settings.tls {
            self.kubernetes_ref(origin, "tls.caRef", &tls.ca_ref.name, &tls.ca_ref.namespace);
        }
        if settings.operator_api == Some(OperatorApi::V1alpha1) {
            self.deprecated_operator_api(origin.clone(), owner);
        }
    }

    fn auth(&mut self, auth: &SyncAuthSpec, at: &Origin, owner: &str) {
        let methods = auth.methods();
        if methods.len() > 1 {
            self.error(
                Diagnostic::error(
                    "auth-method",
                    at.clone(),
                    format!(
                        "{owner} sets several authentication methods ({})",
                        methods.join(", ")
                    ),
                )
                .with_help("keep exactly one authentication method"),
            );
            return;
        }
        if methods.is_empty() {
            self.error(
                Diagnostic::error(
                    "auth-method",
                    at.clone(),
                    format!("`auth` of {owner} sets no method"),
                )
                .with_help("set one of `universalAuth`, `kubernetesAuth`, `awsIamAuth`, `azureAuth`, `gcpIdTokenAuth`, `gcpIamAuth`, `ldapAuth`"),
            );
            return;
        }
        if let Some(universal) = &auth.universal_auth {
            let r = &universal.credentials_ref;
            self.kubernetes_ref(
                at,
                "auth.universalAuth.credentialsRef",
                &r.name,
                &r.namespace,
            );
        }
        if let Some(kubernetes) = &auth.kubernetes_auth {
            if kubernetes.identity_id.trim().is_empty() {
                self.error(Diagnostic::error(
                    "auth-method",
                    at.clone(),
                    format!("`auth.kubernetesAuth.identityId` of {owner} is empty"),
                ));
            }
            let r = &kubernetes.service_account_ref;
            self.kubernetes_ref(
                at,
                "auth.kubernetesAuth.serviceAccountRef",
                &r.name,
                &r.namespace,
            );
            if let Some(r) = &kubernetes.identity_id_ref {
                self.kubernetes_key_ref(at, "auth.kubernetesAuth.identityIdRef", r);
            }
        }
        let mut key_refs: Vec<(&str, &CaRefSpec)> = Vec::new();
        if let Some(a) = &auth.aws_iam_auth {
            key_refs.push(("auth.awsIamAuth.identityIdRef", &a.identity_id_ref));
        }
        if let Some(a) = &auth.azure_auth {
            key_refs.push(("auth.azureAuth.identityIdRef", &a.identity_id_ref));
        }
        if let Some(a) = &auth.gcp_id_token_auth {
            key_refs.push(("auth.gcpIdTokenAuth.identityIdRef", &a.identity_id_ref));
        }
        if let Some(a) = &auth.gcp_iam_auth {
            key_refs.push(("auth.gcpIamAuth.identityIdRef", &a.identity_id_ref));
            if !a.service_account_key_file_path.starts_with('/') {
                self.error(
                    Diagnostic::error(
                        "auth-method",
                        at.clone(),
                        format!("`auth.gcpIamAuth.serviceAccountKeyFilePath` of {owner} is not an absolute path"),
                    )
                    .with_help("the path of the key file inside the operator's pod, e.g. `/etc/gcp/key.json` (never the key itself)"),
                );
            }
        }
        if let Some(a) = &auth.ldap_auth {
            key_refs.push(("auth.ldapAuth.identityIdRef", &a.identity_id_ref));
            key_refs.push(("auth.ldapAuth.usernameRef", &a.username_ref));
            key_refs.push(("auth.ldapAuth.passwordRef", &a.password_ref));
        }
        for (field, reference) in key_refs {
            self.kubernetes_key_ref(at, field, reference);
        }
    }

    /// A `{name, namespace, key}` reference to a key of a Secret.
    fn kubernetes_key_ref(&mut self, at: &Origin, field: &str, reference: &CaRefSpec) {
        self.kubernetes_ref(at, field, &reference.name, &reference.namespace);
        if check_secret_data_key(&reference.key).is_err() {
            self.error(
                Diagnostic::error(
                    "invalid-kubernetes-name",
                    at.clone(),
                    format!("`{field}.key` is not a Secret key"),
                )
                .with_help("letters, digits, `-`, `_` and `.`"),
            );
        }
    }

    fn kubernetes_ref(&mut self, at: &Origin, field: &str, name: &str, namespace: &str) {
        if let Err(error) = check_dns1123_subdomain(name) {
            self.error(name_diagnostic(
                "invalid-kubernetes-name",
                at.clone(),
                &format!("`{field}.name`"),
                name,
                error,
            ));
        }
        if let Err(error) = check_dns1123_label(namespace) {
            self.error(name_diagnostic(
                "invalid-kubernetes-name",
                at.clone(),
                &format!("`{field}.namespace`"),
                namespace,
                error,
            ));
        }
    }

    fn resync_interval(&mut self, at: Origin, value: &str) {
        match parse_resync_interval(value) {
            Some(seconds) if seconds >= MIN_RESYNC_SECONDS => {}
            Some(_) => self.error(Diagnostic::error(
                "resync-interval",
                at,
                format!("resync interval `{value}` is shorter than the operator's minimum of 5s"),
            )),
            None => self.error(
                Diagnostic::error(
                    "resync-interval",
                    at,
                    format!("invalid resync interval `{value}`"),
                )
                .with_help("an integer followed by `s`, `m`, `h`, `d` or `w`, e.g. `60s` or `5m`"),
            ),
        }
    }

    fn host_api(&mut self, at: Origin, value: &str) {
        let rest = value
            .strip_prefix("https://")
            .or_else(|| value.strip_prefix("http://"));
        if rest
            .is_none_or(|r| r.is_empty() || r.starts_with('/') || r.contains(char::is_whitespace))
        {
            self.error(
                Diagnostic::error("host-api", at, format!("invalid `hostApi` `{value}`"))
                    .with_help("an absolute http(s) URL, e.g. `https://secrets.example.com/api`"),
            );
        }
    }

    fn kubernetes_sync(&mut self, loaded: &LoadedDocument, document: &KubernetesSyncDocument) {
        let name = &document.metadata.name;
        let origin = loaded.origin(name.span);
        self.check_metadata_name(loaded, &document.metadata, "KubernetesSync");
        if !self.unique_name("KubernetesSync", name, &origin) {
            return;
        }
        let spec = &document.spec;
        let errors_before = self.diagnostics.error_count();

        // Sources: one form or the other, at least one.
        self.one_form(
            &origin,
            name,
            ("source", spec.source.is_some()),
            ("sources", !spec.sources.is_empty()),
        );
        for source in spec.all_sources() {
            self.sync_source(loaded, &origin, source);
        }

        let source_ok = self.diagnostics.error_count() == errors_before;

        // Targets.
        self.one_form(
            &origin,
            name,
            ("target", spec.target.is_some()),
            ("targets", !spec.targets.is_empty()),
        );
        for target in spec.all_targets() {
            self.sync_target(loaded, &origin, name, target);
        }
        if let Some(namespace) = &spec.namespace
            && let Err(error) = check_dns1123_label(namespace)
        {
            self.error(name_diagnostic(
                "invalid-kubernetes-name",
                loaded.origin(namespace.span),
                "namespace",
                namespace,
                error,
            ));
        }
        if spec.namespace.is_none() {
            let namespaces: BTreeSet<&str> =
                spec.all_targets().map(|t| t.namespace.as_str()).collect();
            if namespaces.len() > 1 {
                self.error(
                    Diagnostic::error(
                        "ambiguous-namespace",
                        origin.clone(),
                        format!(
                            "KubernetesSync `{name}` writes into several namespaces ({}) and sets no `spec.namespace`",
                            namespaces.into_iter().collect::<Vec<_>>().join(", ")
                        ),
                    )
                    .with_help("set `spec.namespace`: the namespace of the operator objects"),
                );
            }
        }

        // Own settings.
        self.connection_settings(
            loaded,
            &origin,
            &format!("KubernetesSync `{name}`"),
            ConnectionSettings {
                auth: spec.auth.as_ref(),
                resync_interval: spec.resync_interval.as_ref(),
                host_api: spec.host_api.as_ref(),
                tls: spec.tls.as_ref(),
                operator_api: spec.operator_api,
            },
        );
        self.kubernetes_sync_rest(loaded, document, origin, source_ok);
    }

    /// `source` and `sources` (or `target` and `targets`): exactly one of them.
    fn one_form(&mut self, origin: &Origin, name: &str, single: (&str, bool), list: (&str, bool)) {
        match (single.1, list.1) {
            (true, true) => self.error(
                Diagnostic::error(
                    "sync-form",
                    origin.clone(),
                    format!(
                        "KubernetesSync `{name}` sets both `spec.{}` and `spec.{}`",
                        single.0, list.0
                    ),
                )
                .with_help(format!(
                    "use one form: move `{}` into the `{}` list",
                    single.0, list.0
                )),
            ),
            (false, false) => self.error(
                Diagnostic::error(
                    if single.0 == "source" {
                        "missing-source"
                    } else {
                        "missing-target"
                    },
                    origin.clone(),
                    format!(
                        "KubernetesSync `{name}` has no `spec.{}` (or `spec.{}`)",
                        single.0, list.0
                    ),
                )
                .with_help(format!("set `{}`, or a `{}` list", single.0, list.0)),
            ),
            _ => {}
        }
    }

    fn deprecated_operator_api(&mut self, at: Origin, owner: &str) {
        self.diagnostics.push(
            Diagnostic::warning(
                "deprecated-operator-api",
                at,
                format!("{owner} sets `operatorApi: v1alpha1`: Infisical deprecated the v1alpha1 `InfisicalSecret`"),
            )
            .with_help(
                "remove `operatorApi` (v1beta1 is the default) and apply once with `manifests --apply --prune`; Kubernetes auth then needs `identityIdRef` (docs/operator.md)",
            ),
        );
    }

    fn sync_source(&mut self, loaded: &LoadedDocument, origin: &Origin, source: &SyncSourceSpec) {
        if self.lookup_project(&source.project, loaded.origin(source.project.span))
            && self.check_environment(
                &source.project,
                &source.environment,
                loaded.origin(source.environment.span),
            )
        {
            let at = if source.path.span.line == 0 {
                origin.clone()
            } else {
                loaded.origin(source.path.span)
            };
            match FolderPath::new(source.path.value.clone()) {
                Ok(path) => self.check_folder(
                    &source.project,
                    path.as_str(),
                    std::slice::from_ref(&source.environment.value),
                    at,
                ),
                Err(error) => self.error(name_diagnostic(
                    "invalid-folder-path",
                    at,
                    "folder path",
                    &source.path,
                    error,
                )),
            }
        }
        for tag in &source.tag_slugs {
            if check_dns1123_label(tag).is_err() {
                self.error(
                    Diagnostic::error(
                        "invalid-tag-slug",
                        origin.clone(),
                        format!("tag slug `{}` is not a slug", crate::escape::Visible(tag)),
                    )
                    .with_help("lowercase letters, digits and `-`"),
                );
            }
        }
    }

    fn sync_target(
        &mut self,
        loaded: &LoadedDocument,
        origin: &Origin,
        name: &str,
        target: &SyncTargetSpec,
    ) {
        let origin = origin.clone();
        if let Err(error) = check_dns1123_label(&target.namespace) {
            self.error(name_diagnostic(
                "invalid-kubernetes-name",
                loaded.origin(target.namespace.span),
                "namespace",
                &target.namespace,
                error,
            ));
        }
        if let Err(error) = check_dns1123_subdomain(&target.name) {
            self.error(name_diagnostic(
                "invalid-kubernetes-name",
                loaded.origin(target.name.span),
                "Secret name",
                &target.name,
                error,
            ));
        }
        let target_key = (target.namespace.value.clone(), target.name.value.clone());
        let target_origin = loaded.origin(target.name.span);
        if let Some(first) = self.targets.get(&target_key) {
            self.error(
                Diagnostic::error(
                    "duplicate-target",
                    target_origin,
                    format!(
                        "Kubernetes Secret `{}/{}` is the target of two KubernetesSync documents",
                        target.namespace.value, target.name.value
                    ),
                )
                .with_related(first.clone(), "first targeted here")
                .with_help("two operator resources writing one Secret would overwrite each other"),
            );
        } else {
            self.targets.insert(target_key, target_origin);
        }
        if let Some(secret_type) = &target.secret_type
            && secret_type.trim().is_empty()
        {
            self.error(Diagnostic::error(
                "invalid-secret-type",
                origin.clone(),
                "`target.type` must not be empty",
            ));
        }
        if let Some(template) = &target.template {
            for (key, entry) in &template.data {
                if let Err(error) = check_secret_data_key(key) {
                    self.error(name_diagnostic(
                        "invalid-kubernetes-name",
                        origin.clone(),
                        "template data key",
                        key,
                        error,
                    ));
                }
                // A constant in a Secret's template comes from Git, not Infisical. A warning,
                // not an error: a reviewed constant (a username, a port) is legitimate here,
                // while proposals over MCP refuse it outright. The entry is never shown.
                if target.kind != Some(SyncTargetKind::ConfigMap)
                    && let Err(why) = check_template_entry(entry)
                    && check_secret_data_key(key).is_ok()
                {
                    self.diagnostics.push(
                        Diagnostic::warning(
                            "template-literal",
                            origin.clone(),
                            format!(
                                "KubernetesSync `{name}` template entry `{key}` reads no secret: {why}"
                            ),
                        )
                        .with_help(
                            "read secrets with `{{ .KEY.Value }}`: a constant written here reaches the Kubernetes Secret from Git, not from Infisical",
                        ),
                    );
                }
            }
        }
    }

    fn kubernetes_sync_rest(
        &mut self,
        loaded: &LoadedDocument,
        document: &KubernetesSyncDocument,
        origin: Origin,
        source_ok: bool,
    ) {
        let name = &document.metadata.name;
        let spec = &document.spec;
        // Merge the defaults.
        let mut merged: KubernetesSyncSpec = spec.clone();
        if let Some((_, defaults)) = &self.defaults {
            let d = &defaults.spec;
            if merged.auth.is_none() {
                merged.auth.clone_from(&d.auth);
            }
            if merged.host_api.is_none() {
                merged.host_api.clone_from(&d.host_api);
            }
            if merged.tls.is_none() {
                merged.tls.clone_from(&d.tls);
            }
            if merged.resync_interval.is_none() {
                merged.resync_interval.clone_from(&d.resync_interval);
            }
            if merged.operator_api.is_none() {
                merged.operator_api = d.operator_api;
            }
            if merged.instant_updates.is_none() {
                merged.instant_updates = d.instant_updates;
            }
        }
        self.operator_rules(loaded, document, &merged, &origin);
        if merged.auth.is_none() {
            let mut diagnostic = Diagnostic::error(
                "missing-auth",
                origin.clone(),
                format!("KubernetesSync `{name}` has no operator authentication"),
            )
            .with_help("set `spec.auth`, or `spec.auth` in the repository's KubernetesDefaults");
            if let Some((defaults_origin, _)) = &self.defaults {
                diagnostic = diagnostic
                    .with_related(defaults_origin.clone(), "KubernetesDefaults sets no `auth`");
            }
            self.error(diagnostic);
        }
        if source_ok {
            self.sync_sources_ok.insert(name.value.clone());
        }
        self.syncs.insert(
            name.value.clone(),
            KubernetesSync {
                name: name.value.clone(),
                spec: merged,
                origin,
            },
        );
    }

    /// Rules that come from the operator's resources: what it cannot express or would refuse.
    fn operator_rules(
        &mut self,
        loaded: &LoadedDocument,
        document: &KubernetesSyncDocument,
        merged: &KubernetesSyncSpec,
        origin: &Origin,
    ) {
        let name = &document.metadata.name;
        let api = merged.operator_api.unwrap_or_default();
        for target in merged.all_targets() {
            if target.kind == Some(SyncTargetKind::ConfigMap) && target.secret_type.is_some() {
                self.error(
                    Diagnostic::error(
                        "configmap-target",
                        loaded.origin(target.name.span),
                        format!("KubernetesSync `{name}` sets `target.type` on a ConfigMap target"),
                    )
                    .with_help("remove `type`: only Secrets have a type"),
                );
            }
            if target.creation_policy == Some(CreationPolicy::Owner)
                && let Some(namespace) = &merged.namespace
                && namespace.value != target.namespace.value
            {
                self.error(
                    Diagnostic::error(
                        "owner-across-namespaces",
                        loaded.origin(namespace.span),
                        format!(
                            "KubernetesSync `{name}` uses `creationPolicy: Owner`, but its resource lives in `{}` and the Secret in `{}`",
                            namespace.value, target.namespace.value
                        ),
                    )
                    .with_help("Kubernetes owner references do not cross namespaces: use `Orphan`, or one namespace"),
                );
            }
            if api == OperatorApi::V1beta1
                && let Some(template) = &target.template
                && template.include_all_secrets
                && !template.data.is_empty()
            {
                self.error(
                    Diagnostic::error(
                        "template-include-all",
                        origin.clone(),
                        format!("KubernetesSync `{name}` sets both `template.includeAllSecrets` and `template.data` with operator API v1beta1 (the default)"),
                    )
                    .with_help("v1beta1 templates replace the fetched secrets: list every key in `data`, or keep the deprecated `operatorApi: v1alpha1`"),
                );
            }
        }
        match api {
            OperatorApi::V1beta1 => {
                if let Some(auth) = &merged.auth
                    && auth.methods().len() == 1
                    && let Some(kubernetes) = &auth.kubernetes_auth
                    && kubernetes.identity_id_ref.is_none()
                {
                    let inherited = document.spec.auth.is_none();
                    self.error(
                        Diagnostic::error(
                            "missing-identity-id-ref",
                            origin.clone(),
                            format!(
                                "KubernetesSync `{name}` uses `{}auth.kubernetesAuth` with operator API v1beta1 (the default since operatorApi stopped defaulting to v1alpha1) but no `identityIdRef`",
                                if inherited { "KubernetesDefaults " } else { "spec." }
                            ),
                        )
                        .with_help("the v1beta1 `InfisicalAuth` reads the identity id from a Secret: put the id in a Secret and add `auth.kubernetesAuth.identityIdRef {name, namespace, key}`, or keep the deprecated `operatorApi: v1alpha1` for now"),
                    );
                }
            }
            OperatorApi::V1alpha1 => {
                let mut needs = Vec::new();
                if merged.all_sources().count() > 1 {
                    needs.push("`sources` with several sources".to_string());
                }
                if merged.all_sources().any(|s| !s.tag_slugs.is_empty()) {
                    needs.push("`tagSlugs`".to_string());
                }
                if let Some(auth) = &merged.auth {
                    for (method, field) in [
                        ("aws-iam", "awsIamAuth"),
                        ("azure", "azureAuth"),
                        ("gcp-id-token", "gcpIdTokenAuth"),
                        ("gcp-iam", "gcpIamAuth"),
                        ("ldap", "ldapAuth"),
                    ] {
                        if auth.methods().contains(&method) {
                            needs.push(format!("`auth.{field}`"));
                        }
                    }
                }
                for feature in needs {
                    self.error(
                        Diagnostic::error(
                            "needs-v1beta1",
                            origin.clone(),
                            format!("KubernetesSync `{name}` uses {feature}, which the deprecated v1alpha1 `InfisicalSecret` cannot express"),
                        )
                        .with_help("remove `operatorApi: v1alpha1` (here or in KubernetesDefaults): v1beta1 is the default"),
                    );
                }
            }
        }
    }

    fn finish(mut self) -> (Option<DesiredState>, Diagnostics) {
        // Syncs whose scope holds no declared secret are probably mistakes; ConfigMaps may only
        // receive non-sensitive literals.
        let mut warnings = Vec::new();
        let mut errors = Vec::new();
        for sync in self.syncs.values() {
            if !self.sync_sources_ok.contains(&sync.name) {
                continue;
            }
            for source in sync.spec.all_sources() {
                let (Ok(project), Ok(environment), Ok(path)) = (
                    ProjectSlug::new(source.project.value.clone()),
                    EnvironmentSlug::new(source.environment.value.clone()),
                    FolderPath::new(source.path.value.clone()),
                ) else {
                    continue;
                };
                let any = self.secrets.keys().any(|address| {
                    in_scope(address, &project, &environment, &path, source.recursive)
                });
                if sync
                    .spec
                    .all_targets()
                    .any(|t| t.kind == Some(SyncTargetKind::ConfigMap))
                    && let Some((address, secret)) =
                        self.secrets.iter().find(|(address, secret)| {
                            in_scope(address, &project, &environment, &path, source.recursive)
                                && !matches!(secret.source, SecretSource::Literal(_))
                        })
                {
                    errors.push(
                        Diagnostic::error(
                            "sensitive-in-configmap",
                            sync.origin.clone(),
                            format!(
                                "KubernetesSync `{}` writes a ConfigMap, but its scope holds the sensitive secret `{address}`",
                                sync.name
                            ),
                        )
                        .with_related(secret.origin.clone(), "the sensitive secret")
                        .with_help("ConfigMaps are plain text: use `target.kind: Secret`, or narrow the scope to `sensitive: false` literals"),
                    );
                }
                if !any {
                    warnings.push(Diagnostic::warning(
                        "empty-sync",
                        sync.origin.clone(),
                        format!(
                            "KubernetesSync `{}` reads `{}/{}:{}`, where this repository declares no secret",
                            sync.name, source.project.value, source.environment.value, source.path.value
                        ),
                    ));
                }
            }
        }
        warnings.extend(self.reference_warnings());
        errors.extend(self.import_graph_problems());
        self.diagnostics.0.extend(warnings);
        self.diagnostics.0.extend(errors);
        self.diagnostics.sort();
        if self.diagnostics.has_errors() {
            return (None, self.diagnostics);
        }
        let projects = self
            .projects
            .into_values()
            .filter_map(|entry| entry.project)
            .map(|project| (project.slug.clone(), project))
            .collect();
        let state = DesiredState {
            projects,
            secrets: self.secrets,
            kubernetes_syncs: self.syncs,
            imports: self
                .imports
                .into_iter()
                .map(|(folder, (_, imports))| (folder, imports))
                .collect(),
        };
        (Some(state), self.diagnostics)
    }
}

impl Checker {
    /// Warnings for references in literal values that name no secret this repository declares.
    /// Infisical would leave such a reference unexpanded (or expand it from an object outside
    /// the repository's control), so they are reported; they never block.
    fn reference_warnings(&self) -> Vec<Diagnostic> {
        let mut warnings = Vec::new();
        for (address, secret) in &self.secrets {
            let (SecretSource::Literal(value), Address::Secret(project, environment, path, _)) =
                (&secret.source, address)
            else {
                continue;
            };
            let found = references(value);
            if found.len() > MAX_REFERENCES_PER_VALUE {
                warnings.push(
                    Diagnostic::warning(
                        "too-many-references",
                        secret.origin.clone(),
                        format!(
                            "the `value` of secret `{address}` holds {} references; only the first {MAX_REFERENCES_PER_VALUE} are checked",
                            found.len()
                        ),
                    )
                    .with_help("split the value, or reference fewer secrets"),
                );
            }
            for reference in found.into_iter().take(MAX_REFERENCES_PER_VALUE) {
                let reference = match reference {
                    Ok(reference) => reference,
                    Err(inner) => {
                        warnings.push(
                            Diagnostic::warning(
                                "unresolved-reference",
                                secret.origin.clone(),
                                format!(
                                    "the `value` of secret `{address}` holds the reference `${{{}}}`, which names no secret",
                                    abbreviated(&inner)
                                ),
                            )
                            .with_help(REFERENCE_FORMS),
                        );
                        continue;
                    }
                };
                let target = (
                    reference.project.as_deref().unwrap_or(project.as_str()),
                    reference
                        .environment
                        .as_deref()
                        .unwrap_or(environment.as_str()),
                    reference.path.as_deref().unwrap_or(path.as_str()),
                    reference.key.as_str(),
                );
                if self.declares_secret(target) {
                    continue;
                }
                let (target_project, target_environment, target_path, key) = target;
                warnings.push(
                    Diagnostic::warning(
                        "unresolved-reference",
                        secret.origin.clone(),
                        format!(
                            "the `value` of secret `{address}` references `${{{}}}`, but this repository declares no secret `{}` in `{target_project}/{target_environment}:{target_path}`",
                            abbreviated(&reference.raw),
                            abbreviated(key),
                        ),
                    )
                    .with_help(
                        "declare that secret in a SecretSet, or correct the reference; Infisical leaves a reference it cannot resolve unexpanded",
                    ),
                );
            }
        }
        warnings
    }

    fn declares_secret(&self, (project, environment, path, key): (&str, &str, &str, &str)) -> bool {
        let (Ok(project), Ok(environment), Ok(path), Ok(key)) = (
            ProjectSlug::new(project),
            EnvironmentSlug::new(environment),
            FolderPath::new(path),
            SecretKey::new(key),
        ) else {
            return false;
        };
        self.secrets
            .contains_key(&Address::Secret(project, environment, path, key))
    }
}

/// How many levels of imports Infisical follows when it reads a folder.
pub const MAX_IMPORT_DEPTH: usize = 10;

/// `env:/path` of a folder address.
fn folder_name(folder: &Address) -> String {
    match (folder.environment(), folder.folder()) {
        (Some(environment), Some(path)) => format!("{environment}:{path}"),
        _ => folder.to_string(),
    }
}

/// A chain of imports from `from` to `to` (both included), if one exists.
fn path_between(
    from: &Address,
    to: &Address,
    edges: &dyn Fn(&Address) -> Vec<(Address, Origin)>,
) -> Option<Vec<Address>> {
    let mut seen: BTreeSet<Address> = BTreeSet::new();
    let mut stack: Vec<Vec<Address>> = vec![vec![from.clone()]];
    while let Some(chain) = stack.pop() {
        let last = chain.last()?.clone();
        if &last == to {
            return Some(chain);
        }
        if !seen.insert(last.clone()) {
            continue;
        }
        for (next, _) in edges(&last).into_iter().rev() {
            let mut longer = chain.clone();
            longer.push(next);
            stack.push(longer);
        }
    }
    None
}

/// The longest chain of imports below `folder` (0 when it imports nothing); the graph has no
/// cycle.
fn import_depth(
    folder: &Address,
    edges: &dyn Fn(&Address) -> Vec<(Address, Origin)>,
    depths: &mut BTreeMap<Address, usize>,
) -> usize {
    if let Some(depth) = depths.get(folder) {
        return *depth;
    }
    let depth = edges(folder)
        .iter()
        .map(|(source, _)| 1 + import_depth(source, edges, depths))
        .max()
        .unwrap_or(0);
    depths.insert(folder.clone(), depth);
    depth
}

const REFERENCE_FORMS: &str = "write `${KEY}` (same folder), `${env.KEY}` (root of `env`), `${env.folder.sub.KEY}` or `${@project.env.folder.KEY}`";

/// Whether a secret address lies in a sync's scope.
fn in_scope(
    address: &Address,
    project: &ProjectSlug,
    environment: &EnvironmentSlug,
    path: &FolderPath,
    recursive: bool,
) -> bool {
    match address {
        Address::Secret(p, e, f, _) => {
            p == project && e == environment && (f == path || (recursive && f.starts_with(path)))
        }
        _ => false,
    }
}

/// At most 40 characters of a free-text name, escaped, for a message.
fn abbreviated(value: &str) -> String {
    const SHOWN: usize = 40;
    let shown = printable(value);
    if shown.chars().count() <= SHOWN {
        shown.into_owned()
    } else {
        let mut out: String = shown.chars().take(SHOWN).collect();
        out.push('…');
        out
    }
}

/// The first problem Infisical would have with one metadata pair of secret `secret_key`: an
/// empty, unprintable, padded (Infisical trims both sides, so the pair would drift on every
/// plan) or too long key or value (422, and the whole batch of secrets fails with it).
fn metadata_problem(at: Origin, secret_key: &str, key: &str, value: &str) -> Option<Diagnostic> {
    if key.trim().is_empty() {
        return Some(Diagnostic::error(
            "invalid-metadata",
            at,
            format!("secret `{secret_key}` has an empty metadata key"),
        ));
    }
    // `subject` is `metadata key` or `value of metadata key`.
    let problem = |subject: &str, reason: String, help: Option<String>| {
        let diagnostic = Diagnostic::error(
            "invalid-metadata",
            at.clone(),
            format!(
                "invalid {subject} `{}` of secret `{secret_key}`: {reason}",
                abbreviated(key)
            ),
        );
        Some(match help {
            Some(help) => diagnostic.with_help(help),
            None => diagnostic,
        })
    };
    let for_key = |reason, help| problem("metadata key", reason, help);
    if let Err(error) = check_printable(key) {
        return for_key(error.reason, error.help);
    }
    if key.starts_with(RESERVED_PREFIX) {
        return for_key(
            format!(
                "keys starting with `{RESERVED_PREFIX}` are written by infisical-gitops itself (the source record)"
            ),
            Some("remove it, or choose another key".to_string()),
        );
    }
    if key.trim() != key {
        return for_key(
            "must not start or end with whitespace (Infisical trims it)".to_string(),
            Some(format!("use `{}`", key.trim())),
        );
    }
    let length = infisical_length(key);
    if length > limits::METADATA_KEY {
        return for_key(
            format!(
                "must be at most {} characters long (it has {length})",
                limits::METADATA_KEY
            ),
            None,
        );
    }
    let for_value = |reason, help| problem("value of metadata key", reason, help);
    if let Err(error) = check_printable(value) {
        return for_value(error.reason, error.help);
    }
    if value.trim() != value {
        return for_value(
            "must not start or end with whitespace (Infisical trims it, so it would show as drift on every plan)".to_string(),
            Some(format!("use `{}`", abbreviated(value.trim()))),
        );
    }
    let length = infisical_length(value);
    if length > limits::METADATA_VALUE {
        return for_value(
            format!(
                "must be at most {} characters long (it has {length})",
                limits::METADATA_VALUE
            ),
            None,
        );
    }
    None
}

fn invalid_uuid(at: Origin, field: &str, value: &str) -> Diagnostic {
    Diagnostic::error(
        "invalid-uuid",
        at,
        format!("`{field}` must be a UUID, found `{value}`"),
    )
    .with_help("copy the id from the Bitwarden web vault or `bw list items`, e.g. `0f6a1c2e-3b4d-4e5f-8a9b-0c1d2e3f4a5b`")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn documents(yaml: &[&str]) -> Vec<LoadedDocument> {
        yaml.iter()
            .enumerate()
            .map(|(index, text)| {
                let header: serde_json::Value = serde_saphyr::from_str(text).unwrap();
                let document = match header["kind"].as_str().unwrap() {
                    "Project" => Document::Project(serde_saphyr::from_str(text).unwrap()),
                    "SecretSet" => Document::SecretSet(serde_saphyr::from_str(text).unwrap()),
                    "KubernetesSync" => {
                        Document::KubernetesSync(serde_saphyr::from_str(text).unwrap())
                    }
                    _ => Document::KubernetesDefaults(serde_saphyr::from_str(text).unwrap()),
                };
                LoadedDocument {
                    file: format!("doc-{index}.yaml").into(),
                    line_offset: 0,
                    document,
                }
            })
            .collect()
    }

    const PROJECT: &str = "apiVersion: infisical-gitops.io/v1alpha1
kind: Project
metadata: {name: platform}
spec:
  environments: [{slug: dev}, {slug: prod, position: 5}]
  folders:
    - path: /apps/web/api
      environments: [prod]
";

    #[test]
    fn nested_folders_imply_their_parents_in_their_environments_only() {
        let state = build(&documents(&[PROJECT])).unwrap();
        let project = state.projects.values().next().unwrap();
        let prod: EnvironmentSlug = "prod".parse().unwrap();
        let folders: Vec<(&str, bool)> = project.folders[&prod]
            .iter()
            .map(|(path, folder)| (path.as_str(), folder.declared))
            .collect();
        assert_eq!(
            folders,
            [
                ("/apps", false),
                ("/apps/web", false),
                ("/apps/web/api", true)
            ]
        );
        assert!(!project.folders.contains_key(&"dev".parse().unwrap()));
        let positions: Vec<u32> = project.environments.iter().map(|e| e.position).collect();
        assert_eq!(
            positions,
            [1, 5],
            "explicit positions win, others follow the list"
        );
        assert_eq!(project.policy, Policy::default());
    }

    #[test]
    fn secrets_may_live_in_implied_parent_folders_and_expand_per_environment() {
        let set = "apiVersion: infisical-gitops.io/v1alpha1
kind: SecretSet
metadata: {name: web}
spec:
  project: platform
  environments: [prod]
  path: /apps/web
  secrets:
    - key: TOKEN
      generate: {}
";
        let state = build(&documents(&[PROJECT, set])).unwrap();
        let (address, secret) = state.secrets.iter().next().unwrap();
        assert_eq!(address.to_string(), "platform/prod:/apps/web#TOKEN");
        assert_eq!(
            secret.source,
            SecretSource::Generate(GenerateRule {
                length: GenerateRule::DEFAULT_LENGTH,
                charset: Default::default(),
                backup_to: None,
            })
        );
    }

    #[test]
    fn kubernetes_defaults_fill_unset_fields_only() {
        let defaults = "apiVersion: infisical-gitops.io/v1alpha1
kind: KubernetesDefaults
metadata: {name: defaults}
spec:
  resyncInterval: 5m
  operatorApi: v1beta1
  auth:
    universalAuth:
      credentialsRef: {name: creds, namespace: infisical}
";
        let sync = "apiVersion: infisical-gitops.io/v1alpha1
kind: KubernetesSync
metadata: {name: web}
spec:
  source: {project: platform, environment: prod, path: /apps/web/api}
  target: {namespace: web, name: web-secrets}
  resyncInterval: 1h
";
        let (state, diagnostics) = check(&documents(&[PROJECT, sync, defaults]));
        let state = state.unwrap();
        let merged = &state.kubernetes_syncs["web"].spec;
        assert_eq!(merged.resync_interval.as_ref().unwrap().value, "1h");
        assert_eq!(merged.operator_api, Some(OperatorApi::V1beta1));
        assert!(merged.auth.as_ref().unwrap().universal_auth.is_some());
        let codes: Vec<&str> = diagnostics.iter().map(|d| d.code).collect();
        assert_eq!(codes, ["empty-sync"], "no secret in that scope");
    }

    #[test]
    fn one_typo_gives_one_diagnostic() {
        let set = "apiVersion: infisical-gitops.io/v1alpha1
kind: SecretSet
metadata: {name: web}
spec:
  project: platfrom
  environments: [prod, dev]
  path: /apps
  secrets:
    - key: A
      generate: {}
";
        let (state, diagnostics) = check(&documents(&[PROJECT, set]));
        assert!(state.is_none());
        let codes: Vec<&str> = diagnostics.iter().map(|d| d.code).collect();
        assert_eq!(codes, ["undeclared-project"]);
        assert_eq!(
            diagnostics.0[0].help.as_deref(),
            Some("did you mean `platform`?")
        );
    }

    #[test]
    fn resync_intervals() {
        assert_eq!(parse_resync_interval("60s"), Some(60));
        assert_eq!(parse_resync_interval("5m"), Some(300));
        assert_eq!(parse_resync_interval("2w"), Some(1_209_600));
        assert_eq!(parse_resync_interval("1.5h"), None);
        assert_eq!(parse_resync_interval("m"), None);
        assert_eq!(parse_resync_interval("10"), None);
        assert_eq!(parse_resync_interval("10 s"), None);
        assert_eq!(parse_resync_interval("-5s"), None);
        assert_eq!(parse_resync_interval(""), None);
    }

    #[test]
    fn references_in_literals_resolve_against_declared_secrets_only() {
        let secrets = "apiVersion: infisical-gitops.io/v1alpha1
kind: SecretSet
metadata: {name: refs}
spec:
  project: platform
  environments: [prod]
  secrets:
    - {key: DB_HOST, sensitive: false, value: db.internal}
    - {key: LOCAL, sensitive: false, value: '${DB_HOST}:5432'}
    - {key: ROOT, sensitive: false, value: '${prod.DB_HOST}'}
    - {key: MISSING, sensitive: false, value: '${prod.apps.web.NOPE} ${ not a reference }'}
    - {key: CROSS, sensitive: false, value: '${@other.prod.KEY}'}
    - {key: BAD, sensitive: false, value: '${@other.KEY}'}
";
        let (state, diagnostics) = check(&documents(&[PROJECT, secrets]));
        assert!(state.is_some(), "references never block: {diagnostics:?}");
        let found: Vec<(&str, &str)> = diagnostics
            .iter()
            .map(|d| (d.code, d.message.as_str()))
            .collect();
        assert_eq!(found.len(), 3, "{found:#?}");
        assert!(
            found
                .iter()
                .all(|(code, _)| *code == "unresolved-reference")
        );
        for expected in [
            "`${@other.KEY}`, which names no secret",
            "no secret `KEY` in `other/prod:/`",
            "no secret `NOPE` in `platform/prod:/apps/web`",
        ] {
            assert!(
                found.iter().any(|(_, m)| m.contains(expected)),
                "{expected}: {found:#?}"
            );
        }
    }

    #[test]
    fn imports_are_kept_in_order_per_environment_and_references_still_resolve() {
        let shared = "apiVersion: infisical-gitops.io/v1alpha1
kind: SecretSet
metadata: {name: shared}
spec:
  project: platform
  environments: [dev, prod]
  secrets:
    - {key: DB_HOST, sensitive: false, value: db.internal}
";
        let api = "apiVersion: infisical-gitops.io/v1alpha1
kind: SecretSet
metadata: {name: api}
spec:
  project: platform
  environments: [prod]
  path: /apps/web/api
  imports:
    - {environment: prod}
    - {environment: dev, path: /}
  secrets:
    - {key: URL, sensitive: false, value: 'postgres://${prod.DB_HOST}'}
";
        let none = "apiVersion: infisical-gitops.io/v1alpha1
kind: SecretSet
metadata: {name: none}
spec:
  project: platform
  environments: [dev]
  imports: []
";
        let (state, diagnostics) = check(&documents(&[PROJECT, shared, api, none]));
        assert!(diagnostics.is_empty(), "{diagnostics:?}");
        let state = state.unwrap();
        let listed: Vec<(String, Vec<String>)> = state
            .imports
            .iter()
            .map(|(folder, imports)| {
                (
                    folder.to_string(),
                    imports
                        .iter()
                        .map(|i| format!("{}:{}", i.environment, i.path))
                        .collect(),
                )
            })
            .collect();
        assert_eq!(
            listed,
            vec![
                ("platform/dev:/".to_string(), vec![]),
                (
                    "platform/prod:/apps/web/api".to_string(),
                    vec!["prod:/".to_string(), "dev:/".to_string()]
                ),
            ]
        );
    }

    #[test]
    fn references_per_value_are_bounded() {
        let many = "${A}".repeat(MAX_REFERENCES_PER_VALUE + 5);
        let secrets = format!(
            "apiVersion: infisical-gitops.io/v1alpha1
kind: SecretSet
metadata: {{name: refs}}
spec:
  project: platform
  environments: [prod]
  secrets:
    - {{key: A, sensitive: false, value: a}}
    - {{key: MANY, sensitive: false, value: '{many}'}}
"
        );
        let (_, diagnostics) = check(&documents(&[PROJECT, &secrets]));
        let codes: Vec<&str> = diagnostics.iter().map(|d| d.code).collect();
        assert_eq!(codes, ["too-many-references"]);
    }

    #[test]
    fn uuids() {
        assert!(is_uuid("0f6a1c2e-3b4d-4e5f-8a9b-0c1d2e3f4a5b"));
        assert!(is_uuid("0F6A1C2E-3B4D-4E5F-8A9B-0C1D2E3F4A5B"));
        assert!(!is_uuid("0f6a1c2e3b4d4e5f8a9b0c1d2e3f4a5b"));
        assert!(!is_uuid("0f6a1c2e-3b4d-4e5f-8a9b-0c1d2e3f4a5g"));
    }
}
