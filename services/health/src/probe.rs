//! Running one check: an HTTP request judged by its status, or a gRPC
//! `grpc.health.v1.Health/Check` call judged by the status it returns. The verdict and
//! the gRPC wire format are plain functions; [`Prober`] holds the HTTP clients.

use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use http_body_util::{BodyExt as _, Full};
use hyper::header::{self, HeaderName, HeaderValue};
use hyper::{Method, Request, StatusCode, Uri};
use hyper_rustls::HttpsConnector;
use hyper_util::client::legacy::Client;
use hyper_util::client::legacy::connect::HttpConnector;
use hyper_util::rt::TokioExecutor;
use switchyard_model::http::ServerHealthCheck;

use crate::target::{CheckRequest, Protocol};

/// Redirects followed before a check fails (Go's client stops after 10).
pub const MAX_REDIRECTS: usize = 10;

type HttpClient = Client<HttpsConnector<HttpConnector>, Full<Bytes>>;

/// Whether an HTTP status makes a server healthy: `expected`, or any 2xx/3xx when 0.
pub fn status_verdict(status: StatusCode, expected: u16) -> Result<(), String> {
    let code = status.as_u16();
    if expected == 0 {
        if (200..400).contains(&code) {
            Ok(())
        } else {
            Err(format!("received error status code: {code}"))
        }
    } else if code == expected {
        Ok(())
    } else {
        Err(format!(
            "received error status code: {code} expected status code: {expected}"
        ))
    }
}

/// A gRPC `HealthCheckRequest { service }` framed for the wire (no compression).
pub fn grpc_request(service: &str) -> Vec<u8> {
    let mut message = Vec::new();
    if !service.is_empty() {
        message.push(0x0a); // field 1, length-delimited
        put_varint(&mut message, service.len() as u64);
        message.extend_from_slice(service.as_bytes());
    }
    let mut framed = vec![0u8];
    framed.extend_from_slice(
        &u32::try_from(message.len())
            .unwrap_or(u32::MAX)
            .to_be_bytes(),
    );
    framed.extend_from_slice(&message);
    framed
}

fn put_varint(out: &mut Vec<u8>, mut value: u64) {
    while value >= 0x80 {
        out.push((value as u8) | 0x80);
        value >>= 7;
    }
    out.push(value as u8);
}

fn varint(bytes: &[u8], at: &mut usize) -> Result<u64, String> {
    let mut value = 0u64;
    for shift in (0..64).step_by(7) {
        let b = *bytes.get(*at).ok_or("truncated varint")?;
        *at += 1;
        value |= u64::from(b & 0x7f) << shift;
        if b & 0x80 == 0 {
            return Ok(value);
        }
    }
    Err("varint too long".into())
}

/// The `status` of a framed gRPC `HealthCheckResponse` (0 UNKNOWN when absent).
pub fn grpc_response_status(framed: &[u8]) -> Result<u64, String> {
    let (&flag, rest) = framed.split_first().ok_or("empty gRPC response")?;
    if flag != 0 {
        return Err("compressed gRPC response is not supported".into());
    }
    let len_bytes: [u8; 4] = rest
        .get(..4)
        .and_then(|b| b.try_into().ok())
        .ok_or("truncated gRPC frame")?;
    let len = u32::from_be_bytes(len_bytes) as usize;
    let message = rest.get(4..4 + len).ok_or("truncated gRPC message")?;
    let mut status = 0;
    let mut at = 0;
    while at < message.len() {
        let key = varint(message, &mut at)?;
        let skip = match key & 7 {
            0 => {
                let value = varint(message, &mut at)?;
                if key >> 3 == 1 {
                    status = value;
                }
                0
            }
            1 => 8,
            2 => usize::try_from(varint(message, &mut at)?).map_err(|e| e.to_string())?,
            5 => 4,
            other => return Err(format!("unsupported protobuf wire type {other}")),
        };
        at = at
            .checked_add(skip)
            .filter(|a| *a <= message.len())
            .ok_or("truncated field")?;
    }
    Ok(status)
}

/// The name of a `ServingStatus`.
fn serving_status_name(status: u64) -> String {
    match status {
        0 => "UNKNOWN".into(),
        1 => "SERVING".into(),
        2 => "NOT_SERVING".into(),
        3 => "SERVICE_UNKNOWN".into(),
        other => other.to_string(),
    }
}

/// Whether a `grpc-status` value (header or trailer) is an error.
fn grpc_status_error(value: Option<&HeaderValue>, message: Option<&HeaderValue>) -> Option<String> {
    let code = value?.to_str().unwrap_or("?");
    (code != "0").then(|| {
        let message = message.and_then(|m| m.to_str().ok()).unwrap_or_default();
        match code {
            "12" => format!("gRPC server does not implement the health protocol: {message}"),
            _ => format!("gRPC health check failed: status {code} {message}"),
        }
    })
}

/// An error and its causes, one line (hyper's own message is only the outermost).
fn describe(e: &(dyn std::error::Error + 'static)) -> String {
    let mut text = e.to_string();
    let mut source = e.source();
    while let Some(s) = source {
        text.push_str(": ");
        text.push_str(&s.to_string());
        source = s.source();
    }
    text
}

/// The location a redirect points to, resolved against the URL requested.
fn redirect_target(current: &Uri, location: &str) -> Result<(Uri, bool), String> {
    if location.contains("://") {
        let uri: Uri = location
            .parse()
            .map_err(|e| format!("redirect to {location:?}: {e}"))?;
        return Ok((uri, false));
    }
    let scheme = current.scheme_str().unwrap_or("http");
    let authority = current.authority().map(|a| a.as_str()).unwrap_or_default();
    let path = if location.starts_with('/') {
        location.to_owned()
    } else {
        let base = current.path();
        let dir = &base[..=base.rfind('/').unwrap_or(0)];
        format!("{dir}{location}")
    };
    let uri: Uri = format!("{scheme}://{authority}{path}")
        .parse()
        .map_err(|e| format!("redirect to {location:?}: {e}"))?;
    Ok((uri, true))
}

/// Accepts any server certificate: `insecureSkipVerify` of a servers transport.
#[derive(Debug)]
struct AcceptAnyCertificate(Arc<rustls::crypto::CryptoProvider>);

impl rustls::client::danger::ServerCertVerifier for AcceptAnyCertificate {
    fn verify_server_cert(
        &self,
        _end_entity: &rustls_pki_types::CertificateDer<'_>,
        _intermediates: &[rustls_pki_types::CertificateDer<'_>],
        _server_name: &rustls_pki_types::ServerName<'_>,
        _ocsp_response: &[u8],
        _now: rustls_pki_types::UnixTime,
    ) -> Result<rustls::client::danger::ServerCertVerified, rustls::Error> {
        Ok(rustls::client::danger::ServerCertVerified::assertion())
    }

    fn verify_tls12_signature(
        &self,
        message: &[u8],
        cert: &rustls_pki_types::CertificateDer<'_>,
        dss: &rustls::DigitallySignedStruct,
    ) -> Result<rustls::client::danger::HandshakeSignatureValid, rustls::Error> {
        rustls::crypto::verify_tls12_signature(
            message,
            cert,
            dss,
            &self.0.signature_verification_algorithms,
        )
    }

    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &rustls_pki_types::CertificateDer<'_>,
        dss: &rustls::DigitallySignedStruct,
    ) -> Result<rustls::client::danger::HandshakeSignatureValid, rustls::Error> {
        rustls::crypto::verify_tls13_signature(
            message,
            cert,
            dss,
            &self.0.signature_verification_algorithms,
        )
    }

    fn supported_verify_schemes(&self) -> Vec<rustls::SignatureScheme> {
        self.0.signature_verification_algorithms.supported_schemes()
    }
}

fn tls_config(insecure: bool) -> rustls::ClientConfig {
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let builder = rustls::ClientConfig::builder_with_provider(provider.clone())
        .with_safe_default_protocol_versions()
        .unwrap_or_else(|_| rustls::ClientConfig::builder());
    if insecure {
        builder
            .dangerous()
            .with_custom_certificate_verifier(Arc::new(AcceptAnyCertificate(provider)))
            .with_no_client_auth()
    } else {
        let roots = rustls::RootCertStore {
            roots: webpki_roots::TLS_SERVER_ROOTS.to_vec(),
        };
        builder.with_root_certificates(roots).with_no_client_auth()
    }
}

fn http_client(protocol: Protocol, insecure: bool) -> HttpClient {
    let mut http = HttpConnector::new();
    http.enforce_http(false);
    http.set_nodelay(true);
    let builder = hyper_rustls::HttpsConnectorBuilder::new()
        .with_tls_config(tls_config(insecure))
        .https_or_http();
    let mut client = Client::builder(TokioExecutor::new());
    client.pool_idle_timeout(Duration::from_secs(90));
    match protocol {
        Protocol::Auto => client.build(builder.enable_http1().enable_http2().wrap_connector(http)),
        Protocol::H2 => {
            client.http2_only(true);
            client.build(builder.enable_http2().wrap_connector(http))
        }
    }
}

/// The HTTP clients checks use (pooled, shared by every checker of the process).
pub struct Prober {
    auto: HttpClient,
    h2: HttpClient,
    auto_insecure: HttpClient,
    h2_insecure: HttpClient,
}

impl Default for Prober {
    fn default() -> Self {
        Self::new()
    }
}

impl Prober {
    /// Clients trusting the webpki roots (and, for `insecureSkipVerify`, anything).
    pub fn new() -> Self {
        Self {
            auto: http_client(Protocol::Auto, false),
            h2: http_client(Protocol::H2, false),
            auto_insecure: http_client(Protocol::Auto, true),
            h2_insecure: http_client(Protocol::H2, true),
        }
    }

    fn client(&self, protocol: Protocol, insecure: bool) -> &HttpClient {
        match (protocol, insecure) {
            (Protocol::Auto, false) => &self.auto,
            (Protocol::H2, false) => &self.h2,
            (Protocol::Auto, true) => &self.auto_insecure,
            (Protocol::H2, true) => &self.h2_insecure,
        }
    }

    /// Runs one check within `options.timeout`: `Ok` when the server is healthy, else why not.
    pub async fn check(
        &self,
        request: &CheckRequest,
        options: &ServerHealthCheck,
        insecure: bool,
    ) -> Result<(), String> {
        let timeout = options
            .timeout
            .as_std()
            .filter(|d| !d.is_zero())
            .unwrap_or(Duration::from_secs(5));
        let client = self.client(request.protocol, insecure);
        let run = async {
            if request.grpc {
                grpc_check(client, request, options).await
            } else {
                http_check(client, request, options).await
            }
        };
        tokio::time::timeout(timeout, run)
            .await
            .unwrap_or_else(|_| Err(format!("no answer within {timeout:?}")))
    }
}

fn add_headers(
    mut builder: hyper::http::request::Builder,
    options: &ServerHealthCheck,
) -> Result<hyper::http::request::Builder, String> {
    for (name, value) in &options.headers {
        let name = HeaderName::try_from(name.as_str())
            .map_err(|e| format!("header name {name:?}: {e}"))?;
        let value =
            HeaderValue::try_from(value.as_str()).map_err(|e| format!("header {name}: {e}"))?;
        builder = builder.header(name, value);
    }
    Ok(builder)
}

async fn http_check(
    client: &HttpClient,
    request: &CheckRequest,
    options: &ServerHealthCheck,
) -> Result<(), String> {
    let mut method = if options.method.is_empty() {
        Method::GET
    } else {
        Method::from_bytes(options.method.as_bytes())
            .map_err(|e| format!("method {:?}: {e}", options.method))?
    };
    let mut uri = request.uri.clone();
    let mut host = (!options.hostname.is_empty()).then(|| options.hostname.clone());
    for hop in 0..=MAX_REDIRECTS {
        let mut builder = Request::builder().method(method.clone()).uri(uri.clone());
        builder = add_headers(builder, options)?;
        if let Some(host) = &host {
            builder = builder.header(header::HOST, host.as_str());
        }
        let req = builder
            .body(Full::new(Bytes::new()))
            .map_err(|e| format!("building the request: {e}"))?;
        let response = client
            .request(req)
            .await
            .map_err(|e| format!("HTTP request failed: {}", describe(&e)))?;
        let status = response.status();
        let location = response
            .headers()
            .get(header::LOCATION)
            .and_then(|l| l.to_str().ok())
            .map(str::to_owned);
        match location {
            Some(location) if options.follow_redirects && status.is_redirection() => {
                if hop == MAX_REDIRECTS {
                    return Err(format!("stopped after {MAX_REDIRECTS} redirects"));
                }
                let (next, relative) = redirect_target(&uri, &location)?;
                uri = next;
                // Go keeps a custom Host only through relative redirects.
                if !relative {
                    host = None;
                }
                if matches!(status.as_u16(), 301..=303) && method != Method::HEAD {
                    method = Method::GET;
                }
            }
            _ => return status_verdict(status, options.status),
        }
    }
    Err(format!("stopped after {MAX_REDIRECTS} redirects"))
}

async fn grpc_check(
    client: &HttpClient,
    request: &CheckRequest,
    options: &ServerHealthCheck,
) -> Result<(), String> {
    let mut builder = Request::builder()
        .method(Method::POST)
        .uri(request.uri.clone())
        .header(header::CONTENT_TYPE, "application/grpc")
        .header(header::TE, "trailers");
    builder = add_headers(builder, options)?;
    let req = builder
        .body(Full::new(Bytes::from(grpc_request(""))))
        .map_err(|e| format!("building the request: {e}"))?;
    let response = client
        .request(req)
        .await
        .map_err(|e| format!("gRPC health check failed: {}", describe(&e)))?;
    if response.status() != StatusCode::OK {
        return Err(format!(
            "gRPC health check failed: HTTP status {}",
            response.status().as_u16()
        ));
    }
    let headers = response.headers().clone();
    if let Some(e) = grpc_status_error(headers.get("grpc-status"), headers.get("grpc-message")) {
        return Err(e);
    }
    let collected = response
        .into_body()
        .collect()
        .await
        .map_err(|e| format!("gRPC health check failed: {}", describe(&e)))?;
    if let Some(trailers) = collected.trailers()
        && let Some(e) =
            grpc_status_error(trailers.get("grpc-status"), trailers.get("grpc-message"))
    {
        return Err(e);
    }
    let status = grpc_response_status(&collected.to_bytes())?;
    if status == 1 {
        Ok(())
    } else {
        Err(format!(
            "received gRPC status code: {}",
            serving_status_name(status)
        ))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn statuses() {
        let cases = [
            ("200 any", 200, 0, true),
            ("204 any", 204, 0, true),
            ("302 any", 302, 0, true),
            ("199 any", 199, 0, false),
            ("404 any", 404, 0, false),
            ("503 any", 503, 0, false),
            ("expected 204", 204, 204, true),
            ("200 when 204 expected", 200, 204, false),
            ("500 expected", 500, 500, true),
        ];
        for (case, code, expected, healthy) in cases {
            let status = StatusCode::from_u16(code).unwrap();
            assert_eq!(status_verdict(status, expected).is_ok(), healthy, "{case}");
        }
    }

    #[test]
    fn grpc_wire_format() {
        assert_eq!(grpc_request(""), [0, 0, 0, 0, 0]);
        assert_eq!(grpc_request("ab"), [0, 0, 0, 0, 4, 0x0a, 2, b'a', b'b']);
        let cases: [(&str, &[u8], Result<u64, ()>); 7] = [
            ("serving", &[0, 0, 0, 0, 2, 0x08, 1], Ok(1)),
            ("not serving", &[0, 0, 0, 0, 2, 0x08, 2], Ok(2)),
            ("empty message is UNKNOWN", &[0, 0, 0, 0, 0], Ok(0)),
            (
                "trailing garbage",
                &[0, 0, 0, 0, 7, 0x12, 2, b'x', b'y', 0x08, 1, 0],
                Err(()),
            ),
            ("compressed", &[1, 0, 0, 0, 2, 0x08, 1], Err(())),
            ("truncated", &[0, 0, 0, 0, 5, 0x08], Err(())),
            ("empty", &[], Err(())),
        ];
        for (case, bytes, expected) in cases {
            assert_eq!(
                grpc_response_status(bytes).map_err(|_| ()),
                expected,
                "{case}"
            );
        }
        // A well-formed message with an unknown field before the status.
        assert_eq!(
            grpc_response_status(&[0, 0, 0, 0, 6, 0x12, 2, b'x', b'y', 0x08, 1]),
            Ok(1)
        );
    }

    #[test]
    fn redirects_resolve() {
        let base: Uri = "http://a:1/app/health".parse().unwrap();
        let cases = [
            ("absolute", "https://b/x", "https://b/x", false),
            ("absolute path", "/ok", "http://a:1/ok", true),
            ("relative", "ok", "http://a:1/app/ok", true),
        ];
        for (case, location, expected, relative) in cases {
            let (uri, rel) = redirect_target(&base, location).unwrap();
            assert_eq!(
                (uri.to_string().as_str(), rel),
                (expected, relative),
                "{case}"
            );
        }
    }

    mod against_a_server {
        use super::*;
        use crate::target::check_request;
        use actix_web::{App, HttpRequest, HttpResponse, HttpServer, web};

        async fn handler(req: HttpRequest) -> HttpResponse {
            let header = |name: &str| {
                req.headers()
                    .get(name)
                    .and_then(|v| v.to_str().ok())
                    .unwrap_or_default()
                    .to_owned()
            };
            match req.path() {
                "/ok" => HttpResponse::Ok().finish(),
                "/status/204" => HttpResponse::NoContent().finish(),
                "/status/500" => HttpResponse::InternalServerError().finish(),
                "/redirect" => HttpResponse::Found()
                    .insert_header(("location", "/status/500"))
                    .finish(),
                "/host" if header("host") == "check.example" => HttpResponse::Ok().finish(),
                "/header" if header("x-check") == "yes" => HttpResponse::Ok().finish(),
                "/method" if req.method() == actix_web::http::Method::POST => {
                    HttpResponse::Ok().finish()
                }
                "/slow" => {
                    actix_web::rt::time::sleep(Duration::from_secs(3)).await;
                    HttpResponse::Ok().finish()
                }
                "/grpc.health.v1.Health/Check" => {
                    let (grpc_status, serving) = match header("x-want").as_str() {
                        "serving" => ("0", 1u8),
                        "not-serving" => ("0", 2),
                        _ => ("12", 0),
                    };
                    let mut response = HttpResponse::Ok();
                    response
                        .content_type("application/grpc")
                        .insert_header(("grpc-status", grpc_status));
                    if grpc_status == "0" {
                        response.body(vec![0u8, 0, 0, 0, 2, 0x08, serving])
                    } else {
                        response.finish()
                    }
                }
                _ => HttpResponse::NotFound().finish(),
            }
        }

        #[actix_web::test]
        async fn checks_against_a_real_server() {
            let server = HttpServer::new(|| App::new().default_service(web::to(handler)))
                .workers(1)
                .bind_auto_h2c(("127.0.0.1", 0))
                .unwrap();
            let addr = server.addrs()[0];
            let handle = server.run();
            let stop = handle.handle();
            actix_web::rt::spawn(handle);
            let refused = std::net::TcpListener::bind("127.0.0.1:0")
                .unwrap()
                .local_addr()
                .unwrap();
            let base = format!("http://{addr}");
            let prober = Prober::new();
            let cases = [
                (
                    "2xx",
                    base.clone(),
                    serde_json::json!({"path": "/ok"}),
                    None,
                ),
                (
                    "5xx",
                    base.clone(),
                    serde_json::json!({"path": "/status/500"}),
                    Some("500"),
                ),
                (
                    "expected status",
                    base.clone(),
                    serde_json::json!({"path": "/status/204", "status": 204}),
                    None,
                ),
                (
                    "wrong status",
                    base.clone(),
                    serde_json::json!({"path": "/ok", "status": 204}),
                    Some("expected status code: 204"),
                ),
                (
                    "redirect followed",
                    base.clone(),
                    serde_json::json!({"path": "/redirect"}),
                    Some("500"),
                ),
                (
                    "redirect not followed",
                    base.clone(),
                    serde_json::json!({"path": "/redirect", "followRedirects": false}),
                    None,
                ),
                (
                    "hostname",
                    base.clone(),
                    serde_json::json!({"path": "/host", "hostname": "check.example"}),
                    None,
                ),
                (
                    "no hostname",
                    base.clone(),
                    serde_json::json!({"path": "/host"}),
                    Some("404"),
                ),
                (
                    "headers",
                    base.clone(),
                    serde_json::json!({"path": "/header", "headers": {"X-Check": "yes"}}),
                    None,
                ),
                (
                    "method",
                    base.clone(),
                    serde_json::json!({"path": "/method", "method": "POST"}),
                    None,
                ),
                (
                    "timeout",
                    base.clone(),
                    serde_json::json!({"path": "/slow", "timeout": "200ms"}),
                    Some("no answer within"),
                ),
                (
                    "refused",
                    format!("http://{refused}"),
                    serde_json::json!({"path": "/ok"}),
                    Some("HTTP request failed"),
                ),
                (
                    "port replaced",
                    format!("http://{refused}"),
                    serde_json::json!({"path": "/ok", "port": addr.port()}),
                    None,
                ),
                (
                    "h2c",
                    format!("h2c://{addr}"),
                    serde_json::json!({"path": "/ok"}),
                    None,
                ),
                (
                    "grpc serving",
                    base.clone(),
                    serde_json::json!({"mode": "grpc", "headers": {"x-want": "serving"}}),
                    None,
                ),
                (
                    "grpc not serving",
                    base.clone(),
                    serde_json::json!({"mode": "grpc", "headers": {"x-want": "not-serving"}}),
                    Some("NOT_SERVING"),
                ),
                (
                    "grpc unimplemented",
                    base.clone(),
                    serde_json::json!({"mode": "grpc"}),
                    Some("does not implement"),
                ),
            ];
            for (case, server, options, expected_error) in cases {
                let options: ServerHealthCheck = serde_json::from_value(options).unwrap();
                let request = check_request(&server, &options).unwrap();
                let result = prober.check(&request, &options, false).await;
                match (result, expected_error) {
                    (Ok(()), None) => {}
                    (Err(e), Some(part)) => assert!(e.contains(part), "{case}: {e}"),
                    (Ok(()), Some(part)) => {
                        panic!("{case}: healthy, expected an error with {part:?}")
                    }
                    (Err(e), None) => panic!("{case}: {e}"),
                }
            }
            stop.stop(false).await;
        }
    }
}
