//! The middleware chain: each middleware is one module implementing [`Middleware`].
//!
//! A middleware receives the request and the rest of the chain ([`Next`]); it may rewrite
//! the request and call `next.run(req)`, answer on its own (a redirect, a CORS preflight),
//! or change the response `next` returns. Middlewares are compiled from the configuration
//! once per snapshot; handling a request only reads them.

pub mod add_prefix;
pub mod headers;
pub mod redirect_regex;
pub mod redirect_scheme;
pub mod replace_path;
pub mod replace_path_regex;
pub mod strip_prefix;
pub mod strip_prefix_regex;
#[cfg(test)]
pub mod testing;
pub mod util;

use std::sync::Arc;

use actix_web::HttpResponse;
use futures::future::LocalBoxFuture;
use switchyard_model::http::Middleware as Spec;

use crate::request::ProxyRequest;
use crate::service::{Service, WorkerCtx};

/// One compiled middleware.
pub trait Middleware: Send + Sync + 'static {
    /// Handles the request, calling `next.run(req)` to continue the chain.
    fn handle<'a>(&'a self, req: ProxyRequest, next: Next<'a>) -> LocalBoxFuture<'a, HttpResponse>;
}

/// The rest of the chain, ending at the router's service.
#[derive(Clone, Copy)]
pub struct Next<'a> {
    rest: &'a [Arc<dyn Middleware>],
    service: &'a dyn Service,
    ctx: &'a WorkerCtx,
}

impl<'a> Next<'a> {
    /// The chain `middlewares`, then `service`.
    pub fn new(
        middlewares: &'a [Arc<dyn Middleware>],
        service: &'a dyn Service,
        ctx: &'a WorkerCtx,
    ) -> Self {
        Self {
            rest: middlewares,
            service,
            ctx,
        }
    }

    /// Runs the rest of the chain.
    pub fn run(self, req: ProxyRequest) -> LocalBoxFuture<'a, HttpResponse> {
        match self.rest.split_first() {
            Some((first, rest)) => first.handle(req, Next { rest, ..self }),
            None => self.service.serve(req, self.ctx),
        }
    }
}

/// Why a middleware cannot be built; the routers that use it are disabled with this reason.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0}")]
pub struct BuildError(pub String);

/// Compiles one middleware from its configuration. `chain` middlewares are flattened by
/// the caller (see [`crate::snapshot`]) and never reach this function.
pub fn build(spec: &Spec) -> Result<Arc<dyn Middleware>, BuildError> {
    Ok(match spec {
        Spec::AddPrefix(s) => Arc::new(add_prefix::AddPrefix::new(s)?),
        Spec::Headers(s) => Arc::new(headers::Headers::new(s)?),
        Spec::RedirectRegex(s) => Arc::new(redirect_regex::RedirectRegex::new(s)?),
        Spec::RedirectScheme(s) => Arc::new(redirect_scheme::RedirectScheme::new(s)?),
        Spec::ReplacePath(s) => Arc::new(replace_path::ReplacePath::new(s)?),
        Spec::ReplacePathRegex(s) => Arc::new(replace_path_regex::ReplacePathRegex::new(s)?),
        Spec::StripPrefix(s) => Arc::new(strip_prefix::StripPrefix::new(s)?),
        Spec::StripPrefixRegex(s) => Arc::new(strip_prefix_regex::StripPrefixRegex::new(s)?),
        // Defensive: the snapshot replaces a chain by its members before building.
        Spec::Chain(_) => {
            let message = "a chain must be flattened into its members before it is built";
            return Err(BuildError(message.to_owned()));
        }
        other => {
            let message = format!(
                "middleware type {:?} is not supported yet",
                other.type_name()
            );
            return Err(BuildError(message));
        }
    })
}
