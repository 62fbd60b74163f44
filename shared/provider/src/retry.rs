//! Capped exponential backoff with a memory of consecutive failures.

use std::time::Duration;

use switchyard_bus::nats::backoff;

/// Consecutive failures of one operation (a watch, a publish, a connection) and the wait
/// before the next attempt: the bus contract's 100 ms doubling up to 5 s.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Backoff {
    failures: usize,
}

impl Backoff {
    /// No failure yet.
    pub fn new() -> Self {
        Self::default()
    }

    /// Records a failure and returns how long to wait before trying again.
    pub fn failed(&mut self) -> Duration {
        let delay = backoff(self.failures);
        self.failures = self.failures.saturating_add(1);
        delay
    }

    /// Records a success: the next failure waits the shortest delay again.
    pub fn reset(&mut self) {
        self.failures = 0;
    }

    /// Failures since the last success.
    pub fn failures(&self) -> usize {
        self.failures
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn grows_to_the_cap_and_resets() {
        let mut b = Backoff::new();
        let delays: Vec<u64> = (0..8)
            .map(|_| u64::try_from(b.failed().as_millis()).unwrap_or(u64::MAX))
            .collect();
        assert_eq!(delays, [100, 200, 400, 800, 1600, 3200, 5000, 5000]);
        assert_eq!(b.failures(), 8);
        b.reset();
        assert_eq!(b.failures(), 0);
        assert_eq!(b.failed(), Duration::from_millis(100));
    }

    #[test]
    fn many_failures_stay_capped() {
        let mut b = Backoff::new();
        for _ in 0..1000 {
            b.failed();
        }
        assert_eq!(b.failed(), switchyard_bus::nats::MAX_BACKOFF);
    }
}
