//! The ownership marker: how infisical-gitops recognises, in Infisical, what it manages.
//!
//! | object | marker | written when |
//! |---|---|---|
//! | secret | metadata `managed-by: infisical-gitops` | created or adopted |
//! | secret source | metadata `infisical-gitops/generate: <rule>` or `infisical-gitops/literal: true` | every write of the secret |
//! | project | a last description line `managed-by: infisical-gitops` | created or adopted |
//! | folder | a last description line `managed-by: infisical-gitops` | created (Infisical's folder routes used here cannot edit a description later) |
//! | environment | none (environments have no free-text field) | owned through its project |
//!
//! People in the Infisical UI see the marker in the secret's metadata and in project and folder
//! descriptions. The planner compares the repository's metadata and descriptions with the live
//! ones *without* the marker, so the marker never shows up as drift.
//!
//! What the marker allows: only marked objects are updated or deleted; an unmarked object with
//! a declared name is taken over only when the project's adoption policy says so. Projects and
//! environments are never deleted (removing one from the repository leaves it alone); secrets and
//! marked folders are deleted only by prune.

use std::collections::BTreeMap;

pub use crate::model::ownership::{
    GENERATE_KEY, LITERAL_KEY, LITERAL_VALUE, MARKER_KEY, MARKER_LINE, MARKER_VALUE,
    RESERVED_PREFIX, generate_record, is_reserved_key, marked_description, parse_generate_record,
    source_record, stored_metadata, user_metadata, with_marker,
};

/// Whether metadata carries the marker.
pub fn metadata_is_marked(metadata: &BTreeMap<String, String>) -> bool {
    metadata.get(MARKER_KEY).map(String::as_str) == Some(MARKER_VALUE)
}

/// Whether a description ends with the marker line.
pub fn description_is_marked(description: Option<&str>) -> bool {
    description
        .and_then(|d| d.trim_end().lines().last())
        .is_some_and(|line| line.trim() == MARKER_LINE)
}

/// The description without a trailing marker line (and the blank line before it); `None` when
/// nothing else is left.
pub fn strip_description_marker(description: Option<&str>) -> Option<String> {
    let description = description?;
    let trimmed = description.trim_end();
    let rest = if description_is_marked(Some(trimmed)) {
        let cut = trimmed.rfind(MARKER_LINE).unwrap_or(trimmed.len());
        trimmed[..cut].trim_end()
    } else {
        trimmed
    };
    if rest.is_empty() {
        None
    } else {
        Some(rest.to_string())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn description_marker_round_trips() {
        for declared in [
            None,
            Some("Databases for the k3s cluster"),
            Some("two\nlines"),
        ] {
            let stored = marked_description(declared);
            assert!(description_is_marked(Some(&stored)));
            assert_eq!(strip_description_marker(Some(&stored)).as_deref(), declared);
        }
        assert!(!description_is_marked(Some("hand made")));
        assert!(!description_is_marked(None));
        assert_eq!(
            strip_description_marker(Some("hand made")).as_deref(),
            Some("hand made")
        );
    }

    #[test]
    fn metadata_marker() {
        let marked = with_marker(&BTreeMap::new());
        assert!(metadata_is_marked(&marked));
        assert!(!metadata_is_marked(&BTreeMap::new()));
    }
}
