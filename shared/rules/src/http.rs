//! HTTP matchers and their evaluation against a request.

use std::fmt;
use std::net::IpAddr;

use ipnet::IpNet;

use crate::constraint::{host_expr_constraint, regex_constraint};
use crate::expr::write_literal;
use crate::parser::{Matcher, Name, check_args};
use crate::{Expr, HostConstraint, Pattern, Protocol, RuleError};

/// A parsed HTTP rule.
pub type Rule = Expr<HttpMatcher>;

/// What an HTTP rule needs to know about a request.
///
/// Implementations prepare values the way Traefik does before matching, so
/// that matching itself allocates nothing.
pub trait HttpRequest {
    /// Canonical host: from the URL or `Host` header, port stripped, IPv6
    /// brackets removed, lower-cased, surrounding whitespace trimmed (see
    /// [`canonical_host`](crate::canonical_host)). Empty when unknown.
    fn host(&self) -> &str;
    /// The routing path (no query string), already normalised by the caller.
    fn path(&self) -> &str;
    /// The request method as sent (Traefik compares it case-sensitively
    /// against the upper-cased rule value).
    fn method(&self) -> &str;
    /// The peer address of the connection (not `X-Forwarded-For`).
    fn client_ip(&self) -> Option<IpAddr>;
    /// Whether any value of header `name` (case-insensitive) satisfies `pred`.
    /// Each header line is one value; values are not split on commas.
    fn any_header(&self, name: &str, pred: &mut dyn FnMut(&str) -> bool) -> bool;
    /// Whether query parameter `key` (exact, after URL-decoding) is present
    /// with a value satisfying `pred`. `?k` and `?k=` give the value `""`.
    fn any_query(&self, key: &str, pred: &mut dyn FnMut(&str) -> bool) -> bool;
}

/// One HTTP matcher with its validated, normalised arguments.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum HttpMatcher {
    /// `Host(`example.com`)`: lower-cased. `*` matches every request
    /// (even without a host); `*.example.com` matches exactly one extra label.
    Host(String),
    /// `HostRegexp(`...`)`: unanchored search in the canonical host.
    HostRegexp(Pattern),
    /// `Path(`/p`)`: exact path.
    Path(String),
    /// `PathPrefix(`/p`)`: plain string prefix of the path.
    PathPrefix(String),
    /// `PathRegexp(`...`)`: unanchored search in the path.
    PathRegexp(Pattern),
    /// `Method(`GET`)`: upper-cased, compared exactly.
    Method(String),
    /// `Header(`name`, `value`)`: some value of the header equals `value`.
    Header {
        /// Header name in Go's canonical form (`X-Forwarded-For`).
        name: String,
        /// Exact value.
        value: String,
    },
    /// `HeaderRegexp(`name`, `re`)`: some value of the header matches.
    HeaderRegexp {
        /// Header name in Go's canonical form.
        name: String,
        /// Unanchored regexp.
        pattern: Pattern,
    },
    /// `Query(`key`, `value`)`, or `Query(`key`)` with `value` empty: some
    /// value of the parameter equals `value`.
    Query {
        /// Parameter name (case-sensitive).
        key: String,
        /// Exact value; empty for the one-argument form.
        value: String,
    },
    /// `QueryRegexp(`key`, `re`)`: some value of the parameter matches.
    /// (The one-argument form is parsed as [`HttpMatcher::Query`], as Traefik
    /// does.)
    QueryRegexp {
        /// Parameter name (case-sensitive).
        key: String,
        /// Unanchored regexp.
        pattern: Pattern,
    },
    /// `ClientIP(`10.0.0.0/8`)`: the peer address is inside the network. A
    /// plain address is a full-length prefix; IPv4-mapped IPv6 is IPv4.
    ClientIp(IpNet),
}

impl Expr<HttpMatcher> {
    /// Whether the rule matches `req`.
    pub fn matches<R: HttpRequest + ?Sized>(&self, req: &R) -> bool {
        self.eval(&mut |m: &HttpMatcher| m.matches(req))
    }

    /// A necessary condition on the request host for this rule to match,
    /// from its `Host` and `HostRegexp` matchers (see [`HostConstraint`]).
    pub fn host_constraint(&self) -> HostConstraint {
        constraint_of(self, &|m| match m {
            HttpMatcher::Host(expr) => host_expr_constraint(expr),
            HttpMatcher::HostRegexp(p) => regex_constraint(p),
            _ => HostConstraint::Any,
        })
    }

    /// Values of all `Host` matchers, in order, negated ones included (what
    /// Traefik's `ParseDomains` returns, e.g. for certificate resolution).
    pub fn host_values(&self) -> Vec<&str> {
        let mut hosts = Vec::new();
        self.for_each_matcher(&mut |m| {
            if let HttpMatcher::Host(h) = m {
                hosts.push(h.as_str());
            }
        });
        hosts
    }
}

/// Combines leaf constraints through the tree; negations know nothing.
pub(crate) fn constraint_of<M>(
    expr: &Expr<M>,
    leaf: &impl Fn(&M) -> HostConstraint,
) -> HostConstraint {
    match expr {
        Expr::Matcher(m) => leaf(m),
        Expr::Not(_) => HostConstraint::Any,
        Expr::And(children) => children.iter().fold(HostConstraint::Any, |acc, c| {
            acc.and(constraint_of(c, leaf))
        }),
        Expr::Or(children) => {
            let mut acc = HostConstraint::Exact(Default::default());
            for c in children {
                acc = acc.or(constraint_of(c, leaf));
                if acc == HostConstraint::Any {
                    break;
                }
            }
            acc
        }
    }
}

impl HttpMatcher {
    /// Whether this single matcher matches `req`.
    pub fn matches<R: HttpRequest + ?Sized>(&self, req: &R) -> bool {
        match self {
            HttpMatcher::Host(expr) => host_matches(expr, req.host()),
            HttpMatcher::HostRegexp(p) => p.is_match(req.host()),
            HttpMatcher::Path(path) => req.path() == path,
            HttpMatcher::PathPrefix(prefix) => req.path().starts_with(prefix.as_str()),
            HttpMatcher::PathRegexp(p) => p.is_match(req.path()),
            HttpMatcher::Method(method) => req.method() == method,
            HttpMatcher::Header { name, value } => req.any_header(name, &mut |v| v == value),
            HttpMatcher::HeaderRegexp { name, pattern } => {
                req.any_header(name, &mut |v| pattern.is_match(v))
            }
            HttpMatcher::Query { key, value } => req.any_query(key, &mut |v| v == value),
            HttpMatcher::QueryRegexp { key, pattern } => {
                req.any_query(key, &mut |v| pattern.is_match(v))
            }
            HttpMatcher::ClientIp(net) => client_ip_matches(net, req.client_ip()),
        }
    }

    /// The canonical matcher name (`Host`, `ClientIP`, ...).
    pub fn name(&self) -> &'static str {
        match self {
            HttpMatcher::Host(_) => Name::Host,
            HttpMatcher::HostRegexp(_) => Name::HostRegexp,
            HttpMatcher::Path(_) => Name::Path,
            HttpMatcher::PathPrefix(_) => Name::PathPrefix,
            HttpMatcher::PathRegexp(_) => Name::PathRegexp,
            HttpMatcher::Method(_) => Name::Method,
            HttpMatcher::Header { .. } => Name::Header,
            HttpMatcher::HeaderRegexp { .. } => Name::HeaderRegexp,
            HttpMatcher::Query { .. } => Name::Query,
            HttpMatcher::QueryRegexp { .. } => Name::QueryRegexp,
            HttpMatcher::ClientIp(_) => Name::ClientIp,
        }
        .canonical()
    }
}

/// Traefik's `Host` comparison, including the trailing-dot equivalence in
/// both directions and the wildcard forms.
pub(crate) fn host_matches(expr: &str, host: &str) -> bool {
    if expr == "*" {
        return true;
    }
    if host.is_empty() {
        return false;
    }
    domain_matches(host, expr)
        || expr
            .strip_suffix('.')
            .is_some_and(|e| domain_matches(host, e))
        || host
            .strip_suffix('.')
            .is_some_and(|h| domain_matches(h, expr))
}

/// Traefik's `DomainMatchHostExpression`: for `*...` the domain's first
/// label is replaced by `*` before comparing; comparison ignores case.
pub(crate) fn domain_matches(domain: &str, expr: &str) -> bool {
    match expr.strip_prefix('*') {
        Some(rest) => {
            let first_dot = domain.find('.').unwrap_or(domain.len());
            domain[first_dot..].eq_ignore_ascii_case(rest)
        }
        None => domain.eq_ignore_ascii_case(expr),
    }
}

pub(crate) fn client_ip_matches(net: &IpNet, ip: Option<IpAddr>) -> bool {
    ip.is_some_and(|ip| net.contains(&ip.to_canonical()))
}

/// Parses a `ClientIP` argument like Traefik's IP checker: an address or a
/// CIDR (host bits are dropped); IPv4-mapped IPv6 is treated as IPv4.
pub(crate) fn parse_client_ip(value: &str, column: usize) -> Result<IpNet, RuleError> {
    if let Ok(ip) = value.parse::<IpAddr>() {
        return Ok(IpNet::from(ip.to_canonical()));
    }
    let net: IpNet = value.parse().map_err(|_| RuleError::InvalidIp {
        value: value.to_owned(),
        column,
    })?;
    if let IpNet::V6(v6) = net
        && v6.prefix_len() >= 96
        && let Some(v4) = v6.network().to_ipv4_mapped()
        && let Ok(mapped) = ipnet::Ipv4Net::new(v4, v6.prefix_len() - 96)
    {
        return Ok(IpNet::V4(mapped.trunc()));
    }
    Ok(net.trunc())
}

pub(crate) fn write_client_ip(f: &mut fmt::Formatter<'_>, net: &IpNet) -> fmt::Result {
    if net.prefix_len() == net.max_prefix_len() {
        write_literal(f, &net.addr().to_string())
    } else {
        write_literal(f, &net.to_string())
    }
}

/// Go's `http.CanonicalHeaderKey`: `x-forwarded-for` -> `X-Forwarded-For`;
/// names with bytes outside the token set are left unchanged.
pub fn canonical_header_name(name: &str) -> String {
    let is_token = |b: u8| b.is_ascii_alphanumeric() || b"!#$%&'*+-.^_`|~".contains(&b);
    if !name.bytes().all(is_token) {
        return name.to_owned();
    }
    let mut upper = true;
    name.chars()
        .map(|c| {
            let out = if upper {
                c.to_ascii_uppercase()
            } else {
                c.to_ascii_lowercase()
            };
            upper = c == '-';
            out
        })
        .collect()
}

/// Go's `strings.ToUpper`: per-character, keeping characters whose upper
/// case is not a single character.
fn go_to_upper(s: &str) -> String {
    s.chars()
        .map(|c| {
            let mut up = c.to_uppercase();
            match (up.next(), up.next()) {
                (Some(u), None) => u,
                _ => c,
            }
        })
        .collect()
}

fn compile(name: Name, source: &str, column: usize) -> Result<Pattern, RuleError> {
    Pattern::new(source).map_err(|message| RuleError::InvalidRegex {
        matcher: name.canonical(),
        column,
        message,
    })
}

fn require_ascii(name: Name, value: &str, column: usize) -> Result<(), RuleError> {
    if value.is_ascii() {
        Ok(())
    } else {
        Err(RuleError::InvalidValue {
            matcher: name.canonical(),
            value: value.to_owned(),
            reason: "non-ASCII characters are not allowed (use punycode)",
            column,
        })
    }
}

fn require_slash(name: Name, value: &str, column: usize) -> Result<(), RuleError> {
    if value.starts_with('/') {
        Ok(())
    } else {
        Err(RuleError::InvalidValue {
            matcher: name.canonical(),
            value: value.to_owned(),
            reason: "path must start with '/'",
            column,
        })
    }
}

pub(crate) fn pop_two(mut args: Vec<String>) -> (String, String) {
    let second = args.pop().unwrap_or_default();
    let first = args.pop().unwrap_or_default();
    (first, second)
}

pub(crate) fn pop_one(mut args: Vec<String>) -> String {
    args.pop().unwrap_or_default()
}

impl Matcher for HttpMatcher {
    const PROTOCOL: Protocol = Protocol::Http;

    fn build(name: Name, args: Vec<String>, column: usize) -> Result<Self, RuleError> {
        let allowed: &[usize] = match name {
            Name::Header | Name::HeaderRegexp => &[2],
            Name::Query | Name::QueryRegexp => &[1, 2],
            _ => &[1],
        };
        check_args(name, &args, allowed, column)?;
        Ok(match name {
            Name::Host => {
                let host = pop_one(args);
                if host != "*" {
                    require_ascii(name, &host, column)?;
                }
                HttpMatcher::Host(host.to_ascii_lowercase())
            }
            Name::HostRegexp => {
                let source = pop_one(args);
                require_ascii(name, &source, column)?;
                HttpMatcher::HostRegexp(compile(name, &source, column)?)
            }
            Name::Path => {
                let path = pop_one(args);
                require_slash(name, &path, column)?;
                HttpMatcher::Path(path)
            }
            Name::PathPrefix => {
                let path = pop_one(args);
                require_slash(name, &path, column)?;
                HttpMatcher::PathPrefix(path)
            }
            Name::PathRegexp => HttpMatcher::PathRegexp(compile(name, &pop_one(args), column)?),
            Name::Method => HttpMatcher::Method(go_to_upper(&pop_one(args))),
            Name::Header => {
                let (header, value) = pop_two(args);
                HttpMatcher::Header {
                    name: canonical_header_name(&header),
                    value,
                }
            }
            Name::HeaderRegexp => {
                let (header, source) = pop_two(args);
                HttpMatcher::HeaderRegexp {
                    name: canonical_header_name(&header),
                    pattern: compile(name, &source, column)?,
                }
            }
            Name::Query | Name::QueryRegexp if args.len() == 1 => HttpMatcher::Query {
                key: pop_one(args),
                value: String::new(),
            },
            Name::Query => {
                let (key, value) = pop_two(args);
                HttpMatcher::Query { key, value }
            }
            Name::QueryRegexp => {
                let (key, source) = pop_two(args);
                HttpMatcher::QueryRegexp {
                    key,
                    pattern: compile(name, &source, column)?,
                }
            }
            Name::ClientIp => HttpMatcher::ClientIp(parse_client_ip(&pop_one(args), column)?),
            Name::HostSni | Name::HostSniRegexp | Name::Alpn => {
                // The parser filters matchers by protocol before building.
                return Err(RuleError::WrongProtocol {
                    name: name.canonical(),
                    matcher_protocol: Protocol::Tcp,
                    rule_protocol: Protocol::Http,
                    column,
                });
            }
        })
    }
}

impl fmt::Display for HttpMatcher {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}(", self.name())?;
        match self {
            HttpMatcher::Host(v)
            | HttpMatcher::Path(v)
            | HttpMatcher::PathPrefix(v)
            | HttpMatcher::Method(v) => write_literal(f, v)?,
            HttpMatcher::HostRegexp(p) | HttpMatcher::PathRegexp(p) => {
                write_literal(f, p.as_str())?
            }
            HttpMatcher::Header { name, value } => {
                write_literal(f, name)?;
                f.write_str(", ")?;
                write_literal(f, value)?;
            }
            HttpMatcher::HeaderRegexp { name, pattern } => {
                write_literal(f, name)?;
                f.write_str(", ")?;
                write_literal(f, pattern.as_str())?;
            }
            HttpMatcher::Query { key, value } => {
                write_literal(f, key)?;
                if !value.is_empty() {
                    f.write_str(", ")?;
                    write_literal(f, value)?;
                }
            }
            HttpMatcher::QueryRegexp { key, pattern } => {
                write_literal(f, key)?;
                f.write_str(", ")?;
                write_literal(f, pattern.as_str())?;
            }
            HttpMatcher::ClientIp(net) => write_client_ip(f, net)?,
        }
        f.write_str(")")
    }
}
