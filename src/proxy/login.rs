//! The proxy's side of the second factor for one request: a login route's body read for the
//! user name, the app's answer checked and withheld (`intercept`, `mfa::flow`), and a verified
//! session following the app's cookie rotation and logout.

use super::body::{collect_limited, CollectError, Reply};
use super::error::ProxyError;
use super::handler::origin_form;
use super::headers::{self, Peer};
use super::state::UpstreamTarget;
use super::upstream::ForwardBody;
use super::upstream::UpstreamBody;
use crate::config::IdentitySource;
use crate::config::Limit;
use crate::intercept::rules::LoginRule;
use crate::intercept::withheld::WithheldAnswer;
use crate::mfa::endpoints;
use crate::mfa::flow::{self, Context};
use crate::mfa::guard::Checked;
use crate::regulation::{self, Subject};
use crate::store::EphemeralStore;
use bytes::Bytes;
use http::header::{self, HeaderMap, HeaderValue};
use http::{Request, Response, Uri};
use http_body_util::{Either, Full};
use hyper::body::Incoming;

/// The app's login answer is read whole to check and withhold it; larger ones fail closed.
const MAX_LOGIN_ANSWER: u64 = 8 * 1024 * 1024;

/// A login request on its way to the app: what the answer phase needs from it.
pub struct PendingLogin<'a> {
    rule: &'a LoginRule,
    /// The user name as typed, if the body had one.
    typed_user: Option<String>,
    /// For a "whoami" identity: the request's forwarding headers, to ask the app the same way.
    whoami_base: Option<HeaderMap>,
    /// The lock on the user as typed (and this client), looked up with the throttle: the user
    /// it is for and its end.
    code_lock: Option<(String, Option<i64>)>,
}

/// Reads the login body (bounded: 413 beyond `limit`) for its user name; the body then goes to
/// the app exactly as read.
pub async fn read_request<'a>(
    ctx: &Context<'_>,
    rule: &'a LoginRule,
    headers: &HeaderMap,
    body: Incoming,
    limit: u64,
) -> Result<(ForwardBody, PendingLogin<'a>), ProxyError> {
    let read = collect_limited(body, limit).await.map_err(|e| match e {
        CollectError::TooLarge => ProxyError::BodyTooLarge,
        CollectError::Read(_) => ProxyError::BodyUnreadable,
    })?;
    let content_type = headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok());
    let typed_user = rule.username(content_type, &read);
    let (throttle, code_lock) = locks_before_login(ctx, typed_user.as_deref()).await?;
    if let Some(until) = throttle {
        tracing::info!(app = %ctx.app.name, request_id = %ctx.request_id, "login refused: throttled");
        return Err(ProxyError::LoginThrottled(regulation::retry_after(
            until, ctx.now,
        )));
    }
    let whoami_base =
        matches!(ctx.settings.identity, IdentitySource::Whoami { .. }).then(|| headers.clone());
    let pending = PendingLogin {
        rule,
        typed_user,
        whoami_base,
        code_lock,
    };
    Ok((Either::Right(Full::new(read)), pending))
}

pub enum Answered {
    /// What goes to the client: for a login the app accepted, the gateway's own answer (the
    /// app's is withheld); for one it refused once its body was read, that answer as it was.
    Ready(Response<Reply>),
    /// Not a successful login by its status and headers: the app's answer, streamed on.
    Untouched(Response<UpstreamBody>),
}

pub async fn answer(
    ctx: &Context<'_>,
    pending: PendingLogin<'_>,
    response: Response<UpstreamBody>,
    upstream: &UpstreamTarget,
    json: bool,
    prefix: &str,
) -> Result<Answered, ProxyError> {
    let rule = pending.rule;
    if !rule.might_succeed(response.status(), response.headers()) {
        refused_login(ctx, pending.typed_user.as_deref()).await;
        return Ok(Answered::Untouched(response));
    }
    let (parts, body) = response.into_parts();
    let body = collect_limited(body, MAX_LOGIN_ANSWER)
        .await
        .map_err(|_| ProxyError::LoginAnswerUnreadable)?;
    if !rule.is_success(parts.status, &parts.headers, &body) {
        refused_login(ctx, pending.typed_user.as_deref()).await;
        return Ok(Answered::Ready(Response::from_parts(
            parts,
            Reply::Page(body),
        )));
    }
    let answer = WithheldAnswer {
        status: parts.status,
        headers: parts.headers,
        body,
    };
    let user = match &ctx.settings.identity {
        IdentitySource::LoginField => pending.typed_user,
        IdentitySource::ResponseHeader(name) => answer
            .headers
            .get(name)
            .and_then(|v| v.to_str().ok())
            .map(str::to_string),
        IdentitySource::ResponseJson(pointer) => json_text(&answer.body, pointer),
        IdentitySource::Whoami { path, json_pointer } => match pending.whoami_base {
            Some(base) => whoami(ctx, upstream, base, path, json_pointer, &answer).await,
            None => None,
        },
    }
    .map(|u| flow::identity(ctx.settings, &u))
    .filter(|u| !u.is_empty())
    .ok_or(ProxyError::LoginWithoutUser)?;
    let known_lock = pending
        .code_lock
        .filter(|(for_user, _)| *for_user == user)
        .map(|(_, lock)| lock);
    let begun = flow::begin(ctx, user, answer, known_lock)
        .await
        .map_err(ProxyError::StateUnavailable)?;
    Ok(Answered::Ready(
        endpoints::login_answer(ctx, begun, json, prefix).map(Reply::Page),
    ))
}

/// What logins the app refuses count against: the client's address and the user name typed
/// (as the realm would know it), each with its limit.
fn login_subjects(ctx: &Context<'_>, typed_user: Option<&str>) -> Vec<(Subject, Option<Limit>)> {
    let rules = &ctx.settings.regulation;
    let app = ctx.app.name.clone();
    let mut subjects = vec![(
        Subject::LoginClient {
            app: app.clone(),
            ip: ctx.client,
        },
        rules.login_client,
    )];
    // A name is kept to 256 characters: whatever a client types must not become an
    // arbitrarily large key in the shared store.
    if let Some(user) =
        typed_user.map(|u| flow::identity(ctx.settings, u).chars().take(256).collect())
    {
        subjects.push((Subject::LoginUser { app, user }, rules.login_user));
    }
    subjects.retain(|(_, limit)| limit.is_some());
    subjects
}

/// Before the login goes to the app, in one store round trip: the end of a throttle on this
/// client or user name, and — when the user will be the name as typed — the lock on that user
/// for the second factor (so the answer phase need not ask again). A store that cannot answer
/// refuses the login (it could not be completed without the store anyway).
async fn locks_before_login(
    ctx: &Context<'_>,
    typed_user: Option<&str>,
) -> Result<(Option<i64>, Option<(String, Option<i64>)>), ProxyError> {
    let mut keys: Vec<String> = login_subjects(ctx, typed_user)
        .into_iter()
        .map(|(s, _)| s.key())
        .collect();
    let throttles = keys.len();
    let user = typed_user
        .filter(|_| matches!(ctx.settings.identity, IdentitySource::LoginField))
        .map(|u| flow::identity(ctx.settings, u))
        .filter(|u| !u.is_empty());
    if let Some(user) = &user {
        keys.extend(ctx.code_subject_keys(&ctx.settings.realm, user));
    }
    if keys.is_empty() {
        return Ok((None, None));
    }
    let inspection = ctx
        .mfa
        .ephemeral
        .inspect(&keys, None, ctx.now)
        .await
        .map_err(|e| ProxyError::StateUnavailable(e.into()))?;
    let code_lock = user.map(|u| (u, inspection.latest(throttles..keys.len())));
    Ok((inspection.latest(0..throttles), code_lock))
}

/// Counts a login the app refused; a throttle it starts is audited. The app's answer goes to
/// the client whatever happens here.
async fn refused_login(ctx: &Context<'_>, typed_user: Option<&str>) {
    let subjects = login_subjects(ctx, typed_user);
    if subjects.is_empty() {
        return;
    }
    match regulation::count_failure(&ctx.mfa.ephemeral, &subjects, ctx.now).await {
        Ok(failure) => {
            for (subject, until) in &failure.locked_now {
                ctx.mfa
                    .metrics
                    .locks
                    .get_or_create(&crate::mfa::metrics::LockLabels {
                        subject: subject.kind(),
                    })
                    .inc();
                ctx.audit(
                    subject.lock_event(),
                    typed_user.unwrap_or("-"),
                    "locked",
                    None,
                    &[
                        ("reason", "too many refused logins".into()),
                        ("subject", subject.to_string()),
                        ("locked_until", crate::ops::time::rfc3339(*until)),
                    ],
                );
            }
        }
        Err(error) => {
            tracing::error!(app = %ctx.app.name, error = %crate::ops::error_chain(&error), "refused login not counted");
        }
    }
}

/// After a request on a verified session: a session cookie the app set anew (rotation) is bound
/// to the same session; the app's logout ends the gateway session too.
pub async fn follow_session(
    ctx: &Context<'_>,
    checked: &Checked,
    is_logout: bool,
    response: &mut Response<UpstreamBody>,
) -> Result<(), ProxyError> {
    let Some(session) = &checked.session else {
        return Ok(());
    };
    let store = &ctx.mfa.ephemeral;
    let unavailable = |e: crate::store::StoreError| ProxyError::StateUnavailable(e.into());
    if is_logout {
        store
            .end_session(&session.id_hash)
            .await
            .map_err(unavailable)?;
        let reason = [("reason", "app logout".to_string())];
        ctx.audit(
            "session_ended",
            &session.user,
            "accepted",
            Some(&session.id_hash),
            &reason,
        );
        response
            .headers_mut()
            .append(header::SET_COOKIE, ctx.session_cookie().clear());
        return Ok(());
    }
    for hash in flow::credentials_in(ctx, response.headers(), b"") {
        store
            .bind_credential(&hash, &session.id_hash, ctx.now)
            .await
            .map_err(unavailable)?;
    }
    Ok(())
}

/// Whether the browser reached us over TLS: directly, or through a trusted proxy that says so
/// (its `X-Forwarded-Proto`, first hop). Decides `Secure` and the `__Host-` prefix.
pub fn client_used_tls(peer: &Peer<'_>, headers: &http::HeaderMap) -> bool {
    peer.tls
        || (peer.is_trusted()
            && headers
                .get(&headers::X_FORWARDED_PROTO)
                .and_then(|v| v.to_str().ok())
                .and_then(|v| v.split(',').next())
                .is_some_and(|proto| proto.trim().eq_ignore_ascii_case("https")))
}

/// A string (or number) at `pointer` in a JSON body.
fn json_text(body: &[u8], pointer: &str) -> Option<String> {
    let value = serde_json::from_slice::<serde_json::Value>(body).ok()?;
    match value.pointer(pointer)? {
        serde_json::Value::String(s) => Some(s.clone()),
        serde_json::Value::Number(n) => Some(n.to_string()),
        _ => None,
    }
}

/// Asks the app who the session it just started belongs to: `GET path` with the session's
/// cookies (or token), then the JSON pointer into the answer. Any failure is no identity, and
/// the login then fails closed.
async fn whoami(
    ctx: &Context<'_>,
    upstream: &UpstreamTarget,
    mut headers: http::HeaderMap,
    path: &str,
    pointer: &str,
    answer: &WithheldAnswer,
) -> Option<String> {
    const MAX_WHOAMI: u64 = 64 * 1024;
    for name in [
        header::COOKIE,
        header::AUTHORIZATION,
        header::CONTENT_TYPE,
        header::CONTENT_LENGTH,
    ] {
        headers.remove(name);
    }
    let found = flow::app_credentials(ctx.settings, &answer.headers, &answer.body);
    if !found.cookies.is_empty() {
        let line: Vec<String> = found
            .cookies
            .iter()
            .map(|(n, v)| format!("{n}={v}"))
            .collect();
        headers.insert(
            header::COOKIE,
            HeaderValue::from_str(&line.join("; ")).ok()?,
        );
    }
    if let (Some(rule), Some(token)) = (&ctx.settings.token, &found.token) {
        let value = HeaderValue::from_str(&format!("{} {token}", rule.scheme)).ok()?;
        headers.insert(header::AUTHORIZATION, value);
    }
    headers.insert(header::ACCEPT, HeaderValue::from_static("application/json"));
    let uri = origin_form(path.parse::<Uri>().ok()?).ok()?;
    let mut request = Request::new(Either::Right(Full::new(Bytes::new())));
    *request.uri_mut() = uri;
    *request.headers_mut() = headers;
    let sent = tokio::time::timeout(
        ctx.app.upstream.response_header_timeout,
        upstream.pool.send(request),
    )
    .await;
    let response = match sent {
        Ok(Ok(r)) if r.status().is_success() => r,
        Ok(Ok(r)) => {
            tracing::warn!(app = %ctx.app.name, status = r.status().as_u16(), "whoami request refused: login not released");
            return None;
        }
        _ => {
            tracing::warn!(app = %ctx.app.name, "whoami request failed: login not released");
            return None;
        }
    };
    let body = collect_limited(response.into_body(), MAX_WHOAMI)
        .await
        .ok()?;
    json_text(&body, pointer)
}
