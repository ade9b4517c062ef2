//! Reading a whole body into memory, bounded in size and in time: a body over its limit is
//! refused before or as it arrives, and one that comes too slowly is given up on, so a client
//! that sends half a body and waits costs nothing. Both the proxy (login forms, the app's
//! answers) and the gateway's own endpoints read bodies this way.

use bytes::Bytes;
use http_body::Body;
use std::time::Duration;

#[derive(Debug, thiserror::Error)]
pub enum CollectError {
    #[error("the body is larger than the limit")]
    TooLarge,
    #[error("the body did not arrive in time")]
    TimedOut,
    #[error("the body could not be read")]
    Read(#[source] Box<dyn std::error::Error + Send + Sync>),
}

/// How long a body the gateway reads whole may take: all of it within `within`, and, once
/// `grace` has passed, at least `min_rate` bytes per second on average since then (0: no
/// minimum). A body sent a byte every few seconds is cut off soon after the grace, not only
/// at the end of `within`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct BodyPace {
    pub within: Duration,
    pub min_rate: u64,
    pub grace: Duration,
}

impl BodyPace {
    /// A slow start (TCP slow start, a phone waking its radio) is not held against a body.
    pub const GRACE: Duration = Duration::from_secs(5);

    /// What the config leaves unsaid: a body within 30 s, at 1 KiB/s after the grace.
    pub const DEFAULT_WITHIN: Duration = Duration::from_secs(30);
    pub const DEFAULT_MIN_RATE: u64 = 1024;

    /// How long after its start a body that has brought `received` bytes so far may go on
    /// waiting for more: until the deadline, or until those bytes no longer make the
    /// minimum rate (`received >= min_rate * (elapsed - grace)`), whichever comes first.
    /// Each byte that arrives moves this later, never past `within`.
    pub fn cutoff(&self, received: u64) -> Duration {
        if self.min_rate == 0 {
            return self.within;
        }
        let earned = Duration::from_millis(received.saturating_mul(1000) / self.min_rate);
        self.grace.saturating_add(earned).min(self.within)
    }
}

impl Default for BodyPace {
    fn default() -> Self {
        BodyPace {
            within: Self::DEFAULT_WITHIN,
            min_rate: Self::DEFAULT_MIN_RATE,
            grace: Self::GRACE,
        }
    }
}

tokio::task_local! {
    /// The pace of the connection a request came on, for the bodies read while handling it.
    static PACE: BodyPace;
}

/// Runs `handling` (one request) with its connection's body pace: every
/// [`collect_limited`] inside it keeps to that pace.
pub fn with_pace<F: std::future::Future>(
    pace: BodyPace,
    handling: F,
) -> tokio::task::futures::TaskLocalFuture<BodyPace, F> {
    PACE.scope(pace, handling)
}

/// Reads a whole body into memory, refusing it as soon as it passes `limit` bytes (before
/// reading anything when its declared length is already too large), and giving up on it
/// when it is too slow for the pace of the request being handled ([`with_pace`]; the
/// configured defaults outside one).
pub async fn collect_limited<B>(body: B, limit: u64) -> Result<Bytes, CollectError>
where
    B: Body<Data = Bytes>,
    B::Error: Into<Box<dyn std::error::Error + Send + Sync>>,
{
    let pace = PACE.try_with(|pace| *pace).unwrap_or_default();
    collect_paced(body, limit, pace).await
}

/// Later than any configured limit: a year.
const FAR: Duration = Duration::from_secs(365 * 86_400);

/// [`collect_limited`] with the pace given.
pub async fn collect_paced<B>(body: B, limit: u64, pace: BodyPace) -> Result<Bytes, CollectError>
where
    B: Body<Data = Bytes>,
    B::Error: Into<Box<dyn std::error::Error + Send + Sync>>,
{
    use http_body_util::BodyExt;
    if body.size_hint().lower() > limit {
        return Err(CollectError::TooLarge);
    }
    let started = crate::ops::clock::tokio_instant();
    // A deadline too far to represent is no deadline.
    let after = |wait: Duration| started.checked_add(wait).unwrap_or(started + FAR);
    let mut body = std::pin::pin!(body);
    let mut chunks: Vec<Bytes> = Vec::new();
    let mut received: u64 = 0;
    // One timer for the whole body, moved later as bytes arrive.
    let cutoff = tokio::time::sleep_until(after(pace.cutoff(0)));
    let mut cutoff = std::pin::pin!(cutoff);
    loop {
        let frame = tokio::select! {
            biased;
            frame = body.frame() => frame,
            () = &mut cutoff => return Err(CollectError::TimedOut),
        };
        let Some(frame) = frame else { break };
        let frame = frame.map_err(|error| CollectError::Read(error.into()))?;
        // Trailers are not part of the content.
        let Ok(data) = frame.into_data() else {
            continue;
        };
        received = received.saturating_add(data.len() as u64);
        if received > limit {
            return Err(CollectError::TooLarge);
        }
        if !data.is_empty() {
            chunks.push(data);
            cutoff.as_mut().reset(after(pace.cutoff(received)));
        }
    }
    Ok(match chunks.len() {
        0 => Bytes::new(),
        1 => chunks.pop().unwrap_or_default(),
        _ => Bytes::from(chunks.concat()),
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use http_body::Frame;
    use http_body_util::Full;
    use pin_project_lite::pin_project;
    use std::pin::Pin;
    use std::task::{Context, Poll};

    #[tokio::test]
    async fn bodies_over_the_limit_are_refused() {
        let ok = collect_limited(Full::new(Bytes::from_static(b"12345")), 5).await;
        assert_eq!(ok.unwrap(), Bytes::from_static(b"12345"));
        let big = collect_limited(Full::new(Bytes::from_static(b"123456")), 5).await;
        assert!(matches!(big, Err(CollectError::TooLarge)));
    }

    fn pace(within: Duration, min_rate: u64, grace: Duration) -> BodyPace {
        BodyPace {
            within,
            min_rate,
            grace,
        }
    }

    #[test]
    fn a_trickle_is_cut_off_soon_after_the_grace() {
        let p = BodyPace::default();
        assert_eq!(p.within, Duration::from_secs(30));
        // One byte every 2 s: three bytes by the end of the grace earn 2 ms more.
        assert_eq!(p.cutoff(0), Duration::from_secs(5));
        assert_eq!(p.cutoff(3), Duration::from_millis(5002));
        // A body that keeps the rate keeps going, never past the deadline.
        assert_eq!(p.cutoff(10 * 1024), Duration::from_secs(15));
        assert_eq!(p.cutoff(1 << 40), Duration::from_secs(30));
        assert_eq!(p.cutoff(u64::MAX), Duration::from_secs(30));
        // No minimum rate: only the deadline.
        let p = pace(Duration::from_secs(30), 0, BodyPace::GRACE);
        assert_eq!(p.cutoff(0), Duration::from_secs(30));
    }

    pin_project! {
        /// A body that sends one byte every `every`, `left` times, then ends (or, with
        /// `left` at `usize::MAX`, never sends anything).
        struct Trickle {
            #[pin]
            tick: tokio::time::Sleep,
            every: Duration,
            left: usize,
        }
    }

    fn trickle(every: Duration, left: usize) -> Trickle {
        Trickle {
            tick: tokio::time::sleep(every),
            every,
            left,
        }
    }

    impl Body for Trickle {
        type Data = Bytes;
        type Error = std::convert::Infallible;

        fn poll_frame(
            self: Pin<&mut Self>,
            cx: &mut Context<'_>,
        ) -> Poll<Option<Result<Frame<Bytes>, Self::Error>>> {
            let mut this = self.project();
            if *this.left == 0 {
                return Poll::Ready(None);
            }
            if *this.left == usize::MAX
                || std::future::Future::poll(this.tick.as_mut(), cx).is_pending()
            {
                return Poll::Pending;
            }
            *this.left -= 1;
            let next = crate::ops::clock::tokio_instant() + *this.every;
            this.tick.reset(next);
            Poll::Ready(Some(Ok(Frame::data(Bytes::from_static(b"x")))))
        }
    }

    #[tokio::test]
    async fn a_body_that_never_ends_times_out() {
        let started = crate::ops::clock::tokio_instant();
        let p = pace(Duration::from_millis(150), 0, Duration::ZERO);
        let read = collect_paced(trickle(Duration::ZERO, usize::MAX), 1024, p).await;
        assert!(matches!(read, Err(CollectError::TimedOut)), "{read:?}");
        assert!(started.elapsed() >= Duration::from_millis(150));
        assert!(started.elapsed() < Duration::from_secs(2));
    }

    #[tokio::test]
    async fn a_body_below_the_minimum_rate_times_out_before_the_deadline() {
        let started = crate::ops::clock::tokio_instant();
        // 1 byte per 20 ms is 50 bytes/s, against 1000 bytes/s after 100 ms.
        let p = pace(Duration::from_secs(10), 1000, Duration::from_millis(100));
        let read = collect_paced(trickle(Duration::from_millis(20), 1000), 4096, p).await;
        assert!(matches!(read, Err(CollectError::TimedOut)), "{read:?}");
        assert!(
            started.elapsed() < Duration::from_secs(2),
            "{:?}",
            started.elapsed()
        );
        // The same trickle, short enough to end within the grace, is read whole.
        let read = collect_paced(trickle(Duration::from_millis(10), 3), 4096, p).await;
        assert_eq!(read.unwrap(), Bytes::from_static(b"xxx"));
    }

    #[tokio::test]
    async fn the_pace_of_the_request_applies_inside_it() {
        let p = pace(Duration::from_millis(100), 0, Duration::ZERO);
        let read = tokio::time::timeout(
            Duration::from_secs(5),
            with_pace(
                p,
                collect_limited(trickle(Duration::ZERO, usize::MAX), 1024),
            ),
        )
        .await
        .expect("the request's pace, not the 30 s default");
        assert!(matches!(read, Err(CollectError::TimedOut)), "{read:?}");
    }
}
