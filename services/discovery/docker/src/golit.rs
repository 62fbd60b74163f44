//! Go string literals, as written in default-rule templates and constraint expressions:
//! `"interpreted"` with Go's escapes, or `` `raw` `` between backquotes.

/// Where a position is in a source text, for error messages: 1-based line and column
/// (in characters).
pub(crate) fn position(src: &str, byte: usize) -> (usize, usize) {
    let before = &src[..byte.min(src.len())];
    let line = before.matches('\n').count() + 1;
    let line_start = before.rfind('\n').map_or(0, |i| i + 1);
    let column = before[line_start..].chars().count() + 1;
    (line, column)
}

/// "column C" for one-line sources, "line L, column C" otherwise.
pub(crate) fn describe_position(src: &str, byte: usize) -> String {
    let (line, column) = position(src, byte);
    if src.contains('\n') {
        format!("line {line}, column {column}")
    } else {
        format!("column {column}")
    }
}

/// Reads the string literal starting at byte `start` of `src` (which must hold `"` or
/// a backquote there). Returns its value and the byte index just after it, or the byte
/// index of the fault and what is wrong.
pub(crate) fn read_string(src: &str, start: usize) -> Result<(String, usize), (usize, String)> {
    let rest = &src[start..];
    let mut chars = rest.char_indices();
    let Some((_, quote)) = chars.next() else {
        return Err((start, "expected a string".to_owned()));
    };
    if quote == '`' {
        return match rest[1..].find('`') {
            Some(end) => Ok((rest[1..1 + end].to_owned(), start + end + 2)),
            None => Err((start, "unterminated raw string".to_owned())),
        };
    }
    if quote != '"' {
        return Err((start, "expected a string".to_owned()));
    }
    let mut out = String::new();
    while let Some((i, c)) = chars.next() {
        match c {
            '"' => return Ok((out, start + i + 1)),
            '\n' => break,
            '\\' => {
                let Some((j, e)) = chars.next() else { break };
                let simple = match e {
                    'a' => Some('\u{7}'),
                    'b' => Some('\u{8}'),
                    'f' => Some('\u{c}'),
                    'n' => Some('\n'),
                    'r' => Some('\r'),
                    't' => Some('\t'),
                    'v' => Some('\u{b}'),
                    '\\' => Some('\\'),
                    '"' => Some('"'),
                    _ => None,
                };
                if let Some(s) = simple {
                    out.push(s);
                    continue;
                }
                let (digits, radix, what) = match e {
                    'x' => (2, 16, "2 hexadecimal digits"),
                    'u' => (4, 16, "4 hexadecimal digits"),
                    'U' => (8, 16, "8 hexadecimal digits"),
                    '0'..='7' => (3, 8, "3 octal digits"),
                    _ => {
                        return Err((start + i, format!("unknown escape sequence \\{e}")));
                    }
                };
                // An octal escape's first digit is the character already read.
                let begin = if radix == 8 { j } else { j + 1 };
                let text = rest.get(begin..begin + digits).unwrap_or_default();
                let value = (text.len() == digits && text.chars().all(|d| d.is_digit(radix)))
                    .then(|| u32::from_str_radix(text, radix).ok())
                    .flatten();
                let Some(value) = value else {
                    return Err((
                        start + i,
                        format!("invalid escape sequence \\{e}: expected {what}"),
                    ));
                };
                // \x and octal escapes are bytes in Go; only ASCII ones make sense in UTF-8
                // text, the others are rejected rather than producing invalid text.
                let c = if radix == 8 || e == 'x' {
                    u8::try_from(value)
                        .ok()
                        .filter(u8::is_ascii)
                        .map(char::from)
                } else {
                    char::from_u32(value)
                };
                let Some(c) = c else {
                    return Err((
                        start + i,
                        format!(
                            "escape sequence \\{e}{} is not a valid character",
                            &text[usize::from(radix == 8)..]
                        ),
                    ));
                };
                out.push(c);
                for _ in 0..digits - usize::from(radix == 8) {
                    chars.next();
                }
            }
            c => out.push(c),
        }
    }
    Err((start, "unterminated string".to_owned()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_literals() {
        let cases = [
            ("interpreted", r#""abc" rest"#, Ok(("abc", 5))),
            ("raw", "`a\\b\"c` rest", Ok(("a\\b\"c", 7))),
            ("simple escapes", r#""a\tb\n\"\\""#, Ok(("a\tb\n\"\\", 12))),
            ("hex escape", r#""\x41""#, Ok(("A", 6))),
            ("octal escape", r#""\101""#, Ok(("A", 6))),
            ("unicode escapes", r#""\u00e9\U0001F600""#, Ok(("é😀", 18))),
            ("regex escape", r#""w\\w+""#, Ok(("w\\w+", 7))),
            ("unterminated", r#""abc"#, Err((0, "unterminated string"))),
            (
                "unterminated raw",
                "`abc",
                Err((0, "unterminated raw string")),
            ),
            (
                "newline in string",
                "\"a\nb\"",
                Err((0, "unterminated string")),
            ),
            (
                "unknown escape",
                r#""a\qb""#,
                Err((2, "unknown escape sequence \\q")),
            ),
            (
                "short hex",
                r#""\x4""#,
                Err((
                    1,
                    "invalid escape sequence \\x: expected 2 hexadecimal digits",
                )),
            ),
            (
                "non-ASCII byte",
                r#""\xff""#,
                Err((1, "escape sequence \\xff is not a valid character")),
            ),
            (
                "surrogate",
                r#""\ud800""#,
                Err((1, "escape sequence \\ud800 is not a valid character")),
            ),
        ];
        for (case, src, expected) in cases {
            let got = read_string(src, 0);
            let expected = expected
                .map(|(s, end)| (s.to_owned(), end))
                .map_err(|(at, m)| (at, m.to_owned()));
            assert_eq!(got, expected, "{case}");
        }
    }

    #[test]
    fn positions() {
        assert_eq!(position("abc", 2), (1, 3));
        assert_eq!(position("é€x", "é€".len()), (1, 3));
        assert_eq!(position("ab\ncd", 4), (2, 2));
        assert_eq!(describe_position("ab", 1), "column 2");
        assert_eq!(describe_position("ab\ncd", 4), "line 2, column 2");
    }
}
