//! The routing table: routers indexed for lookup.
//!
//! Routers are ordered once, globally: priority (highest first), then provider precedence,
//! then name, so the winner is deterministic even where Traefik leaves ties undefined.
//! Each router is filed under what its rule requires of the host:
//! - an exact host set (`Host(a) || Host(b)`) files it under each host;
//! - a domain suffix (`HostRegexp(^.+\.example\.com$)`) files it under the suffix;
//! - anything else (no host matcher, negations, unanchored regexps) is host-less, and is
//!   filed in a trie of path segments by the literal prefix its rule requires of the path
//!   (`PathPrefix(/static/app/)` under `static` → `app`; no known prefix: at the root).
//!
//! A lookup merges, in global order, the candidate lists of the request's host, its parent
//! domains and the trie nodes along the request's path, and returns the first router whose
//! rule matches; its cost depends on the routers that could match that host and path, not
//! on the table's size.

use std::collections::HashMap;
use std::sync::Arc;

use switchyard_merge::{Merged, provider_of};
use switchyard_model::http::Router;
use switchyard_rules::{
    HostConstraint, HttpRequest, PathConstraint, Rule, domain_suffixes, host_key,
};

/// The order of providers for routers of equal priority, first wins. Providers not listed
/// come after the listed ones, alphabetically.
#[derive(Debug, Clone)]
pub struct ProviderPrecedence(Vec<String>);

impl Default for ProviderPrecedence {
    /// Switchyard's default: `internal`, `file`, then every other provider alphabetically.
    fn default() -> Self {
        Self(vec!["internal".into(), "file".into()])
    }
}

impl ProviderPrecedence {
    /// A custom precedence list.
    pub fn new(order: Vec<String>) -> Self {
        Self(order)
    }

    fn rank(&self, provider: &str) -> usize {
        self.0
            .iter()
            .position(|p| p == provider)
            .unwrap_or(self.0.len())
    }
}

/// One routable HTTP router.
#[derive(Debug)]
pub struct Route {
    /// Qualified name, `name@provider`.
    pub name: String,
    /// Effective priority (the rule's length in bytes when not configured).
    pub priority: i64,
    /// The parsed rule.
    pub rule: Arc<Rule>,
    /// The router as configured, with qualified references.
    pub router: Router,
    order: u32,
}

impl Route {
    /// The qualified service name.
    pub fn service(&self) -> &str {
        &self.router.service
    }

    /// Whether the router listens on `entry_point` (routers without entryPoints listen on all).
    pub fn on_entry_point(&self, entry_point: &str) -> bool {
        self.router.entry_points.is_empty()
            || self.router.entry_points.iter().any(|e| e == entry_point)
    }
}

/// The HTTP routing table.
#[derive(Debug, Default)]
pub struct RouteTable {
    exact: HashMap<String, Vec<Arc<Route>>>,
    suffix: HashMap<String, Vec<Arc<Route>>>,
    hostless: PathNode,
    all: Vec<Arc<Route>>,
}

/// A node of the host-less trie: the routes whose path prefix ends here, and children by
/// the next complete path segment.
#[derive(Debug, Default)]
struct PathNode {
    routes: Vec<Arc<Route>>,
    children: HashMap<String, PathNode>,
}

impl PathNode {
    /// Files `route` under the complete segments of `prefix` (`/a/b/c` → `a`, `b`; the
    /// trailing partial segment `c` is left to the rule).
    fn insert(&mut self, prefix: &str, route: Arc<Route>) {
        let mut node = self;
        if let Some(rest) = prefix.strip_prefix('/') {
            let mut segments: Vec<&str> = rest.split('/').collect();
            segments.pop();
            for segment in segments {
                node = node.children.entry(segment.to_owned()).or_default();
            }
        }
        node.routes.push(route);
    }

    /// The non-empty route lists on the way down `path`.
    fn collect<'a>(&'a self, path: &str, out: &mut Vec<&'a [Arc<Route>]>) {
        let mut node = self;
        if !node.routes.is_empty() {
            out.push(&node.routes);
        }
        for segment in path.strip_prefix('/').unwrap_or("").split('/') {
            match node.children.get(segment) {
                Some(child) => {
                    node = child;
                    if !node.routes.is_empty() {
                        out.push(&node.routes);
                    }
                }
                None => break,
            }
        }
    }
}

impl RouteTable {
    /// Compiles the enabled HTTP routers of a merged configuration.
    pub fn build(merged: &Merged, precedence: &ProviderPrecedence) -> Self {
        let mut routes: Vec<(i64, usize, &String, &Router, &Arc<Rule>)> = merged
            .config
            .http
            .routers
            .iter()
            .filter_map(|(name, router)| {
                let rule = merged.http_rules.get(name)?;
                Some((
                    router.effective_priority(),
                    precedence.rank(provider_of(name)),
                    name,
                    router,
                    rule,
                ))
            })
            .collect();
        routes.sort_by(|a, b| b.0.cmp(&a.0).then(a.1.cmp(&b.1)).then(a.2.cmp(b.2)));
        let mut table = RouteTable::default();
        for (order, (priority, _, name, router, rule)) in routes.into_iter().enumerate() {
            let route = Arc::new(Route {
                name: name.clone(),
                priority,
                rule: rule.clone(),
                router: router.clone(),
                order: u32::try_from(order).unwrap_or(u32::MAX),
            });
            // Lists stay sorted because routes are visited in global order.
            table.all.push(route.clone());
            match rule.host_constraint() {
                HostConstraint::Exact(hosts) => {
                    for host in hosts {
                        table
                            .exact
                            .entry(host_key(&host).to_owned())
                            .or_default()
                            .push(route.clone());
                    }
                }
                HostConstraint::Suffix(suffixes) => {
                    for suffix in suffixes {
                        table
                            .suffix
                            .entry(host_key(&suffix).to_owned())
                            .or_default()
                            .push(route.clone());
                    }
                }
                HostConstraint::Any => match rule.path_constraint() {
                    PathConstraint::Prefixes(prefixes) => {
                        for prefix in prefixes {
                            table.hostless.insert(&prefix, route.clone());
                        }
                    }
                    PathConstraint::Any => table.hostless.routes.push(route),
                },
            }
        }
        table
    }

    /// How many routers the table holds.
    pub fn len(&self) -> usize {
        self.all.len()
    }

    /// Whether the table is empty.
    pub fn is_empty(&self) -> bool {
        self.all.is_empty()
    }

    /// The router that wins for a request arriving on `entry_point` (any when `None`).
    pub fn lookup(&self, entry_point: Option<&str>, req: &impl HttpRequest) -> Option<&Arc<Route>> {
        let host = host_key(req.host());
        let mut lists: Vec<&[Arc<Route>]> = Vec::with_capacity(6);
        if let Some(list) = self.exact.get(host) {
            lists.push(list);
        }
        if !self.suffix.is_empty() {
            lists.extend(
                domain_suffixes(host)
                    .filter_map(|key| self.suffix.get(key))
                    .map(Vec::as_slice),
            );
        }
        self.hostless.collect(req.path(), &mut lists);
        let mut heads = vec![0usize; lists.len()];
        loop {
            // The list whose next route comes first in global order.
            let mut best: Option<(usize, u32)> = None;
            for (i, list) in lists.iter().enumerate() {
                if let Some(route) = list.get(heads[i])
                    && best.is_none_or(|(_, order)| route.order < order)
                {
                    best = Some((i, route.order));
                }
            }
            let (i, _) = best?;
            let route = &lists[i][heads[i]];
            heads[i] += 1;
            if entry_point.is_none_or(|ep| route.on_entry_point(ep)) && route.rule.matches(req) {
                return Some(route);
            }
        }
    }

    /// The same answer as [`RouteTable::lookup`] by testing every route in order: the
    /// oracle of the tests and the baseline of the benchmark.
    pub fn lookup_linear(
        &self,
        entry_point: Option<&str>,
        req: &impl HttpRequest,
    ) -> Option<&Arc<Route>> {
        self.all.iter().find(|route| {
            entry_point.is_none_or(|ep| route.on_entry_point(ep)) && route.rule.matches(req)
        })
    }

    /// Every route in global order (for the API and the CLI).
    pub fn routes(&self) -> &[Arc<Route>] {
        &self.all
    }
}
