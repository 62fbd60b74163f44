//! The `weighted` service: smooth weighted round robin over child services, optionally
//! pinned by a sticky cookie naming the child (the same cookie format as load balancers,
//! the value hashing the child's qualified service name).
//!
//! Children of weight 0 never get requests. With `healthCheck: {}` a child that is not
//! [`Service::available`] is skipped, and the service is available while one child is;
//! without it every child is used whatever its state, as in Traefik, where the parent
//! only learns about its children's health through that option.

use std::sync::Arc;

use actix_web::HttpResponse;
use actix_web::http::header::{self, HeaderMap};
use futures::future::LocalBoxFuture;
use switchyard_model::http::Weighted as Spec;

use super::load_balancer::Choice;
use super::sticky::Sticky;
use super::sticky::choose;
use super::wrr::Rotation;
use super::{Service, WorkerCtx, no_server_available};
use crate::middleware::BuildError;
use crate::request::ProxyRequest;

/// A compiled weighted service.
pub struct Weighted {
    children: Vec<Arc<dyn Service>>,
    weights: Vec<u32>,
    rotation: Rotation,
    sticky: Option<Sticky>,
    health_check: bool,
}

impl Weighted {
    /// Compiles the `weighted` spec of service `name` (qualified); `children[i]` is the
    /// compiled `spec.services[i]`.
    pub fn build(
        name: &str,
        spec: &Spec,
        children: Vec<Arc<dyn Service>>,
    ) -> Result<Self, BuildError> {
        Self::with_rotation(name, spec, children, Rotation::new)
    }

    fn with_rotation(
        name: &str,
        spec: &Spec,
        children: Vec<Arc<dyn Service>>,
        rotation: impl FnOnce(&[u32]) -> Rotation,
    ) -> Result<Self, BuildError> {
        if children.len() != spec.services.len() {
            return Err(BuildError(format!(
                "weighted service {name:?}: {} children built for {} configured",
                children.len(),
                spec.services.len()
            )));
        }
        if children.len() > usize::from(u16::MAX) {
            return Err(BuildError(format!(
                "{} services: at most {} are supported",
                children.len(),
                u16::MAX
            )));
        }
        let weights: Vec<u32> = spec.services.iter().map(|s| s.weight).collect();
        let sticky = spec
            .sticky
            .as_ref()
            .and_then(|s| s.cookie.as_ref())
            .map(|cookie| {
                let members: Vec<Option<&str>> = spec
                    .services
                    .iter()
                    .map(|s| (s.weight > 0).then_some(s.name.as_str()))
                    .collect();
                Sticky::new(cookie, name, &members)
            });
        Ok(Self {
            rotation: rotation(&weights),
            weights,
            children,
            sticky,
            health_check: spec.health_check.is_some(),
        })
    }

    fn usable(&self, i: usize) -> bool {
        self.weights[i] > 0 && (!self.health_check || self.children[i].available())
    }

    /// The child for a request with these headers: the one its sticky cookie names when
    /// usable, otherwise the next in rotation (with a cookie to set, when sticky).
    pub fn choose(&self, headers: &HeaderMap) -> Option<Choice> {
        choose(
            self.sticky.as_ref(),
            headers,
            |i| self.usable(i),
            || self.rotation.pick(|i| self.usable(i)),
        )
    }
}

impl Service for Weighted {
    fn serve<'a>(
        &'a self,
        req: ProxyRequest,
        ctx: &'a WorkerCtx,
    ) -> LocalBoxFuture<'a, HttpResponse> {
        Box::pin(async move {
            let Some(choice) = self.choose(&req.headers) else {
                return no_server_available();
            };
            let mut response = self.children[choice.index].serve(req, ctx).await;
            if let Some(cookie) = choice.set_cookie {
                response.headers_mut().append(header::SET_COOKIE, cookie);
            }
            response
        })
    }

    fn available(&self) -> bool {
        !self.health_check || (0..self.children.len()).any(|i| self.usable(i))
    }
}

#[cfg(test)]
mod tests {
    use actix_web::http::header::HeaderValue;

    use super::*;
    use crate::service::sticky::member_hash;
    use crate::service::testing::Switch;
    use crate::service::wrr::smooth_wrr_schedule;

    fn spec(json: serde_json::Value) -> Spec {
        serde_json::from_value(json).unwrap()
    }

    fn weighted(json: serde_json::Value, children: &[Arc<Switch>]) -> Weighted {
        let children = children
            .iter()
            .map(|c| c.clone() as Arc<dyn Service>)
            .collect();
        Weighted::with_rotation("app@file", &spec(json), children, |w| {
            Rotation::starting_at(smooth_wrr_schedule(w), 0)
        })
        .unwrap()
    }

    fn counts(w: &Weighted, n: usize) -> Vec<usize> {
        let mut counts = vec![0; w.children.len()];
        for _ in 0..n {
            if let Some(choice) = w.choose(&HeaderMap::new()) {
                counts[choice.index] += 1;
            }
        }
        counts
    }

    #[test]
    fn distribution_follows_weights() {
        let children = [Switch::up(), Switch::up(), Switch::up()];
        let cases = [
            (
                "3:1",
                serde_json::json!({"services": [{"name": "a", "weight": 3}, {"name": "b"}, {"name": "c", "weight": 0}]}),
                [750, 250, 0],
            ),
            (
                "equal",
                serde_json::json!({"services": [{"name": "a"}, {"name": "b"}, {"name": "c"}]}),
                [334, 333, 333],
            ),
        ];
        for (case, json, expected) in cases {
            assert_eq!(counts(&weighted(json, &children), 1000), expected, "{case}");
        }
    }

    #[test]
    fn health_check_skips_unavailable_children() {
        let children = [Switch::up(), Switch::up()];
        let json = serde_json::json!({"healthCheck": {}, "services": [{"name": "a", "weight": 3}, {"name": "b"}]});
        let w = weighted(json, &children);
        children[0].set(false);
        assert_eq!(counts(&w, 10), [0, 10]);
        assert!(w.available());
        children[1].set(false);
        assert_eq!(counts(&w, 3), [0, 0]);
        assert!(!w.available());
        assert!(w.choose(&HeaderMap::new()).is_none());
        children[0].set(true);
        assert_eq!(counts(&w, 4), [4, 0]);
        assert!(w.available());
    }

    #[test]
    fn without_health_check_children_state_is_ignored() {
        let children = [Switch::up(), Switch::up()];
        let w = weighted(
            serde_json::json!({"services": [{"name": "a"}, {"name": "b"}]}),
            &children,
        );
        children[0].set(false);
        children[1].set(false);
        assert_eq!(counts(&w, 4), [2, 2]);
        assert!(w.available());
    }

    #[test]
    fn sticky_cookie_names_the_child_service() {
        let children = [Switch::up(), Switch::up()];
        let json = serde_json::json!({
            "healthCheck": {},
            "sticky": {"cookie": {"name": "w", "secure": true, "sameSite": "strict", "maxAge": 10}},
            "services": [{"name": "a@file"}, {"name": "b@file"}]
        });
        let w = weighted(json, &children);
        let first = w.choose(&HeaderMap::new()).unwrap();
        assert_eq!(first.index, 0);
        assert_eq!(
            first.set_cookie.unwrap().to_str().unwrap(),
            format!(
                "w={}; Path=/; Max-Age=10; Secure; SameSite=Strict",
                member_hash("a@file")
            )
        );
        let mut headers = HeaderMap::new();
        headers.insert(
            header::COOKIE,
            HeaderValue::from_str(&format!("w={}", member_hash("b@file"))).unwrap(),
        );
        for _ in 0..3 {
            assert_eq!(
                w.choose(&headers),
                Some(Choice {
                    index: 1,
                    set_cookie: None
                })
            );
        }
        children[1].set(false);
        let moved = w.choose(&headers).unwrap();
        assert_eq!(moved.index, 0);
        assert!(moved.set_cookie.is_some());
    }

    #[test]
    fn child_count_must_match() {
        let result = Weighted::build(
            "app@file",
            &spec(serde_json::json!({"services": [{"name": "a"}]})),
            Vec::new(),
        );
        assert!(result.is_err());
    }
}
