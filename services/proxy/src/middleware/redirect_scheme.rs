//! `redirectScheme`: redirects to another scheme (and port) unless the request already
//! uses them.
//!
//! As Traefik does: the client's URL is rebuilt as `scheme://host[:port]/path?query`,
//! where the scheme is the entry point's unless `X-Forwarded-Proto` says `http`/`ws` or
//! `https`/`wss`, and a port that is the scheme's default is dropped. The target keeps the
//! host and path, takes the configured scheme, and the configured port (none when empty or
//! the new scheme's default). When the target equals the client's URL the request passes
//! on; otherwise it is answered with a redirect (302/307, or 301/308 when `permanent`: 30x
//! for GET, 307/308 for other methods).

use actix_web::HttpResponse;
use actix_web::http::StatusCode;
use futures::future::LocalBoxFuture;
use regex::Regex;
use switchyard_http_normalize::split_host_port;
use switchyard_model::http::RedirectScheme as Spec;

use super::util;
use crate::middleware::{BuildError, Middleware, Next};
use crate::request::ProxyRequest;

/// Traefik's split of a URL into scheme, host, port and the rest.
const URI_PATTERN: &str = r"^(https?:\/\/)?(\[[\w:.]+\]|[\w\._-]+)?(:\d+)?(.*)$";

/// A compiled `redirectScheme`.
pub struct RedirectScheme {
    regex: Regex,
    /// `scheme://${2}[:port]${4}`.
    template: String,
    permanent: bool,
}

impl RedirectScheme {
    /// Compiles the configuration; the scheme is required.
    pub fn new(spec: &Spec) -> Result<Self, BuildError> {
        if spec.scheme.is_empty() {
            return Err(BuildError("you must provide a target scheme".to_owned()));
        }
        let default_port = (spec.scheme == "http" && spec.port == "80")
            || (spec.scheme == "https" && spec.port == "443");
        let port = if spec.port.is_empty() || default_port {
            String::new()
        } else {
            format!(":{}", spec.port)
        };
        Ok(Self {
            regex: util::go_regex(URI_PATTERN, "redirectScheme")?,
            template: format!("{}://${{2}}{port}${{4}}", spec.scheme),
            permanent: spec.permanent,
        })
    }
}

/// The URL the client used, as Traefik's `clientRequestURL` rebuilds it.
fn client_url(req: &ProxyRequest) -> String {
    let mut scheme = req.scheme;
    if let Some(proto) = req.header("x-forwarded-proto").filter(|p| !p.is_empty()) {
        if proto.eq_ignore_ascii_case("http") || proto.eq_ignore_ascii_case("ws") {
            scheme = "http";
        } else if proto.eq_ignore_ascii_case("https") || proto.eq_ignore_ascii_case("wss") {
            scheme = "https";
        }
    }
    // Go's SplitHostPort drops the brackets of an IPv6 literal, which Traefik's own
    // pattern then fails to read; they are kept so that the host survives.
    let (host, port) = match split_host_port(&req.host) {
        Some((_, port)) => req.host.split_at(req.host.len() - port.len() - 1),
        None => (req.host.as_str(), ""),
    };
    let port = if (scheme == "http" && port == ":80") || (scheme == "https" && port == ":443") {
        ""
    } else {
        port
    };
    let mut url = String::with_capacity(scheme.len() + 3 + req.host.len() + req.path.len() + 1);
    url.push_str(scheme);
    url.push_str("://");
    url.push_str(host);
    url.push_str(port);
    url.push_str(&req.path);
    if let Some(query) = &req.query {
        url.push('?');
        url.push_str(query);
    }
    url
}

impl Middleware for RedirectScheme {
    fn handle<'a>(&'a self, req: ProxyRequest, next: Next<'a>) -> LocalBoxFuture<'a, HttpResponse> {
        let url = client_url(&req);
        let target = util::go_replace_all(&self.regex, &url, &self.template);
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
    use crate::middleware::testing::{Recorder, body, header, request, run};

    fn spec(scheme: &str, port: &str, permanent: bool) -> Spec {
        Spec {
            scheme: scheme.to_owned(),
            port: port.to_owned(),
            permanent,
        }
    }

    #[actix_web::test]
    async fn redirects_like_traefik() {
        // (case, scheme, port, permanent, method, entry point scheme, host, target, X-Forwarded-Proto,
        //  expected status, expected Location)
        type Case = (
            &'static str,
            &'static str,
            &'static str,
            bool,
            Method,
            &'static str,
            &'static str,
            &'static str,
            Option<&'static str>,
            u16,
            Option<&'static str>,
        );
        let cases: Vec<Case> = vec![
            (
                "http to https",
                "https",
                "",
                false,
                Method::GET,
                "http",
                "foo",
                "/",
                None,
                302,
                Some("https://foo/"),
            ),
            (
                "path and query kept",
                "https",
                "",
                false,
                Method::GET,
                "http",
                "foo",
                "/a/b?c=d",
                None,
                302,
                Some("https://foo/a/b?c=d"),
            ),
            (
                "X-Forwarded-Proto http",
                "https",
                "",
                false,
                Method::GET,
                "http",
                "foo",
                "/",
                Some("http"),
                302,
                Some("https://foo/"),
            ),
            (
                "X-Forwarded-Proto https",
                "https",
                "",
                false,
                Method::GET,
                "http",
                "foo",
                "/",
                Some("https"),
                200,
                None,
            ),
            (
                "X-Forwarded-Proto unknown",
                "https",
                "",
                false,
                Method::GET,
                "http",
                "foo",
                "/",
                Some("bar"),
                302,
                Some("https://foo/"),
            ),
            (
                "X-Forwarded-Proto ws",
                "https",
                "",
                false,
                Method::GET,
                "http",
                "foo",
                "/",
                Some("ws"),
                302,
                Some("https://foo/"),
            ),
            (
                "X-Forwarded-Proto wss",
                "https",
                "",
                false,
                Method::GET,
                "http",
                "foo",
                "/",
                Some("WSS"),
                200,
                None,
            ),
            (
                "already https",
                "https",
                "",
                false,
                Method::GET,
                "https",
                "foo",
                "/",
                None,
                200,
                None,
            ),
            (
                "port dropped",
                "https",
                "",
                false,
                Method::GET,
                "http",
                "foo:8080",
                "/",
                None,
                302,
                Some("https://foo/"),
            ),
            (
                "port added",
                "https",
                "8443",
                false,
                Method::GET,
                "http",
                "foo",
                "/",
                None,
                302,
                Some("https://foo:8443/"),
            ),
            (
                "port replaced",
                "https",
                "8443",
                false,
                Method::GET,
                "http",
                "foo:8000",
                "/",
                None,
                302,
                Some("https://foo:8443/"),
            ),
            (
                "https port replaced",
                "https",
                "8443",
                false,
                Method::GET,
                "https",
                "foo:8000",
                "/",
                None,
                302,
                Some("https://foo:8443/"),
            ),
            (
                "https port dropped",
                "https",
                "",
                false,
                Method::GET,
                "https",
                "foo:8000",
                "/theother",
                None,
                302,
                Some("https://foo/theother"),
            ),
            (
                "same scheme and port",
                "https",
                "8443",
                false,
                Method::GET,
                "https",
                "foo:8443",
                "/",
                None,
                200,
                None,
            ),
            (
                "permanent",
                "https",
                "8443",
                true,
                Method::GET,
                "http",
                "foo",
                "/",
                None,
                301,
                Some("https://foo:8443/"),
            ),
            (
                "POST",
                "https",
                "",
                false,
                Method::POST,
                "http",
                "foo",
                "/",
                None,
                307,
                Some("https://foo/"),
            ),
            (
                "permanent POST",
                "https",
                "",
                true,
                Method::POST,
                "http",
                "foo",
                "/",
                None,
                308,
                Some("https://foo/"),
            ),
            (
                "http 80 is default",
                "http",
                "80",
                false,
                Method::GET,
                "http",
                "foo:80",
                "/",
                None,
                200,
                None,
            ),
            (
                "https 443 is default",
                "https",
                "443",
                false,
                Method::GET,
                "https",
                "foo:443",
                "/",
                None,
                200,
                None,
            ),
            (
                "to wss with port",
                "wss",
                "9443",
                false,
                Method::GET,
                "http",
                "foo",
                "/",
                None,
                302,
                Some("wss://foo:9443/"),
            ),
            (
                "to wss",
                "wss",
                "",
                false,
                Method::GET,
                "http",
                "foo:5678",
                "/",
                None,
                302,
                Some("wss://foo/"),
            ),
            (
                "http with 443 to https",
                "https",
                "",
                false,
                Method::GET,
                "http",
                "foo:443",
                "/",
                None,
                302,
                Some("https://foo/"),
            ),
            (
                "http port change",
                "http",
                "8181",
                false,
                Method::GET,
                "http",
                "foo:8080",
                "/",
                None,
                302,
                Some("http://foo:8181/"),
            ),
            (
                "https on port 80",
                "https",
                "",
                false,
                Method::GET,
                "https",
                "foo:80",
                "/",
                None,
                302,
                Some("https://foo/"),
            ),
            (
                "IPv6",
                "https",
                "",
                false,
                Method::GET,
                "http",
                "[::1]",
                "/",
                None,
                302,
                Some("https://[::1]/"),
            ),
            (
                "IPv6 with port",
                "https",
                "8443",
                false,
                Method::GET,
                "http",
                "[::1]",
                "/",
                None,
                302,
                Some("https://[::1]:8443/"),
            ),
            (
                "IPv6 port 80 dropped",
                "https",
                "",
                false,
                Method::GET,
                "http",
                "[::1]:80",
                "/",
                None,
                302,
                Some("https://[::1]/"),
            ),
            (
                "IPv6 port 80 replaced",
                "https",
                "8443",
                false,
                Method::GET,
                "http",
                "[::1]:80",
                "/",
                None,
                302,
                Some("https://[::1]:8443/"),
            ),
        ];
        for (
            case,
            scheme,
            port,
            permanent,
            method,
            ep_scheme,
            host,
            target,
            proto,
            status,
            location,
        ) in cases
        {
            let mw = Arc::new(RedirectScheme::new(&spec(scheme, port, permanent)).expect(case));
            let headers: Vec<(&str, &str)> = proto
                .map(|p| ("X-Forwarded-Proto", p))
                .into_iter()
                .collect();
            let recorder = Recorder::default();
            let response = run(
                mw,
                &recorder,
                request(method, ep_scheme, host, target, &headers),
            )
            .await;
            assert_eq!(response.status().as_u16(), status, "{case}");
            assert_eq!(header(&response, "location").as_deref(), location, "{case}");
            assert_eq!(
                recorder.seen().is_some(),
                status == 200,
                "{case}: next runs only without a redirect"
            );
            if status == 302 {
                assert_eq!(body(response).await, "Found", "{case}");
            }
        }
    }

    #[test]
    fn the_scheme_is_required() {
        let err = RedirectScheme::new(&spec("", "443", false)).err();
        assert_eq!(
            err,
            Some(BuildError("you must provide a target scheme".to_owned()))
        );
    }
}
