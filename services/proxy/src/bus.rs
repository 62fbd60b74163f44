//! The config actor: follows the bus (configuration and server health), compiles
//! snapshots and swaps them in, and publishes this replica's heartbeat.
//!
//! The actor is a thin shell around [`BusState`]; watch loops run as tasks that send it
//! messages, and reconnect forever with capped backoff. While NATS is unreachable the last
//! snapshot keeps serving. When the client reconnects, every watch is reopened and its
//! full catch-up replaces what the actor holds (keys deleted meanwhile are dropped).

use std::collections::HashSet;
use std::sync::Arc;
use std::time::Duration;

use actix::prelude::*;
use switchyard_bus::follow::{Batch, Event};
use switchyard_bus::keys::parse_health_key;
use switchyard_bus::messages::{DisabledRouter, Heartbeat, ServerHealth};
use switchyard_bus::nats::{
    BucketEntry, BucketEvent, Buckets, Reconnects, follow_bucket, follow_config_reopening, now_ms,
    open_buckets_retrying,
};
use tracing::{info, warn};

use crate::ready::{Part, Readiness};
use crate::server::Shared;
use crate::state::BusState;
use crate::tls::{HostOptions, TlsAcceptor, TlsState};

/// A TLS entrypoint whose per-host TLS options follow the configuration.
#[derive(Clone)]
pub struct TlsEntryPoint {
    /// The entrypoint's name.
    pub name: Arc<str>,
    /// Its acceptor.
    pub acceptor: Arc<TlsAcceptor>,
    /// `entryPoints.<name>.http.tls.options`, for routers without their own.
    pub default_options: Option<String>,
}

/// What the actor needs for TLS.
pub struct TlsWiring {
    /// The certificate store.
    pub state: Arc<TlsState>,
    /// The TLS entrypoints.
    pub entry_points: Vec<TlsEntryPoint>,
    /// The key that opens private keys on the bus (`None`: bus certificates are refused).
    pub seal: Option<switchyard_bus::SealKey>,
}

/// Apply a config batch.
#[derive(Message)]
#[rtype(result = "()")]
pub struct ApplyBatch(pub Batch);

/// A key of the certificates or challenges bucket changed (`None`: deleted).
#[derive(Message)]
#[rtype(result = "()")]
pub enum BusEntry {
    /// `switchyard_certs_v1`.
    Certificate(String, Option<bytes::Bytes>),
    /// `switchyard_challenges_v1`.
    Challenge(String, Option<bytes::Bytes>),
}

/// A server's health changed; a deleted key means up (no longer checked).
#[derive(Message)]
#[rtype(result = "()")]
pub struct HealthChanged {
    /// Qualified service name.
    pub service: String,
    /// Server URL.
    pub server: String,
    /// Whether it takes traffic.
    pub up: bool,
}

/// The health watch (re)opened and delivered the bucket's complete state: these
/// (service, server) pairs are down, every other server is up.
#[derive(Message)]
#[rtype(result = "()")]
pub struct HealthReplaced(pub HashSet<(String, String)>);

/// Which bucket a [`BusCaughtUp`] is about.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Watched {
    /// `switchyard_certs_v1`.
    Certificates,
    /// `switchyard_challenges_v1`.
    Challenges,
}

/// A certificates or challenges watch (re)opened and delivered every key the bucket holds
/// (already sent one by one as [`BusEntry`]); whatever else the actor holds from that
/// bucket was deleted meanwhile.
#[derive(Message)]
#[rtype(result = "()")]
pub struct BusCaughtUp(pub Watched, pub HashSet<String>);

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
    tls: TlsWiring,
    metrics: Arc<crate::observe::Metrics>,
    reconnects: Reconnects,
    ready: Arc<Readiness>,
    /// Keys of the certificates bucket loaded into the TLS store.
    bus_certificates: HashSet<String>,
    /// Keys of TLS-ALPN-01 challenges loaded into the TLS store.
    bus_alpn_challenges: HashSet<String>,
}

impl ConfigActor {
    /// An actor that will connect the buckets on start; `reconnects` reopens its watches,
    /// `ready` records the first catch-ups (what `/ping` waits for).
    #[allow(clippy::too_many_arguments)]
    pub fn new(
        state: BusState,
        shared: Arc<Shared>,
        instance: String,
        client: async_nats::Client,
        replicas: usize,
        tls: TlsWiring,
        metrics: Arc<crate::observe::Metrics>,
        reconnects: Reconnects,
        ready: Arc<Readiness>,
    ) -> Self {
        Self {
            state,
            shared,
            instance,
            started_at_ms: now_ms(),
            client,
            replicas,
            tls,
            metrics,
            reconnects,
            ready,
            bus_certificates: HashSet::new(),
            bus_alpn_challenges: HashSet::new(),
        }
    }

    /// Applies a snapshot's TLS settings: certificates and options from the configuration,
    /// and each TLS entrypoint's options per host.
    fn apply_tls(&self, snapshot: &crate::snapshot::Snapshot) {
        for problem in self.tls.state.apply_config(&snapshot.tls) {
            warn!(%problem, "TLS configuration");
        }
        for ep in &self.tls.entry_points {
            let mut builder = HostOptions::builder();
            let routers = snapshot
                .table
                .routes()
                .iter()
                .filter(|r| r.on_entry_point(&ep.name))
                .map(|r| (r.name.as_str(), &r.router));
            for (router, e) in builder.add_routers(routers, ep.default_options.as_deref()) {
                warn!(%router, error = %e, "TLS options of router");
            }
            let (hosts, conflicts) = builder.build();
            for conflict in conflicts {
                warn!(
                    ?conflict,
                    "routers of one host name different TLS options; the host uses `default`"
                );
            }
            ep.acceptor.set_host_options(hosts);
        }
    }

    /// Exports every served certificate's expiry (`*_tls_certs_not_after`).
    fn export_certificates(&self) {
        self.metrics.clear_certs();
        for (id, cert) in self.tls.state.certificates() {
            let names = cert.names();
            let cn = names.first().map(String::as_str).unwrap_or_default();
            self.metrics
                .set_cert_not_after(cn, &id, names, cert.not_after());
        }
    }

    fn certificate(&mut self, key: &str, value: Option<&[u8]>) {
        let Some(value) = value else {
            self.tls.state.remove(key);
            self.bus_certificates.remove(key);
            return;
        };
        self.bus_certificates.insert(key.to_owned());
        let Some(seal) = &self.tls.seal else {
            warn!(%key, "a certificate is on the bus but no bus secret is configured (busSecretFile / SWITCHYARD_BUS_SECRET)");
            return;
        };
        match serde_json::from_slice::<switchyard_bus::messages::CertificateRecord>(value) {
            Ok(record) => match self.tls.state.upsert_record(key, &record, seal) {
                Ok(_) => info!(%key, domains = ?record.domains, "certificate from the bus"),
                Err(e) => warn!(%key, error = %e, "certificate from the bus refused"),
            },
            Err(e) => warn!(%key, error = %e, "certificate record does not decode"),
        }
    }

    fn challenge(&mut self, key: &str, value: Option<&[u8]>) {
        if let Some(token_key) = key.strip_prefix("http01.") {
            let mut map = (**self.shared.acme_http01.load()).clone();
            match value.map(serde_json::from_slice::<switchyard_bus::messages::Http01Challenge>) {
                Some(Ok(challenge)) => {
                    map.insert(challenge.token, challenge.key_authorization);
                }
                Some(Err(e)) => {
                    warn!(%key, error = %e, "HTTP-01 challenge does not decode");
                    return;
                }
                None => {
                    if let Ok(token) = switchyard_bus::keys::unescape_token(token_key) {
                        map.remove(&token);
                    }
                }
            }
            self.shared.acme_http01.store(Arc::new(map));
        } else if let Some(domain_key) = key.strip_prefix("tlsalpn01.") {
            match value {
                None => {
                    self.bus_alpn_challenges.remove(key);
                    if let Ok(domain) = switchyard_bus::keys::unescape_token(domain_key) {
                        self.tls.state.remove_challenge(&domain);
                    }
                }
                Some(bytes) => {
                    self.bus_alpn_challenges.insert(key.to_owned());
                    let Some(seal) = &self.tls.seal else {
                        warn!(%key, "a TLS-ALPN-01 challenge is on the bus but no bus secret is configured");
                        return;
                    };
                    match serde_json::from_slice::<switchyard_bus::messages::TlsAlpn01Challenge>(
                        bytes,
                    ) {
                        Ok(challenge) => {
                            if let Err(e) = self
                                .tls
                                .state
                                .upsert_challenge_record(key, &challenge, seal)
                            {
                                warn!(%key, error = %e, "TLS-ALPN-01 challenge refused");
                            }
                        }
                        Err(e) => warn!(%key, error = %e, "TLS-ALPN-01 challenge does not decode"),
                    }
                }
            }
        }
    }

    /// Drops what the actor holds from `bucket` under keys that the bucket no longer has.
    fn prune(&mut self, bucket: Watched, present: &HashSet<String>) {
        match bucket {
            Watched::Certificates => {
                let gone = stale(&self.bus_certificates, present);
                for key in &gone {
                    info!(%key, "certificate deleted from the bus while away");
                    self.certificate(key, None);
                }
                self.ready.caught_up(Part::Certificates);
            }
            Watched::Challenges => {
                for key in stale(&self.bus_alpn_challenges, present) {
                    self.challenge(&key, None);
                }
                let map = self.shared.acme_http01.load();
                let keep: std::collections::HashMap<String, String> = map
                    .iter()
                    .filter(|(token, _)| present.contains(&switchyard_bus::keys::http01_key(token)))
                    .map(|(t, k)| (t.clone(), k.clone()))
                    .collect();
                if keep.len() != map.len() {
                    self.shared.acme_http01.store(Arc::new(keep));
                }
            }
        }
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
                .map(|(router, reasons)| DisabledRouter {
                    router: router.clone(),
                    reasons: reasons.clone(),
                })
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
            addr.do_send(Connected(open_buckets_retrying(&client, replicas).await));
        });
    }
}

impl Handler<Connected> for ConfigActor {
    type Result = ();

    fn handle(&mut self, Connected(buckets): Connected, ctx: &mut Self::Context) {
        info!("bus buckets open; following configuration and health");
        let addr = ctx.address();
        actix::spawn(follow_config_reopening(
            buckets.config.clone(),
            self.reconnects.clone(),
            move |event| match event {
                Event::Apply(batch) => addr.do_send(ApplyBatch(batch)),
                Event::Status(status) => {
                    tracing::debug!(provider = %status.provider, healthy = status.healthy, "provider status")
                }
                Event::Rejected(e) => {
                    warn!(error = %e, "ignoring a config entry that does not follow the bus contract")
                }
            },
        ));
        actix::spawn(follow_bucket(
            buckets.health.clone(),
            ">",
            "health",
            self.reconnects.clone(),
            health_events(ctx.address()),
        ));
        for (kv, bucket) in [
            (buckets.certs.clone(), Watched::Certificates),
            (buckets.challenges.clone(), Watched::Challenges),
        ] {
            let addr = ctx.address();
            let wrap = match bucket {
                Watched::Certificates => BusEntry::Certificate,
                Watched::Challenges => BusEntry::Challenge,
            };
            let name = match bucket {
                Watched::Certificates => "certificates",
                Watched::Challenges => "challenges",
            };
            actix::spawn(follow_bucket(
                kv,
                ">",
                name,
                self.reconnects.clone(),
                move |event| match event {
                    BucketEvent::Opened => {}
                    BucketEvent::Entry(BucketEntry { key, value, .. }) => {
                        addr.do_send(wrap(key, value))
                    }
                    BucketEvent::CaughtUp(keys) => addr.do_send(BusCaughtUp(bucket, keys)),
                },
            ));
        }
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
        self.apply_tls(&snapshot);
        self.export_certificates();
        self.shared.snapshot.store(snapshot);
        if full {
            self.ready.caught_up(Part::Config);
        }
    }
}

impl Handler<HealthChanged> for ConfigActor {
    type Result = ();

    fn handle(&mut self, h: HealthChanged, _: &mut Self::Context) {
        let current = self.shared.snapshot.load();
        self.state.set_health(&current, &h.service, &h.server, h.up);
    }
}

impl Handler<HealthReplaced> for ConfigActor {
    type Result = ();

    fn handle(&mut self, HealthReplaced(down): HealthReplaced, _: &mut Self::Context) {
        let current = self.shared.snapshot.load();
        info!(down = down.len(), "server health caught up");
        self.state.replace_health(&current, down);
        self.ready.caught_up(Part::Health);
    }
}

impl Handler<BusCaughtUp> for ConfigActor {
    type Result = ();

    fn handle(&mut self, BusCaughtUp(bucket, present): BusCaughtUp, _: &mut Self::Context) {
        info!(bucket = ?bucket, keys = present.len(), "bus bucket caught up");
        self.prune(bucket, &present);
        if bucket == Watched::Certificates {
            self.export_certificates();
        }
    }
}

/// The keys of `held` that are not in `present`, sorted.
fn stale(held: &HashSet<String>, present: &HashSet<String>) -> Vec<String> {
    let mut gone: Vec<String> = held.difference(present).cloned().collect();
    gone.sort();
    gone
}

impl Handler<BusEntry> for ConfigActor {
    type Result = ();

    fn handle(&mut self, entry: BusEntry, _: &mut Self::Context) {
        match entry {
            BusEntry::Certificate(key, value) => {
                self.certificate(&key, value.as_deref());
                self.export_certificates();
            }
            BusEntry::Challenge(key, value) => self.challenge(&key, value.as_deref()),
        }
    }
}

/// What one health entry says: (service, server) and whether it is up; `None` for an
/// entry outside the contract (logged).
fn read_health(key: &str, value: Option<&[u8]>) -> Option<((String, String), bool)> {
    let parsed = match parse_health_key(key) {
        Ok(parsed) => parsed,
        Err(e) => {
            warn!(error = %e, "ignoring a health key");
            return None;
        }
    };
    let Some(value) = value else {
        return Some((parsed, true));
    };
    match serde_json::from_slice::<ServerHealth>(value) {
        // The key is the address; the payload's own names are informative.
        Ok(h) => Some((parsed, h.up)),
        Err(e) => {
            warn!(%key, error = %e, "ignoring a health entry");
            None
        }
    }
}

/// The health watch's handler: collects the replay into the set of servers that are down
/// (sent whole as [`HealthReplaced`]), then forwards each change.
fn health_events(addr: Addr<ConfigActor>) -> impl FnMut(BucketEvent) {
    let mut replay: Option<HashSet<(String, String)>> = None;
    move |event| match event {
        BucketEvent::Opened => replay = Some(HashSet::new()),
        BucketEvent::Entry(BucketEntry { key, value, .. }) => {
            let Some((pair, up)) = read_health(&key, value.as_deref()) else {
                return;
            };
            match &mut replay {
                Some(down) => {
                    if up {
                        down.remove(&pair);
                    } else {
                        down.insert(pair);
                    }
                }
                None => {
                    let (service, server) = pair;
                    addr.do_send(HealthChanged {
                        service,
                        server,
                        up,
                    });
                }
            }
        }
        BucketEvent::CaughtUp(_) => {
            if let Some(down) = replay.take() {
                addr.do_send(HealthReplaced(down));
            }
        }
    }
}
