//! Template entries of a `KubernetesSync` (`target.template.data`): Go templates the operator
//! evaluates into the Kubernetes Secret. An entry must read secrets from Infisical
//! (`{{ .KEY.Value }}`); one that writes a constant would put a value from Git into the Secret,
//! bypassing Infisical. Pure: no IO.
//!
//! The rule (see docs/kubernetes.md, "Templates"):
//! - at least one action (`{{ … }}`, comments `{{/* … */}}` aside);
//! - every action reads a field (`.` followed by a letter or `_`, as in `.KEY.Value`), so
//!   `{{ 12345 }}` is refused;
//! - no action holds a quoted literal (`"…"`, `` `…` ``, `'…'`), so `{{ "hunter2" }}` is
//!   refused.
//!
//! Text around the actions is kept as written (`postgres://app:{{ .PASSWORD.Value }}@db`): it
//! cannot be told apart from a value, so it is the reviewer's to read.

/// Why a template entry does not read a secret.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum LiteralTemplate {
    /// No `{{ … }}` action at all: the entry is a constant.
    #[error("it has no `{{{{ … }}}}` action, so it is a constant")]
    NoAction,
    /// An action that reads no field, e.g. `{{ 12345 }}`.
    #[error("one of its actions reads no secret (no `.KEY.Value` field)")]
    ActionWithoutReference,
    /// An action holding a quoted literal, e.g. `{{ "text" }}`.
    #[error("one of its actions holds a quoted literal")]
    QuotedLiteral,
}

/// Checks one template entry (see the module documentation).
///
/// # Errors
/// [`LiteralTemplate`] naming the first rule broken; the entry's text is never part of it.
pub fn check_template_entry(text: &str) -> Result<(), LiteralTemplate> {
    let mut rest = text;
    let mut actions = 0usize;
    while let Some(start) = rest.find("{{") {
        let after = &rest[start + 2..];
        let Some(end) = after.find("}}") else {
            // An unclosed action is text to the operator's parser: no reference.
            break;
        };
        let action = after[..end]
            .trim_start_matches('-')
            .trim_end_matches('-')
            .trim();
        rest = &after[end + 2..];
        if action.starts_with("/*") && action.ends_with("*/") {
            continue;
        }
        actions += 1;
        if action.contains(['"', '`', '\'']) {
            return Err(LiteralTemplate::QuotedLiteral);
        }
        if !reads_a_field(action) {
            return Err(LiteralTemplate::ActionWithoutReference);
        }
    }
    if actions == 0 {
        return Err(LiteralTemplate::NoAction);
    }
    Ok(())
}

/// Whether an action reads a field: a `.` (not inside a number) followed by a letter or `_`.
fn reads_a_field(action: &str) -> bool {
    let bytes = action.as_bytes();
    bytes.iter().enumerate().any(|(index, byte)| {
        *byte == b'.'
            && bytes
                .get(index + 1)
                .is_some_and(|next| next.is_ascii_alphabetic() || *next == b'_')
            && !index
                .checked_sub(1)
                .and_then(|previous| bytes.get(previous))
                .is_some_and(u8::is_ascii_digit)
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn entries_must_read_secrets() {
        for good in [
            "{{ .POSTGRES_PASSWORD.Value }}",
            "{{- .A.Value -}}",
            "postgres://app:{{ .PASSWORD.Value }}@{{ .HOST.Value }}/db",
            "{{ .CERT.Value | b64dec }}",
            "{{/* the token */}}{{ .TOKEN.Value }}",
            "{{ ._PRIVATE.Value }}",
        ] {
            assert_eq!(check_template_entry(good), Ok(()), "{good}");
        }
        for (bad, why) in [
            ("hunter2", LiteralTemplate::NoAction),
            ("", LiteralTemplate::NoAction),
            ("{{ .A.Value", LiteralTemplate::NoAction),
            ("{{/* only a comment */}}", LiteralTemplate::NoAction),
            ("{{ 12345 }}", LiteralTemplate::ActionWithoutReference),
            ("{{ 1.5e3 }}", LiteralTemplate::ActionWithoutReference),
            (
                "{{ .A.Value }}{{ 7 }}",
                LiteralTemplate::ActionWithoutReference,
            ),
            ("{{ \"hunter2\" }}", LiteralTemplate::QuotedLiteral),
            ("{{ `hunter2` }}", LiteralTemplate::QuotedLiteral),
            (
                "{{ printf \"%s\" .A.Value }}",
                LiteralTemplate::QuotedLiteral,
            ),
        ] {
            assert_eq!(check_template_entry(bad), Err(why), "{bad}");
        }
        assert_eq!(
            LiteralTemplate::NoAction.to_string(),
            "it has no `{{ … }}` action, so it is a constant"
        );
    }
}
