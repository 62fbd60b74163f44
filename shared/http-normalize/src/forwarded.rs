//! `X-Forwarded-*` and `X-Real-Ip`, as Traefik v3 sets them.
//!
//! This is Traefik's entry-point `forwardedheaders.XForwarded` middleware followed by the
//! `X-Forwarded-For` append of its reverse proxy (Go's `httputil.ReverseProxy` behaviour):
//!
//! 1. Unless `insecure` is set or the peer is in `trustedIPs`, every header Traefik manages
//!    is deleted ([`MANAGED_HEADERS`]), **including** spellings with `_` instead of `-`
//!    (`X_Forwarded_For`), which some backends treat as the same header.
//! 2. Set only when absent or empty, so a trusted peer's values win:
//!    * `X-Real-Ip`: the peer address;
//!    * `X-Forwarded-Proto`: `http`/`https`, or `ws`/`wss` for a websocket handshake;
//!    * `X-Forwarded-Port`: the `Host` header's explicit port, else 443 when
//!      `X-Forwarded-Proto` (possibly a trusted one) is `https`/`wss` or the connection is
//!      TLS, else 80;
//!    * `X-Forwarded-Host`: the `Host` header as received (skipped when that is empty).
//! 3. `X-Forwarded-Server` is always overwritten with the proxy's host name (when one is
//!    given): Traefik does not keep a trusted peer's value, so neither do we.
//! 4. `X-Forwarded-For`: all values are folded into one, comma+space separated, and the
//!    peer address is appended (`prior, peer`). *Unlike Go*, empty values are dropped
//!    rather than producing `, 1.2.3.4`.
//! 5. Options Traefik has: `notAppendXForwardedFor` (fold but do not append; add nothing
//!    when absent) and `addXForwardedSchemeHeaders` (copy the final `X-Forwarded-Proto`
//!    into `X-Forwarded-Scheme` and `X-Scheme`), see [`ForwardedOptions`].
//!
//! Addresses are written without port or brackets; IPv4-mapped IPv6 peers
//! (`::ffff:192.0.2.1`) are written and matched as the IPv4 address, as Go's IP checks do.
//! The standard `Forwarded` header (RFC 7239) is neither removed nor set, as in Traefik.

use std::net::IpAddr;

use ipnet::IpNet;

use crate::{Headers, NormalizeError, host_port};

/// `X-Forwarded-For`.
pub const X_FORWARDED_FOR: &str = "X-Forwarded-For";
/// `X-Forwarded-Proto`.
pub const X_FORWARDED_PROTO: &str = "X-Forwarded-Proto";
/// `X-Forwarded-Host`.
pub const X_FORWARDED_HOST: &str = "X-Forwarded-Host";
/// `X-Forwarded-Port`.
pub const X_FORWARDED_PORT: &str = "X-Forwarded-Port";
/// `X-Forwarded-Server`.
pub const X_FORWARDED_SERVER: &str = "X-Forwarded-Server";
/// `X-Forwarded-Scheme` (compatibility header, see [`ForwardedOptions`]).
pub const X_FORWARDED_SCHEME: &str = "X-Forwarded-Scheme";
/// `X-Scheme` (compatibility header, see [`ForwardedOptions`]).
pub const X_SCHEME: &str = "X-Scheme";
/// `X-Real-Ip`.
pub const X_REAL_IP: &str = "X-Real-Ip";

/// Every header Traefik manages and strips from untrusted peers (its `XHeadersSet`).
pub const MANAGED_HEADERS: [&str; 13] = [
    X_FORWARDED_PROTO,
    X_FORWARDED_SCHEME,
    X_FORWARDED_FOR,
    X_FORWARDED_HOST,
    X_FORWARDED_PORT,
    X_FORWARDED_SERVER,
    "X-Forwarded-Uri",
    "X-Forwarded-Method",
    "X-Forwarded-Prefix",
    "X-Forwarded-Tls-Client-Cert",
    "X-Forwarded-Tls-Client-Cert-Info",
    X_SCHEME,
    X_REAL_IP,
];

/// Whether `name` is one of [`MANAGED_HEADERS`], ignoring ASCII case and treating `_`
/// as `-`.
pub fn is_managed_header(name: &str) -> bool {
    // Every managed name starts with 'x': a one-byte test skips almost all headers.
    name.as_bytes()
        .first()
        .is_some_and(|b| b.eq_ignore_ascii_case(&b'x'))
        && MANAGED_HEADERS
            .iter()
            .any(|managed| eq_ignoring_case_and_underscore(name, managed))
}

fn eq_ignoring_case_and_underscore(name: &str, canonical: &str) -> bool {
    let fold = |b: u8| {
        if b == b'_' {
            b'-'
        } else {
            b.to_ascii_lowercase()
        }
    };
    name.len() == canonical.len()
        && name
            .bytes()
            .zip(canonical.bytes())
            .all(|(a, b)| fold(a) == fold(b))
}

/// Removes every managed header and its underscore spellings (Traefik's
/// `DeleteXForwardedHeaders`).
pub fn strip_forwarded_headers(headers: &mut (impl Headers + ?Sized)) {
    let doomed: Vec<String> = headers
        .names()
        .into_iter()
        .filter(|name| is_managed_header(name))
        .map(|name| name.into_owned())
        .collect();
    for name in doomed {
        headers.remove(&name);
    }
}

/// Which peers may supply their own forwarded headers (Traefik's entry point
/// `forwardedHeaders.trustedIPs` and `forwardedHeaders.insecure`).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ForwardedConfig {
    /// Networks whose forwarded headers are kept; a single address is a /32 or /128.
    /// Use [`parse_trusted_ip`] to read Traefik's `"192.168.1.7"` / `"10.0.0.0/8"` syntax.
    pub trusted_ips: Vec<IpNet>,
    /// Trust every peer (Traefik recommends this for tests only).
    pub insecure: bool,
}

impl ForwardedConfig {
    /// Whether `peer` is in one of the trusted networks (ignores `insecure`).
    pub fn is_trusted(&self, peer: IpAddr) -> bool {
        let canonical = peer.to_canonical();
        self.trusted_ips
            .iter()
            .any(|net| net.contains(&canonical) || net.contains(&peer))
    }
}

/// Reads a trusted-IP setting: an address (`192.168.1.7`, `::1`) or a CIDR
/// (`10.0.0.0/8`; host bits are allowed and cleared, as Go's `ParseCIDR` does).
///
/// # Errors
/// [`NormalizeError::InvalidTrustedIp`] when the text is neither.
pub fn parse_trusted_ip(text: &str) -> Result<IpNet, NormalizeError> {
    let text = text.trim();
    if let Ok(net) = text.parse::<IpNet>() {
        return Ok(net.trunc());
    }
    text.parse::<IpAddr>()
        .map(IpNet::from)
        .map_err(|_| NormalizeError::InvalidTrustedIp(text.to_owned()))
}

/// Traefik's optional forwarded-header behaviours; all off by default.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct ForwardedOptions {
    /// `forwardedHeaders.notAppendXForwardedFor`: keep `X-Forwarded-For` as received
    /// (folded into one value) without appending the peer; add none when absent.
    pub not_append_x_forwarded_for: bool,
    /// `forwardedHeaders.addXForwardedSchemeHeaders`: also set `X-Forwarded-Scheme` and
    /// `X-Scheme` to the final `X-Forwarded-Proto`.
    pub add_x_forwarded_scheme_headers: bool,
}

/// What the proxy knows about the request and its connection.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RequestInfo<'a> {
    /// Address of the TCP peer.
    pub peer: IpAddr,
    /// Whether the request came over TLS.
    pub tls: bool,
    /// Whether it is a websocket handshake (see [`is_websocket_upgrade`]).
    pub websocket: bool,
    /// The `Host` header as received (or the absolute-form authority).
    pub host: &'a str,
    /// Port of the entry point that accepted the connection. Traefik does not use it for
    /// `X-Forwarded-Port` (it derives the port from `Host` and the scheme), so neither do
    /// we; it is here for callers that log or route on it.
    pub local_port: u16,
    /// The proxy's host name, for `X-Forwarded-Server`; empty to leave that header alone.
    pub server_name: &'a str,
}

/// Applies Traefik's forwarded-header rules with default [`ForwardedOptions`].
///
/// See the [module documentation](self) for the rules.
pub fn rewrite_forwarded(
    headers: &mut (impl Headers + ?Sized),
    cfg: &ForwardedConfig,
    req: &RequestInfo<'_>,
) {
    rewrite_forwarded_with(headers, cfg, &ForwardedOptions::default(), req);
}

/// Applies Traefik's forwarded-header rules with explicit options.
pub fn rewrite_forwarded_with(
    headers: &mut (impl Headers + ?Sized),
    cfg: &ForwardedConfig,
    options: &ForwardedOptions,
    req: &RequestInfo<'_>,
) {
    if !cfg.insecure && !cfg.is_trusted(req.peer) {
        strip_forwarded_headers(headers);
    }
    let peer = req.peer.to_canonical().to_string();

    if is_blank(headers, X_REAL_IP) {
        headers.set(X_REAL_IP, &peer);
    }

    if is_blank(headers, X_FORWARDED_PROTO) {
        let proto = match (req.websocket, req.tls) {
            (true, true) => "wss",
            (true, false) => "ws",
            (false, true) => "https",
            (false, false) => "http",
        };
        headers.set(X_FORWARDED_PROTO, proto);
    }

    if is_blank(headers, X_FORWARDED_PORT) {
        let secure_proto = headers
            .get(X_FORWARDED_PROTO)
            .is_some_and(|proto| proto == "https" || proto == "wss");
        let port = match host_port(req.host) {
            Some(port) => port,
            None if secure_proto || req.tls => "443",
            None => "80",
        };
        headers.set(X_FORWARDED_PORT, port);
    }

    if options.add_x_forwarded_scheme_headers {
        let scheme = headers
            .get(X_FORWARDED_PROTO)
            .map(|proto| proto.into_owned())
            .unwrap_or_default();
        headers.set(X_FORWARDED_SCHEME, &scheme);
        headers.set(X_SCHEME, &scheme);
    }

    if is_blank(headers, X_FORWARDED_HOST) && !req.host.is_empty() {
        headers.set(X_FORWARDED_HOST, req.host);
    }

    rewrite_x_forwarded_for(headers, &peer, options.not_append_x_forwarded_for);

    if !req.server_name.is_empty() {
        headers.set(X_FORWARDED_SERVER, req.server_name);
    }
}

fn rewrite_x_forwarded_for(headers: &mut (impl Headers + ?Sized), peer: &str, not_append: bool) {
    let (value, received) = {
        let prior = headers.get_all(X_FORWARDED_FOR);
        let mut value =
            String::with_capacity(prior.iter().map(|v| v.len() + 2).sum::<usize>() + peer.len());
        for part in prior.iter().filter(|v| !v.trim().is_empty()) {
            if !value.is_empty() {
                value.push_str(", ");
            }
            value.push_str(part);
        }
        (value, prior.len())
    };
    if not_append {
        // Only fold: a single value (or none) is left exactly as received.
        if received > 1 {
            headers.set(X_FORWARDED_FOR, &value);
        }
        return;
    }
    let mut value = value;
    if !value.is_empty() {
        value.push_str(", ");
    }
    value.push_str(peer);
    headers.set(X_FORWARDED_FOR, &value);
}

fn is_blank(headers: &(impl Headers + ?Sized), name: &str) -> bool {
    headers.get(name).is_none_or(|value| value.is_empty())
}

/// Whether `Connection` lists `upgrade` and `Upgrade` lists `websocket` (case-insensitive
/// tokens, any header line), Traefik's test for `ws`/`wss` in `X-Forwarded-Proto`.
pub fn is_websocket_upgrade(headers: &(impl Headers + ?Sized)) -> bool {
    has_token(headers, "Connection", "upgrade") && has_token(headers, "Upgrade", "websocket")
}

/// Whether any value of `name` holds the comma-separated `token` (ASCII case-insensitive).
pub(crate) fn has_token(headers: &(impl Headers + ?Sized), name: &str, token: &str) -> bool {
    headers.get_all(name).iter().any(|value| {
        value
            .split(',')
            .any(|part| part.trim_matches([' ', '\t']).eq_ignore_ascii_case(token))
    })
}

#[cfg(test)]
mod tests;
