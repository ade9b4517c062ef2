//! The proxy's side of a login: a login route's body read for the user name, and the app's
//! answer checked and withheld (`intercept`, `mfa::flow`). Every other answer passes the
//! release gate (`gate`).

use super::body::Reply;
use super::error::{ProxyError, Throttle};
use super::headers::{self, Peer};
use super::upstream::ForwardBody;
use super::upstream::UpstreamBody;
use super::whoami::{self, AppSays};
use crate::config::IdentitySource;
use crate::config::Limit;
use crate::config::LoginRule;
use crate::config::UsernameField;
use crate::intercept::body::{canonical_field_name, login_username, username_in_query};
use crate::intercept::withheld::WithheldAnswer;
use crate::mfa::endpoints;
use crate::mfa::flow::{self, Context};
use crate::regulation::{self, Subject};
use crate::session::credentials::cookie_pairs;
use crate::store::EphemeralStore;
use crate::wire::collect::{collect_limited, CollectError};
use crate::wire::set_cookie::final_set_cookies;
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
    /// For a "whoami" identity: the request as it went to the app, to ask the app the same way.
    whoami_base: Option<whoami::Base>,
    /// The lock on the user as typed (and this client), looked up with the throttle: the user
    /// it is for and its end.
    code_lock: Option<(String, Option<regulation::Lock>)>,
    /// The session cookies the request carried from before the login (`session_before_login`).
    pre_login: Vec<PreLogin>,
    /// Whether a refused answer counts towards the login throttles, and under which name
    /// (the name typed, or for a body not read the verified session's own budget).
    counted: Option<Option<String>>,
}

/// A pre-login session cookie a login carried.
struct PreLogin {
    name: String,
    /// Its keyed hash: bound with the released login unless the answer replaces it.
    hash: [u8; 32],
    /// The key it is burned under once the app signed someone in with it (`guard::burn_key`).
    burn: [u8; 32],
}

impl PendingLogin<'_> {
    /// Notes the values of the pre-login session cookies `names` in the forwarded `headers`.
    /// Two values of one name are refused: the app signs in the one it reads, and the other
    /// would be bound with the login too.
    pub fn keep_pre_login(
        &mut self,
        ctx: &Context<'_>,
        names: &[String],
        headers: &HeaderMap,
    ) -> Result<(), ProxyError> {
        for (name, value) in cookie_pairs(headers) {
            if names.iter().any(|n| n == name) {
                if self.pre_login.iter().any(|p| p.name == name) {
                    return Err(ProxyError::AmbiguousRequest(
                        "two values of a pre-login session cookie",
                    ));
                }
                self.pre_login.push(PreLogin {
                    name: name.to_string(),
                    hash: ctx.mfa.credential_hash(&ctx.app.name, name, value),
                    burn: crate::mfa::guard::burn_key(ctx, name, value),
                });
            }
        }
        Ok(())
    }
}

/// Reads the login body for its user name; the body then goes to the app exactly as read. A
/// body that cannot be a login (of a type no framework reads as a form or JSON, or declared
/// larger than `limit`) is not read: it streams to the app, and the app's answer decides as it
/// does for every request (a session it starts is withheld behind the second factor of the
/// user the app names). A body of a login's type is read by the rule's parser, strictly: what
/// two parsers could read differently is refused (400); without a declared length it is read
/// up to `limit` (413 beyond). Either way the user-name field in the query string or in a
/// cookie is refused (400). No pending login when the rule needs a user name and the body has
/// none (or was not read): the request is an ordinary one. `verified`: the request's verified
/// session. Without one, a body of a login's type larger than `limit` is refused (413) as
/// before: only signed-in users upload or edit that much. With one, a body of a login's type
/// that is not read counts against a budget of that session (under `login_user`'s limit: a
/// verified user cannot try another's password unthrottled, and the budget running out pauses
/// only that session's large bodies, never anyone's sign-in), a body read without a user name
/// (an edit on a single entry point) not at all.
#[allow(clippy::too_many_arguments)]
pub async fn read_request<'a>(
    ctx: &Context<'_>,
    rule: &'a LoginRule,
    headers: &HeaderMap,
    path: &str,
    query: Option<&str>,
    body: Incoming,
    limit: u64,
    verified: Option<&crate::store::Session>,
) -> Result<(ForwardBody, Option<PendingLogin<'a>>), ProxyError> {
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
    let ambiguous = |why: crate::intercept::body::Ambiguous| {
        tracing::info!(app = %ctx.app.name, request_id = %ctx.request_id, reason = why.label(), "ambiguous login request refused");
        ProxyError::AmbiguousRequest(why.label())
    };
    // Whatever the body: the user name in the query string (PHP's $_REQUEST, Rails' params),
    // or in a cookie of that name (PHP's $_REQUEST also takes cookies).
    username_in_query(rule.body, &rule.username, query).map_err(ambiguous)?;
    if let UsernameField::Form(field) = &rule.username {
        let field = canonical_field_name(field);
        if cookie_pairs(headers).any(|(name, _)| canonical_field_name(name) == field) {
            return Err(ProxyError::AmbiguousRequest("user name in a cookie"));
        }
    }
    let whoami_base = whoami::Base::of(ctx.settings, headers, path);
    let declared = headers
        .get(header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse::<u64>().ok());
    let login_typed = content_type.is_some_and(may_be_a_login);
    let readable = login_typed && declared.is_none_or(|length| length <= limit);
    if !readable {
        if login_typed && verified.is_none() {
            return Err(ProxyError::BodyTooLarge);
        }
        if rule.username_required {
            return Ok((Either::Left(body), None));
        }
        // No name was read: refused logins count against the client (no verified session),
        // or the session's own budget (a login-typed body), or not at all (an upload of a
        // verified user).
        let counted = match verified {
            None => Some(None),
            Some(session) if login_typed => Some(Some(session_budget(session))),
            Some(_) => None,
        };
        if let Some(name) = &counted {
            let (throttle, _) = locks_before_login(ctx, name.as_deref()).await?;
            if let Some(throttle) = throttle {
                return Err(ProxyError::LoginThrottled(throttle));
            }
        }
        let pending = PendingLogin {
            rule,
            typed_user: None,
            whoami_base,
            code_lock: None,
            pre_login: Vec::new(),
            counted,
        };
        return Ok((Either::Left(body), Some(pending)));
    }
    let read = collect_limited(body, limit).await.map_err(|e| match e {
        CollectError::TooLarge => ProxyError::BodyTooLarge,
        CollectError::TimedOut => ProxyError::BodyTimeout,
        CollectError::Read(_) => ProxyError::BodyUnreadable,
    })?;
    // A compressed body: the gateway would read bytes that a decompressing app reads as a
    // user name.
    if headers
        .get_all(header::CONTENT_ENCODING)
        .iter()
        .any(|v| !v.as_bytes().eq_ignore_ascii_case(b"identity"))
    {
        return Err(ProxyError::AmbiguousRequest("encoded login body"));
    }
    // Read exactly as the app's framework reads it, by the declared type only; a body two
    // parsers could read differently is refused before the app sees it.
    let typed_user =
        login_username(rule.body, &rule.username, content_type, query, &read).map_err(ambiguous)?;
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
    if let Some(throttle) = throttle {
        tracing::info!(app = %ctx.app.name, request_id = %ctx.request_id, "login refused: throttled");
        return Err(ProxyError::LoginThrottled(throttle));
    }
    let pending = PendingLogin {
        rule,
        // A verified session's write without a user name (an edit where the app also takes
        // logins) is no refused login.
        counted: match (&typed_user, verified) {
            (None, Some(_)) => None,
            (typed, _) => Some(typed.clone()),
        },
        typed_user,
        whoami_base,
        code_lock,
        pre_login: Vec::new(),
    };
    Ok((Either::Right(Full::new(read)), Some(pending)))
}

/// Whether a body of this declared type may be a login to some framework: read leniently (the
/// type before any `;` or `,`, in any case), as PHP and others pick their parser. Such bodies
/// are read and checked strictly; any other type (a file, text, octet-stream) is no login.
fn may_be_a_login(content_type: &str) -> bool {
    // PHP ends the type at `;`, `,` or a space (`application/x-www-form-urlencoded x` is a form
    // to it).
    let essence = content_type
        .trim_start()
        .split([';', ',', ' ', '\t'])
        .next()
        .unwrap_or("")
        .trim()
        .to_ascii_lowercase();
    matches!(
        essence.as_str(),
        "application/x-www-form-urlencoded" | "multipart/form-data" | "application/json"
    ) || essence.ends_with("+json")
}

pub enum Answered {
    /// The app accepted the login: the gateway's own answer (the app's is withheld).
    Ready(Response<Reply>),
    /// Not a successful login (by the rule): the app's answer, to pass through the release
    /// gate like any other answer.
    NotALogin(Response<Reply>),
}

/// A login answer read whole that may have signed someone in: whom, the app says (the walk's
/// next step, `whoami::who_signed_in`), and [`settle`] decides.
pub struct Unsettled<'a> {
    pending: PendingLogin<'a>,
    pub answer: WithheldAnswer,
    /// Whether the rule's own test of success passed; if not, only the app's word makes it a
    /// login.
    by_the_rule: bool,
}

impl Unsettled<'_> {
    /// What the app is asked with: the name typed (where the config takes it) and the
    /// request as it went to the app.
    /// The name typed only for a success by the rule: where the rule saw none, only the app's
    /// own word (whoami) can make it a login, never the name the client typed.
    pub fn asked_with(&self) -> (Option<String>, Option<whoami::Base>) {
        let typed = self
            .by_the_rule
            .then(|| self.pending.typed_user.clone())
            .flatten();
        (typed, self.pending.whoami_base.clone())
    }
}

/// What a login's answer is before the app is asked anything.
pub enum Checked<'a> {
    NotALogin(Response<Reply>),
    Unsettled(Unsettled<'a>),
}

/// Phase: a login's answer is checked against its rule and read (bounded) when it may be a
/// success.
pub async fn check<'a>(
    ctx: &Context<'_>,
    pending: PendingLogin<'a>,
    response: Response<UpstreamBody>,
) -> Result<Checked<'a>, ProxyError> {
    let rule = pending.rule;
    if !asks_anyway(ctx, &pending) && !rule.might_succeed(response.status(), response.headers()) {
        if let Some(name) = &pending.counted {
            refused_login(ctx, name.as_deref()).await;
        }
        return Ok(Checked::NotALogin(response.map(Reply::Upstream)));
    }
    let (parts, body) = response.into_parts();
    let body = match read_answer(body).await {
        Ok(body) => body,
        Err(e) => {
            burn_pre_login(ctx, &pending).await?;
            return Err(e);
        }
    };
    // A token answer the gateway cannot read (the app rendered it as HTML for `Accept:
    // text/html`, say) might still carry the token: it is not passed on.
    if rule.success.json_pointer.is_some()
        && serde_json::from_slice::<serde::de::IgnoredAny>(&body).is_err()
    {
        burn_pre_login(ctx, &pending).await?;
        return Err(ProxyError::LoginAnswerUnreadable);
    }
    let answer = WithheldAnswer {
        status: parts.status,
        headers: parts.headers,
        body,
        bind: Vec::new(),
    };
    let by_the_rule = rule.is_success(answer.status, &answer.headers, &answer.body);
    if !by_the_rule && !asks_anyway(ctx, &pending) {
        if let Some(name) = &pending.counted {
            refused_login(ctx, name.as_deref()).await;
        }
        return Ok(Checked::NotALogin(answer.into_response().map(Reply::Page)));
    }
    // A success by the rule signed someone in on the pre-login session(s) the request carried:
    // burned before the app is asked whom (see `settle`).
    if by_the_rule {
        burn_pre_login(ctx, &pending).await?;
    }
    Ok(Checked::Unsettled(Unsettled {
        pending,
        answer,
        by_the_rule,
    }))
}

/// A login that carried the app's pre-login session may sign that session in where it is (no
/// new cookie, another status than the rule's): the app is asked whatever the rule says, where
/// it can be. (Not with `pre_login: skip`: the config says such a session signs nobody in on
/// its own, and asking would end it.)
fn asks_anyway(ctx: &Context<'_>, pending: &PendingLogin<'_>) -> bool {
    !pending.pre_login.is_empty() && ctx.settings.asks_whoami() && !ctx.settings.skips_pre_login()
}

/// Phase: what the app `says` it signed in decides: a login is withheld behind that user's
/// second factor.
pub async fn settle(
    ctx: &Context<'_>,
    unsettled: Unsettled<'_>,
    says: AppSays,
    json: bool,
    prefix: &str,
) -> Result<Answered, ProxyError> {
    let Unsettled {
        pending,
        mut answer,
        by_the_rule,
    } = unsettled;
    if !by_the_rule {
        match says {
            AppSays::Nobody => {
                if let Some(name) = &pending.counted {
                    refused_login(ctx, name.as_deref()).await;
                }
                return Ok(Answered::NotALogin(answer.into_response().map(Reply::Page)));
            }
            AppSays::Unknown => {
                burn_pre_login(ctx, &pending).await?;
                return Err(ProxyError::AnswerUnchecked);
            }
            // The rule did not see it, the app says it signed someone in: a login.
            AppSays::User(_) => {}
        }
    }
    // The app signed someone in on the pre-login session(s) the request carried: whatever the
    // second factor does, those values never again pass unbound (an app that keeps the session
    // id at sign-in, or keeps the old one alive beside a new one, would take them as signed
    // in on its login routes, where pre-login cookies may go).
    if !by_the_rule {
        burn_pre_login(ctx, &pending).await?;
    }
    let renewed: Vec<String> = final_set_cookies(&answer.headers)
        .iter()
        .map(|c| c.name.to_string())
        .collect();
    answer.bind = pending
        .pre_login
        .iter()
        .filter(|p| !renewed.contains(&p.name))
        .map(|p| p.hash)
        .collect();
    let user = says.user().ok_or(ProxyError::LoginWithoutUser)?;
    let typed = pending
        .typed_user
        .as_deref()
        .map(|u| flow::identity(ctx.settings, u));
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

/// The name a verified session's unread login-typed bodies count under: one budget per
/// session (`session` and 16 hex digits of its id).
fn session_budget(session: &crate::store::Session) -> String {
    let id = crate::ops::hex::hex(&session.id_hash);
    format!("session {}", id.get(..16).unwrap_or(&id))
}

/// Burns the pre-login session values a login carried (see `PendingLogin::pre_login`), until
/// the longest a released session may live.
async fn burn_pre_login(ctx: &Context<'_>, pending: &PendingLogin<'_>) -> Result<(), ProxyError> {
    let until = ctx
        .now
        .saturating_add(i64::try_from(ctx.settings.absolute_timeout.as_secs()).unwrap_or(i64::MAX));
    for pre in &pending.pre_login {
        ctx.mfa
            .ephemeral
            .burn_credential(&pre.burn, until)
            .await
            .map_err(|e| ProxyError::StateUnavailable(e.into()))?;
    }
    Ok(())
}

/// The app's answer behind a challenge for `user` (or released at once where policy asks for
/// nothing).
pub(super) async fn withhold(
    ctx: &Context<'_>,
    user: String,
    answer: WithheldAnswer,
    known_lock: Option<Option<regulation::Lock>>,
    json: bool,
    prefix: &str,
) -> Result<Answered, ProxyError> {
    let begun = flow::begin(ctx, user, answer, known_lock)
        .await
        .map_err(ProxyError::StateUnavailable)?;
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

/// What logins the app refuses count against: the client's address and the user name typed
/// (as the realm would know it), each with its limit. A browser that passed that user's second
/// factor before counts against neither (someone else's wrong passwords must not keep the
/// owner's own browser waiting).
async fn login_subjects(
    ctx: &Context<'_>,
    typed_user: Option<&str>,
) -> Result<Vec<(Subject, Option<Limit>)>, crate::store::StoreError> {
    let rules = &ctx.settings.regulation;
    let app = ctx.app.name.clone();
    let mut subjects = vec![(
        Subject::LoginClient {
            app: app.clone(),
            ip: regulation::client_of(ctx.client),
        },
        rules.for_address(rules.login_client, ctx.client),
    )];
    // Keyed by what the name looks like (case, accents and punctuation folded): `alice.` or
    // `a-l-i-c-e`, which the app may sign in as alice, share alice's budget. A name is kept to
    // 256 characters: whatever a client types must not become an arbitrarily large key in the
    // shared store.
    if let Some(typed) = typed_user.map(|u| flow::identity(ctx.settings, u)) {
        // The user's own browser is judged apart: neither the name's count nor the address's
        // (a neighbour's wrong passwords on a shared address) keeps it waiting.
        if ctx.familiar(&ctx.settings.realm, &typed).await?.is_some() {
            return Ok(Vec::new());
        }
        let user = crate::config::lookalike(&typed).chars().take(256).collect();
        subjects.push((Subject::LoginUser { app, user }, rules.login_user));
    }
    subjects.retain(|(_, limit)| limit.is_some());
    Ok(subjects)
}

/// Before the login goes to the app, in one store round trip: the end of a throttle on this
/// client or user name, and — when the user will be the name as typed — the lock on that user
/// for the second factor (so the answer phase need not ask again). A store that cannot answer
/// refuses the login (it could not be completed without the store anyway).
pub(super) async fn locks_before_login(
    ctx: &Context<'_>,
    typed_user: Option<&str>,
) -> Result<
    (
        Option<Box<Throttle>>,
        Option<(String, Option<regulation::Lock>)>,
    ),
    ProxyError,
> {
    let throttle_subjects: Vec<Subject> = login_subjects(ctx, typed_user)
        .await
        .map_err(|e| ProxyError::StateUnavailable(e.into()))?
        .into_iter()
        .map(|(s, _)| s)
        .collect();
    let mut keys: Vec<String> = throttle_subjects.iter().map(Subject::key).collect();
    let throttles = keys.len();
    let user = typed_user
        .filter(|_| matches!(ctx.settings.identity, IdentitySource::LoginField))
        .map(|u| flow::identity(ctx.settings, u))
        .filter(|u| !u.is_empty());
    let mut code_subjects = Vec::new();
    if let Some(user) = &user {
        code_subjects = ctx
            .code_subjects_here(&ctx.settings.realm, user)
            .await
            .map_err(|e| ProxyError::StateUnavailable(e.into()))?;
        keys.extend(code_subjects.iter().map(Subject::key));
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
    let code_lock = user.map(|u| {
        let lock = regulation::latest_lock(&inspection, &code_subjects, throttles);
        (u, lock)
    });
    let throttle = regulation::latest_lock(&inspection, &throttle_subjects, 0).map(|lock| {
        Box::new(Throttle {
            lock,
            seconds: regulation::retry_after(lock.until, ctx.now),
            user: typed_user.map(|u| flow::identity(ctx.settings, u)),
            client: ctx.client,
            now: ctx.now,
        })
    });
    Ok((throttle, code_lock))
}

/// Counts a login the app refused; a throttle it starts is audited. The app's answer goes to
/// the client whatever happens here.
pub(super) async fn refused_login(ctx: &Context<'_>, typed_user: Option<&str>) {
    let subjects = match login_subjects(ctx, typed_user).await {
        Ok(subjects) if !subjects.is_empty() => subjects,
        Ok(_) => return,
        Err(error) => {
            tracing::error!(app = %ctx.app.name, error = %crate::ops::error_chain(&error), "refused login not counted");
            return;
        }
    };
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
