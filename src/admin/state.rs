//! The ephemeral-state operations admin commands need (sessions and locks), as requests that
//! run either on the store directly (Redis: every process sees the same state) or inside the
//! running gateway that holds the state in its memory (`remote`). One `apply` serves both, so
//! the two ways cannot drift apart.

use crate::ops::hex::{hex, unhex};
use crate::store::{AnyEphemeral, EphemeralStore, Session, StoreError};
use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "op", rename_all = "snake_case", deny_unknown_fields)]
pub enum StateOp {
    /// Live sessions: all, or one user's of a realm.
    Sessions { user: Option<(String, String)> },
    /// Ends the session with this stored id (hex of its keyed hash).
    EndSession { id: String },
    /// Ends every session of a user.
    EndUserSessions { realm: String, user: String },
    /// Locks a regulation subject until then, or (None) lifts its lock.
    SetLock { subject: String, until: Option<i64> },
    /// Every lock in force.
    Locks,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "reply", content = "value", rename_all = "snake_case")]
pub enum StateReply {
    Sessions(Vec<SessionView>),
    Done(bool),
    Count(u32),
    Locks(Vec<(String, i64)>),
}

/// A session as admin commands show it: never its cookie, only the stored hash (whose first 16
/// hex digits are what the audit trail names).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SessionView {
    pub id: String,
    pub realm: String,
    pub app: String,
    pub user: String,
    pub created_at: i64,
    pub last_seen_at: i64,
    pub expires_at: i64,
    /// The browser's `User-Agent` and address at sign-in (empty for sessions an older gateway
    /// started).
    #[serde(default)]
    pub user_agent: String,
    #[serde(default)]
    pub client: String,
}

impl SessionView {
    fn of(s: &Session) -> SessionView {
        SessionView {
            id: hex(&s.id_hash),
            realm: s.realm.clone(),
            app: s.app.clone(),
            user: s.user.clone(),
            created_at: s.created_at,
            last_seen_at: s.last_seen_at,
            expires_at: s
                .absolute_expires_at
                .min(s.last_seen_at.saturating_add(s.idle_timeout_secs)),
            user_agent: s.user_agent.clone(),
            client: s.client.clone(),
        }
    }
}

#[derive(Debug, thiserror::Error)]
pub enum StateError {
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error("not a session id: {0:?}")]
    BadId(String),
}

/// Runs `op` on `store` at `now`.
pub async fn apply(store: &AnyEphemeral, op: StateOp, now: i64) -> Result<StateReply, StateError> {
    Ok(match op {
        StateOp::Sessions { user } => {
            let user = user.as_ref().map(|(r, u)| (r.as_str(), u.as_str()));
            let mut list: Vec<SessionView> = store
                .sessions(user, now)
                .await?
                .iter()
                .map(SessionView::of)
                .collect();
            list.sort_by(|a, b| (a.created_at, &a.id).cmp(&(b.created_at, &b.id)));
            StateReply::Sessions(list)
        }
        StateOp::EndSession { id } => {
            let hash = unhex(&id).ok_or(StateError::BadId(id))?;
            StateReply::Done(store.end_session(&hash).await?)
        }
        StateOp::EndUserSessions { realm, user } => {
            StateReply::Count(store.end_user_sessions(&realm, &user, None).await?)
        }
        StateOp::SetLock { subject, until } => {
            StateReply::Done(store.set_lock(&subject, until, now).await?)
        }
        StateOp::Locks => {
            let mut locks = store.locks(now).await?;
            locks.sort();
            StateReply::Locks(locks)
        }
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::MemoryStore;

    #[tokio::test]
    async fn operations_round_trip_as_json_and_act_on_the_store() {
        let store = AnyEphemeral::memory(MemoryStore::new());
        let session = Session {
            id_hash: [7; 32],
            realm: "main".into(),
            app: "intranet".into(),
            user: "alice".into(),
            created_at: 10,
            last_seen_at: 10,
            mfa_at: 10,
            idle_timeout_secs: 100,
            absolute_expires_at: 1000,
            user_agent: "curl/8.5.0".into(),
            client: "192.0.2.1".into(),
        };
        store.put_session(&session).await.unwrap();
        let op = StateOp::Sessions {
            user: Some(("main".into(), "alice".into())),
        };
        let wire: StateOp = serde_json::from_str(&serde_json::to_string(&op).unwrap()).unwrap();
        let StateReply::Sessions(list) = apply(&store, wire, 20).await.unwrap() else {
            panic!("sessions expected");
        };
        assert_eq!(list.len(), 1);
        assert_eq!(list[0].id, hex(&[7; 32]));
        assert_eq!(list[0].expires_at, 110, "the idle end comes first");
        let reply = apply(
            &store,
            StateOp::EndSession {
                id: list[0].id.clone(),
            },
            20,
        )
        .await
        .unwrap();
        assert_eq!(reply, StateReply::Done(true));
        let wire = serde_json::to_string(&reply).unwrap();
        assert_eq!(serde_json::from_str::<StateReply>(&wire).unwrap(), reply);
        assert!(matches!(
            apply(&store, StateOp::EndSession { id: "zz".into() }, 20).await,
            Err(StateError::BadId(_))
        ));
        assert!(serde_json::from_str::<StateOp>(r#"{"op":"drop_everything"}"#).is_err());
    }
}
