//! Which reconciles are worth a message: the state changes of three conditions, never the
//! ticks. Pure: no IO, no clock.
//!
//! | condition | states | fed by |
//! |---|---|---|
//! | apply | healthy, unresolved, failed, source-error | every record but invalid and untrusted ones |
//! | head | accepted, refused (invalid or untrusted, with the revision) | every record with a revision |
//! | drift | none, some (detect-mode changes found) | records that planned: success and unresolved |
//!
//! The first state of each is the good one, so a daemon whose first reconcile succeeds says
//! nothing. A refused head stays refused while drift checks re-apply the last good revision
//! (a `drift`-triggered record of that revision); any other record with a revision replaces
//! it, and when that record also succeeds it is announced as a recovery.

use serde::Serialize;

use crate::daemon::{ReconcileOutcome, ReconcileRecord, Trigger};

/// A state change worth one message.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Event {
    /// Infisical could not be read or written, or the plan had errors.
    ReconcileFailed,
    /// The source could not be fetched.
    SourceUnreachable,
    /// Declared secrets could not be resolved and were not written.
    ValuesUnresolved,
    /// Back to a successful reconcile after one of the others.
    Recovered,
    /// A revision does not validate; nothing of it was applied.
    RevisionInvalid,
    /// A revision's head commit is not signed by an allowed key; nothing of it was applied.
    RevisionUntrusted,
    /// Changes found in `mode: detect` projects (reported, not applied).
    DriftDetected,
    /// No more changes in `mode: detect` projects.
    DriftResolved,
}

impl Event {
    /// The name used in messages and logs.
    pub fn as_str(self) -> &'static str {
        match self {
            Event::ReconcileFailed => "reconcile-failed",
            Event::SourceUnreachable => "source-unreachable",
            Event::ValuesUnresolved => "values-unresolved",
            Event::Recovered => "recovered",
            Event::RevisionInvalid => "revision-invalid",
            Event::RevisionUntrusted => "revision-untrusted",
            Event::DriftDetected => "drift-detected",
            Event::DriftResolved => "drift-resolved",
        }
    }

    /// How bad it is.
    pub fn severity(self) -> EventSeverity {
        match self {
            Event::ReconcileFailed
            | Event::SourceUnreachable
            | Event::RevisionInvalid
            | Event::RevisionUntrusted => EventSeverity::Error,
            Event::ValuesUnresolved | Event::DriftDetected => EventSeverity::Warning,
            Event::Recovered | Event::DriftResolved => EventSeverity::Resolved,
        }
    }
}

/// How bad an event is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum EventSeverity {
    /// Something is broken.
    Error,
    /// Something needs a look.
    Warning,
    /// Something broken works again.
    Resolved,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
enum Apply {
    #[default]
    Healthy,
    Unresolved,
    Failed,
    SourceError,
}

#[derive(Debug, Clone, PartialEq, Eq)]
struct Refused {
    revision: Option<String>,
    outcome: ReconcileOutcome,
}

/// The conditions, fed one record at a time.
#[derive(Debug, Clone, Default)]
pub struct Detector {
    apply: Apply,
    head: Option<Refused>,
    drift: bool,
    last_good: Option<String>,
}

impl Detector {
    /// The events `record` brings (none when nothing changed).
    pub fn observe(&mut self, record: &ReconcileRecord) -> Vec<Event> {
        let mut events = Vec::new();
        let apply = match record.outcome {
            ReconcileOutcome::Invalid | ReconcileOutcome::Untrusted => {
                let refused = Refused {
                    revision: record.revision.clone(),
                    outcome: record.outcome,
                };
                if self.head.as_ref() != Some(&refused) {
                    events.push(if record.outcome == ReconcileOutcome::Invalid {
                        Event::RevisionInvalid
                    } else {
                        Event::RevisionUntrusted
                    });
                    self.head = Some(refused);
                }
                return events;
            }
            ReconcileOutcome::Success => Apply::Healthy,
            ReconcileOutcome::Unresolved => Apply::Unresolved,
            ReconcileOutcome::Failed => Apply::Failed,
            ReconcileOutcome::SourceError => Apply::SourceError,
        };
        let mut head_replaced = false;
        if self.head.is_some()
            && let Some(revision) = &record.revision
        {
            let reapplied = record.trigger == Trigger::Drift
                && self.last_good.as_deref() == Some(revision.as_str());
            if !reapplied {
                self.head = None;
                head_replaced = true;
            }
        }
        if apply != self.apply {
            events.push(match apply {
                Apply::Healthy => Event::Recovered,
                Apply::Unresolved => Event::ValuesUnresolved,
                Apply::Failed => Event::ReconcileFailed,
                Apply::SourceError => Event::SourceUnreachable,
            });
            self.apply = apply;
        } else if head_replaced && apply == Apply::Healthy {
            events.push(Event::Recovered);
        }
        if matches!(
            record.outcome,
            ReconcileOutcome::Success | ReconcileOutcome::Unresolved
        ) {
            let drift = record.detected > 0;
            if drift != self.drift {
                events.push(if drift {
                    Event::DriftDetected
                } else {
                    Event::DriftResolved
                });
                self.drift = drift;
            }
        }
        if record.outcome == ReconcileOutcome::Success {
            self.last_good.clone_from(&record.revision);
        }
        events
    }

    /// The refused revision that drift checks work around, if any.
    pub fn refused_revision(&self) -> Option<&str> {
        self.head.as_ref().and_then(|h| h.revision.as_deref())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn record(
        trigger: Trigger,
        outcome: ReconcileOutcome,
        revision: Option<&str>,
    ) -> ReconcileRecord {
        let mut record = ReconcileRecord::started(trigger);
        record.outcome = outcome;
        record.revision = revision.map(str::to_string);
        record
    }

    fn run(detector: &mut Detector, records: &[ReconcileRecord]) -> Vec<Vec<Event>> {
        records.iter().map(|r| detector.observe(r)).collect()
    }

    #[test]
    fn failure_failure_recovery_failure_is_three_events() {
        let mut detector = Detector::default();
        let events = run(
            &mut detector,
            &[
                record(Trigger::Startup, ReconcileOutcome::Success, Some("a")),
                record(Trigger::Poll, ReconcileOutcome::Failed, Some("b")),
                record(Trigger::Retry, ReconcileOutcome::Failed, Some("b")),
                record(Trigger::Retry, ReconcileOutcome::Success, Some("b")),
                record(Trigger::Drift, ReconcileOutcome::Success, Some("b")),
                record(Trigger::Drift, ReconcileOutcome::Failed, Some("b")),
                record(Trigger::Retry, ReconcileOutcome::Failed, Some("b")),
            ],
        );
        assert_eq!(
            events,
            [
                vec![],
                vec![Event::ReconcileFailed],
                vec![],
                vec![Event::Recovered],
                vec![],
                vec![Event::ReconcileFailed],
                vec![],
            ]
        );
    }

    #[test]
    fn a_first_success_says_nothing_and_a_first_failure_is_announced() {
        let mut quiet = Detector::default();
        assert!(
            quiet
                .observe(&record(
                    Trigger::Startup,
                    ReconcileOutcome::Success,
                    Some("a")
                ))
                .is_empty()
        );
        let mut failing = Detector::default();
        assert_eq!(
            failing.observe(&record(
                Trigger::Startup,
                ReconcileOutcome::SourceError,
                None
            )),
            [Event::SourceUnreachable]
        );
    }

    #[test]
    fn a_change_of_failure_kind_is_a_new_state() {
        let mut detector = Detector::default();
        let events = run(
            &mut detector,
            &[
                record(Trigger::Startup, ReconcileOutcome::SourceError, None),
                record(Trigger::Retry, ReconcileOutcome::Failed, Some("a")),
                record(Trigger::Retry, ReconcileOutcome::Unresolved, Some("a")),
                record(Trigger::Retry, ReconcileOutcome::Unresolved, Some("a")),
                record(Trigger::Retry, ReconcileOutcome::Success, Some("a")),
            ],
        );
        assert_eq!(
            events,
            [
                vec![Event::SourceUnreachable],
                vec![Event::ReconcileFailed],
                vec![Event::ValuesUnresolved],
                vec![],
                vec![Event::Recovered],
            ]
        );
    }

    #[test]
    fn a_refused_head_survives_drift_reapplies_and_recovers_with_the_next_revision() {
        let mut detector = Detector::default();
        let events = run(
            &mut detector,
            &[
                record(Trigger::Startup, ReconcileOutcome::Success, Some("good")),
                record(Trigger::Webhook, ReconcileOutcome::Invalid, Some("bad")),
                // A drift check: the refused head again, then the last good one re-applied.
                record(Trigger::Drift, ReconcileOutcome::Invalid, Some("bad")),
                record(Trigger::Drift, ReconcileOutcome::Success, Some("good")),
                record(
                    Trigger::Webhook,
                    ReconcileOutcome::Untrusted,
                    Some("unsigned"),
                ),
                record(Trigger::Webhook, ReconcileOutcome::Success, Some("fixed")),
                record(Trigger::Drift, ReconcileOutcome::Success, Some("fixed")),
            ],
        );
        assert_eq!(
            events,
            [
                vec![],
                vec![Event::RevisionInvalid],
                vec![],
                vec![],
                vec![Event::RevisionUntrusted],
                vec![Event::Recovered],
                vec![],
            ]
        );
        assert_eq!(detector.refused_revision(), None);
    }

    #[test]
    fn a_replaced_refused_head_that_fails_is_one_failure() {
        let mut detector = Detector::default();
        let events = run(
            &mut detector,
            &[
                record(Trigger::Startup, ReconcileOutcome::Invalid, Some("bad")),
                record(Trigger::Webhook, ReconcileOutcome::Failed, Some("next")),
                record(Trigger::Retry, ReconcileOutcome::Success, Some("next")),
            ],
        );
        assert_eq!(
            events,
            [
                vec![Event::RevisionInvalid],
                vec![Event::ReconcileFailed],
                vec![Event::Recovered],
            ]
        );
    }

    #[test]
    fn drift_is_announced_when_it_appears_and_when_it_is_gone() {
        let mut detector = Detector::default();
        let mut drifting = record(Trigger::Startup, ReconcileOutcome::Success, Some("a"));
        drifting.detected = 3;
        let mut more = drifting.clone();
        more.detected = 5;
        let mut failed = drifting.clone();
        failed.outcome = ReconcileOutcome::Failed;
        failed.detected = 0;
        let events = run(
            &mut detector,
            &[
                drifting.clone(),
                more,
                failed,
                drifting,
                record(Trigger::Drift, ReconcileOutcome::Success, Some("a")),
            ],
        );
        assert_eq!(
            events,
            [
                vec![Event::DriftDetected],
                vec![],
                vec![Event::ReconcileFailed],
                vec![Event::Recovered],
                vec![Event::DriftResolved],
            ]
        );
    }
}
