//! The whole system in containers, as deployed: NATS, proxy replicas, discovery-file,
//! discovery-docker, the health service, the certificates service with Pebble as its ACME
//! CA, and whoami backends, each in its own container on one Docker network (see
//! `switchyard_integration_tests::stack`). Each test checks what a user of the deployment
//! would see from outside: HTTP(S) answers through the proxies. The scenarios:
//!
//! - `three_replicas_serve_file_and_docker_routes`: a file route and a labelled container,
//!   each served by every replica from the backend it names;
//! - `a_killed_replica_serves_at_once_when_restarted`: no window of 404s after a crash;
//! - `proxies_serve_through_a_nats_outage_and_catch_up`: 10 s without NATS, not one failed
//!   request, and a route written meanwhile served once NATS is back;
//! - `restarting_discovery_docker_does_not_flap_routes`: its routes stay served while it
//!   restarts;
//! - `an_unhealthy_backend_is_left_out_until_it_recovers`: active health checks;
//! - `every_replica_serves_certificates_from_the_acme_ca`: HTTP-01 and TLS-ALPN-01
//!   certificates validated through replica 0, served by all three.
//!
//! Needs the static binaries (`just static-bins`, which `just test` runs first); skips,
//! saying why, when no Docker engine answers.

use std::collections::BTreeSet;
use std::time::Duration;

use switchyard_integration_tests::stack::{Stack, StackBuilder, docker_available, proxy_role};
use switchyard_integration_tests::whoami::{answered_by, set_health};
use switchyard_integration_tests::{TestBus, eventually};
use switchyard_integration_tests::{pebble, stack as edge};
use tokio::sync::watch;

/// A file provider route: `Host(host)` to the given backend URLs.
fn file_route(router: &str, host: &str, urls: &[String]) -> String {
    let servers: String = urls
        .iter()
        .map(|u| format!("          - url: \"{u}\"\n"))
        .collect();
    format!(
        "http:\n  routers:\n    {router}:\n      rule: \"Host(`{host}`)\"\n      service: {router}\n  services:\n    {router}:\n      loadBalancer:\n        servers:\n{servers}"
    )
}

/// `stack` started, or `None` when Docker is not available (printing why `test` skips).
async fn start_or_skip(test: &str, stack: StackBuilder) -> anyhow::Result<Option<Stack>> {
    match docker_available().await {
        Ok(()) => Ok(Some(stack.start().await?)),
        Err(reason) => {
            eprintln!("skipping {test}: Docker is not available ({reason})");
            Ok(None)
        }
    }
}

/// Writes `{router}.yml`, a file provider route `Host(host)` to `urls`.
fn write_route(stack: &Stack, router: &str, host: &str, urls: &[String]) -> anyhow::Result<()> {
    stack.write_file(&format!("{router}.yml"), &file_route(router, host, urls))
}

/// Writes a route to backend `role` (see [`write_route`]) and waits until every proxy
/// serves it.
async fn serve_route(stack: &Stack, router: &str, host: &str, role: &str) -> anyhow::Result<()> {
    write_route(stack, router, host, &[stack.backend_url(role)])?;
    served_everywhere(stack, host, Duration::from_secs(30)).await
}

/// Waits until every proxy of `stack` answers `host` with 200.
async fn served_everywhere(stack: &Stack, host: &str, timeout: Duration) -> anyhow::Result<()> {
    let result = eventually(
        timeout,
        &format!("{host} served by every proxy"),
        || async {
            for index in 0..stack.proxy_count() {
                if stack.status(index, host).await != 200 {
                    return false;
                }
            }
            true
        },
    )
    .await;
    stack.with_logs(result).await
}

/// Asserts that the answer proxy `index` gave for `host` comes from backend `role`.
fn assert_served_by(stack: &Stack, index: usize, host: &str, body: &str, role: &str) {
    let name = format!("Name: {}", stack.container_name(role));
    assert!(
        body.starts_with(&name),
        "proxy {index}, {host}: expected {name}, got {body}"
    );
}

/// Requests `host` through every proxy of `stack` every `every` until `stop` says so:
/// each answer as (proxy, status), in order.
async fn poll(
    stack: &Stack,
    host: &str,
    every: Duration,
    mut stop: watch::Receiver<bool>,
) -> Vec<(usize, u16)> {
    let mut polled = Vec::new();
    loop {
        for index in 0..stack.proxy_count() {
            polled.push((index, stack.status(index, host).await));
        }
        tokio::select! {
            _ = stop.changed() => break,
            _ = tokio::time::sleep(every) => {}
        }
    }
    polled
}

/// The polled answers that were not 200.
fn failures(polled: &[(usize, u16)]) -> Vec<(usize, u16)> {
    polled.iter().copied().filter(|(_, s)| *s != 200).collect()
}

/// Ok when every polled answer to `host` was 200; else how many were not, `around` what,
/// and the first twenty (proxy, status).
fn all_served(polled: &[(usize, u16)], host: &str, around: &str) -> anyhow::Result<()> {
    let failed = failures(polled);
    anyhow::ensure!(
        failed.is_empty(),
        "{} of {} requests to {host} were not 200 around {around} (proxy, status): {:?}",
        failed.len(),
        polled.len(),
        &failed[..failed.len().min(20)]
    );
    Ok(())
}

/// A user who runs three proxy replicas, writes a route into the file provider's folder
/// and starts a labelled container sees both routes served by every replica, each by the
/// backend it names.
#[tokio::test]
async fn three_replicas_serve_file_and_docker_routes() -> anyhow::Result<()> {
    let builder = Stack::builder()
        .proxies(3)
        .file_provider()
        .docker_provider()
        .backend("files")
        .labelled_backend(
            "labelled",
            &[
                ("traefik.http.routers.x.rule", "Host(`x.test`)"),
                ("traefik.http.services.x.loadbalancer.server.port", "80"),
            ],
        );
    let Some(stack) = start_or_skip("three_replicas_serve_file_and_docker_routes", builder).await?
    else {
        return Ok(());
    };
    serve_route(&stack, "files", "files.test", "files").await?;
    served_everywhere(&stack, "x.test", Duration::from_secs(30)).await?;
    for index in 0..stack.proxy_count() {
        for (host, role) in [("files.test", "files"), ("x.test", "labelled")] {
            let reply = stack.get(index, host, "/").await?;
            assert_eq!(reply.status, 200, "proxy {index}, {host}: {}", reply.body);
            assert_served_by(&stack, index, host, &reply.body, role);
        }
        assert_eq!(
            stack.status(index, "nothing.test").await,
            404,
            "proxy {index}: an unknown host"
        );
    }
    Ok(())
}

/// A replica that crashes (SIGKILL) and is started again serves its routes from its very
/// first request: as soon as its `/ping` answers, requests are served, with no window of
/// 404s while it loads the configuration; the other replica serves throughout.
#[tokio::test]
async fn a_killed_replica_serves_at_once_when_restarted() -> anyhow::Result<()> {
    let builder = Stack::builder().proxies(2).file_provider().backend("app");
    let Some(stack) =
        start_or_skip("a_killed_replica_serves_at_once_when_restarted", builder).await?
    else {
        return Ok(());
    };
    serve_route(&stack, "app", "app.test", "app").await?;

    stack.kill(&proxy_role(1)).await?;
    assert_eq!(stack.status(1, "app.test").await, 0, "the killed replica");
    assert_eq!(stack.status(0, "app.test").await, 200, "the other replica");

    stack.start(&proxy_role(1)).await?;
    stack.wait_ping(1, Duration::from_secs(30)).await?;
    let pinged = std::time::Instant::now();
    let mut statuses = Vec::new();
    for _ in 0..5 {
        statuses.push(stack.status(1, "app.test").await);
    }
    let result = if statuses.iter().all(|s| *s == 200) {
        Ok(())
    } else {
        // How long the window lasts, for the report.
        let window = match eventually(Duration::from_secs(10), "app.test", || async {
            stack.status(1, "app.test").await == 200
        })
        .await
        {
            Ok(()) => format!("{:?} after /ping answered", pinged.elapsed()),
            Err(_) => "not within 10 s".to_owned(),
        };
        Err(anyhow::anyhow!(
            "first requests after /ping answered: {statuses:?} (expected all 200); \
             first 200 {window}"
        ))
    };
    stack.with_logs(result).await
}

/// NATS goes down for 10 s: every proxy keeps serving its routes throughout (not one
/// failed request), a route written to the file folder during the outage is not served yet
/// (nothing can carry it), and once NATS is back every proxy serves it.
#[tokio::test]
async fn proxies_serve_through_a_nats_outage_and_catch_up() -> anyhow::Result<()> {
    let builder = Stack::builder().proxies(2).file_provider().backend("app");
    let Some(stack) =
        start_or_skip("proxies_serve_through_a_nats_outage_and_catch_up", builder).await?
    else {
        return Ok(());
    };
    serve_route(&stack, "a", "a.test", "app").await?;

    let (stop_polling, stopped) = watch::channel(false);
    let poller = poll(&stack, "a.test", Duration::from_millis(20), stopped);
    let outage = async {
        stack.stop("nats", Duration::from_secs(2)).await?;
        let down = tokio::time::Instant::now();
        tokio::time::sleep(Duration::from_secs(2)).await;
        write_route(&stack, "b", "b.test", &[stack.backend_url("app")])?;
        tokio::time::sleep(Duration::from_secs(10).saturating_sub(down.elapsed())).await;
        let mut during = Vec::new();
        for index in 0..stack.proxy_count() {
            during.push(stack.status(index, "b.test").await);
        }
        stack.start("nats").await?;
        let caught_up = served_everywhere(&stack, "b.test", Duration::from_secs(30)).await;
        let _ = stop_polling.send(true);
        if let Err(error) = caught_up {
            return Err(error.context(bus_report(&stack, "file.http-routers.b").await));
        }
        anyhow::Ok(during)
    };
    let (polled, during) = tokio::join!(poller, outage);
    let during = during.map_err(|error| match all_served(&polled, "a.test", "the outage") {
        Ok(()) => error,
        Err(failed) => error.context(format!("meanwhile {failed}")),
    })?;
    assert!(
        during.iter().all(|s| *s == 404),
        "b.test during the outage (nothing can carry it yet): {during:?}"
    );
    assert!(polled.len() > 100, "only {} requests polled", polled.len());
    stack
        .with_logs(all_served(&polled, "a.test", "the outage"))
        .await
}

/// discovery-docker restarts (a deploy, a crash): the routes it published stay served
/// throughout, not one 404 while it stops, starts and publishes its state again.
#[tokio::test]
async fn restarting_discovery_docker_does_not_flap_routes() -> anyhow::Result<()> {
    let builder = Stack::builder()
        .proxies(1)
        .docker_provider()
        .labelled_backend(
            "web",
            &[("traefik.http.routers.web.rule", "Host(`web.test`)")],
        );
    let Some(stack) =
        start_or_skip("restarting_discovery_docker_does_not_flap_routes", builder).await?
    else {
        return Ok(());
    };
    served_everywhere(&stack, "web.test", Duration::from_secs(30)).await?;

    let (stop_polling, stopped) = watch::channel(false);
    let poller = poll(&stack, "web.test", Duration::from_millis(10), stopped);
    let restart = async {
        let before = bus_ready(&stack).await?;
        stack
            .restart("discovery-docker", Duration::from_secs(5))
            .await?;
        // Until the new run is connected and has sent its state, and 2 s more: the moments
        // a flap would happen.
        let republished = eventually(
            Duration::from_secs(30),
            "discovery-docker to reach the bus after its restart",
            || async { bus_ready(&stack).await.unwrap_or(0) > before },
        )
        .await;
        if republished.is_ok() {
            tokio::time::sleep(Duration::from_secs(2)).await;
        }
        let _ = stop_polling.send(true);
        republished
    };
    let (polled, restarted) = tokio::join!(poller, restart);
    stack.with_logs(restarted).await?;
    stack
        .with_logs(all_served(&polled, "web.test", "the restart"))
        .await
}

/// How many times discovery-docker has been ready to publish, over all its runs (its
/// log's "bus ready" lines; a run whose state is already on the bus publishes nothing).
async fn bus_ready(stack: &Stack) -> anyhow::Result<usize> {
    Ok(stack
        .logs("discovery-docker")
        .await?
        .matches("bus ready")
        .count())
}

/// A backend whose health check starts failing is left out: with the health service
/// checking `/health` every 500 ms, once one of two backends answers 500 every request is
/// served by the other one; when it is healthy again it gets traffic again.
#[tokio::test]
async fn an_unhealthy_backend_is_left_out_until_it_recovers() -> anyhow::Result<()> {
    let builder = Stack::builder()
        .proxies(1)
        .file_provider()
        .health()
        .backend("good")
        .backend("bad");
    let Some(stack) = start_or_skip(
        "an_unhealthy_backend_is_left_out_until_it_recovers",
        builder,
    )
    .await?
    else {
        return Ok(());
    };
    stack.write_file(
        "app.yml",
        &format!(
            "http:\n  routers:\n    app:\n      rule: \"Host(`app.test`)\"\n      service: app\n  services:\n    app:\n      loadBalancer:\n        healthCheck:\n          path: /health\n          interval: 500ms\n          timeout: 500ms\n        servers:\n          - url: \"{}\"\n          - url: \"{}\"\n",
            stack.backend_url("good"),
            stack.backend_url("bad")
        ),
    )?;
    let (good, bad) = (stack.container_name("good"), stack.container_name("bad"));
    let both = eventually(
        Duration::from_secs(30),
        "both backends to serve",
        || async {
            let seen = answers(&stack, 6).await;
            seen.contains(&good) && seen.contains(&bad)
        },
    )
    .await;
    stack.with_logs(both).await?;

    set_health(stack.backend_addr("bad")?, 500).await?;
    let left_out = eventually(
        Duration::from_secs(15),
        "the failing backend left out",
        || async { answers(&stack, 10).await == BTreeSet::from([good.clone()]) },
    )
    .await;
    stack.with_logs(left_out).await?;
    // Left out for good, not by chance: twenty more requests, all served by the healthy one.
    let seen = answers(&stack, 20).await;
    assert_eq!(
        seen,
        BTreeSet::from([good.clone()]),
        "while `bad` fails its check"
    );

    set_health(stack.backend_addr("bad")?, 200).await?;
    let back = eventually(
        Duration::from_secs(15),
        "the recovered backend back",
        || async { answers(&stack, 6).await.contains(&bad) },
    )
    .await;
    stack.with_logs(back).await
}

/// Who answered `count` requests to `app.test` (see [`answered_by`]).
async fn answers(stack: &Stack, count: usize) -> BTreeSet<String> {
    let mut seen = BTreeSet::new();
    for _ in 0..count {
        seen.insert(answered_by(&stack.get(0, "app.test", "/").await));
    }
    seen
}

/// What the bus holds for `key` in the configuration bucket, and each proxy's heartbeat:
/// tells a change that never reached NATS from one the proxies did not apply.
async fn bus_report(stack: &Stack, key: &str) -> String {
    let bus = match TestBus::connect(stack.nats_url()).await {
        Ok(bus) => bus,
        Err(error) => return format!("bus unreachable: {error:#}"),
    };
    let record = shown(bus.buckets.config.get(key).await);
    let mut report = format!("bus: {key} = {record}");
    for index in 0..stack.proxy_count() {
        let beat = shown(bus.buckets.proxies.get(proxy_role(index)).await);
        report.push_str(&format!("\nheartbeat {}: {beat}", proxy_role(index)));
    }
    report
}

/// A bucket entry as text: its value, `absent`, or the error reading it.
fn shown<E: std::fmt::Display>(entry: Result<Option<bytes::Bytes>, E>) -> String {
    match entry {
        Ok(Some(value)) => String::from_utf8_lossy(&value).into_owned(),
        Ok(None) => "absent".to_owned(),
        Err(error) => format!("error: {error}"),
    }
}

/// A user who runs the certificates service next to three replicas adds a router with
/// `tls.certResolver` to the file provider's folder: it gets a certificate from the ACME CA
/// (Pebble, validating for real, its DNS pointing every name at replica 0 only), and every
/// replica serves that certificate over HTTPS and forwards to the backend. One router per
/// challenge: HTTP-01 (Pebble asks replica 0's `web` :80) and TLS-ALPN-01 (replica 0's
/// `websecure` :443); replicas 1 and 2 never see a challenge, yet serve both certificates.
#[tokio::test]
async fn every_replica_serves_certificates_from_the_acme_ca() -> anyhow::Result<()> {
    let builder = Stack::builder()
        .proxies(3)
        .file_provider()
        .certificates()
        .backend("app");
    let Some(stack) = start_or_skip(
        "every_replica_serves_certificates_from_the_acme_ca",
        builder,
    )
    .await?
    else {
        return Ok(());
    };
    let written = std::time::Instant::now();
    let domains = [
        ("secure", "secure.test", edge::HTTP_RESOLVER),
        ("alpn", "alpn.test", edge::TLS_RESOLVER),
    ];
    let routers: String = domains
        .iter()
        .map(|(router, host, resolver)| {
            format!(
                "    {router}:\n      rule: \"Host(`{host}`)\"\n      service: app\n      entryPoints: [websecure]\n      tls:\n        certResolver: {resolver}\n"
            )
        })
        .collect();
    stack.write_file(
        "secure.yml",
        &format!(
            "http:\n  routers:\n{routers}  services:\n    app:\n      loadBalancer:\n        servers:\n          - url: \"{}\"\n",
            stack.backend_url("app")
        ),
    )?;
    // Only Pebble's root is trusted: a handshake succeeds only with a leaf for the name
    // that chains to it.
    let roots = stack.acme_roots().await?;
    for (_, host, _) in domains {
        let mut leaves = BTreeSet::new();
        for index in 0..stack.proxy_count() {
            let served = https_served(stack.websecure(index)?, host, &roots).await;
            let reply = stack
                .with_logs(served.map_err(|e| e.context(format!("proxy {index}"))))
                .await?;
            assert_served_by(&stack, index, host, &reply.body, "app");
            leaves.insert(reply.chain.first().map(|c| c.to_vec()).unwrap_or_default());
        }
        assert_eq!(
            leaves.len(),
            1,
            "{host}: every replica serves the one certificate the CA issued"
        );
    }
    // The validation was real and reached replica 0 only (the access logs show Pebble's
    // HTTP-01 requests): the other replicas got the certificates from the bus alone.
    for index in 0..stack.proxy_count() {
        let asked = stack
            .logs(&proxy_role(index))
            .await?
            .matches("GET /.well-known/acme-challenge/")
            .count();
        assert_eq!(
            asked > 0,
            index == 0,
            "proxy {index} answered {asked} HTTP-01 requests"
        );
    }
    eprintln!(
        "both certificates issued and served by {} replicas {:?} after the file was written",
        stack.proxy_count(),
        written.elapsed()
    );
    Ok(())
}

/// Polls `GET /` over HTTPS with SNI `host` on `addr`, trusting only `roots`, until it
/// answers 200 (60 s at most); the error says what the last attempt got.
async fn https_served(
    addr: std::net::SocketAddr,
    host: &str,
    roots: &rustls::RootCertStore,
) -> anyhow::Result<pebble::HttpsReply> {
    let deadline = tokio::time::Instant::now() + Duration::from_secs(60);
    loop {
        let last = match pebble::https_get(addr, host, "/", roots).await {
            Ok(reply) if reply.status == 200 => return Ok(reply),
            Ok(reply) => format!("status {}: {}", reply.status, reply.body),
            Err(error) => format!("{error:#}"),
        };
        if tokio::time::Instant::now() > deadline {
            anyhow::bail!("{host} not served over HTTPS on {addr} within 60 s; last: {last}");
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}
