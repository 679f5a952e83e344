//! Escaping of untrusted strings for every place they are printed.
//!
//! Names and messages come from files, Git, Infisical, Bitwarden, forges and MCP clients; any
//! of them may hold a newline, an ANSI escape or Markdown that would forge output lines, hide
//! text or inject objects. Everything printed goes through one of these functions:
//!
//! | where | function | what happens |
//! |---|---|---|
//! | terminal text, logs, YAML comments, error messages | [`visible`], [`Visible`] | control characters (C0, DEL, C1), line and paragraph separators and bidirectional controls become `\n`, `\u{1b}`, … |
//! | a name in Markdown | [`markdown::code`], [`markdown::table_code`] | a code span whose fence is longer than any backtick run inside; `\|` in tables |
//! | a message in Markdown | [`markdown::text`], [`markdown::table_text`] | `` `quoted` `` parts become code spans, the rest has `\`, `` ` ``, `*`, `_`, `[`, `<`, `&`, `\|`, `~` escaped |
//! | Markdown written by someone else | [`markdown::block`] | lines kept, raw HTML and code fences neutralised |
//!
//! Pure: no IO.

use std::borrow::Cow;
use std::fmt;

/// Whether `c` changes the layout of a line or how it reads: control characters (C0 with
/// newline and tab, DEL, C1 with NEL), the Unicode line and paragraph separators (line breaks
/// in YAML 1.1 and some terminals), and invisible format characters (bidirectional overrides and
/// isolates that reorder what a reader sees, zero-width characters, the byte-order mark, soft
/// hyphen, tag characters).
pub fn is_unsafe(c: char) -> bool {
    c.is_control()
        || matches!(
            c,
            '\u{00AD}'
                | '\u{061C}'
                | '\u{180E}'
                | '\u{200B}'
                | '\u{200E}'
                | '\u{200F}'
                | '\u{2028}'..='\u{202E}'
                | '\u{2060}'..='\u{2064}'
                | '\u{2066}'..='\u{206F}'
                | '\u{FEFF}'
                | '\u{FFF9}'..='\u{FFFB}'
                | '\u{E0000}'..='\u{E007F}'
        )
}

fn write_escaped(f: &mut impl fmt::Write, c: char) -> fmt::Result {
    match c {
        '\n' => f.write_str("\\n"),
        '\r' => f.write_str("\\r"),
        '\t' => f.write_str("\\t"),
        other => write!(f, "\\u{{{:x}}}", u32::from(other)),
    }
}

/// A string displayed on one line with visible escapes (`\n`, `\r`, `\t`, `\u{1b}`) instead
/// of the characters [`is_unsafe`] names. Everything else is written as is.
#[derive(Debug, Clone, Copy)]
pub struct Visible<'a>(pub &'a str);

impl fmt::Display for Visible<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut rest = self.0;
        while let Some(index) = rest.find(is_unsafe) {
            f.write_str(&rest[..index])?;
            let c = rest[index..].chars().next().unwrap_or_default();
            write_escaped(f, c)?;
            rest = &rest[index + c.len_utf8()..];
        }
        f.write_str(rest)
    }
}

/// `text` on one line with visible escapes; borrowed when there is nothing to escape.
pub fn visible(text: &str) -> Cow<'_, str> {
    if text.contains(is_unsafe) {
        Cow::Owned(Visible(text).to_string())
    } else {
        Cow::Borrowed(text)
    }
}

/// What a known secret value is replaced with in foreign text.
pub const REDACTED: &str = "<redacted>";

/// `message` (text from a server or a tool) without any of `values`, in any form a server may
/// quote it in: as is; JSON-escaped (a value with a newline or a quote, echoed inside a JSON
/// document or a JSON string: `-----BEGIN…\nMIIE…`); percent-encoded; and, for a value of
/// several lines, each line on its own (a server may quote one line of a PEM). Forms shorter
/// than `min_len` characters are left alone: replacing them would garble the message and reveal
/// where a short value appears. Longer forms are replaced first. The result is made
/// [`visible`] (one line, no terminal escapes).
pub fn scrub<'a>(
    message: &str,
    values: impl IntoIterator<Item = &'a str>,
    min_len: usize,
) -> String {
    let mut forms: Vec<String> = Vec::new();
    for value in values {
        let mut add = |form: String| {
            if form.chars().count() >= min_len && !forms.contains(&form) {
                forms.push(form);
            }
        };
        add(value.to_string());
        add(json_escaped(value));
        add(percent_encoded(value));
        if value.contains('\n') {
            for line in value.lines() {
                let line = line.trim();
                add(line.to_string());
                add(json_escaped(line));
            }
        }
    }
    forms.sort_by_key(|form| std::cmp::Reverse(form.len()));
    let mut message = message.to_string();
    for form in &forms {
        if message.contains(form.as_str()) {
            message = message.replace(form.as_str(), REDACTED);
        }
    }
    visible(&message).into_owned()
}

/// `value` as it appears between the quotes of a JSON string.
fn json_escaped(value: &str) -> String {
    let quoted = serde_json::to_string(value).unwrap_or_default();
    quoted
        .strip_prefix('"')
        .and_then(|q| q.strip_suffix('"'))
        .unwrap_or_default()
        .to_string()
}

/// `value` percent-encoded as in a URL query (`%XX` for all but unreserved characters).
fn percent_encoded(value: &str) -> String {
    let mut out = String::with_capacity(value.len());
    for byte in value.bytes() {
        if byte.is_ascii_alphanumeric() || b"-._~".contains(&byte) {
            out.push(char::from(byte));
        } else {
            out.push_str(&format!("%{byte:02X}"));
        }
    }
    out
}

/// Markdown (merge-request descriptions, `plan --format markdown`).
pub mod markdown {
    use super::visible;

    /// Characters that could start Markdown structure in the middle of a line.
    const SPECIAL: &[char] = &['\\', '`', '*', '_', '[', '<', '&', '|', '~'];

    /// `text` as one inline code span, outside tables.
    pub fn code(text: &str) -> String {
        span(text, false)
    }

    /// `text` as one inline code span inside a table cell (`|` escaped, which GitHub and GitLab
    /// read as a literal `|` in a cell).
    pub fn table_code(text: &str) -> String {
        span(text, true)
    }

    fn span(text: &str, table: bool) -> String {
        let text = visible(text);
        let text = if table {
            text.replace('|', "\\|")
        } else {
            text.into_owned()
        };
        if text.is_empty() {
            return "` `".to_string();
        }
        let longest = text.split(|c| c != '`').map(str::len).max().unwrap_or(0);
        let fence = "`".repeat(longest + 1);
        let pad = text.starts_with('`')
            || text.ends_with('`')
            || (text.starts_with(' ') && text.ends_with(' ') && !text.trim().is_empty());
        if pad {
            format!("{fence} {text} {fence}")
        } else {
            format!("{fence}{text}{fence}")
        }
    }

    /// A message, outside tables: parts between two backticks become code spans ([`code`]),
    /// everything else is plain text with Markdown's special characters escaped.
    pub fn text(text: &str) -> String {
        prose(text, false)
    }

    /// A message inside a table cell (as [`text`], `|` escaped in code spans too).
    pub fn table_text(text: &str) -> String {
        prose(text, true)
    }

    fn prose(text: &str, table: bool) -> String {
        let text = visible(text);
        let parts: Vec<&str> = text.split('`').collect();
        let last = parts.len() - 1;
        let mut out = String::with_capacity(text.len() + 8);
        for (index, part) in parts.iter().enumerate() {
            let inside = index % 2 == 1;
            if inside && index < last && !part.is_empty() {
                out.push_str(&span(part, table));
            } else if inside {
                // An unmatched or empty pair of backticks is text.
                out.push_str("\\`");
                escape_text(&mut out, part);
                if index < last {
                    out.push_str("\\`");
                }
            } else {
                escape_text(&mut out, part);
            }
        }
        out
    }

    fn escape_text(out: &mut String, text: &str) {
        for c in text.chars() {
            if SPECIAL.contains(&c) {
                out.push('\\');
            }
            out.push(c);
        }
    }

    /// Markdown written by someone else (an agent's rationale): its lines and formatting are
    /// kept, but it can neither hide what follows nor carry HTML: `<` is escaped (no HTML
    /// blocks, comments or tags), code fences are escaped (no unclosed fence swallowing the
    /// rest), other control characters become visible escapes.
    pub fn block(text: &str) -> String {
        let mut out = String::with_capacity(text.len() + 8);
        for line in text.lines() {
            let line = line.strip_suffix('\r').unwrap_or(line);
            let indent = line.len() - line.trim_start_matches(' ').len();
            let rest = &line[indent..];
            out.push_str(&line[..indent]);
            if indent < 4 && (rest.starts_with("```") || rest.starts_with("~~~")) {
                out.push('\\');
            }
            for c in visible(rest).chars() {
                if c == '<' {
                    out.push('\\');
                }
                out.push(c);
            }
            out.push('\n');
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn control_characters_become_visible() {
        assert_eq!(visible("plain"), "plain");
        assert!(matches!(visible("plain"), Cow::Borrowed(_)));
        assert_eq!(visible("a\nb\r\tc"), "a\\nb\\r\\tc");
        assert_eq!(visible("\u{1b}[31mred"), "\\u{1b}[31mred");
        assert_eq!(visible("x\u{85}y\u{2028}z"), "x\\u{85}y\\u{2028}z");
        assert_eq!(visible("\u{202e}txt.exe"), "\\u{202e}txt.exe");
        assert_eq!(visible("ünïcödé ✓"), "ünïcödé ✓");
        assert_eq!(Visible("a\0b").to_string(), "a\\u{0}b");
    }

    #[test]
    fn scrubbing_removes_every_form_of_a_value() {
        let pem = "-----BEGIN PRIVATE KEY-----\nMIIEvQIBADANBgkqhkiG9w0BAQEFAASC\n-----END PRIVATE KEY-----";
        let echoed = format!(
            "raw {pem} | json {} | url {} | one line MIIEvQIBADANBgkqhkiG9w0BAQEFAASC",
            serde_json::to_string(pem).expect("json"),
            percent_encoded(pem)
        );
        let scrubbed = scrub(&echoed, [pem], 4);
        assert!(!scrubbed.contains("MIIE"), "{scrubbed}");
        assert!(!scrubbed.contains("PRIVATE"), "{scrubbed}");
        assert!(!scrubbed.contains('\n'), "{scrubbed}");
        assert_eq!(
            scrub("short abc and \u{1b}[2J", ["abc"], 4),
            "short abc and \\u{1b}[2J"
        );
    }

    #[test]
    fn code_spans_cannot_be_left() {
        use markdown::{code, table_code};
        assert_eq!(code("api/prod:/#KEY"), "`api/prod:/#KEY`");
        assert_eq!(code("a`b"), "``a`b``");
        assert_eq!(code("`x``"), "``` `x`` ```");
        assert_eq!(code("AAA\n\n<!--"), "`AAA\\n\\n<!--`");
        assert_eq!(code(""), "` `");
        assert_eq!(code("a|b"), "`a|b`");
        assert_eq!(table_code("a|b"), "`a\\|b`");
    }

    #[test]
    fn prose_keeps_code_spans_and_escapes_the_rest() {
        use markdown::{table_text, text};
        assert_eq!(
            text("project `k3s` would delete 1 object"),
            "project `k3s` would delete 1 object"
        );
        assert_eq!(
            text("<!-- *x* [a](b) & c|d"),
            "\\<!-- \\*x\\* \\[a](b) \\& c\\|d"
        );
        assert_eq!(text("odd ` tick"), "odd \\` tick");
        assert_eq!(text("empty `` pair"), "empty \\`\\` pair");
        assert_eq!(text("key `A\n<!--` x"), "key `A\\n<!--` x");
        assert_eq!(table_text("`a|b` c|d"), "`a\\|b` c\\|d");
    }

    #[test]
    fn foreign_markdown_keeps_its_lines_but_not_html_or_fences() {
        let block = markdown::block("Why:\n- a *b*\n<!-- hide\n```\n  ~~~\n\u{1b}[2J");
        assert_eq!(
            block,
            "Why:\n- a *b*\n\\<!-- hide\n\\```\n  \\~~~\n\\u{1b}[2J\n"
        );
    }
}
