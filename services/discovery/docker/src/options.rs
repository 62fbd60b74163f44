//! The provider's options (Traefik's `providers.docker` settings) and the per-container
//! provider labels (`traefik.enable`, `traefik.docker.*`).

use std::collections::BTreeMap;
use std::net::IpAddr;

use serde::Deserialize;

use crate::constraints::Constraints;
use crate::template::{DEFAULT_RULE, Template};

/// How containers become configuration: everything [`build`](crate::build) needs besides
/// the containers. Field names in JSON are Traefik's (`exposedByDefault`, ...).
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(default, rename_all = "camelCase", deny_unknown_fields)]
pub struct DockerOptions {
    /// Containers without `traefik.enable` are exposed (default true).
    pub exposed_by_default: bool,
    /// Rule of routers that have none (default ``Host(`{{ normalize .Name }}`)``).
    pub default_rule: Template,
    /// Network used for container addresses when a container has no
    /// `traefik.docker.network` label; empty means the first network (by name).
    pub network: String,
    /// Use the host binding (IP and port) of the server's port instead of the
    /// container's own address, when the binding has a specific IP.
    #[serde(rename = "useBindPortIP")]
    pub use_bind_port_ip: bool,
    /// Only containers whose labels match are used.
    pub constraints: Option<Constraints>,
    /// Keep unhealthy and starting containers, with services without servers.
    pub allow_empty_services: bool,
    /// Address used for containers in `host` network mode (Traefik: the address of
    /// `host.docker.internal`, else 127.0.0.1). The watch resolves it; `None` means
    /// 127.0.0.1.
    pub host_ip: Option<IpAddr>,
}

impl Default for DockerOptions {
    fn default() -> Self {
        DockerOptions {
            exposed_by_default: true,
            default_rule: Template::default(),
            network: String::new(),
            use_bind_port_ip: false,
            constraints: None,
            allow_empty_services: false,
            host_ip: None,
        }
    }
}

/// Command-line flags (and environment variables) of the Docker provider.
#[derive(Debug, Clone, clap::Args)]
pub struct DockerArgs {
    /// Docker engine endpoint (`unix:///var/run/docker.sock`, `tcp://host:2375`);
    /// default: `DOCKER_HOST`, else the local socket. TLS endpoints are not supported.
    #[arg(long, env = "SWITCHYARD_DOCKER_ENDPOINT")]
    pub endpoint: Option<String>,
    /// Watch Docker events; when false, the containers are read once.
    #[arg(long, env = "SWITCHYARD_DOCKER_WATCH", default_value_t = true,
          action = clap::ArgAction::Set, num_args = 0..=1, require_equals = true,
          default_missing_value = "true")]
    pub watch: bool,
    /// Expose containers that have no `traefik.enable` label.
    #[arg(long, env = "SWITCHYARD_DOCKER_EXPOSED_BY_DEFAULT", default_value_t = true,
          action = clap::ArgAction::Set, num_args = 0..=1, require_equals = true,
          default_missing_value = "true")]
    pub exposed_by_default: bool,
    /// Rule of routers that have none (a Go template).
    #[arg(long, env = "SWITCHYARD_DOCKER_DEFAULT_RULE", default_value = DEFAULT_RULE)]
    pub default_rule: Template,
    /// Default network for container addresses.
    #[arg(long, env = "SWITCHYARD_DOCKER_NETWORK")]
    pub network: Option<String>,
    /// Use the host binding's IP and port of the server port.
    #[arg(long, env = "SWITCHYARD_DOCKER_USE_BIND_PORT_IP", default_value_t = false,
          action = clap::ArgAction::Set, num_args = 0..=1, require_equals = true,
          default_missing_value = "true")]
    pub use_bind_port_ip: bool,
    /// Constraints expression on container labels, e.g. ``Label(`env`, `prod`)``.
    #[arg(long, env = "SWITCHYARD_DOCKER_CONSTRAINTS")]
    pub constraints: Option<Constraints>,
    /// Keep unhealthy or starting containers, with services without servers.
    #[arg(long, env = "SWITCHYARD_DOCKER_ALLOW_EMPTY_SERVICES", default_value_t = false,
          action = clap::ArgAction::Set, num_args = 0..=1, require_equals = true,
          default_missing_value = "true")]
    pub allow_empty_services: bool,
}

impl DockerArgs {
    /// The build options these flags describe.
    pub fn options(&self) -> DockerOptions {
        DockerOptions {
            exposed_by_default: self.exposed_by_default,
            default_rule: self.default_rule.clone(),
            network: self.network.clone().unwrap_or_default(),
            use_bind_port_ip: self.use_bind_port_ip,
            constraints: self.constraints.clone(),
            allow_empty_services: self.allow_empty_services,
            host_ip: None,
        }
    }
}

/// A container's provider labels, after defaults.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct ContainerSettings {
    /// `traefik.enable`, default `exposedByDefault`.
    pub enable: bool,
    /// `traefik.docker.network`, default the `network` option.
    pub network: String,
    /// `traefik.docker.allownonrunning`: keep non-running containers, without servers.
    pub allow_non_running: bool,
}

/// Roots of provider labels, lowest precedence first (as for dynamic configuration).
const ROOTS: [&str; 2] = ["traefik.", "switchyard."];

/// Reads `traefik.enable` and `traefik.docker.*` (and their `switchyard.` twins, which
/// win). Field names match case-insensitively and booleans are Go's `ParseBool`, as in
/// Traefik; an unknown `docker.` label or a bad boolean makes the container unusable.
pub(crate) fn container_settings(
    labels: &BTreeMap<String, String>,
    options: &DockerOptions,
) -> Result<ContainerSettings, String> {
    let mut settings = ContainerSettings {
        enable: options.exposed_by_default,
        network: options.network.clone(),
        allow_non_running: false,
    };
    for root in ROOTS {
        for (key, value) in labels {
            let Some(rest) = key.strip_prefix(root) else {
                continue;
            };
            if rest.eq_ignore_ascii_case("enable") {
                settings.enable = parse_bool(key, value)?;
                continue;
            }
            let Some(field) = rest
                .get(..7)
                .filter(|p| p.eq_ignore_ascii_case("docker."))
                .map(|_| &rest[7..])
            else {
                continue;
            };
            match field.to_ascii_lowercase().as_str() {
                "network" => settings.network = value.clone(),
                "allownonrunning" => settings.allow_non_running = parse_bool(key, value)?,
                // Swarm only; accepted so that labels shared with Swarm do not fail.
                "lbswarm" => {
                    parse_bool(key, value)?;
                }
                _ => {
                    return Err(format!(
                        "label {key:?}: unknown field (expected {root}docker.network or {root}docker.allownonrunning)"
                    ));
                }
            }
        }
    }
    Ok(settings)
}

/// Go's `strconv.ParseBool`.
fn parse_bool(key: &str, value: &str) -> Result<bool, String> {
    match value {
        "1" | "t" | "T" | "TRUE" | "true" | "True" => Ok(true),
        "0" | "f" | "F" | "FALSE" | "false" | "False" => Ok(false),
        _ => Err(format!("label {key:?}: {value:?} is not a boolean")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn labels(pairs: &[(&str, &str)]) -> BTreeMap<String, String> {
        pairs
            .iter()
            .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
            .collect()
    }

    #[test]
    fn reads_provider_labels() {
        let options = DockerOptions {
            network: "web".into(),
            ..DockerOptions::default()
        };
        let settings = |enable, network: &str, allow_non_running| ContainerSettings {
            enable,
            network: network.to_owned(),
            allow_non_running,
        };
        type Case<'a> = (
            &'a str,
            Vec<(&'a str, &'a str)>,
            Result<ContainerSettings, &'a str>,
        );
        let cases: Vec<Case> = vec![
            ("defaults", vec![], Ok(settings(true, "web", false))),
            (
                "disabled",
                vec![("traefik.enable", "false")],
                Ok(settings(false, "web", false)),
            ),
            (
                "Go booleans",
                vec![("traefik.enable", "F")],
                Ok(settings(false, "web", false)),
            ),
            (
                "case-insensitive field",
                vec![("traefik.Enable", "0")],
                Ok(settings(false, "web", false)),
            ),
            (
                "network label",
                vec![("traefik.docker.network", "back")],
                Ok(settings(true, "back", false)),
            ),
            (
                "allow non running",
                vec![("traefik.docker.allowNonRunning", "true")],
                Ok(settings(true, "web", true)),
            ),
            (
                "switchyard wins",
                vec![
                    ("switchyard.enable", "true"),
                    ("traefik.enable", "false"),
                    ("switchyard.docker.network", "sy"),
                ],
                Ok(settings(true, "sy", false)),
            ),
            (
                "other labels ignored",
                vec![("traefik.http.routers.r.rule", "x"), ("com.example", "y")],
                Ok(settings(true, "web", false)),
            ),
            (
                "bad boolean",
                vec![("traefik.enable", "yes")],
                Err("label \"traefik.enable\": \"yes\" is not a boolean"),
            ),
            (
                "empty boolean",
                vec![("traefik.enable", "")],
                Err("label \"traefik.enable\": \"\" is not a boolean"),
            ),
            (
                "unknown docker field",
                vec![("traefik.docker.netwrok", "x")],
                Err("label \"traefik.docker.netwrok\": unknown field"),
            ),
        ];
        for (case, pairs, expected) in cases {
            let got = container_settings(&labels(&pairs), &options);
            match expected {
                Ok(expected) => assert_eq!(got, Ok(expected), "{case}"),
                Err(message) => match got {
                    Err(err) => assert!(err.starts_with(message), "{case}: {err}"),
                    Ok(s) => panic!("{case}: {s:?}"),
                },
            }
        }
    }

    #[test]
    fn options_deserialize_with_traefik_names() {
        let options: DockerOptions = serde_json::from_str(
            r#"{"exposedByDefault": false, "defaultRule": "Host(`{{ .Name }}.local`)",
                "network": "web", "useBindPortIP": true,
                "constraints": "Label(`a`, `b`)", "allowEmptyServices": true}"#,
        )
        .unwrap_or_else(|e| panic!("{e}"));
        assert!(!options.exposed_by_default && options.use_bind_port_ip);
        assert!(options.allow_empty_services);
        assert_eq!(options.default_rule.as_str(), "Host(`{{ .Name }}.local`)");
        assert_eq!(
            options.constraints.map(|c| c.to_string()),
            Some("Label(`a`, `b`)".to_owned())
        );
        let bad = serde_json::from_str::<DockerOptions>(r#"{"defaultRule": "{{ nope }}"}"#);
        assert!(bad.is_err_and(|e| e.to_string().contains("function \"nope\" not defined")));
        assert_eq!(
            serde_json::from_str::<DockerOptions>("{}").ok(),
            Some(DockerOptions::default())
        );
    }

    #[test]
    fn flags_parse() {
        use clap::Parser;
        #[derive(Parser)]
        struct Cli {
            #[command(flatten)]
            docker: DockerArgs,
        }
        let cli = Cli::try_parse_from(["x"]).unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(cli.docker.options(), DockerOptions::default());
        assert!(cli.docker.watch && cli.docker.endpoint.is_none());
        let cli = Cli::try_parse_from([
            "x",
            "--exposed-by-default=false",
            "--use-bind-port-ip",
            "--watch=false",
            "--network=web",
            "--constraints=Label(`a`, `b`)",
            "--default-rule=Host(`{{ .Name }}`)",
        ])
        .unwrap_or_else(|e| panic!("{e}"));
        let options = cli.docker.options();
        assert!(!options.exposed_by_default && options.use_bind_port_ip && !cli.docker.watch);
        assert_eq!(options.network, "web");
        let err = Cli::try_parse_from(["x", "--constraints=Label(`a`)"]).err();
        assert!(err.is_some_and(|e| e.to_string().contains("column 1: Label takes 2 arguments")));
        let err = Cli::try_parse_from(["x", "--default-rule={{ nope }}"]).err();
        assert!(err.is_some_and(|e| {
            e.to_string()
                .contains("column 4: function \"nope\" not defined")
        }));
    }
}
