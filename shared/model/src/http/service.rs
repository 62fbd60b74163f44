//! HTTP services: load balancer, weighted, mirroring and failover.

use std::collections::BTreeMap;
use std::fmt;

use serde::{Deserialize, Deserializer, Serialize, Serializer};

use crate::duration::Duration;
use crate::validate::serde_fns::{
    default_true, is_default, is_false, is_true, is_zero_i64, is_zero_u16,
};
use crate::validate::{Errors, FieldError, check_absolute_url};

/// Schemes a load-balancer server URL may use.
pub const SERVER_SCHEMES: [&str; 3] = ["http", "https", "h2c"];

/// Traefik's default `healthCheck.interval` (30s).
pub const DEFAULT_HEALTH_CHECK_INTERVAL: Duration = Duration::from_secs(30);
/// Traefik's default `healthCheck.timeout` (5s).
pub const DEFAULT_HEALTH_CHECK_TIMEOUT: Duration = Duration::from_secs(5);
/// Traefik's default `responseForwarding.flushInterval` (100ms).
pub const DEFAULT_FLUSH_INTERVAL: Duration = Duration::from_millis(100);

/// An HTTP service (`http.services.<name>`): exactly one of the service types.
// Configuration values are built once per reload and matched by value everywhere;
// boxing the big variants would only make construction and patterns clumsier.
#[allow(clippy::large_enum_variant)]
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub enum Service {
    /// Load-balances requests over servers.
    LoadBalancer(LoadBalancer),
    /// Weighted round robin over other services.
    Weighted(Weighted),
    /// Sends requests to a main service and copies of them to mirror services.
    Mirroring(Mirroring),
    /// Sends requests to a main service, or to a fallback service when it is down.
    Failover(Failover),
}

impl Service {
    /// The Traefik key of the service type (`loadBalancer`, `weighted`, ...).
    pub fn type_name(&self) -> &'static str {
        match self {
            Service::LoadBalancer(_) => "loadBalancer",
            Service::Weighted(_) => "weighted",
            Service::Mirroring(_) => "mirroring",
            Service::Failover(_) => "failover",
        }
    }

    /// Names of the services this one refers to (children of weighted, mirroring and
    /// failover services), for reference checks done elsewhere.
    pub fn referenced_services(&self) -> Vec<&str> {
        match self {
            Service::LoadBalancer(_) => Vec::new(),
            Service::Weighted(w) => w.services.iter().map(|s| s.name.as_str()).collect(),
            Service::Mirroring(m) => std::iter::once(m.service.as_str())
                .chain(m.mirrors.iter().map(|s| s.name.as_str()))
                .collect(),
            Service::Failover(f) => vec![f.service.as_str(), f.fallback.as_str()],
        }
    }

    /// Self-contained checks; field paths start with the type key
    /// (e.g. `loadBalancer.servers[0].url`).
    pub fn validate(&self) -> Vec<FieldError> {
        let mut errs = Errors::default();
        let inner = match self {
            Service::LoadBalancer(lb) => lb.validate(),
            Service::Weighted(w) => w.validate(),
            Service::Mirroring(m) => m.validate(),
            Service::Failover(f) => f.validate(),
        };
        errs.nest(self.type_name(), inner);
        errs.into_vec()
    }
}

/// Load-balancing strategy of a [`LoadBalancer`].
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub enum Strategy {
    /// Weighted round robin (`wrr`, the default).
    #[default]
    Wrr,
    /// Power of two random choices (`p2c`).
    P2c,
    /// Any other value: kept so that validation can report it for this service alone
    /// (Traefik: "unsupported load-balancer strategy").
    Unsupported(String),
}

impl Strategy {
    /// The configuration spelling.
    pub fn as_str(&self) -> &str {
        match self {
            Strategy::Wrr => "wrr",
            Strategy::P2c => "p2c",
            Strategy::Unsupported(s) => s,
        }
    }
}

impl fmt::Display for Strategy {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl From<&str> for Strategy {
    /// Case-insensitive; empty means `wrr` as in Traefik.
    fn from(s: &str) -> Self {
        if s.is_empty() || s.eq_ignore_ascii_case("wrr") {
            Strategy::Wrr
        } else if s.eq_ignore_ascii_case("p2c") {
            Strategy::P2c
        } else {
            Strategy::Unsupported(s.to_owned())
        }
    }
}

impl Serialize for Strategy {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(self.as_str())
    }
}

impl<'de> Deserialize<'de> for Strategy {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let s = String::deserialize(deserializer)?;
        Ok(Strategy::from(s.as_str()))
    }
}

/// A load balancer over servers (Traefik's `ServersLoadBalancer`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, rename_all = "camelCase")]
pub struct LoadBalancer {
    /// The servers; Docker labels fill `servers[0].port`/`scheme` instead of `url`.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub servers: Vec<Server>,
    /// Sticky sessions; present (even empty) enables them.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub sticky: Option<Sticky>,
    /// Active health checks of the servers.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub health_check: Option<ServerHealthCheck>,
    /// Passive health checks (failures of proxied requests).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub passive_health_check: Option<PassiveServerHealthCheck>,
    /// Forward the client's Host header to the servers (default true).
    #[serde(default = "default_true", skip_serializing_if = "is_true")]
    pub pass_host_header: bool,
    /// How responses are streamed back to the client.
    #[serde(skip_serializing_if = "is_default")]
    pub response_forwarding: ResponseForwarding,
    /// Name of the servers transport (`http.serversTransports`) to use.
    #[serde(skip_serializing_if = "String::is_empty")]
    pub servers_transport: String,
    /// Load-balancing strategy (default `wrr`).
    #[serde(skip_serializing_if = "is_default")]
    pub strategy: Strategy,
}

impl Default for LoadBalancer {
    fn default() -> Self {
        LoadBalancer {
            servers: Vec::new(),
            sticky: None,
            health_check: None,
            passive_health_check: None,
            pass_host_header: true,
            response_forwarding: ResponseForwarding::default(),
            servers_transport: String::new(),
            strategy: Strategy::Wrr,
        }
    }
}

impl LoadBalancer {
    /// Checks servers, sticky cookie, health checks and the strategy.
    pub fn validate(&self) -> Vec<FieldError> {
        let mut errs = Errors::default();
        for (i, server) in self.servers.iter().enumerate() {
            errs.nest(&format!("servers[{i}]"), server.validate());
        }
        if let Some(sticky) = &self.sticky {
            errs.nest("sticky", sticky.validate());
        }
        if let Some(hc) = &self.health_check {
            errs.nest("healthCheck", hc.validate());
        }
        if let Some(phc) = &self.passive_health_check {
            errs.nest("passiveHealthCheck", phc.validate());
        }
        if let Strategy::Unsupported(s) = &self.strategy {
            errs.push(
                "strategy",
                format!("unsupported load-balancer strategy {s:?}; expected wrr or p2c"),
            );
        }
        errs.into_vec()
    }
}

/// A server of a [`LoadBalancer`].
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(default, rename_all = "camelCase")]
pub struct Server {
    /// Absolute URL of the server (`http://10.0.0.1:8080`); may be empty when the
    /// server comes from labels with a `port`.
    #[serde(skip_serializing_if = "String::is_empty")]
    pub url: String,
    /// Weight for weighted strategies; `None` means 1.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub weight: Option<u32>,
    /// Keep the URL's path as a prefix of forwarded request paths.
    #[serde(skip_serializing_if = "is_false")]
    pub preserve_path: bool,
    /// Labels only (`loadbalancer.server.port`): port on the container; the provider
    /// builds `url` from it.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub port: Option<String>,
    /// Labels only (`loadbalancer.server.scheme`): scheme to combine with `port`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub scheme: Option<String>,
}

impl Server {
    /// The weight used by weighted strategies.
    pub fn effective_weight(&self) -> u32 {
        self.weight.unwrap_or(1)
    }

    /// `url` required (an absolute http/https/h2c URL) unless `port` is given.
    pub fn validate(&self) -> Vec<FieldError> {
        let mut errs = Errors::default();
        if self.url.trim().is_empty() {
            if self.port.is_none() {
                errs.push("url", "the server URL is missing");
            }
        } else if let Err(msg) = check_absolute_url(&self.url, &SERVER_SCHEMES) {
            errs.push("url", msg);
        }
        if let Some(port) = &self.port
            && port.trim().parse::<u16>().is_err()
        {
            errs.push("port", format!("{port:?} is not a port number"));
        }
        if let Some(scheme) = &self.scheme
            && !SERVER_SCHEMES
                .iter()
                .any(|s| s.eq_ignore_ascii_case(scheme))
        {
            errs.push(
                "scheme",
                format!(
                    "unsupported scheme {scheme:?}; expected one of {}",
                    SERVER_SCHEMES.join(", ")
                ),
            );
        }
        errs.into_vec()
    }
}

/// Sticky sessions.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(default, rename_all = "camelCase")]
pub struct Sticky {
    /// Cookie-based stickiness; present (even empty) enables it.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub cookie: Option<Cookie>,
}

impl Sticky {
    /// Checks the cookie settings.
    pub fn validate(&self) -> Vec<FieldError> {
        let mut errs = Errors::default();
        if let Some(cookie) = &self.cookie {
            errs.nest("cookie", cookie.validate());
        }
        errs.into_vec()
    }
}

/// The sticky-session cookie.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, rename_all = "camelCase")]
pub struct Cookie {
    /// Cookie name; empty means a name derived from the service name.
    #[serde(skip_serializing_if = "String::is_empty")]
    pub name: String,
    /// Only send the cookie over HTTPS.
    #[serde(skip_serializing_if = "is_false")]
    pub secure: bool,
    /// Hide the cookie from client-side scripts.
    #[serde(skip_serializing_if = "is_false")]
    pub http_only: bool,
    /// `none`, `lax` or `strict` (case-insensitive); empty means the browser default.
    #[serde(skip_serializing_if = "String::is_empty")]
    pub same_site: String,
    /// Seconds until the cookie expires; 0 is a session cookie, negative expires now.
    #[serde(skip_serializing_if = "is_zero_i64")]
    pub max_age: i64,
    /// Cookie path (default `/`).
    #[serde(
        default = "default_cookie_path",
        skip_serializing_if = "is_default_cookie_path"
    )]
    pub path: String,
    /// Cookie domain; empty means the request host.
    #[serde(skip_serializing_if = "String::is_empty")]
    pub domain: String,
}

fn default_cookie_path() -> String {
    "/".to_owned()
}

fn is_default_cookie_path(path: &String) -> bool {
    path == "/"
}

impl Default for Cookie {
    fn default() -> Self {
        Cookie {
            name: String::new(),
            secure: false,
            http_only: false,
            same_site: String::new(),
            max_age: 0,
            path: default_cookie_path(),
            domain: String::new(),
        }
    }
}

impl Cookie {
    /// `sameSite` must be empty or one of none/lax/strict.
    pub fn validate(&self) -> Vec<FieldError> {
        let mut errs = Errors::default();
        if !self.same_site.is_empty()
            && !["none", "lax", "strict"]
                .iter()
                .any(|v| v.eq_ignore_ascii_case(&self.same_site))
        {
            errs.push(
                "sameSite",
                format!(
                    "unknown sameSite value {:?}; expected none, lax or strict",
                    self.same_site
                ),
            );
        }
        if self
            .name
            .chars()
            .any(|c| c.is_whitespace() || c.is_control() || "()<>@,;:\\\"/[]?={}".contains(c))
        {
            errs.push(
                "name",
                format!("{:?} is not a valid cookie name", self.name),
            );
        }
        errs.into_vec()
    }
}

/// Active health check of a load balancer's servers (Traefik's `ServerHealthCheck`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, rename_all = "camelCase")]
pub struct ServerHealthCheck {
    /// Scheme to use instead of the server URL's.
    #[serde(skip_serializing_if = "String::is_empty")]
    pub scheme: String,
    /// `http` (default) or `grpc` (gRPC health checking protocol).
    #[serde(
        default = "default_health_check_mode",
        skip_serializing_if = "is_http_mode"
    )]
    pub mode: String,
    /// Path (and query) to request.
    #[serde(skip_serializing_if = "String::is_empty")]
    pub path: String,
    /// HTTP method; empty means GET.
    #[serde(skip_serializing_if = "String::is_empty")]
    pub method: String,
    /// Expected status code; 0 means any 2xx or 3xx.
    #[serde(skip_serializing_if = "is_zero_u16")]
    pub status: u16,
    /// Port to use instead of the server URL's; 0 means the server's port.
    #[serde(skip_serializing_if = "is_zero_u16")]
    pub port: u16,
    /// Time between checks of healthy servers (default 30s).
    #[serde(
        default = "default_health_check_interval",
        skip_serializing_if = "is_default_interval"
    )]
    pub interval: Duration,
    /// Time between checks of unhealthy servers; `None` means `interval`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub unhealthy_interval: Option<Duration>,
    /// Time to wait for a check's response (default 5s).
    #[serde(
        default = "default_health_check_timeout",
        skip_serializing_if = "is_default_timeout"
    )]
    pub timeout: Duration,
    /// Host header to send.
    #[serde(skip_serializing_if = "String::is_empty")]
    pub hostname: String,
    /// Follow redirects (default true).
    #[serde(default = "default_true", skip_serializing_if = "is_true")]
    pub follow_redirects: bool,
    /// Extra request headers.
    #[serde(skip_serializing_if = "BTreeMap::is_empty")]
    pub headers: BTreeMap<String, String>,
}

fn default_health_check_mode() -> String {
    "http".to_owned()
}
fn is_http_mode(mode: &String) -> bool {
    mode == "http"
}
fn default_health_check_interval() -> Duration {
    DEFAULT_HEALTH_CHECK_INTERVAL
}
fn is_default_interval(d: &Duration) -> bool {
    *d == DEFAULT_HEALTH_CHECK_INTERVAL
}
fn default_health_check_timeout() -> Duration {
    DEFAULT_HEALTH_CHECK_TIMEOUT
}
fn is_default_timeout(d: &Duration) -> bool {
    *d == DEFAULT_HEALTH_CHECK_TIMEOUT
}

impl Default for ServerHealthCheck {
    fn default() -> Self {
        ServerHealthCheck {
            scheme: String::new(),
            mode: default_health_check_mode(),
            path: String::new(),
            method: String::new(),
            status: 0,
            port: 0,
            interval: DEFAULT_HEALTH_CHECK_INTERVAL,
            unhealthy_interval: None,
            timeout: DEFAULT_HEALTH_CHECK_TIMEOUT,
            hostname: String::new(),
            follow_redirects: true,
            headers: BTreeMap::new(),
        }
    }
}

impl ServerHealthCheck {
    /// True for the gRPC health checking protocol.
    pub fn is_grpc(&self) -> bool {
        self.mode.eq_ignore_ascii_case("grpc")
    }

    /// Checks mode, scheme and status.
    pub fn validate(&self) -> Vec<FieldError> {
        let mut errs = Errors::default();
        if !self.mode.is_empty() && !self.mode.eq_ignore_ascii_case("http") && !self.is_grpc() {
            errs.push(
                "mode",
                format!(
                    "unknown health check mode {:?}; expected http or grpc",
                    self.mode
                ),
            );
        }
        if !self.scheme.is_empty()
            && !SERVER_SCHEMES
                .iter()
                .any(|s| s.eq_ignore_ascii_case(&self.scheme))
        {
            errs.push(
                "scheme",
                format!(
                    "unsupported scheme {:?}; expected one of {}",
                    self.scheme,
                    SERVER_SCHEMES.join(", ")
                ),
            );
        }
        if self.status != 0 && !(100..=599).contains(&self.status) {
            errs.push(
                "status",
                format!("{} is not an HTTP status code", self.status),
            );
        }
        errs.into_vec()
    }
}

/// Passive health check: servers failing too often are taken out for a while
/// (Traefik's `PassiveServerHealthCheck`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, rename_all = "camelCase")]
pub struct PassiveServerHealthCheck {
    /// Window in which failures count, and how long a failing server stays out
    /// (default 10s).
    pub failure_window: Duration,
    /// Failures within the window before the server is marked unhealthy (default 1).
    pub max_failed_attempts: i64,
}

impl Default for PassiveServerHealthCheck {
    fn default() -> Self {
        PassiveServerHealthCheck {
            failure_window: Duration::from_secs(10),
            max_failed_attempts: 1,
        }
    }
}

impl PassiveServerHealthCheck {
    /// The window must be positive and at least one failure allowed.
    pub fn validate(&self) -> Vec<FieldError> {
        let mut errs = Errors::default();
        if self.failure_window.as_nanos() <= 0 {
            errs.push("failureWindow", "must be greater than 0");
        }
        if self.max_failed_attempts < 1 {
            errs.push("maxFailedAttempts", "must be at least 1");
        }
        errs.into_vec()
    }
}

/// How responses are copied back to the client.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, rename_all = "camelCase")]
pub struct ResponseForwarding {
    /// Interval between flushes to the client (default 100ms); negative flushes after
    /// every write. Streaming responses are always flushed immediately.
    pub flush_interval: Duration,
}

impl Default for ResponseForwarding {
    fn default() -> Self {
        ResponseForwarding {
            flush_interval: DEFAULT_FLUSH_INTERVAL,
        }
    }
}

/// Marker enabling health status propagation on weighted, mirroring and failover
/// services (`healthCheck: {}`); it has no options.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct HealthCheck {}

/// Weighted round robin over services (Traefik's `WeightedRoundRobin`).
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(default, rename_all = "camelCase")]
pub struct Weighted {
    /// The services and their weights.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub services: Vec<WrrService>,
    /// Sticky sessions across the child services.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub sticky: Option<Sticky>,
    /// Propagate child health.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub health_check: Option<HealthCheck>,
}

impl Weighted {
    /// Each child service needs a name.
    pub fn validate(&self) -> Vec<FieldError> {
        let mut errs = Errors::default();
        for (i, s) in self.services.iter().enumerate() {
            errs.require(&format!("services[{i}].name"), &s.name);
        }
        if let Some(sticky) = &self.sticky {
            errs.nest("sticky", sticky.validate());
        }
        errs.into_vec()
    }
}

/// A child of a [`Weighted`] service (Traefik's `WRRService`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, rename_all = "camelCase")]
pub struct WrrService {
    /// Service name (optionally `name@provider`).
    #[serde(skip_serializing_if = "String::is_empty")]
    pub name: String,
    /// Weight (default 1); 0 sends no traffic.
    #[serde(default = "default_weight", skip_serializing_if = "is_default_weight")]
    pub weight: u32,
}

pub(crate) fn default_weight() -> u32 {
    1
}
pub(crate) fn is_default_weight(w: &u32) -> bool {
    *w == 1
}

impl Default for WrrService {
    fn default() -> Self {
        WrrService {
            name: String::new(),
            weight: 1,
        }
    }
}

/// Traefik's default `mirroring.maxBodySize`: -1, no limit.
pub const DEFAULT_MIRROR_MAX_BODY_SIZE: i64 = -1;

/// Mirroring: requests go to `service`, copies go to the mirrors.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, rename_all = "camelCase")]
pub struct Mirroring {
    /// The main service.
    #[serde(skip_serializing_if = "String::is_empty")]
    pub service: String,
    /// Copy the request body to mirrors (default true).
    #[serde(default = "default_true", skip_serializing_if = "is_true")]
    pub mirror_body: bool,
    /// Largest body mirrored, in bytes; -1 (default) means no limit.
    #[serde(
        default = "default_mirror_max_body_size",
        skip_serializing_if = "is_default_mirror_max_body_size"
    )]
    pub max_body_size: i64,
    /// Mirror services and the percentage of requests each receives.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub mirrors: Vec<MirrorService>,
    /// Propagate child health.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub health_check: Option<HealthCheck>,
}

fn default_mirror_max_body_size() -> i64 {
    DEFAULT_MIRROR_MAX_BODY_SIZE
}
fn is_default_mirror_max_body_size(v: &i64) -> bool {
    *v == DEFAULT_MIRROR_MAX_BODY_SIZE
}

impl Default for Mirroring {
    fn default() -> Self {
        Mirroring {
            service: String::new(),
            mirror_body: true,
            max_body_size: DEFAULT_MIRROR_MAX_BODY_SIZE,
            mirrors: Vec::new(),
            health_check: None,
        }
    }
}

impl Mirroring {
    /// Needs a main service; mirrors need names and percentages within 0..=100.
    pub fn validate(&self) -> Vec<FieldError> {
        let mut errs = Errors::default();
        errs.require("service", &self.service);
        for (i, m) in self.mirrors.iter().enumerate() {
            errs.require(&format!("mirrors[{i}].name"), &m.name);
            if m.percent > 100 {
                errs.push(
                    format!("mirrors[{i}].percent"),
                    format!("percent must be between 0 and 100, got {}", m.percent),
                );
            }
        }
        errs.into_vec()
    }
}

/// A mirror of a [`Mirroring`] service.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(default, rename_all = "camelCase")]
pub struct MirrorService {
    /// Service name (optionally `name@provider`).
    #[serde(skip_serializing_if = "String::is_empty")]
    pub name: String,
    /// Percentage of requests mirrored (0..=100).
    #[serde(skip_serializing_if = "crate::validate::serde_fns::is_zero_u32")]
    pub percent: u32,
}

/// Failover: requests go to `service`, or to `fallback` while it is unhealthy.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(default, rename_all = "camelCase")]
pub struct Failover {
    /// The main service (must have health checks enabled).
    #[serde(skip_serializing_if = "String::is_empty")]
    pub service: String,
    /// The service used while the main one is down.
    #[serde(skip_serializing_if = "String::is_empty")]
    pub fallback: String,
    /// Propagate health.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub health_check: Option<HealthCheck>,
}

impl Failover {
    /// Needs both a service and a fallback.
    pub fn validate(&self) -> Vec<FieldError> {
        let mut errs = Errors::default();
        errs.require("service", &self.service);
        errs.require("fallback", &self.fallback);
        errs.into_vec()
    }
}
