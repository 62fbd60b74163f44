//! The certificates service: static certificates and ACME certificates, obtained once and
//! published on the bus for every proxy replica.
//!
//! Plain logic (tested without NATS or a CA): [`config`] (static configuration),
//! [`domains`] (which certificates the routers ask for), [`schedule`] and [`plan`] (when to
//! order, renew and retry), [`records`] (what goes on the bus). I/O: [`acme`] (the CA) and
//! the actors [`scheduler`] (the work, while this instance holds the lease) and
//! [`lease_keeper`] (the lease itself). See `docs/certificates.md`.

pub mod acme;
pub mod config;
pub mod domains;
pub mod lease_keeper;
pub mod plan;
pub mod records;
pub mod schedule;
pub mod scheduler;
