//! The release gate: every answer of an MFA app that is not a login the gateway withheld
//! passes here on its way to the client, so that no app session leaves except through the
//! second factor (see [`Inspected`]). The gate only filters: where the app must be asked who a
//! session is, the walk asks (`whoami`) and hands the gate what the app said.

use super::body::Reply;
use super::error::ProxyError;
use super::login::{read_answer, withhold, Answered};
use super::whoami::AppSays;
use crate::config::Resealed;
use crate::intercept::body::username_in_query;
use crate::intercept::withheld::WithheldAnswer;
use crate::mfa::flow::{self, Context};
use crate::mfa::guard::{self, Checked};
use crate::session::credentials::cookie_name_reads_as;
use crate::store::{EphemeralStore, Session};
use crate::wire::set_cookie::{final_set_cookies, remove_set_cookies_where, set_cookies};
use crate::wire::spelling::{canonical_path, same_route_or_below};
use http::header::{self, HeaderMap};
use http::Response;

/// Every answer of an MFA app passes here unless it was a login the gateway withheld. The app's
/// session is released only through the second factor, and the app's answer is the truth: an
/// answer that hands out an app credential (a session cookie in any spelling an app reads as
/// its own, with a value not bound to this request's verified session, or a token) is a login
/// answer wherever it comes from, whatever the method, path or body of the request. The app is
/// asked whom it signed in (a step of the walk, `whoami::who_signed_in`, with the cookie jar
/// the browser holds after the answer), and [`settle`] decides:
/// - the request's verified user: the credential follows the session (the app rotated its
///   cookie);
/// - someone else, or the request has no verified session: withheld whole, like a login,
///   behind that user's second factor (credentials the app takes on any request, a login
///   route the rules missed, a reset link that signs in, "log in as");
/// - nobody: an anonymous session, passed (it comes back to the app only where unbound
///   cookies may);
/// - the app cannot say: refused whole (403, audited). Passing the answer without the cookie
///   would still pass its body, which may be the signed-in user's page.
///
/// On token apps the gateway sees a token only in JSON, so a successful answer with a body of
/// another type to a request that changes something (where an app mints tokens: an endpoint
/// the rules missed, rendered as HTML because the client asked for it) is refused unless the
/// config says the app answers writes that way (`token.answers: any`).
///
/// First, [`follow`]: the app's logout ends the gateway session too, and resealed cookies
/// follow the session. Answers that set no cookie (and, on token apps, are not JSON) pass
/// without any work.
pub enum Inspected<'s> {
    /// Nothing in the answer to hold back.
    Pass(Response<Reply>),
    /// The answer hands out credentials not bound to this session: whom the app signed in
    /// decides.
    Unsettled(Unsettled<'s>),
}

/// An answer read whole that hands out unbound credentials.
pub struct Unsettled<'s> {
    pub answer: WithheldAnswer,
    session: Option<&'s Session>,
    /// The new credentials (name, keyed hash) bound to no session or another one.
    unbound: Vec<(String, [u8; 32])>,
    token: Option<String>,
    /// Only pre-login session cookies are new, on a read, where the app cannot be asked.
    pre_login_read: bool,
}

/// Phase: the app ended or resealed the session its cookie was. Returns the verified session
/// that still stands after the answer.
pub async fn follow<'s>(
    ctx: &Context<'_>,
    checked: Option<&'s Checked>,
    logout: bool,
    writes: bool,
    response: &mut Response<Reply>,
) -> Result<Option<&'s Session>, ProxyError> {
    let session = checked.and_then(|c| c.session.as_ref());
    // An app that leaves the browser without one of its session cookies has signed the user
    // out, on whatever path: WordPress's logout is wp-login.php?action=logout, its login page;
    // phpMyAdmin's logout seals pmaAuth-1 again and then removes it, in one answer.
    let removed = session.is_some()
        && response.headers().contains_key(header::SET_COOKIE)
        && final_set_cookies(response.headers())
            .iter()
            .any(|c| c.deleted && is_session_cookie(ctx, c.name));
    let logout = logout || removed;
    // New values of cookies the app seals again in every answer.
    if let (Some(session), Some(checked)) = (session, checked) {
        if !ctx.settings.resealed_cookies.is_empty() {
            resealed(ctx, session, checked, writes, response).await?;
        }
    }
    match session {
        Some(session) if logout => {
            ended_with_the_app(ctx, session, "app logout", response).await?;
            // Once ended, the answer is one to a request without a session (the app's fresh
            // anonymous session in a logout answer is not the end of another).
            Ok(None)
        }
        session => Ok(session),
    }
}

fn is_session_cookie(ctx: &Context<'_>, name: &str) -> bool {
    ctx.settings
        .session_cookies
        .iter()
        .any(|s| cookie_name_reads_as(name, s))
}

/// Phase: the answer is looked into for credentials it hands out (session cookies in any
/// spelling the app reads, a token in JSON) that are not bound to `session`.
pub async fn inspect<'s>(
    ctx: &Context<'_>,
    session: Option<&'s Session>,
    writes: bool,
    response: Response<Reply>,
) -> Result<Inspected<'s>, ProxyError> {
    if writes && unreadable_token_answer(ctx.settings, &response) {
        let user = session.map_or("-", |s| s.user.as_str());
        let reason = ("reason", "not JSON on a token app".to_string());
        ctx.audit_refusal("app_answer_refused", user, &[reason]);
        tracing::info!(app = %ctx.app.name, request_id = %ctx.request_id, "a token app answered a write with a body the gateway cannot read for a token: refused");
        return Err(ProxyError::AnswerUnchecked);
    }
    let may_carry_token = ctx.settings.token.is_some() && is_json(response.headers());
    if !may_carry_token && !response.headers().contains_key(header::SET_COOKIE) {
        return Ok(Inspected::Pass(response));
    }
    // A Set-Cookie line that is not text cannot be read for a session cookie, but a browser
    // may still store what it sets (bytes past ASCII in a value the app copied from input),
    // and the answer may be the page of the session it starts: refused whole (fail closed).
    if response
        .headers()
        .get_all(header::SET_COOKIE)
        .iter()
        .any(|line| line.to_str().is_err())
    {
        tracing::info!(app = %ctx.app.name, request_id = %ctx.request_id, "an answer with a Set-Cookie line that is not text was refused");
        return Err(ProxyError::AnswerUnchecked);
    }
    let mut minted: Vec<(String, String)> = set_cookies(response.headers())
        .filter(|c| !c.deleted && is_session_cookie(ctx, c.name))
        .map(|c| (c.name.to_string(), c.value.to_string()))
        .collect();
    if minted.is_empty() && !may_carry_token {
        return Ok(Inspected::Pass(response));
    }
    let (parts, body) = response.into_parts();
    let body = match body {
        Reply::Page(bytes) => bytes,
        Reply::Upstream(body) => read_answer(body).await?,
    };
    if may_carry_token && parts.status.is_success() && !readable_json(&parts.headers, &body) {
        tracing::info!(app = %ctx.app.name, request_id = %ctx.request_id, "a token app's JSON answer could not be read for a token: refused");
        return Err(ProxyError::AnswerUnchecked);
    }
    let token = flow::app_credentials(ctx.settings, &parts.headers, &body).token;
    if let Some(token) = &token {
        minted.push(("token".to_string(), token.clone()));
    }
    // What is already bound to this very session (a cookie the app sends again) passes.
    let mut unbound = Vec::new();
    for (name, value) in minted {
        let hash = ctx.mfa.credential_hash(&ctx.app.name, &name, &value);
        let bound = guard::bound_to(ctx, &hash)
            .await
            .map_err(ProxyError::StateUnavailable)?;
        let ours = match (bound, session) {
            (Some(bound), Some(session)) => bound.id_hash == session.id_hash,
            _ => false,
        };
        if !ours {
            unbound.push((name, hash));
        }
    }
    let answer = WithheldAnswer {
        status: parts.status,
        headers: parts.headers,
        body,
        bind: Vec::new(),
    };
    if unbound.is_empty() {
        return Ok(Inspected::Pass(answer.into_response().map(Reply::Page)));
    }
    // Only pre-login session cookies are new (`session_before_login`), and no token.
    let pre_login_only = token.is_none()
        && unbound
            .iter()
            .all(|(name, _)| ctx.settings.kept_before_login(name));
    // Where the app cannot be asked (its identity is in a login answer's header, JSON or
    // cookie, or the name typed), such a cookie on a read is taken as the anonymous session
    // the config says it is only where anonymous sessions start (`at_anonymous_entry`).
    // Elsewhere (a reset link that signs in on a GET) the answer is refused; on a verified
    // session it means the app dropped that session.
    let pre_login_read = pre_login_only && !writes && !ctx.settings.asks_whoami();
    // With `whoami.pre_login: skip` the config says a pre-login session signs nobody in on its
    // own (phpMyAdmin's session, whose sign-in is pmaAuth-1, which is asked about): alone in
    // an answer without a session, it passes without asking, as asking can end it (phpMyAdmin
    // replaces an anonymous session on every request). check-config allows skip only where
    // every login rule signs in with another cookie, and it is believed only where anonymous
    // sessions start.
    let companions_only = pre_login_only
        && session.is_none()
        && ctx.settings.skips_pre_login()
        && at_anonymous_entry(ctx);
    if companions_only {
        return Ok(Inspected::Pass(answer.into_response().map(Reply::Page)));
    }
    Ok(Inspected::Unsettled(Unsettled {
        answer,
        session,
        unbound,
        token,
        pre_login_read,
    }))
}

/// Phase: whom the app `says` it signed in (its word, never the gateway's reading of the
/// request) decides what becomes of an answer with unbound credentials.
pub async fn settle(
    ctx: &Context<'_>,
    unsettled: Unsettled<'_>,
    says: AppSays,
    json: bool,
    prefix: &str,
) -> Result<Response<Reply>, ProxyError> {
    let Unsettled {
        answer,
        session,
        unbound,
        token,
        pre_login_read,
    } = unsettled;
    match (says, session) {
        (AppSays::User(user), Some(session)) if user == session.user => {
            for (_, hash) in &unbound {
                ctx.mfa
                    .ephemeral
                    .bind_credential(hash, &session.id_hash, ctx.now)
                    .await
                    .map_err(unavailable)?;
            }
            Ok(answer.into_response().map(Reply::Page))
        }
        // A login wherever it came from (a route the rules missed, credentials on any
        // request, a reset link, "log in as"): withheld whole, behind that user's factor.
        (AppSays::User(user), _) => {
            tracing::info!(app = %ctx.app.name, request_id = %ctx.request_id, "the app started a session outside the login rules: withheld like a login");
            match withhold(ctx, user, answer, None, json, prefix).await? {
                Answered::Ready(r) | Answered::NotALogin(r) => Ok(r),
            }
        }
        // An anonymous session (the app says nobody is signed in with it): it reaches the
        // browser, and comes back to the app only where unbound cookies may (the login routes,
        // with session_before_login). On a verified session it means the app dropped that
        // session (a logout the rules do not see, an expiry): the gateway session ends too.
        (AppSays::Nobody, session) if token.is_none() => {
            let mut answer = answer.into_response().map(Reply::Page);
            if let Some(session) = session {
                let reason = "the app started a new session";
                ended_with_the_app(ctx, session, reason, &mut answer).await?;
            }
            Ok(answer)
        }
        (AppSays::Unknown, None) if pre_login_read && at_anonymous_entry(ctx) => {
            Ok(answer.into_response().map(Reply::Page))
        }
        (AppSays::Unknown, Some(session)) if pre_login_read => {
            let reason = "the app started a new session";
            if at_anonymous_entry(ctx) {
                let mut answer = answer.into_response().map(Reply::Page);
                ended_with_the_app(ctx, session, reason, &mut answer).await?;
                return Ok(answer);
            }
            end_session(ctx, session, "refused", reason).await?;
            Err(ProxyError::SessionChangedHands)
        }
        // Nobody can tell whom the session is for: the answer is refused whole. Passing it
        // without the cookie would still pass its body, which may be the signed-in page.
        _ => {
            let user = session.map_or("-", |s| s.user.as_str());
            ctx.mfa
                .metrics
                .count(&ctx.mfa.metrics.unbound_cookies, &ctx.app.name);
            ctx.audit_refusal("app_session_refused", user, &[]);
            tracing::info!(app = %ctx.app.name, request_id = %ctx.request_id, "an answer that starts an app session nobody can name was refused");
            Err(ProxyError::AppSessionWithheld)
        }
    }
}

fn unavailable(e: crate::store::StoreError) -> ProxyError {
    ProxyError::StateUnavailable(e.into())
}

/// Whether the request is where the app's anonymous sessions start, as far as the config can
/// say without asking the app: its login page (that page only when it is the root) or a
/// login route, and the query names no login's user (a sign-in by query string there).
fn at_anonymous_entry(ctx: &Context<'_>) -> bool {
    let route = canonical_path(ctx.request_uri.path());
    let page = canonical_path(&ctx.settings.login_page);
    let at_page = match page.trim_end_matches('/') {
        "" => route.trim_end_matches('/').is_empty(),
        _ => same_route_or_below(&route, &page),
    };
    let at_login = ctx
        .settings
        .login
        .iter()
        .any(|rule| same_route_or_below(&route, &rule.route));
    let names_a_user =
        ctx.settings.login.iter().any(|rule| {
            username_in_query(rule.body, &rule.username, ctx.request_uri.query()).is_err()
        });
    (at_page || at_login) && !names_a_user
}

/// How long a value the app replaced keeps opening its session (`resealed: follow`): requests
/// the browser sent before the new value arrived are still on their way.
const FOLLOW_GRACE: i64 = 30;

/// New values of `resealed_cookies` in an answer to a verified session. `keep`: removed, the
/// browser keeps its bound ones (the app still takes them). `follow`: where the request carried
/// this session's value of the same cookie, on a read, the new one is bound in its place (the
/// old one retires after a grace time) and passes; others go through the gate like any cookie.
async fn resealed(
    ctx: &Context<'_>,
    session: &Session,
    checked: &Checked,
    writes: bool,
    response: &mut Response<Reply>,
) -> Result<(), ProxyError> {
    match ctx.settings.resealed {
        Resealed::Keep => {
            remove_set_cookies_where(response.headers_mut(), |c| {
                !c.deleted && ctx.settings.resealed(c.name)
            });
        }
        // A write may have signed someone else in (a registration that logs the new account
        // in): its new values are proven by whoami like any other cookie.
        Resealed::Follow if writes => {}
        Resealed::Follow => {
            let store = &ctx.mfa.ephemeral;
            for cookie in final_set_cookies(response.headers()) {
                if cookie.deleted || !ctx.settings.resealed(cookie.name) {
                    continue;
                }
                let Some((_, old)) = checked.bound.iter().find(|(n, _)| n == cookie.name) else {
                    continue;
                };
                let new = ctx
                    .mfa
                    .credential_hash(&ctx.app.name, cookie.name, cookie.value);
                if new == *old {
                    continue;
                }
                store
                    .bind_credential(&new, &session.id_hash, ctx.now)
                    .await
                    .map_err(unavailable)?;
                // A value the browser never uses (of several answers in parallel, it keeps
                // one) goes once the session could have idled out; one it uses is replaced
                // by the next answer.
                let idle = ctx.now.saturating_add(session.idle_timeout_secs);
                store
                    .retire_credential(&new, &session.id_hash, idle, ctx.now)
                    .await
                    .map_err(unavailable)?;
                store
                    .retire_credential(old, &session.id_hash, ctx.now + FOLLOW_GRACE, ctx.now)
                    .await
                    .map_err(unavailable)?;
            }
        }
    }
    Ok(())
}

/// The app ended the session its cookie was (`reason`): the gateway session ends too, and the
/// answer clears the gateway's cookie.
async fn ended_with_the_app(
    ctx: &Context<'_>,
    session: &Session,
    reason: &str,
    answer: &mut Response<Reply>,
) -> Result<(), ProxyError> {
    end_session(ctx, session, "accepted", reason).await?;
    answer
        .headers_mut()
        .append(header::SET_COOKIE, ctx.session_cookie().clear());
    Ok(())
}

/// Ends a verified gateway session and audits why (`outcome`: accepted when the app signed
/// out, refused when the gateway refused the answer).
async fn end_session(
    ctx: &Context<'_>,
    session: &Session,
    outcome: &'static str,
    reason: &str,
) -> Result<(), ProxyError> {
    let detail = [("reason", reason.to_string())];
    let record = ctx.event(
        "session_ended",
        &session.user,
        outcome,
        Some(&session.id_hash),
        &detail,
    );
    let begun = ctx
        .begin_change(&record, crate::mfa::flow::Refusable::No)
        .map_err(ProxyError::StateUnavailable)?;
    let ended = ctx.mfa.ephemeral.end_session(&session.id_hash).await;
    let made = ended
        .as_ref()
        .map(|_| ())
        .map_err(|_| "a store did not take the change");
    ctx.end_change(begun, &record, made);
    ended.map_err(|e| ProxyError::StateUnavailable(e.into()))?;
    Ok(())
}

/// Phase (`whoami.after_each_answer`): the app said whose the verified `session` still is
/// after `answer` (see `whoami::ask_again`). An app may put another user into a session
/// without a new session id (a reset or magic link opened in a signed-in browser), and no
/// answer header says so. Another user, or nobody (the app ended its session, or a request of
/// this session switched it there and back): the gateway session ends and the answer is
/// refused. No trustworthy answer: refused (fail closed).
pub async fn still_the_same_user(
    ctx: &Context<'_>,
    session: &Session,
    says: AppSays,
    answer: Response<Reply>,
) -> Result<Response<Reply>, ProxyError> {
    let reason = match says {
        AppSays::User(name) if flow::identity(ctx.settings, &name) == session.user => {
            return Ok(answer);
        }
        AppSays::User(_) => "the app session changed hands",
        AppSays::Nobody => "the app session ended",
        AppSays::Unknown => return Err(ProxyError::AnswerUnchecked),
    };
    end_session(ctx, session, "refused", reason).await?;
    tracing::warn!(app = %ctx.app.name, request_id = %ctx.request_id, reason, "verified session ended: answer refused");
    Err(ProxyError::SessionChangedHands)
}

/// A successful answer of a token app (unless it answers writes with other types) with a body
/// that is not JSON: a token in it would pass unseen.
fn unreadable_token_answer(settings: &crate::config::AppMfa, response: &Response<Reply>) -> bool {
    let json_only = settings.token.as_ref().is_some_and(|t| !t.any_answers);
    let empty = response.status() == http::StatusCode::NO_CONTENT
        || response
            .headers()
            .get(header::CONTENT_LENGTH)
            .is_some_and(|v| v.as_bytes() == b"0");
    let types = response
        .headers()
        .get_all(header::CONTENT_TYPE)
        .iter()
        .count();
    json_only
        && response.status().is_success()
        && !empty
        && (types > 1 || !is_json(response.headers()))
}

/// A JSON answer the gateway can look into: not encoded, and empty or one JSON document.
fn readable_json(headers: &HeaderMap, body: &[u8]) -> bool {
    let encoded = headers
        .get_all(header::CONTENT_ENCODING)
        .iter()
        .any(|v| !v.as_bytes().eq_ignore_ascii_case(b"identity"));
    !encoded && (body.is_empty() || serde_json::from_slice::<serde::de::IgnoredAny>(body).is_ok())
}

/// A JSON answer (`application/json` or a `+json` type), where a token may be.
fn is_json(headers: &HeaderMap) -> bool {
    headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.split(';').next())
        .map(|t| t.trim().to_ascii_lowercase())
        .is_some_and(|t| t == "application/json" || t.ends_with("+json"))
}
