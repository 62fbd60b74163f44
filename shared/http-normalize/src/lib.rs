//! Request normalisation before routing.
//!
//! Everything Switchyard does to an incoming request before the router sees it, with
//! Traefik v3's semantics and without depending on any HTTP crate (the proxy uses
//! actix-web's `http` 0.2 types, the CLI parses a raw HTTP/1.1 head):
//!
//! * [`normalize_target`]: request-target checks, percent-encoding normalisation and
//!   dot-segment removal ([`target`] documents every rule and its origin);
//! * [`canonical_host`] / [`host_port`]: the host used by `Host()` rules and the port used
//!   for `X-Forwarded-Port` ([`host`]);
//! * [`rewrite_forwarded`]: `X-Forwarded-*` / `X-Real-Ip` with trusted peers ([`forwarded`]);
//! * [`remove_hop_by_hop`]: hop-by-hop headers, with websocket upgrades kept on request
//!   ([`hop`]);
//! * [`EncodedCharacters`]: Traefik's per-entry-point denial of encoded characters
//!   ([`encoded`]).
//!
//! Header maps are reached through the small [`Headers`] trait; [`HeaderList`] is an
//! owned implementation. Nothing here panics on request data.
//!
//! ```
//! use switchyard_http_normalize::{
//!     ForwardedConfig, HeaderList, Headers, RequestInfo, canonical_host, normalize_target,
//!     parse_trusted_ip, remove_hop_by_hop, rewrite_forwarded,
//! };
//!
//! let target = normalize_target("/a/%2e%2e/b%2f/%7euser?x=%2f")?;
//! assert_eq!(target.path, "/b%2F/~user");
//! assert_eq!(target.query.as_deref(), Some("x=%2f"));
//! assert_eq!(canonical_host("Example.COM:8080"), "example.com");
//!
//! let mut headers: HeaderList = [
//!     ("Host", "example.com:8080"),
//!     ("X-Forwarded-For", "198.51.100.1"),
//!     ("Connection", "keep-alive, X-Secret"),
//!     ("X-Secret", "dropped"),
//! ]
//! .into_iter()
//! .collect();
//! let cfg = ForwardedConfig { trusted_ips: vec![parse_trusted_ip("10.0.0.0/8")?], insecure: false };
//! let req = RequestInfo {
//!     peer: "10.1.2.3".parse()?,
//!     tls: false,
//!     websocket: false,
//!     host: "example.com:8080",
//!     local_port: 80,
//!     server_name: "proxy-1",
//! };
//! rewrite_forwarded(&mut headers, &cfg, &req);
//! remove_hop_by_hop(&mut headers);
//! assert_eq!(headers.get("X-Forwarded-For").as_deref(), Some("198.51.100.1, 10.1.2.3"));
//! assert_eq!(headers.get("X-Forwarded-Port").as_deref(), Some("8080"));
//! assert!(headers.get("X-Secret").is_none());
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```

pub mod encoded;
mod error;
pub mod forwarded;
pub mod headers;
pub mod hop;
pub mod host;
pub mod target;

pub use encoded::EncodedCharacters;
pub use error::NormalizeError;
pub use forwarded::{
    ForwardedConfig, ForwardedOptions, MANAGED_HEADERS, RequestInfo, X_FORWARDED_FOR,
    X_FORWARDED_HOST, X_FORWARDED_PORT, X_FORWARDED_PROTO, X_FORWARDED_SCHEME, X_FORWARDED_SERVER,
    X_REAL_IP, X_SCHEME, is_managed_header, is_websocket_upgrade, parse_trusted_ip,
    rewrite_forwarded, rewrite_forwarded_with, strip_forwarded_headers,
};
pub use headers::{HeaderList, Headers};
pub use hop::{
    HOP_BY_HOP_HEADERS, HopByHop, HopByHopOptions, remove_hop_by_hop, remove_hop_by_hop_with,
};
pub use host::{canonical_host, host_port, request_host, split_host_port};
pub use target::{Target, is_path_byte, normalize_path, normalize_target};
