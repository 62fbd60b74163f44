//! Bucket names and key layout of the bus contract.
//!
//! Every key is a sequence of NATS tokens separated by `.`. Names chosen by users
//! (routers, services, provider names, server URLs) are escaped into a single token so
//! that any name fits the KV key alphabet and no name can inject a separator.

use std::fmt;

use switchyard_model::ResourceKind;

/// Dynamic configuration: one key per resource per provider, plus per-provider markers.
pub const CONFIG_BUCKET: &str = "switchyard_config_v1";
/// Certificates (chain in clear, private key sealed), one key per certificate.
pub const CERTS_BUCKET: &str = "switchyard_certs_v1";
/// Pending ACME challenges (HTTP-01 tokens, TLS-ALPN-01 certificates).
pub const CHALLENGES_BUCKET: &str = "switchyard_challenges_v1";
/// Up/down state of each load-balancer server.
pub const HEALTH_BUCKET: &str = "switchyard_health_v1";
/// Proxy heartbeats: which replica serves which configuration revision.
pub const PROXIES_BUCKET: &str = "switchyard_proxies_v1";
/// Leases (certificates active/standby, health work sharing).
pub const LEASES_BUCKET: &str = "switchyard_leases_v1";
/// The certificates service's own state: ACME accounts (sealed) and certificate status.
pub const ACME_BUCKET: &str = "switchyard_acme_v1";

/// The token that marks the end of one provider's batch of changes.
pub const COMMIT_TOKEN: &str = "_commit";
/// The token under which a provider publishes its own status.
pub const STATUS_TOKEN: &str = "_status";

/// A key that cannot be read as part of the contract.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("bus key {key:?}: {reason}")]
pub struct KeyError {
    /// The key as received.
    pub key: String,
    /// What is wrong with it.
    pub reason: String,
}

impl KeyError {
    fn new(key: &str, reason: impl Into<String>) -> Self {
        Self {
            key: key.to_owned(),
            reason: reason.into(),
        }
    }
}

/// Escapes `raw` into one KV key token: `[A-Za-z0-9_-]` stay, every other byte becomes `=XX`.
pub fn escape_token(raw: &str) -> String {
    let mut out = String::with_capacity(raw.len());
    for b in raw.bytes() {
        if b.is_ascii_alphanumeric() || b == b'_' || b == b'-' {
            out.push(b as char);
        } else {
            out.push('=');
            out.push(char::from(HEX[(b >> 4) as usize]));
            out.push(char::from(HEX[(b & 0xf) as usize]));
        }
    }
    if out.is_empty() {
        // An empty token is not a valid key part; `=` alone can never come out of escaping.
        out.push('=');
    }
    out
}

const HEX: &[u8; 16] = b"0123456789ABCDEF";

/// Reverses [`escape_token`].
pub fn unescape_token(token: &str) -> Result<String, KeyError> {
    if token == "=" {
        return Ok(String::new());
    }
    let bytes = token.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        let b = bytes[i];
        if b == b'=' {
            let hi = bytes.get(i + 1).and_then(|c| (*c as char).to_digit(16));
            let lo = bytes.get(i + 2).and_then(|c| (*c as char).to_digit(16));
            match (hi, lo) {
                (Some(hi), Some(lo)) => out.push((hi * 16 + lo) as u8),
                _ => return Err(KeyError::new(token, "bad escape")),
            }
            i += 3;
        } else if b.is_ascii_alphanumeric() || b == b'_' || b == b'-' {
            out.push(b);
            i += 1;
        } else {
            return Err(KeyError::new(
                token,
                format!("character {:?} not allowed", b as char),
            ));
        }
    }
    String::from_utf8(out).map_err(|_| KeyError::new(token, "escaped bytes are not UTF-8"))
}

/// The key token of each resource kind in the config bucket.
pub fn kind_token(kind: ResourceKind) -> &'static str {
    match kind {
        ResourceKind::HttpRouter => "http-routers",
        ResourceKind::HttpService => "http-services",
        ResourceKind::HttpMiddleware => "http-middlewares",
        ResourceKind::HttpServersTransport => "http-serverstransports",
        ResourceKind::TcpRouter => "tcp-routers",
        ResourceKind::TcpService => "tcp-services",
        ResourceKind::TcpMiddleware => "tcp-middlewares",
        ResourceKind::TcpServersTransport => "tcp-serverstransports",
        ResourceKind::UdpRouter => "udp-routers",
        ResourceKind::UdpService => "udp-services",
        ResourceKind::TlsCertificate => "tls-certificates",
        ResourceKind::TlsOption => "tls-options",
        ResourceKind::TlsStore => "tls-stores",
    }
}

fn kind_from_token(token: &str) -> Option<ResourceKind> {
    ResourceKind::ALL
        .iter()
        .copied()
        .find(|k| kind_token(*k) == token)
}

/// Checks a provider name: lower-case letters, digits and `-`, starting with a letter.
///
/// Provider names appear in resource names (`web@docker-edge`) and in keys, so they are
/// kept to an alphabet that needs no escaping anywhere.
pub fn validate_provider_name(name: &str) -> Result<(), String> {
    let ok = name.len() <= 64
        && name.starts_with(|c: char| c.is_ascii_lowercase())
        && name
            .chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-');
    if ok {
        Ok(())
    } else {
        Err(format!(
            "provider name {name:?} must be 1-64 characters of a-z, 0-9 and '-', starting with a letter"
        ))
    }
}

/// The address of one resource of one provider in the config bucket.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct ConfigKey {
    /// The provider that published it (`file`, `docker-edge`).
    pub provider: String,
    /// What kind of resource it is.
    pub kind: ResourceKind,
    /// The resource's name inside its provider (not qualified).
    pub name: String,
}

impl ConfigKey {
    /// Builds a key.
    pub fn new(provider: impl Into<String>, kind: ResourceKind, name: impl Into<String>) -> Self {
        Self {
            provider: provider.into(),
            kind,
            name: name.into(),
        }
    }
}

impl fmt::Display for ConfigKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{}.{}.{}",
            self.provider,
            kind_token(self.kind),
            escape_token(&self.name)
        )
    }
}

/// What a key of the config bucket addresses.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ConfigEntryKey {
    /// A resource.
    Resource(ConfigKey),
    /// The end of a batch of changes of this provider.
    Commit(String),
    /// The status of this provider.
    Status(String),
}

impl ConfigEntryKey {
    /// Reads a key of the config bucket.
    pub fn parse(key: &str) -> Result<Self, KeyError> {
        let mut parts = key.split('.');
        let provider = parts.next().unwrap_or_default();
        validate_provider_name(provider).map_err(|e| KeyError::new(key, e))?;
        let second = parts
            .next()
            .ok_or_else(|| KeyError::new(key, "missing section"))?;
        let third = parts.next();
        if parts.next().is_some() {
            return Err(KeyError::new(key, "too many tokens"));
        }
        match (second, third) {
            (COMMIT_TOKEN, None) => Ok(Self::Commit(provider.to_owned())),
            (STATUS_TOKEN, None) => Ok(Self::Status(provider.to_owned())),
            (section, Some(name)) => {
                let kind = kind_from_token(section)
                    .ok_or_else(|| KeyError::new(key, format!("unknown section {section:?}")))?;
                Ok(Self::Resource(ConfigKey {
                    provider: provider.to_owned(),
                    kind,
                    name: unescape_token(name)?,
                }))
            }
            (section, None) => Err(KeyError::new(key, format!("unknown marker {section:?}"))),
        }
    }
}

/// The key of a provider's commit marker.
pub fn commit_key(provider: &str) -> String {
    format!("{provider}.{COMMIT_TOKEN}")
}

/// The key of a provider's status.
pub fn status_key(provider: &str) -> String {
    format!("{provider}.{STATUS_TOKEN}")
}

/// The key filter that selects every key of one provider.
pub fn provider_filter(provider: &str) -> String {
    format!("{provider}.>")
}

/// Key of a server's health: `<service escaped>.<server URL escaped>`.
pub fn health_key(service: &str, server: &str) -> String {
    format!("{}.{}", escape_token(service), escape_token(server))
}

/// Reads a health key back into (service, server).
pub fn parse_health_key(key: &str) -> Result<(String, String), KeyError> {
    let (service, server) = key
        .split_once('.')
        .ok_or_else(|| KeyError::new(key, "expected <service>.<server>"))?;
    Ok((unescape_token(service)?, unescape_token(server)?))
}

/// Key of an HTTP-01 challenge token.
pub fn http01_key(token: &str) -> String {
    format!("http01.{}", escape_token(token))
}

/// Key of a TLS-ALPN-01 challenge certificate for a domain.
pub fn tls_alpn01_key(domain: &str) -> String {
    format!("tlsalpn01.{}", escape_token(domain))
}

/// Certificate id (certs bucket key) of an ACME certificate:
/// `acme.<resolver escaped>.<main domain escaped>`.
pub fn acme_certificate_key(resolver: &str, main_domain: &str) -> String {
    format!(
        "acme.{}.{}",
        escape_token(resolver),
        escape_token(&main_domain.to_ascii_lowercase())
    )
}

/// Certificate id (certs bucket key) of a static certificate of the dynamic configuration:
/// `file.<provider>.<record name escaped>` (the record name of `tls.certificates` entries is
/// the hash of their spec, see the config bucket).
pub fn file_certificate_key(provider: &str, name: &str) -> String {
    format!("file.{}.{}", escape_token(provider), escape_token(name))
}

/// Key of a resolver's ACME account in [`ACME_BUCKET`]: `account.<resolver escaped>`.
pub fn acme_account_key(resolver: &str) -> String {
    format!("account.{}", escape_token(resolver))
}

/// Key of a certificate's status in [`ACME_BUCKET`]: `status.<certificate id escaped>`.
pub fn certificate_status_key(certificate_id: &str) -> String {
    format!("status.{}", escape_token(certificate_id))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn escaping_round_trips_and_stays_one_token() {
        let cases = [
            ("plain", "plain", "plain"),
            ("dots", "a.b", "a=2Eb"),
            ("at", "web@docker", "web=40docker"),
            (
                "url",
                "http://10.0.0.1:80/",
                "http=3A=2F=2F10=2E0=2E0=2E1=3A80=2F",
            ),
            ("empty", "", "="),
            ("equals", "a=b", "a=3Db"),
            ("unicode", "café", "caf=C3=A9"),
            ("wildcards", "*>", "=2A=3E"),
        ];
        for (case, raw, escaped) in cases {
            assert_eq!(escape_token(raw), escaped, "{case}");
            assert_eq!(unescape_token(escaped).as_deref(), Ok(raw), "{case}");
        }
    }

    #[test]
    fn bad_tokens_are_errors() {
        for token in ["=4", "=ZZ", "a.b", "a*", "=FF"] {
            assert!(unescape_token(token).is_err(), "{token}");
        }
    }

    #[test]
    fn config_keys_parse() {
        let key = ConfigKey::new("docker-edge", ResourceKind::HttpRouter, "web.v2@x");
        let text = key.to_string();
        assert_eq!(text, "docker-edge.http-routers.web=2Ev2=40x");
        assert_eq!(
            ConfigEntryKey::parse(&text),
            Ok(ConfigEntryKey::Resource(key))
        );
        assert_eq!(
            ConfigEntryKey::parse("file._commit"),
            Ok(ConfigEntryKey::Commit("file".into()))
        );
        assert_eq!(
            ConfigEntryKey::parse("file._status"),
            Ok(ConfigEntryKey::Status("file".into()))
        );
        for bad in [
            "",
            "File.http-routers.a",
            "file",
            "file.nope.a",
            "file._other",
            "file.http-routers.a.b",
        ] {
            assert!(ConfigEntryKey::parse(bad).is_err(), "{bad:?}");
        }
    }

    #[test]
    fn every_kind_has_a_distinct_token() {
        for kind in ResourceKind::ALL {
            assert_eq!(kind_from_token(kind_token(kind)), Some(kind));
        }
    }

    #[test]
    fn certificate_keys() {
        let cases = [
            (
                "acme",
                acme_certificate_key("le", "App.Example.com"),
                "acme.le.app=2Eexample=2Ecom",
            ),
            (
                "file",
                file_certificate_key("file", "0a1b2c3d4e5f6071"),
                "file.file.0a1b2c3d4e5f6071",
            ),
            ("account", acme_account_key("le"), "account.le"),
            (
                "status",
                certificate_status_key("acme.le.a=2Eb"),
                "status.acme=2Ele=2Ea=3D2Eb",
            ),
        ];
        for (case, key, expected) in cases {
            assert_eq!(key, expected, "{case}");
        }
    }

    #[test]
    fn health_keys_round_trip() {
        let key = health_key("api@file", "http://10.0.0.2:8080");
        assert_eq!(
            parse_health_key(&key),
            Ok(("api@file".into(), "http://10.0.0.2:8080".into()))
        );
    }
}
