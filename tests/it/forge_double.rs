//! GitLab and GitHub doubles for reviews, answering as the real APIs do: the same paths,
//! authentication headers, status codes, error bodies and pagination (`X-Next-Page` on GitLab,
//! `Link: rel="next"` on GitHub), notes and comments kept in memory, statuses recorded.

use std::collections::{BTreeMap, BTreeSet};
use std::sync::{Arc, Mutex};

use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, Method, StatusCode, Uri};
use axum::response::{IntoResponse, Response};

/// The token the doubles accept.
pub(crate) const FORGE_TOKEN: &str = "forge-review-token-5e1a-never-printed";
/// The user the token belongs to.
pub(crate) const BOT: &str = "infisical-bot";

/// Which API the double speaks.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Kind {
    GitLab,
    GitHub,
}

/// A note or comment.
#[derive(Debug, Clone)]
pub(crate) struct Comment {
    pub(crate) id: u64,
    pub(crate) author: String,
    pub(crate) body: String,
    pub(crate) system: bool,
}

/// A status as the forge stored it.
#[derive(Debug, Clone)]
pub(crate) struct Status {
    pub(crate) sha: String,
    pub(crate) context: String,
    pub(crate) state: String,
    pub(crate) description: String,
    pub(crate) target_url: Option<String>,
}

/// The double's state.
#[derive(Debug, Default)]
pub(crate) struct Forge {
    /// Comments per request number; requests not here answer 404.
    pub(crate) comments: BTreeMap<u64, Vec<Comment>>,
    /// Every status set, in order.
    pub(crate) statuses: Vec<Status>,
    /// Every request: `METHOD path?query`.
    pub(crate) requests: Vec<String>,
    /// Every body received (for leak scans).
    pub(crate) bodies: Vec<String>,
    /// Answer every call with this status (401, 404, 503…) and the forge's error body.
    pub(crate) fail_with: Option<u16>,
    /// `GET /user` answers 403, as for a CI job token.
    pub(crate) identity_refused: bool,
    /// Commits that exist (statuses on others answer 404 on GitLab, 422 on GitHub).
    pub(crate) commits: BTreeSet<String>,
    /// A `Link` next URL to answer instead of the real one (GitHub).
    pub(crate) forged_next_link: Option<String>,
    next_id: u64,
}

impl Forge {
    /// Opens request `number` with `count` comments by other people (every 7th a system note
    /// on GitLab).
    pub(crate) fn open(&mut self, number: u64, count: usize) {
        let mut comments = Vec::new();
        for index in 0..count {
            comments.push(self.comment(&format!("reviewer{}", index % 3), "LGTM?", index % 7 == 6));
        }
        self.comments.insert(number, comments);
    }

    /// Adds a comment to request `number`.
    pub(crate) fn add(&mut self, number: u64, author: &str, body: &str) -> u64 {
        let comment = self.comment(author, body, false);
        let id = comment.id;
        self.comments.entry(number).or_default().push(comment);
        id
    }

    fn comment(&mut self, author: &str, body: &str, system: bool) -> Comment {
        self.next_id += 1;
        Comment {
            id: 1000 + self.next_id,
            author: author.to_string(),
            body: body.to_string(),
            system,
        }
    }

    /// The comments of `number` that start with the plan marker.
    pub(crate) fn plan_comments(&self, number: u64) -> Vec<Comment> {
        self.comments
            .get(&number)
            .map(|c| {
                c.iter()
                    .filter(|c| c.body.starts_with("<!-- infisical-gitops:plan -->"))
                    .cloned()
                    .collect()
            })
            .unwrap_or_default()
    }
}

/// A running double.
#[derive(Clone)]
pub(crate) struct ForgeDouble {
    /// The API URL to configure (`http://127.0.0.1:port`, GitHub's without a path).
    pub(crate) url: String,
    /// Its state.
    pub(crate) state: Arc<Mutex<Forge>>,
    kind: Kind,
}

#[derive(Clone)]
struct Shared {
    kind: Kind,
    state: Arc<Mutex<Forge>>,
    base: Arc<Mutex<String>>,
}

impl ForgeDouble {
    /// Starts a double on 127.0.0.1:0.
    pub(crate) async fn start(kind: Kind) -> Self {
        let state = Arc::new(Mutex::new(Forge::default()));
        let base = Arc::new(Mutex::new(String::new()));
        let shared = Shared {
            kind,
            state: state.clone(),
            base: base.clone(),
        };
        let app = axum::Router::new().fallback(handle).with_state(shared);
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let url = format!("http://{}", listener.local_addr().unwrap());
        *base.lock().unwrap() = url.clone();
        tokio::spawn(async move {
            let _ = axum::serve(listener, app).await;
        });
        Self { url, state, kind }
    }

    /// The forge kind.
    pub(crate) fn kind(&self) -> Kind {
        self.kind
    }

    /// Locks the state.
    pub(crate) fn lock(&self) -> std::sync::MutexGuard<'_, Forge> {
        self.state.lock().unwrap()
    }
}

fn json(status: u16, value: serde_json::Value) -> Response {
    (StatusCode::from_u16(status).unwrap(), axum::Json(value)).into_response()
}

fn query(uri: &Uri, name: &str) -> Option<String> {
    uri.query()?.split('&').find_map(|pair| {
        let (key, value) = pair.split_once('=')?;
        (key == name).then(|| value.to_string())
    })
}

fn page_of(uri: &Uri) -> (usize, usize) {
    let per_page = query(uri, "per_page")
        .and_then(|v| v.parse().ok())
        .unwrap_or(20usize)
        .clamp(1, 100);
    let page = query(uri, "page")
        .and_then(|v| v.parse().ok())
        .unwrap_or(1usize)
        .max(1);
    (page, per_page)
}

async fn handle(
    State(shared): State<Shared>,
    method: Method,
    uri: Uri,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let body_text = String::from_utf8_lossy(&body).into_owned();
    let body: serde_json::Value = serde_json::from_slice(&body).unwrap_or(serde_json::Value::Null);
    let base = shared.base.lock().unwrap().clone();
    let mut forge = shared.state.lock().unwrap();
    forge.requests.push(format!(
        "{method} {}{}",
        uri.path(),
        uri.query().map(|q| format!("?{q}")).unwrap_or_default()
    ));
    if !body_text.is_empty() {
        forge.bodies.push(body_text);
    }
    let authorized = match shared.kind {
        Kind::GitLab => {
            headers.get("private-token").and_then(|v| v.to_str().ok()) == Some(FORGE_TOKEN)
        }
        Kind::GitHub => {
            headers.get("authorization").and_then(|v| v.to_str().ok())
                == Some(&format!("Bearer {FORGE_TOKEN}"))
        }
    };
    let fail = forge.fail_with.or((!authorized).then_some(401));
    if let Some(status) = fail {
        return match (shared.kind, status) {
            (Kind::GitLab, 401) => json(401, serde_json::json!({"message": "401 Unauthorized"})),
            (Kind::GitLab, 404) => {
                json(404, serde_json::json!({"message": "404 Project Not Found"}))
            }
            (Kind::GitLab, _) => json(
                status,
                serde_json::json!({"message": "500 Internal Server Error"}),
            ),
            (Kind::GitHub, 401) => json(
                401,
                serde_json::json!({"message": "Bad credentials", "documentation_url": "https://docs.github.com/rest"}),
            ),
            (Kind::GitHub, 404) => json(
                404,
                serde_json::json!({"message": "Not Found", "documentation_url": "https://docs.github.com/rest"}),
            ),
            (Kind::GitHub, _) => json(status, serde_json::json!({"message": "Server Error"})),
        };
    }
    let path: Vec<&str> = uri.path().trim_start_matches('/').split('/').collect();
    match shared.kind {
        Kind::GitLab => gitlab(&mut forge, &method, &uri, &path, &body),
        Kind::GitHub => github(&mut forge, &base, &method, &uri, &path, &body),
    }
}

fn gitlab(
    forge: &mut Forge,
    method: &Method,
    uri: &Uri,
    path: &[&str],
    body: &serde_json::Value,
) -> Response {
    let not_found = || json(404, serde_json::json!({"message": "404 Not found"}));
    match (method.as_str(), path) {
        ("GET", ["api", "v4", "user"]) => {
            if forge.identity_refused {
                json(403, serde_json::json!({"message": "403 Forbidden"}))
            } else {
                json(200, serde_json::json!({"id": 7, "username": BOT}))
            }
        }
        (_, ["api", "v4", "projects", "infra%2Fsecrets", rest @ ..]) => {
            match (method.as_str(), rest) {
                ("GET", ["merge_requests", iid, "notes"]) => {
                    let Some(comments) = iid.parse().ok().and_then(|n: u64| forge.comments.get(&n))
                    else {
                        return not_found();
                    };
                    let (page, per_page) = page_of(uri);
                    let items: Vec<_> = comments
                        .iter()
                        .skip((page - 1) * per_page)
                        .take(per_page)
                        .map(|c| {
                            serde_json::json!({"id": c.id, "body": c.body, "system": c.system,
                        "author": {"username": c.author}, "noteable_type": "MergeRequest"})
                        })
                        .collect();
                    let pages = comments.len().div_ceil(per_page).max(1);
                    let next = if page < pages {
                        (page + 1).to_string()
                    } else {
                        String::new()
                    };
                    let mut response = json(200, serde_json::Value::Array(items));
                    let headers = response.headers_mut();
                    headers.insert("x-next-page", next.parse().unwrap());
                    headers.insert("x-page", page.to_string().parse().unwrap());
                    headers.insert("x-per-page", per_page.to_string().parse().unwrap());
                    headers.insert("x-total", comments.len().to_string().parse().unwrap());
                    response
                }
                ("POST", ["merge_requests", iid, "notes"]) => {
                    let Some(number) = iid.parse().ok().filter(|n| forge.comments.contains_key(n))
                    else {
                        return not_found();
                    };
                    let Some(text) = body["body"].as_str() else {
                        return json(
                            400,
                            serde_json::json!({"message": "400 Bad request - body is missing"}),
                        );
                    };
                    if text.chars().count() > 1_000_000 {
                        return json(
                            400,
                            serde_json::json!({"message": {"note": ["is too long (maximum is 1000000 characters)"]}}),
                        );
                    }
                    let id = forge.add(number, BOT, text);
                    json(
                        201,
                        serde_json::json!({"id": id, "body": text, "author": {"username": BOT}}),
                    )
                }
                ("PUT", ["merge_requests", iid, "notes", note]) => {
                    let number: u64 = iid.parse().unwrap_or(0);
                    let note: u64 = note.parse().unwrap_or(0);
                    let Some(comment) = forge
                        .comments
                        .get_mut(&number)
                        .and_then(|c| c.iter_mut().find(|c| c.id == note))
                    else {
                        return not_found();
                    };
                    if comment.author != BOT {
                        return json(403, serde_json::json!({"message": "403 Forbidden"}));
                    }
                    comment.body = body["body"].as_str().unwrap_or_default().to_string();
                    json(200, serde_json::json!({"id": note, "body": comment.body}))
                }
                ("POST", ["statuses", sha]) => {
                    if !forge.commits.contains(*sha) {
                        return json(404, serde_json::json!({"message": "404 Commit Not Found"}));
                    }
                    let state = body["state"].as_str().unwrap_or_default().to_string();
                    if ![
                        "pending", "running", "success", "failed", "canceled", "skipped",
                    ]
                    .contains(&state.as_str())
                    {
                        return json(
                            400,
                            serde_json::json!({"error": "state does not have a valid value"}),
                        );
                    }
                    let name = body["name"].as_str().unwrap_or("default").to_string();
                    let description = body["description"].as_str().unwrap_or_default().to_string();
                    if description.chars().count() > 255 {
                        return json(
                            400,
                            serde_json::json!({"message": {"description": ["is too long (maximum is 255 characters)"]}}),
                        );
                    }
                    // GitLab: a pending or running status of the same name is moved along; moving
                    // it to the state it has is refused.
                    let current = forge
                        .statuses
                        .iter()
                        .rev()
                        .find(|s| s.sha == *sha && s.context == name)
                        .map(|s| s.state.clone());
                    if let Some(current) = current
                        && current == state
                        && matches!(state.as_str(), "pending" | "running")
                    {
                        let event = if state == "pending" { "enqueue" } else { "run" };
                        return json(
                            400,
                            serde_json::json!({"message": format!("Cannot transition status via :{event} from :{current} (Reason(s): Status cannot transition via \"{event}\")")}),
                        );
                    }
                    forge.statuses.push(Status {
                        sha: sha.to_string(),
                        context: name.clone(),
                        state: state.clone(),
                        description: description.clone(),
                        target_url: body["target_url"].as_str().map(str::to_string),
                    });
                    json(
                        201,
                        serde_json::json!({"id": forge.statuses.len(), "sha": sha, "name": name, "status": state, "description": description}),
                    )
                }
                _ => not_found(),
            }
        }
        _ => json(404, serde_json::json!({"message": "404 Project Not Found"})),
    }
}

fn github(
    forge: &mut Forge,
    base: &str,
    method: &Method,
    uri: &Uri,
    path: &[&str],
    body: &serde_json::Value,
) -> Response {
    let not_found = || {
        json(
            404,
            serde_json::json!({"message": "Not Found", "documentation_url": "https://docs.github.com/rest"}),
        )
    };
    let repository = match path {
        ["repos", "acme", "secrets", rest @ ..] | ["repositories", "99", rest @ ..] => Some(rest),
        _ => None,
    };
    match (method.as_str(), path, repository) {
        ("GET", ["user"], _) => {
            if forge.identity_refused {
                json(
                    403,
                    serde_json::json!({"message": "Resource not accessible by integration"}),
                )
            } else {
                json(
                    200,
                    serde_json::json!({"login": BOT, "id": 7, "type": "Bot"}),
                )
            }
        }
        (_, _, Some(rest)) => match (method.as_str(), rest) {
            ("GET", ["issues", number, "comments"]) => {
                let Some(comments) = number
                    .parse()
                    .ok()
                    .and_then(|n: u64| forge.comments.get(&n))
                else {
                    return not_found();
                };
                let (page, per_page) = page_of(uri);
                let items: Vec<_> = comments
                    .iter()
                    .skip((page - 1) * per_page)
                    .take(per_page)
                    .map(|c| serde_json::json!({"id": c.id, "body": c.body,
                        "user": {"login": c.author}, "html_url": format!("https://github.example.invalid/acme/secrets/pull/{number}#issuecomment-{}", c.id)}))
                    .collect();
                let pages = comments.len().div_ceil(per_page).max(1);
                let mut response = json(200, serde_json::Value::Array(items));
                if page < pages {
                    let next = forge.forged_next_link.clone().unwrap_or_else(|| {
                        format!("{base}/repositories/99/issues/{number}/comments?per_page={per_page}&page={}", page + 1)
                    });
                    let last = format!(
                        "{base}/repositories/99/issues/{number}/comments?per_page={per_page}&page={pages}"
                    );
                    response.headers_mut().insert(
                        "link",
                        format!("<{next}>; rel=\"next\", <{last}>; rel=\"last\"")
                            .parse()
                            .unwrap(),
                    );
                }
                response
            }
            ("POST", ["issues", number, "comments"]) => {
                let Some(number) = number
                    .parse()
                    .ok()
                    .filter(|n| forge.comments.contains_key(n))
                else {
                    return not_found();
                };
                let Some(text) = body["body"].as_str() else {
                    return json(
                        422,
                        serde_json::json!({"message": "Invalid request.\n\n\"body\" wasn't supplied."}),
                    );
                };
                if text.chars().count() > 65_536 {
                    return json(
                        422,
                        serde_json::json!({"message": "Validation Failed", "errors": [{"resource": "IssueComment", "code": "custom", "field": "body", "message": "body is too long (maximum is 65536 characters)"}]}),
                    );
                }
                let id = forge.add(number, BOT, text);
                json(
                    201,
                    serde_json::json!({"id": id, "body": text, "user": {"login": BOT}}),
                )
            }
            ("PATCH", ["issues", "comments", id]) => {
                let id: u64 = id.parse().unwrap_or(0);
                let Some(comment) = forge
                    .comments
                    .values_mut()
                    .flat_map(|c| c.iter_mut())
                    .find(|c| c.id == id)
                else {
                    return not_found();
                };
                if comment.author != BOT {
                    return json(
                        403,
                        serde_json::json!({"message": "Must have admin rights to Repository."}),
                    );
                }
                comment.body = body["body"].as_str().unwrap_or_default().to_string();
                json(200, serde_json::json!({"id": id, "body": comment.body}))
            }
            ("POST", ["statuses", sha]) => {
                let state = body["state"].as_str().unwrap_or_default().to_string();
                let description = body["description"].as_str().unwrap_or_default().to_string();
                let context = body["context"].as_str().unwrap_or("default").to_string();
                if !forge.commits.contains(*sha) {
                    return json(
                        422,
                        serde_json::json!({"message": format!("No commit found for SHA: {sha}"), "documentation_url": "https://docs.github.com/rest/commits/statuses"}),
                    );
                }
                if !["pending", "success", "failure", "error"].contains(&state.as_str()) {
                    return json(
                        422,
                        serde_json::json!({"message": "Validation Failed", "errors": [{"resource": "Status", "code": "custom", "field": "state", "message": "state is not included in the list"}]}),
                    );
                }
                if description.chars().count() > 140 {
                    return json(
                        422,
                        serde_json::json!({"message": "Validation Failed", "errors": [{"resource": "Status", "code": "custom", "field": "description", "message": "description is too long (maximum is 140 characters)"}]}),
                    );
                }
                forge.statuses.push(Status {
                    sha: sha.to_string(),
                    context: context.clone(),
                    state: state.clone(),
                    description: description.clone(),
                    target_url: body["target_url"].as_str().map(str::to_string),
                });
                json(
                    201,
                    serde_json::json!({"id": forge.statuses.len(), "state": state, "context": context, "description": description}),
                )
            }
            _ => not_found(),
        },
        _ => not_found(),
    }
}
