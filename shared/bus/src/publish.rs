//! What a provider writes to move the bus from what it holds to a new snapshot.
//!
//! Only changed records are written (incremental, property 2), in an order that keeps every
//! prefix of the batch consistent (property 3): resources that others refer to are put
//! before the routers that refer to them, and deletions come after all puts, routers first.
//! A proxy that applies the batch half-way therefore never sees a router whose service or
//! middleware is gone. The commit marker ends the batch; proxies apply at the marker.

use std::collections::BTreeMap;

use switchyard_model::ResourceKind;

use crate::keys::ConfigKey;
use crate::record::Record;

/// Writes, in order, that take the bucket from `current` to the new snapshot.
#[derive(Debug, Default, Clone, PartialEq)]
pub struct Plan {
    /// Keys to put with their encoded records, in write order.
    pub puts: Vec<(ConfigKey, Vec<u8>)>,
    /// Keys to delete, in write order (after every put).
    pub deletes: Vec<ConfigKey>,
}

impl Plan {
    /// Whether nothing changes.
    pub fn is_empty(&self) -> bool {
        self.puts.is_empty() && self.deletes.is_empty()
    }

    /// How many keys the plan writes.
    pub fn len(&self) -> usize {
        self.puts.len() + self.deletes.len()
    }
}

/// The order in which kinds are put: what is referred to before what refers to it.
fn put_rank(kind: ResourceKind) -> u8 {
    match kind {
        ResourceKind::TlsCertificate | ResourceKind::TlsOption | ResourceKind::TlsStore => 0,
        ResourceKind::HttpServersTransport | ResourceKind::TcpServersTransport => 1,
        ResourceKind::HttpMiddleware | ResourceKind::TcpMiddleware => 2,
        ResourceKind::HttpService | ResourceKind::TcpService | ResourceKind::UdpService => 3,
        ResourceKind::HttpRouter | ResourceKind::TcpRouter | ResourceKind::UdpRouter => 4,
    }
}

/// Plans the writes from `current` (key -> stored bytes, as read back from the bucket or
/// remembered from the last publish) to `next`.
pub fn plan(current: &BTreeMap<ConfigKey, Vec<u8>>, next: &BTreeMap<ConfigKey, Record>) -> Plan {
    let mut puts: Vec<(ConfigKey, Vec<u8>)> = next
        .iter()
        .filter_map(|(key, record)| {
            let bytes = record.to_bytes();
            (current.get(key) != Some(&bytes)).then(|| (key.clone(), bytes))
        })
        .collect();
    puts.sort_by_key(|(key, _)| put_rank(key.kind));
    let mut deletes: Vec<ConfigKey> = current
        .keys()
        .filter(|key| !next.contains_key(*key))
        .cloned()
        .collect();
    deletes.sort_by_key(|key| std::cmp::Reverse(put_rank(key.kind)));
    Plan { puts, deletes }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn rec(v: serde_json::Value) -> Record {
        Record {
            spec: Some(v),
            problems: vec![],
        }
    }

    fn key(kind: ResourceKind, name: &str) -> ConfigKey {
        ConfigKey::new("file", kind, name)
    }

    #[test]
    fn unchanged_records_are_not_written() {
        let next: BTreeMap<_, _> = [(
            key(ResourceKind::HttpRouter, "a"),
            rec(json!({"rule": "Host(`a`)"})),
        )]
        .into();
        let current: BTreeMap<_, _> = next
            .iter()
            .map(|(k, r)| (k.clone(), r.to_bytes()))
            .collect();
        assert!(plan(&current, &next).is_empty());
    }

    #[test]
    fn dependencies_first_and_deletes_last_routers_first() {
        let current: BTreeMap<_, _> = [
            (key(ResourceKind::HttpService, "old"), b"{}".to_vec()),
            (key(ResourceKind::HttpRouter, "gone"), b"{}".to_vec()),
            (key(ResourceKind::HttpMiddleware, "m-old"), b"{}".to_vec()),
        ]
        .into();
        let next: BTreeMap<_, _> = [
            (
                key(ResourceKind::HttpRouter, "r"),
                rec(json!({"service": "new"})),
            ),
            (
                key(ResourceKind::HttpService, "new"),
                rec(json!({"loadBalancer": {}})),
            ),
            (
                key(ResourceKind::HttpMiddleware, "m"),
                rec(json!({"addPrefix": {"prefix": "/x"}})),
            ),
        ]
        .into();
        let p = plan(&current, &next);
        let order: Vec<_> = p.puts.iter().map(|(k, _)| k.name.as_str()).collect();
        assert_eq!(order, ["m", "new", "r"]);
        let deletes: Vec<_> = p.deletes.iter().map(|k| k.name.as_str()).collect();
        assert_eq!(deletes, ["gone", "old", "m-old"]);
        assert_eq!(p.len(), 6);
    }
}
