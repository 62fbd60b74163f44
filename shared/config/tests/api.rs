//! The public entry points: formats, files and error rendering.

use std::path::{Path, PathBuf};

use switchyard_config::{FileError, Format, SyntaxError, decode_file, decode_labels};

#[test]
fn format_from_path() {
    let cases = [
        ("yml", "dynamic.yml", Some(Format::Yaml)),
        ("yaml", "conf.d/dynamic.yaml", Some(Format::Yaml)),
        ("upper case", "DYNAMIC.YML", Some(Format::Yaml)),
        (
            "json is read as yaml, as Traefik does",
            "dynamic.json",
            Some(Format::Yaml),
        ),
        ("toml", "dynamic.toml", Some(Format::Toml)),
        ("other", "dynamic.conf", None),
        ("no extension", "dynamic", None),
    ];
    for (case, path, expected) in cases {
        assert_eq!(Format::from_path(Path::new(path)), expected, "{case}");
    }
}

#[test]
fn syntax_error_display() {
    let cases = [
        ("line and column", Some(3), Some(7), "line 3, column 7: bad"),
        ("line only", Some(3), None, "line 3: bad"),
        ("no position", None, None, "bad"),
    ];
    for (case, line, column, expected) in cases {
        let err = SyntaxError {
            line,
            column,
            message: "bad".to_owned(),
        };
        assert_eq!(err.to_string(), expected, "{case}");
    }
}

/// A scratch file unique to this test process, removed on drop.
struct Scratch(PathBuf);

impl Scratch {
    fn new(name: &str, content: &str) -> Scratch {
        let dir =
            std::env::temp_dir().join(format!("switchyard-config-api-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap_or_else(|e| panic!("{}: {e}", dir.display()));
        let path = dir.join(name);
        std::fs::write(&path, content).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
        Scratch(path)
    }
}

impl Drop for Scratch {
    fn drop(&mut self) {
        let _ = std::fs::remove_file(&self.0);
    }
}

#[test]
fn decode_file_reads_by_extension() {
    let yaml = Scratch::new(
        "ok.yml",
        "http:\n  routers:\n    r:\n      rule: Host(`a`)\n      service: s\n",
    );
    let toml = Scratch::new(
        "ok.toml",
        "[http.routers.r]\nrule = \"Host(`a`)\"\nservice = \"s\"\n",
    );
    let from_yaml = decode_file(&yaml.0).unwrap_or_else(|e| panic!("{e}"));
    let from_toml = decode_file(&toml.0).unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(from_yaml, from_toml);
    assert_eq!(from_yaml.config.http.routers["r"].rule, "Host(`a`)");
    assert!(from_yaml.problems.is_empty());
}

#[test]
fn file_errors_name_the_file() {
    let bad = Scratch::new("bad.yml", "http:\n  routers: [\n");
    let other = Scratch::new("dynamic.conf", "");
    let missing = std::env::temp_dir().join("switchyard-config-api-missing/none.yml");

    let err = decode_file(&bad.0).expect_err("syntax error");
    assert!(matches!(err, FileError::Syntax { .. }), "{err:?}");
    let shown = err.to_string();
    assert!(
        shown.starts_with(&format!("{}: line 3, column 1: ", bad.0.display())),
        "{shown}"
    );
    assert_eq!(err.path(), bad.0.as_path());

    let err = decode_file(&other.0).expect_err("unknown format");
    assert!(matches!(err, FileError::UnknownFormat { .. }), "{err:?}");
    assert!(
        err.to_string().starts_with(&other.0.display().to_string()),
        "{err}"
    );

    let err = decode_file(&missing).expect_err("missing file");
    assert!(matches!(err, FileError::Read { .. }), "{err:?}");
    assert!(
        err.to_string().starts_with(&missing.display().to_string()),
        "{err}"
    );
}

#[test]
fn labels_without_dynamic_configuration_decode_to_nothing() {
    let decoded = decode_labels([("traefik.enable", "true"), ("com.example.x", "y")]);
    assert!(decoded.config.is_empty());
    assert!(decoded.problems.is_empty());
}
