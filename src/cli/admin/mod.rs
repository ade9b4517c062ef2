//! `mfa-gateway user …` and `session …`: the admin commands, printed as a table or as JSON
//! lines. What they do is in `crate::admin`; this is parsing and printing: the commands and
//! what they share here, each command's subcommands in a file of its own.

mod sessions;
mod users;

pub use sessions::{client, session};
pub use users::user;

use crate::admin::{Admin, AdminError};
use crate::config;
use clap::{Args, Subcommand};
use std::io::{BufRead, Write};
use std::path::PathBuf;
use std::process::ExitCode;

#[derive(Debug, Args)]
pub struct Common {
    /// The gateway's configuration (its stores, key file and audit trail).
    #[arg(long, short, env = "MFA_CONFIG")]
    config: PathBuf,
    /// Who runs the command, for the audit trail (default: the login name).
    #[arg(long, env = "MFA_OPERATOR")]
    operator: Option<String>,
    /// The app whose users are meant (its realm); needed when the config has several realms.
    #[arg(long)]
    app: Option<String>,
    /// The realm whose users are meant, instead of --app.
    #[arg(long)]
    realm: Option<String>,
}

#[derive(Debug, Subcommand)]
pub enum UserCommand {
    /// Enrolled (and locked) users: methods, enrollment, last use, lock.
    List {
        #[command(flatten)]
        common: Common,
        /// One JSON object per line instead of a table.
        #[arg(long)]
        json: bool,
    },
    /// One user: factors, recovery codes left, lock, sessions, remembered browsers, pending
    /// invitation.
    Show {
        user: String,
        #[command(flatten)]
        common: Common,
        /// One JSON object instead of text.
        #[arg(long)]
        json: bool,
    },
    /// Remove the user's factors (they enroll again at their next sign-in) and end their
    /// sessions.
    Reset {
        user: String,
        #[command(flatten)]
        common: Common,
        /// Do not ask for confirmation.
        #[arg(long)]
        yes: bool,
    },
    /// Who has not enrolled yet: users seen signing in with their password but without a
    /// factor, or (with --users) each name of a list without one; and how they enroll now.
    Pending {
        #[command(flatten)]
        common: Common,
        /// A file of user names, one per line (e.g. exported from the app): list those of
        /// them without a factor, seen or not.
        #[arg(long)]
        users: Option<std::path::PathBuf>,
        /// One JSON object per line instead of a table.
        #[arg(long)]
        json: bool,
    },
    /// Browsers remembered for the user (each passed their second factor before; wrong
    /// codes from elsewhere never lock them out).
    Devices {
        user: String,
        #[command(flatten)]
        common: Common,
        /// One JSON object per line instead of a table.
        #[arg(long)]
        json: bool,
    },
    /// Forget a remembered browser of the user (by the id `user devices` shows), or all of
    /// them: it is then judged as any new browser.
    Forget {
        user: String,
        /// The browser's id, or its first 8+ characters.
        device: Option<String>,
        #[command(flatten)]
        common: Common,
        /// Forget every browser remembered for the user.
        #[arg(long, conflicts_with = "device")]
        all: bool,
    },
    /// Refuse the user's sign-ins (even with a correct code) until unlocked.
    Lock {
        user: String,
        #[command(flatten)]
        common: Common,
        /// How long (e.g. 30m, 24h); default until unlocked (ten years).
        #[arg(long = "for")]
        duration: Option<String>,
    },
    /// Lift the user's lock, automatic or not, and forget their failed attempts.
    Unlock {
        user: String,
        #[command(flatten)]
        common: Common,
    },
    /// Print a one-time enrollment code for apps with `enrollment: invite`.
    Invite {
        user: String,
        #[command(flatten)]
        common: Common,
        /// How long the code stays valid.
        #[arg(long, default_value = "72h")]
        valid_for: String,
    },
}

#[derive(Debug, Subcommand)]
pub enum ClientCommand {
    /// Client addresses locked now (too many wrong codes, or logins the app refused), and
    /// until when.
    List {
        #[command(flatten)]
        common: Common,
        /// One JSON object per line instead of a table.
        #[arg(long)]
        json: bool,
    },
    /// Lift every lock on an address (codes and logins) and forget its failed attempts.
    Unlock {
        /// The address, as `client list` shows it (e.g. 203.0.113.7 or 2001:db8::1).
        address: String,
        #[command(flatten)]
        common: Common,
    },
}

#[derive(Debug, Subcommand)]
pub enum SessionCommand {
    /// Live gateway sessions (all, or one user's).
    List {
        #[command(flatten)]
        common: Common,
        /// Only this user's sessions.
        #[arg(long)]
        user: Option<String>,
        /// One JSON object per line instead of a table.
        #[arg(long)]
        json: bool,
    },
    /// End one session (by the id `session list` or the audit trail shows), or all of a user's.
    Revoke {
        /// The session id, or its first 8+ hex digits.
        id: Option<String>,
        #[command(flatten)]
        common: Common,
        /// End every session of this user instead.
        #[arg(long, conflicts_with = "id")]
        user: Option<String>,
    },
}

/// Who runs an admin command, for the audit trail: `--operator` (`MFA_OPERATOR`), else the
/// person behind sudo, else the login name, else the name of the process's user (root in a
/// container has no `$USER`). `None` when nothing names anyone: the command then asks.
fn operator(given: Option<String>) -> Option<String> {
    let named = |v: Option<String>| v.filter(|o| !o.trim().is_empty());
    let env = |name: &str| named(std::env::var(name).ok());
    named(given)
        .or_else(|| env("SUDO_USER"))
        .or_else(|| env("USER"))
        .or_else(|| env("LOGNAME"))
        .or_else(process_user)
}

/// The name `/etc/passwd` gives the user this process runs as.
fn process_user() -> Option<String> {
    use std::os::unix::fs::MetadataExt;
    let uid = std::fs::metadata("/proc/self").ok()?.uid();
    let passwd = std::fs::read_to_string("/etc/passwd").ok()?;
    passwd.lines().find_map(|line| {
        let mut fields = line.split(':');
        let name = fields.next()?;
        let _password = fields.next()?;
        let id: u32 = fields.next()?.parse().ok()?;
        (id == uid && !name.is_empty()).then(|| name.to_string())
    })
}

/// What a subcommand runs with: the opened stores, the realm the operator named (by `--app` or
/// `--realm`), and the time the command started.
struct Run<'a> {
    admin: &'a Admin,
    app: Option<&'a str>,
    realm: Option<&'a str>,
    now: i64,
}

impl Run<'_> {
    /// The realm the command names, or the only one there is.
    fn realm(&self) -> Result<String, AdminError> {
        self.admin.realm(self.app, self.realm)
    }

    /// The realm, and a typed user name as that realm stores it.
    fn realm_and_user(&self, typed: &str) -> Result<(String, String), AdminError> {
        let realm = self.realm()?;
        let user = self.admin.identity(&realm, typed);
        Ok((realm, user))
    }
}

/// Loads the config, opens the stores and runs `work`; errors are printed, never secrets.
fn with_admin<F>(common: Common, now: i64, work: F) -> ExitCode
where
    F: for<'a> FnOnce(
        Run<'a>,
    ) -> std::pin::Pin<
        Box<dyn std::future::Future<Output = Result<(), AdminError>> + 'a>,
    >,
{
    let config = match config::load(&common.config) {
        Ok(c) => c,
        Err(errors) => {
            eprintln!("{errors}");
            return ExitCode::FAILURE;
        }
    };
    let Some(operator) = operator(common.operator) else {
        eprintln!(
            "nobody to name in the audit trail: say who runs this command with --operator NAME (or MFA_OPERATOR)"
        );
        return ExitCode::from(2);
    };
    let outcome = super::state::block_on(async {
        let admin = Admin::open(config, operator).await?;
        let run = Run {
            admin: &admin,
            app: common.app.as_deref(),
            realm: common.realm.as_deref(),
            now,
        };
        let done = work(run).await;
        admin.finish().await?;
        done.map(|()| admin.note())
    });
    match outcome {
        Some(Ok(note)) => {
            if let Some(note) = note {
                eprintln!("{note}");
            }
            ExitCode::SUCCESS
        }
        Some(Err(AdminError::Usage(message))) => {
            eprintln!("{message}");
            ExitCode::from(2)
        }
        Some(Err(error)) => {
            eprintln!("{}", crate::ops::error_chain(&error));
            ExitCode::FAILURE
        }
        None => ExitCode::FAILURE,
    }
}

fn when(time: Option<i64>) -> String {
    time.map_or_else(|| "-".into(), crate::ops::time::rfc3339)
}

fn seconds(text: &str) -> Result<i64, AdminError> {
    config::parse_duration(text)
        .and_then(|d| i64::try_from(d.as_secs()).ok())
        .filter(|s| *s > 0)
        .ok_or_else(|| {
            AdminError::Usage(format!(
                "{text:?} is not a duration (e.g. 30m, 24h, 7d is not allowed: use 168h)"
            ))
        })
}

/// A cell as it may reach a terminal: user names and agents are typed by clients, and a control
/// character (an escape sequence) must not act on the operator's terminal.
fn printable(cell: &str) -> String {
    cell.chars()
        .map(|c| if c.is_control() { '?' } else { c })
        .collect()
}

/// A `User-Agent` as a person recognises it ("Firefox · Linux").
fn agent(user_agent: &str) -> String {
    let agent = crate::ui::agent::describe(user_agent);
    crate::ui::pages::browser_label(&agent.browser, agent.device)
}

fn or_dash(text: &str) -> &str {
    if text.is_empty() {
        "-"
    } else {
        text
    }
}

/// Columns padded to their widest cell (control characters shown as `?`).
pub fn table(header: &[&str], rows: &[Vec<String>]) -> String {
    let rows: Vec<Vec<String>> = rows
        .iter()
        .map(|row| row.iter().map(|cell| printable(cell)).collect())
        .collect();
    let mut widths: Vec<usize> = header.iter().map(|h| h.len()).collect();
    for row in &rows {
        for (w, cell) in widths.iter_mut().zip(row) {
            *w = (*w).max(cell.chars().count());
        }
    }
    let line = |cells: Vec<String>| {
        cells
            .iter()
            .zip(&widths)
            .map(|(c, w)| format!("{c:<w$}"))
            .collect::<Vec<_>>()
            .join("  ")
            .trim_end()
            .to_string()
    };
    let mut out = line(header.iter().map(|h| h.to_string()).collect());
    out.push('\n');
    for row in rows {
        out.push_str(&line(row));
        out.push('\n');
    }
    out
}

fn json_lines<T: serde::Serialize>(items: &[T]) {
    for item in items {
        if let Ok(line) = serde_json::to_string(item) {
            println!("{line}");
        }
    }
}

fn ask(question: &str) -> bool {
    eprint!("{question} [y/N] ");
    let _ = std::io::stderr().flush();
    let mut answer = String::new();
    if std::io::stdin().lock().read_line(&mut answer).is_err() {
        return false;
    }
    matches!(answer.trim().to_ascii_lowercase().as_str(), "y" | "yes")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tables_align_and_neutralise_escape_sequences() {
        let rows = vec![
            vec!["alice".to_string(), "1".to_string()],
            vec!["\u{1b}[2Jmallory".to_string(), "22".to_string()],
        ];
        let text = table(&["USER", "N"], &rows);
        assert_eq!(text, "USER         N\nalice        1\n?[2Jmallory  22\n");
    }
}
