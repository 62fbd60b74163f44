//! Property tests: print/parse roundtrip of random ASTs, robustness on
//! random input, and soundness of host constraints.

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

use ipnet::{IpNet, Ipv4Net, Ipv6Net};
use proptest::prelude::*;
use switchyard_rules::{
    Expr, HttpMatcher, Pattern, Rule, SimpleConnection, SimpleRequest, TcpMatcher, TcpRule,
    canonical_header_name, parse_http, parse_tcp,
};

const PATTERNS: &[&str] = &[
    r"^.+\.example\.com$",
    r"(?i)^[a-z]+\.io$",
    r"\d{2,}",
    r"^/api/(v1|v2)/",
    "a`b",
    r#"say "hi""#,
    r"\\x",
    "\\.(png|jpg)$",
    "{sub:[a-z]+}",
];

fn pattern() -> impl Strategy<Value = Pattern> {
    prop::sample::select(PATTERNS).prop_filter_map("compiles", |s| Pattern::new(s).ok())
}

/// Any non-empty value, including characters that force double quoting.
fn value() -> impl Strategy<Value = String> {
    "[ -~\t\n\r]{1,10}|\\PC{1,6}"
}

fn client_ip() -> impl Strategy<Value = IpNet> {
    prop_oneof![
        (any::<u32>(), 0u8..=32).prop_filter_map("v4", |(a, p)| {
            Ipv4Net::new(Ipv4Addr::from(a), p)
                .ok()
                .map(|n| IpNet::V4(n.trunc()))
        }),
        (any::<u128>(), 0u8..=128).prop_filter_map("v6 not v4-mapped", |(a, p)| {
            let net = Ipv6Net::new(Ipv6Addr::from(a), p).ok()?.trunc();
            net.network()
                .to_ipv4_mapped()
                .is_none()
                .then_some(IpNet::V6(net))
        }),
    ]
}

fn http_matcher() -> impl Strategy<Value = HttpMatcher> {
    prop_oneof![
        "[ -~]{1,12}".prop_map(|h| HttpMatcher::Host(h.to_ascii_lowercase())),
        pattern().prop_map(HttpMatcher::HostRegexp),
        "/[ -~]{0,10}".prop_map(HttpMatcher::Path),
        "/\\PC{0,6}".prop_map(HttpMatcher::PathPrefix),
        pattern().prop_map(HttpMatcher::PathRegexp),
        "[A-Z]{1,7}".prop_map(HttpMatcher::Method),
        ("[a-zA-Z]{1,5}(-[a-z0-9]{1,4})?", value()).prop_map(|(n, value)| HttpMatcher::Header {
            name: canonical_header_name(&n),
            value
        }),
        ("[a-z]{1,5}", pattern()).prop_map(|(n, pattern)| HttpMatcher::HeaderRegexp {
            name: canonical_header_name(&n),
            pattern
        }),
        (value(), prop_oneof![Just(String::new()), value()])
            .prop_map(|(key, value)| HttpMatcher::Query { key, value }),
        (value(), pattern()).prop_map(|(key, pattern)| HttpMatcher::QueryRegexp { key, pattern }),
        client_ip().prop_map(HttpMatcher::ClientIp),
    ]
}

fn tcp_matcher() -> impl Strategy<Value = TcpMatcher> {
    prop_oneof![
        "\\*|(\\*\\.)?[a-z0-9_.:-]{1,10}".prop_map(TcpMatcher::HostSni),
        pattern().prop_map(TcpMatcher::HostSniRegexp),
        client_ip().prop_map(TcpMatcher::ClientIp),
        "[ -~]{1,8}"
            .prop_filter("reserved", |p| p != "acme-tls/1")
            .prop_map(TcpMatcher::Alpn),
    ]
}

/// Random trees built with the flattening constructors, like the parser.
fn tree<M: Clone + std::fmt::Debug + 'static>(
    leaf: impl Strategy<Value = M> + 'static,
) -> impl Strategy<Value = Expr<M>> {
    leaf.prop_map(Expr::Matcher)
        .prop_recursive(4, 24, 4, |inner| {
            prop_oneof![
                inner.clone().prop_map(Expr::not),
                prop::collection::vec(inner.clone(), 2..4).prop_map(|v| v
                    .into_iter()
                    .reduce(Expr::and)
                    .unwrap_or(Expr::And(Vec::new()))),
                prop::collection::vec(inner, 2..4).prop_map(|v| v
                    .into_iter()
                    .reduce(Expr::or)
                    .unwrap_or(Expr::Or(Vec::new()))),
            ]
        })
}

proptest! {
    #[test]
    fn http_roundtrip(rule in tree(http_matcher())) {
        let printed = rule.to_string();
        let parsed = parse_http(&printed);
        prop_assert_eq!(parsed.as_ref(), Ok(&rule), "printed: {}", printed);
        let reprinted = parsed.map(|r| r.to_string()).unwrap_or_default();
        prop_assert_eq!(reprinted, printed);
    }

    #[test]
    fn tcp_roundtrip(rule in tree(tcp_matcher())) {
        let printed = rule.to_string();
        let parsed = parse_tcp(&printed);
        prop_assert_eq!(parsed.as_ref(), Ok(&rule), "printed: {}", printed);
    }

    /// Arbitrary near-grammar input never panics, and whatever parses
    /// roundtrips.
    #[test]
    fn random_input(input in "[HostPaSNIQuyrgx()`\"\\\\!&| a-z/*.,\n]{0,60}") {
        if let Ok(rule) = parse_http(&input) {
            prop_assert_eq!(parse_http(&rule.to_string()), Ok(rule));
        }
        if let Ok(rule) = parse_tcp(&input) {
            prop_assert_eq!(parse_tcp(&rule.to_string()), Ok(rule));
        }
    }

    /// Any string at all: errors are fine, panics are not, and an error's
    /// column lies within the input (or just past its end).
    #[test]
    fn arbitrary_input(input in any::<String>()) {
        if let Err(e) = parse_http(&input) {
            prop_assert!(e.column() >= 1 && e.column() <= input.chars().count() + 1);
        }
        let _ = parse_tcp(&input);
    }

    /// Regexp translation never panics on regexp-like garbage, and matching
    /// with whatever compiles never panics either.
    #[test]
    fn regexp_translation_is_total(source in "[a-z0-9\\\\(){}\\[\\]^$.*+?|:&~<>QEdDwWsSbBpPx-]{0,24}", hay in "\\PC{0,12}") {
        if let Ok(p) = Pattern::new(&source) {
            let _ = p.is_match(&hay);
            let rule = format!("HostRegexp(`{source}`)");
            if let Ok(parsed) = parse_http(&rule) {
                let _ = parsed.host_constraint();
            }
        }
    }
}

// --- host constraint soundness ---------------------------------------------

const LABELS: &[&str] = &["a", "b", "example", "com", "io", "x1"];

/// A host made of known labels, possibly with odd case and trailing dots.
fn host() -> impl Strategy<Value = String> {
    (
        prop::collection::vec(prop::sample::select(LABELS), 0..4),
        0usize..3,
        any::<bool>(),
    )
        .prop_map(|(labels, dots, upper)| {
            let h = format!("{}{}", labels.join("."), ".".repeat(dots));
            if upper { h.to_ascii_uppercase() } else { h }
        })
}

fn domain() -> impl Strategy<Value = String> {
    prop::collection::vec(prop::sample::select(LABELS), 1..3).prop_map(|l| l.join("."))
}

fn escaped(d: &str) -> String {
    d.replace('.', r"\.")
}

/// `Host` expressions: plain, wildcard, catch-all, with trailing dots.
fn host_expr() -> impl Strategy<Value = String> {
    (domain(), 0usize..4, 0usize..2).prop_map(|(d, kind, dots)| {
        let base = match kind {
            0 => "*".to_owned(),
            1 => format!("*.{d}"),
            _ => d,
        };
        format!("{base}{}", ".".repeat(dots))
    })
}

/// Host regexps of the shapes seen in real configurations.
fn host_regexp() -> impl Strategy<Value = String> {
    (domain(), domain(), 0usize..10).prop_map(|(d, e, kind)| {
        let (d, e) = (escaped(&d), escaped(&e));
        match kind {
            0 => format!("^{d}$"),
            1 => format!(r"^.+\.{d}$"),
            2 => format!(r"\.{d}$"),
            3 => format!("(?i)^[A-Z0-9]+\\.{}$", d.to_ascii_uppercase()),
            4 => format!("^({d}|{e})$"),
            5 => format!(r"^[a-z]+\.({d}|{e})\.?$"),
            6 => d,
            7 => format!(r"^(.*\.)?{d}$"),
            8 => format!("^{d}$|^{e}"),
            _ => format!(r"{d}\z"),
        }
    })
}

fn constraint_leaf() -> impl Strategy<Value = String> {
    prop_oneof![
        host_expr().prop_map(|h| format!("Host(`{h}`)")),
        host_regexp().prop_map(|r| format!("HostRegexp(`{r}`)")),
        Just("PathPrefix(`/`)".to_owned()),
        Just("Method(`GET`)".to_owned()),
    ]
}

fn constraint_rule() -> impl Strategy<Value = String> {
    constraint_leaf().prop_recursive(3, 12, 3, |inner| {
        prop_oneof![
            inner.clone().prop_map(|x| format!("!({x})")),
            (inner.clone(), inner.clone()).prop_map(|(a, b)| format!("({a}) && ({b})")),
            (inner.clone(), inner).prop_map(|(a, b)| format!("({a}) || ({b})")),
        ]
    })
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(512))]

    #[test]
    fn host_constraint_is_sound(rule in constraint_rule(), hosts in prop::collection::vec(host(), 8)) {
        let parsed: Rule = parse_http(&rule).map_err(|e| TestCaseError::fail(format!("{rule}: {e}")))?;
        let constraint = parsed.host_constraint();
        for h in hosts {
            let req = SimpleRequest { host: h.clone(), path: "/".into(), method: "GET".into(), ..SimpleRequest::default() };
            if parsed.matches(&req) {
                prop_assert!(constraint.admits(&h), "{} matched {:?} but {:?} rejects it", rule, h, constraint);
            }
        }
    }

    #[test]
    fn sni_constraint_is_sound(
        rule in constraint_rule(),
        snis in prop::collection::vec(prop::option::of(host()), 8),
    ) {
        let tcp_rule = rule
            .replace("HostRegexp(", "HostSNIRegexp(")
            .replace("Host(", "HostSNI(")
            .replace("PathPrefix(`/`)", "ALPN(`h2`)")
            .replace("Method(`GET`)", "ClientIP(`::/0`)");
        let parsed: TcpRule = match parse_tcp(&tcp_rule) {
            Ok(r) => r,
            // HostSNI rejects some Host forms (e.g. a bare `*.`).
            Err(_) => return Ok(()),
        };
        let constraint = parsed.sni_constraint();
        for sni in snis {
            let conn = SimpleConnection { sni: sni.clone(), alpn: vec!["h2".into()], client_ip: Some(IpAddr::from(Ipv6Addr::LOCALHOST)) };
            if parsed.matches(&conn) {
                let key = sni.as_deref().unwrap_or("");
                prop_assert!(constraint.admits(key), "{} matched {:?} but {:?} rejects it", tcp_rule, sni, constraint);
            }
        }
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(2000))]
    /// If a rule matches a request, its path constraint admits the request's path.
    #[test]
    fn path_constraints_are_sound(rule in tree(http_matcher()), path in "/[a-z0-9/]{0,8}|/api/(v1|v2)/[a-z]{0,3}|/items/[0-9]{1,3}") {
        let request = SimpleRequest::new("GET", "example.com", &path);
        if rule.matches(&request) {
            prop_assert!(rule.path_constraint().admits(&path), "{} matched {} but its constraint {:?} refuses it", rule, path, rule.path_constraint());
        }
    }
}
