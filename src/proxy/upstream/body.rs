//! An upstream response body that returns its connection to the pool once it has been read to
//! the end, and fails when the app pauses longer than its limit between two pieces of it (a
//! stalled app would otherwise hold the client's connection for ever).

use super::Lease;
use bytes::Bytes;
use http_body::{Body, Frame, SizeHint};
use hyper::body::Incoming;
use pin_project_lite::pin_project;
use std::future::Future;
use std::pin::Pin;
use std::task::{Context, Poll};
use std::time::Duration;
use tokio::time::Sleep;

/// Why an upstream body ended early.
#[derive(Debug, thiserror::Error)]
pub enum UpstreamBodyError {
    #[error(transparent)]
    Upstream(#[from] hyper::Error),
    #[error("the app sent nothing more of its answer for {0:?}")]
    Stalled(Duration),
}

pin_project! {
    pub struct UpstreamBody {
        #[pin]
        inner: Incoming,
        lease: Option<Lease>,
        // The longest pause between two frames, and its timer (made at the first pause).
        idle_limit: Option<Duration>,
        idle: Option<Pin<Box<Sleep>>>,
        // A frame arrived since the timer was last set.
        moved: bool,
    }

    impl PinnedDrop for UpstreamBody {
        fn drop(this: Pin<&mut Self>) {
            let this = this.project();
            // A body nobody polled because it was empty from the start (HEAD, 204, 304,
            // `Content-Length: 0`) still leaves a reusable connection.
            if this.inner.is_end_stream() {
                if let Some(lease) = this.lease.take() {
                    lease.give_back();
                }
            }
            // Otherwise the lease is dropped with the body and hyper closes the connection.
        }
    }
}

impl std::fmt::Debug for UpstreamBody {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("UpstreamBody")
            .field("pooled", &self.lease.is_some())
            .finish_non_exhaustive()
    }
}

impl UpstreamBody {
    pub(super) fn new(inner: Incoming, lease: Option<Lease>) -> Self {
        UpstreamBody {
            inner,
            lease,
            idle_limit: None,
            idle: None,
            moved: false,
        }
    }

    /// Fails the body when the app pauses longer than `limit` between two frames.
    pub fn with_idle_limit(mut self, limit: Duration) -> Self {
        self.idle_limit = Some(limit);
        self
    }
}

impl Body for UpstreamBody {
    type Data = Bytes;
    type Error = UpstreamBodyError;

    fn poll_frame(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, UpstreamBodyError>>> {
        let mut this = self.project();
        let polled = this.inner.as_mut().poll_frame(cx);
        if let (Poll::Pending, Some(limit)) = (&polled, *this.idle_limit) {
            let deadline = crate::ops::clock::tokio_instant() + limit;
            let idle = this
                .idle
                .get_or_insert_with(|| Box::pin(tokio::time::sleep_until(deadline)));
            if std::mem::take(this.moved) {
                idle.as_mut().reset(deadline);
            }
            if idle.as_mut().poll(cx).is_ready() {
                return Poll::Ready(Some(Err(UpstreamBodyError::Stalled(limit))));
            }
            return Poll::Pending;
        }
        *this.moved = true;
        let polled = polled.map(|frame| frame.map(|f| f.map_err(UpstreamBodyError::from)));
        let ended = match &polled {
            Poll::Ready(None) => true,
            Poll::Ready(Some(Ok(_))) => this.inner.is_end_stream(),
            // An error leaves the connection unusable: the lease is dropped with the body.
            Poll::Ready(Some(Err(_))) | Poll::Pending => false,
        };
        if ended {
            if let Some(lease) = this.lease.take() {
                lease.give_back();
            }
        }
        polled
    }

    fn is_end_stream(&self) -> bool {
        self.inner.is_end_stream()
    }

    fn size_hint(&self) -> SizeHint {
        self.inner.size_hint()
    }
}
