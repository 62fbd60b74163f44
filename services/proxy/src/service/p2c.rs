//! The `p2c` strategy: two distinct random servers that are up, the one with fewer requests
//! in flight wins (Traefik ignores weights here, and so do we).
//!
//! A request counts as in flight from the moment its server is chosen until its response
//! body has been sent or dropped: the [`InFlight`] guard travels from the forwarding future
//! into the response body, so a long download keeps its server busy as it does in Traefik,
//! whose handler returns only after the body is copied.

use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};

use actix_web::HttpResponse;
use actix_web::body::{BodySize, MessageBody};
use bytes::Bytes;

use super::ServerState;

/// Counts one request in flight on a server until dropped.
#[derive(Debug)]
pub struct InFlight(Arc<ServerState>);

impl InFlight {
    /// Counts a request on `server`.
    pub fn start(server: Arc<ServerState>) -> Self {
        server.in_flight_add(1);
        Self(server)
    }
}

impl Drop for InFlight {
    fn drop(&mut self) {
        self.0.in_flight_sub(1);
    }
}

/// A response body that releases its [`InFlight`] guard when it ends or is dropped.
struct Tracked<B> {
    body: B,
    guard: Option<InFlight>,
}

impl<B: MessageBody + Unpin> MessageBody for Tracked<B> {
    type Error = B::Error;

    fn size(&self) -> BodySize {
        self.body.size()
    }

    fn poll_next(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Bytes, Self::Error>>> {
        let this = self.get_mut();
        let polled = Pin::new(&mut this.body).poll_next(cx);
        if matches!(polled, Poll::Ready(None | Some(Err(_)))) {
            this.guard = None;
        }
        polled
    }
}

/// Keeps `guard` alive until `response`'s body is done.
pub fn track(response: HttpResponse, guard: InFlight) -> HttpResponse {
    if matches!(response.body().size(), BodySize::None | BodySize::Sized(0)) {
        return response;
    }
    response
        .map_body(|_, body| Tracked {
            body,
            guard: Some(guard),
        })
        .map_into_boxed_body()
}

/// The p2c choice among `servers` for which `usable` holds, drawing random numbers with
/// `random(n)` (uniform in `0..n`). Two distinct candidates are drawn; the first wins ties.
pub fn choose(
    servers: &[Arc<ServerState>],
    usable: impl Fn(usize) -> bool,
    mut random: impl FnMut(usize) -> usize,
) -> Option<usize> {
    let nth_usable = |n: usize| (0..servers.len()).filter(|i| usable(*i)).nth(n);
    let count = (0..servers.len()).filter(|i| usable(*i)).count();
    match count {
        0 => None,
        1 => nth_usable(0),
        _ => {
            let first = random(count);
            let mut second = random(count);
            if second == first {
                second = (second + 1) % count;
            }
            let (a, b) = (nth_usable(first)?, nth_usable(second)?);
            Some(if servers[b].in_flight() < servers[a].in_flight() {
                b
            } else {
                a
            })
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::upstream::Target;

    fn servers(n: usize) -> Vec<Arc<ServerState>> {
        (0..n)
            .map(|i| {
                Arc::new(ServerState::new(
                    Target::parse(&format!("http://s{i}:80"), false).unwrap(),
                    1,
                ))
            })
            .collect()
    }

    #[test]
    fn prefers_the_less_loaded_of_two() {
        let s = servers(3);
        let _busy: Vec<_> = (0..5).map(|_| InFlight::start(s[0].clone())).collect();
        let _one = InFlight::start(s[2].clone());
        // (random draws, expected): the draws pick candidates among usable servers.
        let cases: [(&str, [usize; 2], Option<usize>); 4] = [
            ("0 busy vs 1 idle", [0, 1], Some(1)),
            ("1 idle vs 0 busy", [1, 0], Some(1)),
            ("0 busy vs 2 with one", [0, 2], Some(2)),
            ("same draw moves on: 2 with one vs 0 busy", [2, 2], Some(2)),
        ];
        for (case, draws, expected) in cases {
            let mut it = draws.into_iter();
            assert_eq!(
                choose(&s, |_| true, |_| it.next().unwrap()),
                expected,
                "{case}"
            );
        }
    }

    #[test]
    fn only_usable_servers_are_candidates() {
        let s = servers(4);
        let up = [false, true, false, true];
        let _busy = InFlight::start(s[3].clone());
        // Draws index into the usable servers [1, 3].
        assert_eq!(
            choose(&s, |i| up[i], |_| 1),
            Some(1),
            "same draw: 3 then 1, 1 is idle"
        );
        assert_eq!(
            choose(
                &s,
                |i| i == 3,
                |_| unreachable!("one candidate needs no draw")
            ),
            Some(3)
        );
        assert_eq!(choose(&s, |_| false, |_| 0), None);
    }

    #[test]
    fn guards_count_until_dropped() {
        let s = servers(1);
        let a = InFlight::start(s[0].clone());
        let b = InFlight::start(s[0].clone());
        assert_eq!(s[0].in_flight(), 2);
        drop(a);
        assert_eq!(s[0].in_flight(), 1);
        drop(b);
        assert_eq!(s[0].in_flight(), 0);
    }

    #[actix_web::test]
    async fn tracked_body_releases_the_guard_at_its_end() {
        let s = servers(1);
        let response =
            HttpResponse::Ok().streaming(futures::stream::iter([Ok::<_, actix_web::Error>(
                Bytes::from_static(b"hi"),
            )]));
        let response = track(response, InFlight::start(s[0].clone()));
        assert_eq!(s[0].in_flight(), 1);
        let body = actix_web::body::to_bytes(response.into_body())
            .await
            .map_err(|_| "body")
            .unwrap();
        assert_eq!(body, "hi");
        assert_eq!(s[0].in_flight(), 0);

        let empty = track(
            HttpResponse::NoContent().finish(),
            InFlight::start(s[0].clone()),
        );
        assert_eq!(s[0].in_flight(), 0, "an empty body holds nothing");
        drop(empty);
    }
}
