//! The `/metrics` text: a scrape's numbers laid out as Traefik's Go client lays them out
//! (Prometheus text format 0.0.4, families sorted by name, labels sorted by name, series
//! sorted by label values), encoded by `prometheus-client`.

use std::collections::BTreeMap;

use prometheus_client::collector::Collector;
use prometheus_client::encoding::{DescriptorEncoder, NoLabelSet};
use prometheus_client::metrics::MetricType;
use prometheus_client::registry::Registry;

use super::series::{BUCKETS, Key, METHODS, PROTOCOLS, Totals};

/// Label pairs of one series, names in sorted order.
type Labels = Vec<(&'static str, String)>;

/// The values of one metric family.
#[derive(Debug)]
enum Values {
    Counter(Vec<(Labels, u64)>),
    Gauge(Vec<(Labels, i64)>),
    /// (labels, sum in seconds, count, per-bucket counts).
    Histogram(Vec<(Labels, f64, u64, [u64; 4])>),
}

impl Values {
    fn is_empty(&self) -> bool {
        match self {
            Values::Counter(v) => v.is_empty(),
            Values::Gauge(v) => v.is_empty(),
            Values::Histogram(v) => v.is_empty(),
        }
    }

    fn sort(&mut self) {
        match self {
            Values::Counter(v) => v.sort_by(|a, b| a.0.cmp(&b.0)),
            Values::Gauge(v) => v.sort_by(|a, b| a.0.cmp(&b.0)),
            Values::Histogram(v) => v.sort_by(|a, b| a.0.cmp(&b.0)),
        }
    }
}

/// One metric family: its name without prefix (and without `_total` for counters).
#[derive(Debug)]
struct Family {
    name: &'static str,
    help: &'static str,
    values: Values,
}

impl Family {
    /// The name Go sorts by: counters carry `_total`.
    fn sort_name(&self) -> String {
        match self.values {
            Values::Counter(_) => format!("{}_total", self.name),
            _ => self.name.to_owned(),
        }
    }
}

/// Everything one scrape reads, gathered before encoding so that no lock is held while
/// the text is written.
#[derive(Debug, Default)]
pub(super) struct Scrape {
    pub reloads: u64,
    pub last_reload_success: i64,
    /// (cn, serial, sans) → not-after, unix seconds.
    pub certs: Vec<((String, String, String), i64)>,
    /// (entrypoint, protocol) → open connections.
    pub connections: Vec<((String, String), i64)>,
    /// Entrypoint name → cells.
    pub entrypoints: Vec<(String, BTreeMap<Key, Totals>)>,
    /// (router, service) → cells.
    pub routers: Vec<((String, String), BTreeMap<Key, Totals>)>,
    /// Service → cells.
    pub services: Vec<(String, BTreeMap<Key, Totals>)>,
    /// (service, URL) → up.
    pub servers: Vec<((String, String), bool)>,
    /// Access log lines dropped, when there is an access log.
    pub dropped_log_lines: Option<u64>,
}

/// The four families every request level (entrypoint, router, service) has.
struct Level {
    requests: Vec<(Labels, u64)>,
    durations: Vec<(Labels, f64, u64, [u64; 4])>,
    request_bytes: Vec<(Labels, u64)>,
    response_bytes: Vec<(Labels, u64)>,
}

impl Level {
    /// `own` are the level's labels (`entrypoint`, or `router` + `service`, or `service`),
    /// merged with `code`, `method`, `protocol` in name order.
    fn gather<'a>(series: impl Iterator<Item = (Labels, &'a BTreeMap<Key, Totals>)>) -> Self {
        let mut level = Level {
            requests: Vec::new(),
            durations: Vec::new(),
            request_bytes: Vec::new(),
            response_bytes: Vec::new(),
        };
        for (own, cells) in series {
            for (key, totals) in cells {
                let mut labels: Labels = own.clone();
                labels.push(("code", key.code.to_string()));
                labels.push((
                    "method",
                    METHODS[usize::from(key.method) % METHODS.len()].to_owned(),
                ));
                labels.push((
                    "protocol",
                    PROTOCOLS[usize::from(key.protocol) % PROTOCOLS.len()].to_owned(),
                ));
                labels.sort_by_key(|(name, _)| *name);
                let count = totals.histogram_count();
                level.requests.push((labels.clone(), count));
                level.durations.push((
                    labels.clone(),
                    totals.sum_ns as f64 / 1e9,
                    count,
                    totals.buckets,
                ));
                level
                    .request_bytes
                    .push((labels.clone(), totals.request_bytes));
                level.response_bytes.push((labels, totals.response_bytes));
            }
        }
        level
    }
}

impl Scrape {
    fn families(&self) -> Vec<Family> {
        let mut families = vec![
            Family {
                name: "config_reloads",
                help: "Config reloads",
                values: Values::Counter(vec![(Vec::new(), self.reloads)]),
            },
            Family {
                name: "config_last_reload_success",
                help: "Last config reload success",
                values: Values::Gauge(vec![(Vec::new(), self.last_reload_success)]),
            },
            Family {
                name: "tls_certs_not_after",
                help: "Certificate expiration timestamp",
                values: Values::Gauge(
                    self.certs
                        .iter()
                        .map(|((cn, serial, sans), t)| {
                            (
                                vec![
                                    ("cn", cn.clone()),
                                    ("sans", sans.clone()),
                                    ("serial", serial.clone()),
                                ],
                                *t,
                            )
                        })
                        .collect(),
                ),
            },
            Family {
                name: "open_connections",
                help: "How many open connections exist, by entryPoint and protocol",
                values: Values::Gauge(
                    self.connections
                        .iter()
                        .map(|((ep, protocol), n)| {
                            (
                                vec![("entrypoint", ep.clone()), ("protocol", protocol.clone())],
                                *n,
                            )
                        })
                        .collect(),
                ),
            },
            Family {
                name: "service_server_up",
                help: "service server is up, described by gauge value of 0 or 1.",
                values: Values::Gauge(
                    self.servers
                        .iter()
                        .map(|((service, url), up)| {
                            (
                                vec![("service", service.clone()), ("url", url.clone())],
                                i64::from(*up),
                            )
                        })
                        .collect(),
                ),
            },
        ];
        if let Some(dropped) = self.dropped_log_lines {
            families.push(Family {
                name: "accesslog_dropped_lines",
                help: "Access log lines dropped because the log writer fell behind.",
                values: Values::Counter(vec![(Vec::new(), dropped)]),
            });
        }

        let levels = [
            (
                [
                    "entrypoint_requests",
                    "entrypoint_request_duration_seconds",
                    "entrypoint_requests_bytes",
                    "entrypoint_responses_bytes",
                ],
                Level::gather(
                    self.entrypoints
                        .iter()
                        .map(|(ep, cells)| (vec![("entrypoint", ep.clone())], cells)),
                ),
                [
                    "How many HTTP requests processed on an entrypoint, partitioned by status code, protocol, and method.",
                    "How long it took to process the request on an entrypoint, partitioned by status code, protocol, and method.",
                    "The total size of requests in bytes handled by an entrypoint, partitioned by status code, protocol, and method.",
                    "The total size of responses in bytes handled by an entrypoint, partitioned by status code, protocol, and method.",
                ],
            ),
            (
                [
                    "router_requests",
                    "router_request_duration_seconds",
                    "router_requests_bytes",
                    "router_responses_bytes",
                ],
                Level::gather(self.routers.iter().map(|((router, service), cells)| {
                    (
                        vec![("router", router.clone()), ("service", service.clone())],
                        cells,
                    )
                })),
                [
                    "How many HTTP requests are processed on a router, partitioned by service, status code, protocol, and method.",
                    "How long it took to process the request on a router, partitioned by service, status code, protocol, and method.",
                    "The total size of requests in bytes handled by a router, partitioned by service, status code, protocol, and method.",
                    "The total size of responses in bytes handled by a router, partitioned by service, status code, protocol, and method.",
                ],
            ),
            (
                [
                    "service_requests",
                    "service_request_duration_seconds",
                    "service_requests_bytes",
                    "service_responses_bytes",
                ],
                Level::gather(
                    self.services
                        .iter()
                        .map(|(service, cells)| (vec![("service", service.clone())], cells)),
                ),
                [
                    "How many HTTP requests processed on a service, partitioned by status code, protocol, and method.",
                    "How long it took to process the request on a service, partitioned by status code, protocol, and method.",
                    "The total size of requests in bytes received by a service, partitioned by status code, protocol, and method.",
                    "The total size of responses in bytes returned by a service, partitioned by status code, protocol, and method.",
                ],
            ),
        ];
        for (names, data, [requests, duration, request_bytes, response_bytes]) in levels {
            families.push(Family {
                name: names[0],
                help: requests,
                values: Values::Counter(data.requests),
            });
            families.push(Family {
                name: names[1],
                help: duration,
                values: Values::Histogram(data.durations),
            });
            families.push(Family {
                name: names[2],
                help: request_bytes,
                values: Values::Counter(data.request_bytes),
            });
            families.push(Family {
                name: names[3],
                help: response_bytes,
                values: Values::Counter(data.response_bytes),
            });
        }

        families.retain(|f| !f.values.is_empty());
        for family in &mut families {
            family.values.sort();
        }
        families.sort_by_cached_key(Family::sort_name);
        families
    }

    /// Encodes the scrape, every name prefixed with `prefix` (none when empty).
    pub fn encode(self, prefix: &str) -> String {
        let mut registry = if prefix.is_empty() {
            Registry::default()
        } else {
            Registry::with_prefix(prefix)
        };
        registry.register_collector(Box::new(Encoded(self.families())));
        let mut out = String::new();
        // Writing into a String cannot fail.
        let _ = prometheus_client::encoding::prometheus_text::encode(&mut out, &registry);
        out
    }
}

/// The families, as a collector the registry encodes.
#[derive(Debug)]
struct Encoded(Vec<Family>);

fn refs(labels: &Labels) -> Vec<(&str, &str)> {
    labels.iter().map(|(k, v)| (*k, v.as_str())).collect()
}

impl Collector for Encoded {
    fn encode(&self, mut encoder: DescriptorEncoder) -> Result<(), std::fmt::Error> {
        let bounds: Vec<f64> = BUCKETS.to_vec();
        for family in &self.0 {
            let kind = match family.values {
                Values::Counter(_) => MetricType::Counter,
                Values::Gauge(_) => MetricType::Gauge,
                Values::Histogram(_) => MetricType::Histogram,
            };
            let mut metric = encoder.encode_descriptor(family.name, family.help, None, kind)?;
            match &family.values {
                Values::Counter(series) => {
                    for (labels, value) in series {
                        if labels.is_empty() {
                            metric.encode_counter::<NoLabelSet, _, u64>(value, None)?;
                        } else {
                            let labels = refs(labels);
                            metric
                                .encode_family(&labels.as_slice())?
                                .encode_counter::<NoLabelSet, _, u64>(value, None)?;
                        }
                    }
                }
                Values::Gauge(series) => {
                    for (labels, value) in series {
                        if labels.is_empty() {
                            metric.encode_gauge(value)?;
                        } else {
                            let labels = refs(labels);
                            metric
                                .encode_family(&labels.as_slice())?
                                .encode_gauge(value)?;
                        }
                    }
                }
                Values::Histogram(series) => {
                    for (labels, sum, count, buckets) in series {
                        let labels = refs(labels);
                        let buckets: Vec<(f64, u64)> = bounds
                            .iter()
                            .copied()
                            .zip(buckets.iter().copied())
                            .collect();
                        metric
                            .encode_family(&labels.as_slice())?
                            .encode_histogram::<NoLabelSet>(*sum, *count, &buckets, None)?;
                    }
                }
            }
        }
        Ok(())
    }
}
