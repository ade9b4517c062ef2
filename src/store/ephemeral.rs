//! Ephemeral state: pending login challenges (with the app's withheld answer, sealed) and
//! gateway sessions with the app credentials bound to them. Lost on restart by design for the
//! in-memory store; a pending challenge then fails cleanly and the user logs in again.

use super::StoreError;
use crate::keys::Sealed;
use std::future::Future;

/// One factor's state between the start of an answer and its check (an authenticator's new
/// secret awaiting its first code, a sent code's hash, the nonce a passkey signs). The store
/// keeps it without reading it; the factor seals whatever in it is secret.
#[derive(Clone, PartialEq, Eq)]
pub struct FactorState {
    /// The method it belongs to, as the JSON API spells it.
    pub method: String,
    pub data: Vec<u8>,
}

impl std::fmt::Debug for FactorState {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // Opaque, and possibly a secret's hash: never printed.
        write!(f, "FactorState({}, {} bytes)", self.method, self.data.len())
    }
}

/// What a pending login waits for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ChallengeStage {
    /// A code from an enrolled factor.
    Verify,
    /// An enrollment invitation code (apps in `invite` mode), before any secret is shown.
    Invite,
    /// Confirmation of a new factor whose secret was shown: the factor's pending enrollment
    /// (for an authenticator its id and sealed secret), kept here so it cannot be swapped
    /// between showing and confirming.
    Enroll { pending: FactorState },
    /// The user has to acknowledge the recovery codes made at the confirmation. They are kept
    /// here, sealed for this challenge, so the page opened again (a reload, back and forward,
    /// a phone restoring the tab) shows the same set; they go with the challenge.
    AcknowledgeRecoveryCodes { codes: Sealed },
}

/// A login the app accepted and the gateway holds back until the second factor passes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Challenge {
    pub id: String,
    pub realm: String,
    pub app: String,
    pub user: String,
    pub created_at: i64,
    pub expires_at: i64,
    pub failures: u32,
    /// Bumped by every change, for compare-and-set transitions.
    pub revision: u64,
    pub stage: ChallengeStage,
    /// What the user's factors began for this login (a code sent, a challenge to sign), by
    /// method: none for codes the user holds.
    pub began: Vec<FactorState>,
    /// The app's whole login answer (status, headers, body), sealed.
    pub withheld: Sealed,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FailureOutcome {
    /// Wrong code; this many attempts remain.
    Remaining(u32),
    /// That was the last allowed attempt: the challenge is gone.
    Dead,
    /// No such challenge (expired, consumed or never issued).
    Missing,
}

/// A gateway session, created when the second factor passed. Stored under a keyed hash of its
/// id: the id itself exists only in the user's cookie.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Session {
    pub id_hash: [u8; 32],
    pub realm: String,
    pub app: String,
    pub user: String,
    pub created_at: i64,
    pub last_seen_at: i64,
    pub mfa_at: i64,
    pub idle_timeout_secs: i64,
    pub absolute_expires_at: i64,
    /// The browser's `User-Agent` (printable, shortened) and address at sign-in: shown to the
    /// user in settings and to administrators, so a session can be told from another.
    pub user_agent: String,
    pub client: String,
}

/// How many failures a subject may have within a window before it is locked, and for how long.
///
/// Each lock of a subject lasts twice as long as its last one, up to `max_lock_secs`; and once
/// it has `max_failures` failures in all (0: no such limit), each further failure locks it for
/// `max_lock_secs`. A subject's record (its locks so far and its failures in all) is forgotten
/// after [`FailureLimit::forget_secs`] without a lock, or at a correct answer.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct FailureLimit {
    pub failures: u32,
    pub within_secs: i64,
    pub lock_secs: i64,
    pub max_lock_secs: i64,
    pub max_failures: u32,
}

impl FailureLimit {
    /// How long the lock is that a subject gets after `strikes` locks before, with `total`
    /// failures in all.
    pub fn lock_for(&self, strikes: u32, total: u32) -> i64 {
        let max = self.max_lock_secs.max(self.lock_secs);
        if self.max_failures > 0 && total >= self.max_failures {
            return max;
        }
        let grown = self
            .lock_secs
            .checked_mul(1i64.checked_shl(strikes.min(62)).unwrap_or(i64::MAX))
            .unwrap_or(i64::MAX);
        grown.min(max)
    }

    /// How long after its last lock ends a subject's record is kept: a week of the longest
    /// lock, so that pausing does not start an attacker over.
    pub fn forget_secs(&self) -> i64 {
        self.max_lock_secs.max(self.lock_secs).saturating_mul(7)
    }
}

/// Locks and counting found by [`EphemeralStore::inspect`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Inspection {
    /// Per subject asked about, in order: the end of a lock in force.
    pub lock_ends: Vec<Option<i64>>,
    /// The `counted` subject has failures in its current window.
    pub counting: bool,
}

impl Inspection {
    /// The latest lock end among `lock_ends[range]`.
    pub fn latest(&self, range: std::ops::Range<usize>) -> Option<i64> {
        self.lock_ends
            .get(range)
            .into_iter()
            .flatten()
            .flatten()
            .copied()
            .max()
    }
}

/// The state of a subject (a user, a client address) after one more failure was counted.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Counted {
    /// Still under the limit: this many failures in the current window.
    Under(u32),
    /// This failure reached the limit: locked until then.
    LockedNow(i64),
    /// Was locked already (nothing counted): until then.
    Locked(i64),
}

/// A session that ended by itself (idle or absolute timeout), found by
/// [`EphemeralStore::reap_ended`] so it can be audited once.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EndedSession {
    pub id_hash: [u8; 32],
    pub app: String,
    pub realm: String,
    pub user: String,
    /// `idle timeout` or `absolute timeout`.
    pub reason: &'static str,
    /// When it ended, if known (on Redis an idle end is only known to lie before now).
    pub ended_at: Option<i64>,
}

/// How much ephemeral state there is (for `/metrics`).
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct Census {
    /// Logins waiting at a second-factor step.
    pub challenges: u64,
    /// Gateway sessions not past their end (on Redis: their absolute end; one that went idle
    /// is counted until then).
    pub sessions: u64,
    /// Users under a lock.
    pub locked_users: u64,
    /// Locks on client addresses (their codes, or one app's logins).
    pub client_locks: u64,
}

/// Whether a regulation key names a client address or network (for codes or for logins).
pub fn is_client_lock(subject: &str) -> bool {
    subject.starts_with("c:") || subject.starts_with("n:") || subject.starts_with("lc:")
}

/// Whether a regulation key names a user (locked by an administrator, or for new browsers).
pub fn is_user_lock(subject: &str) -> bool {
    subject.starts_with("u:") || subject.starts_with("uf:")
}

impl Session {
    pub fn is_live(&self, now: i64) -> bool {
        now < self.absolute_expires_at
            && now < self.last_seen_at.saturating_add(self.idle_timeout_secs)
    }
}

/// Every read-modify-write is atomic in the implementation (a lock for memory, a script or
/// transaction for Redis), so racing requests see one outcome.
pub trait EphemeralStore: Send + Sync {
    fn put_challenge(
        &self,
        challenge: &Challenge,
    ) -> impl Future<Output = Result<(), StoreError>> + Send;

    /// The challenge if it exists and has not expired at `now`.
    fn challenge(
        &self,
        id: &str,
        now: i64,
    ) -> impl Future<Output = Result<Option<Challenge>, StoreError>> + Send;

    /// Counts a wrong answer; at `max_failures` the challenge is removed.
    fn record_failure(
        &self,
        id: &str,
        max_failures: u32,
        now: i64,
    ) -> impl Future<Output = Result<FailureOutcome, StoreError>> + Send;

    /// Moves the challenge to `stage` if nobody changed it since `revision` was read.
    fn advance_challenge(
        &self,
        id: &str,
        revision: u64,
        stage: ChallengeStage,
        now: i64,
    ) -> impl Future<Output = Result<bool, StoreError>> + Send;

    /// Removes and returns the challenge: exactly one caller gets it, however many race.
    fn take_challenge(
        &self,
        id: &str,
        now: i64,
    ) -> impl Future<Output = Result<Option<Challenge>, StoreError>> + Send;

    fn put_session(&self, session: &Session)
        -> impl Future<Output = Result<(), StoreError>> + Send;

    /// The session if live at `now`; marks it seen (extending the idle timeout).
    fn touch_session(
        &self,
        id_hash: &[u8; 32],
        now: i64,
    ) -> impl Future<Output = Result<Option<Session>, StoreError>> + Send;

    fn end_session(
        &self,
        id_hash: &[u8; 32],
    ) -> impl Future<Output = Result<bool, StoreError>> + Send;

    /// Ends every session of a user (factor changed, admin reset) except `keep` (the session
    /// that made the change); returns how many ended.
    fn end_user_sessions(
        &self,
        realm: &str,
        user: &str,
        keep: Option<&[u8; 32]>,
    ) -> impl Future<Output = Result<u32, StoreError>> + Send;

    /// Binds an app credential (keyed hash of a session cookie value or bearer token) to a
    /// gateway session.
    fn bind_credential(
        &self,
        credential_hash: &[u8; 32],
        session: &[u8; 32],
        now: i64,
    ) -> impl Future<Output = Result<(), StoreError>> + Send;

    /// A credential the app replaced (a cookie it sealed anew): it stops opening `session` at
    /// `until`, so that requests already on their way with it still pass; an earlier time
    /// already set stays. Nothing happens when it is not bound to that session.
    fn retire_credential(
        &self,
        credential_hash: &[u8; 32],
        session: &[u8; 32],
        until: i64,
        now: i64,
    ) -> impl Future<Output = Result<(), StoreError>> + Send;

    /// Marks an app credential nobody may use unbound until `until`: a pre-login session the
    /// app signed in with a login the gateway withheld (an app that keeps the session id at
    /// sign-in). Binding it to a session later is unaffected.
    fn burn_credential(
        &self,
        credential_hash: &[u8; 32],
        until: i64,
    ) -> impl Future<Output = Result<(), StoreError>> + Send;

    /// Whether the credential was burned and `until` has not passed at `now`.
    fn credential_burned(
        &self,
        credential_hash: &[u8; 32],
        now: i64,
    ) -> impl Future<Output = Result<bool, StoreError>> + Send;

    /// The live session an app credential is bound to, if any; marks it seen.
    fn session_for_credential(
        &self,
        credential_hash: &[u8; 32],
        now: i64,
    ) -> impl Future<Output = Result<Option<Session>, StoreError>> + Send;

    /// Live sessions at `now` (without marking them seen): all, or one user's of a realm.
    fn sessions(
        &self,
        user: Option<(&str, &str)>,
        now: i64,
    ) -> impl Future<Output = Result<Vec<Session>, StoreError>> + Send;

    /// Counts one failure against `subject`. The window starts at the subject's first failure;
    /// the failure that reaches the limit locks the subject for `lock_secs` and starts a new
    /// window. While locked nothing is counted.
    fn count_failure(
        &self,
        subject: &str,
        limit: FailureLimit,
        now: i64,
    ) -> impl Future<Output = Result<Counted, StoreError>> + Send;

    /// For each of `subjects`, the end of its lock if one is in force at `now`; and whether
    /// `counted` has failures in its current window. One round trip, so the hot path pays for
    /// regulation once.
    fn inspect(
        &self,
        subjects: &[String],
        counted: Option<&str>,
        now: i64,
    ) -> impl Future<Output = Result<Inspection, StoreError>> + Send;

    /// Locks `subject` until `until`, or (None) lifts its lock and forgets its failures.
    /// True when a lock was in force before.
    fn set_lock(
        &self,
        subject: &str,
        until: Option<i64>,
        now: i64,
    ) -> impl Future<Output = Result<bool, StoreError>> + Send;

    /// Forgets the subject's failures (a correct code), leaving any lock in force.
    fn clear_failures(&self, subject: &str) -> impl Future<Output = Result<(), StoreError>> + Send;

    /// Takes back one failure counted against the subject (an attempt counted before it was
    /// read, that turned out not to be one); its locks so far stay.
    fn uncount_failure(
        &self,
        subject: &str,
        now: i64,
    ) -> impl Future<Output = Result<(), StoreError>> + Send;

    /// The subject's failures in all (since its record began) as of `now`, forgotten in the
    /// same step: exactly one caller gets each.
    fn take_failures(
        &self,
        subject: &str,
        now: i64,
    ) -> impl Future<Output = Result<u32, StoreError>> + Send;

    /// Removes what expired and returns the sessions that ended by their timeouts since the
    /// last call, each to exactly one caller however many gateways reap the same store.
    fn reap_ended(
        &self,
        now: i64,
    ) -> impl Future<Output = Result<Vec<EndedSession>, StoreError>> + Send;

    /// Counts of pending challenges, live sessions and locked users at `now`.
    fn census(&self, now: i64) -> impl Future<Output = Result<Census, StoreError>> + Send;

    /// Every lock in force at `now`: (subject, end).
    fn locks(
        &self,
        now: i64,
    ) -> impl Future<Output = Result<Vec<(String, i64)>, StoreError>> + Send;
}
