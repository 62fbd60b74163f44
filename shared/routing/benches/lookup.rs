//! Routing-table lookup with 10,000 routers: exact hosts, hosts with path prefixes,
//! wildcard (suffix) hosts, host-less path prefixes and regexps. Each request kind is
//! measured against the indexed table and against a linear scan of the same table in
//! priority order (the baseline), in the same run.

use std::collections::BTreeMap;
use std::hint::black_box;

use criterion::{Criterion, criterion_group, criterion_main};
use serde_json::json;
use switchyard_merge::{MergeOptions, ProviderConfig, merge};
use switchyard_model::DynamicConfig;
use switchyard_routing::{ProviderPrecedence, RouteTable};
use switchyard_rules::SimpleRequest;

/// 10,000 routers: 4,000 exact hosts, 3,000 host + path prefix, 2,000 wildcard hosts,
/// 500 host-less path prefixes, 500 host-less path regexps.
fn ten_thousand() -> RouteTable {
    let mut routers = serde_json::Map::new();
    let mut add = |name: String, rule: String| {
        routers.insert(name, json!({"rule": rule, "service": "noop@internal"}));
    };
    for i in 0..4000 {
        add(format!("host{i}"), format!("Host(`svc{i}.example.com`)"));
    }
    for i in 0..3000 {
        add(
            format!("hostpath{i}"),
            format!(
                "Host(`svc{}.example.com`) && PathPrefix(`/api/v{}`)",
                i % 4000,
                i % 7
            ),
        );
    }
    for i in 0..2000 {
        add(
            format!("wild{i}"),
            format!("HostRegexp(`^[a-z0-9-]+\\.tenant{i}\\.example\\.net$`)"),
        );
    }
    for i in 0..500 {
        add(format!("prefix{i}"), format!("PathPrefix(`/static/{i}/`)"));
    }
    for i in 0..500 {
        add(
            format!("regexp{i}"),
            format!("PathRegexp(`^/items/{i}/[0-9]+$`)"),
        );
    }
    let config: DynamicConfig =
        serde_json::from_value(json!({"http": {"routers": routers}})).expect("model JSON");
    let providers = BTreeMap::from([(
        "file".to_owned(),
        ProviderConfig {
            config,
            problems: vec![],
        },
    )]);
    let merged = merge(&providers, &MergeOptions::default());
    assert!(merged.disabled.is_empty());
    RouteTable::build(&merged, &ProviderPrecedence::default())
}

fn lookup(c: &mut Criterion) {
    let table = ten_thousand();
    assert_eq!(table.len(), 10_000);
    let requests = [
        (
            "exact-host",
            SimpleRequest::new("GET", "svc1234.example.com", "/"),
        ),
        (
            "host-and-prefix",
            SimpleRequest::new("GET", "svc2345.example.com", "/api/v3/users"),
        ),
        (
            "wildcard-host",
            SimpleRequest::new("GET", "a.tenant1500.example.net", "/"),
        ),
        (
            "host-less-prefix",
            SimpleRequest::new("GET", "unknown.example.org", "/static/250/app.js"),
        ),
        (
            "host-less-regexp",
            SimpleRequest::new("GET", "unknown.example.org", "/items/420/17"),
        ),
        (
            "no-match-404",
            SimpleRequest::new("GET", "unknown.example.org", "/nothing"),
        ),
    ];
    let mut group = c.benchmark_group("lookup-10k");
    for (name, request) in &requests {
        let indexed = table.lookup(None, request).map(|r| r.name.clone());
        assert_eq!(
            indexed,
            table.lookup_linear(None, request).map(|r| r.name.clone()),
            "{name}"
        );
        group.bench_function(format!("{name}/indexed"), |b| {
            b.iter(|| black_box(table.lookup(None, black_box(request)).is_some()))
        });
        group.bench_function(format!("{name}/linear-baseline"), |b| {
            b.iter(|| black_box(table.lookup_linear(None, black_box(request)).is_some()))
        });
    }
    group.finish();
}

criterion_group!(benches, lookup);
criterion_main!(benches);
