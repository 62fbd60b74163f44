//! `stripPrefixRegex`: removes the path prefix matched by the first matching regexp.
//!
//! As Traefik does: each regexp (trimmed) is searched in the decoded path, in order; the
//! first one whose leftmost match is non-empty and is also how the path begins wins; its
//! matched text is removed and added to `X-Forwarded-Prefix`. A result that path cleaning
//! would change is refused with 400, and an emptied path becomes `/`.

use std::borrow::Cow;

use actix_web::HttpResponse;
use actix_web::http::StatusCode;
use actix_web::http::header::HeaderValue;
use futures::future::LocalBoxFuture;
use regex::Regex;
use switchyard_model::http::StripPrefixRegex as Spec;

use super::strip_prefix::{X_FORWARDED_PREFIX, stripped_path};
use super::util;
use crate::middleware::{BuildError, Middleware, Next};
use crate::request::ProxyRequest;

/// A compiled `stripPrefixRegex`.
pub struct StripPrefixRegex {
    regexes: Vec<Regex>,
}

impl StripPrefixRegex {
    /// Compiles the regexps (Go syntax).
    pub fn new(spec: &Spec) -> Result<Self, BuildError> {
        let regexes = spec
            .regex
            .iter()
            .map(|re| util::go_regex(re.trim(), "stripPrefixRegex.regex"))
            .collect::<Result<_, _>>()?;
        Ok(Self { regexes })
    }

    /// What to do with `path`.
    fn find(&self, path: &str) -> Found {
        let decoded = util::percent_decode(path);
        // Go matches on the decoded bytes; when they are not UTF-8 the escaped path is the
        // closest text to search.
        let (haystack, is_decoded) = match std::str::from_utf8(&decoded) {
            Ok(text) => (text, matches!(decoded, Cow::Owned(_))),
            Err(_) => (path, false),
        };
        for regex in &self.regexes {
            let Some(found) = regex.find(haystack) else {
                continue;
            };
            let prefix = found.as_str();
            if prefix.is_empty() || !haystack.starts_with(prefix) {
                continue;
            }
            let raw_len = if is_decoded {
                util::decoded_prefix_len(path, prefix.as_bytes())
            } else {
                Some(prefix.len())
            };
            // A decoded control character cannot travel in a header.
            return match (raw_len, HeaderValue::from_str(prefix)) {
                (Some(raw_len), Ok(value)) => Found::Strip(value, raw_len),
                _ => Found::Refuse,
            };
        }
        Found::Nothing
    }
}

enum Found {
    Nothing,
    Strip(HeaderValue, usize),
    Refuse,
}

impl Middleware for StripPrefixRegex {
    fn handle<'a>(
        &'a self,
        mut req: ProxyRequest,
        next: Next<'a>,
    ) -> LocalBoxFuture<'a, HttpResponse> {
        match self.find(&req.path) {
            Found::Nothing => {}
            Found::Strip(value, raw_len) => {
                let Some(stripped) = stripped_path(&req.path, raw_len) else {
                    return Box::pin(async { util::status_error(StatusCode::BAD_REQUEST) });
                };
                req.path = stripped;
                req.headers.append(X_FORWARDED_PREFIX, value);
            }
            Found::Refuse => {
                return Box::pin(async { util::status_error(StatusCode::BAD_REQUEST) });
            }
        }
        next.run(req)
    }
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use super::*;
    use crate::middleware::testing::{Recorder, body, get, run};

    fn spec(regexes: &[&str]) -> Spec {
        Spec {
            regex: regexes.iter().map(|r| (*r).to_owned()).collect(),
        }
    }

    #[actix_web::test]
    async fn strips_like_traefik() {
        // (case, regexes, request path, expected status, expected upstream path, expected X-Forwarded-Prefix)
        type Case<'a> = (
            &'a str,
            &'a [&'a str],
            &'a str,
            u16,
            &'a str,
            Option<&'a str>,
        );
        let cases: &[Case] = &[
            ("no match", &["/a/api/"], "/a/test", 200, "/a/test", None),
            (
                "no match, trailing slash",
                &["/a/api/"],
                "/a/test/",
                200,
                "/a/test/",
                None,
            ),
            (
                "whole path",
                &["/a/api/"],
                "/a/api/",
                200,
                "/",
                Some("/a/api/"),
            ),
            (
                "rest kept",
                &["/a/api/"],
                "/a/api/test",
                200,
                "/test",
                Some("/a/api/"),
            ),
            (
                "rest with slash kept",
                &["/a/api/"],
                "/a/api/test/",
                200,
                "/test/",
                Some("/a/api/"),
            ),
            (
                "group",
                &["/b/([a-z0-9]+)/"],
                "/b/api/",
                200,
                "/",
                Some("/b/api/"),
            ),
            (
                "group, no trailing slash",
                &["/b/([a-z0-9]+)/"],
                "/b/api",
                200,
                "/b/api",
                None,
            ),
            (
                "group with rest",
                &["/b/([a-z0-9]+)/"],
                "/b/api2/test2",
                200,
                "/test2",
                Some("/b/api2/"),
            ),
            (
                "two classes",
                &["/c/[a-z0-9]+/[0-9]+/"],
                "/c/api/123/test3",
                200,
                "/test3",
                Some("/c/api/123/"),
            ),
            (
                "two classes, no match",
                &["/c/[a-z0-9]+/[0-9]+/"],
                "/c/api/abc/test4",
                200,
                "/c/api/abc/test4",
                None,
            ),
            (
                "escaped rest kept",
                &["/a/api/"],
                "/a/api/a%2Fb",
                200,
                "/a%2Fb",
                Some("/a/api/"),
            ),
            (
                "matched on the decoded path",
                &["/b/([a-z0-9]+)/"],
                "/b/a%2Fb/c",
                200,
                "/b/c",
                Some("/b/a/"),
            ),
            (
                "match not at the start",
                &["api/"],
                "/x/api/y",
                200,
                "/x/api/y",
                None,
            ),
            (
                "empty match skipped",
                &["x*", "/y"],
                "/y/z",
                200,
                "/z",
                Some("/y"),
            ),
            (
                "first regex wins",
                &["/a", "/a/b"],
                "/a/b",
                200,
                "/b",
                Some("/a"),
            ),
            (
                "regex is trimmed",
                &[" /a/ "],
                "/a/b",
                200,
                "/b",
                Some("/a/"),
            ),
            ("dot left behind", &["/api"], "/api./foo", 400, "", None),
            (
                "control character in the prefix",
                &["/a[^/]*"],
                "/a%0A/b",
                400,
                "",
                None,
            ),
        ];
        for &(case, regexes, path, status, expected_path, expected_header) in cases {
            let mw = Arc::new(StripPrefixRegex::new(&spec(regexes)).expect(case));
            let recorder = Recorder::default();
            let response = run(mw, &recorder, get(path, &[])).await;
            assert_eq!(response.status().as_u16(), status, "{case}");
            if status != 200 {
                assert!(recorder.seen().is_none(), "{case}: next must not run");
                assert_eq!(body(response).await, "Bad Request\n", "{case}");
                continue;
            }
            let seen = recorder.seen().expect("next ran");
            assert_eq!(seen.path, expected_path, "{case}");
            let header = seen.header_values(X_FORWARDED_PREFIX.as_str());
            assert_eq!(
                header.first().map(String::as_str),
                expected_header,
                "{case}"
            );
        }
    }

    #[test]
    fn a_bad_regex_is_refused() {
        assert!(StripPrefixRegex::new(&spec(&["/a(b"])).is_err());
    }
}
