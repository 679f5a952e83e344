//! The Infisical operator's resource specs, as far as infisical-gitops writes them.
//!
//! Field names and required fields follow the operator's CRDs (`secrets.infisical.com`,
//! operator v0.11.5): `InfisicalSecret` (`v1alpha1`), and `InfisicalStaticSecret`,
//! `InfisicalAuth`, `InfisicalConnection` (`v1beta1`). Only `Serialize`: these are emitted,
//! never read back. Fields are declared in the order they are written.

use std::collections::BTreeMap;

use serde::Serialize;

// ---------------------------------------------------------------------------------------------
// v1alpha1 InfisicalSecret

/// `spec` of a `v1alpha1` `InfisicalSecret`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct InfisicalSecretSpec {
    /// Infisical API base URL; the operator-wide default when absent.
    #[serde(rename = "hostAPI", skip_serializing_if = "Option::is_none")]
    pub host_api: Option<String>,
    /// Resync interval and instant updates.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub sync_config: Option<SyncConfig>,
    /// A CA bundle for the connection to Infisical.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub tls: Option<TlsConfig>,
    /// Exactly one authentication method.
    pub authentication: Authentication,
    /// Target Secrets.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub managed_kube_secret_references: Vec<ManagedKubeSecretConfig>,
    /// Target ConfigMaps.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub managed_kube_config_map_references: Vec<ManagedKubeConfigMapConfig>,
}

/// `spec.syncConfig`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct SyncConfig {
    /// e.g. `60s`, `5m`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub resync_interval: Option<String>,
    /// Subscribe to project events.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub instant_updates: Option<bool>,
}

/// `spec.tls`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct TlsConfig {
    /// The Secret key holding the CA bundle.
    pub ca_ref: CaRef,
}

/// `spec.tls.caRef`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct CaRef {
    /// Secret name.
    pub secret_name: String,
    /// Secret namespace.
    pub secret_namespace: String,
    /// Key in the Secret.
    pub key: String,
}

/// `spec.authentication`: one method set.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub enum Authentication {
    /// `universalAuth`
    UniversalAuth {
        /// The Secret with `clientId` and `clientSecret`.
        #[serde(rename = "credentialsRef")]
        credentials_ref: KubeSecretReference,
        /// What to read.
        #[serde(rename = "secretsScope")]
        secrets_scope: SecretsScope,
    },
    /// `kubernetesAuth`
    KubernetesAuth(KubernetesAuth),
}

/// `spec.authentication.kubernetesAuth`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct KubernetesAuth {
    /// The machine identity id.
    pub identity_id: String,
    /// The service account.
    pub service_account_ref: NamespacedName,
    /// Let the operator request tokens for the service account.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub auto_create_service_account_token: Option<bool>,
    /// Token audiences.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub service_account_token_audiences: Vec<String>,
    /// What to read.
    pub secrets_scope: SecretsScope,
}

/// A `{secretName, secretNamespace}` reference.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct KubeSecretReference {
    /// Secret name.
    pub secret_name: String,
    /// Secret namespace.
    pub secret_namespace: String,
}

/// `secretsScope` (`MachineIdentityScopeInWorkspace`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct SecretsScope {
    /// Project slug.
    pub project_slug: String,
    /// Environment slug.
    pub env_slug: String,
    /// Folder path.
    pub secrets_path: String,
    /// Include sub-folders.
    pub recursive: bool,
}

/// One of `spec.managedKubeSecretReferences`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct ManagedKubeSecretConfig {
    /// Secret name.
    pub secret_name: String,
    /// Secret namespace.
    pub secret_namespace: String,
    /// Secret type.
    pub secret_type: String,
    /// `Orphan` or `Owner`.
    pub creation_policy: &'static str,
    /// Data template and metadata.
    pub template: SecretTemplate,
}

/// One of `spec.managedKubeConfigMapReferences`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct ManagedKubeConfigMapConfig {
    /// ConfigMap name.
    pub config_map_name: String,
    /// ConfigMap namespace.
    pub config_map_namespace: String,
    /// `Orphan` or `Owner`.
    pub creation_policy: &'static str,
    /// Data template and metadata.
    pub template: SecretTemplate,
}

/// `template` of a `v1alpha1` target. Always emitted, with `metadata`, so that the operator
/// writes exactly the declared labels and annotations instead of copying the
/// `InfisicalSecret`'s own (which carry the ownership labels).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct SecretTemplate {
    /// Every fetched secret, plus `data`.
    pub include_all_secrets: bool,
    /// Output key → Go template.
    #[serde(skip_serializing_if = "BTreeMap::is_empty")]
    pub data: BTreeMap<String, String>,
    /// Labels and annotations of the written object.
    pub metadata: TargetMetadata,
}

/// Labels and annotations of a written Secret or ConfigMap.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct TargetMetadata {
    /// Labels.
    pub labels: BTreeMap<String, String>,
    /// Annotations.
    pub annotations: BTreeMap<String, String>,
}

// ---------------------------------------------------------------------------------------------
// v1beta1

/// A `{name, namespace}` reference.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct NamespacedName {
    /// Name.
    pub name: String,
    /// Namespace.
    pub namespace: String,
}

/// A `{name, namespace, key}` reference to a key of a Secret.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct SecretKeyReference {
    /// Secret name.
    pub name: String,
    /// Secret namespace.
    pub namespace: String,
    /// Key.
    pub key: String,
}

/// `spec` of a `v1beta1` `InfisicalConnection`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct InfisicalConnectionSpec {
    /// The Infisical site URL, without `/api`; the operator's `INFISICAL_HOST_API` when absent.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub address: Option<String>,
    /// A CA bundle.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub tls: Option<ConnectionTls>,
}

/// `spec.tls` of an `InfisicalConnection`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct ConnectionTls {
    /// The Secret key holding the CA bundle.
    pub ca_certificate: SecretKeyReference,
}

/// `spec` of a `v1beta1` `InfisicalAuth`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct InfisicalAuthSpec {
    /// The connection.
    pub infisical_connection_ref: NamespacedName,
    /// `universal`, `kubernetes`, `aws-iam`, `azure`, `gcp-id-token`, `gcp-iam` or `ldap`.
    pub method: &'static str,
    /// Universal auth credentials.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub universal: Option<UniversalAuthRefs>,
    /// Kubernetes auth settings.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub kubernetes: Option<KubernetesAuthRefs>,
    /// AWS IAM auth.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub aws_iam: Option<IdentityRefs>,
    /// Azure auth.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub azure: Option<AzureRefs>,
    /// GCP ID token auth.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub gcp_id_token: Option<IdentityRefs>,
    /// GCP IAM auth.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub gcp_iam: Option<GcpIamRefs>,
    /// LDAP auth.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub ldap: Option<LdapRefs>,
}

/// `spec.awsIam` / `spec.gcpIdToken` of an `InfisicalAuth`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct IdentityRefs {
    /// Where the machine identity id is.
    pub identity_id_ref: SecretKeyReference,
}

/// `spec.azure` of an `InfisicalAuth`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct AzureRefs {
    /// Where the machine identity id is.
    pub identity_id_ref: SecretKeyReference,
    /// The Azure resource.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub resource: Option<String>,
}

/// `spec.gcpIam` of an `InfisicalAuth`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct GcpIamRefs {
    /// Where the machine identity id is.
    pub identity_id_ref: SecretKeyReference,
    /// The key file's path in the operator's pod.
    pub service_account_key_file_path: String,
}

/// `spec.ldap` of an `InfisicalAuth`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct LdapRefs {
    /// Where the machine identity id is.
    pub identity_id_ref: SecretKeyReference,
    /// Where the username is.
    pub username_ref: SecretKeyReference,
    /// Where the password is.
    pub password_ref: SecretKeyReference,
}

/// `spec.universal` of an `InfisicalAuth`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct UniversalAuthRefs {
    /// Where the client id is.
    pub client_id_ref: SecretKeyReference,
    /// Where the client secret is.
    pub client_secret_ref: SecretKeyReference,
}

/// `spec.kubernetes` of an `InfisicalAuth`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct KubernetesAuthRefs {
    /// Where the machine identity id is.
    pub identity_id_ref: SecretKeyReference,
    /// The service account.
    pub service_account_ref: NamespacedName,
    /// Token audiences.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub service_account_token_audiences: Vec<String>,
}

/// `spec` of a `v1beta1` `InfisicalStaticSecret`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct InfisicalStaticSecretSpec {
    /// The `InfisicalAuth` to use.
    pub infisical_auth_ref: NamespacedName,
    /// Refresh interval and instant updates.
    pub sync_options: SyncOptions,
    /// What to read.
    pub sources: Vec<StaticSecretSource>,
    /// Where to write.
    pub targets: Vec<StaticSecretTarget>,
}

/// `spec.syncOptions`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct SyncOptions {
    /// e.g. `60s`; required by `v1beta1`.
    pub refresh_interval: String,
    /// Subscribe to project events.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub instant_updates: Option<bool>,
}

/// One of `spec.sources`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct StaticSecretSource {
    /// Project slug.
    pub project_slug: String,
    /// Environment slug.
    pub environment_slug: String,
    /// Folder path.
    pub secret_path: String,
    /// Include sub-folders.
    pub recursive: bool,
    /// Only secrets with one of these tags.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub tag_slugs: Vec<String>,
}

/// One of `spec.targets`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct StaticSecretTarget {
    /// Name of the written object.
    pub name: String,
    /// Its namespace.
    pub namespace: String,
    /// `Secret` or `ConfigMap`.
    pub kind: &'static str,
    /// Secret type (Secrets only).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub secret_type: Option<String>,
    /// `Orphan` or `Owner`.
    pub creation_policy: &'static str,
    /// Per-key Go templates; without one every fetched secret is written as is.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub template: Option<StaticSecretTemplate>,
    /// Labels and annotations of the written object.
    pub metadata: TargetMetadata,
}

/// `template` of a `v1beta1` target.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct StaticSecretTemplate {
    /// Always `v1`.
    pub engine_version: &'static str,
    /// Output key → Go template.
    pub data: BTreeMap<String, String>,
}
