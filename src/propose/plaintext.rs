//! The one plaintext guard: a request (an MCP tool's arguments, a proposal's JSON) that carries
//! a secret value under any argument name meaning "value" is refused before anything reads it.
//! The MCP server runs it on every tool call, the proposer on every request; both name the
//! argument, neither echoes the value.

use serde_json::Value;

/// Argument names that would carry a value, compared case-insensitively. Refused anywhere in
/// a request, except as keys of the free-form maps in [`FREE_FORM_MAPS`].
pub(crate) const PLAINTEXT_KEYS: &[&str] = &[
    "value",
    "values",
    "secretvalue",
    "secret_value",
    "plaintext",
    "plaintextvalue",
    "plaintext_value",
    "literal",
];

/// Objects whose keys are user data (Kubernetes labels, annotations, template outputs, secret
/// metadata), not argument names: their own keys are not checked (what is nested below them
/// is). A template's entries are checked by their own rule instead
/// ([`crate::model::template::check_template_entry`]).
pub(crate) const FREE_FORM_MAPS: &[&str] =
    &["labels", "annotations", "data", "metadata", "template"];

/// The refusal, also quoted in the docs.
pub(crate) const PLAINTEXT_REFUSED: &str = "values are never accepted: a secret's value must come from a Bitwarden \
     reference (`bitwarden: {item, field}` or `bitwardenSecretsManager: {secret}`) or from \
     `generate`, so that no plaintext value reaches Git, the merge request or this server's logs";

/// Whether an argument name carries a value.
pub(crate) fn is_plaintext_key(name: &str) -> bool {
    PLAINTEXT_KEYS.contains(&name.to_ascii_lowercase().as_str())
}

/// Where a plaintext value was found.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct PlaintextFound {
    /// The JSON pointer of the argument, e.g. `/edits/0/source/value`.
    pub pointer: String,
    /// The `key` of the nearest enclosing object that names one (the secret), or `?`.
    pub secret_key: String,
}

/// The first argument of `value` that carries a plaintext value, if any.
pub(crate) fn find_plaintext(value: &Value) -> Option<PlaintextFound> {
    fn walk(
        value: &Value,
        pointer: &str,
        secret_key: &str,
        free_form: bool,
    ) -> Option<PlaintextFound> {
        match value {
            Value::Object(map) => {
                let secret_key = map
                    .get("key")
                    .and_then(Value::as_str)
                    .filter(|_| !free_form)
                    .unwrap_or(secret_key);
                for (name, child) in map {
                    let path = format!("{pointer}/{}", name.replace('~', "~0").replace('/', "~1"));
                    if !free_form && is_plaintext_key(name) {
                        return Some(PlaintextFound {
                            pointer: path,
                            secret_key: secret_key.to_string(),
                        });
                    }
                    let child_free = !free_form && FREE_FORM_MAPS.contains(&name.as_str());
                    if let Some(found) = walk(child, &path, secret_key, child_free) {
                        return Some(found);
                    }
                }
                None
            }
            Value::Array(items) => items.iter().enumerate().find_map(|(index, item)| {
                walk(item, &format!("{pointer}/{index}"), secret_key, false)
            }),
            _ => None,
        }
    }
    walk(value, "", "?", false)
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    #[test]
    fn every_spelling_of_a_value_is_found_with_its_secret() {
        for name in [
            "value",
            "Value",
            "values",
            "secretValue",
            "secret_value",
            "plaintext",
            "plaintextValue",
            "literal",
        ] {
            let found = find_plaintext(&json!({"edits": [{"op": "create_secret", "key": "LEAK",
                "source": {name: "canary"}}]}))
            .expect("found");
            assert_eq!(found.pointer, format!("/edits/0/source/{name}"));
            assert_eq!(found.secret_key, "LEAK");
        }
    }

    #[test]
    fn keys_of_free_form_maps_are_data_but_what_is_below_them_is_checked() {
        assert_eq!(
            find_plaintext(&json!({"template": {"value": "{{ .A.Value }}"},
                "labels": {"literal": "x"}, "metadata": {"values": "y"}})),
            None
        );
        let found = find_plaintext(&json!({"labels": {"app": {"value": "x"}}})).expect("found");
        assert_eq!(found.pointer, "/labels/app/value");
        assert_eq!(find_plaintext(&json!({"key": "VALUE"})), None);
    }
}
