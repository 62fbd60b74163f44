//! The actors under a paused clock, with a fake bus and a provider fed by a channel.

use std::cell::Cell;
use std::collections::BTreeMap;
use std::future::Future;
use std::rc::Rc;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use actix::prelude::*;
use futures::StreamExt as _;
use futures::stream::LocalBoxStream;
use switchyard_bus::messages::ProviderStatus;
use switchyard_bus::nats::{BusError, PublishReport};
use switchyard_bus::{ConfigKey, Record};
use switchyard_model::DynamicConfig;
use tokio::sync::mpsc;
use tokio::time::Instant;

use super::publisher::{BusReady, PublisherActor, Reconnected, Stop};
use super::watcher::WatcherActor;
use crate::sink::ConfigSink;
use crate::status::{Identity, StatusBoard};
use crate::{Provider, ProviderError, Snapshot};

const THROTTLE: Duration = Duration::from_millis(200);
/// How long each fake bus operation takes.
const LATENCY: Duration = Duration::from_millis(5);

fn ms(n: u64) -> Duration {
    Duration::from_millis(n)
}

fn snap(n: u32) -> Snapshot {
    let config: DynamicConfig = serde_json::from_value(serde_json::json!({
        "http": {
            "routers": {"r": {"rule": format!("Host(`h{n}`)"), "service": "s"}},
            "services": {"s": {"loadBalancer": {"servers": [{"url": "http://127.0.0.1:9"}]}}}
        }
    }))
    .unwrap_or_default();
    Snapshot {
        config,
        ..Default::default()
    }
}

/// What the fake bus saw.
#[derive(Default)]
struct BusLog {
    publish_calls: usize,
    resyncs: usize,
    fail_next: usize,
    generation: u64,
    held: BTreeMap<ConfigKey, Record>,
    /// Commits: when, and the records they left on the bus.
    commits: Vec<(Instant, BTreeMap<ConfigKey, Record>)>,
    statuses: Vec<(Instant, ProviderStatus)>,
}

#[derive(Clone, Default)]
struct FakeBus(Arc<Mutex<BusLog>>);

impl FakeBus {
    fn with<T>(&self, f: impl FnOnce(&mut BusLog) -> T) -> T {
        f(&mut self.0.lock().unwrap_or_else(|e| e.into_inner()))
    }
}

impl ConfigSink for FakeBus {
    async fn publish(
        &mut self,
        records: &BTreeMap<ConfigKey, Record>,
    ) -> Result<PublishReport, BusError> {
        tokio::time::sleep(LATENCY).await;
        self.with(|log| {
            log.publish_calls += 1;
            if log.fail_next > 0 {
                log.fail_next -= 1;
                return Err(BusError::Operation {
                    operation: "put".into(),
                    message: "timed out".into(),
                });
            }
            let changed = log.held != *records;
            if changed {
                log.generation += 1;
                log.held = records.clone();
                log.commits.push((Instant::now(), records.clone()));
            }
            Ok(PublishReport {
                puts: if changed { records.len() } else { 0 },
                deletes: 0,
                generation: log.generation,
            })
        })
    }

    async fn publish_status(&mut self, status: &ProviderStatus) -> Result<(), BusError> {
        tokio::time::sleep(LATENCY).await;
        self.with(|log| log.statuses.push((Instant::now(), status.clone())));
        Ok(())
    }

    async fn resync(&mut self) -> Result<(), BusError> {
        self.with(|log| log.resyncs += 1);
        Ok(())
    }
}

/// What the fake provider's watch yields.
enum Feed {
    Snapshot(Box<Snapshot>),
    Fail(&'static str),
    End,
}

/// A provider whose watches read one channel; counts its watches.
struct FakeProvider {
    feed: Rc<tokio::sync::Mutex<mpsc::UnboundedReceiver<Feed>>>,
    watches: Rc<Cell<usize>>,
}

impl Provider for FakeProvider {
    fn kind(&self) -> &'static str {
        "fake"
    }

    fn watch(&mut self) -> LocalBoxStream<'static, Result<Snapshot, ProviderError>> {
        self.watches.set(self.watches.get() + 1);
        futures::stream::unfold(self.feed.clone(), |feed| async move {
            let next = feed.lock().await.recv().await?;
            match next {
                Feed::Snapshot(s) => Some((Ok(*s), feed)),
                Feed::Fail(e) => Some((Err(ProviderError(e.to_owned())), feed)),
                Feed::End => None,
            }
        })
        .boxed_local()
    }
}

struct Rig {
    bus: FakeBus,
    feed: mpsc::UnboundedSender<Feed>,
    watches: Rc<Cell<usize>>,
    publisher: Addr<PublisherActor<FakeBus>>,
}

impl Rig {
    /// Starts both actors; the bus is ready unless `connected` is false.
    fn start(throttle: Duration, connected: bool) -> Self {
        let (tx, rx) = mpsc::unbounded_channel();
        let watches = Rc::new(Cell::new(0));
        let board = StatusBoard::new(Identity {
            provider: "fake-a".into(),
            kind: "fake".into(),
            instance: "test".into(),
        });
        let publisher = PublisherActor::<FakeBus>::new("fake-a".into(), throttle, board).start();
        WatcherActor::new(
            "fake-a".into(),
            FakeProvider {
                feed: Rc::new(tokio::sync::Mutex::new(rx)),
                watches: watches.clone(),
            },
            publisher.clone().recipient(),
        )
        .start();
        let bus = FakeBus::default();
        if connected {
            publisher.do_send(BusReady(bus.clone()));
        }
        Self {
            bus,
            feed: tx,
            watches,
            publisher,
        }
    }

    fn send(&self, feed: Feed) {
        assert!(self.feed.send(feed).is_ok(), "watch alive");
    }

    fn commits(&self) -> usize {
        self.bus.with(|log| log.commits.len())
    }

    fn last_status(&self) -> Option<ProviderStatus> {
        self.bus
            .with(|log| log.statuses.last().map(|(_, s)| s.clone()))
    }

    fn held_rule(&self) -> Option<String> {
        self.bus.with(|log| {
            log.held
                .iter()
                .find(|(k, _)| k.name == "r")
                .and_then(|(_, r)| r.spec.as_ref())
                .and_then(|spec| spec.get("rule"))
                .and_then(|rule| rule.as_str())
                .map(str::to_owned)
        })
    }
}

/// Runs `test` in an actix system whose clock is paused: it advances only when every task
/// waits, straight to the next timer.
fn paused<F: Future<Output = ()>>(test: impl FnOnce() -> F) {
    actix::System::with_tokio_rt(|| {
        tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .start_paused(true)
            .build()
            .unwrap_or_else(|e| panic!("test runtime: {e}"))
    })
    .block_on(test());
}

async fn sleep(d: Duration) {
    tokio::time::sleep(d).await;
}

/// The rule `r` in each commit, with when it was committed after `start`.
fn commit_rules(rig: &Rig, start: Instant) -> Vec<(Duration, String)> {
    rig.bus.with(|log| {
        log.commits
            .iter()
            .map(|(at, records)| {
                let rule = records
                    .iter()
                    .find(|(k, _)| k.name == "r")
                    .and_then(|(_, r)| r.spec.as_ref())
                    .and_then(|spec| spec.get("rule"))
                    .and_then(|rule| rule.as_str())
                    .unwrap_or_default()
                    .to_owned();
                (*at - start, rule)
            })
            .collect()
    })
}

#[test]
fn burst_gives_its_first_at_once_and_its_last_after_the_throttle() {
    paused(|| async {
        let rig = Rig::start(THROTTLE, true);
        sleep(ms(1)).await;
        let start = Instant::now();
        for i in 0..10 {
            rig.send(Feed::Snapshot(Box::new(snap(i))));
            sleep(ms(10)).await;
        }
        sleep(ms(500)).await;
        // The first write starts the cooldown, so the last one follows one throttle after it.
        assert_eq!(
            commit_rules(&rig, start),
            [
                (LATENCY, "Host(`h0`)".to_owned()),
                (THROTTLE + LATENCY, "Host(`h9`)".to_owned()),
            ]
        );
        let status = rig
            .last_status()
            .unwrap_or_else(|| panic!("status written"));
        assert!(status.healthy);
        assert_eq!(status.generation, 2);
        assert_eq!(
            (status.provider.as_str(), status.kind.as_str()),
            ("fake-a", "fake")
        );
    });
}

#[test]
fn an_isolated_change_is_published_at_once() {
    paused(|| async {
        let rig = Rig::start(Duration::from_secs(2), true);
        sleep(ms(1)).await;
        let start = Instant::now();
        rig.send(Feed::Snapshot(Box::new(snap(1))));
        sleep(Duration::from_secs(10)).await;
        let again = Instant::now();
        rig.send(Feed::Snapshot(Box::new(snap(2))));
        sleep(ms(100)).await;
        assert_eq!(
            commit_rules(&rig, start),
            [
                (LATENCY, "Host(`h1`)".to_owned()),
                (again - start + LATENCY, "Host(`h2`)".to_owned()),
            ]
        );
    });
}

#[test]
fn a_change_in_the_cooldown_waits_for_its_end() {
    paused(|| async {
        let rig = Rig::start(THROTTLE, true);
        sleep(ms(1)).await;
        let start = Instant::now();
        rig.send(Feed::Snapshot(Box::new(snap(1))));
        sleep(ms(150)).await;
        rig.send(Feed::Snapshot(Box::new(snap(2))));
        sleep(ms(100)).await;
        // Due when the first publish's cooldown ends, not one throttle after it arrived.
        assert_eq!(
            commit_rules(&rig, start),
            [
                (LATENCY, "Host(`h1`)".to_owned()),
                (THROTTLE + LATENCY, "Host(`h2`)".to_owned()),
            ]
        );
    });
}

#[test]
fn equal_snapshot_does_not_touch_the_bus() {
    paused(|| async {
        let rig = Rig::start(THROTTLE, true);
        rig.send(Feed::Snapshot(Box::new(snap(1))));
        sleep(ms(500)).await;
        let calls = rig.bus.with(|log| log.publish_calls);
        assert_eq!(calls, 1);
        rig.send(Feed::Snapshot(Box::new(snap(1))));
        sleep(ms(500)).await;
        assert_eq!(rig.bus.with(|log| log.publish_calls), calls);
        assert_eq!(rig.commits(), 1);
    });
}

#[test]
fn zero_throttle_publishes_at_once() {
    paused(|| async {
        let rig = Rig::start(Duration::ZERO, true);
        sleep(ms(1)).await;
        let start = Instant::now();
        rig.send(Feed::Snapshot(Box::new(snap(1))));
        sleep(ms(100)).await;
        let committed_at = rig.bus.with(|log| log.commits[0].0);
        assert_eq!(committed_at - start, LATENCY);
    });
}

#[test]
fn snapshots_before_the_bus_is_ready_wait_collapsed() {
    paused(|| async {
        let rig = Rig::start(THROTTLE, false);
        for i in 0..3 {
            rig.send(Feed::Snapshot(Box::new(snap(i))));
        }
        sleep(Duration::from_secs(2)).await;
        rig.publisher.do_send(BusReady(rig.bus.clone()));
        sleep(ms(50)).await;
        assert_eq!(rig.commits(), 1);
        assert_eq!(rig.held_rule().as_deref(), Some("Host(`h2`)"));
    });
}

#[test]
fn failed_publish_is_retried_with_backoff_on_a_resynced_publisher() {
    paused(|| async {
        let rig = Rig::start(Duration::ZERO, true);
        rig.bus.with(|log| log.fail_next = 3);
        sleep(ms(1)).await;
        let start = Instant::now();
        rig.send(Feed::Snapshot(Box::new(snap(1))));
        sleep(Duration::from_secs(2)).await;
        let (calls, resyncs, commits) = rig
            .bus
            .with(|log| (log.publish_calls, log.resyncs, log.commits.clone()));
        assert_eq!(calls, 4);
        assert_eq!(resyncs, 3, "each retry reads the bucket back first");
        assert_eq!(commits.len(), 1);
        // Four writes and backoffs of 100, 200 and 400 ms.
        assert_eq!(commits[0].0 - start, LATENCY * 4 + ms(700));
        // A later failure waits the shortest delay again.
        rig.bus.with(|log| log.fail_next = 1);
        let again = Instant::now();
        rig.send(Feed::Snapshot(Box::new(snap(2))));
        sleep(Duration::from_secs(1)).await;
        let last = rig.bus.with(|log| log.commits.last().map(|(at, _)| *at));
        assert_eq!(last.map(|at| at - again), Some(LATENCY * 2 + ms(100)));
    });
}

#[test]
fn watch_error_marks_unhealthy_keeps_config_and_restarts() {
    paused(|| async {
        let rig = Rig::start(Duration::ZERO, true);
        rig.send(Feed::Snapshot(Box::new(snap(1))));
        sleep(ms(100)).await;
        assert_eq!(rig.watches.get(), 1);
        rig.send(Feed::Fail("engine unreachable"));
        sleep(ms(50)).await;
        let status = rig
            .last_status()
            .unwrap_or_else(|| panic!("status written"));
        assert!(!status.healthy);
        assert_eq!(status.last_error.as_deref(), Some("engine unreachable"));
        assert_eq!(
            rig.held_rule().as_deref(),
            Some("Host(`h1`)"),
            "last known good stays"
        );
        // Restarted after the first backoff.
        sleep(ms(100)).await;
        assert_eq!(rig.watches.get(), 2);
        // An ended stream is a loss too; with no snapshot between, the wait grows.
        rig.send(Feed::End);
        sleep(ms(150)).await;
        assert_eq!(rig.watches.get(), 2, "second restart waits 200 ms");
        sleep(ms(100)).await;
        assert_eq!(rig.watches.get(), 3);
        let status = rig
            .last_status()
            .unwrap_or_else(|| panic!("status written"));
        assert_eq!(status.last_error.as_deref(), Some("watch ended"));
        // A snapshot from the new run makes it healthy again.
        rig.send(Feed::Snapshot(Box::new(snap(2))));
        sleep(ms(50)).await;
        let status = rig
            .last_status()
            .unwrap_or_else(|| panic!("status written"));
        assert!(status.healthy);
        assert_eq!(status.generation, 2);
        assert_eq!(rig.held_rule().as_deref(), Some("Host(`h2`)"));
    });
}

#[test]
fn snapshot_errors_are_reported_in_the_status() {
    paused(|| async {
        let rig = Rig::start(Duration::ZERO, true);
        let mut s = snap(1);
        s.errors = vec!["a.yml: bad".into(), "b.yml: worse".into()];
        rig.send(Feed::Snapshot(Box::new(s)));
        sleep(ms(50)).await;
        let status = rig
            .last_status()
            .unwrap_or_else(|| panic!("status written"));
        assert!(!status.healthy);
        assert_eq!(
            status.last_error.as_deref(),
            Some("a.yml: bad; b.yml: worse")
        );
        assert_eq!(
            rig.commits(),
            1,
            "the rest of the configuration is published"
        );
    });
}

#[test]
fn reconnect_resyncs_and_resends_state_and_status() {
    paused(|| async {
        let rig = Rig::start(THROTTLE, true);
        rig.send(Feed::Snapshot(Box::new(snap(1))));
        sleep(ms(500)).await;
        let (calls, statuses) = rig.bus.with(|log| (log.publish_calls, log.statuses.len()));
        rig.publisher.do_send(Reconnected);
        sleep(ms(50)).await;
        let (calls2, resyncs, statuses2) = rig
            .bus
            .with(|log| (log.publish_calls, log.resyncs, log.statuses.len()));
        assert_eq!(calls2, calls + 1);
        assert_eq!(resyncs, 1);
        assert_eq!(statuses2, statuses + 1);
        assert_eq!(rig.commits(), 1, "an unchanged bus gets no new commit");
        // Once is enough.
        sleep(ms(500)).await;
        assert_eq!(rig.bus.with(|log| log.publish_calls), calls2);
    });
}

#[test]
fn status_is_refreshed_every_30_seconds() {
    paused(|| async {
        let rig = Rig::start(THROTTLE, true);
        rig.send(Feed::Snapshot(Box::new(snap(1))));
        sleep(ms(500)).await;
        let first = rig.bus.with(|log| log.statuses.len());
        assert_eq!(first, 1);
        sleep(Duration::from_secs(61)).await;
        let times: Vec<Instant> = rig
            .bus
            .with(|log| log.statuses.iter().map(|(at, _)| *at).collect());
        assert_eq!(times.len(), 3);
        assert_eq!(times[1] - times[0], crate::status::REFRESH + LATENCY);
        assert_eq!(rig.commits(), 1);
    });
}

fn idle_provider() -> FakeProvider {
    let (_tx, rx) = mpsc::unbounded_channel();
    FakeProvider {
        feed: Rc::new(tokio::sync::Mutex::new(rx)),
        watches: Rc::new(Cell::new(0)),
    }
}

#[test]
fn start_refuses_an_invalid_name() {
    actix::System::new().block_on(async {
        let mut args = crate::HarnessArgs::new("nats://127.0.0.1:1");
        args.name = Some("Not_Valid".into());
        match super::start(idle_provider(), &args) {
            Err(super::HarnessError::InvalidName(reason)) => {
                assert!(reason.contains("Not_Valid"), "{reason}");
            }
            Err(other) => panic!("wrong error for an invalid name: {other}"),
            Ok(_) => panic!("an invalid name must be refused"),
        }
    });
}

#[test]
fn a_harness_without_nats_keeps_trying_and_stops_on_request() {
    actix::System::new().block_on(async {
        // Nothing listens on port 1: the connection is retried in the background.
        let args = crate::HarnessArgs::new("nats://127.0.0.1:1");
        let harness =
            super::start(idle_provider(), &args).unwrap_or_else(|e| panic!("valid arguments: {e}"));
        assert_eq!(harness.name(), "fake", "the name defaults to the kind");
        sleep(ms(300)).await;
        harness.stop();
        let stopped = tokio::time::timeout(Duration::from_secs(5), harness.wait()).await;
        assert!(stopped.is_ok(), "the harness stops");
    });
}

#[test]
fn stop_lets_a_write_in_flight_finish_and_drops_what_waits() {
    struct Case {
        case: &'static str,
        /// Snapshots sent before the stop, each followed by a pause (ms).
        before: Vec<(u32, u64)>,
        /// Commits and whether the publisher still runs, 1 ms after the stop.
        just_after: (usize, bool),
        /// Commits once everything settled.
        at_end: usize,
    }
    let cases = vec![
        Case {
            case: "idle: stops at once",
            before: vec![],
            just_after: (0, false),
            at_end: 0,
        },
        Case {
            case: "a publish in flight finishes before the stop",
            before: vec![(0, 1)],
            just_after: (0, true),
            at_end: 1,
        },
        Case {
            case: "a change waiting for the throttle is dropped",
            before: vec![(0, 20), (1, 1)],
            just_after: (1, false),
            at_end: 1,
        },
    ];
    for case in cases {
        paused(|| async {
            let rig = Rig::start(THROTTLE, true);
            // Let the first status write go through.
            sleep(ms(50)).await;
            for (n, pause) in &case.before {
                rig.send(Feed::Snapshot(Box::new(snap(*n))));
                sleep(ms(*pause)).await;
            }
            rig.publisher.do_send(Stop);
            sleep(ms(1)).await;
            assert_eq!(
                (rig.commits(), rig.publisher.connected()),
                case.just_after,
                "{}: just after the stop",
                case.case
            );
            sleep(ms(1000)).await;
            assert_eq!(rig.commits(), case.at_end, "{}: at the end", case.case);
            assert!(!rig.publisher.connected(), "{}: stopped", case.case);
        });
    }
}

#[test]
fn run_until_stops_the_harness_when_its_stop_future_completes() {
    actix::System::new().block_on(async {
        // No NATS: nothing is in flight, so the stop is immediate.
        let args = crate::HarnessArgs::new("nats://127.0.0.1:1");
        let harness =
            super::start(idle_provider(), &args).unwrap_or_else(|e| panic!("valid arguments: {e}"));
        let stop = async {
            sleep(ms(200)).await;
            crate::signals::StopSignal::Terminate
        };
        let ran = tokio::time::timeout(
            Duration::from_secs(5),
            harness.run_until(stop, super::SHUTDOWN_GRACE),
        )
        .await;
        assert!(ran.is_ok(), "run_until returns after the stop");
    });
}
