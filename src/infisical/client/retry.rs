//! Backoff computation and the per-call retry budget.
//!
//! All waiting goes through `tokio::time`, so tests run under `tokio::time::pause()` and never
//! sleep in real time.

use std::time::Duration;

use reqwest::header::{HeaderMap, RETRY_AFTER};
use tokio::time::Instant;

use super::config::RetryPolicy;

/// The backoff before attempt `attempt + 1` (`attempt` ≥ 1 attempts already made), with
/// "equal jitter": half the exponential step fixed, the other half scaled by `jitter` ∈ [0, 1].
pub fn backoff(policy: &RetryPolicy, attempt: u32, jitter: f64) -> Duration {
    let exponent = attempt.saturating_sub(1).min(30);
    let step = policy
        .base_backoff
        .saturating_mul(1u32 << exponent)
        .min(policy.max_backoff);
    let half = step / 2;
    let jitter = jitter.clamp(0.0, 1.0);
    half + half.mul_f64(jitter)
}

/// The wait a 429 asks for: `Retry-After` in seconds (an HTTP date is not honoured), cut to
/// the policy's cap.
pub(super) fn retry_after(policy: &RetryPolicy, headers: &HeaderMap) -> Option<Duration> {
    let seconds: f64 = headers
        .get(RETRY_AFTER)?
        .to_str()
        .ok()?
        .trim()
        .parse()
        .ok()?;
    if !seconds.is_finite() || seconds < 0.0 {
        return None;
    }
    Some(
        Duration::try_from_secs_f64(seconds)
            .unwrap_or(policy.max_retry_after)
            .min(policy.max_retry_after),
    )
}

/// Attempts made and time spent by one call (and its re-reads).
#[derive(Debug)]
pub(super) struct Budget {
    policy: RetryPolicy,
    started: Instant,
    attempts: u32,
    ambiguous: bool,
}

impl Budget {
    /// A fresh budget, starting now.
    pub(super) fn new(policy: &RetryPolicy) -> Self {
        Budget {
            policy: policy.clone(),
            started: Instant::now(),
            attempts: 0,
            ambiguous: false,
        }
    }

    /// Counts an attempt.
    pub(super) fn record_attempt(&mut self) {
        self.attempts += 1;
    }

    /// Notes that an attempt may have reached the server without an answer.
    pub(super) fn mark_ambiguous(&mut self) {
        self.ambiguous = true;
    }

    /// Whether an earlier attempt may have happened without an answer.
    pub(super) fn was_ambiguous(&self) -> bool {
        self.ambiguous
    }

    /// Attempts made so far.
    pub(super) fn attempts(&self) -> u32 {
        self.attempts
    }

    /// The wait before the next attempt, or `None` when the budget (count or time) is spent.
    /// `requested` is a server-requested wait (`Retry-After`), used instead of the backoff.
    pub(super) fn next_delay(&self, requested: Option<Duration>) -> Option<Duration> {
        if self.attempts >= self.policy.max_attempts {
            return None;
        }
        let delay = requested
            .unwrap_or_else(|| backoff(&self.policy, self.attempts, rand::random::<f64>()));
        let elapsed = self.started.elapsed();
        (elapsed + delay <= self.policy.total_budget).then_some(delay)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use reqwest::header::HeaderValue;

    fn policy() -> RetryPolicy {
        RetryPolicy {
            max_attempts: 5,
            base_backoff: Duration::from_millis(100),
            max_backoff: Duration::from_secs(2),
            max_retry_after: Duration::from_secs(10),
            total_budget: Duration::from_secs(60),
        }
    }

    #[test]
    fn backoff_grows_exponentially_and_is_capped() {
        let p = policy();
        assert_eq!(backoff(&p, 1, 1.0), Duration::from_millis(100));
        assert_eq!(backoff(&p, 1, 0.0), Duration::from_millis(50));
        assert_eq!(backoff(&p, 2, 1.0), Duration::from_millis(200));
        assert_eq!(backoff(&p, 3, 1.0), Duration::from_millis(400));
        assert_eq!(backoff(&p, 10, 1.0), Duration::from_secs(2));
        assert_eq!(backoff(&p, 10, 0.0), Duration::from_secs(1));
        assert_eq!(backoff(&p, u32::MAX, 0.5), Duration::from_millis(1500));
        // jitter outside [0, 1] is clamped
        assert_eq!(backoff(&p, 1, 7.0), Duration::from_millis(100));
    }

    #[test]
    fn retry_after_is_parsed_and_capped() {
        let p = policy();
        let mut headers = HeaderMap::new();
        assert_eq!(retry_after(&p, &headers), None);
        headers.insert(RETRY_AFTER, HeaderValue::from_static("3"));
        assert_eq!(retry_after(&p, &headers), Some(Duration::from_secs(3)));
        headers.insert(RETRY_AFTER, HeaderValue::from_static("3600"));
        assert_eq!(retry_after(&p, &headers), Some(Duration::from_secs(10)));
        headers.insert(
            RETRY_AFTER,
            HeaderValue::from_static("Wed, 21 Oct 2015 07:28:00 GMT"),
        );
        assert_eq!(retry_after(&p, &headers), None);
        headers.insert(RETRY_AFTER, HeaderValue::from_static("-1"));
        assert_eq!(retry_after(&p, &headers), None);
    }

    #[tokio::test(start_paused = true)]
    async fn budget_bounds_count_and_time() {
        let mut budget = Budget::new(&policy());
        for _ in 0..4 {
            budget.record_attempt();
            assert!(budget.next_delay(None).is_some());
        }
        budget.record_attempt();
        assert_eq!(budget.next_delay(None), None, "attempt count exhausted");

        let mut budget = Budget::new(&policy());
        budget.record_attempt();
        tokio::time::advance(Duration::from_secs(55)).await;
        assert_eq!(budget.next_delay(Some(Duration::from_secs(10))), None);
        assert_eq!(
            budget.next_delay(Some(Duration::from_secs(5))),
            Some(Duration::from_secs(5))
        );
    }
}
