//! `switchyard-health`: active health checks of load-balancer servers, on the bus.

use actix::Actor as _;
use anyhow::Context as _;
use clap::Parser as _;
use switchyard_health::args::{Args, read_file};
use switchyard_health::coordinator::{Coordinator, Settings, Shutdown};
use tracing::info;

fn main() -> anyhow::Result<()> {
    switchyard_bus::cli::init_service();
    let args = Args::parse();
    let file = match &args.config {
        Some(path) => read_file(path)?,
        None => Default::default(),
    };
    let resolved = args.resolve(file)?;
    let system = actix::System::new();
    system.block_on(async move {
        let (client, reconnects) =
            switchyard_bus::nats::connect_with_reconnects(&resolved.nats, "switchyard-health")
                .await
                .context("connecting to NATS")?;
        info!(instance = %resolved.instance, ttl = ?resolved.member_ttl, "health service starting");
        let coordinator = Coordinator::new(
            Settings {
                instance: resolved.instance,
                replicas: resolved.nats.replicas.unwrap_or(1),
                member_ttl: resolved.member_ttl,
            },
            client,
        )
        .with_reconnects(reconnects)
        .start();
        actix::spawn(async move {
            let mut term =
                tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()).ok();
            let terminated = async {
                match term.as_mut() {
                    Some(term) => {
                        term.recv().await;
                    }
                    None => std::future::pending::<()>().await,
                }
            };
            tokio::select! {
                _ = tokio::signal::ctrl_c() => {}
                _ = terminated => {}
            }
            info!("stopping");
            coordinator.do_send(Shutdown);
        });
        anyhow::Ok(())
    })?;
    system.run()?;
    Ok(())
}
