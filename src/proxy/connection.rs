//! One client connection after it was accepted: the HTTP version that serves it, its limits,
//! and how it is drained at shutdown.
//!
//! Each version gets hyper's own connection type rather than hyper-util's auto-detecting one:
//! that one hands hyper the bytes it read to detect the version as a separate short read,
//! which makes hyper's read buffer grow to 16 KiB on every connection, and its future is
//! sized for HTTP/1 and HTTP/2 at once. TLS connections are told the version by ALPN; plain
//! ones by a peek at their first bytes, which consumes nothing.
//!
//! Everything that waits here has a limit: the version's first bytes and the first request
//! head (`header_read_timeout`, from accept), later HTTP/1 heads and idle keep-alive (hyper,
//! the same limit), HTTP/2 spells without a request in flight (the same limit, [`Watched`]),
//! bodies the gateway reads itself (`body_read_timeout` and `body_min_rate`, through
//! [`body::with_pace`]), and writes to a client that does not read (`send_timeout`,
//! [`SendTimeout`]).

use super::body::{self, BodyPace, ResponseBody};
use super::handler::{self, Connection};
use crate::config::Limits;
use http::{Request, Response};
use http_body::{Body, Frame, SizeHint};
use hyper::body::Incoming;
use hyper::service::Service;
use hyper_util::rt::{TokioExecutor, TokioIo, TokioTimer};
use pin_project_lite::pin_project;
use std::convert::Infallible;
use std::future::Future;
use std::io;
use std::pin::Pin;
use std::sync::atomic::{AtomicBool, AtomicU64, AtomicUsize, Ordering};
use std::sync::Arc;
use std::task::{Context, Poll};
use std::time::Duration;
use tokio::io::{AsyncRead, AsyncWrite, Interest};
use tokio::net::TcpStream;
use tokio::sync::futures::OwnedNotified;
use tokio::sync::Notify;
use tokio::time::{Instant, Sleep};

/// Announces shutdown to every connection and accept loop. A connection reads the flag on each
/// wake-up (one atomic load) instead of polling a channel alongside every request.
pub struct Shutdown {
    begun: AtomicBool,
    notify: Arc<Notify>,
}

impl Shutdown {
    pub fn new() -> Arc<Self> {
        Arc::new(Shutdown {
            begun: AtomicBool::new(false),
            notify: Arc::new(Notify::new()),
        })
    }

    pub fn begin(&self) {
        // The flag first: whoever is woken must see it.
        self.begun.store(true, Ordering::Release);
        self.notify.notify_waiters();
    }

    pub fn has_begun(&self) -> bool {
        self.begun.load(Ordering::Acquire)
    }

    /// Resolves once shutdown has begun.
    pub async fn wait(&self) {
        let notified = self.notify.notified();
        tokio::pin!(notified);
        // Registered before the flag is read, so a `begin` in between is not missed.
        notified.as_mut().enable();
        if self.has_begun() {
            return;
        }
        notified.await;
    }
}

pin_project! {
    /// A connection that starts its graceful shutdown (finish the requests in flight, accept
    /// no more) once `Shutdown` begins.
    struct Drained<C, D> {
        #[pin]
        conn: C,
        #[pin]
        notified: OwnedNotified,
        drain: Option<D>,
        shutdown: Arc<Shutdown>,
        registered: bool,
    }
}

impl<C: Future, D: FnOnce(Pin<&mut C>)> Future for Drained<C, D> {
    type Output = C::Output;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<C::Output> {
        let mut this = self.project();
        if this.drain.is_some() {
            // The notification is polled once, to register this task's waker; afterwards the
            // flag says whether it fired.
            let mut begun = this.shutdown.has_begun();
            if !begun && !*this.registered {
                *this.registered = true;
                begun = this.notified.as_mut().poll(cx).is_ready();
            }
            if begun {
                if let Some(drain) = this.drain.take() {
                    drain(this.conn.as_mut());
                }
            }
        }
        this.conn.poll(cx)
    }
}

fn drained<C, D>(conn: C, shutdown: &Arc<Shutdown>, drain: D) -> Drained<C, D>
where
    C: Future,
    D: FnOnce(Pin<&mut C>),
{
    Drained {
        conn,
        notified: shutdown.notify.clone().notified_owned(),
        drain: Some(drain),
        shutdown: shutdown.clone(),
        registered: false,
    }
}

/// The gateway as hyper sees it on one connection.
#[derive(Clone)]
struct Gateway {
    connection: Arc<Connection>,
    activity: Arc<Activity>,
    pace: BodyPace,
}

/// Boxed so that an idle keep-alive connection does not carry the request future's space
/// inline; it is allocated only while a request is in flight.
type Handling = Pin<Box<dyn Future<Output = Result<Response<Tracked>, Infallible>> + Send>>;

impl Service<Request<Incoming>> for Gateway {
    type Response = Response<Tracked>;
    type Error = Infallible;
    type Future = Handling;

    fn call(&self, request: Request<Incoming>) -> Handling {
        let in_flight = InFlight::new(&self.activity);
        let handling =
            body::with_pace(self.pace, handler::handle(self.connection.clone(), request));
        Box::pin(async move {
            let response = handling.await?;
            Ok(response.map(|body| Tracked {
                body,
                _in_flight: in_flight,
            }))
        })
    }
}

/// What a connection's watchdog learns of its requests from the service that handles them.
struct Activity {
    opened: Instant,
    /// Requests whose head has arrived and whose response has not ended.
    in_flight: AtomicUsize,
    /// When the last response ended, in milliseconds since `opened` (`u64::MAX`: none yet).
    last_end: AtomicU64,
}

impl Activity {
    fn new(opened: Instant) -> Arc<Self> {
        Arc::new(Activity {
            opened,
            in_flight: AtomicUsize::new(0),
            last_end: AtomicU64::new(u64::MAX),
        })
    }

    fn in_flight(&self) -> usize {
        self.in_flight.load(Ordering::Acquire)
    }

    fn last_end(&self) -> Option<Duration> {
        match self.last_end.load(Ordering::Acquire) {
            u64::MAX => None,
            ms => Some(Duration::from_millis(ms)),
        }
    }

    /// Whether a request head has arrived yet.
    fn used(&self) -> bool {
        self.in_flight() > 0 || self.last_end().is_some()
    }

    /// The instant `since` after the connection opened.
    fn at(&self, since: Duration) -> Instant {
        later(self.opened, since)
    }
}

/// `base + wait`; a wait too long to represent is a year (longer than any limit).
fn later(base: Instant, wait: Duration) -> Instant {
    base.checked_add(wait)
        .unwrap_or_else(|| base + Duration::from_secs(365 * 86_400))
}

/// One request counted as in flight, from its head until its response has ended (or was
/// given up).
struct InFlight(Arc<Activity>);

impl InFlight {
    fn new(activity: &Arc<Activity>) -> Self {
        activity.in_flight.fetch_add(1, Ordering::AcqRel);
        InFlight(activity.clone())
    }
}

impl Drop for InFlight {
    fn drop(&mut self) {
        let ms = u64::try_from(self.0.opened.elapsed().as_millis()).unwrap_or(u64::MAX - 1);
        // The end first: a watchdog that sees nothing in flight must see when it ended.
        self.0.last_end.fetch_max(ms, Ordering::AcqRel);
        self.0.in_flight.fetch_sub(1, Ordering::AcqRel);
    }
}

pin_project! {
    /// A response body that keeps its request counted as in flight until hyper is done
    /// with it (sent in full, or dropped with its stream or connection).
    pub struct Tracked {
        #[pin]
        body: ResponseBody,
        _in_flight: InFlight,
    }
}

impl Body for Tracked {
    type Data = bytes::Bytes;
    type Error = super::upstream::UpstreamBodyError;

    fn poll_frame(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<bytes::Bytes>, Self::Error>>> {
        self.project().body.poll_frame(cx)
    }

    fn is_end_stream(&self) -> bool {
        self.body.is_end_stream()
    }

    fn size_hint(&self) -> SizeHint {
        self.body.size_hint()
    }
}

/// What a connection's watchdog guards.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Watch {
    /// HTTP/1: the first request head. Later heads and idle keep-alive are hyper's
    /// (`header_read_timeout`), which starts only once the version is known.
    FirstHead,
    /// HTTP/2: a request head whenever none is in flight (hyper has no such limit).
    Idle,
    /// HTTP/2 after an idle spell: told to go away, given one more spell to do so.
    Closing,
}

/// What the watchdog does when its timer fires `now` after the connection opened.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Next {
    /// Drop the connection.
    Close,
    /// Start a graceful close (HTTP/2 GOAWAY); drop it if still open at `until`.
    GoAway { until: Duration },
    /// Look again at `at`.
    Check { at: Duration },
    /// Nothing more to guard.
    Disarm,
}

fn next(
    watch: Watch,
    in_flight: usize,
    last_end: Option<Duration>,
    now: Duration,
    limit: Duration,
) -> Next {
    let busy = in_flight > 0;
    match (watch, last_end) {
        (Watch::FirstHead, _) if busy || last_end.is_some() => Next::Disarm,
        // No request head within the limit: nobody waits for anything on this connection.
        (Watch::FirstHead | Watch::Idle, None) if !busy => Next::Close,
        (Watch::Idle | Watch::Closing, _) if busy => Next::Check {
            at: now.saturating_add(limit),
        },
        (Watch::Idle, Some(end)) if now < end.saturating_add(limit) => Next::Check {
            at: end.saturating_add(limit),
        },
        (Watch::Idle, _) => Next::GoAway {
            until: now.saturating_add(limit),
        },
        (Watch::FirstHead | Watch::Closing, _) => Next::Close,
    }
}

pin_project! {
    /// A connection closed when it has no request head to show within `limit` (see
    /// [`Watch`]). Its output is `None` when the watchdog closed it.
    struct Watched<C> {
        #[pin]
        conn: C,
        // Boxed: an HTTP/1 connection frees it with its first request.
        timer: Option<Pin<Box<Sleep>>>,
        activity: Arc<Activity>,
        limit: Duration,
        watch: Watch,
        graceful: fn(Pin<&mut C>),
    }
}

impl<C> Watched<C> {
    fn graceful_shutdown(self: Pin<&mut Self>) {
        let this = self.project();
        (this.graceful)(this.conn);
    }
}

impl<C: Future> Future for Watched<C> {
    type Output = Option<C::Output>;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<C::Output>> {
        let mut this = self.project();
        if let Poll::Ready(output) = this.conn.as_mut().poll(cx) {
            return Poll::Ready(Some(output));
        }
        if *this.watch == Watch::FirstHead && this.timer.is_some() && this.activity.used() {
            *this.timer = None;
        }
        loop {
            let Some(timer) = this.timer.as_mut() else {
                return Poll::Pending;
            };
            if timer.as_mut().poll(cx).is_pending() {
                return Poll::Pending;
            }
            let activity = &this.activity;
            let now = activity.opened.elapsed();
            match next(
                *this.watch,
                activity.in_flight(),
                activity.last_end(),
                now,
                *this.limit,
            ) {
                Next::Close => return Poll::Ready(None),
                Next::Disarm => *this.timer = None,
                Next::Check { at } => timer.as_mut().reset(activity.at(at)),
                Next::GoAway { until } => {
                    *this.watch = Watch::Closing;
                    timer.as_mut().reset(activity.at(until));
                    (this.graceful)(this.conn.as_mut());
                    // Polled at once, so that it sends its GOAWAY (or is already done).
                    if let Poll::Ready(output) = this.conn.as_mut().poll(cx) {
                        return Poll::Ready(Some(output));
                    }
                }
            }
        }
    }
}

fn watched<C>(
    conn: C,
    activity: Arc<Activity>,
    limit: Duration,
    watch: Watch,
    graceful: fn(Pin<&mut C>),
) -> Watched<C> {
    Watched {
        conn,
        timer: Some(Box::pin(tokio::time::sleep_until(activity.at(limit)))),
        activity,
        limit,
        watch,
        graceful,
    }
}

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
            timer.as_mut().reset(later(Instant::now(), limit));
            timer
        }
        None => timer.insert(Box::pin(tokio::time::sleep_until(later(
            Instant::now(),
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

fn http1(limits: &Limits) -> hyper::server::conn::http1::Builder {
    let mut builder = hyper::server::conn::http1::Builder::new();
    builder
        .timer(TokioTimer::new())
        .header_read_timeout(limits.header_read_timeout)
        // Our own check answers with a page; hyper's hard limits sit above it.
        .max_buf_size((limits.max_header_bytes * 2).max(16 * 1024))
        .max_headers(limits.max_headers * 2);
    builder
}

fn http2(limits: &Limits) -> hyper::server::conn::http2::Builder<TokioExecutor> {
    let mut builder = hyper::server::conn::http2::Builder::new(TokioExecutor::new());
    builder
        .timer(TokioTimer::new())
        .max_header_list_size(u32::try_from(limits.max_header_bytes * 2).unwrap_or(u32::MAX))
        // A peer that does not answer a ping in the time a request head must arrive in is
        // gone. (Pings say nothing about requests: [`Watched`] closes a connection without.)
        .keep_alive_interval(Some(Duration::from_secs(30)))
        .keep_alive_timeout(limits.header_read_timeout);
    builder
}

fn log_end<E: std::fmt::Display>(result: Option<Result<(), E>>, connection: &Connection) {
    match result {
        Some(Ok(())) => {}
        Some(Err(error)) => {
            tracing::debug!(peer = %connection.peer, %error, "connection ended with an error")
        }
        None => tracing::debug!(
            peer = %connection.peer,
            "no request within the header timeout: connection closed"
        ),
    }
}

/// Serves HTTP/1.1 (with upgrades, for WebSocket). `opened`: when the wait for the first
/// request head began (accept, or the end of the TLS handshake).
pub async fn serve_http1<IO>(
    io: IO,
    connection: Arc<Connection>,
    limits: &Limits,
    shutdown: &Arc<Shutdown>,
    opened: Instant,
) where
    IO: AsyncRead + AsyncWrite + Unpin + Send + 'static,
{
    let activity = Activity::new(opened);
    let gateway = Gateway {
        connection: connection.clone(),
        activity: activity.clone(),
        pace: BodyPace::of(limits),
    };
    let io = TokioIo::new(SendTimeout::new(io, limits.send_timeout));
    let conn = http1(limits).serve_connection(io, gateway).with_upgrades();
    let conn = watched(
        conn,
        activity,
        limits.header_read_timeout,
        Watch::FirstHead,
        |c| c.graceful_shutdown(),
    );
    let result = drained(conn, shutdown, |c| c.graceful_shutdown()).await;
    log_end(result, &connection);
}

/// Serves HTTP/2. `opened` as for [`serve_http1`].
pub async fn serve_http2<IO>(
    io: IO,
    connection: Arc<Connection>,
    limits: &Limits,
    shutdown: &Arc<Shutdown>,
    opened: Instant,
) where
    IO: AsyncRead + AsyncWrite + Unpin + Send + 'static,
{
    let activity = Activity::new(opened);
    let gateway = Gateway {
        connection: connection.clone(),
        activity: activity.clone(),
        pace: BodyPace::of(limits),
    };
    let io = TokioIo::new(SendTimeout::new(io, limits.send_timeout));
    let conn = http2(limits).serve_connection(io, gateway);
    let conn = watched(
        conn,
        activity,
        limits.header_read_timeout,
        Watch::Idle,
        |c| c.graceful_shutdown(),
    );
    let result = drained(conn, shutdown, |c| c.graceful_shutdown()).await;
    log_end(result, &connection);
}

/// The connection preface of HTTP/2 with prior knowledge (RFC 9113 §3.4).
const PREFACE: &[u8; 24] = b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n";

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Version {
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

/// The longest pause between two looks at a connection whose first bytes do not tell its
/// version yet.
const MAX_PAUSE: Duration = Duration::from_millis(100);

/// Peeks (consuming nothing) at a plain connection's first bytes until they tell its version.
/// `None`: closed, failed, or not told by `deadline`.
async fn sniff(stream: &TcpStream, deadline: Instant) -> Option<Version> {
    let mut first = [0u8; PREFACE.len()];
    let mut pause = Duration::from_millis(2);
    loop {
        let peeked = tokio::time::timeout_at(deadline, stream.peek(&mut first)).await;
        let n = match peeked {
            Ok(Ok(n)) if n > 0 => n,
            _ => return None,
        };
        if let Some(version) = version_of(first.get(..n).unwrap_or_default()) {
            return Some(version);
        }
        if Instant::now() >= deadline {
            return None;
        }
        // A peek returns the same bytes at once until more arrive. Forget the readiness it
        // used (unless more bytes came meanwhile) so that `readable` waits for new ones; the
        // pause is the bound if some came just between the peek and this.
        let _ = stream.try_io(Interest::READABLE, || {
            Err::<(), _>(std::io::ErrorKind::WouldBlock.into())
        });
        let wake = deadline.min(later(Instant::now(), pause));
        let _ = tokio::time::timeout_at(wake, stream.readable()).await;
        pause = (pause * 2).min(MAX_PAUSE);
    }
}

/// A plain connection: HTTP/2 with prior knowledge when its first bytes are the HTTP/2
/// preface, else HTTP/1.1. Telling them apart is part of reading the first request head: a
/// client that stops half-way through the preface is closed at the header timeout, and one
/// that sent only `P` so far is neither sent HTTP/2 SETTINGS nor cut off early.
pub async fn serve_plain(
    stream: TcpStream,
    connection: Arc<Connection>,
    limits: &Limits,
    shutdown: &Arc<Shutdown>,
) {
    let opened = Instant::now();
    match sniff(&stream, later(opened, limits.header_read_timeout)).await {
        Some(Version::Http2) => {
            // Rare: boxed so that the common connection's task is not sized for it.
            Box::pin(serve_http2(stream, connection, limits, shutdown, opened)).await
        }
        Some(Version::Http1) => serve_http1(stream, connection, limits, shutdown, opened).await,
        // Closed, failed or silent before its version was told: nothing to answer.
        None => {
            tracing::debug!(peer = %connection.peer, "no request head within the header timeout: connection closed")
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

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
        let started = Instant::now();
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

    #[test]
    fn a_connection_without_a_first_request_head_is_closed() {
        for watch in [Watch::FirstHead, Watch::Idle] {
            assert_eq!(next(watch, 0, None, LIMIT, LIMIT), Next::Close);
        }
    }

    #[test]
    fn http1_is_left_to_hyper_after_its_first_request_head() {
        assert_eq!(next(Watch::FirstHead, 1, None, LIMIT, LIMIT), Next::Disarm);
        assert_eq!(
            next(Watch::FirstHead, 0, Some(ms(10)), LIMIT, LIMIT),
            Next::Disarm
        );
    }

    #[test]
    fn http2_is_closed_after_an_idle_spell_of_the_limit() {
        // Busy: look again a whole limit later.
        assert_eq!(
            next(Watch::Idle, 2, Some(ms(900)), LIMIT, LIMIT),
            Next::Check { at: ms(2000) }
        );
        // Idle since 400 ms: not yet.
        assert_eq!(
            next(Watch::Idle, 0, Some(ms(400)), ms(1000), LIMIT),
            Next::Check { at: ms(1400) }
        );
        // Idle for the whole limit: told to go away, dropped a limit later.
        assert_eq!(
            next(Watch::Idle, 0, Some(ms(400)), ms(1400), LIMIT),
            Next::GoAway { until: ms(2400) }
        );
        assert_eq!(
            next(Watch::Closing, 0, Some(ms(400)), ms(2400), LIMIT),
            Next::Close
        );
        // A request still running when the grace ends is let finish.
        assert_eq!(
            next(Watch::Closing, 1, Some(ms(400)), ms(2400), LIMIT),
            Next::Check { at: ms(3400) }
        );
    }
}
