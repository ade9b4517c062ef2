//! The `state:` block: Redis for ephemeral state and PostgreSQL for durable state when their
//! URLs are given, the embedded stores when they are empty or absent.

use super::checker::{parse_duration, secret_value, Checker};
use super::model::{DurableConfig, EphemeralConfig, SecretText, SentinelConfig, StateConfig};
use super::raw::RawState;
use std::time::Duration;

pub fn state(c: &mut Checker, raw: &RawState) -> StateConfig {
    let ephemeral = ephemeral(c, raw);
    let durable = durable(c, raw);
    StateConfig { ephemeral, durable }
}

/// Redis when `redis_url` is given, else the gateway's own memory.
fn ephemeral(c: &mut Checker, raw: &RawState) -> EphemeralConfig {
    let redis_url = optional_secret(
        c,
        "state",
        "redis_url",
        raw.redis_url.as_deref(),
        raw.redis_url_file.as_deref(),
    );
    match redis_url {
        None => EphemeralConfig::Memory,
        Some(url) => {
            if !url.starts_with("redis://") && !url.starts_with("rediss://") {
                c.fail(
                    "state.redis_url",
                    "must be a redis:// or rediss:// (TLS) URL, e.g. rediss://user:password@10.0.0.5:6380/0",
                );
            }
            let prefix = raw.redis_prefix.clone().unwrap_or_else(|| "mfa:".into());
            if prefix.is_empty() || prefix.contains(char::is_whitespace) {
                c.fail(
                    "state.redis_prefix",
                    "must be a non-empty key prefix without spaces, e.g. mfa:",
                );
            }
            let session_cache = match raw.session_cache.as_deref() {
                None => Duration::from_secs(2),
                Some(text) => match parse_duration(text) {
                    Some(d) if d <= Duration::from_secs(60) => d,
                    _ => {
                        c.fail(
                            "state.session_cache",
                            format!("{text:?} must be a duration of at most 60s (0s: no cache)"),
                        );
                        Duration::ZERO
                    }
                },
            };
            let sentinel = sentinel(c, raw);
            let cluster = (!raw.redis_cluster.is_empty()).then(|| {
                for (i, node) in raw.redis_cluster.iter().enumerate() {
                    if !is_host_port(node) {
                        c.fail(
                            &format!("state.redis_cluster[{i}]"),
                            format!("{node:?} is not host:port (e.g. 10.0.0.11:6379)"),
                        );
                    }
                }
                raw.redis_cluster.clone()
            });
            if sentinel.is_some() && cluster.is_some() {
                c.fail(
                    "state.redis_cluster",
                    "Redis is either under Sentinel or a Cluster: give redis_sentinels or redis_cluster, not both",
                );
            }
            EphemeralConfig::Redis {
                url: SecretText(url),
                sentinel,
                cluster,
                prefix,
                timeout: c.duration(
                    "state.redis_timeout",
                    raw.redis_timeout.as_deref(),
                    Duration::from_secs(2),
                ),
                session_cache,
            }
        }
    }
}

/// PostgreSQL when `database_url` is given, else SQLite in the data directory.
fn durable(c: &mut Checker, raw: &RawState) -> DurableConfig {
    let database_url = optional_secret(
        c,
        "state",
        "database_url",
        raw.database_url.as_deref(),
        raw.database_url_file.as_deref(),
    );
    match database_url {
        None => DurableConfig::Sqlite,
        Some(url) => {
            if !(url.starts_with("postgres://") || url.starts_with("postgresql://")) {
                c.fail(
                    "state.database_url",
                    "must be a postgres:// URL, e.g. postgres://mfa:password@10.0.0.6/mfa",
                );
            }
            let max_connections = raw.database_max_connections.unwrap_or(16);
            if !(1..=1000).contains(&max_connections) {
                c.fail(
                    "state.database_max_connections",
                    "must be between 1 and 1000",
                );
            }
            DurableConfig::Postgres {
                url: SecretText(url),
                max_connections,
            }
        }
    }
}

/// `redis_sentinels` + `redis_sentinel_service`: both or neither.
fn sentinel(c: &mut Checker, raw: &RawState) -> Option<SentinelConfig> {
    match (&raw.redis_sentinel_service, raw.redis_sentinels.is_empty()) {
        (None, true) => None,
        (Some(service), false) => {
            for (i, node) in raw.redis_sentinels.iter().enumerate() {
                if !is_host_port(node) {
                    c.fail(
                        &format!("state.redis_sentinels[{i}]"),
                        format!("{node:?} is not host:port (e.g. 10.0.0.7:26379)"),
                    );
                }
            }
            Some(SentinelConfig {
                service: service.clone(),
                sentinels: raw.redis_sentinels.clone(),
            })
        }
        (None, false) => {
            c.fail(
                "state.redis_sentinels",
                "name the monitored master with redis_sentinel_service (e.g. mymaster)",
            );
            None
        }
        (Some(_), true) => {
            c.fail(
                "state.redis_sentinel_service",
                "list the sentinels (host:port) in redis_sentinels",
            );
            None
        }
    }
}

fn is_host_port(text: &str) -> bool {
    text.rsplit_once(':')
        .is_some_and(|(host, port)| !host.is_empty() && port.parse::<u16>().is_ok())
}

/// A URL given inline or in a file; empty (e.g. an unset `${MFA_REDIS_URL:-}`) means none.
fn optional_secret(
    c: &mut Checker,
    key: &str,
    name: &str,
    inline: Option<&str>,
    file: Option<&std::path::Path>,
) -> Option<String> {
    if inline.is_none() && file.is_none() {
        return None;
    }
    secret_value(c, key, name, inline, file)
        .map(|v| v.trim().to_string())
        .filter(|v| !v.is_empty())
}
