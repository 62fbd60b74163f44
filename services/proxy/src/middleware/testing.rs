//! Test support for middleware tests: a service that records the request it receives, a
//! request builder, and a runner that sends a request through one middleware.

use std::net::SocketAddr;
use std::sync::{Arc, Mutex, PoisonError};

use actix_web::HttpResponse;
use actix_web::dev::Payload;
use actix_web::http::header::{HeaderMap, HeaderName, HeaderValue};
use actix_web::http::{Method, Version};
use futures::future::LocalBoxFuture;

use crate::middleware::{Middleware, Next};
use crate::request::ProxyRequest;
use crate::service::{Service, WorkerCtx};

/// What the service received.
#[derive(Debug, Clone)]
pub struct Seen {
    /// The `host` field (the Host sent upstream).
    pub host: String,
    /// The path.
    pub path: String,
    /// The query.
    pub query: Option<String>,
    /// The headers.
    pub headers: HeaderMap,
}

impl Seen {
    /// Every value of a request header, in order.
    pub fn header_values(&self, name: &str) -> Vec<String> {
        self.headers
            .get_all(name)
            .filter_map(|v| v.to_str().ok())
            .map(str::to_owned)
            .collect()
    }
}

/// A service that records the request and answers 200 with `x-path: <path>` and the
/// configured response headers.
#[derive(Default)]
pub struct Recorder {
    seen: Mutex<Option<Seen>>,
    response_headers: Vec<(HeaderName, HeaderValue)>,
}

impl Recorder {
    /// A recorder whose responses carry `headers` (name, value; repeated names append).
    pub fn responding_with(headers: &[(&str, &str)]) -> Self {
        let response_headers = headers
            .iter()
            .map(|(n, v)| {
                (
                    HeaderName::from_bytes(n.as_bytes()).expect("test header name"),
                    HeaderValue::from_str(v).expect("test header value"),
                )
            })
            .collect();
        Self {
            seen: Mutex::new(None),
            response_headers,
        }
    }

    /// The request the service received, if it was called.
    pub fn seen(&self) -> Option<Seen> {
        self.seen
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .clone()
    }
}

impl Service for Recorder {
    fn serve<'a>(
        &'a self,
        req: ProxyRequest,
        _ctx: &'a WorkerCtx,
    ) -> LocalBoxFuture<'a, HttpResponse> {
        let mut response = HttpResponse::Ok();
        if let Ok(path) = HeaderValue::from_str(&req.path) {
            response.insert_header(("x-path", path));
        }
        for (name, value) in &self.response_headers {
            response.append_header((name.clone(), value.clone()));
        }
        *self.seen.lock().unwrap_or_else(PoisonError::into_inner) = Some(Seen {
            host: req.host,
            path: req.path,
            query: req.query,
            headers: req.headers,
        });
        Box::pin(async move { response.finish() })
    }
}

/// A request as the entry point hands it to the chain.
pub fn request(
    method: Method,
    scheme: &'static str,
    host: &str,
    target: &str,
    headers: &[(&str, &str)],
) -> ProxyRequest {
    let (path, query) = match target.split_once('?') {
        Some((path, query)) => (path.to_owned(), Some(query.to_owned())),
        None => (target.to_owned(), None),
    };
    let mut map = HeaderMap::new();
    for (name, value) in headers {
        map.append(
            HeaderName::from_bytes(name.as_bytes()).expect("test header name"),
            HeaderValue::from_str(value).expect("test header value"),
        );
    }
    ProxyRequest {
        method,
        version: Version::HTTP_11,
        scheme,
        canonical_host: switchyard_http_normalize::canonical_host(host),
        host: host.to_owned(),
        path,
        query,
        headers: map,
        peer: SocketAddr::from(([192, 0, 2, 1], 40000)),
        entry_point: Arc::from("web"),
        router: Arc::from("test@file"),
        body: Payload::None,
        notes: Default::default(),
    }
}

/// A GET over plain HTTP to `example.com`.
pub fn get(target: &str, headers: &[(&str, &str)]) -> ProxyRequest {
    request(Method::GET, "http", "example.com", target, headers)
}

/// Sends `req` through `middleware` to `service`.
pub async fn run(
    middleware: Arc<dyn Middleware>,
    service: &Recorder,
    req: ProxyRequest,
) -> HttpResponse {
    let ctx = WorkerCtx {
        client: crate::upstream::client(),
    };
    Next::new(std::slice::from_ref(&middleware), service, &ctx)
        .run(req)
        .await
}

/// A response header's value (the first one).
pub fn header(response: &HttpResponse, name: &str) -> Option<String> {
    response
        .headers()
        .get(name)
        .and_then(|v| v.to_str().ok())
        .map(str::to_owned)
}

/// Every value of a response header, in order.
pub fn header_values(response: &HttpResponse, name: &str) -> Vec<String> {
    response
        .headers()
        .get_all(name)
        .filter_map(|v| v.to_str().ok())
        .map(str::to_owned)
        .collect()
}

/// The response body as text.
pub async fn body(response: HttpResponse) -> String {
    let bytes = actix_web::body::to_bytes(response.into_body())
        .await
        .unwrap_or_default();
    String::from_utf8_lossy(&bytes).into_owned()
}
