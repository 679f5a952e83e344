//! Streamable HTTP at `/mcp`, behind the checks the MCP specification asks of a server that
//! listens on the network, in this order:
//!
//! | check | refusal |
//! |---|---|
//! | `Host` is localhost, `127.0.0.1`, `[::1]` or an `--allowed-host` (DNS rebinding) | 403 JSON |
//! | `Origin`, when present, is a localhost origin or an `--allowed-origin` | 403 JSON |
//! | `Authorization: Bearer <token>` equals the configured token (constant time) | 401 JSON + `WWW-Authenticate: Bearer` |
//! | the caller's request rate (token bucket per minute; failed logins have their own, per IP address) | 429 JSON + `Retry-After` |
//! | the request body is at most [`HttpSecurity::max_body_bytes`] | 413 JSON |
//! | a request that may open a session: the token has fewer than [`HttpSecurity::max_sessions_per_token`] open | 429 JSON + `Retry-After` |
//! | … and the server has fewer than [`HttpSecurity::max_sessions`] open | 503 JSON + `Retry-After` |
//!
//! The router can be served alone (`infisical-gitops mcp --listen`) or merged into the
//! daemon's listener (`run --mcp`).

use std::collections::HashMap;
use std::hash::Hash;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use axum::Router;
use axum::extract::{ConnectInfo, Request, State};
use axum::http::{HeaderMap, HeaderValue, Method, StatusCode, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use rmcp::transport::streamable_http_server::session::local::LocalSessionManager;
use rmcp::transport::streamable_http_server::{StreamableHttpServerConfig, StreamableHttpService};
use secrecy::{ExposeSecret, SecretString};
use sha2::{Digest, Sha256};
use subtle::ConstantTimeEq;

use super::sessions::{
    BoundedSessions, DEFAULT_MAX_SESSIONS, DEFAULT_MAX_SESSIONS_PER_TOKEN, SessionLedger,
    SessionsFull,
};
use super::{Caller, McpServer, McpState, Transport};
use crate::net::listener::PeerKey;

/// The session header of Streamable HTTP.
const HEADER_SESSION_ID: &str = "mcp-session-id";

/// The path of the endpoint.
pub const PATH: &str = "/mcp";
/// Default request body limit: 1 MiB.
pub const DEFAULT_MAX_BODY_BYTES: usize = 1024 * 1024;
/// Default rate limit: requests per minute per caller.
pub const DEFAULT_RATE_PER_MINUTE: u32 = 600;

/// Hosts always allowed in `Host`.
const LOOPBACK_HOSTS: &[&str] = &["localhost", "127.0.0.1", "[::1]"];

/// The HTTP endpoint's security settings.
#[derive(Clone)]
pub struct HttpSecurity {
    /// The bearer token clients must present.
    pub token: SecretString,
    /// Extra `Host` values (`name` or `name:port`) besides the loopback names.
    pub allowed_hosts: Vec<String>,
    /// Extra `Origin` values (`https://app.example.com`) besides localhost origins.
    pub allowed_origins: Vec<String>,
    /// Largest request body.
    pub max_body_bytes: usize,
    /// Requests per minute per caller (the burst is the same number).
    pub rate_per_minute: u32,
    /// Open MCP sessions per token.
    pub max_sessions_per_token: usize,
    /// Open MCP sessions in total.
    pub max_sessions: usize,
}

impl std::fmt::Debug for HttpSecurity {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("HttpSecurity")
            .field("token", &"<redacted>")
            .field("allowed_hosts", &self.allowed_hosts)
            .field("allowed_origins", &self.allowed_origins)
            .field("max_body_bytes", &self.max_body_bytes)
            .field("rate_per_minute", &self.rate_per_minute)
            .field("max_sessions_per_token", &self.max_sessions_per_token)
            .field("max_sessions", &self.max_sessions)
            .finish()
    }
}

impl HttpSecurity {
    /// Defaults around a token.
    pub fn new(token: SecretString) -> Self {
        Self {
            token,
            allowed_hosts: Vec::new(),
            allowed_origins: Vec::new(),
            max_body_bytes: DEFAULT_MAX_BODY_BYTES,
            rate_per_minute: DEFAULT_RATE_PER_MINUTE,
            max_sessions_per_token: DEFAULT_MAX_SESSIONS_PER_TOKEN,
            max_sessions: DEFAULT_MAX_SESSIONS,
        }
    }
}

/// A token bucket.
#[derive(Debug)]
struct Bucket {
    tokens: f64,
    updated: Instant,
}

/// Callers tracked by one rate limiter at most; beyond it, idle callers are forgotten first,
/// then the least recently seen.
const MAX_TRACKED_CALLERS: usize = 10_000;

/// Token buckets per caller key, in bounded memory.
#[derive(Debug)]
struct RateLimiter<K> {
    per_minute: f64,
    max_callers: usize,
    buckets: Mutex<HashMap<K, Bucket>>,
}

impl<K: Hash + Eq + Clone> RateLimiter<K> {
    fn new(per_minute: u32) -> Self {
        Self::bounded(per_minute, MAX_TRACKED_CALLERS)
    }

    fn bounded(per_minute: u32, max_callers: usize) -> Self {
        Self {
            per_minute: f64::from(per_minute.max(1)),
            max_callers: max_callers.max(1),
            buckets: Mutex::new(HashMap::new()),
        }
    }

    /// `Ok` when allowed, else how long until the next request would be.
    fn check(&self, key: &K) -> Result<(), Duration> {
        let now = Instant::now();
        let mut buckets = self
            .buckets
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        if !buckets.contains_key(key) && buckets.len() >= self.max_callers {
            // A bucket untouched for a minute is full again: forgetting it changes nothing.
            buckets.retain(|_, b| now.duration_since(b.updated) < Duration::from_secs(60));
            if buckets.len() >= self.max_callers {
                let oldest = buckets
                    .iter()
                    .min_by_key(|(_, b)| b.updated)
                    .map(|(k, _)| k.clone());
                if let Some(oldest) = oldest {
                    buckets.remove(&oldest);
                }
            }
        }
        let bucket = buckets.entry(key.clone()).or_insert(Bucket {
            tokens: self.per_minute,
            updated: now,
        });
        let rate = self.per_minute / 60.0;
        let elapsed = now.duration_since(bucket.updated).as_secs_f64();
        bucket.tokens = (bucket.tokens + elapsed * rate).min(self.per_minute);
        bucket.updated = now;
        if bucket.tokens >= 1.0 {
            bucket.tokens -= 1.0;
            Ok(())
        } else {
            Err(Duration::from_secs_f64((1.0 - bucket.tokens) / rate))
        }
    }

    #[cfg(test)]
    fn tracked(&self) -> usize {
        self.buckets
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .len()
    }
}

#[derive(Debug)]
struct Guard {
    token_digest: [u8; 32],
    fingerprint: String,
    allowed_hosts: Vec<String>,
    allowed_origins: Vec<String>,
    max_body_bytes: usize,
    /// Requests per token (by fingerprint).
    limiter: RateLimiter<String>,
    /// Failed logins per peer IP address (IPv6: per /64), whatever the port.
    failures: RateLimiter<Option<PeerKey>>,
    sessions: Arc<SessionLedger>,
}

/// The fingerprint of a token shown in logs: `token:` and 8 hex digits of its SHA-256.
pub fn token_fingerprint(token: &str) -> String {
    let digest = Sha256::digest(token.as_bytes());
    format!("token:{}", &hex::encode(digest)[..8])
}

/// The `/mcp` router with its security layers, and a handle that ends open streams (call it
/// on shutdown, so that graceful shutdown does not wait for clients' event streams).
pub fn router(state: Arc<McpState>, security: HttpSecurity) -> (Router, ShutdownHandle) {
    let config = StreamableHttpServerConfig::default()
        // Host and Origin are checked by the layer below, with JSON answers.
        .disable_allowed_hosts()
        .disable_allowed_origins()
        .with_max_request_body_bytes(security.max_body_bytes);
    let cancel = config.cancellation_token.clone();
    let sessions = SessionLedger::new(security.max_sessions_per_token, security.max_sessions);
    let service = StreamableHttpService::new(
        move || Ok(McpServer::new(state.clone(), Transport::Http)),
        Arc::new(BoundedSessions::new(
            LocalSessionManager::default(),
            sessions.clone(),
        )),
        config,
    );
    let token = security.token.expose_secret();
    let guard = Arc::new(Guard {
        token_digest: Sha256::digest(token.as_bytes()).into(),
        fingerprint: token_fingerprint(token),
        allowed_hosts: security
            .allowed_hosts
            .iter()
            .map(|h| h.trim().to_ascii_lowercase())
            .collect(),
        allowed_origins: security
            .allowed_origins
            .iter()
            .map(|o| normalize_origin(o))
            .collect(),
        max_body_bytes: security.max_body_bytes,
        limiter: RateLimiter::new(security.rate_per_minute),
        failures: RateLimiter::new(security.rate_per_minute.clamp(1, 60)),
        sessions,
    });
    let router = Router::new()
        .nest_service(PATH, service)
        .layer(axum::middleware::from_fn_with_state(guard, check));
    (router, ShutdownHandle(Box::new(move || cancel.cancel())))
}

/// Ends the endpoint's open sessions and streams.
pub struct ShutdownHandle(Box<dyn Fn() + Send + Sync>);

impl ShutdownHandle {
    /// Ends every session.
    pub fn shutdown(&self) {
        (self.0)();
    }
}

impl std::fmt::Debug for ShutdownHandle {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("ShutdownHandle")
    }
}

fn refuse(status: StatusCode, code: &str, message: &str) -> Response {
    let body = serde_json::json!({ "error": code, "message": message });
    (status, axum::Json(body)).into_response()
}

/// The host part of an authority (`name`, `1.2.3.4`, `[::1]`), lowercase, without the port.
fn host_of(authority: &str) -> String {
    let authority = authority.trim().to_ascii_lowercase();
    if authority.starts_with('[') {
        return match authority.find(']') {
            Some(end) => authority[..=end].to_string(),
            None => authority,
        };
    }
    match authority.rsplit_once(':') {
        Some((host, port)) if port.chars().all(|c| c.is_ascii_digit()) => host.to_string(),
        _ => authority,
    }
}

fn normalize_origin(origin: &str) -> String {
    origin.trim().trim_end_matches('/').to_ascii_lowercase()
}

impl Guard {
    fn host_allowed(&self, headers: &HeaderMap) -> bool {
        let Some(host) = headers.get(header::HOST).and_then(|v| v.to_str().ok()) else {
            return false;
        };
        let authority = host.trim().to_ascii_lowercase();
        let name = host_of(&authority);
        LOOPBACK_HOSTS.contains(&name.as_str())
            || self
                .allowed_hosts
                .iter()
                .any(|allowed| *allowed == authority || *allowed == name)
    }

    fn origin_allowed(&self, headers: &HeaderMap) -> bool {
        let Some(origin) = headers.get(header::ORIGIN) else {
            return true;
        };
        let Ok(origin) = origin.to_str() else {
            return false;
        };
        let origin = normalize_origin(origin);
        if self.allowed_origins.contains(&origin) {
            return true;
        }
        let Some((scheme, authority)) = origin.split_once("://") else {
            return false;
        };
        matches!(scheme, "http" | "https")
            && !authority.contains(['/', '@'])
            && LOOPBACK_HOSTS.contains(&host_of(authority).as_str())
    }

    fn authenticated(&self, headers: &HeaderMap) -> bool {
        let given = headers
            .get(header::AUTHORIZATION)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| {
                let (scheme, token) = v.trim().split_once(' ')?;
                scheme.eq_ignore_ascii_case("bearer").then(|| token.trim())
            });
        let Some(given) = given else {
            return false;
        };
        // Digests make the comparison's time independent of both lengths.
        let given: [u8; 32] = Sha256::digest(given.as_bytes()).into();
        bool::from(given.ct_eq(&self.token_digest))
    }
}

async fn check(State(guard): State<Arc<Guard>>, mut request: Request, next: Next) -> Response {
    let address = request
        .extensions()
        .get::<ConnectInfo<SocketAddr>>()
        .map(|info| info.0);
    let peer = address.map_or_else(|| "unknown".to_string(), |a| a.to_string());
    let peer_key = address.map(|a| PeerKey::of(a.ip()));
    let headers = request.headers();
    if !guard.host_allowed(headers) {
        tracing::warn!(target: super::AUDIT_TARGET, peer, "refused: Host not allowed");
        return refuse(
            StatusCode::FORBIDDEN,
            "forbidden-host",
            "the Host header is not allowed (DNS rebinding protection); add it with --allowed-host",
        );
    }
    if !guard.origin_allowed(headers) {
        tracing::warn!(target: super::AUDIT_TARGET, peer, "refused: Origin not allowed");
        return refuse(
            StatusCode::FORBIDDEN,
            "forbidden-origin",
            "the Origin is not allowed; add it with --allowed-origin",
        );
    }
    if !guard.authenticated(headers) {
        if let Err(wait) = guard.failures.check(&peer_key) {
            return too_many(wait);
        }
        tracing::warn!(target: super::AUDIT_TARGET, peer, "refused: missing or wrong bearer token");
        let mut response = refuse(
            StatusCode::UNAUTHORIZED,
            "unauthorized",
            "a bearer token is required: `Authorization: Bearer <token>`",
        );
        response.headers_mut().insert(
            header::WWW_AUTHENTICATE,
            HeaderValue::from_static("Bearer realm=\"infisical-gitops\""),
        );
        return response;
    }
    let caller = format!("{} peer:{peer}", guard.fingerprint);
    if let Err(wait) = guard.limiter.check(&guard.fingerprint) {
        tracing::warn!(target: super::AUDIT_TARGET, caller, "refused: rate limit");
        return too_many(wait);
    }
    let length = request
        .headers()
        .get(header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse::<u64>().ok());
    if length.is_some_and(|length| length > guard.max_body_bytes as u64) {
        tracing::warn!(target: super::AUDIT_TARGET, caller, "refused: request body too large");
        return refuse(
            StatusCode::PAYLOAD_TOO_LARGE,
            "payload-too-large",
            &format!(
                "the request body is larger than the limit of {} bytes",
                guard.max_body_bytes
            ),
        );
    }
    // A POST without a session id may open a session (an `initialize`): hold a place first.
    let opens_session =
        request.method() == Method::POST && !request.headers().contains_key(HEADER_SESSION_ID);
    let reservation = if opens_session {
        match guard.sessions.reserve(&guard.fingerprint) {
            Ok(reservation) => Some(reservation),
            Err(full) => {
                tracing::warn!(target: super::AUDIT_TARGET, caller, "refused: session limit");
                return sessions_full(full, &guard.sessions);
            }
        }
    } else {
        None
    };
    request.extensions_mut().insert(Caller(caller));
    let response = next.run(request).await;
    if let Some(reservation) = reservation {
        reservation.settle(
            response
                .headers()
                .get(HEADER_SESSION_ID)
                .and_then(|v| v.to_str().ok()),
        );
    }
    response
}

/// How long a client refused for the session limit should wait: idle sessions close after
/// five minutes, deleted ones at once.
const SESSIONS_FULL_RETRY_AFTER: &str = "60";

fn sessions_full(full: SessionsFull, ledger: &SessionLedger) -> Response {
    let mut response = match full {
        SessionsFull::Token(_) => refuse(
            StatusCode::TOO_MANY_REQUESTS,
            "too-many-sessions",
            &format!(
                "this token has {} open MCP sessions, the limit; close unused ones (HTTP DELETE \
                 /mcp with their Mcp-Session-Id) or wait until idle ones expire after 5 minutes",
                ledger.per_token_limit()
            ),
        ),
        SessionsFull::Server(_) => refuse(
            StatusCode::SERVICE_UNAVAILABLE,
            "sessions-full",
            &format!(
                "the server has {} open MCP sessions, its limit; retry later",
                ledger.total_limit()
            ),
        ),
    };
    response.headers_mut().insert(
        header::RETRY_AFTER,
        HeaderValue::from_static(SESSIONS_FULL_RETRY_AFTER),
    );
    response
}

fn too_many(wait: Duration) -> Response {
    let mut response = refuse(
        StatusCode::TOO_MANY_REQUESTS,
        "rate-limited",
        "too many requests; retry later",
    );
    let seconds = wait.as_secs().max(1).to_string();
    if let Ok(value) = HeaderValue::from_str(&seconds) {
        response.headers_mut().insert(header::RETRY_AFTER, value);
    }
    response
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hosts_lose_their_port() {
        assert_eq!(host_of("LOCALHOST:8080"), "localhost");
        assert_eq!(host_of("[::1]:80"), "[::1]");
        assert_eq!(host_of("127.0.0.1"), "127.0.0.1");
        assert_eq!(host_of("evil.example"), "evil.example");
    }

    #[test]
    fn the_rate_limiter_refuses_beyond_the_burst() {
        let limiter = RateLimiter::new(3);
        let (a, b) = ("a".to_string(), "b".to_string());
        assert!(limiter.check(&a).is_ok());
        assert!(limiter.check(&a).is_ok());
        assert!(limiter.check(&a).is_ok());
        assert!(limiter.check(&a).is_err());
        assert!(limiter.check(&b).is_ok());
    }

    #[test]
    fn failed_logins_count_per_address_whatever_the_port() {
        let limiter: RateLimiter<Option<PeerKey>> = RateLimiter::new(3);
        let from = |port: u16| {
            let address: SocketAddr = ([198, 51, 100, 4], port).into();
            Some(PeerKey::of(address.ip()))
        };
        for port in [40_001, 40_002, 40_003] {
            assert!(limiter.check(&from(port)).is_ok());
        }
        assert!(
            limiter.check(&from(40_004)).is_err(),
            "a fresh connection is no fresh start"
        );
    }

    #[test]
    fn the_rate_limiter_forgets_the_oldest_caller_beyond_its_bound() {
        let limiter: RateLimiter<u32> = RateLimiter::bounded(1, 100);
        for caller in 0..1_000 {
            let _ = limiter.check(&caller);
        }
        assert_eq!(limiter.tracked(), 100);
        // The most recent callers are still limited, the oldest were forgotten.
        assert!(limiter.check(&999).is_err());
        assert!(limiter.check(&0).is_ok());
        assert_eq!(limiter.tracked(), 100);
    }
}
