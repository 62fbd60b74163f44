//! The publisher actor: a thin shell around [`Outbox`] and [`StatusBoard`] that performs
//! their decisions on a [`ConfigSink`], one write at a time.
//!
//! The sink is moved into each write and handed back when it completes, so "no sink"
//! means either "not connected yet" or "a write is in flight"; both mean wait. After every
//! event the actor asks the logic what to do, and arms a single timer for the next instant
//! at which the answer could change.

use std::collections::BTreeMap;
use std::time::Duration;

use actix::prelude::*;
use switchyard_bus::messages::ProviderStatus;
use switchyard_bus::nats::{BusError, PublishReport, now_ms};
use switchyard_bus::record::to_records;
use switchyard_bus::{ConfigKey, Record};
use tokio::sync::oneshot;
use tokio::time::Instant;
use tracing::{debug, info, warn};

use crate::Snapshot;
use crate::outbox::{Job, Next, Outbox};
use crate::sink::ConfigSink;
use crate::status::StatusBoard;

/// What the watch reports.
#[derive(Debug, Message)]
#[rtype(result = "()")]
pub enum WatchEvent {
    /// A snapshot arrived.
    Snapshot(Box<Snapshot>),
    /// The watch failed or ended (why); it is restarted, the published state stays.
    Lost(String),
}

/// The bus is ready: the sink to publish through.
pub struct BusReady<S>(pub S);

impl<S: 'static> Message for BusReady<S> {
    type Result = ();
}

/// NATS reconnected: republish the current state and status on a resynchronised publisher.
#[derive(Debug, Message)]
#[rtype(result = "()")]
pub struct Reconnected;

/// Stops an actor of the harness. The publisher first lets a write already in flight
/// finish (so a shutdown does not cut a publish short when the bus answers), and drops
/// what is still waiting for the throttle: the next start publishes the full state.
#[derive(Debug, Message)]
#[rtype(result = "()")]
pub struct Stop;

/// Publishes a provider's snapshots and status.
pub struct PublisherActor<S: ConfigSink> {
    name: String,
    outbox: Outbox,
    board: StatusBoard,
    sink: Option<S>,
    timer: Option<SpawnHandle>,
    on_stop: Option<oneshot::Sender<()>>,
    /// A write to the sink is under way (the sink is moved into it).
    in_flight: bool,
    /// [`Stop`] arrived: stop once no write is in flight.
    stopping: bool,
}

impl<S: ConfigSink> PublisherActor<S> {
    /// An actor publishing as `name`, at once after a quiet period and then at most once
    /// per `throttle` (see [`crate::outbox`]); it waits for [`BusReady`] before writing
    /// anything.
    pub fn new(name: String, throttle: Duration, board: StatusBoard) -> Self {
        Self {
            name,
            outbox: Outbox::new(throttle),
            board,
            sink: None,
            timer: None,
            on_stop: None,
            in_flight: false,
            stopping: false,
        }
    }

    /// Signals `done` when the actor stops.
    pub fn notify_stop(mut self, done: oneshot::Sender<()>) -> Self {
        self.on_stop = Some(done);
        self
    }

    /// Does what the logic asks for now, or arms the timer for when it will.
    fn drive(&mut self, ctx: &mut Context<Self>) {
        if let Some(timer) = self.timer.take() {
            ctx.cancel_future(timer);
        }
        if self.stopping {
            if !self.in_flight {
                ctx.stop();
            }
            return;
        }
        let Some(sink) = self.sink.take() else {
            return;
        };
        let now = Instant::now();
        let mut wake = None;
        match self.outbox.next(now) {
            Next::Publish(job) => return self.publish(sink, *job, ctx),
            Next::WakeAt(at) => wake = Some(at),
            Next::Idle => {}
        }
        if let Some(status) = self.board.due(now) {
            return self.write_status(sink, status, ctx);
        }
        self.sink = Some(sink);
        let wake = match (wake, self.board.wake_at()) {
            (Some(a), Some(b)) => Some(a.min(b)),
            (a, b) => a.or(b),
        };
        if let Some(at) = wake {
            let handle = ctx.run_later(at.saturating_duration_since(now), |act, ctx| {
                act.timer = None;
                act.drive(ctx);
            });
            self.timer = Some(handle);
        }
    }

    fn publish(&mut self, mut sink: S, job: Job, ctx: &mut Context<Self>) {
        let records = to_records(&self.name, &job.snapshot.config, &job.snapshot.problems);
        let resync = job.resync;
        self.in_flight = true;
        let write = async move {
            let result = publish_on(&mut sink, &records, resync).await;
            (sink, result)
        };
        ctx.spawn(write.into_actor(self).map(move |(sink, result), act, ctx| {
            act.in_flight = false;
            act.sink = Some(sink);
            act.published(job, result);
            act.drive(ctx);
        }));
    }

    fn published(&mut self, job: Job, result: Result<PublishReport, BusError>) {
        let now = Instant::now();
        match result {
            Ok(report) => {
                let since_arrival_ms = millis(now.saturating_duration_since(job.arrived_at));
                let since_first_ms = millis(now.saturating_duration_since(job.first_arrived_at));
                if report.puts + report.deletes > 0 {
                    info!(
                        provider = %self.name,
                        puts = report.puts,
                        deletes = report.deletes,
                        generation = report.generation,
                        snapshots = job.received,
                        since_arrival_ms,
                        since_first_ms,
                        "published snapshot"
                    );
                } else {
                    debug!(
                        provider = %self.name,
                        generation = report.generation,
                        since_arrival_ms,
                        "snapshot already on the bus; nothing written"
                    );
                }
                self.board
                    .published(&job.snapshot.errors, report.generation, now_ms());
                self.outbox.published(job);
            }
            Err(e) => {
                let retry_in = self.outbox.failed(job, now);
                warn!(
                    provider = %self.name,
                    error = %e,
                    failures = self.outbox.failures(),
                    retry_in_ms = millis(retry_in),
                    "publishing failed; the snapshot stays pending"
                );
            }
        }
    }

    fn write_status(&mut self, mut sink: S, status: ProviderStatus, ctx: &mut Context<Self>) {
        self.in_flight = true;
        let write = async move {
            let result = sink.publish_status(&status).await;
            (sink, status, result)
        };
        ctx.spawn(
            write
                .into_actor(self)
                .map(|(sink, status, result), act, ctx| {
                    act.in_flight = false;
                    act.sink = Some(sink);
                    let now = Instant::now();
                    match result {
                        Ok(()) => {
                            debug!(provider = %act.name, healthy = status.healthy, "status written");
                            act.board.written(status, now);
                        }
                        Err(e) => {
                            let retry_in = act.board.write_failed(now);
                            warn!(
                                provider = %act.name,
                                error = %e,
                                retry_in_ms = millis(retry_in),
                                "writing the status failed"
                            );
                        }
                    }
                    act.drive(ctx);
                }),
        );
    }
}

async fn publish_on<S: ConfigSink>(
    sink: &mut S,
    records: &BTreeMap<ConfigKey, Record>,
    resync: bool,
) -> Result<PublishReport, BusError> {
    if resync {
        sink.resync().await?;
    }
    sink.publish(records).await
}

fn millis(d: Duration) -> u64 {
    u64::try_from(d.as_millis()).unwrap_or(u64::MAX)
}

impl<S: ConfigSink> Actor for PublisherActor<S> {
    type Context = Context<Self>;

    fn stopped(&mut self, _: &mut Self::Context) {
        if let Some(done) = self.on_stop.take() {
            let _ = done.send(());
        }
    }
}

impl<S: ConfigSink> Handler<WatchEvent> for PublisherActor<S> {
    type Result = ();

    fn handle(&mut self, event: WatchEvent, ctx: &mut Self::Context) {
        match event {
            WatchEvent::Snapshot(snapshot) => {
                self.board.watch_delivered();
                self.outbox.received(*snapshot, Instant::now());
            }
            WatchEvent::Lost(reason) => self.board.watch_failed(reason),
        }
        self.drive(ctx);
    }
}

impl<S: ConfigSink> Handler<BusReady<S>> for PublisherActor<S> {
    type Result = ();

    fn handle(&mut self, BusReady(sink): BusReady<S>, ctx: &mut Self::Context) {
        info!(provider = %self.name, "bus ready");
        self.sink = Some(sink);
        self.drive(ctx);
    }
}

impl<S: ConfigSink> Handler<Reconnected> for PublisherActor<S> {
    type Result = ();

    fn handle(&mut self, _: Reconnected, ctx: &mut Self::Context) {
        info!(provider = %self.name, "NATS reconnected; resending the current state");
        self.outbox.reconnected(Instant::now());
        self.board.reconnected();
        self.drive(ctx);
    }
}

impl<S: ConfigSink> Handler<Stop> for PublisherActor<S> {
    type Result = ();

    fn handle(&mut self, _: Stop, ctx: &mut Self::Context) {
        if self.in_flight {
            info!(provider = %self.name, "stopping after the write in flight");
        }
        self.stopping = true;
        self.drive(ctx);
    }
}
