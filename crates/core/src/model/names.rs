//! Newtype names: project slugs, environment slugs, folder paths and secret keys.
//!
//! Each constructor enforces the rule the Infisical server enforces, so that a name that passes
//! `validate` is never refused by the API. The rules and where they come from:
//!
//! | name | rule | source |
//! |---|---|---|
//! | project slug | 5–36 chars, lowercase letters, digits and single hyphens, no leading/trailing hyphen | `POST /api/v1/projects` `slug` (slugSchema, min 5 max 36) |
//! | environment slug | 1–64 chars, lowercase letters, digits and single hyphens | `POST …/environments` `slug` (slugSchema max 64) |
//! | environment name | 1–64 chars, not blank | `POST …/environments` `name` |
//! | folder path | absolute, segments of letters, digits, `-` and `_` (at most 64 characters each), no empty/`.`/`..` segments, at most [`MAX_FOLDER_DEPTH`] (64) levels | folder `name` validation (alphanumerics, `-`, `_`); the depth limit is this tool's own |
//! | secret key | 1–256 chars after trimming, no `:` or `/`, no leading/trailing whitespace, no control or invisible characters | secret-name schema: "Secret name cannot contain colon or forward slash."; Infisical trims keys, we refuse what does not print |
//! | tag slug | 1–64 chars, lowercase letters, digits and single hyphens | `POST …/tags` `slug` |

use std::fmt;

use serde::{Deserialize, Serialize};

/// Why a name was refused. The message is a complete sentence fragment in lowercase, suitable
/// for `"invalid project slug `x`: {reason}"`.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{reason}")]
pub struct NameError {
    /// What is wrong with the name.
    pub reason: String,
    /// How to fix it, when there is an obvious fix.
    pub help: Option<String>,
}

impl NameError {
    fn new(reason: impl Into<String>) -> Self {
        Self {
            reason: reason.into(),
            help: None,
        }
    }

    fn with_help(mut self, help: impl Into<String>) -> Self {
        self.help = Some(help.into());
        self
    }
}

fn check_slug(value: &str, min: usize, max: usize) -> Result<(), NameError> {
    let len = value.chars().count();
    if len < min || len > max {
        return Err(NameError::new(format!(
            "must be {min} to {max} characters long (it has {len})"
        )));
    }
    if !value
        .chars()
        .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-')
    {
        let suggestion = suggest_slug(value);
        let err = NameError::new("may contain only lowercase letters, digits and hyphens");
        return Err(if suggestion.is_empty() {
            err
        } else {
            err.with_help(format!("use `{suggestion}`"))
        });
    }
    if value.starts_with('-') || value.ends_with('-') || value.contains("--") {
        return Err(NameError::new(
            "must not start or end with a hyphen or contain two hyphens in a row",
        )
        .with_help(format!("use `{}`", suggest_slug(value))));
    }
    Ok(())
}

/// Turns an arbitrary string into the nearest valid slug (lowercase, hyphen-separated).
pub fn suggest_slug(value: &str) -> String {
    let mut out = String::with_capacity(value.len());
    for c in value.chars() {
        if c.is_ascii_alphanumeric() {
            out.push(c.to_ascii_lowercase());
        } else if !out.ends_with('-') {
            out.push('-');
        }
    }
    out.trim_matches('-').to_string()
}

macro_rules! string_newtype {
    ($(#[$meta:meta])* $name:ident, $check:expr, $schema:expr) => {
        $(#[$meta])*
        #[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
        #[serde(transparent)]
        pub struct $name(String);

        impl $name {
            /// Checks `value` against the rule in the module documentation.
            pub fn new(value: impl Into<String>) -> Result<Self, NameError> {
                let value = value.into();
                let check: fn(&str) -> Result<(), NameError> = $check;
                check(&value)?;
                Ok(Self(value))
            }

            /// The name as Infisical spells it.
            pub fn as_str(&self) -> &str {
                &self.0
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(&self.0)
            }
        }

        impl AsRef<str> for $name {
            fn as_ref(&self) -> &str {
                &self.0
            }
        }

        impl<'de> Deserialize<'de> for $name {
            fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
                let raw = String::deserialize(deserializer)?;
                Self::new(raw).map_err(serde::de::Error::custom)
            }
        }

        impl schemars::JsonSchema for $name {
            fn schema_name() -> std::borrow::Cow<'static, str> {
                stringify!($name).into()
            }

            fn json_schema(_: &mut schemars::SchemaGenerator) -> schemars::Schema {
                let schema: serde_json::Value = $schema;
                schemars::Schema::try_from(schema).unwrap_or_default()
            }
        }

        impl std::str::FromStr for $name {
            type Err = NameError;
            fn from_str(s: &str) -> Result<Self, Self::Err> {
                Self::new(s)
            }
        }
    };
}

string_newtype!(
    /// A project slug (`metadata.name` of a `Project`), e.g. `k3s-infrastructure`.
    ProjectSlug,
    |v| check_slug(v, 5, 36),
    serde_json::json!({"type": "string", "minLength": 5, "maxLength": 36,
        "pattern": "^[a-z0-9]+(-[a-z0-9]+)*$",
        "description": "Project slug: 5-36 lowercase letters, digits and single hyphens."})
);

string_newtype!(
    /// An environment slug, e.g. `prod`.
    EnvironmentSlug,
    |v| check_slug(v, 1, 64),
    serde_json::json!({"type": "string", "minLength": 1, "maxLength": 64,
        "pattern": "^[a-z0-9]+(-[a-z0-9]+)*$",
        "description": "Environment slug: 1-64 lowercase letters, digits and single hyphens."})
);

string_newtype!(
    /// A tag slug attached to secrets, e.g. `database`.
    TagSlug,
    |v| check_slug(v, 1, 64),
    serde_json::json!({"type": "string", "minLength": 1, "maxLength": 64,
        "pattern": "^[a-z0-9]+(-[a-z0-9]+)*$",
        "description": "Tag slug: 1-64 lowercase letters, digits and single hyphens."})
);

string_newtype!(
    /// A secret key, e.g. `POSTGRES_PASSWORD`.
    SecretKey,
    check_secret_key,
    serde_json::json!({"type": "string", "minLength": 1, "maxLength": 256,
        "pattern": "^[^:/\\s\\u0000-\\u001f\\u007f-\\u009f]([^:/\\u0000-\\u001f\\u007f-\\u009f]*[^:/\\s\\u0000-\\u001f\\u007f-\\u009f])?$",
        "description": "Secret key: no `:` or `/`, no surrounding whitespace, no control or invisible characters."})
);

string_newtype!(
    /// An absolute folder path inside an environment, e.g. `/databases` or `/apps/web`.
    /// The root folder is `/`. Stored normalised: no trailing slash except for the root.
    FolderPath,
    check_folder_path,
    serde_json::json!({"type": "string",
        "pattern": "^/([A-Za-z0-9_-]+(/[A-Za-z0-9_-]+)*)?$",
        "description": "Absolute folder path such as `/databases` or `/apps/web`; `/` is the root."})
);

/// Whether `c` is a control or invisible character: one set for what names refuse and what
/// every output escapes ([`crate::escape::is_unsafe`]).
pub fn is_unprintable(c: char) -> bool {
    crate::escape::is_unsafe(c)
}

/// `value` with every unprintable character ([`is_unprintable`]) escaped (`\n`, `\u{1b}`), for
/// messages: a hostile name never reaches the terminal raw.
pub fn printable(value: &str) -> std::borrow::Cow<'_, str> {
    crate::escape::visible(value)
}

/// Refuses control and invisible characters ([`is_unprintable`]) in a free-text name.
pub fn check_printable(value: &str) -> Result<(), NameError> {
    let Some((index, found)) = value.chars().enumerate().find(|(_, c)| is_unprintable(*c)) else {
        return Ok(());
    };
    let error = NameError::new(format!(
        "must not contain control or invisible characters (found {} at character {})",
        found.escape_default(),
        index + 1
    ));
    let cleaned: String = value.chars().filter(|c| !is_unprintable(*c)).collect();
    let cleaned = cleaned.trim();
    Err(if cleaned.is_empty() {
        error.with_help("remove them")
    } else {
        error.with_help(format!("remove them: `{cleaned}`"))
    })
}

fn check_secret_key(value: &str) -> Result<(), NameError> {
    check_printable(value)?;
    if value.trim().is_empty() {
        return Err(NameError::new("must not be empty"));
    }
    if value.trim() != value {
        return Err(NameError::new("must not start or end with whitespace")
            .with_help(format!("use `{}`", value.trim())));
    }
    if value.contains(':') || value.contains('/') {
        return Err(NameError::new(
            "must not contain `:` or `/` (Infisical: \"Secret name cannot contain colon or forward slash.\")",
        )
        .with_help(format!("use `{}`", value.replace([':', '/'], "_"))));
    }
    let len = value.chars().count();
    if len > 256 {
        return Err(NameError::new(format!(
            "must be at most 256 characters long (it has {len})"
        )));
    }
    Ok(())
}

/// The deepest folder this tool addresses, in levels below the environment root (`/a` is 1).
/// Infisical sets no limit; this one keeps every path short (at most 64 names of 64 characters)
/// and the reconstruction of paths from a folder listing linear (see
/// `infisical::wire::folders_with_paths`). Deeper folders are refused in the repository and left
/// alone (not observed, never changed) in Infisical.
pub const MAX_FOLDER_DEPTH: usize = 64;

/// The characters Infisical accepts in one folder name.
fn is_folder_name_char(c: char) -> bool {
    c.is_ascii_alphanumeric() || c == '-' || c == '_'
}

fn check_folder_path(value: &str) -> Result<(), NameError> {
    if !value.starts_with('/') {
        return Err(NameError::new("must be absolute (start with `/`)")
            .with_help(format!("use `/{}`", value.trim_start_matches("./"))));
    }
    if value == "/" {
        return Ok(());
    }
    if value.ends_with('/') {
        return Err(NameError::new("must not end with `/`")
            .with_help(format!("use `{}`", value.trim_end_matches('/'))));
    }
    let depth = value.matches('/').count();
    if depth > MAX_FOLDER_DEPTH {
        return Err(NameError::new(format!(
            "must be at most {MAX_FOLDER_DEPTH} folders deep (this one is {depth})"
        ))
        .with_help("flatten the folder structure"));
    }
    for segment in value[1..].split('/') {
        match segment {
            "" => return Err(NameError::new("must not contain empty segments (`//`)")),
            "." | ".." => {
                return Err(NameError::new(format!(
                    "must not contain `{segment}` segments"
                )));
            }
            s if s.chars().count() > 64 => {
                return Err(NameError::new(format!(
                    "folder name `{s}` must be at most 64 characters long"
                )));
            }
            s if !s.chars().all(is_folder_name_char) => {
                return Err(NameError::new(format!(
                    "folder name `{s}` may contain only letters, digits, `-` and `_`"
                )));
            }
            _ => {}
        }
    }
    Ok(())
}

impl FolderPath {
    /// The root folder `/`.
    pub fn root() -> Self {
        Self("/".to_string())
    }

    /// Whether this is the root folder.
    pub fn is_root(&self) -> bool {
        self.0 == "/"
    }

    /// The parent path, `None` for the root.
    pub fn parent(&self) -> Option<FolderPath> {
        if self.is_root() {
            return None;
        }
        let index = self.0.rfind('/').unwrap_or(0);
        Some(if index == 0 {
            Self::root()
        } else {
            Self(self.0[..index].to_string())
        })
    }

    /// The last segment (`web` for `/apps/web`); empty for the root.
    pub fn name(&self) -> &str {
        self.0.rsplit('/').next().unwrap_or("")
    }

    /// This path and all its ancestors except the root, outermost first
    /// (`/a`, `/a/b`, `/a/b/c` for `/a/b/c`).
    pub fn with_ancestors(&self) -> Vec<FolderPath> {
        let mut out = Vec::new();
        let mut current = Some(self.clone());
        while let Some(path) = current {
            if path.is_root() {
                break;
            }
            current = path.parent();
            out.push(path);
        }
        out.reverse();
        out
    }

    /// The depth: 0 for the root, 1 for `/a`, 2 for `/a/b`.
    pub fn depth(&self) -> usize {
        if self.is_root() {
            0
        } else {
            self.0.matches('/').count()
        }
    }

    /// Appends one folder name.
    pub fn join(&self, name: &str) -> Result<FolderPath, NameError> {
        if self.is_root() {
            Self::new(format!("/{name}"))
        } else {
            Self::new(format!("{}/{name}", self.0))
        }
    }

    /// Whether `self` is `other` or lies below it.
    pub fn starts_with(&self, other: &FolderPath) -> bool {
        other.is_root() || self.0 == other.0 || self.0.starts_with(&format!("{}/", other.0))
    }
}

/// Kubernetes object names (RFC 1123 DNS subdomain: at most 253 characters, lowercase letters,
/// digits, `-` and `.`, starting and ending with a letter or digit). Used for Secret and operator
/// resource names.
pub fn check_dns1123_subdomain(value: &str) -> Result<(), NameError> {
    if value.is_empty() || value.len() > 253 {
        return Err(NameError::new(format!(
            "must be 1 to 253 characters long (it has {})",
            value.len()
        )));
    }
    for part in value.split('.') {
        check_dns_part(part, value)?;
    }
    Ok(())
}

/// Kubernetes namespaces (RFC 1123 DNS label: at most 63 characters, lowercase letters, digits
/// and `-`, starting and ending with a letter or digit).
pub fn check_dns1123_label(value: &str) -> Result<(), NameError> {
    if value.is_empty() || value.len() > 63 {
        return Err(NameError::new(format!(
            "must be 1 to 63 characters long (it has {})",
            value.len()
        )));
    }
    check_dns_part(value, value)
}

fn check_dns_part(part: &str, whole: &str) -> Result<(), NameError> {
    let valid_chars = part
        .chars()
        .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-');
    let valid_ends = part.starts_with(|c: char| c.is_ascii_alphanumeric())
        && part.ends_with(|c: char| c.is_ascii_alphanumeric());
    if valid_chars && valid_ends {
        return Ok(());
    }
    let suggestion = suggest_slug(whole);
    let error = NameError::new(
        "must consist of lowercase letters, digits and `-`, and start and end with a letter or digit (RFC 1123)",
    );
    Err(if suggestion.is_empty() || suggestion == whole {
        error
    } else {
        error.with_help(format!("use `{suggestion}`"))
    })
}

/// Keys of a Kubernetes Secret's `data`: letters, digits, `-`, `_` and `.`, at most 253.
pub fn check_secret_data_key(value: &str) -> Result<(), NameError> {
    if value.is_empty() || value.len() > 253 {
        return Err(NameError::new("must be 1 to 253 characters long"));
    }
    if !value
        .chars()
        .all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.'))
    {
        return Err(NameError::new(
            "may contain only letters, digits, `-`, `_` and `.`",
        ));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn project_slugs() {
        assert!(ProjectSlug::new("k3s-infrastructure").is_ok());
        assert!(ProjectSlug::new("app").is_err(), "too short");
        assert!(ProjectSlug::new("a".repeat(37)).is_err(), "too long");
        let err = ProjectSlug::new("Bad Slug!").unwrap_err();
        assert_eq!(err.help.as_deref(), Some("use `bad-slug`"));
        assert!(ProjectSlug::new("-abcde").is_err());
        assert!(ProjectSlug::new("ab--cde").is_err());
    }

    #[test]
    fn secret_keys() {
        assert!(SecretKey::new("POSTGRES_PASSWORD").is_ok());
        assert!(
            SecretKey::new("with space").is_ok(),
            "Infisical accepts spaces"
        );
        assert!(SecretKey::new("a/b").is_err());
        assert!(SecretKey::new("a:b").is_err());
        assert!(SecretKey::new(" A").is_err());
        assert!(SecretKey::new("").is_err());
    }

    #[test]
    fn secret_keys_refuse_what_does_not_print() {
        for bad in [
            "AAA\n\n<!--",
            "A\rB",
            "A\tB",
            "A\u{1b}[31mB",
            "A\u{7f}",
            "A\u{85}B",
            "A\u{202e}B",
            "A\u{200b}B",
            "A\u{2028}B",
            "\u{feff}A",
        ] {
            let error = SecretKey::new(bad).expect_err(bad);
            assert!(
                error
                    .reason
                    .starts_with("must not contain control or invisible characters"),
                "{bad:?}: {error}"
            );
            assert!(!error.reason.chars().any(is_unprintable), "{bad:?}");
            assert!(!error.help.unwrap().chars().any(is_unprintable), "{bad:?}");
        }
        let error = SecretKey::new("AAA\n\n<!--").unwrap_err();
        assert_eq!(
            error.reason,
            "must not contain control or invisible characters (found \\n at character 4)"
        );
        assert_eq!(error.help.as_deref(), Some("remove them: `AAA<!--`"));
        for ok in ["café", "Ключ", "🔑_KEY", "with space", "ZWJ\u{200d}JOINED"] {
            assert!(SecretKey::new(ok).is_ok(), "{ok}");
        }
        assert_eq!(printable("A\n\u{1b}B"), "A\\n\\u{1b}B");
        // The other names have closed alphabets, which leave every such character out.
        for bad in ["prod\n", "prod\u{1b}", "prod\u{202e}", "pr\tod"] {
            assert!(EnvironmentSlug::new(bad).is_err(), "{bad:?}");
            assert!(TagSlug::new(bad).is_err(), "{bad:?}");
            assert!(
                ProjectSlug::new(format!("{bad}-project")).is_err(),
                "{bad:?}"
            );
            assert!(FolderPath::new(format!("/{bad}")).is_err(), "{bad:?}");
        }
        assert_eq!(printable("plain"), "plain");
    }

    #[test]
    fn folder_paths() {
        for ok in ["/", "/databases", "/apps/web-1", "/a_b/c"] {
            assert!(FolderPath::new(ok).is_ok(), "{ok}");
        }
        for bad in [
            "databases",
            "/a/",
            "/a//b",
            "/a/./b",
            "/a/../b",
            "/a b",
            "/a.b",
        ] {
            assert!(FolderPath::new(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn kubernetes_names() {
        assert!(check_dns1123_label("workloads").is_ok());
        assert!(check_dns1123_label("Work").is_err());
        assert!(check_dns1123_label(&"a".repeat(64)).is_err());
        assert!(check_dns1123_subdomain("db.credentials-1").is_ok());
        assert!(check_dns1123_subdomain("db..x").is_err());
        assert!(check_dns1123_subdomain("-db").is_err());
        assert!(check_secret_data_key("tls.crt").is_ok());
        assert!(check_secret_data_key("a b").is_err());
    }

    #[test]
    fn folder_paths_are_at_most_64_levels_deep() {
        let deepest = "/f".repeat(MAX_FOLDER_DEPTH);
        assert_eq!(FolderPath::new(&deepest).map(|p| p.depth()), Ok(64));
        let error = FolderPath::new(format!("{deepest}/g")).expect_err("too deep");
        assert_eq!(
            error.reason,
            "must be at most 64 folders deep (this one is 65)"
        );
        assert!(FolderPath::new(&deepest).unwrap().join("g").is_err());
    }

    #[test]
    fn folder_path_navigation() {
        let path = FolderPath::new("/a/b/c").unwrap();
        assert_eq!(path.parent().unwrap().as_str(), "/a/b");
        assert_eq!(path.name(), "c");
        assert_eq!(path.depth(), 3);
        let chain: Vec<_> = path
            .with_ancestors()
            .iter()
            .map(|p| p.to_string())
            .collect();
        assert_eq!(chain, ["/a", "/a/b", "/a/b/c"]);
        assert_eq!(
            FolderPath::new("/a").unwrap().parent(),
            Some(FolderPath::root())
        );
        assert!(path.starts_with(&FolderPath::new("/a").unwrap()));
        assert!(
            !FolderPath::new("/ab")
                .unwrap()
                .starts_with(&FolderPath::new("/a").unwrap())
        );
    }
}
