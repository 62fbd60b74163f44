//! Services: where a router sends its requests. Each kind is one module implementing
//! [`Service`]; they are compiled from the configuration once per snapshot.

pub mod failover;
pub mod load_balancer;
pub mod mirroring;
pub mod p2c;
pub mod passive;
pub mod sticky;
#[cfg(test)]
mod testing;
pub mod weighted;
pub mod wrr;

use std::collections::{BTreeMap, HashMap};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};

use actix_web::HttpResponse;
use actix_web::http::StatusCode;
use futures::future::LocalBoxFuture;
use switchyard_model::http::{ServersTransport, Service as Spec};

use crate::middleware::BuildError;
use crate::request::ProxyRequest;
use crate::upstream::Target;

/// What a worker thread owns: the upstream client (awc's client is not `Send`).
/// Cloning it is cheap (the client is reference-counted); mirrors take a clone into the
/// task that outlives the request.
#[derive(Clone)]
pub struct WorkerCtx {
    /// Pooled keep-alive connections to the servers.
    pub client: awc::Client,
}

/// A compiled service.
pub trait Service: Send + Sync + 'static {
    /// Serves one request.
    fn serve<'a>(
        &'a self,
        req: ProxyRequest,
        ctx: &'a WorkerCtx,
    ) -> LocalBoxFuture<'a, HttpResponse>;

    /// Whether the service can take a request now (some server up); failover and weighted
    /// services with a health check use it to route around a service that is down.
    /// Services that do not track health (no `healthCheck`) always say yes, as Traefik's
    /// never report a status change.
    fn available(&self) -> bool {
        true
    }
}

/// One server of a load balancer, shared with whoever tracks its health.
#[derive(Debug)]
pub struct ServerState {
    /// Where it is.
    pub target: Target,
    /// Its weight (default 1).
    pub weight: u32,
    up: AtomicBool,
    in_flight: AtomicUsize,
}

impl ServerState {
    /// A server that starts up.
    pub fn new(target: Target, weight: u32) -> Self {
        Self {
            target,
            weight,
            up: AtomicBool::new(true),
            in_flight: AtomicUsize::new(0),
        }
    }

    /// Requests sent to it whose response has not ended yet (counted by `p2c` balancers).
    pub fn in_flight(&self) -> usize {
        self.in_flight.load(Ordering::Relaxed)
    }

    fn in_flight_add(&self, n: usize) {
        self.in_flight.fetch_add(n, Ordering::Relaxed);
    }

    fn in_flight_sub(&self, n: usize) {
        self.in_flight.fetch_sub(n, Ordering::Relaxed);
    }

    /// Whether it is in rotation.
    pub fn is_up(&self) -> bool {
        self.up.load(Ordering::Relaxed)
    }

    /// Takes it out of rotation or puts it back.
    pub fn set_up(&self, up: bool) {
        self.up.store(up, Ordering::Relaxed);
    }
}

/// Every server of every load balancer of a snapshot, by (qualified service, URL), so that
/// health changes reach them without rebuilding anything.
pub type ServerIndex = HashMap<(String, String), Vec<Arc<ServerState>>>;

/// The answer when no server can take the request.
pub fn no_server_available() -> HttpResponse {
    HttpResponse::build(StatusCode::SERVICE_UNAVAILABLE)
        .content_type("text/plain; charset=utf-8")
        .body("no available server")
}

/// Compiles the services of a configuration, children before parents.
pub struct Builder<'a> {
    specs: &'a BTreeMap<String, Spec>,
    transports: &'a BTreeMap<String, ServersTransport>,
    built: HashMap<String, Arc<dyn Service>>,
    /// Services being built, outermost first: a reference back into it is a cycle.
    building: Vec<String>,
    /// Servers of every load balancer built so far.
    pub servers: ServerIndex,
}

impl<'a> Builder<'a> {
    /// A builder over the (merged, qualified) service specs and servers transports.
    pub fn with_transports(
        specs: &'a BTreeMap<String, Spec>,
        transports: &'a BTreeMap<String, ServersTransport>,
    ) -> Self {
        Self {
            specs,
            transports,
            built: HashMap::new(),
            building: Vec::new(),
            servers: HashMap::new(),
        }
    }

    fn spec(&self, name: &str) -> Result<&'a Spec, BuildError> {
        self.specs
            .get(name)
            .ok_or_else(|| BuildError(format!("service {name:?} does not exist")))
    }

    /// The compiled service `name`, building it (and its children) on first use.
    pub fn get(&mut self, name: &str) -> Result<Arc<dyn Service>, BuildError> {
        if let Some(service) = self.built.get(name) {
            return Ok(service.clone());
        }
        let spec = self.spec(name)?;
        // The merge rejects cycles; this only keeps a bad configuration from recursing forever.
        if self.building.iter().any(|b| b == name) {
            return Err(BuildError(format!(
                "service {name:?} refers to itself through {}",
                self.building.join(" -> ")
            )));
        }
        self.building.push(name.to_owned());
        let service = self.compile(name, spec);
        self.building.pop();
        let service = service?;
        self.built.insert(name.to_owned(), service.clone());
        Ok(service)
    }

    fn compile(&mut self, name: &str, spec: &'a Spec) -> Result<Arc<dyn Service>, BuildError> {
        Ok(match spec {
            Spec::LoadBalancer(lb) => {
                let transport = if lb.servers_transport.is_empty() {
                    None
                } else {
                    // A missing transport (`default@internal`, or a builder without
                    // transports) means the defaults; the merge reported any other.
                    self.transports.get(&lb.servers_transport)
                };
                let built = load_balancer::LoadBalancer::build(name, lb, transport)?;
                for server in built.servers() {
                    self.servers
                        .entry((name.to_owned(), server.target.url.clone()))
                        .or_default()
                        .push(server.clone());
                }
                Arc::new(built)
            }
            Spec::Weighted(w) => {
                let mut children = Vec::with_capacity(w.services.len());
                for child in &w.services {
                    children.push(self.get(&child.name)?);
                    if w.health_check.is_some() {
                        self.require_status(&child.name, name)?;
                    }
                }
                Arc::new(weighted::Weighted::build(name, w, children)?)
            }
            Spec::Mirroring(m) => {
                let main = self.get(&m.service)?;
                let mut mirrors = Vec::with_capacity(m.mirrors.len());
                for mirror in &m.mirrors {
                    mirrors.push((self.get(&mirror.name)?, mirror.percent));
                }
                Arc::new(mirroring::Mirroring::build(m, main, mirrors)?)
            }
            Spec::Failover(f) => {
                // Failover learns that its main service is down from that service's health
                // check: Traefik refuses a main service without one.
                let main = self.get(&f.service)?;
                self.require_status(&f.service, name)?;
                let fallback = self.get(&f.fallback)?;
                if f.health_check.is_some() {
                    self.require_status(&f.fallback, name)?;
                }
                Arc::new(failover::Failover::new(
                    main,
                    fallback,
                    f.health_check.is_some(),
                ))
            }
        })
    }

    /// Traefik's rule for `healthCheck: {}` on weighted, mirroring and failover services:
    /// the parent registers with the child for status changes, which fails unless the
    /// child tracks its health too ("If HealthCheck is enabled for a given service and any
    /// of its descendants does not have it enabled, the creation of the service will fail").
    fn require_status(&self, child: &str, parent: &str) -> Result<(), BuildError> {
        self.reports_status(child, 0).map_err(|why| {
            BuildError(format!(
                "cannot register {child:?} as updater for {parent:?}: {why}"
            ))
        })
    }

    fn reports_status(&self, name: &str, depth: usize) -> Result<(), String> {
        let spec = self
            .specs
            .get(name)
            .ok_or_else(|| format!("service {name:?} does not report its health"))?;
        let enabled = match spec {
            Spec::LoadBalancer(lb) => lb.health_check.is_some(),
            Spec::Weighted(w) => w.health_check.is_some(),
            Spec::Mirroring(m) => m.health_check.is_some(),
            Spec::Failover(f) => f.health_check.is_some(),
        };
        if !enabled {
            return Err(format!(
                "healthCheck not enabled in config for {} service {name:?}",
                spec.type_name()
            ));
        }
        match spec {
            // A mirroring service reports what its main service reports.
            Spec::Mirroring(m) if depth < self.specs.len() => {
                self.reports_status(&m.service, depth + 1)
            }
            Spec::Mirroring(_) => Err(format!("service {name:?} refers to itself")),
            _ => Ok(()),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::service::testing::{Backend, body_text, ctx, request};

    fn specs(json: serde_json::Value) -> BTreeMap<String, Spec> {
        serde_json::from_value(json).unwrap()
    }

    fn lb(url: &str, health_check: bool) -> serde_json::Value {
        let mut lb = serde_json::json!({"loadBalancer": {"servers": [{"url": url}]}});
        if health_check {
            lb["loadBalancer"]["healthCheck"] = serde_json::json!({"path": "/health"});
        }
        lb
    }

    #[test]
    fn builds_every_kind_and_indexes_servers_by_qualified_name() {
        let specs = specs(serde_json::json!({
            "a@file": lb("http://a:1", true),
            "b@file": lb("http://b:1", true),
            "w@file": {"weighted": {"healthCheck": {}, "services": [{"name": "a@file", "weight": 2}, {"name": "b@file"}]}},
            "m@file": {"mirroring": {"healthCheck": {}, "service": "a@file", "mirrors": [{"name": "b@file", "percent": 10}]}},
            "f@file": {"failover": {"healthCheck": {}, "service": "m@file", "fallback": "w@file"}},
            "top@file": {"weighted": {"healthCheck": {}, "services": [{"name": "f@file"}]}},
        }));
        let transports = BTreeMap::new();
        let mut builder = Builder::with_transports(&specs, &transports);
        let top = builder.get("top@file").unwrap();
        let again = builder.get("top@file").unwrap();
        assert!(Arc::ptr_eq(&top, &again), "built once");
        let mut keys: Vec<_> = builder.servers.keys().cloned().collect();
        keys.sort();
        assert_eq!(
            keys,
            [
                ("a@file".to_owned(), "http://a:1".to_owned()),
                ("b@file".to_owned(), "http://b:1".to_owned())
            ]
        );
        assert!(
            builder.servers.values().all(|servers| servers.len() == 1),
            "children are built once"
        );

        // Health flows up: a down makes m (and so f's main) unavailable, f falls back to w.
        assert!(top.available());
        builder.servers[&("a@file".to_owned(), "http://a:1".to_owned())][0].set_up(false);
        assert!(top.available(), "b keeps w, so f, so top available");
        builder.servers[&("b@file".to_owned(), "http://b:1".to_owned())][0].set_up(false);
        assert!(!top.available());
    }

    #[test]
    fn health_check_must_be_enabled_on_descendants() {
        let cases = [
            (
                "weighted with health check over a plain load balancer",
                serde_json::json!({"a@file": lb("http://a:1", false),
                    "s@file": {"weighted": {"healthCheck": {}, "services": [{"name": "a@file"}]}}}),
                Some("cannot register \"a@file\" as updater for \"s@file\""),
            ),
            (
                "weighted without health check over a plain load balancer",
                serde_json::json!({"a@file": lb("http://a:1", false),
                    "s@file": {"weighted": {"services": [{"name": "a@file"}]}}}),
                None,
            ),
            (
                "failover main without health check",
                serde_json::json!({"a@file": lb("http://a:1", false), "b@file": lb("http://b:1", true),
                    "s@file": {"failover": {"service": "a@file", "fallback": "b@file"}}}),
                Some("healthCheck not enabled in config for loadBalancer service \"a@file\""),
            ),
            (
                "failover fallback without health check is fine without the failover's own",
                serde_json::json!({"a@file": lb("http://a:1", true), "b@file": lb("http://b:1", false),
                    "s@file": {"failover": {"service": "a@file", "fallback": "b@file"}}}),
                None,
            ),
            (
                "failover with health check needs it on the fallback",
                serde_json::json!({"a@file": lb("http://a:1", true), "b@file": lb("http://b:1", false),
                    "s@file": {"failover": {"healthCheck": {}, "service": "a@file", "fallback": "b@file"}}}),
                Some("as updater for \"s@file\""),
            ),
            (
                "mirroring reports what its main service reports",
                serde_json::json!({"a@file": lb("http://a:1", false),
                    "m@file": {"mirroring": {"healthCheck": {}, "service": "a@file"}},
                    "s@file": {"weighted": {"healthCheck": {}, "services": [{"name": "m@file"}]}}}),
                Some("loadBalancer service \"a@file\""),
            ),
            (
                "missing child",
                serde_json::json!({"s@file": {"weighted": {"services": [{"name": "nope@file"}]}}}),
                Some("service \"nope@file\" does not exist"),
            ),
            (
                "cycle",
                serde_json::json!({"s@file": {"weighted": {"services": [{"name": "t@file"}]}},
                    "t@file": {"mirroring": {"service": "s@file"}}}),
                Some("refers to itself"),
            ),
        ];
        for (case, json, expected) in cases {
            let specs = specs(json);
            let result = Builder::with_transports(&specs, &BTreeMap::new()).get("s@file");
            match (result, expected) {
                (Ok(_), None) => {}
                (Err(e), Some(part)) => assert!(e.0.contains(part), "{case}: {}", e.0),
                (Ok(_), Some(part)) => panic!("{case}: built, expected an error with {part:?}"),
                (Err(e), None) => panic!("{case}: {}", e.0),
            }
        }
    }

    #[actix_web::test]
    async fn servers_transport_timeouts_apply() {
        let backend = Backend::start("a").await;
        let specs = specs(serde_json::json!({
            "s@file": {"loadBalancer": {"serversTransport": "t@file", "servers": [{"url": backend.url}]}},
            "plain@file": {"loadBalancer": {"servers": [{"url": backend.url}]}},
        }));
        let transports: BTreeMap<String, ServersTransport> =
            serde_json::from_value(serde_json::json!({
                "t@file": {"forwardingTimeouts": {"responseHeaderTimeout": "100ms"}}
            }))
            .unwrap();
        let mut builder = Builder::with_transports(&specs, &transports);
        let (timed, plain) = (
            builder.get("s@file").unwrap(),
            builder.get("plain@file").unwrap(),
        );
        let ctx = ctx();
        let slow = || {
            let mut req = request("GET", "/slow", &[]);
            req.query = Some("400".to_owned());
            req
        };
        assert_eq!(
            timed.serve(slow(), &ctx).await.status(),
            StatusCode::GATEWAY_TIMEOUT
        );
        let response = plain.serve(slow(), &ctx).await;
        assert_eq!(response.status(), StatusCode::OK);
        assert_eq!(body_text(response).await, "a /slow ");
        backend.stop().await;
    }
}
