//! Which HTTP a plain connection speaks: HTTP/2 with prior knowledge when its first bytes are
//! the HTTP/2 preface, else HTTP/1.1.
//!
//! The first bytes are read (not peeked) and handed back in front of the rest by [`Prefixed`].
//! A peek cannot tell "no more bytes yet" from "the peer closed after these": it returns the
//! same bytes at once in both cases, so a client that sent half the preface and closed made
//! the wait for more spin until the header timeout. A read returns 0 at the close and waits
//! (woken only by new bytes, the close or an error) otherwise.

use std::io;
use std::pin::Pin;
use std::task::{Context, Poll};
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, ReadBuf};
use tokio::time::Instant;

/// The connection preface of HTTP/2 with prior knowledge (RFC 9113 §3.4).
const PREFACE: &[u8; 24] = b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n";

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Version {
    Http1,
    Http2,
}

/// What a plain connection's first bytes say: HTTP/2 once they hold the whole preface,
/// HTTP/1.1 as soon as they differ from it, nothing yet while they are a part of it.
fn version_of(first: &[u8]) -> Option<Version> {
    let n = first.len().min(PREFACE.len());
    if first.get(..n) != PREFACE.get(..n) {
        Some(Version::Http1)
    } else if n == PREFACE.len() {
        Some(Version::Http2)
    } else {
        None
    }
}

/// Reads a plain connection's first bytes until they tell its version (at most the preface's
/// 24 bytes), and returns it with the connection as it was before the reads. `None`: closed,
/// failed, or not told by `deadline`.
pub async fn sniff<IO: AsyncRead + Unpin>(
    mut io: IO,
    deadline: Instant,
) -> Option<(Version, Prefixed<IO>)> {
    let mut first = [0u8; PREFACE.len()];
    let mut len = 0;
    loop {
        let rest = first.get_mut(len..)?;
        match tokio::time::timeout_at(deadline, io.read(rest)).await {
            Ok(Ok(n)) if n > 0 => len += n,
            // Closed (also half-closed: nothing more will come), failed, or out of time.
            _ => return None,
        }
        let read = first.get(..len)?;
        if let Some(version) = version_of(read) {
            return Some((version, Prefixed::new(io, first, len)));
        }
    }
}

pin_project_lite::pin_project! {
    /// A connection whose first bytes were read already: its reads return them first. The
    /// read that returns them also takes what the connection holds behind them, so that the
    /// reader sees its first read as one, not as a short read of the prefix (hyper sizes its
    /// read buffer by the reads it sees).
    pub struct Prefixed<IO> {
        #[pin]
        io: IO,
        first: [u8; PREFACE.len()],
        start: u8,
        end: u8,
    }
}

impl<IO> Prefixed<IO> {
    fn new(io: IO, first: [u8; PREFACE.len()], len: usize) -> Self {
        Prefixed {
            io,
            first,
            start: 0,
            // At most the preface's 24 bytes.
            end: u8::try_from(len.min(PREFACE.len())).unwrap_or(0),
        }
    }
}

impl<IO: AsyncRead> AsyncRead for Prefixed<IO> {
    fn poll_read(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        let this = self.project();
        let (start, end) = (usize::from(*this.start), usize::from(*this.end));
        if start >= end {
            return this.io.poll_read(cx, buf);
        }
        let n = (end - start).min(buf.remaining());
        buf.put_slice(this.first.get(start..start + n).unwrap_or_default());
        *this.start = u8::try_from(start + n).unwrap_or(u8::MAX);
        if start + n == end && buf.remaining() > 0 {
            // Whatever the connection has now joins this read. Waiting, an error or the close
            // are for the next read to find: this one has bytes to return already.
            let _ = this.io.poll_read(cx, buf);
        }
        Poll::Ready(Ok(()))
    }
}

impl<IO: AsyncWrite> AsyncWrite for Prefixed<IO> {
    fn poll_write(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        self.project().io.poll_write(cx, buf)
    }

    fn poll_write_vectored(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[io::IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        self.project().io.poll_write_vectored(cx, bufs)
    }

    fn is_write_vectored(&self) -> bool {
        self.io.is_write_vectored()
    }

    fn poll_flush(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        self.project().io.poll_flush(cx)
    }

    fn poll_shutdown(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        self.project().io.poll_shutdown(cx)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;
    use tokio::io::AsyncWriteExt;

    #[test]
    fn the_whole_preface_is_http2_and_any_difference_is_http1() {
        assert_eq!(version_of(PREFACE), Some(Version::Http2));
        let mut more = PREFACE.to_vec();
        more.extend_from_slice(b"\x00\x00\x00\x04");
        assert_eq!(version_of(&more), Some(Version::Http2));
        for partial in [&b""[..], b"P", b"PR", b"PRI", b"PRI * HTTP/2.0\r\n"] {
            assert_eq!(version_of(partial), None, "{partial:?}");
        }
        assert_eq!(version_of(&PREFACE[..23]), None);
        for other in [
            &b"G"[..],
            b"PO",
            b"POST / HTTP/1.1\r\n",
            b"PROPFIND /dav HTTP/1.1\r\n",
            b"PRI * HTTP/1.1\r\n",
            b"PRI * HTTP/2.0\r\n\r\nXM",
        ] {
            assert_eq!(version_of(other), Some(Version::Http1), "{other:?}");
        }
    }

    fn later(ms: u64) -> Instant {
        crate::ops::clock::tokio_instant() + Duration::from_millis(ms)
    }

    /// What a reader with a buffer of `size` reads from `io` until its end, read by read.
    async fn reads<IO: AsyncRead + Unpin>(mut io: IO, size: usize) -> Vec<Vec<u8>> {
        let mut out = Vec::new();
        let mut buf = vec![0u8; size];
        loop {
            match io.read(&mut buf).await.unwrap() {
                0 => return out,
                n => out.push(buf[..n].to_vec()),
            }
        }
    }

    #[tokio::test]
    async fn the_first_read_returns_the_sniffed_bytes_and_what_follows_them_at_once() {
        let (mut client, server) = tokio::io::duplex(1024);
        client
            .write_all(b"GET / HTTP/1.1\r\nHost: a\r\n\r\n")
            .await
            .unwrap();
        drop(client);
        let (version, io) = sniff(server, later(1000)).await.unwrap();
        assert_eq!(version, Version::Http1);
        assert_eq!(
            reads(io, 1024).await,
            [b"GET / HTTP/1.1\r\nHost: a\r\n\r\n".to_vec()]
        );
    }

    #[tokio::test]
    async fn a_preface_split_across_writes_is_http2_and_is_handed_on_whole() {
        let (mut client, server) = tokio::io::duplex(1024);
        let sniffing = tokio::spawn(sniff(server, later(5000)));
        for part in [&PREFACE[..1], &PREFACE[1..16], &PREFACE[16..]] {
            client.write_all(part).await.unwrap();
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
        client.write_all(b"frames").await.unwrap();
        drop(client);
        let (version, io) = sniffing.await.unwrap().unwrap();
        assert_eq!(version, Version::Http2);
        let mut whole = PREFACE.to_vec();
        whole.extend_from_slice(b"frames");
        assert_eq!(reads(io, 1024).await.concat(), whole);
    }

    #[tokio::test]
    async fn a_small_reader_gets_the_prefix_in_pieces() {
        let (mut client, server) = tokio::io::duplex(1024);
        client.write_all(b"GET /x HTTP/1.1\r\n").await.unwrap();
        drop(client);
        let (_, io) = sniff(server, later(1000)).await.unwrap();
        let got = reads(io, 5).await;
        assert!(got.iter().all(|r| r.len() <= 5), "{got:?}");
        assert_eq!(got.concat(), b"GET /x HTTP/1.1\r\n");
    }

    #[tokio::test]
    async fn a_close_in_the_preface_ends_the_sniff_at_once() {
        for sent in [&b""[..], b"P", b"PRI * HTTP/2.0\r\n"] {
            let (mut client, server) = tokio::io::duplex(1024);
            client.write_all(sent).await.unwrap();
            client.shutdown().await.unwrap();
            let started = crate::ops::clock::instant();
            assert!(sniff(server, later(10_000)).await.is_none(), "{sent:?}");
            assert!(started.elapsed() < Duration::from_secs(1));
        }
    }

    #[tokio::test]
    async fn silence_in_the_preface_ends_the_sniff_at_the_deadline() {
        let (mut client, server) = tokio::io::duplex(1024);
        client.write_all(b"PRI").await.unwrap();
        let started = crate::ops::clock::instant();
        assert!(sniff(server, later(200)).await.is_none());
        assert!(started.elapsed() >= Duration::from_millis(190));
        drop(client);
    }
}
