//! Golden tests of the build: every folder of `tests/golden/` holds `containers.json`
//! (an array of `docker inspect` objects, trimmed to the fields the provider reads), an
//! optional `options.json` (the provider's options, Traefik's names) and `expected.json`
//! (the snapshot). `UPDATE_GOLDEN=1` rewrites the expected files (review them by hand).

use std::path::{Path, PathBuf};

use bollard::models::ContainerInspectResponse;
use serde_json::Value;
use switchyard_discovery_docker::{ContainerInfo, DockerOptions, build};

fn read(path: &Path) -> String {
    std::fs::read_to_string(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

/// The snapshot of one case, as JSON.
fn run_case(dir: &Path) -> Value {
    let inspected: Vec<ContainerInspectResponse> =
        serde_json::from_str(&read(&dir.join("containers.json")))
            .unwrap_or_else(|e| panic!("{}: containers.json: {e}", dir.display()));
    let containers: Vec<ContainerInfo> = inspected
        .into_iter()
        .map(ContainerInfo::try_from)
        .collect::<Result<_, _>>()
        .unwrap_or_else(|e| panic!("{}: {e}", dir.display()));
    let options_path = dir.join("options.json");
    let options: DockerOptions = if options_path.exists() {
        serde_json::from_str(&read(&options_path))
            .unwrap_or_else(|e| panic!("{}: options.json: {e}", dir.display()))
    } else {
        DockerOptions::default()
    };
    let snapshot = build(&containers, &options);
    serde_json::json!({
        "config": snapshot.config,
        "problems": snapshot.problems,
        "errors": snapshot.errors,
    })
}

fn cases() -> Vec<PathBuf> {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/golden");
    let mut dirs: Vec<PathBuf> = std::fs::read_dir(&root)
        .unwrap_or_else(|e| panic!("{}: {e}", root.display()))
        .filter_map(Result::ok)
        .map(|e| e.path())
        .filter(|p| p.is_dir())
        .collect();
    dirs.sort();
    dirs
}

#[test]
fn golden() {
    let update = std::env::var_os("UPDATE_GOLDEN").is_some();
    let cases = cases();
    assert!(cases.len() >= 20, "golden cases missing: {cases:?}");
    let mut failures = Vec::new();
    for dir in cases {
        let actual = run_case(&dir);
        let expected_path = dir.join("expected.json");
        let pretty = serde_json::to_string_pretty(&actual).unwrap_or_default() + "\n";
        if update {
            std::fs::write(&expected_path, &pretty)
                .unwrap_or_else(|e| panic!("{}: {e}", expected_path.display()));
            continue;
        }
        if !expected_path.exists() {
            failures.push(format!("{}: no expected.json", dir.display()));
            continue;
        }
        let expected: Value = serde_json::from_str(&read(&expected_path))
            .unwrap_or_else(|e| panic!("{}: {e}", expected_path.display()));
        if expected != actual {
            failures.push(format!("{}: got\n{pretty}", dir.display()));
        }
    }
    assert!(
        failures.is_empty(),
        "{} golden case(s) differ (UPDATE_GOLDEN=1 rewrites them):\n{}",
        failures.len(),
        failures.join("\n")
    );
}

/// Building twice, or from the containers in another order, gives the same snapshot.
#[test]
fn build_is_deterministic_and_order_independent() {
    for dir in cases() {
        let first = run_case(&dir);
        assert_eq!(first, run_case(&dir), "{}", dir.display());
        let inspected: Vec<ContainerInspectResponse> =
            serde_json::from_str(&read(&dir.join("containers.json"))).unwrap_or_default();
        let mut containers: Vec<ContainerInfo> = inspected
            .into_iter()
            .filter_map(|c| ContainerInfo::try_from(c).ok())
            .collect();
        containers.reverse();
        let options: DockerOptions = std::fs::read_to_string(dir.join("options.json"))
            .ok()
            .and_then(|t| serde_json::from_str(&t).ok())
            .unwrap_or_default();
        let snapshot = build(&containers, &options);
        let reversed = serde_json::json!({
            "config": snapshot.config,
            "problems": snapshot.problems,
            "errors": snapshot.errors,
        });
        assert_eq!(first, reversed, "{}", dir.display());
    }
}
