//! Stopping the services as an operator does: SIGTERM (what `docker stop` and Kubernetes
//! send). Each service must exit with status 0 and promptly, also when NATS is gone, and
//! discovery-file also as PID 1 in its container, where a process without its own signal
//! handlers never sees SIGTERM and is SIGKILLed after Docker's grace period (exit 137).
//!
//! The deadlines below only bound how long a test waits for an exit; what is asserted is
//! the exit status.

use std::path::Path;
use std::time::Duration;

use anyhow::Context as _;
use switchyard_bus::keys::commit_key;
use switchyard_bus::messages::Lease;
use switchyard_integration_tests::process::{Process, free_port};
use switchyard_integration_tests::stack::{FILE_DIR, docker_available, service_image};
use switchyard_integration_tests::{Nats, TestBus, eventually, start_nats};
use testcontainers::core::{AccessMode, Mount, WaitFor};
use testcontainers::runners::AsyncRunner as _;
use testcontainers::{ContainerAsync, GenericImage, ImageExt as _};

/// Long enough for a loaded machine; a stop that needs SIGKILL never gets there.
const EXIT_WAIT: Duration = Duration::from_secs(20);
const WAIT: Duration = Duration::from_secs(30);

const ROUTE: &str = "http:\n  routers:\n    app:\n      rule: \"Host(`app.test`)\"\n      service: app\n  services:\n    app:\n      loadBalancer:\n        servers:\n          - url: \"http://127.0.0.1:9\"\n";

/// A folder with one route file.
fn config_dir() -> anyhow::Result<std::path::PathBuf> {
    let dir = std::env::temp_dir().join(format!(
        "switchyard-shutdown-{}-{}",
        std::process::id(),
        free_port()?
    ));
    std::fs::create_dir_all(&dir)?;
    std::fs::write(dir.join("routes.yml"), ROUTE)?;
    Ok(dir)
}

fn start_file_provider(name: &str, dir: &Path, nats_url: &str) -> anyhow::Result<Process> {
    Process::start(
        name,
        "switchyard-discovery-file",
        &[
            "--directory".into(),
            dir.display().to_string(),
            "--nats-url".into(),
            nats_url.into(),
        ],
        &[("RUST_LOG", "info".into())],
    )
}

/// Waits until `process` has logged `text`.
async fn logged(process: &Process, text: &str) -> anyhow::Result<()> {
    eventually(WAIT, &format!("{text:?} in the log"), || async {
        process.log_text().contains(text)
    })
    .await
    .with_context(|| process.log_text())
}

/// Sends SIGTERM and checks that the process exits with status 0.
fn terminate_expecting_0(process: &mut Process) -> anyhow::Result<()> {
    process.terminate();
    let status = process
        .wait_exit(EXIT_WAIT)
        .with_context(|| process.log_text())?;
    anyhow::ensure!(
        status.success(),
        "exit status {status} after SIGTERM:\n{}",
        process.log_text()
    );
    Ok(())
}

/// Stops the NATS container and waits until it is down.
async fn stop_nats(nats: &Nats) -> anyhow::Result<()> {
    nats.container.stop().await.context("stopping NATS")?;
    anyhow::ensure!(!nats.container.is_running().await?, "NATS still running");
    Ok(())
}

/// discovery-file started while NATS cannot be reached (it retries in the background)
/// exits 0 on SIGTERM.
#[tokio::test]
async fn discovery_file_exits_0_on_sigterm_while_nats_is_unreachable() -> anyhow::Result<()> {
    let dir = config_dir()?;
    // Nothing listens there.
    let url = format!("nats://127.0.0.1:{}", free_port()?);
    let mut file = start_file_provider("shutdown-file-no-nats", &dir, &url)?;
    logged(&file, "provider harness started").await?;
    terminate_expecting_0(&mut file)?;
    let _ = std::fs::remove_dir_all(&dir);
    Ok(())
}

/// discovery-file that has published exits 0 on SIGTERM; what it published stays on the
/// bus for the proxies.
#[tokio::test]
async fn discovery_file_exits_0_on_sigterm_and_its_config_stays() -> anyhow::Result<()> {
    let nats = start_nats().await?;
    let bus = TestBus::connect(&nats.url).await?;
    let dir = config_dir()?;
    let mut file = start_file_provider("shutdown-file", &dir, &nats.url)?;
    let config = bus.buckets.config.clone();
    let committed = || {
        let config = config.clone();
        async move { matches!(config.get(commit_key("file")).await, Ok(Some(_))) }
    };
    eventually(WAIT, "the file provider's commit", committed)
        .await
        .with_context(|| file.log_text())?;
    terminate_expecting_0(&mut file)?;
    anyhow::ensure!(committed().await, "the commit is gone after the stop");
    let _ = std::fs::remove_dir_all(&dir);
    Ok(())
}

/// The health service exits 0 on SIGTERM after NATS went away: deleting its membership
/// lease gives up after a bound, and it says the lease lapses by itself.
#[tokio::test]
async fn health_exits_0_on_sigterm_when_nats_is_gone() -> anyhow::Result<()> {
    let nats = start_nats().await?;
    let bus = TestBus::connect(&nats.url).await?;
    let mut health = Process::start(
        "shutdown-health",
        "switchyard-health",
        &[
            "--nats-url".into(),
            nats.url.clone(),
            "--instance".into(),
            "h-stop".into(),
        ],
        &[("RUST_LOG", "info".into())],
    )?;
    let leases = bus.buckets.leases.clone();
    eventually(WAIT, "the membership lease", || {
        let leases = leases.clone();
        async move { matches!(leases.get("health.members.h-stop").await, Ok(Some(_))) }
    })
    .await
    .with_context(|| health.log_text())?;
    stop_nats(&nats).await?;
    terminate_expecting_0(&mut health)?;
    let log = health.log_text();
    anyhow::ensure!(
        log.contains("it lapses by itself"),
        "the log does not say the lease lapses by itself:\n{log}"
    );
    Ok(())
}

/// The certificates service, holding the lease, exits 0 on SIGTERM after NATS went away:
/// the release and the last flush give up after a bound.
#[tokio::test]
async fn certificates_exits_0_on_sigterm_when_nats_is_gone() -> anyhow::Result<()> {
    let nats = start_nats().await?;
    let bus = TestBus::connect(&nats.url).await?;
    let dir = config_dir()?;
    let config = dir.join("certificates.yml");
    // No resolver: the service only holds the lease and publishes static certificates.
    std::fs::write(&config, "{}\n")?;
    let seal = switchyard_bus::SealKey::generate()?;
    let mut certificates = Process::start(
        "shutdown-certificates",
        "switchyard-certificates",
        &[
            "--config".into(),
            config.display().to_string(),
            "--nats-url".into(),
            nats.url.clone(),
            "--instance".into(),
            "c-stop".into(),
        ],
        &[
            ("SWITCHYARD_BUS_SECRET", seal.to_base64()),
            ("RUST_LOG", "info".into()),
        ],
    )?;
    let leases = bus.buckets.leases.clone();
    eventually(WAIT, "the certificates lease held by c-stop", || {
        let leases = leases.clone();
        async move {
            let Ok(Some(value)) = leases.get("certificates").await else {
                return false;
            };
            serde_json::from_slice::<Lease>(&value).is_ok_and(|lease| lease.holder == "c-stop")
        }
    })
    .await
    .with_context(|| certificates.log_text())?;
    stop_nats(&nats).await?;
    terminate_expecting_0(&mut certificates)?;
    let log = certificates.log_text();
    anyhow::ensure!(
        log.contains("it lapses by itself"),
        "the log does not say the lease lapses by itself:\n{log}"
    );
    let _ = std::fs::remove_dir_all(&dir);
    Ok(())
}

/// The discovery-file image, its binary as PID 1, stops on `docker stop` with exit code
/// 0 (a process that ignored SIGTERM would be SIGKILLed after the 10 s grace: 137).
/// Needs the static binary (`just static-bins`); skips without a Docker engine.
#[tokio::test]
async fn discovery_file_container_exits_0_on_docker_stop() -> anyhow::Result<()> {
    if let Err(reason) = docker_available().await {
        eprintln!("skipping: Docker is not available ({reason})");
        return Ok(());
    }
    let dir = config_dir()?;
    let image = service_image("discovery-file").await?;
    // No NATS in reach: the harness keeps retrying, which must not delay the stop.
    let container: ContainerAsync<GenericImage> = image
        .with_wait_for(WaitFor::message_on_stderr("provider harness started"))
        .with_mount(
            Mount::bind_mount(dir.display().to_string(), FILE_DIR)
                .with_access_mode(AccessMode::ReadOnly),
        )
        .with_cmd([
            "--directory".to_owned(),
            FILE_DIR.to_owned(),
            "--nats-url".to_owned(),
            "nats://127.0.0.1:4222".to_owned(),
        ])
        .with_startup_timeout(Duration::from_secs(60))
        .start()
        .await
        .context("starting the discovery-file container")?;
    let stopping = std::time::Instant::now();
    container
        .stop_with_timeout(Some(10))
        .await
        .context("docker stop")?;
    eprintln!("docker stop took {:?}", stopping.elapsed());
    let docker = bollard::Docker::connect_with_local_defaults()?;
    let state = docker
        .inspect_container(container.id(), None)
        .await?
        .state
        .context("no container state")?;
    let logs = String::from_utf8_lossy(&container.stdout_to_vec().await?).into_owned();
    anyhow::ensure!(
        state.exit_code == Some(0),
        "exit code {:?} after docker stop (137: SIGKILLed after ignoring SIGTERM):\n{logs}",
        state.exit_code
    );
    let _ = std::fs::remove_dir_all(&dir);
    Ok(())
}
