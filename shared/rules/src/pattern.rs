//! Go-flavoured regular expressions on top of the `regex` crate.
//!
//! Traefik compiles matcher regexps with Go's `regexp` package. The Rust
//! `regex` syntax is close but not identical, so the source is translated
//! before compiling:
//!
//! * `\d`, `\w`, `\s` and `\b`/`\B` are ASCII-only in Go; they are rewritten
//!   to explicit ASCII classes / `(?-u:\b)` (Rust's are Unicode-aware).
//! * A `{` that does not start a valid repetition (`{n}`, `{n,}`, `{n,m}`) is a
//!   literal in Go; it is escaped.
//! * Inside a bracket class Go treats `[` (when not starting `[:name:]`), `&&`
//!   and `~~` literally; Rust would read nested classes / set operations, so
//!   they are escaped.
//! * `\Q...\E` quoting (Go) is expanded to escaped literals.
//! * `\<` and `\>` are literal `<`/`>` in Go but word-edge assertions in Rust.
//! * Octal escapes (`\123`) are enabled, as in Go.
//!
//! Rust still accepts some syntax Go rejects (e.g. the `x` flag, `\_`); such
//! patterns are accepted here although Traefik would refuse them.

use std::fmt;

use regex::{Regex, RegexBuilder};
use regex_syntax::ast::{self, Ast, ClassPerlKind, ClassSetItem, Visitor};

/// A compiled regexp that remembers its source text.
///
/// Equality, hashing and printing use the source exactly as written in the
/// rule, so two patterns are equal when their sources are.
#[derive(Clone)]
pub struct Pattern {
    source: String,
    /// The Rust-syntax translation that was compiled.
    translated: String,
    regex: Regex,
}

impl Pattern {
    /// Compiles a Go-syntax regexp. The error is a one-line explanation.
    pub fn new(source: &str) -> Result<Pattern, String> {
        let translated = translate(source)?;
        let regex = RegexBuilder::new(&translated)
            .octal(true)
            .build()
            .map_err(|e| one_line(&e.to_string()))?;
        Ok(Pattern {
            source: source.to_owned(),
            translated,
            regex,
        })
    }

    /// The pattern as written in the rule.
    pub fn as_str(&self) -> &str {
        &self.source
    }

    /// The equivalent Rust `regex` syntax that was compiled.
    pub fn translated(&self) -> &str {
        &self.translated
    }

    /// The compiled regex.
    pub fn regex(&self) -> &Regex {
        &self.regex
    }

    /// Unanchored search, like Go's `MatchString`.
    pub fn is_match(&self, haystack: &str) -> bool {
        self.regex.is_match(haystack)
    }
}

impl PartialEq for Pattern {
    fn eq(&self, other: &Pattern) -> bool {
        self.source == other.source
    }
}

impl Eq for Pattern {}

impl std::hash::Hash for Pattern {
    fn hash<H: std::hash::Hasher>(&self, state: &mut H) {
        self.source.hash(state);
    }
}

impl fmt::Debug for Pattern {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Pattern({:?})", self.source)
    }
}

impl fmt::Display for Pattern {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.source)
    }
}

fn one_line(message: &str) -> String {
    // regex errors render a multi-line caret diagram; keep the last line,
    // which holds the actual explanation.
    message
        .lines()
        .rev()
        .find(|l| !l.trim().is_empty())
        .map(|l| l.trim().trim_start_matches("error: ").to_owned())
        .unwrap_or_else(|| message.to_owned())
}

/// Translates Go regexp syntax into equivalent Rust `regex` syntax.
pub(crate) fn translate(source: &str) -> Result<String, String> {
    let rusty = rewrite_syntax(source);
    let parsed = ast::parse::ParserBuilder::new()
        .octal(true)
        .build()
        .parse(&rusty)
        .map_err(|e| e.kind().to_string())?;
    let mut edits = match ast::visit(&parsed, AsciiClasses::default()) {
        Ok(edits) => edits,
        Err(never) => match never {},
    };
    edits.sort_by_key(|e| e.0);
    let mut out = String::with_capacity(rusty.len() + 16 * edits.len());
    let mut last = 0;
    for (start, end, replacement) in edits {
        out.push_str(rusty.get(last..start).unwrap_or_default());
        out.push_str(replacement);
        last = end;
    }
    out.push_str(rusty.get(last..).unwrap_or_default());
    Ok(out)
}

/// Collects (start, end, replacement) edits making Perl classes and word
/// boundaries ASCII-only, as they are in Go.
#[derive(Default)]
struct AsciiClasses(Vec<(usize, usize, &'static str)>);

impl AsciiClasses {
    fn perl(&mut self, class: &ast::ClassPerl) {
        let replacement = match (&class.kind, class.negated) {
            (ClassPerlKind::Digit, false) => "[0-9]",
            (ClassPerlKind::Digit, true) => "[^0-9]",
            (ClassPerlKind::Word, false) => "[0-9A-Za-z_]",
            (ClassPerlKind::Word, true) => "[^0-9A-Za-z_]",
            (ClassPerlKind::Space, false) => r"[\t\n\f\r ]",
            (ClassPerlKind::Space, true) => r"[^\t\n\f\r ]",
        };
        self.0
            .push((class.span.start.offset, class.span.end.offset, replacement));
    }
}

impl Visitor for AsciiClasses {
    type Output = Vec<(usize, usize, &'static str)>;
    type Err = std::convert::Infallible;

    fn finish(self) -> Result<Self::Output, Self::Err> {
        Ok(self.0)
    }

    fn visit_pre(&mut self, ast: &Ast) -> Result<(), Self::Err> {
        match ast {
            Ast::ClassPerl(class) => self.perl(class),
            Ast::Assertion(assertion) => {
                let replacement = match assertion.kind {
                    ast::AssertionKind::WordBoundary => Some(r"(?-u:\b)"),
                    ast::AssertionKind::NotWordBoundary => Some(r"(?-u:\B)"),
                    _ => None,
                };
                if let Some(r) = replacement {
                    let span = assertion.span;
                    self.0.push((span.start.offset, span.end.offset, r));
                }
            }
            _ => {}
        }
        Ok(())
    }

    fn visit_class_set_item_pre(&mut self, item: &ClassSetItem) -> Result<(), Self::Err> {
        if let ClassSetItem::Perl(class) = item {
            // Rust accepts nested classes inside brackets, so the same
            // bracketed replacement works there too.
            self.perl(class);
        }
        Ok(())
    }
}

/// Character-level rewrite of the Go constructs Rust parses differently.
fn rewrite_syntax(source: &str) -> String {
    let chars: Vec<char> = source.chars().collect();
    let mut out = String::with_capacity(source.len() + 8);
    let mut i = 0;
    let mut in_class = false;
    // True right after `[` or `[^`, where `]` is a literal.
    let mut class_start = false;
    while i < chars.len() {
        let c = chars[i];
        if c == '\\' {
            let Some(&next) = chars.get(i + 1) else {
                out.push(c);
                break;
            };
            if next == 'Q' && !in_class {
                i += 2;
                while i < chars.len() && !(chars[i] == '\\' && chars.get(i + 1) == Some(&'E')) {
                    out.push_str(&regex_syntax::escape(chars[i].encode_utf8(&mut [0; 4])));
                    i += 1;
                }
                i += 2;
                continue;
            }
            if next == '<' || next == '>' {
                out.push(next);
                i += 2;
                class_start = false;
                continue;
            }
            out.push(c);
            out.push(next);
            i += 2;
            // `\p{Greek}`, `\x{263a}`: copy the braces verbatim.
            if matches!(next, 'p' | 'P' | 'x') && chars.get(i) == Some(&'{') {
                while i < chars.len() {
                    out.push(chars[i]);
                    i += 1;
                    if chars[i - 1] == '}' {
                        break;
                    }
                }
            }
            class_start = false;
            continue;
        }
        if in_class {
            let was_start = class_start;
            class_start = false;
            match c {
                '[' if chars.get(i + 1) == Some(&':') => {
                    // POSIX class `[:alpha:]`: copy through `:]` if present.
                    if let Some(end) = find_posix_end(&chars, i + 2) {
                        out.extend(&chars[i..end]);
                        i = end;
                        continue;
                    }
                    out.push_str(r"\[");
                }
                '[' => out.push_str(r"\["),
                ']' if !was_start => {
                    in_class = false;
                    out.push(']');
                }
                '&' | '~' => {
                    out.push('\\');
                    out.push(c);
                }
                _ => out.push(c),
            }
            i += 1;
            continue;
        }
        match c {
            '[' => {
                in_class = true;
                class_start = true;
                out.push('[');
                i += 1;
                if chars.get(i) == Some(&'^') {
                    out.push('^');
                    i += 1;
                }
            }
            '{' => match repetition_end(&chars, i) {
                Some(end) => {
                    out.extend(&chars[i..end]);
                    i = end;
                }
                None => {
                    out.push_str(r"\{");
                    i += 1;
                }
            },
            _ => {
                out.push(c);
                i += 1;
            }
        }
    }
    out
}

/// Index just past the `:]` closing a POSIX class whose name starts at `from`.
fn find_posix_end(chars: &[char], from: usize) -> Option<usize> {
    let mut j = from;
    while j + 1 < chars.len() {
        if chars[j] == ':' && chars[j + 1] == ']' {
            return Some(j + 2);
        }
        if !(chars[j].is_ascii_alphabetic() || (j == from && chars[j] == '^')) {
            return None;
        }
        j += 1;
    }
    None
}

/// If a valid Go repetition `{n}`, `{n,}` or `{n,m}` starts at `start`, the
/// index just past its `}`.
fn repetition_end(chars: &[char], start: usize) -> Option<usize> {
    let mut j = start + 1;
    let digits = |j: &mut usize| {
        let from = *j;
        while chars.get(*j).is_some_and(char::is_ascii_digit) {
            *j += 1;
        }
        *j > from
    };
    if !digits(&mut j) {
        return None;
    }
    if chars.get(j) == Some(&',') {
        j += 1;
        digits(&mut j);
    }
    (chars.get(j) == Some(&'}')).then_some(j + 1)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn translation() {
        let cases: &[(&str, &str, &str)] = &[
            ("plain", r"^/api/v[0-9]+$", r"^/api/v[0-9]+$"),
            ("perl classes", r"\d\w\s", r"[0-9][0-9A-Za-z_][\t\n\f\r ]"),
            (
                "negated perl",
                r"\D\W\S",
                r"[^0-9][^0-9A-Za-z_][^\t\n\f\r ]",
            ),
            ("perl in class", r"[a\d]", r"[a[0-9]]"),
            ("word boundary", r"\bx\B", r"(?-u:\b)x(?-u:\B)"),
            ("literal brace", r"{sub:[a-z]+}.com", r"\{sub:[a-z]+}.com"),
            ("valid repetitions", r"a{2}b{1,}c{1,3}", r"a{2}b{1,}c{1,3}"),
            ("brace not repetition", r"a{,3}", r"a\{,3}"),
            ("open bracket in class", r"[[]", r"[\[]"),
            ("posix class", r"[[:alpha:]]", r"[[:alpha:]]"),
            ("negated posix class", r"[[:^digit:]x]", r"[[:^digit:]x]"),
            ("set operators literal", r"[a&&b~~c]", r"[a\&\&b\~\~c]"),
            ("leading bracket literal", r"[]a]", r"[]a]"),
            ("quote", r"\Qa.b\E+", r"a\.b+"),
            ("unterminated quote", r"\Q*", r"\*"),
            ("angle escapes", r"\<x\>", r"<x>"),
            ("unicode class braces", r"\p{Greek}{2}", r"\p{Greek}{2}"),
            ("hex braces", r"\x{41}", r"\x{41}"),
            ("escaped brace", r"\{x", r"\{x"),
            ("unclosed brace", r"a{2", r"a\{2"),
        ];
        for (case, go, rust) in cases {
            assert_eq!(translate(go).as_deref(), Ok(*rust), "{case}");
        }
    }

    #[test]
    fn go_semantics() {
        let cases: &[(&str, &str, &str, bool)] = &[
            ("digit is ascii", r"^\d$", "٣", false),
            ("digit", r"^\d$", "3", true),
            ("word is ascii", r"^\w+$", "héllo", false),
            ("word boundary ascii", r"a\b", "aé", true),
            ("unicode dot", r"^.$", "é", true),
            ("case insensitive", r"(?i)^ABC$", "abc", true),
            ("unanchored", r"b", "abc", true),
            ("octal", r"^\101$", "A", true),
            ("literal braces", r"^{x}$", "{x}", true),
            ("dollar is end of text", r"a$", "a\n", false),
        ];
        for (case, pattern, haystack, expected) in cases {
            let p = Pattern::new(pattern).unwrap_or_else(|e| panic!("{case}: {e}"));
            assert_eq!(p.is_match(haystack), *expected, "{case}");
        }
    }

    #[test]
    fn errors_are_one_line() {
        for bad in ["(", "[a", "a)", r"\8", "(?P<>a)", r"\E", "a{2,1}"] {
            match Pattern::new(bad) {
                Ok(p) => panic!("{bad:?} compiled to {:?}", p.translated()),
                Err(e) => assert!(!e.contains('\n') && !e.is_empty(), "{bad:?}: {e}"),
            }
        }
    }

    #[test]
    fn equality_uses_source() {
        let a = Pattern::new("a+").ok();
        let b = Pattern::new("a+").ok();
        let c = Pattern::new("a{1,}").ok();
        assert_eq!(a, b);
        assert_ne!(a, c);
    }
}
