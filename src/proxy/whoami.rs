//! Asking the app who a session belongs to (`identity.whoami`): a GET to the app's own
//! "who am I" path with the session's cookies or token, and a JSON pointer into its answer.
//! The gateway asks after a login (whose session did the app just start?) and, when the config
//! says so, after every answer to a verified session (is it still the same user?).

use super::body::collect_limited;
use super::handler::origin_form;
use super::state::UpstreamTarget;
use crate::config::AppMfa;
use crate::mfa::flow::{AppCredentials, Context};
use bytes::Bytes;
use http::header::{self, HeaderMap, HeaderValue};
use http::{Request, StatusCode, Uri};
use http_body_util::{Either, Full};

/// Larger answers are not read: no identity.
const MAX_WHOAMI: u64 = 64 * 1024;

/// What the app said.
#[derive(Debug, PartialEq, Eq)]
pub enum AppSays {
    /// The session is this user's (the name as the app spells it).
    User(String),
    /// The session has no user (401/403, or null or nothing at the pointer).
    Nobody,
    /// No answer that can be trusted either way: the caller fails closed.
    Unknown,
}

impl AppSays {
    pub fn user(self) -> Option<String> {
        match self {
            AppSays::User(name) => Some(name),
            AppSays::Nobody | AppSays::Unknown => None,
        }
    }
}

/// The request's forwarding headers with its credentials replaced by the ones `found` in an
/// answer (the session the app just started).
pub fn with_credentials(
    settings: &AppMfa,
    mut headers: HeaderMap,
    found: &AppCredentials,
) -> Option<HeaderMap> {
    headers.remove(header::COOKIE);
    headers.remove(header::AUTHORIZATION);
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
    if let (Some(rule), Some(token)) = (&settings.token, &found.token) {
        let value = HeaderValue::from_str(&format!("{} {token}", rule.scheme)).ok()?;
        headers.insert(header::AUTHORIZATION, value);
    }
    Some(headers)
}

/// `GET path` with `headers` (the request's forwarding headers and the credentials to ask
/// about), bounded by the app's response timeout.
pub async fn ask(
    ctx: &Context<'_>,
    upstream: &UpstreamTarget,
    mut headers: HeaderMap,
    path: &str,
    pointer: &str,
) -> AppSays {
    for name in [
        header::CONTENT_TYPE,
        header::CONTENT_LENGTH,
        header::TRANSFER_ENCODING,
        header::EXPECT,
    ] {
        headers.remove(name);
    }
    headers.insert(header::ACCEPT, HeaderValue::from_static("application/json"));
    let Some(uri) = path.parse::<Uri>().ok().and_then(|u| origin_form(u).ok()) else {
        return AppSays::Unknown;
    };
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
        Ok(Ok(r)) if matches!(r.status(), StatusCode::UNAUTHORIZED | StatusCode::FORBIDDEN) => {
            return AppSays::Nobody
        }
        Ok(Ok(r)) => {
            tracing::warn!(app = %ctx.app.name, status = r.status().as_u16(), "whoami request refused");
            return AppSays::Unknown;
        }
        _ => {
            tracing::warn!(app = %ctx.app.name, "whoami request failed");
            return AppSays::Unknown;
        }
    };
    let Ok(body) = tokio::time::timeout(
        ctx.app.upstream.response_header_timeout,
        collect_limited(response.into_body(), MAX_WHOAMI),
    )
    .await
    else {
        return AppSays::Unknown;
    };
    let Ok(body) = body else {
        return AppSays::Unknown;
    };
    let Ok(value) = serde_json::from_slice::<serde_json::Value>(&body) else {
        return AppSays::Unknown;
    };
    match value.pointer(pointer) {
        None | Some(serde_json::Value::Null) => AppSays::Nobody,
        Some(v) => text(v).map_or(AppSays::Unknown, AppSays::User),
    }
}

/// A string (or number) at `pointer` in a JSON body.
pub fn json_text(body: &[u8], pointer: &str) -> Option<String> {
    let value = serde_json::from_slice::<serde_json::Value>(body).ok()?;
    text(value.pointer(pointer)?)
}

fn text(value: &serde_json::Value) -> Option<String> {
    match value {
        serde_json::Value::String(s) => Some(s.clone()),
        serde_json::Value::Number(n) => Some(n.to_string()),
        _ => None,
    }
}
