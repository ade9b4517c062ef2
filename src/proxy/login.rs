//! The proxy's side of a login: a login route's body read for the user name, and the app's
//! answer checked and withheld (`intercept`, `mfa::flow`). Every other answer passes the
//! release gate (`gate`).

use super::body::{collect_limited, CollectError, Reply};
use super::error::ProxyError;
use super::headers::{self, Peer};
use super::state::UpstreamTarget;
use super::upstream::ForwardBody;
use super::upstream::UpstreamBody;
use super::whoami;
use crate::config::IdentitySource;
use crate::config::Limit;
use crate::intercept::body::{canonical_field_name, login_username};
use crate::intercept::rules::sets_cookies_named;
use crate::intercept::rules::LoginRule;
use crate::intercept::rules::UsernameField;
use crate::intercept::withheld::WithheldAnswer;
use crate::mfa::endpoints;
use crate::mfa::flow::{self, Context};
use crate::regulation::{self, Subject};
use crate::session::credentials::cookie_pairs;
use crate::store::EphemeralStore;
use bytes::Bytes;
use http::header::{self, HeaderMap};
use http::Response;
use http_body_util::{Either, Full};
use hyper::body::Incoming;

/// The app's login answer is read whole to check and withhold it; larger ones fail closed.
pub(super) const MAX_LOGIN_ANSWER: u64 = 8 * 1024 * 1024;

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
/// the app exactly as read. No pending login when the rule needs a user name and the body has
/// none: the request is an ordinary one.
pub async fn read_request<'a>(
    ctx: &Context<'_>,
    rule: &'a LoginRule,
    headers: &HeaderMap,
    query: Option<&str>,
    body: Incoming,
    limit: u64,
) -> Result<(ForwardBody, Option<PendingLogin<'a>>), ProxyError> {
    let read = collect_limited(body, limit).await.map_err(|e| match e {
        CollectError::TooLarge => ProxyError::BodyTooLarge,
        CollectError::TimedOut => ProxyError::BodyTimeout,
        CollectError::Read(_) => ProxyError::BodyUnreadable,
    })?;
    // Several Content-Type lines: the app may go by either.
    let mut types = headers.get_all(header::CONTENT_TYPE).iter();
    let content_type = match (types.next(), types.next()) {
        (Some(v), None) => Some(
            v.to_str()
                .map_err(|_| ProxyError::AmbiguousRequest("content type not text"))?,
        ),
        (None, _) => None,
        (Some(_), Some(_)) => return Err(ProxyError::AmbiguousRequest("repeated content type")),
    };
    // A compressed body: the gateway would read bytes that a decompressing app reads as a
    // user name.
    if headers
        .get_all(header::CONTENT_ENCODING)
        .iter()
        .any(|v| !v.as_bytes().eq_ignore_ascii_case(b"identity"))
    {
        return Err(ProxyError::AmbiguousRequest("encoded login body"));
    }
    // PHP's $_REQUEST (and others that merge request variables) also take the field from a
    // cookie of that name.
    if let UsernameField::Form(field) = &rule.username {
        let field = canonical_field_name(field);
        if cookie_pairs(headers).any(|(name, _)| canonical_field_name(name) == field) {
            return Err(ProxyError::AmbiguousRequest("user name in a cookie"));
        }
    }
    // Read exactly as the app's framework reads it, by the declared type only; a body two
    // parsers could read differently is refused before the app sees it.
    let typed_user = login_username(rule.body, &rule.username, content_type, query, &read)
        .map_err(|why| {
            tracing::info!(app = %ctx.app.name, request_id = %ctx.request_id, reason = why.label(), "ambiguous login body refused");
            ProxyError::AmbiguousRequest(why.label())
        })?;
    // Space at the ends that only some apps strip (Python strips U+00A0 and U+3000, PHP and
    // Ruby do not): which account it names depends on the app.
    if typed_user
        .as_deref()
        .is_some_and(|u| u.trim() != u.trim_matches(|c: char| c.is_ascii_whitespace()))
    {
        return Err(ProxyError::AmbiguousRequest(
            "space at the ends of the user name",
        ));
    }
    let typed_user = typed_user
        .map(|u| u.trim().to_string())
        .filter(|u| !u.is_empty());
    if typed_user.is_none() && rule.username_required {
        return Ok((Either::Right(Full::new(read)), None));
    }
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
    Ok((Either::Right(Full::new(read)), Some(pending)))
}

pub enum Answered {
    /// The app accepted the login: the gateway's own answer (the app's is withheld).
    Ready(Response<Reply>),
    /// Not a successful login (by the rule): the app's answer, to pass through the release
    /// gate like any other answer.
    NotALogin(Response<Reply>),
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
        return Ok(Answered::NotALogin(response.map(Reply::Upstream)));
    }
    let (parts, body) = response.into_parts();
    let body = read_answer(body).await?;
    // A token answer the gateway cannot read (the app rendered it as HTML for `Accept:
    // text/html`, say) might still carry the token: it is not passed on.
    if rule.success.json_pointer.is_some()
        && serde_json::from_slice::<serde::de::IgnoredAny>(&body).is_err()
    {
        return Err(ProxyError::LoginAnswerUnreadable);
    }
    if !rule.is_success(parts.status, &parts.headers, &body) {
        refused_login(ctx, pending.typed_user.as_deref()).await;
        return Ok(Answered::NotALogin(Response::from_parts(
            parts,
            Reply::Page(body),
        )));
    }
    let answer = WithheldAnswer {
        status: parts.status,
        headers: parts.headers,
        body,
        bind: Vec::new(),
    };
    let typed = pending
        .typed_user
        .as_deref()
        .map(|u| flow::identity(ctx.settings, u));
    let user = app_identity(
        ctx,
        pending.typed_user,
        pending.whoami_base,
        upstream,
        &answer,
    )
    .await
    .ok_or(ProxyError::LoginWithoutUser)?;
    if let Some(typed) = typed.filter(|t| *t != user) {
        // The app's word wins; the difference is recorded for a look (one account by name or
        // e-mail is the usual reason, a name the app reads differently the dangerous one).
        ctx.audit(
            "login_identity_differs",
            &user,
            "accepted",
            None,
            &[("typed_user", typed.chars().take(256).collect())],
        );
    }
    let known_lock = pending
        .code_lock
        .filter(|(for_user, _)| *for_user == user)
        .map(|(_, lock)| lock);
    withhold(ctx, user, answer, known_lock, json, prefix).await
}

/// The app's answer behind a challenge for `user` (or released at once where policy asks for
/// nothing).
pub(super) async fn withhold(
    ctx: &Context<'_>,
    user: String,
    answer: WithheldAnswer,
    known_lock: Option<Option<i64>>,
    json: bool,
    prefix: &str,
) -> Result<Answered, ProxyError> {
    let begun = flow::begin(ctx, user, answer, known_lock)
        .await
        .map_err(|e| match e {
            crate::mfa::MfaError::LookalikeUser => ProxyError::LookalikeUser,
            e => ProxyError::StateUnavailable(e),
        })?;
    Ok(Answered::Ready(
        endpoints::login_answer(ctx, begun, json, prefix).map(Reply::Page),
    ))
}

/// The app's answer read whole (bounded), to check it or withhold it.
pub(super) async fn read_answer(body: UpstreamBody) -> Result<Bytes, ProxyError> {
    collect_limited(body, MAX_LOGIN_ANSWER)
        .await
        .map_err(|e| match e {
            CollectError::TimedOut => ProxyError::UpstreamTimeout,
            _ => ProxyError::LoginAnswerUnreadable,
        })
}

/// Who the app signed in, as the realm knows the name: from where the config says the app
/// tells it, else the name typed. `None` when it cannot be told.
pub(super) async fn app_identity(
    ctx: &Context<'_>,
    typed: Option<String>,
    whoami_base: Option<HeaderMap>,
    upstream: &UpstreamTarget,
    answer: &WithheldAnswer,
) -> Option<String> {
    match &ctx.settings.identity {
        IdentitySource::LoginField => typed,
        IdentitySource::ResponseHeader(name) => answer
            .headers
            .get(name)
            .and_then(|v| v.to_str().ok())
            .map(str::to_string),
        IdentitySource::ResponseJson(pointer) => whoami::json_text(&answer.body, pointer),
        IdentitySource::ResponseCookie { name, until } => {
            cookie_identity(&answer.headers, name, until)
        }
        IdentitySource::Whoami {
            path, answer: says, ..
        } => match whoami_base {
            Some(base) => {
                let found = flow::app_credentials(ctx.settings, &answer.headers, &answer.body);
                let asked = whoami::with_credentials(ctx.settings, base, &found);
                whoami::ask(ctx, upstream, asked?, path, says).await.user()
            }
            None => None,
        },
    }
    .map(|u| flow::identity(ctx.settings, &u))
    .filter(|u| !u.is_empty())
}

/// The user name an app signed into its session cookie: the value (decoded as PHP does) up to
/// `until`. Only when every such cookie of the answer names the same user.
fn cookie_identity(headers: &HeaderMap, name: &str, until: &str) -> Option<String> {
    let mut names = sets_cookies_named(headers, name)
        .into_iter()
        .map(|(_, value)| {
            // As PHP writes and reads cookie values: percent escapes, and `+` for a space.
            let value = value.trim_matches('"').replace('+', " ");
            let decoded = percent_encoding::percent_decode_str(&value)
                .decode_utf8()
                .ok()?;
            let (user, _) = decoded.split_once(until)?;
            Some(user.to_string())
        });
    let first = names.next()??;
    names
        .all(|n| n.as_deref() == Some(first.as_str()))
        .then_some(first)
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
        rules.for_address(rules.login_client, ctx.client),
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
pub(super) async fn locks_before_login(
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
pub(super) async fn refused_login(ctx: &Context<'_>, typed_user: Option<&str>) {
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

#[cfg(test)]
mod tests {
    use super::*;

    fn answer(lines: &[&str]) -> HeaderMap {
        let mut headers = HeaderMap::new();
        for line in lines {
            headers.append(header::SET_COOKIE, line.parse().unwrap());
        }
        headers
    }

    #[test]
    fn the_user_name_signed_into_a_cookie() {
        let pattern = "wordpress_logged_in_*";
        let read = |lines: &[&str]| cookie_identity(&answer(lines), pattern, "|");
        let wp = "wordpress_logged_in_0a1b=alice%7C1796%7Ctok%7Cmac; path=/; HttpOnly";
        assert_eq!(read(&[wp]).as_deref(), Some("alice"));
        let spaced = "wordpress_logged_in_0a1b=Alice+Smith%7C1%7Ct%7Cm; path=/";
        assert_eq!(read(&[spaced]).as_deref(), Some("Alice Smith"));
        // No separator, no such cookie, a deletion, or two cookies naming two users: nobody.
        assert_eq!(read(&["wordpress_logged_in_0a1b=alice; path=/"]), None);
        assert_eq!(read(&["wordpress_0a1b=alice%7C1; path=/"]), None);
        assert_eq!(read(&["wordpress_logged_in_0a1b=; Max-Age=0"]), None);
        let other = "wordpress_logged_in_ffff=bob%7C1%7Ct%7Cm; path=/";
        assert_eq!(read(&[wp, other]), None);
        assert_eq!(read(&[wp, wp]).as_deref(), Some("alice"));
    }
}
