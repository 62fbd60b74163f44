//! What to check: the load-balancer services of the merged configuration that have a
//! `healthCheck`, and for each server the request a check sends (Traefik's rules: the
//! server URL with scheme, port and path replaced as the options say).

use std::collections::{BTreeMap, BTreeSet};

use hyper::Uri;
use switchyard_merge::Merged;
use switchyard_model::http::{ServerHealthCheck, Service};

/// The checks of one load-balancer service.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ServiceChecks {
    /// The `healthCheck` options.
    pub check: ServerHealthCheck,
    /// The server URLs, as configured (the keys on the bus), deduplicated and sorted.
    pub servers: Vec<String>,
    /// `insecureSkipVerify` of the service's servers transport.
    pub insecure_skip_verify: bool,
}

/// The services to check, by qualified name: every load balancer with a `healthCheck` that
/// an enabled router reaches (directly or through weighted, mirroring and failover
/// services), as Traefik only checks the services it builds for routers.
pub fn checks_from(merged: &Merged) -> BTreeMap<String, ServiceChecks> {
    let services = &merged.config.http.services;
    let mut reached = BTreeSet::new();
    let mut stack: Vec<&str> = merged
        .config
        .http
        .routers
        .values()
        .map(|r| r.service.as_str())
        .collect();
    while let Some(name) = stack.pop() {
        if !reached.insert(name) {
            continue;
        }
        if let Some(service) = services.get(name) {
            stack.extend(service.referenced_services());
        }
    }
    let mut out = BTreeMap::new();
    for name in reached {
        let Some(Service::LoadBalancer(lb)) = services.get(name) else {
            continue;
        };
        let Some(check) = &lb.health_check else {
            continue;
        };
        let servers: BTreeSet<String> = lb.servers.iter().map(|s| s.url.clone()).collect();
        let insecure_skip_verify = merged
            .config
            .http
            .servers_transports
            .get(&lb.servers_transport)
            .is_some_and(|t| t.insecure_skip_verify);
        out.insert(
            name.to_owned(),
            ServiceChecks {
                check: check.clone(),
                servers: servers.into_iter().collect(),
                insecure_skip_verify,
            },
        );
    }
    out
}

/// How a check request travels.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Protocol {
    /// HTTP/1.1, or HTTP/2 when TLS negotiates it.
    Auto,
    /// HTTP/2 only: prior knowledge in clear text (`h2c`), ALPN `h2` over TLS.
    H2,
}

/// One check request, computed once per server.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CheckRequest {
    /// The URL requested (`http` or `https`).
    pub uri: Uri,
    /// How it travels.
    pub protocol: Protocol,
    /// Whether this is a gRPC `grpc.health.v1.Health/Check` call.
    pub grpc: bool,
}

/// Why no check request can be made for a server.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("health check URL for server {server:?}: {reason}")]
pub struct TargetError {
    /// The server URL.
    pub server: String,
    /// What is wrong.
    pub reason: String,
}

/// The path `reference` resolved against a server path (`base`), as Go's `url.Parse`
/// resolves a relative reference: empty keeps the server's path and query, `/x` replaces
/// them, `x` replaces the last segment.
fn resolve_path(base: &str, reference: &str) -> String {
    if reference.is_empty() {
        return if base.is_empty() {
            "/".to_owned()
        } else {
            base.to_owned()
        };
    }
    if reference.starts_with('/') {
        return reference.to_owned();
    }
    let base_path = base.split('?').next().unwrap_or_default();
    let dir = match base_path.rfind('/') {
        Some(i) => &base_path[..=i],
        None => "/",
    };
    format!("{dir}{reference}")
}

/// The request that checks `server` with options `check`.
pub fn check_request(server: &str, check: &ServerHealthCheck) -> Result<CheckRequest, TargetError> {
    let err = |reason: String| TargetError {
        server: server.to_owned(),
        reason,
    };
    let uri: Uri = server
        .parse()
        .map_err(|e| err(format!("server URL does not parse: {e}")))?;
    let server_scheme = uri
        .scheme_str()
        .ok_or_else(|| err("server URL has no scheme".into()))?;
    let host = uri
        .host()
        .ok_or_else(|| err("server URL has no host".into()))?;
    let scheme = if check.scheme.is_empty() {
        server_scheme.to_ascii_lowercase()
    } else {
        check.scheme.to_ascii_lowercase()
    };
    let (wire_scheme, protocol) = match scheme.as_str() {
        "http" => ("http", Protocol::Auto),
        "https" => ("https", Protocol::Auto),
        "h2c" => ("http", Protocol::H2),
        other => return Err(err(format!("scheme {other:?} is not http, https or h2c"))),
    };
    let grpc = check.is_grpc();
    // gRPC always speaks HTTP/2; over TLS it is negotiated with ALPN.
    let protocol = if grpc { Protocol::H2 } else { protocol };
    let port = if check.port != 0 {
        Some(check.port)
    } else {
        uri.port_u16()
    };
    let authority = match port {
        Some(port) => format!("{host}:{port}"),
        None => host.to_owned(),
    };
    if check.path.contains("://") {
        return Err(err(format!("path {:?} must be a relative URL", check.path)));
    }
    let path = if grpc {
        "/grpc.health.v1.Health/Check".to_owned()
    } else {
        let base = uri.path_and_query().map(|p| p.as_str()).unwrap_or_default();
        // `http://a:80` has the path `/` in `Uri`; Go keeps it empty, which resolves the same.
        resolve_path(base, &check.path)
    };
    let uri: Uri = format!("{wire_scheme}://{authority}{path}")
        .parse()
        .map_err(|e| err(format!("check URL does not parse: {e}")))?;
    Ok(CheckRequest {
        uri,
        protocol,
        grpc,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use switchyard_merge::{MergeOptions, ProviderConfig, merge};

    fn hc(json: serde_json::Value) -> ServerHealthCheck {
        serde_json::from_value(json).unwrap()
    }

    #[test]
    fn check_urls_follow_traefiks_rules() {
        let cases = [
            (
                "path replaces the server path",
                "http://10.0.0.1:8080/base",
                serde_json::json!({"path": "/health"}),
                "http://10.0.0.1:8080/health",
                Protocol::Auto,
            ),
            (
                "query is kept",
                "http://a:1",
                serde_json::json!({"path": "/health?full=1"}),
                "http://a:1/health?full=1",
                Protocol::Auto,
            ),
            (
                "relative path replaces the last segment",
                "http://a:1/app/index",
                serde_json::json!({"path": "health"}),
                "http://a:1/app/health",
                Protocol::Auto,
            ),
            (
                "empty path keeps the server's",
                "http://a:1/app",
                serde_json::json!({}),
                "http://a:1/app",
                Protocol::Auto,
            ),
            (
                "port replaced",
                "http://a:1",
                serde_json::json!({"path": "/h", "port": 9000}),
                "http://a:9000/h",
                Protocol::Auto,
            ),
            (
                "scheme replaced, default port of the new scheme",
                "http://a",
                serde_json::json!({"path": "/h", "scheme": "https"}),
                "https://a/h",
                Protocol::Auto,
            ),
            (
                "h2c server",
                "h2c://a:1",
                serde_json::json!({"path": "/h"}),
                "http://a:1/h",
                Protocol::H2,
            ),
            (
                "ipv6",
                "http://[::1]:8080",
                serde_json::json!({"path": "/h"}),
                "http://[::1]:8080/h",
                Protocol::Auto,
            ),
            (
                "grpc ignores the path",
                "http://a:50051",
                serde_json::json!({"mode": "grpc", "path": "/ignored"}),
                "http://a:50051/grpc.health.v1.Health/Check",
                Protocol::H2,
            ),
        ];
        for (case, server, json, expected, protocol) in cases {
            let request =
                check_request(server, &hc(json)).unwrap_or_else(|e| panic!("{case}: {e}"));
            assert_eq!(request.uri.to_string(), expected, "{case}");
            assert_eq!(request.protocol, protocol, "{case}");
        }
    }

    #[test]
    fn bad_check_urls_are_errors() {
        let cases = [
            ("no scheme", "a:1", serde_json::json!({})),
            (
                "bad scheme",
                "http://a:1",
                serde_json::json!({"scheme": "ftp"}),
            ),
            (
                "absolute path",
                "http://a:1",
                serde_json::json!({"path": "http://other/health"}),
            ),
            ("garbage", "http://", serde_json::json!({})),
        ];
        for (case, server, json) in cases {
            assert!(check_request(server, &hc(json)).is_err(), "{case}");
        }
    }

    #[test]
    fn only_checked_load_balancers_reached_by_routers() {
        let config: switchyard_model::DynamicConfig = serde_json::from_value(serde_json::json!({
            "http": {
                "routers": {"r": {"rule": "Host(`a`)", "service": "top"}},
                "serversTransports": {"insecure": {"insecureSkipVerify": true}},
                "services": {
                    "top": {"weighted": {"services": [{"name": "checked"}, {"name": "plain"}]}},
                    "checked": {"loadBalancer": {
                        "serversTransport": "insecure",
                        "healthCheck": {"path": "/h"},
                        "servers": [{"url": "http://b:1"}, {"url": "http://a:1"}, {"url": "http://a:1"}]}},
                    "plain": {"loadBalancer": {"servers": [{"url": "http://c:1"}]}},
                    "unused": {"loadBalancer": {"healthCheck": {"path": "/h"}, "servers": [{"url": "http://d:1"}]}}
                }
            }
        }))
        .unwrap();
        let providers = BTreeMap::from([(
            "file".to_owned(),
            ProviderConfig {
                config,
                problems: vec![],
            },
        )]);
        let checks = checks_from(&merge(&providers, &MergeOptions::default()));
        let names: Vec<_> = checks.keys().cloned().collect();
        assert_eq!(names, ["checked@file"]);
        let checked = &checks["checked@file"];
        assert_eq!(checked.servers, ["http://a:1", "http://b:1"]);
        assert_eq!(checked.check.path, "/h");
        assert!(checked.insecure_skip_verify);
    }
}
