//! What to publish and when: throttling, dropping unchanged snapshots, retrying failed
//! publishes, and republishing after a reconnect.
//!
//! Plain logic with the time passed in, so that it is tested without a bus or a clock.
//!
//! - **Throttle.** The first snapshot after a quiet period opens a window of `throttle`;
//!   every snapshot arriving in the window replaces the pending one, and the last one is
//!   published when the window closes. A burst therefore becomes one commit, and no
//!   snapshot waits longer than `throttle` (unless a publish is still in flight or
//!   failing). A zero throttle publishes every snapshot at once.
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
    /// When the oldest snapshot it replaces arrived (the start of the window).
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
    /// No publish before this instant (the end of the throttle window, or of a retry wait).
    not_before: Option<Instant>,
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
    /// An empty outbox that collapses bursts within `throttle`.
    pub fn new(throttle: Duration) -> Self {
        Self {
            throttle,
            pending: None,
            not_before: None,
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
        // An open window (or a retry wait) is not extended: bursts cannot postpone a
        // publish forever.
        if self.not_before.is_none() {
            self.not_before = Some(now + self.throttle);
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
    fn burst_collapses_to_the_last_snapshot() {
        let t0 = Instant::now();
        let mut o = Outbox::new(THROTTLE);
        for i in 0..10u32 {
            o.received(snap(i), t0 + ms(u64::from(i) * 10));
            assert_eq!(
                o.next(t0 + ms(u64::from(i) * 10)),
                Next::WakeAt(t0 + THROTTLE)
            );
        }
        let job = publish(o.next(t0 + THROTTLE));
        assert_eq!(job.snapshot, snap(9));
        assert_eq!(job.received, 10);
        assert_eq!(job.first_arrived_at, t0);
        assert_eq!(job.arrived_at, t0 + ms(90));
        assert!(!job.resync);
        o.published(job);
        assert_eq!(o.next(t0 + THROTTLE), Next::Idle);
        assert_eq!(o.last_published(), Some(&snap(9)));
    }

    #[test]
    fn first_snapshot_after_quiet_waits_at_most_the_throttle() {
        let t0 = Instant::now();
        let mut o = Outbox::new(THROTTLE);
        o.received(snap(1), t0);
        let job = publish(o.next(t0 + THROTTLE));
        o.published(job);
        // Long quiet period, then one snapshot: due one throttle after its arrival.
        let later = t0 + Duration::from_secs(60);
        o.received(snap(2), later);
        assert_eq!(o.next(later), Next::WakeAt(later + THROTTLE));
        assert_eq!(o.next(later + ms(199)), Next::WakeAt(later + THROTTLE));
        assert_eq!(publish(o.next(later + THROTTLE)).snapshot, snap(2));
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
        assert_eq!(at, [200, 450, 700, 950]);
        assert_eq!(published[0].1, snap(4));
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
            sequence: Vec<u32>,
            expect_publish: Option<u32>,
        }
        let cases = [
            Case {
                case: "same as published",
                sequence: vec![1],
                expect_publish: None,
            },
            Case {
                case: "burst that returns to the published state",
                sequence: vec![2, 3, 1],
                expect_publish: None,
            },
            Case {
                case: "different from published",
                sequence: vec![1, 2],
                expect_publish: Some(2),
            },
        ];
        for c in cases {
            let t0 = Instant::now();
            let mut o = Outbox::new(THROTTLE);
            o.received(snap(1), t0);
            let job = publish(o.next(t0 + THROTTLE));
            o.published(job);
            let t1 = t0 + Duration::from_secs(1);
            for n in &c.sequence {
                o.received(snap(*n), t1);
            }
            match (o.next(t1 + THROTTLE), c.expect_publish) {
                (Next::Idle, None) => {}
                (Next::Publish(job), Some(n)) => assert_eq!(job.snapshot, snap(n), "{}", c.case),
                (other, _) => panic!("{}: unexpected {other:?}", c.case),
            }
            assert_eq!(o.next(t1 + THROTTLE * 2), Next::Idle, "{}", c.case);
        }
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
        let job = publish(o.next(t0 + THROTTLE));
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
        let job = publish(o.next(t0 + THROTTLE));
        o.reconnected(t0 + THROTTLE);
        assert_eq!(o.next(t0 + THROTTLE), Next::Idle, "one publish at a time");
        o.published(job);
        let again = publish(o.next(t0 + THROTTLE));
        assert_eq!(again.snapshot, snap(1));
        assert!(again.resync);
        o.published(again);
        assert_eq!(o.next(t0 + THROTTLE), Next::Idle);
    }

    #[test]
    fn reconnect_publishes_a_pending_snapshot_without_waiting_for_the_window() {
        let t0 = Instant::now();
        let mut o = Outbox::new(THROTTLE);
        o.received(snap(1), t0);
        o.reconnected(t0 + ms(50));
        let job = publish(o.next(t0 + ms(50)));
        assert_eq!(job.snapshot, snap(1));
        assert!(job.resync);
    }
}
