//! TLS termination with a certificate published on the bus, picked by SNI.

use std::sync::Arc;
use std::time::Duration;

use rustls::pki_types::{CertificateDer, ServerName};
use serde_json::json;
use switchyard_integration_tests::process::{free_port, start_proxy_with, start_whoami};
use switchyard_integration_tests::{TestBus, eventually, start_nats};
use tokio::io::{AsyncReadExt as _, AsyncWriteExt as _};

struct TestCa {
    cert: rcgen::Certificate,
    issuer: rcgen::Issuer<'static, rcgen::KeyPair>,
}

fn test_ca() -> anyhow::Result<TestCa> {
    let mut params = rcgen::CertificateParams::new(Vec::<String>::new())?;
    params
        .distinguished_name
        .push(rcgen::DnType::CommonName, "switchyard test CA");
    params.is_ca = rcgen::IsCa::Ca(rcgen::BasicConstraints::Unconstrained);
    let key = rcgen::KeyPair::generate()?;
    let cert = params.self_signed(&key)?;
    Ok(TestCa {
        cert,
        issuer: rcgen::Issuer::new(params, key),
    })
}

fn leaf(ca: &TestCa, names: &[&str]) -> anyhow::Result<(String, String)> {
    let params =
        rcgen::CertificateParams::new(names.iter().map(|n| (*n).to_owned()).collect::<Vec<_>>())?;
    let key = rcgen::KeyPair::generate()?;
    let cert = params.signed_by(&key, &ca.issuer)?;
    Ok((cert.pem(), key.serialize_pem()))
}

/// Connects with SNI `sni`, sends `GET /` with `Host: host`, returns (peer cert, status line + body).
async fn https_get(
    addr: std::net::SocketAddr,
    sni: &str,
    host: &str,
    roots: &rustls::RootCertStore,
) -> anyhow::Result<(CertificateDer<'static>, String)> {
    let mut config = rustls::ClientConfig::builder()
        .with_root_certificates(roots.clone())
        .with_no_client_auth();
    config.alpn_protocols = vec![b"http/1.1".to_vec()];
    let connector = tokio_rustls::TlsConnector::from(Arc::new(config));
    let tcp = tokio::net::TcpStream::connect(addr).await?;
    let mut tls = connector
        .connect(ServerName::try_from(sni.to_owned())?, tcp)
        .await?;
    let peer = tls
        .get_ref()
        .1
        .peer_certificates()
        .and_then(|c| c.first())
        .cloned()
        .expect("a certificate");
    tls.write_all(
        format!("GET / HTTP/1.1\r\nHost: {host}\r\nConnection: close\r\n\r\n").as_bytes(),
    )
    .await?;
    let mut response = Vec::new();
    tokio::time::timeout(Duration::from_secs(10), tls.read_to_end(&mut response)).await??;
    Ok((peer, String::from_utf8_lossy(&response).into_owned()))
}

#[tokio::test]
async fn a_certificate_published_on_the_bus_is_served_by_sni() -> anyhow::Result<()> {
    let _ = rustls::crypto::ring::default_provider().install_default();
    let nats = start_nats().await?;
    let backend = start_whoami("secure")?;
    let port = free_port()?;
    let config = std::env::temp_dir().join(format!("switchyard-tls-{}.yml", std::process::id()));
    std::fs::write(
        &config,
        format!(
            "entryPoints:\n  websecure:\n    address: \"127.0.0.1:{port}\"\n    http:\n      tls: {{}}\n"
        ),
    )?;
    let seal = switchyard_bus::SealKey::generate()?;
    let proxy = start_proxy_with(
        "tls",
        &nats.url,
        &["--config".into(), config.display().to_string()],
        &[("SWITCHYARD_BUS_SECRET", seal.to_base64())],
    )?;
    let websecure: std::net::SocketAddr = format!("127.0.0.1:{port}").parse()?;

    let mut bus = TestBus::connect(&nats.url).await?;
    bus.publish(
        "file",
        json!({"http": {
            "routers": {"secure": {"rule": "Host(`secure.test`)", "service": "s", "entryPoints": ["websecure"], "tls": {}}},
            "services": {"s": {"loadBalancer": {"servers": [{"url": backend.url()}]}}}
        }}),
    )
    .await?;
    let ca = test_ca()?;
    let (chain, key) = leaf(&ca, &["secure.test"])?;
    bus.put_certificate("secure.test", &["secure.test"], &chain, &key, &seal)
        .await?;

    let mut roots = rustls::RootCertStore::empty();
    roots.add(ca.cert.der().clone())?;
    let expected_leaf = CertificateDer::from_pem_slice(chain.as_bytes())?;
    eventually(
        Duration::from_secs(15),
        "the bus certificate to be served for secure.test",
        || {
            let roots = roots.clone();
            let expected_leaf = expected_leaf.clone();
            async move {
                match https_get(websecure, "secure.test", "secure.test", &roots).await {
                    Ok((peer, response)) => {
                        peer == expected_leaf && response.starts_with("HTTP/1.1 200")
                    }
                    Err(_) => false,
                }
            }
        },
    )
    .await
    .map_err(|e| anyhow::anyhow!("{e}\n{}", proxy.process.log_text()))?;
    let (_, response) = https_get(websecure, "secure.test", "secure.test", &roots).await?;
    assert!(response.contains("Name: secure"), "{response}");
    assert!(response.contains("x-forwarded-proto: https"), "{response}");

    // TLS requests and connections are counted on the TLS entrypoint.
    let metrics = switchyard_integration_tests::client::get(proxy.internal, "x", "/metrics")
        .await?
        .body;
    assert!(
        metrics.contains(r#"traefik_entrypoint_requests_total{code="200",entrypoint="websecure",method="GET",protocol="http"}"#),
        "{metrics}"
    );
    assert!(
        metrics.contains(r#"traefik_open_connections{entrypoint="websecure""#),
        "{metrics}"
    );

    // Another SNI gets the default certificate (which the test CA did not sign).
    let other = https_get(websecure, "other.test", "other.test", &roots).await;
    assert!(
        other.is_err(),
        "the default certificate is not trusted by the test CA"
    );
    Ok(())
}

use rustls::pki_types::pem::PemObject as _;
