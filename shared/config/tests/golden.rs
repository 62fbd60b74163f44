//! Golden tests: every folder under `tests/golden/` holds one or more inputs
//! (`input.yml`, `input.yaml`, `input.toml`, `input.labels`) and the `expected.json` that
//! each of them must decode to. Several inputs in one folder must give identical output.
//!
//! `input.labels` holds one `key=value` label per line; blank lines and lines starting
//! with `#` are skipped.
//!
//! Run with `UPDATE_GOLDEN=1` to rewrite `expected.json` from the first input; review the
//! diff by hand before keeping it.

use std::fs;
use std::path::{Path, PathBuf};

use serde_json::{Value, json};
use switchyard_config::{Decoded, Format, SyntaxError, decode_labels, decode_str};

const INPUTS: [&str; 4] = ["input.yml", "input.yaml", "input.toml", "input.labels"];

fn decoded_json(decoded: &Decoded) -> Value {
    let problems: Vec<Value> = decoded
        .problems
        .iter()
        .map(|p| {
            let mut value = serde_json::to_value(p).unwrap_or(Value::Null);
            // The rendered form is what users see; keeping it in the file makes review easy.
            if let Value::Object(map) = &mut value {
                map.insert("display".to_owned(), Value::String(p.to_string()));
            }
            value
        })
        .collect();
    json!({ "config": decoded.config, "problems": problems })
}

fn syntax_json(err: &SyntaxError) -> Value {
    json!({ "syntaxError": { "line": err.line, "column": err.column, "message": err.message, "display": err.to_string() } })
}

fn decode_input(path: &Path) -> Value {
    let text = fs::read_to_string(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    if path.extension().is_some_and(|e| e == "labels") {
        let labels: Vec<(&str, &str)> = text
            .lines()
            .map(str::trim)
            .filter(|l| !l.is_empty() && !l.starts_with('#'))
            .map(|l| l.split_once('=').unwrap_or((l, "")))
            .collect();
        return decoded_json(&decode_labels(labels));
    }
    let format =
        Format::from_path(path).unwrap_or_else(|| panic!("{}: unknown format", path.display()));
    match decode_str(&text, format) {
        Ok(decoded) => decoded_json(&decoded),
        Err(err) => syntax_json(&err),
    }
}

fn cases() -> Vec<PathBuf> {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/golden");
    let mut cases: Vec<PathBuf> = fs::read_dir(&root)
        .unwrap_or_else(|e| panic!("{}: {e}", root.display()))
        .filter_map(|entry| entry.ok().map(|e| e.path()))
        .filter(|p| p.is_dir())
        .collect();
    cases.sort();
    cases
}

#[test]
fn golden() {
    let update = std::env::var_os("UPDATE_GOLDEN").is_some();
    let cases = cases();
    assert!(!cases.is_empty(), "no golden cases found");
    let mut failures = Vec::new();
    for case in &cases {
        let inputs: Vec<PathBuf> = INPUTS
            .iter()
            .map(|i| case.join(i))
            .filter(|p| p.exists())
            .collect();
        assert!(!inputs.is_empty(), "{}: no input file", case.display());
        let expected_path = case.join("expected.json");
        if update {
            let value = decode_input(&inputs[0]);
            let mut text = serde_json::to_string_pretty(&value).unwrap_or_default();
            text.push('\n');
            fs::write(&expected_path, text)
                .unwrap_or_else(|e| panic!("{}: {e}", expected_path.display()));
        }
        let expected_text = fs::read_to_string(&expected_path)
            .unwrap_or_else(|e| panic!("{}: {e}", expected_path.display()));
        let expected: Value = serde_json::from_str(&expected_text)
            .unwrap_or_else(|e| panic!("{}: {e}", expected_path.display()));
        for input in &inputs {
            let got = decode_input(input);
            if got != expected {
                failures.push(format!(
                    "{}:\n--- expected\n{}\n--- got\n{}",
                    input.display(),
                    serde_json::to_string_pretty(&expected).unwrap_or_default(),
                    serde_json::to_string_pretty(&got).unwrap_or_default()
                ));
            }
        }
    }
    assert!(
        failures.is_empty(),
        "{} golden mismatches:\n{}",
        failures.len(),
        failures.join("\n\n")
    );
}
