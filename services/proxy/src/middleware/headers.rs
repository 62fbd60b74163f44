//! `headers`: custom request and response headers, CORS, and security headers.
//!
//! Traefik builds this middleware from two handlers, kept in that order here:
//! 1. the *header* handler (when custom or CORS headers are set) answers CORS preflights
//!    itself (`OPTIONS` with `Origin` and `Access-Control-Request-Method`: 200 with the
//!    CORS headers, nothing forwarded), then sets/removes the custom request headers, and
//!    on the way back sets/removes the custom response headers and adds the CORS headers;
//! 2. the *secure* handler (`unrolled/secure`, when a security option is set) refuses
//!    hosts outside `allowedHosts` with Go's `500 Bad Host`, and on the way back sets the
//!    security headers.
//!
//! Because the secure handler sits inside the header handler, custom response headers
//! are applied after (and so override or remove) the security headers, and they also
//! apply to the `Bad Host` answer.
//!
//! Deprecated options Traefik v3 no longer passes on (`sslRedirect`,
//! `sslTemporaryRedirect`, `sslHost`, `sslForceHost`, `featurePolicy`) are ignored.

use actix_web::HttpResponse;
use actix_web::http::header::{self, HeaderMap, HeaderName, HeaderValue};
use actix_web::http::{Method, StatusCode};
use base64::Engine;
use futures::future::LocalBoxFuture;
use regex::Regex;
use switchyard_model::http::Headers as Spec;

use super::util;
use crate::middleware::{BuildError, Middleware, Next};
use crate::request::ProxyRequest;

/// A compiled `headers` middleware.
pub struct Headers {
    header: Option<HeaderHandler>,
    secure: Option<Secure>,
}

impl Headers {
    /// Compiles the configuration. At least one option must be set; header names and
    /// values must be valid; origin regexps must compile (Go syntax).
    pub fn new(spec: &Spec) -> Result<Self, BuildError> {
        let has_custom = spec.has_custom_headers();
        let has_cors = spec.has_cors_headers();
        let has_secure = spec.has_secure_headers();
        if !has_custom && !has_cors && !has_secure {
            return Err(BuildError("headers configuration not valid".to_owned()));
        }
        let header = if has_custom || has_cors {
            Some(HeaderHandler::new(spec, has_cors)?)
        } else {
            None
        };
        let secure = if has_secure {
            Some(Secure::new(spec)?)
        } else {
            None
        };
        Ok(Self { header, secure })
    }
}

impl Middleware for Headers {
    fn handle<'a>(
        &'a self,
        mut req: ProxyRequest,
        next: Next<'a>,
    ) -> LocalBoxFuture<'a, HttpResponse> {
        let mut origin = None;
        if let Some(handler) = &self.header {
            if let Some(response) = handler.preflight(&req) {
                return Box::pin(async move { response });
            }
            handler.modify_request(&mut req);
            origin = Some(req.headers.get(header::ORIGIN).cloned());
        }
        let (early, secure) = match &self.secure {
            Some(secure) => match secure.check(&req) {
                Ok(state) => (None, Some((secure, state))),
                // unrolled/secure's default bad-host handler, which Traefik keeps.
                Err(BadHost) => (
                    Some(util::text_error(
                        StatusCode::INTERNAL_SERVER_ERROR,
                        "Bad Host",
                    )),
                    None,
                ),
            },
            None => (None, None),
        };
        Box::pin(async move {
            let mut response = match early {
                Some(response) => response,
                None => next.run(req).await,
            };
            if let Some((secure, state)) = secure {
                secure.modify_response(response.headers_mut(), &state);
            }
            if let (Some(handler), Some(origin)) = (&self.header, origin) {
                handler.modify_response(response.headers_mut(), origin.as_ref());
            }
            response
        })
    }
}

/// What a custom request header does.
enum RequestHeader {
    /// An empty value removes the header.
    Remove(HeaderName),
    /// Replaces every value.
    Set(HeaderName, HeaderValue),
    /// `Host` changes the host sent upstream.
    Host(String),
}

/// How an allowed origin is answered.
enum OriginMatch {
    /// `Access-Control-Allow-Origin: *`.
    Any,
    /// The request's `Origin`, echoed.
    Echo,
}

const ALLOW_CREDENTIALS: HeaderName = HeaderName::from_static("access-control-allow-credentials");
const ALLOW_HEADERS: HeaderName = HeaderName::from_static("access-control-allow-headers");
const ALLOW_METHODS: HeaderName = HeaderName::from_static("access-control-allow-methods");
const ALLOW_ORIGIN: HeaderName = HeaderName::from_static("access-control-allow-origin");
const EXPOSE_HEADERS: HeaderName = HeaderName::from_static("access-control-expose-headers");
const MAX_AGE: HeaderName = HeaderName::from_static("access-control-max-age");
const REQUEST_METHOD: HeaderName = HeaderName::from_static("access-control-request-method");
const REQUEST_HEADERS: HeaderName = HeaderName::from_static("access-control-request-headers");

/// Traefik's header handler: custom headers and CORS.
struct HeaderHandler {
    request_headers: Vec<RequestHeader>,
    /// `None` removes the header.
    response_headers: Vec<(HeaderName, Option<HeaderValue>)>,
    /// Whether a CORS option is set (preflights are answered only then).
    cors: bool,
    allow_credentials: bool,
    /// The joined list, when not empty.
    allow_headers: Option<HeaderValue>,
    /// `*` with credentials: echo `Access-Control-Request-Headers` instead.
    echo_request_headers: bool,
    allow_methods: Option<HeaderValue>,
    echo_request_method: bool,
    origins: Vec<String>,
    origin_regexes: Vec<Regex>,
    /// Left out when the list is empty, or holds `*` while credentials are allowed.
    expose_headers: Option<HeaderValue>,
    max_age: Option<HeaderValue>,
    add_vary: bool,
}

fn joined(list: &[String], what: &str) -> Result<Option<HeaderValue>, BuildError> {
    let joined = list.join(",");
    if joined.is_empty() {
        Ok(None)
    } else {
        util::header_value(&joined, what).map(Some)
    }
}

impl HeaderHandler {
    fn new(spec: &Spec, cors: bool) -> Result<Self, BuildError> {
        let request_headers = spec
            .custom_request_headers
            .iter()
            .map(|(name, value)| {
                let what = "headers.customRequestHeaders";
                let header_name = util::header_name(name, what)?;
                Ok(if value.is_empty() {
                    RequestHeader::Remove(header_name)
                } else if header_name == header::HOST {
                    util::header_value(value, what)?;
                    RequestHeader::Host(value.clone())
                } else {
                    RequestHeader::Set(header_name, util::header_value(value, what)?)
                })
            })
            .collect::<Result<_, BuildError>>()?;
        let response_headers = spec
            .custom_response_headers
            .iter()
            .map(|(name, value)| {
                let what = "headers.customResponseHeaders";
                let value = if value.is_empty() {
                    None
                } else {
                    Some(util::header_value(value, what)?)
                };
                Ok((util::header_name(name, what)?, value))
            })
            .collect::<Result<_, BuildError>>()?;
        let origin_regexes = spec
            .access_control_allow_origin_list_regex
            .iter()
            .map(|re| util::go_regex(re, "headers.accessControlAllowOriginListRegex"))
            .collect::<Result<_, _>>()?;
        let credentials = spec.access_control_allow_credentials;
        let has_star = |list: &[String]| list.iter().any(|item| item == "*");
        let expose = &spec.access_control_expose_headers;
        let expose_headers = if expose.is_empty() || (has_star(expose) && credentials) {
            None
        } else {
            Some(util::header_value(
                &expose.join(","),
                "headers.accessControlExposeHeaders",
            )?)
        };
        Ok(Self {
            request_headers,
            response_headers,
            cors,
            allow_credentials: credentials,
            allow_headers: joined(
                &spec.access_control_allow_headers,
                "headers.accessControlAllowHeaders",
            )?,
            echo_request_headers: credentials && has_star(&spec.access_control_allow_headers),
            allow_methods: joined(
                &spec.access_control_allow_methods,
                "headers.accessControlAllowMethods",
            )?,
            echo_request_method: credentials && has_star(&spec.access_control_allow_methods),
            origins: spec.access_control_allow_origin_list.clone(),
            origin_regexes,
            expose_headers,
            max_age: spec.access_control_max_age.map(HeaderValue::from),
            add_vary: spec.add_vary_header,
        })
    }

    /// Traefik's `matchOrigin`: the list first (exact value, or `*`), then the regexps
    /// (unanchored). A missing `Origin` is matched as the empty string, as Go reads it.
    fn match_origin(&self, origin: &[u8]) -> Option<OriginMatch> {
        for item in &self.origins {
            if item.as_bytes() == origin {
                return Some(OriginMatch::Echo);
            }
            if item == "*" {
                // A wildcard cannot be combined with credentials: echo the origin instead.
                return Some(if self.allow_credentials {
                    OriginMatch::Echo
                } else {
                    OriginMatch::Any
                });
            }
        }
        let origin = std::str::from_utf8(origin).ok()?;
        self.origin_regexes
            .iter()
            .any(|re| re.is_match(origin))
            .then_some(OriginMatch::Echo)
    }

    /// The answer to a CORS preflight, when `req` is one.
    fn preflight(&self, req: &ProxyRequest) -> Option<HttpResponse> {
        if !self.cors || req.method != Method::OPTIONS {
            return None;
        }
        let request_method = req.headers.get(REQUEST_METHOD).filter(|v| !v.is_empty())?;
        let origin = req.headers.get(header::ORIGIN).filter(|v| !v.is_empty())?;
        let mut response = HttpResponse::build(StatusCode::OK);
        if self.allow_credentials {
            response.insert_header((ALLOW_CREDENTIALS, HeaderValue::from_static("true")));
        }
        if self.echo_request_headers {
            if let Some(requested) = req.headers.get(REQUEST_HEADERS).filter(|v| !v.is_empty()) {
                response.insert_header((ALLOW_HEADERS, requested.clone()));
            }
        } else if let Some(allowed) = &self.allow_headers {
            response.insert_header((ALLOW_HEADERS, allowed.clone()));
        }
        if self.echo_request_method {
            response.insert_header((ALLOW_METHODS, request_method.clone()));
        } else if let Some(allowed) = &self.allow_methods {
            response.insert_header((ALLOW_METHODS, allowed.clone()));
        }
        match self.match_origin(origin.as_bytes()) {
            Some(OriginMatch::Any) => {
                response.insert_header((ALLOW_ORIGIN, HeaderValue::from_static("*")));
            }
            Some(OriginMatch::Echo) => {
                response.insert_header((ALLOW_ORIGIN, origin.clone()));
            }
            None => {}
        }
        if let Some(max_age) = &self.max_age {
            response.insert_header((MAX_AGE, max_age.clone()));
        }
        if let Some(expose) = &self.expose_headers {
            response.insert_header((EXPOSE_HEADERS, expose.clone()));
        }
        Some(response.finish())
    }

    fn modify_request(&self, req: &mut ProxyRequest) {
        for action in &self.request_headers {
            match action {
                RequestHeader::Remove(name) => {
                    req.headers.remove(name);
                }
                RequestHeader::Set(name, value) => {
                    req.headers.insert(name.clone(), value.clone());
                }
                RequestHeader::Host(host) => req.host.clone_from(host),
            }
        }
    }

    /// Traefik's `PostRequestModifyResponseHeaders`; `origin` is the request's `Origin`.
    fn modify_response(&self, headers: &mut HeaderMap, origin: Option<&HeaderValue>) {
        for (name, value) in &self.response_headers {
            match value {
                Some(value) => {
                    headers.insert(name.clone(), value.clone());
                }
                None => {
                    headers.remove(name);
                }
            }
        }
        let origin_bytes = origin.map_or(&b""[..], HeaderValue::as_bytes);
        match self.match_origin(origin_bytes) {
            Some(OriginMatch::Any) => {
                headers.insert(ALLOW_ORIGIN, HeaderValue::from_static("*"));
            }
            Some(OriginMatch::Echo) => {
                let value = origin
                    .cloned()
                    .unwrap_or_else(|| HeaderValue::from_static(""));
                headers.insert(ALLOW_ORIGIN, value);
            }
            None => {}
        }
        if self.allow_credentials {
            headers.insert(ALLOW_CREDENTIALS, HeaderValue::from_static("true"));
        }
        if let Some(expose) = &self.expose_headers {
            headers.insert(EXPOSE_HEADERS, expose.clone());
        }
        if self.add_vary {
            add_vary_origin(headers);
        }
    }
}

/// Appends `Origin` to the first `Vary` value (Go's `Header.Get`/`Set`: other values are
/// dropped), unless that value is exactly `Origin`.
fn add_vary_origin(headers: &mut HeaderMap) {
    let vary = match headers.get(header::VARY) {
        Some(first) if first.as_bytes() == b"Origin" => return,
        Some(first) if !first.is_empty() => {
            let mut bytes = Vec::with_capacity(first.len() + 7);
            bytes.extend_from_slice(first.as_bytes());
            bytes.extend_from_slice(b",Origin");
            HeaderValue::from_bytes(&bytes).unwrap_or_else(|_| HeaderValue::from_static("Origin"))
        }
        _ => HeaderValue::from_static("Origin"),
    };
    headers.insert(header::VARY, vary);
}

/// A Content-Security-Policy value, possibly holding `$NONCE` markers.
enum Policy {
    Fixed(HeaderValue),
    /// The text around each `$NONCE`; each marker becomes `'nonce-<random>'`.
    WithNonce(Vec<String>),
}

impl Policy {
    fn new(text: &str, what: &str) -> Result<Option<Self>, BuildError> {
        if text.is_empty() {
            return Ok(None);
        }
        if text.contains("$NONCE") {
            // Checked with a sample nonce (base64 never breaks a header value).
            util::header_value(&text.replace("$NONCE", "'nonce-AAAA'"), what)?;
            return Ok(Some(Policy::WithNonce(
                text.split("$NONCE").map(str::to_owned).collect(),
            )));
        }
        Ok(Some(Policy::Fixed(util::header_value(text, what)?)))
    }

    fn value(&self, nonce: Option<&str>) -> Option<HeaderValue> {
        match self {
            Policy::Fixed(value) => Some(value.clone()),
            Policy::WithNonce(parts) => {
                let nonce_value = format!("'nonce-{}'", nonce.unwrap_or_default());
                HeaderValue::from_str(&parts.join(&nonce_value)).ok()
            }
        }
    }
}

/// Traefik's secure handler (`unrolled/secure` with the options Traefik v3 passes).
struct Secure {
    /// Empty, or `isDevelopment` set: every host is allowed.
    allowed_hosts: Vec<String>,
    hosts_proxy_headers: Vec<HeaderName>,
    /// Header and value marking a request as HTTPS; an invalid name never matches a
    /// present header, so it only matches an empty value (as Go's `Header.Get`).
    ssl_proxy_headers: Vec<(Option<HeaderName>, String)>,
    /// `Strict-Transport-Security` (not in development, not for `stsSeconds: 0`).
    sts: Option<HeaderValue>,
    force_sts: bool,
    /// `Public-Key-Pins`, sent on HTTPS only (not in development).
    public_key: Option<HeaderValue>,
    /// Headers sent whatever the request.
    fixed: Vec<(HeaderName, HeaderValue)>,
    csp: Option<Policy>,
    csp_report_only: Option<Policy>,
}

/// The request's host is not in `allowedHosts`.
struct BadHost;

/// What the secure handler decided about a request, for its response.
struct SecureState {
    ssl: bool,
    nonce: Option<String>,
}

/// Go's `strings.EqualFold`.
fn equal_fold(a: &str, b: &str) -> bool {
    if a.is_ascii() && b.is_ascii() {
        return a.eq_ignore_ascii_case(b);
    }
    a.chars()
        .flat_map(char::to_lowercase)
        .eq(b.chars().flat_map(char::to_lowercase))
}

impl Secure {
    fn new(spec: &Spec) -> Result<Self, BuildError> {
        let what = "headers";
        let allowed_hosts = if spec.is_development {
            Vec::new()
        } else {
            spec.allowed_hosts.clone()
        };
        let hosts_proxy_headers = spec
            .hosts_proxy_headers
            .iter()
            // A header that cannot exist never holds a host: skipping it is what Go does.
            .filter_map(|name| HeaderName::from_bytes(name.as_bytes()).ok())
            .collect();
        let ssl_proxy_headers = spec
            .ssl_proxy_headers
            .iter()
            .map(|(name, value)| (HeaderName::from_bytes(name.as_bytes()).ok(), value.clone()))
            .collect();
        let sts_seconds = spec.sts_seconds.unwrap_or(0);
        let sts = if sts_seconds != 0 && !spec.is_development {
            let mut value = format!("max-age={sts_seconds}");
            if spec.sts_include_subdomains {
                value.push_str("; includeSubDomains");
            }
            if spec.sts_preload {
                value.push_str("; preload");
            }
            Some(util::header_value(&value, what)?)
        } else {
            None
        };
        let public_key = if spec.public_key.is_empty() || spec.is_development {
            None
        } else {
            Some(util::header_value(&spec.public_key, "headers.publicKey")?)
        };
        let mut fixed = Vec::new();
        let frame_options = if !spec.custom_frame_options_value.is_empty() {
            Some(spec.custom_frame_options_value.as_str())
        } else if spec.frame_deny {
            Some("DENY")
        } else {
            None
        };
        if let Some(value) = frame_options {
            fixed.push((
                header::X_FRAME_OPTIONS,
                util::header_value(value, "headers.customFrameOptionsValue")?,
            ));
        }
        if spec.content_type_nosniff {
            fixed.push((
                header::X_CONTENT_TYPE_OPTIONS,
                HeaderValue::from_static("nosniff"),
            ));
        }
        let xss = if !spec.custom_browser_xss_value.is_empty() {
            Some(spec.custom_browser_xss_value.as_str())
        } else if spec.browser_xss_filter {
            Some("1; mode=block")
        } else {
            None
        };
        if let Some(value) = xss {
            fixed.push((
                header::X_XSS_PROTECTION,
                util::header_value(value, "headers.customBrowserXSSValue")?,
            ));
        }
        if !spec.referrer_policy.is_empty() {
            fixed.push((
                header::REFERRER_POLICY,
                util::header_value(&spec.referrer_policy, "headers.referrerPolicy")?,
            ));
        }
        if !spec.permissions_policy.is_empty() {
            fixed.push((
                HeaderName::from_static("permissions-policy"),
                util::header_value(&spec.permissions_policy, "headers.permissionsPolicy")?,
            ));
        }
        Ok(Self {
            allowed_hosts,
            hosts_proxy_headers,
            ssl_proxy_headers,
            sts,
            force_sts: spec.force_sts_header,
            public_key,
            fixed,
            csp: Policy::new(
                &spec.content_security_policy,
                "headers.contentSecurityPolicy",
            )?,
            csp_report_only: Policy::new(
                &spec.content_security_policy_report_only,
                "headers.contentSecurityPolicyReportOnly",
            )?,
        })
    }

    fn needs_nonce(&self) -> bool {
        [&self.csp, &self.csp_report_only]
            .into_iter()
            .any(|p| matches!(p, Some(Policy::WithNonce(_))))
    }

    /// The host check; on success, what the response needs.
    fn check(&self, req: &ProxyRequest) -> Result<SecureState, BadHost> {
        if !self.allowed_hosts.is_empty() {
            let host = self
                .hosts_proxy_headers
                .iter()
                .find_map(|name| {
                    req.headers
                        .get(name)
                        .and_then(|v| v.to_str().ok())
                        .filter(|v| !v.is_empty())
                })
                .unwrap_or(&req.host);
            if !self
                .allowed_hosts
                .iter()
                .any(|allowed| equal_fold(allowed, host))
            {
                return Err(BadHost);
            }
        }
        let ssl = (self.sts.is_some() || self.public_key.is_some()) && self.is_ssl(req);
        let nonce = self.needs_nonce().then(|| {
            let bytes: [u8; 16] = rand::random();
            base64::engine::general_purpose::STANDARD_NO_PAD.encode(bytes)
        });
        Ok(SecureState { ssl, nonce })
    }

    fn is_ssl(&self, req: &ProxyRequest) -> bool {
        req.scheme == "https"
            || self.ssl_proxy_headers.iter().any(|(name, value)| {
                let present = name
                    .as_ref()
                    .and_then(|n| req.headers.get(n))
                    .map_or(&b""[..], HeaderValue::as_bytes);
                present == value.as_bytes()
            })
    }

    fn modify_response(&self, headers: &mut HeaderMap, state: &SecureState) {
        if let Some(sts) = &self.sts
            && (state.ssl || self.force_sts)
        {
            headers.insert(header::STRICT_TRANSPORT_SECURITY, sts.clone());
        }
        for (name, value) in &self.fixed {
            headers.insert(name.clone(), value.clone());
        }
        if let Some(public_key) = &self.public_key
            && state.ssl
        {
            headers.insert(
                HeaderName::from_static("public-key-pins"),
                public_key.clone(),
            );
        }
        let nonce = state.nonce.as_deref();
        if let Some(value) = self.csp.as_ref().and_then(|p| p.value(nonce)) {
            headers.insert(header::CONTENT_SECURITY_POLICY, value);
        }
        if let Some(value) = self.csp_report_only.as_ref().and_then(|p| p.value(nonce)) {
            headers.insert(header::CONTENT_SECURITY_POLICY_REPORT_ONLY, value);
        }
    }
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeMap;
    use std::sync::Arc;

    use super::*;
    use crate::middleware::testing::{Recorder, body, get, header, header_values, request, run};

    fn map(pairs: &[(&str, &str)]) -> BTreeMap<String, String> {
        pairs
            .iter()
            .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
            .collect()
    }

    fn strings(items: &[&str]) -> Vec<String> {
        items.iter().map(|s| (*s).to_owned()).collect()
    }

    /// Header name/value pairs.
    type Pairs<'a> = &'a [(&'a str, &'a str)];

    fn build(spec: &Spec) -> Arc<dyn Middleware> {
        Arc::new(Headers::new(spec).expect("builds"))
    }

    /// The CORS and security header names a test may expect, to check that no other one
    /// appears.
    const WATCHED: [&str; 16] = [
        "access-control-allow-credentials",
        "access-control-allow-headers",
        "access-control-allow-methods",
        "access-control-allow-origin",
        "access-control-expose-headers",
        "access-control-max-age",
        "vary",
        "strict-transport-security",
        "x-frame-options",
        "x-content-type-options",
        "x-xss-protection",
        "content-security-policy",
        "content-security-policy-report-only",
        "public-key-pins",
        "referrer-policy",
        "permissions-policy",
    ];

    fn assert_watched(response: &HttpResponse, expected: &[(&str, &str)], case: &str) {
        for name in WATCHED {
            let want: Vec<&str> = expected
                .iter()
                .filter(|(n, _)| n.eq_ignore_ascii_case(name))
                .map(|(_, v)| *v)
                .collect();
            assert_eq!(header_values(response, name), want, "{case}: {name}");
        }
    }

    #[test]
    fn an_empty_configuration_is_refused() {
        assert!(Headers::new(&Spec::default()).is_err());
    }

    #[test]
    fn bad_configurations_are_refused() {
        let cases = [
            (
                "bad request header name",
                Spec {
                    custom_request_headers: map(&[("a b", "x")]),
                    ..Spec::default()
                },
            ),
            (
                "bad response header value",
                Spec {
                    custom_response_headers: map(&[("x", "a\nb")]),
                    ..Spec::default()
                },
            ),
            (
                "bad origin regex",
                Spec {
                    access_control_allow_origin_list_regex: strings(&["a(b"]),
                    ..Spec::default()
                },
            ),
        ];
        for (case, spec) in cases {
            assert!(Headers::new(&spec).is_err(), "{case}");
        }
    }

    #[actix_web::test]
    async fn custom_request_headers() {
        let spec = Spec {
            custom_request_headers: map(&[
                ("X-Custom", "value"),
                ("X-Remove", ""),
                ("X-Forwarded-For", ""),
                ("Host", "upstream.example"),
                ("X-Replace", "new"),
            ]),
            ..Spec::default()
        };
        let recorder = Recorder::default();
        let req = get(
            "/",
            &[
                ("X-Remove", "a"),
                ("X-Remove", "b"),
                ("X-Forwarded-For", "192.0.2.1"),
                ("X-Replace", "1"),
                ("X-Replace", "2"),
            ],
        );
        let response = run(build(&spec), &recorder, req).await;
        assert_eq!(response.status().as_u16(), 200);
        let seen = recorder.seen().expect("next ran");
        assert_eq!(seen.header_values("x-custom"), ["value"]);
        assert!(seen.header_values("x-remove").is_empty());
        assert!(seen.header_values("x-forwarded-for").is_empty());
        assert_eq!(seen.header_values("x-replace"), ["new"]);
        assert_eq!(seen.host, "upstream.example");
    }

    #[actix_web::test]
    async fn custom_response_headers() {
        // (case, configured response headers, expected Testing/Testing2/Foo values)
        type Case<'a> = (&'a str, &'a [(&'a str, &'a str)], [Option<&'a str>; 3]);
        let cases: [Case; 3] = [
            (
                "set",
                &[("Testing", "foo"), ("Testing2", "bar")],
                [Some("foo"), Some("bar"), Some("bar")],
            ),
            (
                "empty value sets nothing",
                &[("Testing", "foo"), ("Testing2", "")],
                [Some("foo"), None, Some("bar")],
            ),
            (
                "empty value removes",
                &[("Testing", "foo"), ("Foo", "")],
                [Some("foo"), None, None],
            ),
        ];
        for (case, config, [testing, testing2, foo]) in cases {
            let spec = Spec {
                custom_response_headers: map(config),
                ..Spec::default()
            };
            let recorder = Recorder::responding_with(&[("Foo", "bar"), ("Foo", "baz")]);
            let response = run(build(&spec), &recorder, get("/", &[])).await;
            assert_eq!(header(&response, "testing").as_deref(), testing, "{case}");
            assert_eq!(header(&response, "testing2").as_deref(), testing2, "{case}");
            assert_eq!(header(&response, "foo").as_deref(), foo, "{case}");
        }
    }

    #[actix_web::test]
    async fn cors_preflights_are_answered() {
        let base = Spec {
            access_control_allow_methods: strings(&["GET", "OPTIONS", "PUT"]),
            access_control_allow_origin_list: strings(&["*"]),
            access_control_max_age: Some(600),
            ..Spec::default()
        };
        let preflight: &[(&str, &str)] = &[
            ("Access-Control-Request-Headers", "origin"),
            ("Access-Control-Request-Method", "GET"),
            ("Access-Control-Request-Method", "OPTIONS"),
            ("Origin", "https://foo.bar.org"),
        ];
        let no_request_headers: &[(&str, &str)] = &[
            ("Access-Control-Request-Method", "GET"),
            ("Origin", "https://foo.bar.org"),
        ];
        // (case, spec, request headers, expected CORS headers)
        type Case<'a> = (&'a str, Spec, Pairs<'a>, Vec<(&'a str, &'a str)>);
        let cases: Vec<Case> = vec![
            (
                "listed origin",
                Spec {
                    access_control_allow_origin_list: strings(&["https://foo.bar.org"]),
                    ..base.clone()
                },
                preflight,
                vec![
                    ("access-control-allow-origin", "https://foo.bar.org"),
                    ("access-control-max-age", "600"),
                    ("access-control-allow-methods", "GET,OPTIONS,PUT"),
                ],
            ),
            (
                "wildcard origin",
                base.clone(),
                preflight,
                vec![
                    ("access-control-allow-origin", "*"),
                    ("access-control-max-age", "600"),
                    ("access-control-allow-methods", "GET,OPTIONS,PUT"),
                ],
            ),
            (
                "credentials echo the origin",
                Spec {
                    access_control_allow_credentials: true,
                    ..base.clone()
                },
                preflight,
                vec![
                    ("access-control-allow-origin", "https://foo.bar.org"),
                    ("access-control-max-age", "600"),
                    ("access-control-allow-methods", "GET,OPTIONS,PUT"),
                    ("access-control-allow-credentials", "true"),
                ],
            ),
            (
                "allowed headers",
                Spec {
                    access_control_allow_headers: strings(&["origin", "X-Forwarded-For"]),
                    ..base.clone()
                },
                no_request_headers,
                vec![
                    ("access-control-allow-origin", "*"),
                    ("access-control-max-age", "600"),
                    ("access-control-allow-methods", "GET,OPTIONS,PUT"),
                    ("access-control-allow-headers", "origin,X-Forwarded-For"),
                ],
            ),
            (
                "wildcards with credentials echo the request",
                Spec {
                    access_control_allow_credentials: true,
                    access_control_allow_headers: strings(&["*"]),
                    access_control_allow_methods: strings(&["*"]),
                    access_control_expose_headers: strings(&["*"]),
                    ..base.clone()
                },
                preflight,
                vec![
                    ("access-control-allow-origin", "https://foo.bar.org"),
                    ("access-control-max-age", "600"),
                    ("access-control-allow-methods", "GET"),
                    ("access-control-allow-headers", "origin"),
                    ("access-control-allow-credentials", "true"),
                ],
            ),
            (
                "expose headers and no max age",
                Spec {
                    access_control_max_age: None,
                    access_control_expose_headers: strings(&["X-A", "X-B"]),
                    ..base.clone()
                },
                preflight,
                vec![
                    ("access-control-allow-origin", "*"),
                    ("access-control-allow-methods", "GET,OPTIONS,PUT"),
                    ("access-control-expose-headers", "X-A,X-B"),
                ],
            ),
            (
                "origin not allowed",
                Spec {
                    access_control_allow_origin_list: strings(&["https://other.org"]),
                    ..base.clone()
                },
                preflight,
                vec![
                    ("access-control-max-age", "600"),
                    ("access-control-allow-methods", "GET,OPTIONS,PUT"),
                ],
            ),
        ];
        for (case, spec, headers, expected) in cases {
            let recorder = Recorder::default();
            let req = request(Method::OPTIONS, "http", "example.com", "/foo", headers);
            let response = run(build(&spec), &recorder, req).await;
            assert_eq!(response.status().as_u16(), 200, "{case}");
            assert!(
                recorder.seen().is_none(),
                "{case}: a preflight is not forwarded"
            );
            assert_watched(&response, &expected, case);
            assert_eq!(body(response).await, "", "{case}");
        }
    }

    #[actix_web::test]
    async fn options_without_cors_request_method_is_forwarded() {
        let spec = Spec {
            access_control_allow_origin_list: strings(&["*"]),
            ..Spec::default()
        };
        let cases: [(&str, Method, Pairs); 3] = [
            (
                "no request method",
                Method::OPTIONS,
                &[("Origin", "https://a.org")],
            ),
            (
                "no origin",
                Method::OPTIONS,
                &[("Access-Control-Request-Method", "GET")],
            ),
            (
                "not OPTIONS",
                Method::GET,
                &[
                    ("Origin", "https://a.org"),
                    ("Access-Control-Request-Method", "GET"),
                ],
            ),
        ];
        for (case, method, headers) in cases {
            let recorder = Recorder::default();
            let response = run(
                build(&spec),
                &recorder,
                request(method, "http", "a", "/", headers),
            )
            .await;
            assert!(recorder.seen().is_some(), "{case}");
            assert_eq!(
                header(&response, "access-control-allow-origin").as_deref(),
                Some("*"),
                "{case}"
            );
        }
    }

    #[actix_web::test]
    async fn preflights_need_a_cors_option() {
        let spec = Spec {
            custom_request_headers: map(&[("foo", "bar")]),
            ..Spec::default()
        };
        let recorder = Recorder::default();
        let headers = [
            ("Access-Control-Request-Method", "GET"),
            ("Origin", "https://foo.bar.org"),
        ];
        let response = run(
            build(&spec),
            &recorder,
            request(Method::OPTIONS, "http", "a", "/", &headers),
        )
        .await;
        assert!(recorder.seen().is_some());
        assert_watched(&response, &[], "custom headers only");
    }

    #[actix_web::test]
    async fn cors_responses() {
        let origin: &[(&str, &str)] = &[("Origin", "https://foo.bar.org")];
        // (case, spec, backend headers, request headers, expected CORS headers)
        type Case<'a> = (&'a str, Spec, Pairs<'a>, Pairs<'a>, Vec<(&'a str, &'a str)>);
        let cases: Vec<Case> = vec![
            (
                "listed origin",
                Spec {
                    access_control_allow_origin_list: strings(&["https://foo.bar.org"]),
                    ..Spec::default()
                },
                &[],
                origin,
                vec![("access-control-allow-origin", "https://foo.bar.org")],
            ),
            (
                "wildcard",
                Spec {
                    access_control_allow_origin_list: strings(&["*"]),
                    ..Spec::default()
                },
                &[],
                origin,
                vec![("access-control-allow-origin", "*")],
            ),
            (
                "regex",
                Spec {
                    access_control_allow_origin_list_regex: strings(&[
                        r"^https?://([a-z]+)\.bar\.org$",
                    ]),
                    ..Spec::default()
                },
                &[],
                origin,
                vec![("access-control-allow-origin", "https://foo.bar.org")],
            ),
            (
                "partial regex",
                Spec {
                    access_control_allow_origin_list_regex: strings(&[r"([a-z]+)\.bar"]),
                    ..Spec::default()
                },
                &[],
                origin,
                vec![("access-control-allow-origin", "https://foo.bar.org")],
            ),
            (
                "regex without match",
                Spec {
                    access_control_allow_origin_list_regex: strings(&[r"([a-z]+)\.bar\.org"]),
                    ..Spec::default()
                },
                &[],
                &[("Origin", "https://bar.org")],
                vec![],
            ),
            (
                "no origin",
                Spec {
                    access_control_allow_origin_list: strings(&["https://foo.bar.org"]),
                    ..Spec::default()
                },
                &[],
                &[],
                vec![],
            ),
            (
                "wildcard without origin",
                Spec {
                    access_control_allow_origin_list: strings(&["*"]),
                    ..Spec::default()
                },
                &[],
                &[],
                vec![("access-control-allow-origin", "*")],
            ),
            (
                "credentials",
                Spec {
                    access_control_allow_origin_list: strings(&["*"]),
                    access_control_allow_credentials: true,
                    ..Spec::default()
                },
                &[],
                origin,
                vec![
                    ("access-control-allow-origin", "https://foo.bar.org"),
                    ("access-control-allow-credentials", "true"),
                ],
            ),
            (
                "expose headers",
                Spec {
                    access_control_allow_origin_list: strings(&["*"]),
                    access_control_expose_headers: strings(&["origin", "X-Forwarded-For"]),
                    ..Spec::default()
                },
                &[],
                origin,
                vec![
                    ("access-control-allow-origin", "*"),
                    ("access-control-expose-headers", "origin,X-Forwarded-For"),
                ],
            ),
            (
                "vary added",
                Spec {
                    access_control_allow_origin_list: strings(&["https://foo.bar.org"]),
                    add_vary_header: true,
                    ..Spec::default()
                },
                &[],
                origin,
                vec![
                    ("access-control-allow-origin", "https://foo.bar.org"),
                    ("vary", "Origin"),
                ],
            ),
            (
                "vary appended",
                Spec {
                    access_control_allow_origin_list: strings(&["https://foo.bar.org"]),
                    add_vary_header: true,
                    ..Spec::default()
                },
                &[("Vary", "Testing"), ("Vary", "Other")],
                origin,
                vec![
                    ("access-control-allow-origin", "https://foo.bar.org"),
                    ("vary", "Testing,Origin"),
                ],
            ),
            (
                "vary already origin",
                Spec {
                    access_control_allow_origin_list: strings(&["https://foo.bar.org"]),
                    add_vary_header: true,
                    ..Spec::default()
                },
                &[("Vary", "Origin")],
                origin,
                vec![
                    ("access-control-allow-origin", "https://foo.bar.org"),
                    ("vary", "Origin"),
                ],
            ),
            (
                "backend origin replaced",
                Spec {
                    access_control_allow_origin_list: strings(&["*"]),
                    ..Spec::default()
                },
                &[
                    ("Access-Control-Allow-Origin", "http://foo.bar.org"),
                    ("Access-Control-Allow-Origin", "x"),
                ],
                origin,
                vec![("access-control-allow-origin", "*")],
            ),
            (
                "custom headers are not CORS",
                Spec {
                    custom_request_headers: map(&[("foo", "bar")]),
                    ..Spec::default()
                },
                &[],
                &[
                    ("Origin", "https://foo.bar.org"),
                    ("Access-Control-Request-Method", "GET"),
                ],
                vec![],
            ),
        ];
        for (case, spec, backend, headers, expected) in cases {
            let recorder = Recorder::responding_with(backend);
            let response = run(build(&spec), &recorder, get("/foo", headers)).await;
            assert_eq!(response.status().as_u16(), 200, "{case}");
            assert!(recorder.seen().is_some(), "{case}");
            assert_watched(&response, &expected, case);
        }
    }

    #[actix_web::test]
    async fn security_headers() {
        // (case, spec, entry point scheme, request headers, expected security headers)
        type Case<'a> = (
            &'a str,
            Spec,
            &'static str,
            Pairs<'a>,
            Vec<(&'a str, &'a str)>,
        );
        let cases: Vec<Case> = vec![
            (
                "sts on https",
                Spec {
                    sts_seconds: Some(31536000),
                    sts_include_subdomains: true,
                    sts_preload: true,
                    ..Spec::default()
                },
                "https",
                &[],
                vec![(
                    "strict-transport-security",
                    "max-age=31536000; includeSubDomains; preload",
                )],
            ),
            (
                "no sts on http",
                Spec {
                    sts_seconds: Some(60),
                    ..Spec::default()
                },
                "http",
                &[],
                vec![],
            ),
            (
                "forced sts on http",
                Spec {
                    sts_seconds: Some(60),
                    force_sts_header: true,
                    ..Spec::default()
                },
                "http",
                &[],
                vec![("strict-transport-security", "max-age=60")],
            ),
            (
                "ssl proxy header",
                Spec {
                    sts_seconds: Some(60),
                    ssl_proxy_headers: map(&[("X-Forwarded-Proto", "https")]),
                    ..Spec::default()
                },
                "http",
                &[("X-Forwarded-Proto", "https")],
                vec![("strict-transport-security", "max-age=60")],
            ),
            (
                "sts 0 sends nothing",
                Spec {
                    sts_seconds: Some(0),
                    force_sts_header: true,
                    ..Spec::default()
                },
                "https",
                &[],
                vec![],
            ),
            (
                "development drops sts and hpkp",
                Spec {
                    sts_seconds: Some(60),
                    public_key: "pin".to_owned(),
                    is_development: true,
                    ..Spec::default()
                },
                "https",
                &[],
                vec![],
            ),
            (
                "frame deny",
                Spec {
                    frame_deny: true,
                    ..Spec::default()
                },
                "http",
                &[],
                vec![("x-frame-options", "DENY")],
            ),
            (
                "custom frame options win",
                Spec {
                    frame_deny: true,
                    custom_frame_options_value: "SAMEORIGIN".to_owned(),
                    ..Spec::default()
                },
                "http",
                &[],
                vec![("x-frame-options", "SAMEORIGIN")],
            ),
            (
                "nosniff and xss",
                Spec {
                    content_type_nosniff: true,
                    browser_xss_filter: true,
                    ..Spec::default()
                },
                "http",
                &[],
                vec![
                    ("x-content-type-options", "nosniff"),
                    ("x-xss-protection", "1; mode=block"),
                ],
            ),
            (
                "custom xss wins",
                Spec {
                    browser_xss_filter: true,
                    custom_browser_xss_value: "0".to_owned(),
                    ..Spec::default()
                },
                "http",
                &[],
                vec![("x-xss-protection", "0")],
            ),
            (
                "policies",
                Spec {
                    content_security_policy: "default-src 'self'".to_owned(),
                    content_security_policy_report_only: "script-src 'none'".to_owned(),
                    referrer_policy: "no-referrer".to_owned(),
                    permissions_policy: "camera=()".to_owned(),
                    ..Spec::default()
                },
                "http",
                &[],
                vec![
                    ("content-security-policy", "default-src 'self'"),
                    ("content-security-policy-report-only", "script-src 'none'"),
                    ("referrer-policy", "no-referrer"),
                    ("permissions-policy", "camera=()"),
                ],
            ),
            (
                "public key on https",
                Spec {
                    public_key: "pin-sha256=\"x\"".to_owned(),
                    ..Spec::default()
                },
                "https",
                &[],
                vec![("public-key-pins", "pin-sha256=\"x\"")],
            ),
            (
                "no public key on http",
                Spec {
                    public_key: "pin".to_owned(),
                    ..Spec::default()
                },
                "http",
                &[],
                vec![],
            ),
            (
                "deprecated options are ignored",
                Spec {
                    ssl_redirect: Some(true),
                    feature_policy: Some("camera 'none'".to_owned()),
                    ..Spec::default()
                },
                "http",
                &[],
                vec![],
            ),
        ];
        for (case, spec, scheme, headers, expected) in cases {
            let recorder = Recorder::responding_with(&[
                ("X-Frame-Options", "ALLOW"),
                ("Referrer-Policy", "origin"),
            ]);
            let response = run(
                build(&spec),
                &recorder,
                request(Method::GET, scheme, "a.com", "/", headers),
            )
            .await;
            assert_eq!(response.status().as_u16(), 200, "{case}");
            let mut expected = expected;
            // The backend's own headers survive unless a security option replaces them.
            for (name, value) in [("x-frame-options", "ALLOW"), ("referrer-policy", "origin")] {
                if !expected.iter().any(|(n, _)| *n == name) {
                    expected.push((name, value));
                }
            }
            assert_watched(&response, &expected, case);
        }
    }

    #[actix_web::test]
    async fn csp_nonce_is_random_per_request() {
        let spec = Spec {
            content_security_policy: "script-src $NONCE".to_owned(),
            content_security_policy_report_only: "style-src $NONCE".to_owned(),
            ..Spec::default()
        };
        let mw = build(&spec);
        let mut nonces = Vec::new();
        for _ in 0..2 {
            let response = run(mw.clone(), &Recorder::default(), get("/", &[])).await;
            let csp = header(&response, "content-security-policy").expect("csp");
            let report =
                header(&response, "content-security-policy-report-only").expect("csp report only");
            let nonce = csp
                .strip_prefix("script-src 'nonce-")
                .and_then(|r| r.strip_suffix('\''))
                .expect("nonce");
            assert_eq!(nonce.len(), 22, "16 bytes, unpadded base64");
            assert_eq!(
                report,
                format!("style-src 'nonce-{nonce}'"),
                "one nonce per request"
            );
            nonces.push(nonce.to_owned());
        }
        assert_ne!(nonces[0], nonces[1]);
    }

    #[actix_web::test]
    async fn allowed_hosts() {
        // (case, allowed hosts, hosts proxy headers, development, Host, request headers, expected status)
        type Case<'a> = (
            &'a str,
            &'a [&'a str],
            &'a [&'a str],
            bool,
            &'a str,
            Pairs<'a>,
            u16,
        );
        let cases: [Case; 8] = [
            (
                "listed host",
                &["foo.com", "bar.com"],
                &[],
                false,
                "foo.com",
                &[],
                200,
            ),
            (
                "case-insensitive",
                &["foo.com"],
                &[],
                false,
                "FOO.com",
                &[],
                200,
            ),
            (
                "unlisted host",
                &["foo.com", "bar.com"],
                &[],
                false,
                "boo.com",
                &[],
                500,
            ),
            ("no host", &["foo.com"], &[], false, "", &[], 500),
            (
                "port is part of the host",
                &["foo.com"],
                &[],
                false,
                "foo.com:8080",
                &[],
                500,
            ),
            (
                "proxy header",
                &["foo.com"],
                &["X-Forwarded-Host"],
                false,
                "boo.com",
                &[("X-Forwarded-Host", "foo.com")],
                200,
            ),
            (
                "empty proxy header ignored",
                &["foo.com"],
                &["X-Forwarded-Host"],
                false,
                "foo.com",
                &[("X-Forwarded-Host", "")],
                200,
            ),
            (
                "development allows all",
                &["foo.com"],
                &[],
                true,
                "boo.com",
                &[],
                200,
            ),
        ];
        for (case, allowed, proxy_headers, development, host, headers, status) in cases {
            let spec = Spec {
                allowed_hosts: strings(allowed),
                hosts_proxy_headers: strings(proxy_headers),
                is_development: development,
                frame_deny: true,
                custom_response_headers: map(&[("X-Custom", "1")]),
                ..Spec::default()
            };
            let recorder = Recorder::default();
            let response = run(
                build(&spec),
                &recorder,
                request(Method::GET, "http", host, "/", headers),
            )
            .await;
            assert_eq!(response.status().as_u16(), status, "{case}");
            assert_eq!(recorder.seen().is_some(), status == 200, "{case}");
            // Custom response headers reach every answer; security headers only the service's.
            assert_eq!(
                header(&response, "x-custom").as_deref(),
                Some("1"),
                "{case}"
            );
            let frame = if status == 200 { Some("DENY") } else { None };
            assert_eq!(
                header(&response, "x-frame-options").as_deref(),
                frame,
                "{case}"
            );
            if status == 500 {
                assert_eq!(body(response).await, "Bad Host\n", "{case}");
            }
        }
    }

    #[actix_web::test]
    async fn custom_response_headers_override_security_headers() {
        let spec = Spec {
            frame_deny: true,
            custom_response_headers: map(&[("X-Frame-Options", "")]),
            ..Spec::default()
        };
        let response = run(build(&spec), &Recorder::default(), get("/", &[])).await;
        assert_eq!(header(&response, "x-frame-options"), None);
    }
}
