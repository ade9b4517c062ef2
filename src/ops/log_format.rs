//! How log lines are written (`logging.format`), for the log and the access log alike.

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LogFormat {
    Text,
    Json,
}
