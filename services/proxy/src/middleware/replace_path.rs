//! `replacePath`: replaces the whole path, keeping the original in `X-Replaced-Path`.
//!
//! Traefik takes the configured path as an escaped path and answers 500 with Go's
//! unescaping error when it holds a bad `%` escape; that is decided once here.

use actix_web::HttpResponse;
use actix_web::http::StatusCode;
use actix_web::http::header::{HeaderName, HeaderValue};
use futures::future::LocalBoxFuture;
use switchyard_model::http::ReplacePath as Spec;

use super::util;
use crate::middleware::{BuildError, Middleware, Next};
use crate::request::ProxyRequest;

/// The header that receives the path as it was before the replacement.
pub const X_REPLACED_PATH: HeaderName = HeaderName::from_static("x-replaced-path");

/// Records the path about to be replaced in `X-Replaced-Path` (appended, as Go's `Add`).
pub(super) fn record_replaced_path(req: &mut ProxyRequest) {
    // Escaped paths are visible ASCII, so this only fails for a path another middleware
    // broke; the header is then left out rather than the request refused.
    if let Ok(value) = HeaderValue::from_str(&req.path) {
        req.headers.append(X_REPLACED_PATH, value);
    }
}

/// A compiled `replacePath`.
pub struct ReplacePath {
    /// The escaped path to send, or the error message every request gets.
    path: Result<String, String>,
}

impl ReplacePath {
    /// Compiles the configuration (any path is accepted, as in Traefik).
    pub fn new(spec: &Spec) -> Result<Self, BuildError> {
        let path = util::check_escapes(&spec.path)
            .map(|()| util::with_leading_slash(&util::escape_raw_path(&spec.path)));
        Ok(Self { path })
    }
}

impl Middleware for ReplacePath {
    fn handle<'a>(
        &'a self,
        mut req: ProxyRequest,
        next: Next<'a>,
    ) -> LocalBoxFuture<'a, HttpResponse> {
        record_replaced_path(&mut req);
        match &self.path {
            Ok(path) => {
                req.path.clone_from(path);
                next.run(req)
            }
            Err(message) => {
                Box::pin(
                    async move { util::text_error(StatusCode::INTERNAL_SERVER_ERROR, message) },
                )
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use super::*;
    use crate::middleware::testing::{Recorder, body, get, run};

    #[actix_web::test]
    async fn replaces_the_path() {
        // (case, configured path, request target, expected status, expected upstream path or error body)
        let cases = [
            ("simple", "/foo", "/bar", 200, "/foo"),
            (
                "escaped request path recorded",
                "/foo",
                "/a%2Fb",
                200,
                "/foo",
            ),
            ("escapes kept", "/foo%2Fbar", "/x", 200, "/foo%2Fbar"),
            ("space escaped", "/foo bar", "/x", 200, "/foo%20bar"),
            ("empty path", "", "/x", 200, "/"),
            ("query kept", "/foo", "/x?a=b", 200, "/foo"),
            (
                "bad escape",
                "/foo%zz",
                "/x",
                500,
                "invalid URL escape \"%zz\"\n",
            ),
        ];
        for (case, path, target, status, expected) in cases {
            let mw = Arc::new(
                ReplacePath::new(&Spec {
                    path: path.to_owned(),
                })
                .expect(case),
            );
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
            let original = target.split('?').next().unwrap_or(target);
            assert_eq!(
                seen.header_values(X_REPLACED_PATH.as_str()),
                [original],
                "{case}"
            );
            if target.contains('?') {
                assert_eq!(seen.query.as_deref(), Some("a=b"), "{case}");
            }
        }
    }
}
