//! Traefik's TLS options compiled into rustls `ServerConfig`s, and the certificate
//! resolvers those configurations use.

use std::sync::Arc;

use rustls::client::danger::HandshakeSignatureValid;
use rustls::crypto::ring::{cipher_suite as suites, kx_group};
use rustls::crypto::{CryptoProvider, SupportedKxGroup, WebPkiSupportedAlgorithms};
use rustls::pki_types::{CertificateDer, UnixTime};
use rustls::server::danger::{ClientCertVerified, ClientCertVerifier};
use rustls::server::{
    ClientHello, NoServerSessionStorage, ResolvesServerCert, WebPkiClientVerifier,
};
use rustls::sign::CertifiedKey;
use rustls::{
    DigitallySignedStruct, DistinguishedName, RootCertStore, ServerConfig, SignatureScheme,
    SupportedCipherSuite,
};
use rustls_pki_types::pem::PemObject;
use switchyard_model::tls::{CIPHER_SUITES, CURVES, ClientAuth, TLS_VERSIONS, TlsOptions};
use tracing::debug;

use super::cert::{self, CertError};
use super::store::Shared;

/// The ALPN protocol of TLS-ALPN-01 challenges.
pub const ACME_TLS_ALPN: &[u8] = switchyard_rules::ACME_TLS_ALPN_PROTOCOL.as_bytes();

/// Why TLS options do not compile.
#[derive(Debug, thiserror::Error)]
pub enum OptionsError {
    /// `minVersion`/`maxVersion` is not a Traefik version name.
    #[error("unknown TLS version {0:?}; expected one of {versions}", versions = TLS_VERSIONS.join(", "))]
    UnknownVersion(String),
    /// No version rustls implements (1.2, 1.3) lies between `minVersion` and `maxVersion`.
    #[error(
        "no TLS version between minVersion {min:?} and maxVersion {max:?} can be negotiated (only TLS 1.2 and 1.3 are)"
    )]
    NoVersion {
        /// `minVersion` as configured.
        min: String,
        /// `maxVersion` as configured.
        max: String,
    },
    /// Names that are no Go cipher suite.
    #[error("unknown cipher suites: {}", .0.join(", "))]
    UnknownCipherSuites(Vec<String>),
    /// Go cipher suites rustls does not implement (CBC, RC4, 3DES, RSA key exchange).
    #[error("cipher suites not supported (only ECDHE with AES-GCM or ChaCha20-Poly1305 are): {}", .0.join(", "))]
    UnsupportedCipherSuites(Vec<String>),
    /// Names that are no Go curve.
    #[error("unknown curves: {}", .0.join(", "))]
    UnknownCurves(Vec<String>),
    /// Go curves the ring provider does not implement.
    #[error("curves not supported (only X25519, secp256r1 and secp384r1 are): {}", .0.join(", "))]
    UnsupportedCurves(Vec<String>),
    /// `clientAuth.clientAuthType` is not one of Go's five.
    #[error("unknown client auth type {0:?}")]
    ClientAuthType(String),
    /// A verifying `clientAuthType` without `caFiles`.
    #[error("invalid clientAuthType: {0}, CAFiles is required")]
    CaRequired(String),
    /// A `caFiles` entry could not be read.
    #[error("clientAuth.caFiles: {0}")]
    CaFile(CertError),
    /// A `caFiles` entry holds no usable certificate.
    #[error("clientAuth.caFiles: invalid certificate(s) in {0}")]
    InvalidCa(String),
    /// rustls refused the client certificate verifier.
    #[error("client certificate verifier: {0}")]
    Verifier(String),
    /// rustls refused the configuration.
    #[error(transparent)]
    Rustls(#[from] rustls::Error),
    /// `default` options are defined by more than one provider.
    #[error(
        "default TLS options are defined by several providers ({0}); the built-in default is used"
    )]
    MultipleDefaults(String),
}

/// Compiles `options`; certificates are read from `shared` at each handshake.
pub(super) fn server_config(
    options: &TlsOptions,
    shared: &Arc<Shared>,
) -> Result<ServerConfig, OptionsError> {
    let versions = versions(options)?;
    let provider = Arc::new(provider_for(options)?);
    let builder =
        ServerConfig::builder_with_provider(provider.clone()).with_protocol_versions(&versions)?;
    let builder = match client_verifier(&options.client_auth, &provider)? {
        Some(verifier) => builder.with_client_cert_verifier(verifier),
        None => builder.with_no_client_auth(),
    };
    let mut config = builder.with_cert_resolver(Arc::new(SniResolver {
        shared: shared.clone(),
        sni_strict: options.sni_strict,
    }));
    config.alpn_protocols = options
        .alpn_protocols_or_default()
        .into_iter()
        .map(String::into_bytes)
        .collect();
    if options.disable_session_tickets {
        // Go has no server-side session cache, so without tickets nothing resumes.
        config.session_storage = Arc::new(NoServerSessionStorage {});
        config.send_tls13_tickets = 0;
    } else {
        config.ticketer = rustls::crypto::ring::Ticketer::new()?;
    }
    Ok(config)
}

/// The configuration answering TLS-ALPN-01 challenges: the challenge certificate for the
/// SNI and ALPN `acme-tls/1`, nothing else.
pub(super) fn acme_config(shared: &Arc<Shared>) -> Result<ServerConfig, rustls::Error> {
    let mut config = ServerConfig::builder_with_provider(cert::provider().clone())
        .with_safe_default_protocol_versions()?
        .with_no_client_auth()
        .with_cert_resolver(Arc::new(ChallengeResolver {
            shared: shared.clone(),
        }));
    config.alpn_protocols = vec![ACME_TLS_ALPN.to_vec()];
    config.send_tls13_tickets = 0;
    Ok(config)
}

fn version_rank(field: &str) -> Result<Option<usize>, OptionsError> {
    if field.is_empty() {
        return Ok(None);
    }
    TLS_VERSIONS
        .iter()
        .position(|v| *v == field)
        .map(Some)
        .ok_or_else(|| OptionsError::UnknownVersion(field.to_owned()))
}

fn versions(
    options: &TlsOptions,
) -> Result<Vec<&'static rustls::SupportedProtocolVersion>, OptionsError> {
    // Ranks index TLS_VERSIONS: 2 is TLS 1.2, 3 is TLS 1.3. TLS 1.0/1.1 minimums are
    // accepted (Traefik allows them) but rustls cannot go below 1.2.
    let min = version_rank(&options.min_version)?.unwrap_or(2);
    let max = version_rank(&options.max_version)?.unwrap_or(3);
    let mut versions = Vec::with_capacity(2);
    if min <= 2 && max >= 2 {
        versions.push(&rustls::version::TLS12);
    }
    if min <= 3 && max >= 3 {
        versions.push(&rustls::version::TLS13);
    }
    if versions.is_empty() {
        return Err(OptionsError::NoVersion {
            min: options.min_version.clone(),
            max: options.max_version.clone(),
        });
    }
    Ok(versions)
}

enum Suite {
    Tls12(SupportedCipherSuite),
    /// TLS 1.3 suites are not configurable, as in Go: naming them changes nothing.
    Tls13,
    /// A signalling value, not a suite; rustls always has downgrade protection.
    FallbackScsv,
    Unsupported,
    Unknown,
}

fn suite(name: &str) -> Suite {
    match name {
        "TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256" => {
            Suite::Tls12(suites::TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256)
        }
        "TLS_ECDHE_ECDSA_WITH_AES_256_GCM_SHA384" => {
            Suite::Tls12(suites::TLS_ECDHE_ECDSA_WITH_AES_256_GCM_SHA384)
        }
        "TLS_ECDHE_ECDSA_WITH_CHACHA20_POLY1305"
        | "TLS_ECDHE_ECDSA_WITH_CHACHA20_POLY1305_SHA256" => {
            Suite::Tls12(suites::TLS_ECDHE_ECDSA_WITH_CHACHA20_POLY1305_SHA256)
        }
        "TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256" => {
            Suite::Tls12(suites::TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256)
        }
        "TLS_ECDHE_RSA_WITH_AES_256_GCM_SHA384" => {
            Suite::Tls12(suites::TLS_ECDHE_RSA_WITH_AES_256_GCM_SHA384)
        }
        "TLS_ECDHE_RSA_WITH_CHACHA20_POLY1305" | "TLS_ECDHE_RSA_WITH_CHACHA20_POLY1305_SHA256" => {
            Suite::Tls12(suites::TLS_ECDHE_RSA_WITH_CHACHA20_POLY1305_SHA256)
        }
        "TLS_AES_128_GCM_SHA256" | "TLS_AES_256_GCM_SHA384" | "TLS_CHACHA20_POLY1305_SHA256" => {
            Suite::Tls13
        }
        "TLS_FALLBACK_SCSV" => Suite::FallbackScsv,
        other if CIPHER_SUITES.contains(&other) => Suite::Unsupported,
        _ => Suite::Unknown,
    }
}

fn curve(name: &str) -> Result<&'static dyn SupportedKxGroup, bool> {
    match name {
        "secp256r1" | "CurveP256" => Ok(kx_group::SECP256R1),
        "secp384r1" | "CurveP384" => Ok(kx_group::SECP384R1),
        "x25519" | "X25519" => Ok(kx_group::X25519),
        // Err(true): a known Go curve the ring provider lacks; Err(false): not a curve.
        other => Err(CURVES.contains(&other)),
    }
}

fn provider_for(options: &TlsOptions) -> Result<CryptoProvider, OptionsError> {
    let mut provider = CryptoProvider::clone(cert::provider());
    if !options.cipher_suites.is_empty() {
        let (mut unknown, mut unsupported) = (Vec::new(), Vec::new());
        let mut chosen: Vec<SupportedCipherSuite> = provider
            .cipher_suites
            .iter()
            .copied()
            .filter(|s| s.version() == &rustls::version::TLS13)
            .collect();
        for name in &options.cipher_suites {
            match suite(name) {
                Suite::Tls12(s) if !chosen.contains(&s) => chosen.push(s),
                Suite::Tls12(_) | Suite::Tls13 | Suite::FallbackScsv => {}
                Suite::Unsupported => unsupported.push(name.clone()),
                Suite::Unknown => unknown.push(name.clone()),
            }
        }
        if !unknown.is_empty() {
            return Err(OptionsError::UnknownCipherSuites(unknown));
        }
        if !unsupported.is_empty() {
            return Err(OptionsError::UnsupportedCipherSuites(unsupported));
        }
        provider.cipher_suites = chosen;
    }
    if !options.curve_preferences.is_empty() {
        let (mut unknown, mut unsupported) = (Vec::new(), Vec::new());
        let mut groups: Vec<&'static dyn SupportedKxGroup> = Vec::new();
        for name in &options.curve_preferences {
            match curve(name) {
                Ok(group) if !groups.iter().any(|g| g.name() == group.name()) => groups.push(group),
                Ok(_) => {}
                Err(true) => unsupported.push(name.clone()),
                Err(false) => unknown.push(name.clone()),
            }
        }
        if !unknown.is_empty() {
            return Err(OptionsError::UnknownCurves(unknown));
        }
        if !unsupported.is_empty() {
            return Err(OptionsError::UnsupportedCurves(unsupported));
        }
        provider.kx_groups = groups;
    }
    Ok(provider)
}

fn load_roots(ca_files: &[String]) -> Result<RootCertStore, OptionsError> {
    let mut roots = RootCertStore::empty();
    for file in ca_files {
        let shown = if file.contains("-----BEGIN") {
            "content".to_owned()
        } else {
            file.clone()
        };
        let pem = cert::read_file_or_content(file).map_err(OptionsError::CaFile)?;
        let certs = CertificateDer::pem_slice_iter(&pem)
            .collect::<Result<Vec<_>, _>>()
            .map_err(|_| OptionsError::InvalidCa(shown.clone()))?;
        if certs.is_empty() {
            return Err(OptionsError::InvalidCa(shown));
        }
        for cert in certs {
            roots
                .add(cert)
                .map_err(|_| OptionsError::InvalidCa(shown.clone()))?;
        }
    }
    Ok(roots)
}

fn client_verifier(
    auth: &ClientAuth,
    provider: &Arc<CryptoProvider>,
) -> Result<Option<Arc<dyn ClientCertVerifier>>, OptionsError> {
    let roots = if auth.ca_files.is_empty() {
        None
    } else {
        Some(load_roots(&auth.ca_files)?)
    };
    // As in Traefik: CA files alone mean RequireAndVerifyClientCert.
    let kind = match (auth.client_auth_type.as_str(), &roots) {
        ("", Some(_)) => "RequireAndVerifyClientCert",
        ("", None) => "NoClientCert",
        (kind, _) => kind,
    };
    match kind {
        "NoClientCert" => Ok(None),
        "RequestClientCert" | "RequireAnyClientCert" => Ok(Some(Arc::new(AnyClientCert {
            mandatory: kind == "RequireAnyClientCert",
            hints: roots.map(|r| r.subjects()).unwrap_or_default(),
            algorithms: provider.signature_verification_algorithms,
        }))),
        "VerifyClientCertIfGiven" | "RequireAndVerifyClientCert" => {
            let roots = roots.ok_or_else(|| OptionsError::CaRequired(kind.to_owned()))?;
            let builder =
                WebPkiClientVerifier::builder_with_provider(Arc::new(roots), provider.clone());
            let builder = if kind == "VerifyClientCertIfGiven" {
                builder.allow_unauthenticated()
            } else {
                builder
            };
            builder
                .build()
                .map(Some)
                .map_err(|e| OptionsError::Verifier(e.to_string()))
        }
        other => Err(OptionsError::ClientAuthType(other.to_owned())),
    }
}

/// Go's `RequestClientCert`/`RequireAnyClientCert`: asks for a certificate and checks
/// that the client holds its key, but trusts no chain.
#[derive(Debug)]
struct AnyClientCert {
    mandatory: bool,
    hints: Vec<DistinguishedName>,
    algorithms: WebPkiSupportedAlgorithms,
}

impl ClientCertVerifier for AnyClientCert {
    fn client_auth_mandatory(&self) -> bool {
        self.mandatory
    }

    fn root_hint_subjects(&self) -> &[DistinguishedName] {
        &self.hints
    }

    fn verify_client_cert(
        &self,
        _end_entity: &CertificateDer<'_>,
        _intermediates: &[CertificateDer<'_>],
        _now: UnixTime,
    ) -> Result<ClientCertVerified, rustls::Error> {
        Ok(ClientCertVerified::assertion())
    }

    fn verify_tls12_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        rustls::crypto::verify_tls12_signature(message, cert, dss, &self.algorithms)
    }

    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        rustls::crypto::verify_tls13_signature(message, cert, dss, &self.algorithms)
    }

    fn supported_verify_schemes(&self) -> Vec<SignatureScheme> {
        self.algorithms.supported_schemes()
    }
}

/// Serves the store's certificate for the SNI, else the default one (or none when
/// `sniStrict`, which fails the handshake).
struct SniResolver {
    shared: Arc<Shared>,
    sni_strict: bool,
}

impl std::fmt::Debug for SniResolver {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SniResolver")
            .field("sni_strict", &self.sni_strict)
            .finish_non_exhaustive()
    }
}

impl ResolvesServerCert for SniResolver {
    fn resolve(&self, hello: ClientHello<'_>) -> Option<Arc<CertifiedKey>> {
        let index = self.shared.certs.load();
        if let Some(found) = hello.server_name().and_then(|name| index.find(name)) {
            return Some(found.clone());
        }
        if self.sni_strict {
            debug!(server_name = ?hello.server_name(), "strict SNI: no certificate for the server name, closing");
            return None;
        }
        Some(index.default.clone())
    }
}

/// Serves one certificate whatever the hello says (a connection without SNI whose local
/// IP address a certificate names).
#[derive(Debug)]
pub(super) struct FixedResolver(pub(super) Arc<CertifiedKey>);

impl ResolvesServerCert for FixedResolver {
    fn resolve(&self, _hello: ClientHello<'_>) -> Option<Arc<CertifiedKey>> {
        Some(self.0.clone())
    }
}

/// Serves the pending TLS-ALPN-01 challenge certificate for the SNI.
struct ChallengeResolver {
    shared: Arc<Shared>,
}

impl std::fmt::Debug for ChallengeResolver {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ChallengeResolver").finish_non_exhaustive()
    }
}

impl ResolvesServerCert for ChallengeResolver {
    fn resolve(&self, hello: ClientHello<'_>) -> Option<Arc<CertifiedKey>> {
        let found = hello
            .server_name()
            .and_then(|name| self.shared.challenges.load().get(name).cloned());
        if found.is_none() {
            debug!(server_name = ?hello.server_name(), "no TLS-ALPN-01 challenge for the server name");
        }
        found
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use rustls::CipherSuite;

    /// A compiled value, or a part of the error message.
    type Want<T> = Result<T, &'static str>;

    fn opts(f: impl FnOnce(&mut TlsOptions)) -> TlsOptions {
        let mut o = TlsOptions::default();
        f(&mut o);
        o
    }

    #[test]
    fn versions_follow_min_and_max() {
        let v12 = &rustls::version::TLS12;
        let v13 = &rustls::version::TLS13;
        type Case = (
            &'static str,
            &'static str,
            &'static str,
            Want<Vec<&'static rustls::SupportedProtocolVersion>>,
        );
        let cases: [Case; 7] = [
            ("defaults", "", "", Ok(vec![v12, v13])),
            (
                "min 1.0 is 1.2 in effect",
                "VersionTLS10",
                "",
                Ok(vec![v12, v13]),
            ),
            ("min 1.3", "VersionTLS13", "", Ok(vec![v13])),
            ("max 1.2", "", "VersionTLS12", Ok(vec![v12])),
            ("max 1.1", "", "VersionTLS11", Err("no TLS version")),
            (
                "min above max",
                "VersionTLS13",
                "VersionTLS12",
                Err("no TLS version"),
            ),
            (
                "unknown",
                "TLS1.3",
                "",
                Err("unknown TLS version \"TLS1.3\""),
            ),
        ];
        for (case, min, max, want) in cases {
            let got = versions(&opts(|o| {
                o.min_version = min.into();
                o.max_version = max.into();
            }));
            match (got, want) {
                (Ok(got), Ok(want)) => {
                    let got: Vec<_> = got.iter().map(|v| v.version).collect();
                    let want: Vec<_> = want.iter().map(|v| v.version).collect();
                    assert_eq!(got, want, "{case}");
                }
                (Err(e), Err(want)) => assert!(e.to_string().contains(want), "{case}: {e}"),
                (got, _) => panic!("{case}: {:?}", got.map(|v| v.len())),
            }
        }
    }

    #[test]
    fn cipher_suites_map_go_names() {
        let tls13 = [
            CipherSuite::TLS13_AES_256_GCM_SHA384,
            CipherSuite::TLS13_AES_128_GCM_SHA256,
            CipherSuite::TLS13_CHACHA20_POLY1305_SHA256,
        ];
        type Case = (
            &'static str,
            &'static [&'static str],
            Want<&'static [CipherSuite]>,
        );
        let cases: [Case; 6] = [
            (
                "go names, order kept, aliases merged",
                &[
                    "TLS_ECDHE_RSA_WITH_CHACHA20_POLY1305",
                    "TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256",
                    "TLS_ECDHE_RSA_WITH_CHACHA20_POLY1305_SHA256",
                ],
                Ok(&[
                    CipherSuite::TLS_ECDHE_RSA_WITH_CHACHA20_POLY1305_SHA256,
                    CipherSuite::TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256,
                ]),
            ),
            (
                "tls 1.3 names change nothing",
                &["TLS_AES_128_GCM_SHA256", "TLS_FALLBACK_SCSV"],
                Ok(&[]),
            ),
            (
                "unsupported are named",
                &[
                    "TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256",
                    "TLS_RSA_WITH_AES_128_CBC_SHA",
                    "TLS_ECDHE_RSA_WITH_RC4_128_SHA",
                ],
                Err(
                    "not supported (only ECDHE with AES-GCM or ChaCha20-Poly1305 are): TLS_RSA_WITH_AES_128_CBC_SHA, TLS_ECDHE_RSA_WITH_RC4_128_SHA",
                ),
            ),
            (
                "unknown are named",
                &["TLS_MADE_UP"],
                Err("unknown cipher suites: TLS_MADE_UP"),
            ),
            (
                "ecdsa",
                &["TLS_ECDHE_ECDSA_WITH_AES_256_GCM_SHA384"],
                Ok(&[CipherSuite::TLS_ECDHE_ECDSA_WITH_AES_256_GCM_SHA384]),
            ),
            (
                "ecdsa chacha",
                &["TLS_ECDHE_ECDSA_WITH_CHACHA20_POLY1305_SHA256"],
                Ok(&[CipherSuite::TLS_ECDHE_ECDSA_WITH_CHACHA20_POLY1305_SHA256]),
            ),
        ];
        for (case, names, want) in cases {
            let got = provider_for(&opts(|o| {
                o.cipher_suites = names.iter().map(|s| (*s).to_owned()).collect()
            }));
            match (got, want) {
                (Ok(provider), Ok(tls12)) => {
                    let got: Vec<CipherSuite> =
                        provider.cipher_suites.iter().map(|s| s.suite()).collect();
                    let want: Vec<CipherSuite> = tls13.iter().chain(tls12).copied().collect();
                    assert_eq!(got, want, "{case}");
                }
                (Err(e), Err(want)) => assert!(e.to_string().contains(want), "{case}: {e}"),
                (got, want) => panic!("{case}: got ok={}, want {want:?}", got.is_ok()),
            }
        }
    }

    #[test]
    fn curves_map_go_names() {
        type Case = (
            &'static str,
            &'static [&'static str],
            Want<&'static [rustls::NamedGroup]>,
        );
        let cases: [Case; 4] = [
            (
                "both spellings",
                &["CurveP384", "x25519", "secp384r1"],
                Ok(&[rustls::NamedGroup::secp384r1, rustls::NamedGroup::X25519]),
            ),
            (
                "p-256",
                &["secp256r1"],
                Ok(&[rustls::NamedGroup::secp256r1]),
            ),
            (
                "unsupported",
                &["CurveP521", "X25519MLKEM768", "X25519"],
                Err(
                    "not supported (only X25519, secp256r1 and secp384r1 are): CurveP521, X25519MLKEM768",
                ),
            ),
            ("unknown", &["P-256"], Err("unknown curves: P-256")),
        ];
        for (case, names, want) in cases {
            let got = provider_for(&opts(|o| {
                o.curve_preferences = names.iter().map(|s| (*s).to_owned()).collect()
            }));
            match (got, want) {
                (Ok(provider), Ok(want)) => {
                    let got: Vec<_> = provider.kx_groups.iter().map(|g| g.name()).collect();
                    assert_eq!(got, want, "{case}");
                }
                (Err(e), Err(want)) => assert!(e.to_string().contains(want), "{case}: {e}"),
                (got, want) => panic!("{case}: got ok={}, want {want:?}", got.is_ok()),
            }
        }
    }

    #[test]
    fn client_auth_types() {
        let ca = super::super::cert::testing::TestCa::new("client ca");
        let provider = cert::provider().clone();
        // (case, caFiles, type, Ok((offered, mandatory)) or Err(message part))
        type Case = (&'static str, bool, &'static str, Want<Option<(bool, bool)>>);
        let cases: [Case; 9] = [
            ("nothing", false, "", Ok(None)),
            (
                "ca files alone require and verify",
                true,
                "",
                Ok(Some((true, true))),
            ),
            ("no client cert despite cas", true, "NoClientCert", Ok(None)),
            (
                "request",
                false,
                "RequestClientCert",
                Ok(Some((true, false))),
            ),
            (
                "require any",
                false,
                "RequireAnyClientCert",
                Ok(Some((true, true))),
            ),
            (
                "verify if given",
                true,
                "VerifyClientCertIfGiven",
                Ok(Some((true, false))),
            ),
            (
                "verify if given needs cas",
                false,
                "VerifyClientCertIfGiven",
                Err("CAFiles is required"),
            ),
            (
                "require and verify needs cas",
                false,
                "RequireAndVerifyClientCert",
                Err("CAFiles is required"),
            ),
            (
                "unknown type",
                false,
                "Sometimes",
                Err("unknown client auth type \"Sometimes\""),
            ),
        ];
        for (case, with_ca, kind, want) in cases {
            let auth = ClientAuth {
                ca_files: if with_ca {
                    vec![ca.pem.clone()]
                } else {
                    vec![]
                },
                client_auth_type: kind.into(),
            };
            match (client_verifier(&auth, &provider), want) {
                (Ok(None), Ok(None)) => {}
                (Ok(Some(v)), Ok(Some((offer, mandatory)))) => {
                    assert_eq!(
                        (v.offer_client_auth(), v.client_auth_mandatory()),
                        (offer, mandatory),
                        "{case}"
                    );
                }
                (Err(e), Err(want)) => assert!(e.to_string().contains(want), "{case}: {e}"),
                (got, want) => panic!("{case}: got {:?}, want {want:?}", got.map(|v| v.is_some())),
            }
        }
        let bad = ClientAuth {
            ca_files: vec!["-----BEGIN CERTIFICATE-----\n-----END CERTIFICATE-----\n".into()],
            client_auth_type: String::new(),
        };
        assert!(
            matches!(client_verifier(&bad, &provider), Err(OptionsError::InvalidCa(s)) if s == "content")
        );
        let missing = ClientAuth {
            ca_files: vec!["/nonexistent/ca.pem".into()],
            client_auth_type: String::new(),
        };
        assert!(
            client_verifier(&missing, &provider)
                .unwrap_err()
                .to_string()
                .contains("/nonexistent/ca.pem")
        );
    }

    #[test]
    fn alpn_and_tickets() {
        let shared = Arc::new(Shared {
            certs: arc_swap::ArcSwap::from_pointee(
                super::super::store::CertIndex::empty_for_tests(),
            ),
            challenges: arc_swap::ArcSwap::from_pointee(Default::default()),
        });
        let config = server_config(&TlsOptions::default(), &shared).unwrap();
        assert_eq!(
            config.alpn_protocols,
            [b"h2".to_vec(), b"http/1.1".to_vec(), b"acme-tls/1".to_vec()]
        );
        assert!(config.ticketer.enabled());
        let config = server_config(
            &opts(|o| {
                o.alpn_protocols = vec!["http/1.1".into()];
                o.disable_session_tickets = true;
            }),
            &shared,
        )
        .unwrap();
        assert_eq!(config.alpn_protocols, [b"http/1.1".to_vec()]);
        assert!(!config.ticketer.enabled());
        assert_eq!(config.send_tls13_tickets, 0);
        let acme = acme_config(&shared).unwrap();
        assert_eq!(acme.alpn_protocols, [ACME_TLS_ALPN.to_vec()]);
    }
}
