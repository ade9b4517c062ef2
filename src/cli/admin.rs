//! `mfa-gateway user …` and `session …`: the admin commands, printed as a table or as JSON
//! lines. What they do is in `crate::admin`; this is parsing and printing.

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

/// Loads the config, opens the stores and runs `work`; errors are printed, never secrets.
fn with_admin<F>(common: Common, work: F) -> ExitCode
where
    F: for<'a> FnOnce(
        &'a Admin,
        Option<&'a str>,
        Option<&'a str>,
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
        let done = work(&admin, common.app.as_deref(), common.realm.as_deref()).await;
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

pub fn user(command: UserCommand) -> ExitCode {
    let now = crate::mfa::unix_now();
    match command {
        UserCommand::List { common, json } => with_admin(common, move |admin, app, realm| {
            Box::pin(async move {
                let realm = match (app, realm) {
                    (None, None) => None,
                    _ => Some(admin.realm(app, realm)?),
                };
                let rows = admin.users(realm.as_deref(), now).await?;
                if json {
                    json_lines(&rows);
                } else {
                    let cells: Vec<Vec<String>> = rows
                        .iter()
                        .map(|r| {
                            vec![
                                r.user.clone(),
                                r.realm.clone(),
                                r.apps.join(","),
                                if r.methods.is_empty() {
                                    "-".into()
                                } else {
                                    r.methods.join(",")
                                },
                                r.recovery_codes_left.to_string(),
                                when(r.enrolled_at),
                                when(r.last_used_at),
                                r.locked_until.map_or_else(
                                    || "no".into(),
                                    |u| format!("until {}", when(Some(u))),
                                ),
                            ]
                        })
                        .collect();
                    print!(
                        "{}",
                        table(
                            &[
                                "USER",
                                "REALM",
                                "APPS",
                                "METHODS",
                                "CODES LEFT",
                                "ENROLLED",
                                "LAST USED",
                                "LOCKED"
                            ],
                            &cells
                        )
                    );
                }
                Ok(())
            })
        }),
        UserCommand::Show { user, common, json } => with_admin(common, move |admin, app, realm| {
            Box::pin(async move {
                let realm = admin.realm(app, realm)?;
                let user = admin.identity(&realm, &user);
                let detail = admin.user(&realm, &user, now).await?;
                if json {
                    json_lines(&[detail]);
                    return Ok(());
                }
                let r = &detail.row;
                println!("user:               {}", r.user);
                println!(
                    "realm:              {} (apps: {})",
                    r.realm,
                    r.apps.join(", ")
                );
                println!(
                    "authenticator app:  {}",
                    if r.methods.iter().any(|m| m == "totp") {
                        format!("enrolled {}", when(r.enrolled_at))
                    } else {
                        "none".into()
                    }
                );
                println!("last used:          {}", when(r.last_used_at));
                println!("recovery codes:     {} left", r.recovery_codes_left);
                println!(
                    "locked:             {}",
                    r.locked_until
                        .map_or_else(|| "no".into(), |u| format!("until {}", when(Some(u))))
                );
                println!(
                    "invitation:         {}",
                    detail.invite_expires_at.map_or_else(
                        || "none".into(),
                        |e| format!("pending, expires {}", when(Some(e)))
                    )
                );
                println!("sessions:           {}", detail.sessions.len());
                for s in &detail.sessions {
                    println!(
                        "  {}  {}  {}  {}  since {}  last seen {}",
                        &s.id.get(..16).unwrap_or(&s.id),
                        printable(&s.app),
                        agent(&s.user_agent),
                        printable(or_dash(&s.client)),
                        when(Some(s.created_at)),
                        when(Some(s.last_seen_at))
                    );
                }
                println!("remembered browsers: {}", detail.devices.len());
                for d in &detail.devices {
                    println!(
                        "  {}  {}  {}  since {}  last used {}",
                        d.id,
                        agent(&d.user_agent),
                        printable(or_dash(&d.client)),
                        when(Some(d.created_at)),
                        when(Some(d.last_used_at))
                    );
                }
                Ok(())
            })
        }),
        UserCommand::Reset { user, common, yes } => with_admin(common, move |admin, app, realm| {
            Box::pin(async move {
                let realm = admin.realm(app, realm)?;
                let user = admin.identity(&realm, &user);
                if !yes && !ask(&format!("Remove every factor of {user} in realm {realm} and end their sessions? They will enroll again at their next sign-in.")) {
                    return Err(AdminError::Usage("not reset (confirm, or pass --yes)".into()));
                }
                let reset = admin.reset(&realm, &user, now).await?;
                println!(
                    "{user} ({realm}): authenticator {}, {} recovery code{} removed, {} session{} ended, {} remembered browser{} forgotten; they enroll again at their next sign-in",
                    if reset.authenticator_removed { "removed" } else { "(none)" },
                    reset.recovery_codes_removed,
                    if reset.recovery_codes_removed == 1 { "" } else { "s" },
                    reset.sessions_ended,
                    if reset.sessions_ended == 1 { "" } else { "s" },
                    reset.devices_forgotten,
                    if reset.devices_forgotten == 1 { "" } else { "s" },
                );
                Ok(())
            })
        }),
        UserCommand::Pending {
            common,
            users,
            json,
        } => with_admin(common, move |admin, app, realm| {
            Box::pin(async move {
                let realm = admin.realm(app, realm)?;
                let names = match &users {
                    None => None,
                    Some(path) => Some(
                        std::fs::read_to_string(path)
                            .map_err(|e| {
                                AdminError::Usage(format!("cannot read {}: {e}", path.display()))
                            })?
                            .lines()
                            .map(str::trim)
                            .filter(|l| !l.is_empty() && !l.starts_with('#'))
                            .map(String::from)
                            .collect(),
                    ),
                };
                let pending = admin.pending(&realm, names, now).await?;
                if json {
                    json_lines(&pending.users);
                    return Ok(());
                }
                for (app, how) in &pending.enrollment {
                    println!("{app}: a user without a factor enrolls {how}");
                }
                let cells: Vec<Vec<String>> = pending
                    .users
                    .iter()
                    .map(|u| {
                        vec![
                            u.user.clone(),
                            u.first_seen_at
                                .map_or_else(|| "never signed in".into(), |t| when(Some(t))),
                            when(u.last_seen_at),
                        ]
                    })
                    .collect();
                print!("{}", table(&["USER", "FIRST SEEN", "LAST SEEN"], &cells));
                println!(
                    "{} user{} without a factor",
                    cells.len(),
                    if cells.len() == 1 { "" } else { "s" }
                );
                Ok(())
            })
        }),
        UserCommand::Devices { user, common, json } => {
            with_admin(common, move |admin, app, realm| {
                Box::pin(async move {
                    let realm = admin.realm(app, realm)?;
                    let user = admin.identity(&realm, &user);
                    let list = admin.devices(&realm, &user, now).await?;
                    if json {
                        json_lines(&list);
                        return Ok(());
                    }
                    let cells: Vec<Vec<String>> = list
                        .iter()
                        .map(|d| {
                            vec![
                                d.id.clone(),
                                agent(&d.user_agent),
                                or_dash(&d.client).to_string(),
                                when(Some(d.created_at)),
                                when(Some(d.last_used_at)),
                                when(Some(d.expires_at)),
                            ]
                        })
                        .collect();
                    print!(
                        "{}",
                        table(
                            &["ID", "BROWSER", "ADDRESS", "SINCE", "LAST USED", "ENDS"],
                            &cells
                        )
                    );
                    Ok(())
                })
            })
        }
        UserCommand::Forget {
            user,
            device,
            common,
            all,
        } => with_admin(common, move |admin, app, realm| {
            Box::pin(async move {
                if device.is_none() && !all {
                    return Err(AdminError::Usage(
                        "name a browser (its id from `user devices`) or --all".into(),
                    ));
                }
                let realm = admin.realm(app, realm)?;
                let user = admin.identity(&realm, &user);
                let n = admin
                    .forget_devices(&realm, &user, device.as_deref(), now)
                    .await?;
                println!(
                    "{n} remembered browser{} of {user} ({realm}) forgotten",
                    if n == 1 { "" } else { "s" }
                );
                Ok(())
            })
        }),
        UserCommand::Lock {
            user,
            common,
            duration,
        } => with_admin(common, move |admin, app, realm| {
            Box::pin(async move {
                let realm = admin.realm(app, realm)?;
                let user = admin.identity(&realm, &user);
                let secs = match &duration {
                    Some(d) => seconds(d)?,
                    None => 10 * 365 * 24 * 3600,
                };
                let until = now.saturating_add(secs);
                admin.lock(&realm, &user, until, now).await?;
                println!("{user} ({realm}) locked until {}", when(Some(until)));
                Ok(())
            })
        }),
        UserCommand::Unlock { user, common } => with_admin(common, move |admin, app, realm| {
            Box::pin(async move {
                let realm = admin.realm(app, realm)?;
                let user = admin.identity(&realm, &user);
                let was = admin.unlock(&realm, &user, now).await?;
                println!(
                    "{user} ({realm}) {}",
                    if was {
                        "unlocked"
                    } else {
                        "was not locked (failed attempts forgotten)"
                    }
                );
                Ok(())
            })
        }),
        UserCommand::Invite {
            user,
            common,
            valid_for,
        } => with_admin(common, move |admin, app, realm| {
            Box::pin(async move {
                let realm = admin.realm(app, realm)?;
                let user = admin.identity(&realm, &user);
                let secs = seconds(&valid_for)?;
                let (code, expires_at) = admin.invite(&realm, &user, secs, now).await?;
                println!(
                    "invitation code for {user} ({realm}): {}",
                    code.display().as_str()
                );
                println!("valid until {} and for one enrollment; give it to the person yourself (not by the e-mail their password could read)", when(Some(expires_at)));
                Ok(())
            })
        }),
    }
}

pub fn session(command: SessionCommand) -> ExitCode {
    let now = crate::mfa::unix_now();
    match command {
        SessionCommand::List { common, user, json } => {
            with_admin(common, move |admin, app, realm| {
                Box::pin(async move {
                    let list = match &user {
                        Some(user) => {
                            let realm = admin.realm(app, realm)?;
                            let user = admin.identity(&realm, user);
                            admin.sessions(Some((&realm, &user)), now).await?
                        }
                        None => admin.sessions(None, now).await?,
                    };
                    if json {
                        json_lines(&list);
                        return Ok(());
                    }
                    let cells: Vec<Vec<String>> = list
                        .iter()
                        .map(|s| {
                            vec![
                                s.id.get(..16).unwrap_or(&s.id).to_string(),
                                s.user.clone(),
                                s.realm.clone(),
                                s.app.clone(),
                                agent(&s.user_agent),
                                or_dash(&s.client).to_string(),
                                when(Some(s.created_at)),
                                when(Some(s.last_seen_at)),
                                when(Some(s.expires_at)),
                            ]
                        })
                        .collect();
                    print!(
                        "{}",
                        table(
                            &[
                                "ID",
                                "USER",
                                "REALM",
                                "APP",
                                "BROWSER",
                                "ADDRESS",
                                "SINCE",
                                "LAST SEEN",
                                "ENDS"
                            ],
                            &cells
                        )
                    );
                    Ok(())
                })
            })
        }
        SessionCommand::Revoke { id, common, user } => {
            with_admin(common, move |admin, app, realm| {
                Box::pin(async move {
                    match (id, user) {
                        (Some(id), None) => {
                            let s = admin.revoke(&id, now).await?;
                            println!(
                                "session {} of {} ({}) ended",
                                s.id.get(..16).unwrap_or(&s.id),
                                s.user,
                                s.realm
                            );
                        }
                        (None, Some(user)) => {
                            let realm = admin.realm(app, realm)?;
                            let user = admin.identity(&realm, &user);
                            let n = admin.revoke_user(&realm, &user, now).await?;
                            println!(
                                "{n} session{} of {user} ({realm}) ended",
                                if n == 1 { "" } else { "s" }
                            );
                        }
                        _ => {
                            return Err(AdminError::Usage(
                                "name a session id or --user USER".into(),
                            ))
                        }
                    }
                    Ok(())
                })
            })
        }
    }
}

pub fn client(command: ClientCommand) -> ExitCode {
    let now = crate::mfa::unix_now();
    match command {
        ClientCommand::List { common, json } => with_admin(common, move |admin, _, _| {
            Box::pin(async move {
                let locks = admin.client_locks(now).await?;
                if json {
                    json_lines(&locks);
                    return Ok(());
                }
                let cells: Vec<Vec<String>> = locks
                    .iter()
                    .map(|l| {
                        vec![
                            l.address.clone(),
                            l.refuses.clone(),
                            when(Some(l.locked_until)),
                        ]
                    })
                    .collect();
                print!("{}", table(&["ADDRESS", "REFUSES", "LOCKED UNTIL"], &cells));
                Ok(())
            })
        }),
        ClientCommand::Unlock { address, common } => with_admin(common, move |admin, _, _| {
            Box::pin(async move {
                let ip: std::net::IpAddr = address
                    .trim()
                    .parse()
                    .map_err(|_| AdminError::Usage(format!("{address:?} is not an IP address")))?;
                let lifted = admin.unlock_client(ip, now).await?;
                match lifted {
                    0 => println!("{ip} was not locked (failed attempts forgotten)"),
                    1 => println!("{ip} unlocked (1 lock lifted)"),
                    n => println!("{ip} unlocked ({n} locks lifted)"),
                }
                Ok(())
            })
        }),
    }
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
