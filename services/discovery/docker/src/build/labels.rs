//! Decoding a container's labels into configuration, leaving room for what the Docker
//! provider fills in afterwards.
//!
//! A router without a rule or service, or a server with only a scheme, is incomplete as a
//! file resource but complete once Docker fills it from the container (default rule, the
//! only service, the container's address), so labels are decoded without the model's
//! validation; `build` validates after filling. Resources that do not decode, or whose
//! label keys are malformed, are rejected here.

use std::collections::BTreeMap;

use switchyard_config::{Decoded, decode_labels_unvalidated};
use switchyard_model::{DynamicConfig, Problem};

/// Decodes `labels`; returns the configuration (possibly incomplete where Docker fills
/// it) and the resources rejected for good.
pub(super) fn decode(labels: &BTreeMap<String, String>) -> (DynamicConfig, Vec<Problem>) {
    let Decoded { config, problems } =
        decode_labels_unvalidated(labels.iter().map(|(k, v)| (k.as_str(), v.as_str())));
    (config, problems)
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeSet;

    use switchyard_model::ResourceKind;

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
