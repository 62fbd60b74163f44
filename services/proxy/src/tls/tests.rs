//! Handshakes over real sockets: SNI selection, TLS options per host, client
//! certificates, hot swaps, TLS-ALPN-01, and HTTP/1.1 and HTTP/2 through actix-server.

use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use actix_http::Protocol;
use actix_web::{App, HttpRequest, HttpResponse, web};
use rustls::client::danger::{HandshakeSignatureValid, ServerCertVerified, ServerCertVerifier};
use rustls::pki_types::{CertificateDer, PrivateKeyDer, ServerName, UnixTime};
use rustls::{ClientConfig, DigitallySignedStruct, RootCertStore, SignatureScheme};
use rustls_pki_types::pem::PemObject;
use switchyard_model::tls::{ClientAuth, TlsOptions};
use tokio::io::{AsyncReadExt as _, AsyncWriteExt as _};
use tokio::net::{TcpListener, TcpStream};
use tokio_rustls::TlsConnector;
use tokio_rustls::client::TlsStream as ClientTls;

use super::cert::testing::{Issued, TestCa};
use super::*;

const H2: &[u8] = b"h2";
const H1: &[u8] = b"http/1.1";

/// Accepts any server certificate, so that tests can look at which one was served.
#[derive(Debug)]
struct AnyServerCert;

impl ServerCertVerifier for AnyServerCert {
    fn verify_server_cert(
        &self,
        _end_entity: &CertificateDer<'_>,
        _intermediates: &[CertificateDer<'_>],
        _server_name: &ServerName<'_>,
        _ocsp: &[u8],
        _now: UnixTime,
    ) -> Result<ServerCertVerified, rustls::Error> {
        Ok(ServerCertVerified::assertion())
    }

    fn verify_tls12_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        let algorithms = super::cert::provider().signature_verification_algorithms;
        rustls::crypto::verify_tls12_signature(message, cert, dss, &algorithms)
    }

    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        let algorithms = super::cert::provider().signature_verification_algorithms;
        rustls::crypto::verify_tls13_signature(message, cert, dss, &algorithms)
    }

    fn supported_verify_schemes(&self) -> Vec<SignatureScheme> {
        super::cert::provider()
            .signature_verification_algorithms
            .supported_schemes()
    }
}

/// How the test client connects.
struct Client {
    trust: Option<CertificateDer<'static>>,
    tls12_only: bool,
    alpn: Vec<&'static [u8]>,
    identity: Option<Issued>,
}

impl Default for Client {
    fn default() -> Self {
        Self {
            trust: None,
            tls12_only: false,
            alpn: vec![H1],
            identity: None,
        }
    }
}

impl Client {
    fn config(&self) -> ClientConfig {
        let versions: &[&rustls::SupportedProtocolVersion] = if self.tls12_only {
            &[&rustls::version::TLS12]
        } else {
            rustls::DEFAULT_VERSIONS
        };
        let builder = ClientConfig::builder_with_provider(super::cert::provider().clone())
            .with_protocol_versions(versions)
            .unwrap();
        let builder = match &self.trust {
            Some(ca) => {
                let mut roots = RootCertStore::empty();
                roots.add(ca.clone()).unwrap();
                builder.with_root_certificates(roots)
            }
            None => builder
                .dangerous()
                .with_custom_certificate_verifier(Arc::new(AnyServerCert)),
        };
        let mut config = match &self.identity {
            Some(id) => {
                let chain = CertificateDer::pem_slice_iter(id.chain_pem.as_bytes())
                    .collect::<Result<Vec<_>, _>>()
                    .unwrap();
                builder
                    .with_client_auth_cert(
                        chain,
                        PrivateKeyDer::from_pem_slice(id.key_pem.as_bytes()).unwrap(),
                    )
                    .unwrap()
            }
            None => builder.with_no_client_auth(),
        };
        config.alpn_protocols = self.alpn.iter().map(|p| p.to_vec()).collect();
        config
    }

    /// Connects to `addr`, sending `sni` (none for `None`).
    async fn connect(
        &self,
        addr: SocketAddr,
        sni: Option<&str>,
    ) -> std::io::Result<ClientTls<TcpStream>> {
        let mut config = self.config();
        let name = match sni {
            Some(sni) => ServerName::try_from(sni.to_owned()).unwrap(),
            None => {
                config.enable_sni = false;
                ServerName::IpAddress(addr.ip().into())
            }
        };
        let tcp = TcpStream::connect(addr).await?;
        TlsConnector::from(Arc::new(config))
            .connect(name, tcp)
            .await
    }
}

type ServerSide = std::io::Result<(tokio_rustls::server::TlsStream<TcpStream>, Protocol)>;

/// One handshake between `client` and `acceptor`: the client's and the server's outcome.
/// A client whose handshake "succeeds" before the server rejects it (TLS 1.3 client
/// certificates) sees the rejection on its first read, which this reports. After a
/// TLS-ALPN-01 answer the client's handshake is reported as it is.
async fn handshake(
    acceptor: &Arc<TlsAcceptor>,
    client: &Client,
    sni: Option<&str>,
) -> (std::io::Result<ClientTls<TcpStream>>, ServerSide) {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let server_acceptor = acceptor.clone();
    let server = tokio::spawn(async move {
        let (tcp, _) = listener.accept().await.unwrap();
        server_acceptor.accept(tcp).await
    });
    let client = client.connect(addr, sni).await;
    let server = server.await.unwrap();
    let client = match (client, &server) {
        (Ok(mut tls), Err(e)) if !is_acme_challenge_answered(e) => {
            let mut buf = [0u8; 1];
            match tokio::time::timeout(Duration::from_secs(5), tls.read(&mut buf)).await {
                Ok(Ok(n)) if n > 0 => Ok(tls),
                Ok(Err(e)) => Err(e),
                _ => Err(std::io::Error::other("closed by the server")),
            }
        }
        (client, _) => client,
    };
    (client, server)
}

fn served_leaf(client: &ClientTls<TcpStream>) -> CertificateDer<'static> {
    client.get_ref().1.peer_certificates().unwrap()[0]
        .clone()
        .into_owned()
}

fn state_with(certs: &[(&str, &Issued)]) -> Arc<TlsState> {
    let state = Arc::new(TlsState::new().unwrap());
    for (id, issued) in certs {
        state.upsert(id, issued.certificate());
    }
    state
}

#[tokio::test]
async fn sni_selects_exact_then_wildcard_then_default() {
    let ca = TestCa::new("ca");
    let exact = ca.issue(&["a.example.com"]);
    let wildcard = ca.issue(&["*.example.com"]);
    let ip = ca.issue(&["127.0.0.1"]);
    let state = state_with(&[("exact", &exact), ("wildcard", &wildcard)]);
    let acceptor = Arc::new(TlsAcceptor::new(state.clone()));
    let default = state.default_certificate().cert[0].clone();
    let cases: [(&str, Option<&str>, &CertificateDer<'static>); 5] = [
        ("exact", Some("a.example.com"), &exact.der),
        ("wildcard", Some("b.example.com"), &wildcard.der),
        (
            "two labels below the wildcard",
            Some("x.b.example.com"),
            &default,
        ),
        ("unknown", Some("example.org"), &default),
        ("no sni", None, &default),
    ];
    for (case, sni, want) in cases {
        let (client, server) = handshake(&acceptor, &Client::default(), sni).await;
        let client = client.unwrap_or_else(|e| panic!("{case}: {e}"));
        assert!(server.is_ok(), "{case}");
        assert_eq!(&served_leaf(&client), want, "{case}");
    }
    // Without SNI, a certificate naming the local address wins over the default.
    state.upsert("ip", ip.certificate());
    let (client, _) = handshake(&acceptor, &Client::default(), None).await;
    assert_eq!(served_leaf(&client.unwrap()), ip.der);
}

#[tokio::test]
async fn generated_default_certificate_is_traefiks() {
    let state = Arc::new(TlsState::new().unwrap());
    let acceptor = Arc::new(TlsAcceptor::new(state));
    let (client, _) = handshake(&acceptor, &Client::default(), Some("nothing.example.com")).await;
    let leaf = served_leaf(&client.unwrap());
    let info = super::der::parse_leaf(&leaf).unwrap();
    assert_eq!(info.common_name.as_deref(), Some(DEFAULT_CERT_CN));
    assert!(info.dns_names[0].ends_with(".traefik.default"));
}

#[tokio::test]
async fn sni_strict_refuses_unknown_names_and_no_sni() {
    let ca = TestCa::new("ca");
    let known = ca.issue(&["a.example.com"]);
    let state = state_with(&[("a", &known)]);
    let strict = TlsOptions {
        sni_strict: true,
        ..TlsOptions::default()
    };
    assert!(
        state
            .set_options(&BTreeMap::from([("default@file".to_owned(), strict)]))
            .is_empty()
    );
    let acceptor = Arc::new(TlsAcceptor::new(state));
    let cases = [
        ("known", Some("a.example.com"), true),
        ("unknown", Some("b.example.com"), false),
        ("no sni", None, false),
    ];
    for (case, sni, ok) in cases {
        let (client, server) = handshake(&acceptor, &Client::default(), sni).await;
        assert_eq!(client.is_ok(), ok, "{case}: client");
        assert_eq!(server.is_ok(), ok, "{case}: server");
    }
}

#[tokio::test]
async fn min_version_of_the_hosts_options_applies() {
    let ca = TestCa::new("ca");
    let cert = ca.issue(&["modern.example.com", "legacy.example.com"]);
    let state = state_with(&[("c", &cert)]);
    let modern = TlsOptions {
        min_version: "VersionTLS13".into(),
        ..TlsOptions::default()
    };
    assert!(
        state
            .set_options(&BTreeMap::from([("modern@file".to_owned(), modern)]))
            .is_empty()
    );
    let acceptor = Arc::new(TlsAcceptor::new(state));
    let mut hosts = HostOptions::builder();
    hosts
        .add_router("modern@file", "Host(`modern.example.com`)", "modern@file")
        .unwrap();
    acceptor.set_host_options(hosts.build().0);
    let tls12 = Client {
        tls12_only: true,
        ..Client::default()
    };
    let cases = [
        (
            "tls 1.2 client, default options",
            &tls12,
            "legacy.example.com",
            true,
        ),
        (
            "tls 1.2 client, tls 1.3 minimum",
            &tls12,
            "modern.example.com",
            false,
        ),
        (
            "tls 1.3 client, tls 1.3 minimum",
            &Client::default(),
            "modern.example.com",
            true,
        ),
    ];
    for (case, client, sni, ok) in cases {
        let (client, server) = handshake(&acceptor, client, Some(sni)).await;
        assert_eq!(client.is_ok(), ok, "{case}: client");
        assert_eq!(server.is_ok(), ok, "{case}: server");
    }
}

#[tokio::test]
async fn client_certificates_are_required_and_verified() {
    let server_ca = TestCa::new("server ca");
    let client_ca = TestCa::new("client ca");
    let stranger_ca = TestCa::new("stranger ca");
    let cert = server_ca.issue(&["secure.example.com"]);
    let state = state_with(&[("c", &cert)]);
    let mtls = TlsOptions {
        client_auth: ClientAuth {
            ca_files: vec![client_ca.pem.clone()],
            client_auth_type: "RequireAndVerifyClientCert".into(),
        },
        ..TlsOptions::default()
    };
    assert!(
        state
            .set_options(&BTreeMap::from([("mtls@file".to_owned(), mtls)]))
            .is_empty()
    );
    let acceptor = Arc::new(TlsAcceptor::new(state));
    let mut hosts = HostOptions::builder();
    hosts
        .add_router("secure@file", "Host(`secure.example.com`)", "mtls@file")
        .unwrap();
    acceptor.set_host_options(hosts.build().0);

    let trusted = Client {
        identity: Some(client_ca.issue(&["client-1"])),
        trust: Some(server_ca.der.clone()),
        ..Client::default()
    };
    let stranger = Client {
        identity: Some(stranger_ca.issue(&["client-2"])),
        ..Client::default()
    };
    let anonymous = Client::default();
    for (case, client, ok) in [
        ("trusted", &trusted, true),
        ("stranger", &stranger, false),
        ("anonymous", &anonymous, false),
    ] {
        let (client, server) = handshake(&acceptor, client, Some("secure.example.com")).await;
        assert_eq!(server.is_ok(), ok, "{case}: server");
        assert_eq!(client.is_ok(), ok, "{case}: client");
        if let Ok((tls, _)) = server {
            let info = TlsInfo::of(&tls, &acceptor);
            assert_eq!(info.options.as_ref(), "mtls@file");
            assert_eq!(
                info.peer_certificates.map(|c| c.len()),
                Some(2),
                "{case}: chain seen by the app"
            );
        }
    }
    // Other hosts keep the default options: no client certificate asked.
    let (client, server) = handshake(&acceptor, &anonymous, Some("other.example.com")).await;
    assert!(client.is_ok() && server.is_ok());
}

#[tokio::test]
async fn broken_options_refuse_their_hosts_only() {
    let ca = TestCa::new("ca");
    let state = state_with(&[("c", &ca.issue(&["*.example.com"]))]);
    let broken = TlsOptions {
        cipher_suites: vec!["TLS_RSA_WITH_AES_128_CBC_SHA".into()],
        ..TlsOptions::default()
    };
    assert_eq!(
        state
            .set_options(&BTreeMap::from([("broken@file".to_owned(), broken)]))
            .len(),
        1
    );
    let acceptor = Arc::new(TlsAcceptor::new(state));
    let mut hosts = HostOptions::builder();
    hosts
        .add_router("r1", "Host(`broken.example.com`)", "broken@file")
        .unwrap();
    hosts
        .add_router("r2", "Host(`missing.example.com`)", "missing@file")
        .unwrap();
    acceptor.set_host_options(hosts.build().0);
    for (sni, ok) in [
        ("broken.example.com", false),
        ("missing.example.com", false),
        ("fine.example.com", true),
    ] {
        let (client, server) = handshake(&acceptor, &Client::default(), Some(sni)).await;
        assert_eq!((client.is_ok(), server.is_ok()), (ok, ok), "{sni}");
    }
}

#[tokio::test]
async fn a_new_certificate_serves_the_next_handshake() {
    let ca = TestCa::new("ca");
    let state = Arc::new(TlsState::new().unwrap());
    let acceptor = Arc::new(TlsAcceptor::new(state.clone()));
    let default = state.default_certificate().cert[0].clone();
    let sni = Some("hot.example.com");
    let (client, _) = handshake(&acceptor, &Client::default(), sni).await;
    assert_eq!(served_leaf(&client.unwrap()), default);

    let first = ca.issue(&["hot.example.com"]);
    state.upsert("hot", first.certificate());
    let (client, _) = handshake(&acceptor, &Client::default(), sni).await;
    assert_eq!(served_leaf(&client.unwrap()), first.der);

    let renewed = ca.issue(&["hot.example.com"]);
    state.upsert("hot", renewed.certificate());
    let (client, _) = handshake(&acceptor, &Client::default(), sni).await;
    assert_eq!(served_leaf(&client.unwrap()), renewed.der);

    state.remove("hot");
    let (client, _) = handshake(&acceptor, &Client::default(), sni).await;
    assert_eq!(served_leaf(&client.unwrap()), default);
}

#[tokio::test]
async fn tls_alpn_01_challenges_are_answered_then_closed() {
    let ca = TestCa::new("ca");
    let regular = ca.issue(&["acme.example.com"]);
    let challenge = ca.issue(&["acme.example.com"]);
    let state = state_with(&[("regular", &regular)]);
    state.upsert_challenge(
        "acme.example.com",
        challenge.certificate().certified_key().clone(),
    );
    let acceptor = Arc::new(TlsAcceptor::new(state));
    let acme = Client {
        alpn: vec![ACME_TLS_ALPN],
        ..Client::default()
    };

    let (client, server) = handshake(&acceptor, &acme, Some("acme.example.com")).await;
    let err = server.err().unwrap();
    assert!(is_acme_challenge_answered(&err), "{err}");
    let client = client.unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(served_leaf(&client), challenge.der);
    assert_eq!(client.get_ref().1.alpn_protocol(), Some(ACME_TLS_ALPN));

    // Offered with other protocols, acme-tls/1 is an ordinary handshake.
    let mixed = Client {
        alpn: vec![ACME_TLS_ALPN, H1],
        ..Client::default()
    };
    let (client, server) = handshake(&acceptor, &mixed, Some("acme.example.com")).await;
    assert_eq!(served_leaf(&client.unwrap()), regular.der);
    assert!(server.is_ok());

    // No pending challenge for the name: the handshake fails.
    let (client, server) = handshake(&acceptor, &acme, Some("other.example.com")).await;
    assert!(client.is_err());
    assert!(!is_acme_challenge_answered(&server.err().unwrap()));
}

#[tokio::test]
async fn alpn_decides_the_protocol() {
    let ca = TestCa::new("ca");
    let state = state_with(&[("c", &ca.issue(&["a.example.com"]))]);
    let acceptor = Arc::new(TlsAcceptor::new(state));
    type Case = (&'static str, Vec<&'static [u8]>, Option<Protocol>);
    let cases: [Case; 4] = [
        ("h2 preferred", vec![H2, H1], Some(Protocol::Http2)),
        ("http/1.1 only", vec![H1], Some(Protocol::Http1)),
        ("no alpn", vec![], Some(Protocol::Http1)),
        ("nothing in common", vec![&b"spdy/3"[..]], None),
    ];
    for (case, alpn, want) in cases {
        let (_, server) = handshake(
            &acceptor,
            &Client {
                alpn,
                ..Client::default()
            },
            Some("a.example.com"),
        )
        .await;
        assert_eq!(server.ok().map(|(_, p)| p), want, "{case}");
    }
}

#[tokio::test]
async fn silent_clients_time_out() {
    let acceptor = Arc::new(
        TlsAcceptor::new(Arc::new(TlsState::new().unwrap()))
            .with_handshake_timeout(Duration::from_millis(100)),
    );
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let _silent = TcpStream::connect(addr).await.unwrap();
    let (tcp, _) = listener.accept().await.unwrap();
    let err = acceptor.accept(tcp).await.err().unwrap();
    assert_eq!(err.kind(), std::io::ErrorKind::TimedOut);
}

async fn body_of_h1(mut tls: ClientTls<TcpStream>) -> String {
    tls.write_all(b"GET /hello HTTP/1.1\r\nHost: app.example.com\r\nConnection: close\r\n\r\n")
        .await
        .unwrap();
    let mut response = Vec::new();
    tls.read_to_end(&mut response).await.unwrap();
    String::from_utf8(response).unwrap()
}

async fn body_of_h2(tls: ClientTls<TcpStream>) -> (u16, String) {
    let (mut client, connection) = h2::client::handshake(tls).await.unwrap();
    actix_web::rt::spawn(async move {
        let _ = connection.await;
    });
    let request = http::Request::builder()
        .uri("https://app.example.com/hello")
        .body(())
        .unwrap();
    let (response, _) = client.send_request(request, true).unwrap();
    let response = response.await.unwrap();
    let status = response.status().as_u16();
    let mut body = response.into_body();
    let mut bytes = Vec::new();
    while let Some(chunk) = body.data().await {
        let chunk = chunk.unwrap();
        let _ = body.flow_control().release_capacity(chunk.len());
        bytes.extend_from_slice(&chunk);
    }
    (status, String::from_utf8(bytes).unwrap())
}

#[actix_web::test]
async fn serves_http1_and_h2_through_actix_server() {
    let ca = TestCa::new("ca");
    let leaf = ca.issue(&["app.example.com"]);
    let state = state_with(&[("app", &leaf)]);
    let acceptor = Arc::new(TlsAcceptor::new(state));
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = listener.local_addr().unwrap();
    let builder = actix_server::Server::build().workers(1).disable_signals();
    let server = listen_tls(
        builder,
        "websecure",
        listener,
        acceptor,
        HttpSettings::default(),
        |_: &mut actix_http::Extensions| {},
        || {
            App::new().default_service(web::to(|req: HttpRequest| async move {
                let sni = req
                    .conn_data::<TlsInfo>()
                    .and_then(|i| i.server_name.clone());
                HttpResponse::Ok().body(format!(
                    "ok {:?} sni={}",
                    req.version(),
                    sni.as_deref().unwrap_or("-")
                ))
            }))
        },
    )
    .unwrap()
    .run();
    let handle = server.handle();
    actix_web::rt::spawn(server);

    let trusting = Client {
        trust: Some(ca.der.clone()),
        ..Client::default()
    };
    let tls = trusting
        .connect(addr, Some("app.example.com"))
        .await
        .unwrap();
    let response = body_of_h1(tls).await;
    assert!(response.starts_with("HTTP/1.1 200 OK\r\n"), "{response}");
    assert!(
        response.ends_with("ok HTTP/1.1 sni=app.example.com"),
        "{response}"
    );

    let h2_client = Client {
        trust: Some(ca.der.clone()),
        alpn: vec![H2, H1],
        ..Client::default()
    };
    let tls = h2_client
        .connect(addr, Some("app.example.com"))
        .await
        .unwrap();
    assert_eq!(tls.get_ref().1.alpn_protocol(), Some(&b"h2"[..]));
    let (status, body) = body_of_h2(tls).await;
    assert_eq!(status, 200);
    assert_eq!(body, "ok HTTP/2.0 sni=app.example.com");

    // A failed handshake does not disturb the server.
    let wrong_trust = Client {
        trust: Some(TestCa::new("other").der),
        ..Client::default()
    };
    assert!(
        wrong_trust
            .connect(addr, Some("app.example.com"))
            .await
            .is_err()
    );
    let tls = trusting
        .connect(addr, Some("app.example.com"))
        .await
        .unwrap();
    assert!(body_of_h1(tls).await.starts_with("HTTP/1.1 200 OK"));

    handle.stop(false).await;
}
