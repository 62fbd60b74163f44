//! The proxy's view of the bus, as plain logic: records per key, servers known down, and
//! the snapshot they compile to. The config actor (`bus.rs`) feeds it; tests drive it
//! directly.

use std::collections::{BTreeMap, HashSet};
use std::sync::Arc;

use switchyard_bus::follow::{Batch, ConfigView};
use switchyard_merge::{MergeOptions, ProviderConfig, merge};
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
        let providers: BTreeMap<String, ProviderConfig> = self
            .view
            .providers()
            .into_iter()
            .map(|(provider, (config, problems))| (provider, ProviderConfig { config, problems }))
            .collect();
        let merged = merge(&providers, &self.options);
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
    pub fn set_health(&mut self, current: &Snapshot, service: &str, server: &str, up: bool) {
        let key = (service.to_owned(), server.to_owned());
        if up {
            self.down.remove(&key);
        } else {
            self.down.insert(key.clone());
        }
        for state in current.servers.get(&key).into_iter().flatten() {
            state.set_up(up);
        }
        self.metrics.set_server_up(service, server, up);
    }
}
