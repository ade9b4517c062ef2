//! At start, the end of the changes this gateway began and never finished before it stopped
//! (a crash or `kill -9` between a `change_begun` record and the change's own): the trail says
//! what the stores hold now for the user, so every change in it ends in a known state and every
//! factor in the store is accounted for.

use super::Mfa;
use crate::audit::{Audit, Interrupted};
use crate::config::Config;
use crate::keys::KeyRing;
use crate::store::{AnyDurable, AnyEphemeral, DurableStore, EphemeralStore, StoreError};

/// How long the stores get to answer for all the interrupted changes together: a start is not
/// held up longer by stores that are down (the records then say the state is unknown).
const BOUND: std::time::Duration = std::time::Duration::from_secs(5);

/// No change stays begun longer than this: every store wait in it is bounded to seconds. A
/// change begun longer ago and never ended was cut off, whoever began it.
pub const STALE_SECS: i64 = 300;

/// Whether an unfinished change was cut off, as a writer named `me` sees it at its start: its
/// own (it is starting again), or stale. `alone`: this gateway is the only one on its data
/// directory (the embedded stores hold a lock on it), so any other gateway's change in its
/// file was cut off too; an admin command's may still be running.
pub fn cut_off(me: &str, alone: bool, now: i64) -> impl Fn(&Interrupted) -> bool + '_ {
    move |change| {
        let stale = crate::ops::time::parse_rfc3339(&change.began)
            .is_some_and(|began| now.saturating_sub(began) > STALE_SECS);
        change.instance == me
            || stale
            || (alone && !change.instance.ends_with(crate::audit::CLI_INSTANCE))
    }
}

/// Writes a `change_interrupted` record for each change found cut off at start.
pub async fn interrupted_changes(mfa: &Mfa, config: &Config, now: i64) {
    let alone = mfa.running.is_some();
    let keys = mfa.keys();
    let changes = mfa
        .audit
        .take_interrupted(&keys, cut_off(mfa.audit.instance(), alone, now));
    let stores = Stores {
        durable: &mfa.durable,
        ephemeral: Some(&mfa.ephemeral),
    };
    end_interrupted(&mfa.audit, &keys, stores, config, &changes, now).await;
}

/// The stores an interrupted change's state is read from (an admin command without a direct
/// line to the sessions reads the durable store only).
#[derive(Clone, Copy)]
pub struct Stores<'a> {
    pub durable: &'a AnyDurable,
    pub ephemeral: Option<&'a AnyEphemeral>,
}

/// Writes a `change_interrupted` record for each of `changes`.
pub async fn end_interrupted(
    audit: &Audit,
    keys: &KeyRing,
    stores: Stores<'_>,
    config: &Config,
    changes: &[Interrupted],
    now: i64,
) {
    if changes.is_empty() {
        return;
    }
    tracing::warn!(
        changes = changes.len(),
        "a writer stopped in the middle of changes: their state is written to the audit trail"
    );
    let deadline = crate::ops::clock::tokio_instant() + BOUND;
    for change in changes {
        let asked = tokio::time::timeout_at(deadline, state_now(stores, config, change, now));
        let state = match asked.await {
            Ok(Ok(state)) => state,
            Ok(Err(error)) => {
                tracing::error!(error = %crate::ops::error_chain(&error), "cannot read the state of an interrupted change");
                vec![("state", "unknown: a store could not be read".to_string())]
            }
            Err(_) => vec![("state", "unknown: a store did not answer".to_string())],
        };
        if let Err(error) = audit.end_interrupted(keys, now, change, &state) {
            tracing::error!(error = %crate::ops::error_chain(&error), "audit record of an interrupted change not written");
        }
    }
}

/// What the stores hold for the change's user now: their authenticator (by id), recovery
/// codes left, remembered browsers and live sessions.
async fn state_now(
    stores: Stores<'_>,
    config: &Config,
    change: &Interrupted,
    now: i64,
) -> Result<Vec<(&'static str, String)>, StoreError> {
    let Some(user) = change.user.as_deref() else {
        return Ok(Vec::new());
    };
    let realm = match &change.realm {
        Some(realm) => realm.as_str(),
        None => config
            .apps
            .iter()
            .find(|a| a.name == change.app)
            .and_then(|a| a.mfa.as_ref())
            .map_or(change.app.as_str(), |m| m.realm.as_str()),
    };
    state_of(stores, realm, user, now).await
}

/// What the stores hold for `user` of `realm` now: their authenticator (by id), recovery codes
/// left, remembered browsers and (when the sessions can be read) live sessions.
pub async fn state_of(
    stores: Stores<'_>,
    realm: &str,
    user: &str,
    now: i64,
) -> Result<Vec<(&'static str, String)>, StoreError> {
    let durable = stores.durable;
    // By id, as the audit trail names a factor; several methods' ids joined with commas.
    let ids: Vec<String> = durable
        .factors(realm, user)
        .await?
        .into_iter()
        .map(|f| f.id)
        .collect();
    let factor = if ids.is_empty() {
        "none".to_string()
    } else {
        ids.join(",")
    };
    let codes = durable.recovery_codes_left(realm, user).await?;
    let devices = durable.devices(realm, user, now).await?.len();
    let mut state = vec![
        ("realm", realm.to_string()),
        ("factor", factor),
        ("recovery_codes_left", codes.to_string()),
        ("devices", devices.to_string()),
    ];
    if let Some(ephemeral) = stores.ephemeral {
        let sessions = ephemeral.sessions(Some((realm, user)), now).await?.len();
        state.push(("sessions", sessions.to_string()));
    }
    Ok(state)
}
