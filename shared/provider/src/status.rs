//! The provider's status on the bus (`<provider>._status`): what it reports and when it is
//! written.
//!
//! Plain logic with the time passed in. The status is written when it changes and again
//! every [`REFRESH`], so that a reader can tell a live provider from one that stopped; it is
//! rewritten after a reconnect, since the bucket may have been lost.

use std::time::Duration;

use switchyard_bus::messages::ProviderStatus;
use tokio::time::Instant;

use crate::retry::Backoff;

/// How often an unchanged status is written again.
pub const REFRESH: Duration = Duration::from_secs(30);

/// Who reports: fixed for the life of the harness.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Identity {
    /// The provider's name (`docker-edge`).
    pub provider: String,
    /// Its kind (`docker`).
    pub kind: String,
    /// The instance that runs it.
    pub instance: String,
}

/// The status of one provider and what of it the bus holds.
#[derive(Debug)]
pub struct StatusBoard {
    identity: Identity,
    refresh: Duration,
    /// Something happened worth reporting (a publish or a failure).
    known: bool,
    watch_error: Option<String>,
    snapshot_errors: Vec<String>,
    last_snapshot_at_ms: Option<u64>,
    generation: u64,
    written: Option<(ProviderStatus, Instant)>,
    retry_at: Option<Instant>,
    retry: Backoff,
}

impl StatusBoard {
    /// A board with nothing to report yet, refreshed every [`REFRESH`].
    pub fn new(identity: Identity) -> Self {
        Self::with_refresh(identity, REFRESH)
    }

    /// A board refreshed every `refresh`.
    pub fn with_refresh(identity: Identity, refresh: Duration) -> Self {
        Self {
            identity,
            refresh,
            known: false,
            watch_error: None,
            snapshot_errors: Vec::new(),
            last_snapshot_at_ms: None,
            generation: 0,
            written: None,
            retry_at: None,
            retry: Backoff::new(),
        }
    }

    /// The watch failed or ended: unhealthy with this error until it delivers again.
    pub fn watch_failed(&mut self, error: String) {
        self.known = true;
        self.watch_error = Some(error);
    }

    /// The watch delivered a snapshot: the source is reachable again.
    pub fn watch_delivered(&mut self) {
        self.watch_error = None;
    }

    /// A snapshot is on the bus as of `generation` (its source-level `errors` are reported).
    pub fn published(&mut self, errors: &[String], generation: u64, at_ms: u64) {
        self.known = true;
        self.snapshot_errors = errors.to_vec();
        self.generation = generation;
        self.last_snapshot_at_ms = Some(at_ms);
    }

    /// NATS reconnected: the bus may have lost the status, so write it again.
    pub fn reconnected(&mut self) {
        self.written = None;
        self.retry_at = None;
    }

    /// The status as it stands; `None` before there is anything to report.
    pub fn status(&self) -> Option<ProviderStatus> {
        if !self.known {
            return None;
        }
        let last_error = match &self.watch_error {
            Some(e) => Some(e.clone()),
            None if self.snapshot_errors.is_empty() => None,
            None => Some(self.snapshot_errors.join("; ")),
        };
        Some(ProviderStatus {
            provider: self.identity.provider.clone(),
            kind: self.identity.kind.clone(),
            healthy: last_error.is_none(),
            last_error,
            last_snapshot_at_ms: self.last_snapshot_at_ms,
            generation: self.generation,
            instance: self.identity.instance.clone(),
        })
    }

    /// The status to write at `now`, if it changed or is due for a refresh.
    pub fn due(&self, now: Instant) -> Option<ProviderStatus> {
        let status = self.status()?;
        if self.retry_at.is_some_and(|at| at > now) {
            return None;
        }
        match &self.written {
            Some((written, at)) if *written == status && *at + self.refresh > now => None,
            _ => Some(status),
        }
    }

    /// When [`due`](Self::due) next returns something without any other change.
    pub fn wake_at(&self) -> Option<Instant> {
        self.status()?;
        match (self.retry_at, &self.written) {
            (Some(at), _) => Some(at),
            (None, Some((_, at))) => Some(*at + self.refresh),
            (None, None) => None,
        }
    }

    /// `status` was written at `now`.
    pub fn written(&mut self, status: ProviderStatus, now: Instant) {
        self.written = Some((status, now));
        self.retry_at = None;
        self.retry.reset();
    }

    /// Writing failed at `now`; returns the wait before the retry.
    pub fn write_failed(&mut self, now: Instant) -> Duration {
        let delay = self.retry.failed();
        self.retry_at = Some(now + delay);
        delay
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn board() -> StatusBoard {
        StatusBoard::new(Identity {
            provider: "docker-edge".into(),
            kind: "docker".into(),
            instance: "host-a".into(),
        })
    }

    #[test]
    fn nothing_to_report_before_the_first_event() {
        let b = board();
        assert_eq!(b.status(), None);
        assert_eq!(b.due(Instant::now()), None);
        assert_eq!(b.wake_at(), None);
    }

    #[test]
    fn transitions() {
        struct Case {
            case: &'static str,
            events: Vec<Ev>,
            healthy: bool,
            last_error: Option<&'static str>,
            generation: u64,
            at_ms: Option<u64>,
        }
        enum Ev {
            Failed(&'static str),
            Delivered,
            Published(Vec<&'static str>, u64, u64),
        }
        let cases = vec![
            Case {
                case: "clean publish",
                events: vec![Ev::Delivered, Ev::Published(vec![], 1, 1000)],
                healthy: true,
                last_error: None,
                generation: 1,
                at_ms: Some(1000),
            },
            Case {
                case: "publish with source errors",
                events: vec![Ev::Published(vec!["a.yml: bad", "b.yml: worse"], 2, 5)],
                healthy: false,
                last_error: Some("a.yml: bad; b.yml: worse"),
                generation: 2,
                at_ms: Some(5),
            },
            Case {
                case: "watch failure keeps what was published",
                events: vec![
                    Ev::Published(vec![], 3, 7),
                    Ev::Failed("docker: connection refused"),
                ],
                healthy: false,
                last_error: Some("docker: connection refused"),
                generation: 3,
                at_ms: Some(7),
            },
            Case {
                case: "watch failure before any publish",
                events: vec![Ev::Failed("no such directory")],
                healthy: false,
                last_error: Some("no such directory"),
                generation: 0,
                at_ms: None,
            },
            Case {
                case: "watch failure wins over snapshot errors",
                events: vec![Ev::Published(vec!["a.yml: bad"], 1, 1), Ev::Failed("gone")],
                healthy: false,
                last_error: Some("gone"),
                generation: 1,
                at_ms: Some(1),
            },
            Case {
                case: "recovered watch reports the snapshot errors again",
                events: vec![
                    Ev::Published(vec!["a.yml: bad"], 1, 1),
                    Ev::Failed("gone"),
                    Ev::Delivered,
                ],
                healthy: false,
                last_error: Some("a.yml: bad"),
                generation: 1,
                at_ms: Some(1),
            },
            Case {
                case: "recovered watch, clean snapshot",
                events: vec![
                    Ev::Failed("gone"),
                    Ev::Delivered,
                    Ev::Published(vec![], 4, 9),
                ],
                healthy: true,
                last_error: None,
                generation: 4,
                at_ms: Some(9),
            },
        ];
        for c in cases {
            let mut b = board();
            for ev in c.events {
                match ev {
                    Ev::Failed(e) => b.watch_failed(e.into()),
                    Ev::Delivered => b.watch_delivered(),
                    Ev::Published(errors, generation, at) => {
                        let errors: Vec<String> = errors.into_iter().map(Into::into).collect();
                        b.published(&errors, generation, at);
                    }
                }
            }
            let s = b
                .status()
                .unwrap_or_else(|| panic!("{}: no status", c.case));
            assert_eq!(s.healthy, c.healthy, "{}", c.case);
            assert_eq!(s.last_error.as_deref(), c.last_error, "{}", c.case);
            assert_eq!(s.generation, c.generation, "{}", c.case);
            assert_eq!(s.last_snapshot_at_ms, c.at_ms, "{}", c.case);
            assert_eq!(
                (s.provider.as_str(), s.kind.as_str(), s.instance.as_str()),
                ("docker-edge", "docker", "host-a"),
                "{}",
                c.case
            );
        }
    }

    #[test]
    fn written_on_change_and_refreshed() {
        let t0 = Instant::now();
        let mut b = board();
        b.published(&[], 1, 100);
        let s = b.due(t0).unwrap_or_else(|| panic!("first status is due"));
        b.written(s, t0);
        assert_eq!(b.due(t0 + Duration::from_secs(29)), None);
        assert_eq!(b.wake_at(), Some(t0 + REFRESH));
        // Refreshed after 30 s even though nothing changed.
        let s = b
            .due(t0 + REFRESH)
            .unwrap_or_else(|| panic!("refresh is due"));
        b.written(s, t0 + REFRESH);
        // A change is due at once.
        b.watch_failed("gone".into());
        let s = b
            .due(t0 + REFRESH)
            .unwrap_or_else(|| panic!("change is due"));
        assert!(!s.healthy);
        b.written(s, t0 + REFRESH);
        assert_eq!(b.due(t0 + REFRESH), None);
        // After a reconnect it is written again.
        b.reconnected();
        assert!(b.due(t0 + REFRESH).is_some());
    }

    #[test]
    fn failed_write_is_retried_with_backoff() {
        let t0 = Instant::now();
        let mut b = board();
        b.published(&[], 1, 100);
        assert!(b.due(t0).is_some());
        let d1 = b.write_failed(t0);
        assert_eq!(d1, Duration::from_millis(100));
        assert_eq!(b.due(t0), None);
        assert_eq!(b.wake_at(), Some(t0 + d1));
        assert!(b.due(t0 + d1).is_some());
        let d2 = b.write_failed(t0 + d1);
        assert_eq!(d2, Duration::from_millis(200));
        let s = b
            .due(t0 + d1 + d2)
            .unwrap_or_else(|| panic!("retry is due"));
        b.written(s, t0 + d1 + d2);
        assert_eq!(b.write_failed(t0 + d1 + d2), Duration::from_millis(100));
    }
}
