//! When each server of one service is checked next, and what its state is: plain logic
//! the checker actor drives with the clock and the probe results.
//!
//! - A server is checked as soon as it appears, then every `interval` while healthy and
//!   every `unhealthyInterval` while not (Traefik's two lists), counted from the start
//!   of the previous check; a check that outlasts its interval is followed at once.
//! - One check per server at a time.
//! - A result is to be published when it differs from what was last published (a new
//!   checker publishes its first result, so the bucket names the instance checking).

use std::collections::BTreeMap;
use std::time::{Duration, Instant};

/// The published state of a server changed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Change {
    /// The server URL.
    pub server: String,
    /// Whether it is up.
    pub up: bool,
    /// Why it is down.
    pub reason: Option<String>,
}

#[derive(Debug, Clone)]
struct ServerSlot {
    next_due: Instant,
    started: Option<Instant>,
    published: Option<bool>,
}

/// The schedule of one service's servers.
#[derive(Debug, Clone)]
pub struct Schedule {
    interval: Duration,
    unhealthy_interval: Duration,
    servers: BTreeMap<String, ServerSlot>,
}

impl Schedule {
    /// A schedule checking `servers` from `now` on.
    pub fn new(
        servers: &[String],
        interval: Duration,
        unhealthy_interval: Duration,
        now: Instant,
    ) -> Self {
        let mut schedule = Self {
            interval,
            unhealthy_interval,
            servers: BTreeMap::new(),
        };
        schedule.set_servers(servers, now);
        schedule
    }

    /// Follows a new server list: new servers are due now, others keep their state.
    pub fn set_servers(&mut self, servers: &[String], now: Instant) {
        self.servers.retain(|s, _| servers.contains(s));
        for server in servers {
            self.servers.entry(server.clone()).or_insert(ServerSlot {
                next_due: now,
                started: None,
                published: None,
            });
        }
    }

    /// The servers whose check is due at `now`; they count as being checked from now on.
    pub fn take_due(&mut self, now: Instant) -> Vec<String> {
        let mut due = Vec::new();
        for (server, slot) in &mut self.servers {
            if slot.started.is_none() && slot.next_due <= now {
                slot.started = Some(now);
                due.push(server.clone());
            }
        }
        due
    }

    /// When the next check is due (`None`: none is waiting, all are being checked).
    pub fn next_due(&self) -> Option<Instant> {
        self.servers
            .values()
            .filter(|s| s.started.is_none())
            .map(|s| s.next_due)
            .min()
    }

    /// Records a check's result at `now`; returns the change to publish, if any.
    pub fn record(
        &mut self,
        server: &str,
        result: Result<(), String>,
        now: Instant,
    ) -> Option<Change> {
        let slot = self.servers.get_mut(server)?;
        let up = result.is_ok();
        let started = slot.started.take().unwrap_or(now);
        let wait = if up {
            self.interval
        } else {
            self.unhealthy_interval
        };
        slot.next_due = (started + wait).max(now);
        if slot.published == Some(up) {
            return None;
        }
        slot.published = Some(up);
        Some(Change {
            server: server.to_owned(),
            up,
            reason: result.err(),
        })
    }

    /// Forgets that `server`'s state was published (the write failed), so that the next
    /// result is published again.
    pub fn unpublished(&mut self, server: &str) {
        if let Some(slot) = self.servers.get_mut(server) {
            slot.published = None;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const MS: Duration = Duration::from_millis(1);

    enum Step {
        /// Take the due servers at t (ms); expect these.
        Due(u64, &'static [&'static str]),
        /// Record a result at t; expect a change (Some(up)) or none.
        Result(u64, &'static str, bool, Option<bool>),
        /// Expect the next due time (ms).
        Next(Option<u64>),
        /// Replace the servers at t.
        Servers(u64, &'static [&'static str]),
        /// A publish failed.
        Unpublished(&'static str),
    }
    use Step::*;

    #[test]
    fn transitions() {
        let cases: Vec<(&str, Vec<Step>)> = vec![
            (
                "first check at once, then every interval; first result published",
                vec![
                    Due(0, &["a", "b"]),
                    Next(None),
                    Result(10, "a", true, Some(true)),
                    Result(20, "b", true, Some(true)),
                    Next(Some(100)),
                    Due(99, &[]),
                    Due(100, &["a", "b"]),
                    Result(105, "a", true, None),
                    Result(105, "b", true, None),
                ],
            ),
            (
                "a failure is published and rechecked at the unhealthy interval",
                vec![
                    Due(0, &["a", "b"]),
                    Result(5, "a", true, Some(true)),
                    Result(5, "b", false, Some(false)),
                    Next(Some(30)),
                    Due(30, &["b"]),
                    Result(31, "b", false, None),
                    Due(60, &["b"]),
                    Result(61, "b", true, Some(true)),
                    Next(Some(100)),
                ],
            ),
            (
                "a check longer than its interval is followed at once",
                vec![
                    Due(0, &["a", "b"]),
                    Result(1, "b", true, Some(true)),
                    Due(100, &["b"]),
                    Result(150, "a", true, Some(true)),
                    Next(Some(150)),
                ],
            ),
            (
                "a server is not checked twice at a time",
                vec![Due(0, &["a", "b"]), Due(500, &[]), Next(None)],
            ),
            (
                "servers come and go",
                vec![
                    Due(0, &["a", "b"]),
                    Result(1, "a", true, Some(true)),
                    Servers(2, &["a", "c"]),
                    Due(2, &["c"]),
                    Result(3, "b", false, None),
                    Result(3, "c", false, Some(false)),
                ],
            ),
            (
                "a failed publish is retried with the next result",
                vec![
                    Due(0, &["a", "b"]),
                    Result(1, "a", false, Some(false)),
                    Unpublished("a"),
                    Due(30, &["a"]),
                    Result(31, "a", false, Some(false)),
                ],
            ),
        ];
        for (case, steps) in cases {
            let t0 = Instant::now();
            let at = |ms: u64| t0 + MS * u32::try_from(ms).unwrap();
            let servers = ["a".to_owned(), "b".to_owned()];
            let mut s = Schedule::new(&servers, 100 * MS, 30 * MS, t0);
            for (i, step) in steps.into_iter().enumerate() {
                match step {
                    Due(t, expected) => assert_eq!(s.take_due(at(t)), expected, "{case} step {i}"),
                    Result(t, server, ok, expected) => {
                        let result = if ok { Ok(()) } else { Err("boom".to_owned()) };
                        let change = s.record(server, result, at(t));
                        assert_eq!(change.as_ref().map(|c| c.up), expected, "{case} step {i}");
                        if let Some(change) = change {
                            assert_eq!(change.reason.is_none(), ok, "{case} step {i}");
                        }
                    }
                    Next(expected) => {
                        assert_eq!(s.next_due(), expected.map(at), "{case} step {i}")
                    }
                    Servers(t, servers) => {
                        let servers: Vec<String> =
                            servers.iter().map(|s| (*s).to_owned()).collect();
                        s.set_servers(&servers, at(t));
                    }
                    Unpublished(server) => s.unpublished(server),
                }
            }
        }
    }
}
