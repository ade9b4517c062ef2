//! Writes to a client that does not read are given up after `send_timeout`: without this a
//! client could hold a connection, its upstream body and its upstream connection open for as
//! long as it likes by reading nothing.

use pin_project_lite::pin_project;
use std::future::Future;
use std::io;
use std::pin::Pin;
use std::task::{Context, Poll};
use std::time::Duration;
use tokio::io::{AsyncRead, AsyncWrite};
use tokio::time::{Instant, Sleep};

pin_project! {
    /// A client connection whose writes must make progress within `limit` (`send_timeout`):
    /// a write or flush that has to wait arms a timer, any byte written disarms it, and a wait
    /// that outlasts it fails with [`io::ErrorKind::TimedOut`], so hyper drops the connection
    /// (and with it the upstream body and its connection). A write that completes at once
    /// costs a branch; the timer is allocated at the first wait and reused after.
    pub struct SendTimeout<IO> {
        #[pin]
        io: IO,
        timer: Option<Pin<Box<Sleep>>>,
        armed: bool,
        limit: Duration,
    }
}

impl<IO> SendTimeout<IO> {
    pub fn new(io: IO, limit: Duration) -> Self {
        SendTimeout {
            io,
            timer: None,
            armed: false,
            limit,
        }
    }
}

/// What a write (or flush) that returned `polled` becomes: progress (bytes taken, or a flush
/// with nothing left to send) disarms the timer, a wait arms it (at the first wait since the
/// last progress) and fails once it has fired. hyper, h2 and `copy_bidirectional` flush only
/// once their own buffered bytes were taken, so a plain socket's no-op flush does not hide a
/// stalled write.
#[inline]
fn guard<T>(
    polled: Poll<io::Result<T>>,
    progressed: impl FnOnce(&T) -> bool,
    timer: &mut Option<Pin<Box<Sleep>>>,
    armed: &mut bool,
    limit: Duration,
    cx: &mut Context<'_>,
) -> Poll<io::Result<T>> {
    match polled {
        Poll::Pending => {}
        Poll::Ready(Ok(done)) => {
            if progressed(&done) {
                *armed = false;
            }
            return Poll::Ready(Ok(done));
        }
        Poll::Ready(Err(error)) => return Poll::Ready(Err(error)),
    }
    let timer = match timer {
        Some(timer) if *armed => timer,
        Some(timer) => {
            timer
                .as_mut()
                .reset(later(crate::ops::clock::tokio_instant(), limit));
            timer
        }
        None => timer.insert(Box::pin(tokio::time::sleep_until(later(
            crate::ops::clock::tokio_instant(),
            limit,
        )))),
    };
    *armed = true;
    // Polled on every wait, so that it wakes the task when it fires.
    match timer.as_mut().poll(cx) {
        Poll::Ready(()) => Poll::Ready(Err(io::Error::new(
            io::ErrorKind::TimedOut,
            "the client read nothing within the send timeout",
        ))),
        Poll::Pending => Poll::Pending,
    }
}

impl<IO: AsyncRead> AsyncRead for SendTimeout<IO> {
    fn poll_read(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut tokio::io::ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        self.project().io.poll_read(cx, buf)
    }
}

impl<IO: AsyncWrite> AsyncWrite for SendTimeout<IO> {
    fn poll_write(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        let this = self.project();
        let polled = this.io.poll_write(cx, buf);
        guard(polled, |n| *n > 0, this.timer, this.armed, *this.limit, cx)
    }

    fn poll_write_vectored(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[io::IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        let this = self.project();
        let polled = this.io.poll_write_vectored(cx, bufs);
        guard(polled, |n| *n > 0, this.timer, this.armed, *this.limit, cx)
    }

    fn is_write_vectored(&self) -> bool {
        // hyper gathers its writes into one buffer unless the connection says it takes slices.
        self.io.is_write_vectored()
    }

    fn poll_flush(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        let this = self.project();
        let polled = this.io.poll_flush(cx);
        guard(polled, |()| true, this.timer, this.armed, *this.limit, cx)
    }

    fn poll_shutdown(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        // TLS sends its close_notify here: a client that reads nothing does not hold it either.
        let this = self.project();
        let polled = this.io.poll_shutdown(cx);
        guard(polled, |()| true, this.timer, this.armed, *this.limit, cx)
    }
}

/// `base + wait`; a wait too long to represent is a year (longer than any limit).
pub(super) fn later(base: Instant, wait: Duration) -> Instant {
    base.checked_add(wait)
        .unwrap_or_else(|| base + Duration::from_secs(365 * 86_400))
}

#[cfg(test)]
mod tests {
    use super::*;
    use tokio::net::TcpStream;

    /// Writes `total` bytes through a send timeout of `limit` to a peer that reads `read`
    /// bytes every `every` (`None`: never reads). A 4 KiB pipe stands in for the socket.
    async fn send(
        total: usize,
        limit: Duration,
        read: Option<(usize, Duration)>,
    ) -> (io::Result<()>, Duration) {
        use tokio::io::{AsyncReadExt, AsyncWriteExt};
        let (ours, mut peer) = tokio::io::duplex(4096);
        let reader = tokio::spawn(async move {
            let Some((n, every)) = read else {
                // Holds its end open, reading nothing.
                tokio::time::sleep(Duration::from_secs(30)).await;
                return;
            };
            let mut buf = vec![0u8; n];
            loop {
                tokio::time::sleep(every).await;
                if matches!(peer.read(&mut buf).await, Ok(0) | Err(_)) {
                    return;
                }
            }
        });
        let mut io = SendTimeout::new(ours, limit);
        let started = crate::ops::clock::tokio_instant();
        let result = async {
            io.write_all(&vec![b'x'; total]).await?;
            io.flush().await
        }
        .await;
        reader.abort();
        (result, started.elapsed())
    }

    #[tokio::test]
    async fn a_peer_that_reads_nothing_is_timed_out_at_the_limit() {
        let (result, after) = send(64 * 1024, ms(200), None).await;
        let error = result.unwrap_err();
        assert_eq!(error.kind(), io::ErrorKind::TimedOut, "{error}");
        assert!(after >= ms(200), "{after:?}");
        assert!(after < ms(2000), "{after:?}");
    }

    #[tokio::test]
    async fn a_slow_reader_that_keeps_reading_is_never_timed_out() {
        // 2 KiB every 50 ms: 64 KiB take over 1.5 s, three times the limit, in many waits of
        // which none is near it (each one arms the timer afresh).
        let (result, after) = send(64 * 1024, ms(500), Some((2048, ms(50)))).await;
        result.unwrap();
        assert!(after > ms(1500), "{after:?}");
    }

    #[tokio::test]
    async fn writes_that_complete_at_once_make_no_timer() {
        use tokio::io::AsyncWriteExt;
        let (ours, _peer) = tokio::io::duplex(64 * 1024);
        let mut io = SendTimeout::new(ours, ms(10));
        for _ in 0..16 {
            io.write_all(&[b'x'; 1024]).await.unwrap();
            io.flush().await.unwrap();
        }
        assert!(io.timer.is_none() && !io.armed);
    }

    #[tokio::test]
    async fn vectored_writes_are_announced_as_the_socket_announces_them() {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let tcp = TcpStream::connect(listener.local_addr().unwrap())
            .await
            .unwrap();
        assert!(tcp.is_write_vectored());
        assert!(SendTimeout::new(tcp, LIMIT).is_write_vectored());
        let (pipe, _peer) = tokio::io::duplex(64);
        let vectored = pipe.is_write_vectored();
        assert_eq!(SendTimeout::new(pipe, LIMIT).is_write_vectored(), vectored);
    }

    const LIMIT: Duration = Duration::from_secs(1);

    fn ms(n: u64) -> Duration {
        Duration::from_millis(n)
    }
}
