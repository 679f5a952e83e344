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

    /// Whether Infisical would store an empty value (the value is empty after normalisation;
    /// a lone `\n` is not empty, see [`Self::is_blank`]).
    pub fn is_empty(&self) -> bool {
        self.normalized().is_empty()
    }

    /// Whether the value holds nothing but whitespace (or nothing at all): Infisical would
    /// store it as an empty value (or a lone `\n`). Such a value is never written: a source that
    /// yields one is unresolved, a literal that is one is refused by `validate`.
    pub fn is_blank(&self) -> bool {
        is_blank(self.expose())
    }
}

/// Infisical's trim rule for secret values (create and update, `secretValue`), from its backend:
/// `val.at(-1) === "\n" ? `${val.trim()}\n` : val.trim()`. Whitespace is trimmed at both ends
/// (JavaScript's `trim`, see [`trim_like_javascript`]); if the original ends in `\n`, one `\n`
/// is put back, even when nothing else is left (`"\n"` and `"  \n"` are stored as `"\n"`).
pub fn normalize_value(raw: &str) -> String {
    let trimmed = trim_like_javascript(raw);
    if raw.ends_with('\n') {
        format!("{trimmed}\n")
    } else {
        trimmed.to_string()
    }
}

/// Whether `raw` is empty or only whitespace (by JavaScript's `trim`).
pub fn is_blank(raw: &str) -> bool {
    trim_like_javascript(raw).is_empty()
}

/// JavaScript's `String.prototype.trim`: removes WhiteSpace (tab, vertical tab, form feed,
/// space, no-break space, the byte-order mark and every `Zs` space) and LineTerminator (line
/// feed, carriage return, line and paragraph separators) at both ends. It differs from Rust's
/// `str::trim` in two characters: JavaScript trims U+FEFF and keeps U+0085.
pub fn trim_like_javascript(raw: &str) -> &str {
    raw.trim_matches(is_javascript_whitespace)
}

fn is_javascript_whitespace(c: char) -> bool {
    matches!(
        c,
        '\u{0009}'..='\u{000D}'
            | '\u{0020}'
            | '\u{00A0}'
            | '\u{1680}'
            | '\u{2000}'..='\u{200A}'
            | '\u{2028}'
            | '\u{2029}'
            | '\u{202F}'
            | '\u{205F}'
            | '\u{3000}'
            | '\u{FEFF}'
    )
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
        assert_eq!(normalize_value("a\nb"), "a\nb");
        assert_eq!(normalize_value(" b \r\n"), "b\n");
        assert_eq!(normalize_value("\n"), "\n", "one newline is put back");
        assert_eq!(normalize_value(" \n "), "", "does not end in a newline");
        assert_eq!(normalize_value(""), "");
        assert_eq!(
            normalize_value("\u{feff}x\u{3000}"),
            "x",
            "JavaScript trims these"
        );
        assert_eq!(
            normalize_value("\u{85}x"),
            "\u{85}x",
            "JavaScript keeps NEL"
        );
        assert!(SecretValue::new(" x ").matches(&SecretValue::new("x")));
        assert!(SecretValue::new("\n").matches(&SecretValue::new("\n")));
        assert!(!SecretValue::new("x").matches(&SecretValue::new("y")));
    }

    #[test]
    fn blank_values() {
        for blank in ["", " ", "\n", " \t\r\n ", "\u{a0}", "\u{feff}"] {
            assert!(SecretValue::new(blank).is_blank(), "{blank:?}");
        }
        for value in ["x", " x ", "\u{85}"] {
            assert!(!SecretValue::new(value).is_blank(), "{value:?}");
        }
    }
}
