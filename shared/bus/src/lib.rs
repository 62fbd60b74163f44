//! The NATS bus contract: subjects, buckets and message types.
//!
//! The contract (documented in `docs/bus-contract.md`) is what ties discovery services,
//! the certificates and health services and every proxy replica together. Message types
//! live here and nowhere else; `tests/fixtures/v1` keeps payloads of every type so that a
//! change that breaks old payloads fails the tests.

#[cfg(feature = "cli")]
pub mod cli;
pub mod follow;
pub mod keys;
pub mod lease;
pub mod messages;
pub mod nats;
pub mod publish;
pub mod record;
pub mod sealed;

pub use keys::ConfigKey;
pub use record::Record;
pub use sealed::{SealKey, Sealed};
