//! The chained JSON-lines file: appended under an exclusive lock (so an admin command or a
//! second process continues the same chain), reopened on SIGHUP for logrotate, forced to disk
//! as the config says.

use super::chain::{self, Position};
use super::{AuditError, MAC_LABEL};
use crate::keys::KeyRing;
use serde_json::{Map, Value};
use sha2::Digest;
use std::io::{Read, Seek, SeekFrom, Write};
use std::path::{Path, PathBuf};

pub struct FileSink {
    path: PathBuf,
    file: std::fs::File,
    position: Position,
    /// The file's length after this process's last write: when it differs, another writer
    /// appended meanwhile and the chain goes on from the file's last line instead.
    length: u64,
    /// Written since the last fsync.
    pub dirty: bool,
    /// A cut-off record set aside and not yet told of in the chain.
    torn: Option<Torn>,
}

/// The last line of a file, read from its end (audit files grow large).
fn last_line(file: &mut std::fs::File) -> std::io::Result<Option<String>> {
    let length = file.metadata()?.len();
    file.seek(SeekFrom::Start(length.saturating_sub(64 * 1024)))?;
    // The window may start inside a character of a record before the last: lossy is fine
    // there, only the last line is kept.
    let mut bytes = Vec::new();
    file.read_to_end(&mut bytes)?;
    let tail = String::from_utf8_lossy(&bytes);
    Ok(tail
        .lines()
        .rev()
        .find(|l| !l.trim().is_empty())
        .map(str::to_string))
}

/// A record cut off by a crash or a full disk, set aside: how long it was, the file its bytes
/// were moved to, and their SHA-256.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Torn {
    pub bytes: u64,
    pub kept_in: PathBuf,
    pub sha256: String,
}

/// Moves an incomplete last line (the file does not end in a newline: a write was cut off) to
/// `<file>.torn`, and cuts the file back to its last complete record, so the chain goes on from
/// that record instead of being written onto the fragment (which `audit verify` would report as
/// forged). Nothing is lost: the side file keeps the bytes, and the record that says so names
/// their hash.
fn set_aside_torn_tail(file: &mut std::fs::File, path: &Path) -> std::io::Result<Option<Torn>> {
    let length = file.metadata()?.len();
    if length == 0 {
        return Ok(None);
    }
    let mut last = [0u8; 1];
    file.seek(SeekFrom::Start(length - 1))?;
    file.read_exact(&mut last)?;
    if last[0] == b'\n' {
        return Ok(None);
    }
    // A record is a few hundred bytes; a fragment longer than this window is cut at it.
    let from = length.saturating_sub(1024 * 1024);
    file.seek(SeekFrom::Start(from))?;
    let mut tail = Vec::new();
    file.read_to_end(&mut tail)?;
    let start = tail.iter().rposition(|b| *b == b'\n').map_or(0, |i| i + 1);
    let fragment = tail.get(start..).unwrap_or_default();
    let mut side_name = path.as_os_str().to_owned();
    side_name.push(".torn");
    let kept_in = PathBuf::from(side_name);
    let mut side = std::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(&kept_in)?;
    side.write_all(fragment)?;
    side.write_all(b"\n")?;
    side.sync_data()?;
    file.set_len(from + start as u64)?;
    file.sync_data()?;
    Ok(Some(Torn {
        bytes: fragment.len() as u64,
        kept_in,
        sha256: crate::ops::hex::hex(&sha2::Sha256::digest(fragment)),
    }))
}

type Opened = (std::fs::File, Option<Position>, u64, Option<Torn>);

fn open_file(path: &Path) -> Result<Opened, AuditError> {
    let failed = |e| AuditError::Open(path.display().to_string(), e);
    if let Some(dir) = path.parent() {
        std::fs::create_dir_all(dir).map_err(failed)?;
    }
    let mut file = std::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .read(true)
        .open(path)
        .map_err(failed)?;
    file.lock().map_err(failed)?;
    let torn = set_aside_torn_tail(&mut file, path);
    file.unlock().map_err(failed)?;
    let torn = torn.map_err(failed)?;
    let position = last_line(&mut file)
        .map_err(failed)?
        .and_then(|line| Position::after(&line));
    let length = file.metadata().map_err(failed)?.len();
    Ok((file, position, length, torn))
}

/// The record that tells of a cut-off record set aside (its time and writer those of the
/// record being written).
fn torn_notice(fields: &Map<String, Value>, torn: &Torn) -> Map<String, Value> {
    let mut notice = Map::new();
    for kept in ["time", "instance"] {
        if let Some(value) = fields.get(kept) {
            notice.insert(kept.into(), value.clone());
        }
    }
    notice.insert("event".into(), "audit_record_torn".into());
    notice.insert("app".into(), "-".into());
    notice.insert("outcome".into(), "set_aside".into());
    notice.insert("reason".into(), "cut off by a crash or a full disk".into());
    notice.insert("torn_bytes".into(), torn.bytes.into());
    notice.insert("torn_sha256".into(), torn.sha256.clone().into());
    notice.insert(
        "kept_in".into(),
        torn.kept_in
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_default()
            .into(),
    );
    notice
}

impl FileSink {
    pub fn open(path: &Path) -> Result<FileSink, AuditError> {
        let (file, position, length, torn) = open_file(path)?;
        Ok(FileSink {
            path: path.to_path_buf(),
            file,
            position: position.unwrap_or_else(Position::start),
            length,
            dirty: false,
            torn,
        })
    }

    pub fn path(&self) -> &Path {
        &self.path
    }

    pub fn handle(&mut self) -> &mut std::fs::File {
        &mut self.file
    }

    /// Opens the path again (logrotate moved the file away). A new, empty file continues the
    /// chain of the old one: its first record names the old file's last, so `audit verify`
    /// over the files in order sees one chain.
    pub fn reopen(&mut self) -> Result<(), AuditError> {
        self.sync()?;
        let (file, position, length, torn) = open_file(&self.path)?;
        self.torn = self.torn.take().or(torn);
        self.file = file;
        if let Some(position) = position {
            self.position = position;
        }
        self.length = length;
        Ok(())
    }

    /// Seals `fields` after the file's last record and appends the line; the sealed line.
    pub fn append(
        &mut self,
        fields: Map<String, Value>,
        keys: &KeyRing,
    ) -> Result<String, AuditError> {
        // An exclusive lock for the append, so several processes can share one chain.
        self.file.lock().map_err(AuditError::Write)?;
        let written = self.append_locked(fields, keys);
        let unlocked = self.file.unlock().map_err(AuditError::Write);
        let line = written?;
        unlocked?;
        Ok(line)
    }

    fn append_locked(
        &mut self,
        fields: Map<String, Value>,
        keys: &KeyRing,
    ) -> Result<String, AuditError> {
        let mut length = self.file.metadata().map_err(AuditError::Write)?.len();
        if length != self.length {
            // Another writer appended meanwhile, and may have been cut off doing it.
            if let Some(torn) =
                set_aside_torn_tail(&mut self.file, &self.path).map_err(AuditError::Write)?
            {
                self.torn = Some(torn);
                length = self.file.metadata().map_err(AuditError::Write)?.len();
            }
            if let Some(position) = last_line(&mut self.file)
                .map_err(AuditError::Write)?
                .and_then(|line| Position::after(&line))
            {
                self.position = position;
            }
        }
        if let Some(torn) = self.torn.clone() {
            let notice = torn_notice(&fields, &torn);
            length = self.write_line(notice, keys, length)?.1;
            self.torn = None;
        }
        let (line, _) = self.write_line(fields, keys, length)?;
        Ok(line)
    }

    /// Seals and appends one line at `length`; the line and the file's new length. A write
    /// that fails part-way is cut back off, so no fragment stays for the next record to land
    /// on.
    fn write_line(
        &mut self,
        fields: Map<String, Value>,
        keys: &KeyRing,
        length: u64,
    ) -> Result<(String, u64), AuditError> {
        let line = chain::seal(fields, &self.position, |data| keys.sign(MAC_LABEL, data));
        let bytes = format!("{line}\n");
        if let Err(error) = self.file.write_all(bytes.as_bytes()) {
            let _ = self.file.set_len(length);
            self.length = length;
            return Err(AuditError::Write(error));
        }
        let length = length + bytes.len() as u64;
        self.length = length;
        self.position = Position {
            seq: self.position.seq + 1,
            prev: chain::line_hash(&line),
        };
        self.dirty = true;
        Ok((line, length))
    }

    /// Forces what was written to disk.
    pub fn sync(&mut self) -> Result<(), AuditError> {
        if self.dirty {
            self.file.sync_data().map_err(AuditError::Write)?;
            self.dirty = false;
        }
        Ok(())
    }

    /// A second handle on the file to sync through when something was written since the last
    /// time (the periodic fsync runs on it without holding up writers).
    pub fn take_dirty_handle(&mut self) -> Result<Option<std::fs::File>, AuditError> {
        if !self.dirty {
            return Ok(None);
        }
        self.dirty = false;
        self.file.try_clone().map(Some).map_err(AuditError::Write)
    }
}
