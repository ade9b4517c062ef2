//! Where a user is signed in and which browsers are remembered for them, as the settings page
//! and the API show it: each session with its browser, device and address, signed out one by
//! one or all at once; each remembered browser, forgotten one by one. A session or browser is
//! named by the first 16 hex digits of its stored id, as the audit trail and admin commands
//! name it; only the user's own can be named.

use super::super::flow::{Context, Refusable};
use super::super::MfaError;
use crate::ops::hex::hex;
use crate::store::{DurableStore, EphemeralStore, Session};

/// How many hex digits name a session or remembered browser.
const HANDLE: usize = 16;

/// A session as the user sees it.
#[derive(Debug, Clone, serde::Serialize)]
pub struct SessionEntry {
    pub id: String,
    pub app: String,
    pub browser: String,
    pub device: &'static str,
    pub address: String,
    pub created_at: i64,
    pub last_seen_at: i64,
    /// The session of the browser asking.
    pub current: bool,
}

/// A remembered browser as the user sees it.
#[derive(Debug, Clone, serde::Serialize)]
pub struct DeviceEntry {
    pub id: String,
    pub browser: String,
    pub device: &'static str,
    pub address: String,
    pub created_at: i64,
    pub last_used_at: i64,
    pub expires_at: i64,
    /// The browser asking.
    pub current: bool,
}

fn handle(id: &str) -> String {
    id.chars().take(HANDLE).collect()
}

/// The user's live sessions, most recently used first.
pub async fn sessions(ctx: &Context<'_>, session: &Session) -> Result<Vec<SessionEntry>, MfaError> {
    let mut live = ctx
        .mfa
        .ephemeral
        .sessions(Some((&session.realm, &session.user)), ctx.now)
        .await?;
    live.sort_by_key(|s| std::cmp::Reverse(s.last_seen_at));
    Ok(live
        .iter()
        .map(|s| {
            let agent = crate::ui::agent::describe(&s.user_agent);
            SessionEntry {
                id: handle(&hex(&s.id_hash)),
                app: s.app.clone(),
                browser: agent.browser,
                device: agent.device,
                address: s.client.clone(),
                created_at: s.created_at,
                last_seen_at: s.last_seen_at,
                current: s.id_hash == session.id_hash,
            }
        })
        .collect())
}

/// The browsers remembered for the user, most recently used first.
pub async fn devices(ctx: &Context<'_>, session: &Session) -> Result<Vec<DeviceEntry>, MfaError> {
    let mut list = ctx
        .mfa
        .durable
        .devices(&session.realm, &session.user, ctx.now)
        .await?;
    list.sort_by_key(|d| std::cmp::Reverse(d.last_used_at));
    let own = ctx.familiar(&session.realm, &session.user).await?;
    Ok(list
        .iter()
        .map(|d| {
            let agent = crate::ui::agent::describe(&d.user_agent);
            DeviceEntry {
                id: handle(&d.id),
                browser: agent.browser,
                device: agent.device,
                address: d.client.clone(),
                created_at: d.created_at,
                last_used_at: d.last_used_at,
                expires_at: d.expires_at,
                current: own.as_deref() == Some(d.id.as_str()),
            }
        })
        .collect())
}

/// Ends the user's session named `id` (not the asking one: that is signing out). Whether
/// there was such a session.
pub async fn end_one(ctx: &Context<'_>, session: &Session, id: &str) -> Result<bool, MfaError> {
    if id.len() != HANDLE {
        return Ok(false);
    }
    let live = ctx
        .mfa
        .ephemeral
        .sessions(Some((&session.realm, &session.user)), ctx.now)
        .await?;
    let Some(target) = live
        .iter()
        .find(|s| s.id_hash != session.id_hash && hex(&s.id_hash).starts_with(id))
    else {
        return Ok(false);
    };
    let detail = [("reason", "signed out from the user's settings".into())];
    let record = ctx.event(
        "session_ended",
        &session.user,
        "accepted",
        Some(&target.id_hash),
        &detail,
    );
    let begun = ctx.begin_change(&record, Refusable::No)?;
    let ended = ctx.mfa.ephemeral.end_session(&target.id_hash).await;
    let made = match &ended {
        Ok(true) => Ok(()),
        Ok(false) => Err("the session had ended meanwhile"),
        Err(_) => Err("a store did not take the change"),
    };
    ctx.end_change(begun, &record, made);
    Ok(ended?)
}

/// Ends every session of the user, the asking one last; how many ended.
pub async fn end_all(ctx: &Context<'_>, session: &Session) -> Result<u32, MfaError> {
    const EVENT: &str = "session_ended";
    let reason = ("reason", "signed out everywhere".to_string());
    let this = Some(&session.id_hash);
    let said = [reason.clone()];
    let begun = ctx.begin_change(
        &ctx.event(EVENT, &session.user, "accepted", this, &said),
        Refusable::No,
    )?;
    let ending = async {
        let others = ctx
            .mfa
            .ephemeral
            .end_user_sessions(&session.realm, &session.user, Some(&session.id_hash))
            .await?;
        let this = u32::from(ctx.mfa.ephemeral.end_session(&session.id_hash).await?);
        Ok::<_, MfaError>(others.saturating_add(this))
    };
    let ended = ending.await;
    let (detail, made) = match &ended {
        Ok(n) => (vec![reason, ("sessions_ended", n.to_string())], Ok(())),
        Err(_) => (vec![reason], Err("a store did not take the change")),
    };
    ctx.end_change(
        begun,
        &ctx.event(EVENT, &session.user, "accepted", this, &detail),
        made,
    );
    ended
}

/// What forgetting a remembered browser did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Forgot {
    /// No such remembered browser of this user.
    Nothing,
    /// Another browser.
    Other,
    /// The browser asking: its cookie goes too.
    This,
}

/// Forgets the user's remembered browser named `id`: from then on it is judged as any new
/// browser (failures from elsewhere can keep it waiting). Another browser than the asking one
/// needs a current `code`: a session alone (a borrowed browser) must not strip the owner's
/// browsers of their standing and then lock her out with her password.
pub async fn forget(
    ctx: &Context<'_>,
    session: &Session,
    id: &str,
    code: &str,
) -> Result<Result<Forgot, super::Refused>, MfaError> {
    if id.len() != HANDLE {
        return Ok(Ok(Forgot::Nothing));
    }
    let list = ctx
        .mfa
        .durable
        .devices(&session.realm, &session.user, ctx.now)
        .await?;
    let Some(device) = list.iter().find(|d| d.id.starts_with(id)) else {
        return Ok(Ok(Forgot::Nothing));
    };
    // Asked before the record goes: afterwards no browser is this user's.
    let own = ctx.familiar(&session.realm, &session.user).await?;
    let this = own.as_deref() == Some(device.id.as_str());
    if !this {
        if let Err(refused) = super::code_ok(ctx, session, code).await? {
            super::audit_refused(ctx, session, "device_forgotten", refused);
            return Ok(Err(refused));
        }
    }
    let detail = [
        ("device", handle(&device.id)),
        ("reason", "forgotten in the user's settings".into()),
    ];
    let record = ctx.event(
        "device_forgotten",
        &session.user,
        "accepted",
        Some(&session.id_hash),
        &detail,
    );
    let begun = ctx.begin_change(&record, Refusable::No)?;
    let removed = ctx
        .mfa
        .durable
        .remove_devices(&session.realm, &session.user, Some(&device.id))
        .await;
    let made = match &removed {
        Ok(0) => Err("the browser had been forgotten meanwhile"),
        Ok(_) => Ok(()),
        Err(_) => Err("a store did not take the change"),
    };
    ctx.end_change(begun, &record, made);
    if removed? == 0 {
        return Ok(Ok(Forgot::Nothing));
    }
    Ok(Ok(if this { Forgot::This } else { Forgot::Other }))
}
