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

mod browsers;

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

/// The settings pages (`rest` below `{prefix}settings`).
pub async fn page(
    ctx: &Context<'_>,
    prefix: &str,
    rest: &str,
    post: bool,
    headers: &HeaderMap,
    body: &[u8],
) -> Response<Bytes> {
    let pages = SettingsPages { ctx, prefix };
    let session = match current_session(ctx, headers).await {
        Ok(Some(s)) => s,
        Ok(None) => {
            return pages.message(
                StatusCode::UNAUTHORIZED,
                "sign-in-first-title",
                "sign-in-first",
            )
        }
        Err(e) => return pages.failed(&e),
    };
    let form = Form::parse(body);
    if post && !csrf_ok(ctx, &session, &form) {
        return pages.message(
            StatusCode::FORBIDDEN,
            "form-expired-title",
            "form-expired-settings",
        );
    }
    let code = form.one("code").ok().flatten().unwrap_or("");
    let result = match (rest, post) {
        ("", false) => pages.overview(&session, None, None).await,
        ("/done", true) => Ok(redirect(&format!("{prefix}settings"))),
        ("/recovery-codes", true) => match regenerate(ctx, &session, code).await {
            Ok(Ok(codes)) => Ok(pages.codes(&session, &codes, true)),
            Ok(Err(r)) => pages.overview(&session, None, Some(r)).await,
            Err(e) => Err(e),
        },
        ("/sessions/end", true) => {
            let id = form.one("session").ok().flatten().unwrap_or("");
            match browsers::end_one(ctx, &session, id).await {
                Ok(true) => {
                    pages
                        .overview(&session, Some("notice-session-ended"), None)
                        .await
                }
                Ok(false) => {
                    pages
                        .overview(&session, Some("notice-session-gone"), None)
                        .await
                }
                Err(e) => Err(e),
            }
        }
        ("/sign-out-everywhere", false) => pages.everywhere(&session).await,
        ("/sign-out-everywhere", true) => match browsers::end_all(ctx, &session).await {
            Ok(ended) => Ok(pages.signed_out_everywhere(ended)),
            Err(e) => Err(e),
        },
        ("/devices/forget", true) => {
            let id = form.one("device").ok().flatten().unwrap_or("");
            match browsers::forget(ctx, &session, id, code).await {
                Ok(Err(refused)) => pages.overview(&session, None, Some(refused)).await,
                Ok(Ok(browsers::Forgot::Nothing)) => {
                    pages
                        .overview(&session, Some("notice-device-gone"), None)
                        .await
                }
                Ok(Ok(forgot)) => {
                    let page = pages.overview(&session, Some("notice-device-forgotten"), None);
                    page.await.map(|mut page| {
                        if forgot == browsers::Forgot::This {
                            let cookie = crate::session::device::cookie(
                                &ctx.keys,
                                &session.realm,
                                &session.user,
                                ctx.tls,
                            );
                            page.headers_mut()
                                .append(header::SET_COOKIE, cookie.clear());
                        }
                        page
                    })
                }
                Err(e) => Err(e),
            }
        }
        ("/remove", true) => match remove(ctx, &session, code).await {
            Ok(Ok(())) => pages.overview(&session, Some("notice-off"), None).await,
            Ok(Err(r)) => pages.overview(&session, None, Some(r)).await,
            Err(e) => Err(e),
        },
        ("/authenticator", false) => match first_factor_refused(ctx, &session).await {
            Ok(Some(refused)) => pages.overview(&session, None, Some(refused)).await,
            Ok(None) => match (begin_setup(ctx, &session), has_factor(ctx, &session).await) {
                (Ok((token, setup)), Ok(ask_current)) => {
                    Ok(pages.enroll(&session, &token, &setup, ask_current, None))
                }
                (Err(e), _) | (_, Err(e)) => Err(e),
            },
            Err(e) => Err(e),
        },
        ("/authenticator", true) => {
            let token = form.one("setup").ok().flatten().unwrap_or("");
            let current = form.one("current_code").ok().flatten().unwrap_or("");
            match open_setup(ctx, &session, token) {
                None => {
                    let refused = Refused::SetupExpired;
                    audit_refused(ctx, &session, "authenticator_set", refused);
                    pages.overview(&session, None, Some(refused)).await
                }
                Some(record) => {
                    match confirm_setup(ctx, &session, record.clone(), code, current).await {
                        Ok(Ok(Some(codes))) => Ok(pages.codes(&session, &codes, false)),
                        Ok(Ok(None)) => {
                            let notice = "notice-new-app";
                            pages.overview(&session, Some(notice), None).await
                        }
                        Ok(Err(refused @ Refused::Locked(_))) => {
                            pages.overview(&session, None, Some(refused)).await
                        }
                        // Still this setup: the same new app, to try again.
                        Ok(Err(refused)) => {
                            match (setup_of(ctx, &record), has_factor(ctx, &session).await) {
                                (Ok(setup), Ok(ask_current)) => Ok(pages.enroll(
                                    &session,
                                    token,
                                    &setup,
                                    ask_current,
                                    Some(refused),
                                )),
                                (Err(e), _) | (_, Err(e)) => Err(e),
                            }
                        }
                        Err(e) => Err(e),
                    }
                }
            }
        }
        _ => Ok(super::respond::not_found(ctx, headers)),
    };
    result.unwrap_or_else(|e| pages.failed(&e))
}

struct SettingsPages<'a> {
    ctx: &'a Context<'a>,
    prefix: &'a str,
}

/// The CSRF token of the forms a signed-in user posts (settings, sign out): signed over the
/// session's id hash, so it is good for this session only and a page on another site cannot
/// know it.
pub fn csrf_token(ctx: &Context<'_>, session: &Session) -> String {
    B64.encode(ctx.keys.sign(b"csrf-v1", &session.id_hash))
}

/// Whether `form` carries the session's CSRF token (exactly once).
pub fn csrf_ok(ctx: &Context<'_>, session: &Session, form: &Form) -> bool {
    let Ok(Some(sent)) = form.one("csrf") else {
        return false;
    };
    B64.decode(sent).is_ok_and(|sent| {
        ctx.keys
            .verify_signature(b"csrf-v1", &session.id_hash, &sent)
    })
}

impl SettingsPages<'_> {
    fn csrf(&self, session: &Session) -> String {
        csrf_token(self.ctx, session)
    }

    /// A page with one message: `title` and `message` are message ids.
    fn message(&self, status: StatusCode, title: &str, message: &str) -> Response<Bytes> {
        let t = self.ctx.tr();
        self.said(status, &t.t(title), &t.t(message))
    }

    /// A page with one message, both already in the user's language.
    fn said(&self, status: StatusCode, title: &str, message: &str) -> Response<Bytes> {
        let frame = pages::Frame {
            t: self.ctx.tr(),
            app_name: &self.ctx.app.display_name,
            prefix: self.prefix,
            logo: self.ctx.app.logo.is_some(),
        };
        let page = MessagePage::new(&frame, title, message, &self.ctx.settings.login_page);
        pages::html(status, &page)
    }

    fn failed(&self, error: &MfaError) -> Response<Bytes> {
        tracing::error!(app = %self.ctx.app.name, error = %crate::ops::error_chain(error), "settings change failed");
        self.message(
            StatusCode::SERVICE_UNAVAILABLE,
            "unavailable-title",
            "unavailable",
        )
    }

    /// The settings page; `notice` is a message id.
    async fn overview(
        &self,
        session: &Session,
        notice: Option<&str>,
        refused: Option<Refused>,
    ) -> Result<Response<Bytes>, MfaError> {
        let o = overview(self.ctx, session).await?;
        let csrf = self.csrf(session);
        let t = self.ctx.tr();
        let notice = notice.map(|id| t.t(id));
        let error = refused.map(|r| t.t(r.message_id()));
        let status = refused.map_or(StatusCode::OK, |r| r.outcome().status());
        let sessions: Vec<pages::SessionRow> = browsers::sessions(self.ctx, session)
            .await?
            .into_iter()
            .map(|s| pages::SessionRow {
                app: self.app_name_of(&s.app),
                browser: pages::browser_label(&s.browser, s.device),
                address: s.address,
                started: pages::utc(s.created_at),
                last_seen: pages::utc(s.last_seen_at),
                current: s.current,
                id: s.id,
            })
            .collect();
        let devices: Vec<pages::DeviceRow> = browsers::devices(self.ctx, session)
            .await?
            .into_iter()
            .map(|d| pages::DeviceRow {
                browser: pages::browser_label(&d.browser, d.device),
                address: d.address,
                since: pages::utc(d.created_at),
                last_used: pages::utc(d.last_used_at),
                current: d.current,
                id: d.id,
            })
            .collect();
        let page = pages::html(
            status,
            &SettingsPage {
                t: self.ctx.tr(),
                app_name: &self.ctx.app.display_name,
                prefix: self.prefix,
                logo: self.ctx.app.logo.is_some(),
                user: &session.user,
                totp_since: o.totp.as_ref().and_then(|t| t.created_at).map(pages::utc),
                totp_last_used: o.totp.as_ref().and_then(|t| t.last_used_at).map(pages::utc),
                remaining: o.recovery.and_then(|r| r.remaining).unwrap_or(0),
                codes_unseen: o.codes_unseen,
                can_remove: self.ctx.settings.policy_for(&session.user) == Policy::Optional,
                csrf: &csrf,
                notice: notice.as_deref(),
                error: error.as_deref(),
                home_page: &self.ctx.settings.home_page,
                sessions,
                devices,
            },
        );
        Ok(match refused {
            Some(Refused::Locked(seconds)) => super::respond::retry_after(page, seconds),
            _ => page,
        })
    }

    /// "Sign out everywhere?": how many sessions it ends, asked before anything ends.
    async fn everywhere(&self, session: &Session) -> Result<Response<Bytes>, MfaError> {
        let count = browsers::sessions(self.ctx, session).await?.len() as u64;
        let t = self.ctx.tr();
        let (title, message) = (
            t.t("everywhere-title"),
            t.n("everywhere-confirm", "count", count),
        );
        let (csrf, button) = (self.csrf(session), t.t("settings-sign-out-everywhere"));
        let back = format!("{}settings", self.prefix);
        Ok(pages::html(
            StatusCode::OK,
            &ConfirmPage {
                t: self.ctx.tr(),
                app_name: &self.ctx.app.display_name,
                prefix: self.prefix,
                logo: self.ctx.app.logo.is_some(),
                title: &title,
                message: &message,
                action: "settings/sign-out-everywhere",
                csrf: &csrf,
                button: &button,
                back_link: &back,
            },
        ))
    }

    /// After "Sign out everywhere": how many sessions ended; this browser's cookie goes.
    fn signed_out_everywhere(&self, ended: u32) -> Response<Bytes> {
        let t = self.ctx.tr();
        let (title, message) = (
            t.t("everywhere-done-title"),
            t.n("everywhere-done", "count", ended),
        );
        let mut response = self.said(StatusCode::OK, &title, &message);
        response
            .headers_mut()
            .append(header::SET_COOKIE, self.ctx.session_cookie().clear());
        response
    }

    /// How the user knows the app a session is of (its display name, when this gateway has it).
    fn app_name_of(&self, app: &str) -> String {
        if app == self.ctx.app.name {
            return self.ctx.app.display_name.clone();
        }
        app.to_string()
    }

    /// The new app's QR code and the form confirming it; `ask_current` adds the field for a
    /// current code of the factor it replaces.
    fn enroll(
        &self,
        session: &Session,
        token: &str,
        setup: &EnrollSetup,
        ask_current: bool,
        refused: Option<Refused>,
    ) -> Response<Bytes> {
        let csrf = self.csrf(session);
        let back = format!("{}settings", self.prefix);
        let error = refused.map(|r| self.ctx.tr().t(r.message_id()));
        pages::html(
            refused.map_or(StatusCode::OK, |r| r.outcome().status()),
            &EnrollPage {
                t: self.ctx.tr(),
                app_name: &self.ctx.app.display_name,
                prefix: self.prefix,
                logo: self.ctx.app.logo.is_some(),
                user: &session.user,
                qr_svg: &setup.qr_svg,
                secret_grouped: &setup.secret_grouped(),
                otpauth_uri: &setup.otpauth_uri,
                csrf: &csrf,
                action: "settings/authenticator",
                setup: Some(token),
                ask_current,
                back_link: &back,
                valid_minutes: None,
                error: error.as_deref(),
            },
        )
    }

    /// New codes to save; `replaced`: they replace a set, which no longer works.
    fn codes(&self, session: &Session, codes: &[RecoveryCode], replaced: bool) -> Response<Bytes> {
        let shown: Vec<String> = codes.iter().map(|c| c.display().to_string()).collect();
        let (text, file_name) = pages::recovery_file(
            self.ctx.tr(),
            &self.ctx.app.display_name,
            &session.user,
            &shown,
            self.ctx.now,
        );
        let csrf = self.csrf(session);
        let notice = replaced.then(|| self.ctx.tr().t("codes-replaced"));
        pages::html(
            StatusCode::OK,
            &RecoveryCodesPage {
                t: self.ctx.tr(),
                app_name: &self.ctx.app.display_name,
                prefix: self.prefix,
                logo: self.ctx.app.logo.is_some(),
                codes: &shown,
                download_text: &pages::data_url_text(&text),
                file_name: &file_name,
                action: "settings/done",
                csrf: &csrf,
                notice: notice.as_deref(),
            },
        )
    }
}

/// The JSON API for signed-in users (`rest` below `{prefix}api/`).
pub async fn api(
    ctx: &Context<'_>,
    rest: &str,
    post: bool,
    headers: &HeaderMap,
    body: &[u8],
) -> Response<Bytes> {
    let session = match current_session(ctx, headers).await {
        Ok(Some(s)) => s,
        Ok(None) => return Outcome::SignInFirst.json(),
        Err(e) => return api_failed(&e),
    };
    // A JSON body only: a cross-site form cannot send one without a CORS preflight, which the
    // gateway never grants.
    let is_json = headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|ct| ct.starts_with("application/json"));
    if post && !is_json {
        return Outcome::JsonRequired.json();
    }
    let request: Value = if post {
        match serde_json::from_slice(body) {
            Ok(v) => v,
            Err(_) => return Outcome::NotJson.json(),
        }
    } else {
        Value::Null
    };
    let code = request.get("code").and_then(Value::as_str).unwrap_or("");
    let outcome = match (rest, post) {
        ("methods", false) => overview(ctx, &session).await.map(|o| methods_json(&o)),
        ("sessions", false) => browsers::sessions(ctx, &session)
            .await
            .map(|list| json_response(StatusCode::OK, &json!(list))),
        ("sessions/end", true) => {
            let id = request.get("session").and_then(Value::as_str).unwrap_or("");
            browsers::end_one(ctx, &session, id).await.map(|ended| {
                if ended {
                    json_response(StatusCode::OK, &json!({ "ended": 1 }))
                } else {
                    Outcome::NoSuchSession.json()
                }
            })
        }
        ("sessions/end-all", true) => browsers::end_all(ctx, &session)
            .await
            .map(|ended| json_response(StatusCode::OK, &json!({ "ended": ended }))),
        ("devices", false) => browsers::devices(ctx, &session)
            .await
            .map(|list| json_response(StatusCode::OK, &json!(list))),
        ("devices/forget", true) => {
            let id = request.get("device").and_then(Value::as_str).unwrap_or("");
            browsers::forget(ctx, &session, id, code)
                .await
                .map(|forgot| match forgot {
                    Err(refused) => api_refused(refused, ctx.now),
                    Ok(browsers::Forgot::Nothing) => Outcome::NoSuchDevice.json(),
                    Ok(_) => json_response(StatusCode::OK, &json!({ "forgotten": 1 })),
                })
        }
        ("recovery-codes", true) => regenerate(ctx, &session, code).await.map(|r| match r {
            Ok(codes) => json_response(StatusCode::OK, &json!({ "backup_codes": shown(&codes) })),
            Err(refused) => api_refused(refused, ctx.now),
        }),
        ("totp/setup", true) => match first_factor_refused(ctx, &session).await {
            Ok(Some(refused)) => Ok(api_refused(refused, ctx.now)),
            Err(e) => Err(e),
            Ok(None) => match (begin_setup(ctx, &session), has_factor(ctx, &session).await) {
                (Ok((token, setup)), Ok(ask_current)) => Ok(json_response(
                    StatusCode::OK,
                    &json!({
                        "method": "totp",
                        "setup_token": token,
                        "otpauth_uri": setup.otpauth_uri.as_str(),
                        "secret": setup.secret.as_str(),
                        "qr_svg": setup.qr_svg.as_str(),
                        "expires_in": SETUP_TTL,
                        "current_code_required": ask_current,
                    }),
                )),
                (Err(e), _) | (_, Err(e)) => Err(e),
            },
        },
        ("totp/confirm", true) => api_confirm(ctx, &session, &request, code).await,
        ("totp/remove", true) => remove(ctx, &session, code).await.map(|r| match r {
            Ok(()) => json_response(
                StatusCode::OK,
                &json!({ "method": "totp", "is_active": false }),
            ),
            Err(refused) => api_refused(refused, ctx.now),
        }),
        _ => Ok(Outcome::NoSuchEndpoint.json()),
    };
    outcome.unwrap_or_else(|e| api_failed(&e))
}

/// `GET …/api/methods`: what the user has, one entry per method.
fn methods_json(o: &Overview) -> Response<Bytes> {
    let list: Vec<Value> = o
        .methods
        .iter()
        .map(|m| {
            let mut entry = json!({
                "method": m.method.as_str(),
                "is_active": m.is_active,
                "is_primary": m.is_primary,
                "created_at": m.created_at,
                "last_used_at": m.last_used_at,
                "remaining": m.remaining,
            });
            // Codes made and never shown: the client should offer new ones.
            if m.method == Method::RECOVERY_CODE && o.codes_unseen {
                if let Some(fields) = entry.as_object_mut() {
                    fields.insert("never_shown".into(), json!(true));
                }
            }
            entry
        })
        .collect();
    json_response(StatusCode::OK, &Value::Array(list))
}

/// `POST …/api/totp/confirm`: the new authenticator's first code (and, replacing one, a
/// current code) stores it.
async fn api_confirm(
    ctx: &Context<'_>,
    session: &Session,
    request: &Value,
    code: &str,
) -> Result<Response<Bytes>, MfaError> {
    let token = request
        .get("setup_token")
        .and_then(Value::as_str)
        .unwrap_or("");
    let current = request
        .get("current_code")
        .and_then(Value::as_str)
        .unwrap_or("");
    match open_setup(ctx, session, token) {
        None => {
            audit_refused(ctx, session, "authenticator_set", Refused::SetupExpired);
            Ok(api_refused(Refused::SetupExpired, ctx.now))
        }
        Some(record) => confirm_setup(ctx, session, record, code, current)
            .await
            .map(|c| match c {
                Ok(codes) => {
                    let mut body =
                        json!({ "method": "totp", "is_active": true, "is_primary": true });
                    if let (Some(codes), Some(object)) = (codes, body.as_object_mut()) {
                        object.insert("backup_codes".into(), json!(shown(&codes)));
                    }
                    json_response(StatusCode::OK, &body)
                }
                Err(refused) => api_refused(refused, ctx.now),
            }),
    }
}

fn shown(codes: &[RecoveryCode]) -> Vec<String> {
    codes.iter().map(|c| c.display().to_string()).collect()
}

fn api_refused(refused: Refused, now: i64) -> Response<Bytes> {
    match refused {
        Refused::Locked(seconds) => super::respond::api_locked(seconds, now),
        _ => refused.outcome().json(),
    }
}

fn api_failed(error: &MfaError) -> Response<Bytes> {
    tracing::error!(error = %crate::ops::error_chain(error), "settings change failed");
    Outcome::Unavailable.json()
}
