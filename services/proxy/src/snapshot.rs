//! The immutable state requests read: the routing table and, for every enabled router,
//! its compiled middleware chain and service. Built by the config actor from a merged
//! configuration and swapped in whole; a request only loads the current one.

use std::collections::{BTreeMap, HashMap, HashSet};
use std::sync::Arc;

use switchyard_merge::Merged;
use switchyard_model::http::Middleware as MiddlewareSpec;
use switchyard_routing::{ProviderPrecedence, RouteTable};

use crate::middleware::{self, BuildError, Middleware};
use crate::observe::{Metrics, RouteMetrics};
use crate::service::{self, ServerIndex, Service};

/// What a router does with a request once it matched.
pub struct RouterHandler {
    /// The middlewares, in order, chains flattened.
    pub middlewares: Vec<Arc<dyn Middleware>>,
    /// The service.
    pub service: Arc<dyn Service>,
    /// The router's and service's metrics.
    pub metrics: RouteMetrics,
    /// The router's qualified name, shared by every request it serves.
    pub name: Arc<str>,
}

/// One consistent state of the proxy.
#[derive(Default)]
pub struct Snapshot {
    /// The bus revision this state reflects.
    pub revision: u64,
    /// The HTTP routing table.
    pub table: RouteTable,
    /// Compiled handlers of the routers in the table.
    pub handlers: HashMap<String, Arc<RouterHandler>>,
    /// Routers left out, with their reasons (configuration problems or build errors).
    pub disabled: BTreeMap<String, Vec<String>>,
    /// Every load-balancer server, for health updates.
    pub servers: ServerIndex,
    /// The merged `tls` section (certificates from files, options, stores).
    pub tls: switchyard_model::tls::TlsConfig,
}

impl Snapshot {
    /// Compiles a merged configuration. `down` lists (service, server URL) pairs known to be
    /// down; their servers start out of rotation.
    pub fn build(
        merged: &Merged,
        revision: u64,
        precedence: &ProviderPrecedence,
        down: &HashSet<(String, String)>,
        metrics: &Metrics,
    ) -> Self {
        let mut disabled: BTreeMap<String, Vec<String>> = BTreeMap::new();
        for ((kind, name), d) in &merged.disabled {
            if *kind == switchyard_model::ResourceKind::HttpRouter {
                disabled.insert(
                    name.clone(),
                    d.problems
                        .iter()
                        .map(|p| p.display_with_provider(&d.provider))
                        .collect(),
                );
            }
        }
        let mut services = service::Builder::with_transports(
            &merged.config.http.services,
            &merged.config.http.servers_transports,
        );
        let mut middlewares: HashMap<String, Result<Arc<dyn Middleware>, BuildError>> =
            HashMap::new();
        let mut handlers = HashMap::new();
        let mut table_input = merged.clone();
        for (name, router) in &merged.config.http.routers {
            let built = (|| -> Result<RouterHandler, String> {
                let mut chain = Vec::new();
                for mw in flatten(&router.middlewares, &merged.config.http.middlewares) {
                    let spec = merged
                        .config
                        .http
                        .middlewares
                        .get(&mw)
                        .ok_or_else(|| format!("middleware {mw:?} does not exist"))?;
                    let compiled = middlewares
                        .entry(mw.clone())
                        .or_insert_with(|| middleware::build(spec));
                    chain.push(
                        compiled
                            .clone()
                            .map_err(|e| format!("middleware {mw:?}: {e}"))?,
                    );
                }
                let service = services
                    .get(&router.service)
                    .map_err(|e| format!("service {:?}: {e}", router.service))?;
                Ok(RouterHandler {
                    middlewares: chain,
                    service,
                    metrics: metrics.route(name, &router.service),
                    name: Arc::from(name.as_str()),
                })
            })();
            match built {
                Ok(handler) => {
                    handlers.insert(name.clone(), Arc::new(handler));
                }
                Err(reason) => {
                    disabled.entry(name.clone()).or_default().push(reason);
                    table_input.config.http.routers.remove(name);
                }
            }
        }
        let servers = services.servers;
        for key in down {
            for server in servers.get(key).into_iter().flatten() {
                server.set_up(false);
            }
        }
        Self {
            revision,
            table: RouteTable::build(&table_input, precedence),
            handlers,
            disabled,
            servers,
            tls: merged.config.tls.clone(),
        }
    }
}

/// Expands `chain` middlewares into the middlewares they contain, in order.
fn flatten(names: &[String], specs: &BTreeMap<String, MiddlewareSpec>) -> Vec<String> {
    let mut out = Vec::new();
    for name in names {
        match specs.get(name) {
            Some(MiddlewareSpec::Chain(chain)) => out.extend(flatten(&chain.middlewares, specs)),
            _ => out.push(name.clone()),
        }
    }
    out
}
