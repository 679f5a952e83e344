//! Length limits a real Infisical enforces on what infisical-gitops writes, checked by
//! `validate` so that nothing is sent that the server would refuse (reference §12, measured on a
//! running Infisical):
//!
//! | field | limit | what the server does beyond it |
//! |---|---|---|
//! | project description, as stored (ownership marker line included) | 1,024 | 422 `Description must be 1024 or fewer characters`; the project's other changes fail with it |
//! | folder description, as stored (ownership marker line included) | 255 | 500 "Something went wrong" (a 255-character database column) |
//! | secret metadata key | 255 | 422; the whole batch of secrets fails |
//! | secret metadata value | 1,020 | 422; the whole batch of secrets fails |
//!
//! Lengths are counted as Infisical's JavaScript counts them, in UTF-16 code units: a character
//! outside the Basic Multilingual Plane (most emoji) counts twice. For the database column,
//! which counts characters, that is the safe side.

use super::ownership::marked_description;

/// Longest project description Infisical stores.
pub const PROJECT_DESCRIPTION: usize = 1024;
/// Longest folder description Infisical stores.
pub const FOLDER_DESCRIPTION: usize = 255;
/// Longest secret metadata key.
pub const METADATA_KEY: usize = 255;
/// Longest secret metadata value.
pub const METADATA_VALUE: usize = 1020;

/// The length of `text` as Infisical counts it (UTF-16 code units).
pub fn infisical_length(text: &str) -> usize {
    text.encode_utf16().count()
}

/// The length of the description Infisical stores for a declared one: trimmed, then a blank
/// line and the ownership marker line.
pub fn stored_description_length(declared: Option<&str>) -> usize {
    infisical_length(&marked_description(declared))
}

/// What the marker adds to a non-empty description (a blank line and the marker line): 30.
pub fn marker_overhead() -> usize {
    infisical_length(&marked_description(Some("x"))) - 1
}

/// The longest declared description that fits in `limit` once marked.
pub fn longest_description(limit: usize) -> usize {
    limit.saturating_sub(marker_overhead())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_marker_adds_thirty_characters() {
        assert_eq!(marker_overhead(), 30);
        assert_eq!(longest_description(PROJECT_DESCRIPTION), 994);
        assert_eq!(longest_description(FOLDER_DESCRIPTION), 225);
        assert_eq!(stored_description_length(Some(&"d".repeat(994))), 1024);
        assert_eq!(stored_description_length(Some(&"d".repeat(995))), 1025);
        assert_eq!(
            stored_description_length(None),
            "managed-by: infisical-gitops".len()
        );
        assert_eq!(
            stored_description_length(Some("  padded  ")),
            6 + 30,
            "trimmed first"
        );
    }

    #[test]
    fn lengths_count_utf16_code_units() {
        assert_eq!(infisical_length("abc"), 3);
        assert_eq!(infisical_length("é"), 1);
        assert_eq!(infisical_length("🔑"), 2);
    }
}
