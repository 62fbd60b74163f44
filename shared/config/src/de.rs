//! A serde [`Deserializer`](serde::Deserializer) over [`Node`] trees with paerser's rules.
//!
//! The rules, all taken from how Traefik fills its configuration structs:
//! - struct fields and enum variants match case-insensitively; user map keys keep their case;
//! - every scalar is text first and is parsed for the target type (`"8080"` is a port,
//!   `8080` is a string when a string is wanted);
//! - a scalar where a list is wanted is split on commas, each item trimmed;
//! - a section that Traefik tags `allowEmpty` (`tls`, `sticky`, `cookie`, `healthCheck`, …)
//!   may be given as a scalar: empty or `true` enables it with defaults, anything else turns
//!   it off; every other section must hold at least one option;
//! - in labels, the slice-as-struct `server` key is the one-element `servers` list.
//!
//! Errors carry the path inside the decoded value (`loadBalancer.servers[0].weight`).

use std::fmt;
use std::rc::Rc;

use serde::de::value::{StrDeserializer, StringDeserializer};
use serde::de::{self, DeserializeOwned, DeserializeSeed, IntoDeserializer, Visitor};

use crate::node::{Node, Scalar};

/// Where a tree came from; a few of Traefik's rules differ between files and labels.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Source {
    /// A YAML or TOML file (Traefik's file provider).
    File,
    /// Container labels (Traefik's label parser).
    Labels,
}

/// Why a value could not be decoded, with the path inside the value where it happened.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DecodeError {
    path: Option<String>,
    message: String,
}

impl DecodeError {
    /// The field path inside the decoded value (`loadBalancer.servers[0].url`), or `None`
    /// when the problem is the value as a whole.
    pub fn path(&self) -> Option<&str> {
        self.path.as_deref()
    }

    /// The message without the path.
    pub fn message(&self) -> &str {
        &self.message
    }

    /// Attaches `path` unless a more precise one is already there.
    fn at(mut self, path: &Path) -> Self {
        if self.path.is_none() {
            self.path = path.render();
        }
        self
    }
}

impl fmt::Display for DecodeError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.path {
            Some(path) => write!(f, "{path}: {}", self.message),
            None => f.write_str(&self.message),
        }
    }
}

impl std::error::Error for DecodeError {}

impl de::Error for DecodeError {
    fn custom<T: fmt::Display>(msg: T) -> Self {
        DecodeError {
            path: None,
            message: msg.to_string(),
        }
    }
}

/// Decodes `node` into `T` with Traefik's matching and conversion rules.
pub fn from_node<T: DeserializeOwned>(
    node: &Node,
    source: Source,
) -> std::result::Result<T, DecodeError> {
    T::deserialize(De {
        node,
        path: Path::default(),
        source,
        field: None,
        in_list: false,
    })
}

/// Sections that Traefik tags `allowEmpty`: they may be switched on with an empty value or
/// `true` (defaults) and switched off with any other scalar (`tls=false`).
const ALLOW_EMPTY: &[&str] = &[
    "tls",
    "healthCheck",
    "sticky",
    "cookie",
    "spiffe",
    "compress",
    "contentType",
    "ipStrategy",
    "proxyProtocol",
];

/// Whether `field` is one of Traefik's `allowEmpty` sections.
pub(crate) fn allows_empty(field: Option<&str>) -> bool {
    field.is_some_and(|f| ALLOW_EMPTY.iter().any(|a| a.eq_ignore_ascii_case(f)))
}

/// Go's `strconv.ParseBool`.
fn go_parse_bool(text: &str) -> Option<bool> {
    match text {
        "1" | "t" | "T" | "TRUE" | "true" | "True" => Some(true),
        "0" | "f" | "F" | "FALSE" | "false" | "False" => Some(false),
        _ => None,
    }
}

/// Fields that Traefik tags `file:"-"` or `label:"-"` on server structs: they are silently
/// ignored from that source. The structs are recognised by their field sets, which keeps
/// this decoder independent of the model's type names.
fn ignored_field(source: Source, fields: &[&str], key: &str) -> bool {
    let has = |name: &str| fields.contains(&name);
    let is = |name: &str| key.eq_ignore_ascii_case(name);
    match source {
        // HTTP servers: `port` and `scheme` are label-only; UDP servers: `port` is
        // label-only (TCP servers accept `port` from files too, as in Traefik).
        Source::File => {
            (has("url") && has("preservePath") && (is("port") || is("scheme")))
                || (has("address") && has("port") && !has("tls") && is("port"))
        }
        // TCP and UDP servers: the address comes from the container, never from a label.
        Source::Labels => has("address") && has("port") && is("address"),
    }
}

fn find_name(key: &str, names: &'static [&'static str]) -> Option<&'static str> {
    names.iter().copied().find(|n| n.eq_ignore_ascii_case(key))
}

fn one_of(names: &[&str]) -> String {
    if names.is_empty() {
        "no options".to_owned()
    } else {
        names.join(", ")
    }
}

/// A path inside the decoded value, shared cheaply between nested deserializers.
#[derive(Clone, Default)]
struct Path(Option<Rc<PathLink>>);

struct PathLink {
    parent: Path,
    segment: Segment,
}

enum Segment {
    Name(String),
    Index(usize),
}

impl Path {
    fn push(&self, segment: Segment) -> Path {
        Path(Some(Rc::new(PathLink {
            parent: self.clone(),
            segment,
        })))
    }

    fn name(&self, name: &str) -> Path {
        self.push(Segment::Name(name.to_owned()))
    }

    fn index(&self, index: usize) -> Path {
        self.push(Segment::Index(index))
    }

    fn render(&self) -> Option<String> {
        let mut segments = Vec::new();
        let mut cursor = &self.0;
        while let Some(link) = cursor {
            segments.push(&link.segment);
            cursor = &link.parent.0;
        }
        if segments.is_empty() {
            return None;
        }
        let mut out = String::new();
        for segment in segments.into_iter().rev() {
            match segment {
                Segment::Name(name) => {
                    if !out.is_empty() {
                        out.push('.');
                    }
                    out.push_str(name);
                }
                Segment::Index(i) => {
                    out.push('[');
                    out.push_str(&i.to_string());
                    out.push(']');
                }
            }
        }
        Some(out)
    }
}

struct De<'a> {
    node: &'a Node,
    path: Path,
    source: Source,
    /// The struct field or enum variant this value belongs to, for the `allowEmpty` rule.
    field: Option<&'static str>,
    /// Items of a list of scalars are trimmed, as paerser does.
    in_list: bool,
}

type Result<T> = std::result::Result<T, DecodeError>;

impl<'a> De<'a> {
    fn error(&self, message: impl Into<String>) -> DecodeError {
        DecodeError {
            path: self.path.render(),
            message: message.into(),
        }
    }

    fn expected(&self, what: &str) -> DecodeError {
        self.error(format!("expected {what}, found {}", self.node.describe()))
    }

    /// The scalar as text, for targets that parse text.
    fn text(&self, what: &str) -> Result<String> {
        match self.node {
            Node::Scalar(s) => match s.text() {
                Some(t) if self.in_list => Ok(t.trim().to_owned()),
                Some(t) => Ok(t),
                None => Err(self.expected(what)),
            },
            _ => Err(self.expected(what)),
        }
    }

    fn invalid(&self, text: &str, what: &str) -> DecodeError {
        self.error(format!("invalid value {text:?}, expected {what}"))
    }

    fn signed(&self, min: i64, max: i64) -> Result<i64> {
        let value = match self.node {
            Node::Scalar(Scalar::Int(i)) => *i,
            _ => {
                let text = self.text("an integer")?;
                text.parse::<i64>()
                    .map_err(|_| self.invalid(&text, "an integer"))?
            }
        };
        if value < min || value > max {
            return Err(self.error(format!("value {value} is out of range ({min} to {max})")));
        }
        Ok(value)
    }

    fn unsigned(&self, max: u64) -> Result<u64> {
        let value = match self.node {
            Node::Scalar(Scalar::Int(i)) if *i >= 0 => i.unsigned_abs(),
            Node::Scalar(Scalar::UInt(u)) => *u,
            _ => {
                let text = self.text("a non-negative integer")?;
                // Go's ParseUint takes no sign at all.
                if text.starts_with('+') {
                    return Err(self.invalid(&text, "a non-negative integer"));
                }
                text.parse::<u64>()
                    .map_err(|_| self.invalid(&text, "a non-negative integer"))?
            }
        };
        if value > max {
            return Err(self.error(format!("value {value} is out of range (0 to {max})")));
        }
        Ok(value)
    }

    fn float(&self) -> Result<f64> {
        match self.node {
            Node::Scalar(Scalar::Float(f)) => Ok(*f),
            Node::Scalar(Scalar::Int(i)) => Ok(*i as f64),
            Node::Scalar(Scalar::UInt(u)) => Ok(*u as f64),
            _ => {
                let text = self.text("a number")?;
                text.parse::<f64>()
                    .map_err(|_| self.invalid(&text, "a number"))
            }
        }
    }

    /// A scalar standing for a whole section: `Ok(true)` when it enables the section with
    /// defaults, `Ok(false)` when it switches it off.
    fn section_switch(&self) -> Result<bool> {
        let text = self.text("a map")?;
        if !allows_empty(self.field) {
            return Err(self.expected("a map"));
        }
        Ok(text.is_empty() || text.eq_ignore_ascii_case("true"))
    }

    fn check_not_empty(&self, entries: &[(String, Node)]) -> Result<()> {
        if entries.is_empty() && self.field.is_some() && !allows_empty(self.field) {
            return Err(self.error("must not be empty"));
        }
        Ok(())
    }
}

macro_rules! signed {
    ($method:ident, $visit:ident, $ty:ty) => {
        fn $method<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value> {
            let value = self.signed(i64::from(<$ty>::MIN), i64::from(<$ty>::MAX))?;
            let narrowed = <$ty>::try_from(value).map_err(|_| self.error("value out of range"))?;
            visitor
                .$visit(narrowed)
                .map_err(|e: DecodeError| e.at(&self.path))
        }
    };
}

macro_rules! unsigned {
    ($method:ident, $visit:ident, $ty:ty) => {
        fn $method<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value> {
            let value = self.unsigned(u64::from(<$ty>::MAX))?;
            let narrowed = <$ty>::try_from(value).map_err(|_| self.error("value out of range"))?;
            visitor
                .$visit(narrowed)
                .map_err(|e: DecodeError| e.at(&self.path))
        }
    };
}

impl<'de> de::Deserializer<'de> for De<'_> {
    type Error = DecodeError;

    fn deserialize_any<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value> {
        let result = match self.node {
            Node::Scalar(Scalar::Null) => visitor.visit_unit(),
            Node::Scalar(Scalar::Bool(b)) => visitor.visit_bool(*b),
            Node::Scalar(Scalar::Int(i)) => visitor.visit_i64(*i),
            Node::Scalar(Scalar::UInt(u)) => visitor.visit_u64(*u),
            Node::Scalar(Scalar::Float(f)) => visitor.visit_f64(*f),
            Node::Scalar(Scalar::Str(s)) if self.in_list => visitor.visit_str(s.trim()),
            Node::Scalar(Scalar::Str(s)) => visitor.visit_str(s),
            Node::Map(entries) => return self.visit_entries_any(entries, visitor),
            Node::List(items) => return self.visit_items_any(items, visitor),
        };
        result.map_err(|e: DecodeError| e.at(&self.path))
    }

    fn deserialize_bool<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value> {
        let value = match self.node {
            Node::Scalar(Scalar::Bool(b)) => *b,
            _ => {
                let text = self.text("a boolean")?;
                go_parse_bool(&text)
                    .ok_or_else(|| self.invalid(&text, "a boolean (true or false)"))?
            }
        };
        visitor
            .visit_bool(value)
            .map_err(|e: DecodeError| e.at(&self.path))
    }

    signed!(deserialize_i8, visit_i8, i8);
    signed!(deserialize_i16, visit_i16, i16);
    signed!(deserialize_i32, visit_i32, i32);
    signed!(deserialize_i64, visit_i64, i64);
    unsigned!(deserialize_u8, visit_u8, u8);
    unsigned!(deserialize_u16, visit_u16, u16);
    unsigned!(deserialize_u32, visit_u32, u32);
    unsigned!(deserialize_u64, visit_u64, u64);

    fn deserialize_i128<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value> {
        let value = self.signed(i64::MIN, i64::MAX)?;
        visitor
            .visit_i128(i128::from(value))
            .map_err(|e: DecodeError| e.at(&self.path))
    }

    fn deserialize_u128<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value> {
        let value = self.unsigned(u64::MAX)?;
        visitor
            .visit_u128(u128::from(value))
            .map_err(|e: DecodeError| e.at(&self.path))
    }

    fn deserialize_f32<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value> {
        let value = self.float()?;
        visitor
            .visit_f32(value as f32)
            .map_err(|e: DecodeError| e.at(&self.path))
    }

    fn deserialize_f64<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value> {
        let value = self.float()?;
        visitor
            .visit_f64(value)
            .map_err(|e: DecodeError| e.at(&self.path))
    }

    fn deserialize_char<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value> {
        let text = self.text("a single character")?;
        let mut chars = text.chars();
        match (chars.next(), chars.next()) {
            (Some(c), None) => visitor
                .visit_char(c)
                .map_err(|e: DecodeError| e.at(&self.path)),
            _ => Err(self.invalid(&text, "a single character")),
        }
    }

    fn deserialize_str<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value> {
        let text = self.text("a string")?;
        visitor
            .visit_string(text)
            .map_err(|e: DecodeError| e.at(&self.path))
    }

    fn deserialize_string<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value> {
        self.deserialize_str(visitor)
    }

    fn deserialize_bytes<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value> {
        let text = self.text("a string")?;
        visitor
            .visit_byte_buf(text.into_bytes())
            .map_err(|e: DecodeError| e.at(&self.path))
    }

    fn deserialize_byte_buf<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value> {
        self.deserialize_bytes(visitor)
    }

    fn deserialize_option<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value> {
        let switched_off = match self.node {
            Node::Scalar(Scalar::Null) => true,
            Node::Scalar(s) if allows_empty(self.field) => {
                let text = s.text().unwrap_or_default();
                !text.is_empty() && !text.eq_ignore_ascii_case("true")
            }
            _ => false,
        };
        let path = self.path.clone();
        let result = if switched_off {
            visitor.visit_none()
        } else {
            visitor.visit_some(self)
        };
        result.map_err(|e: DecodeError| e.at(&path))
    }

    fn deserialize_unit<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value> {
        let ok = match self.node {
            Node::Scalar(Scalar::Null) => true,
            Node::Map(entries) => entries.is_empty(),
            Node::Scalar(s) => {
                let text = s.text().unwrap_or_default();
                text.is_empty() || text.eq_ignore_ascii_case("true")
            }
            Node::List(_) => false,
        };
        if !ok {
            return Err(self.expected("no value"));
        }
        visitor
            .visit_unit()
            .map_err(|e: DecodeError| e.at(&self.path))
    }

    fn deserialize_unit_struct<V: Visitor<'de>>(
        self,
        _name: &'static str,
        visitor: V,
    ) -> Result<V::Value> {
        self.deserialize_unit(visitor)
    }

    fn deserialize_newtype_struct<V: Visitor<'de>>(
        self,
        _name: &'static str,
        visitor: V,
    ) -> Result<V::Value> {
        let path = self.path.clone();
        visitor
            .visit_newtype_struct(self)
            .map_err(|e: DecodeError| e.at(&path))
    }

    fn deserialize_seq<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value> {
        match self.node {
            Node::List(items) => self.visit_items_any(items, visitor),
            Node::Scalar(s) if *s != Scalar::Null => {
                let text = s.text().unwrap_or_default();
                let items: Vec<Node> = if text.is_empty() {
                    Vec::new()
                } else {
                    text.split(',').map(|item| Node::str(item.trim())).collect()
                };
                self.visit_items_any(&items, visitor)
            }
            _ => Err(self.expected("a list")),
        }
    }

    fn deserialize_tuple<V: Visitor<'de>>(self, _len: usize, visitor: V) -> Result<V::Value> {
        self.deserialize_seq(visitor)
    }

    fn deserialize_tuple_struct<V: Visitor<'de>>(
        self,
        _name: &'static str,
        _len: usize,
        visitor: V,
    ) -> Result<V::Value> {
        self.deserialize_seq(visitor)
    }

    fn deserialize_map<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value> {
        match self.node {
            Node::Map(entries) => {
                self.check_not_empty(entries)?;
                self.visit_entries_any(entries, visitor)
            }
            Node::Scalar(_) => {
                if self.section_switch()? {
                    self.visit_entries_any(&[], visitor)
                } else {
                    Err(self.error("this section cannot be turned off here"))
                }
            }
            Node::List(_) => Err(self.expected("a map")),
        }
    }

    fn deserialize_struct<V: Visitor<'de>>(
        self,
        _name: &'static str,
        fields: &'static [&'static str],
        visitor: V,
    ) -> Result<V::Value> {
        match self.node {
            Node::Map(entries) => {
                self.check_not_empty(entries)?;
                self.visit_struct_entries(entries, fields, visitor)
            }
            Node::Scalar(_) => {
                if self.section_switch()? {
                    self.visit_struct_entries(&[], fields, visitor)
                } else {
                    Err(self.error("this section cannot be turned off here"))
                }
            }
            Node::List(_) => Err(self.expected("a map")),
        }
    }

    fn deserialize_enum<V: Visitor<'de>>(
        self,
        name: &'static str,
        variants: &'static [&'static str],
        visitor: V,
    ) -> Result<V::Value> {
        let (variant, value) = match self.node {
            Node::Map(entries) => {
                let mut chosen = Vec::new();
                for (key, value) in entries {
                    let Some(variant) = find_name(key, variants) else {
                        return Err(self.error(format!(
                            "unknown field {key:?}, expected one of: {}",
                            one_of(variants)
                        )));
                    };
                    chosen.push((variant, value));
                }
                if chosen.len() != 1 {
                    let found = if chosen.is_empty() {
                        "none".to_owned()
                    } else {
                        // In declaration order, so that every syntax reports the same.
                        let names: Vec<&str> = variants
                            .iter()
                            .copied()
                            .filter(|v| chosen.iter().any(|(c, _)| c == v))
                            .collect();
                        format!("{}: {}", names.len(), names.join(", "))
                    };
                    // A long list of choices (24 middleware types) would drown the point.
                    let choices = if variants.len() <= 6 {
                        format!("one of {}", one_of(variants))
                    } else {
                        format!("one {} type", name.to_lowercase())
                    };
                    return Err(self.error(format!("exactly {choices} must be set, found {found}")));
                }
                let (variant, value) = chosen[0];
                (variant, Some(value))
            }
            Node::Scalar(s) if *s != Scalar::Null => {
                let text = self.text("a map")?;
                let Some(variant) = find_name(&text, variants) else {
                    return Err(self.invalid(&text, &format!("one of: {}", one_of(variants))));
                };
                (variant, None)
            }
            _ => return Err(self.expected("a map")),
        };
        let access = EnumAccess {
            variant,
            value,
            path: self.path.clone(),
            source: self.source,
        };
        visitor
            .visit_enum(access)
            .map_err(|e: DecodeError| e.at(&self.path))
    }

    fn deserialize_identifier<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value> {
        self.deserialize_str(visitor)
    }

    fn deserialize_ignored_any<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value> {
        visitor.visit_unit()
    }
}

impl<'a> De<'a> {
    fn visit_entries_any<'de, V: Visitor<'de>>(
        &self,
        entries: &'a [(String, Node)],
        visitor: V,
    ) -> Result<V::Value> {
        self.visit_struct_or_map(entries, None, visitor)
    }

    fn visit_struct_entries<'de, V: Visitor<'de>>(
        &self,
        entries: &'a [(String, Node)],
        fields: &'static [&'static str],
        visitor: V,
    ) -> Result<V::Value> {
        self.visit_struct_or_map(entries, Some(fields), visitor)
    }

    fn visit_struct_or_map<'de, V: Visitor<'de>>(
        &self,
        entries: &'a [(String, Node)],
        fields: Option<&'static [&'static str]>,
        visitor: V,
    ) -> Result<V::Value> {
        let access = MapAccess {
            entries: entries.iter(),
            fields,
            path: self.path.clone(),
            source: self.source,
            pending: None,
            wrapped: None,
        };
        visitor
            .visit_map(access)
            .map_err(|e: DecodeError| e.at(&self.path))
    }

    fn visit_items_any<'de, V: Visitor<'de>>(
        &self,
        items: &[Node],
        visitor: V,
    ) -> Result<V::Value> {
        let access = SeqAccess {
            items: items.iter().enumerate(),
            path: self.path.clone(),
            source: self.source,
        };
        visitor
            .visit_seq(access)
            .map_err(|e: DecodeError| e.at(&self.path))
    }
}

/// Where the value of the current entry comes from.
enum Pending<'a> {
    /// A struct field: the canonical name and the node.
    Field(&'static str, &'a Node),
    /// The labels' singular `server`, wrapped into a one-element list (kept in `wrapped`).
    Wrapped(&'static str),
    /// A user map entry: the key as written and the node.
    Key(&'a str, &'a Node),
}

struct MapAccess<'a> {
    entries: std::slice::Iter<'a, (String, Node)>,
    /// `Some` for a struct (keys are matched against these names), `None` for a user map.
    fields: Option<&'static [&'static str]>,
    path: Path,
    source: Source,
    pending: Option<Pending<'a>>,
    wrapped: Option<Node>,
}

impl MapAccess<'_> {
    fn error(&self, message: String) -> DecodeError {
        DecodeError {
            path: self.path.render(),
            message,
        }
    }
}

impl<'de, 'a> de::MapAccess<'de> for MapAccess<'a> {
    type Error = DecodeError;

    fn next_key_seed<K: DeserializeSeed<'de>>(&mut self, seed: K) -> Result<Option<K::Value>> {
        let (key, node) = loop {
            let Some((key, node)) = self.entries.next() else {
                return Ok(None);
            };
            if !self
                .fields
                .is_some_and(|fields| ignored_field(self.source, fields, key))
            {
                break (key, node);
            }
        };
        let Some(fields) = self.fields else {
            self.pending = Some(Pending::Key(key, node));
            let key: StringDeserializer<DecodeError> = key.clone().into_deserializer();
            return seed
                .deserialize(key)
                .map(Some)
                .map_err(|e: DecodeError| e.at(&self.path));
        };
        let has_servers = fields.contains(&"servers");
        let name =
            if self.source == Source::Labels && has_servers && key.eq_ignore_ascii_case("server") {
                // paerser's `label-slice-as-struct:"server"`: the one server of a label-defined
                // load balancer.
                self.wrapped = Some(Node::List(vec![node.clone()]));
                self.pending = Some(Pending::Wrapped("servers"));
                "servers"
            } else {
                let found = find_name(key, fields).filter(|_| {
                    !(self.source == Source::Labels
                        && has_servers
                        && key.eq_ignore_ascii_case("servers"))
                });
                let Some(name) = found else {
                    let hint = if self.source == Source::Labels
                        && has_servers
                        && key.eq_ignore_ascii_case("servers")
                    {
                        " (labels define the server as \"server\")".to_owned()
                    } else {
                        format!(", expected one of: {}", one_of(fields))
                    };
                    return Err(self.error(format!("unknown field {key:?}{hint}")));
                };
                self.pending = Some(Pending::Field(name, node));
                name
            };
        let name: StrDeserializer<DecodeError> = name.into_deserializer();
        seed.deserialize(name)
            .map(Some)
            .map_err(|e: DecodeError| e.at(&self.path))
    }

    fn next_value_seed<V: DeserializeSeed<'de>>(&mut self, seed: V) -> Result<V::Value> {
        let source = self.source;
        let de = match self.pending.take() {
            Some(Pending::Field(name, node)) => De {
                node,
                path: self.path.name(name),
                source,
                field: Some(name),
                in_list: false,
            },
            Some(Pending::Wrapped(name)) => match &self.wrapped {
                Some(node) => De {
                    node,
                    path: self.path.name(name),
                    source,
                    field: Some(name),
                    in_list: false,
                },
                None => return Err(self.error("value requested before its key".to_owned())),
            },
            Some(Pending::Key(key, node)) => De {
                node,
                path: self.path.name(key),
                source,
                field: None,
                in_list: false,
            },
            None => return Err(self.error("value requested before its key".to_owned())),
        };
        let path = de.path.clone();
        seed.deserialize(de).map_err(|e: DecodeError| e.at(&path))
    }

    fn size_hint(&self) -> Option<usize> {
        Some(self.entries.len())
    }
}

struct SeqAccess<'a> {
    items: std::iter::Enumerate<std::slice::Iter<'a, Node>>,
    path: Path,
    source: Source,
}

impl<'de> de::SeqAccess<'de> for SeqAccess<'_> {
    type Error = DecodeError;

    fn next_element_seed<T: DeserializeSeed<'de>>(&mut self, seed: T) -> Result<Option<T::Value>> {
        let Some((index, node)) = self.items.next() else {
            return Ok(None);
        };
        let path = self.path.index(index);
        let de = De {
            node,
            path: path.clone(),
            source: self.source,
            field: None,
            in_list: true,
        };
        seed.deserialize(de)
            .map(Some)
            .map_err(|e: DecodeError| e.at(&path))
    }

    fn size_hint(&self) -> Option<usize> {
        Some(self.items.len())
    }
}

struct EnumAccess<'a> {
    variant: &'static str,
    value: Option<&'a Node>,
    path: Path,
    source: Source,
}

impl<'de, 'a> de::EnumAccess<'de> for EnumAccess<'a> {
    type Error = DecodeError;
    type Variant = VariantAccess<'a>;

    fn variant_seed<V: DeserializeSeed<'de>>(self, seed: V) -> Result<(V::Value, Self::Variant)> {
        let name: StrDeserializer<DecodeError> = self.variant.into_deserializer();
        let value = seed
            .deserialize(name)
            .map_err(|e: DecodeError| e.at(&self.path))?;
        Ok((
            value,
            VariantAccess {
                variant: self.variant,
                value: self.value,
                path: self.path,
                source: self.source,
            },
        ))
    }
}

struct VariantAccess<'a> {
    variant: &'static str,
    value: Option<&'a Node>,
    path: Path,
    source: Source,
}

impl<'a> VariantAccess<'a> {
    fn de(&self) -> Result<De<'a>> {
        match self.value {
            Some(node) => Ok(De {
                node,
                path: self.path.name(self.variant),
                source: self.source,
                field: Some(self.variant),
                in_list: false,
            }),
            None => Err(DecodeError {
                path: self.path.render(),
                message: format!("{:?} needs options (a map)", self.variant),
            }),
        }
    }
}

impl<'de> de::VariantAccess<'de> for VariantAccess<'_> {
    type Error = DecodeError;

    fn unit_variant(self) -> Result<()> {
        match self.value {
            None => Ok(()),
            Some(_) => {
                let de = self.de()?;
                de::Deserializer::deserialize_unit(de, UnitVisitor)
            }
        }
    }

    fn newtype_variant_seed<T: DeserializeSeed<'de>>(self, seed: T) -> Result<T::Value> {
        let de = self.de()?;
        let path = de.path.clone();
        seed.deserialize(de).map_err(|e: DecodeError| e.at(&path))
    }

    fn tuple_variant<V: Visitor<'de>>(self, _len: usize, visitor: V) -> Result<V::Value> {
        de::Deserializer::deserialize_seq(self.de()?, visitor)
    }

    fn struct_variant<V: Visitor<'de>>(
        self,
        fields: &'static [&'static str],
        visitor: V,
    ) -> Result<V::Value> {
        de::Deserializer::deserialize_struct(self.de()?, "", fields, visitor)
    }
}

struct UnitVisitor;

impl Visitor<'_> for UnitVisitor {
    type Value = ();

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("no value")
    }

    fn visit_unit<E: de::Error>(self) -> std::result::Result<(), E> {
        Ok(())
    }
}

#[cfg(test)]
mod tests;
