//! `DynamicConfig` helpers, `ResourceKind` and `Problem`.

use serde_json::json;
use switchyard_model::{DynamicConfig, FieldError, Problem, ResourceKind};

fn sample() -> DynamicConfig {
    serde_json::from_value(json!({
        "http": {
            "routers": {"b": {"rule": "Path(`/`)", "service": "s"}, "a": {"rule": "Path(`/a`)"}},
            "services": {"s": {"loadBalancer": {"servers": [{"url": "localhost:80"}]}}},
            "middlewares": {"m": {"stripPrefix": {}}},
            "serversTransports": {"t": {}}
        },
        "tcp": {
            "routers": {"r": {"rule": "HostSNI(`*`)", "service": "s"}},
            "services": {"s": {"loadBalancer": {}}},
            "middlewares": {"m": {"inFlightConn": {"amount": 1}}},
            "serversTransports": {"t": {}}
        },
        "udp": {"routers": {"r": {"service": "s"}}, "services": {"s": {"weighted": {}}}},
        "tls": {
            "certificates": [{"certFile": "/a", "keyFile": "/a"}, {"keyFile": "/b"}],
            "options": {"default": {"maxVersion": "VersionTLS10"}},
            "stores": {"default": {}}
        }
    }))
    .expect("sample decodes")
}

#[test]
fn resource_kind_paths_and_serde() {
    let cases = [
        (ResourceKind::HttpRouter, "http.routers", "httpRouter"),
        (ResourceKind::HttpService, "http.services", "httpService"),
        (
            ResourceKind::HttpMiddleware,
            "http.middlewares",
            "httpMiddleware",
        ),
        (
            ResourceKind::HttpServersTransport,
            "http.serversTransports",
            "httpServersTransport",
        ),
        (ResourceKind::TcpRouter, "tcp.routers", "tcpRouter"),
        (ResourceKind::TcpService, "tcp.services", "tcpService"),
        (
            ResourceKind::TcpMiddleware,
            "tcp.middlewares",
            "tcpMiddleware",
        ),
        (
            ResourceKind::TcpServersTransport,
            "tcp.serversTransports",
            "tcpServersTransport",
        ),
        (ResourceKind::UdpRouter, "udp.routers", "udpRouter"),
        (ResourceKind::UdpService, "udp.services", "udpService"),
        (
            ResourceKind::TlsCertificate,
            "tls.certificates",
            "tlsCertificate",
        ),
        (ResourceKind::TlsOption, "tls.options", "tlsOption"),
        (ResourceKind::TlsStore, "tls.stores", "tlsStore"),
    ];
    assert_eq!(
        ResourceKind::ALL.to_vec(),
        cases.iter().map(|c| c.0).collect::<Vec<_>>()
    );
    for (kind, path, tag) in cases {
        assert_eq!(kind.path(), path);
        assert_eq!(kind.to_string(), path);
        assert_eq!(ResourceKind::from_path(path), Some(kind));
        assert_eq!(serde_json::to_value(kind).ok(), Some(json!(tag)));
        assert_eq!(
            serde_json::from_value::<ResourceKind>(json!(tag)).ok(),
            Some(kind)
        );
    }
    assert_eq!(ResourceKind::from_path("http.router"), None);
}

#[test]
fn names_counts_and_membership() {
    let cfg = sample();
    let cases: &[(ResourceKind, &[&str])] = &[
        (ResourceKind::HttpRouter, &["a", "b"]),
        (ResourceKind::HttpService, &["s"]),
        (ResourceKind::HttpMiddleware, &["m"]),
        (ResourceKind::HttpServersTransport, &["t"]),
        (ResourceKind::TcpRouter, &["r"]),
        (ResourceKind::TcpService, &["s"]),
        (ResourceKind::TcpMiddleware, &["m"]),
        (ResourceKind::TcpServersTransport, &["t"]),
        (ResourceKind::UdpRouter, &["r"]),
        (ResourceKind::UdpService, &["s"]),
        (ResourceKind::TlsCertificate, &["0", "1"]),
        (ResourceKind::TlsOption, &["default"]),
        (ResourceKind::TlsStore, &["default"]),
    ];
    for (kind, names) in cases {
        assert_eq!(cfg.resource_names(*kind), names.to_vec(), "{kind}");
        assert_eq!(cfg.count(*kind), names.len(), "{kind}");
        for name in *names {
            assert!(cfg.contains(*kind, name), "{kind} {name}");
        }
        assert!(!cfg.contains(*kind, "nope"), "{kind}");
    }
    assert!(!cfg.contains(ResourceKind::TlsCertificate, "2"));
}

#[test]
fn remove_and_clear_every_kind() {
    let mut cfg = sample();
    assert!(!cfg.is_empty());
    for kind in ResourceKind::ALL {
        let names = cfg.resource_names(kind);
        let first = names
            .first()
            .cloned()
            .unwrap_or_else(|| panic!("{kind} is empty"));
        assert!(cfg.remove(kind, &first), "{kind} {first}");
        assert!(!cfg.remove(kind, "nope"), "{kind}");
        assert_eq!(cfg.count(kind), names.len() - 1, "{kind}");
    }
    // Certificate indices shift down after a removal.
    assert_eq!(
        cfg.tls.certificates.first().map(|c| c.key_file.as_str()),
        Some("/b")
    );
    assert!(!cfg.is_empty());
    for kind in ResourceKind::ALL {
        cfg.clear(kind);
        assert_eq!(cfg.count(kind), 0, "{kind}");
    }
    assert!(cfg.is_empty());
    assert_eq!(serde_json::to_value(&cfg).ok(), Some(json!({})));
}

#[test]
fn validate_names_every_problem() {
    let problems = sample().validate();
    let got: Vec<String> = problems
        .iter()
        .map(|p| p.display_with_provider("file"))
        .collect();
    assert_eq!(
        got,
        vec![
            "http.routers.a@file.service: the service is missing on the router",
            "http.services.s@file.loadBalancer.servers[0].url: \"localhost:80\" is not an absolute URL (expected e.g. \"http://10.0.0.1:8080\")",
            "http.middlewares.m@file.stripPrefix.prefixes: at least one prefix is required",
            "tls.certificates[1]@file.certFile: must not be empty",
            "tls.options.default@file.maxVersion: VersionTLS10 is not supported (only VersionTLS12 and VersionTLS13 can be negotiated)",
        ]
    );
    assert_eq!(problems[0].kind, ResourceKind::HttpRouter);
    assert_eq!(problems[0].name, "a");
    assert_eq!(problems[0].field.as_deref(), Some("service"));
}

#[test]
fn problem_display() {
    let cases = [
        (
            "no field",
            Problem {
                kind: ResourceKind::HttpRouter,
                name: "api".into(),
                field: None,
                message: "service \"nope\" does not exist".into(),
            },
            "file",
            "http.routers.api@file: service \"nope\" does not exist",
        ),
        (
            "field",
            Problem {
                kind: ResourceKind::HttpRouter,
                name: "api".into(),
                field: Some("rule".into()),
                message: "expected ')' at column 17".into(),
            },
            "file",
            "http.routers.api@file.rule: expected ')' at column 17",
        ),
        (
            "certificate index",
            Problem {
                kind: ResourceKind::TlsCertificate,
                name: "0".into(),
                field: Some("certFile".into()),
                message: "no such file".into(),
            },
            "docker",
            "tls.certificates[0]@docker.certFile: no such file",
        ),
        (
            "indexed field",
            Problem {
                kind: ResourceKind::TcpMiddleware,
                name: "m".into(),
                field: Some("[0]".into()),
                message: "x".into(),
            },
            "file",
            "tcp.middlewares.m@file[0]: x",
        ),
    ];
    for (case, problem, provider, expected) in cases {
        assert_eq!(problem.display_with_provider(provider), expected, "{case}");
    }
    let plain = Problem {
        kind: ResourceKind::TlsOption,
        name: "default".into(),
        field: Some("minVersion".into()),
        message: "bad".into(),
    };
    assert_eq!(plain.to_string(), "tls.options.default.minVersion: bad");
}

#[test]
fn problem_serde_and_field_errors() {
    let problem = Problem::from_field_error(
        ResourceKind::HttpService,
        "s",
        FieldError::new("", "whole resource"),
    );
    assert_eq!(problem.field, None);
    assert_eq!(
        serde_json::to_value(&problem).ok(),
        Some(json!({"kind": "httpService", "name": "s", "message": "whole resource"}))
    );
    let nested = FieldError::new("url", "bad")
        .under("servers[0]")
        .under("loadBalancer");
    assert_eq!(nested.field, "loadBalancer.servers[0].url");
    assert_eq!(nested.to_string(), "loadBalancer.servers[0].url: bad");
    assert_eq!(
        FieldError::new("[2]", "x").under("prefixes").field,
        "prefixes[2]"
    );
}
