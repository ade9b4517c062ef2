//! Asking the app who a session belongs to (`identity.whoami`): a GET to the app's own
//! "who am I" path with the session's cookies or token, and a JSON pointer into its answer.
//! The gateway asks after a login (whose session did the app just start?) and, when the config
//! says so, after every answer to a verified session (is it still the same user?). These are
//! steps of the request's walk with their own names: the answer filters (`login`, `gate`) take
//! what the app said and never send a request themselves.

use super::state::UpstreamTarget;
use super::upstream::UpstreamBody;
use crate::config::{AppMfa, IdentitySource, WhoamiAnswer};
use crate::intercept::withheld::WithheldAnswer;
use crate::mfa::flow::{self, Context};
use crate::session::jar::Jar;
use crate::wire::collect::collect_limited;
use crate::wire::path::origin_form;
use crate::wire::set_cookie::sets_cookies_named;
use bytes::Bytes;
use http::header::{self, HeaderMap, HeaderValue};
use http::{Request, StatusCode, Uri};
use http_body_util::{Either, Full};

/// Larger answers are not read: no identity.
const MAX_WHOAMI: u64 = 64 * 1024;
/// A whole page (`pattern`) may be larger.
const MAX_WHOAMI_PAGE: u64 = 2 * 1024 * 1024;

/// What the app said.
#[derive(Debug, PartialEq, Eq)]
pub enum AppSays {
    /// The session is this user's (the name as the app spells it).
    User(String),
    /// The session has no user (401/403, a redirect, or null or nothing at the pointer).
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

/// A request as it went to the app (forwarding headers and the credentials that passed the
/// session check) and its path: after the app's answer to it, the app is asked the way the
/// browser's next request will reach it.
#[derive(Debug, Clone)]
pub struct Base {
    pub headers: HeaderMap,
    pub path: String,
}

impl Base {
    /// The request as it goes to the app, where the app can be asked at all.
    pub fn of(settings: &AppMfa, headers: &HeaderMap, path: &str) -> Option<Base> {
        settings.asks_whoami().then(|| Base {
            headers: headers.clone(),
            path: path.to_string(),
        })
    }

    /// The headers to ask the app with after `answer`: the cookie jar the browser holds once
    /// it has the answer (the request's cookies updated by the answer's `Set-Cookie` lines,
    /// RFC 6265: replaced by name and path, removed, longer paths first), every cookie of it
    /// whatever its path (see `Jar::all_cookies_line`), and the token the answer hands out
    /// (any other `Authorization` goes).
    pub fn after_answer(
        self,
        settings: &AppMfa,
        answer: &HeaderMap,
        token: Option<&str>,
    ) -> Option<HeaderMap> {
        let jar = Jar::after(&self.headers, answer, &self.path);
        let mut headers = self.headers;
        headers.remove(header::COOKIE);
        headers.remove(header::AUTHORIZATION);
        if let Some(line) = jar.all_cookies_line() {
            headers.insert(header::COOKIE, HeaderValue::from_str(&line).ok()?);
        }
        if let (Some(rule), Some(token)) = (&settings.token, token) {
            let value = HeaderValue::from_str(&format!("{} {token}", rule.scheme)).ok()?;
            headers.insert(header::AUTHORIZATION, value);
        }
        Some(headers)
    }
}

/// `GET path` with the request's credentials and forwarding headers from `headers` (nothing
/// else of the client's: a `Range`, a conditional or an `Accept-Encoding` could turn the app's
/// answer into something that reads as nobody), bounded by the app's response timeout.
pub async fn ask(
    ctx: &Context<'_>,
    upstream: &UpstreamTarget,
    headers: HeaderMap,
    path: &str,
    answer: &WhoamiAnswer,
) -> AppSays {
    let accept = match answer {
        WhoamiAnswer::JsonPointer(_) => "application/json",
        WhoamiAnswer::Pattern(_) => "text/html",
    };
    let Some(response) = get(ctx, upstream, &headers, path, accept).await else {
        tracing::warn!(app = %ctx.app.name, "whoami request failed");
        return AppSays::Unknown;
    };
    let status = response.status();
    // Not signed in: refused, or sent to the login page.
    if matches!(status, StatusCode::UNAUTHORIZED | StatusCode::FORBIDDEN) || status.is_redirection()
    {
        return AppSays::Nobody;
    }
    if status != StatusCode::OK || response.headers().contains_key(header::CONTENT_ENCODING) {
        tracing::warn!(app = %ctx.app.name, status = status.as_u16(), "whoami answer not usable");
        return AppSays::Unknown;
    }
    let wait = ctx.app.upstream.response_header_timeout;
    let limit = match answer {
        WhoamiAnswer::JsonPointer(_) => MAX_WHOAMI,
        WhoamiAnswer::Pattern(_) => MAX_WHOAMI_PAGE,
    };
    let body = match tokio::time::timeout(wait, collect_limited(response.into_body(), limit)).await
    {
        Ok(Ok(body)) => body,
        _ => return AppSays::Unknown,
    };
    match answer {
        WhoamiAnswer::JsonPointer(pointer) => read(&body, pointer),
        WhoamiAnswer::Pattern(pattern) => read_page(&body, pattern),
    }
}

/// What a page says: the pattern's group at its first match; no match is nobody (a page for
/// visitors). A name with markup or an entity in it is no answer (the page may escape names).
fn read_page(body: &[u8], pattern: &regex::Regex) -> AppSays {
    let Ok(text) = std::str::from_utf8(body) else {
        return AppSays::Unknown;
    };
    match pattern.captures(text).and_then(|c| c.get(1)) {
        None => AppSays::Nobody,
        Some(name) if name.as_str().contains(['<', '>', '&', '"']) => AppSays::Unknown,
        Some(name) => AppSays::User(name.as_str().to_string()),
    }
}

/// A GET of the app's `path` (origin form, with its query) that the gateway sends on its own
/// account: only the credentials and forwarding headers of `headers` go with it, and the
/// answer is uncompressed. `None` when the app could not be asked in time.
pub async fn get(
    ctx: &Context<'_>,
    upstream: &UpstreamTarget,
    headers: &HeaderMap,
    path: &str,
    accept: &'static str,
) -> Option<http::Response<UpstreamBody>> {
    let mut asking = HeaderMap::new();
    for (name, value) in headers {
        let kept =
            KEPT.contains(name) || ctx.app.upstream.add_headers.iter().any(|(n, _)| n == name);
        if kept {
            asking.append(name.clone(), value.clone());
        }
    }
    asking.insert(header::ACCEPT, HeaderValue::from_static(accept));
    asking.insert(
        header::ACCEPT_ENCODING,
        HeaderValue::from_static("identity"),
    );
    let uri = origin_form(path.parse::<Uri>().ok()?).ok()?;
    let mut request = Request::new(Either::Right(Full::new(Bytes::new())));
    *request.uri_mut() = uri;
    *request.headers_mut() = asking;
    let wait = ctx.app.upstream.response_header_timeout;
    match tokio::time::timeout(wait, upstream.pool.send(request)).await {
        Ok(Ok(response)) => Some(response.map(|body| body.with_idle_limit(wait))),
        _ => None,
    }
}

/// What a whoami answer says: a name at the pointer, `null` there (nobody), or nothing usable.
fn read(body: &[u8], pointer: &str) -> AppSays {
    let Ok(value) = serde_json::from_slice::<serde_json::Value>(body) else {
        return AppSays::Unknown;
    };
    // Apps say "nobody" as null or by leaving the field out (`{"account": null}`).
    match value.pointer(pointer) {
        None | Some(serde_json::Value::Null) => AppSays::Nobody,
        Some(v) => text(v).map_or(AppSays::Unknown, AppSays::User),
    }
}

/// The request headers a whoami request keeps: the credentials, and what says how and for
/// which site the request came (apps build URLs and check origins from these).
const KEPT: [header::HeaderName; 10] = [
    header::HOST,
    header::COOKIE,
    header::AUTHORIZATION,
    header::USER_AGENT,
    header::FORWARDED,
    header::VIA,
    header::HeaderName::from_static("x-forwarded-for"),
    header::HeaderName::from_static("x-forwarded-proto"),
    header::HeaderName::from_static("x-forwarded-host"),
    header::HeaderName::from_static("x-request-id"),
];

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

/// Whom the app says an answer signed in, as the realm knows the name: from where the config
/// says the app tells it (a header, the JSON answer or a cookie of the answer; or its whoami
/// path, asked with the cookie jar the browser holds after the answer). Only where the config
/// takes the name typed (`identity.typed_name`) is `typed` the answer. `Unknown` when the app's
/// word cannot be had: the caller fails closed.
pub async fn who_signed_in(
    ctx: &Context<'_>,
    typed: Option<String>,
    base: Option<Base>,
    upstream: &UpstreamTarget,
    answer: &WithheldAnswer,
) -> AppSays {
    let found = match &ctx.settings.identity {
        IdentitySource::LoginField => typed,
        IdentitySource::ResponseHeader(name) => answer
            .headers
            .get(name)
            .and_then(|v| v.to_str().ok())
            .map(str::to_string),
        IdentitySource::ResponseJson(pointer) => json_text(&answer.body, pointer),
        IdentitySource::ResponseCookie { name, until } => {
            cookie_identity(&answer.headers, name, until)
        }
        IdentitySource::Whoami {
            path, answer: says, ..
        } => {
            let token = flow::app_credentials(ctx.settings, &answer.headers, &answer.body).token;
            let Some(asked) =
                base.and_then(|b| b.after_answer(ctx.settings, &answer.headers, token.as_deref()))
            else {
                return AppSays::Unknown;
            };
            match ask(ctx, upstream, asked, path, says).await {
                AppSays::User(name) => Some(name),
                other => return other,
            }
        }
    };
    found
        .map(|u| flow::identity(ctx.settings, &u))
        .filter(|u| !u.is_empty())
        .map_or(AppSays::Unknown, AppSays::User)
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_name_on_a_page() {
        let pattern = regex::Regex::new(r#"<div id="loggedas">[^<]*<a [^>]*>([^<]*)</a>"#).unwrap();
        let says = |page: &str| read_page(page.as_bytes(), &pattern);
        let redmine = r#"<div id="loggedas">Logged in as <a class="user active" href="/users/1">admin</a></div>"#;
        assert_eq!(says(redmine), AppSays::User("admin".into()));
        let french = redmine.replace("Logged in as", "Connecté en tant que");
        assert_eq!(says(&french), AppSays::User("admin".into()));
        assert_eq!(says("<form id=login-form>"), AppSays::Nobody);
        let escaped = redmine.replace(">admin<", ">a&amp;b<");
        assert_eq!(says(&escaped), AppSays::Unknown);
        assert_eq!(read_page(b"\xff", &pattern), AppSays::Unknown);
    }

    #[test]
    fn a_name_null_or_nothing_usable() {
        let pointer = "/account/name";
        let says = |body: &str| read(body.as_bytes(), pointer);
        assert_eq!(
            says(r#"{"account":{"name":"alice"}}"#),
            AppSays::User("alice".into())
        );
        assert_eq!(says(r#"{"account":{"name":7}}"#), AppSays::User("7".into()));
        assert_eq!(says(r#"{"account":{"name":null}}"#), AppSays::Nobody);
        assert_eq!(says(r#"{"account":null}"#), AppSays::Nobody);
        assert_eq!(says(r#"{"account":{}}"#), AppSays::Nobody);
        // Another type, or not JSON at all (a login page) is no answer: the caller fails
        // closed.
        assert_eq!(says(r#"{"account":{"name":["alice"]}}"#), AppSays::Unknown);
        assert_eq!(says("<html>"), AppSays::Unknown);
        assert_eq!(says(r#"{"account":{"name":"alice"}"#), AppSays::Unknown);
    }

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
