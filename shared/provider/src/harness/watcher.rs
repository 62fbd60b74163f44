//! The watcher actor: runs the provider's watch, forwards its snapshots to the publisher,
//! and restarts a lost watch after a capped backoff (a thin shell around [`WatchState`]).

use actix::prelude::*;
use futures::StreamExt as _;
use tracing::warn;

use super::publisher::{Stop, WatchEvent};
use crate::Provider;
use crate::watch::{WatchItem, WatchState, loss_reason};

/// Runs one provider's watch.
pub struct WatcherActor<P: Provider> {
    name: String,
    // Boxed: actors must be `Unpin`, providers need not be.
    provider: Box<P>,
    state: WatchState,
    events: Recipient<WatchEvent>,
    stream: Option<SpawnHandle>,
}

impl<P: Provider> WatcherActor<P> {
    /// An actor watching `provider` (named `name`) and sending what it sees to `events`.
    pub fn new(name: String, provider: P, events: Recipient<WatchEvent>) -> Self {
        Self {
            name,
            provider: Box::new(provider),
            state: WatchState::new(),
            events,
            stream: None,
        }
    }

    fn begin(&mut self, ctx: &mut Context<Self>) {
        let run = self.state.begin();
        // The end of the stream is an item of its own, so that it is told apart from the
        // cancellation of a run already given up.
        let stream = self
            .provider
            .watch()
            .map(move |item| WatchItem {
                run,
                item: Some(item),
            })
            .chain(futures::stream::once(async move {
                WatchItem { run, item: None }
            }));
        self.stream = Some(ctx.add_stream(stream));
    }

    fn lost(&mut self, error: Option<&crate::ProviderError>, ctx: &mut Context<Self>) {
        if let Some(stream) = self.stream.take() {
            ctx.cancel_future(stream);
        }
        let restart_in = self.state.lost();
        let reason = loss_reason(error);
        warn!(
            provider = %self.name,
            error = %reason,
            restart_in_ms = u64::try_from(restart_in.as_millis()).unwrap_or(u64::MAX),
            "watch lost; the published configuration stays"
        );
        self.events.do_send(WatchEvent::Lost(reason));
        ctx.run_later(restart_in, |act, ctx| act.begin(ctx));
    }
}

impl<P: Provider> Actor for WatcherActor<P> {
    type Context = Context<Self>;

    fn started(&mut self, ctx: &mut Self::Context) {
        self.begin(ctx);
    }
}

impl<P: Provider> StreamHandler<WatchItem> for WatcherActor<P> {
    fn handle(&mut self, item: WatchItem, ctx: &mut Self::Context) {
        if !self.state.is_current(item.run) {
            return;
        }
        match item.item {
            Some(Ok(snapshot)) => {
                self.state.delivered();
                self.events
                    .do_send(WatchEvent::Snapshot(Box::new(snapshot)));
            }
            Some(Err(e)) => self.lost(Some(&e), ctx),
            None => self.lost(None, ctx),
        }
    }

    // Each run ends with its own item; the default would stop the actor.
    fn finished(&mut self, _: &mut Self::Context) {}
}

impl<P: Provider> Handler<Stop> for WatcherActor<P> {
    type Result = ();

    fn handle(&mut self, _: Stop, ctx: &mut Self::Context) {
        ctx.stop();
    }
}
