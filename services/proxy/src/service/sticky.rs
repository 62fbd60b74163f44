//! Sticky sessions by cookie, as Traefik v3 does them for `loadBalancer` and `weighted`.
//!
//! - The cookie name is the configured one with characters outside RFC 2616 tokens replaced
//!   by `_`, or, when none is configured, `_` followed by the first five hex digits of the
//!   SHA-1 of `_TRAEFIK_BACKEND_<qualified service name>`.
//! - The value names a member (a server URL as configured, or a child service name): the
//!   first 16 hex digits of its SHA-256.
//! - Values written by older Traefik versions (the raw name, its FNV-64 hash, or the FNV-64
//!   of that hash) are still honoured, and the cookie is rewritten to the SHA-256 form.
//! - `Set-Cookie` is rendered the way Go's `net/http` renders a cookie, attribute order
//!   included, so clients see the same header as behind Traefik.

use std::collections::HashMap;

use actix_web::http::header::{self, HeaderMap, HeaderValue};
use ring::digest;
use switchyard_model::http::Cookie;

/// Length of a generated cookie name: `_` and five hex digits (Traefik's `cookieNameLength`).
const GENERATED_NAME_LEN: usize = 6;

/// Hex digits of the SHA-256 kept in a cookie value.
const VALUE_HASH_LEN: usize = 16;

fn hex(bytes: &[u8]) -> String {
    use std::fmt::Write;
    let mut out = String::with_capacity(bytes.len() * 2);
    for b in bytes {
        // Writing to a String cannot fail.
        let _ = write!(out, "{b:02x}");
    }
    out
}

/// The cookie name for a service: the configured name (sanitized), or one derived from the
/// qualified service name.
pub fn cookie_name(configured: &str, service: &str) -> String {
    if configured.is_empty() {
        let hash = digest::digest(
            &digest::SHA1_FOR_LEGACY_USE_ONLY,
            format!("_TRAEFIK_BACKEND_{service}").as_bytes(),
        );
        let mut name = format!("_{}", hex(hash.as_ref()));
        name.truncate(GENERATED_NAME_LEN);
        name
    } else {
        sanitize_name(configured)
    }
}

/// Replaces every character that is not an RFC 2616 token character by `_`.
fn sanitize_name(name: &str) -> String {
    name.chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || "!#$%&'*+-.^`|~".contains(c) {
                c
            } else {
                '_'
            }
        })
        .collect()
}

/// The cookie value naming a member: the first 16 hex digits of the SHA-256 of its name.
pub fn member_hash(name: &str) -> String {
    let mut value = hex(digest::digest(&digest::SHA256, name.as_bytes()).as_ref());
    value.truncate(VALUE_HASH_LEN);
    value
}

/// FNV-1 64-bit hash in lower-case hex without padding: the value format of Traefik < 3.1.
fn fnv64_hex(input: &str) -> String {
    const OFFSET: u64 = 0xcbf2_9ce4_8422_2325;
    const PRIME: u64 = 0x0000_0100_0000_01b3;
    let hash = input
        .bytes()
        .fold(OFFSET, |h, b| h.wrapping_mul(PRIME) ^ u64::from(b));
    format!("{hash:x}")
}

/// The `SameSite` attribute.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SameSite {
    /// Not sent: the browser's default.
    Default,
    /// `SameSite=None`.
    None,
    /// `SameSite=Lax`.
    Lax,
    /// `SameSite=Strict`.
    Strict,
}

impl SameSite {
    /// Parses the configuration value (case-insensitive); anything else is the default.
    pub fn parse(value: &str) -> Self {
        match value.to_ascii_lowercase().as_str() {
            "none" => SameSite::None,
            "lax" => SameSite::Lax,
            "strict" => SameSite::Strict,
            _ => SameSite::Default,
        }
    }
}

/// The attributes of a sticky cookie.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CookieAttributes {
    /// The cookie name.
    pub name: String,
    /// `Secure`.
    pub secure: bool,
    /// `HttpOnly`.
    pub http_only: bool,
    /// `SameSite`.
    pub same_site: SameSite,
    /// `Max-Age` in seconds: 0 omits it (session cookie), negative sends `Max-Age=0`.
    pub max_age: i64,
    /// `Path`.
    pub path: String,
    /// `Domain`; empty omits it.
    pub domain: String,
}

impl CookieAttributes {
    /// The attributes configured for the service `service` (qualified name).
    pub fn new(spec: &Cookie, service: &str) -> Self {
        Self {
            name: cookie_name(&spec.name, service),
            secure: spec.secure,
            http_only: spec.http_only,
            same_site: SameSite::parse(&spec.same_site),
            max_age: spec.max_age,
            path: spec.path.clone(),
            domain: spec.domain.clone(),
        }
    }

    /// The `Set-Cookie` value for `value`, in Go's format: `name=value; Path=..; Domain=..;
    /// Max-Age=..; HttpOnly; Secure; SameSite=..`. Characters Go would drop from the path
    /// are dropped, and an invalid domain is left out.
    pub fn render(&self, value: &str) -> String {
        let mut out = format!("{}={}", self.name, value);
        let path: String = self
            .path
            .chars()
            .filter(|c| (' '..='~').contains(c) && *c != ';')
            .collect();
        if !path.is_empty() {
            out.push_str("; Path=");
            out.push_str(&path);
        }
        if !self.domain.is_empty() && valid_cookie_domain(&self.domain) {
            out.push_str("; Domain=");
            out.push_str(self.domain.strip_prefix('.').unwrap_or(&self.domain));
        }
        if self.max_age > 0 {
            out.push_str(&format!("; Max-Age={}", self.max_age));
        } else if self.max_age < 0 {
            out.push_str("; Max-Age=0");
        }
        if self.http_only {
            out.push_str("; HttpOnly");
        }
        if self.secure {
            out.push_str("; Secure");
        }
        match self.same_site {
            SameSite::Default => {}
            SameSite::None => out.push_str("; SameSite=None"),
            SameSite::Lax => out.push_str("; SameSite=Lax"),
            SameSite::Strict => out.push_str("; SameSite=Strict"),
        }
        out
    }
}

/// Go's `validCookieDomain`: a domain name (letters required, labels of at most 63
/// characters, no leading or trailing dash) or an IPv4 address.
fn valid_cookie_domain(domain: &str) -> bool {
    is_cookie_domain_name(domain) || domain.parse::<std::net::Ipv4Addr>().is_ok()
}

fn is_cookie_domain_name(domain: &str) -> bool {
    if domain.is_empty() || domain.len() > 255 {
        return false;
    }
    let domain = domain.strip_prefix('.').unwrap_or(domain);
    let mut last = b'.';
    let mut has_letter = false;
    let mut label_len = 0;
    for c in domain.bytes() {
        match c {
            b'a'..=b'z' | b'A'..=b'Z' => {
                has_letter = true;
                label_len += 1;
            }
            b'0'..=b'9' => label_len += 1,
            b'-' => {
                if last == b'.' {
                    return false;
                }
                label_len += 1;
            }
            b'.' => {
                if last == b'.' || last == b'-' || label_len > 63 || label_len == 0 {
                    return false;
                }
                label_len = 0;
            }
            _ => return false,
        }
        last = c;
    }
    last != b'-' && label_len <= 63 && has_letter
}

/// The value of the first cookie called `name` in the request's `Cookie` headers, parsed
/// as Go's `Request.Cookie` does (surrounding double quotes removed; values with invalid
/// bytes ignored).
pub fn request_cookie<'h>(headers: &'h HeaderMap, name: &str) -> Option<&'h str> {
    headers
        .get_all(header::COOKIE)
        .filter_map(|v| v.to_str().ok())
        .flat_map(|line| line.split(';'))
        .filter_map(|part| {
            let part = part.trim_matches([' ', '\t']);
            let (n, v) = part.split_once('=').unwrap_or((part, ""));
            if n.trim_matches([' ', '\t']) != name {
                return None;
            }
            let v = match v.strip_prefix('"').and_then(|v| v.strip_suffix('"')) {
                Some(unquoted) if v.len() > 1 => unquoted,
                _ => v,
            };
            v.bytes()
                .all(|b| (0x20..0x7f).contains(&b) && !matches!(b, b'"' | b';' | b'\\'))
                .then_some(v)
        })
        .next()
}

/// A member found from the request's sticky cookie.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct StickyHit {
    /// The member's index.
    pub index: usize,
    /// Whether the cookie used a legacy value and must be written again.
    pub rewrite: bool,
}

/// The sticky-cookie table of one service.
#[derive(Debug)]
pub struct Sticky {
    attributes: CookieAttributes,
    by_hash: HashMap<String, usize>,
    legacy: HashMap<String, usize>,
    set_cookie: Vec<Option<HeaderValue>>,
}

impl Sticky {
    /// A table over `members`: `members[i]` is the name of member `i`, or `None` for a
    /// member that cannot be chosen (Traefik never registers a weight-0 member).
    /// `service` is the qualified service name, for the default cookie name.
    pub fn new(spec: &Cookie, service: &str, members: &[Option<&str>]) -> Self {
        let attributes = CookieAttributes::new(spec, service);
        let mut by_hash = HashMap::new();
        let mut legacy = HashMap::new();
        let mut set_cookie = Vec::with_capacity(members.len());
        for (index, member) in members.iter().enumerate() {
            let Some(name) = member else {
                set_cookie.push(None);
                continue;
            };
            let hash = member_hash(name);
            set_cookie.push(HeaderValue::from_str(&attributes.render(&hash)).ok());
            by_hash.insert(hash, index);
            legacy.insert((*name).to_owned(), index);
            let fnv = fnv64_hex(name);
            // Traefik 2 hashed server URLs once more before the sticky table did, so
            // cookies may carry the FNV hash of the FNV hash.
            legacy.insert(fnv64_hex(&fnv), index);
            legacy.insert(fnv, index);
        }
        Self {
            attributes,
            by_hash,
            legacy,
            set_cookie,
        }
    }

    /// The member named by the request's cookie, if any.
    pub fn lookup(&self, headers: &HeaderMap) -> Option<StickyHit> {
        let value = request_cookie(headers, &self.attributes.name)?;
        if let Some(index) = self.by_hash.get(value) {
            return Some(StickyHit {
                index: *index,
                rewrite: false,
            });
        }
        self.legacy.get(value).map(|index| StickyHit {
            index: *index,
            rewrite: true,
        })
    }

    /// The `Set-Cookie` header value sticking a client to member `index`.
    pub fn set_cookie(&self, index: usize) -> Option<&HeaderValue> {
        self.set_cookie.get(index).and_then(Option::as_ref)
    }
}

/// The member for a request: the one its sticky cookie names while that one is `usable`
/// (rewriting an old-format cookie), else `pick`'s, with a cookie naming it when sticky.
pub fn choose(
    sticky: Option<&Sticky>,
    headers: &HeaderMap,
    usable: impl Fn(usize) -> bool,
    pick: impl FnOnce() -> Option<usize>,
) -> Option<super::load_balancer::Choice> {
    if let Some(sticky) = sticky
        && let Some(hit) = sticky.lookup(headers)
        && usable(hit.index)
    {
        let set_cookie = hit
            .rewrite
            .then(|| sticky.set_cookie(hit.index).cloned())
            .flatten();
        return Some(super::load_balancer::Choice {
            index: hit.index,
            set_cookie,
        });
    }
    let index = pick()?;
    let set_cookie = sticky.and_then(|s| s.set_cookie(index).cloned());
    Some(super::load_balancer::Choice { index, set_cookie })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn cookie(json: serde_json::Value) -> Cookie {
        serde_json::from_value(json).unwrap()
    }

    #[test]
    fn cookie_names() {
        let cases = [
            (
                "generated from the service name",
                "",
                "/my/BACKEND-v1.0~rc1",
                "_5f7bc",
            ),
            (
                "configured, sanitized",
                "/my/BACKEND-v1.0~rc1",
                "",
                "_my_BACKEND-v1.0~rc1",
            ),
            ("configured wins", "cookie", "backend", "cookie"),
            (
                "non-ASCII is one underscore per character",
                "caf\u{e9}",
                "x",
                "caf_",
            ),
        ];
        for (case, configured, service, expected) in cases {
            assert_eq!(cookie_name(configured, service), expected, "{case}");
        }
    }

    #[test]
    fn member_hashes() {
        assert_eq!(member_hash("foo"), "2c26b46b68ffc68f");
        assert_eq!(member_hash("http://10.0.0.1:80").len(), 16);
        // FNV-1 64 reference values.
        assert_eq!(fnv64_hex(""), "cbf29ce484222325");
        assert_eq!(fnv64_hex("a"), "af63bd4c8601b7be");
    }

    #[test]
    fn set_cookie_rendering() {
        let cases = [
            ("defaults", serde_json::json!({"name": "s"}), "s=v; Path=/"),
            (
                "everything",
                serde_json::json!({"name": "s", "secure": true, "httpOnly": true, "sameSite": "LAX",
                    "maxAge": 60, "path": "/app", "domain": ".example.com"}),
                "s=v; Path=/app; Domain=example.com; Max-Age=60; HttpOnly; Secure; SameSite=Lax",
            ),
            (
                "negative max age",
                serde_json::json!({"name": "s", "maxAge": -5}),
                "s=v; Path=/; Max-Age=0",
            ),
            (
                "same site none",
                serde_json::json!({"name": "s", "sameSite": "none"}),
                "s=v; Path=/; SameSite=None",
            ),
            (
                "same site strict",
                serde_json::json!({"name": "s", "sameSite": "Strict"}),
                "s=v; Path=/; SameSite=Strict",
            ),
            (
                "unknown same site omitted",
                serde_json::json!({"name": "s", "sameSite": "bogus"}),
                "s=v; Path=/",
            ),
            (
                "empty path omitted",
                serde_json::json!({"name": "s", "path": ""}),
                "s=v",
            ),
            (
                "semicolon dropped from path",
                serde_json::json!({"name": "s", "path": "/a;b"}),
                "s=v; Path=/ab",
            ),
            (
                "invalid domain dropped",
                serde_json::json!({"name": "s", "domain": "bad_domain.com"}),
                "s=v; Path=/",
            ),
            (
                "IPv4 domain kept",
                serde_json::json!({"name": "s", "domain": "10.0.0.1"}),
                "s=v; Path=/; Domain=10.0.0.1",
            ),
        ];
        for (case, spec, expected) in cases {
            assert_eq!(
                CookieAttributes::new(&cookie(spec), "svc@file").render("v"),
                expected,
                "{case}"
            );
        }
    }

    #[test]
    fn cookie_domains() {
        let cases = [
            ("plain", "example.com", true),
            ("leading dot", ".example.com", true),
            ("digits only", "123", false),
            ("dash after dot", "a.-b.com", false),
            ("trailing dash", "example-", false),
            ("double dot", "a..b", false),
            ("long label", &"a".repeat(64), false),
            ("ipv6", "::1", false),
        ];
        for (case, domain, expected) in cases {
            assert_eq!(valid_cookie_domain(domain), expected, "{case}");
        }
    }

    #[test]
    fn request_cookies() {
        let cases: [(&str, &[&str], Option<&str>); 7] = [
            ("absent", &[], None),
            ("single", &["s=abc"], Some("abc")),
            ("among others", &["a=1; s=abc; b=2"], Some("abc")),
            ("first wins", &["s=one; s=two"], Some("one")),
            ("second header", &["a=1", "s=abc"], Some("abc")),
            ("quotes removed", &["s=\"abc\""], Some("abc")),
            ("invalid value skipped", &["s=a\\b; s=ok"], Some("ok")),
        ];
        for (case, lines, expected) in cases {
            let mut headers = HeaderMap::new();
            for line in lines {
                headers.append(header::COOKIE, HeaderValue::from_str(line).unwrap());
            }
            assert_eq!(request_cookie(&headers, "s"), expected, "{case}");
        }
    }

    #[test]
    fn lookup_by_hash_and_legacy_values() {
        let sticky = Sticky::new(
            &cookie(serde_json::json!({"name": "s"})),
            "svc@file",
            &[Some("first"), None, Some("third")],
        );
        let with = |value: String| {
            let mut headers = HeaderMap::new();
            headers.insert(
                header::COOKIE,
                HeaderValue::from_str(&format!("s={value}")).unwrap(),
            );
            sticky.lookup(&headers)
        };
        let cases = [
            (
                "sha256",
                member_hash("third"),
                Some(StickyHit {
                    index: 2,
                    rewrite: false,
                }),
            ),
            (
                "raw name",
                "first".to_owned(),
                Some(StickyHit {
                    index: 0,
                    rewrite: true,
                }),
            ),
            (
                "fnv",
                fnv64_hex("first"),
                Some(StickyHit {
                    index: 0,
                    rewrite: true,
                }),
            ),
            (
                "double fnv",
                fnv64_hex(&fnv64_hex("third")),
                Some(StickyHit {
                    index: 2,
                    rewrite: true,
                }),
            ),
            ("unknown", "nope".to_owned(), None),
        ];
        for (case, value, expected) in cases {
            assert_eq!(with(value), expected, "{case}");
        }
        assert_eq!(
            sticky.set_cookie(0).unwrap().to_str().unwrap(),
            format!("s={}; Path=/", member_hash("first"))
        );
        assert!(sticky.set_cookie(1).is_none());
        assert!(sticky.set_cookie(7).is_none());
    }
}
