//! The factors behind one trait, over the key ring and the durable store: what the login flow,
//! the settings pages and the JSON API call to verify an answer, to enrol, and to describe a
//! user's methods. None of them names a factor: they ask the registry ([`Factors`]).
//!
//! One trait fits three shapes of factor. A code the user holds (an authenticator, recovery
//! codes) begins with nothing and finishes by checking the code. A code the gateway sends
//! begins by sending it and keeps its hash as state. A challenge–response (a passkey) begins
//! with the options to sign and finishes with the assertion.

use crate::keys::{KeyError, KeyRing};
use crate::store::{AnyDurable, FactorRecord, FactorState, StoreError};
use std::future::Future;
use std::pin::Pin;

pub use super::authenticator::{totp_context, TotpFactor};
pub use super::recovery::RecoveryCodeFactor;

/// A method's name as the JSON API and the audit trail spell it (`totp`, `recovery_code`).
/// Open-ended: a factor added later brings its own.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Method(&'static str);

impl Method {
    pub const TOTP: Method = Method("totp");
    pub const RECOVERY_CODE: Method = Method("recovery_code");

    pub const fn new(name: &'static str) -> Method {
        Method(name)
    }

    /// The name used in the JSON API (`method`), as the Django REST MFA packages spell it.
    pub fn as_str(self) -> &'static str {
        self.0
    }
}

/// An answer that was accepted (and consumed: it will not be accepted again).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Accepted {
    pub method: Method,
    /// For recovery codes: how many are left after this one.
    pub recovery_codes_left: Option<u32>,
}

/// What an answer turned out to be.
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
        self == Verdict::Spent(Method::TOTP)
    }
}

#[derive(Debug, thiserror::Error)]
pub enum FactorError {
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error(transparent)]
    Keys(#[from] KeyError),
    #[error(transparent)]
    Totp(#[from] super::totp::TotpError),
    /// A factor's state kept with a challenge or a setup token does not read back.
    #[error("a pending factor state is not valid")]
    State,
    /// The state handed to a factor is another method's.
    #[error("a factor state of another method")]
    OtherMethod,
    /// No factor of the registry enrolls on its own.
    #[error("no factor can be enrolled")]
    NothingToEnroll,
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

/// An app's settings that factors read.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Tuning {
    /// Authenticator codes accepted this many time steps early or late.
    pub totp_skew: u8,
}

impl Default for Tuning {
    fn default() -> Self {
        Tuning { totp_skew: 1 }
    }
}

/// What a factor works with: the store the gateway runs on, the key ring of this request, and
/// the app's settings.
#[derive(Clone, Copy)]
pub struct Env<'a> {
    pub store: &'a AnyDurable,
    pub keys: &'a KeyRing,
    pub tuning: Tuning,
}

/// What the user is asked for once a factor began.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Prompt {
    /// A code the user holds (an authenticator's, a recovery code): nothing was sent.
    Held,
    /// A code was sent; `to` says where, as the user may be shown it (masked).
    Sent { to: String },
    /// A challenge for the user's device to sign (for a passkey, the request options as JSON).
    Challenge { options: String },
}

/// A factor's start of an answer: what to ask, and what to keep until the answer comes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Began {
    pub prompt: Prompt,
    pub state: Option<FactorState>,
}

impl Began {
    /// Nothing to send and nothing to keep: a code the user holds.
    pub fn held() -> Began {
        Began {
            prompt: Prompt::Held,
            state: None,
        }
    }
}

/// What a user types or scans to set up a new factor on their device. Secret: never printed.
pub struct Provisioning {
    pub secret: zeroize::Zeroizing<String>,
    pub uri: zeroize::Zeroizing<String>,
}

impl std::fmt::Debug for Provisioning {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Provisioning(<redacted>)")
    }
}

/// An answer to a factor.
#[derive(Debug, Clone, Copy)]
pub enum Answer<'a> {
    /// Typed (or pasted) by the user.
    Code(&'a str),
    /// Signed by the user's device (for a passkey, the assertion as JSON).
    Assertion(&'a [u8]),
}

/// A boxed future, so that [`Factor`] can be a trait object (`dyn Factor`).
pub type Pending<'a, T> = Pin<Box<dyn Future<Output = Result<T, FactorError>> + Send + 'a>>;

/// A second factor. Every call gets the time in [`Subject::now`]; none reads the clock.
pub trait Factor: Send + Sync {
    fn method(&self) -> Method;

    /// Whether `name` is this method in the JSON API (`method`), beside its own name.
    fn answers_to(&self, name: &str) -> bool {
        name == self.method().as_str()
    }

    /// Whether `code` has the shape of one of this factor's codes: one that has none of the
    /// user's factors' shapes is a typo of length, not a guess, and costs no attempt.
    fn plausible(&self, env: &Env<'_>, code: &str) -> bool;

    /// What the user has of this method, if anything.
    fn describe<'a>(
        &'a self,
        env: &'a Env<'a>,
        who: &'a Subject<'a>,
    ) -> Pending<'a, Option<MethodInfo>>;

    /// Whether [`Factor::begin`] starts something for a login (sends a code, makes a
    /// challenge): such a factor is always looked up at a login. One that checks a code the
    /// user holds is not, once another factor of the user's was found (see
    /// [`Factors::at_login`]).
    fn starts_answers(&self) -> bool {
        false
    }

    /// Starts an answer for a login: sends a code, or makes a challenge to sign; nothing for a
    /// code the user holds. Called only for a user who has this method.
    fn begin<'a>(&'a self, env: &'a Env<'a>, who: &'a Subject<'a>) -> Pending<'a, Began>;

    /// Checks an answer against what [`Factor::begin`] kept (`state`, when it kept any). On
    /// success the answer is consumed atomically, so of two racing requests with the same
    /// answer exactly one is accepted (the other finds it spent).
    fn finish<'a>(
        &'a self,
        env: &'a Env<'a>,
        who: &'a Subject<'a>,
        state: Option<&'a FactorState>,
        answer: Answer<'a>,
    ) -> Pending<'a, Verdict>;

    /// Starts enrolling the user: the new factor's pending state, which holds its secret
    /// sealed, or `None` for a method that is not enrolled on its own (recovery codes come
    /// with another factor). Nothing is stored yet.
    fn begin_enrollment(
        &self,
        _env: &Env<'_>,
        _who: &Subject<'_>,
    ) -> Result<Option<FactorState>, FactorError> {
        Ok(None)
    }

    /// What the user is shown to set up a pending enrollment on their device (an
    /// authenticator's key as text and as an `otpauth://` URI), if anything.
    fn provisioning(
        &self,
        _env: &Env<'_>,
        _who: &Subject<'_>,
        _pending: &FactorState,
        _issuer: &str,
    ) -> Result<Option<Provisioning>, FactorError> {
        Ok(None)
    }

    /// Checks the first answer of a pending enrollment: the record to store (its counter past
    /// the confirming answer, so that it cannot log in again), or `None` when the answer is
    /// wrong. Nothing is stored here: the caller stores it, with what goes along.
    fn confirm_enrollment<'a>(
        &'a self,
        _env: &'a Env<'a>,
        _who: &'a Subject<'a>,
        _pending: &'a FactorState,
        _answer: Answer<'a>,
    ) -> Pending<'a, Option<FactorRecord>> {
        Box::pin(async { Ok(None) })
    }
}

/// The context a factor's secret is sealed under: it opens only for the record it was written
/// for. An authenticator's keeps the context it always had, so secrets sealed before factors
/// shared one table still open.
pub fn secret_context(record: &FactorRecord) -> Vec<u8> {
    if record.method == Method::TOTP.as_str() {
        return totp_context(&record.realm, &record.user, &record.id);
    }
    format!(
        "factor-v1\0{}\0{}\0{}\0{}",
        record.method, record.realm, record.user, record.id
    )
    .into_bytes()
}

/// What a user has enrolled, method by method, in the registry's order.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Enrolled(pub Vec<MethodInfo>);

impl Enrolled {
    /// Whether the user has any factor: the one answer to "must this login pass a second
    /// factor, or enroll one first?".
    pub fn any(&self) -> bool {
        !self.0.is_empty()
    }

    pub fn get(&self, method: Method) -> Option<&MethodInfo> {
        self.0.iter().find(|m| m.method == method)
    }

    pub fn has(&self, method: Method) -> bool {
        self.get(method).is_some()
    }
}

/// Every factor the gateway offers, in the order a code typed into one field is tried. Built
/// once at start.
pub struct Factors {
    list: Vec<Box<dyn Factor>>,
}

impl Default for Factors {
    fn default() -> Self {
        Factors::standard()
    }
}

impl Factors {
    /// The authenticator first (the everyday answer), then recovery codes.
    pub fn standard() -> Factors {
        Factors {
            list: vec![Box::new(TotpFactor), Box::new(RecoveryCodeFactor)],
        }
    }

    /// With one more factor, tried after the others.
    pub fn with(mut self, factor: Box<dyn Factor>) -> Factors {
        self.list.push(factor);
        self
    }

    pub fn iter(&self) -> impl Iterator<Item = &dyn Factor> {
        self.list.iter().map(|f| &**f)
    }

    pub fn get(&self, method: Method) -> Option<&dyn Factor> {
        self.iter().find(|f| f.method() == method)
    }

    /// The method the JSON API's `method` names, if a factor answers to it.
    pub fn named(&self, name: &str) -> Option<Method> {
        self.iter().find(|f| f.answers_to(name)).map(|f| f.method())
    }

    /// The factor of a state kept with a challenge.
    pub fn of_state(&self, state: &FactorState) -> Option<&dyn Factor> {
        self.iter().find(|f| f.method().as_str() == state.method)
    }

    /// Starts enrolling the first factor that enrolls on its own: its pending state.
    pub fn begin_enrollment(
        &self,
        env: &Env<'_>,
        who: &Subject<'_>,
    ) -> Result<FactorState, FactorError> {
        for factor in self.iter() {
            if let Some(pending) = factor.begin_enrollment(env, who)? {
                return Ok(pending);
            }
        }
        Err(FactorError::NothingToEnroll)
    }

    /// Checks the first answer of a pending enrollment with the factor it belongs to.
    pub async fn confirm_enrollment(
        &self,
        env: &Env<'_>,
        who: &Subject<'_>,
        pending: &FactorState,
        answer: Answer<'_>,
    ) -> Result<Option<FactorRecord>, FactorError> {
        let factor = self.of_state(pending).ok_or(FactorError::OtherMethod)?;
        factor.confirm_enrollment(env, who, pending, answer).await
    }

    /// What to show for a pending enrollment.
    pub fn provisioning(
        &self,
        env: &Env<'_>,
        who: &Subject<'_>,
        pending: &FactorState,
        issuer: &str,
    ) -> Result<Option<Provisioning>, FactorError> {
        let factor = self.of_state(pending).ok_or(FactorError::OtherMethod)?;
        factor.provisioning(env, who, pending, issuer)
    }

    /// Whether `code` could be an answer to any factor.
    pub fn plausible(&self, env: &Env<'_>, code: &str) -> bool {
        self.iter().any(|f| f.plausible(env, code))
    }

    /// What the user has enrolled.
    pub async fn enrolled(
        &self,
        env: &Env<'_>,
        who: &Subject<'_>,
    ) -> Result<Enrolled, FactorError> {
        let mut methods = Vec::new();
        for factor in self.iter() {
            methods.extend(factor.describe(env, who).await?);
        }
        Ok(Enrolled(methods))
    }

    /// What a login needs of the user's factors: whether they have any (exact), and which of
    /// the factors that start answers they have (exact). Factors that check a code the user
    /// holds are asked in the registry's order only until one is found, so the login of a user
    /// with an authenticator costs one read of the store, as it did before the registry (a
    /// second read per login halved the logins a shared PostgreSQL takes in a burst).
    pub async fn at_login(
        &self,
        env: &Env<'_>,
        who: &Subject<'_>,
    ) -> Result<Enrolled, FactorError> {
        let mut methods = Vec::new();
        for factor in self.iter() {
            if !methods.is_empty() && !factor.starts_answers() {
                continue;
            }
            methods.extend(factor.describe(env, who).await?);
        }
        Ok(Enrolled(methods))
    }

    /// Begins every enrolled method for a login: what they keep, to go with the challenge.
    pub async fn begin(
        &self,
        env: &Env<'_>,
        who: &Subject<'_>,
        enrolled: &Enrolled,
    ) -> Result<Vec<FactorState>, FactorError> {
        let mut states = Vec::new();
        for factor in self.iter().filter(|f| enrolled.has(f.method())) {
            states.extend(factor.begin(env, who).await?.state);
        }
        Ok(states)
    }

    /// Tries the factors in turn with one code typed into one field: a 6-digit code is a
    /// TOTP, a 12-character one a recovery code. `method`, when the client names one,
    /// restricts it. A code one factor finds spent is spent, whatever the others say. `began`
    /// is what [`Factors::begin`] kept for this login.
    pub async fn verify(
        &self,
        env: &Env<'_>,
        who: &Subject<'_>,
        began: &[FactorState],
        code: &str,
        method: Option<Method>,
    ) -> Result<Verdict, FactorError> {
        let mut verdict = Verdict::Wrong;
        for factor in self.iter() {
            let this = factor.method();
            if method.is_some_and(|m| m != this) {
                continue;
            }
            let state = began.iter().find(|s| s.method == this.as_str());
            match factor.finish(env, who, state, Answer::Code(code)).await? {
                Verdict::Accepted(accepted) => return Ok(Verdict::Accepted(accepted)),
                Verdict::Wrong => {}
                spent => verdict = spent,
            }
        }
        Ok(verdict)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::factors::totp::{self, TotpParams};
    use crate::store::{DurableStore, SqliteStore};

    async fn setup() -> (AnyDurable, KeyRing) {
        let dir = std::env::temp_dir().join(format!(
            "mfa-factors-{}-{}",
            std::process::id(),
            rand::random::<u64>()
        ));
        std::fs::create_dir_all(&dir).unwrap();
        let store = SqliteStore::open(&dir.join("db")).await.unwrap();
        (AnyDurable::sqlite(store), KeyRing::generate())
    }

    fn env<'a>(store: &'a AnyDurable, keys: &'a KeyRing) -> Env<'a> {
        Env {
            store,
            keys,
            tuning: Tuning::default(),
        }
    }

    fn who(now: i64) -> Subject<'static> {
        Subject {
            realm: "main",
            user: "alice",
            now,
        }
    }

    /// Enrolls alice's authenticator at `t0` through the registry, as the login flow does: the
    /// secret and the code that confirmed it.
    async fn enroll(store: &AnyDurable, keys: &KeyRing, t0: i64) -> (totp::TotpSecret, String) {
        let env = env(store, keys);
        let factors = Factors::standard();
        let pending = factors.begin_enrollment(&env, &who(t0)).unwrap();
        let record = TotpFactor::pending_record(&who(t0), &pending).unwrap();
        let secret = TotpFactor::open(keys, &record).unwrap();
        let code = totp::code_at(&secret, TotpParams::default(), t0 as u64).unwrap();
        let confirmed = factors
            .confirm_enrollment(&env, &who(t0), &pending, Answer::Code(&code))
            .await
            .unwrap()
            .unwrap();
        store.put_factor(&confirmed).await.unwrap();
        (secret, code)
    }

    #[tokio::test]
    async fn enrollment_needs_a_current_code_and_stores_only_sealed_secret() {
        let (store, keys) = setup().await;
        let env = env(&store, &keys);
        let factors = Factors::standard();
        let pending = factors.begin_enrollment(&env, &who(1_700_000_000)).unwrap();
        assert_eq!(pending.method, "totp");
        let wrong = factors
            .confirm_enrollment(&env, &who(1_700_000_000), &pending, Answer::Code("000000"))
            .await
            .unwrap();
        assert_eq!(wrong, None);
        assert!(!factors.enrolled(&env, &who(0)).await.unwrap().any());

        let (secret, code) = enroll(&store, &keys, 1_700_000_000).await;
        let stored = store
            .factor("main", "alice", "totp")
            .await
            .unwrap()
            .unwrap();
        assert!(!stored
            .secret
            .ciphertext
            .windows(secret.as_bytes().len())
            .any(|w| w == secret.as_bytes()));
        // The confirming code cannot be used again to log in.
        assert_eq!(
            factors
                .verify(&env, &who(1_700_000_000), &[], &code, None)
                .await
                .unwrap(),
            Verdict::Spent(Method::TOTP)
        );
    }

    #[tokio::test]
    async fn a_sealed_secret_does_not_open_for_another_user() {
        let (store, keys) = setup().await;
        let env = env(&store, &keys);
        let pending = TotpFactor.begin_enrollment(&env, &who(0)).unwrap().unwrap();
        let mallory = Subject {
            user: "mallory",
            ..who(0)
        };
        assert!(matches!(
            TotpFactor
                .confirm_enrollment(&env, &mallory, &pending, Answer::Code("123456"))
                .await,
            Err(FactorError::Keys(KeyError::Decrypt))
        ));
    }

    #[tokio::test]
    async fn totp_and_recovery_codes_through_one_field() {
        let (store, keys) = setup().await;
        let env = env(&store, &keys);
        let factors = Factors::standard();
        let t0 = 1_700_000_000;
        let (secret, _) = enroll(&store, &keys, t0).await;
        let codes = RecoveryCodeFactor
            .regenerate(&store, &keys, &who(t0))
            .await
            .unwrap();
        let verify = |at: i64, code: String, method: Option<Method>| {
            let (env, factors) = (&env, &factors);
            async move {
                let who = Subject {
                    realm: "main",
                    user: "alice",
                    now: at,
                };
                factors.verify(env, &who, &[], &code, method).await.unwrap()
            }
        };

        let later = t0 + 60;
        let next = totp::code_at(&secret, TotpParams::default(), later as u64).unwrap();
        assert_eq!(
            verify(later, next.clone(), None).await,
            Verdict::Accepted(Accepted {
                method: Method::TOTP,
                recovery_codes_left: None
            })
        );
        assert_eq!(
            verify(later, next, None).await,
            Verdict::Spent(Method::TOTP),
            "replay"
        );
        assert_eq!(
            verify(later, "not a code".into(), None).await,
            Verdict::Wrong
        );

        let typed = codes[0].display().to_uppercase();
        assert_eq!(
            verify(later, typed.clone(), None).await,
            Verdict::Accepted(Accepted {
                method: Method::RECOVERY_CODE,
                recovery_codes_left: Some(9)
            })
        );
        assert_eq!(
            verify(later, typed, None).await,
            Verdict::Spent(Method::RECOVERY_CODE),
            "used twice"
        );

        // A named method restricts which factor is tried.
        let other = codes[1].display().to_string();
        assert_eq!(
            verify(later, other.clone(), Some(Method::TOTP)).await,
            Verdict::Wrong
        );
        assert!(verify(later, other, Some(Method::RECOVERY_CODE))
            .await
            .accepted()
            .is_some());

        // Another user's codes do nothing for alice, and alice's nothing for bob.
        let bob = Subject {
            realm: "main",
            user: "bob",
            now: later,
        };
        assert_eq!(
            factors
                .verify(&env, &bob, &[], &codes[2].display(), None)
                .await
                .unwrap(),
            Verdict::Wrong
        );
    }

    #[tokio::test]
    async fn methods_are_described_with_api_field_meanings() {
        let (store, keys) = setup().await;
        let env = env(&store, &keys);
        let factors = Factors::standard();
        assert_eq!(
            factors.enrolled(&env, &who(0)).await.unwrap(),
            Enrolled::default()
        );
        enroll(&store, &keys, 10).await;
        RecoveryCodeFactor
            .regenerate(&store, &keys, &who(10))
            .await
            .unwrap();
        let enrolled = factors.enrolled(&env, &who(20)).await.unwrap();
        assert!(enrolled.any());
        let t = enrolled.get(Method::TOTP).unwrap();
        assert_eq!(
            (t.method.as_str(), t.is_active, t.is_primary, t.created_at),
            ("totp", true, true, Some(10))
        );
        let r = enrolled.get(Method::RECOVERY_CODE).unwrap();
        assert_eq!(
            (r.method.as_str(), r.is_primary, r.remaining),
            ("recovery_code", false, Some(10))
        );
        let order: Vec<&str> = enrolled.0.iter().map(|m| m.method.as_str()).collect();
        assert_eq!(order, ["totp", "recovery_code"]);
    }

    #[test]
    fn the_api_names_each_method_and_its_alias() {
        let factors = Factors::standard();
        assert_eq!(factors.named("totp"), Some(Method::TOTP));
        assert_eq!(factors.named("recovery_code"), Some(Method::RECOVERY_CODE));
        assert_eq!(factors.named("backup_code"), Some(Method::RECOVERY_CODE));
        assert_eq!(factors.named("sms"), None);
    }

    #[test]
    fn an_authenticators_secret_keeps_its_old_context() {
        let record = crate::store::FactorRecord {
            id: "totp-1".into(),
            realm: "main".into(),
            user: "alice".into(),
            method: "totp".into(),
            secret: crate::keys::Sealed {
                key_id: "k".into(),
                nonce: vec![],
                ciphertext: vec![],
            },
            counter: None,
            created_at: 0,
            last_used_at: None,
            version: 1,
        };
        assert_eq!(secret_context(&record), b"totp\0main\0alice\0totp-1");
        let other = crate::store::FactorRecord {
            method: "sent_code".into(),
            ..record
        };
        assert_ne!(secret_context(&other), b"totp\0main\0alice\0totp-1");
    }
}
