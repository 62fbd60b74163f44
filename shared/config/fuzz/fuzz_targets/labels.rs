//! Fuzzes label decoding: each input line is one `key=value` label.
//!
//! Run with `cargo +nightly fuzz run labels` from `shared/config/fuzz`.
#![no_main]

use libfuzzer_sys::fuzz_target;
use switchyard_config::decode_labels;

fuzz_target!(|data: &[u8]| {
    let text = String::from_utf8_lossy(data);
    let labels: Vec<(&str, &str)> = text
        .lines()
        .map(|line| line.split_once('=').unwrap_or((line, "")))
        .collect();
    let decoded = decode_labels(labels);
    // A resource with a problem is never part of the configuration.
    for problem in &decoded.problems {
        assert!(!decoded.config.contains(problem.kind, &problem.name), "{problem}");
    }
});
