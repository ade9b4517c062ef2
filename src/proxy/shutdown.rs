//! How the gateway stops: every connection and accept loop is told at once, and each
//! connection finishes what it is doing (or is cut off at `limits.shutdown_timeout`).

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
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

    /// A notification of the next `begin`, for futures that poll it themselves.
    pub fn notified_owned(&self) -> OwnedNotified {
        self.notify.clone().notified_owned()
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
