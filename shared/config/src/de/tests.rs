//! Table-driven tests of the deserializer against small stand-in model types.

use std::collections::BTreeMap;
use std::fmt::Debug;

use serde::Deserialize;
use serde::de::DeserializeOwned;

use super::{Source, from_node};
use crate::labels::label_tree;
use crate::node::Node;

#[derive(Debug, PartialEq, Default, Deserialize)]
#[serde(default, rename_all = "camelCase")]
struct Router {
    entry_points: Vec<String>,
    rule: String,
    priority: i64,
    middlewares: Vec<String>,
    tls: Option<Tls>,
}

#[derive(Debug, PartialEq, Default, Deserialize)]
#[serde(default, rename_all = "camelCase")]
struct Tls {
    cert_resolver: String,
    domains: Vec<Domain>,
}

#[derive(Debug, PartialEq, Default, Deserialize)]
#[serde(default, rename_all = "camelCase")]
struct Domain {
    main: String,
    sans: Vec<String>,
}

#[derive(Debug, PartialEq, Deserialize)]
#[serde(rename_all = "camelCase")]
enum Service {
    LoadBalancer(LoadBalancer),
    Weighted(Weighted),
}

#[derive(Debug, PartialEq, Deserialize)]
#[serde(default, rename_all = "camelCase")]
struct LoadBalancer {
    servers: Vec<Server>,
    pass_host_header: bool,
    sticky: Option<Sticky>,
}

impl Default for LoadBalancer {
    fn default() -> Self {
        LoadBalancer {
            servers: Vec::new(),
            pass_host_header: true,
            sticky: None,
        }
    }
}

#[derive(Debug, PartialEq, Default, Deserialize)]
#[serde(default, rename_all = "camelCase")]
struct Server {
    url: String,
    weight: Option<u32>,
    port: Option<String>,
    scheme: Option<String>,
}

#[derive(Debug, PartialEq, Default, Deserialize)]
#[serde(default, rename_all = "camelCase")]
struct Sticky {
    cookie: Option<Cookie>,
}

#[derive(Debug, PartialEq, Default, Deserialize)]
#[serde(default, rename_all = "camelCase")]
struct Cookie {
    name: String,
    secure: bool,
}

#[derive(Debug, PartialEq, Default, Deserialize)]
#[serde(default, rename_all = "camelCase")]
struct Weighted {
    services: Vec<WrrService>,
}

#[derive(Debug, PartialEq, Deserialize)]
#[serde(rename_all = "camelCase")]
struct WrrService {
    name: String,
    #[serde(default)]
    weight: u32,
}

#[derive(Debug, PartialEq, Deserialize)]
#[serde(rename_all = "camelCase")]
enum Middleware {
    StripPrefix(StripPrefix),
    Headers(Headers),
    Compress(Compress),
    RateLimit(RateLimit),
}

#[derive(Debug, PartialEq, Default, Deserialize)]
#[serde(default, rename_all = "camelCase")]
struct StripPrefix {
    prefixes: Vec<String>,
}

#[derive(Debug, PartialEq, Default, Deserialize)]
#[serde(default, rename_all = "camelCase")]
struct Headers {
    custom_request_headers: BTreeMap<String, String>,
    access_control_allow_methods: Vec<String>,
}

#[derive(Debug, PartialEq, Default, Deserialize)]
#[serde(default, rename_all = "camelCase")]
struct Compress {
    excluded_content_types: Vec<String>,
    min_response_body_bytes: u32,
}

#[derive(Debug, PartialEq, Default, Deserialize)]
#[serde(default, rename_all = "camelCase")]
struct RateLimit {
    average: u64,
    burst: u8,
    ratio: f64,
    period: Option<serde_json::Value>,
}

#[derive(Debug, PartialEq, Deserialize)]
#[serde(rename_all = "lowercase")]
enum Mode {
    Http,
    Grpc,
}

#[derive(Debug, PartialEq, Deserialize)]
struct Check {
    mode: Mode,
    #[serde(default)]
    status: Option<u16>,
}

fn yaml(text: &str) -> Node {
    Node::from_yaml(text).unwrap_or_else(|e| panic!("test YAML does not parse: {e}"))
}

/// The resource subtree of labels written relative to `traefik.http.routers.x.`.
fn labels(pairs: &[(&str, &str)]) -> Node {
    let keys: Vec<String> = pairs
        .iter()
        .map(|(k, _)| format!("traefik.http.routers.x.{k}"))
        .collect();
    let tree = label_tree(
        keys.iter()
            .map(String::as_str)
            .zip(pairs.iter().map(|(_, v)| *v)),
    );
    assert!(tree.issues.is_empty(), "{:?}", tree.issues);
    let Node::Map(sections) = tree.node else {
        panic!("not a map")
    };
    let mut node = sections.into_iter().next().map(|(_, n)| n);
    for _ in 0..2 {
        node = match node {
            Some(Node::Map(entries)) => entries.into_iter().next().map(|(_, n)| n),
            _ => None,
        };
    }
    node.unwrap_or(Node::Map(Vec::new()))
}

struct Case<T> {
    name: &'static str,
    source: Source,
    node: Node,
    expected: Result<T, &'static str>,
}

fn file<T>(name: &'static str, text: &str, expected: Result<T, &'static str>) -> Case<T> {
    Case {
        name,
        source: Source::File,
        node: yaml(text),
        expected,
    }
}

fn label<T>(
    name: &'static str,
    pairs: &[(&str, &str)],
    expected: Result<T, &'static str>,
) -> Case<T> {
    Case {
        name,
        source: Source::Labels,
        node: labels(pairs),
        expected,
    }
}

fn run<T: DeserializeOwned + PartialEq + Debug>(cases: Vec<Case<T>>) {
    for case in cases {
        let got = from_node::<T>(&case.node, case.source).map_err(|e| e.to_string());
        match (&got, &case.expected) {
            (Ok(value), Ok(expected)) => assert_eq!(value, expected, "{}", case.name),
            (Err(err), Err(expected)) => assert_eq!(err, expected, "{}", case.name),
            _ => panic!("{}: got {got:?}, expected {:?}", case.name, case.expected),
        }
    }
}

fn strings(items: &[&str]) -> Vec<String> {
    items.iter().map(|s| (*s).to_owned()).collect()
}

#[test]
fn routers() {
    let web = || strings(&["web", "websecure"]);
    run(vec![
        file(
            "keys match case-insensitively",
            "EntryPoints: [web, websecure]\nRULE: Host(`a`)\nPriority: 5\n",
            Ok(Router {
                entry_points: web(),
                rule: "Host(`a`)".into(),
                priority: 5,
                ..Router::default()
            }),
        ),
        file(
            "unknown field is named",
            "rulez: x\n",
            Err(
                "unknown field \"rulez\", expected one of: entryPoints, rule, priority, middlewares, tls",
            ),
        ),
        file(
            "duplicate field after case folding",
            "rule: a\nRule: b\n",
            Err("duplicate field `rule`"),
        ),
        file(
            "a scalar where a list is wanted is split on commas",
            "entryPoints: web , websecure\n",
            Ok(Router {
                entry_points: web(),
                ..Router::default()
            }),
        ),
        file(
            "a single scalar is a one-element list",
            "middlewares: auth\n",
            Ok(Router {
                middlewares: strings(&["auth"]),
                ..Router::default()
            }),
        ),
        file(
            "list items are trimmed and not split",
            "middlewares: [' a ', 'b,c']\n",
            Ok(Router {
                middlewares: strings(&["a", "b,c"]),
                ..Router::default()
            }),
        ),
        file("empty list", "entryPoints: []\n", Ok(Router::default())),
        file(
            "numbers and strings convert both ways",
            "rule: 123\npriority: '42'\n",
            Ok(Router {
                rule: "123".into(),
                priority: 42,
                ..Router::default()
            }),
        ),
        file(
            "an integral float is an integer",
            "priority: 7.0\n",
            Ok(Router {
                priority: 7,
                ..Router::default()
            }),
        ),
        file(
            "a fractional float is not",
            "priority: 7.5\n",
            Err("priority: invalid value \"7.500000\", expected an integer"),
        ),
        file(
            "a map is not a string",
            "rule: {a: b}\n",
            Err("rule: expected a string, found a map"),
        ),
        file(
            "a list is not an integer",
            "priority: [1]\n",
            Err("priority: expected an integer, found a list"),
        ),
        file(
            "a map is not a list",
            "entryPoints: {a: b}\n",
            Err("entryPoints: expected a list, found a map"),
        ),
        file(
            "tls as an empty map enables it",
            "tls: {}\n",
            Ok(Router {
                tls: Some(Tls::default()),
                ..Router::default()
            }),
        ),
        file(
            "tls false leaves it off",
            "tls: false\n",
            Ok(Router::default()),
        ),
        file(
            "tls with nothing after it is skipped",
            "tls:\n",
            Ok(Router::default()),
        ),
        file(
            "nested list of structs",
            "tls:\n  domains:\n    - main: a.example\n      sans: [b.example]\n",
            Ok(Router {
                tls: Some(Tls {
                    domains: vec![Domain {
                        main: "a.example".into(),
                        sans: strings(&["b.example"]),
                    }],
                    ..Tls::default()
                }),
                ..Router::default()
            }),
        ),
        file(
            "errors name the path",
            "tls:\n  domains:\n    - main: a\n    - mainn: b\n",
            Err("tls.domains[1]: unknown field \"mainn\", expected one of: main, sans"),
        ),
        label(
            "labels: comma-separated lists and integers from strings",
            &[
                ("entrypoints", "web,websecure"),
                ("priority", "10"),
                ("rule", "Host(`a`)"),
            ],
            Ok(Router {
                entry_points: web(),
                rule: "Host(`a`)".into(),
                priority: 10,
                ..Router::default()
            }),
        ),
        label(
            "labels: bad integer",
            &[("priority", "abc")],
            Err("priority: invalid value \"abc\", expected an integer"),
        ),
        label(
            "labels: tls=true enables tls with defaults",
            &[("tls", "true")],
            Ok(Router {
                tls: Some(Tls::default()),
                ..Router::default()
            }),
        ),
        label(
            "labels: tls=false turns it off",
            &[("tls", "false")],
            Ok(Router::default()),
        ),
        label(
            "labels: indexed list of structs",
            &[
                ("tls.certresolver", "le"),
                ("tls.domains[0].main", "a.example"),
                ("tls.domains[0].sans", "b.example,c.example"),
                ("tls.domains[1].main", "d.example"),
            ],
            Ok(Router {
                tls: Some(Tls {
                    cert_resolver: "le".into(),
                    domains: vec![
                        Domain {
                            main: "a.example".into(),
                            sans: strings(&["b.example", "c.example"]),
                        },
                        Domain {
                            main: "d.example".into(),
                            sans: Vec::new(),
                        },
                    ],
                }),
                ..Router::default()
            }),
        ),
    ]);
}

#[test]
fn services() {
    let server = |url: &str| Server {
        url: url.into(),
        ..Server::default()
    };
    run(vec![
        file(
            "variant matched case-insensitively",
            "LoadBalancer:\n  servers:\n    - url: http://a\n",
            Ok(Service::LoadBalancer(LoadBalancer {
                servers: vec![server("http://a")],
                ..LoadBalancer::default()
            })),
        ),
        file(
            "two service types",
            "loadBalancer:\n  servers: [{url: http://a}]\nweighted:\n  services: [{name: a}]\n",
            Err(
                "exactly one of loadBalancer, weighted must be set, found 2: loadBalancer, weighted",
            ),
        ),
        file(
            "no service type",
            "{}\n",
            Err("exactly one of loadBalancer, weighted must be set, found none"),
        ),
        file(
            "unknown service type",
            "loadBalancr: {}\n",
            Err("unknown field \"loadBalancr\", expected one of: loadBalancer, weighted"),
        ),
        file(
            "bad weight names the full path",
            "loadBalancer:\n  servers:\n    - url: http://a\n      weight: abc\n",
            Err(
                "loadBalancer.servers[0].weight: invalid value \"abc\", expected a non-negative integer",
            ),
        ),
        file(
            "negative weight",
            "loadBalancer:\n  servers: [{url: http://a, weight: -1}]\n",
            Err(
                "loadBalancer.servers[0].weight: invalid value \"-1\", expected a non-negative integer",
            ),
        ),
        file(
            "missing field is reported on its struct",
            "weighted:\n  services: [{weight: 1}]\n",
            Err("weighted.services[0]: missing field `name`"),
        ),
        file(
            "passHostHeader keeps false",
            "loadBalancer:\n  passHostHeader: false\n  servers: [{url: http://a}]\n",
            Ok(Service::LoadBalancer(LoadBalancer {
                servers: vec![server("http://a")],
                pass_host_header: false,
                sticky: None,
            })),
        ),
        file(
            "sticky cookie as empty map",
            "loadBalancer:\n  sticky:\n    cookie: {}\n  servers: [{url: http://a}]\n",
            Ok(Service::LoadBalancer(LoadBalancer {
                servers: vec![server("http://a")],
                sticky: Some(Sticky {
                    cookie: Some(Cookie::default()),
                }),
                ..LoadBalancer::default()
            })),
        ),
        file(
            "empty section that Traefik rejects",
            "loadBalancer: {}\n",
            Err("loadBalancer: must not be empty"),
        ),
        file(
            "file mode has no singular server",
            "loadBalancer:\n  server: {url: http://a}\n",
            Err(
                "loadBalancer: unknown field \"server\", expected one of: servers, passHostHeader, sticky",
            ),
        ),
        label(
            "labels: singular server is the one server",
            &[
                ("loadbalancer.server.port", "8080"),
                ("loadbalancer.server.scheme", "h2c"),
            ],
            Ok(Service::LoadBalancer(LoadBalancer {
                servers: vec![Server {
                    port: Some("8080".into()),
                    scheme: Some("h2c".into()),
                    ..Server::default()
                }],
                ..LoadBalancer::default()
            })),
        ),
        label(
            "labels: sticky.cookie=true and booleans from strings",
            &[
                ("loadbalancer.sticky.cookie", "true"),
                ("loadbalancer.passhostheader", "false"),
                ("loadbalancer.server.url", "http://a"),
            ],
            Ok(Service::LoadBalancer(LoadBalancer {
                servers: vec![server("http://a")],
                pass_host_header: false,
                sticky: Some(Sticky {
                    cookie: Some(Cookie::default()),
                }),
            })),
        ),
        label(
            "labels: sticky cookie options",
            &[
                ("loadbalancer.sticky.cookie.name", "sid"),
                ("loadbalancer.sticky.cookie.secure", "TRUE"),
                ("loadbalancer.server.url", "http://a"),
            ],
            Ok(Service::LoadBalancer(LoadBalancer {
                servers: vec![server("http://a")],
                sticky: Some(Sticky {
                    cookie: Some(Cookie {
                        name: "sid".into(),
                        secure: true,
                    }),
                }),
                ..LoadBalancer::default()
            })),
        ),
        label(
            "labels: bad boolean",
            &[("loadbalancer.passhostheader", "yes")],
            Err(
                "loadBalancer.passHostHeader: invalid value \"yes\", expected a boolean (true or false)",
            ),
        ),
        label(
            "labels: servers[0] is not a label name",
            &[("loadbalancer.servers[0].url", "http://a")],
            Err("loadBalancer: unknown field \"servers\" (labels define the server as \"server\")"),
        ),
        label(
            "labels: bad server weight",
            &[("loadbalancer.server.weight", "x")],
            Err(
                "loadBalancer.servers[0].weight: invalid value \"x\", expected a non-negative integer",
            ),
        ),
    ]);
}

#[test]
fn middlewares() {
    let headers = |pairs: &[(&str, &str)]| {
        Middleware::Headers(Headers {
            custom_request_headers: pairs
                .iter()
                .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
                .collect(),
            ..Headers::default()
        })
    };
    run(vec![
        file(
            "variant in another case",
            "StripPrefix:\n  prefixes: [/a, /b]\n",
            Ok(Middleware::StripPrefix(StripPrefix {
                prefixes: strings(&["/a", "/b"]),
            })),
        ),
        file(
            "user map keys keep their case",
            "headers:\n  customRequestHeaders:\n    X-Foo: bar\n    x-lower: baz\n",
            Ok(headers(&[("X-Foo", "bar"), ("x-lower", "baz")])),
        ),
        file(
            "user map value errors name the key",
            "headers:\n  customRequestHeaders:\n    X-Foo: [a]\n",
            Err("headers.customRequestHeaders.X-Foo: expected a string, found a list"),
        ),
        file(
            "empty middleware section",
            "stripPrefix: {}\n",
            Err("stripPrefix: must not be empty"),
        ),
        file(
            "empty user map",
            "headers:\n  customRequestHeaders: {}\n",
            Err("headers.customRequestHeaders: must not be empty"),
        ),
        file(
            "compress may be empty",
            "compress: {}\n",
            Ok(Middleware::Compress(Compress::default())),
        ),
        file(
            "a non-allowEmpty section given a scalar",
            "stripPrefix: true\n",
            Err("stripPrefix: expected a map, found \"true\""),
        ),
        file(
            "compress cannot be turned off when it is the whole middleware",
            "compress: false\n",
            Err("compress: this section cannot be turned off here"),
        ),
        file(
            "integer range",
            "rateLimit: {burst: 300}\n",
            Err("rateLimit.burst: value 300 is out of range (0 to 255)"),
        ),
        file(
            "floats and any-typed values",
            "rateLimit: {average: '100', ratio: 1, period: {a: [1, x]}}\n",
            Ok(Middleware::RateLimit(RateLimit {
                average: 100,
                ratio: 1.0,
                period: Some(serde_json::json!({"a": [1, "x"]})),
                ..RateLimit::default()
            })),
        ),
        label(
            "labels: user map key case kept",
            &[("headers.customrequestheaders.X-Foo", "bar")],
            Ok(headers(&[("X-Foo", "bar")])),
        ),
        label(
            "labels: comma lists",
            &[("headers.accesscontrolallowmethods", "GET, OPTIONS,PUT")],
            Ok(Middleware::Headers(Headers {
                access_control_allow_methods: strings(&["GET", "OPTIONS", "PUT"]),
                ..Headers::default()
            })),
        ),
        label(
            "labels: compress=true",
            &[("compress", "true")],
            Ok(Middleware::Compress(Compress::default())),
        ),
        label(
            "labels: any-typed values are strings",
            &[("ratelimit.period", "10s"), ("ratelimit.burst", "5")],
            Ok(Middleware::RateLimit(RateLimit {
                burst: 5,
                period: Some(serde_json::json!("10s")),
                ..RateLimit::default()
            })),
        ),
        label(
            "labels: float from string",
            &[("ratelimit.ratio", "0.5")],
            Ok(Middleware::RateLimit(RateLimit {
                ratio: 0.5,
                ..RateLimit::default()
            })),
        ),
    ]);
}

#[test]
fn scalars_and_unit_variants() {
    run(vec![
        file(
            "unit variant from a string in any case",
            "mode: GRPC\nstatus: '200'\n",
            Ok(Check {
                mode: Mode::Grpc,
                status: Some(200),
            }),
        ),
        file(
            "unknown unit variant",
            "mode: tcp\n",
            Err("mode: invalid value \"tcp\", expected one of: http, grpc"),
        ),
        file(
            "u16 range",
            "mode: http\nstatus: 70000\n",
            Err("status: value 70000 is out of range (0 to 65535)"),
        ),
        file(
            "unsigned takes no plus sign (Go's ParseUint)",
            "mode: http\nstatus: '+200'\n",
            Err("status: invalid value \"+200\", expected a non-negative integer"),
        ),
        file(
            "missing required field",
            "status: 1\n",
            Err("missing field `mode`"),
        ),
    ]);
}

#[test]
fn go_booleans() {
    #[derive(Debug, PartialEq, Deserialize)]
    struct B {
        b: bool,
    }
    let cases = [
        ("1", Some(true)),
        ("t", Some(true)),
        ("True", Some(true)),
        ("TRUE", Some(true)),
        ("0", Some(false)),
        ("F", Some(false)),
        ("False", Some(false)),
        ("tRuE", None),
        ("yes", None),
        ("", None),
    ];
    for (text, expected) in cases {
        let node = Node::Map(vec![("b".to_owned(), Node::str(text))]);
        let got = from_node::<B>(&node, Source::Labels).ok().map(|b| b.b);
        assert_eq!(got, expected, "{text:?}");
    }
}

#[derive(Debug, PartialEq, Default, Deserialize)]
#[serde(default, rename_all = "camelCase")]
struct HttpServer {
    url: String,
    preserve_path: bool,
    port: Option<String>,
    scheme: Option<String>,
}

#[derive(Debug, PartialEq, Default, Deserialize)]
#[serde(default, rename_all = "camelCase")]
struct TcpServer {
    address: String,
    port: Option<String>,
    tls: bool,
}

#[derive(Debug, PartialEq, Default, Deserialize)]
#[serde(default, rename_all = "camelCase")]
struct UdpServer {
    address: String,
    port: Option<String>,
}

#[test]
fn source_specific_server_fields() {
    let node = yaml("url: http://a\naddress: 10.0.0.1:80\nport: '80'\nscheme: https\ntls: true\n");
    let without = |keys: &[&str]| match &node {
        Node::Map(entries) => Node::Map(
            entries
                .iter()
                .filter(|(k, _)| !keys.contains(&k.as_str()))
                .cloned()
                .collect(),
        ),
        other => other.clone(),
    };
    let http_node = without(&["address", "tls"]);
    let tcp_node = without(&["url", "scheme"]);
    let udp_node = without(&["url", "scheme", "tls"]);
    let port = Some("80".to_owned());

    let http = |source| from_node::<HttpServer>(&http_node, source).map_err(|e| e.to_string());
    assert_eq!(
        http(Source::File),
        Ok(HttpServer {
            url: "http://a".into(),
            ..HttpServer::default()
        }),
        "files ignore an HTTP server's port and scheme"
    );
    assert_eq!(
        http(Source::Labels),
        Ok(HttpServer {
            url: "http://a".into(),
            port: port.clone(),
            scheme: Some("https".into()),
            ..HttpServer::default()
        }),
        "labels read an HTTP server's port and scheme"
    );

    let tcp = |source| from_node::<TcpServer>(&tcp_node, source).map_err(|e| e.to_string());
    assert_eq!(
        tcp(Source::File),
        Ok(TcpServer {
            address: "10.0.0.1:80".into(),
            port: port.clone(),
            tls: true,
        }),
        "files read a TCP server's address and port"
    );
    assert_eq!(
        tcp(Source::Labels),
        Ok(TcpServer {
            port: port.clone(),
            tls: true,
            ..TcpServer::default()
        }),
        "labels ignore a TCP server's address"
    );

    let udp = |source| from_node::<UdpServer>(&udp_node, source).map_err(|e| e.to_string());
    assert_eq!(
        udp(Source::File),
        Ok(UdpServer {
            address: "10.0.0.1:80".into(),
            port: None,
        }),
        "files ignore a UDP server's port"
    );
    assert_eq!(
        udp(Source::Labels),
        Ok(UdpServer {
            address: String::new(),
            port,
        }),
        "labels ignore a UDP server's address"
    );
}
