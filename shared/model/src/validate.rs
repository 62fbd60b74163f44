//! Per-resource validation results and the small checks shared by every resource.

use std::fmt;
use std::net::IpAddr;

use serde::{Deserialize, Serialize};

use crate::ResourceKind;

/// One problem with one field of a resource, found by a resource's own `validate()`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct FieldError {
    /// camelCase path of the field within the resource, e.g. `loadBalancer.servers[0].url`;
    /// empty when the problem is with the resource as a whole.
    pub field: String,
    /// What is wrong, for a human.
    pub message: String,
}

impl FieldError {
    /// A problem with `field` (camelCase path within the resource).
    pub fn new(field: impl Into<String>, message: impl Into<String>) -> Self {
        FieldError {
            field: field.into(),
            message: message.into(),
        }
    }

    /// This error with its field path placed under `prefix` (e.g. `loadBalancer`,
    /// `servers[0]`).
    pub fn under(mut self, prefix: &str) -> Self {
        self.field = join_path(prefix, &self.field);
        self
    }
}

impl fmt::Display for FieldError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.field.is_empty() {
            f.write_str(&self.message)
        } else {
            write!(f, "{}: {}", self.field, self.message)
        }
    }
}

/// One problem with one resource of a [`crate::DynamicConfig`].
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Problem {
    /// Which kind of resource.
    pub kind: ResourceKind,
    /// The resource's name as written by its provider (without `@provider`); for
    /// `tls.certificates` the decimal index of the entry.
    pub name: String,
    /// camelCase path of the faulty field within the resource, when there is one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub field: Option<String>,
    /// What is wrong, for a human.
    pub message: String,
}

impl Problem {
    /// A problem with resource `name` of `kind`, from a [`FieldError`] of its `validate()`.
    pub fn from_field_error(kind: ResourceKind, name: impl Into<String>, err: FieldError) -> Self {
        Problem {
            kind,
            name: name.into(),
            field: (!err.field.is_empty()).then_some(err.field),
            message: err.message,
        }
    }

    /// Formats the problem naming the resource as Traefik does, qualified by `provider`:
    /// `http.routers.api@file: service "nope" does not exist`,
    /// `http.routers.api@file.rule: expected ')' at column 17`,
    /// `tls.certificates[0]@file.certFile: ...`.
    pub fn display_with_provider(&self, provider: &str) -> String {
        let mut out = self.resource_path();
        if !provider.is_empty() {
            out.push('@');
            out.push_str(provider);
        }
        self.push_field_and_message(&mut out);
        out
    }

    /// `http.routers.api`, or `tls.certificates[0]` for certificates (which have no name).
    fn resource_path(&self) -> String {
        if self.kind == ResourceKind::TlsCertificate {
            format!("{}[{}]", self.kind.path(), self.name)
        } else {
            format!("{}.{}", self.kind.path(), self.name)
        }
    }

    fn push_field_and_message(&self, out: &mut String) {
        if let Some(field) = self.field.as_deref().filter(|f| !f.is_empty()) {
            if !field.starts_with('[') {
                out.push('.');
            }
            out.push_str(field);
        }
        out.push_str(": ");
        out.push_str(&self.message);
    }
}

impl fmt::Display for Problem {
    /// Same as [`Problem::display_with_provider`] without a provider.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut out = self.resource_path();
        self.push_field_and_message(&mut out);
        f.write_str(&out)
    }
}

/// `prefix.field`, `prefix[0]` or `prefix` alone, depending on `field`.
pub(crate) fn join_path(prefix: &str, field: &str) -> String {
    match (prefix.is_empty(), field.is_empty()) {
        (true, _) => field.to_owned(),
        (false, true) => prefix.to_owned(),
        (false, false) if field.starts_with('[') => format!("{prefix}{field}"),
        (false, false) => format!("{prefix}.{field}"),
    }
}

/// Collects [`FieldError`]s while walking a resource.
#[derive(Debug, Default)]
pub(crate) struct Errors(pub(crate) Vec<FieldError>);

impl Errors {
    pub(crate) fn push(&mut self, field: impl Into<String>, message: impl Into<String>) {
        self.0.push(FieldError::new(field, message));
    }

    /// Adds `errs` with their paths placed under `prefix`.
    pub(crate) fn nest(&mut self, prefix: &str, errs: Vec<FieldError>) {
        self.0.extend(errs.into_iter().map(|e| e.under(prefix)));
    }

    pub(crate) fn into_vec(self) -> Vec<FieldError> {
        self.0
    }

    /// Requires a non-empty (after trimming) string.
    pub(crate) fn require(&mut self, field: &str, value: &str) {
        if value.trim().is_empty() {
            self.push(field, "must not be empty");
        }
    }

    /// Every entry must compile as a regular expression.
    pub(crate) fn regex(&mut self, field: &str, pattern: &str) {
        if let Err(err) = regex::Regex::new(pattern) {
            self.push(
                field,
                format!(
                    "invalid regular expression {pattern:?}: {}",
                    regex_error(&err)
                ),
            );
        }
    }

    /// Every entry must be an IP address or a CIDR range.
    pub(crate) fn ip_ranges(&mut self, field: &str, ranges: &[String]) {
        for (i, range) in ranges.iter().enumerate() {
            if !is_ip_or_cidr(range) {
                self.push(
                    format!("{field}[{i}]"),
                    format!("{range:?} is neither an IP address nor a CIDR range"),
                );
            }
        }
    }

    /// Every entry must be an HTTP status code or a range `low-high` (Traefik's
    /// `types.NewHTTPCodeRanges`, which also accepts a comma-free list item only).
    pub(crate) fn status_ranges(&mut self, field: &str, ranges: &[String]) {
        for (i, range) in ranges.iter().enumerate() {
            if let Err(msg) = parse_status_range(range) {
                self.push(format!("{field}[{i}]"), msg);
            }
        }
    }
}

/// The first line of a regex error: the full text is a multi-line diagram.
fn regex_error(err: &regex::Error) -> String {
    match err {
        regex::Error::Syntax(text) => text
            .lines()
            .rev()
            .find(|l| l.starts_with("error:"))
            .map_or_else(
                || text.clone(),
                |l| l.trim_start_matches("error:").trim().to_owned(),
            ),
        other => other.to_string(),
    }
}

/// True for `10.0.0.1`, `10.0.0.0/8`, `::1`, `fe80::/10`.
pub(crate) fn is_ip_or_cidr(s: &str) -> bool {
    let s = s.trim();
    s.parse::<IpAddr>().is_ok() || s.parse::<ipnet::IpNet>().is_ok()
}

/// Parses `"500"` or `"500-599"` into an inclusive range of status codes.
pub(crate) fn parse_status_range(range: &str) -> Result<(u16, u16), String> {
    let parse = |s: &str| {
        s.trim()
            .parse::<u16>()
            .ok()
            .filter(|c| (100..=599).contains(c))
            .ok_or_else(|| {
                format!("{range:?} is not an HTTP status code or a range like \"500-599\"")
            })
    };
    let (low, high) = match range.split_once('-') {
        Some((low, high)) => (parse(low)?, parse(high)?),
        None => {
            let code = parse(range)?;
            (code, code)
        }
    };
    if low > high {
        return Err(format!("{range:?}: the range starts after it ends"));
    }
    Ok((low, high))
}

/// True for the status codes Go's `http.StatusText` knows (what Traefik accepts as a
/// custom rejection status).
pub(crate) fn is_known_status(code: u16) -> bool {
    matches!(code,
        100..=103 | 200..=208 | 226 | 300..=305 | 307 | 308 | 400..=418 | 421..=426 | 428 | 429
        | 431 | 451 | 500..=508 | 510 | 511)
}

/// Checks an absolute URL with one of `schemes` and a host; returns why not.
pub(crate) fn check_absolute_url(url: &str, schemes: &[&str]) -> Result<(), String> {
    let Some((scheme, rest)) = url.split_once("://") else {
        return Err(format!(
            "{url:?} is not an absolute URL (expected e.g. \"http://10.0.0.1:8080\")"
        ));
    };
    if !schemes.iter().any(|s| s.eq_ignore_ascii_case(scheme)) {
        return Err(format!(
            "{url:?} has scheme {scheme:?}; expected one of {}",
            schemes.join(", ")
        ));
    }
    if url.chars().any(|c| c.is_whitespace() || c.is_control()) {
        return Err(format!("{url:?} contains whitespace or control characters"));
    }
    let authority = rest.split(['/', '?', '#']).next().unwrap_or_default();
    let host_port = authority.rsplit_once('@').map_or(authority, |(_, hp)| hp);
    let (host, port) = if let Some(bracketed) = host_port.strip_prefix('[') {
        let Some((ip, after)) = bracketed.split_once(']') else {
            return Err(format!("{url:?} has an unterminated IPv6 address"));
        };
        if ip.parse::<std::net::Ipv6Addr>().is_err() {
            return Err(format!("{url:?} has an invalid IPv6 address {ip:?}"));
        }
        match after {
            "" => (ip, None),
            p if p.starts_with(':') => (ip, Some(&p[1..])),
            _ => return Err(format!("{url:?} has garbage after the IPv6 address")),
        }
    } else {
        match host_port.rsplit_once(':') {
            Some((h, p)) => (h, Some(p)),
            None => (host_port, None),
        }
    };
    if host.is_empty() {
        return Err(format!("{url:?} has no host"));
    }
    if host.chars().any(|c| {
        matches!(
            c,
            '<' | '>' | '"' | '{' | '}' | '|' | '\\' | '^' | '`' | '[' | ']'
        )
    }) {
        return Err(format!("{url:?} has an invalid host {host:?}"));
    }
    if let Some(port) = port
        && !port.is_empty()
        && port.parse::<u16>().is_err()
    {
        return Err(format!("{url:?} has an invalid port {port:?}"));
    }
    Ok(())
}

/// Serde helpers shared by the resource types.
pub(crate) mod serde_fns {
    pub(crate) fn is_false(v: &bool) -> bool {
        !*v
    }
    pub(crate) fn is_true(v: &bool) -> bool {
        *v
    }
    pub(crate) fn default_true() -> bool {
        true
    }
    pub(crate) fn is_zero_i64(v: &i64) -> bool {
        *v == 0
    }
    pub(crate) fn is_zero_u16(v: &u16) -> bool {
        *v == 0
    }
    pub(crate) fn is_zero_u32(v: &u32) -> bool {
        *v == 0
    }
    pub(crate) fn is_default<T: Default + PartialEq>(v: &T) -> bool {
        *v == T::default()
    }
}
