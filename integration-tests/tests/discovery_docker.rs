//! discovery-docker against the real Docker engine: labelled containers (built locally,
//! on a network of the test's own) are served by a proxy, follow the containers' lives,
//! and a broken label disables only its own container's routers, with the reason on the bus.

use std::collections::BTreeSet;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use switchyard_integration_tests::client::get;
use switchyard_integration_tests::process::{Process, start_proxy};
use switchyard_integration_tests::{TestBus, eventually, start_nats, whoami_image};
use testcontainers::runners::AsyncRunner as _;
use testcontainers::{ContainerAsync, GenericImage, ImageExt as _};

static SEQ: AtomicUsize = AtomicUsize::new(0);

/// A name unique to this test run.
fn unique(prefix: &str) -> String {
    format!(
        "{prefix}-{}-{}",
        std::process::id(),
        SEQ.fetch_add(1, Ordering::Relaxed)
    )
}

/// discovery-docker named `name`, seeing only containers labelled `switchyard.test=<scope>`.
fn discovery(name: &str, nats_url: &str, network: &str, scope: &str) -> anyhow::Result<Process> {
    Process::start(
        &format!("discovery-{name}"),
        "switchyard-discovery-docker",
        &[
            "--name".into(),
            name.into(),
            "--nats-url".into(),
            nats_url.into(),
            "--network".into(),
            network.into(),
            "--constraints".into(),
            format!("Label(`switchyard.test`, `{scope}`)"),
        ],
        &[("RUST_LOG", "info".into())],
    )
}

async fn container(
    network: &str,
    name: &str,
    scope: &str,
    labels: &[(&str, &str)],
) -> anyhow::Result<ContainerAsync<GenericImage>> {
    let mut request = whoami_image()
        .await?
        .with_network(network)
        .with_container_name(name)
        .with_label("switchyard.test", scope)
        .with_cmd(["--address", "0.0.0.0:80", "--name", name]);
    for (k, v) in labels {
        request = request.with_label(*k, *v);
    }
    Ok(request.start().await?)
}

async fn status(addr: std::net::SocketAddr, host: &str) -> u16 {
    get(addr, host, "/").await.map(|r| r.status).unwrap_or(0)
}

#[tokio::test]
async fn a_labelled_container_is_served_then_gone_when_stopped() -> anyhow::Result<()> {
    let nats = start_nats().await?;
    let network = unique("sy-net");
    let scope = unique("scope");
    let _discovery = discovery("docker", &nats.url, &network, &scope)?;
    let proxy = start_proxy("p1", &nats.url, &[])?;
    let name = unique("web");
    let web = container(
        &network,
        &name,
        &scope,
        &[("traefik.http.routers.web.rule", "Host(`web.test`)")],
    )
    .await?;
    eventually(Duration::from_secs(20), "the container's route", || async {
        status(proxy.web, "web.test").await == 200
    })
    .await?;
    let reply = get(proxy.web, "web.test", "/").await?;
    assert!(
        reply.body.starts_with(&format!("Name: {name}")),
        "{}",
        reply.body
    );

    web.stop().await?;
    eventually(
        Duration::from_secs(20),
        "the route to disappear",
        || async { status(proxy.web, "web.test").await == 404 },
    )
    .await?;
    Ok(())
}

#[tokio::test]
async fn replicas_of_one_service_both_receive_traffic() -> anyhow::Result<()> {
    let nats = start_nats().await?;
    let network = unique("sy-net");
    let scope = unique("scope");
    let _discovery = discovery("docker", &nats.url, &network, &scope)?;
    let proxy = start_proxy("p1", &nats.url, &[])?;
    let labels = [
        ("com.docker.compose.project", "demo"),
        ("com.docker.compose.service", "api"),
        ("traefik.http.routers.api.rule", "Host(`api.test`)"),
    ];
    let first = unique("api");
    let second = unique("api");
    let _a = container(&network, &first, &scope, &labels).await?;
    let _b = container(&network, &second, &scope, &labels).await?;
    let seen = std::sync::Arc::new(std::sync::Mutex::new(BTreeSet::new()));
    eventually(Duration::from_secs(20), "both replicas to answer", || {
        let seen = seen.clone();
        async move {
            if let Ok(reply) = get(proxy.web, "api.test", "/").await
                && reply.status == 200
            {
                let name = reply.body.lines().next().unwrap_or_default().to_owned();
                seen.lock().map(|mut s| s.insert(name)).unwrap_or_default();
            }
            seen.lock().map(|s| s.len() == 2).unwrap_or_default()
        }
    })
    .await?;
    let seen = seen.lock().map(|s| s.clone()).unwrap_or_default();
    assert_eq!(
        seen,
        BTreeSet::from([format!("Name: {first}"), format!("Name: {second}")])
    );
    Ok(())
}

#[tokio::test]
async fn two_docker_providers_feed_one_proxy() -> anyhow::Result<()> {
    let nats = start_nats().await?;
    let network = unique("sy-net");
    let (scope_a, scope_b) = (unique("scope"), unique("scope"));
    let _edge = discovery("docker-edge", &nats.url, &network, &scope_a)?;
    let _batch = discovery("docker-batch", &nats.url, &network, &scope_b)?;
    let proxy = start_proxy("p1", &nats.url, &[])?;
    let _a = container(
        &network,
        &unique("edge"),
        &scope_a,
        &[("traefik.http.routers.edge.rule", "Host(`edge.test`)")],
    )
    .await?;
    let _b = container(
        &network,
        &unique("batch"),
        &scope_b,
        &[("traefik.http.routers.batch.rule", "Host(`batch.test`)")],
    )
    .await?;
    eventually(
        Duration::from_secs(20),
        "both providers' routes",
        || async {
            status(proxy.web, "edge.test").await == 200
                && status(proxy.web, "batch.test").await == 200
        },
    )
    .await?;
    // Each provider keeps its own namespace on the bus.
    let bus = TestBus::connect(&nats.url).await?;
    assert!(
        bus.buckets
            .config
            .get("docker-edge.http-routers.edge")
            .await?
            .is_some()
    );
    assert!(
        bus.buckets
            .config
            .get("docker-batch.http-routers.batch")
            .await?
            .is_some()
    );
    assert!(
        bus.buckets
            .config
            .get("docker-edge.http-routers.batch")
            .await?
            .is_none()
    );
    Ok(())
}

#[tokio::test]
async fn a_broken_label_disables_only_that_containers_routers() -> anyhow::Result<()> {
    let nats = start_nats().await?;
    let network = unique("sy-net");
    let scope = unique("scope");
    let _discovery = discovery("docker", &nats.url, &network, &scope)?;
    let proxy = start_proxy("p1", &nats.url, &[])?;
    let _good = container(
        &network,
        &unique("good"),
        &scope,
        &[("traefik.http.routers.good.rule", "Host(`good.test`)")],
    )
    .await?;
    let _bad = container(
        &network,
        &unique("bad"),
        &scope,
        &[
            ("traefik.http.routers.bad.rule", "Host(`bad.test`)"),
            ("traefik.http.routers.bad.service", "bad"),
            (
                "traefik.http.services.bad.loadbalancer.server.port",
                "eighty",
            ),
        ],
    )
    .await?;
    eventually(
        Duration::from_secs(20),
        "the good container's route",
        || async { status(proxy.web, "good.test").await == 200 },
    )
    .await?;
    assert_eq!(status(proxy.web, "bad.test").await, 404);

    // The reason is on the bus: the rejected service's record, and the proxy's heartbeat.
    let bus = TestBus::connect(&nats.url).await?;
    let record = bus
        .buckets
        .config
        .get("docker.http-services.bad")
        .await?
        .expect("the rejected service is published");
    let record: serde_json::Value = serde_json::from_slice(&record)?;
    let problems = record["problems"].to_string();
    assert!(
        problems.contains("eighty") || problems.contains("port"),
        "{record}"
    );
    eventually(
        Duration::from_secs(15),
        "the heartbeat to list the disabled router",
        || async {
            match bus.buckets.proxies.get("p1").await {
                Ok(Some(beat)) => {
                    let beat: serde_json::Value = serde_json::from_slice(&beat).unwrap_or_default();
                    beat["disabled"].to_string().contains("bad@docker")
                }
                _ => false,
            }
        },
    )
    .await?;
    Ok(())
}
