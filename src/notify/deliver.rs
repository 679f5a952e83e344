//! Sending one body to one webhook: bounded in time and size, retried a few times on 429, 5xx
//! and network failures with exponential backoff that honours `Retry-After`.

use std::time::Duration;

use async_trait::async_trait;

use super::NotifyUrl;

/// Largest answer read from a webhook (Slack answers `ok`, Discord nothing, Teams `1` or an
/// empty 202): 64 KiB.
pub(crate) const MAX_ANSWER_BYTES: u64 = 64 * 1024;
/// The most of an error answer kept for a log line.
const MAX_MESSAGE: usize = 200;

/// A webhook's answer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Answer {
    /// The HTTP status.
    pub status: u16,
    /// A `Retry-After` in seconds, when the answer had one.
    pub retry_after: Option<Duration>,
    /// The first bytes of the body, as text (foreign: escape before printing).
    pub body: String,
}

/// Why a notification was not delivered. Messages never contain the webhook's path or query.
#[derive(Debug, thiserror::Error)]
pub enum DeliveryError {
    /// The webhook could not be reached, or did not answer in time.
    #[error("cannot reach the webhook at {url}: {reason}")]
    Transport {
        /// The webhook, redacted.
        url: String,
        /// The cause, without the URL.
        reason: String,
    },
    /// The webhook answered with a body larger than the limit.
    #[error("the webhook at {url} answered with more than {limit}, the limit")]
    TooLarge {
        /// The webhook, redacted.
        url: String,
        /// The limit.
        limit: crate::net::body::ByteSize,
    },
    /// The webhook refused the message; not retried.
    #[error(
        "the webhook at {url} refused the message (HTTP {status}): {message}; check the URL and --notify-format"
    )]
    Refused {
        /// The webhook, redacted.
        url: String,
        /// The HTTP status.
        status: u16,
        /// The first characters of its answer, escaped.
        message: String,
    },
    /// Still failing after the last attempt.
    #[error("gave up after {attempts} attempts: {last}")]
    GaveUp {
        /// Attempts made.
        attempts: u32,
        /// The last failure.
        last: Box<DeliveryError>,
    },
    /// The webhook asked to wait longer than the longest wait allowed.
    #[error(
        "the webhook at {url} asked to retry after {retry_after:?}, longer than {max:?}: dropped"
    )]
    WaitTooLong {
        /// The webhook, redacted.
        url: String,
        /// What it asked for.
        retry_after: Duration,
        /// The longest wait allowed.
        max: Duration,
    },
}

impl DeliveryError {
    fn retryable(&self) -> bool {
        match self {
            DeliveryError::Transport { .. } => true,
            DeliveryError::Refused { status, .. } => *status == 429 || *status >= 500,
            _ => false,
        }
    }
}

/// Posts JSON bodies (the IO edge; tests use a fake).
#[async_trait]
pub trait WebhookTransport: Send + Sync + std::fmt::Debug {
    /// Posts `body` as `application/json` to `url`.
    ///
    /// # Errors
    /// [`DeliveryError::Transport`] or [`DeliveryError::TooLarge`].
    async fn post(&self, url: &NotifyUrl, body: Vec<u8>) -> Result<Answer, DeliveryError>;
}

/// The reqwest transport: connect and total timeouts, no redirects, answers read through
/// [`crate::net::body::read_limited`].
#[derive(Debug, Clone)]
pub struct HttpTransport {
    http: reqwest::Client,
}

impl HttpTransport {
    /// A transport whose requests take at most `timeout` each.
    ///
    /// # Errors
    /// The HTTP client cannot be built.
    pub fn new(timeout: Duration) -> Result<Self, reqwest::Error> {
        let _ = rustls::crypto::ring::default_provider().install_default();
        let http = reqwest::Client::builder()
            .user_agent(concat!("infisical-gitops/", env!("CARGO_PKG_VERSION")))
            .connect_timeout(timeout.min(Duration::from_secs(10)))
            .timeout(timeout)
            .redirect(reqwest::redirect::Policy::none())
            .build()?;
        Ok(Self { http })
    }
}

#[async_trait]
impl WebhookTransport for HttpTransport {
    async fn post(&self, url: &NotifyUrl, body: Vec<u8>) -> Result<Answer, DeliveryError> {
        let transport = |error: reqwest::Error| DeliveryError::Transport {
            url: url.redacted(),
            reason: reason(url, error),
        };
        let response = self
            .http
            .post(url.url().clone())
            .header(reqwest::header::CONTENT_TYPE, "application/json")
            .body(body)
            .send()
            .await
            .map_err(transport)?;
        let status = response.status().as_u16();
        let retry_after = response
            .headers()
            .get(reqwest::header::RETRY_AFTER)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.trim().parse::<f64>().ok())
            .filter(|s| s.is_finite() && *s >= 0.0)
            .map(|s| Duration::try_from_secs_f64(s).unwrap_or(Duration::MAX));
        let body = match crate::net::body::read_limited(response, MAX_ANSWER_BYTES).await {
            Ok(bytes) => String::from_utf8_lossy(&bytes).into_owned(),
            Err(crate::net::body::BodyError::TooLarge(too_large)) => {
                return Err(DeliveryError::TooLarge {
                    url: url.redacted(),
                    limit: too_large.limit,
                });
            }
            Err(crate::net::body::BodyError::Transport(error)) => return Err(transport(error)),
        };
        Ok(Answer {
            status,
            retry_after,
            body,
        })
    }
}

/// A reqwest error's chain without the URL (whose path holds the webhook's token).
fn reason(url: &NotifyUrl, error: reqwest::Error) -> String {
    let kind = if error.is_timeout() {
        "timed out"
    } else if error.is_connect() {
        "connection failed"
    } else {
        "request failed"
    };
    let error = error.without_url();
    let text = match std::error::Error::source(&error) {
        Some(cause) => format!("{kind}: {}", crate::errors::cause_chain(cause)),
        None => kind.to_string(),
    };
    url.scrub(&text)
}

/// Attempts and waits.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct DeliveryRetry {
    /// Attempts in all (the first and the retries).
    pub attempts: u32,
    /// The wait after the first failure; doubled after each further one.
    pub initial_backoff: Duration,
    /// The longest wait between attempts; a longer `Retry-After` drops the message.
    pub max_wait: Duration,
}

impl Default for DeliveryRetry {
    fn default() -> Self {
        Self {
            attempts: 4,
            initial_backoff: Duration::from_secs(1),
            max_wait: Duration::from_secs(60),
        }
    }
}

/// Posts `body` until a 2xx answer, retrying 429, 5xx and network failures. `Ok` with the
/// attempts made.
///
/// # Errors
/// [`DeliveryError::Refused`] at once for other statuses; [`DeliveryError::GaveUp`] after the
/// last attempt; [`DeliveryError::WaitTooLong`] when a `Retry-After` is over the policy's cap.
pub(crate) async fn deliver(
    transport: &dyn WebhookTransport,
    url: &NotifyUrl,
    body: &[u8],
    policy: DeliveryRetry,
) -> Result<u32, DeliveryError> {
    let attempts = policy.attempts.max(1);
    let mut backoff = policy.initial_backoff;
    let mut attempt = 0;
    loop {
        attempt += 1;
        let (error, retry_after) = match transport.post(url, body.to_vec()).await {
            Ok(answer) if (200..300).contains(&answer.status) => return Ok(attempt),
            Ok(answer) => (
                DeliveryError::Refused {
                    url: url.redacted(),
                    status: answer.status,
                    message: url.scrub(&super::message::cut(answer.body.trim(), MAX_MESSAGE)),
                },
                answer.retry_after,
            ),
            Err(error) => (error, None),
        };
        if !error.retryable() {
            return Err(error);
        }
        if attempt >= attempts {
            return Err(DeliveryError::GaveUp {
                attempts: attempt,
                last: Box::new(error),
            });
        }
        let wait = match retry_after {
            Some(wait) if wait > policy.max_wait => {
                return Err(DeliveryError::WaitTooLong {
                    url: url.redacted(),
                    retry_after: wait,
                    max: policy.max_wait,
                });
            }
            Some(wait) => wait.max(backoff.min(policy.max_wait)),
            None => backoff.min(policy.max_wait),
        };
        tokio::time::sleep(wait).await;
        backoff = backoff.saturating_mul(2);
    }
}

#[cfg(test)]
mod tests {
    use std::collections::VecDeque;
    use std::sync::Mutex;

    use tokio::time::Instant;

    use super::*;

    #[derive(Debug)]
    struct Scripted {
        answers: Mutex<VecDeque<Result<Answer, DeliveryError>>>,
        times: Mutex<Vec<Instant>>,
    }

    impl Scripted {
        fn new(answers: Vec<Result<Answer, DeliveryError>>) -> Self {
            Self {
                answers: Mutex::new(answers.into()),
                times: Mutex::new(Vec::new()),
            }
        }

        fn offsets(&self, start: Instant) -> Vec<u64> {
            self.times
                .lock()
                .unwrap()
                .iter()
                .map(|t| (*t - start).as_secs())
                .collect()
        }
    }

    #[async_trait]
    impl WebhookTransport for Scripted {
        async fn post(&self, _: &NotifyUrl, _: Vec<u8>) -> Result<Answer, DeliveryError> {
            self.times.lock().unwrap().push(Instant::now());
            self.answers
                .lock()
                .unwrap()
                .pop_front()
                .unwrap_or_else(|| Ok(answer(200, None)))
        }
    }

    fn answer(status: u16, retry_after: Option<u64>) -> Answer {
        Answer {
            status,
            retry_after: retry_after.map(Duration::from_secs),
            body: format!("status {status}"),
        }
    }

    fn url() -> NotifyUrl {
        NotifyUrl::parse("https://hooks.example.com/services/T0/B0/secret-token").unwrap()
    }

    #[tokio::test(start_paused = true)]
    async fn retries_back_off_and_honour_retry_after() {
        let transport = Scripted::new(vec![
            Ok(answer(503, None)),
            Ok(answer(429, Some(7))),
            Err(DeliveryError::Transport {
                url: "x".into(),
                reason: "timed out".into(),
            }),
            Ok(answer(204, None)),
        ]);
        let start = Instant::now();
        let attempts = deliver(&transport, &url(), b"{}", DeliveryRetry::default())
            .await
            .unwrap();
        assert_eq!(attempts, 4);
        // 1 s backoff, then the 7 s asked for, then 4 s.
        assert_eq!(transport.offsets(start), [0, 1, 8, 12]);
    }

    #[tokio::test(start_paused = true)]
    async fn other_statuses_are_not_retried_and_attempts_are_bounded() {
        let refused = Scripted::new(vec![Ok(answer(404, None))]);
        let error = deliver(&refused, &url(), b"{}", DeliveryRetry::default())
            .await
            .unwrap_err();
        assert!(
            matches!(error, DeliveryError::Refused { status: 404, .. }),
            "{error}"
        );
        assert_eq!(refused.times.lock().unwrap().len(), 1);

        let failing = Scripted::new((0..10).map(|_| Ok(answer(500, None))).collect());
        let start = Instant::now();
        let error = deliver(&failing, &url(), b"{}", DeliveryRetry::default())
            .await
            .unwrap_err();
        assert!(
            matches!(error, DeliveryError::GaveUp { attempts: 4, .. }),
            "{error}"
        );
        assert_eq!(failing.offsets(start), [0, 1, 3, 7]);
        let text = error.to_string();
        assert!(!text.contains("secret-token"), "{text}");
        assert!(text.contains("https://hooks.example.com/…"), "{text}");

        let patient = Scripted::new(vec![Ok(answer(429, Some(3600)))]);
        let error = deliver(&patient, &url(), b"{}", DeliveryRetry::default())
            .await
            .unwrap_err();
        assert!(
            matches!(error, DeliveryError::WaitTooLong { .. }),
            "{error}"
        );
    }
}
