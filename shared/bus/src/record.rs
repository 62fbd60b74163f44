//! Configuration resources as they travel on the bus: one record per resource.
//!
//! A record is either the resource's specification (the model type, serialised as JSON in
//! Traefik's camelCase shape) or the problems that made its provider reject it. Rejected
//! resources are published too, so that every proxy can disable what depends on them and
//! say why, instead of reporting a missing resource.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};
use switchyard_model::{DynamicConfig, Problem, ResourceKind};

use crate::keys::ConfigKey;

/// A record that could not be encoded or decoded.
#[derive(Debug, thiserror::Error)]
#[error("record {key}: {source}")]
pub struct RecordError {
    /// The record's key.
    pub key: String,
    /// The JSON error.
    #[source]
    pub source: serde_json::Error,
}

/// One problem of a rejected resource.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RecordProblem {
    /// The field inside the resource, if the problem is about one field.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub field: Option<String>,
    /// What is wrong.
    pub message: String,
}

/// The wire form of a record: exactly one of `spec` and `problems` is set.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Record {
    /// The resource, as its model type serialises it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub spec: Option<serde_json::Value>,
    /// Why its provider rejected it.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub problems: Vec<RecordProblem>,
}

impl Record {
    /// Encodes the record as the bytes stored in the bucket.
    pub fn to_bytes(&self) -> Vec<u8> {
        // A Value-based record always serialises.
        serde_json::to_vec(self).unwrap_or_default()
    }

    /// Decodes a record read from the bucket under `key`.
    pub fn from_bytes(key: &ConfigKey, bytes: &[u8]) -> Result<Self, RecordError> {
        serde_json::from_slice(bytes).map_err(|source| RecordError {
            key: key.to_string(),
            source,
        })
    }
}

/// Runs `$body` with `$map` bound to the map or list of `$config` that holds `$kind`.
macro_rules! with_section {
    ($config:expr, $kind:expr, |$map:ident| $named:expr, |$list:ident| $listed:expr) => {
        match $kind {
            ResourceKind::HttpRouter => {
                let $map = &mut $config.http.routers;
                $named
            }
            ResourceKind::HttpService => {
                let $map = &mut $config.http.services;
                $named
            }
            ResourceKind::HttpMiddleware => {
                let $map = &mut $config.http.middlewares;
                $named
            }
            ResourceKind::HttpServersTransport => {
                let $map = &mut $config.http.servers_transports;
                $named
            }
            ResourceKind::TcpRouter => {
                let $map = &mut $config.tcp.routers;
                $named
            }
            ResourceKind::TcpService => {
                let $map = &mut $config.tcp.services;
                $named
            }
            ResourceKind::TcpMiddleware => {
                let $map = &mut $config.tcp.middlewares;
                $named
            }
            ResourceKind::TcpServersTransport => {
                let $map = &mut $config.tcp.servers_transports;
                $named
            }
            ResourceKind::UdpRouter => {
                let $map = &mut $config.udp.routers;
                $named
            }
            ResourceKind::UdpService => {
                let $map = &mut $config.udp.services;
                $named
            }
            ResourceKind::TlsOption => {
                let $map = &mut $config.tls.options;
                $named
            }
            ResourceKind::TlsStore => {
                let $map = &mut $config.tls.stores;
                $named
            }
            ResourceKind::TlsCertificate => {
                let $list = &mut $config.tls.certificates;
                $listed
            }
        }
    };
}

/// Splits one provider's configuration (and the resources it rejected) into records.
///
/// Certificates have no names in Traefik's model; their records are named by a digest of
/// their files, so that the name stays put when other certificates are added or removed.
pub fn to_records(
    provider: &str,
    config: &DynamicConfig,
    problems: &[Problem],
) -> BTreeMap<ConfigKey, Record> {
    let mut out = BTreeMap::new();
    let mut config = config.clone();
    for kind in ResourceKind::ALL {
        with_section!(
            config,
            kind,
            |map| {
                for (name, spec) in std::mem::take(map) {
                    let spec = serde_json::to_value(&spec).ok();
                    out.insert(ConfigKey::new(provider, kind, name), record_of(spec));
                }
            },
            |list| {
                for cert in std::mem::take(list) {
                    let spec = serde_json::to_value(&cert).ok();
                    let name = certificate_name(spec.as_ref());
                    out.insert(ConfigKey::new(provider, kind, name), record_of(spec));
                }
            }
        );
    }
    for problem in problems {
        let key = ConfigKey::new(provider, problem.kind, problem.name.clone());
        let record = out.entry(key).or_insert_with(|| Record {
            spec: None,
            problems: vec![],
        });
        // A rejected resource is published without its spec, even if part of it decoded.
        record.spec = None;
        record.problems.push(RecordProblem {
            field: problem.field.clone(),
            message: problem.message.clone(),
        });
    }
    out
}

/// The record of a resource; one that holds a private key inline (PEM content in a
/// `keyFile`, anywhere in the resource) is rejected instead, because the config bucket is
/// not encrypted and private keys never rest on the bus in clear (design property 5).
/// Keys named by path are published as paths; the certificates service reads them and
/// publishes them sealed.
fn record_of(spec: Option<serde_json::Value>) -> Record {
    match spec.as_ref().and_then(|spec| inline_private_key(spec, "")) {
        Some(field) => Record {
            spec: None,
            problems: vec![RecordProblem {
                field: Some(field),
                message: "an inline private key is not published: the configuration travels \
                          and rests on the bus in clear; put the key in a file and give its path"
                    .to_owned(),
            }],
        },
        None => Record {
            spec,
            problems: vec![],
        },
    }
}

/// The path (`certificates[0].keyFile`) of the first string holding a PEM private key.
fn inline_private_key(value: &serde_json::Value, path: &str) -> Option<String> {
    match value {
        serde_json::Value::String(text) => (text.contains("-----BEGIN")
            && text.contains("PRIVATE KEY-----"))
        .then(|| path.to_owned()),
        serde_json::Value::Array(items) => items
            .iter()
            .enumerate()
            .find_map(|(i, item)| inline_private_key(item, &format!("{path}[{i}]"))),
        serde_json::Value::Object(fields) => fields.iter().find_map(|(name, field)| {
            let path = if path.is_empty() {
                name.clone()
            } else {
                format!("{path}.{name}")
            };
            inline_private_key(field, &path)
        }),
        _ => None,
    }
}

fn certificate_name(spec: Option<&serde_json::Value>) -> String {
    let text = spec.map(|v| v.to_string()).unwrap_or_default();
    let digest = ring::digest::digest(&ring::digest::SHA256, text.as_bytes());
    digest.as_ref()[..8]
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

/// Rebuilds per-provider configurations from records, the inverse of [`to_records`].
///
/// A record whose spec does not decode as its kind (a payload from a newer, incompatible
/// publisher, or a corrupted one) becomes a problem of that resource: it is disabled with
/// the reason rather than silently dropped.
pub fn from_records<'a>(
    records: impl IntoIterator<Item = (&'a ConfigKey, &'a Record)>,
) -> BTreeMap<String, (DynamicConfig, Vec<Problem>)> {
    let mut out: BTreeMap<String, (DynamicConfig, Vec<Problem>)> = BTreeMap::new();
    for (key, record) in records {
        let (config, problems) = out.entry(key.provider.clone()).or_default();
        let rejected = |message: String, field: Option<String>| Problem {
            kind: key.kind,
            name: key.name.clone(),
            field,
            message,
        };
        if !record.problems.is_empty() {
            problems.extend(
                record
                    .problems
                    .iter()
                    .map(|p| rejected(p.message.clone(), p.field.clone())),
            );
            continue;
        }
        let Some(spec) = record.spec.clone() else {
            problems.push(rejected(
                "record has neither spec nor problems".into(),
                None,
            ));
            continue;
        };
        let decoded: Result<(), serde_json::Error> = with_section!(
            config,
            key.kind,
            |map| serde_json::from_value(spec).map(|v| {
                map.insert(key.name.clone(), v);
            }),
            |list| serde_json::from_value(spec).map(|v| list.push(v))
        );
        if let Err(e) = decoded {
            problems.push(rejected(format!("cannot decode bus record: {e}"), None));
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    const KEY: &str =
        "-----BEGIN PRIVATE KEY-----\nMC4CAQAwBQYDK2VwBCIEIA==\n-----END PRIVATE KEY-----\n";
    const EC_KEY: &str =
        "-----BEGIN EC PRIVATE KEY-----\nMHcCAQEEIA==\n-----END EC PRIVATE KEY-----\n";

    fn records(config: serde_json::Value) -> BTreeMap<ConfigKey, Record> {
        let config: DynamicConfig = serde_json::from_value(config).unwrap();
        to_records("file", &config, &[])
    }

    fn only(records: &BTreeMap<ConfigKey, Record>, kind: ResourceKind) -> &Record {
        let mut of_kind = records.iter().filter(|(k, _)| k.kind == kind);
        let (_, record) = of_kind.next().expect("one record of that kind");
        assert!(of_kind.next().is_none());
        record
    }

    #[test]
    fn inline_private_keys_are_rejected_and_paths_published() {
        let cases = [
            (
                "certificate with an inline key",
                serde_json::json!({"tls": {"certificates": [{"certFile": "/c.pem", "keyFile": KEY}]}}),
                ResourceKind::TlsCertificate,
                Some("keyFile"),
            ),
            (
                "certificate with an inline EC key",
                serde_json::json!({"tls": {"certificates": [{"certFile": "/c.pem", "keyFile": EC_KEY}]}}),
                ResourceKind::TlsCertificate,
                Some("keyFile"),
            ),
            (
                "certificate with paths",
                serde_json::json!({"tls": {"certificates": [{"certFile": "/c.pem", "keyFile": "/k.pem"}]}}),
                ResourceKind::TlsCertificate,
                None,
            ),
            (
                "servers transport client certificate inline",
                serde_json::json!({"http": {"serversTransports": {"mtls": {
                    "certificates": [{"certFile": "/c.pem", "keyFile": KEY}]
                }}}}),
                ResourceKind::HttpServersTransport,
                Some("certificates[0].keyFile"),
            ),
        ];
        for (case, config, kind, rejected_field) in cases {
            let records = records(config);
            let record = only(&records, kind);
            match rejected_field {
                Some(field) => {
                    assert!(record.spec.is_none(), "{case}");
                    assert_eq!(record.problems[0].field.as_deref(), Some(field), "{case}");
                    assert!(
                        record.problems[0].message.contains("inline private key"),
                        "{case}"
                    );
                    let wire = serde_json::to_string(record).unwrap();
                    assert!(!wire.contains("PRIVATE KEY"), "{case}: {wire}");
                }
                None => assert!(
                    record.spec.is_some() && record.problems.is_empty(),
                    "{case}"
                ),
            }
        }
    }
}
