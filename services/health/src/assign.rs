//! Which checkers this instance runs and which health keys it deletes, as a plain
//! function of the wanted checks, the live members and what runs now.

use std::collections::BTreeMap;

use crate::members::owner;
use crate::target::ServiceChecks;

/// What to change.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Plan {
    /// Services whose checker stops (before any start of the same service).
    pub stop: Vec<String>,
    /// Services whose checker starts.
    pub start: Vec<String>,
    /// Services whose checker keeps running with a new server list.
    pub update: Vec<String>,
    /// Health keys (service, server) to delete: servers that left the configuration.
    pub delete: Vec<(String, String)>,
}

/// Plans the checkers of instance `me` among `live` members.
///
/// A checker restarts when its options change and is updated in place when only its
/// servers do. Keys are deleted by the owner of their service (any service name has
/// one), only once `published` is known (`None` until the health bucket is caught up).
pub fn plan<'a>(
    wanted: &BTreeMap<String, ServiceChecks>,
    running: &BTreeMap<String, ServiceChecks>,
    live: &[String],
    me: &str,
    published: Option<impl Iterator<Item = &'a (String, String)>>,
) -> Plan {
    let mine = |service: &str| owner(service, live) == Some(me);
    let mut plan = Plan::default();
    for (service, current) in running {
        match wanted.get(service) {
            Some(want) if mine(service) => {
                if want.check != current.check
                    || want.insecure_skip_verify != current.insecure_skip_verify
                {
                    plan.stop.push(service.clone());
                    plan.start.push(service.clone());
                } else if want.servers != current.servers {
                    plan.update.push(service.clone());
                }
            }
            _ => plan.stop.push(service.clone()),
        }
    }
    for service in wanted.keys() {
        if !running.contains_key(service) && mine(service) {
            plan.start.push(service.clone());
        }
    }
    plan.stop.sort();
    plan.start.sort();
    if let Some(published) = published {
        for (service, server) in published {
            let configured = wanted
                .get(service)
                .is_some_and(|c| c.servers.iter().any(|s| s == server));
            if !configured && mine(service) {
                plan.delete.push((service.clone(), server.clone()));
            }
        }
        plan.delete.sort();
    }
    plan
}

#[cfg(test)]
mod tests {
    use super::*;
    use switchyard_model::http::ServerHealthCheck;

    fn checks(path: &str, servers: &[&str]) -> ServiceChecks {
        ServiceChecks {
            check: ServerHealthCheck {
                path: path.to_owned(),
                ..Default::default()
            },
            servers: servers.iter().map(|s| (*s).to_owned()).collect(),
            insecure_skip_verify: false,
        }
    }

    fn strings(list: &[&str]) -> Vec<String> {
        list.iter().map(|s| (*s).to_owned()).collect()
    }

    /// A service name `me` owns among `live`, and one it does not.
    fn names(live: &[String], me: &str) -> (String, String) {
        let mut ours = None;
        let mut theirs = None;
        for i in 0..100 {
            let name = format!("s{i}@file");
            if owner(&name, live) == Some(me) {
                ours.get_or_insert(name);
            } else {
                theirs.get_or_insert(name);
            }
        }
        (ours.unwrap(), theirs.unwrap())
    }

    #[test]
    fn plans() {
        let live = strings(&["h1", "h2"]);
        let (ours, theirs) = names(&live, "h1");
        let o = ours.as_str();
        let t = theirs.as_str();
        type Case<'a> = (
            &'a str,
            Vec<(&'a str, ServiceChecks)>,
            Vec<(&'a str, ServiceChecks)>,
            Option<Vec<(&'a str, &'a str)>>,
            Plan,
        );
        let p = |stop: &[&str], start: &[&str], update: &[&str], delete: &[(&str, &str)]| Plan {
            stop: strings(stop),
            start: strings(start),
            update: strings(update),
            delete: delete
                .iter()
                .map(|(a, b)| ((*a).to_owned(), (*b).to_owned()))
                .collect(),
        };
        let cases: Vec<Case> = vec![
            (
                "start only what this instance owns",
                vec![(o, checks("/h", &["a"])), (t, checks("/h", &["b"]))],
                vec![],
                None,
                p(&[], &[o], &[], &[]),
            ),
            (
                "nothing changes",
                vec![(o, checks("/h", &["a"]))],
                vec![(o, checks("/h", &["a"]))],
                None,
                p(&[], &[], &[], &[]),
            ),
            (
                "options change: restart",
                vec![(o, checks("/other", &["a"]))],
                vec![(o, checks("/h", &["a"]))],
                None,
                p(&[o], &[o], &[], &[]),
            ),
            (
                "servers change: update",
                vec![(o, checks("/h", &["a", "b"]))],
                vec![(o, checks("/h", &["a"]))],
                None,
                p(&[], &[], &[o], &[]),
            ),
            (
                "service gone or given away: stop",
                vec![(t, checks("/h", &["b"]))],
                vec![(o, checks("/h", &["a"])), (t, checks("/h", &["b"]))],
                None,
                p(
                    &{
                        let mut both = [o, t];
                        both.sort();
                        both
                    },
                    &[],
                    &[],
                    &[],
                ),
            ),
            (
                "keys of servers that left are deleted by the service's owner",
                vec![(o, checks("/h", &["a"]))],
                vec![(o, checks("/h", &["a"]))],
                Some(vec![(o, "a"), (o, "gone"), (t, "b")]),
                p(&[], &[], &[], &[(o, "gone")]),
            ),
            (
                "no deletes before the bucket is known",
                vec![],
                vec![],
                None,
                p(&[], &[], &[], &[]),
            ),
        ];
        for (case, wanted, running, published, expected) in cases {
            let wanted: BTreeMap<String, ServiceChecks> =
                wanted.into_iter().map(|(k, v)| (k.to_owned(), v)).collect();
            let running: BTreeMap<String, ServiceChecks> = running
                .into_iter()
                .map(|(k, v)| (k.to_owned(), v))
                .collect();
            let published: Option<Vec<(String, String)>> = published.map(|list| {
                list.into_iter()
                    .map(|(a, b)| (a.to_owned(), b.to_owned()))
                    .collect()
            });
            let got = plan(
                &wanted,
                &running,
                &live,
                "h1",
                published.as_ref().map(|p| p.iter()),
            );
            assert_eq!(got, expected, "{case}");
        }
    }
}
