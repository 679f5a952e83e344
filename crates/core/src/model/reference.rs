//! Infisical secret references inside literal values: `${KEY}`, `${env.path.KEY}` and
//! `${@project.env.path.KEY}`.
//!
//! Infisical stores values unexpanded and expands references on read
//! (`expandSecretReferences=true`). The grammar follows Infisical's server
//! (`secret-reference-fns.ts`): `${` then `[A-Za-z0-9-_.@]+`, optionally followed by
//! space-separated words (a key may contain spaces), then `}`. Anything else, such as `${ KEY }`,
//! stays literal text. The segments are split on `.`:
//!
//! - one segment: a key in the same environment and folder;
//! - `env.KEY`: a key at the root of `env`; `env.a.b.KEY`: a key in `/a/b` of `env`;
//! - `@project.env[.path…].KEY`: the same in another project.
//!
//! PURE: only parsing; [`super::validate`] resolves references against the declared secrets.

/// At most this many references of one value are checked; a value with more gets a warning.
pub const MAX_REFERENCES_PER_VALUE: usize = 100;

/// One parsed reference.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Reference {
    /// The text between `${` and `}`.
    pub raw: String,
    /// The project slug of a cross-project reference (`@project.…`).
    pub project: Option<String>,
    /// The environment slug, unless the reference is local (`${KEY}`).
    pub environment: Option<String>,
    /// The folder path (`/` for `env.KEY`), unless the reference is local.
    pub path: Option<String>,
    /// The secret key.
    pub key: String,
}

/// The references of `value`, in order; `Err` with the malformed inner text of a reference
/// that matches Infisical's pattern but cannot name a secret (e.g. `${@project.KEY}`).
pub fn references(value: &str) -> Vec<Result<Reference, String>> {
    let mut found = Vec::new();
    let mut rest = value;
    while let Some(start) = rest.find("${") {
        let after = &rest[start + 2..];
        let Some(end) = after.find('}') else {
            break;
        };
        let inner = &after[..end];
        if is_reference(inner) {
            found.push(parse(inner).ok_or_else(|| inner.to_string()));
            rest = &after[end + 1..];
        } else {
            rest = after;
        }
    }
    found
}

/// Whether `inner` matches `[A-Za-z0-9-_.@]+( +[A-Za-z0-9-_@]+)*`.
fn is_reference(inner: &str) -> bool {
    let head_char = |c: char| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.' | '@');
    let word_char = |c: char| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '@');
    let mut words = inner.split(' ');
    let Some(head) = words.next() else {
        return false;
    };
    if head.is_empty() || !head.chars().all(head_char) {
        return false;
    }
    // Runs of spaces are allowed between words, but no leading or trailing space.
    let mut pending_space = false;
    for word in words {
        if word.is_empty() {
            pending_space = true;
            continue;
        }
        pending_space = false;
        if !word.chars().all(word_char) {
            return false;
        }
    }
    !pending_space
}

fn parse(inner: &str) -> Option<Reference> {
    let (project, body) = match inner.strip_prefix('@') {
        Some(body) => {
            let (project, body) = body.split_once('.')?;
            if project.is_empty() {
                return None;
            }
            (Some(project.to_string()), body)
        }
        None => (None, inner),
    };
    let segments: Vec<&str> = body.split('.').collect();
    if segments.iter().any(|s| s.is_empty()) {
        return None;
    }
    let reference = match segments.as_slice() {
        [key] if project.is_none() => Reference {
            raw: inner.to_string(),
            project: None,
            environment: None,
            path: None,
            key: (*key).to_string(),
        },
        [environment, folders @ .., key] if !key.is_empty() && segments.len() >= 2 => Reference {
            raw: inner.to_string(),
            project,
            environment: Some((*environment).to_string()),
            path: Some(format!("/{}", folders.join("/"))),
            key: (*key).to_string(),
        },
        _ => return None,
    };
    Some(reference)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn one(value: &str) -> Reference {
        let mut all = references(value);
        assert_eq!(all.len(), 1, "{value}");
        all.remove(0).expect("well formed")
    }

    #[test]
    fn the_three_forms_parse() {
        let local = one("${DB_HOST}:5432");
        assert_eq!((local.environment, local.path), (None, None));
        assert_eq!(local.key, "DB_HOST");

        let root = one("postgres://${prod.DB_HOST}:5432");
        assert_eq!(root.environment.as_deref(), Some("prod"));
        assert_eq!(root.path.as_deref(), Some("/"));
        assert_eq!(root.key, "DB_HOST");

        let nested = one("${prod.apps.web.API_KEY}");
        assert_eq!(nested.path.as_deref(), Some("/apps/web"));

        let cross = one("${@shared.prod.common.TOKEN}");
        assert_eq!(cross.project.as_deref(), Some("shared"));
        assert_eq!(cross.environment.as_deref(), Some("prod"));
        assert_eq!(cross.path.as_deref(), Some("/common"));
        assert_eq!(cross.key, "TOKEN");
    }

    #[test]
    fn text_outside_the_grammar_stays_literal() {
        for value in [
            "${ KEY }", "${}", "$KEY", "${KEY", "${a/b}", "${KEY }", "plain",
        ] {
            assert!(references(value).is_empty(), "{value}");
        }
        assert_eq!(one("${MY KEY}").key, "MY KEY");
        assert_eq!(references("${A}${B}-${prod.C}").len(), 3);
    }

    #[test]
    fn references_that_name_no_secret_are_malformed() {
        for value in ["${@shared.KEY}", "${prod..KEY}", "${.KEY}", "${@.prod.KEY}"] {
            assert!(
                matches!(references(value).as_slice(), [Err(_)]),
                "{value}: {:?}",
                references(value)
            );
        }
    }
}
