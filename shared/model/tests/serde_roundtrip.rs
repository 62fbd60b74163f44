//! serde_json round trips of every resource type, and Traefik's defaults.

#![recursion_limit = "512"]

use serde_json::{Value, json};
use switchyard_model::http::{self, Middleware, Service, Strategy};
use switchyard_model::{Duration, DynamicConfig, tcp, udp};

/// Every field of every resource set to a non-default value, in canonical form, so
/// that decoding then encoding gives the same JSON back.
fn full_config() -> Value {
    json!({
        "http": {
            "routers": {
                "api": {
                    "entryPoints": ["web", "websecure"],
                    "rule": "Host(`example.com`) && PathPrefix(`/api`)",
                    "ruleSyntax": "v2",
                    "priority": 42,
                    "middlewares": ["strip", "auth@file"],
                    "service": "api-svc",
                    "tls": {
                        "options": "modern",
                        "certResolver": "le",
                        "domains": [{"main": "example.com", "sans": ["www.example.com"]}]
                    },
                    "observability": {
                        "accessLogs": false,
                        "metrics": true,
                        "tracing": false,
                        "traceVerbosity": "detailed"
                    }
                }
            },
            "services": {
                "lb": {"loadBalancer": {
                    "servers": [
                        {"url": "http://10.0.0.1:8080", "weight": 3, "preservePath": true},
                        {"port": "8080", "scheme": "h2c"}
                    ],
                    "sticky": {"cookie": {
                        "name": "sticky", "secure": true, "httpOnly": true, "sameSite": "lax",
                        "maxAge": 3600, "path": "/app", "domain": "example.com"
                    }},
                    "healthCheck": {
                        "scheme": "https", "mode": "grpc", "path": "/health", "method": "HEAD",
                        "status": 204, "port": 9090, "interval": "10s", "unhealthyInterval": "1m0s",
                        "timeout": "2s", "hostname": "health.local", "followRedirects": false,
                        "headers": {"X-Check": "1"}
                    },
                    "passiveHealthCheck": {"failureWindow": "30s", "maxFailedAttempts": 3},
                    "passHostHeader": false,
                    "responseForwarding": {"flushInterval": "-1ns"},
                    "serversTransport": "internal",
                    "strategy": "p2c"
                }},
                "weighted": {"weighted": {
                    "services": [{"name": "lb", "weight": 3}, {"name": "other@docker", "weight": 0}],
                    "sticky": {"cookie": {}},
                    "healthCheck": {}
                }},
                "mirror": {"mirroring": {
                    "service": "lb",
                    "mirrorBody": false,
                    "maxBodySize": 1024,
                    "mirrors": [{"name": "shadow", "percent": 10}],
                    "healthCheck": {}
                }},
                "failover": {"failover": {"service": "lb", "fallback": "backup", "healthCheck": {}}}
            },
            "middlewares": {
                "add-prefix": {"addPrefix": {"prefix": "/v1"}},
                "basic": {"basicAuth": {
                    "users": ["test:$apr1$H6uskkkW$IgXLP6ewTrSuBkTrqE8wj/"],
                    "usersFile": "/etc/users", "realm": "private", "removeHeader": true,
                    "headerField": "X-User"
                }},
                "buffer": {"buffering": {
                    "maxRequestBodyBytes": 2000000, "memRequestBodyBytes": 1000,
                    "maxResponseBodyBytes": 3000000, "memResponseBodyBytes": 2000,
                    "retryExpression": "IsNetworkError() && Attempts() < 2"
                }},
                "chain": {"chain": {"middlewares": ["add-prefix", "basic"]}},
                "breaker": {"circuitBreaker": {
                    "expression": "NetworkErrorRatio() > 0.5", "checkPeriod": "1s",
                    "fallbackDuration": "30s", "recoveryDuration": "1m0s", "responseCode": 502
                }},
                "gzip": {"compress": {
                    "excludedContentTypes": ["text/event-stream"], "minResponseBodyBytes": 2048,
                    "encodings": ["zstd", "gzip"], "defaultEncoding": "gzip"
                }},
                "ct": {"contentType": {"autoDetect": true}},
                "digest": {"digestAuth": {
                    "users": ["test:traefik:a2688e031edb4be6a3797f3882655c05"], "usersFile": "/etc/digest",
                    "removeHeader": true, "realm": "r", "headerField": "X-User"
                }},
                "errors": {"errors": {
                    "status": ["500-599", "404"], "statusRewrites": {"418": 404},
                    "service": "error-pages", "query": "/{status}.html"
                }},
                "fwd": {"forwardAuth": {
                    "address": "https://auth.example.com/verify",
                    "tls": {"ca": "/ca.pem", "cert": "/c.pem", "key": "/k.pem", "insecureSkipVerify": true, "caOptional": true},
                    "trustForwardHeader": true,
                    "authResponseHeaders": ["X-Auth-User"],
                    "authResponseHeadersRegex": "^X-",
                    "authRequestHeaders": ["Accept"],
                    "addAuthCookiesToResponse": ["session"],
                    "headerField": "X-User",
                    "forwardBody": true,
                    "maxBodySize": 4096,
                    "preserveLocationHeader": true,
                    "preserveRequestMethod": true
                }},
                "grpc": {"grpcWeb": {"allowOrigins": ["*"]}},
                "headers": {"headers": {
                    "customRequestHeaders": {"X-Script-Name": "test", "X-Remove": ""},
                    "customResponseHeaders": {"X-Custom": "v"},
                    "accessControlAllowCredentials": true,
                    "accessControlAllowHeaders": ["Content-Type"],
                    "accessControlAllowMethods": ["GET", "OPTIONS"],
                    "accessControlAllowOriginList": ["https://foo.bar.org"],
                    "accessControlAllowOriginListRegex": ["^https://.*\\.example\\.org$"],
                    "accessControlExposeHeaders": ["X-Exposed"],
                    "accessControlMaxAge": 100,
                    "addVaryHeader": true,
                    "allowedHosts": ["example.com"],
                    "hostsProxyHeaders": ["X-Forwarded-Host"],
                    "sslProxyHeaders": {"X-Forwarded-Proto": "https"},
                    "stsSeconds": 31536000,
                    "stsIncludeSubdomains": true,
                    "stsPreload": true,
                    "forceSTSHeader": true,
                    "frameDeny": true,
                    "customFrameOptionsValue": "SAMEORIGIN",
                    "contentTypeNosniff": true,
                    "browserXssFilter": true,
                    "customBrowserXSSValue": "0",
                    "contentSecurityPolicy": "default-src 'self'",
                    "contentSecurityPolicyReportOnly": "default-src 'none'",
                    "publicKey": "pin-sha256=\"base64+primary==\"",
                    "referrerPolicy": "same-origin",
                    "permissionsPolicy": "camera=()",
                    "isDevelopment": true,
                    "featurePolicy": "vibrate 'none'",
                    "sslRedirect": true,
                    "sslTemporaryRedirect": false,
                    "sslHost": "secure.example.com",
                    "sslForceHost": true
                }},
                "allow": {"ipAllowList": {
                    "sourceRange": ["127.0.0.1/32", "192.168.1.7"],
                    "ipStrategy": {"depth": 2, "excludedIPs": ["10.0.0.0/8"], "ipv6Subnet": 64},
                    "rejectStatusCode": 404
                }},
                "white": {"ipWhiteList": {"sourceRange": ["10.0.0.0/8"], "ipStrategy": {}}},
                "inflight": {"inFlightReq": {
                    "amount": 10,
                    "sourceCriterion": {"requestHeaderName": "username"}
                }},
                "passcert": {"passTLSClientCert": {
                    "pem": true,
                    "info": {
                        "notAfter": true, "notBefore": true, "sans": true, "serialNumber": true,
                        "subject": {
                            "country": true, "province": true, "locality": true, "organization": true,
                            "organizationalUnit": true, "commonName": true, "serialNumber": true,
                            "domainComponent": true
                        },
                        "issuer": {
                            "country": true, "province": true, "locality": true, "organization": true,
                            "commonName": true, "serialNumber": true, "domainComponent": true
                        }
                    }
                }},
                "ratelimit": {"rateLimit": {
                    "average": 100, "period": "1m0s", "burst": 50,
                    "sourceCriterion": {"ipStrategy": {"depth": 1}}
                }},
                "rregex": {"redirectRegex": {
                    "regex": "^http://localhost/(.*)", "replacement": "http://mydomain/${1}", "permanent": true
                }},
                "rscheme": {"redirectScheme": {"scheme": "https", "port": "443", "permanent": true}},
                "rpath": {"replacePath": {"path": "/foo"}},
                "rpathregex": {"replacePathRegex": {"regex": "^/foo/(.*)", "replacement": "/bar/$1"}},
                "retry": {"retry": {"attempts": 4, "initialInterval": "100ms"}},
                "strip": {"stripPrefix": {"prefixes": ["/foobar", "/fiibar"], "forceSlash": false}},
                "stripregex": {"stripPrefixRegex": {"regex": ["/foo/[a-z0-9]+/[0-9]+/"]}}
            },
            "serversTransports": {
                "internal": {
                    "serverName": "backend.local",
                    "insecureSkipVerify": true,
                    "rootCAs": ["/ca.pem"],
                    "certificates": [{"certFile": "/c.pem", "keyFile": "/k.pem"}],
                    "maxIdleConnsPerHost": 7,
                    "forwardingTimeouts": {
                        "dialTimeout": "1s", "responseHeaderTimeout": "2s", "idleConnTimeout": "3s",
                        "readIdleTimeout": "4s", "pingTimeout": "5s"
                    },
                    "disableHTTP2": true,
                    "peerCertURI": "spiffe://example.org/backend",
                    "spiffe": {"ids": ["spiffe://example.org/id"], "trustDomain": "spiffe://example.org"}
                }
            }
        },
        "tcp": {
            "routers": {
                "db": {
                    "entryPoints": ["pg"],
                    "rule": "HostSNI(`db.example.com`)",
                    "ruleSyntax": "v3",
                    "priority": 7,
                    "middlewares": ["allow"],
                    "service": "db",
                    "tls": {
                        "passthrough": true, "options": "modern", "certResolver": "le",
                        "domains": [{"main": "db.example.com"}]
                    }
                }
            },
            "services": {
                "db": {"loadBalancer": {
                    "servers": [{"address": "10.0.0.5:5432", "tls": true}, {"port": "5432"}],
                    "serversTransport": "tcp-transport",
                    "proxyProtocol": {"version": 1},
                    "terminationDelay": 200
                }},
                "split": {"weighted": {"services": [{"name": "db", "weight": 2}], "healthCheck": {}}}
            },
            "middlewares": {
                "allow": {"ipAllowList": {"sourceRange": ["10.0.0.0/8"]}},
                "white": {"ipWhiteList": {"sourceRange": ["::1"]}},
                "conns": {"inFlightConn": {"amount": 10}}
            },
            "serversTransports": {
                "tcp-transport": {
                    "dialTimeout": "5s",
                    "dialKeepAlive": "-1s",
                    "terminationDelay": "1s",
                    "proxyProtocol": {"version": 1},
                    "tls": {
                        "serverName": "db.local", "insecureSkipVerify": true, "rootCAs": ["/ca.pem"],
                        "certificates": [{"certFile": "/c.pem", "keyFile": "/k.pem"}],
                        "peerCertURI": "spiffe://x/y",
                        "spiffe": {"ids": ["spiffe://x/y"], "trustDomain": "spiffe://x"}
                    }
                }
            }
        },
        "udp": {
            "routers": {"dns": {"entryPoints": ["dns"], "service": "dns"}},
            "services": {
                "dns": {"loadBalancer": {"servers": [{"address": "10.0.0.53:53"}, {"port": "53"}]}},
                "dns-split": {"weighted": {"services": [{"name": "dns", "weight": 5}]}}
            }
        },
        "tls": {
            "certificates": [
                {"certFile": "/certs/a.crt", "keyFile": "/certs/a.key", "stores": ["default"]},
                {"certFile": "-----BEGIN CERTIFICATE-----", "keyFile": "-----BEGIN PRIVATE KEY-----"}
            ],
            "options": {
                "modern": {
                    "minVersion": "VersionTLS13",
                    "maxVersion": "VersionTLS13",
                    "cipherSuites": ["TLS_AES_128_GCM_SHA256"],
                    "curvePreferences": ["CurveP521", "X25519"],
                    "clientAuth": {"caFiles": ["/ca.pem"], "clientAuthType": "RequireAndVerifyClientCert"},
                    "sniStrict": true,
                    "alpnProtocols": ["h2"],
                    "disableSessionTickets": true,
                    "preferServerCipherSuites": true
                }
            },
            "stores": {
                "default": {
                    "defaultCertificate": {"certFile": "/d.crt", "keyFile": "/d.key"},
                    "defaultGeneratedCert": {"resolver": "le", "domain": {"main": "example.com", "sans": ["a.example.com"]}}
                }
            }
        }
    })
}

#[test]
fn full_config_round_trips_exactly() {
    let input = full_config();
    let cfg: DynamicConfig = serde_json::from_value(input.clone()).expect("decodes");
    let output = serde_json::to_value(&cfg).expect("encodes");
    assert_eq!(output, input);
    let again: DynamicConfig = serde_json::from_value(output).expect("decodes again");
    assert_eq!(again, cfg);
}

#[test]
fn full_config_is_valid() {
    let cfg: DynamicConfig = serde_json::from_value(full_config()).expect("decodes");
    assert_eq!(cfg.validate(), Vec::new());
}

#[test]
fn full_config_decodes_into_expected_variants() {
    let cfg: DynamicConfig = serde_json::from_value(full_config()).expect("decodes");
    let Some(Service::LoadBalancer(lb)) = cfg.http.services.get("lb") else {
        panic!(
            "lb is not a loadBalancer: {:?}",
            cfg.http.services.get("lb")
        );
    };
    assert_eq!(lb.strategy, Strategy::P2c);
    assert!(!lb.pass_host_header);
    assert_eq!(
        lb.response_forwarding.flush_interval,
        Duration::from_nanos(-1)
    );
    assert_eq!(lb.servers[1].port.as_deref(), Some("8080"));
    assert_eq!(lb.servers[0].effective_weight(), 3);
    assert_eq!(lb.servers[1].effective_weight(), 1);
    let hc = lb.health_check.as_ref().expect("health check");
    assert!(hc.is_grpc());
    assert_eq!(hc.unhealthy_interval, Some(Duration::from_secs(60)));
    assert!(
        matches!(cfg.http.middlewares.get("passcert"), Some(Middleware::PassTlsClientCert(p)) if p.pem)
    );
    assert!(
        matches!(cfg.tcp.services.get("split"), Some(tcp::Service::Weighted(w)) if w.services[0].weight == 2)
    );
    assert!(
        matches!(cfg.udp.services.get("dns"), Some(udp::Service::LoadBalancer(lb)) if lb.servers.len() == 2)
    );
    assert!(matches!(
        cfg.tcp.middlewares.get("conns"),
        Some(tcp::Middleware::InFlightConn(c)) if c.amount == 10
    ));
}

/// Decodes `input` as `T`, checks it equals `expected`, and that it encodes to `encoded`.
fn check_defaults<T>(case: &str, input: Value, expected: &T, encoded: Value)
where
    T: serde::de::DeserializeOwned + serde::Serialize + PartialEq + std::fmt::Debug,
{
    let got: T = serde_json::from_value(input).unwrap_or_else(|e| panic!("{case}: {e}"));
    assert_eq!(&got, expected, "{case}: decoded value");
    let out = serde_json::to_value(&got).unwrap_or_else(|e| panic!("{case}: {e}"));
    assert_eq!(out, encoded, "{case}: encoded value");
}

#[test]
fn http_service_defaults_match_traefik() {
    let lb = http::LoadBalancer {
        pass_host_header: true,
        strategy: Strategy::Wrr,
        response_forwarding: http::ResponseForwarding {
            flush_interval: Duration::from_millis(100),
        },
        ..Default::default()
    };
    check_defaults(
        "empty loadBalancer",
        json!({"loadBalancer": {}}),
        &Service::LoadBalancer(lb.clone()),
        json!({"loadBalancer": {}}),
    );
    check_defaults(
        "passHostHeader false is kept",
        json!({"loadBalancer": {"passHostHeader": false}}),
        &Service::LoadBalancer(http::LoadBalancer {
            pass_host_header: false,
            ..lb.clone()
        }),
        json!({"loadBalancer": {"passHostHeader": false}}),
    );
    check_defaults(
        "empty strategy means wrr",
        json!({"loadBalancer": {"strategy": ""}}),
        &Service::LoadBalancer(lb.clone()),
        json!({"loadBalancer": {}}),
    );
    check_defaults(
        "unknown strategy is kept for validation",
        json!({"loadBalancer": {"strategy": "hrw"}}),
        &Service::LoadBalancer(http::LoadBalancer {
            strategy: Strategy::Unsupported("hrw".into()),
            ..lb
        }),
        json!({"loadBalancer": {"strategy": "hrw"}}),
    );
    check_defaults(
        "empty health check",
        json!({}),
        &http::ServerHealthCheck {
            mode: "http".into(),
            interval: Duration::from_secs(30),
            timeout: Duration::from_secs(5),
            follow_redirects: true,
            ..Default::default()
        },
        json!({}),
    );
    check_defaults(
        "empty passive health check",
        json!({}),
        &http::PassiveServerHealthCheck {
            failure_window: Duration::from_secs(10),
            max_failed_attempts: 1,
        },
        json!({"failureWindow": "10s", "maxFailedAttempts": 1}),
    );
    check_defaults(
        "empty cookie",
        json!({}),
        &http::Cookie {
            path: "/".into(),
            ..Default::default()
        },
        json!({}),
    );
    check_defaults(
        "empty mirroring",
        json!({"mirroring": {"service": "a"}}),
        &Service::Mirroring(http::Mirroring {
            service: "a".into(),
            mirror_body: true,
            max_body_size: -1,
            mirrors: Vec::new(),
            health_check: None,
        }),
        json!({"mirroring": {"service": "a"}}),
    );
    check_defaults(
        "weighted child weight defaults to 1",
        json!({"name": "a"}),
        &http::WrrService {
            name: "a".into(),
            weight: 1,
        },
        json!({"name": "a"}),
    );
    check_defaults(
        "forwarding timeouts",
        json!({}),
        &http::ForwardingTimeouts {
            dial_timeout: Duration::from_secs(30),
            response_header_timeout: Duration::ZERO,
            idle_conn_timeout: Duration::from_secs(90),
            read_idle_timeout: Duration::ZERO,
            ping_timeout: Duration::from_secs(15),
        },
        json!({
            "dialTimeout": "30s", "responseHeaderTimeout": "0s", "idleConnTimeout": "1m30s",
            "readIdleTimeout": "0s", "pingTimeout": "15s"
        }),
    );
}

#[test]
fn http_middleware_defaults_match_traefik() {
    let cases: Vec<(&str, Value, Middleware, Value)> = vec![
        (
            "rateLimit period 1s, burst 1",
            json!({"rateLimit": {"average": 5}}),
            Middleware::RateLimit(http::RateLimit {
                average: 5,
                period: Duration::from_secs(1),
                burst: 1,
                source_criterion: None,
            }),
            json!({"rateLimit": {"average": 5}}),
        ),
        (
            "retry retries immediately by default",
            json!({"retry": {"attempts": 3}}),
            Middleware::Retry(http::Retry {
                attempts: 3,
                initial_interval: Duration::ZERO,
            }),
            json!({"retry": {"attempts": 3}}),
        ),
        (
            "redirectScheme is temporary by default",
            json!({"redirectScheme": {"scheme": "https"}}),
            Middleware::RedirectScheme(http::RedirectScheme {
                scheme: "https".into(),
                port: String::new(),
                permanent: false,
            }),
            json!({"redirectScheme": {"scheme": "https"}}),
        ),
        (
            "circuitBreaker timings and 503",
            json!({"circuitBreaker": {"expression": "LatencyAtQuantileMS(50.0) > 100"}}),
            Middleware::CircuitBreaker(http::CircuitBreaker {
                expression: "LatencyAtQuantileMS(50.0) > 100".into(),
                check_period: Duration::from_millis(100),
                fallback_duration: Duration::from_secs(10),
                recovery_duration: Duration::from_secs(10),
                response_code: 503,
            }),
            json!({"circuitBreaker": {
                "expression": "LatencyAtQuantileMS(50.0) > 100", "checkPeriod": "100ms",
                "fallbackDuration": "10s", "recoveryDuration": "10s", "responseCode": 503
            }}),
        ),
        (
            "compress encodings and minimum size",
            json!({"compress": {}}),
            Middleware::Compress(http::Compress {
                excluded_content_types: Vec::new(),
                included_content_types: Vec::new(),
                min_response_body_bytes: 1024,
                encodings: vec!["gzip".into(), "br".into(), "zstd".into()],
                default_encoding: String::new(),
            }),
            json!({"compress": {}}),
        ),
        (
            "basicAuth realm traefik",
            json!({"basicAuth": {"users": ["a:b"]}}),
            Middleware::BasicAuth(http::BasicAuth {
                users: vec!["a:b".into()],
                realm: "traefik".into(),
                ..Default::default()
            }),
            json!({"basicAuth": {"users": ["a:b"]}}),
        ),
        (
            "forwardAuth body size unlimited",
            json!({"forwardAuth": {"address": "http://auth"}}),
            Middleware::ForwardAuth(http::ForwardAuth {
                address: "http://auth".into(),
                max_body_size: -1,
                ..Default::default()
            }),
            json!({"forwardAuth": {"address": "http://auth"}}),
        ),
        (
            "buffering memory thresholds 1MiB",
            json!({"buffering": {"maxRequestBodyBytes": 10}}),
            Middleware::Buffering(http::Buffering {
                max_request_body_bytes: 10,
                mem_request_body_bytes: 1_048_576,
                max_response_body_bytes: 0,
                mem_response_body_bytes: 1_048_576,
                retry_expression: String::new(),
            }),
            json!({"buffering": {"maxRequestBodyBytes": 10}}),
        ),
        (
            "contentType may be empty",
            json!({"contentType": {}}),
            Middleware::ContentType(http::ContentType { auto_detect: None }),
            json!({"contentType": {}}),
        ),
    ];
    for (case, input, expected, encoded) in cases {
        check_defaults(case, input, &expected, encoded);
    }
}

#[test]
fn tcp_defaults_match_traefik() {
    check_defaults(
        "tcp servers transport",
        json!({}),
        &tcp::ServersTransport {
            dial_timeout: Duration::from_secs(30),
            dial_keep_alive: Duration::from_secs(15),
            termination_delay: Duration::from_millis(100),
            proxy_protocol: None,
            tls: None,
        },
        json!({"dialTimeout": "30s", "dialKeepAlive": "15s", "terminationDelay": "100ms"}),
    );
    check_defaults(
        "proxy protocol version 2",
        json!({}),
        &tcp::ProxyProtocol { version: 2 },
        json!({"version": 2}),
    );
    check_defaults(
        "tls passthrough false",
        json!({"tls": {}}),
        &tcp::Router {
            tls: Some(tcp::RouterTcpTlsConfig::default()),
            ..Default::default()
        },
        json!({"tls": {}}),
    );
}

#[test]
fn empty_sections_are_omitted() {
    let cases: Vec<(&str, Value, Value)> = vec![
        ("nothing", json!({}), json!({})),
        (
            "empty sections",
            json!({"http": {}, "tcp": {"routers": {}}, "udp": {}, "tls": {}}),
            json!({}),
        ),
        (
            "one router",
            json!({"http": {"routers": {"r": {"rule": "Path(`/`)", "service": "s"}}}}),
            json!({"http": {"routers": {"r": {"rule": "Path(`/`)", "service": "s"}}}}),
        ),
    ];
    for (case, input, encoded) in cases {
        let cfg: DynamicConfig =
            serde_json::from_value(input).unwrap_or_else(|e| panic!("{case}: {e}"));
        assert_eq!(serde_json::to_value(&cfg).ok(), Some(encoded), "{case}");
    }
}

#[test]
fn unknown_fields_are_ignored_but_unknown_types_fail() {
    let newer = json!({"http": {"routers": {"r": {"service": "s", "parentRefs": ["p"]}}}});
    let cfg: DynamicConfig = serde_json::from_value(newer).expect("unknown field ignored");
    assert_eq!(
        cfg.http.routers.get("r").map(|r| r.service.as_str()),
        Some("s")
    );

    let cases: &[(&str, Value, &str)] = &[
        (
            "plugin middleware",
            json!({"http": {"middlewares": {"m": {"plugin": {"x": {}}}}}}),
            "unknown variant `plugin`",
        ),
        (
            "two middleware types",
            json!({"http": {"middlewares": {"m": {"addPrefix": {"prefix": "/a"}, "stripPrefix": {}}}}}),
            "expected map with a single key",
        ),
        (
            "no service type",
            json!({"http": {"services": {"s": {}}}}),
            "expected map with a single key",
        ),
    ];
    for (case, input, needle) in cases {
        let err = serde_json::from_value::<DynamicConfig>(input.clone())
            .expect_err(case)
            .to_string();
        assert!(
            err.contains(needle),
            "{case}: {err:?} should contain {needle:?}"
        );
    }
}
