//! Pebble, a real ACME CA, for the certificates tests: the image, its TLS material, and the
//! two-container topology that validates challenges against proxies running on the host.
//!
//! # Topology
//!
//! ```text
//!  docker network <unique>                                 host (test processes)
//!  ┌──────────────────────────────┐
//!  │ pebble-challtestsrv          │  A <any name> -> gateway IP
//!  │   fake DNS :8053             │<───────────────┐
//!  │ pebble  -dnsserver ctsv:8053 │ ───────────────┘
//!  │   VA ── HTTP-01 ─────────────┼──> gateway:httpPort  = replica A's `web` (0.0.0.0)
//!  │   VA ── TLS-ALPN-01 ─────────┼──> gateway:tlsPort   = replica B's `websecure` (0.0.0.0)
//!  │   ACME :14000, mgmt :15000 ──┼──> 127.0.0.1:<mapped> for the certificates service and tests
//!  └──────────────────────────────┘
//! ```
//!
//! Pebble's validation authority resolves every domain through `pebble-challtestsrv`,
//! whose default A answer is the Docker network's gateway: the host, as seen from the
//! containers. The proxies run as host processes with their entrypoints on `0.0.0.0`, so
//! Pebble really connects to them and validation is real (no `PEBBLE_VA_ALWAYS_VALID`).
//! Pebble has one `httpPort` and one `tlsPort`; pointing them at two different replicas
//! shows that a challenge the certificates service published on the bus is answered by
//! whichever replica the CA happens to reach.
//!
//! The gateway is learnt after the first container started (Docker creates the network
//! then) and handed to challtestsrv through its management API (`/set-default-ipv4`).
//!
//! # The image
//!
//! `switchyard/pebble:test` is built `FROM scratch` (no registry is reachable here) from
//! Debian's `pebble` package: `/usr/bin/pebble`, `/usr/bin/pebble-challtestsrv` and the
//! libraries `ldd` lists for them (libc and the loader), see `deploy/images/pebble/`.
//! Pebble ships no TLS certificate: [`PebbleTls`] makes a CA and a leaf for `localhost`,
//! `127.0.0.1` and `pebble`, copied into the container with the configuration.

use std::net::{IpAddr, SocketAddr};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use anyhow::{Context as _, bail};
use bytes::Bytes;
use http_body_util::{BodyExt as _, Empty};
use rustls::pki_types::pem::PemObject as _;
use rustls::pki_types::{CertificateDer, ServerName};
use testcontainers::core::{IntoContainerPort as _, WaitFor};
use testcontainers::runners::{AsyncBuilder as _, AsyncRunner as _};
use testcontainers::{ContainerAsync, GenericBuildableImage, GenericImage, ImageExt as _};

use crate::repo_root;

/// The tag of the locally built Pebble image.
pub const PEBBLE_IMAGE: (&str, &str) = ("switchyard/pebble", "test");

/// Pebble's ACME port inside the container.
const ACME_PORT: u16 = 14000;
/// Pebble's management port (`/roots/0`) inside the container.
const MANAGEMENT_PORT: u16 = 15000;
/// challtestsrv's DNS port.
const DNS_PORT: u16 = 8053;
/// challtestsrv's management port (`/set-default-ipv4`).
const CTSV_MANAGEMENT_PORT: u16 = 8055;

static SEQ: AtomicUsize = AtomicUsize::new(0);

/// A name unique to this test process (`prefix-<pid>-<n>`).
pub fn unique(prefix: &str) -> String {
    format!(
        "{prefix}-{}-{}",
        std::process::id(),
        SEQ.fetch_add(1, Ordering::Relaxed)
    )
}

/// A fresh folder under the system temp folder, for one test's files.
pub fn scratch_dir(prefix: &str) -> anyhow::Result<PathBuf> {
    let dir = std::env::temp_dir().join(unique(prefix));
    std::fs::create_dir_all(&dir).with_context(|| format!("creating {}", dir.display()))?;
    Ok(dir)
}

/// Why Docker cannot be used, or `None` when it answers a ping. Tests that need Docker
/// print this and return early.
pub async fn docker_unavailable() -> Option<String> {
    let docker = match bollard::Docker::connect_with_local_defaults() {
        Ok(docker) => docker,
        Err(e) => return Some(format!("Docker unavailable: {e}")),
    };
    match tokio::time::timeout(Duration::from_secs(5), docker.ping()).await {
        Ok(Ok(_)) => None,
        Ok(Err(e)) => Some(format!("Docker unavailable: {e}")),
        Err(_) => Some("Docker unavailable: ping timed out".to_owned()),
    }
}

/// The folder holding Debian's Pebble binaries: `$PEBBLE_BIN_DIR`, else `/usr/bin`.
fn pebble_bin_dir() -> PathBuf {
    std::env::var_os("PEBBLE_BIN_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from("/usr/bin"))
}

/// The shared libraries (and the loader) in `ldd`'s output, as absolute paths.
///
/// Lines look like `libc.so.6 => /lib/x86_64-linux-gnu/libc.so.6 (0x...)` or
/// `/lib64/ld-linux-x86-64.so.2 (0x...)`; `linux-vdso.so.1` has no file and is skipped.
pub fn parse_ldd(output: &str) -> Result<Vec<PathBuf>, String> {
    let mut paths = Vec::new();
    for line in output.lines().map(str::trim).filter(|l| !l.is_empty()) {
        if line.contains("statically linked") {
            continue;
        }
        if line.contains("not found") {
            return Err(format!("ldd: library missing: {line}"));
        }
        let path = match line.split_once("=>") {
            Some((_, right)) => right.trim(),
            None => line,
        };
        let path = path.split(" (").next().unwrap_or_default().trim();
        if path.starts_with('/') {
            paths.push(PathBuf::from(path));
        }
    }
    paths.sort();
    paths.dedup();
    Ok(paths)
}

fn ldd(binary: &Path) -> anyhow::Result<Vec<PathBuf>> {
    let output = std::process::Command::new("ldd")
        .arg(binary)
        .output()
        .context("running ldd")?;
    // ldd exits 1 for a static binary ("not a dynamic executable"): nothing to copy.
    if !output.status.success() {
        return Ok(Vec::new());
    }
    parse_ldd(&String::from_utf8_lossy(&output.stdout))
        .map_err(|e| anyhow::anyhow!("{}: {e}", binary.display()))
}

/// The files of the image: each binary and library with its path inside the image.
pub fn pebble_image_files() -> anyhow::Result<Vec<(PathBuf, String)>> {
    let dir = pebble_bin_dir();
    let mut files = Vec::new();
    for name in ["pebble", "pebble-challtestsrv"] {
        let binary = dir.join(name);
        if !binary.exists() {
            bail!(
                "{} is missing: `apt-get install -y pebble` (or set PEBBLE_BIN_DIR)",
                binary.display()
            );
        }
        for library in ldd(&binary)? {
            let target = format!("rootfs{}", library.display());
            if !files.iter().any(|(_, t)| *t == target) {
                files.push((library, target));
            }
        }
        files.push((binary, format!("rootfs/usr/bin/{name}")));
    }
    Ok(files)
}

/// Builds `switchyard/pebble:test` from `deploy/images/pebble/Dockerfile` and the host's
/// Pebble binaries with their libraries (symbolic links are followed).
pub async fn pebble_image() -> anyhow::Result<GenericImage> {
    let mut build = GenericBuildableImage::new(PEBBLE_IMAGE.0, PEBBLE_IMAGE.1)
        .with_dockerfile(repo_root().join("deploy/images/pebble/Dockerfile"));
    for (source, target) in pebble_image_files()? {
        build = build.with_file(source, target);
    }
    build
        .build_image()
        .await
        .context("building the Pebble image")
}

/// The TLS material of Pebble's own HTTPS listeners (ACME and management): a CA, and a
/// leaf it signed for `localhost`, `127.0.0.1` and `pebble`.
pub struct PebbleTls {
    /// The CA certificate, PEM: what clients of Pebble's directory must trust.
    pub ca_pem: String,
    /// The leaf certificate, PEM.
    pub cert_pem: String,
    /// The leaf's private key, PKCS#8 PEM.
    pub key_pem: String,
}

impl PebbleTls {
    /// Generates a fresh CA and leaf.
    pub fn generate() -> anyhow::Result<Self> {
        Self::generate_for(&["localhost", "127.0.0.1", "pebble"])
    }

    /// Generates a fresh CA and a leaf for `names` (DNS names or IP addresses), e.g. the
    /// container name other containers reach Pebble by.
    pub fn generate_for(names: &[&str]) -> anyhow::Result<Self> {
        let mut ca_params = rcgen::CertificateParams::new(Vec::<String>::new())?;
        ca_params
            .distinguished_name
            .push(rcgen::DnType::CommonName, "switchyard test CA for Pebble");
        ca_params.is_ca = rcgen::IsCa::Ca(rcgen::BasicConstraints::Unconstrained);
        ca_params.key_usages = vec![
            rcgen::KeyUsagePurpose::KeyCertSign,
            rcgen::KeyUsagePurpose::CrlSign,
        ];
        let ca_key = rcgen::KeyPair::generate()?;
        let ca_cert = ca_params.self_signed(&ca_key)?;
        let issuer = rcgen::Issuer::new(ca_params, ca_key);

        let mut params = rcgen::CertificateParams::new(
            names.iter().map(|n| (*n).to_owned()).collect::<Vec<_>>(),
        )?;
        params.distinguished_name.push(
            rcgen::DnType::CommonName,
            names.first().copied().unwrap_or("localhost"),
        );
        params.extended_key_usages = vec![rcgen::ExtendedKeyUsagePurpose::ServerAuth];
        let key = rcgen::KeyPair::generate()?;
        let cert = params.signed_by(&key, &issuer)?;
        Ok(Self {
            ca_pem: ca_cert.pem(),
            cert_pem: cert.pem(),
            key_pem: key.serialize_pem(),
        })
    }

    /// A root store holding only the CA.
    pub fn roots(&self) -> anyhow::Result<rustls::RootCertStore> {
        roots_from_pem(&self.ca_pem)
    }
}

/// A root store from every certificate in `pem`.
pub fn roots_from_pem(pem: &str) -> anyhow::Result<rustls::RootCertStore> {
    let mut roots = rustls::RootCertStore::empty();
    for cert in CertificateDer::pem_slice_iter(pem.as_bytes()) {
        roots.add(cert.context("reading a PEM certificate")?)?;
    }
    if roots.is_empty() {
        bail!("no certificate in PEM text: {pem:?}");
    }
    Ok(roots)
}

/// How to run Pebble.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PebbleSettings {
    /// Where the VA sends HTTP-01 requests (on the gateway IP).
    pub http_port: u16,
    /// Where the VA makes TLS-ALPN-01 handshakes (on the gateway IP).
    pub tls_port: u16,
    /// Validity of issued certificates (Pebble's default is about 5 years).
    pub validity: Option<Duration>,
    /// External account binding required, with this key id and base64url HMAC key.
    pub eab: Option<(String, String)>,
}

/// Pebble's configuration file for `settings`, with the certificate at `cert` and its key
/// at `key` (paths inside the container).
pub fn pebble_config(settings: &PebbleSettings, cert: &str, key: &str) -> serde_json::Value {
    let mut pebble = serde_json::json!({
        "listenAddress": format!("0.0.0.0:{ACME_PORT}"),
        "managementListenAddress": format!("0.0.0.0:{MANAGEMENT_PORT}"),
        "certificate": cert,
        "privateKey": key,
        "httpPort": settings.http_port,
        "tlsPort": settings.tls_port,
        "ocspResponderURL": "",
        "externalAccountBindingRequired": false,
    });
    if let (Some(validity), Some(map)) = (settings.validity, pebble.as_object_mut()) {
        map.insert(
            "certificateValidityPeriod".to_owned(),
            validity.as_secs().into(),
        );
    }
    if let (Some((kid, hmac)), Some(map)) = (&settings.eab, pebble.as_object_mut()) {
        map.insert("externalAccountBindingRequired".to_owned(), true.into());
        map.insert(
            "externalAccountMACKeys".to_owned(),
            serde_json::json!({ kid: hmac }),
        );
    }
    serde_json::json!({ "pebble": pebble })
}

/// A running Pebble with its fake DNS, removed when dropped.
pub struct Pebble {
    /// Pebble itself.
    pub pebble: ContainerAsync<GenericImage>,
    /// pebble-challtestsrv, Pebble's DNS.
    pub challtestsrv: ContainerAsync<GenericImage>,
    /// The Docker network both containers are on.
    pub network: String,
    /// The host as the containers reach it (the network's gateway).
    pub host_ip: IpAddr,
    /// The ACME directory, `https://127.0.0.1:<mapped>/dir`.
    pub directory_url: String,
    /// The management interface on the host.
    pub management: SocketAddr,
    /// A file holding the CA of Pebble's HTTPS certificate (for `caCertificates`).
    pub tls_ca_file: PathBuf,
    /// Pebble's HTTPS material.
    pub tls: PebbleTls,
}

impl Pebble {
    /// Starts challtestsrv and Pebble on a new network, with real validation.
    pub async fn start(settings: &PebbleSettings) -> anyhow::Result<Self> {
        let image = pebble_image().await?;
        let network = unique("sy-pebble");
        let dir = scratch_dir("pebble")?;
        let tls = PebbleTls::generate()?;
        let tls_ca_file = dir.join("pebble-tls-ca.pem");
        std::fs::write(&tls_ca_file, &tls.ca_pem)?;

        let nodes = launch(image, &network, None, settings, &tls).await?;
        let host_ip = network_gateway(&network).await?;
        set_default_ipv4(nodes.dns_management, host_ip, Duration::from_secs(10)).await?;
        let acme_port = nodes.pebble.get_host_port_ipv4(ACME_PORT).await?;
        let pebble = Self {
            pebble: nodes.pebble,
            challtestsrv: nodes.challtestsrv,
            network,
            host_ip,
            directory_url: format!("https://127.0.0.1:{acme_port}/dir"),
            management: nodes.management,
            tls_ca_file,
            tls,
        };
        pebble
            .wait_ready(acme_port, Duration::from_secs(20))
            .await?;
        Ok(pebble)
    }

    /// Waits until the directory answers over HTTPS through the mapped port (Pebble logs
    /// that it listens slightly before Docker's port mapping forwards to it).
    async fn wait_ready(&self, acme_port: u16, timeout: Duration) -> anyhow::Result<()> {
        let addr: SocketAddr = format!("127.0.0.1:{acme_port}").parse()?;
        let roots = self.tls.roots()?;
        let deadline = tokio::time::Instant::now() + timeout;
        loop {
            let error = match https_get(addr, "localhost", "/dir", &roots).await {
                Ok(reply) if reply.status == 200 => return Ok(()),
                Ok(reply) => format!("status {}: {}", reply.status, reply.body),
                Err(e) => format!("{e:#}"),
            };
            if tokio::time::Instant::now() > deadline {
                bail!(
                    "Pebble's directory did not answer within {timeout:?}: {error}\n{}",
                    self.logs().await
                );
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }

    /// The root that signs the certificates Pebble issues (management `/roots/0`; a new
    /// one every time Pebble starts).
    pub async fn issuing_roots(&self) -> anyhow::Result<rustls::RootCertStore> {
        issuing_roots(self.management, &self.tls).await
    }

    /// Pebble's output so far (its log of orders, validations and issued certificates).
    pub async fn logs(&self) -> String {
        let mut text = String::new();
        for bytes in [
            self.pebble.stdout_to_vec().await,
            self.pebble.stderr_to_vec().await,
        ]
        .into_iter()
        .flatten()
        {
            text.push_str(&String::from_utf8_lossy(&bytes));
        }
        text
    }
}

/// Pebble's ACME port inside its container: the port of the directory URL that other
/// containers on its network use.
pub const PEBBLE_ACME_PORT: u16 = ACME_PORT;

/// Pebble and challtestsrv started as two nodes of a network someone else owns (the
/// whole-system stack), as [`start_nodes`] returns them; the caller keeps the containers.
pub struct PebbleNodes {
    /// Pebble itself.
    pub pebble: ContainerAsync<GenericImage>,
    /// pebble-challtestsrv, Pebble's DNS.
    pub challtestsrv: ContainerAsync<GenericImage>,
    /// How to reach and drive them.
    pub endpoints: PebbleEndpoints,
}

/// How the containers on the network and the test on the host reach Pebble and its DNS.
pub struct PebbleEndpoints {
    /// The ACME directory as the other containers reach it:
    /// `https://<pebble container name>:14000/dir`.
    pub directory_url: String,
    /// Pebble's management interface on the host (`/roots/0`).
    pub management: SocketAddr,
    /// challtestsrv's management interface on the host (`/set-default-ipv4`).
    pub dns_management: SocketAddr,
    /// Pebble's HTTPS material; its leaf names the Pebble container.
    pub tls: PebbleTls,
}

impl PebbleEndpoints {
    /// The root that signs the certificates Pebble issues (a new one per Pebble run).
    pub async fn issuing_roots(&self) -> anyhow::Result<rustls::RootCertStore> {
        issuing_roots(self.management, &self.tls).await
    }

    /// Makes challtestsrv answer every A query with `ip`: where Pebble's VA then sends
    /// HTTP-01 requests (`httpPort`) and TLS-ALPN-01 handshakes (`tlsPort`).
    pub async fn answer_with(&self, ip: IpAddr) -> anyhow::Result<()> {
        set_default_ipv4(self.dns_management, ip, Duration::from_secs(10)).await
    }
}

/// Starts challtestsrv (container `dns_name`) and then Pebble (container `pebble_name`) on
/// `network`, with real validation; `image` is [`pebble_image`]'s. challtestsrv answers
/// 127.0.0.1 until [`PebbleEndpoints::answer_with`] names the node to validate against.
/// Returns once Pebble's management interface answers on the host.
pub async fn start_nodes(
    image: GenericImage,
    network: &str,
    pebble_name: &str,
    dns_name: &str,
    settings: &PebbleSettings,
) -> anyhow::Result<PebbleNodes> {
    let tls = PebbleTls::generate_for(&[pebble_name, "localhost", "127.0.0.1"])?;
    let nodes = launch(
        image,
        network,
        Some((pebble_name, dns_name)),
        settings,
        &tls,
    )
    .await?;
    let endpoints = PebbleEndpoints {
        directory_url: format!("https://{pebble_name}:{ACME_PORT}/dir"),
        management: nodes.management,
        dns_management: nodes.dns_management,
        tls,
    };
    // Pebble logs that it listens slightly before Docker's port mapping forwards to it.
    let deadline = tokio::time::Instant::now() + Duration::from_secs(20);
    while let Err(error) = endpoints.issuing_roots().await {
        if tokio::time::Instant::now() > deadline {
            return Err(error.context("Pebble's management interface did not answer within 20 s"));
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    Ok(PebbleNodes {
        pebble: nodes.pebble,
        challtestsrv: nodes.challtestsrv,
        endpoints,
    })
}

/// The two containers of one Pebble run and their management interfaces on the host.
struct Launched {
    pebble: ContainerAsync<GenericImage>,
    challtestsrv: ContainerAsync<GenericImage>,
    /// Pebble's management interface (`/roots/0`).
    management: SocketAddr,
    /// challtestsrv's management interface (`/set-default-ipv4`).
    dns_management: SocketAddr,
}

/// Starts challtestsrv and then Pebble (serving `tls`, resolving through challtestsrv) on
/// `network`, with real validation; `names` (Pebble's, challtestsrv's) names the containers,
/// `None` leaves the names to Docker. challtestsrv answers 127.0.0.1 until told otherwise;
/// Pebble's ACME and management ports are published on the host. Returns once both
/// containers logged that they are up.
async fn launch(
    image: GenericImage,
    network: &str,
    names: Option<(&str, &str)>,
    settings: &PebbleSettings,
    tls: &PebbleTls,
) -> anyhow::Result<Launched> {
    let challtestsrv = image
        .clone()
        .with_entrypoint("/usr/bin/pebble-challtestsrv")
        .with_exposed_port(CTSV_MANAGEMENT_PORT.tcp())
        .with_wait_for(WaitFor::message_on_either_std("Starting challenge servers"))
        .with_network(network);
    let challtestsrv = match names {
        Some((_, dns_name)) => challtestsrv.with_container_name(dns_name),
        None => challtestsrv,
    };
    let challtestsrv = challtestsrv
        .with_cmd([
            "-defaultIPv4".to_owned(),
            "127.0.0.1".to_owned(),
            "-defaultIPv6".to_owned(),
            String::new(),
            "-dns01".to_owned(),
            format!(":{DNS_PORT}"),
            "-http01".to_owned(),
            String::new(),
            "-https01".to_owned(),
            String::new(),
            "-tlsalpn01".to_owned(),
            String::new(),
            "-management".to_owned(),
            format!(":{CTSV_MANAGEMENT_PORT}"),
        ])
        .with_startup_timeout(Duration::from_secs(60))
        .start()
        .await
        .context("starting pebble-challtestsrv")?;
    // Pebble's resolver takes an address, not a name.
    let dns_ip = challtestsrv.get_bridge_ip_address().await?;
    let dns_management = host_addr(&challtestsrv, CTSV_MANAGEMENT_PORT).await?;

    let config = pebble_config(settings, "/etc/pebble/cert.pem", "/etc/pebble/key.pem");
    let pebble = image
        .with_exposed_port(ACME_PORT.tcp())
        .with_exposed_port(MANAGEMENT_PORT.tcp())
        .with_wait_for(WaitFor::message_on_either_std("ACME directory available"))
        .with_network(network);
    let pebble = match names {
        Some((pebble_name, _)) => pebble.with_container_name(pebble_name),
        None => pebble,
    };
    let pebble = pebble
        .with_cmd([
            "-config".to_owned(),
            "/etc/pebble/pebble-config.json".to_owned(),
            "-dnsserver".to_owned(),
            format!("{dns_ip}:{DNS_PORT}"),
        ])
        .with_copy_to(
            "/etc/pebble/pebble-config.json",
            serde_json::to_vec_pretty(&config)?,
        )
        .with_copy_to("/etc/pebble/cert.pem", tls.cert_pem.clone().into_bytes())
        .with_copy_to("/etc/pebble/key.pem", tls.key_pem.clone().into_bytes())
        // Real validation, immediately, and every nonce accepted (deterministic tests).
        .with_env_var("PEBBLE_VA_NOSLEEP", "1")
        .with_env_var("PEBBLE_WFE_NONCEREJECT", "0")
        // Every order validates its challenges (no reuse of valid authorizations).
        .with_env_var("PEBBLE_AUTHZREUSE", "0")
        .with_startup_timeout(Duration::from_secs(60))
        .start()
        .await
        .context("starting Pebble")?;
    let management = host_addr(&pebble, MANAGEMENT_PORT).await?;
    Ok(Launched {
        pebble,
        challtestsrv,
        management,
        dns_management,
    })
}

/// Where `container`'s `port` is published on the host (`127.0.0.1:<mapped>`).
async fn host_addr(
    container: &ContainerAsync<GenericImage>,
    port: u16,
) -> anyhow::Result<SocketAddr> {
    let mapped = container.get_host_port_ipv4(port).await?;
    Ok(SocketAddr::from(([127, 0, 0, 1], mapped)))
}

/// The root that signs the certificates Pebble issues: its management interface's
/// `/roots/0` at `management`, reached over HTTPS trusting Pebble's own `tls` CA.
async fn issuing_roots(
    management: SocketAddr,
    tls: &PebbleTls,
) -> anyhow::Result<rustls::RootCertStore> {
    let reply = https_get(management, "localhost", "/roots/0", &tls.roots()?)
        .await
        .context("fetching Pebble's root")?;
    if reply.status != 200 {
        bail!("Pebble /roots/0: {} {}", reply.status, reply.body);
    }
    roots_from_pem(&reply.body)
}

/// Tells challtestsrv (management API at `management`) to answer every A query with `ip`,
/// retrying while Docker's port mapping is not forwarding yet.
async fn set_default_ipv4(
    management: SocketAddr,
    ip: IpAddr,
    timeout: Duration,
) -> anyhow::Result<()> {
    let body = serde_json::json!({ "ip": ip.to_string() }).to_string();
    let deadline = tokio::time::Instant::now() + timeout;
    loop {
        let error = match crate::client::request(
            management,
            "POST",
            "127.0.0.1",
            "/set-default-ipv4",
            &[("content-type", "application/json")],
            &body,
            false,
        )
        .await
        {
            Ok(reply) if reply.status == 200 => return Ok(()),
            Ok(reply) => format!("status {}: {}", reply.status, reply.body),
            Err(e) => format!("{e:#}"),
        };
        if tokio::time::Instant::now() > deadline {
            bail!("challtestsrv /set-default-ipv4 failed for {timeout:?}: {error}");
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

/// The gateway IP of Docker network `name`: the host as containers on it reach it.
pub async fn network_gateway(name: &str) -> anyhow::Result<IpAddr> {
    let docker = bollard::Docker::connect_with_local_defaults()?;
    let network = docker
        .inspect_network(
            name,
            None::<bollard::query_parameters::InspectNetworkOptions>,
        )
        .await
        .with_context(|| format!("inspecting network {name}"))?;
    let gateway = network
        .ipam
        .and_then(|ipam| ipam.config)
        .unwrap_or_default()
        .into_iter()
        .filter_map(|c| c.gateway)
        .find_map(|g| g.parse::<std::net::Ipv4Addr>().ok())
        .with_context(|| format!("network {name} has no IPv4 gateway"))?;
    Ok(IpAddr::V4(gateway))
}

/// An HTTPS response with the certificate chain the server presented.
#[derive(Debug, Clone)]
pub struct HttpsReply {
    /// The chain the server sent, leaf first (already verified against the roots and SNI).
    pub chain: Vec<CertificateDer<'static>>,
    /// Status code.
    pub status: u16,
    /// Body as text (lossy).
    pub body: String,
}

/// `GET path` over HTTPS to `addr` with SNI and `Host` `name`, trusting only `roots`: the
/// handshake fails unless the served certificate is valid for `name` and chains to `roots`.
pub async fn https_get(
    addr: SocketAddr,
    name: &str,
    path: &str,
    roots: &rustls::RootCertStore,
) -> anyhow::Result<HttpsReply> {
    let mut config = rustls::ClientConfig::builder_with_provider(Arc::new(
        rustls::crypto::ring::default_provider(),
    ))
    .with_safe_default_protocol_versions()?
    .with_root_certificates(roots.clone())
    .with_no_client_auth();
    config.alpn_protocols = vec![b"http/1.1".to_vec()];
    let connector = tokio_rustls::TlsConnector::from(Arc::new(config));
    let exchange = async {
        let tcp = tokio::net::TcpStream::connect(addr).await?;
        let tls = connector
            .connect(ServerName::try_from(name.to_owned())?, tcp)
            .await
            .with_context(|| format!("TLS handshake with {addr} for {name}"))?;
        let chain = tls
            .get_ref()
            .1
            .peer_certificates()
            .map(|c| c.to_vec())
            .unwrap_or_default();
        let (mut sender, connection) =
            hyper::client::conn::http1::handshake(hyper_util::rt::TokioIo::new(tls)).await?;
        tokio::spawn(connection);
        let request = hyper::Request::get(path)
            .header("host", name)
            .body(Empty::<Bytes>::new())?;
        let response = sender.send_request(request).await?;
        let status = response.status().as_u16();
        let body = response.into_body().collect().await?.to_bytes();
        anyhow::Ok(HttpsReply {
            chain,
            status,
            body: String::from_utf8_lossy(&body).into_owned(),
        })
    };
    tokio::time::timeout(Duration::from_secs(10), exchange)
        .await
        .with_context(|| format!("HTTPS GET {path} on {addr} timed out"))?
}

#[cfg(test)]
mod tests {
    use super::*;
    use rustls::client::danger::ServerCertVerifier as _;

    /// Case name, `ldd` output, the paths expected (or an error).
    type LddCase = (&'static str, &'static str, Result<Vec<&'static str>, ()>);

    #[test]
    fn ldd_output_becomes_paths() {
        let cases: &[LddCase] = &[
            (
                "dynamic, libc only",
                "\tlinux-vdso.so.1 (0x00007ffd)\n\tlibc.so.6 => /lib/x86_64-linux-gnu/libc.so.6 (0x00007f)\n\t/lib64/ld-linux-x86-64.so.2 (0x00007f)\n",
                Ok(vec![
                    "/lib/x86_64-linux-gnu/libc.so.6",
                    "/lib64/ld-linux-x86-64.so.2",
                ]),
            ),
            ("static", "\tstatically linked\n", Ok(vec![])),
            (
                "duplicates collapse",
                "libc.so.6 => /lib/libc.so.6 (0x1)\nlibc.so.6 => /lib/libc.so.6 (0x1)\n",
                Ok(vec!["/lib/libc.so.6"]),
            ),
            ("missing library", "libfoo.so.1 => not found\n", Err(())),
        ];
        for (case, input, expected) in cases {
            let got = parse_ldd(input).map_err(|_| ());
            let expected = expected
                .clone()
                .map(|v| v.into_iter().map(PathBuf::from).collect::<Vec<_>>());
            assert_eq!(got, expected, "case {case}");
        }
    }

    #[test]
    fn pebble_config_requires_eab_when_given() {
        let settings = PebbleSettings {
            http_port: 5002,
            tls_port: 5001,
            validity: None,
            eab: Some(("kid-1".into(), "aG1hYw".into())),
        };
        let config = pebble_config(&settings, "/c.pem", "/k.pem");
        assert_eq!(config["pebble"]["externalAccountBindingRequired"], true);
        assert_eq!(
            config["pebble"]["externalAccountMACKeys"]["kid-1"],
            "aG1hYw"
        );
    }

    #[test]
    fn pebble_config_carries_ports_and_validity() {
        let cases = [
            ("default validity", None, None),
            (
                "short-lived",
                Some(Duration::from_secs(90)),
                Some(serde_json::json!(90)),
            ),
        ];
        for (case, validity, expected) in cases {
            let settings = PebbleSettings {
                http_port: 5002,
                tls_port: 5001,
                validity,
                eab: None,
            };
            let config = pebble_config(&settings, "/c.pem", "/k.pem");
            let pebble = &config["pebble"];
            assert_eq!(pebble["httpPort"], 5002, "case {case}");
            assert_eq!(pebble["tlsPort"], 5001, "case {case}");
            assert_eq!(pebble["certificate"], "/c.pem", "case {case}");
            assert_eq!(
                pebble["externalAccountBindingRequired"], false,
                "case {case}"
            );
            assert_eq!(
                pebble.get("certificateValidityPeriod").cloned(),
                expected,
                "case {case}"
            );
        }
    }

    /// Checks, for each case (name, server name, whether valid), that `tls`'s leaf
    /// verifies against its CA for that server name exactly when expected.
    fn assert_leaf_covers(tls: &PebbleTls, cases: &[(&str, &str, bool)]) {
        let leaf = CertificateDer::from_pem_slice(tls.cert_pem.as_bytes()).expect("leaf");
        let verifier = rustls::client::WebPkiServerVerifier::builder_with_provider(
            Arc::new(tls.roots().expect("roots")),
            Arc::new(rustls::crypto::ring::default_provider()),
        )
        .build()
        .expect("verifier");
        for (case, name, ok) in cases {
            let result = verifier.verify_server_cert(
                &leaf,
                &[],
                &ServerName::try_from(*name).expect("name"),
                &[],
                rustls::pki_types::UnixTime::now(),
            );
            assert_eq!(result.is_ok(), *ok, "case {case}: {result:?}");
        }
    }

    #[test]
    fn pebble_tls_for_a_container_name_covers_only_the_names_given() {
        let tls = PebbleTls::generate_for(&["sy-1-0-ab-pebble", "localhost"]).expect("generate");
        assert_leaf_covers(
            &tls,
            &[
                ("container name", "sy-1-0-ab-pebble", true),
                ("localhost", "localhost", true),
                ("default name not asked for", "pebble", false),
            ],
        );
    }

    #[test]
    fn pebble_tls_leaf_chains_to_its_ca_for_every_name() {
        let tls = PebbleTls::generate().expect("generate");
        assert_leaf_covers(
            &tls,
            &[
                ("dns localhost", "localhost", true),
                ("ip", "127.0.0.1", true),
                ("container name", "pebble", true),
                ("other name", "example.com", false),
            ],
        );
    }
}
