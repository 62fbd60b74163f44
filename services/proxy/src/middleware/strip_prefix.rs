//! `stripPrefix`: removes the first configured prefix the path starts with.
//!
//! As Traefik does: prefixes are tried in the configured order and the first one the
//! decoded path starts with wins (not the longest); the match is on bytes, not on segment
//! boundaries (`/stat` strips `/status` to `/us`); the prefix is added to
//! `X-Forwarded-Prefix`; a stripped path that Go's path cleaning would change (`/api./x`
//! stripped of `/api` gives `/./x`) is refused with 400. An emptied path becomes `/`, which
//! is what Go sends upstream; the deprecated `forceSlash` only differed from that for the
//! empty path, so it has nothing left to change.

use actix_web::HttpResponse;
use actix_web::http::StatusCode;
use actix_web::http::header::{HeaderName, HeaderValue};
use futures::future::LocalBoxFuture;
use switchyard_model::http::StripPrefix as Spec;

use super::util;
use crate::middleware::{BuildError, Middleware, Next};
use crate::request::ProxyRequest;

/// The header that receives the stripped prefix.
pub const X_FORWARDED_PREFIX: HeaderName = HeaderName::from_static("x-forwarded-prefix");

/// A compiled `stripPrefix`.
pub struct StripPrefix {
    /// Prefix (trimmed, as Traefik trims them) and its header value.
    prefixes: Vec<(String, HeaderValue)>,
}

impl StripPrefix {
    /// Compiles the configuration; a prefix must be usable as a header value.
    pub fn new(spec: &Spec) -> Result<Self, BuildError> {
        let prefixes = spec
            .prefixes
            .iter()
            .map(|p| {
                let prefix = p.trim();
                Ok((
                    prefix.to_owned(),
                    util::header_value(prefix, "stripPrefix.prefixes")?,
                ))
            })
            .collect::<Result<_, BuildError>>()?;
        Ok(Self { prefixes })
    }
}

/// The path once `raw_len` escaped bytes are removed, or `None` when Traefik would refuse
/// it (not a clean path). Shared with `stripPrefixRegex`.
pub(super) fn stripped_path(path: &str, raw_len: usize) -> Option<String> {
    let stripped = util::with_leading_slash(path.get(raw_len..)?);
    util::is_clean_path(&stripped).then_some(stripped)
}

impl Middleware for StripPrefix {
    fn handle<'a>(
        &'a self,
        mut req: ProxyRequest,
        next: Next<'a>,
    ) -> LocalBoxFuture<'a, HttpResponse> {
        for (prefix, value) in &self.prefixes {
            let Some(raw_len) = util::decoded_prefix_len(&req.path, prefix.as_bytes()) else {
                continue;
            };
            let Some(stripped) = stripped_path(&req.path, raw_len) else {
                return Box::pin(async { util::status_error(StatusCode::BAD_REQUEST) });
            };
            req.path = stripped;
            req.headers.append(X_FORWARDED_PREFIX, value.clone());
            break;
        }
        next.run(req)
    }
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use super::*;
    use crate::middleware::testing::{Recorder, body, get, run};

    fn spec(prefixes: &[&str], force_slash: Option<bool>) -> Spec {
        Spec {
            prefixes: prefixes.iter().map(|p| (*p).to_owned()).collect(),
            force_slash,
        }
    }

    #[actix_web::test]
    async fn strips_like_traefik() {
        // (case, prefixes, request path, expected status, expected upstream path, expected X-Forwarded-Prefix)
        type Case<'a> = (
            &'a str,
            &'a [&'a str],
            &'a str,
            u16,
            &'a str,
            Option<&'a str>,
        );
        let cases: &[Case] = &[
            (
                "no prefixes configured",
                &[],
                "/noprefixes",
                200,
                "/noprefixes",
                None,
            ),
            ("root prefix", &["/"], "/", 200, "/", Some("/")),
            (
                "prefix equals path",
                &["/stat"],
                "/stat",
                200,
                "/",
                Some("/stat"),
            ),
            (
                "slash prefix equals path",
                &["/stat/"],
                "/stat/",
                200,
                "/",
                Some("/stat/"),
            ),
            (
                "slash prefix on longer path",
                &["/stat/"],
                "/stat/us",
                200,
                "/us",
                Some("/stat/"),
            ),
            (
                "slash prefix on other path",
                &["/stat/"],
                "/status",
                200,
                "/status",
                None,
            ),
            (
                "prefix leaves the slash",
                &["/stat"],
                "/stat/",
                200,
                "/",
                Some("/stat"),
            ),
            (
                "first matching prefix wins",
                &["/stat", "/stat/us"],
                "/stat/us",
                200,
                "/us",
                Some("/stat"),
            ),
            (
                "later prefix",
                &["/mismatch", "/stat"],
                "/stat",
                200,
                "/",
                Some("/stat"),
            ),
            (
                "not on segment boundaries",
                &["/stat"],
                "/status",
                200,
                "/us",
                Some("/stat"),
            ),
            (
                "escaped rest is kept",
                &["/stat"],
                "/stat/a%2Fb",
                200,
                "/a%2Fb",
                Some("/stat"),
            ),
            (
                "escaped slash inside the prefix",
                &["/a/"],
                "/a%2Fb",
                200,
                "/b",
                Some("/a/"),
            ),
            (
                "prefix is trimmed",
                &[" /api "],
                "/api/x",
                200,
                "/x",
                Some("/api"),
            ),
            ("dot left behind", &["/api"], "/api./foo", 400, "", None),
            ("dots left behind", &["/api"], "/api../foo", 400, "", None),
            (
                "query untouched",
                &["/api"],
                "/api/x?a=b",
                200,
                "/x",
                Some("/api"),
            ),
        ];
        for &(case, prefixes, path, status, expected_path, expected_header) in cases {
            for force_slash in [None, Some(true), Some(false)] {
                let mw = Arc::new(StripPrefix::new(&spec(prefixes, force_slash)).expect(case));
                let recorder = Recorder::default();
                let response = run(mw, &recorder, get(path, &[])).await;
                assert_eq!(response.status().as_u16(), status, "{case}");
                let seen = recorder.seen();
                if status != 200 {
                    assert!(seen.is_none(), "{case}: next must not run");
                    assert_eq!(body(response).await, "Bad Request\n", "{case}");
                    continue;
                }
                let seen = seen.expect("next ran");
                assert_eq!(seen.path, expected_path, "{case}");
                let header = seen.header_values(X_FORWARDED_PREFIX.as_str());
                assert_eq!(
                    header.first().map(String::as_str),
                    expected_header,
                    "{case}"
                );
                if path.contains('?') {
                    assert_eq!(seen.query.as_deref(), Some("a=b"), "{case}");
                }
            }
        }
    }

    #[actix_web::test]
    async fn appends_to_an_existing_prefix_header() {
        let mw = Arc::new(StripPrefix::new(&spec(&["/b"], None)).expect("builds"));
        let recorder = Recorder::default();
        run(mw, &recorder, get("/b/c", &[("X-Forwarded-Prefix", "/a")])).await;
        let seen = recorder.seen().expect("next ran");
        assert_eq!(
            seen.header_values(X_FORWARDED_PREFIX.as_str()),
            ["/a", "/b"]
        );
    }

    #[test]
    fn a_prefix_that_is_no_header_value_is_refused() {
        assert!(StripPrefix::new(&spec(&["/a\nb"], None)).is_err());
    }
}
