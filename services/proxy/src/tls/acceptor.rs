//! Accepting TLS connections: read the ClientHello, pick the TLS options its SNI calls
//! for (from the Host rules of the entrypoint's routers), answer TLS-ALPN-01 challenges,
//! and complete the handshake.

use std::collections::{BTreeMap, HashMap};
use std::fmt;
use std::io;
use std::net::IpAddr;
use std::sync::{Arc, OnceLock};
use std::time::Duration;

use actix_http::Protocol;
use arc_swap::ArcSwap;
use rustls::ServerConfig;
use rustls::server::{Acceptor, ClientHello};
use switchyard_model::http::Router;
use switchyard_rules::RuleError;
use tokio::io::AsyncWriteExt as _;
use tokio::net::TcpStream;
use tokio_rustls::LazyConfigAcceptor;
use tokio_rustls::server::TlsStream;
use tracing::debug;

use super::options::{ACME_TLS_ALPN, FixedResolver};
use super::store::{DEFAULT, TlsState, options_key};

/// How long a client may take to complete the handshake by default (Traefik's default
/// `readTimeout`, which bounds the handshake in Go).
pub const DEFAULT_HANDSHAKE_TIMEOUT: Duration = Duration::from_secs(60);

/// The TLS options of each host of one entrypoint, from its routers' `Host` rules.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct HostOptions {
    by_host: HashMap<Box<str>, Arc<str>>,
}

impl HostOptions {
    /// Starts collecting routers.
    pub fn builder() -> HostOptionsBuilder {
        HostOptionsBuilder::default()
    }

    /// The options for a TLS server name: those of the routers for this host, else `default`.
    pub fn for_server_name(&self, server_name: &str) -> &str {
        let name = server_name.strip_suffix('.').unwrap_or(server_name);
        self.get(name).unwrap_or(DEFAULT)
    }

    /// Traefik's lookup for a request's `Host`: as is, lower-cased, and with or without a
    /// trailing dot.
    fn for_host_header(&self, host: &str) -> &str {
        let lowered = host.to_ascii_lowercase();
        for candidate in [host, lowered.as_str()] {
            if let Some(found) = self.get(candidate) {
                return found;
            }
            let other = match candidate.strip_suffix('.') {
                Some(bare) => self.get(bare),
                None => self.get(&format!("{candidate}.")),
            };
            if let Some(found) = other {
                return found;
            }
        }
        DEFAULT
    }

    fn get(&self, host: &str) -> Option<&str> {
        self.get_shared(host).map(|s| &**s)
    }

    fn get_shared(&self, host: &str) -> Option<&Arc<str>> {
        if let Some(found) = self.by_host.get(host) {
            return Some(found);
        }
        if host.bytes().any(|b| b.is_ascii_uppercase()) {
            return self.by_host.get(host.to_ascii_lowercase().as_str());
        }
        None
    }
}

/// Routers naming different TLS options for one host; the host gets `default`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OptionsConflict {
    /// The host.
    pub host: String,
    /// The routers involved.
    pub routers: Vec<String>,
}

impl fmt::Display for OptionsConflict {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "found different TLS options for routers on the same host {}, so using the default TLS options instead for these routers: {}",
            self.host,
            self.routers.join(", ")
        )
    }
}

/// Collects the routers of one entrypoint into [`HostOptions`].
#[derive(Debug, Default)]
pub struct HostOptionsBuilder {
    /// host -> options -> routers
    hosts: BTreeMap<String, BTreeMap<String, Vec<String>>>,
}

impl HostOptionsBuilder {
    /// Adds a TLS router: every `Host` of its rule gets `options` (empty: `default`).
    /// A rule without `Host` adds nothing: its connections get the options of their SNI.
    pub fn add_router(&mut self, router: &str, rule: &str, options: &str) -> Result<(), RuleError> {
        let parsed = switchyard_rules::parse_http(rule)?;
        let options = options_key(options);
        for host in parsed.host_values() {
            self.hosts
                .entry(host.to_ascii_lowercase())
                .or_default()
                .entry(options.to_owned())
                .or_default()
                .push(router.to_owned());
        }
        Ok(())
    }

    /// Adds the HTTP routers of the entrypoint (names as merged). Routers without `tls`
    /// are skipped unless the entrypoint has `http.tls`, whose options they then take
    /// (`entry_point_options`: `Some("")` for `http.tls` without options). Returns the
    /// routers whose rule does not parse.
    pub fn add_routers<'a>(
        &mut self,
        routers: impl IntoIterator<Item = (&'a str, &'a Router)>,
        entry_point_options: Option<&str>,
    ) -> Vec<(String, RuleError)> {
        let mut errors = Vec::new();
        for (name, router) in routers {
            let options = match (&router.tls, entry_point_options) {
                (Some(tls), _) => tls.options.as_str(),
                (None, Some(options)) => options,
                (None, None) => continue,
            };
            if let Err(e) = self.add_router(name, &router.rule, options) {
                errors.push((name.to_owned(), e));
            }
        }
        errors
    }

    /// The map, and the hosts whose routers disagree (they get `default`).
    pub fn build(self) -> (HostOptions, Vec<OptionsConflict>) {
        let mut by_host = HashMap::with_capacity(self.hosts.len());
        let mut conflicts = Vec::new();
        let mut names: HashMap<String, Arc<str>> = HashMap::new();
        for (host, options) in self.hosts {
            let chosen = if options.len() == 1 {
                options
                    .into_keys()
                    .next()
                    .unwrap_or_else(|| DEFAULT.to_owned())
            } else {
                let mut routers: Vec<String> = options.into_values().flatten().collect();
                routers.sort();
                conflicts.push(OptionsConflict {
                    host: host.clone(),
                    routers,
                });
                DEFAULT.to_owned()
            };
            let shared = names
                .entry(chosen.clone())
                .or_insert_with(|| Arc::from(chosen.as_str()))
                .clone();
            by_host.insert(host.into_boxed_str(), shared);
        }
        (HostOptions { by_host }, conflicts)
    }
}

/// The error [`TlsAcceptor::accept`] returns after answering a TLS-ALPN-01 challenge:
/// the connection is done, not failed.
#[derive(Debug, thiserror::Error)]
#[error("TLS-ALPN-01 challenge answered, connection closed")]
pub struct AcmeChallengeAnswered;

/// Whether `err` only says that a TLS-ALPN-01 challenge was answered.
pub fn is_acme_challenge_answered(err: &io::Error) -> bool {
    err.get_ref()
        .is_some_and(|e| e.is::<AcmeChallengeAnswered>())
}

/// Terminates TLS for one entrypoint.
pub struct TlsAcceptor {
    state: Arc<TlsState>,
    hosts: ArcSwap<HostOptions>,
    handshake_timeout: Duration,
}

impl fmt::Debug for TlsAcceptor {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("TlsAcceptor")
            .field("handshake_timeout", &self.handshake_timeout)
            .finish_non_exhaustive()
    }
}

enum Choice {
    Serve(Arc<ServerConfig>),
    Acme(Arc<ServerConfig>),
    Refuse(String),
}

impl TlsAcceptor {
    /// An acceptor serving the certificates and options of `state`; every host gets the
    /// `default` options until [`TlsAcceptor::set_host_options`] says otherwise.
    pub fn new(state: Arc<TlsState>) -> Self {
        Self {
            state,
            hosts: ArcSwap::from_pointee(HostOptions::default()),
            handshake_timeout: DEFAULT_HANDSHAKE_TIMEOUT,
        }
    }

    /// Bounds the time from accepting the connection to the end of the handshake
    /// (zero: no bound).
    pub fn with_handshake_timeout(mut self, timeout: Duration) -> Self {
        self.handshake_timeout = timeout;
        self
    }

    /// Swaps in the options per host (after a configuration change).
    pub fn set_host_options(&self, hosts: HostOptions) {
        self.hosts.store(Arc::new(hosts));
    }

    /// The name of the TLS options a connection with this SNI uses.
    pub fn options_for(&self, server_name: Option<&str>) -> Arc<str> {
        static DEFAULT_NAME: OnceLock<Arc<str>> = OnceLock::new();
        let found = server_name.and_then(|name| {
            let name = name.strip_suffix('.').unwrap_or(name);
            self.hosts.load().get_shared(name).cloned()
        });
        // Shared names, so that recording them per connection allocates nothing.
        found.unwrap_or_else(|| DEFAULT_NAME.get_or_init(|| Arc::from(DEFAULT)).clone())
    }

    /// Traefik's domain-fronting check: a request whose `Host` (without port) differs from
    /// the connection's SNI must not reach a host whose TLS options differ from those the
    /// connection was made with; such requests get 421 Misdirected Request.
    pub fn is_misdirected(&self, server_name: Option<&str>, host: &str) -> bool {
        let host = host.trim();
        let server_name = server_name.unwrap_or("").trim();
        if host.eq_ignore_ascii_case(server_name) {
            return false;
        }
        let hosts = self.hosts.load();
        let sni_options = if server_name.is_empty() {
            DEFAULT
        } else {
            hosts.get(server_name).unwrap_or(DEFAULT)
        };
        hosts.for_host_header(host) != sni_options
    }

    /// Reads the ClientHello, completes the handshake with the options chosen for its SNI
    /// and says which HTTP version ALPN settled on.
    ///
    /// After answering a TLS-ALPN-01 challenge the connection is closed and the error
    /// satisfies [`is_acme_challenge_answered`].
    pub async fn accept(&self, tcp: TcpStream) -> io::Result<(TlsStream<TcpStream>, Protocol)> {
        if self.handshake_timeout.is_zero() {
            return self.handshake(tcp).await;
        }
        match tokio::time::timeout(self.handshake_timeout, self.handshake(tcp)).await {
            Ok(result) => result,
            Err(_) => Err(io::Error::new(
                io::ErrorKind::TimedOut,
                "TLS handshake timed out",
            )),
        }
    }

    async fn handshake(&self, tcp: TcpStream) -> io::Result<(TlsStream<TcpStream>, Protocol)> {
        let local_ip = tcp.local_addr().ok().map(|addr| addr.ip().to_canonical());
        let start = LazyConfigAcceptor::new(Acceptor::default(), tcp).await?;
        match self.choose(&start.client_hello(), local_ip) {
            Choice::Serve(config) => {
                let tls = start.into_stream(config).await?;
                let protocol = if tls.get_ref().1.alpn_protocol() == Some(b"h2") {
                    Protocol::Http2
                } else {
                    Protocol::Http1
                };
                Ok((tls, protocol))
            }
            Choice::Acme(config) => {
                let mut tls = start.into_stream(config).await?;
                // The validation server only looks at the certificate; say goodbye politely.
                let _ = tls.shutdown().await;
                Err(io::Error::other(AcmeChallengeAnswered))
            }
            Choice::Refuse(reason) => {
                debug!(%reason, "closing TLS connection");
                Err(io::Error::new(io::ErrorKind::ConnectionAborted, reason))
            }
        }
    }

    fn choose(&self, hello: &ClientHello<'_>, local_ip: Option<IpAddr>) -> Choice {
        let only_acme = hello.alpn().is_some_and(|mut protocols| {
            protocols.next() == Some(ACME_TLS_ALPN) && protocols.next().is_none()
        });
        if only_acme {
            return Choice::Acme(self.state.acme_config());
        }
        let server_name = hello.server_name();
        let hosts = self.hosts.load();
        let options = server_name.map_or(DEFAULT, |name| hosts.for_server_name(name));
        let Some(config) = self.state.server_config(options) else {
            let problem = self.state.options_problem(options).unwrap_or_default();
            return Choice::Refuse(format!("TLS options {options} unusable: {problem}"));
        };
        if server_name.is_none()
            && let Some(ip) = local_ip
            && let Some(key) = self.state.index().find(&ip.to_string()).cloned()
        {
            // Traefik matches the local address against certificate names when the
            // client sends no SNI (clients never send IP literals as SNI).
            let mut fixed = ServerConfig::clone(&config);
            fixed.cert_resolver = Arc::new(FixedResolver(key));
            return Choice::Serve(Arc::new(fixed));
        }
        Choice::Serve(config)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn router(rule: &str, tls: Option<&str>) -> Router {
        Router {
            rule: rule.into(),
            service: "s".into(),
            tls: tls.map(|o| switchyard_model::http::RouterTlsConfig {
                options: o.into(),
                ..Default::default()
            }),
            ..Router::default()
        }
    }

    #[test]
    fn host_options_from_routers() {
        let routers = [
            (
                "a@file",
                router(
                    "Host(`A.example.com`) && PathPrefix(`/x`)",
                    Some("modern@file"),
                ),
            ),
            (
                "b@file",
                router(
                    "Host(`b.example.com`) || Host(`c.example.com`)",
                    Some("modern@file"),
                ),
            ),
            ("c@file", router("Host(`c.example.com`)", Some("old@file"))),
            (
                "d@file",
                router("PathPrefix(`/nohost`)", Some("modern@file")),
            ),
            (
                "e@file",
                router("Host(`e.example.com`)", Some("default@docker")),
            ),
            ("f@file", router("Host(`f.example.com`)", None)),
            ("g@file", router("Host(`g.example.com`", Some(""))),
        ];
        let mut builder = HostOptions::builder();
        let errors = builder.add_routers(routers.iter().map(|(n, r)| (*n, r)), None);
        assert_eq!(errors.len(), 1);
        assert_eq!(errors[0].0, "g@file");
        let (hosts, conflicts) = builder.build();
        assert_eq!(
            conflicts,
            [OptionsConflict {
                host: "c.example.com".into(),
                routers: vec!["b@file".into(), "c@file".into()]
            }]
        );
        let cases = [
            ("a.example.com", "modern@file"),
            ("A.EXAMPLE.com", "modern@file"),
            ("a.example.com.", "modern@file"),
            ("b.example.com", "modern@file"),
            ("c.example.com", "default"),
            ("e.example.com", "default"),
            ("f.example.com", "default"),
            ("unknown.example.com", "default"),
        ];
        for (sni, want) in cases {
            assert_eq!(hosts.for_server_name(sni), want, "{sni}");
        }

        let mut with_ep = HostOptions::builder();
        with_ep.add_routers(routers[5..6].iter().map(|(n, r)| (*n, r)), Some("ep@file"));
        assert_eq!(
            with_ep.build().0.for_server_name("f.example.com"),
            "ep@file",
            "router without tls takes the entrypoint's"
        );
    }

    #[test]
    fn domain_fronting_is_misdirected_only_across_options() {
        let mut builder = HostOptions::builder();
        builder
            .add_router("a", "Host(`secure.example.com`)", "mtls@file")
            .unwrap();
        builder
            .add_router("b", "Host(`other.example.com`)", "mtls@file")
            .unwrap();
        builder
            .add_router("c", "Host(`plain.example.com`)", "")
            .unwrap();
        let acceptor = TlsAcceptor::new(Arc::new(TlsState::new().unwrap()));
        acceptor.set_host_options(builder.build().0);
        let cases: [(&str, Option<&str>, &str, bool); 8] = [
            (
                "same host",
                Some("plain.example.com"),
                "plain.example.com",
                false,
            ),
            (
                "same host, other case",
                Some("secure.example.com"),
                "SECURE.example.com",
                false,
            ),
            (
                "both default",
                Some("plain.example.com"),
                "unknown.example.com",
                false,
            ),
            (
                "default sni to mtls host",
                Some("plain.example.com"),
                "secure.example.com",
                true,
            ),
            (
                "mtls sni to default host",
                Some("secure.example.com"),
                "plain.example.com",
                true,
            ),
            (
                "same options, other host",
                Some("secure.example.com"),
                "other.example.com",
                false,
            ),
            ("no sni to mtls host", None, "secure.example.com", true),
            (
                "fqdn host header",
                Some("plain.example.com"),
                "secure.example.com.",
                true,
            ),
        ];
        for (case, sni, host, want) in cases {
            assert_eq!(acceptor.is_misdirected(sni, host), want, "{case}");
        }
    }

    #[test]
    fn acme_answer_is_recognisable() {
        assert!(is_acme_challenge_answered(&io::Error::other(
            AcmeChallengeAnswered
        )));
        assert!(!is_acme_challenge_answered(&io::Error::other("boom")));
        assert!(!is_acme_challenge_answered(&io::Error::from(
            io::ErrorKind::TimedOut
        )));
    }
}
