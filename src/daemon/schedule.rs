//! Retry backoff and poll jitter: pure arithmetic, so tests can pin their bounds.

use std::time::Duration;

/// Exponential backoff: `initial × 2^(failures − 1)`, capped at `max`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Backoff {
    /// The first retry delay.
    pub initial: Duration,
    /// The longest delay.
    pub max: Duration,
}

impl Default for Backoff {
    fn default() -> Self {
        Self {
            initial: Duration::from_secs(5),
            max: Duration::from_secs(300),
        }
    }
}

impl Backoff {
    /// The delay before retry number `failures` (1-based).
    pub fn delay(&self, failures: u32) -> Duration {
        let exponent = failures.saturating_sub(1).min(30);
        self.initial.saturating_mul(1u32 << exponent).min(self.max)
    }
}

/// Poll delays: `interval + uniform(0, fraction × interval)`, from a small seeded generator
/// (xorshift64*), so replicas started together spread out and tests are reproducible.
#[derive(Debug, Clone)]
pub struct Jitter {
    state: u64,
    fraction: f64,
}

impl Jitter {
    /// A generator with a seed and a fraction (clamped to 0.0–1.0).
    pub fn new(seed: u64, fraction: f64) -> Self {
        Self {
            state: seed.max(1),
            fraction: fraction.clamp(0.0, 1.0),
        }
    }

    fn next_unit(&mut self) -> f64 {
        let mut x = self.state;
        x ^= x >> 12;
        x ^= x << 25;
        x ^= x >> 27;
        self.state = x;
        let value = x.wrapping_mul(0x2545_f491_4f6c_dd1d) >> 11;
        value as f64 / (1u64 << 53) as f64
    }

    /// The next delay for `interval`.
    pub fn delay(&mut self, interval: Duration) -> Duration {
        let extra = interval.mul_f64(self.fraction * self.next_unit());
        interval + extra
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn backoff_doubles_and_caps() {
        let backoff = Backoff {
            initial: Duration::from_secs(1),
            max: Duration::from_secs(10),
        };
        let delays: Vec<u64> = (1..=6).map(|n| backoff.delay(n).as_secs()).collect();
        assert_eq!(delays, [1, 2, 4, 8, 10, 10]);
        assert_eq!(backoff.delay(1000), Duration::from_secs(10));
    }

    #[test]
    fn jitter_stays_in_bounds_and_spreads() {
        let mut jitter = Jitter::new(42, 0.2);
        let interval = Duration::from_secs(100);
        let delays: Vec<Duration> = (0..1000).map(|_| jitter.delay(interval)).collect();
        assert!(
            delays
                .iter()
                .all(|d| *d >= interval && *d <= interval.mul_f64(1.2))
        );
        let min = delays.iter().min().copied().unwrap_or_default();
        let max = delays.iter().max().copied().unwrap_or_default();
        assert!(
            max - min > Duration::from_secs(15),
            "spread {min:?}..{max:?}"
        );
    }
}
