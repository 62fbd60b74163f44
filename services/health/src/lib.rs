//! The health service: active health checks of every load-balancer server that has a
//! `healthCheck`, published as `ServerHealth` in the health bucket, the work shared
//! between instances by rendezvous hashing over membership leases.
//!
//! Plain logic: [`target`] (what to check and the request for each server),
//! [`schedule`] (when, and which results to publish), [`members`] and [`assign`] (who
//! checks what), [`probe`] (the verdict and the gRPC wire format). Actors: [`coordinator`]
//! (follows the bus, assigns) and [`checker`] (one per service).

pub mod args;
pub mod assign;
pub mod checker;
pub mod coordinator;
pub mod members;
pub mod probe;
pub mod schedule;
pub mod target;
