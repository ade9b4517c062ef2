//! Running the gateway as a service: logs, metrics, the clock, and small helpers below
//! everything (the admin listener that serves the metrics is the proxy's: src/proxy/admin_listener.rs).

pub mod access_log;
pub mod clock;
pub mod crash;
pub mod hex;
pub mod log_format;
pub mod logging;
pub mod memory;
pub mod metrics;
pub mod sharded;
pub mod time;

/// An error with all its sources, for the operator's log (`outer: cause: root cause`).
pub fn error_chain(error: &(dyn std::error::Error + 'static)) -> String {
    let mut text = error.to_string();
    let mut source = error.source();
    while let Some(e) = source {
        text.push_str(": ");
        text.push_str(&e.to_string());
        source = e.source();
    }
    text
}
