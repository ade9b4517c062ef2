//! From a password the app accepted to the release of its withheld answer: the steps shared by
//! the browser pages and the JSON API. Nothing here renders; `endpoints` turns the outcomes
//! into pages or JSON.

use super::{random_id, Mfa, MfaError, PENDING_COOKIE, SESSION_COOKIE};
use crate::config::Limit;
use crate::config::{App, AppMfa, Closed, Enrollment, FirstLogin, Policy};
use crate::factors::recovery::RecoveryCode;
use crate::factors::service::{
    Answer, Enrolled, Env, FactorError, Method, Provisioning, Subject, Tuning, Verdict,
};
use crate::intercept::withheld::WithheldAnswer;
use crate::keys::KeyError;
use crate::regulation;
use crate::session::cookies::{GatewayCookie, SameSite};
use crate::session::token::{PendingToken, TokenError};
use crate::store::{
    Challenge, ChallengeStage, DurableStore, EphemeralStore, FactorState, FailureOutcome, Session,
    StoreError,
};
use crate::wire::set_cookie::sets_cookies_named;
use bytes::Bytes;
use http::{header, HeaderMap, Response};

/// Where one request stands: the app, its MFA settings, whether the client came over TLS, and
/// the time (read once per request, passed everywhere).
pub struct Context<'a> {
    pub mfa: &'a Mfa,
    /// The key ring for this request (taken once: a reload mid-request does not mix rings).
    pub keys: std::sync::Arc<crate::keys::KeyRing>,
    pub app: &'a App,
    pub settings: &'a AppMfa,
    pub tls: bool,
    pub now: i64,
    /// The client's address (through the trusted-proxy rules) and the request id, for audit.
    pub client: std::net::IpAddr,
    pub request_id: String,
    /// The client's `User-Agent`, shortened, for audit.
    pub user_agent: String,
    /// The client's `Accept-Language`, for the language of the pages.
    pub accept_language: Option<http::HeaderValue>,
    /// The request's target as sent (a reference-counted copy): its path is where the
    /// browser takes an answer's cookies to be from.
    pub request_uri: http::Uri,
    /// The device cookies the request presents (`session::device`), as (name, value),
    /// unchecked; most requests have none.
    pub device_tokens: Vec<(String, String)>,
    /// The device found on record for a user, once looked up: (realm, user, device id).
    pub familiar: std::sync::Mutex<Option<(String, String, Option<String>)>>,
}

/// What the user must do after their password was accepted.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Step {
    Verify,
    Invite,
    Enroll,
}

impl Step {
    pub fn of(challenge: &Challenge) -> Step {
        match challenge.stage {
            ChallengeStage::Verify => Step::Verify,
            ChallengeStage::Invite => Step::Invite,
            _ => Step::Enroll,
        }
    }

    /// The page (below the prefix) and the audit name of the step.
    pub fn name(self) -> &'static str {
        match self {
            Step::Verify => "verify",
            Step::Invite => "invite",
            Step::Enroll => "enroll",
        }
    }
}

pub enum Begun {
    /// Nothing to ask (optional policy, no factor enrolled): the answer goes out now.
    Released(Response<Bytes>),
    /// The user or the client is locked (too many wrong codes, or an admin lock): the app's
    /// answer is dropped. With the user it was for.
    Locked(regulation::Lock, String),
    /// The user has no factor and may not set one up here now (first-login enrollment is
    /// closed and `otherwise: refuse`): the app's answer is dropped. With the user.
    Closed(String),
    /// The answer is withheld; the client continues with this signed token.
    Pending {
        token: String,
        challenge: Box<Challenge>,
        expires_in: i64,
    },
}

/// Why a pending login cannot continue; each has a fixed message for the user.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Refusal {
    /// No token, or one that was forged, altered or issued for another app.
    Invalid,
    /// Expired, already used, or killed by too many wrong codes.
    Expired,
    /// The request does not fit the step the login is at.
    WrongStep,
}

impl Refusal {
    /// The id of the sentence a page shows (`locales/*.ftl`).
    pub fn message_id(self) -> &'static str {
        match self {
            Refusal::Invalid => "refusal-invalid",
            Refusal::Expired => "refusal-expired",
            Refusal::WrongStep => "refusal-wrong-step",
        }
    }
}

pub enum CodeOutcome<T> {
    Accepted(T),
    /// Wrong code; this many attempts are left. `spent`: a real code that was already used
    /// (the user should wait for the next one).
    /// `counted`: false when it cost no attempt (this browser's own code, sent again).
    Wrong {
        left: u32,
        spent: bool,
        counted: bool,
    },
    /// That was the last attempt: the login is gone.
    Dead,
    /// The user or the client is locked (until when, on what); no code is checked meanwhile.
    Locked(regulation::Lock),
}

impl Context<'_> {
    /// The language of the gateway's pages for this request: the app's, if it names one, else
    /// the one the browser asks for.
    pub fn tr(&self) -> crate::i18n::Tr {
        let lang = self.settings.language.unwrap_or_else(|| {
            crate::i18n::negotiate(self.accept_language.as_ref().and_then(|v| v.to_str().ok()))
        });
        crate::i18n::Tr::new(lang)
    }

    /// The audit record of `event` in this request.
    pub fn event<'e>(
        &'e self,
        event: &'static str,
        user: &'e str,
        outcome: &'static str,
        session: Option<&'e [u8; 32]>,
        detail: &'e [(&'static str, String)],
    ) -> crate::audit::Event<'e> {
        crate::audit::Event {
            event,
            app: &self.app.name,
            user: Some(user),
            outcome,
            client: Some(self.client),
            user_agent: Some(&self.user_agent),
            request_id: Some(&self.request_id),
            session,
            detail,
        }
    }

    /// Writes an audit record for information (refusals, failures, stripped cookies): a failure
    /// is logged and counted, and the request goes on whatever `on_failure` says — refusing
    /// would not make a refusal any safer.
    pub fn audit(
        &self,
        event: &'static str,
        user: &str,
        outcome: &'static str,
        session: Option<&[u8; 32]>,
        detail: &[(&'static str, String)],
    ) {
        let record = self.event(event, user, outcome, session, detail);
        if let Err(error) = self.mfa.audit.record(&self.keys, self.now, &record) {
            tracing::error!(error = %crate::ops::error_chain(&error), event, "audit record not written");
        }
    }

    /// Audits a refusal that a client may repeat on every request (a stale cookie, an unbound
    /// `Authorization`): one record per client a minute, with how many went unrecorded before
    /// it (the metrics count them all).
    pub fn audit_refusal(
        &self,
        event: &'static str,
        user: &str,
        detail: &[(&'static str, String)],
    ) {
        if let Some(repeats) = self.mfa.first_strip_in_a_while(self.client, self.now) {
            let mut detail = detail.to_vec();
            detail.push(("repeats_since_last_record", repeats.to_string()));
            self.audit(event, user, "refused", None, &detail);
        }
    }

    /// The id of this browser's device credential for `user`, when it presents one that is
    /// genuine, names that user and is on record (not revoked, not expired). Looked up once
    /// per request.
    pub async fn familiar(&self, realm: &str, user: &str) -> Result<Option<String>, StoreError> {
        if self.device_tokens.is_empty() {
            return Ok(None);
        }
        let cached = |found: &Option<(String, String, Option<String>)>| match found {
            Some((r, u, id)) if r == realm && u == user => Some(id.clone()),
            _ => None,
        };
        if let Some(id) = cached(&self.familiar.lock().unwrap_or_else(|e| e.into_inner())) {
            return Ok(id);
        }
        let mut found = None;
        let name = crate::session::device::cookie(&self.keys, realm, user, self.tls).full_name();
        let own = self
            .device_tokens
            .iter()
            .filter(|(n, _)| *n == name)
            .map(|(_, token)| token);
        for token in own {
            let Some(device) =
                crate::session::device::DeviceToken::verify(token, &self.keys, self.now)
            else {
                continue;
            };
            if device.realm != realm || device.user != user {
                continue;
            }
            let until = self
                .now
                .saturating_add(crate::session::device::REMEMBER_SECS);
            if self
                .mfa
                .durable
                .use_device(realm, user, &device.id, self.now, until)
                .await?
            {
                found = Some(device.id);
                break;
            }
        }
        *self.familiar.lock().unwrap_or_else(|e| e.into_inner()) =
            Some((realm.to_string(), user.to_string(), found.clone()));
        Ok(found)
    }

    /// The subjects wrong codes count against for `user`, with their limits, the one a
    /// correct code clears first: the device alone for a browser that passed this user's
    /// second factor before (`familiar`), else the account as reached from new browsers, the
    /// address and the network. Last, the user, whom only an administrator locks.
    fn code_subjects(
        &self,
        realm: &str,
        user: &str,
        familiar: Option<String>,
    ) -> Vec<(regulation::Subject, Option<Limit>)> {
        let rules = &self.settings.regulation;
        let admin = (
            regulation::Subject::User {
                realm: realm.to_string(),
                user: user.to_string(),
            },
            None,
        );
        if let Some(id) = familiar {
            return vec![(regulation::Subject::Device(id), rules.device), admin];
        }
        vec![
            (
                regulation::Subject::NewBrowsers {
                    realm: realm.to_string(),
                    user: user.to_string(),
                },
                rules.user,
            ),
            (
                regulation::Subject::Client(regulation::client_of(self.client)),
                rules.for_address(rules.client, self.client),
            ),
            (
                regulation::Subject::Network(regulation::network_of(self.client)),
                rules.for_address(rules.network, self.client),
            ),
            admin,
        ]
    }

    /// The code subjects of `user` for this request.
    async fn subjects_here(
        &self,
        realm: &str,
        user: &str,
    ) -> Result<Vec<(regulation::Subject, Option<Limit>)>, StoreError> {
        let familiar = self.familiar(realm, user).await?;
        Ok(self.code_subjects(realm, user, familiar))
    }

    /// The end of a lock on what this request's codes for `user` count against, if one is in
    /// force.
    pub async fn lock_end(
        &self,
        realm: &str,
        user: &str,
    ) -> Result<Option<regulation::Lock>, StoreError> {
        let subjects = self.code_subjects_here(realm, user).await?;
        regulation::lock_end(&self.mfa.ephemeral, &subjects, self.now).await
    }

    /// The code subjects of `user` (for an inspection made before the login is answered).
    pub async fn code_subjects_here(
        &self,
        realm: &str,
        user: &str,
    ) -> Result<Vec<regulation::Subject>, StoreError> {
        Ok(self
            .subjects_here(realm, user)
            .await?
            .into_iter()
            .map(|(s, _)| s)
            .collect())
    }

    /// Counts a wrong code against what this request's codes for `user` count against;
    /// audits any lock it caused. The end of the lock now in force, if any.
    pub async fn code_failed(
        &self,
        realm: &str,
        user: &str,
    ) -> Result<Option<regulation::Lock>, StoreError> {
        self.code_failed_after(realm, user, None, false).await
    }

    /// Counts this attempt against the account (or this browser) before its code is read:
    /// attempts made at once cannot all be read before any of them counts. `Err`: the budget
    /// was spent before this attempt (it is refused unread). `Ok`: read the code; a lock this
    /// very attempt started is lifted again if the code is right.
    pub async fn reserve_attempt(
        &self,
        realm: &str,
        user: &str,
    ) -> Result<Result<Reserved, regulation::Lock>, StoreError> {
        let subjects = self.subjects_here(realm, user).await?;
        let Some((subject, Some(limit))) = subjects.into_iter().next() else {
            return Ok(Ok(Reserved::default()));
        };
        let counted = self
            .mfa
            .ephemeral
            .count_failure(&subject.key(), regulation::store_limit(limit), self.now)
            .await?;
        let lock = |until| regulation::Lock {
            until,
            scope: subject.scope(),
        };
        Ok(match counted {
            crate::store::Counted::Locked(until) => Err(lock(until)),
            crate::store::Counted::LockedNow(until) => Ok(Reserved {
                locked_now: Some(lock(until)),
                subject: Some(subject),
            }),
            crate::store::Counted::Under(_) => Ok(Reserved {
                locked_now: None,
                subject: Some(subject),
            }),
        })
    }

    /// As [`Context::code_failed`], for an attempt already counted against `reserved`'s
    /// subject (which is not counted again; a lock it started is audited here). `tell`: a
    /// guess at the verify step, told to the user at their next sign-in when it came from a
    /// browser other than theirs (typos while enrolling, or in a session's settings, are the
    /// user's own).
    pub async fn code_failed_after(
        &self,
        realm: &str,
        user: &str,
        reserved: Option<&Reserved>,
        tell: bool,
    ) -> Result<Option<regulation::Lock>, StoreError> {
        let mut subjects = self.subjects_here(realm, user).await?;
        let own_browser = matches!(subjects.first(), Some((regulation::Subject::Device(_), _)));
        if let Some(subject) = reserved.and_then(|r| r.subject.as_ref()) {
            subjects.retain(|(s, _)| s != subject);
        }
        if tell && !own_browser {
            self.mfa
                .ephemeral
                .count_failure(&notice_key(realm, user), NOTICE_COUNT, self.now)
                .await?;
        }
        let mut failure =
            regulation::count_failure(&self.mfa.ephemeral, &subjects, self.now).await?;
        if let Some(reserved) = reserved {
            if let (Some(subject), Some(lock)) = (&reserved.subject, reserved.locked_now) {
                failure.locked_now.push((subject.clone(), lock.until));
                failure.locked_until = Some(match failure.locked_until {
                    Some(other) if other.until > lock.until => other,
                    _ => lock,
                });
            }
        }
        for (subject, until) in &failure.locked_now {
            self.mfa
                .metrics
                .locks
                .get_or_create(&super::metrics::LockLabels {
                    subject: subject.kind(),
                })
                .inc();
            self.audit(
                subject.lock_event(),
                user,
                "locked",
                None,
                &[
                    ("reason", "too many wrong codes".into()),
                    ("subject", subject.to_string()),
                    ("locked_until", crate::ops::time::rfc3339(*until)),
                ],
            );
        }
        Ok(failure.locked_until)
    }

    /// A code after [`Context::reserve_attempt`] that was no guess: right (`passed`: the count
    /// starts over), or this browser's own used code sent again (the attempt is taken back).
    /// Either way a lock the attempt itself started is lifted.
    pub async fn reserved_not_a_guess(
        &self,
        reserved: &Reserved,
        passed: bool,
    ) -> Result<(), StoreError> {
        let Some(subject) = &reserved.subject else {
            return Ok(());
        };
        let store = &self.mfa.ephemeral;
        let key = subject.key();
        match (reserved.locked_now.is_some(), passed) {
            (true, _) => store.set_lock(&key, None, self.now).await.map(|_| ()),
            (false, true) => store.clear_failures(&key).await,
            (false, false) => store.uncount_failure(&key, self.now).await,
        }
    }

    /// A correct code: the count of the account (or of the device it came from) starts over;
    /// the address's does not, or one good account would reset an attacker's address.
    pub async fn code_passed(&self, realm: &str, user: &str) -> Result<(), StoreError> {
        match self.subjects_here(realm, user).await?.first() {
            Some((subject, _)) => self.mfa.ephemeral.clear_failures(&subject.key()).await,
            None => Ok(()),
        }
    }

    /// A code refused unread because of a lock, audited.
    fn refused_locked(&self, user: &str, lock: regulation::Lock) {
        self.mfa
            .metrics
            .outcome(&self.app.name, "unknown", "locked");
        self.audit(
            "verify_failed",
            user,
            "refused",
            None,
            &[
                ("reason", "locked".into()),
                ("locked_until", crate::ops::time::rfc3339(lock.until)),
                ("lock", lock.scope.as_str().into()),
            ],
        );
    }

    /// Writes an audit record that a sign-in step depends on: with `audit.on_failure: refuse`
    /// the step fails (503) when the record cannot be written.
    pub fn audit_required(
        &self,
        event: &'static str,
        user: &str,
        outcome: &'static str,
        session: Option<&[u8; 32]>,
        detail: &[(&'static str, String)],
    ) -> Result<(), MfaError> {
        let record = self.event(event, user, outcome, session, detail);
        match self.mfa.audit.record(&self.keys, self.now, &record) {
            Ok(()) => Ok(()),
            Err(error) if self.mfa.audit.refuses_on_failure() => {
                tracing::error!(error = %crate::ops::error_chain(&error), event, "audit record not written: sign-in refused");
                Err(MfaError::Audit(error))
            }
            Err(error) => {
                tracing::error!(error = %crate::ops::error_chain(&error), event, "audit record not written");
                Ok(())
            }
        }
    }

    /// Makes a factor, session or admin change between its two audit records (see
    /// `audit::changes`): `change_begun` before, `event` (or `change_failed`) after, so a crash
    /// in between leaves a trail that says so instead of a change it does not know of. With
    /// `on_failure: refuse`, a begin record that cannot be written stops the change.
    pub async fn change<T, E: From<MfaError>>(
        &self,
        event: &'static str,
        user: &str,
        session: Option<&[u8; 32]>,
        detail: &[(&'static str, String)],
        refusable: Refusable,
        change: impl std::future::Future<Output = Result<T, E>>,
    ) -> Result<T, E> {
        let record = self.event(event, user, "accepted", session, detail);
        let begun = self.begin_change(&record, refusable)?;
        let result = change.await;
        crate::ops::crash::point("change.made");
        match &result {
            Ok(_) => self.end_change(begun, &record, Ok(())),
            Err(_) => {
                // A change of several steps may have failed part-way: the record says what
                // the stores hold now.
                let state = self.state_of(user).await;
                let reason = "a store refused a step: see what the stores hold now";
                self.end_change_with(begun, &record, Err(reason), &state);
            }
        }
        result
    }

    /// The `change_begun` record of the change `record` ends (for a change whose end record
    /// depends on its outcome; else `change`). `None` when the sink is failing and the change
    /// goes on: with `on_failure: continue`, or always for a change that takes access away
    /// (a sign-out must work while the disk is full). A change that grants or alters access
    /// is refused then with `on_failure: refuse`.
    pub fn begin_change(
        &self,
        record: &crate::audit::Event<'_>,
        refusable: Refusable,
    ) -> Result<Option<crate::audit::Begun<'_>>, MfaError> {
        let audit = &self.mfa.audit;
        match audit.begin(&self.keys, self.now, record) {
            Ok(begun) => Ok(Some(begun)),
            Err(error) if audit.refuses_on_failure() && refusable == Refusable::Yes => {
                tracing::error!(error = %crate::ops::error_chain(&error), event = record.event, "audit record not written: change refused");
                Err(MfaError::Audit(error))
            }
            Err(error) => {
                tracing::error!(error = %crate::ops::error_chain(&error), event = record.event, "audit record not written");
                Ok(None)
            }
        }
    }

    /// The end of a change `begin_change` began: `record` when it was made, `change_failed`
    /// with the reason when not.
    pub fn end_change(
        &self,
        begun: Option<crate::audit::Begun<'_>>,
        record: &crate::audit::Event<'_>,
        made: Result<(), &str>,
    ) {
        self.end_change_with(begun, record, made, &[]);
    }

    fn end_change_with(
        &self,
        begun: Option<crate::audit::Begun<'_>>,
        record: &crate::audit::Event<'_>,
        made: Result<(), &str>,
        state: &[(&'static str, String)],
    ) {
        let written = match (begun, made) {
            (Some(begun), Ok(())) => begun.finish(self.now, record),
            (Some(begun), Err(reason)) => begun.fail(self.now, record, reason, state),
            // The sink was failing at the start: one record after, if it is back.
            (None, Ok(())) => self.mfa.audit.record(&self.keys, self.now, record),
            (None, Err(_)) => Ok(()),
        };
        if let Err(error) = written {
            tracing::error!(error = %crate::ops::error_chain(&error), event = record.event, "audit record not written");
        }
    }

    /// What the stores hold for `user` of this app's realm now, for a change that failed
    /// (bounded: a store that does not answer makes it "unknown").
    async fn state_of(&self, user: &str) -> Vec<(&'static str, String)> {
        let stores = super::reconcile::Stores {
            durable: &self.mfa.durable,
            ephemeral: Some(&self.mfa.ephemeral),
        };
        let asked = super::reconcile::state_of(stores, &self.settings.realm, user, self.now);
        match tokio::time::timeout(std::time::Duration::from_secs(1), asked).await {
            Ok(Ok(state)) => state,
            _ => vec![("state", "unknown: a store could not be read".to_string())],
        }
    }

    /// With `on_failure: refuse`, a failing sink stops a code before it is checked (and used
    /// up). A new login's record is the next write that can find the sink back.
    fn audit_gate(&self) -> Result<(), MfaError> {
        if self.mfa.audit.refuses_on_failure() && self.mfa.audit.failing() {
            return Err(MfaError::Audit(crate::audit::AuditError::Sinks(
                "a sink is failing".into(),
            )));
        }
        Ok(())
    }

    fn subject<'s>(&self, challenge: &'s Challenge) -> Subject<'s> {
        Subject {
            realm: &challenge.realm,
            user: &challenge.user,
            now: self.now,
        }
    }

    /// What the factors work with for this request.
    pub fn factor_env(&self) -> Env<'_> {
        Env {
            store: &self.mfa.durable,
            keys: &self.keys,
            tuning: Tuning {
                totp_skew: self.settings.totp_skew,
            },
        }
    }

    /// What `user` of `realm` has enrolled: the one place the flow, the settings and the API
    /// ask whether a user has a second factor.
    pub async fn enrolled(&self, realm: &str, user: &str) -> Result<Enrolled, MfaError> {
        let who = Subject {
            realm,
            user,
            now: self.now,
        };
        Ok(self.mfa.factors.enrolled(&self.factor_env(), &who).await?)
    }

    pub fn pending_cookie(&self) -> GatewayCookie {
        GatewayCookie {
            name: PENDING_COOKIE.into(),
            same_site: SameSite::Strict,
            tls: self.tls,
        }
    }

    pub fn session_cookie(&self) -> GatewayCookie {
        GatewayCookie {
            name: SESSION_COOKIE.into(),
            same_site: SameSite::Lax,
            tls: self.tls,
        }
    }
}

/// An attempt counted before its code was read (see [`Context::reserve_attempt`]).
#[derive(Debug, Default)]
pub struct Reserved {
    subject: Option<regulation::Subject>,
    locked_now: Option<regulation::Lock>,
}

/// Where wrong codes from browsers other than the user's own are counted until the user's
/// next sign-in (never a lock: the count is only told).
fn notice_key(realm: &str, user: &str) -> String {
    format!("wn:{}:{realm}:{user}", realm.len())
}

/// Counting without a limit, kept a year from the first (so that waiting does not make
/// guesses vanish before the user hears of them).
const NOTICE_COUNT: crate::store::FailureLimit = crate::store::FailureLimit {
    failures: u32::MAX,
    within_secs: 365 * 86_400,
    lock_secs: 1,
    max_lock_secs: 1,
    max_failures: 0,
};

/// Wrong codes entered for `user` from other browsers since their last sign-in (forgotten
/// now), less `own` (this login's own typos): audited and counted in the metrics, for the page
/// that tells the user.
async fn wrong_codes_since_last_sign_in(
    ctx: &Context<'_>,
    realm: &str,
    user: &str,
    own: u32,
) -> Result<u32, StoreError> {
    let count = ctx
        .mfa
        .ephemeral
        .take_failures(&notice_key(realm, user), ctx.now)
        .await?
        .saturating_sub(own);
    if count > 0 {
        ctx.mfa
            .metrics
            .wrong_codes_reported
            .get_or_create(&super::metrics::AppLabels {
                app: ctx.app.name.clone(),
            })
            .inc_by(u64::from(count));
        ctx.audit(
            "wrong_codes_reported",
            user,
            "accepted",
            None,
            &[("wrong_codes", count.to_string())],
        );
    }
    Ok(count)
}

/// The user name as the realm knows it: trimmed, and normalised as configured
/// (`identity.normalize`).
pub fn identity(settings: &AppMfa, typed: &str) -> String {
    settings.normalize.apply(typed)
}

fn withheld_context(challenge_id: &str) -> Vec<u8> {
    format!("withheld-v1\0{challenge_id}").into_bytes()
}

/// The app accepted `user`'s password and answered with `answer`: withhold it behind a
/// challenge, or release it at once when policy asks for nothing. `known_lock` is the user's
/// lock when it was already looked up with the login request.
pub async fn begin(
    ctx: &Context<'_>,
    user: String,
    answer: WithheldAnswer,
    known_lock: Option<Option<regulation::Lock>>,
) -> Result<Begun, MfaError> {
    let realm = &ctx.settings.realm;
    let lock = match known_lock {
        Some(lock) => lock,
        None => ctx.lock_end(realm, &user).await?,
    };
    if let Some(lock) = lock {
        ctx.audit(
            "login_intercepted",
            &user,
            "refused",
            None,
            &[
                ("reason", "locked".into()),
                ("locked_until", crate::ops::time::rfc3339(lock.until)),
                ("lock", lock.scope.as_str().into()),
            ],
        );
        return Ok(Begun::Locked(lock, user));
    }
    let who = Subject {
        realm,
        user: &user,
        now: ctx.now,
    };
    let enrolled = ctx.mfa.factors.at_login(&ctx.factor_env(), &who).await?;
    let mut reason = None;
    let stage = match (enrolled.any(), ctx.settings.policy_for(&user)) {
        (true, _) => ChallengeStage::Verify,
        // Also under `optional`: a look-alike of an enrolled user (`alice.` where alice is
        // enrolled) must not pass on the password, nor enroll on it alone: it may be the same
        // account to the app. It needs an administrator's invite code, so that a distinct
        // account of that spelling (j.doe beside jdoe) can still be set up.
        (false, _) if lookalike_enrolled(ctx, realm, &user).await? => {
            reason = Some("name looks like an enrolled user's");
            ChallengeStage::Invite
        }
        // Invited by an administrator: the user is to enroll now, with the code.
        (false, Policy::Optional)
            if ctx
                .mfa
                .durable
                .invite(realm, &user, ctx.now)
                .await?
                .is_some() =>
        {
            reason = Some("invited");
            ChallengeStage::Invite
        }
        (false, Policy::Optional) => {
            ctx.audit_required(
                "login_intercepted",
                &user,
                "released",
                None,
                &[("reason", "no factor, optional policy".into())],
            )?;
            let response = release(ctx, realm, &user, answer).await?;
            return Ok(Begun::Released(response));
        }
        (false, Policy::Required) => {
            ctx.mfa
                .durable
                .note_unenrolled(realm, &user, ctx.now)
                .await?;
            match &ctx.settings.enrollment {
                Enrollment::Invite => ChallengeStage::Invite,
                Enrollment::FirstLogin(first)
                    if first_login_open(ctx, first, realm, &user).await? =>
                {
                    ctx.audit_required(
                        "enrollment_started",
                        &user,
                        "accepted",
                        None,
                        &[("mode", "first_login".into())],
                    )?;
                    enrollment_stage(ctx, realm, &user)?
                }
                Enrollment::FirstLogin(first) => {
                    reason = Some("first-login enrollment closed");
                    let invited = first.otherwise == Closed::Invite
                        || ctx
                            .mfa
                            .durable
                            .invite(realm, &user, ctx.now)
                            .await?
                            .is_some();
                    if !invited {
                        ctx.audit_required(
                            "login_intercepted",
                            &user,
                            "refused",
                            None,
                            &[(
                                "reason",
                                "no factor, and first-login enrollment closed".into(),
                            )],
                        )?;
                        return Ok(Begun::Closed(user));
                    }
                    ChallengeStage::Invite
                }
            }
        }
    };
    let id = random_id();
    let ttl = i64::try_from(ctx.settings.challenge_timeout.as_secs()).unwrap_or(300);
    let expires_at = ctx.now.saturating_add(ttl);
    // Released later at a gateway URL, the answer's cookies without a Path would belong to
    // that URL's directory (/.mfa): they get the one the browser would have given them here.
    let mut answer = answer;
    crate::session::jar::pin_default_paths(&mut answer.headers, ctx.request_uri.path());
    let withheld = ctx.keys.seal(&answer.encode(), &withheld_context(&id))?;
    let mut challenge = Challenge {
        id: id.clone(),
        realm: realm.clone(),
        app: ctx.app.name.clone(),
        user: user.clone(),
        created_at: ctx.now,
        expires_at,
        failures: 0,
        revision: 0,
        stage,
        began: Vec::new(),
        withheld,
    };
    // Recorded before the challenge exists: with `on_failure: refuse` no login waits at a
    // step the trail does not show.
    let step = Step::of(&challenge).name();
    let mut detail = vec![("step", step.to_string())];
    detail.extend(reason.map(|r| ("reason", r.to_string())));
    ctx.audit_required("login_intercepted", &user, "challenge", None, &detail)?;
    // Begun once the trail shows the login: no code is sent for a login it does not show.
    if challenge.stage == ChallengeStage::Verify {
        challenge.began = begin_factors(ctx, realm, &user, &enrolled).await?;
    }
    ctx.mfa.ephemeral.put_challenge(&challenge).await?;
    let token = PendingToken {
        challenge_id: id,
        realm: realm.clone(),
        user,
        expires_at,
    }
    .sign(&ctx.keys);
    Ok(Begun::Pending {
        token,
        challenge: Box::new(challenge),
        expires_in: ttl,
    })
}

/// Starts the user's factors for the verify step (a code sent, a challenge to sign): what they
/// keep goes with the challenge.
async fn begin_factors(
    ctx: &Context<'_>,
    realm: &str,
    user: &str,
    enrolled: &Enrolled,
) -> Result<Vec<FactorState>, MfaError> {
    let who = Subject {
        realm,
        user,
        now: ctx.now,
    };
    Ok(ctx
        .mfa
        .factors
        .begin(&ctx.factor_env(), &who, enrolled)
        .await?)
}

/// Whether `user` may set up a first factor on the password alone now. A `for:` window opens
/// at the realm's first such enrollment (recorded once, so restarts do not reopen it).
pub(super) async fn first_login_open(
    ctx: &Context<'_>,
    first: &FirstLogin,
    realm: &str,
    user: &str,
) -> Result<bool, MfaError> {
    // Listed and before `until`, as if the window had just opened: only then is it opened.
    if !first.admits(user, ctx.now, Some(ctx.now)) {
        return Ok(false);
    }
    let opened = match first.window {
        Some(_) => Some(ctx.mfa.durable.open_enrollment(realm, ctx.now).await?),
        None => None,
    };
    Ok(first.admits(user, ctx.now, opened))
}

/// Whether an enrolled user of the realm has a name that looks like `user` (and is not it):
/// `ａｌｉｃｅ`, `Alice` or `alicé` where `alice` is enrolled, when the app may read them as one
/// account (a collation that ignores case or accents, a normalisation the config does not
/// name). Asked only before a first enrollment, and only when the name is the one typed.
pub(super) async fn lookalike_enrolled(
    ctx: &Context<'_>,
    realm: &str,
    user: &str,
) -> Result<bool, MfaError> {
    // A name the app itself told us is the app's own account, whatever it looks like.
    if !matches!(
        ctx.settings.identity,
        crate::config::IdentitySource::LoginField
    ) {
        return Ok(false);
    }
    let looks = crate::config::lookalike(user);
    Ok(ctx
        .mfa
        .durable
        .all_factors()
        .await?
        .iter()
        .any(|r| r.realm == realm && r.user != user && crate::config::lookalike(&r.user) == looks))
}

/// A new factor for `user` (its secret sealed), kept in the enroll stage.
fn enrollment_stage(
    ctx: &Context<'_>,
    realm: &str,
    user: &str,
) -> Result<ChallengeStage, MfaError> {
    let who = Subject {
        realm,
        user,
        now: ctx.now,
    };
    let pending = ctx.mfa.factors.begin_enrollment(&ctx.factor_env(), &who)?;
    Ok(ChallengeStage::Enroll { pending })
}

/// At the invite step: the code from `user invite` lets the login go on to enrollment (and is
/// used up); a wrong one counts like a wrong second-factor code.
pub async fn accept_invite(
    ctx: &Context<'_>,
    challenge: &Challenge,
    code: &str,
) -> Result<CodeOutcome<()>, PendingError> {
    if challenge.stage != ChallengeStage::Invite {
        return Err(PendingError::Refused(Refusal::WrongStep));
    }
    let (realm, user) = (&challenge.realm, &challenge.user);
    if let Some(until) = ctx.lock_end(realm, user).await? {
        ctx.refused_locked(user, until);
        return Ok(CodeOutcome::Locked(until));
    }
    // An invitation is used up when it is taken: not while its use cannot be recorded.
    ctx.audit_gate()?;
    let taken = match crate::factors::invite::hash(&ctx.keys, realm, user, code) {
        Some(hash) => {
            ctx.mfa
                .durable
                .take_invite(realm, user, &hash, ctx.now)
                .await?
        }
        None => false,
    };
    if !taken {
        ctx.audit(
            "invite_refused",
            user,
            "refused",
            None,
            &[("reason", "wrong or expired invitation code".into())],
        );
        return wrong(ctx, challenge, "invite", Verdict::Wrong).await;
    }
    ctx.mfa.metrics.outcome(&ctx.app.name, "invite", "accepted");
    let stage = enrollment_stage(ctx, realm, user)?;
    if !ctx
        .mfa
        .ephemeral
        .advance_challenge(&challenge.id, challenge.revision, stage, ctx.now)
        .await?
    {
        return Err(PendingError::Refused(Refusal::Expired));
    }
    ctx.code_passed(realm, user).await?;
    ctx.audit(
        "enrollment_started",
        user,
        "accepted",
        None,
        &[("mode", "invite".into())],
    );
    Ok(CodeOutcome::Accepted(()))
}

/// The live challenge a token names, if the token is genuine and belongs to this app.
pub async fn pending(ctx: &Context<'_>, token: Option<&str>) -> Result<Challenge, PendingError> {
    let token = token.ok_or(PendingError::Refused(Refusal::Invalid))?;
    let claims = match PendingToken::verify(token, &ctx.keys, ctx.now) {
        Ok(c) => c,
        Err(TokenError::Expired) => return Err(PendingError::Refused(Refusal::Expired)),
        Err(_) => return Err(PendingError::Refused(Refusal::Invalid)),
    };
    let challenge = ctx
        .mfa
        .ephemeral
        .challenge(&claims.challenge_id, ctx.now)
        .await?
        .ok_or(PendingError::Refused(Refusal::Expired))?;
    // The binding lives server-side: the token's user and realm must be the challenge's own,
    // and a login made for one app cannot be finished through another.
    if challenge.user != claims.user
        || challenge.realm != claims.realm
        || challenge.app != ctx.app.name
    {
        return Err(PendingError::Refused(Refusal::Invalid));
    }
    Ok(challenge)
}

#[derive(Debug, thiserror::Error)]
pub enum PendingError {
    #[error("refused: {0:?}")]
    Refused(Refusal),
    #[error(transparent)]
    Failed(#[from] MfaError),
}

impl From<crate::store::StoreError> for PendingError {
    fn from(e: crate::store::StoreError) -> Self {
        PendingError::Failed(MfaError::Store(e))
    }
}

/// Counts a wrong answer (to the step `method` names) on the challenge, the user and the
/// client.
pub async fn wrong<T>(
    ctx: &Context<'_>,
    challenge: &Challenge,
    method: &'static str,
    verdict: Verdict,
) -> Result<CodeOutcome<T>, PendingError> {
    wrong_after(ctx, challenge, method, verdict, None).await
}

/// As [`wrong`], for an attempt already counted against `reserved`.
async fn wrong_after<T>(
    ctx: &Context<'_>,
    challenge: &Challenge,
    method: &'static str,
    verdict: Verdict,
    reserved: Option<&Reserved>,
) -> Result<CodeOutcome<T>, PendingError> {
    let reason = verdict.reason();
    ctx.mfa.metrics.outcome(&ctx.app.name, method, "refused");
    let on_challenge = ctx
        .mfa
        .ephemeral
        .record_failure(&challenge.id, ctx.settings.max_attempts, ctx.now)
        .await?;
    let locked = ctx
        .code_failed_after(
            &challenge.realm,
            &challenge.user,
            reserved,
            reserved.is_some(),
        )
        .await?;
    if let (Some(lock), false) = (locked, on_challenge == FailureOutcome::Missing) {
        ctx.audit(
            "verify_failed",
            &challenge.user,
            "refused",
            None,
            &[
                ("reason", reason.into()),
                ("locked_until", crate::ops::time::rfc3339(lock.until)),
                ("lock", lock.scope.as_str().into()),
            ],
        );
        return Ok(CodeOutcome::Locked(lock));
    }
    match on_challenge {
        FailureOutcome::Remaining(left) => {
            ctx.audit(
                "verify_failed",
                &challenge.user,
                "refused",
                None,
                &[
                    ("reason", reason.into()),
                    ("attempts_left", left.to_string()),
                ],
            );
            Ok(CodeOutcome::Wrong {
                left,
                spent: verdict.wait_for_next(),
                counted: true,
            })
        }
        FailureOutcome::Dead => {
            ctx.audit(
                "verify_failed",
                &challenge.user,
                "refused",
                None,
                &[("reason", "too many wrong codes: login ended".into())],
            );
            Ok(CodeOutcome::Dead)
        }
        FailureOutcome::Missing => Err(PendingError::Refused(Refusal::Expired)),
    }
}

/// A code typed for a login at the verify step. On success the challenge is consumed (one
/// winner however many race) and the withheld answer released.
pub async fn verify(
    ctx: &Context<'_>,
    challenge: &Challenge,
    code: &str,
    method: Option<Method>,
) -> Result<CodeOutcome<Verified>, PendingError> {
    if challenge.stage != ChallengeStage::Verify {
        return Err(PendingError::Refused(Refusal::WrongStep));
    }
    if let Some(lock) = ctx.lock_end(&challenge.realm, &challenge.user).await? {
        ctx.refused_locked(&challenge.user, lock);
        return Ok(CodeOutcome::Locked(lock));
    }
    ctx.audit_gate()?;
    let reserved = match ctx
        .reserve_attempt(&challenge.realm, &challenge.user)
        .await?
    {
        Ok(reserved) => reserved,
        // Attempts made at the same time spent the budget first.
        Err(lock) => {
            ctx.refused_locked(&challenge.user, lock);
            return Ok(CodeOutcome::Locked(lock));
        }
    };
    let who = ctx.subject(challenge);
    let verdict = check_code(ctx, &who, &challenge.began, code, method).await?;
    // The code this user's own browser used a moment ago, sent again (a double submit, or
    // typed before the app showed the next one): answered, not counted.
    if verdict.wait_for_next()
        && ctx
            .familiar(&challenge.realm, &challenge.user)
            .await?
            .is_some()
    {
        ctx.audit(
            "verify_failed",
            &challenge.user,
            "refused",
            None,
            &[(
                "reason",
                "code already used, by this browser: not counted".into(),
            )],
        );
        ctx.reserved_not_a_guess(&reserved, false).await?;
        return Ok(CodeOutcome::Wrong {
            left: ctx.settings.max_attempts.saturating_sub(challenge.failures),
            spent: true,
            counted: false,
        });
    }
    let Some(accepted) = verdict.accepted() else {
        return wrong_after(
            ctx,
            challenge,
            method.map_or("unknown", Method::as_str),
            verdict,
            Some(&reserved),
        )
        .await;
    };
    ctx.mfa
        .metrics
        .outcome(&ctx.app.name, accepted.method.as_str(), "accepted");
    ctx.reserved_not_a_guess(&reserved, true).await?;
    let mut detail = vec![("method", accepted.method.as_str().to_string())];
    if let Some(left) = accepted.recovery_codes_left {
        detail.push(("recovery_codes_left", left.to_string()));
    }
    ctx.audit_required(
        "verify_succeeded",
        &challenge.user,
        "accepted",
        None,
        &detail,
    )?;
    crate::ops::crash::point("verify.code_used");
    let taken = ctx
        .mfa
        .ephemeral
        .take_challenge(&challenge.id, ctx.now)
        .await?
        .ok_or(PendingError::Refused(Refusal::Expired))?;
    let response = release_challenge(ctx, &taken).await?;
    let wrong_codes =
        wrong_codes_since_last_sign_in(ctx, &taken.realm, &taken.user, taken.failures).await?;
    // Told if it can be: the login is released already and must not be lost to this.
    let codes_unseen = match ctx
        .mfa
        .durable
        .recovery_codes_unseen(&taken.realm, &taken.user)
        .await
    {
        Ok(unseen) => unseen,
        Err(error) => {
            tracing::warn!(error = %crate::ops::error_chain(&error), "cannot tell whether the user's recovery codes were shown");
            false
        }
    };
    Ok(CodeOutcome::Accepted(Verified {
        response,
        wrong_codes,
        codes_unseen,
    }))
}

/// Whether a change is refused while its audit record cannot be written (`on_failure:
/// refuse`): those that grant or alter access are; those that only take it away (a sign-out, a
/// revoked session, a forgotten browser) go on, and are recorded once the sink is back.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Refusable {
    Yes,
    No,
}

/// A login released by its code, and what the user is to be told with it.
pub struct Verified {
    pub response: Response<Bytes>,
    /// Wrong codes entered for the user from other browsers since their last sign-in.
    pub wrong_codes: u32,
    /// The user's recovery codes were made and never shown to them.
    pub codes_unseen: bool,
}

/// Whether `code` has the shape of any code the user could mean (for the standard factors, a
/// TOTP code or a recovery code): one that has not is answered without costing an attempt —
/// a typo of length, not a guess.
pub fn plausible_code(ctx: &Context<'_>, code: &str) -> bool {
    ctx.mfa.factors.plausible(&ctx.factor_env(), code)
}

/// A code against the user's enrolled factors (consumed when accepted); `began` is what the
/// factors kept for this login. A secret sealed under a key this process has not seen yet
/// (`keys rotate` ran meanwhile) makes it read the key file once and try again.
pub async fn check_code(
    ctx: &Context<'_>,
    who: &Subject<'_>,
    began: &[FactorState],
    code: &str,
    method: Option<Method>,
) -> Result<Verdict, MfaError> {
    let factors = &ctx.mfa.factors;
    match factors
        .verify(&ctx.factor_env(), who, began, code, method)
        .await
    {
        Err(FactorError::Keys(KeyError::UnknownKey(_))) => {
            ctx.mfa.reload_keys()?;
            let keys = ctx.mfa.keys();
            let env = Env {
                keys: &keys,
                ..ctx.factor_env()
            };
            Ok(factors.verify(&env, who, began, code, method).await?)
        }
        other => Ok(other?),
    }
}

/// What the enrollment page shows: the secret as text, as a URI and as a QR code.
pub struct EnrollSetup {
    pub secret: zeroize::Zeroizing<String>,
    pub otpauth_uri: zeroize::Zeroizing<String>,
    pub qr_svg: zeroize::Zeroizing<String>,
}

/// The factor enrollment a challenge waits to confirm.
fn pending_state(challenge: &Challenge) -> Result<&FactorState, PendingError> {
    match &challenge.stage {
        ChallengeStage::Enroll { pending } => Ok(pending),
        _ => Err(PendingError::Refused(Refusal::WrongStep)),
    }
}

pub fn enroll_setup(ctx: &Context<'_>, challenge: &Challenge) -> Result<EnrollSetup, PendingError> {
    let pending = pending_state(challenge)?;
    let shown = ctx
        .mfa
        .factors
        .provisioning(
            &ctx.factor_env(),
            &ctx.subject(challenge),
            pending,
            &ctx.settings.issuer,
        )
        .map_err(MfaError::from)?
        .ok_or(MfaError::Factor(FactorError::State))?;
    Ok(EnrollSetup::new(shown)?)
}

impl EnrollSetup {
    pub fn new(shown: Provisioning) -> Result<EnrollSetup, MfaError> {
        let qr_svg = crate::ui::qr::svg(&shown.uri, "QR code for your authenticator app")
            .map_err(|_| MfaError::Qr)?;
        Ok(EnrollSetup {
            secret: shown.secret,
            otpauth_uri: shown.uri,
            qr_svg,
        })
    }

    /// The key in groups of four, as it is easiest to type.
    pub fn secret_grouped(&self) -> String {
        self.secret
            .as_bytes()
            .chunks(4)
            .map(|c| String::from_utf8_lossy(c).into_owned())
            .collect::<Vec<_>>()
            .join(" ")
    }
}

/// Confirms the authenticator shown at the enroll step with a current code: stores it, makes a
/// fresh set of recovery codes (returned to show) and moves the login to the step where the
/// user acknowledges them, with the codes sealed into that step: the page opened again shows
/// the same set.
pub async fn confirm_enrollment(
    ctx: &Context<'_>,
    challenge: &Challenge,
    code: &str,
) -> Result<CodeOutcome<Vec<RecoveryCode>>, PendingError> {
    let pending = pending_state(challenge)?;
    if let Some(until) = ctx.lock_end(&challenge.realm, &challenge.user).await? {
        ctx.refused_locked(&challenge.user, until);
        return Ok(CodeOutcome::Locked(until));
    }
    let confirmed = ctx
        .mfa
        .factors
        .confirm_enrollment(
            &ctx.factor_env(),
            &ctx.subject(challenge),
            pending,
            Answer::Code(code),
        )
        .await
        .map_err(MfaError::from)?;
    let Some(record) = confirmed else {
        return wrong(ctx, challenge, "enrollment", Verdict::Wrong).await;
    };
    ctx.mfa
        .metrics
        .outcome(&ctx.app.name, "enrollment", "accepted");
    // The codes are made here and sealed into the next step; the step moves before anything
    // is stored: of two racing confirmations only one goes on to store the factor and these
    // codes, so the codes the winner shows are the ones that work.
    let codes = crate::factors::recovery::generate_set();
    let mut plain = zeroize::Zeroizing::new(String::with_capacity(codes.len() * 16));
    for code in &codes {
        if !plain.is_empty() {
            plain.push('\n');
        }
        plain.push_str(&code.display());
    }
    let sealed = ctx
        .keys
        .seal(plain.as_bytes(), &recovery_codes_context(&challenge.id))
        .map_err(MfaError::from)?;
    if !ctx
        .mfa
        .ephemeral
        .advance_challenge(
            &challenge.id,
            challenge.revision,
            ChallengeStage::AcknowledgeRecoveryCodes { codes: sealed },
            ctx.now,
        )
        .await?
    {
        return Err(PendingError::Refused(Refusal::Expired));
    }
    // The confirmed record's counter is past the confirming code: it cannot log in again.
    let hashes: Vec<[u8; 32]> = codes
        .iter()
        .map(|c| crate::factors::recovery::hash(&ctx.keys, c.normalised()))
        .collect();
    let detail = [
        ("method", record.method.clone()),
        ("factor", record.id.clone()),
    ];
    ctx.change(
        "enrollment_completed",
        &challenge.user,
        None,
        &detail,
        Refusable::Yes,
        async {
            ctx.mfa
                .durable
                .enroll_factor(&record, &hashes, ctx.now)
                .await?;
            crate::ops::crash::point("enroll.factor_stored");
            // A new factor ends every other session of the user (ASVS 3.3.3).
            ctx.mfa
                .ephemeral
                .end_user_sessions(&challenge.realm, &challenge.user, None)
                .await?;
            Ok::<_, PendingError>(())
        },
    )
    .await?;
    Ok(CodeOutcome::Accepted(codes))
}

/// What the recovery codes sealed into a challenge's acknowledge step are bound to.
fn recovery_codes_context(challenge_id: &str) -> Vec<u8> {
    format!("recovery-codes-v1\0{challenge_id}").into_bytes()
}

/// At the acknowledge step, the codes page opened again (a reload, back and forward, a tab
/// restored): the codes made at the confirmation, as they were shown. Never a new set — the
/// first one is the one that works, whatever the user saved.
pub fn shown_recovery_codes(
    ctx: &Context<'_>,
    challenge: &Challenge,
) -> Result<Vec<String>, PendingError> {
    let ChallengeStage::AcknowledgeRecoveryCodes { codes } = &challenge.stage else {
        return Err(PendingError::Refused(Refusal::WrongStep));
    };
    let plain = ctx
        .keys
        .open(codes, &recovery_codes_context(&challenge.id))
        .map_err(MfaError::from)?;
    // Authenticated, so exactly the text sealed above: lossy conversion loses nothing.
    Ok(String::from_utf8_lossy(&plain)
        .split('\n')
        .map(str::to_string)
        .collect())
}

/// The user saved their codes: the login is released (the challenge, and the codes sealed in
/// it, are gone).
pub async fn acknowledge(
    ctx: &Context<'_>,
    challenge: &Challenge,
) -> Result<Response<Bytes>, PendingError> {
    if !matches!(
        challenge.stage,
        ChallengeStage::AcknowledgeRecoveryCodes { .. }
    ) {
        return Err(PendingError::Refused(Refusal::WrongStep));
    }
    // Fail closed if the factor did not make it to the store.
    if ctx
        .mfa
        .durable
        .factors(&challenge.realm, &challenge.user)
        .await?
        .is_empty()
    {
        return Err(PendingError::Refused(Refusal::Expired));
    }
    // The user has them: the page said to save them and they went on (or an API client gets
    // them in this answer). Noted before the challenge is taken, so a store that fails here
    // loses nothing: the step can be tried again.
    ctx.mfa
        .durable
        .recovery_codes_shown(&challenge.realm, &challenge.user)
        .await?;
    let taken = ctx
        .mfa
        .ephemeral
        .take_challenge(&challenge.id, ctx.now)
        .await?
        .ok_or(PendingError::Refused(Refusal::Expired))?;
    Ok(release_challenge(ctx, &taken).await?)
}

async fn release_challenge(
    ctx: &Context<'_>,
    challenge: &Challenge,
) -> Result<Response<Bytes>, MfaError> {
    let plain = ctx
        .keys
        .open(&challenge.withheld, &withheld_context(&challenge.id))?;
    let answer = WithheldAnswer::decode(&plain).map_err(|_| MfaError::Withheld)?;
    let mut response = release(ctx, &challenge.realm, &challenge.user, answer).await?;
    // The second factor was passed here: this browser is remembered for the user, so that
    // its codes are judged apart from now on.
    if let Some(cookie) = remember_device(ctx, &challenge.realm, &challenge.user).await? {
        response.headers_mut().append(header::SET_COOKIE, cookie);
    }
    Ok(response)
}

/// The device credential for this browser and `user`: its own, renewed (it lasts
/// `REMEMBER_SECS` from its last second factor), or a new device on record.
async fn remember_device(
    ctx: &Context<'_>,
    realm: &str,
    user: &str,
) -> Result<Option<http::HeaderValue>, MfaError> {
    let expires_at = ctx
        .now
        .saturating_add(crate::session::device::REMEMBER_SECS);
    let id = match ctx.familiar(realm, user).await? {
        // On record and moved on by the lookup; the cookie gets the new end too.
        Some(id) => id,
        None => {
            let device = crate::store::Device {
                realm: realm.to_string(),
                user: user.to_string(),
                id: random_id(),
                created_at: ctx.now,
                last_used_at: ctx.now,
                expires_at,
                user_agent: ctx.user_agent.clone(),
                client: ctx.client.to_canonical().to_string(),
            };
            // Named by a prefix, as sessions are: the id is not a secret (the cookie's
            // signature is), but the trail needs no more of it.
            let detail = [("device", device.id.chars().take(16).collect())];
            // The login is released by now: a sink that fails does not undo it.
            let put = async {
                ctx.mfa
                    .durable
                    .put_device(&device)
                    .await
                    .map_err(MfaError::from)
            };
            ctx.change("device_remembered", user, None, &detail, Refusable::No, put)
                .await?;
            device.id
        }
    };
    let token = crate::session::device::DeviceToken {
        id,
        realm: realm.to_string(),
        user: user.to_string(),
        expires_at,
    }
    .sign(&ctx.keys);
    Ok(
        crate::session::device::cookie(&ctx.keys, realm, user, ctx.tls)
            .set(&token, Some(crate::session::device::REMEMBER_SECS)),
    )
}

/// Starts a gateway session for `user`, binds the app credentials in `answer` to it, and gives
/// back the answer exactly as the app sent it plus the gateway's session cookie.
async fn release(
    ctx: &Context<'_>,
    realm: &str,
    user: &str,
    answer: WithheldAnswer,
) -> Result<Response<Bytes>, MfaError> {
    let id = random_id();
    let id_hash = ctx.mfa.session_hash(&id);
    let settings = ctx.settings;
    let seconds = |d: std::time::Duration| i64::try_from(d.as_secs()).unwrap_or(i64::MAX);
    let session = Session {
        id_hash,
        realm: realm.to_string(),
        app: ctx.app.name.clone(),
        user: user.to_string(),
        created_at: ctx.now,
        last_seen_at: ctx.now,
        mfa_at: ctx.now,
        idle_timeout_secs: seconds(settings.idle_timeout),
        absolute_expires_at: ctx.now.saturating_add(seconds(settings.absolute_timeout)),
        user_agent: ctx.user_agent.clone(),
        client: ctx.client.to_canonical().to_string(),
    };
    let record = ctx.event("session_created", user, "accepted", Some(&id_hash), &[]);
    let begun = ctx.begin_change(&record, Refusable::Yes)?;
    let stored = ctx.mfa.ephemeral.put_session(&session).await;
    crate::ops::crash::point("release.session_stored");
    let made = stored
        .as_ref()
        .map(|_| ())
        .map_err(|_| "a store did not take the change");
    ctx.end_change(begun, &record, made);
    stored?;
    let mut hashes = credentials_in(ctx, &answer.headers, &answer.body);
    hashes.extend_from_slice(&answer.bind);
    for hash in hashes {
        ctx.mfa
            .ephemeral
            .bind_credential(&hash, &id_hash, ctx.now)
            .await?;
    }
    let mut response = Response::new(answer.body);
    *response.status_mut() = answer.status;
    *response.headers_mut() = answer.headers;
    let headers = response.headers_mut();
    if let Some(cookie) = ctx.session_cookie().set(&id, None) {
        headers.append(header::SET_COOKIE, cookie);
    }
    headers.append(header::SET_COOKIE, ctx.pending_cookie().clear());
    Ok(response)
}

/// The app credentials an answer hands out: every session cookie it sets, as (name, value),
/// and the token in its body.
pub struct AppCredentials {
    pub cookies: Vec<(String, String)>,
    pub token: Option<String>,
}

pub fn app_credentials(settings: &AppMfa, headers: &HeaderMap, body: &[u8]) -> AppCredentials {
    let cookies = settings
        .session_cookies
        .iter()
        .flat_map(|name| sets_cookies_named(headers, name))
        .collect();
    let token = settings.token.as_ref().and_then(|rule| {
        serde_json::from_slice::<serde_json::Value>(body)
            .ok()?
            .pointer(&rule.json_pointer)?
            .as_str()
            .filter(|t| !t.is_empty())
            .map(str::to_string)
    });
    AppCredentials { cookies, token }
}

/// Keyed hashes of the app credentials an answer hands out, as they are bound to a session.
pub fn credentials_in(ctx: &Context<'_>, headers: &HeaderMap, body: &[u8]) -> Vec<[u8; 32]> {
    let app = &ctx.app.name;
    let found = app_credentials(ctx.settings, headers, body);
    let mut hashes: Vec<[u8; 32]> = found
        .cookies
        .iter()
        .map(|(name, value)| ctx.mfa.credential_hash(app, name, value))
        .collect();
    if let Some(token) = &found.token {
        hashes.push(ctx.mfa.credential_hash(app, "token", token));
    }
    hashes
}
