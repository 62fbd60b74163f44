//! Wiring the acceptor into actix-server: TLS handshake, then actix-http's HTTP/1.1 or
//! HTTP/2 dispatcher as ALPN decided.

use std::fmt;
use std::io;
use std::sync::Arc;
use std::time::Duration;

use actix_http::body::MessageBody;
use actix_http::{Extensions, HttpService, Request, Response};
use actix_server::ServerBuilder;
use actix_service::{
    IntoServiceFactory, ServiceFactory, ServiceFactoryExt as _, fn_service, map_config,
};
use actix_web::dev::AppConfig;
use rustls::pki_types::CertificateDer;
use tokio::net::TcpStream;
use tokio_rustls::server::TlsStream;
use tracing::debug;

use super::acceptor::{TlsAcceptor, is_acme_challenge_answered};

/// HTTP settings of a TLS entrypoint.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct HttpSettings {
    /// Keep-alive idle time between requests (`respondingTimeouts.idleTimeout`; zero disables keep-alive).
    pub keep_alive: Duration,
    /// Time allowed to read a request head (`respondingTimeouts.readTimeout`; zero: unbounded).
    pub client_request_timeout: Duration,
}

impl Default for HttpSettings {
    /// Traefik's defaults: 180 s idle, 60 s read.
    fn default() -> Self {
        Self {
            keep_alive: Duration::from_secs(180),
            client_request_timeout: Duration::from_secs(60),
        }
    }
}

/// What a request can learn about its TLS connection, as `req.conn_data::<TlsInfo>()`.
#[derive(Clone)]
pub struct TlsInfo {
    /// The SNI the client sent.
    pub server_name: Option<Arc<str>>,
    /// The TLS options the connection was made with.
    pub options: Arc<str>,
    /// The negotiated version.
    pub version: Option<rustls::ProtocolVersion>,
    /// The negotiated cipher suite.
    pub cipher_suite: Option<rustls::CipherSuite>,
    /// The client's certificate chain, when it sent one (leaf first).
    pub peer_certificates: Option<Arc<[CertificateDer<'static>]>>,
}

impl fmt::Debug for TlsInfo {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("TlsInfo")
            .field("server_name", &self.server_name)
            .field("options", &self.options)
            .field("version", &self.version)
            .field("cipher_suite", &self.cipher_suite)
            .field(
                "peer_certificates",
                &self.peer_certificates.as_ref().map(|c| c.len()),
            )
            .finish()
    }
}

impl TlsInfo {
    /// Reads the connection state after the handshake.
    pub fn of(stream: &TlsStream<TcpStream>, acceptor: &TlsAcceptor) -> Self {
        let connection = stream.get_ref().1;
        let server_name = connection.server_name();
        Self {
            server_name: server_name.map(Arc::from),
            options: acceptor.options_for(server_name),
            version: connection.protocol_version(),
            cipher_suite: connection.negotiated_cipher_suite().map(|s| s.suite()),
            peer_certificates: connection
                .peer_certificates()
                .filter(|certs| !certs.is_empty())
                .map(|certs| certs.iter().map(|c| c.clone().into_owned()).collect()),
        }
    }
}

/// Adds a TLS entrypoint to `builder`: every connection accepted on `listener` goes
/// through `acceptor`, then to an actix-http service built around the app `app_factory`
/// makes (called once per worker, like the factory of `HttpServer::new`). Each request
/// carries the connection's [`TlsInfo`] (`req.conn_data::<TlsInfo>()`).
///
/// ```ignore
/// let acceptor = Arc::new(tls::TlsAcceptor::new(tls_state.clone()).with_handshake_timeout(read_timeout));
/// builder = tls::listen_tls(
///     builder,
///     name,
///     listener,
///     acceptor.clone(),
///     tls::HttpSettings { keep_alive: idle_timeout, client_request_timeout: read_timeout },
///     move |ext| { ext.insert(ep_metrics.connection_opened()); },
///     move || {
///         App::new()
///             .app_data(state.clone())
///             .app_data(shared.clone())
///             .app_data(web::Data::new(WorkerCtx { client: upstream::client() }))
///             .default_service(web::to(server::handle))
///     },
/// )?;
/// ```
pub fn listen_tls<C, F, I, S, B>(
    builder: ServerBuilder,
    name: &str,
    listener: std::net::TcpListener,
    acceptor: Arc<TlsAcceptor>,
    settings: HttpSettings,
    on_connect: C,
    app_factory: F,
) -> io::Result<ServerBuilder>
where
    C: Fn(&mut Extensions) + Send + Clone + 'static,
    F: Fn() -> I + Send + Clone + 'static,
    I: IntoServiceFactory<S, Request>,
    S: ServiceFactory<Request, Config = AppConfig> + 'static,
    S::Error: Into<actix_web::Error> + 'static,
    S::InitError: fmt::Debug,
    S::Response: Into<Response<B>> + 'static,
    S::Future: 'static,
    <S::Service as actix_service::Service<Request>>::Future: 'static,
    B: MessageBody + 'static,
{
    let local_addr = listener.local_addr()?;
    let entry_point: Arc<str> = Arc::from(name);
    builder.listen(name, listener, move || {
        let for_info = acceptor.clone();
        let on_connect = on_connect.clone();
        let app = app_factory().into_factory().map_err(|e: S::Error| e.into().error_response());
        let http = HttpService::build()
            .keep_alive(settings.keep_alive)
            .client_request_timeout(settings.client_request_timeout)
            .secure()
            .local_addr(local_addr)
            .on_connect_ext(move |io: &TlsStream<TcpStream>, ext: &mut Extensions| {
                ext.insert(TlsInfo::of(io, &for_info));
                on_connect(ext);
            })
            .finish(map_config(app, |_| AppConfig::default()))
            .map_err(|_| ());
        let acceptor = acceptor.clone();
        let entry_point = entry_point.clone();
        fn_service(move |tcp: TcpStream| {
            let acceptor = acceptor.clone();
            let entry_point = entry_point.clone();
            async move {
                let peer = tcp.peer_addr().ok();
                let _ = tcp.set_nodelay(true);
                match acceptor.accept(tcp).await {
                    Ok((tls, protocol)) => Ok((tls, protocol, peer)),
                    Err(e) if is_acme_challenge_answered(&e) => {
                        debug!(entrypoint = %entry_point, ?peer, "TLS-ALPN-01 challenge answered");
                        Err(())
                    }
                    Err(e) => {
                        debug!(entrypoint = %entry_point, ?peer, error = %e, "TLS handshake failed");
                        Err(())
                    }
                }
            }
        })
        .and_then(http)
    })
}
