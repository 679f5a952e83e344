//! Request input read the way Infisical's zod schemas read it: every problem becomes one issue,
//! and all issues of a request are answered together as one 422.

use std::collections::HashMap;

use serde_json::{Map, Value};

use super::failure::{ApiFailure, issue};

/// Collects issues while fields are read; [`Issues::finish`] turns them into a 422.
#[derive(Debug, Default)]
pub(crate) struct Issues(Vec<Value>);

impl Issues {
    pub(crate) fn push(&mut self, issue: Value) {
        self.0.push(issue);
    }

    pub(crate) fn finish(self) -> Result<(), ApiFailure> {
        if self.0.is_empty() {
            Ok(())
        } else {
            Err(ApiFailure::validation(self.0))
        }
    }
}

/// A JSON object being read field by field; `path` prefixes every issue (e.g. `secrets.3`).
#[derive(Debug)]
pub(crate) struct Fields<'a> {
    object: Option<&'a Map<String, Value>>,
    path: Vec<Value>,
}

impl<'a> Fields<'a> {
    /// The request body; a body that is not an object is one issue.
    pub(crate) fn body(body: &'a Value, issues: &mut Issues) -> Self {
        Self::at(body, Vec::new(), issues)
    }

    /// A nested object at `path`.
    pub(crate) fn at(value: &'a Value, path: Vec<Value>, issues: &mut Issues) -> Self {
        match value {
            Value::Object(object) => Self {
                object: Some(object),
                path,
            },
            other => {
                let received = if other.is_null() { None } else { Some(other) };
                issues.push(issue::invalid_type(&path, "object", received));
                Self { object: None, path }
            }
        }
    }

    fn path_of(&self, name: &str) -> Vec<Value> {
        let mut path = self.path.clone();
        path.push(Value::String(name.to_owned()));
        path
    }

    fn get(&self, name: &str) -> Option<&'a Value> {
        self.object.and_then(|object| object.get(name))
    }

    /// A present field (JSON `null` counts as present).
    pub(crate) fn has(&self, name: &str) -> bool {
        self.get(name).is_some()
    }

    /// A required string, trimmed like zod's `.trim()`.
    pub(crate) fn required_str(&self, name: &str, issues: &mut Issues) -> String {
        if self.object.is_none() {
            return String::new();
        }
        match self.get(name) {
            Some(Value::String(text)) => text.trim().to_owned(),
            other => {
                issues.push(issue::invalid_type(&self.path_of(name), "string", other));
                String::new()
            }
        }
    }

    /// A required string, kept verbatim (secret values are trimmed by their own rule).
    pub(crate) fn required_raw_str(&self, name: &str, issues: &mut Issues) -> String {
        if self.object.is_none() {
            return String::new();
        }
        match self.get(name) {
            Some(Value::String(text)) => text.clone(),
            other => {
                issues.push(issue::invalid_type(&self.path_of(name), "string", other));
                String::new()
            }
        }
    }

    /// An optional string, verbatim; `null` counts as absent.
    pub(crate) fn optional_raw_str(&self, name: &str, issues: &mut Issues) -> Option<String> {
        match self.get(name) {
            None | Some(Value::Null) => None,
            Some(Value::String(text)) => Some(text.clone()),
            other => {
                issues.push(issue::invalid_type(&self.path_of(name), "string", other));
                None
            }
        }
    }

    /// An optional string, trimmed; `null` counts as absent.
    pub(crate) fn optional_str(&self, name: &str, issues: &mut Issues) -> Option<String> {
        self.optional_raw_str(name, issues)
            .map(|text| text.trim().to_owned())
    }

    /// An optional boolean; `null` counts as absent.
    pub(crate) fn optional_bool(&self, name: &str, issues: &mut Issues) -> Option<bool> {
        match self.get(name) {
            None | Some(Value::Null) => None,
            Some(Value::Bool(flag)) => Some(*flag),
            other => {
                issues.push(issue::invalid_type(&self.path_of(name), "boolean", other));
                None
            }
        }
    }

    /// An optional number; `null` counts as absent.
    pub(crate) fn optional_number(&self, name: &str, issues: &mut Issues) -> Option<f64> {
        match self.get(name) {
            None | Some(Value::Null) => None,
            Some(Value::Number(number)) => number.as_f64(),
            other => {
                issues.push(issue::invalid_type(&self.path_of(name), "number", other));
                None
            }
        }
    }

    /// An optional array of strings.
    pub(crate) fn optional_str_array(
        &self,
        name: &str,
        issues: &mut Issues,
    ) -> Option<Vec<String>> {
        match self.get(name) {
            None | Some(Value::Null) => None,
            Some(Value::Array(items)) => {
                let mut out = Vec::with_capacity(items.len());
                for (index, item) in items.iter().enumerate() {
                    match item {
                        Value::String(text) => out.push(text.trim().to_owned()),
                        other => {
                            let mut path = self.path_of(name);
                            path.push(Value::from(index));
                            issues.push(issue::invalid_type(&path, "string", Some(other)));
                        }
                    }
                }
                Some(out)
            }
            other => {
                issues.push(issue::invalid_type(&self.path_of(name), "array", other));
                None
            }
        }
    }

    /// A required array of objects with at least `minimum` items; each item is read by `read`.
    pub(crate) fn required_objects<T>(
        &self,
        name: &str,
        minimum: usize,
        issues: &mut Issues,
        mut read: impl FnMut(Fields<'a>, &mut Issues) -> T,
    ) -> Vec<T> {
        if self.object.is_none() {
            return Vec::new();
        }
        match self.get(name) {
            Some(Value::Array(items)) => {
                if items.len() < minimum {
                    issues.push(issue::too_few_items(&self.path_of(name), minimum));
                }
                items
                    .iter()
                    .enumerate()
                    .map(|(index, item)| {
                        let mut path = self.path_of(name);
                        path.push(Value::from(index));
                        let fields = Fields::at(item, path, issues);
                        read(fields, issues)
                    })
                    .collect()
            }
            other => {
                issues.push(issue::invalid_type(&self.path_of(name), "array", other));
                Vec::new()
            }
        }
    }

    /// `secretMetadata: [{key, value, isEncrypted?}]`.
    pub(crate) fn optional_metadata(
        &self,
        name: &str,
        issues: &mut Issues,
    ) -> Option<Vec<(String, String, bool)>> {
        if !matches!(self.get(name), Some(Value::Array(_))) {
            return match self.get(name) {
                None | Some(Value::Null) => None,
                other => {
                    issues.push(issue::invalid_type(&self.path_of(name), "array", other));
                    None
                }
            };
        }
        // Infisical trims both, and refuses a key over 255 or a value over 1,020 characters
        // (reference §12).
        Some(self.required_objects(name, 0, issues, |item, issues| {
            let key = item.required_str("key", issues);
            item.check_length("key", &key, 1, 255, issues);
            let value = item.optional_str("value", issues).unwrap_or_default();
            item.check_length("value", &value, 0, 1020, issues);
            let encrypted = item.optional_bool("isEncrypted", issues).unwrap_or(false);
            (key, value, encrypted)
        }))
    }

    /// Checks a string field's length against `[minimum, maximum]`.
    pub(crate) fn check_length(
        &self,
        name: &str,
        value: &str,
        minimum: usize,
        maximum: usize,
        issues: &mut Issues,
    ) {
        if !self.has(name) {
            return;
        }
        let length = value.chars().count();
        if length < minimum {
            issues.push(issue::too_small(&self.path_of(name), minimum));
        }
        if length > maximum {
            issues.push(issue::too_big(&self.path_of(name), maximum));
        }
    }

    /// Adds a custom issue for this field.
    pub(crate) fn custom(&self, name: &str, message: &str, issues: &mut Issues) {
        issues.push(issue::custom(&self.path_of(name), message));
    }

    /// An optional enumeration value.
    pub(crate) fn optional_enum(
        &self,
        name: &str,
        options: &[&str],
        issues: &mut Issues,
    ) -> Option<String> {
        let value = self.optional_str(name, issues)?;
        if options.contains(&value.as_str()) {
            Some(value)
        } else {
            issues.push(issue::invalid_enum(&self.path_of(name), options, &value));
            None
        }
    }
}

/// Query parameters of one request.
#[derive(Debug)]
pub(crate) struct Query<'a>(pub(crate) &'a HashMap<String, String>);

impl Query<'_> {
    /// A parameter, trimmed; empty counts as absent.
    pub(crate) fn str(&self, name: &str) -> Option<String> {
        self.0
            .get(name)
            .map(|value| value.trim().to_owned())
            .filter(|value| !value.is_empty())
    }

    /// A boolean parameter of the secret routes: literally `true` or `false`, else an issue.
    pub(crate) fn strict_bool(&self, name: &str, default: bool, issues: &mut Issues) -> bool {
        match self.0.get(name).map(String::as_str) {
            None => default,
            Some("true") => true,
            Some("false") => false,
            Some(other) => {
                issues.push(issue::invalid_enum(
                    &[Value::String(name.to_owned())],
                    &["true", "false"],
                    other,
                ));
                default
            }
        }
    }

    /// A boolean parameter read like Infisical's lenient `booleanSchema` (folder routes):
    /// anything but empty, `0` or `false` (any case) is true.
    pub(crate) fn lenient_bool(&self, name: &str, default: bool) -> bool {
        match self.0.get(name) {
            None => default,
            Some(value) => {
                let value = value.trim();
                !value.is_empty() && value != "0" && !value.eq_ignore_ascii_case("false")
            }
        }
    }
}
