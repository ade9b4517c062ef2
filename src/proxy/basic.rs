//! HTTP Basic as a login (`mfa.basic_auth`). A Basic credential is sent with every request,
//! and the request that carries it for the first time may change something on the app (Tomcat's
//! manager deploys and undeploys on a GET): so a request with an unbound credential never
//! reaches the app. The gateway checks the password itself with a GET of the configured check
//! path, and if the app takes it, asks for the second factor; the answer it then releases sends
//! the client back to the URL it asked for, and binds the credential to the new gateway session.

use super::body::Reply;
use super::error::ProxyError;
use super::login::{locks_before_login, refused_login, withhold, Answered};
use super::state::UpstreamTarget;
use super::whoami;
use crate::config::{BasicAuth, IdentitySource};
use crate::intercept::body::checked_username;
use crate::intercept::withheld::WithheldAnswer;
use crate::mfa::flow::{self, Context};
use crate::session::credentials::BasicCredential;
use crate::wire::collect::collect_limited;
use bytes::Bytes;
use http::header::{self, HeaderMap, HeaderValue};
use http::{Response, StatusCode, Uri};

/// The app's refusal is passed on (its `WWW-Authenticate` makes the browser ask again); a
/// larger body is not read.
const MAX_REFUSAL: u64 = 64 * 1024;

/// A request with an unbound Basic credential (`headers`: the request's, as they would be
/// forwarded). The password is checked with `rule.check` (the paths in turn, until one
/// accepts it or the app answers 401); a refusal is the app's own answer;
/// an accepted password is a login like any other, whose answer (held back until the second
/// factor) sends the client to `uri` again.
#[allow(clippy::too_many_arguments)]
pub async fn sign_in(
    ctx: &Context<'_>,
    rule: &BasicAuth,
    credential: BasicCredential,
    mut headers: HeaderMap,
    uri: &Uri,
    upstream: &UpstreamTarget,
    json: bool,
    prefix: &str,
) -> Result<Response<Reply>, ProxyError> {
    // The same names a form login refuses (too long, control or format characters): a
    // zero-width or bidi character makes two names look alike.
    checked_username(credential.user.clone())
        .map_err(|why| ProxyError::AmbiguousRequest(why.label()))?;
    // Servers decode Basic as ISO-8859-1 (Tomcat, unless told otherwise) or UTF-8: a name
    // beyond ASCII would be one account to the gateway and another to the app.
    if !credential.user.is_ascii() {
        return Err(ProxyError::AmbiguousRequest(
            "Basic user name beyond ASCII: servers decode it differently",
        ));
    }
    let typed = credential.user.as_str();
    let cross_site = from_another_site(&headers);
    let (throttle, code_lock) = locks_before_login(ctx, Some(typed)).await?;
    if let Some(throttle) = throttle {
        tracing::info!(app = %ctx.app.name, request_id = %ctx.request_id, "Basic sign-in refused: throttled");
        return Err(ProxyError::LoginThrottled(throttle));
    }
    // The check is about the credential alone: no cookie of the client's may answer for it.
    headers.remove(header::COOKIE);
    let mut refusal = None;
    for path in &rule.check {
        let answer = whoami::get(ctx, upstream, &headers, path, "*/*")
            .await
            .ok_or(ProxyError::UpstreamTimeout)?;
        let status = answer.status();
        if rule.success.contains(&status) {
            refusal = None;
            break;
        }
        // 403: the password may be right, for a user who may not read this path; the next
        // path may be one they can.
        if status == StatusCode::UNAUTHORIZED || status == StatusCode::FORBIDDEN {
            let last = status == StatusCode::UNAUTHORIZED;
            refusal = Some(answer);
            if last {
                break;
            }
            continue;
        }
        tracing::warn!(app = %ctx.app.name, request_id = %ctx.request_id, status = status.as_u16(), "basic_auth.check answered neither success nor 401/403: sign-in refused");
        return Err(ProxyError::AnswerUnchecked);
    }
    if let Some(answer) = refusal {
        refused_login(ctx, Some(typed)).await;
        let (mut parts, body) = answer.into_parts();
        let body = collect_limited(body, MAX_REFUSAL).await.unwrap_or_default();
        parts.headers.remove(header::SET_COOKIE);
        // The body as read (empty beyond the bound): its length is the gateway's to say.
        parts.headers.remove(header::CONTENT_LENGTH);
        parts.headers.remove(header::TRANSFER_ENCODING);
        return Ok(Response::from_parts(parts, Reply::Page(body)));
    }
    let user = match &ctx.settings.identity {
        IdentitySource::Whoami { path, answer, .. } => {
            whoami::ask(ctx, upstream, headers, path, answer)
                .await
                .user()
                .map(|u| flow::identity(ctx.settings, &u))
        }
        _ => Some(flow::identity(ctx.settings, typed)),
    }
    .filter(|u| !u.is_empty())
    .ok_or(ProxyError::LoginWithoutUser)?;
    let hash = ctx
        .mfa
        .credential_hash(&ctx.app.name, "basic", credential.pair());
    // Back to the URL asked for only when the browser itself went there: a link on another site
    // (Sec-Fetch-Site) may carry a command (Tomcat's manager stops an app on a GET), which the
    // user would run by entering their code. Those, and overlong URLs (kept in the challenge),
    // land on the first check path, which changes nothing.
    let landing = if cross_site || uri.to_string().len() > MAX_BACK_TO {
        rule.check.first().and_then(|p| p.parse::<Uri>().ok())
    } else {
        None
    };
    let withheld = WithheldAnswer {
        status: StatusCode::SEE_OTHER,
        headers: back_to(landing.as_ref().unwrap_or(uri)),
        body: Bytes::new(),
        bind: vec![hash],
    };
    let known_lock = code_lock
        .filter(|(for_user, _)| *for_user == user)
        .map(|(_, lock)| lock);
    match withhold(ctx, user, withheld, known_lock, json, prefix).await? {
        Answered::Ready(r) | Answered::NotALogin(r) => Ok(r),
    }
}

/// Longer URLs are not kept to go back to.
const MAX_BACK_TO: usize = 2048;

/// The browser says the request came from another site (a link or form there), or from
/// nowhere it will name but a site (`Sec-Fetch-Site` other than same-origin or none).
fn from_another_site(headers: &HeaderMap) -> bool {
    headers
        .get("sec-fetch-site")
        .is_some_and(|v| !matches!(v.as_bytes(), b"same-origin" | b"none"))
}

/// The answer released after the second factor: back to the URL asked for (a GET), now with
/// the gateway's cookie. Only a path of this site: `//host` or `/\host` would leave it.
fn back_to(uri: &Uri) -> HeaderMap {
    let path = uri.path();
    let local = path.starts_with('/')
        && !path
            .get(1..)
            .is_some_and(|rest| rest.starts_with(['/', '\\']));
    let target = match (local, uri.query()) {
        (true, Some(q)) => format!("{path}?{q}"),
        (true, None) => path.to_string(),
        (false, _) => "/".to_string(),
    };
    let mut headers = HeaderMap::new();
    if let Ok(value) = HeaderValue::from_str(&target) {
        headers.insert(header::LOCATION, value);
    }
    headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    headers.insert(header::CONTENT_LENGTH, HeaderValue::from_static("0"));
    headers
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_released_answer_stays_on_this_site() {
        let location = |u: &str| back_to(&u.parse().unwrap())[header::LOCATION].clone();
        assert_eq!(location("/manager/html?x=1"), "/manager/html?x=1");
        assert_eq!(location("/manager/html"), "/manager/html");
        assert_eq!(location("//evil.example/x"), "/");
        assert_eq!(location("/\\evil.example/x"), "/");
        assert_eq!(location("http://evil.example/x"), "/x");
    }
}
