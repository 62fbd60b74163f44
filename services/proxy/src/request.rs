//! The request as it travels through middlewares to a service.

use std::net::SocketAddr;
use std::sync::Arc;

use actix_web::dev::Payload;
use actix_web::http::header::HeaderMap;
use actix_web::http::{Method, Version};

/// A request on its way upstream. Middlewares rewrite it in place; the body is streamed,
/// never buffered unless a middleware asks for it.
pub struct ProxyRequest {
    /// The method.
    pub method: Method,
    /// The HTTP version the client used.
    pub version: Version,
    /// `http` or `https`: how the client reached the entrypoint.
    pub scheme: &'static str,
    /// The `Host` header (or absolute-form authority) as received, port included.
    pub host: String,
    /// The canonical host the router matched (lower-case, no port).
    pub canonical_host: String,
    /// The normalised path; middlewares may rewrite it.
    pub path: String,
    /// The raw query string without `?`.
    pub query: Option<String>,
    /// Request headers (hop-by-hop headers already removed, X-Forwarded-* set).
    pub headers: HeaderMap,
    /// The client's address.
    pub peer: SocketAddr,
    /// The entrypoint's name.
    pub entry_point: Arc<str>,
    /// The router that matched, `name@provider`.
    pub router: Arc<str>,
    /// The body, streamed.
    pub body: Payload,
    /// What the access log learns on the way (server URL, authenticated user).
    pub notes: crate::observe::RequestNotes,
}

impl ProxyRequest {
    /// Path and query as sent upstream: `/p?q`.
    pub fn path_and_query(&self) -> String {
        match &self.query {
            Some(q) => format!("{}?{}", self.path, q),
            None => self.path.clone(),
        }
    }

    /// The first value of a header, if it is valid UTF-8.
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers.get(name).and_then(|v| v.to_str().ok())
    }
}
