//! Request-target normalisation: what the router and the upstream see as the path.
//!
//! Switchyard follows Traefik v3's entry-point pipeline, which is Go's `net/http` request
//! parsing followed by the entry point's `denyFragment`, `normalizePath` and `sanitizePath`
//! handlers (`pkg/server/server_entrypoint_tcp.go`). Each rule below names where it comes
//! from; where Traefik leaves a case undefined we chose the stricter reading and say so.
//!
//! # Forms (RFC 9112 §3.2)
//! * **origin-form** `/path[?query]`: the usual case. A leading `//` is a path, not an
//!   authority (Go's `url.ParseRequestURI` does the same), so `//a//b/` becomes `/a/b/`.
//! * **absolute-form** `scheme://authority[/path][?query]`: the scheme is lower-cased and
//!   the authority is kept as received in [`Target::authority`]; per RFC 9112 §3.2.2 it
//!   replaces the `Host` header (Go sets `Request.Host` from it), see
//!   [`Target::effective_host`]. An empty path becomes `/`.
//!   *Stricter than Go:* an empty authority and any userinfo (`user@`) are refused, as
//!   RFC 9110 §4.2.1 and §4.2.4 ask of a recipient.
//! * **asterisk-form**: only the exact target `*` (as Go) gives the path `*`; `*?x` is refused.
//! * **authority-form** (`CONNECT host:port`) is not a path; it is refused here and left to
//!   the caller, as Go also special-cases it by method before URL parsing.
//!
//! # Characters
//! * Control characters (0x00–0x1F, 0x7F) anywhere → error: Go's URL parser rejects them.
//!   A space → error: it cannot be part of an HTTP/1.1 request line.
//! * A raw `#` anywhere → error. Traefik's `denyFragment` answers 400 for a `#` in the path;
//!   *stricter than Traefik*, a `#` in the query is refused too, since a client never
//!   sends a fragment and backends disagree about where such a query ends.
//! * In the path, a `%` not followed by two hex digits → error (Go's unescape fails → 400).
//!   The query is not checked for escapes, as Go does not check `RawQuery` either.
//! * Path bytes outside RFC 3986 `pchar` (non-ASCII bytes, `"`, `<`, `>`, `\`, `^`, `` ` ``,
//!   `{`, `|`, `}`, and `?` when given to [`normalize_path`]) are percent-encoded with
//!   upper-case hex, which is what Go's `URL.EscapedPath` sends upstream. `[` and `]` are
//!   kept, as Go keeps them. *Unlike Go*, which re-encodes the whole decoded path when the
//!   raw path holds such a byte (and so turns `%2F` into `/`), the other escapes are kept.
//!
//! # Percent-encoding (Traefik `normalizePath`, RFC 3986 §6.2.2.1–2)
//! Escapes of unreserved characters (`ALPHA DIGIT - . _ ~`) are decoded; every other
//! escape is kept and its hex digits upper-cased, so `%2f` → `%2F` and encoded reserved
//! characters (`%2F`, `%3F`, `%23`, `%25`, …) stay encoded and never act as delimiters.
//!
//! # Dot-segments and slashes (Traefik `sanitizePath`)
//! Traefik cleans the escaped path with Go's `URL.JoinPath()`, i.e. `path.Clean` plus "keep
//! one trailing slash if the path ended in `/`". Decoding happens first, so `%2e%2e` is a
//! `..` segment; `..%2F` is not (the encoded slash is not a separator).
//! * runs of `/` merge into one; `.` segments vanish; `..` removes the segment before it
//!   and never climbs above the root (`/a/../../b` → `/b`);
//! * a trailing slash is kept (`/a/b/../` → `/a/`), an empty path becomes `/`;
//! * a final `.` or `..` segment leaves **no** trailing slash: `/a/b/..` → `/a`, where
//!   RFC 3986 §5.2.4 would give `/a/`. We follow Traefik so that `Path()` rules match the
//!   same requests as in Traefik.
//!
//! # Query
//! Passed through byte for byte (an empty query `?` stays `Some("")`), apart from the
//! control-character, space and `#` checks above.
//!
//! # Cost
//! A target that is already normal is returned borrowed (`Cow::Borrowed`) after one scan;
//! otherwise the path is rebuilt in a single allocation.

use std::borrow::Cow;

use crate::NormalizeError;

/// A normalised request target.
///
/// Fields borrow from the input whenever it was already normal; see [`Target::into_owned`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Target<'a> {
    /// Lower-cased scheme of an absolute-form target (`http`, `https`, …); `None` otherwise.
    pub scheme: Option<Cow<'a, str>>,
    /// Authority (`host[:port]`) of an absolute-form target, as received; `None` otherwise.
    pub authority: Option<Cow<'a, str>>,
    /// Normalised path: starts with `/`, or is exactly `*` for asterisk-form.
    pub path: Cow<'a, str>,
    /// Query without the `?`, unchanged; `Some("")` for a bare trailing `?`.
    pub query: Option<Cow<'a, str>>,
}

impl<'a> Target<'a> {
    /// Whether this is the asterisk-form target of `OPTIONS *`.
    pub fn is_asterisk(&self) -> bool {
        self.authority.is_none() && self.path == "*"
    }

    /// Whether the target was in absolute-form (`scheme://authority/...`).
    pub fn is_absolute_form(&self) -> bool {
        self.authority.is_some()
    }

    /// The host that routing must use: the absolute-form authority when there is one
    /// (RFC 9112 §3.2.2: it overrides the `Host` header), else `host_header`.
    pub fn effective_host<'h>(&'h self, host_header: &'h str) -> &'h str {
        match &self.authority {
            Some(authority) => authority,
            None => host_header,
        }
    }

    /// The origin-form target to send upstream: path, then `?query` when there was one.
    pub fn request_uri(&self) -> Cow<'_, str> {
        match &self.query {
            None => Cow::Borrowed(&self.path),
            Some(query) => {
                let mut uri = String::with_capacity(self.path.len() + 1 + query.len());
                uri.push_str(&self.path);
                uri.push('?');
                uri.push_str(query);
                Cow::Owned(uri)
            }
        }
    }

    /// Detaches the target from the input it borrows from.
    pub fn into_owned(self) -> Target<'static> {
        Target {
            scheme: self.scheme.map(|s| Cow::Owned(s.into_owned())),
            authority: self.authority.map(|a| Cow::Owned(a.into_owned())),
            path: Cow::Owned(self.path.into_owned()),
            query: self.query.map(|q| Cow::Owned(q.into_owned())),
        }
    }
}

/// Normalises an HTTP request target (the second word of the request line).
///
/// See the [module documentation](self) for every rule and where it comes from.
///
/// # Errors
/// A [`NormalizeError`] for targets the proxy must answer with 400 Bad Request.
pub fn normalize_target(target: &str) -> Result<Target<'_>, NormalizeError> {
    if target.is_empty() {
        return Err(NormalizeError::Empty);
    }
    // The whole target is checked first so that the first bad byte is reported, whichever
    // component it is in; the path scan below repeats these cheap checks for its own bytes.
    check_forbidden_bytes(target.as_bytes(), 0)?;

    if target == "*" {
        return Ok(Target {
            scheme: None,
            authority: None,
            path: Cow::Borrowed("*"),
            query: None,
        });
    }

    let (before_query, query) = match target.split_once('?') {
        Some((before, query)) => (before, Some(Cow::Borrowed(query))),
        None => (target, None),
    };

    if before_query.starts_with('/') {
        return Ok(Target {
            scheme: None,
            authority: None,
            path: normalize_path_at(before_query, 0)?,
            query,
        });
    }

    let (scheme, rest) = before_query
        .split_once(':')
        .ok_or(NormalizeError::InvalidForm)?;
    if !is_valid_scheme(scheme) {
        return Err(NormalizeError::InvalidForm);
    }
    let rest = rest.strip_prefix("//").ok_or(NormalizeError::InvalidForm)?;
    let (authority, path) = match rest.find('/') {
        Some(slash) => rest.split_at(slash),
        None => (rest, ""),
    };
    validate_authority(authority)?;

    let path_offset = scheme.len() + "://".len() + authority.len();
    let path = if path.is_empty() {
        Cow::Borrowed("/")
    } else {
        normalize_path_at(path, path_offset)?
    };
    let scheme = if scheme.bytes().any(|b| b.is_ascii_uppercase()) {
        Cow::Owned(scheme.to_ascii_lowercase())
    } else {
        Cow::Borrowed(scheme)
    };

    Ok(Target {
        scheme: Some(scheme),
        authority: Some(Cow::Borrowed(authority)),
        path,
        query,
    })
}

/// Normalises a bare path (no query) with the same rules as [`normalize_target`].
///
/// Meant for paths produced after routing (e.g. by path-rewriting middlewares). An empty
/// path gives `/`; a `?` in the path is a literal character and is encoded as `%3F`.
///
/// # Errors
/// [`NormalizeError::InvalidForm`] if the path does not start with `/`, and the character
/// and percent-encoding errors of [`normalize_target`].
pub fn normalize_path(path: &str) -> Result<Cow<'_, str>, NormalizeError> {
    if path.is_empty() {
        return Ok(Cow::Borrowed("/"));
    }
    normalize_path_at(path, 0)
}

/// Normalises `path`, which must start with `/`; `offset` is its position in the target,
/// for error positions.
fn normalize_path_at(path: &str, offset: usize) -> Result<Cow<'_, str>, NormalizeError> {
    if !path.starts_with('/') {
        return Err(NormalizeError::InvalidForm);
    }
    if scan_path(path.as_bytes(), offset)? {
        Ok(Cow::Owned(rebuild_path(path.as_bytes())))
    } else {
        Ok(Cow::Borrowed(path))
    }
}

/// Validates the path and tells whether it differs from its normal form.
fn scan_path(path: &[u8], offset: usize) -> Result<bool, NormalizeError> {
    let mut needs_rewrite = false;
    let mut segment_start = 0;
    let mut i = 0;
    while i < path.len() {
        let byte = path[i];
        match byte {
            b'%' => {
                let (hi, lo) =
                    escape_digits(path, i).ok_or(NormalizeError::InvalidPercentEncoding {
                        position: offset + i,
                    })?;
                let lower_hex =
                    path[i + 1].is_ascii_lowercase() || path[i + 2].is_ascii_lowercase();
                if lower_hex || is_unreserved((hi << 4) | lo) {
                    needs_rewrite = true;
                }
                i += 3;
                continue;
            }
            b'/' => {
                let segment = &path[segment_start..i];
                // `i > 0` skips the empty "segment" before the leading slash.
                if (i > 0 && segment.is_empty()) || is_dot_segment(segment) {
                    needs_rewrite = true;
                }
                segment_start = i + 1;
            }
            b'#' => {
                return Err(NormalizeError::Fragment {
                    position: offset + i,
                });
            }
            _ if is_forbidden(byte) => {
                return Err(NormalizeError::InvalidCharacter {
                    byte,
                    position: offset + i,
                });
            }
            _ if !is_pchar(byte) => needs_rewrite = true,
            _ => {}
        }
        i += 1;
    }
    if is_dot_segment(&path[segment_start..]) {
        needs_rewrite = true;
    }
    Ok(needs_rewrite)
}

/// Builds the normal form of a path already validated by [`scan_path`].
fn rebuild_path(path: &[u8]) -> String {
    let mut out = String::with_capacity(path.len() + 1);
    let trailing_slash = path.last() == Some(&b'/');
    for raw_segment in path.split(|&b| b == b'/') {
        let mark = out.len();
        out.push('/');
        decode_segment_into(&mut out, raw_segment);
        match &out[mark + 1..] {
            "" | "." => out.truncate(mark),
            ".." => {
                out.truncate(mark);
                // Segments never contain '/', so the last '/' starts the previous segment;
                // with none left we are at the root and `..` is dropped.
                if let Some(previous) = out.rfind('/') {
                    out.truncate(previous);
                }
            }
            _ => {}
        }
    }
    if out.is_empty() || trailing_slash {
        out.push('/');
    }
    out
}

fn decode_segment_into(out: &mut String, segment: &[u8]) {
    let mut i = 0;
    while i < segment.len() {
        let byte = segment[i];
        if byte == b'%' {
            if let Some((hi, lo)) = escape_digits(segment, i) {
                let decoded = (hi << 4) | lo;
                if is_unreserved(decoded) {
                    out.push(char::from(decoded));
                } else {
                    push_escape(out, decoded);
                }
                i += 3;
                continue;
            }
            // Not reachable after `scan_path`; encoding the '%' keeps the output valid.
            push_escape(out, byte);
        } else if is_pchar(byte) {
            out.push(char::from(byte));
        } else {
            push_escape(out, byte);
        }
        i += 1;
    }
}

fn push_escape(out: &mut String, byte: u8) {
    const HEX: &[u8; 16] = b"0123456789ABCDEF";
    out.push('%');
    out.push(char::from(HEX[usize::from(byte >> 4)]));
    out.push(char::from(HEX[usize::from(byte & 0x0F)]));
}

/// The two hex digits of the escape starting at `at`, if well formed.
fn escape_digits(bytes: &[u8], at: usize) -> Option<(u8, u8)> {
    let hi = hex_value(*bytes.get(at + 1)?)?;
    let lo = hex_value(*bytes.get(at + 2)?)?;
    Some((hi, lo))
}

fn hex_value(byte: u8) -> Option<u8> {
    match byte {
        b'0'..=b'9' => Some(byte - b'0'),
        b'a'..=b'f' => Some(byte - b'a' + 10),
        b'A'..=b'F' => Some(byte - b'A' + 10),
        _ => None,
    }
}

fn is_dot_segment(segment: &[u8]) -> bool {
    segment == b"." || segment == b".."
}

/// RFC 3986 §2.3 unreserved characters.
fn is_unreserved(byte: u8) -> bool {
    byte.is_ascii_alphanumeric() || matches!(byte, b'-' | b'.' | b'_' | b'~')
}

/// Whether `byte` may appear unescaped in a normalised path: a path-segment byte or `/`
/// (Go's `validEncoded`). Middlewares that rewrite paths escape everything else.
pub fn is_path_byte(byte: u8) -> bool {
    byte == b'/' || is_pchar(byte)
}

/// Bytes that may appear literally in a normal path segment: RFC 3986 `pchar` without
/// `%` (handled as escapes), plus `[` and `]`, which Go leaves alone.
fn is_pchar(byte: u8) -> bool {
    is_unreserved(byte)
        || matches!(
            byte,
            b'!' | b'$'
                | b'&'
                | b'\''
                | b'('
                | b')'
                | b'*'
                | b'+'
                | b','
                | b';'
                | b'='
                | b':'
                | b'@'
                | b'['
                | b']'
        )
}

/// Bytes that make any request target invalid: controls and space.
fn is_forbidden(byte: u8) -> bool {
    byte <= b' ' || byte == 0x7F
}

fn check_forbidden_bytes(bytes: &[u8], offset: usize) -> Result<(), NormalizeError> {
    for (i, &byte) in bytes.iter().enumerate() {
        if byte == b'#' {
            return Err(NormalizeError::Fragment {
                position: offset + i,
            });
        }
        if is_forbidden(byte) {
            return Err(NormalizeError::InvalidCharacter {
                byte,
                position: offset + i,
            });
        }
    }
    Ok(())
}

/// RFC 3986 §3.1: `ALPHA *( ALPHA / DIGIT / "+" / "-" / "." )`.
fn is_valid_scheme(scheme: &str) -> bool {
    let mut bytes = scheme.bytes();
    bytes
        .next()
        .is_some_and(|first| first.is_ascii_alphabetic())
        && bytes.all(|b| b.is_ascii_alphanumeric() || matches!(b, b'+' | b'-' | b'.'))
}

/// Accepts `host[:port]` where host is a reg-name, an IPv4 address or a bracketed IPv6
/// address; refuses userinfo and empty hosts.
fn validate_authority(authority: &str) -> Result<(), NormalizeError> {
    let invalid = NormalizeError::InvalidAuthority;
    let (host_ok, port) = if let Some(bracketed) = authority.strip_prefix('[') {
        let (inner, after) = bracketed.split_once(']').ok_or(invalid.clone())?;
        let inner_ok = inner.contains(':')
            && inner
                .bytes()
                .all(|b| b.is_ascii_hexdigit() || matches!(b, b':' | b'.'));
        let port = match after {
            "" => "",
            _ => after.strip_prefix(':').ok_or(invalid.clone())?,
        };
        (inner_ok, port)
    } else {
        let (host, port) = authority.rsplit_once(':').unwrap_or((authority, ""));
        (!host.is_empty() && is_reg_name(host), port)
    };
    if host_ok && port.bytes().all(|b| b.is_ascii_digit()) {
        Ok(())
    } else {
        Err(invalid)
    }
}

/// RFC 3986 `reg-name` (which also covers IPv4 addresses).
fn is_reg_name(host: &str) -> bool {
    let bytes = host.as_bytes();
    let mut i = 0;
    while i < bytes.len() {
        let byte = bytes[i];
        if byte == b'%' {
            if escape_digits(bytes, i).is_none() {
                return false;
            }
            i += 3;
            continue;
        }
        let sub_delim = matches!(
            byte,
            b'!' | b'$' | b'&' | b'\'' | b'(' | b')' | b'*' | b'+' | b',' | b';' | b'='
        );
        if !(is_unreserved(byte) || sub_delim) {
            return false;
        }
        i += 1;
    }
    true
}

#[cfg(test)]
mod tests;
