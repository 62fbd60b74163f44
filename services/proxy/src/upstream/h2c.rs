//! HTTP/2 over cleartext to `h2c://` servers (gRPC and other h2-only backends), with
//! hyper's client: awc speaks HTTP/2 only after a TLS ALPN negotiation.
//!
//! actix types use `http` 0.2 and hyper uses `http` 1, so method, headers and status
//! cross the seam as strings and bytes. The request body is pumped from actix's
//! (thread-local) payload into a channel that hyper's connection task can read.

use std::time::Duration;

use actix_web::HttpResponse;
use actix_web::http::StatusCode;
use bytes::Bytes;
use futures::{SinkExt as _, StreamExt as _};
use http_body_util::{BodyExt as _, StreamBody};
use hyper::body::Frame;
use hyper_util::client::legacy::Client;
use hyper_util::client::legacy::connect::HttpConnector;
use hyper_util::rt::TokioExecutor;

use super::{ForwardError, ForwardOptions, Target, is_hop_by_hop, upstream_path};
use crate::request::ProxyRequest;

type Body = StreamBody<futures::channel::mpsc::Receiver<Result<Frame<Bytes>, std::io::Error>>>;

/// The h2c client of one worker.
pub type H2cClient = Client<HttpConnector, Body>;

/// A client that speaks HTTP/2 with prior knowledge, pooled per server.
pub fn client() -> H2cClient {
    let mut connector = HttpConnector::new();
    connector.set_nodelay(true);
    Client::builder(TokioExecutor::new())
        .http2_only(true)
        .pool_idle_timeout(Duration::from_secs(90))
        .build(connector)
}

/// Forwards `req` to an `h2c://` server.
pub async fn forward(
    client: &H2cClient,
    req: ProxyRequest,
    target: &Target,
    options: &ForwardOptions,
) -> Result<HttpResponse, ForwardError> {
    let host = if options.pass_host_header {
        req.host.clone()
    } else {
        target.authority.clone()
    };
    let uri = format!("http://{}{}", target.authority, upstream_path(&req, target));
    let mut builder = hyper::Request::builder()
        .method(req.method.as_str())
        .uri(uri);
    for (name, value) in req.headers.iter() {
        if name != actix_web::http::header::HOST && !is_hop_by_hop(name) {
            builder = builder.header(name.as_str(), value.as_bytes());
        }
    }
    // HTTP/2 carries the host as :authority; servers read it from there.
    builder = builder.header("host", host.as_str());
    let (mut tx, rx) = futures::channel::mpsc::channel(8);
    let mut payload = req.body;
    actix_web::rt::spawn(async move {
        while let Some(chunk) = payload.next().await {
            let item = chunk
                .map(Frame::data)
                .map_err(|e| std::io::Error::other(e.to_string()));
            if tx.send(item).await.is_err() {
                break;
            }
        }
    });
    let request = builder
        .body(StreamBody::new(rx))
        .map_err(|e| ForwardError::BadGateway(format!("building the h2c request: {e}")))?;
    let send = client.request(request);
    let response = match options.response_header_timeout {
        Some(timeout) => tokio::time::timeout(timeout, send)
            .await
            .map_err(|_| ForwardError::Timeout)?,
        None => send.await,
    }
    .map_err(|e| ForwardError::BadGateway(e.to_string()))?;
    let status =
        StatusCode::from_u16(response.status().as_u16()).unwrap_or(StatusCode::BAD_GATEWAY);
    let mut out = HttpResponse::build(status);
    for (name, value) in response.headers() {
        let name = name.as_str();
        if name != "connection" && name != "keep-alive" && name != "transfer-encoding" {
            out.append_header((name, value.as_bytes()));
        }
    }
    let body = response
        .into_body()
        .into_data_stream()
        .map(|chunk| chunk.map_err(std::io::Error::other));
    Ok(out.streaming(body))
}
