//! HTTP middlewares: one enum variant per open-source Traefik middleware.
//!
//! Traefik's `plugin` middleware is not included: plugins run Go code (Yaegi/WASM)
//! that Switchyard cannot execute, so a configuration using one fails to decode
//! with an unknown-variant error naming `plugin`.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use crate::duration::Duration;
use crate::validate::serde_fns::{is_default, is_false, is_zero_i64, is_zero_u16};
use crate::validate::{
    Errors, FieldError, check_absolute_url, is_known_status, parse_status_range,
};

/// An HTTP middleware (`http.middlewares.<name>`): exactly one of the middleware types.
// Configuration values are built once per reload and matched by value everywhere;
// boxing the big variants would only make construction and patterns clumsier.
#[allow(clippy::large_enum_variant)]
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub enum Middleware {
    /// Adds a prefix to the request path.
    AddPrefix(AddPrefix),
    /// HTTP basic authentication.
    BasicAuth(BasicAuth),
    /// Buffers request and response bodies, with size limits.
    Buffering(Buffering),
    /// Applies a list of other middlewares.
    Chain(Chain),
    /// Stops calling the service while an expression over its metrics holds.
    CircuitBreaker(CircuitBreaker),
    /// Compresses responses.
    Compress(Compress),
    /// Content-Type auto-detection behaviour.
    ContentType(ContentType),
    /// HTTP digest authentication.
    DigestAuth(DigestAuth),
    /// Serves error pages from another service for selected statuses.
    Errors(ErrorPage),
    /// Delegates authentication to an external server.
    ForwardAuth(ForwardAuth),
    /// Converts gRPC-Web requests to gRPC.
    GrpcWeb(GrpcWeb),
    /// Adds/removes headers; CORS; security headers.
    Headers(Headers),
    /// Allows requests from IP ranges only.
    IpAllowList(IpAllowList),
    /// Deprecated alias of `ipAllowList` (without `rejectStatusCode`).
    IpWhiteList(IpWhiteList),
    /// Limits concurrent requests per source.
    InFlightReq(InFlightReq),
    /// Passes the client certificate (or details of it) in headers.
    #[serde(rename = "passTLSClientCert")]
    PassTlsClientCert(PassTlsClientCert),
    /// Limits the request rate per source.
    RateLimit(RateLimit),
    /// Redirects with a regex replacement of the URL.
    RedirectRegex(RedirectRegex),
    /// Redirects to another scheme (and port).
    RedirectScheme(RedirectScheme),
    /// Replaces the request path.
    ReplacePath(ReplacePath),
    /// Replaces the request path with a regex replacement.
    ReplacePathRegex(ReplacePathRegex),
    /// Retries failed requests.
    Retry(Retry),
    /// Removes prefixes from the request path.
    StripPrefix(StripPrefix),
    /// Removes regex-matched prefixes from the request path.
    StripPrefixRegex(StripPrefixRegex),
}

impl Middleware {
    /// The Traefik key of the middleware type (`stripPrefix`, `passTLSClientCert`, ...).
    pub fn type_name(&self) -> &'static str {
        match self {
            Middleware::AddPrefix(_) => "addPrefix",
            Middleware::BasicAuth(_) => "basicAuth",
            Middleware::Buffering(_) => "buffering",
            Middleware::Chain(_) => "chain",
            Middleware::CircuitBreaker(_) => "circuitBreaker",
            Middleware::Compress(_) => "compress",
            Middleware::ContentType(_) => "contentType",
            Middleware::DigestAuth(_) => "digestAuth",
            Middleware::Errors(_) => "errors",
            Middleware::ForwardAuth(_) => "forwardAuth",
            Middleware::GrpcWeb(_) => "grpcWeb",
            Middleware::Headers(_) => "headers",
            Middleware::IpAllowList(_) => "ipAllowList",
            Middleware::IpWhiteList(_) => "ipWhiteList",
            Middleware::InFlightReq(_) => "inFlightReq",
            Middleware::PassTlsClientCert(_) => "passTLSClientCert",
            Middleware::RateLimit(_) => "rateLimit",
            Middleware::RedirectRegex(_) => "redirectRegex",
            Middleware::RedirectScheme(_) => "redirectScheme",
            Middleware::ReplacePath(_) => "replacePath",
            Middleware::ReplacePathRegex(_) => "replacePathRegex",
            Middleware::Retry(_) => "retry",
            Middleware::StripPrefix(_) => "stripPrefix",
            Middleware::StripPrefixRegex(_) => "stripPrefixRegex",
        }
    }

    /// Middlewares this one refers to by name (a chain's members).
    pub fn referenced_middlewares(&self) -> &[String] {
        match self {
            Middleware::Chain(c) => &c.middlewares,
            _ => &[],
        }
    }

    /// Service this one refers to by name (the error page service).
    pub fn referenced_service(&self) -> Option<&str> {
        match self {
            Middleware::Errors(e) => Some(e.service.as_str()),
            _ => None,
        }
    }

    /// Self-contained checks; field paths start with the type key
    /// (e.g. `stripPrefix.prefixes`).
    pub fn validate(&self) -> Vec<FieldError> {
        let inner = match self {
            Middleware::AddPrefix(m) => m.validate(),
            Middleware::BasicAuth(m) => m.validate(),
            Middleware::Buffering(m) => m.validate(),
            Middleware::Chain(m) => m.validate(),
            Middleware::CircuitBreaker(m) => m.validate(),
            Middleware::Compress(m) => m.validate(),
            Middleware::ContentType(_)
            | Middleware::GrpcWeb(_)
            | Middleware::PassTlsClientCert(_) => Vec::new(),
            Middleware::DigestAuth(m) => m.validate(),
            Middleware::Errors(m) => m.validate(),
            Middleware::ForwardAuth(m) => m.validate(),
            Middleware::Headers(m) => m.validate(),
            Middleware::IpAllowList(m) => m.validate(),
            Middleware::IpWhiteList(m) => m.validate(),
            Middleware::InFlightReq(m) => m.validate(),
            Middleware::RateLimit(m) => m.validate(),
            Middleware::RedirectRegex(m) => m.validate(),
            Middleware::RedirectScheme(m) => m.validate(),
            Middleware::ReplacePath(m) => m.validate(),
            Middleware::ReplacePathRegex(m) => m.validate(),
            Middleware::Retry(m) => m.validate(),
            Middleware::StripPrefix(m) => m.validate(),
            Middleware::StripPrefixRegex(m) => m.validate(),
        };
        let mut errs = Errors::default();
        errs.nest(self.type_name(), inner);
        errs.into_vec()
    }
}

/// `addPrefix`: prepends `prefix` to the request path.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(default, rename_all = "camelCase")]
pub struct AddPrefix {
    /// The prefix, with a leading slash.
    #[serde(skip_serializing_if = "String::is_empty")]
    pub prefix: String,
}

impl AddPrefix {
    /// The prefix must not be empty.
    pub fn validate(&self) -> Vec<FieldError> {
        let mut errs = Errors::default();
        if self.prefix.is_empty() {
            errs.push("prefix", "prefix cannot be empty");
        }
        errs.into_vec()
    }
}

/// Traefik's default authentication realm.
pub const DEFAULT_REALM: &str = "traefik";

fn default_realm() -> String {
    DEFAULT_REALM.to_owned()
}
fn is_default_realm(realm: &String) -> bool {
    realm == DEFAULT_REALM
}

/// `basicAuth`: HTTP basic authentication.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, rename_all = "camelCase")]
pub struct BasicAuth {
    /// Users as `name:hashed-password` (htpasswd: MD5, SHA1 or bcrypt).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub users: Vec<String>,
    /// File with one `name:hashed-password` per line (merged with `users`).
    #[serde(skip_serializing_if = "String::is_empty")]
    pub users_file: String,
    /// Realm (default `traefik`).
    #[serde(default = "default_realm", skip_serializing_if = "is_default_realm")]
    pub realm: String,
    /// Remove the Authorization header before forwarding.
    #[serde(skip_serializing_if = "is_false")]
    pub remove_header: bool,
    /// Header that receives the authenticated user name.
    #[serde(skip_serializing_if = "String::is_empty")]
    pub header_field: String,
}

impl Default for BasicAuth {
    fn default() -> Self {
        BasicAuth {
            users: Vec::new(),
            users_file: String::new(),
            realm: default_realm(),
            remove_header: false,
            header_field: String::new(),
        }
    }
}

impl BasicAuth {
    /// Needs users or a users file; each user must be `name:hash`.
    pub fn validate(&self) -> Vec<FieldError> {
        let mut errs = Errors::default();
        validate_users(
            &mut errs,
            &self.users,
            &self.users_file,
            1,
            "name:hashed-password",
        );
        errs.into_vec()
    }
}

/// Each user must have `colons` colons; users or a file must be given.
fn validate_users(
    errs: &mut Errors,
    users: &[String],
    users_file: &str,
    colons: usize,
    shape: &str,
) {
    if users.is_empty() && users_file.trim().is_empty() {
        errs.push("users", "no users given (set users or usersFile)");
    }
    for (i, user) in users.iter().enumerate() {
        let parts: Vec<&str> = user.splitn(colons + 1, ':').collect();
        if parts.len() != colons + 1 || parts.iter().any(|p| p.is_empty()) {
            // The user entry holds a password hash: never echo it back.
            errs.push(
                format!("users[{i}]"),
                format!("a user must be written {shape}"),
            );
        }
    }
}

/// Traefik's default in-memory buffer threshold for bodies (1 MiB).
pub const DEFAULT_MEM_BODY_BYTES: i64 = 1024 * 1024;

fn default_mem_body_bytes() -> i64 {
    DEFAULT_MEM_BODY_BYTES
}
fn is_default_mem_body_bytes(v: &i64) -> bool {
    *v == DEFAULT_MEM_BODY_BYTES
}

/// `buffering`: reads whole bodies before forwarding them.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, rename_all = "camelCase")]
pub struct Buffering {
    /// Largest request body accepted (413 above); 0 means no limit.
    #[serde(skip_serializing_if = "is_zero_i64")]
    pub max_request_body_bytes: i64,
    /// Request bodies above this are buffered on disk (default 1 MiB).
    #[serde(
        default = "default_mem_body_bytes",
        skip_serializing_if = "is_default_mem_body_bytes"
    )]
    pub mem_request_body_bytes: i64,
    /// Largest response body accepted (500 above); 0 means no limit.
    #[serde(skip_serializing_if = "is_zero_i64")]
    pub max_response_body_bytes: i64,
    /// Response bodies above this are buffered on disk (default 1 MiB).
    #[serde(
        default = "default_mem_body_bytes",
        skip_serializing_if = "is_default_mem_body_bytes"
    )]
    pub mem_response_body_bytes: i64,
    /// Retry condition, e.g. `IsNetworkError() && Attempts() < 2`.
    #[serde(skip_serializing_if = "String::is_empty")]
    pub retry_expression: String,
}

impl Default for Buffering {
    fn default() -> Self {
        Buffering {
            max_request_body_bytes: 0,
            mem_request_body_bytes: DEFAULT_MEM_BODY_BYTES,
            max_response_body_bytes: 0,
            mem_response_body_bytes: DEFAULT_MEM_BODY_BYTES,
            retry_expression: String::new(),
        }
    }
}

impl Buffering {
    /// Sizes must not be negative.
    pub fn validate(&self) -> Vec<FieldError> {
        let mut errs = Errors::default();
        for (field, v) in [
            ("maxRequestBodyBytes", self.max_request_body_bytes),
            ("memRequestBodyBytes", self.mem_request_body_bytes),
            ("maxResponseBodyBytes", self.max_response_body_bytes),
            ("memResponseBodyBytes", self.mem_response_body_bytes),
        ] {
            if v < 0 {
                errs.push(field, format!("must not be negative, got {v}"));
            }
        }
        errs.into_vec()
    }
}

/// `chain`: applies other middlewares in order.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(default, rename_all = "camelCase")]
pub struct Chain {
    /// Middleware names (optionally `name@provider`).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub middlewares: Vec<String>,
}

impl Chain {
    /// Member names must not be empty.
    pub fn validate(&self) -> Vec<FieldError> {
        let mut errs = Errors::default();
        for (i, name) in self.middlewares.iter().enumerate() {
            errs.require(&format!("middlewares[{i}]"), name);
        }
        errs.into_vec()
    }
}

/// `circuitBreaker`: trips on an expression over the service's recent metrics.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, rename_all = "camelCase")]
pub struct CircuitBreaker {
    /// Trip condition, e.g. `NetworkErrorRatio() > 0.5`.
    #[serde(skip_serializing_if = "String::is_empty")]
    pub expression: String,
    /// Interval between evaluations while closed (default 100ms).
    pub check_period: Duration,
    /// How long to stay open before recovering (default 10s).
    pub fallback_duration: Duration,
    /// How long recovery lasts (default 10s).
    pub recovery_duration: Duration,
    /// Status returned while open (default 503).
    pub response_code: u16,
}

impl Default for CircuitBreaker {
    fn default() -> Self {
        CircuitBreaker {
            expression: String::new(),
            check_period: Duration::from_millis(100),
            fallback_duration: Duration::from_secs(10),
            recovery_duration: Duration::from_secs(10),
            response_code: 503,
        }
    }
}

impl CircuitBreaker {
    /// Needs an expression; durations positive; a real status code.
    pub fn validate(&self) -> Vec<FieldError> {
        let mut errs = Errors::default();
        errs.require("expression", &self.expression);
        for (field, d) in [
            ("checkPeriod", self.check_period),
            ("fallbackDuration", self.fallback_duration),
            ("recoveryDuration", self.recovery_duration),
        ] {
            if d.as_nanos() <= 0 {
                errs.push(field, format!("must be greater than 0, got {d}"));
            }
        }
        if !(100..=599).contains(&self.response_code) {
            errs.push(
                "responseCode",
                format!("{} is not an HTTP status code", self.response_code),
            );
        }
        errs.into_vec()
    }
}

/// Encodings the compress middleware supports.
pub const COMPRESS_ENCODINGS: [&str; 3] = ["gzip", "br", "zstd"];

/// Traefik's default minimum body size for compression.
pub const DEFAULT_MIN_RESPONSE_BODY_BYTES: i64 = 1024;

fn default_encodings() -> Vec<String> {
    COMPRESS_ENCODINGS.iter().map(|s| (*s).to_owned()).collect()
}
fn is_default_encodings(v: &Vec<String>) -> bool {
    *v == default_encodings()
}
fn default_min_response_body_bytes() -> i64 {
    DEFAULT_MIN_RESPONSE_BODY_BYTES
}
fn is_default_min_response_body_bytes(v: &i64) -> bool {
    *v == DEFAULT_MIN_RESPONSE_BODY_BYTES
}

/// `compress`: compresses responses with gzip, brotli or zstd.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, rename_all = "camelCase")]
pub struct Compress {
    /// Content types never compressed (`application/grpc` always is excluded).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub excluded_content_types: Vec<String>,
    /// Only these content types are compressed (exclusive with the above).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub included_content_types: Vec<String>,
    /// Smallest body compressed (default 1024).
    #[serde(
        default = "default_min_response_body_bytes",
        skip_serializing_if = "is_default_min_response_body_bytes"
    )]
    pub min_response_body_bytes: i64,
    /// Supported encodings in preference order (default gzip, br, zstd).
    #[serde(
        default = "default_encodings",
        skip_serializing_if = "is_default_encodings"
    )]
    pub encodings: Vec<String>,
    /// Encoding used when the client accepts any (`*`) or sends no Accept-Encoding.
    #[serde(skip_serializing_if = "String::is_empty")]
    pub default_encoding: String,
}

impl Default for Compress {
    fn default() -> Self {
        Compress {
            excluded_content_types: Vec::new(),
            included_content_types: Vec::new(),
            min_response_body_bytes: DEFAULT_MIN_RESPONSE_BODY_BYTES,
            encodings: default_encodings(),
            default_encoding: String::new(),
        }
    }
}

impl Compress {
    /// Content type lists are exclusive and well formed; encodings are known.
    pub fn validate(&self) -> Vec<FieldError> {
        let mut errs = Errors::default();
        if !self.excluded_content_types.is_empty() && !self.included_content_types.is_empty() {
            errs.push(
                "includedContentTypes",
                "excludedContentTypes and includedContentTypes options are mutually exclusive",
            );
        }
        for (field, list) in [
            ("excludedContentTypes", &self.excluded_content_types),
            ("includedContentTypes", &self.included_content_types),
        ] {
            for (i, ct) in list.iter().enumerate() {
                if !is_media_type(ct) {
                    errs.push(
                        format!("{field}[{i}]"),
                        format!("{ct:?} is not a media type like \"text/html\""),
                    );
                }
            }
        }
        if self.min_response_body_bytes < 0 {
            errs.push(
                "minResponseBodyBytes",
                "minimum size must be greater than or equal to zero",
            );
        }
        if self.encodings.is_empty() {
            errs.push("encodings", "at least one encoding must be specified");
        }
        for (i, enc) in self.encodings.iter().enumerate() {
            if !COMPRESS_ENCODINGS.contains(&enc.as_str()) {
                errs.push(
                    format!("encodings[{i}]"),
                    format!("unsupported encoding: {enc}"),
                );
            }
        }
        if !self.default_encoding.is_empty() && !self.encodings.contains(&self.default_encoding) {
            errs.push(
                "defaultEncoding",
                format!("unsupported default encoding: {}", self.default_encoding),
            );
        }
        errs.into_vec()
    }
}

/// `type/subtype` optionally followed by `;` parameters, with token characters only.
fn is_media_type(s: &str) -> bool {
    let essence = s.split(';').next().unwrap_or_default().trim();
    let is_token = |t: &str| {
        !t.is_empty()
            && t.chars()
                .all(|c| c.is_ascii_alphanumeric() || "!#$%&'*+-.^_`|~".contains(c))
    };
    matches!(essence.split_once('/'), Some((t, sub)) if is_token(t) && is_token(sub))
}

/// `contentType`: keeps Content-Type auto-detection for responses without one.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(default, rename_all = "camelCase")]
pub struct ContentType {
    /// Deprecated: the middleware's presence already enables detection.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub auto_detect: Option<bool>,
}

/// `digestAuth`: HTTP digest authentication.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, rename_all = "camelCase")]
pub struct DigestAuth {
    /// Users as `name:realm:encoded-password` (htdigest).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub users: Vec<String>,
    /// File with one `name:realm:encoded-password` per line.
    #[serde(skip_serializing_if = "String::is_empty")]
    pub users_file: String,
    /// Remove the Authorization header before forwarding.
    #[serde(skip_serializing_if = "is_false")]
    pub remove_header: bool,
    /// Realm (default `traefik`).
    #[serde(default = "default_realm", skip_serializing_if = "is_default_realm")]
    pub realm: String,
    /// Header that receives the authenticated user name.
    #[serde(skip_serializing_if = "String::is_empty")]
    pub header_field: String,
}

impl Default for DigestAuth {
    fn default() -> Self {
        DigestAuth {
            users: Vec::new(),
            users_file: String::new(),
            remove_header: false,
            realm: default_realm(),
            header_field: String::new(),
        }
    }
}

impl DigestAuth {
    /// Needs users or a users file; each user must be `name:realm:hash`.
    pub fn validate(&self) -> Vec<FieldError> {
        let mut errs = Errors::default();
        validate_users(
            &mut errs,
            &self.users,
            &self.users_file,
            2,
            "name:realm:encoded-password",
        );
        errs.into_vec()
    }
}

/// `errors`: replaces error responses by a page from another service (Traefik's
/// `ErrorPage`).
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(default, rename_all = "camelCase")]
pub struct ErrorPage {
    /// Statuses handled: codes or ranges (`500`, `500-599`).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub status: Vec<String>,
    /// Status to return instead of the original, by code or range (`"418": 404`).
    #[serde(skip_serializing_if = "BTreeMap::is_empty")]
    pub status_rewrites: BTreeMap<String, u16>,
    /// Service serving the error pages.
    #[serde(skip_serializing_if = "String::is_empty")]
    pub service: String,
    /// Path (and query) requested from the service; `{status}`, `{originalStatus}`
    /// and `{url}` are replaced.
    #[serde(skip_serializing_if = "String::is_empty")]
    pub query: String,
}

impl ErrorPage {
    /// Needs a service; statuses and rewrites must be codes or ranges.
    pub fn validate(&self) -> Vec<FieldError> {
        let mut errs = Errors::default();
        errs.require("service", &self.service);
        errs.status_ranges("status", &self.status);
        for (range, code) in &self.status_rewrites {
            if let Err(msg) = parse_status_range(range) {
                errs.push(format!("statusRewrites.{range}"), msg);
            }
            if !(100..=599).contains(code) {
                errs.push(
                    format!("statusRewrites.{range}"),
                    format!("{code} is not an HTTP status code"),
                );
            }
        }
        errs.into_vec()
    }
}

/// Traefik's default `forwardAuth.maxBodySize`: -1, no limit.
pub const DEFAULT_FORWARD_AUTH_MAX_BODY_SIZE: i64 = -1;

fn default_forward_auth_max_body_size() -> i64 {
    DEFAULT_FORWARD_AUTH_MAX_BODY_SIZE
}
fn is_default_forward_auth_max_body_size(v: &i64) -> bool {
    *v == DEFAULT_FORWARD_AUTH_MAX_BODY_SIZE
}

/// `forwardAuth`: asks an authentication server whether to let the request through.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, rename_all = "camelCase")]
pub struct ForwardAuth {
    /// Authentication server URL.
    #[serde(skip_serializing_if = "String::is_empty")]
    pub address: String,
    /// TLS towards the authentication server.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub tls: Option<ClientTls>,
    /// Forward the client's X-Forwarded-* headers instead of overwriting them.
    #[serde(skip_serializing_if = "is_false")]
    pub trust_forward_header: bool,
    /// Headers copied from the auth response to the forwarded request.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub auth_response_headers: Vec<String>,
    /// Regex of auth response headers copied to the forwarded request.
    #[serde(skip_serializing_if = "String::is_empty")]
    pub auth_response_headers_regex: String,
    /// Request headers sent to the auth server; empty means all.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub auth_request_headers: Vec<String>,
    /// Cookies copied from the auth response to the client response.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub add_auth_cookies_to_response: Vec<String>,
    /// Header that receives the authenticated user name.
    #[serde(skip_serializing_if = "String::is_empty")]
    pub header_field: String,
    /// Send the request body to the auth server.
    #[serde(skip_serializing_if = "is_false")]
    pub forward_body: bool,
    /// Largest body forwarded to the auth server; -1 (default) means no limit.
    #[serde(
        default = "default_forward_auth_max_body_size",
        skip_serializing_if = "is_default_forward_auth_max_body_size"
    )]
    pub max_body_size: i64,
    /// Pass the auth server's Location header through unchanged.
    #[serde(skip_serializing_if = "is_false")]
    pub preserve_location_header: bool,
    /// Use the request's method (instead of GET) towards the auth server.
    #[serde(skip_serializing_if = "is_false")]
    pub preserve_request_method: bool,
}

impl Default for ForwardAuth {
    fn default() -> Self {
        ForwardAuth {
            address: String::new(),
            tls: None,
            trust_forward_header: false,
            auth_response_headers: Vec::new(),
            auth_response_headers_regex: String::new(),
            auth_request_headers: Vec::new(),
            add_auth_cookies_to_response: Vec::new(),
            header_field: String::new(),
            forward_body: false,
            max_body_size: DEFAULT_FORWARD_AUTH_MAX_BODY_SIZE,
            preserve_location_header: false,
            preserve_request_method: false,
        }
    }
}

impl ForwardAuth {
    /// Address is an absolute http(s) URL; the header regex compiles; TLS is coherent.
    pub fn validate(&self) -> Vec<FieldError> {
        let mut errs = Errors::default();
        if self.address.trim().is_empty() {
            errs.push("address", "the authentication server address is missing");
        } else if let Err(msg) = check_absolute_url(&self.address, &["http", "https"]) {
            errs.push("address", msg);
        }
        if !self.auth_response_headers_regex.is_empty() {
            errs.regex(
                "authResponseHeadersRegex",
                &self.auth_response_headers_regex,
            );
        }
        if let Some(tls) = &self.tls {
            errs.nest("tls", tls.validate());
        }
        errs.into_vec()
    }
}

/// Client-side TLS settings (Traefik's `ClientTLS`); values are paths or PEM contents.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(default, rename_all = "camelCase")]
pub struct ClientTls {
    /// CA to verify the server with.
    #[serde(skip_serializing_if = "String::is_empty")]
    pub ca: String,
    /// Client certificate.
    #[serde(skip_serializing_if = "String::is_empty")]
    pub cert: String,
    /// Client key.
    #[serde(skip_serializing_if = "String::is_empty")]
    pub key: String,
    /// Do not verify the server certificate.
    #[serde(skip_serializing_if = "is_false")]
    pub insecure_skip_verify: bool,
    /// Deprecated and ignored (a server-side setting).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub ca_optional: Option<bool>,
}

impl ClientTls {
    /// A certificate needs its key and the other way round.
    pub fn validate(&self) -> Vec<FieldError> {
        let mut errs = Errors::default();
        match (self.cert.trim().is_empty(), self.key.trim().is_empty()) {
            (false, true) => errs.push("key", "a client certificate needs its key"),
            (true, false) => errs.push("cert", "a client key needs its certificate"),
            _ => {}
        }
        errs.into_vec()
    }
}

/// `grpcWeb`: translates gRPC-Web requests into gRPC.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(default, rename_all = "camelCase")]
pub struct GrpcWeb {
    /// Allowed origins (`*` for any).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub allow_origins: Vec<String>,
}

/// `headers`: custom request/response headers, CORS and security headers.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(default, rename_all = "camelCase")]
pub struct Headers {
    /// Headers set on the request; an empty value removes the header.
    #[serde(skip_serializing_if = "BTreeMap::is_empty")]
    pub custom_request_headers: BTreeMap<String, String>,
    /// Headers set on the response; an empty value removes the header.
    #[serde(skip_serializing_if = "BTreeMap::is_empty")]
    pub custom_response_headers: BTreeMap<String, String>,

    /// CORS: Access-Control-Allow-Credentials.
    #[serde(skip_serializing_if = "is_false")]
    pub access_control_allow_credentials: bool,
    /// CORS: Access-Control-Allow-Headers.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub access_control_allow_headers: Vec<String>,
    /// CORS: Access-Control-Allow-Methods.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub access_control_allow_methods: Vec<String>,
    /// CORS: allowed origins (`*` for any).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub access_control_allow_origin_list: Vec<String>,
    /// CORS: allowed origins as regular expressions.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub access_control_allow_origin_list_regex: Vec<String>,
    /// CORS: Access-Control-Expose-Headers.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub access_control_expose_headers: Vec<String>,
    /// CORS: Access-Control-Max-Age in seconds.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub access_control_max_age: Option<i64>,
    /// CORS: add `Vary: Origin` when the allowed origin depends on the request.
    #[serde(skip_serializing_if = "is_false")]
    pub add_vary_header: bool,

    /// Allowed Host values; others get 400.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub allowed_hosts: Vec<String>,
    /// Headers that may carry the original host (checked against `allowedHosts`).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub hosts_proxy_headers: Vec<String>,
    /// Header/value pairs that mark a request as HTTPS (e.g. `X-Forwarded-Proto: https`).
    #[serde(skip_serializing_if = "BTreeMap::is_empty")]
    pub ssl_proxy_headers: BTreeMap<String, String>,
    /// Strict-Transport-Security max-age; 0 or absent means no header.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub sts_seconds: Option<i64>,
    /// Add `includeSubDomains` to Strict-Transport-Security.
    #[serde(skip_serializing_if = "is_false")]
    pub sts_include_subdomains: bool,
    /// Add `preload` to Strict-Transport-Security.
    #[serde(skip_serializing_if = "is_false")]
    pub sts_preload: bool,
    /// Send Strict-Transport-Security on plain HTTP too.
    #[serde(rename = "forceSTSHeader", skip_serializing_if = "is_false")]
    pub force_sts_header: bool,
    /// `X-Frame-Options: DENY`.
    #[serde(skip_serializing_if = "is_false")]
    pub frame_deny: bool,
    /// X-Frame-Options value (overrides `frameDeny`).
    #[serde(skip_serializing_if = "String::is_empty")]
    pub custom_frame_options_value: String,
    /// `X-Content-Type-Options: nosniff`.
    #[serde(skip_serializing_if = "is_false")]
    pub content_type_nosniff: bool,
    /// `X-XSS-Protection: 1; mode=block`.
    #[serde(skip_serializing_if = "is_false")]
    pub browser_xss_filter: bool,
    /// X-XSS-Protection value (overrides `browserXssFilter`).
    #[serde(
        rename = "customBrowserXSSValue",
        skip_serializing_if = "String::is_empty"
    )]
    pub custom_browser_xss_value: String,
    /// Content-Security-Policy value.
    #[serde(skip_serializing_if = "String::is_empty")]
    pub content_security_policy: String,
    /// Content-Security-Policy-Report-Only value.
    #[serde(skip_serializing_if = "String::is_empty")]
    pub content_security_policy_report_only: String,
    /// Public-Key-Pins value (HPKP).
    #[serde(skip_serializing_if = "String::is_empty")]
    pub public_key: String,
    /// Referrer-Policy value.
    #[serde(skip_serializing_if = "String::is_empty")]
    pub referrer_policy: String,
    /// Permissions-Policy value.
    #[serde(skip_serializing_if = "String::is_empty")]
    pub permissions_policy: String,
    /// Relax `allowedHosts`, SSL and STS options for development.
    #[serde(skip_serializing_if = "is_false")]
    pub is_development: bool,

    /// Deprecated: use `permissionsPolicy`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub feature_policy: Option<String>,
    /// Deprecated: use entry point redirection or `redirectScheme`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub ssl_redirect: Option<bool>,
    /// Deprecated: use entry point redirection or `redirectScheme`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub ssl_temporary_redirect: Option<bool>,
    /// Deprecated: use `redirectRegex`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub ssl_host: Option<String>,
    /// Deprecated: use `redirectRegex`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub ssl_force_host: Option<bool>,
}

impl Headers {
    /// Custom request or response headers are set.
    pub fn has_custom_headers(&self) -> bool {
        !self.custom_request_headers.is_empty() || !self.custom_response_headers.is_empty()
    }

    /// Any CORS option is set.
    pub fn has_cors_headers(&self) -> bool {
        self.access_control_allow_credentials
            || !self.access_control_allow_headers.is_empty()
            || !self.access_control_allow_methods.is_empty()
            || !self.access_control_allow_origin_list.is_empty()
            || !self.access_control_allow_origin_list_regex.is_empty()
            || !self.access_control_expose_headers.is_empty()
            || self.access_control_max_age.is_some()
            || self.add_vary_header
    }

    /// Any security option is set.
    pub fn has_secure_headers(&self) -> bool {
        !self.allowed_hosts.is_empty()
            || !self.hosts_proxy_headers.is_empty()
            || self.ssl_redirect == Some(true)
            || self.ssl_temporary_redirect == Some(true)
            || self.ssl_force_host == Some(true)
            || self.ssl_host.as_deref().is_some_and(|h| !h.is_empty())
            || !self.ssl_proxy_headers.is_empty()
            || self.sts_seconds.is_some()
            || self.sts_include_subdomains
            || self.sts_preload
            || self.force_sts_header
            || self.frame_deny
            || !self.custom_frame_options_value.is_empty()
            || self.content_type_nosniff
            || self.browser_xss_filter
            || !self.custom_browser_xss_value.is_empty()
            || !self.content_security_policy.is_empty()
            || !self.content_security_policy_report_only.is_empty()
            || !self.public_key.is_empty()
            || !self.referrer_policy.is_empty()
            || self
                .feature_policy
                .as_deref()
                .is_some_and(|p| !p.is_empty())
            || !self.permissions_policy.is_empty()
            || self.is_development
    }

    /// Something must be configured; origin regexes compile; stsSeconds not negative.
    pub fn validate(&self) -> Vec<FieldError> {
        let mut errs = Errors::default();
        if !self.has_custom_headers() && !self.has_cors_headers() && !self.has_secure_headers() {
            errs.push("", "headers configuration not valid: no option is set");
        }
        for (i, re) in self
            .access_control_allow_origin_list_regex
            .iter()
            .enumerate()
        {
            errs.regex(&format!("accessControlAllowOriginListRegex[{i}]"), re);
        }
        if let Some(secs) = self.sts_seconds
            && secs < 0
        {
            errs.push("stsSeconds", format!("must not be negative, got {secs}"));
        }
        errs.into_vec()
    }
}

/// How the client IP is found (Traefik's `IPStrategy`); absent means the connection's
/// remote address.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(default, rename_all = "camelCase")]
pub struct IpStrategy {
    /// Use the X-Forwarded-For entry at this position from the right (0: not used).
    #[serde(skip_serializing_if = "is_zero_i64")]
    pub depth: i64,
    /// Use the right-most X-Forwarded-For entry not in these ranges.
    #[serde(rename = "excludedIPs", skip_serializing_if = "Vec::is_empty")]
    pub excluded_ips: Vec<String>,
    /// Group IPv6 clients by this prefix length (1..=128).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub ipv6_subnet: Option<i64>,
}

impl IpStrategy {
    /// Depth not negative, excluded IPs parse, IPv6 subnet within 1..=128.
    pub fn validate(&self) -> Vec<FieldError> {
        let mut errs = Errors::default();
        if self.depth < 0 {
            errs.push("depth", format!("must not be negative, got {}", self.depth));
        }
        errs.ip_ranges("excludedIPs", &self.excluded_ips);
        if let Some(subnet) = self.ipv6_subnet
            && !(1..=128).contains(&subnet)
        {
            errs.push(
                "ipv6Subnet",
                format!("invalid IPv6 subnet {subnet} value, should be greater to 0 and lower or equal to 128"),
            );
        }
        errs.into_vec()
    }
}

/// `ipAllowList`: only clients in `sourceRange` get through.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(default, rename_all = "camelCase")]
pub struct IpAllowList {
    /// Allowed IPs and CIDR ranges.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub source_range: Vec<String>,
    /// How the client IP is found.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub ip_strategy: Option<IpStrategy>,
    /// Status for rejected requests; 0 means 403.
    #[serde(skip_serializing_if = "is_zero_u16")]
    pub reject_status_code: u16,
}

impl IpAllowList {
    /// The status returned to rejected clients.
    pub fn effective_reject_status_code(&self) -> u16 {
        if self.reject_status_code == 0 {
            403
        } else {
            self.reject_status_code
        }
    }

    /// Needs ranges that parse, a known rejection status, a valid IP strategy.
    pub fn validate(&self) -> Vec<FieldError> {
        let mut errs = Errors::default();
        validate_source_range(&mut errs, &self.source_range, self.ip_strategy.as_ref());
        if self.reject_status_code != 0 && !is_known_status(self.reject_status_code) {
            errs.push(
                "rejectStatusCode",
                format!("invalid HTTP status code {}", self.reject_status_code),
            );
        }
        errs.into_vec()
    }
}

fn validate_source_range(
    errs: &mut Errors,
    source_range: &[String],
    strategy: Option<&IpStrategy>,
) {
    if source_range.is_empty() {
        errs.push("sourceRange", "sourceRange is empty");
    }
    errs.ip_ranges("sourceRange", source_range);
    if let Some(strategy) = strategy {
        errs.nest("ipStrategy", strategy.validate());
    }
}

/// `ipWhiteList`: deprecated form of [`IpAllowList`].
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(default, rename_all = "camelCase")]
pub struct IpWhiteList {
    /// Allowed IPs and CIDR ranges.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub source_range: Vec<String>,
    /// How the client IP is found.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub ip_strategy: Option<IpStrategy>,
}

impl IpWhiteList {
    /// Needs ranges that parse and a valid IP strategy.
    pub fn validate(&self) -> Vec<FieldError> {
        let mut errs = Errors::default();
        validate_source_range(&mut errs, &self.source_range, self.ip_strategy.as_ref());
        errs.into_vec()
    }

    /// The equivalent `ipAllowList` (rejects with 403).
    pub fn to_allow_list(&self) -> IpAllowList {
        IpAllowList {
            source_range: self.source_range.clone(),
            ip_strategy: self.ip_strategy.clone(),
            reject_status_code: 0,
        }
    }
}

/// How requests are grouped into sources for rate and concurrency limits; at most
/// one criterion may be set, none means the client IP (remote address).
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(default, rename_all = "camelCase")]
pub struct SourceCriterion {
    /// Group by client IP found with this strategy.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub ip_strategy: Option<IpStrategy>,
    /// Group by the value of this request header.
    #[serde(skip_serializing_if = "String::is_empty")]
    pub request_header_name: String,
    /// Group by request Host.
    #[serde(skip_serializing_if = "is_false")]
    pub request_host: bool,
}

impl SourceCriterion {
    /// At most one criterion; a valid IP strategy.
    pub fn validate(&self) -> Vec<FieldError> {
        let mut errs = Errors::default();
        let header = !self.request_header_name.is_empty();
        if self.ip_strategy.is_some() && header {
            errs.push(
                "",
                "ipStrategy and requestHeaderName are mutually exclusive",
            );
        }
        if self.ip_strategy.is_some() && self.request_host {
            errs.push("", "ipStrategy and requestHost are mutually exclusive");
        }
        if header && self.request_host {
            errs.push(
                "",
                "requestHost and requestHeaderName are mutually exclusive",
            );
        }
        if let Some(strategy) = &self.ip_strategy {
            errs.nest("ipStrategy", strategy.validate());
        }
        errs.into_vec()
    }
}

/// `inFlightReq`: limits simultaneous requests per source (429 above).
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(default, rename_all = "camelCase")]
pub struct InFlightReq {
    /// Maximum simultaneous requests per source.
    #[serde(skip_serializing_if = "is_zero_i64")]
    pub amount: i64,
    /// How sources are told apart.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub source_criterion: Option<SourceCriterion>,
}

impl InFlightReq {
    /// Amount not negative; a coherent source criterion.
    pub fn validate(&self) -> Vec<FieldError> {
        let mut errs = Errors::default();
        if self.amount < 0 {
            errs.push(
                "amount",
                format!("must not be negative, got {}", self.amount),
            );
        }
        if let Some(sc) = &self.source_criterion {
            errs.nest("sourceCriterion", sc.validate());
        }
        errs.into_vec()
    }
}

/// `passTLSClientCert`: passes the client certificate to the service in headers.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(default, rename_all = "camelCase")]
pub struct PassTlsClientCert {
    /// Put the PEM certificate in X-Forwarded-Tls-Client-Cert.
    #[serde(skip_serializing_if = "is_false")]
    pub pem: bool,
    /// Which details go in X-Forwarded-Tls-Client-Cert-Info.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub info: Option<TlsClientCertificateInfo>,
}

/// Certificate details passed by `passTLSClientCert`.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(default, rename_all = "camelCase")]
pub struct TlsClientCertificateInfo {
    /// Validity end.
    #[serde(skip_serializing_if = "is_false")]
    pub not_after: bool,
    /// Validity start.
    #[serde(skip_serializing_if = "is_false")]
    pub not_before: bool,
    /// Subject alternative names.
    #[serde(skip_serializing_if = "is_false")]
    pub sans: bool,
    /// Serial number.
    #[serde(skip_serializing_if = "is_false")]
    pub serial_number: bool,
    /// Subject fields.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub subject: Option<TlsClientCertificateSubjectDnInfo>,
    /// Issuer fields.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub issuer: Option<TlsClientCertificateIssuerDnInfo>,
}

/// Subject distinguished-name fields passed by `passTLSClientCert`.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(default, rename_all = "camelCase")]
pub struct TlsClientCertificateSubjectDnInfo {
    /// C.
    #[serde(skip_serializing_if = "is_false")]
    pub country: bool,
    /// ST.
    #[serde(skip_serializing_if = "is_false")]
    pub province: bool,
    /// L.
    #[serde(skip_serializing_if = "is_false")]
    pub locality: bool,
    /// O.
    #[serde(skip_serializing_if = "is_false")]
    pub organization: bool,
    /// OU.
    #[serde(skip_serializing_if = "is_false")]
    pub organizational_unit: bool,
    /// CN.
    #[serde(skip_serializing_if = "is_false")]
    pub common_name: bool,
    /// serialNumber.
    #[serde(skip_serializing_if = "is_false")]
    pub serial_number: bool,
    /// DC.
    #[serde(skip_serializing_if = "is_false")]
    pub domain_component: bool,
}

/// Issuer distinguished-name fields passed by `passTLSClientCert`.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(default, rename_all = "camelCase")]
pub struct TlsClientCertificateIssuerDnInfo {
    /// C.
    #[serde(skip_serializing_if = "is_false")]
    pub country: bool,
    /// ST.
    #[serde(skip_serializing_if = "is_false")]
    pub province: bool,
    /// L.
    #[serde(skip_serializing_if = "is_false")]
    pub locality: bool,
    /// O.
    #[serde(skip_serializing_if = "is_false")]
    pub organization: bool,
    /// CN.
    #[serde(skip_serializing_if = "is_false")]
    pub common_name: bool,
    /// serialNumber.
    #[serde(skip_serializing_if = "is_false")]
    pub serial_number: bool,
    /// DC.
    #[serde(skip_serializing_if = "is_false")]
    pub domain_component: bool,
}

fn default_period() -> Duration {
    Duration::from_secs(1)
}
fn is_default_period(d: &Duration) -> bool {
    *d == default_period()
}
fn default_burst() -> i64 {
    1
}
fn is_default_burst(v: &i64) -> bool {
    *v == 1
}

/// `rateLimit`: token bucket per source, `average` requests per `period`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, rename_all = "camelCase")]
pub struct RateLimit {
    /// Requests allowed per `period`; 0 means no limit.
    #[serde(skip_serializing_if = "is_zero_i64")]
    pub average: i64,
    /// Period of `average` (default 1s).
    #[serde(default = "default_period", skip_serializing_if = "is_default_period")]
    pub period: Duration,
    /// Requests allowed at once above the rate (default 1).
    #[serde(default = "default_burst", skip_serializing_if = "is_default_burst")]
    pub burst: i64,
    /// How sources are told apart.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub source_criterion: Option<SourceCriterion>,
}

impl Default for RateLimit {
    fn default() -> Self {
        RateLimit {
            average: 0,
            period: default_period(),
            burst: 1,
            source_criterion: None,
        }
    }
}

impl RateLimit {
    /// Average, burst and period not negative; a coherent source criterion.
    pub fn validate(&self) -> Vec<FieldError> {
        let mut errs = Errors::default();
        if self.average < 0 {
            errs.push(
                "average",
                format!("must not be negative, got {}", self.average),
            );
        }
        if self.burst < 0 {
            errs.push("burst", format!("must not be negative, got {}", self.burst));
        }
        if self.period.is_negative() {
            errs.push(
                "period",
                format!("negative value not valid for period: {}", self.period),
            );
        }
        if let Some(sc) = &self.source_criterion {
            errs.nest("sourceCriterion", sc.validate());
        }
        errs.into_vec()
    }
}

/// `redirectRegex`: redirects to `replacement` when the URL matches `regex`.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(default, rename_all = "camelCase")]
pub struct RedirectRegex {
    /// Regex matched against the full request URL.
    #[serde(skip_serializing_if = "String::is_empty")]
    pub regex: String,
    /// Target URL; `$1`, `${name}` refer to captures.
    #[serde(skip_serializing_if = "String::is_empty")]
    pub replacement: String,
    /// 301/308 instead of 302/307.
    #[serde(skip_serializing_if = "is_false")]
    pub permanent: bool,
}

impl RedirectRegex {
    /// The regex compiles.
    pub fn validate(&self) -> Vec<FieldError> {
        let mut errs = Errors::default();
        errs.regex("regex", &self.regex);
        errs.into_vec()
    }
}

/// `redirectScheme`: redirects to another scheme (and port).
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(default, rename_all = "camelCase")]
pub struct RedirectScheme {
    /// Target scheme, e.g. `https`.
    #[serde(skip_serializing_if = "String::is_empty")]
    pub scheme: String,
    /// Target port; empty keeps none (the scheme's default).
    #[serde(skip_serializing_if = "String::is_empty")]
    pub port: String,
    /// 301/308 instead of 302/307 (default false).
    #[serde(skip_serializing_if = "is_false")]
    pub permanent: bool,
}

impl RedirectScheme {
    /// Needs a scheme; the port, when set, is a port number.
    pub fn validate(&self) -> Vec<FieldError> {
        let mut errs = Errors::default();
        if self.scheme.trim().is_empty() {
            errs.push("scheme", "you must provide a target scheme");
        }
        if !self.port.is_empty() && self.port.parse::<u16>().is_err() {
            errs.push("port", format!("{:?} is not a port number", self.port));
        }
        errs.into_vec()
    }
}

/// `replacePath`: replaces the path (the original goes to X-Replaced-Path).
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(default, rename_all = "camelCase")]
pub struct ReplacePath {
    /// The new path.
    #[serde(skip_serializing_if = "String::is_empty")]
    pub path: String,
}

impl ReplacePath {
    /// Traefik accepts any path, including an empty one.
    pub fn validate(&self) -> Vec<FieldError> {
        Vec::new()
    }
}

/// `replacePathRegex`: replaces the path using a regex (original in X-Replaced-Path).
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(default, rename_all = "camelCase")]
pub struct ReplacePathRegex {
    /// Regex matched against the path.
    #[serde(skip_serializing_if = "String::is_empty")]
    pub regex: String,
    /// New path; `$1`, `${name}` refer to captures.
    #[serde(skip_serializing_if = "String::is_empty")]
    pub replacement: String,
}

impl ReplacePathRegex {
    /// The regex compiles.
    pub fn validate(&self) -> Vec<FieldError> {
        let mut errs = Errors::default();
        errs.regex("regex", &self.regex);
        errs.into_vec()
    }
}

/// `retry`: reissues a request when the server cannot be reached.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(default, rename_all = "camelCase")]
pub struct Retry {
    /// Number of attempts (must be at least 1).
    #[serde(skip_serializing_if = "is_zero_i64")]
    pub attempts: i64,
    /// First wait of the exponential backoff; 0 (default) retries immediately.
    #[serde(skip_serializing_if = "is_default")]
    pub initial_interval: Duration,
}

impl Retry {
    /// At least one attempt; no negative interval.
    pub fn validate(&self) -> Vec<FieldError> {
        let mut errs = Errors::default();
        if self.attempts <= 0 {
            errs.push(
                "attempts",
                format!("incorrect (or empty) value for attempt ({})", self.attempts),
            );
        }
        if self.initial_interval.is_negative() {
            errs.push(
                "initialInterval",
                format!("must not be negative, got {}", self.initial_interval),
            );
        }
        errs.into_vec()
    }
}

/// `stripPrefix`: removes the first matching prefix from the path.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(default, rename_all = "camelCase")]
pub struct StripPrefix {
    /// Prefixes to strip.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub prefixes: Vec<String>,
    /// Deprecated and ignored by Traefik v3.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub force_slash: Option<bool>,
}

impl StripPrefix {
    /// Needs at least one non-empty prefix.
    pub fn validate(&self) -> Vec<FieldError> {
        let mut errs = Errors::default();
        if self.prefixes.is_empty() {
            errs.push("prefixes", "at least one prefix is required");
        }
        for (i, p) in self.prefixes.iter().enumerate() {
            if p.is_empty() {
                errs.push(format!("prefixes[{i}]"), "prefix must not be empty");
            }
        }
        errs.into_vec()
    }
}

/// `stripPrefixRegex`: removes the first regex-matched prefix from the path.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(default, rename_all = "camelCase")]
pub struct StripPrefixRegex {
    /// Regexes matched at the start of the path.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub regex: Vec<String>,
}

impl StripPrefixRegex {
    /// Needs at least one regex; each compiles.
    pub fn validate(&self) -> Vec<FieldError> {
        let mut errs = Errors::default();
        if self.regex.is_empty() {
            errs.push("regex", "at least one regular expression is required");
        }
        for (i, re) in self.regex.iter().enumerate() {
            errs.regex(&format!("regex[{i}]"), re);
        }
        errs.into_vec()
    }
}
