//! The gateway's own addresses under the reserved prefix: the pages a browser walks through
//! (verify, enroll, recovery codes, logout), the JSON API for API clients, and the assets.
//! Every outcome of `flow` becomes a page or a JSON answer here, and nowhere else. Nothing
//! here changes state on a GET: signing out is a POST with the session's CSRF token (a form)
//! or a JSON body (an API client).

mod steps;

use steps::Pages;

use super::api::{self, api_pending_failed};
use super::flow::{self, Begun, CodeOutcome, Context, PendingError, Refusal, Step};
use super::outcome::Outcome;
use super::respond::{
    json_response, lock_text, not_found, redirect, retry_after, wants_json, Form, Repeated,
};
use crate::factors::recovery::RecoveryCode;
use crate::factors::service::Verdict;
use crate::session::credentials::cookie_values;
use crate::store::{Challenge, EphemeralStore, Session};
use crate::ui::pages::{
    self, ChallengePage, EnrollPage, Frame, InvitePage, LogoutPage, MessagePage, RecoveryCodesPage,
};
use crate::wire::collect::collect_limited;
use base64::engine::general_purpose::URL_SAFE_NO_PAD as B64;
use base64::Engine;
use bytes::Bytes;
use http::{header, HeaderMap, Method as HttpMethod, Response, StatusCode};
use hyper::body::Incoming;
use serde_json::{json, Value};

/// Form and JSON bodies sent to the gateway are small; anything larger is refused unread.
const MAX_BODY: u64 = 16 * 1024;

/// A request under the reserved prefix, for an app with MFA.
pub struct GatewayRequest<'a> {
    pub method: HttpMethod,
    /// The path below the prefix, e.g. `verify` or `api/verify`.
    pub rest: &'a str,
    /// The query, for the page a wrong code redirects to (`?error=wrong`).
    pub query: Option<&'a str>,
    pub headers: HeaderMap,
    pub body: Incoming,
    pub prefix: &'a str,
}

/// Whether a redirect target is a web address a link may lead to: a path (not `//host`,
/// which is another site), or an absolute http(s) URL — never `javascript:` or `data:`.
fn is_web_target(location: &str) -> bool {
    let lower = location.trim_start().to_ascii_lowercase();
    (lower.starts_with('/') && !lower.starts_with("//") && !lower.starts_with("/\\"))
        || lower.starts_with("https://")
        || lower.starts_with("http://")
}

/// Whether the request says its body is JSON (`application/json`, with any parameters).
fn is_json(headers: &http::HeaderMap) -> bool {
    let mut types = headers.get_all(header::CONTENT_TYPE).iter();
    match (types.next(), types.next()) {
        (Some(value), None) => value.to_str().is_ok_and(|v| {
            v.split(';')
                .next()
                .is_some_and(|t| t.trim().eq_ignore_ascii_case("application/json"))
        }),
        _ => false,
    }
}

pub async fn handle(ctx: &Context<'_>, req: GatewayRequest<'_>) -> Response<Bytes> {
    let GatewayRequest {
        method,
        rest,
        query,
        headers,
        body,
        prefix,
    } = req;
    let page = Pages {
        ctx,
        prefix,
        headers: &headers,
        query,
    };
    let post = method == HttpMethod::POST;
    let read = |body| collect_limited(body, MAX_BODY);
    // A form another site posts can carry any text, but not this type (it would need the
    // browser's permission first): the API is never a cross-site login or code (which could
    // plant another account's session or device credential in the user's browser).
    if post && rest.starts_with("api/") && !is_json(&headers) {
        return Outcome::JsonRequired.json();
    }
    match (rest, post) {
        ("verify", false) => page.show_verify().await,
        ("enroll", false) => page.show_enroll().await,
        ("invite", false) => page.show_invite().await,
        ("logout", false) => page.show_logout().await,
        ("verify" | "invite" | "enroll" | "enroll/done" | "logout" | "start-over", true) => {
            match read(body).await {
                Ok(form) => page.post(rest, &form).await,
                Err(_) => page.too_large(),
            }
        }
        ("api/verify" | "api/enroll" | "api/invite", true) => match read(body).await {
            Ok(body) => api::verify_or_enroll(ctx, rest, &body).await,
            Err(_) => Outcome::TooLarge.json(),
        },
        ("settings", _)
        | (
            "settings/done"
            | "settings/recovery-codes"
            | "settings/remove"
            | "settings/authenticator"
            | "settings/sessions/end"
            | "settings/sign-out-everywhere"
            | "settings/devices/forget",
            _,
        ) => {
            let rest = rest.trim_start_matches("settings");
            match read(body).await {
                Ok(form) => super::settings::page(ctx, prefix, rest, post, &headers, &form).await,
                Err(_) => page.too_large(),
            }
        }
        (
            "api/methods"
            | "api/recovery-codes"
            | "api/totp/setup"
            | "api/totp/confirm"
            | "api/totp/remove"
            | "api/sessions"
            | "api/sessions/end"
            | "api/sessions/end-all"
            | "api/devices"
            | "api/devices/forget",
            _,
        ) => {
            let rest = rest.trim_start_matches("api/");
            match read(body).await {
                Ok(body) => super::settings::api(ctx, rest, post, &headers, &body).await,
                Err(_) => Outcome::TooLarge.json(),
            }
        }
        ("api/verify" | "api/enroll" | "api/invite", false) => Outcome::UsePost.json(),
        ("assets/logo", false) => match &ctx.app.logo {
            Some(logo) => pages::logo(logo),
            None => not_found(ctx, &headers),
        },
        (asset, false) if asset.starts_with("assets/") => {
            pages::asset(asset.trim_start_matches("assets/"))
                .unwrap_or_else(|| not_found(ctx, &headers))
        }
        _ => not_found(ctx, &headers),
    }
}

/// The answer to a login the app accepted: a redirect to the next page for a browser, the
/// Django-REST-MFA-shaped JSON for an API client.
pub fn login_answer(ctx: &Context<'_>, begun: Begun, json: bool, prefix: &str) -> Response<Bytes> {
    let (token, challenge, expires_in) = match begun {
        Begun::Released(response) => return response,
        Begun::Locked(lock, user) => {
            let seconds = crate::regulation::retry_after(lock.until, ctx.now);
            if json {
                return super::respond::api_locked_by(lock, ctx.now);
            }
            let frame = Frame {
                t: ctx.tr(),
                app_name: &ctx.app.display_name,
                prefix,
                logo: ctx.app.logo.is_some(),
            };
            let message = lock_text(ctx.tr(), lock, &user, ctx.client, ctx.now);
            let title = ctx.tr().t("locked-title");
            let page = MessagePage::waiting(&frame, &title, &message);
            return retry_after(pages::html(StatusCode::TOO_MANY_REQUESTS, &page), seconds);
        }
        Begun::Closed(user) => {
            let user = super::respond::shell_word(&user);
            if json {
                return Outcome::EnrollmentClosed.json();
            }
            let frame = Frame {
                t: ctx.tr(),
                app_name: &ctx.app.display_name,
                prefix,
                logo: ctx.app.logo.is_some(),
            };
            let title = ctx.tr().t("enrollment-closed-title");
            let message = ctx.tr().t1("enrollment-closed", "user", &user);
            let page = MessagePage::waiting(&frame, &title, &message);
            return pages::html(StatusCode::FORBIDDEN, &page);
        }
        Begun::Pending {
            token,
            challenge,
            expires_in,
        } => (token, challenge, expires_in),
    };
    let step = Step::of(&challenge);
    if json {
        let mut body = serde_json::Map::new();
        body.insert("mfa_required".into(), json!(true));
        body.insert("ephemeral_token".into(), json!(token));
        body.insert("method".into(), json!("totp"));
        body.insert("methods".into(), json!(["totp", "recovery_code"]));
        body.insert("expires_in".into(), json!(expires_in));
        match step {
            Step::Verify => {}
            Step::Invite => {
                body.insert("enrollment_required".into(), json!(true));
                body.insert("invite_required".into(), json!(true));
                body.insert("methods".into(), json!(["totp"]));
            }
            Step::Enroll => {
                if let Err(e) = api::add_enrollment(ctx, &challenge, &mut body) {
                    return api_pending_failed(e);
                }
            }
        }
        let body = Value::Object(body);
        return json_response(StatusCode::OK, &body);
    }
    let mut response = redirect(&format!("{prefix}{}", step.name()));
    if let Some(cookie) = ctx.pending_cookie().set(&token, Some(expires_in)) {
        response.headers_mut().append(header::SET_COOKIE, cookie);
    }
    response
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_web_addresses_are_followed_from_a_notice() {
        for ok in [
            "/admin/",
            "/",
            "https://app.example/x",
            "HTTP://app.example",
        ] {
            assert!(is_web_target(ok), "{ok}");
        }
        for bad in [
            "javascript:alert(1)",
            " JavaScript:alert(1)",
            "data:text/html,x",
            "//evil.example/",
            "/\\evil.example",
            "admin/",
            "",
        ] {
            assert!(!is_web_target(bad), "{bad}");
        }
    }
}
