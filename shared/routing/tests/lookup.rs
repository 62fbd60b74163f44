//! Routing decisions: priorities, ties, host index, entrypoints; and the index agrees
//! with a linear scan on a large generated table.

use std::collections::BTreeMap;

use proptest::prelude::*;
use serde_json::{Value, json};
use switchyard_merge::{MergeOptions, ProviderConfig, merge};
use switchyard_model::DynamicConfig;
use switchyard_routing::{ProviderPrecedence, RouteTable};
use switchyard_rules::SimpleRequest;

fn table(providers: &[(&str, Value)]) -> RouteTable {
    let providers: BTreeMap<String, ProviderConfig> = providers
        .iter()
        .map(|(name, config)| {
            let config: DynamicConfig = serde_json::from_value(config.clone()).expect("model JSON");
            (
                (*name).to_owned(),
                ProviderConfig {
                    config,
                    problems: vec![],
                },
            )
        })
        .collect();
    let merged = merge(&providers, &MergeOptions::default());
    assert!(merged.disabled.is_empty(), "{:?}", merged.problem_lines());
    RouteTable::build(&merged, &ProviderPrecedence::default())
}

fn routers(routers: Value) -> Value {
    json!({"http": {"routers": routers}})
}

fn req(host: &str, target: &str) -> SimpleRequest {
    SimpleRequest::new("GET", host, target)
}

#[test]
fn routing_cases() {
    let t = table(&[
        (
            "file",
            routers(json!({
                "host": {"rule": "Host(`a.example.com`)", "service": "noop@internal"},
                "host-path": {"rule": "Host(`a.example.com`) && PathPrefix(`/api`)", "service": "noop@internal"},
                "forced": {"rule": "PathPrefix(`/`)", "service": "noop@internal", "priority": 1},
                "wild": {"rule": "HostRegexp(`^[a-z]+\\.example\\.org$`)", "service": "noop@internal"},
                "tie-b": {"rule": "Host(`tie.test`)", "service": "noop@internal"},
                "tie-a": {"rule": "Host(`tie.test`)", "service": "noop@internal"},
                "admin": {"rule": "Host(`admin.test`)", "service": "noop@internal", "entryPoints": ["internal"]},
                "dot": {"rule": "Host(`dot.test.`)", "service": "noop@internal"},
                "either": {"rule": "Host(`x.test`) || Host(`y.test`)", "service": "noop@internal"},
                "method": {"rule": "Host(`m.test`) && Method(`POST`)", "service": "noop@internal"}
            })),
        ),
        (
            "docker",
            routers(json!({
                "tie": {"rule": "Host(`tie.test`)", "service": "noop@internal"},
                "same-len": {"rule": "Host(`z.example.com`)", "service": "noop@internal"}
            })),
        ),
    ]);
    let cases: [(&str, Option<&str>, SimpleRequest, Option<&str>); 12] = [
        (
            "exact host",
            None,
            req("a.example.com", "/"),
            Some("host@file"),
        ),
        (
            "longer rule wins",
            None,
            req("A.Example.com:8080", "/api/x"),
            Some("host-path@file"),
        ),
        (
            "priority 1 catch-all",
            None,
            req("unknown.test", "/x"),
            Some("forced@file"),
        ),
        (
            "suffix regexp",
            None,
            req("b.example.org", "/"),
            Some("wild@file"),
        ),
        (
            "suffix regexp is anchored",
            None,
            req("b.c.example.org", "/"),
            Some("forced@file"),
        ),
        (
            "tie: file before docker, then name",
            None,
            req("tie.test", "/"),
            Some("tie-a@file"),
        ),
        (
            "entrypoint filter",
            Some("web"),
            req("admin.test", "/"),
            Some("forced@file"),
        ),
        (
            "entrypoint match",
            Some("internal"),
            req("admin.test", "/"),
            Some("admin@file"),
        ),
        (
            "trailing dot in rule",
            None,
            req("dot.test", "/"),
            Some("dot@file"),
        ),
        (
            "trailing dot in request",
            None,
            req("y.test.", "/"),
            Some("either@file"),
        ),
        (
            "rule beyond host",
            None,
            req("m.test", "/"),
            Some("forced@file"),
        ),
        (
            "post matches",
            None,
            SimpleRequest {
                method: "POST".into(),
                ..req("m.test", "/")
            },
            Some("method@file"),
        ),
    ];
    for (case, ep, request, expected) in cases {
        let got = t.lookup(ep, &request).map(|r| r.name.clone());
        assert_eq!(got.as_deref(), expected, "{case}");
        let linear = t.lookup_linear(ep, &request).map(|r| r.name.clone());
        assert_eq!(linear.as_deref(), expected, "{case} (linear)");
    }
    assert_eq!(t.len(), 12);
}

#[test]
fn no_router_is_none() {
    let t = table(&[(
        "file",
        routers(json!({"a": {"rule": "Host(`a.test`)", "service": "noop@internal"}})),
    )]);
    assert!(t.lookup(None, &req("b.test", "/")).is_none());
}

/// A generated table mixing every kind of rule the index distinguishes.
fn big_table() -> RouteTable {
    let mut r = serde_json::Map::new();
    for i in 0..300 {
        r.insert(format!("exact{i}"), json!({"rule": format!("Host(`s{}.example.com`)", i % 50), "service": "noop@internal", "priority": i % 7}));
        r.insert(format!("path{i}"), json!({"rule": format!("Host(`s{}.example.com`) && PathPrefix(`/p{}`)", i % 50, i % 13), "service": "noop@internal"}));
        r.insert(format!("wild{i}"), json!({"rule": format!("HostRegexp(`^[a-z0-9]+\\.t{}\\.example\\.org$`)", i % 40), "service": "noop@internal", "priority": i % 5}));
        r.insert(format!("any{i}"), json!({"rule": format!("PathPrefix(`/q{}`)", i % 17), "service": "noop@internal", "priority": i % 11}));
        r.insert(format!("re{i}"), json!({"rule": format!("PathRegexp(`^/r{}/[0-9]+$`) || Host(`o{}.test`)", i % 19, i), "service": "noop@internal"}));
        r.insert(format!("deep{i}"), json!({"rule": format!("PathPrefix(`/d{}/e{}/`)", i % 7, i % 5), "service": "noop@internal", "priority": i % 3}));
        r.insert(format!("exactpath{i}"), json!({"rule": format!("Path(`/d{}/f`) || PathRegexp(`^/d{}/e[0-9]/g`)", i % 7, i % 4), "service": "noop@internal"}));
        r.insert(format!("neg{i}"), json!({"rule": format!("!Host(`s{}.example.com`) && Query(`k`, `{}`)", i % 50, i % 9), "service": "noop@internal"}));
    }
    table(&[("file", json!({"http": {"routers": r}}))])
}

static BIG: std::sync::LazyLock<RouteTable> = std::sync::LazyLock::new(big_table);

proptest! {
    #![proptest_config(ProptestConfig::with_cases(400))]
    #[test]
    fn index_agrees_with_linear_scan(
        host in prop_oneof![
            (0u32..60).prop_map(|i| format!("s{i}.example.com")),
            (0u32..50, 0u32..45).prop_map(|(a, i)| format!("x{a}.t{i}.example.org")),
            (0u32..320).prop_map(|i| format!("o{i}.test")),
            Just("example.org".to_owned()),
            Just("".to_owned()),
        ],
        path in prop_oneof![
            (0u32..20).prop_map(|i| format!("/p{i}/x")),
            (0u32..20).prop_map(|i| format!("/q{i}")),
            (0u32..20, 0u32..100).prop_map(|(i, n)| format!("/r{i}/{n}")),
            Just("/".to_owned()),
            (0u32..9, 0u32..7).prop_map(|(a, b)| format!("/d{a}/e{b}/z")),
            (0u32..9).prop_map(|a| format!("/d{a}/f")),
            (0u32..9, 0u32..9).prop_map(|(a, b)| format!("/d{a}/e{b}/g")),
        ],
        query in prop_oneof![Just(String::new()), (0u32..10).prop_map(|i| format!("?k={i}"))],
    ) {
        let t = &*BIG;
        let request = req(&host, &format!("{path}{query}"));
        let indexed = t.lookup(None, &request).map(|r| r.name.clone());
        let linear = t.lookup_linear(None, &request).map(|r| r.name.clone());
        prop_assert_eq!(indexed, linear);
    }
}
