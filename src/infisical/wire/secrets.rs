//! Secrets (§5): list and write shapes.

use serde::{Deserialize, Serialize};

use crate::infisical::api::{RemoteSecret, RemoteTag, SecretWrite};
use crate::model::SecretValue;

use super::{normalize_path, null_default, secret_value};

/// A tag as embedded in a secret or returned by the tag routes.
#[derive(Debug, Deserialize)]
pub struct TagWire {
    /// Id.
    pub id: String,
    /// Slug.
    pub slug: String,
}

impl From<TagWire> for RemoteTag {
    fn from(wire: TagWire) -> Self {
        RemoteTag {
            id: wire.id,
            slug: wire.slug,
        }
    }
}

/// One metadata pair.
#[derive(Debug, Deserialize)]
pub struct MetadataWire {
    /// Key.
    pub key: String,
    /// Value.
    #[serde(default, deserialize_with = "null_default")]
    pub value: String,
}

/// `SecretRaw` (+ `secretPath`, `secretValueHidden`, `tags`, `secretMetadata`).
#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct SecretWire {
    /// Id.
    pub id: String,
    /// Key.
    pub secret_key: String,
    /// Value (wrapped at once).
    #[serde(default, deserialize_with = "secret_value")]
    pub secret_value: Option<SecretValue>,
    /// True when the caller may not read the value.
    #[serde(default, deserialize_with = "null_default")]
    pub secret_value_hidden: bool,
    /// Comment.
    #[serde(default, deserialize_with = "null_default")]
    pub secret_comment: String,
    /// Folder path.
    #[serde(default)]
    pub secret_path: Option<String>,
    /// Version.
    #[serde(default)]
    pub version: Option<u64>,
    /// `shared` or `personal`.
    #[serde(default, rename = "type")]
    pub kind: Option<String>,
    /// Tags.
    #[serde(default, deserialize_with = "null_default")]
    pub tags: Vec<TagWire>,
    /// Metadata.
    #[serde(default, deserialize_with = "null_default")]
    pub secret_metadata: Vec<MetadataWire>,
}

impl SecretWire {
    /// Converts to the domain type; `default_path` when the answer does not carry `secretPath`.
    pub fn into_remote(self, default_path: &str) -> RemoteSecret {
        RemoteSecret {
            id: self.id,
            key: self.secret_key,
            value: if self.secret_value_hidden {
                None
            } else {
                self.secret_value
            },
            comment: self.secret_comment,
            path: self
                .secret_path
                .map_or_else(|| default_path.to_string(), |p| normalize_path(&p)),
            tags: self.tags.into_iter().map(Into::into).collect(),
            metadata: self
                .secret_metadata
                .into_iter()
                .map(|m| (m.key, m.value))
                .collect(),
            version: self.version.unwrap_or(0),
        }
    }

    /// Whether this is a personal override (the reconciler only handles shared secrets).
    pub fn is_personal(&self) -> bool {
        self.kind.as_deref() == Some("personal")
    }
}

/// `{ "secrets": [...] }` (list and batch answers).
#[derive(Debug, Deserialize)]
pub struct SecretsEnvelope {
    /// Secrets.
    pub secrets: Vec<SecretWire>,
}

/// `{ "secret": ... }`.
#[derive(Debug, Deserialize)]
pub struct SecretEnvelope {
    /// Secret.
    pub secret: SecretWire,
}

/// A write answer: the secrets, or a change-approval request (nothing written).
#[derive(Debug, Deserialize)]
pub struct WriteEnvelope {
    /// Batch answers.
    #[serde(default)]
    pub secrets: Option<Vec<SecretWire>>,
    /// Single-secret answers.
    #[serde(default)]
    pub secret: Option<SecretWire>,
    /// Present when the path is under an approval policy.
    #[serde(default)]
    pub approval: Option<ApprovalWire>,
}

/// The approval request (only its id is read).
#[derive(Debug, Deserialize)]
pub struct ApprovalWire {
    /// Id.
    #[serde(default)]
    pub id: Option<String>,
}

/// One metadata pair on write.
#[derive(Debug, Serialize)]
pub struct MetadataRequest<'a> {
    /// Key.
    pub key: &'a str,
    /// Value.
    pub value: &'a str,
}

/// One item of a batch create or update.
#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
pub struct SecretItemRequest<'a> {
    /// Key.
    pub secret_key: &'a str,
    /// Value.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub secret_value: Option<&'a str>,
    /// Comment.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub secret_comment: Option<&'a str>,
    /// Tag ids.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub tag_ids: Option<&'a [String]>,
    /// Metadata.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub secret_metadata: Option<Vec<MetadataRequest<'a>>>,
}

impl<'a> SecretItemRequest<'a> {
    /// Borrows a domain write.
    pub fn from_write(write: &'a SecretWrite) -> Self {
        SecretItemRequest {
            secret_key: &write.key,
            secret_value: write.value.as_ref().map(SecretValue::expose),
            secret_comment: write.comment.as_deref(),
            tag_ids: write.tag_ids.as_deref(),
            secret_metadata: write.metadata.as_ref().map(|pairs| {
                pairs
                    .iter()
                    .map(|(key, value)| MetadataRequest { key, value })
                    .collect()
            }),
        }
    }
}

impl std::fmt::Debug for SecretItemRequest<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SecretItemRequest")
            .field("secret_key", &self.secret_key)
            .field("secret_value", &self.secret_value.map(|_| "<redacted>"))
            .finish_non_exhaustive()
    }
}

/// `POST/PATCH /api/v4/secrets/batch` body.
#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct BatchWriteRequest<'a> {
    /// Project id.
    pub project_id: &'a str,
    /// Environment slug.
    pub environment: &'a str,
    /// Folder path.
    pub secret_path: &'a str,
    /// `failOnNotFound` on update; absent on create.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub mode: Option<&'a str>,
    /// Items.
    pub secrets: Vec<SecretItemRequest<'a>>,
}

/// One item of a batch delete.
#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct DeleteItemRequest<'a> {
    /// Key.
    pub secret_key: &'a str,
    /// Always `shared`.
    #[serde(rename = "type")]
    pub kind: &'a str,
}

/// `DELETE /api/v4/secrets/batch` body.
#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct BatchDeleteRequest<'a> {
    /// Project id.
    pub project_id: &'a str,
    /// Environment slug.
    pub environment: &'a str,
    /// Folder path.
    pub secret_path: &'a str,
    /// Items.
    pub secrets: Vec<DeleteItemRequest<'a>>,
}
