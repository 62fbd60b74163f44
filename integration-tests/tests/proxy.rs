//! The proxy as a user sees it: routes published on the bus are served; updates do not
//! drop traffic; a late proxy serves at once; NATS outages do not interrupt service.

use std::collections::BTreeSet;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use serde_json::json;
use switchyard_integration_tests::client::get;
use switchyard_integration_tests::process::{start_proxy, start_whoami};
use switchyard_integration_tests::{TestBus, eventually, start_nats};

fn whoami_config(host: &str, servers: &[String]) -> serde_json::Value {
    let servers: Vec<_> = servers.iter().map(|url| json!({"url": url})).collect();
    json!({"http": {
        "routers": {"whoami": {"rule": format!("Host(`{host}`)"), "service": "whoami"}},
        "services": {"whoami": {"loadBalancer": {"servers": servers}}}
    }})
}

async fn served(addr: std::net::SocketAddr, host: &str) -> bool {
    get(addr, host, "/")
        .await
        .map(|r| r.status == 200)
        .unwrap_or(false)
}

#[tokio::test]
async fn a_router_published_on_the_bus_is_served() -> anyhow::Result<()> {
    let nats = start_nats().await?;
    let a = start_whoami("a")?;
    let b = start_whoami("b")?;
    let proxy = start_proxy("p1", &nats.url, &[])?;
    let mut bus = TestBus::connect(&nats.url).await?;

    // Nothing published yet: 404.
    assert_eq!(get(proxy.web, "whoami.test", "/").await?.status, 404);

    bus.publish("file", whoami_config("whoami.test", &[a.url(), b.url()]))
        .await?;
    eventually(Duration::from_secs(10), "the route to be served", || {
        served(proxy.web, "whoami.test")
    })
    .await?;

    // Both servers take turns; the backend sees Traefik's forwarded headers.
    let mut names = BTreeSet::new();
    for _ in 0..4 {
        let reply = get(proxy.web, "WhoAmI.test:80", "/a/../hello?x=1").await?;
        assert_eq!(reply.status, 200);
        let name = reply.body.lines().next().unwrap_or_default().to_owned();
        names.insert(name);
        assert!(
            reply.body.contains("GET /hello?x=1 HTTP/1.1"),
            "{}",
            reply.body
        );
        assert!(
            reply.body.contains("x-forwarded-host: WhoAmI.test:80"),
            "{}",
            reply.body
        );
        assert!(
            reply.body.contains("x-forwarded-proto: http"),
            "{}",
            reply.body
        );
        assert!(
            reply.body.contains("x-forwarded-for: 127.0.0.1"),
            "{}",
            reply.body
        );
        assert!(
            reply.body.contains("x-real-ip: 127.0.0.1"),
            "{}",
            reply.body
        );
        assert!(
            reply.body.contains("host: WhoAmI.test:80"),
            "{}",
            reply.body
        );
    }
    assert_eq!(
        names,
        BTreeSet::from(["Name: a".to_owned(), "Name: b".to_owned()])
    );

    // Unknown host: 404; a request the proxy must refuse: 400.
    assert_eq!(get(proxy.web, "other.test", "/").await?.status, 404);

    // A service whose servers are all gone: 502 from the proxy.
    bus.publish(
        "file",
        whoami_config("whoami.test", &["http://127.0.0.1:9".to_owned()]),
    )
    .await?;
    eventually(
        Duration::from_secs(10),
        "the broken server to answer 502",
        || async {
            get(proxy.web, "whoami.test", "/")
                .await
                .map(|r| r.status == 502)
                .unwrap_or(false)
        },
    )
    .await?;
    Ok(())
}

#[tokio::test]
async fn an_update_does_not_drop_concurrent_requests() -> anyhow::Result<()> {
    let nats = start_nats().await?;
    let a = start_whoami("a")?;
    let b = start_whoami("b")?;
    let proxy = start_proxy("p1", &nats.url, &[])?;
    let mut bus = TestBus::connect(&nats.url).await?;
    bus.publish("file", whoami_config("whoami.test", &[a.url()]))
        .await?;
    eventually(Duration::from_secs(10), "the route", || {
        served(proxy.web, "whoami.test")
    })
    .await?;

    let ok = Arc::new(AtomicUsize::new(0));
    let failed = Arc::new(AtomicUsize::new(0));
    let stop = Arc::new(std::sync::atomic::AtomicBool::new(false));
    let mut load = Vec::new();
    for _ in 0..4 {
        let (ok, failed, stop, addr) = (ok.clone(), failed.clone(), stop.clone(), proxy.web);
        load.push(tokio::spawn(async move {
            while !stop.load(Ordering::Relaxed) {
                match get(addr, "whoami.test", "/").await {
                    Ok(r) if r.status == 200 => ok.fetch_add(1, Ordering::Relaxed),
                    _ => failed.fetch_add(1, Ordering::Relaxed),
                };
            }
        }));
    }
    // Updates of this route (server added, rule of an unrelated router changed) while loaded.
    for i in 0..10 {
        let mut config = whoami_config("whoami.test", &[a.url(), b.url()]);
        config["http"]["routers"]["other"] =
            json!({"rule": format!("Host(`other{i}.test`)"), "service": "whoami"});
        bus.publish("file", config).await?;
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    stop.store(true, Ordering::Relaxed);
    for task in load {
        task.await?;
    }
    assert!(ok.load(Ordering::Relaxed) > 20, "some load ran");
    assert_eq!(
        failed.load(Ordering::Relaxed),
        0,
        "no request failed during updates"
    );
    Ok(())
}

#[tokio::test]
async fn a_late_proxy_serves_existing_routes_at_once() -> anyhow::Result<()> {
    let nats = start_nats().await?;
    let a = start_whoami("a")?;
    let mut bus = TestBus::connect(&nats.url).await?;
    bus.publish("file", whoami_config("whoami.test", &[a.url()]))
        .await?;

    let started = std::time::Instant::now();
    let proxy = start_proxy("late", &nats.url, &[])?;
    eventually(
        Duration::from_secs(5),
        "the late proxy to serve the existing route",
        || served(proxy.web, "whoami.test"),
    )
    .await?;
    let elapsed = started.elapsed();
    assert!(
        elapsed < Duration::from_secs(5),
        "served {elapsed:?} after start"
    );
    Ok(())
}

#[tokio::test]
async fn the_proxy_serves_through_a_nats_restart() -> anyhow::Result<()> {
    let nats = start_nats().await?;
    let a = start_whoami("a")?;
    let b = start_whoami("b")?;
    let proxy = start_proxy("p1", &nats.url, &[])?;
    let mut bus = TestBus::connect(&nats.url).await?;
    bus.publish("file", whoami_config("whoami.test", &[a.url()]))
        .await?;
    eventually(Duration::from_secs(10), "the route", || {
        served(proxy.web, "whoami.test")
    })
    .await?;

    nats.container.stop().await?;
    for _ in 0..20 {
        assert!(
            served(proxy.web, "whoami.test").await,
            "served while NATS is down"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    nats.container.start().await?;

    // After NATS is back the proxy follows changes again.
    let mut bus = TestBus::connect(&nats.url).await?;
    bus.publish("file", whoami_config("new.test", &[b.url()]))
        .await?;
    eventually(
        Duration::from_secs(30),
        "the change made after the restart",
        || served(proxy.web, "new.test"),
    )
    .await?;
    assert_eq!(get(proxy.web, "whoami.test", "/").await?.status, 404);
    Ok(())
}

#[tokio::test]
async fn sigterm_lets_in_flight_requests_finish() -> anyhow::Result<()> {
    let nats = start_nats().await?;
    let a = start_whoami("a")?;
    let mut proxy = start_proxy("p1", &nats.url, &[])?;
    let mut bus = TestBus::connect(&nats.url).await?;
    bus.publish("file", whoami_config("whoami.test", &[a.url()]))
        .await?;
    eventually(Duration::from_secs(10), "the route", || {
        served(proxy.web, "whoami.test")
    })
    .await?;

    let addr = proxy.web;
    let slow = tokio::spawn(async move { get(addr, "whoami.test", "/slow?delay_ms=1500").await });
    tokio::time::sleep(Duration::from_millis(300)).await;
    proxy.process.terminate();
    let reply = slow.await??;
    assert_eq!(reply.status, 200, "the in-flight request completed");
    assert_eq!(reply.body, "slow\n");
    let status = proxy.process.wait_exit(Duration::from_secs(15))?;
    assert!(status.success(), "clean exit: {status:?}");
    Ok(())
}

#[tokio::test]
async fn websocket_echo_through_the_proxy() -> anyhow::Result<()> {
    use futures::{SinkExt as _, StreamExt as _};
    use tokio_tungstenite::tungstenite::Message;
    let nats = start_nats().await?;
    let a = start_whoami("a")?;
    let proxy = start_proxy("p1", &nats.url, &[])?;
    let mut bus = TestBus::connect(&nats.url).await?;
    bus.publish("file", whoami_config("ws.test", &[a.url()]))
        .await?;
    eventually(Duration::from_secs(10), "the route", || {
        served(proxy.web, "ws.test")
    })
    .await?;

    let tcp = tokio::net::TcpStream::connect(proxy.web).await?;
    let (mut ws, response) = tokio_tungstenite::client_async("ws://ws.test/ws", tcp).await?;
    assert_eq!(response.status().as_u16(), 101);
    for text in ["hello", "through the proxy"] {
        ws.send(Message::text(text)).await?;
        let echoed = tokio::time::timeout(Duration::from_secs(5), ws.next())
            .await?
            .expect("a message")?;
        assert_eq!(echoed.into_text()?.as_str(), text);
    }
    ws.send(Message::binary(vec![1u8, 2, 3])).await?;
    let echoed = tokio::time::timeout(Duration::from_secs(5), ws.next())
        .await?
        .expect("a message")?;
    assert_eq!(echoed.into_data().as_ref(), &[1u8, 2, 3]);
    ws.close(None).await?;
    Ok(())
}

#[tokio::test]
async fn streamed_bodies_pass_as_they_come_h1_sse_and_h2c() -> anyhow::Result<()> {
    let nats = start_nats().await?;
    let a = start_whoami("a")?;
    let proxy = start_proxy("p1", &nats.url, &[])?;
    let mut bus = TestBus::connect(&nats.url).await?;
    let h2c_url = format!("h2c://{}", a.addr);
    bus.publish(
        "file",
        json!({"http": {
            "routers": {
                "sse": {"rule": "Host(`sse.test`)", "service": "h1"},
                "grpcish": {"rule": "Host(`h2c.test`)", "service": "h2"}
            },
            "services": {
                "h1": {"loadBalancer": {"servers": [{"url": a.url()}]}},
                "h2": {"loadBalancer": {"servers": [{"url": h2c_url}]}}
            }
        }}),
    )
    .await?;
    eventually(Duration::from_secs(10), "the routes", || {
        served(proxy.web, "sse.test")
    })
    .await?;

    let cases = [
        (
            "server-sent events over HTTP/1.1",
            "sse.test",
            "/sse?count=4&interval_ms=300",
            false,
        ),
        (
            "h2c backend, h1 client",
            "h2c.test",
            "/stream?count=4&interval_ms=300",
            false,
        ),
        (
            "h2c backend, h2c client",
            "h2c.test",
            "/stream?count=4&interval_ms=300",
            true,
        ),
    ];
    for (case, host, path, h2c_client) in cases {
        let (status, chunks) = switchyard_integration_tests::client::get_timed_chunks(
            proxy.web, host, path, h2c_client,
        )
        .await?;
        assert_eq!(status, 200, "{case}");
        let text: String = chunks
            .iter()
            .map(|(_, c)| String::from_utf8_lossy(c).into_owned())
            .collect();
        assert!(
            text.contains("event 3") || text.contains("chunk 3"),
            "{case}: {text}"
        );
        let first = chunks.first().map(|(t, _)| *t).unwrap_or_default();
        let last = chunks.last().map(|(t, _)| *t).unwrap_or_default();
        // Four events 300 ms apart: the first must arrive long before the last is produced.
        assert!(
            last >= Duration::from_millis(800),
            "{case}: whole body took {last:?}"
        );
        assert!(
            first < Duration::from_millis(500),
            "{case}: first chunk after {first:?}: buffered?"
        );
    }
    Ok(())
}
