//! The config actor: follows the bus (configuration and server health), compiles
//! snapshots and swaps them in, and publishes this replica's heartbeat.
//!
//! The actor is a thin shell around [`BusState`]; watch loops run as tasks that send it
//! messages, and reconnect forever with capped backoff. While NATS is unreachable the last
//! snapshot keeps serving.

use std::sync::Arc;
use std::time::Duration;

use actix::prelude::*;
use futures::StreamExt as _;
use switchyard_bus::follow::{Batch, Event};
use switchyard_bus::messages::{DisabledRouter, Heartbeat, ServerHealth};
use switchyard_bus::nats::{Buckets, backoff, follow_config, now_ms, open_buckets};
use tracing::{info, warn};

use crate::server::Shared;
use crate::state::BusState;

/// Apply a config batch.
#[derive(Message)]
#[rtype(result = "()")]
pub struct ApplyBatch(pub Batch);

/// A server's health changed.
#[derive(Message)]
#[rtype(result = "()")]
pub struct HealthChanged(pub ServerHealth);

/// Buckets are open: start the watches and the heartbeat.
#[derive(Message)]
#[rtype(result = "()")]
struct Connected(Buckets);

/// The config actor.
pub struct ConfigActor {
    state: BusState,
    shared: Arc<Shared>,
    instance: String,
    started_at_ms: u64,
    client: async_nats::Client,
    replicas: usize,
}

impl ConfigActor {
    /// An actor that will connect the buckets on start.
    pub fn new(state: BusState, shared: Arc<Shared>, instance: String, client: async_nats::Client, replicas: usize) -> Self {
        Self { state, shared, instance, started_at_ms: now_ms(), client, replicas }
    }

    fn heartbeat(&self) -> Heartbeat {
        let snapshot = self.shared.snapshot.load();
        Heartbeat {
            instance: self.instance.clone(),
            config_revision: snapshot.revision,
            routers_enabled: snapshot.table.len() as u64,
            routers_disabled: snapshot.disabled.len() as u64,
            disabled: snapshot
                .disabled
                .iter()
                .take(50)
                .map(|(router, reasons)| DisabledRouter { router: router.clone(), reasons: reasons.clone() })
                .collect(),
            version: env!("CARGO_PKG_VERSION").to_owned(),
            started_at_ms: self.started_at_ms,
            sent_at_ms: now_ms(),
        }
    }
}

impl Actor for ConfigActor {
    type Context = Context<Self>;

    fn started(&mut self, ctx: &mut Self::Context) {
        let client = self.client.clone();
        let replicas = self.replicas;
        let addr = ctx.address();
        actix::spawn(async move {
            let mut attempt = 0;
            loop {
                match open_buckets(&client, replicas).await {
                    Ok(buckets) => {
                        addr.do_send(Connected(buckets));
                        return;
                    }
                    Err(e) => {
                        warn!(error = %e, "cannot open the bus buckets yet; serving the last known configuration");
                        tokio::time::sleep(backoff(attempt)).await;
                        attempt += 1;
                    }
                }
            }
        });
    }
}

impl Handler<Connected> for ConfigActor {
    type Result = ();

    fn handle(&mut self, Connected(buckets): Connected, ctx: &mut Self::Context) {
        info!("bus buckets open; following configuration and health");
        let addr = ctx.address();
        actix::spawn(follow_config(buckets.config.clone(), move |event| match event {
            Event::Apply(batch) => addr.do_send(ApplyBatch(batch)),
            Event::Status(status) => tracing::debug!(provider = %status.provider, healthy = status.healthy, "provider status"),
            Event::Rejected(e) => warn!(error = %e, "ignoring a config entry that does not follow the bus contract"),
        }));
        let addr = ctx.address();
        let health = buckets.health.clone();
        actix::spawn(async move {
            let mut attempt = 0;
            loop {
                match health.watch_with_history(">").await {
                    Ok(mut watch) => {
                        attempt = 0;
                        while let Some(entry) = watch.next().await {
                            let Ok(entry) = entry else { break };
                            if entry.operation != async_nats::jetstream::kv::Operation::Put {
                                continue;
                            }
                            match serde_json::from_slice::<ServerHealth>(&entry.value) {
                                Ok(h) => addr.do_send(HealthChanged(h)),
                                Err(e) => warn!(key = %entry.key, error = %e, "ignoring a health entry"),
                            }
                        }
                    }
                    Err(e) => warn!(error = %e, "health watch failed"),
                }
                tokio::time::sleep(backoff(attempt)).await;
                attempt += 1;
            }
        });
        let proxies = buckets.proxies.clone();
        ctx.run_interval(Duration::from_secs(5), move |actor, _| {
            let beat = actor.heartbeat();
            let kv = proxies.clone();
            let key = switchyard_bus::keys::escape_token(&beat.instance);
            actix::spawn(async move {
                let bytes = serde_json::to_vec(&beat).unwrap_or_default();
                if let Err(e) = kv.put(key, bytes.into()).await {
                    tracing::debug!(error = %e, "heartbeat not sent");
                }
            });
        });
    }
}

impl Handler<ApplyBatch> for ConfigActor {
    type Result = ();

    fn handle(&mut self, ApplyBatch(batch): ApplyBatch, _: &mut Self::Context) {
        let changes = batch.changes.len();
        let full = batch.full;
        let snapshot = self.state.apply(batch);
        info!(
            revision = snapshot.revision,
            changes,
            full,
            routers = snapshot.table.len(),
            disabled = snapshot.disabled.len(),
            "configuration applied"
        );
        for (router, reasons) in &snapshot.disabled {
            warn!(router = %router, reasons = ?reasons, "router disabled");
        }
        self.shared.snapshot.store(snapshot);
    }
}

impl Handler<HealthChanged> for ConfigActor {
    type Result = ();

    fn handle(&mut self, HealthChanged(h): HealthChanged, _: &mut Self::Context) {
        let current = self.shared.snapshot.load();
        self.state.set_health(&current, &h.service, &h.server, h.up);
    }
}
