//! Test doubles for services: stand-in children, requests and a worker context.

use std::net::SocketAddr;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use actix_web::HttpResponse;
use actix_web::dev::Payload;
use actix_web::http::header::{self, HeaderMap, HeaderValue};
use actix_web::http::{Method, StatusCode, Version};
use bytes::Bytes;
use futures::StreamExt;
use futures::future::LocalBoxFuture;

use super::{Service, WorkerCtx};
use crate::request::ProxyRequest;

/// A child service whose availability a test switches; it answers 200.
#[derive(Default)]
pub struct Switch(AtomicBool);

impl Switch {
    /// One that starts available.
    pub fn up() -> Arc<Self> {
        Arc::new(Self(AtomicBool::new(true)))
    }

    /// Makes it available or not.
    pub fn set(&self, up: bool) {
        self.0.store(up, Ordering::Relaxed);
    }
}

impl Service for Switch {
    fn serve<'a>(
        &'a self,
        _req: ProxyRequest,
        _ctx: &'a WorkerCtx,
    ) -> LocalBoxFuture<'a, HttpResponse> {
        Box::pin(async { HttpResponse::Ok().finish() })
    }

    fn available(&self) -> bool {
        self.0.load(Ordering::Relaxed)
    }
}

/// A service answering `status` with `from <name>`, recording each request's
/// Content-Length (`-` when absent) and body.
pub struct Recorder {
    name: &'static str,
    status: StatusCode,
    available: AtomicBool,
    seen: Mutex<Vec<(String, Bytes)>>,
}

impl Recorder {
    /// A new recorder.
    pub fn new(name: &'static str, status: StatusCode) -> Arc<Self> {
        Arc::new(Self {
            name,
            status,
            available: AtomicBool::new(true),
            seen: Mutex::new(Vec::new()),
        })
    }

    /// What it received so far.
    pub fn seen(&self) -> Vec<(String, Bytes)> {
        self.seen.lock().unwrap().clone()
    }

    /// Makes it available or not.
    pub fn set_available(&self, up: bool) {
        self.available.store(up, Ordering::Relaxed);
    }
}

impl Service for Recorder {
    fn serve<'a>(
        &'a self,
        mut req: ProxyRequest,
        _ctx: &'a WorkerCtx,
    ) -> LocalBoxFuture<'a, HttpResponse> {
        Box::pin(async move {
            let mut body = Vec::new();
            while let Some(Ok(chunk)) = req.body.next().await {
                body.extend_from_slice(&chunk);
            }
            let length = req.header("content-length").unwrap_or("-").to_owned();
            self.seen.lock().unwrap().push((length, body.into()));
            HttpResponse::build(self.status).body(format!("from {}", self.name))
        })
    }

    fn available(&self) -> bool {
        self.available.load(Ordering::Relaxed)
    }
}

/// A worker context (needs a running actix system).
pub fn ctx() -> WorkerCtx {
    WorkerCtx {
        client: crate::upstream::client(),
    }
}

/// A request for `example.com` whose body arrives in `chunks`, with its Content-Length.
pub fn request(method: &str, path: &str, chunks: &[&'static [u8]]) -> ProxyRequest {
    request_with(method, path, HeaderMap::new(), chunks)
}

/// [`request`] with extra headers.
pub fn request_with(
    method: &str,
    path: &str,
    mut headers: HeaderMap,
    chunks: &[&'static [u8]],
) -> ProxyRequest {
    let total: usize = chunks.iter().map(|c| c.len()).sum();
    if total > 0 {
        headers.insert(header::CONTENT_LENGTH, HeaderValue::from(total));
    }
    let body = match chunks {
        [] => Payload::None,
        [one] => Payload::from(Bytes::from_static(one)),
        many => {
            let stream = futures::stream::iter(
                many.iter()
                    .map(|c| Ok(Bytes::from_static(c)))
                    .collect::<Vec<_>>(),
            );
            Payload::from(Box::pin(stream) as actix_http::BoxedPayloadStream)
        }
    };
    ProxyRequest {
        method: Method::from_bytes(method.as_bytes()).unwrap(),
        version: Version::HTTP_11,
        scheme: "http",
        host: "example.com".to_owned(),
        canonical_host: "example.com".to_owned(),
        path: path.to_owned(),
        query: None,
        headers,
        peer: SocketAddr::from(([192, 0, 2, 1], 40000)),
        entry_point: Arc::from("web"),
        router: Arc::from("r@file"),
        body,
        notes: Default::default(),
    }
}

/// A real HTTP server on 127.0.0.1 answering `<name> <path> <body>` to every request,
/// after `delay_ms` milliseconds when the path is `/slow?delay_ms`, and logging
/// `(path, body)` of each request it got.
pub struct Backend {
    /// `http://127.0.0.1:<port>`.
    pub url: String,
    /// What it received.
    pub log: Arc<Mutex<Vec<(String, Bytes)>>>,
    handle: actix_web::dev::ServerHandle,
}

impl Backend {
    /// Starts one (needs a running actix system).
    pub async fn start(name: &'static str) -> Self {
        let log: Arc<Mutex<Vec<(String, Bytes)>>> = Arc::default();
        let seen = log.clone();
        let server = actix_web::HttpServer::new(move || {
            let seen = seen.clone();
            actix_web::App::new().default_service(actix_web::web::to(
                move |req: actix_web::HttpRequest, body: Bytes| {
                    let seen = seen.clone();
                    async move {
                        if req.path() == "/slow" {
                            let delay = req.query_string().parse().unwrap_or(0);
                            actix_web::rt::time::sleep(Duration::from_millis(delay)).await;
                        }
                        seen.lock()
                            .unwrap()
                            .push((req.path().to_owned(), body.clone()));
                        HttpResponse::Ok().body(format!(
                            "{name} {} {}",
                            req.path(),
                            String::from_utf8_lossy(&body)
                        ))
                    }
                },
            ))
        })
        .workers(1)
        .disable_signals()
        .bind(("127.0.0.1", 0))
        .unwrap();
        let url = format!("http://{}", server.addrs()[0]);
        let server = server.run();
        let handle = server.handle();
        actix_web::rt::spawn(server);
        Self { url, log, handle }
    }

    /// The requests it got so far.
    pub fn seen(&self) -> Vec<(String, Bytes)> {
        self.log.lock().unwrap().clone()
    }

    /// Stops it.
    pub async fn stop(self) {
        self.handle.stop(false).await;
    }
}

/// Reads a response body to a string.
pub async fn body_text(response: HttpResponse) -> String {
    let bytes = actix_web::body::to_bytes(response.into_body())
        .await
        .map_err(|_| "body")
        .unwrap();
    String::from_utf8(bytes.to_vec()).unwrap()
}

/// Waits (up to two seconds) until `done` holds, for work spawned in the background.
pub async fn wait_for(done: impl Fn() -> bool) {
    for _ in 0..400 {
        if done() {
            return;
        }
        actix_web::rt::time::sleep(Duration::from_millis(5)).await;
    }
    panic!("timed out waiting");
}
