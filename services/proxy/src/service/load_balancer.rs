//! The `loadBalancer` service: servers chosen by smooth weighted round robin (`wrr`, see
//! [`super::wrr`]) or by the power of two choices (`p2c`, see [`super::p2c`]), optionally
//! pinned by a sticky cookie (see [`super::sticky`]). Servers that are down are skipped;
//! servers of weight 0 never get requests under `wrr` (Traefik does not even register
//! them), while `p2c` ignores weights altogether, as Traefik does. With a
//! `passiveHealthCheck`, servers whose requests fail are taken out for a while (see
//! [`super::passive`]).

use std::sync::Arc;

use actix_web::HttpResponse;
use actix_web::http::header::{self, HeaderMap, HeaderValue};
use futures::future::LocalBoxFuture;
use switchyard_model::http::{LoadBalancer as Spec, ServersTransport, Strategy};

use super::p2c::{self, InFlight};
use super::passive::{Passive, monotonic_ms};
use super::sticky::Sticky;
use super::wrr::Rotation;
use super::{ServerState, Service, WorkerCtx, no_server_available};
use crate::middleware::BuildError;
use crate::request::ProxyRequest;
use crate::upstream::{ForwardOptions, Target, forward};

/// How servers are chosen.
#[derive(Debug)]
enum Pick {
    Wrr(Rotation),
    P2c,
}

pub use super::sticky::choose;

/// The server chosen for a request, and the cookie to set on its response.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Choice {
    /// Index into [`LoadBalancer::servers`].
    pub index: usize,
    /// A `Set-Cookie` value sticking the client to that server.
    pub set_cookie: Option<HeaderValue>,
}

/// A compiled load balancer.
#[derive(Debug)]
pub struct LoadBalancer {
    servers: Vec<Arc<ServerState>>,
    pick: Pick,
    sticky: Option<Sticky>,
    options: ForwardOptions,
    passive: Option<Passive>,
}

/// The forwarding options of a load balancer using `transport` (`None`: the defaults).
pub fn forward_options(spec: &Spec, transport: Option<&ServersTransport>) -> ForwardOptions {
    let response_header_timeout = transport
        .map(|t| t.timeouts().response_header_timeout)
        .filter(|d| !d.is_zero())
        .and_then(|d| d.as_std());
    ForwardOptions {
        pass_host_header: spec.pass_host_header,
        response_header_timeout,
    }
}

impl LoadBalancer {
    /// Compiles the `loadBalancer` spec of service `name` (qualified; it names the default
    /// sticky cookie), talking to its servers as `transport` says.
    pub fn build(
        name: &str,
        spec: &Spec,
        transport: Option<&ServersTransport>,
    ) -> Result<Self, BuildError> {
        if spec.servers.len() > usize::from(u16::MAX) {
            return Err(BuildError(format!(
                "{} servers: at most {} are supported",
                spec.servers.len(),
                u16::MAX
            )));
        }
        let mut servers = Vec::with_capacity(spec.servers.len());
        for (i, server) in spec.servers.iter().enumerate() {
            let target = Target::parse(&server.url, server.preserve_path)
                .map_err(|e| BuildError(format!("loadBalancer.servers[{i}].url: {e}")))?;
            servers.push(Arc::new(ServerState::new(
                target,
                server.effective_weight(),
            )));
        }
        let pick = match &spec.strategy {
            Strategy::Wrr => Pick::Wrr(Rotation::new(
                &servers.iter().map(|s| s.weight).collect::<Vec<_>>(),
            )),
            Strategy::P2c => Pick::P2c,
            Strategy::Unsupported(s) => {
                return Err(BuildError(format!(
                    "unsupported load-balancer strategy {s:?}"
                )));
            }
        };
        let sticky = spec
            .sticky
            .as_ref()
            .and_then(|s| s.cookie.as_ref())
            .map(|cookie| {
                let members: Vec<Option<&str>> = servers
                    .iter()
                    .map(|s| {
                        (matches!(pick, Pick::P2c) || s.weight > 0).then_some(s.target.url.as_str())
                    })
                    .collect();
                Sticky::new(cookie, name, &members)
            });
        Ok(Self {
            servers,
            pick,
            sticky,
            options: forward_options(spec, transport),
            passive: spec
                .passive_health_check
                .as_ref()
                .map(|p| Passive::new(p, spec.servers.len())),
        })
    }

    /// The servers, for health tracking.
    pub fn servers(&self) -> &[Arc<ServerState>] {
        &self.servers
    }

    /// Whether server `i` is in rotation: up by its health, not out by passive checks.
    fn in_rotation(&self, i: usize) -> bool {
        self.servers[i].is_up()
            && self
                .passive
                .as_ref()
                .is_none_or(|p| p.admits(i, monotonic_ms))
    }

    /// Whether server `i` can be chosen now.
    fn usable(&self, i: usize) -> bool {
        self.in_rotation(i) && (matches!(self.pick, Pick::P2c) || self.servers[i].weight > 0)
    }

    /// The next server by the strategy alone (no sticky cookie), among those up.
    fn pick_index(&self) -> Option<usize> {
        match &self.pick {
            Pick::Wrr(rotation) => rotation.pick(|i| self.in_rotation(i)),
            Pick::P2c => p2c::choose(
                &self.servers,
                |i| self.usable(i),
                |n| rand::random_range(0..n),
            ),
        }
    }

    /// The server for a request with these headers: the one its sticky cookie names when
    /// that one is usable, otherwise the strategy's pick (with a cookie to set, when sticky).
    pub fn choose(&self, headers: &HeaderMap) -> Option<Choice> {
        choose(
            self.sticky.as_ref(),
            headers,
            |i| self.usable(i),
            || self.pick_index(),
        )
    }
}

impl Service for LoadBalancer {
    fn serve<'a>(
        &'a self,
        req: ProxyRequest,
        ctx: &'a WorkerCtx,
    ) -> LocalBoxFuture<'a, HttpResponse> {
        Box::pin(async move {
            let Some(choice) = self.choose(&req.headers) else {
                return no_server_available();
            };
            let server = &self.servers[choice.index];
            let in_flight = matches!(self.pick, Pick::P2c).then(|| InFlight::start(server.clone()));
            req.notes
                .forwarded_to(&server.target.url, &server.target.authority);
            let forwarded = forward(&ctx.client, req, &server.target, &self.options).await;
            if let Some(passive) = &self.passive {
                // Traefik counts unreachable servers and 5xx answers as failed attempts.
                let failed = forwarded
                    .as_ref()
                    .map_or(true, |r| r.status().is_server_error());
                if passive.record(choice.index, failed, monotonic_ms()) {
                    tracing::warn!(
                        server = %server.target.url,
                        out_for_ms = passive.window_ms(),
                        "passive health check: server out of rotation"
                    );
                }
            }
            let mut response = match forwarded {
                Ok(response) => response,
                Err(e) => {
                    tracing::debug!(server = %server.target.url, error = %e, "forwarding failed");
                    e.response()
                }
            };
            if let Some(cookie) = choice.set_cookie {
                response.headers_mut().append(header::SET_COOKIE, cookie);
            }
            match in_flight {
                Some(guard) => p2c::track(response, guard),
                None => response,
            }
        })
    }

    fn available(&self) -> bool {
        (0..self.servers.len()).any(|i| self.usable(i))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::service::sticky::member_hash;
    use crate::service::testing::{Backend, body_text, ctx, request, request_with};

    fn lb(json: serde_json::Value) -> LoadBalancer {
        LoadBalancer::build("svc@file", &serde_json::from_value(json).unwrap(), None).unwrap()
    }

    fn with_cookie(cookie: &str) -> HeaderMap {
        let mut headers = HeaderMap::new();
        headers.insert(header::COOKIE, HeaderValue::from_str(cookie).unwrap());
        headers
    }

    /// The authorities picked by `n` plain picks.
    fn picks(lb: &LoadBalancer, n: usize) -> Vec<String> {
        (0..n)
            .map(|_| {
                lb.pick_index()
                    .map_or("-".to_owned(), |i| lb.servers[i].target.authority.clone())
            })
            .collect()
    }

    #[test]
    fn wrr_order_skips_servers_that_are_down() {
        let lb = LoadBalancer {
            pick: Pick::Wrr(Rotation::starting_at(
                crate::service::wrr::smooth_wrr_schedule(&[2, 1, 1]),
                0,
            )),
            ..lb(serde_json::json!({"servers": [
                {"url": "http://a:1", "weight": 2}, {"url": "http://b:1"}, {"url": "http://c:1"}
            ]}))
        };
        assert_eq!(picks(&lb, 4), ["a:1", "b:1", "c:1", "a:1"]);
        lb.servers()[0].set_up(false);
        assert_eq!(picks(&lb, 4), ["b:1", "c:1", "b:1", "c:1"]);
        lb.servers()[1].set_up(false);
        assert_eq!(picks(&lb, 2), ["c:1", "c:1"]);
        assert!(lb.available());
        lb.servers()[2].set_up(false);
        assert_eq!(picks(&lb, 1), ["-"]);
        assert!(!lb.available());
    }

    #[test]
    fn weights_shape_the_distribution() {
        let lb = lb(serde_json::json!({"servers": [
            {"url": "http://a:1", "weight": 3}, {"url": "http://b:1"}, {"url": "http://zero:1", "weight": 0}
        ]}));
        let got = picks(&lb, 400);
        assert_eq!(got.iter().filter(|a| *a == "a:1").count(), 300);
        assert_eq!(got.iter().filter(|a| *a == "b:1").count(), 100);
        lb.servers()[0].set_up(false);
        lb.servers()[1].set_up(false);
        assert!(
            !lb.available(),
            "a weight-0 server does not make a wrr balancer available"
        );
    }

    #[test]
    fn p2c_uses_only_servers_that_are_up_and_ignores_weights() {
        let lb = lb(serde_json::json!({"strategy": "p2c", "servers": [
            {"url": "http://a:1"}, {"url": "http://b:1", "weight": 0}, {"url": "http://c:1"}
        ]}));
        lb.servers()[0].set_up(false);
        let got = picks(&lb, 200);
        assert!(got.iter().all(|a| a == "b:1" || a == "c:1"), "{got:?}");
        assert!(
            got.iter().any(|a| a == "b:1"),
            "weight 0 still takes requests under p2c"
        );
        // With b loaded, c is always preferred: both are drawn every time.
        let _busy = InFlight::start(lb.servers()[1].clone());
        assert!(picks(&lb, 50).iter().all(|a| a == "c:1"));
    }

    #[test]
    fn sticky_cookie_picks_the_named_server_and_falls_back_when_it_is_down() {
        let lb = lb(serde_json::json!({
            "sticky": {"cookie": {"name": "s", "httpOnly": true}},
            "servers": [{"url": "http://a:1"}, {"url": "http://b:1"}]
        }));
        let cookie_for = |url: &str| format!("s={}; Path=/; HttpOnly", member_hash(url));

        // No cookie: the balancer picks and the response sticks the client to its pick.
        let first = lb.choose(&HeaderMap::new()).unwrap();
        let url = lb.servers()[first.index].target.url.clone();
        assert_eq!(
            first.set_cookie.unwrap().to_str().unwrap(),
            cookie_for(&url)
        );

        // A cookie naming b: always b, and no new cookie.
        let b = with_cookie(&format!("other=1; s={}", member_hash("http://b:1")));
        for _ in 0..4 {
            assert_eq!(
                lb.choose(&b),
                Some(Choice {
                    index: 1,
                    set_cookie: None
                })
            );
        }

        // A legacy value (the raw URL) still sticks, and the cookie is rewritten.
        let legacy = lb.choose(&with_cookie("s=http://a:1")).unwrap();
        assert_eq!(legacy.index, 0);
        assert_eq!(
            legacy.set_cookie.unwrap().to_str().unwrap(),
            cookie_for("http://a:1")
        );

        // b down: the balancer picks a and sets a's cookie.
        lb.servers()[1].set_up(false);
        let moved = lb.choose(&b).unwrap();
        assert_eq!(moved.index, 0);
        assert_eq!(
            moved.set_cookie.unwrap().to_str().unwrap(),
            cookie_for("http://a:1")
        );

        // An unknown value: a fresh pick with a cookie.
        assert!(
            lb.choose(&with_cookie("s=garbage"))
                .unwrap()
                .set_cookie
                .is_some()
        );
    }

    #[test]
    fn sticky_cookie_default_name_comes_from_the_service_name() {
        let lb =
            lb(serde_json::json!({"sticky": {"cookie": {}}, "servers": [{"url": "http://a:1"}]}));
        let cookie = lb.choose(&HeaderMap::new()).unwrap().set_cookie.unwrap();
        let expected = format!(
            "{}={}; Path=/",
            crate::service::sticky::cookie_name("", "svc@file"),
            member_hash("http://a:1")
        );
        assert_eq!(cookie.to_str().unwrap(), expected);
        assert!(lb.choose(&HeaderMap::new()).is_some());
    }

    #[test]
    fn sticky_without_cookie_does_nothing() {
        let lb = lb(serde_json::json!({"sticky": {}, "servers": [{"url": "http://a:1"}]}));
        assert_eq!(
            lb.choose(&HeaderMap::new()),
            Some(Choice {
                index: 0,
                set_cookie: None
            })
        );
    }

    #[test]
    fn forwarding_options_come_from_the_transport() {
        let spec: Spec =
            serde_json::from_value(serde_json::json!({"passHostHeader": false, "servers": []}))
                .unwrap();
        let transport: ServersTransport = serde_json::from_value(
            serde_json::json!({"forwardingTimeouts": {"responseHeaderTimeout": "1500ms"}}),
        )
        .unwrap();
        let cases = [
            ("no transport", None, None),
            (
                "transport without timeouts",
                Some(ServersTransport::default()),
                None,
            ),
            (
                "response header timeout",
                Some(transport),
                Some(std::time::Duration::from_millis(1500)),
            ),
        ];
        for (case, transport, expected) in cases {
            let options = forward_options(&spec, transport.as_ref());
            assert_eq!(options.response_header_timeout, expected, "{case}");
            assert!(!options.pass_host_header, "{case}");
        }
    }

    #[test]
    fn bad_specs_are_rejected() {
        let cases = [
            ("bad url", serde_json::json!({"servers": [{"url": "nope"}]})),
            (
                "unsupported strategy",
                serde_json::json!({"strategy": "hrw", "servers": []}),
            ),
        ];
        for (case, json) in cases {
            let spec: Spec = serde_json::from_value(json).unwrap();
            assert!(
                LoadBalancer::build("x@file", &spec, None).is_err(),
                "{case}"
            );
        }
    }

    #[test]
    fn no_servers_means_unavailable() {
        let lb = lb(serde_json::json!({"servers": []}));
        assert!(lb.pick_index().is_none());
        assert!(!lb.available());
    }

    #[actix_web::test]
    async fn forwards_and_sticks_through_real_servers() {
        let (a, b) = (Backend::start("a").await, Backend::start("b").await);
        let lb = lb(
            serde_json::json!({"sticky": {"cookie": {"name": "s"}}, "servers": [{"url": a.url}, {"url": b.url}]}),
        );
        let ctx = ctx();
        let response = lb.serve(request("GET", "/x", &[]), &ctx).await;
        assert_eq!(response.status(), 200);
        let set_cookie = response
            .headers()
            .get(header::SET_COOKIE)
            .unwrap()
            .to_str()
            .unwrap()
            .to_owned();
        let first = body_text(response).await;
        let expected_server = if first.starts_with("a ") {
            &a.url
        } else {
            &b.url
        };
        assert_eq!(
            set_cookie,
            format!("s={}; Path=/", member_hash(expected_server))
        );
        let cookie = set_cookie.split(';').next().unwrap().to_owned();
        for _ in 0..4 {
            let mut headers = HeaderMap::new();
            headers.insert(header::COOKIE, HeaderValue::from_str(&cookie).unwrap());
            let response = lb
                .serve(request_with("GET", "/x", headers, &[]), &ctx)
                .await;
            assert!(response.headers().get(header::SET_COOKIE).is_none());
            assert_eq!(body_text(response).await, first);
        }
        lb.servers()[0].set_up(false);
        lb.servers()[1].set_up(false);
        assert_eq!(
            lb.serve(request("GET", "/x", &[]), &ctx).await.status(),
            503
        );
        a.stop().await;
        b.stop().await;
    }

    #[actix_web::test]
    async fn passive_health_check_takes_a_refusing_server_out() {
        let a = Backend::start("a").await;
        let lb = lb(serde_json::json!({
            "passiveHealthCheck": {"failureWindow": "1m"},
            "servers": [{"url": "http://127.0.0.1:1"}, {"url": a.url}]
        }));
        let ctx = ctx();
        let mut statuses = Vec::new();
        for _ in 0..6 {
            statuses.push(
                lb.serve(request("GET", "/x", &[]), &ctx)
                    .await
                    .status()
                    .as_u16(),
            );
        }
        assert_eq!(
            statuses.iter().filter(|s| **s == 502).count(),
            1,
            "{statuses:?}"
        );
        assert_eq!(
            statuses.iter().filter(|s| **s == 200).count(),
            5,
            "{statuses:?}"
        );
        assert!(!lb.usable(0));
        assert!(lb.available());
        a.stop().await;
    }

    #[actix_web::test]
    async fn p2c_counts_a_request_until_its_body_is_read() {
        let a = Backend::start("a").await;
        let lb = lb(serde_json::json!({"strategy": "p2c", "servers": [{"url": a.url}]}));
        let response = lb.serve(request("POST", "/x", &[b"hi"]), &ctx()).await;
        assert_eq!(lb.servers()[0].in_flight(), 1);
        assert_eq!(body_text(response).await, "a /x hi");
        assert_eq!(lb.servers()[0].in_flight(), 0);
        a.stop().await;
    }
}
