//! Error answers in Infisical's shape: `{"reqId","statusCode","message","error"}`.

use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde_json::{Value, json};

/// One handled error, rendered like Infisical's error handler renders it.
#[derive(Debug, Clone)]
pub(crate) struct ApiFailure {
    status: StatusCode,
    error: &'static str,
    message: Value,
    retry_after: Option<u64>,
}

impl ApiFailure {
    fn new(status: StatusCode, error: &'static str, message: impl Into<String>) -> Self {
        Self {
            status,
            error,
            message: Value::String(message.into()),
            retry_after: None,
        }
    }

    /// 400 `BadRequest`.
    pub(crate) fn bad_request(message: impl Into<String>) -> Self {
        Self::new(StatusCode::BAD_REQUEST, "BadRequest", message)
    }

    /// 404 `NotFound`.
    pub(crate) fn not_found(message: impl Into<String>) -> Self {
        Self::new(StatusCode::NOT_FOUND, "NotFound", message)
    }

    /// 401 `UnauthorizedError`.
    pub(crate) fn unauthorized(message: impl Into<String>) -> Self {
        Self::new(StatusCode::UNAUTHORIZED, "UnauthorizedError", message)
    }

    /// 403 `TokenError`: bad, unknown or expired bearer token.
    pub(crate) fn token(message: impl Into<String>) -> Self {
        Self::new(StatusCode::FORBIDDEN, "TokenError", message)
    }

    /// 422 `ValidationFailure` with zod-like issues as the message.
    pub(crate) fn validation(issues: Vec<Value>) -> Self {
        Self {
            status: StatusCode::UNPROCESSABLE_ENTITY,
            error: "ValidationFailure",
            message: Value::Array(issues),
            retry_after: None,
        }
    }

    /// 500 `InternalServerError` "Something went wrong".
    pub(crate) fn internal() -> Self {
        Self::new(
            StatusCode::INTERNAL_SERVER_ERROR,
            "InternalServerError",
            "Something went wrong",
        )
    }

    /// 429 with a `Retry-After` header.
    pub(crate) fn rate_limited(retry_after_secs: u64) -> Self {
        let mut failure = Self::new(
            StatusCode::TOO_MANY_REQUESTS,
            "RateLimitExceeded",
            format!("Rate limit exceeded. Please try again in {retry_after_secs} seconds"),
        );
        failure.retry_after = Some(retry_after_secs);
        failure
    }

    /// The route answered by no handler (Fastify's wording).
    pub(crate) fn route_not_found(method: &str, path: &str) -> Self {
        Self::new(
            StatusCode::NOT_FOUND,
            "Not Found",
            format!("Route {method}:{path} not found"),
        )
    }

    /// Overrides the `error` name, as some Infisical handlers do (e.g. `SecretPathNotFound`).
    pub(crate) fn named(mut self, error: &'static str) -> Self {
        self.error = error;
        self
    }
}

/// A fresh request id in Infisical's format (`req-` and 14 alphanumerics).
pub(crate) fn request_id() -> String {
    let id = uuid::Uuid::new_v4().simple().to_string();
    format!("req-{}", &id[..14])
}

impl IntoResponse for ApiFailure {
    fn into_response(self) -> Response {
        let body = json!({
            "reqId": request_id(),
            "statusCode": self.status.as_u16(),
            "message": self.message,
            "error": self.error,
        });
        let mut response = (self.status, axum::Json(body)).into_response();
        if let Some(seconds) = self.retry_after {
            response
                .headers_mut()
                .insert(header::RETRY_AFTER, HeaderValue::from(seconds));
        }
        response
    }
}

/// zod-like issue builders, so 422 bodies look like Infisical's.
pub(crate) mod issue {
    use serde_json::{Value, json};

    /// The JSON type name zod reports for a value.
    pub(crate) fn type_name(value: Option<&Value>) -> &'static str {
        match value {
            None => "undefined",
            Some(Value::Null) => "null",
            Some(Value::Bool(_)) => "boolean",
            Some(Value::Number(_)) => "number",
            Some(Value::String(_)) => "string",
            Some(Value::Array(_)) => "array",
            Some(Value::Object(_)) => "object",
        }
    }

    /// A value of the wrong type, or a missing required value.
    pub(crate) fn invalid_type(path: &[Value], expected: &str, received: Option<&Value>) -> Value {
        let received = type_name(received);
        let message = if received == "undefined" {
            "Required".to_owned()
        } else {
            format!("Expected {expected}, received {received}")
        };
        json!({
            "code": "invalid_type",
            "expected": expected,
            "received": received,
            "path": path,
            "message": message,
        })
    }

    /// A string longer than `maximum`.
    pub(crate) fn too_big(path: &[Value], maximum: usize) -> Value {
        json!({
            "code": "too_big",
            "maximum": maximum,
            "type": "string",
            "inclusive": true,
            "exact": false,
            "message": format!("String must contain at most {maximum} character(s)"),
            "path": path,
        })
    }

    /// A string shorter than `minimum`.
    pub(crate) fn too_small(path: &[Value], minimum: usize) -> Value {
        json!({
            "code": "too_small",
            "minimum": minimum,
            "type": "string",
            "inclusive": true,
            "exact": false,
            "message": format!("String must contain at least {minimum} character(s)"),
            "path": path,
        })
    }

    /// An array with fewer than `minimum` items.
    pub(crate) fn too_few_items(path: &[Value], minimum: usize) -> Value {
        json!({
            "code": "too_small",
            "minimum": minimum,
            "type": "array",
            "inclusive": true,
            "exact": false,
            "message": format!("Array must contain at least {minimum} element(s)"),
            "path": path,
        })
    }

    /// A value outside an enumeration.
    pub(crate) fn invalid_enum(path: &[Value], options: &[&str], received: &str) -> Value {
        let expected: Vec<String> = options.iter().map(|option| format!("'{option}'")).collect();
        json!({
            "code": "invalid_enum_value",
            "options": options,
            "received": received,
            "path": path,
            "message": format!(
                "Invalid enum value. Expected {}, received '{received}'",
                expected.join(" | ")
            ),
        })
    }

    /// A refinement failure with a fixed message.
    pub(crate) fn custom(path: &[Value], message: &str) -> Value {
        json!({ "code": "custom", "message": message, "path": path })
    }
}
