//! Applying manifests to a cluster: server-side apply, prune, dry run with a diff.
//!
//! This is the one part of [`crate::manifest`] that does IO. The [`Cluster`] trait is the port;
//! [`KubeCluster`] implements it with the `kube` client (kubeconfig or in-cluster config);
//! [`apply`] drives any `Cluster` and is what the CLI and the daemon call.

use std::collections::BTreeSet;
use std::fmt;

use async_trait::async_trait;
use kube::api::{
    Api, ApiResource, DeleteParams, DynamicObject, ListParams, Patch, PatchParams,
    ValidationDirective,
};
use serde_json::Value;

use super::object::{GROUP, Kind, Manifest, ObjectRef};
use super::{FIELD_MANAGER, MANAGED_BY_LABEL, MANAGED_BY_VALUE};

/// A field the API server complained about.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FieldCause {
    /// e.g. `spec.syncConfig.resyncInterval`.
    pub field: String,
    /// What is wrong with it.
    pub message: String,
}

/// What the API server answered when it refused a request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Refusal {
    /// HTTP status code.
    pub code: u16,
    /// Machine-readable reason, e.g. `Invalid`, `Forbidden`, `Conflict`.
    pub reason: String,
    /// The server's message.
    pub message: String,
    /// The fields it named.
    pub fields: Vec<FieldCause>,
    /// What probably went wrong, when the answer alone does not say.
    pub hint: Option<String>,
}

impl fmt::Display for Refusal {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} {}: {}", self.code, self.reason, self.message)?;
        for cause in &self.fields {
            if !self.message.contains(&cause.field) {
                write!(f, "; field {}: {}", cause.field, cause.message)?;
            }
        }
        if let Some(hint) = &self.hint {
            write!(f, " ({hint})")?;
        }
        Ok(())
    }
}

/// Errors talking to the cluster. Each names the object (or kind) and the operation.
#[derive(Debug, thiserror::Error)]
pub enum ClusterError {
    /// No kubeconfig and not in a cluster, or the config is unusable.
    #[error("could not configure the kubernetes client (kubeconfig or in-cluster service account)")]
    Config(#[source] Box<dyn std::error::Error + Send + Sync>),
    /// The API server refused a request about one object.
    #[error("kubernetes refused to {operation} {object}: {refusal}")]
    Refused {
        /// `apply`, `read`, `delete`.
        operation: &'static str,
        /// The object.
        object: ObjectRef,
        /// The server's answer.
        refusal: Box<Refusal>,
    },
    /// A request about one object failed before the server answered.
    #[error("could not {operation} {object}")]
    Request {
        /// `apply`, `read`, `delete`.
        operation: &'static str,
        /// The object.
        object: ObjectRef,
        /// The transport error.
        #[source]
        source: Box<dyn std::error::Error + Send + Sync>,
    },
    /// Listing the objects of a kind failed.
    #[error("could not list {kind} objects labelled {MANAGED_BY_LABEL}={MANAGED_BY_VALUE}")]
    List {
        /// The kind.
        kind: Kind,
        /// The cause.
        #[source]
        source: Box<dyn std::error::Error + Send + Sync>,
    },
    /// The server answered with something that is not an object of the expected kind.
    #[error("unexpected answer for {object}: {detail}")]
    Unexpected {
        /// The object.
        object: ObjectRef,
        /// What was wrong.
        detail: String,
    },
}

/// The cluster, as [`apply`] needs it.
#[async_trait]
pub trait Cluster: Send + Sync {
    /// The live object, or `None` when it does not exist.
    async fn get(&self, object: &ObjectRef) -> Result<Option<Value>, ClusterError>;
    /// Server-side apply with field manager [`FIELD_MANAGER`] (forced: the repository wins
    /// conflicts) and strict field validation; returns the object as stored, or as it would be
    /// stored with `dry_run`.
    async fn apply(&self, manifest: &Manifest, dry_run: bool) -> Result<Value, ClusterError>;
    /// Every object of `kind` labelled [`MANAGED_BY_LABEL`]`=`[`MANAGED_BY_VALUE`], in every
    /// namespace; empty when the kind's CRD is not installed.
    async fn list_managed(&self, kind: Kind) -> Result<Vec<ObjectRef>, ClusterError>;
    /// Deletes an object (or, with `dry_run`, asks the server whether it could).
    async fn delete(&self, object: &ObjectRef, dry_run: bool) -> Result<(), ClusterError>;
}

/// Options of [`apply`].
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct ApplyOptions {
    /// Server-side dry run: nothing is stored; the report carries a diff per object.
    pub dry_run: bool,
    /// Delete objects carrying our label that are no longer declared.
    pub prune: bool,
}

/// What happened (or, in a dry run, would happen) to one object.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ObjectOutcome {
    /// It did not exist.
    Created,
    /// It existed and changed.
    Configured,
    /// It existed and is unchanged.
    Unchanged,
    /// It was ours, no longer declared, and deleted.
    Pruned,
}

impl fmt::Display for ObjectOutcome {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            ObjectOutcome::Created => "created",
            ObjectOutcome::Configured => "configured",
            ObjectOutcome::Unchanged => "unchanged",
            ObjectOutcome::Pruned => "pruned",
        })
    }
}

/// The result for one object.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ObjectResult {
    /// The object.
    pub object: ObjectRef,
    /// What happened.
    pub outcome: ObjectOutcome,
    /// A unified diff of the live object against the applied one (dry runs; `None` when
    /// unchanged).
    pub diff: Option<String>,
}

/// The result of [`apply`]: one entry per object in the order handled, and every error.
#[derive(Debug, Default)]
pub struct ClusterApplyReport {
    /// Whether this was a dry run.
    pub dry_run: bool,
    /// Per object.
    pub results: Vec<ObjectResult>,
    /// Failures; objects after a failed one are still applied, but nothing is pruned.
    pub errors: Vec<ClusterError>,
    /// Why prune was skipped, if it was requested and skipped.
    pub prune_skipped: Option<String>,
}

impl ClusterApplyReport {
    /// Whether any object was (or would be) created, changed or deleted.
    pub fn has_changes(&self) -> bool {
        self.results
            .iter()
            .any(|r| r.outcome != ObjectOutcome::Unchanged)
    }

    /// Human-readable summary: one line per object (`kubectl` style), then diffs (dry run).
    pub fn render(&self) -> String {
        let suffix = if self.dry_run {
            " (server dry run)"
        } else {
            ""
        };
        let mut out = String::new();
        for result in &self.results {
            out.push_str(&format!("{} {}{suffix}\n", result.object, result.outcome));
        }
        for result in &self.results {
            if let Some(diff) = &result.diff {
                out.push('\n');
                out.push_str(diff);
            }
        }
        if let Some(reason) = &self.prune_skipped {
            out.push_str(&format!("prune skipped: {reason}\n"));
        }
        let count = |outcome| self.results.iter().filter(|r| r.outcome == outcome).count();
        out.push_str(&format!(
            "{} created, {} configured, {} unchanged, {} pruned{suffix}\n",
            count(ObjectOutcome::Created),
            count(ObjectOutcome::Configured),
            count(ObjectOutcome::Unchanged),
            count(ObjectOutcome::Pruned),
        ));
        out
    }
}

/// Applies every manifest (in order), then, with `prune`, deletes our labelled objects that
/// are not among them. Apply errors do not stop the other objects, but they cancel the prune.
/// Prune is refused when `manifests` is empty: an empty repository never empties a cluster.
pub async fn apply(
    cluster: &dyn Cluster,
    manifests: &[Manifest],
    options: ApplyOptions,
) -> ClusterApplyReport {
    let mut report = ClusterApplyReport {
        dry_run: options.dry_run,
        ..ClusterApplyReport::default()
    };
    for manifest in manifests {
        let object = manifest.object_ref();
        match apply_one(cluster, manifest, &object, options.dry_run).await {
            Ok(result) => report.results.push(result),
            Err(error) => report.errors.push(error),
        }
    }
    if !options.prune {
        return report;
    }
    if !report.errors.is_empty() {
        report.prune_skipped = Some("some objects could not be applied".to_string());
        return report;
    }
    if manifests.is_empty() {
        report.prune_skipped = Some(
            "the repository declares no KubernetesSync; refusing to delete every object"
                .to_string(),
        );
        return report;
    }
    let declared: BTreeSet<ObjectRef> = manifests.iter().map(Manifest::object_ref).collect();
    for kind in Kind::ALL {
        let live = match cluster.list_managed(kind).await {
            Ok(live) => live,
            Err(error) => {
                report.errors.push(error);
                continue;
            }
        };
        let mut stale: Vec<ObjectRef> =
            live.into_iter().filter(|o| !declared.contains(o)).collect();
        stale.sort();
        for object in stale {
            match cluster.delete(&object, options.dry_run).await {
                Ok(()) => report.results.push(ObjectResult {
                    diff: options
                        .dry_run
                        .then(|| format!("--- {object} (live)\n+++ {object} (deleted)\n")),
                    object,
                    outcome: ObjectOutcome::Pruned,
                }),
                Err(error) => report.errors.push(error),
            }
        }
    }
    report
}

async fn apply_one(
    cluster: &dyn Cluster,
    manifest: &Manifest,
    object: &ObjectRef,
    dry_run: bool,
) -> Result<ObjectResult, ClusterError> {
    let live = cluster.get(object).await?;
    let applied = cluster.apply(manifest, dry_run).await?;
    let after = normalized_yaml(&applied);
    let (outcome, before) = match &live {
        None => (ObjectOutcome::Created, String::new()),
        Some(live) => {
            let before = normalized_yaml(live);
            let outcome = if before == after {
                ObjectOutcome::Unchanged
            } else {
                ObjectOutcome::Configured
            };
            (outcome, before)
        }
    };
    let diff = (dry_run && outcome != ObjectOutcome::Unchanged)
        .then(|| unified_diff(object, &before, &after));
    Ok(ObjectResult {
        object: object.clone(),
        outcome,
        diff,
    })
}

/// The object without the fields the server maintains (`status`, `managedFields`,
/// `resourceVersion`, `uid`, `generation`, `creationTimestamp`, …), as YAML, for comparison
/// and diffs.
pub fn normalized_yaml(object: &Value) -> String {
    let mut object = object.clone();
    if let Some(map) = object.as_object_mut() {
        map.remove("status");
        if let Some(metadata) = map.get_mut("metadata").and_then(Value::as_object_mut) {
            for field in [
                "managedFields",
                "resourceVersion",
                "uid",
                "generation",
                "creationTimestamp",
                "selfLink",
            ] {
                metadata.remove(field);
            }
            if let Some(annotations) = metadata
                .get_mut("annotations")
                .and_then(Value::as_object_mut)
            {
                annotations.remove("kubectl.kubernetes.io/last-applied-configuration");
                if annotations.is_empty() {
                    metadata.remove("annotations");
                }
            }
        }
    }
    serde_saphyr::to_string(&sorted(object)).unwrap_or_default()
}

/// Rebuilds maps in key order, whatever `serde_json`'s map type is.
fn sorted(value: Value) -> Value {
    match value {
        Value::Object(map) => {
            let mut entries: Vec<(String, Value)> = map.into_iter().collect();
            entries.sort_by(|a, b| a.0.cmp(&b.0));
            Value::Object(entries.into_iter().map(|(k, v)| (k, sorted(v))).collect())
        }
        Value::Array(items) => Value::Array(items.into_iter().map(sorted).collect()),
        other => other,
    }
}

/// `--- live` / `+++ applied` unified diff with three lines of context.
pub fn unified_diff(object: &ObjectRef, before: &str, after: &str) -> String {
    let diff = similar::TextDiff::from_lines(before, after);
    diff.unified_diff()
        .context_radius(3)
        .header(
            &format!("{object} (live)"),
            &format!("{object} (after apply)"),
        )
        .to_string()
}

// ---------------------------------------------------------------------------------------------
// kube

/// The [`Cluster`] of a `kube` client.
#[derive(Clone)]
pub struct KubeCluster {
    client: kube::Client,
}

impl fmt::Debug for KubeCluster {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("KubeCluster")
            .field("default_namespace", &self.client.default_namespace())
            .finish()
    }
}

impl KubeCluster {
    /// A cluster reached through `client`.
    pub fn new(client: kube::Client) -> Self {
        Self { client }
    }

    /// The cluster of `$KUBECONFIG` / `~/.kube/config` (its current context), or, inside a
    /// pod, of the service account.
    pub async fn from_environment() -> Result<Self, ClusterError> {
        let client = kube::Client::try_default()
            .await
            .map_err(|e| ClusterError::Config(Box::new(e)))?;
        Ok(Self::new(client))
    }

    fn api(&self, kind: Kind, namespace: Option<&str>) -> Api<DynamicObject> {
        let resource = api_resource(kind);
        match namespace {
            Some(namespace) => Api::namespaced_with(self.client.clone(), namespace, &resource),
            None => Api::all_with(self.client.clone(), &resource),
        }
    }
}

/// The `kube` description of one of our kinds.
pub fn api_resource(kind: Kind) -> ApiResource {
    ApiResource {
        group: GROUP.to_string(),
        version: kind.version().to_string(),
        api_version: kind.api_version().to_string(),
        kind: kind.name().to_string(),
        plural: kind.plural().to_string(),
    }
}

/// Patch parameters of every apply: field manager, forced, strict validation.
pub fn patch_params(dry_run: bool) -> PatchParams {
    let mut params = PatchParams::apply(FIELD_MANAGER).force();
    params.field_validation = Some(ValidationDirective::Strict);
    params.dry_run = dry_run;
    params
}

fn classify(operation: &'static str, object: &ObjectRef, error: kube::Error) -> ClusterError {
    match error {
        kube::Error::Api(status) => ClusterError::Refused {
            refusal: Box::new(Refusal {
                hint: hint(operation, object.kind, status.code),
                ..refusal(&status)
            }),
            operation,
            object: object.clone(),
        },
        other => ClusterError::Request {
            operation,
            object: object.clone(),
            source: Box::new(other),
        },
    }
}

fn hint(operation: &str, kind: Kind, code: u16) -> Option<String> {
    match (operation, code) {
        ("apply", 404) => Some(format!(
            "is the Infisical operator installed, with the CRD of {kind} {}?",
            if kind == Kind::InfisicalSecret {
                "(any operator version)"
            } else {
                "(v1beta1 kinds need operator 0.11 or later)"
            }
        )),
        (_, 403) => Some(format!(
            "the service account needs get, list, create, patch and delete on {} in group {GROUP}: see deploy/base/rbac.yaml",
            kind.plural()
        )),
        _ => None,
    }
}

fn refusal(status: &kube::core::Status) -> Refusal {
    Refusal {
        code: status.code,
        reason: status.reason.clone(),
        message: status.message.clone(),
        fields: status
            .details
            .as_ref()
            .map(|d| {
                d.causes
                    .iter()
                    .filter(|c| !c.field.is_empty())
                    .map(|c| FieldCause {
                        field: c.field.clone(),
                        message: c.message.clone(),
                    })
                    .collect()
            })
            .unwrap_or_default(),
        hint: None,
    }
}

fn to_value(object: &ObjectRef, found: DynamicObject) -> Result<Value, ClusterError> {
    serde_json::to_value(found).map_err(|e| ClusterError::Unexpected {
        object: object.clone(),
        detail: e.to_string(),
    })
}

#[async_trait]
impl Cluster for KubeCluster {
    async fn get(&self, object: &ObjectRef) -> Result<Option<Value>, ClusterError> {
        let api = self.api(object.kind, Some(&object.namespace));
        match api.get_opt(&object.name).await {
            Ok(Some(found)) => to_value(object, found).map(Some),
            Ok(None) => Ok(None),
            // The CRD is not installed: the object cannot exist; the apply will say so.
            Err(kube::Error::Api(status)) if status.is_not_found() => Ok(None),
            Err(error) => Err(classify("read", object, error)),
        }
    }

    async fn apply(&self, manifest: &Manifest, dry_run: bool) -> Result<Value, ClusterError> {
        let object = manifest.object_ref();
        let api = self.api(object.kind, Some(&object.namespace));
        let applied = api
            .patch(
                &object.name,
                &patch_params(dry_run),
                &Patch::Apply(manifest.to_json()),
            )
            .await
            .map_err(|e| classify("apply", &object, e))?;
        to_value(&object, applied)
    }

    async fn list_managed(&self, kind: Kind) -> Result<Vec<ObjectRef>, ClusterError> {
        let params =
            ListParams::default().labels(&format!("{MANAGED_BY_LABEL}={MANAGED_BY_VALUE}"));
        match self.api(kind, None).list(&params).await {
            // The label is checked again here: an API server (or a proxy, or a test double)
            // that ignored the selector must never make us delete what is not ours.
            Ok(list) => Ok(list
                .items
                .into_iter()
                .filter(|item| {
                    item.metadata
                        .labels
                        .as_ref()
                        .and_then(|labels| labels.get(MANAGED_BY_LABEL))
                        .is_some_and(|value| value == MANAGED_BY_VALUE)
                })
                .filter_map(|item| {
                    Some(ObjectRef {
                        kind,
                        namespace: item.metadata.namespace?,
                        name: item.metadata.name?,
                    })
                })
                .collect()),
            Err(kube::Error::Api(status)) if status.is_not_found() => Ok(Vec::new()),
            Err(error) => Err(ClusterError::List {
                kind,
                source: Box::new(error),
            }),
        }
    }

    async fn delete(&self, object: &ObjectRef, dry_run: bool) -> Result<(), ClusterError> {
        let api = self.api(object.kind, Some(&object.namespace));
        let params = DeleteParams {
            dry_run,
            ..DeleteParams::default()
        };
        match api.delete(&object.name, &params).await {
            Ok(_) => Ok(()),
            Err(kube::Error::Api(status)) if status.is_not_found() => Ok(()),
            Err(error) => Err(classify("delete", object, error)),
        }
    }
}
