//! Secret values: unprintable by type.
//!
//! A [`SecretValue`] never shows its content through `Debug`, `Display` or `Serialize`; the only
//! way to read it is [`SecretValue::expose`], which callers use exactly where the value leaves
//! the process (the Infisical write body). Comparison goes through [`SecretValue::matches`], which
//! applies Infisical's own trimming first so that a value with surrounding whitespace does not
//! show as perpetual drift.

use std::fmt;

use secrecy::{ExposeSecret, SecretString};

/// A secret value, zeroized on drop, redacted everywhere.
#[derive(Clone)]
pub struct SecretValue(SecretString);

impl SecretValue {
    /// Wraps a value.
    pub fn new(value: impl Into<String>) -> Self {
        Self(SecretString::from(value.into()))
    }

    /// The value as it will be sent to Infisical. Call this only where the value leaves the
    /// process.
    pub fn expose(&self) -> &str {
        self.0.expose_secret()
    }

    /// The value after Infisical's server-side normalisation: surrounding whitespace trimmed,
    /// and exactly one trailing `\n` kept when the original ended in a newline.
    pub fn normalized(&self) -> String {
        normalize_value(self.expose())
    }

    /// Whether this value, once Infisical has normalised it, equals `live` (the stored value).
    pub fn matches(&self, live: &SecretValue) -> bool {
        let ours = self.normalized();
        let theirs = live.expose();
        constant_time_eq(ours.as_bytes(), theirs.as_bytes())
    }

    /// Whether the value is empty after normalisation.
    pub fn is_empty(&self) -> bool {
        self.normalized().is_empty()
    }
}

/// Infisical's trim rule for secret values (create/update, `secretValue`): whitespace is trimmed;
/// if the original ends in `\n`, the trimmed value keeps exactly one trailing `\n`.
pub fn normalize_value(raw: &str) -> String {
    let trimmed = raw.trim();
    if raw.ends_with('\n') && !trimmed.is_empty() {
        format!("{trimmed}\n")
    } else {
        trimmed.to_string()
    }
}

fn constant_time_eq(a: &[u8], b: &[u8]) -> bool {
    if a.len() != b.len() {
        return false;
    }
    a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

impl fmt::Debug for SecretValue {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("SecretValue(<redacted>)")
    }
}

impl fmt::Display for SecretValue {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("<redacted>")
    }
}

impl PartialEq for SecretValue {
    fn eq(&self, other: &Self) -> bool {
        constant_time_eq(self.expose().as_bytes(), other.expose().as_bytes())
    }
}

impl Eq for SecretValue {}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn never_printed() {
        let value = SecretValue::new("hunter2-canary");
        assert!(!format!("{value:?}").contains("hunter2"));
        assert!(!format!("{value}").contains("hunter2"));
    }

    #[test]
    fn trims_like_the_server() {
        assert_eq!(normalize_value("  x  "), "x");
        assert_eq!(normalize_value("b\n\n"), "b\n");
        assert_eq!(normalize_value("\n"), "");
        assert!(SecretValue::new(" x ").matches(&SecretValue::new("x")));
        assert!(!SecretValue::new("x").matches(&SecretValue::new("y")));
    }
}
