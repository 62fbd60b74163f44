//! actix's header map seen through the normaliser's [`Headers`] trait, so the proxy and
//! the CLI share one implementation of X-Forwarded-* and hop-by-hop handling.

use std::borrow::Cow;

use actix_web::http::header::{HeaderMap, HeaderName, HeaderValue};
use switchyard_http_normalize::Headers;

/// A mutable view of an actix header map.
pub struct ActixHeaders<'a>(pub &'a mut HeaderMap);

/// Names the normaliser asks for on every request: looked up as static names, because
/// `HeaderName::from_bytes` allocates for every name that is not a standard header.
const KNOWN: [&str; 14] = [
    "x-forwarded-for",
    "x-forwarded-proto",
    "x-forwarded-host",
    "x-forwarded-port",
    "x-forwarded-server",
    "x-forwarded-scheme",
    "x-forwarded-uri",
    "x-forwarded-method",
    "x-forwarded-prefix",
    "x-forwarded-tls-client-cert",
    "x-forwarded-tls-client-cert-info",
    "x-real-ip",
    "x-scheme",
    "proxy-connection",
];

fn name(name: &str) -> Option<HeaderName> {
    match KNOWN.iter().find(|known| known.eq_ignore_ascii_case(name)) {
        Some(known) => Some(HeaderName::from_static(known)),
        None => HeaderName::from_bytes(name.as_bytes()).ok(),
    }
}

impl Headers for ActixHeaders<'_> {
    fn get_all(&self, n: &str) -> Vec<Cow<'_, str>> {
        match name(n) {
            Some(n) => self
                .0
                .get_all(n)
                .filter_map(|v| v.to_str().ok())
                .map(Cow::Borrowed)
                .collect(),
            None => Vec::new(),
        }
    }

    fn remove(&mut self, n: &str) {
        if let Some(n) = name(n) {
            self.0.remove(n);
        }
    }

    fn set(&mut self, n: &str, value: &str) {
        if let (Some(n), Ok(v)) = (name(n), HeaderValue::from_str(value)) {
            self.0.insert(n, v);
        }
    }

    fn append(&mut self, n: &str, value: &str) {
        if let (Some(n), Ok(v)) = (name(n), HeaderValue::from_str(value)) {
            self.0.append(n, v);
        }
    }

    fn names(&self) -> Vec<Cow<'_, str>> {
        self.0.keys().map(|k| Cow::Borrowed(k.as_str())).collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_view_reads_and_writes() {
        let mut map = HeaderMap::new();
        let mut h = ActixHeaders(&mut map);
        h.append("X-A", "1");
        h.append("x-a", "2");
        assert_eq!(h.get_all("X-a"), vec!["1", "2"]);
        h.set("x-a", "3");
        assert_eq!(h.get_all("x-a"), vec!["3"]);
        h.remove("X-A");
        assert!(h.get_all("x-a").is_empty());
        h.set("bad name", "x");
        assert!(h.names().is_empty());
    }
}
