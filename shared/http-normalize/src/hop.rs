//! Hop-by-hop header removal before a request is forwarded (RFC 9110 §7.6.1).
//!
//! Follows Go's `httputil.ReverseProxy` (which Traefik uses) and Traefik's
//! `forwardedheaders` Connection handling:
//! * every header named by a `Connection` token is removed — **except** the headers in
//!   [`MANAGED_HEADERS`](crate::MANAGED_HEADERS): Traefik ignores such tokens so that a
//!   client cannot make the proxy drop `X-Forwarded-For` with `Connection: X-Forwarded-For`;
//! * then the fixed list [`HOP_BY_HOP_HEADERS`] (Go's `hopHeaders`: `Connection`,
//!   `Proxy-Connection`, `Keep-Alive`, `Proxy-Authenticate`, `Proxy-Authorization`, `Te`,
//!   `Trailer`, `Transfer-Encoding`, `Upgrade`) is removed;
//! * Go then puts back `Te: trailers` when the client's `Te` listed `trailers`, and, for a
//!   protocol upgrade (`Connection` lists `upgrade`), `Connection: Upgrade` plus
//!   `Upgrade: <protocol, lower-cased>`. [`remove_hop_by_hop`] removes everything and only
//!   reports these facts in [`HopByHop`]; [`remove_hop_by_hop_with`] re-adds them on
//!   request ([`HopByHopOptions::keep_upgrade`], [`HopByHopOptions::keep_te_trailers`]),
//!   which is what the proxy wants for websocket upgrades.
//! * An `Upgrade` value that is not printable ASCII is not an upgrade (Go answers such a
//!   request with an error): [`HopByHop::upgrade`] is `None` and nothing is re-added.
//! * Traefik's `forwardedHeaders.connection` list is [`HopByHopOptions::connection_allow`]:
//!   headers named there survive although `Connection` names them, and stay listed in the
//!   rewritten `Connection` header so that a later strict pass still removes them.

use crate::Headers;
use crate::forwarded::{has_token, is_managed_header};

/// The fixed hop-by-hop headers removed from every forwarded request (Go's list).
pub const HOP_BY_HOP_HEADERS: [&str; 9] = [
    "Connection",
    "Proxy-Connection",
    "Keep-Alive",
    "Proxy-Authenticate",
    "Proxy-Authorization",
    "Te",
    "Trailer",
    "Transfer-Encoding",
    "Upgrade",
];

/// What may survive [`remove_hop_by_hop_with`]; the default keeps nothing.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct HopByHopOptions<'a> {
    /// For a protocol upgrade, put back `Connection: Upgrade` and `Upgrade: <protocol>`.
    pub keep_upgrade: bool,
    /// Put back `Te: trailers` when the client's `Te` listed `trailers`.
    pub keep_te_trailers: bool,
    /// Headers that a `Connection` token may not remove (Traefik's
    /// `forwardedHeaders.connection`), compared ASCII case-insensitively.
    pub connection_allow: &'a [String],
}

/// What the removed headers said, for a caller that re-adds them itself.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct HopByHop {
    /// The requested upgrade protocol, lower-cased (`websocket`), when `Connection` listed
    /// `upgrade` and `Upgrade` held a printable ASCII value.
    pub upgrade: Option<String>,
    /// Whether the client's `Te` header listed `trailers`.
    pub te_trailers: bool,
}

/// Removes every hop-by-hop header and reports the upgrade and `Te: trailers` it saw.
pub fn remove_hop_by_hop(headers: &mut (impl Headers + ?Sized)) -> HopByHop {
    remove_hop_by_hop_with(headers, &HopByHopOptions::default())
}

/// Removes hop-by-hop headers, keeping what `options` asks for.
///
/// See the [module documentation](self) for the rules.
pub fn remove_hop_by_hop_with(
    headers: &mut (impl Headers + ?Sized),
    options: &HopByHopOptions<'_>,
) -> HopByHop {
    let upgrade = if has_token(headers, "Connection", "upgrade") {
        headers
            .get("Upgrade")
            .filter(|value| !value.is_empty() && value.bytes().all(|b| (b' '..=b'~').contains(&b)))
            .map(|value| value.to_ascii_lowercase())
    } else {
        None
    };
    let te_trailers = has_token(headers, "Te", "trailers");

    let tokens: Vec<String> = headers
        .get_all("Connection")
        .iter()
        .flat_map(|value| value.split(','))
        .map(|token| token.trim_matches([' ', '\t']))
        .filter(|token| !token.is_empty())
        .map(str::to_owned)
        .collect();
    let mut kept: Vec<String> = Vec::new();
    for token in tokens {
        if is_managed_header(&token) {
            continue;
        }
        if options
            .connection_allow
            .iter()
            .any(|allowed| allowed.eq_ignore_ascii_case(&token))
        {
            if !kept.iter().any(|k| k.eq_ignore_ascii_case(&token)) {
                kept.push(token);
            }
            continue;
        }
        headers.remove(&token);
    }

    for name in HOP_BY_HOP_HEADERS {
        headers.remove(name);
    }

    if options.keep_te_trailers && te_trailers {
        headers.set("Te", "trailers");
    }
    if options.keep_upgrade
        && let Some(protocol) = &upgrade
    {
        headers.set("Upgrade", protocol);
        kept.push("Upgrade".to_owned());
    }
    if !kept.is_empty() {
        headers.set("Connection", &kept.join(", "));
    }

    HopByHop {
        upgrade,
        te_trailers,
    }
}

#[cfg(test)]
mod tests {
    use super::{HopByHop, HopByHopOptions, remove_hop_by_hop, remove_hop_by_hop_with};
    use crate::HeaderList;

    const ALL_HOP: &[(&str, &str)] = &[
        ("Connection", "keep-alive"),
        ("Proxy-Connection", "keep-alive"),
        ("Keep-Alive", "timeout=5"),
        ("Proxy-Authenticate", "Basic"),
        ("Proxy-Authorization", "Basic Zm9vOmJhcg=="),
        ("TE", "gzip"),
        ("Trailer", "Expires"),
        ("Transfer-Encoding", "chunked"),
        ("Upgrade", "h2c"),
        ("Accept", "*/*"),
    ];

    struct Case {
        case: &'static str,
        keep_upgrade: bool,
        keep_te_trailers: bool,
        allow: &'static [&'static str],
        incoming: &'static [(&'static str, &'static str)],
        want: &'static [(&'static str, &'static str)],
        report: (Option<&'static str>, bool),
    }

    const BASE: Case = Case {
        case: "",
        keep_upgrade: false,
        keep_te_trailers: false,
        allow: &[],
        incoming: &[],
        want: &[],
        report: (None, false),
    };

    const WEBSOCKET: &[(&str, &str)] = &[
        ("Host", "example.com"),
        ("Connection", "keep-alive, Upgrade"),
        ("Upgrade", "WebSocket"),
        ("Sec-WebSocket-Key", "dGhlIHNhbXBsZSBub25jZQ=="),
        ("TE", "trailers, deflate"),
    ];

    #[test]
    fn remove_hop_by_hop_table() {
        let cases = [
            Case {
                case: "fixed list removed",
                incoming: ALL_HOP,
                want: &[("Accept", "*/*")],
                ..BASE
            },
            Case {
                case: "connection tokens removed",
                incoming: &[
                    ("Connection", "X-Custom, keep-alive"),
                    ("Connection", " x-other ,,"),
                    ("X-Custom", "1"),
                    ("X-Other", "2"),
                    ("X-Kept", "3"),
                ],
                want: &[("X-Kept", "3")],
                ..BASE
            },
            Case {
                case: "connection cannot remove managed x headers",
                incoming: &[
                    (
                        "Connection",
                        "X-Forwarded-For, x-real-ip, X_Forwarded_Host, X-Custom",
                    ),
                    ("X-Forwarded-For", "10.0.0.1"),
                    ("X-Real-Ip", "10.0.0.1"),
                    ("X_Forwarded_Host", "h"),
                    ("X-Custom", "1"),
                ],
                want: &[
                    ("X-Forwarded-For", "10.0.0.1"),
                    ("X-Real-Ip", "10.0.0.1"),
                    ("X_Forwarded_Host", "h"),
                ],
                ..BASE
            },
            Case {
                case: "strict removal reports upgrade and trailers",
                incoming: WEBSOCKET,
                want: &[
                    ("Host", "example.com"),
                    ("Sec-WebSocket-Key", "dGhlIHNhbXBsZSBub25jZQ=="),
                ],
                report: (Some("websocket"), true),
                ..BASE
            },
            Case {
                case: "keep upgrade and trailers",
                keep_upgrade: true,
                keep_te_trailers: true,
                incoming: WEBSOCKET,
                want: &[
                    ("Host", "example.com"),
                    ("Sec-WebSocket-Key", "dGhlIHNhbXBsZSBub25jZQ=="),
                    ("Te", "trailers"),
                    ("Upgrade", "websocket"),
                    ("Connection", "Upgrade"),
                ],
                report: (Some("websocket"), true),
                ..BASE
            },
            Case {
                case: "upgrade header without connection token is no upgrade",
                keep_upgrade: true,
                incoming: &[("Connection", "keep-alive"), ("Upgrade", "websocket")],
                want: &[],
                ..BASE
            },
            Case {
                case: "non printable upgrade is no upgrade",
                keep_upgrade: true,
                incoming: &[("Connection", "upgrade"), ("Upgrade", "web\u{e9}socket")],
                want: &[],
                ..BASE
            },
            Case {
                case: "te without trailers not kept",
                keep_te_trailers: true,
                incoming: &[("Te", "gzip"), ("Accept", "*/*")],
                want: &[("Accept", "*/*")],
                ..BASE
            },
            Case {
                case: "allowed connection header survives and stays listed",
                allow: &["x-debug"],
                incoming: &[
                    ("Connection", "X-Debug, X-Drop"),
                    ("X-Debug", "on"),
                    ("X-Drop", "1"),
                ],
                want: &[("X-Debug", "on"), ("Connection", "X-Debug")],
                ..BASE
            },
            Case {
                case: "allowed header and upgrade share connection",
                allow: &["X-Debug"],
                keep_upgrade: true,
                incoming: &[
                    ("Connection", "upgrade, x-debug"),
                    ("Upgrade", "h2c"),
                    ("X-Debug", "on"),
                ],
                want: &[
                    ("X-Debug", "on"),
                    ("Upgrade", "h2c"),
                    ("Connection", "x-debug, Upgrade"),
                ],
                report: (Some("h2c"), false),
                ..BASE
            },
        ];
        for case in cases {
            let allow: Vec<String> = case.allow.iter().map(|s| (*s).to_owned()).collect();
            let options = HopByHopOptions {
                keep_upgrade: case.keep_upgrade,
                keep_te_trailers: case.keep_te_trailers,
                connection_allow: &allow,
            };
            let mut headers: HeaderList = case.incoming.iter().copied().collect();
            let report = remove_hop_by_hop_with(&mut headers, &options);
            let want: HeaderList = case.want.iter().copied().collect();
            assert_eq!(headers, want, "{}", case.case);
            let (upgrade, te_trailers) = case.report;
            assert_eq!(
                report,
                HopByHop {
                    upgrade: upgrade.map(str::to_owned),
                    te_trailers
                },
                "{}",
                case.case
            );
        }
    }

    #[test]
    fn strict_default_equals_default_options() {
        let mut strict: HeaderList = WEBSOCKET.iter().copied().collect();
        let mut with_defaults = strict.clone();
        let a = remove_hop_by_hop(&mut strict);
        let b = remove_hop_by_hop_with(&mut with_defaults, &HopByHopOptions::default());
        assert_eq!((strict, a), (with_defaults, b));
    }
}
