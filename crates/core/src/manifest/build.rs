//! `KubernetesSync` → operator objects.

use std::collections::{BTreeMap, BTreeSet};
use std::fmt;

use sha2::{Digest, Sha256};

use crate::model::document::{
    CaRefSpec, CreationPolicy, OperatorApi, SyncAuthSpec, SyncSourceSpec, SyncTargetKind,
    SyncTargetSpec,
};
use crate::model::{DesiredState, KubernetesSync, Origin};

use super::object::{Manifest, Object, ObjectMeta, ObjectRef, Spec};
use super::operator::{
    Authentication, AzureRefs, CaRef, ConnectionTls, GcpIamRefs, IdentityRefs, InfisicalAuthSpec,
    InfisicalConnectionSpec, InfisicalSecretSpec, InfisicalStaticSecretSpec, KubeSecretReference,
    KubernetesAuth, KubernetesAuthRefs, LdapRefs, ManagedKubeConfigMapConfig,
    ManagedKubeSecretConfig, NamespacedName, SecretKeyReference, SecretTemplate, SecretsScope,
    StaticSecretSource, StaticSecretTarget, StaticSecretTemplate, SyncConfig, SyncOptions,
    TargetMetadata, TlsConfig, UniversalAuthRefs,
};
use super::{MANAGED_BY_LABEL, MANAGED_BY_VALUE, SOURCE_ANNOTATION, SYNC_LABEL, SYNCS_ANNOTATION};

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
    /// Several authentication methods are set.
    SeveralAuthentications(Vec<&'static str>),
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
    /// Both the single form and the list form of a field are set.
    MixedForms {
        /// `source` or `target`.
        single: &'static str,
        /// `sources` or `targets`.
        list: &'static str,
    },
    /// Neither form of a field is set.
    Missing {
        /// `source` or `target`.
        single: &'static str,
        /// `sources` or `targets`.
        list: &'static str,
    },
    /// Targets in several namespaces and no `spec.namespace` for the operator objects.
    AmbiguousNamespace,
    /// A feature only the `v1beta1` operator API has.
    NeedsV1beta1(&'static str),
    /// Two different shared objects hash to the same name (never seen; reported, not guessed).
    NameCollision(String),
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
            Problem::SeveralAuthentications(methods) => write!(
                f,
                "spec.auth sets several methods ({}): keep exactly one",
                methods.join(", ")
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
            Problem::MixedForms { single, list } => write!(
                f,
                "spec.{single} and spec.{list} are both set: use one form (move {single} into {list})"
            ),
            Problem::Missing { single, list } => {
                write!(f, "spec.{single} (or spec.{list}) is missing")
            }
            Problem::AmbiguousNamespace => f.write_str(
                "the targets are in several namespaces: set spec.namespace for the operator objects",
            ),
            Problem::NeedsV1beta1(field) => write!(
                f,
                "{field} needs operatorApi v1beta1 (the deprecated v1alpha1 InfisicalSecret cannot \
                 express it): remove operatorApi v1alpha1"
            ),
            Problem::NameCollision(name) => write!(
                f,
                "two different shared operator objects would both be named {name:?}"
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

/// A shared object being collected: its spec and the syncs that use it.
struct SharedObject {
    spec: Spec,
    syncs: BTreeSet<String>,
}

/// Every operator object the desired state asks for, all problems at once.
///
/// Order: the shared `InfisicalConnection`s, then the shared `InfisicalAuth`s (each by
/// namespace and name: referenced objects first), then for each `KubernetesSync` in name order
/// its `InfisicalStaticSecret` (`v1beta1`) or `InfisicalSecret` (`v1alpha1`).
pub fn manifests(state: &DesiredState, options: &Options) -> Result<Vec<Manifest>, ManifestErrors> {
    let mut own = Vec::new();
    let mut shared: BTreeMap<ObjectRef, SharedObject> = BTreeMap::new();
    let mut errors = Vec::new();
    for sync in state.kubernetes_syncs.values() {
        let mut fail = |problem| ManifestError {
            sync: sync.name.clone(),
            origin: sync.origin.clone(),
            problem,
        };
        match sync_manifests(sync, options) {
            Ok(emitted) => {
                for spec in emitted.shared {
                    let object = ObjectRef {
                        kind: spec.kind(),
                        namespace: emitted.namespace.clone(),
                        name: shared_name(&spec),
                    };
                    let entry = shared
                        .entry(object.clone())
                        .or_insert_with(|| SharedObject {
                            spec: spec.clone(),
                            syncs: BTreeSet::new(),
                        });
                    if entry.spec != spec {
                        errors.push(fail(Problem::NameCollision(object.name)));
                        continue;
                    }
                    entry.syncs.insert(sync.name.clone());
                }
                own.push(emitted.own);
            }
            Err(problems) => errors.extend(problems.into_iter().map(&mut fail)),
        }
    }
    if !errors.is_empty() {
        return Err(ManifestErrors(errors));
    }
    let mut out: Vec<Manifest> = shared
        .into_iter()
        .map(|(object, entry)| shared_manifest(object, entry))
        .collect();
    out.sort_by_key(|m| {
        (
            m.kind(),
            m.object.metadata.namespace.clone(),
            m.object.metadata.name.clone(),
        )
    });
    out.extend(own);
    Ok(out)
}

fn shared_manifest(object: ObjectRef, entry: SharedObject) -> Manifest {
    let syncs: Vec<String> = entry.syncs.into_iter().collect();
    let kind = object.kind;
    Manifest {
        sync: syncs.join(", "),
        shared: true,
        source_file: None,
        object: Object {
            api_version: kind.api_version(),
            kind: kind.name(),
            metadata: ObjectMeta {
                name: object.name,
                namespace: object.namespace,
                labels: BTreeMap::from([(
                    MANAGED_BY_LABEL.to_string(),
                    MANAGED_BY_VALUE.to_string(),
                )]),
                annotations: BTreeMap::from([(SYNCS_ANNOTATION.to_string(), syncs.join(","))]),
            },
            spec: entry.spec,
        },
    }
}

/// The name of a shared object: `infisical-connection-<hash>` or `infisical-<method>-<hash>`,
/// the hash being the first 10 hex digits of the SHA-256 of its spec as JSON (fields in their
/// fixed order). Same settings, same name; other settings, another object.
pub fn shared_name(spec: &Spec) -> String {
    let json = serde_json::to_vec(spec).unwrap_or_default();
    let digest = Sha256::digest(&json);
    let hash = &hex::encode(digest)[..10];
    match spec {
        Spec::InfisicalAuth(auth) => format!("infisical-{}-{hash}", auth.method),
        _ => format!("infisical-connection-{hash}"),
    }
}

/// The operator API a sync is emitted with.
pub fn operator_api(sync: &KubernetesSync, options: &Options) -> OperatorApi {
    options
        .operator_api
        .or(sync.spec.operator_api)
        .unwrap_or_default()
}

/// The namespace of a sync's operator objects: `spec.namespace`, else the first target's.
pub fn object_namespace(sync: &KubernetesSync) -> &str {
    sync.spec.namespace.as_deref().map_or_else(
        || {
            sync.spec
                .first_target()
                .map_or("", |t| t.namespace.as_str())
        },
        String::as_str,
    )
}

/// What one sync emits: its own object and the specs of the objects it may share.
struct Emitted {
    namespace: String,
    shared: Vec<Spec>,
    own: Manifest,
}

fn one_form<'a, T>(
    problems: &mut Vec<Problem>,
    single: (&'static str, Option<&'a T>),
    list: (&'static str, &'a [T]),
) -> Vec<&'a T> {
    match (single.1, list.1.is_empty()) {
        (Some(_), false) => {
            problems.push(Problem::MixedForms {
                single: single.0,
                list: list.0,
            });
            Vec::new()
        }
        (Some(one), true) => vec![one],
        (None, false) => list.1.iter().collect(),
        (None, true) => {
            problems.push(Problem::Missing {
                single: single.0,
                list: list.0,
            });
            Vec::new()
        }
    }
}

fn sync_manifests(sync: &KubernetesSync, options: &Options) -> Result<Emitted, Vec<Problem>> {
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
    let sources = one_form(
        &mut problems,
        ("source", spec.source.as_ref()),
        ("sources", &spec.sources),
    );
    let targets = one_form(
        &mut problems,
        ("target", spec.target.as_ref()),
        ("targets", &spec.targets),
    );
    if spec.namespace.is_none() && targets.iter().any(|t| t.namespace.as_str() != namespace) {
        problems.push(Problem::AmbiguousNamespace);
    } else if !targets.is_empty() || spec.namespace.is_some() {
        check_label(&mut problems, "namespace", namespace);
    }
    check_targets(&mut problems, api, namespace, &targets);
    let methods = spec
        .auth
        .as_ref()
        .map(SyncAuthSpec::methods)
        .unwrap_or_default();
    let auth = match methods.len() {
        0 => {
            problems.push(Problem::NoAuthentication);
            None
        }
        1 => spec.auth.as_ref(),
        _ => {
            problems.push(Problem::SeveralAuthentications(methods.clone()));
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
    check_operator_api(&mut problems, api, auth, &sources, &methods);
    let Some(auth) = auth.filter(|_| problems.is_empty()) else {
        return Err(problems);
    };

    let object = |spec: Spec| sync_object(sync, namespace, spec);

    Ok(match api {
        OperatorApi::V1alpha1 => Emitted {
            namespace: namespace.to_string(),
            shared: Vec::new(),
            own: object(Spec::InfisicalSecret(v1alpha1(
                sync, sources[0], &targets, auth,
            ))),
        },
        OperatorApi::V1beta1 => {
            let connection = Spec::InfisicalConnection(connection(sync));
            let connection_ref = NamespacedName {
                name: shared_name(&connection),
                namespace: namespace.to_string(),
            };
            let auth = Spec::InfisicalAuth(auth_spec(auth, connection_ref));
            let auth_ref = NamespacedName {
                name: shared_name(&auth),
                namespace: namespace.to_string(),
            };
            Emitted {
                namespace: namespace.to_string(),
                shared: vec![connection, auth],
                own: object(Spec::InfisicalStaticSecret(static_secret(
                    sync, &sources, &targets, auth_ref,
                ))),
            }
        }
    })
}

/// The problems of a sync's targets.
fn check_targets(
    problems: &mut Vec<Problem>,
    api: OperatorApi,
    namespace: &str,
    targets: &[&SyncTargetSpec],
) {
    for target in targets {
        check_label(problems, "target.namespace", &target.namespace);
        check_subdomain(problems, "target.name", &target.name);
        let target_kind = target.kind.unwrap_or_default();
        if target_kind == SyncTargetKind::ConfigMap && target.secret_type.is_some() {
            problems.push(Problem::SecretTypeOnConfigMap);
        }
        if target.creation_policy == Some(CreationPolicy::Owner)
            && namespace != target.namespace.as_str()
        {
            problems.push(Problem::OwnerAcrossNamespaces {
                namespace: namespace.to_string(),
                target: target.namespace.value.clone(),
            });
        }
        if api == OperatorApi::V1beta1
            && let Some(template) = &target.template
            && template.include_all_secrets
            && !template.data.is_empty()
        {
            problems.push(Problem::IncludeAllWithTemplateData);
        }
    }
}

/// The problems of a sync that its operator API version cannot express.
fn check_operator_api(
    problems: &mut Vec<Problem>,
    api: OperatorApi,
    auth: Option<&SyncAuthSpec>,
    sources: &[&SyncSourceSpec],
    methods: &[&str],
) {
    match api {
        OperatorApi::V1beta1 => {
            if let Some(kubernetes) = auth.and_then(|a| a.kubernetes_auth.as_ref())
                && kubernetes.identity_id_ref.is_none()
            {
                problems.push(Problem::MissingIdentityIdRef);
            }
        }
        OperatorApi::V1alpha1 => {
            if sources.len() > 1 {
                problems.push(Problem::NeedsV1beta1("spec.sources with several sources"));
            }
            if sources.iter().any(|s| !s.tag_slugs.is_empty()) {
                problems.push(Problem::NeedsV1beta1("source.tagSlugs"));
            }
            if let Some(method) = methods.first()
                && !matches!(*method, "universal" | "kubernetes")
                && methods.len() == 1
            {
                problems.push(Problem::NeedsV1beta1(match *method {
                    "aws-iam" => "auth.awsIamAuth",
                    "azure" => "auth.azureAuth",
                    "gcp-id-token" => "auth.gcpIdTokenAuth",
                    "gcp-iam" => "auth.gcpIamAuth",
                    _ => "auth.ldapAuth",
                }));
            }
        }
    }
}

/// The object a sync owns (named after it), around `spec`.
fn sync_object(sync: &KubernetesSync, namespace: &str, spec: Spec) -> Manifest {
    let kind = spec.kind();
    Manifest {
        sync: sync.name.clone(),
        shared: false,
        source_file: (!sync.origin.file.is_empty()).then(|| sync.origin.file.to_string()),
        object: Object {
            api_version: kind.api_version(),
            kind: kind.name(),
            metadata: ObjectMeta {
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
            },
            spec,
        },
    }
}

fn creation_policy(policy: Option<CreationPolicy>) -> &'static str {
    match policy.unwrap_or_default() {
        CreationPolicy::Orphan => "Orphan",
        CreationPolicy::Owner => "Owner",
    }
}

fn target_metadata(target: &SyncTargetSpec) -> TargetMetadata {
    TargetMetadata {
        labels: target.labels.clone(),
        annotations: target.annotations.clone(),
    }
}

fn v1alpha1(
    sync: &KubernetesSync,
    source: &SyncSourceSpec,
    targets: &[&SyncTargetSpec],
    auth: &SyncAuthSpec,
) -> InfisicalSecretSpec {
    let spec = &sync.spec;
    let scope = SecretsScope {
        project_slug: source.project.value.clone(),
        env_slug: source.environment.value.clone(),
        secrets_path: source.path.value.clone(),
        recursive: source.recursive,
    };
    let authentication = match (&auth.universal_auth, &auth.kubernetes_auth) {
        (_, Some(kubernetes)) => Authentication::KubernetesAuth(KubernetesAuth {
            identity_id: kubernetes.identity_id.clone(),
            service_account_ref: NamespacedName {
                name: kubernetes.service_account_ref.name.clone(),
                namespace: kubernetes.service_account_ref.namespace.clone(),
            },
            auto_create_service_account_token: kubernetes.auto_create_service_account_token,
            service_account_token_audiences: kubernetes.service_account_token_audiences.clone(),
            secrets_scope: scope,
        }),
        // Checked before: exactly one method, universal or Kubernetes.
        (universal, None) => Authentication::UniversalAuth {
            credentials_ref: KubeSecretReference {
                secret_name: universal
                    .as_ref()
                    .map(|u| u.credentials_ref.name.clone())
                    .unwrap_or_default(),
                secret_namespace: universal
                    .as_ref()
                    .map(|u| u.credentials_ref.namespace.clone())
                    .unwrap_or_default(),
            },
            secrets_scope: scope,
        },
    };
    let sync_config =
        (spec.resync_interval.is_some() || spec.instant_updates.is_some()).then(|| SyncConfig {
            resync_interval: spec.resync_interval.as_ref().map(|i| i.value.clone()),
            instant_updates: spec.instant_updates,
        });
    let mut secrets = Vec::new();
    let mut config_maps = Vec::new();
    for target in targets {
        // No template, or one without data, means every fetched secret as is.
        let template = SecretTemplate {
            include_all_secrets: target
                .template
                .as_ref()
                .is_none_or(|t| t.include_all_secrets || t.data.is_empty()),
            data: target
                .template
                .as_ref()
                .map(|t| t.data.clone())
                .unwrap_or_default(),
            metadata: target_metadata(target),
        };
        let policy = creation_policy(target.creation_policy);
        match target.kind.unwrap_or_default() {
            SyncTargetKind::Secret => secrets.push(ManagedKubeSecretConfig {
                secret_name: target.name.value.clone(),
                secret_namespace: target.namespace.value.clone(),
                secret_type: target
                    .secret_type
                    .clone()
                    .unwrap_or_else(|| "Opaque".to_string()),
                creation_policy: policy,
                template,
            }),
            SyncTargetKind::ConfigMap => config_maps.push(ManagedKubeConfigMapConfig {
                config_map_name: target.name.value.clone(),
                config_map_namespace: target.namespace.value.clone(),
                creation_policy: policy,
                template,
            }),
        }
    }
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
            ca_certificate: key_ref(&tls.ca_ref),
        }),
    }
}

fn key_ref(reference: &CaRefSpec) -> SecretKeyReference {
    SecretKeyReference {
        name: reference.name.clone(),
        namespace: reference.namespace.clone(),
        key: reference.key.clone(),
    }
}

fn auth_spec(auth: &SyncAuthSpec, connection: NamespacedName) -> InfisicalAuthSpec {
    let mut spec = InfisicalAuthSpec {
        infisical_connection_ref: connection,
        method: "universal",
        universal: None,
        kubernetes: None,
        aws_iam: None,
        azure: None,
        gcp_id_token: None,
        gcp_iam: None,
        ldap: None,
    };
    if let Some(universal) = &auth.universal_auth {
        let key = |key: &str| SecretKeyReference {
            name: universal.credentials_ref.name.clone(),
            namespace: universal.credentials_ref.namespace.clone(),
            key: key.to_string(),
        };
        spec.universal = Some(UniversalAuthRefs {
            client_id_ref: key(CLIENT_ID_KEY),
            client_secret_ref: key(CLIENT_SECRET_KEY),
        });
    } else if let Some(kubernetes) = &auth.kubernetes_auth {
        spec.method = "kubernetes";
        spec.kubernetes = kubernetes
            .identity_id_ref
            .as_ref()
            .map(|id| KubernetesAuthRefs {
                identity_id_ref: key_ref(id),
                service_account_ref: NamespacedName {
                    name: kubernetes.service_account_ref.name.clone(),
                    namespace: kubernetes.service_account_ref.namespace.clone(),
                },
                service_account_token_audiences: kubernetes.service_account_token_audiences.clone(),
            });
    } else if let Some(aws) = &auth.aws_iam_auth {
        spec.method = "aws-iam";
        spec.aws_iam = Some(IdentityRefs {
            identity_id_ref: key_ref(&aws.identity_id_ref),
        });
    } else if let Some(azure) = &auth.azure_auth {
        spec.method = "azure";
        spec.azure = Some(AzureRefs {
            identity_id_ref: key_ref(&azure.identity_id_ref),
            resource: azure.resource.clone(),
        });
    } else if let Some(gcp) = &auth.gcp_id_token_auth {
        spec.method = "gcp-id-token";
        spec.gcp_id_token = Some(IdentityRefs {
            identity_id_ref: key_ref(&gcp.identity_id_ref),
        });
    } else if let Some(gcp) = &auth.gcp_iam_auth {
        spec.method = "gcp-iam";
        spec.gcp_iam = Some(GcpIamRefs {
            identity_id_ref: key_ref(&gcp.identity_id_ref),
            service_account_key_file_path: gcp.service_account_key_file_path.clone(),
        });
    } else if let Some(ldap) = &auth.ldap_auth {
        spec.method = "ldap";
        spec.ldap = Some(LdapRefs {
            identity_id_ref: key_ref(&ldap.identity_id_ref),
            username_ref: key_ref(&ldap.username_ref),
            password_ref: key_ref(&ldap.password_ref),
        });
    }
    spec
}

fn static_secret(
    sync: &KubernetesSync,
    sources: &[&SyncSourceSpec],
    targets: &[&SyncTargetSpec],
    auth: NamespacedName,
) -> InfisicalStaticSecretSpec {
    let spec = &sync.spec;
    InfisicalStaticSecretSpec {
        infisical_auth_ref: auth,
        sync_options: SyncOptions {
            refresh_interval: spec
                .resync_interval
                .as_ref()
                .map_or_else(|| DEFAULT_REFRESH_INTERVAL.to_string(), |i| i.value.clone()),
            instant_updates: spec.instant_updates,
        },
        sources: sources
            .iter()
            .map(|source| StaticSecretSource {
                project_slug: source.project.value.clone(),
                environment_slug: source.environment.value.clone(),
                secret_path: source.path.value.clone(),
                recursive: source.recursive,
                tag_slugs: source.tag_slugs.clone(),
            })
            .collect(),
        targets: targets
            .iter()
            .map(|target| {
                let target_kind = target.kind.unwrap_or_default();
                StaticSecretTarget {
                    name: target.name.value.clone(),
                    namespace: target.namespace.value.clone(),
                    kind: match target_kind {
                        SyncTargetKind::Secret => "Secret",
                        SyncTargetKind::ConfigMap => "ConfigMap",
                    },
                    secret_type: match target_kind {
                        SyncTargetKind::Secret => Some(
                            target
                                .secret_type
                                .clone()
                                .unwrap_or_else(|| "Opaque".to_string()),
                        ),
                        SyncTargetKind::ConfigMap => None,
                    },
                    creation_policy: creation_policy(target.creation_policy),
                    template: target
                        .template
                        .as_ref()
                        .filter(|t| !t.data.is_empty())
                        .map(|t| StaticSecretTemplate {
                            engine_version: "v1",
                            data: t.data.clone(),
                        }),
                    metadata: target_metadata(target),
                }
            })
            .collect(),
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
