//! Forwarding a request to one server with awc, streaming both bodies.
//!
//! This is the one seam to the upstream HTTP client: everything else hands it a
//! [`ProxyRequest`] and a [`Target`] and gets an `HttpResponse` back, so the client can be
//! replaced (or joined by an h2c client) without touching routing or balancing.

pub mod h2c;
pub mod tunnel;

use std::time::Duration;

use actix_web::body::SizedStream;
use actix_web::http::StatusCode;
use actix_web::http::header::{self, HeaderMap, HeaderName, HeaderValue};
use actix_web::{HttpResponse, HttpResponseBuilder};
use awc::error::{ConnectError, SendRequestError};

use crate::request::ProxyRequest;

/// Where one server is and how to reach it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Target {
    /// `http` or `https`.
    pub scheme: String,
    /// `host:port`.
    pub authority: String,
    /// The URL's path, sent as a prefix when `preserve_path` is set.
    pub base_path: String,
    /// Whether the server URL's path is prepended to the request path.
    pub preserve_path: bool,
    /// The server URL as configured (the key for health and metrics).
    pub url: String,
}

impl Target {
    /// Parses a server URL (`http://10.0.0.1:80`, `https://api:8443/base`).
    pub fn parse(url: &str, preserve_path: bool) -> Result<Self, String> {
        let (scheme, rest) = url
            .split_once("://")
            .ok_or_else(|| format!("server URL {url:?} has no scheme"))?;
        let scheme = scheme.to_ascii_lowercase();
        if !matches!(scheme.as_str(), "http" | "https" | "h2c") {
            return Err(format!(
                "server URL {url:?}: scheme {scheme:?} is not http, https or h2c"
            ));
        }
        let (authority, path) = match rest.find('/') {
            Some(i) => (&rest[..i], &rest[i..]),
            None => (rest, ""),
        };
        if authority.is_empty() {
            return Err(format!("server URL {url:?} has no host"));
        }
        Ok(Self {
            scheme,
            authority: authority.to_owned(),
            base_path: path.trim_end_matches('/').to_owned(),
            preserve_path,
            url: url.to_owned(),
        })
    }
}

/// How to talk to the servers of one service.
#[derive(Debug, Clone)]
pub struct ForwardOptions {
    /// Send the client's Host header (true) or the server's authority (false).
    pub pass_host_header: bool,
    /// Time allowed until the response head arrives; `None` waits forever.
    pub response_header_timeout: Option<Duration>,
}

impl Default for ForwardOptions {
    fn default() -> Self {
        Self {
            pass_host_header: true,
            response_header_timeout: None,
        }
    }
}

/// Why forwarding failed; each maps to the status Traefik answers with.
#[derive(Debug, thiserror::Error)]
pub enum ForwardError {
    /// Connection refused, reset, DNS failure: 502.
    #[error("bad gateway: {0}")]
    BadGateway(String),
    /// No response head in time: 504.
    #[error("gateway timeout")]
    Timeout,
}

impl ForwardError {
    /// The status the client gets.
    pub fn status(&self) -> StatusCode {
        match self {
            ForwardError::BadGateway(_) => StatusCode::BAD_GATEWAY,
            ForwardError::Timeout => StatusCode::GATEWAY_TIMEOUT,
        }
    }

    /// The response the client gets.
    pub fn response(&self) -> HttpResponse {
        let status = self.status();
        HttpResponse::build(status)
            .insert_header((header::CONTENT_TYPE, "text/plain; charset=utf-8"))
            .body(status.canonical_reason().unwrap_or("Error").to_owned())
    }
}

/// How often a request without a body is resent after its pooled connection failed.
const STALE_CONNECTION_RETRIES: usize = 2;

/// Whether the error is one of an established (pooled) connection failing before any
/// response came back, rather than a refused connection or a timeout.
fn on_reused_connection(e: &SendRequestError) -> bool {
    matches!(
        e,
        SendRequestError::Send(_) | SendRequestError::Response(_) | SendRequestError::Http(_)
    ) || matches!(e, SendRequestError::Connect(ConnectError::Disconnected))
}

fn classify(e: SendRequestError) -> ForwardError {
    match e {
        SendRequestError::Timeout | SendRequestError::Connect(ConnectError::Timeout) => {
            ForwardError::Timeout
        }
        other => ForwardError::BadGateway(other.to_string()),
    }
}

/// Builds the awc client of one worker: pooled keep-alive connections, no redirects, no
/// default headers, no decompression, long-lived pooled connections.
pub fn client() -> awc::Client {
    let connector = awc::Connector::new()
        // awc's default of 100 connections per worker throttles a busy proxy.
        .limit(4096)
        .conn_keep_alive(Duration::from_secs(90))
        // awc recycles connections after 75 s by default, costing a handshake each time.
        .conn_lifetime(Duration::from_secs(3600))
        .timeout(Duration::from_secs(30));
    awc::Client::builder()
        .connector(connector)
        .disable_redirects()
        .no_default_headers()
        .disable_timeout()
        .finish()
}

thread_local! {
    /// Each worker's h2c client (hyper's client pools per server; awc has no h2c).
    static H2C: h2c::H2cClient = h2c::client();
}

/// Path and query as sent to `target`: the server URL's path first when `preservePath`.
pub(crate) fn upstream_path(req: &ProxyRequest, target: &Target) -> String {
    if target.preserve_path && !target.base_path.is_empty() {
        format!("{}{}", target.base_path, req.path_and_query())
    } else {
        req.path_and_query()
    }
}

pub(crate) fn is_hop_by_hop(name: &HeaderName) -> bool {
    matches!(
        name.as_str(),
        "connection"
            | "keep-alive"
            | "proxy-connection"
            | "proxy-authenticate"
            | "proxy-authorization"
            | "te"
            | "trailer"
            | "transfer-encoding"
            | "upgrade"
    )
}

/// Removes the hop-by-hop fields a middleware may have added after the server removed the
/// client's (the names [`is_hop_by_hop`] lists).
fn strip_hop_by_hop(headers: &mut HeaderMap) {
    for name in [
        header::CONNECTION,
        HeaderName::from_static("keep-alive"),
        HeaderName::from_static("proxy-connection"),
        header::PROXY_AUTHENTICATE,
        header::PROXY_AUTHORIZATION,
        header::TE,
        header::TRAILER,
        header::TRANSFER_ENCODING,
        header::UPGRADE,
    ] {
        headers.remove(name);
    }
}

/// Whether the `Connection` header lists the `upgrade` token.
pub(crate) fn connection_upgrade(headers: &HeaderMap) -> bool {
    headers
        .get_all(header::CONNECTION)
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(','))
        .any(|token| token.trim().eq_ignore_ascii_case("upgrade"))
}

/// The protocol a request asks to upgrade to (`Connection: upgrade` + `Upgrade: x`).
fn upgrade_protocol(headers: &HeaderMap) -> Option<String> {
    if !connection_upgrade(headers) {
        return None;
    }
    headers
        .get(header::UPGRADE)
        .and_then(|v| v.to_str().ok())
        .map(str::to_owned)
}

/// Whether a request head announces a body (HTTP/1.1 framing; h2 requests stream anyway).
fn has_body(headers: &HeaderMap) -> bool {
    headers.contains_key(header::TRANSFER_ENCODING)
        || headers
            .get(header::CONTENT_LENGTH)
            .and_then(|v| v.to_str().ok())
            .is_some_and(|v| v.trim() != "0")
}

/// Forwards `req` to `target` and streams the response back: protocol upgrades through a
/// byte tunnel, `h2c://` servers over HTTP/2 with prior knowledge, everything else with awc.
pub async fn forward(
    client: &awc::Client,
    req: ProxyRequest,
    target: &Target,
    options: &ForwardOptions,
) -> Result<HttpResponse, ForwardError> {
    if let Some(protocol) = upgrade_protocol(&req.headers) {
        return tunnel::tunnel(req, &protocol, target, options).await;
    }
    if target.scheme == "h2c" {
        let client = H2C.with(|c| c.clone());
        return h2c::forward(&client, req, target, options).await;
    }
    let path = upstream_path(&req, target);
    let scheme = if target.scheme == "https" {
        "https"
    } else {
        "http"
    };
    let url = format!("{scheme}://{}{path}", target.authority);
    let host = if options.pass_host_header {
        req.host.as_str()
    } else {
        target.authority.as_str()
    };
    let host = HeaderValue::from_str(host).ok();
    let req_is_head = req.method == actix_web::http::Method::HEAD;
    let with_body = has_body(&req.headers);
    // The request's header map moves into the upstream request whole (the server already
    // removed hop-by-hop fields); it is built once and frozen, so a resend reuses it.
    let mut headers = req.headers;
    strip_hop_by_hop(&mut headers);
    if let Some(host) = host {
        headers.insert(header::HOST, host);
    }
    let mut upstream = client.request(req.method, url.as_str()).no_decompress();
    *upstream.headers_mut() = headers;
    if let Some(timeout) = options.response_header_timeout {
        upstream = upstream.timeout(timeout);
    }
    let upstream = upstream
        .freeze()
        .map_err(|e| ForwardError::BadGateway(e.to_string()))?;
    let response = if with_body {
        upstream.send_stream(req.body).await.map_err(classify)?
    } else {
        // A pooled keep-alive connection the server has closed in the meantime fails on
        // first use; a request without a body is sent again on another connection, as
        // Go's transport (and so Traefik) does.
        let mut attempt = 0;
        loop {
            match upstream.send().await {
                Ok(response) => break response,
                Err(e) if attempt < STALE_CONNECTION_RETRIES && on_reused_connection(&e) => {
                    tracing::debug!(error = %e, "retrying on a fresh connection");
                    attempt += 1;
                }
                Err(e) => return Err(classify(e)),
            }
        }
    };

    let status = response.status();
    // A body of known length is passed on with that length (no chunked re-encoding);
    // HEAD answers and bodiless statuses carry a Content-Length but no body.
    let bodiless = req_is_head
        || status.is_informational()
        || status == StatusCode::NO_CONTENT
        || status == StatusCode::NOT_MODIFIED;
    let length = response
        .headers()
        .get(header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.trim().parse::<u64>().ok())
        .filter(|_| !bodiless);
    let mut builder = HttpResponseBuilder::new(status);
    for (name, value) in response.headers().iter() {
        let length_set_by_body = length.is_some() && name == header::CONTENT_LENGTH;
        if !is_hop_by_hop(name) && !length_set_by_body {
            builder.append_header((name.clone(), value.clone()));
        }
    }
    Ok(match length {
        Some(length) => builder.body(SizedStream::new(length, response)),
        None => builder.streaming(response),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn targets_parse() {
        let t = Target::parse("http://10.0.0.1:8080", false).unwrap();
        assert_eq!(
            (
                t.scheme.as_str(),
                t.authority.as_str(),
                t.base_path.as_str()
            ),
            ("http", "10.0.0.1:8080", "")
        );
        let t = Target::parse("HTTPS://api:8443/base/", true).unwrap();
        assert_eq!(
            (
                t.scheme.as_str(),
                t.authority.as_str(),
                t.base_path.as_str()
            ),
            ("https", "api:8443", "/base")
        );
        for bad in ["10.0.0.1:80", "ftp://x", "http://", "http:///p"] {
            assert!(Target::parse(bad, false).is_err(), "{bad}");
        }
    }

    #[test]
    fn hop_by_hop_fields_are_stripped_and_others_kept() {
        let mut h = HeaderMap::new();
        for (name, value) in [
            ("connection", "close"),
            ("keep-alive", "timeout=5"),
            ("te", "gzip"),
            ("transfer-encoding", "chunked"),
            ("upgrade", "h2c"),
            ("proxy-authorization", "Basic x"),
            ("x-request-id", "1"),
            ("accept", "*/*"),
        ] {
            h.append(
                HeaderName::from_static(name),
                HeaderValue::from_static(value),
            );
        }
        strip_hop_by_hop(&mut h);
        let mut left: Vec<&str> = h.keys().map(|k| k.as_str()).collect();
        left.sort_unstable();
        assert_eq!(left, ["accept", "x-request-id"]);
    }

    #[test]
    fn body_detection() {
        let mut h = HeaderMap::new();
        assert!(!has_body(&h));
        h.insert(header::CONTENT_LENGTH, HeaderValue::from_static("0"));
        assert!(!has_body(&h));
        h.insert(header::CONTENT_LENGTH, HeaderValue::from_static("12"));
        assert!(has_body(&h));
        let mut h = HeaderMap::new();
        h.insert(
            header::TRANSFER_ENCODING,
            HeaderValue::from_static("chunked"),
        );
        assert!(has_body(&h));
    }
}
