//! From containers to configuration, with no I/O: Traefik's Docker `build`.
//!
//! Per container, in the order of Traefik (`<service name>-<id>`):
//! 1. provider labels (`traefik.enable`, `traefik.docker.*`); a bad one is an error for
//!    the container, which is skipped;
//! 2. filtering: disabled, not matching the constraints, not running (unless
//!    `traefik.docker.allownonrunning`), or with a health check that is not healthy
//!    (unless `allowEmptyServices`);
//! 3. the dynamic configuration from labels; each broken resource is a problem;
//! 4. TCP and UDP: a service named after the container when none is defined, servers at
//!    the container's address, routers without a service linked to the only service;
//! 5. HTTP (unless the container only defines TCP/UDP): the same, plus a router named
//!    after the container when none is defined and there is at most one service, and
//!    the default rule for routers without a rule;
//! 6. all containers merged: equal resources once, scaled services with all servers,
//!    differing definitions rejected.
//!
//! Every problem names the container it comes from; a resource with a problem is left
//! out of the configuration (and published as rejected).

mod address;
mod labels;
mod merge;

use std::collections::BTreeSet;

use switchyard_model::{DynamicConfig, Problem, ResourceKind, http, tcp, udp};
use switchyard_provider::Snapshot;

use crate::container::ContainerInfo;
use crate::options::{ContainerSettings, DockerOptions, container_settings};
use crate::template::{TemplateData, normalize};
use address::{Addressing, Fault, join_host_port};
use merge::{Fragment, Merger};

/// Builds the provider's snapshot from `containers` (all of them, running or not: a
/// container in `container:` network mode needs the one it shares).
pub fn build(containers: &[ContainerInfo], options: &DockerOptions) -> Snapshot {
    let mut ordered: Vec<(String, &ContainerInfo)> = containers
        .iter()
        .map(|c| (format!("{}-{}", service_name(c), c.id), c))
        .collect();
    ordered.sort_by(|a, b| a.0.cmp(&b.0));
    let mut merger = Merger::default();
    let mut errors = Vec::new();
    for (_, container) in ordered {
        let settings = match container_settings(&container.labels, options) {
            Ok(settings) => settings,
            Err(err) => {
                errors.push(format!("container {:?}: {err}", container.name));
                continue;
            }
        };
        if !keep(container, &settings, options) {
            continue;
        }
        let fragment = fragment(container, &settings, containers, options);
        merger.add(&container.name, fragment);
    }
    let (config, problems) = merger.finish();
    Snapshot {
        config,
        problems,
        errors,
    }
}

/// The name of the container's default service and router: the Compose service and
/// project (`web-shop`), else the container name, normalised.
pub fn service_name(container: &ContainerInfo) -> String {
    match &container.compose {
        Some(compose) => normalize(&format!("{}_{}", compose.service, compose.project)),
        None => normalize(&container.name),
    }
}

fn keep(container: &ContainerInfo, settings: &ContainerSettings, options: &DockerOptions) -> bool {
    if !settings.enable {
        return false;
    }
    if let Some(constraints) = &options.constraints
        && !constraints.matches(&container.labels)
    {
        return false;
    }
    if settings.allow_non_running {
        return true;
    }
    container.is_running() && (options.allow_empty_services || container.is_healthy())
}

/// Names of `kind` defined by the labels, accepted or rejected.
fn declared(config: &DynamicConfig, problems: &[Problem], kind: ResourceKind) -> BTreeSet<String> {
    let mut names: BTreeSet<String> = config.resource_names(kind).into_iter().collect();
    names.extend(
        problems
            .iter()
            .filter(|p| p.kind == kind)
            .map(|p| p.name.clone()),
    );
    names
}

fn problem(kind: ResourceKind, name: &str, fault: Fault) -> Problem {
    Problem {
        kind,
        name: name.to_owned(),
        field: fault.field,
        message: fault.message,
    }
}

/// One container's resources.
fn fragment(
    container: &ContainerInfo,
    settings: &ContainerSettings,
    all: &[ContainerInfo],
    options: &DockerOptions,
) -> Fragment {
    let (mut config, mut problems) = labels::decode(&container.labels);
    let name = service_name(container);
    // Non-running (allowed) and unhealthy (allowed) containers keep their services,
    // without servers.
    let serve = container.is_running() && container.is_healthy();
    let addressing = Addressing {
        container,
        network: &settings.network,
        all,
        options,
    };
    let mut faults: Vec<Problem> = Vec::new();

    let mut tcp_or_udp = false;
    if !declared(&config, &problems, ResourceKind::TcpRouter).is_empty()
        || !declared(&config, &problems, ResourceKind::TcpService).is_empty()
    {
        tcp_or_udp = true;
        if declared(&config, &problems, ResourceKind::TcpService).is_empty() {
            config.tcp.services.insert(
                name.clone(),
                tcp::Service::LoadBalancer(tcp::LoadBalancer::default()),
            );
        }
        for (service_name, service) in &mut config.tcp.services {
            if let Err(fault) = fill_tcp(service, serve, &addressing) {
                faults.push(problem(ResourceKind::TcpService, service_name, fault));
            }
        }
        let services = declared(&config, &problems, ResourceKind::TcpService);
        for (router_name, router) in &mut config.tcp.routers {
            if let Err(fault) = link(&mut router.service, &services) {
                faults.push(problem(ResourceKind::TcpRouter, router_name, fault));
            }
        }
    }

    if !declared(&config, &problems, ResourceKind::UdpRouter).is_empty()
        || !declared(&config, &problems, ResourceKind::UdpService).is_empty()
    {
        tcp_or_udp = true;
        if declared(&config, &problems, ResourceKind::UdpService).is_empty() {
            config.udp.services.insert(
                name.clone(),
                udp::Service::LoadBalancer(udp::LoadBalancer::default()),
            );
        }
        for (service_name, service) in &mut config.udp.services {
            if let Err(fault) = fill_udp(service, serve, &addressing) {
                faults.push(problem(ResourceKind::UdpService, service_name, fault));
            }
        }
        let services = declared(&config, &problems, ResourceKind::UdpService);
        for (router_name, router) in &mut config.udp.routers {
            if let Err(fault) = link(&mut router.service, &services) {
                faults.push(problem(ResourceKind::UdpRouter, router_name, fault));
            }
        }
    }

    let http_declared = [
        ResourceKind::HttpRouter,
        ResourceKind::HttpService,
        ResourceKind::HttpMiddleware,
    ]
    .into_iter()
    .any(|kind| !declared(&config, &problems, kind).is_empty());
    if !tcp_or_udp || http_declared {
        if declared(&config, &problems, ResourceKind::HttpService).is_empty() {
            config.http.services.insert(
                name.clone(),
                http::Service::LoadBalancer(http::LoadBalancer::default()),
            );
        }
        for (service_name, service) in &mut config.http.services {
            if let Err(fault) = fill_http(service, serve, &addressing) {
                faults.push(problem(ResourceKind::HttpService, service_name, fault));
            }
        }
        let services = declared(&config, &problems, ResourceKind::HttpService);
        // Traefik makes no router for a container with several services: it cannot
        // tell which one the router is for.
        if declared(&config, &problems, ResourceKind::HttpRouter).is_empty() && services.len() <= 1
        {
            config
                .http
                .routers
                .insert(name.clone(), http::Router::default());
        }
        let data = TemplateData {
            name: &name,
            container_name: &container.name,
            labels: &container.labels,
        };
        for (router_name, router) in &mut config.http.routers {
            if router.rule.is_empty() {
                match options.default_rule.render(&data) {
                    Ok(rule) if rule.is_empty() => faults.push(problem(
                        ResourceKind::HttpRouter,
                        router_name,
                        Fault::new(Some("rule"), "the default rule renders to an empty rule"),
                    )),
                    Ok(rule) => router.rule = rule,
                    Err(err) => faults.push(problem(
                        ResourceKind::HttpRouter,
                        router_name,
                        Fault::new(Some("rule"), format!("default rule: {err}")),
                    )),
                }
            }
            if let Err(fault) = link(&mut router.service, &services) {
                faults.push(problem(ResourceKind::HttpRouter, router_name, fault));
            }
        }
    }

    // Faulty resources leave before validation, which would only add that the rule or
    // service they could not get is missing.
    for fault in &faults {
        config.remove(fault.kind, &fault.name);
    }
    problems.extend(faults);
    let invalid = config.validate();
    for p in &invalid {
        config.remove(p.kind, &p.name);
    }
    problems.extend(invalid);
    for p in &mut problems {
        p.message = format!("container {:?}: {}", container.name, p.message);
    }
    Fragment { config, problems }
}

/// Links a router without a service to the container's only service.
fn link(service: &mut String, services: &BTreeSet<String>) -> Result<(), Fault> {
    if !service.is_empty() {
        return Ok(());
    }
    let mut names = services.iter();
    match (names.next(), names.next()) {
        (Some(only), None) => {
            service.clone_from(only);
            Ok(())
        }
        _ => {
            let names: Vec<String> = services.iter().map(|s| format!("{s:?}")).collect();
            Err(Fault::new(
                Some("service"),
                format!(
                    "cannot be linked automatically with multiple services ({}): set its service",
                    names.join(", ")
                ),
            ))
        }
    }
}

fn fill_http(service: &mut http::Service, serve: bool, at: &Addressing<'_>) -> Result<(), Fault> {
    let http::Service::LoadBalancer(lb) = service else {
        return Err(Fault::new(None, "load-balancer is not defined"));
    };
    if !serve {
        lb.servers.retain(|s| !s.url.is_empty());
        return Ok(());
    }
    if lb.servers.is_empty() {
        lb.servers.push(http::Server::default());
    }
    let server = &mut lb.servers[0];
    if !server.url.is_empty() {
        if server.scheme.is_some() || server.port.is_some() {
            return Err(Fault::new(
                Some("loadBalancer.servers[0].url"),
                "defining scheme or port is not allowed when url is defined",
            ));
        }
        return Ok(());
    }
    let scheme = server
        .scheme
        .take()
        .filter(|s| !s.is_empty())
        .unwrap_or_else(|| "http".to_owned());
    if !http::SERVER_SCHEMES
        .iter()
        .any(|s| s.eq_ignore_ascii_case(&scheme))
    {
        return Err(Fault::new(
            Some("loadBalancer.servers[0].scheme"),
            format!(
                "unsupported scheme {scheme:?}; expected one of {}",
                http::SERVER_SCHEMES.join(", ")
            ),
        ));
    }
    let (ip, port) = at.ip_port(server.port.take().as_deref())?;
    server.url = format!("{scheme}://{}", join_host_port(ip, port));
    Ok(())
}

fn fill_tcp(service: &mut tcp::Service, serve: bool, at: &Addressing<'_>) -> Result<(), Fault> {
    let tcp::Service::LoadBalancer(lb) = service else {
        return Err(Fault::new(None, "load-balancer is not defined"));
    };
    if !serve {
        lb.servers.retain(|s| !s.address.is_empty());
        return Ok(());
    }
    if lb.servers.is_empty() {
        lb.servers.push(tcp::Server::default());
    }
    let server = &mut lb.servers[0];
    let (ip, port) = at.ip_port(server.port.take().as_deref())?;
    server.address = join_host_port(ip, port);
    Ok(())
}

fn fill_udp(service: &mut udp::Service, serve: bool, at: &Addressing<'_>) -> Result<(), Fault> {
    let udp::Service::LoadBalancer(lb) = service else {
        return Err(Fault::new(None, "load-balancer is not defined"));
    };
    if !serve {
        lb.servers.retain(|s| !s.address.is_empty());
        return Ok(());
    }
    if lb.servers.is_empty() {
        lb.servers.push(udp::Server::default());
    }
    let server = &mut lb.servers[0];
    let (ip, port) = at.ip_port(server.port.take().as_deref())?;
    server.address = join_host_port(ip, port);
    Ok(())
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeMap;

    use super::*;

    #[test]
    fn links_routers_to_the_only_service() {
        let one: BTreeSet<String> = ["web".to_owned()].into();
        let two: BTreeSet<String> = ["a".to_owned(), "b".to_owned()].into();
        let mut service = String::new();
        assert_eq!(link(&mut service, &one), Ok(()));
        assert_eq!(service, "web");
        let mut given = "mine".to_owned();
        assert_eq!(link(&mut given, &two), Ok(()));
        assert_eq!(given, "mine");
        let mut service = String::new();
        let err = link(&mut service, &two).err().map(|f| f.message);
        assert_eq!(
            err.as_deref(),
            Some(
                "cannot be linked automatically with multiple services (\"a\", \"b\"): set its service"
            )
        );
    }

    #[test]
    fn service_names_follow_traefik() {
        use crate::container::{Compose, Health, NetworkMode};
        let container = |name: &str, compose: Option<(&str, &str)>| ContainerInfo {
            id: "id".into(),
            name: name.into(),
            labels: BTreeMap::new(),
            status: None,
            health: Health::None,
            network_mode: NetworkMode::Default,
            networks: BTreeMap::new(),
            ports: Vec::new(),
            compose: compose.map(|(project, service)| Compose {
                project: project.into(),
                service: service.into(),
            }),
        };
        let cases = [
            ("container name", container("my_app.1", None), "my-app-1"),
            (
                "compose",
                container("shop-web-1", Some(("shop", "web"))),
                "web-shop",
            ),
            (
                "compose normalised",
                container("x", Some(("my.shop", "api_v2"))),
                "api-v2-my-shop",
            ),
        ];
        for (case, c, expected) in cases {
            assert_eq!(service_name(&c), expected, "{case}");
        }
    }
}
