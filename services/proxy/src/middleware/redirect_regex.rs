//! `redirectRegex`: redirects when a regexp replacement changes the request URL.
//!
//! As Traefik does: the URL is rebuilt as `scheme://host/path?query` (the scheme is how
//! the client reached the entry point, the host the `Host` header as received, port
//! included); when the regexp matches, every match is replaced with Go's
//! `ReplaceAllString` rules, and a result different from the URL is answered with a
//! redirect to it (302/307, or 301/308 when `permanent`, 30x for GET and 307/308 for other
//! methods). A result equal to the URL, or no match, passes the request on. A result Go
//! cannot parse as a URL is answered with 502, as Traefik's error handler does.

use actix_web::HttpResponse;
use actix_web::http::StatusCode;
use futures::future::LocalBoxFuture;
use regex::Regex;
use switchyard_model::http::RedirectRegex as Spec;

use super::util;
use crate::middleware::{BuildError, Middleware, Next};
use crate::request::ProxyRequest;

/// A compiled `redirectRegex`.
pub struct RedirectRegex {
    regex: Regex,
    replacement: String,
    permanent: bool,
}

impl RedirectRegex {
    /// Compiles the regexp (Go syntax, not trimmed: Traefik uses it as written).
    pub fn new(spec: &Spec) -> Result<Self, BuildError> {
        Ok(Self {
            regex: util::go_regex(&spec.regex, "redirectRegex.regex")?,
            replacement: spec.replacement.clone(),
            permanent: spec.permanent,
        })
    }
}

impl Middleware for RedirectRegex {
    fn handle<'a>(&'a self, req: ProxyRequest, next: Next<'a>) -> LocalBoxFuture<'a, HttpResponse> {
        let url = util::request_url(&req);
        if !self.regex.is_match(&url) {
            return next.run(req);
        }
        let target = util::go_replace_all(&self.regex, &url, &self.replacement);
        if target == url {
            return next.run(req);
        }
        let response = match util::location(&target) {
            Some(location) => util::redirect(&req.method, location, self.permanent),
            None => util::status_error(StatusCode::BAD_GATEWAY),
        };
        Box::pin(async move { response })
    }
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use actix_web::http::Method;

    use super::*;
    use crate::middleware::testing::{Recorder, header, request, run};

    #[actix_web::test]
    async fn redirects_like_traefik() {
        // (case, regex, replacement, permanent, method, scheme, host, target, expected status, expected Location)
        let cases = [
            (
                "simple",
                r"^http://localhost/(.*)",
                "https://example.com/$1",
                false,
                Method::GET,
                "http",
                "localhost",
                "/foo/bar",
                302,
                Some("https://example.com/foo/bar"),
            ),
            (
                "port kept in the URL",
                r"^http://([^:/]+):8080/(.*)",
                "https://$1/${2}",
                false,
                Method::GET,
                "http",
                "foo.com:8080",
                "/x",
                302,
                Some("https://foo.com/x"),
            ),
            (
                "query in the URL",
                r"^(.*)\?lang=en$",
                "${1}?lang=fr",
                false,
                Method::GET,
                "http",
                "a.com",
                "/p?lang=en",
                302,
                Some("http://a.com/p?lang=fr"),
            ),
            (
                "https entry point",
                r"^https://(.*)",
                "http://$1",
                false,
                Method::GET,
                "https",
                "a.com",
                "/",
                302,
                Some("http://a.com/"),
            ),
            (
                "permanent GET",
                r"^http://a\.com/(.*)",
                "http://b.com/$1",
                true,
                Method::GET,
                "http",
                "a.com",
                "/x",
                301,
                Some("http://b.com/x"),
            ),
            (
                "POST keeps the method",
                r"^http://a\.com/(.*)",
                "http://b.com/$1",
                false,
                Method::POST,
                "http",
                "a.com",
                "/x",
                307,
                Some("http://b.com/x"),
            ),
            (
                "permanent POST",
                r"^http://a\.com/(.*)",
                "http://b.com/$1",
                true,
                Method::POST,
                "http",
                "a.com",
                "/x",
                308,
                Some("http://b.com/x"),
            ),
            (
                "no match passes",
                r"^http://b\.com/(.*)",
                "http://c.com/$1",
                false,
                Method::GET,
                "http",
                "a.com",
                "/x",
                200,
                None,
            ),
            (
                "same URL passes",
                r"^(http://a\.com/.*)",
                "$1",
                false,
                Method::GET,
                "http",
                "a.com",
                "/x",
                200,
                None,
            ),
            (
                "unparsable target",
                r"^http://a\.com/(.*)",
                "http://b.com/%zz",
                false,
                Method::GET,
                "http",
                "a.com",
                "/x",
                502,
                None,
            ),
        ];
        for (case, regex, replacement, permanent, method, scheme, host, target, status, location) in
            cases
        {
            let spec = Spec {
                regex: regex.to_owned(),
                replacement: replacement.to_owned(),
                permanent,
            };
            let mw = Arc::new(RedirectRegex::new(&spec).expect(case));
            let recorder = Recorder::default();
            let response = run(mw, &recorder, request(method, scheme, host, target, &[])).await;
            assert_eq!(response.status().as_u16(), status, "{case}");
            assert_eq!(header(&response, "location").as_deref(), location, "{case}");
            assert_eq!(
                recorder.seen().is_some(),
                status == 200,
                "{case}: next runs only without a redirect"
            );
        }
    }

    #[actix_web::test]
    async fn the_body_is_the_status_text() {
        let spec = Spec {
            regex: "^(.*)$".to_owned(),
            replacement: "https://x/".to_owned(),
            permanent: false,
        };
        let mw = Arc::new(RedirectRegex::new(&spec).expect("builds"));
        let response = run(
            mw,
            &Recorder::default(),
            request(Method::GET, "http", "a", "/", &[]),
        )
        .await;
        assert_eq!(crate::middleware::testing::body(response).await, "Found");
    }
}
