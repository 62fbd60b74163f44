//! `replacePathRegex`: rewrites the path with a regexp replacement, keeping the original in
//! `X-Replaced-Path`.
//!
//! As Traefik does: the regexp (trimmed) is searched in the escaped path; when it matches,
//! every match is replaced with Go's `ReplaceAllString` rules (`$1`, `${1}`, `$name`); a
//! result with a bad `%` escape is answered with 500 and Go's message, one that path
//! cleaning would change (`/a/../b`) with 400. A request the regexp does not match passes
//! unchanged.

use actix_web::HttpResponse;
use actix_web::http::StatusCode;
use futures::future::LocalBoxFuture;
use regex::Regex;
use switchyard_model::http::ReplacePathRegex as Spec;

use super::replace_path::record_replaced_path;
use super::util;
use crate::middleware::{BuildError, Middleware, Next};
use crate::request::ProxyRequest;

/// A compiled `replacePathRegex`.
pub struct ReplacePathRegex {
    regex: Regex,
    replacement: String,
}

impl ReplacePathRegex {
    /// Compiles the regexp (Go syntax); both fields are trimmed, as Traefik does.
    pub fn new(spec: &Spec) -> Result<Self, BuildError> {
        Ok(Self {
            regex: util::go_regex(spec.regex.trim(), "replacePathRegex.regex")?,
            replacement: spec.replacement.trim().to_owned(),
        })
    }
}

impl Middleware for ReplacePathRegex {
    fn handle<'a>(
        &'a self,
        mut req: ProxyRequest,
        next: Next<'a>,
    ) -> LocalBoxFuture<'a, HttpResponse> {
        if !self.regex.is_match(&req.path) {
            return next.run(req);
        }
        let replaced = util::go_replace_all(&self.regex, &req.path, &self.replacement);
        if let Err(message) = util::check_escapes(&replaced) {
            return Box::pin(async move {
                util::text_error(StatusCode::INTERNAL_SERVER_ERROR, &message)
            });
        }
        let replaced = util::with_leading_slash(&replaced);
        if !util::is_clean_path(&replaced) {
            return Box::pin(async { util::status_error(StatusCode::BAD_REQUEST) });
        }
        record_replaced_path(&mut req);
        req.path = util::escape_raw_path(&replaced).into_owned();
        next.run(req)
    }
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use super::*;
    use crate::middleware::replace_path::X_REPLACED_PATH;
    use crate::middleware::testing::{Recorder, body, get, run};

    #[actix_web::test]
    async fn rewrites_like_traefik() {
        // (case, regex, replacement, request target, expected status, expected path or error body, replaced header)
        let cases = [
            (
                "simple",
                "^/foo/(.*)",
                "/bar/$1",
                "/foo/x/y",
                200,
                "/bar/x/y",
                Some("/foo/x/y"),
            ),
            (
                "braced group",
                "^/foo/(.*)",
                "/bar/${1}z",
                "/foo/x",
                200,
                "/bar/xz",
                Some("/foo/x"),
            ),
            (
                "$1x is a name",
                "^/foo/(.*)",
                "/bar/$1x",
                "/foo/x",
                200,
                "/bar/",
                Some("/foo/x"),
            ),
            (
                "named group",
                "^/(?P<id>[0-9]+)$",
                "/item/$id",
                "/42",
                200,
                "/item/42",
                Some("/42"),
            ),
            (
                "no match",
                "^/foo/(.*)",
                "/bar/$1",
                "/other",
                200,
                "/other",
                None,
            ),
            (
                "every match replaced",
                "a",
                "b",
                "/aa",
                200,
                "/bb",
                Some("/aa"),
            ),
            (
                "matched on the escaped path",
                "%2F",
                "-",
                "/a%2Fb",
                200,
                "/a-b",
                Some("/a%2Fb"),
            ),
            (
                "regex and replacement trimmed",
                " ^/foo ",
                " /bar ",
                "/foo",
                200,
                "/bar",
                Some("/foo"),
            ),
            ("empty result", "^/foo$", "", "/foo", 200, "/", Some("/foo")),
            (
                "relative result",
                "^/foo$",
                "bar",
                "/foo",
                200,
                "/bar",
                Some("/foo"),
            ),
            (
                "space escaped",
                "^/foo$",
                "/a b",
                "/foo",
                200,
                "/a%20b",
                Some("/foo"),
            ),
            (
                "dot segments refused",
                "^/foo/(.*)",
                "/a/../$1",
                "/foo/x",
                400,
                "Bad Request\n",
                None,
            ),
            (
                "double slash refused",
                "^/foo/(.*)",
                "/a//$1",
                "/foo/x",
                400,
                "Bad Request\n",
                None,
            ),
            (
                "bad escape",
                "^/foo$",
                "/%zz",
                "/foo",
                500,
                "invalid URL escape \"%zz\"\n",
                None,
            ),
        ];
        for (case, regex, replacement, target, status, expected, replaced) in cases {
            let spec = Spec {
                regex: regex.to_owned(),
                replacement: replacement.to_owned(),
            };
            let mw = Arc::new(ReplacePathRegex::new(&spec).expect(case));
            let recorder = Recorder::default();
            let response = run(mw, &recorder, get(target, &[])).await;
            assert_eq!(response.status().as_u16(), status, "{case}");
            if status != 200 {
                assert!(recorder.seen().is_none(), "{case}: next must not run");
                assert_eq!(body(response).await, expected, "{case}");
                continue;
            }
            let seen = recorder.seen().expect("next ran");
            assert_eq!(seen.path, expected, "{case}");
            let header = seen.header_values(X_REPLACED_PATH.as_str());
            assert_eq!(header.first().map(String::as_str), replaced, "{case}");
        }
    }

    #[test]
    fn a_bad_regex_is_refused() {
        let spec = Spec {
            regex: "(".to_owned(),
            replacement: String::new(),
        };
        assert!(ReplacePathRegex::new(&spec).is_err());
    }
}
