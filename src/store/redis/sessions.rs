//! Sessions across their records: ending one (its record, credentials, bindings and places in
//! the indexes), finding the live ones an index names, and reporting those that ended by their
//! timeouts (their records expired inside Redis).

use super::codec::{self, session_from, Fields};
use super::{scripts, unavailable, RedisStore};
use crate::store::ephemeral::{EndedSession, Session};
use crate::store::StoreError;
use redis::AsyncCommands;

impl RedisStore {
    /// Reports the sessions in the listing index whose record is gone (ended by a timeout, not
    /// by `end`, which removes them from the index first), removing each from the index:
    /// whoever removes one reports it.
    pub(super) async fn reap_index(&self, now: i64) -> Result<Vec<EndedSession>, StoreError> {
        let mut conn = self.conn();
        let index = self.all_sessions_key();
        let mut cursor: u64 = 0;
        let mut listed: Vec<(String, i64)> = Vec::new();
        loop {
            let (next, page): (u64, Vec<(String, f64)>) = redis::cmd("ZSCAN")
                .arg(&index)
                .arg(cursor)
                .arg("COUNT")
                .arg(1000)
                .query_async(&mut conn)
                .await
                .map_err(unavailable)?;
            // Scores are whole seconds.
            #[allow(clippy::cast_possible_truncation)]
            listed.extend(page.into_iter().map(|(m, score)| (m, score as i64)));
            if next == 0 {
                break;
            }
            cursor = next;
        }
        let mut ended = Vec::new();
        for chunk in listed.chunks(200) {
            let checks = chunk.iter().map(|(member, _)| {
                let mut conn = self.conn();
                let key = index_member_sid(member).map(|sid| self.session_key(&sid));
                async move {
                    match key {
                        Some(key) => conn.exists::<_, bool>(key).await,
                        None => Ok(false),
                    }
                }
            });
            let exists = futures_util::future::join_all(checks).await;
            for ((member, score), present) in chunk.iter().zip(exists) {
                if present.map_err(unavailable)? {
                    continue;
                }
                let removed: i64 = conn.zrem(&index, member).await.map_err(unavailable)?;
                let Some(parts) = index_member_parts(member) else {
                    continue;
                };
                if removed == 1 {
                    let [sid, app, realm, user] = parts;
                    let (reason, ended_at) = if *score <= now {
                        ("absolute timeout", Some(*score))
                    } else {
                        ("idle timeout", None)
                    };
                    if let Some(id_hash) = codec::unhex(&sid) {
                        ended.push(EndedSession {
                            id_hash,
                            app,
                            realm,
                            user,
                            reason,
                            ended_at,
                        });
                    }
                }
            }
        }
        Ok(ended)
    }

    /// The sessions named that are live at `now` (an index may still name a session that
    /// ended by itself: its record expired, and the index entry expires or is pruned later).
    pub(super) async fn sessions_named(
        &self,
        ids: Vec<String>,
        now: i64,
    ) -> Result<Vec<Session>, StoreError> {
        let mut conn = self.conn();
        let mut found = Vec::new();
        for sid in ids {
            let fields: Fields = conn
                .hgetall(self.session_key(&sid))
                .await
                .map_err(unavailable)?;
            if fields.is_empty() {
                continue;
            }
            let session = session_from(&fields)?;
            if session.is_live(now) {
                found.push(session);
            }
        }
        Ok(found)
    }

    /// Ends one session: its record and credential set at once, then its binding keys and its
    /// place in the user's set.
    pub(super) async fn end(&self, sid: &str) -> Result<bool, StoreError> {
        let mut conn = self.conn();
        let out: Vec<String> = scripts::END_SESSION
            .key(self.session_key(sid))
            .key(self.credentials_key(sid))
            .arg(format!("{}revoked", self.prefix))
            .arg(sid)
            .invoke_async(&mut conn)
            .await
            .map_err(unavailable)?;
        let mut out = out.into_iter();
        let ended = out.next().is_some_and(|n| n == "1");
        let (realm, user, app) = (
            out.next().unwrap_or_default(),
            out.next().unwrap_or_default(),
            out.next().unwrap_or_default(),
        );
        for credential in out {
            let _: i64 = conn
                .del(self.binding_key(&credential))
                .await
                .map_err(unavailable)?;
        }
        if !realm.is_empty() {
            let _: i64 = conn
                .srem(self.user_key(&realm, &user), sid)
                .await
                .map_err(unavailable)?;
        }
        if !realm.is_empty() {
            let _: i64 = conn
                .zrem(
                    self.all_sessions_key(),
                    index_member(sid, &app, &realm, &user),
                )
                .await
                .map_err(unavailable)?;
        }
        Ok(ended)
    }
}

/// A session's member of the listing index: its id, app, realm and user (a JSON array, so no
/// name can be crafted to look like another).
pub(super) fn index_member(sid: &str, app: &str, realm: &str, user: &str) -> String {
    serde_json::json!([sid, app, realm, user]).to_string()
}

fn index_member_parts(member: &str) -> Option<[String; 4]> {
    serde_json::from_str(member).ok()
}

pub(super) fn index_member_sid(member: &str) -> Option<String> {
    index_member_parts(member).map(|[sid, ..]| sid)
}
