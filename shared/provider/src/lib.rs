//! The provider harness: what every discovery service shares.
//!
//! A discovery source (files, a Docker engine, a Kubernetes cluster) implements
//! [`Provider`]: its kind, and a watch that yields full snapshots of its configuration.
//! The harness does the rest (see [`harness`]): an actix actor around the watch, throttling
//! (a change after a quiet period is published at once, a burst at most twice per window;
//! see [`outbox`]), dropping snapshots equal to the last, reconnecting with capped backoff,
//! publishing to the bus per its contract, and the provider's status on the bus.
//!
//! A discovery service flattens [`HarnessArgs`] into its own clap arguments and ends its
//! `main` with `switchyard_provider::run_blocking(provider, args.harness)` (or awaits
//! [`run`] inside its own actix system); either returns on SIGTERM or SIGINT, after a
//! clean stop (see [`signals`]).

pub mod args;
pub mod harness;
pub mod outbox;
pub mod retry;
pub mod signals;
pub mod sink;
pub mod status;
pub mod watch;

use futures::stream::LocalBoxStream;
use switchyard_model::{DynamicConfig, Problem};

pub use args::HarnessArgs;
pub use harness::{Harness, HarnessError, run, run_blocking, start};
/// Logging and the crypto provider, set up as every Switchyard service does.
pub use switchyard_bus::cli::init_service;

/// One full snapshot of a provider's configuration.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Snapshot {
    /// The resources it found.
    pub config: DynamicConfig,
    /// The resources it rejected, each with what is wrong (resource and field).
    pub problems: Vec<Problem>,
    /// Source-level errors that are not about one resource (a file that does not parse,
    /// a container that cannot be inspected), for the provider's status. The provider
    /// keeps what such a source last contributed in `config`.
    pub errors: Vec<String>,
}

/// Why a watch failed; the harness logs it, marks the provider unhealthy on the bus
/// (keeping its last published configuration), and restarts the watch with backoff.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0}")]
pub struct ProviderError(pub String);

/// A discovery source.
pub trait Provider: 'static {
    /// The provider's kind (`file`, `docker`), reported in its status.
    fn kind(&self) -> &'static str;

    /// Starts watching the source: the stream yields a full snapshot at once and then one
    /// after every change. It ends, or yields an error, when the source is lost; the
    /// harness then calls `watch` again after a backoff.
    fn watch(&mut self) -> LocalBoxStream<'static, Result<Snapshot, ProviderError>>;
}
