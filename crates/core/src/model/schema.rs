//! JSON Schema of every document kind, generated from the document types.
//!
//! `schema/<kind>.json` describes one kind; `schema/all.json` accepts any kind (for files that
//! mix kinds). Editors pick them up through a modeline:
//! `# yaml-language-server: $schema=../schema/all.json`.

use schemars::{JsonSchema, SchemaGenerator};
use serde_json::{Map, Value, json};

use super::document::{
    API_VERSION, KubernetesDefaultsDocument, KubernetesSyncDocument, ProjectDocument,
    SecretSetDocument,
};

/// Base URI of the published schemas (used as `$id`).
pub const SCHEMA_BASE: &str = "https://infisical-gitops.io/schema/v1alpha1";

fn kind_schema<T: JsonSchema>(kind: &str) -> Value {
    let generator = SchemaGenerator::default();
    let schema = generator.into_root_schema_for::<T>();
    let mut value = schema.to_value();
    if let Some(object) = value.as_object_mut() {
        object.insert(
            "$id".to_string(),
            json!(format!("{SCHEMA_BASE}/{}.json", file_stem(kind))),
        );
        object.insert("title".to_string(), json!(kind));
        if let Some(Value::Object(properties)) = object.get_mut("properties") {
            let api = properties.entry("apiVersion").or_insert(json!({}));
            *api = json!({"const": API_VERSION, "description": "Always `infisical-gitops.io/v1alpha1`."});
            let kind_property = properties.entry("kind").or_insert(json!({}));
            *kind_property = json!({"const": kind});
        }
    }
    value
}

fn file_stem(kind: &str) -> String {
    let mut out = String::new();
    for (index, c) in kind.chars().enumerate() {
        if c.is_ascii_uppercase() {
            if index > 0 {
                out.push('-');
            }
            out.push(c.to_ascii_lowercase());
        } else {
            out.push(c);
        }
    }
    out
}

/// The schema files: `(file name, pretty JSON with a trailing newline)`, in a fixed order.
pub fn schema_files() -> Vec<(String, String)> {
    let kinds = [
        ("Project", kind_schema::<ProjectDocument>("Project")),
        ("SecretSet", kind_schema::<SecretSetDocument>("SecretSet")),
        (
            "KubernetesSync",
            kind_schema::<KubernetesSyncDocument>("KubernetesSync"),
        ),
        (
            "KubernetesDefaults",
            kind_schema::<KubernetesDefaultsDocument>("KubernetesDefaults"),
        ),
    ];
    let mut files = Vec::new();
    let mut definitions = Map::new();
    let mut one_of = Vec::new();
    for (kind, schema) in &kinds {
        let mut body = schema.clone();
        if let Some(object) = body.as_object_mut() {
            if let Some(Value::Object(defs)) = object.remove("$defs") {
                definitions.extend(defs);
            }
            object.remove("$schema");
            object.remove("$id");
        }
        definitions.insert((*kind).to_string(), body);
        one_of.push(json!({"$ref": format!("#/$defs/{kind}")}));
        files.push((format!("{}.json", file_stem(kind)), pretty(schema)));
    }
    let all = json!({
        "$schema": "https://json-schema.org/draft/2020-12/schema",
        "$id": format!("{SCHEMA_BASE}/all.json"),
        "title": "infisical-gitops document",
        "description": "Any infisical-gitops document; the `kind` selects the schema.",
        "oneOf": one_of,
        "$defs": definitions,
    });
    files.push(("all.json".to_string(), pretty(&all)));
    files
}

fn pretty(value: &Value) -> String {
    let mut out = serde_json::to_string_pretty(value).unwrap_or_default();
    out.push('\n');
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn file_stems() {
        assert_eq!(file_stem("KubernetesSync"), "kubernetes-sync");
        assert_eq!(file_stem("Project"), "project");
    }

    #[test]
    fn kinds_are_constants() {
        let files = schema_files();
        let project = &files[0].1;
        assert!(project.contains("\"const\": \"Project\""));
        assert!(project.contains(API_VERSION));
    }
}
