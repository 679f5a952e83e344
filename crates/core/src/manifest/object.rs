//! The emitted objects: their kinds, references and metadata.

use std::collections::BTreeMap;
use std::fmt;

use serde::Serialize;

use super::operator::{
    InfisicalAuthSpec, InfisicalConnectionSpec, InfisicalSecretSpec, InfisicalStaticSecretSpec,
};

/// The API group of every operator kind.
pub const GROUP: &str = "secrets.infisical.com";

/// The operator kinds infisical-gitops writes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
pub enum Kind {
    /// `secrets.infisical.com/v1beta1` `InfisicalConnection`: where Infisical is.
    InfisicalConnection,
    /// `secrets.infisical.com/v1beta1` `InfisicalAuth`: how the operator logs in.
    InfisicalAuth,
    /// `secrets.infisical.com/v1beta1` `InfisicalStaticSecret`: what goes where.
    InfisicalStaticSecret,
    /// `secrets.infisical.com/v1alpha1` `InfisicalSecret`: all of the above in one object.
    InfisicalSecret,
}

impl Kind {
    /// Every kind, in the order objects of one sync are emitted (referenced objects first).
    pub const ALL: [Kind; 4] = [
        Kind::InfisicalConnection,
        Kind::InfisicalAuth,
        Kind::InfisicalStaticSecret,
        Kind::InfisicalSecret,
    ];

    /// The kind name, e.g. `InfisicalSecret`.
    pub fn name(self) -> &'static str {
        match self {
            Kind::InfisicalConnection => "InfisicalConnection",
            Kind::InfisicalAuth => "InfisicalAuth",
            Kind::InfisicalStaticSecret => "InfisicalStaticSecret",
            Kind::InfisicalSecret => "InfisicalSecret",
        }
    }

    /// The API version, e.g. `v1alpha1`.
    pub fn version(self) -> &'static str {
        match self {
            Kind::InfisicalSecret => "v1alpha1",
            _ => "v1beta1",
        }
    }

    /// `group/version`, e.g. `secrets.infisical.com/v1alpha1`.
    pub fn api_version(self) -> &'static str {
        match self {
            Kind::InfisicalSecret => "secrets.infisical.com/v1alpha1",
            _ => "secrets.infisical.com/v1beta1",
        }
    }

    /// The resource's plural name, used in API paths.
    pub fn plural(self) -> &'static str {
        match self {
            Kind::InfisicalConnection => "infisicalconnections",
            Kind::InfisicalAuth => "infisicalauths",
            Kind::InfisicalStaticSecret => "infisicalstaticsecrets",
            Kind::InfisicalSecret => "infisicalsecrets",
        }
    }

    /// Lowercase kind, used in file names.
    pub fn lowercase(self) -> &'static str {
        match self {
            Kind::InfisicalConnection => "infisicalconnection",
            Kind::InfisicalAuth => "infisicalauth",
            Kind::InfisicalStaticSecret => "infisicalstaticsecret",
            Kind::InfisicalSecret => "infisicalsecret",
        }
    }

    /// The kind with this name, if it is one of ours.
    pub fn from_name(name: &str) -> Option<Kind> {
        Kind::ALL.into_iter().find(|kind| kind.name() == name)
    }
}

impl fmt::Display for Kind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// Which object: kind, namespace and name. Displays as `InfisicalSecret platform/billing`.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct ObjectRef {
    /// The kind.
    pub kind: Kind,
    /// The namespace.
    pub namespace: String,
    /// The name.
    pub name: String,
}

impl fmt::Display for ObjectRef {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} {}/{}", self.kind, self.namespace, self.name)
    }
}

/// `metadata` of an emitted object.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ObjectMeta {
    /// The name.
    pub name: String,
    /// The namespace.
    pub namespace: String,
    /// Labels, the ownership labels included.
    pub labels: BTreeMap<String, String>,
    /// Annotations.
    #[serde(skip_serializing_if = "BTreeMap::is_empty")]
    pub annotations: BTreeMap<String, String>,
}

/// A whole object: `apiVersion`, `kind`, `metadata`, `spec`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Object<S> {
    /// `group/version`.
    pub api_version: &'static str,
    /// The kind name.
    pub kind: &'static str,
    /// Name, namespace, labels, annotations.
    pub metadata: ObjectMeta,
    /// The kind's spec.
    pub spec: S,
}

/// The spec of one emitted object, by kind.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(untagged)]
pub enum Spec {
    /// `InfisicalConnection`
    InfisicalConnection(InfisicalConnectionSpec),
    /// `InfisicalAuth`
    InfisicalAuth(InfisicalAuthSpec),
    /// `InfisicalStaticSecret`
    InfisicalStaticSecret(InfisicalStaticSecretSpec),
    /// `InfisicalSecret`
    InfisicalSecret(InfisicalSecretSpec),
}

impl Spec {
    /// The kind this spec belongs to.
    pub fn kind(&self) -> Kind {
        match self {
            Spec::InfisicalConnection(_) => Kind::InfisicalConnection,
            Spec::InfisicalAuth(_) => Kind::InfisicalAuth,
            Spec::InfisicalStaticSecret(_) => Kind::InfisicalStaticSecret,
            Spec::InfisicalSecret(_) => Kind::InfisicalSecret,
        }
    }
}

/// One operator object, emitted for one `KubernetesSync`.
///
/// It serializes (to YAML for files, to JSON for the API server) as the full Kubernetes
/// object, fields in a fixed order.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Manifest {
    /// The `KubernetesSync` it was emitted for; for a shared `InfisicalConnection` or
    /// `InfisicalAuth`, every sync that uses it, comma-separated.
    pub sync: String,
    /// Whether several syncs may use it (a shared `InfisicalConnection` or `InfisicalAuth`).
    pub shared: bool,
    /// The repository file that declares that sync (relative path), if known.
    pub source_file: Option<String>,
    /// The object.
    pub object: Object<Spec>,
}

impl Manifest {
    /// The kind.
    pub fn kind(&self) -> Kind {
        self.object.spec.kind()
    }

    /// Kind, namespace and name.
    pub fn object_ref(&self) -> ObjectRef {
        ObjectRef {
            kind: self.kind(),
            namespace: self.object.metadata.namespace.clone(),
            name: self.object.metadata.name.clone(),
        }
    }

    /// The object as JSON, as sent to the API server.
    pub fn to_json(&self) -> serde_json::Value {
        // Serializing plain structs of strings, bools and maps of strings cannot fail.
        serde_json::to_value(&self.object).unwrap_or(serde_json::Value::Null)
    }
}

impl Serialize for Manifest {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        self.object.serialize(serializer)
    }
}
