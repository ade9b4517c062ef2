//! The shared ephemeral store: Redis, for several gateways — one server, a Sentinel-managed
//! master, or a Cluster. Every read-modify-write of one record is one Lua script, so it runs
//! atomically on the server whichever gateway sends it. Keys live under a configurable prefix
//! and carry native TTLs; liveness checks use the time the caller passes in, like every other
//! store.
//!
//! Keys (`P` = prefix; ids are hex of keyed hashes): `P{c}:{challenge id}` hash and
//! `P{c}:pending` sorted set of pending challenges by expiry (one hash slot, so a challenge and
//! its place in the index change in one script);
//! `P{session}:s` hash and `P{session}:sb` set of its credentials (one hash slot: `{…}` is a
//! Cluster hash tag); `Pb:{credential}` → session; `Pu:{realm len}:{realm}:{user}` set of the
//! user's sessions; `Psessions` sorted set of every session by absolute expiry, its member
//! naming the session's id, app, realm and user (for listing, and for reporting the sessions
//! that end by their timeouts: their record expires inside Redis);
//! `P{rl}:n:{subject}` failure counter, `P{rl}:l:{subject}` lock and `P{rl}:locks` index of
//! locks (one hash slot, so counting and locking is one script). Steps across records (a binding and its session, a session and its user's
//! set) are ordered so that an interruption leaves nothing that grants access: a binding is
//! only honoured through a live session, and a session joins its user's set before it exists.

mod codec;
mod connection;
mod keys;
mod scripts;
mod sessions;

pub use connection::Topology;

use super::ephemeral::{
    Census, Challenge, ChallengeStage, Counted, EndedSession, EphemeralStore, FailureLimit,
    FailureOutcome, Inspection, Session,
};
use super::StoreError;
use arc_swap::ArcSwap;
use codec::{
    challenge_fields, challenge_from, hex, session_fields, session_from, stage_json, Fields,
};
use connection::{Conn, Current};
use redis::{AsyncCommands, IntoConnectionInfo};
use sessions::{index_member, index_member_sid};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::Duration;

#[derive(Clone)]
pub struct RedisStore {
    current: Arc<ArcSwap<Current>>,
    prefix: String,
    /// Bumped whenever any gateway ends a session (a message on `{prefix}revoked`), so local
    /// caches of session lookups can drop what they hold at once.
    revocations: Arc<AtomicU64>,
}

impl std::fmt::Debug for RedisStore {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RedisStore")
            .field("prefix", &self.prefix)
            .finish_non_exhaustive()
    }
}

fn unavailable(e: redis::RedisError) -> StoreError {
    StoreError::Redis(e)
}

impl RedisStore {
    /// Connects as `topology` says. A single server or a Sentinel master is reached lazily and
    /// reconnected by itself: while Redis is away every call fails (the gateway fails closed)
    /// and works again when it is back. With Sentinel the master is looked up now and every
    /// half second and followed after a failover; the URL then gives only the user, password,
    /// database and TLS. A Cluster must answer at start; the URL's host is not used there
    /// either (the nodes are listed).
    pub async fn connect(
        url: &str,
        prefix: &str,
        timeout: Duration,
        topology: Topology,
    ) -> Result<Self, StoreError> {
        let info = url.into_connection_info().map_err(StoreError::Redis)?;
        let master = match &topology {
            Topology::Sentinel { service, sentinels } => {
                connection::master_address(service, sentinels, timeout).await
            }
            _ => None,
        };
        let first = connection::open(&info, &topology, timeout, master).await?;
        let current = Arc::new(ArcSwap::from_pointee(first));
        let revocations = Arc::new(AtomicU64::new(0));
        tokio::spawn(connection::listen_for_revocations(
            current.clone(),
            format!("{prefix}revoked"),
            revocations.clone(),
        ));
        if matches!(topology, Topology::Sentinel { .. }) {
            tokio::spawn(connection::follow_master(
                info,
                topology,
                timeout,
                current.clone(),
                revocations.clone(),
            ));
        }
        Ok(RedisStore {
            current,
            prefix: prefix.to_string(),
            revocations,
        })
    }

    fn conn(&self) -> Conn {
        self.current.load().connection.clone()
    }

    /// Changes whenever a session ended anywhere.
    pub fn revocation_epoch(&self) -> u64 {
        self.revocations.load(Ordering::Acquire)
    }

    /// The key file's fingerprint under the prefix: set if absent, then read.
    pub async fn claim_key_fingerprint(&self, fingerprint: &str) -> Result<String, StoreError> {
        let key = format!("{}key-fingerprint", self.prefix);
        let mut c = self.conn();
        let _: bool = c.set_nx(&key, fingerprint).await.map_err(unavailable)?;
        c.get(&key).await.map_err(unavailable)
    }

    pub async fn ping(&self) -> Result<(), StoreError> {
        let mut c = self.conn();
        let _: String = redis::cmd("PING")
            .query_async(&mut c)
            .await
            .map_err(unavailable)?;
        Ok(())
    }

    /// A write of one small key that expires by itself (readiness): refused as a real write
    /// would be by a read-only replica or a Redis out of memory.
    pub async fn probe_write(&self) -> Result<(), StoreError> {
        let key = format!("{}readiness-probe", self.prefix);
        let mut c = self.conn();
        let _: () = c.set_ex(&key, 1, 60).await.map_err(unavailable)?;
        Ok(())
    }

    /// Writes a whole hash with its TTL in one step.
    async fn put_hash(
        &self,
        key: String,
        fields: Vec<(&'static str, String)>,
        ttl: i64,
    ) -> Result<(), StoreError> {
        let mut invocation = scripts::PUT_HASH.key(key);
        for (name, value) in fields {
            invocation.arg(name).arg(value);
        }
        invocation.arg(ttl.max(1));
        let _: i64 = invocation
            .invoke_async(&mut self.conn())
            .await
            .map_err(unavailable)?;
        Ok(())
    }
}

impl EphemeralStore for RedisStore {
    async fn put_challenge(&self, c: &Challenge) -> Result<(), StoreError> {
        let mut invocation = scripts::PUT_CHALLENGE.key(self.challenge_key(&c.id));
        invocation.key(self.pending_key());
        for (name, value) in challenge_fields(c) {
            invocation.arg(name).arg(value);
        }
        invocation
            .arg((c.expires_at - c.created_at).max(1))
            .arg(c.expires_at)
            .arg(&c.id)
            .arg(c.created_at);
        let _: i64 = invocation
            .invoke_async(&mut self.conn())
            .await
            .map_err(unavailable)?;
        Ok(())
    }

    async fn challenge(&self, id: &str, now: i64) -> Result<Option<Challenge>, StoreError> {
        let fields: Fields = self
            .conn()
            .hgetall(self.challenge_key(id))
            .await
            .map_err(unavailable)?;
        if fields.is_empty() {
            return Ok(None);
        }
        let challenge = challenge_from(id, &fields)?;
        Ok((challenge.expires_at > now).then_some(challenge))
    }

    async fn record_failure(
        &self,
        id: &str,
        max_failures: u32,
        now: i64,
    ) -> Result<FailureOutcome, StoreError> {
        let left: i64 = scripts::RECORD_FAILURE
            .key(self.challenge_key(id))
            .key(self.pending_key())
            .arg(max_failures)
            .arg(now)
            .arg(id)
            .invoke_async(&mut self.conn())
            .await
            .map_err(unavailable)?;
        Ok(match left {
            -1 => FailureOutcome::Missing,
            -2 => FailureOutcome::Dead,
            n => FailureOutcome::Remaining(u32::try_from(n).unwrap_or(0)),
        })
    }

    async fn advance_challenge(
        &self,
        id: &str,
        revision: u64,
        stage: ChallengeStage,
        now: i64,
    ) -> Result<bool, StoreError> {
        let done: i64 = scripts::ADVANCE
            .key(self.challenge_key(id))
            .arg(revision)
            .arg(stage_json(&stage))
            .arg(now)
            .invoke_async(&mut self.conn())
            .await
            .map_err(unavailable)?;
        Ok(done == 1)
    }

    async fn take_challenge(&self, id: &str, now: i64) -> Result<Option<Challenge>, StoreError> {
        let fields: Option<Fields> = scripts::TAKE
            .key(self.challenge_key(id))
            .key(self.pending_key())
            .arg(id)
            .invoke_async(&mut self.conn())
            .await
            .map_err(unavailable)?;
        let Some(fields) = fields else {
            return Ok(None);
        };
        let challenge = challenge_from(id, &fields)?;
        Ok((challenge.expires_at > now).then_some(challenge))
    }

    async fn put_session(&self, s: &Session) -> Result<(), StoreError> {
        let sid = hex(&s.id_hash);
        // The user's set first: a session that exists is always found when the user's
        // sessions must end (a factor changed).
        let user_key = self.user_key(&s.realm, &s.user);
        let mut conn = self.conn();
        // Both indexes at once (each is its own hash slot, so two single-slot pipelines sent
        // together: one round trip of waiting): the user's set, and the listing index, pruned
        // as it grows so it holds only sessions not yet past their absolute end.
        let index = self.all_sessions_key();
        let mut user_set = redis::pipe();
        user_set
            .sadd(&user_key, &sid)
            .ignore()
            .expire(&user_key, (s.absolute_expires_at - s.last_seen_at).max(1))
            .ignore();
        let mut listing = redis::pipe();
        listing
            .zadd(
                &index,
                index_member(&sid, &s.app, &s.realm, &s.user),
                s.absolute_expires_at,
            )
            .ignore()
            .zrembyscore(&index, "-inf", s.last_seen_at)
            .ignore();
        let mut other = conn.clone();
        let (a, b): (redis::RedisResult<()>, redis::RedisResult<()>) = tokio::join!(
            user_set.query_async(&mut conn),
            listing.query_async(&mut other)
        );
        a.and(b).map_err(unavailable)?;
        let end = s
            .absolute_expires_at
            .min(s.last_seen_at.saturating_add(s.idle_timeout_secs));
        self.put_hash(
            self.session_key(&sid),
            session_fields(s),
            end - s.last_seen_at,
        )
        .await
    }

    async fn touch_session(
        &self,
        id_hash: &[u8; 32],
        now: i64,
    ) -> Result<Option<Session>, StoreError> {
        let fields: Option<Fields> = scripts::TOUCH
            .key(self.session_key(&hex(id_hash)))
            .arg(now)
            .invoke_async(&mut self.conn())
            .await
            .map_err(unavailable)?;
        fields.as_ref().map(session_from).transpose()
    }

    async fn end_session(&self, id_hash: &[u8; 32]) -> Result<bool, StoreError> {
        self.end(&hex(id_hash)).await
    }

    async fn end_user_sessions(
        &self,
        realm: &str,
        user: &str,
        keep: Option<&[u8; 32]>,
    ) -> Result<u32, StoreError> {
        let keep = keep.map(|k| hex(k));
        let sessions: Vec<String> = self
            .conn()
            .smembers(self.user_key(realm, user))
            .await
            .map_err(unavailable)?;
        let mut ended = 0;
        for sid in sessions.iter().filter(|s| Some(*s) != keep.as_ref()) {
            if self.end(sid).await? {
                ended += 1;
            }
        }
        Ok(ended)
    }

    async fn bind_credential(
        &self,
        credential_hash: &[u8; 32],
        session: &[u8; 32],
        now: i64,
    ) -> Result<(), StoreError> {
        let (credential, sid) = (hex(credential_hash), hex(session));
        let mut conn = self.conn();
        // Into the session's set first, so ending the session finds the binding.
        let ttl: i64 = scripts::ADD_CREDENTIAL
            .key(self.session_key(&sid))
            .key(self.credentials_key(&sid))
            .arg(&credential)
            .arg(now)
            .invoke_async(&mut conn)
            .await
            .map_err(unavailable)?;
        if ttl > 0 {
            let ttl = u64::try_from(ttl).unwrap_or(1);
            let _: () = conn
                .set_ex(self.binding_key(&credential), &sid, ttl)
                .await
                .map_err(unavailable)?;
        }
        Ok(())
    }

    async fn burn_credential(
        &self,
        credential_hash: &[u8; 32],
        until: i64,
    ) -> Result<(), StoreError> {
        let key = self.burned_key(&hex(credential_hash));
        let mut conn = self.conn();
        // The end is the value (compared with the caller's clock); the key expires with it.
        let current: Option<i64> = conn.get(&key).await.map_err(unavailable)?;
        let end = current.map_or(until, |c| c.max(until)).max(1);
        let _: () = redis::cmd("SET")
            .arg(&key)
            .arg(end)
            .arg("EXAT")
            .arg(end)
            .query_async(&mut conn)
            .await
            .map_err(unavailable)?;
        Ok(())
    }

    async fn credential_burned(
        &self,
        credential_hash: &[u8; 32],
        now: i64,
    ) -> Result<bool, StoreError> {
        let key = self.burned_key(&hex(credential_hash));
        let end: Option<i64> = self.conn().get(&key).await.map_err(unavailable)?;
        Ok(end.is_some_and(|until| now < until))
    }

    async fn retire_credential(
        &self,
        credential_hash: &[u8; 32],
        session: &[u8; 32],
        until: i64,
        now: i64,
    ) -> Result<(), StoreError> {
        let (credential, sid) = (hex(credential_hash), hex(session));
        let mut conn = self.conn();
        let key = self.binding_key(&credential);
        let bound: Option<String> = conn.get(&key).await.map_err(unavailable)?;
        if bound.as_deref() != Some(sid.as_str()) {
            return Ok(());
        }
        let ttl = until.saturating_sub(now).max(1);
        // LT: never later than a time already set (a key without one has none yet).
        let _: () = redis::cmd("EXPIRE")
            .arg(&key)
            .arg(ttl)
            .arg("LT")
            .query_async(&mut conn)
            .await
            .map_err(unavailable)?;
        // Out of the session's set now: the binding goes by itself, and ending the session
        // need not find it.
        let _: () = conn
            .srem(self.credentials_key(&sid), &credential)
            .await
            .map_err(unavailable)?;
        Ok(())
    }

    async fn session_for_credential(
        &self,
        credential_hash: &[u8; 32],
        now: i64,
    ) -> Result<Option<Session>, StoreError> {
        let binding = self.binding_key(&hex(credential_hash));
        let mut conn = self.conn();
        let sid: Option<String> = conn.get(&binding).await.map_err(unavailable)?;
        let Some(sid) = sid else {
            return Ok(None);
        };
        let fields: Option<Fields> = scripts::TOUCH
            .key(self.session_key(&sid))
            .arg(now)
            .invoke_async(&mut conn)
            .await
            .map_err(unavailable)?;
        match fields {
            Some(fields) => Ok(Some(session_from(&fields)?)),
            None => {
                // The session is gone: so is the binding.
                let _: i64 = conn.del(&binding).await.map_err(unavailable)?;
                Ok(None)
            }
        }
    }

    async fn sessions(
        &self,
        user: Option<(&str, &str)>,
        now: i64,
    ) -> Result<Vec<Session>, StoreError> {
        let mut conn = self.conn();
        match user {
            Some((realm, user)) => {
                let ids: Vec<String> = conn
                    .smembers(self.user_key(realm, user))
                    .await
                    .map_err(unavailable)?;
                self.sessions_named(ids, now).await
            }
            None => {
                let members: Vec<String> = conn
                    .zrangebyscore(self.all_sessions_key(), now, "+inf")
                    .await
                    .map_err(unavailable)?;
                let ids = members.iter().filter_map(|m| index_member_sid(m)).collect();
                self.sessions_named(ids, now).await
            }
        }
    }

    async fn count_failure(
        &self,
        subject: &str,
        limit: FailureLimit,
        now: i64,
    ) -> Result<Counted, StoreError> {
        let (state, value): (i64, i64) = scripts::COUNT_FAILURE
            .key(self.failures_key(subject))
            .key(self.lock_key(subject))
            .key(self.locks_key())
            .arg(limit.failures)
            .arg(limit.within_secs)
            .arg(limit.lock_secs)
            .arg(now)
            .arg(subject)
            .arg(limit.max_lock_secs.max(limit.lock_secs))
            .arg(limit.max_failures)
            .arg(limit.forget_secs())
            .invoke_async(&mut self.conn())
            .await
            .map_err(unavailable)?;
        Ok(match state {
            0 => Counted::Under(u32::try_from(value).unwrap_or(u32::MAX)),
            1 => Counted::LockedNow(value),
            _ => Counted::Locked(value),
        })
    }

    async fn inspect(
        &self,
        subjects: &[String],
        counted: Option<&str>,
        now: i64,
    ) -> Result<Inspection, StoreError> {
        if subjects.is_empty() && counted.is_none() {
            return Ok(Inspection {
                lock_ends: Vec::new(),
                counting: false,
            });
        }
        let mut invocation = scripts::INSPECT.prepare_invoke();
        for subject in subjects {
            invocation.key(self.lock_key(subject));
        }
        if let Some(counted) = counted {
            invocation.key(self.failures_key(counted));
        }
        invocation.arg(now).arg(u8::from(counted.is_some()));
        let mut out: Vec<i64> = invocation
            .invoke_async(&mut self.conn())
            .await
            .map_err(unavailable)?;
        let counting = out.pop().is_some_and(|c| c == 1);
        Ok(Inspection {
            lock_ends: out
                .into_iter()
                .map(|end| (end > now).then_some(end))
                .collect(),
            counting,
        })
    }

    async fn set_lock(
        &self,
        subject: &str,
        until: Option<i64>,
        now: i64,
    ) -> Result<bool, StoreError> {
        let was: i64 = scripts::SET_LOCK
            .key(self.lock_key(subject))
            .key(self.failures_key(subject))
            .key(self.locks_key())
            .arg(until.map(|u| u.to_string()).unwrap_or_default())
            .arg(now)
            .arg(subject)
            .invoke_async(&mut self.conn())
            .await
            .map_err(unavailable)?;
        Ok(was == 1)
    }

    async fn clear_failures(&self, subject: &str) -> Result<(), StoreError> {
        let _: i64 = self
            .conn()
            .del(self.failures_key(subject))
            .await
            .map_err(unavailable)?;
        Ok(())
    }

    async fn uncount_failure(&self, subject: &str, now: i64) -> Result<(), StoreError> {
        let _: i64 = scripts::UNCOUNT_FAILURE
            .key(self.failures_key(subject))
            .arg(now)
            .invoke_async(&mut self.conn())
            .await
            .map_err(unavailable)?;
        Ok(())
    }

    async fn take_failures(&self, subject: &str, now: i64) -> Result<u32, StoreError> {
        let total: i64 = scripts::TAKE_FAILURES
            .key(self.failures_key(subject))
            .arg(now)
            .invoke_async(&mut self.conn())
            .await
            .map_err(unavailable)?;
        Ok(u32::try_from(total).unwrap_or(0))
    }

    async fn reap_ended(&self, now: i64) -> Result<Vec<EndedSession>, StoreError> {
        // One gateway a second walks the index; the others skip (the walk is O(sessions)).
        let mut conn = self.conn();
        let turn: Option<String> = redis::cmd("SET")
            .arg(self.reaper_key())
            .arg(now)
            .arg("NX")
            .arg("EX")
            .arg(1)
            .query_async(&mut conn)
            .await
            .map_err(unavailable)?;
        if turn.is_none() {
            return Ok(Vec::new());
        }
        self.reap_index(now).await
    }

    async fn census(&self, now: i64) -> Result<Census, StoreError> {
        let mut conn = self.conn();
        let after = format!("({now}");
        let challenges: u64 = conn
            .zcount(self.pending_key(), &after, "+inf")
            .await
            .map_err(unavailable)?;
        let sessions: u64 = conn
            .zcount(self.all_sessions_key(), &after, "+inf")
            .await
            .map_err(unavailable)?;
        let locks = self.locks(now).await?;
        let count = |keep: fn(&str) -> bool| {
            let n = locks.iter().filter(|(s, _)| keep(s)).count();
            u64::try_from(n).unwrap_or(u64::MAX)
        };
        Ok(Census {
            challenges,
            sessions,
            locked_users: count(crate::store::ephemeral::is_user_lock),
            client_locks: count(crate::store::ephemeral::is_client_lock),
        })
    }

    async fn locks(&self, now: i64) -> Result<Vec<(String, i64)>, StoreError> {
        let listed: Vec<(String, f64)> = self
            .conn()
            .zrangebyscore_withscores(self.locks_key(), now + 1, "+inf")
            .await
            .map_err(unavailable)?;
        // Scores are whole seconds; the cast cannot lose anything real.
        #[allow(clippy::cast_possible_truncation)]
        Ok(listed.into_iter().map(|(s, end)| (s, end as i64)).collect())
    }
}

#[cfg(test)]
mod tests;
