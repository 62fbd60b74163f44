//! A small subset of Go's `text/template`, enough for Traefik's `defaultRule`.
//!
//! Supported: text and `{{ }}` actions (with `{{-`/`-}}` trimming and `{{/* */}}`
//! comments); field chains on the container model (`.Name`, `.ContainerName`,
//! `.Labels`, `.Labels.key`); string literals; pipelines (`.Name | normalize`);
//! parentheses; and the functions `normalize`, `index`, and Sprig's `lower`, `upper`,
//! `trim`, `trimPrefix`, `trimSuffix` and `replace`. Anything else is rejected when the
//! template is parsed, naming the column.
//!
//! Evaluation follows Go: a missing map key read as a field prints `<no value>` and
//! cannot be passed to a function, while `index` of a missing key is the empty string.

use std::collections::BTreeMap;
use std::fmt;
use std::str::FromStr;

use crate::golit::{describe_position, read_string};

/// Traefik's default `defaultRule`.
pub const DEFAULT_RULE: &str = "Host(`{{ normalize .Name }}`)";

/// A template that does not parse: where and why.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{position}: {message}")]
pub struct TemplateError {
    /// `column N` (or `line L, column N` for multi-line templates).
    pub position: String,
    /// What is wrong.
    pub message: String,
}

/// A template that failed while rendering (a missing field, a wrong argument).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0}")]
pub struct RenderError(pub String);

/// What a template sees: Traefik's model for Docker default rules.
#[derive(Debug, Clone, Copy)]
pub struct TemplateData<'a> {
    /// `.Name`: the container's service name (normalised).
    pub name: &'a str,
    /// `.ContainerName`: the container's name without the leading `/`.
    pub container_name: &'a str,
    /// `.Labels`: all the container's labels.
    pub labels: &'a BTreeMap<String, String>,
}

/// A parsed template.
#[derive(Debug, Clone)]
pub struct Template {
    source: String,
    nodes: Vec<Node>,
}

impl PartialEq for Template {
    fn eq(&self, other: &Self) -> bool {
        self.source == other.source
    }
}

impl Eq for Template {}

impl Default for Template {
    fn default() -> Self {
        // The constant is known to parse; a failure here would be a bug caught by tests.
        Template::parse(DEFAULT_RULE).unwrap_or_else(|_| Template {
            source: String::new(),
            nodes: Vec::new(),
        })
    }
}

impl fmt::Display for Template {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.source)
    }
}

impl FromStr for Template {
    type Err = TemplateError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Template::parse(s)
    }
}

impl TryFrom<String> for Template {
    type Error = TemplateError;

    fn try_from(s: String) -> Result<Self, Self::Error> {
        Template::parse(&s)
    }
}

impl<'de> serde::Deserialize<'de> for Template {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let text = String::deserialize(deserializer)?;
        Template::parse(&text).map_err(serde::de::Error::custom)
    }
}

#[derive(Debug, Clone)]
enum Node {
    Text(String),
    Action(Pipeline),
}

#[derive(Debug, Clone)]
struct Pipeline {
    commands: Vec<Command>,
}

#[derive(Debug, Clone)]
struct Command {
    args: Vec<Arg>,
}

#[derive(Debug, Clone)]
enum Arg {
    /// `.` followed by zero or more field names.
    Field(Vec<String>),
    Str(String),
    Func(Func),
    Sub(Pipeline),
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Func {
    Normalize,
    Index,
    Lower,
    Upper,
    Trim,
    TrimPrefix,
    TrimSuffix,
    Replace,
}

impl Func {
    const ALL: [(&'static str, Func); 8] = [
        ("normalize", Func::Normalize),
        ("index", Func::Index),
        ("lower", Func::Lower),
        ("upper", Func::Upper),
        ("trim", Func::Trim),
        ("trimPrefix", Func::TrimPrefix),
        ("trimSuffix", Func::TrimSuffix),
        ("replace", Func::Replace),
    ];

    fn lookup(name: &str) -> Option<Func> {
        Func::ALL.iter().find(|(n, _)| *n == name).map(|(_, f)| *f)
    }

    fn name(self) -> &'static str {
        Func::ALL
            .iter()
            .find(|(_, f)| *f == self)
            .map_or("?", |(n, _)| n)
    }
}

/// Tokens inside an action.
#[derive(Debug, Clone, PartialEq)]
enum Token {
    Field(Vec<String>),
    Ident(String),
    Str(String),
    Pipe,
    Open,
    Close,
    End,
}

impl Token {
    fn describe(&self) -> String {
        match self {
            Token::Field(names) if names.is_empty() => "'.'".to_owned(),
            Token::Field(names) => format!("field .{}", names.join(".")),
            Token::Ident(name) => format!("{name:?}"),
            Token::Str(s) => format!("string {s:?}"),
            Token::Pipe => "'|'".to_owned(),
            Token::Open => "'('".to_owned(),
            Token::Close => "')'".to_owned(),
            Token::End => "'}}'".to_owned(),
        }
    }
}

struct Parser<'a> {
    src: &'a str,
    pos: usize,
    /// The current action's tokens with their byte offsets.
    tokens: Vec<(usize, Token)>,
    next: usize,
}

impl Template {
    /// Parses `source`.
    pub fn parse(source: &str) -> Result<Template, TemplateError> {
        let mut parser = Parser {
            src: source,
            pos: 0,
            tokens: Vec::new(),
            next: 0,
        };
        let nodes = parser.template()?;
        Ok(Template {
            source: source.to_owned(),
            nodes,
        })
    }

    /// The template's text as given.
    pub fn as_str(&self) -> &str {
        &self.source
    }

    /// Renders the template for `data`.
    pub fn render(&self, data: &TemplateData<'_>) -> Result<String, RenderError> {
        let mut out = String::new();
        for node in &self.nodes {
            match node {
                Node::Text(text) => out.push_str(text),
                Node::Action(pipeline) => {
                    let value = eval_pipeline(pipeline, data)?;
                    out.push_str(&value.print());
                }
            }
        }
        Ok(out)
    }
}

impl<'a> Parser<'a> {
    fn error(&self, at: usize, message: impl Into<String>) -> TemplateError {
        TemplateError {
            position: describe_position(self.src, at),
            message: message.into(),
        }
    }

    fn template(&mut self) -> Result<Vec<Node>, TemplateError> {
        let mut nodes = Vec::new();
        let mut trim_next_text = false;
        while self.pos < self.src.len() {
            let rest = &self.src[self.pos..];
            let text_len = rest.find("{{").unwrap_or(rest.len());
            let mut text = &rest[..text_len];
            if trim_next_text {
                text = text.trim_start();
            }
            let open = self.pos + text_len;
            if open >= self.src.len() {
                push_text(&mut nodes, text);
                break;
            }
            // `{{- ` trims the whitespace before the action.
            let after_open = &self.src[open + 2..];
            let trim_before = after_open.starts_with('-')
                && after_open[1..].starts_with(|c: char| c.is_ascii_whitespace());
            if trim_before {
                text = text.trim_end();
            }
            push_text(&mut nodes, text);
            self.pos = open + 2 + usize::from(trim_before);
            let (pipeline, trim_after) = self.action(open)?;
            if let Some(pipeline) = pipeline {
                nodes.push(Node::Action(pipeline));
            }
            trim_next_text = trim_after;
        }
        Ok(nodes)
    }

    /// Parses one action after its `{{`; returns its pipeline (none for a comment) and
    /// whether it ended with `-}}`.
    fn action(&mut self, open: usize) -> Result<(Option<Pipeline>, bool), TemplateError> {
        let trimmed = self.src[self.pos..].trim_start();
        if trimmed.starts_with("/*") {
            let start = self.src.len() - trimmed.len();
            let Some(end) = trimmed.find("*/") else {
                return Err(self.error(start, "unclosed comment"));
            };
            let after = &trimmed[end + 2..];
            let (end, trim_after) = if let Some(rest) = after.strip_prefix(" -}}") {
                (self.src.len() - rest.len(), true)
            } else if let Some(rest) = after.strip_prefix("}}") {
                (self.src.len() - rest.len(), false)
            } else {
                return Err(self.error(start + end + 2, "comment ends before closing delimiter"));
            };
            self.pos = end;
            return Ok((None, trim_after));
        }
        let trim_after = self.lex_action(open)?;
        if matches!(self.peek(), Token::End) {
            return Err(self.error(open, "missing value for command"));
        }
        let pipeline = self.pipeline()?;
        match self.peek() {
            Token::End => Ok((Some(pipeline), trim_after)),
            other => {
                let message = format!("unexpected {} in action", other.describe());
                Err(self.error(self.peek_at(), message))
            }
        }
    }

    /// Splits the action at `self.pos` into tokens up to its `}}`; returns whether the
    /// action ends with `-}}`.
    fn lex_action(&mut self, open: usize) -> Result<bool, TemplateError> {
        self.tokens.clear();
        self.next = 0;
        let bytes = self.src.as_bytes();
        loop {
            let Some(&b) = bytes.get(self.pos) else {
                return Err(self.error(open, "unclosed action"));
            };
            let at = self.pos;
            match b {
                b' ' | b'\t' | b'\r' | b'\n' => {
                    let rest = &self.src[at..];
                    let ws = rest.len() - rest.trim_start().len();
                    if rest[ws..].starts_with("-}}") {
                        self.tokens.push((at + ws, Token::End));
                        self.pos = at + ws + 3;
                        return Ok(true);
                    }
                    self.pos += ws;
                }
                b'}' if bytes.get(at + 1) == Some(&b'}') => {
                    self.tokens.push((at, Token::End));
                    self.pos = at + 2;
                    return Ok(false);
                }
                b'|' => {
                    self.tokens.push((at, Token::Pipe));
                    self.pos += 1;
                }
                b'(' => {
                    self.tokens.push((at, Token::Open));
                    self.pos += 1;
                }
                b')' => {
                    self.tokens.push((at, Token::Close));
                    self.pos += 1;
                }
                b'"' | b'`' => {
                    let (value, end) =
                        read_string(self.src, at).map_err(|(at, m)| self.error(at, m))?;
                    self.tokens.push((at, Token::Str(value)));
                    self.pos = end;
                }
                b'.' => {
                    // `.` alone is the model; `.A.b` a chain of fields.
                    let mut names = Vec::new();
                    let mut end = at;
                    loop {
                        let name_len = ident_len(&self.src[end + 1..]);
                        if name_len == 0 {
                            break;
                        }
                        names.push(self.src[end + 1..end + 1 + name_len].to_owned());
                        end += 1 + name_len;
                        if !self.src[end..].starts_with('.') {
                            break;
                        }
                    }
                    if names.is_empty() {
                        end = at + 1;
                    }
                    if self.src[end..].starts_with('.') {
                        return Err(self.error(end, "bad field name after '.'"));
                    }
                    self.tokens.push((at, Token::Field(names)));
                    self.pos = end;
                }
                _ => {
                    let len = ident_len(&self.src[at..]);
                    if len == 0 {
                        let c = self.src[at..].chars().next().unwrap_or('?');
                        let message = if c == '$' {
                            "variables are not supported".to_owned()
                        } else if c.is_ascii_digit() || c == '-' {
                            "numbers are not supported".to_owned()
                        } else {
                            format!("unexpected character {c:?} in action")
                        };
                        return Err(self.error(at, message));
                    }
                    self.tokens
                        .push((at, Token::Ident(self.src[at..at + len].to_owned())));
                    self.pos += len;
                }
            }
        }
    }

    fn peek(&self) -> &Token {
        self.tokens.get(self.next).map_or(&Token::End, |(_, t)| t)
    }

    fn peek_at(&self) -> usize {
        self.tokens.get(self.next).map_or(self.pos, |(at, _)| *at)
    }

    fn pipeline(&mut self) -> Result<Pipeline, TemplateError> {
        let mut commands = vec![self.command()?];
        while matches!(self.peek(), Token::Pipe) {
            let at = self.peek_at();
            self.next += 1;
            if matches!(self.peek(), Token::End | Token::Close | Token::Pipe) {
                return Err(self.error(at, "missing command after '|'"));
            }
            commands.push(self.command()?);
        }
        Ok(Pipeline { commands })
    }

    fn command(&mut self) -> Result<Command, TemplateError> {
        let mut args = Vec::new();
        loop {
            let at = self.peek_at();
            let arg = match self.peek().clone() {
                Token::End | Token::Pipe | Token::Close => break,
                Token::Field(names) => {
                    self.next += 1;
                    Arg::Field(names)
                }
                Token::Str(s) => {
                    self.next += 1;
                    Arg::Str(s)
                }
                Token::Ident(name) => {
                    self.next += 1;
                    match name.as_str() {
                        "if" | "else" | "end" | "range" | "with" | "define" | "template"
                        | "block" | "break" | "continue" => {
                            return Err(self.error(at, format!("{name:?} is not supported")));
                        }
                        "true" | "false" | "nil" => {
                            return Err(self.error(at, format!("{name} is not supported")));
                        }
                        _ => {}
                    }
                    let Some(func) = Func::lookup(&name) else {
                        let names: Vec<&str> = Func::ALL.iter().map(|(n, _)| *n).collect();
                        return Err(self.error(
                            at,
                            format!(
                                "function {name:?} not defined (supported: {})",
                                names.join(", ")
                            ),
                        ));
                    };
                    if !args.is_empty() {
                        return Err(
                            self.error(at, format!("function {name:?} must start a command"))
                        );
                    }
                    Arg::Func(func)
                }
                Token::Open => {
                    self.next += 1;
                    if matches!(self.peek(), Token::Close) {
                        return Err(self.error(at, "empty parentheses"));
                    }
                    let sub = self.pipeline()?;
                    if !matches!(self.peek(), Token::Close) {
                        let message = format!("expected ')', found {}", self.peek().describe());
                        return Err(self.error(self.peek_at(), message));
                    }
                    self.next += 1;
                    Arg::Sub(sub)
                }
            };
            if !args.is_empty() && !matches!(args.first(), Some(Arg::Func(_))) {
                return Err(self.error(at, "can't give argument to non-function"));
            }
            args.push(arg);
        }
        if args.is_empty() {
            return Err(self.error(self.peek_at(), "missing value for command"));
        }
        Ok(Command { args })
    }
}

fn push_text(nodes: &mut Vec<Node>, text: &str) {
    if !text.is_empty() {
        nodes.push(Node::Text(text.to_owned()));
    }
}

/// Length in bytes of the Go identifier at the start of `s`.
fn ident_len(s: &str) -> usize {
    s.char_indices()
        .find(|(i, c)| !(c.is_alphabetic() || *c == '_' || (*i > 0 && c.is_numeric())))
        .map_or(s.len(), |(i, _)| i)
}

/// Traefik's `normalize`: every run of characters that are neither letters nor digits
/// becomes one `-`, and leading/trailing ones are dropped.
pub fn normalize(name: &str) -> String {
    name.split(|c: char| !c.is_alphabetic() && !c.is_numeric())
        .filter(|part| !part.is_empty())
        .collect::<Vec<_>>()
        .join("-")
}

/// A value while evaluating.
#[derive(Debug, Clone)]
enum Value<'a> {
    Data(TemplateData<'a>),
    Labels(&'a BTreeMap<String, String>),
    Str(String),
    /// A missing map entry (Go's invalid `reflect.Value`).
    Missing,
}

impl Value<'_> {
    fn type_name(&self) -> &'static str {
        match self {
            Value::Data(_) => "struct",
            Value::Labels(_) => "map[string]string",
            Value::Str(_) => "string",
            Value::Missing => "<no value>",
        }
    }

    /// How Go's template prints the value.
    fn print(&self) -> String {
        match self {
            Value::Str(s) => s.clone(),
            Value::Missing => "<no value>".to_owned(),
            Value::Labels(labels) => print_map(labels),
            Value::Data(data) => format!(
                "{{{} {} {}}}",
                data.name,
                data.container_name,
                print_map(data.labels)
            ),
        }
    }

    fn into_string(self, func: Func) -> Result<String, RenderError> {
        match self {
            Value::Str(s) => Ok(s),
            Value::Missing => Err(RenderError(format!(
                "error calling {}: invalid value; expected string",
                func.name()
            ))),
            other => Err(RenderError(format!(
                "error calling {}: wrong type for value; expected string; got {}",
                func.name(),
                other.type_name()
            ))),
        }
    }
}

fn print_map(map: &BTreeMap<String, String>) -> String {
    let entries: Vec<String> = map.iter().map(|(k, v)| format!("{k}:{v}")).collect();
    format!("map[{}]", entries.join(" "))
}

fn eval_pipeline<'a>(
    pipeline: &Pipeline,
    data: &TemplateData<'a>,
) -> Result<Value<'a>, RenderError> {
    let mut piped: Option<Value<'a>> = None;
    for command in &pipeline.commands {
        piped = Some(eval_command(command, data, piped)?);
    }
    Ok(piped.unwrap_or(Value::Missing))
}

fn eval_command<'a>(
    command: &Command,
    data: &TemplateData<'a>,
    piped: Option<Value<'a>>,
) -> Result<Value<'a>, RenderError> {
    let Some((first, rest)) = command.args.split_first() else {
        return Err(RenderError("empty command".to_owned()));
    };
    let Arg::Func(func) = first else {
        if piped.is_some() {
            return Err(RenderError(
                "can't give argument to non-function".to_owned(),
            ));
        }
        return eval_arg(first, data);
    };
    let mut args = rest
        .iter()
        .map(|a| eval_arg(a, data))
        .collect::<Result<Vec<_>, _>>()?;
    args.extend(piped);
    call(*func, args)
}

fn eval_arg<'a>(arg: &Arg, data: &TemplateData<'a>) -> Result<Value<'a>, RenderError> {
    match arg {
        Arg::Str(s) => Ok(Value::Str(s.clone())),
        Arg::Sub(pipeline) => eval_pipeline(pipeline, data),
        Arg::Func(func) => call(*func, Vec::new()),
        Arg::Field(names) => {
            let mut value = Value::Data(*data);
            for name in names {
                value = match value {
                    Value::Data(d) => match name.as_str() {
                        "Name" => Value::Str(d.name.to_owned()),
                        "ContainerName" => Value::Str(d.container_name.to_owned()),
                        "Labels" => Value::Labels(d.labels),
                        _ => {
                            return Err(RenderError(format!(
                                "can't evaluate field {name} (the model has Name, ContainerName and Labels)"
                            )));
                        }
                    },
                    Value::Labels(labels) => match labels.get(name) {
                        Some(v) => Value::Str(v.clone()),
                        None => Value::Missing,
                    },
                    Value::Str(_) => {
                        return Err(RenderError(format!(
                            "can't evaluate field {name} in type string"
                        )));
                    }
                    Value::Missing => {
                        return Err(RenderError(format!(
                            "nil pointer evaluating field {name} of a missing value"
                        )));
                    }
                };
            }
            Ok(value)
        }
    }
}

fn call(func: Func, args: Vec<Value<'_>>) -> Result<Value<'_>, RenderError> {
    let want = match func {
        Func::Normalize | Func::Lower | Func::Upper | Func::Trim => 1,
        Func::TrimPrefix | Func::TrimSuffix => 2,
        Func::Replace => 3,
        Func::Index => return index(args),
    };
    if args.len() != want {
        return Err(RenderError(format!(
            "wrong number of args for {}: want {want} got {}",
            func.name(),
            args.len()
        )));
    }
    let mut strings = args
        .into_iter()
        .map(|v| v.into_string(func))
        .collect::<Result<Vec<_>, _>>()?
        .into_iter();
    let mut next = || strings.next().unwrap_or_default();
    let out = match func {
        Func::Normalize => normalize(&next()),
        Func::Lower => next().to_lowercase(),
        Func::Upper => next().to_uppercase(),
        Func::Trim => next().trim().to_owned(),
        Func::TrimPrefix => {
            let (prefix, s) = (next(), next());
            s.strip_prefix(prefix.as_str()).unwrap_or(&s).to_owned()
        }
        Func::TrimSuffix => {
            let (suffix, s) = (next(), next());
            s.strip_suffix(suffix.as_str()).unwrap_or(&s).to_owned()
        }
        Func::Replace => {
            let (old, new, s) = (next(), next(), next());
            go_replace_all(&s, &old, &new)
        }
        Func::Index => String::new(),
    };
    Ok(Value::Str(out))
}

/// Go's `strings.ReplaceAll`: an empty `old` inserts `new` around every character.
fn go_replace_all(s: &str, old: &str, new: &str) -> String {
    if !old.is_empty() {
        return s.replace(old, new);
    }
    let mut out = String::from(new);
    for c in s.chars() {
        out.push(c);
        out.push_str(new);
    }
    out
}

/// Go's `index`: `index m k` is `m[k]` (the zero value when missing).
fn index(args: Vec<Value<'_>>) -> Result<Value<'_>, RenderError> {
    let mut args = args.into_iter();
    let Some(item) = args.next() else {
        return Err(RenderError(
            "wrong number of args for index: want at least 1 got 0".to_owned(),
        ));
    };
    let mut item = item;
    for key in args {
        let Value::Str(key) = key else {
            return Err(RenderError(format!(
                "error calling index: cannot index with a {}",
                key.type_name()
            )));
        };
        item = match item {
            Value::Labels(labels) => Value::Str(labels.get(&key).cloned().unwrap_or_default()),
            Value::Missing => {
                return Err(RenderError(
                    "error calling index: index of untyped nil".to_owned(),
                ));
            }
            other => {
                return Err(RenderError(format!(
                    "error calling index: can't index item of type {}",
                    other.type_name()
                )));
            }
        };
    }
    Ok(item)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn labels() -> BTreeMap<String, String> {
        [
            ("app.domain", "example.com"),
            ("host", "Web.Example.com"),
            ("com.docker.compose.service", "web"),
        ]
        .into_iter()
        .map(|(k, v)| (k.to_owned(), v.to_owned()))
        .collect()
    }

    #[test]
    fn renders() {
        let labels = labels();
        let data = TemplateData {
            name: "web-shop",
            container_name: "shop_web_1",
            labels: &labels,
        };
        let cases = [
            ("default rule", DEFAULT_RULE, "Host(`web-shop`)"),
            (
                "plain name",
                "Host(`{{ .Name }}.local`)",
                "Host(`web-shop.local`)",
            ),
            (
                "container name normalised",
                "Host(`{{ normalize .ContainerName }}`)",
                "Host(`shop-web-1`)",
            ),
            ("raw container name", "{{.ContainerName}}", "shop_web_1"),
            (
                "index of a dotted label",
                "Host(`{{ index .Labels \"app.domain\" }}`)",
                "Host(`example.com`)",
            ),
            (
                "index of a missing label is empty",
                "[{{ index .Labels \"nope\" }}]",
                "[]",
            ),
            ("label as a field", "{{ .Labels.host }}", "Web.Example.com"),
            (
                "missing label as a field",
                "{{ .Labels.nope }}",
                "<no value>",
            ),
            ("pipeline", "{{ .Labels.host | lower }}", "web.example.com"),
            (
                "pipeline of several",
                "{{ .ContainerName | normalize | upper }}",
                "SHOP-WEB-1",
            ),
            (
                "parenthesised",
                "{{ lower (index .Labels \"host\") }}",
                "web.example.com",
            ),
            (
                "raw string argument",
                "{{ index .Labels `app.domain` }}",
                "example.com",
            ),
            ("trim markers", "a  {{- .Name -}}  b", "aweb-shopb"),
            ("comment", "x{{/* a comment */}}y", "xy"),
            ("trimmed comment", "x {{- /* c */ -}} y", "xy"),
            ("trimPrefix", "{{ trimPrefix \"web-\" .Name }}", "shop"),
            ("trimSuffix", "{{ .Name | trimSuffix \"-shop\" }}", "web"),
            ("replace", "{{ replace \"-\" \".\" .Name }}", "web.shop"),
            ("trim", "[{{ trim \"  a \" }}]", "[a]"),
            ("no actions", "Host(`static`)", "Host(`static`)"),
            ("braces in text", "a } { b", "a } { b"),
            (
                "printing the labels",
                "{{ .Labels }}",
                "map[app.domain:example.com com.docker.compose.service:web host:Web.Example.com]",
            ),
        ];
        for (case, source, expected) in cases {
            let template = Template::parse(source).unwrap_or_else(|e| panic!("{case}: {e}"));
            let got = template.render(&data);
            assert_eq!(got, Ok(expected.to_owned()), "{case}");
        }
    }

    #[test]
    fn render_errors() {
        let labels = labels();
        let data = TemplateData {
            name: "web",
            container_name: "web",
            labels: &labels,
        };
        let cases = [
            ("unknown field", "{{ .Nope }}", "can't evaluate field Nope"),
            (
                "field of a string",
                "{{ .Name.x }}",
                "can't evaluate field x in type string",
            ),
            (
                "missing label into a function",
                "{{ normalize .Labels.nope }}",
                "error calling normalize: invalid value; expected string",
            ),
            (
                "map into a function",
                "{{ lower .Labels }}",
                "wrong type for value; expected string; got map[string]string",
            ),
            (
                "too many args",
                "{{ normalize .Name .Name }}",
                "wrong number of args for normalize: want 1 got 2",
            ),
            (
                "too few args",
                "{{ replace \"a\" .Name }}",
                "wrong number of args for replace: want 3 got 2",
            ),
            (
                "index of a string",
                "{{ index .Name \"a\" }}",
                "can't index item of type string",
            ),
        ];
        for (case, source, expected) in cases {
            let template = Template::parse(source).unwrap_or_else(|e| panic!("{case}: {e}"));
            match template.render(&data) {
                Ok(out) => panic!("{case}: rendered {out:?}"),
                Err(err) => assert!(err.0.contains(expected), "{case}: {err}"),
            }
        }
    }

    #[test]
    fn parse_errors_name_the_column() {
        let cases = [
            (
                "unknown function",
                "Host(`{{ foo .Name }}`)",
                "column 10: function \"foo\" not defined",
            ),
            ("unclosed action", "a {{ .Name", "column 3: unclosed action"),
            (
                "empty action",
                "a{{ }}",
                "column 2: missing value for command",
            ),
            (
                "unterminated string",
                "{{ index .Labels \"a }}",
                "column 18: unterminated string",
            ),
            (
                "bad escape",
                "{{ index .Labels \"\\q\" }}",
                "column 19: unknown escape sequence \\q",
            ),
            (
                "argument to a field",
                "{{ .Name .Name }}",
                "column 10: can't give argument to non-function",
            ),
            (
                "control structure",
                "{{ if .Name }}x{{ end }}",
                "column 4: \"if\" is not supported",
            ),
            (
                "variables",
                "{{ $x := .Name }}",
                "column 4: variables are not supported",
            ),
            (
                "numbers",
                "{{ index .Labels 3 }}",
                "column 18: numbers are not supported",
            ),
            (
                "dangling pipe",
                "{{ .Name | }}",
                "column 10: missing command after '|'",
            ),
            (
                "unbalanced parenthesis",
                "{{ (lower .Name }}",
                "column 17: expected ')', found '}}'",
            ),
            (
                "stray parenthesis",
                "{{ .Name ) }}",
                "column 10: unexpected ')' in action",
            ),
            (
                "unclosed comment",
                "{{/* x }}",
                "column 3: unclosed comment",
            ),
            (
                "multi-line position",
                "a\n{{ nope }}",
                "line 2, column 4: function \"nope\" not defined",
            ),
            (
                "bad field",
                "{{ .Labels.}}",
                "column 11: bad field name after '.'",
            ),
        ];
        for (case, source, expected) in cases {
            match Template::parse(source) {
                Ok(_) => panic!("{case}: parsed"),
                Err(err) => assert!(err.to_string().starts_with(expected), "{case}: {err}"),
            }
        }
    }

    #[test]
    fn normalizes_like_traefik() {
        let cases = [
            ("already normal", "web", "web"),
            ("leading slash", "/web-1", "web-1"),
            ("underscores and dots", "my_app.v2", "my-app-v2"),
            ("runs collapse", "a__--b", "a-b"),
            ("case kept", "Test", "Test"),
            ("unicode letters kept", "café_1", "café-1"),
            ("only separators", "/_-", ""),
        ];
        for (case, input, expected) in cases {
            assert_eq!(normalize(input), expected, "{case}");
        }
    }

    #[test]
    fn default_template_parses() {
        assert_eq!(Template::default().as_str(), DEFAULT_RULE);
    }
}
