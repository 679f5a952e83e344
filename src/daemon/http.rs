//! The daemon's HTTP surface on one listener: webhooks, health, readiness, metrics, status.
//!
//! | route | |
//! |---|---|
//! | `POST /hooks/gitlab` | `X-Gitlab-Token` must equal the configured token (constant time) |
//! | `POST /hooks/github` | `X-Hub-Signature-256` must be the HMAC-SHA256 of the raw body |
//! | `GET /healthz` | 200 while the process serves |
//! | `GET /readyz` | 200 when ready (see [`DaemonState::is_ready`]), else 503 |
//! | `GET /metrics` | Prometheus text format |
//! | `GET /status` | JSON: source, leader, revisions, the last reconciles |
//!
//! A push (or any other) event only triggers a fetch: nothing in its body is read or trusted.
//! A merge/pull request event (`X-Gitlab-Event: Merge Request Hook`, `X-GitHub-Event:
//! pull_request`), once authenticated the same way, goes to the request plans
//! ([`super::requests`]): its body is parsed as hostile JSON (bounded fields, a full commit
//! id, a positive number; 400 otherwise), ignored actions answer 202. Bodies above
//! [`WEBHOOK_BODY_LIMIT`] are refused with 413. A
//! webhook secret must have at least [`MIN_WEBHOOK_SECRET_LENGTH`] characters
//! ([`check_webhook_secret`]; `run` refuses to start otherwise). Other routes (e.g. `/mcp`) are
//! merged in through `extra`. The listener's timeouts and connection caps are
//! [`crate::net::listener`]'s.

use std::sync::Arc;

use axum::Router;
use axum::body::Bytes;
use axum::extract::{DefaultBodyLimit, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use hmac::{Hmac, Mac};
use secrecy::{ExposeSecret, SecretString};
use sha2::{Digest, Sha256};
use subtle::ConstantTimeEq;

use super::{DaemonState, Trigger};

/// Largest webhook body accepted (GitHub caps payloads at 25 MB; push events are far smaller).
pub const WEBHOOK_BODY_LIMIT: usize = 1024 * 1024;

/// Shortest webhook secret accepted (as for the MCP bearer token): an empty or guessable
/// secret would let anyone trigger fetches.
pub const MIN_WEBHOOK_SECRET_LENGTH: usize = 16;

/// A webhook secret that cannot be used; the daemon refuses to start with it.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum WebhookSecretError {
    /// Empty or only whitespace.
    #[error(
        "the {provider} webhook secret from {origin} is empty: put a random secret of at least \
         {MIN_WEBHOOK_SECRET_LENGTH} characters there (e.g. `openssl rand -hex 32`) and the same \
         in the {provider} webhook settings, or remove the setting to turn the {provider} \
         webhook off"
    )]
    Empty {
        /// `GitLab` or `GitHub`.
        provider: &'static str,
        /// The flag and file, or the environment variable.
        origin: String,
    },
    /// Shorter than [`MIN_WEBHOOK_SECRET_LENGTH`].
    #[error(
        "the {provider} webhook secret from {origin} is too short: use at least \
         {MIN_WEBHOOK_SECRET_LENGTH} characters (e.g. `openssl rand -hex 32`), and the same in \
         the {provider} webhook settings"
    )]
    TooShort {
        /// `GitLab` or `GitHub`.
        provider: &'static str,
        /// The flag and file, or the environment variable.
        origin: String,
    },
}

/// Checks a webhook secret: not empty, not only whitespace, at least
/// [`MIN_WEBHOOK_SECRET_LENGTH`] characters (surrounding whitespace does not count).
///
/// # Errors
/// [`WebhookSecretError`], naming `provider` and `origin` (never the secret).
pub fn check_webhook_secret(
    provider: &'static str,
    origin: &str,
    secret: &SecretString,
) -> Result<(), WebhookSecretError> {
    let text = secret.expose_secret().trim();
    if text.is_empty() {
        return Err(WebhookSecretError::Empty {
            provider,
            origin: origin.to_string(),
        });
    }
    if text.chars().count() < MIN_WEBHOOK_SECRET_LENGTH {
        return Err(WebhookSecretError::TooShort {
            provider,
            origin: origin.to_string(),
        });
    }
    Ok(())
}

/// Webhook secrets; a provider without one has no route (404).
#[derive(Clone, Default)]
pub struct WebhookSecrets {
    /// GitLab's secret token.
    pub gitlab_token: Option<SecretString>,
    /// GitHub's webhook secret.
    pub github_secret: Option<SecretString>,
}

impl std::fmt::Debug for WebhookSecrets {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("WebhookSecrets")
            .field("gitlab", &self.gitlab_token.is_some())
            .field("github", &self.github_secret.is_some())
            .finish()
    }
}

#[derive(Clone)]
struct AppState {
    daemon: Arc<DaemonState>,
    secrets: Arc<WebhookSecrets>,
}

/// The router: the daemon's routes merged with `extra` (e.g. an MCP endpoint at `/mcp`).
pub fn router(daemon: Arc<DaemonState>, secrets: WebhookSecrets, extra: Router) -> Router {
    let state = AppState {
        daemon,
        secrets: Arc::new(secrets),
    };
    let mut hooks = Router::new();
    if state.secrets.gitlab_token.is_some() {
        hooks = hooks.route("/hooks/gitlab", post(gitlab));
    }
    if state.secrets.github_secret.is_some() {
        hooks = hooks.route("/hooks/github", post(github));
    }
    let hooks = hooks.layer(DefaultBodyLimit::max(WEBHOOK_BODY_LIMIT));
    Router::new()
        .route("/healthz", get(|| async { "ok\n" }))
        .route("/readyz", get(readyz))
        .route("/metrics", get(metrics))
        .route("/status", get(status))
        .merge(hooks)
        .with_state(state)
        .merge(extra)
}

async fn readyz(State(state): State<AppState>) -> Response {
    if state.daemon.is_ready() {
        (StatusCode::OK, "ready\n").into_response()
    } else {
        (StatusCode::SERVICE_UNAVAILABLE, "not ready\n").into_response()
    }
}

async fn metrics(State(state): State<AppState>) -> Response {
    (
        [(
            header::CONTENT_TYPE,
            "text/plain; version=0.0.4; charset=utf-8",
        )],
        state.daemon.metrics(),
    )
        .into_response()
}

async fn status(State(state): State<AppState>) -> Response {
    axum::Json(state.daemon.status()).into_response()
}

fn accepted(state: &AppState, provider: &'static str) -> Response {
    state.daemon.webhook_delivery(provider, "accepted");
    state.daemon.trigger(Trigger::Webhook);
    (StatusCode::ACCEPTED, "accepted\n").into_response()
}

fn unauthorized(state: &AppState, provider: &'static str) -> Response {
    state.daemon.webhook_delivery(provider, "unauthorized");
    tracing::warn!(provider, "webhook refused: bad token or signature");
    (StatusCode::UNAUTHORIZED, "unauthorized\n").into_response()
}

/// A merge/pull request event: parsed, then handed to the request plans.
fn request_event(
    state: &AppState,
    provider: &'static str,
    parsed: Result<Option<super::requests::RequestEvent>, super::requests::EventError>,
) -> Response {
    let Some(plans) = state.daemon.request_plans() else {
        state.daemon.webhook_delivery(provider, "ignored");
        tracing::debug!(
            provider,
            "request event ignored: request plans need --forge with a token"
        );
        return (StatusCode::ACCEPTED, "ignored: request plans are off\n").into_response();
    };
    match parsed {
        Err(error) => {
            state.daemon.webhook_delivery(provider, "invalid");
            tracing::warn!(provider, error = %error, "request event refused");
            (StatusCode::BAD_REQUEST, format!("{error}\n")).into_response()
        }
        Ok(None) => {
            state.daemon.webhook_delivery(provider, "ignored");
            (StatusCode::ACCEPTED, "ignored\n").into_response()
        }
        Ok(Some(event)) => {
            if plans.submit(event) {
                state.daemon.webhook_delivery(provider, "accepted");
                (StatusCode::ACCEPTED, "accepted\n").into_response()
            } else {
                state.daemon.webhook_delivery(provider, "ignored");
                (StatusCode::ACCEPTED, "ignored\n").into_response()
            }
        }
    }
}

/// The token is in a header: the body is read only after it matched, and only for a merge
/// request event.
async fn gitlab(State(state): State<AppState>, request: axum::extract::Request) -> Response {
    let headers = request.headers().clone();
    let Some(expected) = &state.secrets.gitlab_token else {
        return StatusCode::NOT_FOUND.into_response();
    };
    let given = headers
        .get("x-gitlab-token")
        .map(|v| v.as_bytes())
        .unwrap_or_default();
    // Compare digests so that the comparison's time depends on neither value's length.
    let a = Sha256::digest(given);
    let b = Sha256::digest(expected.expose_secret().as_bytes());
    if bool::from(a.ct_eq(&b)) {
        let event = headers.get("x-gitlab-event").map(|v| v.as_bytes());
        if event == Some(b"Merge Request Hook".as_slice()) {
            let Ok(body) = axum::body::to_bytes(request.into_body(), WEBHOOK_BODY_LIMIT).await
            else {
                state.daemon.webhook_delivery("gitlab", "invalid");
                return (
                    StatusCode::PAYLOAD_TOO_LARGE,
                    "the body is too large or unreadable\n",
                )
                    .into_response();
            };
            return request_event(&state, "gitlab", super::requests::gitlab_event(&body));
        }
        accepted(&state, "gitlab")
    } else {
        unauthorized(&state, "gitlab")
    }
}

async fn github(State(state): State<AppState>, headers: HeaderMap, body: Bytes) -> Response {
    let Some(secret) = &state.secrets.github_secret else {
        return StatusCode::NOT_FOUND.into_response();
    };
    let signature = headers
        .get("x-hub-signature-256")
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("sha256="))
        .and_then(|hex_text| hex::decode(hex_text).ok());
    let Some(signature) = signature else {
        return unauthorized(&state, "github");
    };
    let Ok(mut mac) = Hmac::<Sha256>::new_from_slice(secret.expose_secret().as_bytes()) else {
        return unauthorized(&state, "github");
    };
    mac.update(&body);
    // `verify_slice` compares in constant time.
    if mac.verify_slice(&signature).is_ok() {
        let event = headers.get("x-github-event").map(|v| v.as_bytes());
        if event == Some(b"pull_request".as_slice()) {
            return request_event(&state, "github", super::requests::github_event(&body));
        }
        accepted(&state, "github")
    } else {
        unauthorized(&state, "github")
    }
}

/// The `X-Hub-Signature-256` header value for a body (for tests and tools).
pub fn github_signature(secret: &str, body: &[u8]) -> String {
    let mut mac = Hmac::<Sha256>::new_from_slice(secret.as_bytes())
        .unwrap_or_else(|_| unreachable!("HMAC accepts keys of any length"));
    mac.update(body);
    format!("sha256={}", hex::encode(mac.finalize().into_bytes()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn webhook_secrets_must_have_sixteen_characters_and_are_never_quoted() {
        let check =
            |text: &str| check_webhook_secret("GitLab", "the test", &SecretString::from(text));
        assert!(check("0123456789abcdef").is_ok());
        assert!(check("  0123456789abcdef\n").is_ok());
        assert!(matches!(check(""), Err(WebhookSecretError::Empty { .. })));
        assert!(matches!(
            check(" \t\n "),
            Err(WebhookSecretError::Empty { .. })
        ));
        let short = check("short-canary-7").unwrap_err();
        assert!(matches!(short, WebhookSecretError::TooShort { .. }));
        assert!(!short.to_string().contains("short-canary-7"), "{short}");
        assert!(
            check("  0123456789abcde  ").is_err(),
            "whitespace does not count"
        );
    }
}
