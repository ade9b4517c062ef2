//! Log output: human-readable or JSON lines on stderr, written by a background thread so a slow
//! terminal or pipe never stalls a request.

use tracing_appender::non_blocking::WorkerGuard;
use tracing_subscriber::EnvFilter;

pub use super::log_format::LogFormat;

/// What `logging:` sets.
#[derive(Debug, Clone)]
pub struct Logging {
    pub format: LogFormat,
    /// A `tracing` filter directive such as `info` or `mfa_gateway=debug`.
    pub level: String,
    pub access_log: bool,
}

/// Installs the global subscriber. `RUST_LOG`, when set, overrides the configured level.
/// Keep the guard alive for the life of the process: dropping it flushes and stops the writer.
pub fn init(logging: &Logging) -> WorkerGuard {
    let (writer, guard) = tracing_appender::non_blocking::NonBlockingBuilder::default()
        .lossy(false)
        // The default queue preallocates 128k lines (4 MB); 16k lines absorb any burst a
        // terminal or pipe needs to catch up with, and block (never drop) beyond that.
        .buffered_lines_limit(16 * 1024)
        .finish(std::io::stderr());
    let mut filter = match std::env::var("RUST_LOG") {
        Ok(directive) if !directive.is_empty() => EnvFilter::new(directive),
        _ => EnvFilter::new(&logging.level),
    };
    if !logging.access_log {
        if let Ok(directive) = "mfa_gateway::access=off".parse() {
            filter = filter.add_directive(directive);
        }
    }
    super::access_log::install(logging.format, writer.clone());
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(writer);
    let result = match logging.format {
        LogFormat::Json => builder.json().flatten_event(true).try_init(),
        LogFormat::Text => builder.with_ansi(false).try_init(),
    };
    if result.is_err() {
        eprintln!("logging was already initialised; keeping the first setup");
    }
    guard
}
