//! Source locations for diagnostics.

use std::borrow::Cow;
use std::fmt;
use std::sync::Arc;

use schemars::{JsonSchema, Schema, SchemaGenerator};
use serde::{Deserialize, Deserializer, Serialize, Serializer};

/// A line and column in a YAML file, 1-based. Line 0 means "unknown".
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Default)]
pub struct Span {
    /// 1-based line.
    pub line: u32,
    /// 1-based column.
    pub column: u32,
}

impl Span {
    /// A known position.
    pub fn new(line: u32, column: u32) -> Self {
        Self { line, column }
    }

    /// Shifts the line by `offset` lines (used when a file is split into documents).
    pub fn shifted(self, offset: u32) -> Self {
        if self.line == 0 {
            self
        } else {
            Self {
                line: self.line + offset,
                column: self.column,
            }
        }
    }
}

/// Where something was declared: a file (relative to the repository root) and a position.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Origin {
    /// Path of the file relative to the loaded root, with `/` separators.
    pub file: Arc<str>,
    /// Position in the file.
    pub span: Span,
}

impl Origin {
    /// An origin in `file` at `span`.
    pub fn new(file: impl Into<Arc<str>>, span: Span) -> Self {
        Self {
            file: file.into(),
            span,
        }
    }
}

impl fmt::Display for Origin {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}:{}:{}", self.file, self.span.line, self.span.column)
    }
}

/// A value with the position it was read from.
///
/// It deserializes through `serde_saphyr::Spanned`, serializes and describes itself (JSON
/// Schema) exactly as the inner value, and compares by value only, so spans never make two
/// equal models differ.
#[derive(Debug, Clone, Default)]
pub struct Located<T> {
    /// The value.
    pub value: T,
    /// Where it was written (line 0 when built in code).
    pub span: Span,
}

impl<T> Located<T> {
    /// A value with no known position (built in code, not read from YAML).
    pub fn unplaced(value: T) -> Self {
        Self {
            value,
            span: Span::default(),
        }
    }
}

impl<T> std::ops::Deref for Located<T> {
    type Target = T;
    fn deref(&self) -> &T {
        &self.value
    }
}

impl<T: fmt::Display> fmt::Display for Located<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.value.fmt(f)
    }
}

impl<T: PartialEq> PartialEq for Located<T> {
    fn eq(&self, other: &Self) -> bool {
        self.value == other.value
    }
}

impl<T: Eq> Eq for Located<T> {}

impl<T> From<T> for Located<T> {
    fn from(value: T) -> Self {
        Self::unplaced(value)
    }
}

impl<'de, T: Deserialize<'de>> Deserialize<'de> for Located<T> {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let spanned = serde_saphyr::Spanned::<T>::deserialize(deserializer)?;
        let line = u32::try_from(spanned.referenced.line()).unwrap_or(u32::MAX);
        let column = u32::try_from(spanned.referenced.column()).unwrap_or(u32::MAX);
        Ok(Self {
            value: spanned.value,
            span: Span::new(line, column),
        })
    }
}

impl<T: Serialize> Serialize for Located<T> {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        self.value.serialize(serializer)
    }
}

impl<T: JsonSchema> JsonSchema for Located<T> {
    fn inline_schema() -> bool {
        T::inline_schema()
    }

    fn schema_name() -> Cow<'static, str> {
        T::schema_name()
    }

    fn schema_id() -> Cow<'static, str> {
        T::schema_id()
    }

    fn json_schema(generator: &mut SchemaGenerator) -> Schema {
        T::json_schema(generator)
    }
}
