//! The store a deployment chose, behind the same traits: embedded (memory + SQLite) for one
//! gateway, Redis + PostgreSQL when several share the work. Every call passes here, so this
//! is where store failures are counted and the last write's outcome is kept (`watch`), for
//! every endpoint and background task alike.

use super::ephemeral::{
    Census, Challenge, ChallengeStage, Counted, EndedSession, EphemeralStore, FailureLimit,
    FailureOutcome, Inspection, Session,
};
use super::watch::{Call, Outcome, Watch};
use super::{
    DurableStore, FactorRecord, Invite, MemoryStore, PostgresStore, RedisStore, SqliteStore,
    StoreError,
};
use crate::keys::Sealed;
use crate::ops::sharded::Histogram;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use std::sync::Arc;
use std::time::Duration;

#[derive(Clone)]
enum Durable {
    Sqlite(SqliteStore),
    Postgres(PostgresStore),
}

#[derive(Clone)]
enum Ephemeral {
    Memory(MemoryStore),
    Redis(RedisStore),
}

#[derive(Clone)]
pub struct AnyDurable {
    store: Durable,
    watch: Arc<Watch>,
}

#[derive(Clone)]
pub struct AnyEphemeral {
    store: Ephemeral,
    watch: Arc<Watch>,
}

/// How long readiness waits for a store's probe write: well under a load balancer's
/// health-check timeout (2–5 s) with both stores probed at once, and far above a healthy
/// store's write (milliseconds), so only a store that is down or stuck misses it.
pub const PROBE_LIMIT: Duration = Duration::from_millis(400);

/// Whether a store takes a write now: one small probe write, bounded by [`PROBE_LIMIT`] (see
/// [`Watch::probed`]). Made at every check rather than answered from the last request's
/// write alone: a store that died a moment after a good write would be reported ready, and
/// one out of rotation (no requests, no writes) would never be seen to recover. One small
/// write every few seconds costs nothing next to the traffic.
async fn writable<F>(watch: &Watch, probe: F) -> Outcome
where
    F: std::future::Future<Output = Result<(), StoreError>>,
{
    let bounded = async { tokio::time::timeout(PROBE_LIMIT, probe).await.ok() };
    watch.verdict(bounded).await
}

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

/// Calls the same method on whichever store is inside, timing it and telling the watch how
/// it went (`read`, `write` or `scrape`: see [`Call`]).
macro_rules! dispatch {
    ($self:ident, $call_kind:ident, $store:ident => $call:expr, $a:ident, $b:ident) => {{
        let started = crate::ops::clock::instant();
        let result = match &$self.store {
            $a($store) => $call.await,
            $b($store) => $call.await,
        };
        observe($self.kind(), started);
        $self.watch.saw(dispatch!(@call $call_kind), &result);
        result
    }};
    (@call read) => {
        Call::Read
    };
    (@call write) => {
        Call::Write
    };
    (@call scrape) => {
        Call::Scrape
    };
}

use Durable::{Postgres, Sqlite};
use Ephemeral::{Memory, Redis};

impl AnyDurable {
    pub fn sqlite(store: SqliteStore) -> Self {
        Self::new(Durable::Sqlite(store))
    }

    pub fn postgres(store: PostgresStore) -> Self {
        Self::new(Durable::Postgres(store))
    }

    fn new(store: Durable) -> Self {
        let kind = match store {
            Durable::Sqlite(_) => "sqlite",
            Durable::Postgres(_) => "postgres",
        };
        AnyDurable {
            store,
            watch: Arc::new(Watch::new(kind, Counter::default())),
        }
    }

    /// Counts this store's failures in `errors` (shared with the other store and served as
    /// `store_errors_total`) from now on.
    pub fn counting_into(self, errors: Counter) -> Self {
        AnyDurable {
            watch: Arc::new(Watch::new(self.kind(), errors)),
            store: self.store,
        }
    }

    /// Failed operations on this store (and on any store counting into the same counter).
    pub fn errors(&self) -> &Counter {
        self.watch.errors()
    }

    pub fn kind(&self) -> &'static str {
        match self.store {
            Durable::Sqlite(_) => "sqlite",
            Durable::Postgres(_) => "postgres",
        }
    }

    /// Whether the store takes a write now (readiness; see [`writable`]).
    pub async fn writable(&self) -> Outcome {
        let probe = async {
            match &self.store {
                Durable::Sqlite(s) => s.probe_write().await,
                Durable::Postgres(s) => s.probe_write().await,
            }
        };
        writable(&self.watch, probe).await
    }
}

impl AnyEphemeral {
    pub fn memory(store: MemoryStore) -> Self {
        Self::new(Ephemeral::Memory(store))
    }

    pub fn redis(store: RedisStore) -> Self {
        Self::new(Ephemeral::Redis(store))
    }

    fn new(store: Ephemeral) -> Self {
        let kind = match store {
            Ephemeral::Memory(_) => "memory",
            Ephemeral::Redis(_) => "redis",
        };
        AnyEphemeral {
            store,
            watch: Arc::new(Watch::new(kind, Counter::default())),
        }
    }

    /// Like [`AnyDurable::counting_into`].
    pub fn counting_into(self, errors: Counter) -> Self {
        AnyEphemeral {
            watch: Arc::new(Watch::new(self.kind(), errors)),
            store: self.store,
        }
    }

    pub fn errors(&self) -> &Counter {
        self.watch.errors()
    }

    pub fn kind(&self) -> &'static str {
        match self.store {
            Ephemeral::Memory(_) => "memory",
            Ephemeral::Redis(_) => "redis",
        }
    }

    /// The Redis store inside, if that is the one.
    pub fn as_redis(&self) -> Option<&RedisStore> {
        match &self.store {
            Ephemeral::Redis(r) => Some(r),
            Ephemeral::Memory(_) => None,
        }
    }

    /// Whether the store takes a write now (readiness; see [`writable`]). This process's
    /// memory always does.
    pub async fn writable(&self) -> Outcome {
        let probe = async {
            match &self.store {
                Ephemeral::Memory(_) => Ok(()),
                Ephemeral::Redis(r) => r.probe_write().await,
            }
        };
        writable(&self.watch, probe).await
    }

    pub async fn ping(&self) -> Result<(), StoreError> {
        let result = match &self.store {
            Ephemeral::Memory(_) => Ok(()),
            Ephemeral::Redis(r) => r.ping().await,
        };
        self.watch.saw(Call::Read, &result);
        result
    }

    /// Like [`DurableStore::claim_key_fingerprint`]; this process's memory holds only what it
    /// wrote itself.
    pub async fn claim_key_fingerprint(&self, fingerprint: &str) -> Result<String, StoreError> {
        let result = match &self.store {
            Ephemeral::Memory(_) => Ok(fingerprint.to_string()),
            Ephemeral::Redis(r) => r.claim_key_fingerprint(fingerprint).await,
        };
        self.watch.saw(Call::Write, &result);
        result
    }
}

impl DurableStore for AnyDurable {
    async fn factor(
        &self,
        realm: &str,
        user: &str,
        method: &str,
    ) -> Result<Option<FactorRecord>, StoreError> {
        dispatch!(self, read, s => s.factor(realm, user, method), Sqlite, Postgres)
    }
    async fn put_factor(&self, record: &FactorRecord) -> Result<(), StoreError> {
        dispatch!(self, write, s => s.put_factor(record), Sqlite, Postgres)
    }
    async fn factors(&self, realm: &str, user: &str) -> Result<Vec<FactorRecord>, StoreError> {
        dispatch!(self, read, s => s.factors(realm, user), Sqlite, Postgres)
    }
    async fn all_factors(&self) -> Result<Vec<FactorRecord>, StoreError> {
        dispatch!(self, read, s => s.all_factors(), Sqlite, Postgres)
    }
    async fn reseal_factor(
        &self,
        id: &str,
        old: &str,
        secret: &Sealed,
    ) -> Result<bool, StoreError> {
        dispatch!(self, write, s => s.reseal_factor(id, old, secret), Sqlite, Postgres)
    }
    async fn record_factor_step(
        &self,
        realm: &str,
        user: &str,
        factor_id: &str,
        counter: u64,
        now: i64,
    ) -> Result<bool, StoreError> {
        dispatch!(self, write, s => s.record_factor_step(realm, user, factor_id, counter, now), Sqlite, Postgres)
    }
    async fn remove_factor(
        &self,
        realm: &str,
        user: &str,
        method: &str,
    ) -> Result<bool, StoreError> {
        dispatch!(self, write, s => s.remove_factor(realm, user, method), Sqlite, Postgres)
    }
    async fn replace_recovery_codes(
        &self,
        realm: &str,
        user: &str,
        hashes: &[[u8; 32]],
        now: i64,
    ) -> Result<(), StoreError> {
        dispatch!(self, write, s => s.replace_recovery_codes(realm, user, hashes, now), Sqlite, Postgres)
    }
    async fn enroll_factor(
        &self,
        record: &FactorRecord,
        hashes: &[[u8; 32]],
        now: i64,
    ) -> Result<(), StoreError> {
        dispatch!(self, write, s => s.enroll_factor(record, hashes, now), Sqlite, Postgres)
    }
    async fn consume_recovery_code(
        &self,
        realm: &str,
        user: &str,
        hash: &[u8; 32],
        now: i64,
    ) -> Result<super::CodeUse, StoreError> {
        dispatch!(self, write, s => s.consume_recovery_code(realm, user, hash, now), Sqlite, Postgres)
    }
    async fn recovery_codes_left(&self, realm: &str, user: &str) -> Result<u32, StoreError> {
        dispatch!(self, read, s => s.recovery_codes_left(realm, user), Sqlite, Postgres)
    }
    async fn recovery_codes_shown(&self, realm: &str, user: &str) -> Result<(), StoreError> {
        dispatch!(self, write, s => s.recovery_codes_shown(realm, user), Sqlite, Postgres)
    }
    async fn recovery_codes_unseen(&self, realm: &str, user: &str) -> Result<bool, StoreError> {
        dispatch!(self, read, s => s.recovery_codes_unseen(realm, user), Sqlite, Postgres)
    }
    async fn put_invite(&self, invite: &Invite, hash: &[u8; 32]) -> Result<(), StoreError> {
        dispatch!(self, write, s => s.put_invite(invite, hash), Sqlite, Postgres)
    }
    async fn take_invite(
        &self,
        realm: &str,
        user: &str,
        hash: &[u8; 32],
        now: i64,
    ) -> Result<bool, StoreError> {
        dispatch!(self, write, s => s.take_invite(realm, user, hash, now), Sqlite, Postgres)
    }
    async fn invite(
        &self,
        realm: &str,
        user: &str,
        now: i64,
    ) -> Result<Option<Invite>, StoreError> {
        dispatch!(self, read, s => s.invite(realm, user, now), Sqlite, Postgres)
    }
    async fn put_device(&self, device: &super::Device) -> Result<(), StoreError> {
        dispatch!(self, write, s => s.put_device(device), Sqlite, Postgres)
    }
    async fn use_device(
        &self,
        realm: &str,
        user: &str,
        id: &str,
        now: i64,
        expires_at: i64,
    ) -> Result<bool, StoreError> {
        dispatch!(self, write, s => s.use_device(realm, user, id, now, expires_at), Sqlite, Postgres)
    }
    async fn devices(
        &self,
        realm: &str,
        user: &str,
        now: i64,
    ) -> Result<Vec<super::Device>, StoreError> {
        dispatch!(self, read, s => s.devices(realm, user, now), Sqlite, Postgres)
    }
    async fn remove_devices(
        &self,
        realm: &str,
        user: &str,
        id: Option<&str>,
    ) -> Result<u64, StoreError> {
        dispatch!(self, write, s => s.remove_devices(realm, user, id), Sqlite, Postgres)
    }
    async fn open_enrollment(&self, realm: &str, now: i64) -> Result<i64, StoreError> {
        dispatch!(self, write, s => s.open_enrollment(realm, now), Sqlite, Postgres)
    }
    async fn enrollment_opened(&self, realm: &str) -> Result<Option<i64>, StoreError> {
        dispatch!(self, read, s => s.enrollment_opened(realm), Sqlite, Postgres)
    }
    async fn note_unenrolled(&self, realm: &str, user: &str, now: i64) -> Result<(), StoreError> {
        dispatch!(self, write, s => s.note_unenrolled(realm, user, now), Sqlite, Postgres)
    }
    async fn unenrolled(&self, realm: &str) -> Result<Vec<super::Unenrolled>, StoreError> {
        dispatch!(self, read, s => s.unenrolled(realm), Sqlite, Postgres)
    }
    async fn ping(&self) -> Result<(), StoreError> {
        dispatch!(self, read, s => s.ping(), Sqlite, Postgres)
    }
    async fn key_fingerprint(&self) -> Result<Option<String>, StoreError> {
        dispatch!(self, read, s => s.key_fingerprint(), Sqlite, Postgres)
    }
    async fn claim_key_fingerprint(
        &self,
        fingerprint: &str,
        now: i64,
    ) -> Result<String, StoreError> {
        dispatch!(self, write, s => s.claim_key_fingerprint(fingerprint, now), Sqlite, Postgres)
    }
}

impl EphemeralStore for AnyEphemeral {
    async fn put_challenge(&self, c: &Challenge) -> Result<(), StoreError> {
        dispatch!(self, write, s => s.put_challenge(c), Memory, Redis)
    }
    async fn challenge(&self, id: &str, now: i64) -> Result<Option<Challenge>, StoreError> {
        dispatch!(self, read, s => s.challenge(id, now), Memory, Redis)
    }
    async fn record_failure(
        &self,
        id: &str,
        max: u32,
        now: i64,
    ) -> Result<FailureOutcome, StoreError> {
        dispatch!(self, write, s => s.record_failure(id, max, now), Memory, Redis)
    }
    async fn advance_challenge(
        &self,
        id: &str,
        revision: u64,
        stage: ChallengeStage,
        now: i64,
    ) -> Result<bool, StoreError> {
        dispatch!(self, write, s => s.advance_challenge(id, revision, stage, now), Memory, Redis)
    }
    async fn take_challenge(&self, id: &str, now: i64) -> Result<Option<Challenge>, StoreError> {
        dispatch!(self, write, s => s.take_challenge(id, now), Memory, Redis)
    }
    async fn put_session(&self, session: &Session) -> Result<(), StoreError> {
        dispatch!(self, write, s => s.put_session(session), Memory, Redis)
    }
    async fn touch_session(&self, id: &[u8; 32], now: i64) -> Result<Option<Session>, StoreError> {
        dispatch!(self, write, s => s.touch_session(id, now), Memory, Redis)
    }
    async fn end_session(&self, id: &[u8; 32]) -> Result<bool, StoreError> {
        dispatch!(self, write, s => s.end_session(id), Memory, Redis)
    }
    async fn end_user_sessions(
        &self,
        realm: &str,
        user: &str,
        keep: Option<&[u8; 32]>,
    ) -> Result<u32, StoreError> {
        dispatch!(self, write, s => s.end_user_sessions(realm, user, keep), Memory, Redis)
    }
    async fn bind_credential(
        &self,
        credential: &[u8; 32],
        session: &[u8; 32],
        now: i64,
    ) -> Result<(), StoreError> {
        dispatch!(self, write, s => s.bind_credential(credential, session, now), Memory, Redis)
    }
    async fn burn_credential(&self, credential: &[u8; 32], until: i64) -> Result<(), StoreError> {
        dispatch!(self, write, s => s.burn_credential(credential, until), Memory, Redis)
    }
    async fn credential_burned(&self, credential: &[u8; 32], now: i64) -> Result<bool, StoreError> {
        dispatch!(self, read, s => s.credential_burned(credential, now), Memory, Redis)
    }
    async fn retire_credential(
        &self,
        credential: &[u8; 32],
        session: &[u8; 32],
        until: i64,
        now: i64,
    ) -> Result<(), StoreError> {
        dispatch!(self, write, s => s.retire_credential(credential, session, until, now), Memory, Redis)
    }
    async fn session_for_credential(
        &self,
        credential: &[u8; 32],
        now: i64,
    ) -> Result<Option<Session>, StoreError> {
        dispatch!(self, read, s => s.session_for_credential(credential, now), Memory, Redis)
    }
    async fn sessions(
        &self,
        user: Option<(&str, &str)>,
        now: i64,
    ) -> Result<Vec<Session>, StoreError> {
        dispatch!(self, read, s => s.sessions(user, now), Memory, Redis)
    }
    async fn count_failure(
        &self,
        subject: &str,
        limit: FailureLimit,
        now: i64,
    ) -> Result<Counted, StoreError> {
        dispatch!(self, write, s => s.count_failure(subject, limit, now), Memory, Redis)
    }
    async fn inspect(
        &self,
        subjects: &[String],
        counted: Option<&str>,
        now: i64,
    ) -> Result<Inspection, StoreError> {
        dispatch!(self, read, s => s.inspect(subjects, counted, now), Memory, Redis)
    }
    async fn set_lock(
        &self,
        subject: &str,
        until: Option<i64>,
        now: i64,
    ) -> Result<bool, StoreError> {
        dispatch!(self, write, s => s.set_lock(subject, until, now), Memory, Redis)
    }
    async fn clear_failures(&self, subject: &str) -> Result<(), StoreError> {
        dispatch!(self, write, s => s.clear_failures(subject), Memory, Redis)
    }
    async fn uncount_failure(&self, subject: &str, now: i64) -> Result<(), StoreError> {
        dispatch!(self, write, s => s.uncount_failure(subject, now), Memory, Redis)
    }
    async fn take_failures(&self, subject: &str, now: i64) -> Result<u32, StoreError> {
        dispatch!(self, write, s => s.take_failures(subject, now), Memory, Redis)
    }
    async fn locks(&self, now: i64) -> Result<Vec<(String, i64)>, StoreError> {
        dispatch!(self, read, s => s.locks(now), Memory, Redis)
    }
    async fn reap_ended(&self, now: i64) -> Result<Vec<EndedSession>, StoreError> {
        dispatch!(self, write, s => s.reap_ended(now), Memory, Redis)
    }
    // Only `/metrics` asks for the census (see `Call::Scrape`).
    async fn census(&self, now: i64) -> Result<Census, StoreError> {
        dispatch!(self, scrape, s => s.census(now), Memory, Redis)
    }
}
