//! Walks a configuration tree resource by resource, so a bad resource only disables itself.

use std::collections::{BTreeMap, BTreeSet};

use serde::de::DeserializeOwned;
use switchyard_model::{DynamicConfig, Problem, ResourceKind};

use crate::Decoded;
use crate::de::{DecodeError, Source, from_node};
use crate::labels::LabelIssue;
use crate::node::Node;

/// Top-level sections and their collections, with canonical spellings.
const SECTIONS: [(&str, &[(&str, ResourceKind)]); 4] = [
    (
        "http",
        &[
            ("routers", ResourceKind::HttpRouter),
            ("services", ResourceKind::HttpService),
            ("middlewares", ResourceKind::HttpMiddleware),
            ("serversTransports", ResourceKind::HttpServersTransport),
        ],
    ),
    (
        "tcp",
        &[
            ("routers", ResourceKind::TcpRouter),
            ("services", ResourceKind::TcpService),
            ("middlewares", ResourceKind::TcpMiddleware),
            ("serversTransports", ResourceKind::TcpServersTransport),
        ],
    ),
    (
        "udp",
        &[
            ("routers", ResourceKind::UdpRouter),
            ("services", ResourceKind::UdpService),
        ],
    ),
    (
        "tls",
        &[
            ("certificates", ResourceKind::TlsCertificate),
            ("options", ResourceKind::TlsOption),
            ("stores", ResourceKind::TlsStore),
        ],
    ),
];

/// The collection kind at `section.collection`, both matched case-insensitively.
fn collection_kind(section: &str, collection: &str) -> Option<ResourceKind> {
    SECTIONS
        .iter()
        .find(|(s, _)| s.eq_ignore_ascii_case(section))
        .and_then(|(_, collections)| {
            collections
                .iter()
                .find(|(c, _)| c.eq_ignore_ascii_case(collection))
        })
        .map(|(_, kind)| *kind)
}

/// Collections Traefik's label parser never fills (`label:"-"`).
fn ignored_in_labels(kind: ResourceKind) -> bool {
    matches!(
        kind,
        ResourceKind::HttpServersTransport
            | ResourceKind::TcpServersTransport
            | ResourceKind::TlsCertificate
            | ResourceKind::TlsOption
    )
}

fn problem(kind: ResourceKind, name: &str, err: DecodeError) -> Problem {
    Problem {
        kind,
        name: name.to_owned(),
        field: err.path().map(str::to_owned),
        message: err.message().to_owned(),
    }
}

struct Walk {
    source: Source,
    config: DynamicConfig,
    problems: Vec<Problem>,
    /// Source index of each decoded certificate (a certificate that fails to decode is
    /// left out, shifting the ones after it).
    certificate_sources: Vec<usize>,
    /// Certificate entries seen so far, across repeated `tls` sections.
    certificates_seen: usize,
    /// Section-level errors: the file is unusable, as in Traefik.
    structure: Vec<String>,
}

impl Walk {
    fn resource<T: DeserializeOwned>(
        source: Source,
        problems: &mut Vec<Problem>,
        map: &mut BTreeMap<String, T>,
        kind: ResourceKind,
        name: &str,
        node: &Node,
    ) {
        match from_node::<T>(node, source) {
            Ok(value) => {
                map.insert(name.to_owned(), value);
            }
            Err(err) => problems.push(problem(kind, name, err)),
        }
    }

    fn collection(&mut self, kind: ResourceKind, path: &str, node: &Node) {
        if kind == ResourceKind::TlsCertificate {
            return self.certificates(path, node);
        }
        let Node::Map(entries) = node else {
            self.structure.push(format!(
                "{path}: expected a map of names to definitions, found {}",
                node.describe()
            ));
            return;
        };
        let (source, problems, config) = (self.source, &mut self.problems, &mut self.config);
        for (name, node) in entries {
            let name = name.as_str();
            match kind {
                ResourceKind::HttpRouter => {
                    Self::resource(source, problems, &mut config.http.routers, kind, name, node)
                }
                ResourceKind::HttpService => Self::resource(
                    source,
                    problems,
                    &mut config.http.services,
                    kind,
                    name,
                    node,
                ),
                ResourceKind::HttpMiddleware => Self::resource(
                    source,
                    problems,
                    &mut config.http.middlewares,
                    kind,
                    name,
                    node,
                ),
                ResourceKind::HttpServersTransport => Self::resource(
                    source,
                    problems,
                    &mut config.http.servers_transports,
                    kind,
                    name,
                    node,
                ),
                ResourceKind::TcpRouter => {
                    Self::resource(source, problems, &mut config.tcp.routers, kind, name, node)
                }
                ResourceKind::TcpService => {
                    Self::resource(source, problems, &mut config.tcp.services, kind, name, node)
                }
                ResourceKind::TcpMiddleware => Self::resource(
                    source,
                    problems,
                    &mut config.tcp.middlewares,
                    kind,
                    name,
                    node,
                ),
                ResourceKind::TcpServersTransport => Self::resource(
                    source,
                    problems,
                    &mut config.tcp.servers_transports,
                    kind,
                    name,
                    node,
                ),
                ResourceKind::UdpRouter => {
                    Self::resource(source, problems, &mut config.udp.routers, kind, name, node)
                }
                ResourceKind::UdpService => {
                    Self::resource(source, problems, &mut config.udp.services, kind, name, node)
                }
                ResourceKind::TlsOption => {
                    Self::resource(source, problems, &mut config.tls.options, kind, name, node)
                }
                ResourceKind::TlsStore => {
                    Self::resource(source, problems, &mut config.tls.stores, kind, name, node)
                }
                ResourceKind::TlsCertificate => {}
            }
        }
    }

    fn certificates(&mut self, path: &str, node: &Node) {
        let Node::List(items) = node else {
            self.structure.push(format!(
                "{path}: expected a list of certificates, found {}",
                node.describe()
            ));
            return;
        };
        for item in items {
            let index = self.certificates_seen;
            self.certificates_seen += 1;
            match from_node(item, self.source) {
                Ok(certificate) => {
                    self.config.tls.certificates.push(certificate);
                    self.certificate_sources.push(index);
                }
                Err(err) => self.problems.push(problem(
                    ResourceKind::TlsCertificate,
                    &index.to_string(),
                    err,
                )),
            }
        }
    }

    fn root(&mut self, root: &Node) {
        let Node::Map(sections) = root else {
            self.structure.push(format!(
                "expected a map of sections (http, tcp, udp, tls), found {}",
                root.describe()
            ));
            return;
        };
        for (section_key, section) in sections {
            // Traefik reads only its four sections and ignores other top-level keys, which
            // files use e.g. to hold YAML anchors.
            let Some((section_name, collections)) = SECTIONS
                .iter()
                .find(|(s, _)| s.eq_ignore_ascii_case(section_key))
            else {
                continue;
            };
            let Node::Map(entries) = section else {
                self.structure.push(format!(
                    "{section_key}: expected a map, found {}",
                    section.describe()
                ));
                continue;
            };
            for (collection_key, node) in entries {
                let Some(kind) = collection_kind(section_name, collection_key) else {
                    let names: Vec<&str> = collections.iter().map(|(c, _)| *c).collect();
                    self.structure.push(format!(
                        "{section_key}: unknown field {collection_key:?}, expected one of: {}",
                        names.join(", ")
                    ));
                    continue;
                };
                if self.source == Source::Labels && ignored_in_labels(kind) {
                    continue;
                }
                self.collection(kind, &format!("{section_key}.{collection_key}"), node);
            }
        }
    }

    /// Drops resources named by label issues, recording why.
    fn label_issues(&mut self, issues: &[LabelIssue]) {
        for issue in issues {
            let [section, collection, name, ..] = issue.segments.as_slice() else {
                continue;
            };
            let Some(kind) = collection_kind(section, collection) else {
                continue;
            };
            // Label segments merge case-insensitively, so the resource may be spelled
            // differently in the tree.
            let resolved = self
                .config
                .resource_names(kind)
                .into_iter()
                .find(|n| n.to_lowercase() == name.to_lowercase())
                .unwrap_or_else(|| name.clone());
            self.config.remove(kind, &resolved);
            self.problems.push(Problem {
                kind,
                name: resolved,
                field: None,
                message: format!("label {:?}: {}", issue.label, issue.message),
            });
        }
    }

    /// Runs the model's validation and removes every resource it faults.
    fn validate(&mut self) {
        let mut faulty_certificates = BTreeSet::new();
        for mut p in self.config.validate() {
            if p.kind == ResourceKind::TlsCertificate {
                if let Some(&source) = p
                    .name
                    .parse::<usize>()
                    .ok()
                    .and_then(|i| self.certificate_sources.get(i))
                {
                    faulty_certificates.insert(p.name.clone());
                    p.name = source.to_string();
                }
            } else {
                self.config.remove(p.kind, &p.name);
            }
            self.problems.push(p);
        }
        // Highest index first, so the indices still to remove stay valid.
        let mut indices: Vec<usize> = faulty_certificates
            .iter()
            .filter_map(|n| n.parse().ok())
            .collect();
        indices.sort_unstable_by(|a, b| b.cmp(a));
        for index in indices {
            if index < self.certificate_sources.len() {
                self.config.tls.certificates.remove(index);
                self.certificate_sources.remove(index);
            }
        }
    }
}

/// Decodes a whole tree, returning the section-level errors separately: Traefik rejects a
/// file with any of them as a whole.
pub(crate) fn decode_tree(
    root: &Node,
    source: Source,
    issues: &[LabelIssue],
    validate: bool,
) -> (Decoded, Vec<String>) {
    let mut walk = Walk {
        source,
        config: DynamicConfig::default(),
        problems: Vec::new(),
        certificate_sources: Vec::new(),
        certificates_seen: 0,
        structure: Vec::new(),
    };
    walk.root(root);
    walk.label_issues(issues);
    if validate {
        walk.validate();
    }
    // A name defined twice (say under `http` and `HTTP`) may have failed once and decoded
    // once; a resource with any problem is left out.
    for p in &walk.problems {
        if p.kind != ResourceKind::TlsCertificate {
            walk.config.remove(p.kind, &p.name);
        }
    }
    let mut problems = walk.problems;
    // Sources list entries in different orders (TOML tables are sorted); the report is
    // sorted so that the same configuration gives the same report from any syntax.
    problems.sort_by(|a, b| {
        (a.kind, &a.name, &a.field, &a.message).cmp(&(b.kind, &b.name, &b.field, &b.message))
    });
    problems.dedup();
    let decoded = Decoded {
        config: walk.config,
        problems,
    };
    (decoded, walk.structure)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::labels::label_tree;

    fn names(decoded: &Decoded, kind: ResourceKind) -> Vec<String> {
        decoded.config.resource_names(kind)
    }

    fn problem_keys(decoded: &Decoded) -> Vec<(ResourceKind, String)> {
        decoded
            .problems
            .iter()
            .map(|p| (p.kind, p.name.clone()))
            .collect()
    }

    #[test]
    fn walks_files() {
        use ResourceKind::*;
        type Case<'a> = (
            &'a str,
            &'a str,
            Vec<(ResourceKind, &'a [&'a str])>,
            Vec<(ResourceKind, &'a str)>,
        );
        let cases: Vec<Case> = vec![
            (
                "sections in any case merge",
                "http:\n  routers:\n    a: {rule: x, service: s}\nHTTP:\n  Routers:\n    B: {rule: y, service: s}\n",
                vec![(HttpRouter, &["B", "a"])],
                vec![],
            ),
            (
                "a name failing in one section and decoding in another is left out",
                "http:\n  routers:\n    a: {rule: x, service: s}\nHTTP:\n  routers:\n    a: {rule: [x]}\n",
                vec![(HttpRouter, &[])],
                vec![(HttpRouter, "a")],
            ),
            (
                "certificate indices run across sections",
                "tls:\n  certificates:\n    - {certFile: a, keyFile: a}\nTLS:\n  certificates:\n    - {certFile: [b]}\n    - {certFile: c, keyFile: c}\n",
                vec![(TlsCertificate, &["0", "1"])],
                vec![(TlsCertificate, "1")],
            ),
            (
                "a certificate failing validation keeps its source index",
                "tls:\n  certificates:\n    - {certFile: [a]}\n    - {certFile: b}\n    - {certFile: c, keyFile: c}\n",
                vec![(TlsCertificate, &["0"])],
                vec![(TlsCertificate, "0"), (TlsCertificate, "1")],
            ),
            (
                "unknown top-level keys are ignored",
                "entryPoints:\n  web: {address: ':80'}\nhttp:\n  services:\n    s: {loadBalancer: {servers: [{url: 'http://a'}]}}\n",
                vec![(HttpService, &["s"])],
                vec![],
            ),
            (
                "empty collections are accepted",
                "http:\n  routers: {}\n  middlewares:\ntcp: {}\n",
                vec![(HttpRouter, &[]), (HttpMiddleware, &[])],
                vec![],
            ),
        ];
        for (case, text, expected_names, expected_problems) in cases {
            let root = Node::from_yaml(text).unwrap_or_else(|e| panic!("{case}: {e}"));
            let (decoded, structure) = decode_tree(&root, Source::File, &[], true);
            assert!(structure.is_empty(), "{case}: {structure:?}");
            for (kind, expected) in expected_names {
                assert_eq!(names(&decoded, kind), expected, "{case}: {kind}");
            }
            let expected: Vec<(ResourceKind, String)> = expected_problems
                .into_iter()
                .map(|(k, n)| (k, n.to_owned()))
                .collect();
            assert_eq!(
                problem_keys(&decoded),
                expected,
                "{case}: {:?}",
                decoded.problems
            );
        }
    }

    #[test]
    fn section_errors_are_collected() {
        let cases = [
            (
                "section not a map",
                "http: 3\n",
                vec!["http: expected a map, found \"3\""],
            ),
            (
                "unknown collection",
                "udp:\n  middlewares: {}\n",
                vec!["udp: unknown field \"middlewares\", expected one of: routers, services"],
            ),
            (
                "collection not a map",
                "http:\n  routers: [a]\ntls:\n  certificates: {a: b}\n",
                vec![
                    "http.routers: expected a map of names to definitions, found a list",
                    "tls.certificates: expected a list of certificates, found a map",
                ],
            ),
        ];
        for (case, text, expected) in cases {
            let root = Node::from_yaml(text).unwrap_or_else(|e| panic!("{case}: {e}"));
            let (_, structure) = decode_tree(&root, Source::File, &[], true);
            assert_eq!(structure, expected, "{case}");
        }
    }

    #[test]
    fn label_issues_disable_their_resource() {
        let tree = label_tree([
            ("traefik.http.routers.Web.rule", "Host(`a`)"),
            ("traefik.http.routers.Web.service", "s"),
            ("traefik.http.routers.web.tls..certresolver", "le"),
            ("traefik.http.routers.other.rule", "Host(`b`)"),
            ("traefik.http.routers.other.service", "s"),
        ]);
        let (decoded, _) = decode_tree(&tree.node, Source::Labels, &tree.issues, true);
        assert_eq!(names(&decoded, ResourceKind::HttpRouter), ["other"]);
        assert_eq!(
            problem_keys(&decoded),
            [(ResourceKind::HttpRouter, "Web".to_owned())]
        );
        assert!(
            decoded.problems[0].message.contains("empty segment"),
            "{:?}",
            decoded.problems
        );
    }

    #[test]
    fn labels_skip_collections_traefik_never_reads_from_labels() {
        let tree = label_tree([
            (
                "traefik.http.serverstransports.t.insecureskipverify",
                "true",
            ),
            ("traefik.tcp.serversTransports.t.dialTimeout", "5s"),
        ]);
        let (decoded, structure) = decode_tree(&tree.node, Source::Labels, &tree.issues, true);
        assert!(decoded.config.is_empty(), "{:?}", decoded.config);
        assert!(decoded.problems.is_empty() && structure.is_empty());
    }
}
