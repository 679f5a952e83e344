//! Request plans: the daemon plans the merge requests (GitLab) and pull requests (GitHub) that
//! target the tracked branch, on their webhook events, and writes the one plan comment and the
//! `infisical-gitops/plan` status (see [`crate::propose::request_plan`]).
//!
//! ```text
//! POST /hooks/gitlab (Merge Request Hook) ─┐
//! POST /hooks/github (pull_request)       ─┴─► event (hostile JSON, checked) ──► RequestPlans::submit
//!     queue (QUEUE events, oldest dropped) ──► at most `max_concurrent` plans, one per request
//!         ├─ fork and not allowed ──► "not planned" comment + failed status
//!         ├─ pending status on the head
//!         ├─ fetch the tracked branch (baseline) and the request's head ref into a slot clone
//!         │     head ≠ the event's commit ──► stale, nothing written (a newer event follows)
//!         ├─ validate ──► diagnostics comment + failed status
//!         └─ plan both against live Infisical (read only) ──► comment + success/failed status
//! ```
//!
//! - Never applies and never writes to Infisical: only [`Reconciler::plan`] is called.
//! - A newer push to a request supersedes its older plan: a queued one is dropped, a running
//!   one stops at its next step and writes nothing more. Closing or merging cancels the same way.
//! - Forge failures (401, 404, 5xx) are logged and counted; the reconcile loop never waits on
//!   a request plan.
//! - Counted in `infisical_gitops_request_plans_total{result}`.

use std::collections::{BTreeMap, VecDeque};
use std::fmt::Write as _;
use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};

use super::forge_status::{ForgeCalls, error_result};
use super::status::family;
use crate::model::DesiredState;
use crate::propose::ForgeKind;
use crate::propose::request_plan::{self, RequestReview, Verdict};
use crate::propose::review::{CommentWrite, CommitId, Review};
use crate::reconcile::Reconciler;
use crate::source::Limits;
use crate::source::git::{GitConfig, GitReference, GitSource};

/// Events waiting for a plan slot; past it the oldest is dropped (logged and counted).
pub const QUEUE: usize = 32;
/// Most plans at once that `--max-concurrent-plans` may ask for.
pub const MAX_CONCURRENT_PLANS: usize = 16;
/// Waits before fetching a request's head again when it is not the event's commit yet.
pub const STALE_RETRIES: [std::time::Duration; 2] = [
    std::time::Duration::from_millis(500),
    std::time::Duration::from_millis(1500),
];
/// Longest branch name, action or project path read from an event.
pub const MAX_FIELD_CHARS: usize = 255;

/// What an event asks for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RequestAction {
    /// Opened, reopened or pushed to: plan the head commit.
    Plan,
    /// Closed or merged: cancel any plan in flight.
    Close,
}

/// A checked merge/pull request event.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RequestEvent {
    /// The forge it came from.
    pub forge: ForgeKind,
    /// The merge request `iid` or pull request number (positive).
    pub number: u64,
    /// Plan or close.
    pub action: RequestAction,
    /// The head commit the event names (for a close without one: all zeros).
    pub head: CommitId,
    /// The branch the request would merge into.
    pub target_branch: String,
    /// The source branch lives in another project or repository.
    pub fork: bool,
}

impl RequestEvent {
    /// `merge request !7` or `pull request #7`.
    pub fn name(&self) -> String {
        match self.forge {
            ForgeKind::GitLab => format!("merge request !{}", self.number),
            ForgeKind::GitHub => format!("pull request #{}", self.number),
        }
    }

    fn noun(&self) -> &'static str {
        match self.forge {
            ForgeKind::GitLab => "merge request",
            ForgeKind::GitHub => "pull request",
        }
    }

    /// The reference that holds the request's head on the target repository.
    pub fn head_ref(&self) -> String {
        match self.forge {
            ForgeKind::GitLab => format!("refs/merge-requests/{}/head", self.number),
            ForgeKind::GitHub => format!("refs/pull/{}/head", self.number),
        }
    }
}

/// Why an event's body was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum EventError {
    /// Not a JSON object.
    #[error("the event is not a JSON object")]
    NotJson,
    /// A field is missing, of the wrong type, too long or out of range.
    #[error("the event's `{0}` is missing or invalid")]
    Field(&'static str),
}

fn text<'a>(value: &'a serde_json::Value, name: &'static str) -> Result<&'a str, EventError> {
    value
        .as_str()
        .filter(|t| !t.is_empty() && t.chars().count() <= MAX_FIELD_CHARS)
        .ok_or(EventError::Field(name))
}

fn positive(value: &serde_json::Value, name: &'static str) -> Result<u64, EventError> {
    value
        .as_u64()
        .filter(|n| *n > 0)
        .ok_or(EventError::Field(name))
}

fn commit(value: &serde_json::Value, name: &'static str) -> Result<CommitId, EventError> {
    let hex = value
        .as_str()
        .filter(|t| matches!(t.len(), 40 | 64))
        .ok_or(EventError::Field(name))?;
    CommitId::parse(hex).map_err(|_| EventError::Field(name))
}

/// The head commit: required to plan; a close without a usable one names the null commit
/// (it only cancels).
fn head_of(
    action: RequestAction,
    value: &serde_json::Value,
    name: &'static str,
) -> Result<CommitId, EventError> {
    match (action, commit(value, name)) {
        (_, Ok(head)) => Ok(head),
        (RequestAction::Close, Err(_)) => {
            CommitId::parse(&"0".repeat(40)).map_err(|_| EventError::Field(name))
        }
        (RequestAction::Plan, Err(error)) => Err(error),
    }
}

fn object(body: &[u8]) -> Result<serde_json::Value, EventError> {
    match serde_json::from_slice::<serde_json::Value>(body) {
        Ok(value @ serde_json::Value::Object(_)) => Ok(value),
        _ => Err(EventError::NotJson),
    }
}

/// A GitLab `Merge Request Hook` body: `Ok(None)` for actions that neither plan nor close
/// (approvals, an `update` without new commits: no `oldrev`).
///
/// # Errors
/// [`EventError`] for a body that is not a merge request event with the fields used.
pub fn gitlab_event(body: &[u8]) -> Result<Option<RequestEvent>, EventError> {
    let json = object(body)?;
    let attributes = &json["object_attributes"];
    let action = match text(&attributes["action"], "object_attributes.action")? {
        "open" | "reopen" => RequestAction::Plan,
        "update" if attributes["oldrev"].is_string() => RequestAction::Plan,
        "close" | "merge" => RequestAction::Close,
        _ => return Ok(None),
    };
    let source_project = positive(
        &attributes["source_project_id"],
        "object_attributes.source_project_id",
    )?;
    let target_project = positive(
        &attributes["target_project_id"],
        "object_attributes.target_project_id",
    )?;
    Ok(Some(RequestEvent {
        forge: ForgeKind::GitLab,
        number: positive(&attributes["iid"], "object_attributes.iid")?,
        action,
        head: head_of(
            action,
            &attributes["last_commit"]["id"],
            "object_attributes.last_commit.id",
        )?,
        target_branch: text(
            &attributes["target_branch"],
            "object_attributes.target_branch",
        )?
        .to_string(),
        fork: source_project != target_project,
    }))
}

/// A GitHub `pull_request` body: `Ok(None)` for actions that neither plan nor close (edited,
/// labeled, review requests…).
///
/// # Errors
/// [`EventError`] for a body that is not a pull request event with the fields used.
pub fn github_event(body: &[u8]) -> Result<Option<RequestEvent>, EventError> {
    let json = object(body)?;
    let action = match text(&json["action"], "action")? {
        "opened" | "reopened" | "synchronize" => RequestAction::Plan,
        "closed" => RequestAction::Close,
        _ => return Ok(None),
    };
    let request = &json["pull_request"];
    let base_repo = text(
        &request["base"]["repo"]["full_name"],
        "pull_request.base.repo.full_name",
    )?;
    // A deleted fork has no head repository: a fork all the same.
    let head_repo = request["head"]["repo"]["full_name"].as_str();
    Ok(Some(RequestEvent {
        forge: ForgeKind::GitHub,
        number: positive(&request["number"], "pull_request.number")?,
        action,
        head: head_of(action, &request["head"]["sha"], "pull_request.head.sha")?,
        target_branch: text(&request["base"]["ref"], "pull_request.base.ref")?.to_string(),
        fork: head_repo.is_none_or(|head| !head.eq_ignore_ascii_case(base_repo)),
    }))
}

/// Request plans' settings.
#[derive(Debug, Clone)]
pub struct RequestPlansConfig {
    /// The forge whose events are planned.
    pub forge: ForgeKind,
    /// The tracked branch's Git settings; `work_dir` is the parent of the plan slots' clones.
    pub git: GitConfig,
    /// The tracked branch: only requests that target it are planned.
    pub tracked_branch: String,
    /// Plan requests whose source is a fork too.
    pub allow_forks: bool,
    /// Plans at once (1 to [`MAX_CONCURRENT_PLANS`]).
    pub max_concurrent: usize,
}

/// A plan waiting or running.
#[derive(Debug)]
struct Job {
    event: RequestEvent,
    cancelled: Arc<AtomicBool>,
}

#[derive(Debug, Default)]
struct Inner {
    queue: VecDeque<Job>,
    /// Request number → the cancel flag of its running plan.
    running: BTreeMap<u64, Arc<AtomicBool>>,
    free_slots: Vec<usize>,
    results: BTreeMap<&'static str, u64>,
}

struct Shared {
    config: RequestPlansConfig,
    reconciler: Reconciler,
    review: Arc<dyn Review>,
    calls: Arc<ForgeCalls>,
    inner: Mutex<Inner>,
    runtime: tokio::runtime::Handle,
}

/// Plans merge/pull requests in the background; cheap to clone.
#[derive(Clone)]
pub struct RequestPlans(Arc<Shared>);

impl std::fmt::Debug for RequestPlans {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RequestPlans")
            .field("forge", &self.0.config.forge)
            .field("tracked_branch", &self.0.config.tracked_branch)
            .finish_non_exhaustive()
    }
}

/// How a plan ended, as counted.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Ended {
    /// The comment and a `success` status were written.
    Success,
    /// The comment and a `failed` status were written (invalid, errors, unresolved, Infisical
    /// unreachable, the head not fetched).
    Failed,
    /// A fork, refused.
    RefusedFork,
    /// The head moved on: nothing written.
    Stale,
    /// A newer push or a close stopped it.
    Superseded,
    /// The forge refused or failed a call.
    ForgeError,
}

impl Ended {
    fn label(self) -> &'static str {
        match self {
            Ended::Success => "success",
            Ended::Failed => "failed",
            Ended::RefusedFork => "refused-fork",
            Ended::Stale => "stale",
            Ended::Superseded => "superseded",
            Ended::ForgeError => "forge-error",
        }
    }
}

impl RequestPlans {
    /// Starts accepting events on the current runtime.
    pub fn start(
        config: RequestPlansConfig,
        reconciler: Reconciler,
        review: Arc<dyn Review>,
        calls: Arc<ForgeCalls>,
    ) -> Self {
        let slots = config.max_concurrent.clamp(1, MAX_CONCURRENT_PLANS);
        let inner = Inner {
            free_slots: (0..slots).rev().collect(),
            ..Inner::default()
        };
        Self(Arc::new(Shared {
            config,
            reconciler,
            review,
            calls,
            inner: Mutex::new(inner),
            runtime: tokio::runtime::Handle::current(),
        }))
    }

    /// The forge whose events are planned.
    pub fn forge(&self) -> ForgeKind {
        self.0.config.forge
    }

    /// The forge call counters.
    pub fn calls(&self) -> &ForgeCalls {
        &self.0.calls
    }

    /// The count of plans that ended with `result`.
    pub fn count(&self, result: &str) -> u64 {
        self.0
            .lock()
            .results
            .iter()
            .filter(|(r, _)| **r == result)
            .map(|(_, n)| *n)
            .sum()
    }

    /// Plans waiting and running.
    pub fn in_flight(&self) -> (usize, usize) {
        let inner = self.0.lock();
        (inner.queue.len(), inner.running.len())
    }

    /// Takes an event: a plan is queued (superseding the request's older one), a close cancels.
    /// `false` when the event is ignored (another forge, another target branch). Never waits.
    pub fn submit(&self, event: RequestEvent) -> bool {
        if event.forge != self.0.config.forge {
            tracing::warn!(
                request = %event.name(),
                "request event ignored: the daemon plans requests of the configured --forge only"
            );
            return false;
        }
        let mut inner = self.0.lock();
        let before = inner.queue.len();
        inner.queue.retain(|job| job.event.number != event.number);
        let superseded = (before - inner.queue.len()) as u64;
        let label = match event.action {
            RequestAction::Plan => "superseded",
            RequestAction::Close => "cancelled",
        };
        if superseded > 0 {
            *inner.results.entry(label).or_default() += superseded;
        }
        if let Some(running) = inner.running.get(&event.number) {
            running.store(true, Ordering::SeqCst);
        }
        if event.action == RequestAction::Close {
            tracing::info!(request = %event.name(), "request closed: its plan, if any, is cancelled");
            return true;
        }
        if event.target_branch != self.0.config.tracked_branch {
            tracing::info!(
                request = %event.name(),
                target = %crate::escape::visible(&event.target_branch),
                "request not planned: it targets another branch than the tracked one"
            );
            *inner.results.entry("other-branch").or_default() += 1;
            return false;
        }
        inner.queue.push_back(Job {
            event,
            cancelled: Arc::new(AtomicBool::new(false)),
        });
        while inner.queue.len() > QUEUE {
            if let Some(dropped) = inner.queue.pop_front() {
                tracing::warn!(
                    request = %dropped.event.name(),
                    commit = %dropped.event.head,
                    "request plan dropped: {QUEUE} plans are waiting already"
                );
                *inner.results.entry("dropped").or_default() += 1;
            }
        }
        self.pump(&mut inner);
        true
    }

    /// Starts queued plans while slots are free, one per request at a time.
    fn pump(&self, inner: &mut Inner) {
        while !inner.free_slots.is_empty() {
            let Some(index) = inner
                .queue
                .iter()
                .position(|job| !inner.running.contains_key(&job.event.number))
            else {
                return;
            };
            let Some(job) = inner.queue.remove(index) else {
                return;
            };
            let Some(slot) = inner.free_slots.pop() else {
                return;
            };
            inner
                .running
                .insert(job.event.number, job.cancelled.clone());
            let this = self.clone();
            self.0.runtime.spawn(async move {
                let number = job.event.number;
                let cancelled = job.cancelled.clone();
                let ended = this.run(job, slot).await;
                let ended = if ended != Ended::Stale && cancelled.load(Ordering::SeqCst) {
                    Ended::Superseded
                } else {
                    ended
                };
                let mut inner = this.0.lock();
                *inner.results.entry(ended.label()).or_default() += 1;
                inner.running.remove(&number);
                inner.free_slots.push(slot);
                this.pump(&mut inner);
            });
        }
    }

    async fn run(&self, job: Job, slot: usize) -> Ended {
        let shared = &self.0;
        let event = &job.event;
        let target = RequestReview {
            review: shared.review.clone(),
            number: event.number,
            head: Some(event.head.clone()),
            status_url: None,
        };
        let cancelled = || job.cancelled.load(Ordering::SeqCst);
        if event.fork && !shared.config.allow_forks {
            tracing::warn!(
                request = %event.name(),
                commit = %event.head,
                "request not planned: it comes from a fork (start with --allow-fork-plans to plan forks)"
            );
            let verdict = Verdict::refused(
                &format!(
                    "this {} comes from a fork. The daemon plans only requests whose source \
                     branch is in this repository (an operator may allow forks with \
                     `--allow-fork-plans`); run `infisical-gitops plan` yourself to see the \
                     plan.",
                    event.noun()
                ),
                "not planned: the request comes from a fork",
            );
            return match self.publish(&target, &verdict).await {
                Ok(_) => Ended::RefusedFork,
                Err(ended) => ended,
            };
        }
        if let Err(error) = target.pending().await {
            return self.forge_failed("status", event, &error);
        }
        shared.calls.count("status", "success");
        let fetched = self.fetch(event, slot, &job.cancelled).await;
        if cancelled() {
            return self.superseded(&target, event).await;
        }
        let verdict = match fetched {
            Fetched::Stale(found) => {
                tracing::info!(
                    request = %event.name(),
                    event_commit = %event.head,
                    head = %crate::escape::visible(&found),
                    "request plan skipped: the request's head moved on since the event"
                );
                // Not left pending: a newer push's event plans the new head.
                if let Err(error) = target
                    .status(
                        crate::propose::review::StatusState::Failed,
                        "not planned: the request's head moved on; its newer commit is planned",
                    )
                    .await
                {
                    return self.forge_failed("status", event, &error);
                }
                return Ended::Stale;
            }
            Fetched::Failed(message) => {
                tracing::warn!(request = %event.name(), error = %message, "cannot fetch the request's head");
                Verdict::refused(
                    &format!(
                        "the head commit could not be fetched from the repository: {}",
                        crate::escape::markdown::text(&message)
                    ),
                    "cannot fetch the head commit",
                )
            }
            Fetched::Invalid(diagnostics) => Verdict::invalid(&diagnostics),
            Fetched::Valid { desired, baseline } => {
                let planned =
                    request_plan::plan(&shared.reconciler, desired, baseline, event.noun()).await;
                // Nothing resolved for a request stays cached for the next reconcile.
                shared.reconciler.forget_cached_values().await;
                match planned {
                    Ok((_, verdict)) => verdict,
                    Err(error) => {
                        let message = crate::errors::cause_chain(&error);
                        tracing::warn!(request = %event.name(), error = %message, "cannot plan the request against Infisical");
                        Verdict::unplannable(&message)
                    }
                }
            }
        };
        if cancelled() {
            return self.superseded(&target, event).await;
        }
        let mut verdict = verdict;
        let _ = write!(
            verdict.markdown,
            "\n<sub>Commit {} of this {}, checked against live Infisical (read only); \
             nothing is applied before the merge.</sub>\n",
            crate::escape::markdown::code(event.head.as_str()),
            event.noun()
        );
        match self.publish(&target, &verdict).await {
            Ok(write) => {
                tracing::info!(
                    request = %event.name(),
                    commit = %event.head,
                    comment = match write { CommentWrite::Created => "posted", CommentWrite::Updated => "updated" },
                    status = verdict.state.as_str(),
                    "request planned"
                );
                match verdict.state {
                    crate::propose::review::StatusState::Success => Ended::Success,
                    _ => Ended::Failed,
                }
            }
            Err(ended) => ended,
        }
    }

    /// A plan stopped after its `pending` status: the commit is not left pending (a newer push
    /// plans its own head; a closed request needs no plan).
    async fn superseded(&self, target: &RequestReview, event: &RequestEvent) -> Ended {
        match target
            .status(
                crate::propose::review::StatusState::Failed,
                "not planned: superseded by a newer push, or the request was closed",
            )
            .await
        {
            Ok(()) => {
                self.0.calls.count("status", "success");
                Ended::Superseded
            }
            Err(error) => self.forge_failed("status", event, &error),
        }
    }

    async fn publish(
        &self,
        target: &RequestReview,
        verdict: &Verdict,
    ) -> Result<CommentWrite, Ended> {
        let written = target
            .review
            .upsert_plan_comment(target.number, &verdict.markdown)
            .await
            .map_err(|error| self.forge_failed_number("comment", target.number, &error))?;
        self.0.calls.count("comment", "success");
        target
            .status(verdict.state, &verdict.description)
            .await
            .map_err(|error| self.forge_failed_number("status", target.number, &error))?;
        self.0.calls.count("status", "success");
        Ok(written.write)
    }

    fn forge_failed(
        &self,
        call: &'static str,
        event: &RequestEvent,
        error: &crate::propose::forge::ForgeError,
    ) -> Ended {
        self.forge_failed_number(call, event.number, error)
    }

    fn forge_failed_number(
        &self,
        call: &'static str,
        number: u64,
        error: &crate::propose::forge::ForgeError,
    ) -> Ended {
        self.0.calls.count(call, error_result(error));
        tracing::warn!(
            request = number,
            call,
            error = %crate::errors::cause_chain(error),
            "cannot write the request's plan on the forge; the reconcile loop goes on"
        );
        Ended::ForgeError
    }

    /// Fetches the tracked branch (the baseline) and the request's head into slot `slot`.
    async fn fetch(
        &self,
        event: &RequestEvent,
        slot: usize,
        cancelled: &Arc<AtomicBool>,
    ) -> Fetched {
        let config = &self.0.config;
        let mut git = config.git.clone();
        git.work_dir = slot_dir(&config.git.work_dir, slot);
        git.reference = GitReference::Branch(config.tracked_branch.clone());
        let head_ref = event.head_ref();
        let expected = event.head.clone();
        let cancelled = cancelled.clone();
        let joined = tokio::task::spawn_blocking(move || {
            let baseline = GitSource::new(git.clone())
                .fetch()
                .ok()
                .and_then(|checkout| load(&checkout.path).ok());
            git.reference = GitReference::Ref(head_ref);
            let source = GitSource::new(git);
            // The forge may update the request's ref a moment after sending the event: a head
            // that is not the event's commit yet is fetched again, twice at most.
            let mut attempt = 0;
            let checkout = loop {
                let checkout = match source.fetch() {
                    Ok(checkout) => checkout,
                    Err(error) => return Fetched::Failed(crate::errors::cause_chain(&error)),
                };
                if checkout.revision.eq_ignore_ascii_case(expected.as_str()) {
                    break checkout;
                }
                if attempt == STALE_RETRIES.len() || cancelled.load(Ordering::SeqCst) {
                    return Fetched::Stale(checkout.revision);
                }
                std::thread::sleep(STALE_RETRIES[attempt]);
                attempt += 1;
            };
            match load(&checkout.path) {
                Ok(desired) => Fetched::Valid { desired, baseline },
                Err(diagnostics) => Fetched::Invalid(diagnostics),
            }
        })
        .await;
        joined.unwrap_or_else(|join| Fetched::Failed(format!("the fetch task failed: {join}")))
    }
}

fn load(path: &std::path::Path) -> Result<DesiredState, Vec<crate::model::Diagnostic>> {
    let files = crate::source::read_dir_with(path, &Limits::DEFAULT);
    files
        .desired_state()
        .map(|(desired, _warnings)| desired)
        .map_err(|diagnostics| diagnostics.0)
}

/// The clone of plan slot `slot`.
pub fn slot_dir(parent: &std::path::Path, slot: usize) -> PathBuf {
    parent.join(format!("slot-{slot}"))
}

enum Fetched {
    Valid {
        desired: DesiredState,
        baseline: Option<DesiredState>,
    },
    Invalid(Vec<crate::model::Diagnostic>),
    Stale(String),
    Failed(String),
}

impl Shared {
    fn lock(&self) -> std::sync::MutexGuard<'_, Inner> {
        self.inner
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }
}

impl RequestPlans {
    /// Appends `infisical_gitops_request_plans_total` and the queue gauges.
    pub fn render(&self, out: &mut String) {
        family(
            out,
            "request_plans_total",
            "counter",
            "Merge/pull request plans, by result (success, failed, refused-fork, stale, \
             superseded, cancelled, dropped, other-branch, forge-error).",
        );
        let inner = self.0.lock();
        for (result, n) in &inner.results {
            let _ = writeln!(
                out,
                "infisical_gitops_request_plans_total{{result=\"{result}\"}} {n}"
            );
        }
        family(
            out,
            "request_plans_queued",
            "gauge",
            "Request plans waiting for a slot.",
        );
        let _ = writeln!(
            out,
            "infisical_gitops_request_plans_queued {}",
            inner.queue.len()
        );
        family(
            out,
            "request_plans_running",
            "gauge",
            "Request plans running.",
        );
        let _ = writeln!(
            out,
            "infisical_gitops_request_plans_running {}",
            inner.running.len()
        );
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const SHA: &str = "0123456789abcdef0123456789abcdef01234567";

    fn gitlab(action: &str, oldrev: bool, source: u64) -> Vec<u8> {
        let mut attributes = serde_json::json!({
            "iid": 7, "action": action, "target_branch": "main",
            "source_project_id": source, "target_project_id": 1,
            "last_commit": {"id": SHA},
        });
        if oldrev {
            attributes["oldrev"] = SHA.into();
        }
        serde_json::to_vec(&serde_json::json!({
            "object_kind": "merge_request", "object_attributes": attributes
        }))
        .unwrap_or_default()
    }

    #[test]
    fn gitlab_actions_plan_close_or_are_ignored() {
        let event = gitlab_event(&gitlab("open", false, 1)).unwrap().unwrap();
        assert_eq!(event.number, 7);
        assert_eq!(event.action, RequestAction::Plan);
        assert!(!event.fork);
        assert_eq!(event.head_ref(), "refs/merge-requests/7/head");
        assert!(gitlab_event(&gitlab("update", false, 1)).unwrap().is_none());
        assert!(gitlab_event(&gitlab("update", true, 1)).unwrap().is_some());
        assert!(
            gitlab_event(&gitlab("approved", true, 1))
                .unwrap()
                .is_none()
        );
        let close = gitlab_event(&gitlab("merge", false, 1)).unwrap().unwrap();
        assert_eq!(close.action, RequestAction::Close);
        // A close needs no commit; a plan does.
        let no_commit = |action: &str| {
            let mut json: serde_json::Value =
                serde_json::from_slice(&gitlab(action, false, 1)).unwrap();
            json["object_attributes"]["last_commit"] = serde_json::Value::Null;
            gitlab_event(&serde_json::to_vec(&json).unwrap())
        };
        assert_eq!(
            no_commit("close").unwrap().unwrap().action,
            RequestAction::Close
        );
        assert!(matches!(no_commit("open"), Err(EventError::Field(_))));
        assert!(
            gitlab_event(&gitlab("reopen", false, 2))
                .unwrap()
                .unwrap()
                .fork
        );
    }

    #[test]
    fn hostile_events_are_refused() {
        for body in [
            b"[]".to_vec(),
            b"{".to_vec(),
            b"null".to_vec(),
            gitlab("open", false, 1)[..10].to_vec(),
        ] {
            assert_eq!(gitlab_event(&body), Err(EventError::NotJson));
        }
        let bad_sha = String::from_utf8(gitlab("open", false, 1))
            .unwrap_or_default()
            .replace(SHA, "../../etc/passwd");
        assert!(matches!(
            gitlab_event(bad_sha.as_bytes()),
            Err(EventError::Field(_))
        ));
        let zero = String::from_utf8(gitlab("open", false, 1))
            .unwrap_or_default()
            .replace("\"iid\":7", "\"iid\":0");
        assert!(matches!(
            gitlab_event(zero.as_bytes()),
            Err(EventError::Field(_))
        ));
        let long_branch = serde_json::to_vec(&serde_json::json!({
            "action": "opened",
            "pull_request": {"number": 3, "head": {"sha": SHA, "repo": {"full_name": "a/b"}},
                "base": {"ref": "m".repeat(300), "repo": {"full_name": "a/b"}}}
        }))
        .unwrap_or_default();
        assert!(matches!(
            github_event(&long_branch),
            Err(EventError::Field(_))
        ));
    }

    #[test]
    fn github_forks_and_actions() {
        let body = |action: &str, head_repo: serde_json::Value| {
            serde_json::to_vec(&serde_json::json!({
                "action": action,
                "pull_request": {"number": 3, "head": {"sha": SHA, "repo": head_repo},
                    "base": {"ref": "main", "repo": {"full_name": "acme/secrets"}}}
            }))
            .unwrap_or_default()
        };
        let same = serde_json::json!({"full_name": "acme/secrets"});
        let event = github_event(&body("synchronize", same.clone()))
            .unwrap()
            .unwrap();
        assert!(!event.fork);
        assert_eq!(event.head_ref(), "refs/pull/3/head");
        let fork = serde_json::json!({"full_name": "mallory/secrets"});
        assert!(github_event(&body("opened", fork)).unwrap().unwrap().fork);
        let deleted = serde_json::Value::Null;
        assert!(
            github_event(&body("reopened", deleted))
                .unwrap()
                .unwrap()
                .fork
        );
        assert!(
            github_event(&body("labeled", same.clone()))
                .unwrap()
                .is_none()
        );
        assert_eq!(
            github_event(&body("closed", same)).unwrap().unwrap().action,
            RequestAction::Close
        );
    }
}
