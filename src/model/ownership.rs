//! The text of the ownership marker, as the applier writes it into Infisical. It lives in the
//! model because validation checks Infisical's length limits against what is *stored*, marker
//! included; [`crate::plan::ownership`] re-exports it and says how the planner reads it back.

use std::collections::BTreeMap;

/// Metadata key of the marker.
pub const MARKER_KEY: &str = "managed-by";
/// Metadata value of the marker.
pub const MARKER_VALUE: &str = "infisical-gitops";
/// The description line that marks a project or folder.
pub const MARKER_LINE: &str = "managed-by: infisical-gitops";

/// `metadata` with the marker added (a declared `managed-by` is replaced).
pub fn with_marker(metadata: &BTreeMap<String, String>) -> BTreeMap<String, String> {
    let mut out = metadata.clone();
    out.insert(MARKER_KEY.to_string(), MARKER_VALUE.to_string());
    out
}

/// The description to store: the declared one followed by the marker line.
pub fn marked_description(description: Option<&str>) -> String {
    match description.map(str::trim).filter(|d| !d.is_empty()) {
        Some(d) => format!("{d}\n\n{MARKER_LINE}"),
        None => MARKER_LINE.to_string(),
    }
}
