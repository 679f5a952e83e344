//! [`ResolvedState`]: the desired state plus, per secret, where its value stands after
//! resolution. Built by `resolve::resolve_state`; read by the planner and the applier.

use std::collections::BTreeMap;

use crate::model::{Address, DesiredState, GenerateRule, SecretValue};

/// The desired state with every secret's value resolved (or explained).
#[derive(Debug, Clone, Default)]
pub struct ResolvedState {
    /// What the repository declares.
    pub desired: DesiredState,
    /// One entry per declared secret address.
    pub values: BTreeMap<Address, Resolution>,
    /// `false` when the source could only partly be read (a file failed to load, a listing
    /// failed): a plan from it refuses deletions unless forced.
    pub source_complete: bool,
}

impl ResolvedState {
    /// A resolved state from a complete source.
    pub fn new(desired: DesiredState, values: BTreeMap<Address, Resolution>) -> Self {
        Self {
            desired,
            values,
            source_complete: true,
        }
    }

    /// The resolution of one secret (an unresolved placeholder when missing).
    pub fn resolution(&self, address: &Address) -> Option<&Resolution> {
        self.values.get(address)
    }

    /// Number of secrets that could not be resolved.
    pub fn unresolved_count(&self) -> usize {
        self.values
            .values()
            .filter(|r| matches!(r, Resolution::Unresolved(_)))
            .count()
    }
}

/// Where one secret's value stands.
#[derive(Debug, Clone)]
pub enum Resolution {
    /// The value is known.
    Value {
        /// The value (never printed).
        value: SecretValue,
        /// Whether it is the real value or the `--dev` placeholder.
        provenance: Provenance,
    },
    /// A generated secret: the value is made at apply time, only when the secret is missing.
    Generate(GenerateRule),
    /// The value could not be resolved; the secret is shown as unresolved and never written.
    Unresolved(Unresolved),
}

/// Where a known value came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Provenance {
    /// From its declared source.
    Source,
    /// A deterministic stand-in derived from a Bitwarden reference (`--dev` only).
    DevPlaceholder,
}

/// Why a value is missing. Never contains a value.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct Unresolved {
    /// A stable kebab-case code (`not-found`, `unavailable`, `not-configured`, …).
    pub code: String,
    /// A lowercase message naming the source, never a value.
    pub message: String,
    /// When the whole backend failed (a locked vault, `bw serve` unreachable, no access
    /// token): that shared reason with its fix, the same text for every secret it stops, so
    /// that renderers show it once. `message` then names only the reference and where it is
    /// declared.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cause: Option<String>,
}
