//! `switchyard validate`: every problem of a set of files, one line each.

use std::collections::BTreeMap;
use std::path::PathBuf;

use switchyard_merge::{MergeOptions, ProviderConfig, merge};

use switchyard_config::{combine, decode_file as decode};

/// The lines to print; empty when the files are clean.
pub struct Report {
    /// One line per problem.
    pub lines: Vec<String>,
}

/// Validates files read together as the `file` provider.
pub fn validate(files: &[PathBuf]) -> Report {
    let mut lines = Vec::new();
    let mut decoded = Vec::new();
    for path in files {
        match decode(path) {
            Ok(d) => decoded.push((path.clone(), d)),
            Err(e) => lines.push(e.to_string()),
        }
    }
    let loaded = combine(decoded);
    lines.extend(loaded.duplicates.iter().cloned());
    let providers = BTreeMap::from([(
        "file".to_owned(),
        ProviderConfig {
            config: loaded.decoded.config,
            problems: loaded.decoded.problems,
        },
    )]);
    let merged = merge(&providers, &MergeOptions::default());
    for disabled in merged.disabled.values() {
        for problem in &disabled.problems {
            let line = problem.display_with_provider(&disabled.provider);
            match loaded.origins.get(&(problem.kind, problem.name.clone())) {
                Some(path) if files.len() > 1 => lines.push(format!("{}: {line}", path.display())),
                _ => lines.push(line),
            }
        }
    }
    Report { lines }
}
