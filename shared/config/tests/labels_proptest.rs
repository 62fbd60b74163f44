//! Property tests: arbitrary label sets never panic the decoder, decode the same way every
//! time, and never keep a resource that has a problem.

use std::collections::BTreeMap;

use proptest::prelude::*;
use switchyard_config::{Format, decode_labels, decode_str};

const SEGMENTS: &[&str] = &[
    "rule",
    "service",
    "entrypoints",
    "priority",
    "middlewares",
    "tls",
    "certresolver",
    "domains[0]",
    "domains[1]",
    "main",
    "sans",
    "loadbalancer",
    "server",
    "servers[0]",
    "port",
    "url",
    "scheme",
    "weight",
    "address",
    "sticky",
    "cookie",
    "name",
    "healthcheck",
    "interval",
    "stripprefix",
    "prefixes",
    "headers",
    "customrequestheaders",
    "X-Foo",
    "compress",
    "ratelimit",
    "average",
    "period",
    "passthrough",
    "defaultcertificate",
    "certfile",
    "",
    "[0]",
    "x]",
    "a[",
    "RULE",
];

fn key() -> impl Strategy<Value = String> {
    let root = prop::sample::select(vec!["traefik", "switchyard", "Traefik", "other"]);
    let section = prop::sample::select(vec!["http", "tcp", "udp", "tls", "HTTP", "x"]);
    let collection = prop::sample::select(vec![
        "routers",
        "services",
        "middlewares",
        "serversTransports",
        "stores",
        "options",
        "Routers",
    ]);
    let name = prop::sample::select(vec!["a", "A", "b", "default", "x-y"]);
    let tail = prop::collection::vec(prop::sample::select(SEGMENTS.to_vec()), 0..6);
    (root, section, collection, name, tail).prop_map(|(root, section, collection, name, tail)| {
        let mut parts = vec![root, section, collection, name];
        parts.extend(tail);
        parts.join(".")
    })
}

fn value() -> impl Strategy<Value = String> {
    prop_oneof![
        prop::sample::select(vec![
            "true",
            "false",
            "",
            "10",
            "-1",
            "a,b",
            " x , y ",
            "10s",
            "http://a:80",
            "65536"
        ])
        .prop_map(str::to_owned),
        "\\PC{0,12}",
    ]
}

/// Label sets as containers have them: each key once.
fn labels() -> impl Strategy<Value = BTreeMap<String, String>> {
    let structured = (key(), value());
    let arbitrary = ("\\PC{0,30}", "\\PC{0,10}");
    prop::collection::vec(prop_oneof![4 => structured, 1 => arbitrary], 0..24)
        .prop_map(|pairs| pairs.into_iter().collect())
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(512))]

    #[test]
    fn label_sets_decode_without_panicking(labels in labels()) {
        let pairs: Vec<(&str, &str)> = labels.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect();
        let first = decode_labels(pairs.iter().copied());
        // Label order must not matter: the decoder sorts them like paerser.
        let second = decode_labels(pairs.iter().rev().copied());
        prop_assert_eq!(&first, &second);
        for problem in &first.problems {
            prop_assert!(!first.config.contains(problem.kind, &problem.name), "{}", problem);
        }
    }

    #[test]
    fn arbitrary_text_decodes_without_panicking(text in "\\PC{0,200}") {
        let _ = decode_str(&text, Format::Yaml);
        let _ = decode_str(&text, Format::Toml);
    }
}
