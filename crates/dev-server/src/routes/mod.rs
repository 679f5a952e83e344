//! The HTTP surface: routing, the per-request middleware (counts, faults, the empty-JSON-body
//! rule), authentication and the `/__dev` routes.

pub(crate) mod auth;
pub(crate) mod folders;
pub(crate) mod imports;
pub(crate) mod projects;
pub(crate) mod secrets;

use std::sync::Arc;
use std::sync::atomic::Ordering;

use axum::Router;
use axum::body::{Body, Bytes};
use axum::extract::{DefaultBodyLimit, FromRequestParts, MatchedPath, Request, State};
use axum::http::request::Parts;
use axum::http::{Method, header};
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use serde_json::Value;

use super::failure::ApiFailure;
use super::{DropConnection, Shared, lock};

/// Largest accepted request body.
const BODY_LIMIT: usize = 64 * 1024 * 1024;

pub(crate) fn router(shared: Arc<Shared>) -> Router {
    Router::new()
        .route("/api/v1/auth/universal-auth/login", post(auth::login))
        .route("/api/v1/auth/token/renew", post(auth::renew))
        .route("/api/v1/auth/token/revoke", post(auth::revoke))
        .route(
            "/api/v1/projects",
            get(projects::list).post(projects::create),
        )
        .route("/api/v1/workspace", get(projects::list_deprecated))
        .route("/api/v1/projects/slug/{slug}", get(projects::get_by_slug))
        .route(
            "/api/v1/projects/{projectId}",
            get(projects::get)
                .patch(projects::update)
                .delete(projects::delete),
        )
        .route(
            "/api/v1/projects/{projectId}/environments",
            post(projects::create_environment),
        )
        .route(
            "/api/v1/projects/{projectId}/environments/slug/{envSlug}",
            get(projects::get_environment_by_slug),
        )
        .route(
            "/api/v1/projects/{projectId}/environments/{envId}",
            get(projects::get_environment)
                .patch(projects::update_environment)
                .delete(projects::delete_environment),
        )
        .route(
            "/api/v1/projects/{projectId}/tags",
            get(projects::list_tags).post(projects::create_tag),
        )
        .route(
            "/api/v1/projects/{projectId}/tags/slug/{tagSlug}",
            get(projects::get_tag_by_slug),
        )
        .route(
            "/api/v1/projects/{projectId}/tags/{tagId}",
            get(projects::get_tag)
                .patch(projects::update_tag)
                .delete(projects::delete_tag),
        )
        .route("/api/v2/folders", get(folders::list).post(folders::create))
        .route(
            "/api/v2/folders/{folderId}",
            get(folders::get)
                .patch(folders::update)
                .delete(folders::delete),
        )
        .route(
            "/api/v2/secret-imports",
            get(imports::list).post(imports::create),
        )
        .route(
            "/api/v2/secret-imports/{importId}",
            get(imports::get)
                .patch(imports::update)
                .delete(imports::delete),
        )
        .merge(secret_routes::<false>(SecretPaths {
            list: "/api/v4/secrets",
            batch: "/api/v4/secrets/batch",
            by_id: "/api/v4/secrets/id/{secretId}",
            by_name: "/api/v4/secrets/{secretName}",
        }))
        .merge(secret_routes::<true>(SecretPaths {
            list: "/api/v3/secrets/raw",
            batch: "/api/v3/secrets/batch/raw",
            by_id: "/api/v3/secrets/raw/id/{secretId}",
            by_name: "/api/v3/secrets/raw/{secretName}",
        }))
        .route_layer(middleware::from_fn_with_state(
            shared.clone(),
            api_middleware,
        ))
        .route("/__dev/requests", get(dev_counts).delete(dev_reset_counts))
        .route("/__dev/faults", get(dev_faults).put(dev_set_faults))
        .route("/__dev/expire-tokens", post(dev_expire_tokens))
        .route("/__dev/approval-policies", post(dev_add_approval_policy))
        .fallback(not_found)
        .method_not_allowed_fallback(not_found)
        .layer(DefaultBodyLimit::max(BODY_LIMIT))
        .with_state(shared)
}

/// Where one API version serves the secret routes.
struct SecretPaths {
    list: &'static str,
    batch: &'static str,
    by_id: &'static str,
    by_name: &'static str,
}

/// The secret routes of v4 or (`V3`) of the v3 raw twins, which take the same handlers.
fn secret_routes<const V3: bool>(paths: SecretPaths) -> Router<Arc<Shared>> {
    Router::new()
        .route(paths.list, get(secrets::list::<V3>))
        .route(
            paths.batch,
            post(secrets::batch_create::<V3>)
                .patch(secrets::batch_update::<V3>)
                .delete(secrets::batch_delete::<V3>),
        )
        .route(paths.by_id, get(secrets::get_by_id))
        .route(
            paths.by_name,
            get(secrets::get::<V3>)
                .post(secrets::create::<V3>)
                .patch(secrets::update::<V3>)
                .delete(secrets::delete::<V3>),
        )
}

fn every(period: Option<u64>, sequence: u64) -> bool {
    matches!(period, Some(period) if period > 0 && sequence.is_multiple_of(period))
}

/// Counts the request, applies the injected faults, and refuses a JSON content type with an
/// empty body the way Infisical's JSON parser does (500).
async fn api_middleware(
    State(shared): State<Arc<Shared>>,
    matched: Option<MatchedPath>,
    request: Request,
    next: Next,
) -> Response {
    let pattern = matched.as_ref().map_or("<unmatched>", MatchedPath::as_str);
    shared.count(format!("{} {pattern}", request.method()));
    let sequence = shared.sequence.fetch_add(1, Ordering::SeqCst) + 1;
    let faults = lock(&shared.faults).clone();
    if !faults.latency.is_zero() {
        tokio::time::sleep(faults.latency).await;
    }
    if every(faults.drop_connection_every, sequence) {
        let mut response = Response::new(Body::empty());
        response.extensions_mut().insert(DropConnection);
        return response;
    }
    if every(faults.rate_limit_every, sequence) {
        return ApiFailure::rate_limited(faults.retry_after_secs).into_response();
    }
    if every(faults.server_error_every, sequence) {
        return ApiFailure::internal().into_response();
    }
    let mut request = request;
    let sends_json = request
        .headers()
        .get(header::CONTENT_TYPE)
        .and_then(|value| value.to_str().ok())
        .is_some_and(|value| value.trim_start().starts_with("application/json"));
    if sends_json && request.method() != Method::GET && request.method() != Method::HEAD {
        let (parts, body) = request.into_parts();
        let Ok(bytes) = axum::body::to_bytes(body, BODY_LIMIT).await else {
            return ApiFailure::internal().into_response();
        };
        if bytes.is_empty() {
            return ApiFailure::internal().into_response();
        }
        request = Request::from_parts(parts, Body::from(bytes));
    }
    next.run(request).await
}

async fn not_found(State(shared): State<Arc<Shared>>, request: Request) -> Response {
    let path = request.uri().path().to_owned();
    if !path.starts_with("/__dev") {
        shared.count(format!("{} <unmatched>", request.method()));
    }
    ApiFailure::route_not_found(request.method().as_str(), &path).into_response()
}

async fn dev_counts(State(shared): State<Arc<Shared>>) -> Response {
    axum::Json(lock(&shared.counts).clone()).into_response()
}

async fn dev_reset_counts(State(shared): State<Arc<Shared>>) -> Response {
    lock(&shared.counts).clear();
    shared.sequence.store(0, Ordering::SeqCst);
    axum::Json(serde_json::json!({})).into_response()
}

fn faults_json(faults: &super::Faults) -> Value {
    serde_json::json!({
        "latencyMs": u64::try_from(faults.latency.as_millis()).unwrap_or(u64::MAX),
        "rateLimitEvery": faults.rate_limit_every,
        "retryAfterSecs": faults.retry_after_secs,
        "serverErrorEvery": faults.server_error_every,
        "dropConnectionEvery": faults.drop_connection_every,
    })
}

async fn dev_faults(State(shared): State<Arc<Shared>>) -> Response {
    ok(faults_json(&lock(&shared.faults)))
}

/// `PUT /__dev/faults`: replaces the faults (absent fields mean none); the sequence restarts.
async fn dev_set_faults(
    State(shared): State<Arc<Shared>>,
    body: Bytes,
) -> Result<Response, ApiFailure> {
    let body = json_body(&body)?;
    let mut issues = super::input::Issues::default();
    let fields = super::input::Fields::body(&body, &mut issues);
    let every = |name: &str, issues: &mut super::input::Issues| {
        #[expect(clippy::cast_possible_truncation, clippy::cast_sign_loss)]
        fields
            .optional_number(name, issues)
            .filter(|n| *n >= 1.0)
            .map(|n| n as u64)
    };
    let rate_limit_every = every("rateLimitEvery", &mut issues);
    let server_error_every = every("serverErrorEvery", &mut issues);
    let drop_connection_every = every("dropConnectionEvery", &mut issues);
    #[expect(clippy::cast_possible_truncation, clippy::cast_sign_loss)]
    let latency_ms = fields
        .optional_number("latencyMs", &mut issues)
        .unwrap_or(0.0)
        .max(0.0) as u64;
    #[expect(clippy::cast_possible_truncation, clippy::cast_sign_loss)]
    let retry_after_secs = fields
        .optional_number("retryAfterSecs", &mut issues)
        .unwrap_or(1.0)
        .max(0.0) as u64;
    issues.finish()?;
    let faults = super::Faults {
        latency: std::time::Duration::from_millis(latency_ms),
        rate_limit_every,
        retry_after_secs,
        server_error_every,
        drop_connection_every,
    };
    let answer = faults_json(&faults);
    *lock(&shared.faults) = faults;
    shared.sequence.store(0, Ordering::SeqCst);
    Ok(ok(answer))
}

async fn dev_expire_tokens(State(shared): State<Arc<Shared>>) -> Response {
    shared.expire_tokens();
    ok(serde_json::json!({}))
}

/// `POST /__dev/approval-policies` `{projectId, environment, path}`.
async fn dev_add_approval_policy(
    State(shared): State<Arc<Shared>>,
    body: Bytes,
) -> Result<Response, ApiFailure> {
    let body = json_body(&body)?;
    let mut issues = super::input::Issues::default();
    let fields = super::input::Fields::body(&body, &mut issues);
    let project_id = fields.required_str("projectId", &mut issues);
    let environment = fields.required_str("environment", &mut issues);
    let path = fields.optional_str("path", &mut issues).unwrap_or_default();
    issues.finish()?;
    let policy = shared.add_approval_policy(&project_id, &environment, &path)?;
    Ok(ok(serde_json::json!({ "policyId": policy })))
}

/// A request that carried a valid, unexpired bearer token.
#[derive(Debug)]
pub(crate) struct Authenticated;

impl FromRequestParts<Arc<Shared>> for Authenticated {
    type Rejection = ApiFailure;

    async fn from_request_parts(
        parts: &mut Parts,
        shared: &Arc<Shared>,
    ) -> Result<Self, Self::Rejection> {
        let header = parts
            .headers
            .get(header::AUTHORIZATION)
            .and_then(|value| value.to_str().ok())
            .unwrap_or_default();
        let token = header
            .strip_prefix("Bearer ")
            .map(str::trim)
            .unwrap_or_default();
        if token.is_empty() {
            return Err(ApiFailure::unauthorized("Failed to authenticate"));
        }
        shared.check_token(token)?;
        Ok(Authenticated)
    }
}

/// Parses a request body: empty → `null` (zod then reports the missing fields); not JSON →
/// 500 like Infisical's parser error.
pub(crate) fn json_body(bytes: &Bytes) -> Result<Value, ApiFailure> {
    if bytes.iter().all(u8::is_ascii_whitespace) {
        return Ok(Value::Null);
    }
    serde_json::from_slice(bytes).map_err(|_| ApiFailure::internal())
}

/// A JSON 200 answer.
pub(crate) fn ok(value: impl serde::Serialize) -> Response {
    axum::Json(value).into_response()
}

/// Slug rule of projects, environments and tags: lowercase letters, digits and hyphens.
pub(crate) fn is_slug(text: &str) -> bool {
    !text.is_empty()
        && text
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-')
}

/// The message Infisical answers for a slug that breaks [`is_slug`].
pub(crate) const SLUG_MESSAGE: &str =
    "Slug field can only contain lowercase letters, numbers, and hyphens";
