//! `tcp`: routers, services, middlewares and servers transports for raw TCP.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use crate::duration::Duration;
use crate::http::{servers_transport::Spiffe, validate_domains, validate_router_common};
use crate::tls::{Certificate, Domain};
use crate::validate::serde_fns::{is_false, is_zero_i64};
use crate::validate::{Errors, FieldError};

pub use crate::http::{HealthCheck, WrrService};

/// The `tcp` section of the dynamic configuration.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(default, rename_all = "camelCase")]
pub struct TcpConfig {
    /// Routers by name.
    #[serde(skip_serializing_if = "BTreeMap::is_empty")]
    pub routers: BTreeMap<String, Router>,
    /// Services by name.
    #[serde(skip_serializing_if = "BTreeMap::is_empty")]
    pub services: BTreeMap<String, Service>,
    /// Middlewares by name.
    #[serde(skip_serializing_if = "BTreeMap::is_empty")]
    pub middlewares: BTreeMap<String, Middleware>,
    /// Servers transports by name.
    #[serde(skip_serializing_if = "BTreeMap::is_empty")]
    pub servers_transports: BTreeMap<String, ServersTransport>,
}

impl TcpConfig {
    /// True when no resource is defined.
    pub fn is_empty(&self) -> bool {
        self.routers.is_empty()
            && self.services.is_empty()
            && self.middlewares.is_empty()
            && self.servers_transports.is_empty()
    }
}

/// A TCP router (`tcp.routers.<name>`).
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(default, rename_all = "camelCase")]
pub struct Router {
    /// Entry points the router listens on; empty means the default entry points.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub entry_points: Vec<String>,
    /// The matching rule, e.g. ``HostSNI(`example.com`)`` or ``HostSNI(`*`)``.
    #[serde(skip_serializing_if = "String::is_empty")]
    pub rule: String,
    /// Deprecated: `v2` to parse `rule` with the Traefik v2 syntax; anything else is v3.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub rule_syntax: Option<String>,
    /// Priority among routers; 0 means computed from the rule.
    #[serde(skip_serializing_if = "is_zero_i64")]
    pub priority: i64,
    /// Middlewares applied in order, by name.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub middlewares: Vec<String>,
    /// The service handling matched connections.
    #[serde(skip_serializing_if = "String::is_empty")]
    pub service: String,
    /// When present (even empty), the router only handles TLS connections.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub tls: Option<RouterTcpTlsConfig>,
}

impl Router {
    /// Self-contained checks (no rule parsing, no references to other resources).
    pub fn validate(&self) -> Vec<FieldError> {
        let mut errs = Errors::default();
        validate_router_common(
            &mut errs,
            &self.entry_points,
            &self.rule,
            self.priority,
            &self.middlewares,
            &self.service,
        );
        if let Some(tls) = &self.tls {
            errs.nest("tls", validate_domains(&tls.domains));
        }
        errs.into_vec()
    }
}

/// TLS settings of a TCP router.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(default, rename_all = "camelCase")]
pub struct RouterTcpTlsConfig {
    /// Forward the TLS stream as is instead of terminating it.
    #[serde(skip_serializing_if = "is_false")]
    pub passthrough: bool,
    /// Name of the TLS options (`tls.options`) to use; empty means `default`.
    #[serde(skip_serializing_if = "String::is_empty")]
    pub options: String,
    /// Certificate resolver that obtains certificates for this router.
    #[serde(skip_serializing_if = "String::is_empty")]
    pub cert_resolver: String,
    /// Domains to obtain certificates for.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub domains: Vec<Domain>,
}

/// A TCP service (`tcp.services.<name>`): exactly one of the service types.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub enum Service {
    /// Load-balances connections over servers.
    LoadBalancer(LoadBalancer),
    /// Weighted round robin over other TCP services.
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
        let inner = match self {
            Service::LoadBalancer(lb) => lb.validate(),
            Service::Weighted(w) => validate_wrr_names(&w.services),
        };
        let mut errs = Errors::default();
        errs.nest(self.type_name(), inner);
        errs.into_vec()
    }
}

pub(crate) fn validate_wrr_names(services: &[WrrService]) -> Vec<FieldError> {
    let mut errs = Errors::default();
    for (i, s) in services.iter().enumerate() {
        errs.require(&format!("services[{i}].name"), &s.name);
    }
    errs.into_vec()
}

/// A TCP load balancer over servers.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(default, rename_all = "camelCase")]
pub struct LoadBalancer {
    /// The servers.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub servers: Vec<Server>,
    /// Name of the servers transport (`tcp.serversTransports`) to use.
    #[serde(skip_serializing_if = "String::is_empty")]
    pub servers_transport: String,
    /// Deprecated: use the servers transport's `proxyProtocol`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub proxy_protocol: Option<ProxyProtocol>,
    /// Deprecated: milliseconds to wait before fully closing a half-closed connection;
    /// use the servers transport's `terminationDelay`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub termination_delay: Option<i64>,
}

impl LoadBalancer {
    /// Checks server addresses and the PROXY protocol version.
    pub fn validate(&self) -> Vec<FieldError> {
        let mut errs = Errors::default();
        for (i, server) in self.servers.iter().enumerate() {
            errs.nest(&format!("servers[{i}]"), server.validate());
        }
        if let Some(pp) = &self.proxy_protocol {
            errs.nest("proxyProtocol", pp.validate());
        }
        errs.into_vec()
    }
}

/// A server of a TCP [`LoadBalancer`].
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
    /// Connect to the server with TLS.
    #[serde(skip_serializing_if = "is_false")]
    pub tls: bool,
}

impl Server {
    /// `address` is `host:port` unless `port` is given.
    pub fn validate(&self) -> Vec<FieldError> {
        validate_address(&self.address, self.port.as_deref())
    }
}

/// `address` required as `host:port` unless a label `port` is given.
pub(crate) fn validate_address(address: &str, port: Option<&str>) -> Vec<FieldError> {
    let mut errs = Errors::default();
    if address.trim().is_empty() {
        if port.is_none() {
            errs.push("address", "the server address is missing");
        }
    } else if let Err(msg) = check_host_port(address) {
        errs.push("address", msg);
    }
    if let Some(port) = port
        && port.trim().parse::<u16>().is_err()
    {
        errs.push("port", format!("{port:?} is not a port number"));
    }
    errs.into_vec()
}

/// Go's `net.SplitHostPort` shape: `host:port` or `[ipv6]:port`.
fn check_host_port(address: &str) -> Result<(), String> {
    let (host, port) = if let Some(rest) = address.strip_prefix('[') {
        let Some((host, after)) = rest.split_once(']') else {
            return Err(format!("invalid server address {address:?}: missing ']'"));
        };
        let Some(port) = after.strip_prefix(':') else {
            return Err(format!("invalid server address {address:?}: missing port"));
        };
        (host, port)
    } else {
        let Some((host, port)) = address.rsplit_once(':') else {
            return Err(format!(
                "invalid server address {address:?}: expected host:port"
            ));
        };
        if host.contains(':') {
            return Err(format!(
                "invalid server address {address:?}: IPv6 addresses must be written [addr]:port"
            ));
        }
        (host, port)
    };
    if host.chars().any(|c| c.is_whitespace() || c.is_control()) {
        return Err(format!("invalid server address {address:?}: bad host"));
    }
    if port.parse::<u16>().is_err() {
        return Err(format!(
            "invalid server address {address:?}: {port:?} is not a port number"
        ));
    }
    Ok(())
}

/// PROXY protocol towards servers.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, rename_all = "camelCase")]
pub struct ProxyProtocol {
    /// Protocol version, 1 or 2 (default 2).
    pub version: u8,
}

impl Default for ProxyProtocol {
    fn default() -> Self {
        ProxyProtocol { version: 2 }
    }
}

impl ProxyProtocol {
    /// The version must be 1 or 2.
    pub fn validate(&self) -> Vec<FieldError> {
        let mut errs = Errors::default();
        if !matches!(self.version, 1 | 2) {
            errs.push(
                "version",
                format!(
                    "unknown PROXY protocol version {}; expected 1 or 2",
                    self.version
                ),
            );
        }
        errs.into_vec()
    }
}

/// Weighted round robin over TCP services.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(default, rename_all = "camelCase")]
pub struct Weighted {
    /// The services and their weights.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub services: Vec<WrrService>,
    /// Propagate child health.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub health_check: Option<HealthCheck>,
}

/// A TCP middleware (`tcp.middlewares.<name>`): exactly one of the middleware types.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub enum Middleware {
    /// Allows connections from IP ranges only.
    IpAllowList(IpAllowList),
    /// Deprecated alias of `ipAllowList`.
    IpWhiteList(IpWhiteList),
    /// Limits simultaneous connections per client IP.
    InFlightConn(InFlightConn),
}

impl Middleware {
    /// The Traefik key of the middleware type.
    pub fn type_name(&self) -> &'static str {
        match self {
            Middleware::IpAllowList(_) => "ipAllowList",
            Middleware::IpWhiteList(_) => "ipWhiteList",
            Middleware::InFlightConn(_) => "inFlightConn",
        }
    }

    /// Self-contained checks; field paths start with the type key.
    pub fn validate(&self) -> Vec<FieldError> {
        let mut inner = Errors::default();
        match self {
            Middleware::IpAllowList(IpAllowList { source_range })
            | Middleware::IpWhiteList(IpWhiteList { source_range }) => {
                if source_range.is_empty() {
                    inner.push("sourceRange", "sourceRange is empty");
                }
                inner.ip_ranges("sourceRange", source_range);
            }
            Middleware::InFlightConn(c) => {
                if c.amount < 0 {
                    inner.push("amount", format!("must not be negative, got {}", c.amount));
                }
            }
        }
        let mut errs = Errors::default();
        errs.nest(self.type_name(), inner.into_vec());
        errs.into_vec()
    }
}

/// `ipAllowList` (TCP): only clients in `sourceRange` may connect.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(default, rename_all = "camelCase")]
pub struct IpAllowList {
    /// Allowed IPs and CIDR ranges.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub source_range: Vec<String>,
}

/// `ipWhiteList` (TCP): deprecated form of [`IpAllowList`].
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(default, rename_all = "camelCase")]
pub struct IpWhiteList {
    /// Allowed IPs and CIDR ranges.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub source_range: Vec<String>,
}

/// `inFlightConn`: limits simultaneous connections per client IP.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(default, rename_all = "camelCase")]
pub struct InFlightConn {
    /// Maximum simultaneous connections per client IP.
    #[serde(skip_serializing_if = "is_zero_i64")]
    pub amount: i64,
}

/// Connection settings towards TCP servers (`tcp.serversTransports.<name>`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, rename_all = "camelCase")]
pub struct ServersTransport {
    /// Time to establish a connection (default 30s; 0 means none).
    pub dial_timeout: Duration,
    /// Interval between keep-alive probes (default 15s; negative disables them).
    pub dial_keep_alive: Duration,
    /// Delay before fully closing a connection after one side closed its write half
    /// (default 100ms; negative means wait forever).
    pub termination_delay: Duration,
    /// PROXY protocol towards servers; present (even empty) enables version 2.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub proxy_protocol: Option<ProxyProtocol>,
    /// TLS towards servers that have `tls: true`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub tls: Option<TlsClientConfig>,
}

impl Default for ServersTransport {
    fn default() -> Self {
        ServersTransport {
            dial_timeout: Duration::from_secs(30),
            dial_keep_alive: Duration::from_secs(15),
            termination_delay: Duration::from_millis(100),
            proxy_protocol: None,
            tls: None,
        }
    }
}

impl ServersTransport {
    /// Checks the dial timeout, PROXY protocol version and client certificates.
    pub fn validate(&self) -> Vec<FieldError> {
        let mut errs = Errors::default();
        if self.dial_timeout.is_negative() {
            errs.push(
                "dialTimeout",
                format!("must not be negative, got {}", self.dial_timeout),
            );
        }
        if let Some(pp) = &self.proxy_protocol {
            errs.nest("proxyProtocol", pp.validate());
        }
        if let Some(tls) = &self.tls {
            let mut tls_errs = Errors::default();
            for (i, cert) in tls.certificates.iter().enumerate() {
                tls_errs.nest(&format!("certificates[{i}]"), cert.validate());
            }
            if let Some(spiffe) = &tls.spiffe {
                tls_errs.nest("spiffe", spiffe.validate());
            }
            errs.nest("tls", tls_errs.into_vec());
        }
        errs.into_vec()
    }
}

/// TLS towards TCP servers (Traefik's `TLSClientConfig`).
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(default, rename_all = "camelCase")]
pub struct TlsClientConfig {
    /// SNI / certificate name to use towards servers.
    #[serde(skip_serializing_if = "String::is_empty")]
    pub server_name: String,
    /// Do not verify server certificates.
    #[serde(skip_serializing_if = "is_false")]
    pub insecure_skip_verify: bool,
    /// CA certificates (paths or PEM contents) to verify servers with.
    #[serde(rename = "rootCAs", skip_serializing_if = "Vec::is_empty")]
    pub root_cas: Vec<String>,
    /// Client certificates for mTLS.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub certificates: Vec<Certificate>,
    /// Deprecated: URI SAN that server certificates must carry.
    #[serde(rename = "peerCertURI", skip_serializing_if = "String::is_empty")]
    pub peer_cert_uri: String,
    /// SPIFFE authentication of servers.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub spiffe: Option<Spiffe>,
}
