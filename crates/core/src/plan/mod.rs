//! PURE: desired (resolved) state × live state → [`Plan`]; ordering; rendering.
//!
//! - [`live`]: [`LiveState`], the observed Infisical keyed like the desired state;
//! - [`resolved`]: [`ResolvedState`], the desired state with each secret's value resolved;
//! - [`ownership`]: the marker that says what infisical-gitops manages;
//! - [`diff`]: the planner, [`plan`];
//! - [`fingerprint`]: a digest of what was observed (ids and versions, never values), so that
//!   a saved plan is refused once Infisical has changed;
//! - [`simulate`]: a pure model of applying a plan to a live state (for tests and properties);
//! - [`render`]: text (Terraform-like), JSON (versioned schema) and Markdown.
//!
//! The plan is a value: it names every change with its address, action, reason and the
//! non-sensitive fields that change. It never holds a secret value, a digest of one, or anything
//! derived from one; a value change is only "sensitive value changed", except for a
//! `sensitive: false` literal, which is configuration already in Git and is shown. The applier executes
//! exactly the plan and takes the values from the [`ResolvedState`] at apply time.

pub mod diff;
pub mod fingerprint;
pub mod live;
pub mod ownership;
pub mod render;
pub mod resolved;
#[cfg(any(test, feature = "testing"))]
pub mod simulate;
#[cfg(any(test, feature = "testing"))]
pub mod testing;

use std::collections::{BTreeMap, BTreeSet};

use serde::{Deserialize, Serialize};

use crate::model::document::Charset;
use crate::model::{Address, TagSlug};

pub use diff::plan;
pub use live::{LiveEnvironment, LiveFolder, LiveImport, LiveProject, LiveSecret, LiveState};
pub use resolved::{Provenance, Resolution, ResolvedState, Unresolved};

/// Options that apply to the whole run (per-project policy comes from the repository).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct PlanPolicy {
    /// `--force-deletions`: allow deletions above `maxDeletions`, and deletions from an empty
    /// or partly unreadable source.
    pub force_deletions: bool,
    /// Whether generated values with `backupTo: bitwarden` can be backed up (a writable
    /// `bw serve` is configured). Without it, creating such a secret is a plan error
    /// (`backup-unavailable`): nothing is written from that plan.
    pub generated_backup: bool,
}

/// What to do to make Infisical match the repository. Sorted: creates and updates parents
/// first, then deletes children first.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Plan {
    /// The changes `apply` executes, in order.
    pub changes: Vec<Change>,
    /// Drift found in projects with `mode: detect`: reported, never applied.
    #[serde(default)]
    pub detected: Vec<Change>,
    /// Declared secrets whose value could not be resolved; they are not written.
    #[serde(default)]
    pub unresolved: Vec<UnresolvedSecret>,
    /// Problems that make the plan unsafe to apply (apply refuses a plan with errors).
    #[serde(default)]
    pub errors: Vec<PlanProblem>,
    /// Things worth knowing that do not block.
    #[serde(default)]
    pub warnings: Vec<PlanProblem>,
    /// Digest of the observed live state (ids, names and versions, never values).
    pub observed: String,
    /// Where the desired state came from (a directory, or a Git remote and revision), set by
    /// the reconciler; `apply PLANFILE` reads the source from here.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub source: Option<String>,
}

impl Plan {
    /// Whether there is nothing to apply.
    pub fn is_empty(&self) -> bool {
        self.changes.is_empty()
    }

    /// Whether `apply` may run it.
    pub fn is_applicable(&self) -> bool {
        self.errors.is_empty()
    }

    /// Whether there is anything to report: changes, detected drift, unresolved values or errors.
    pub fn has_changes(&self) -> bool {
        !self.changes.is_empty() || !self.detected.is_empty()
    }

    /// Whether some declared secrets could not be resolved (and are not written).
    pub fn has_unresolved(&self) -> bool {
        !self.unresolved.is_empty()
    }

    /// Counts of creates, updates and deletes among `changes`, and of unresolved secrets.
    pub fn summary(&self) -> Summary {
        Summary {
            unresolved: self.unresolved.len(),
            ..Summary::of(&self.changes)
        }
    }

    /// `21 secrets not resolved, not written`, when any secret is unresolved.
    pub fn unresolved_headline(&self) -> Option<String> {
        self.has_unresolved()
            .then(|| not_resolved_headline(self.unresolved.len()))
    }

    /// The closing line: `Plan: N to add, N to change, N to destroy.`, `No changes to apply.`
    /// or `No changes. Infisical matches the repository.` (only when nothing is unresolved,
    /// detected or wrong), after the [`Self::unresolved_headline`] when there is one:
    /// `21 secrets not resolved, not written. No changes to apply.`
    pub fn verdict(&self) -> String {
        let rest = if !self.changes.is_empty() {
            let summary = self.summary();
            format!(
                "Plan: {} to add, {} to change, {} to destroy.",
                summary.add, summary.change, summary.destroy
            )
        } else if self.detected.is_empty() && self.errors.is_empty() && !self.has_unresolved() {
            "No changes. Infisical matches the repository.".to_string()
        } else {
            "No changes to apply.".to_string()
        };
        match self.unresolved_headline() {
            Some(headline) => format!("{headline}. {rest}"),
            None => rest,
        }
    }

    /// The unresolved secrets, grouped: those stopped by one backend-wide cause (a locked
    /// vault) share a group, in the order of their first secret; each other secret is a group
    /// of its own.
    pub fn unresolved_groups(&self) -> Vec<UnresolvedGroup<'_>> {
        let mut groups: Vec<UnresolvedGroup<'_>> = Vec::new();
        for secret in &self.unresolved {
            let shared = secret.reason.cause.as_deref().and_then(|cause| {
                groups
                    .iter_mut()
                    .find(|g| g.cause == Some(cause) && g.code == secret.reason.code.as_str())
            });
            match shared {
                Some(group) => group.secrets.push(secret),
                None => groups.push(UnresolvedGroup {
                    code: &secret.reason.code,
                    cause: secret.reason.cause.as_deref(),
                    secrets: vec![secret],
                }),
            }
        }
        groups
    }
}

/// `1 secret not resolved, not written`, `21 secrets not resolved, not written`.
pub fn not_resolved_headline(count: usize) -> String {
    let noun = if count == 1 { "secret" } else { "secrets" };
    format!("{count} {noun} not resolved, not written")
}

/// Unresolved secrets that are shown together: one backend-wide cause and every secret it
/// stopped, or one secret with its own reason (`cause` is `None`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UnresolvedGroup<'a> {
    /// The code the secrets share.
    pub code: &'a str,
    /// The shared cause with its fix, when the whole backend failed.
    pub cause: Option<&'a str>,
    /// The secrets, in address order.
    pub secrets: Vec<&'a UnresolvedSecret>,
}

/// `Plan: N to add, N to change, N to destroy.`
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Summary {
    /// Creates.
    pub add: usize,
    /// Updates.
    pub change: usize,
    /// Deletes.
    pub destroy: usize,
    /// Declared secrets whose value could not be resolved (not written).
    #[serde(default)]
    pub unresolved: usize,
}

impl Summary {
    /// Counts the actions of `changes`.
    pub fn of(changes: &[Change]) -> Self {
        let mut summary = Summary::default();
        for change in changes {
            match change.action {
                Action::Create => summary.add += 1,
                Action::Update => summary.change += 1,
                Action::Delete => summary.destroy += 1,
            }
        }
        summary
    }
}

/// One change to one object.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Change {
    /// The object.
    pub address: Address,
    /// What happens to it.
    pub action: Action,
    /// Why (explains; never read by the applier).
    pub reason: Reason,
    /// The fields that are written. On create: every field. On update: the fields that differ,
    /// plus on adoption the full metadata/description (shown only when they differ).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub fields: Vec<FieldChange>,
}

impl Change {
    /// The fields that actually differ (what renderers show).
    pub fn visible_fields(&self) -> impl Iterator<Item = &FieldChange> {
        self.fields.iter().filter(|f| !f.is_noop())
    }

    /// The field of a kind, if present.
    pub fn field(&self, name: FieldName) -> Option<&FieldChange> {
        self.fields.iter().find(|f| f.name() == name)
    }

    /// The name a create or rename sets (projects, environments).
    pub fn name_after(&self) -> Option<String> {
        match self.field(FieldName::Name)? {
            FieldChange::Name { after, .. } => Some(after.clone()),
            _ => None,
        }
    }

    /// The description a create or update sets: `Some(None)` clears it.
    pub fn description_after(&self) -> Option<Option<String>> {
        match self.field(FieldName::Description)? {
            FieldChange::Description { after, .. } => Some(after.clone()),
            _ => None,
        }
    }

    /// The position a create or move sets (environments, imports).
    pub fn position_after(&self) -> Option<u32> {
        match self.field(FieldName::Position)? {
            FieldChange::Position { after, .. } => Some(*after),
            _ => None,
        }
    }
}

/// What happens to an object.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Action {
    /// `+`
    Create,
    /// `~`
    Update,
    /// `-`
    Delete,
}

impl Action {
    /// The Terraform-style symbol.
    pub fn symbol(self) -> char {
        match self {
            Action::Create => '+',
            Action::Update => '~',
            Action::Delete => '-',
        }
    }
}

/// Why a change is planned.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Reason {
    /// Declared, absent in Infisical.
    Missing,
    /// Managed, and Infisical differs from the repository (changed outside Git, or changed in Git).
    Drifted,
    /// Managed, no longer declared, and the project prunes.
    NotInSource,
    /// Exists without the marker; the adoption policy takes it over.
    Adopted,
}

impl Reason {
    /// A short phrase for renderers.
    pub fn describe(self) -> &'static str {
        match self {
            Reason::Missing => "missing in Infisical",
            Reason::Drifted => "differs from the repository",
            Reason::NotInSource => "no longer in the repository; the project prunes",
            Reason::Adopted => "exists without the ownership marker; adopted",
        }
    }
}

/// Field names, for lookups.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FieldName {
    /// Display name.
    Name,
    /// Description.
    Description,
    /// Environment position.
    Position,
    /// Secret value.
    Value,
    /// Secret comment.
    Comment,
    /// Secret tags.
    Tags,
    /// Secret metadata.
    Metadata,
    /// Ownership marker.
    Marker,
}

/// One field of a change. `before` is `None` on create. Values never appear: a value change
/// says only how the new value comes to be.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "field", rename_all = "camelCase")]
pub enum FieldChange {
    /// Display name of a project or environment.
    Name {
        /// Live.
        before: Option<String>,
        /// Desired.
        after: String,
    },
    /// Description of a project or folder, without the marker line.
    Description {
        /// Live.
        before: Option<String>,
        /// Desired.
        after: Option<String>,
    },
    /// Position of an environment.
    Position {
        /// Live.
        before: Option<u32>,
        /// Desired.
        after: u32,
    },
    /// A secret's value.
    Value {
        /// How the new value comes to be.
        change: ValueChange,
    },
    /// A secret's comment.
    Comment {
        /// Live.
        before: Option<String>,
        /// Desired.
        after: String,
    },
    /// A secret's tags.
    Tags {
        /// Live.
        before: Option<BTreeSet<TagSlug>>,
        /// Desired.
        after: BTreeSet<TagSlug>,
    },
    /// A secret's metadata, without the marker.
    Metadata {
        /// Live.
        before: Option<BTreeMap<String, String>>,
        /// Desired.
        after: BTreeMap<String, String>,
    },
    /// The ownership marker (metadata `managed-by: infisical-gitops`, or a description line).
    Marker {
        /// Live.
        before: bool,
        /// Desired (always `true`).
        after: bool,
    },
}

impl FieldChange {
    /// The field's name.
    pub fn name(&self) -> FieldName {
        match self {
            FieldChange::Name { .. } => FieldName::Name,
            FieldChange::Description { .. } => FieldName::Description,
            FieldChange::Position { .. } => FieldName::Position,
            FieldChange::Value { .. } => FieldName::Value,
            FieldChange::Comment { .. } => FieldName::Comment,
            FieldChange::Tags { .. } => FieldName::Tags,
            FieldChange::Metadata { .. } => FieldName::Metadata,
            FieldChange::Marker { .. } => FieldName::Marker,
        }
    }

    /// Whether the field is carried for the applier but does not change.
    pub fn is_noop(&self) -> bool {
        match self {
            FieldChange::Name { before, after } => before.as_ref() == Some(after),
            FieldChange::Description { before, after } => before == after,
            FieldChange::Position { before, after } => before == &Some(*after),
            FieldChange::Value { .. } => false,
            FieldChange::Comment { before, after } => before.as_ref() == Some(after),
            FieldChange::Tags { before, after } => before.as_ref() == Some(after),
            FieldChange::Metadata { before, after } => before.as_ref() == Some(after),
            FieldChange::Marker { before, after } => before == after,
        }
    }
}

/// How a secret's new value comes to be. Never a sensitive value: only a `sensitive: false`
/// literal, which is configuration already written in Git, is carried (and shown).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "kebab-case")]
pub enum ValueChange {
    /// A non-sensitive literal (`value:` with `sensitive: false`): the new value, shown as is.
    /// The current value in Infisical is never shown (it may have been set to anything).
    Literal {
        /// The literal from the repository.
        value: String,
    },
    /// Resolved from its source; the value itself is sensitive and not shown.
    Sensitive,
    /// Generated at apply time (the secret is missing; it is never regenerated later).
    Generated {
        /// Length.
        length: u32,
        /// Alphabet.
        charset: Charset,
    },
    /// A deterministic stand-in derived from a Bitwarden reference (`--dev` only).
    DevPlaceholder,
}

/// A declared secret whose value is unavailable.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct UnresolvedSecret {
    /// The secret.
    pub address: Address,
    /// Why.
    pub reason: Unresolved,
}

/// A plan error or warning.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct PlanProblem {
    /// A stable kebab-case code.
    pub code: String,
    /// The object concerned, when there is one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub address: Option<Address>,
    /// What is wrong, lowercase, naming the subject.
    pub message: String,
    /// How to resolve it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub help: Option<String>,
}

impl PlanProblem {
    pub(crate) fn new(code: &str, address: Option<Address>, message: impl Into<String>) -> Self {
        Self {
            code: code.to_string(),
            address,
            message: message.into(),
            help: None,
        }
    }

    pub(crate) fn with_help(mut self, help: impl Into<String>) -> Self {
        self.help = Some(help.into());
        self
    }
}
