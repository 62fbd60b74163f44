//! Table-driven parser tests: accepted rules with their canonical form, and
//! every error class with its message and column.

use switchyard_rules::{
    Expr, HttpMatcher, MAX_NESTING, RuleError, TcpMatcher, default_priority, default_tcp_priority,
    parse_http, parse_tcp,
};

#[test]
fn valid_http_rules_print_canonically() {
    let cases: &[(&str, &str, &str)] = &[
        ("host", "Host(`example.com`)", "Host(`example.com`)"),
        (
            "host lower-cased",
            "Host(`ExAmple.COM`)",
            "Host(`example.com`)",
        ),
        (
            "matcher name any case",
            "hOsT(`a`) && pathprefix(`/`)",
            "Host(`a`) && PathPrefix(`/`)",
        ),
        ("upper name", "HOST(`a`)", "Host(`a`)"),
        ("double quotes", r#"Host("a.com")"#, "Host(`a.com`)"),
        (
            "double quote escapes",
            r#"Header("X", "say \"hi\"")"#,
            "Header(`X`, `say \"hi\"`)",
        ),
        (
            "backtick inside value",
            r#"Header("X", "a`b")"#,
            r#"Header(`X`, "a`b")"#,
        ),
        (
            "and binds tighter",
            "Host(`a`) || Host(`b`) && Path(`/`)",
            "Host(`a`) || Host(`b`) && Path(`/`)",
        ),
        (
            "parens kept",
            "(Host(`a`) || Host(`b`)) && Path(`/`)",
            "(Host(`a`) || Host(`b`)) && Path(`/`)",
        ),
        (
            "redundant parens dropped",
            "((Host(`a`)) && (Path(`/`)))",
            "Host(`a`) && Path(`/`)",
        ),
        (
            "flattened and",
            "Host(`a`) && (Path(`/`) && Method(`GET`))",
            "Host(`a`) && Path(`/`) && Method(`GET`)",
        ),
        (
            "flattened or",
            "(Host(`a`) || Host(`b`)) || Host(`c`)",
            "Host(`a`) || Host(`b`) || Host(`c`)",
        ),
        ("not", "!Host(`a`)", "!Host(`a`)"),
        (
            "not binds tightest",
            "!Host(`a`) && Path(`/`)",
            "!Host(`a`) && Path(`/`)",
        ),
        (
            "not group",
            "!(Host(`a`) || Path(`/`))",
            "!(Host(`a`) || Path(`/`))",
        ),
        ("double not", "!!Host(`a`)", "!!Host(`a`)"),
        (
            "whitespace",
            " \tHeader( `a` ,`b` )\r\n",
            "Header(`A`, `b`)",
        ),
        ("method upper-cased", "Method(`get`)", "Method(`GET`)"),
        (
            "header name canonical",
            "Header(`x-custom-header`, `v`)",
            "Header(`X-Custom-Header`, `v`)",
        ),
        (
            "header regexp",
            "HeaderRegexp(`content-type`, `^application/(json|yaml)$`)",
            "HeaderRegexp(`Content-Type`, `^application/(json|yaml)$`)",
        ),
        ("query one arg", "Query(`mobile`)", "Query(`mobile`)"),
        (
            "query two args",
            "Query(`mobile`, `true`)",
            "Query(`mobile`, `true`)",
        ),
        (
            "query regexp one arg is query",
            "QueryRegexp(`mobile`)",
            "Query(`mobile`)",
        ),
        (
            "query regexp",
            "QueryRegexp(`mobile`, `^(true|yes)$`)",
            "QueryRegexp(`mobile`, `^(true|yes)$`)",
        ),
        (
            "client ip",
            "ClientIP(`10.76.105.11`)",
            "ClientIP(`10.76.105.11`)",
        ),
        (
            "client ip cidr truncated",
            "ClientIP(`192.168.1.7/24`)",
            "ClientIP(`192.168.1.0/24`)",
        ),
        (
            "client ip full prefix",
            "ClientIP(`10.0.0.1/32`)",
            "ClientIP(`10.0.0.1`)",
        ),
        (
            "client ip v6",
            "ClientIP(`fe80::/10`)",
            "ClientIP(`fe80::/10`)",
        ),
        (
            "client ip v4-mapped",
            "ClientIP(`::ffff:10.0.0.0/104`)",
            "ClientIP(`10.0.0.0/8`)",
        ),
        (
            "host regexp",
            r"HostRegexp(`^.+\.example\.com$`)",
            r"HostRegexp(`^.+\.example\.com$`)",
        ),
        (
            "path regexp",
            r"PathRegexp(`\.(jpeg|jpg|png)$`)",
            r"PathRegexp(`\.(jpeg|jpg|png)$`)",
        ),
        ("trailing comma", "Header(`a`, `b`,)", "Header(`A`, `b`)"),
        (
            "line break after operator",
            "Host(`a`) &&\n  Path(`/`)",
            "Host(`a`) && Path(`/`)",
        ),
        ("trailing newline", "Host(`a`)\n", "Host(`a`)"),
        (
            "newline inside raw string",
            "Path(`/a\nb`)",
            "Path(`/a\nb`)",
        ),
        (
            "wildcard host",
            "Host(`*.Example.com`)",
            "Host(`*.example.com`)",
        ),
        ("catch-all host", "Host(`*`)", "Host(`*`)"),
        ("non-ascii path", "Path(`/café`)", "Path(`/café`)"),
        (
            "carriage return value",
            r#"Header("X", "a\rb")"#,
            r#"Header(`X`, "a\rb")"#,
        ),
    ];
    for (case, input, canonical) in cases {
        let rule = parse_http(input).unwrap_or_else(|e| panic!("{case}: {e}"));
        let printed = rule.to_string();
        if !canonical.is_empty() {
            assert_eq!(&printed, canonical, "{case}");
        }
        let reparsed = parse_http(&printed).unwrap_or_else(|e| panic!("{case}: reparse: {e}"));
        assert_eq!(reparsed, rule, "{case}: roundtrip");
    }
}

#[test]
fn valid_tcp_rules_print_canonically() {
    let cases: &[(&str, &str, &str)] = &[
        ("sni", "HostSNI(`Example.com`)", "HostSNI(`example.com`)"),
        ("catch all", "HostSNI(`*`)", "HostSNI(`*`)"),
        (
            "wildcard",
            "HostSNI(`*.example.com`)",
            "HostSNI(`*.example.com`)",
        ),
        (
            "sni with port-like colon",
            "HostSNI(`::1`)",
            "HostSNI(`::1`)",
        ),
        (
            "sni regexp",
            r"HostSNIRegexp(`^.+\.example\.com$`)",
            r"HostSNIRegexp(`^.+\.example\.com$`)",
        ),
        (
            "alpn",
            "ALPN(`h2`) && ClientIP(`10.0.0.0/8`)",
            "ALPN(`h2`) && ClientIP(`10.0.0.0/8`)",
        ),
        (
            "names any case",
            "hostsni(`a`) || alpn(`h2`)",
            "HostSNI(`a`) || ALPN(`h2`)",
        ),
        ("not", "!ClientIP(`::1`)", "!ClientIP(`::1`)"),
    ];
    for (case, input, canonical) in cases {
        let rule = parse_tcp(input).unwrap_or_else(|e| panic!("{case}: {e}"));
        assert_eq!(&rule.to_string(), canonical, "{case}");
        assert_eq!(
            parse_tcp(&rule.to_string()).as_ref(),
            Ok(&rule),
            "{case}: roundtrip"
        );
    }
}

#[test]
fn ast_shape() {
    let rule = parse_http("Host(`a`) || !Path(`/x`) && Method(`POST`)").ok();
    let expected = Expr::Or(vec![
        Expr::Matcher(HttpMatcher::Host("a".into())),
        Expr::And(vec![
            Expr::not(Expr::Matcher(HttpMatcher::Path("/x".into()))),
            Expr::Matcher(HttpMatcher::Method("POST".into())),
        ]),
    ]);
    assert_eq!(rule, Some(expected));
    let tcp = parse_tcp("HostSNI(`a`)").ok();
    assert_eq!(tcp, Some(Expr::Matcher(TcpMatcher::HostSni("a".into()))));
}

#[test]
fn http_errors() {
    let cases: &[(&str, &str, &str)] = &[
        ("empty", "", "empty rule"),
        ("blank", "  \n\t", "empty rule"),
        (
            "missing close paren",
            "Host(`example.com`",
            "expected ')' at column 19",
        ),
        (
            "missing group close",
            "(Host(`a`) && Path(`/`)",
            "expected ')' at column 24",
        ),
        (
            "unknown matcher",
            "Hots(`a`)",
            "unknown matcher \"Hots\" at column 1",
        ),
        (
            "unknown second matcher",
            "Host(`a`) && Foo(`b`)",
            "unknown matcher \"Foo\" at column 14",
        ),
        (
            "tcp matcher in http",
            "HostSNI(`a`)",
            "HostSNI is a TCP matcher, not allowed in HTTP rules at column 1",
        ),
        (
            "host arity",
            "Host(`a`, `b`)",
            "Host expects 1 argument, got 2 at column 1",
        ),
        (
            "host no args",
            "Host()",
            "Host expects 1 argument, got 0 at column 1",
        ),
        (
            "header arity",
            "Header(`a`)",
            "Header expects 2 arguments, got 1 at column 1",
        ),
        (
            "query arity",
            "Query(`a`, `b`, `c`)",
            "Query expects 1 or 2 arguments, got 3 at column 1",
        ),
        (
            "query regexp arity",
            "QueryRegexp()",
            "QueryRegexp expects 1 or 2 arguments, got 0 at column 1",
        ),
        (
            "empty argument",
            "Host(``)",
            "empty argument in Host at column 1",
        ),
        (
            "empty query value",
            "Query(`a`, ``)",
            "empty argument in Query at column 1",
        ),
        (
            "bad regexp",
            "PathRegexp(`(`)",
            "invalid regexp in PathRegexp at column 1: unclosed group",
        ),
        (
            "bad header regexp",
            "Path(`/`) && HeaderRegexp(`a`, `[`)",
            "invalid regexp in HeaderRegexp at column 14: unclosed character class",
        ),
        (
            "bad ip",
            "ClientIP(`10.0.0.300`)",
            "invalid IP or CIDR \"10.0.0.300\" in ClientIP at column 1",
        ),
        (
            "bad cidr",
            "ClientIP(`10.0.0.0/33`)",
            "invalid IP or CIDR \"10.0.0.0/33\" in ClientIP at column 1",
        ),
        (
            "non-ascii host",
            "Host(`bücher.de`)",
            "invalid value \"bücher.de\" in Host at column 1: non-ASCII characters are not allowed (use punycode)",
        ),
        (
            "non-ascii host regexp",
            "HostRegexp(`^ü$`)",
            "invalid value \"^ü$\" in HostRegexp at column 1: non-ASCII characters are not allowed (use punycode)",
        ),
        (
            "path without slash",
            "Path(`api`)",
            "invalid value \"api\" in Path at column 1: path must start with '/'",
        ),
        (
            "prefix without slash",
            "PathPrefix(`api`)",
            "invalid value \"api\" in PathPrefix at column 1: path must start with '/'",
        ),
        (
            "lone ampersand",
            "Host(`a`) & Path(`/`)",
            "unexpected character '&' (did you mean '&&'?) at column 11",
        ),
        (
            "lone pipe",
            "Host(`a`) | Path(`/`)",
            "unexpected character '|' (did you mean '||'?) at column 11",
        ),
        (
            "missing operator",
            "Host(`a`) Path(`/`)",
            "unexpected identifier \"Path\" at column 11",
        ),
        (
            "dangling and",
            "Host(`a`) &&",
            "expected a matcher, '(' or '!' at column 13",
        ),
        ("leading or", "|| Host(`a`)", "unexpected '||' at column 1"),
        ("empty parens", "()", "unexpected ')' at column 2"),
        ("stray close", "Host(`a`))", "unexpected ')' at column 10"),
        (
            "missing open paren",
            "Host `a`",
            "unexpected string literal at column 6",
        ),
        (
            "bare identifier",
            "Host",
            "expected '(' after matcher name at column 5",
        ),
        (
            "unquoted argument",
            "Host(a)",
            "unexpected identifier \"a\" at column 6",
        ),
        (
            "number argument",
            "Host(1)",
            "unexpected character '1' at column 6",
        ),
        (
            "missing comma",
            "Header(`a` `b`)",
            "unexpected string literal at column 12",
        ),
        (
            "leading comma",
            "Header(, `b`)",
            "unexpected ',' at column 8",
        ),
        (
            "single quotes",
            "Host('a')",
            "invalid string literal at column 6: single quotes are not allowed, use backticks or double quotes",
        ),
        (
            "unterminated raw",
            "Host(`a)",
            "invalid string literal at column 6: unterminated raw string (missing closing backtick)",
        ),
        (
            "bad escape",
            r#"Host("a\qb")"#,
            "invalid string literal at column 6: unknown escape sequence \\q",
        ),
        (
            "newline before operator",
            "Host(`a`)\n&& Path(`/`)",
            "unexpected newline at column 10",
        ),
        (
            "newline before close paren",
            "Host(`a`\n)",
            "unexpected newline at column 9",
        ),
        (
            "column counts characters",
            "Path(`/é`) && Nope(`x`)",
            "unknown matcher \"Nope\" at column 15",
        ),
    ];
    for (case, input, expected) in cases {
        match parse_http(input) {
            Ok(rule) => panic!("{case}: parsed as {rule}"),
            Err(e) => assert_eq!(e.to_string(), *expected, "{case}"),
        }
    }
}

#[test]
fn tcp_errors() {
    let cases: &[(&str, &str, &str)] = &[
        (
            "http matcher in tcp",
            "Host(`a`)",
            "Host is a HTTP matcher, not allowed in TCP rules at column 1",
        ),
        (
            "path in tcp",
            "HostSNI(`a`) && Path(`/`)",
            "Path is a HTTP matcher, not allowed in TCP rules at column 17",
        ),
        (
            "sni arity",
            "HostSNI(`a`, `b`)",
            "HostSNI expects 1 argument, got 2 at column 1",
        ),
        (
            "invalid sni",
            "HostSNI(`a b`)",
            "invalid value \"a b\" in HostSNI at column 1: not a valid hostname or IP",
        ),
        (
            "sni inner wildcard",
            "HostSNI(`a.*.com`)",
            "invalid value \"a.*.com\" in HostSNI at column 1: not a valid hostname or IP",
        ),
        (
            "sni bare wildcard dot",
            "HostSNI(`*.`)",
            "invalid value \"*.\" in HostSNI at column 1: not a valid hostname or IP",
        ),
        (
            "non-ascii sni regexp",
            "HostSNIRegexp(`ü`)",
            "invalid value \"ü\" in HostSNIRegexp at column 1: non-ASCII characters are not allowed (use punycode)",
        ),
        (
            "bad sni regexp",
            "HostSNIRegexp(`a{2,1}`)",
            "invalid regexp in HostSNIRegexp at column 1: invalid repetition count range, the start must be <= the end",
        ),
        (
            "acme alpn",
            "ALPN(`acme-tls/1`)",
            "invalid value \"acme-tls/1\" in ALPN at column 1: reserved for ACME TLS-ALPN challenges",
        ),
        (
            "bad client ip",
            "ClientIP(`nope`)",
            "invalid IP or CIDR \"nope\" in ClientIP at column 1",
        ),
        ("empty", "", "empty rule"),
    ];
    for (case, input, expected) in cases {
        match parse_tcp(input) {
            Ok(rule) => panic!("{case}: parsed as {rule}"),
            Err(e) => assert_eq!(e.to_string(), *expected, "{case}"),
        }
    }
}

#[test]
fn error_columns_and_variants() {
    let err = parse_http("Host(`a`) && Hots(`b`)").err();
    assert_eq!(
        err,
        Some(RuleError::UnknownMatcher {
            name: "Hots".into(),
            column: 14
        })
    );
    assert_eq!(err.map(|e| e.column()), Some(14));
    assert_eq!(parse_http("").err().map(|e| e.column()), Some(1));
}

#[test]
fn nesting_is_bounded() {
    let ok = format!(
        "{}Host(`a`){}",
        "(".repeat(MAX_NESTING),
        ")".repeat(MAX_NESTING)
    );
    assert!(parse_http(&ok).is_ok());
    let deep = format!(
        "{}Host(`a`){}",
        "(".repeat(MAX_NESTING + 1),
        ")".repeat(MAX_NESTING + 1)
    );
    assert!(matches!(parse_http(&deep), Err(RuleError::TooDeep { .. })));
    let bangs = format!("{}Host(`a`)", "!".repeat(MAX_NESTING + 1));
    assert!(matches!(parse_http(&bangs), Err(RuleError::TooDeep { .. })));
    let mixed = format!(
        "{}Host(`a`){}",
        "!(".repeat(MAX_NESTING),
        ")".repeat(MAX_NESTING)
    );
    assert!(matches!(parse_http(&mixed), Err(RuleError::TooDeep { .. })));
    // Long flat chains are fine: they do not nest.
    let chain = vec!["Host(`a`)"; 20_000].join(" || ");
    let rule = parse_http(&chain).unwrap_or_else(|e| panic!("{e}"));
    assert!(matches!(&rule, Expr::Or(children) if children.len() == 20_000));
}

#[test]
fn priorities() {
    let cases: &[(&str, &str, i64, i64)] = &[
        ("host", "Host(`a.com`)", 13, 13),
        ("bytes not chars", "Path(`/é`)", 11, 11),
        ("catch-all sni", "HostSNI(`*`)", 12, -1),
        ("catch-all sni lower", "hostsni(\"*\")", 12, -1),
        (
            "catch-all in expression",
            "HostSNI(`*`) && ALPN(`h2`)",
            26,
            26,
        ),
        ("unparsable", "HostSNI(", 8, 8),
    ];
    for (case, rule, http, tcp) in cases {
        assert_eq!(default_priority(rule), *http, "{case}");
        assert_eq!(default_tcp_priority(rule), *tcp, "{case}");
    }
}
