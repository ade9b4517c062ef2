//! The embedded ephemeral store: in-process maps behind one lock each, for a single gateway.

use super::ephemeral::{Challenge, ChallengeStage, EphemeralStore, FailureOutcome, Session};
use super::StoreError;
use std::collections::HashMap;
use std::sync::{Arc, Mutex, MutexGuard};

#[derive(Default)]
struct Maps {
    challenges: HashMap<String, Challenge>,
    sessions: HashMap<[u8; 32], Session>,
    credentials: HashMap<[u8; 32], [u8; 32]>,
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
    pub fn sweep(&self, now: i64) -> Result<usize, StoreError> {
        let mut maps = self.lock()?;
        let before = maps.challenges.len() + maps.sessions.len() + maps.credentials.len();
        maps.challenges.retain(|_, c| c.expires_at > now);
        maps.sessions.retain(|_, s| s.is_live(now));
        let Maps {
            sessions,
            credentials,
            ..
        } = &mut *maps;
        credentials.retain(|_, session| sessions.contains_key(session));
        Ok(before - (maps.challenges.len() + maps.sessions.len() + maps.credentials.len()))
    }
}

fn live_session(maps: &mut Maps, id_hash: &[u8; 32], now: i64) -> Option<Session> {
    let session = maps.sessions.get_mut(id_hash)?;
    if !session.is_live(now) {
        maps.sessions.remove(id_hash);
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

    async fn session_for_credential(
        &self,
        credential_hash: &[u8; 32],
        now: i64,
    ) -> Result<Option<Session>, StoreError> {
        let mut maps = self.lock()?;
        let Some(session) = maps.credentials.get(credential_hash).copied() else {
            return Ok(None);
        };
        let live = live_session(&mut maps, &session, now);
        if live.is_none() {
            maps.credentials.remove(credential_hash);
        }
        Ok(live)
    }
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
        assert_eq!(store.sweep(50).unwrap(), 0);
        // The challenge expires at 100, the session's idle timeout (600 s) at 600.
        assert_eq!(store.sweep(700).unwrap(), 3);
    }
}
