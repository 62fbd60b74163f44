//! The certificates service against Pebble, a real ACME CA, with real challenge validation:
//! routers that name a certificate resolver get certificates that every proxy replica
//! serves, renewed before they expire, by whichever certificates instance holds the lease,
//! and private keys never cross the bus in clear.
//!
//! Topology (see `switchyard_integration_tests::pebble`): NATS and Pebble in containers,
//! two proxy replicas A and B and the certificates service as host processes. Pebble's VA
//! sends HTTP-01 requests to A's `web` entrypoint and TLS-ALPN-01 handshakes to B's
//! `websecure` entrypoint; the tests connect to both replicas' `websecure` with SNI.

use std::collections::{BTreeMap, BTreeSet};
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use anyhow::{Context as _, bail};
use futures::StreamExt as _;
use rustls::pki_types::CertificateDer;
use rustls::pki_types::pem::PemObject as _;
use serde_json::json;
use switchyard_bus::messages::{CertificateRecord, Lease, TlsAlpn01Challenge};
use switchyard_integration_tests::pebble::{
    HttpsReply, Pebble, PebbleSettings, docker_unavailable, https_get, scratch_dir,
};
use switchyard_integration_tests::process::{
    Process, Whoami, free_port, start_whoami, wait_for_port,
};
use switchyard_integration_tests::{Nats, TestBus, start_nats};

/// How long a certificate may take from router published to served by both replicas.
const ISSUE_DEADLINE: Duration = Duration::from_secs(60);

/// A proxy replica listening on every interface, so that Pebble's VA reaches it.
struct Replica {
    process: Process,
    websecure: SocketAddr,
}

/// NATS, Pebble, two proxy replicas and a backend; the certificates service is started
/// by each test with the resolver it needs.
struct Edge {
    nats: Nats,
    bus: TestBus,
    pebble: Pebble,
    seal: switchyard_bus::SealKey,
    /// Answers HTTP-01 (Pebble's `httpPort` is its `web` entrypoint).
    a: Replica,
    /// Answers TLS-ALPN-01 (Pebble's `tlsPort` is its `websecure` entrypoint).
    b: Replica,
    backend: Whoami,
    dir: PathBuf,
    roots: rustls::RootCertStore,
}

/// Which challenge a resolver uses.
#[derive(Clone, Copy)]
enum Challenge {
    Http,
    TlsAlpn,
}

fn start_replica(
    name: &str,
    nats_url: &str,
    dir: &Path,
    web: u16,
    websecure: u16,
    seal: &switchyard_bus::SealKey,
) -> anyhow::Result<Replica> {
    let config = dir.join(format!("proxy-{name}.yml"));
    std::fs::write(
        &config,
        format!(
            "entryPoints:\n  web:\n    address: \"0.0.0.0:{web}\"\n  websecure:\n    address: \"0.0.0.0:{websecure}\"\n    http:\n      tls: {{}}\naccessLog: {{}}\n"
        ),
    )?;
    let internal = free_port()?;
    let process = Process::start(
        &format!("acme-proxy-{name}"),
        "switchyard-proxy",
        &[
            "--config".into(),
            config.display().to_string(),
            "--internal-address".into(),
            format!("127.0.0.1:{internal}"),
            "--instance".into(),
            name.into(),
            "--nats-url".into(),
            nats_url.into(),
            "--workers".into(),
            "2".into(),
        ],
        &[
            ("SWITCHYARD_BUS_SECRET", seal.to_base64()),
            // The TLS-ALPN-01 answer is logged at debug level.
            ("RUST_LOG", "info,switchyard_proxy::tls=debug".into()),
        ],
    )?;
    let websecure: SocketAddr = format!("127.0.0.1:{websecure}").parse()?;
    wait_for_port(format!("127.0.0.1:{web}").parse()?, Duration::from_secs(20))
        .with_context(|| process.log_text())?;
    wait_for_port(websecure, Duration::from_secs(5))?;
    Ok(Replica { process, websecure })
}

impl Edge {
    /// Starts everything but the certificates service; `None` when Docker is unavailable.
    async fn start(validity: Option<Duration>) -> anyhow::Result<Option<Self>> {
        Self::start_with(validity, None).await
    }

    /// The same with Pebble requiring external account binding with `eab` (kid, HMAC key).
    async fn start_with(
        validity: Option<Duration>,
        eab: Option<(String, String)>,
    ) -> anyhow::Result<Option<Self>> {
        if let Some(reason) = docker_unavailable().await {
            eprintln!("skipping: {reason}");
            return Ok(None);
        }
        let _ = rustls::crypto::ring::default_provider().install_default();
        let dir = scratch_dir("acme")?;
        let (a_web, a_websecure, b_web, b_websecure) =
            (free_port()?, free_port()?, free_port()?, free_port()?);
        let pebble = Pebble::start(&PebbleSettings {
            http_port: a_web,
            tls_port: b_websecure,
            validity,
            eab,
        })
        .await?;
        let nats = start_nats().await?;
        let bus = TestBus::connect(&nats.url).await?;
        let seal = switchyard_bus::SealKey::generate()?;
        let a = start_replica("a", &nats.url, &dir, a_web, a_websecure, &seal)?;
        let b = start_replica("b", &nats.url, &dir, b_web, b_websecure, &seal)?;
        let backend = start_whoami("acme-backend")?;
        let roots = pebble.issuing_roots().await?;
        Ok(Some(Self {
            nats,
            bus,
            pebble,
            seal,
            a,
            b,
            backend,
            dir,
            roots,
        }))
    }

    /// The certificates service's static configuration: resolver `name` on Pebble.
    fn certificates_config(&self, resolvers: &[(&str, Challenge)], duration_hours: u64) -> String {
        let keyed: Vec<(&str, Challenge, &str)> = resolvers
            .iter()
            .map(|(name, challenge)| (*name, *challenge, "EC256"))
            .collect();
        self.certificates_config_keyed(&keyed, duration_hours)
    }

    /// The same with each resolver's `keyType`.
    fn certificates_config_keyed(
        &self,
        resolvers: &[(&str, Challenge, &str)],
        duration_hours: u64,
    ) -> String {
        let mut yaml = String::from("certificatesResolvers:\n");
        for (name, challenge, key_type) in resolvers {
            let challenge = match challenge {
                Challenge::Http => "httpChallenge: {entryPoint: web}",
                Challenge::TlsAlpn => "tlsChallenge: {}",
            };
            yaml.push_str(&format!(
                "  {name}:\n    acme:\n      email: ops@example.com\n      caServer: {}\n      caCertificates: [\"{}\"]\n      keyType: {key_type}\n      certificatesDuration: {duration_hours}\n      {challenge}\n",
                self.pebble.directory_url,
                self.pebble.tls_ca_file.display(),
            ));
        }
        yaml
    }

    /// Starts a certificates instance with `config`.
    fn certificates(&self, instance: &str, config: &str) -> anyhow::Result<Process> {
        let path = self.dir.join(format!("certificates-{instance}.yml"));
        std::fs::write(&path, config)?;
        Process::start(
            &format!("certificates-{instance}"),
            "switchyard-certificates",
            &[
                "--config".into(),
                path.display().to_string(),
                "--nats-url".into(),
                self.nats.url.clone(),
                "--instance".into(),
                instance.into(),
            ],
            &[
                ("SWITCHYARD_BUS_SECRET", self.seal.to_base64()),
                ("RUST_LOG", "info".into()),
            ],
        )
    }

    /// Publishes one router per `(name, domain, resolver)` on `websecure`, to the backend.
    async fn publish_routers(&mut self, routers: &[(&str, &str, &str)]) -> anyhow::Result<()> {
        let mut map = serde_json::Map::new();
        for (name, domain, resolver) in routers {
            map.insert(
                (*name).to_owned(),
                json!({
                    "rule": format!("Host(`{domain}`)"),
                    "service": "backend",
                    "entryPoints": ["websecure"],
                    "tls": {"certResolver": resolver},
                }),
            );
        }
        self.bus
            .publish(
                "file",
                json!({"http": {
                    "routers": map,
                    "services": {"backend": {"loadBalancer": {"servers": [{"url": self.backend.url()}]}}},
                }}),
            )
            .await
    }

    /// Waits until `replica` serves `domain` with a certificate chaining to Pebble's root
    /// (the handshake verifies the name and the chain) and forwards to the backend.
    async fn wait_served(
        &self,
        replica: &Replica,
        domain: &str,
        deadline: Duration,
        accept: impl Fn(&HttpsReply) -> bool,
        logs: &[&Process],
    ) -> anyhow::Result<HttpsReply> {
        let until = tokio::time::Instant::now() + deadline;
        let mut last;
        loop {
            match https_get(replica.websecure, domain, "/", &self.roots).await {
                Ok(reply) if reply.status == 200 && accept(&reply) => return Ok(reply),
                Ok(reply) => last = format!("status {} body {:?}", reply.status, reply.body),
                Err(e) => last = format!("{e:#}"),
            }
            if tokio::time::Instant::now() > until {
                let mut text = format!(
                    "{domain} not served by {} within {deadline:?}; last: {last}\n--- pebble ---\n{}",
                    replica.process.log.display(),
                    self.pebble.logs().await
                );
                for process in logs
                    .iter()
                    .copied()
                    .chain([&self.a.process, &self.b.process])
                {
                    text.push_str(&format!(
                        "\n--- {} ---\n{}",
                        process.log.display(),
                        log_tail(&process.log_text())
                    ));
                }
                bail!(text);
            }
            tokio::time::sleep(Duration::from_millis(200)).await;
        }
    }

    /// Both replicas serve `domain` with the same Pebble-issued leaf; returns it.
    async fn wait_served_by_both(
        &self,
        domain: &str,
        deadline: Duration,
        accept: impl Fn(&HttpsReply) -> bool + Copy,
        logs: &[&Process],
    ) -> anyhow::Result<CertificateDer<'static>> {
        let a = self
            .wait_served(&self.a, domain, deadline, accept, logs)
            .await?;
        let leaf = a.chain.first().cloned().context("A sent no certificate")?;
        let b = self
            .wait_served(
                &self.b,
                domain,
                deadline,
                |r| r.chain.first() == Some(&leaf),
                logs,
            )
            .await?;
        assert!(a.body.contains("Name: acme-backend"), "{}", a.body);
        assert!(b.body.contains("Name: acme-backend"), "{}", b.body);
        Ok(leaf)
    }
}

/// The last lines of a log, without the handshakes the test's own polling failed.
fn log_tail(text: &str) -> String {
    let lines: Vec<&str> = text
        .lines()
        .filter(|l| !l.contains("TLS handshake failed"))
        .collect();
    lines[lines.len().saturating_sub(60)..].join("\n")
}

/// One value on the bus: bucket, key, value.
type BusValue = (String, String, Vec<u8>);

/// Every value written to the watched buckets while a test runs, deletions included.
#[derive(Clone, Default)]
struct Recorder {
    entries: Arc<Mutex<Vec<BusValue>>>,
}

impl Recorder {
    /// Starts watching `stores` (before the certificates service starts, so nothing is missed).
    async fn watch(stores: &[(&str, &async_nats::jetstream::kv::Store)]) -> anyhow::Result<Self> {
        let recorder = Self::default();
        for (bucket, store) in stores {
            let mut watch = store.watch_all().await?;
            let entries = recorder.entries.clone();
            let bucket = (*bucket).to_owned();
            tokio::spawn(async move {
                while let Some(Ok(entry)) = watch.next().await {
                    if let Ok(mut entries) = entries.lock() {
                        entries.push((bucket.clone(), entry.key, entry.value.to_vec()));
                    }
                }
            });
        }
        Ok(recorder)
    }

    fn entries(&self) -> Vec<BusValue> {
        self.entries.lock().map(|e| e.clone()).unwrap_or_default()
    }

    /// Every certificate record put, with its key, in order.
    fn certificates(&self) -> Vec<(String, CertificateRecord)> {
        self.entries()
            .into_iter()
            .filter(|(bucket, _, _)| bucket == switchyard_bus::keys::CERTS_BUCKET)
            .filter_map(|(_, key, value)| {
                serde_json::from_slice::<CertificateRecord>(&value)
                    .ok()
                    .map(|r| (key, r))
            })
            .collect()
    }

    /// Distinct certificates (by leaf) written per domain set.
    fn issued_per_domain_set(&self) -> BTreeMap<BTreeSet<String>, BTreeSet<String>> {
        let mut issued: BTreeMap<BTreeSet<String>, BTreeSet<String>> = BTreeMap::new();
        for (_, record) in self.certificates() {
            issued
                .entry(record.domains.iter().cloned().collect())
                .or_default()
                .insert(leaf_pem(&record.chain_pem));
        }
        issued
    }
}

/// The first certificate of a PEM chain, as PEM text.
fn leaf_pem(chain: &str) -> String {
    match chain.find("-----END CERTIFICATE-----") {
        Some(end) => chain[..end + "-----END CERTIFICATE-----".len()]
            .trim()
            .to_owned(),
        None => chain.to_owned(),
    }
}

fn leaf_der(chain: &str) -> anyhow::Result<CertificateDer<'static>> {
    CertificateDer::from_pem_slice(chain.as_bytes()).context("chain has no certificate")
}

/// The current certificate record for `domain` on the bus, with its key.
async fn record_for(bus: &TestBus, domain: &str) -> anyhow::Result<(String, CertificateRecord)> {
    let mut keys = bus.buckets.certs.keys().await?;
    while let Some(key) = keys.next().await {
        let key = key?;
        if let Some(value) = bus.buckets.certs.get(&key).await?
            && let Ok(record) = serde_json::from_slice::<CertificateRecord>(&value)
            && record.domains.iter().any(|d| d == domain)
        {
            return Ok((key, record));
        }
    }
    bail!("no certificate record for {domain} on the bus")
}

fn pebble_issued(logs: &str) -> usize {
    logs.matches("Issued certificate serial").count()
}

#[tokio::test]
async fn http01_a_router_with_a_resolver_gets_a_pebble_certificate_on_every_replica()
-> anyhow::Result<()> {
    let Some(mut edge) = Edge::start(None).await? else {
        return Ok(());
    };
    let certificates = edge.certificates(
        "certs-1",
        &edge.certificates_config(&[("pebble", Challenge::Http)], 2160),
    )?;
    edge.publish_routers(&[("app", "a.test", "pebble")]).await?;

    // What a user sees: https://a.test answers on every replica with a certificate that
    // Pebble issued for a.test (the handshake checks the name and the chain to its root).
    let leaf = edge
        .wait_served_by_both("a.test", ISSUE_DEADLINE, |_| true, &[&certificates])
        .await?;

    // Pebble validated over HTTP-01 against replica A only: the token the certificates
    // service published on the bus was answered by a proxy, not by the service.
    let challenge = "/.well-known/acme-challenge/";
    assert!(
        edge.a.process.log_text().contains(challenge),
        "replica A's access log shows no challenge request:\n{}",
        edge.a.process.log_text()
    );
    assert!(!edge.b.process.log_text().contains(challenge));

    // The bus record is that certificate, issued by Pebble.
    let (_, record) = record_for(&edge.bus, "a.test").await?;
    assert_eq!(leaf_der(&record.chain_pem)?, leaf);
    assert!(
        record.issuer.contains("Pebble"),
        "issuer {:?}",
        record.issuer
    );
    assert_eq!(pebble_issued(&edge.pebble.logs().await), 1);
    Ok(())
}

#[tokio::test]
async fn eab_a_resolver_with_external_account_binding_gets_certificates_from_a_ca_that_requires_it()
-> anyhow::Result<()> {
    // A CA that only accepts accounts bound to an external account (as ZeroSSL and
    // commercial CAs do): without `eab` Pebble refuses the account.
    let (kid, hmac) = (
        "switchyard-eab-kid".to_owned(),
        "zWNDZM6eQGHWpSRTPal5eIUYFTu7EajVIoguysqZ9wG44nMEtx3MUAsUDkMTQ12W".to_owned(),
    );
    let Some(mut edge) = Edge::start_with(None, Some((kid.clone(), hmac.clone()))).await? else {
        return Ok(());
    };
    let config = edge
        .certificates_config(&[("pebble", Challenge::Http)], 2160)
        .replace(
            "    acme:\n",
            &format!("    acme:\n      eab: {{kid: {kid}, hmacEncoded: {hmac}}}\n"),
        );
    let certificates = edge.certificates("certs-1", &config)?;
    edge.publish_routers(&[("bound", "eab.test", "pebble")])
        .await?;
    edge.wait_served_by_both("eab.test", ISSUE_DEADLINE, |_| true, &[&certificates])
        .await?;
    assert_eq!(pebble_issued(&edge.pebble.logs().await), 1);
    Ok(())
}

#[tokio::test]
async fn tls_alpn01_a_router_with_a_tls_challenge_resolver_gets_a_certificate_via_replica_b()
-> anyhow::Result<()> {
    let Some(mut edge) = Edge::start(None).await? else {
        return Ok(());
    };
    let certificates = edge.certificates(
        "certs-1",
        &edge.certificates_config(&[("pebble", Challenge::TlsAlpn)], 2160),
    )?;
    edge.publish_routers(&[("app", "b.test", "pebble")]).await?;

    let leaf = edge
        .wait_served_by_both("b.test", ISSUE_DEADLINE, |_| true, &[&certificates])
        .await?;

    // Pebble's TLS-ALPN-01 handshakes went to replica B, which answered with the challenge
    // certificate from the bus; A never saw one.
    let answered = "TLS-ALPN-01 challenge answered";
    assert!(
        edge.b.process.log_text().contains(answered),
        "replica B answered no TLS-ALPN-01 challenge:\n{}",
        edge.b.process.log_text()
    );
    assert!(!edge.a.process.log_text().contains(answered));
    assert!(
        !edge
            .a
            .process
            .log_text()
            .contains("/.well-known/acme-challenge/"),
        "an HTTP-01 request reached A although the resolver uses TLS-ALPN-01"
    );
    let (_, record) = record_for(&edge.bus, "b.test").await?;
    assert_eq!(leaf_der(&record.chain_pem)?, leaf);
    Ok(())
}

#[tokio::test]
async fn renewal_a_short_lived_certificate_is_replaced_before_it_expires() -> anyhow::Result<()> {
    // 60-second certificates. The service renews a third of the lifetime before the end
    // at the latest (Traefik's table for certificatesDuration 1 would say 20 minutes, which
    // is longer than the whole lifetime): about 40 s after issuance.
    let Some(mut edge) = Edge::start(Some(Duration::from_secs(60))).await? else {
        return Ok(());
    };
    let recorder =
        Recorder::watch(&[(switchyard_bus::keys::CERTS_BUCKET, &edge.bus.buckets.certs)]).await?;
    let certificates = edge.certificates(
        "certs-1",
        &edge.certificates_config(&[("pebble", Challenge::Http)], 1),
    )?;
    edge.publish_routers(&[("app", "renew.test", "pebble")])
        .await?;
    let first = edge
        .wait_served_by_both("renew.test", ISSUE_DEADLINE, |_| true, &[&certificates])
        .await?;
    let (_, first_record) = record_for(&edge.bus, "renew.test").await?;
    assert_eq!(leaf_der(&first_record.chain_pem)?, first);

    // A user sees a new certificate (later end of validity) on every replica, before the
    // first one has expired.
    let renewed = edge
        .wait_served_by_both(
            "renew.test",
            Duration::from_secs(120),
            |r| r.chain.first() != Some(&first),
            &[&certificates],
        )
        .await?;
    let (_, record) = record_for(&edge.bus, "renew.test").await?;
    assert_eq!(leaf_der(&record.chain_pem)?, renewed);
    assert!(
        record.not_after > first_record.not_after,
        "renewed not_after {} is not later than {}",
        record.not_after,
        first_record.not_after
    );
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)?
        .as_secs();
    assert!(
        i64::try_from(now)? < record.not_after,
        "the renewed certificate is already expired"
    );
    assert!(recorder.certificates().len() >= 2);
    assert!(pebble_issued(&edge.pebble.logs().await) >= 2);
    Ok(())
}

#[tokio::test]
async fn failover_the_standby_issues_new_certificates_after_the_lease_holder_dies()
-> anyhow::Result<()> {
    let Some(mut edge) = Edge::start(None).await? else {
        return Ok(());
    };
    let recorder =
        Recorder::watch(&[(switchyard_bus::keys::CERTS_BUCKET, &edge.bus.buckets.certs)]).await?;
    let config = edge.certificates_config(&[("pebble", Challenge::Http)], 2160);
    let mut instances = BTreeMap::from([
        ("certs-1".to_owned(), edge.certificates("certs-1", &config)?),
        ("certs-2".to_owned(), edge.certificates("certs-2", &config)?),
    ]);
    edge.publish_routers(&[("one", "one.test", "pebble")])
        .await?;
    let logs: Vec<&Process> = instances.values().collect();
    edge.wait_served_by_both("one.test", ISSUE_DEADLINE, |_| true, &logs)
        .await?;

    // The lease says who is active; kill it without a chance to hand over.
    let lease = edge
        .bus
        .buckets
        .leases
        .get("certificates")
        .await?
        .context("no `certificates` lease on the bus")?;
    let lease: Lease = serde_json::from_slice(&lease)?;
    let mut holder = instances
        .remove(&lease.holder)
        .with_context(|| format!("lease held by unknown instance {:?}", lease.holder))?;
    holder.kill();

    // A router added afterwards still gets its certificate: the standby took over.
    edge.publish_routers(&[("one", "one.test", "pebble"), ("two", "two.test", "pebble")])
        .await?;
    let logs: Vec<&Process> = instances.values().chain([&holder]).collect();
    edge.wait_served_by_both("two.test", Duration::from_secs(90), |_| true, &logs)
        .await?;
    let lease: Lease = serde_json::from_slice(
        &edge
            .bus
            .buckets
            .leases
            .get("certificates")
            .await?
            .context("lease gone")?,
    )?;
    assert!(
        instances.contains_key(&lease.holder),
        "the lease is held by {:?}, not by the survivor",
        lease.holder
    );
    // And one.test is still served after the failover.
    edge.wait_served_by_both("one.test", Duration::from_secs(5), |_| true, &logs)
        .await?;

    // No domain set was ordered twice: one certificate per domain set on the bus, and
    // Pebble issued exactly two.
    let issued = recorder.issued_per_domain_set();
    for (domains, leaves) in &issued {
        assert_eq!(
            leaves.len(),
            1,
            "{domains:?} was issued {} times",
            leaves.len()
        );
    }
    assert_eq!(issued.len(), 2, "{issued:?}");
    assert_eq!(pebble_issued(&edge.pebble.logs().await), 2);
    Ok(())
}

/// Every value of every KV bucket on the server, with its bucket and key.
async fn every_bus_value(client: &async_nats::Client) -> anyhow::Result<Vec<BusValue>> {
    let js = async_nats::jetstream::new(client.clone());
    let mut names = js.stream_names();
    let mut buckets = Vec::new();
    while let Some(name) = names.next().await {
        if let Some(bucket) = name?.strip_prefix("KV_") {
            buckets.push(bucket.to_owned());
        }
    }
    let mut values = Vec::new();
    for bucket in buckets {
        let store = js.get_key_value(&bucket).await?;
        let mut keys = store.keys().await?;
        while let Some(key) = keys.next().await {
            let key = key?;
            if let Some(value) = store.get(&key).await? {
                values.push((bucket.clone(), key, value.to_vec()));
            }
        }
    }
    Ok(values)
}

/// The body lines of a PEM text (each 64 base64 characters of the DER).
fn pem_body_lines(pem: &str) -> Vec<String> {
    pem.lines()
        .map(str::trim)
        .filter(|l| !l.starts_with("-----") && l.len() >= 32)
        .map(str::to_owned)
        .collect()
}

#[tokio::test]
async fn private_keys_never_travel_in_clear_and_the_sealed_key_matches_the_served_certificate()
-> anyhow::Result<()> {
    let Some(mut edge) = Edge::start(None).await? else {
        return Ok(());
    };
    // Watch what passes through certs and challenges while certificates are issued
    // (challenges are deleted once validated), then read every bucket at the end.
    let recorder = Recorder::watch(&[
        (switchyard_bus::keys::CERTS_BUCKET, &edge.bus.buckets.certs),
        (
            switchyard_bus::keys::CHALLENGES_BUCKET,
            &edge.bus.buckets.challenges,
        ),
    ])
    .await?;
    let certificates = edge.certificates(
        "certs-1",
        // One RSA and one ECDSA resolver: both key types travel sealed and are served.
        &edge.certificates_config_keyed(
            &[
                ("http", Challenge::Http, "RSA2048"),
                ("tls", Challenge::TlsAlpn, "EC256"),
            ],
            2160,
        ),
    )?;
    edge.publish_routers(&[("viahttp", "h.test", "http"), ("viatls", "t.test", "tls")])
        .await?;
    let mut served = Vec::new();
    for domain in ["h.test", "t.test"] {
        let leaf = edge
            .wait_served_by_both(domain, ISSUE_DEADLINE, |_| true, &[&certificates])
            .await?;
        served.push((domain, leaf));
    }

    // The secrets that must not appear in clear: each certificate's key (opened from the
    // bus with the shared secret) and each TLS-ALPN-01 challenge certificate's key.
    let mut secrets: Vec<(String, Vec<u8>, Vec<String>)> = Vec::new();
    for (domain, leaf) in &served {
        let (key, record) = record_for(&edge.bus, domain).await?;
        let pem = String::from_utf8(edge.seal.open(&record.key, &key)?)?;
        let pair = rcgen::KeyPair::from_pem(&pem)
            .with_context(|| format!("the sealed key of {domain} is not a private key"))?;
        // h.test comes from the RSA2048 resolver, t.test from the EC256 one.
        let expected = if *domain == "h.test" {
            &rcgen::PKCS_RSA_SHA256
        } else {
            &rcgen::PKCS_ECDSA_P256_SHA256
        };
        assert_eq!(
            pair.algorithm(),
            expected,
            "key type of {domain}'s certificate"
        );
        // The key belongs to the certificate every replica serves: the served leaf
        // embeds the key's public half.
        let public = pair.public_key_raw();
        assert!(
            leaf.windows(public.len()).any(|w| w == public),
            "the sealed key of {domain} does not match the served certificate"
        );
        secrets.push((
            domain.to_string(),
            pair.serialize_der(),
            pem_body_lines(&pem),
        ));
    }
    let entries = recorder.entries();
    let alpn: Vec<_> = entries
        .iter()
        .filter(|(_, key, _)| key.starts_with("tlsalpn01."))
        .filter_map(|(_, key, value)| {
            serde_json::from_slice::<TlsAlpn01Challenge>(value)
                .ok()
                .map(|c| (key.clone(), c))
        })
        .collect();
    assert!(
        !alpn.is_empty(),
        "no TLS-ALPN-01 challenge went over the bus"
    );
    assert!(
        entries.iter().any(|(_, key, _)| key.starts_with("http01.")),
        "no HTTP-01 challenge went over the bus"
    );
    for (key, challenge) in &alpn {
        let pem = String::from_utf8(edge.seal.open(&challenge.key, key)?)?;
        let pair = rcgen::KeyPair::from_pem(&pem)?;
        secrets.push((key.clone(), pair.serialize_der(), pem_body_lines(&pem)));
    }

    let at_rest = every_bus_value(&edge.bus.client).await?;
    let watched = entries.into_iter();
    for (bucket, key, value) in watched.chain(at_rest) {
        let text = String::from_utf8_lossy(&value);
        assert!(
            !text.contains("PRIVATE KEY"),
            "{bucket}/{key} holds a PEM private key in clear"
        );
        for (what, der, lines) in &secrets {
            assert!(
                !value.windows(der.len()).any(|w| w == der.as_slice()),
                "{bucket}/{key} holds the DER of {what}'s key"
            );
            for line in lines {
                assert!(
                    !text.contains(line.as_str()),
                    "{bucket}/{key} holds base64 of {what}'s key"
                );
            }
        }
    }
    Ok(())
}

#[tokio::test]
async fn pebble_serves_its_directory_over_https_trusted_by_the_test_ca() -> anyhow::Result<()> {
    if let Some(reason) = docker_unavailable().await {
        eprintln!("skipping: {reason}");
        return Ok(());
    }
    let pebble = Pebble::start(&PebbleSettings {
        http_port: free_port()?,
        tls_port: free_port()?,
        validity: None,
        eab: None,
    })
    .await?;
    // The directory a certificates resolver's `caServer` points at, trusted through
    // `caCertificates` (the generated CA), lists the ACME endpoints.
    let directory: SocketAddr = pebble
        .directory_url
        .trim_start_matches("https://")
        .trim_end_matches("/dir")
        .parse()?;
    let reply = https_get(directory, "127.0.0.1", "/dir", &pebble.tls.roots()?).await?;
    assert_eq!(reply.status, 200, "{}", reply.body);
    let body: serde_json::Value = serde_json::from_str(&reply.body)?;
    assert!(body["newOrder"].as_str().is_some(), "{body}");
    assert!(!pebble.issuing_roots().await?.is_empty());
    assert!(pebble.host_ip.is_ipv4() && !pebble.host_ip.is_loopback());
    Ok(())
}
