//! Addresses name every object the tool manages, in one stable, sortable form:
//! `project`, `project/env`, `project/env:/path`, `project/env:/path#KEY` and, for a secret
//! import, `project/env:/path<-source-env:/source/path`.

use std::fmt;

use serde::{Deserialize, Serialize};

use super::names::{EnvironmentSlug, FolderPath, ProjectSlug, SecretKey};
use crate::escape::Visible;

/// The address of a project, environment, folder or secret.
///
/// Ordering follows the tree: a project sorts before its environments, an environment before its
/// folders, a folder before its secrets, so a sorted list creates parents first.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(into = "String", try_from = "String")]
pub enum Address {
    /// `k3s-infrastructure`
    Project(ProjectSlug),
    /// `k3s-infrastructure/prod`
    Environment(ProjectSlug, EnvironmentSlug),
    /// `k3s-infrastructure/prod:/databases`
    Folder(ProjectSlug, EnvironmentSlug, FolderPath),
    /// `k3s-infrastructure/prod:/databases#POSTGRES_PASSWORD`
    Secret(ProjectSlug, EnvironmentSlug, FolderPath, SecretKey),
    /// `applications/prod:/app-name-1<-prod:/`: the import, into folder `/app-name-1` of `prod`,
    /// of the folder `/` of `prod` (same project). Sorts after everything else, so imports are
    /// created once their folders exist and deleted before them.
    Import(
        ProjectSlug,
        EnvironmentSlug,
        FolderPath,
        EnvironmentSlug,
        FolderPath,
    ),
}

impl Address {
    /// The project this address lies in.
    pub fn project(&self) -> &ProjectSlug {
        match self {
            Address::Project(p)
            | Address::Environment(p, _)
            | Address::Folder(p, _, _)
            | Address::Secret(p, _, _, _)
            | Address::Import(p, _, _, _, _) => p,
        }
    }

    /// The environment, for environment, folder and secret addresses.
    pub fn environment(&self) -> Option<&EnvironmentSlug> {
        match self {
            Address::Project(_) => None,
            Address::Environment(_, e)
            | Address::Folder(_, e, _)
            | Address::Secret(_, e, _, _)
            | Address::Import(_, e, _, _, _) => Some(e),
        }
    }

    /// The folder path, for folder, secret and import addresses (for an import, the importing
    /// folder).
    pub fn folder(&self) -> Option<&FolderPath> {
        match self {
            Address::Folder(_, _, f)
            | Address::Secret(_, _, f, _)
            | Address::Import(_, _, f, _, _) => Some(f),
            _ => None,
        }
    }

    /// A short word for the kind of object: `project`, `environment`, `folder`, `secret`,
    /// `import`.
    pub fn kind(&self) -> &'static str {
        match self {
            Address::Project(_) => "project",
            Address::Environment(..) => "environment",
            Address::Folder(..) => "folder",
            Address::Secret(..) => "secret",
            Address::Import(..) => "import",
        }
    }
}

impl Address {
    /// The exact spelling, `project/env:/path#KEY`, for machine formats (JSON, YAML) and for
    /// parsing back. A key from Infisical may hold anything, so text for people uses
    /// [`Display`](fmt::Display) instead, which escapes it.
    pub fn exact(&self) -> String {
        match self {
            Address::Project(p) => p.to_string(),
            Address::Environment(p, e) => format!("{p}/{e}"),
            Address::Folder(p, e, path) => format!("{p}/{e}:{path}"),
            Address::Secret(p, e, path, k) => format!("{p}/{e}:{path}#{k}"),
            Address::Import(p, e, path, source_environment, source_path) => {
                format!("{p}/{e}:{path}<-{source_environment}:{source_path}")
            }
        }
    }
}

/// For people (terminal text, logs, errors): the key's control characters, line separators
/// and bidirectional controls are shown as escapes (`\n`, `\u{1b}`), so a key can never start a
/// line of its own or recolour a terminal. Slugs and folder paths cannot hold such characters.
impl fmt::Display for Address {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Address::Project(p) => write!(f, "{p}"),
            Address::Environment(p, e) => write!(f, "{p}/{e}"),
            Address::Folder(p, e, path) => write!(f, "{p}/{e}:{path}"),
            Address::Secret(p, e, path, k) => {
                write!(f, "{p}/{e}:{path}#{}", Visible(k.as_str()))
            }
            Address::Import(p, e, path, source_environment, source_path) => {
                write!(f, "{p}/{e}:{path}<-{source_environment}:{source_path}")
            }
        }
    }
}

impl From<Address> for String {
    fn from(value: Address) -> Self {
        value.exact()
    }
}

/// An address string that does not parse.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("invalid address `{input}`: {reason}")]
pub struct AddressError {
    input: String,
    reason: String,
}

impl TryFrom<String> for Address {
    type Error = AddressError;

    fn try_from(value: String) -> Result<Self, Self::Error> {
        value.parse()
    }
}

impl std::str::FromStr for Address {
    type Err = AddressError;

    fn from_str(input: &str) -> Result<Self, Self::Err> {
        let fail = |reason: String| AddressError {
            input: input.to_string(),
            reason,
        };
        if !input.contains('#')
            && let Some((importing, source)) = input.split_once("<-")
        {
            let Ok(Address::Folder(project, environment, path)) = importing.parse::<Address>()
            else {
                return Err(fail(
                    "expected project/env:/path<-source-env:/source/path".to_string(),
                ));
            };
            let Some((source_environment, source_path)) = source.split_once(':') else {
                return Err(fail(
                    "expected project/env:/path<-source-env:/source/path".to_string(),
                ));
            };
            let source_environment =
                EnvironmentSlug::new(source_environment).map_err(|e| fail(e.to_string()))?;
            let source_path = FolderPath::new(source_path).map_err(|e| fail(e.to_string()))?;
            return Ok(Address::Import(
                project,
                environment,
                path,
                source_environment,
                source_path,
            ));
        }
        let (rest, key) = match input.split_once('#') {
            Some((rest, key)) => (rest, Some(key)),
            None => (input, None),
        };
        let (rest, path) = match rest.split_once(':') {
            Some((rest, path)) => (rest, Some(path)),
            None => (rest, None),
        };
        let (project, env) = match rest.split_once('/') {
            Some((p, e)) => (p, Some(e)),
            None => (rest, None),
        };
        let project = ProjectSlug::new(project).map_err(|e| fail(e.to_string()))?;
        let env = env
            .map(EnvironmentSlug::new)
            .transpose()
            .map_err(|e| fail(e.to_string()))?;
        let path = path
            .map(FolderPath::new)
            .transpose()
            .map_err(|e| fail(e.to_string()))?;
        let key = key
            .map(SecretKey::new)
            .transpose()
            .map_err(|e| fail(e.to_string()))?;
        match (env, path, key) {
            (None, None, None) => Ok(Address::Project(project)),
            (Some(e), None, None) => Ok(Address::Environment(project, e)),
            (Some(e), Some(p), None) => Ok(Address::Folder(project, e, p)),
            (Some(e), Some(p), Some(k)) => Ok(Address::Secret(project, e, p, k)),
            _ => Err(fail("expected project[/env[:/path[#KEY]]]".to_string())),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn display_escapes_the_key_and_exact_keeps_it() {
        // Validation may refuse such a key; the escaping must hold whatever a name holds.
        let Ok(key) = SecretKey::new("A\nB\u{1b}[2J") else {
            return;
        };
        let address = Address::Secret(
            ProjectSlug::new("billing").expect("slug"),
            EnvironmentSlug::new("prod").expect("slug"),
            FolderPath::root(),
            key,
        );
        assert_eq!(address.to_string(), "billing/prod:/#A\\nB\\u{1b}[2J");
        assert_eq!(address.exact(), "billing/prod:/#A\nB\u{1b}[2J");
        assert_eq!(
            serde_json::to_string(&address).expect("json"),
            "\"billing/prod:/#A\\nB\\u001b[2J\""
        );
    }

    #[test]
    fn round_trips_and_orders_parents_first() {
        let inputs = [
            "k3s-infrastructure",
            "k3s-infrastructure/prod",
            "k3s-infrastructure/prod:/databases",
            "k3s-infrastructure/prod:/databases#POSTGRES_PASSWORD",
            "k3s-infrastructure/prod:/databases<-prod:/",
        ];
        let parsed: Vec<Address> = inputs.iter().map(|s| s.parse().unwrap()).collect();
        for (input, address) in inputs.iter().zip(&parsed) {
            assert_eq!(&address.to_string(), input);
        }
        let mut sorted = parsed.clone();
        sorted.sort();
        assert_eq!(sorted, parsed);
        assert!("k3s-infrastructure:/x".parse::<Address>().is_err());
    }
}
