//! Discovery latency: the time from `docker start` of a labelled container to the first
//! request served through the proxy, over 20 starts (median and p99). Traefik waits out a
//! 2 s provider throttle; the target here is under 500 ms.
//!
//! Runs the real topology on this machine: NATS in a container, discovery-docker and the
//! proxy as processes next to this binary, whoami containers on a network of its own.

use std::time::{Duration, Instant};

use std::collections::HashMap;

use bollard::Docker;
use bollard::models::{ContainerCreateBody, HostConfig, NetworkCreateRequest};
use bollard::query_parameters::{CreateContainerOptionsBuilder, RemoveContainerOptionsBuilder};
use switchyard_integration_tests::client::get;
use switchyard_integration_tests::process::{Process, start_proxy};
use switchyard_integration_tests::{WHOAMI_IMAGE, start_nats, whoami_image};

const STARTS: usize = 20;

/// One start: the whole time, and the part the Docker engine took to start the container.
struct Sample {
    total: Duration,
    engine: Duration,
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let nats = start_nats().await?;
    let id = std::process::id();
    let network = format!("sy-bench-{id}");
    let scope = format!("bench-{id}");
    let _discovery = Process::start(
        "bench-discovery-docker",
        "switchyard-discovery-docker",
        &[
            "--nats-url".into(),
            nats.url.clone(),
            "--network".into(),
            network.clone(),
            "--constraints".into(),
            format!("Label(`switchyard.test`, `{scope}`)"),
        ],
        &[(
            "RUST_LOG",
            std::env::var("BENCH_LOG").unwrap_or_else(|_| "warn".into()),
        )],
    )?;
    let proxy = start_proxy("bench", &nats.url, &[])?;
    let _image = whoami_image().await?;
    let docker = Docker::connect_with_local_defaults()?;
    docker
        .create_network(NetworkCreateRequest {
            name: network.clone(),
            ..Default::default()
        })
        .await?;
    let mut samples = Vec::with_capacity(STARTS);
    let mut failure = None;
    for i in 0..STARTS {
        match one_start(&docker, &network, &scope, i, proxy.web).await {
            Ok(sample) => {
                println!(
                    "start {i:2}: served {} ms after `docker start` (the engine took {} ms)",
                    sample.total.as_millis(),
                    sample.engine.as_millis()
                );
                samples.push(sample);
            }
            Err(e) => {
                failure = Some(e);
                break;
            }
        }
    }
    let _ = docker.remove_network(&network).await;
    if let Some(e) = failure {
        return Err(e);
    }
    report(&samples);
    Ok(())
}

/// Creates a labelled container (untimed), then times `docker start` to the first 200.
async fn one_start(
    docker: &Docker,
    network: &str,
    scope: &str,
    i: usize,
    proxy: std::net::SocketAddr,
) -> anyhow::Result<Sample> {
    let host = format!("lat-{i}.test");
    let name = format!("{network}-{i}");
    let labels = HashMap::from([
        ("switchyard.test".to_owned(), scope.to_owned()),
        (
            format!("traefik.http.routers.lat{i}.rule"),
            format!("Host(`{host}`)"),
        ),
    ]);
    let body = ContainerCreateBody {
        image: Some(format!("{}:{}", WHOAMI_IMAGE.0, WHOAMI_IMAGE.1)),
        labels: Some(labels),
        host_config: Some(HostConfig {
            network_mode: Some(network.to_owned()),
            ..Default::default()
        }),
        ..Default::default()
    };
    docker
        .create_container(
            Some(CreateContainerOptionsBuilder::new().name(&name).build()),
            body,
        )
        .await?;
    let result = async {
        let started = Instant::now();
        docker.start_container(&name, None).await?;
        let engine = started.elapsed();
        let deadline = started + Duration::from_secs(30);
        loop {
            let served = get(proxy, &host, "/").await.map(|r| r.status == 200);
            if served.unwrap_or(false) {
                return Ok(Sample {
                    total: started.elapsed(),
                    engine,
                });
            }
            anyhow::ensure!(
                Instant::now() < deadline,
                "start {i}: not served after 30 s"
            );
            tokio::time::sleep(Duration::from_millis(5)).await;
        }
    }
    .await;
    let _ = docker
        .remove_container(
            &name,
            Some(RemoveContainerOptionsBuilder::new().force(true).build()),
        )
        .await;
    result
}

fn report(samples: &[Sample]) {
    if samples.is_empty() {
        return;
    }
    let stats = |mut values: Vec<Duration>| {
        values.sort();
        let p99 = values[(values.len() * 99).div_ceil(100) - 1];
        (values[values.len() / 2].as_millis(), p99)
    };
    let (median, p99) = stats(samples.iter().map(|s| s.total).collect());
    let (engine, engine_p99) = stats(samples.iter().map(|s| s.engine).collect());
    let ours = samples
        .iter()
        .map(|s| s.total.saturating_sub(s.engine))
        .collect();
    let (ours, ours_p99) = stats(ours);
    println!("\n| {STARTS} starts | median | p99 |\n|---|---:|---:|");
    println!(
        "| `docker start` to first request served | {median} ms | {} ms |",
        p99.as_millis()
    );
    println!(
        "| the engine starting the container | {engine} ms | {} ms |",
        engine_p99.as_millis()
    );
    println!(
        "| container started to first request served | {ours} ms | {} ms |",
        ours_p99.as_millis()
    );
    let met = p99 < Duration::from_millis(500);
    println!(
        "\ntarget, p99 under 500 ms from `docker start`: {}",
        if met { "met" } else { "NOT met" }
    );
}
