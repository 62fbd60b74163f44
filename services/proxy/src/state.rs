//! The proxy's view of the bus, as plain logic: records per key, servers known down, and
//! the snapshot they compile to. The config actor (`bus.rs`) feeds it; tests drive it
//! directly.

use std::collections::HashSet;
use std::sync::Arc;

use switchyard_bus::follow::{Batch, ConfigView};
use switchyard_merge::{MergeOptions, merge_providers};
use switchyard_routing::ProviderPrecedence;

use crate::observe::Metrics;
use crate::snapshot::Snapshot;

/// Everything the proxy knows from the bus.
pub struct BusState {
    view: ConfigView,
    down: HashSet<(String, String)>,
    options: MergeOptions,
    precedence: ProviderPrecedence,
    metrics: Arc<Metrics>,
}

impl BusState {
    /// An empty state; `entry_points` are the ones this proxy has (routers naming others
    /// are disabled with the reason).
    pub fn new(
        entry_points: impl IntoIterator<Item = String>,
        precedence: ProviderPrecedence,
        metrics: Arc<Metrics>,
    ) -> Self {
        Self {
            metrics,
            view: ConfigView::default(),
            down: HashSet::new(),
            options: MergeOptions {
                entry_points: Some(entry_points.into_iter().collect()),
            },
            precedence,
        }
    }

    /// Applies a batch of config changes; returns the new snapshot to swap in.
    pub fn apply(&mut self, batch: Batch) -> Arc<Snapshot> {
        self.view.apply(batch);
        self.snapshot()
    }

    /// Compiles the current records.
    pub fn snapshot(&self) -> Arc<Snapshot> {
        let merged = merge_providers(self.view.providers(), &self.options);
        let snapshot = Snapshot::build(
            &merged,
            self.view.revision(),
            &self.precedence,
            &self.down,
            &self.metrics,
        );
        self.metrics.retain_servers(|service, url| {
            snapshot
                .servers
                .contains_key(&(service.to_owned(), url.to_owned()))
        });
        for ((service, url), servers) in &snapshot.servers {
            self.metrics
                .set_server_up(service, url, servers.iter().all(|s| s.is_up()));
        }
        self.metrics.config_reloaded(true);
        Arc::new(snapshot)
    }

    /// Records a server's health and applies it to `current` in place (no rebuild).
    /// `up` is also what a deleted health key means: the server is unknown to the health
    /// service (it left the configuration or is no longer checked), so it takes traffic.
    pub fn set_health(&mut self, current: &Snapshot, service: &str, server: &str, up: bool) {
        let key = (service.to_owned(), server.to_owned());
        if up {
            self.down.remove(&key);
        } else {
            self.down.insert(key.clone());
        }
        self.apply_health(current, &key, up);
    }

    /// Replaces every server's health with the complete state of the health bucket (a
    /// watch that reopened after an outage replays it; deletions made meanwhile are only
    /// seen this way): `down` lists the servers the bucket holds as down.
    pub fn replace_health(&mut self, current: &Snapshot, down: HashSet<(String, String)>) {
        let old = std::mem::replace(&mut self.down, down);
        let changed: Vec<(String, String)> =
            old.symmetric_difference(&self.down).cloned().collect();
        for key in changed {
            let up = !self.down.contains(&key);
            self.apply_health(current, &key, up);
        }
    }

    fn apply_health(&self, current: &Snapshot, key: &(String, String), up: bool) {
        let Some(states) = current.servers.get(key) else {
            // Not served by this replica (yet): remembered in `down` for the next build.
            return;
        };
        for state in states {
            state.set_up(up);
        }
        self.metrics.set_server_up(&key.0, &key.1, up);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use switchyard_bus::ConfigKey;
    use switchyard_bus::record::to_records;

    fn state_with(servers: &[&str]) -> (BusState, Arc<Snapshot>) {
        let servers: Vec<_> = servers
            .iter()
            .map(|url| serde_json::json!({"url": url}))
            .collect();
        let config: switchyard_model::DynamicConfig = serde_json::from_value(serde_json::json!({
            "http": {
                "routers": {"r": {"rule": "Host(`a`)", "service": "s", "entryPoints": ["web"]}},
                "services": {"s": {"loadBalancer": {"healthCheck": {"path": "/h"}, "servers": servers}}}
            }
        }))
        .unwrap();
        let mut state = BusState::new(
            ["web".to_owned()],
            ProviderPrecedence::default(),
            Metrics::new("traefik"),
        );
        let changes: Vec<(ConfigKey, Option<switchyard_bus::Record>)> =
            to_records("file", &config, &[])
                .into_iter()
                .map(|(k, r)| (k, Some(r)))
                .collect();
        let snapshot = state.apply(Batch {
            full: true,
            changes,
            revision: 1,
        });
        (state, snapshot)
    }

    fn up(snapshot: &Snapshot, url: &str) -> bool {
        snapshot.servers[&("s@file".to_owned(), url.to_owned())]
            .iter()
            .all(|s| s.is_up())
    }

    fn key(url: &str) -> (String, String) {
        ("s@file".to_owned(), url.to_owned())
    }

    #[test]
    fn health_changes_reach_the_servers() {
        let a = "http://a:1";
        let b = "http://b:1";
        // (case, steps: Some(set) = (url, up) / None = replace with these down, expected (a, b))
        type Step<'a> = (&'a str, Result<(&'a str, bool), Vec<&'a str>>, (bool, bool));
        let steps: Vec<Step> = vec![
            ("a goes down", Ok((a, false)), (false, true)),
            ("b goes down", Ok((b, false)), (false, false)),
            ("a's key is deleted: up", Ok((a, true)), (true, false)),
            (
                "replay after an outage: only a is down",
                Err(vec![a]),
                (false, true),
            ),
            ("replay: nothing down", Err(vec![]), (true, true)),
            (
                "unknown server is remembered",
                Ok(("http://c:1", false)),
                (true, true),
            ),
        ];
        let (mut state, snapshot) = state_with(&[a, b]);
        for (case, step, (a_up, b_up)) in steps {
            match step {
                Ok((url, is_up)) => state.set_health(&snapshot, "s@file", url, is_up),
                Err(down) => state.replace_health(&snapshot, down.into_iter().map(key).collect()),
            }
            assert_eq!((up(&snapshot, a), up(&snapshot, b)), (a_up, b_up), "{case}");
        }
        assert!(state.down.contains(&key("http://c:1")));
        // A rebuilt snapshot starts with the servers known down out of rotation.
        state.set_health(&snapshot, "s@file", b, false);
        let rebuilt = state.snapshot();
        assert_eq!((up(&rebuilt, a), up(&rebuilt, b)), (true, false));
    }
}
