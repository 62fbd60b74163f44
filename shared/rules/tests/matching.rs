//! Matcher semantics (checked against Traefik v3's implementation) and host
//! constraints derived from whole rules.

use std::collections::BTreeSet;
use std::net::IpAddr;

use switchyard_rules::{HostConstraint, SimpleConnection, SimpleRequest, parse_http, parse_tcp};

fn ip(s: &str) -> IpAddr {
    s.parse().unwrap_or_else(|e| panic!("{s}: {e}"))
}

fn get(host: &str, target: &str) -> SimpleRequest {
    SimpleRequest::new("GET", host, target)
}

#[test]
fn http_matchers() {
    let cases: Vec<(&str, &str, SimpleRequest, bool)> = vec![
        // Host
        (
            "host exact",
            "Host(`example.com`)",
            get("example.com", "/"),
            true,
        ),
        (
            "host request case and port",
            "Host(`example.com`)",
            get("EXAMPLE.com:8443", "/"),
            true,
        ),
        (
            "host rule case",
            "Host(`Example.COM`)",
            get("example.com", "/"),
            true,
        ),
        (
            "host other",
            "Host(`example.com`)",
            get("example.org", "/"),
            false,
        ),
        (
            "host subdomain",
            "Host(`example.com`)",
            get("www.example.com", "/"),
            false,
        ),
        (
            "host trailing dot in rule",
            "Host(`example.com.`)",
            get("example.com", "/"),
            true,
        ),
        (
            "host trailing dot in request",
            "Host(`example.com`)",
            get("example.com.", "/"),
            true,
        ),
        (
            "host trailing dot both",
            "Host(`example.com.`)",
            get("example.com.", "/"),
            true,
        ),
        (
            "host two trailing dots",
            "Host(`example.com`)",
            get("example.com..", "/"),
            false,
        ),
        (
            "host dot rule two dots request",
            "Host(`a.`)",
            get("a..", "/"),
            true,
        ),
        (
            "host empty request",
            "Host(`example.com`)",
            get("", "/"),
            false,
        ),
        ("host ipv6", "Host(`::1`)", get("[::1]:80", "/"), true),
        (
            "host catch-all",
            "Host(`*`)",
            get("anything.example", "/"),
            true,
        ),
        ("host catch-all empty host", "Host(`*`)", get("", "/"), true),
        (
            "wildcard one label",
            "Host(`*.example.com`)",
            get("foo.example.com", "/"),
            true,
        ),
        (
            "wildcard two labels",
            "Host(`*.example.com`)",
            get("foo.bar.example.com", "/"),
            false,
        ),
        (
            "wildcard apex",
            "Host(`*.example.com`)",
            get("example.com", "/"),
            false,
        ),
        (
            "wildcard trailing dot",
            "Host(`*.example.com`)",
            get("foo.example.com.", "/"),
            true,
        ),
        (
            "wildcard rule trailing dot",
            "Host(`*.example.com.`)",
            get("foo.example.com", "/"),
            true,
        ),
        // HostRegexp
        (
            "host regexp unanchored",
            "HostRegexp(`example`)",
            get("www.example.com", "/"),
            true,
        ),
        (
            "host regexp anchored",
            r"HostRegexp(`^.+\.example\.com$`)",
            get("a.example.com", "/"),
            true,
        ),
        (
            "host regexp anchored apex",
            r"HostRegexp(`^.+\.example\.com$`)",
            get("example.com", "/"),
            false,
        ),
        (
            "host regexp sees lower-cased host",
            r"HostRegexp(`^Example\.com$`)",
            get("Example.com", "/"),
            false,
        ),
        (
            "host regexp case-insensitive flag",
            r"HostRegexp(`(?i)^EXAMPLE\.com$`)",
            get("example.com", "/"),
            true,
        ),
        (
            "host regexp without port",
            r"HostRegexp(`:8080`)",
            get("a.com:8080", "/"),
            false,
        ),
        // Path, PathPrefix, PathRegexp
        (
            "path exact",
            "Path(`/products`)",
            get("a", "/products"),
            true,
        ),
        (
            "path trailing slash",
            "Path(`/products`)",
            get("a", "/products/"),
            false,
        ),
        (
            "path ignores query",
            "Path(`/products`)",
            get("a", "/products?x=1"),
            true,
        ),
        (
            "path case-sensitive",
            "Path(`/products`)",
            get("a", "/Products"),
            false,
        ),
        (
            "prefix",
            "PathPrefix(`/products`)",
            get("a", "/products/shoes"),
            true,
        ),
        (
            "prefix is plain string prefix",
            "PathPrefix(`/products`)",
            get("a", "/products-for-sale"),
            true,
        ),
        (
            "prefix miss",
            "PathPrefix(`/products`)",
            get("a", "/product"),
            false,
        ),
        (
            "path regexp",
            r"PathRegexp(`^/products/(shoes|socks)/[0-9]+$`)",
            get("a", "/products/shoes/31"),
            true,
        ),
        (
            "path regexp unanchored",
            r"PathRegexp(`\.(jpeg|jpg|png)$`)",
            get("a", "/img/cat.png"),
            true,
        ),
        (
            "path regexp miss",
            r"PathRegexp(`^/api`)",
            get("a", "/v1/api"),
            false,
        ),
        // Method
        ("method", "Method(`GET`)", get("a", "/"), true),
        (
            "method rule upper-cased",
            "Method(`get`)",
            get("a", "/"),
            true,
        ),
        (
            "method request is case-sensitive",
            "Method(`GET`)",
            SimpleRequest::new("get", "a", "/"),
            false,
        ),
        ("method other", "Method(`POST`)", get("a", "/"), false),
        // Header, HeaderRegexp
        (
            "header",
            "Header(`Content-Type`, `application/yaml`)",
            get("a", "/").with_header("content-type", "application/yaml"),
            true,
        ),
        (
            "header any value",
            "Header(`X-A`, `2`)",
            get("a", "/")
                .with_header("X-A", "1")
                .with_header("x-a", "2"),
            true,
        ),
        (
            "header value exact",
            "Header(`X-A`, `abc`)",
            get("a", "/").with_header("X-A", "ABC"),
            false,
        ),
        (
            "header value not split",
            "Header(`X-A`, `1`)",
            get("a", "/").with_header("X-A", "1, 2"),
            false,
        ),
        ("header missing", "Header(`X-A`, `1`)", get("a", "/"), false),
        (
            "header regexp",
            "HeaderRegexp(`Content-Type`, `^application/(json|yaml)$`)",
            get("a", "/").with_header("Content-Type", "application/json"),
            true,
        ),
        (
            "header regexp unanchored",
            "HeaderRegexp(`X-A`, `b`)",
            get("a", "/").with_header("X-A", "abc"),
            true,
        ),
        (
            "header regexp any value",
            "HeaderRegexp(`X-A`, `^2$`)",
            get("a", "/")
                .with_header("X-A", "1")
                .with_header("X-A", "2"),
            true,
        ),
        (
            "header regexp missing header",
            "HeaderRegexp(`X-A`, `.*`)",
            get("a", "/"),
            false,
        ),
        // Query, QueryRegexp
        (
            "query",
            "Query(`mobile`, `true`)",
            get("a", "/search?mobile=true"),
            true,
        ),
        (
            "query any value",
            "Query(`mobile`, `true`)",
            get("a", "/search?mobile=false&mobile=true"),
            true,
        ),
        (
            "query other value",
            "Query(`mobile`, `true`)",
            get("a", "/search?mobile=yes"),
            false,
        ),
        (
            "query decoded",
            "Query(`a b`, `c d`)",
            get("a", "/?a+b=c%20d"),
            true,
        ),
        (
            "query no value",
            "Query(`mobile`)",
            get("a", "/search?mobile"),
            true,
        ),
        (
            "query empty value",
            "Query(`mobile`)",
            get("a", "/search?mobile="),
            true,
        ),
        (
            "query one-arg needs empty value",
            "Query(`mobile`)",
            get("a", "/search?mobile=1"),
            false,
        ),
        (
            "query absent",
            "Query(`mobile`)",
            get("a", "/search"),
            false,
        ),
        (
            "query key case-sensitive",
            "Query(`Mobile`)",
            get("a", "/search?mobile"),
            false,
        ),
        (
            "query regexp",
            "QueryRegexp(`mobile`, `^(true|yes)$`)",
            get("a", "/?mobile=yes"),
            true,
        ),
        (
            "query regexp empty value",
            "QueryRegexp(`mobile`, `^.*$`)",
            get("a", "/?mobile"),
            true,
        ),
        (
            "query regexp absent",
            "QueryRegexp(`mobile`, `^.*$`)",
            get("a", "/?other=1"),
            false,
        ),
        (
            "query regexp one arg",
            "QueryRegexp(`mobile`)",
            get("a", "/?mobile"),
            true,
        ),
        // ClientIP
        (
            "client ip",
            "ClientIP(`10.76.105.11`)",
            get("a", "/").with_client_ip(ip("10.76.105.11")),
            true,
        ),
        (
            "client ip other",
            "ClientIP(`10.76.105.11`)",
            get("a", "/").with_client_ip(ip("10.76.105.12")),
            false,
        ),
        (
            "client ip cidr",
            "ClientIP(`192.168.1.0/24`)",
            get("a", "/").with_client_ip(ip("192.168.1.200")),
            true,
        ),
        (
            "client ip cidr miss",
            "ClientIP(`192.168.1.0/24`)",
            get("a", "/").with_client_ip(ip("192.168.2.1")),
            false,
        ),
        (
            "client ip v6",
            "ClientIP(`fe80::/10`)",
            get("a", "/").with_client_ip(ip("fe80::1")),
            true,
        ),
        (
            "client ip v4-mapped peer",
            "ClientIP(`10.0.0.0/8`)",
            get("a", "/").with_client_ip(ip("::ffff:10.1.2.3")),
            true,
        ),
        (
            "client ip v4-mapped rule",
            "ClientIP(`::ffff:10.1.2.3`)",
            get("a", "/").with_client_ip(ip("10.1.2.3")),
            true,
        ),
        (
            "client ip v6 net excludes v4",
            "ClientIP(`::/0`)",
            get("a", "/").with_client_ip(ip("10.1.2.3")),
            false,
        ),
        (
            "client ip unknown peer",
            "ClientIP(`0.0.0.0/0`)",
            get("a", "/"),
            false,
        ),
        // Operators
        (
            "and",
            "Host(`a.com`) && PathPrefix(`/api`)",
            get("a.com", "/api/x"),
            true,
        ),
        (
            "and miss",
            "Host(`a.com`) && PathPrefix(`/api`)",
            get("a.com", "/web"),
            false,
        ),
        (
            "or",
            "Host(`a.com`) || Host(`b.com`)",
            get("b.com", "/"),
            true,
        ),
        ("not", "!Host(`a.com`)", get("b.com", "/"), true),
        ("not miss", "!Host(`a.com`)", get("a.com", "/"), false),
        (
            "precedence",
            "Host(`x`) || Host(`a.com`) && Path(`/no`)",
            get("a.com", "/"),
            false,
        ),
        (
            "grouping",
            "(Host(`x`) || Host(`a.com`)) && !Path(`/no`)",
            get("a.com", "/"),
            true,
        ),
    ];
    for (case, rule, req, expected) in &cases {
        let parsed = parse_http(rule).unwrap_or_else(|e| panic!("{case}: {e}"));
        assert_eq!(
            parsed.matches(req),
            *expected,
            "{case}: {rule} against {req:?}"
        );
    }
}

fn conn(sni: Option<&str>) -> SimpleConnection {
    SimpleConnection {
        sni: sni.map(str::to_owned),
        ..SimpleConnection::default()
    }
}

#[test]
fn tcp_matchers() {
    let with_alpn = |protos: &[&str]| SimpleConnection {
        alpn: protos.iter().map(|p| (*p).to_owned()).collect(),
        ..SimpleConnection::default()
    };
    let with_ip = |addr: &str| SimpleConnection {
        client_ip: Some(ip(addr)),
        ..SimpleConnection::default()
    };
    let cases: Vec<(&str, &str, SimpleConnection, bool)> = vec![
        (
            "sni",
            "HostSNI(`example.com`)",
            conn(Some("example.com")),
            true,
        ),
        (
            "sni rule case",
            "HostSNI(`Example.com`)",
            conn(Some("example.com")),
            true,
        ),
        (
            "sni canonicalised",
            "HostSNI(`example.com`)",
            SimpleConnection::with_sni(" EXAMPLE.com"),
            true,
        ),
        (
            "sni other",
            "HostSNI(`example.com`)",
            conn(Some("example.org")),
            false,
        ),
        ("sni missing", "HostSNI(`example.com`)", conn(None), false),
        (
            "sni rule trailing dot",
            "HostSNI(`example.com.`)",
            conn(Some("example.com")),
            true,
        ),
        (
            "sni request trailing dot",
            "HostSNI(`example.com`)",
            conn(Some("example.com.")),
            false,
        ),
        ("catch-all", "HostSNI(`*`)", conn(Some("x.y")), true),
        ("catch-all without sni", "HostSNI(`*`)", conn(None), true),
        (
            "wildcard",
            "HostSNI(`*.example.com`)",
            conn(Some("a.example.com")),
            true,
        ),
        (
            "wildcard deeper",
            "HostSNI(`*.example.com`)",
            conn(Some("a.b.example.com")),
            false,
        ),
        (
            "wildcard without sni",
            "HostSNI(`*.example.com`)",
            conn(None),
            false,
        ),
        (
            "sni regexp",
            r"HostSNIRegexp(`^.+\.example\.com$`)",
            conn(Some("a.example.com")),
            true,
        ),
        (
            "sni regexp miss",
            r"HostSNIRegexp(`^.+\.example\.com$`)",
            conn(Some("example.com")),
            false,
        ),
        (
            "sni regexp missing sni is empty",
            r"HostSNIRegexp(`^$`)",
            conn(None),
            true,
        ),
        ("alpn", "ALPN(`h2`)", with_alpn(&["http/1.1", "h2"]), true),
        ("alpn miss", "ALPN(`h2`)", with_alpn(&["http/1.1"]), false),
        ("alpn exact", "ALPN(`H2`)", with_alpn(&["h2"]), false),
        (
            "client ip",
            "ClientIP(`10.0.0.0/8`)",
            with_ip("10.9.9.9"),
            true,
        ),
        (
            "client ip miss",
            "ClientIP(`10.0.0.0/8`)",
            with_ip("11.0.0.1"),
            false,
        ),
        (
            "combined",
            "HostSNI(`a.com`) && !ALPN(`h2`)",
            conn(Some("a.com")),
            true,
        ),
    ];
    for (case, rule, c, expected) in &cases {
        let parsed = parse_tcp(rule).unwrap_or_else(|e| panic!("{case}: {e}"));
        assert_eq!(parsed.matches(c), *expected, "{case}: {rule} against {c:?}");
    }
}

fn set(items: &[&str]) -> BTreeSet<String> {
    items.iter().map(|s| (*s).to_owned()).collect()
}

#[test]
fn http_host_constraints() {
    let exact = |h: &[&str]| HostConstraint::Exact(set(h));
    let suffix = |h: &[&str]| HostConstraint::Suffix(set(h));
    let cases: Vec<(&str, &str, HostConstraint)> = vec![
        (
            "single host",
            "Host(`Example.com`)",
            exact(&["example.com"]),
        ),
        (
            "host with path",
            "Host(`a.com`) && PathPrefix(`/api`)",
            exact(&["a.com"]),
        ),
        ("path only", "PathPrefix(`/api`)", HostConstraint::Any),
        (
            "host or host",
            "Host(`a.com`) || Host(`b.com`)",
            exact(&["a.com", "b.com"]),
        ),
        (
            "host or path",
            "Host(`a.com`) || PathPrefix(`/`)",
            HostConstraint::Any,
        ),
        (
            "host and host",
            "Host(`a.com`) && Host(`b.com`)",
            exact(&[]),
        ),
        ("negated host", "!Host(`a.com`)", HostConstraint::Any),
        (
            "negation under and",
            "Host(`a.com`) && !Host(`b.com`)",
            exact(&["a.com"]),
        ),
        ("trailing dot", "Host(`a.com.`)", exact(&["a.com"])),
        ("catch-all", "Host(`*`)", HostConstraint::Any),
        ("wildcard", "Host(`*.a.com`)", suffix(&["a.com"])),
        (
            "apex or wildcard",
            "Host(`a.com`) || Host(`*.a.com`)",
            suffix(&["a.com"]),
        ),
        (
            "regexp suffix",
            r"HostRegexp(`^.+\.example\.com$`)",
            suffix(&["example.com"]),
        ),
        (
            "regexp exact",
            r"HostRegexp(`^example\.(com|org)$`)",
            exact(&["example.com", "example.org"]),
        ),
        (
            "regexp unanchored",
            r"HostRegexp(`example\.com`)",
            HostConstraint::Any,
        ),
        (
            "host within regexp",
            r"Host(`x.a.com`) && HostRegexp(`\.a\.com$`)",
            exact(&["x.a.com"]),
        ),
        (
            "host outside regexp",
            r"Host(`x.b.com`) && HostRegexp(`\.a\.com$`)",
            exact(&[]),
        ),
        (
            "nested",
            "(Host(`a.com`) || Host(`b.com`)) && (Host(`b.com`) || Host(`c.com`))",
            exact(&["b.com"]),
        ),
        (
            "mixed or",
            r"Host(`a.com`) || HostRegexp(`^.+\.b\.com$`)",
            suffix(&["a.com", "b.com"]),
        ),
    ];
    for (case, rule, expected) in &cases {
        let parsed = parse_http(rule).unwrap_or_else(|e| panic!("{case}: {e}"));
        assert_eq!(&parsed.host_constraint(), expected, "{case}");
    }
}

#[test]
fn tcp_sni_constraints() {
    let cases: Vec<(&str, &str, HostConstraint)> = vec![
        (
            "sni",
            "HostSNI(`A.com`)",
            HostConstraint::Exact(set(&["a.com"])),
        ),
        ("catch-all", "HostSNI(`*`)", HostConstraint::Any),
        (
            "wildcard",
            "HostSNI(`*.a.com`)",
            HostConstraint::Suffix(set(&["a.com"])),
        ),
        (
            "regexp",
            r"HostSNIRegexp(`^.+\.a\.com$`)",
            HostConstraint::Suffix(set(&["a.com"])),
        ),
        ("alpn only", "ALPN(`h2`)", HostConstraint::Any),
        (
            "sni and alpn",
            "HostSNI(`a.com`) && ALPN(`h2`)",
            HostConstraint::Exact(set(&["a.com"])),
        ),
    ];
    for (case, rule, expected) in &cases {
        let parsed = parse_tcp(rule).unwrap_or_else(|e| panic!("{case}: {e}"));
        assert_eq!(&parsed.sni_constraint(), expected, "{case}");
    }
}

#[test]
fn host_value_extraction() {
    let rule = parse_http("Host(`A.com`) && (!Host(`b.com`) || Path(`/`))").ok();
    assert_eq!(
        rule.as_ref().map(|r| r.host_values()),
        Some(vec!["a.com", "b.com"])
    );
    let tcp = parse_tcp("HostSNI(`x.io`) || HostSNI(`*`)").ok();
    assert_eq!(
        tcp.as_ref().map(|r| r.host_sni_values()),
        Some(vec!["x.io", "*"])
    );
    assert_eq!(tcp.map(|r| r.is_catch_all()), Some(false));
    assert_eq!(
        parse_tcp("HostSNI(`*`)").map(|r| r.is_catch_all()),
        Ok(true)
    );
}
