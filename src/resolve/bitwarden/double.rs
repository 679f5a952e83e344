//! A faithful in-memory double of `bw serve` (the Bitwarden CLI's Vault Management API), for
//! tests, benchmarks and local runs. It answers as `@bitwarden/cli` does (read from its bundled
//! source):
//!
//! - `{"success": true, "data": …}` with status 200; failures `{"success": false, "message": …}`
//!   with status **400** (`Vault is locked.`, `Not found.`, …);
//! - a plain-text `403 Forbidden` for any request with an `Origin` header, or whose `Host` is not
//!   `localhost:<port>`, `127.0.0.1:<port>` or `[::1]:<port>`;
//! - `GET /status`, `GET /list/object/items` (`search`, `folderid`, `collectionid`, OR-ed like the
//!   CLI), `GET /object/item/{id}`, `GET /object/totp/{id}`, `POST /object/item`, `POST /sync`,
//!   `POST /lock`, `POST /unlock`.
//!
//! Extras for tests: an added latency per request, counters, and a switch that makes item
//! creation fail.

use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::Router;
use axum::extract::{Path, Query, Request, State};
use axum::http::{StatusCode, header};
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use serde_json::{Value, json};

/// Master password the double accepts on `POST /unlock`.
pub const MASTER_PASSWORD: &str = "double-master-password";

/// The double's shared state.
#[derive(Debug, Default)]
pub struct DoubleState {
    items: Mutex<BTreeMap<String, Value>>,
    totp_codes: Mutex<BTreeMap<String, String>>,
    locked: AtomicBool,
    logged_out: AtomicBool,
    fail_creates: AtomicBool,
    latency_ms: AtomicUsize,
    /// When non-zero: the vault locks once this many requests have been served.
    lock_after: AtomicUsize,
    port: AtomicUsize,
    requests: AtomicUsize,
    item_gets: AtomicUsize,
    lists: AtomicUsize,
    creates: AtomicUsize,
    syncs: AtomicUsize,
    forbidden: AtomicUsize,
}

impl DoubleState {
    /// Locks or unlocks the vault.
    pub fn set_locked(&self, locked: bool) {
        self.locked.store(locked, Ordering::SeqCst);
    }

    /// Locks the vault after `requests` more requests have been served (the vault locking
    /// mid-run, e.g. on its timeout); `0` turns it off.
    pub fn lock_after(&self, requests: usize) {
        let threshold = if requests == 0 {
            0
        } else {
            self.requests.load(Ordering::SeqCst) + requests
        };
        self.lock_after.store(threshold, Ordering::SeqCst);
    }

    /// Logs out (every vault route answers "You are not logged in.").
    pub fn set_logged_out(&self, logged_out: bool) {
        self.logged_out.store(logged_out, Ordering::SeqCst);
    }

    /// Makes `POST /object/item` fail (as a server-side error would).
    pub fn set_fail_creates(&self, fail: bool) {
        self.fail_creates.store(fail, Ordering::SeqCst);
    }

    /// Adds `latency` to every request.
    pub fn set_latency(&self, latency: Duration) {
        self.latency_ms.store(
            usize::try_from(latency.as_millis()).unwrap_or(usize::MAX),
            Ordering::SeqCst,
        );
    }

    /// Adds (or replaces) an item. An item from a `bw export` is given the shape of the CLI's
    /// `CipherResponse`: `object: "item"`, `collectionIds` an array, `archivedDate`, and the
    /// login's `passwordRevisionDate`.
    pub fn insert_item(&self, mut item: Value) {
        if let Some(obj) = item.as_object_mut() {
            obj.insert("object".into(), json!("item"));
            if obj.get("collectionIds").is_none_or(Value::is_null) {
                obj.insert("collectionIds".into(), json!([]));
            }
            obj.entry("archivedDate").or_insert(Value::Null);
            if let Some(login) = obj.get_mut("login").and_then(Value::as_object_mut) {
                login.entry("passwordRevisionDate").or_insert(Value::Null);
            }
        }
        let id = item["id"].as_str().unwrap_or_default().to_lowercase();
        if let Ok(mut items) = self.items.lock() {
            items.insert(id, item);
        }
    }

    /// Sets the code `GET /object/totp/{id}` answers for an item with a TOTP seed.
    pub fn set_totp_code(&self, id: &str, code: &str) {
        if let Ok(mut codes) = self.totp_codes.lock() {
            codes.insert(id.to_lowercase(), code.to_string());
        }
    }

    /// Every item, as stored.
    pub fn items(&self) -> Vec<Value> {
        self.items
            .lock()
            .map(|i| i.values().cloned().collect())
            .unwrap_or_default()
    }

    /// Requests served (all routes).
    pub fn requests(&self) -> usize {
        self.requests.load(Ordering::SeqCst)
    }

    /// `GET /object/item/{id}` calls.
    pub fn item_gets(&self) -> usize {
        self.item_gets.load(Ordering::SeqCst)
    }

    /// `GET /list/object/items` calls.
    pub fn lists(&self) -> usize {
        self.lists.load(Ordering::SeqCst)
    }

    /// Successful `POST /object/item` calls.
    pub fn creates(&self) -> usize {
        self.creates.load(Ordering::SeqCst)
    }

    /// `POST /sync` calls.
    pub fn syncs(&self) -> usize {
        self.syncs.load(Ordering::SeqCst)
    }

    /// Requests refused with 403.
    pub fn forbidden(&self) -> usize {
        self.forbidden.load(Ordering::SeqCst)
    }
}

/// A running double.
#[derive(Debug)]
pub struct BwServeDouble {
    /// The state (inspect and steer it).
    pub state: Arc<DoubleState>,
    /// Where it listens.
    pub addr: SocketAddr,
    task: tokio::task::JoinHandle<()>,
}

impl BwServeDouble {
    /// Starts an empty, unlocked double on `127.0.0.1:0`.
    pub async fn start() -> std::io::Result<Self> {
        let state = Arc::new(DoubleState::default());
        let listener = tokio::net::TcpListener::bind(("127.0.0.1", 0)).await?;
        let addr = listener.local_addr()?;
        state.port.store(usize::from(addr.port()), Ordering::SeqCst);
        let app = router(Arc::clone(&state));
        let task = tokio::spawn(async move {
            let _ = axum::serve(listener, app).await;
        });
        Ok(Self { state, addr, task })
    }

    /// Starts a double holding the items of a `bw export --format json` document.
    pub async fn with_export(export_json: &str) -> std::io::Result<Self> {
        let double = Self::start().await?;
        let doc: Value = serde_json::from_str(export_json)
            .map_err(|e| std::io::Error::new(std::io::ErrorKind::InvalidData, e))?;
        for item in doc["items"].as_array().cloned().unwrap_or_default() {
            double.state.insert_item(item);
        }
        Ok(double)
    }

    /// `http://127.0.0.1:<port>`.
    pub fn url(&self) -> String {
        format!("http://{}", self.addr)
    }
}

impl Drop for BwServeDouble {
    fn drop(&mut self) {
        self.task.abort();
    }
}

type Shared = Arc<DoubleState>;

fn router(state: Shared) -> Router {
    Router::new()
        .route("/status", get(status))
        .route("/sync", post(sync))
        .route("/lock", post(lock))
        .route("/unlock", post(unlock))
        .route("/list/object/{object}", get(list))
        .route("/object/{object}", post(create))
        .route("/object/{object}/{id}", get(get_object))
        .layer(middleware::from_fn_with_state(
            Arc::clone(&state),
            origin_protection,
        ))
        .with_state(state)
}

/// `rejectIfHostNotAllowed` and `rejectIfOriginPresent` of the CLI's `serve` command; Koa
/// answers a bare 403 with the text `Forbidden`.
async fn origin_protection(State(state): State<Shared>, request: Request, next: Next) -> Response {
    let served = state.requests.fetch_add(1, Ordering::SeqCst);
    let lock_after = state.lock_after.load(Ordering::SeqCst);
    if lock_after != 0 && served >= lock_after {
        state.locked.store(true, Ordering::SeqCst);
    }
    let latency = state.latency_ms.load(Ordering::SeqCst);
    if latency > 0 {
        tokio::time::sleep(Duration::from_millis(latency as u64)).await;
    }
    let port = state.port.load(Ordering::SeqCst);
    let host = request
        .headers()
        .get(header::HOST)
        .and_then(|h| h.to_str().ok())
        .unwrap_or_default()
        .to_lowercase();
    let allowed = [
        format!("localhost:{port}"),
        format!("127.0.0.1:{port}"),
        format!("[::1]:{port}"),
    ];
    if !allowed.contains(&host) || request.headers().contains_key(header::ORIGIN) {
        state.forbidden.fetch_add(1, Ordering::SeqCst);
        return (
            StatusCode::FORBIDDEN,
            [(header::CONTENT_TYPE, "text/plain; charset=utf-8")],
            "Forbidden",
        )
            .into_response();
    }
    next.run(request).await
}

/// A JSON body written in the CLI's key order (`success` first): Koa serialises the
/// `Response` object in insertion order.
fn json_body(status: StatusCode, body: String) -> Response {
    (
        status,
        [(header::CONTENT_TYPE, "application/json; charset=utf-8")],
        body,
    )
        .into_response()
}

fn success(data: Value) -> Response {
    json_body(
        StatusCode::OK,
        format!(r#"{{"success":true,"data":{data}}}"#),
    )
}

fn error(message: &str) -> Response {
    error_with(message, None)
}

fn error_with(message: &str, data: Option<Value>) -> Response {
    let message = Value::from(message);
    let body = match data {
        Some(data) => format!(r#"{{"success":false,"message":{message},"data":{data}}}"#),
        None => format!(r#"{{"success":false,"message":{message}}}"#),
    };
    json_body(StatusCode::BAD_REQUEST, body)
}

/// `errorIfLocked` of the CLI's serve configurator.
fn locked_error(state: &DoubleState) -> Option<Response> {
    if state.logged_out.load(Ordering::SeqCst) {
        Some(error("You are not logged in."))
    } else if state.locked.load(Ordering::SeqCst) {
        Some(error("Vault is locked."))
    } else {
        None
    }
}

async fn status(State(state): State<Shared>) -> Response {
    let status = if state.logged_out.load(Ordering::SeqCst) {
        "unauthenticated"
    } else if state.locked.load(Ordering::SeqCst) {
        "locked"
    } else {
        "unlocked"
    };
    success(json!({
        "object": "template",
        "template": {
            "serverUrl": "https://vault.bitwarden.com",
            "lastSync": "2026-01-15T09:30:00.000Z",
            "userEmail": "operator@example.com",
            "userId": "00000000-0000-4000-8000-000000000001",
            "status": status,
        }
    }))
}

async fn sync(State(state): State<Shared>) -> Response {
    state.syncs.fetch_add(1, Ordering::SeqCst);
    success(
        json!({"noColor": false, "object": "message", "title": "Syncing complete.", "message": null}),
    )
}

async fn lock(State(state): State<Shared>) -> Response {
    state.set_locked(true);
    success(
        json!({"noColor": false, "object": "message", "title": "Your vault is locked.", "message": null}),
    )
}

async fn unlock(State(state): State<Shared>, body: axum::body::Bytes) -> Response {
    let password = serde_json::from_slice::<Value>(&body)
        .ok()
        .and_then(|v| v["password"].as_str().map(str::to_owned));
    match password.as_deref() {
        None => error("Master password is required."),
        Some(MASTER_PASSWORD) => {
            state.set_locked(false);
            let session = "ZG91YmxlLXNlc3Npb24ta2V5";
            success(json!({
                "noColor": false,
                "object": "message",
                "title": "Your vault is now unlocked!",
                "message": format!("\nTo unlock your vault, set your session key to the `BW_SESSION` environment variable. ex:\n$ export BW_SESSION=\"{session}\""),
                "raw": session,
            }))
        }
        Some(_) => error("Invalid master password."),
    }
}

fn is_guid(s: &str) -> bool {
    uuid::Uuid::parse_str(s).is_ok()
}

/// `searchCiphersBasic`: case-insensitive substring of the name, id prefix (8+ chars), the
/// login username (its "subtitle"), or a URI.
fn search_matches(item: &Value, query: &str) -> bool {
    let query = query.trim().to_lowercase();
    let contains = |v: &Value| {
        v.as_str()
            .is_some_and(|s| s.to_lowercase().contains(&query))
    };
    contains(&item["name"])
        || (query.len() >= 8
            && item["id"]
                .as_str()
                .is_some_and(|id| id.to_lowercase().starts_with(&query)))
        || contains(&item["login"]["username"])
        || item["login"]["uris"]
            .as_array()
            .is_some_and(|uris| uris.iter().any(|u| contains(&u["uri"])))
}

/// The folder/collection filter of `ListCommand.listCiphers` (the conditions are OR-ed).
fn filter_matches(item: &Value, folder: Option<&str>, collection: Option<&str>) -> bool {
    if let Some(folder) = folder {
        if folder == "notnull" && !item["folderId"].is_null() {
            return true;
        }
        let wanted = if folder == "null" { None } else { Some(folder) };
        if wanted == item["folderId"].as_str() {
            return true;
        }
    }
    if let Some(collection) = collection {
        let ids: Vec<&str> = item["collectionIds"]
            .as_array()
            .map(|a| a.iter().filter_map(Value::as_str).collect())
            .unwrap_or_default();
        if collection == "notnull" && !ids.is_empty() {
            return true;
        }
        if collection == "null" && ids.is_empty() {
            return true;
        }
        if ids.contains(&collection) {
            return true;
        }
    }
    false
}

async fn list(
    State(state): State<Shared>,
    Path(object): Path<String>,
    Query(query): Query<BTreeMap<String, String>>,
) -> Response {
    if let Some(response) = locked_error(&state) {
        return response;
    }
    if object != "items" {
        return error("Unknown object.");
    }
    state.lists.fetch_add(1, Ordering::SeqCst);
    let folder = query
        .get("folderid")
        .or_else(|| query.get("folderId"))
        .map(String::as_str);
    let collection = query
        .get("collectionid")
        .or_else(|| query.get("collectionId"))
        .map(String::as_str);
    let search = query.get("search").map(String::as_str);
    let items: Vec<Value> = state
        .items()
        .into_iter()
        .filter(|item| item["deletedDate"].is_null())
        .filter(|item| {
            (folder.is_none() && collection.is_none()) || filter_matches(item, folder, collection)
        })
        .filter(|item| search.is_none_or(|s| s.trim().is_empty() || search_matches(item, s)))
        .collect();
    success(json!({"object": "list", "data": items}))
}

/// `GetCommand.getCipherView` + `getCipher`: a GUID is looked up by id; anything else is a
/// search that must match exactly one item.
#[expect(clippy::result_large_err)]
fn find_item(state: &DoubleState, id: &str) -> Result<Value, Response> {
    let id = id.to_lowercase();
    let Ok(items) = state.items.lock() else {
        return Err(error("An error has occurred."));
    };
    if is_guid(&id) {
        return items
            .get(&id)
            .filter(|item| item["deletedDate"].is_null())
            .cloned()
            .ok_or_else(|| error("Not found."));
    }
    let found: Vec<&Value> = items
        .values()
        .filter(|item| item["deletedDate"].is_null() && search_matches(item, &id))
        .collect();
    match found.as_slice() {
        [] => Err(error("Not found.")),
        [one] => Ok((*one).clone()),
        many => {
            let ids: Vec<Value> = many.iter().map(|i| i["id"].clone()).collect();
            let mut message = "More than one result was found. Try getting a specific object by `id` instead. The following objects were found:".to_string();
            for id in &ids {
                message.push('\n');
                message.push_str(id.as_str().unwrap_or_default());
            }
            Err(error_with(&message, Some(Value::Array(ids))))
        }
    }
}

async fn get_object(
    State(state): State<Shared>,
    Path((object, id)): Path<(String, String)>,
) -> Response {
    if let Some(response) = locked_error(&state) {
        return response;
    }
    match object.as_str() {
        "item" => {
            state.item_gets.fetch_add(1, Ordering::SeqCst);
            match find_item(&state, &id) {
                Ok(item) => success(item),
                Err(response) => response,
            }
        }
        "totp" => {
            let item = match find_item(&state, &id) {
                Ok(item) => item,
                Err(response) => return response,
            };
            let seed = item["login"]["totp"].as_str().unwrap_or_default();
            if item["type"] != json!(1) || seed.trim().is_empty() {
                // The CLI filters the candidates to logins with a TOTP seed first.
                return error("Not found.");
            }
            let key = item["id"].as_str().unwrap_or_default().to_lowercase();
            let code = state
                .totp_codes
                .lock()
                .ok()
                .and_then(|c| c.get(&key).cloned())
                .unwrap_or_else(|| "123456".to_string());
            success(json!({"object": "string", "data": code}))
        }
        _ => error("Unknown object."),
    }
}

async fn create(
    State(state): State<Shared>,
    Path(object): Path<String>,
    body: axum::body::Bytes,
) -> Response {
    if let Some(response) = locked_error(&state) {
        return response;
    }
    if object != "item" {
        return error("Unknown object.");
    }
    let Ok(mut item) = serde_json::from_slice::<Value>(&body) else {
        return error("`requestJson` was not provided.");
    };
    if state.fail_creates.load(Ordering::SeqCst) {
        return error("An error has occurred.");
    }
    let id = uuid::Uuid::new_v4().to_string();
    let now = "2026-01-15T09:30:00.000Z";
    if let Some(obj) = item.as_object_mut() {
        obj.insert("id".into(), json!(id));
        obj.insert("revisionDate".into(), json!(now));
        obj.insert("creationDate".into(), json!(now));
        obj.insert("deletedDate".into(), Value::Null);
        obj.insert("passwordHistory".into(), Value::Null);
        obj.entry("collectionIds").or_insert_with(|| json!([]));
        obj.entry("organizationId").or_insert(Value::Null);
        obj.entry("folderId").or_insert(Value::Null);
    }
    state.insert_item(item.clone());
    state.creates.fetch_add(1, Ordering::SeqCst);
    if let Some(obj) = item.as_object_mut() {
        obj.insert("object".into(), json!("item"));
    }
    success(item)
}
