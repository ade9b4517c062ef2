//! The audit trail: one JSON line per event that matters (a login withheld, a code accepted or
//! refused, an enrollment, a session started or ended, a factor changed), in a file whose lines
//! form a chain (`chain`) so that an edited, removed, inserted or reordered record shows
//! (`mfa-gateway audit verify`). Never a secret, code, token or cookie value: users and apps by
//! name, sessions by a prefix of their keyed hash.

pub mod chain;

use crate::keys::KeyRing;
use chain::Position;
use serde_json::{Map, Value};
use std::io::{Read, Seek, SeekFrom, Write};
use std::net::IpAddr;
use std::path::{Path, PathBuf};
use std::sync::Mutex;

/// The label of the audit MAC under the key ring's signing key.
pub const MAC_LABEL: &[u8] = b"audit-chain-v1";

/// One event, with the fields every record has.
pub struct Event<'a> {
    pub event: &'static str,
    pub app: &'a str,
    pub user: Option<&'a str>,
    pub outcome: &'static str,
    pub client: Option<IpAddr>,
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
}

struct FileSink {
    file: std::fs::File,
    position: Position,
    /// The file's length after this process's last write: when it differs, another writer
    /// (an admin command, another gateway) appended meanwhile and the chain goes on from the
    /// file's last line instead.
    length: u64,
}

/// Writes the chain to a JSON-lines file (appending; a restarted gateway continues the chain).
pub struct Audit {
    path: Option<PathBuf>,
    sink: Mutex<Option<FileSink>>,
    instance: String,
}

/// The last line of a file, read from its end (audit files grow large).
fn last_line(file: &mut std::fs::File) -> std::io::Result<Option<String>> {
    let length = file.metadata()?.len();
    file.seek(SeekFrom::Start(length.saturating_sub(64 * 1024)))?;
    let mut tail = String::new();
    file.read_to_string(&mut tail)?;
    Ok(tail
        .lines()
        .rev()
        .find(|l| !l.trim().is_empty())
        .map(str::to_string))
}

impl Audit {
    /// An audit trail written to `path` (none: events are only counted in the log).
    pub fn open(path: Option<&Path>, instance: &str) -> Result<Audit, AuditError> {
        let sink = match path {
            None => None,
            Some(path) => {
                if let Some(dir) = path.parent() {
                    std::fs::create_dir_all(dir)
                        .map_err(|e| AuditError::Open(path.display().to_string(), e))?;
                }
                let mut file = std::fs::OpenOptions::new()
                    .create(true)
                    .append(true)
                    .read(true)
                    .open(path)
                    .map_err(|e| AuditError::Open(path.display().to_string(), e))?;
                let position = last_line(&mut file)
                    .map_err(|e| AuditError::Open(path.display().to_string(), e))?
                    .and_then(|line| Position::after(&line))
                    .unwrap_or_else(Position::start);
                let length = file
                    .metadata()
                    .map_err(|e| AuditError::Open(path.display().to_string(), e))?
                    .len();
                Some(FileSink {
                    file,
                    position,
                    length,
                })
            }
        };
        Ok(Audit {
            path: path.map(Path::to_path_buf),
            sink: Mutex::new(sink),
            instance: instance.to_string(),
        })
    }

    pub fn path(&self) -> Option<&Path> {
        self.path.as_deref()
    }

    /// Appends `event` at `now`. A failure is logged and returned; the caller decides.
    pub fn record(&self, keys: &KeyRing, now: i64, event: &Event<'_>) -> Result<(), AuditError> {
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
        if let Some(id) = event.request_id {
            fields.insert("request_id".into(), id.into());
        }
        if let Some(session) = event.session {
            let prefix: String = session.iter().take(8).map(|b| format!("{b:02x}")).collect();
            fields.insert("session".into(), prefix.into());
        }
        for (name, value) in event.detail {
            fields.insert((*name).into(), Value::from(value.clone()));
        }
        let Ok(mut guard) = self.sink.lock() else {
            return Err(AuditError::Write(std::io::Error::other(
                "audit lock poisoned",
            )));
        };
        let Some(sink) = guard.as_mut() else {
            return Ok(());
        };
        // An exclusive lock on the file for the append, so several processes can share one
        // chain: whoever writes next continues from the line the other one wrote.
        sink.file.lock().map_err(AuditError::Write)?;
        let written = append(sink, fields, keys);
        let unlocked = sink.file.unlock().map_err(AuditError::Write);
        written.and(unlocked)
    }
}

/// Seals `fields` after the file's last record and appends the line (the file is locked).
fn append(
    sink: &mut FileSink,
    fields: Map<String, Value>,
    keys: &KeyRing,
) -> Result<(), AuditError> {
    let length = sink.file.metadata().map_err(AuditError::Write)?.len();
    if length != sink.length {
        if let Some(position) = last_line(&mut sink.file)
            .map_err(AuditError::Write)?
            .and_then(|line| Position::after(&line))
        {
            sink.position = position;
        }
    }
    let line = chain::seal(fields, &sink.position, |data| keys.sign(MAC_LABEL, data));
    let bytes = format!("{line}\n");
    sink.file
        .write_all(bytes.as_bytes())
        .map_err(AuditError::Write)?;
    sink.length = length + bytes.len() as u64;
    sink.position = Position {
        seq: sink.position.seq + 1,
        prev: chain::line_hash(&line),
    };
    Ok(())
}

/// `audit verify`: the chain of `file` checked under the key file's signing key.
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
            request_id: None,
            session: None,
            detail: &[],
        }
    }

    #[test]
    fn two_writers_on_one_file_keep_one_chain() {
        let dir = std::env::temp_dir().join(format!("mfa-audit-{:016x}", rand::random::<u64>()));
        let file = dir.join("audit.jsonl");
        let keys = KeyRing::generate();
        let gateway = Audit::open(Some(&file), "gateway").unwrap();
        let admin = Audit::open(Some(&file), "cli").unwrap();
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
        Audit::open(Some(&file), "late")
            .unwrap()
            .record(&keys, 1_700_000_100, &event("e"))
            .unwrap();
        assert_eq!(verify_file(&file, &keys).unwrap(), Ok(7));
        let _ = std::fs::remove_dir_all(dir);
    }
}
