//! Validation diagnostics: every problem in the repository, with file, line and column.

use std::fmt;

use serde::Serialize;

use super::names::printable;
use super::span::Origin;

/// `text` with control and invisible characters escaped: a name from the repository (a secret key
/// `A\n\nerror[...]`, an ESC sequence) never forges a line or colours the terminal through a
/// diagnostic.
fn escaped(text: impl Into<String>) -> String {
    let text = text.into();
    match printable(&text) {
        std::borrow::Cow::Borrowed(_) => text,
        std::borrow::Cow::Owned(escaped) => escaped,
    }
}

/// How bad a diagnostic is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Severity {
    /// The repository cannot be applied.
    Error,
    /// Worth fixing; does not block.
    Warning,
}

/// One problem.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Diagnostic {
    /// Error or warning.
    pub severity: Severity,
    /// A stable kebab-case code, e.g. `unknown-field`, `duplicate-secret`.
    pub code: &'static str,
    /// What is wrong, in lowercase, naming the subject.
    pub message: String,
    /// Where.
    #[serde(serialize_with = "serialize_origin")]
    pub origin: Origin,
    /// How to fix it.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub help: Option<String>,
    /// Other places involved (e.g. the first definition of a duplicate).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub related: Vec<Related>,
}

/// Another location that explains a diagnostic.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Related {
    /// Where.
    #[serde(serialize_with = "serialize_origin")]
    pub origin: Origin,
    /// What is there.
    pub message: String,
}

fn serialize_origin<S: serde::Serializer>(origin: &Origin, s: S) -> Result<S::Ok, S::Error> {
    use serde::ser::SerializeStruct;
    let mut st = s.serialize_struct("Origin", 3)?;
    st.serialize_field("file", &*origin.file)?;
    st.serialize_field("line", &origin.span.line)?;
    st.serialize_field("column", &origin.span.column)?;
    st.end()
}

impl Diagnostic {
    /// An error. The message, like the help and related messages, is stored with control and
    /// invisible characters escaped.
    pub fn error(code: &'static str, origin: Origin, message: impl Into<String>) -> Self {
        Self {
            severity: Severity::Error,
            code,
            message: escaped(message),
            origin,
            help: None,
            related: Vec::new(),
        }
    }

    /// A warning.
    pub fn warning(code: &'static str, origin: Origin, message: impl Into<String>) -> Self {
        Self {
            severity: Severity::Warning,
            ..Self::error(code, origin, message)
        }
    }

    /// Adds a fix.
    pub fn with_help(mut self, help: impl Into<String>) -> Self {
        self.help = Some(escaped(help));
        self
    }

    /// Adds a related location.
    pub fn with_related(mut self, origin: Origin, message: impl Into<String>) -> Self {
        self.related.push(Related {
            origin,
            message: escaped(message),
        });
        self
    }
}

impl fmt::Display for Diagnostic {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let level = match self.severity {
            Severity::Error => "error",
            Severity::Warning => "warning",
        };
        write!(
            f,
            "{}: {level}[{}]: {}",
            self.origin, self.code, self.message
        )?;
        if let Some(help) = &self.help {
            write!(f, " (help: {help})")?;
        }
        Ok(())
    }
}

/// A sorted collection of diagnostics.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize)]
#[serde(transparent)]
pub struct Diagnostics(pub Vec<Diagnostic>);

impl Diagnostics {
    /// Adds one.
    pub fn push(&mut self, diagnostic: Diagnostic) {
        self.0.push(diagnostic);
    }

    /// Whether any diagnostic is an error.
    pub fn has_errors(&self) -> bool {
        self.0.iter().any(|d| d.severity == Severity::Error)
    }

    /// Number of errors.
    pub fn error_count(&self) -> usize {
        self.0
            .iter()
            .filter(|d| d.severity == Severity::Error)
            .count()
    }

    /// Sorts by file, line, column, code: the order they are printed in.
    pub fn sort(&mut self) {
        self.0
            .sort_by(|a, b| (&a.origin, a.code, &a.message).cmp(&(&b.origin, b.code, &b.message)));
    }

    /// Whether there are none.
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    /// Iterates in order.
    pub fn iter(&self) -> impl Iterator<Item = &Diagnostic> {
        self.0.iter()
    }
}

/// The closest candidate to `word`, if it is close enough to be a likely typo.
pub fn did_you_mean<'a>(
    word: &str,
    candidates: impl IntoIterator<Item = &'a str>,
) -> Option<&'a str> {
    candidates
        .into_iter()
        .map(|candidate| (strsim::jaro_winkler(word, candidate), candidate))
        .filter(|(score, _)| *score > 0.8)
        .max_by(|a, b| a.0.total_cmp(&b.0))
        .map(|(_, candidate)| candidate)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::span::Span;

    #[test]
    fn messages_never_carry_control_characters() {
        let origin = Origin::new("secrets.yaml", Span::new(3, 7));
        let diagnostic = Diagnostic::error(
            "undeclared-environment",
            origin.clone(),
            "environment `prod\n\nerror[forged]: \u{1b}[31mred` is not declared",
        )
        .with_help("did you mean `prod\r`?")
        .with_related(origin, "first\u{202e} here");
        assert_eq!(
            diagnostic.message,
            "environment `prod\\n\\nerror[forged]: \\u{1b}[31mred` is not declared"
        );
        assert_eq!(diagnostic.help.as_deref(), Some("did you mean `prod\\r`?"));
        assert_eq!(diagnostic.related[0].message, "first\\u{202e} here");
        assert_eq!(diagnostic.to_string().lines().count(), 1);
    }
}
