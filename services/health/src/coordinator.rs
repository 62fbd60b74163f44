//! The coordinator actor: follows the configuration, the membership leases and the
//! health bucket; holds this instance's membership lease; starts, updates and stops one
//! [`Checker`] per service this instance owns; deletes the keys of servers that left.

use std::collections::{BTreeMap, HashMap};
use std::sync::Arc;
use std::time::Duration;

use actix::prelude::*;
use switchyard_bus::follow::{Batch, ConfigView, Event};
use switchyard_bus::keys::{health_key, parse_health_key};
use switchyard_bus::lease::release_within;
use switchyard_bus::messages::{Lease, ServerHealth};
use switchyard_bus::nats::{
    BucketEntry, BucketEvent, Buckets, Reconnects, follow_bucket, follow_config_reopening, now_ms,
    open_buckets_retrying,
};
use switchyard_merge::{MergeOptions, merge_providers};
use tracing::{debug, info, warn};

use crate::assign::plan;
use crate::checker::{Checker, SetServers, StopChecking};
use crate::members::{MEMBER_PREFIX, Members, member_key, parse_member_key};
use crate::probe::Prober;
use crate::target::{ServiceChecks, checks_from};

/// How the coordinator runs.
#[derive(Debug, Clone)]
pub struct Settings {
    /// This instance's id (its membership lease and the `checker` of what it writes).
    pub instance: String,
    /// JetStream replicas of buckets it creates.
    pub replicas: usize,
    /// How long a membership lease lives unless renewed (renewed every third of it).
    pub member_ttl: Duration,
}

/// Buckets are open.
#[derive(Message)]
#[rtype(result = "()")]
struct Connected(Buckets);

/// A config batch to apply.
#[derive(Message)]
#[rtype(result = "()")]
struct ApplyBatch(Batch);

/// What a watch of the leases or health bucket reported.
#[derive(Message)]
#[rtype(result = "()")]
enum Watched {
    /// The membership watch (re)opened: the full state follows.
    MembersReset,
    /// A membership lease was written (`Some(expiry)`) or deleted.
    Member(String, Option<u64>),
    /// The health watch (re)opened: the full state follows.
    HealthReset,
    /// A health key was written or deleted.
    Health((String, String), Option<ServerHealth>),
    /// The health watch delivered the full state.
    HealthCaughtUp,
}

/// How long a stop waits for the membership lease to be deleted. With NATS gone the
/// delete would wait for JetStream's own timeout (5 s) or longer; the lease then lapses
/// by itself after its TTL, and the other instances take the work over.
pub const RELEASE_TIMEOUT: Duration = Duration::from_secs(2);

/// Delete the membership lease (waiting at most [`RELEASE_TIMEOUT`]) and stop the system.
#[derive(Message)]
#[rtype(result = "()")]
pub struct Shutdown;

/// The coordinator.
pub struct Coordinator {
    settings: Settings,
    client: async_nats::Client,
    prober: Arc<Prober>,
    buckets: Option<Buckets>,
    view: ConfigView,
    config_ready: bool,
    wanted: BTreeMap<String, ServiceChecks>,
    members: Members,
    /// Whether this instance's own lease came back through the watch: everything the
    /// watch had before it has been seen, so the member list is complete.
    members_ready: bool,
    health: BTreeMap<(String, String), ServerHealth>,
    health_ready: bool,
    running: BTreeMap<String, (ServiceChecks, Addr<Checker>)>,
    /// Reopens the bus watches (full replays) when the client reconnects to NATS.
    reconnects: Reconnects,
}

impl Coordinator {
    /// A coordinator that connects the buckets when started.
    pub fn new(settings: Settings, client: async_nats::Client) -> Self {
        Self {
            settings,
            client,
            prober: Arc::new(Prober::new()),
            buckets: None,
            view: ConfigView::default(),
            config_ready: false,
            wanted: BTreeMap::new(),
            members: Members::default(),
            members_ready: false,
            health: BTreeMap::new(),
            health_ready: false,
            running: BTreeMap::new(),
            reconnects: Reconnects::never(),
        }
    }

    /// Reopens the bus watches whenever `reconnects` signals that the client reconnected.
    pub fn with_reconnects(mut self, reconnects: Reconnects) -> Self {
        self.reconnects = reconnects;
        self
    }

    fn start_checker(&mut self, service: &str, buckets: &Buckets) {
        let Some(checks) = self.wanted.get(service).cloned() else {
            return;
        };
        let known: HashMap<String, ServerHealth> = self
            .health
            .iter()
            .filter(|((s, _), _)| s == service)
            .map(|((_, server), h)| (server.clone(), h.clone()))
            .collect();
        let checker = Checker::new(
            service.to_owned(),
            checks.clone(),
            self.prober.clone(),
            buckets.health.clone(),
            self.settings.instance.clone(),
            known,
        )
        .start();
        self.running.insert(service.to_owned(), (checks, checker));
    }

    /// Brings the running checkers and the bucket in line with configuration and members.
    fn reconcile(&mut self, ctx: &mut Context<Self>) {
        let Some(buckets) = self.buckets.clone() else {
            return;
        };
        if !self.config_ready || !self.members_ready {
            return;
        }
        let live = self.members.live(now_ms(), &self.settings.instance);
        let running: BTreeMap<String, ServiceChecks> = self
            .running
            .iter()
            .map(|(s, (c, _))| (s.clone(), c.clone()))
            .collect();
        let published = self.health_ready.then(|| self.health.keys());
        let plan = plan(
            &self.wanted,
            &running,
            &live,
            &self.settings.instance,
            published,
        );
        for service in &plan.stop {
            if let Some((_, checker)) = self.running.remove(service) {
                checker.do_send(StopChecking);
            }
        }
        for service in &plan.start {
            self.start_checker(service, &buckets);
        }
        for service in &plan.update {
            if let (Some(checks), Some((current, checker))) =
                (self.wanted.get(service), self.running.get_mut(service))
            {
                *current = checks.clone();
                checker.do_send(SetServers(checks.clone()));
            }
        }
        if !plan.start.is_empty() || !plan.stop.is_empty() {
            info!(
                started = plan.start.len(),
                stopped = plan.stop.len(),
                checking = self.running.len(),
                members = live.len(),
                "checks assigned"
            );
        }
        for (service, server) in plan.delete {
            // Forget it now so that the next reconcile does not delete it again.
            self.health.remove(&(service.clone(), server.clone()));
            let kv = buckets.health.clone();
            let key = health_key(&service, &server);
            info!(%service, %server, "server left the configuration; deleting its health");
            ctx.spawn(
                async move {
                    if let Err(e) = kv.delete(key).await {
                        warn!(%service, %server, error = %e, "health key not deleted");
                    }
                }
                .into_actor(self),
            );
        }
    }

    fn renew_lease(&self, ctx: &mut Context<Self>) {
        let Some(buckets) = &self.buckets else {
            return;
        };
        let lease = Lease {
            holder: self.settings.instance.clone(),
            expires_at_ms: now_ms()
                + u64::try_from(self.settings.member_ttl.as_millis()).unwrap_or(u64::MAX),
        };
        let kv = buckets.leases.clone();
        let key = member_key(&self.settings.instance);
        ctx.spawn(
            async move {
                let bytes = serde_json::to_vec(&lease).unwrap_or_default();
                if let Err(e) = kv.put(key, bytes.into()).await {
                    warn!(error = %e, "membership lease not renewed");
                }
            }
            .into_actor(self),
        );
    }
}

impl Actor for Coordinator {
    type Context = Context<Self>;

    fn started(&mut self, ctx: &mut Self::Context) {
        let client = self.client.clone();
        let replicas = self.settings.replicas;
        let addr = ctx.address();
        actix::spawn(async move {
            addr.do_send(Connected(open_buckets_retrying(&client, replicas).await));
        });
    }
}

/// The membership watch's handler: a (re)opened watch resets the members, then each
/// lease written or deleted is forwarded.
fn member_events(addr: Addr<Coordinator>) -> impl FnMut(BucketEvent) {
    move |event| match event {
        BucketEvent::Opened => addr.do_send(Watched::MembersReset),
        BucketEvent::Entry(BucketEntry { key, value, .. }) => {
            let Some(instance) = parse_member_key(&key) else {
                return;
            };
            let expiry = match value.map(|v| serde_json::from_slice::<Lease>(&v)) {
                Some(Ok(lease)) => Some(lease.expires_at_ms),
                Some(Err(e)) => {
                    warn!(%key, error = %e, "ignoring a membership lease");
                    return;
                }
                None => None,
            };
            addr.do_send(Watched::Member(instance, expiry));
        }
        BucketEvent::CaughtUp(_) => {}
    }
}

/// The health watch's handler: a (re)opened watch resets what is published, each entry is
/// forwarded, and the end of the replay, then every later change, says the state is
/// complete (so that the coordinator reconciles).
fn health_events(addr: Addr<Coordinator>) -> impl FnMut(BucketEvent) {
    let mut live = false;
    move |event| match event {
        BucketEvent::Opened => {
            live = false;
            addr.do_send(Watched::HealthReset);
        }
        BucketEvent::Entry(BucketEntry { key, value, .. }) => {
            match parse_health_key(&key) {
                Ok(parsed) => {
                    let value = value.and_then(|v| {
                        serde_json::from_slice::<ServerHealth>(&v)
                            .inspect_err(|e| warn!(%key, error = %e, "ignoring a health entry"))
                            .ok()
                    });
                    addr.do_send(Watched::Health(parsed, value));
                }
                Err(e) => warn!(error = %e, "ignoring a health key"),
            }
            if live {
                addr.do_send(Watched::HealthCaughtUp);
            }
        }
        BucketEvent::CaughtUp(_) => {
            live = true;
            addr.do_send(Watched::HealthCaughtUp);
        }
    }
}

impl Handler<Connected> for Coordinator {
    type Result = ();

    fn handle(&mut self, Connected(buckets): Connected, ctx: &mut Self::Context) {
        info!(instance = %self.settings.instance, "bus buckets open; following configuration and members");
        self.buckets = Some(buckets.clone());
        self.renew_lease(ctx);
        let renew = (self.settings.member_ttl / 3).max(Duration::from_millis(100));
        ctx.run_interval(renew, |act, ctx| act.renew_lease(ctx));
        // Leases expire without an event: look again every second.
        ctx.run_interval(Duration::from_secs(1), |act, ctx| act.reconcile(ctx));
        let addr = ctx.address();
        actix::spawn(follow_config_reopening(
            buckets.config.clone(),
            self.reconnects.clone(),
            move |event| match event {
                Event::Apply(batch) => addr.do_send(ApplyBatch(batch)),
                Event::Status(_) => {}
                Event::Rejected(e) => {
                    warn!(error = %e, "ignoring a config entry that does not follow the bus contract")
                }
            },
        ));
        actix::spawn(follow_bucket(
            buckets.leases.clone(),
            format!("{MEMBER_PREFIX}>"),
            "membership",
            self.reconnects.clone(),
            member_events(ctx.address()),
        ));
        actix::spawn(follow_bucket(
            buckets.health.clone(),
            ">",
            "health",
            self.reconnects.clone(),
            health_events(ctx.address()),
        ));
    }
}

impl Handler<ApplyBatch> for Coordinator {
    type Result = ();

    fn handle(&mut self, ApplyBatch(batch): ApplyBatch, ctx: &mut Self::Context) {
        self.view.apply(batch);
        let merged = merge_providers(self.view.providers(), &MergeOptions::default());
        self.wanted = checks_from(&merged);
        self.config_ready = true;
        debug!(
            revision = self.view.revision(),
            services = self.wanted.len(),
            "configuration applied"
        );
        self.reconcile(ctx);
    }
}

impl Handler<Watched> for Coordinator {
    type Result = ();

    fn handle(&mut self, event: Watched, ctx: &mut Self::Context) {
        match event {
            Watched::MembersReset => {
                self.members.clear();
                self.members_ready = false;
            }
            Watched::Member(instance, Some(expiry)) => {
                self.members_ready |= instance == self.settings.instance;
                self.members.renewed(&instance, expiry);
            }
            Watched::Member(instance, None) => self.members.left(&instance),
            Watched::HealthReset => {
                self.health.clear();
                self.health_ready = false;
                return;
            }
            Watched::Health(key, Some(health)) => {
                self.health.insert(key, health);
                return;
            }
            Watched::Health(key, None) => {
                self.health.remove(&key);
                return;
            }
            Watched::HealthCaughtUp => self.health_ready = true,
        }
        self.reconcile(ctx);
    }
}

impl Handler<Shutdown> for Coordinator {
    type Result = ResponseActFuture<Self, ()>;

    fn handle(&mut self, _: Shutdown, _: &mut Self::Context) -> Self::Result {
        for (_, (_, checker)) in std::mem::take(&mut self.running) {
            checker.do_send(StopChecking);
        }
        let leases = self.buckets.as_ref().map(|b| b.leases.clone());
        let key = member_key(&self.settings.instance);
        let ttl = self.settings.member_ttl;
        Box::pin(
            async move {
                if let Some(kv) = leases {
                    // Others take over at once instead of waiting for the lease to lapse.
                    let delete = async move { kv.delete(key).await.map(|_| ()) };
                    release_within("membership", RELEASE_TIMEOUT, ttl, delete).await;
                }
            }
            .into_actor(self)
            .map(|_, _, _| {
                info!("stopped");
                System::current().stop();
            }),
        )
    }
}
