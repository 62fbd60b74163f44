//! Host header canonicalisation, as Traefik's `requestdecorator` does it for routing.
//!
//! Traefik stores `types.CanonicalDomain(parseHost(req.Host))` in the request context and
//! its `Host`/`HostRegexp` matchers read that value:
//! * `parseHost` returns the input unchanged when it has no `:`; otherwise Go's
//!   `net.SplitHostPort` host part; when that fails, a value wrapped in `[` `]` loses the
//!   brackets, anything else is kept as is;
//! * `CanonicalDomain` then trims white space and lower-cases.
//!
//! So IPv6 literals come out **without** brackets (`[::1]:8080` → `::1`), an empty port is
//! dropped (`host:` → `host`), a bare IPv6 address is left alone, and a trailing dot is
//! kept (Traefik's matchers compare with and without it). No IDNA mapping is done.

/// Splits `host:port` exactly like Go's `net.SplitHostPort`.
///
/// Returns `None` where Go returns an error: no `:` at all, more than one `:` outside
/// brackets, a `[` without `]`, or stray brackets. The port may be empty (`host:`).
/// Brackets of an IPv6 literal are removed from the host.
pub fn split_host_port(hostport: &str) -> Option<(&str, &str)> {
    let last_colon = hostport.rfind(':')?;
    let (host, search_open_from, search_close_from) =
        if let Some(after_open) = hostport.strip_prefix('[') {
            let close = after_open.find(']')? + 1;
            // The first ']' must sit right before the last ':'.
            if close + 1 != last_colon {
                return None;
            }
            (&hostport[1..close], 1, close + 1)
        } else {
            let host = &hostport[..last_colon];
            if host.contains(':') {
                return None;
            }
            (host, 0, 0)
        };
    if hostport[search_open_from..].contains('[') || hostport[search_close_from..].contains(']') {
        return None;
    }
    Some((host, &hostport[last_colon + 1..]))
}

/// The canonical host used for routing: port stripped, brackets of IPv6 literals removed,
/// white space trimmed, lower-cased (Traefik's `GetCanonicalHost`).
pub fn canonical_host(host_header: &str) -> String {
    let host = if !host_header.contains(':') {
        host_header
    } else if let Some((host, _)) = split_host_port(host_header) {
        host
    } else if let Some(inner) = host_header
        .strip_prefix('[')
        .and_then(|rest| rest.strip_suffix(']'))
    {
        inner
    } else {
        host_header
    };
    let host = host.trim();
    if host.bytes().any(|b| b.is_ascii_uppercase()) || !host.is_ascii() {
        host.to_lowercase()
    } else {
        host.to_owned()
    }
}

/// The explicit, non-empty port of a `Host` header value, if any (`example.com:8080` →
/// `8080`; `example.com`, `example.com:` and `[::1]` → `None`).
///
/// This is what Traefik puts in `X-Forwarded-Port` before falling back to 80/443.
pub fn host_port(host_header: &str) -> Option<&str> {
    split_host_port(host_header)
        .map(|(_, port)| port)
        .filter(|port| !port.is_empty())
}

#[cfg(test)]
mod tests {
    use super::{canonical_host, host_port, split_host_port};

    #[test]
    fn canonical_host_table() {
        // Traefik's Test_parseHost and TestRequestHost cases, plus case and space handling.
        let cases = [
            ("plain host", "host", "host"),
            ("host with empty port", "host:", "host"),
            ("ipv4 with port", "127.0.0.1:123", "127.0.0.1"),
            ("ipv4 with empty port", "127.0.0.1:", "127.0.0.1"),
            (
                "bare ipv6",
                "fe80::215:5dff:fe20:cd6a",
                "fe80::215:5dff:fe20:cd6a",
            ),
            (
                "ipv6 with port",
                "[fe80::215:5dff:fe20:cd6a]:123",
                "fe80::215:5dff:fe20:cd6a",
            ),
            (
                "ipv6 with empty port",
                "[fe80::215:5dff:fe20:cd6a]:",
                "fe80::215:5dff:fe20:cd6a",
            ),
            (
                "bracketed ipv6",
                "[fe80::215:5dff:fe20:cd6a]",
                "fe80::215:5dff:fe20:cd6a",
            ),
            ("loopback ipv6 with port", "[::1]:8080", "::1"),
            (
                "missing open bracket",
                "fe80::215:5dff:fe20:cd6a]",
                "fe80::215:5dff:fe20:cd6a]",
            ),
            (
                "missing close bracket",
                "[fe80::215:5dff:fe20:cd6a",
                "[fe80::215:5dff:fe20:cd6a",
            ),
            ("empty", "", ""),
            ("only colon", ":", ""),
            ("upper case", "Example.COM", "example.com"),
            (
                "upper case with port",
                "WWW.Example.com:8443",
                "www.example.com",
            ),
            ("upper ipv6", "[FE80::1]:80", "fe80::1"),
            ("trailing dot kept", "example.com.:80", "example.com."),
            ("surrounding space", " example.com ", "example.com"),
            ("space before port", "example.com :80", "example.com"),
            ("non-ascii lowered", "\u{c9}x.com", "\u{e9}x.com"),
        ];
        for (case, input, want) in cases {
            assert_eq!(canonical_host(input), want, "{case}: {input:?}");
        }
    }

    #[test]
    fn split_host_port_table() {
        let cases = [
            ("host and port", "h:80", Some(("h", "80"))),
            ("empty port", "h:", Some(("h", ""))),
            ("empty host", ":80", Some(("", "80"))),
            ("ipv6", "[::1]:443", Some(("::1", "443"))),
            ("no colon", "h", None),
            ("too many colons", "a:b:c", None),
            ("ipv6 without port", "[::1]", None),
            ("ipv6 colon not last", "[::1]:80:1", None),
            ("junk after bracket", "[::1]x:80", None),
            ("missing close", "[::1:80", None),
            ("stray open", "a[b:80", None),
            ("stray close", "a]b:80", None),
            ("second bracket pair", "[::1]:[80]", None),
        ];
        for (case, input, want) in cases {
            assert_eq!(split_host_port(input), want, "{case}: {input:?}");
        }
    }

    #[test]
    fn host_port_table() {
        let cases = [
            ("explicit port", "example.com:8080", Some("8080")),
            ("no port", "example.com", None),
            ("empty port", "example.com:", None),
            ("ipv6 port", "[::1]:8443", Some("8443")),
            ("ipv6 no port", "[::1]", None),
            ("bare ipv6", "::1", None),
        ];
        for (case, input, want) in cases {
            assert_eq!(host_port(input), want, "{case}: {input:?}");
        }
    }
}

/// The host a request is routed by: the absolute-form authority (or the HTTP/2
/// `:authority`) when there is one, else the single `Host` header.
///
/// As Go's server does, an HTTP/1.1 request without a `Host` header, or with more than one,
/// is refused (400); HTTP/1.0 may omit it (the host is then empty).
pub fn request_host<'a>(
    authority: Option<&'a str>,
    mut host_headers: impl Iterator<Item = &'a str>,
    http11: bool,
) -> Result<&'a str, crate::NormalizeError> {
    if let Some(authority) = authority {
        return Ok(authority);
    }
    match (host_headers.next(), host_headers.next()) {
        (Some(_), Some(_)) => Err(crate::NormalizeError::Host("more than one Host header")),
        (Some(host), None) => Ok(host),
        (None, _) if http11 => Err(crate::NormalizeError::Host("missing required Host header")),
        (None, _) => Ok(""),
    }
}

#[cfg(test)]
mod request_host_tests {
    use super::request_host;

    #[test]
    fn request_host_cases() {
        /// (case, authority, Host headers, HTTP/1.1, expected host).
        type Case<'a> = (
            &'a str,
            Option<&'a str>,
            &'a [&'a str],
            bool,
            Option<&'a str>,
        );
        let cases: [Case; 6] = [
            (
                "authority wins",
                Some("a.test"),
                &["b.test"],
                true,
                Some("a.test"),
            ),
            (
                "host header",
                None,
                &["b.test:8080"],
                true,
                Some("b.test:8080"),
            ),
            ("two hosts", None, &["a", "b"], true, None),
            ("http/1.1 needs a host", None, &[], true, None),
            ("http/1.0 may omit it", None, &[], false, Some("")),
            ("empty host header is a host", None, &[""], true, Some("")),
        ];
        for (case, authority, hosts, http11, expected) in cases {
            assert_eq!(
                request_host(authority, hosts.iter().copied(), http11).ok(),
                expected,
                "{case}"
            );
        }
    }
}
