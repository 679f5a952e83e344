//! The `bw serve` Vault Management API client (the Bitwarden CLI's local REST server; it serves
//! Bitwarden cloud and self-hosted Vaultwarden alike).
//!
//! What the CLI answers (read from its bundled source, `@bitwarden/cli`):
//! - success: status 200, `{"success": true, "data": …}`;
//! - any failure: status **400**, `{"success": false, "message": "…"}` — `Vault is locked.`,
//!   `You are not logged in.`, `Not found.`, …;
//! - a request carrying an `Origin` header, or a `Host` outside its allow-list: plain-text
//!   `403 Forbidden`. This client never sends `Origin`.

use std::sync::Arc;
use std::time::Duration;

use serde::Serialize;
use serde::de::DeserializeOwned;

use super::error::BitwardenError;
use super::item::{Envelope, Item, ListData, StatusData, StatusTemplate, StringData, messages};
use crate::escape;
use crate::model::SecretValue;
use crate::net::body::{BodyError, read_limited};

/// Default base URL of `bw serve`.
pub const DEFAULT_URL: &str = "http://127.0.0.1:8087";

/// Per-request time limit.
pub const REQUEST_TIMEOUT: Duration = Duration::from_secs(30);

/// Largest answer read from `bw serve`: 32 MiB, room for a listing of more than 10,000 items
/// (an item is 1–3 KB of JSON). A larger answer fails the lookup.
pub const MAX_ANSWER_BYTES: u64 = 32 * 1024 * 1024;

/// A `bw serve` client.
#[derive(Debug, Clone)]
pub struct ServeClient {
    base: String,
    http: reqwest::Client,
    max_answer_bytes: u64,
}

/// The vault state reported by `GET /status`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum VaultStatus {
    /// Ready.
    Unlocked,
    /// Logged in, locked.
    Locked,
    /// Not logged in.
    Unauthenticated,
}

/// A new login item (for backups of generated values).
#[derive(Debug, Clone)]
pub struct NewLogin {
    /// Item name.
    pub name: String,
    /// Notes (no value).
    pub notes: String,
    /// Folder id.
    pub folder_id: Option<String>,
    /// Organisation id (required with collections).
    pub organization_id: Option<String>,
    /// Collection ids.
    pub collection_ids: Vec<String>,
    /// The password.
    pub password: SecretValue,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct NewLoginBody<'a> {
    organization_id: Option<&'a str>,
    collection_ids: &'a [String],
    folder_id: Option<&'a str>,
    #[serde(rename = "type")]
    kind: u8,
    name: &'a str,
    notes: &'a str,
    favorite: bool,
    fields: [(); 0],
    login: NewLoginPart<'a>,
    reprompt: u8,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct NewLoginPart<'a> {
    uris: [(); 0],
    username: Option<&'a str>,
    password: &'a str,
    totp: Option<&'a str>,
}

impl ServeClient {
    /// A client for `bw serve` at `base_url` (e.g. `http://127.0.0.1:8087`).
    pub fn new(base_url: &str) -> Result<Self, reqwest::Error> {
        let _ = rustls::crypto::ring::default_provider().install_default();
        let http = reqwest::Client::builder()
            .timeout(REQUEST_TIMEOUT)
            .connect_timeout(Duration::from_secs(5))
            .user_agent(concat!("infisical-gitops/", env!("CARGO_PKG_VERSION")))
            // `bw serve` listens on loopback; a system proxy must not intercept it.
            .no_proxy()
            .build()?;
        Ok(Self {
            base: base_url.trim_end_matches('/').to_string(),
            http,
            max_answer_bytes: MAX_ANSWER_BYTES,
        })
    }

    /// Sets the largest answer read (default [`MAX_ANSWER_BYTES`]).
    pub fn with_max_answer_bytes(mut self, limit: u64) -> Self {
        self.max_answer_bytes = limit;
        self
    }

    /// The base URL.
    pub fn url(&self) -> &str {
        &self.base
    }

    async fn call<T: DeserializeOwned>(
        &self,
        what: &str,
        request: reqwest::RequestBuilder,
    ) -> Result<Result<T, String>, BitwardenError> {
        let response = request
            .send()
            .await
            .map_err(|source| BitwardenError::Unreachable {
                url: self.base.clone(),
                source: Arc::new(source),
            })?;
        let status = response.status().as_u16();
        if status == 403 {
            return Err(BitwardenError::Forbidden {
                url: self.base.clone(),
            });
        }
        let body = read_limited(response, self.max_answer_bytes)
            .await
            .map_err(|error| match error {
                BodyError::TooLarge(too_large) => BitwardenError::AnswerTooLarge {
                    what: what.to_string(),
                    limit: too_large.limit,
                },
                BodyError::Transport(source) => BitwardenError::Unreachable {
                    url: self.base.clone(),
                    source: Arc::new(source),
                },
            })?;
        let protocol = || BitwardenError::Protocol {
            what: what.to_string(),
            status,
        };
        let envelope: Envelope<T> = serde_json::from_slice(&body).map_err(|_| protocol())?;
        drop(body);
        if envelope.success {
            return envelope.data.map(Ok).ok_or_else(protocol);
        }
        let message = envelope.message.unwrap_or_default();
        match message.as_str() {
            messages::VAULT_LOCKED => Err(BitwardenError::VaultLocked),
            messages::NOT_LOGGED_IN => Err(BitwardenError::NotLoggedIn),
            _ => Ok(Err(message)),
        }
    }

    fn refused(what: &str, message: String) -> BitwardenError {
        BitwardenError::Refused {
            what: what.to_string(),
            message: shown_message(&message),
        }
    }

    /// `GET /status`.
    pub async fn status(&self) -> Result<VaultStatus, BitwardenError> {
        let what = "GET /status";
        let data: StatusData = self
            .call(what, self.http.get(format!("{}/status", self.base)))
            .await?
            .map_err(|m| Self::refused(what, m))?;
        let StatusTemplate { status, .. } = data.template;
        match status.as_str() {
            "unlocked" => Ok(VaultStatus::Unlocked),
            "locked" => Ok(VaultStatus::Locked),
            "unauthenticated" => Ok(VaultStatus::Unauthenticated),
            _ => Err(BitwardenError::Protocol {
                what: what.to_string(),
                status: 200,
            }),
        }
    }

    /// Fails with a clear error unless the vault is unlocked.
    pub async fn ensure_unlocked(&self) -> Result<(), BitwardenError> {
        match self.status().await? {
            VaultStatus::Unlocked => Ok(()),
            VaultStatus::Locked => Err(BitwardenError::VaultLocked),
            VaultStatus::Unauthenticated => Err(BitwardenError::NotLoggedIn),
        }
    }

    /// `POST /sync`: pulls the latest vault from the server.
    pub async fn sync(&self) -> Result<(), BitwardenError> {
        let what = "POST /sync";
        let result: Result<serde_json::Value, String> = self
            .call(what, self.http.post(format!("{}/sync", self.base)))
            .await?;
        result
            .map(|_| ())
            .map_err(|message| BitwardenError::SyncFailed {
                message: shown_message(&message),
            })
    }

    /// `GET /object/item/{id}`.
    pub async fn item(&self, id: &str) -> Result<Item, BitwardenError> {
        let what = "GET /object/item";
        let url = format!("{}/object/item/{}", self.base, path_segment(id));
        match self.call(what, self.http.get(url)).await? {
            Ok(item) => Ok(item),
            Err(message) if message == messages::NOT_FOUND => {
                Err(BitwardenError::ItemNotFound { id: id.to_string() })
            }
            Err(message) => Err(Self::refused(what, message)),
        }
    }

    /// `GET /list/object/items?search=…&folderid=…&collectionid=…`. Note that the CLI OR-s the
    /// folder and collection filters and searches names as substrings; callers filter again.
    pub async fn list_items(
        &self,
        search: Option<&str>,
        folder: Option<&str>,
        collection: Option<&str>,
    ) -> Result<Vec<Item>, BitwardenError> {
        let what = "GET /list/object/items";
        let mut query: Vec<(&str, &str)> = Vec::new();
        if let Some(search) = search {
            query.push(("search", search));
        }
        if let Some(folder) = folder {
            query.push(("folderid", folder));
        }
        if let Some(collection) = collection {
            query.push(("collectionid", collection));
        }
        let request = self
            .http
            .get(format!("{}/list/object/items", self.base))
            .query(&query);
        let list: ListData<Item> = self
            .call(what, request)
            .await?
            .map_err(|m| Self::refused(what, m))?;
        Ok(list.data)
    }

    /// `GET /object/totp/{id}`: the current TOTP code.
    pub async fn totp(&self, id: &str) -> Result<SecretValue, BitwardenError> {
        let what = "GET /object/totp";
        let url = format!("{}/object/totp/{}", self.base, path_segment(id));
        match self.call::<StringData>(what, self.http.get(url)).await? {
            Ok(data) => Ok(data.data.0),
            Err(message) if message == messages::NOT_FOUND => {
                Err(BitwardenError::ItemNotFound { id: id.to_string() })
            }
            Err(message) => Err(Self::refused(what, message)),
        }
    }

    /// `POST /object/item`: creates a login item; returns the created item.
    pub async fn create_login(&self, login: &NewLogin) -> Result<Item, BitwardenError> {
        let what = "POST /object/item";
        let body = NewLoginBody {
            organization_id: login.organization_id.as_deref(),
            collection_ids: &login.collection_ids,
            folder_id: login.folder_id.as_deref(),
            kind: super::item::cipher_type::LOGIN,
            name: &login.name,
            notes: &login.notes,
            favorite: false,
            fields: [],
            login: NewLoginPart {
                uris: [],
                username: None,
                password: login.password.expose(),
                totp: None,
            },
            reprompt: 0,
        };
        let json = serde_json::to_vec(&body).map_err(|_| BitwardenError::Protocol {
            what: what.to_string(),
            status: 0,
        })?;
        let request = self
            .http
            .post(format!("{}/object/item", self.base))
            .header(reqwest::header::CONTENT_TYPE, "application/json")
            .body(json);
        // The CLI's message might quote what it was sent: the password never reaches an error.
        let password = login.password.expose();
        self.call(what, request).await?.map_err(|message| {
            let message = escape::scrub(&message, [password], MIN_SCRUBBED_LEN);
            Self::refused(what, message)
        })
    }
}

/// Longest message of `bw serve` kept in an error.
const MAX_MESSAGE_CHARS: usize = 300;
/// Shortest value scrubbed from its messages.
const MIN_SCRUBBED_LEN: usize = 4;

/// A message of `bw serve` as errors show it: on one line with visible escapes (it is foreign
/// text; a newline or a terminal escape in it must not forge log lines), at most
/// [`MAX_MESSAGE_CHARS`] characters.
fn shown_message(message: &str) -> String {
    let shown = escape::visible(message.trim());
    if shown.chars().count() > MAX_MESSAGE_CHARS {
        shown.chars().take(MAX_MESSAGE_CHARS).collect::<String>() + "…"
    } else {
        shown.into_owned()
    }
}

/// Percent-encodes an id for a path segment (ids are UUIDs; anything else is escaped).
fn path_segment(id: &str) -> String {
    id.bytes()
        .map(|b| {
            if b.is_ascii_alphanumeric() || b == b'-' || b == b'_' {
                (b as char).to_string()
            } else {
                format!("%{b:02X}")
            }
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A `bw serve` that refuses everything, quoting what it was sent and adding a forged line.
    async fn echoing_serve() -> String {
        use axum::Router;
        use axum::body::Bytes;
        use axum::routing::{get, post};
        async fn refuse(body: Bytes) -> String {
            let sent = String::from_utf8_lossy(&body).into_owned();
            serde_json::json!({
                "success": false,
                "message": format!("Invalid item {sent}\n\u{1b}[2JINFO forged log line"),
            })
            .to_string()
        }
        let app = Router::new()
            .route("/object/item", post(refuse))
            .route("/object/item/{id}", get(refuse))
            .route("/sync", post(refuse));
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .expect("bind loopback");
        let address = listener.local_addr().expect("address");
        tokio::spawn(async move { axum::serve(listener, app).await });
        format!("http://{address}")
    }

    #[tokio::test]
    async fn refusals_never_quote_the_password_nor_break_the_line() {
        let client = ServeClient::new(&echoing_serve().await).expect("client");
        let password = "multi\nline \"canary\" password";
        let login = NewLogin {
            name: "backup".to_string(),
            notes: String::new(),
            folder_id: None,
            organization_id: None,
            collection_ids: Vec::new(),
            password: SecretValue::new(password),
        };
        let errors = [
            client.create_login(&login).await.expect_err("refused"),
            client.item("id").await.expect_err("refused"),
            client.sync().await.expect_err("refused"),
        ];
        for error in errors {
            let shown = error.to_string();
            assert!(!shown.contains("canary"), "{shown}");
            assert!(
                !shown.contains('\n') && !shown.contains('\u{1b}'),
                "{shown}"
            );
            assert!(
                shown.contains("\\n\\u{1b}[2JINFO forged log line"),
                "{shown}"
            );
        }
    }
}
