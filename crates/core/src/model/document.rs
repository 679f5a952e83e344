//! The YAML documents as written in the repository (the wire form of the desired state).
//!
//! Every document is Kubernetes-shaped: `apiVersion`, `kind`, `metadata.name`, `spec`. Names
//! are kept as located strings here so that validation can report every bad name with its
//! position; [`super::validate`] turns documents into the checked [`super::DesiredState`].
//! The JSON Schema under `schema/` is generated from these types.

use std::collections::BTreeMap;

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use super::span::Located;

/// The API group and version of every document.
pub const API_VERSION: &str = "infisical-gitops.io/v1alpha1";

/// The kinds this version understands.
pub const KINDS: &[&str] = &[
    "Project",
    "SecretSet",
    "KubernetesSync",
    "KubernetesDefaults",
];

/// Booleans as YAML 1.2 writes them: only an unquoted `true` or `false` (any capitalisation YAML
/// 1.2 allows). A quoted `"false"` is a string and YAML 1.1's `yes`, `no`, `on` and `off` are
/// words, so both are refused instead of being read as a boolean: `sensitive: "false"` must not
/// silently make a secret non-sensitive. The loader also sets serde-saphyr's `strict_booleans`,
/// which is what turns `no` into a string here.
pub mod strict_bool {
    use std::fmt;

    use serde::{Deserialize, Deserializer};

    use super::Located;

    /// What every boolean field expects, for the `invalid-type` diagnostic.
    pub const EXPECTED: &str = "`true` or `false` (unquoted)";

    /// A boolean read through `deserialize_any`, so the parser says whether the scalar was an
    /// unquoted boolean (`visit_bool`) or anything else.
    struct Strict(bool);

    struct StrictVisitor;

    impl serde::de::Visitor<'_> for StrictVisitor {
        type Value = Strict;

        fn expecting(&self, formatter: &mut fmt::Formatter<'_>) -> fmt::Result {
            formatter.write_str(EXPECTED)
        }

        fn visit_bool<E: serde::de::Error>(self, value: bool) -> Result<Strict, E> {
            Ok(Strict(value))
        }
    }

    impl<'de> Deserialize<'de> for Strict {
        fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
            deserializer.deserialize_any(StrictVisitor)
        }
    }

    /// A required (or defaulted) boolean field.
    pub fn required<'de, D: Deserializer<'de>>(deserializer: D) -> Result<bool, D::Error> {
        Strict::deserialize(deserializer).map(|Strict(value)| value)
    }

    /// An optional boolean field.
    pub fn optional<'de, D: Deserializer<'de>>(deserializer: D) -> Result<Option<bool>, D::Error> {
        Option::<Strict>::deserialize(deserializer).map(|value| value.map(|Strict(value)| value))
    }

    /// An optional boolean field with its position.
    pub fn optional_located<'de, D: Deserializer<'de>>(
        deserializer: D,
    ) -> Result<Option<Located<bool>>, D::Error> {
        Option::<Located<Strict>>::deserialize(deserializer).map(|value| {
            value.map(|located| Located {
                value: located.value.0,
                span: located.span,
            })
        })
    }
}

/// `metadata` of every document.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct Metadata {
    /// The object's name. For a `Project` it is the project slug in Infisical.
    pub name: Located<String>,
    /// Free-form labels, for people and tools; not sent to Infisical.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub labels: BTreeMap<String, String>,
    /// Free-form annotations, for people and tools; not sent to Infisical.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub annotations: BTreeMap<String, String>,
}

/// A document of any kind, after its `kind` has been read.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Document {
    /// `kind: Project`
    Project(ProjectDocument),
    /// `kind: SecretSet`
    SecretSet(SecretSetDocument),
    /// `kind: KubernetesSync`
    KubernetesSync(KubernetesSyncDocument),
    /// `kind: KubernetesDefaults`
    KubernetesDefaults(KubernetesDefaultsDocument),
}

macro_rules! document_type {
    ($(#[$meta:meta])* $name:ident, $spec:ty) => {
        $(#[$meta])*
        #[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
        #[serde(deny_unknown_fields, rename_all = "camelCase")]
        pub struct $name {
            /// Always `infisical-gitops.io/v1alpha1`.
            pub api_version: Located<String>,
            /// The document kind.
            pub kind: Located<String>,
            /// Name and labels.
            pub metadata: Metadata,
            /// The kind's content.
            pub spec: $spec,
        }
    };
}

document_type!(
    /// An Infisical project: its environments, folders and reconciliation policy.
    ProjectDocument,
    ProjectSpec
);
document_type!(
    /// Secrets of one project, in one or more environments and one folder.
    SecretSetDocument,
    SecretSetSpec
);
document_type!(
    /// Which Infisical scope goes into which Kubernetes Secret, through the Infisical operator.
    KubernetesSyncDocument,
    KubernetesSyncSpec
);
document_type!(
    /// Repository-wide defaults for every `KubernetesSync` (at most one per repository).
    KubernetesDefaultsDocument,
    KubernetesDefaultsSpec
);

// ---------------------------------------------------------------------------------------------
// Project

/// `spec` of a `Project`.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct ProjectSpec {
    /// The name shown in the Infisical UI (at most 64 characters). Defaults to the slug.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub display_name: Option<Located<String>>,
    /// A description (at most 994 characters: Infisical stores at most 1,024, and the ownership
    /// marker line adds 30).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub description: Option<Located<String>>,
    /// The project's environments, in display order.
    #[serde(default)]
    pub environments: Vec<Located<EnvironmentSpec>>,
    /// Folders, by absolute path; parents of nested paths are created too.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub folders: Vec<Located<FolderSpec>>,
    /// How the reconciler treats this project's objects.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub policy: Option<PolicySpec>,
}

/// One environment of a project.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct EnvironmentSpec {
    /// The slug, e.g. `prod`.
    pub slug: Located<String>,
    /// The display name, e.g. `Production`. Defaults to the slug.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<Located<String>>,
    /// Display position (1-based). Defaults to the order in this list.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub position: Option<Located<u32>>,
}

/// One folder of a project.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct FolderSpec {
    /// Absolute path, e.g. `/databases` or `/apps/web`.
    pub path: Located<String>,
    /// Only in these environments. Defaults to every environment of the project.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub environments: Option<Vec<Located<String>>>,
    /// A description shown in Infisical (at most 225 characters: Infisical stores at most 255,
    /// and the ownership marker line adds 30).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
}

/// What the reconciler may do in a project beyond creating what is declared.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct PolicySpec {
    /// Delete managed objects that are no longer declared. Off by default.
    #[serde(
        default,
        skip_serializing_if = "Option::is_none",
        deserialize_with = "strict_bool::optional"
    )]
    pub prune: Option<bool>,
    /// What to do with an object that exists in Infisical without the ownership marker.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub adoption: Option<Adoption>,
    /// Refuse any plan that deletes more than this many objects in this project (default 10).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max_deletions: Option<u32>,
    /// `correct` (default) applies changes; `detect` only reports drift.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub mode: Option<Mode>,
}

/// Adoption of existing objects that do not carry the ownership marker.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "kebab-case")]
pub enum Adoption {
    /// Only create; an unmarked object with the same name is an error (the default).
    #[default]
    Create,
    /// Only adopt: unmarked objects are taken over (marked, then managed); nothing is created.
    Adopt,
    /// Create what is missing and adopt what exists.
    CreateOrAdopt,
}

/// Whether the reconciler corrects drift or only reports it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "kebab-case")]
pub enum Mode {
    /// Apply changes (the default).
    #[default]
    Correct,
    /// Report drift only.
    Detect,
}

// ---------------------------------------------------------------------------------------------
// SecretSet

/// `spec` of a `SecretSet`.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct SecretSetSpec {
    /// The project slug.
    pub project: Located<String>,
    /// The environments these secrets live in.
    pub environments: Vec<Located<String>>,
    /// The folder path (must be declared by the project, or `/`).
    #[serde(default = "root_path")]
    pub path: Located<String>,
    /// The secrets.
    #[serde(default)]
    pub secrets: Vec<Located<SecretSpec>>,
    /// Secret imports into this folder (in each of `environments`); the list order is the
    /// import position (1, 2, …). Each names a folder of the same project whose secrets
    /// Infisical shows here. Absent: the folder's imports are not
    /// managed; `[]`: it has none.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub imports: Option<Vec<Located<ImportSpec>>>,
}

/// One secret import: the folder whose secrets are imported.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct ImportSpec {
    /// The environment slug of the imported folder (of the same project).
    pub environment: Located<String>,
    /// The imported folder's path (must be declared by the project, or `/`).
    #[serde(default = "root_path")]
    pub path: Located<String>,
}

fn root_path() -> Located<String> {
    Located::unplaced("/".to_string())
}

/// One secret. Exactly one of `bitwarden`, `bitwardenSecretsManager`, `generate`, `value` (or
/// the placeholder `todo`, which does not validate).
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct SecretSpec {
    /// The secret key, e.g. `POSTGRES_PASSWORD`.
    pub key: Located<String>,
    /// A comment shown in Infisical.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub comment: Option<Located<String>>,
    /// Tag slugs attached to the secret (the tags are created in the project when missing).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub tags: Vec<Located<String>>,
    /// Key/value metadata attached to the secret (keys 1-255 characters, values at most 1,020,
    /// not padded with whitespace, no control characters).
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub metadata: BTreeMap<String, String>,
    /// `false` marks non-sensitive configuration (hostnames, ports), the only kind that may use
    /// a literal `value`. Defaults to `true`.
    #[serde(
        default,
        skip_serializing_if = "Option::is_none",
        deserialize_with = "strict_bool::optional_located"
    )]
    pub sensitive: Option<Located<bool>>,
    /// Value from a Bitwarden Password Manager item.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub bitwarden: Option<Located<BitwardenSpec>>,
    /// Value from a Bitwarden Secrets Manager secret.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub bitwarden_secrets_manager: Option<Located<BitwardenSecretsManagerSpec>>,
    /// A random value, created once and never overwritten.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub generate: Option<Located<GenerateSpec>>,
    /// A literal value; only with `sensitive: false`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub value: Option<Located<String>>,
    /// A placeholder instead of a value source, left by `import` where no Bitwarden item
    /// matched; the text says what to fill in. `validate` reports it as the error
    /// `placeholder-source` until it is replaced by one of the sources above.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub todo: Option<Located<String>>,
}

/// A Bitwarden Password Manager reference: an item (by id, or by exact name inside a folder or
/// collection) and one of its fields.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct BitwardenSpec {
    /// The item id (a UUID). Preferred: names are not unique.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub item: Option<Located<String>>,
    /// The item name; only together with `folder` or `collection`, and it must match exactly
    /// one item.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub item_name: Option<Located<String>>,
    /// Folder id (UUID) that scopes `itemName`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub folder: Option<Located<String>>,
    /// Collection id (UUID) that scopes `itemName`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub collection: Option<Located<String>>,
    /// A built-in field. Defaults to `password` unless `customField` is given.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub field: Option<Located<BitwardenField>>,
    /// The name of a custom field (hidden fields included), instead of `field`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub custom_field: Option<Located<String>>,
    /// With `field: uri`, which URI (0-based; defaults to the first).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub uri_index: Option<u32>,
}

/// Built-in fields of a Bitwarden login item.
#[derive(
    Debug,
    Clone,
    Copy,
    PartialEq,
    Eq,
    PartialOrd,
    Ord,
    Hash,
    Default,
    Serialize,
    Deserialize,
    JsonSchema,
)]
#[serde(rename_all = "lowercase")]
pub enum BitwardenField {
    /// `login.password`
    #[default]
    Password,
    /// `login.username`
    Username,
    /// The item's notes.
    Notes,
    /// The current TOTP code.
    Totp,
    /// A login URI.
    Uri,
}

/// A Bitwarden Secrets Manager reference.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct BitwardenSecretsManagerSpec {
    /// The secret id (a UUID).
    pub secret: Located<String>,
}

/// A generated value.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct GenerateSpec {
    /// Length in characters (8 to 4096, default 32).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub length: Option<Located<u32>>,
    /// The alphabet (default `alphanumeric`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub charset: Option<Charset>,
    /// Store the generated value in Bitwarden before writing it to Infisical.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub backup_to: Option<BackupTarget>,
}

/// Alphabets for generated values.
#[derive(
    Debug,
    Clone,
    Copy,
    PartialEq,
    Eq,
    PartialOrd,
    Ord,
    Hash,
    Default,
    Serialize,
    Deserialize,
    JsonSchema,
)]
#[serde(rename_all = "kebab-case")]
pub enum Charset {
    /// `A-Z a-z 0-9`
    #[default]
    Alphanumeric,
    /// `0-9 a-f`
    Hex,
    /// Standard base64 alphabet (`A-Z a-z 0-9 + /`), no padding.
    Base64,
    /// URL-safe base64 alphabet (`A-Z a-z 0-9 - _`), no padding.
    Base64url,
    /// Printable ASCII without space and quotes.
    Symbols,
}

/// Where generated values are backed up.
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize, JsonSchema,
)]
#[serde(rename_all = "kebab-case")]
pub enum BackupTarget {
    /// A Bitwarden item, through `bw serve`.
    Bitwarden,
}

// ---------------------------------------------------------------------------------------------
// KubernetesSync

/// `spec` of a `KubernetesSync`.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct KubernetesSyncSpec {
    /// The Infisical scope to read (or `sources`, several scopes, `v1beta1` only).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub source: Option<SyncSourceSpec>,
    /// Several Infisical scopes, read in order (`v1beta1` only; instead of `source`).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub sources: Vec<SyncSourceSpec>,
    /// The Kubernetes Secret to write (or `targets`, several objects).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub target: Option<SyncTargetSpec>,
    /// Several Kubernetes Secrets or ConfigMaps to write (instead of `target`).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub targets: Vec<SyncTargetSpec>,
    /// Namespace of the operator resource itself. Defaults to the target namespace.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub namespace: Option<Located<String>>,
    /// Operator authentication. Defaults to `KubernetesDefaults`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub auth: Option<SyncAuthSpec>,
    /// Infisical API URL the operator calls, e.g. `https://secrets.example.com/api`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub host_api: Option<Located<String>>,
    /// A CA bundle in a Kubernetes Secret, for self-signed Infisical instances.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tls: Option<SyncTlsSpec>,
    /// How often the operator re-reads Infisical, e.g. `60s`, `5m` (at least 5 s).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub resync_interval: Option<Located<String>>,
    /// Which operator API to emit. Defaults to `KubernetesDefaults`, else `v1beta1`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub operator_api: Option<OperatorApi>,
    /// Subscribe to Infisical project events for near-real-time updates (operator
    /// `syncConfig.instantUpdates` / `syncOptions.instantUpdates`). Defaults to
    /// `KubernetesDefaults`, else off.
    #[serde(
        default,
        skip_serializing_if = "Option::is_none",
        deserialize_with = "strict_bool::optional"
    )]
    pub instant_updates: Option<bool>,
}

/// `spec` of `KubernetesDefaults`: values every `KubernetesSync` inherits unless it sets its own.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct KubernetesDefaultsSpec {
    /// Default operator authentication.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub auth: Option<SyncAuthSpec>,
    /// Default Infisical API URL.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub host_api: Option<Located<String>>,
    /// Default CA bundle reference.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tls: Option<SyncTlsSpec>,
    /// Default resync interval.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub resync_interval: Option<Located<String>>,
    /// Default operator API (`v1beta1` when unset; `v1alpha1` is deprecated).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub operator_api: Option<OperatorApi>,
    /// Default for instant updates.
    #[serde(
        default,
        skip_serializing_if = "Option::is_none",
        deserialize_with = "strict_bool::optional"
    )]
    pub instant_updates: Option<bool>,
}

/// The Infisical side of a sync.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct SyncSourceSpec {
    /// Project slug (declared in this repository).
    pub project: Located<String>,
    /// Environment slug.
    pub environment: Located<String>,
    /// Folder path (default `/`).
    #[serde(default = "root_path")]
    pub path: Located<String>,
    /// Include sub-folders.
    #[serde(default, deserialize_with = "strict_bool::required")]
    pub recursive: bool,
    /// Only secrets carrying one of these tag slugs (`v1beta1` only).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub tag_slugs: Vec<String>,
}

/// The Kubernetes side of a sync.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct SyncTargetSpec {
    /// Namespace of the Secret.
    pub namespace: Located<String>,
    /// Name of the Secret.
    pub name: Located<String>,
    /// Secret type (default `Opaque`).
    #[serde(default, skip_serializing_if = "Option::is_none", rename = "type")]
    pub secret_type: Option<String>,
    /// `Orphan` (default) keeps the Secret when the operator resource goes; `Owner` deletes it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub creation_policy: Option<CreationPolicy>,
    /// Labels on the Secret.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub labels: BTreeMap<String, String>,
    /// Annotations on the Secret.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub annotations: BTreeMap<String, String>,
    /// A template for the Secret's data.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub template: Option<SyncTemplateSpec>,
    /// `Secret` (default) or `ConfigMap` (for non-sensitive configuration only).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub kind: Option<SyncTargetKind>,
}

/// The kind of object the operator writes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize, JsonSchema)]
pub enum SyncTargetKind {
    /// A Kubernetes Secret (the default).
    #[default]
    Secret,
    /// A ConfigMap: values are stored in plain text, so only for non-sensitive configuration.
    ConfigMap,
}

/// Operator creation policy for the managed Secret.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize, JsonSchema)]
pub enum CreationPolicy {
    /// The Secret outlives the operator resource.
    #[default]
    Orphan,
    /// The Secret is garbage-collected with the operator resource.
    Owner,
}

/// Template for the managed Secret's data (Go templates, evaluated by the operator).
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct SyncTemplateSpec {
    /// Also include every fetched secret as-is.
    #[serde(default, deserialize_with = "strict_bool::required")]
    pub include_all_secrets: bool,
    /// Output key → Go template, e.g. `{{ .DB_PASSWORD.Value }}`.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub data: BTreeMap<String, String>,
}

/// Operator authentication. Exactly one method.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct SyncAuthSpec {
    /// Universal auth with a Kubernetes Secret holding `clientId` and `clientSecret`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub universal_auth: Option<UniversalAuthSpec>,
    /// Kubernetes auth with a service account.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub kubernetes_auth: Option<KubernetesAuthSpec>,
    /// AWS IAM auth (`v1beta1` only).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub aws_iam_auth: Option<IdentityAuthSpec>,
    /// Azure managed identity auth (`v1beta1` only).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub azure_auth: Option<AzureAuthSpec>,
    /// GCP ID token auth (`v1beta1` only).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub gcp_id_token_auth: Option<IdentityAuthSpec>,
    /// GCP IAM auth with a service account key file (`v1beta1` only).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub gcp_iam_auth: Option<GcpIamAuthSpec>,
    /// LDAP auth with a username and password held in Secrets (`v1beta1` only).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ldap_auth: Option<LdapAuthSpec>,
}

/// An auth method that needs only the machine identity id (AWS IAM, GCP ID token).
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct IdentityAuthSpec {
    /// The Secret key that holds the machine identity id.
    pub identity_id_ref: CaRefSpec,
}

/// Azure auth.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct AzureAuthSpec {
    /// The Secret key that holds the machine identity id.
    pub identity_id_ref: CaRefSpec,
    /// The Azure resource the token is requested for (the operator's default when unset).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub resource: Option<String>,
}

/// GCP IAM auth.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct GcpIamAuthSpec {
    /// The Secret key that holds the machine identity id.
    pub identity_id_ref: CaRefSpec,
    /// Path of the service account key file inside the operator's pod (a path, not a key).
    pub service_account_key_file_path: String,
}

/// LDAP auth. The credentials stay in Kubernetes Secrets; they are never written inline.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct LdapAuthSpec {
    /// The Secret key that holds the machine identity id.
    pub identity_id_ref: CaRefSpec,
    /// The Secret key that holds the LDAP username.
    pub username_ref: CaRefSpec,
    /// The Secret key that holds the LDAP password.
    pub password_ref: CaRefSpec,
}

/// Universal auth credentials reference.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct UniversalAuthSpec {
    /// The Secret with keys `clientId` and `clientSecret`.
    pub credentials_ref: SecretRefSpec,
}

/// Kubernetes auth settings.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct KubernetesAuthSpec {
    /// The machine identity id.
    pub identity_id: String,
    /// The service account whose token is presented.
    pub service_account_ref: SecretRefSpec,
    /// The Secret key that holds the machine identity id. Required by the `v1beta1` operator
    /// API, whose `InfisicalAuth` reads the id from a Secret instead of taking it inline.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub identity_id_ref: Option<CaRefSpec>,
    /// Let the operator request short-lived tokens for the service account (`v1alpha1`; the
    /// `v1beta1` operator always does).
    #[serde(
        default,
        skip_serializing_if = "Option::is_none",
        deserialize_with = "strict_bool::optional"
    )]
    pub auto_create_service_account_token: Option<bool>,
    /// Audiences of the requested service account tokens.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub service_account_token_audiences: Vec<String>,
}

/// A reference to a namespaced object.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct SecretRefSpec {
    /// Object name.
    pub name: String,
    /// Object namespace.
    pub namespace: String,
}

/// TLS settings for the operator's connection to Infisical.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct SyncTlsSpec {
    /// The Secret and key that hold the CA bundle.
    pub ca_ref: CaRefSpec,
}

/// A key inside a Kubernetes Secret.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct CaRefSpec {
    /// Secret name.
    pub name: String,
    /// Secret namespace.
    pub namespace: String,
    /// Key in the Secret (e.g. `ca.crt`).
    pub key: String,
}

/// Operator API versions we can emit.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize, JsonSchema)]
pub enum OperatorApi {
    /// `InfisicalSecret` (`secrets.infisical.com/v1alpha1`): deprecated by Infisical.
    #[serde(rename = "v1alpha1")]
    V1alpha1,
    /// `InfisicalStaticSecret` + `InfisicalAuth` + `InfisicalConnection` (`v1beta1`), the
    /// default.
    #[default]
    #[serde(rename = "v1beta1")]
    V1beta1,
}

impl KubernetesSyncSpec {
    /// Every source, whichever form declares them (`source` or `sources`).
    pub fn all_sources(&self) -> impl Iterator<Item = &SyncSourceSpec> {
        self.source.iter().chain(self.sources.iter())
    }

    /// Every target, whichever form declares them (`target` or `targets`).
    pub fn all_targets(&self) -> impl Iterator<Item = &SyncTargetSpec> {
        self.target.iter().chain(self.targets.iter())
    }

    /// The first target, which names the namespace of the operator objects when
    /// `namespace` is unset.
    pub fn first_target(&self) -> Option<&SyncTargetSpec> {
        self.all_targets().next()
    }
}

impl SyncAuthSpec {
    /// The operator names (`InfisicalAuth.spec.method`) of the methods set, in a fixed order.
    pub fn methods(&self) -> Vec<&'static str> {
        [
            ("universal", self.universal_auth.is_some()),
            ("kubernetes", self.kubernetes_auth.is_some()),
            ("aws-iam", self.aws_iam_auth.is_some()),
            ("azure", self.azure_auth.is_some()),
            ("gcp-id-token", self.gcp_id_token_auth.is_some()),
            ("gcp-iam", self.gcp_iam_auth.is_some()),
            ("ldap", self.ldap_auth.is_some()),
        ]
        .into_iter()
        .filter_map(|(name, set)| set.then_some(name))
        .collect()
    }
}
