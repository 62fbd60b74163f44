use std::io::{self, Write};
use std::sync::Mutex;
use std::time::Duration;

use actix_web::body::{BodySize, MessageBody};
use actix_web::http::Version;
use actix_web::http::header::{HeaderName, HeaderValue};

use super::*;
use crate::config::AccessLogFormat;

/// 2009-11-10T23:00:00Z.
const T0: u64 = 1_257_894_000_000_000_000;

fn fixture(log: Option<AccessLogger>) -> (Arc<Metrics>, Arc<ManualClock>) {
    let clock = Arc::new(ManualClock::at_unix_nanos(T0));
    (Metrics::with_clock("traefik", log, clock.clone()), clock)
}

/// The lines of `text` whose metric name is `name` (exactly, before labels or value).
fn samples<'a>(text: &'a str, name: &str) -> Vec<&'a str> {
    text.lines()
        .filter(|l| !l.starts_with('#'))
        .filter(|l| l.split(['{', ' ']).next() == Some(name))
        .collect()
}

#[test]
fn a_sequence_of_requests_renders_traefik_series() {
    let (metrics, clock) = fixture(None);
    let web = metrics.entrypoint("web");
    let route = metrics.route("api@docker", "api@docker");

    let mut obs = web.start(&Method::GET, Protocol::Http);
    obs.routed(&route);
    clock.advance(Duration::from_millis(50));
    obs.finish(200, 10, 100);

    let mut obs = web.start(&Method::GET, Protocol::Http);
    obs.routed(&route);
    clock.advance(Duration::from_millis(250));
    obs.finish(200, 0, 50);

    let obs = web.start(&Method::from_bytes(b"PURGE").unwrap(), Protocol::Http);
    clock.advance(Duration::from_secs(2));
    obs.finish(404, 0, 19);

    let mut obs = web.start(&Method::POST, Protocol::Websocket);
    obs.routed(&route);
    clock.advance(Duration::from_secs(7));
    drop(obs);

    metrics.config_reloaded(true);
    clock.advance(Duration::from_secs(60));
    metrics.config_reloaded(false);
    metrics.set_server_up("api@docker", "http://10.0.0.2:80", true);
    metrics.set_server_up("api@docker", "http://10.0.0.3:80", false);
    metrics.set_cert_not_after(
        "example.com",
        "12345",
        &["www.example.com".into(), "example.com".into()],
        1_900_000_000,
    );
    let _conn = web.connection_opened();
    let _other = metrics.connection_opened("web", "UDP");

    let expected = r#"# HELP traefik_config_last_reload_success Last config reload success
# TYPE traefik_config_last_reload_success gauge
traefik_config_last_reload_success 1257894009
# HELP traefik_config_reloads_total Config reloads
# TYPE traefik_config_reloads_total counter
traefik_config_reloads_total 2
# HELP traefik_entrypoint_request_duration_seconds How long it took to process the request on an entrypoint, partitioned by status code, protocol, and method.
# TYPE traefik_entrypoint_request_duration_seconds histogram
traefik_entrypoint_request_duration_seconds_bucket{code="200",entrypoint="web",method="GET",protocol="http",le="0.1"} 1
traefik_entrypoint_request_duration_seconds_bucket{code="200",entrypoint="web",method="GET",protocol="http",le="0.3"} 2
traefik_entrypoint_request_duration_seconds_bucket{code="200",entrypoint="web",method="GET",protocol="http",le="1.2"} 2
traefik_entrypoint_request_duration_seconds_bucket{code="200",entrypoint="web",method="GET",protocol="http",le="5"} 2
traefik_entrypoint_request_duration_seconds_bucket{code="200",entrypoint="web",method="GET",protocol="http",le="+Inf"} 2
traefik_entrypoint_request_duration_seconds_sum{code="200",entrypoint="web",method="GET",protocol="http"} 0.3
traefik_entrypoint_request_duration_seconds_count{code="200",entrypoint="web",method="GET",protocol="http"} 2
traefik_entrypoint_request_duration_seconds_bucket{code="404",entrypoint="web",method="EXTENSION_METHOD",protocol="http",le="0.1"} 0
traefik_entrypoint_request_duration_seconds_bucket{code="404",entrypoint="web",method="EXTENSION_METHOD",protocol="http",le="0.3"} 0
traefik_entrypoint_request_duration_seconds_bucket{code="404",entrypoint="web",method="EXTENSION_METHOD",protocol="http",le="1.2"} 0
traefik_entrypoint_request_duration_seconds_bucket{code="404",entrypoint="web",method="EXTENSION_METHOD",protocol="http",le="5"} 1
traefik_entrypoint_request_duration_seconds_bucket{code="404",entrypoint="web",method="EXTENSION_METHOD",protocol="http",le="+Inf"} 1
traefik_entrypoint_request_duration_seconds_sum{code="404",entrypoint="web",method="EXTENSION_METHOD",protocol="http"} 2.0
traefik_entrypoint_request_duration_seconds_count{code="404",entrypoint="web",method="EXTENSION_METHOD",protocol="http"} 1
traefik_entrypoint_request_duration_seconds_bucket{code="499",entrypoint="web",method="POST",protocol="websocket",le="0.1"} 0
traefik_entrypoint_request_duration_seconds_bucket{code="499",entrypoint="web",method="POST",protocol="websocket",le="0.3"} 0
traefik_entrypoint_request_duration_seconds_bucket{code="499",entrypoint="web",method="POST",protocol="websocket",le="1.2"} 0
traefik_entrypoint_request_duration_seconds_bucket{code="499",entrypoint="web",method="POST",protocol="websocket",le="5"} 0
traefik_entrypoint_request_duration_seconds_bucket{code="499",entrypoint="web",method="POST",protocol="websocket",le="+Inf"} 1
traefik_entrypoint_request_duration_seconds_sum{code="499",entrypoint="web",method="POST",protocol="websocket"} 7.0
traefik_entrypoint_request_duration_seconds_count{code="499",entrypoint="web",method="POST",protocol="websocket"} 1
# HELP traefik_entrypoint_requests_bytes_total The total size of requests in bytes handled by an entrypoint, partitioned by status code, protocol, and method.
# TYPE traefik_entrypoint_requests_bytes_total counter
traefik_entrypoint_requests_bytes_total{code="200",entrypoint="web",method="GET",protocol="http"} 10
traefik_entrypoint_requests_bytes_total{code="404",entrypoint="web",method="EXTENSION_METHOD",protocol="http"} 0
traefik_entrypoint_requests_bytes_total{code="499",entrypoint="web",method="POST",protocol="websocket"} 0
# HELP traefik_entrypoint_requests_total How many HTTP requests processed on an entrypoint, partitioned by status code, protocol, and method.
# TYPE traefik_entrypoint_requests_total counter
traefik_entrypoint_requests_total{code="200",entrypoint="web",method="GET",protocol="http"} 2
traefik_entrypoint_requests_total{code="404",entrypoint="web",method="EXTENSION_METHOD",protocol="http"} 1
traefik_entrypoint_requests_total{code="499",entrypoint="web",method="POST",protocol="websocket"} 1
# HELP traefik_entrypoint_responses_bytes_total The total size of responses in bytes handled by an entrypoint, partitioned by status code, protocol, and method.
# TYPE traefik_entrypoint_responses_bytes_total counter
traefik_entrypoint_responses_bytes_total{code="200",entrypoint="web",method="GET",protocol="http"} 150
traefik_entrypoint_responses_bytes_total{code="404",entrypoint="web",method="EXTENSION_METHOD",protocol="http"} 19
traefik_entrypoint_responses_bytes_total{code="499",entrypoint="web",method="POST",protocol="websocket"} 0
# HELP traefik_open_connections How many open connections exist, by entryPoint and protocol
# TYPE traefik_open_connections gauge
traefik_open_connections{entrypoint="web",protocol="TCP"} 1
traefik_open_connections{entrypoint="web",protocol="UDP"} 1
"#;
    let text = metrics.render();
    assert!(text.starts_with(expected), "got:\n{text}");

    // The router and service levels carry the same numbers for the routed requests only.
    assert_eq!(
        samples(&text, "traefik_router_requests_total"),
        vec![
            r#"traefik_router_requests_total{code="200",method="GET",protocol="http",router="api@docker",service="api@docker"} 2"#,
            r#"traefik_router_requests_total{code="499",method="POST",protocol="websocket",router="api@docker",service="api@docker"} 1"#,
        ]
    );
    assert_eq!(
        samples(&text, "traefik_service_requests_total"),
        vec![
            r#"traefik_service_requests_total{code="200",method="GET",protocol="http",service="api@docker"} 2"#,
            r#"traefik_service_requests_total{code="499",method="POST",protocol="websocket",service="api@docker"} 1"#,
        ]
    );
    assert_eq!(
        samples(&text, "traefik_router_request_duration_seconds_bucket")[..2],
        [
            r#"traefik_router_request_duration_seconds_bucket{code="200",method="GET",protocol="http",router="api@docker",service="api@docker",le="0.1"} 1"#,
            r#"traefik_router_request_duration_seconds_bucket{code="200",method="GET",protocol="http",router="api@docker",service="api@docker",le="0.3"} 2"#,
        ]
    );
    assert_eq!(
        samples(&text, "traefik_service_requests_bytes_total"),
        vec![
            r#"traefik_service_requests_bytes_total{code="200",method="GET",protocol="http",service="api@docker"} 10"#,
            r#"traefik_service_requests_bytes_total{code="499",method="POST",protocol="websocket",service="api@docker"} 0"#,
        ]
    );
    assert_eq!(
        samples(&text, "traefik_router_responses_bytes_total"),
        vec![
            r#"traefik_router_responses_bytes_total{code="200",method="GET",protocol="http",router="api@docker",service="api@docker"} 150"#,
            r#"traefik_router_responses_bytes_total{code="499",method="POST",protocol="websocket",router="api@docker",service="api@docker"} 0"#,
        ]
    );
    assert_eq!(
        samples(&text, "traefik_service_server_up"),
        vec![
            r#"traefik_service_server_up{service="api@docker",url="http://10.0.0.2:80"} 1"#,
            r#"traefik_service_server_up{service="api@docker",url="http://10.0.0.3:80"} 0"#,
        ]
    );
    assert_eq!(
        samples(&text, "traefik_tls_certs_not_after"),
        vec![
            r#"traefik_tls_certs_not_after{cn="example.com",sans="example.com,www.example.com",serial="12345"} 1900000000"#
        ]
    );
    // Families come sorted by name, as Go's registry writes them.
    let families: Vec<&str> = text
        .lines()
        .filter_map(|l| l.strip_prefix("# TYPE "))
        .map(|l| l.split(' ').next().unwrap_or(""))
        .collect();
    let mut sorted = families.clone();
    sorted.sort_unstable();
    assert_eq!(families, sorted);
    assert_eq!(families.len(), 17, "{families:?}");
}

#[test]
fn an_idle_registry_shows_only_the_global_metrics() {
    let (metrics, _) = fixture(None);
    assert_eq!(
        metrics.render(),
        "# HELP traefik_config_last_reload_success Last config reload success\n\
         # TYPE traefik_config_last_reload_success gauge\n\
         traefik_config_last_reload_success 0\n\
         # HELP traefik_config_reloads_total Config reloads\n\
         # TYPE traefik_config_reloads_total counter\n\
         traefik_config_reloads_total 0\n"
    );
}

#[test]
fn the_prefix_is_configurable_and_sanitised() {
    let cases = [
        ("traefik", "traefik_config_reloads_total 0"),
        ("switchyard", "switchyard_config_reloads_total 0"),
        ("", "config_reloads_total 0"),
        ("my-proxy.1", "my_proxy_1_config_reloads_total 0"),
        ("1st", "_1st_config_reloads_total 0"),
    ];
    for (prefix, line) in cases {
        let text = Metrics::new(prefix).render();
        assert!(text.lines().any(|l| l == line), "{prefix:?}: {text}");
    }
}

#[test]
fn label_values_are_escaped() {
    let (metrics, _) = fixture(None);
    let route = metrics.route("we\"ird\\router", "svc\nline");
    let mut obs = metrics
        .entrypoint("web")
        .start(&Method::GET, Protocol::Http);
    obs.routed(&route);
    obs.finish(200, 0, 0);
    let text = metrics.render();
    assert!(
        text.contains(r#"traefik_router_requests_total{code="200",method="GET",protocol="http",router="we\"ird\\router",service="svc\nline"} 1"#),
        "{text}"
    );
}

#[test]
fn an_unfinished_request_is_recorded_as_client_closed() {
    let (metrics, clock) = fixture(None);
    let obs = metrics
        .entrypoint("web")
        .start(&Method::GET, Protocol::Http);
    clock.advance(Duration::from_millis(20));
    drop(obs);
    assert_eq!(
        samples(&metrics.render(), "traefik_entrypoint_requests_total"),
        vec![
            r#"traefik_entrypoint_requests_total{code="499",entrypoint="web",method="GET",protocol="http"} 1"#
        ]
    );
}

#[test]
fn series_leave_the_output_with_their_last_handle() {
    let (metrics, _) = fixture(None);
    let route = metrics.route("old@file", "old@file");
    let again = metrics.route("old@file", "old@file");
    let mut obs = metrics
        .entrypoint("web")
        .start(&Method::GET, Protocol::Http);
    obs.routed(&route);
    obs.finish(200, 0, 0);
    drop(route);
    // A second handle of the same router shares its counters and keeps them alive.
    assert_eq!(
        samples(&metrics.render(), "traefik_router_requests_total").len(),
        1
    );
    drop(again);
    assert!(samples(&metrics.render(), "traefik_router_requests_total").is_empty());
    assert!(samples(&metrics.render(), "traefik_service_requests_total").is_empty());
    // Entrypoints are static: theirs stay.
    assert_eq!(
        samples(&metrics.render(), "traefik_entrypoint_requests_total").len(),
        1
    );
}

#[test]
fn servers_and_certificates_can_be_forgotten() {
    let (metrics, _) = fixture(None);
    metrics.set_server_up("a@file", "http://1", true);
    metrics.set_server_up("b@file", "http://2", true);
    metrics.retain_servers(|service, _| service == "b@file");
    metrics.set_cert_not_after("x", "1", &[], 5);
    metrics.clear_certs();
    let text = metrics.render();
    assert_eq!(
        samples(&text, "traefik_service_server_up"),
        vec![r#"traefik_service_server_up{service="b@file",url="http://2"} 1"#]
    );
    assert!(samples(&text, "traefik_tls_certs_not_after").is_empty());
}

#[test]
fn connection_guards_decrement() {
    let (metrics, _) = fixture(None);
    let web = metrics.entrypoint("web");
    let a = web.connection_opened();
    let b = metrics.connection_opened("web", "TCP");
    assert_eq!(
        samples(&metrics.render(), "traefik_open_connections"),
        vec![r#"traefik_open_connections{entrypoint="web",protocol="TCP"} 2"#]
    );
    drop((a, b));
    assert_eq!(
        samples(&metrics.render(), "traefik_open_connections"),
        vec![r#"traefik_open_connections{entrypoint="web",protocol="TCP"} 0"#]
    );
}

/// Header name and value pairs of a test case.
type Pairs = &'static [(&'static str, &'static str)];

fn headers(pairs: Pairs) -> HeaderMap {
    let mut map = HeaderMap::new();
    for (name, value) in pairs {
        if let (Ok(n), Ok(v)) = (
            HeaderName::from_bytes(name.as_bytes()),
            HeaderValue::from_str(value),
        ) {
            map.append(n, v);
        }
    }
    map
}

#[test]
fn protocols_are_detected_like_traefik() {
    let cases: [(&str, Pairs, Protocol); 9] = [
        ("plain", &[], Protocol::Http),
        (
            "websocket",
            &[
                ("connection", "keep-alive, Upgrade"),
                ("upgrade", "WebSocket"),
            ],
            Protocol::Websocket,
        ),
        (
            "upgrade without connection",
            &[("upgrade", "websocket")],
            Protocol::Http,
        ),
        (
            "h2c upgrade is not websocket",
            &[("connection", "upgrade"), ("upgrade", "h2c")],
            Protocol::Http,
        ),
        (
            "sse",
            &[("accept", "text/html, text/event-stream")],
            Protocol::Sse,
        ),
        (
            "grpc",
            &[("content-type", "application/grpc+proto")],
            Protocol::Grpc,
        ),
        (
            "grpc-web",
            &[("content-type", "application/grpc-web-text")],
            Protocol::GrpcWeb,
        ),
        (
            "json is http",
            &[("content-type", "application/json")],
            Protocol::Http,
        ),
        (
            "websocket wins over sse",
            &[
                ("connection", "upgrade"),
                ("upgrade", "websocket"),
                ("accept", "text/event-stream"),
            ],
            Protocol::Websocket,
        ),
    ];
    for (case, pairs, expected) in cases {
        assert_eq!(Protocol::detect(&headers(pairs)), expected, "{case}");
    }
    let labels: Vec<&str> = [
        Protocol::Http,
        Protocol::Sse,
        Protocol::Websocket,
        Protocol::Grpc,
        Protocol::GrpcWeb,
    ]
    .map(|p| series::PROTOCOLS[p.index()])
    .to_vec();
    assert_eq!(labels, ["http", "sse", "websocket", "grpc", "grpc-web"]);
}

#[test]
fn grpc_status_codes() {
    let cases: [(&str, Pairs, u16); 5] = [
        ("absent is Unknown", &[], 2),
        ("ok", &[("grpc-status", "0")], 0),
        ("not found", &[("grpc-status", "5")], 5),
        ("out of range is Unknown", &[("grpc-status", "17")], 2),
        ("garbage is Unknown", &[("grpc-status", "OK")], 2),
    ];
    for (case, pairs, expected) in cases {
        assert_eq!(grpc_status(&headers(pairs)), expected, "{case}");
    }
}

#[actix_web::test]
async fn a_wrapped_response_finishes_when_its_body_is_sent() {
    let (metrics, clock) = fixture(None);
    let obs = metrics
        .entrypoint("web")
        .start(&Method::GET, Protocol::Http);
    let response = obs.wrap(HttpResponse::Ok().body("hello world"));
    // Nothing is recorded until the body is consumed.
    assert!(samples(&metrics.render(), "traefik_entrypoint_requests_total").is_empty());
    assert_eq!(response.body().size(), BodySize::Sized(11));
    clock.advance(Duration::from_millis(400));
    let bytes = actix_web::body::to_bytes(response.into_body())
        .await
        .unwrap_or_default();
    assert_eq!(&bytes[..], b"hello world");
    let text = metrics.render();
    assert_eq!(
        samples(&text, "traefik_entrypoint_responses_bytes_total"),
        vec![
            r#"traefik_entrypoint_responses_bytes_total{code="200",entrypoint="web",method="GET",protocol="http"} 11"#
        ]
    );
    assert!(text.contains(r#"traefik_entrypoint_request_duration_seconds_sum{code="200",entrypoint="web",method="GET",protocol="http"} 0.4"#), "{text}");
}

#[actix_web::test]
async fn a_body_dropped_midway_keeps_its_status_and_bytes_so_far() {
    let (metrics, _) = fixture(None);
    let obs = metrics
        .entrypoint("web")
        .start(&Method::GET, Protocol::Http);
    let chunks = futures::stream::iter(vec![
        Ok::<_, std::io::Error>(bytes::Bytes::from_static(b"abc")),
        Ok(bytes::Bytes::from_static(b"defg")),
    ]);
    let response = obs.wrap(HttpResponse::Ok().streaming(chunks));
    let mut body = response.into_body();
    let first = futures::future::poll_fn(|cx| std::pin::Pin::new(&mut body).poll_next(cx)).await;
    assert!(matches!(first, Some(Ok(ref b)) if &b[..] == b"abc"));
    drop(body);
    assert_eq!(
        samples(
            &metrics.render(),
            "traefik_entrypoint_responses_bytes_total"
        ),
        vec![
            r#"traefik_entrypoint_responses_bytes_total{code="200",entrypoint="web",method="GET",protocol="http"} 3"#
        ]
    );
}

#[actix_web::test]
async fn grpc_responses_are_counted_by_grpc_status() {
    let (metrics, _) = fixture(None);
    let obs = metrics
        .entrypoint("web")
        .start(&Method::POST, Protocol::Grpc);
    let response = obs.wrap(
        HttpResponse::Ok()
            .insert_header(("grpc-status", "14"))
            .finish(),
    );
    drop(response);
    assert_eq!(
        samples(&metrics.render(), "traefik_entrypoint_requests_total"),
        vec![
            r#"traefik_entrypoint_requests_total{code="14",entrypoint="web",method="POST",protocol="grpc"} 1"#
        ]
    );
}

#[actix_web::test]
async fn request_bodies_are_counted_as_they_are_read() {
    let (metrics, _) = fixture(None);
    let mut obs = metrics
        .entrypoint("web")
        .start(&Method::POST, Protocol::Http);
    let payload = obs.count_request_body(Payload::from(bytes::Bytes::from_static(b"0123456789")));
    assert!(matches!(
        obs.count_request_body(Payload::None),
        Payload::None
    ));
    let read = futures::StreamExt::fold(payload, 0usize, |n, chunk| async move {
        n + chunk.map_or(0, |c| c.len())
    })
    .await;
    assert_eq!(read, 10);
    obs.finish(201, 5, 0);
    assert_eq!(
        samples(&metrics.render(), "traefik_entrypoint_requests_bytes_total"),
        vec![
            r#"traefik_entrypoint_requests_bytes_total{code="201",entrypoint="web",method="POST",protocol="http"} 15"#
        ]
    );
}

/// A sink whose writes land in a shared buffer.
#[derive(Clone, Default)]
struct Captured(Arc<Mutex<Vec<u8>>>);

impl Write for Captured {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        self.0.lock().unwrap().extend_from_slice(buf);
        Ok(buf.len())
    }
    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}

impl Captured {
    fn wait_lines(&self, n: usize) -> Vec<String> {
        for _ in 0..500 {
            let text = String::from_utf8_lossy(&self.0.lock().unwrap()).into_owned();
            if text.lines().count() >= n {
                return text.lines().map(str::to_owned).collect();
            }
            std::thread::sleep(Duration::from_millis(10));
        }
        String::from_utf8_lossy(&self.0.lock().unwrap())
            .lines()
            .map(str::to_owned)
            .collect()
    }
}

fn request<'a>() -> LogRequest<'a> {
    LogRequest {
        peer: "192.0.2.10:40000".parse().unwrap(),
        forwarded_for: None,
        host: "app.example.com",
        method: "GET",
        path: "/api/items?page=2",
        version: Version::HTTP_11,
        tls: false,
        referer: Some("https://app.example.com/"),
        user_agent: Some("curl/8.5.0"),
    }
}

#[test]
fn finish_writes_a_common_line() {
    let sink = Captured::default();
    let logger =
        AccessLogger::to_writer(AccessLogFormat::Common, Box::new(sink.clone()), 64).unwrap();
    let (metrics, clock) = fixture(Some(logger));
    assert!(metrics.logs_access());
    let web = metrics.entrypoint("web");
    let route = metrics.route("app@docker", "app@docker");

    let mut obs = web.start(&Method::GET, Protocol::Http);
    obs.log_request(&request());
    obs.routed(&route);
    let notes = obs.notes();
    clock.advance(Duration::from_millis(3));
    notes.forwarded_to("http://172.17.0.2:80", "172.17.0.2:80");
    notes.user("alice");
    clock.advance(Duration::from_millis(40));
    obs.finish(200, 0, 1234);

    let mut obs = web.start(&Method::GET, Protocol::Http);
    obs.log_request(&LogRequest {
        forwarded_for: Some("203.0.113.7"),
        path: "/missing",
        ..request()
    });
    clock.advance(Duration::from_micros(700));
    obs.finish(404, 0, 19);

    let obs = web.start(&Method::POST, Protocol::Http);
    drop(obs);

    assert_eq!(
        sink.wait_lines(3),
        vec![
            r#"192.0.2.10 - alice [10/Nov/2009:23:00:00 +0000] "GET /api/items?page=2 HTTP/1.1" 200 1234 "-" "-" 1 "app@docker" "http://172.17.0.2:80" 43ms"#,
            r#"203.0.113.7 - - [10/Nov/2009:23:00:00 +0000] "GET /missing HTTP/1.1" 404 19 "-" "-" 2 "-" "-" 0ms"#,
            // No request details were given: only what the guard itself knows.
            r#"- - - [10/Nov/2009:23:00:00 +0000] "POST - HTTP/1.1" 499 0 "-" "-" 3 "-" "-" 0ms"#,
        ]
    );
}

#[test]
fn finish_writes_a_json_line_with_kept_headers() {
    let sink = Captured::default();
    let logger = AccessLogger::to_writer(AccessLogFormat::Json, Box::new(sink.clone()), 64)
        .unwrap()
        .keep_request_headers(true);
    let (metrics, clock) = fixture(Some(logger));
    let route = metrics.route("app@docker", "app@docker");
    let mut obs = metrics
        .entrypoint("websecure")
        .start(&Method::GET, Protocol::Http);
    obs.log_request(&LogRequest {
        tls: true,
        version: Version::HTTP_2,
        ..request()
    });
    obs.routed(&route);
    let notes = obs.notes();
    clock.advance(Duration::from_millis(1));
    notes.forwarded_to("http://172.17.0.2:80", "172.17.0.2:80");
    clock.advance(Duration::from_millis(9));
    obs.finish(200, 0, 1234);

    let lines = sink.wait_lines(1);
    assert_eq!(lines.len(), 1);
    let line: serde_json::Value = serde_json::from_str(&lines[0]).unwrap();
    let expected = serde_json::json!({
        "ClientAddr": "192.0.2.10:40000",
        "ClientHost": "192.0.2.10",
        "ClientPort": "40000",
        "ClientUsername": "-",
        "DownstreamContentSize": 1234,
        "DownstreamStatus": 200,
        "Duration": 10_000_000,
        "OriginContentSize": 1234,
        "OriginDuration": 9_000_000,
        "OriginStatus": 200,
        "Overhead": 1_000_000,
        "RequestAddr": "app.example.com",
        "RequestContentSize": 0,
        "RequestCount": 1,
        "RequestHost": "app.example.com",
        "RequestMethod": "GET",
        "RequestPath": "/api/items?page=2",
        "RequestPort": "-",
        "RequestProtocol": "HTTP/2.0",
        "RequestScheme": "https",
        "RetryAttempts": 0,
        "RouterName": "app@docker",
        "ServiceAddr": "172.17.0.2:80",
        "ServiceName": "app@docker",
        "ServiceURL": "http://172.17.0.2:80",
        "StartLocal": "2009-11-10T23:00:00Z",
        "StartUTC": "2009-11-10T23:00:00Z",
        "entryPointName": "websecure",
        "level": "info",
        "msg": "",
        "request_Referer": "https://app.example.com/",
        "request_User-Agent": "curl/8.5.0",
        "time": "2009-11-10T23:00:00Z",
    });
    assert_eq!(line, expected);
}

#[test]
fn without_access_log_notes_are_inert_and_nothing_is_counted() {
    let (metrics, _) = fixture(None);
    assert!(!metrics.logs_access());
    let mut obs = metrics
        .entrypoint("web")
        .start(&Method::GET, Protocol::Http);
    obs.log_request(&request());
    let notes = obs.notes();
    notes.forwarded_to("http://x", "x");
    assert_eq!(format!("{notes:?}"), "RequestNotes(off)");
    obs.finish(200, 0, 0);
    assert!(!metrics.render().contains("accesslog_dropped_lines_total"));
}

#[test]
fn dropped_access_log_lines_are_a_metric() {
    /// A sink that announces each write and then waits to be released, so the queue fills.
    struct Stuck {
        entered: std::sync::mpsc::Sender<()>,
        release: std::sync::mpsc::Receiver<()>,
    }
    impl Write for Stuck {
        fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
            let _ = self.entered.send(());
            let _ = self.release.recv();
            Ok(buf.len())
        }
        fn flush(&mut self) -> io::Result<()> {
            Ok(())
        }
    }
    let (entered_tx, entered) = std::sync::mpsc::channel();
    let (release, release_rx) = std::sync::mpsc::channel();
    let logger = AccessLogger::to_writer(
        AccessLogFormat::Common,
        Box::new(Stuck {
            entered: entered_tx,
            release: release_rx,
        }),
        1,
    )
    .unwrap();
    let (metrics, _) = fixture(Some(logger));
    let web = metrics.entrypoint("web");
    web.start(&Method::GET, Protocol::Http).finish(200, 0, 0);
    // The writer holds line 1 in a blocked write; one more line fits the queue.
    entered.recv().unwrap();
    for _ in 0..50 {
        web.start(&Method::GET, Protocol::Http).finish(200, 0, 0);
    }
    assert_eq!(
        samples(&metrics.render(), "traefik_accesslog_dropped_lines_total"),
        vec!["traefik_accesslog_dropped_lines_total 49"]
    );
    drop(release);
}

/// Timing of the request hot path against the obvious `prometheus-client` `Family` design,
/// with a breakdown of where our time goes. Run with
/// `cargo test -p switchyard-proxy --release -- --ignored --nocapture hot_path`.
#[test]
#[ignore = "micro-benchmark"]
fn hot_path_benchmark() {
    use prometheus_client::encoding::EncodeLabelSet;
    use prometheus_client::metrics::counter::Counter;
    use prometheus_client::metrics::family::Family;
    use prometheus_client::metrics::histogram::Histogram;

    // Short runs, many of them: on a busy machine the best one ran without being preempted.
    const N: u64 = 20_000;
    const RUNS: usize = 50;

    /// Best of `RUNS` runs of `N` iterations on each of `threads` threads: wall ns per
    /// iteration per thread.
    fn best(threads: usize, body: &(dyn Fn(u64) + Sync)) -> f64 {
        (0..RUNS)
            .map(|_| {
                let started = Instant::now();
                std::thread::scope(|s| {
                    for _ in 0..threads {
                        s.spawn(|| {
                            for i in 0..N {
                                body(std::hint::black_box(i));
                            }
                        });
                    }
                });
                started.elapsed().as_nanos() as f64 / N as f64
            })
            .fold(f64::INFINITY, f64::min)
    }

    #[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
    struct EpLabels {
        code: u16,
        method: String,
        protocol: &'static str,
        entrypoint: String,
    }
    #[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
    struct RouterLabels {
        code: u16,
        method: String,
        protocol: &'static str,
        router: String,
        service: String,
    }
    #[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
    struct ServiceLabels {
        code: u16,
        method: String,
        protocol: &'static str,
        service: String,
    }
    fn histogram() -> Histogram {
        Histogram::new(series::BUCKETS)
    }

    let metrics = Metrics::new("traefik");
    let web = metrics.entrypoint("web");
    let route = metrics.route("api@docker", "api@docker");
    let code = |i: u64| if i.is_multiple_of(16) { 404 } else { 200 };
    let full = |i: u64| {
        let mut obs = web.start(&Method::GET, Protocol::Http);
        obs.routed(&route);
        obs.finish(code(i), 0, 512);
    };
    let clock_only = |_: u64| {
        let t = Instant::now();
        std::hint::black_box(Instant::now().saturating_duration_since(t));
    };
    let cells = Series::default();
    let cells_only = |i: u64| {
        let key = Key {
            protocol: 0,
            method: 0,
            code: code(i),
        };
        for _ in 0..3 {
            cells.record(key, 1_000_000, 0, 512);
        }
    };
    let (ep_c, ep_h, ep_b) = (
        Family::<EpLabels, Counter>::default(),
        Family::<EpLabels, Histogram>::new_with_constructor(histogram),
        Family::<EpLabels, Counter>::default(),
    );
    let (r_c, r_h, r_b) = (
        Family::<RouterLabels, Counter>::default(),
        Family::<RouterLabels, Histogram>::new_with_constructor(histogram),
        Family::<RouterLabels, Counter>::default(),
    );
    let (s_c, s_h, s_b) = (
        Family::<ServiceLabels, Counter>::default(),
        Family::<ServiceLabels, Histogram>::new_with_constructor(histogram),
        Family::<ServiceLabels, Counter>::default(),
    );
    let families = |i: u64| {
        let t = Instant::now();
        let secs = t.elapsed().as_secs_f64();
        let ep = EpLabels {
            code: code(i),
            method: "GET".into(),
            protocol: "http",
            entrypoint: "web".into(),
        };
        ep_c.get_or_create(&ep).inc();
        ep_h.get_or_create(&ep).observe(secs);
        ep_b.get_or_create(&ep).inc_by(512);
        let r = RouterLabels {
            code: code(i),
            method: "GET".into(),
            protocol: "http",
            router: "api@docker".into(),
            service: "api@docker".into(),
        };
        r_c.get_or_create(&r).inc();
        r_h.get_or_create(&r).observe(secs);
        r_b.get_or_create(&r).inc_by(512);
        let sv = ServiceLabels {
            code: code(i),
            method: "GET".into(),
            protocol: "http",
            service: "api@docker".into(),
        };
        s_c.get_or_create(&sv).inc();
        s_h.get_or_create(&sv).observe(secs);
        s_b.get_or_create(&sv).inc_by(512);
    };
    for threads in [1, 2] {
        println!(
            "threads={threads}: full guard {:.1} ns | of which clock reads {:.1} ns, cell updates (3 series) {:.1} ns | Family lookups {:.1} ns",
            best(threads, &full),
            best(threads, &clock_only),
            best(threads, &cells_only),
            best(threads, &families),
        );
    }
}
