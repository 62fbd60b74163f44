//! actix's header map seen through the normaliser's [`Headers`] trait, so the proxy and
//! the CLI share one implementation of X-Forwarded-* and hop-by-hop handling.

use std::borrow::Cow;

use actix_web::http::header::{self, HeaderMap, HeaderName, HeaderValue};
use switchyard_http_normalize::Headers;

/// A mutable view of an actix header map.
pub struct ActixHeaders<'a>(pub &'a mut HeaderMap);

/// Names the normaliser asks for on every request, built at compile time: a lookup here
/// costs a length check and a case-insensitive compare, while `HeaderName::from_bytes`
/// parses every name (and allocates for every name that is not a standard header).
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

/// The exact spellings the normaliser uses (`switchyard_http_normalize`'s constants and
/// hop-by-hop list), resolved by one string match: these lookups run a dozen times per
/// request.
fn spelled_as_the_normaliser_does(name: &str) -> Option<HeaderName> {
    const KEEP_ALIVE: HeaderName = HeaderName::from_static("keep-alive");
    let known = match name {
        "Connection" => header::CONNECTION,
        "Upgrade" => header::UPGRADE,
        "Te" => header::TE,
        "Trailer" => header::TRAILER,
        "Transfer-Encoding" => header::TRANSFER_ENCODING,
        "Proxy-Authenticate" => header::PROXY_AUTHENTICATE,
        "Proxy-Authorization" => header::PROXY_AUTHORIZATION,
        "Keep-Alive" => KEEP_ALIVE,
        "Proxy-Connection" => KNOWN[13].clone(),
        "X-Forwarded-For" => KNOWN[0].clone(),
        "X-Forwarded-Proto" => KNOWN[1].clone(),
        "X-Forwarded-Host" => KNOWN[2].clone(),
        "X-Forwarded-Port" => KNOWN[3].clone(),
        "X-Forwarded-Server" => KNOWN[4].clone(),
        "X-Real-Ip" => KNOWN[11].clone(),
        _ => return None,
    };
    Some(known)
}

fn name(name: &str) -> Option<HeaderName> {
    if let Some(known) = spelled_as_the_normaliser_does(name) {
        return Some(known);
    }
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
    fn fast_spellings_resolve_to_the_parsed_names() {
        for spelling in [
            "Connection",
            "Upgrade",
            "Te",
            "Trailer",
            "Transfer-Encoding",
            "Proxy-Authenticate",
            "Proxy-Authorization",
            "Keep-Alive",
            "Proxy-Connection",
            "X-Forwarded-For",
            "X-Forwarded-Proto",
            "X-Forwarded-Host",
            "X-Forwarded-Port",
            "X-Forwarded-Server",
            "X-Real-Ip",
        ] {
            let fast = spelled_as_the_normaliser_does(spelling).expect(spelling);
            assert_eq!(
                fast,
                HeaderName::from_bytes(spelling.as_bytes()).unwrap(),
                "{spelling}"
            );
        }
        for name in &KNOWN {
            assert_eq!(
                super::name(&name.as_str().to_ascii_uppercase()).as_ref(),
                Some(name)
            );
        }
        assert_eq!(super::name("X-Other").unwrap().as_str(), "x-other");
    }

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
