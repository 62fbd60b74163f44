//! `addPrefix`: puts a prefix in front of the path.
//!
//! Traefik prepends the prefix to the decoded path and adds a leading `/` when the result
//! lacks one; the prefix is therefore escaped once, when the middleware is built, and
//! prepended to the escaped path.

use actix_web::HttpResponse;
use futures::future::LocalBoxFuture;
use switchyard_model::http::AddPrefix as Spec;

use super::util;
use crate::middleware::{BuildError, Middleware, Next};
use crate::request::ProxyRequest;

/// A compiled `addPrefix`.
pub struct AddPrefix {
    /// Escaped, with a leading slash.
    prefix: String,
}

impl AddPrefix {
    /// Compiles the configuration; the prefix must not be empty (as in Traefik).
    pub fn new(spec: &Spec) -> Result<Self, BuildError> {
        if spec.prefix.is_empty() {
            return Err(BuildError("prefix cannot be empty".to_owned()));
        }
        Ok(Self {
            prefix: util::with_leading_slash(&util::escape_decoded_path(&spec.prefix)),
        })
    }
}

impl Middleware for AddPrefix {
    fn handle<'a>(
        &'a self,
        mut req: ProxyRequest,
        next: Next<'a>,
    ) -> LocalBoxFuture<'a, HttpResponse> {
        req.path.insert_str(0, &self.prefix);
        next.run(req)
    }
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use super::*;
    use crate::middleware::testing::{Recorder, get, run};

    #[actix_web::test]
    async fn prefixes_the_path() {
        // (case, prefix, request target, expected upstream path)
        let cases = [
            ("simple", "/api", "/foo", "/api/foo"),
            ("root", "/api", "/", "/api/"),
            ("trailing slash in prefix", "/api/", "/foo", "/api//foo"),
            ("no leading slash", "api", "/foo", "/api/foo"),
            ("escaped path kept", "/api", "/a%2Fb", "/api/a%2Fb"),
            ("prefix escaped", "/my api", "/x", "/my%20api/x"),
            ("percent in prefix is text", "/100%", "/x", "/100%25/x"),
            ("query kept", "/api", "/foo?a=b", "/api/foo"),
        ];
        for (case, prefix, target, expected) in cases {
            let mw = Arc::new(
                AddPrefix::new(&Spec {
                    prefix: prefix.to_owned(),
                })
                .expect(case),
            );
            let recorder = Recorder::default();
            let response = run(mw, &recorder, get(target, &[])).await;
            assert_eq!(response.status().as_u16(), 200, "{case}");
            let seen = recorder.seen().expect("next ran");
            assert_eq!(seen.path, expected, "{case}");
            if target.contains('?') {
                assert_eq!(seen.query.as_deref(), Some("a=b"), "{case}");
            }
        }
    }

    #[test]
    fn an_empty_prefix_is_refused() {
        let err = AddPrefix::new(&Spec {
            prefix: String::new(),
        })
        .err();
        assert_eq!(err, Some(BuildError("prefix cannot be empty".to_owned())));
    }
}
