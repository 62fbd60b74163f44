//! The `mirroring` service: every request goes to the main service; copies of a share of
//! them go to each mirror, fire-and-forget, after the main service answered. Mirrors never
//! change what the client gets: their responses are read and thrown away.
//!
//! Sampling is Traefik's deterministic counter: request `n` (counting from 1) goes to a
//! mirror of `percent` when fewer than `n * percent / 100` requests went to it before, i.e.
//! when `ceil(n·p/100)` grows at `n`. That only needs the request counter, so it is one
//! atomic increment per request and no lock.
//!
//! With `mirrorBody` (the default) the body is read into memory, up to `maxBodySize` bytes
//! (-1: no limit), so that each mirror gets a copy; a larger body goes to the main service
//! alone, streamed on, and the request is not mirrored (Traefik does the same). Without
//! `mirrorBody` the mirrors get the request without a body. Nothing is buffered for a
//! request no mirror samples.

use std::net::SocketAddr;
use std::pin::Pin;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

use actix_web::HttpResponse;
use actix_web::body::MessageBody;
use actix_web::dev::Payload;
use actix_web::http::header::{self, HeaderMap, HeaderValue};
use actix_web::http::{Method, StatusCode, Version};
use bytes::Bytes;
use futures::StreamExt;
use futures::future::LocalBoxFuture;
use switchyard_model::http::Mirroring as Spec;

use super::{Service, WorkerCtx};
use crate::middleware::BuildError;
use crate::request::ProxyRequest;

/// Whether request `n` (counting from 1) goes to a mirror of `percent`.
pub fn sampled(n: u64, percent: u32) -> bool {
    let share = |k: u64| (u128::from(k) * u128::from(percent)).div_ceil(100);
    n > 0 && share(n) > share(n - 1)
}

/// A compiled mirroring service.
pub struct Mirroring {
    main: Arc<dyn Service>,
    mirrors: Vec<(Arc<dyn Service>, u32)>,
    requests: AtomicU64,
    mirror_body: bool,
    max_body_size: i64,
    health_check: bool,
}

/// What a request looks like without its body, to make copies of.
struct Head {
    method: Method,
    version: Version,
    scheme: &'static str,
    host: String,
    canonical_host: String,
    path: String,
    query: Option<String>,
    headers: HeaderMap,
    peer: SocketAddr,
    entry_point: Arc<str>,
    router: Arc<str>,
}

impl Head {
    fn of(req: &ProxyRequest) -> Self {
        Self {
            method: req.method.clone(),
            version: req.version,
            scheme: req.scheme,
            host: req.host.clone(),
            canonical_host: req.canonical_host.clone(),
            path: req.path.clone(),
            query: req.query.clone(),
            headers: req.headers.clone(),
            peer: req.peer,
            entry_point: req.entry_point.clone(),
            router: req.router.clone(),
        }
    }

    fn request(&self, body: Option<&Bytes>) -> ProxyRequest {
        let mut headers = self.headers.clone();
        let body = match body {
            Some(bytes) => {
                set_length(&mut headers, bytes.len());
                Payload::from(bytes.clone())
            }
            None => {
                headers.remove(header::CONTENT_LENGTH);
                headers.remove(header::TRANSFER_ENCODING);
                Payload::None
            }
        };
        ProxyRequest {
            method: self.method.clone(),
            version: self.version,
            scheme: self.scheme,
            host: self.host.clone(),
            canonical_host: self.canonical_host.clone(),
            path: self.path.clone(),
            query: self.query.clone(),
            headers,
            peer: self.peer,
            entry_point: self.entry_point.clone(),
            router: self.router.clone(),
            body,
            notes: Default::default(),
        }
    }
}

/// Frames a body now held in memory by its length (it is no longer chunked).
fn set_length(headers: &mut HeaderMap, len: usize) {
    headers.remove(header::TRANSFER_ENCODING);
    if len > 0 || headers.contains_key(header::CONTENT_LENGTH) {
        headers.insert(header::CONTENT_LENGTH, HeaderValue::from(len));
    }
}

/// A request body read for mirroring.
enum Buffered {
    /// The whole body.
    Complete(Bytes),
    /// More than the limit: the chunks read so far (the rest is still in the payload).
    TooLarge(Vec<Bytes>),
}

/// Reads `payload` up to `limit` bytes (negative: no limit).
async fn buffer(
    payload: &mut Payload,
    limit: i64,
) -> Result<Buffered, actix_web::error::PayloadError> {
    let limit = usize::try_from(limit).ok();
    let mut chunks = Vec::new();
    let mut total = 0usize;
    while let Some(chunk) = payload.next().await {
        let chunk = chunk?;
        total = total.saturating_add(chunk.len());
        chunks.push(chunk);
        if limit.is_some_and(|limit| total > limit) {
            return Ok(Buffered::TooLarge(chunks));
        }
    }
    Ok(Buffered::Complete(match chunks.len() {
        0 => Bytes::new(),
        1 => chunks.swap_remove(0),
        _ => chunks.concat().into(),
    }))
}

/// Reads a mirror's response to its end, so that its connection can be reused.
async fn discard(response: HttpResponse) {
    let mut body = response.into_body();
    while let Some(chunk) = futures::future::poll_fn(|cx| Pin::new(&mut body).poll_next(cx)).await {
        if chunk.is_err() {
            break;
        }
    }
}

impl Mirroring {
    /// Compiles a `mirroring` spec over its compiled main service and mirrors (with their
    /// percentages).
    pub fn build(
        spec: &Spec,
        main: Arc<dyn Service>,
        mirrors: Vec<(Arc<dyn Service>, u32)>,
    ) -> Result<Self, BuildError> {
        if let Some((_, percent)) = mirrors.iter().find(|(_, p)| *p > 100) {
            return Err(BuildError(format!(
                "mirror percent must be between 0 and 100, got {percent}"
            )));
        }
        Ok(Self {
            main,
            mirrors,
            requests: AtomicU64::new(0),
            mirror_body: spec.mirror_body,
            max_body_size: spec.max_body_size,
            health_check: spec.health_check.is_some(),
        })
    }

    /// Counts a request and returns the mirrors that get a copy of it.
    pub fn sample(&self) -> Vec<Arc<dyn Service>> {
        let n = self
            .requests
            .fetch_add(1, Ordering::Relaxed)
            .wrapping_add(1);
        self.mirrors
            .iter()
            .filter(|(_, percent)| sampled(n, *percent))
            .map(|(m, _)| m.clone())
            .collect()
    }
}

impl Service for Mirroring {
    fn serve<'a>(
        &'a self,
        mut req: ProxyRequest,
        ctx: &'a WorkerCtx,
    ) -> LocalBoxFuture<'a, HttpResponse> {
        Box::pin(async move {
            let mirrors = self.sample();
            // A protocol upgrade takes over the client's connection, which a copy cannot
            // have: Traefik's mirrors fail on it, so they are not even tried.
            if mirrors.is_empty() || crate::upstream::connection_upgrade(&req.headers) {
                return self.main.serve(req, ctx).await;
            }
            let head = Head::of(&req);
            let body = if self.mirror_body {
                match buffer(&mut req.body, self.max_body_size).await {
                    Ok(Buffered::Complete(bytes)) => {
                        set_length(&mut req.headers, bytes.len());
                        req.body = Payload::from(bytes.clone());
                        Some(bytes)
                    }
                    Ok(Buffered::TooLarge(read)) => {
                        tracing::debug!(
                            "no mirroring: the request body is larger than maxBodySize"
                        );
                        let rest = std::mem::replace(&mut req.body, Payload::None);
                        let stream = futures::stream::iter(read.into_iter().map(Ok)).chain(rest);
                        req.body =
                            Payload::from(Box::pin(stream) as actix_http::BoxedPayloadStream);
                        return self.main.serve(req, ctx).await;
                    }
                    Err(e) => {
                        tracing::debug!(error = %e, "reading the request body for mirroring failed");
                        return HttpResponse::build(StatusCode::INTERNAL_SERVER_ERROR)
                            .content_type("text/plain; charset=utf-8")
                            .body("Internal Server Error");
                    }
                }
            } else {
                None
            };
            let response = self.main.serve(req, ctx).await;
            let ctx = ctx.clone();
            actix_web::rt::spawn(async move {
                // One after the other, as Traefik does: a slow mirror delays the next one.
                for mirror in mirrors {
                    discard(mirror.serve(head.request(body.as_ref()), &ctx).await).await;
                }
            });
            response
        })
    }

    fn available(&self) -> bool {
        !self.health_check || self.main.available()
    }
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use super::*;

    #[test]
    fn sampling_is_deterministic() {
        // (percent, requests, expected mirrored)
        let cases = [
            (0, 1000, 0),
            (1, 1000, 10),
            (10, 1000, 100),
            (33, 1000, 330),
            (33, 100, 33),
            (50, 7, 4),
            (100, 1000, 1000),
        ];
        for (percent, requests, expected) in cases {
            let got = (1..=requests).filter(|n| sampled(*n, percent)).count();
            assert_eq!(got, expected, "{percent}% of {requests}");
        }
        assert!(
            sampled(1, 1),
            "the first request is mirrored as soon as percent > 0"
        );
        assert!(
            !sampled(2, 1) && !sampled(100, 1) && sampled(101, 1),
            "then every 100th"
        );
        assert!(!sampled(0, 100));
        assert!(sampled(u64::MAX, 100));
    }

    use crate::service::testing::{
        Backend, Recorder, body_text, ctx, request, request_with, wait_for,
    };

    fn mirroring(
        json: serde_json::Value,
        main: &Arc<Recorder>,
        mirrors: &[(&Arc<Recorder>, u32)],
    ) -> Mirroring {
        let spec: Spec = serde_json::from_value(json).unwrap();
        let mirrors = mirrors
            .iter()
            .map(|(m, p)| ((*m).clone() as Arc<dyn Service>, *p))
            .collect();
        Mirroring::build(&spec, main.clone(), mirrors).unwrap()
    }

    #[actix_web::test]
    async fn mirrors_get_copies_and_never_change_the_response() {
        let (main, failing, half) = (
            Recorder::new("main", StatusCode::OK),
            Recorder::new("failing", StatusCode::BAD_GATEWAY),
            Recorder::new("half", StatusCode::OK),
        );
        let m = mirroring(
            serde_json::json!({"service": "main"}),
            &main,
            &[(&failing, 100), (&half, 50)],
        );
        let ctx = ctx();
        for _ in 0..4 {
            let response = m.serve(request("POST", "/p", &[b"hel", b"lo"]), &ctx).await;
            assert_eq!(response.status(), StatusCode::OK);
            let body = actix_web::body::to_bytes(response.into_body())
                .await
                .map_err(|_| "body")
                .unwrap();
            assert_eq!(body, "from main");
        }
        wait_for(|| failing.seen().len() == 4 && half.seen().len() == 2).await;
        let copy = ("5".to_owned(), Bytes::from_static(b"hello"));
        assert_eq!(main.seen(), vec![copy.clone(); 4]);
        assert_eq!(failing.seen(), vec![copy.clone(); 4]);
        assert_eq!(half.seen(), vec![copy; 2]);
    }

    #[actix_web::test]
    async fn bodies_over_the_limit_are_not_mirrored() {
        // (case, maxBodySize, mirrored)
        let cases = [
            ("over", 4, false),
            ("at the limit", 5, true),
            ("unlimited", -1, true),
            ("zero", 0, false),
        ];
        for (case, max, mirrored) in cases {
            let (main, mirror) = (
                Recorder::new("main", StatusCode::OK),
                Recorder::new("mirror", StatusCode::OK),
            );
            let m = mirroring(
                serde_json::json!({"service": "main", "maxBodySize": max}),
                &main,
                &[(&mirror, 100)],
            );
            let response = m
                .serve(request("POST", "/", &[b"he", b"llo"]), &ctx())
                .await;
            assert_eq!(response.status(), StatusCode::OK, "{case}");
            assert_eq!(
                main.seen()[0].1,
                "hello",
                "{case}: the main service gets the whole body"
            );
            if mirrored {
                wait_for(|| mirror.seen().len() == 1).await;
                assert_eq!(mirror.seen()[0].1, "hello", "{case}");
            } else {
                actix_web::rt::time::sleep(Duration::from_millis(50)).await;
                assert!(mirror.seen().is_empty(), "{case}");
            }
        }
    }

    #[actix_web::test]
    async fn without_mirror_body_mirrors_get_no_body() {
        let (main, mirror) = (
            Recorder::new("main", StatusCode::OK),
            Recorder::new("mirror", StatusCode::OK),
        );
        let m = mirroring(
            serde_json::json!({"service": "main", "mirrorBody": false}),
            &main,
            &[(&mirror, 100)],
        );
        m.serve(request("POST", "/", &[b"hello"]), &ctx()).await;
        wait_for(|| mirror.seen().len() == 1).await;
        assert_eq!(
            main.seen(),
            [("5".to_owned(), Bytes::from_static(b"hello"))]
        );
        assert_eq!(mirror.seen(), [("-".to_owned(), Bytes::new())]);
    }

    #[actix_web::test]
    async fn upgrades_are_not_mirrored() {
        let (main, mirror) = (
            Recorder::new("main", StatusCode::OK),
            Recorder::new("mirror", StatusCode::OK),
        );
        let m = mirroring(
            serde_json::json!({"service": "main"}),
            &main,
            &[(&mirror, 100)],
        );
        let mut headers = HeaderMap::new();
        headers.insert(
            header::CONNECTION,
            HeaderValue::from_static("keep-alive, Upgrade"),
        );
        headers.insert(header::UPGRADE, HeaderValue::from_static("websocket"));
        m.serve(request_with("GET", "/ws", headers, &[]), &ctx())
            .await;
        m.serve(request("GET", "/plain", &[]), &ctx()).await;
        wait_for(|| mirror.seen().len() == 1).await;
        assert_eq!(main.seen().len(), 2);
        actix_web::rt::time::sleep(Duration::from_millis(20)).await;
        assert_eq!(
            mirror.seen().len(),
            1,
            "only the plain request was mirrored"
        );
    }

    #[test]
    fn availability_follows_the_main_service_with_a_health_check() {
        let (main, mirror) = (
            Recorder::new("main", StatusCode::OK),
            Recorder::new("mirror", StatusCode::OK),
        );
        let with = mirroring(
            serde_json::json!({"service": "main", "healthCheck": {}}),
            &main,
            &[(&mirror, 10)],
        );
        let without = mirroring(
            serde_json::json!({"service": "main"}),
            &main,
            &[(&mirror, 10)],
        );
        main.set_available(false);
        assert!(!with.available());
        assert!(without.available());
        main.set_available(true);
        assert!(with.available());
    }

    #[actix_web::test]
    async fn mirrors_real_servers() {
        let (a, b) = (Backend::start("a").await, Backend::start("b").await);
        let lb = |url: &str| -> Arc<dyn Service> {
            let spec =
                serde_json::from_value(serde_json::json!({"servers": [{"url": url}]})).unwrap();
            Arc::new(
                crate::service::load_balancer::LoadBalancer::build("x@file", &spec, None).unwrap(),
            )
        };
        let spec: Spec = serde_json::from_value(serde_json::json!({"service": "a@file"})).unwrap();
        let m = Mirroring::build(&spec, lb(&a.url), vec![(lb(&b.url), 100)]).unwrap();
        let response = m
            .serve(request("POST", "/p", &[b"hel", b"lo"]), &ctx())
            .await;
        assert_eq!(body_text(response).await, "a /p hello");
        wait_for(|| !b.seen().is_empty()).await;
        assert_eq!(b.seen(), [("/p".to_owned(), Bytes::from_static(b"hello"))]);
        a.stop().await;
        b.stop().await;
    }

    #[test]
    fn percent_over_100_is_rejected() {
        let spec: Spec = serde_json::from_value(serde_json::json!({"service": "main"})).unwrap();
        let main = Recorder::new("main", StatusCode::OK);
        assert!(Mirroring::build(&spec, main.clone(), vec![(main, 101)]).is_err());
    }
}
