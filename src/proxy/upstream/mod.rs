//! Connections to the upstream apps. Each worker thread has one pool per app, so no lock or
//! reference count is shared between cores on the hot path (the pool's mutex is only ever
//! taken by its own thread).
//!
//! The pool is ours rather than hyper-util's general-purpose client: a reverse proxy talks to
//! one address per app, so it needs no per-host map, no task per request to wait for the
//! connection to become idle again, and no connect future built for every request. A
//! connection goes back to the pool when its response body has been read to the end
//! ([`UpstreamBody`]); one given up half-way is closed, as HTTP/1.1 cannot be reused then.

mod body;
mod connect;
mod tls;

pub use body::{UpstreamBody, UpstreamBodyError};

use crate::config::Upstream;
use connect::{Connector, Sender};
use http::{Request, Response, StatusCode};
use hyper::body::Incoming;
use std::sync::{Arc, Mutex, PoisonError, Weak};
use std::time::{Duration, Instant};

/// What is sent upstream: the client's body streamed through, or a body the gateway read
/// first (a login request, whose user name it needed).
pub type ForwardBody = http_body_util::Either<Incoming, http_body_util::Full<bytes::Bytes>>;

#[derive(Debug, thiserror::Error)]
pub enum UpstreamSetupError {
    #[error("TLS setup for the upstream failed")]
    Tls(#[from] rustls::Error),
    #[error("the upstream host {0:?} cannot be checked against a TLS certificate")]
    ServerName(String),
}

#[derive(Debug, thiserror::Error)]
pub enum UpstreamError {
    #[error("cannot connect to the upstream")]
    Connect(#[source] std::io::Error),
    #[error("connecting to the upstream timed out")]
    ConnectTimeout,
    #[error("TLS handshake with the upstream failed")]
    Tls(#[source] std::io::Error),
    #[error("the upstream connection could not be set up")]
    Handshake(#[source] hyper::Error),
    #[error("the upstream request failed")]
    Request(#[source] hyper::Error),
}

impl UpstreamError {
    /// The upstream was too slow rather than unreachable (504, not 502).
    pub fn is_timeout(&self) -> bool {
        match self {
            UpstreamError::ConnectTimeout => true,
            UpstreamError::Connect(e) | UpstreamError::Tls(e) => {
                e.kind() == std::io::ErrorKind::TimedOut
            }
            UpstreamError::Handshake(e) | UpstreamError::Request(e) => e.is_timeout(),
        }
    }
}

/// A connection idle at least this long may have been closed by the app at the moment a
/// request goes out on it (app servers' keep-alive timeouts run from 2 s up); a hotter one is
/// not worth keeping a copy of each request for.
const STALE_AFTER: Duration = Duration::from_secs(1);

/// A copy of an idempotent request without a body (RFC 9110 §9.2.2), to send again if the
/// connection it went out on turns out to have been closed.
fn replayable(request: &Request<ForwardBody>) -> Option<Request<ForwardBody>> {
    use http_body::Body;
    if !request.method().is_idempotent() || !request.body().is_end_stream() {
        return None;
    }
    let mut copy = Request::new(http_body_util::Either::Right(http_body_util::Full::new(
        bytes::Bytes::new(),
    )));
    *copy.method_mut() = request.method().clone();
    *copy.uri_mut() = request.uri().clone();
    *copy.version_mut() = request.version();
    *copy.headers_mut() = request.headers().clone();
    Some(copy)
}

/// One app's upstream connections on one worker thread.
pub struct UpstreamPool {
    connector: Connector,
    /// Most recently used last: a request takes the warmest connection, and the ones at the
    /// front are those a quiet period left unused, which expire first.
    idle: Mutex<Vec<Idle>>,
    /// Idle connections kept (like nginx's `keepalive N` per worker process): a burst of N
    /// concurrent requests must not leave N idle connections, each with its buffers and
    /// task, behind.
    max_idle: usize,
    idle_timeout: Duration,
    reaper: std::sync::Once,
}

struct Idle {
    sender: Sender,
    since: Instant,
}

/// A connection on loan to one response; goes back to its pool when that body has ended,
/// and is closed when it is dropped before (the body failed or was given up).
struct Lease {
    sender: Sender,
    pool: Arc<UpstreamPool>,
}

impl Lease {
    fn give_back(self) {
        self.pool.put(self.sender);
    }
}

impl UpstreamPool {
    pub fn new(upstream: &Upstream) -> Result<Arc<Self>, UpstreamSetupError> {
        Ok(Arc::new(UpstreamPool {
            connector: Connector::new(upstream)?,
            idle: Mutex::new(Vec::new()),
            max_idle: upstream.max_idle_connections,
            idle_timeout: upstream.idle_timeout,
            reaper: std::sync::Once::new(),
        }))
    }

    /// Sends `request` on an idle connection, or on a new one.
    ///
    /// A request that was never written because the app had meanwhile closed a kept-alive
    /// connection is sent again on another. So is an idempotent request without a body that
    /// failed on a connection that had been idle a while: the app may have closed it just as
    /// the request went out (nginx's `proxy_next_upstream` and Go's transport retry those
    /// too). Anything else is the caller's to answer: nothing else is ever sent twice.
    pub async fn send(
        self: &Arc<Self>,
        mut request: Request<ForwardBody>,
    ) -> Result<Response<UpstreamBody>, UpstreamError> {
        let mut fresh_only = false;
        loop {
            let idle = if fresh_only {
                None
            } else {
                self.take_idle(crate::ops::clock::instant())
            };
            let (mut sender, reused, replay) = match idle {
                Some((sender, idle_for)) => {
                    let replay = (idle_for >= STALE_AFTER)
                        .then(|| replayable(&request))
                        .flatten();
                    (sender, true, replay)
                }
                // Boxed: connecting (DNS, TCP, TLS) is rare and its state is large; inline it
                // would make every request's future that large.
                None => (Box::pin(self.connect()).await?, false, None),
            };
            match sender.send.try_send_request(request).await {
                Ok(response) => {
                    let lease = if response.status() == StatusCode::SWITCHING_PROTOCOLS {
                        sender.switched();
                        None
                    } else {
                        Some(Lease {
                            sender,
                            pool: self.clone(),
                        })
                    };
                    return Ok(response.map(|body| UpstreamBody::new(body, lease)));
                }
                Err(mut failed) => match (failed.take_message(), replay) {
                    (Some(unsent), _) if reused => request = unsent,
                    (_, Some(copy)) if !failed.error().is_timeout() => {
                        tracing::debug!(error = %failed.error(), "stale upstream connection: request sent again on a new one");
                        request = copy;
                        fresh_only = true;
                    }
                    _ => return Err(UpstreamError::Request(failed.into_error())),
                },
            }
        }
    }

    async fn connect(self: &Arc<Self>) -> Result<Sender, UpstreamError> {
        self.reaper.call_once(|| {
            tokio::spawn(reap_idle(Arc::downgrade(self), self.idle_timeout));
        });
        self.connector.connect().await
    }

    /// The most recently used idle connection that is ready for a request now. One that is
    /// still busy (its response was read, but the app has not yet taken the whole request
    /// body: it answered early, and the client is still uploading) stays where it is: a
    /// request must not wait behind somebody else's upload.
    fn take_idle(&self, now: Instant) -> Option<(Sender, Duration)> {
        let mut idle = self.idle.lock().unwrap_or_else(PoisonError::into_inner);
        self.drop_expired(&mut idle, now);
        let mut index = idle.len();
        while index > 0 {
            index -= 1;
            let (closed, ready) = match idle.get(index) {
                Some(entry) => (entry.sender.send.is_closed(), entry.sender.send.is_ready()),
                None => break,
            };
            if closed {
                idle.remove(index);
            } else if ready {
                let entry = idle.remove(index);
                return Some((entry.sender, now.saturating_duration_since(entry.since)));
            }
        }
        None
    }

    fn put(&self, sender: Sender) {
        if sender.send.is_closed() {
            return;
        }
        let now = crate::ops::clock::instant();
        let mut idle = self.idle.lock().unwrap_or_else(PoisonError::into_inner);
        self.drop_expired(&mut idle, now);
        // Dropping the sender of an idle connection closes it.
        if idle.len() < self.max_idle {
            idle.push(Idle { sender, since: now });
        }
    }

    fn drop_expired(&self, idle: &mut Vec<Idle>, now: Instant) {
        let expired = idle
            .iter()
            .take_while(|e| now.saturating_duration_since(e.since) >= self.idle_timeout)
            .count();
        idle.drain(..expired);
    }

    #[cfg(test)]
    fn idle_count(&self) -> usize {
        self.idle
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .len()
    }
}

/// Closes connections idle for longer than `idle_timeout` even when no request comes to take
/// them; ends with its pool (after a reload).
async fn reap_idle(pool: Weak<UpstreamPool>, idle_timeout: Duration) {
    let mut tick = tokio::time::interval((idle_timeout / 2).max(Duration::from_millis(500)));
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        tick.tick().await;
        let Some(pool) = pool.upgrade() else { return };
        let mut idle = pool.idle.lock().unwrap_or_else(PoisonError::into_inner);
        pool.drop_expired(&mut idle, crate::ops::clock::instant());
    }
}

#[cfg(test)]
mod tests;
