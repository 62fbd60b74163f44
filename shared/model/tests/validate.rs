//! Table-driven tests of every resource's self-contained `validate()`.

use serde::de::DeserializeOwned;
use serde_json::{Value, json};
use switchyard_model::{FieldError, http, tcp, tls, udp};

/// One case: a name, the resource as JSON, and the expected `(field, message part)`s.
type Case = (&'static str, Value, &'static [(&'static str, &'static str)]);

fn run<T: DeserializeOwned>(validate: impl Fn(&T) -> Vec<FieldError>, cases: Vec<Case>) {
    for (case, input, expected) in cases {
        let value: T = serde_json::from_value(input)
            .unwrap_or_else(|e| panic!("{case}: does not decode: {e}"));
        let errs = validate(&value);
        let got: Vec<&str> = errs.iter().map(|e| e.field.as_str()).collect();
        let want: Vec<&str> = expected.iter().map(|(f, _)| *f).collect();
        assert_eq!(got, want, "{case}: fields of {errs:?}");
        for (err, (_, needle)) in errs.iter().zip(expected.iter()) {
            assert!(
                err.message.contains(needle),
                "{case}: message {:?} should contain {needle:?}",
                err.message
            );
        }
    }
}

#[test]
fn http_router() {
    run(
        http::Router::validate,
        vec![
            (
                "valid",
                json!({"rule": "Host(`a`)", "service": "s", "priority": -5}),
                &[],
            ),
            (
                "missing service and rule",
                json!({}),
                &[("rule", "no rule"), ("service", "service is missing")],
            ),
            (
                "priority above the user maximum",
                json!({"rule": "Path(`/`)", "service": "s", "priority": i64::MAX - 999}),
                &[("priority", "exceeds the max user-defined priority")],
            ),
            (
                "priority at the user maximum",
                json!({"rule": "Path(`/`)", "service": "s", "priority": i64::MAX - 1000}),
                &[],
            ),
            (
                "empty entry point and middleware names",
                json!({"rule": "Path(`/`)", "service": "s", "entryPoints": ["web", ""], "middlewares": [" "]}),
                &[
                    ("entryPoints[1]", "must not be empty"),
                    ("middlewares[0]", "must not be empty"),
                ],
            ),
            (
                "tls domain without names",
                json!({"rule": "Path(`/`)", "service": "s", "tls": {"domains": [{"main": ""}]}}),
                &[("tls.domains[0].main", "main name or SANs")],
            ),
            (
                "tls domain with SANs only",
                json!({"rule": "Path(`/`)", "service": "s", "tls": {"domains": [{"sans": ["a.b"]}]}}),
                &[],
            ),
            (
                "unknown trace verbosity",
                json!({"rule": "Path(`/`)", "service": "s", "observability": {"traceVerbosity": "loud"}}),
                &[(
                    "observability.traceVerbosity",
                    "expected minimal or detailed",
                )],
            ),
        ],
    );
}

#[test]
fn http_service() {
    run(
        http::Service::validate,
        vec![
            (
                "valid servers",
                json!({"loadBalancer": {"servers": [
                    {"url": "http://10.0.0.1:8080"}, {"url": "HTTPS://example.com/base?x=1"},
                    {"url": "h2c://[::1]:50051"}, {"url": "http://user:pw@host"}, {"port": "80"}
                ]}}),
                &[],
            ),
            (
                "url missing without port",
                json!({"loadBalancer": {"servers": [{"scheme": "http"}]}}),
                &[("loadBalancer.servers[0].url", "server URL is missing")],
            ),
            (
                "relative url",
                json!({"loadBalancer": {"servers": [{"url": "10.0.0.1:8080"}]}}),
                &[("loadBalancer.servers[0].url", "not an absolute URL")],
            ),
            (
                "unsupported scheme",
                json!({"loadBalancer": {"servers": [{"url": "ftp://host"}]}}),
                &[(
                    "loadBalancer.servers[0].url",
                    "expected one of http, https, h2c",
                )],
            ),
            (
                "bad port in url",
                json!({"loadBalancer": {"servers": [{"url": "http://host:99999"}]}}),
                &[("loadBalancer.servers[0].url", "invalid port")],
            ),
            (
                "no host",
                json!({"loadBalancer": {"servers": [{"url": "http://:80/x"}]}}),
                &[("loadBalancer.servers[0].url", "no host")],
            ),
            (
                "space in url",
                json!({"loadBalancer": {"servers": [{"url": "http://a b"}]}}),
                &[("loadBalancer.servers[0].url", "whitespace")],
            ),
            (
                "bad ipv6",
                json!({"loadBalancer": {"servers": [{"url": "http://[zz]:80"}]}}),
                &[("loadBalancer.servers[0].url", "invalid IPv6")],
            ),
            (
                "label port and scheme",
                json!({"loadBalancer": {"servers": [{"port": "http", "scheme": "gopher"}]}}),
                &[
                    ("loadBalancer.servers[0].port", "not a port number"),
                    ("loadBalancer.servers[0].scheme", "unsupported scheme"),
                ],
            ),
            (
                "sameSite is case-insensitive",
                json!({"loadBalancer": {"sticky": {"cookie": {"sameSite": "Strict"}}}}),
                &[],
            ),
            (
                "unknown sameSite and bad cookie name",
                json!({"loadBalancer": {"sticky": {"cookie": {"sameSite": "sometimes", "name": "a b"}}}}),
                &[
                    (
                        "loadBalancer.sticky.cookie.sameSite",
                        "expected none, lax or strict",
                    ),
                    ("loadBalancer.sticky.cookie.name", "not a valid cookie name"),
                ],
            ),
            (
                "health check mode, scheme and status",
                json!({"loadBalancer": {"healthCheck": {"mode": "tcp", "scheme": "ftp", "status": 42}}}),
                &[
                    ("loadBalancer.healthCheck.mode", "expected http or grpc"),
                    ("loadBalancer.healthCheck.scheme", "unsupported scheme"),
                    ("loadBalancer.healthCheck.status", "not an HTTP status code"),
                ],
            ),
            (
                "grpc health check",
                json!({"loadBalancer": {"healthCheck": {"mode": "grpc", "status": 200}}}),
                &[],
            ),
            (
                "passive health check bounds",
                json!({"loadBalancer": {"passiveHealthCheck": {"failureWindow": "0s", "maxFailedAttempts": 0}}}),
                &[
                    (
                        "loadBalancer.passiveHealthCheck.failureWindow",
                        "greater than 0",
                    ),
                    (
                        "loadBalancer.passiveHealthCheck.maxFailedAttempts",
                        "at least 1",
                    ),
                ],
            ),
            (
                "unsupported strategy",
                json!({"loadBalancer": {"strategy": "leasttime"}}),
                &[(
                    "loadBalancer.strategy",
                    "unsupported load-balancer strategy",
                )],
            ),
            (
                "weighted child without a name",
                json!({"weighted": {"services": [{"name": ""}], "sticky": {"cookie": {"sameSite": "x"}}}}),
                &[
                    ("weighted.services[0].name", "must not be empty"),
                    (
                        "weighted.sticky.cookie.sameSite",
                        "expected none, lax or strict",
                    ),
                ],
            ),
            (
                "mirror percent bounds",
                json!({"mirroring": {"service": "a", "mirrors": [{"name": "b", "percent": 100}, {"name": "c", "percent": 101}]}}),
                &[("mirroring.mirrors[1].percent", "between 0 and 100")],
            ),
            (
                "mirroring without service",
                json!({"mirroring": {"mirrors": [{"percent": 5}]}}),
                &[
                    ("mirroring.service", "must not be empty"),
                    ("mirroring.mirrors[0].name", "must not be empty"),
                ],
            ),
            (
                "failover without fallback",
                json!({"failover": {"service": "a"}}),
                &[("failover.fallback", "must not be empty")],
            ),
        ],
    );
}

#[test]
fn negative_weights_and_percents_do_not_decode() {
    let cases: &[(&str, Value)] = &[
        (
            "server weight",
            json!({"loadBalancer": {"servers": [{"url": "http://a", "weight": -1}]}}),
        ),
        (
            "weighted child",
            json!({"weighted": {"services": [{"name": "a", "weight": -1}]}}),
        ),
        (
            "mirror percent",
            json!({"mirroring": {"service": "a", "mirrors": [{"name": "b", "percent": -1}]}}),
        ),
    ];
    for (case, input) in cases {
        let err = serde_json::from_value::<http::Service>(input.clone()).expect_err(case);
        assert!(
            err.to_string().contains("invalid value: integer `-1`"),
            "{case}: {err}"
        );
    }
}

#[test]
fn http_middleware() {
    run(
        http::Middleware::validate,
        vec![
            (
                "addPrefix empty",
                json!({"addPrefix": {}}),
                &[("addPrefix.prefix", "cannot be empty")],
            ),
            (
                "basicAuth no users",
                json!({"basicAuth": {}}),
                &[("basicAuth.users", "no users")],
            ),
            (
                "basicAuth users file",
                json!({"basicAuth": {"usersFile": "/u"}}),
                &[],
            ),
            (
                "basicAuth malformed user is not echoed",
                json!({"basicAuth": {"users": ["secret-hash", "u:h"]}}),
                &[("basicAuth.users[0]", "name:hashed-password")],
            ),
            (
                "digestAuth needs a realm part",
                json!({"digestAuth": {"users": ["u:h", "u:r:h"]}}),
                &[("digestAuth.users[0]", "name:realm:encoded-password")],
            ),
            (
                "buffering negative",
                json!({"buffering": {"maxRequestBodyBytes": -1}}),
                &[("buffering.maxRequestBodyBytes", "must not be negative")],
            ),
            (
                "chain empty member",
                json!({"chain": {"middlewares": ["a", ""]}}),
                &[("chain.middlewares[1]", "must not be empty")],
            ),
            (
                "circuitBreaker",
                json!({"circuitBreaker": {"checkPeriod": "0s", "responseCode": 42}}),
                &[
                    ("circuitBreaker.expression", "must not be empty"),
                    ("circuitBreaker.checkPeriod", "greater than 0"),
                    ("circuitBreaker.responseCode", "not an HTTP status code"),
                ],
            ),
            (
                "compress content types",
                json!({"compress": {"excludedContentTypes": ["text/html"], "includedContentTypes": ["nope"]}}),
                &[
                    ("compress.includedContentTypes", "mutually exclusive"),
                    ("compress.includedContentTypes[0]", "not a media type"),
                ],
            ),
            (
                "compress encodings",
                json!({"compress": {"encodings": ["deflate"], "defaultEncoding": "br", "minResponseBodyBytes": -1}}),
                &[
                    (
                        "compress.minResponseBodyBytes",
                        "greater than or equal to zero",
                    ),
                    ("compress.encodings[0]", "unsupported encoding: deflate"),
                    (
                        "compress.defaultEncoding",
                        "unsupported default encoding: br",
                    ),
                ],
            ),
            (
                "compress no encodings",
                json!({"compress": {"encodings": []}}),
                &[("compress.encodings", "at least one encoding")],
            ),
            (
                "compress media type with parameters",
                json!({"compress": {"excludedContentTypes": ["text/plain; charset=utf-8"]}}),
                &[],
            ),
            (
                "errors",
                json!({"errors": {"status": ["5xx", "599-500", "404"], "statusRewrites": {"4a": 404, "500": 42}}}),
                &[
                    ("errors.service", "must not be empty"),
                    ("errors.status[0]", "not an HTTP status code"),
                    ("errors.status[1]", "starts after it ends"),
                    ("errors.statusRewrites.4a", "not an HTTP status code"),
                    ("errors.statusRewrites.500", "42 is not an HTTP status code"),
                ],
            ),
            (
                "forwardAuth missing address",
                json!({"forwardAuth": {}}),
                &[("forwardAuth.address", "address is missing")],
            ),
            (
                "forwardAuth relative address, bad regex, half TLS",
                json!({"forwardAuth": {"address": "auth:4181", "authResponseHeadersRegex": "(", "tls": {"cert": "/c"}}}),
                &[
                    ("forwardAuth.address", "not an absolute URL"),
                    (
                        "forwardAuth.authResponseHeadersRegex",
                        "invalid regular expression",
                    ),
                    ("forwardAuth.tls.key", "needs its key"),
                ],
            ),
            (
                "headers empty",
                json!({"headers": {}}),
                &[("headers", "headers configuration not valid")],
            ),
            (
                "headers only frameDeny",
                json!({"headers": {"frameDeny": true}}),
                &[],
            ),
            (
                "headers only deprecated sslRedirect",
                json!({"headers": {"sslRedirect": true}}),
                &[],
            ),
            (
                "headers deprecated sslRedirect false sets nothing",
                json!({"headers": {"sslRedirect": false}}),
                &[("headers", "headers configuration not valid")],
            ),
            (
                "headers bad origin regex and negative sts",
                json!({"headers": {"accessControlAllowOriginListRegex": ["[a-"], "stsSeconds": -1}}),
                &[
                    (
                        "headers.accessControlAllowOriginListRegex[0]",
                        "invalid regular expression",
                    ),
                    ("headers.stsSeconds", "must not be negative"),
                ],
            ),
            (
                "ipAllowList empty",
                json!({"ipAllowList": {}}),
                &[("ipAllowList.sourceRange", "sourceRange is empty")],
            ),
            (
                "ipAllowList bad ranges, status and strategy",
                json!({"ipAllowList": {
                    "sourceRange": ["10.0.0.0/8", "10.0.0.0/33", "fe80::/10", "host"],
                    "rejectStatusCode": 499,
                    "ipStrategy": {"depth": -1, "excludedIPs": ["x"], "ipv6Subnet": 0}
                }}),
                &[
                    (
                        "ipAllowList.sourceRange[1]",
                        "neither an IP address nor a CIDR range",
                    ),
                    (
                        "ipAllowList.sourceRange[3]",
                        "neither an IP address nor a CIDR range",
                    ),
                    ("ipAllowList.ipStrategy.depth", "must not be negative"),
                    (
                        "ipAllowList.ipStrategy.excludedIPs[0]",
                        "neither an IP address",
                    ),
                    ("ipAllowList.ipStrategy.ipv6Subnet", "invalid IPv6 subnet 0"),
                    (
                        "ipAllowList.rejectStatusCode",
                        "invalid HTTP status code 499",
                    ),
                ],
            ),
            (
                "ipAllowList custom status",
                json!({"ipAllowList": {"sourceRange": ["::1"], "rejectStatusCode": 404, "ipStrategy": {"ipv6Subnet": 128}}}),
                &[],
            ),
            (
                "ipWhiteList bad range",
                json!({"ipWhiteList": {"sourceRange": ["300.0.0.1"]}}),
                &[("ipWhiteList.sourceRange[0]", "neither an IP address")],
            ),
            (
                "inFlightReq",
                json!({"inFlightReq": {"amount": -1, "sourceCriterion": {"ipStrategy": {}, "requestHost": true}}}),
                &[
                    ("inFlightReq.amount", "must not be negative"),
                    (
                        "inFlightReq.sourceCriterion",
                        "ipStrategy and requestHost are mutually exclusive",
                    ),
                ],
            ),
            (
                "rateLimit",
                json!({"rateLimit": {"average": -1, "burst": -2, "period": "-1s", "sourceCriterion": {"requestHeaderName": "h", "requestHost": true}}}),
                &[
                    ("rateLimit.average", "must not be negative"),
                    ("rateLimit.burst", "must not be negative"),
                    ("rateLimit.period", "negative value not valid for period"),
                    (
                        "rateLimit.sourceCriterion",
                        "requestHost and requestHeaderName are mutually exclusive",
                    ),
                ],
            ),
            (
                "rateLimit header and ip strategy",
                json!({"rateLimit": {"sourceCriterion": {"requestHeaderName": "h", "ipStrategy": {}}}}),
                &[(
                    "rateLimit.sourceCriterion",
                    "ipStrategy and requestHeaderName are mutually exclusive",
                )],
            ),
            (
                "redirectRegex bad regex",
                json!({"redirectRegex": {"regex": "^(foo", "replacement": "x"}}),
                &[(
                    "redirectRegex.regex",
                    "invalid regular expression \"^(foo\"",
                )],
            ),
            (
                "redirectScheme",
                json!({"redirectScheme": {"port": "https"}}),
                &[
                    ("redirectScheme.scheme", "you must provide a target scheme"),
                    ("redirectScheme.port", "not a port number"),
                ],
            ),
            ("replacePath anything goes", json!({"replacePath": {}}), &[]),
            (
                "replacePathRegex bad regex",
                json!({"replacePathRegex": {"regex": "*", "replacement": "/"}}),
                &[("replacePathRegex.regex", "invalid regular expression")],
            ),
            (
                "retry",
                json!({"retry": {"initialInterval": "-1s"}}),
                &[
                    (
                        "retry.attempts",
                        "incorrect (or empty) value for attempt (0)",
                    ),
                    ("retry.initialInterval", "must not be negative"),
                ],
            ),
            (
                "stripPrefix no prefixes",
                json!({"stripPrefix": {}}),
                &[("stripPrefix.prefixes", "at least one prefix")],
            ),
            (
                "stripPrefix empty prefix",
                json!({"stripPrefix": {"prefixes": ["/a", ""]}}),
                &[("stripPrefix.prefixes[1]", "must not be empty")],
            ),
            (
                "stripPrefixRegex",
                json!({"stripPrefixRegex": {"regex": ["/ok/[0-9]+", "/bad/[0-9+"]}}),
                &[("stripPrefixRegex.regex[1]", "invalid regular expression")],
            ),
            (
                "stripPrefixRegex empty",
                json!({"stripPrefixRegex": {}}),
                &[("stripPrefixRegex.regex", "at least one regular expression")],
            ),
            ("grpcWeb", json!({"grpcWeb": {}}), &[]),
            ("passTLSClientCert", json!({"passTLSClientCert": {}}), &[]),
        ],
    );
}

#[test]
fn http_servers_transport() {
    run(
        http::ServersTransport::validate,
        vec![
            ("empty", json!({}), &[]),
            (
                "certificate without key, empty CA, negative timeout, bad SPIFFE ID",
                json!({
                    "certificates": [{"certFile": "/c"}],
                    "rootCAs": [""],
                    "forwardingTimeouts": {"dialTimeout": "-1s"},
                    "spiffe": {"ids": ["example.org/x"]}
                }),
                &[
                    ("certificates[0].keyFile", "must not be empty"),
                    ("rootCAs[0]", "must not be empty"),
                    ("forwardingTimeouts.dialTimeout", "must not be negative"),
                    ("spiffe.ids[0]", "not a spiffe:// ID"),
                ],
            ),
        ],
    );
}

#[test]
fn tcp_resources() {
    run(
        tcp::Router::validate,
        vec![
            (
                "valid",
                json!({"rule": "HostSNI(`*`)", "service": "s", "tls": {"passthrough": true}}),
                &[],
            ),
            (
                "missing rule and service",
                json!({"entryPoints": [""]}),
                &[
                    ("rule", "no rule"),
                    ("service", "service is missing"),
                    ("entryPoints[0]", "must not be empty"),
                ],
            ),
        ],
    );
    run(
        tcp::Service::validate,
        vec![
            (
                "valid addresses",
                json!({"loadBalancer": {"servers": [{"address": "10.0.0.1:5432"}, {"address": "[::1]:80"}, {"address": "db:1"}, {"port": "53"}]}}),
                &[],
            ),
            (
                "bad addresses",
                json!({"loadBalancer": {"servers": [
                    {"address": "10.0.0.1"}, {"address": "::1:80"}, {"address": "host:70000"}, {}, {"port": "x"}
                ]}}),
                &[
                    ("loadBalancer.servers[0].address", "expected host:port"),
                    (
                        "loadBalancer.servers[1].address",
                        "must be written [addr]:port",
                    ),
                    (
                        "loadBalancer.servers[2].address",
                        "\"70000\" is not a port number",
                    ),
                    ("loadBalancer.servers[3].address", "address is missing"),
                    ("loadBalancer.servers[4].port", "not a port number"),
                ],
            ),
            (
                "proxy protocol version",
                json!({"loadBalancer": {"proxyProtocol": {"version": 3}}}),
                &[("loadBalancer.proxyProtocol.version", "expected 1 or 2")],
            ),
            (
                "weighted child without name",
                json!({"weighted": {"services": [{"weight": 2}]}}),
                &[("weighted.services[0].name", "must not be empty")],
            ),
        ],
    );
    run(
        tcp::Middleware::validate,
        vec![
            (
                "ipAllowList valid",
                json!({"ipAllowList": {"sourceRange": ["10.0.0.0/8"]}}),
                &[],
            ),
            (
                "ipAllowList empty",
                json!({"ipAllowList": {}}),
                &[("ipAllowList.sourceRange", "sourceRange is empty")],
            ),
            (
                "ipWhiteList bad",
                json!({"ipWhiteList": {"sourceRange": ["x"]}}),
                &[("ipWhiteList.sourceRange[0]", "neither an IP address")],
            ),
            (
                "inFlightConn negative",
                json!({"inFlightConn": {"amount": -3}}),
                &[("inFlightConn.amount", "must not be negative")],
            ),
        ],
    );
    run(
        tcp::ServersTransport::validate,
        vec![
            (
                "negative keep-alive disables probes",
                json!({"dialKeepAlive": "-1s"}),
                &[],
            ),
            (
                "bad values",
                json!({"dialTimeout": "-1s", "proxyProtocol": {"version": 0}, "tls": {"certificates": [{"keyFile": "/k"}], "spiffe": {"ids": ["x"]}}}),
                &[
                    ("dialTimeout", "must not be negative"),
                    ("proxyProtocol.version", "expected 1 or 2"),
                    ("tls.certificates[0].certFile", "must not be empty"),
                    ("tls.spiffe.ids[0]", "not a spiffe:// ID"),
                ],
            ),
        ],
    );
}

#[test]
fn udp_resources() {
    run(
        udp::Router::validate,
        vec![
            ("valid", json!({"service": "dns"}), &[]),
            (
                "missing service",
                json!({"entryPoints": ["dns"]}),
                &[("service", "missing on the udp router")],
            ),
        ],
    );
    run(
        udp::Service::validate,
        vec![
            (
                "valid",
                json!({"loadBalancer": {"servers": [{"address": "10.0.0.53:53"}]}}),
                &[],
            ),
            (
                "bad address",
                json!({"loadBalancer": {"servers": [{"address": "10.0.0.53"}]}}),
                &[("loadBalancer.servers[0].address", "expected host:port")],
            ),
            (
                "weighted child without name",
                json!({"weighted": {"services": [{}]}}),
                &[("weighted.services[0].name", "must not be empty")],
            ),
        ],
    );
}

#[test]
fn tls_resources() {
    run(
        tls::TlsOptions::validate,
        vec![
            ("empty", json!({}), &[]),
            (
                "old minimum is accepted",
                json!({"minVersion": "VersionTLS10", "maxVersion": "VersionTLS13"}),
                &[],
            ),
            (
                "unknown versions",
                json!({"minVersion": "TLS1.2", "maxVersion": "VersionTLS14"}),
                &[
                    ("minVersion", "unknown TLS version \"TLS1.2\""),
                    ("maxVersion", "unknown TLS version \"VersionTLS14\""),
                ],
            ),
            (
                "maximum below 1.2 cannot be negotiated",
                json!({"maxVersion": "VersionTLS11"}),
                &[("maxVersion", "VersionTLS11 is not supported")],
            ),
            (
                "minimum above maximum",
                json!({"minVersion": "VersionTLS13", "maxVersion": "VersionTLS12"}),
                &[("minVersion", "above maxVersion")],
            ),
            (
                "unknown cipher suite and curve",
                json!({"cipherSuites": ["TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256", "TLS_NULL"], "curvePreferences": ["P-256", "secp384r1"]}),
                &[
                    ("cipherSuites[1]", "unknown cipher suite \"TLS_NULL\""),
                    ("curvePreferences[0]", "unknown curve \"P-256\""),
                ],
            ),
            (
                "unknown client auth type",
                json!({"clientAuth": {"clientAuthType": "Always"}}),
                &[(
                    "clientAuth.clientAuthType",
                    "unknown client auth type \"Always\"",
                )],
            ),
            (
                "verifying client certificates needs CAs",
                json!({"clientAuth": {"clientAuthType": "RequireAndVerifyClientCert"}}),
                &[("clientAuth.caFiles", "needs at least one CA file")],
            ),
            (
                "requesting client certificates needs no CA",
                json!({"clientAuth": {"clientAuthType": "RequestClientCert"}}),
                &[],
            ),
        ],
    );
    run(
        tls::Store::validate,
        vec![
            ("empty", json!({}), &[]),
            (
                "incomplete",
                json!({"defaultCertificate": {"certFile": "/c"}, "defaultGeneratedCert": {}}),
                &[
                    ("defaultCertificate.keyFile", "must not be empty"),
                    ("defaultGeneratedCert.resolver", "must not be empty"),
                    ("defaultGeneratedCert.domain.main", "must not be empty"),
                ],
            ),
        ],
    );
    run(
        tls::CertAndStores::validate,
        vec![
            ("valid", json!({"certFile": "/c", "keyFile": "/k"}), &[]),
            (
                "missing both",
                json!({"stores": ["default"]}),
                &[
                    ("certFile", "must not be empty"),
                    ("keyFile", "must not be empty"),
                ],
            ),
        ],
    );
}
