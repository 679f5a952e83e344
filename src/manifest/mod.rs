//! Infisical operator manifests from the desired state.
//!
//! Every `KubernetesSync` of the [`DesiredState`](crate::model::DesiredState) becomes the
//! Infisical operator's resources, named after the sync, in the sync's namespace:
//!
//! - `v1alpha1` (the default; what most clusters run): one `InfisicalSecret`;
//! - `v1beta1` (operator ≥ 0.11): an `InfisicalConnection` (where Infisical is), an
//!   `InfisicalAuth` (how to log in) and an `InfisicalStaticSecret` (what goes where).
//!
//! Every object carries the ownership labels [`MANAGED_BY_LABEL`]`=`[`MANAGED_BY_VALUE`] and
//! [`SYNC_LABEL`]`=<sync name>`, and [`SOURCE_ANNOTATION`] names the declaring file.
//!
//! Modules: [`build`] (pure: state → objects, all problems at once), [`object`] and
//! [`operator`] (pure: the emitted types), [`render`] (pure: YAML and the `--out` file set),
//! and [`cluster`], the one module here that does IO: server-side apply through the `kube`
//! client, behind the [`cluster::Cluster`] trait.

pub mod build;
pub mod cluster;
pub mod object;
pub mod operator;
pub mod render;

pub use build::{ManifestError, ManifestErrors, Options, Problem, manifests};
pub use object::{Kind, Manifest, ObjectRef};

/// The standard "managed by" label, on every object infisical-gitops writes.
pub const MANAGED_BY_LABEL: &str = "app.kubernetes.io/managed-by";
/// Its value.
pub const MANAGED_BY_VALUE: &str = "infisical-gitops";
/// The label naming the `KubernetesSync` an object was emitted for.
pub const SYNC_LABEL: &str = "infisical-gitops.io/kubernetes-sync";
/// The annotation naming the repository file that declares the sync.
pub const SOURCE_ANNOTATION: &str = "infisical-gitops.io/source";
/// The field manager of server-side apply.
pub const FIELD_MANAGER: &str = "infisical-gitops";
