//! Where a container's servers are reached: Traefik's `getIPPort`, `getIPAddress`,
//! `getPort` and `getPortBinding`.

use std::net::{IpAddr, Ipv4Addr};

use crate::container::{ContainerInfo, NetworkMode, Protocol};
use crate::options::{DockerOptions, container_settings};

/// How deep `container:` network modes are followed (they can form a cycle).
const MAX_CONNECTED_DEPTH: usize = 8;

/// Why no server address could be made; becomes a problem on the service.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) struct Fault {
    /// Field of the service, if one is to blame.
    pub field: Option<String>,
    /// What is wrong.
    pub message: String,
}

impl Fault {
    pub(super) fn new(field: Option<&str>, message: impl Into<String>) -> Fault {
        Fault {
            field: field.map(str::to_owned),
            message: message.into(),
        }
    }
}

/// Field of the server port in a service.
pub(super) const PORT_FIELD: &str = "loadBalancer.servers[0].port";

/// Addresses for one container.
pub(super) struct Addressing<'a> {
    /// The container.
    pub container: &'a ContainerInfo,
    /// Its network (label, else the option).
    pub network: &'a str,
    /// All containers, for `container:` network modes.
    pub all: &'a [ContainerInfo],
    /// The provider's options.
    pub options: &'a DockerOptions,
}

impl Addressing<'_> {
    /// The host and port of a server, given the port label (if any).
    pub(super) fn ip_port(&self, port_label: Option<&str>) -> Result<(IpAddr, u16), Fault> {
        let port = port_label
            .filter(|p| !p.is_empty())
            .map(str::to_owned)
            .or_else(|| self.container.ports.first().map(|p| p.port.to_string()))
            .unwrap_or_default();
        if self.options.use_bind_port_ip
            && let Some((ip, host_port)) = self.binding(&port)
        {
            return Ok((ip, parse_port(&host_port)?));
        }
        let ip = ip_address(self.container, self.network, self.all, self.options, 0).ok_or_else(
            || {
                Fault::new(
                    None,
                    format!(
                        "unable to find the IP address of container {:?}{}",
                        self.container.name,
                        if self.network.is_empty() {
                            String::new()
                        } else {
                            format!(" (network {:?})", self.network)
                        }
                    ),
                )
            },
        )?;
        if port.is_empty() {
            return Err(Fault::new(
                Some(PORT_FIELD),
                "port is missing: the container exposes no port; set loadbalancer.server.port",
            ));
        }
        Ok((ip, parse_port(&port)?))
    }

    /// The first host binding of `port` (TCP or UDP) with a specific host IP.
    fn binding(&self, port: &str) -> Option<(IpAddr, String)> {
        let exposed = self.container.ports.iter().find(|p| {
            p.port.to_string() == port && matches!(p.protocol, Protocol::Tcp | Protocol::Udp)
        })?;
        let binding = exposed.bindings.first()?;
        // Traefik falls back to the container's own address when the binding listens on
        // every interface: that address says nothing about where to reach it.
        let ip = binding.host_ip.filter(|ip| !ip.is_unspecified())?;
        Some((ip, binding.host_port.clone()))
    }
}

fn parse_port(port: &str) -> Result<u16, Fault> {
    port.parse::<u16>()
        .ok()
        .filter(|p| *p != 0)
        .ok_or_else(|| Fault::new(Some(PORT_FIELD), format!("{port:?} is not a port number")))
}

/// The container's address: on `network` if it is attached to it; the host's in `host`
/// mode; the connected container's in `container:` mode; else its first network (by name)
/// that has an address.
fn ip_address(
    container: &ContainerInfo,
    network: &str,
    all: &[ContainerInfo],
    options: &DockerOptions,
    depth: usize,
) -> Option<IpAddr> {
    if !network.is_empty()
        && let Some(address) = container.networks.get(network)
    {
        return *address;
    }
    match &container.network_mode {
        NetworkMode::Host => {
            return Some(options.host_ip.unwrap_or(IpAddr::V4(Ipv4Addr::LOCALHOST)));
        }
        NetworkMode::Container(reference) => {
            if depth >= MAX_CONNECTED_DEPTH {
                return None;
            }
            let connected = find_container(all, reference)?;
            // The connected container's own network label (or the option) first, then
            // the network this container asked for.
            let settings = container_settings(&connected.labels, options).ok()?;
            let network = if settings.network.is_empty() {
                network
            } else {
                settings.network.as_str()
            };
            return ip_address(connected, network, all, options, depth + 1);
        }
        NetworkMode::Default => {}
    }
    container.networks.values().find_map(|a| *a)
}

/// The container a `container:<reference>` network mode names: by ID, ID prefix or name.
fn find_container<'a>(all: &'a [ContainerInfo], reference: &str) -> Option<&'a ContainerInfo> {
    let reference = reference.trim_start_matches('/');
    if reference.is_empty() {
        return None;
    }
    all.iter()
        .find(|c| c.id == reference)
        .or_else(|| all.iter().find(|c| c.name == reference))
        .or_else(|| all.iter().find(|c| c.id.starts_with(reference)))
}

/// `host:port`, with IPv6 hosts in brackets.
pub(super) fn join_host_port(ip: IpAddr, port: u16) -> String {
    match ip {
        IpAddr::V4(ip) => format!("{ip}:{port}"),
        IpAddr::V6(ip) => format!("[{ip}]:{port}"),
    }
}
