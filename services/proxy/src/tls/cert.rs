//! Loading certificates: PEM chains and keys from bytes, files or the bus, and the
//! self-signed default certificate.

use std::net::IpAddr;
use std::sync::{Arc, OnceLock};

use rustls::crypto::CryptoProvider;
use rustls::sign::CertifiedKey;
use rustls_pki_types::pem::PemObject;
use rustls_pki_types::{CertificateDer, PrivateKeyDer};
use switchyard_bus::messages::{CertificateRecord, TlsAlpn01Challenge};
use switchyard_bus::{SealKey, sealed::SealError};

use super::der::{self, DerError};

/// Common name of the generated default certificate, as Traefik names it.
pub const DEFAULT_CERT_CN: &str = "TRAEFIK DEFAULT CERT";

/// Why a certificate could not be loaded.
#[derive(Debug, thiserror::Error)]
pub enum CertError {
    /// A `certFile`/`keyFile`/`caFiles` entry that is not PEM content could not be read as a file.
    #[error("cannot read {path}: {source}")]
    Read {
        /// The path as configured.
        path: String,
        /// The I/O error.
        source: std::io::Error,
    },
    /// The certificate PEM holds no `CERTIFICATE` block, or a block is broken.
    #[error("no certificate in the PEM data{}", detail(.0))]
    NoCertificate(Option<String>),
    /// The key PEM holds no private key, or it is broken.
    #[error("no private key in the PEM data{}", detail(.0))]
    NoKey(Option<String>),
    /// The private key is of a type rustls cannot sign with.
    #[error("unsupported private key: {0}")]
    Key(rustls::Error),
    /// The private key does not belong to the leaf certificate.
    #[error("the private key does not match the certificate: {0}")]
    Mismatch(rustls::Error),
    /// The leaf certificate could not be parsed.
    #[error(transparent)]
    Der(#[from] DerError),
    /// The sealed private key from the bus does not open.
    #[error("sealed private key: {0}")]
    Seal(#[from] SealError),
    /// rustls refused a built-in configuration.
    #[error("building the TLS configuration: {0}")]
    Config(rustls::Error),
    /// The default certificate could not be generated.
    #[error("generating the default certificate: {0}")]
    Generate(#[from] rcgen::Error),
}

fn detail(d: &Option<String>) -> String {
    d.as_ref().map(|d| format!(": {d}")).unwrap_or_default()
}

/// The crypto provider every certificate and configuration uses (ring).
pub(super) fn provider() -> &'static Arc<CryptoProvider> {
    static PROVIDER: OnceLock<Arc<CryptoProvider>> = OnceLock::new();
    PROVIDER.get_or_init(|| Arc::new(rustls::crypto::ring::default_provider()))
}

/// A certificate ready to serve: its chain with the signing key, and the names it is
/// served for.
#[derive(Debug, Clone)]
pub struct Certificate {
    key: Arc<CertifiedKey>,
    names: Vec<String>,
    not_after: i64,
}

impl Certificate {
    /// Loads a PEM chain (leaf first) and a PEM private key (PKCS#8, PKCS#1 or SEC1).
    pub fn from_pem(chain_pem: &[u8], key_pem: &[u8]) -> Result<Self, CertError> {
        let chain = CertificateDer::pem_slice_iter(chain_pem)
            .collect::<Result<Vec<_>, _>>()
            .map_err(|e| CertError::NoCertificate(Some(e.to_string())))?;
        let key = PrivateKeyDer::from_pem_slice(key_pem).map_err(|e| match e {
            rustls_pki_types::pem::Error::NoItemsFound => CertError::NoKey(None),
            e => CertError::NoKey(Some(e.to_string())),
        })?;
        Self::from_der(chain, key)
    }

    /// Builds a certificate from DER; the key must belong to the first certificate.
    pub fn from_der(
        chain: Vec<CertificateDer<'static>>,
        key: PrivateKeyDer<'static>,
    ) -> Result<Self, CertError> {
        let leaf = chain.first().ok_or(CertError::NoCertificate(None))?;
        let info = der::parse_leaf(leaf)?;
        let signing_key = provider()
            .key_provider
            .load_private_key(key)
            .map_err(CertError::Key)?;
        let key = CertifiedKey::new(chain, signing_key);
        match key.keys_match() {
            // Keys whose public half rustls cannot derive are accepted, as rustls does.
            Ok(()) | Err(rustls::Error::InconsistentKeys(rustls::InconsistentKeys::Unknown)) => {}
            Err(e) => return Err(CertError::Mismatch(e)),
        }
        Ok(Self {
            key: Arc::new(key),
            names: names_of(&info),
            not_after: info.not_after,
        })
    }

    /// Loads a certificate whose `certFile`/`keyFile` are each a path or PEM content,
    /// as Traefik's `tls.certificates` and `defaultCertificate` allow.
    pub fn from_file_or_content(cert_file: &str, key_file: &str) -> Result<Self, CertError> {
        Self::from_pem(
            &read_file_or_content(cert_file)?,
            &read_file_or_content(key_file)?,
        )
    }

    /// Loads a certificate published on the bus, opening its sealed key with `seal`;
    /// `kv_key` is the key the record is stored under (the seal's context).
    pub fn from_record(
        record: &CertificateRecord,
        kv_key: &str,
        seal: &SealKey,
    ) -> Result<Self, CertError> {
        let key_pem = Zeroizing(seal.open(&record.key, kv_key)?);
        Self::from_pem(record.chain_pem.as_bytes(), &key_pem.0)
    }

    /// A self-signed certificate like Traefik's generated default: CN
    /// `TRAEFIK DEFAULT CERT` and one random `*.traefik.default` name.
    pub fn generate_default() -> Result<Self, CertError> {
        let random: [u8; 16] = rand::random();
        let hex: String = random.iter().map(|b| format!("{b:02x}")).collect();
        let name = format!("{}.{}.traefik.default", &hex[..16], &hex[16..]);
        let mut params = rcgen::CertificateParams::new(vec![name])?;
        params.distinguished_name = rcgen::DistinguishedName::new();
        params
            .distinguished_name
            .push(rcgen::DnType::CommonName, DEFAULT_CERT_CN);
        let key = rcgen::KeyPair::generate()?;
        let cert = params.self_signed(&key)?;
        let key_der = PrivateKeyDer::try_from(key.serialize_der())
            .map_err(|e| CertError::NoKey(Some(e.to_owned())))?;
        Self::from_der(vec![cert.der().clone()], key_der)
    }

    /// The chain and key rustls serves.
    pub fn certified_key(&self) -> &Arc<CertifiedKey> {
        &self.key
    }

    /// Names the certificate is served for: the subject CN, DNS names and IP addresses,
    /// lower-cased, without duplicates (Traefik uses the CN too, not only the SANs).
    pub fn names(&self) -> &[String] {
        &self.names
    }

    /// End of validity of the leaf, Unix seconds.
    pub fn not_after(&self) -> i64 {
        self.not_after
    }
}

/// Opens a TLS-ALPN-01 challenge certificate published on the bus.
pub fn challenge_key(
    challenge: &TlsAlpn01Challenge,
    kv_key: &str,
    seal: &SealKey,
) -> Result<Arc<CertifiedKey>, CertError> {
    let key_pem = Zeroizing(seal.open(&challenge.key, kv_key)?);
    challenge_key_from_pem(challenge.cert_pem.as_bytes(), &key_pem.0)
}

/// Builds a TLS-ALPN-01 challenge certificate from PEM. Unlike [`Certificate::from_der`] it
/// does not ask rustls whether the key matches the certificate: that check parses the
/// certificate with webpki, which refuses the critical `acmeIdentifier` extension every
/// challenge certificate carries (RFC 8737 §3), so every challenge would be rejected.
/// The CA validates the certificate itself; a wrong key only fails that one handshake.
fn challenge_key_from_pem(cert_pem: &[u8], key_pem: &[u8]) -> Result<Arc<CertifiedKey>, CertError> {
    let chain = CertificateDer::pem_slice_iter(cert_pem)
        .collect::<Result<Vec<_>, _>>()
        .map_err(|e| CertError::NoCertificate(Some(e.to_string())))?;
    if chain.is_empty() {
        return Err(CertError::NoCertificate(None));
    }
    let key = PrivateKeyDer::from_pem_slice(key_pem).map_err(|e| match e {
        rustls_pki_types::pem::Error::NoItemsFound => CertError::NoKey(None),
        e => CertError::NoKey(Some(e.to_string())),
    })?;
    let signing_key = provider()
        .key_provider
        .load_private_key(key)
        .map_err(CertError::Key)?;
    Ok(Arc::new(CertifiedKey::new(chain, signing_key)))
}

/// A secret buffer wiped when dropped, so that opened private keys do not linger.
struct Zeroizing(Vec<u8>);

impl Drop for Zeroizing {
    fn drop(&mut self) {
        // Best effort: copies made while parsing are out of reach; black_box keeps the
        // wipe from being optimised away.
        self.0.fill(0);
        std::hint::black_box(&self.0);
    }
}

fn names_of(info: &der::LeafInfo) -> Vec<String> {
    let mut names: Vec<String> = Vec::with_capacity(1 + info.dns_names.len() + info.ips.len());
    let candidates = info
        .common_name
        .iter()
        .cloned()
        .chain(info.dns_names.iter().cloned())
        .chain(info.ips.iter().map(|ip| canonical_ip(*ip).to_string()));
    for name in candidates {
        let name = name.trim().to_ascii_lowercase();
        if !name.is_empty() && !names.contains(&name) {
            names.push(name);
        }
    }
    names
}

/// IPv4-mapped IPv6 addresses name the IPv4 address.
pub(super) fn canonical_ip(ip: IpAddr) -> IpAddr {
    ip.to_canonical()
}

/// Reads a Traefik `FileOrContent` value: PEM content as is, anything else as a file path.
pub fn read_file_or_content(value: &str) -> Result<Vec<u8>, CertError> {
    // Empty is content too: the PEM parsers then say what is missing.
    if value.is_empty() || value.contains("-----BEGIN") {
        return Ok(value.as_bytes().to_vec());
    }
    std::fs::read(value).map_err(|source| CertError::Read {
        path: value.to_owned(),
        source,
    })
}

#[cfg(test)]
pub(super) mod testing {
    //! Certificates for tests: a CA that issues leaves.

    use super::*;

    /// A test certificate authority.
    pub struct TestCa {
        issuer: rcgen::Issuer<'static, rcgen::KeyPair>,
        /// The CA certificate, PEM.
        pub pem: String,
        /// The CA certificate, DER.
        pub der: CertificateDer<'static>,
    }

    /// A leaf issued by [`TestCa`].
    pub struct Issued {
        /// Chain PEM (leaf, then the CA).
        pub chain_pem: String,
        /// PKCS#8 key PEM.
        pub key_pem: String,
        /// Leaf DER.
        pub der: CertificateDer<'static>,
    }

    impl Issued {
        /// As a store certificate.
        pub fn certificate(&self) -> Certificate {
            Certificate::from_pem(self.chain_pem.as_bytes(), self.key_pem.as_bytes()).unwrap()
        }
    }

    impl TestCa {
        /// A fresh CA.
        pub fn new(cn: &str) -> Self {
            let mut params = rcgen::CertificateParams::new(Vec::<String>::new()).unwrap();
            params
                .distinguished_name
                .push(rcgen::DnType::CommonName, cn);
            params.is_ca = rcgen::IsCa::Ca(rcgen::BasicConstraints::Unconstrained);
            let key = rcgen::KeyPair::generate().unwrap();
            let cert = params.self_signed(&key).unwrap();
            let pem = cert.pem();
            let der = cert.der().clone();
            Self {
                issuer: rcgen::Issuer::new(params, key),
                pem,
                der,
            }
        }

        /// A leaf for `names` (DNS names or IPs), CN = first name, expiring on `not_after` (y, m, d).
        pub fn issue_until(&self, names: &[&str], not_after: (i32, u8, u8)) -> Issued {
            let mut params = rcgen::CertificateParams::new(
                names.iter().map(|s| (*s).to_owned()).collect::<Vec<_>>(),
            )
            .unwrap();
            params.distinguished_name = rcgen::DistinguishedName::new();
            if let Some(first) = names.first() {
                params
                    .distinguished_name
                    .push(rcgen::DnType::CommonName, *first);
            }
            params.not_after = rcgen::date_time_ymd(not_after.0, not_after.1, not_after.2);
            let key = rcgen::KeyPair::generate().unwrap();
            let cert = params.signed_by(&key, &self.issuer).unwrap();
            Issued {
                chain_pem: format!("{}{}", cert.pem(), self.pem),
                key_pem: key.serialize_pem(),
                der: cert.der().clone(),
            }
        }

        /// A leaf for `names` valid until 2040.
        pub fn issue(&self, names: &[&str]) -> Issued {
            self.issue_until(names, (2040, 1, 1))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::testing::TestCa;
    use super::*;

    #[test]
    fn tls_alpn_01_challenge_certificates_with_the_critical_extension_load() {
        // What an ACME client publishes (RFC 8737 §3): self-signed, the domain as its only
        // name, and the critical acmeIdentifier extension webpki refuses to parse.
        let mut params = rcgen::CertificateParams::new(vec!["acme.example.com".into()]).unwrap();
        params.custom_extensions = vec![rcgen::CustomExtension::new_acme_identifier(&[7; 32])];
        let key = rcgen::KeyPair::generate().unwrap();
        let cert = params.self_signed(&key).unwrap();
        let seal = SealKey::generate().unwrap();
        let kv_key = switchyard_bus::keys::tls_alpn01_key("acme.example.com");
        let challenge = TlsAlpn01Challenge {
            domain: "acme.example.com".into(),
            cert_pem: cert.pem(),
            key: seal.seal(key.serialize_pem().as_bytes(), &kv_key).unwrap(),
        };
        // The store's certificate path refuses it, which is why challenges have their own.
        assert!(
            Certificate::from_pem(cert.pem().as_bytes(), key.serialize_pem().as_bytes()).is_err()
        );
        let served = challenge_key(&challenge, &kv_key, &seal).unwrap();
        assert_eq!(served.end_entity_cert().unwrap(), cert.der());
        // Sealed under another key's context, it does not open.
        assert!(challenge_key(&challenge, "tlsalpn01.other", &seal).is_err());
        // Garbage is an error, not a panic.
        let bad = TlsAlpn01Challenge {
            cert_pem: "not pem".into(),
            ..challenge
        };
        assert!(challenge_key(&bad, &kv_key, &seal).is_err());
    }

    #[test]
    fn names_come_from_cn_dns_and_ip_sans() {
        let ca = TestCa::new("ca");
        let cases: [(&str, &[&str], &[&str]); 3] = [
            (
                "cn duplicates first san",
                &["A.Example.com", "*.b.example.com"],
                &["a.example.com", "*.b.example.com"],
            ),
            (
                "ips",
                &["c.example.com", "10.0.0.1", "::ffff:10.0.0.2"],
                &["c.example.com", "10.0.0.1", "10.0.0.2"],
            ),
            ("single", &["d.example.com"], &["d.example.com"]),
        ];
        for (case, input, want) in cases {
            let cert = ca.issue(input).certificate();
            assert_eq!(cert.names(), want, "{case}");
        }
    }

    #[test]
    fn loading_errors() {
        let ca = TestCa::new("ca");
        let a = ca.issue(&["a.example.com"]);
        let b = ca.issue(&["b.example.com"]);
        let cases: [(&str, &str, &str, &str); 5] = [
            ("empty chain", "", &a.key_pem, "no certificate"),
            ("empty key", &a.chain_pem, "", "no private key"),
            (
                "key of another cert",
                &a.chain_pem,
                &b.key_pem,
                "does not match",
            ),
            (
                "garbage chain",
                "-----BEGIN CERTIFICATE-----\nnot base64!\n-----END CERTIFICATE-----\n",
                &a.key_pem,
                "certificate",
            ),
            (
                "missing file",
                "/nonexistent/cert.pem",
                &a.key_pem,
                "cannot read /nonexistent/cert.pem",
            ),
        ];
        for (case, cert, key, want) in cases {
            let err = Certificate::from_file_or_content(cert, key)
                .unwrap_err()
                .to_string();
            assert!(err.contains(want), "{case}: {err}");
        }
    }

    #[test]
    fn files_and_inline_content_both_load() {
        let ca = TestCa::new("ca");
        let a = ca.issue(&["a.example.com"]);
        let dir = std::env::temp_dir().join(format!("switchyard-tls-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let cert_path = dir.join("a.crt");
        let key_path = dir.join("a.key");
        std::fs::write(&cert_path, &a.chain_pem).unwrap();
        std::fs::write(&key_path, &a.key_pem).unwrap();
        let from_files = Certificate::from_file_or_content(
            cert_path.to_str().unwrap(),
            key_path.to_str().unwrap(),
        )
        .unwrap();
        let inline = Certificate::from_file_or_content(&a.chain_pem, &a.key_pem).unwrap();
        assert_eq!(from_files.names(), inline.names());
        assert_eq!(from_files.certified_key().cert.len(), 2, "chain kept");
        std::fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn records_open_with_their_own_kv_key_only() {
        let ca = TestCa::new("ca");
        let a = ca.issue_until(&["a.example.com"], (2033, 3, 4));
        let seal = SealKey::generate().unwrap();
        let record = CertificateRecord {
            domains: vec!["a.example.com".into()],
            chain_pem: a.chain_pem.clone(),
            key: seal.seal(a.key_pem.as_bytes(), "a.example.com").unwrap(),
            not_after: 0,
            issuer: String::new(),
            source: switchyard_bus::messages::CertificateSource::Acme {
                resolver: "le".into(),
            },
            stores: vec![],
        };
        let cert = Certificate::from_record(&record, "a.example.com", &seal).unwrap();
        assert_eq!(cert.names(), ["a.example.com"]);
        assert_eq!(cert.not_after(), 1_993_507_200);
        assert!(matches!(
            Certificate::from_record(&record, "b.example.com", &seal),
            Err(CertError::Seal(_))
        ));
    }

    #[test]
    fn generated_default_is_named_like_traefiks() {
        let cert = Certificate::generate_default().unwrap();
        assert_eq!(cert.names()[0], DEFAULT_CERT_CN.to_ascii_lowercase());
        assert!(
            cert.names()[1].ends_with(".traefik.default"),
            "{:?}",
            cert.names()
        );
        let again = Certificate::generate_default().unwrap();
        assert_ne!(cert.names()[1], again.names()[1], "random name");
    }
}
