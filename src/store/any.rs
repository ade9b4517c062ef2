//! The store a deployment chose, behind the same traits: embedded (memory + SQLite) for one
//! gateway, Redis + PostgreSQL when several share the work.

use super::ephemeral::{
    Census, Challenge, ChallengeStage, Counted, EndedSession, EphemeralStore, FailureLimit,
    FailureOutcome, Inspection, Session,
};
use super::{
    DurableStore, Invite, MemoryStore, PostgresStore, RedisStore, SqliteStore, StoreError,
    TotpRecord,
};
use crate::keys::Sealed;
use crate::ops::sharded::Histogram;
use prometheus_client::metrics::family::Family;

#[derive(Clone)]
pub enum AnyDurable {
    Sqlite(SqliteStore),
    Postgres(PostgresStore),
}

#[derive(Clone)]
pub enum AnyEphemeral {
    Memory(MemoryStore),
    Redis(RedisStore),
}

/// Calls the same method on whichever store is inside.
#[derive(Clone, Debug, Hash, PartialEq, Eq, prometheus_client::encoding::EncodeLabelSet)]
pub struct StoreLabels {
    pub store: &'static str,
}

/// Histograms by backend, each made on first use.
pub type LatencyFamily = Family<StoreLabels, Histogram, fn() -> Histogram>;

/// Time per store operation, by backend (`/metrics`: `store_seconds`).
pub static LATENCY: std::sync::LazyLock<LatencyFamily> = std::sync::LazyLock::new(|| {
    Family::new_with_constructor(|| {
        // 100 µs (an in-memory lookup) … 2.5 s (a store timing out).
        Histogram::new(&[
            0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.1, 0.5, 2.5,
        ])
    })
});

const KINDS: [&str; 4] = ["memory", "redis", "sqlite", "postgres"];

fn observe(store: &'static str, started: std::time::Instant) {
    // Each backend's histogram is looked up in the family once (the family's lock and hash
    // are shared by every thread), then kept.
    static RESOLVED: [std::sync::OnceLock<Histogram>; 4] =
        [const { std::sync::OnceLock::new() }; 4];
    let took = started.elapsed().as_secs_f64();
    let resolved = KINDS
        .iter()
        .position(|k| *k == store)
        .and_then(|i| RESOLVED.get(i));
    match resolved {
        Some(slot) => slot
            .get_or_init(|| LATENCY.get_or_create(&StoreLabels { store }).clone())
            .observe(took),
        None => LATENCY.get_or_create(&StoreLabels { store }).observe(took),
    }
}

macro_rules! dispatch {
    ($self:ident, $store:ident => $call:expr, $a:ident, $b:ident) => {{
        let started = std::time::Instant::now();
        let result = match $self {
            Self::$a($store) => $call.await,
            Self::$b($store) => $call.await,
        };
        observe($self.kind(), started);
        result
    }};
}

impl AnyDurable {
    pub fn kind(&self) -> &'static str {
        match self {
            AnyDurable::Sqlite(_) => "sqlite",
            AnyDurable::Postgres(_) => "postgres",
        }
    }
}

impl AnyEphemeral {
    pub fn kind(&self) -> &'static str {
        match self {
            AnyEphemeral::Memory(_) => "memory",
            AnyEphemeral::Redis(_) => "redis",
        }
    }

    pub async fn ping(&self) -> Result<(), StoreError> {
        match self {
            AnyEphemeral::Memory(_) => Ok(()),
            AnyEphemeral::Redis(r) => r.ping().await,
        }
    }

    /// Like [`DurableStore::claim_key_fingerprint`]; this process's memory holds only what it
    /// wrote itself.
    pub async fn claim_key_fingerprint(&self, fingerprint: &str) -> Result<String, StoreError> {
        match self {
            AnyEphemeral::Memory(_) => Ok(fingerprint.to_string()),
            AnyEphemeral::Redis(r) => r.claim_key_fingerprint(fingerprint).await,
        }
    }
}

impl DurableStore for AnyDurable {
    async fn totp(&self, realm: &str, user: &str) -> Result<Option<TotpRecord>, StoreError> {
        dispatch!(self, s => s.totp(realm, user), Sqlite, Postgres)
    }
    async fn put_totp(&self, record: &TotpRecord) -> Result<(), StoreError> {
        dispatch!(self, s => s.put_totp(record), Sqlite, Postgres)
    }
    async fn all_totp(&self) -> Result<Vec<TotpRecord>, StoreError> {
        dispatch!(self, s => s.all_totp(), Sqlite, Postgres)
    }
    async fn reseal_totp(&self, id: &str, old: &str, secret: &Sealed) -> Result<bool, StoreError> {
        dispatch!(self, s => s.reseal_totp(id, old, secret), Sqlite, Postgres)
    }
    async fn record_totp_step(
        &self,
        realm: &str,
        user: &str,
        factor_id: &str,
        step: u64,
        now: i64,
    ) -> Result<bool, StoreError> {
        dispatch!(self, s => s.record_totp_step(realm, user, factor_id, step, now), Sqlite, Postgres)
    }
    async fn remove_totp(&self, realm: &str, user: &str) -> Result<bool, StoreError> {
        dispatch!(self, s => s.remove_totp(realm, user), Sqlite, Postgres)
    }
    async fn replace_recovery_codes(
        &self,
        realm: &str,
        user: &str,
        hashes: &[[u8; 32]],
        now: i64,
    ) -> Result<(), StoreError> {
        dispatch!(self, s => s.replace_recovery_codes(realm, user, hashes, now), Sqlite, Postgres)
    }
    async fn enroll_totp(
        &self,
        record: &TotpRecord,
        hashes: &[[u8; 32]],
        now: i64,
    ) -> Result<(), StoreError> {
        dispatch!(self, s => s.enroll_totp(record, hashes, now), Sqlite, Postgres)
    }
    async fn consume_recovery_code(
        &self,
        realm: &str,
        user: &str,
        hash: &[u8; 32],
        now: i64,
    ) -> Result<super::CodeUse, StoreError> {
        dispatch!(self, s => s.consume_recovery_code(realm, user, hash, now), Sqlite, Postgres)
    }
    async fn recovery_codes_left(&self, realm: &str, user: &str) -> Result<u32, StoreError> {
        dispatch!(self, s => s.recovery_codes_left(realm, user), Sqlite, Postgres)
    }
    async fn recovery_codes_shown(&self, realm: &str, user: &str) -> Result<(), StoreError> {
        dispatch!(self, s => s.recovery_codes_shown(realm, user), Sqlite, Postgres)
    }
    async fn recovery_codes_unseen(&self, realm: &str, user: &str) -> Result<bool, StoreError> {
        dispatch!(self, s => s.recovery_codes_unseen(realm, user), Sqlite, Postgres)
    }
    async fn put_invite(&self, invite: &Invite, hash: &[u8; 32]) -> Result<(), StoreError> {
        dispatch!(self, s => s.put_invite(invite, hash), Sqlite, Postgres)
    }
    async fn take_invite(
        &self,
        realm: &str,
        user: &str,
        hash: &[u8; 32],
        now: i64,
    ) -> Result<bool, StoreError> {
        dispatch!(self, s => s.take_invite(realm, user, hash, now), Sqlite, Postgres)
    }
    async fn invite(
        &self,
        realm: &str,
        user: &str,
        now: i64,
    ) -> Result<Option<Invite>, StoreError> {
        dispatch!(self, s => s.invite(realm, user, now), Sqlite, Postgres)
    }
    async fn put_device(&self, device: &super::Device) -> Result<(), StoreError> {
        dispatch!(self, s => s.put_device(device), Sqlite, Postgres)
    }
    async fn use_device(
        &self,
        realm: &str,
        user: &str,
        id: &str,
        now: i64,
        expires_at: i64,
    ) -> Result<bool, StoreError> {
        dispatch!(self, s => s.use_device(realm, user, id, now, expires_at), Sqlite, Postgres)
    }
    async fn devices(
        &self,
        realm: &str,
        user: &str,
        now: i64,
    ) -> Result<Vec<super::Device>, StoreError> {
        dispatch!(self, s => s.devices(realm, user, now), Sqlite, Postgres)
    }
    async fn remove_devices(
        &self,
        realm: &str,
        user: &str,
        id: Option<&str>,
    ) -> Result<u64, StoreError> {
        dispatch!(self, s => s.remove_devices(realm, user, id), Sqlite, Postgres)
    }
    async fn open_enrollment(&self, realm: &str, now: i64) -> Result<i64, StoreError> {
        dispatch!(self, s => s.open_enrollment(realm, now), Sqlite, Postgres)
    }
    async fn enrollment_opened(&self, realm: &str) -> Result<Option<i64>, StoreError> {
        dispatch!(self, s => s.enrollment_opened(realm), Sqlite, Postgres)
    }
    async fn note_unenrolled(&self, realm: &str, user: &str, now: i64) -> Result<(), StoreError> {
        dispatch!(self, s => s.note_unenrolled(realm, user, now), Sqlite, Postgres)
    }
    async fn unenrolled(&self, realm: &str) -> Result<Vec<super::Unenrolled>, StoreError> {
        dispatch!(self, s => s.unenrolled(realm), Sqlite, Postgres)
    }
    async fn ping(&self) -> Result<(), StoreError> {
        dispatch!(self, s => s.ping(), Sqlite, Postgres)
    }
    async fn key_fingerprint(&self) -> Result<Option<String>, StoreError> {
        dispatch!(self, s => s.key_fingerprint(), Sqlite, Postgres)
    }
    async fn claim_key_fingerprint(
        &self,
        fingerprint: &str,
        now: i64,
    ) -> Result<String, StoreError> {
        dispatch!(self, s => s.claim_key_fingerprint(fingerprint, now), Sqlite, Postgres)
    }
}

impl EphemeralStore for AnyEphemeral {
    async fn put_challenge(&self, c: &Challenge) -> Result<(), StoreError> {
        dispatch!(self, s => s.put_challenge(c), Memory, Redis)
    }
    async fn challenge(&self, id: &str, now: i64) -> Result<Option<Challenge>, StoreError> {
        dispatch!(self, s => s.challenge(id, now), Memory, Redis)
    }
    async fn record_failure(
        &self,
        id: &str,
        max: u32,
        now: i64,
    ) -> Result<FailureOutcome, StoreError> {
        dispatch!(self, s => s.record_failure(id, max, now), Memory, Redis)
    }
    async fn advance_challenge(
        &self,
        id: &str,
        revision: u64,
        stage: ChallengeStage,
        now: i64,
    ) -> Result<bool, StoreError> {
        dispatch!(self, s => s.advance_challenge(id, revision, stage, now), Memory, Redis)
    }
    async fn take_challenge(&self, id: &str, now: i64) -> Result<Option<Challenge>, StoreError> {
        dispatch!(self, s => s.take_challenge(id, now), Memory, Redis)
    }
    async fn put_session(&self, session: &Session) -> Result<(), StoreError> {
        dispatch!(self, s => s.put_session(session), Memory, Redis)
    }
    async fn touch_session(&self, id: &[u8; 32], now: i64) -> Result<Option<Session>, StoreError> {
        dispatch!(self, s => s.touch_session(id, now), Memory, Redis)
    }
    async fn end_session(&self, id: &[u8; 32]) -> Result<bool, StoreError> {
        dispatch!(self, s => s.end_session(id), Memory, Redis)
    }
    async fn end_user_sessions(
        &self,
        realm: &str,
        user: &str,
        keep: Option<&[u8; 32]>,
    ) -> Result<u32, StoreError> {
        dispatch!(self, s => s.end_user_sessions(realm, user, keep), Memory, Redis)
    }
    async fn bind_credential(
        &self,
        credential: &[u8; 32],
        session: &[u8; 32],
        now: i64,
    ) -> Result<(), StoreError> {
        dispatch!(self, s => s.bind_credential(credential, session, now), Memory, Redis)
    }
    async fn burn_credential(&self, credential: &[u8; 32], until: i64) -> Result<(), StoreError> {
        dispatch!(self, s => s.burn_credential(credential, until), Memory, Redis)
    }
    async fn credential_burned(&self, credential: &[u8; 32], now: i64) -> Result<bool, StoreError> {
        dispatch!(self, s => s.credential_burned(credential, now), Memory, Redis)
    }
    async fn retire_credential(
        &self,
        credential: &[u8; 32],
        session: &[u8; 32],
        until: i64,
        now: i64,
    ) -> Result<(), StoreError> {
        dispatch!(self, s => s.retire_credential(credential, session, until, now), Memory, Redis)
    }
    async fn session_for_credential(
        &self,
        credential: &[u8; 32],
        now: i64,
    ) -> Result<Option<Session>, StoreError> {
        dispatch!(self, s => s.session_for_credential(credential, now), Memory, Redis)
    }
    async fn sessions(
        &self,
        user: Option<(&str, &str)>,
        now: i64,
    ) -> Result<Vec<Session>, StoreError> {
        dispatch!(self, s => s.sessions(user, now), Memory, Redis)
    }
    async fn count_failure(
        &self,
        subject: &str,
        limit: FailureLimit,
        now: i64,
    ) -> Result<Counted, StoreError> {
        dispatch!(self, s => s.count_failure(subject, limit, now), Memory, Redis)
    }
    async fn inspect(
        &self,
        subjects: &[String],
        counted: Option<&str>,
        now: i64,
    ) -> Result<Inspection, StoreError> {
        dispatch!(self, s => s.inspect(subjects, counted, now), Memory, Redis)
    }
    async fn set_lock(
        &self,
        subject: &str,
        until: Option<i64>,
        now: i64,
    ) -> Result<bool, StoreError> {
        dispatch!(self, s => s.set_lock(subject, until, now), Memory, Redis)
    }
    async fn clear_failures(&self, subject: &str) -> Result<(), StoreError> {
        dispatch!(self, s => s.clear_failures(subject), Memory, Redis)
    }
    async fn uncount_failure(&self, subject: &str, now: i64) -> Result<(), StoreError> {
        dispatch!(self, s => s.uncount_failure(subject, now), Memory, Redis)
    }
    async fn take_failures(&self, subject: &str, now: i64) -> Result<u32, StoreError> {
        dispatch!(self, s => s.take_failures(subject, now), Memory, Redis)
    }
    async fn locks(&self, now: i64) -> Result<Vec<(String, i64)>, StoreError> {
        dispatch!(self, s => s.locks(now), Memory, Redis)
    }
    async fn reap_ended(&self, now: i64) -> Result<Vec<EndedSession>, StoreError> {
        dispatch!(self, s => s.reap_ended(now), Memory, Redis)
    }
    async fn census(&self, now: i64) -> Result<Census, StoreError> {
        dispatch!(self, s => s.census(now), Memory, Redis)
    }
}
