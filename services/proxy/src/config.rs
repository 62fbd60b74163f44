//! The proxy's static configuration: a YAML or TOML file (Traefik's names where Traefik
//! has the setting), overridden by environment variables and flags in `main`.

use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};

use serde::Deserialize;
use switchyard_bus::nats::NatsSettings;
use switchyard_model::Duration;

/// Errors of the static configuration; each names the setting.
#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    /// The file cannot be read.
    #[error("{path}: {message}")]
    File {
        /// The file.
        path: String,
        /// Why.
        message: String,
    },
    /// A setting is invalid.
    #[error("{setting}: {message}")]
    Invalid {
        /// Which setting, e.g. `entryPoints.web.address`.
        setting: String,
        /// Why.
        message: String,
    },
}

fn invalid(setting: impl Into<String>, message: impl Into<String>) -> ConfigError {
    ConfigError::Invalid {
        setting: setting.into(),
        message: message.into(),
    }
}

/// The whole static configuration.
#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields, default)]
pub struct StaticConfig {
    /// This replica's id in heartbeats and logs (default: the host name).
    pub instance: Option<String>,
    /// Entrypoints by name.
    pub entry_points: BTreeMap<String, EntryPoint>,
    /// How to reach NATS.
    pub nats: NatsSettings,
    /// Where the shared secret that opens private keys on the bus is (a file holding 32
    /// bytes as hex or base64); `SWITCHYARD_BUS_SECRET` overrides it.
    pub bus_secret_file: Option<PathBuf>,
    /// The internal entrypoint serving `/ping` and `/metrics` (default `traefik` on `:8082`).
    pub internal: Internal,
    /// Access log.
    pub access_log: Option<AccessLog>,
    /// Largest request head accepted, in bytes.
    pub max_header_bytes: usize,
    /// Order of providers for routers of equal priority.
    pub provider_precedence: Vec<String>,
}

impl Default for StaticConfig {
    fn default() -> Self {
        Self {
            instance: None,
            entry_points: BTreeMap::from([("web".to_owned(), EntryPoint::new(":8080"))]),
            nats: NatsSettings::default(),
            bus_secret_file: None,
            internal: Internal::default(),
            access_log: None,
            max_header_bytes: 32 * 1024,
            provider_precedence: vec!["internal".into(), "file".into()],
        }
    }
}

/// One entrypoint.
#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields, default)]
pub struct EntryPoint {
    /// `:8080`, `0.0.0.0:8080`, `[::1]:8443`.
    pub address: String,
    /// HTTP settings.
    pub http: EntryPointHttp,
    /// Which peers' X-Forwarded-* headers are kept.
    pub forwarded_headers: ForwardedHeaders,
    /// Timeouts.
    pub transport: Transport,
}

impl EntryPoint {
    /// An entrypoint on `address` with defaults.
    pub fn new(address: &str) -> Self {
        Self {
            address: address.to_owned(),
            http: EntryPointHttp::default(),
            forwarded_headers: ForwardedHeaders::default(),
            transport: Transport::default(),
        }
    }
}

impl Default for EntryPoint {
    fn default() -> Self {
        Self::new("")
    }
}

/// `entryPoints.<name>.http`.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields, default)]
pub struct EntryPointHttp {
    /// Redirect every request to another entrypoint.
    pub redirections: Option<Redirections>,
    /// Terminate TLS on this entrypoint.
    pub tls: Option<EntryPointTls>,
}

/// `entryPoints.<name>.http.redirections`.
#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct Redirections {
    /// The redirection.
    pub entry_point: RedirectEntryPoint,
}

/// `entryPoints.<name>.http.redirections.entryPoint`.
#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct RedirectEntryPoint {
    /// The entrypoint to redirect to (its port is used).
    pub to: String,
    /// The scheme (default `https`).
    #[serde(default = "https")]
    pub scheme: String,
    /// 301/308 (true, the default) or 302/307.
    #[serde(default = "yes")]
    pub permanent: bool,
}

fn https() -> String {
    "https".into()
}

fn yes() -> bool {
    true
}

/// `entryPoints.<name>.http.tls`.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields, default)]
pub struct EntryPointTls {
    /// TLS options name applied by default on this entrypoint.
    pub options: String,
    /// Certificate resolver for the routers of this entrypoint.
    pub cert_resolver: String,
}

/// `entryPoints.<name>.forwardedHeaders`.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields, default)]
pub struct ForwardedHeaders {
    /// IPs or CIDRs whose X-Forwarded-* headers are trusted.
    #[serde(rename = "trustedIPs")]
    pub trusted_ips: Vec<String>,
    /// Trust every peer.
    pub insecure: bool,
}

/// `entryPoints.<name>.transport`.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields, default)]
pub struct Transport {
    /// Client-facing timeouts.
    pub responding_timeouts: RespondingTimeouts,
    /// Shutdown behaviour.
    pub life_cycle: LifeCycle,
}

/// `entryPoints.<name>.transport.respondingTimeouts`.
#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields, default)]
pub struct RespondingTimeouts {
    /// Time allowed to read the request head (Traefik: 60s).
    pub read_timeout: Duration,
    /// Keep-alive idle time between requests (Traefik: 180s).
    pub idle_timeout: Duration,
}

impl Default for RespondingTimeouts {
    fn default() -> Self {
        Self {
            read_timeout: Duration::from_secs(60),
            idle_timeout: Duration::from_secs(180),
        }
    }
}

/// `entryPoints.<name>.transport.lifeCycle`.
#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields, default)]
pub struct LifeCycle {
    /// How long in-flight requests may finish after SIGTERM (Traefik: 10s).
    pub grace_time_out: Duration,
}

impl Default for LifeCycle {
    fn default() -> Self {
        Self {
            grace_time_out: Duration::from_secs(10),
        }
    }
}

/// The internal entrypoint.
#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields, default)]
pub struct Internal {
    /// Its address (`:8082`); empty disables it.
    pub address: String,
    /// Prefix of metric names (`traefik` keeps Traefik dashboards working).
    pub metrics_prefix: String,
}

impl Default for Internal {
    fn default() -> Self {
        Self {
            address: ":8082".into(),
            metrics_prefix: "traefik".into(),
        }
    }
}

/// Access log settings.
#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields, default)]
pub struct AccessLog {
    /// `common` (Traefik's CLF variant) or `json`.
    pub format: AccessLogFormat,
    /// A file; standard output when absent.
    pub file_path: Option<PathBuf>,
}

impl Default for AccessLog {
    fn default() -> Self {
        Self {
            format: AccessLogFormat::Common,
            file_path: None,
        }
    }
}

/// Access log format.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum AccessLogFormat {
    /// Traefik's common log format.
    Common,
    /// One JSON object per line.
    Json,
}

/// Parses `:8080` / `host:port` into a socket address (`:port` binds every interface).
pub fn parse_address(address: &str) -> Result<SocketAddr, String> {
    let full = if address.starts_with(':') {
        format!("0.0.0.0{address}")
    } else {
        address.to_owned()
    };
    full.parse()
        .map_err(|_| format!("{address:?} is not an address like \":8080\" or \"127.0.0.1:8080\""))
}

impl StaticConfig {
    /// Reads a YAML or TOML file.
    pub fn from_file(path: &Path) -> Result<Self, ConfigError> {
        let shown = path.display().to_string();
        let text = std::fs::read_to_string(path).map_err(|e| ConfigError::File {
            path: shown.clone(),
            message: e.to_string(),
        })?;
        let config: Self = match path.extension().and_then(|e| e.to_str()) {
            Some("toml") => toml::from_str(&text).map_err(|e| ConfigError::File {
                path: shown.clone(),
                message: e.to_string(),
            })?,
            _ => serde_norway::from_str(&text).map_err(|e| ConfigError::File {
                path: shown.clone(),
                message: e.to_string(),
            })?,
        };
        config.validate()?;
        Ok(config)
    }

    /// Checks what serde cannot.
    pub fn validate(&self) -> Result<(), ConfigError> {
        if self.entry_points.is_empty() {
            return Err(invalid("entryPoints", "at least one entrypoint is needed"));
        }
        for (name, ep) in &self.entry_points {
            parse_address(&ep.address)
                .map_err(|e| invalid(format!("entryPoints.{name}.address"), e))?;
            for (i, ip) in ep.forwarded_headers.trusted_ips.iter().enumerate() {
                switchyard_http_normalize::parse_trusted_ip(ip).map_err(|e| {
                    invalid(
                        format!("entryPoints.{name}.forwardedHeaders.trustedIPs[{i}]"),
                        e.to_string(),
                    )
                })?;
            }
            if let Some(r) = &ep.http.redirections
                && !self.entry_points.contains_key(&r.entry_point.to)
            {
                return Err(invalid(
                    format!("entryPoints.{name}.http.redirections.entryPoint.to"),
                    format!("entrypoint {:?} does not exist", r.entry_point.to),
                ));
            }
        }
        if !self.internal.address.is_empty() {
            parse_address(&self.internal.address).map_err(|e| invalid("internal.address", e))?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn traefik_style_yaml_reads() {
        let yaml = r#"
entryPoints:
  web:
    address: ":80"
    http:
      redirections:
        entryPoint: {to: websecure}
  websecure:
    address: "127.0.0.1:443"
    http: {tls: {}}
    forwardedHeaders:
      trustedIPs: ["10.0.0.0/8", "192.168.1.7"]
    transport:
      respondingTimeouts: {readTimeout: 5s, idleTimeout: 30}
      lifeCycle: {graceTimeOut: 2s}
nats: {url: "nats://127.0.0.1:4222"}
"#;
        let c: StaticConfig = serde_norway::from_str(yaml).unwrap();
        c.validate().unwrap();
        let r = c.entry_points["web"].http.redirections.as_ref().unwrap();
        assert_eq!(
            (
                r.entry_point.to.as_str(),
                r.entry_point.scheme.as_str(),
                r.entry_point.permanent
            ),
            ("websecure", "https", true)
        );
        let ws = &c.entry_points["websecure"];
        assert_eq!(
            ws.transport.responding_timeouts.idle_timeout,
            Duration::from_secs(30)
        );
        assert_eq!(
            ws.transport.life_cycle.grace_time_out,
            Duration::from_secs(2)
        );
    }

    #[test]
    fn invalid_settings_are_named() {
        let cases = [
            (
                "entryPoints: {web: {address: 'nope'}}",
                "entryPoints.web.address",
            ),
            (
                "entryPoints: {web: {address: ':80', forwardedHeaders: {trustedIPs: ['x']}}}",
                "entryPoints.web.forwardedHeaders.trustedIPs[0]",
            ),
            (
                "entryPoints: {web: {address: ':80', http: {redirections: {entryPoint: {to: gone}}}}}",
                "entryPoints.web.http.redirections.entryPoint.to",
            ),
        ];
        for (yaml, setting) in cases {
            let c: StaticConfig = serde_norway::from_str(yaml).unwrap();
            let e = c.validate().unwrap_err().to_string();
            assert!(e.starts_with(setting), "{e}");
        }
        assert!(serde_norway::from_str::<StaticConfig>("entryPoint: {}").is_err());
    }
}
