//! Table-driven tests of merging providers' configurations.

use std::collections::BTreeMap;

use serde_json::{Value, json};
use switchyard_merge::{MergeOptions, ProviderConfig, merge, qualify};
use switchyard_model::{DynamicConfig, Problem, ResourceKind};

fn provider(config: Value) -> ProviderConfig {
    ProviderConfig {
        config: serde_json::from_value::<DynamicConfig>(config).expect("model JSON"),
        problems: vec![],
    }
}

fn lb() -> Value {
    json!({"loadBalancer": {"servers": [{"url": "http://127.0.0.1:1"}]}})
}

struct Case {
    case: &'static str,
    providers: Vec<(&'static str, ProviderConfig)>,
    entry_points: Option<&'static [&'static str]>,
    enabled_routers: &'static [&'static str],
    problems: &'static [&'static str],
}

fn run(case: Case) {
    let providers: BTreeMap<String, ProviderConfig> = case
        .providers
        .into_iter()
        .map(|(n, p)| (n.to_owned(), p))
        .collect();
    let options = MergeOptions {
        entry_points: case
            .entry_points
            .map(|eps| eps.iter().map(|e| (*e).to_owned()).collect()),
    };
    let merged = merge(&providers, &options);
    let routers: Vec<&str> = merged
        .config
        .http
        .routers
        .keys()
        .map(String::as_str)
        .collect();
    assert_eq!(
        routers, case.enabled_routers,
        "{}: enabled routers",
        case.case
    );
    assert_eq!(
        merged.problem_lines(),
        case.problems,
        "{}: problems",
        case.case
    );
    for name in merged.config.http.routers.keys() {
        assert!(
            merged.http_rules.contains_key(name),
            "{}: rule of {name}",
            case.case
        );
    }
}

#[test]
fn merge_cases() {
    let cases = vec![
        Case {
            case: "references resolve inside their own provider",
            providers: vec![(
                "file",
                provider(json!({"http": {
                    "routers": {"r": {"rule": "Host(`a`)", "service": "s", "middlewares": ["m"]}},
                    "services": {"s": lb()},
                    "middlewares": {"m": {"addPrefix": {"prefix": "/p"}}}
                }})),
            )],
            entry_points: None,
            enabled_routers: &["r@file"],
            problems: &[],
        },
        Case {
            case: "a missing service disables only its router",
            providers: vec![(
                "file",
                provider(json!({"http": {
                    "routers": {
                        "api": {"rule": "Host(`a`)", "service": "nope"},
                        "ok": {"rule": "Host(`b`)", "service": "s"}
                    },
                    "services": {"s": lb()}
                }})),
            )],
            entry_points: None,
            enabled_routers: &["ok@file"],
            problems: &["http.routers.api@file: service \"nope\" does not exist"],
        },
        Case {
            case: "cross-provider references with @",
            providers: vec![
                (
                    "docker",
                    provider(
                        json!({"http": {"routers": {"web": {"rule": "Host(`w`)", "service": "s@file", "middlewares": ["auth@file", "gone@file"]}}}}),
                    ),
                ),
                (
                    "file",
                    provider(
                        json!({"http": {"services": {"s": lb()}, "middlewares": {"auth": {"basicAuth": {"users": ["u:$apr1$x$y"]}}}}}),
                    ),
                ),
            ],
            entry_points: None,
            enabled_routers: &[],
            problems: &["http.routers.web@docker: middleware \"gone@file\" does not exist"],
        },
        Case {
            case: "same names in two providers do not collide",
            providers: vec![
                (
                    "a",
                    provider(
                        json!({"http": {"routers": {"r": {"rule": "Host(`a`)", "service": "s"}}, "services": {"s": lb()}}}),
                    ),
                ),
                (
                    "b",
                    provider(
                        json!({"http": {"routers": {"r": {"rule": "Host(`b`)", "service": "s"}}, "services": {"s": lb()}}}),
                    ),
                ),
            ],
            entry_points: None,
            enabled_routers: &["r@a", "r@b"],
            problems: &[],
        },
        Case {
            case: "a bad rule disables its router",
            providers: vec![(
                "file",
                provider(
                    json!({"http": {"routers": {"r": {"rule": "Hots(`a`)", "service": "s"}}, "services": {"s": lb()}}}),
                ),
            )],
            entry_points: None,
            enabled_routers: &[],
            problems: &["http.routers.r@file.rule: unknown matcher \"Hots\" at column 1"],
        },
        Case {
            case: "a chain cycle disables the chain and its routers",
            providers: vec![(
                "file",
                provider(json!({"http": {
                    "routers": {"r": {"rule": "Host(`a`)", "service": "s", "middlewares": ["c1"]}},
                    "services": {"s": lb()},
                    "middlewares": {"c1": {"chain": {"middlewares": ["c2"]}}, "c2": {"chain": {"middlewares": ["c1"]}}}
                }})),
            )],
            entry_points: None,
            enabled_routers: &[],
            problems: &[
                "http.routers.r@file: middleware \"c1\" is disabled",
                "http.middlewares.c1@file.chain.middlewares: recursion detected in chain: c1@file -> c2@file -> c1@file",
                "http.middlewares.c2@file.chain.middlewares: middleware \"c1\" is disabled",
            ],
        },
        Case {
            case: "weighted service with a missing child",
            providers: vec![(
                "file",
                provider(json!({"http": {
                    "routers": {"r": {"rule": "Host(`a`)", "service": "w"}},
                    "services": {"w": {"weighted": {"services": [{"name": "s", "weight": 1}, {"name": "ghost", "weight": 1}]}}, "s": lb()}
                }})),
            )],
            entry_points: None,
            enabled_routers: &[],
            problems: &[
                "http.routers.r@file: service \"w\" is disabled",
                "http.services.w@file.weighted.services[1].name: service \"ghost\" does not exist",
            ],
        },
        Case {
            case: "unknown entrypoint when entrypoints are known",
            providers: vec![(
                "file",
                provider(
                    json!({"http": {"routers": {"r": {"rule": "Host(`a`)", "service": "s", "entryPoints": ["web", "nope"]}}, "services": {"s": lb()}}}),
                ),
            )],
            entry_points: Some(&["web"]),
            enabled_routers: &[],
            problems: &["http.routers.r@file.entryPoints[1]: entryPoint \"nope\" does not exist"],
        },
        Case {
            case: "internal services exist",
            providers: vec![(
                "file",
                provider(
                    json!({"http": {"routers": {"r": {"rule": "Host(`a`)", "service": "noop@internal"}}}}),
                ),
            )],
            entry_points: None,
            enabled_routers: &["r@file"],
            problems: &[],
        },
        Case {
            case: "names with @ are refused",
            providers: vec![(
                "file",
                provider(
                    json!({"http": {"routers": {"r@x": {"rule": "Host(`a`)", "service": "noop@internal"}}}}),
                ),
            )],
            entry_points: None,
            enabled_routers: &[],
            problems: &[
                "http.routers.r@x@file: the character '@' is not allowed in a resource name",
            ],
        },
        Case {
            case: "missing TLS options",
            providers: vec![(
                "file",
                provider(json!({
                    "http": {"routers": {
                        "r": {"rule": "Host(`a`)", "service": "noop@internal", "tls": {"options": "strict"}},
                        "d": {"rule": "Host(`b`)", "service": "noop@internal", "tls": {"options": "default"}}
                    }}
                })),
            )],
            entry_points: None,
            enabled_routers: &["d@file"],
            problems: &[
                "http.routers.r@file.tls.options: TLS options \"strict@file\" do not exist",
            ],
        },
        Case {
            case: "tcp and udp references",
            providers: vec![(
                "file",
                provider(json!({
                    "tcp": {"routers": {"t": {"rule": "HostSNI(`*`)", "service": "gone"}}},
                    "udp": {"routers": {"u": {"service": "gone"}}}
                })),
            )],
            entry_points: None,
            enabled_routers: &[],
            problems: &[
                "tcp.routers.t@file: service \"gone\" does not exist",
                "udp.routers.u@file: service \"gone\" does not exist",
            ],
        },
    ];
    for case in cases {
        run(case);
    }
}

#[test]
fn resources_rejected_by_their_provider_disable_dependents_with_the_right_reason() {
    let mut p =
        provider(json!({"http": {"routers": {"r": {"rule": "Host(`a`)", "service": "s"}}}}));
    p.problems.push(Problem {
        kind: ResourceKind::HttpService,
        name: "s".into(),
        field: Some("loadBalancer.servers[0].url".into()),
        message: "invalid URL".into(),
    });
    let merged = merge(
        &BTreeMap::from([("file".to_owned(), p)]),
        &MergeOptions::default(),
    );
    assert!(merged.config.http.routers.is_empty());
    assert_eq!(
        merged.problem_lines(),
        [
            "http.routers.r@file: service \"s\" is disabled",
            "http.services.s@file.loadBalancer.servers[0].url: invalid URL",
        ]
    );
}

#[test]
fn qualification() {
    assert_eq!(qualify("a", "file"), "a@file");
    assert_eq!(qualify("a@docker", "file"), "a@docker");
    assert_eq!(qualify("", "file"), "");
}
