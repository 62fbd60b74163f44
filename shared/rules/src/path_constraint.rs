//! A necessary condition on the request path, for indexing routers by path prefix.
//!
//! Like [`crate::HostConstraint`] for hosts: if a rule matches a request, the rule's
//! [`PathConstraint`] admits the request's path. `Path` and `PathPrefix` give their
//! value; a `PathRegexp` anchored at the start (`^`) gives the literal text every match
//! starts with; `&&` keeps the most selective side, `||` the union, `!` knows nothing.

use std::collections::BTreeSet;

use regex_syntax::hir::Look;
use regex_syntax::hir::literal::{ExtractKind, Extractor};

use crate::{Expr, HttpMatcher, Pattern, Rule};

/// The most prefixes one regexp may contribute before it is treated as unconstrained.
const MAX_PREFIXES: usize = 32;

/// What a rule requires of the request path.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PathConstraint {
    /// Nothing is known.
    Any,
    /// The path starts with one of these (never empty, no empty string).
    Prefixes(BTreeSet<String>),
}

impl PathConstraint {
    /// Whether `path` satisfies the constraint.
    pub fn admits(&self, path: &str) -> bool {
        match self {
            PathConstraint::Any => true,
            PathConstraint::Prefixes(prefixes) => {
                prefixes.iter().any(|p| path.starts_with(p.as_str()))
            }
        }
    }

    /// Both hold: either side alone is a sound answer; keep the more selective one (the
    /// one whose shortest prefix is longest).
    pub fn and(self, other: PathConstraint) -> PathConstraint {
        match (self, other) {
            (PathConstraint::Any, x) | (x, PathConstraint::Any) => x,
            (PathConstraint::Prefixes(a), PathConstraint::Prefixes(b)) => {
                let shortest = |s: &BTreeSet<String>| s.iter().map(String::len).min().unwrap_or(0);
                if shortest(&b) > shortest(&a) {
                    PathConstraint::Prefixes(b)
                } else {
                    PathConstraint::Prefixes(a)
                }
            }
        }
    }

    /// Either holds: the union, unless one side is unconstrained.
    pub fn or(self, other: PathConstraint) -> PathConstraint {
        match (self, other) {
            (PathConstraint::Prefixes(mut a), PathConstraint::Prefixes(b)) => {
                a.extend(b);
                PathConstraint::Prefixes(a)
            }
            _ => PathConstraint::Any,
        }
    }

    fn prefix(p: &str) -> PathConstraint {
        if p.is_empty() {
            PathConstraint::Any
        } else {
            PathConstraint::Prefixes(BTreeSet::from([p.to_owned()]))
        }
    }
}

impl Rule {
    /// A necessary condition on the request path for this rule to match.
    pub fn path_constraint(&self) -> PathConstraint {
        fold(self)
    }
}

fn fold(expr: &Rule) -> PathConstraint {
    match expr {
        Expr::Matcher(HttpMatcher::Path(p) | HttpMatcher::PathPrefix(p)) => {
            PathConstraint::prefix(p)
        }
        Expr::Matcher(HttpMatcher::PathRegexp(pattern)) => regex_prefix(pattern),
        Expr::Matcher(_) | Expr::Not(_) => PathConstraint::Any,
        Expr::And(children) => children
            .iter()
            .fold(PathConstraint::Any, |acc, c| acc.and(fold(c))),
        Expr::Or(children) => {
            let mut children = children.iter();
            let first = children.next().map(fold).unwrap_or(PathConstraint::Any);
            children.fold(first, |acc, c| acc.or(fold(c)))
        }
    }
}

/// The literal prefixes of a start-anchored regexp, or `Any`.
fn regex_prefix(pattern: &Pattern) -> PathConstraint {
    let Ok(hir) = regex_syntax::ParserBuilder::new()
        .octal(true)
        .build()
        .parse(pattern.translated())
    else {
        return PathConstraint::Any;
    };
    // `Look::Start` is `^` outside multi-line mode (and `\A`): the match starts the path.
    if !hir.properties().look_set_prefix().contains(Look::Start) {
        return PathConstraint::Any;
    }
    // Classes are not expanded: `[0-9]` would turn one prefix into ten.
    let seq = Extractor::new()
        .kind(ExtractKind::Prefix)
        .limit_class(1)
        .extract(&hir);
    let Some(literals) = seq.literals() else {
        return PathConstraint::Any;
    };
    if literals.is_empty() || literals.len() > MAX_PREFIXES {
        return PathConstraint::Any;
    }
    let mut prefixes = BTreeSet::new();
    for literal in literals {
        match std::str::from_utf8(literal.as_bytes()) {
            Ok(text) if !text.is_empty() => {
                prefixes.insert(text.to_owned());
            }
            _ => return PathConstraint::Any,
        }
    }
    PathConstraint::Prefixes(prefixes)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::parse_http;

    fn prefixes(p: &[&str]) -> PathConstraint {
        PathConstraint::Prefixes(p.iter().map(|s| (*s).to_owned()).collect())
    }

    #[test]
    fn constraints_of_rules() {
        let cases = [
            ("path", "Path(`/a/b`)", prefixes(&["/a/b"])),
            ("prefix", "PathPrefix(`/static/`)", prefixes(&["/static/"])),
            (
                "anchored regexp",
                "PathRegexp(`^/items/[0-9]+$`)",
                prefixes(&["/items/"]),
            ),
            (
                "alternation",
                "PathRegexp(`^/(v1|v2)/`)",
                prefixes(&["/v1/", "/v2/"]),
            ),
            (
                "unanchored regexp",
                "PathRegexp(`/items/`)",
                PathConstraint::Any,
            ),
            (
                "multi-line anchor",
                "PathRegexp(`(?m)^/items/`)",
                PathConstraint::Any,
            ),
            ("no literal", "PathRegexp(`^.*`)", PathConstraint::Any),
            (
                "and keeps the longer",
                "PathPrefix(`/a`) && Path(`/a/long`)",
                prefixes(&["/a/long"]),
            ),
            (
                "and with host",
                "Host(`x`) && PathPrefix(`/api`)",
                prefixes(&["/api"]),
            ),
            (
                "or unions",
                "Path(`/a`) || PathPrefix(`/b`)",
                prefixes(&["/a", "/b"]),
            ),
            (
                "or with any",
                "Path(`/a`) || Host(`x`)",
                PathConstraint::Any,
            ),
            ("not", "!PathPrefix(`/a`)", PathConstraint::Any),
            ("host only", "Host(`x`)", PathConstraint::Any),
        ];
        for (case, rule, expected) in cases {
            assert_eq!(
                parse_http(rule).unwrap().path_constraint(),
                expected,
                "{case}"
            );
        }
    }

    #[test]
    fn admits() {
        let c = prefixes(&["/a/", "/b"]);
        assert!(c.admits("/a/x") && c.admits("/bc") && !c.admits("/a") && !c.admits("/c"));
        assert!(PathConstraint::Any.admits(""));
    }
}
