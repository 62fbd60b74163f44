//! Traefik v3 dynamic configuration model: the plain serde types of routers,
//! services, middlewares, servers transports and TLS settings, their defaults, and
//! per-resource validation.
//!
//! The shapes follow Traefik v3.6's `pkg/config/dynamic` (serialized names are the
//! camelCase keys of Traefik's YAML/JSON). "Exactly one of" choices (service and
//! middleware types) are externally tagged enums, e.g.
//! `{"stripPrefix": {"prefixes": ["/a"]}}` is [`http::Middleware::StripPrefix`].
//!
//! Conventions:
//! - Go scalars whose zero value means "unset" stay plain (`String`, `bool`, `i64`)
//!   and are skipped on serialization when zero; Go pointers without a default are
//!   `Option<T>`; options Traefik defaults (`passHostHeader: true`, health check
//!   `interval: 30s`, ...) are plain values filled by `#[serde(default)]` and skipped
//!   on serialization when equal to the default, so bus payloads stay small.
//! - Validation here is self-contained: references between resources and rule syntax
//!   are checked elsewhere.
//! - Not modelled, so rejected by the strict configuration decoder: the `plugin`
//!   middleware (plugins are Go code Switchyard cannot run), `highestRandomWeight`
//!   services, `rateLimit.redis` (distributed rate limiting) and routers'
//!   `parentRefs` (multi-layer routing).

pub mod duration;
pub mod http;
pub mod tcp;
pub mod tls;
pub mod udp;
mod validate;

use std::fmt;

use serde::{Deserialize, Serialize};

pub use duration::{Duration, DurationError};
pub use http::HttpConfig;
pub use tcp::TcpConfig;
pub use tls::TlsConfig;
pub use udp::UdpConfig;
pub use validate::{FieldError, Problem};

/// The root of a dynamic configuration (one provider's, or the merged one).
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(default, rename_all = "camelCase")]
pub struct DynamicConfig {
    /// HTTP routers, services, middlewares and servers transports.
    #[serde(skip_serializing_if = "HttpConfig::is_empty")]
    pub http: HttpConfig,
    /// TCP routers, services, middlewares and servers transports.
    #[serde(skip_serializing_if = "TcpConfig::is_empty")]
    pub tcp: TcpConfig,
    /// UDP routers and services.
    #[serde(skip_serializing_if = "UdpConfig::is_empty")]
    pub udp: UdpConfig,
    /// TLS certificates, options and stores.
    #[serde(skip_serializing_if = "TlsConfig::is_empty")]
    pub tls: TlsConfig,
}

/// A kind of named resource of the dynamic configuration.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub enum ResourceKind {
    /// `http.routers`
    HttpRouter,
    /// `http.services`
    HttpService,
    /// `http.middlewares`
    HttpMiddleware,
    /// `http.serversTransports`
    HttpServersTransport,
    /// `tcp.routers`
    TcpRouter,
    /// `tcp.services`
    TcpService,
    /// `tcp.middlewares`
    TcpMiddleware,
    /// `tcp.serversTransports`
    TcpServersTransport,
    /// `udp.routers`
    UdpRouter,
    /// `udp.services`
    UdpService,
    /// `tls.certificates` (entries have no name: they are identified by index)
    TlsCertificate,
    /// `tls.options`
    TlsOption,
    /// `tls.stores`
    TlsStore,
}

impl ResourceKind {
    /// Every kind, in configuration order.
    pub const ALL: [ResourceKind; 13] = [
        ResourceKind::HttpRouter,
        ResourceKind::HttpService,
        ResourceKind::HttpMiddleware,
        ResourceKind::HttpServersTransport,
        ResourceKind::TcpRouter,
        ResourceKind::TcpService,
        ResourceKind::TcpMiddleware,
        ResourceKind::TcpServersTransport,
        ResourceKind::UdpRouter,
        ResourceKind::UdpService,
        ResourceKind::TlsCertificate,
        ResourceKind::TlsOption,
        ResourceKind::TlsStore,
    ];

    /// Where the kind lives in the configuration, e.g. `http.routers`.
    pub fn path(&self) -> &'static str {
        match self {
            ResourceKind::HttpRouter => "http.routers",
            ResourceKind::HttpService => "http.services",
            ResourceKind::HttpMiddleware => "http.middlewares",
            ResourceKind::HttpServersTransport => "http.serversTransports",
            ResourceKind::TcpRouter => "tcp.routers",
            ResourceKind::TcpService => "tcp.services",
            ResourceKind::TcpMiddleware => "tcp.middlewares",
            ResourceKind::TcpServersTransport => "tcp.serversTransports",
            ResourceKind::UdpRouter => "udp.routers",
            ResourceKind::UdpService => "udp.services",
            ResourceKind::TlsCertificate => "tls.certificates",
            ResourceKind::TlsOption => "tls.options",
            ResourceKind::TlsStore => "tls.stores",
        }
    }

    /// The kind whose [`path`](Self::path) is `path`.
    pub fn from_path(path: &str) -> Option<ResourceKind> {
        ResourceKind::ALL.into_iter().find(|k| k.path() == path)
    }
}

impl fmt::Display for ResourceKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.path())
    }
}

/// Calls `$body` with `$map` bound to the map of `$kind` in `$cfg` (not certificates).
macro_rules! with_map {
    ($cfg:expr, $kind:expr, |$map:ident| $body:expr, certs => $certs:expr) => {
        match $kind {
            ResourceKind::HttpRouter => {
                let $map = &$cfg.http.routers;
                $body
            }
            ResourceKind::HttpService => {
                let $map = &$cfg.http.services;
                $body
            }
            ResourceKind::HttpMiddleware => {
                let $map = &$cfg.http.middlewares;
                $body
            }
            ResourceKind::HttpServersTransport => {
                let $map = &$cfg.http.servers_transports;
                $body
            }
            ResourceKind::TcpRouter => {
                let $map = &$cfg.tcp.routers;
                $body
            }
            ResourceKind::TcpService => {
                let $map = &$cfg.tcp.services;
                $body
            }
            ResourceKind::TcpMiddleware => {
                let $map = &$cfg.tcp.middlewares;
                $body
            }
            ResourceKind::TcpServersTransport => {
                let $map = &$cfg.tcp.servers_transports;
                $body
            }
            ResourceKind::UdpRouter => {
                let $map = &$cfg.udp.routers;
                $body
            }
            ResourceKind::UdpService => {
                let $map = &$cfg.udp.services;
                $body
            }
            ResourceKind::TlsOption => {
                let $map = &$cfg.tls.options;
                $body
            }
            ResourceKind::TlsStore => {
                let $map = &$cfg.tls.stores;
                $body
            }
            ResourceKind::TlsCertificate => $certs,
        }
    };
}

/// Same as `with_map!` with mutable access.
macro_rules! with_map_mut {
    ($cfg:expr, $kind:expr, |$map:ident| $body:expr, certs => $certs:expr) => {
        match $kind {
            ResourceKind::HttpRouter => {
                let $map = &mut $cfg.http.routers;
                $body
            }
            ResourceKind::HttpService => {
                let $map = &mut $cfg.http.services;
                $body
            }
            ResourceKind::HttpMiddleware => {
                let $map = &mut $cfg.http.middlewares;
                $body
            }
            ResourceKind::HttpServersTransport => {
                let $map = &mut $cfg.http.servers_transports;
                $body
            }
            ResourceKind::TcpRouter => {
                let $map = &mut $cfg.tcp.routers;
                $body
            }
            ResourceKind::TcpService => {
                let $map = &mut $cfg.tcp.services;
                $body
            }
            ResourceKind::TcpMiddleware => {
                let $map = &mut $cfg.tcp.middlewares;
                $body
            }
            ResourceKind::TcpServersTransport => {
                let $map = &mut $cfg.tcp.servers_transports;
                $body
            }
            ResourceKind::UdpRouter => {
                let $map = &mut $cfg.udp.routers;
                $body
            }
            ResourceKind::UdpService => {
                let $map = &mut $cfg.udp.services;
                $body
            }
            ResourceKind::TlsOption => {
                let $map = &mut $cfg.tls.options;
                $body
            }
            ResourceKind::TlsStore => {
                let $map = &mut $cfg.tls.stores;
                $body
            }
            ResourceKind::TlsCertificate => $certs,
        }
    };
}

impl DynamicConfig {
    /// True when no resource of any kind is defined.
    pub fn is_empty(&self) -> bool {
        self.http.is_empty() && self.tcp.is_empty() && self.udp.is_empty() && self.tls.is_empty()
    }

    /// Names of the resources of `kind`, sorted; for `tls.certificates`, the indices
    /// (`"0"`, `"1"`, ...).
    pub fn resource_names(&self, kind: ResourceKind) -> Vec<String> {
        with_map!(self, kind, |map| map.keys().cloned().collect(),
            certs => (0..self.tls.certificates.len()).map(|i| i.to_string()).collect())
    }

    /// Number of resources of `kind`.
    pub fn count(&self, kind: ResourceKind) -> usize {
        with_map!(self, kind, |map| map.len(), certs => self.tls.certificates.len())
    }

    /// True when a resource `name` of `kind` exists (an index for certificates).
    pub fn contains(&self, kind: ResourceKind, name: &str) -> bool {
        with_map!(self, kind, |map| map.contains_key(name),
            certs => name.parse::<usize>().is_ok_and(|i| i < self.tls.certificates.len()))
    }

    /// Removes resource `name` of `kind`; returns whether it existed. For certificates
    /// `name` is an index and later entries shift down.
    pub fn remove(&mut self, kind: ResourceKind, name: &str) -> bool {
        with_map_mut!(self, kind, |map| map.remove(name).is_some(), certs => {
            match name.parse::<usize>() {
                Ok(i) if i < self.tls.certificates.len() => {
                    self.tls.certificates.remove(i);
                    true
                }
                _ => false,
            }
        })
    }

    /// Removes every resource of `kind`.
    pub fn clear(&mut self, kind: ResourceKind) {
        with_map_mut!(self, kind, |map| map.clear(), certs => self.tls.certificates.clear())
    }

    /// Runs every resource's self-contained `validate()` and names the resource in
    /// each problem. Problems come in [`ResourceKind::ALL`] order, then by name.
    pub fn validate(&self) -> Vec<Problem> {
        let mut problems = Vec::new();
        let mut add = |kind: ResourceKind, name: &str, errs: Vec<FieldError>| {
            problems.extend(
                errs.into_iter()
                    .map(|e| Problem::from_field_error(kind, name, e)),
            );
        };
        for (name, r) in &self.http.routers {
            add(ResourceKind::HttpRouter, name, r.validate());
        }
        for (name, s) in &self.http.services {
            add(ResourceKind::HttpService, name, s.validate());
        }
        for (name, m) in &self.http.middlewares {
            add(ResourceKind::HttpMiddleware, name, m.validate());
        }
        for (name, t) in &self.http.servers_transports {
            add(ResourceKind::HttpServersTransport, name, t.validate());
        }
        for (name, r) in &self.tcp.routers {
            add(ResourceKind::TcpRouter, name, r.validate());
        }
        for (name, s) in &self.tcp.services {
            add(ResourceKind::TcpService, name, s.validate());
        }
        for (name, m) in &self.tcp.middlewares {
            add(ResourceKind::TcpMiddleware, name, m.validate());
        }
        for (name, t) in &self.tcp.servers_transports {
            add(ResourceKind::TcpServersTransport, name, t.validate());
        }
        for (name, r) in &self.udp.routers {
            add(ResourceKind::UdpRouter, name, r.validate());
        }
        for (name, s) in &self.udp.services {
            add(ResourceKind::UdpService, name, s.validate());
        }
        for (i, c) in self.tls.certificates.iter().enumerate() {
            add(ResourceKind::TlsCertificate, &i.to_string(), c.validate());
        }
        for (name, o) in &self.tls.options {
            add(ResourceKind::TlsOption, name, o.validate());
        }
        for (name, s) in &self.tls.stores {
            add(ResourceKind::TlsStore, name, s.validate());
        }
        problems
    }
}
