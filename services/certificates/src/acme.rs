//! The ACME side: an HTTP client that trusts the web PKI plus the resolver's
//! `caCertificates` and remembers the CA's `Retry-After`, the account kept on the bus, one
//! order from challenge to chain, and ARI lookups.
//!
//! Everything here is async I/O called from the scheduler actor; the decisions around it
//! (what to order, when to retry) live in [`crate::plan`].

use std::future::Future;
use std::pin::Pin;
use std::sync::{Arc, Mutex};
use std::time::{Duration, SystemTime};

use async_nats::jetstream::kv;
use bytes::Bytes;
use instant_acme::{
    Account, AccountCredentials, AuthorizationStatus, BodyWrapper, BytesResponse,
    CertificateIdentifier, ChallengeType, ExternalAccountKey, HttpClient, Identifier, NewAccount,
    NewOrder, OrderStatus, RetryPolicy,
};
use rustls_pki_types::pem::PemObject;
use rustls_pki_types::{CertificateDer, Der};
use switchyard_bus::SealKey;
use switchyard_bus::keys::{acme_account_key, http01_key, tls_alpn01_key};
use switchyard_bus::messages::{AcmeAccount, Http01Challenge};
use switchyard_bus::nats::now_ms;
use tracing::{debug, info, warn};

use crate::config::{ChallengeKind, Resolver};
use crate::plan::Failure;
use crate::records::{self, csr, generate_key, tls_alpn01_challenge};

/// How long the proxies get to see a challenge before the CA is told to validate it.
pub const PROPAGATION: Duration = Duration::from_millis(500);

/// Why an ACME step failed.
#[derive(Debug, thiserror::Error)]
pub enum AcmeError {
    /// The CA or the HTTP client failed.
    #[error("ACME: {0}")]
    Acme(#[from] instant_acme::Error),
    /// A `caCertificates` file is unreadable or holds no certificate.
    #[error("caCertificates {path}: {message}")]
    CaFile {
        /// The file.
        path: String,
        /// Why.
        message: String,
    },
    /// The bus failed.
    #[error("bus: {0}")]
    Bus(String),
    /// A record could not be built.
    #[error(transparent)]
    Record(#[from] records::RecordError),
    /// The CA refused or the order went wrong.
    #[error("{0}")]
    Order(String),
}

impl AcmeError {
    /// The planner's view: message, rate limit, `Retry-After`.
    pub fn to_failure(&self, retry_after: Option<Duration>) -> Failure {
        let rate_limited = match self {
            AcmeError::Acme(instant_acme::Error::Api(p)) => p
                .r#type
                .as_deref()
                .is_some_and(|t| t.ends_with(":rateLimited")),
            _ => false,
        };
        Failure {
            message: self.to_string(),
            rate_limited,
            retry_after,
        }
    }
}

/// The HTTP client of one resolver: hyper + rustls (ring) trusting the web PKI roots and
/// the resolver's `caCertificates`; it remembers the last `Retry-After` of a 429/503.
#[derive(Clone)]
pub struct Http {
    client: hyper_util::client::legacy::Client<
        hyper_rustls::HttpsConnector<hyper_util::client::legacy::connect::HttpConnector>,
        BodyWrapper<Bytes>,
    >,
    retry_after: Arc<Mutex<Option<SystemTime>>>,
}

impl Http {
    /// Builds the client, reading every `caCertificates` file.
    pub fn new(resolver: &Resolver) -> Result<Self, AcmeError> {
        let mut roots = rustls::RootCertStore {
            roots: webpki_roots::TLS_SERVER_ROOTS.to_vec(),
        };
        for path in &resolver.ca_certificates {
            let shown = path.display().to_string();
            let pem = std::fs::read(path).map_err(|e| AcmeError::CaFile {
                path: shown.clone(),
                message: e.to_string(),
            })?;
            let mut added = 0;
            for cert in CertificateDer::pem_slice_iter(&pem) {
                let cert = cert.map_err(|e| AcmeError::CaFile {
                    path: shown.clone(),
                    message: e.to_string(),
                })?;
                roots.add(cert).map_err(|e| AcmeError::CaFile {
                    path: shown.clone(),
                    message: e.to_string(),
                })?;
                added += 1;
            }
            if added == 0 {
                return Err(AcmeError::CaFile {
                    path: shown,
                    message: "no CERTIFICATE block".into(),
                });
            }
        }
        let tls = rustls::ClientConfig::builder_with_provider(Arc::new(
            rustls::crypto::ring::default_provider(),
        ))
        .with_safe_default_protocol_versions()
        .map_err(|e| AcmeError::Order(format!("TLS configuration: {e}")))?
        .with_root_certificates(roots)
        .with_no_client_auth();
        let https = hyper_rustls::HttpsConnectorBuilder::new()
            .with_tls_config(tls)
            .https_or_http()
            .enable_http1()
            .enable_http2()
            .build();
        let client =
            hyper_util::client::legacy::Client::builder(hyper_util::rt::TokioExecutor::new())
                .build(https);
        Ok(Self {
            client,
            retry_after: Arc::new(Mutex::new(None)),
        })
    }

    /// Takes the `Retry-After` the CA sent last, as a wait from now.
    pub fn take_retry_after(&self) -> Option<Duration> {
        let at = self.retry_after.lock().ok()?.take()?;
        Some(
            at.duration_since(SystemTime::now())
                .unwrap_or(Duration::ZERO),
        )
    }
}

fn parse_retry_after(value: &str) -> Option<SystemTime> {
    let value = value.trim();
    if let Ok(secs) = value.parse::<u64>() {
        return Some(SystemTime::now() + Duration::from_secs(secs));
    }
    // An HTTP-date (`Fri, 31 Dec 1999 23:59:59 GMT`).
    httpdate::parse_http_date(value).ok()
}

impl HttpClient for Http {
    fn request(
        &self,
        req: hyper::Request<BodyWrapper<Bytes>>,
    ) -> Pin<Box<dyn Future<Output = Result<BytesResponse, instant_acme::Error>> + Send>> {
        let fut = self.client.request(req);
        let slot = self.retry_after.clone();
        Box::pin(async move {
            let rsp = fut
                .await
                .map_err(|e| instant_acme::Error::Other(Box::new(e)))?;
            let status = rsp.status().as_u16();
            if status == 429 || status == 503 {
                let at = rsp
                    .headers()
                    .get(hyper::header::RETRY_AFTER)
                    .and_then(|v| v.to_str().ok())
                    .and_then(parse_retry_after);
                if let (Some(at), Ok(mut slot)) = (at, slot.lock()) {
                    *slot = Some(at);
                }
            }
            Ok(BytesResponse::from(rsp))
        })
    }
}

fn bus_err(what: &str, e: impl std::fmt::Display) -> AcmeError {
    AcmeError::Bus(format!("{what}: {e}"))
}

/// The resolver's account: restored from the ACME bucket, or created once and stored there
/// (credentials sealed under their KV key), so restarts and the standby reuse it.
pub async fn account(
    resolver: &Resolver,
    http: &Http,
    acme_kv: &kv::Store,
    seal: &SealKey,
) -> Result<Account, AcmeError> {
    let key = acme_account_key(&resolver.name);
    if let Some(bytes) = acme_kv
        .get(key.as_str())
        .await
        .map_err(|e| bus_err("read account", e))?
    {
        match serde_json::from_slice::<AcmeAccount>(&bytes) {
            Ok(stored) if stored.ca_server == resolver.ca_server => {
                let plain = seal
                    .open(&stored.credentials, &key)
                    .map_err(|e| bus_err("open account credentials", e))?;
                let creds: AccountCredentials = serde_json::from_slice(&plain)
                    .map_err(|e| bus_err("decode account credentials", e))?;
                let account = Account::builder_with_http(Box::new(http.clone()))
                    .from_credentials(creds)
                    .await?;
                debug!(resolver = %resolver.name, id = account.id(), "ACME account restored from the bus");
                return Ok(account);
            }
            Ok(stored) => info!(
                resolver = %resolver.name,
                old = %stored.ca_server,
                new = %resolver.ca_server,
                "caServer changed: creating a new account"
            ),
            Err(e) => {
                warn!(resolver = %resolver.name, error = %e, "stored ACME account does not decode: creating a new one")
            }
        }
    }
    let contact = format!("mailto:{}", resolver.email);
    let contacts: Vec<&str> = if resolver.email.is_empty() {
        vec![]
    } else {
        vec![contact.as_str()]
    };
    let eab = resolver
        .eab
        .as_ref()
        .map(|(kid, hmac)| ExternalAccountKey::new(kid.clone(), hmac));
    let (account, creds) = Account::builder_with_http(Box::new(http.clone()))
        .create(
            &NewAccount {
                contact: &contacts,
                terms_of_service_agreed: true,
                only_return_existing: false,
            },
            resolver.ca_server.clone(),
            eab.as_ref(),
        )
        .await?;
    let plain = serde_json::to_vec(&creds).map_err(|e| bus_err("encode account", e))?;
    let stored = AcmeAccount {
        resolver: resolver.name.clone(),
        ca_server: resolver.ca_server.clone(),
        email: resolver.email.clone(),
        credentials: seal
            .seal(&plain, &key)
            .map_err(|e| bus_err("seal account", e))?,
        created_at_ms: now_ms(),
    };
    let bytes = serde_json::to_vec(&stored).map_err(|e| bus_err("encode account", e))?;
    acme_kv
        .put(key.as_str(), bytes.into())
        .await
        .map_err(|e| bus_err("store account", e))?;
    info!(resolver = %resolver.name, id = account.id(), "ACME account created and stored on the bus");
    Ok(account)
}

/// A certificate obtained: chain (leaf first) and its private key, PKCS#8 PEM.
#[derive(Debug, Clone)]
pub struct Obtained {
    /// Chain PEM.
    pub chain_pem: String,
    /// Key PEM.
    pub key_pem: String,
}

/// The challenge records published for one order, deleted when it ends.
struct Published<'a> {
    kv: &'a kv::Store,
    keys: Vec<String>,
}

impl Published<'_> {
    async fn clean(self) {
        for key in self.keys {
            if let Err(e) = self.kv.delete(key.as_str()).await {
                warn!(%key, error = %e, "deleting a challenge record failed (it expires within an hour)");
            }
        }
    }
}

/// Runs one order for `domains`: challenges published for the proxies, validation,
/// finalization with a CSR for a fresh key of the resolver's key type, chain download.
/// Challenge records are deleted afterwards, whatever happened.
pub async fn obtain(
    account: &Account,
    resolver: &Resolver,
    domains: &[String],
    challenges_kv: &kv::Store,
    seal: &SealKey,
) -> Result<Obtained, AcmeError> {
    let mut published = Published {
        kv: challenges_kv,
        keys: vec![],
    };
    let result = run_order(account, resolver, domains, &mut published, seal).await;
    published.clean().await;
    result
}

async fn run_order(
    account: &Account,
    resolver: &Resolver,
    domains: &[String],
    published: &mut Published<'_>,
    seal: &SealKey,
) -> Result<Obtained, AcmeError> {
    let identifiers: Vec<Identifier> = domains
        .iter()
        .map(|d| match d.parse::<std::net::IpAddr>() {
            Ok(ip) => Identifier::Ip(ip),
            Err(_) => Identifier::Dns(d.clone()),
        })
        .collect();
    let mut order = account.new_order(&NewOrder::new(&identifiers)).await?;
    let mut authorizations = order.authorizations();
    let mut pending = 0usize;
    while let Some(authz) = authorizations.next().await {
        let mut authz = authz?;
        let name = authz.identifier().to_string();
        match authz.status {
            AuthorizationStatus::Valid => continue,
            AuthorizationStatus::Pending => {}
            other => {
                return Err(AcmeError::Order(format!(
                    "authorization for {name} is {other:?}"
                )));
            }
        }
        let offered: Vec<ChallengeType> =
            authz.challenges.iter().map(|c| c.r#type.clone()).collect();
        let kind = resolver
            .challenges
            .iter()
            .copied()
            .find(|k| offered.contains(&challenge_type(*k)))
            .ok_or_else(|| {
                AcmeError::Order(format!(
                    "the CA offers none of the configured challenges for {name} (offered: {offered:?})"
                ))
            })?;
        let mut challenge = authz
            .challenge(challenge_type(kind))
            .ok_or_else(|| AcmeError::Order(format!("challenge vanished for {name}")))?;
        let key_authorization = challenge.key_authorization();
        let (kv_key, bytes) = match kind {
            ChallengeKind::Http01 => {
                let key = http01_key(&challenge.token);
                let value = Http01Challenge {
                    token: challenge.token.clone(),
                    key_authorization: key_authorization.as_str().to_owned(),
                    domain: name.clone(),
                };
                (key, serde_json::to_vec(&value))
            }
            ChallengeKind::TlsAlpn01 => {
                let key = tls_alpn01_key(&name);
                let value = tls_alpn01_challenge(&name, key_authorization.as_str(), &key, seal)?;
                (key, serde_json::to_vec(&value))
            }
        };
        let bytes = bytes.map_err(|e| bus_err("encode challenge", e))?;
        published
            .kv
            .put(kv_key.as_str(), bytes.into())
            .await
            .map_err(|e| bus_err(&format!("publish challenge {kv_key}"), e))?;
        published.keys.push(kv_key);
        tokio::time::sleep(PROPAGATION).await;
        challenge.set_ready().await?;
        pending += 1;
        debug!(domain = %name, ?kind, "challenge ready");
    }
    let retries = RetryPolicy::new()
        .initial_delay(Duration::from_millis(250))
        .backoff(1.5)
        .timeout(Duration::from_secs(120));
    let status = order.poll_ready(&retries).await?;
    if status != OrderStatus::Ready {
        let detail = order
            .state()
            .error
            .as_ref()
            .map(|p| format!(": {p}"))
            .unwrap_or_default();
        return Err(AcmeError::Order(format!(
            "order is {status:?} after {pending} challenge(s){detail}"
        )));
    }
    let key = generate_key(resolver.key_type)?;
    order.finalize_csr(&csr(&key, domains)?).await?;
    let chain_pem = order.poll_certificate(&retries).await?;
    Ok(Obtained {
        chain_pem,
        key_pem: key.serialize_pem(),
    })
}

fn challenge_type(kind: ChallengeKind) -> ChallengeType {
    match kind {
        ChallengeKind::Http01 => ChallengeType::Http01,
        ChallengeKind::TlsAlpn01 => ChallengeType::TlsAlpn01,
    }
}

/// The renewal time (Unix seconds) the CA suggests for a certificate (ARI), picked at a
/// random point of its window, and when to ask again; `None` when the CA has no ARI.
pub async fn renewal_info(
    account: &Account,
    aki: &[u8],
    serial: &[u8],
) -> Result<Option<(i64, Duration)>, AcmeError> {
    let id = CertificateIdentifier::new(Der::from_slice(aki), Der::from_slice(serial));
    match account.renewal_info(&id).await {
        Ok((info, recheck)) => {
            let start = info.suggested_window.start.unix_timestamp();
            let end = info.suggested_window.end.unix_timestamp().max(start);
            let at = if end > start {
                start + rand::random_range(0..end - start)
            } else {
                start
            };
            Ok(Some((at, recheck)))
        }
        Err(instant_acme::Error::Unsupported(_)) => Ok(None),
        Err(e) => Err(e.into()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn retry_after_values() {
        let epoch = |s: u64| SystemTime::UNIX_EPOCH + Duration::from_secs(s);
        assert_eq!(
            parse_retry_after("Sun, 06 Nov 1994 08:49:37 GMT"),
            Some(epoch(784_111_777))
        );
        assert_eq!(
            parse_retry_after("Thu, 01 Jan 1970 00:00:00 GMT"),
            Some(epoch(0))
        );
        assert_eq!(parse_retry_after("yesterday"), None);
        let in_two = parse_retry_after("120").unwrap();
        let wait = in_two.duration_since(SystemTime::now()).unwrap();
        assert!(wait <= Duration::from_secs(120) && wait > Duration::from_secs(100));
    }

    #[test]
    fn rate_limits_are_recognised() {
        let problem: instant_acme::Problem = serde_json::from_str(
            r#"{"type":"urn:ietf:params:acme:error:rateLimited","detail":"too many","status":429}"#,
        )
        .unwrap();
        let failure = AcmeError::Acme(problem.into()).to_failure(Some(Duration::from_secs(60)));
        assert!(failure.rate_limited);
        assert_eq!(failure.retry_after, Some(Duration::from_secs(60)));
        let other = AcmeError::Order("x".into()).to_failure(None);
        assert!(!other.rate_limited);
    }
}
