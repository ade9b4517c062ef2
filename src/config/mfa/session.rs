//! The app's own session credentials under `mfa:`: its session cookies and token, which of them
//! exist before a login, which the gateway reseals, and which it refuses outright.

use super::check_pointer;
use crate::config::checker::Checker;
use crate::config::model::{RefusedCredentials, Resealed, TokenRule};
use crate::config::raw::{RawBeforeLogin, RawMfa};

/// `token`: where a login answer carries a token, and how the app is sent it back.
pub(super) fn token(c: &mut Checker, key: &str, raw: &RawMfa) -> Option<TokenRule> {
    raw.token.as_ref().map(|t| {
        check_pointer(c, &format!("{key}.token.json_pointer"), &t.json_pointer);
        let scheme = t.scheme.clone().unwrap_or_else(|| "Bearer".into());
        if scheme.is_empty() || !scheme.bytes().all(|b| b.is_ascii_alphabetic()) {
            c.fail(
                &format!("{key}.token.scheme"),
                format!("{scheme:?} is not an Authorization scheme (e.g. Bearer or Token)"),
            );
        }
        let any_answers = match t.answers.as_deref() {
            None | Some("json") => false,
            Some("any") => true,
            Some(other) => {
                c.fail(
                    &format!("{key}.token.answers"),
                    format!("{other:?} is not json or any"),
                );
                false
            }
        };
        TokenRule {
            json_pointer: t.json_pointer.clone(),
            scheme,
            any_answers,
        }
    })
}

/// `session_cookies`: names or one-`*` patterns, needed unless the app signs in some other way
/// (`other_credential`: a token or basic auth), and holding every cookie a login sets.
pub(super) fn session_cookies(c: &mut Checker, key: &str, raw: &RawMfa, other_credential: bool) {
    for (i, name) in raw.session_cookies.iter().enumerate() {
        // `*` stands for a run of letters and digits (a per-site hash in the name).
        let literal = name.replace('*', "");
        let stars = name.len() - literal.len();
        if literal.is_empty() || !name.bytes().all(is_cookie_name_byte) || stars > 1 {
            c.fail(
                &format!("{key}.session_cookies[{i}]"),
                format!("{name:?} is not a cookie name (or a pattern with one *, like wordpress_logged_in_*)"),
            );
        }
    }
    if raw.session_cookies.is_empty() && !other_credential {
        c.fail(
            &format!("{key}.session_cookies"),
            "name the app's session cookie(s) (e.g. [sessionid]) or a token, so the gateway can \
             tell a verified session from one the app minted on its own",
        );
    }
    for (i, rule) in raw.login.iter().enumerate() {
        let names = rule
            .success
            .set_cookie
            .as_ref()
            .map_or(&[][..], |n| n.list());
        for cookie in names {
            if !raw.session_cookies.contains(cookie) {
                c.fail(
                    &format!("{key}.login[{i}].success.set_cookie"),
                    format!("{cookie:?} must also be listed in session_cookies, or the session it starts would be refused"),
                );
            }
        }
    }
}

/// `session_before_login`: the session cookies the app sets before anyone signs in; and every
/// cookie named in it or in `resealed_cookies` must be a session cookie.
pub(super) fn before_login(c: &mut Checker, key: &str, raw: &RawMfa) -> Vec<String> {
    let listed = |name: &str| raw.session_cookies.iter().any(|c| c == name);
    let before = match &raw.session_before_login {
        RawBeforeLogin::All(true) => raw.session_cookies.clone(),
        RawBeforeLogin::All(false) => Vec::new(),
        RawBeforeLogin::Some(names) => names.clone(),
    };
    for (key_name, names) in [
        ("session_before_login", &before),
        ("resealed_cookies", &raw.resealed_cookies),
    ] {
        for (i, name) in names.iter().enumerate() {
            if !listed(name) {
                c.fail(
                    &format!("{key}.{key_name}[{i}]"),
                    format!("{name:?} is not one of session_cookies"),
                );
            }
        }
    }
    before
}

pub(super) fn resealed(c: &mut Checker, key: &str, raw: &RawMfa) -> Resealed {
    match raw.resealed.as_deref() {
        None | Some("keep") => Resealed::Keep,
        Some("follow") => Resealed::Follow,
        Some(other) => {
            c.fail(
                &format!("{key}.resealed"),
                format!("{other:?} is not keep or follow"),
            );
            Resealed::Keep
        }
    }
}

/// Header and query names that carry credentials the gateway refuses, in the form requests are
/// compared in.
pub(super) fn refused_credentials(raw: &RawMfa) -> RefusedCredentials {
    RefusedCredentials {
        headers: raw
            .refuse_credentials
            .headers
            .iter()
            .map(|h| h.to_ascii_lowercase().replace('_', "-"))
            .collect(),
        query: raw
            .refuse_credentials
            .query
            .iter()
            .map(|q| q.to_ascii_lowercase())
            .collect(),
    }
}

/// RFC 6265 `token`: visible ASCII without separators.
fn is_cookie_name_byte(b: u8) -> bool {
    b.is_ascii_graphic() && !b"()<>@,;:\\\"/[]?={}".contains(&b)
}
