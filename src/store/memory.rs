//! The embedded ephemeral store: in-process maps behind one lock each, for a single gateway.

use super::ephemeral::{
    Census, Challenge, ChallengeStage, Counted, EndedSession, EphemeralStore, FailureLimit,
    FailureOutcome, Inspection, Session,
};
use super::StoreError;
use std::collections::HashMap;
use std::sync::{Arc, Mutex, MutexGuard};

#[derive(Default)]
struct Maps {
    challenges: HashMap<String, Challenge>,
    sessions: HashMap<[u8; 32], Session>,
    credentials: HashMap<[u8; 32], [u8; 32]>,
    /// Credentials that stop opening their session at a time (`retire_credential`).
    retiring: HashMap<[u8; 32], i64>,
    /// Credentials no one may use unbound until a time (`burn_credential`).
    burned: HashMap<[u8; 32], i64>,
    /// Failures per subject: (count, start of the window, its length).
    failures: HashMap<String, Tally>,
    /// Lock end per subject.
    locks: HashMap<String, i64>,
}

#[derive(Clone, Default)]
pub struct MemoryStore {
    maps: Arc<Mutex<Maps>>,
}

impl MemoryStore {
    pub fn new() -> Self {
        Self::default()
    }

    /// A poisoned lock means a thread panicked mid-update: fail closed rather than trust it.
    fn lock(&self) -> Result<MutexGuard<'_, Maps>, StoreError> {
        self.maps
            .lock()
            .map_err(|_| StoreError::Unavailable("memory store lock poisoned"))
    }

    /// Drops everything expired at `now`; run periodically so abandoned logins do not pile up.
    /// Returns how many records went, and the sessions that ended by their timeouts (to be
    /// audited: this is where an idle or absolute end is seen).
    pub fn sweep(&self, now: i64) -> Result<(usize, Vec<Session>), StoreError> {
        let mut maps = self.lock()?;
        let before = maps.challenges.len() + maps.sessions.len() + maps.credentials.len();
        maps.challenges.retain(|_, c| c.expires_at > now);
        let ended: Vec<Session> = maps
            .sessions
            .values()
            .filter(|s| !s.is_live(now))
            .cloned()
            .collect();
        maps.sessions.retain(|_, s| s.is_live(now));
        maps.failures.retain(|_, tally| now < tally.keep_until);
        maps.locks.retain(|_, until| now < *until);
        maps.burned.retain(|_, until| now < *until);
        let Maps {
            sessions,
            credentials,
            retiring,
            ..
        } = &mut *maps;
        retiring.retain(|credential, until| {
            let gone = *until <= now;
            if gone {
                credentials.remove(credential);
            }
            !gone
        });
        credentials.retain(|_, session| sessions.contains_key(session));
        let removed =
            before - (maps.challenges.len() + maps.sessions.len() + maps.credentials.len());
        Ok((removed, ended))
    }
}

/// The session if live at `now`, marked seen. An ended one stays until the sweep, which
/// reports it.
fn live_session(maps: &mut Maps, id_hash: &[u8; 32], now: i64) -> Option<Session> {
    let session = maps.sessions.get_mut(id_hash)?;
    if !session.is_live(now) {
        return None;
    }
    session.last_seen_at = session.last_seen_at.max(now);
    Some(session.clone())
}

impl EphemeralStore for MemoryStore {
    async fn put_challenge(&self, challenge: &Challenge) -> Result<(), StoreError> {
        self.lock()?
            .challenges
            .insert(challenge.id.clone(), challenge.clone());
        Ok(())
    }

    async fn challenge(&self, id: &str, now: i64) -> Result<Option<Challenge>, StoreError> {
        Ok(self
            .lock()?
            .challenges
            .get(id)
            .filter(|c| c.expires_at > now)
            .cloned())
    }

    async fn record_failure(
        &self,
        id: &str,
        max_failures: u32,
        now: i64,
    ) -> Result<FailureOutcome, StoreError> {
        let mut maps = self.lock()?;
        let Some(challenge) = maps.challenges.get_mut(id).filter(|c| c.expires_at > now) else {
            return Ok(FailureOutcome::Missing);
        };
        challenge.failures += 1;
        challenge.revision += 1;
        if challenge.failures >= max_failures {
            maps.challenges.remove(id);
            return Ok(FailureOutcome::Dead);
        }
        Ok(FailureOutcome::Remaining(max_failures - challenge.failures))
    }

    async fn advance_challenge(
        &self,
        id: &str,
        revision: u64,
        stage: ChallengeStage,
        now: i64,
    ) -> Result<bool, StoreError> {
        let mut maps = self.lock()?;
        match maps.challenges.get_mut(id) {
            Some(c) if c.expires_at > now && c.revision == revision => {
                c.stage = stage;
                c.revision += 1;
                Ok(true)
            }
            _ => Ok(false),
        }
    }

    async fn take_challenge(&self, id: &str, now: i64) -> Result<Option<Challenge>, StoreError> {
        Ok(self
            .lock()?
            .challenges
            .remove(id)
            .filter(|c| c.expires_at > now))
    }

    async fn put_session(&self, session: &Session) -> Result<(), StoreError> {
        self.lock()?
            .sessions
            .insert(session.id_hash, session.clone());
        Ok(())
    }

    async fn touch_session(
        &self,
        id_hash: &[u8; 32],
        now: i64,
    ) -> Result<Option<Session>, StoreError> {
        let mut maps = self.lock()?;
        Ok(live_session(&mut maps, id_hash, now))
    }

    async fn end_session(&self, id_hash: &[u8; 32]) -> Result<bool, StoreError> {
        let mut maps = self.lock()?;
        maps.credentials.retain(|_, session| session != id_hash);
        Ok(maps.sessions.remove(id_hash).is_some())
    }

    async fn end_user_sessions(
        &self,
        realm: &str,
        user: &str,
        keep: Option<&[u8; 32]>,
    ) -> Result<u32, StoreError> {
        let mut maps = self.lock()?;
        let ended: Vec<[u8; 32]> = maps
            .sessions
            .values()
            .filter(|s| s.realm == realm && s.user == user && Some(&s.id_hash) != keep)
            .map(|s| s.id_hash)
            .collect();
        for id in &ended {
            maps.sessions.remove(id);
        }
        maps.credentials
            .retain(|_, session| !ended.contains(session));
        Ok(u32::try_from(ended.len()).unwrap_or(u32::MAX))
    }

    async fn bind_credential(
        &self,
        credential_hash: &[u8; 32],
        session: &[u8; 32],
        _now: i64,
    ) -> Result<(), StoreError> {
        self.lock()?.credentials.insert(*credential_hash, *session);
        Ok(())
    }

    async fn burn_credential(
        &self,
        credential_hash: &[u8; 32],
        until: i64,
    ) -> Result<(), StoreError> {
        let mut maps = self.lock()?;
        let end = maps.burned.entry(*credential_hash).or_insert(until);
        *end = (*end).max(until);
        Ok(())
    }

    async fn credential_burned(
        &self,
        credential_hash: &[u8; 32],
        now: i64,
    ) -> Result<bool, StoreError> {
        Ok(self
            .lock()?
            .burned
            .get(credential_hash)
            .is_some_and(|until| now < *until))
    }

    async fn retire_credential(
        &self,
        credential_hash: &[u8; 32],
        session: &[u8; 32],
        until: i64,
        _now: i64,
    ) -> Result<(), StoreError> {
        let mut maps = self.lock()?;
        if maps.credentials.get(credential_hash) == Some(session) {
            // Never later than a time already set.
            maps.retiring
                .entry(*credential_hash)
                .and_modify(|t| *t = (*t).min(until))
                .or_insert(until);
        }
        Ok(())
    }

    async fn session_for_credential(
        &self,
        credential_hash: &[u8; 32],
        now: i64,
    ) -> Result<Option<Session>, StoreError> {
        let mut maps = self.lock()?;
        if maps
            .retiring
            .get(credential_hash)
            .is_some_and(|until| *until <= now)
        {
            maps.retiring.remove(credential_hash);
            maps.credentials.remove(credential_hash);
            return Ok(None);
        }
        let Some(session) = maps.credentials.get(credential_hash).copied() else {
            return Ok(None);
        };
        let live = live_session(&mut maps, &session, now);
        if live.is_none() {
            maps.credentials.remove(credential_hash);
        }
        Ok(live)
    }

    async fn sessions(
        &self,
        user: Option<(&str, &str)>,
        now: i64,
    ) -> Result<Vec<Session>, StoreError> {
        Ok(self
            .lock()?
            .sessions
            .values()
            .filter(|s| s.is_live(now))
            .filter(|s| user.is_none_or(|(realm, user)| s.realm == realm && s.user == user))
            .cloned()
            .collect())
    }

    async fn count_failure(
        &self,
        subject: &str,
        limit: FailureLimit,
        now: i64,
    ) -> Result<Counted, StoreError> {
        let mut maps = self.lock()?;
        if let Some(until) = lock_in_force(&maps, subject, now) {
            return Ok(Counted::Locked(until));
        }
        let fresh = Tally {
            n: 0,
            start: now,
            within: limit.within_secs,
            strikes: 0,
            total: 0,
            keep_until: now,
        };
        let tally = maps.failures.entry(subject.to_string()).or_insert(fresh);
        if now >= tally.keep_until {
            *tally = fresh;
        }
        if now >= tally.start.saturating_add(tally.within) {
            (tally.n, tally.start, tally.within) = (0, now, limit.within_secs);
        }
        tally.n = tally.n.saturating_add(1);
        tally.total = tally.total.saturating_add(1);
        let capped = limit.max_failures > 0 && tally.total >= limit.max_failures;
        if tally.n < limit.failures && !capped {
            tally.keep_until = tally
                .keep_until
                .max(tally.start.saturating_add(tally.within));
            return Ok(Counted::Under(tally.n));
        }
        let until = now.saturating_add(limit.lock_for(tally.strikes, tally.total));
        tally.strikes = tally.strikes.saturating_add(1);
        (tally.n, tally.start) = (0, now);
        tally.keep_until = until.saturating_add(limit.forget_secs());
        maps.locks.insert(subject.to_string(), until);
        Ok(Counted::LockedNow(until))
    }

    async fn inspect(
        &self,
        subjects: &[String],
        counted: Option<&str>,
        now: i64,
    ) -> Result<Inspection, StoreError> {
        let maps = self.lock()?;
        Ok(Inspection {
            lock_ends: subjects
                .iter()
                .map(|s| lock_in_force(&maps, s, now))
                .collect(),
            counting: counted
                .and_then(|c| maps.failures.get(c))
                .is_some_and(|tally| now < tally.keep_until),
        })
    }

    async fn set_lock(
        &self,
        subject: &str,
        until: Option<i64>,
        now: i64,
    ) -> Result<bool, StoreError> {
        let mut maps = self.lock()?;
        let was = lock_in_force(&maps, subject, now).is_some();
        match until {
            Some(until) => {
                maps.locks.insert(subject.to_string(), until);
            }
            None => {
                maps.locks.remove(subject);
                maps.failures.remove(subject);
            }
        }
        Ok(was)
    }

    async fn clear_failures(&self, subject: &str) -> Result<(), StoreError> {
        self.lock()?.failures.remove(subject);
        Ok(())
    }

    async fn uncount_failure(&self, subject: &str, now: i64) -> Result<(), StoreError> {
        if let Some(tally) = self.lock()?.failures.get_mut(subject) {
            if now < tally.keep_until {
                tally.n = tally.n.saturating_sub(1);
                tally.total = tally.total.saturating_sub(1);
            }
        }
        Ok(())
    }

    async fn take_failures(&self, subject: &str, now: i64) -> Result<u32, StoreError> {
        Ok(match self.lock()?.failures.remove(subject) {
            Some(tally) if now < tally.keep_until => tally.total,
            _ => 0,
        })
    }

    async fn reap_ended(&self, now: i64) -> Result<Vec<EndedSession>, StoreError> {
        let (_, ended) = self.sweep(now)?;
        Ok(ended
            .into_iter()
            .map(|s| {
                let idle_end = s.last_seen_at.saturating_add(s.idle_timeout_secs);
                let (reason, at) = if s.absolute_expires_at <= idle_end {
                    ("absolute timeout", s.absolute_expires_at)
                } else {
                    ("idle timeout", idle_end)
                };
                EndedSession {
                    id_hash: s.id_hash,
                    app: s.app,
                    realm: s.realm,
                    user: s.user,
                    reason,
                    ended_at: Some(at),
                }
            })
            .collect())
    }

    async fn census(&self, now: i64) -> Result<Census, StoreError> {
        let maps = self.lock()?;
        let count = |n: usize| u64::try_from(n).unwrap_or(u64::MAX);
        Ok(Census {
            challenges: count(
                maps.challenges
                    .values()
                    .filter(|c| c.expires_at > now)
                    .count(),
            ),
            sessions: count(maps.sessions.values().filter(|s| s.is_live(now)).count()),
            locked_users: count(
                maps.locks
                    .iter()
                    .filter(|(s, until)| super::ephemeral::is_user_lock(s) && now < **until)
                    .count(),
            ),
            client_locks: count(
                maps.locks
                    .iter()
                    .filter(|(s, until)| super::ephemeral::is_client_lock(s) && now < **until)
                    .count(),
            ),
        })
    }

    async fn locks(&self, now: i64) -> Result<Vec<(String, i64)>, StoreError> {
        Ok(self
            .lock()?
            .locks
            .iter()
            .filter(|(_, until)| now < **until)
            .map(|(s, until)| (s.clone(), *until))
            .collect())
    }
}

/// A subject's failures: `n` in the window from `start` (`within` long), `strikes` locks and
/// `total` failures since the record began; kept until `keep_until`.
#[derive(Debug, Clone, Copy)]
struct Tally {
    n: u32,
    start: i64,
    within: i64,
    strikes: u32,
    total: u32,
    keep_until: i64,
}

fn lock_in_force(maps: &Maps, subject: &str, now: i64) -> Option<i64> {
    maps.locks
        .get(subject)
        .copied()
        .filter(|until| now < *until)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn memory_passes_the_ephemeral_store_suite() {
        super::super::suite::ephemeral_store_suite(&MemoryStore::new()).await;
    }

    #[tokio::test]
    async fn sweep_drops_what_expired() {
        let store = MemoryStore::new();
        let c = super::super::suite::sample_challenge("c1", 100);
        store.put_challenge(&c).await.unwrap();
        let s = super::super::suite::sample_session(1, 0);
        store.put_session(&s).await.unwrap();
        store
            .bind_credential(&[9; 32], &s.id_hash, 0)
            .await
            .unwrap();
        assert_eq!(store.sweep(50).unwrap(), (0, vec![]));
        // Touched at 50, the session would have ended at 650: still there, just not live.
        assert!(store.touch_session(&s.id_hash, 50).await.unwrap().is_some());
        assert!(store
            .touch_session(&s.id_hash, 660)
            .await
            .unwrap()
            .is_none());
        // The challenge expires at 100, the session's idle timeout (600 s) at 650.
        let (removed, ended) = store.sweep(700).unwrap();
        assert_eq!(removed, 3);
        assert_eq!(ended.len(), 1);
        assert_eq!(ended[0].id_hash, s.id_hash);
    }
}
