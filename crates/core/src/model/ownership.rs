//! The text of the ownership marker, as the applier writes it into Infisical. It lives in the
//! model because validation checks Infisical's length limits against what is *stored*, marker
//! included; [`crate::plan::ownership`] re-exports it and says how the planner reads it back.

use std::collections::BTreeMap;

use super::document::{BackupTarget, Charset};
use super::{GenerateRule, SecretSource};

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

/// Prefix of the metadata keys infisical-gitops owns besides the marker: the source records.
/// A repository cannot declare them (`validate` refuses), and the planner never compares them.
pub const RESERVED_PREFIX: &str = "infisical-gitops/";
/// Metadata key recording a generated secret's rule, e.g. `hex:64` (never the value).
pub const GENERATE_KEY: &str = "infisical-gitops/generate";
/// Metadata key marking a non-sensitive literal written from the repository (`true`).
pub const LITERAL_KEY: &str = "infisical-gitops/literal";
/// The value of [`LITERAL_KEY`].
pub const LITERAL_VALUE: &str = "true";

/// Whether a metadata key is owned by infisical-gitops (the marker or a source record).
pub fn is_reserved_key(key: &str) -> bool {
    key == MARKER_KEY || key.starts_with(RESERVED_PREFIX)
}

/// Metadata without what infisical-gitops owns (the marker and the source records): what the
/// repository's `metadata` is compared with.
pub fn user_metadata(metadata: &BTreeMap<String, String>) -> BTreeMap<String, String> {
    metadata
        .iter()
        .filter(|(key, _)| !is_reserved_key(key))
        .map(|(key, value)| (key.clone(), value.clone()))
        .collect()
}

/// The source record of a secret: `infisical-gitops/generate: <rule>` for a generated secret,
/// `infisical-gitops/literal: true` for a literal, nothing for a Bitwarden source.
pub fn source_record(source: &SecretSource) -> BTreeMap<String, String> {
    match source {
        SecretSource::Generate(rule) => {
            BTreeMap::from([(GENERATE_KEY.to_string(), generate_record(rule))])
        }
        SecretSource::Literal(_) => {
            BTreeMap::from([(LITERAL_KEY.to_string(), LITERAL_VALUE.to_string())])
        }
        SecretSource::Bitwarden(_) | SecretSource::BitwardenSecretsManager { .. } => {
            BTreeMap::new()
        }
    }
}

/// What the applier stores as a secret's metadata: the declared pairs (minus anything under
/// the reserved keys), the marker, and the source record of `source` (when known).
pub fn stored_metadata(
    declared: &BTreeMap<String, String>,
    source: Option<&SecretSource>,
) -> BTreeMap<String, String> {
    let mut out = with_marker(&user_metadata(declared));
    if let Some(source) = source {
        out.extend(source_record(source));
    }
    out
}

/// The canonical spelling of a generate rule: `<charset>:<length>`, and
/// `,backup-to=bitwarden` when it has a backup, e.g. `hex:64`, `symbols:40,backup-to=bitwarden`.
pub fn generate_record(rule: &GenerateRule) -> String {
    let mut out = format!("{}:{}", charset_name(rule.charset), rule.length);
    if rule.backup_to == Some(BackupTarget::Bitwarden) {
        out.push_str(",backup-to=bitwarden");
    }
    out
}

/// Parses [`generate_record`]'s spelling; `None` for anything else (a length outside
/// 8..=4096 included).
pub fn parse_generate_record(text: &str) -> Option<GenerateRule> {
    let (rule, backup_to) = match text.split_once(',') {
        Some((rule, "backup-to=bitwarden")) => (rule, Some(BackupTarget::Bitwarden)),
        Some(_) => return None,
        None => (text, None),
    };
    let (charset, length) = rule.split_once(':')?;
    let charset = [
        Charset::Alphanumeric,
        Charset::Hex,
        Charset::Base64,
        Charset::Base64url,
        Charset::Symbols,
    ]
    .into_iter()
    .find(|c| charset_name(*c) == charset)?;
    if length.starts_with('0') || !length.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    let length: u32 = length.parse().ok()?;
    (GenerateRule::MIN_LENGTH..=GenerateRule::MAX_LENGTH)
        .contains(&length)
        .then_some(GenerateRule {
            length,
            charset,
            backup_to,
        })
}

/// The YAML spelling of a charset.
pub fn charset_name(charset: Charset) -> &'static str {
    match charset {
        Charset::Alphanumeric => "alphanumeric",
        Charset::Hex => "hex",
        Charset::Base64 => "base64",
        Charset::Base64url => "base64url",
        Charset::Symbols => "symbols",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn generate_records_round_trip_and_refuse_the_rest() {
        for charset in [
            Charset::Alphanumeric,
            Charset::Hex,
            Charset::Base64,
            Charset::Base64url,
            Charset::Symbols,
        ] {
            for backup_to in [None, Some(BackupTarget::Bitwarden)] {
                for length in [GenerateRule::MIN_LENGTH, 64, GenerateRule::MAX_LENGTH] {
                    let rule = GenerateRule {
                        length,
                        charset,
                        backup_to,
                    };
                    let record = generate_record(&rule);
                    assert_eq!(parse_generate_record(&record), Some(rule), "{record}");
                    assert!(record.len() <= 40, "{record}");
                    // Within Infisical's metadata limits (keys 255, values 1,020 characters).
                    assert!(record.len() <= crate::model::limits::METADATA_VALUE);
                }
            }
        }
        for key in [GENERATE_KEY, LITERAL_KEY] {
            assert!(key.len() <= crate::model::limits::METADATA_KEY);
        }
        assert_eq!(
            generate_record(&GenerateRule {
                length: 64,
                charset: Charset::Hex,
                backup_to: None
            }),
            "hex:64"
        );
        for bad in [
            "",
            "hex",
            "hex:",
            "hex:7",
            "hex:4097",
            "hex:064",
            "hex:+64",
            "Hex:64",
            "hex:64,",
            "hex:64,backup-to=vault",
            "hex: 64",
            "emoji:64",
        ] {
            assert_eq!(parse_generate_record(bad), None, "{bad}");
        }
    }

    #[test]
    fn stored_metadata_replaces_reserved_keys() {
        let declared = BTreeMap::from([
            ("owner".to_string(), "team".to_string()),
            (LITERAL_KEY.to_string(), "true".to_string()),
            (MARKER_KEY.to_string(), "someone-else".to_string()),
        ]);
        let bitwarden = SecretSource::Literal("x".into());
        let stored = stored_metadata(&declared, Some(&bitwarden));
        assert_eq!(
            stored.get(MARKER_KEY).map(String::as_str),
            Some(MARKER_VALUE)
        );
        assert_eq!(stored.get(LITERAL_KEY).map(String::as_str), Some("true"));
        let rule = GenerateRule {
            length: 32,
            charset: Charset::Base64url,
            backup_to: None,
        };
        let stored = stored_metadata(&declared, Some(&SecretSource::Generate(rule)));
        assert_eq!(stored.get(LITERAL_KEY), None, "a stale record is dropped");
        assert_eq!(
            stored.get(GENERATE_KEY).map(String::as_str),
            Some("base64url:32")
        );
        assert_eq!(
            user_metadata(&stored),
            BTreeMap::from([("owner".to_string(), "team".to_string())])
        );
    }
}
