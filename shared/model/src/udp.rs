//! `udp`: routers and services for UDP.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use crate::tcp::{validate_address, validate_wrr_names};
use crate::validate::{Errors, FieldError};

pub use crate::http::WrrService;

/// The `udp` section of the dynamic configuration.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(default, rename_all = "camelCase")]
pub struct UdpConfig {
    /// Routers by name.
    #[serde(skip_serializing_if = "BTreeMap::is_empty")]
    pub routers: BTreeMap<String, Router>,
    /// Services by name.
    #[serde(skip_serializing_if = "BTreeMap::is_empty")]
    pub services: BTreeMap<String, Service>,
}

impl UdpConfig {
    /// True when no resource is defined.
    pub fn is_empty(&self) -> bool {
        self.routers.is_empty() && self.services.is_empty()
    }
}

/// A UDP router (`udp.routers.<name>`): all datagrams of its entry points go to its
/// service.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(default, rename_all = "camelCase")]
pub struct Router {
    /// Entry points the router listens on; empty means all UDP entry points.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub entry_points: Vec<String>,
    /// The service handling the datagrams.
    #[serde(skip_serializing_if = "String::is_empty")]
    pub service: String,
}

impl Router {
    /// Needs a service.
    pub fn validate(&self) -> Vec<FieldError> {
        let mut errs = Errors::default();
        if self.service.trim().is_empty() {
            errs.push("service", "the service is missing on the udp router");
        }
        for (i, ep) in self.entry_points.iter().enumerate() {
            errs.require(&format!("entryPoints[{i}]"), ep);
        }
        errs.into_vec()
    }
}

/// A UDP service (`udp.services.<name>`): exactly one of the service types.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub enum Service {
    /// Load-balances sessions over servers.
    LoadBalancer(LoadBalancer),
    /// Weighted round robin over other UDP services.
    Weighted(Weighted),
}

impl Service {
    /// The Traefik key of the service type.
    pub fn type_name(&self) -> &'static str {
        match self {
            Service::LoadBalancer(_) => "loadBalancer",
            Service::Weighted(_) => "weighted",
        }
    }

    /// Names of the services this one refers to.
    pub fn referenced_services(&self) -> Vec<&str> {
        match self {
            Service::LoadBalancer(_) => Vec::new(),
            Service::Weighted(w) => w.services.iter().map(|s| s.name.as_str()).collect(),
        }
    }

    /// Self-contained checks; field paths start with the type key.
    pub fn validate(&self) -> Vec<FieldError> {
        let mut inner = Errors::default();
        match self {
            Service::LoadBalancer(lb) => {
                for (i, server) in lb.servers.iter().enumerate() {
                    inner.nest(
                        &format!("servers[{i}]"),
                        validate_address(&server.address, server.port.as_deref()),
                    );
                }
            }
            Service::Weighted(w) => inner.0.extend(validate_wrr_names(&w.services)),
        }
        let mut errs = Errors::default();
        errs.nest(self.type_name(), inner.into_vec());
        errs.into_vec()
    }
}

/// A UDP load balancer over servers.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(default, rename_all = "camelCase")]
pub struct LoadBalancer {
    /// The servers.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub servers: Vec<Server>,
}

/// A server of a UDP [`LoadBalancer`].
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(default, rename_all = "camelCase")]
pub struct Server {
    /// `host:port` of the server; may be empty when the server comes from labels
    /// with a `port`.
    #[serde(skip_serializing_if = "String::is_empty")]
    pub address: String,
    /// Labels only (`loadbalancer.server.port`): port on the container.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub port: Option<String>,
}

/// Weighted round robin over UDP services.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(default, rename_all = "camelCase")]
pub struct Weighted {
    /// The services and their weights.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub services: Vec<WrrService>,
}
