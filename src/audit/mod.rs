//! The audit trail: one JSON line per event that matters (a login withheld, a code accepted or
//! refused, an enrollment, a session started or ended, a factor changed), in a file whose lines
//! form a chain (`chain`) so that an edited, removed, inserted or reordered record shows
//! (`mfa-gateway audit verify`). Never a secret, code, token or cookie value: users and apps by
//! name, sessions by a prefix of their keyed hash.

pub mod chain;
mod changes;
mod file;
pub mod query;
mod stream;

use crate::config::{AuditConfig, AuditFailure, Fsync};
use crate::keys::KeyRing;
use chain::Position;
pub use changes::{Begun, Interrupted};
use file::FileSink;
use prometheus_client::encoding::EncodeLabelSet;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use serde_json::{Map, Value};
use std::io::Write;
use std::net::IpAddr;
use std::path::{Path, PathBuf};
use std::sync::Mutex;
use stream::StreamSink;

/// How an admin command's records name their writer (after the host name): another writer
/// knows such a change may still be running.
pub const CLI_INSTANCE: &str = "/admin-cli";

/// The label of the audit MAC under the key ring's signing key.
pub const MAC_LABEL: &[u8] = b"audit-chain-v1";

/// One event, with the fields every record has.
pub struct Event<'a> {
    pub event: &'static str,
    pub app: &'a str,
    pub user: Option<&'a str>,
    pub outcome: &'static str,
    pub client: Option<IpAddr>,
    /// The client's `User-Agent` (shortened).
    pub user_agent: Option<&'a str>,
    pub request_id: Option<&'a str>,
    /// The session's stored (keyed) hash; only a prefix is written.
    pub session: Option<&'a [u8; 32]>,
    /// Event-specific fields (method, reason, remaining codes…): never secrets.
    pub detail: &'a [(&'static str, String)],
}

#[derive(Debug, thiserror::Error)]
pub enum AuditError {
    #[error("cannot open the audit file {0}")]
    Open(String, #[source] std::io::Error),
    #[error("cannot write the audit file")]
    Write(#[source] std::io::Error),
    #[error("cannot start the audit stream")]
    Stream(#[source] redis::RedisError),
    #[error("the audit record did not reach every sink (failing: {0})")]
    Sinks(String),
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct SinkLabels {
    pub sink: &'static str,
}

/// Writes every record to the configured sinks: the chained file, stdout, a Redis Stream.
/// All of them get the same sealed line.
pub struct Audit {
    instance: String,
    file: Option<Mutex<FileSink>>,
    /// The chain when there is no file to continue (stdout or stream only).
    memory_chain: Mutex<Position>,
    stdout: bool,
    stream: Option<StreamSink>,
    fsync: Fsync,
    on_failure: AuditFailure,
    /// Records that did not reach a sink, by sink (on `/metrics`).
    pub errors: Family<SinkLabels, Counter>,
    /// Records written (on `/metrics`).
    pub records: Counter,
    /// The last write to the file or stdout failed (cleared by the next that works).
    failing: std::sync::atomic::AtomicBool,
    /// Changes this instance began and never finished before it stopped (found at open).
    interrupted: Mutex<Vec<Interrupted>>,
}

impl Audit {
    /// The sinks `config` names; a Redis Stream sink needs a Tokio runtime to run in.
    pub fn open(config: &AuditConfig, instance: &str) -> Result<Audit, AuditError> {
        let file = config
            .file
            .as_deref()
            .map(FileSink::open)
            .transpose()?
            .map(Mutex::new);
        let errors = Family::<SinkLabels, Counter>::default();
        let stream = config
            .redis_stream
            .as_ref()
            .map(|s| {
                StreamSink::start(
                    s,
                    errors
                        .get_or_create(&SinkLabels {
                            sink: "redis_stream",
                        })
                        .clone(),
                )
            })
            .transpose()
            .map_err(AuditError::Stream)?;
        let interrupted = match &file {
            Some(file) => file.lock().map_err(|_| poisoned())?.unfinished()?,
            None => Vec::new(),
        };
        Ok(Audit {
            instance: instance.to_string(),
            file,
            memory_chain: Mutex::new(Position::start()),
            stdout: config.stdout,
            stream,
            fsync: config.fsync,
            on_failure: config.on_failure,
            errors,
            records: Counter::default(),
            failing: std::sync::atomic::AtomicBool::new(false),
            interrupted: Mutex::new(interrupted),
        })
    }

    /// The trail as an admin command writes it: named `<host>/admin-cli`, each record on disk
    /// before the command reports success.
    pub fn for_admin_command(config: &AuditConfig) -> Result<Audit, AuditError> {
        let host = std::fs::read_to_string("/proc/sys/kernel/hostname")
            .map(|h| h.trim().to_string())
            .unwrap_or_else(|_| "host".into());
        let config = AuditConfig {
            fsync: Fsync::Always,
            ..config.clone()
        };
        Audit::open(&config, &format!("{host}{CLI_INSTANCE}"))
    }

    /// No sink at all.
    pub fn none() -> Audit {
        Audit {
            instance: String::new(),
            file: None,
            memory_chain: Mutex::new(Position::start()),
            stdout: false,
            stream: None,
            fsync: Fsync::Never,
            on_failure: AuditFailure::Continue,
            errors: Family::default(),
            records: Counter::default(),
            failing: std::sync::atomic::AtomicBool::new(false),
            interrupted: Mutex::new(Vec::new()),
        }
    }

    /// True while a sink is failing: the last file or stdout write failed, or the stream is
    /// not taking records.
    pub fn failing(&self) -> bool {
        self.failing.load(std::sync::atomic::Ordering::Acquire)
            || self.stream.as_ref().is_some_and(|s| !s.healthy())
    }

    pub fn path(&self) -> Option<PathBuf> {
        let file = self.file.as_ref()?.lock().ok()?;
        Some(file.path().to_path_buf())
    }

    /// True when sign-ins must wait while a sink fails (`on_failure: refuse`).
    pub fn refuses_on_failure(&self) -> bool {
        self.on_failure == AuditFailure::Refuse
    }

    /// How often the file is forced to disk in the background, if at all.
    pub fn sync_interval(&self) -> Option<std::time::Duration> {
        match (self.fsync, &self.file) {
            (Fsync::Interval(every), Some(_)) => Some(every),
            _ => None,
        }
    }

    /// Forces the file's written records to disk (the periodic fsync). The disk wait happens
    /// outside the writers' lock: sign-ins are not held up by it.
    pub fn sync(&self) -> Result<(), AuditError> {
        let Some(file) = &self.file else {
            return Ok(());
        };
        let handle = file.lock().map_err(|_| poisoned())?.take_dirty_handle()?;
        match handle {
            Some(handle) => handle.sync_data().map_err(AuditError::Write),
            None => Ok(()),
        }
    }

    /// Opens the file again (SIGHUP, after logrotate moved it).
    pub fn reopen(&self) -> Result<(), AuditError> {
        let Some(file) = &self.file else {
            return Ok(());
        };
        let mut file = file.lock().map_err(|_| poisoned())?;
        file.reopen()
    }

    /// Waits until the stream sink has sent what is queued (a short-lived admin command
    /// before it exits); true when nothing is left.
    pub async fn drain(&self, limit: std::time::Duration) -> bool {
        match &self.stream {
            Some(stream) => stream.drain(limit).await,
            None => true,
        }
    }

    /// Writes `event` at `now` to every sink. An error names the sinks it did not reach (or
    /// that are failing); the caller decides what that means.
    pub fn record(&self, keys: &KeyRing, now: i64, event: &Event<'_>) -> Result<(), AuditError> {
        self.write(keys, self.fields(now, event))
    }

    /// Seals `fields` and writes the line to every sink.
    fn write(&self, keys: &KeyRing, fields: Map<String, Value>) -> Result<(), AuditError> {
        let mut failing: Vec<&'static str> = Vec::new();
        let line = match &self.file {
            Some(file) => {
                let written = file.lock().map_err(|_| poisoned()).and_then(|mut f| {
                    let line = f.append(fields.clone(), keys)?;
                    if self.fsync == Fsync::Always {
                        f.sync()?;
                    }
                    Ok(line)
                });
                match written {
                    Ok(line) => line,
                    Err(error) => {
                        tracing::error!(error = %crate::ops::error_chain(&error), "audit file not written");
                        failing.push("file");
                        self.seal_in_memory(fields, keys)
                    }
                }
            }
            None => self.seal_in_memory(fields, keys),
        };
        if self.stdout {
            let mut out = std::io::stdout().lock();
            if writeln!(out, "{line}").and_then(|()| out.flush()).is_err() {
                failing.push("stdout");
            }
        }
        self.failing
            .store(!failing.is_empty(), std::sync::atomic::Ordering::Release);
        // Queued records the stream task counts itself when it cannot add them; a full queue
        // is this record lost for the stream, counted here.
        let mut stream_down = false;
        if let Some(stream) = &self.stream {
            if !stream.send(line) {
                tracing::error!("audit stream queue full: record lost for the stream");
                failing.push("redis_stream");
            } else if !stream.healthy() {
                stream_down = true;
            }
        }
        for sink in &failing {
            self.errors.get_or_create(&SinkLabels { sink }).inc();
        }
        if stream_down && !failing.contains(&"redis_stream") {
            failing.push("redis_stream (not taking records)");
        }
        if failing.is_empty() {
            self.records.inc();
            Ok(())
        } else {
            Err(AuditError::Sinks(failing.join(", ")))
        }
    }

    fn seal_in_memory(&self, fields: Map<String, Value>, keys: &KeyRing) -> String {
        let mut position = match self.memory_chain.lock() {
            Ok(p) => p,
            Err(poisoned) => poisoned.into_inner(),
        };
        let line = chain::seal(fields, &position, |data| keys.sign(MAC_LABEL, data));
        *position = Position {
            seq: position.seq + 1,
            prev: chain::line_hash(&line),
        };
        line
    }

    fn fields(&self, now: i64, event: &Event<'_>) -> Map<String, Value> {
        let mut fields = Map::new();
        fields.insert("time".into(), crate::ops::time::rfc3339(now).into());
        fields.insert("event".into(), event.event.into());
        fields.insert("app".into(), event.app.into());
        fields.insert("outcome".into(), event.outcome.into());
        fields.insert("instance".into(), self.instance.clone().into());
        if let Some(user) = event.user {
            fields.insert("user".into(), user.into());
        }
        if let Some(client) = event.client {
            fields.insert("client_ip".into(), client.to_string().into());
        }
        if let Some(agent) = event.user_agent.filter(|a| !a.is_empty()) {
            fields.insert("user_agent".into(), agent.into());
        }
        if let Some(id) = event.request_id {
            fields.insert("request_id".into(), id.into());
        }
        if let Some(session) = event.session {
            let prefix = crate::ops::hex::hex(session.get(..8).unwrap_or_default());
            fields.insert("session".into(), prefix.into());
        }
        for (name, value) in event.detail {
            fields.insert((*name).into(), Value::from(value.clone()));
        }
        fields
    }
}

fn poisoned() -> AuditError {
    AuditError::Write(std::io::Error::other("audit lock poisoned"))
}

/// What `audit verify` found in an intact chain.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Verified {
    pub records: usize,
    /// The first record's number: above 1 when the first file continues an earlier one.
    pub first_seq: Option<u64>,
}

/// `audit verify`: the records of `files` (in this order) checked as one chain under the key
/// file's signing key. A break is reported as `file:line`.
pub fn verify_files(files: &[PathBuf], keys: &KeyRing) -> Result<Result<Verified, String>, String> {
    let mut lines: Vec<(usize, usize, String)> = Vec::new();
    // Per file: its last line's number when the file does not end in a newline (a record cut
    // off by a crash or a full disk, not yet set aside by a restart).
    let mut cut_off: Vec<Option<usize>> = Vec::new();
    for (index, file) in files.iter().enumerate() {
        let bytes = std::fs::read(file).map_err(|e| format!("{}: {e}", file.display()))?;
        let text = String::from_utf8_lossy(&bytes);
        let before = lines.len();
        lines.extend(
            text.lines()
                .enumerate()
                .map(|(n, l)| (index, n + 1, l.to_string())),
        );
        cut_off.push((!bytes.is_empty() && !bytes.ends_with(b"\n")).then(|| lines.len() - before));
    }
    let checked = chain::verify(lines.iter().map(|(_, _, l)| l.as_str()), |data| {
        keys.sign(MAC_LABEL, data)
    });
    Ok(match checked {
        Ok(records) => Ok(Verified {
            records,
            first_seq: lines
                .iter()
                .find_map(|(_, _, l)| serde_json::from_str::<Value>(l).ok())
                .and_then(|v| v.get("seq").and_then(Value::as_u64)),
        }),
        Err(broken) => {
            let at = broken.line();
            let (file, line) = lines
                .get(at.saturating_sub(1))
                .map_or((0, at), |(f, n, _)| (*f, *n));
            let name = files
                .get(file)
                .map(|f| f.display().to_string())
                .unwrap_or_default();
            let incomplete = !matches!(broken, chain::Broken::OutOfChain(_))
                && cut_off.get(file).copied().flatten() == Some(line);
            if incomplete {
                return Ok(Err(format!(
                    "{name}:{line}: incomplete: cut off by a crash or a full disk, not edited (the {} records before it are intact; the gateway sets it aside at its next start)",
                    at - 1
                )));
            }
            Err(format!("{name}:{line}: {}", broken.reason()))
        }
    })
}

/// `audit verify` of one file.
pub fn verify_file(
    file: &Path,
    keys: &KeyRing,
) -> Result<Result<usize, chain::Broken>, std::io::Error> {
    let text = std::fs::read_to_string(file)?;
    Ok(chain::verify(text.lines(), |data| {
        keys.sign(MAC_LABEL, data)
    }))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn event(name: &'static str) -> Event<'static> {
        Event {
            event: name,
            app: "intranet",
            user: Some("alice"),
            outcome: "accepted",
            client: None,
            user_agent: None,
            request_id: None,
            session: None,
            detail: &[],
        }
    }

    fn file_only(file: &Path) -> AuditConfig {
        AuditConfig {
            file: Some(file.to_path_buf()),
            ..AuditConfig::none()
        }
    }

    #[test]
    fn two_writers_on_one_file_keep_one_chain() {
        let dir = std::env::temp_dir().join(format!("mfa-audit-{:016x}", rand::random::<u64>()));
        let file = dir.join("audit.jsonl");
        let keys = KeyRing::generate();
        let gateway = Audit::open(&file_only(&file), "gateway").unwrap();
        let admin = Audit::open(&file_only(&file), "cli").unwrap();
        for i in 0..6 {
            let writer = if i % 3 == 0 { &admin } else { &gateway };
            writer
                .record(&keys, 1_700_000_000 + i, &event("e"))
                .unwrap();
        }
        let text = std::fs::read_to_string(&file).unwrap();
        assert_eq!(text.lines().count(), 6);
        assert_eq!(verify_file(&file, &keys).unwrap(), Ok(6));
        // A writer opened later continues the same chain too.
        Audit::open(&file_only(&file), "late")
            .unwrap()
            .record(&keys, 1_700_000_100, &event("e"))
            .unwrap();
        assert_eq!(verify_file(&file, &keys).unwrap(), Ok(7));
        let _ = std::fs::remove_dir_all(dir);
    }

    #[test]
    fn a_record_cut_off_is_told_apart_from_forgery_and_set_aside_at_the_next_start() {
        let dir = std::env::temp_dir().join(format!("mfa-audit-{:016x}", rand::random::<u64>()));
        let file = dir.join("audit.jsonl");
        let keys = KeyRing::generate();
        let audit = Audit::open(&file_only(&file), "gateway").unwrap();
        for i in 0..3 {
            audit.record(&keys, 1_700_000_000 + i, &event("e")).unwrap();
        }
        drop(audit);
        // A crash mid-write: half a record, cut inside a character, no newline.
        let whole = std::fs::read(&file).unwrap();
        let last = std::str::from_utf8(&whole).unwrap().lines().last().unwrap();
        let mut fragment = last.as_bytes()[..40].to_vec();
        fragment.extend_from_slice(&"c\u{e1}rol".as_bytes()[..2]);
        let mut torn = whole.clone();
        torn.extend_from_slice(&fragment);
        std::fs::write(&file, &torn).unwrap();
        let found = verify_files(std::slice::from_ref(&file), &keys).unwrap();
        let message = found.unwrap_err();
        assert!(
            message.ends_with(":4: incomplete: cut off by a crash or a full disk, not edited (the 3 records before it are intact; the gateway sets it aside at its next start)"),
            "{message}"
        );
        // An edited record is still called what it is.
        let edited = String::from_utf8(whole.clone())
            .unwrap()
            .replacen("alice", "mallory", 1);
        std::fs::write(dir.join("edited.jsonl"), edited).unwrap();
        let found = verify_files(&[dir.join("edited.jsonl")], &keys).unwrap();
        assert!(found.unwrap_err().contains(":1: its MAC does not match"));

        // The next start sets the fragment aside and the chain goes on from the last whole
        // record, with a record that says so.
        std::fs::write(&file, &torn).unwrap();
        let audit = Audit::open(&file_only(&file), "gateway").unwrap();
        audit.record(&keys, 1_700_000_010, &event("after")).unwrap();
        assert_eq!(verify_file(&file, &keys).unwrap(), Ok(5));
        let text = std::fs::read_to_string(&file).unwrap();
        let notice: Value = serde_json::from_str(text.lines().nth(3).unwrap()).unwrap();
        assert_eq!(notice["event"], "audit_record_torn");
        assert_eq!(notice["torn_bytes"], fragment.len());
        assert_eq!(notice["kept_in"], "audit.jsonl.torn");
        assert_eq!(notice["seq"], 4);
        let kept = std::fs::read(dir.join("audit.jsonl.torn")).unwrap();
        assert_eq!(kept, [fragment.as_slice(), b"\n"].concat());
        let after: Value = serde_json::from_str(text.lines().nth(4).unwrap()).unwrap();
        assert_eq!(after["event"], "after");
        let _ = std::fs::remove_dir_all(dir);
    }

    #[test]
    fn a_writer_finding_another_writers_cut_off_record_sets_it_aside_too() {
        let dir = std::env::temp_dir().join(format!("mfa-audit-{:016x}", rand::random::<u64>()));
        let file = dir.join("audit.jsonl");
        let keys = KeyRing::generate();
        let gateway = Audit::open(&file_only(&file), "gateway").unwrap();
        gateway.record(&keys, 1_700_000_000, &event("e")).unwrap();
        // An admin command killed mid-write.
        let mut f = std::fs::OpenOptions::new()
            .append(true)
            .open(&file)
            .unwrap();
        std::io::Write::write_all(&mut f, b"{\"app\":\"-\",\"ev").unwrap();
        drop(f);
        gateway.record(&keys, 1_700_000_001, &event("e")).unwrap();
        assert_eq!(verify_file(&file, &keys).unwrap(), Ok(3));
        let _ = std::fs::remove_dir_all(dir);
    }

    /// A real full disk: a 16 KiB tmpfs (mounting it needs root, as `scripts/test` runs).
    #[test]
    fn a_full_disk_leaves_no_fragment_for_the_next_record() {
        let dir =
            std::env::temp_dir().join(format!("mfa-audit-full-{:016x}", rand::random::<u64>()));
        std::fs::create_dir_all(&dir).unwrap();
        let mounted = std::process::Command::new("mount")
            .args(["-t", "tmpfs", "-o", "size=16k", "tmpfs"])
            .arg(&dir)
            .status()
            .expect("mount runs");
        assert!(mounted.success(), "mounting a 16 KiB tmpfs needs root");
        let file = dir.join("audit.jsonl");
        let keys = KeyRing::generate();
        let audit = Audit::open(&file_only(&file), "gateway").unwrap();
        let (mut written, mut refused) = (0, 0);
        for i in 0..400 {
            match audit.record(&keys, 1_700_000_000 + i, &event("a record of some length")) {
                Ok(()) => written += 1,
                Err(_) => refused += 1,
            }
        }
        let bytes = std::fs::read(&file).unwrap();
        let checked = verify_file(&file, &keys).unwrap();
        drop(audit);
        let _ = std::process::Command::new("umount").arg(&dir).status();
        let _ = std::fs::remove_dir_all(&dir);
        assert!(
            written > 10 && refused > 0,
            "{written} written, {refused} refused"
        );
        assert!(bytes.ends_with(b"\n"), "a fragment was left");
        assert_eq!(checked, Ok(written));
    }
}
