//! `mfa.identity`: where the app names the user it signed in, and how names are compared.

use super::check_pointer;
use super::is_app_page;
use crate::config::checker::Checker;
use crate::config::login_rule::LoginRule;
use crate::config::model::{IdentitySource, Normalize, WhoamiAnswer};
use crate::config::raw::{RawCookieIdentity, RawIdentity, RawMfa, RawWhoami};

/// `identity.normalize` (and the older `case_fold_users: true`, which is `casefold`).
pub(super) fn normalize(c: &mut Checker, key: &str, raw: &RawMfa) -> Normalize {
    let mut normalize = Normalize {
        nfkc: false,
        casefold: raw.case_fold_users.unwrap_or(false),
    };
    let steps = raw.identity.as_ref().map_or(&[][..], |i| &i.normalize[..]);
    for (i, step) in steps.iter().enumerate() {
        match step.as_str() {
            "nfkc" => normalize.nfkc = true,
            "casefold" => normalize.casefold = true,
            other => c.fail(
                &format!("{key}.identity.normalize[{i}]"),
                format!("{other:?} is not a normalisation: use nfkc (Unicode compatibility forms, as Django does) or casefold (ignore letter case)"),
            ),
        }
    }
    normalize
}

/// Why an app must say where the app names its user, and how to opt out knowingly.
const NO_IDENTITY: &str = "missing: say where the app names the user it signed in: whoami (a \
path of the app that answers who is signed in, with json_pointer or pattern), header, \
json_pointer or cookie. Or, knowingly, typed_name: true takes the name typed at login: an app \
that cleans or folds names (alice. or _alice signs in as alice) can then be signed into under \
a new identity, and answers that start a session outside the login rules can only be refused";

/// The identity source, which must be given (or knowingly `typed_name`), and fit the app's
/// session cookies.
pub(super) fn identity(
    c: &mut Checker,
    key: &str,
    raw: &RawMfa,
    login: &[LoginRule],
    session_before_login: &[String],
) -> IdentitySource {
    let identity = match raw.identity.as_ref() {
        Some(i) => source(c, &format!("{key}.identity"), i, &raw.session_cookies),
        None => {
            c.fail(&format!("{key}.identity"), NO_IDENTITY);
            IdentitySource::LoginField
        }
    };
    skip_pre_login_fits(c, key, &identity, login, session_before_login);
    identity
}

/// `pre_login: skip` is the config's word that a pre-login cookie alone signs nobody in:
/// only believable when every login signs in with another cookie, named in its success.
fn skip_pre_login_fits(
    c: &mut Checker,
    key: &str,
    identity: &IdentitySource,
    login: &[LoginRule],
    session_before_login: &[String],
) {
    if let IdentitySource::Whoami {
        skip_pre_login: true,
        ..
    } = identity
    {
        if session_before_login.is_empty()
            || session_before_login
                .iter()
                .any(|n| crate::config::model::signs_in_with(login, n))
        {
            c.fail(
                &format!("{key}.identity.whoami.pre_login"),
                "skip is only for a pre-login session that signs nobody in on its own: list it in \
                 session_before_login, and give every login rule a success.set_cookie of another \
                 cookie (phpMyAdmin: its session beside pmaAuth-1)",
            );
        }
    }
}

/// At most one source: a cookie of the answer, a header, a JSON pointer, the app's whoami
/// page, or the name typed at login.
fn source(
    c: &mut Checker,
    key: &str,
    raw: &RawIdentity,
    session_cookies: &[String],
) -> IdentitySource {
    if let Some(cookie) = &raw.cookie {
        return from_cookie(c, key, raw, cookie, session_cookies);
    }
    let sources = [
        raw.header.is_some(),
        raw.json_pointer.is_some(),
        raw.whoami.is_some(),
        raw.typed_name,
    ];
    if sources.iter().filter(|s| **s).count() > 1 {
        c.fail(key, AT_MOST_ONE);
        return IdentitySource::LoginField;
    }
    match (&raw.header, &raw.json_pointer, &raw.whoami) {
        (None, None, None) if raw.typed_name => IdentitySource::LoginField,
        (None, None, None) => {
            c.fail(key, NO_IDENTITY);
            IdentitySource::LoginField
        }
        (Some(name), None, None) => match http::HeaderName::from_bytes(name.as_bytes()) {
            Ok(name) => IdentitySource::ResponseHeader(name),
            Err(_) => {
                c.fail(
                    &format!("{key}.header"),
                    format!("{name:?} is not a header name"),
                );
                IdentitySource::LoginField
            }
        },
        (None, Some(pointer), None) => {
            check_pointer(c, &format!("{key}.json_pointer"), pointer);
            IdentitySource::ResponseJson(pointer.clone())
        }
        (None, None, Some(w)) => whoami(c, key, w),
        _ => {
            c.fail(key, AT_MOST_ONE);
            IdentitySource::LoginField
        }
    }
}

const AT_MOST_ONE: &str = "give at most one of header, json_pointer, whoami, cookie or typed_name";

/// The name at the start of a cookie the login answer sets, up to `until`.
fn from_cookie(
    c: &mut Checker,
    key: &str,
    raw: &RawIdentity,
    cookie: &RawCookieIdentity,
    session_cookies: &[String],
) -> IdentitySource {
    if raw.header.is_some() || raw.json_pointer.is_some() || raw.whoami.is_some() || raw.typed_name
    {
        c.fail(key, AT_MOST_ONE);
    }
    if !session_cookies.contains(&cookie.name) {
        c.fail(
            &format!("{key}.cookie.name"),
            format!("{:?} must also be listed in session_cookies", cookie.name),
        );
    }
    if cookie.until.is_empty() {
        c.fail(
            &format!("{key}.cookie.until"),
            "give the text that ends the user name in the cookie's value (e.g. \"|\")",
        );
    }
    IdentitySource::ResponseCookie {
        name: cookie.name.clone(),
        until: cookie.until.clone(),
    }
}

/// The app's own page that says who is signed in, and how to read the name off it.
fn whoami(c: &mut Checker, key: &str, w: &RawWhoami) -> IdentitySource {
    if !is_app_page(&w.path) {
        c.fail(
            &format!("{key}.whoami.path"),
            format!(
                "{:?} must be a path of the app starting with `/` (a query may follow)",
                w.path
            ),
        );
    }
    let answer = match (&w.json_pointer, &w.pattern) {
        (Some(pointer), None) => {
            check_pointer(c, &format!("{key}.whoami.json_pointer"), pointer);
            WhoamiAnswer::JsonPointer(pointer.clone())
        }
        (None, Some(pattern)) => match regex::Regex::new(pattern) {
            Ok(re) if re.captures_len() == 2 => WhoamiAnswer::Pattern(re),
            Ok(_) => {
                c.fail(
                    &format!("{key}.whoami.pattern"),
                    "give the pattern exactly one group, around the user name",
                );
                WhoamiAnswer::JsonPointer("/".into())
            }
            Err(e) => {
                c.fail(
                    &format!("{key}.whoami.pattern"),
                    format!("not a pattern: {e}"),
                );
                WhoamiAnswer::JsonPointer("/".into())
            }
        },
        _ => {
            c.fail(
                &format!("{key}.whoami"),
                "give json_pointer (a JSON answer) or pattern (a page), one of them",
            );
            WhoamiAnswer::JsonPointer("/".into())
        }
    };
    let skip_pre_login = match w.pre_login.as_deref() {
        None | Some("ask") => false,
        Some("skip") => true,
        Some(other) => {
            c.fail(
                &format!("{key}.whoami.pre_login"),
                format!("{other:?} is not a choice here: use ask or skip"),
            );
            false
        }
    };
    IdentitySource::Whoami {
        path: w.path.clone(),
        answer,
        after_each_answer: w.after_each_answer,
        skip_pre_login,
    }
}
