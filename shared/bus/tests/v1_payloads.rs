//! Payloads written by contract v1 must keep decoding: one fixture per message type.

use std::collections::BTreeMap;
use std::path::Path;

use serde::de::DeserializeOwned;
use switchyard_bus::messages::{
    CertificateRecord, Commit, Heartbeat, Http01Challenge, Lease, ProviderStatus, ServerHealth,
    TlsAlpn01Challenge,
};
use switchyard_bus::record::{Record, from_records};
use switchyard_bus::{ConfigKey, keys};
use switchyard_model::ResourceKind;
use switchyard_model::http::{Middleware, Service};

fn fixture(name: &str) -> Vec<u8> {
    let path = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures/v1")
        .join(name);
    std::fs::read(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

fn decodes<T: DeserializeOwned>(name: &str) -> T {
    serde_json::from_slice(&fixture(name)).unwrap_or_else(|e| panic!("{name}: {e}"))
}

#[test]
fn every_message_type_decodes() {
    let commit: Commit = decodes("commit.json");
    assert_eq!(commit.generation, 3);
    let status: ProviderStatus = decodes("provider-status.json");
    assert!(!status.healthy);
    let heartbeat: Heartbeat = decodes("heartbeat.json");
    assert_eq!(heartbeat.disabled[0].router, "api@file");
    let health: ServerHealth = decodes("server-health.json");
    assert!(!health.up);
    let cert: CertificateRecord = decodes("certificate.json");
    assert_eq!(cert.domains.len(), 2);
    let http01: Http01Challenge = decodes("http01.json");
    assert_eq!(http01.token, "tok_123");
    let alpn: TlsAlpn01Challenge = decodes("tlsalpn01.json");
    assert_eq!(alpn.domain, "example.com");
    let lease: Lease = decodes("lease.json");
    assert_eq!(lease.holder, "certificates-1");
}

#[test]
fn records_decode_into_the_model() {
    let entries = [
        (ResourceKind::HttpRouter, "whoami", "record-router.json"),
        (ResourceKind::HttpService, "whoami", "record-service.json"),
        (
            ResourceKind::HttpMiddleware,
            "strip",
            "record-middleware.json",
        ),
        (ResourceKind::HttpRouter, "broken", "record-rejected.json"),
    ];
    let records: BTreeMap<ConfigKey, Record> = entries
        .iter()
        .map(|(kind, name, file)| {
            let key = ConfigKey::new("file", *kind, *name);
            let record = Record::from_bytes(&key, &fixture(file)).unwrap();
            (key, record)
        })
        .collect();
    let providers = from_records(&records);
    let (config, problems) = &providers["file"];
    let router = &config.http.routers["whoami"];
    assert_eq!(router.service, "whoami");
    assert_eq!(router.middlewares, ["strip"]);
    assert!(
        matches!(&config.http.services["whoami"], Service::LoadBalancer(lb) if lb.servers.len() == 2)
    );
    assert!(matches!(
        &config.http.middlewares["strip"],
        Middleware::StripPrefix(_)
    ));
    assert_eq!(problems.len(), 1);
    assert_eq!(
        problems[0].display_with_provider("file"),
        "http.routers.broken@file.rule: expected ')' at column 17"
    );
}

#[test]
fn a_record_of_the_wrong_shape_disables_only_its_resource() {
    let key = ConfigKey::new("file", ResourceKind::HttpService, "odd");
    let record = Record::from_bytes(&key, br#"{"spec": {"teleport": {}}}"#).unwrap();
    let ok_key = ConfigKey::new("file", ResourceKind::HttpMiddleware, "strip");
    let ok = Record::from_bytes(&ok_key, &fixture("record-middleware.json")).unwrap();
    let providers = from_records([(&key, &record), (&ok_key, &ok)]);
    let (config, problems) = &providers["file"];
    assert!(config.http.services.is_empty());
    assert_eq!(config.http.middlewares.len(), 1);
    assert!(
        problems[0].message.starts_with("cannot decode bus record"),
        "{}",
        problems[0].message
    );
}

#[test]
fn records_round_trip_through_to_records() {
    let key = ConfigKey::new("file", ResourceKind::HttpRouter, "whoami");
    let record = Record::from_bytes(&key, &fixture("record-router.json")).unwrap();
    let providers = from_records([(&key, &record)]);
    let (config, problems) = &providers["file"];
    let again = switchyard_bus::record::to_records("file", config, problems);
    assert_eq!(again.get(&key), Some(&record));
    assert_eq!(keys::CONFIG_BUCKET, "switchyard_config_v1");
}

#[test]
fn certificates_service_payloads_decode() {
    let account: switchyard_bus::messages::AcmeAccount = decodes("acme-account.json");
    assert_eq!(account.resolver, "le");
    let status: switchyard_bus::messages::CertificateStatus = decodes("certificate-status.json");
    assert_eq!(status.domains.len(), 2);
    assert_eq!(status.last_error.as_deref(), Some("ACME: rateLimited"));
}
