//! Services: where a router sends its requests. Each kind is one module implementing
//! [`Service`]; they are compiled from the configuration once per snapshot.

pub mod load_balancer;

use std::collections::HashMap;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

use actix_web::HttpResponse;
use actix_web::http::StatusCode;
use futures::future::LocalBoxFuture;
use switchyard_model::http::Service as Spec;

use crate::middleware::BuildError;
use crate::request::ProxyRequest;
use crate::upstream::Target;

/// What a worker thread owns: the upstream client (awc's client is not `Send`).
pub struct WorkerCtx {
    /// Pooled keep-alive connections to the servers.
    pub client: awc::Client,
}

/// A compiled service.
pub trait Service: Send + Sync + 'static {
    /// Serves one request.
    fn serve<'a>(&'a self, req: ProxyRequest, ctx: &'a WorkerCtx) -> LocalBoxFuture<'a, HttpResponse>;

    /// Whether the service can take a request now (some server up); failover and weighted
    /// services with a health check use it to route around a service that is down.
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
}

impl ServerState {
    /// A server that starts up.
    pub fn new(target: Target, weight: u32) -> Self {
        Self { target, weight, up: AtomicBool::new(true) }
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
    specs: &'a std::collections::BTreeMap<String, Spec>,
    built: HashMap<String, Arc<dyn Service>>,
    /// Servers of every load balancer built so far.
    pub servers: ServerIndex,
}

impl<'a> Builder<'a> {
    /// A builder over the (merged, qualified) service specs.
    pub fn new(specs: &'a std::collections::BTreeMap<String, Spec>) -> Self {
        Self { specs, built: HashMap::new(), servers: HashMap::new() }
    }

    /// The compiled service `name`, building it (and its children) on first use.
    pub fn get(&mut self, name: &str) -> Result<Arc<dyn Service>, BuildError> {
        if let Some(service) = self.built.get(name) {
            return Ok(service.clone());
        }
        let spec = self.specs.get(name).ok_or_else(|| BuildError(format!("service {name:?} does not exist")))?;
        let service: Arc<dyn Service> = match spec {
            Spec::LoadBalancer(lb) => {
                let built = load_balancer::LoadBalancer::build(lb)?;
                for server in built.servers() {
                    self.servers
                        .entry((name.to_owned(), server.target.url.clone()))
                        .or_default()
                        .push(server.clone());
                }
                Arc::new(built)
            }
            other => {
                return Err(BuildError(format!("service type {:?} is not supported yet", other.type_name())));
            }
        };
        self.built.insert(name.to_owned(), service.clone());
        Ok(service)
    }
}
