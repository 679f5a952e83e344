//! [`LiveState`]: what Infisical holds, read by `infisical::observe`, keyed like the desired
//! state so that the diff is a walk over two sorted maps.
//!
//! Only the projects the repository declares are observed; inside them, every environment,
//! folder and secret is read (including those the repository does not declare, so that prune
//! and the ownership check can see them). Server-set fields that are never compared (versions,
//! ids) are kept only to address writes and to fingerprint the observation.

use std::collections::{BTreeMap, BTreeSet};

use crate::model::{EnvironmentSlug, FolderPath, ProjectSlug, SecretKey, SecretValue, TagSlug};

use super::ownership;

/// The observed Infisical, for the declared projects.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct LiveState {
    /// Declared projects that exist, by slug. A declared project absent here does not exist.
    pub projects: BTreeMap<ProjectSlug, LiveProject>,
}

/// A project as observed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LiveProject {
    /// Project id.
    pub id: String,
    /// Display name.
    pub name: String,
    /// Description as stored (the ownership marker line included, when present).
    pub description: Option<String>,
    /// Environments by slug.
    pub environments: BTreeMap<EnvironmentSlug, LiveEnvironment>,
    /// Tag ids by slug, as far as they were seen (on secrets); not necessarily every tag.
    pub tags: BTreeMap<TagSlug, String>,
}

impl LiveProject {
    /// Whether the project carries the ownership marker in its description.
    pub fn is_marked(&self) -> bool {
        ownership::description_is_marked(self.description.as_deref())
    }

    /// The description without the marker line: what the repository's `description` is
    /// compared with.
    pub fn user_description(&self) -> Option<String> {
        ownership::strip_description_marker(self.description.as_deref())
    }
}

/// An environment as observed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LiveEnvironment {
    /// Environment id.
    pub id: String,
    /// Display name.
    pub name: String,
    /// Position, when the server reported it.
    pub position: Option<u32>,
    /// Whether folders and secrets were read (only declared environments are listed).
    pub observed: bool,
    /// Folders by path (the root excluded).
    pub folders: BTreeMap<FolderPath, LiveFolder>,
    /// Secrets by folder path and key.
    pub secrets: BTreeMap<(FolderPath, SecretKey), LiveSecret>,
    /// Secret imports by importing folder (the root included), in position order. Only the
    /// folders whose imports the repository manages are read; a folder absent here was not read
    /// or does not exist.
    pub imports: BTreeMap<FolderPath, Vec<LiveImport>>,
}

/// A secret import as observed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LiveImport {
    /// Import id.
    pub id: String,
    /// The imported folder (environment and path, same project); `None` when this tool cannot
    /// address it.
    pub source: Option<(EnvironmentSlug, FolderPath)>,
    /// Position (1-based).
    pub position: u32,
    /// A replication import or its reserved entry: never matched, moved or deleted.
    pub replication: bool,
}

impl LiveImport {
    /// The imported folder of an ordinary import this tool may match, move or delete.
    pub fn manageable_source(&self) -> Option<&(EnvironmentSlug, FolderPath)> {
        self.source.as_ref().filter(|_| !self.replication)
    }
}

/// A folder as observed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LiveFolder {
    /// Folder id.
    pub id: String,
    /// Description as stored (the ownership marker line included, when present).
    pub description: Option<String>,
}

impl LiveFolder {
    /// Whether the folder was created by infisical-gitops (marker line in its description).
    pub fn is_marked(&self) -> bool {
        ownership::description_is_marked(self.description.as_deref())
    }
}

/// A secret as observed: the raw, unexpanded value.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LiveSecret {
    /// Secret id.
    pub id: String,
    /// Raw value; `None` when the server hides it from this identity.
    pub value: Option<SecretValue>,
    /// Comment (`""` when none).
    pub comment: String,
    /// Tag slugs.
    pub tags: BTreeSet<TagSlug>,
    /// Metadata, the ownership marker included when present.
    pub metadata: BTreeMap<String, String>,
    /// Version (server-set; never compared, only fingerprinted).
    pub version: u64,
}

impl LiveSecret {
    /// Whether the secret carries the ownership marker.
    pub fn is_marked(&self) -> bool {
        ownership::metadata_is_marked(&self.metadata)
    }

    /// Metadata without the marker and the source records (see [`ownership::user_metadata`]):
    /// what the repository's `metadata` is compared with.
    pub fn user_metadata(&self) -> BTreeMap<String, String> {
        ownership::user_metadata(&self.metadata)
    }
}

impl LiveState {
    /// Number of secrets over all projects and environments.
    pub fn secret_count(&self) -> usize {
        self.projects
            .values()
            .flat_map(|p| p.environments.values())
            .map(|e| e.secrets.len())
            .sum()
    }
}
