//! The authenticator app (TOTP, RFC 6238) as a factor: a code the user holds, checked against
//! the secret sealed in the user's factor record, each time step accepted once.

use super::service::{
    Accepted, Answer, Began, Env, Factor, FactorError, Method, MethodInfo, Pending, Provisioning,
    Subject, Tuning, Verdict,
};
use super::totp::{self, TotpParams, TotpSecret};
use crate::keys::{KeyRing, Sealed};
use crate::store::{DurableStore, FactorRecord, FactorState};
use base64::engine::general_purpose::STANDARD as B64;
use base64::Engine;

/// The layout of an authenticator's sealed secret: the raw key, as the app got it.
const VERSION: u32 = 1;

/// The sealed secret's context: the secret opens only for the record it was written for.
/// Unchanged since secrets were first stored: changing it would lock every user out.
pub fn totp_context(realm: &str, user: &str, factor_id: &str) -> Vec<u8> {
    format!("totp\0{realm}\0{user}\0{factor_id}").into_bytes()
}

/// Store time (Unix seconds, signed) as TOTP time; a time before 1970 matches nothing.
fn unix(now: i64) -> Option<u64> {
    u64::try_from(now).ok()
}

/// The authenticator-app factor.
pub struct TotpFactor;

impl TotpFactor {
    pub fn params(tuning: Tuning) -> TotpParams {
        TotpParams {
            skew: tuning.totp_skew,
            ..TotpParams::default()
        }
    }

    /// A new secret and the record that will hold it once the user confirms a code. Nothing is
    /// stored yet: the caller keeps the record until then (with the challenge, or in a setup
    /// token).
    pub fn generate(
        keys: &KeyRing,
        who: &Subject<'_>,
    ) -> Result<(TotpSecret, FactorRecord), FactorError> {
        let secret = TotpSecret::generate();
        let id = format!("totp-{:032x}", rand::random::<u128>());
        let sealed = keys.seal(secret.as_bytes(), &totp_context(who.realm, who.user, &id))?;
        Ok((secret, Self::pending(who, &id, sealed)))
    }

    /// The secret of an authenticator record (stored or pending).
    pub fn open(keys: &KeyRing, record: &FactorRecord) -> Result<TotpSecret, FactorError> {
        let context = totp_context(&record.realm, &record.user, &record.id);
        Ok(TotpSecret::from_bytes(
            keys.open(&record.secret, &context)?.to_vec(),
        ))
    }

    /// A pending record as the state a challenge keeps: its id and its sealed secret (the
    /// user and realm are the challenge's own, and bind the seal).
    pub fn pending_state(record: &FactorRecord) -> FactorState {
        let data = serde_json::json!({
            "id": record.id,
            "key": record.secret.key_id,
            "nonce": B64.encode(&record.secret.nonce),
            "ct": B64.encode(&record.secret.ciphertext),
        });
        FactorState {
            method: Method::TOTP.as_str().to_string(),
            data: data.to_string().into_bytes(),
        }
    }

    /// The pending record a state holds, for `who`.
    pub fn pending_record(
        who: &Subject<'_>,
        state: &FactorState,
    ) -> Result<FactorRecord, FactorError> {
        if state.method != Method::TOTP.as_str() {
            return Err(FactorError::OtherMethod);
        }
        let v: serde_json::Value =
            serde_json::from_slice(&state.data).map_err(|_| FactorError::State)?;
        let text = |name: &str| {
            v.get(name)
                .and_then(|t| t.as_str())
                .ok_or(FactorError::State)
        };
        let bytes =
            |name: &str| text(name).and_then(|t| B64.decode(t).map_err(|_| FactorError::State));
        let secret = Sealed {
            key_id: text("key")?.to_string(),
            nonce: bytes("nonce")?,
            ciphertext: bytes("ct")?,
        };
        Ok(Self::pending(who, text("id")?, secret))
    }

    /// The record of a new authenticator `id` whose secret is `secret`, not yet confirmed.
    pub fn pending(who: &Subject<'_>, id: &str, secret: Sealed) -> FactorRecord {
        FactorRecord {
            id: id.to_string(),
            realm: who.realm.to_string(),
            user: who.user.to_string(),
            method: Method::TOTP.as_str().to_string(),
            secret,
            counter: None,
            created_at: who.now,
            last_used_at: None,
            version: VERSION,
        }
    }

    /// What the user types or scans into their app for `secret`.
    pub fn provision(secret: &TotpSecret, issuer: &str, user: &str) -> Provisioning {
        Provisioning {
            secret: secret.to_base32(),
            uri: totp::otpauth_uri(secret, issuer, user),
        }
    }

    /// Checks a pending record's first code: the record to store, its counter at the
    /// confirming code's step (it cannot log in a second time), or `None` when the code is
    /// wrong.
    pub fn confirm(
        keys: &KeyRing,
        tuning: Tuning,
        pending: &FactorRecord,
        code: &str,
        now: i64,
    ) -> Result<Option<FactorRecord>, FactorError> {
        let secret = Self::open(keys, pending)?;
        let Some(step) = unix(now)
            .map(|t| totp::verify(&secret, Self::params(tuning), code, t, None))
            .transpose()?
            .and_then(totp::Check::fresh)
        else {
            return Ok(None);
        };
        let mut record = pending.clone();
        record.counter = Some(step);
        record.last_used_at = Some(now);
        record.created_at = now;
        Ok(Some(record))
    }

    async fn check(
        &self,
        env: &Env<'_>,
        who: &Subject<'_>,
        code: &str,
    ) -> Result<Verdict, FactorError> {
        let stored = env
            .store
            .factor(who.realm, who.user, Method::TOTP.as_str())
            .await?;
        let Some(record) = stored else {
            return Ok(Verdict::Wrong);
        };
        let secret = Self::open(env.keys, &record)?;
        let params = Self::params(env.tuning);
        let checked = unix(who.now)
            .map(|t| totp::verify(&secret, params, code, t, record.counter))
            .transpose()?;
        let step = match checked {
            Some(totp::Check::Fresh(step)) => step,
            Some(totp::Check::Spent) => return Ok(Verdict::Spent(Method::TOTP)),
            Some(totp::Check::Wrong) | None => return Ok(Verdict::Wrong),
        };
        // The store re-checks the step atomically: a racing request with the same code loses.
        if !env
            .store
            .record_factor_step(who.realm, who.user, &record.id, step, who.now)
            .await?
        {
            return Ok(Verdict::Spent(Method::TOTP));
        }
        Ok(Verdict::Accepted(Accepted {
            method: Method::TOTP,
            recovery_codes_left: None,
        }))
    }
}

impl Factor for TotpFactor {
    fn method(&self) -> Method {
        Method::TOTP
    }

    fn plausible(&self, _env: &Env<'_>, code: &str) -> bool {
        // As apps show them: "123 456", "123-456".
        let digits: String = code
            .chars()
            .filter(|c| !c.is_whitespace() && *c != '-')
            .collect();
        digits.len() == TotpParams::default().digits && digits.bytes().all(|b| b.is_ascii_digit())
    }

    fn describe<'a>(
        &'a self,
        env: &'a Env<'a>,
        who: &'a Subject<'a>,
    ) -> Pending<'a, Option<MethodInfo>> {
        Box::pin(async move {
            let record = env
                .store
                .factor(who.realm, who.user, Method::TOTP.as_str())
                .await?;
            Ok(record.map(|r| MethodInfo {
                method: Method::TOTP,
                is_active: true,
                is_primary: true,
                created_at: Some(r.created_at),
                last_used_at: r.last_used_at,
                remaining: None,
            }))
        })
    }

    fn begin<'a>(&'a self, _env: &'a Env<'a>, _who: &'a Subject<'a>) -> Pending<'a, Began> {
        Box::pin(async { Ok(Began::held()) })
    }

    fn finish<'a>(
        &'a self,
        env: &'a Env<'a>,
        who: &'a Subject<'a>,
        _state: Option<&'a FactorState>,
        answer: Answer<'a>,
    ) -> Pending<'a, Verdict> {
        Box::pin(async move {
            match answer {
                Answer::Code(code) => self.check(env, who, code).await,
                Answer::Assertion(_) => Ok(Verdict::Wrong),
            }
        })
    }

    fn begin_enrollment(
        &self,
        env: &Env<'_>,
        who: &Subject<'_>,
    ) -> Result<Option<FactorState>, FactorError> {
        let (_secret, record) = Self::generate(env.keys, who)?;
        Ok(Some(Self::pending_state(&record)))
    }

    fn provisioning(
        &self,
        env: &Env<'_>,
        who: &Subject<'_>,
        pending: &FactorState,
        issuer: &str,
    ) -> Result<Option<Provisioning>, FactorError> {
        let secret = Self::open(env.keys, &Self::pending_record(who, pending)?)?;
        Ok(Some(Self::provision(&secret, issuer, who.user)))
    }

    fn confirm_enrollment<'a>(
        &'a self,
        env: &'a Env<'a>,
        who: &'a Subject<'a>,
        pending: &'a FactorState,
        answer: Answer<'a>,
    ) -> Pending<'a, Option<FactorRecord>> {
        Box::pin(async move {
            let Answer::Code(code) = answer else {
                return Ok(None);
            };
            let record = Self::pending_record(who, pending)?;
            Self::confirm(env.keys, env.tuning, &record, code, who.now)
        })
    }
}
