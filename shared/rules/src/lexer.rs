//! Tokenizer for the rule language (a tiny subset of Go expression syntax).

use crate::RuleError;

/// One token kind.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum TokenKind {
    Ident(String),
    Str(String),
    LParen,
    RParen,
    Comma,
    AndAnd,
    OrOr,
    Bang,
    /// A line break where Go would insert an implicit semicolon (after an
    /// identifier, a literal or `)`): Traefik's Go parser rejects the rule
    /// there unless it is the end of the input, so we mirror that.
    Newline,
    Eof,
}

impl TokenKind {
    /// How the token is named in error messages.
    pub(crate) fn describe(&self) -> String {
        match self {
            TokenKind::Ident(name) => format!("identifier {name:?}"),
            TokenKind::Str(_) => "string literal".to_owned(),
            TokenKind::LParen => "'('".to_owned(),
            TokenKind::RParen => "')'".to_owned(),
            TokenKind::Comma => "','".to_owned(),
            TokenKind::AndAnd => "'&&'".to_owned(),
            TokenKind::OrOr => "'||'".to_owned(),
            TokenKind::Bang => "'!'".to_owned(),
            TokenKind::Newline => "newline".to_owned(),
            TokenKind::Eof => "end of rule".to_owned(),
        }
    }
}

/// A token and the 1-based character column where it starts.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Token {
    pub(crate) kind: TokenKind,
    pub(crate) column: usize,
}

/// Splits `input` into tokens; the last one is always [`TokenKind::Eof`].
pub(crate) fn tokenize(input: &str) -> Result<Vec<Token>, RuleError> {
    Lexer {
        chars: input.chars().collect(),
        pos: 0,
        tokens: Vec::new(),
    }
    .run()
}

struct Lexer {
    chars: Vec<char>,
    /// Index into `chars`; the column is `pos + 1`.
    pos: usize,
    tokens: Vec<Token>,
}

impl Lexer {
    fn run(mut self) -> Result<Vec<Token>, RuleError> {
        while let Some(c) = self.peek(0) {
            let column = self.pos + 1;
            match c {
                ' ' | '\t' | '\r' => self.pos += 1,
                '\n' => {
                    if self.inserts_semicolon() {
                        self.push(TokenKind::Newline, column);
                    }
                    self.pos += 1;
                }
                '(' => self.single(TokenKind::LParen),
                ')' => self.single(TokenKind::RParen),
                ',' => self.single(TokenKind::Comma),
                '!' => self.single(TokenKind::Bang),
                '&' | '|' => {
                    if self.peek(1) != Some(c) {
                        return Err(RuleError::Unexpected {
                            found: format!("character '{c}' (did you mean '{c}{c}'?)"),
                            column,
                        });
                    }
                    let kind = if c == '&' {
                        TokenKind::AndAnd
                    } else {
                        TokenKind::OrOr
                    };
                    self.push(kind, column);
                    self.pos += 2;
                }
                '`' => {
                    let value = self.raw_string()?;
                    self.push(TokenKind::Str(value), column);
                }
                '"' => {
                    let value = self.interpreted_string()?;
                    self.push(TokenKind::Str(value), column);
                }
                '\'' => {
                    return Err(RuleError::InvalidString {
                        reason: "single quotes are not allowed, use backticks or double quotes"
                            .to_owned(),
                        column,
                    });
                }
                c if c.is_alphabetic() || c == '_' => {
                    let start = self.pos;
                    while self
                        .peek(0)
                        .is_some_and(|c| c.is_alphanumeric() || c == '_')
                    {
                        self.pos += 1;
                    }
                    let name: String = self.chars[start..self.pos].iter().collect();
                    self.push(TokenKind::Ident(name), column);
                }
                other => {
                    return Err(RuleError::Unexpected {
                        found: format!("character {other:?}"),
                        column,
                    });
                }
            }
        }
        let column = self.pos + 1;
        self.push(TokenKind::Eof, column);
        Ok(self.tokens)
    }

    fn peek(&self, ahead: usize) -> Option<char> {
        self.chars.get(self.pos + ahead).copied()
    }

    fn push(&mut self, kind: TokenKind, column: usize) {
        self.tokens.push(Token { kind, column });
    }

    fn single(&mut self, kind: TokenKind) {
        self.push(kind, self.pos + 1);
        self.pos += 1;
    }

    /// Go's automatic semicolon insertion rule, restricted to our tokens.
    fn inserts_semicolon(&self) -> bool {
        matches!(
            self.tokens.last().map(|t| &t.kind),
            Some(TokenKind::Ident(_) | TokenKind::Str(_) | TokenKind::RParen)
        )
    }

    /// A backtick string: no escapes, may span lines; carriage returns are
    /// dropped as Go does for raw string literals.
    fn raw_string(&mut self) -> Result<String, RuleError> {
        let column = self.pos + 1;
        self.pos += 1;
        let mut value = String::new();
        loop {
            match self.peek(0) {
                None => {
                    return Err(RuleError::InvalidString {
                        reason: "unterminated raw string (missing closing backtick)".to_owned(),
                        column,
                    });
                }
                Some('`') => {
                    self.pos += 1;
                    return Ok(value);
                }
                Some('\r') => self.pos += 1,
                Some(c) => {
                    value.push(c);
                    self.pos += 1;
                }
            }
        }
    }

    /// A double-quoted string with Go escape sequences (as `strconv.Unquote`).
    fn interpreted_string(&mut self) -> Result<String, RuleError> {
        let column = self.pos + 1;
        let fail = |reason: String| RuleError::InvalidString { reason, column };
        self.pos += 1;
        // Octal and \x escapes produce raw bytes, so build bytes and check
        // UTF-8 at the end.
        let mut bytes = Vec::new();
        loop {
            let Some(c) = self.peek(0) else {
                return Err(fail(
                    "unterminated string (missing closing '\"')".to_owned(),
                ));
            };
            self.pos += 1;
            match c {
                '"' => break,
                '\n' => return Err(fail("newline in string".to_owned())),
                '\\' => {
                    let Some(e) = self.peek(0) else {
                        return Err(fail(
                            "unterminated string (missing closing '\"')".to_owned(),
                        ));
                    };
                    self.pos += 1;
                    let simple = match e {
                        'a' => Some(0x07),
                        'b' => Some(0x08),
                        'f' => Some(0x0c),
                        'n' => Some(b'\n'),
                        'r' => Some(b'\r'),
                        't' => Some(b'\t'),
                        'v' => Some(0x0b),
                        '\\' => Some(b'\\'),
                        '"' => Some(b'"'),
                        _ => None,
                    };
                    if let Some(b) = simple {
                        bytes.push(b);
                        continue;
                    }
                    match e {
                        '0'..='7' => {
                            let digits = self.take_digits(2, 8).map_err(|()| {
                                fail("octal escape needs exactly 3 digits".to_owned())
                            })?;
                            let value = (e as u32 - '0' as u32) * 64 + digits;
                            let byte = u8::try_from(value)
                                .map_err(|_| fail(format!("octal escape value {value} > 255")))?;
                            bytes.push(byte);
                        }
                        'x' => {
                            let value = self.take_digits(2, 16).map_err(|()| {
                                fail("\\x escape needs exactly 2 hex digits".to_owned())
                            })?;
                            // Two hex digits always fit in a byte.
                            bytes.push(u8::try_from(value).unwrap_or(u8::MAX));
                        }
                        'u' | 'U' => {
                            let count = if e == 'u' { 4 } else { 8 };
                            let value = self.take_digits(count, 16).map_err(|()| {
                                fail(format!("\\{e} escape needs exactly {count} hex digits"))
                            })?;
                            let ch = char::from_u32(value).ok_or_else(|| {
                                fail(format!("escape \\{e} is not a valid Unicode code point"))
                            })?;
                            let mut buf = [0u8; 4];
                            bytes.extend_from_slice(ch.encode_utf8(&mut buf).as_bytes());
                        }
                        other => {
                            return Err(fail(format!("unknown escape sequence \\{other}")));
                        }
                    }
                }
                c => {
                    let mut buf = [0u8; 4];
                    bytes.extend_from_slice(c.encode_utf8(&mut buf).as_bytes());
                }
            }
        }
        String::from_utf8(bytes).map_err(|_| fail("escapes produce invalid UTF-8".to_owned()))
    }

    /// Reads exactly `count` digits of `radix`.
    fn take_digits(&mut self, count: usize, radix: u32) -> Result<u32, ()> {
        let mut value: u32 = 0;
        for _ in 0..count {
            let digit = self.peek(0).and_then(|c| c.to_digit(radix)).ok_or(())?;
            value = value
                .checked_mul(radix)
                .ok_or(())?
                .checked_add(digit)
                .ok_or(())?;
            self.pos += 1;
        }
        Ok(value)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn strings(input: &str) -> Result<Vec<String>, RuleError> {
        Ok(tokenize(input)?
            .into_iter()
            .filter_map(|t| match t.kind {
                TokenKind::Str(s) => Some(s),
                _ => None,
            })
            .collect())
    }

    #[test]
    fn string_literals() {
        let cases: &[(&str, &str, &str)] = &[
            ("raw", "`a\\nb`", "a\\nb"),
            ("raw drops carriage return", "`a\r\nb`", "a\nb"),
            ("raw with double quote", "`say \"hi\"`", "say \"hi\""),
            ("quoted escapes", r#""a\"b\\c""#, "a\"b\\c"),
            (
                "quoted control escapes",
                r#""\a\b\f\n\r\t\v""#,
                "\x07\x08\x0c\n\r\t\x0b",
            ),
            ("quoted octal", r#""\101\060""#, "A0"),
            ("quoted hex", r#""\x41\x7e""#, "A~"),
            ("quoted utf8 bytes", r#""\xc3\xa9""#, "é"),
            ("quoted u", r#""\u00e9""#, "é"),
            ("quoted U", r#""\U0001F600""#, "😀"),
            ("quoted backtick", r#""a`b""#, "a`b"),
            ("quoted unicode", r#""日本""#, "日本"),
        ];
        for (case, input, expected) in cases {
            assert_eq!(
                strings(input).unwrap_or_else(|e| panic!("{case}: {e}")),
                vec![(*expected).to_owned()],
                "{case}"
            );
        }
    }

    #[test]
    fn string_errors() {
        let cases: &[(&str, &str, usize)] = &[
            ("unterminated raw", "x(`abc", 3),
            ("unterminated quoted", "x(\"abc", 3),
            ("newline in quoted", "x(\"a\nb\")", 3),
            ("unknown escape", r#"x("\q")"#, 3),
            ("single quote escape", r#"x("\'")"#, 3),
            ("short octal", r#"x("\12")"#, 3),
            ("octal overflow", r#"x("\400")"#, 3),
            ("short hex", r#"x("\x4")"#, 3),
            ("surrogate", r#"x("\ud800")"#, 3),
            ("too big", r#"x("\U00110000")"#, 3),
            ("invalid utf8", r#"x("\xff")"#, 3),
            ("single quotes", "x('a')", 3),
            ("dangling backslash", "x(\"\\", 3),
        ];
        for (case, input, column) in cases {
            match tokenize(input) {
                Err(e @ RuleError::InvalidString { .. }) => {
                    assert_eq!(e.column(), *column, "{case}: {e}")
                }
                other => panic!("{case}: expected InvalidString, got {other:?}"),
            }
        }
    }

    #[test]
    fn newline_tokens_follow_go_semicolon_rule() {
        let kinds = |input: &str| -> Vec<TokenKind> {
            tokenize(input)
                .unwrap_or_else(|e| panic!("{input:?}: {e}"))
                .into_iter()
                .map(|t| t.kind)
                .collect()
        };
        assert!(
            kinds("a(`x`) &&\n b(`y`)")
                .iter()
                .all(|k| *k != TokenKind::Newline)
        );
        assert!(kinds("a(`x`)\n&& b(`y`)").contains(&TokenKind::Newline));
        assert!(kinds("a(\n`x`)").iter().all(|k| *k != TokenKind::Newline));
    }

    #[test]
    fn columns_count_characters() {
        let tokens = tokenize("é(`ü`) && x").unwrap_or_default();
        let columns: Vec<usize> = tokens.iter().map(|t| t.column).collect();
        assert_eq!(columns, vec![1, 2, 3, 6, 8, 11, 12]);
    }

    #[test]
    fn lone_operators_are_rejected() {
        for (input, column) in [("a & b", 3), ("a | b", 3), ("a + b", 3), ("1", 1)] {
            let err = tokenize(input).err();
            assert_eq!(err.map(|e| e.column()), Some(column), "{input}");
        }
    }
}
