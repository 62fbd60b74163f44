//! TCP matchers and their evaluation against a connection.

use std::fmt;
use std::net::IpAddr;

use ipnet::IpNet;

use crate::constraint::{host_expr_constraint, regex_constraint};
use crate::expr::write_literal;
use crate::http::{
    client_ip_matches, constraint_of, domain_matches, parse_client_ip, pop_one, write_client_ip,
};
use crate::parser::{Matcher, Name, check_args};
use crate::{Expr, HostConstraint, Pattern, Protocol, RuleError};

/// A parsed TCP rule.
pub type TcpRule = Expr<TcpMatcher>;

/// The ALPN protocol reserved for ACME TLS-ALPN-01 challenges, which Traefik
/// refuses in `ALPN` matchers.
pub const ACME_TLS_ALPN_PROTOCOL: &str = "acme-tls/1";

/// What a TCP rule needs to know about a connection.
pub trait TcpConnection {
    /// The TLS server name, lower-cased and trimmed; `None` for plain TCP or
    /// a ClientHello without SNI.
    fn sni(&self) -> Option<&str>;
    /// The peer address.
    fn client_ip(&self) -> Option<IpAddr>;
    /// The ALPN protocols offered by the client.
    fn alpn(&self) -> &[String];
}

/// One TCP matcher with its validated, normalised argument.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum TcpMatcher {
    /// `HostSNI(`example.com`)`: lower-cased as written. `*` matches every
    /// connection (with or without SNI); `*.example.com` matches exactly one
    /// extra label; otherwise a present SNI must equal the value (a single
    /// trailing dot on the value is ignored).
    HostSni(String),
    /// `HostSNIRegexp(`...`)`: unanchored search in the SNI (`""` if none).
    HostSniRegexp(Pattern),
    /// `ClientIP(`10.0.0.0/8`)`: the peer address is inside the network.
    ClientIp(IpNet),
    /// `ALPN(`h2`)`: the client offered this protocol.
    Alpn(String),
}

impl Expr<TcpMatcher> {
    /// Whether the rule matches `conn`.
    pub fn matches<C: TcpConnection + ?Sized>(&self, conn: &C) -> bool {
        self.eval(&mut |m: &TcpMatcher| m.matches(conn))
    }

    /// A necessary condition on the SNI for this rule to match, from its
    /// `HostSNI` and `HostSNIRegexp` matchers. A missing SNI is the host `""`.
    pub fn sni_constraint(&self) -> HostConstraint {
        constraint_of(self, &|m| match m {
            TcpMatcher::HostSni(expr) => host_expr_constraint(expr),
            TcpMatcher::HostSniRegexp(p) => regex_constraint(p),
            _ => HostConstraint::Any,
        })
    }

    /// Values of all `HostSNI` matchers, in order, negated ones included
    /// (Traefik's `ParseHostSNI`).
    pub fn host_sni_values(&self) -> Vec<&str> {
        let mut hosts = Vec::new();
        self.for_each_matcher(&mut |m| {
            if let TcpMatcher::HostSni(h) = m {
                hosts.push(h.as_str());
            }
        });
        hosts
    }

    /// Whether the rule is exactly `HostSNI(`*`)`, the catch-all that gets
    /// the lowest default priority.
    pub fn is_catch_all(&self) -> bool {
        matches!(self, Expr::Matcher(TcpMatcher::HostSni(h)) if h == "*")
    }
}

impl TcpMatcher {
    /// Whether this single matcher matches `conn`.
    pub fn matches<C: TcpConnection + ?Sized>(&self, conn: &C) -> bool {
        match self {
            TcpMatcher::HostSni(expr) => {
                if expr == "*" {
                    return true;
                }
                match conn.sni() {
                    Some(sni) if !sni.is_empty() => {
                        let expr = expr.strip_suffix('.').unwrap_or(expr);
                        domain_matches(sni, expr)
                    }
                    _ => false,
                }
            }
            TcpMatcher::HostSniRegexp(p) => p.is_match(conn.sni().unwrap_or("")),
            TcpMatcher::ClientIp(net) => client_ip_matches(net, conn.client_ip()),
            TcpMatcher::Alpn(proto) => conn.alpn().iter().any(|p| p == proto),
        }
    }

    /// The canonical matcher name (`HostSNI`, `ALPN`, ...).
    pub fn name(&self) -> &'static str {
        match self {
            TcpMatcher::HostSni(_) => Name::HostSni,
            TcpMatcher::HostSniRegexp(_) => Name::HostSniRegexp,
            TcpMatcher::ClientIp(_) => Name::ClientIp,
            TcpMatcher::Alpn(_) => Name::Alpn,
        }
        .canonical()
    }
}

/// Traefik's `HostSNI` value check: `^(\*\.)?[[:word:].\-:]+$`.
fn valid_host_sni(value: &str) -> bool {
    let body = value.strip_prefix("*.").unwrap_or(value);
    !body.is_empty()
        && body
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'_' | b'.' | b'-' | b':'))
}

impl Matcher for TcpMatcher {
    const PROTOCOL: Protocol = Protocol::Tcp;

    fn build(name: Name, args: Vec<String>, column: usize) -> Result<Self, RuleError> {
        check_args(name, &args, &[1], column)?;
        let value = pop_one(args);
        Ok(match name {
            Name::HostSni => {
                if value != "*" && !valid_host_sni(&value) {
                    return Err(RuleError::InvalidValue {
                        matcher: name.canonical(),
                        value,
                        reason: "not a valid hostname or IP",
                        column,
                    });
                }
                TcpMatcher::HostSni(value.to_ascii_lowercase())
            }
            Name::HostSniRegexp => {
                if !value.is_ascii() {
                    return Err(RuleError::InvalidValue {
                        matcher: name.canonical(),
                        value,
                        reason: "non-ASCII characters are not allowed (use punycode)",
                        column,
                    });
                }
                TcpMatcher::HostSniRegexp(Pattern::new(&value).map_err(|message| {
                    RuleError::InvalidRegex {
                        matcher: name.canonical(),
                        column,
                        message,
                    }
                })?)
            }
            Name::ClientIp => TcpMatcher::ClientIp(parse_client_ip(&value, column)?),
            Name::Alpn => {
                if value == ACME_TLS_ALPN_PROTOCOL {
                    return Err(RuleError::InvalidValue {
                        matcher: name.canonical(),
                        value,
                        reason: "reserved for ACME TLS-ALPN challenges",
                        column,
                    });
                }
                TcpMatcher::Alpn(value)
            }
            _ => {
                // The parser filters matchers by protocol before building.
                return Err(RuleError::WrongProtocol {
                    name: name.canonical(),
                    matcher_protocol: Protocol::Http,
                    rule_protocol: Protocol::Tcp,
                    column,
                });
            }
        })
    }
}

impl fmt::Display for TcpMatcher {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}(", self.name())?;
        match self {
            TcpMatcher::HostSni(v) | TcpMatcher::Alpn(v) => write_literal(f, v)?,
            TcpMatcher::HostSniRegexp(p) => write_literal(f, p.as_str())?,
            TcpMatcher::ClientIp(net) => write_client_ip(f, net)?,
        }
        f.write_str(")")
    }
}
