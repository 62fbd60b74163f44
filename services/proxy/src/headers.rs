//! actix's header map seen through the normaliser's [`Headers`] trait, so the proxy and
//! the CLI share one implementation of X-Forwarded-* and hop-by-hop handling.

use std::borrow::Cow;

use actix_web::http::header::{HeaderMap, HeaderName, HeaderValue};
use switchyard_http_normalize::Headers;

/// A mutable view of an actix header map.
pub struct ActixHeaders<'a>(pub &'a mut HeaderMap);

/// Names the normaliser asks for on every request, built at compile time: a lookup here
/// costs a length check and a case-insensitive compare, while `HeaderName::from_bytes`
/// allocates for every name that is not a standard header.
static KNOWN: [HeaderName; 14] = [
    HeaderName::from_static("x-forwarded-for"),
    HeaderName::from_static("x-forwarded-proto"),
    HeaderName::from_static("x-forwarded-host"),
    HeaderName::from_static("x-forwarded-port"),
    HeaderName::from_static("x-forwarded-server"),
    HeaderName::from_static("x-forwarded-scheme"),
    HeaderName::from_static("x-forwarded-uri"),
    HeaderName::from_static("x-forwarded-method"),
    HeaderName::from_static("x-forwarded-prefix"),
    HeaderName::from_static("x-forwarded-tls-client-cert"),
    HeaderName::from_static("x-forwarded-tls-client-cert-info"),
    HeaderName::from_static("x-real-ip"),
    HeaderName::from_static("x-scheme"),
    HeaderName::from_static("proxy-connection"),
];

fn name(name: &str) -> Option<HeaderName> {
    let known = KNOWN.iter().find(|known| {
        known.as_str().len() == name.len() && known.as_str().eq_ignore_ascii_case(name)
    });
    match known {
        Some(known) => Some(known.clone()),
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
