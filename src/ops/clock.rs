//! The one place the clock is read. Everything else is given the time (`now` parameters, as
//! the stores and the MFA flow take it) or asks here, so a test or a replay can see every
//! reading, and `clippy.toml`'s `disallowed-methods` keeps it that way.
#![allow(clippy::disallowed_methods)]

/// Seconds since the Unix epoch (0 for a clock set before 1970).
pub fn unix_now() -> i64 {
    i64::try_from(since_epoch().as_secs()).unwrap_or(i64::MAX)
}

/// The time since the Unix epoch, to the nanosecond (log lines).
pub fn since_epoch() -> std::time::Duration {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap_or_default()
}

/// A monotonic reading, for durations.
pub fn instant() -> std::time::Instant {
    std::time::Instant::now()
}

/// A monotonic reading for tokio's timers.
pub fn tokio_instant() -> tokio::time::Instant {
    tokio::time::Instant::now()
}
