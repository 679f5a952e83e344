//! Universal-auth login and token renewal (§1).

use std::sync::Arc;

use axum::body::Bytes;
use axum::extract::State;
use axum::response::Response;
use serde_json::json;

use super::super::failure::ApiFailure;
use super::super::input::{Fields, Issues};
use super::super::{Shared, lock, millis, store};
use super::{json_body, ok};

/// `POST /api/v1/auth/universal-auth/login`.
pub(crate) async fn login(
    State(shared): State<Arc<Shared>>,
    body: Bytes,
) -> Result<Response, ApiFailure> {
    let body = json_body(&body)?;
    let mut issues = Issues::default();
    let fields = Fields::body(&body, &mut issues);
    let client_id = fields.required_str("clientId", &mut issues);
    let client_secret = fields.required_str("clientSecret", &mut issues);
    let _ = fields.optional_str("subOrganizationName", &mut issues);
    issues.finish()?;
    if client_id != shared.client_id || client_secret != shared.client_secret {
        return Err(ApiFailure::unauthorized("Invalid credentials"));
    }
    let (token, ttl) = shared.issue_token();
    Ok(ok(json!({
        "accessToken": token,
        "expiresIn": ttl.as_secs(),
        "accessTokenMaxTTL": shared.token_max_ttl.as_secs(),
        "tokenType": "Bearer",
    })))
}

fn token_field(body: &Bytes) -> Result<String, ApiFailure> {
    let body = json_body(body)?;
    let mut issues = Issues::default();
    let fields = Fields::body(&body, &mut issues);
    let token = fields.required_str("accessToken", &mut issues);
    issues.finish()?;
    Ok(token)
}

/// `POST /api/v1/auth/token/renew`: extends the token's life by the TTL, up to its max TTL.
pub(crate) async fn renew(
    State(shared): State<Arc<Shared>>,
    body: Bytes,
) -> Result<Response, ApiFailure> {
    let token = token_field(&body)?;
    shared.check_token(&token)?;
    let now = store::now_millis();
    let mut tokens = lock(&shared.tokens);
    let info = tokens
        .get_mut(&token)
        .ok_or_else(|| ApiFailure::token("Invalid token"))?;
    if now >= info.max_expires_at {
        return Err(ApiFailure::unauthorized(
            "Failed to renew MI access token due to Max TTL expiration",
        ));
    }
    info.expires_at = now
        .saturating_add(millis(shared.token_ttl))
        .min(info.max_expires_at);
    let expires_in = (info.expires_at - now) / 1000;
    Ok(ok(json!({
        "accessToken": token,
        "expiresIn": expires_in,
        "accessTokenMaxTTL": shared.token_max_ttl.as_secs(),
        "tokenType": "Bearer",
    })))
}

/// `POST /api/v1/auth/token/revoke`.
pub(crate) async fn revoke(
    State(shared): State<Arc<Shared>>,
    body: Bytes,
) -> Result<Response, ApiFailure> {
    let token = token_field(&body)?;
    shared.check_token(&token)?;
    lock(&shared.tokens).remove(&token);
    Ok(ok(
        json!({ "message": "Successfully revoked access token" }),
    ))
}
