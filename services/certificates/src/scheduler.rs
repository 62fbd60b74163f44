//! The scheduler actor: follows the config and certs buckets, and — only while this
//! instance holds the lease — starts ACME orders, renews, publishes static certificates,
//! deletes expired unwanted ones and writes status. A standby follows the same buckets so
//! it takes over with a warm view.
//!
//! The actor is a shell around [`Planner`] and the plain functions of [`crate::domains`]
//! and [`crate::records`]; ACME calls run as futures it owns, cancelled when the lease is lost.

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::sync::Arc;
use std::time::Duration;

use actix::prelude::*;
use async_nats::jetstream::kv;
use instant_acme::Account;
use switchyard_bus::SealKey;
use switchyard_bus::follow::{ConfigView, Event};
use switchyard_bus::keys::{certificate_status_key, file_certificate_key};
use switchyard_bus::messages::{CertificateRecord, CertificateSource, CertificateStatus};
use switchyard_bus::nats::{
    BucketEntry, BucketEvent, Reconnects, follow_bucket, follow_config_reopening, now_ms,
};
use switchyard_merge::{MergeOptions, merge_providers};
use switchyard_model::ResourceKind;
use switchyard_model::tls::CertAndStores;
use tracing::{debug, error, info, warn};

use crate::acme::{self, Http};
use crate::config::Resolver;
use crate::domains::{Skipped, demand};
use crate::plan::{Failure, Held, Planner, Start};
use crate::records::{self, Leaf, read_leaf};

/// An ARI lookup to make: certificate id, resolver, (AKI, serial).
type AriCheck = (String, String, (Vec<u8>, Vec<u8>));

/// The buckets the scheduler uses.
#[derive(Clone)]
pub struct Stores {
    /// `switchyard_config_v1`.
    pub config: kv::Store,
    /// `switchyard_certs_v1`.
    pub certs: kv::Store,
    /// `switchyard_challenges_v1`.
    pub challenges: kv::Store,
    /// `switchyard_acme_v1`.
    pub acme: kv::Store,
}

/// A config bucket event.
#[derive(Message)]
#[rtype(result = "()")]
pub struct ConfigEvent(pub Event);

/// A key of the certs bucket changed (`None`: deleted).
#[derive(Message)]
#[rtype(result = "()")]
pub struct CertEntry(pub String, pub Option<bytes::Bytes>);

/// The certs watch is reopened: its replay replaces what is known.
#[derive(Message)]
#[rtype(result = "()")]
pub struct CertsResync;

/// Whether this instance may work (it holds the lease and is inside its margin).
#[derive(Message, Debug, Clone, Copy, PartialEq, Eq)]
#[rtype(result = "()")]
pub struct LeaseChanged(pub bool);

/// A resolver's client and its account once known.
struct ResolverRuntime {
    resolver: Resolver,
    http: Http,
    account: Arc<tokio::sync::Mutex<Option<Account>>>,
}

/// The scheduler.
pub struct Scheduler {
    instance: String,
    seal: SealKey,
    stores: Stores,
    resolvers: BTreeMap<String, ResolverRuntime>,
    view: ConfigView,
    config_ready: bool,
    planner: Planner,
    skipped: Vec<Skipped>,
    /// Every record of the certs bucket, with its leaf when readable.
    certs: BTreeMap<String, (CertificateRecord, Option<Leaf>)>,
    active: bool,
    orders: HashMap<String, SpawnHandle>,
    ari_next_ms: HashMap<String, u64>,
    ari_busy: BTreeSet<String>,
    statuses: BTreeMap<String, CertificateStatus>,
    static_errors: BTreeMap<String, String>,
    static_dirty: bool,
    /// Reopens the bus watches (full replays) when the client reconnects to NATS.
    reconnects: Reconnects,
}

impl Scheduler {
    /// A scheduler for the checked resolvers; `Http` clients are built by the caller (so
    /// that a bad `caCertificates` file stops the service at start).
    pub fn new(
        instance: String,
        seal: SealKey,
        stores: Stores,
        resolvers: Vec<(Resolver, Http)>,
    ) -> Self {
        let durations = resolvers
            .iter()
            .map(|(r, _)| (r.name.clone(), r.certificates_duration_hours))
            .collect();
        Self {
            instance,
            seal,
            stores,
            resolvers: resolvers
                .into_iter()
                .map(|(resolver, http)| {
                    (
                        resolver.name.clone(),
                        ResolverRuntime {
                            resolver,
                            http,
                            account: Arc::new(tokio::sync::Mutex::new(None)),
                        },
                    )
                })
                .collect(),
            view: ConfigView::default(),
            config_ready: false,
            planner: Planner::new(durations),
            skipped: vec![],
            certs: BTreeMap::new(),
            active: false,
            orders: HashMap::new(),
            ari_next_ms: HashMap::new(),
            ari_busy: BTreeSet::new(),
            statuses: BTreeMap::new(),
            static_errors: BTreeMap::new(),
            static_dirty: true,
            reconnects: Reconnects::never(),
        }
    }

    /// Reopens the bus watches whenever `reconnects` signals that the client reconnected.
    pub fn with_reconnects(mut self, reconnects: Reconnects) -> Self {
        self.reconnects = reconnects;
        self
    }

    fn recompute_demand(&mut self) {
        let merged = merge_providers(self.view.providers(), &MergeOptions::default());
        let names: BTreeSet<String> = self.resolvers.keys().cloned().collect();
        let d = demand(&merged, &names);
        if d.skipped != self.skipped {
            for s in &d.skipped {
                warn!(router = %s.router, resolver = %s.resolver, reason = %s.reason, "no certificate for router");
            }
        }
        self.skipped = d.skipped.clone();
        self.planner.set_demand(&d);
        self.static_dirty = true;
    }

    /// The static certificates of the configuration: id, origin, spec.
    fn static_wanted(&self) -> BTreeMap<String, (String, CertAndStores)> {
        self.view
            .records()
            .iter()
            .filter(|(k, _)| k.kind == ResourceKind::TlsCertificate)
            .filter_map(|(k, record)| {
                let spec = record.spec.clone()?;
                let cert: CertAndStores = serde_json::from_value(spec).ok()?;
                Some((
                    file_certificate_key(&k.provider, &k.name),
                    (format!("{}@{}", k.name, k.provider), cert),
                ))
            })
            .collect()
    }

    /// Publishes static certificates that changed and deletes those that left the config.
    fn reconcile_static(&mut self, ctx: &mut Context<Self>) {
        if !self.active || !self.config_ready || !self.static_dirty {
            return;
        }
        self.static_dirty = false;
        let wanted = self.static_wanted();
        let mut puts = Vec::new();
        self.static_errors.clear();
        for (id, (origin, cert)) in &wanted {
            match records::static_record(id, origin, cert, &self.seal) {
                Ok(record) => {
                    let same = self.certs.get(id).is_some_and(|(old, _)| {
                        old.chain_pem == record.chain_pem
                            && old.stores == record.stores
                            && old.source == record.source
                            && self.seal.open(&old.key, id).ok()
                                == self.seal.open(&record.key, id).ok()
                    });
                    if !same {
                        puts.push((id.clone(), record));
                    }
                }
                Err(e) => {
                    error!(certificate = %origin, error = %e, "static certificate not published");
                    self.static_errors
                        .insert(id.clone(), format!("tls.certificates {origin}: {e}"));
                }
            }
        }
        let deletes: Vec<String> = self
            .certs
            .keys()
            .filter(|id| id.starts_with("file.") && !wanted.contains_key(*id))
            .cloned()
            .collect();
        if puts.is_empty() && deletes.is_empty() {
            return;
        }
        let certs = self.stores.certs.clone();
        ctx.spawn(
            async move {
                let mut ok = true;
                for (id, record) in puts {
                    match serde_json::to_vec(&record) {
                        Ok(bytes) => match certs.put(id.as_str(), bytes.into()).await {
                            Ok(_) => info!(%id, domains = ?record.domains, "static certificate published"),
                            Err(e) => {
                                ok = false;
                                warn!(%id, error = %e, "publishing a static certificate failed")
                            }
                        },
                        Err(e) => warn!(%id, error = %e, "encoding a static certificate failed"),
                    }
                }
                for id in deletes {
                    match certs.delete(id.as_str()).await {
                        Ok(()) => info!(%id, "static certificate left the configuration: deleted"),
                        Err(e) => {
                            ok = false;
                            warn!(%id, error = %e, "deleting a static certificate failed")
                        }
                    }
                }
                ok
            }
            .into_actor(self)
            .map(|ok, act, _| {
                // A failed write is retried at the next tick.
                act.static_dirty |= !ok;
            }),
        );
    }

    fn start_orders(&mut self, ctx: &mut Context<Self>) {
        if !self.active || !self.config_ready {
            return;
        }
        for start in self.planner.due(now_ms()) {
            self.start_order(ctx, start);
        }
    }

    fn start_order(&mut self, ctx: &mut Context<Self>, start: Start) {
        let Start { wanted, reason } = start;
        let Some(rt) = self.resolvers.get(&wanted.resolver) else {
            return;
        };
        info!(id = %wanted.id, domains = ?wanted.domains, ?reason, "ordering certificate");
        let resolver = rt.resolver.clone();
        let http = rt.http.clone();
        let account_slot = rt.account.clone();
        let stores = self.stores.clone();
        let seal = self.seal.clone();
        let id = wanted.id.clone();
        let domains = wanted.domains.clone();
        let fut = async move {
            let account = {
                let mut slot = account_slot.lock().await;
                match &*slot {
                    Some(a) => a.clone(),
                    None => {
                        let a = acme::account(&resolver, &http, &stores.acme, &seal).await?;
                        *slot = Some(a.clone());
                        a
                    }
                }
            };
            let obtained =
                acme::obtain(&account, &resolver, &domains, &stores.challenges, &seal).await?;
            let (record, held) = records::acme_record(
                &id,
                &resolver.name,
                &obtained.chain_pem,
                &obtained.key_pem,
                &seal,
            )?;
            let bytes = serde_json::to_vec(&record)
                .map_err(|e| acme::AcmeError::Bus(format!("encode certificate: {e}")))?;
            stores
                .certs
                .put(id.as_str(), bytes.into())
                .await
                .map_err(|e| acme::AcmeError::Bus(format!("publish certificate {id}: {e}")))?;
            Ok::<Held, acme::AcmeError>(held)
        };
        let http = rt.http.clone();
        let id = wanted.id.clone();
        let handle = ctx.spawn(fut.into_actor(self).map(move |result, act, ctx| {
            act.orders.remove(&id);
            let result = result.map_err(|e| e.to_failure(http.take_retry_after()));
            act.order_done(ctx, &id, result);
        }));
        self.orders.insert(wanted.id, handle);
    }

    fn order_done(&mut self, ctx: &mut Context<Self>, id: &str, result: Result<Held, Failure>) {
        match &result {
            Ok(held) => {
                info!(%id, domains = ?held.domains, not_after = held.not_after, issuer = %held.issuer, "certificate obtained and published")
            }
            Err(f) => warn!(%id, error = %f.message, rate_limited = f.rate_limited, "order failed"),
        }
        self.planner.finished(id, result, now_ms());
        self.ari_next_ms.remove(id);
        self.publish_status(ctx);
    }

    fn delete_expired(&mut self, ctx: &mut Context<Self>) {
        if !self.active {
            return;
        }
        for id in self.planner.expired_unwanted(now_ms()) {
            if self.orders.contains_key(&id) {
                continue;
            }
            let certs = self.stores.certs.clone();
            info!(%id, "certificate no router asks for has expired: deleting it");
            ctx.spawn(
                async move {
                    if let Err(e) = certs.delete(id.as_str()).await {
                        warn!(%id, error = %e, "deleting an expired certificate failed");
                    }
                }
                .into_actor(self),
            );
        }
    }

    fn check_ari(&mut self, ctx: &mut Context<Self>) {
        if !self.active {
            return;
        }
        let now = now_ms();
        let due: Vec<AriCheck> = self
            .planner
            .slots()
            .iter()
            .filter_map(|(id, slot)| {
                let resolver = slot.wanted.as_ref()?.resolver.clone();
                let (_, leaf) = self.certs.get(id)?;
                let ari_id = leaf.as_ref()?.ari_id.clone()?;
                let next = self.ari_next_ms.get(id).copied().unwrap_or(0);
                (now >= next && !self.ari_busy.contains(id) && !slot.in_flight)
                    .then(|| (id.clone(), resolver, ari_id))
            })
            .collect();
        for (id, resolver, (aki, serial)) in due {
            let Some(rt) = self.resolvers.get(&resolver) else {
                continue;
            };
            let slot = rt.account.clone();
            self.ari_busy.insert(id.clone());
            let fut = async move {
                let account = slot.lock().await.clone();
                match account {
                    Some(account) => acme::renewal_info(&account, &aki, &serial).await,
                    // No account yet in this process: the next order creates it.
                    None => Ok(None),
                }
            };
            ctx.spawn(fut.into_actor(self).map(move |result, act, _| {
                act.ari_busy.remove(&id);
                let now = now_ms();
                let next = match result {
                    Ok(Some((renew_at, recheck))) => {
                        debug!(%id, renew_at, "ARI window");
                        act.planner.set_ari(&id, renew_at);
                        recheck.clamp(Duration::from_secs(60), Duration::from_secs(86_400))
                    }
                    Ok(None) => Duration::from_secs(3600),
                    Err(e) => {
                        debug!(%id, error = %e, "ARI lookup failed");
                        Duration::from_secs(3600)
                    }
                };
                act.ari_next_ms.insert(
                    id,
                    now + u64::try_from(next.as_millis()).unwrap_or(u64::MAX),
                );
            }));
        }
    }

    /// The status of every certificate and skipped router, as published.
    fn statuses(&self) -> BTreeMap<String, CertificateStatus> {
        let mut out = BTreeMap::new();
        let base = |id: &str, domains: Vec<String>, source: CertificateSource| CertificateStatus {
            id: id.to_owned(),
            domains,
            source,
            issuer: None,
            not_after: None,
            next_attempt_at: None,
            last_error: None,
            routers: vec![],
            instance: self.instance.clone(),
            updated_at_ms: 0,
        };
        for (id, slot) in self.planner.slots() {
            let resolver = slot
                .wanted
                .as_ref()
                .map(|w| w.resolver.clone())
                .or_else(|| match self.certs.get(id).map(|(r, _)| &r.source) {
                    Some(CertificateSource::Acme { resolver }) => Some(resolver.clone()),
                    _ => None,
                })
                .unwrap_or_default();
            let domains = slot
                .wanted
                .as_ref()
                .map(|w| w.domains.clone())
                .or_else(|| slot.held.as_ref().map(|h| h.domains.clone()))
                .unwrap_or_default();
            let mut s = base(id, domains, CertificateSource::Acme { resolver });
            s.issuer = slot.held.as_ref().map(|h| h.issuer.clone());
            s.not_after = slot.held.as_ref().map(|h| h.not_after);
            s.last_error = slot.last_error.clone();
            s.routers = slot
                .wanted
                .as_ref()
                .map(|w| w.routers.iter().cloned().collect())
                .unwrap_or_default();
            s.next_attempt_at = if slot.wanted.is_none() {
                None
            } else if slot.retry_at_ms > 0 {
                i64::try_from(slot.retry_at_ms / 1000).ok()
            } else {
                self.planner.renew_at(id)
            };
            out.insert(id.clone(), s);
        }
        for (id, (origin, _)) in self.static_wanted() {
            let mut s = base(&id, vec![], CertificateSource::File { origin });
            if let Some((record, _)) = self.certs.get(&id) {
                s.domains = record.domains.clone();
                s.issuer = Some(record.issuer.clone());
                s.not_after = Some(record.not_after);
            }
            s.last_error = self.static_errors.get(&id).cloned();
            out.insert(id, s);
        }
        for skipped in &self.skipped {
            let id = format!("router:{}", skipped.router);
            let mut s = base(
                &id,
                vec![],
                CertificateSource::Acme {
                    resolver: skipped.resolver.clone(),
                },
            );
            s.last_error = Some(skipped.reason.clone());
            s.routers = vec![skipped.router.clone()];
            out.insert(id, s);
        }
        out
    }

    fn publish_status(&mut self, ctx: &mut Context<Self>) {
        if !self.active || !self.config_ready {
            return;
        }
        let now = now_ms();
        let next = self.statuses();
        let mut puts = Vec::new();
        for (id, status) in &next {
            if self.statuses.get(id) != Some(status) {
                let mut stamped = status.clone();
                stamped.updated_at_ms = now;
                puts.push((certificate_status_key(id), stamped));
            }
        }
        let deletes: Vec<String> = self
            .statuses
            .keys()
            .filter(|id| !next.contains_key(*id))
            .map(|id| certificate_status_key(id))
            .collect();
        self.statuses = next;
        if puts.is_empty() && deletes.is_empty() {
            return;
        }
        let acme_kv = self.stores.acme.clone();
        ctx.spawn(
            async move {
                for (key, status) in puts {
                    if let Ok(bytes) = serde_json::to_vec(&status)
                        && let Err(e) = acme_kv.put(key.as_str(), bytes.into()).await
                    {
                        warn!(%key, error = %e, "publishing status failed");
                    }
                }
                for key in deletes {
                    if let Err(e) = acme_kv.delete(key.as_str()).await {
                        warn!(%key, error = %e, "deleting status failed");
                    }
                }
            }
            .into_actor(self),
        );
    }

    fn tick(&mut self, ctx: &mut Context<Self>) {
        self.reconcile_static(ctx);
        self.start_orders(ctx);
        self.delete_expired(ctx);
        self.check_ari(ctx);
        self.publish_status(ctx);
    }
}

impl Actor for Scheduler {
    type Context = Context<Self>;

    fn started(&mut self, ctx: &mut Context<Self>) {
        let addr = ctx.address();
        let config = self.stores.config.clone();
        actix::spawn(follow_config_reopening(
            config,
            self.reconnects.clone(),
            move |event| {
                addr.do_send(ConfigEvent(event));
            },
        ));
        // Every (re)opened watch replays the full state: what was held is dropped first.
        let addr = ctx.address();
        actix::spawn(follow_bucket(
            self.stores.certs.clone(),
            ">",
            "certs",
            self.reconnects.clone(),
            move |event| match event {
                BucketEvent::Opened => addr.do_send(CertsResync),
                BucketEvent::Entry(BucketEntry { key, value, .. }) => {
                    addr.do_send(CertEntry(key, value))
                }
                BucketEvent::CaughtUp(_) => {}
            },
        ));
        ctx.run_interval(Duration::from_secs(1), |act, ctx| act.tick(ctx));
    }
}

impl Handler<ConfigEvent> for Scheduler {
    type Result = ();

    fn handle(&mut self, msg: ConfigEvent, ctx: &mut Context<Self>) {
        match msg.0 {
            Event::Apply(batch) => {
                if batch.full {
                    self.config_ready = true;
                }
                self.view.apply(batch);
                self.recompute_demand();
                self.tick(ctx);
            }
            Event::Status(_) => {}
            Event::Rejected(e) => warn!(error = %e, "config entry skipped"),
        }
    }
}

impl Handler<CertsResync> for Scheduler {
    type Result = ();

    fn handle(&mut self, _: CertsResync, _: &mut Context<Self>) {
        for id in std::mem::take(&mut self.certs).into_keys() {
            self.planner.set_held(&id, None);
        }
        self.static_dirty = true;
    }
}

impl Handler<CertEntry> for Scheduler {
    type Result = ();

    fn handle(&mut self, msg: CertEntry, _: &mut Context<Self>) {
        let CertEntry(id, value) = msg;
        let Some(value) = value else {
            self.certs.remove(&id);
            if id.starts_with("acme.") {
                self.planner.set_held(&id, None);
            }
            self.static_dirty = true;
            return;
        };
        match serde_json::from_slice::<CertificateRecord>(&value) {
            Ok(record) => {
                let leaf = read_leaf(&record.chain_pem)
                    .inspect_err(
                        |e| warn!(%id, error = %e, "certificate on the bus does not parse"),
                    )
                    .ok();
                if id.starts_with("acme.") {
                    self.planner
                        .set_held(&id, leaf.as_ref().map(records::held_of));
                }
                self.certs.insert(id, (record, leaf));
            }
            Err(e) => warn!(%id, error = %e, "certificate record does not decode"),
        }
    }
}

impl Handler<LeaseChanged> for Scheduler {
    type Result = ();

    fn handle(&mut self, msg: LeaseChanged, ctx: &mut Context<Self>) {
        if msg.0 == self.active {
            return;
        }
        self.active = msg.0;
        if self.active {
            info!(instance = %self.instance, "holding the certificates lease: ordering, renewing and publishing");
            self.static_dirty = true;
            self.statuses.clear();
            self.tick(ctx);
        } else {
            warn!(instance = %self.instance, "not holding the certificates lease: standing by");
            for (id, handle) in self.orders.drain() {
                debug!(%id, "order cancelled");
                ctx.cancel_future(handle);
            }
            self.planner.cancel_all();
        }
    }
}
