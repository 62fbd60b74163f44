//! Which certificates the merged configuration asks for: routers with `tls.certResolver`,
//! their `tls.domains`, or else the hosts of their `Host(...)` / `HostSNI(...)` rule, as
//! Traefik's ACME provider reads them.

use std::collections::{BTreeMap, BTreeSet};

use switchyard_bus::keys::acme_certificate_key;
use switchyard_merge::Merged;
use switchyard_model::tls::Domain;

/// One certificate to obtain and keep renewed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Wanted {
    /// Its id: the key of its record in the certs bucket.
    pub id: String,
    /// The resolver that obtains it.
    pub resolver: String,
    /// Main domain first, then the other names, without duplicates.
    pub domains: Vec<String>,
    /// The routers that ask for it (`name@provider`, `tcp:` prefixed for TCP routers).
    pub routers: BTreeSet<String>,
}

/// A router whose certificate request cannot be served, and why.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Skipped {
    /// The router (`name@provider`, `tcp:` prefixed for TCP routers).
    pub router: String,
    /// The resolver it names.
    pub resolver: String,
    /// Why.
    pub reason: String,
}

/// What the configuration asks for.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Demand {
    /// Certificates by id.
    pub certificates: BTreeMap<String, Wanted>,
    /// Requests that were skipped, with the reason (logged and published in status).
    pub skipped: Vec<Skipped>,
}

/// Lower-cases a name and drops a trailing dot (`Example.COM.` is `example.com`).
pub fn normalise(name: &str) -> String {
    name.trim().trim_end_matches('.').to_ascii_lowercase()
}

/// Reads the certificates the enabled routers of `merged` ask for.
///
/// - `tls.domains` given: one certificate per entry (`main` first, then `sans`).
/// - otherwise: one certificate for the router's hosts (`Host` for HTTP, `HostSNI` for
///   TCP), the first host being the main domain, as Traefik's `ParseDomains` does.
/// - wildcard names need DNS-01 and `HostRegexp` names no host: both are skipped with a
///   reason. Disabled routers (broken resources) are not in `merged.config` at all.
/// - two routers asking for the same main domain from one resolver share one certificate
///   covering the union of their names.
pub fn demand(merged: &Merged, resolvers: &BTreeSet<String>) -> Demand {
    let mut out = Demand::default();
    let http = merged.config.http.routers.iter().filter_map(|(name, r)| {
        let tls = r.tls.as_ref()?;
        let hosts = || {
            merged
                .http_rules
                .get(name)
                .map(|rule| {
                    let mut regexp = false;
                    rule.for_each_matcher(&mut |m| {
                        regexp |= matches!(m, switchyard_rules::HttpMatcher::HostRegexp(_))
                    });
                    (
                        rule.host_values().into_iter().map(str::to_owned).collect(),
                        regexp,
                    )
                })
                .unwrap_or_default()
        };
        Some((
            name.clone(),
            tls.cert_resolver.as_str(),
            &tls.domains,
            Box::new(hosts) as HostsFn<'_>,
        ))
    });
    let tcp = merged.config.tcp.routers.iter().filter_map(|(name, r)| {
        let tls = r.tls.as_ref()?;
        if tls.passthrough {
            return None;
        }
        let hosts = || {
            merged
                .tcp_rules
                .get(name)
                .map(|rule| {
                    let mut regexp = false;
                    rule.for_each_matcher(&mut |m| {
                        regexp |= matches!(m, switchyard_rules::TcpMatcher::HostSniRegexp(_))
                    });
                    (
                        rule.host_sni_values()
                            .into_iter()
                            .map(str::to_owned)
                            .collect(),
                        regexp,
                    )
                })
                .unwrap_or_default()
        };
        Some((
            format!("tcp:{name}"),
            tls.cert_resolver.as_str(),
            &tls.domains,
            Box::new(hosts) as HostsFn<'_>,
        ))
    });
    for (router, resolver, domains, hosts) in http.chain(tcp) {
        if resolver.is_empty() {
            continue;
        }
        if !resolvers.contains(resolver) {
            out.skipped.push(Skipped {
                router,
                resolver: resolver.to_owned(),
                reason: format!("certResolver {resolver:?} is not configured"),
            });
            continue;
        }
        let sets: Vec<Vec<String>> = if domains.is_empty() {
            let (names, regexp) = hosts();
            if names.is_empty() {
                let reason = if regexp {
                    "the rule names hosts only with a regexp; a certificate needs Host (or tls.domains)"
                } else {
                    "the rule names no host and tls.domains is empty"
                };
                out.skipped.push(Skipped {
                    router,
                    resolver: resolver.to_owned(),
                    reason: reason.into(),
                });
                continue;
            }
            vec![names]
        } else {
            domains
                .iter()
                .map(|d: &Domain| d.names().map(str::to_owned).collect())
                .collect()
        };
        for names in sets {
            let mut kept: Vec<String> = Vec::new();
            for name in names.iter().map(|n| normalise(n)) {
                if name.is_empty() || kept.contains(&name) {
                    continue;
                }
                if name.contains('*') {
                    out.skipped.push(Skipped {
                        router: router.clone(),
                        resolver: resolver.to_owned(),
                        reason: format!(
                            "{name}: wildcard certificates need DNS-01, which is not supported yet"
                        ),
                    });
                    continue;
                }
                kept.push(name);
            }
            let Some(main) = kept.first().cloned() else {
                continue;
            };
            let id = acme_certificate_key(resolver, &main);
            let wanted = out
                .certificates
                .entry(id.clone())
                .or_insert_with(|| Wanted {
                    id,
                    resolver: resolver.to_owned(),
                    domains: vec![main],
                    routers: BTreeSet::new(),
                });
            for name in kept {
                if !wanted.domains.contains(&name) {
                    wanted.domains.push(name);
                }
            }
            wanted.routers.insert(router.clone());
        }
    }
    out
}

type HostsFn<'a> = Box<dyn Fn() -> (Vec<String>, bool) + 'a>;

#[cfg(test)]
mod tests {
    use std::collections::BTreeMap;

    use switchyard_merge::{MergeOptions, ProviderConfig, merge};
    use switchyard_model::DynamicConfig;

    use super::*;

    fn merged(yaml: &str) -> Merged {
        // Through JSON: services are externally tagged enums, which YAML would want as tags.
        let value: serde_json::Value = serde_norway::from_str(yaml).unwrap();
        let config: DynamicConfig = serde_json::from_value(value).unwrap();
        let providers = BTreeMap::from([(
            "file".to_owned(),
            ProviderConfig {
                config,
                problems: vec![],
            },
        )]);
        merge(&providers, &MergeOptions::default())
    }

    fn summary(d: &Demand) -> Vec<(String, Vec<String>, Vec<String>)> {
        d.certificates
            .values()
            .map(|w| {
                (
                    w.id.clone(),
                    w.domains.clone(),
                    w.routers.iter().cloned().collect(),
                )
            })
            .collect()
    }

    const SERVICE: &str = "  services:\n    s:\n      loadBalancer:\n        servers: [{url: 'http://127.0.0.1:1'}]\n";

    #[test]
    fn routers_ask_for_certificates() {
        let resolvers = BTreeSet::from(["le".to_owned()]);
        type Expected = Vec<(&'static str, Vec<&'static str>, Vec<&'static str>)>;
        let cases: Vec<(&str, String, Expected, Vec<&str>)> = vec![
            (
                "hosts of the rule, first is main",
                "  routers:\n    a:\n      rule: Host(`B.example.com`) || Host(`c.example.com`)\n      service: s\n      tls: {certResolver: le}\n".into(),
                vec![("acme.le.b=2Eexample=2Ecom", vec!["b.example.com", "c.example.com"], vec!["a@file"])],
                vec![],
            ),
            (
                "tls.domains win over the rule",
                "  routers:\n    a:\n      rule: Host(`x.example.com`)\n      service: s\n      tls:\n        certResolver: le\n        domains: [{main: m.example.com, sans: [n.example.com, m.example.com]}, {main: o.example.com}]\n".into(),
                vec![
                    ("acme.le.m=2Eexample=2Ecom", vec!["m.example.com", "n.example.com"], vec!["a@file"]),
                    ("acme.le.o=2Eexample=2Ecom", vec!["o.example.com"], vec!["a@file"]),
                ],
                vec![],
            ),
            (
                "two routers share a main domain",
                "  routers:\n    a:\n      rule: Host(`a.example.com`)\n      service: s\n      tls: {certResolver: le}\n    b:\n      rule: Host(`a.example.com`) || Host(`z.example.com`)\n      service: s\n      tls: {certResolver: le}\n".into(),
                vec![("acme.le.a=2Eexample=2Ecom", vec!["a.example.com", "z.example.com"], vec!["a@file", "b@file"])],
                vec![],
            ),
            (
                "no resolver, no certificate",
                "  routers:\n    a:\n      rule: Host(`a.example.com`)\n      service: s\n      tls: {}\n".into(),
                vec![],
                vec![],
            ),
            (
                "unknown resolver, regexp, wildcard",
                "  routers:\n    a:\n      rule: Host(`a.example.com`)\n      service: s\n      tls: {certResolver: nope}\n    r:\n      rule: HostRegexp(`^.+\\.example\\.com$`)\n      service: s\n      tls: {certResolver: le}\n    w:\n      rule: Host(`w.example.com`)\n      service: s\n      tls: {certResolver: le, domains: [{main: '*.example.com', sans: [w.example.com]}]}\n".into(),
                vec![("acme.le.w=2Eexample=2Ecom", vec!["w.example.com"], vec!["w@file"])],
                vec!["a@file", "r@file", "w@file"],
            ),
            (
                "broken router is disabled",
                "  routers:\n    a:\n      rule: Host(`a.example.com`)\n      service: missing\n      tls: {certResolver: le}\n".into(),
                vec![],
                vec![],
            ),
        ];
        for (case, routers, expected, skipped) in cases {
            let m = merged(&format!("http:\n{routers}{SERVICE}"));
            let d = demand(&m, &resolvers);
            let expected: Vec<(String, Vec<String>, Vec<String>)> = expected
                .into_iter()
                .map(|(id, d, r)| {
                    (
                        id.to_owned(),
                        d.into_iter().map(str::to_owned).collect(),
                        r.into_iter().map(str::to_owned).collect(),
                    )
                })
                .collect();
            assert_eq!(summary(&d), expected, "{case}");
            let got: Vec<&str> = d.skipped.iter().map(|s| s.router.as_str()).collect();
            assert_eq!(got, skipped, "{case}: {:?}", d.skipped);
        }
    }

    #[test]
    fn tcp_routers_use_host_sni() {
        let m = merged(
            "tcp:\n  routers:\n    t:\n      rule: HostSNI(`db.example.com`)\n      service: s\n      tls: {certResolver: le}\n    p:\n      rule: HostSNI(`pass.example.com`)\n      service: s\n      tls: {certResolver: le, passthrough: true}\n  services:\n    s:\n      loadBalancer:\n        servers: [{address: '127.0.0.1:1'}]\n",
        );
        let d = demand(&m, &BTreeSet::from(["le".to_owned()]));
        assert_eq!(
            summary(&d),
            vec![(
                "acme.le.db=2Eexample=2Ecom".to_owned(),
                vec!["db.example.com".to_owned()],
                vec!["tcp:t@file".to_owned()]
            )]
        );
    }
}
