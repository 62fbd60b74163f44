//! A syntax-independent configuration tree, and its builders for YAML and TOML text.
//!
//! Traefik's file provider first turns a file into untyped nodes and only then fills typed
//! structs; this module is the first half of that: every source ends up as a [`Node`].

use std::fmt;

use crate::SyntaxError;

/// Deepest nesting accepted from any source; real configurations stay far below it, and
/// the limit keeps recursive processing of hostile input off the end of the stack.
pub const MAX_DEPTH: usize = 64;

/// One value of a configuration tree.
#[derive(Debug, Clone, PartialEq)]
pub enum Node {
    /// Keyed entries in source order; keys are kept exactly as written.
    Map(Vec<(String, Node)>),
    /// An ordered list.
    List(Vec<Node>),
    /// A leaf value.
    Scalar(Scalar),
}

/// A leaf value. Labels only ever produce [`Scalar::Str`]; YAML and TOML keep their types.
#[derive(Debug, Clone, PartialEq)]
pub enum Scalar {
    /// An explicit null (YAML `~`, `null` or an empty value).
    Null,
    /// A boolean.
    Bool(bool),
    /// A signed integer.
    Int(i64),
    /// An unsigned integer too large for `i64`.
    UInt(u64),
    /// A floating-point number.
    Float(f64),
    /// A string.
    Str(String),
}

impl Scalar {
    /// The value as text, the way Traefik's node parser stringifies it before converting it
    /// to the target type; `None` for null.
    pub fn text(&self) -> Option<String> {
        Some(match self {
            Scalar::Null => return None,
            Scalar::Bool(b) => b.to_string(),
            Scalar::Int(i) => i.to_string(),
            Scalar::UInt(u) => u.to_string(),
            Scalar::Float(f) => go_float_text(*f),
            Scalar::Str(s) => s.clone(),
        })
    }
}

/// Formats a float like paerser does (`strconv.FormatFloat(f, 'f', 6, 64)` with a
/// `.000000` suffix trimmed), so `8080.0` still reads as the integer `8080`.
fn go_float_text(f: f64) -> String {
    if f.is_nan() {
        return "NaN".to_owned();
    }
    if f.is_infinite() {
        return if f > 0.0 { "+Inf" } else { "-Inf" }.to_owned();
    }
    let text = format!("{f:.6}");
    match text.strip_suffix(".000000") {
        Some(whole) => whole.to_owned(),
        None => text,
    }
}

impl Node {
    /// Shorthand for a string leaf.
    pub fn str(value: impl Into<String>) -> Node {
        Node::Scalar(Scalar::Str(value.into()))
    }

    /// A short description of the node's shape for error messages.
    pub fn describe(&self) -> String {
        match self {
            Node::Map(_) => "a map".to_owned(),
            Node::List(_) => "a list".to_owned(),
            Node::Scalar(Scalar::Null) => "null".to_owned(),
            Node::Scalar(s) => format!("{:?}", s.text().unwrap_or_default()),
        }
    }

    /// Parses YAML text into a tree. An empty document is an empty map.
    ///
    /// Null map values are dropped, as Traefik skips them; merge keys (`<<`) are applied.
    pub fn from_yaml(text: &str) -> Result<Node, SyntaxError> {
        let mut value: serde_norway::Value =
            serde_norway::from_str(text).map_err(yaml_syntax_error)?;
        value.apply_merge().map_err(yaml_syntax_error)?;
        let node = yaml_node(value, 0)?;
        root_map(node)
    }

    /// Parses TOML text into a tree. An empty document is an empty map.
    pub fn from_toml(text: &str) -> Result<Node, SyntaxError> {
        let table: toml::Table = toml::from_str(text).map_err(|e| {
            let (line, column) = match e.span() {
                Some(span) => {
                    let (line, column) = line_column(text, span.start);
                    (Some(line), Some(column))
                }
                None => (None, None),
            };
            SyntaxError {
                line,
                column,
                message: e.message().trim().to_owned(),
            }
        })?;
        toml_table(table, 0)
    }
}

impl fmt::Display for Node {
    /// Renders the tree compactly (JSON-like), for test failures and diagnostics.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Node::Map(entries) => {
                f.write_str("{")?;
                for (i, (k, v)) in entries.iter().enumerate() {
                    if i > 0 {
                        f.write_str(", ")?;
                    }
                    write!(f, "{k:?}: {v}")?;
                }
                f.write_str("}")
            }
            Node::List(items) => {
                f.write_str("[")?;
                for (i, v) in items.iter().enumerate() {
                    if i > 0 {
                        f.write_str(", ")?;
                    }
                    write!(f, "{v}")?;
                }
                f.write_str("]")
            }
            Node::Scalar(Scalar::Null) => f.write_str("null"),
            Node::Scalar(Scalar::Str(s)) => write!(f, "{s:?}"),
            Node::Scalar(s) => f.write_str(&s.text().unwrap_or_default()),
        }
    }
}

/// 1-based line and column (in characters) of a byte offset.
fn line_column(text: &str, offset: usize) -> (usize, usize) {
    let mut offset = offset.min(text.len());
    while !text.is_char_boundary(offset) {
        offset -= 1;
    }
    let before = &text[..offset];
    let line = before.matches('\n').count() + 1;
    let line_start = before.rfind('\n').map_or(0, |i| i + 1);
    let column = before[line_start..].chars().count() + 1;
    (line, column)
}

fn yaml_syntax_error(e: serde_norway::Error) -> SyntaxError {
    let location = e.location();
    let mut message = e.to_string();
    if let Some(loc) = &location {
        // The library bakes the position into its message; it is reported separately.
        let suffix = format!(" at line {} column {}", loc.line(), loc.column());
        message = message.replacen(&suffix, "", 1);
    }
    SyntaxError {
        line: location.as_ref().map(|l| l.line()),
        column: location.as_ref().map(|l| l.column()),
        message,
    }
}

fn too_deep() -> SyntaxError {
    SyntaxError {
        line: None,
        column: None,
        message: format!("the document is nested deeper than {MAX_DEPTH} levels"),
    }
}

fn root_map(node: Node) -> Result<Node, SyntaxError> {
    match node {
        Node::Map(_) => Ok(node),
        Node::Scalar(Scalar::Null) => Ok(Node::Map(Vec::new())),
        other => Err(SyntaxError {
            line: None,
            column: None,
            message: format!(
                "the document must be a map of sections (http, tcp, udp, tls), found {}",
                other.describe()
            ),
        }),
    }
}

fn yaml_node(value: serde_norway::Value, depth: usize) -> Result<Node, SyntaxError> {
    use serde_norway::Value;
    if depth > MAX_DEPTH {
        return Err(too_deep());
    }
    Ok(match value {
        Value::Null => Node::Scalar(Scalar::Null),
        Value::Bool(b) => Node::Scalar(Scalar::Bool(b)),
        Value::Number(n) => Node::Scalar(if let Some(i) = n.as_i64() {
            Scalar::Int(i)
        } else if let Some(u) = n.as_u64() {
            Scalar::UInt(u)
        } else {
            Scalar::Float(n.as_f64().unwrap_or(f64::NAN))
        }),
        Value::String(s) => Node::Scalar(Scalar::Str(s)),
        Value::Sequence(items) => Node::List(
            items
                .into_iter()
                .map(|v| yaml_node(v, depth + 1))
                .collect::<Result<_, _>>()?,
        ),
        Value::Mapping(mapping) => {
            let mut entries = Vec::with_capacity(mapping.len());
            for (k, v) in mapping {
                let key = match yaml_node(k, depth + 1)? {
                    Node::Scalar(s) if s != Scalar::Null => s.text().unwrap_or_default(),
                    other => {
                        return Err(SyntaxError {
                            line: None,
                            column: None,
                            message: format!(
                                "a map key must be a plain value, found {}",
                                other.describe()
                            ),
                        });
                    }
                };
                // Traefik skips entries whose value is null (`key:` with nothing after it).
                if matches!(v, Value::Null) {
                    continue;
                }
                entries.push((key, yaml_node(v, depth + 1)?));
            }
            Node::Map(entries)
        }
        Value::Tagged(tagged) => yaml_node(tagged.value, depth)?,
    })
}

fn toml_table(table: toml::Table, depth: usize) -> Result<Node, SyntaxError> {
    if depth > MAX_DEPTH {
        return Err(too_deep());
    }
    let mut entries = Vec::with_capacity(table.len());
    for (k, v) in table {
        entries.push((k, toml_node(v, depth + 1)?));
    }
    Ok(Node::Map(entries))
}

fn toml_node(value: toml::Value, depth: usize) -> Result<Node, SyntaxError> {
    use toml::Value;
    if depth > MAX_DEPTH {
        return Err(too_deep());
    }
    Ok(match value {
        Value::String(s) => Node::Scalar(Scalar::Str(s)),
        Value::Integer(i) => Node::Scalar(Scalar::Int(i)),
        Value::Float(f) => Node::Scalar(Scalar::Float(f)),
        Value::Boolean(b) => Node::Scalar(Scalar::Bool(b)),
        Value::Datetime(d) => Node::Scalar(Scalar::Str(d.to_string())),
        Value::Array(items) => Node::List(
            items
                .into_iter()
                .map(|v| toml_node(v, depth + 1))
                .collect::<Result<_, _>>()?,
        ),
        Value::Table(t) => toml_table(t, depth)?,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn map(entries: Vec<(&str, Node)>) -> Node {
        Node::Map(
            entries
                .into_iter()
                .map(|(k, v)| (k.to_owned(), v))
                .collect(),
        )
    }

    fn int(i: i64) -> Node {
        Node::Scalar(Scalar::Int(i))
    }

    #[test]
    fn yaml_builds_nodes() {
        let cases: Vec<(&str, &str, Node)> = vec![
            ("empty text", "", map(vec![])),
            ("comment only", "# nothing\n", map(vec![])),
            ("document marker only", "---\n", map(vec![])),
            (
                "nested map keeps order and key case",
                "http:\n  Routers:\n    B: 1\n    a: 2\n",
                map(vec![(
                    "http",
                    map(vec![("Routers", map(vec![("B", int(1)), ("a", int(2))]))]),
                )]),
            ),
            (
                "null values are dropped",
                "a:\nb: ~\nc: 3\n",
                map(vec![("c", int(3))]),
            ),
            (
                "scalar kinds",
                "s: x\nb: true\nf: 1.5\nu: 18446744073709551615\n",
                map(vec![
                    ("s", Node::str("x")),
                    ("b", Node::Scalar(Scalar::Bool(true))),
                    ("f", Node::Scalar(Scalar::Float(1.5))),
                    ("u", Node::Scalar(Scalar::UInt(u64::MAX))),
                ]),
            ),
            (
                "lists and non-string keys",
                "l: [a, 1]\n200: ok\n",
                map(vec![
                    ("l", Node::List(vec![Node::str("a"), int(1)])),
                    ("200", Node::str("ok")),
                ]),
            ),
            (
                "merge keys are applied",
                "base: &b {x: 1}\nc:\n  <<: *b\n  y: 2\n",
                map(vec![
                    ("base", map(vec![("x", int(1))])),
                    ("c", map(vec![("y", int(2)), ("x", int(1))])),
                ]),
            ),
            ("tags are ignored", "a: !Foo 3\n", map(vec![("a", int(3))])),
        ];
        for (case, text, expected) in cases {
            let got = Node::from_yaml(text).unwrap_or_else(|e| panic!("{case}: {e}"));
            assert_eq!(got, expected, "{case}: got {got}");
        }
    }

    #[test]
    fn yaml_syntax_errors_have_positions() {
        // (case, text, line, column, message)
        type Case<'a> = (&'a str, &'a str, Option<usize>, Option<usize>, &'a str);
        let cases: Vec<Case> = vec![
            (
                "bad indentation",
                "a: 1\n  b: 2\n",
                Some(2),
                Some(4),
                "mapping values are not allowed",
            ),
            (
                "unclosed flow",
                "a: 1\nb: [\n",
                Some(3),
                Some(1),
                "did not find expected node content",
            ),
            (
                "duplicate key",
                "a: 1\na: 2\n",
                Some(1),
                Some(1),
                "duplicate entry",
            ),
            ("list document", "- a\n- b\n", None, None, "must be a map"),
            ("scalar document", "hello\n", None, None, "must be a map"),
            (
                "complex key",
                "? [a]\n: 1\n",
                None,
                None,
                "map key must be a plain value",
            ),
        ];
        for (case, text, line, column, message) in cases {
            let err = Node::from_yaml(text).expect_err(case);
            assert_eq!((err.line, err.column), (line, column), "{case}: {err}");
            assert!(err.message.contains(message), "{case}: {err}");
            assert!(
                !err.message.contains(" at line "),
                "{case}: position left in message: {err}"
            );
        }
    }

    #[test]
    fn toml_builds_nodes() {
        let cases: Vec<(&str, &str, Node)> = vec![
            ("empty text", "", map(vec![])),
            (
                "tables and arrays",
                "[http.routers.r]\nentryPoints = [\"web\"]\npriority = 3\n",
                map(vec![(
                    "http",
                    map(vec![(
                        "routers",
                        map(vec![(
                            "r",
                            map(vec![
                                ("entryPoints", Node::List(vec![Node::str("web")])),
                                ("priority", int(3)),
                            ]),
                        )]),
                    )]),
                )]),
            ),
            (
                "array of tables",
                "[[a]]\nx = 1\n[[a]]\nx = 2.5\n",
                map(vec![(
                    "a",
                    Node::List(vec![
                        map(vec![("x", int(1))]),
                        map(vec![("x", Node::Scalar(Scalar::Float(2.5)))]),
                    ]),
                )]),
            ),
            (
                "datetimes become strings",
                "d = 1979-05-27T07:32:00Z\n",
                map(vec![("d", Node::str("1979-05-27T07:32:00Z"))]),
            ),
        ];
        for (case, text, expected) in cases {
            let got = Node::from_toml(text).unwrap_or_else(|e| panic!("{case}: {e}"));
            assert_eq!(got, expected, "{case}: got {got}");
        }
    }

    #[test]
    fn toml_syntax_errors_have_positions() {
        let cases: Vec<(&str, &str, usize, usize, &str)> = vec![
            ("unclosed table", "a = 1\n[b\n", 2, 3, "unclosed table"),
            ("duplicate key", "a = 1\na = 2\n", 2, 1, "duplicate key"),
            (
                "non-ascii before error",
                "é = 1\n[x\n",
                2,
                3,
                "unclosed table",
            ),
        ];
        for (case, text, line, column, message) in cases {
            let err = Node::from_toml(text).expect_err(case);
            assert_eq!(
                (err.line, err.column),
                (Some(line), Some(column)),
                "{case}: {err}"
            );
            assert!(err.message.contains(message), "{case}: {err}");
        }
    }

    #[test]
    fn deep_nesting_is_rejected() {
        let yaml = format!(
            "{}1{}",
            "[".repeat(MAX_DEPTH + 5),
            "]".repeat(MAX_DEPTH + 5)
        );
        let text = format!("a: {yaml}\n");
        let err = Node::from_yaml(&text).expect_err("too deep");
        assert!(err.message.contains("nested deeper"), "{err}");
        let toml = format!(
            "a = {}1{}\n",
            "[".repeat(MAX_DEPTH + 5),
            "]".repeat(MAX_DEPTH + 5)
        );
        let err = Node::from_toml(&toml).expect_err("too deep");
        assert!(
            err.message.contains("nested deeper") || err.line.is_some(),
            "{err}"
        );
    }

    #[test]
    fn scalar_text_matches_go_formatting() {
        let cases = [
            ("integral float", Scalar::Float(8080.0), Some("8080")),
            ("fractional float", Scalar::Float(1.5), Some("1.500000")),
            ("negative", Scalar::Int(-3), Some("-3")),
            ("bool", Scalar::Bool(false), Some("false")),
            ("null", Scalar::Null, None),
            ("infinity", Scalar::Float(f64::INFINITY), Some("+Inf")),
        ];
        for (case, scalar, expected) in cases {
            assert_eq!(scalar.text().as_deref(), expected, "{case}");
        }
    }
}
