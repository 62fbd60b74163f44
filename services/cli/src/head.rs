//! Reading a raw HTTP/1.1 request head (request line and header fields).

/// A request head.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Head {
    /// The method, as sent.
    pub method: String,
    /// The request target, as sent.
    pub target: String,
    /// Whether the request line says HTTP/1.1 (as opposed to HTTP/1.0).
    pub http11: bool,
    /// Header fields in order, names as sent.
    pub headers: Vec<(String, String)>,
}

/// Why a head is unusable.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum HeadError {
    /// Nothing was given.
    #[error("empty input: expected an HTTP/1.1 request head")]
    Empty,
    /// The first line is not `METHOD TARGET HTTP/x.y`.
    #[error("line 1: expected `METHOD TARGET HTTP/1.1`, got {0:?}")]
    RequestLine(String),
    /// A header line has no colon or an invalid name.
    #[error("line {line}: invalid header field {text:?}")]
    Header {
        /// 1-based line number.
        line: usize,
        /// The line.
        text: String,
    },
    /// Not UTF-8.
    #[error("the request head is not valid UTF-8")]
    Encoding,
}

fn is_token(s: &str) -> bool {
    !s.is_empty()
        && s.bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"!#$%&'*+-.^_`|~".contains(&b))
}

/// Parses a head; lines end with CRLF or LF, the head ends at the first empty line or at
/// the end of input.
pub fn parse(input: &[u8]) -> Result<Head, HeadError> {
    let text = std::str::from_utf8(input).map_err(|_| HeadError::Encoding)?;
    let mut lines = text.split('\n').map(|l| l.strip_suffix('\r').unwrap_or(l));
    let first = lines
        .next()
        .filter(|l| !l.trim().is_empty())
        .ok_or(HeadError::Empty)?;
    let parts: Vec<&str> = first.split(' ').collect();
    let [method, target, version] = parts.as_slice() else {
        return Err(HeadError::RequestLine(first.to_owned()));
    };
    if !is_token(method) || target.is_empty() || !version.starts_with("HTTP/1.") {
        return Err(HeadError::RequestLine(first.to_owned()));
    }
    let mut headers = Vec::new();
    for (i, line) in lines.enumerate() {
        if line.is_empty() {
            break;
        }
        let (name, value) = line
            .split_once(':')
            .filter(|(n, _)| is_token(n))
            .ok_or_else(|| HeadError::Header {
                line: i + 2,
                text: line.to_owned(),
            })?;
        headers.push((name.to_owned(), value.trim().to_owned()));
    }
    Ok(Head {
        method: (*method).to_owned(),
        target: (*target).to_owned(),
        http11: *version != "HTTP/1.0",
        headers,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_heads() {
        let head =
            parse(b"GET /a?b=1 HTTP/1.1\r\nHost: Example.com\r\nX-A:  1 \r\n\r\nbody").unwrap();
        assert_eq!(head.method, "GET");
        assert_eq!(head.target, "/a?b=1");
        assert_eq!(
            head.headers,
            vec![
                ("Host".into(), "Example.com".into()),
                ("X-A".into(), "1".into())
            ]
        );
        assert!(parse(b"GET / HTTP/1.0\nHost: a\n").is_ok());
    }

    #[test]
    fn rejects_bad_heads() {
        let cases: [(&str, &[u8], HeadError); 5] = [
            ("empty", b"", HeadError::Empty),
            (
                "two words",
                b"GET /\r\n",
                HeadError::RequestLine("GET /".into()),
            ),
            (
                "http2",
                b"GET / HTTP/2\r\n",
                HeadError::RequestLine("GET / HTTP/2".into()),
            ),
            (
                "bad header",
                b"GET / HTTP/1.1\r\nno colon\r\n",
                HeadError::Header {
                    line: 2,
                    text: "no colon".into(),
                },
            ),
            (
                "binary",
                b"GET / HTTP/1.1\r\n\xff: x\r\n",
                HeadError::Encoding,
            ),
        ];
        for (case, input, expected) in cases {
            assert_eq!(parse(input), Err(expected), "{case}");
        }
    }
}
