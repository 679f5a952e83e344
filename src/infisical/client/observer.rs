//! [`RequestObserver`]: a hook the client calls after every HTTP request it sends (each
//! attempt of a retried call counts). The daemon installs one to count requests for
//! `/metrics`; the CLI installs none.

use std::time::Duration;

/// How a request ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum RequestStatus {
    /// The server answered with this HTTP status.
    Http(u16),
    /// No answer: the connection failed, was refused or dropped.
    Network,
    /// No complete answer within the request timeout.
    Timeout,
}

impl RequestStatus {
    /// The metrics label: `200`, `429`, `network`, `timeout`.
    pub fn label(self) -> std::borrow::Cow<'static, str> {
        match self {
            RequestStatus::Http(code) => code.to_string().into(),
            RequestStatus::Network => "network".into(),
            RequestStatus::Timeout => "timeout".into(),
        }
    }
}

/// One request the client sent. Carries the route template only: no id, name or value.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RequestRecord {
    /// `GET`, `POST`, `PATCH`, `DELETE`, `PUT` (`OTHER` for anything else).
    pub method: &'static str,
    /// The route template, `/api/v4/secrets/batch`, `/api/v1/projects/{projectId}`.
    pub route: &'static str,
    /// How it ended.
    pub status: RequestStatus,
    /// From sending to the whole answer read (or the failure).
    pub duration: Duration,
}

/// Told about every request the client sends. Must be cheap and must not block.
pub trait RequestObserver: Send + Sync {
    /// One request ended.
    fn request(&self, record: &RequestRecord);
}

pub(super) fn method_label(method: &reqwest::Method) -> &'static str {
    match *method {
        reqwest::Method::GET => "GET",
        reqwest::Method::POST => "POST",
        reqwest::Method::PATCH => "PATCH",
        reqwest::Method::DELETE => "DELETE",
        reqwest::Method::PUT => "PUT",
        _ => "OTHER",
    }
}
