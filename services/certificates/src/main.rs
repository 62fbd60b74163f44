//! `switchyard-certificates`: obtains ACME certificates once and publishes them, with the
//! static certificates of the configuration, for every proxy replica.

use std::path::PathBuf;
use std::time::Duration;

use actix::prelude::*;
use anyhow::{Context as _, bail};
use clap::Parser;
use switchyard_bus::SealKey;
use switchyard_bus::cli::NatsArgs;
use switchyard_bus::lease::{LeaseClient, LeaseTiming};
use switchyard_bus::nats::{connect_with_reconnects, open_acme_bucket, open_buckets};
use switchyard_certificates::acme::Http;
use switchyard_certificates::config;
use switchyard_certificates::lease_keeper::{LEASE_NAME, LeaseKeeper, Release};
use switchyard_certificates::scheduler::{Scheduler, Stores};
use tokio::signal::unix::{SignalKind, signal};
use tracing::{info, warn};

/// How long a stop may take in all: releasing the lease (at most
/// [`switchyard_certificates::lease_keeper::RELEASE_TIMEOUT`]), then flushing the last
/// writes to NATS, which with NATS gone would wait for the reconnection, that is forever.
const STOP_TIMEOUT: Duration = Duration::from_secs(3);

/// Command line.
#[derive(Debug, Parser)]
#[command(name = "switchyard-certificates", version, about)]
struct Args {
    /// The static configuration (YAML, or TOML with a `.toml` extension).
    #[arg(long, env = "SWITCHYARD_CERTIFICATES_CONFIG")]
    config: PathBuf,
    /// The NATS flags every service shares; each wins over the same setting of `nats`.
    #[command(flatten)]
    nats: NatsArgs,
    /// This instance's id, the lease holder name; default: `<host name>-<pid>`.
    #[arg(long, env = "SWITCHYARD_INSTANCE")]
    instance: Option<String>,
}

fn bus_secret(file: Option<&PathBuf>) -> anyhow::Result<SealKey> {
    if let Ok(text) = std::env::var("SWITCHYARD_BUS_SECRET") {
        return SealKey::parse(&text).context("SWITCHYARD_BUS_SECRET");
    }
    match file {
        Some(path) => {
            let text = std::fs::read_to_string(path)
                .with_context(|| format!("busSecretFile {}", path.display()))?;
            SealKey::parse(&text).with_context(|| format!("busSecretFile {}", path.display()))
        }
        None => bail!(
            "no bus secret: set SWITCHYARD_BUS_SECRET (32 bytes, hex or base64) or busSecretFile; private keys are sealed with it"
        ),
    }
}

fn default_instance() -> String {
    let host = switchyard_bus::cli::host_name("certificates");
    format!("{host}-{}", std::process::id())
}

fn main() -> anyhow::Result<()> {
    switchyard_bus::cli::init_service();
    let args = Args::parse();
    let settings = config::load(&args.config)
        .with_context(|| format!("static configuration {}", args.config.display()))?;
    let seal = bus_secret(settings.bus_secret_file.as_ref())?;
    let mut nats = settings.nats.clone();
    args.nats.apply(&mut nats);
    let mut resolvers = Vec::new();
    for resolver in settings.resolvers.values() {
        let http = Http::new(resolver)
            .with_context(|| format!("certificatesResolvers.{}.acme", resolver.name))?;
        resolvers.push((resolver.clone(), http));
    }
    let instance = args.instance.unwrap_or_else(default_instance);
    let system = System::new();
    system.block_on(run(instance, nats, seal, resolvers))
}

async fn run(
    instance: String,
    nats: switchyard_bus::nats::NatsSettings,
    seal: SealKey,
    resolvers: Vec<(config::Resolver, Http)>,
) -> anyhow::Result<()> {
    // First: as PID 1 in a container, a signal without a handler is dropped, and a stop
    // during startup would wait for Docker's SIGKILL.
    let mut term = signal(SignalKind::terminate()).context("installing the SIGTERM handler")?;
    let mut interrupt = signal(SignalKind::interrupt()).context("installing the SIGINT handler")?;
    let mut stop = async move || {
        tokio::select! {
            _ = term.recv() => "SIGTERM",
            _ = interrupt.recv() => "SIGINT",
        }
    };
    let names: Vec<&str> = resolvers.iter().map(|(r, _)| r.name.as_str()).collect();
    info!(%instance, resolvers = ?names, "starting the certificates service");
    let started = tokio::select! {
        started = start(instance, nats, seal, resolvers) => started?,
        signal = stop() => {
            info!(%signal, "stopped before the service started");
            System::current().stop();
            return Ok(());
        }
    };
    let (client, keeper) = started;
    let signal = stop().await;
    info!(%signal, "stopping: releasing the lease");
    let deadline = tokio::time::Instant::now() + STOP_TIMEOUT;
    let _ = keeper.send(Release).await;
    if tokio::time::timeout_at(deadline, client.flush())
        .await
        .is_err()
    {
        warn!("NATS did not take the last writes in time (is it reachable?); stopping anyway");
    }
    System::current().stop();
    Ok(())
}

/// Connects, opens the buckets and starts the actors; returns the client and the keeper.
async fn start(
    instance: String,
    nats: switchyard_bus::nats::NatsSettings,
    seal: SealKey,
    resolvers: Vec<(config::Resolver, Http)>,
) -> anyhow::Result<(async_nats::Client, Addr<LeaseKeeper>)> {
    let (client, reconnects) = connect_with_reconnects(&nats, "switchyard-certificates").await?;
    let replicas = nats.replicas.unwrap_or(1);
    let buckets = open_buckets(&client, replicas).await?;
    let acme = open_acme_bucket(&client, replicas).await?;
    let stores = Stores {
        config: buckets.config.clone(),
        certs: buckets.certs.clone(),
        challenges: buckets.challenges.clone(),
        acme,
    };
    let scheduler = Scheduler::new(instance.clone(), seal, stores, resolvers)
        .with_reconnects(reconnects)
        .start();
    let lease = LeaseClient::new(
        buckets.leases.clone(),
        LEASE_NAME,
        &instance,
        LeaseTiming::DEFAULT,
    );
    let keeper = LeaseKeeper::new(lease, scheduler.recipient()).start();
    Ok((client, keeper))
}
