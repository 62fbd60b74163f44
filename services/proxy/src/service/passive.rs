//! Passive health checks (Traefik's `passiveHealthCheck` on a load balancer): a server
//! whose forwarded requests fail `maxFailedAttempts` times within `failureWindow` is taken
//! out of rotation for `failureWindow`, then tried again.
//!
//! As in Traefik, a request fails when the server could not be reached or answered (a
//! connection error, a timeout) or answered with a 5xx status; any other answer clears
//! the server's failures.
//!
//! The request path stays lock-free while servers are healthy: choosing a server reads
//! one atomic (the clock only while a server is out), a success reads one atomic; only a
//! failure takes the server's small lock to record its time.

use std::collections::VecDeque;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Mutex, OnceLock};
use std::time::Instant;

use switchyard_model::http::PassiveServerHealthCheck;

/// Milliseconds on a monotonic clock, never 0 (0 means "not ejected").
pub fn monotonic_ms() -> u64 {
    static START: OnceLock<Instant> = OnceLock::new();
    let start = START.get_or_init(Instant::now);
    u64::try_from(start.elapsed().as_millis())
        .unwrap_or(u64::MAX - 1)
        .saturating_add(1)
}

#[derive(Debug, Default)]
struct ServerFailures {
    any: AtomicBool,
    times: Mutex<VecDeque<u64>>,
    /// Out of rotation until this time (ms, [`monotonic_ms`]); 0: in rotation.
    ejected_until: AtomicU64,
}

/// The passive health state of one load balancer's servers.
#[derive(Debug)]
pub struct Passive {
    window_ms: u64,
    max_failed: usize,
    servers: Vec<ServerFailures>,
}

impl Passive {
    /// State for `servers` servers with the options of `spec`.
    pub fn new(spec: &PassiveServerHealthCheck, servers: usize) -> Self {
        let window_ms = spec
            .failure_window
            .as_std()
            .map(|d| u64::try_from(d.as_millis()).unwrap_or(u64::MAX))
            .filter(|ms| *ms > 0)
            .unwrap_or(10_000);
        Self {
            window_ms,
            max_failed: usize::try_from(spec.max_failed_attempts.max(1)).unwrap_or(usize::MAX),
            servers: (0..servers).map(|_| ServerFailures::default()).collect(),
        }
    }

    /// Whether server `i` is in rotation; `now` is only called while it is out.
    pub fn admits(&self, i: usize, now: impl FnOnce() -> u64) -> bool {
        let Some(server) = self.servers.get(i) else {
            return true;
        };
        let until = server.ejected_until.load(Ordering::Relaxed);
        until == 0 || now() >= until
    }

    /// Records the outcome of a request to server `i` at `now`; true when this failure
    /// takes the server out of rotation.
    pub fn record(&self, i: usize, failed: bool, now: u64) -> bool {
        let Some(server) = self.servers.get(i) else {
            return false;
        };
        if !failed {
            if server.any.load(Ordering::Relaxed) {
                server.any.store(false, Ordering::Relaxed);
                if let Ok(mut times) = server.times.lock() {
                    times.clear();
                }
            }
            return false;
        }
        let Ok(mut times) = server.times.lock() else {
            return false;
        };
        server.any.store(true, Ordering::Relaxed);
        times.push_back(now);
        let window_start = now.saturating_sub(self.window_ms);
        while times.front().is_some_and(|t| *t <= window_start) {
            times.pop_front();
        }
        // Never more than the threshold is needed to decide.
        while times.len() > self.max_failed {
            times.pop_front();
        }
        let until = server.ejected_until.load(Ordering::Relaxed);
        let ejected = until != 0 && now < until;
        if times.len() >= self.max_failed && !ejected {
            server
                .ejected_until
                .store(now.saturating_add(self.window_ms), Ordering::Relaxed);
            return true;
        }
        false
    }

    /// How long a failing server stays out, in milliseconds.
    pub fn window_ms(&self) -> u64 {
        self.window_ms
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(Debug, Clone, Copy)]
    enum Step {
        /// A request outcome at t: failed?, expect ejection now?
        Outcome(u64, bool, bool),
        /// Is the server admitted at t?
        Admitted(u64, bool),
    }
    use Step::*;

    fn passive(window: &str, max: i64) -> Passive {
        let spec: PassiveServerHealthCheck = serde_json::from_value(
            serde_json::json!({"failureWindow": window, "maxFailedAttempts": max}),
        )
        .unwrap();
        Passive::new(&spec, 1)
    }

    #[test]
    fn ejection_follows_failures_in_the_window() {
        let cases: Vec<(&str, &str, i64, Vec<Step>)> = vec![
            (
                "default: one failure ejects for the window",
                "10s",
                1,
                vec![
                    Admitted(1, true),
                    Outcome(1, true, true),
                    Admitted(2, false),
                    Admitted(10_000, false),
                    Admitted(10_001, true),
                ],
            ),
            (
                "three failures needed",
                "1s",
                3,
                vec![
                    Outcome(1, true, false),
                    Outcome(2, true, false),
                    Admitted(3, true),
                    Outcome(3, true, true),
                    Admitted(4, false),
                    Admitted(1_003, true),
                ],
            ),
            (
                "a success clears the failures",
                "1s",
                2,
                vec![
                    Outcome(1, true, false),
                    Outcome(2, false, false),
                    Outcome(3, true, false),
                    Outcome(4, true, true),
                ],
            ),
            (
                "failures older than the window do not count",
                "1s",
                2,
                vec![
                    Outcome(1, true, false),
                    Outcome(1_001, true, false),
                    Outcome(1_002, true, true),
                ],
            ),
            (
                "failures while out do not extend the ejection",
                "1s",
                1,
                vec![
                    Outcome(10, true, true),
                    Outcome(500, true, false),
                    Admitted(1_010, true),
                    Outcome(1_010, true, true),
                    Admitted(1_011, false),
                ],
            ),
        ];
        for (case, window, max, steps) in cases {
            let p = passive(window, max);
            for (i, step) in steps.into_iter().enumerate() {
                match step {
                    Outcome(t, failed, ejects) => {
                        assert_eq!(p.record(0, failed, t), ejects, "{case} step {i}")
                    }
                    Admitted(t, expected) => {
                        assert_eq!(p.admits(0, || t), expected, "{case} step {i}")
                    }
                }
            }
        }
    }

    #[test]
    fn the_clock_is_read_only_while_a_server_is_out() {
        let p = passive("1s", 1);
        assert!(p.admits(0, || panic!("clock read while in rotation")));
        assert!(p.record(0, true, 5));
        assert!(!p.admits(0, || 6));
        assert!(monotonic_ms() >= 1);
    }
}
