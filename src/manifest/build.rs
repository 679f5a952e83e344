//! `KubernetesSync` → operator objects.

use std::collections::BTreeMap;
use std::fmt;

use crate::model::document::{
    CreationPolicy, KubernetesAuthSpec, OperatorApi, SyncAuthSpec, SyncTargetKind,
};
use crate::model::{DesiredState, KubernetesSync, Origin};

use super::object::{Manifest, Object, ObjectMeta, Spec};
use super::operator::{
    Authentication, CaRef, ConnectionTls, InfisicalAuthSpec, InfisicalConnectionSpec,
    InfisicalSecretSpec, InfisicalStaticSecretSpec, KubeSecretReference, KubernetesAuth,
    KubernetesAuthRefs, ManagedKubeConfigMapConfig, ManagedKubeSecretConfig, NamespacedName,
    SecretKeyReference, SecretTemplate, SecretsScope, StaticSecretSource, StaticSecretTarget,
    StaticSecretTemplate, SyncConfig, SyncOptions, TargetMetadata, TlsConfig, UniversalAuthRefs,
};
use super::{MANAGED_BY_LABEL, MANAGED_BY_VALUE, SOURCE_ANNOTATION, SYNC_LABEL};

/// `syncOptions.refreshInterval` when a `v1beta1` sync sets no resync interval (the `v1beta1`
/// API requires one; five minutes is the `v1alpha1` operator's own default).
pub const DEFAULT_REFRESH_INTERVAL: &str = "5m";

/// The keys of the universal-auth credentials Secret (the operator's convention).
pub const CLIENT_ID_KEY: &str = "clientId";
/// See [`CLIENT_ID_KEY`].
pub const CLIENT_SECRET_KEY: &str = "clientSecret";

/// Options of one emission.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Options {
    /// Emit this operator API for every sync, whatever the repository says.
    pub operator_api: Option<OperatorApi>,
}

/// Why a `KubernetesSync` cannot be turned into operator objects.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Problem {
    /// Neither the sync nor `KubernetesDefaults` says how the operator logs in.
    NoAuthentication,
    /// Both universal and Kubernetes auth are set.
    TwoAuthentications,
    /// `v1beta1` reads the identity id from a Secret.
    MissingIdentityIdRef,
    /// `v1beta1` templates replace the data; they cannot also include everything.
    IncludeAllWithTemplateData,
    /// A ConfigMap has no Secret type.
    SecretTypeOnConfigMap,
    /// Kubernetes owner references never cross namespaces.
    OwnerAcrossNamespaces {
        /// Namespace of the operator resource.
        namespace: String,
        /// Namespace of the written object.
        target: String,
    },
    /// Not `<number><s|m|h|d|w>`, or under five seconds.
    InvalidResyncInterval(String),
    /// Not an `http(s)://` URL.
    InvalidHostApi(String),
    /// A name that Kubernetes would reject.
    InvalidName {
        /// Which field.
        field: &'static str,
        /// The value.
        value: String,
        /// What is wrong.
        reason: &'static str,
    },
}

impl fmt::Display for Problem {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Problem::NoAuthentication => f.write_str(
                "no operator authentication: set spec.auth here or in KubernetesDefaults",
            ),
            Problem::TwoAuthentications => f.write_str(
                "spec.auth sets both universalAuth and kubernetesAuth: keep exactly one",
            ),
            Problem::MissingIdentityIdRef => f.write_str(
                "the v1beta1 InfisicalAuth reads the machine identity id from a Secret: \
                 set spec.auth.kubernetesAuth.identityIdRef (name, namespace, key)",
            ),
            Problem::IncludeAllWithTemplateData => f.write_str(
                "v1beta1 templates replace the fetched secrets, so target.template cannot set \
                 both includeAllSecrets and data: list every key in data, or use operatorApi v1alpha1",
            ),
            Problem::SecretTypeOnConfigMap => {
                f.write_str("target.type applies to Secrets only, not to kind ConfigMap")
            }
            Problem::OwnerAcrossNamespaces { namespace, target } => write!(
                f,
                "target.creationPolicy Owner needs the operator resource in the target's \
                 namespace {target:?}, but spec.namespace is {namespace:?} (owner references \
                 cannot cross namespaces): drop spec.namespace or use Orphan"
            ),
            Problem::InvalidResyncInterval(value) => write!(
                f,
                "resyncInterval {value:?} is not a number followed by s, m, h, d or w \
                 of at least 5s (e.g. 60s, 5m)"
            ),
            Problem::InvalidHostApi(value) => {
                write!(f, "hostAPI {value:?} is not an http:// or https:// URL")
            }
            Problem::InvalidName {
                field,
                value,
                reason,
            } => write!(f, "{field} {value:?} {reason}"),
        }
    }
}

/// A problem with one `KubernetesSync`.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("kubernetes sync {sync} ({origin}): {problem}")]
pub struct ManifestError {
    /// The sync's name.
    pub sync: String,
    /// Where it is declared.
    pub origin: Origin,
    /// What is wrong.
    pub problem: Problem,
}

/// Every problem found, in sync order.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub struct ManifestErrors(pub Vec<ManifestError>);

impl fmt::Display for ManifestErrors {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let count = self.0.len();
        write!(
            f,
            "{count} kubernetes sync problem{}",
            if count == 1 { "" } else { "s" }
        )?;
        for error in &self.0 {
            write!(f, "\n  {error}")?;
        }
        Ok(())
    }
}

/// Every operator object the desired state asks for: for each `KubernetesSync` in name order,
/// one `InfisicalSecret` (`v1alpha1`), or an `InfisicalConnection`, an `InfisicalAuth` and an
/// `InfisicalStaticSecret` (`v1beta1`), all named after the sync, in the sync's namespace,
/// with the ownership labels. All problems are reported at once.
pub fn manifests(state: &DesiredState, options: &Options) -> Result<Vec<Manifest>, ManifestErrors> {
    let mut out = Vec::new();
    let mut errors = Vec::new();
    for sync in state.kubernetes_syncs.values() {
        match sync_manifests(sync, options) {
            Ok(objects) => out.extend(objects),
            Err(problems) => errors.extend(problems.into_iter().map(|problem| ManifestError {
                sync: sync.name.clone(),
                origin: sync.origin.clone(),
                problem,
            })),
        }
    }
    if errors.is_empty() {
        Ok(out)
    } else {
        Err(ManifestErrors(errors))
    }
}

/// The operator API a sync is emitted with.
pub fn operator_api(sync: &KubernetesSync, options: &Options) -> OperatorApi {
    options
        .operator_api
        .or(sync.spec.operator_api)
        .unwrap_or_default()
}

/// The namespace of a sync's operator objects: `spec.namespace`, else the target's.
pub fn object_namespace(sync: &KubernetesSync) -> &str {
    sync.spec
        .namespace
        .as_deref()
        .map_or(sync.spec.target.namespace.as_str(), String::as_str)
}

enum Method<'a> {
    Universal(&'a crate::model::document::UniversalAuthSpec),
    Kubernetes(&'a KubernetesAuthSpec),
}

fn sync_manifests(sync: &KubernetesSync, options: &Options) -> Result<Vec<Manifest>, Vec<Problem>> {
    let spec = &sync.spec;
    let api = operator_api(sync, options);
    let namespace = object_namespace(sync);
    let mut problems = Vec::new();

    check_subdomain(&mut problems, "metadata.name", &sync.name);
    if sync.name.len() > 63 {
        problems.push(Problem::InvalidName {
            field: "metadata.name",
            value: sync.name.clone(),
            reason: "is longer than 63 characters, the limit of the label that names it",
        });
    }
    check_label(&mut problems, "namespace", namespace);
    check_label(&mut problems, "target.namespace", &spec.target.namespace);
    check_subdomain(&mut problems, "target.name", &spec.target.name);
    let method = match spec.auth.as_ref() {
        Some(SyncAuthSpec {
            universal_auth: Some(_),
            kubernetes_auth: Some(_),
        }) => {
            problems.push(Problem::TwoAuthentications);
            None
        }
        Some(SyncAuthSpec {
            universal_auth: Some(universal),
            ..
        }) => Some(Method::Universal(universal)),
        Some(SyncAuthSpec {
            kubernetes_auth: Some(kubernetes),
            ..
        }) => Some(Method::Kubernetes(kubernetes)),
        _ => {
            problems.push(Problem::NoAuthentication);
            None
        }
    };
    if let Some(interval) = spec.resync_interval.as_deref()
        && !valid_interval(interval)
    {
        problems.push(Problem::InvalidResyncInterval(interval.clone()));
    }
    if let Some(host) = spec.host_api.as_deref()
        && !(host.starts_with("https://") || host.starts_with("http://"))
    {
        problems.push(Problem::InvalidHostApi(host.clone()));
    }
    let target_kind = spec.target.kind.unwrap_or_default();
    if target_kind == SyncTargetKind::ConfigMap && spec.target.secret_type.is_some() {
        problems.push(Problem::SecretTypeOnConfigMap);
    }
    if spec.target.creation_policy == Some(CreationPolicy::Owner)
        && namespace != spec.target.namespace.as_str()
    {
        problems.push(Problem::OwnerAcrossNamespaces {
            namespace: namespace.to_string(),
            target: spec.target.namespace.value.clone(),
        });
    }
    if api == OperatorApi::V1beta1 {
        if let Some(Method::Kubernetes(kubernetes)) = &method
            && kubernetes.identity_id_ref.is_none()
        {
            problems.push(Problem::MissingIdentityIdRef);
        }
        if let Some(template) = &spec.target.template
            && template.include_all_secrets
            && !template.data.is_empty()
        {
            problems.push(Problem::IncludeAllWithTemplateData);
        }
    }
    let Some(method) = method.filter(|_| problems.is_empty()) else {
        return Err(problems);
    };

    let metadata = || ObjectMeta {
        name: sync.name.clone(),
        namespace: namespace.to_string(),
        labels: BTreeMap::from([
            (MANAGED_BY_LABEL.to_string(), MANAGED_BY_VALUE.to_string()),
            (SYNC_LABEL.to_string(), sync.name.clone()),
        ]),
        annotations: if sync.origin.file.is_empty() {
            BTreeMap::new()
        } else {
            BTreeMap::from([(SOURCE_ANNOTATION.to_string(), sync.origin.file.to_string())])
        },
    };
    let manifest = |spec: Spec| {
        let kind = spec.kind();
        Manifest {
            sync: sync.name.clone(),
            source_file: (!sync.origin.file.is_empty()).then(|| sync.origin.file.to_string()),
            object: Object {
                api_version: kind.api_version(),
                kind: kind.name(),
                metadata: metadata(),
                spec,
            },
        }
    };

    Ok(match api {
        OperatorApi::V1alpha1 => vec![manifest(Spec::InfisicalSecret(v1alpha1(sync, &method)))],
        OperatorApi::V1beta1 => {
            let own = NamespacedName {
                name: sync.name.clone(),
                namespace: namespace.to_string(),
            };
            vec![
                manifest(Spec::InfisicalConnection(connection(sync))),
                manifest(Spec::InfisicalAuth(auth(&method, own.clone()))),
                manifest(Spec::InfisicalStaticSecret(static_secret(sync, own))),
            ]
        }
    })
}

fn creation_policy(policy: Option<CreationPolicy>) -> &'static str {
    match policy.unwrap_or_default() {
        CreationPolicy::Orphan => "Orphan",
        CreationPolicy::Owner => "Owner",
    }
}

fn target_metadata(sync: &KubernetesSync) -> TargetMetadata {
    TargetMetadata {
        labels: sync.spec.target.labels.clone(),
        annotations: sync.spec.target.annotations.clone(),
    }
}

fn v1alpha1(sync: &KubernetesSync, method: &Method<'_>) -> InfisicalSecretSpec {
    let spec = &sync.spec;
    let scope = SecretsScope {
        project_slug: spec.source.project.value.clone(),
        env_slug: spec.source.environment.value.clone(),
        secrets_path: spec.source.path.value.clone(),
        recursive: spec.source.recursive,
    };
    let authentication = match method {
        Method::Universal(universal) => Authentication::UniversalAuth {
            credentials_ref: KubeSecretReference {
                secret_name: universal.credentials_ref.name.clone(),
                secret_namespace: universal.credentials_ref.namespace.clone(),
            },
            secrets_scope: scope,
        },
        Method::Kubernetes(kubernetes) => Authentication::KubernetesAuth(KubernetesAuth {
            identity_id: kubernetes.identity_id.clone(),
            service_account_ref: NamespacedName {
                name: kubernetes.service_account_ref.name.clone(),
                namespace: kubernetes.service_account_ref.namespace.clone(),
            },
            auto_create_service_account_token: kubernetes.auto_create_service_account_token,
            service_account_token_audiences: kubernetes.service_account_token_audiences.clone(),
            secrets_scope: scope,
        }),
    };
    let sync_config =
        (spec.resync_interval.is_some() || spec.instant_updates.is_some()).then(|| SyncConfig {
            resync_interval: spec.resync_interval.as_ref().map(|i| i.value.clone()),
            instant_updates: spec.instant_updates,
        });
    // No template, or one without data, means every fetched secret as is.
    let template = SecretTemplate {
        include_all_secrets: spec
            .target
            .template
            .as_ref()
            .is_none_or(|t| t.include_all_secrets || t.data.is_empty()),
        data: spec
            .target
            .template
            .as_ref()
            .map(|t| t.data.clone())
            .unwrap_or_default(),
        metadata: target_metadata(sync),
    };
    let policy = creation_policy(spec.target.creation_policy);
    let (secrets, config_maps) = match spec.target.kind.unwrap_or_default() {
        SyncTargetKind::Secret => (
            vec![ManagedKubeSecretConfig {
                secret_name: spec.target.name.value.clone(),
                secret_namespace: spec.target.namespace.value.clone(),
                secret_type: spec
                    .target
                    .secret_type
                    .clone()
                    .unwrap_or_else(|| "Opaque".to_string()),
                creation_policy: policy,
                template,
            }],
            Vec::new(),
        ),
        SyncTargetKind::ConfigMap => (
            Vec::new(),
            vec![ManagedKubeConfigMapConfig {
                config_map_name: spec.target.name.value.clone(),
                config_map_namespace: spec.target.namespace.value.clone(),
                creation_policy: policy,
                template,
            }],
        ),
    };
    InfisicalSecretSpec {
        host_api: spec.host_api.as_ref().map(|h| h.value.clone()),
        sync_config,
        tls: spec.tls.as_ref().map(|tls| TlsConfig {
            ca_ref: CaRef {
                secret_name: tls.ca_ref.name.clone(),
                secret_namespace: tls.ca_ref.namespace.clone(),
                key: tls.ca_ref.key.clone(),
            },
        }),
        authentication,
        managed_kube_secret_references: secrets,
        managed_kube_config_map_references: config_maps,
    }
}

/// The `v1beta1` connection address: the site URL. The operator appends `/api` itself, so a
/// `hostAPI` written for `v1alpha1` (`https://host/api`) loses its `/api` suffix.
pub fn connection_address(host_api: &str) -> String {
    let trimmed = host_api.trim_end_matches('/');
    trimmed.strip_suffix("/api").unwrap_or(trimmed).to_string()
}

fn connection(sync: &KubernetesSync) -> InfisicalConnectionSpec {
    InfisicalConnectionSpec {
        address: sync.spec.host_api.as_deref().map(|h| connection_address(h)),
        tls: sync.spec.tls.as_ref().map(|tls| ConnectionTls {
            ca_certificate: SecretKeyReference {
                name: tls.ca_ref.name.clone(),
                namespace: tls.ca_ref.namespace.clone(),
                key: tls.ca_ref.key.clone(),
            },
        }),
    }
}

fn auth(method: &Method<'_>, connection: NamespacedName) -> InfisicalAuthSpec {
    match method {
        Method::Universal(universal) => {
            let key = |key: &str| SecretKeyReference {
                name: universal.credentials_ref.name.clone(),
                namespace: universal.credentials_ref.namespace.clone(),
                key: key.to_string(),
            };
            InfisicalAuthSpec {
                infisical_connection_ref: connection,
                method: "universal",
                universal: Some(UniversalAuthRefs {
                    client_id_ref: key(CLIENT_ID_KEY),
                    client_secret_ref: key(CLIENT_SECRET_KEY),
                }),
                kubernetes: None,
            }
        }
        Method::Kubernetes(kubernetes) => InfisicalAuthSpec {
            infisical_connection_ref: connection,
            method: "kubernetes",
            universal: None,
            kubernetes: kubernetes
                .identity_id_ref
                .as_ref()
                .map(|id| KubernetesAuthRefs {
                    identity_id_ref: SecretKeyReference {
                        name: id.name.clone(),
                        namespace: id.namespace.clone(),
                        key: id.key.clone(),
                    },
                    service_account_ref: NamespacedName {
                        name: kubernetes.service_account_ref.name.clone(),
                        namespace: kubernetes.service_account_ref.namespace.clone(),
                    },
                    service_account_token_audiences: kubernetes
                        .service_account_token_audiences
                        .clone(),
                }),
        },
    }
}

fn static_secret(sync: &KubernetesSync, auth: NamespacedName) -> InfisicalStaticSecretSpec {
    let spec = &sync.spec;
    let target_kind = spec.target.kind.unwrap_or_default();
    let template = spec
        .target
        .template
        .as_ref()
        .filter(|t| !t.data.is_empty())
        .map(|t| StaticSecretTemplate {
            engine_version: "v1",
            data: t.data.clone(),
        });
    InfisicalStaticSecretSpec {
        infisical_auth_ref: auth,
        sync_options: SyncOptions {
            refresh_interval: spec
                .resync_interval
                .as_ref()
                .map_or_else(|| DEFAULT_REFRESH_INTERVAL.to_string(), |i| i.value.clone()),
            instant_updates: spec.instant_updates,
        },
        sources: vec![StaticSecretSource {
            project_slug: spec.source.project.value.clone(),
            environment_slug: spec.source.environment.value.clone(),
            secret_path: spec.source.path.value.clone(),
            recursive: spec.source.recursive,
        }],
        targets: vec![StaticSecretTarget {
            name: spec.target.name.value.clone(),
            namespace: spec.target.namespace.value.clone(),
            kind: match target_kind {
                SyncTargetKind::Secret => "Secret",
                SyncTargetKind::ConfigMap => "ConfigMap",
            },
            secret_type: match target_kind {
                SyncTargetKind::Secret => Some(
                    spec.target
                        .secret_type
                        .clone()
                        .unwrap_or_else(|| "Opaque".to_string()),
                ),
                SyncTargetKind::ConfigMap => None,
            },
            creation_policy: creation_policy(spec.target.creation_policy),
            template,
            metadata: target_metadata(sync),
        }],
    }
}

/// `<digits><s|m|h|d|w>`, at least five seconds (the operator's rule).
pub fn valid_interval(value: &str) -> bool {
    let Some(unit) = value.chars().last() else {
        return false;
    };
    let number = &value[..value.len() - unit.len_utf8()];
    if number.is_empty() || !number.bytes().all(|b| b.is_ascii_digit()) {
        return false;
    }
    let Ok(number) = number.parse::<u64>() else {
        return false;
    };
    match unit {
        's' => number >= 5,
        'm' | 'h' | 'd' | 'w' => number >= 1,
        _ => false,
    }
}

/// An RFC 1123 label: at most 63 characters of `a-z`, `0-9` and `-`, alphanumeric at both ends.
pub fn is_dns_label(value: &str) -> bool {
    !value.is_empty()
        && value.len() <= 63
        && value
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-')
        && !value.starts_with('-')
        && !value.ends_with('-')
}

/// An RFC 1123 subdomain: dot-separated labels, at most 253 characters.
pub fn is_dns_subdomain(value: &str) -> bool {
    value.len() <= 253 && value.split('.').all(is_dns_label)
}

fn check_label(problems: &mut Vec<Problem>, field: &'static str, value: &str) {
    if !is_dns_label(value) {
        problems.push(Problem::InvalidName {
            field,
            value: value.to_string(),
            reason: "is not a Kubernetes name (at most 63 lowercase letters, digits and '-', \
                     starting and ending with a letter or digit)",
        });
    }
}

fn check_subdomain(problems: &mut Vec<Problem>, field: &'static str, value: &str) {
    if !is_dns_subdomain(value) {
        problems.push(Problem::InvalidName {
            field,
            value: value.to_string(),
            reason: "is not a Kubernetes object name (lowercase letters, digits, '-' and '.')",
        });
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn intervals_follow_the_operator_rule() {
        for ok in ["5s", "60s", "1m", "2h", "1d", "1w", "300s"] {
            assert!(valid_interval(ok), "{ok}");
        }
        for bad in [
            "", "s", "4s", "0s", "0m", "1", "1x", "-5s", "1.5m", "5 s", "m5",
        ] {
            assert!(!valid_interval(bad), "{bad}");
        }
    }

    #[test]
    fn connection_address_drops_the_api_suffix() {
        assert_eq!(
            connection_address("https://x.example/api"),
            "https://x.example"
        );
        assert_eq!(
            connection_address("https://x.example/api/"),
            "https://x.example"
        );
        assert_eq!(connection_address("https://x.example"), "https://x.example");
        assert_eq!(
            connection_address("https://x.example/infisical/api"),
            "https://x.example/infisical"
        );
    }

    #[test]
    fn dns_names() {
        assert!(is_dns_label("billing-api"));
        assert!(!is_dns_label("Billing"));
        assert!(!is_dns_label("-a"));
        assert!(!is_dns_label(&"a".repeat(64)));
        assert!(is_dns_subdomain("a.b-c"));
        assert!(!is_dns_subdomain("a..b"));
    }
}
