//! The lease keeper actor: acquires and renews the `certificates` lease, and tells the
//! scheduler whether it may work. Work stops as soon as the last successful renewal is
//! about to run out ([`Holding::working`]), even while NATS is unreachable, so a standby
//! that takes over after the expiry never overlaps with this instance.

use std::time::Duration;

use actix::prelude::*;
use switchyard_bus::lease::{Holding, LeaseClient, Outcome, release_within};
use switchyard_bus::nats::now_ms;
use tracing::{info, warn};

use crate::scheduler::LeaseChanged;

/// The name of the certificates service's lease.
pub const LEASE_NAME: &str = "certificates";

/// How long a release may take. With NATS gone the compare-and-set would wait for
/// JetStream's own timeout (5 s) or longer; the lease then lapses by itself at its expiry
/// and a standby takes over, so the process need not wait.
pub const RELEASE_TIMEOUT: Duration = Duration::from_secs(2);

/// Release the lease (on SIGTERM); answers once it is released, could not be, or
/// [`RELEASE_TIMEOUT`] passed.
#[derive(Message)]
#[rtype(result = "()")]
pub struct Release;

/// The lease keeper.
pub struct LeaseKeeper {
    client: LeaseClient,
    scheduler: Recipient<LeaseChanged>,
    holding: Option<Holding>,
    busy: bool,
    working: bool,
    released: bool,
}

impl LeaseKeeper {
    /// A keeper that reports to `scheduler`.
    pub fn new(client: LeaseClient, scheduler: Recipient<LeaseChanged>) -> Self {
        Self {
            client,
            scheduler,
            holding: None,
            busy: false,
            working: false,
            released: false,
        }
    }

    fn report(&mut self) {
        let working = self.holding.is_some_and(|h| h.working(now_ms()));
        if working != self.working {
            self.working = working;
            self.scheduler.do_send(LeaseChanged(working));
        }
    }

    fn renew(&mut self, ctx: &mut Context<Self>) {
        if self.busy || self.released {
            return;
        }
        self.busy = true;
        let client = self.client.clone();
        let sent = now_ms();
        ctx.spawn(
            async move { client.tick(sent).await }
                .into_actor(self)
                .map(|result, act, _| {
                    act.busy = false;
                    if act.released {
                        return;
                    }
                    match result {
                        Ok(Outcome::Held(h)) => {
                            if act.holding.is_none() {
                                info!("certificates lease acquired");
                            }
                            act.holding = Some(h);
                        }
                        Ok(Outcome::Standby {
                            holder,
                            expires_at_ms,
                        }) => {
                            if act.holding.take().is_some() || act.working {
                                warn!(%holder, "certificates lease lost");
                            }
                            tracing::debug!(%holder, expires_at_ms, "standing by");
                        }
                        Err(e) => warn!(error = %e, "renewing the certificates lease failed"),
                    }
                    act.report();
                }),
        );
    }
}

impl Actor for LeaseKeeper {
    type Context = Context<Self>;

    fn started(&mut self, ctx: &mut Context<Self>) {
        self.renew(ctx);
        let every = self.client.timing().renew_every;
        ctx.run_interval(every, |act, ctx| act.renew(ctx));
        // Checked often, so work stops at the margin even when renewals hang.
        ctx.run_interval(Duration::from_millis(250), |act, _| act.report());
    }
}

impl Handler<Release> for LeaseKeeper {
    type Result = ResponseActFuture<Self, ()>;

    fn handle(&mut self, _: Release, _: &mut Context<Self>) -> Self::Result {
        self.released = true;
        let holding = self.holding.take();
        self.working = false;
        self.scheduler.do_send(LeaseChanged(false));
        let client = self.client.clone();
        let ttl = client.timing().ttl;
        Box::pin(
            async move {
                if let Some(h) = holding {
                    let release = client.release(h.revision);
                    release_within("certificates", RELEASE_TIMEOUT, ttl, release).await;
                }
            }
            .into_actor(self),
        )
    }
}
