//! A small backend that answers with what it received and who it is, in the manner of
//! Traefik's `whoami`. It is the demo backend of `just up` and the backend of the tests.
//!
//! - any path: the request as text (`Name`, `Hostname`, `RemoteAddr`, request line, headers);
//! - `/api`: the same as JSON;
//! - `/health`: the current health status; `POST /health` with a status code in the body sets it;
//! - `/ws`: WebSocket echo;
//! - `/sse?count=N&interval_ms=M`: N server-sent events, M ms apart;
//! - `/stream?count=N&interval_ms=M`: N chunked lines, M ms apart (an h2c/h1 streaming body);
//! - `/data?size=N`: N bytes; `/bench`: "Hello, World!" (13 bytes);
//! - `/slow?delay_ms=N`: answers after N ms; `/status/<code>`: answers with that status.
//!
//! It serves HTTP/1.1 and cleartext HTTP/2 (h2c, prior knowledge) on the same port.

use std::sync::Arc;
use std::sync::atomic::{AtomicU16, Ordering};
use std::time::Duration;

use actix_web::http::StatusCode;
use actix_web::{App, HttpRequest, HttpResponse, HttpServer, web};
use bytes::Bytes;
use clap::Parser;
use futures::StreamExt as _;

#[derive(Parser, Clone)]
#[command(
    name = "switchyard-whoami",
    version,
    about = "Echoes requests; a demo and test backend"
)]
struct Args {
    /// Address to listen on.
    #[arg(long, env = "WHOAMI_ADDRESS", default_value = "0.0.0.0:80")]
    address: String,
    /// The name it reports (default: the host name).
    #[arg(long, env = "WHOAMI_NAME")]
    name: Option<String>,
    /// Worker threads.
    #[arg(long, env = "WHOAMI_WORKERS", default_value_t = 1)]
    workers: usize,
}

struct State {
    name: String,
    hostname: String,
    health: AtomicU16,
}

fn query_param<'a>(req: &'a HttpRequest, key: &str) -> Option<&'a str> {
    req.query_string().split('&').find_map(|pair| {
        let (k, v) = pair.split_once('=').unwrap_or((pair, ""));
        (k == key).then_some(v)
    })
}

fn number(req: &HttpRequest, key: &str, default: u64) -> u64 {
    query_param(req, key)
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

fn describe(req: &HttpRequest, state: &State) -> String {
    let mut out = format!("Name: {}\nHostname: {}\n", state.name, state.hostname);
    if let Some(peer) = req.peer_addr() {
        out.push_str(&format!("RemoteAddr: {peer}\n"));
    }
    out.push_str(&format!(
        "{} {} {:?}\n",
        req.method(),
        req.uri(),
        req.version()
    ));
    let mut headers: Vec<_> = req.headers().iter().collect();
    headers.sort_by(|a, b| a.0.as_str().cmp(b.0.as_str()));
    for (name, value) in headers {
        out.push_str(&format!(
            "{}: {}\n",
            name,
            String::from_utf8_lossy(value.as_bytes())
        ));
    }
    out
}

async fn echo(req: HttpRequest, state: web::Data<Arc<State>>) -> HttpResponse {
    HttpResponse::Ok()
        .content_type("text/plain; charset=utf-8")
        .body(describe(&req, &state))
}

async fn api(req: HttpRequest, state: web::Data<Arc<State>>) -> HttpResponse {
    let headers: serde_json::Map<String, serde_json::Value> = req
        .headers()
        .iter()
        .map(|(n, v)| {
            (
                n.as_str().to_owned(),
                serde_json::Value::from(String::from_utf8_lossy(v.as_bytes()).into_owned()),
            )
        })
        .collect();
    HttpResponse::Ok().json(serde_json::json!({
        "name": state.name,
        "hostname": state.hostname,
        "remoteAddr": req.peer_addr().map(|a| a.to_string()),
        "method": req.method().as_str(),
        "uri": req.uri().to_string(),
        "version": format!("{:?}", req.version()),
        "headers": headers,
    }))
}

async fn health(state: web::Data<Arc<State>>) -> HttpResponse {
    let code = state.health.load(Ordering::Relaxed);
    HttpResponse::build(StatusCode::from_u16(code).unwrap_or(StatusCode::OK))
        .body(format!("{code}\n"))
}

async fn set_health(body: String, state: web::Data<Arc<State>>) -> HttpResponse {
    match body
        .trim()
        .parse::<u16>()
        .ok()
        .filter(|c| StatusCode::from_u16(*c).is_ok())
    {
        Some(code) => {
            state.health.store(code, Ordering::Relaxed);
            HttpResponse::Ok().body(format!("health set to {code}\n"))
        }
        None => HttpResponse::BadRequest().body("expected a status code\n"),
    }
}

async fn ws(req: HttpRequest, body: web::Payload) -> actix_web::Result<HttpResponse> {
    let (response, mut session, mut stream) = actix_ws::handle(&req, body)?;
    actix_rt::spawn(async move {
        while let Some(Ok(message)) = stream.next().await {
            let sent = match message {
                actix_ws::Message::Text(text) => session.text(text).await,
                actix_ws::Message::Binary(bin) => session.binary(bin).await,
                actix_ws::Message::Ping(bytes) => session.pong(&bytes).await,
                actix_ws::Message::Close(reason) => {
                    let _ = session.close(reason).await;
                    return;
                }
                _ => Ok(()),
            };
            if sent.is_err() {
                return;
            }
        }
    });
    Ok(response)
}

fn ticking(
    req: &HttpRequest,
    line: impl Fn(u64) -> String + 'static,
) -> impl futures::Stream<Item = Result<Bytes, actix_web::Error>> + 'static {
    let count = number(req, "count", 5);
    let interval = Duration::from_millis(number(req, "interval_ms", 100));
    futures::stream::unfold(0u64, move |i| {
        let line = line(i);
        async move {
            if i >= count {
                return None;
            }
            if i > 0 {
                tokio::time::sleep(interval).await;
            }
            Some((Ok(Bytes::from(line)), i + 1))
        }
    })
}

async fn sse(req: HttpRequest) -> HttpResponse {
    HttpResponse::Ok()
        .content_type("text/event-stream")
        .insert_header(("Cache-Control", "no-cache"))
        .streaming(ticking(&req, |i| format!("id: {i}\ndata: event {i}\n\n")))
}

async fn stream(req: HttpRequest) -> HttpResponse {
    HttpResponse::Ok()
        .content_type("text/plain")
        .streaming(ticking(&req, |i| format!("chunk {i}\n")))
}

async fn data(req: HttpRequest) -> HttpResponse {
    let size = usize::try_from(number(&req, "size", 1024).min(64 * 1024 * 1024)).unwrap_or(1024);
    HttpResponse::Ok()
        .content_type("application/octet-stream")
        .body(vec![b'x'; size])
}

async fn slow(req: HttpRequest) -> HttpResponse {
    tokio::time::sleep(Duration::from_millis(number(&req, "delay_ms", 1000))).await;
    HttpResponse::Ok().body("slow\n")
}

async fn status(path: web::Path<u16>) -> HttpResponse {
    HttpResponse::build(StatusCode::from_u16(path.into_inner()).unwrap_or(StatusCode::BAD_REQUEST))
        .finish()
}

#[actix_web::main]
async fn main() -> std::io::Result<()> {
    let args = Args::parse();
    let hostname = std::fs::read_to_string("/etc/hostname")
        .map(|s| s.trim().to_owned())
        .unwrap_or_default();
    let state = Arc::new(State {
        name: args.name.clone().unwrap_or_else(|| hostname.clone()),
        hostname,
        health: AtomicU16::new(200),
    });
    let data_state = web::Data::new(state);
    println!("whoami {} listening on {}", data_state.name, args.address);
    HttpServer::new(move || {
        App::new()
            .app_data(data_state.clone())
            .route("/api", web::to(api))
            .route("/health", web::get().to(health))
            .route("/health", web::head().to(health))
            .route("/health", web::post().to(set_health))
            .route("/ws", web::get().to(ws))
            .route("/sse", web::get().to(sse))
            .route("/stream", web::get().to(stream))
            .route("/data", web::get().to(data))
            .route(
                "/bench",
                web::to(|| async {
                    HttpResponse::Ok()
                        .content_type("text/plain")
                        .body("Hello, World!")
                }),
            )
            .route("/slow", web::get().to(slow))
            .route("/status/{code}", web::to(status))
            .default_service(web::to(echo))
    })
    .workers(args.workers)
    .backlog(4096)
    .bind_auto_h2c(&args.address)?
    .run()
    .await
}
