//! Traefik's constraints expressions on container labels: ``Label(`k`, `v`)``,
//! ``LabelRegex(`k`, `re`)``, combined with `&&`, `||`, `!` and parentheses.
//!
//! Strings are Go literals (`"..."` with escapes, or backquoted). `LabelRegex` matches
//! anywhere in the value, as Go's `regexp.MatchString` does. Unlike Traefik, which finds
//! a bad expression or regular expression only when matching (and then drops every
//! container), both are rejected when parsed, naming the column.

use std::collections::BTreeMap;
use std::fmt;
use std::str::FromStr;

use regex::Regex;

use crate::golit::{describe_position, read_string};

/// A constraints expression that does not parse: where and why.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{position}: {message}")]
pub struct ConstraintsError {
    /// `column N`.
    pub position: String,
    /// What is wrong.
    pub message: String,
}

/// A parsed constraints expression.
#[derive(Debug, Clone)]
pub struct Constraints {
    source: String,
    expr: Expr,
}

impl PartialEq for Constraints {
    fn eq(&self, other: &Self) -> bool {
        self.source == other.source
    }
}

impl Eq for Constraints {}

impl fmt::Display for Constraints {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.source)
    }
}

impl FromStr for Constraints {
    type Err = ConstraintsError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Constraints::parse(s)
    }
}

impl<'de> serde::Deserialize<'de> for Constraints {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let text = String::deserialize(deserializer)?;
        Constraints::parse(&text).map_err(serde::de::Error::custom)
    }
}

#[derive(Debug, Clone)]
enum Expr {
    /// Matches everything (the empty expression).
    True,
    Label(String, String),
    LabelRegex(String, Regex),
    Not(Box<Expr>),
    And(Box<Expr>, Box<Expr>),
    Or(Box<Expr>, Box<Expr>),
}

impl Expr {
    fn matches(&self, labels: &BTreeMap<String, String>) -> bool {
        let value = |name: &str| labels.get(name).map_or("", String::as_str);
        match self {
            Expr::True => true,
            Expr::Label(name, expected) => value(name) == expected,
            Expr::LabelRegex(name, regex) => regex.is_match(value(name)),
            Expr::Not(e) => !e.matches(labels),
            Expr::And(a, b) => a.matches(labels) && b.matches(labels),
            Expr::Or(a, b) => a.matches(labels) || b.matches(labels),
        }
    }
}

impl Constraints {
    /// Parses an expression; an empty (or blank) one matches every container.
    pub fn parse(source: &str) -> Result<Constraints, ConstraintsError> {
        let expr = if source.trim().is_empty() {
            Expr::True
        } else {
            let tokens = lex(source)?;
            let mut parser = Parser {
                src: source,
                tokens,
                next: 0,
            };
            let expr = parser.or()?;
            if let Some((at, token)) = parser.tokens.get(parser.next) {
                return Err(error(
                    source,
                    *at,
                    format!("unexpected {} after the expression", token.describe()),
                ));
            }
            expr
        };
        Ok(Constraints {
            source: source.to_owned(),
            expr,
        })
    }

    /// Whether a container with `labels` passes.
    pub fn matches(&self, labels: &BTreeMap<String, String>) -> bool {
        self.expr.matches(labels)
    }

    /// The expression as given.
    pub fn as_str(&self) -> &str {
        &self.source
    }
}

fn error(src: &str, at: usize, message: impl Into<String>) -> ConstraintsError {
    ConstraintsError {
        position: describe_position(src, at),
        message: message.into(),
    }
}

#[derive(Debug, Clone, PartialEq)]
enum Token {
    Ident(String),
    Str(String),
    Open,
    Close,
    Comma,
    Not,
    And,
    Or,
}

impl Token {
    fn describe(&self) -> String {
        match self {
            Token::Ident(name) => format!("{name:?}"),
            Token::Str(s) => format!("string {s:?}"),
            Token::Open => "'('".to_owned(),
            Token::Close => "')'".to_owned(),
            Token::Comma => "','".to_owned(),
            Token::Not => "'!'".to_owned(),
            Token::And => "'&&'".to_owned(),
            Token::Or => "'||'".to_owned(),
        }
    }
}

fn lex(src: &str) -> Result<Vec<(usize, Token)>, ConstraintsError> {
    let mut tokens = Vec::new();
    let mut pos = 0;
    while let Some(c) = src[pos..].chars().next() {
        let at = pos;
        let rest = &src[pos..];
        let (token, len) = match c {
            c if c.is_whitespace() => {
                pos += c.len_utf8();
                continue;
            }
            '(' => (Token::Open, 1),
            ')' => (Token::Close, 1),
            ',' => (Token::Comma, 1),
            '!' => (Token::Not, 1),
            '&' if rest.starts_with("&&") => (Token::And, 2),
            '|' if rest.starts_with("||") => (Token::Or, 2),
            '"' | '`' => {
                let (value, end) = read_string(src, at).map_err(|(at, m)| error(src, at, m))?;
                tokens.push((at, Token::Str(value)));
                pos = end;
                continue;
            }
            c if c.is_alphabetic() || c == '_' => {
                let len = rest
                    .char_indices()
                    .find(|(_, c)| !(c.is_alphanumeric() || *c == '_'))
                    .map_or(rest.len(), |(i, _)| i);
                (Token::Ident(rest[..len].to_owned()), len)
            }
            '&' | '|' => {
                return Err(error(
                    src,
                    at,
                    format!("unexpected {c:?} (did you mean {c}{c}?)"),
                ));
            }
            '\'' => {
                return Err(error(
                    src,
                    at,
                    "strings are quoted with \" or ` (backquote), not '",
                ));
            }
            c => return Err(error(src, at, format!("unexpected character {c:?}"))),
        };
        tokens.push((at, token));
        pos += len;
    }
    Ok(tokens)
}

struct Parser<'a> {
    src: &'a str,
    tokens: Vec<(usize, Token)>,
    next: usize,
}

impl Parser<'_> {
    fn peek(&self) -> Option<&Token> {
        self.tokens.get(self.next).map(|(_, t)| t)
    }

    fn at(&self) -> usize {
        self.tokens
            .get(self.next)
            .map_or(self.src.len(), |(at, _)| *at)
    }

    fn unexpected(&self, wanted: &str) -> ConstraintsError {
        let found = self
            .peek()
            .map_or_else(|| "the end of the expression".to_owned(), Token::describe);
        error(
            self.src,
            self.at(),
            format!("expected {wanted}, found {found}"),
        )
    }

    fn or(&mut self) -> Result<Expr, ConstraintsError> {
        let mut left = self.and()?;
        while self.peek() == Some(&Token::Or) {
            self.next += 1;
            let right = self.and()?;
            left = Expr::Or(Box::new(left), Box::new(right));
        }
        Ok(left)
    }

    fn and(&mut self) -> Result<Expr, ConstraintsError> {
        let mut left = self.unary()?;
        while self.peek() == Some(&Token::And) {
            self.next += 1;
            let right = self.unary()?;
            left = Expr::And(Box::new(left), Box::new(right));
        }
        Ok(left)
    }

    fn unary(&mut self) -> Result<Expr, ConstraintsError> {
        match self.peek() {
            Some(Token::Not) => {
                self.next += 1;
                Ok(Expr::Not(Box::new(self.unary()?)))
            }
            Some(Token::Open) => {
                self.next += 1;
                let inner = self.or()?;
                if self.peek() != Some(&Token::Close) {
                    return Err(self.unexpected("')'"));
                }
                self.next += 1;
                Ok(inner)
            }
            Some(Token::Ident(_)) => self.call(),
            _ => Err(self.unexpected("Label(...), LabelRegex(...), '!' or '('")),
        }
    }

    fn call(&mut self) -> Result<Expr, ConstraintsError> {
        let name_at = self.at();
        let Some(Token::Ident(name)) = self.peek().cloned() else {
            return Err(self.unexpected("a function name"));
        };
        if name != "Label" && name != "LabelRegex" {
            return Err(error(
                self.src,
                name_at,
                format!("unsupported function {name:?} (expected Label or LabelRegex)"),
            ));
        }
        self.next += 1;
        if self.peek() != Some(&Token::Open) {
            return Err(self.unexpected(&format!("'(' after {name}")));
        }
        self.next += 1;
        let mut args: Vec<(usize, String)> = Vec::new();
        loop {
            if self.peek() == Some(&Token::Close) {
                break;
            }
            let at = self.at();
            let Some(Token::Str(value)) = self.peek().cloned() else {
                return Err(self.unexpected("a string argument"));
            };
            self.next += 1;
            args.push((at, value));
            match self.peek() {
                Some(Token::Comma) => self.next += 1,
                Some(Token::Close) => {}
                _ => return Err(self.unexpected("',' or ')'")),
            }
        }
        self.next += 1;
        let [(_, key), (value_at, value)] =
            <[(usize, String); 2]>::try_from(args).map_err(|args| {
                error(
                    self.src,
                    name_at,
                    format!(
                        "{name} takes 2 arguments (a label name and a {}), got {}",
                        if name == "Label" {
                            "value"
                        } else {
                            "regular expression"
                        },
                        args.len()
                    ),
                )
            })?;
        if name == "Label" {
            return Ok(Expr::Label(key, value));
        }
        let regex = Regex::new(&value).map_err(|e| {
            let detail = match &e {
                regex::Error::Syntax(text) => text
                    .lines()
                    .rev()
                    .find(|l| l.starts_with("error:"))
                    .map_or_else(|| text.clone(), |l| l["error:".len()..].trim().to_owned()),
                other => other.to_string(),
            };
            error(
                self.src,
                value_at,
                format!("invalid regular expression {value:?}: {detail}"),
            )
        })?;
        Ok(Expr::LabelRegex(key, regex))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn labels(pairs: &[(&str, &str)]) -> BTreeMap<String, String> {
        pairs
            .iter()
            .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
            .collect()
    }

    #[test]
    fn matches_like_traefik() {
        let hello = [("hello", "world"), ("foo", "bar")];
        type Case<'a> = (&'a str, &'a str, &'a [(&'a str, &'a str)], bool);
        let cases: [Case; 22] = [
            ("label", r#"Label("hello", "world")"#, &hello, true),
            (
                "label other value",
                r#"Label("hello", "worlds")"#,
                &hello,
                false,
            ),
            ("label missing", r#"Label("hi", "world")"#, &hello, false),
            (
                "missing label equals empty",
                r#"Label("hi", "")"#,
                &hello,
                true,
            ),
            ("not", r#"!Label("hello", "world")"#, &hello, false),
            (
                "and",
                r#"Label("hello", "world") && Label("foo", "bar")"#,
                &hello,
                true,
            ),
            (
                "and false",
                r#"Label("hello", "worlds") && Label("foo", "bar")"#,
                &hello,
                false,
            ),
            (
                "and not",
                r#"Label("hello", "world") && !Label("foo", "bar")"#,
                &hello,
                false,
            ),
            (
                "or",
                r#"Label("hello", "world") || Label("foo", "bar")"#,
                &hello,
                true,
            ),
            (
                "or one",
                r#"Label("hello", "worlds") || Label("foo", "bar")"#,
                &hello,
                true,
            ),
            (
                "or not",
                r#"Label("hello", "world") || !Label("foo", "bar")"#,
                &hello,
                true,
            ),
            ("no labels", r#"Label("hello", "bar")"#, &[], false),
            ("empty expression", "", &hello, true),
            ("blank expression", "  ", &[], true),
            ("regex", r#"LabelRegex("hello", "w\\w+")"#, &hello, true),
            (
                "regex no match",
                r#"LabelRegex("hello", "w\\w+s")"#,
                &hello,
                false,
            ),
            (
                "regex missing label",
                r#"LabelRegex("hi", "w\\w+")"#,
                &hello,
                false,
            ),
            (
                "regex not anchored",
                "LabelRegex(`hello`, `orl`)",
                &hello,
                true,
            ),
            (
                "regex anchored",
                "LabelRegex(`hello`, `^orl`)",
                &hello,
                false,
            ),
            ("backquotes", "Label(`a.b`, `c`)", &[("a.b", "c")], true),
            (
                "precedence: && binds tighter than ||",
                "Label(`a`, `1`) || Label(`b`, `1`) && Label(`c`, `1`)",
                &[("a", "1")],
                true,
            ),
            (
                "parentheses",
                "(Label(`a`, `1`) || Label(`b`, `1`)) && Label(`c`, `1`)",
                &[("a", "1")],
                false,
            ),
        ];
        for (case, expr, pairs, expected) in cases {
            let constraints = Constraints::parse(expr).unwrap_or_else(|e| panic!("{case}: {e}"));
            assert_eq!(constraints.matches(&labels(pairs)), expected, "{case}");
        }
    }

    #[test]
    fn double_negation_and_nesting() {
        let c = Constraints::parse("!!(Label(`a`, `1`))").unwrap_or_else(|e| panic!("{e}"));
        assert!(c.matches(&labels(&[("a", "1")])));
        assert!(!c.matches(&labels(&[])));
    }

    #[test]
    fn errors_name_the_column() {
        let cases = [
            (
                "one argument",
                r#"Label("hello")"#,
                "column 1: Label takes 2 arguments (a label name and a value), got 1",
            ),
            (
                "unknown function",
                r#"Foo("hello")"#,
                "column 1: unsupported function \"Foo\"",
            ),
            (
                "three arguments",
                "LabelRegex(`a`, `b`, `c`)",
                "column 1: LabelRegex takes 2 arguments (a label name and a regular expression), got 3",
            ),
            (
                "single ampersand",
                "Label(`a`, `b`) & Label(`c`, `d`)",
                "column 17: unexpected '&' (did you mean &&?)",
            ),
            (
                "missing operand",
                "Label(`a`, `b`) &&",
                "column 19: expected Label(...), LabelRegex(...), '!' or '(', found the end of the expression",
            ),
            (
                "unclosed parenthesis",
                "(Label(`a`, `b`)",
                "column 17: expected ')', found the end of the expression",
            ),
            (
                "unclosed call",
                "Label(`a`, `b`",
                "column 15: expected ',' or ')', found the end of the expression",
            ),
            (
                "not a string",
                "Label(a, `b`)",
                "column 7: expected a string argument, found \"a\"",
            ),
            (
                "single quotes",
                "Label('a', `b`)",
                "column 7: strings are quoted with \" or ` (backquote), not '",
            ),
            (
                "trailing garbage",
                "Label(`a`, `b`) Label(`c`, `d`)",
                "column 17: unexpected \"Label\" after the expression",
            ),
            (
                "unterminated string",
                "Label(`a`, \"b)",
                "column 12: unterminated string",
            ),
            (
                "bad regex",
                "LabelRegex(`a`, `(`)",
                "column 17: invalid regular expression \"(\"",
            ),
            (
                "no call",
                "Label",
                "column 6: expected '(' after Label, found the end of the expression",
            ),
            (
                "bare string",
                "`a`",
                "column 1: expected Label(...), LabelRegex(...), '!' or '(', found string \"a\"",
            ),
        ];
        for (case, expr, expected) in cases {
            match Constraints::parse(expr) {
                Ok(_) => panic!("{case}: parsed"),
                Err(err) => assert!(err.to_string().starts_with(expected), "{case}: {err}"),
            }
        }
    }

    #[test]
    fn trailing_comma_is_allowed_as_in_go() {
        let c = Constraints::parse("Label(`a`, `b`,)").unwrap_or_else(|e| panic!("{e}"));
        assert!(c.matches(&labels(&[("a", "b")])));
    }
}
