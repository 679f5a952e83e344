//! Renderings of a [`Plan`](super::Plan): Terraform-like text, a versioned JSON document, and
//! Markdown for merge-request comments. None of them can show a sensitive value: the plan has
//! none (only `sensitive: false` literals, configuration already in Git, are shown).

pub mod json;
pub mod markdown;
pub mod text;

use super::{FieldChange, ValueChange};

/// Output formats of `plan`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Format {
    /// Human text (colours only when asked).
    #[default]
    Text,
    /// The JSON document (`formatVersion: 1`).
    Json,
    /// Markdown for merge-request comments.
    Markdown,
}

/// A field's label.
pub(crate) fn label(field: &FieldChange) -> &'static str {
    match field {
        FieldChange::Name { .. } => "name",
        FieldChange::Description { .. } => "description",
        FieldChange::Position { .. } => "position",
        FieldChange::Value { .. } => "value",
        FieldChange::Comment { .. } => "comment",
        FieldChange::Tags { .. } => "tags",
        FieldChange::Metadata { .. } => "metadata",
        FieldChange::Marker { .. } => "marker",
    }
}

/// The value side of a field, on create (`after` only) or update (`before -> after`).
pub(crate) fn describe_field(field: &FieldChange, create: bool) -> String {
    fn quoted(s: &str) -> String {
        format!("{s:?}")
    }
    fn optional(s: &Option<String>) -> String {
        s.as_deref().map_or_else(|| "null".to_string(), quoted)
    }
    fn both(before: String, after: String, create: bool) -> String {
        if create {
            after
        } else {
            format!("{before} -> {after}")
        }
    }
    match field {
        FieldChange::Name { before, after } => both(optional(before), quoted(after), create),
        FieldChange::Description { before, after } => {
            both(optional(before), optional(after), create)
        }
        FieldChange::Position { before, after } => both(
            before.map_or_else(|| "null".to_string(), |p| p.to_string()),
            after.to_string(),
            create,
        ),
        FieldChange::Value { change } => match (change, create) {
            (ValueChange::Literal { value }, true) => quoted(value),
            (ValueChange::Literal { value }, false) => {
                format!("(not shown) -> {}", quoted(value))
            }
            (ValueChange::Sensitive, true) => "(sensitive value)".to_string(),
            (ValueChange::Sensitive, false) => "(sensitive value changed)".to_string(),
            (ValueChange::Generated { length, charset }, _) => {
                let charset = serde_json::to_value(charset)
                    .ok()
                    .and_then(|v| v.as_str().map(str::to_string))
                    .unwrap_or_default();
                format!("(generated at apply time: {length} {charset})")
            }
            (ValueChange::DevPlaceholder, _) => {
                "(dev placeholder derived from the bitwarden reference, not the real value)"
                    .to_string()
            }
        },
        FieldChange::Comment { before, after } => both(optional(before), quoted(after), create),
        FieldChange::Tags { before, after } => {
            let list = |tags: &std::collections::BTreeSet<crate::model::TagSlug>| {
                let items: Vec<String> = tags.iter().map(|t| quoted(t.as_str())).collect();
                format!("[{}]", items.join(", "))
            };
            both(
                before.as_ref().map_or_else(|| "null".to_string(), list),
                list(after),
                create,
            )
        }
        FieldChange::Metadata { before, after } => {
            let map = |m: &std::collections::BTreeMap<String, String>| {
                let items: Vec<String> = m
                    .iter()
                    .map(|(k, v)| format!("{} = {}", quoted(k), quoted(v)))
                    .collect();
                format!("{{{}}}", items.join(", "))
            };
            both(
                before.as_ref().map_or_else(|| "null".to_string(), map),
                map(after),
                create,
            )
        }
        FieldChange::Marker { .. } => "managed-by: infisical-gitops".to_string(),
    }
}

/// Whether a field is shown for a create (fields with nothing to say are left out).
pub(crate) fn shown_on_create(field: &FieldChange) -> bool {
    match field {
        FieldChange::Description { after, .. } => after.is_some(),
        FieldChange::Comment { after, .. } => !after.is_empty(),
        FieldChange::Tags { after, .. } => !after.is_empty(),
        FieldChange::Metadata { after, .. } => !after.is_empty(),
        _ => true,
    }
}
