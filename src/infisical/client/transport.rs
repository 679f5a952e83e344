//! One call: routes, sending with a timeout under the concurrency limit, mapping answers to
//! [`ApiError`], and the retry loop.

use std::time::Duration;

use bytes::Bytes;
use reqwest::header::{CONTENT_TYPE, HeaderMap};
use reqwest::{Method, StatusCode};
use secrecy::{ExposeSecret, SecretString};
use serde::Serialize;
use serde::de::DeserializeOwned;

use crate::infisical::error::{ApiError, ErrorContext};
use crate::infisical::wire::ErrorBody;
use crate::model::SecretValue;
use crate::net::body::{BodyError, TooLarge, read_limited};

use super::config::RetryPolicy;
use super::retry::{Budget, retry_after};

/// Longest server message kept in an error.
const MAX_MESSAGE_CHARS: usize = 500;
/// Shortest secret value scrubbed from server messages (shorter ones would garble them).
const MIN_REDACTED_LEN: usize = 4;

/// What a retry may do to the server.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Safety {
    /// Repeating it changes nothing (reads, updates to a target state, login).
    Idempotent,
    /// Repeating it could do it twice (creates): after a timeout, a dropped connection or a
    /// 5xx the caller re-reads instead of retrying blindly.
    NonIdempotent,
    /// A delete: repeating it is safe, but a repeat after an unknown outcome may find the
    /// object gone (the caller then treats 404 as done).
    Delete,
}

/// A route: a template below the API root and the values of its `{…}` segments (each
/// percent-encoded on its own when sent).
#[derive(Debug, Clone)]
pub(super) struct Route {
    template: &'static str,
    params: Vec<String>,
}

impl Route {
    /// `Route::new("/api/v1/projects/{projectId}/tags", &[project_id])`: each `{…}` segment
    /// takes the next value.
    pub(super) fn new(template: &'static str, params: &[&str]) -> Self {
        debug_assert!(template.starts_with("/api/"), "{template}");
        debug_assert_eq!(
            template.split('/').filter(|s| s.starts_with('{')).count(),
            params.len(),
            "{template}"
        );
        Route {
            template,
            params: params.iter().map(|s| (*s).to_string()).collect(),
        }
    }

    /// The template, `/api/v1/projects/{projectId}`: for metrics (no id, name or value).
    pub(super) fn template(&self) -> &'static str {
        self.template
    }

    /// The path segments below the API root, values filled in.
    pub(super) fn segments(&self) -> impl Iterator<Item = &str> {
        let mut params = self.params.iter();
        self.template
            .trim_start_matches("/api/")
            .split('/')
            .map(move |segment| {
                if segment.starts_with('{') {
                    params.next().map_or(segment, String::as_str)
                } else {
                    segment
                }
            })
    }

    /// `/api/v1/projects/…`, for errors and logs.
    pub(super) fn display(&self) -> String {
        let mut path = String::from("/api");
        for segment in self.segments() {
            path.push('/');
            path.push_str(segment);
        }
        path
    }
}

/// One request, ready to be sent any number of times.
#[derive(Debug)]
pub(super) struct Call {
    /// Method.
    pub method: Method,
    /// Route.
    pub route: Route,
    /// Query pairs (never secret).
    pub query: Vec<(&'static str, String)>,
    /// Serialized JSON body; `None` sends no body and no content type.
    pub body: Option<Bytes>,
    /// What a repeat may do.
    pub safety: Safety,
    /// Whether a bearer token is sent.
    pub authenticated: bool,
    /// Values scrubbed from server messages should the server echo one.
    pub redact: Vec<SecretValue>,
}

impl Call {
    /// A call without body.
    pub(super) fn new(method: Method, route: Route, safety: Safety) -> Self {
        Call {
            method,
            route,
            query: Vec::new(),
            body: None,
            safety,
            authenticated: true,
            redact: Vec::new(),
        }
    }

    /// Adds a query pair.
    pub(super) fn query(mut self, name: &'static str, value: impl Into<String>) -> Self {
        self.query.push((name, value.into()));
        self
    }

    /// Sets a JSON body.
    pub(super) fn json<T: Serialize>(mut self, body: &T) -> Result<Self, ApiError> {
        let bytes = serde_json::to_vec(body).map_err(|_| {
            ApiError::Decode(self.context(None, "request body could not be serialized".into()))
        })?;
        self.body = Some(Bytes::from(bytes));
        Ok(self)
    }

    /// Sends no bearer token.
    pub(super) fn anonymous(mut self) -> Self {
        self.authenticated = false;
        self
    }

    /// Scrubs these values from any server message.
    pub(super) fn redacting(mut self, values: impl IntoIterator<Item = SecretValue>) -> Self {
        self.redact.extend(values);
        self
    }

    /// The error context of this call.
    pub(super) fn context(&self, request_id: Option<String>, message: String) -> ErrorContext {
        ErrorContext {
            method: self.method.to_string(),
            path: self.route.display(),
            request_id,
            message: self.scrub(message),
        }
    }

    /// The server's message without the values this call sent (raw, JSON-escaped,
    /// percent-encoded, line by line; see [`crate::escape::scrub`]), on one line, cut to
    /// [`MAX_MESSAGE_CHARS`].
    fn scrub(&self, message: String) -> String {
        let normalized: Vec<String> = self.redact.iter().map(SecretValue::normalized).collect();
        let values = self
            .redact
            .iter()
            .map(SecretValue::expose)
            .chain(normalized.iter().map(String::as_str));
        let mut message = crate::escape::scrub(&message, values, MIN_REDACTED_LEN);
        if message.chars().count() > MAX_MESSAGE_CHARS {
            message = message.chars().take(MAX_MESSAGE_CHARS).collect::<String>() + "…";
        }
        message
    }

    /// Decodes a success body. The decode error names the place, never the content.
    pub(super) fn decode<T: DeserializeOwned>(&self, raw: &Raw) -> Result<T, ApiError> {
        serde_json::from_slice(&raw.body).map_err(|e| {
            ApiError::Decode(self.context(
                raw.request_id(),
                format!(
                    "answer {} is not the documented shape ({:?} error at line {} column {})",
                    raw.status.as_u16(),
                    e.classify(),
                    e.line(),
                    e.column()
                ),
            ))
        })
    }
}

/// An answer, body read.
#[derive(Debug)]
pub(super) struct Raw {
    /// Status.
    pub status: StatusCode,
    /// Headers.
    pub headers: HeaderMap,
    /// Body.
    pub body: Bytes,
}

impl Raw {
    fn error_body(&self) -> ErrorBody {
        serde_json::from_slice(&self.body).unwrap_or_default()
    }

    fn request_id(&self) -> Option<String> {
        self.error_body().req_id.or_else(|| {
            self.headers
                .get("x-request-id")
                .and_then(|v| v.to_str().ok())
                .map(str::to_string)
        })
    }
}

/// A failed send.
#[derive(Debug)]
pub(super) enum SendError {
    /// The request never reached the server (connection refused, DNS, TLS handshake).
    NotSent(reqwest::Error),
    /// It may have reached the server: timeout, connection dropped, body cut.
    Unknown(Box<dyn std::error::Error + Send + Sync>),
    /// The server answered with a body larger than the limit (final: never retried).
    TooLarge {
        /// The answer's status.
        status: StatusCode,
        /// The limit and what the server announced.
        too_large: TooLarge,
    },
}

enum Exchange {
    Http(reqwest::Error),
    TooLarge(StatusCode, TooLarge),
}

/// The per-request timeout fired.
#[derive(Debug, thiserror::Error)]
#[error("no complete answer within {0:?}")]
pub(super) struct TimedOut(pub Duration);

/// How the retry loop ended without an answer.
#[derive(Debug)]
pub(super) enum Failure {
    /// Final: return it.
    Final(ApiError),
    /// A non-idempotent call may or may not have happened: the caller re-reads.
    Ambiguous(ApiError),
}

/// Maps a non-success answer to an [`ApiError`] (§7.1, §12 of the API reference).
pub(super) fn map_error(call: &Call, raw: &Raw, policy: &RetryPolicy) -> ApiError {
    let body = raw.error_body();
    let request_id = body.req_id.clone().or_else(|| raw.request_id());
    let issues: Vec<String> = body.issues().into_iter().map(|i| call.scrub(i)).collect();
    let message = if issues.is_empty() {
        raw.status
            .canonical_reason()
            .unwrap_or("no message")
            .to_string()
    } else {
        issues.join("; ")
    };
    let context = call.context(request_id, message.clone());
    let status = raw.status.as_u16();
    match status {
        400 if message.to_lowercase().contains("already exist") => ApiError::AlreadyExists(context),
        401 => ApiError::Unauthorized(context),
        403 if body.error.as_deref() == Some("TokenError") => ApiError::Token(context),
        403 => ApiError::Permission(context),
        404 => ApiError::NotFound(context),
        422 => ApiError::Validation { context, issues },
        429 => ApiError::RateLimited {
            context,
            retry_after: retry_after(policy, &raw.headers),
        },
        500..=599 => ApiError::Server { context, status },
        _ => ApiError::BadRequest(ErrorContext {
            message: format!("status {status}: {}", context.message),
            ..context
        }),
    }
}

/// The error for an answer larger than the limit: final, and it names the setting to raise.
pub(super) fn too_large_error(call: &Call, status: StatusCode, too_large: TooLarge) -> ApiError {
    let announced = too_large
        .announced
        .map(|length| format!(" (it announced {length} bytes)"))
        .unwrap_or_default();
    ApiError::TooLarge {
        context: call.context(
            None,
            format!(
                "the answer (status {}) is larger than the limit of {}{announced}; raise \
                 --infisical-max-response-bytes if the instance really holds that much in one \
                 listing",
                status.as_u16(),
                too_large.limit
            ),
        ),
        limit: too_large.limit.0,
    }
}

/// Whether an answer says the token is no good (a fresh login may help).
pub(super) fn is_token_rejection(call: &Call, error: &ApiError) -> bool {
    call.authenticated && matches!(error, ApiError::Token(_) | ApiError::Unauthorized(_))
}

/// Sends once: URL, token, body, timeout, and reads the answer's body up to
/// `max_response_bytes`. The caller holds a concurrency permit.
pub(super) async fn send_once(
    http: &reqwest::Client,
    root: &reqwest::Url,
    call: &Call,
    token: Option<&SecretString>,
    timeout: Duration,
    max_response_bytes: u64,
) -> Result<Raw, SendError> {
    let mut url = root.clone();
    {
        let Ok(mut segments) = url.path_segments_mut() else {
            return Err(SendError::Unknown("api url cannot carry a path".into()));
        };
        segments.pop_if_empty();
        for segment in call.route.segments() {
            segments.push(segment);
        }
    }
    let mut request = http.request(call.method.clone(), url);
    if !call.query.is_empty() {
        request = request.query(&call.query);
    }
    if let Some(token) = token {
        request = request.bearer_auth(token.expose_secret());
    }
    if let Some(body) = &call.body {
        request = request
            .header(CONTENT_TYPE, "application/json")
            .body(body.clone());
    }
    let exchange = async {
        let response = request.send().await.map_err(Exchange::Http)?;
        let status = response.status();
        let headers = response.headers().clone();
        let body =
            read_limited(response, max_response_bytes)
                .await
                .map_err(|error| match error {
                    BodyError::TooLarge(too_large) => Exchange::TooLarge(status, too_large),
                    BodyError::Transport(error) => Exchange::Http(error),
                })?;
        Ok::<_, Exchange>(Raw {
            status,
            headers,
            body,
        })
    };
    match tokio::time::timeout(timeout, exchange).await {
        Err(_) => Err(SendError::Unknown(Box::new(TimedOut(timeout)))),
        Ok(Err(Exchange::TooLarge(status, too_large))) => {
            Err(SendError::TooLarge { status, too_large })
        }
        Ok(Err(Exchange::Http(error))) if error.is_connect() => {
            Err(SendError::NotSent(error.without_url()))
        }
        Ok(Err(Exchange::Http(error))) => Err(SendError::Unknown(Box::new(error.without_url()))),
        Ok(Ok(raw)) => Ok(raw),
    }
}

/// How a send ended, for the request observer.
pub(super) fn request_status(sent: &Result<Raw, SendError>) -> super::RequestStatus {
    match sent {
        Ok(raw) => super::RequestStatus::Http(raw.status.as_u16()),
        Err(SendError::TooLarge { status, .. }) => super::RequestStatus::Http(status.as_u16()),
        Err(SendError::Unknown(source)) if source.is::<TimedOut>() => super::RequestStatus::Timeout,
        Err(SendError::NotSent(error)) if error.is_timeout() => super::RequestStatus::Timeout,
        Err(_) => super::RequestStatus::Network,
    }
}

/// Decides what to do after a transient failure: wait and retry, or give up with `error`.
pub(super) async fn wait_or_give_up(
    budget: &Budget,
    requested: Option<Duration>,
    error: ApiError,
    call: &Call,
) -> Result<(), ApiError> {
    match budget.next_delay(requested) {
        Some(delay) => {
            tracing::debug!(
                method = %call.method,
                path = %call.route.display(),
                attempt = budget.attempts(),
                delay_ms = delay.as_millis() as u64,
                error = %error,
                "retrying infisical call"
            );
            tokio::time::sleep(delay).await;
            Ok(())
        }
        None => Err(error),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use reqwest::header::{HeaderValue, RETRY_AFTER};

    fn raw(status: u16, body: &str) -> Raw {
        Raw {
            status: StatusCode::from_u16(status).unwrap(),
            headers: HeaderMap::new(),
            body: Bytes::from(body.to_string()),
        }
    }

    fn call() -> Call {
        Call::new(
            Method::POST,
            Route::new("/api/v4/secrets/batch", &[]),
            Safety::NonIdempotent,
        )
        .redacting([SecretValue::new("canary-value-123")])
    }

    fn map(status: u16, body: &str) -> ApiError {
        map_error(&call(), &raw(status, body), &RetryPolicy::default())
    }

    #[test]
    fn a_multi_line_value_quoted_json_escaped_is_scrubbed() {
        let pem = "-----BEGIN PRIVATE KEY-----\nMIIEvQIBADANBgkqhkiG9w0BAQEFAASC\nBKcwggSjAgEAAoIBAQC7\n-----END PRIVATE KEY-----\n";
        let call = Call::new(
            Method::POST,
            Route::new("/api/v4/secrets/batch", &[]),
            Safety::NonIdempotent,
        )
        .redacting([SecretValue::new(pem)]);
        let quoted = serde_json::to_string(pem).expect("json");
        let bodies = [
            // The value JSON-escaped inside the message string.
            serde_json::json!({"statusCode": 400, "error": "BadRequest",
                "message": format!("Invalid secret {{\"secretValue\":{quoted}}}")}),
            // The message is a JSON object holding the value.
            serde_json::json!({"statusCode": 400, "message": {"secretValue": pem}}),
            // The raw value, newlines and all, and one line of it.
            serde_json::json!({"statusCode": 400,
                "message": format!("bad value {pem} near BKcwggSjAgEAAoIBAQC7")}),
        ];
        for body in bodies {
            let error = map_error(&call, &raw(400, &body.to_string()), &RetryPolicy::default());
            let shown = format!("{error} {error:?}");
            for part in ["MIIE", "BKcwgg", "PRIVATE KEY"] {
                assert!(!shown.contains(part), "{part} leaked: {shown}");
            }
            assert!(!error.to_string().contains('\n'), "{error}");
        }
    }

    #[test]
    fn maps_statuses_per_reference() {
        let e = map(
            400,
            r#"{"reqId":"req-9","statusCode":400,"message":"Secret already exists: A,B","error":"BadRequest"}"#,
        );
        assert!(matches!(e, ApiError::AlreadyExists(_)), "{e:?}");
        assert_eq!(
            e.to_string(),
            "already exists: POST /api/v4/secrets/batch (reqId req-9): Secret already exists: A,B"
        );
        assert!(matches!(
            map(
                400,
                r#"{"message":"Folder with name 'web' already exists in path '/'"}"#
            ),
            ApiError::AlreadyExists(_)
        ));
        assert!(matches!(
            map(
                400,
                r#"{"message":"Environment with slug 'dev' already exist"}"#
            ),
            ApiError::AlreadyExists(_)
        ));
        assert!(matches!(
            map(
                400,
                r#"{"message":"Cannot delete folder \"f\" because it contains resources."}"#
            ),
            ApiError::BadRequest(_)
        ));
        assert!(matches!(
            map(
                401,
                r#"{"statusCode":401,"message":"Invalid credentials","error":"UnauthorizedError"}"#
            ),
            ApiError::Unauthorized(_)
        ));
        assert!(matches!(
            map(
                403,
                r#"{"message":"Your token has expired. Please re-authenticate.","error":"TokenError"}"#
            ),
            ApiError::Token(_)
        ));
        assert!(matches!(
            map(
                403,
                r#"{"message":"You are not allowed to create on secrets","error":"PermissionDenied"}"#
            ),
            ApiError::Permission(_)
        ));
        assert!(matches!(
            map(404, r#"{"message":"Folder with path '/x' not found"}"#),
            ApiError::NotFound(_)
        ));
        assert!(matches!(
            map(500, "Something went wrong"),
            ApiError::Server { status: 500, .. }
        ));
        assert!(matches!(map(504, ""), ApiError::Server { status: 504, .. }));
        assert!(matches!(map(409, "{}"), ApiError::BadRequest(_)));
    }

    #[test]
    fn validation_carries_the_issue_list() {
        let e = map(
            422,
            r#"{"reqId":"r","statusCode":422,"error":"ValidationFailure","message":[
                {"code":"too_big","message":"String must contain at most 64 character(s)","path":["projectName"]},
                {"code":"custom","message":"Slug field can only contain lowercase letters, numbers, and hyphens","path":["slug"]}]}"#,
        );
        let ApiError::Validation { issues, context } = e else {
            panic!("not validation")
        };
        assert_eq!(
            issues,
            vec![
                "projectName: String must contain at most 64 character(s)".to_string(),
                "slug: Slug field can only contain lowercase letters, numbers, and hyphens"
                    .to_string()
            ]
        );
        assert!(context.message.contains("projectName"));
    }

    #[test]
    fn rate_limit_keeps_retry_after() {
        let mut answer = raw(429, r#"{"message":"Rate limit exceeded"}"#);
        answer
            .headers
            .insert(RETRY_AFTER, HeaderValue::from_static("7"));
        let e = map_error(&call(), &answer, &RetryPolicy::default());
        assert!(matches!(
            e,
            ApiError::RateLimited { retry_after: Some(d), .. } if d == Duration::from_secs(7)
        ));
    }

    #[test]
    fn an_echoed_value_never_reaches_the_error() {
        let e = map(
            422,
            r#"{"message":[{"message":"bad value canary-value-123","path":["secrets",0]}]}"#,
        );
        let text = format!("{e} {e:?}");
        assert!(!text.contains("canary-value-123"), "{text}");
        assert!(text.contains("secrets.0: bad value <redacted>"), "{text}");
    }

    #[test]
    fn routes_fill_their_templates_and_keep_them_for_metrics() {
        let route = Route::new(
            "/api/v1/projects/{projectId}/environments/slug/{slug}",
            &["p-1", "prod/x"],
        );
        assert_eq!(
            route.template(),
            "/api/v1/projects/{projectId}/environments/slug/{slug}"
        );
        assert_eq!(
            route.segments().collect::<Vec<_>>(),
            ["v1", "projects", "p-1", "environments", "slug", "prod/x"]
        );
        assert_eq!(
            route.display(),
            "/api/v1/projects/p-1/environments/slug/prod/x"
        );
        let plain = Route::new("/api/v4/secrets/batch", &[]);
        assert_eq!(plain.template(), plain.display());
    }

    #[test]
    fn request_statuses_name_the_http_code_or_the_failure() {
        use super::super::RequestStatus;
        let answered: Result<Raw, SendError> = Ok(raw(429, ""));
        assert_eq!(request_status(&answered), RequestStatus::Http(429));
        let timed_out: Result<Raw, SendError> = Err(SendError::Unknown(Box::new(TimedOut(
            Duration::from_secs(1),
        ))));
        assert_eq!(request_status(&timed_out), RequestStatus::Timeout);
        let dropped: Result<Raw, SendError> = Err(SendError::Unknown("connection reset".into()));
        assert_eq!(request_status(&dropped), RequestStatus::Network);
        assert_eq!(RequestStatus::Http(200).label(), "200");
        assert_eq!(RequestStatus::Network.label(), "network");
        assert_eq!(RequestStatus::Timeout.label(), "timeout");
    }

    #[test]
    fn non_json_and_empty_bodies_still_map() {
        let e = map(502, "<html>bad gateway</html>");
        assert_eq!(e.context().message, "Bad Gateway");
        let e = map(404, "");
        assert_eq!(e.context().path, "/api/v4/secrets/batch");
    }
}
