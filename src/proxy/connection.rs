//! One client connection after it was accepted: the HTTP version that serves it, its limits,
//! and how it is drained at shutdown.
//!
//! Each version gets hyper's own connection type rather than hyper-util's auto-detecting one:
//! that one hands hyper the bytes it read to detect the version as a separate short read,
//! which makes hyper's read buffer grow to 16 KiB on every connection, and its future is
//! sized for HTTP/1 and HTTP/2 at once. TLS connections are told the version by ALPN; plain
//! ones by their first bytes ([`sniff`]).
//!
//! Everything that waits here has a limit: the version's first bytes and the first request
//! head (`header_read_timeout`, from accept), later HTTP/1 heads and idle keep-alive (hyper,
//! the same limit), HTTP/2 spells without a request in flight (the same limit, [`Watched`]),
//! bodies the gateway reads itself (`body_read_timeout` and `body_min_rate`, through
//! [`body::with_pace`]), and writes to a client that does not read (`send_timeout`,
//! [`SendTimeout`]).

use super::body::ResponseBody;
use super::handler::{self, Connection};
use super::send_timeout::{later, SendTimeout};
use super::shutdown::Shutdown;
use super::sniff::{self, Version};
use crate::config::Limits;
use crate::wire::collect::{self, BodyPace};
use http::{Request, Response};
use http_body::{Body, Frame, SizeHint};
use hyper::body::Incoming;
use hyper::service::Service;
use hyper_util::rt::{TokioExecutor, TokioIo, TokioTimer};
use pin_project_lite::pin_project;
use std::convert::Infallible;
use std::future::Future;

use std::pin::Pin;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, Weak};
use std::task::{Context, Poll};
use std::time::Duration;
use tokio::io::{AsyncRead, AsyncWrite};
use tokio::net::TcpStream;
use tokio::sync::futures::OwnedNotified;
use tokio::time::{Instant, Sleep};

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
        notified: shutdown.notified_owned(),
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
        let stall = self.activity.watch_stall();
        let handling =
            collect::with_pace(self.pace, handler::handle(self.connection.clone(), request));
        Box::pin(async move {
            let response = handling.await?;
            Ok(response.map(|body| Tracked {
                body,
                in_flight,
                stall,
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
    /// HTTP/2 only: the [`Stall`] of each answer being sent.
    stalls: Option<Mutex<Vec<Weak<Stall>>>>,
}

/// Since when (milliseconds since the connection opened; `u64::MAX`: not) an HTTP/2 answer
/// has held a chunk that hyper took from it and could not send yet. hyper takes the next
/// chunk only once it has sent the last, so a chunk held for long means the client keeps
/// that stream's flow-control window shut: the stream can neither finish nor be noticed by
/// any timer of its own (nobody polls its body meanwhile), and it holds an app connection.
struct Stall(AtomicU64);

impl Activity {
    fn new(opened: Instant, http2: bool) -> Arc<Self> {
        Arc::new(Activity {
            opened,
            in_flight: AtomicUsize::new(0),
            last_end: AtomicU64::new(u64::MAX),
            stalls: http2.then(|| Mutex::new(Vec::new())),
        })
    }

    /// Milliseconds since the connection opened.
    fn now_ms(&self) -> u64 {
        u64::try_from(self.opened.elapsed().as_millis()).unwrap_or(u64::MAX - 1)
    }

    /// A new answer's [`Stall`], watched (HTTP/2 only).
    fn watch_stall(&self) -> Option<Arc<Stall>> {
        let stalls = self.stalls.as_ref()?;
        let stall = Arc::new(Stall(AtomicU64::new(u64::MAX)));
        let mut all = stalls.lock().unwrap_or_else(|e| e.into_inner());
        // Answers that ended leave dead entries: cleared whenever they would double the list.
        if all.len() >= 64 && all.len() == all.capacity() {
            all.retain(|s| s.strong_count() > 0);
        }
        all.push(Arc::downgrade(&stall));
        Some(stall)
    }

    /// How long the longest-held chunk of any answer has waited for the client's window.
    fn longest_stall(&self, now_ms: u64) -> Duration {
        let Some(stalls) = &self.stalls else {
            return Duration::ZERO;
        };
        let mut all = stalls.lock().unwrap_or_else(|e| e.into_inner());
        all.retain(|s| s.strong_count() > 0);
        let since = all
            .iter()
            .filter_map(Weak::upgrade)
            .map(|s| s.0.load(Ordering::Acquire))
            .min()
            .unwrap_or(u64::MAX);
        Duration::from_millis(now_ms.saturating_sub(since))
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
        let ms = self.0.now_ms();
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
        in_flight: InFlight,
        stall: Option<Arc<Stall>>,
    }
}

impl Body for Tracked {
    type Data = bytes::Bytes;
    type Error = super::upstream::UpstreamBodyError;

    fn poll_frame(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<bytes::Bytes>, Self::Error>>> {
        let this = self.project();
        let Some(stall) = this.stall.as_deref() else {
            return this.body.poll_frame(cx);
        };
        // Asked for more: whatever it took before is sent.
        stall.0.store(u64::MAX, Ordering::Release);
        let polled = this.body.poll_frame(cx);
        if let Poll::Ready(Some(Ok(frame))) = &polled {
            if frame.data_ref().is_some_and(|data| !data.is_empty()) {
                stall.0.store(this.in_flight.0.now_ms(), Ordering::Release);
            }
        }
        polled
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
        // Looked at early (for stalls): the first head's limit is still to come.
        (Watch::FirstHead | Watch::Idle, None) if !busy && now < limit => Next::Check { at: limit },
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

/// Why a connection's watchdog closed it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Cut {
    /// No request head within the header timeout.
    NoRequest,
    /// An HTTP/2 answer waited for the client's flow-control window for the send timeout.
    Stalled,
}

pin_project! {
    /// A connection closed when it has no request head to show within `limit` (see
    /// [`Watch`]), or (HTTP/2) when an answer waits for the client's window for `stall_limit`.
    struct Watched<C> {
        #[pin]
        conn: C,
        // Boxed: an HTTP/1 connection frees it with its first request.
        timer: Option<Pin<Box<Sleep>>>,
        activity: Arc<Activity>,
        limit: Duration,
        stall_limit: Duration,
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
    type Output = Result<C::Output, Cut>;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Result<C::Output, Cut>> {
        let mut this = self.project();
        if let Poll::Ready(output) = this.conn.as_mut().poll(cx) {
            return Poll::Ready(Ok(output));
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
            let now_ms = activity.now_ms();
            let now = Duration::from_millis(now_ms);
            if activity.longest_stall(now_ms) >= *this.stall_limit {
                return Poll::Ready(Err(Cut::Stalled));
            }
            match next(
                *this.watch,
                activity.in_flight(),
                activity.last_end(),
                now,
                *this.limit,
            ) {
                Next::Close => return Poll::Ready(Err(Cut::NoRequest)),
                Next::Disarm => *this.timer = None,
                Next::Check { at } => {
                    // Stalls are looked for at least once per their limit.
                    let at = match activity.stalls {
                        Some(_) => at.min(now.saturating_add(*this.stall_limit)),
                        None => at,
                    };
                    timer.as_mut().reset(activity.at(at))
                }
                Next::GoAway { until } => {
                    *this.watch = Watch::Closing;
                    timer.as_mut().reset(activity.at(until));
                    (this.graceful)(this.conn.as_mut());
                    // Polled at once, so that it sends its GOAWAY (or is already done).
                    if let Poll::Ready(output) = this.conn.as_mut().poll(cx) {
                        return Poll::Ready(Ok(output));
                    }
                }
            }
        }
    }
}

fn watched<C>(
    conn: C,
    activity: Arc<Activity>,
    limits: &Limits,
    watch: Watch,
    graceful: fn(Pin<&mut C>),
) -> Watched<C> {
    let limit = limits.header_read_timeout;
    // HTTP/2 looks for stalls at least once per their limit from the start.
    let first = match activity.stalls {
        Some(_) => limit.min(limits.send_timeout),
        None => limit,
    };
    Watched {
        conn,
        timer: Some(Box::pin(tokio::time::sleep_until(activity.at(first)))),
        activity,
        limit,
        stall_limit: limits.send_timeout,
        watch,
        graceful,
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

/// Requests one HTTP/2 connection may have in flight at once (nginx: 128). Each may hold an
/// app connection, so this bounds what one client connection can take from the app.
const HTTP2_MAX_STREAMS: u32 = 100;
/// What one HTTP/2 answer may have queued for a client whose window is shut (hyper: 400 KiB);
/// with [`HTTP2_MAX_STREAMS`] it bounds one connection's queued answers to 6.4 MiB.
const HTTP2_MAX_SEND_BUFFER: usize = 64 * 1024;
/// Streams the client may reset before the gateway has taken them up (the rapid-reset flood,
/// CVE-2023-44487): more, and the connection is told to go away (ENHANCE_YOUR_CALM).
const HTTP2_MAX_EARLY_RESETS: usize = 20;
/// Streams the gateway may have to reset for the client's protocol errors before it gives up
/// on the connection (the same flood, made by malformed frames).
const HTTP2_MAX_ERROR_RESETS: usize = 256;

/// HTTP/2 with every limit stated here, not left to the library's defaults. h2 itself caps
/// CONTINUATION frames by the header list size (the CONTINUATION flood, CVE-2024-27316);
/// `tests/parked_clients.rs` floods both ways.
fn http2(limits: &Limits) -> hyper::server::conn::http2::Builder<TokioExecutor> {
    let mut builder = hyper::server::conn::http2::Builder::new(TokioExecutor::new());
    builder
        .timer(TokioTimer::new())
        .max_header_list_size(u32::try_from(limits.max_header_bytes * 2).unwrap_or(u32::MAX))
        .max_concurrent_streams(HTTP2_MAX_STREAMS)
        .max_send_buf_size(HTTP2_MAX_SEND_BUFFER)
        .max_pending_accept_reset_streams(HTTP2_MAX_EARLY_RESETS)
        .max_local_error_reset_streams(HTTP2_MAX_ERROR_RESETS)
        // A peer that does not answer a ping in the time a request head must arrive in is
        // gone. (Pings say nothing about requests: [`Watched`] closes a connection without,
        // and one whose answers wait for its window at the send timeout.)
        .keep_alive_interval(Some(Duration::from_secs(30)))
        .keep_alive_timeout(limits.header_read_timeout);
    builder
}

fn log_end<E: std::fmt::Display>(result: Result<Result<(), E>, Cut>, connection: &Connection) {
    match result {
        Ok(Ok(())) => {}
        Ok(Err(error)) => {
            tracing::debug!(peer = %connection.peer, %error, "connection ended with an error")
        }
        Err(Cut::NoRequest) => tracing::debug!(
            peer = %connection.peer,
            "no request within the header timeout: connection closed"
        ),
        Err(Cut::Stalled) => tracing::debug!(
            peer = %connection.peer,
            "an HTTP/2 answer waited for the client's flow-control window for the send timeout: connection closed"
        ),
    }
}

/// Serves HTTP/1.1 (with upgrades, for WebSocket). `opened`: when the wait for the first
/// request head began (accept, or the end of the TLS handshake).
pub async fn serve_http1<IO>(io: IO, connection: Arc<Connection>, limits: &Limits, opened: Instant)
where
    IO: AsyncRead + AsyncWrite + Unpin + Send + 'static,
{
    let activity = Activity::new(opened, false);
    let gateway = Gateway {
        connection: connection.clone(),
        activity: activity.clone(),
        pace: pace_of(limits),
    };
    let io = TokioIo::new(SendTimeout::new(io, limits.send_timeout));
    let conn = http1(limits).serve_connection(io, gateway).with_upgrades();
    let conn = watched(conn, activity, limits, Watch::FirstHead, |c| {
        c.graceful_shutdown()
    });
    let result = drained(conn, &connection.shutdown, |c| c.graceful_shutdown()).await;
    log_end(result, &connection);
}

/// Serves HTTP/2. `opened` as for [`serve_http1`].
pub async fn serve_http2<IO>(io: IO, connection: Arc<Connection>, limits: &Limits, opened: Instant)
where
    IO: AsyncRead + AsyncWrite + Unpin + Send + 'static,
{
    let activity = Activity::new(opened, true);
    let gateway = Gateway {
        connection: connection.clone(),
        activity: activity.clone(),
        pace: pace_of(limits),
    };
    let io = TokioIo::new(SendTimeout::new(io, limits.send_timeout));
    let conn = http2(limits).serve_connection(io, gateway);
    let conn = watched(conn, activity, limits, Watch::Idle, |c| {
        c.graceful_shutdown()
    });
    let result = drained(conn, &connection.shutdown, |c| c.graceful_shutdown()).await;
    log_end(result, &connection);
}

/// A plain connection: HTTP/2 with prior knowledge when its first bytes are the HTTP/2
/// preface, else HTTP/1.1. Telling them apart is part of reading the first request head: a
/// client that stops half-way through the preface is closed at the header timeout (at once if
/// it closes), and one that sent only `P` so far is neither sent HTTP/2 SETTINGS nor cut off
/// early.
pub async fn serve_plain(stream: TcpStream, connection: Arc<Connection>, limits: &Limits) {
    let opened = crate::ops::clock::tokio_instant();
    match sniff::sniff(stream, later(opened, limits.header_read_timeout)).await {
        Some((Version::Http2, stream)) => {
            // Rare: boxed so that the common connection's task is not sized for it.
            Box::pin(serve_http2(stream, connection, limits, opened)).await
        }
        Some((Version::Http1, stream)) => serve_http1(stream, connection, limits, opened).await,
        // Closed, failed or silent before its version was told: nothing to answer.
        None => {
            tracing::debug!(peer = %connection.peer, "no request head within the header timeout: connection closed")
        }
    }
}

/// The body pace the config sets for a listener's connections.
fn pace_of(limits: &crate::config::Limits) -> BodyPace {
    BodyPace {
        within: limits.body_read_timeout,
        min_rate: limits.body_min_rate,
        grace: BodyPace::GRACE,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

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
    fn a_look_before_the_limit_at_a_connection_without_a_request_waits_for_the_limit() {
        for watch in [Watch::FirstHead, Watch::Idle] {
            assert_eq!(
                next(watch, 0, None, ms(400), LIMIT),
                Next::Check { at: LIMIT }
            );
        }
    }

    #[test]
    fn the_longest_stall_is_that_of_the_answer_waiting_longest() {
        let activity = Activity::new(crate::ops::clock::tokio_instant(), true);
        let (a, b) = (
            activity.watch_stall().unwrap(),
            activity.watch_stall().unwrap(),
        );
        assert_eq!(activity.longest_stall(5000), Duration::ZERO);
        a.0.store(1000, Ordering::Release);
        b.0.store(3000, Ordering::Release);
        assert_eq!(activity.longest_stall(5000), ms(4000));
        // An answer that ended no longer counts.
        drop(a);
        assert_eq!(activity.longest_stall(5000), ms(2000));
        // Nor does one that was asked for more.
        b.0.store(u64::MAX, Ordering::Release);
        assert_eq!(activity.longest_stall(5000), Duration::ZERO);
        // HTTP/1 has no stalls to watch: its writes have their own timer.
        assert!(Activity::new(crate::ops::clock::tokio_instant(), false)
            .watch_stall()
            .is_none());
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
