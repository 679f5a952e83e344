//! A small scripted Infisical double for the client's fault tests: just enough routes (login,
//! renew, projects, folders, v4 secrets and batches, tags) with Infisical's status codes, plus
//! a queue of faults to inject (429 with `Retry-After`, 5xx before or after the write, answers
//! cut off before or after the write, slow answers, token errors). Binds 127.0.0.1:0 only.
//! Time is tokio time, so tests run it under `start_paused`.

#![expect(clippy::unwrap_used)] // a test double: a poisoned lock or a failed bind ends the test

use std::collections::{BTreeMap, HashMap, VecDeque};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::body::{Body, Bytes};
use axum::extract::{Request, State};
use axum::http::{HeaderValue, Method, StatusCode};
use axum::response::{IntoResponse, Response};
use serde_json::{Value, json};
use tokio::time::Instant;

/// A fault for the next request that matches.
#[derive(Debug, Clone)]
pub(crate) enum Fault {
    /// Answer this status (with the standard error body) without handling.
    Status(u16),
    /// 429 with `Retry-After: n`.
    RateLimit(u64),
    /// Handle the request (write!), then answer this status anyway.
    StatusAfterHandling(u16),
    /// Cut the connection without handling.
    DropBeforeHandling,
    /// Handle the request, then cut the connection before the answer's body.
    DropAfterHandling,
    /// Handle the request, then take this long to answer.
    SlowAfterHandling(Duration),
    /// 403 TokenError, whatever the token.
    TokenError,
    /// 400 whose message quotes the request body (values JSON-escaped inside it).
    EchoBody,
}

#[derive(Debug, Clone)]
struct Scheduled {
    method: Method,
    path: &'static str,
    fault: Fault,
}

/// One stored secret.
#[derive(Debug, Clone)]
pub(crate) struct StoredSecret {
    pub id: String,
    pub value: String,
    pub version: u64,
    pub metadata: Vec<(String, String)>,
}

/// What the double saw and holds.
#[derive(Debug, Default)]
pub(crate) struct DoubleState {
    faults: VecDeque<Scheduled>,
    /// `(method, path, had content-type, body was empty)` of every request.
    pub requests: Vec<(String, String, bool, bool)>,
    pub logins: u32,
    pub renewals: u32,
    tokens: HashMap<String, Instant>,
    pub token_ttl: u64,
    pub token_max_ttl: u64,
    next_id: u64,
    /// `(env, path)` → key → secret.
    pub secrets: BTreeMap<(String, String), BTreeMap<String, StoredSecret>>,
    /// `(env, path)` of existing folders.
    pub folders: BTreeMap<(String, String), String>,
    pub projects: BTreeMap<String, Value>,
    pub tags: Vec<(String, String)>,
    /// Paths under an approval policy.
    pub approval_paths: Vec<String>,
    pub in_flight: usize,
    pub max_in_flight: usize,
    /// Delay on every handled request (to make concurrency visible).
    pub latency: Duration,
}

/// The running double.
#[derive(Debug, Clone)]
pub(crate) struct Double {
    pub url: String,
    pub state: Arc<Mutex<DoubleState>>,
}

pub(crate) const CLIENT_ID: &str = "client-id-0001";
pub(crate) const CLIENT_SECRET: &str = "client-secret-canary-7f3a";
pub(crate) const PROJECT_ID: &str = "11111111-1111-4111-8111-111111111111";

impl DoubleState {
    /// Forgets every issued token (they now answer 403 TokenError).
    pub(crate) fn revoke_all(&mut self) {
        self.tokens.clear();
    }
}

impl Double {
    /// Starts on 127.0.0.1:0 in the current runtime.
    pub(crate) async fn start() -> Double {
        let state = Arc::new(Mutex::new(DoubleState {
            token_ttl: 86_400,
            token_max_ttl: 2_592_000,
            ..DoubleState::default()
        }));
        {
            let mut s = state.lock().unwrap();
            s.folders
                .insert(("dev".into(), "/".into()), "root-dev".into());
            s.projects.insert(
                PROJECT_ID.into(),
                json!({"id": PROJECT_ID, "_id": PROJECT_ID, "name": "Billing", "slug": "billing",
                       "description": null, "environments": [{"id": "env-dev", "name": "Development", "slug": "dev"}]}),
            );
        }
        let app = axum::Router::new()
            .fallback(handle)
            .with_state(state.clone());
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        tokio::spawn(async move {
            axum::serve(listener, app).await.unwrap();
        });
        Double {
            url: format!("http://{addr}"),
            state,
        }
    }

    /// Queues a fault for the next `method path` request.
    pub(crate) fn inject(&self, method: Method, path: &'static str, fault: Fault) {
        self.state.lock().unwrap().faults.push_back(Scheduled {
            method,
            path,
            fault,
        });
    }

    /// How many requests matched `method path`.
    pub(crate) fn count(&self, method: &str, path: &str) -> usize {
        self.state
            .lock()
            .unwrap()
            .requests
            .iter()
            .filter(|(m, p, _, _)| m == method && p == path)
            .count()
    }

    /// Keys and values stored in `env`, `path`.
    pub(crate) fn stored(&self, env: &str, path: &str) -> BTreeMap<String, StoredSecret> {
        self.state
            .lock()
            .unwrap()
            .secrets
            .get(&(env.to_string(), path.to_string()))
            .cloned()
            .unwrap_or_default()
    }

    pub(crate) fn with<R>(&self, f: impl FnOnce(&mut DoubleState) -> R) -> R {
        f(&mut self.state.lock().unwrap())
    }
}

fn error(status: u16, name: &str, message: Value) -> Response {
    let code = StatusCode::from_u16(status).unwrap();
    (
        code,
        axum::Json(json!({"reqId": "req-double-1", "statusCode": status, "message": message, "error": name})),
    )
        .into_response()
}

fn cut_body(status: StatusCode) -> Response {
    let stream = futures::stream::once(async {
        Err::<Bytes, std::io::Error>(std::io::Error::other("connection cut by the double"))
    });
    let mut response = Response::new(Body::from_stream(stream));
    *response.status_mut() = status;
    response
}

fn normalize(path: &str) -> String {
    let segments: Vec<&str> = path.split('/').filter(|s| !s.is_empty()).collect();
    format!("/{}", segments.join("/"))
}

async fn handle(State(state): State<Arc<Mutex<DoubleState>>>, request: Request) -> Response {
    let method = request.method().clone();
    let path = request.uri().path().to_string();
    let query: HashMap<String, String> = reqwest::Url::parse(&format!("http://x{}", request.uri()))
        .unwrap()
        .query_pairs()
        .map(|(k, v)| (k.into_owned(), v.into_owned()))
        .collect();
    let has_content_type = request.headers().contains_key("content-type");
    let bearer = request
        .headers()
        .get("authorization")
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Bearer "))
        .map(str::to_string);
    let body = axum::body::to_bytes(request.into_body(), 16 << 20)
        .await
        .unwrap();
    let fault = {
        let mut s = state.lock().unwrap();
        s.requests.push((
            method.to_string(),
            path.clone(),
            has_content_type,
            body.is_empty(),
        ));
        let position = s
            .faults
            .iter()
            .position(|f| f.method == method && f.path == path);
        position.and_then(|i| s.faults.remove(i)).map(|f| f.fault)
    };
    if has_content_type && body.is_empty() {
        // what a real Infisical does with an empty JSON body
        return error(500, "InternalServerError", json!("Something went wrong"));
    }
    match &fault {
        Some(Fault::Status(status)) => {
            return error(
                *status,
                "InternalServerError",
                json!("Something went wrong"),
            );
        }
        Some(Fault::RateLimit(seconds)) => {
            let mut response = error(
                429,
                "TooManyRequests",
                json!(format!(
                    "Rate limit exceeded. Please try again in {seconds} seconds"
                )),
            );
            response
                .headers_mut()
                .insert("retry-after", HeaderValue::from(*seconds));
            return response;
        }
        Some(Fault::DropBeforeHandling) => return cut_body(StatusCode::OK),
        Some(Fault::EchoBody) => {
            return error(
                400,
                "BadRequest",
                json!(format!(
                    "Invalid request body: {}",
                    String::from_utf8_lossy(&body)
                )),
            );
        }
        Some(Fault::TokenError) => {
            return error(
                403,
                "TokenError",
                json!("Your token has expired. Please re-authenticate."),
            );
        }
        _ => {}
    }
    let latency = {
        let mut s = state.lock().unwrap();
        s.in_flight += 1;
        s.max_in_flight = s.max_in_flight.max(s.in_flight);
        s.latency
    };
    if !latency.is_zero() {
        tokio::time::sleep(latency).await;
    }
    let response = route(&state, &method, &path, &query, bearer.as_deref(), &body);
    state.lock().unwrap().in_flight -= 1;
    match fault {
        Some(Fault::StatusAfterHandling(status)) => {
            error(status, "InternalServerError", json!("Something went wrong"))
        }
        Some(Fault::DropAfterHandling) => cut_body(response.status()),
        Some(Fault::SlowAfterHandling(delay)) => {
            tokio::time::sleep(delay).await;
            response
        }
        _ => response,
    }
}

fn issue_token(s: &mut DoubleState) -> Value {
    s.next_id += 1;
    let token = format!("token-canary-{}", s.next_id);
    s.tokens.insert(
        token.clone(),
        Instant::now() + Duration::from_secs(s.token_ttl),
    );
    json!({"accessToken": token, "expiresIn": s.token_ttl, "accessTokenMaxTTL": s.token_max_ttl, "tokenType": "Bearer"})
}

fn route(
    state: &Arc<Mutex<DoubleState>>,
    method: &Method,
    path: &str,
    query: &HashMap<String, String>,
    bearer: Option<&str>,
    body: &[u8],
) -> Response {
    let mut s = state.lock().unwrap();
    let body: Value = if body.is_empty() {
        Value::Null
    } else {
        match serde_json::from_slice(body) {
            Ok(v) => v,
            Err(_) => return error(500, "InternalServerError", json!("Something went wrong")),
        }
    };
    let ok = |v: Value| axum::Json(v).into_response();

    if path == "/api/v1/auth/universal-auth/login" && method == Method::POST {
        if body["clientId"] != CLIENT_ID || body["clientSecret"] != CLIENT_SECRET {
            return error(401, "UnauthorizedError", json!("Invalid credentials"));
        }
        s.logins += 1;
        return ok(issue_token(&mut s));
    }
    if path == "/api/v1/auth/token/renew" && method == Method::POST {
        let token = body["accessToken"].as_str().unwrap_or_default().to_string();
        if s.tokens.remove(&token).is_none() {
            return error(401, "UnauthorizedError", json!("Invalid token"));
        }
        s.renewals += 1;
        return ok(issue_token(&mut s));
    }
    let valid = bearer
        .and_then(|t| s.tokens.get(t))
        .is_some_and(|expiry| Instant::now() < *expiry);
    if !valid {
        return error(
            403,
            "TokenError",
            json!("Your token has expired. Please re-authenticate."),
        );
    }

    match (method.clone(), path) {
        (Method::GET, "/api/v1/projects") => {
            ok(json!({"projects": s.projects.values().cloned().collect::<Vec<_>>()}))
        }
        (Method::GET, p) if p.starts_with("/api/v1/projects/slug/") => {
            let slug = &p["/api/v1/projects/slug/".len()..];
            match s.projects.values().find(|v| v["slug"] == slug) {
                Some(project) => ok(project.clone()),
                None => error(
                    404,
                    "NotFound",
                    json!(format!("Project with slug '{slug}' not found")),
                ),
            }
        }
        (Method::POST, "/api/v1/projects") => {
            let slug = body["slug"].as_str().unwrap_or_default().to_string();
            if s.projects.values().any(|v| v["slug"] == slug.as_str()) {
                return error(400, "BadRequest", json!("Project with slug already exists"));
            }
            s.next_id += 1;
            let id = format!("00000000-0000-4000-8000-{:012}", s.next_id);
            let project = json!({"id": id, "name": body["projectName"], "slug": slug,
                                 "description": body["projectDescription"], "environments": []});
            s.projects.insert(id, project.clone());
            ok(json!({"project": project}))
        }
        (Method::DELETE, p) if p.starts_with("/api/v1/projects/") => {
            let id = &p["/api/v1/projects/".len()..];
            match s.projects.remove(id) {
                Some(project) => ok(json!({"project": project})),
                None => error(404, "NotFound", json!("Project not found")),
            }
        }
        (Method::GET, "/api/v2/folders") => {
            let env = query.get("environment").cloned().unwrap_or_default();
            let parent = normalize(query.get("path").map_or("/", String::as_str));
            let Some(parent_id) = s.folders.get(&(env.clone(), parent.clone())).cloned() else {
                return error(404, "NotFound", json!("Folder not found"));
            };
            let folders: Vec<Value> = s
                .folders
                .iter()
                .filter(|((e, p), _)| {
                    *e == env && p.rsplit_once('/').map(|(a, _)| normalize(a)) == Some(parent.clone()) && *p != parent
                })
                .map(|((_, p), id)| {
                    json!({"id": id, "name": p.rsplit('/').next().unwrap(), "parentId": parent_id})
                })
                .collect();
            ok(json!({"folders": folders}))
        }
        (Method::POST, "/api/v2/folders") => {
            let env = body["environment"].as_str().unwrap_or_default().to_string();
            let parent = normalize(body["path"].as_str().unwrap_or("/"));
            let name = body["name"].as_str().unwrap_or_default().to_string();
            let full = normalize(&format!("{parent}/{name}"));
            if s.folders.contains_key(&(env.clone(), full.clone())) {
                return error(
                    400,
                    "BadRequest",
                    json!(format!(
                        "Folder with name '{name}' already exists in path '{parent}'"
                    )),
                );
            }
            s.next_id += 1;
            let id = format!("folder-{}", s.next_id);
            s.folders.insert((env, full), id.clone());
            ok(json!({"folder": {"id": id, "name": name, "parentId": "p", "version": 1}}))
        }
        (Method::GET, "/api/v4/secrets") => {
            let env = query.get("environment").cloned().unwrap_or_default();
            let folder = normalize(query.get("secretPath").map_or("/", String::as_str));
            if !s.folders.contains_key(&(env.clone(), folder.clone())) {
                return error(404, "SecretPathNotFound", json!("Folder not found"));
            }
            let secrets: Vec<Value> = s
                .secrets
                .get(&(env.clone(), folder.clone()))
                .map(|m| {
                    m.iter()
                        .map(|(k, v)| secret_json(k, v, &env, &folder))
                        .collect()
                })
                .unwrap_or_default();
            ok(json!({"secrets": secrets}))
        }
        (m, "/api/v4/secrets/batch") => {
            let env = body["environment"].as_str().unwrap_or_default().to_string();
            let folder = normalize(body["secretPath"].as_str().unwrap_or("/"));
            if !s.folders.contains_key(&(env.clone(), folder.clone())) {
                return error(
                    404,
                    "NotFound",
                    json!(format!(
                        "Folder with path '{folder}' in environment with slug '{env}' not found"
                    )),
                );
            }
            if s.approval_paths.contains(&folder) {
                return ok(json!({"approval": {"id": "approval-1", "status": "open"}}));
            }
            let items = body["secrets"].as_array().cloned().unwrap_or_default();
            let keys: Vec<String> = items
                .iter()
                .map(|i| i["secretKey"].as_str().unwrap_or_default().to_string())
                .collect();
            let next = s.next_id;
            let store = s.secrets.entry((env.clone(), folder.clone())).or_default();
            match m {
                Method::POST => {
                    let existing: Vec<&String> =
                        keys.iter().filter(|k| store.contains_key(*k)).collect();
                    if !existing.is_empty() {
                        let list: Vec<&str> = existing.iter().map(|k| k.as_str()).collect();
                        return error(
                            400,
                            "BadRequest",
                            json!(format!("Secret already exists: {}", list.join(","))),
                        );
                    }
                    let mut out = Vec::new();
                    for (n, item) in items.iter().enumerate() {
                        let key = keys[n].clone();
                        let stored = StoredSecret {
                            id: format!("secret-{}-{n}", next + 1),
                            value: item["secretValue"]
                                .as_str()
                                .unwrap_or_default()
                                .trim()
                                .to_string(),
                            version: 1,
                            metadata: item["secretMetadata"]
                                .as_array()
                                .map(|m| {
                                    m.iter()
                                        .map(|p| {
                                            (
                                                p["key"].as_str().unwrap_or_default().to_string(),
                                                p["value"].as_str().unwrap_or_default().to_string(),
                                            )
                                        })
                                        .collect()
                                })
                                .unwrap_or_default(),
                        };
                        out.push(secret_json(&key, &stored, &env, &folder));
                        store.insert(key, stored);
                    }
                    s.next_id += 1;
                    ok(json!({"secrets": out}))
                }
                Method::PATCH => {
                    let missing: Vec<&String> =
                        keys.iter().filter(|k| !store.contains_key(*k)).collect();
                    if !missing.is_empty() {
                        return error(404, "NotFound", json!("Secret does not exist"));
                    }
                    let mut out = Vec::new();
                    for (n, item) in items.iter().enumerate() {
                        let stored = store.get_mut(&keys[n]).unwrap();
                        if let Some(v) = item["secretValue"].as_str() {
                            stored.value = v.trim().to_string();
                        }
                        stored.version += 1;
                        out.push(secret_json(&keys[n], stored, &env, &folder));
                    }
                    ok(json!({"secrets": out}))
                }
                Method::DELETE => {
                    let missing: Vec<&String> =
                        keys.iter().filter(|k| !store.contains_key(*k)).collect();
                    if !missing.is_empty() {
                        return error(404, "NotFound", json!("One or more secrets does not exist"));
                    }
                    let mut out = Vec::new();
                    for key in &keys {
                        let stored = store.remove(key).unwrap();
                        out.push(secret_json(key, &stored, &env, &folder));
                    }
                    ok(json!({"secrets": out}))
                }
                _ => error(404, "NotFound", json!("Route not found")),
            }
        }
        (Method::GET, p) if p.starts_with("/api/v1/projects/") && p.ends_with("/tags") => {
            let tags: Vec<Value> = s
                .tags
                .iter()
                .map(|(id, slug)| json!({"id": id, "slug": slug, "color": "#fff", "name": slug}))
                .collect();
            ok(json!({"tags": tags}))
        }
        (Method::POST, p) if p.starts_with("/api/v1/projects/") && p.ends_with("/tags") => {
            let slug = body["slug"].as_str().unwrap_or_default().to_string();
            if s.tags.iter().any(|(_, t)| *t == slug) {
                return error(400, "BadRequest", json!("Tag already exists"));
            }
            s.next_id += 1;
            let id = format!("tag-{}", s.next_id);
            s.tags.push((id.clone(), slug.clone()));
            ok(json!({"tag": {"id": id, "slug": slug, "color": body["color"]}}))
        }
        _ => error(
            404,
            "NotFound",
            json!(format!("Route {method}:{path} not found")),
        ),
    }
}

fn secret_json(key: &str, secret: &StoredSecret, env: &str, folder: &str) -> Value {
    json!({
        "id": secret.id, "_id": secret.id, "workspace": PROJECT_ID, "environment": env,
        "secretKey": key, "secretValue": secret.value, "secretValueHidden": false,
        "secretComment": "", "secretPath": folder, "type": "shared", "version": secret.version,
        "tags": [], "secretMetadata": secret.metadata.iter().map(|(k, v)| json!({"key": k, "value": v, "isEncrypted": false})).collect::<Vec<_>>(),
    })
}
