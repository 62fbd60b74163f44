//! Helpers the path-rewriting and redirecting middlewares share: Go's regexp replacement,
//! Go's percent-decoding and path-cleaning rules, the reconstructed request URL, and the
//! small responses Traefik writes itself (`http.Error`, redirects).
//!
//! Paths are handled in their escaped form, the one [`ProxyRequest::path`] holds and the
//! one sent upstream (Go's `URL.EscapedPath()`); where Traefik compares against the
//! decoded `URL.Path`, the helpers decode on the fly.

use std::borrow::Cow;
use switchyard_http_normalize::is_path_byte;

use actix_web::HttpResponse;
use actix_web::http::header::{self, HeaderName, HeaderValue};
use actix_web::http::{Method, StatusCode};
use regex::{Captures, Regex};

use crate::middleware::BuildError;
use crate::request::ProxyRequest;

/// Go's `Regexp.ReplaceAllString`: every non-overlapping match of `regex` in `src` is
/// replaced by `template`, expanded as [`go_expand`] does.
pub fn go_replace_all(regex: &Regex, src: &str, template: &str) -> String {
    let mut out = String::with_capacity(src.len() + template.len());
    let mut last = 0;
    for caps in regex.captures_iter(src) {
        let Some(whole) = caps.get(0) else { continue };
        out.push_str(&src[last..whole.start()]);
        go_expand(&mut out, template, &caps);
        last = whole.end();
    }
    out.push_str(&src[last..]);
    out
}

/// Go's `Regexp.Expand`: appends `template` to `dst` with `$1`, `${1}`, `$name` and
/// `${name}` replaced by the captured text (empty when the group did not take part or does
/// not exist) and `$$` by `$`.
///
/// As in Go, an unbraced name is the longest run of letters, digits and `_` (so `$1x` is
/// the group named `1x`, not group 1 then `x`), a number with a leading zero is a name,
/// and a malformed reference (`$` alone, `${` without `}`, `${}`) keeps the `$` as text.
pub fn go_expand(dst: &mut String, template: &str, caps: &Captures<'_>) {
    let mut rest = template;
    while let Some(dollar) = rest.find('$') {
        dst.push_str(&rest[..dollar]);
        rest = &rest[dollar + 1..];
        if let Some(after) = rest.strip_prefix('$') {
            dst.push('$');
            rest = after;
            continue;
        }
        let Some((reference, after)) = extract_reference(rest) else {
            dst.push('$');
            continue;
        };
        rest = after;
        let group = match reference {
            Reference::Number(n) => caps.get(n),
            Reference::Name(name) => caps.name(name),
        };
        if let Some(group) = group {
            dst.push_str(group.as_str());
        }
    }
    dst.push_str(rest);
}

enum Reference<'a> {
    Number(usize),
    Name(&'a str),
}

/// Go's `extract`: the reference right after a `$`, and the template after it.
fn extract_reference(s: &str) -> Option<(Reference<'_>, &str)> {
    let (braced, body) = match s.strip_prefix('{') {
        Some(body) => (true, body),
        None => (false, s),
    };
    let len = body
        .char_indices()
        .find(|&(_, c)| !(c.is_alphabetic() || c.is_numeric() || c == '_'))
        .map_or(body.len(), |(i, _)| i);
    if len == 0 {
        return None;
    }
    let name = &body[..len];
    let rest = if braced {
        body[len..].strip_prefix('}')?
    } else {
        &body[len..]
    };
    let is_number =
        name.bytes().all(|b| b.is_ascii_digit()) && !(name.len() > 1 && name.starts_with('0'));
    // Go gives up on numbers from 1e8 on and looks them up as names, which never match.
    let reference = match name.parse::<usize>() {
        Ok(n) if is_number && n < 100_000_000 => Reference::Number(n),
        _ => Reference::Name(name),
    };
    Some((reference, rest))
}

fn hex_value(b: u8) -> Option<u8> {
    match b {
        b'0'..=b'9' => Some(b - b'0'),
        b'a'..=b'f' => Some(b - b'a' + 10),
        b'A'..=b'F' => Some(b - b'A' + 10),
        _ => None,
    }
}

/// The byte at `raw[i..]` once decoded and how many raw bytes it took: `%XX` is one byte.
fn decode_at(raw: &[u8], i: usize) -> (u8, usize) {
    if raw[i] == b'%'
        && i + 2 < raw.len()
        && let (Some(hi), Some(lo)) = (hex_value(raw[i + 1]), hex_value(raw[i + 2]))
    {
        return (hi << 4 | lo, 3);
    }
    (raw[i], 1)
}

/// When the decoded form of the escaped path `raw` starts with `prefix` (Go's
/// `strings.HasPrefix(req.URL.Path, prefix)`), how many bytes of `raw` encode it
/// (Traefik's `encodedPrefixLen`). Decodes as it goes, without allocating.
pub fn decoded_prefix_len(raw: &str, prefix: &[u8]) -> Option<usize> {
    let raw = raw.as_bytes();
    let mut i = 0;
    for &expected in prefix {
        if i >= raw.len() {
            return None;
        }
        let (byte, width) = decode_at(raw, i);
        if byte != expected {
            return None;
        }
        i += width;
    }
    Some(i)
}

/// Go's `url.PathUnescape` applied to an escaped path: borrowed when there is nothing to
/// decode. Invalid escapes are kept as they are (the callers check them first).
pub fn percent_decode(raw: &str) -> Cow<'_, [u8]> {
    if !raw.contains('%') {
        return Cow::Borrowed(raw.as_bytes());
    }
    let bytes = raw.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        let (byte, width) = decode_at(bytes, i);
        out.push(byte);
        i += width;
    }
    Cow::Owned(out)
}

/// Go's `url.PathUnescape` validity check: every `%` starts a two-hex-digit escape. The
/// error is Go's message, which Traefik sends as the body of its 500 answer.
pub fn check_escapes(raw: &str) -> Result<(), String> {
    let bytes = raw.as_bytes();
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'%' {
            let valid = i + 2 < bytes.len()
                && hex_value(bytes[i + 1]).is_some()
                && hex_value(bytes[i + 2]).is_some();
            if !valid {
                let end = (i + 3).min(bytes.len());
                let bad = String::from_utf8_lossy(&bytes[i..end]);
                return Err(format!("invalid URL escape {bad:?}"));
            }
            i += 3;
        } else {
            i += 1;
        }
    }
    Ok(())
}

/// Bytes Go's URL parser accepts in an authority (`userinfo@host:port`).
fn is_host_byte(b: u8) -> bool {
    b >= 0x80
        || b.is_ascii_alphanumeric()
        || matches!(
            b,
            b'-' | b'_'
                | b'.'
                | b'~'
                | b'!'
                | b'$'
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
                | b'['
                | b']'
                | b'<'
                | b'>'
                | b'"'
                | b'%'
                | b'@'
        )
}

fn escape_bytes(text: &str, keep: impl Fn(u8) -> bool) -> Cow<'_, str> {
    if text.bytes().all(&keep) {
        return Cow::Borrowed(text);
    }
    const HEX: &[u8; 16] = b"0123456789ABCDEF";
    let mut out = String::with_capacity(text.len() + 8);
    for b in text.bytes() {
        if keep(b) {
            out.push(char::from(b));
        } else {
            out.push('%');
            out.push(char::from(HEX[usize::from(b >> 4)]));
            out.push(char::from(HEX[usize::from(b & 0xF)]));
        }
    }
    Cow::Owned(out)
}

/// An escaped path made safe to send: existing `%XX` escapes are kept, bytes that cannot
/// appear in a path (space, `?`, `#`, non-ASCII, ...) are percent-encoded with upper-case
/// hex, as the entry point's normaliser does. Go would instead re-escape the whole decoded
/// path in that case (turning `%2F` into `/`); keeping the escapes is the proxy's rule.
pub fn escape_raw_path(raw: &str) -> Cow<'_, str> {
    escape_bytes(raw, |b| b == b'%' || is_path_byte(b))
}

/// A decoded path segment (an `addPrefix` prefix) in escaped form: like
/// [`escape_raw_path`], but a `%` is text and becomes `%25`, since Go adds the prefix to
/// the decoded `URL.Path`.
pub fn escape_decoded_path(decoded: &str) -> Cow<'_, str> {
    escape_bytes(decoded, is_path_byte)
}

/// Traefik's `ensureLeadingSlash`, except that an empty path becomes `/`: Go sends an
/// empty path as `/`, and the proxy keeps paths non-empty.
pub fn with_leading_slash(path: &str) -> String {
    if path.starts_with('/') {
        path.to_owned()
    } else {
        let mut out = String::with_capacity(path.len() + 1);
        out.push('/');
        out.push_str(path);
        out
    }
}

/// Whether Go's `URL.JoinPath()` leaves the escaped path `path` (starting with `/`)
/// unchanged: no empty segment but a trailing one, no `.` or `..` segment. Traefik
/// answers 400 when a rewrite produces a path that cleaning would change.
pub fn is_clean_path(path: &str) -> bool {
    let Some(body) = path.strip_prefix('/') else {
        return false;
    };
    let body = body.strip_suffix('/').unwrap_or(body);
    if body.is_empty() {
        return true;
    }
    body.split('/')
        .all(|segment| !matches!(segment, "" | "." | ".."))
}

/// The request URL as Traefik's `redirectRegex` rebuilds it:
/// `scheme://host[:port]/path[?query]`, the scheme being how the client reached the entry
/// point and the host the `Host` header as received.
pub fn request_url(req: &ProxyRequest) -> String {
    let query_len = req.query.as_ref().map_or(0, |q| q.len() + 1);
    let mut url =
        String::with_capacity(req.scheme.len() + 3 + req.host.len() + req.path.len() + query_len);
    url.push_str(req.scheme);
    url.push_str("://");
    url.push_str(&req.host);
    url.push_str(&req.path);
    if let Some(query) = &req.query {
        url.push('?');
        url.push_str(query);
    }
    url
}

/// The `Location` value for a redirect to `url`, or `None` where Go's `url.Parse` fails
/// (control characters, a bad `%` escape outside the query). The path is escaped as Go's
/// `URL.String()` would.
pub fn location(url: &str) -> Option<HeaderValue> {
    if url.bytes().any(|b| b < 0x20 || b == 0x7f) {
        return None;
    }
    let (before_fragment, fragment) = match url.split_once('#') {
        Some((before, fragment)) => (before, Some(fragment)),
        None => (url, None),
    };
    let (head, query) = match before_fragment.split_once('?') {
        Some((head, query)) => (head, Some(query)),
        None => (before_fragment, None),
    };
    check_escapes(head).ok()?;
    if let Some(fragment) = fragment {
        check_escapes(fragment).ok()?;
    }
    let (authority_start, path_start) = match head.find("://") {
        Some(sep) => (
            sep + 3,
            head[sep + 3..]
                .find('/')
                .map_or(head.len(), |p| sep + 3 + p),
        ),
        None => (0, 0),
    };
    if !head[authority_start..path_start].bytes().all(is_host_byte) {
        return None;
    }
    let path = escape_raw_path(&head[path_start..]);
    let value = if matches!(path, Cow::Borrowed(_)) {
        Cow::Borrowed(url)
    } else {
        let mut rebuilt = String::with_capacity(url.len() + 8);
        rebuilt.push_str(&head[..path_start]);
        rebuilt.push_str(&path);
        if let Some(query) = query {
            rebuilt.push('?');
            rebuilt.push_str(query);
        }
        if let Some(fragment) = fragment {
            rebuilt.push('#');
            rebuilt.push_str(fragment);
        }
        Cow::Owned(rebuilt)
    };
    HeaderValue::from_str(&value).ok()
}

/// Traefik's redirect answer: 302 (301 when permanent) for GET, 307 (308 when permanent)
/// for every other method, so that the method and body are kept; the body is the status
/// text.
pub fn redirect(method: &Method, location: HeaderValue, permanent: bool) -> HttpResponse {
    let status = match (permanent, *method == Method::GET) {
        (false, true) => StatusCode::FOUND,
        (false, false) => StatusCode::TEMPORARY_REDIRECT,
        (true, true) => StatusCode::MOVED_PERMANENTLY,
        (true, false) => StatusCode::PERMANENT_REDIRECT,
    };
    HttpResponse::build(status)
        .insert_header((header::LOCATION, location))
        .content_type("text/plain; charset=utf-8")
        .body(status.canonical_reason().unwrap_or(""))
}

/// Go's `http.Error`: a plain-text body with a newline, `nosniff`.
pub fn text_error(status: StatusCode, message: &str) -> HttpResponse {
    HttpResponse::build(status)
        .content_type("text/plain; charset=utf-8")
        .insert_header((
            header::X_CONTENT_TYPE_OPTIONS,
            HeaderValue::from_static("nosniff"),
        ))
        .body(format!("{message}\n"))
}

/// `http.Error(rw, http.StatusText(status), status)`, as Traefik answers refused rewrites.
pub fn status_error(status: StatusCode) -> HttpResponse {
    text_error(status, status.canonical_reason().unwrap_or(""))
}

/// A configured header name, or the reason it cannot be one.
pub fn header_name(name: &str, what: &str) -> Result<HeaderName, BuildError> {
    HeaderName::from_bytes(name.as_bytes())
        .map_err(|_| BuildError(format!("{what}: {name:?} is not a valid header name")))
}

/// A configured header value, or the reason it cannot be one.
pub fn header_value(value: &str, what: &str) -> Result<HeaderValue, BuildError> {
    HeaderValue::from_str(value)
        .map_err(|_| BuildError(format!("{what}: {value:?} is not a valid header value")))
}

/// A regexp in Go syntax (Traefik compiles them with Go's `regexp`), compiled once.
pub fn go_regex(pattern: &str, what: &str) -> Result<Regex, BuildError> {
    switchyard_rules::Pattern::new(pattern)
        .map(|p| p.regex().clone())
        .map_err(|e| {
            BuildError(format!(
                "{what}: invalid regular expression {pattern:?}: {e}"
            ))
        })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn go_replace_all_expands_like_go() {
        // (case, regex, input, template, expected) — expectations from Go's ReplaceAllString.
        let cases = [
            (
                "numbered group",
                r"^/api/(.*)",
                "/api/users",
                "/v2/$1",
                "/v2/users",
            ),
            (
                "braced group",
                r"^/api/(.*)",
                "/api/users",
                "/v2/${1}x",
                "/v2/usersx",
            ),
            (
                "$1x is a name",
                r"^/api/(.*)",
                "/api/users",
                "/v2/$1x",
                "/v2/",
            ),
            (
                "named group",
                r"^/(?P<ver>v\d)/(.*)",
                "/v1/a",
                "/$ver-${2}",
                "/v1-a",
            ),
            ("dollar dollar", r"a", "a", "$$1", "$1"),
            ("lone dollar", r"a", "a", "x$", "x$"),
            ("dollar then punctuation", r"a", "a", "$-", "$-"),
            ("unclosed brace", r"(a)", "a", "${1", "${1"),
            ("empty braces", r"a", "a", "${}", "${}"),
            ("missing group is empty", r"(a)", "a", "[$2]", "[]"),
            ("unmatched optional group", r"(a)|(b)", "a", "[$2]", "[]"),
            ("leading zero is a name", r"(a)", "a", "$01", ""),
            ("whole match", r"b+", "abbbc", "<$0>", "a<bbb>c"),
            ("all matches", r"o", "foo", "0", "f00"),
            ("empty matches as Go", r"a*", "baaac", "X", "XbXcX"),
            ("no match", r"z", "abc", "$1", "abc"),
        ];
        for (case, re, input, template, expected) in cases {
            let re = go_regex(re, "test").expect(case);
            assert_eq!(go_replace_all(&re, input, template), expected, "{case}");
        }
    }

    #[test]
    fn go_regex_classes_are_ascii() {
        let re = go_regex(r"^\w+$", "test").expect("compiles");
        assert!(re.is_match("abc_1"));
        assert!(!re.is_match("é"));
        assert!(go_regex("a(b", "test").is_err());
    }

    #[test]
    fn decoded_prefix_len_table() {
        let cases = [
            ("plain", "/api/x", "/api", Some(4)),
            ("exact", "/api", "/api", Some(4)),
            ("shorter path", "/ap", "/api", None),
            ("mismatch", "/apx", "/api", None),
            ("escaped slash counts once", "/a%2Fb", "/a/", Some(5)),
            ("lower-case hex", "/a%2fb", "/a/", Some(5)),
            ("escape not in prefix", "/api/a%2Fb", "/api", Some(4)),
            ("empty prefix", "/x", "", Some(0)),
        ];
        for (case, raw, prefix, expected) in cases {
            assert_eq!(
                decoded_prefix_len(raw, prefix.as_bytes()),
                expected,
                "{case}"
            );
        }
    }

    #[test]
    fn percent_decode_and_check() {
        assert_eq!(&*percent_decode("/a%2Fb%41"), b"/a/bA");
        assert!(matches!(percent_decode("/plain"), Cow::Borrowed(_)));
        assert_eq!(check_escapes("/a%2F"), Ok(()));
        assert_eq!(
            check_escapes("/a%zzb"),
            Err(r#"invalid URL escape "%zz""#.to_owned())
        );
        assert_eq!(
            check_escapes("/a%2"),
            Err(r#"invalid URL escape "%2""#.to_owned())
        );
    }

    #[test]
    fn escaping_table() {
        let cases = [
            (
                "kept",
                "/a/b-c_d.e~f!$&'()*+,;=:@[]",
                "/a/b-c_d.e~f!$&'()*+,;=:@[]",
            ),
            ("space", "/a b", "/a%20b"),
            ("question mark", "/a?b", "/a%3Fb"),
            ("non-ascii", "/é", "/%C3%A9"),
            ("escapes kept", "/a%2Fb", "/a%2Fb"),
        ];
        for (case, raw, expected) in cases {
            assert_eq!(escape_raw_path(raw), expected, "{case}");
        }
        assert_eq!(escape_decoded_path("/100%"), "/100%25");
        assert_eq!(escape_decoded_path("/a b"), "/a%20b");
    }

    #[test]
    fn clean_paths() {
        let cases = [
            ("/", true),
            ("/a", true),
            ("/a/", true),
            ("/a/b", true),
            ("/./b", false),
            ("/../b", false),
            ("/a/..", false),
            ("/a/.", false),
            ("//a", false),
            ("/a//b", false),
            ("/a.", true),
            ("/..a", true),
            ("/a%2F..%2Fb", true),
            ("a", false),
        ];
        for (path, expected) in cases {
            assert_eq!(is_clean_path(path), expected, "{path}");
        }
    }

    #[test]
    fn location_table() {
        let cases = [
            (
                "plain",
                "https://example.com/a?b=c",
                Some("https://example.com/a?b=c"),
            ),
            (
                "path escaped",
                "https://example.com/a b",
                Some("https://example.com/a%20b"),
            ),
            (
                "query kept as is",
                "https://example.com/a?b c",
                Some("https://example.com/a?b c"),
            ),
            ("relative", "/a b?x", Some("/a%20b?x")),
            ("control character", "https://example.com/\n", None),
            ("bad escape", "https://example.com/%zz", None),
            (
                "bad escape in query is fine",
                "https://example.com/?%zz",
                Some("https://example.com/?%zz"),
            ),
            (
                "no path",
                "https://example.com",
                Some("https://example.com"),
            ),
            ("space in the host", "https://exa mple.com/", None),
            ("brace in the host", "https://exa{mple.com/", None),
        ];
        for (case, url, expected) in cases {
            let got = location(url);
            assert_eq!(
                got.as_ref().and_then(|v| v.to_str().ok()),
                expected,
                "{case}"
            );
        }
    }

    #[test]
    fn redirect_status_depends_on_method() {
        let cases = [
            (Method::GET, false, 302),
            (Method::GET, true, 301),
            (Method::POST, false, 307),
            (Method::POST, true, 308),
            (Method::HEAD, false, 307),
        ];
        for (method, permanent, status) in cases {
            let response = redirect(&method, HeaderValue::from_static("/x"), permanent);
            assert_eq!(
                response.status().as_u16(),
                status,
                "{method} permanent={permanent}"
            );
            assert_eq!(
                response
                    .headers()
                    .get(header::LOCATION)
                    .and_then(|v| v.to_str().ok()),
                Some("/x")
            );
        }
    }
}
