//! Infisical operator manifests: the pure part (building the objects from the desired state,
//! rendering them as YAML) is [`infisical_gitops_core::manifest`], re-exported here; this
//! module adds [`cluster`], server-side apply through the `kube` client.

pub use infisical_gitops_core::manifest::*;

pub mod cluster;
