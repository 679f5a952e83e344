//! The checked desired state: what the repository says Infisical should hold.

use std::collections::{BTreeMap, BTreeSet};

use super::address::Address;
use super::document::{Adoption, BackupTarget, BitwardenField, Charset, KubernetesSyncSpec, Mode};
use super::names::{EnvironmentSlug, FolderPath, ProjectSlug, SecretKey, TagSlug};
use super::span::Origin;

/// Everything the repository declares, validated. Deterministic order everywhere.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct DesiredState {
    /// Projects by slug.
    pub projects: BTreeMap<ProjectSlug, Project>,
    /// Secrets by address (`project/env:/path#KEY`); a `SecretSet` for several environments
    /// contributes one entry per environment.
    pub secrets: BTreeMap<Address, DesiredSecret>,
    /// Kubernetes syncs by `metadata.name`, with `KubernetesDefaults` already merged in.
    pub kubernetes_syncs: BTreeMap<String, KubernetesSync>,
    /// Secret imports by importing folder (an [`Address::Folder`], the root included), in
    /// position order. Only folders whose `SecretSet` has an `imports:` list are here (an empty
    /// list included): the imports of other folders are not managed.
    pub imports: BTreeMap<Address, Vec<DesiredImport>>,
}

/// One declared secret import: the folder (of the same project) whose secrets are imported.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DesiredImport {
    /// The imported folder's environment.
    pub environment: EnvironmentSlug,
    /// The imported folder's path.
    pub path: FolderPath,
    /// Where it is declared.
    pub origin: Origin,
}

impl DesiredState {
    /// Number of declared secrets (one per environment).
    pub fn secret_count(&self) -> usize {
        self.secrets.len()
    }

    /// Number of folders over all projects and environments, implied parents included.
    pub fn folder_count(&self) -> usize {
        self.projects
            .values()
            .flat_map(|p| p.folders.values())
            .map(BTreeMap::len)
            .sum()
    }

    /// Number of environments over all projects.
    pub fn environment_count(&self) -> usize {
        self.projects.values().map(|p| p.environments.len()).sum()
    }

    /// The secrets of one project.
    pub fn secrets_of<'a>(
        &'a self,
        project: &'a ProjectSlug,
    ) -> impl Iterator<Item = (&'a Address, &'a DesiredSecret)> + 'a {
        self.secrets
            .iter()
            .filter(move |(address, _)| address.project() == project)
    }
}

/// A project.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Project {
    /// The slug.
    pub slug: ProjectSlug,
    /// Display name (defaults to the slug).
    pub name: String,
    /// Description.
    pub description: Option<String>,
    /// Environments in display order.
    pub environments: Vec<Environment>,
    /// Folders per environment, implied parents included, root excluded.
    pub folders: BTreeMap<EnvironmentSlug, BTreeMap<FolderPath, Folder>>,
    /// Reconciliation policy.
    pub policy: Policy,
    /// Where the `Project` document is.
    pub origin: Origin,
}

impl Project {
    /// The environment with `slug`, if declared.
    pub fn environment(&self, slug: &EnvironmentSlug) -> Option<&Environment> {
        self.environments.iter().find(|e| &e.slug == slug)
    }
}

/// An environment of a project.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Environment {
    /// The slug.
    pub slug: EnvironmentSlug,
    /// Display name.
    pub name: String,
    /// 1-based display position.
    pub position: u32,
    /// Where it is declared.
    pub origin: Origin,
}

/// A folder in one environment.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Folder {
    /// Description, if declared.
    pub description: Option<String>,
    /// `false` when the folder exists only as the parent of a declared one.
    pub declared: bool,
    /// Where it (or the child that implies it) is declared.
    pub origin: Origin,
}

/// The policy of a project, defaults applied.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Policy {
    /// Delete managed objects no longer declared.
    pub prune: bool,
    /// Treatment of unmarked existing objects.
    pub adoption: Adoption,
    /// Upper bound on deletions in one plan for this project.
    pub max_deletions: u32,
    /// Correct or only detect drift.
    pub mode: Mode,
}

impl Default for Policy {
    fn default() -> Self {
        Self {
            prune: false,
            adoption: Adoption::Create,
            max_deletions: Self::DEFAULT_MAX_DELETIONS,
            mode: Mode::Correct,
        }
    }
}

impl Policy {
    /// `maxDeletions` when not set.
    pub const DEFAULT_MAX_DELETIONS: u32 = 10;
}

/// One secret in one environment and folder.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DesiredSecret {
    /// The key.
    pub key: SecretKey,
    /// Comment (empty when none, as Infisical stores it).
    pub comment: String,
    /// Tag slugs.
    pub tags: BTreeSet<TagSlug>,
    /// Metadata pairs (the ownership marker is added by the planner, not here).
    pub metadata: BTreeMap<String, String>,
    /// Where the value comes from.
    pub source: SecretSource,
    /// Where the secret is declared.
    pub origin: Origin,
}

/// Where a secret's value comes from. Never the value itself, except for a literal that the
/// repository marks non-sensitive.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum SecretSource {
    /// A Bitwarden Password Manager item field.
    Bitwarden(BitwardenRef),
    /// A Bitwarden Secrets Manager secret (by id).
    BitwardenSecretsManager {
        /// The secret id.
        secret: String,
    },
    /// A generated value.
    Generate(GenerateRule),
    /// A non-sensitive literal.
    Literal(String),
}

impl SecretSource {
    /// A short human description that never contains a value: `bitwarden item 5f2b… password`,
    /// `generated (32 alphanumeric)`, `literal (non-sensitive)`.
    pub fn describe(&self) -> String {
        match self {
            SecretSource::Bitwarden(r) => r.describe(),
            SecretSource::BitwardenSecretsManager { secret } => {
                format!("bitwarden secrets manager secret {secret}")
            }
            SecretSource::Generate(rule) => format!(
                "generated ({} {})",
                rule.length,
                serde_json::to_value(rule.charset)
                    .ok()
                    .and_then(|v| v.as_str().map(str::to_owned))
                    .unwrap_or_default()
            ),
            SecretSource::Literal(_) => "literal (non-sensitive)".to_string(),
        }
    }

    /// Whether the value is generated (created once, never overwritten).
    pub fn is_generated(&self) -> bool {
        matches!(self, SecretSource::Generate(_))
    }
}

/// How a Bitwarden item is found.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum BitwardenItem {
    /// By id.
    Id(String),
    /// By exact name inside a folder or a collection.
    Name {
        /// The item name.
        name: String,
        /// Folder id scope.
        folder: Option<String>,
        /// Collection id scope.
        collection: Option<String>,
    },
}

/// Which field of a Bitwarden item.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum BitwardenFieldRef {
    /// A built-in field; `uri_index` applies to `uri`.
    Builtin {
        /// The field.
        field: BitwardenField,
        /// Index for `uri`.
        uri_index: u32,
    },
    /// A custom field by name.
    Custom(String),
}

/// A Bitwarden Password Manager reference.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct BitwardenRef {
    /// The item.
    pub item: BitwardenItem,
    /// The field.
    pub field: BitwardenFieldRef,
}

impl BitwardenFieldRef {
    /// The field as the user wrote it, for messages: `password`, `uri[1]`,
    /// `custom field "name"`.
    pub fn label(&self) -> String {
        match self {
            Self::Builtin { field, uri_index } => match field {
                BitwardenField::Password => "password".to_string(),
                BitwardenField::Username => "username".to_string(),
                BitwardenField::Notes => "notes".to_string(),
                BitwardenField::Totp => "totp".to_string(),
                BitwardenField::Uri => format!("uri[{uri_index}]"),
            },
            Self::Custom(name) => format!("custom field {name:?}"),
        }
    }
}

impl BitwardenRef {
    /// A description without any value.
    pub fn describe(&self) -> String {
        let item = match &self.item {
            BitwardenItem::Id(id) => format!("item {id}"),
            BitwardenItem::Name { name, .. } => format!("item named {name:?}"),
        };
        format!("bitwarden {item} {}", self.field.label())
    }
}

/// Rule for a generated value.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct GenerateRule {
    /// Length in characters.
    pub length: u32,
    /// Alphabet.
    pub charset: Charset,
    /// Backup target, if any.
    pub backup_to: Option<BackupTarget>,
}

impl GenerateRule {
    /// Default length.
    pub const DEFAULT_LENGTH: u32 = 32;
    /// Shortest allowed length.
    pub const MIN_LENGTH: u32 = 8;
    /// Longest allowed length.
    pub const MAX_LENGTH: u32 = 4096;
}

/// A Kubernetes sync with defaults merged.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct KubernetesSync {
    /// `metadata.name`.
    pub name: String,
    /// The spec, with `KubernetesDefaults` applied to unset fields.
    pub spec: KubernetesSyncSpec,
    /// Where it is declared.
    pub origin: Origin,
}
