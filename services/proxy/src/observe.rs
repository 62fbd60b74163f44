//! Observability: Prometheus metrics with Traefik v3's names and labels, and Traefik's
//! access log, both fed by one guard per request.
//!
//! The request path never takes a lock shared by workers: handles for an entrypoint
//! ([`EntryPointMetrics`]) and for a router with its service ([`RouteMetrics`]) are resolved
//! once (at startup, when a snapshot is built) and hold their counters directly; a request
//! adds to per-thread atomic cells (see `series`). Locks are taken only to resolve handles,
//! for rare events (reloads, health, certificates) and by scrapes.
//!
//! Wiring, per request:
//! ```text
//! let mut obs = entrypoint_metrics.start(req.method(), Protocol::detect(req.headers()));
//! obs.log_request(&LogRequest { .. });          // when metrics.logs_access()
//! obs.routed(&router_handler.metrics);           // once the router matched
//! let body = obs.count_request_body(body);       // optional: exact request sizes
//! let response = /* middlewares + service */;
//! obs.wrap(response)                              // finishes when the body ends
//! ```

mod access_log;
mod body;
mod clock;
mod render;
mod series;

use std::collections::{BTreeMap, HashMap};
use std::hash::Hash;
use std::sync::atomic::{AtomicI64, AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard, PoisonError, Weak};
use std::time::{Duration, Instant, UNIX_EPOCH};

use actix_web::HttpResponse;
use actix_web::body::MessageBody as _;
use actix_web::dev::Payload;
use actix_web::http::Method;
use actix_web::http::header::{self, HeaderMap};

pub use access_log::{AccessLogger, LogRequest};
pub use body::CountingBody;
#[cfg(test)]
use clock::ManualClock;
pub use clock::{Clock, SystemClock};

use access_log::{LogRecord, protocol_name};
use render::Scrape;
use series::{Key, MAX_CODE, Series};

/// `Content-Type` of [`Metrics::render`]'s output.
pub const CONTENT_TYPE: &str = prometheus_client::encoding::prometheus_text::CONTENT_TYPE;

/// The status Traefik records when the client went away before a response: nginx's
/// "client closed request".
pub const CLIENT_CLOSED_REQUEST: u16 = 499;

/// The `protocol` label of request metrics, as Traefik derives it from request headers.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Protocol {
    /// Plain HTTP (also HTTPS: TLS is not a protocol here).
    Http,
    /// Server-sent events (`Accept: text/event-stream`).
    Sse,
    /// A WebSocket upgrade.
    Websocket,
    /// gRPC (`Content-Type: application/grpc…`).
    Grpc,
    /// gRPC-Web (`Content-Type: application/grpc-web…`).
    GrpcWeb,
}

/// Whether the first `name` header has `value` among its comma-separated items (items are
/// trimmed and lower-cased), as Traefik's `containsHeader`.
fn header_has_item(headers: &HeaderMap, name: header::HeaderName, value: &str) -> bool {
    headers
        .get(name)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| {
            v.split(',')
                .any(|item| item.trim().eq_ignore_ascii_case(value))
        })
}

impl Protocol {
    /// Traefik's `getRequestProtocol`, checked in its order. Call it on the headers as the
    /// client sent them (before hop-by-hop headers are removed).
    pub fn detect(headers: &HeaderMap) -> Self {
        let content_type = headers
            .get(header::CONTENT_TYPE)
            .and_then(|v| v.to_str().ok())
            .unwrap_or("");
        if header_has_item(headers, header::CONNECTION, "upgrade")
            && header_has_item(headers, header::UPGRADE, "websocket")
        {
            Protocol::Websocket
        } else if header_has_item(headers, header::ACCEPT, "text/event-stream") {
            Protocol::Sse
        } else if content_type.starts_with("application/grpc-web") {
            Protocol::GrpcWeb
        } else if content_type.starts_with("application/grpc") {
            Protocol::Grpc
        } else {
            Protocol::Http
        }
    }

    fn index(self) -> usize {
        match self {
            Protocol::Http => 0,
            Protocol::Sse => 1,
            Protocol::Websocket => 2,
            Protocol::Grpc => 3,
            Protocol::GrpcWeb => 4,
        }
    }

    fn is_grpc(self) -> bool {
        matches!(self, Protocol::Grpc | Protocol::GrpcWeb)
    }
}

/// Index of the `method` label: the verbs Traefik keeps, anything else `EXTENSION_METHOD`.
fn method_index(method: &Method) -> u8 {
    match method.as_str() {
        "GET" => 0,
        "HEAD" => 1,
        "POST" => 2,
        "PUT" => 3,
        "DELETE" => 4,
        "CONNECT" => 5,
        "OPTIONS" => 6,
        "TRACE" => 7,
        "PATCH" => 8,
        "PRI" => 9,
        _ => 10,
    }
}

/// The `code` label of a gRPC response: its `grpc-status` header when it holds a valid code
/// (0 to 16), else 2 (Unknown), as Traefik does.
pub fn grpc_status(headers: &HeaderMap) -> u16 {
    headers
        .get("grpc-status")
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.trim().parse::<u16>().ok())
        .filter(|code| *code <= 16)
        .unwrap_or(2)
}

fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(PoisonError::into_inner)
}

/// What every request of every entrypoint shares.
struct Common {
    clock: Arc<dyn Clock>,
    access_log: Option<AccessLogger>,
    /// Traefik's `RequestCount`; only counted when access logging is on.
    request_count: AtomicU64,
}

struct EntryPointInner {
    name: Arc<str>,
    series: Series,
    common: Arc<Common>,
    open_tcp: Arc<AtomicI64>,
}

/// An entrypoint's metrics handle: resolve it once per entrypoint and start every request
/// from it.
#[derive(Clone)]
pub struct EntryPointMetrics(Arc<EntryPointInner>);

impl std::fmt::Debug for EntryPointMetrics {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_tuple("EntryPointMetrics")
            .field(&self.0.name)
            .finish()
    }
}

struct RouteInner {
    router: Arc<str>,
    service: Arc<str>,
    router_series: Arc<Series>,
    service_series: Arc<Series>,
}

/// A router's metrics handle (with its service's): resolve it when the snapshot is built
/// and keep it with the router's handler. Its series stay in `/metrics` while a handle is
/// alive, so routers and services that leave the configuration leave the output with the
/// last snapshot that held them (Traefik likewise removes outdated series).
#[derive(Clone)]
pub struct RouteMetrics(Arc<RouteInner>);

impl std::fmt::Debug for RouteMetrics {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RouteMetrics")
            .field("router", &self.0.router)
            .field("service", &self.0.service)
            .finish()
    }
}

/// Holds one open connection in the `open_connections` gauge until dropped.
#[derive(Debug)]
pub struct ConnectionGuard(Arc<AtomicI64>);

impl Drop for ConnectionGuard {
    fn drop(&mut self) {
        self.0.fetch_sub(1, Ordering::Relaxed);
    }
}

/// The proxy's metrics registry (and access log, when configured).
pub struct Metrics {
    prefix: String,
    common: Arc<Common>,
    /// Entrypoints are static: their series stay for the life of the process.
    entrypoints: Mutex<HashMap<String, Arc<EntryPointInner>>>,
    routers: Mutex<HashMap<(String, String), Weak<Series>>>,
    services: Mutex<HashMap<String, Weak<Series>>>,
    connections: Mutex<BTreeMap<(String, String), Arc<AtomicI64>>>,
    reloads: AtomicU64,
    last_reload_success: AtomicI64,
    servers: Mutex<BTreeMap<(String, String), bool>>,
    certs: Mutex<BTreeMap<(String, String, String), i64>>,
}

impl std::fmt::Debug for Metrics {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Metrics")
            .field("prefix", &self.prefix)
            .field("access_log", &self.common.access_log)
            .finish()
    }
}

/// Makes `prefix` a valid metric name start: characters outside `[A-Za-z0-9_:]` become `_`,
/// and a leading digit gets a `_` in front.
fn sanitize_prefix(prefix: &str) -> String {
    let mut out: String = prefix
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || c == '_' || c == ':' {
                c
            } else {
                '_'
            }
        })
        .collect();
    if out.starts_with(|c: char| c.is_ascii_digit()) {
        out.insert(0, '_');
    }
    out
}

/// Returns the live series under `key`, or creates it.
fn intern<K: Hash + Eq>(map: &Mutex<HashMap<K, Weak<Series>>>, key: K) -> Arc<Series> {
    let mut map = lock(map);
    if let Some(series) = map.get(&key).and_then(Weak::upgrade) {
        return series;
    }
    let series = Arc::new(Series::default());
    map.insert(key, Arc::downgrade(&series));
    series
}

/// The live values of a weak registry, forgetting the dead ones.
fn live<K: Clone, V>(map: &Mutex<HashMap<K, Weak<V>>>) -> Vec<(K, Arc<V>)> {
    let mut map = lock(map);
    map.retain(|_, weak| weak.strong_count() > 0);
    map.iter()
        .filter_map(|(k, weak)| weak.upgrade().map(|v| (k.clone(), v)))
        .collect()
}

impl Metrics {
    /// A registry whose metric names start with `prefix` (`traefik` keeps Traefik's
    /// dashboards working; empty means no prefix), without access log.
    pub fn new(prefix: &str) -> Arc<Self> {
        Self::with_clock(prefix, None, Arc::new(SystemClock))
    }

    /// A registry that also writes the access log.
    pub fn with_access_log(prefix: &str, access_log: AccessLogger) -> Arc<Self> {
        Self::with_clock(prefix, Some(access_log), Arc::new(SystemClock))
    }

    /// A registry reading time from `clock`.
    pub fn with_clock(
        prefix: &str,
        access_log: Option<AccessLogger>,
        clock: Arc<dyn Clock>,
    ) -> Arc<Self> {
        Arc::new(Self {
            prefix: sanitize_prefix(prefix),
            common: Arc::new(Common {
                clock,
                access_log,
                request_count: AtomicU64::new(0),
            }),
            entrypoints: Mutex::new(HashMap::new()),
            routers: Mutex::new(HashMap::new()),
            services: Mutex::new(HashMap::new()),
            connections: Mutex::new(BTreeMap::new()),
            reloads: AtomicU64::new(0),
            last_reload_success: AtomicI64::new(0),
            servers: Mutex::new(BTreeMap::new()),
            certs: Mutex::new(BTreeMap::new()),
        })
    }

    /// Whether requests are access-logged (then [`Observation::log_request`] is worth
    /// calling).
    pub fn logs_access(&self) -> bool {
        self.common.access_log.is_some()
    }

    /// The handle of entrypoint `name` (the same counters for every call with that name).
    pub fn entrypoint(&self, name: &str) -> EntryPointMetrics {
        let mut map = lock(&self.entrypoints);
        if let Some(inner) = map.get(name) {
            return EntryPointMetrics(inner.clone());
        }
        let open_tcp = self.connection_gauge(name, "TCP");
        let inner = Arc::new(EntryPointInner {
            name: Arc::from(name),
            series: Series::default(),
            common: self.common.clone(),
            open_tcp,
        });
        map.insert(name.to_owned(), inner.clone());
        EntryPointMetrics(inner)
    }

    /// The handle of `router` (qualified, `name@provider`) forwarding to `service`
    /// (qualified).
    pub fn route(&self, router: &str, service: &str) -> RouteMetrics {
        let router_series = intern(&self.routers, (router.to_owned(), service.to_owned()));
        let service_series = intern(&self.services, service.to_owned());
        RouteMetrics(Arc::new(RouteInner {
            router: Arc::from(router),
            service: Arc::from(service),
            router_series,
            service_series,
        }))
    }

    fn connection_gauge(&self, entrypoint: &str, protocol: &str) -> Arc<AtomicI64> {
        lock(&self.connections)
            .entry((entrypoint.to_owned(), protocol.to_owned()))
            .or_default()
            .clone()
    }

    /// Counts a connection on `entrypoint` (`protocol` is `TCP` or `UDP` in Traefik) until
    /// the guard drops. [`EntryPointMetrics::connection_opened`] does the same without a
    /// lookup.
    #[cfg(test)]
    pub fn connection_opened(&self, entrypoint: &str, protocol: &str) -> ConnectionGuard {
        let gauge = self.connection_gauge(entrypoint, protocol);
        gauge.fetch_add(1, Ordering::Relaxed);
        ConnectionGuard(gauge)
    }

    /// A configuration was applied (`success`) or rejected: every reload counts, a
    /// successful one also stamps `config_last_reload_success` (unix seconds).
    pub fn config_reloaded(&self, success: bool) {
        self.reloads.fetch_add(1, Ordering::Relaxed);
        if success {
            let now = self
                .common
                .clock
                .now()
                .duration_since(UNIX_EPOCH)
                .unwrap_or(Duration::ZERO);
            self.last_reload_success.store(
                i64::try_from(now.as_secs()).unwrap_or(i64::MAX),
                Ordering::Relaxed,
            );
        }
    }

    /// Sets `service_server_up{service,url}` to 1 or 0.
    pub fn set_server_up(&self, service: &str, url: &str, up: bool) {
        lock(&self.servers).insert((service.to_owned(), url.to_owned()), up);
    }

    /// Forgets the servers for which `keep(service, url)` is false (call after a
    /// configuration change so that removed servers leave the output).
    pub fn retain_servers(&self, mut keep: impl FnMut(&str, &str) -> bool) {
        lock(&self.servers).retain(|(service, url), _| keep(service, url));
    }

    /// Sets `tls_certs_not_after{cn,serial,sans}` for a certificate: `serial` in decimal,
    /// `sans` its DNS names (sorted and comma-joined here, as Traefik does).
    pub fn set_cert_not_after(&self, cn: &str, serial: &str, sans: &[String], not_after_unix: i64) {
        let mut sans = sans.to_vec();
        sans.sort();
        lock(&self.certs).insert(
            (cn.to_owned(), serial.to_owned(), sans.join(",")),
            not_after_unix,
        );
    }

    /// Forgets every certificate (before setting the current ones again).
    pub fn clear_certs(&self) {
        lock(&self.certs).clear();
    }

    /// The Prometheus text for `GET /metrics` (serve it with [`CONTENT_TYPE`]).
    pub fn render(&self) -> String {
        let entrypoints: Vec<(String, Arc<EntryPointInner>)> = lock(&self.entrypoints)
            .iter()
            .map(|(k, v)| (k.clone(), v.clone()))
            .collect();
        let routers = live(&self.routers);
        let services = live(&self.services);
        let scrape = Scrape {
            reloads: self.reloads.load(Ordering::Relaxed),
            last_reload_success: self.last_reload_success.load(Ordering::Relaxed),
            certs: lock(&self.certs)
                .iter()
                .map(|(k, v)| (k.clone(), *v))
                .collect(),
            connections: lock(&self.connections)
                .iter()
                .map(|(k, v)| (k.clone(), v.load(Ordering::Relaxed)))
                .collect(),
            entrypoints: entrypoints
                .into_iter()
                .map(|(name, ep)| (name, ep.series.collect()))
                .collect(),
            routers: routers
                .into_iter()
                .map(|(key, series)| (key, series.collect()))
                .collect(),
            services: services
                .into_iter()
                .map(|(key, series)| (key, series.collect()))
                .collect(),
            servers: lock(&self.servers)
                .iter()
                .map(|(k, v)| (k.clone(), *v))
                .collect(),
            dropped_log_lines: self.common.access_log.as_ref().map(AccessLogger::dropped),
        };
        scrape.encode(&self.prefix)
    }
}

impl EntryPointMetrics {
    /// Starts observing a request.
    pub fn start(&self, method: &Method, protocol: Protocol) -> Observation {
        let common = &self.0.common;
        let start = common.clock.instant();
        let log = common.access_log.as_ref().map(|_| {
            Box::new(LogRecord {
                start: common.clock.now(),
                duration: Duration::ZERO,
                client_addr: None,
                client_host: String::new(),
                username: None,
                host: String::new(),
                method: method.as_str().to_owned(),
                path: String::new(),
                protocol: "HTTP/1.1",
                tls: false,
                referer: None,
                user_agent: None,
                request_count: common.request_count.fetch_add(1, Ordering::Relaxed) + 1,
                entry_point: self.0.name.clone(),
                router: None,
                service: None,
                service_url: None,
                service_addr: None,
                origin_duration: Duration::ZERO,
                origin_status: 0,
                origin_content_size: 0,
                status: 0,
                response_bytes: 0,
                request_bytes: 0,
            })
        });
        Observation {
            ep: self.0.clone(),
            route: None,
            protocol,
            method: method_index(method),
            start,
            log,
            request_body: None,
            notes: RequestNotes::default(),
            done: false,
        }
    }

    /// Counts a TCP connection on this entrypoint until the guard drops (e.g. keep the guard
    /// in the connection's extensions via `HttpService::build().on_connect_ext`).
    pub fn connection_opened(&self) -> ConnectionGuard {
        self.0.open_tcp.fetch_add(1, Ordering::Relaxed);
        ConnectionGuard(self.0.open_tcp.clone())
    }
}

#[derive(Debug, Default)]
struct Notes {
    service_url: Option<String>,
    service_addr: Option<String>,
    forwarded_at: Option<Instant>,
    username: Option<String>,
}

struct NotesInner {
    clock: Arc<dyn Clock>,
    notes: Mutex<Notes>,
}

/// What deeper layers learn about a request for its access log line: the server it went
/// to (load balancer) and the user (authentication middlewares). A no-op when access
/// logging is off. Cheap to clone; per request, so its lock is never contended.
#[derive(Clone, Default)]
pub struct RequestNotes(Option<Arc<NotesInner>>);

impl std::fmt::Debug for RequestNotes {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match &self.0 {
            Some(inner) => f
                .debug_tuple("RequestNotes")
                .field(&*lock(&inner.notes))
                .finish(),
            None => f.write_str("RequestNotes(off)"),
        }
    }
}

impl RequestNotes {
    /// The request is being forwarded to the server at `url` (`ServiceURL`), whose
    /// `host:port` is `addr` (`ServiceAddr`); the origin's time runs from now.
    pub fn forwarded_to(&self, url: &str, addr: &str) {
        if let Some(inner) = &self.0 {
            let now = inner.clock.instant();
            let mut notes = lock(&inner.notes);
            notes.service_url = Some(url.to_owned());
            notes.service_addr = Some(addr.to_owned());
            notes.forwarded_at = Some(now);
        }
    }

    /// The authenticated user (`ClientUsername`).
    #[cfg(test)]
    pub fn user(&self, name: &str) {
        if let Some(inner) = &self.0 {
            lock(&inner.notes).username = Some(name.to_owned());
        }
    }

    fn take(&self) -> Notes {
        self.0
            .as_ref()
            .map(|inner| std::mem::take(&mut *lock(&inner.notes)))
            .unwrap_or_default()
    }
}

/// One request being observed. Finish it with [`Observation::finish`] or hand it to the
/// response with [`Observation::wrap`]; dropped unfinished, it records status 499 (the
/// client went away).
pub struct Observation {
    ep: Arc<EntryPointInner>,
    route: Option<RouteMetrics>,
    protocol: Protocol,
    method: u8,
    start: Instant,
    log: Option<Box<LogRecord>>,
    request_body: Option<Arc<AtomicU64>>,
    notes: RequestNotes,
    done: bool,
}

impl std::fmt::Debug for Observation {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Observation")
            .field("entrypoint", &self.ep.name)
            .field("route", &self.route)
            .field("protocol", &self.protocol)
            .finish()
    }
}

impl Observation {
    /// Copies what the access log needs from the request; a no-op without access log.
    pub fn log_request(&mut self, req: &LogRequest<'_>) {
        let keep_headers = self
            .ep
            .common
            .access_log
            .as_ref()
            .is_some_and(AccessLogger::keeps_request_headers);
        let Some(log) = self.log.as_deref_mut() else {
            return;
        };
        log.client_addr = Some(req.peer);
        log.client_host = match req.forwarded_for.filter(|v| !v.is_empty()) {
            Some(forwarded) => forwarded.to_owned(),
            None => req.peer.ip().to_string(),
        };
        req.host.clone_into(&mut log.host);
        req.method.clone_into(&mut log.method);
        req.path.clone_into(&mut log.path);
        log.protocol = protocol_name(req.version);
        log.tls = req.tls;
        if keep_headers {
            log.referer = req.referer.map(str::to_owned);
            log.user_agent = req.user_agent.map(str::to_owned);
        }
    }

    /// The request matched a router: it is also counted on the router and its service.
    pub fn routed(&mut self, route: &RouteMetrics) {
        self.route = Some(route.clone());
    }

    /// A handle for layers that learn the server or the user (pass it along with the
    /// request).
    pub fn notes(&mut self) -> RequestNotes {
        if self.log.is_some() && self.notes.0.is_none() {
            self.notes = RequestNotes(Some(Arc::new(NotesInner {
                clock: self.ep.common.clock.clone(),
                notes: Mutex::new(Notes::default()),
            })));
        }
        self.notes.clone()
    }

    /// Wraps the request body so that the bytes the upstream reads are counted; they are
    /// added to the `request_bytes` given at the end.
    pub fn count_request_body(&mut self, payload: Payload) -> Payload {
        if matches!(payload, Payload::None) {
            return payload;
        }
        let counter = self
            .request_body
            .get_or_insert_with(Default::default)
            .clone();
        Payload::Stream {
            payload: Box::pin(body::CountingStream {
                inner: payload,
                counter,
            }),
        }
    }

    /// Records the request now: `status` sent, `request_bytes` and `response_bytes` of the
    /// bodies.
    #[cfg(test)]
    pub fn finish(self, status: u16, request_bytes: u64, response_bytes: u64) {
        self.complete(status, status, request_bytes, response_bytes);
    }

    /// Lets the response body finish the observation when it has been sent (or dropped),
    /// counting its bytes. For gRPC the `code` label is the response's `grpc-status`.
    pub fn wrap(self, response: HttpResponse) -> HttpResponse {
        let status = response.status().as_u16();
        let code = if self.protocol.is_grpc() {
            grpc_status(response.headers())
        } else {
            status
        };
        response.map_body(move |_, body| CountingBody::new(body, self, status, code).boxed())
    }

    pub(crate) fn complete(
        mut self,
        status: u16,
        code: u16,
        request_bytes: u64,
        response_bytes: u64,
    ) {
        self.record(status, code, request_bytes, response_bytes);
    }

    fn record(&mut self, status: u16, code: u16, request_bytes: u64, response_bytes: u64) {
        if self.done {
            return;
        }
        self.done = true;
        let now = self.ep.common.clock.instant();
        let elapsed = now.saturating_duration_since(self.start);
        let elapsed_ns = u64::try_from(elapsed.as_nanos()).unwrap_or(u64::MAX);
        let request_bytes = request_bytes.saturating_add(
            self.request_body
                .as_ref()
                .map_or(0, |c| c.load(Ordering::Relaxed)),
        );
        let key = Key {
            protocol: self.protocol.index() as u8,
            method: self.method,
            code: code.min(MAX_CODE),
        };
        self.ep
            .series
            .record(key, elapsed_ns, request_bytes, response_bytes);
        if let Some(route) = &self.route {
            route
                .0
                .router_series
                .record(key, elapsed_ns, request_bytes, response_bytes);
            route
                .0
                .service_series
                .record(key, elapsed_ns, request_bytes, response_bytes);
        }
        if let (Some(mut log), Some(logger)) = (self.log.take(), self.ep.common.access_log.as_ref())
        {
            log.duration = elapsed;
            log.status = status;
            log.response_bytes = response_bytes;
            log.request_bytes = request_bytes;
            if let Some(route) = &self.route {
                log.router = Some(route.0.router.clone());
                log.service = Some(route.0.service.clone());
            }
            let notes = self.notes.take();
            log.username = notes.username;
            if let Some(at) = notes.forwarded_at {
                log.origin_duration = now.saturating_duration_since(at);
                log.origin_status = status;
                log.origin_content_size = response_bytes;
            }
            log.service_url = notes.service_url;
            log.service_addr = notes.service_addr;
            logger.submit(*log);
        }
    }
}

impl Drop for Observation {
    fn drop(&mut self) {
        if !self.done {
            tracing::debug!(entrypoint = %self.ep.name, "request ended before a response: recorded as 499");
            self.record(CLIENT_CLOSED_REQUEST, CLIENT_CLOSED_REQUEST, 0, 0);
        }
    }
}

#[cfg(test)]
mod tests;
