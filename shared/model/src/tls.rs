//! `tls`: certificates, TLS options and certificate stores, plus the shared `Domain`
//! and `Certificate` shapes.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use crate::validate::{Errors, FieldError};

/// The `tls` section of the dynamic configuration.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(default, rename_all = "camelCase")]
pub struct TlsConfig {
    /// Certificates to serve, each optionally bound to stores (`tls.certificates`).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub certificates: Vec<CertAndStores>,
    /// Named TLS options (`tls.options`); `default` applies to routers naming none.
    #[serde(skip_serializing_if = "BTreeMap::is_empty")]
    pub options: BTreeMap<String, TlsOptions>,
    /// Named certificate stores (`tls.stores`); only `default` is used by Traefik.
    #[serde(skip_serializing_if = "BTreeMap::is_empty")]
    pub stores: BTreeMap<String, Store>,
}

impl TlsConfig {
    /// True when nothing is configured.
    pub fn is_empty(&self) -> bool {
        self.certificates.is_empty() && self.options.is_empty() && self.stores.is_empty()
    }
}

/// A domain with subject alternative names (Traefik's `types.Domain`).
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(default, rename_all = "camelCase")]
pub struct Domain {
    /// The main domain name.
    #[serde(skip_serializing_if = "String::is_empty")]
    pub main: String,
    /// Subject alternative names.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub sans: Vec<String>,
}

impl Domain {
    /// `main` followed by `sans`, skipping an empty `main`.
    pub fn names(&self) -> impl Iterator<Item = &str> {
        std::iter::once(self.main.as_str())
            .filter(|m| !m.is_empty())
            .chain(self.sans.iter().map(String::as_str))
    }
}

/// A certificate and its key; each is a file path or the PEM content itself
/// (Traefik's `FileOrContent`).
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(default, rename_all = "camelCase")]
pub struct Certificate {
    /// Certificate (chain): path or PEM content.
    #[serde(skip_serializing_if = "String::is_empty")]
    pub cert_file: String,
    /// Private key: path or PEM content.
    #[serde(skip_serializing_if = "String::is_empty")]
    pub key_file: String,
}

impl Certificate {
    /// Checks that both parts are given.
    pub fn validate(&self) -> Vec<FieldError> {
        let mut errs = Errors::default();
        errs.require("certFile", &self.cert_file);
        errs.require("keyFile", &self.key_file);
        errs.into_vec()
    }
}

/// An entry of `tls.certificates`: a certificate and the stores it goes to.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(default, rename_all = "camelCase")]
pub struct CertAndStores {
    /// Certificate (chain): path or PEM content.
    #[serde(skip_serializing_if = "String::is_empty")]
    pub cert_file: String,
    /// Private key: path or PEM content.
    #[serde(skip_serializing_if = "String::is_empty")]
    pub key_file: String,
    /// Stores to add the certificate to; empty means the `default` store.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub stores: Vec<String>,
}

impl CertAndStores {
    /// The certificate part.
    pub fn certificate(&self) -> Certificate {
        Certificate {
            cert_file: self.cert_file.clone(),
            key_file: self.key_file.clone(),
        }
    }

    /// Checks that both the certificate and the key are given.
    pub fn validate(&self) -> Vec<FieldError> {
        self.certificate().validate()
    }
}

/// Client certificate authentication of a TLS option.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(default, rename_all = "camelCase")]
pub struct ClientAuth {
    /// CA certificates (paths or PEM contents) that client certificates must chain to.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub ca_files: Vec<String>,
    /// One of [`CLIENT_AUTH_TYPES`]; empty means `NoClientCert`.
    #[serde(skip_serializing_if = "String::is_empty")]
    pub client_auth_type: String,
}

/// The values Traefik accepts for `clientAuth.clientAuthType`.
pub const CLIENT_AUTH_TYPES: [&str; 5] = [
    "NoClientCert",
    "RequestClientCert",
    "RequireAnyClientCert",
    "VerifyClientCertIfGiven",
    "RequireAndVerifyClientCert",
];

/// TLS versions Traefik knows for `minVersion`/`maxVersion`.
pub const TLS_VERSIONS: [&str; 4] = [
    "VersionTLS10",
    "VersionTLS11",
    "VersionTLS12",
    "VersionTLS13",
];

/// TLS versions Switchyard can actually negotiate (rustls implements 1.2 and 1.3 only).
pub const SUPPORTED_TLS_VERSIONS: [&str; 2] = ["VersionTLS12", "VersionTLS13"];

/// Cipher suite names Traefik accepts in `cipherSuites` (Go's names).
pub const CIPHER_SUITES: [&str; 28] = [
    "TLS_RSA_WITH_RC4_128_SHA",
    "TLS_RSA_WITH_3DES_EDE_CBC_SHA",
    "TLS_RSA_WITH_AES_128_CBC_SHA",
    "TLS_RSA_WITH_AES_256_CBC_SHA",
    "TLS_RSA_WITH_AES_128_CBC_SHA256",
    "TLS_RSA_WITH_AES_128_GCM_SHA256",
    "TLS_RSA_WITH_AES_256_GCM_SHA384",
    "TLS_ECDHE_ECDSA_WITH_RC4_128_SHA",
    "TLS_ECDHE_ECDSA_WITH_AES_128_CBC_SHA",
    "TLS_ECDHE_ECDSA_WITH_AES_256_CBC_SHA",
    "TLS_ECDHE_RSA_WITH_RC4_128_SHA",
    "TLS_ECDHE_RSA_WITH_3DES_EDE_CBC_SHA",
    "TLS_ECDHE_RSA_WITH_AES_128_CBC_SHA",
    "TLS_ECDHE_RSA_WITH_AES_256_CBC_SHA",
    "TLS_ECDHE_ECDSA_WITH_AES_128_CBC_SHA256",
    "TLS_ECDHE_RSA_WITH_AES_128_CBC_SHA256",
    "TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256",
    "TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256",
    "TLS_ECDHE_RSA_WITH_AES_256_GCM_SHA384",
    "TLS_ECDHE_ECDSA_WITH_AES_256_GCM_SHA384",
    "TLS_ECDHE_RSA_WITH_CHACHA20_POLY1305",
    "TLS_ECDHE_RSA_WITH_CHACHA20_POLY1305_SHA256",
    "TLS_ECDHE_ECDSA_WITH_CHACHA20_POLY1305",
    "TLS_ECDHE_ECDSA_WITH_CHACHA20_POLY1305_SHA256",
    "TLS_AES_128_GCM_SHA256",
    "TLS_AES_256_GCM_SHA384",
    "TLS_CHACHA20_POLY1305_SHA256",
    "TLS_FALLBACK_SCSV",
];

/// Curve names Traefik accepts in `curvePreferences`.
pub const CURVES: [&str; 14] = [
    "secp256r1",
    "CurveP256",
    "secp384r1",
    "CurveP384",
    "secp521r1",
    "CurveP521",
    "x25519",
    "X25519",
    "x25519mlkem768",
    "X25519MLKEM768",
    "secp256r1mlkem768",
    "SecP256r1MLKEM768",
    "secp384r1mlkem1024",
    "SecP384r1MLKEM1024",
];

/// ALPN protocols Traefik offers when `alpnProtocols` is empty.
pub const DEFAULT_ALPN_PROTOCOLS: [&str; 3] = ["h2", "http/1.1", "acme-tls/1"];

/// A named TLS option set (`tls.options.<name>`).
///
/// Empty `cipherSuites`/`alpnProtocols` mean Traefik's defaults (all secure suites;
/// [`DEFAULT_ALPN_PROTOCOLS`]); an empty `minVersion` means TLS 1.2 for the `default`
/// option.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(default, rename_all = "camelCase")]
pub struct TlsOptions {
    /// Minimum TLS version, e.g. `VersionTLS12`.
    #[serde(skip_serializing_if = "String::is_empty")]
    pub min_version: String,
    /// Maximum TLS version, e.g. `VersionTLS13`.
    #[serde(skip_serializing_if = "String::is_empty")]
    pub max_version: String,
    /// Allowed cipher suites (Go names), for TLS 1.2 and below.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub cipher_suites: Vec<String>,
    /// Elliptic curves in preference order.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub curve_preferences: Vec<String>,
    /// Client certificate authentication.
    #[serde(skip_serializing_if = "crate::validate::serde_fns::is_default")]
    pub client_auth: ClientAuth,
    /// Reject handshakes whose SNI matches no certificate.
    #[serde(skip_serializing_if = "crate::validate::serde_fns::is_false")]
    pub sni_strict: bool,
    /// ALPN protocols to offer, in preference order.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub alpn_protocols: Vec<String>,
    /// Disable TLS session resumption via tickets.
    #[serde(skip_serializing_if = "crate::validate::serde_fns::is_false")]
    pub disable_session_tickets: bool,
    /// Deprecated (ignored by Go since 1.18); accepted for compatibility.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub prefer_server_cipher_suites: Option<bool>,
}

impl TlsOptions {
    /// The ALPN protocols to offer: the configured ones, or Traefik's defaults.
    pub fn alpn_protocols_or_default(&self) -> Vec<String> {
        if self.alpn_protocols.is_empty() {
            DEFAULT_ALPN_PROTOCOLS
                .iter()
                .map(|s| (*s).to_owned())
                .collect()
        } else {
            self.alpn_protocols.clone()
        }
    }

    /// Checks versions, cipher suite and curve names, and the client auth type.
    ///
    /// `minVersion` may name TLS 1.0/1.1 (the effective minimum is then 1.2, which is
    /// all rustls offers); `maxVersion` must be 1.2 or 1.3.
    pub fn validate(&self) -> Vec<FieldError> {
        let mut errs = Errors::default();
        let min = version_rank(&self.min_version);
        let max = version_rank(&self.max_version);
        if !self.min_version.is_empty() && min.is_none() {
            errs.push(
                "minVersion",
                format!(
                    "unknown TLS version {:?}; expected one of {}",
                    self.min_version,
                    TLS_VERSIONS.join(", ")
                ),
            );
        }
        if !self.max_version.is_empty() {
            match max {
                None => errs.push(
                    "maxVersion",
                    format!(
                        "unknown TLS version {:?}; expected one of {}",
                        self.max_version,
                        SUPPORTED_TLS_VERSIONS.join(", ")
                    ),
                ),
                Some(rank) if rank < 2 => errs.push(
                    "maxVersion",
                    format!(
                        "{} is not supported (only {} can be negotiated)",
                        self.max_version,
                        SUPPORTED_TLS_VERSIONS.join(" and ")
                    ),
                ),
                Some(_) => {}
            }
        }
        if let (Some(min), Some(max)) = (min, max)
            && min > max
        {
            errs.push(
                "minVersion",
                format!(
                    "minVersion {} is above maxVersion {}",
                    self.min_version, self.max_version
                ),
            );
        }
        for (i, suite) in self.cipher_suites.iter().enumerate() {
            if !CIPHER_SUITES.contains(&suite.as_str()) {
                errs.push(
                    format!("cipherSuites[{i}]"),
                    format!("unknown cipher suite {suite:?}"),
                );
            }
        }
        for (i, curve) in self.curve_preferences.iter().enumerate() {
            if !CURVES.contains(&curve.as_str()) {
                errs.push(
                    format!("curvePreferences[{i}]"),
                    format!("unknown curve {curve:?}"),
                );
            }
        }
        let auth_type = &self.client_auth.client_auth_type;
        if !auth_type.is_empty() && !CLIENT_AUTH_TYPES.contains(&auth_type.as_str()) {
            errs.push(
                "clientAuth.clientAuthType",
                format!(
                    "unknown client auth type {auth_type:?}; expected one of {}",
                    CLIENT_AUTH_TYPES.join(", ")
                ),
            );
        }
        if matches!(
            auth_type.as_str(),
            "VerifyClientCertIfGiven" | "RequireAndVerifyClientCert"
        ) && self.client_auth.ca_files.is_empty()
        {
            errs.push(
                "clientAuth.caFiles",
                format!("{auth_type} needs at least one CA file"),
            );
        }
        errs.into_vec()
    }
}

/// 0 for TLS 1.0 ... 3 for TLS 1.3.
fn version_rank(version: &str) -> Option<usize> {
    TLS_VERSIONS.iter().position(|v| *v == version)
}

/// A certificate store (`tls.stores.<name>`).
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(default, rename_all = "camelCase")]
pub struct Store {
    /// Certificate served when no other matches.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub default_certificate: Option<Certificate>,
    /// Obtain the default certificate from a certificate resolver instead.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub default_generated_cert: Option<GeneratedCert>,
}

impl Store {
    /// Checks the default certificate and the generated-certificate settings.
    pub fn validate(&self) -> Vec<FieldError> {
        let mut errs = Errors::default();
        if let Some(cert) = &self.default_certificate {
            errs.nest("defaultCertificate", cert.validate());
        }
        if let Some(generated) = &self.default_generated_cert {
            errs.require("defaultGeneratedCert.resolver", &generated.resolver);
            match &generated.domain {
                Some(domain) if !domain.main.trim().is_empty() => {}
                _ => errs.push("defaultGeneratedCert.domain.main", "must not be empty"),
            }
        }
        errs.into_vec()
    }
}

/// A default certificate obtained from a certificate resolver.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(default, rename_all = "camelCase")]
pub struct GeneratedCert {
    /// Name of the certificate resolver.
    #[serde(skip_serializing_if = "String::is_empty")]
    pub resolver: String,
    /// Domain to obtain the certificate for.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub domain: Option<Domain>,
}
