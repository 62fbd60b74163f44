//! Decoding a container's labels into configuration, leaving room for what the Docker
//! provider fills in afterwards.
//!
//! `decode_labels` validates every resource as a file would: a router without a rule or
//! service, or a server with only a scheme, is rejected there. On Docker those are filled
//! from the container (default rule, the only service, the container's address), so such
//! resources are decoded again on their own and validated only after filling. Resources
//! that do not decode, or whose label keys are malformed, stay rejected.

use std::collections::{BTreeMap, BTreeSet};

use serde::de::DeserializeOwned;
use switchyard_config::{Decoded, Node, Source, decode_labels, from_node, label_tree};
use switchyard_model::{DynamicConfig, Problem, ResourceKind, http, tcp, udp};

/// Where each kind the provider fills lives in the label tree.
const FILLED: [(ResourceKind, &str, &str); 6] = [
    (ResourceKind::HttpRouter, "http", "routers"),
    (ResourceKind::HttpService, "http", "services"),
    (ResourceKind::TcpRouter, "tcp", "routers"),
    (ResourceKind::TcpService, "tcp", "services"),
    (ResourceKind::UdpRouter, "udp", "routers"),
    (ResourceKind::UdpService, "udp", "services"),
];

/// Decodes `labels`; returns the configuration (possibly incomplete where Docker fills
/// it) and the resources rejected for good.
pub(super) fn decode(labels: &BTreeMap<String, String>) -> (DynamicConfig, Vec<Problem>) {
    let pairs = || labels.iter().map(|(k, v)| (k.as_str(), v.as_str()));
    let Decoded {
        mut config,
        problems,
    } = decode_labels(pairs());
    if problems.is_empty() {
        return (config, problems);
    }
    let tree = label_tree(pairs());
    // Resources named by a malformed label key: never recovered.
    let malformed: BTreeSet<(ResourceKind, String)> = tree
        .issues
        .iter()
        .filter_map(|issue| match issue.segments.as_slice() {
            [section, collection, name, ..] => {
                kind_at(section, collection).map(|kind| (kind, name.to_lowercase()))
            }
            _ => None,
        })
        .collect();
    let mut by_resource: BTreeMap<(ResourceKind, String), Vec<Problem>> = BTreeMap::new();
    for problem in problems {
        by_resource
            .entry((problem.kind, problem.name.clone()))
            .or_default()
            .push(problem);
    }
    let mut kept = Vec::new();
    for ((kind, name), problems) in by_resource {
        let recovered = !malformed.contains(&(kind, name.to_lowercase()))
            && restore(&tree.node, &mut config, kind, &name);
        if !recovered {
            kept.extend(problems);
        }
    }
    (config, kept)
}

fn kind_at(section: &str, collection: &str) -> Option<ResourceKind> {
    FILLED
        .iter()
        .find(|(_, s, c)| s.eq_ignore_ascii_case(section) && c.eq_ignore_ascii_case(collection))
        .map(|(kind, _, _)| *kind)
}

/// The entry of map `node` named `name`: exactly, else case-insensitively.
fn child<'a>(node: &'a Node, name: &str) -> Option<&'a Node> {
    let Node::Map(entries) = node else {
        return None;
    };
    entries
        .iter()
        .find(|(k, _)| k == name)
        .or_else(|| entries.iter().find(|(k, _)| k.eq_ignore_ascii_case(name)))
        .map(|(_, v)| v)
}

/// Decodes resource `name` of `kind` from the label tree into `config`, without
/// validation; false when it does not decode (or is not a kind the provider fills).
fn restore(root: &Node, config: &mut DynamicConfig, kind: ResourceKind, name: &str) -> bool {
    let Some((_, section, collection)) = FILLED.iter().find(|(k, _, _)| *k == kind) else {
        return false;
    };
    let Some(node) = child(root, section)
        .and_then(|n| child(n, collection))
        .and_then(|n| child(n, name))
    else {
        return false;
    };
    fn put<T: DeserializeOwned>(node: &Node, map: &mut BTreeMap<String, T>, name: &str) -> bool {
        match from_node::<T>(node, Source::Labels) {
            Ok(value) => {
                map.insert(name.to_owned(), value);
                true
            }
            Err(_) => false,
        }
    }
    match kind {
        ResourceKind::HttpRouter => put::<http::Router>(node, &mut config.http.routers, name),
        ResourceKind::HttpService => put::<http::Service>(node, &mut config.http.services, name),
        ResourceKind::TcpRouter => put::<tcp::Router>(node, &mut config.tcp.routers, name),
        ResourceKind::TcpService => put::<tcp::Service>(node, &mut config.tcp.services, name),
        ResourceKind::UdpRouter => put::<udp::Router>(node, &mut config.udp.routers, name),
        ResourceKind::UdpService => put::<udp::Service>(node, &mut config.udp.services, name),
        _ => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn labels(pairs: &[(&str, &str)]) -> BTreeMap<String, String> {
        pairs
            .iter()
            .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
            .collect()
    }

    #[test]
    fn keeps_what_docker_fills_and_rejects_the_rest() {
        type Case<'a> = (&'a str, Vec<(&'a str, &'a str)>, Vec<&'a str>, Vec<&'a str>);
        let cases: Vec<Case> = vec![
            (
                "router without rule nor service is kept for filling",
                vec![("traefik.http.routers.r.entrypoints", "web")],
                vec!["http.routers.r"],
                vec![],
            ),
            (
                "server with only a scheme is kept for filling",
                vec![(
                    "traefik.http.services.s.loadbalancer.server.scheme",
                    "https",
                )],
                vec!["http.services.s"],
                vec![],
            ),
            (
                "tcp router without rule is kept (validated after filling)",
                vec![("traefik.tcp.routers.t.entrypoints", "db")],
                vec!["tcp.routers.t"],
                vec![],
            ),
            (
                "a value that does not decode stays rejected",
                vec![
                    ("traefik.http.routers.r.priority", "high"),
                    ("traefik.http.routers.ok.rule", "Host(`a`)"),
                ],
                vec!["http.routers.ok"],
                vec!["http.routers.r"],
            ),
            (
                "a malformed key stays rejected",
                vec![("traefik.http.routers.r..rule", "Host(`a`)")],
                vec![],
                vec!["http.routers.r"],
            ),
            (
                "middlewares are never recovered",
                vec![("traefik.http.middlewares.m.ratelimit.average", "lots")],
                vec![],
                vec!["http.middlewares.m"],
            ),
        ];
        for (case, pairs, expected_config, expected_problems) in cases {
            let (config, problems) = decode(&labels(&pairs));
            let mut names = Vec::new();
            for kind in ResourceKind::ALL {
                for name in config.resource_names(kind) {
                    names.push(format!("{kind}.{name}"));
                }
            }
            assert_eq!(names, expected_config, "{case}");
            let rejected: Vec<String> = problems
                .iter()
                .map(|p| format!("{}.{}", p.kind, p.name))
                .collect::<BTreeSet<_>>()
                .into_iter()
                .collect();
            assert_eq!(rejected, expected_problems, "{case}: {problems:?}");
        }
    }
}
