//! `mfa-gateway user …`: one function a subcommand, each asking `crate::admin` and printing.

use super::{agent, ask, json_lines, or_dash, printable, seconds, table, when};
use super::{with_admin, Run, UserCommand};
use crate::admin::AdminError;
use std::path::PathBuf;
use std::process::ExitCode;

pub fn user(command: UserCommand) -> ExitCode {
    let now = crate::mfa::unix_now();
    match command {
        UserCommand::List { common, json } => {
            with_admin(common, now, move |run| Box::pin(list(run, json)))
        }
        UserCommand::Show { user, common, json } => {
            with_admin(common, now, move |run| Box::pin(show(run, user, json)))
        }
        UserCommand::Reset { user, common, yes } => {
            with_admin(common, now, move |run| Box::pin(reset(run, user, yes)))
        }
        UserCommand::Pending {
            common,
            users,
            json,
        } => with_admin(common, now, move |run| Box::pin(pending(run, users, json))),
        UserCommand::Devices { user, common, json } => {
            with_admin(common, now, move |run| Box::pin(devices(run, user, json)))
        }
        UserCommand::Forget {
            user,
            device,
            common,
            all,
        } => with_admin(common, now, move |run| {
            Box::pin(forget(run, user, device, all))
        }),
        UserCommand::Lock {
            user,
            common,
            duration,
        } => with_admin(common, now, move |run| Box::pin(lock(run, user, duration))),
        UserCommand::Unlock { user, common } => {
            with_admin(common, now, move |run| Box::pin(unlock(run, user)))
        }
        UserCommand::Invite {
            user,
            common,
            valid_for,
        } => with_admin(common, now, move |run| {
            Box::pin(invite(run, user, valid_for))
        }),
    }
}

/// `user list`: enrolled (and locked) users as a table or JSON lines.
async fn list(run: Run<'_>, json: bool) -> Result<(), AdminError> {
    let realm = match (run.app, run.realm) {
        (None, None) => None,
        _ => Some(run.realm()?),
    };
    let rows = run.admin.users(realm.as_deref(), run.now).await?;
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
                    r.locked_until
                        .map_or_else(|| "no".into(), |u| format!("until {}", when(Some(u)))),
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
}

/// `user show`: one user, line by line.
async fn show(run: Run<'_>, user: String, json: bool) -> Result<(), AdminError> {
    let (realm, user) = run.realm_and_user(&user)?;
    let detail = run.admin.user(&realm, &user, run.now).await?;
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
}

async fn reset(run: Run<'_>, user: String, yes: bool) -> Result<(), AdminError> {
    let (realm, user) = run.realm_and_user(&user)?;
    if !yes && !ask(&format!("Remove every factor of {user} in realm {realm} and end their sessions? They will enroll again at their next sign-in.")) {
        return Err(AdminError::Usage("not reset (confirm, or pass --yes)".into()));
    }
    let reset = run.admin.reset(&realm, &user, run.now).await?;
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
}

async fn pending(run: Run<'_>, users: Option<PathBuf>, json: bool) -> Result<(), AdminError> {
    let realm = run.realm()?;
    let names = match &users {
        None => None,
        Some(path) => Some(
            std::fs::read_to_string(path)
                .map_err(|e| AdminError::Usage(format!("cannot read {}: {e}", path.display())))?
                .lines()
                .map(str::trim)
                .filter(|l| !l.is_empty() && !l.starts_with('#'))
                .map(String::from)
                .collect(),
        ),
    };
    let pending = run.admin.pending(&realm, names, run.now).await?;
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
}

async fn devices(run: Run<'_>, user: String, json: bool) -> Result<(), AdminError> {
    let (realm, user) = run.realm_and_user(&user)?;
    let list = run.admin.devices(&realm, &user, run.now).await?;
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
}

async fn forget(
    run: Run<'_>,
    user: String,
    device: Option<String>,
    all: bool,
) -> Result<(), AdminError> {
    if device.is_none() && !all {
        return Err(AdminError::Usage(
            "name a browser (its id from `user devices`) or --all".into(),
        ));
    }
    let (realm, user) = run.realm_and_user(&user)?;
    let n = run
        .admin
        .forget_devices(&realm, &user, device.as_deref(), run.now)
        .await?;
    println!(
        "{n} remembered browser{} of {user} ({realm}) forgotten",
        if n == 1 { "" } else { "s" }
    );
    Ok(())
}

async fn lock(run: Run<'_>, user: String, duration: Option<String>) -> Result<(), AdminError> {
    let (realm, user) = run.realm_and_user(&user)?;
    let secs = match &duration {
        Some(d) => seconds(d)?,
        None => 10 * 365 * 24 * 3600,
    };
    let until = run.now.saturating_add(secs);
    run.admin.lock(&realm, &user, until, run.now).await?;
    println!("{user} ({realm}) locked until {}", when(Some(until)));
    Ok(())
}

async fn unlock(run: Run<'_>, user: String) -> Result<(), AdminError> {
    let (realm, user) = run.realm_and_user(&user)?;
    let was = run.admin.unlock(&realm, &user, run.now).await?;
    println!(
        "{user} ({realm}) {}",
        if was {
            "unlocked"
        } else {
            "was not locked (failed attempts forgotten)"
        }
    );
    Ok(())
}

async fn invite(run: Run<'_>, user: String, valid_for: String) -> Result<(), AdminError> {
    let (realm, user) = run.realm_and_user(&user)?;
    let secs = seconds(&valid_for)?;
    let (code, expires_at) = run.admin.invite(&realm, &user, secs, run.now).await?;
    println!(
        "invitation code for {user} ({realm}): {}",
        code.display().as_str()
    );
    println!("valid until {} and for one enrollment; give it to the person yourself (not by the e-mail their password could read)", when(Some(expires_at)));
    Ok(())
}
