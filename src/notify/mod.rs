//! Notifications: reconcile failures, recoveries, detect-mode drift, untrusted and invalid
//! revisions and unresolved values, sent to chat webhooks (Slack-compatible, Discord,
//! Microsoft Teams) or a generic JSON webhook.
//!
//! ```text
//! daemon records a reconcile ──► Notifier::observe (inline, never blocks)
//!     detect (one event per state change) ──► rate limit ──► one bounded queue per webhook
//!         └──► a task per webhook: render for its format ──► deliver (timeouts, retries)
//! ```
//!
//! - [`detect`] decides which records change a state (pure); [`message`] turns an event into
//!   a neutral [`Notification`] (pure); [`format`] renders it per format, escaping foreign
//!   text for that format (pure); [`deliver`] posts it.
//! - The reconcile loop only runs the detection and a `try_send`: a slow, failing or full
//!   webhook drops messages (counted) and never delays a reconcile.
//! - Webhook URLs are secrets (their path holds the token): they are shown only as
//!   `scheme://host[:port]/…` in logs, errors and metrics.
//! - Never a value: messages carry fixed words, counts, the revision, a commit link, the source
//!   description and the record's first errors, which name addresses, never values.

pub(crate) mod deliver;
pub(crate) mod detect;
pub(crate) mod format;
pub(crate) mod message;

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use tokio::sync::mpsc;
use tokio::time::Instant;

pub use deliver::{DeliveryError, DeliveryRetry, HttpTransport, WebhookTransport};
pub use detect::{Detector, Event, EventSeverity};
pub use message::{CommitLink, ForgeWeb, Notification};

use crate::daemon::ReconcileRecord;
use crate::daemon::status::family;

/// Messages waiting per webhook; more are dropped (and counted).
pub const QUEUE: usize = 16;

/// A webhook's body format.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum NotifyFormat {
    /// Slack incoming webhooks and Slack-compatible servers (`{"text": …}`).
    Slack,
    /// Discord webhooks (an embed; mentions disabled).
    Discord,
    /// Microsoft Teams: Workflows "when a Teams webhook request is received" and incoming
    /// webhooks (a message with an Adaptive Card).
    Teams,
    /// The notification as JSON.
    Json,
}

impl NotifyFormat {
    /// The name in flags and metrics.
    pub fn as_str(self) -> &'static str {
        match self {
            NotifyFormat::Slack => "slack",
            NotifyFormat::Discord => "discord",
            NotifyFormat::Teams => "teams",
            NotifyFormat::Json => "json",
        }
    }

    /// The format named `name`.
    pub fn from_name(name: &str) -> Option<Self> {
        Some(match name {
            "slack" => NotifyFormat::Slack,
            "discord" => NotifyFormat::Discord,
            "teams" => NotifyFormat::Teams,
            "json" => NotifyFormat::Json,
            _ => return None,
        })
    }

    /// The format a well-known webhook host speaks: `hooks.slack.com`, `discord.com` and
    /// `discordapp.com` under `/api/webhooks/`, Teams' `*.webhook.office.com`,
    /// `*.logic.azure.com` and `*.environment.api.powerplatform.com`; `None` for others.
    pub fn detect(url: &NotifyUrl) -> Option<Self> {
        let host = url.url().host_str()?.to_ascii_lowercase();
        let path = url.url().path();
        if host == "hooks.slack.com" {
            Some(NotifyFormat::Slack)
        } else if matches!(
            host.as_str(),
            "discord.com" | "discordapp.com" | "canary.discord.com" | "ptb.discord.com"
        ) && path.starts_with("/api/webhooks/")
        {
            Some(NotifyFormat::Discord)
        } else if host.ends_with(".webhook.office.com")
            || host.ends_with(".logic.azure.com")
            || host.ends_with(".api.powerplatform.com")
        {
            Some(NotifyFormat::Teams)
        } else {
            None
        }
    }
}

/// A webhook URL: a secret whose `Debug` and `Display` show `scheme://host[:port]/…` only.
#[derive(Clone)]
pub struct NotifyUrl(reqwest::Url);

/// Why a webhook URL is refused. Never contains the URL.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum UrlError {
    /// Not a URL.
    #[error("not a URL: give the webhook's full http:// or https:// address")]
    Invalid,
    /// Not http or https.
    #[error("a webhook URL must be http:// or https://, not {0}://")]
    Scheme(String),
}

impl NotifyUrl {
    /// Parses and checks `text` (http or https, with a host).
    ///
    /// # Errors
    /// [`UrlError`], which never repeats the URL.
    pub fn parse(text: &str) -> Result<Self, UrlError> {
        let url = reqwest::Url::parse(text.trim()).map_err(|_| UrlError::Invalid)?;
        if !matches!(url.scheme(), "http" | "https") {
            let scheme = crate::escape::visible(url.scheme()).into_owned();
            return Err(UrlError::Scheme(message::cut(&scheme, 20)));
        }
        if url.host_str().is_none_or(str::is_empty) {
            return Err(UrlError::Invalid);
        }
        Ok(Self(url))
    }

    /// The URL itself (for sending only).
    pub fn url(&self) -> &reqwest::Url {
        &self.0
    }

    /// `scheme://host[:port]/…`.
    pub fn redacted(&self) -> String {
        let host = self.0.host_str().unwrap_or_default();
        match self.0.port() {
            Some(port) => format!("{}://{host}:{port}/…", self.0.scheme()),
            None => format!("{}://{host}/…", self.0.scheme()),
        }
    }

    /// `text` without the URL's path, query and credentials, made one line.
    pub fn scrub(&self, text: &str) -> String {
        let mut secrets: Vec<String> = vec![self.0.as_str().to_string()];
        let path = self.0.path().trim_matches('/');
        if !path.is_empty() {
            secrets.push(path.to_string());
            secrets.extend(path.split('/').filter(|s| s.len() >= 8).map(str::to_string));
        }
        if let Some(query) = self.0.query() {
            secrets.push(query.to_string());
        }
        if let Some(password) = self.0.password() {
            secrets.push(password.to_string());
        }
        crate::escape::scrub(text, secrets.iter().map(String::as_str), 8)
    }
}

impl std::fmt::Debug for NotifyUrl {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "NotifyUrl({})", self.redacted())
    }
}

impl std::fmt::Display for NotifyUrl {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.redacted())
    }
}

/// One webhook.
#[derive(Debug, Clone)]
pub struct Target {
    /// Where.
    pub url: NotifyUrl,
    /// Its body format.
    pub format: NotifyFormat,
}

/// What the notifier does.
#[derive(Debug, Clone)]
pub struct NotifyConfig {
    /// The webhooks; each gets every message.
    pub targets: Vec<Target>,
    /// Messages per hour, over all events, after a burst.
    pub per_hour: u32,
    /// Messages that may go out at once ([`BURST`] from the command line).
    pub burst: u32,
    /// Retries of one delivery.
    pub retry: DeliveryRetry,
    /// Commit links, when the forge is known.
    pub link: Option<CommitLink>,
}

/// The most messages sent at once before the hourly rate applies (`run`).
pub const BURST: u32 = 5;

/// A token bucket: `capacity` tokens, refilled at `per_hour`.
#[derive(Debug, Clone)]
pub struct RateLimit {
    capacity: f64,
    per_second: f64,
    tokens: f64,
    last: Option<Instant>,
}

impl RateLimit {
    /// `per_hour` messages an hour, bursts up to `burst` (or `per_hour` when lower).
    pub fn new(per_hour: u32, burst: u32) -> Self {
        let capacity = f64::from(burst.min(per_hour).max(1));
        Self {
            capacity,
            per_second: f64::from(per_hour.max(1)) / 3600.0,
            tokens: capacity,
            last: None,
        }
    }

    /// Whether a message may go out at `now` (and takes its token).
    pub fn allow(&mut self, now: Instant) -> bool {
        if let Some(last) = self.last {
            let elapsed = now.saturating_duration_since(last).as_secs_f64();
            self.tokens = (self.tokens + elapsed * self.per_second).min(self.capacity);
        }
        self.last = Some(now);
        if self.tokens >= 1.0 {
            self.tokens -= 1.0;
            true
        } else {
            false
        }
    }
}

/// Counters for `/metrics`, by format and result (`sent`, `failed`, `dropped`,
/// `rate-limited`) and by event.
#[derive(Debug, Default)]
pub struct NotifyMetrics {
    results: Mutex<BTreeMap<(&'static str, &'static str), u64>>,
    events: Mutex<BTreeMap<&'static str, u64>>,
}

impl NotifyMetrics {
    fn count(&self, format: NotifyFormat, result: &'static str) {
        let mut results = self
            .results
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        *results.entry((format.as_str(), result)).or_default() += 1;
    }

    fn event(&self, event: Event) {
        let mut events = self
            .events
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        *events.entry(event.as_str()).or_default() += 1;
    }

    /// The count of `result` for `format`.
    pub fn get(&self, format: NotifyFormat, result: &str) -> u64 {
        self.results
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .iter()
            .filter(|((f, r), _)| *f == format.as_str() && *r == result)
            .map(|(_, n)| *n)
            .sum()
    }

    /// Appends the Prometheus families (the headers even when nothing was counted).
    pub fn render(metrics: Option<&Self>, out: &mut String) {
        family(
            out,
            "notification_events_total",
            "counter",
            "State changes announced (before rate limiting), by event.",
        );
        if let Some(metrics) = metrics {
            let events = metrics
                .events
                .lock()
                .unwrap_or_else(std::sync::PoisonError::into_inner);
            for (event, n) in events.iter() {
                let _ = writeln!(
                    out,
                    "infisical_gitops_notification_events_total{{event=\"{event}\"}} {n}"
                );
            }
        }
        family(
            out,
            "notifications_total",
            "counter",
            "Notifications per webhook, by format and result (sent, failed, dropped when the queue is full, rate-limited).",
        );
        if let Some(metrics) = metrics {
            let results = metrics
                .results
                .lock()
                .unwrap_or_else(std::sync::PoisonError::into_inner);
            for ((format, result), n) in results.iter() {
                let _ = writeln!(
                    out,
                    "infisical_gitops_notifications_total{{format=\"{format}\",result=\"{result}\"}} {n}"
                );
            }
        }
    }
}

struct Queue {
    format: NotifyFormat,
    url: NotifyUrl,
    sender: mpsc::Sender<Arc<Notification>>,
}

struct Shared {
    detector: Detector,
    limit: RateLimit,
    queues: Vec<Queue>,
}

/// The handle the daemon feeds; cloning shares it.
#[derive(Clone)]
pub struct Notifier {
    shared: Arc<Mutex<Shared>>,
    workers: Arc<Mutex<Vec<tokio::task::JoinHandle<()>>>>,
    metrics: Arc<NotifyMetrics>,
    link: Option<CommitLink>,
}

impl std::fmt::Debug for Notifier {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Notifier").finish_non_exhaustive()
    }
}

impl Notifier {
    /// Starts one delivery task per webhook (needs a Tokio runtime).
    pub fn start(config: NotifyConfig, transport: Arc<dyn WebhookTransport>) -> Self {
        let metrics = Arc::new(NotifyMetrics::default());
        let mut queues = Vec::new();
        let mut workers = Vec::new();
        for target in config.targets {
            let (sender, receiver) = mpsc::channel(QUEUE);
            queues.push(Queue {
                format: target.format,
                url: target.url.clone(),
                sender,
            });
            workers.push(tokio::spawn(worker(
                target,
                receiver,
                transport.clone(),
                config.retry,
                metrics.clone(),
            )));
        }
        Self {
            shared: Arc::new(Mutex::new(Shared {
                detector: Detector::default(),
                limit: RateLimit::new(config.per_hour, config.burst),
                queues,
            })),
            workers: Arc::new(Mutex::new(workers)),
            metrics,
            link: config.link,
        }
    }

    /// The counters.
    pub fn metrics(&self) -> &NotifyMetrics {
        &self.metrics
    }

    /// Feeds one reconcile record: queues a message per state change. Never waits.
    pub fn observe(&self, record: &ReconcileRecord, source: &str) {
        let mut shared = self
            .shared
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        let events = shared.detector.observe(record);
        for event in events {
            self.metrics.event(event);
            let refused = shared.detector.refused_revision().map(str::to_string);
            let notification = Arc::new(Notification::new(
                event,
                record,
                source,
                self.link.as_ref(),
                refused.as_deref(),
            ));
            if !shared.limit.allow(Instant::now()) {
                tracing::warn!(
                    event = event.as_str(),
                    "notification not sent: over the rate limit (--notify-rate-limit)"
                );
                for queue in &shared.queues {
                    self.metrics.count(queue.format, "rate-limited");
                }
                continue;
            }
            for queue in &shared.queues {
                if queue.sender.try_send(notification.clone()).is_err() {
                    tracing::warn!(
                        webhook = %queue.url,
                        event = event.as_str(),
                        "notification dropped: the webhook's queue is full or closed"
                    );
                    self.metrics.count(queue.format, "dropped");
                }
            }
        }
    }

    /// Stops taking messages and gives the queued ones up to `grace` to go out.
    pub async fn close(&self, grace: Duration) {
        self.shared
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .queues
            .clear();
        let workers: Vec<_> = std::mem::take(
            &mut *self
                .workers
                .lock()
                .unwrap_or_else(std::sync::PoisonError::into_inner),
        );
        let deadline = Instant::now() + grace;
        for worker in workers {
            let abort = worker.abort_handle();
            if tokio::time::timeout_at(deadline, worker).await.is_err() {
                abort.abort();
                tracing::warn!("notifications still queued at shutdown were dropped");
            }
        }
    }
}

async fn worker(
    target: Target,
    mut queue: mpsc::Receiver<Arc<Notification>>,
    transport: Arc<dyn WebhookTransport>,
    retry: DeliveryRetry,
    metrics: Arc<NotifyMetrics>,
) {
    while let Some(notification) = queue.recv().await {
        let body = format::render(target.format, &notification).to_string();
        match deliver::deliver(transport.as_ref(), &target.url, body.as_bytes(), retry).await {
            Ok(attempts) => {
                tracing::info!(
                    webhook = %target.url,
                    format = target.format.as_str(),
                    event = notification.event.as_str(),
                    attempts,
                    "notification sent"
                );
                metrics.count(target.format, "sent");
            }
            Err(error) => {
                tracing::warn!(
                    webhook = %target.url,
                    format = target.format.as_str(),
                    event = notification.event.as_str(),
                    error = %crate::escape::visible(&target.url.scrub(&error.to_string())),
                    "notification not delivered"
                );
                metrics.count(target.format, "failed");
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn urls_are_shown_without_their_path_and_query() {
        let url = NotifyUrl::parse(
            "https://user:pw-1234567@hooks.slack.com:8443/services/T000/B000/XXXXSECRET?token=abcdefgh",
        )
        .unwrap();
        assert_eq!(url.redacted(), "https://hooks.slack.com:8443/…");
        assert_eq!(
            format!("{url:?}"),
            "NotifyUrl(https://hooks.slack.com:8443/…)"
        );
        let scrubbed = url.scrub(&format!(
            "failed for {} and services/T000/B000/XXXXSECRET and token=abcdefgh",
            url.url()
        ));
        assert!(!scrubbed.contains("XXXXSECRET"), "{scrubbed}");
        assert!(!scrubbed.contains("abcdefgh"), "{scrubbed}");
        assert_eq!(
            NotifyUrl::parse("ftp://x/secret").unwrap_err().to_string(),
            "a webhook URL must be http:// or https://, not ftp://"
        );
        assert_eq!(
            NotifyUrl::parse("hooks.slack.com/services/SECRET").unwrap_err(),
            UrlError::Invalid
        );
    }

    #[test]
    fn formats_are_detected_from_well_known_hosts() {
        let detect = |url: &str| NotifyFormat::detect(&NotifyUrl::parse(url).unwrap());
        assert_eq!(
            detect("https://hooks.slack.com/services/T/B/X"),
            Some(NotifyFormat::Slack)
        );
        assert_eq!(
            detect("https://discord.com/api/webhooks/1/abc"),
            Some(NotifyFormat::Discord)
        );
        assert_eq!(
            detect("https://acme.webhook.office.com/webhookb2/x"),
            Some(NotifyFormat::Teams)
        );
        assert_eq!(
            detect("https://prod-01.westeurope.logic.azure.com:443/workflows/x"),
            Some(NotifyFormat::Teams)
        );
        assert_eq!(detect("https://discord.com/other"), None);
        assert_eq!(detect("https://chat.example.com/hooks/x"), None);
    }

    #[test]
    fn the_rate_limit_allows_a_burst_then_the_hourly_rate() {
        let start = Instant::now();
        let mut limit = RateLimit::new(12, BURST);
        let allowed = (0..8).filter(|_| limit.allow(start)).count();
        assert_eq!(allowed, 5);
        // 12 an hour: one more every 5 minutes.
        assert!(!limit.allow(start + Duration::from_secs(299)));
        assert!(limit.allow(start + Duration::from_secs(301)));
        assert!(!limit.allow(start + Duration::from_secs(302)));
        let mut slow = RateLimit::new(1, BURST);
        assert!(slow.allow(start));
        assert!(!slow.allow(start + Duration::from_secs(1800)));
        assert!(slow.allow(start + Duration::from_secs(3601)));
    }
}
