//! What to publish and when: throttling, dropping unchanged snapshots, retrying failed
//! publishes, and republishing after a reconnect.
//!
//! Plain logic with the time passed in, so that it is tested without a bus or a clock.
//!
//! - **Throttle** (leading and trailing edge). A snapshot that arrives when no publish
//!   started within the last `throttle` is published at once: an isolated change is never
//!   delayed. Each publish (an actual write; a snapshot dropped as unchanged does not
//!   count) starts a cooldown of `throttle` when the write starts; snapshots arriving
//!   during it, or while a publish is in flight, collapse into the latest, which is
//!   published when the cooldown ends (or when the write in flight completes, if later),
//!   and that publish starts the next cooldown. A burst shorter than `throttle` therefore
//!   becomes at most two commits, its first snapshot at once and its last at the end of
//!   the window, and a steady stream is still published once per window: arrivals never
//!   postpone a publish. A zero throttle publishes every snapshot at once (collapsing
//!   those that arrive while a publish is in flight). A retry waits out its backoff, not
//!   the cooldown, and the republish after a reconnect waits for neither.
//! - **Dedupe.** A snapshot equal to the last one published is dropped without a write.
//! - **Retry.** A failed publish keeps its snapshot pending (unless a newer one arrived) and
//!   is retried after a capped backoff, on a resynchronised publisher: a half-written
//!   batch leaves the bus in an unknown state.
//! - **Reconnect.** After NATS reconnects the bucket may have been lost or changed, so the
//!   current snapshot is republished on a resynchronised publisher (which rewrites only what
//!   differs); a discovery service resends its state after reconnecting.

use std::time::Duration;

use tokio::time::Instant;
use tracing::debug;

use crate::Snapshot;
use crate::retry::Backoff;

/// The snapshot waiting to be published.
#[derive(Debug, Clone, PartialEq)]
struct Pending {
    snapshot: Snapshot,
    arrived_at: Instant,
    first_arrived_at: Instant,
    received: usize,
}

/// One publish to perform.
#[derive(Debug, Clone, PartialEq)]
pub struct Job {
    /// The snapshot to publish.
    pub snapshot: Snapshot,
    /// When it arrived.
    pub arrived_at: Instant,
    /// When the oldest snapshot it stands for arrived.
    pub first_arrived_at: Instant,
    /// How many snapshots it stands for (1 plus those it replaced).
    pub received: usize,
    /// Whether the publisher must read the bucket back first.
    pub resync: bool,
}

/// What the caller should do next.
#[derive(Debug, Clone, PartialEq)]
pub enum Next {
    /// Nothing to publish.
    Idle,
    /// Something is pending; ask again at this instant.
    WakeAt(Instant),
    /// Publish this, then report with [`Outbox::published`] or [`Outbox::failed`].
    Publish(Box<Job>),
}

/// The publishing state of one provider.
#[derive(Debug)]
pub struct Outbox {
    throttle: Duration,
    pending: Option<Pending>,
    /// No publish before this instant (the end of the cooldown, or of a retry wait).
    not_before: Option<Instant>,
    /// The end of the cooldown started by the last publish: a snapshot arriving before it
    /// waits for it, one arriving after it is due at once.
    cooldown_until: Option<Instant>,
    /// The last snapshot the bus was brought to.
    published: Option<Snapshot>,
    in_flight: bool,
    /// The bus may not hold `published` (a failed publish, a reconnect): publish even an
    /// equal snapshot.
    unsure: bool,
    resync: bool,
    retry: Backoff,
}

impl Outbox {
    /// An empty outbox throttling with `throttle` (see the module docs).
    pub fn new(throttle: Duration) -> Self {
        Self {
            throttle,
            pending: None,
            not_before: None,
            cooldown_until: None,
            published: None,
            in_flight: false,
            unsure: false,
            resync: false,
            retry: Backoff::new(),
        }
    }

    /// A snapshot arrived from the watch.
    pub fn received(&mut self, snapshot: Snapshot, now: Instant) {
        let (first_arrived_at, received) = match &self.pending {
            Some(p) => (p.first_arrived_at, p.received.saturating_add(1)),
            None => (now, 1),
        };
        self.pending = Some(Pending {
            snapshot,
            arrived_at: now,
            first_arrived_at,
            received,
        });
        // A due instant already set (the cooldown's end, a retry wait) is never moved:
        // arrivals cannot postpone a publish.
        if self.not_before.is_none() {
            self.not_before = Some(match self.cooldown_until {
                Some(until) if until > now => until,
                _ => now,
            });
        }
    }

    /// NATS reconnected: republish the current state on a resynchronised publisher.
    pub fn reconnected(&mut self, now: Instant) {
        self.unsure = true;
        self.resync = true;
        self.not_before = Some(self.not_before.map_or(now, |t| t.min(now)));
    }

    /// Decides what to do at `now`.
    pub fn next(&mut self, now: Instant) -> Next {
        if self.in_flight {
            return Next::Idle;
        }
        if self.pending.is_none()
            && self.unsure
            && let Some(current) = self.published.clone()
        {
            self.pending = Some(Pending {
                snapshot: current,
                arrived_at: now,
                first_arrived_at: now,
                received: 0,
            });
        }
        let Some(pending) = &self.pending else {
            self.not_before = None;
            return Next::Idle;
        };
        if let Some(at) = self.not_before
            && at > now
        {
            return Next::WakeAt(at);
        }
        self.not_before = None;
        if !self.unsure && self.published.as_ref() == Some(&pending.snapshot) {
            debug!(
                received = pending.received,
                "snapshot equals the published one; nothing to write"
            );
            self.pending = None;
            return Next::Idle;
        }
        let Some(pending) = self.pending.take() else {
            return Next::Idle;
        };
        self.in_flight = true;
        self.cooldown_until = Some(now + self.throttle);
        Next::Publish(Box::new(Job {
            snapshot: pending.snapshot,
            arrived_at: pending.arrived_at,
            first_arrived_at: pending.first_arrived_at,
            received: pending.received,
            resync: std::mem::take(&mut self.resync),
        }))
    }

    /// The job's snapshot is on the bus.
    pub fn published(&mut self, job: Job) {
        self.in_flight = false;
        self.published = Some(job.snapshot);
        self.retry.reset();
        // A reconnect seen while the job was in flight asked for a resync that this job
        // may have raced; `resync` then still holds and the next call republishes.
        self.unsure = self.resync;
    }

    /// The job failed; returns the wait before the retry.
    pub fn failed(&mut self, job: Job, now: Instant) -> Duration {
        self.in_flight = false;
        self.unsure = true;
        self.resync = true;
        if self.pending.is_none() {
            self.pending = Some(Pending {
                snapshot: job.snapshot,
                arrived_at: job.arrived_at,
                first_arrived_at: job.first_arrived_at,
                received: job.received,
            });
        }
        let delay = self.retry.failed();
        self.not_before = Some(now + delay);
        delay
    }

    /// The last snapshot the bus was brought to.
    pub fn last_published(&self) -> Option<&Snapshot> {
        self.published.as_ref()
    }

    /// Whether a publish is in flight.
    pub fn in_flight(&self) -> bool {
        self.in_flight
    }

    /// Failed publishes since the last success.
    pub fn failures(&self) -> usize {
        self.retry.failures()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use switchyard_model::DynamicConfig;

    const THROTTLE: Duration = Duration::from_millis(200);

    fn ms(n: u64) -> Duration {
        Duration::from_millis(n)
    }

    /// A snapshot told apart by one router's rule.
    fn snap(n: u32) -> Snapshot {
        let config: DynamicConfig = serde_json::from_value(serde_json::json!({
            "http": {"routers": {"r": {"rule": format!("Host(`h{n}`)"), "service": "s"}}}
        }))
        .unwrap_or_default();
        Snapshot {
            config,
            ..Default::default()
        }
    }

    fn publish(next: Next) -> Job {
        match next {
            Next::Publish(job) => *job,
            other => panic!("expected a publish, got {other:?}"),
        }
    }

    #[test]
    fn burst_publishes_its_first_at_once_and_its_last_when_the_cooldown_ends() {
        let t0 = Instant::now();
        let mut o = Outbox::new(THROTTLE);
        o.received(snap(0), t0);
        let first = publish(o.next(t0));
        assert_eq!(first.snapshot, snap(0));
        assert_eq!((first.received, first.first_arrived_at), (1, t0));
        // While the first write is in flight, arrivals wait for it.
        o.received(snap(1), t0 + ms(1));
        assert_eq!(o.next(t0 + ms(1)), Next::Idle);
        o.published(first);
        // Then they wait for the cooldown the first publish started, however many arrive.
        for i in 1..10u32 {
            let now = t0 + ms(u64::from(i) * 10);
            o.received(snap(i), now);
            assert_eq!(o.next(now), Next::WakeAt(t0 + THROTTLE), "snapshot {i}");
        }
        assert_eq!(o.next(t0 + ms(199)), Next::WakeAt(t0 + THROTTLE));
        let last = publish(o.next(t0 + THROTTLE));
        assert_eq!(last.snapshot, snap(9));
        assert_eq!(last.received, 10, "snapshot 1 twice, then 2 to 9");
        assert_eq!(last.first_arrived_at, t0 + ms(1));
        assert_eq!(last.arrived_at, t0 + ms(90));
        assert!(!last.resync);
        o.published(last);
        assert_eq!(o.next(t0 + THROTTLE), Next::Idle);
        assert_eq!(o.last_published(), Some(&snap(9)));
        // The trailing publish starts a cooldown of its own.
        o.received(snap(10), t0 + THROTTLE + ms(10));
        assert_eq!(
            o.next(t0 + THROTTLE + ms(10)),
            Next::WakeAt(t0 + THROTTLE * 2)
        );
    }

    #[test]
    fn a_snapshot_waits_only_for_the_rest_of_the_cooldown() {
        struct Case {
            case: &'static str,
            /// When the snapshot arrives, after the last publish started.
            arrives: Duration,
            /// When it is published.
            due: Duration,
        }
        let cases = [
            Case {
                case: "right after the publish",
                arrives: ms(0),
                due: THROTTLE,
            },
            Case {
                case: "late in the cooldown",
                arrives: ms(199),
                due: THROTTLE,
            },
            Case {
                case: "as the cooldown ends",
                arrives: THROTTLE,
                due: THROTTLE,
            },
            Case {
                case: "just after the cooldown",
                arrives: ms(201),
                due: ms(201),
            },
            Case {
                case: "after a long quiet period",
                arrives: Duration::from_secs(60),
                due: Duration::from_secs(60),
            },
        ];
        for c in cases {
            let t0 = Instant::now();
            let mut o = Outbox::new(THROTTLE);
            o.received(snap(1), t0);
            let job = publish(o.next(t0));
            o.published(job);
            o.received(snap(2), t0 + c.arrives);
            if c.due > c.arrives {
                assert_eq!(
                    o.next(t0 + c.arrives),
                    Next::WakeAt(t0 + c.due),
                    "{}",
                    c.case
                );
            }
            let job = publish(o.next(t0 + c.due));
            assert_eq!(job.snapshot, snap(2), "{}", c.case);
            assert_eq!(job.arrived_at, t0 + c.arrives, "{}", c.case);
        }
    }

    #[test]
    fn the_very_first_snapshot_is_published_at_once() {
        let t0 = Instant::now();
        let mut o = Outbox::new(Duration::from_secs(2));
        o.received(snap(1), t0);
        assert_eq!(publish(o.next(t0)).snapshot, snap(1));
    }

    #[test]
    fn a_steady_stream_cannot_postpone_the_publish() {
        let t0 = Instant::now();
        let mut o = Outbox::new(THROTTLE);
        // One snapshot every 50 ms for a second: a publish at least every window.
        let mut published = Vec::new();
        for i in 0..20u32 {
            let now = t0 + ms(u64::from(i) * 50);
            o.received(snap(i), now);
            if let Next::Publish(job) = o.next(now) {
                published.push((now - t0, job.snapshot.clone()));
                o.published(*job);
            }
        }
        let at: Vec<u64> = published
            .iter()
            .map(|(d, _)| u64::try_from(d.as_millis()).unwrap_or(0))
            .collect();
        assert_eq!(at, [0, 200, 400, 600, 800]);
        let snapshots: Vec<Snapshot> = published.into_iter().map(|(_, s)| s).collect();
        assert_eq!(snapshots, [snap(0), snap(4), snap(8), snap(12), snap(16)]);
        // The stream's last snapshot follows when the last cooldown ends.
        assert_eq!(o.next(t0 + ms(950)), Next::WakeAt(t0 + ms(1000)));
        assert_eq!(publish(o.next(t0 + ms(1000))).snapshot, snap(19));
    }

    #[test]
    fn zero_throttle_publishes_immediately() {
        let t0 = Instant::now();
        let mut o = Outbox::new(Duration::ZERO);
        o.received(snap(1), t0);
        let job = publish(o.next(t0));
        assert_eq!(job.snapshot, snap(1));
        assert_eq!(job.received, 1);
        // While it is in flight, newer snapshots collapse and follow right after.
        o.received(snap(2), t0);
        o.received(snap(3), t0);
        assert_eq!(o.next(t0), Next::Idle);
        o.published(job);
        assert_eq!(publish(o.next(t0)).snapshot, snap(3));
    }

    #[test]
    fn equal_snapshot_is_dropped() {
        struct Case {
            case: &'static str,
            /// When the sequence arrives, after snapshot 1 was published.
            arrives: Duration,
            sequence: Vec<u32>,
            /// When it is due.
            due: Duration,
            expect_publish: Option<u32>,
        }
        let cases = [
            Case {
                case: "same as published, in the cooldown",
                arrives: ms(10),
                sequence: vec![1],
                due: THROTTLE,
                expect_publish: None,
            },
            Case {
                case: "same as published, after a quiet period",
                arrives: ms(1000),
                sequence: vec![1],
                due: ms(1000),
                expect_publish: None,
            },
            Case {
                case: "burst that returns to the published state",
                arrives: ms(10),
                sequence: vec![2, 3, 1],
                due: THROTTLE,
                expect_publish: None,
            },
            Case {
                case: "different from published",
                arrives: ms(10),
                sequence: vec![1, 2],
                due: THROTTLE,
                expect_publish: Some(2),
            },
        ];
        for c in cases {
            let t0 = Instant::now();
            let mut o = Outbox::new(THROTTLE);
            o.received(snap(1), t0);
            let job = publish(o.next(t0));
            o.published(job);
            for n in &c.sequence {
                o.received(snap(*n), t0 + c.arrives);
            }
            match (o.next(t0 + c.due), c.expect_publish) {
                (Next::Idle, None) => {}
                (Next::Publish(job), Some(n)) => {
                    assert_eq!(job.snapshot, snap(n), "{}", c.case);
                    o.published(*job);
                }
                (other, _) => panic!("{}: unexpected {other:?}", c.case),
            }
            assert_eq!(o.next(t0 + c.due + THROTTLE), Next::Idle, "{}", c.case);
        }
    }

    #[test]
    fn a_dropped_snapshot_starts_no_cooldown() {
        let t0 = Instant::now();
        let mut o = Outbox::new(THROTTLE);
        o.received(snap(1), t0);
        let job = publish(o.next(t0));
        o.published(job);
        // Unchanged after the cooldown: nothing written, and no new cooldown...
        o.received(snap(1), t0 + ms(300));
        assert_eq!(o.next(t0 + ms(300)), Next::Idle);
        // ...so the next change goes out at once.
        o.received(snap(2), t0 + ms(350));
        assert_eq!(publish(o.next(t0 + ms(350))).snapshot, snap(2));
    }

    #[test]
    fn errors_alone_make_a_snapshot_different() {
        let t0 = Instant::now();
        let mut o = Outbox::new(Duration::ZERO);
        o.received(snap(1), t0);
        let job = publish(o.next(t0));
        o.published(job);
        let mut with_error = snap(1);
        with_error.errors.push("file a.yml: bad indentation".into());
        o.received(with_error.clone(), t0);
        assert_eq!(publish(o.next(t0)).snapshot, with_error);
    }

    #[test]
    fn failed_publish_is_retried_with_growing_backoff_and_resync() {
        let t0 = Instant::now();
        let mut o = Outbox::new(Duration::ZERO);
        o.received(snap(1), t0);
        let mut now = t0;
        let mut waits = Vec::new();
        for _ in 0..4 {
            let job = publish(o.next(now));
            assert_eq!(job.snapshot, snap(1));
            let delay = o.failed(job, now);
            waits.push(delay);
            assert_eq!(o.next(now), Next::WakeAt(now + delay));
            now += delay;
        }
        assert_eq!(waits, [ms(100), ms(200), ms(400), ms(800)]);
        assert_eq!(o.failures(), 4);
        let job = publish(o.next(now));
        assert!(job.resync, "a retry reads the bucket back first");
        o.published(job);
        assert_eq!(o.failures(), 0);
        // The backoff starts over after a success.
        o.received(snap(2), now);
        let job = publish(o.next(now));
        assert!(!job.resync);
        assert_eq!(o.failed(job, now), ms(100));
    }

    #[test]
    fn a_retry_keeps_its_backoff_under_a_throttle() {
        let t0 = Instant::now();
        let mut o = Outbox::new(THROTTLE);
        o.received(snap(1), t0);
        let job = publish(o.next(t0));
        let delay = o.failed(job, t0 + ms(5));
        assert_eq!(delay, ms(100));
        // A snapshot arriving in the retry wait neither moves it nor waits for the
        // cooldown the failed publish started.
        o.received(snap(2), t0 + ms(50));
        assert_eq!(o.next(t0 + ms(50)), Next::WakeAt(t0 + ms(105)));
        let job = publish(o.next(t0 + ms(105)));
        assert_eq!(job.snapshot, snap(2));
        assert!(job.resync);
        o.published(job);
        // The successful retry is a publish: it starts a cooldown.
        o.received(snap(3), t0 + ms(150));
        assert_eq!(o.next(t0 + ms(150)), Next::WakeAt(t0 + ms(305)));
    }

    #[test]
    fn retry_publishes_the_newest_snapshot() {
        let t0 = Instant::now();
        let mut o = Outbox::new(Duration::ZERO);
        o.received(snap(1), t0);
        let job = publish(o.next(t0));
        o.received(snap(2), t0 + ms(10));
        let delay = o.failed(job, t0 + ms(20));
        // Arrivals during the retry wait do not move it.
        o.received(snap(3), t0 + ms(30));
        assert_eq!(o.next(t0 + ms(30)), Next::WakeAt(t0 + ms(20) + delay));
        let job = publish(o.next(t0 + ms(20) + delay));
        assert_eq!(job.snapshot, snap(3));
    }

    #[test]
    fn retry_after_failure_publishes_even_an_equal_snapshot() {
        // Published 1, a publish of 2 failed half-way, then the source went back to 1:
        // the bus may hold part of 2, so 1 must be written.
        let t0 = Instant::now();
        let mut o = Outbox::new(Duration::ZERO);
        o.received(snap(1), t0);
        let job = publish(o.next(t0));
        o.published(job);
        o.received(snap(2), t0);
        let job = publish(o.next(t0));
        o.received(snap(1), t0);
        let delay = o.failed(job, t0);
        let job = publish(o.next(t0 + delay));
        assert_eq!(job.snapshot, snap(1));
        assert!(job.resync);
        o.published(job);
        o.received(snap(1), t0 + delay);
        assert_eq!(o.next(t0 + delay), Next::Idle);
    }

    #[test]
    fn reconnect_republishes_the_current_state_once() {
        let t0 = Instant::now();
        let mut o = Outbox::new(THROTTLE);
        // Nothing published yet: nothing to resend.
        o.reconnected(t0);
        assert_eq!(o.next(t0), Next::Idle);
        o.received(snap(1), t0);
        let job = publish(o.next(t0));
        assert!(
            job.resync,
            "the reconnect before the first publish still resyncs"
        );
        o.published(job);
        assert_eq!(o.next(t0 + THROTTLE), Next::Idle);

        let t1 = t0 + Duration::from_secs(5);
        o.reconnected(t1);
        let job = publish(o.next(t1));
        assert_eq!(job.snapshot, snap(1));
        assert!(job.resync);
        o.published(job);
        assert_eq!(o.next(t1), Next::Idle);
    }

    #[test]
    fn reconnect_during_a_publish_resyncs_after_it() {
        let t0 = Instant::now();
        let mut o = Outbox::new(THROTTLE);
        o.received(snap(1), t0);
        let job = publish(o.next(t0));
        o.reconnected(t0 + ms(2));
        assert_eq!(o.next(t0 + ms(2)), Next::Idle, "one publish at a time");
        o.published(job);
        // The resync does not wait for the cooldown.
        let again = publish(o.next(t0 + ms(5)));
        assert_eq!(again.snapshot, snap(1));
        assert!(again.resync);
        o.published(again);
        assert_eq!(o.next(t0 + ms(5)), Next::Idle);
    }

    #[test]
    fn reconnect_publishes_a_pending_snapshot_without_waiting_for_the_cooldown() {
        let t0 = Instant::now();
        let mut o = Outbox::new(THROTTLE);
        o.received(snap(1), t0);
        let job = publish(o.next(t0));
        o.published(job);
        o.received(snap(2), t0 + ms(10));
        assert_eq!(o.next(t0 + ms(10)), Next::WakeAt(t0 + THROTTLE));
        o.reconnected(t0 + ms(50));
        let job = publish(o.next(t0 + ms(50)));
        assert_eq!(job.snapshot, snap(2));
        assert!(job.resync);
    }
}
