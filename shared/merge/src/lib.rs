//! Merging providers' configurations into one namespaced configuration.
//!
//! Each provider's resources are renamed `name@provider`, and every reference inside them
//! is qualified: a reference without `@` resolves inside its own provider, `x@other` names
//! another provider's resource, as in Traefik. Then cross-references are checked (rules
//! parse, services, middlewares, servers transports and TLS options exist, no chain or
//! service cycles). A resource that is broken, or depends on one that is, is disabled with
//! its reasons; nothing else is affected.

mod qualify;

use std::collections::{BTreeMap, BTreeSet};
use std::sync::Arc;

use switchyard_model::http::{Middleware, Service};
use switchyard_model::{DynamicConfig, Problem, ResourceKind, tcp, udp};
use switchyard_rules::{Rule, TcpRule};

pub use qualify::{provider_of, qualify};

/// Services that exist without being configured (Traefik's `@internal` services).
pub const INTERNAL_SERVICES: &[&str] = &[
    "noop@internal",
    "api@internal",
    "dashboard@internal",
    "ping@internal",
    "prometheus@internal",
];

/// One provider's configuration, as decoded (resources it rejected are in `problems`).
#[derive(Debug, Clone, Default)]
pub struct ProviderConfig {
    /// The valid resources.
    pub config: DynamicConfig,
    /// Why the other resources were rejected.
    pub problems: Vec<Problem>,
}

/// What the merge needs to know beyond the configurations.
#[derive(Debug, Clone, Default)]
pub struct MergeOptions {
    /// The entrypoints that exist; `None` skips the check (the CLI has no static config).
    pub entry_points: Option<BTreeSet<String>>,
}

/// A disabled resource and why.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Disabled {
    /// The provider that defined it.
    pub provider: String,
    /// Its problems (`name` is the provider-local name).
    pub problems: Vec<Problem>,
}

/// The merged configuration.
#[derive(Debug, Clone, Default)]
pub struct Merged {
    /// Every enabled resource, keyed `name@provider`, with qualified references.
    pub config: DynamicConfig,
    /// Parsed rules of the enabled HTTP routers.
    pub http_rules: BTreeMap<String, Arc<Rule>>,
    /// Parsed rules of the enabled TCP routers.
    pub tcp_rules: BTreeMap<String, Arc<TcpRule>>,
    /// Disabled resources, keyed by kind and qualified name.
    pub disabled: BTreeMap<(ResourceKind, String), Disabled>,
}

impl Merged {
    /// Every problem, one line each, e.g. `http.routers.api@file: service "nope" does not exist`.
    pub fn problem_lines(&self) -> Vec<String> {
        self.disabled
            .values()
            .flat_map(|d| {
                d.problems
                    .iter()
                    .map(|p| p.display_with_provider(&d.provider))
            })
            .collect()
    }

    /// Whether a resource is disabled, and why.
    pub fn disabled_reasons(&self, kind: ResourceKind, qualified: &str) -> Option<&Disabled> {
        self.disabled.get(&(kind, qualified.to_owned()))
    }
}

/// Merges providers' configurations as a bus reader holds them: each provider's valid
/// resources and the problems of the rejected ones (`ConfigView::providers` in
/// switchyard-bus).
pub fn merge_providers(
    providers: BTreeMap<String, (DynamicConfig, Vec<Problem>)>,
    options: &MergeOptions,
) -> Merged {
    let providers: BTreeMap<String, ProviderConfig> = providers
        .into_iter()
        .map(|(provider, (config, problems))| (provider, ProviderConfig { config, problems }))
        .collect();
    merge(&providers, options)
}

/// Merges providers' configurations (keyed by provider name).
pub fn merge(providers: &BTreeMap<String, ProviderConfig>, options: &MergeOptions) -> Merged {
    let mut m = Merger {
        options,
        out: Merged::default(),
    };
    for (provider, input) in providers {
        m.collect(provider, input);
    }
    m.check_http_middlewares();
    m.check_http_services();
    m.check_http_routers();
    m.check_tcp();
    m.check_udp();
    m.check_tls_options();
    m.out
}

/// A reference as its user wrote it: without `@provider` when it names the referrer's own provider.
fn shown<'r>(reference: &'r str, referrer: &str) -> &'r str {
    match reference.rsplit_once('@') {
        Some((name, provider)) if provider == provider_of(referrer) => name,
        _ => reference,
    }
}

struct Merger<'a> {
    options: &'a MergeOptions,
    out: Merged,
}

impl Merger<'_> {
    fn disable(
        &mut self,
        kind: ResourceKind,
        qualified: &str,
        field: Option<&str>,
        message: impl Into<String>,
    ) {
        let provider = provider_of(qualified).to_owned();
        let local = qualified
            .rsplit_once('@')
            .map_or(qualified, |(n, _)| n)
            .to_owned();
        let entry = self
            .out
            .disabled
            .entry((kind, qualified.to_owned()))
            .or_insert_with(|| Disabled {
                provider,
                problems: vec![],
            });
        entry.problems.push(Problem {
            kind,
            name: local,
            field: field.map(str::to_owned),
            message: message.into(),
        });
    }

    fn is_disabled(&self, kind: ResourceKind, qualified: &str) -> bool {
        self.out
            .disabled
            .contains_key(&(kind, qualified.to_owned()))
    }

    /// Copies one provider's resources in, qualified, and records what it rejected.
    fn collect(&mut self, provider: &str, input: &ProviderConfig) {
        for problem in &input.problems {
            let qualified = if problem.kind == ResourceKind::TlsCertificate {
                format!("{}@{provider}", problem.name)
            } else {
                qualify(&problem.name, provider)
            };
            self.out
                .disabled
                .entry((problem.kind, qualified))
                .or_insert_with(|| Disabled {
                    provider: provider.to_owned(),
                    problems: vec![],
                })
                .problems
                .push(problem.clone());
        }
        let c = &input.config;
        let q = |name: &str| format!("{name}@{provider}");
        for (name, router) in &c.http.routers {
            let mut r = router.clone();
            r.service = qualify(&r.service, provider);
            r.middlewares = r.middlewares.iter().map(|m| qualify(m, provider)).collect();
            if let Some(tls) = r.tls.as_mut().filter(|t| !t.options.is_empty()) {
                tls.options = qualify(&tls.options, provider);
            }
            self.insert_named(
                ResourceKind::HttpRouter,
                name,
                provider,
                |out| &mut out.http.routers,
                r,
            );
        }
        for (name, service) in &c.http.services {
            let s = qualify::http_service(service, provider);
            self.insert_named(
                ResourceKind::HttpService,
                name,
                provider,
                |out| &mut out.http.services,
                s,
            );
        }
        for (name, middleware) in &c.http.middlewares {
            let mut mw = middleware.clone();
            if let Middleware::Chain(chain) = &mut mw {
                chain.middlewares = chain
                    .middlewares
                    .iter()
                    .map(|m| qualify(m, provider))
                    .collect();
            }
            self.insert_named(
                ResourceKind::HttpMiddleware,
                name,
                provider,
                |out| &mut out.http.middlewares,
                mw,
            );
        }
        for (name, t) in &c.http.servers_transports {
            self.insert_named(
                ResourceKind::HttpServersTransport,
                name,
                provider,
                |out| &mut out.http.servers_transports,
                t.clone(),
            );
        }
        for (name, router) in &c.tcp.routers {
            let mut r = router.clone();
            r.service = qualify(&r.service, provider);
            r.middlewares = r.middlewares.iter().map(|m| qualify(m, provider)).collect();
            if let Some(tls) = r.tls.as_mut().filter(|t| !t.options.is_empty()) {
                tls.options = qualify(&tls.options, provider);
            }
            self.insert_named(
                ResourceKind::TcpRouter,
                name,
                provider,
                |out| &mut out.tcp.routers,
                r,
            );
        }
        for (name, service) in &c.tcp.services {
            let s = qualify::tcp_service(service, provider);
            self.insert_named(
                ResourceKind::TcpService,
                name,
                provider,
                |out| &mut out.tcp.services,
                s,
            );
        }
        for (name, mw) in &c.tcp.middlewares {
            self.insert_named(
                ResourceKind::TcpMiddleware,
                name,
                provider,
                |out| &mut out.tcp.middlewares,
                mw.clone(),
            );
        }
        for (name, t) in &c.tcp.servers_transports {
            self.insert_named(
                ResourceKind::TcpServersTransport,
                name,
                provider,
                |out| &mut out.tcp.servers_transports,
                t.clone(),
            );
        }
        for (name, router) in &c.udp.routers {
            let mut r = router.clone();
            r.service = qualify(&r.service, provider);
            self.insert_named(
                ResourceKind::UdpRouter,
                name,
                provider,
                |out| &mut out.udp.routers,
                r,
            );
        }
        for (name, service) in &c.udp.services {
            let s = qualify::udp_service(service, provider);
            self.insert_named(
                ResourceKind::UdpService,
                name,
                provider,
                |out| &mut out.udp.services,
                s,
            );
        }
        for (name, options) in &c.tls.options {
            self.out.config.tls.options.insert(q(name), options.clone());
        }
        for (name, store) in &c.tls.stores {
            // TLS stores are global in Traefik: one `default` store shared by all providers.
            self.out
                .config
                .tls
                .stores
                .entry(name.clone())
                .or_insert_with(|| store.clone());
        }
        self.out
            .config
            .tls
            .certificates
            .extend(c.tls.certificates.iter().cloned());
    }

    fn insert_named<T>(
        &mut self,
        kind: ResourceKind,
        name: &str,
        provider: &str,
        section: impl FnOnce(&mut DynamicConfig) -> &mut BTreeMap<String, T>,
        value: T,
    ) {
        let qualified = format!("{name}@{provider}");
        if name.contains('@') {
            self.disable(
                kind,
                &qualified,
                None,
                "the character '@' is not allowed in a resource name",
            );
            return;
        }
        section(&mut self.out.config).insert(qualified, value);
    }

    fn check_http_middlewares(&mut self) {
        let names: Vec<String> = self.out.config.http.middlewares.keys().cloned().collect();
        for name in names {
            let mut path = vec![name.clone()];
            if let Err(message) = self.middleware_ok(&name, &mut path) {
                self.disable(
                    ResourceKind::HttpMiddleware,
                    &name,
                    Some("chain.middlewares"),
                    message,
                );
            }
        }
        let bad: Vec<String> = self
            .out
            .disabled
            .keys()
            .filter(|(k, _)| *k == ResourceKind::HttpMiddleware)
            .map(|(_, n)| n.clone())
            .collect();
        for name in bad {
            self.out.config.http.middlewares.remove(&name);
        }
    }

    /// Whether the middleware and, for a chain, everything it includes is usable.
    fn middleware_ok(&self, name: &str, path: &mut Vec<String>) -> Result<(), String> {
        let Some(mw) = self.out.config.http.middlewares.get(name) else {
            return Err(format!("middleware {:?} does not exist", shown(name, name)));
        };
        if let Middleware::Chain(chain) = mw {
            for child in &chain.middlewares {
                if path.contains(child) {
                    path.push(child.clone());
                    return Err(format!(
                        "recursion detected in chain: {}",
                        path.join(" -> ")
                    ));
                }
                if self.is_disabled(ResourceKind::HttpMiddleware, child) {
                    return Err(format!("middleware {:?} is disabled", shown(child, name)));
                }
                path.push(child.clone());
                self.middleware_ok(child, path)?;
                path.pop();
            }
        }
        Ok(())
    }

    fn check_http_services(&mut self) {
        let names: Vec<String> = self.out.config.http.services.keys().cloned().collect();
        for name in &names {
            let mut path = vec![name.clone()];
            if let Err((field, message)) = self.service_ok(name, &mut path) {
                self.disable(ResourceKind::HttpService, name, Some(&field), message);
            }
        }
        for name in names {
            if self.is_disabled(ResourceKind::HttpService, &name) {
                self.out.config.http.services.remove(&name);
            }
        }
    }

    fn service_exists(&self, name: &str) -> bool {
        self.out.config.http.services.contains_key(name) || INTERNAL_SERVICES.contains(&name)
    }

    fn service_ok(&self, name: &str, path: &mut Vec<String>) -> Result<(), (String, String)> {
        let Some(service) = self.out.config.http.services.get(name) else {
            return Ok(()); // internal services
        };
        let children: Vec<(String, &String)> = match service {
            Service::LoadBalancer(lb) => {
                let t = &lb.servers_transport;
                if !t.is_empty()
                    && t != "default@internal"
                    && !self.out.config.http.servers_transports.contains_key(t)
                {
                    return Err((
                        "loadBalancer.serversTransport".into(),
                        format!("serversTransport {:?} does not exist", t),
                    ));
                }
                vec![]
            }
            Service::Weighted(w) => w
                .services
                .iter()
                .enumerate()
                .map(|(i, s)| (format!("weighted.services[{i}].name"), &s.name))
                .collect(),
            Service::Mirroring(m) => std::iter::once(("mirroring.service".to_owned(), &m.service))
                .chain(
                    m.mirrors
                        .iter()
                        .enumerate()
                        .map(|(i, s)| (format!("mirroring.mirrors[{i}].name"), &s.name)),
                )
                .collect(),
            Service::Failover(f) => std::iter::once(("failover.service".to_owned(), &f.service))
                .chain(
                    (!f.fallback.is_empty()).then(|| ("failover.fallback".to_owned(), &f.fallback)),
                )
                .collect(),
        };
        for (field, child) in children {
            if path.contains(child) {
                path.push(child.clone());
                return Err((
                    field,
                    format!("recursion detected in services: {}", path.join(" -> ")),
                ));
            }
            if self.is_disabled(ResourceKind::HttpService, child) {
                return Err((
                    field,
                    format!("service {:?} is disabled", shown(child, name)),
                ));
            }
            if !self.service_exists(child) {
                return Err((
                    field,
                    format!("service {:?} does not exist", shown(child, name)),
                ));
            }
            path.push(child.clone());
            self.service_ok(child, path)?;
            path.pop();
        }
        Ok(())
    }

    fn check_entry_points(&mut self, kind: ResourceKind, name: &str, entry_points: &[String]) {
        if let Some(known) = &self.options.entry_points {
            for (i, ep) in entry_points.iter().enumerate() {
                if !known.contains(ep) {
                    self.disable(
                        kind,
                        name,
                        Some(&format!("entryPoints[{i}]")),
                        format!("entryPoint {ep:?} does not exist"),
                    );
                }
            }
        }
    }

    fn check_tls_option_ref(&mut self, kind: ResourceKind, name: &str, options: Option<&str>) {
        if let Some(opt) = options.filter(|o| !o.is_empty()) {
            let default = opt.split('@').next() == Some("default");
            if !default && !self.out.config.tls.options.contains_key(opt) {
                self.disable(
                    kind,
                    name,
                    Some("tls.options"),
                    format!("TLS options {opt:?} do not exist"),
                );
            }
        }
    }

    fn check_http_routers(&mut self) {
        let routers: Vec<(String, switchyard_model::http::Router)> = self
            .out
            .config
            .http
            .routers
            .iter()
            .map(|(k, v)| (k.clone(), v.clone()))
            .collect();
        for (name, router) in routers {
            let kind = ResourceKind::HttpRouter;
            match switchyard_rules::parse_http(&router.rule) {
                Ok(rule) => {
                    self.out.http_rules.insert(name.clone(), Arc::new(rule));
                }
                Err(e) => self.disable(kind, &name, Some("rule"), e.to_string()),
            }
            self.check_service_ref(kind, &name, &router.service, |m, s| {
                m.service_exists(s) && !m.is_disabled(ResourceKind::HttpService, s)
            });
            for mw in &router.middlewares {
                let m = shown(mw, &name);
                if self.is_disabled(ResourceKind::HttpMiddleware, mw) {
                    self.disable(kind, &name, None, format!("middleware {m:?} is disabled"));
                } else if !self.out.config.http.middlewares.contains_key(mw) {
                    self.disable(
                        kind,
                        &name,
                        None,
                        format!("middleware {m:?} does not exist"),
                    );
                }
            }
            self.check_entry_points(kind, &name, &router.entry_points);
            self.check_tls_option_ref(kind, &name, router.tls.as_ref().map(|t| t.options.as_str()));
            if self.is_disabled(kind, &name) {
                self.out.config.http.routers.remove(&name);
                self.out.http_rules.remove(&name);
            }
        }
    }

    fn check_service_ref(
        &mut self,
        kind: ResourceKind,
        router: &str,
        service: &str,
        ok: impl Fn(&Self, &str) -> bool,
    ) {
        if service.is_empty() || ok(self, service) {
            return;
        }
        let (service_kind, exists) = match kind {
            ResourceKind::TcpRouter => (
                ResourceKind::TcpService,
                self.out.config.tcp.services.contains_key(service),
            ),
            ResourceKind::UdpRouter => (
                ResourceKind::UdpService,
                self.out.config.udp.services.contains_key(service),
            ),
            _ => (ResourceKind::HttpService, self.service_exists(service)),
        };
        let s = shown(service, router);
        let message = if self.is_disabled(service_kind, service) || exists {
            format!("service {s:?} is disabled")
        } else {
            format!("service {s:?} does not exist")
        };
        self.disable(kind, router, None, message);
    }

    fn check_tcp(&mut self) {
        // Services: weighted children must exist.
        let services: Vec<(String, tcp::Service)> = self
            .out
            .config
            .tcp
            .services
            .iter()
            .map(|(k, v)| (k.clone(), v.clone()))
            .collect();
        for (name, service) in &services {
            if let tcp::Service::Weighted(w) = service {
                for (i, child) in w.services.iter().enumerate() {
                    if child.name == *name
                        || !self.out.config.tcp.services.contains_key(&child.name)
                    {
                        self.disable(
                            ResourceKind::TcpService,
                            name,
                            Some(&format!("weighted.services[{i}].name")),
                            format!("service {:?} does not exist", child.name),
                        );
                    }
                }
            }
            if let tcp::Service::LoadBalancer(lb) = service {
                let t = &lb.servers_transport;
                if !t.is_empty()
                    && t != "default@internal"
                    && !self.out.config.tcp.servers_transports.contains_key(t)
                {
                    self.disable(
                        ResourceKind::TcpService,
                        name,
                        Some("loadBalancer.serversTransport"),
                        format!("serversTransport {t:?} does not exist"),
                    );
                }
            }
        }
        for (name, _) in services {
            if self.is_disabled(ResourceKind::TcpService, &name) {
                self.out.config.tcp.services.remove(&name);
            }
        }
        let routers: Vec<(String, tcp::Router)> = self
            .out
            .config
            .tcp
            .routers
            .iter()
            .map(|(k, v)| (k.clone(), v.clone()))
            .collect();
        for (name, router) in routers {
            let kind = ResourceKind::TcpRouter;
            match switchyard_rules::parse_tcp(&router.rule) {
                Ok(rule) => {
                    self.out.tcp_rules.insert(name.clone(), Arc::new(rule));
                }
                Err(e) => self.disable(kind, &name, Some("rule"), e.to_string()),
            }
            self.check_service_ref(kind, &name, &router.service, |m, s| {
                m.out.config.tcp.services.contains_key(s)
            });
            for (i, mw) in router.middlewares.iter().enumerate() {
                if !self.out.config.tcp.middlewares.contains_key(mw) {
                    let state = if self.is_disabled(ResourceKind::TcpMiddleware, mw) {
                        "is disabled"
                    } else {
                        "does not exist"
                    };
                    self.disable(
                        kind,
                        &name,
                        Some(&format!("middlewares[{i}]")),
                        format!("middleware {mw:?} {state}"),
                    );
                }
            }
            self.check_entry_points(kind, &name, &router.entry_points);
            self.check_tls_option_ref(kind, &name, router.tls.as_ref().map(|t| t.options.as_str()));
            if self.is_disabled(kind, &name) {
                self.out.config.tcp.routers.remove(&name);
                self.out.tcp_rules.remove(&name);
            }
        }
    }

    fn check_udp(&mut self) {
        let services: Vec<(String, udp::Service)> = self
            .out
            .config
            .udp
            .services
            .iter()
            .map(|(k, v)| (k.clone(), v.clone()))
            .collect();
        for (name, service) in &services {
            if let udp::Service::Weighted(w) = service {
                for (i, child) in w.services.iter().enumerate() {
                    if child.name == *name
                        || !self.out.config.udp.services.contains_key(&child.name)
                    {
                        self.disable(
                            ResourceKind::UdpService,
                            name,
                            Some(&format!("weighted.services[{i}].name")),
                            format!("service {:?} does not exist", child.name),
                        );
                    }
                }
            }
        }
        for (name, _) in services {
            if self.is_disabled(ResourceKind::UdpService, &name) {
                self.out.config.udp.services.remove(&name);
            }
        }
        let routers: Vec<(String, udp::Router)> = self
            .out
            .config
            .udp
            .routers
            .iter()
            .map(|(k, v)| (k.clone(), v.clone()))
            .collect();
        for (name, router) in routers {
            let kind = ResourceKind::UdpRouter;
            self.check_service_ref(kind, &name, &router.service, |m, s| {
                m.out.config.udp.services.contains_key(s)
            });
            self.check_entry_points(kind, &name, &router.entry_points);
            if self.is_disabled(kind, &name) {
                self.out.config.udp.routers.remove(&name);
            }
        }
    }

    fn check_tls_options(&mut self) {
        let disabled: Vec<String> = self
            .out
            .disabled
            .keys()
            .filter(|(k, _)| *k == ResourceKind::TlsOption)
            .map(|(_, n)| n.clone())
            .collect();
        for name in disabled {
            self.out.config.tls.options.remove(&name);
        }
    }
}
