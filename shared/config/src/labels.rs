//! Builds a [`Node`] tree from container labels the way paerser's label parser does.
//!
//! - Only `<root>.http.*`, `<root>.tcp.*`, `<root>.udp.*` and `<root>.tls.stores.default.*`
//!   are dynamic configuration (Traefik's label filters); everything else (`traefik.enable`,
//!   `traefik.docker.network`, other prefixes) is ignored.
//! - Keys split on `.`; a segment `name[i]` is item `i` of list `name`.
//! - Labels are applied in sorted key order and segments merge case-insensitively: the
//!   first spelling seen names the node, a later value for the same leaf replaces it.
//! - `switchyard.` labels are applied after `traefik.` ones, so they win on the same key.
//! - All values stay strings; the deserializer converts them for their targets.

use crate::de::allows_empty;
use crate::node::{MAX_DEPTH, Node};

/// Label roots read as dynamic configuration, lowest precedence first.
pub const ROOTS: [&str; 2] = ["traefik", "switchyard"];

/// A tree built from labels, with the labels that could not be placed in it.
#[derive(Debug, Clone, PartialEq)]
pub struct LabelTree {
    /// The configuration tree (a map of sections).
    pub node: Node,
    /// Labels that were rejected.
    pub issues: Vec<LabelIssue>,
}

/// A label that could not be read.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LabelIssue {
    /// The label key as given.
    pub label: String,
    /// The key's segments after the root (before any bracket split), for attributing the
    /// issue to a resource.
    pub segments: Vec<String>,
    /// What is wrong.
    pub message: String,
}

/// Whether the key (segments after the root) is dynamic configuration for Traefik's label
/// provider; the comparison is case-insensitive like paerser's filters.
fn is_dynamic(segments: &[&str]) -> bool {
    match segments {
        [section, ..]
            if ["http", "tcp", "udp"]
                .iter()
                .any(|s| s.eq_ignore_ascii_case(section)) =>
        {
            true
        }
        [tls, stores, default, ..] => {
            tls.eq_ignore_ascii_case("tls")
                && stores.eq_ignore_ascii_case("stores")
                && default.eq_ignore_ascii_case("default")
        }
        _ => false,
    }
}

/// Builds the configuration tree from `labels`.
pub fn label_tree<'a>(labels: impl IntoIterator<Item = (&'a str, &'a str)>) -> LabelTree {
    // (root precedence, key after the root, full key, value)
    let mut selected: Vec<(usize, &str, &str, &str)> = Vec::new();
    for (key, value) in labels {
        let Some((root, rest)) = key.split_once('.') else {
            continue;
        };
        let Some(rank) = ROOTS.iter().position(|r| *r == root) else {
            continue;
        };
        let segments: Vec<&str> = rest.split('.').collect();
        if !is_dynamic(&segments) {
            continue;
        }
        selected.push((rank, rest, key, value));
    }
    selected.sort_by(|a, b| (a.0, a.1).cmp(&(b.0, b.1)));

    let mut root = LabelNode::default();
    let mut issues = Vec::new();
    for (_, rest, key, value) in selected {
        match parse_key(rest) {
            Ok(parts) => root.insert(&parts, value),
            Err(message) => issues.push(LabelIssue {
                label: key.to_owned(),
                segments: rest.split('.').map(str::to_owned).collect(),
                message,
            }),
        }
    }
    let node = match root.into_node() {
        // No dynamic label at all: an empty configuration, not an empty string.
        Node::Scalar(_) => Node::Map(Vec::new()),
        node => node,
    };
    LabelTree { node, issues }
}

/// Splits a key into node names: `a.b[0].c` is `a`, `b`, `[0]`, `c`.
fn parse_key(key: &str) -> Result<Vec<&str>, String> {
    let mut parts = Vec::new();
    for segment in key.split('.') {
        if segment.is_empty() {
            return Err("empty segment in label key".to_owned());
        }
        if segment.starts_with('[') {
            return Err(format!(
                "segment {segment:?} starts with '[' (brackets only index a list: name[0])"
            ));
        }
        if segment.ends_with(']') {
            let Some(open) = segment.find('[') else {
                return Err(format!("segment {segment:?} has ']' without '['"));
            };
            parts.push(&segment[..open]);
            parts.push(&segment[open..]);
        } else {
            parts.push(segment);
        }
    }
    if parts.len() > MAX_DEPTH {
        return Err(format!(
            "label key is nested deeper than {MAX_DEPTH} levels"
        ));
    }
    Ok(parts)
}

/// Unicode-aware case-insensitive comparison (Go's `strings.EqualFold` in spirit).
fn equal_fold(a: &str, b: &str) -> bool {
    a.eq_ignore_ascii_case(b)
        || a.chars()
            .flat_map(char::to_lowercase)
            .eq(b.chars().flat_map(char::to_lowercase))
}

#[derive(Debug, Default)]
struct LabelNode {
    name: String,
    value: Option<String>,
    children: Vec<LabelNode>,
}

impl LabelNode {
    fn insert(&mut self, path: &[&str], value: &str) {
        let mut node = self;
        for part in path {
            let index = match node.children.iter().position(|c| equal_fold(&c.name, part)) {
                Some(index) => index,
                None => {
                    node.children.push(LabelNode {
                        name: (*part).to_owned(),
                        ..LabelNode::default()
                    });
                    node.children.len() - 1
                }
            };
            node = &mut node.children[index];
        }
        node.value = Some(value.to_owned());
    }

    fn into_node(self) -> Node {
        if self.children.is_empty() {
            return Node::str(self.value.unwrap_or_default());
        }
        // paerser turns an `allowEmpty` section off when its own label says so, whatever
        // its sub-labels say (`tls=false` beats `tls.certresolver=le`); on any other node
        // the value of a label with sub-labels is ignored.
        if let Some(value) = &self.value
            && !value.is_empty()
            && !value.eq_ignore_ascii_case("true")
            && allows_empty(Some(&self.name))
        {
            return Node::str(value.clone());
        }
        let is_list = self.children.iter().all(|c| c.name.starts_with('['));
        if is_list {
            Node::List(
                self.children
                    .into_iter()
                    .map(LabelNode::into_node)
                    .collect(),
            )
        } else {
            Node::Map(
                self.children
                    .into_iter()
                    .map(|c| (c.name.clone(), c.into_node()))
                    .collect(),
            )
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn map(entries: Vec<(&str, Node)>) -> Node {
        Node::Map(
            entries
                .into_iter()
                .map(|(k, v)| (k.to_owned(), v))
                .collect(),
        )
    }

    /// `http.routers.<name>` holding `entries`.
    fn router(name: &str, entries: Vec<(&str, Node)>) -> Node {
        map(vec![(
            "http",
            map(vec![("routers", map(vec![(name, map(entries))]))]),
        )])
    }

    #[test]
    fn builds_trees() {
        type Case<'a> = (&'a str, Vec<(&'a str, &'a str)>, Node);
        let cases: Vec<Case> = vec![
            ("no labels", vec![], map(vec![])),
            (
                "non-dynamic labels are ignored",
                vec![
                    ("traefik.enable", "true"),
                    ("traefik.docker.network", "web"),
                    ("com.example.http.x", "1"),
                    ("traefik.tls.options.o.minVersion", "VersionTLS12"),
                    ("traefik.tls.stores.other.x", "1"),
                    ("traefik", "x"),
                ],
                map(vec![]),
            ),
            (
                "simple router",
                vec![("traefik.http.routers.r.rule", "Host(`a`)")],
                router("r", vec![("rule", Node::str("Host(`a`)"))]),
            ),
            (
                "segments merge case-insensitively, first spelling in sorted order kept",
                vec![
                    ("traefik.http.routers.r.service", "s"),
                    ("traefik.http.routers.R.rule", "Host(`a`)"),
                    ("traefik.HTTP.Routers.r.priority", "1"),
                ],
                map(vec![(
                    "HTTP",
                    map(vec![(
                        "Routers",
                        map(vec![(
                            "r",
                            map(vec![
                                ("priority", Node::str("1")),
                                ("rule", Node::str("Host(`a`)")),
                                ("service", Node::str("s")),
                            ]),
                        )]),
                    )]),
                )]),
            ),
            (
                "indexed list items",
                vec![
                    ("traefik.http.routers.r.tls.domains[1].main", "b.example"),
                    ("traefik.http.routers.r.tls.domains[0].main", "a.example"),
                    ("traefik.http.routers.r.tls.domains[0].sans", "x.a,y.a"),
                ],
                router(
                    "r",
                    vec![(
                        "tls",
                        map(vec![(
                            "domains",
                            Node::List(vec![
                                map(vec![
                                    ("main", Node::str("a.example")),
                                    ("sans", Node::str("x.a,y.a")),
                                ]),
                                map(vec![("main", Node::str("b.example"))]),
                            ]),
                        )]),
                    )],
                ),
            ),
            (
                "switchyard wins over traefik for the same key",
                vec![
                    ("switchyard.http.routers.r.rule", "Host(`new`)"),
                    ("traefik.http.routers.r.rule", "Host(`old`)"),
                    ("traefik.http.routers.r.service", "s"),
                ],
                router(
                    "r",
                    vec![
                        ("rule", Node::str("Host(`new`)")),
                        ("service", Node::str("s")),
                    ],
                ),
            ),
            (
                "user map keys keep their case",
                vec![(
                    "traefik.http.middlewares.m.headers.customrequestheaders.X-Foo",
                    "bar",
                )],
                map(vec![(
                    "http",
                    map(vec![(
                        "middlewares",
                        map(vec![(
                            "m",
                            map(vec![(
                                "headers",
                                map(vec![(
                                    "customrequestheaders",
                                    map(vec![("X-Foo", Node::str("bar"))]),
                                )]),
                            )]),
                        )]),
                    )]),
                )]),
            ),
            (
                "default tls store",
                vec![(
                    "traefik.tls.stores.default.defaultcertificate.certfile",
                    "/c.pem",
                )],
                map(vec![(
                    "tls",
                    map(vec![(
                        "stores",
                        map(vec![(
                            "default",
                            map(vec![(
                                "defaultcertificate",
                                map(vec![("certfile", Node::str("/c.pem"))]),
                            )]),
                        )]),
                    )]),
                )]),
            ),
        ];
        for (case, labels, expected) in cases {
            let tree = label_tree(labels);
            assert!(tree.issues.is_empty(), "{case}: {:?}", tree.issues);
            assert_eq!(tree.node, expected, "{case}: got {}", tree.node);
        }
    }

    #[test]
    fn rejects_malformed_keys() {
        let cases = [
            (
                "empty segment",
                "traefik.http.routers.r..rule",
                "empty segment",
            ),
            (
                "leading bracket",
                "traefik.http.routers.r.[0]",
                "starts with '['",
            ),
            (
                "unbalanced bracket",
                "traefik.http.routers.r.x]",
                "without '['",
            ),
        ];
        for (case, key, message) in cases {
            let tree = label_tree([(key, "v"), ("traefik.http.routers.ok.rule", "r")]);
            assert_eq!(tree.issues.len(), 1, "{case}");
            assert_eq!(tree.issues[0].label, key, "{case}");
            assert!(
                tree.issues[0].message.contains(message),
                "{case}: {:?}",
                tree.issues
            );
            assert_eq!(
                tree.issues[0].segments[..3],
                ["http", "routers", "r"],
                "{case}"
            );
            assert_eq!(
                tree.node,
                router("ok", vec![("rule", Node::str("r"))]),
                "{case}"
            );
        }
    }

    #[test]
    fn too_deep_keys_are_rejected() {
        let key = format!("traefik.http.routers.r{}", ".x".repeat(MAX_DEPTH + 1));
        let tree = label_tree([(key.as_str(), "v")]);
        assert_eq!(tree.issues.len(), 1);
        assert!(tree.issues[0].message.contains("deeper"));
    }
}
