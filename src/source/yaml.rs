//! One YAML file → located documents, with every problem as a diagnostic.
//!
//! A file is split into its documents on the YAML document markers (`---` and `...` at column 0,
//! which the YAML spec forbids inside any scalar), so each document keeps its own line offset and
//! one broken document does not hide the others. Each document is read twice: first only
//! `apiVersion` and `kind`, then as the typed kind. The parser runs with a [`Budget`] that bounds
//! alias expansion, nesting depth and node counts, so hostile input fails fast.

use std::sync::Arc;

use serde::Deserialize;
use serde::de::DeserializeOwned;
use serde_saphyr::budget::BudgetBreach;
use serde_saphyr::{Budget, MessageFormatter, Options, UserMessageFormatter};

use crate::model::diagnostics::{Diagnostic, Diagnostics, did_you_mean};
use crate::model::document::{
    API_VERSION, Document, KINDS, KubernetesDefaultsDocument, KubernetesSyncDocument,
    ProjectDocument, SecretSetDocument, strict_bool,
};
use crate::model::span::{Located, Origin, Span};
use crate::model::validate::LoadedDocument;

/// Limits applied to every file.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Limits {
    /// Largest accepted file, in bytes.
    pub max_file_bytes: u64,
    /// Deepest accepted nesting of mappings and sequences.
    pub max_depth: usize,
    /// Most alias (`*ref`) uses per document.
    pub max_aliases: usize,
    /// Most replayed events through aliases per document (bounds "billion laughs").
    pub max_alias_replay_events: usize,
    /// Most YAML nodes per document.
    pub max_nodes: usize,
}

impl Limits {
    /// The defaults: 4 MiB per file, nesting 32, 1,000 aliases, 10,000 replayed events,
    /// 200,000 nodes per document. A realistic repository is far below every one of them.
    pub const DEFAULT: Limits = Limits {
        max_file_bytes: 4 * 1024 * 1024,
        max_depth: 32,
        max_aliases: 1_000,
        max_alias_replay_events: 10_000,
        max_nodes: 200_000,
    };

    fn options(&self) -> Options {
        let mut budget = Budget::default();
        budget.max_depth = self.max_depth;
        budget.flow_nesting_limit = self.max_depth;
        budget.max_aliases = self.max_aliases;
        budget.max_nodes = self.max_nodes;
        budget.max_documents = 1;
        let mut options = Options::default();
        options.budget = Some(budget);
        options.alias_limits.max_total_replayed_events = self.max_alias_replay_events;
        options.alias_limits.max_replay_stack_depth = 8;
        options.with_snippet = false;
        // YAML 1.2 booleans only: `yes`, `no`, `on` and `off` are words, not booleans (with the
        // model's `strict_bool`, a quoted `"false"` is refused too).
        options.strict_booleans = true;
        options
    }
}

impl Default for Limits {
    fn default() -> Self {
        Self::DEFAULT
    }
}

/// The first read of a document: only what selects the type.
#[derive(Debug, Deserialize)]
struct Header {
    #[serde(rename = "apiVersion")]
    api_version: Option<Located<String>>,
    kind: Option<Located<String>>,
}

/// `apiVersion` and `kind` read from the text without parsing, when both are plain top-level
/// scalars written once (`kind: Project` at column 0). A key at column 0 is always a top-level
/// key (block scalars and nested collections are indented), so this is exact for the usual
/// layout; anything unusual (quotes, flow mappings, repeated keys, comments between key and
/// value) returns `None` and the document is parsed for its header instead. The typed parse that
/// follows reads both fields again, so the fast path never skips a check. It halves load time.
fn quick_header(text: &str) -> Option<Header> {
    let mut api_version = None;
    let mut kind = None;
    for (index, line) in text.lines().enumerate() {
        let (slot, key) = if line.starts_with("apiVersion:") {
            (&mut api_version, "apiVersion:")
        } else if line.starts_with("kind:") {
            (&mut kind, "kind:")
        } else {
            continue;
        };
        if slot.is_some() {
            return None;
        }
        let rest = &line[key.len()..];
        let value_part = match rest.find(" #") {
            Some(comment) => &rest[..comment],
            None => rest,
        };
        let value = value_part.trim();
        if value.is_empty()
            || !value
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '/' | '-' | '_'))
        {
            return None;
        }
        let leading = value_part.len() - value_part.trim_start().len();
        let column = key.len() + leading + 1;
        *slot = Some(Located {
            value: value.to_string(),
            span: Span::new(u32::try_from(index + 1).ok()?, u32::try_from(column).ok()?),
        });
    }
    Some(Header {
        api_version: Some(api_version?),
        kind: Some(kind?),
    })
}

/// One document's text inside a file.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Chunk<'a> {
    /// Lines before this chunk in the file.
    line_offset: u32,
    text: &'a str,
}

/// Splits a YAML stream on document markers at column 0. A `---` line starts a new chunk (and
/// stays in it: it may carry content, `--- {a: 1}`); a `...` line ends the current one. Chunks
/// that hold only comments, blank lines, markers and directives are dropped.
fn split_documents(text: &str) -> Vec<Chunk<'_>> {
    let mut chunks = Vec::new();
    let mut start_byte = 0usize;
    let mut start_line = 0u32;
    let mut byte = 0usize;
    for (line, raw) in (0u32..).zip(text.split_inclusive('\n')) {
        let content = raw.trim_end_matches(['\n', '\r']);
        if is_marker(content, "---") {
            chunks.push(Chunk {
                line_offset: start_line,
                text: &text[start_byte..byte],
            });
            start_byte = byte;
            start_line = line;
        } else if is_marker(content, "...") {
            let end = byte + raw.len();
            chunks.push(Chunk {
                line_offset: start_line,
                text: &text[start_byte..end],
            });
            start_byte = end;
            start_line = line + 1;
        }
        byte += raw.len();
    }
    chunks.push(Chunk {
        line_offset: start_line,
        text: &text[start_byte..],
    });
    chunks.retain(|chunk| !is_blank_document(chunk.text));
    chunks
}

fn is_marker(line: &str, marker: &str) -> bool {
    line.strip_prefix(marker)
        .is_some_and(|rest| rest.is_empty() || rest.starts_with([' ', '\t']))
}

fn is_blank_document(text: &str) -> bool {
    text.lines().all(|line| {
        let trimmed = line.trim();
        let without_marker = if is_marker(line, "---") || is_marker(line, "...") {
            line[3..].trim()
        } else {
            trimmed
        };
        without_marker.is_empty() || without_marker.starts_with('#') || line.starts_with('%')
    })
}

/// Parses one file's text. `file` is the path shown in diagnostics.
pub fn load_str(
    file: &Arc<str>,
    text: &str,
    limits: &Limits,
    diagnostics: &mut Diagnostics,
) -> Vec<LoadedDocument> {
    let text = text.strip_prefix('\u{feff}').unwrap_or(text);
    let mut documents = Vec::new();
    for chunk in split_documents(text) {
        if let Some(document) = load_chunk(file, chunk, limits, diagnostics) {
            documents.push(document);
        }
    }
    documents
}

fn load_chunk(
    file: &Arc<str>,
    chunk: Chunk<'_>,
    limits: &Limits,
    diagnostics: &mut Diagnostics,
) -> Option<LoadedDocument> {
    let origin = |span: Span| Origin::new(file.clone(), span.shifted(chunk.line_offset));
    let first_line = first_content_line(chunk.text);
    let header = match quick_header(chunk.text) {
        Some(header) => header,
        None => match serde_saphyr::from_str_with_options(chunk.text, limits.options()) {
            Ok(header) => header,
            Err(error) => {
                diagnostics.push(yaml_diagnostic(&error, &origin, None, first_line));
                return None;
            }
        },
    };
    let document_start = Span::new(first_line, 1);
    let Some(api_version) = header.api_version else {
        diagnostics.push(
            Diagnostic::error(
                "missing-api-version",
                origin(document_start),
                "document has no `apiVersion`",
            )
            .with_help(format!("add `apiVersion: {API_VERSION}`")),
        );
        return None;
    };
    if api_version.value != API_VERSION {
        let mut diagnostic = Diagnostic::error(
            "unknown-api-version",
            origin(api_version.span),
            format!("unknown apiVersion `{}`", api_version.value),
        );
        diagnostic = diagnostic.with_help(format!("this version reads `{API_VERSION}`"));
        diagnostics.push(diagnostic);
        return None;
    }
    let Some(kind) = header.kind else {
        diagnostics.push(
            Diagnostic::error(
                "missing-kind",
                origin(document_start),
                "document has no `kind`",
            )
            .with_help(format!("one of {}", quoted_list(KINDS))),
        );
        return None;
    };
    let parse = |diagnostics: &mut Diagnostics| -> Option<Document> {
        let kind_name = kind.value.as_str();
        let result = match kind_name {
            "Project" => typed::<ProjectDocument>(chunk.text, limits).map(Document::Project),
            "SecretSet" => typed::<SecretSetDocument>(chunk.text, limits).map(Document::SecretSet),
            "KubernetesSync" => {
                typed::<KubernetesSyncDocument>(chunk.text, limits).map(Document::KubernetesSync)
            }
            "KubernetesDefaults" => typed::<KubernetesDefaultsDocument>(chunk.text, limits)
                .map(Document::KubernetesDefaults),
            other => {
                let mut diagnostic = Diagnostic::error(
                    "unknown-kind",
                    origin(kind.span),
                    format!("unknown kind `{other}`"),
                );
                diagnostic = match did_you_mean(other, KINDS.iter().copied()) {
                    Some(suggestion) => {
                        diagnostic.with_help(format!("did you mean `{suggestion}`?"))
                    }
                    None => diagnostic.with_help(format!("one of {}", quoted_list(KINDS))),
                };
                diagnostics.push(diagnostic);
                return None;
            }
        };
        match result {
            Ok(document) => Some(document),
            Err(error) => {
                diagnostics.push(yaml_diagnostic(
                    &error,
                    &origin,
                    Some(kind_name),
                    first_line,
                ));
                None
            }
        }
    };
    let document = parse(diagnostics)?;
    Some(LoadedDocument {
        file: file.clone(),
        line_offset: chunk.line_offset,
        document,
    })
}

fn typed<T: DeserializeOwned>(text: &str, limits: &Limits) -> Result<T, serde_saphyr::Error> {
    serde_saphyr::from_str_with_options(text, limits.options())
}

/// The 1-based line (inside the chunk) of the first line that is not blank, a comment or a
/// marker: where "this document" is reported.
fn first_content_line(text: &str) -> u32 {
    for (index, line) in text.lines().enumerate() {
        let trimmed = line.trim();
        if trimmed.is_empty()
            || trimmed.starts_with('#')
            || line.starts_with('%')
            || (is_marker(line, "---") && line[3..].trim().is_empty())
        {
            continue;
        }
        return u32::try_from(index + 1).unwrap_or(u32::MAX);
    }
    1
}

fn quoted_list(items: &[&str]) -> String {
    items
        .iter()
        .map(|item| format!("`{item}`"))
        .collect::<Vec<_>>()
        .join(", ")
}

/// The original error inside snippet and alias wrappers.
fn innermost(mut error: &serde_saphyr::Error) -> &serde_saphyr::Error {
    loop {
        match error.without_snippet() {
            serde_saphyr::Error::AliasError { error: inner, .. } => error = inner,
            other => return other,
        }
    }
}

/// A serde-saphyr error as a diagnostic.
fn yaml_diagnostic(
    error: &serde_saphyr::Error,
    origin: &dyn Fn(Span) -> Origin,
    kind: Option<&str>,
    first_line: u32,
) -> Diagnostic {
    use serde_saphyr::Error as E;
    let span = error_span(error, first_line);
    let error = innermost(error);
    let at = origin(span);
    let in_kind = kind.map(|k| format!(" in {k}")).unwrap_or_default();
    match error {
        E::SerdeUnknownField {
            field, expected, ..
        } => unknown_field(field, expected, at, &in_kind),
        E::SerdeUnknownVariant {
            variant, expected, ..
        } => unknown_variant(variant, expected, at, &in_kind),
        E::SerdeMissingField { field, .. } => Diagnostic::error(
            "missing-field",
            at,
            format!("missing required field `{field}`{in_kind}"),
        ),
        E::SerdeInvalidType {
            unexpected,
            expected,
            ..
        } => invalid_type(unexpected, expected, at),
        E::SerdeInvalidValue {
            unexpected,
            expected,
            ..
        } => Diagnostic::error(
            "invalid-value",
            at,
            format!("invalid value {unexpected}, expected {expected}"),
        ),
        E::InvalidScalar { ty, .. } => Diagnostic::error(
            "invalid-type",
            at,
            match *ty {
                "bool" | "boolean" => "expected `true` or `false`".to_string(),
                ty if ty.starts_with('u') => "expected a non-negative integer".to_string(),
                ty if ty.starts_with('i') => "expected an integer".to_string(),
                ty => format!("expected a value of type {ty}"),
            },
        ),
        E::DuplicateMappingKey { key, .. } => Diagnostic::error(
            "duplicate-key",
            at,
            match key {
                Some(key) => format!("duplicate key `{key}` in one mapping"),
                None => "duplicate key in one mapping".to_string(),
            },
        ),
        E::Budget { breach, .. } => budget_diagnostic(breach, at),
        E::AliasReplayLimitExceeded { .. }
        | E::AliasExpansionLimitExceeded { .. }
        | E::AliasReplayStackDepthExceeded { .. }
        | E::AliasReplayCounterOverflow { .. } => Diagnostic::error(
            "hostile-yaml",
            at,
            "refused: YAML aliases expand beyond the limit (a \"billion laughs\" document?)",
        )
        .with_help("write the repeated content out instead of using anchors and aliases"),
        other => parser_diagnostic(other, at),
    }
}

/// Where the error is, or the document's first line when the parser gives no position.
fn error_span(error: &serde_saphyr::Error, first_line: u32) -> Span {
    error
        .without_snippet()
        .location()
        .filter(|location| location.line() > 0)
        .map(|location| {
            Span::new(
                u32::try_from(location.line()).unwrap_or(u32::MAX),
                u32::try_from(location.column()).unwrap_or(u32::MAX),
            )
        })
        .unwrap_or(Span::new(first_line, 1))
}

fn unknown_field(field: &str, expected: &[&str], at: Origin, in_kind: &str) -> Diagnostic {
    let diagnostic = Diagnostic::error(
        "unknown-field",
        at,
        format!("unknown field `{field}`{in_kind}"),
    );
    match did_you_mean(field, expected.iter().copied()) {
        Some(suggestion) => diagnostic.with_help(format!("did you mean `{suggestion}`?")),
        None if expected.is_empty() => diagnostic,
        None => diagnostic.with_help(format!("expected one of {}", quoted_list(expected))),
    }
}

fn unknown_variant(variant: &str, expected: &[&str], at: Origin, in_kind: &str) -> Diagnostic {
    let diagnostic = Diagnostic::error(
        "invalid-value",
        at,
        format!("unknown value `{variant}`{in_kind}"),
    );
    match did_you_mean(variant, expected.iter().copied()) {
        Some(suggestion) => diagnostic.with_help(format!("did you mean `{suggestion}`?")),
        None => diagnostic.with_help(format!("expected one of {}", quoted_list(expected))),
    }
}

fn invalid_type(unexpected: &str, expected: &str, at: Origin) -> Diagnostic {
    let diagnostic = Diagnostic::error(
        "invalid-type",
        at,
        format!("expected {expected}, found {unexpected}"),
    );
    if expected == strict_bool::EXPECTED {
        diagnostic.with_help(
            "write `true` or `false` without quotes: a quoted word, and `yes`, `no`, `on` or `off`, is a string",
        )
    } else {
        diagnostic
    }
}

/// The parser's own errors (not serde's): limits, a list or mapping expected, syntax.
fn parser_diagnostic(other: &serde_saphyr::Error, at: Origin) -> Diagnostic {
    let message = sanitize(&UserMessageFormatter.format_message(other));
    if message.contains("recursion limit") || message.contains("too large or too complex") {
        Diagnostic::error(
            "hostile-yaml",
            at,
            format!("refused: the document exceeds a parser limit ({message})"),
        )
        .with_help(
            "desired-state documents need only a few levels of nesting and no alias expansion",
        )
    } else if message == "expected sequence start" {
        Diagnostic::error("invalid-type", at, "expected a list")
            .with_help("write `[a, b]` or one `- item` per line")
    } else if message == "expected mapping start" {
        Diagnostic::error(
            "invalid-type",
            at,
            "expected a mapping (`key: value` lines)",
        )
    } else {
        Diagnostic::error("yaml-syntax", at, message)
    }
}

fn budget_diagnostic(breach: &BudgetBreach, at: Origin) -> Diagnostic {
    let (message, help) = match breach {
        BudgetBreach::Depth { .. } => (
            "refused: the document nests deeper than the limit".to_string(),
            "desired-state documents need only a few levels of nesting",
        ),
        BudgetBreach::Aliases { .. }
        | BudgetBreach::Anchors { .. }
        | BudgetBreach::AliasAnchorRatio { .. } => (
            "refused: too many YAML aliases (a \"billion laughs\" document?)".to_string(),
            "write the repeated content out instead of using anchors and aliases",
        ),
        BudgetBreach::Documents { .. } => (
            "refused: more than one document in one chunk".to_string(),
            "separate documents with `---` at the start of a line",
        ),
        other => (
            format!("refused: the document exceeds a parser limit ({other:?})"),
            "split the file into smaller documents",
        ),
    };
    Diagnostic::error("hostile-yaml", at, message).with_help(help)
}

/// Parser messages are shown on one line, in lowercase, without a trailing period.
fn sanitize(message: &str) -> String {
    let single: String = message
        .chars()
        .map(|c| if c.is_control() { ' ' } else { c })
        .collect();
    let trimmed = single.trim().trim_end_matches('.');
    let mut chars = trimmed.chars();
    let second_is_upper = trimmed.chars().nth(1).is_some_and(char::is_uppercase);
    match chars.next() {
        Some(first) if !second_is_upper => first.to_lowercase().chain(chars).collect(),
        Some(_) => trimmed.to_string(),
        None => "invalid YAML".to_string(),
    }
}

/// Where literal values are written in `text`: the character ranges (`char` indices, end
/// exclusive) of every node under a `value` key, in any mapping of any document, whatever its
/// style (plain on the same or the next line, quoted, block `|`/`>`, flow `{key: K, value: S}`,
/// a nested collection), and of the anchored node a `value: *alias` points to. Diagnostics
/// print `<redacted>` over these ranges, so a secret written into Git by mistake never reaches a
/// CI log. When the YAML breaks while a value is being read, everything from its key to the end
/// of the text is covered.
pub(crate) fn literal_value_ranges(text: &str) -> Vec<std::ops::Range<usize>> {
    use serde_saphyr::granit_parser::{Event, Parser};
    use std::collections::HashMap;

    enum Frame {
        Mapping {
            expecting_key: bool,
            key_is_value: bool,
        },
        Sequence,
    }
    fn under_value_key(stack: &[Frame]) -> bool {
        matches!(
            stack.last(),
            Some(Frame::Mapping {
                expecting_key: false,
                key_is_value: true
            })
        )
    }
    fn completed(stack: &mut [Frame], key: Option<&str>) {
        if let Some(Frame::Mapping {
            expecting_key,
            key_is_value,
        }) = stack.last_mut()
        {
            *key_is_value = *expecting_key && key == Some("value");
            *expecting_key = !*expecting_key;
        }
    }

    let mut ranges = Vec::new();
    let mut stack: Vec<Frame> = Vec::new();
    // Start index and anchor id of each open collection, parallel to `stack`.
    let mut open: Vec<(usize, usize)> = Vec::new();
    let mut anchors: HashMap<usize, std::ops::Range<usize>> = HashMap::new();
    // A collection under a `value` key: its depth and start.
    let mut capture: Option<(usize, usize)> = None;
    // Where the last `value` key ended, for a value that fails to parse.
    let mut value_key_end = 0;
    for event in Parser::new_from_str(text) {
        let (event, span) = match event {
            Ok(event) => event,
            Err(_) => {
                let from = match capture {
                    Some((_, start)) => Some(start),
                    None => under_value_key(&stack).then_some(value_key_end),
                };
                if let Some(from) = from {
                    ranges.push(from..text.chars().count());
                }
                break;
            }
        };
        let range = span.start.index()..span.end.index();
        match event {
            Event::Scalar(value, _, anchor, _) => {
                if anchor != 0 {
                    anchors.insert(anchor, range.clone());
                }
                if capture.is_none() && under_value_key(&stack) {
                    ranges.push(range.clone());
                }
                let key = value.as_ref();
                completed(&mut stack, Some(key));
                if under_value_key(&stack) {
                    value_key_end = range.end;
                }
            }
            Event::Alias(anchor) => {
                if capture.is_none() && under_value_key(&stack) {
                    ranges.push(range);
                    ranges.extend(anchors.get(&anchor).cloned());
                }
                completed(&mut stack, None);
            }
            Event::MappingStart(_, anchor, _) | Event::SequenceStart(_, anchor, _) => {
                if capture.is_none() && under_value_key(&stack) {
                    capture = Some((stack.len(), range.start));
                }
                open.push((range.start, anchor));
                stack.push(if matches!(event, Event::MappingStart(..)) {
                    Frame::Mapping {
                        expecting_key: true,
                        key_is_value: false,
                    }
                } else {
                    Frame::Sequence
                });
            }
            Event::MappingEnd | Event::SequenceEnd => {
                stack.pop();
                let (start, anchor) = open.pop().unwrap_or((range.start, 0));
                if anchor != 0 {
                    anchors.insert(anchor, start..range.end);
                }
                if let Some((depth, start)) = capture
                    && depth == stack.len()
                {
                    ranges.push(start..range.end);
                    capture = None;
                }
                completed(&mut stack, None);
            }
            Event::DocumentStart(..) | Event::DocumentEnd => {
                stack.clear();
                open.clear();
                capture = None;
            }
            _ => {}
        }
    }
    ranges
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The text of `text` covered by the literal ranges, one string per range.
    fn covered(text: &str) -> Vec<String> {
        let chars: Vec<char> = text.chars().collect();
        literal_value_ranges(text)
            .into_iter()
            .map(|r| chars[r].iter().collect())
            .collect()
    }

    #[test]
    fn literal_values_are_found_in_every_style() {
        let text = "secrets:\n  - key: A\n    value: plain-canary\n  - {key: B, value: flow-canary, sensitive: false}\n  - key: C\n    value: |\n      block-canary-1\n      block-canary-2\n  - key: D\n    value:\n      next-line-canary\n  - key: E\n    value: \"quoted\\ncanary\"\n  - key: F\n    value: [list-canary]\n  - key: G\n    comment: &c anchored-canary\n    value: *c\n";
        let covered = covered(text);
        for canary in [
            "plain-canary",
            "flow-canary",
            "block-canary-1",
            "block-canary-2",
            "next-line-canary",
            "quoted\\ncanary",
            "list-canary",
            "anchored-canary",
        ] {
            assert!(
                covered.iter().any(|c| c.contains(canary)),
                "{canary} not covered: {covered:?}"
            );
        }
        assert!(
            !covered
                .iter()
                .any(|c| c.contains("key") || c.contains("sensitive")),
            "{covered:?}"
        );
    }

    #[test]
    fn a_value_that_breaks_the_yaml_is_covered_to_the_end() {
        let broken = covered("- key: A\n  value: \"unterminated-canary\n  more-canary\n");
        assert_eq!(broken.len(), 1, "{broken:?}");
        assert!(broken[0].contains("unterminated-canary") && broken[0].contains("more-canary"));
        assert!(covered("key: [unclosed\n").is_empty());
    }

    #[test]
    fn splits_on_markers_and_keeps_offsets() {
        let text = "# comment\n---\na: 1\n---\nb: 2\n...\n# trailing\n--- # c\n---\nc: 3\n";
        let chunks = split_documents(text);
        let offsets: Vec<_> = chunks.iter().map(|c| c.line_offset).collect();
        assert_eq!(offsets, [1, 3, 8]);
        assert_eq!(chunks[0].text, "---\na: 1\n");
        assert_eq!(chunks[2].text, "---\nc: 3\n");
    }

    #[test]
    fn markers_need_column_zero_and_a_separator() {
        assert!(is_marker("---", "---"));
        assert!(is_marker("--- # x", "---"));
        assert!(!is_marker(" ---", "---"));
        assert!(!is_marker("----", "---"));
        assert!(!is_marker("---x", "---"));
    }

    #[test]
    fn quick_header_reads_plain_keys_only() {
        let header =
            quick_header("# c\napiVersion: a/v1 # x\nkind:   Project\nspec: {}\n").unwrap();
        let api = header.api_version.unwrap();
        assert_eq!((api.value.as_str(), api.span), ("a/v1", Span::new(2, 13)));
        let kind = header.kind.unwrap();
        assert_eq!(
            (kind.value.as_str(), kind.span),
            ("Project", Span::new(3, 9))
        );
        assert!(quick_header("apiVersion: a\nkind: \"Project\"\n").is_none());
        assert!(quick_header("apiVersion: a\nkind: A\nkind: B\n").is_none());
        assert!(quick_header("{apiVersion: a, kind: A}\n").is_none());
        assert!(quick_header("apiVersion: a\n").is_none());
    }

    #[test]
    fn suggests_close_words_only() {
        let fields = ["environments", "folders", "policy"];
        assert_eq!(did_you_mean("enviroments", fields), Some("environments"));
        assert_eq!(did_you_mean("zzz", fields), None);
    }
}
