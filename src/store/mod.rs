//! State behind traits: durable (enrolled factors) and ephemeral (challenges, sessions), one
//! implementation per backend, each kind run through one shared test suite (`suite`).
//!
//! Every time value is passed in (Unix seconds), never read from the clock here.

mod any;
pub mod ephemeral;
mod memory;
mod postgres;
mod redis;
mod sqlite;
#[cfg(test)]
pub mod suite;
mod watch;

pub use any::{AnyDurable, AnyEphemeral, LATENCY, PROBE_LIMIT};
pub use ephemeral::{
    Census, Challenge, ChallengeStage, Counted, EndedSession, EphemeralStore, FactorState,
    FailureLimit, FailureOutcome, Inspection, Session,
};
pub use memory::MemoryStore;
pub use postgres::PostgresStore;
pub use redis::{RedisStore, Topology};
pub use sqlite::SqliteStore;
pub use watch::Outcome;

use crate::keys::Sealed;
use std::future::Future;

/// One enrolled factor of a user, whatever its method: the secret it checks answers with
/// (sealed), and the counter that keeps an accepted answer from being accepted again.
/// Recovery codes are not factors of this kind: a set of single-use hashes, they keep their
/// own table and calls (`replace_recovery_codes`, `consume_recovery_code`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FactorRecord {
    pub id: String,
    pub realm: String,
    pub user: String,
    /// The method's name as the JSON API spells it (`totp`).
    pub method: String,
    pub secret: Sealed,
    /// The last accepted counter (for TOTP, the time step): an equal or lower one is a replay.
    pub counter: Option<u64>,
    pub created_at: i64,
    pub last_used_at: Option<i64>,
    /// The layout of the sealed secret, as its method defines it.
    pub version: u32,
}

/// A browser that passed a user's second factor (see `session::device`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Device {
    pub realm: String,
    pub user: String,
    pub id: String,
    pub created_at: i64,
    pub last_used_at: i64,
    pub expires_at: i64,
    /// The browser's `User-Agent` (shortened) and address when it was first remembered.
    pub user_agent: String,
    pub client: String,
}

/// A user who signed in with their password while they had no factor.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct Unenrolled {
    pub user: String,
    pub first_seen_at: i64,
    pub last_seen_at: i64,
}

/// A pending enrollment invitation (the code itself is only ever stored as a keyed hash).
/// What became of a recovery code offered for use.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CodeUse {
    /// Used now; this many of the set are left.
    Consumed(u32),
    /// A code of the user's set that was used before.
    Spent,
    /// No code of the user's set.
    Unknown,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Invite {
    pub realm: String,
    pub user: String,
    pub created_at: i64,
    pub expires_at: i64,
    pub created_by: String,
}

#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error("the database could not be reached or answered with an error")]
    Database(#[from] sqlx::Error),
    #[error("database migration failed")]
    Migrate(#[from] sqlx::migrate::MigrateError),
    #[error("a stored value is not valid: {0}")]
    Corrupt(&'static str),
    #[error("the state store is unavailable: {0}")]
    Unavailable(&'static str),
    #[error("Redis could not be reached or answered with an error")]
    Redis(#[source] ::redis::RedisError),
}

/// Enrolled factors. Implementations make every check-and-set a single atomic operation on
/// the server, so several gateways sharing one database still accept a code only once.
pub trait DurableStore: Send + Sync {
    /// The user's factor of `method`, if enrolled.
    fn factor(
        &self,
        realm: &str,
        user: &str,
        method: &str,
    ) -> impl Future<Output = Result<Option<FactorRecord>, StoreError>> + Send;

    /// Every factor the user has enrolled, by method.
    fn factors(
        &self,
        realm: &str,
        user: &str,
    ) -> impl Future<Output = Result<Vec<FactorRecord>, StoreError>> + Send;

    /// Enrols a factor, replacing the user's previous one of the same method (and its replay
    /// marker).
    fn put_factor(
        &self,
        record: &FactorRecord,
    ) -> impl Future<Output = Result<(), StoreError>> + Send;

    /// Records that `counter` of factor `factor_id` was accepted at `now`. False when that
    /// factor is gone or an equal or later counter was already accepted: the answer is a
    /// replay.
    fn record_factor_step(
        &self,
        realm: &str,
        user: &str,
        factor_id: &str,
        counter: u64,
        now: i64,
    ) -> impl Future<Output = Result<bool, StoreError>> + Send;

    /// Every enrolled factor (for key rotation and the admin commands).
    fn all_factors(&self) -> impl Future<Output = Result<Vec<FactorRecord>, StoreError>> + Send;

    /// Replaces the sealed secret of factor `factor_id` if it is still sealed under
    /// `old_key_id` (nothing else changes: not the replay marker, not the dates). False when
    /// the factor is gone or was re-sealed or replaced meanwhile.
    fn reseal_factor(
        &self,
        factor_id: &str,
        old_key_id: &str,
        secret: &Sealed,
    ) -> impl Future<Output = Result<bool, StoreError>> + Send;

    /// Removes the user's factor of `method`; true if there was one.
    fn remove_factor(
        &self,
        realm: &str,
        user: &str,
        method: &str,
    ) -> impl Future<Output = Result<bool, StoreError>> + Send;

    /// Replaces the user's whole set of recovery codes (unseen until `recovery_codes_shown`).
    fn replace_recovery_codes(
        &self,
        realm: &str,
        user: &str,
        hashes: &[[u8; 32]],
        now: i64,
    ) -> impl Future<Output = Result<(), StoreError>> + Send;

    /// Enrols a factor together with its user's first set of recovery codes, in one
    /// transaction: a crash never leaves the factor without its codes.
    fn enroll_factor(
        &self,
        record: &FactorRecord,
        hashes: &[[u8; 32]],
        now: i64,
    ) -> impl Future<Output = Result<(), StoreError>> + Send;

    /// Marks the code with this hash used: for exactly one caller, however many race, the
    /// number of codes left after it; `Spent` for everyone else when the code is of the
    /// user's set, `Unknown` when it is not.
    fn consume_recovery_code(
        &self,
        realm: &str,
        user: &str,
        hash: &[u8; 32],
        now: i64,
    ) -> impl Future<Output = Result<CodeUse, StoreError>> + Send;

    fn recovery_codes_left(
        &self,
        realm: &str,
        user: &str,
    ) -> impl Future<Output = Result<u32, StoreError>> + Send;

    /// Notes that the user was shown their current set of recovery codes. A new set is unseen
    /// until then (`replace_recovery_codes`).
    fn recovery_codes_shown(
        &self,
        realm: &str,
        user: &str,
    ) -> impl Future<Output = Result<(), StoreError>> + Send;

    /// Whether the user has unused recovery codes that were never shown to them (a crash
    /// between storing them and showing them).
    fn recovery_codes_unseen(
        &self,
        realm: &str,
        user: &str,
    ) -> impl Future<Output = Result<bool, StoreError>> + Send;

    /// Stores an invitation to enroll, replacing any earlier one for the user.
    fn put_invite(
        &self,
        invite: &Invite,
        hash: &[u8; 32],
    ) -> impl Future<Output = Result<(), StoreError>> + Send;

    /// Uses the invitation with this hash if it is live at `now`: true for exactly one caller.
    fn take_invite(
        &self,
        realm: &str,
        user: &str,
        hash: &[u8; 32],
        now: i64,
    ) -> impl Future<Output = Result<bool, StoreError>> + Send;

    /// The user's invitation, if one is live at `now`.
    fn invite(
        &self,
        realm: &str,
        user: &str,
        now: i64,
    ) -> impl Future<Output = Result<Option<Invite>, StoreError>> + Send;

    /// Remembers a device (a new id each time).
    fn put_device(&self, device: &Device) -> impl Future<Output = Result<(), StoreError>> + Send;

    /// Whether the user's device `id` is on record and not expired at `now`; marks it used
    /// then (the use extends it to `expires_at`, when that is later).
    fn use_device(
        &self,
        realm: &str,
        user: &str,
        id: &str,
        now: i64,
        expires_at: i64,
    ) -> impl Future<Output = Result<bool, StoreError>> + Send;

    /// The user's devices not expired at `now`, most recently used first.
    fn devices(
        &self,
        realm: &str,
        user: &str,
        now: i64,
    ) -> impl Future<Output = Result<Vec<Device>, StoreError>> + Send;

    /// Forgets the user's device `id`, or all of them: how many were forgotten.
    fn remove_devices(
        &self,
        realm: &str,
        user: &str,
        id: Option<&str>,
    ) -> impl Future<Output = Result<u64, StoreError>> + Send;

    /// When the realm's first-login enrollment window opened: recorded as `now` unless it
    /// is already; the time in force after the call.
    fn open_enrollment(
        &self,
        realm: &str,
        now: i64,
    ) -> impl Future<Output = Result<i64, StoreError>> + Send;

    /// When the realm's first-login enrollment window opened, if it has.
    fn enrollment_opened(
        &self,
        realm: &str,
    ) -> impl Future<Output = Result<Option<i64>, StoreError>> + Send;

    /// Notes that `user` signed in with their password at `now` while they had no factor.
    fn note_unenrolled(
        &self,
        realm: &str,
        user: &str,
        now: i64,
    ) -> impl Future<Output = Result<(), StoreError>> + Send;

    /// Every user of the realm noted without a factor (whether they have one now or not), by
    /// name.
    fn unenrolled(
        &self,
        realm: &str,
    ) -> impl Future<Output = Result<Vec<Unenrolled>, StoreError>> + Send;

    /// A cheap round trip for readiness checks.
    fn ping(&self) -> impl Future<Output = Result<(), StoreError>> + Send;

    /// The fingerprint of the key file this store was written with, if one was recorded.
    fn key_fingerprint(&self) -> impl Future<Output = Result<Option<String>, StoreError>> + Send;

    /// Records `fingerprint` as the key file's this store is written with, unless one is
    /// recorded already; the one in force after the call.
    fn claim_key_fingerprint(
        &self,
        fingerprint: &str,
        now: i64,
    ) -> impl Future<Output = Result<String, StoreError>> + Send;
}
