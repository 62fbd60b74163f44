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
    switchyard_provider::init_service();
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
