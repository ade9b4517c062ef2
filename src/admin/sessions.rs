//! Sessions as admin commands see them: listed, ended one by one or all of a user's.

use super::remote;
use super::state::{SessionView, StateOp, StateReply};
use super::{Admin, AdminError};

impl Admin {
    pub async fn sessions(
        &self,
        user: Option<(&str, &str)>,
        now: i64,
    ) -> Result<Vec<SessionView>, AdminError> {
        let op = StateOp::Sessions {
            user: user.map(|(r, u)| (r.to_string(), u.to_string())),
        };
        match self.state(op, now).await? {
            StateReply::Sessions(list) => Ok(list),
            _ => Err(remote::RemoteError::Answer.into()),
        }
    }

    pub(super) async fn end_user_sessions(
        &self,
        realm: &str,
        user: &str,
        now: i64,
    ) -> Result<u32, AdminError> {
        let op = StateOp::EndUserSessions {
            realm: realm.into(),
            user: user.into(),
        };
        match self.state(op, now).await? {
            StateReply::Count(n) => Ok(n),
            _ => Err(remote::RemoteError::Answer.into()),
        }
    }

    /// Ends the one live session whose id starts with `prefix` (at least 8 hex digits; the
    /// audit trail shows 16).
    pub async fn revoke(&self, prefix: &str, now: i64) -> Result<SessionView, AdminError> {
        let prefix = prefix.trim().to_ascii_lowercase();
        if prefix.len() < 8 || !prefix.bytes().all(|b| b.is_ascii_hexdigit()) {
            return Err(AdminError::Usage(
                "a session id is at least 8 hex digits (as `session list` and the audit trail show them)".into(),
            ));
        }
        let matching: Vec<SessionView> = self
            .sessions(None, now)
            .await?
            .into_iter()
            .filter(|s| s.id.starts_with(&prefix))
            .collect();
        let session = match matching.as_slice() {
            [one] => one.clone(),
            [] => return Err(AdminError::Usage(format!("no live session {prefix}"))),
            _ => {
                return Err(AdminError::Usage(format!(
                    "{prefix} names several sessions: give more digits"
                )))
            }
        };
        let (realm, user) = (session.realm.clone(), session.user.clone());
        self.change("session_ended", &realm, Some(&user), now, false, async {
            let op = StateOp::EndSession {
                id: session.id.clone(),
            };
            match self.state(op, now).await? {
                StateReply::Done(_) => {}
                _ => return Err(remote::RemoteError::Answer.into()),
            }
            let detail = vec![
                ("reason", "revoked by an administrator".into()),
                ("session", session.id.chars().take(16).collect()),
            ];
            Ok(((), detail))
        })
        .await?;
        Ok(session)
    }

    /// Ends every session of a user; how many ended.
    pub async fn revoke_user(&self, realm: &str, user: &str, now: i64) -> Result<u32, AdminError> {
        self.change("session_ended", realm, Some(user), now, false, async {
            let ended = self.end_user_sessions(realm, user, now).await?;
            let detail = vec![
                ("reason", "revoked by an administrator".into()),
                ("sessions_ended", ended.to_string()),
            ];
            Ok((ended, detail))
        })
        .await
    }
}
