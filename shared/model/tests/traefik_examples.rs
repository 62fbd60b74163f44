//! Examples in the style of Traefik's documentation (YAML written as JSON) decode into
//! the expected variants and validate cleanly.

#![recursion_limit = "256"]

use serde_json::json;
use switchyard_model::http::{Middleware, Service, Strategy};
use switchyard_model::{Duration, DynamicConfig, tcp, udp};

fn documented() -> DynamicConfig {
    let value = json!({
        "http": {
            "routers": {
                "my-router": {
                    "rule": "Path(`/foo`)",
                    "service": "service-foo",
                    "entryPoints": ["web"],
                    "middlewares": ["my-basic-auth"]
                },
                "secure-router": {
                    "rule": "Host(`example.com`)",
                    "service": "app",
                    "tls": {"certResolver": "myresolver", "domains": [{"main": "example.com", "sans": ["*.example.com"]}]}
                },
                "plain-tls": {"rule": "Host(`a.example.com`)", "service": "app", "tls": {}}
            },
            "services": {
                "service-foo": {"loadBalancer": {"servers": [{"url": "http://foo/"}, {"url": "http://bar/"}]}},
                "app": {"weighted": {"services": [{"name": "appv1", "weight": 3}, {"name": "appv2", "weight": 1}]}},
                "mirrored-api": {"mirroring": {"service": "appv1", "mirrors": [{"name": "appv2", "percent": 10}]}},
                "failover-app": {"failover": {"service": "main", "fallback": "backup"}},
                "main": {"loadBalancer": {
                    "healthCheck": {"path": "/health", "interval": "10s", "timeout": "3s"},
                    "servers": [{"url": "http://private-ip-server-1/"}]
                }},
                "backup": {"loadBalancer": {
                    "healthCheck": {"path": "/health", "interval": 10, "timeout": 3},
                    "servers": [{"url": "http://private-ip-server-2/"}]
                }},
                "sticky": {"loadBalancer": {
                    "sticky": {"cookie": {"name": "my_sticky_cookie_name", "secure": true, "httpOnly": true}},
                    "servers": [{"url": "http://private-ip-server-3/"}]
                }}
            },
            "middlewares": {
                "my-basic-auth": {"basicAuth": {"users": ["test:$apr1$H6uskkkW$IgXLP6ewTrSuBkTrqE8wj/"]}},
                "add-foo": {"addPrefix": {"prefix": "/foo"}},
                "cors": {"headers": {
                    "accessControlAllowMethods": ["GET", "OPTIONS", "PUT"],
                    "accessControlAllowHeaders": ["*"],
                    "accessControlAllowOriginList": ["https://foo.bar.org", "https://example.org"],
                    "accessControlMaxAge": 100,
                    "addVaryHeader": true
                }},
                "test-ratelimit": {"rateLimit": {"average": 100, "burst": 200}},
                "redirect-https": {"redirectScheme": {"scheme": "https", "permanent": true}},
                "strip": {"stripPrefix": {"prefixes": ["/foobar", "/fiibar"]}},
                "known-ips": {"ipAllowList": {"sourceRange": ["127.0.0.1/32", "192.168.1.7"], "ipStrategy": {"depth": 2}}},
                "test-retry": {"retry": {"attempts": 4, "initialInterval": "100ms"}},
                "test-errors": {"errors": {"status": ["500", "501", "503", "505-599"], "service": "error-handler-service", "query": "/{status}.html"}},
                "test-auth": {"forwardAuth": {"address": "https://example.com/auth", "authResponseHeaders": ["X-Auth-User", "X-Secret"]}},
                "test-compress": {"compress": {"excludedContentTypes": ["text/event-stream"]}},
                "secured": {"chain": {"middlewares": ["redirect-https", "known-ips", "my-basic-auth"]}},
                "test-inflightreq": {"inFlightReq": {"amount": 10}},
                "latency-check": {"circuitBreaker": {"expression": "LatencyAtQuantileMS(50.0) > 100"}},
                "limit": {"buffering": {"maxRequestBodyBytes": 2000000}},
                "test-digest": {"digestAuth": {"users": ["test:traefik:a2688e031edb4be6a3797f3882655c05"]}},
                "test-passtlsclientcert": {"passTLSClientCert": {"pem": true}},
                "test-replacepath": {"replacePath": {"path": "/foo"}},
                "test-replacepathregex": {"replacePathRegex": {"regex": "^/foo/(.*)", "replacement": "/bar/$1"}},
                "test-redirectregex": {"redirectRegex": {"regex": "^http://localhost/(.*)", "replacement": "http://mydomain/${1}"}},
                "test-grpc-web": {"grpcWeb": {"allowOrigins": ["*"]}},
                "autodetect": {"contentType": {}},
                "test-stripprefixregex": {"stripPrefixRegex": {"regex": ["/foo/[a-z0-9]+/[0-9]+/"]}}
            },
            "serversTransports": {
                "mytransport": {"serverName": "myhost", "insecureSkipVerify": true, "forwardingTimeouts": {"dialTimeout": "1s"}}
            }
        },
        "tcp": {
            "routers": {
                "to-db": {"rule": "HostSNI(`*`)", "service": "db", "entryPoints": ["postgres"]},
                "passthrough": {"rule": "HostSNI(`secure.example.com`)", "service": "db", "tls": {"passthrough": true}}
            },
            "services": {"db": {"loadBalancer": {"servers": [{"address": "10.0.0.5:5432"}]}}},
            "middlewares": {"test-inflightconn": {"inFlightConn": {"amount": 10}}},
            "serversTransports": {"mytransport": {"dialTimeout": "30s", "proxyProtocol": {}}}
        },
        "udp": {
            "routers": {"to-dns": {"entryPoints": ["streaming"], "service": "dns"}},
            "services": {"dns": {"loadBalancer": {"servers": [{"address": "10.0.0.53:53"}]}}}
        },
        "tls": {
            "certificates": [
                {"certFile": "/path/to/domain.cert", "keyFile": "/path/to/domain.key", "stores": ["default"]},
                {"certFile": "/path/to/other.cert", "keyFile": "/path/to/other.key"}
            ],
            "options": {
                "default": {"minVersion": "VersionTLS12"},
                "mintls13": {"minVersion": "VersionTLS13"}
            },
            "stores": {"default": {"defaultCertificate": {"certFile": "path/to/cert.crt", "keyFile": "path/to/cert.key"}}}
        }
    });
    serde_json::from_value(value).expect("documented examples decode")
}

#[test]
fn documented_examples_validate_cleanly() {
    assert_eq!(documented().validate(), Vec::new());
}

#[test]
fn documented_services_decode_into_their_variants() {
    let cfg = documented();
    let svc = |name: &str| cfg.http.services.get(name);
    assert!(matches!(svc("service-foo"), Some(Service::LoadBalancer(lb))
        if lb.servers.len() == 2 && lb.pass_host_header && lb.strategy == Strategy::Wrr));
    assert!(matches!(svc("app"), Some(Service::Weighted(w))
        if w.services.iter().map(|s| s.weight).collect::<Vec<_>>() == [3, 1]));
    assert!(matches!(svc("mirrored-api"), Some(Service::Mirroring(m))
        if m.mirror_body && m.max_body_size == -1 && m.mirrors[0].percent == 10));
    assert!(matches!(svc("failover-app"), Some(Service::Failover(f)) if f.fallback == "backup"));
    for name in ["main", "backup"] {
        let Some(Service::LoadBalancer(lb)) = svc(name) else {
            panic!("{name} is not a load balancer");
        };
        let hc = lb.health_check.as_ref().expect("health check");
        assert_eq!(
            (hc.interval, hc.timeout),
            (Duration::from_secs(10), Duration::from_secs(3)),
            "{name}"
        );
        assert!(hc.follow_redirects && hc.mode == "http", "{name}");
    }
    assert!(matches!(svc("sticky"), Some(Service::LoadBalancer(lb))
        if lb.sticky.as_ref().and_then(|s| s.cookie.as_ref()).is_some_and(|c| c.http_only && c.path == "/")));
}

#[test]
fn documented_middlewares_decode_into_their_variants() {
    let cfg = documented();
    let expected = [
        ("my-basic-auth", "basicAuth"),
        ("add-foo", "addPrefix"),
        ("cors", "headers"),
        ("test-ratelimit", "rateLimit"),
        ("redirect-https", "redirectScheme"),
        ("strip", "stripPrefix"),
        ("known-ips", "ipAllowList"),
        ("test-retry", "retry"),
        ("test-errors", "errors"),
        ("test-auth", "forwardAuth"),
        ("test-compress", "compress"),
        ("secured", "chain"),
        ("test-inflightreq", "inFlightReq"),
        ("latency-check", "circuitBreaker"),
        ("limit", "buffering"),
        ("test-digest", "digestAuth"),
        ("test-passtlsclientcert", "passTLSClientCert"),
        ("test-replacepath", "replacePath"),
        ("test-replacepathregex", "replacePathRegex"),
        ("test-redirectregex", "redirectRegex"),
        ("test-grpc-web", "grpcWeb"),
        ("autodetect", "contentType"),
        ("test-stripprefixregex", "stripPrefixRegex"),
    ];
    for (name, type_name) in expected {
        let mw = cfg
            .http
            .middlewares
            .get(name)
            .unwrap_or_else(|| panic!("{name} missing"));
        assert_eq!(mw.type_name(), type_name, "{name}");
    }
    assert!(
        matches!(cfg.http.middlewares.get("test-ratelimit"), Some(Middleware::RateLimit(r))
        if r.average == 100 && r.burst == 200 && r.period == Duration::from_secs(1))
    );
    assert!(
        matches!(cfg.http.middlewares.get("test-retry"), Some(Middleware::Retry(r))
        if r.initial_interval == Duration::from_millis(100))
    );
    assert!(
        matches!(cfg.http.middlewares.get("redirect-https"), Some(Middleware::RedirectScheme(r)) if r.permanent)
    );
    assert_eq!(
        cfg.http
            .middlewares
            .get("secured")
            .map(Middleware::referenced_middlewares),
        Some(
            &[
                "redirect-https".to_owned(),
                "known-ips".to_owned(),
                "my-basic-auth".to_owned()
            ][..]
        )
    );
    assert_eq!(
        cfg.http
            .middlewares
            .get("test-errors")
            .and_then(Middleware::referenced_service),
        Some("error-handler-service")
    );
}

#[test]
fn documented_tcp_udp_tls_decode() {
    let cfg = documented();
    assert!(
        matches!(cfg.tcp.routers.get("passthrough"), Some(r) if r.tls.as_ref().is_some_and(|t| t.passthrough))
    );
    assert!(
        matches!(cfg.tcp.services.get("db"), Some(tcp::Service::LoadBalancer(lb)) if lb.servers[0].address == "10.0.0.5:5432")
    );
    let transport = cfg
        .tcp
        .servers_transports
        .get("mytransport")
        .expect("tcp transport");
    assert_eq!(transport.proxy_protocol.map(|p| p.version), Some(2));
    assert_eq!(transport.termination_delay, Duration::from_millis(100));
    assert!(matches!(
        cfg.udp.services.get("dns"),
        Some(udp::Service::LoadBalancer(_))
    ));
    assert_eq!(cfg.tls.certificates.len(), 2);
    assert_eq!(
        cfg.tls
            .options
            .get("mintls13")
            .map(|o| o.min_version.as_str()),
        Some("VersionTLS13")
    );
    let http_transport = cfg
        .http
        .servers_transports
        .get("mytransport")
        .expect("http transport");
    let timeouts = http_transport.timeouts();
    assert_eq!(timeouts.dial_timeout, Duration::from_secs(1));
    assert_eq!(timeouts.idle_conn_timeout, Duration::from_secs(90));
    assert!(
        cfg.http
            .routers
            .get("plain-tls")
            .is_some_and(|r| r.tls.is_some())
    );
}
