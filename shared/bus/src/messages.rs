//! Payloads of the bus contract other than configuration resources.
//!
//! Every payload is JSON. New fields are added with `#[serde(default)]` so that payloads
//! written by older versions keep decoding (tests/fixtures/v1 holds one of each); a change
//! that cannot be made that way gets new bucket names (`_v2`).

use serde::{Deserialize, Serialize};

use crate::sealed::Sealed;

/// The end of one provider's batch of changes (`<provider>._commit` in the config bucket).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Commit {
    /// Increases by one with every batch the provider publishes.
    pub generation: u64,
    /// How many keys the batch put or deleted.
    #[serde(default)]
    pub changed: u64,
    /// How many resources the provider publishes in total after this batch.
    #[serde(default)]
    pub resources: u64,
    /// When the batch was published, Unix milliseconds.
    #[serde(default)]
    pub at_ms: u64,
}

/// A provider's own status (`<provider>._status` in the config bucket).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ProviderStatus {
    /// The provider's configured name (`docker-edge`).
    pub provider: String,
    /// Its kind (`file`, `docker`, `kubernetes`).
    #[serde(default)]
    pub kind: String,
    /// False while its source is unreachable or its last snapshot failed.
    pub healthy: bool,
    /// The last error, if the last attempt failed.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub last_error: Option<String>,
    /// When the last snapshot was published, Unix milliseconds.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub last_snapshot_at_ms: Option<u64>,
    /// The generation of the last commit.
    #[serde(default)]
    pub generation: u64,
    /// The instance that publishes for this provider.
    #[serde(default)]
    pub instance: String,
}

/// A proxy replica's heartbeat (`<instance>` in the proxies bucket).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Heartbeat {
    /// The replica's instance id.
    pub instance: String,
    /// The config bucket revision (stream sequence) of the last change this replica applied.
    pub config_revision: u64,
    /// Routers this replica has enabled.
    #[serde(default)]
    pub routers_enabled: u64,
    /// Routers disabled by errors (reasons in `disabled`).
    #[serde(default)]
    pub routers_disabled: u64,
    /// The first disabled routers with their reasons (bounded, so that a heartbeat stays small).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub disabled: Vec<DisabledRouter>,
    /// Software version.
    #[serde(default)]
    pub version: String,
    /// When the replica started, Unix milliseconds.
    #[serde(default)]
    pub started_at_ms: u64,
    /// When this heartbeat was sent, Unix milliseconds.
    #[serde(default)]
    pub sent_at_ms: u64,
}

/// A router that a replica does not serve, and why.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct DisabledRouter {
    /// Qualified name, `name@provider`.
    pub router: String,
    /// Why it is disabled.
    pub reasons: Vec<String>,
}

/// A server's health (`<service>.<server>` in the health bucket).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ServerHealth {
    /// Qualified service name.
    pub service: String,
    /// The server URL as configured.
    pub server: String,
    /// Whether the server is in rotation.
    pub up: bool,
    /// Why it is down (status code, timeout, connection refused).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
    /// When the state last changed, Unix milliseconds.
    #[serde(default)]
    pub since_ms: u64,
    /// The health instance that checked it.
    #[serde(default)]
    pub checker: String,
}

/// Where a certificate comes from.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", tag = "type")]
pub enum CertificateSource {
    /// Obtained over ACME by a certificate resolver.
    Acme {
        /// The resolver's name.
        resolver: String,
    },
    /// A static certificate from `tls.certificates` of a provider.
    File {
        /// Qualified origin, `index@provider`.
        origin: String,
    },
}

/// A certificate as every proxy serves it (`<id>` in the certs bucket).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct CertificateRecord {
    /// DNS names (and IPs) it is valid for; the first is the main domain.
    pub domains: Vec<String>,
    /// Leaf first, then intermediates, PEM.
    pub chain_pem: String,
    /// The PKCS#8 private key in PEM, sealed (context: the record's KV key).
    pub key: Sealed,
    /// End of validity, Unix seconds.
    pub not_after: i64,
    /// The issuer's distinguished name.
    #[serde(default)]
    pub issuer: String,
    /// Where it comes from.
    pub source: CertificateSource,
    /// TLS stores it belongs to (empty: the default store).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub stores: Vec<String>,
}

/// An HTTP-01 challenge every proxy answers (`http01.<token>` in the challenges bucket).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Http01Challenge {
    /// The token, as it appears in `/.well-known/acme-challenge/<token>`.
    pub token: String,
    /// The body to answer with.
    pub key_authorization: String,
    /// The domain being validated (for logs).
    #[serde(default)]
    pub domain: String,
}

/// A TLS-ALPN-01 challenge certificate (`tlsalpn01.<domain>` in the challenges bucket).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct TlsAlpn01Challenge {
    /// The domain being validated; the proxy presents the certificate for this SNI with ALPN `acme-tls/1`.
    pub domain: String,
    /// The self-signed challenge certificate, PEM.
    pub cert_pem: String,
    /// Its private key, sealed (context: the record's KV key).
    pub key: Sealed,
}

/// A lease (`<name>` in the leases bucket), held by updating it with compare-and-set.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Lease {
    /// The holder's instance id.
    pub holder: String,
    /// When the lease lapses unless renewed, Unix milliseconds.
    pub expires_at_ms: u64,
}

/// A resolver's ACME account (`account.<resolver>` in the ACME bucket), so that every
/// instance of the certificates service, and every restart, reuses one account.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct AcmeAccount {
    /// The resolver's name.
    pub resolver: String,
    /// The ACME directory URL the account lives on.
    pub ca_server: String,
    /// The contact email it was registered with.
    #[serde(default)]
    pub email: String,
    /// The account credentials (instant-acme's JSON: account URL and private key), sealed
    /// (context: the record's KV key).
    pub credentials: Sealed,
    /// When the account was created, Unix milliseconds.
    #[serde(default)]
    pub created_at_ms: u64,
}

/// What the certificates service knows about one certificate
/// (`status.<certificate id>` in the ACME bucket).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct CertificateStatus {
    /// The certificate id (its key in the certs bucket).
    pub id: String,
    /// The domains it is (to be) valid for; the first is the main domain.
    pub domains: Vec<String>,
    /// Where it comes from.
    pub source: CertificateSource,
    /// The issuer of the certificate in force, if any.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub issuer: Option<String>,
    /// End of validity of the certificate in force, Unix seconds.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub not_after: Option<i64>,
    /// When it will be renewed (or the next attempt), Unix seconds.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub next_attempt_at: Option<i64>,
    /// The last error, cleared by the next success.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub last_error: Option<String>,
    /// Routers that asked for it (`name@provider`).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub routers: Vec<String>,
    /// The instance that wrote this status.
    #[serde(default)]
    pub instance: String,
    /// When this status was written, Unix milliseconds.
    #[serde(default)]
    pub updated_at_ms: u64,
}
