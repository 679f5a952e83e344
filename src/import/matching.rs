//! Which Bitwarden item holds each imported secret: an explicit mapping file first, then the
//! fields that hold the secret's value ([`Catalog::find_by_value`]), then an item whose name is
//! exactly the secret's address or key inside one Bitwarden folder or collection.
//!
//! **Values are matched by keyed digest.** When a catalog is made, it draws a random 256-bit key
//! (kept in memory only, zeroized on drop) and stores, for every candidate field of every item in
//! scope (password, each custom field, notes, username, each URI) and every Secrets Manager
//! secret listed ([`Catalog::with_secrets_manager`]), the HMAC-SHA256 of the value normalised the
//! way Infisical stores it ([`normalize_value`]), with whether the field is *sensitive*
//! (password, notes, hidden custom field, Secrets Manager value) or not (username, URI, visible
//! custom field). When several fields hold a value, a sensitive one always wins over a
//! non-sensitive one. A live value is looked up by its
//! own digest under the same key. Nothing returns a value or a digest: lookups return item ids and
//! field references, [`Catalog::same_value`] only a verdict. The key dies with the catalog, so a
//! digest is worthless outside the run even if it were leaked, and none is ever written.

use std::collections::{BTreeMap, HashMap};

use hmac::Mac;
use serde::Deserialize;
use zeroize::Zeroizing;

use crate::model::document::{BitwardenField, BitwardenSpec};
use crate::model::names::printable;
use crate::model::span::Located;
use crate::model::value::normalize_value;
use crate::model::{Address, BitwardenFieldRef, SecretValue};
use crate::resolve::bitwarden::item::{Item, NameScope, NameSelection, field_type, select_by_name};

/// Why a mapping file cannot be used.
#[derive(Debug, thiserror::Error)]
pub enum MappingError {
    /// Not YAML of the expected shape.
    #[error("mapping file {path} is not a map of secret addresses to bitwarden references")]
    Parse {
        /// The file.
        path: String,
        /// The parser's message.
        #[source]
        source: Box<serde_saphyr::Error>,
    },
    /// A key that is not a secret address.
    #[error(
        "mapping file {path}: `{address}` is not a secret address (`project/env:/path#KEY`): {reason}"
    )]
    Address {
        /// The file.
        path: String,
        /// The key as written.
        address: String,
        /// Why.
        reason: String,
    },
    /// An entry whose fields do not make one reference.
    #[error("mapping file {path}: the entry for `{address}` {reason}")]
    Entry {
        /// The file.
        path: String,
        /// The entry's address.
        address: String,
        /// What is wrong and how to fix it.
        reason: String,
    },
}

/// One entry of a mapping file: a Bitwarden item id and which of its fields, with the fields of
/// a `SecretSet`'s `bitwarden` reference (`field` or `customField`, and `uriIndex` with
/// `field: uri`).
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct MappingEntry {
    /// The item id (a UUID).
    pub item: String,
    /// A built-in field (default `password`).
    #[serde(default)]
    pub field: Option<BitwardenField>,
    /// A custom field instead of `field`.
    #[serde(default)]
    pub custom_field: Option<String>,
    /// With `field: uri`, which URI (0-based; defaults to the first).
    #[serde(default)]
    pub uri_index: Option<u32>,
}

impl MappingEntry {
    /// The reference as written into a `SecretSet`.
    pub fn to_spec(&self) -> BitwardenSpec {
        BitwardenSpec {
            item: Some(Located::unplaced(self.item.to_ascii_lowercase())),
            field: self.field.map(Located::unplaced),
            custom_field: self.custom_field.clone().map(Located::unplaced),
            uri_index: self.uri_index,
            ..BitwardenSpec::default()
        }
    }

    fn field_ref(&self) -> BitwardenFieldRef {
        match &self.custom_field {
            Some(name) => BitwardenFieldRef::Custom(name.clone()),
            None => BitwardenFieldRef::Builtin {
                field: self.field.unwrap_or_default(),
                uri_index: self.uri_index.unwrap_or(0),
            },
        }
    }

    /// The rules of a `bitwarden` reference that one entry can break: `field` or
    /// `customField`, not both; `uriIndex` only with `field: uri`.
    fn check(&self) -> Result<(), String> {
        if self.field.is_some() && self.custom_field.is_some() {
            return Err("sets both `field` and `customField`: keep one".to_string());
        }
        if self.uri_index.is_some() && self.field != Some(BitwardenField::Uri) {
            return Err(
                "sets `uriIndex` without `field: uri`: add `field: uri`, or remove `uriIndex`"
                    .to_string(),
            );
        }
        Ok(())
    }
}

/// A mapping file: secret address → Bitwarden reference.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Mapping {
    entries: BTreeMap<Address, MappingEntry>,
}

impl Mapping {
    /// Parses a mapping file's text; `path` names it in errors.
    ///
    /// ```yaml
    /// payments/prod:/db#POSTGRES_PASSWORD:
    ///   item: 6b1f0c3e-2a7d-4c59-9e48-1d3a5f7b9c01
    /// payments/prod:/db#POSTGRES_USER:
    ///   item: 6b1f0c3e-2a7d-4c59-9e48-1d3a5f7b9c01
    ///   field: username
    /// ```
    pub fn parse(text: &str, path: &str) -> Result<Self, MappingError> {
        let raw: BTreeMap<String, MappingEntry> = if text.trim().is_empty() {
            BTreeMap::new()
        } else {
            serde_saphyr::from_str(text).map_err(|source| MappingError::Parse {
                path: path.to_string(),
                source: Box::new(source),
            })?
        };
        let mut entries = BTreeMap::new();
        for (key, entry) in raw {
            match key.parse::<Address>() {
                Ok(address @ Address::Secret(..)) => {
                    if let Err(reason) = entry.check() {
                        return Err(MappingError::Entry {
                            path: path.to_string(),
                            address: printable(&key).into_owned(),
                            reason,
                        });
                    }
                    entries.insert(address, entry);
                }
                Ok(other) => {
                    return Err(MappingError::Address {
                        path: path.to_string(),
                        reason: format!("it names a {} address, without `#KEY`", other.kind()),
                        address: printable(&key).into_owned(),
                    });
                }
                Err(error) => {
                    return Err(MappingError::Address {
                        path: path.to_string(),
                        reason: printable(&error.to_string()).into_owned(),
                        address: printable(&key).into_owned(),
                    });
                }
            }
        }
        Ok(Self { entries })
    }

    /// The entry for `address`.
    pub fn get(&self, address: &Address) -> Option<&MappingEntry> {
        self.entries.get(address)
    }

    /// Every mapped address.
    pub fn addresses(&self) -> impl Iterator<Item = &Address> {
        self.entries.keys()
    }

    /// Number of entries.
    pub fn len(&self) -> usize {
        self.entries.len()
    }

    /// Whether there are no entries.
    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }
}

/// The Bitwarden items that secrets are matched against by value and by name, with the scope
/// they must be in.
#[derive(Debug, Clone, Default)]
pub struct Catalog {
    items: Vec<Item>,
    folder: Option<String>,
    collection: Option<String>,
    /// Every item (for verifying mapped references), by lowercase id.
    by_id: BTreeMap<String, usize>,
    /// Keyed digests of every candidate field in scope.
    values: ValueIndex,
    /// Secrets Manager secrets (ids, keys and projects; values only digested).
    secrets: Vec<SecretsManagerEntry>,
}

type HmacSha256 = hmac::Hmac<sha2::Sha256>;

/// An HMAC-SHA256 under the catalog's per-run key. Never printed, never written.
#[derive(Clone, Copy, PartialEq, Eq, Hash)]
struct ValueDigest([u8; 32]);

impl std::fmt::Debug for ValueDigest {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("ValueDigest(<redacted>)")
    }
}

/// What holds a value: an item of the catalog, or a Secrets Manager secret (by index).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
enum Owner {
    Item(usize),
    Secret(usize),
}

/// One field that holds a value: its owner and the field, with its rank (lower is preferred when
/// several fields of one item hold the value) and whether the field is sensitive.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Holder {
    owner: Owner,
    rank: usize,
    sensitive: bool,
    field: BitwardenFieldRef,
}

impl Holder {
    /// Lower is preferred: sensitive fields first, then the item's own order.
    fn preference(&self) -> (bool, usize) {
        (!self.sensitive, self.rank)
    }
}

/// A Secrets Manager secret the catalog matches against (its value only digested).
#[derive(Debug, Clone)]
struct SecretsManagerEntry {
    id: String,
    key: String,
    project: Option<String>,
}

/// The digest of every candidate field, under a random key drawn when the index is made.
#[derive(Clone)]
struct ValueIndex {
    key: Zeroizing<[u8; 32]>,
    holders: HashMap<ValueDigest, Vec<Holder>>,
    fields: usize,
}

impl std::fmt::Debug for ValueIndex {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ValueIndex")
            .field("fields", &self.fields)
            .finish_non_exhaustive()
    }
}

impl Default for ValueIndex {
    fn default() -> Self {
        Self {
            key: Zeroizing::new(rand::random()),
            holders: HashMap::new(),
            fields: 0,
        }
    }
}

impl ValueIndex {
    fn build(items: &[Item], scope: NameScope<'_>) -> Self {
        let mut index = Self::default();
        for (position, item) in items.iter().enumerate() {
            if item.deleted_date.is_some() || !scope.contains(item) {
                continue;
            }
            for (rank, (field, sensitive)) in candidate_fields(item).into_iter().enumerate() {
                // The same rules as resolving the reference later: a field that would not
                // resolve (empty, linked, duplicated) is not a candidate.
                let Ok(value) = item.field(&field) else {
                    continue;
                };
                let digest = index.digest(value.expose());
                index.holders.entry(digest).or_default().push(Holder {
                    owner: Owner::Item(position),
                    rank,
                    sensitive,
                    field,
                });
                index.fields += 1;
            }
        }
        index
    }

    /// Adds a Secrets Manager secret's value (sensitive) as held by `Owner::Secret(position)`.
    fn add_secret(&mut self, position: usize, value: &SecretValue) {
        let digest = self.digest(value.expose());
        self.holders.entry(digest).or_default().push(Holder {
            owner: Owner::Secret(position),
            rank: 0,
            sensitive: true,
            field: BitwardenFieldRef::Builtin {
                field: BitwardenField::Password,
                uri_index: 0,
            },
        });
        self.fields += 1;
    }

    /// The keyed digest of `raw` as Infisical would store it.
    fn digest(&self, raw: &str) -> ValueDigest {
        let normalized = Zeroizing::new(normalize_value(raw));
        let mut mac = <HmacSha256 as Mac>::new_from_slice(self.key.as_slice())
            .expect("HMAC takes a key of any length");
        mac.update(normalized.as_bytes());
        ValueDigest(mac.finalize().into_bytes().into())
    }
}

/// The fields of an item that may hold a secret's value, most specific first, each with whether
/// it is sensitive: the password (yes), each custom field (when hidden), the notes (yes), the
/// username (no), each URI (no). TOTP seeds are left out (a reference to `totp` reads the
/// current code, not the seed).
fn candidate_fields(item: &Item) -> Vec<(BitwardenFieldRef, bool)> {
    let builtin = |field, uri_index| BitwardenFieldRef::Builtin { field, uri_index };
    let mut fields = vec![(builtin(BitwardenField::Password, 0), true)];
    let mut names: Vec<(&str, bool)> = Vec::new();
    for field in &item.fields {
        if let Some(name) = field.name.as_deref()
            && field.kind != field_type::LINKED
            && !names.iter().any(|(n, _)| *n == name)
        {
            names.push((name, field.kind == field_type::HIDDEN));
        }
    }
    fields.extend(
        names
            .into_iter()
            .map(|(name, hidden)| (BitwardenFieldRef::Custom(name.to_string()), hidden)),
    );
    fields.push((builtin(BitwardenField::Notes, 0), true));
    fields.push((builtin(BitwardenField::Username, 0), false));
    let uris = item.login.as_ref().map_or(0, |login| login.uris.len());
    for index in 0..uris {
        fields.push((
            builtin(
                BitwardenField::Uri,
                u32::try_from(index).unwrap_or(u32::MAX),
            ),
            false,
        ));
    }
    fields
}

/// An item (or Secrets Manager secret) that holds a secret's value, and the field to reference.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ValueHolder {
    /// The item id, lowercase; for a Secrets Manager secret, the secret id.
    pub item: String,
    /// The item's name, or the Secrets Manager secret's key (foreign text: escape before
    /// showing it).
    pub name: String,
    /// The item's Bitwarden folder id (for a Secrets Manager secret, its project id).
    pub folder: Option<String>,
    /// The field (the most specific one when several fields of the item hold the value;
    /// unused for a Secrets Manager secret).
    pub field: BitwardenFieldRef,
    /// Whether this is a Secrets Manager secret rather than a Password Manager item.
    pub secrets_manager: bool,
}

impl ValueHolder {
    /// The reference as written into a `SecretSet` (for a Password Manager item): `field`
    /// omitted for the password, `uriIndex` omitted for the first URI.
    pub fn to_spec(&self) -> BitwardenSpec {
        let (field, custom_field, uri_index) = match &self.field {
            BitwardenFieldRef::Builtin {
                field: BitwardenField::Password,
                ..
            } => (None, None, None),
            BitwardenFieldRef::Builtin {
                field: BitwardenField::Uri,
                uri_index,
            } => (
                Some(BitwardenField::Uri),
                None,
                (*uri_index != 0).then_some(*uri_index),
            ),
            BitwardenFieldRef::Builtin { field, .. } => (Some(*field), None, None),
            BitwardenFieldRef::Custom(name) => (None, Some(name.clone()), None),
        };
        BitwardenSpec {
            item: Some(Located::unplaced(self.item.clone())),
            field: field.map(Located::unplaced),
            custom_field: custom_field.map(Located::unplaced),
            uri_index,
            ..BitwardenSpec::default()
        }
    }
}

/// What a lookup by name found.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum NameMatch {
    /// Exactly one item: its id, and the field to read.
    One {
        /// The item id.
        item: String,
        /// `None` for the default `password`, else the field to write.
        field: Option<BitwardenField>,
    },
    /// Several items carry the name.
    Ambiguous {
        /// The name that matched.
        name: String,
        /// The candidate item ids, sorted.
        candidates: Vec<String>,
    },
    /// No item carries any of the names tried.
    None,
}

impl Catalog {
    /// A catalog of `items`, matching by name only inside `folder` and/or `collection` (both
    /// `None`: the whole vault).
    pub fn new(items: Vec<Item>, folder: Option<String>, collection: Option<String>) -> Self {
        let by_id = items
            .iter()
            .enumerate()
            .map(|(index, item)| (item.id.to_lowercase(), index))
            .collect();
        let values = ValueIndex::build(
            &items,
            NameScope {
                folder: folder.as_deref(),
                collection: collection.as_deref(),
            },
        );
        Self {
            items,
            folder,
            collection,
            by_id,
            values,
            secrets: Vec::new(),
        }
    }

    /// Adds the Secrets Manager secrets `bws secret list` returned: each one's value is
    /// digested (sensitive) and the value itself dropped.
    pub fn with_secrets_manager(
        mut self,
        secrets: Vec<crate::resolve::bitwarden::secrets_manager::ListedSecret>,
    ) -> Self {
        for secret in secrets {
            let position = self.secrets.len();
            self.values.add_secret(position, &secret.value.0);
            self.secrets.push(SecretsManagerEntry {
                id: secret.id.to_ascii_lowercase(),
                key: secret.key,
                project: secret.project_id,
            });
        }
        self
    }

    /// How many Secrets Manager secrets the catalog holds.
    pub fn secrets_manager_secrets(&self) -> usize {
        self.secrets.len()
    }

    /// How many fields the value index holds (for the summary and benchmarks).
    pub fn indexed_fields(&self) -> usize {
        self.values.fields
    }

    /// The items in scope (and Secrets Manager secrets) that hold `live` in one of their fields
    /// (after Infisical's normalisation), one entry per item with its most specific field,
    /// sorted by item id. When a sensitive field (password, notes, hidden custom field, Secrets
    /// Manager value) holds the value, items holding it only in a non-sensitive field (username,
    /// URI, visible custom field) are left out: a value that is a password somewhere is a
    /// password.
    pub fn find_by_value(&self, live: &SecretValue) -> Vec<ValueHolder> {
        let digest = self.values.digest(live.expose());
        let Some(holders) = self.values.holders.get(&digest) else {
            return Vec::new();
        };
        let mut best: BTreeMap<Owner, &Holder> = BTreeMap::new();
        for holder in holders {
            let entry = best.entry(holder.owner).or_insert(holder);
            if holder.preference() < entry.preference() {
                *entry = holder;
            }
        }
        let any_sensitive = best.values().any(|holder| holder.sensitive);
        let mut found: Vec<ValueHolder> = best
            .into_values()
            .filter(|holder| holder.sensitive || !any_sensitive)
            .map(|holder| match holder.owner {
                Owner::Item(index) => {
                    let item = &self.items[index];
                    ValueHolder {
                        item: item.id.to_ascii_lowercase(),
                        name: item.name.clone(),
                        folder: item.folder_id.clone(),
                        field: holder.field.clone(),
                        secrets_manager: false,
                    }
                }
                Owner::Secret(index) => {
                    let secret = &self.secrets[index];
                    ValueHolder {
                        item: secret.id.clone(),
                        name: secret.key.clone(),
                        folder: secret.project.clone(),
                        field: holder.field.clone(),
                        secrets_manager: true,
                    }
                }
            })
            .collect();
        found.sort_by(|a, b| a.item.cmp(&b.item));
        found
    }

    /// Whether a sensitive field in scope (password, notes, hidden custom field, Secrets
    /// Manager value) holds `live`.
    pub fn holds_sensitive_value(&self, live: &SecretValue) -> bool {
        self.values
            .holders
            .get(&self.values.digest(live.expose()))
            .is_some_and(|holders| holders.iter().any(|holder| holder.sensitive))
    }

    /// The Bitwarden folder of an item, by id.
    pub fn folder_of(&self, item: &str) -> Option<&str> {
        self.by_id
            .get(&item.to_lowercase())
            .and_then(|&index| self.items[index].folder_id.as_deref())
    }

    /// A human description of the scope, for placeholders and messages.
    pub fn scope_label(&self) -> String {
        match (&self.folder, &self.collection) {
            (Some(f), Some(c)) => format!("folder {f} and collection {c}"),
            (Some(f), None) => format!("folder {f}"),
            (None, Some(c)) => format!("collection {c}"),
            (None, None) => "the vault".to_string(),
        }
    }

    /// The names tried for a secret, in order: its full address, then its key.
    pub fn names_for(address: &Address) -> Vec<String> {
        let mut names = vec![address.exact()];
        if let Address::Secret(_, _, _, key) = address {
            names.push(key.to_string());
        }
        names
    }

    /// Looks `address` up by name: the first name of [`Catalog::names_for`] that any item
    /// carries decides.
    pub fn find(&self, address: &Address) -> NameMatch {
        let scope = NameScope {
            folder: self.folder.as_deref(),
            collection: self.collection.as_deref(),
        };
        for name in Self::names_for(address) {
            match select_by_name(&self.items, &name, scope) {
                Ok(item) => {
                    return NameMatch::One {
                        item: item.id.to_ascii_lowercase(),
                        field: default_field(item),
                    };
                }
                Err(NameSelection::Many(candidates)) => {
                    return NameMatch::Ambiguous { name, candidates };
                }
                Err(NameSelection::None) => {}
            }
        }
        NameMatch::None
    }

    /// The field an item chosen by id is read from.
    pub fn field_for(&self, item: &str) -> Option<BitwardenField> {
        self.by_id
            .get(&item.to_lowercase())
            .and_then(|&index| default_field(&self.items[index]))
    }

    /// Whether the referenced field holds the same value as `live`: `None` when either side is
    /// unknown (item not in the catalog, field unreadable, value hidden).
    pub fn same_value(
        &self,
        reference: &BitwardenSpec,
        live: Option<&SecretValue>,
    ) -> Option<bool> {
        let live = live?;
        let item = reference.item.as_ref()?;
        let index = *self.by_id.get(&item.value.to_lowercase())?;
        let field = match &reference.custom_field {
            Some(name) => BitwardenFieldRef::Custom(name.value.clone()),
            None => BitwardenFieldRef::Builtin {
                field: reference
                    .field
                    .as_ref()
                    .map(|f| f.value)
                    .unwrap_or_default(),
                uri_index: reference.uri_index.unwrap_or(0),
            },
        };
        let value = self.items[index].field(&field).ok()?;
        Some(value.matches(live))
    }
}

impl MappingEntry {
    /// The field this entry reads, for messages.
    pub fn describe_field(&self) -> String {
        self.field_ref().label()
    }
}

/// `None` (the default `password`) for a login with a password; `notes` for an item without
/// one whose notes are set (a secure note).
fn default_field(item: &Item) -> Option<BitwardenField> {
    let has_password = item
        .login
        .as_ref()
        .and_then(|l| l.password.as_ref())
        .is_some();
    if !has_password && item.notes.is_some() {
        Some(BitwardenField::Notes)
    } else {
        None
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn mapping_keys_must_be_secret_addresses() {
        let ok = Mapping::parse(
            "payments/prod:/db#PASSWORD:\n  item: 6B1F0C3E-2A7D-4C59-9E48-1D3A5F7B9C01\n  field: username\n",
            "m.yaml",
        )
        .unwrap();
        assert_eq!(ok.len(), 1);
        let address: Address = "payments/prod:/db#PASSWORD".parse().unwrap();
        let spec = ok.get(&address).unwrap().to_spec();
        assert_eq!(
            spec.item.unwrap().value,
            "6b1f0c3e-2a7d-4c59-9e48-1d3a5f7b9c01"
        );
        let bad = Mapping::parse("payments/prod:\n  item: x\n", "m.yaml").unwrap_err();
        assert!(bad.to_string().contains("`payments/prod`"), "{bad}");
        let shape = Mapping::parse("- a\n", "m.yaml").unwrap_err();
        assert!(matches!(shape, MappingError::Parse { .. }));
    }

    const ITEM: &str = "6b1f0c3e-2a7d-4c59-9e48-1d3a5f7b9c01";

    fn items(json: &str) -> Vec<Item> {
        serde_json::from_str(json).unwrap()
    }

    #[test]
    fn values_are_found_by_keyed_digest_in_the_most_specific_field() {
        let catalog = Catalog::new(
            items(
                r#"[
                {"id": "A", "type": 1, "name": "unrelated", "folderId": "f",
                 "login": {"username": "canary-user", "password": "canary-pass",
                           "uris": [{"uri": "https://one"}, {"uri": "https://two"}]},
                 "fields": [{"name": "token", "value": "canary-token", "type": 1},
                            {"name": "same", "value": "canary-pass", "type": 0}]},
                {"id": "B", "type": 2, "name": "note", "folderId": "f", "notes": "canary-note"},
                {"id": "C", "type": 1, "name": "twin", "folderId": "f",
                 "login": {"password": "canary-shared"}},
                {"id": "D", "type": 1, "name": "twin2", "folderId": "f",
                 "login": {"password": "canary-shared"}},
                {"id": "E", "type": 1, "name": "trashed", "folderId": "f",
                 "login": {"password": "canary-trash"}, "deletedDate": "2026-01-01"},
                {"id": "F", "type": 1, "name": "elsewhere", "folderId": "g",
                 "login": {"password": "canary-elsewhere"}}
            ]"#,
            ),
            Some("f".to_string()),
            None,
        );
        let find = |value: &str| -> Vec<(String, String)> {
            catalog
                .find_by_value(&SecretValue::new(value))
                .into_iter()
                .map(|h| (h.item, h.field.label()))
                .collect()
        };
        let one = |item: &str, field: &str| vec![(item.to_string(), field.to_string())];
        // The password beats a custom field holding the same value in the same item.
        assert_eq!(find("canary-pass"), one("a", "password"));
        // Infisical's trimming is applied before digesting.
        assert_eq!(find("  canary-pass \t"), one("a", "password"));
        assert_eq!(find("canary-user"), one("a", "username"));
        assert_eq!(find("canary-token"), one("a", "custom field \"token\""));
        assert_eq!(find("https://two"), one("a", "uri[1]"));
        assert_eq!(find("canary-note"), one("b", "notes"));
        assert_eq!(find("canary-shared").len(), 2, "two items: ambiguous");
        assert!(find("canary-trash").is_empty(), "trashed items are ignored");
        assert!(find("canary-elsewhere").is_empty(), "outside the folder");
        assert!(find("canary-absent").is_empty());
        // References written for each kind of field.
        let uri = catalog
            .find_by_value(&SecretValue::new("https://two"))
            .remove(0)
            .to_spec();
        assert_eq!(uri.uri_index, Some(1));
        let password = catalog
            .find_by_value(&SecretValue::new("canary-pass"))
            .remove(0)
            .to_spec();
        assert!(password.field.is_none() && password.custom_field.is_none());
        // Nothing printable holds a value or a digest.
        let debug = format!("{catalog:?}");
        assert!(!debug.contains("canary"), "{debug}");
        // A second catalog draws another key: digests are per run.
        let other = Catalog::new(Vec::new(), None, None);
        assert_ne!(
            catalog.values.digest("canary-pass"),
            other.values.digest("canary-pass")
        );
    }

    #[test]
    fn a_sensitive_field_wins_over_a_uri_or_a_username() {
        use crate::resolve::bitwarden::item::Sensitive;
        use crate::resolve::bitwarden::secrets_manager::ListedSecret;
        let catalog = Catalog::new(
            items(
                r#"[
                {"id": "A", "type": 1, "name": "a",
                 "login": {"username": "canary-shared-1", "uris": [{"uri": "https://shared"}]}},
                {"id": "B", "type": 1, "name": "b", "login": {"password": "canary-shared-1"}},
                {"id": "C", "type": 1, "name": "c", "login": {"uris": [{"uri": "https://shared"}]}},
                {"id": "D", "type": 2, "name": "d",
                 "fields": [{"name": "visible", "value": "canary-v-1", "type": 0}]},
                {"id": "E", "type": 2, "name": "e",
                 "fields": [{"name": "hidden", "value": "canary-v-1", "type": 1}]},
                {"id": "F", "type": 1, "name": "f", "login": {"uris": [{"uri": "https://sm"}]}}
            ]"#,
            ),
            None,
            None,
        )
        .with_secrets_manager(vec![ListedSecret {
            id: "9A8B7C6D-5E4F-4A3B-8C2D-1E0F9A8B7C01".to_string(),
            key: "SMTP_RELAY_PASSWORD".to_string(),
            project_id: Some("p".to_string()),
            value: Sensitive(SecretValue::new("https://sm")),
        }]);
        let find = |value: &str| -> Vec<(String, String, bool)> {
            catalog
                .find_by_value(&SecretValue::new(value))
                .into_iter()
                .map(|h| (h.item, h.field.label(), h.secrets_manager))
                .collect()
        };
        // A password beats another item's username.
        assert_eq!(
            find("canary-shared-1"),
            [("b".into(), "password".into(), false)]
        );
        // Only URIs hold it: both are candidates (and none is sensitive).
        assert_eq!(find("https://shared").len(), 2);
        assert!(!catalog.holds_sensitive_value(&SecretValue::new("https://shared")));
        assert!(catalog.holds_sensitive_value(&SecretValue::new("canary-shared-1")));
        // A hidden custom field beats a visible one.
        assert_eq!(
            find("canary-v-1"),
            [("e".into(), "custom field \"hidden\"".into(), false)]
        );
        // A Secrets Manager value beats a URI; its id is written lowercase.
        assert_eq!(
            find("https://sm"),
            [(
                "9a8b7c6d-5e4f-4a3b-8c2d-1e0f9a8b7c01".into(),
                "password".into(),
                true
            )]
        );
        assert_eq!(catalog.secrets_manager_secrets(), 1);
    }

    #[test]
    fn mapping_entries_take_a_uri_index_with_field_uri() {
        let mapping = Mapping::parse(
            &format!("payments/prod:/#WEBHOOK_URL:\n  item: {ITEM}\n  field: uri\n  uriIndex: 1\n"),
            "m.yaml",
        )
        .unwrap();
        let address: Address = "payments/prod:/#WEBHOOK_URL".parse().unwrap();
        let entry = mapping.get(&address).unwrap();
        assert_eq!(entry.describe_field(), "uri[1]");
        let spec = entry.to_spec();
        assert_eq!(spec.uri_index, Some(1));
        assert_eq!(spec.field.map(|f| f.value), Some(BitwardenField::Uri));
    }

    #[test]
    fn mapping_entries_follow_the_bitwarden_reference_rules() {
        for (entry, reason) in [
            (
                "  uriIndex: 1\n",
                "sets `uriIndex` without `field: uri`: add `field: uri`, or remove `uriIndex`",
            ),
            (
                "  field: password\n  uriIndex: 0\n",
                "sets `uriIndex` without `field: uri`: add `field: uri`, or remove `uriIndex`",
            ),
            (
                "  customField: url\n  uriIndex: 0\n",
                "sets `uriIndex` without `field: uri`: add `field: uri`, or remove `uriIndex`",
            ),
            (
                "  field: uri\n  customField: url\n",
                "sets both `field` and `customField`: keep one",
            ),
        ] {
            let text = format!("payments/prod:/#URL:\n  item: {ITEM}\n{entry}");
            let error = Mapping::parse(&text, "m.yaml").unwrap_err();
            assert_eq!(
                error.to_string(),
                format!("mapping file m.yaml: the entry for `payments/prod:/#URL` {reason}"),
                "{entry}"
            );
        }
    }
}
