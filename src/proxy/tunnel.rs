//! The bytes of a switched protocol (WebSocket), relayed both ways between the client and the
//! app after the 101.
//!
//! A tunnel is still the client's connection: it keeps its place under `max_connections` (it
//! holds the connection's slot) until it ends, and it ends when either side closes, when nothing
//! has crossed it either way for `tunnel_idle_timeout` (nginx's `proxy_read_timeout` does the
//! same to an idle WebSocket), or when the gateway shuts down.

use super::shutdown::Shutdown;
use hyper::upgrade::OnUpgrade;
use hyper_util::rt::TokioIo;
use std::io;
use std::net::SocketAddr;
use std::pin::Pin;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::task::{Context, Poll};
use std::time::Duration;
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::time::Instant;

/// The two halves of a switch the app accepted, waiting to be relayed.
pub struct Switched {
    pub client: OnUpgrade,
    pub upstream: OnUpgrade,
}

/// Relays `switched` until a side closes, it idles for `idle`, or shutdown begins; `slot`
/// (the connection's place under `max_connections`) is held until then.
pub async fn relay<S>(
    switched: Switched,
    peer: SocketAddr,
    slot: S,
    idle: Duration,
    shutdown: Arc<Shutdown>,
) {
    let _slot = slot;
    let (client, upstream) = match tokio::try_join!(switched.client, switched.upstream) {
        Ok(sides) => sides,
        Err(error) => {
            tracing::debug!(%peer, %error, "protocol switch failed");
            return;
        }
    };
    let opened = crate::ops::clock::tokio_instant();
    // Milliseconds since `opened` when bytes last arrived from either side.
    let last = AtomicU64::new(0);
    let mut client = Active::new(TokioIo::new(client), &last, opened);
    let mut upstream = Active::new(TokioIo::new(upstream), &last, opened);
    let copy = tokio::io::copy_bidirectional(&mut client, &mut upstream);
    tokio::pin!(copy);
    // Fires once per idle limit at most: at its end it looks when bytes last crossed and
    // sets itself to a whole limit after that.
    let timer = tokio::time::sleep_until(opened + idle);
    tokio::pin!(timer);
    loop {
        tokio::select! {
            ended = &mut copy => {
                if let Err(error) = ended {
                    tracing::debug!(%peer, %error, "tunnel ended with an error");
                }
                return;
            }
            () = &mut timer => {
                let quiet_since = opened + Duration::from_millis(last.load(Ordering::Relaxed));
                if quiet_since + idle <= crate::ops::clock::tokio_instant() {
                    tracing::debug!(%peer, "tunnel idle for its limit: closed");
                    return;
                }
                timer.as_mut().reset(quiet_since + idle);
            }
            () = shutdown.wait() => return,
        }
    }
}

pin_project_lite::pin_project! {
    /// One side of a tunnel, noting when bytes last arrived from it.
    struct Active<'a, IO> {
        #[pin]
        io: IO,
        last: &'a AtomicU64,
        opened: Instant,
    }
}

impl<'a, IO> Active<'a, IO> {
    fn new(io: IO, last: &'a AtomicU64, opened: Instant) -> Self {
        Active { io, last, opened }
    }
}

impl<IO: AsyncRead> AsyncRead for Active<'_, IO> {
    fn poll_read(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        let this = self.project();
        let before = buf.filled().len();
        let polled = this.io.poll_read(cx, buf);
        if buf.filled().len() > before {
            let ms = u64::try_from(this.opened.elapsed().as_millis()).unwrap_or(u64::MAX);
            this.last.fetch_max(ms, Ordering::Relaxed);
        }
        polled
    }
}

impl<IO: AsyncWrite> AsyncWrite for Active<'_, IO> {
    fn poll_write(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        self.project().io.poll_write(cx, buf)
    }

    fn poll_flush(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        self.project().io.poll_flush(cx)
    }

    fn poll_shutdown(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        self.project().io.poll_shutdown(cx)
    }
}
