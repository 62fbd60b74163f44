//! A plain HTTP client for tests (hyper): HTTP/1.1, or HTTP/2 with prior knowledge (h2c).

use std::net::SocketAddr;
use std::time::Duration;

use anyhow::Context as _;
use bytes::Bytes;
use http_body_util::{BodyExt as _, Full};
use hyper_util::client::legacy::Client;
use hyper_util::rt::TokioExecutor;

/// A response, body collected.
#[derive(Debug, Clone)]
pub struct Reply {
    /// Status code.
    pub status: u16,
    /// Headers (names lower-case).
    pub headers: Vec<(String, String)>,
    /// Body as text (lossy).
    pub body: String,
}

impl Reply {
    /// The first value of a header.
    pub fn header(&self, name: &str) -> Option<&str> {
        let name = name.to_ascii_lowercase();
        self.headers
            .iter()
            .find(|(n, _)| *n == name)
            .map(|(_, v)| v.as_str())
    }
}

/// One request to `addr` with the given Host header.
pub async fn request(
    addr: SocketAddr,
    method: &str,
    host: &str,
    path: &str,
    headers: &[(&str, &str)],
    body: &str,
    h2c: bool,
) -> anyhow::Result<Reply> {
    let mut builder = Client::builder(TokioExecutor::new());
    if h2c {
        builder.http2_only(true);
    }
    let client = builder.build_http::<Full<Bytes>>();
    let mut req = hyper::Request::builder()
        .method(method)
        .uri(format!("http://{addr}{path}"));
    if !h2c {
        req = req.header("host", host);
    } else {
        req = req.uri(format!("http://{host}{path}"));
    }
    for (k, v) in headers {
        req = req.header(*k, *v);
    }
    // For h2c the URI carries the authority (`:authority`); the connection goes to `addr`.
    let req = req.body(Full::new(Bytes::from(body.to_owned())))?;
    let response = if h2c {
        h2c_send(addr, req).await?
    } else {
        tokio::time::timeout(Duration::from_secs(30), client.request(req))
            .await
            .context("request timed out")??
    };
    let status = response.status().as_u16();
    let headers = response
        .headers()
        .iter()
        .map(|(n, v)| {
            (
                n.as_str().to_owned(),
                String::from_utf8_lossy(v.as_bytes()).into_owned(),
            )
        })
        .collect();
    let body = tokio::time::timeout(Duration::from_secs(30), response.into_body().collect())
        .await
        .context("body timed out")??
        .to_bytes();
    Ok(Reply {
        status,
        headers,
        body: String::from_utf8_lossy(&body).into_owned(),
    })
}

async fn h2c_send(
    addr: SocketAddr,
    req: hyper::Request<Full<Bytes>>,
) -> anyhow::Result<hyper::Response<hyper::body::Incoming>> {
    let tcp = tokio::net::TcpStream::connect(addr).await?;
    let (mut sender, conn) = hyper::client::conn::http2::handshake(
        TokioExecutor::new(),
        hyper_util::rt::TokioIo::new(tcp),
    )
    .await?;
    tokio::spawn(conn);
    Ok(tokio::time::timeout(Duration::from_secs(30), sender.send_request(req)).await??)
}

/// `GET path` with `Host: host` over HTTP/1.1.
pub async fn get(addr: SocketAddr, host: &str, path: &str) -> anyhow::Result<Reply> {
    request(addr, "GET", host, path, &[], "", false).await
}

/// `GET path` and the arrival time of each body chunk, from the request's start; shows
/// whether a streamed body is passed on as it comes or buffered.
pub async fn get_timed_chunks(
    addr: SocketAddr,
    host: &str,
    path: &str,
    h2c: bool,
) -> anyhow::Result<(u16, Vec<(Duration, Bytes)>)> {
    let start = std::time::Instant::now();
    let req = hyper::Request::builder()
        .uri(if h2c {
            format!("http://{host}{path}")
        } else {
            format!("http://{addr}{path}")
        })
        .header("host", host)
        .body(Full::new(Bytes::new()))?;
    let response = if h2c {
        h2c_send(addr, req).await?
    } else {
        let client = Client::builder(TokioExecutor::new()).build_http::<Full<Bytes>>();
        client.request(req).await?
    };
    let status = response.status().as_u16();
    let mut body = response.into_body();
    let mut chunks = Vec::new();
    while let Some(frame) = tokio::time::timeout(Duration::from_secs(30), body.frame()).await? {
        if let Ok(data) = frame?.into_data() {
            chunks.push((start.elapsed(), data));
        }
    }
    Ok((status, chunks))
}
