use std::net::IpAddr;

use super::{
    ForwardedConfig, ForwardedOptions, RequestInfo, is_managed_header, is_websocket_upgrade,
    parse_trusted_ip, rewrite_forwarded_with,
};
use crate::{HeaderList, Headers, NormalizeError};

struct Case {
    case: &'static str,
    trusted: &'static [&'static str],
    insecure: bool,
    options: ForwardedOptions,
    peer: &'static str,
    tls: bool,
    websocket: bool,
    host: &'static str,
    server_name: &'static str,
    incoming: &'static [(&'static str, &'static str)],
    /// Headers that must hold exactly this one value afterwards.
    want: &'static [(&'static str, &'static str)],
    absent: &'static [&'static str],
}

const BASE: Case = Case {
    case: "",
    trusted: &[],
    insecure: false,
    options: ForwardedOptions {
        not_append_x_forwarded_for: false,
        add_x_forwarded_scheme_headers: false,
    },
    peer: "203.0.113.7",
    tls: false,
    websocket: false,
    host: "example.com",
    server_name: "proxy-1",
    incoming: &[],
    want: &[],
    absent: &[],
};

/// Everything a client could spoof, in canonical and underscore spellings.
const SPOOFED: &[(&str, &str)] = &[
    ("X-Forwarded-For", "10.0.1.0, 10.0.1.12"),
    ("X-Forwarded-Proto", "https"),
    ("X-Forwarded-Host", "evil.example"),
    ("X-Forwarded-Port", "1"),
    ("X-Forwarded-Server", "spoofed-server"),
    ("X-Forwarded-Uri", "/bar"),
    ("X-Forwarded-Method", "GET"),
    ("X-Forwarded-Prefix", "/prefix"),
    ("X-Forwarded-Tls-Client-Cert", "Cert"),
    ("X-Forwarded-Tls-Client-Cert-Info", "CertInfo"),
    ("X-Forwarded-Scheme", "https"),
    ("X-Scheme", "https"),
    ("X-Real-Ip", "10.9.9.9"),
    ("X_forwarded_proto", "https"),
    ("X_forwarded_for", "10.0.0.1"),
    ("x_FORWARDED_host", "evil.example"),
    ("X-Forwarded_Uri", "/mixed"),
    ("X-Forwarded-Foo", "not managed"),
    ("Forwarded", "for=10.0.0.1"),
];

const SPOOF_REMOVED: &[&str] = &[
    "X-Forwarded-Uri",
    "X-Forwarded-Method",
    "X-Forwarded-Prefix",
    "X-Forwarded-Tls-Client-Cert",
    "X-Forwarded-Tls-Client-Cert-Info",
    "X-Forwarded-Scheme",
    "X-Scheme",
    "X_forwarded_proto",
    "X_forwarded_for",
    "x_FORWARDED_host",
    "X-Forwarded_Uri",
];

/// What an untrusted peer gets: its spoofed values replaced by ours.
const UNTRUSTED_RESULT: &[(&str, &str)] = &[
    ("X-Forwarded-For", "203.0.113.7"),
    ("X-Real-Ip", "203.0.113.7"),
    ("X-Forwarded-Proto", "http"),
    ("X-Forwarded-Port", "80"),
    ("X-Forwarded-Host", "example.com"),
    ("X-Forwarded-Server", "proxy-1"),
    ("X-Forwarded-Foo", "not managed"),
    ("Forwarded", "for=10.0.0.1"),
];

/// What a trusted peer keeps (the server name is always ours).
const TRUSTED_RESULT: &[(&str, &str)] = &[
    ("X-Forwarded-For", "10.0.1.0, 10.0.1.12, 203.0.113.7"),
    ("X-Real-Ip", "10.9.9.9"),
    ("X-Forwarded-Proto", "https"),
    ("X-Forwarded-Port", "1"),
    ("X-Forwarded-Host", "evil.example"),
    ("X-Forwarded-Server", "proxy-1"),
    ("X-Forwarded-Uri", "/bar"),
    ("X_forwarded_for", "10.0.0.1"),
    ("X-Forwarded_Uri", "/mixed"),
    ("X-Forwarded-Tls-Client-Cert-Info", "CertInfo"),
];

#[test]
fn rewrite_forwarded_table() {
    let cases = [
        Case {
            case: "no trusted ips strips everything managed",
            incoming: SPOOFED,
            want: UNTRUSTED_RESULT,
            absent: SPOOF_REMOVED,
            ..BASE
        },
        Case {
            case: "insecure keeps everything",
            insecure: true,
            incoming: SPOOFED,
            want: TRUSTED_RESULT,
            ..BASE
        },
        Case {
            case: "trusted single ip",
            trusted: &["203.0.113.7"],
            incoming: SPOOFED,
            want: TRUSTED_RESULT,
            ..BASE
        },
        Case {
            case: "other single ip is untrusted",
            trusted: &["203.0.113.8"],
            incoming: SPOOFED,
            want: UNTRUSTED_RESULT,
            absent: SPOOF_REMOVED,
            ..BASE
        },
        Case {
            case: "trusted cidr with host bits",
            trusted: &["203.0.113.99/24"],
            incoming: SPOOFED,
            want: TRUSTED_RESULT,
            ..BASE
        },
        Case {
            case: "outside cidr is untrusted",
            trusted: &["198.51.100.0/24", "10.0.0.0/8"],
            incoming: SPOOFED,
            want: UNTRUSTED_RESULT,
            absent: SPOOF_REMOVED,
            ..BASE
        },
        Case {
            case: "trusted ipv6 cidr",
            trusted: &["2001:db8::/32"],
            peer: "2001:db8::1",
            incoming: &[("X-Forwarded-For", "192.0.2.1"), ("X-Real-Ip", "192.0.2.1")],
            want: &[
                ("X-Forwarded-For", "192.0.2.1, 2001:db8::1"),
                ("X-Real-Ip", "192.0.2.1"),
            ],
            ..BASE
        },
        Case {
            case: "ipv6 outside cidr",
            trusted: &["2001:db8::/32"],
            peer: "2001:db9::1",
            incoming: &[("X-Forwarded-For", "192.0.2.1"), ("X-Real-Ip", "192.0.2.1")],
            want: &[
                ("X-Forwarded-For", "2001:db9::1"),
                ("X-Real-Ip", "2001:db9::1"),
            ],
            ..BASE
        },
        Case {
            case: "trusted ipv6 single address",
            trusted: &["::1"],
            peer: "::1",
            incoming: &[("X-Forwarded-Host", "inner.example")],
            want: &[
                ("X-Forwarded-Host", "inner.example"),
                ("X-Forwarded-For", "::1"),
            ],
            ..BASE
        },
        Case {
            case: "ipv4-mapped peer matches ipv4 cidr and is written as ipv4",
            trusted: &["10.0.0.0/8"],
            peer: "::ffff:10.0.0.5",
            incoming: &[("X-Forwarded-Proto", "https")],
            want: &[
                ("X-Forwarded-Proto", "https"),
                ("X-Real-Ip", "10.0.0.5"),
                ("X-Forwarded-For", "10.0.0.5"),
            ],
            ..BASE
        },
        Case {
            case: "tls",
            tls: true,
            want: &[("X-Forwarded-Proto", "https"), ("X-Forwarded-Port", "443")],
            ..BASE
        },
        Case {
            case: "websocket",
            websocket: true,
            want: &[("X-Forwarded-Proto", "ws"), ("X-Forwarded-Port", "80")],
            ..BASE
        },
        Case {
            case: "websocket over tls",
            websocket: true,
            tls: true,
            want: &[("X-Forwarded-Proto", "wss"), ("X-Forwarded-Port", "443")],
            ..BASE
        },
        Case {
            case: "port from host header wins over tls",
            tls: true,
            host: "example.com:8080",
            want: &[
                ("X-Forwarded-Port", "8080"),
                ("X-Forwarded-Host", "example.com:8080"),
            ],
            ..BASE
        },
        Case {
            case: "port from ipv6 host header",
            host: "[::1]:8443",
            want: &[
                ("X-Forwarded-Port", "8443"),
                ("X-Forwarded-Host", "[::1]:8443"),
            ],
            ..BASE
        },
        Case {
            case: "empty host port falls back to scheme",
            host: "example.com:",
            want: &[("X-Forwarded-Port", "80")],
            ..BASE
        },
        Case {
            case: "trusted https proto gives 443 without tls",
            insecure: true,
            incoming: &[("X-Forwarded-Proto", "https")],
            want: &[("X-Forwarded-Proto", "https"), ("X-Forwarded-Port", "443")],
            ..BASE
        },
        Case {
            case: "trusted http proto over tls still 443",
            insecure: true,
            tls: true,
            incoming: &[("X-Forwarded-Proto", "http")],
            want: &[("X-Forwarded-Proto", "http"), ("X-Forwarded-Port", "443")],
            ..BASE
        },
        Case {
            case: "empty trusted values count as absent",
            insecure: true,
            incoming: &[
                ("X-Real-Ip", ""),
                ("X-Forwarded-Proto", ""),
                ("X-Forwarded-Host", ""),
            ],
            want: &[
                ("X-Real-Ip", "203.0.113.7"),
                ("X-Forwarded-Proto", "http"),
                ("X-Forwarded-Host", "example.com"),
            ],
            ..BASE
        },
        Case {
            case: "multiple x-forwarded-for lines folded in order",
            insecure: true,
            incoming: &[
                ("X-Forwarded-For", "10.0.0.4, 10.0.0.3"),
                ("x-forwarded-for", "10.0.0.2, 10.0.0.1"),
                ("X-Forwarded-For", "10.0.0.0"),
            ],
            want: &[(
                "X-Forwarded-For",
                "10.0.0.4, 10.0.0.3, 10.0.0.2, 10.0.0.1, 10.0.0.0, 203.0.113.7",
            )],
            ..BASE
        },
        Case {
            case: "empty x-forwarded-for values dropped",
            insecure: true,
            incoming: &[
                ("X-Forwarded-For", ""),
                ("X-Forwarded-For", "10.0.0.1"),
                ("X-Forwarded-For", " "),
            ],
            want: &[("X-Forwarded-For", "10.0.0.1, 203.0.113.7")],
            ..BASE
        },
        Case {
            case: "not append folds only",
            insecure: true,
            options: ForwardedOptions {
                not_append_x_forwarded_for: true,
                add_x_forwarded_scheme_headers: false,
            },
            incoming: &[
                ("X-Forwarded-For", "10.0.0.2"),
                ("X-Forwarded-For", "10.0.0.1"),
            ],
            want: &[("X-Forwarded-For", "10.0.0.2, 10.0.0.1")],
            ..BASE
        },
        Case {
            case: "not append adds none",
            options: ForwardedOptions {
                not_append_x_forwarded_for: true,
                add_x_forwarded_scheme_headers: false,
            },
            want: &[("X-Real-Ip", "203.0.113.7")],
            absent: &["X-Forwarded-For"],
            ..BASE
        },
        Case {
            case: "scheme headers copy the final proto",
            tls: true,
            options: ForwardedOptions {
                not_append_x_forwarded_for: false,
                add_x_forwarded_scheme_headers: true,
            },
            incoming: &[("X-Scheme", "spoof")],
            want: &[("X-Forwarded-Scheme", "https"), ("X-Scheme", "https")],
            ..BASE
        },
        Case {
            case: "scheme headers follow a trusted proto",
            insecure: true,
            options: ForwardedOptions {
                not_append_x_forwarded_for: false,
                add_x_forwarded_scheme_headers: true,
            },
            incoming: &[("X-Forwarded-Proto", "wss")],
            want: &[
                ("X-Forwarded-Scheme", "wss"),
                ("X-Scheme", "wss"),
                ("X-Forwarded-Port", "443"),
            ],
            ..BASE
        },
        Case {
            case: "empty host sets no x-forwarded-host",
            host: "",
            want: &[("X-Forwarded-Port", "80")],
            absent: &["X-Forwarded-Host"],
            ..BASE
        },
        Case {
            case: "empty server name keeps a trusted value",
            insecure: true,
            server_name: "",
            incoming: &[("X-Forwarded-Server", "edge")],
            want: &[("X-Forwarded-Server", "edge")],
            ..BASE
        },
        Case {
            case: "empty server name sets nothing",
            server_name: "",
            absent: &["X-Forwarded-Server"],
            ..BASE
        },
    ];
    for case in cases {
        let cfg = ForwardedConfig {
            trusted_ips: case
                .trusted
                .iter()
                .map(|t| parse_trusted_ip(t).unwrap_or_else(|e| panic!("{}: {e}", case.case)))
                .collect(),
            insecure: case.insecure,
        };
        let peer: IpAddr = case
            .peer
            .parse()
            .unwrap_or_else(|e| panic!("{}: {e}", case.case));
        let req = RequestInfo {
            peer,
            tls: case.tls,
            websocket: case.websocket,
            host: case.host,
            local_port: 8000,
            server_name: case.server_name,
        };
        let mut headers: HeaderList = case.incoming.iter().copied().collect();
        rewrite_forwarded_with(&mut headers, &cfg, &case.options, &req);
        for (name, value) in case.want {
            assert_eq!(headers.get_all(name), [*value], "{}: {name}", case.case);
        }
        for name in case.absent {
            assert!(
                !headers.contains(name),
                "{}: {name} should be gone: {headers:?}",
                case.case
            );
        }
    }
}

#[test]
fn parse_trusted_ip_table() {
    let cases = [
        ("ipv4", "192.168.1.7", Ok("192.168.1.7/32")),
        ("ipv4 cidr", "127.0.0.1/32", Ok("127.0.0.1/32")),
        ("host bits cleared", "1.2.3.4/24", Ok("1.2.3.0/24")),
        ("ipv6", "::1", Ok("::1/128")),
        ("ipv6 cidr", "2001:db8::1/32", Ok("2001:db8::/32")),
        ("surrounding space", " 10.0.0.0/8 ", Ok("10.0.0.0/8")),
        (
            "garbage",
            "foo",
            Err(NormalizeError::InvalidTrustedIp("foo".into())),
        ),
        (
            "prefix too long",
            "10.0.0.0/33",
            Err(NormalizeError::InvalidTrustedIp("10.0.0.0/33".into())),
        ),
        (
            "empty",
            "",
            Err(NormalizeError::InvalidTrustedIp(String::new())),
        ),
    ];
    for (case, input, want) in cases {
        let got = parse_trusted_ip(input).map(|net| net.to_string());
        assert_eq!(got, want.map(str::to_owned), "{case}");
    }
}

#[test]
fn is_managed_header_table() {
    let cases = [
        ("canonical", "X-Forwarded-For", true),
        ("lower", "x-real-ip", true),
        ("underscores", "X_FORWARDED_TLS_CLIENT_CERT_INFO", true),
        ("x-scheme", "x-scheme", true),
        ("prefix only", "X-Forwarded", false),
        ("longer", "X-Forwarded-For2", false),
        ("unmanaged x header", "X-Request-Id", false),
        ("forwarded", "Forwarded", false),
        ("empty", "", false),
    ];
    for (case, name, want) in cases {
        assert_eq!(is_managed_header(name), want, "{case}");
    }
}

#[test]
fn is_websocket_upgrade_table() {
    type Lines = &'static [(&'static str, &'static str)];
    let cases: [(&str, Lines, bool); 7] = [
        (
            "plain",
            &[("Connection", "Upgrade"), ("Upgrade", "websocket")],
            true,
        ),
        (
            "case and lists",
            &[
                ("connection", "keep-alive, UPGRADE"),
                ("upgrade", "h2c, WebSocket"),
            ],
            true,
        ),
        (
            "second connection line",
            &[
                ("Connection", "keep-alive"),
                ("Connection", "upgrade"),
                ("Upgrade", "websocket"),
            ],
            true,
        ),
        (
            "no connection token",
            &[("Connection", "keep-alive"), ("Upgrade", "websocket")],
            false,
        ),
        (
            "other protocol",
            &[("Connection", "upgrade"), ("Upgrade", "h2c")],
            false,
        ),
        (
            "token must be whole",
            &[("Connection", "upgrades"), ("Upgrade", "websocket")],
            false,
        ),
        ("nothing", &[], false),
    ];
    for (case, incoming, want) in cases {
        let headers: HeaderList = incoming.iter().copied().collect();
        assert_eq!(is_websocket_upgrade(&headers), want, "{case}");
    }
}
