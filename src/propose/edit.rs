//! The edits an agent may ask for, and the text-span YAML editor that applies them.
//!
//! PURE: no I/O. The editor takes the repository's YAML files as text (a map from the path
//! relative to the desired-state directory to the file's content) and returns the files it
//! changed or created. It edits the text precisely instead of re-serialising documents, so
//! comments, ordering, quoting and the formatting of everything it does not touch stay as they
//! were.

use std::collections::BTreeMap;

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use crate::model::document::{BackupTarget, BitwardenField, Charset, OperatorApi};

/// One change an agent asks for.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(tag = "op", rename_all = "snake_case", deny_unknown_fields)]
pub enum Edit {
    /// Declare a new secret in one or more environments of a folder.
    CreateSecret(CreateSecret),
    /// Change a declared secret's comment, tags or value source (never a value).
    UpdateSecret(UpdateSecret),
    /// Remove a declared secret.
    DeleteSecret(DeleteSecret),
    /// Move a secret to another folder or project, and/or rename it.
    MoveSecret(MoveSecret),
    /// Declare a new project.
    CreateProject(CreateProjectEdit),
    /// Add an environment to a declared project.
    CreateEnvironment(CreateEnvironmentEdit),
    /// Add a folder to a declared project.
    CreateFolder(CreateFolderEdit),
    /// Send one Infisical scope into a Kubernetes Secret through the Infisical operator.
    AddKubernetesSync(AddKubernetesSync),
}

/// A `value` field in a request. Values are never accepted: the field exists only so that a
/// request carrying one is refused with a clear message instead of a generic "unknown field".
/// Its content is discarded while it is read and never kept.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct RefusedValue {
    present: bool,
}

impl RefusedValue {
    /// Whether the request carried a `value`.
    pub fn is_present(&self) -> bool {
        self.present
    }
}

impl<'de> Deserialize<'de> for RefusedValue {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        serde::de::IgnoredAny::deserialize(deserializer)?;
        Ok(Self { present: true })
    }
}

impl Serialize for RefusedValue {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_none()
    }
}

fn root() -> String {
    "/".to_string()
}

fn is_absent(value: &RefusedValue) -> bool {
    !value.present
}

/// `create_secret`: a new secret, its value from Bitwarden or generated.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct CreateSecret {
    /// The project slug, e.g. `k3s-infrastructure`.
    pub project: String,
    /// The environments the secret lives in, e.g. `["prod"]`.
    pub environments: Vec<String>,
    /// The folder path, e.g. `/api-keys` (default `/`).
    #[serde(default = "root")]
    pub path: String,
    /// The secret key, e.g. `CLOUDFLARE_API_TOKEN`.
    pub key: String,
    /// A comment shown in Infisical.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub comment: Option<String>,
    /// Where the value comes from. There is no plaintext option.
    pub source: ValueSource,
    /// Tag slugs.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub tags: Vec<String>,
    /// Never accepted: values are not written to Git.
    #[serde(default, skip_serializing_if = "is_absent")]
    #[schemars(skip)]
    pub value: RefusedValue,
}

/// `update_secret`: change what is declared about an existing secret.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct UpdateSecret {
    /// The project slug.
    pub project: String,
    /// Only the declaration covering this environment (default: wherever it is declared in
    /// the folder).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub environment: Option<String>,
    /// The folder path (default `/`).
    #[serde(default = "root")]
    pub path: String,
    /// The secret key.
    pub key: String,
    /// A new comment (an empty string removes it).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub comment: Option<String>,
    /// A new value source.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub source: Option<ValueSource>,
    /// New tags (replacing the old ones; an empty list removes them).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tags: Option<Vec<String>>,
    /// Never accepted: values are not written to Git.
    #[serde(default, skip_serializing_if = "is_absent")]
    #[schemars(skip)]
    pub value: RefusedValue,
}

/// `delete_secret`: stop declaring a secret (Infisical deletes it only with `prune: true`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct DeleteSecret {
    /// The project slug.
    pub project: String,
    /// Only the declaration covering this environment (default: wherever it is declared in
    /// the folder).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub environment: Option<String>,
    /// The folder path (default `/`).
    #[serde(default = "root")]
    pub path: String,
    /// The secret key.
    pub key: String,
}

/// `move_secret`: move and/or rename a secret, keeping its value source, comment and tags.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct MoveSecret {
    /// The project slug.
    pub project: String,
    /// The folder path (default `/`).
    #[serde(default = "root")]
    pub path: String,
    /// The secret key.
    pub key: String,
    /// The new folder path (default: unchanged).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub to_path: Option<String>,
    /// The new key (default: unchanged).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub to_key: Option<String>,
    /// The new project (default: unchanged).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub to_project: Option<String>,
}

/// `create_project`: a new project with its environments.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct CreateProjectEdit {
    /// The project slug, e.g. `billing-service`.
    pub slug: String,
    /// The name shown in the Infisical UI.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub display_name: Option<String>,
    /// A description.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
    /// The environments (default: one, `prod`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub environments: Option<Vec<NewEnvironment>>,
}

/// An environment of a new project.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct NewEnvironment {
    /// The slug, e.g. `prod`.
    pub slug: String,
    /// The display name, e.g. `Production`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
}

/// `create_environment`: a new environment in a declared project.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct CreateEnvironmentEdit {
    /// The project slug.
    pub project: String,
    /// The environment slug, e.g. `staging`.
    pub slug: String,
    /// The display name, e.g. `Staging`.
    pub name: String,
    /// Display position (1-based).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub position: Option<u32>,
}

/// `create_folder`: a new folder in a declared project.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct CreateFolderEdit {
    /// The project slug.
    pub project: String,
    /// The absolute folder path, e.g. `/apps/web`.
    pub path: String,
    /// Only in these environments (default: every environment of the project).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub environments: Option<Vec<String>>,
    /// A description.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
}

/// `add_kubernetes_sync`: one Infisical scope into one Kubernetes Secret.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct AddKubernetesSync {
    /// The sync's name (a DNS-1123 subdomain), e.g. `postgres-credentials`.
    pub name: String,
    /// The project slug.
    pub project: String,
    /// The environment slug.
    pub environment: String,
    /// The folder path (default `/`).
    #[serde(default = "root")]
    pub path: String,
    /// Include sub-folders.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub recursive: bool,
    /// The namespace of the Kubernetes Secret.
    pub namespace: String,
    /// The name of the Kubernetes Secret.
    pub secret_name: String,
    /// How often the operator re-reads Infisical, e.g. `1h`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub resync_interval: Option<String>,
    /// Which operator API to emit.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub operator_api: Option<OperatorApi>,
    /// Output key → Go template, e.g. `{"password": "{{ .POSTGRES_PASSWORD.Value }}"}`.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub template: BTreeMap<String, String>,
}

/// Where a NEW value comes from. There is deliberately no literal variant.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub enum ValueSource {
    /// A Bitwarden Password Manager item (as the YAML `bitwarden:`).
    Bitwarden {
        /// The item id (a UUID).
        item: String,
        /// A built-in field (default `password`).
        #[serde(default, skip_serializing_if = "Option::is_none")]
        field: Option<BitwardenField>,
        /// A custom field's name, instead of `field`.
        #[serde(
            default,
            rename = "customField",
            skip_serializing_if = "Option::is_none"
        )]
        custom_field: Option<String>,
    },
    /// A Bitwarden Secrets Manager secret (as the YAML `bitwardenSecretsManager:`).
    BitwardenSecretsManager {
        /// The secret id (a UUID).
        secret: String,
    },
    /// A random value created once at apply time (as the YAML `generate:`).
    Generate(GenerateSource),
}

/// A generated value's rule.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct GenerateSource {
    /// Length in characters (8 to 4096, default 32).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub length: Option<u32>,
    /// The alphabet (default `alphanumeric`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub charset: Option<Charset>,
    /// Back the value up to Bitwarden before writing it to Infisical.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub backup_to: Option<BackupTarget>,
}

/// Why an edit cannot be applied to the files.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum EditError {
    /// A request carried a value.
    #[error("secret `{key}`: values are never accepted: use a Bitwarden reference or generate")]
    PlaintextValue {
        /// The secret key.
        key: String,
    },
    /// An `add_kubernetes_sync` template entry that reads no secret: it would write a constant
    /// (from Git, not Infisical) into the Kubernetes Secret.
    #[error(
        "KubernetesSync `{sync}` template entry `{key}` is refused: {reason}; values are never \
         accepted: a template entry must read secrets with `{{{{ .KEY.Value }}}}` and no quoted \
         literal"
    )]
    LiteralTemplate {
        /// The sync's name.
        sync: String,
        /// The template's output key.
        key: String,
        /// Which rule it breaks.
        reason: crate::model::template::LiteralTemplate,
    },
    /// A name does not follow Infisical's rules.
    #[error("invalid {what} `{value}`: {reason}")]
    InvalidName {
        /// Which argument.
        what: &'static str,
        /// The refused text.
        value: String,
        /// Why.
        reason: String,
    },
    /// No edits, or too many.
    #[error("a proposal holds 1 to {max} edits (this one has {count})")]
    EditCount {
        /// How many were given.
        count: usize,
        /// The limit.
        max: usize,
    },
    /// `create_secret` of a secret that is already declared.
    #[error("secret `{address}` is already declared in `{file}`")]
    SecretExists {
        /// `project/env:/path#KEY`.
        address: String,
        /// Where.
        file: String,
    },
    /// `update_secret`, `delete_secret` or `move_secret` of a secret that is not declared.
    #[error("secret `{address}` is not declared in the repository")]
    SecretNotFound {
        /// `project/env:/path#KEY` (`*` for any environment).
        address: String,
    },
    /// `create_project` of a declared project.
    #[error("project `{slug}` is already declared in `{file}`")]
    ProjectExists {
        /// The slug.
        slug: String,
        /// Where.
        file: String,
    },
    /// An edit names a project the repository does not declare.
    #[error("project `{slug}` is not declared in the repository")]
    ProjectNotFound {
        /// The slug.
        slug: String,
    },
    /// `create_environment` of a declared environment.
    #[error("environment `{environment}` is already declared in project `{project}`")]
    EnvironmentExists {
        /// The project.
        project: String,
        /// The environment.
        environment: String,
    },
    /// `create_folder` of a declared folder.
    #[error("folder `{path}` is already declared in project `{project}`")]
    FolderExists {
        /// The project.
        project: String,
        /// The folder.
        path: String,
    },
    /// `add_kubernetes_sync` with a taken name.
    #[error("a KubernetesSync named `{name}` is already declared in `{file}`")]
    SyncExists {
        /// The name.
        name: String,
        /// Where.
        file: String,
    },
    /// A file path that would leave the repository.
    #[error("refused file path `{path}`: it must be relative and stay inside the repository")]
    UnsafePath {
        /// The path.
        path: String,
    },
    /// The edit is not supported in this repository's shape (e.g. flow-style lists).
    #[error("{0}")]
    Unsupported(String),
}

/// The repository's YAML files as text, keyed by path relative to the desired-state
/// directory (`/`-separated).
pub(crate) type Files = BTreeMap<String, String>;

/// The files an edit list changed or created (full new text).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub(crate) struct Edited {
    /// Path → new text, only for files whose text changed (created files included).
    pub files: Files,
}

mod editor;

pub(crate) use editor::{apply, check_request, title_of};

/// Loads and validates files held in memory, exactly as the repository loader would read them
/// from disk: the desired state, or every problem (warnings included).
pub(crate) fn validate(
    files: &Files,
) -> (
    Option<crate::model::DesiredState>,
    crate::model::Diagnostics,
) {
    let mut diagnostics = crate::model::Diagnostics::default();
    let mut documents = Vec::new();
    for (path, text) in files {
        let file: std::sync::Arc<str> = path.as_str().into();
        documents.extend(crate::source::load_str(
            &file,
            text,
            &crate::source::Limits::DEFAULT,
            &mut diagnostics,
        ));
    }
    let (state, more) = crate::model::check(&documents);
    diagnostics.0.extend(more.0);
    diagnostics.sort();
    if diagnostics.has_errors() {
        (None, diagnostics)
    } else {
        (state, diagnostics)
    }
}

/// A unified diff of `before` → `after` for the changed files (`/dev/null` for new files).
pub(crate) fn unified_diff(before: &Files, after: &Files) -> String {
    let mut out = String::new();
    for (path, new) in after {
        let old = before.get(path);
        if old == Some(new) {
            continue;
        }
        let old_name = if old.is_some() {
            format!("a/{path}")
        } else {
            "/dev/null".to_string()
        };
        let diff = similar::TextDiff::from_lines(old.map_or("", String::as_str), new.as_str());
        out.push_str(
            &diff
                .unified_diff()
                .context_radius(3)
                .header(&old_name, &format!("b/{path}"))
                .to_string(),
        );
    }
    out
}

#[cfg(test)]
mod tests;
