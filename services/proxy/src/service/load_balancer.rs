//! The `loadBalancer` service: servers chosen by smooth weighted round robin.
//!
//! The smooth WRR order (nginx's algorithm: each pick adds every weight to its server's
//! current value, takes the largest, subtracts the total) is computed once when the
//! service is built; requests then take the next slot of that schedule with one atomic
//! increment, so no lock is taken on the request path. Servers that are down are skipped.

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

use actix_web::HttpResponse;
use futures::future::LocalBoxFuture;
use switchyard_model::http::LoadBalancer as Spec;

use super::{Service, ServerState, WorkerCtx, no_server_available};
use crate::middleware::BuildError;
use crate::request::ProxyRequest;
use crate::upstream::{ForwardOptions, Target, forward};

/// The longest schedule precomputed; beyond it weights are scaled down proportionally.
const MAX_SCHEDULE: u64 = 4096;

/// A compiled load balancer.
pub struct LoadBalancer {
    servers: Vec<Arc<ServerState>>,
    schedule: Vec<u16>,
    next: AtomicUsize,
    options: ForwardOptions,
}

/// Smooth weighted round robin over `weights`: the order of picks for one full cycle.
pub fn smooth_wrr_schedule(weights: &[u32]) -> Vec<u16> {
    let total: u64 = weights.iter().map(|w| u64::from(*w)).sum();
    if total == 0 {
        return Vec::new();
    }
    // Keep the cycle short: scale weights down (keeping every positive weight positive).
    let scale = total.div_ceil(MAX_SCHEDULE).max(1);
    let weights: Vec<i64> = weights
        .iter()
        .map(|w| if *w == 0 { 0 } else { i64::try_from((u64::from(*w) / scale).max(1)).unwrap_or(i64::MAX) })
        .collect();
    let total: i64 = weights.iter().sum();
    let mut current = vec![0i64; weights.len()];
    let mut schedule = Vec::with_capacity(usize::try_from(total).unwrap_or(0));
    for _ in 0..total {
        let mut best = 0;
        for (i, w) in weights.iter().enumerate() {
            current[i] += w;
            if current[i] > current[best] {
                best = i;
            }
        }
        current[best] -= total;
        schedule.push(u16::try_from(best).unwrap_or(u16::MAX));
    }
    schedule
}

impl LoadBalancer {
    /// Compiles a `loadBalancer` spec.
    pub fn build(spec: &Spec) -> Result<Self, BuildError> {
        if spec.servers.len() > usize::from(u16::MAX) {
            return Err(BuildError(format!("{} servers: at most {} are supported", spec.servers.len(), u16::MAX)));
        }
        let mut servers = Vec::with_capacity(spec.servers.len());
        for (i, server) in spec.servers.iter().enumerate() {
            let target = Target::parse(&server.url, server.preserve_path)
                .map_err(|e| BuildError(format!("loadBalancer.servers[{i}].url: {e}")))?;
            servers.push(Arc::new(ServerState::new(target, server.weight.unwrap_or(1))));
        }
        let weights: Vec<u32> = servers.iter().map(|s| s.weight).collect();
        Ok(Self {
            schedule: smooth_wrr_schedule(&weights),
            servers,
            next: AtomicUsize::new(0),
            options: ForwardOptions { pass_host_header: spec.pass_host_header, ..ForwardOptions::default() },
        })
    }

    /// The servers, for health tracking.
    pub fn servers(&self) -> &[Arc<ServerState>] {
        &self.servers
    }

    /// The next server in rotation that is up.
    pub fn pick(&self) -> Option<&Arc<ServerState>> {
        let len = self.schedule.len();
        if len == 0 {
            return None;
        }
        let start = self.next.fetch_add(1, Ordering::Relaxed);
        (0..len)
            .map(|k| &self.servers[usize::from(self.schedule[(start + k) % len])])
            .find(|s| s.is_up())
    }
}

impl Service for LoadBalancer {
    fn serve<'a>(&'a self, req: ProxyRequest, ctx: &'a WorkerCtx) -> LocalBoxFuture<'a, HttpResponse> {
        Box::pin(async move {
            let Some(server) = self.pick() else {
                return no_server_available();
            };
            match forward(&ctx.client, req, &server.target, &self.options).await {
                Ok(response) => response,
                Err(e) => {
                    tracing::debug!(server = %server.target.url, error = %e, "forwarding failed");
                    e.response()
                }
            }
        })
    }

    fn available(&self) -> bool {
        self.servers.iter().any(|s| s.is_up() && s.weight > 0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn smooth_wrr_interleaves_by_weight() {
        let cases: [(&str, &[u32], &[u16]); 5] = [
            ("equal", &[1, 1, 1], &[0, 1, 2]),
            ("nginx example 5,1,1", &[5, 1, 1], &[0, 0, 1, 0, 2, 0, 0]),
            ("zero weight never picked", &[1, 0, 1], &[0, 2]),
            ("single", &[3], &[0, 0, 0]),
            ("all zero", &[0, 0], &[]),
        ];
        for (case, weights, expected) in cases {
            assert_eq!(smooth_wrr_schedule(weights), expected, "{case}");
        }
    }

    #[test]
    fn long_schedules_are_scaled_but_keep_proportions() {
        let s = smooth_wrr_schedule(&[100_000, 50_000, 1]);
        assert!(s.len() as u64 <= MAX_SCHEDULE + 3);
        let count = |i| s.iter().filter(|x| **x == i).count();
        assert!(count(2) >= 1);
        let ratio = count(0) as f64 / count(1) as f64;
        assert!((ratio - 2.0).abs() < 0.05, "{ratio}");
    }

    #[test]
    fn pick_skips_servers_that_are_down() {
        let spec: Spec = serde_json::from_value(serde_json::json!({
            "servers": [{"url": "http://a:1"}, {"url": "http://b:1"}]
        }))
        .unwrap();
        let lb = LoadBalancer::build(&spec).unwrap();
        lb.servers()[0].set_up(false);
        for _ in 0..4 {
            assert_eq!(lb.pick().unwrap().target.authority, "b:1");
        }
        lb.servers()[1].set_up(false);
        assert!(lb.pick().is_none());
        assert!(!lb.available());
    }
}
