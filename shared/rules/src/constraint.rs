//! Necessary conditions on the request host, for indexing routers by host.

use std::collections::BTreeSet;

use regex_syntax::hir::literal::{ExtractKind, Extractor};
use regex_syntax::hir::{Capture, Class, Hir, HirKind, Look, Repetition};

use crate::Pattern;

/// A conservative, necessary condition on the host for a rule to match.
///
/// "Host" here means the canonical host handed to the matcher (lower-cased,
/// without port; the SNI for TCP rules, with a missing SNI counting as `""`).
/// Comparisons ignore ASCII case and trailing dots ([`host_key`]), so the
/// condition holds whatever the exact spelling of the host.
///
/// Soundness: if a rule matches a request then its constraint
/// [`admits`](HostConstraint::admits) the request's host. The converse does
/// not hold: an admitted host still needs the full rule evaluated.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum HostConstraint {
    /// Nothing is known; the rule may match any host (or none).
    Any,
    /// The host key must be one of these (lower-cased, trailing dots
    /// removed). An empty set means the rule can never match.
    Exact(BTreeSet<String>),
    /// The host key must equal one of these domains or end with `.` followed
    /// by one of them (lower-cased, trailing dots removed). Never empty.
    Suffix(BTreeSet<String>),
}

/// The form of a host used for constraint lookups: trailing dots removed
/// (`example.com.` and `example.com` are the same host for Traefik).
///
/// Callers indexing by host should also lower-case it (canonical hosts
/// already are).
pub fn host_key(host: &str) -> &str {
    host.trim_end_matches('.')
}

/// The keys to probe in a suffix index for `host`: the [`host_key`] itself,
/// then every parent domain (`a.b.c` yields `a.b.c`, `b.c`, `c`).
pub fn domain_suffixes(host: &str) -> impl Iterator<Item = &str> {
    let key = host_key(host);
    std::iter::successors(Some(key), |s| s.find('.').map(|i| &s[i + 1..]))
}

impl HostConstraint {
    /// An `Exact` constraint with a single host.
    pub fn exact(host: &str) -> HostConstraint {
        HostConstraint::Exact(BTreeSet::from([host_key(host).to_ascii_lowercase()]))
    }

    /// A `Suffix` constraint with a single domain.
    pub fn suffix(domain: &str) -> HostConstraint {
        HostConstraint::Suffix(BTreeSet::from([host_key(domain).to_ascii_lowercase()]))
    }

    /// Whether `host` satisfies the constraint.
    pub fn admits(&self, host: &str) -> bool {
        let key = host_key(host);
        let lowered;
        let key = if key.bytes().any(|b| b.is_ascii_uppercase()) {
            lowered = key.to_ascii_lowercase();
            lowered.as_str()
        } else {
            key
        };
        match self {
            HostConstraint::Any => true,
            HostConstraint::Exact(hosts) => hosts.contains(key),
            HostConstraint::Suffix(domains) => {
                domain_suffixes(key).any(|candidate| domains.contains(candidate))
            }
        }
    }

    /// The constraint of `a && b`: the host must satisfy both.
    pub fn and(self, other: HostConstraint) -> HostConstraint {
        use HostConstraint::*;
        match (self, other) {
            (Any, c) | (c, Any) => c,
            (Exact(a), Exact(b)) => Exact(a.intersection(&b).cloned().collect()),
            (Exact(hosts), Suffix(domains)) | (Suffix(domains), Exact(hosts)) => {
                let within = Suffix(domains);
                Exact(hosts.into_iter().filter(|h| within.admits(h)).collect())
            }
            (Suffix(a), Suffix(b)) => {
                // A host under both `x` and `y` is under the longer of the
                // two, and only when one is a parent domain of the other.
                let mut both = BTreeSet::new();
                for x in &a {
                    for y in &b {
                        if is_under(x, y) {
                            both.insert(x.clone());
                        } else if is_under(y, x) {
                            both.insert(y.clone());
                        }
                    }
                }
                if both.is_empty() {
                    Exact(BTreeSet::new())
                } else {
                    Suffix(minimize(both))
                }
            }
        }
    }

    /// The constraint of `a || b`: the host satisfies one of them.
    ///
    /// Mixing exact hosts and suffixes widens each exact host `h` to the
    /// suffix `h` (matching `h` and its subdomains): still sound, and it
    /// keeps the two-kind index simple.
    pub fn or(self, other: HostConstraint) -> HostConstraint {
        use HostConstraint::*;
        match (self, other) {
            (Any, _) | (_, Any) => Any,
            (Exact(mut a), Exact(b)) => {
                a.extend(b);
                Exact(a)
            }
            (Exact(a), Suffix(mut b)) | (Suffix(mut b), Exact(a)) => {
                b.extend(a);
                Suffix(minimize(b))
            }
            (Suffix(mut a), Suffix(b)) => {
                a.extend(b);
                Suffix(minimize(a))
            }
        }
    }
}

/// Whether domain `sub` equals `parent` or is below it.
fn is_under(sub: &str, parent: &str) -> bool {
    domain_suffixes(sub).any(|s| s == parent)
}

/// Drops domains already covered by a parent domain in the set.
fn minimize(domains: BTreeSet<String>) -> BTreeSet<String> {
    let keep: Vec<bool> = domains
        .iter()
        .map(|d| !domain_suffixes(d).skip(1).any(|p| domains.contains(p)))
        .collect();
    domains
        .into_iter()
        .zip(keep)
        .filter_map(|(d, k)| k.then_some(d))
        .collect()
}

/// Constraint of `Host(expr)` / `HostSNI(expr)` with Traefik's wildcard
/// semantics (`*` matches everything, `*.example.com` one extra label).
pub(crate) fn host_expr_constraint(expr: &str) -> HostConstraint {
    if expr == "*" {
        return HostConstraint::Any;
    }
    if let Some(rest) = expr.strip_prefix('*') {
        // The host's first label is replaced by `*` and compared to `expr`,
        // so the host ends with `rest` (give or take a trailing dot).
        let rest = host_key(rest);
        return match rest.strip_prefix('.') {
            Some(domain) if !domain.is_empty() => HostConstraint::suffix(domain),
            _ => HostConstraint::Any,
        };
    }
    HostConstraint::exact(expr)
}

/// Constraint of a host regexp: derived from the literal suffixes every
/// match must end with, when the regexp is anchored at the end of the host.
pub(crate) fn regex_constraint(pattern: &Pattern) -> HostConstraint {
    let Ok(hir) = regex_syntax::ParserBuilder::new()
        .octal(true)
        .build()
        .parse(pattern.translated())
    else {
        return HostConstraint::Any;
    };
    let properties = hir.properties();
    if !properties.look_set_suffix().contains(Look::End) {
        return HostConstraint::Any;
    }
    let anchored_start = properties.look_set_prefix().contains(Look::Start);
    let seq = Extractor::new()
        .kind(ExtractKind::Suffix)
        .extract(&fold_ascii_case(hir));
    let Some(literals) = seq.literals() else {
        return HostConstraint::Any;
    };
    let mut result = HostConstraint::Exact(BTreeSet::new());
    for literal in literals {
        let Ok(text) = std::str::from_utf8(literal.as_bytes()) else {
            return HostConstraint::Any;
        };
        let text = text.to_ascii_lowercase();
        let part = if literal.is_exact() && anchored_start {
            // Anchored at both ends with an exact literal: the host is it.
            HostConstraint::exact(&text)
        } else {
            // The host ends with `text`; everything after its first dot is
            // a whole-label suffix of the host.
            match host_key(&text).split_once('.') {
                Some((_, domain)) => HostConstraint::suffix(domain),
                None => return HostConstraint::Any,
            }
        };
        result = result.or(part);
    }
    result
}

/// Replaces classes like `[Ee]` (what `(?i)e` becomes) by the lower-case
/// literal, so case-insensitive patterns still yield literals instead of
/// exploding into case variants. Sound because constraints compare hosts
/// ASCII-case-insensitively.
fn fold_ascii_case(hir: Hir) -> Hir {
    match hir.into_kind() {
        HirKind::Class(class) => match single_ascii_letter(&class) {
            Some(b) => Hir::literal(vec![b]),
            None => Hir::class(class),
        },
        HirKind::Repetition(rep) => Hir::repetition(Repetition {
            sub: Box::new(fold_ascii_case(*rep.sub)),
            ..rep
        }),
        HirKind::Capture(cap) => Hir::capture(Capture {
            sub: Box::new(fold_ascii_case(*cap.sub)),
            ..cap
        }),
        HirKind::Concat(subs) => Hir::concat(subs.into_iter().map(fold_ascii_case).collect()),
        HirKind::Alternation(subs) => {
            Hir::alternation(subs.into_iter().map(fold_ascii_case).collect())
        }
        HirKind::Empty => Hir::empty(),
        HirKind::Literal(lit) => Hir::literal(lit.0),
        HirKind::Look(look) => Hir::look(look),
    }
}

/// If every member of `class` is the same ASCII letter up to case, that
/// letter in lower case.
fn single_ascii_letter(class: &Class) -> Option<u8> {
    let mut members: Vec<u32> = Vec::new();
    let mut add = |start: u32, end: u32| -> Option<()> {
        if end.saturating_sub(start) > 2 || members.len() > 4 {
            return None;
        }
        members.extend(start..=end);
        Some(())
    };
    match class {
        Class::Unicode(c) => {
            for r in c.ranges() {
                add(r.start() as u32, r.end() as u32)?;
            }
        }
        Class::Bytes(c) => {
            for r in c.ranges() {
                add(u32::from(r.start()), u32::from(r.end()))?;
            }
        }
    }
    let mut folded = members.into_iter().map(|m| {
        u8::try_from(m)
            .ok()
            .filter(u8::is_ascii)
            .map(|b| b.to_ascii_lowercase())
    });
    let first = folded.next()??;
    folded.all(|b| b == Some(first)).then_some(first)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn set(items: &[&str]) -> BTreeSet<String> {
        items.iter().map(|s| (*s).to_owned()).collect()
    }

    fn exact(items: &[&str]) -> HostConstraint {
        HostConstraint::Exact(set(items))
    }

    fn suffix(items: &[&str]) -> HostConstraint {
        HostConstraint::Suffix(set(items))
    }

    #[test]
    fn regex_constraints() {
        let cases: &[(&str, &str, HostConstraint)] = &[
            (
                "subdomains",
                r"^.+\.example\.com$",
                suffix(&["example.com"]),
            ),
            (
                "unanchored start",
                r"\.example\.com$",
                suffix(&["example.com"]),
            ),
            (
                "not anchored at end",
                r"^.+\.example\.com",
                HostConstraint::Any,
            ),
            (
                "multiline dollar",
                r"(?m)^.+\.example\.com$",
                HostConstraint::Any,
            ),
            (
                "exact alternation",
                r"^example\.(com|org)$",
                exact(&["example.com", "example.org"]),
            ),
            ("exact single", r"^localhost$", exact(&["localhost"])),
            ("label not aligned", r"^.*example\.com$", suffix(&["com"])),
            ("no dot", r"^.*com$", HostConstraint::Any),
            (
                "case insensitive",
                r"(?i)^.+\.EXAMPLE\.com$",
                suffix(&["example.com"]),
            ),
            (
                "uppercase literal",
                r"^.+\.Example\.com$",
                suffix(&["example.com"]),
            ),
            (
                "v2 style template",
                r"{sub:[a-z]+}\.example\.com$",
                suffix(&["example.com"]),
            ),
            (
                "class prefix",
                r"^[a-z]+\.(foo|bar)\.io$",
                suffix(&["foo.io", "bar.io"]),
            ),
            (
                "mixed exact and suffix",
                r"^(a\.io|.+\.b\.io)$",
                suffix(&["a.io", "b.io"]),
            ),
            ("exact with trailing dot", r"^a\.io\.$", exact(&["a.io"])),
            ("optional trailing dot", r"^a\.io\.?$", exact(&["a.io"])),
            ("dot star", r".*", HostConstraint::Any),
            ("z anchor", r"^x\.dev\z", exact(&["x.dev"])),
            (
                "end in one branch only",
                r"^a\.com$|b\.com",
                HostConstraint::Any,
            ),
            ("assertion not last", r"^a\.com$[b]", HostConstraint::Any),
            (
                "empty alternation never matches",
                r"^[^\x00-\x{10FFFF}]$",
                exact(&[]),
            ),
        ];
        for (case, pattern, expected) in cases {
            let p = Pattern::new(pattern).unwrap_or_else(|e| panic!("{case}: {e}"));
            assert_eq!(&regex_constraint(&p), expected, "{case}");
        }
    }

    #[test]
    fn host_expressions() {
        let cases: &[(&str, &str, HostConstraint)] = &[
            ("plain", "example.com", exact(&["example.com"])),
            ("trailing dot", "example.com.", exact(&["example.com"])),
            ("catch all", "*", HostConstraint::Any),
            ("wildcard", "*.example.com", suffix(&["example.com"])),
            (
                "wildcard trailing dot",
                "*.example.com.",
                suffix(&["example.com"]),
            ),
            ("wildcard without dot", "*example.com", HostConstraint::Any),
            ("wildcard dot only", "*.", HostConstraint::Any),
        ];
        for (case, expr, expected) in cases {
            assert_eq!(&host_expr_constraint(expr), expected, "{case}");
        }
    }

    #[test]
    fn combinators() {
        let cases: &[(
            &str,
            HostConstraint,
            HostConstraint,
            HostConstraint,
            HostConstraint,
        )] = &[
            // (case, a, b, a && b, a || b)
            (
                "any any",
                HostConstraint::Any,
                HostConstraint::Any,
                HostConstraint::Any,
                HostConstraint::Any,
            ),
            (
                "any exact",
                HostConstraint::Any,
                exact(&["a"]),
                exact(&["a"]),
                HostConstraint::Any,
            ),
            (
                "exact exact",
                exact(&["a", "b"]),
                exact(&["b", "c"]),
                exact(&["b"]),
                exact(&["a", "b", "c"]),
            ),
            (
                "exact suffix",
                exact(&["x.a.com", "b.com"]),
                suffix(&["a.com"]),
                exact(&["x.a.com"]),
                suffix(&["a.com", "b.com"]),
            ),
            (
                "suffix suffix nested",
                suffix(&["a.com"]),
                suffix(&["x.a.com", "b.org"]),
                suffix(&["x.a.com"]),
                suffix(&["a.com", "b.org"]),
            ),
            (
                "suffix suffix disjoint",
                suffix(&["a.com"]),
                suffix(&["b.com"]),
                exact(&[]),
                suffix(&["a.com", "b.com"]),
            ),
        ];
        for (case, a, b, and, or) in cases {
            assert_eq!(&a.clone().and(b.clone()), and, "{case} and");
            assert_eq!(&b.clone().and(a.clone()), and, "{case} and (swapped)");
            assert_eq!(&a.clone().or(b.clone()), or, "{case} or");
            assert_eq!(&b.clone().or(a.clone()), or, "{case} or (swapped)");
        }
    }

    #[test]
    fn admits() {
        let cases: &[(&str, HostConstraint, &str, bool)] = &[
            ("exact", exact(&["a.com"]), "a.com", true),
            ("exact trailing dot", exact(&["a.com"]), "a.com.", true),
            ("exact case", exact(&["a.com"]), "A.COM", true),
            ("exact other", exact(&["a.com"]), "b.a.com", false),
            ("suffix apex", suffix(&["a.com"]), "a.com", true),
            ("suffix sub", suffix(&["a.com"]), "x.y.a.com", true),
            ("suffix label boundary", suffix(&["a.com"]), "xa.com", false),
            (
                "suffix trailing dots",
                suffix(&["a.com"]),
                "x.a.com..",
                true,
            ),
            ("empty exact", exact(&[]), "a.com", false),
            ("any", HostConstraint::Any, "", true),
        ];
        for (case, c, host, expected) in cases {
            assert_eq!(c.admits(host), *expected, "{case}");
        }
    }

    #[test]
    fn suffix_iteration() {
        let all: Vec<&str> = domain_suffixes("a.b.example.com.").collect();
        assert_eq!(
            all,
            vec!["a.b.example.com", "b.example.com", "example.com", "com"]
        );
        assert_eq!(domain_suffixes("").collect::<Vec<_>>(), vec![""]);
    }
}
