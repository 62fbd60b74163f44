//! The checker actor: checks the servers of one load-balancer service on its
//! [`Schedule`] and writes each change to the health bucket.

use std::collections::{BTreeMap, HashMap};
use std::sync::Arc;
use std::time::Instant;

use actix::prelude::*;
use async_nats::jetstream::kv;
use switchyard_bus::keys::health_key;
use switchyard_bus::messages::ServerHealth;
use switchyard_bus::nats::now_ms;
use tracing::{info, warn};

use crate::probe::Prober;
use crate::schedule::{Change, Schedule};
use crate::target::{CheckRequest, ServiceChecks, check_request};

/// Follow a new server list (the options are unchanged).
#[derive(Message)]
#[rtype(result = "()")]
pub struct SetServers(pub ServiceChecks);

/// Stop checking.
#[derive(Message)]
#[rtype(result = "()")]
pub struct StopChecking;

/// Checks one service's servers.
pub struct Checker {
    service: String,
    checks: ServiceChecks,
    requests: BTreeMap<String, Result<CheckRequest, String>>,
    schedule: Schedule,
    prober: Arc<Prober>,
    kv: kv::Store,
    instance: String,
    /// What the bucket holds for this service's servers (to keep `sinceMs`).
    known: HashMap<String, ServerHealth>,
    timer: Option<SpawnHandle>,
}

impl Checker {
    /// A checker of `service`; `known` is what the health bucket holds for its servers.
    pub fn new(
        service: String,
        checks: ServiceChecks,
        prober: Arc<Prober>,
        kv: kv::Store,
        instance: String,
        known: HashMap<String, ServerHealth>,
    ) -> Self {
        let interval = checks.check.interval.as_std().unwrap_or_default();
        let unhealthy_interval = checks
            .check
            .unhealthy_interval
            .and_then(|d| d.as_std())
            .unwrap_or(interval);
        // Traefik falls back to the default when an interval is not positive.
        let positive = |d: std::time::Duration| {
            if d.is_zero() {
                switchyard_model::http::DEFAULT_HEALTH_CHECK_INTERVAL
                    .as_std()
                    .unwrap_or(std::time::Duration::from_secs(30))
            } else {
                d
            }
        };
        let schedule = Schedule::new(
            &checks.servers,
            positive(interval),
            positive(unhealthy_interval),
            Instant::now(),
        );
        let mut checker = Self {
            service,
            requests: BTreeMap::new(),
            checks,
            schedule,
            prober,
            kv,
            instance,
            known,
            timer: None,
        };
        checker.compute_requests();
        checker
    }

    fn compute_requests(&mut self) {
        self.requests = self
            .checks
            .servers
            .iter()
            .map(|server| {
                let request = check_request(server, &self.checks.check).map_err(|e| {
                    warn!(service = %self.service, error = %e, "server cannot be checked; it counts as down");
                    e.to_string()
                });
                (server.clone(), request)
            })
            .collect();
    }

    fn tick(&mut self, ctx: &mut Context<Self>) {
        for server in self.schedule.take_due(Instant::now()) {
            let prober = self.prober.clone();
            let request = self.requests.get(&server).cloned();
            let options = self.checks.check.clone();
            let insecure = self.checks.insecure_skip_verify;
            let probe = async move {
                match request {
                    Some(Ok(request)) => prober.check(&request, &options, insecure).await,
                    Some(Err(e)) => Err(e),
                    None => Err("not configured".to_owned()),
                }
            };
            ctx.spawn(
                probe
                    .into_actor(self)
                    .map(move |result, act, ctx| act.checked(server, result, ctx)),
            );
        }
        self.rearm(ctx);
    }

    fn rearm(&mut self, ctx: &mut Context<Self>) {
        if let Some(handle) = self.timer.take() {
            ctx.cancel_future(handle);
        }
        if let Some(at) = self.schedule.next_due() {
            let wait = at.saturating_duration_since(Instant::now());
            self.timer = Some(ctx.run_later(wait, |act, ctx| {
                act.timer = None;
                act.tick(ctx);
            }));
        }
    }

    fn checked(&mut self, server: String, result: Result<(), String>, ctx: &mut Context<Self>) {
        if let Some(change) = self.schedule.record(&server, result, Instant::now()) {
            self.publish(change, ctx);
        }
        self.rearm(ctx);
    }

    fn publish(&mut self, change: Change, ctx: &mut Context<Self>) {
        let since_ms = match self.known.get(&change.server) {
            Some(known) if known.up == change.up => known.since_ms,
            _ => now_ms(),
        };
        if change.up {
            info!(service = %self.service, server = %change.server, "server up");
        } else {
            warn!(service = %self.service, server = %change.server, reason = change.reason.as_deref().unwrap_or_default(), "server down");
        }
        let health = ServerHealth {
            service: self.service.clone(),
            server: change.server.clone(),
            up: change.up,
            reason: change.reason,
            since_ms,
            checker: self.instance.clone(),
        };
        self.known.insert(change.server.clone(), health.clone());
        let key = health_key(&self.service, &change.server);
        let kv = self.kv.clone();
        let server = change.server;
        let write = async move {
            let bytes = serde_json::to_vec(&health).map_err(|e| e.to_string())?;
            kv.put(key, bytes.into()).await.map_err(|e| e.to_string())?;
            Ok::<(), String>(())
        };
        ctx.spawn(write.into_actor(self).map(move |result, act, _| {
            if let Err(e) = result {
                warn!(service = %act.service, %server, error = %e, "health not written; the next check writes it again");
                act.schedule.unpublished(&server);
            }
        }));
    }
}

impl Actor for Checker {
    type Context = Context<Self>;

    fn started(&mut self, ctx: &mut Self::Context) {
        info!(service = %self.service, servers = self.checks.servers.len(), "checking");
        self.tick(ctx);
    }

    fn stopped(&mut self, _: &mut Self::Context) {
        info!(service = %self.service, "no longer checking");
    }
}

impl Handler<SetServers> for Checker {
    type Result = ();

    fn handle(&mut self, SetServers(checks): SetServers, ctx: &mut Self::Context) {
        self.schedule.set_servers(&checks.servers, Instant::now());
        self.known
            .retain(|server, _| checks.servers.contains(server));
        self.checks = checks;
        self.compute_requests();
        self.tick(ctx);
    }
}

impl Handler<StopChecking> for Checker {
    type Result = ();

    fn handle(&mut self, _: StopChecking, ctx: &mut Self::Context) {
        ctx.stop();
    }
}
