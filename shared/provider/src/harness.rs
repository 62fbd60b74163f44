//! Running a provider: two actors on the current arbiter and a connection task.
//!
//! - The watcher ([`watcher::WatcherActor`]) runs [`Provider::watch`], forwards snapshots,
//!   and restarts a lost watch with capped backoff.
//! - The publisher ([`publisher::PublisherActor`]) throttles (leading and trailing edge,
//!   see [`crate::outbox`]), drops unchanged snapshots,
//!   publishes through a [`ConfigSink`](crate::sink::ConfigSink), retries, resynchronises
//!   after a reconnect and keeps the provider's status on the bus.
//! - The connection task connects NATS and opens the buckets (retrying forever), hands the
//!   publisher its sink, then watches the client for reconnections.
//!
//! The watch starts at once: snapshots taken while NATS is still out of reach wait in the
//! publisher, collapsed to the latest.
//!
//! [`run`] also stops the harness on SIGTERM or SIGINT (see [`crate::signals`]): the watch
//! stops, a write already in flight gets [`SHUTDOWN_GRACE`] to finish, and `run` returns
//! `Ok`, so the service exits with status 0.

pub mod publisher;
#[cfg(test)]
mod tests;
pub mod watcher;

use std::future::Future;
use std::sync::atomic::Ordering;
use std::time::Duration;

use actix::prelude::*;
use switchyard_bus::nats::{NatsSettings, connect, open_buckets};
use tokio::sync::oneshot;
use tracing::{info, warn};

use crate::Provider;
use crate::args::HarnessArgs;
use crate::retry::Backoff;
use crate::signals::StopSignals;
use crate::sink::NatsSink;
use crate::status::{Identity, StatusBoard};
use publisher::{BusReady, PublisherActor, Reconnected, Stop};
use watcher::WatcherActor;

/// How often the NATS client is checked for a reconnection.
const RECONNECT_POLL: Duration = Duration::from_millis(250);

/// How long a stop waits for a write in flight before giving up on it. Well within the
/// 10 s that Docker and Kubernetes give by default before SIGKILL; what is not written
/// now is written in full by the next start.
pub const SHUTDOWN_GRACE: Duration = Duration::from_secs(2);

/// Why the harness cannot start.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum HarnessError {
    /// The provider name (from `--name`, or the provider's kind) is not a valid name.
    #[error("invalid provider name: {0}")]
    InvalidName(String),
    /// The SIGTERM/SIGINT handlers could not be installed.
    #[error("cannot install the SIGTERM/SIGINT handlers: {0}")]
    Signals(String),
}

/// A running harness.
pub struct Harness {
    name: String,
    publisher: Addr<PublisherActor<NatsSink>>,
    watcher: Recipient<Stop>,
    done: oneshot::Receiver<()>,
}

impl Harness {
    /// The provider's name on the bus.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// Stops the watch and the publisher (what is on the bus stays).
    pub fn stop(&self) {
        self.watcher.do_send(Stop);
        self.publisher.do_send(Stop);
    }

    /// Waits until the harness is stopped.
    pub async fn wait(self) {
        // A dropped sender means the publisher is gone too.
        let _ = self.done.await;
    }

    /// Runs until the harness stops by itself or `stop` completes (its output, such as
    /// the signal received, is logged); then stops the harness, giving a write in flight
    /// up to `grace` to finish.
    pub async fn run_until<F>(mut self, stop: F, grace: Duration)
    where
        F: Future,
        F::Output: std::fmt::Display,
    {
        let why = tokio::select! {
            _ = &mut self.done => return,
            why = stop => why,
        };
        info!(provider = %self.name, reason = %why, "stopping");
        self.stop();
        match tokio::time::timeout(grace, self.done).await {
            Ok(_) => info!(provider = %self.name, "stopped"),
            Err(_) => warn!(
                provider = %self.name,
                grace_ms = millis(grace),
                "a write to the bus did not finish in time; stopping anyway (the next start publishes the full state)"
            ),
        }
    }
}

/// Starts the harness for `provider` on the current actix arbiter.
///
/// Returns at once; the watch runs and the bus is connected in the background, each
/// retried forever. Must be called inside an actix system (`actix::System`).
pub fn start<P: Provider>(provider: P, args: &HarnessArgs) -> Result<Harness, HarnessError> {
    let kind = provider.kind();
    let name = args
        .provider_name(kind)
        .map_err(HarnessError::InvalidName)?;
    let instance = args.instance();
    let settings = args.nats_settings();
    let board = StatusBoard::new(Identity {
        provider: name.clone(),
        kind: kind.to_owned(),
        instance: instance.clone(),
    });
    let (done_tx, done) = oneshot::channel();
    let publisher = PublisherActor::<NatsSink>::new(name.clone(), args.throttle, board)
        .notify_stop(done_tx)
        .start();
    let watcher = WatcherActor::new(name.clone(), provider, publisher.clone().recipient()).start();
    info!(
        provider = %name,
        kind,
        instance = %instance,
        throttle_ms = u64::try_from(args.throttle.as_millis()).unwrap_or(u64::MAX),
        nats = %settings.url,
        "provider harness started"
    );
    actix::spawn(connect_bus(settings, name.clone(), publisher.clone()));
    Ok(Harness {
        name,
        publisher,
        watcher: watcher.recipient(),
        done,
    })
}

/// Runs the harness for `provider` until SIGTERM or SIGINT (then stops it cleanly, see
/// [`Harness::run_until`] and [`SHUTDOWN_GRACE`], and returns `Ok`). Must be awaited
/// inside an actix system; fails only on invalid arguments or if the signal handlers
/// cannot be installed.
pub async fn run<P: Provider>(provider: P, args: HarnessArgs) -> Result<(), HarnessError> {
    // First, so that a signal during startup is not lost (or ignored, as PID 1).
    let mut signals = StopSignals::install().map_err(|e| HarnessError::Signals(e.to_string()))?;
    let harness = start(provider, &args)?;
    harness
        .run_until(async move { signals.recv().await }, SHUTDOWN_GRACE)
        .await;
    Ok(())
}

/// Runs the harness in a new actix system on the current thread (a discovery service's
/// `main`).
pub fn run_blocking<P: Provider>(provider: P, args: HarnessArgs) -> Result<(), HarnessError> {
    actix::System::new().block_on(run(provider, args))
}

/// Connects NATS, opens the buckets and hands the publisher its sink, each retried with
/// backoff; then reports reconnections until the publisher stops.
async fn connect_bus(
    settings: NatsSettings,
    name: String,
    publisher: Addr<PublisherActor<NatsSink>>,
) {
    let client_name = format!("switchyard-discovery-{name}");
    let replicas = settings.replicas.unwrap_or(1).max(1);
    let mut retry = Backoff::new();
    let client = loop {
        if !publisher.connected() {
            return;
        }
        match connect(&settings, &client_name).await {
            Ok(client) => break client,
            Err(e) => {
                let wait = retry.failed();
                warn!(provider = %name, error = %e, retry_in_ms = millis(wait), "connecting to NATS failed");
                tokio::time::sleep(wait).await;
            }
        }
    };
    retry.reset();
    let sink = loop {
        if !publisher.connected() {
            return;
        }
        let opened = open_buckets(&client, replicas)
            .await
            .and_then(|buckets| NatsSink::new(client.clone(), &buckets, replicas, &name));
        match opened {
            Ok(sink) => break sink,
            Err(e) => {
                let wait = retry.failed();
                warn!(provider = %name, error = %e, retry_in_ms = millis(wait), "opening the buckets failed");
                tokio::time::sleep(wait).await;
            }
        }
    };
    // The client reconnects by itself; what it cannot know is that the bucket may have
    // been lost or changed meanwhile, so each new connection triggers a resync.
    let stats = client.statistics();
    let mut seen = stats.connects.load(Ordering::Relaxed);
    publisher.do_send(BusReady(sink));
    let mut poll = tokio::time::interval(RECONNECT_POLL);
    poll.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Skip);
    loop {
        poll.tick().await;
        if !publisher.connected() {
            return;
        }
        let connects = stats.connects.load(Ordering::Relaxed);
        if connects > seen {
            seen = connects;
            publisher.do_send(Reconnected);
        }
    }
}

fn millis(d: Duration) -> u64 {
    u64::try_from(d.as_millis()).unwrap_or(u64::MAX)
}
