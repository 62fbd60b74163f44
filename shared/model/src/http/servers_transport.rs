//! HTTP servers transports: how Switchyard connects to backend servers.

use serde::{Deserialize, Serialize};

use crate::duration::Duration;
use crate::tls::Certificate;
use crate::validate::serde_fns::{is_false, is_zero_i64};
use crate::validate::{Errors, FieldError};

/// Connection settings towards servers (`http.serversTransports.<name>`).
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(default, rename_all = "camelCase")]
pub struct ServersTransport {
    /// SNI / certificate name to use towards servers.
    #[serde(skip_serializing_if = "String::is_empty")]
    pub server_name: String,
    /// Do not verify server certificates.
    #[serde(skip_serializing_if = "is_false")]
    pub insecure_skip_verify: bool,
    /// CA certificates (paths or PEM contents) to verify servers with.
    #[serde(rename = "rootCAs", skip_serializing_if = "Vec::is_empty")]
    pub root_cas: Vec<String>,
    /// Client certificates for mTLS.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub certificates: Vec<Certificate>,
    /// Idle keep-alive connections kept per host; 0 means the default (200), negative
    /// disables reuse.
    #[serde(skip_serializing_if = "is_zero_i64")]
    pub max_idle_conns_per_host: i64,
    /// Timeouts; `None` means [`ForwardingTimeouts::default`].
    #[serde(skip_serializing_if = "Option::is_none")]
    pub forwarding_timeouts: Option<ForwardingTimeouts>,
    /// Only use HTTP/1.1 towards servers.
    #[serde(rename = "disableHTTP2", skip_serializing_if = "is_false")]
    pub disable_http2: bool,
    /// Deprecated: URI SAN that server certificates must carry.
    #[serde(rename = "peerCertURI", skip_serializing_if = "String::is_empty")]
    pub peer_cert_uri: String,
    /// SPIFFE authentication of servers; present (even empty) enables it.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub spiffe: Option<Spiffe>,
}

impl ServersTransport {
    /// The timeouts in effect.
    pub fn timeouts(&self) -> ForwardingTimeouts {
        self.forwarding_timeouts.unwrap_or_default()
    }

    /// Checks client certificates and timeouts.
    pub fn validate(&self) -> Vec<FieldError> {
        let mut errs = Errors::default();
        for (i, cert) in self.certificates.iter().enumerate() {
            errs.nest(&format!("certificates[{i}]"), cert.validate());
        }
        for (i, ca) in self.root_cas.iter().enumerate() {
            errs.require(&format!("rootCAs[{i}]"), ca);
        }
        if let Some(t) = &self.forwarding_timeouts {
            errs.nest("forwardingTimeouts", t.validate());
        }
        if let Some(spiffe) = &self.spiffe {
            errs.nest("spiffe", spiffe.validate());
        }
        errs.into_vec()
    }
}

/// Timeouts towards servers.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, rename_all = "camelCase")]
pub struct ForwardingTimeouts {
    /// Time to establish a connection (default 30s; 0 means none).
    pub dial_timeout: Duration,
    /// Time to wait for response headers after writing the request (0 means none).
    pub response_header_timeout: Duration,
    /// How long an idle keep-alive connection stays open (default 90s).
    pub idle_conn_timeout: Duration,
    /// HTTP/2: ping the server after this long without frames (0 disables).
    pub read_idle_timeout: Duration,
    /// HTTP/2: close the connection when a ping gets no answer within this (default 15s).
    pub ping_timeout: Duration,
}

impl Default for ForwardingTimeouts {
    fn default() -> Self {
        ForwardingTimeouts {
            dial_timeout: Duration::from_secs(30),
            response_header_timeout: Duration::ZERO,
            idle_conn_timeout: Duration::from_secs(90),
            read_idle_timeout: Duration::ZERO,
            ping_timeout: Duration::from_secs(15),
        }
    }
}

impl ForwardingTimeouts {
    /// No timeout may be negative.
    pub fn validate(&self) -> Vec<FieldError> {
        let mut errs = Errors::default();
        for (field, d) in [
            ("dialTimeout", self.dial_timeout),
            ("responseHeaderTimeout", self.response_header_timeout),
            ("idleConnTimeout", self.idle_conn_timeout),
            ("readIdleTimeout", self.read_idle_timeout),
            ("pingTimeout", self.ping_timeout),
        ] {
            if d.is_negative() {
                errs.push(field, format!("must not be negative, got {d}"));
            }
        }
        errs.into_vec()
    }
}

/// SPIFFE authentication of servers.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(default, rename_all = "camelCase")]
pub struct Spiffe {
    /// Allowed SPIFFE IDs (take precedence over `trustDomain`).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub ids: Vec<String>,
    /// Allowed SPIFFE trust domain.
    #[serde(skip_serializing_if = "String::is_empty")]
    pub trust_domain: String,
}

impl Spiffe {
    /// IDs must be `spiffe://` URIs.
    pub fn validate(&self) -> Vec<FieldError> {
        let mut errs = Errors::default();
        for (i, id) in self.ids.iter().enumerate() {
            if !id.starts_with("spiffe://") {
                errs.push(format!("ids[{i}]"), format!("{id:?} is not a spiffe:// ID"));
            }
        }
        errs.into_vec()
    }
}
