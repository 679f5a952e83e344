//! One error enum for every Infisical call.

use std::time::Duration;

/// What a failed call was: method, path (never the query's values, never a token) and the
/// server's request id.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ErrorContext {
    /// HTTP method.
    pub method: String,
    /// Route path, e.g. `/api/v4/secrets/batch`.
    pub path: String,
    /// The server's `reqId`, when it sent one.
    pub request_id: Option<String>,
    /// The server's message (for 422: the issues joined), never a secret value.
    pub message: String,
}

impl std::fmt::Display for ErrorContext {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{} {}", self.method, self.path)?;
        if let Some(id) = &self.request_id {
            write!(f, " (reqId {id})")?;
        }
        if !self.message.is_empty() {
            write!(f, ": {}", self.message)?;
        }
        Ok(())
    }
}

/// Why an Infisical call failed.
#[derive(Debug, thiserror::Error)]
pub enum ApiError {
    /// 404: project, environment, folder or secret not found.
    #[error("not found: {0}")]
    NotFound(ErrorContext),
    /// 400 "already exists" (Infisical never answers 409).
    #[error("already exists: {0}")]
    AlreadyExists(ErrorContext),
    /// 400 for any other reason.
    #[error("bad request: {0}")]
    BadRequest(ErrorContext),
    /// 422: the request failed the server's schema; one entry per issue.
    #[error("validation failed: {context}")]
    Validation {
        /// The call.
        context: ErrorContext,
        /// The issues, as `path: message`.
        issues: Vec<String>,
    },
    /// 401: wrong credentials.
    #[error("unauthorized: {0}")]
    Unauthorized(ErrorContext),
    /// 403 `PermissionDenied` or other forbidden answers.
    #[error("permission denied: {0}")]
    Permission(ErrorContext),
    /// 403 `TokenError`: expired or invalid token (after one fresh login was tried).
    #[error("token rejected: {0}")]
    Token(ErrorContext),
    /// 429, after the retry budget was spent.
    #[error("rate limited: {context}")]
    RateLimited {
        /// The call.
        context: ErrorContext,
        /// `Retry-After`, when sent.
        retry_after: Option<Duration>,
    },
    /// 5xx, after the retry budget was spent.
    #[error("server error {status}: {context}")]
    Server {
        /// The call.
        context: ErrorContext,
        /// HTTP status.
        status: u16,
    },
    /// Connection failure or timeout, after the retry budget was spent.
    #[error("network error: {context}")]
    Network {
        /// The call.
        context: ErrorContext,
        /// The cause.
        #[source]
        source: Box<dyn std::error::Error + Send + Sync>,
    },
    /// A create timed out and a re-read could not tell whether it happened.
    #[error("outcome unknown: {0}")]
    OutcomeUnknown(ErrorContext),
    /// The answer did not have the documented shape.
    #[error("unexpected response: {0}")]
    Decode(ErrorContext),
    /// The answer's body was larger than the client's limit (`max_response_bytes`); never
    /// retried.
    #[error("answer too large: {context}")]
    TooLarge {
        /// The call.
        context: ErrorContext,
        /// The limit in bytes.
        limit: u64,
    },
}

impl ApiError {
    /// The call that failed.
    pub fn context(&self) -> &ErrorContext {
        match self {
            ApiError::NotFound(c)
            | ApiError::AlreadyExists(c)
            | ApiError::BadRequest(c)
            | ApiError::Unauthorized(c)
            | ApiError::Permission(c)
            | ApiError::Token(c)
            | ApiError::OutcomeUnknown(c)
            | ApiError::Decode(c) => c,
            ApiError::Validation { context, .. }
            | ApiError::RateLimited { context, .. }
            | ApiError::Server { context, .. }
            | ApiError::Network { context, .. }
            | ApiError::TooLarge { context, .. } => context,
        }
    }
}
