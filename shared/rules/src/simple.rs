//! Owned request/connection types implementing the matching traits, for
//! tests, tools and the CLI.

use std::net::IpAddr;

pub use switchyard_http_normalize::canonical_host;

use crate::{HttpRequest, TcpConnection};

/// A self-contained HTTP request description.
///
/// Fields are used as-is by the matchers; [`SimpleRequest::new`] prepares
/// them the way Traefik does (canonical host, query parsed).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct SimpleRequest {
    /// Canonical host (see [`canonical_host`]).
    pub host: String,
    /// Routing path, without the query string.
    pub path: String,
    /// Method, e.g. `GET`.
    pub method: String,
    /// Peer address.
    pub client_ip: Option<IpAddr>,
    /// Header lines as (name, value); names compare case-insensitively.
    pub headers: Vec<(String, String)>,
    /// Decoded query parameters, in order (see [`parse_query`]).
    pub query: Vec<(String, String)>,
}

impl SimpleRequest {
    /// A request for `method` to `raw_host` (a `Host` header value, port
    /// allowed) and `target` (path with optional `?query`; the path is kept
    /// verbatim).
    pub fn new(method: &str, raw_host: &str, target: &str) -> SimpleRequest {
        let (path, query) = target.split_once('?').unwrap_or((target, ""));
        SimpleRequest {
            host: canonical_host(raw_host),
            path: path.to_owned(),
            method: method.to_owned(),
            client_ip: None,
            headers: Vec::new(),
            query: parse_query(query),
        }
    }

    /// Adds a header line.
    pub fn with_header(mut self, name: &str, value: &str) -> SimpleRequest {
        self.headers.push((name.to_owned(), value.to_owned()));
        self
    }

    /// Sets the peer address.
    pub fn with_client_ip(mut self, ip: IpAddr) -> SimpleRequest {
        self.client_ip = Some(ip);
        self
    }
}

impl HttpRequest for SimpleRequest {
    fn host(&self) -> &str {
        &self.host
    }

    fn path(&self) -> &str {
        &self.path
    }

    fn method(&self) -> &str {
        &self.method
    }

    fn client_ip(&self) -> Option<IpAddr> {
        self.client_ip
    }

    fn any_header(&self, name: &str, pred: &mut dyn FnMut(&str) -> bool) -> bool {
        self.headers
            .iter()
            .any(|(n, v)| n.eq_ignore_ascii_case(name) && pred(v))
    }

    fn any_query(&self, key: &str, pred: &mut dyn FnMut(&str) -> bool) -> bool {
        self.query.iter().any(|(k, v)| k == key && pred(v))
    }
}

/// A self-contained TCP connection description.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct SimpleConnection {
    /// TLS server name, if any (lower-case it, as Traefik does).
    pub sni: Option<String>,
    /// Peer address.
    pub client_ip: Option<IpAddr>,
    /// ALPN protocols offered by the client.
    pub alpn: Vec<String>,
}

impl SimpleConnection {
    /// A connection with the given SNI (canonicalised: trimmed, lower-cased).
    pub fn with_sni(sni: &str) -> SimpleConnection {
        SimpleConnection {
            sni: Some(sni.trim().to_lowercase()),
            ..SimpleConnection::default()
        }
    }
}

impl TcpConnection for SimpleConnection {
    fn sni(&self) -> Option<&str> {
        self.sni.as_deref()
    }

    fn client_ip(&self) -> Option<IpAddr> {
        self.client_ip
    }

    fn alpn(&self) -> &[String] {
        &self.alpn
    }
}

/// Parses a raw query string like Go's `url.ParseQuery`: `&`-separated
/// pairs, `+` and `%XX` decoded, a pair without `=` has the value `""`;
/// pairs containing `;` or an invalid escape are skipped.
pub fn parse_query(raw: &str) -> Vec<(String, String)> {
    raw.split('&')
        .filter(|pair| !pair.is_empty() && !pair.contains(';'))
        .filter_map(|pair| {
            let (key, value) = pair.split_once('=').unwrap_or((pair, ""));
            Some((query_unescape(key)?, query_unescape(value)?))
        })
        .collect()
}

/// Go's `url.QueryUnescape`; invalid UTF-8 is replaced rather than kept.
fn query_unescape(s: &str) -> Option<String> {
    let bytes = s.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        match bytes[i] {
            b'%' => {
                let hex = bytes.get(i + 1..i + 3)?;
                let hi = char::from(hex[0]).to_digit(16)?;
                let lo = char::from(hex[1]).to_digit(16)?;
                out.push(u8::try_from(hi * 16 + lo).ok()?);
                i += 3;
            }
            b'+' => {
                out.push(b' ');
                i += 1;
            }
            b => {
                out.push(b);
                i += 1;
            }
        }
    }
    Some(String::from_utf8_lossy(&out).into_owned())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn canonical_hosts() {
        let cases: &[(&str, &str, &str)] = &[
            ("plain", "Example.COM", "example.com"),
            ("port", "example.com:8080", "example.com"),
            ("empty port", "example.com:", "example.com"),
            ("ipv6 with port", "[::1]:443", "::1"),
            ("bare bracketed ipv6", "[::1]", "::1"),
            ("bare ipv6", "fe80::1", "fe80::1"),
            ("trailing dot kept", "example.com.:80", "example.com."),
            ("whitespace", " a.com ", "a.com"),
            ("empty", "", ""),
        ];
        for (case, raw, expected) in cases {
            assert_eq!(canonical_host(raw), *expected, "{case}");
        }
    }

    #[test]
    fn queries() {
        type Pairs = Vec<(String, String)>;
        let pairs = |v: &[(&str, &str)]| -> Pairs {
            v.iter()
                .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
                .collect()
        };
        let cases: &[(&str, &str, Pairs)] = &[
            ("simple", "a=1&b=2", pairs(&[("a", "1"), ("b", "2")])),
            ("no value", "flag&x=", pairs(&[("flag", ""), ("x", "")])),
            ("repeated", "a=1&a=2", pairs(&[("a", "1"), ("a", "2")])),
            (
                "decoding",
                "q=a+b%20c&k%3D=%C3%A9",
                pairs(&[("q", "a b c"), ("k=", "é")]),
            ),
            ("semicolon skipped", "a=1;b=2&c=3", pairs(&[("c", "3")])),
            ("bad escape skipped", "a=%zz&b=%4", pairs(&[])),
            ("empty pairs", "&&a=1&", pairs(&[("a", "1")])),
            ("empty key", "=v", pairs(&[("", "v")])),
            ("value with equals", "a=b=c", pairs(&[("a", "b=c")])),
        ];
        for (case, raw, expected) in cases {
            assert_eq!(&parse_query(raw), expected, "{case}");
        }
    }
}
