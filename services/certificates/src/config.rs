//! The service's static configuration: NATS, the bus secret and Traefik's
//! `certificatesResolvers.<name>.acme.*`, read from YAML or TOML and checked before start.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use base64::Engine as _;
use serde::Deserialize;
use switchyard_bus::nats::NatsSettings;

/// Let's Encrypt's production directory, Traefik's default `caServer`.
pub const LETS_ENCRYPT: &str = "https://acme-v02.api.letsencrypt.org/directory";

/// Traefik's default `certificatesDuration`, in hours (90 days).
pub const DEFAULT_CERTIFICATES_DURATION: u64 = 2160;

/// An invalid static configuration; the service refuses to start.
#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    /// The file could not be read.
    #[error("cannot read {path}: {source}")]
    Read {
        /// The file.
        path: PathBuf,
        /// Why.
        source: std::io::Error,
    },
    /// The file does not parse, or has unknown keys or values of the wrong type.
    #[error("{path}: {message}")]
    Parse {
        /// The file.
        path: PathBuf,
        /// The parser's message (it names the field and the position).
        message: String,
    },
    /// A value is not acceptable.
    #[error("{field}: {message}")]
    Invalid {
        /// The field, e.g. `certificatesResolvers.le.acme.keyType`.
        field: String,
        /// What is wrong.
        message: String,
    },
}

fn invalid(field: impl Into<String>, message: impl Into<String>) -> ConfigError {
    ConfigError::Invalid {
        field: field.into(),
        message: message.into(),
    }
}

/// The static file as written.
#[derive(Debug, Clone, Default, PartialEq, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields, default)]
pub struct StaticConfig {
    /// How to reach NATS (`--nats-url` wins over `nats.url`).
    pub nats: NatsSettings,
    /// A file holding the bus secret (`SWITCHYARD_BUS_SECRET` wins).
    pub bus_secret_file: Option<PathBuf>,
    /// The certificate resolvers, by name.
    pub certificates_resolvers: BTreeMap<String, ResolverConfig>,
}

/// `certificatesResolvers.<name>`.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct ResolverConfig {
    /// The ACME settings (the only kind of resolver Traefik has besides Tailscale).
    pub acme: AcmeConfig,
}

/// `certificatesResolvers.<name>.acme`, as Traefik names it.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct AcmeConfig {
    /// Contact email of the account.
    #[serde(default)]
    pub email: String,
    /// The ACME directory URL.
    #[serde(default = "default_ca_server")]
    pub ca_server: String,
    /// PEM files of CAs trusted for the ACME server, on top of the web PKI roots.
    #[serde(default)]
    pub ca_certificates: Vec<PathBuf>,
    /// `EC256` (default), `EC384`, `RSA2048`, `RSA4096`, `RSA8192`.
    #[serde(default = "default_key_type")]
    pub key_type: String,
    /// External account binding.
    #[serde(default)]
    pub eab: Option<EabConfig>,
    /// HTTP-01 on an entrypoint.
    #[serde(default)]
    pub http_challenge: Option<HttpChallengeConfig>,
    /// TLS-ALPN-01 (`tlsChallenge: {}`).
    #[serde(default)]
    pub tls_challenge: Option<TlsChallengeConfig>,
    /// DNS-01: recognised so that it gets a clear error (not supported yet).
    #[serde(default)]
    pub dns_challenge: Option<serde_norway::Value>,
    /// The certificates' expected validity in hours (drives the renewal table).
    #[serde(default = "default_duration")]
    pub certificates_duration: u64,
    /// Traefik's `acme.json` path: accepted and ignored, certificates live on the bus.
    #[serde(default)]
    pub storage: Option<String>,
}

fn default_ca_server() -> String {
    LETS_ENCRYPT.to_owned()
}
fn default_key_type() -> String {
    "EC256".to_owned()
}
fn default_duration() -> u64 {
    DEFAULT_CERTIFICATES_DURATION
}

/// `eab`: external account binding.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct EabConfig {
    /// The key identifier from the CA.
    pub kid: String,
    /// The HMAC key, base64url.
    pub hmac_encoded: String,
}

/// `httpChallenge`.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct HttpChallengeConfig {
    /// The entrypoint (port 80) the CA reaches; the proxies answer on every entrypoint.
    pub entry_point: String,
    /// Traefik's delay before validation, in seconds: accepted and ignored.
    #[serde(default)]
    pub delay: Option<u64>,
}

/// `tlsChallenge: {}`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TlsChallengeConfig {}

/// The private key type of certificates.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum KeyType {
    /// ECDSA P-256.
    Ec256,
    /// ECDSA P-384.
    Ec384,
    /// RSA with a modulus of this many bits (2048, 4096 or 8192).
    Rsa(usize),
}

/// A challenge type a resolver may use.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum ChallengeKind {
    /// HTTP-01: the proxies answer `/.well-known/acme-challenge/<token>`.
    Http01,
    /// TLS-ALPN-01: the proxies present a challenge certificate for ALPN `acme-tls/1`.
    TlsAlpn01,
}

/// A checked resolver.
#[derive(Debug, Clone, PartialEq)]
pub struct Resolver {
    /// Its name.
    pub name: String,
    /// Contact email.
    pub email: String,
    /// Directory URL.
    pub ca_server: String,
    /// Extra trusted CA certificates (PEM files, read at start).
    pub ca_certificates: Vec<PathBuf>,
    /// Key type of certificates.
    pub key_type: KeyType,
    /// External account binding: key id and decoded HMAC key.
    pub eab: Option<(String, Vec<u8>)>,
    /// The challenges it may use, in order of preference.
    pub challenges: Vec<ChallengeKind>,
    /// `certificatesDuration`, hours.
    pub certificates_duration_hours: u64,
}

/// The checked configuration.
#[derive(Debug, Clone, PartialEq)]
pub struct Settings {
    /// NATS connection.
    pub nats: NatsSettings,
    /// Bus secret file, if configured.
    pub bus_secret_file: Option<PathBuf>,
    /// Resolvers by name.
    pub resolvers: BTreeMap<String, Resolver>,
}

/// Reads and checks the static file (`.toml` is TOML, anything else YAML).
pub fn load(path: &Path) -> Result<Settings, ConfigError> {
    let text = std::fs::read_to_string(path).map_err(|source| ConfigError::Read {
        path: path.to_owned(),
        source,
    })?;
    let is_toml = path
        .extension()
        .is_some_and(|e| e.eq_ignore_ascii_case("toml"));
    let raw = parse(&text, is_toml).map_err(|message| ConfigError::Parse {
        path: path.to_owned(),
        message,
    })?;
    check(raw)
}

/// Parses the text of a static file.
pub fn parse(text: &str, toml: bool) -> Result<StaticConfig, String> {
    if toml {
        toml::from_str(text).map_err(|e| e.to_string())
    } else if text.trim().is_empty() {
        Ok(StaticConfig::default())
    } else {
        serde_norway::from_str(text).map_err(|e| e.to_string())
    }
}

/// Checks every value and builds the settings.
pub fn check(raw: StaticConfig) -> Result<Settings, ConfigError> {
    let mut resolvers = BTreeMap::new();
    for (name, resolver) in raw.certificates_resolvers {
        let field = format!("certificatesResolvers.{name}");
        if name.is_empty() || name.contains(['@', '.']) {
            return Err(invalid(
                field,
                "a resolver name must not be empty or contain '@' or '.'",
            ));
        }
        let resolver = check_acme(&name, resolver.acme, &format!("{field}.acme"))?;
        resolvers.insert(name, resolver);
    }
    Ok(Settings {
        nats: raw.nats,
        bus_secret_file: raw.bus_secret_file,
        resolvers,
    })
}

fn check_acme(name: &str, acme: AcmeConfig, field: &str) -> Result<Resolver, ConfigError> {
    let ca = acme.ca_server.trim();
    if !(ca.starts_with("https://") || ca.starts_with("http://")) || ca.len() < 9 {
        return Err(invalid(
            format!("{field}.caServer"),
            format!("{ca:?} is not an http(s) URL"),
        ));
    }
    let key_type = match acme.key_type.as_str() {
        "EC256" => KeyType::Ec256,
        "EC384" => KeyType::Ec384,
        "RSA2048" => KeyType::Rsa(2048),
        "RSA4096" => KeyType::Rsa(4096),
        "RSA8192" => KeyType::Rsa(8192),
        other => {
            return Err(invalid(
                format!("{field}.keyType"),
                format!("{other:?} is not one of EC256, EC384, RSA2048, RSA4096, RSA8192"),
            ));
        }
    };
    if acme.dns_challenge.is_some() {
        return Err(invalid(
            format!("{field}.dnsChallenge"),
            "DNS-01 is not supported yet; use httpChallenge or tlsChallenge",
        ));
    }
    let mut challenges = Vec::new();
    if let Some(http) = &acme.http_challenge {
        if http.entry_point.trim().is_empty() {
            return Err(invalid(
                format!("{field}.httpChallenge.entryPoint"),
                "must name the entrypoint the CA reaches on port 80",
            ));
        }
        challenges.push(ChallengeKind::Http01);
    }
    if acme.tls_challenge.is_some() {
        challenges.push(ChallengeKind::TlsAlpn01);
    }
    if challenges.is_empty() {
        return Err(invalid(
            field,
            "needs httpChallenge or tlsChallenge (dnsChallenge is not supported yet)",
        ));
    }
    if acme.certificates_duration == 0 {
        return Err(invalid(
            format!("{field}.certificatesDuration"),
            "must be a positive number of hours",
        ));
    }
    let eab = match acme.eab {
        None => None,
        Some(eab) => {
            if eab.kid.trim().is_empty() {
                return Err(invalid(format!("{field}.eab.kid"), "must not be empty"));
            }
            let key = base64::engine::general_purpose::URL_SAFE_NO_PAD
                .decode(eab.hmac_encoded.trim().trim_end_matches('='))
                .map_err(|e| {
                    invalid(
                        format!("{field}.eab.hmacEncoded"),
                        format!("not base64url: {e}"),
                    )
                })?;
            if key.is_empty() {
                return Err(invalid(
                    format!("{field}.eab.hmacEncoded"),
                    "must not be empty",
                ));
            }
            Some((eab.kid, key))
        }
    };
    for (i, path) in acme.ca_certificates.iter().enumerate() {
        if path.as_os_str().is_empty() {
            return Err(invalid(
                format!("{field}.caCertificates[{i}]"),
                "must not be empty",
            ));
        }
    }
    Ok(Resolver {
        name: name.to_owned(),
        email: acme.email,
        ca_server: ca.to_owned(),
        ca_certificates: acme.ca_certificates,
        key_type,
        eab,
        challenges,
        certificates_duration_hours: acme.certificates_duration,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    const PEBBLE: &str = r#"
nats: {url: nats://127.0.0.1:4222}
busSecretFile: /run/secrets/bus
certificatesResolvers:
  pebble:
    acme:
      email: ops@example.com
      caServer: https://127.0.0.1:14000/dir
      caCertificates: [/tmp/pebble/ca.pem]
      keyType: EC256
      certificatesDuration: 2160
      httpChallenge: {entryPoint: web}
"#;

    fn load_yaml(text: &str) -> Result<Settings, String> {
        check(parse(text, false)?).map_err(|e| e.to_string())
    }

    #[test]
    fn the_documented_example_loads() {
        let settings = load_yaml(PEBBLE).unwrap();
        assert_eq!(settings.nats.url, "nats://127.0.0.1:4222");
        assert_eq!(
            settings.bus_secret_file.as_deref(),
            Some(Path::new("/run/secrets/bus"))
        );
        let r = &settings.resolvers["pebble"];
        assert_eq!(r.ca_server, "https://127.0.0.1:14000/dir");
        assert_eq!(r.key_type, KeyType::Ec256);
        assert_eq!(r.challenges, [ChallengeKind::Http01]);
        assert_eq!(r.certificates_duration_hours, 2160);
        assert_eq!(r.ca_certificates, [PathBuf::from("/tmp/pebble/ca.pem")]);
    }

    #[test]
    fn toml_and_defaults() {
        let text = r#"
[certificatesResolvers.le.acme]
email = "a@b.c"
storage = "acme.json"
[certificatesResolvers.le.acme.tlsChallenge]
"#;
        let settings = check(parse(text, true).unwrap()).unwrap();
        let r = &settings.resolvers["le"];
        assert_eq!(r.ca_server, LETS_ENCRYPT);
        assert_eq!(r.key_type, KeyType::Ec256);
        assert_eq!(r.challenges, [ChallengeKind::TlsAlpn01]);
        assert_eq!(r.certificates_duration_hours, DEFAULT_CERTIFICATES_DURATION);
    }

    #[test]
    fn errors_name_the_field() {
        let resolver = |acme: &str| format!("certificatesResolvers:\n  le:\n    acme: {acme}\n");
        let cases = [
            (
                "unknown key",
                resolver("{email: a, tlsChallenge: {}, bogus: 1}"),
                "bogus",
            ),
            (
                "bad key type",
                resolver("{keyType: EC999, tlsChallenge: {}}"),
                "certificatesResolvers.le.acme.keyType",
            ),
            (
                "rsa size not offered",
                resolver("{keyType: RSA1024, tlsChallenge: {}}"),
                "certificatesResolvers.le.acme.keyType",
            ),
            (
                "no challenge",
                resolver("{email: a}"),
                "certificatesResolvers.le.acme: needs httpChallenge",
            ),
            (
                "dns",
                resolver("{dnsChallenge: {provider: x}}"),
                "certificatesResolvers.le.acme.dnsChallenge",
            ),
            (
                "empty entrypoint",
                resolver("{httpChallenge: {entryPoint: ''}}"),
                "certificatesResolvers.le.acme.httpChallenge.entryPoint",
            ),
            (
                "bad ca server",
                resolver("{caServer: 'ftp://x', tlsChallenge: {}}"),
                "certificatesResolvers.le.acme.caServer",
            ),
            (
                "zero duration",
                resolver("{certificatesDuration: 0, tlsChallenge: {}}"),
                "certificatesResolvers.le.acme.certificatesDuration",
            ),
            (
                "bad eab",
                resolver("{eab: {kid: k, hmacEncoded: '!!'}, tlsChallenge: {}}"),
                "certificatesResolvers.le.acme.eab.hmacEncoded",
            ),
            (
                "wrong type",
                resolver("{certificatesDuration: soon, tlsChallenge: {}}"),
                "certificatesDuration",
            ),
            ("unknown top-level key", "bogus: 1\n".to_owned(), "bogus"),
        ];
        for (case, text, expected) in cases {
            let err = load_yaml(&text).expect_err(case);
            assert!(err.contains(expected), "{case}: {err}");
        }
    }

    #[test]
    fn eab_decodes() {
        let text = "certificatesResolvers:\n  z:\n    acme: {eab: {kid: kid-1, hmacEncoded: aGVsbG8}, tlsChallenge: {}}\n";
        let settings = load_yaml(text).unwrap();
        assert_eq!(
            settings.resolvers["z"].eab,
            Some(("kid-1".to_owned(), b"hello".to_vec()))
        );
    }
}
