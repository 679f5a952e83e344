//! PURE: the Bitwarden item shape (as `bw serve` and `bw export --format json` write it), the
//! `bw serve` response envelope, field extraction and exact-name selection.
//!
//! Item values are read straight into [`Sensitive`] (a [`SecretValue`]), so an item never prints
//! a value through `Debug` and is zeroized when dropped.

use std::fmt;

use serde::{Deserialize, Deserializer};

use crate::model::document::BitwardenField;
use crate::model::{BitwardenFieldRef, SecretValue};

/// A value read from Bitwarden: deserialized directly into a [`SecretValue`].
#[derive(Clone, PartialEq, Eq)]
pub struct Sensitive(pub SecretValue);

impl fmt::Debug for Sensitive {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("<redacted>")
    }
}

impl<'de> Deserialize<'de> for Sensitive {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        String::deserialize(deserializer).map(|s| Sensitive(SecretValue::new(s)))
    }
}

/// Bitwarden cipher types (`type` of an item; 2 is a secure note, read like any item).
pub(crate) mod cipher_type {
    /// A login (username, password, TOTP, URIs).
    pub(crate) const LOGIN: u8 = 1;
}

/// Bitwarden custom field types (`fields[].type`; 0 is visible text and 2 a checkbox, both read
/// as their text).
pub(crate) mod field_type {
    /// Hidden text.
    pub(crate) const HIDDEN: u8 = 1;
    /// A field linked to a built-in one (no value of its own).
    pub(crate) const LINKED: u8 = 3;
}

/// A Bitwarden item (a "cipher"), with the fields infisical-gitops reads.
#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Item {
    /// The item id (a UUID).
    pub id: String,
    /// The display name (not unique).
    #[serde(default)]
    pub name: String,
    /// `1` login, `2` secure note, `3` card, `4` identity, `5` SSH key.
    #[serde(rename = "type", default)]
    pub kind: u8,
    /// Folder id, if in a folder.
    #[serde(default)]
    pub folder_id: Option<String>,
    /// Organisation id, if shared.
    #[serde(default)]
    pub organization_id: Option<String>,
    /// Collection ids, if shared.
    #[serde(default, deserialize_with = "null_as_default")]
    pub collection_ids: Vec<String>,
    /// Notes.
    #[serde(default)]
    pub notes: Option<Sensitive>,
    /// Login data, for logins.
    #[serde(default)]
    pub login: Option<Login>,
    /// Custom fields.
    #[serde(default, deserialize_with = "null_as_default")]
    pub fields: Vec<Field>,
    /// Set when the item is in the trash.
    #[serde(default)]
    pub deleted_date: Option<String>,
}

/// The login part of an item.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Login {
    /// Username.
    #[serde(default)]
    pub username: Option<Sensitive>,
    /// Password (`null` when the user may not view it).
    #[serde(default)]
    pub password: Option<Sensitive>,
    /// The TOTP seed (never the code; `bw serve` computes codes at `/object/totp/{id}`).
    #[serde(default)]
    pub totp: Option<Sensitive>,
    /// URIs.
    #[serde(default, deserialize_with = "null_as_default")]
    pub uris: Vec<LoginUri>,
}

/// One login URI.
#[derive(Debug, Clone, Deserialize)]
pub struct LoginUri {
    /// The URI (may carry credentials, hence sensitive).
    #[serde(default)]
    pub uri: Option<Sensitive>,
}

/// A custom field.
#[derive(Debug, Clone, Deserialize)]
pub struct Field {
    /// The field name (not a secret).
    #[serde(default)]
    pub name: Option<String>,
    /// The value.
    #[serde(default)]
    pub value: Option<Sensitive>,
    /// See [`field_type`].
    #[serde(rename = "type", default)]
    pub kind: u8,
}

fn null_as_default<'de, D, T>(deserializer: D) -> Result<T, D::Error>
where
    D: Deserializer<'de>,
    T: Default + Deserialize<'de>,
{
    Ok(Option::<T>::deserialize(deserializer)?.unwrap_or_default())
}

/// Why a field could not be read from an item. Never contains a value.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum FieldError {
    /// The item is not a login, so it has no username, password, TOTP or URI.
    #[error("the item is not a login, so it has no {field}")]
    NotALogin {
        /// The field asked for.
        field: String,
    },
    /// The field is absent, empty or only whitespace.
    #[error("the item has no {field} (absent, empty or only whitespace)")]
    Empty {
        /// The field asked for.
        field: String,
    },
    /// The URI index is past the end.
    #[error("the item has {count} uri(s), so uri[{index}] does not exist")]
    UriIndex {
        /// The index asked for.
        index: u32,
        /// How many URIs the item has.
        count: usize,
    },
    /// No custom field with that name.
    #[error("the item has no custom field {name:?} (its custom fields: {available})")]
    NoCustomField {
        /// The name asked for.
        name: String,
        /// The names it has, comma-separated, or `none`.
        available: String,
    },
    /// Several custom fields share the name.
    #[error("the item has {count} custom fields named {name:?}")]
    DuplicateCustomField {
        /// The name.
        name: String,
        /// How many.
        count: usize,
    },
    /// A linked field has no value of its own.
    #[error(
        "custom field {name:?} is a linked field, which has no value of its own; reference the built-in field instead"
    )]
    LinkedCustomField {
        /// The name.
        name: String,
    },
    /// The TOTP code is computed by `bw serve`, not read from the item.
    #[error("the current totp code is computed by `bw serve`; this source cannot provide it")]
    TotpNeedsServe,
}

/// The value, unless it is absent, empty or only whitespace ([`SecretValue::is_blank`]: Infisical
/// would store an empty secret).
fn non_empty(value: Option<&Sensitive>, field: &str) -> Result<SecretValue, FieldError> {
    match value {
        Some(Sensitive(v)) if !v.is_blank() => Ok(v.clone()),
        _ => Err(FieldError::Empty {
            field: field.to_string(),
        }),
    }
}

impl Item {
    fn login_part(&self, field: &str) -> Result<&Login, FieldError> {
        match (&self.login, self.kind) {
            (Some(login), _) => Ok(login),
            (None, cipher_type::LOGIN) => Err(FieldError::Empty {
                field: field.to_string(),
            }),
            (None, _) => Err(FieldError::NotALogin {
                field: field.to_string(),
            }),
        }
    }

    /// Reads one field. TOTP is refused ([`FieldError::TotpNeedsServe`]): the code is computed
    /// by `bw serve` at `/object/totp/{id}`.
    pub fn field(&self, field: &BitwardenFieldRef) -> Result<SecretValue, FieldError> {
        let label = field.label();
        match field {
            BitwardenFieldRef::Builtin { field, uri_index } => match field {
                BitwardenField::Password => {
                    non_empty(self.login_part(&label)?.password.as_ref(), &label)
                }
                BitwardenField::Username => {
                    non_empty(self.login_part(&label)?.username.as_ref(), &label)
                }
                BitwardenField::Notes => non_empty(self.notes.as_ref(), &label),
                BitwardenField::Totp => {
                    // Make "no totp configured" the error when there is none.
                    non_empty(self.login_part(&label)?.totp.as_ref(), &label)?;
                    Err(FieldError::TotpNeedsServe)
                }
                BitwardenField::Uri => {
                    let uris = &self.login_part(&label)?.uris;
                    let index = usize::try_from(*uri_index).unwrap_or(usize::MAX);
                    match uris.get(index) {
                        Some(uri) => non_empty(uri.uri.as_ref(), &label),
                        None => Err(FieldError::UriIndex {
                            index: *uri_index,
                            count: uris.len(),
                        }),
                    }
                }
            },
            BitwardenFieldRef::Custom(name) => {
                let matching: Vec<&Field> = self
                    .fields
                    .iter()
                    .filter(|f| f.name.as_deref() == Some(name.as_str()))
                    .collect();
                match matching.as_slice() {
                    [] => {
                        let names: Vec<&str> = self
                            .fields
                            .iter()
                            .filter_map(|f| f.name.as_deref())
                            .collect();
                        Err(FieldError::NoCustomField {
                            name: name.clone(),
                            available: if names.is_empty() {
                                "none".to_string()
                            } else {
                                names.join(", ")
                            },
                        })
                    }
                    [one] if one.kind == field_type::LINKED => {
                        Err(FieldError::LinkedCustomField { name: name.clone() })
                    }
                    // A custom field may legitimately hold an empty string (or only spaces);
                    // Infisical would store it as empty, and we refuse to write an empty value
                    // over a real one: the same rule as for the built-in fields.
                    [one] => non_empty(one.value.as_ref(), &label),
                    many => Err(FieldError::DuplicateCustomField {
                        name: name.clone(),
                        count: many.len(),
                    }),
                }
            }
        }
    }

    /// Whether the item is a login with a TOTP seed (so `/object/totp/{id}` can answer).
    pub fn has_totp(&self) -> bool {
        self.login
            .as_ref()
            .and_then(|l| l.totp.as_ref())
            .is_some_and(|Sensitive(v)| !v.is_blank())
    }
}

/// How a lookup by name is scoped. Both set: the item must be in the folder *and* the collection.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct NameScope<'a> {
    /// Folder id.
    pub folder: Option<&'a str>,
    /// Collection id.
    pub collection: Option<&'a str>,
}

impl NameScope<'_> {
    /// Whether `item` is inside the scope.
    pub fn contains(&self, item: &Item) -> bool {
        let in_folder = self
            .folder
            .is_none_or(|folder| item.folder_id.as_deref() == Some(folder));
        let in_collection = self
            .collection
            .is_none_or(|collection| item.collection_ids.iter().any(|c| c == collection));
        in_folder && in_collection
    }
}

/// Why a lookup by name did not yield exactly one item.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum NameSelection {
    /// No item has that exact name in the scope.
    None,
    /// Several do; their ids, sorted.
    Many(Vec<String>),
}

/// Picks the one item whose name is exactly `name` (case-sensitive) inside `scope`, ignoring
/// items in the trash. `bw serve`'s `search` is a case-insensitive substring search over names,
/// usernames and URIs, and its `folderid`/`collectionid` filters are OR-ed, so the candidates it
/// returns are filtered again here.
pub fn select_by_name<'a>(
    candidates: &'a [Item],
    name: &str,
    scope: NameScope<'_>,
) -> Result<&'a Item, NameSelection> {
    let matching: Vec<&Item> = candidates
        .iter()
        .filter(|item| item.deleted_date.is_none() && item.name == name && scope.contains(item))
        .collect();
    match matching.as_slice() {
        [] => Err(NameSelection::None),
        [one] => Ok(one),
        many => {
            let mut ids: Vec<String> = many.iter().map(|i| i.id.clone()).collect();
            ids.sort();
            Err(NameSelection::Many(ids))
        }
    }
}

/// The `bw serve` response envelope: `{"success": true, "data": …}` or
/// `{"success": false, "message": "…"}` (status 400).
#[derive(Debug, Deserialize)]
pub struct Envelope<T> {
    /// Whether the command succeeded.
    pub success: bool,
    /// The error message when it did not.
    #[serde(default)]
    pub message: Option<String>,
    /// The payload.
    #[serde(default = "none")]
    pub data: Option<T>,
}

fn none<T>() -> Option<T> {
    None
}

/// `data` of a list response: `{"object": "list", "data": [...]}`.
#[derive(Debug, Deserialize)]
pub struct ListData<T> {
    /// The objects.
    pub data: Vec<T>,
}

/// `data` of a string response (`/object/totp/{id}`): `{"object": "string", "data": "123456"}`.
#[derive(Debug, Deserialize)]
pub struct StringData {
    /// The string.
    pub data: Sensitive,
}

/// `data` of `/status`: `{"object": "template", "template": {...}}`.
#[derive(Debug, Deserialize)]
pub struct StatusData {
    /// The status fields.
    pub template: StatusTemplate,
}

/// The status fields.
#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct StatusTemplate {
    /// `unlocked`, `locked` or `unauthenticated`.
    pub status: String,
    /// The Bitwarden server URL.
    #[serde(default)]
    pub server_url: Option<String>,
    /// Last sync time.
    #[serde(default)]
    pub last_sync: Option<String>,
}

/// The messages `bw serve` answers with (from the CLI's source), recognised exactly.
pub(crate) mod messages {
    /// Any locked-vault route.
    pub(crate) const VAULT_LOCKED: &str = "Vault is locked.";
    /// Not logged in.
    pub(crate) const NOT_LOGGED_IN: &str = "You are not logged in.";
    /// Unknown id.
    pub(crate) const NOT_FOUND: &str = "Not found.";
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::document::BitwardenField;

    fn item(json: &str) -> Item {
        serde_json::from_str(json).expect("item")
    }

    const LOGIN: &str = r#"{
        "object": "item", "id": "11111111-1111-4111-8111-111111111111", "organizationId": null,
        "folderId": "f1", "type": 1, "reprompt": 0, "name": "db", "notes": "some notes",
        "favorite": false,
        "fields": [
            {"name": "api-key", "value": "canary-api-key", "type": 1, "linkedId": null},
            {"name": "linked", "value": null, "type": 3, "linkedId": 100},
            {"name": "dup", "value": "a", "type": 0, "linkedId": null},
            {"name": "dup", "value": "b", "type": 0, "linkedId": null}
        ],
        "login": {"uris": [{"match": null, "uri": "https://one"}, {"match": null, "uri": "https://two"}],
                  "username": "admin", "password": "canary-password", "totp": "JBSWY3DPEHPK3PXP",
                  "passwordRevisionDate": null},
        "collectionIds": [], "revisionDate": "2026-01-01T00:00:00.000Z",
        "creationDate": "2026-01-01T00:00:00.000Z", "deletedDate": null, "passwordHistory": null
    }"#;

    fn builtin(field: BitwardenField, uri_index: u32) -> BitwardenFieldRef {
        BitwardenFieldRef::Builtin { field, uri_index }
    }

    #[test]
    fn reads_every_field() {
        let item = item(LOGIN);
        let read = |f: BitwardenFieldRef| item.field(&f).map(|v| v.expose().to_string());
        assert_eq!(
            read(builtin(BitwardenField::Password, 0)).as_deref(),
            Ok("canary-password")
        );
        assert_eq!(
            read(builtin(BitwardenField::Username, 0)).as_deref(),
            Ok("admin")
        );
        assert_eq!(
            read(builtin(BitwardenField::Notes, 0)).as_deref(),
            Ok("some notes")
        );
        assert_eq!(
            read(builtin(BitwardenField::Uri, 1)).as_deref(),
            Ok("https://two")
        );
        assert_eq!(
            read(BitwardenFieldRef::Custom("api-key".into())).as_deref(),
            Ok("canary-api-key")
        );
        assert_eq!(
            read(builtin(BitwardenField::Uri, 2)),
            Err(FieldError::UriIndex { index: 2, count: 2 })
        );
        assert_eq!(
            read(builtin(BitwardenField::Totp, 0)),
            Err(FieldError::TotpNeedsServe)
        );
        assert!(item.has_totp());
        assert!(matches!(
            read(BitwardenFieldRef::Custom("nope".into())),
            Err(FieldError::NoCustomField { available, .. }) if available == "api-key, linked, dup, dup"
        ));
        assert!(matches!(
            read(BitwardenFieldRef::Custom("linked".into())),
            Err(FieldError::LinkedCustomField { .. })
        ));
        assert!(matches!(
            read(BitwardenFieldRef::Custom("dup".into())),
            Err(FieldError::DuplicateCustomField { count: 2, .. })
        ));
    }

    #[test]
    fn never_prints_values() {
        let item = item(LOGIN);
        let debug = format!("{item:?}");
        assert!(!debug.contains("canary"), "{debug}");
        assert!(!debug.contains("JBSWY3DP"), "{debug}");
    }

    #[test]
    fn secure_note_has_no_login_fields() {
        let note =
            item(r#"{"id": "n", "type": 2, "name": "n", "notes": "x", "secureNote": {"type": 0}}"#);
        assert_eq!(
            note.field(&builtin(BitwardenField::Password, 0))
                .map(|_| ()),
            Err(FieldError::NotALogin {
                field: "password".into()
            })
        );
        assert!(note.field(&builtin(BitwardenField::Notes, 0)).is_ok());
        let empty = item(r#"{"id": "e", "type": 1, "name": "e", "login": {"password": null}}"#);
        assert_eq!(
            empty
                .field(&builtin(BitwardenField::Password, 0))
                .map(|_| ()),
            Err(FieldError::Empty {
                field: "password".into()
            })
        );
    }

    #[test]
    fn whitespace_only_fields_are_empty_builtin_or_custom() {
        let item = item(
            r#"{"id": "w", "type": 1, "name": "w", "notes": " \n ",
                "login": {"password": "  ", "username": "\t"},
                "fields": [
                    {"name": "blank", "value": "   ", "type": 1},
                    {"name": "newline", "value": "\n", "type": 0},
                    {"name": "empty", "value": "", "type": 1},
                    {"name": "padded", "value": " canary ", "type": 1}
                ]}"#,
        );
        for field in [
            builtin(BitwardenField::Password, 0),
            builtin(BitwardenField::Username, 0),
            builtin(BitwardenField::Notes, 0),
            BitwardenFieldRef::Custom("blank".into()),
            BitwardenFieldRef::Custom("newline".into()),
            BitwardenFieldRef::Custom("empty".into()),
        ] {
            assert_eq!(
                item.field(&field).map(|_| ()),
                Err(FieldError::Empty {
                    field: field.label()
                }),
                "{field:?}"
            );
        }
        let padded = item
            .field(&BitwardenFieldRef::Custom("padded".into()))
            .expect("a padded value is a value");
        assert_eq!(padded.expose(), " canary ");
        assert_eq!(
            FieldError::Empty {
                field: "custom field \"blank\"".into()
            }
            .to_string(),
            "the item has no custom field \"blank\" (absent, empty or only whitespace)"
        );
    }

    #[test]
    fn selects_exactly_one_by_name() {
        let items: Vec<Item> = serde_json::from_str(
            r#"[
            {"id": "b", "type": 1, "name": "GitLab", "folderId": "f1", "collectionIds": ["c1"]},
            {"id": "a", "type": 1, "name": "GitLab", "folderId": "f1", "collectionIds": []},
            {"id": "c", "type": 1, "name": "GitLab token", "folderId": "f1"},
            {"id": "d", "type": 1, "name": "GitLab", "folderId": "f2", "collectionIds": ["c1"]},
            {"id": "e", "type": 1, "name": "GitLab", "folderId": "f3", "deletedDate": "2026-01-01"}
        ]"#,
        )
        .expect("items");
        let folder = |f| NameScope {
            folder: Some(f),
            collection: None,
        };
        assert_eq!(
            select_by_name(&items, "GitLab", folder("f1")).map(|i| &i.id),
            Err(NameSelection::Many(vec!["a".into(), "b".into()]))
        );
        assert_eq!(
            select_by_name(
                &items,
                "GitLab",
                NameScope {
                    folder: Some("f1"),
                    collection: Some("c1")
                }
            )
            .map(|i| i.id.as_str()),
            Ok("b")
        );
        assert_eq!(
            select_by_name(&items, "GitLab token", folder("f1")).map(|i| i.id.as_str()),
            Ok("c")
        );
        assert_eq!(
            select_by_name(&items, "gitlab", folder("f1")).map(|_| ()),
            Err(NameSelection::None)
        );
        assert_eq!(
            select_by_name(&items, "GitLab", folder("f3")).map(|_| ()),
            Err(NameSelection::None)
        );
    }
}
