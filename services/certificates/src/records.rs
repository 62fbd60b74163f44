//! Certificates as the bus carries them: reading a leaf (validity, issuer, names, the ARI
//! identifier), private keys and CSRs of a key type, TLS-ALPN-01 challenge certificates,
//! and [`CertificateRecord`]s with their key sealed under the record's KV key.

use ring::digest::{SHA256, digest};
use rustls_pki_types::pem::PemObject;
use rustls_pki_types::{CertificateDer, PrivateKeyDer};
use switchyard_bus::SealKey;
use switchyard_bus::messages::{CertificateRecord, CertificateSource, TlsAlpn01Challenge};
use switchyard_bus::sealed::SealError;
use switchyard_model::tls::CertAndStores;
use x509_parser::extensions::{GeneralName, ParsedExtension};

use crate::config::KeyType;
use crate::plan::Held;

/// Why a certificate, key or record could not be built.
#[derive(Debug, thiserror::Error)]
pub enum RecordError {
    /// The chain holds no certificate or a broken one.
    #[error("certificate PEM: {0}")]
    Chain(String),
    /// The key is missing, broken or does not match the certificate.
    #[error("private key: {0}")]
    Key(String),
    /// A file could not be read.
    #[error("cannot read {path}: {source}")]
    Read {
        /// The path as configured.
        path: String,
        /// The I/O error.
        source: std::io::Error,
    },
    /// Generating a key, a CSR or a challenge certificate failed.
    #[error("generating: {0}")]
    Generate(#[from] rcgen::Error),
    /// Generating an RSA key failed.
    #[error("generating a key: {0}")]
    KeyGeneration(String),
    /// Sealing the key failed.
    #[error(transparent)]
    Seal(#[from] SealError),
}

/// What the service reads from a leaf certificate.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Leaf {
    /// Start of validity, Unix seconds.
    pub not_before: i64,
    /// End of validity, Unix seconds.
    pub not_after: i64,
    /// The issuer's distinguished name.
    pub issuer: String,
    /// Subject CN, DNS names and IPs, lower-cased.
    pub names: Vec<String>,
    /// The authority key identifier (DER of its key id) and the DER serial, for ARI.
    pub ari_id: Option<(Vec<u8>, Vec<u8>)>,
}

/// Reads the first certificate of a PEM chain.
pub fn read_leaf(chain_pem: &str) -> Result<Leaf, RecordError> {
    let der = CertificateDer::pem_slice_iter(chain_pem.as_bytes())
        .next()
        .ok_or_else(|| RecordError::Chain("no CERTIFICATE block".into()))?
        .map_err(|e| RecordError::Chain(e.to_string()))?;
    let (_, cert) = x509_parser::parse_x509_certificate(der.as_ref())
        .map_err(|e| RecordError::Chain(e.to_string()))?;
    let mut names = Vec::new();
    for cn in cert.subject().iter_common_name() {
        if let Ok(cn) = cn.as_str() {
            names.push(cn.to_ascii_lowercase());
        }
    }
    let mut aki = None;
    for ext in cert.iter_extensions() {
        match ext.parsed_extension() {
            ParsedExtension::SubjectAlternativeName(san) => {
                for name in &san.general_names {
                    let name = match name {
                        GeneralName::DNSName(d) => d.to_ascii_lowercase(),
                        GeneralName::IPAddress(ip) => match ip.len() {
                            4 => <[u8; 4]>::try_from(*ip)
                                .map(|b| std::net::IpAddr::from(b).to_string())
                                .unwrap_or_default(),
                            16 => <[u8; 16]>::try_from(*ip)
                                .map(|b| std::net::IpAddr::from(b).to_string())
                                .unwrap_or_default(),
                            _ => continue,
                        },
                        _ => continue,
                    };
                    if !name.is_empty() && !names.contains(&name) {
                        names.push(name);
                    }
                }
            }
            ParsedExtension::AuthorityKeyIdentifier(a) => {
                aki = a.key_identifier.as_ref().map(|k| k.0.to_vec());
            }
            _ => {}
        }
    }
    Ok(Leaf {
        not_before: cert.validity().not_before.timestamp(),
        not_after: cert.validity().not_after.timestamp(),
        issuer: cert.issuer().to_string(),
        names,
        ari_id: aki.map(|aki| (aki, cert.raw_serial().to_vec())),
    })
}

/// A fresh private key of `key_type`.
///
/// ring signs with RSA keys but cannot generate them, so RSA keys come from the `rsa` crate
/// (PKCS#8) and are then handed to rcgen/ring for signing CSRs.
pub fn generate_key(key_type: KeyType) -> Result<rcgen::KeyPair, RecordError> {
    let alg = match key_type {
        KeyType::Ec256 => &rcgen::PKCS_ECDSA_P256_SHA256,
        KeyType::Ec384 => &rcgen::PKCS_ECDSA_P384_SHA384,
        KeyType::Rsa(bits) => {
            use rsa::pkcs8::EncodePrivateKey;
            let key = rsa::PrivateKey::new(&mut getrandom::SysRng, bits)
                .map_err(|e| RecordError::KeyGeneration(format!("RSA {bits}: {e}")))?;
            let der = key
                .to_pkcs8_der()
                .map_err(|e| RecordError::KeyGeneration(format!("RSA {bits}: {e}")))?;
            let der = rustls_pki_types::PrivatePkcs8KeyDer::from(der.as_bytes().to_vec());
            return Ok(rcgen::KeyPair::from_pkcs8_der_and_sign_algo(
                &der,
                &rcgen::PKCS_RSA_SHA256,
            )?);
        }
    };
    Ok(rcgen::KeyPair::generate_for(alg)?)
}

/// A CSR (DER) for `domains` signed by `key`, with an empty subject as Let's Encrypt wants.
pub fn csr(key: &rcgen::KeyPair, domains: &[String]) -> Result<Vec<u8>, RecordError> {
    let mut params = rcgen::CertificateParams::new(domains.to_vec())?;
    params.distinguished_name = rcgen::DistinguishedName::new();
    Ok(params.serialize_request(key)?.der().to_vec())
}

/// The record of an ACME certificate, its key (PKCS#8 PEM) sealed under `id`.
pub fn acme_record(
    id: &str,
    resolver: &str,
    chain_pem: &str,
    key_pem: &str,
    seal: &SealKey,
) -> Result<(CertificateRecord, Held), RecordError> {
    let leaf = read_leaf(chain_pem)?;
    check_pair(chain_pem, key_pem)?;
    let record = CertificateRecord {
        domains: leaf.names.clone(),
        chain_pem: chain_pem.to_owned(),
        key: seal.seal(key_pem.as_bytes(), id)?,
        not_after: leaf.not_after,
        issuer: leaf.issuer.clone(),
        source: CertificateSource::Acme {
            resolver: resolver.to_owned(),
        },
        stores: vec![],
    };
    Ok((record, held_of(&leaf)))
}

/// What the planner needs of a leaf.
pub fn held_of(leaf: &Leaf) -> Held {
    Held {
        domains: leaf.names.clone(),
        not_before: leaf.not_before,
        not_after: leaf.not_after,
        issuer: leaf.issuer.clone(),
    }
}

/// Checks that the key opens and belongs to the leaf, as the proxies will.
fn check_pair(chain_pem: &str, key_pem: &str) -> Result<(), RecordError> {
    let chain = CertificateDer::pem_slice_iter(chain_pem.as_bytes())
        .collect::<Result<Vec<_>, _>>()
        .map_err(|e| RecordError::Chain(e.to_string()))?;
    let key = PrivateKeyDer::from_pem_slice(key_pem.as_bytes())
        .map_err(|e| RecordError::Key(e.to_string()))?;
    let signing = rustls::crypto::ring::sign::any_supported_type(&key)
        .map_err(|e| RecordError::Key(e.to_string()))?;
    let certified = rustls::sign::CertifiedKey::new(chain, signing);
    match certified.keys_match() {
        Ok(()) | Err(rustls::Error::InconsistentKeys(rustls::InconsistentKeys::Unknown)) => Ok(()),
        Err(e) => Err(RecordError::Key(format!(
            "does not match the certificate: {e}"
        ))),
    }
}

/// Traefik's `FileOrContent`: PEM content as is, anything else a path to read.
fn file_or_content(value: &str) -> Result<String, RecordError> {
    if value.trim_start().starts_with("-----BEGIN") {
        return Ok(value.to_owned());
    }
    std::fs::read_to_string(value).map_err(|source| RecordError::Read {
        path: value.to_owned(),
        source,
    })
}

/// Which part of a static certificate was bad.
#[derive(Debug, thiserror::Error)]
#[error("{field}: {error}")]
pub struct StaticError {
    /// `certFile` or `keyFile` (with the path when it is one).
    pub field: String,
    /// What is wrong.
    pub error: RecordError,
}

/// The record of a static certificate from `tls.certificates`, stored under `id`; its
/// `origin` is `name@provider`.
pub fn static_record(
    id: &str,
    origin: &str,
    cert: &CertAndStores,
    seal: &SealKey,
) -> Result<CertificateRecord, StaticError> {
    let shown = |field: &str, value: &str| {
        if value.trim_start().starts_with("-----BEGIN") {
            format!("{field} (inline PEM)")
        } else {
            format!("{field} {value}")
        }
    };
    let cert_field = shown("certFile", &cert.cert_file);
    let key_field = shown("keyFile", &cert.key_file);
    let chain_pem = file_or_content(&cert.cert_file).map_err(|error| StaticError {
        field: cert_field.clone(),
        error,
    })?;
    let key_pem = file_or_content(&cert.key_file).map_err(|error| StaticError {
        field: key_field.clone(),
        error,
    })?;
    let leaf = read_leaf(&chain_pem).map_err(|error| StaticError {
        field: cert_field,
        error,
    })?;
    check_pair(&chain_pem, &key_pem).map_err(|error| StaticError {
        field: key_field.clone(),
        error,
    })?;
    let key = seal.seal(key_pem.as_bytes(), id).map_err(|e| StaticError {
        field: key_field,
        error: e.into(),
    })?;
    Ok(CertificateRecord {
        domains: leaf.names,
        chain_pem,
        key,
        not_after: leaf.not_after,
        issuer: leaf.issuer,
        source: CertificateSource::File {
            origin: origin.to_owned(),
        },
        stores: cert.stores.clone(),
    })
}

/// The TLS-ALPN-01 challenge record for `domain` (RFC 8737): a self-signed certificate
/// with the acmeIdentifier extension holding the SHA-256 of the key authorization, its
/// key sealed under `kv_key`.
pub fn tls_alpn01_challenge(
    domain: &str,
    key_authorization: &str,
    kv_key: &str,
    seal: &SealKey,
) -> Result<TlsAlpn01Challenge, RecordError> {
    let key = rcgen::KeyPair::generate_for(&rcgen::PKCS_ECDSA_P256_SHA256)?;
    let mut params = rcgen::CertificateParams::new(vec![domain.to_owned()])?;
    params.distinguished_name = rcgen::DistinguishedName::new();
    let sha = digest(&SHA256, key_authorization.as_bytes());
    params
        .custom_extensions
        .push(rcgen::CustomExtension::new_acme_identifier(sha.as_ref()));
    let cert = params.self_signed(&key)?;
    Ok(TlsAlpn01Challenge {
        domain: domain.to_owned(),
        cert_pem: cert.pem(),
        key: seal.seal(key.serialize_pem().as_bytes(), kv_key)?,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn self_signed(names: &[&str]) -> (String, String) {
        let key = generate_key(KeyType::Ec256).unwrap();
        let mut params = rcgen::CertificateParams::new(
            names.iter().map(|n| (*n).to_owned()).collect::<Vec<_>>(),
        )
        .unwrap();
        params.distinguished_name = rcgen::DistinguishedName::new();
        params
            .distinguished_name
            .push(rcgen::DnType::CommonName, names[0]);
        let cert = params.self_signed(&key).unwrap();
        (cert.pem(), key.serialize_pem())
    }

    #[test]
    fn acme_records_open_under_their_id_only() {
        let seal = SealKey::generate().unwrap();
        let (chain, key) = self_signed(&["a.example.com", "b.example.com"]);
        let (record, held) =
            acme_record("acme.le.a=2Eexample=2Ecom", "le", &chain, &key, &seal).unwrap();
        assert_eq!(record.domains, ["a.example.com", "b.example.com"]);
        assert_eq!(held.domains, record.domains);
        assert!(record.not_after > held.not_before);
        assert!(record.issuer.contains("a.example.com"), "{}", record.issuer);
        assert_eq!(
            record.source,
            CertificateSource::Acme {
                resolver: "le".into()
            }
        );
        let opened = seal.open(&record.key, "acme.le.a=2Eexample=2Ecom").unwrap();
        assert_eq!(opened, key.as_bytes());
        assert!(seal.open(&record.key, "acme.le.other").is_err());
    }

    #[test]
    fn every_key_type_signs_a_csr_and_a_certificate_the_proxy_can_load() {
        let seal = SealKey::generate().unwrap();
        for (case, key_type, pem_marker) in [
            ("ec256", KeyType::Ec256, "BEGIN PRIVATE KEY"),
            ("ec384", KeyType::Ec384, "BEGIN PRIVATE KEY"),
            ("rsa2048", KeyType::Rsa(2048), "BEGIN PRIVATE KEY"),
        ] {
            let key = generate_key(key_type).unwrap();
            assert!(key.serialize_pem().contains(pem_marker), "{case}");
            let request = csr(&key, &["a.example.com".to_owned()]).unwrap();
            assert!(!request.is_empty(), "{case}");
            // A certificate for that key is accepted as a record (key matches the leaf).
            let params = rcgen::CertificateParams::new(vec!["a.example.com".to_owned()]).unwrap();
            let cert = params.self_signed(&key).unwrap();
            acme_record("id", "le", &cert.pem(), &key.serialize_pem(), &seal)
                .unwrap_or_else(|e| panic!("{case}: {e}"));
        }
    }

    #[test]
    fn a_key_of_another_certificate_is_refused() {
        let seal = SealKey::generate().unwrap();
        let (chain, _) = self_signed(&["a.example.com"]);
        let (_, other_key) = self_signed(&["a.example.com"]);
        assert!(matches!(
            acme_record("id", "le", &chain, &other_key, &seal),
            Err(RecordError::Key(_))
        ));
    }

    #[test]
    fn static_certificates() {
        let seal = SealKey::generate().unwrap();
        let dir = tempfile::tempdir().unwrap();
        let (chain, key) = self_signed(&["s.example.com"]);
        let cert_path = dir.path().join("c.pem");
        let key_path = dir.path().join("k.pem");
        std::fs::write(&cert_path, &chain).unwrap();
        std::fs::write(&key_path, &key).unwrap();
        let entry = |c: &str, k: &str| CertAndStores {
            cert_file: c.to_owned(),
            key_file: k.to_owned(),
            stores: vec![],
        };
        let cp = cert_path.display().to_string();
        let kp = key_path.display().to_string();
        let cases: Vec<(&str, CertAndStores, Result<(), &str>)> = vec![
            ("files", entry(&cp, &kp), Ok(())),
            ("inline", entry(&chain, &key), Ok(())),
            (
                "missing cert file",
                entry("/nonexistent/c.pem", &kp),
                Err("certFile /nonexistent/c.pem: cannot read"),
            ),
            (
                "missing key file",
                entry(&cp, "/nonexistent/k.pem"),
                Err("keyFile /nonexistent/k.pem: cannot read"),
            ),
            (
                "key in place of cert",
                entry(&key, &key),
                Err("certFile (inline PEM): certificate PEM"),
            ),
        ];
        for (case, cert, expected) in cases {
            let got = static_record("file.file.x", "x@file", &cert, &seal);
            match (got, expected) {
                (Ok(record), Ok(())) => {
                    assert_eq!(record.domains, ["s.example.com"], "{case}");
                    assert_eq!(
                        record.source,
                        CertificateSource::File {
                            origin: "x@file".into()
                        },
                        "{case}"
                    );
                    assert_eq!(
                        seal.open(&record.key, "file.file.x").unwrap(),
                        key.as_bytes()
                    );
                }
                (Err(e), Err(prefix)) => {
                    assert!(e.to_string().starts_with(prefix), "{case}: {e}")
                }
                (got, expected) => panic!("{case}: got {got:?}, expected {expected:?}"),
            }
        }
    }

    #[test]
    fn tls_alpn_challenge_certificate() {
        let seal = SealKey::generate().unwrap();
        let challenge = tls_alpn01_challenge(
            "a.example.com",
            "tok.thumb",
            "tlsalpn01.a=2Eexample=2Ecom",
            &seal,
        )
        .unwrap();
        let der = CertificateDer::pem_slice_iter(challenge.cert_pem.as_bytes())
            .next()
            .unwrap()
            .unwrap();
        let (_, cert) = x509_parser::parse_x509_certificate(der.as_ref()).unwrap();
        let ext = cert
            .iter_extensions()
            .find(|e| e.oid.to_id_string() == "1.3.6.1.5.5.7.1.31")
            .expect("acmeIdentifier extension");
        assert!(ext.critical);
        let sha = digest(&SHA256, b"tok.thumb");
        // DER OCTET STRING of 32 bytes: 0x04 0x20 then the digest.
        assert_eq!(&ext.value[2..], sha.as_ref());
        let key = seal
            .open(&challenge.key, "tlsalpn01.a=2Eexample=2Ecom")
            .unwrap();
        let key = rcgen::KeyPair::from_pem(std::str::from_utf8(&key).unwrap()).unwrap();
        // webpki (rustls' keys_match) refuses the critical acmeIdentifier extension, so the
        // pair is checked on the raw public key.
        assert_eq!(
            key.public_key_raw(),
            cert.public_key().subject_public_key.data.as_ref()
        );
    }
}
