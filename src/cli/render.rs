//! Compiler-style rendering of diagnostics: the message, `file:line:col`, the source line with a
//! caret under the offending token, help, and related locations.
//!
//! ```text
//! error[unknown-field]: unknown field `enviroments` in Project
//!   --> projects/k3s.yaml:7:3
//!    |
//!  7 |   enviroments:
//!    |   ^^^^^^^^^^^
//!    = help: did you mean `environments`?
//! ```

use std::collections::HashMap;
use std::fmt::Write as _;
use std::ops::Range;

use crate::escape::{self, REDACTED};
use crate::source::yaml::literal_value_ranges;

use crate::model::diagnostics::{Diagnostic, Diagnostics, Severity};
use crate::model::span::Origin;

/// ANSI styles, or nothing.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Style {
    color: bool,
}

impl Style {
    /// Colours on or off.
    pub(crate) fn new(color: bool) -> Self {
        Self { color }
    }

    fn paint(&self, code: &str, text: &str) -> String {
        if self.color {
            format!("\u{1b}[{code}m{text}\u{1b}[0m")
        } else {
            text.to_string()
        }
    }

    /// Red bold.
    pub(crate) fn error(&self, text: &str) -> String {
        self.paint("1;31", text)
    }
    /// Yellow bold.
    pub(crate) fn warning(&self, text: &str) -> String {
        self.paint("1;33", text)
    }
    /// Blue bold (gutters, arrows).
    pub(crate) fn gutter(&self, text: &str) -> String {
        self.paint("1;34", text)
    }
    /// Bold.
    pub(crate) fn bold(&self, text: &str) -> String {
        self.paint("1", text)
    }
    /// Green bold.
    pub(crate) fn ok(&self, text: &str) -> String {
        self.paint("1;32", text)
    }
    /// Cyan bold (notes, help).
    pub(crate) fn note(&self, text: &str) -> String {
        self.paint("1;36", text)
    }
}

type ReadSource<'a> = Box<dyn Fn(&str) -> Option<String> + 'a>;

/// One source file: its lines, and per line the character columns (`start..end`) that hold a
/// literal value.
struct SourceFile {
    lines: Vec<String>,
    literals: Vec<Vec<Range<usize>>>,
}

impl SourceFile {
    fn new(text: &str) -> Self {
        let lines: Vec<String> = text.lines().map(str::to_owned).collect();
        let mut literals = vec![Vec::new(); lines.len()];
        // Character index where each line starts.
        let mut starts = vec![0];
        for (index, c) in text.chars().enumerate() {
            if c == '\n' {
                starts.push(index + 1);
            }
        }
        for range in literal_value_ranges(text) {
            let first = starts
                .partition_point(|&s| s <= range.start)
                .saturating_sub(1);
            for (line, &start) in starts.iter().enumerate().skip(first) {
                if start >= range.end || line >= literals.len() {
                    break;
                }
                let from = range.start.saturating_sub(start);
                let to = range.end - start;
                literals[line].push(from..to);
            }
        }
        Self { lines, literals }
    }
}

/// Source text by file name, read on demand and cached.
pub(crate) struct Sources<'a> {
    read: ReadSource<'a>,
    cache: HashMap<String, Option<SourceFile>>,
}

impl std::fmt::Debug for Sources<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Sources").finish_non_exhaustive()
    }
}

impl<'a> Sources<'a> {
    /// Sources read through `read` (file name → text).
    pub(crate) fn new(read: impl Fn(&str) -> Option<String> + 'a) -> Self {
        Self {
            read: Box::new(read),
            cache: HashMap::new(),
        }
    }

    /// The line and the columns of the literal values on it.
    fn line(&mut self, file: &str, line: u32) -> Option<(String, Vec<Range<usize>>)> {
        let read = &self.read;
        let source = self
            .cache
            .entry(file.to_string())
            .or_insert_with(|| read(file).map(|text| SourceFile::new(&text)))
            .as_ref()?;
        let index = usize::try_from(line).ok()?.checked_sub(1)?;
        let text = source.lines.get(index)?.clone();
        Some((
            text,
            source.literals.get(index).cloned().unwrap_or_default(),
        ))
    }
}

/// Renders every diagnostic, separated by blank lines.
pub(crate) fn render_diagnostics(
    diagnostics: &Diagnostics,
    sources: &mut Sources<'_>,
    style: Style,
) -> String {
    let mut out = String::new();
    for diagnostic in diagnostics.iter() {
        render_one(&mut out, diagnostic, sources, style);
        out.push('\n');
    }
    out
}

fn render_one(out: &mut String, diagnostic: &Diagnostic, sources: &mut Sources<'_>, style: Style) {
    let head = match diagnostic.severity {
        Severity::Error => style.error(&format!("error[{}]", diagnostic.code)),
        Severity::Warning => style.warning(&format!("warning[{}]", diagnostic.code)),
    };
    let _ = writeln!(
        out,
        "{head}{} {}",
        style.bold(":"),
        style.bold(&escape::visible(&diagnostic.message))
    );
    let width = gutter_width(diagnostic);
    snippet(
        out,
        &diagnostic.origin,
        sources,
        style,
        width,
        diagnostic.severity,
        diagnostic.code == "unknown-field",
    );
    let pad = " ".repeat(width);
    if let Some(help) = &diagnostic.help {
        let _ = writeln!(
            out,
            "{pad} {} {}: {}",
            style.gutter("="),
            style.note("help"),
            escape::Visible(help)
        );
    }
    for related in &diagnostic.related {
        let _ = writeln!(
            out,
            "{}: {}",
            style.note("note"),
            escape::Visible(&related.message)
        );
        snippet(
            out,
            &related.origin,
            sources,
            style,
            width,
            Severity::Warning,
            false,
        );
    }
}

fn gutter_width(diagnostic: &Diagnostic) -> usize {
    std::iter::once(&diagnostic.origin)
        .chain(diagnostic.related.iter().map(|r| &r.origin))
        .map(|o| o.span.line.to_string().len())
        .max()
        .unwrap_or(1)
}

fn snippet(
    out: &mut String,
    origin: &Origin,
    sources: &mut Sources<'_>,
    style: Style,
    width: usize,
    severity: Severity,
    hide_value: bool,
) {
    let pad = " ".repeat(width);
    let location = if origin.span.line == 0 {
        escape::visible(&origin.file).into_owned()
    } else {
        escape::visible(&origin.to_string()).into_owned()
    };
    let _ = writeln!(out, "{pad}{} {location}", style.gutter("-->"));
    if origin.span.line == 0 {
        return;
    }
    let Some((line, literals)) = sources.line(&origin.file, origin.span.line) else {
        return;
    };
    let column = usize::try_from(origin.span.column.max(1)).unwrap_or(1) - 1;
    let (line, column) = shown_line(line.trim_end(), &literals, column);
    let line = redact_literal(&line);
    let line = if hide_value {
        redact_field_value(&line, column)
    } else {
        line
    };
    let (line, column) = window(&line, column);
    let line = line.as_str();
    let prefix: String = line
        .chars()
        .take(column)
        .map(|c| if c == '\t' { '\t' } else { ' ' })
        .collect();
    let token = token_width(line.chars().skip(column).collect::<String>().as_str())
        .min(line.chars().count().saturating_sub(column).max(1));
    let carets = "^".repeat(token.max(1));
    let carets = match severity {
        Severity::Error => style.error(&carets),
        Severity::Warning => style.note(&carets),
    };
    let bar = style.gutter("|");
    let number = style.gutter(&format!("{:>width$}", origin.span.line));
    let _ = writeln!(out, "{pad} {bar}");
    let _ = writeln!(out, "{number} {bar} {line}");
    let _ = writeln!(out, "{pad} {bar} {prefix}{carets}");
}

/// The line as shown, and where `column` lands in it: each run of literal-value columns is
/// `<redacted>` (its leading blanks kept), every control or invisible character other than a tab
/// is a visible escape.
fn shown_line(line: &str, literals: &[Range<usize>], column: usize) -> (String, usize) {
    let mut out = String::with_capacity(line.len());
    let mut shown = 0usize;
    let mut new_column = None;
    let mut in_literal = false;
    let mut blank_so_far = true;
    for (index, c) in line.chars().enumerate() {
        if index == column {
            new_column = Some(shown);
        }
        let covered = literals.iter().any(|r| r.contains(&index));
        if covered {
            if !in_literal {
                in_literal = true;
                blank_so_far = true;
            }
            if blank_so_far && (c == ' ' || c == '\t') {
                out.push(c);
                shown += 1;
                continue;
            }
            if blank_so_far {
                blank_so_far = false;
                out.push_str(REDACTED);
                shown += REDACTED.len();
            }
            continue;
        }
        in_literal = false;
        if c != '\t' && escape::is_unsafe(c) {
            let escaped = escape::visible(c.encode_utf8(&mut [0; 4])).into_owned();
            shown += escaped.chars().count();
            out.push_str(&escaped);
        } else {
            out.push(c);
            shown += 1;
        }
    }
    (
        out,
        new_column.unwrap_or(shown + column.saturating_sub(line.chars().count())),
    )
}

/// A `value:` line shows `<redacted>` instead of the literal: it may be a secret written into
/// Git by mistake, and diagnostics end up in CI logs.
fn redact_literal(line: &str) -> String {
    let indent = line.len() - line.trim_start().len();
    let rest = &line[indent..];
    let rest_no_dash = rest.strip_prefix("- ").map(str::trim_start).unwrap_or(rest);
    if let Some(after) = rest_no_dash.strip_prefix("value")
        && let Some(value) = after.trim_start().strip_prefix(':')
        && !value.trim().is_empty()
    {
        let value_start = line.len() - value.trim_start().len();
        return format!("{}{REDACTED}", &line[..value_start]);
    }
    line.to_string()
}

/// The value of the field whose name starts at `column` shows as `<redacted>`: an unknown
/// field (`valu: hunter2`, a misspelt `value`) may hold a secret the loader never treated as
/// one. In a flow mapping (`{key: A, valu: x}`) the value ends at the next `,` or closing
/// bracket of its level, which stay; elsewhere at the end of the line.
fn redact_field_value(line: &str, column: usize) -> String {
    let chars: Vec<char> = line.chars().collect();
    let Some(colon) = (column..chars.len())
        .find(|&i| chars[i] == ':' && chars.get(i + 1).is_none_or(|c| *c == ' ' || *c == '\t'))
    else {
        return line.to_string();
    };
    let mut start = colon + 1;
    while start < chars.len() && (chars[start] == ' ' || chars[start] == '\t') {
        start += 1;
    }
    if start >= chars.len() {
        return line.to_string();
    }
    // Inside a flow collection if an opening bracket before the field is still open.
    let mut depth = 0i32;
    let mut quote: Option<char> = None;
    for &c in &chars[..column.min(chars.len())] {
        match (quote, c) {
            (Some(q), c) if c == q => quote = None,
            (Some(_), _) => {}
            (None, '"' | '\'') => quote = Some(c),
            (None, '{' | '[') => depth += 1,
            (None, '}' | ']') => depth -= 1,
            _ => {}
        }
    }
    let mut end = chars.len();
    if depth > 0 {
        let mut level = 0i32;
        let mut quote: Option<char> = None;
        for (i, &c) in chars.iter().enumerate().skip(start) {
            match (quote, c) {
                (Some(q), c) if c == q => quote = None,
                (Some(_), _) => {}
                (None, '"' | '\'') => quote = Some(c),
                (None, '{' | '[') => level += 1,
                (None, '}' | ']') if level == 0 => {
                    end = i;
                    break;
                }
                (None, '}' | ']') => level -= 1,
                (None, ',') if level == 0 => {
                    end = i;
                    break;
                }
                _ => {}
            }
        }
    }
    let mut out: String = chars[..start].iter().collect();
    out.push_str(REDACTED);
    out.extend(&chars[end..]);
    out
}

/// Long lines are cut to a window around `column`, marked with `…`.
fn window(line: &str, column: usize) -> (String, usize) {
    const WIDTH: usize = 100;
    let chars: Vec<char> = line.chars().collect();
    if chars.len() <= WIDTH {
        return (line.to_string(), column);
    }
    let start = column
        .saturating_sub(WIDTH / 2)
        .min(chars.len().saturating_sub(WIDTH));
    let end = (start + WIDTH).min(chars.len());
    let mut out = String::new();
    let mut shift = 0;
    if start > 0 {
        out.push('…');
        shift = 1;
    }
    out.extend(&chars[start..end]);
    if end < chars.len() {
        out.push('…');
    }
    (out, column - start + shift)
}

/// Width of the token starting `rest`: a quoted string, or up to whitespace / a YAML indicator.
fn token_width(rest: &str) -> usize {
    let mut chars = rest.chars();
    match chars.next() {
        None => 1,
        Some(quote @ ('"' | '\'')) => {
            let mut width = 1;
            let mut escaped = false;
            for c in chars {
                width += 1;
                if quote == '"' && c == '\\' && !escaped {
                    escaped = true;
                    continue;
                }
                if c == quote && !escaped {
                    break;
                }
                escaped = false;
            }
            width
        }
        Some('-') if rest.starts_with("- ") => 1,
        Some(open @ ('{' | '[')) => {
            let close = if open == '{' { '}' } else { ']' };
            let mut depth = 0usize;
            let mut width = 0;
            for c in rest.chars() {
                width += 1;
                if c == open {
                    depth += 1;
                } else if c == close {
                    depth = depth.saturating_sub(1);
                    if depth == 0 {
                        break;
                    }
                }
            }
            width
        }
        Some(_) => {
            let token: String = rest
                .chars()
                .take_while(|c| !c.is_whitespace() && !matches!(c, ',' | ']' | '}' | '#'))
                .collect();
            let token = token.strip_suffix(':').unwrap_or(&token);
            token.chars().count().max(1)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn literals_are_redacted() {
        assert_eq!(
            redact_literal("      value: hunter2"),
            "      value: <redacted>"
        );
        assert_eq!(
            redact_literal("    - value: \"x\""),
            "    - value: <redacted>"
        );
        assert_eq!(redact_literal("  values: x"), "  values: x");
        assert_eq!(redact_literal("  value:"), "  value:");
    }

    #[test]
    fn shown_lines_redact_literal_columns_and_escape_controls() {
        let line = "  - {key: A, value: s3cret, bad: x}";
        let (shown, column) = shown_line(line, &[Range { start: 20, end: 26 }], 28);
        assert_eq!(shown, "  - {key: A, value: <redacted>, bad: x}");
        assert_eq!(&shown[column..column + 3], "bad");
        let (shown, column) = shown_line("a\u{1b}[2Jb: 1", &[], 5);
        assert_eq!(shown, "a\\u{1b}[2Jb: 1");
        assert_eq!(&shown[column..=column], "b");
        let (shown, _) = shown_line("        pem-line", &[Range { start: 0, end: 16 }], 8);
        assert_eq!(shown, "        <redacted>");
    }

    #[test]
    fn unknown_field_values_are_redacted_flow_mappings_keep_their_braces() {
        let line = "    - {key: A, valu: CANARY-1, comment: x}";
        let column = line.find("valu").unwrap();
        assert_eq!(
            redact_field_value(line, column),
            "    - {key: A, valu: <redacted>, comment: x}"
        );
        let line = "    - {key: A, valu: \"CANARY, 2}\"}";
        let column = line.find("valu").unwrap();
        assert_eq!(
            redact_field_value(line, column),
            "    - {key: A, valu: <redacted>}"
        );
        let line = "  meta: {a: {b: CANARY}}";
        let column = line.find("{a").unwrap() + 1;
        assert_eq!(redact_field_value(line, column), "  meta: {a: <redacted>}");
        assert_eq!(
            redact_field_value("      valeu: CANARY-3", 6),
            "      valeu: <redacted>"
        );
        assert_eq!(redact_field_value("  enviroments:", 2), "  enviroments:");
    }

    #[test]
    fn token_widths() {
        assert_eq!(token_width("enviroments:"), 11);
        assert_eq!(token_width("\"a b\" # x"), 5);
        assert_eq!(token_width("prod, dev]"), 4);
        assert_eq!(token_width(""), 1);
    }
}
