//! `http`: routers, services, middlewares and servers transports.

pub mod middleware;
pub mod servers_transport;
pub mod service;

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

pub use middleware::*;
pub use servers_transport::*;
pub use service::*;

use crate::tls::Domain;
use crate::validate::serde_fns::is_zero_i64;
use crate::validate::{Errors, FieldError};

/// Largest priority a user-defined router may have (Traefik reserves the values above
/// for its internal routers).
pub const MAX_USER_PRIORITY: i64 = i64::MAX - 1000;

/// The `http` section of the dynamic configuration.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(default, rename_all = "camelCase")]
pub struct HttpConfig {
    /// Routers by name.
    #[serde(skip_serializing_if = "BTreeMap::is_empty")]
    pub routers: BTreeMap<String, Router>,
    /// Services by name.
    #[serde(skip_serializing_if = "BTreeMap::is_empty")]
    pub services: BTreeMap<String, Service>,
    /// Middlewares by name.
    #[serde(skip_serializing_if = "BTreeMap::is_empty")]
    pub middlewares: BTreeMap<String, Middleware>,
    /// Servers transports by name.
    #[serde(skip_serializing_if = "BTreeMap::is_empty")]
    pub servers_transports: BTreeMap<String, ServersTransport>,
}

impl HttpConfig {
    /// True when no resource is defined.
    pub fn is_empty(&self) -> bool {
        self.routers.is_empty()
            && self.services.is_empty()
            && self.middlewares.is_empty()
            && self.servers_transports.is_empty()
    }
}

/// An HTTP router (`http.routers.<name>`).
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(default, rename_all = "camelCase")]
pub struct Router {
    /// Entry points the router listens on; empty means the default entry points.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub entry_points: Vec<String>,
    /// The matching rule, e.g. ``Host(`example.com`) && PathPrefix(`/api`)``.
    #[serde(skip_serializing_if = "String::is_empty")]
    pub rule: String,
    /// Deprecated: `v2` to parse `rule` with the Traefik v2 syntax; anything else is v3.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub rule_syntax: Option<String>,
    /// Priority among routers; 0 means "the length of the rule".
    #[serde(skip_serializing_if = "is_zero_i64")]
    pub priority: i64,
    /// Middlewares applied in order, by name (optionally `name@provider`).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub middlewares: Vec<String>,
    /// The service handling matched requests, by name (optionally `name@provider`).
    #[serde(skip_serializing_if = "String::is_empty")]
    pub service: String,
    /// When present (even empty), the router only handles TLS requests.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub tls: Option<RouterTlsConfig>,
    /// Per-router observability switches.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub observability: Option<RouterObservabilityConfig>,
}

impl Router {
    /// The priority Traefik uses: the configured one, or the rule's length in bytes
    /// when 0.
    pub fn effective_priority(&self) -> i64 {
        if self.priority == 0 {
            i64::try_from(self.rule.len()).unwrap_or(i64::MAX)
        } else {
            self.priority
        }
    }

    /// Self-contained checks (no rule parsing, no references to other resources).
    ///
    /// A service is required: Traefik only accepts a router without one as the parent
    /// of other routers (`parentRefs`), which is not modelled.
    pub fn validate(&self) -> Vec<FieldError> {
        let mut errs = Errors::default();
        validate_router_common(
            &mut errs,
            &self.entry_points,
            &self.rule,
            self.priority,
            &self.middlewares,
            &self.service,
        );
        if let Some(tls) = &self.tls {
            errs.nest("tls", validate_domains(&tls.domains));
        }
        if let Some(obs) = &self.observability {
            errs.nest("observability", obs.validate());
        }
        errs.into_vec()
    }
}

/// Checks shared by HTTP and TCP routers.
pub(crate) fn validate_router_common(
    errs: &mut Errors,
    entry_points: &[String],
    rule: &str,
    priority: i64,
    middlewares: &[String],
    service: &str,
) {
    if rule.trim().is_empty() {
        errs.push("rule", "the router has no rule");
    }
    if service.trim().is_empty() {
        errs.push("service", "the service is missing on the router");
    }
    if priority > MAX_USER_PRIORITY {
        errs.push(
            "priority",
            format!("the router priority {priority} exceeds the max user-defined priority {MAX_USER_PRIORITY}"),
        );
    }
    for (i, ep) in entry_points.iter().enumerate() {
        if ep.trim().is_empty() {
            errs.push(
                format!("entryPoints[{i}]"),
                "entry point name must not be empty",
            );
        }
    }
    for (i, mw) in middlewares.iter().enumerate() {
        if mw.trim().is_empty() {
            errs.push(
                format!("middlewares[{i}]"),
                "middleware name must not be empty",
            );
        }
    }
}

/// Each domain needs a main name or at least one SAN.
pub(crate) fn validate_domains(domains: &[Domain]) -> Vec<FieldError> {
    let mut errs = Errors::default();
    for (i, domain) in domains.iter().enumerate() {
        if domain.names().all(|n| n.trim().is_empty()) {
            errs.push(
                format!("domains[{i}].main"),
                "a domain needs a main name or SANs",
            );
        }
    }
    errs.into_vec()
}

/// TLS settings of an HTTP router.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(default, rename_all = "camelCase")]
pub struct RouterTlsConfig {
    /// Name of the TLS options (`tls.options`) to use; empty means `default`.
    #[serde(skip_serializing_if = "String::is_empty")]
    pub options: String,
    /// Certificate resolver that obtains certificates for this router.
    #[serde(skip_serializing_if = "String::is_empty")]
    pub cert_resolver: String,
    /// Domains to obtain certificates for (instead of those found in the rule).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub domains: Vec<Domain>,
}

/// Per-router observability switches; `None` inherits the entry point's setting.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(default, rename_all = "camelCase")]
pub struct RouterObservabilityConfig {
    /// Access logs for this router.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub access_logs: Option<bool>,
    /// Metrics for this router.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub metrics: Option<bool>,
    /// Tracing for this router.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub tracing: Option<bool>,
    /// Tracing detail: `minimal` (default) or `detailed` (spans for every middleware).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub trace_verbosity: Option<String>,
}

impl RouterObservabilityConfig {
    /// `traceVerbosity` must be `minimal` or `detailed` when set.
    pub fn validate(&self) -> Vec<FieldError> {
        let mut errs = Errors::default();
        if let Some(v) = &self.trace_verbosity
            && !v.is_empty()
            && v != "minimal"
            && v != "detailed"
        {
            errs.push(
                "traceVerbosity",
                format!("unknown trace verbosity {v:?}; expected minimal or detailed"),
            );
        }
        errs.into_vec()
    }
}
