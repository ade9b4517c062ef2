//! The chained JSON-lines file: appended under an exclusive lock (so an admin command or a
//! second process continues the same chain), reopened on SIGHUP for logrotate, forced to disk
//! as the config says.

use super::chain::{self, Position};
use super::{AuditError, MAC_LABEL};
use crate::keys::KeyRing;
use serde_json::{Map, Value};
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

fn open_file(path: &Path) -> Result<(std::fs::File, Option<Position>, u64), AuditError> {
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
    let position = last_line(&mut file)
        .map_err(failed)?
        .and_then(|line| Position::after(&line));
    let length = file.metadata().map_err(failed)?.len();
    Ok((file, position, length))
}

impl FileSink {
    pub fn open(path: &Path) -> Result<FileSink, AuditError> {
        let (file, position, length) = open_file(path)?;
        Ok(FileSink {
            path: path.to_path_buf(),
            file,
            position: position.unwrap_or_else(Position::start),
            length,
            dirty: false,
        })
    }

    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Opens the path again (logrotate moved the file away). A new, empty file continues the
    /// chain of the old one: its first record names the old file's last, so `audit verify`
    /// over the files in order sees one chain.
    pub fn reopen(&mut self) -> Result<(), AuditError> {
        self.sync()?;
        let (file, position, length) = open_file(&self.path)?;
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
        let length = self.file.metadata().map_err(AuditError::Write)?.len();
        if length != self.length {
            if let Some(position) = last_line(&mut self.file)
                .map_err(AuditError::Write)?
                .and_then(|line| Position::after(&line))
            {
                self.position = position;
            }
        }
        let line = chain::seal(fields, &self.position, |data| keys.sign(MAC_LABEL, data));
        let bytes = format!("{line}\n");
        self.file
            .write_all(bytes.as_bytes())
            .map_err(AuditError::Write)?;
        self.length = length + bytes.len() as u64;
        self.position = Position {
            seq: self.position.seq + 1,
            prev: chain::line_hash(&line),
        };
        self.dirty = true;
        Ok(line)
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
