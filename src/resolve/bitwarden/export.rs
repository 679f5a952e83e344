//! A Bitwarden JSON export (`bw export --format json`, unencrypted) as an offline source.
//!
//! [`ExportVault::parse`] is pure; [`ExportVault::load`] reads the file. An encrypted export
//! (account-key or password protected) is refused with a clear message rather than guessed at.

use std::collections::HashMap;
use std::path::Path;
use std::sync::Arc;

use serde::Deserialize;

use super::error::BitwardenError;
use super::item::{Item, NameScope, NameSelection, select_by_name};
use crate::model::BitwardenItem;

/// The items of an unencrypted export, indexed by id.
#[derive(Debug, Clone, Default)]
pub struct ExportVault {
    items: Vec<Item>,
    by_id: HashMap<String, usize>,
}

#[derive(Deserialize)]
struct Header {
    #[serde(default)]
    encrypted: bool,
}

#[derive(Deserialize)]
struct Document {
    #[serde(default)]
    items: Vec<Item>,
}

impl ExportVault {
    /// Parses an export. `path` names the file in errors.
    pub fn parse(json: &str, path: &str) -> Result<Self, BitwardenError> {
        let parse_error = |source| BitwardenError::ExportParse {
            path: path.to_string(),
            source: Arc::new(source),
        };
        let header: Header = serde_json::from_str(json).map_err(parse_error)?;
        if header.encrypted {
            return Err(BitwardenError::ExportEncrypted {
                path: path.to_string(),
            });
        }
        let document: Document = serde_json::from_str(json).map_err(parse_error)?;
        Ok(Self::from_items(document.items))
    }

    /// A vault holding `items`.
    pub fn from_items(items: Vec<Item>) -> Self {
        let by_id = items
            .iter()
            .enumerate()
            .map(|(index, item)| (item.id.to_lowercase(), index))
            .collect();
        Self { items, by_id }
    }

    /// Reads and parses the export at `path`.
    pub fn load(path: &Path) -> Result<Self, BitwardenError> {
        let shown = path.display().to_string();
        let text = std::fs::read_to_string(path).map_err(|source| BitwardenError::ExportRead {
            path: shown.clone(),
            source: Arc::new(source),
        })?;
        let vault = Self::parse(&text, &shown);
        // The file text holds every value: wipe it before returning.
        let mut text = text;
        zeroize::Zeroize::zeroize(&mut text);
        vault
    }

    /// Every item, in file order (trashed items included).
    pub fn items(&self) -> &[Item] {
        &self.items
    }

    /// Number of items.
    pub fn len(&self) -> usize {
        self.items.len()
    }

    /// Whether there are no items.
    pub fn is_empty(&self) -> bool {
        self.items.is_empty()
    }

    /// The item a reference points at.
    pub fn find(&self, item: &BitwardenItem) -> Result<&Item, BitwardenError> {
        match item {
            BitwardenItem::Id(id) => self
                .by_id
                .get(&id.to_lowercase())
                .map(|&index| &self.items[index])
                .filter(|item| item.deleted_date.is_none())
                .ok_or_else(|| BitwardenError::ItemNotFound { id: id.clone() }),
            BitwardenItem::Name {
                name,
                folder,
                collection,
            } => {
                let scope = NameScope {
                    folder: folder.as_deref(),
                    collection: collection.as_deref(),
                };
                select_by_name(&self.items, name, scope).map_err(|selection| {
                    name_error(name, folder.as_deref(), collection.as_deref(), selection)
                })
            }
        }
    }
}

/// `folder X`, `collection Y`, `folder X and collection Y`.
pub(crate) fn describe_scope(folder: Option<&str>, collection: Option<&str>) -> String {
    match (folder, collection) {
        (Some(f), Some(c)) => format!("folder {f} and collection {c}"),
        (Some(f), None) => format!("folder {f}"),
        (None, Some(c)) => format!("collection {c}"),
        (None, None) => "the whole vault".to_string(),
    }
}

pub(crate) fn name_error(
    name: &str,
    folder: Option<&str>,
    collection: Option<&str>,
    selection: NameSelection,
) -> BitwardenError {
    let scope = describe_scope(folder, collection);
    match selection {
        NameSelection::None => BitwardenError::NameNotFound {
            name: name.to_string(),
            scope,
        },
        NameSelection::Many(candidates) => BitwardenError::Ambiguous {
            name: name.to_string(),
            scope,
            candidates,
        },
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn refuses_encrypted_exports() {
        let account = r#"{"encrypted": true, "encKeyValidation_DO_NOT_EDIT": "2.abc|def|ghi",
            "folders": [], "items": []}"#;
        let password = r#"{"encrypted": true, "passwordProtected": true, "salt": "c2FsdA==",
            "kdfType": 0, "kdfIterations": 600000, "encKeyValidation_DO_NOT_EDIT": "2.x|y|z",
            "data": "2.a|b|c"}"#;
        for json in [account, password] {
            let err = ExportVault::parse(json, "vault.json").expect_err("encrypted");
            assert!(matches!(err, BitwardenError::ExportEncrypted { .. }));
            assert!(
                err.to_string().contains("encrypted bitwarden export"),
                "{err}"
            );
        }
    }

    #[test]
    fn refuses_other_json() {
        let err = ExportVault::parse("[1, 2]", "x.json").expect_err("not an export");
        assert!(matches!(err, BitwardenError::ExportParse { .. }));
    }

    #[test]
    fn finds_by_id_and_name() {
        let vault = ExportVault::parse(
            r#"{"encrypted": false, "folders": [{"id": "f", "name": "MCP"}], "items": [
                {"id": "AAAA", "type": 1, "name": "x", "folderId": "f", "login": {"password": "p"}},
                {"id": "bbbb", "type": 1, "name": "x", "folderId": "f"}
            ]}"#,
            "v.json",
        )
        .expect("parses");
        assert_eq!(vault.len(), 2);
        assert!(vault.find(&BitwardenItem::Id("aaaa".into())).is_ok());
        assert!(matches!(
            vault.find(&BitwardenItem::Id("cccc".into())),
            Err(BitwardenError::ItemNotFound { .. })
        ));
        let err = vault
            .find(&BitwardenItem::Name {
                name: "x".into(),
                folder: Some("f".into()),
                collection: None,
            })
            .expect_err("ambiguous");
        assert_eq!(
            err.to_string(),
            "2 bitwarden items are named \"x\" in folder f (ids: AAAA, bbbb); reference one by `item: <id>`"
        );
    }
}
