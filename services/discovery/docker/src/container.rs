//! The provider's own view of a container: only what building the configuration needs,
//! converted from the Docker Engine's inspect response.

use std::collections::BTreeMap;
use std::fmt;
use std::net::IpAddr;

use bollard::models::{
    ContainerInspectResponse, ContainerStateStatusEnum, HealthStatusEnum,
    PortBinding as DockerPortBinding,
};
use serde::Serialize;

/// Compose label naming the project.
pub const COMPOSE_PROJECT_LABEL: &str = "com.docker.compose.project";
/// Compose label naming the service.
pub const COMPOSE_SERVICE_LABEL: &str = "com.docker.compose.service";

/// A container as the provider sees it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct ContainerInfo {
    /// The container's full ID.
    pub id: String,
    /// The name without Docker's leading `/`.
    pub name: String,
    /// All labels.
    pub labels: BTreeMap<String, String>,
    /// The container's state; `None` when the engine reported none.
    pub status: Option<ContainerStatus>,
    /// The result of its Docker health check.
    pub health: Health,
    /// How its network is set up.
    pub network_mode: NetworkMode,
    /// Networks it is attached to, by name, with its address on each (IPv4, else the
    /// global IPv6 address; `None` while it has none).
    pub networks: BTreeMap<String, Option<IpAddr>>,
    /// Exposed ports (`NetworkSettings.Ports`), sorted by number then protocol, each with
    /// its host bindings.
    pub ports: Vec<ExposedPort>,
    /// The Compose project and service, when both labels are set.
    pub compose: Option<Compose>,
}

impl ContainerInfo {
    /// Whether the container is running (an unknown state counts as running, as in
    /// Traefik).
    pub fn is_running(&self) -> bool {
        matches!(self.status, None | Some(ContainerStatus::Running))
    }

    /// Whether its health check lets it serve: no health check, or healthy.
    pub fn is_healthy(&self) -> bool {
        matches!(self.health, Health::None | Health::Healthy)
    }
}

/// A container's state (`State.Status`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum ContainerStatus {
    /// Created, never started.
    Created,
    /// Running.
    Running,
    /// Paused.
    Paused,
    /// Restarting.
    Restarting,
    /// Being removed.
    Removing,
    /// Stopped.
    Exited,
    /// Dead (could not be stopped or removed).
    Dead,
    /// Being stopped.
    Stopping,
}

/// The state of a container's Docker health check.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Health {
    /// No health check.
    #[default]
    None,
    /// Not yet decided.
    Starting,
    /// Passing.
    Healthy,
    /// Failing.
    Unhealthy,
}

/// `HostConfig.NetworkMode`.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize)]
#[serde(rename_all = "camelCase")]
pub enum NetworkMode {
    /// Bridge, a user network, or unset: the container has its own addresses.
    #[default]
    Default,
    /// `host`: the container shares the host's network.
    Host,
    /// `container:<id or name>`: the container shares another container's network.
    Container(String),
}

impl NetworkMode {
    /// Reads Docker's spelling.
    pub fn parse(mode: &str) -> NetworkMode {
        if mode == "host" {
            NetworkMode::Host
        } else if let Some(other) = mode.strip_prefix("container:") {
            NetworkMode::Container(other.to_owned())
        } else {
            NetworkMode::Default
        }
    }
}

/// A transport protocol of an exposed port.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Protocol {
    /// TCP.
    Tcp,
    /// UDP.
    Udp,
    /// SCTP.
    Sctp,
}

impl fmt::Display for Protocol {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Protocol::Tcp => "tcp",
            Protocol::Udp => "udp",
            Protocol::Sctp => "sctp",
        })
    }
}

/// An exposed port and where the host publishes it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct ExposedPort {
    /// The port inside the container.
    pub port: u16,
    /// Its protocol.
    pub protocol: Protocol,
    /// Host bindings, in Docker's order.
    pub bindings: Vec<PortBinding>,
}

/// One host binding of an exposed port.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct PortBinding {
    /// The host address (`None` when Docker gives none).
    pub host_ip: Option<IpAddr>,
    /// The host port.
    pub host_port: String,
}

/// A Compose project and service.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Compose {
    /// `com.docker.compose.project`.
    pub project: String,
    /// `com.docker.compose.service`.
    pub service: String,
}

/// Why an inspect response cannot be used.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ContainerError {
    /// No `Id`.
    #[error("the container has no ID")]
    MissingId,
    /// No `Name`.
    #[error("container {id}: no name")]
    MissingName {
        /// The container.
        id: String,
    },
    /// No `State` (Traefik skips such containers too).
    #[error("container {id}: no state")]
    MissingState {
        /// The container.
        id: String,
    },
    /// A `NetworkSettings.Ports` key that is not `<port>/<protocol>`.
    #[error("container {id}: invalid exposed port {key:?}")]
    InvalidPort {
        /// The container.
        id: String,
        /// The key as given.
        key: String,
    },
    /// An address that is not an IP address.
    #[error("container {id}: invalid address {address:?} ({context})")]
    InvalidAddress {
        /// The container.
        id: String,
        /// The address as given.
        address: String,
        /// Where it was found.
        context: String,
    },
}

impl TryFrom<ContainerInspectResponse> for ContainerInfo {
    type Error = ContainerError;

    fn try_from(inspect: ContainerInspectResponse) -> Result<Self, Self::Error> {
        let id = inspect
            .id
            .filter(|id| !id.is_empty())
            .ok_or(ContainerError::MissingId)?;
        let name = inspect
            .name
            .map(|n| n.trim_start_matches('/').to_owned())
            .filter(|n| !n.is_empty())
            .ok_or_else(|| ContainerError::MissingName { id: id.clone() })?;
        let state = inspect
            .state
            .ok_or_else(|| ContainerError::MissingState { id: id.clone() })?;
        let status = state.status.and_then(|s| match s {
            ContainerStateStatusEnum::EMPTY => None,
            ContainerStateStatusEnum::CREATED => Some(ContainerStatus::Created),
            ContainerStateStatusEnum::RUNNING => Some(ContainerStatus::Running),
            ContainerStateStatusEnum::PAUSED => Some(ContainerStatus::Paused),
            ContainerStateStatusEnum::RESTARTING => Some(ContainerStatus::Restarting),
            ContainerStateStatusEnum::REMOVING => Some(ContainerStatus::Removing),
            ContainerStateStatusEnum::EXITED => Some(ContainerStatus::Exited),
            ContainerStateStatusEnum::DEAD => Some(ContainerStatus::Dead),
            ContainerStateStatusEnum::STOPPING => Some(ContainerStatus::Stopping),
        });
        // Docker documents `none` as "no health check", like an absent `Health`.
        let health = match state.health.and_then(|h| h.status) {
            None | Some(HealthStatusEnum::EMPTY | HealthStatusEnum::NONE) => Health::None,
            Some(HealthStatusEnum::STARTING) => Health::Starting,
            Some(HealthStatusEnum::HEALTHY) => Health::Healthy,
            Some(HealthStatusEnum::UNHEALTHY) => Health::Unhealthy,
        };
        let labels: BTreeMap<String, String> = inspect
            .config
            .and_then(|c| c.labels)
            .unwrap_or_default()
            .into_iter()
            .collect();
        let network_mode = inspect
            .host_config
            .and_then(|h| h.network_mode)
            .map(|m| NetworkMode::parse(&m))
            .unwrap_or_default();
        let settings = inspect.network_settings.unwrap_or_default();
        let mut networks = BTreeMap::new();
        for (network, endpoint) in settings.networks.unwrap_or_default() {
            let address = [endpoint.ip_address, endpoint.global_ipv6_address]
                .into_iter()
                .flatten()
                .find(|a| !a.is_empty());
            let address = match address {
                Some(a) => {
                    Some(
                        a.parse::<IpAddr>()
                            .map_err(|_| ContainerError::InvalidAddress {
                                id: id.clone(),
                                address: a.clone(),
                                context: format!("network {network}"),
                            })?,
                    )
                }
                None => None,
            };
            networks.insert(network, address);
        }
        let mut ports = Vec::new();
        for (key, bindings) in settings.ports.unwrap_or_default() {
            let invalid = || ContainerError::InvalidPort {
                id: id.clone(),
                key: key.clone(),
            };
            let (number, protocol) = key.split_once('/').unwrap_or((key.as_str(), "tcp"));
            let port = number.parse::<u16>().map_err(|_| invalid())?;
            let protocol = match protocol.to_ascii_lowercase().as_str() {
                "tcp" => Protocol::Tcp,
                "udp" => Protocol::Udp,
                "sctp" => Protocol::Sctp,
                _ => return Err(invalid()),
            };
            let bindings = bindings
                .unwrap_or_default()
                .into_iter()
                .map(|b| binding(&id, &key, b))
                .collect::<Result<Vec<_>, _>>()?;
            ports.push(ExposedPort {
                port,
                protocol,
                bindings,
            });
        }
        ports.sort_by_key(|p| (p.port, p.protocol));
        let compose = match (
            labels.get(COMPOSE_PROJECT_LABEL),
            labels.get(COMPOSE_SERVICE_LABEL),
        ) {
            (Some(project), Some(service)) if !project.is_empty() && !service.is_empty() => {
                Some(Compose {
                    project: project.clone(),
                    service: service.clone(),
                })
            }
            _ => None,
        };
        Ok(ContainerInfo {
            id,
            name,
            labels,
            status,
            health,
            network_mode,
            networks,
            ports,
            compose,
        })
    }
}

fn binding(id: &str, key: &str, b: DockerPortBinding) -> Result<PortBinding, ContainerError> {
    let host_ip = match b.host_ip.filter(|ip| !ip.is_empty()) {
        Some(ip) => Some(
            ip.parse::<IpAddr>()
                .map_err(|_| ContainerError::InvalidAddress {
                    id: id.to_owned(),
                    address: ip.clone(),
                    context: format!("binding of port {key}"),
                })?,
        ),
        None => None,
    };
    Ok(PortBinding {
        host_ip,
        host_port: b.host_port.unwrap_or_default(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn inspect(json: serde_json::Value) -> ContainerInspectResponse {
        serde_json::from_value(json).unwrap_or_else(|e| panic!("{e}"))
    }

    #[test]
    fn converts_an_inspect_response() {
        let info = ContainerInfo::try_from(inspect(serde_json::json!({
            "Id": "abc",
            "Name": "/shop-web-1",
            "State": {"Status": "running", "Health": {"Status": "healthy"}},
            "Config": {"Labels": {
                "com.docker.compose.project": "shop",
                "com.docker.compose.service": "web",
                "traefik.enable": "true"
            }},
            "HostConfig": {"NetworkMode": "shop_default"},
            "NetworkSettings": {
                "Ports": {
                    "443/tcp": null,
                    "80/udp": [],
                    "80/tcp": [
                        {"HostIp": "0.0.0.0", "HostPort": "8080"},
                        {"HostIp": "::", "HostPort": "8080"}
                    ]
                },
                "Networks": {
                    "shop_default": {"IPAddress": "172.18.0.2"},
                    "v6only": {"IPAddress": "", "GlobalIPv6Address": "fd00::2"},
                    "down": {"IPAddress": ""}
                }
            }
        })))
        .unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(info.id, "abc");
        assert_eq!(info.name, "shop-web-1");
        assert_eq!(info.status, Some(ContainerStatus::Running));
        assert_eq!(info.health, Health::Healthy);
        assert_eq!(info.network_mode, NetworkMode::Default);
        assert_eq!(
            info.compose,
            Some(Compose {
                project: "shop".into(),
                service: "web".into()
            })
        );
        let networks: Vec<(&str, Option<String>)> = info
            .networks
            .iter()
            .map(|(n, a)| (n.as_str(), a.map(|a| a.to_string())))
            .collect();
        assert_eq!(
            networks,
            [
                ("down", None),
                ("shop_default", Some("172.18.0.2".to_owned())),
                ("v6only", Some("fd00::2".to_owned()))
            ]
        );
        let ports: Vec<(u16, Protocol, usize)> = info
            .ports
            .iter()
            .map(|p| (p.port, p.protocol, p.bindings.len()))
            .collect();
        assert_eq!(
            ports,
            [
                (80, Protocol::Tcp, 2),
                (80, Protocol::Udp, 0),
                (443, Protocol::Tcp, 0)
            ]
        );
        assert_eq!(info.ports[0].bindings[1].host_ip, "::".parse().ok());
        assert!(info.is_running() && info.is_healthy());
    }

    #[test]
    fn reads_states_and_modes() {
        type Case<'a> = (
            &'a str,
            serde_json::Value,
            Option<ContainerStatus>,
            Health,
            NetworkMode,
        );
        let cases: Vec<Case> = vec![
            (
                "no health check",
                serde_json::json!({"Status": "exited"}),
                Some(ContainerStatus::Exited),
                Health::None,
                NetworkMode::Host,
            ),
            (
                "health none",
                serde_json::json!({"Status": "running", "Health": {"Status": "none"}}),
                Some(ContainerStatus::Running),
                Health::None,
                NetworkMode::Host,
            ),
            (
                "starting",
                serde_json::json!({"Status": "running", "Health": {"Status": "starting"}}),
                Some(ContainerStatus::Running),
                Health::Starting,
                NetworkMode::Host,
            ),
            (
                "unhealthy, empty status",
                serde_json::json!({"Status": "", "Health": {"Status": "unhealthy"}}),
                None,
                Health::Unhealthy,
                NetworkMode::Host,
            ),
        ];
        for (case, state, status, health, mode) in cases {
            let info = ContainerInfo::try_from(inspect(serde_json::json!({
                "Id": "x", "Name": "/x", "State": state,
                "HostConfig": {"NetworkMode": "host"}
            })))
            .unwrap_or_else(|e| panic!("{case}: {e}"));
            assert_eq!(
                (info.status, info.health, info.network_mode),
                (status, health, mode),
                "{case}"
            );
        }
        assert_eq!(
            NetworkMode::parse("container:abc"),
            NetworkMode::Container("abc".into())
        );
        assert_eq!(NetworkMode::parse("bridge"), NetworkMode::Default);
    }

    #[test]
    fn rejects_unusable_responses() {
        let cases = [
            (
                "no id",
                serde_json::json!({"Name": "/x", "State": {}}),
                ContainerError::MissingId,
            ),
            (
                "no name",
                serde_json::json!({"Id": "a", "State": {}}),
                ContainerError::MissingName { id: "a".into() },
            ),
            (
                "no state",
                serde_json::json!({"Id": "a", "Name": "/x"}),
                ContainerError::MissingState { id: "a".into() },
            ),
            (
                "bad port",
                serde_json::json!({"Id": "a", "Name": "/x", "State": {},
                    "NetworkSettings": {"Ports": {"http/tcp": null}}}),
                ContainerError::InvalidPort {
                    id: "a".into(),
                    key: "http/tcp".into(),
                },
            ),
            (
                "bad protocol",
                serde_json::json!({"Id": "a", "Name": "/x", "State": {},
                    "NetworkSettings": {"Ports": {"80/icmp": null}}}),
                ContainerError::InvalidPort {
                    id: "a".into(),
                    key: "80/icmp".into(),
                },
            ),
            (
                "bad address",
                serde_json::json!({"Id": "a", "Name": "/x", "State": {},
                    "NetworkSettings": {"Networks": {"n": {"IPAddress": "nope"}}}}),
                ContainerError::InvalidAddress {
                    id: "a".into(),
                    address: "nope".into(),
                    context: "network n".into(),
                },
            ),
        ];
        for (case, json, expected) in cases {
            assert_eq!(
                ContainerInfo::try_from(inspect(json)),
                Err(expected),
                "{case}"
            );
        }
    }
}
