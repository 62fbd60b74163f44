//! The `failover` service: requests go to the main service while it is available, to the
//! fallback service otherwise.
//!
//! The main service must track its health (the builder refuses one without a health check,
//! as Traefik does). The fallback's own state is only looked at with `healthCheck: {}`:
//! then a failover whose main and fallback are both down answers 503 itself and reports
//! itself unavailable to its parent; without it the fallback always gets the requests the
//! main service cannot take, as in Traefik.

use std::sync::Arc;

use actix_web::HttpResponse;
use actix_web::http::StatusCode;
use futures::future::LocalBoxFuture;

use super::{Service, WorkerCtx};
use crate::request::ProxyRequest;

/// Which service takes a request.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Route {
    /// The main service.
    Main,
    /// The fallback service.
    Fallback,
    /// Neither: 503.
    Unavailable,
}

/// A compiled failover service.
pub struct Failover {
    main: Arc<dyn Service>,
    fallback: Arc<dyn Service>,
    health_check: bool,
}

impl Failover {
    /// A failover from `main` to `fallback`; `health_check` is `healthCheck: {}`.
    pub fn new(main: Arc<dyn Service>, fallback: Arc<dyn Service>, health_check: bool) -> Self {
        Self {
            main,
            fallback,
            health_check,
        }
    }

    /// Where a request goes now.
    pub fn route(&self) -> Route {
        if self.main.available() {
            Route::Main
        } else if !self.health_check || self.fallback.available() {
            Route::Fallback
        } else {
            Route::Unavailable
        }
    }
}

impl Service for Failover {
    fn serve<'a>(
        &'a self,
        req: ProxyRequest,
        ctx: &'a WorkerCtx,
    ) -> LocalBoxFuture<'a, HttpResponse> {
        match self.route() {
            Route::Main => self.main.serve(req, ctx),
            Route::Fallback => self.fallback.serve(req, ctx),
            Route::Unavailable => Box::pin(async {
                HttpResponse::build(StatusCode::SERVICE_UNAVAILABLE)
                    .content_type("text/plain; charset=utf-8")
                    .body("Service Unavailable")
            }),
        }
    }

    fn available(&self) -> bool {
        !self.health_check || self.route() != Route::Unavailable
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::service::testing::Switch;

    #[test]
    fn switches_to_the_fallback_and_back() {
        // (case, health check, main up, fallback up, route, available)
        let cases = [
            ("main up", false, true, true, Route::Main, true),
            ("main down", false, false, true, Route::Fallback, true),
            (
                "both down, fallback not watched",
                false,
                false,
                false,
                Route::Fallback,
                true,
            ),
            ("main up, hc", true, true, false, Route::Main, true),
            ("main down, hc", true, false, true, Route::Fallback, true),
            (
                "both down, hc",
                true,
                false,
                false,
                Route::Unavailable,
                false,
            ),
        ];
        for (case, hc, main_up, fallback_up, route, available) in cases {
            let (main, fallback) = (Switch::up(), Switch::up());
            let failover = Failover::new(main.clone(), fallback.clone(), hc);
            main.set(main_up);
            fallback.set(fallback_up);
            assert_eq!(failover.route(), route, "{case}");
            assert_eq!(failover.available(), available, "{case}");
        }
    }

    #[test]
    fn follows_the_main_service_over_time() {
        let (main, fallback) = (Switch::up(), Switch::up());
        let failover = Failover::new(main.clone(), fallback.clone(), true);
        let mut seen = Vec::new();
        for up in [true, false, false, true] {
            main.set(up);
            seen.push(failover.route());
        }
        assert_eq!(
            seen,
            [Route::Main, Route::Fallback, Route::Fallback, Route::Main]
        );
    }
}
