//! The `audit:` block: the chained file (default `{data_dir}/audit.jsonl`), how often it is
//! forced to disk, the extra sinks (stdout, a Redis Stream) and what a failing sink means.

use super::checker::{parse_duration, secret_value, Checker};
use super::model::{
    AuditConfig, AuditFailure, AuditStream, EphemeralConfig, Fsync, SecretText, StateConfig,
};
use super::raw::RawAudit;
use std::path::Path;
use std::time::Duration;

pub fn audit(c: &mut Checker, raw: &RawAudit, data_dir: &Path, state: &StateConfig) -> AuditConfig {
    let file = match raw.file.as_deref().map(str::trim) {
        None => Some(data_dir.join("audit.jsonl")),
        Some("") => None,
        Some(path) => Some(c.resolve(Path::new(path))),
    };
    let fsync = match raw.fsync.as_deref().map(str::trim) {
        None => Fsync::Interval(Duration::from_secs(1)),
        Some("always") => Fsync::Always,
        Some("never") => Fsync::Never,
        Some(text) => match parse_duration(text) {
            Some(d) if !d.is_zero() && d <= Duration::from_secs(60) => Fsync::Interval(d),
            _ => {
                c.fail(
                    "audit.fsync",
                    format!("{text:?}: write always, never, or a duration up to 60s (e.g. 1s)"),
                );
                Fsync::Always
            }
        },
    };
    let on_failure = match raw.on_failure.as_deref() {
        None | Some("continue") => AuditFailure::Continue,
        Some("refuse") => AuditFailure::Refuse,
        Some(other) => {
            c.fail(
                "audit.on_failure",
                format!("{other:?}: write continue (sign-ins go on) or refuse (sign-ins wait for the audit trail)"),
            );
            AuditFailure::Refuse
        }
    };
    let redis_stream = raw.redis_stream.as_ref().and_then(|s| {
        let own = if s.url.is_some() || s.url_file.is_some() {
            secret_value(c, "audit.redis_stream", "url", s.url.as_deref(), s.url_file.as_deref())
                .map(|v| v.trim().to_string())
                .filter(|v| !v.is_empty())
        } else {
            None
        };
        let url = match (own, &state.ephemeral) {
            (Some(url), _) => url,
            (None, EphemeralConfig::Redis { url, sentinel: None, cluster: None, .. }) => url.0.clone(),
            (None, _) => {
                c.fail(
                    "audit.redis_stream.url",
                    "name the Redis the stream lives in (the state store's is used only when it is a single server)",
                );
                return None;
            }
        };
        if !url.starts_with("redis://") && !url.starts_with("rediss://") {
            c.fail("audit.redis_stream.url", "must be a redis:// or rediss:// URL");
        }
        let key = s.key.clone().unwrap_or_else(|| "mfa:audit".into());
        if key.is_empty() || key.contains(char::is_whitespace) {
            c.fail("audit.redis_stream.key", "must be a Redis key without spaces");
        }
        let max_len = s.max_len.unwrap_or(1_000_000);
        if max_len < 1000 {
            c.fail("audit.redis_stream.max_len", "keep at least 1000 records");
        }
        Some(AuditStream {
            url: SecretText(url),
            key,
            max_len,
        })
    });
    if file.is_none()
        && !raw.stdout.unwrap_or(false)
        && redis_stream.is_none()
        && on_failure == AuditFailure::Refuse
    {
        c.fail(
            "audit.on_failure",
            "refuse needs a sink: there is no file, stdout or stream to write to",
        );
    }
    AuditConfig {
        file,
        fsync,
        stdout: raw.stdout.unwrap_or(false),
        redis_stream,
        on_failure,
    }
}
