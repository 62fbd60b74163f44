//! Discovery service: docker — publishes the configuration of Docker containers' labels.

use clap::Parser;
use switchyard_discovery_docker::{DockerArgs, DockerProvider, DockerSettings};
use switchyard_provider::HarnessArgs;

/// Switchyard's Docker discovery service.
#[derive(Debug, Parser)]
#[command(name = "switchyard-discovery-docker", version, about)]
struct Cli {
    #[command(flatten)]
    harness: HarnessArgs,
    #[command(flatten)]
    docker: DockerArgs,
}

fn main() -> anyhow::Result<()> {
    tracing_subscriber::fmt()
        .with_writer(std::io::stderr)
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env().unwrap_or_else(|_| "info".into()),
        )
        .init();
    // NATS over TLS needs a process-wide crypto provider; ring is the workspace's one.
    let _ = rustls::crypto::ring::default_provider().install_default();
    let cli = Cli::parse();
    let provider = DockerProvider::new(
        DockerSettings {
            endpoint: cli.docker.endpoint.clone(),
            watch: cli.docker.watch,
        },
        cli.docker.options(),
    );
    actix::System::new().block_on(switchyard_provider::run(provider, cli.harness))?;
    Ok(())
}
