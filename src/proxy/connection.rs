//! One client connection after it was accepted: the HTTP version that serves it, its limits,
//! and how it is drained at shutdown.
//!
//! Each version gets hyper's own connection type rather than hyper-util's auto-detecting one:
//! that one hands hyper the bytes it read to detect the version as a separate short read,
//! which makes hyper's read buffer grow to 16 KiB on every connection, and its future is
//! sized for HTTP/1 and HTTP/2 at once. TLS connections are told the version by ALPN; plain
//! ones by a peek at their first bytes, which consumes nothing.

use super::body::ResponseBody;
use super::handler::{self, Connection};
use crate::config::Limits;
use http::{Request, Response};
use hyper::body::Incoming;
use hyper::service::Service;
use hyper_util::rt::{TokioExecutor, TokioIo, TokioTimer};
use pin_project_lite::pin_project;
use std::convert::Infallible;
use std::future::Future;
use std::pin::Pin;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::task::{Context, Poll};
use std::time::Duration;
use tokio::io::{AsyncRead, AsyncWrite};
use tokio::net::TcpStream;
use tokio::sync::futures::OwnedNotified;
use tokio::sync::Notify;

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
struct Gateway(Arc<Connection>);

/// Boxed so that an idle keep-alive connection does not carry the request future's space
/// inline; it is allocated only while a request is in flight.
type Handling = Pin<Box<dyn Future<Output = Result<Response<ResponseBody>, Infallible>> + Send>>;

impl Service<Request<Incoming>> for Gateway {
    type Response = Response<ResponseBody>;
    type Error = Infallible;
    type Future = Handling;

    fn call(&self, request: Request<Incoming>) -> Handling {
        Box::pin(handler::handle(self.0.clone(), request))
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
        .keep_alive_interval(Some(Duration::from_secs(30)));
    builder
}

fn log_end<E: std::fmt::Display>(result: Result<(), E>, connection: &Connection) {
    if let Err(error) = result {
        tracing::debug!(peer = %connection.peer, %error, "connection ended with an error");
    }
}

/// Serves HTTP/1.1 (with upgrades, for WebSocket).
pub async fn serve_http1<IO>(
    io: IO,
    connection: Arc<Connection>,
    limits: &Limits,
    shutdown: &Arc<Shutdown>,
) where
    IO: AsyncRead + AsyncWrite + Unpin + Send + 'static,
{
    let conn = http1(limits)
        .serve_connection(TokioIo::new(io), Gateway(connection.clone()))
        .with_upgrades();
    let result = drained(conn, shutdown, |c| c.graceful_shutdown()).await;
    log_end(result, &connection);
}

/// Serves HTTP/2.
pub async fn serve_http2<IO>(
    io: IO,
    connection: Arc<Connection>,
    limits: &Limits,
    shutdown: &Arc<Shutdown>,
) where
    IO: AsyncRead + AsyncWrite + Unpin + Send + 'static,
{
    let conn = http2(limits).serve_connection(TokioIo::new(io), Gateway(connection.clone()));
    let result = drained(conn, shutdown, |c| c.graceful_shutdown()).await;
    log_end(result, &connection);
}

/// A plain connection: HTTP/2 with prior knowledge when its first bytes say so (`PRI`, the
/// start of the preface, which hyper then checks in full), else HTTP/1.1.
pub async fn serve_plain(
    stream: TcpStream,
    connection: Arc<Connection>,
    limits: &Limits,
    shutdown: &Arc<Shutdown>,
) {
    let mut first = [0u8; 3];
    // A client that connects and stays silent is cut off like one that sends half a head.
    let peeked = tokio::time::timeout(limits.header_read_timeout, stream.peek(&mut first)).await;
    match peeked {
        Ok(Ok(n)) if n > 0 && first.get(..n) == b"PRI".get(..n) => {
            // Rare: boxed so that the common connection's task is not sized for it.
            Box::pin(serve_http2(stream, connection, limits, shutdown)).await
        }
        Ok(Ok(n)) if n > 0 => serve_http1(stream, connection, limits, shutdown).await,
        // Closed, failed or silent before its first byte: nothing to answer.
        _ => {}
    }
}
