//! The `switchyard` binary as a user runs it.

use std::io::Write as _;
use std::path::PathBuf;
use std::process::{Command, Stdio};

fn fixture(name: &str) -> String {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures")
        .join(name)
        .display()
        .to_string()
}

struct Output {
    code: i32,
    stdout: String,
    stderr: String,
}

fn run(args: &[&str], stdin: &[u8]) -> Output {
    let mut child = Command::new(env!("CARGO_BIN_EXE_switchyard"))
        .args(args)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("spawn switchyard");
    child
        .stdin
        .take()
        .expect("stdin")
        .write_all(stdin)
        .expect("write stdin");
    let out = child.wait_with_output().expect("wait");
    Output {
        code: out.status.code().unwrap_or(-1),
        stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
        stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
    }
}

#[test]
fn validate_clean_files_exit_zero() {
    let out = run(
        &["validate", &fixture("clean.yml"), &fixture("clean.toml")],
        b"",
    );
    assert_eq!((out.code, out.stdout.as_str()), (0, ""), "{}", out.stderr);
}

#[test]
fn validate_reports_every_problem_one_line_each() {
    let out = run(&["validate", &fixture("broken.yml")], b"");
    assert_eq!(out.code, 1);
    assert_eq!(
        out.stdout.lines().collect::<Vec<_>>(),
        [
            "http.routers.api@file: service \"nope\" does not exist",
            "http.routers.paren@file.rule: expected ')' at column 25",
        ]
    );
}

#[test]
fn validate_names_the_file_and_line_of_a_syntax_error() {
    let path = fixture("syntax.yml");
    let out = run(&["validate", &path, &fixture("clean.yml")], b"");
    assert_eq!(out.code, 1);
    let lines: Vec<_> = out.stdout.lines().collect();
    assert_eq!(lines.len(), 1, "{}", out.stdout);
    assert!(
        lines[0].starts_with(&format!("{path}: line 5")),
        "{}",
        lines[0]
    );
}

#[test]
fn validate_reports_duplicates_across_files() {
    let out = run(
        &["validate", &fixture("clean.yml"), &fixture("clean.yml")],
        b"",
    );
    assert_eq!(out.code, 1);
    assert!(
        out.stdout.contains("http.routers.api: defined in both"),
        "{}",
        out.stdout
    );
}

fn explain(args: &[&str], head: &str) -> Output {
    let mut all = vec!["explain", "--json"];
    all.extend_from_slice(args);
    run(&all, head.as_bytes())
}

#[test]
fn explain_answers_json() {
    let yml = fixture("clean.yml");
    let toml = fixture("clean.toml");
    let cases: [(&str, Vec<&str>, &str, &str); 10] = [
        (
            "host",
            vec![],
            "GET / HTTP/1.1\r\nHost: whoami.localhost\r\n\r\n",
            r#"{"router":"whoami@file","service":"whoami@file","status":200}"#,
        ),
        (
            "longer rule wins, host case and port ignored",
            vec![],
            "GET /api/users HTTP/1.1\r\nHost: WHOAMI.localhost:8080\r\n\r\n",
            r#"{"router":"api@file","service":"whoami@file","status":200}"#,
        ),
        (
            "dot segments resolved before routing",
            vec![],
            "GET /x/../api HTTP/1.1\r\nHost: whoami.localhost\r\n\r\n",
            r#"{"router":"api@file","service":"whoami@file","status":200}"#,
        ),
        (
            "encoded slash stays encoded",
            vec![],
            "GET /%61pi%2Fx HTTP/1.1\r\nHost: whoami.localhost\r\n\r\n",
            r#"{"router":"api@file","service":"whoami@file","status":200}"#,
        ),
        (
            "wildcard",
            vec![],
            "GET / HTTP/1.1\r\nHost: shop.apps.test\r\n\r\n",
            r#"{"router":"wildcard@file","service":"whoami@file","status":200}"#,
        ),
        (
            "query and header",
            vec![],
            "GET /?mobile HTTP/1.1\r\nHost: any\r\nX-Tenant: blue\r\n\r\n",
            r#"{"router":"mobile@file","service":"whoami@file","status":200}"#,
        ),
        (
            "no router",
            vec![],
            "GET / HTTP/1.1\r\nHost: nothing.test\r\n\r\n",
            r#"{"router":null,"service":null,"status":404}"#,
        ),
        (
            "fragment is a bad request",
            vec![],
            "GET /a#b HTTP/1.1\r\nHost: whoami.localhost\r\n\r\n",
            r#"{"router":null,"service":null,"status":400}"#,
        ),
        (
            "client ip",
            vec!["--client-ip", "10.1.2.3"],
            "GET / HTTP/1.1\r\nHost: admin.localhost\r\n\r\n",
            r#"{"router":"admin@file","service":"admin@file","status":200}"#,
        ),
        (
            "client ip outside the range",
            vec!["--client-ip", "192.168.1.1"],
            "GET / HTTP/1.1\r\nHost: admin.localhost\r\n\r\n",
            r#"{"router":null,"service":null,"status":404}"#,
        ),
    ];
    for (case, extra, head, expected) in cases {
        let mut args = vec!["--config", yml.as_str(), "--config", toml.as_str()];
        args.extend(extra);
        let out = explain(&args, head);
        assert_eq!(out.code, 0, "{case}: {}", out.stderr);
        assert_eq!(out.stdout.trim(), expected, "{case}");
    }
}

#[test]
fn explain_with_several_providers_breaks_ties_by_provider_precedence() {
    let docker = format!("docker={}", fixture("docker.yml"));
    let out = explain(
        &["--config", &docker, "--config", &fixture("clean.yml")],
        "GET / HTTP/1.1\r\nHost: whoami.localhost\r\n\r\n",
    );
    assert_eq!(
        out.stdout.trim(),
        r#"{"router":"whoami@file","service":"whoami@file","status":200}"#
    );
}

#[test]
fn explain_says_why_in_text() {
    let out = run(
        &["explain", "--config", &fixture("clean.yml")],
        b"GET /api HTTP/1.1\r\nHost: whoami.localhost\r\n\r\n",
    );
    assert_eq!(
        out.stdout.trim(),
        "200: router api@file (priority 46) -> service whoami@file"
    );
}

#[test]
fn explain_exits_2_on_unusable_input() {
    let cases: [(&str, Vec<String>, &str); 3] = [
        (
            "garbage head",
            vec!["--config".into(), fixture("clean.yml")],
            "garbage\r\n\r\n",
        ),
        (
            "missing file",
            vec!["--config".into(), fixture("does-not-exist.yml")],
            "GET / HTTP/1.1\r\n\r\n",
        ),
        (
            "syntax error",
            vec!["--config".into(), fixture("syntax.yml")],
            "GET / HTTP/1.1\r\n\r\n",
        ),
    ];
    for (case, args, head) in cases {
        let args: Vec<&str> = args.iter().map(String::as_str).collect();
        let out = explain(&args, head);
        assert_eq!(out.code, 2, "{case}");
        assert!(!out.stderr.is_empty(), "{case}: a reason on stderr");
    }
}
