//! Byte counting on streamed bodies: the response size is only known when its stream ends,
//! so the observation rides along with the body and finishes there.

use std::pin::Pin;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::task::{Context, Poll};

use actix_web::body::{BodySize, MessageBody};
use actix_web::error::PayloadError;
use bytes::Bytes;
use futures::Stream;

use super::Observation;

/// A response body that counts the bytes it yields and finishes its [`Observation`] when
/// the stream ends, fails, or is dropped (the client went away mid-body: Traefik then
/// still records the status already sent, with the bytes that made it).
pub struct CountingBody<B> {
    body: B,
    observation: Option<Observation>,
    status: u16,
    metric_code: u16,
    bytes: u64,
}

impl<B> std::fmt::Debug for CountingBody<B> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("CountingBody")
            .field("status", &self.status)
            .field("bytes", &self.bytes)
            .finish()
    }
}

impl<B> CountingBody<B> {
    /// Wraps `body` of a response with `status`; `metric_code` is the `code` label (the
    /// status, or the gRPC status for gRPC requests).
    pub fn new(body: B, observation: Observation, status: u16, metric_code: u16) -> Self {
        Self {
            body,
            observation: Some(observation),
            status,
            metric_code,
            bytes: 0,
        }
    }

    fn finish(&mut self) {
        if let Some(observation) = self.observation.take() {
            observation.complete(self.status, self.metric_code, 0, self.bytes);
        }
    }
}

impl<B> Drop for CountingBody<B> {
    fn drop(&mut self) {
        self.finish();
    }
}

impl<B: MessageBody + Unpin> MessageBody for CountingBody<B> {
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
        match &polled {
            Poll::Ready(Some(Ok(chunk))) => this.bytes += chunk.len() as u64,
            Poll::Ready(Some(Err(_)) | None) => this.finish(),
            Poll::Pending => {}
        }
        polled
    }
}

/// A request body stream that adds the bytes read to a shared counter.
pub(super) struct CountingStream<S> {
    pub(super) inner: S,
    pub(super) counter: Arc<AtomicU64>,
}

impl<S: Stream<Item = Result<Bytes, PayloadError>> + Unpin> Stream for CountingStream<S> {
    type Item = Result<Bytes, PayloadError>;

    fn poll_next(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Self::Item>> {
        let this = self.get_mut();
        let polled = Pin::new(&mut this.inner).poll_next(cx);
        if let Poll::Ready(Some(Ok(chunk))) = &polled {
            this.counter
                .fetch_add(chunk.len() as u64, Ordering::Relaxed);
        }
        polled
    }

    fn size_hint(&self) -> (usize, Option<usize>) {
        self.inner.size_hint()
    }
}
