//! `mfa-gateway session …` and `client …`: live sessions, and locks on client addresses.

use super::{agent, json_lines, or_dash, table, when};
use super::{with_admin, ClientCommand, Run, SessionCommand};
use crate::admin::AdminError;
use std::process::ExitCode;

pub fn session(command: SessionCommand) -> ExitCode {
    let now = crate::mfa::unix_now();
    match command {
        SessionCommand::List { common, user, json } => {
            with_admin(common, now, move |run| Box::pin(list(run, user, json)))
        }
        SessionCommand::Revoke { id, common, user } => {
            with_admin(common, now, move |run| Box::pin(revoke(run, id, user)))
        }
    }
}

pub fn client(command: ClientCommand) -> ExitCode {
    let now = crate::mfa::unix_now();
    match command {
        ClientCommand::List { common, json } => {
            with_admin(common, now, move |run| Box::pin(client_list(run, json)))
        }
        ClientCommand::Unlock { address, common } => with_admin(common, now, move |run| {
            Box::pin(client_unlock(run, address))
        }),
    }
}

/// `session list`: live sessions, of one user or all.
async fn list(run: Run<'_>, user: Option<String>, json: bool) -> Result<(), AdminError> {
    let list = match &user {
        Some(user) => {
            let (realm, user) = run.realm_and_user(user)?;
            run.admin.sessions(Some((&realm, &user)), run.now).await?
        }
        None => run.admin.sessions(None, run.now).await?,
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
}

/// `session revoke`: one session by its id, or every session of a user.
async fn revoke(run: Run<'_>, id: Option<String>, user: Option<String>) -> Result<(), AdminError> {
    match (id, user) {
        (Some(id), None) => {
            let s = run.admin.revoke(&id, run.now).await?;
            println!(
                "session {} of {} ({}) ended",
                s.id.get(..16).unwrap_or(&s.id),
                s.user,
                s.realm
            );
        }
        (None, Some(user)) => {
            let (realm, user) = run.realm_and_user(&user)?;
            let n = run.admin.revoke_user(&realm, &user, run.now).await?;
            println!(
                "{n} session{} of {user} ({realm}) ended",
                if n == 1 { "" } else { "s" }
            );
        }
        _ => return Err(AdminError::Usage("name a session id or --user USER".into())),
    }
    Ok(())
}

/// `client list`: locks on client addresses in force.
async fn client_list(run: Run<'_>, json: bool) -> Result<(), AdminError> {
    let locks = run.admin.client_locks(run.now).await?;
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
}

/// `client unlock`: every lock on an address lifted.
async fn client_unlock(run: Run<'_>, address: String) -> Result<(), AdminError> {
    let ip: std::net::IpAddr = address
        .trim()
        .parse()
        .map_err(|_| AdminError::Usage(format!("{address:?} is not an IP address")))?;
    let lifted = run.admin.unlock_client(ip, run.now).await?;
    match lifted {
        0 => println!("{ip} was not locked (failed attempts forgotten)"),
        1 => println!("{ip} unlocked (1 lock lifted)"),
        n => println!("{ip} unlocked ({n} locks lifted)"),
    }
    Ok(())
}
