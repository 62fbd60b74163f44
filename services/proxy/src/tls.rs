//! TLS termination: certificates chosen by SNI from a store readers never lock, Traefik's
//! TLS options per host, TLS-ALPN-01 answers, and the wiring into actix-server.
//!
//! - [`TlsState`] (one per process) holds the certificates, by exact name and by one-label
//!   wildcard, the default certificate (configured, or generated like Traefik's), pending
//!   TLS-ALPN-01 challenge certificates and the compiled `tls.options`. Every read is an
//!   `ArcSwap` load; every change swaps in new maps, so the next handshake sees it.
//! - [`TlsAcceptor`] (one per TLS entrypoint) reads the ClientHello, picks the options of
//!   the routers whose `Host` is the SNI (`default` otherwise, or on conflict, as Traefik
//!   does), answers TLS-ALPN-01 and completes the handshake.
//! - [`listen_tls`] puts an acceptor and an actix-web app on an actix-server listener.

mod acceptor;
mod cert;
mod der;
mod options;
mod serve;
mod store;
#[cfg(test)]
mod tests;

// The module's API; main.rs and the bus actor use it as they are wired.
#[allow(
    unused_imports,
    reason = "the API is wired by main.rs and the bus actor step by step"
)]
pub use self::{
    acceptor::{
        AcmeChallengeAnswered, DEFAULT_HANDSHAKE_TIMEOUT, HostOptions, HostOptionsBuilder,
        OptionsConflict, TlsAcceptor, is_acme_challenge_answered,
    },
    cert::{CertError, Certificate, DEFAULT_CERT_CN, challenge_key, read_file_or_content},
    options::{ACME_TLS_ALPN, OptionsError},
    serve::{HttpSettings, TlsInfo, listen_tls},
    store::{CertChange, DEFAULT, TlsState, in_default_store, options_key},
};
