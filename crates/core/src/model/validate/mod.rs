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

mod kubernetes;
mod project;
mod secret_set;

#[cfg(test)]
mod tests;
