//! Discovery service: Traefik v3's Docker provider, publishing containers' configuration.
//!
//! Three parts, as every provider:
//! - [`watch`]: the I/O — connect to the Docker engine, list and inspect containers,
//!   follow events ([`DockerProvider`]);
//! - [`container`]: the provider's own view of a container ([`ContainerInfo`]), converted
//!   from the engine's inspect response;
//! - [`build()`]: a pure function from containers and [`DockerOptions`] to a snapshot,
//!   following Traefik's `pkg/provider/docker` (labels, default rule and service,
//!   addresses, constraints, health, merging of scaled services).

pub mod build;
pub mod constraints;
pub mod container;
mod golit;
pub mod options;
pub mod template;
pub mod watch;

pub use build::{build, service_name};
pub use constraints::{Constraints, ConstraintsError};
pub use container::{ContainerError, ContainerInfo};
pub use options::{DockerArgs, DockerOptions};
pub use template::{Template, TemplateError};
pub use watch::{DockerProvider, DockerSettings};
