use std::borrow::Cow;

use super::{Target, normalize_path, normalize_target};
use crate::NormalizeError;

enum Want {
    Ok(&'static str, Option<&'static str>),
    Err(NormalizeError),
}

fn invalid_char(byte: u8, position: usize) -> Want {
    Want::Err(NormalizeError::InvalidCharacter { byte, position })
}

fn bad_escape(position: usize) -> Want {
    Want::Err(NormalizeError::InvalidPercentEncoding { position })
}

fn fragment(position: usize) -> Want {
    Want::Err(NormalizeError::Fragment { position })
}

#[test]
fn origin_form_table() {
    use Want::Ok as Path;
    let cases: Vec<(&str, &str, Want)> = vec![
        // Already normal.
        ("root", "/", Path("/", None)),
        ("plain", "/a/b", Path("/a/b", None)),
        ("trailing slash kept", "/a/b/", Path("/a/b/", None)),
        (
            "pchar kept",
            "/[x]:@!$&'()*+,;=",
            Path("/[x]:@!$&'()*+,;=", None),
        ),
        (
            "dots inside names",
            "/a/.b/..c/...d/",
            Path("/a/.b/..c/...d/", None),
        ),
        ("three dots", "/a/.../b", Path("/a/.../b", None)),
        // Dot-segments, Traefik's TestSanitizePath table.
        ("parent above root", "/../../b/", Path("/b/", None)),
        ("parent above root no slash", "/../../b", Path("/b", None)),
        ("final parent drops slash", "/a/b/..", Path("/a", None)),
        ("final parent with slash", "/a/b/../", Path("/a/", None)),
        ("traversal /a/../../b", "/a/../../b", Path("/b", None)),
        ("parent and slashes", "/..///b///", Path("/b/", None)),
        ("parent", "/a/../b", Path("/b", None)),
        ("current", "/a/./b", Path("/a/b", None)),
        ("double slash", "/a//b", Path("/a/b", None)),
        ("chained parents", "/a/../c/../b", Path("/b", None)),
        ("many parents", "/a/../../../c/../b", Path("/b", None)),
        ("mixed", "/a/..//c/.././b", Path("/b", None)),
        ("final current", "/a/b/.", Path("/a/b", None)),
        ("only current", "/.", Path("/", None)),
        ("only parent", "/..", Path("/", None)),
        ("current with slash", "/./", Path("/", None)),
        (
            "leading double slash is a path",
            "//a//b/",
            Path("/a/b/", None),
        ),
        ("only slashes", "////", Path("/", None)),
        // Encoded dots count once decoded.
        ("encoded parent", "/%2e%2e/x", Path("/x", None)),
        (
            "encoded parents upper",
            "/a/%2E%2E/%2E%2E/b/",
            Path("/b/", None),
        ),
        ("half encoded parent", "/a/.%2e/b", Path("/b", None)),
        ("encoded current", "/a/%2e/b", Path("/a/b", None)),
        ("encoded dot alone", "/%2E", Path("/", None)),
        ("encoded dot in name", "/a%2e", Path("/a.", None)),
        (
            "over-encoded parent stays",
            "/a/%252E%252E/b/",
            Path("/a/%252E%252E/b/", None),
        ),
        // Encoded slash is not a separator.
        ("encoded slash upper-cased", "/a%2fb", Path("/a%2Fb", None)),
        ("encoded slash kept", "/a%2Fb", Path("/a%2Fb", None)),
        (
            "parent glued to encoded slash",
            "/a/..%2Fb/",
            Path("/a/..%2Fb/", None),
        ),
        (
            "encoded parent and slash",
            "/%2e%2E%2f",
            Path("/..%2F", None),
        ),
        (
            "encoded traversal in one segment",
            "/a/b%2F..%2F..%2Fc",
            Path("/a/b%2F..%2F..%2Fc", None),
        ),
        // Unreserved decoded, reserved kept and upper-cased.
        ("tilde user", "/%7euser", Path("/~user", None)),
        ("letters", "/%41%42%43", Path("/ABC", None)),
        ("digits and marks", "/%30%2D%5F%7E", Path("/0-_~", None)),
        (
            "traefik path operations",
            "/a/../b/%41%42%43//%2f/",
            Path("/b/ABC/%2F/", None),
        ),
        ("encoded question marks", "/%3f%3F", Path("/%3F%3F", None)),
        ("encoded percent", "/%25", Path("/%25", None)),
        (
            "encoded percent then digits",
            "/%2541",
            Path("/%2541", None),
        ),
        ("encoded hash kept", "/%23", Path("/%23", None)),
        ("encoded null kept", "/%00", Path("/%00", None)),
        (
            "encoded line feed lower",
            "/foo%2fbar%0a",
            Path("/foo%2Fbar%0A", None),
        ),
        // Bytes outside pchar get encoded.
        ("non-ascii encoded", "/caf\u{e9}", Path("/caf%C3%A9", None)),
        ("quotes and angles", "/a\"b<c>", Path("/a%22b%3Cc%3E", None)),
        (
            "backslash is not a separator",
            "/a\\..\\b",
            Path("/a%5C..%5Cb", None),
        ),
        (
            "braces pipe caret backtick",
            "/{|}^`",
            Path("/%7B%7C%7D%5E%60", None),
        ),
        // Query.
        (
            "query passed through",
            "/a?b=%2f",
            Path("/a", Some("b=%2f")),
        ),
        ("empty query kept", "/a?", Path("/a", Some(""))),
        (
            "query with dots untouched",
            "/x/../a?x=/../&y=%2e",
            Path("/a", Some("x=/../&y=%2e")),
        ),
        (
            "bad escape in query accepted",
            "/a?q=%zz",
            Path("/a", Some("q=%zz")),
        ),
        (
            "second question mark in query",
            "/a?b?c",
            Path("/a", Some("b?c")),
        ),
        (
            "non-ascii query",
            "/a?n=\u{e9}",
            Path("/a", Some("n=\u{e9}")),
        ),
        // Asterisk.
        ("asterisk", "*", Path("*", None)),
        // Errors.
        ("empty", "", Want::Err(NormalizeError::Empty)),
        ("fragment in path", "/a#frag", fragment(2)),
        ("fragment only", "#frag", fragment(0)),
        ("fragment in query", "/a?b#c", fragment(4)),
        ("invalid escape zz", "/%zz", bad_escape(1)),
        ("truncated escape", "/%4", bad_escape(1)),
        ("lone percent", "/%", bad_escape(1)),
        ("half hex escape", "/a%4g", bad_escape(2)),
        ("space", "/a b", invalid_char(b' ', 2)),
        ("tab", "/a\tb", invalid_char(b'\t', 2)),
        ("delete", "/a\x7f", invalid_char(0x7F, 2)),
        ("nul", "/\0", invalid_char(0, 1)),
        ("newline in query", "/a?b\nc", invalid_char(b'\n', 4)),
        ("first bad byte wins", "/%zz#", fragment(4)),
        (
            "asterisk with query",
            "*?x",
            Want::Err(NormalizeError::InvalidForm),
        ),
        (
            "relative path",
            "a/b",
            Want::Err(NormalizeError::InvalidForm),
        ),
        ("query only", "?x", Want::Err(NormalizeError::InvalidForm)),
        (
            "authority-form",
            "example.com:443",
            Want::Err(NormalizeError::InvalidForm),
        ),
    ];
    assert!(cases.len() >= 40);
    for (case, input, want) in cases {
        let got = normalize_target(input);
        match want {
            Want::Ok(path, query) => {
                let target = got.unwrap_or_else(|e| panic!("{case}: {input:?} failed: {e}"));
                assert_eq!(target.path, path, "{case}: path of {input:?}");
                assert_eq!(target.query.as_deref(), query, "{case}: query of {input:?}");
                assert_eq!(target.scheme, None, "{case}");
                assert_eq!(target.authority, None, "{case}");
            }
            Want::Err(err) => assert_eq!(got, Err(err), "{case}: {input:?}"),
        }
    }
}

struct Absolute {
    case: &'static str,
    input: &'static str,
    want: Result<
        (
            &'static str,
            &'static str,
            &'static str,
            Option<&'static str>,
        ),
        NormalizeError,
    >,
}

#[test]
fn absolute_form_table() {
    let cases = [
        Absolute {
            case: "http with traversal and query",
            input: "http://example.com/a/../b?x=1",
            want: Ok(("http", "example.com", "/b", Some("x=1"))),
        },
        Absolute {
            case: "upper-case scheme, no path",
            input: "HTTPS://Example.COM:8443",
            want: Ok(("https", "Example.COM:8443", "/", None)),
        },
        Absolute {
            case: "query without path",
            input: "http://host?q",
            want: Ok(("http", "host", "/", Some("q"))),
        },
        Absolute {
            case: "ipv6 with port",
            input: "http://[::1]:8080/x",
            want: Ok(("http", "[::1]:8080", "/x", None)),
        },
        Absolute {
            case: "ipv6 without port",
            input: "http://[fe80::1]/",
            want: Ok(("http", "[fe80::1]", "/", None)),
        },
        Absolute {
            case: "empty port",
            input: "http://127.0.0.1:/",
            want: Ok(("http", "127.0.0.1:", "/", None)),
        },
        Absolute {
            case: "websocket scheme, double slash path",
            input: "ws://h//a",
            want: Ok(("ws", "h", "/a", None)),
        },
        Absolute {
            case: "encoded reg-name",
            input: "http://ex%41mple.com/%7e",
            want: Ok(("http", "ex%41mple.com", "/~", None)),
        },
        Absolute {
            case: "userinfo refused",
            input: "http://user@host/",
            want: Err(NormalizeError::InvalidAuthority),
        },
        Absolute {
            case: "empty authority",
            input: "http:///path",
            want: Err(NormalizeError::InvalidAuthority),
        },
        Absolute {
            case: "port only",
            input: "http://:80/",
            want: Err(NormalizeError::InvalidAuthority),
        },
        Absolute {
            case: "single slash",
            input: "http:/path",
            want: Err(NormalizeError::InvalidForm),
        },
        Absolute {
            case: "opaque",
            input: "http:path",
            want: Err(NormalizeError::InvalidForm),
        },
        Absolute {
            case: "scheme starting with digit",
            input: "1http://h/",
            want: Err(NormalizeError::InvalidForm),
        },
        Absolute {
            case: "space in authority",
            input: "http://ho st/",
            want: Err(NormalizeError::InvalidCharacter {
                byte: b' ',
                position: 9,
            }),
        },
        Absolute {
            case: "non-numeric port",
            input: "http://h:8x/",
            want: Err(NormalizeError::InvalidAuthority),
        },
        Absolute {
            case: "unclosed ipv6",
            input: "http://[::1/",
            want: Err(NormalizeError::InvalidAuthority),
        },
        Absolute {
            case: "garbage after ipv6",
            input: "http://[::1]x/",
            want: Err(NormalizeError::InvalidAuthority),
        },
        Absolute {
            case: "bare ipv6",
            input: "http://a:b:c/",
            want: Err(NormalizeError::InvalidAuthority),
        },
        Absolute {
            case: "bad escape position counts scheme and authority",
            input: "http://h/%zz",
            want: Err(NormalizeError::InvalidPercentEncoding { position: 9 }),
        },
    ];
    for Absolute { case, input, want } in cases {
        let got = normalize_target(input).map(|t| {
            (
                t.scheme.map(Cow::into_owned),
                t.authority.map(Cow::into_owned),
                t.path.into_owned(),
                t.query.map(Cow::into_owned),
            )
        });
        let want = want.map(|(scheme, authority, path, query)| {
            (
                Some(scheme.to_owned()),
                Some(authority.to_owned()),
                path.to_owned(),
                query.map(str::to_owned),
            )
        });
        assert_eq!(got, want, "{case}: {input:?}");
    }
}

#[test]
fn normal_targets_are_borrowed_and_others_owned() {
    let cases = [
        ("normal", "/a/b/?x", true),
        ("normal absolute", "http://h/a", true),
        ("lower hex", "/a%2f", false),
        ("dot segment", "/a/./b", false),
        ("double slash", "/a//b", false),
        ("non-ascii", "/\u{e9}", false),
    ];
    for (case, input, borrowed) in cases {
        let target = normalize_target(input).unwrap_or_else(|e| panic!("{case}: {e}"));
        assert_eq!(matches!(target.path, Cow::Borrowed(_)), borrowed, "{case}");
    }
}

#[test]
fn target_helpers() {
    let origin = normalize_target("/a/../b?x=1").unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(origin.request_uri(), "/b?x=1");
    assert_eq!(origin.effective_host("Host.example"), "Host.example");
    assert!(!origin.is_absolute_form());
    assert!(!origin.is_asterisk());

    let absolute = normalize_target("http://Other.example:81/p").unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(absolute.effective_host("host.example"), "Other.example:81");
    assert_eq!(absolute.request_uri(), "/p");
    assert!(absolute.is_absolute_form());

    let star = normalize_target("*").unwrap_or_else(|e| panic!("{e}"));
    assert!(star.is_asterisk());

    let owned: Target<'static> = {
        let input = String::from("/x/%7e?q");
        normalize_target(&input)
            .unwrap_or_else(|e| panic!("{e}"))
            .into_owned()
    };
    assert_eq!(owned.path, "/x/~");
    assert_eq!(owned.query.as_deref(), Some("q"));
}

#[test]
fn normalize_path_table() {
    let cases: [(&str, &str, Result<&str, NormalizeError>); 6] = [
        ("empty is root", "", Ok("/")),
        ("question mark is literal", "/a?b", Ok("/a%3Fb")),
        ("cleans", "/a/../b//c/", Ok("/b/c/")),
        ("relative refused", "a", Err(NormalizeError::InvalidForm)),
        (
            "fragment refused",
            "/a#",
            Err(NormalizeError::Fragment { position: 2 }),
        ),
        (
            "bad escape",
            "/%g0",
            Err(NormalizeError::InvalidPercentEncoding { position: 1 }),
        ),
    ];
    for (case, input, want) in cases {
        let got = normalize_path(input);
        assert_eq!(got.as_deref().map_err(Clone::clone), want, "{case}");
    }
}
