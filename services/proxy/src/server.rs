//! Entrypoints: one listener each, served by actix-web on every worker. The handler
//! normalises the request, looks up the router in the current snapshot, and runs the
//! router's middlewares and service. It never waits on an actor.

use std::collections::HashMap;
use std::net::{IpAddr, SocketAddr};
use std::sync::Arc;

use actix_web::http::StatusCode;
use actix_web::http::header::{self, HeaderValue};
use actix_web::{HttpRequest, HttpResponse, web};
use arc_swap::ArcSwap;
use switchyard_http_normalize::{
    ForwardedConfig, HopByHopOptions, RequestInfo, X_FORWARDED_FOR, canonical_host,
    normalize_target, remove_hop_by_hop_with, request_host, rewrite_forwarded,
};
use switchyard_rules::{HttpRequest as RuleRequest, parse_query};

use crate::headers::ActixHeaders;
use crate::middleware::Next;
use crate::observe::{EntryPointMetrics, LogRequest, Observation, Protocol};
use crate::request::ProxyRequest;
use crate::service::WorkerCtx;
use crate::snapshot::Snapshot;

/// State every entrypoint of every worker shares.
pub struct Shared {
    /// The current snapshot, swapped whole by the config actor.
    pub snapshot: ArcSwap<Snapshot>,
    /// The value of X-Forwarded-Server.
    pub server_name: String,
    /// Pending ACME HTTP-01 challenges: token -> key authorization, answered by every
    /// replica ahead of all routers.
    pub acme_http01: ArcSwap<HashMap<String, String>>,
}

/// Where ACME HTTP-01 challenges are fetched.
const ACME_CHALLENGE_PREFIX: &str = "/.well-known/acme-challenge/";

/// A redirection of a whole entrypoint (`http.redirections.entryPoint`).
#[derive(Debug, Clone)]
pub struct EntryRedirect {
    /// `https`.
    pub scheme: String,
    /// The target entrypoint's port.
    pub port: u16,
    /// 308/301 or 307/302.
    pub permanent: bool,
}

/// One entrypoint's settings, as its handler needs them.
pub struct EntryPointState {
    /// The entrypoint's name.
    pub name: Arc<str>,
    /// Whether it terminates TLS.
    pub tls: bool,
    /// Its port (for X-Forwarded-Port fallbacks).
    pub port: u16,
    /// Trusted forwarded-header sources.
    pub forwarded: ForwardedConfig,
    /// Redirect everything elsewhere.
    pub redirect: Option<EntryRedirect>,
    /// The TLS acceptor of a TLS entrypoint (for the misdirected-request check).
    pub tls_acceptor: Option<Arc<crate::tls::TlsAcceptor>>,
    /// The entrypoint's metrics.
    pub metrics: EntryPointMetrics,
    /// Whether the access log is on.
    pub access_log: bool,
    /// The largest request head accepted, in bytes (request line and header fields).
    pub max_header_bytes: usize,
}

/// The request as the rule matchers see it.
struct Matchable<'a> {
    host: &'a str,
    path: &'a str,
    method: &'a str,
    client_ip: IpAddr,
    req: &'a HttpRequest,
    query: Vec<(String, String)>,
}

impl RuleRequest for Matchable<'_> {
    fn host(&self) -> &str {
        self.host
    }
    fn path(&self) -> &str {
        self.path
    }
    fn method(&self) -> &str {
        self.method
    }
    fn client_ip(&self) -> Option<IpAddr> {
        Some(self.client_ip)
    }
    fn any_header(&self, name: &str, pred: &mut dyn FnMut(&str) -> bool) -> bool {
        self.req
            .headers()
            .get_all(name)
            .filter_map(|v| v.to_str().ok())
            .any(pred)
    }
    fn any_query(&self, key: &str, pred: &mut dyn FnMut(&str) -> bool) -> bool {
        self.query
            .iter()
            .filter(|(k, _)| k == key)
            .any(|(_, v)| pred(v))
    }
}

fn plain(status: StatusCode, body: &'static str) -> HttpResponse {
    HttpResponse::build(status)
        .content_type("text/plain; charset=utf-8")
        .body(body)
}

/// Handles one request on one entrypoint: metrics and the access log around [`route`].
pub async fn handle(
    req: HttpRequest,
    body: web::Payload,
    ep: web::Data<EntryPointState>,
    shared: web::Data<Arc<Shared>>,
    ctx: web::Data<WorkerCtx>,
) -> HttpResponse {
    let mut obs = ep
        .metrics
        .start(req.method(), Protocol::detect(req.headers()));
    if ep.access_log {
        let peer = req
            .peer_addr()
            .unwrap_or_else(|| SocketAddr::from(([0, 0, 0, 0], 0)));
        let header = |name| {
            req.headers()
                .get(name)
                .and_then(|v: &HeaderValue| v.to_str().ok())
        };
        let trusted = ep.forwarded.insecure || ep.forwarded.is_trusted(peer.ip());
        obs.log_request(&LogRequest {
            peer,
            forwarded_for: if trusted {
                header(X_FORWARDED_FOR)
            } else {
                None
            },
            host: header(header::HOST.as_str())
                .or_else(|| req.uri().authority().map(|a| a.as_str()))
                .unwrap_or(""),
            method: req.method().as_str(),
            path: req
                .uri()
                .path_and_query()
                .map(|p| p.as_str())
                .unwrap_or("/"),
            version: req.version(),
            tls: ep.tls,
            referer: header(header::REFERER.as_str()),
            user_agent: header(header::USER_AGENT.as_str()),
        });
    }
    let response = route(req, body, &ep, &shared, &ctx, &mut obs).await;
    obs.wrap(response)
}

/// Normalises, routes and serves one request.
async fn route(
    req: HttpRequest,
    body: web::Payload,
    ep: &EntryPointState,
    shared: &Shared,
    ctx: &WorkerCtx,
    obs: &mut Observation,
) -> HttpResponse {
    let head_bytes = req.uri().path_and_query().map_or(1, |p| p.as_str().len())
        + req
            .headers()
            .iter()
            .map(|(n, v)| n.as_str().len() + v.len() + 4)
            .sum::<usize>();
    if head_bytes > ep.max_header_bytes {
        return plain(
            StatusCode::REQUEST_HEADER_FIELDS_TOO_LARGE,
            "431 Request Header Fields Too Large",
        );
    }
    let snapshot = shared.snapshot.load_full();
    let raw_target = req
        .uri()
        .path_and_query()
        .map(|p| p.as_str())
        .unwrap_or("/");
    let target = match normalize_target(raw_target) {
        Ok(t) => t,
        Err(_) => return plain(StatusCode::BAD_REQUEST, "400 Bad Request"),
    };
    let hosts = req
        .headers()
        .get_all(header::HOST)
        .map(|v| v.to_str().unwrap_or(""));
    let http11 = req.version() != actix_web::http::Version::HTTP_10;
    let host_header = match request_host(req.uri().authority().map(|a| a.as_str()), hosts, http11) {
        Ok(host) => host.to_owned(),
        Err(e) => {
            tracing::debug!(error = %e, "bad request");
            return plain(StatusCode::BAD_REQUEST, "400 Bad Request");
        }
    };
    let host = canonical_host(&host_header);
    // Domain fronting: a Host whose TLS options differ from those the SNI was handshaken
    // with gets 421, as in Traefik.
    if let Some(acceptor) = &ep.tls_acceptor
        && let Some(info) = req.conn_data::<crate::tls::TlsInfo>()
        && acceptor.is_misdirected(info.server_name.as_deref(), &host)
    {
        return plain(StatusCode::MISDIRECTED_REQUEST, "421 Misdirected Request");
    }
    let peer = req
        .peer_addr()
        .unwrap_or_else(|| SocketAddr::from(([0, 0, 0, 0], 0)));

    if let Some(token) = target.path.strip_prefix(ACME_CHALLENGE_PREFIX)
        && let Some(answer) = shared.acme_http01.load().get(token)
    {
        return HttpResponse::Ok()
            .content_type("text/plain")
            .body(answer.clone());
    }

    if let Some(redirect) = &ep.redirect {
        return redirect_entry_point(redirect, &host, target.request_uri().as_ref());
    }

    let query = target.query.as_deref().map(parse_query).unwrap_or_default();
    let matchable = Matchable {
        host: &host,
        path: &target.path,
        method: req.method().as_str(),
        client_ip: peer.ip(),
        req: &req,
        query,
    };
    let Some(route) = snapshot.table.lookup(Some(&ep.name), &matchable) else {
        return plain(StatusCode::NOT_FOUND, "404 page not found");
    };
    let Some(handler) = snapshot.handlers.get(&route.name) else {
        return plain(StatusCode::NOT_FOUND, "404 page not found");
    };
    obs.routed(&handler.metrics);

    let mut headers = req.headers().clone();
    {
        let mut view = ActixHeaders(&mut headers);
        // An upgrade keeps `Connection: Upgrade` + `Upgrade`, for the tunnel to the server.
        let hop = remove_hop_by_hop_with(
            &mut view,
            &HopByHopOptions {
                keep_upgrade: true,
                ..Default::default()
            },
        );
        rewrite_forwarded(
            &mut view,
            &ep.forwarded,
            &RequestInfo {
                peer: peer.ip(),
                tls: ep.tls,
                websocket: hop.upgrade.as_deref() == Some("websocket"),
                host: &host_header,
                local_port: ep.port,
                server_name: &shared.server_name,
            },
        );
    }
    let proxy_req = ProxyRequest {
        method: req.method().clone(),
        version: req.version(),
        scheme: if ep.tls { "https" } else { "http" },
        host: host_header,
        canonical_host: host,
        path: target.path.into_owned(),
        query: target.query.map(|q| q.into_owned()),
        headers,
        peer,
        entry_point: ep.name.clone(),
        router: handler.name.clone(),
        body: obs.count_request_body(body.into_inner()),
        notes: obs.notes(),
    };
    Next::new(&handler.middlewares, &*handler.service, ctx)
        .run(proxy_req)
        .await
}

fn redirect_entry_point(redirect: &EntryRedirect, host: &str, uri: &str) -> HttpResponse {
    let default_port = matches!(
        (redirect.scheme.as_str(), redirect.port),
        ("https", 443) | ("http", 80)
    );
    let authority = if default_port {
        host.to_owned()
    } else {
        format!("{host}:{}", redirect.port)
    };
    let location = format!("{}://{authority}{uri}", redirect.scheme);
    let status = if redirect.permanent {
        StatusCode::MOVED_PERMANENTLY
    } else {
        StatusCode::FOUND
    };
    let mut response = HttpResponse::build(status);
    if let Ok(value) = HeaderValue::from_str(&location) {
        response.insert_header((header::LOCATION, value));
    }
    response.finish()
}
