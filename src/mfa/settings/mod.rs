//! Self-service for a signed-in user: `{prefix}settings` (pages) and `{prefix}api/methods`,
//! `api/recovery-codes`, `api/totp/…` (JSON, field names as DRF Auth Kit spells them:
//! `method`, `code`, `is_active`, `is_primary`, `backup_codes`).
//!
//! Every change needs a verified gateway session of this app and a current code (TOTP or a
//! recovery code): a session alone — a borrowed, unlocked browser — is not the user. A new
//! authenticator replaces the old one only once a code from it is confirmed together with a
//! current code of the factor it replaces (only a user with no factor yet sets one up on the
//! session). Wrong codes count towards the user's lock; every change ends the user's other
//! sessions (ASVS 3.3.3) and every change or refusal is audited.

mod api;
mod browsers;
mod views;

pub use api::api;
pub use views::{csrf_ok, csrf_token, page};

use super::flow::{Context, EnrollSetup};
use super::outcome::Outcome;
use super::respond::{json_response, redirect, Form};
use super::MfaError;
use crate::config::Policy;
use crate::factors::recovery::RecoveryCode;
use crate::factors::service::{
    Method, MethodInfo, RecoveryCodeFactor, Subject, TotpFactor, Verdict,
};
use crate::keys::Sealed;
use crate::session::credentials::{authorization, cookie_values};
use crate::store::{DurableStore, EphemeralStore, FactorRecord, Session};
use crate::ui::pages::{
    self, ConfirmPage, EnrollPage, MessagePage, RecoveryCodesPage, SettingsPage,
};
use base64::engine::general_purpose::URL_SAFE_NO_PAD as B64;
use base64::Engine;
use bytes::Bytes;
use http::{header, HeaderMap, Response, StatusCode};
use serde_json::{json, Value};

/// How long a new authenticator may wait for its confirming code.
const SETUP_TTL: i64 = 600;

/// The verified session this request belongs to: the gateway's session cookie, or a token the
/// gateway released (API clients).
pub async fn current_session(
    ctx: &Context<'_>,
    headers: &HeaderMap,
) -> Result<Option<Session>, MfaError> {
    let store = &ctx.mfa.ephemeral;
    let name = ctx.session_cookie().full_name();
    for id in cookie_values(headers, &name) {
        if let Some(s) = store
            .touch_session(&ctx.mfa.session_hash(id), ctx.now)
            .await?
        {
            if s.app == ctx.app.name {
                return Ok(Some(s));
            }
        }
    }
    if let (Some(rule), Some((scheme, token))) = (&ctx.settings.token, authorization(headers)) {
        if scheme.eq_ignore_ascii_case(&rule.scheme) {
            let hash = ctx.mfa.credential_hash(&ctx.app.name, "token", token);
            if let Some(s) = store.session_for_credential(&hash, ctx.now).await? {
                if s.app == ctx.app.name {
                    return Ok(Some(s));
                }
            }
        }
    }
    Ok(None)
}

fn subject<'a>(ctx: &Context<'_>, session: &'a Session) -> Subject<'a> {
    Subject {
        realm: &session.realm,
        user: &session.user,
        now: ctx.now,
    }
}

/// A current code from the user's own factors (consumed like at sign-in). Wrong codes count
/// towards the user's lock like at sign-in: a stolen session must not become a place to guess.
/// No code at all is refused without counting (nothing was guessed).
async fn code_ok(
    ctx: &Context<'_>,
    session: &Session,
    code: &str,
) -> Result<Result<(), Refused>, MfaError> {
    let (realm, user) = (&session.realm, &session.user);
    let locked = |lock: crate::regulation::Lock| {
        Refused::Locked(crate::regulation::retry_after(lock.until, ctx.now))
    };
    if let Some(until) = ctx.lock_end(realm, user).await? {
        return Ok(Err(locked(until)));
    }
    if code.trim().is_empty() {
        return Ok(Err(Refused::CodeRequired));
    }
    // Counted before it is read, as at sign-in: codes sent at once from a borrowed session
    // are read no more often than one by one.
    let reserved = match ctx.reserve_attempt(realm, user).await? {
        Ok(reserved) => reserved,
        Err(lock) => return Ok(Err(locked(lock))),
    };
    let verdict = super::flow::check_code(ctx, &subject(ctx, session), &[], code, None).await?;
    if verdict.accepted().is_some() {
        ctx.reserved_not_a_guess(&reserved, true).await?;
        return Ok(Ok(()));
    }
    let failed = ctx
        .code_failed_after(realm, user, Some(&reserved), false)
        .await?;
    Ok(Err(match failed {
        Some(until) => locked(until),
        None if matches!(verdict, Verdict::Spent(_)) => Refused::SpentCode,
        None => Refused::WrongCode,
    }))
}

struct Overview {
    totp: Option<MethodInfo>,
    recovery: Option<MethodInfo>,
    /// Every method the user has, for the API's list.
    methods: Vec<MethodInfo>,
    /// The user's recovery codes were made and never shown (a crash between the two).
    codes_unseen: bool,
}

/// Whether the user has a factor a change must be proven with (an authenticator, or recovery
/// codes left).
async fn has_factor(ctx: &Context<'_>, session: &Session) -> Result<bool, MfaError> {
    Ok(ctx.enrolled(&session.realm, &session.user).await?.any())
}

async fn overview(ctx: &Context<'_>, session: &Session) -> Result<Overview, MfaError> {
    let enrolled = ctx.enrolled(&session.realm, &session.user).await?;
    Ok(Overview {
        totp: enrolled.get(Method::TOTP).cloned(),
        recovery: enrolled.get(Method::RECOVERY_CODE).cloned(),
        methods: enrolled.0,
        codes_unseen: ctx
            .mfa
            .durable
            .recovery_codes_unseen(&session.realm, &session.user)
            .await?,
    })
}

/// A new secret, carried to the confirmation in a token: sealed for this user and factor id,
/// and signed together with the session, so it can neither be read nor moved to another
/// session, and expires.
fn begin_setup(ctx: &Context<'_>, session: &Session) -> Result<(String, EnrollSetup), MfaError> {
    let (secret, record) = TotpFactor::generate(&ctx.keys, &subject(ctx, session))?;
    let expires = ctx.now.saturating_add(SETUP_TTL);
    let payload = format!(
        "{}\0{}\0{}\0{}\0{}",
        record.id,
        record.secret.key_id,
        B64.encode(&record.secret.nonce),
        B64.encode(&record.secret.ciphertext),
        expires
    );
    let signature = ctx
        .keys
        .sign(b"totp-setup-v1", &setup_signed(&session.id_hash, &payload));
    let token = format!("{}.{}", B64.encode(&payload), B64.encode(signature));
    let setup = EnrollSetup::new(TotpFactor::provision(
        &secret,
        &ctx.settings.issuer,
        &session.user,
    ))?;
    Ok((token, setup))
}

fn setup_signed(session: &[u8; 32], payload: &str) -> Vec<u8> {
    let mut data = session.to_vec();
    data.extend_from_slice(payload.as_bytes());
    data
}

/// The pending record a setup token carries, if it is genuine, this session's, and fresh.
fn open_setup(ctx: &Context<'_>, session: &Session, token: &str) -> Option<FactorRecord> {
    let (payload, signature) = token.split_once('.')?;
    let payload = String::from_utf8(B64.decode(payload).ok()?).ok()?;
    let signature = B64.decode(signature).ok()?;
    if !ctx.keys.verify_signature(
        b"totp-setup-v1",
        &setup_signed(&session.id_hash, &payload),
        &signature,
    ) {
        return None;
    }
    let parts: Vec<&str> = payload.split('\0').collect();
    let [id, key_id, nonce, ciphertext, expires] = parts.as_slice() else {
        return None;
    };
    if ctx.now >= expires.parse::<i64>().ok()? {
        return None;
    }
    let secret = Sealed {
        key_id: key_id.to_string(),
        nonce: B64.decode(nonce).ok()?,
        ciphertext: B64.decode(ciphertext).ok()?,
    };
    Some(TotpFactor::pending(&subject(ctx, session), id, secret))
}

fn setup_of(ctx: &Context<'_>, record: &FactorRecord) -> Result<EnrollSetup, MfaError> {
    let secret = TotpFactor::open(&ctx.keys, record)?;
    EnrollSetup::new(TotpFactor::provision(
        &secret,
        &ctx.settings.issuer,
        &record.user,
    ))
}

/// Whether a user without a factor may set one up on the session alone: only where the app's
/// `enrollment` would let them at first sign-in now, and not under a name that looks like an
/// enrolled user's (a factor set up here counts in every app of the realm, which all enroll
/// alike). Anyone else enrolls with an administrator's invitation, at sign-in.
async fn may_enroll(ctx: &Context<'_>, session: &Session) -> Result<bool, MfaError> {
    let crate::config::Enrollment::FirstLogin(first) = &ctx.settings.enrollment else {
        return Ok(false);
    };
    Ok(
        super::flow::first_login_open(ctx, first, &session.realm, &session.user).await?
            && !super::flow::lookalike_enrolled(ctx, &session.realm, &session.user).await?,
    )
}

/// Why a user may not start setting up an authenticator here, if they may not: a first
/// factor where enrollment needs an invitation (audited).
async fn first_factor_refused(
    ctx: &Context<'_>,
    session: &Session,
) -> Result<Option<Refused>, MfaError> {
    if has_factor(ctx, session).await? || may_enroll(ctx, session).await? {
        return Ok(None);
    }
    audit_refused(ctx, session, "authenticator_set", Refused::InvitationNeeded);
    Ok(Some(Refused::InvitationNeeded))
}

/// Confirms a new authenticator: a code from it (`code`), and, when the user already has a
/// factor, a current code of that factor (`current`: the old app's or a recovery code). The
/// recovery codes made now when the user had none (to show once) come back.
async fn confirm_setup(
    ctx: &Context<'_>,
    session: &Session,
    pending: FactorRecord,
    code: &str,
    current: &str,
) -> Result<Result<Option<Vec<RecoveryCode>>, Refused>, MfaError> {
    const EVENT: &str = "authenticator_set";
    if let Some(lock) = ctx.lock_end(&session.realm, &session.user).await? {
        let wait = crate::regulation::retry_after(lock.until, ctx.now);
        return refuse(ctx, session, EVENT, Refused::Locked(wait));
    }
    let has_factor = has_factor(ctx, session).await?;
    if !has_factor && !may_enroll(ctx, session).await? {
        return refuse(ctx, session, EVENT, Refused::InvitationNeeded);
    }
    let tuning = ctx.factor_env().tuning;
    let confirmed = TotpFactor::confirm(&ctx.keys, tuning, &pending, code, ctx.now)?;
    let Some(record) = confirmed else {
        return refuse(ctx, session, EVENT, Refused::WrongCode);
    };
    // The new app's code proves only that the new app was set up; the factor it replaces is
    // proven with a code of its own, checked (and counted, and used up) like any other.
    if has_factor {
        match code_ok(ctx, session, current).await? {
            Ok(()) => {}
            Err(Refused::WrongCode) => {
                return refuse(ctx, session, EVENT, Refused::WrongCurrentCode)
            }
            Err(Refused::CodeRequired) => {
                return refuse(ctx, session, EVENT, Refused::CurrentCodeRequired)
            }
            Err(other) => return refuse(ctx, session, EVENT, other),
        }
    }
    let durable = &ctx.mfa.durable;
    let who = subject(ctx, session);
    let detail = [
        ("method", record.method.clone()),
        ("factor", record.id.clone()),
    ];
    let codes = ctx
        .change(
            EVENT,
            &session.user,
            Some(&session.id_hash),
            &detail,
            ALTERS,
            async {
                durable.put_factor(&record).await?;
                let codes = if durable
                    .recovery_codes_left(&session.realm, &session.user)
                    .await?
                    == 0
                {
                    Some(
                        RecoveryCodeFactor
                            .regenerate(durable, &ctx.keys, &who)
                            .await?,
                    )
                } else {
                    None
                };
                end_other_sessions(ctx, session).await?;
                Ok::<_, MfaError>(codes)
            },
        )
        .await?;
    if codes.is_some() {
        codes_shown(ctx, session).await?;
    }
    Ok(Ok(codes))
}

/// A refused change, audited under the change's event.
fn refuse<T>(
    ctx: &Context<'_>,
    session: &Session,
    event: &'static str,
    refused: Refused,
) -> Result<Result<T, Refused>, MfaError> {
    audit_refused(ctx, session, event, refused);
    Ok(Err(refused))
}

fn audit_refused(ctx: &Context<'_>, session: &Session, event: &'static str, refused: Refused) {
    ctx.audit(
        event,
        &session.user,
        "refused",
        Some(&session.id_hash),
        &[("reason", refused.reason().into())],
    );
}

async fn end_other_sessions(ctx: &Context<'_>, session: &Session) -> Result<(), MfaError> {
    ctx.mfa
        .ephemeral
        .end_user_sessions(&session.realm, &session.user, Some(&session.id_hash))
        .await?;
    Ok(())
}

/// Why a change was refused, with the sentence the user reads.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Refused {
    /// The code is wrong (the current code; for a new authenticator, the new app's code).
    WrongCode,
    /// The current code is a real one that was already used.
    SpentCode,
    /// No current code was sent.
    CodeRequired,
    /// A new authenticator: the current code of the factor it replaces is wrong.
    WrongCurrentCode,
    /// A new authenticator: no current code of the factor it replaces was sent.
    CurrentCodeRequired,
    Required,
    SetupExpired,
    /// A first factor, where enrollment needs an administrator's invitation.
    InvitationNeeded,
    /// Locked (too many wrong codes); seconds to wait.
    Locked(u64),
}

impl Refused {
    /// The id of the sentence the page shows.
    fn message_id(self) -> &'static str {
        match self {
            Refused::WrongCode => "code-wrong",
            Refused::SpentCode => "code-spent",
            Refused::CodeRequired => "refused-code-required",
            Refused::WrongCurrentCode => "refused-wrong-current",
            Refused::CurrentCodeRequired => "refused-current-required",
            Refused::Locked(_) => "refused-locked",
            Refused::Required => "refused-required",
            Refused::SetupExpired => "refused-setup-expired",
            Refused::InvitationNeeded => "refused-invitation-needed",
        }
    }

    /// Its status, JSON code and message (the one table: `outcome`).
    fn outcome(self) -> Outcome {
        match self {
            Refused::WrongCode => Outcome::WrongCode,
            Refused::SpentCode => Outcome::SpentCode,
            Refused::CodeRequired => Outcome::CodeRequired,
            Refused::WrongCurrentCode => Outcome::WrongCurrentCode,
            Refused::CurrentCodeRequired => Outcome::CurrentCodeRequired,
            Refused::Locked(_) => Outcome::Locked,
            Refused::Required => Outcome::RequiredByPolicy,
            Refused::SetupExpired => Outcome::SetupExpired,
            Refused::InvitationNeeded => Outcome::InvitationNeeded,
        }
    }

    /// The audit record's `reason`.
    fn reason(self) -> &'static str {
        match self {
            Refused::WrongCode => "wrong code",
            Refused::SpentCode => "code already used",
            Refused::CodeRequired | Refused::CurrentCodeRequired => "no current code",
            Refused::WrongCurrentCode => "wrong current code",
            Refused::Required => "required by policy",
            Refused::SetupExpired => "setup expired or not this session's",
            Refused::InvitationNeeded => "first factor needs an invitation",
            Refused::Locked(_) => "locked",
        }
    }
}

async fn regenerate(
    ctx: &Context<'_>,
    session: &Session,
    code: &str,
) -> Result<Result<Vec<RecoveryCode>, Refused>, MfaError> {
    if let Err(refused) = code_ok(ctx, session, code).await? {
        return refuse(ctx, session, "recovery_codes_regenerated", refused);
    }
    let who = subject(ctx, session);
    let event = "recovery_codes_regenerated";
    let codes = ctx
        .change(
            event,
            &session.user,
            Some(&session.id_hash),
            &[],
            ALTERS,
            async {
                let codes = RecoveryCodeFactor
                    .regenerate(&ctx.mfa.durable, &ctx.keys, &who)
                    .await?;
                end_other_sessions(ctx, session).await?;
                Ok::<_, MfaError>(codes)
            },
        )
        .await?;
    codes_shown(ctx, session).await?;
    Ok(Ok(codes))
}

async fn remove(
    ctx: &Context<'_>,
    session: &Session,
    code: &str,
) -> Result<Result<(), Refused>, MfaError> {
    if ctx.settings.policy_for(&session.user) == Policy::Required {
        return refuse(ctx, session, "method_removed", Refused::Required);
    }
    if let Err(refused) = code_ok(ctx, session, code).await? {
        return refuse(ctx, session, "method_removed", refused);
    }
    let durable = &ctx.mfa.durable;
    let detail = [("method", "totp".into())];
    ctx.change(
        "method_removed",
        &session.user,
        Some(&session.id_hash),
        &detail,
        ALTERS,
        async {
            // Every factor of the user goes: with none, the user is not enrolled.
            for factor in durable.factors(&session.realm, &session.user).await? {
                durable
                    .remove_factor(&session.realm, &session.user, &factor.method)
                    .await?;
            }
            durable
                .replace_recovery_codes(&session.realm, &session.user, &[], ctx.now)
                .await?;
            end_other_sessions(ctx, session).await?;
            Ok::<_, MfaError>(())
        },
    )
    .await?;
    Ok(Ok(()))
}

/// A factor change is refused while it cannot be recorded (`on_failure: refuse`).
const ALTERS: super::flow::Refusable = super::flow::Refusable::Yes;

/// The user is being shown their new recovery codes (the page or JSON built from them is the
/// answer to this request): from now on they are the user's to have saved.
async fn codes_shown(ctx: &Context<'_>, session: &Session) -> Result<(), MfaError> {
    ctx.mfa
        .durable
        .recovery_codes_shown(&session.realm, &session.user)
        .await?;
    Ok(())
}
