//! Changes recorded in two steps, so that no crash can leave a change in a store that the trail
//! does not know of. Before a factor, session or admin change, a `change_begun` record says
//! what is about to change (with a fresh `change_id`); after it, the change's own record
//! (`enrollment_completed`, `factor_removed`…) carries the same `change_id`, or a
//! `change_failed` record does when the store refused it.
//!
//! A writer killed between the two leaves a `change_begun` with nothing after it. Its next
//! start finds those (`FileSink::unfinished`) and the layer that owns the stores writes a
//! `change_interrupted` record with what the store holds now, so the trail ends each change in
//! a known state. This was chosen over an outbox table because the changes span two kinds of
//! store (SQL for factors, Redis or memory for sessions) that share no transaction, and over
//! one record written ahead because a record alone cannot say whether the change behind it was
//! made.

use super::{file::FileSink, Audit, AuditError, Event};
use crate::keys::KeyRing;
use serde_json::{Map, Value};
use std::io::{Read, Seek, SeekFrom};

/// How much of the file's end is searched for unfinished changes. A change's two records are
/// written within one request (seconds apart), so only the last moments before a crash
/// matter; 16 MiB holds some 40,000 records, many seconds of the busiest gateway's writes.
const UNFINISHED_WINDOW: u64 = 16 * 1024 * 1024;

/// A change whose `change_begun` record is written and whose end is not yet. Dropped without
/// an end — the request was cancelled (its client went away) between the two — it writes
/// `change_abandoned`, so the trail never keeps a change open while the gateway runs on.
#[must_use = "a begun change ends with `finish` or `fail`"]
pub struct Begun<'a> {
    audit: &'a Audit,
    keys: &'a KeyRing,
    id: String,
    /// The begun record's fields, for the record of an abandoned change.
    fields: Map<String, Value>,
    ended: bool,
}

impl std::fmt::Debug for Begun<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Begun").field("id", &self.id).finish()
    }
}

impl Drop for Begun<'_> {
    fn drop(&mut self) {
        if self.ended {
            return;
        }
        let mut fields = std::mem::take(&mut self.fields);
        let now = crate::ops::clock::unix_now();
        fields.insert("time".into(), crate::ops::time::rfc3339(now).into());
        fields.insert("event".into(), "change_abandoned".into());
        fields.insert("outcome".into(), "unknown".into());
        fields.insert(
            "reason".into(),
            "the request was cancelled between the change's start and its end: the change may or may not be made".into(),
        );
        if let Err(error) = self.audit.write(self.keys, fields) {
            tracing::error!(error = %crate::ops::error_chain(&error), "audit record of an abandoned change not written");
        }
    }
}

/// A change begun and never finished (as far as the file's end shows).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Interrupted {
    /// The writer that began it.
    pub instance: String,
    pub change_id: String,
    /// The event the change would have ended with (`enrollment_completed`…).
    pub change: String,
    pub app: String,
    /// The realm, when the record names it (an admin change).
    pub realm: Option<String>,
    pub user: Option<String>,
    /// When it began (RFC 3339, as written).
    pub began: String,
    /// Its line, as written (its MAC is checked before anything is done with it).
    line: String,
}

impl Audit {
    /// Writes the `change_begun` record of the change `event` describes.
    pub fn begin<'a>(
        &'a self,
        keys: &'a KeyRing,
        now: i64,
        event: &Event<'_>,
    ) -> Result<Begun<'a>, AuditError> {
        let id = crate::ops::hex::hex(&rand::random::<[u8; 8]>());
        let mut fields = self.fields(now, event);
        fields.insert("event".into(), "change_begun".into());
        fields.insert("change".into(), event.event.into());
        fields.insert("outcome".into(), "pending".into());
        fields.insert("change_id".into(), id.clone().into());
        self.write(keys, fields.clone())?;
        crate::ops::crash::point("change.begun");
        Ok(Begun {
            audit: self,
            keys,
            id,
            fields,
            ended: false,
        })
    }
}

impl Begun<'_> {
    /// Writes `event`, the end of the change.
    pub fn finish(mut self, now: i64, event: &Event<'_>) -> Result<(), AuditError> {
        self.ended = true;
        let mut fields = self.audit.fields(now, event);
        fields.insert("change_id".into(), self.id.clone().into());
        self.audit.write(self.keys, fields)
    }

    /// Writes that the change failed: `reason` says why, `state` what the stores hold now (a
    /// change of several steps may have failed part-way).
    pub fn fail(
        mut self,
        now: i64,
        event: &Event<'_>,
        reason: &str,
        state: &[(&'static str, String)],
    ) -> Result<(), AuditError> {
        self.ended = true;
        let mut fields = self.audit.fields(now, event);
        fields.insert("event".into(), "change_failed".into());
        fields.insert("change".into(), event.event.into());
        fields.insert("outcome".into(), "failed".into());
        fields.insert("reason".into(), reason.into());
        fields.insert("change_id".into(), self.id.clone().into());
        for (name, value) in state {
            fields.insert((*name).into(), Value::from(value.clone()));
        }
        self.audit.write(self.keys, fields)
    }
}

impl Audit {
    /// The changes found unfinished at open that `cut_off` says were cut off (the writer
    /// stopped: it is this instance before a restart, or no change takes so long); each is
    /// given out once.
    /// Only lines this key signed are believed: a line written into the file by someone else
    /// is `audit verify`'s to report, not a change to act on.
    pub fn take_interrupted(
        &self,
        keys: &KeyRing,
        cut_off: impl Fn(&Interrupted) -> bool,
    ) -> Vec<Interrupted> {
        let mut found = self.interrupted.lock().unwrap_or_else(|e| e.into_inner());
        let (taken, kept): (Vec<_>, Vec<_>) =
            std::mem::take(&mut *found).into_iter().partition(cut_off);
        *found = kept;
        taken
            .into_iter()
            .filter(|change| {
                let signed = super::chain::verify(std::iter::once(change.line.as_str()), |data| {
                    keys.sign(super::MAC_LABEL, data)
                })
                .is_ok();
                if !signed {
                    tracing::warn!(change_id = %change.change_id, "an unfinished change's record is not signed by this key file: ignored (audit verify reports it)");
                }
                signed
            })
            .collect()
    }

    /// The name this writer puts in its records.
    pub fn instance(&self) -> &str {
        &self.instance
    }

    /// Ends an interrupted change: `state` says what the stores hold now (whether the change
    /// was made).
    pub fn end_interrupted(
        &self,
        keys: &KeyRing,
        now: i64,
        change: &Interrupted,
        state: &[(&'static str, String)],
    ) -> Result<(), AuditError> {
        let mut fields = Map::new();
        fields.insert("time".into(), crate::ops::time::rfc3339(now).into());
        fields.insert("event".into(), "change_interrupted".into());
        fields.insert("app".into(), change.app.clone().into());
        fields.insert("outcome".into(), "reconciled".into());
        fields.insert("instance".into(), self.instance.clone().into());
        if let Some(user) = &change.user {
            fields.insert("user".into(), user.clone().into());
        }
        fields.insert("change".into(), change.change.clone().into());
        fields.insert("change_id".into(), change.change_id.clone().into());
        fields.insert("began".into(), change.began.clone().into());
        fields.insert(
            "reason".into(),
            "the gateway stopped between the change's start and its end".into(),
        );
        for (name, value) in state {
            fields.insert((*name).into(), Value::from(value.clone()));
        }
        self.write(keys, fields)
    }
}

impl FileSink {
    /// The changes begun in the file's last records and not finished, by any writer.
    pub fn unfinished(&mut self) -> Result<Vec<Interrupted>, AuditError> {
        let name = self.path().display().to_string();
        let failed = |e| AuditError::Open(name.clone(), e);
        let file = self.handle();
        let length = file.metadata().map_err(failed)?.len();
        file.seek(SeekFrom::Start(length.saturating_sub(UNFINISHED_WINDOW)))
            .map_err(failed)?;
        let mut bytes = Vec::new();
        file.read_to_end(&mut bytes).map_err(failed)?;
        Ok(unfinished_in(&String::from_utf8_lossy(&bytes)))
    }
}

/// The `change_begun` records in `text` that no later record ends. A line that does not parse
/// (the window's first, cut by it) is skipped.
fn unfinished_in(text: &str) -> Vec<Interrupted> {
    let mut open: Vec<Interrupted> = Vec::new();
    for line in text.lines() {
        let Ok(Value::Object(record)) = serde_json::from_str::<Value>(line) else {
            continue;
        };
        let field = |name: &str| record.get(name).and_then(Value::as_str);
        let Some(id) = field("change_id") else {
            continue;
        };
        if field("event") != Some("change_begun") {
            open.retain(|c| c.change_id != id);
            continue;
        }
        open.push(Interrupted {
            instance: field("instance").unwrap_or_default().to_string(),
            change_id: id.to_string(),
            change: field("change").unwrap_or_default().to_string(),
            app: field("app").unwrap_or_default().to_string(),
            realm: field("realm").map(str::to_string),
            user: field("user").map(str::to_string),
            began: field("time").unwrap_or_default().to_string(),
            line: line.to_string(),
        });
    }
    open
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::AuditConfig;

    fn event(name: &'static str, user: &'static str) -> Event<'static> {
        Event {
            event: name,
            app: "intranet",
            user: Some(user),
            outcome: "accepted",
            client: None,
            user_agent: None,
            request_id: None,
            session: None,
            detail: &[],
        }
    }

    fn open(file: &std::path::Path, instance: &str) -> Audit {
        let config = AuditConfig {
            file: Some(file.to_path_buf()),
            ..AuditConfig::none()
        };
        Audit::open(&config, instance).unwrap()
    }

    #[test]
    fn a_change_begun_and_never_ended_is_found_by_the_next_start_of_its_writer_only() {
        let dir = std::env::temp_dir().join(format!("mfa-audit-{:016x}", rand::random::<u64>()));
        let file = dir.join("audit.jsonl");
        let keys = KeyRing::generate();
        let audit = open(&file, "gw1");
        let done = audit
            .begin(&keys, 10, &event("enrollment_completed", "alice"))
            .unwrap();
        done.finish(11, &event("enrollment_completed", "alice"))
            .unwrap();
        let refused = audit
            .begin(&keys, 12, &event("factor_removed", "bob"))
            .unwrap();
        refused
            .fail(12, &event("factor_removed", "bob"), "store", &[])
            .unwrap();
        // Dropped without an end (a cancelled request): said so at once.
        drop(
            audit
                .begin(&keys, 13, &event("session_ended", "dave"))
                .unwrap(),
        );
        // The writer dies here: carol's change has no end.
        std::mem::forget(
            audit
                .begin(&keys, 14, &event("factor_removed", "carol"))
                .unwrap(),
        );
        drop(audit);

        let own = |audit: &Audit| {
            let me = audit.instance().to_string();
            audit.take_interrupted(&keys, |c| c.instance == me)
        };
        assert!(own(&open(&file, "gw2")).is_empty(), "not another writer's");
        let restarted = open(&file, "gw1");
        let interrupted = own(&restarted);
        assert_eq!(interrupted.len(), 1, "{interrupted:?}");
        assert_eq!(interrupted[0].user.as_deref(), Some("carol"));
        assert_eq!(interrupted[0].change, "factor_removed");
        assert!(own(&restarted).is_empty(), "given out once");
        restarted
            .end_interrupted(&keys, 20, &interrupted[0], &[("factor", "totp".into())])
            .unwrap();
        drop(restarted);

        assert!(own(&open(&file, "gw1")).is_empty(), "ended now");
        let checked = super::super::verify_files(std::slice::from_ref(&file), &keys).unwrap();
        assert!(checked.is_ok(), "{checked:?}");
        let text = std::fs::read_to_string(&file).unwrap();
        let last: Value = serde_json::from_str(text.lines().last().unwrap()).unwrap();
        assert_eq!(last["event"], "change_interrupted");
        assert_eq!(last["change_id"], interrupted[0].change_id.as_str());
        assert_eq!(last["factor"], "totp");
        let abandoned: Vec<Value> = text
            .lines()
            .map(|l| serde_json::from_str::<Value>(l).unwrap())
            .filter(|r| r["event"] == "change_abandoned")
            .collect();
        assert_eq!(abandoned.len(), 1);
        assert_eq!(abandoned[0]["user"], "dave");
        assert_eq!(abandoned[0]["change"], "session_ended");
        std::fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn a_begun_change_not_signed_by_the_key_file_is_not_acted_on() {
        let dir = std::env::temp_dir().join(format!("mfa-audit-{:016x}", rand::random::<u64>()));
        let file = dir.join("audit.jsonl");
        let keys = KeyRing::generate();
        let audit = open(&file, "gw1");
        audit
            .record(&keys, 1, &event("login_intercepted", "alice"))
            .unwrap();
        drop(audit);
        let forged = r#"{"app":"intranet","change":"factor_removed","change_id":"0123456789abcdef","event":"change_begun","instance":"gw1","outcome":"pending","time":"2026-01-01T00:00:00Z","user":"alice","seq":2,"prev":"00","mac":"00"}"#;
        let mut text = std::fs::read_to_string(&file).unwrap();
        text.push_str(forged);
        text.push('\n');
        std::fs::write(&file, text).unwrap();
        let reopened = open(&file, "gw1");
        assert!(reopened.take_interrupted(&keys, |_| true).is_empty());
        std::fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn a_cut_first_line_of_the_window_is_skipped() {
        let text = "ge_id\":\"x\"}\n{\"event\":\"change_begun\",\"change_id\":\"a\",\"instance\":\"gw\",\"app\":\"x\",\"change\":\"c\",\"time\":\"t\"}\n";
        let found = unfinished_in(text);
        assert_eq!(found.len(), 1);
        assert_eq!(found[0].change_id, "a");
    }
}
