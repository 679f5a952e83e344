//! Infisical operator manifests from the desired state.
//!
//! Every `KubernetesSync` of the [`DesiredState`](crate::model::DesiredState) becomes the
//! Infisical operator's resources, in the sync's namespace:
//!
//! - `v1beta1` (the default; operator ≥ 0.11): an `InfisicalStaticSecret` (what goes where)
//!   named after the sync, referring to an `InfisicalAuth` (how to log in) and an
//!   `InfisicalConnection` (where Infisical is) that are shared by every sync of the
//!   namespace with the same settings, and named after a hash of them;
//! - `v1alpha1` (deprecated by Infisical): one `InfisicalSecret` named after the sync.
//!
//! Every object carries the ownership label [`MANAGED_BY_LABEL`]`=`[`MANAGED_BY_VALUE`]. An
//! object of one sync also carries [`SYNC_LABEL`]`=<sync name>` and [`SOURCE_ANNOTATION`]
//! naming the declaring file; a shared object lists its syncs in [`SYNCS_ANNOTATION`].
//!
//! Modules: [`build`] (pure: state → objects, all problems at once), [`object`] and
//! [`operator`] (pure: the emitted types), [`render`] (pure: YAML and the `--out` file set),
//! all pure. Server-side apply through the `kube` client lives in the application crate
//! (`infisical_gitops::manifest::cluster`).

pub mod build;
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
/// The annotation listing the `KubernetesSync`s that use a shared `InfisicalConnection` or
/// `InfisicalAuth` (comma-separated, sorted).
pub const SYNCS_ANNOTATION: &str = "infisical-gitops.io/kubernetes-syncs";
/// The field manager of server-side apply.
pub const FIELD_MANAGER: &str = "infisical-gitops";
