//! The factors behind one trait, over the key ring and the durable store: what the login flow
//! calls to verify a code, to enrol an authenticator, and to describe a user's methods.
//!
//! A later factor (e-mailed codes, WebAuthn) is one more implementation and one more entry in
//! [`verify_any`]'s list; the flow does not change.

use super::{recovery, totp};
use crate::keys::{KeyError, KeyRing};
use crate::store::{CodeUse, DurableStore, StoreError, TotpRecord};
use std::future::Future;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Method {
    Totp,
    RecoveryCode,
}

impl Method {
    /// The name used in the JSON API (`method`), as the Django REST MFA packages spell it.
    pub fn as_str(self) -> &'static str {
        match self {
            Method::Totp => "totp",
            Method::RecoveryCode => "recovery_code",
        }
    }
}

/// A code that was accepted (and consumed: it will not be accepted again).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Accepted {
    pub method: Method,
    /// For recovery codes: how many are left after this one.
    pub recovery_codes_left: Option<u32>,
}

/// What a code turned out to be.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Verdict {
    Accepted(Accepted),
    /// A real code of the user's, of this method, that was already used: a replay, or the
    /// same TOTP typed again before the next one shows. Refused and counted like a wrong code,
    /// but the audit trail says which it was.
    Spent(Method),
    Wrong,
}

impl Verdict {
    pub fn accepted(self) -> Option<Accepted> {
        match self {
            Verdict::Accepted(accepted) => Some(accepted),
            Verdict::Spent(_) | Verdict::Wrong => None,
        }
    }

    /// The audit record's `reason` for a refused code.
    pub fn reason(self) -> &'static str {
        match self {
            Verdict::Spent(_) => "code already used",
            Verdict::Accepted(_) | Verdict::Wrong => "wrong code",
        }
    }

    /// Whether a user who has not passed the second factor yet is told to wait for the next
    /// code: only for an authenticator's code typed twice, the everyday mistake. That a
    /// recovery code of a list was used is not said before the second factor (it would tell
    /// the holder of a stolen list which codes are gone).
    pub fn wait_for_next(self) -> bool {
        self == Verdict::Spent(Method::Totp)
    }
}

#[derive(Debug, thiserror::Error)]
pub enum FactorError {
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error(transparent)]
    Keys(#[from] KeyError),
    #[error(transparent)]
    Totp(#[from] totp::TotpError),
}

/// What a user has of one method, for the settings page and `GET …/api/methods`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MethodInfo {
    pub method: Method,
    pub is_active: bool,
    pub is_primary: bool,
    pub created_at: Option<i64>,
    pub last_used_at: Option<i64>,
    /// Recovery codes left, for that method.
    pub remaining: Option<u32>,
}

/// Who is answering, and when (time is always passed in).
pub struct Subject<'a> {
    pub realm: &'a str,
    pub user: &'a str,
    pub now: i64,
}

pub trait Factor: Send + Sync {
    fn method(&self) -> Method;

    /// Checks `code`; on success the code is consumed atomically, so of two racing requests
    /// with the same code exactly one is accepted (the other finds it spent).
    fn verify<S: DurableStore>(
        &self,
        store: &S,
        keys: &KeyRing,
        who: &Subject<'_>,
        code: &str,
    ) -> impl Future<Output = Result<Verdict, FactorError>> + Send;

    fn describe<S: DurableStore>(
        &self,
        store: &S,
        who: &Subject<'_>,
    ) -> impl Future<Output = Result<Option<MethodInfo>, FactorError>> + Send;
}

/// Store time (Unix seconds, signed) as TOTP time; a time before 1970 matches nothing.
fn unix(now: i64) -> Option<u64> {
    u64::try_from(now).ok()
}

/// The authenticator-app factor.
pub struct TotpFactor {
    pub params: totp::TotpParams,
}

/// The sealed secret's context: the secret opens only for the record it was written for.
pub fn totp_context(realm: &str, user: &str, factor_id: &str) -> Vec<u8> {
    format!("totp\0{realm}\0{user}\0{factor_id}").into_bytes()
}

impl TotpFactor {
    /// A new secret and the record that will hold it once the user confirms a code. Nothing is
    /// stored yet: the caller keeps the record with the pending challenge.
    pub fn begin_enrollment(
        &self,
        keys: &KeyRing,
        who: &Subject<'_>,
    ) -> Result<(totp::TotpSecret, TotpRecord), FactorError> {
        let secret = totp::TotpSecret::generate();
        let id = format!("totp-{:032x}", rand::random::<u128>());
        let sealed = keys.seal(secret.as_bytes(), &totp_context(who.realm, who.user, &id))?;
        let record = TotpRecord {
            id,
            realm: who.realm.to_string(),
            user: who.user.to_string(),
            secret: sealed,
            created_at: who.now,
            last_used_at: None,
            last_step: None,
        };
        Ok((secret, record))
    }

    /// Confirms a pending enrollment with a current code and stores it, replacing any older
    /// authenticator. Returns false (and stores nothing) when the code is wrong.
    pub async fn confirm_enrollment<S: DurableStore>(
        &self,
        store: &S,
        keys: &KeyRing,
        pending: &TotpRecord,
        code: &str,
        now: i64,
    ) -> Result<bool, FactorError> {
        let secret = totp::TotpSecret::from_bytes(
            keys.open(
                &pending.secret,
                &totp_context(&pending.realm, &pending.user, &pending.id),
            )?
            .to_vec(),
        );
        let Some(step) = unix(now)
            .map(|t| totp::verify(&secret, self.params, code, t, None))
            .transpose()?
            .and_then(totp::Check::fresh)
        else {
            return Ok(false);
        };
        let mut record = pending.clone();
        // The confirming code counts as used: it cannot log in a second time.
        record.last_step = Some(step);
        record.last_used_at = Some(now);
        store.put_totp(&record).await?;
        Ok(true)
    }
}

impl Factor for TotpFactor {
    fn method(&self) -> Method {
        Method::Totp
    }

    async fn verify<S: DurableStore>(
        &self,
        store: &S,
        keys: &KeyRing,
        who: &Subject<'_>,
        code: &str,
    ) -> Result<Verdict, FactorError> {
        let Some(record) = store.totp(who.realm, who.user).await? else {
            return Ok(Verdict::Wrong);
        };
        let secret = totp::TotpSecret::from_bytes(
            keys.open(
                &record.secret,
                &totp_context(who.realm, who.user, &record.id),
            )?
            .to_vec(),
        );
        let checked = unix(who.now)
            .map(|t| totp::verify(&secret, self.params, code, t, record.last_step))
            .transpose()?;
        let step = match checked {
            Some(totp::Check::Fresh(step)) => step,
            Some(totp::Check::Spent) => return Ok(Verdict::Spent(Method::Totp)),
            Some(totp::Check::Wrong) | None => return Ok(Verdict::Wrong),
        };
        // The store re-checks the step atomically: a racing request with the same code loses.
        if !store
            .record_totp_step(who.realm, who.user, &record.id, step, who.now)
            .await?
        {
            return Ok(Verdict::Spent(Method::Totp));
        }
        Ok(Verdict::Accepted(Accepted {
            method: Method::Totp,
            recovery_codes_left: None,
        }))
    }

    async fn describe<S: DurableStore>(
        &self,
        store: &S,
        who: &Subject<'_>,
    ) -> Result<Option<MethodInfo>, FactorError> {
        Ok(store.totp(who.realm, who.user).await?.map(|r| MethodInfo {
            method: Method::Totp,
            is_active: true,
            is_primary: true,
            created_at: Some(r.created_at),
            last_used_at: r.last_used_at,
            remaining: None,
        }))
    }
}

/// Single-use recovery codes.
pub struct RecoveryCodeFactor;

impl RecoveryCodeFactor {
    /// A new set, replacing the old one whole; the codes are returned to show once.
    pub async fn regenerate<S: DurableStore>(
        &self,
        store: &S,
        keys: &KeyRing,
        who: &Subject<'_>,
    ) -> Result<Vec<recovery::RecoveryCode>, FactorError> {
        let codes = recovery::generate_set();
        let hashes: Vec<[u8; 32]> = codes
            .iter()
            .map(|c| recovery::hash(keys, c.normalised()))
            .collect();
        store
            .replace_recovery_codes(who.realm, who.user, &hashes, who.now)
            .await?;
        Ok(codes)
    }
}

impl Factor for RecoveryCodeFactor {
    fn method(&self) -> Method {
        Method::RecoveryCode
    }

    async fn verify<S: DurableStore>(
        &self,
        store: &S,
        keys: &KeyRing,
        who: &Subject<'_>,
        code: &str,
    ) -> Result<Verdict, FactorError> {
        let Some(normalised) = recovery::normalise(code) else {
            return Ok(Verdict::Wrong);
        };
        let hash = recovery::hash(keys, &normalised);
        Ok(
            match store
                .consume_recovery_code(who.realm, who.user, &hash, who.now)
                .await?
            {
                CodeUse::Consumed(left) => Verdict::Accepted(Accepted {
                    method: Method::RecoveryCode,
                    recovery_codes_left: Some(left),
                }),
                CodeUse::Spent => Verdict::Spent(Method::RecoveryCode),
                CodeUse::Unknown => Verdict::Wrong,
            },
        )
    }

    async fn describe<S: DurableStore>(
        &self,
        store: &S,
        who: &Subject<'_>,
    ) -> Result<Option<MethodInfo>, FactorError> {
        let left = store.recovery_codes_left(who.realm, who.user).await?;
        Ok((left > 0).then_some(MethodInfo {
            method: Method::RecoveryCode,
            is_active: true,
            is_primary: false,
            created_at: None,
            last_used_at: None,
            remaining: Some(left),
        }))
    }
}

/// Tries the user's factors in turn with one code typed into one field: a 6-digit code is a
/// TOTP, a 12-character one a recovery code. `method`, when the client names one, restricts it.
/// A code one factor finds spent is spent, whatever the others say.
pub async fn verify_any<S: DurableStore>(
    totp: &TotpFactor,
    store: &S,
    keys: &KeyRing,
    who: &Subject<'_>,
    code: &str,
    method: Option<Method>,
) -> Result<Verdict, FactorError> {
    let mut verdict = Verdict::Wrong;
    if method.is_none_or(|m| m == Method::Totp) {
        verdict = totp.verify(store, keys, who, code).await?;
        if verdict.accepted().is_some() {
            return Ok(verdict);
        }
    }
    if method.is_none_or(|m| m == Method::RecoveryCode) {
        match RecoveryCodeFactor.verify(store, keys, who, code).await? {
            Verdict::Wrong => {}
            other => verdict = other,
        }
    }
    Ok(verdict)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::SqliteStore;

    async fn setup() -> (SqliteStore, KeyRing, TotpFactor) {
        let dir = std::env::temp_dir().join(format!(
            "mfa-factors-{}-{}",
            std::process::id(),
            rand::random::<u64>()
        ));
        std::fs::create_dir_all(&dir).unwrap();
        let store = SqliteStore::open(&dir.join("db")).await.unwrap();
        (
            store,
            KeyRing::generate(),
            TotpFactor {
                params: totp::TotpParams::default(),
            },
        )
    }

    fn who(now: i64) -> Subject<'static> {
        Subject {
            realm: "main",
            user: "alice",
            now,
        }
    }

    #[tokio::test]
    async fn enrollment_needs_a_current_code_and_stores_only_sealed_secret() {
        let (store, keys, factor) = setup().await;
        let (secret, pending) = factor.begin_enrollment(&keys, &who(1_700_000_000)).unwrap();
        assert!(
            store.totp("main", "alice").await.unwrap().is_none(),
            "stored before confirmation"
        );
        assert!(!factor
            .confirm_enrollment(&store, &keys, &pending, "000000", 1_700_000_000)
            .await
            .unwrap());
        assert!(store.totp("main", "alice").await.unwrap().is_none());
        let code = totp::code_at(&secret, factor.params, 1_700_000_000u64).unwrap();
        assert!(factor
            .confirm_enrollment(&store, &keys, &pending, &code, 1_700_000_000)
            .await
            .unwrap());
        let stored = store.totp("main", "alice").await.unwrap().unwrap();
        assert!(!stored
            .secret
            .ciphertext
            .windows(secret.as_bytes().len())
            .any(|w| w == secret.as_bytes()));
        // The confirming code cannot be used again to log in.
        assert_eq!(
            factor
                .verify(&store, &keys, &who(1_700_000_000), &code)
                .await
                .unwrap(),
            Verdict::Spent(Method::Totp)
        );
    }

    #[tokio::test]
    async fn a_sealed_secret_does_not_open_for_another_user() {
        let (store, keys, factor) = setup().await;
        let (_, mut pending) = factor.begin_enrollment(&keys, &who(0)).unwrap();
        pending.user = "mallory".into();
        assert!(matches!(
            factor
                .confirm_enrollment(&store, &keys, &pending, "123456", 0)
                .await,
            Err(FactorError::Keys(KeyError::Decrypt))
        ));
    }

    #[tokio::test]
    async fn totp_and_recovery_codes_through_one_field() {
        let (store, keys, factor) = setup().await;
        let t0 = 1_700_000_000;
        let (secret, pending) = factor.begin_enrollment(&keys, &who(t0)).unwrap();
        let code = totp::code_at(&secret, factor.params, t0 as u64).unwrap();
        assert!(factor
            .confirm_enrollment(&store, &keys, &pending, &code, t0)
            .await
            .unwrap());
        let codes = RecoveryCodeFactor
            .regenerate(&store, &keys, &who(t0))
            .await
            .unwrap();

        let later = t0 + 60;
        let next = totp::code_at(&secret, factor.params, later as u64).unwrap();
        let ok = verify_any(&factor, &store, &keys, &who(later), &next, None)
            .await
            .unwrap();
        assert_eq!(
            ok,
            Verdict::Accepted(Accepted {
                method: Method::Totp,
                recovery_codes_left: None
            })
        );
        assert_eq!(
            verify_any(&factor, &store, &keys, &who(later), &next, None)
                .await
                .unwrap(),
            Verdict::Spent(Method::Totp),
            "replay"
        );
        assert_eq!(
            verify_any(&factor, &store, &keys, &who(later), "not a code", None)
                .await
                .unwrap(),
            Verdict::Wrong
        );

        let typed = codes[0].display().to_uppercase();
        let ok = verify_any(&factor, &store, &keys, &who(later), &typed, None)
            .await
            .unwrap();
        assert_eq!(
            ok,
            Verdict::Accepted(Accepted {
                method: Method::RecoveryCode,
                recovery_codes_left: Some(9)
            })
        );
        assert_eq!(
            verify_any(&factor, &store, &keys, &who(later), &typed, None)
                .await
                .unwrap(),
            Verdict::Spent(Method::RecoveryCode),
            "used twice"
        );

        // A named method restricts which factor is tried.
        let other = codes[1].display();
        assert_eq!(
            verify_any(
                &factor,
                &store,
                &keys,
                &who(later),
                &other,
                Some(Method::Totp)
            )
            .await
            .unwrap(),
            Verdict::Wrong
        );
        assert!(verify_any(
            &factor,
            &store,
            &keys,
            &who(later),
            &other,
            Some(Method::RecoveryCode)
        )
        .await
        .unwrap()
        .accepted()
        .is_some());

        // Another user's codes do nothing for alice, and alice's nothing for bob.
        let bob = Subject {
            realm: "main",
            user: "bob",
            now: later,
        };
        assert_eq!(
            verify_any(&factor, &store, &keys, &bob, &codes[2].display(), None)
                .await
                .unwrap(),
            Verdict::Wrong
        );
    }

    #[tokio::test]
    async fn methods_are_described_with_api_field_meanings() {
        let (store, keys, factor) = setup().await;
        assert_eq!(factor.describe(&store, &who(0)).await.unwrap(), None);
        let (secret, pending) = factor.begin_enrollment(&keys, &who(10)).unwrap();
        let code = totp::code_at(&secret, factor.params, 10).unwrap();
        factor
            .confirm_enrollment(&store, &keys, &pending, &code, 10)
            .await
            .unwrap();
        RecoveryCodeFactor
            .regenerate(&store, &keys, &who(10))
            .await
            .unwrap();
        let t = factor.describe(&store, &who(20)).await.unwrap().unwrap();
        assert_eq!(
            (t.method.as_str(), t.is_active, t.is_primary, t.created_at),
            ("totp", true, true, Some(10))
        );
        let r = RecoveryCodeFactor
            .describe(&store, &who(20))
            .await
            .unwrap()
            .unwrap();
        assert_eq!(
            (r.method.as_str(), r.is_primary, r.remaining),
            ("recovery_code", false, Some(10))
        );
    }
}
