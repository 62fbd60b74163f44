//! `switchyard explain`: which router a request head reaches, and why.

use std::collections::BTreeMap;
use std::net::IpAddr;
use std::path::PathBuf;

use switchyard_http_normalize::{canonical_host, normalize_target, request_host};
use switchyard_merge::{MergeOptions, ProviderConfig, merge};
use switchyard_routing::{ProviderPrecedence, RouteTable};
use switchyard_rules::{SimpleRequest, parse_query};

use crate::head;
use switchyard_config::{FileError, combine, decode_file as decode};

/// Why explain cannot answer.
#[derive(Debug, thiserror::Error)]
pub enum ExplainError {
    /// A `--config` value is malformed.
    #[error("--config {0:?}: expected [PROVIDER=]FILE with PROVIDER of a-z, 0-9 and '-'")]
    ConfigArg(String),
    /// A configuration file cannot be used.
    #[error(transparent)]
    Load(#[from] FileError),
    /// The request head cannot be read.
    #[error("request: {0}")]
    Head(#[from] head::HeadError),
}

/// The answer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Outcome {
    /// 200 (a router matched), 400 (the proxy would reject the request), 404 (no router).
    pub status: u16,
    /// The winning router, `name@provider`.
    pub router: Option<String>,
    /// Its service.
    pub service: Option<String>,
    /// The winning router's priority.
    pub priority: Option<i64>,
    /// Why there is no router, or why the request is rejected.
    pub reason: Option<String>,
    /// Problems in the configuration that disabled resources (printed on stderr).
    pub warnings: Vec<String>,
}

impl Outcome {
    /// `{"status": 200, "router": "api@file", "service": "api@file"}`.
    pub fn to_json(&self) -> String {
        serde_json::json!({"status": self.status, "router": self.router, "service": self.service})
            .to_string()
    }

    /// A sentence for people.
    pub fn to_text(&self) -> String {
        match (&self.router, &self.service) {
            (Some(router), Some(service)) => format!(
                "200: router {router} (priority {}) -> service {service}",
                self.priority.unwrap_or_default()
            ),
            _ => format!(
                "{}: {}",
                self.status,
                self.reason.as_deref().unwrap_or("no router matches")
            ),
        }
    }
}

/// Splits `[PROVIDER=]FILE`.
fn provider_and_file(arg: &str) -> Result<(String, PathBuf), ExplainError> {
    match arg.split_once('=') {
        Some((provider, file))
            if !provider.is_empty()
                && provider
                    .chars()
                    .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-') =>
        {
            Ok((provider.to_owned(), PathBuf::from(file)))
        }
        Some((provider, _)) if !provider.contains('/') => {
            Err(ExplainError::ConfigArg(arg.to_owned()))
        }
        // A path that contains '=' in a folder name: no provider given.
        _ => Ok(("file".to_owned(), PathBuf::from(arg))),
    }
}

/// Loads the configurations, reads the head and routes it.
pub fn run(
    configs: &[String],
    input: &[u8],
    client_ip: Option<IpAddr>,
    entry_point: Option<&str>,
) -> Result<Outcome, ExplainError> {
    let mut files: BTreeMap<String, Vec<(PathBuf, switchyard_config::Decoded)>> = BTreeMap::new();
    for arg in configs {
        let (provider, path) = provider_and_file(arg)?;
        let decoded = decode(&path)?;
        files.entry(provider).or_default().push((path, decoded));
    }
    let mut warnings = Vec::new();
    let mut providers: BTreeMap<String, ProviderConfig> = BTreeMap::new();
    for (provider, files) in files {
        let loaded = combine(files);
        warnings.extend(loaded.duplicates);
        providers.insert(
            provider,
            ProviderConfig {
                config: loaded.decoded.config,
                problems: loaded.decoded.problems,
            },
        );
    }
    let merged = merge(&providers, &MergeOptions::default());
    warnings.extend(merged.problem_lines());
    let table = RouteTable::build(&merged, &ProviderPrecedence::default());

    let head = head::parse(input)?;
    let rejected = |reason: String| Outcome {
        status: 400,
        router: None,
        service: None,
        priority: None,
        reason: Some(reason),
        warnings: warnings.clone(),
    };
    let target = match normalize_target(&head.target) {
        Ok(target) => target,
        Err(e) => return Ok(rejected(format!("bad request target: {e}"))),
    };
    let hosts = head
        .headers
        .iter()
        .filter(|(n, _)| n.eq_ignore_ascii_case("host"))
        .map(|(_, v)| v.as_str());
    let host = match request_host(target.authority.as_deref(), hosts, head.http11) {
        Ok(host) => canonical_host(host),
        Err(e) => return Ok(rejected(e.to_string())),
    };
    let request = SimpleRequest {
        host,
        path: target.path.to_string(),
        method: head.method.clone(),
        client_ip,
        headers: head.headers.clone(),
        query: target.query.as_deref().map(parse_query).unwrap_or_default(),
    };
    Ok(match table.lookup(entry_point, &request) {
        Some(route) => Outcome {
            status: 200,
            router: Some(route.name.clone()),
            service: Some(route.service().to_owned()),
            priority: Some(route.priority),
            reason: None,
            warnings,
        },
        None => Outcome {
            status: 404,
            router: None,
            service: None,
            priority: None,
            reason: Some(format!(
                "no router matches ({} enabled routers)",
                table.len()
            )),
            warnings,
        },
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn config_args() {
        assert_eq!(
            provider_and_file("a.yml").unwrap(),
            ("file".into(), PathBuf::from("a.yml"))
        );
        assert_eq!(
            provider_and_file("docker=a.yml").unwrap(),
            ("docker".into(), PathBuf::from("a.yml"))
        );
        assert_eq!(
            provider_and_file("./x=y/a.yml").unwrap(),
            ("file".into(), PathBuf::from("./x=y/a.yml"))
        );
        assert!(provider_and_file("Bad=a.yml").is_err());
    }
}
