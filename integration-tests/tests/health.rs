//! Server health as a user sees it: active checks by the health service take failing
//! backends out of rotation and back, several health instances share the checks and
//! take over from one that stopped, and passive checks eject a refusing backend.

use std::time::{Duration, Instant};

use serde_json::json;
use switchyard_bus::keys::health_key;
use switchyard_bus::messages::ServerHealth;
use switchyard_integration_tests::client::get;
use switchyard_integration_tests::process::{
    Process, Proxy, Whoami, free_port, start_proxy, start_whoami,
};
use switchyard_integration_tests::whoami::{answered_by, set_health};
use switchyard_integration_tests::{Nats, TestBus, eventually, start_nats};

const HOST: &str = "app.test";
const SERVICE: &str = "app@file";

/// A router to service `app` over `servers`, with `extra` merged into its load balancer.
fn config(servers: &[String], extra: serde_json::Value) -> serde_json::Value {
    let servers: Vec<_> = servers.iter().map(|url| json!({"url": url})).collect();
    let mut lb = json!({"servers": servers});
    if let (Some(lb), Some(extra)) = (lb.as_object_mut(), extra.as_object()) {
        lb.extend(extra.clone());
    }
    json!({"http": {
        "routers": {"app": {"rule": format!("Host(`{HOST}`)"), "service": "app"}},
        "services": {"app": {"loadBalancer": lb}}
    }})
}

fn active_check() -> serde_json::Value {
    json!({"healthCheck": {"path": "/health", "interval": "500ms", "timeout": "500ms"}})
}

fn start_health(instance: &str, nats_url: &str, extra: &[&str]) -> anyhow::Result<Process> {
    let mut args = vec![
        "--nats-url".to_owned(),
        nats_url.to_owned(),
        "--instance".into(),
        instance.into(),
    ];
    args.extend(extra.iter().map(|s| (*s).to_owned()));
    Process::start(
        &format!("health-{instance}"),
        "switchyard-health",
        &args,
        &[("RUST_LOG", "info".into())],
    )
}

/// Who answered each of `n` requests: the backend's name, or `status <code>`.
async fn answers(proxy: std::net::SocketAddr, n: usize) -> Vec<String> {
    let mut out = Vec::with_capacity(n);
    for _ in 0..n {
        out.push(answered_by(&get(proxy, HOST, "/").await));
    }
    out
}

async fn only(proxy: std::net::SocketAddr, n: usize, name: &str) -> bool {
    answers(proxy, n).await.iter().all(|a| a == name)
}

async fn both_serve(proxy: std::net::SocketAddr) -> bool {
    let seen = answers(proxy, 6).await;
    seen.iter().any(|a| a == "a") && seen.iter().any(|a| a == "b")
}

/// Waits (up to `timeout`) until `a` alone answers: `b` is out of rotation.
async fn b_out_of_rotation(proxy: std::net::SocketAddr, timeout: Duration) -> anyhow::Result<()> {
    eventually(timeout, "b out of rotation", || only(proxy, 4, "a")).await
}

/// NATS, backends `a` and `b`, proxy `p1` and health instance `h1`; `app.test` routed to
/// both under an active check, and both serving. A test binds every field it keeps
/// running (a field left to `..` is dropped, its process stopped, at once).
struct Checked {
    bus: TestBus,
    health: Process,
    proxy: Proxy,
    b: Whoami,
    a: Whoami,
    nats: Nats,
}

async fn both_checked() -> anyhow::Result<Checked> {
    let nats = start_nats().await?;
    let a = start_whoami("a")?;
    let b = start_whoami("b")?;
    let proxy = start_proxy("p1", &nats.url, &[])?;
    let health = start_health("h1", &nats.url, &[])?;
    let mut bus = TestBus::connect(&nats.url).await?;
    bus.publish("file", config(&[a.url(), b.url()], active_check()))
        .await?;
    eventually(Duration::from_secs(15), "both backends to serve", || {
        both_serve(proxy.web)
    })
    .await?;
    Ok(Checked {
        bus,
        health,
        proxy,
        b,
        a,
        nats,
    })
}

async fn health_on_bus(bus: &TestBus, server: &str) -> Option<ServerHealth> {
    let value = bus
        .buckets
        .health
        .get(health_key(SERVICE, server))
        .await
        .ok()??;
    serde_json::from_slice(&value).ok()
}

#[tokio::test]
async fn a_failing_backend_leaves_rotation_and_comes_back() -> anyhow::Result<()> {
    let Checked {
        mut bus,
        health: _health,
        proxy,
        b,
        a,
        nats: _nats,
    } = both_checked().await?;
    eventually(Duration::from_secs(10), "b's health on the bus", || async {
        health_on_bus(&bus, &b.url()).await.is_some_and(|h| h.up)
    })
    .await?;

    set_health(b.addr, 500).await?;
    let failed_at = Instant::now();
    b_out_of_rotation(proxy.web, Duration::from_secs(10)).await?;
    eprintln!(
        "b out of rotation after {:?} (interval 500ms + timeout 500ms)",
        failed_at.elapsed()
    );
    // Out of rotation means no request at all reaches it.
    let seen = answers(proxy.web, 20).await;
    assert!(seen.iter().all(|s| s == "a"), "{seen:?}");
    let down = health_on_bus(&bus, &b.url()).await;
    assert!(
        down.as_ref().is_some_and(|h| !h.up
            && h.checker == "h1"
            && h.reason.as_deref().unwrap_or_default().contains("500")),
        "{down:?}"
    );

    // Every server down: 503.
    set_health(a.addr, 503).await?;
    eventually(
        Duration::from_secs(10),
        "503 with every server down",
        || async {
            answers(proxy.web, 2)
                .await
                .iter()
                .all(|s| s == "status 503")
        },
    )
    .await?;

    set_health(a.addr, 200).await?;
    set_health(b.addr, 204).await?;
    eventually(Duration::from_secs(10), "both back in rotation", || {
        both_serve(proxy.web)
    })
    .await?;

    // A server that leaves the configuration loses its key.
    bus.publish("file", config(&[a.url()], active_check()))
        .await?;
    eventually(Duration::from_secs(10), "b's key deleted", || async {
        health_on_bus(&bus, &b.url()).await.is_none()
    })
    .await?;
    Ok(())
}

#[tokio::test]
async fn a_killed_backend_leaves_rotation() -> anyhow::Result<()> {
    let Checked {
        bus,
        health: _health,
        proxy,
        mut b,
        a: _a,
        nats: _nats,
    } = both_checked().await?;

    b.process.kill();
    b_out_of_rotation(proxy.web, Duration::from_secs(10)).await?;
    let seen = answers(proxy.web, 20).await;
    assert!(seen.iter().all(|s| s == "a"), "{seen:?}");
    let down = health_on_bus(&bus, &b.url()).await;
    assert!(down.as_ref().is_some_and(|h| !h.up), "{down:?}");
    Ok(())
}

#[tokio::test]
async fn another_instance_takes_over_the_checks_of_a_stopped_one() -> anyhow::Result<()> {
    let nats = start_nats().await?;
    let a = start_whoami("a")?;
    let b = start_whoami("b")?;
    let proxy = start_proxy("p1", &nats.url, &[])?;
    let mut h1 = start_health("h1", &nats.url, &["--member-ttl", "1s"])?;
    let mut h2 = start_health("h2", &nats.url, &["--member-ttl", "1s"])?;
    let mut bus = TestBus::connect(&nats.url).await?;
    // Both instances see each other before the service appears, so one checks it.
    tokio::time::sleep(Duration::from_secs(2)).await;
    bus.publish("file", config(&[a.url(), b.url()], active_check()))
        .await?;
    eventually(
        Duration::from_secs(15),
        "a checker for the service",
        || async { health_on_bus(&bus, &a.url()).await.is_some() },
    )
    .await?;
    let first = health_on_bus(&bus, &a.url())
        .await
        .map(|h| h.checker)
        .unwrap_or_default();
    let (stopped, other) = match first.as_str() {
        "h1" => (&mut h1, "h2"),
        "h2" => (&mut h2, "h1"),
        other => anyhow::bail!("unexpected checker {other:?}"),
    };
    // Killed, so its lease lapses instead of being deleted.
    stopped.kill();

    set_health(b.addr, 500).await?;
    eventually(
        Duration::from_secs(15),
        "the other instance to take b out",
        || async {
            health_on_bus(&bus, &b.url())
                .await
                .is_some_and(|h| !h.up && h.checker == other)
        },
    )
    .await?;
    b_out_of_rotation(proxy.web, Duration::from_secs(5)).await?;
    Ok(())
}

#[tokio::test]
async fn passive_checks_eject_a_refusing_backend() -> anyhow::Result<()> {
    let nats = start_nats().await?;
    let a = start_whoami("a")?;
    // Nothing listens there: every connection is refused.
    let refusing = format!("http://127.0.0.1:{}", free_port()?);
    let proxy = start_proxy("p1", &nats.url, &[])?;
    let mut bus = TestBus::connect(&nats.url).await?;
    bus.publish(
        "file",
        config(
            &[a.url(), refusing],
            json!({"passiveHealthCheck": {"failureWindow": "1m", "maxFailedAttempts": 1}}),
        ),
    )
    .await?;
    eventually(
        Duration::from_secs(15),
        "the route to be served",
        || async { answers(proxy.web, 1).await.iter().any(|s| s == "a") },
    )
    .await?;
    // One failed attempt takes it out for the failure window: at most one request of
    // the following ones still reaches it (if the rotation had not reached it yet).
    let seen = answers(proxy.web, 20).await;
    let failed = seen.iter().filter(|s| *s == "status 502").count();
    assert!(failed <= 1, "{seen:?}");
    assert_eq!(
        seen.iter().filter(|s| *s == "a").count(),
        20 - failed,
        "{seen:?}"
    );
    let again = answers(proxy.web, 10).await;
    assert!(again.iter().all(|s| s == "a"), "{again:?}");
    Ok(())
}
