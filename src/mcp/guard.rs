//! Checks on tool arguments before any tool runs: plaintext values are refused (with the one
//! guard shared with proposals, [`crate::propose::plaintext`]), paths in `validate_change` stay
//! inside the repository, and the audit log sees only the *shape* of the arguments, never their
//! content.

use serde_json::{Map, Value};

pub(crate) use crate::propose::plaintext::PLAINTEXT_REFUSED;

/// The JSON pointer of the first argument that carries a plaintext value, if any: the one
/// shared guard, [`crate::propose::plaintext::find_plaintext`].
pub(crate) fn find_plaintext(arguments: &Map<String, Value>) -> Option<String> {
    crate::propose::plaintext::find_plaintext(&Value::Object(arguments.clone()))
        .map(|found| found.pointer)
}

/// The shape of the arguments for the audit log: keys kept, every scalar replaced by its type,
/// arrays by their first element's shape and their length; under a [`PLAINTEXT_KEYS`] key,
/// only `redacted`. Never a value.
pub(crate) fn shape(arguments: &Map<String, Value>) -> String {
    fn of(value: &Value) -> Value {
        match value {
            Value::Null => Value::String("null".into()),
            Value::Bool(_) => Value::String("bool".into()),
            Value::Number(_) => Value::String("number".into()),
            Value::String(text) => Value::String(format!("string({})", text.len())),
            Value::Array(items) => match items.first() {
                None => Value::Array(Vec::new()),
                Some(first) => Value::Array(vec![
                    of(first),
                    Value::String(format!("len={}", items.len())),
                ]),
            },
            Value::Object(map) => Value::Object(
                map.iter()
                    .map(|(key, child)| {
                        let shown = if crate::propose::plaintext::is_plaintext_key(key) {
                            // A smuggled value: not even its length is logged.
                            Value::String("redacted".into())
                        } else {
                            of(child)
                        };
                        (sanitize_key(key), shown)
                    })
                    .collect(),
            ),
        }
    }
    of(&Value::Object(arguments.clone())).to_string()
}

/// Keys are logged, but an absurd key (someone pasting a value as a key) is cut short.
fn sanitize_key(key: &str) -> String {
    const MAX: usize = 40;
    if key.chars().count() <= MAX && key.chars().all(|c| c.is_ascii_graphic()) {
        key.to_string()
    } else {
        format!("<key of {} bytes>", key.len())
    }
}

/// Why a path given to `validate_change` was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub(crate) enum PathError {
    /// Empty.
    #[error("file path is empty")]
    Empty,
    /// Absolute (`/etc/passwd`, `C:\…`).
    #[error("file path `{0}` must be relative to the repository")]
    Absolute(String),
    /// Escapes with `..`, or uses `.`/empty components.
    #[error("file path `{0}` must not contain `..`, `.` or empty components")]
    Traversal(String),
    /// A hidden component such as `.git`.
    #[error("file path `{0}` must not name hidden files or directories")]
    Hidden(String),
    /// Not `.yaml`/`.yml`.
    #[error("file path `{0}` must end in .yaml or .yml")]
    NotYaml(String),
    /// Backslashes, control characters, or too long.
    #[error("file path `{0}` contains characters that are not allowed")]
    Characters(String),
}

/// Checks a repository-relative path: `/`-separated, relative, no `..`, `.`, empty or hidden
/// components, a `.yaml`/`.yml` file. Returns it normalised (no leading `./`).
pub(crate) fn check_relative_path(path: &str) -> Result<String, PathError> {
    let shown: String = path.chars().take(120).collect();
    if path.is_empty() {
        return Err(PathError::Empty);
    }
    if path.len() > 512 || path.contains('\\') || path.chars().any(char::is_control) {
        return Err(PathError::Characters(shown));
    }
    if path.starts_with('/') || path.chars().nth(1) == Some(':') {
        return Err(PathError::Absolute(shown));
    }
    let parts: Vec<&str> = path.split('/').collect();
    if parts
        .iter()
        .any(|p| p.is_empty() || *p == "." || *p == "..")
    {
        return Err(PathError::Traversal(shown));
    }
    if parts.iter().any(|p| p.starts_with('.')) {
        return Err(PathError::Hidden(shown));
    }
    if !(path.ends_with(".yaml") || path.ends_with(".yml")) {
        return Err(PathError::NotYaml(shown));
    }
    Ok(path.to_string())
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    fn object(value: Value) -> Map<String, Value> {
        match value {
            Value::Object(map) => map,
            _ => unreachable!(),
        }
    }

    #[test]
    fn plaintext_values_are_found_anywhere_but_in_free_form_maps() {
        let found = find_plaintext(&object(json!({
            "edits": [{"op": "create_secret", "source": {"value": "x"}}]
        })));
        assert_eq!(found.as_deref(), Some("/edits/0/source/value"));
        assert_eq!(
            find_plaintext(&object(json!({"secretValue": "x"}))).as_deref(),
            Some("/secretValue")
        );
        assert_eq!(
            find_plaintext(&object(json!({"target": {"labels": {"value": "x"}}}))),
            None
        );
        assert_eq!(find_plaintext(&object(json!({"key": "VALUE"}))), None);
    }

    #[test]
    fn the_shape_keeps_keys_and_types_only() {
        let shown = shape(&object(json!({
            "project": "canary-project",
            "environments": ["prod", "dev"],
            "generate": {"length": 32},
            "xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx": true,
        })));
        assert!(!shown.contains("canary"));
        assert!(!shown.contains("prod"));
        insta::assert_snapshot!(shown, @r#"{"<key of 48 bytes>":"bool","environments":["string(4)","len=2"],"generate":{"length":"number"},"project":"string(14)"}"#);
    }

    #[test]
    fn the_shape_of_a_smuggled_value_does_not_tell_its_length() {
        let shown = shape(&object(json!({
            "key": "API_TOKEN",
            "Value": "hunter2-canary",
            "source": {"plaintext": {"nested": "x"}},
        })));
        assert!(!shown.contains("canary"));
        insta::assert_snapshot!(shown, @r#"{"Value":"redacted","key":"string(9)","source":{"plaintext":"redacted"}}"#);
    }

    #[test]
    fn paths_stay_inside_the_repository() {
        assert_eq!(
            check_relative_path("secrets/app.yaml").as_deref(),
            Ok("secrets/app.yaml")
        );
        for bad in [
            "../outside.yaml",
            "secrets/../../x.yaml",
            "./a.yaml",
            "a//b.yaml",
            "/etc/passwd.yaml",
            "C:/x.yaml",
            ".git/config.yaml",
            "secrets/app.txt",
            "a\\..\\b.yaml",
            "",
        ] {
            assert!(check_relative_path(bad).is_err(), "{bad} accepted");
        }
    }
}
