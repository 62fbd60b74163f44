//! Traefik v3 rule syntax: parser, AST and matchers.
//!
//! ```
//! use switchyard_rules::{parse_http, SimpleRequest};
//!
//! let rule = parse_http("Host(`example.com`) && PathPrefix(`/api`)").unwrap();
//! assert!(rule.matches(&SimpleRequest::new("GET", "Example.com:443", "/api/v1")));
//! assert_eq!(rule.to_string(), "Host(`example.com`) && PathPrefix(`/api`)");
//! ```
//!
//! See `README.md` in the crate for the grammar, the matcher semantics and
//! how Go regexps are mapped onto the `regex` crate.

mod constraint;
mod error;
mod expr;
mod http;
mod lexer;
mod parser;
mod path_constraint;
mod pattern;
mod simple;
mod tcp;

use std::fmt;
use std::str::FromStr;

pub use constraint::{HostConstraint, domain_suffixes, host_key};
pub use error::RuleError;
pub use expr::Expr;
pub use http::{HttpMatcher, HttpRequest, Rule, canonical_header_name};
pub use parser::MAX_NESTING;
pub use path_constraint::PathConstraint;
pub use pattern::Pattern;
pub use simple::{SimpleConnection, SimpleRequest, canonical_host, parse_query};
pub use tcp::{ACME_TLS_ALPN_PROTOCOL, TcpConnection, TcpMatcher, TcpRule};

/// Which kind of router a rule belongs to.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Protocol {
    /// HTTP routers (`http.routers`).
    Http,
    /// TCP routers (`tcp.routers`).
    Tcp,
}

impl fmt::Display for Protocol {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Protocol::Http => "HTTP",
            Protocol::Tcp => "TCP",
        })
    }
}

/// Parses an HTTP router rule.
pub fn parse_http(rule: &str) -> Result<Rule, RuleError> {
    parser::parse(rule)
}

/// Parses a TCP router rule.
pub fn parse_tcp(rule: &str) -> Result<TcpRule, RuleError> {
    parser::parse(rule)
}

impl FromStr for Expr<HttpMatcher> {
    type Err = RuleError;

    fn from_str(rule: &str) -> Result<Self, Self::Err> {
        parse_http(rule)
    }
}

impl FromStr for Expr<TcpMatcher> {
    type Err = RuleError;

    fn from_str(rule: &str) -> Result<Self, Self::Err> {
        parse_tcp(rule)
    }
}

/// Traefik v3's default router priority: the rule's length in bytes, as
/// written (not the canonical form).
pub fn default_priority(rule: &str) -> i64 {
    i64::try_from(rule.len()).unwrap_or(i64::MAX)
}

/// Traefik v3's default TCP router priority: like [`default_priority`],
/// except that a rule that is exactly ``HostSNI(`*`)`` gets -1 so the
/// catch-all is tried last.
pub fn default_tcp_priority(rule: &str) -> i64 {
    match parse_tcp(rule) {
        Ok(parsed) if parsed.is_catch_all() => -1,
        _ => default_priority(rule),
    }
}
