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

use crate::model::diagnostics::{Diagnostic, Diagnostics, Severity};
use crate::model::span::Origin;

/// ANSI styles, or nothing.
#[derive(Debug, Clone, Copy)]
pub struct Style {
    color: bool,
}

impl Style {
    /// Colours on or off.
    pub fn new(color: bool) -> Self {
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
    pub fn error(&self, text: &str) -> String {
        self.paint("1;31", text)
    }
    /// Yellow bold.
    pub fn warning(&self, text: &str) -> String {
        self.paint("1;33", text)
    }
    /// Blue bold (gutters, arrows).
    pub fn gutter(&self, text: &str) -> String {
        self.paint("1;34", text)
    }
    /// Bold.
    pub fn bold(&self, text: &str) -> String {
        self.paint("1", text)
    }
    /// Green bold.
    pub fn ok(&self, text: &str) -> String {
        self.paint("1;32", text)
    }
    /// Cyan bold (notes, help).
    pub fn note(&self, text: &str) -> String {
        self.paint("1;36", text)
    }
}

type ReadSource<'a> = Box<dyn Fn(&str) -> Option<String> + 'a>;

/// Source text by file name, read on demand and cached.
pub struct Sources<'a> {
    read: ReadSource<'a>,
    cache: HashMap<String, Option<Vec<String>>>,
}

impl std::fmt::Debug for Sources<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Sources").finish_non_exhaustive()
    }
}

impl<'a> Sources<'a> {
    /// Sources read through `read` (file name → text).
    pub fn new(read: impl Fn(&str) -> Option<String> + 'a) -> Self {
        Self {
            read: Box::new(read),
            cache: HashMap::new(),
        }
    }

    fn line(&mut self, file: &str, line: u32) -> Option<String> {
        let read = &self.read;
        let lines = self
            .cache
            .entry(file.to_string())
            .or_insert_with(|| read(file).map(|text| text.lines().map(str::to_owned).collect()));
        let index = usize::try_from(line).ok()?.checked_sub(1)?;
        lines.as_ref()?.get(index).cloned()
    }
}

/// Renders every diagnostic, separated by blank lines.
pub fn render_diagnostics(
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
        style.bold(&diagnostic.message)
    );
    let width = gutter_width(diagnostic);
    snippet(
        out,
        &diagnostic.origin,
        sources,
        style,
        width,
        diagnostic.severity,
    );
    let pad = " ".repeat(width);
    if let Some(help) = &diagnostic.help {
        let _ = writeln!(
            out,
            "{pad} {} {}: {help}",
            style.gutter("="),
            style.note("help")
        );
    }
    for related in &diagnostic.related {
        let _ = writeln!(out, "{}: {}", style.note("note"), related.message);
        snippet(
            out,
            &related.origin,
            sources,
            style,
            width,
            Severity::Warning,
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
) {
    let pad = " ".repeat(width);
    let location = if origin.span.line == 0 {
        origin.file.to_string()
    } else {
        origin.to_string()
    };
    let _ = writeln!(out, "{pad}{} {location}", style.gutter("-->"));
    if origin.span.line == 0 {
        return;
    }
    let Some(line) = sources.line(&origin.file, origin.span.line) else {
        return;
    };
    let column = usize::try_from(origin.span.column.max(1)).unwrap_or(1) - 1;
    let line = redact_literal(line.trim_end());
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
        return format!("{}<redacted>", &line[..value_start]);
    }
    line.to_string()
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
    fn token_widths() {
        assert_eq!(token_width("enviroments:"), 11);
        assert_eq!(token_width("\"a b\" # x"), 5);
        assert_eq!(token_width("prod, dev]"), 4);
        assert_eq!(token_width(""), 1);
    }
}
