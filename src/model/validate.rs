//! Documents → [`DesiredState`], reporting every problem at once.

use std::sync::Arc;

use super::diagnostics::Diagnostics;
use super::document::Document;
use super::span::{Origin, Span};
use super::state::DesiredState;

/// A parsed document and where it came from.
#[derive(Debug, Clone)]
pub struct LoadedDocument {
    /// File path relative to the repository root.
    pub file: Arc<str>,
    /// Line offset of the document inside the file (spans inside `document` are relative to it).
    pub line_offset: u32,
    /// The document.
    pub document: Document,
}

impl LoadedDocument {
    /// The file-level origin of a span inside this document.
    pub fn origin(&self, span: Span) -> Origin {
        Origin::new(self.file.clone(), span.shifted(self.line_offset))
    }
}

/// Checks all documents together and builds the desired state.
pub fn build(documents: &[LoadedDocument]) -> Result<DesiredState, Diagnostics> {
    let _ = documents;
    Err(Diagnostics::default())
}
