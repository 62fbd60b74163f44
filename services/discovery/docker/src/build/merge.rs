//! Merging the containers' configurations into one, as Traefik's `provider.Merge` does
//! with its merge strategy: a resource defined identically by several containers is kept
//! once; load-balancer services equal but for their servers are merged (servers appended,
//! duplicates dropped), which is how a scaled service gets one server per replica;
//! anything else defined differently is left out and reported.

use std::collections::{BTreeMap, BTreeSet};

use switchyard_model::{DynamicConfig, Problem, ResourceKind, http, tcp, udp};

/// One container's resources and problems.
#[derive(Debug, Default)]
pub(super) struct Fragment {
    /// The resources it defines.
    pub config: DynamicConfig,
    /// Its rejected resources.
    pub problems: Vec<Problem>,
}

/// Accumulates fragments in order.
#[derive(Debug, Default)]
pub(super) struct Merger {
    config: DynamicConfig,
    origins: BTreeMap<(ResourceKind, String), Vec<String>>,
    conflicts: BTreeSet<(ResourceKind, String)>,
    problems: Vec<Problem>,
}

struct Ctx<'a> {
    origin: &'a str,
    origins: &'a mut BTreeMap<(ResourceKind, String), Vec<String>>,
    conflicts: &'a mut BTreeSet<(ResourceKind, String)>,
}

impl Ctx<'_> {
    fn map<T>(
        &mut self,
        kind: ResourceKind,
        from: BTreeMap<String, T>,
        into: &mut BTreeMap<String, T>,
        merge: fn(&mut T, T) -> bool,
    ) {
        for (name, value) in from {
            self.origins
                .entry((kind, name.clone()))
                .or_default()
                .push(self.origin.to_owned());
            match into.get_mut(&name) {
                None => {
                    into.insert(name, value);
                }
                Some(existing) => {
                    if !merge(existing, value) {
                        self.conflicts.insert((kind, name));
                    }
                }
            }
        }
    }
}

fn same<T: PartialEq>(a: &mut T, b: T) -> bool {
    *a == b
}

/// Merges load balancers equal but for their servers; `key` identifies a server.
fn merge_servers<L: PartialEq, S>(
    a: &mut L,
    mut b: L,
    servers: fn(&mut L) -> &mut Vec<S>,
    key: fn(&S) -> &str,
) -> bool {
    let kept = std::mem::take(servers(a));
    let added = std::mem::take(servers(&mut b));
    let equal = *a == b;
    *servers(a) = kept;
    if equal {
        for server in added {
            if !servers(a).iter().any(|s| key(s) == key(&server)) {
                servers(a).push(server);
            }
        }
    }
    equal
}

fn merge_http_service(a: &mut http::Service, b: http::Service) -> bool {
    match (a, b) {
        (http::Service::LoadBalancer(a), http::Service::LoadBalancer(b)) => {
            merge_servers(a, b, |lb| &mut lb.servers, |s| s.url.as_str())
        }
        (a, b) => *a == b,
    }
}

fn merge_tcp_service(a: &mut tcp::Service, b: tcp::Service) -> bool {
    match (a, b) {
        (tcp::Service::LoadBalancer(a), tcp::Service::LoadBalancer(b)) => {
            merge_servers(a, b, |lb| &mut lb.servers, |s| s.address.as_str())
        }
        (a, b) => *a == b,
    }
}

fn merge_udp_service(a: &mut udp::Service, b: udp::Service) -> bool {
    match (a, b) {
        (udp::Service::LoadBalancer(a), udp::Service::LoadBalancer(b)) => {
            merge_servers(a, b, |lb| &mut lb.servers, |s| s.address.as_str())
        }
        (a, b) => *a == b,
    }
}

impl Merger {
    /// Adds the fragment of container `origin`.
    pub(super) fn add(&mut self, origin: &str, fragment: Fragment) {
        self.problems.extend(fragment.problems);
        let DynamicConfig {
            http,
            tcp,
            udp,
            tls,
        } = fragment.config;
        let to = &mut self.config;
        let mut ctx = Ctx {
            origin,
            origins: &mut self.origins,
            conflicts: &mut self.conflicts,
        };
        use ResourceKind as K;
        ctx.map(K::HttpRouter, http.routers, &mut to.http.routers, same);
        ctx.map(
            K::HttpService,
            http.services,
            &mut to.http.services,
            merge_http_service,
        );
        ctx.map(
            K::HttpMiddleware,
            http.middlewares,
            &mut to.http.middlewares,
            same,
        );
        ctx.map(
            K::HttpServersTransport,
            http.servers_transports,
            &mut to.http.servers_transports,
            same,
        );
        ctx.map(K::TcpRouter, tcp.routers, &mut to.tcp.routers, same);
        ctx.map(
            K::TcpService,
            tcp.services,
            &mut to.tcp.services,
            merge_tcp_service,
        );
        ctx.map(
            K::TcpMiddleware,
            tcp.middlewares,
            &mut to.tcp.middlewares,
            same,
        );
        ctx.map(
            K::TcpServersTransport,
            tcp.servers_transports,
            &mut to.tcp.servers_transports,
            same,
        );
        ctx.map(K::UdpRouter, udp.routers, &mut to.udp.routers, same);
        ctx.map(
            K::UdpService,
            udp.services,
            &mut to.udp.services,
            merge_udp_service,
        );
        ctx.map(K::TlsOption, tls.options, &mut to.tls.options, same);
        ctx.map(K::TlsStore, tls.stores, &mut to.tls.stores, same);
        for certificate in tls.certificates {
            if !to.tls.certificates.contains(&certificate) {
                to.tls.certificates.push(certificate);
            }
        }
    }

    /// The merged configuration and every problem, sorted; a resource with a problem is
    /// left out of the configuration.
    pub(super) fn finish(mut self) -> (DynamicConfig, Vec<Problem>) {
        for (kind, name) in &self.conflicts {
            let containers: Vec<String> = self
                .origins
                .get(&(*kind, name.clone()))
                .map(|o| o.iter().map(|c| format!("{c:?}")).collect())
                .unwrap_or_default();
            self.problems.push(Problem {
                kind: *kind,
                name: name.clone(),
                field: None,
                message: format!(
                    "defined multiple times with different configurations (containers {})",
                    containers.join(", ")
                ),
            });
        }
        for problem in &self.problems {
            if problem.kind != ResourceKind::TlsCertificate {
                self.config.remove(problem.kind, &problem.name);
            }
        }
        let mut problems = self.problems;
        problems.sort_by(|a, b| {
            (a.kind, &a.name, &a.field, &a.message).cmp(&(b.kind, &b.name, &b.field, &b.message))
        });
        problems.dedup();
        (self.config, problems)
    }
}
