//! Chainable builders for desired and live states, for tests and benchmarks:
//!
//! ```
//! use infisical_gitops::plan::testing::{DesiredBuilder, LiveBuilder};
//! let resolved = DesiredBuilder::new()
//!     .project("k3s-infrastructure", &["prod"])
//!     .secret("k3s-infrastructure/prod:/databases#POSTGRES_PASSWORD", "s3cret")
//!     .build();
//! let live = LiveBuilder::new().project("k3s-infrastructure", true, &["prod"]).build();
//! assert_eq!(resolved.desired.secret_count(), 1);
//! assert_eq!(live.secret_count(), 0);
//! ```
//!
//! Addresses are parsed with `expect`: a bad address in a fixture is a bug in the test.

use std::collections::{BTreeMap, BTreeSet};
use std::sync::Arc;

use crate::model::document::Charset;
use crate::model::{
    Address, DesiredSecret, DesiredState, Environment, EnvironmentSlug, Folder, FolderPath,
    GenerateRule, Origin, Policy, Project, ProjectSlug, SecretKey, SecretSource, SecretValue, Span,
    TagSlug,
};

use super::live::{LiveEnvironment, LiveFolder, LiveProject, LiveSecret, LiveState};
use super::ownership::{marked_description, with_marker};
use super::resolved::{Provenance, Resolution, ResolvedState, Unresolved};

fn origin() -> Origin {
    Origin::new(Arc::<str>::from("fixture.yaml"), Span::new(1, 1))
}

fn parse(address: &str) -> Address {
    address
        .parse()
        .unwrap_or_else(|err| panic!("bad fixture address {address}: {err}"))
}

fn secret_parts(address: &str) -> (ProjectSlug, EnvironmentSlug, FolderPath, SecretKey) {
    match parse(address) {
        Address::Secret(p, e, f, k) => (p, e, f, k),
        other => panic!("not a secret address: {other}"),
    }
}

/// Builds a [`ResolvedState`].
#[derive(Debug, Default)]
pub struct DesiredBuilder {
    state: DesiredState,
    values: BTreeMap<Address, Resolution>,
    source_complete: Option<bool>,
}

impl DesiredBuilder {
    /// Empty.
    pub fn new() -> Self {
        Self::default()
    }

    /// A project with environments (positions in order), default policy, name = slug.
    pub fn project(mut self, slug: &str, environments: &[&str]) -> Self {
        let slug = ProjectSlug::new(slug).expect("fixture project slug");
        let environments: Vec<Environment> = environments
            .iter()
            .enumerate()
            .map(|(index, e)| Environment {
                slug: EnvironmentSlug::new(*e).expect("fixture environment slug"),
                name: (*e).to_string(),
                position: index as u32 + 1,
                origin: origin(),
            })
            .collect();
        self.state.projects.insert(
            slug.clone(),
            Project {
                slug: slug.clone(),
                name: slug.to_string(),
                description: None,
                environments,
                folders: BTreeMap::new(),
                policy: Policy::default(),
                origin: origin(),
            },
        );
        self
    }

    /// Changes a project.
    pub fn with_project(mut self, slug: &str, edit: impl FnOnce(&mut Project)) -> Self {
        let slug = ProjectSlug::new(slug).expect("fixture project slug");
        edit(
            self.state
                .projects
                .get_mut(&slug)
                .expect("fixture project declared"),
        );
        self
    }

    /// Changes a project's policy.
    pub fn policy(self, slug: &str, edit: impl FnOnce(&mut Policy)) -> Self {
        self.with_project(slug, |p| edit(&mut p.policy))
    }

    /// Declares the imports of a folder (`project/env:/path`), in order, each `env:/path`.
    pub fn imports(mut self, folder: &str, sources: &[&str]) -> Self {
        let Address::Folder(project, environment, path) = parse(folder) else {
            panic!("not a folder address: {folder}");
        };
        if !path.is_root() {
            self.add_folder(&project, &environment, &path, true);
        }
        let imports = sources
            .iter()
            .map(|source| {
                let (environment, path) = import_source(source);
                crate::model::DesiredImport {
                    environment,
                    path,
                    origin: origin(),
                }
            })
            .collect();
        self.state
            .imports
            .insert(Address::Folder(project, environment, path), imports);
        self
    }

    /// Declares a folder (`project/env:/path`) and its parents.
    pub fn folder(mut self, address: &str) -> Self {
        let Address::Folder(project, environment, path) = parse(address) else {
            panic!("not a folder address: {address}");
        };
        self.add_folder(&project, &environment, &path, true);
        self
    }

    fn add_folder(
        &mut self,
        project: &ProjectSlug,
        environment: &EnvironmentSlug,
        path: &FolderPath,
        declared: bool,
    ) {
        let project = self
            .state
            .projects
            .get_mut(project)
            .expect("fixture project declared before its folders");
        let folders = project.folders.entry(environment.clone()).or_default();
        for (index, ancestor) in path.with_ancestors().iter().enumerate() {
            let is_leaf = index + 1 == path.depth();
            let entry = folders.entry(ancestor.clone()).or_insert(Folder {
                description: None,
                declared: false,
                origin: origin(),
            });
            entry.declared |= is_leaf && declared;
        }
    }

    fn add_secret(&mut self, address: &str, source: SecretSource, resolution: Resolution) {
        let (project, environment, path, key) = secret_parts(address);
        self.add_folder(&project, &environment, &path, true);
        let address = Address::Secret(project, environment, path, key.clone());
        self.state.secrets.insert(
            address.clone(),
            DesiredSecret {
                key,
                comment: String::new(),
                tags: BTreeSet::new(),
                metadata: BTreeMap::new(),
                source,
                origin: origin(),
            },
        );
        self.values.insert(address, resolution);
    }

    /// A secret whose value resolved to `value` (from a Bitwarden-like source).
    pub fn secret(mut self, address: &str, value: &str) -> Self {
        let source = SecretSource::BitwardenSecretsManager {
            secret: format!("fixture-{address}"),
        };
        self.add_secret(
            address,
            source,
            Resolution::Value {
                value: SecretValue::new(value),
                provenance: Provenance::Source,
            },
        );
        self
    }

    /// A non-sensitive literal.
    pub fn literal(mut self, address: &str, value: &str) -> Self {
        self.add_secret(
            address,
            SecretSource::Literal(value.to_string()),
            Resolution::Value {
                value: SecretValue::new(value),
                provenance: Provenance::Source,
            },
        );
        self
    }

    /// A generated secret (32 alphanumeric).
    pub fn generated(mut self, address: &str) -> Self {
        let rule = GenerateRule {
            length: 32,
            charset: Charset::Alphanumeric,
            backup_to: None,
        };
        self.add_secret(
            address,
            SecretSource::Generate(rule),
            Resolution::Generate(rule),
        );
        self
    }

    /// A generated secret (32 alphanumeric) backed up to Bitwarden (`backupTo: bitwarden`).
    pub fn backed_up(mut self, address: &str) -> Self {
        let rule = GenerateRule {
            length: 32,
            charset: Charset::Alphanumeric,
            backup_to: Some(crate::model::document::BackupTarget::Bitwarden),
        };
        self.add_secret(
            address,
            SecretSource::Generate(rule),
            Resolution::Generate(rule),
        );
        self
    }

    /// A secret whose value could not be resolved.
    pub fn unresolved(mut self, address: &str) -> Self {
        let source = SecretSource::BitwardenSecretsManager {
            secret: format!("fixture-{address}"),
        };
        self.add_secret(
            address,
            source,
            Resolution::Unresolved(Unresolved {
                code: "not-found".to_string(),
                message: "bitwarden secrets manager secret fixture was not found".to_string(),
                cause: None,
            }),
        );
        self
    }

    /// Changes a declared secret's comment, tags or metadata.
    pub fn with_secret(mut self, address: &str, edit: impl FnOnce(&mut DesiredSecret)) -> Self {
        let address = parse(address);
        edit(
            self.state
                .secrets
                .get_mut(&address)
                .expect("fixture secret declared"),
        );
        self
    }

    /// Marks the source as partly unreadable.
    pub fn incomplete_source(mut self) -> Self {
        self.source_complete = Some(false);
        self
    }

    /// The resolved state.
    pub fn build(self) -> ResolvedState {
        let mut resolved = ResolvedState::new(self.state, self.values);
        resolved.source_complete = self.source_complete.unwrap_or(true);
        resolved
    }
}

/// Builds a [`LiveState`].
#[derive(Debug, Default)]
pub struct LiveBuilder {
    state: LiveState,
    next_id: u64,
}

impl LiveBuilder {
    /// Empty.
    pub fn new() -> Self {
        Self::default()
    }

    fn id(&mut self, kind: &str) -> String {
        self.next_id += 1;
        format!("{kind}-{}", self.next_id)
    }

    /// A project (marked or not) with observed environments (name = slug, position unknown).
    pub fn project(mut self, slug: &str, marked: bool, environments: &[&str]) -> Self {
        let slug = ProjectSlug::new(slug).expect("fixture project slug");
        let id = self.id("project");
        let mut project = LiveProject {
            id,
            name: slug.to_string(),
            description: marked.then(|| marked_description(None)),
            environments: BTreeMap::new(),
            tags: BTreeMap::new(),
        };
        for environment in environments {
            let env_id = self.id("environment");
            project.environments.insert(
                EnvironmentSlug::new(*environment).expect("fixture environment slug"),
                LiveEnvironment {
                    id: env_id,
                    name: (*environment).to_string(),
                    position: None,
                    observed: true,
                    folders: BTreeMap::new(),
                    secrets: BTreeMap::new(),
                    imports: BTreeMap::new(),
                },
            );
        }
        self.state.projects.insert(slug, project);
        self
    }

    /// Changes a project.
    pub fn with_project(mut self, slug: &str, edit: impl FnOnce(&mut LiveProject)) -> Self {
        let slug = ProjectSlug::new(slug).expect("fixture project slug");
        edit(
            self.state
                .projects
                .get_mut(&slug)
                .expect("fixture live project"),
        );
        self
    }

    fn environment(
        &mut self,
        project: &ProjectSlug,
        environment: &EnvironmentSlug,
    ) -> &mut LiveEnvironment {
        self.state
            .projects
            .get_mut(project)
            .expect("fixture live project")
            .environments
            .get_mut(environment)
            .expect("fixture live environment")
    }

    /// A folder and its missing parents (marked or not).
    pub fn folder(mut self, address: &str, marked: bool) -> Self {
        let Address::Folder(project, environment, path) = parse(address) else {
            panic!("not a folder address: {address}");
        };
        self.add_folder(&project, &environment, &path, marked);
        self
    }

    fn add_folder(
        &mut self,
        project: &ProjectSlug,
        environment: &EnvironmentSlug,
        path: &FolderPath,
        marked: bool,
    ) {
        for ancestor in path.with_ancestors() {
            let id = self.id("folder");
            self.environment(project, environment)
                .folders
                .entry(ancestor)
                .or_insert(LiveFolder {
                    id,
                    description: marked.then(|| marked_description(None)),
                });
        }
    }

    /// A secret with `value` (marked or not), its folders created unmarked when missing.
    pub fn secret(mut self, address: &str, value: &str, marked: bool) -> Self {
        let (project, environment, path, key) = secret_parts(address);
        self.add_folder(&project, &environment, &path, marked);
        let id = self.id("secret");
        let metadata = if marked {
            with_marker(&BTreeMap::new())
        } else {
            BTreeMap::new()
        };
        self.environment(&project, &environment).secrets.insert(
            (path, key),
            LiveSecret {
                id,
                value: Some(SecretValue::new(value)),
                comment: String::new(),
                tags: BTreeSet::new(),
                metadata,
                version: 1,
            },
        );
        self
    }

    /// The live imports of a folder (`project/env:/path`), in position order, each `env:/path`.
    pub fn imports(mut self, folder: &str, sources: &[&str]) -> Self {
        let Address::Folder(project, environment, path) = parse(folder) else {
            panic!("not a folder address: {folder}");
        };
        let mut imports = Vec::new();
        for (index, source) in sources.iter().enumerate() {
            imports.push(crate::plan::LiveImport {
                id: self.id("import"),
                source: Some(import_source(source)),
                position: index as u32 + 1,
                replication: false,
            });
        }
        self.environment(&project, &environment)
            .imports
            .insert(path, imports);
        self
    }

    /// Changes a live secret.
    pub fn with_secret(mut self, address: &str, edit: impl FnOnce(&mut LiveSecret)) -> Self {
        let (project, environment, path, key) = secret_parts(address);
        let secret = self
            .environment(&project, &environment)
            .secrets
            .get_mut(&(path, key))
            .expect("fixture live secret");
        edit(secret);
        self
    }

    /// The live state.
    pub fn build(self) -> LiveState {
        self.state
    }
}

/// `env:/path` of a fixture import.
fn import_source(source: &str) -> (EnvironmentSlug, FolderPath) {
    let (environment, path) = source.split_once(':').expect("fixture import `env:/path`");
    (
        EnvironmentSlug::new(environment).expect("fixture environment slug"),
        FolderPath::new(path).expect("fixture folder path"),
    )
}

/// A tag slug, for fixtures.
pub fn tag(slug: &str) -> TagSlug {
    TagSlug::new(slug).expect("fixture tag slug")
}
