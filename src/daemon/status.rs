//! What the daemon knows about itself: the last reconciles (`/status`), readiness
//! (`/readyz`) and counters (`/metrics`, Prometheus text format). Nothing here ever holds a
//! secret value: records carry revisions, counts, addresses and error messages.

use std::collections::{BTreeMap, VecDeque};
use std::fmt::Write as _;
use std::sync::Mutex;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, SystemTime};

use serde::Serialize;
use tokio::sync::mpsc;

use super::Trigger;
use crate::infisical::{RequestObserver, RequestRecord, RequestStatus};
use crate::plan::Action;
use crate::resolve::{LookupObserver, LookupRecord};

/// How many reconciles `/status` keeps.
pub(crate) const HISTORY: usize = 20;

/// Histogram buckets of the reconcile duration, in seconds.
pub(crate) const DURATION_BUCKETS: [f64; 10] =
    [0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 120.0];

/// Histogram buckets of one Infisical request, in seconds.
pub(crate) const REQUEST_BUCKETS: [f64; 10] =
    [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 10.0];

/// What the adapters report while the reconciler runs: Infisical requests (installed into the
/// HTTP client as its [`RequestObserver`]) and Bitwarden lookups (installed into the resolver
/// as its [`LookupObserver`]). Made before the client, then given to the daemon, which serves
/// it on `/metrics`. Labels are route templates and fixed words: never an id, name or value.
#[derive(Debug, Default)]
pub struct AdapterMetrics {
    inner: Mutex<AdapterInner>,
}

#[derive(Debug, Default)]
struct AdapterInner {
    requests: BTreeMap<(&'static str, &'static str, RequestStatus), u64>,
    request_durations: BTreeMap<(&'static str, &'static str), Histogram>,
    lookups: BTreeMap<(&'static str, &'static str), u64>,
}

#[derive(Debug, Default)]
struct Histogram {
    counts: [u64; REQUEST_BUCKETS.len()],
    sum: f64,
    count: u64,
}

impl AdapterMetrics {
    fn lock(&self) -> std::sync::MutexGuard<'_, AdapterInner> {
        self.inner
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    fn render(&self, out: &mut String) {
        let inner = self.lock();
        family(
            out,
            "infisical_requests_total",
            "counter",
            "Infisical API requests sent (each retry counts), by method, route template and HTTP status (or network, timeout).",
        );
        for ((method, route, status), n) in &inner.requests {
            let _ = writeln!(
                out,
                "infisical_gitops_infisical_requests_total{{method=\"{method}\",route=\"{}\",status=\"{}\"}} {n}",
                escape_label(route),
                status.label()
            );
        }
        family(
            out,
            "infisical_request_duration_seconds",
            "histogram",
            "Time of one Infisical API request, by method and route template.",
        );
        for ((method, route), histogram) in &inner.request_durations {
            let labels = format!("method=\"{method}\",route=\"{}\"", escape_label(route));
            for (i, bound) in REQUEST_BUCKETS.iter().enumerate() {
                let _ = writeln!(
                    out,
                    "infisical_gitops_infisical_request_duration_seconds_bucket{{{labels},le=\"{bound}\"}} {}",
                    histogram.counts[i]
                );
            }
            let _ = writeln!(
                out,
                "infisical_gitops_infisical_request_duration_seconds_bucket{{{labels},le=\"+Inf\"}} {}",
                histogram.count
            );
            let _ = writeln!(
                out,
                "infisical_gitops_infisical_request_duration_seconds_sum{{{labels}}} {}",
                histogram.sum
            );
            let _ = writeln!(
                out,
                "infisical_gitops_infisical_request_duration_seconds_count{{{labels}}} {}",
                histogram.count
            );
        }
        family(
            out,
            "bitwarden_lookups_total",
            "counter",
            "Bitwarden lookups (one per distinct reference and reconcile), by source and result.",
        );
        for ((source, result), n) in &inner.lookups {
            let _ = writeln!(
                out,
                "infisical_gitops_bitwarden_lookups_total{{source=\"{source}\",result=\"{result}\"}} {n}"
            );
        }
    }
}

impl RequestObserver for AdapterMetrics {
    fn request(&self, record: &RequestRecord) {
        let mut inner = self.lock();
        *inner
            .requests
            .entry((record.method, record.route, record.status))
            .or_default() += 1;
        let histogram = inner
            .request_durations
            .entry((record.method, record.route))
            .or_default();
        let seconds = record.duration.as_secs_f64();
        for (i, bound) in REQUEST_BUCKETS.iter().enumerate() {
            if seconds <= *bound {
                histogram.counts[i] += 1;
            }
        }
        histogram.sum += seconds;
        histogram.count += 1;
    }
}

impl LookupObserver for AdapterMetrics {
    fn lookup(&self, record: &LookupRecord) {
        *self
            .lock()
            .lookups
            .entry((record.source, record.result))
            .or_default() += 1;
    }
}

/// Writes the `# HELP` and `# TYPE` lines of the family `infisical_gitops_{name}`.
pub(crate) fn family(out: &mut String, name: &str, kind: &str, help: &str) {
    let _ = writeln!(out, "# HELP infisical_gitops_{name} {help}");
    let _ = writeln!(out, "# TYPE infisical_gitops_{name} {kind}");
}

/// How a reconcile ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum ReconcileOutcome {
    /// Every change done (or nothing to do) and every secret resolved.
    Success,
    /// Every change done, but some declared secrets could not be resolved and were not
    /// written (a locked vault, a missing item): Infisical does not match the repository.
    Unresolved,
    /// Infisical could not be read or written, or the plan had errors.
    Failed,
    /// The revision does not validate; nothing applied.
    Invalid,
    /// The source could not be fetched.
    SourceError,
    /// The revision's head commit is not signed by an allowed key; nothing applied.
    Untrusted,
}

impl ReconcileOutcome {
    /// The metrics label.
    pub fn as_str(self) -> &'static str {
        match self {
            ReconcileOutcome::Success => "success",
            ReconcileOutcome::Unresolved => "unresolved",
            ReconcileOutcome::Failed => "failed",
            ReconcileOutcome::Invalid => "invalid",
            ReconcileOutcome::SourceError => "source-error",
            ReconcileOutcome::Untrusted => "untrusted",
        }
    }
}

/// Changes done, by action.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
pub struct ChangeCounts {
    /// Created.
    pub create: usize,
    /// Updated.
    pub update: usize,
    /// Deleted.
    pub delete: usize,
}

impl ChangeCounts {
    /// Counts one done change.
    pub fn count(&mut self, action: Action) {
        match action {
            Action::Create => self.create += 1,
            Action::Update => self.update += 1,
            Action::Delete => self.delete += 1,
        }
    }
}

/// One reconcile, as `/status` shows it.
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct ReconcileRecord {
    /// The revision reconciled (absent when the source could not be fetched).
    pub revision: Option<String>,
    /// Why it ran.
    pub trigger: Trigger,
    /// When it started (RFC 3339, UTC).
    pub started_at: String,
    /// How long it took.
    #[serde(serialize_with = "serialize_seconds", rename = "durationSeconds")]
    pub duration: Duration,
    /// How it ended.
    pub outcome: ReconcileOutcome,
    /// Changes done.
    pub changes: ChangeCounts,
    /// Drift found in `detect` projects (reported, not applied).
    pub detected: usize,
    /// Secrets whose value could not be resolved.
    pub unresolved: usize,
    /// Changes waiting for an approval.
    pub pending_approval: usize,
    /// Errors (messages and addresses, never values).
    pub errors: Vec<String>,
}

fn serialize_seconds<S: serde::Serializer>(d: &Duration, s: S) -> Result<S::Ok, S::Error> {
    s.serialize_f64(d.as_secs_f64())
}

impl ReconcileRecord {
    /// A record for a run starting now.
    pub fn started(trigger: Trigger) -> Self {
        Self {
            revision: None,
            trigger,
            started_at: humantime::format_rfc3339_seconds(SystemTime::now()).to_string(),
            duration: Duration::ZERO,
            outcome: ReconcileOutcome::Success,
            changes: ChangeCounts::default(),
            detected: 0,
            unresolved: 0,
            pending_approval: 0,
            errors: Vec::new(),
        }
    }
}

#[derive(Debug, Default)]
struct Inner {
    history: VecDeque<ReconcileRecord>,
    applied_revision: Option<String>,
    last_revision: Option<String>,
    consecutive_failures: u32,
    source_reachable: Option<bool>,
    results: BTreeMap<(&'static str, &'static str), u64>,
    changes: BTreeMap<&'static str, u64>,
    drift_detected: usize,
    unresolved: usize,
    duration_counts: [u64; DURATION_BUCKETS.len()],
    duration_sum: f64,
    duration_count: u64,
    webhooks: BTreeMap<(&'static str, &'static str), u64>,
    fetches: BTreeMap<&'static str, u64>,
}

/// The state shared between the loop and the HTTP surface.
#[derive(Debug)]
pub struct DaemonState {
    inner: Mutex<Inner>,
    triggers: mpsc::Sender<Trigger>,
    source: String,
    retry_budget: u32,
    leader: AtomicBool,
    adapters: std::sync::Arc<AdapterMetrics>,
    notifier: std::sync::OnceLock<crate::notify::Notifier>,
    apply_statuses: std::sync::OnceLock<super::forge_status::ApplyStatuses>,
    request_plans: std::sync::OnceLock<super::requests::RequestPlans>,
}

/// `/status`.
#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct StatusView {
    /// The source (no credentials).
    pub source: String,
    /// Whether this replica reconciles.
    pub leader: bool,
    /// Whether `/readyz` answers ready.
    pub ready: bool,
    /// The last revision applied successfully.
    pub applied_revision: Option<String>,
    /// The last revision fetched.
    pub last_revision: Option<String>,
    /// Failures since the last success.
    pub consecutive_failures: u32,
    /// The last reconciles, newest first.
    pub reconciles: Vec<ReconcileRecord>,
}

impl DaemonState {
    pub(super) fn new(
        triggers: mpsc::Sender<Trigger>,
        source: String,
        retry_budget: u32,
        adapters: std::sync::Arc<AdapterMetrics>,
    ) -> Self {
        Self {
            inner: Mutex::new(Inner::default()),
            triggers,
            source,
            retry_budget,
            leader: AtomicBool::new(false),
            adapters,
            notifier: std::sync::OnceLock::new(),
            apply_statuses: std::sync::OnceLock::new(),
            request_plans: std::sync::OnceLock::new(),
        }
    }

    /// Sends the state changes of the records from now on to `notifier`; `false` when one
    /// was set already.
    pub fn set_notifier(&self, notifier: crate::notify::Notifier) -> bool {
        self.notifier.set(notifier).is_ok()
    }

    /// Sets the apply status of the records from now on on the forge; `false` when set
    /// already.
    pub fn set_apply_statuses(&self, statuses: super::forge_status::ApplyStatuses) -> bool {
        self.apply_statuses.set(statuses).is_ok()
    }

    /// Plans the merge/pull requests whose events arrive from now on; `false` when set
    /// already.
    pub fn set_request_plans(&self, plans: super::requests::RequestPlans) -> bool {
        self.request_plans.set(plans).is_ok()
    }

    /// The request plans, when configured.
    pub fn request_plans(&self) -> Option<&super::requests::RequestPlans> {
        self.request_plans.get()
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Inner> {
        self.inner
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    /// Asks for a run; while one is pending or running, further requests coalesce into it.
    pub fn trigger(&self, trigger: Trigger) {
        let _ = self.triggers.try_send(trigger);
    }

    pub(super) fn set_leader(&self, leader: bool) {
        self.leader.store(leader, Ordering::Relaxed);
    }

    /// Whether this replica reconciles.
    pub fn is_leader(&self) -> bool {
        self.leader.load(Ordering::Relaxed)
    }

    pub(super) fn source_fetched(&self, ok: bool) {
        let mut inner = self.lock();
        inner.source_reachable = Some(ok);
        *inner
            .fetches
            .entry(if ok { "success" } else { "failed" })
            .or_default() += 1;
    }

    /// Counts a webhook delivery.
    pub fn webhook_delivery(&self, provider: &'static str, result: &'static str) {
        *self.lock().webhooks.entry((provider, result)).or_default() += 1;
    }

    pub(super) fn record(&self, record: ReconcileRecord) {
        if let Some(notifier) = self.notifier.get() {
            notifier.observe(&record, &self.source);
        }
        if let Some(statuses) = self.apply_statuses.get() {
            statuses.observe(&record);
        }
        let mut inner = self.lock();
        let seconds = record.duration.as_secs_f64();
        for (i, bound) in DURATION_BUCKETS.iter().enumerate() {
            if seconds <= *bound {
                inner.duration_counts[i] += 1;
            }
        }
        inner.duration_sum += seconds;
        inner.duration_count += 1;
        *inner
            .results
            .entry((record.trigger.as_str(), record.outcome.as_str()))
            .or_default() += 1;
        for (action, n) in [
            ("create", record.changes.create),
            ("update", record.changes.update),
            ("delete", record.changes.delete),
        ] {
            *inner.changes.entry(action).or_default() += n as u64;
        }
        if record.revision.is_some() {
            inner.last_revision.clone_from(&record.revision);
        }
        match record.outcome {
            ReconcileOutcome::Success => {
                inner.consecutive_failures = 0;
                inner.drift_detected = record.detected;
                inner.applied_revision.clone_from(&record.revision);
            }
            ReconcileOutcome::Invalid | ReconcileOutcome::Untrusted => {}
            ReconcileOutcome::Unresolved
            | ReconcileOutcome::Failed
            | ReconcileOutcome::SourceError => {
                inner.consecutive_failures += 1;
            }
        }
        if matches!(
            record.outcome,
            ReconcileOutcome::Success | ReconcileOutcome::Unresolved
        ) {
            inner.unresolved = record.unresolved;
        }
        inner.history.push_front(record);
        inner.history.truncate(HISTORY);
    }

    /// Ready: followers always; the leader once the source was reached and the last reconcile
    /// succeeded or failures are within the retry budget.
    pub fn is_ready(&self) -> bool {
        if !self.is_leader() {
            return true;
        }
        let inner = self.lock();
        inner.source_reachable == Some(true)
            && !inner.history.is_empty()
            && inner.consecutive_failures <= self.retry_budget
    }

    /// The `/status` document.
    pub fn status(&self) -> StatusView {
        let ready = self.is_ready();
        let inner = self.lock();
        StatusView {
            source: self.source.clone(),
            leader: self.is_leader(),
            ready,
            applied_revision: inner.applied_revision.clone(),
            last_revision: inner.last_revision.clone(),
            consecutive_failures: inner.consecutive_failures,
            reconciles: inner.history.iter().cloned().collect(),
        }
    }

    /// The last record, if any.
    pub fn last(&self) -> Option<ReconcileRecord> {
        self.lock().history.front().cloned()
    }

    /// Prometheus text format (version 0.0.4).
    pub fn metrics(&self) -> String {
        let inner = self.lock();
        let mut out = String::new();
        inner.render_duration(&mut out);
        inner.render_results(&mut out);
        inner.render_gauges(&mut out);
        inner.render_source(&mut out);
        gauge(
            &mut out,
            "leader",
            "1 while this replica holds the lease (or runs without leader election).",
            u8::from(self.is_leader()),
        );
        drop(inner);
        self.adapters.render(&mut out);
        crate::notify::NotifyMetrics::render(
            self.notifier.get().map(crate::notify::Notifier::metrics),
            &mut out,
        );
        if let Some(statuses) = self.apply_statuses.get() {
            statuses.calls().render(&mut out);
        } else if let Some(plans) = self.request_plans.get() {
            plans.calls().render(&mut out);
        }
        if let Some(plans) = self.request_plans.get() {
            plans.render(&mut out);
        }
        out
    }
}

/// Writes a family of one unlabelled gauge.
fn gauge(out: &mut String, name: &str, help: &str, value: impl std::fmt::Display) {
    family(out, name, "gauge", help);
    let _ = writeln!(out, "infisical_gitops_{name} {value}");
}

impl Inner {
    /// `reconcile_duration_seconds`.
    fn render_duration(&self, out: &mut String) {
        family(
            out,
            "reconcile_duration_seconds",
            "histogram",
            "Time of one reconcile (fetch, load, plan, apply).",
        );
        for (i, bound) in DURATION_BUCKETS.iter().enumerate() {
            let _ = writeln!(
                out,
                "infisical_gitops_reconcile_duration_seconds_bucket{{le=\"{bound}\"}} {}",
                self.duration_counts[i]
            );
        }
        let _ = writeln!(
            out,
            "infisical_gitops_reconcile_duration_seconds_bucket{{le=\"+Inf\"}} {}",
            self.duration_count
        );
        let _ = writeln!(
            out,
            "infisical_gitops_reconcile_duration_seconds_sum {}",
            self.duration_sum
        );
        let _ = writeln!(
            out,
            "infisical_gitops_reconcile_duration_seconds_count {}",
            self.duration_count
        );
    }

    /// `reconciles_total` and `changes_total`.
    fn render_results(&self, out: &mut String) {
        family(
            out,
            "reconciles_total",
            "counter",
            "Reconciles by trigger and outcome.",
        );
        for ((trigger, outcome), n) in &self.results {
            let _ = writeln!(
                out,
                "infisical_gitops_reconciles_total{{trigger=\"{trigger}\",outcome=\"{outcome}\"}} {n}"
            );
        }
        family(
            out,
            "changes_total",
            "counter",
            "Changes applied to Infisical, by action.",
        );
        for action in ["create", "update", "delete"] {
            let n = self.changes.get(action).copied().unwrap_or(0);
            let _ = writeln!(
                out,
                "infisical_gitops_changes_total{{action=\"{action}\"}} {n}"
            );
        }
    }

    /// `drift_detected`, `unresolved_secrets`, `consecutive_failures` and
    /// `applied_revision_info`.
    fn render_gauges(&self, out: &mut String) {
        gauge(
            out,
            "drift_detected",
            "Changes found in detect-mode projects by the last successful reconcile (not applied).",
            self.drift_detected,
        );
        gauge(
            out,
            "unresolved_secrets",
            "Declared secrets not resolved, not written, by the last reconcile that applied its plan.",
            self.unresolved,
        );
        gauge(
            out,
            "consecutive_failures",
            "Failed reconciles since the last success.",
            self.consecutive_failures,
        );
        family(
            out,
            "applied_revision_info",
            "gauge",
            "The revision last applied successfully.",
        );
        if let Some(revision) = &self.applied_revision {
            let _ = writeln!(
                out,
                "infisical_gitops_applied_revision_info{{revision=\"{}\"}} 1",
                escape_label(revision)
            );
        }
    }

    /// `source_fetches_total` and `webhook_deliveries_total`.
    fn render_source(&self, out: &mut String) {
        family(
            out,
            "source_fetches_total",
            "counter",
            "Fetches of the source, by result.",
        );
        for (result, n) in &self.fetches {
            let _ = writeln!(
                out,
                "infisical_gitops_source_fetches_total{{result=\"{result}\"}} {n}"
            );
        }
        family(
            out,
            "webhook_deliveries_total",
            "counter",
            "Webhook deliveries, by provider and result.",
        );
        for ((provider, result), n) in &self.webhooks {
            let _ = writeln!(
                out,
                "infisical_gitops_webhook_deliveries_total{{provider=\"{provider}\",result=\"{result}\"}} {n}"
            );
        }
    }
}

fn escape_label(value: &str) -> String {
    value
        .replace('\\', "\\\\")
        .replace('"', "\\\"")
        .replace('\n', "\\n")
}
