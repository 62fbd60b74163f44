//! Protocol upgrades (WebSocket and any other `Upgrade`): the request head goes to the
//! server over a fresh connection; if it answers `101 Switching Protocols`, both
//! directions are copied byte for byte until either side closes.
//!
//! actix hands the bytes a client sends after an upgrade request to the request payload,
//! and writes a `101` response's body unframed, so the tunnel is two copies: payload →
//! server socket, server socket → response body.

use actix_web::HttpResponse;
use actix_web::http::StatusCode;
use actix_web::http::header::{HeaderName, HeaderValue};
use bytes::{Bytes, BytesMut};
use futures::StreamExt as _;
use tokio::io::{AsyncReadExt as _, AsyncWriteExt as _};
use tokio::net::TcpStream;

use super::{ForwardError, ForwardOptions, Target, is_hop_by_hop};
use crate::request::ProxyRequest;

/// The largest response head accepted from a server.
const MAX_HEAD: usize = 64 * 1024;

/// Opens the tunnel for `req` (which asks to upgrade to `protocol`).
pub async fn tunnel(
    req: ProxyRequest,
    protocol: &str,
    target: &Target,
    options: &ForwardOptions,
) -> Result<HttpResponse, ForwardError> {
    if target.scheme == "https" {
        return Err(ForwardError::BadGateway(
            "upgrades to https servers are not supported yet".into(),
        ));
    }
    let mut server = TcpStream::connect(target.authority.as_str())
        .await
        .map_err(|e| ForwardError::BadGateway(format!("connect {}: {e}", target.authority)))?;
    let _ = server.set_nodelay(true);
    let mut head = format!(
        "{} {} HTTP/1.1\r\n",
        req.method,
        super::upstream_path(&req, target)
    );
    let host = if options.pass_host_header {
        req.host.as_str()
    } else {
        target.authority.as_str()
    };
    head.push_str(&format!("host: {host}\r\n"));
    for (name, value) in req.headers.iter() {
        if name != actix_web::http::header::HOST
            && !is_hop_by_hop(name)
            && let Ok(value) = value.to_str()
        {
            head.push_str(&format!("{name}: {value}\r\n"));
        }
    }
    head.push_str(&format!(
        "connection: Upgrade\r\nupgrade: {protocol}\r\n\r\n"
    ));
    server
        .write_all(head.as_bytes())
        .await
        .map_err(|e| ForwardError::BadGateway(e.to_string()))?;

    // Read the response head.
    let mut buf = BytesMut::with_capacity(4096);
    let head_end = loop {
        if let Some(end) = find_head_end(&buf) {
            break end;
        }
        if buf.len() > MAX_HEAD {
            return Err(ForwardError::BadGateway("response head too large".into()));
        }
        let read = server
            .read_buf(&mut buf)
            .await
            .map_err(|e| ForwardError::BadGateway(e.to_string()))?;
        if read == 0 {
            return Err(ForwardError::BadGateway(
                "server closed before answering the upgrade".into(),
            ));
        }
    };
    let head_bytes = buf.split_to(head_end);
    let (status, headers) = parse_head(&head_bytes)
        .ok_or_else(|| ForwardError::BadGateway("malformed response head".into()))?;

    let mut response = HttpResponse::build(status);
    for (name, value) in headers {
        if !is_hop_by_hop(&name) {
            response.append_header((name, value));
        }
    }
    if status == StatusCode::SWITCHING_PROTOCOLS {
        // actix writes `Connection: upgrade` itself for an upgrade response.
        response.upgrade(protocol);
    }
    let leftover = buf.freeze();
    let (server_read, mut server_write) = server.into_split();
    if status == StatusCode::SWITCHING_PROTOCOLS {
        // Client → server.
        let mut payload = req.body;
        actix_web::rt::spawn(async move {
            while let Some(Ok(chunk)) = payload.next().await {
                if server_write.write_all(&chunk).await.is_err() {
                    break;
                }
            }
            let _ = server_write.shutdown().await;
        });
    }
    // Server → client: what was read past the head, then the socket until it closes.
    let body = futures::stream::once(async move { Ok::<Bytes, std::io::Error>(leftover) })
        .filter(|chunk| futures::future::ready(!matches!(chunk, Ok(c) if c.is_empty())))
        .chain(futures::stream::unfold(
            server_read,
            |mut read| async move {
                let mut chunk = BytesMut::with_capacity(16 * 1024);
                match read.read_buf(&mut chunk).await {
                    Ok(0) | Err(_) => None,
                    Ok(_) => Some((Ok(chunk.freeze()), read)),
                }
            },
        ));
    Ok(response.streaming(body))
}

fn find_head_end(buf: &[u8]) -> Option<usize> {
    buf.windows(4).position(|w| w == b"\r\n\r\n").map(|i| i + 4)
}

/// Parses `HTTP/1.1 101 Switching Protocols\r\nname: value\r\n...\r\n\r\n`.
fn parse_head(head: &[u8]) -> Option<(StatusCode, Vec<(HeaderName, HeaderValue)>)> {
    let text = std::str::from_utf8(head).ok()?;
    let mut lines = text.split("\r\n");
    let status_line = lines.next()?;
    let mut parts = status_line.splitn(3, ' ');
    let version = parts.next()?;
    if !version.starts_with("HTTP/1.") {
        return None;
    }
    let status = StatusCode::from_u16(parts.next()?.parse().ok()?).ok()?;
    let mut headers = Vec::new();
    for line in lines.filter(|l| !l.is_empty()) {
        let (name, value) = line.split_once(':')?;
        let name = HeaderName::from_bytes(name.trim().as_bytes()).ok()?;
        let value = HeaderValue::from_str(value.trim()).ok()?;
        headers.push((name, value));
    }
    Some((status, headers))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn response_heads_parse() {
        let head = b"HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Accept: abc=\r\n\r\n";
        assert_eq!(find_head_end(head), Some(head.len()));
        let (status, headers) = parse_head(head).unwrap();
        assert_eq!(status, StatusCode::SWITCHING_PROTOCOLS);
        assert_eq!(headers.len(), 3);
        assert_eq!(headers[2].1, "abc=");
        assert!(parse_head(b"SSH-2.0\r\n\r\n").is_none());
        assert!(parse_head(b"HTTP/1.1 abc OK\r\n\r\n").is_none());
        assert_eq!(find_head_end(b"HTTP/1.1 200 OK\r\n"), None);
    }
}
