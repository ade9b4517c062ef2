//! `mfa-gateway audit query`: records from audit files or the Redis Stream, filtered by user,
//! app, event, outcome and time. Reading only; `audit verify` says whether to trust them.

use serde_json::Value;

/// What to keep. Every filter that is set must match.
#[derive(Debug, Default, Clone)]
pub struct Filter {
    pub user: Option<String>,
    pub app: Option<String>,
    pub event: Option<String>,
    pub outcome: Option<String>,
    /// Unix seconds, inclusive.
    pub since: Option<i64>,
    /// Unix seconds, exclusive.
    pub until: Option<i64>,
}

impl Filter {
    pub fn keeps(&self, record: &Value) -> bool {
        let text = |name: &str| record.get(name).and_then(Value::as_str);
        let matches = |want: &Option<String>, name: &str| {
            want.as_deref().is_none_or(|w| text(name) == Some(w))
        };
        if !(matches(&self.user, "user")
            && matches(&self.app, "app")
            && matches(&self.event, "event")
            && matches(&self.outcome, "outcome"))
        {
            return false;
        }
        if self.since.is_none() && self.until.is_none() {
            return true;
        }
        let Some(time) = text("time").and_then(crate::ops::time::parse_rfc3339) else {
            return false;
        };
        self.since.is_none_or(|s| time >= s) && self.until.is_none_or(|u| time < u)
    }
}

/// A `--since`/`--until` value: a duration back from `now` (`24h`, `90m`) or a timestamp
/// (`2026-11-26`, `2026-11-26T08:00:00Z`).
pub fn parse_time(text: &str, now: i64) -> Option<i64> {
    if let Some(ago) = crate::config::parse_duration(text) {
        return Some(now - i64::try_from(ago.as_secs()).ok()?);
    }
    crate::ops::time::parse_rfc3339(text)
}

/// The records of JSON-lines text that pass `filter`, in order (lines that are not JSON
/// objects are skipped: `audit verify` reports them).
pub fn select(text: &str, filter: &Filter) -> Vec<Value> {
    text.lines()
        .filter_map(|line| serde_json::from_str::<Value>(line).ok())
        .filter(|v| v.is_object() && filter.keeps(v))
        .collect()
}

/// One record as a table row: time, event, app, user, outcome, client, and what else it says.
pub fn row(record: &Value) -> Vec<String> {
    let text = |name: &str| {
        record
            .get(name)
            .and_then(Value::as_str)
            .unwrap_or("-")
            .to_string()
    };
    const SHOWN: [&str; 12] = [
        "time",
        "event",
        "app",
        "user",
        "outcome",
        "client_ip",
        "mac",
        "prev",
        "seq",
        "instance",
        "request_id",
        "user_agent",
    ];
    let detail = record
        .as_object()
        .map(|o| {
            o.iter()
                .filter(|(k, _)| !SHOWN.contains(&k.as_str()))
                .map(|(k, v)| match v {
                    Value::String(s) => format!("{k}={s}"),
                    other => format!("{k}={other}"),
                })
                .collect::<Vec<_>>()
                .join(" ")
        })
        .unwrap_or_default();
    vec![
        text("time"),
        text("event"),
        text("app"),
        text("user"),
        text("outcome"),
        text("client_ip"),
        detail,
    ]
}

#[cfg(test)]
mod tests {
    use super::*;

    const TRAIL: &str = r#"{"time":"2026-11-26T09:00:00Z","event":"verify_failed","app":"intranet","user":"alice","outcome":"refused","reason":"wrong code"}
{"time":"2026-11-26T09:01:00Z","event":"verify_succeeded","app":"intranet","user":"alice","outcome":"accepted","method":"totp"}
not json
{"time":"2026-11-27T10:00:00Z","event":"verify_succeeded","app":"wiki","user":"bob","outcome":"accepted","method":"recovery_code"}
"#;

    #[test]
    fn filters_combine_and_time_ranges_are_half_open() {
        let all = select(TRAIL, &Filter::default());
        assert_eq!(all.len(), 3);
        let alice_ok = Filter {
            user: Some("alice".into()),
            outcome: Some("accepted".into()),
            ..Filter::default()
        };
        assert_eq!(select(TRAIL, &alice_ok).len(), 1);
        let day = Filter {
            since: parse_time("2026-11-26", 0),
            until: parse_time("2026-11-27", 0),
            ..Filter::default()
        };
        let picked = select(TRAIL, &day);
        let users: Vec<&str> = picked.iter().map(|r| r["user"].as_str().unwrap()).collect();
        assert_eq!(users, ["alice", "alice"]);
        let now = crate::ops::time::parse_rfc3339("2026-11-27T12:00:00Z").unwrap();
        let recent = Filter {
            since: parse_time("24h", now),
            ..Filter::default()
        };
        assert_eq!(select(TRAIL, &recent).len(), 1);
        assert_eq!(
            row(&all[2]),
            [
                "2026-11-27T10:00:00Z",
                "verify_succeeded",
                "wiki",
                "bob",
                "accepted",
                "-",
                "method=recovery_code"
            ]
        );
        assert_eq!(parse_time("last week", now), None);
    }
}
