//! The `mfa:` block of an app: login rules, the app's session credentials, policy and timers.

mod identity;
mod login_rules;
mod paths;
mod regulation;
mod session;

use super::checker::{parse_cidr, Checker};
use super::model::{AppMfa, Normalize, Policy, PolicyOverride};
use super::raw::RawMfa;
use std::time::Duration;

pub fn app_mfa(
    c: &mut Checker,
    key: &str,
    raw: &RawMfa,
    app_name: &str,
    display_name: &str,
) -> AppMfa {
    let realm = realm(c, key, raw, app_name);
    let policy = parse_policy(c, &format!("{key}.policy"), raw.policy.as_deref());
    let normalize = identity::normalize(c, key, raw);
    let overrides = overrides(c, key, raw, &normalize);
    let basic_auth = raw
        .basic_auth
        .as_ref()
        .map(|b| login_rules::basic_auth(c, &format!("{key}.basic_auth"), b));
    let login = login_rules::login_rules(c, key, raw, basic_auth.is_some());
    let token = session::token(c, key, raw);
    session::session_cookies(c, key, raw, token.is_some() || basic_auth.is_some());
    let session_before_login = session::before_login(c, key, raw);
    let resealed = session::resealed(c, key, raw);
    let paths = paths::paths(c, key, raw, &login);
    let login_page = paths::page(c, key, "login_page", &raw.login_page);
    let home_page = paths::page(c, key, "home_page", &raw.home_page);
    let language = language(c, key, raw);
    let bypass_networks = networks(c, &format!("{key}.bypass.networks"), &raw.bypass.networks);
    let identity = identity::identity(c, key, raw, &login, &session_before_login);
    let timers = timers(c, key, raw);
    let regulation = regulation::regulation(c, &format!("{key}.regulation"), &raw.regulation);
    let enrollment = super::enrollment::enrollment(
        c,
        &format!("{key}.enrollment"),
        raw.enrollment.as_ref(),
        &normalize,
    );

    AppMfa {
        realm,
        policy,
        overrides,
        issuer: raw
            .issuer
            .clone()
            .unwrap_or_else(|| display_name.to_string()),
        login,
        login_page,
        home_page,
        language,
        session_cookies: raw.session_cookies.clone(),
        token,
        logout: paths.logout,
        refuse: paths.refuse,
        session_before_login,
        refuse_credentials: session::refused_credentials(raw),
        resealed_cookies: raw.resealed_cookies.clone(),
        resealed,
        basic_auth,
        normalize,
        identity,
        challenge_timeout: timers.challenge_timeout,
        max_attempts: timers.max_attempts,
        totp_skew: timers.totp_skew,
        idle_timeout: timers.idle_timeout,
        absolute_timeout: timers.absolute_timeout,
        bypass_paths: paths.bypass,
        bypass_networks,
        regulation,
        enrollment,
    }
}

/// The realm: apps that share it share their users and factors.
fn realm(c: &mut Checker, key: &str, raw: &RawMfa, app_name: &str) -> String {
    let realm = raw.realm.clone().unwrap_or_else(|| app_name.to_string());
    if realm.is_empty()
        || !realm
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.'))
    {
        c.fail(
            &format!("{key}.realm"),
            format!("{realm:?} is not a valid realm: use letters, digits, `.`, `-` and `_`"),
        );
    }
    realm
}

fn parse_policy(c: &mut Checker, key: &str, raw: Option<&str>) -> Policy {
    match raw {
        None | Some("required") => Policy::Required,
        Some("optional") => Policy::Optional,
        Some(other) => {
            c.fail(
                key,
                format!("{other:?} is not a policy: use required or optional"),
            );
            Policy::Required
        }
    }
}

fn overrides(
    c: &mut Checker,
    key: &str,
    raw: &RawMfa,
    normalize: &Normalize,
) -> Vec<PolicyOverride> {
    let mut overrides = Vec::new();
    for (i, o) in raw.overrides.iter().enumerate() {
        let okey = format!("{key}.overrides[{i}]");
        let policy = parse_policy(c, &format!("{okey}.policy"), Some(&o.policy));
        let pattern = o
            .pattern
            .as_deref()
            .and_then(|p| match regex::Regex::new(p) {
                Ok(r) => Some(r),
                Err(e) => {
                    c.fail(
                        &format!("{okey}.pattern"),
                        format!("{p:?} is not a valid regular expression: {e}"),
                    );
                    None
                }
            });
        if o.users.is_empty() && o.pattern.is_none() {
            c.fail(&okey, "an override names users, a pattern, or both");
        }
        overrides.push(PolicyOverride {
            users: o.users.iter().map(|u| normalize.apply(u)).collect(),
            pattern,
            policy,
        });
    }
    overrides
}

/// The language of the gateway's pages: `None` follows the browser.
fn language(c: &mut Checker, key: &str, raw: &RawMfa) -> Option<crate::i18n::Lang> {
    match raw.language.as_deref() {
        None | Some("auto") => None,
        Some(tag) => match crate::i18n::Lang::ALL.into_iter().find(|l| l.code() == tag) {
            Some(lang) => Some(lang),
            None => {
                let shipped: Vec<&str> = crate::i18n::Lang::ALL.iter().map(|l| l.code()).collect();
                c.fail(
                    &format!("{key}.language"),
                    format!(
                        "{tag:?} is not a shipped language: use auto or one of {}",
                        shipped.join(", ")
                    ),
                );
                None
            }
        },
    }
}

/// How long a challenge and a session last, and how many tries a challenge allows.
struct Timers {
    max_attempts: u32,
    totp_skew: u8,
    challenge_timeout: Duration,
    idle_timeout: Duration,
    absolute_timeout: Duration,
}

fn timers(c: &mut Checker, key: &str, raw: &RawMfa) -> Timers {
    let max_attempts = raw.max_attempts.unwrap_or(5);
    if !(1..=100).contains(&max_attempts) {
        c.fail(&format!("{key}.max_attempts"), "must be between 1 and 100");
    }
    let totp_skew = raw.totp_skew.unwrap_or(1);
    if totp_skew > 2 {
        c.fail(
            &format!("{key}.totp_skew"),
            "at most 2 steps either side (RFC 6238 recommends 1)",
        );
    }
    let challenge_timeout = c.duration(
        &format!("{key}.challenge_timeout"),
        raw.challenge_timeout.as_deref(),
        Duration::from_secs(300),
    );
    let idle_timeout = c.duration(
        &format!("{key}.idle_timeout"),
        raw.idle_timeout.as_deref(),
        Duration::from_secs(30 * 60),
    );
    let absolute_timeout = c.duration(
        &format!("{key}.absolute_timeout"),
        raw.absolute_timeout.as_deref(),
        Duration::from_secs(12 * 3600),
    );
    if idle_timeout > absolute_timeout {
        c.fail(
            &format!("{key}.idle_timeout"),
            "must not be longer than absolute_timeout",
        );
    }

    Timers {
        max_attempts,
        totp_skew,
        challenge_timeout,
        idle_timeout,
        absolute_timeout,
    }
}

/// A list of addresses and CIDR ranges; each one that is neither is named.
pub(super) fn networks(c: &mut Checker, key: &str, texts: &[String]) -> Vec<ipnet::IpNet> {
    let mut nets = Vec::new();
    for (i, text) in texts.iter().enumerate() {
        match parse_cidr(text) {
            Some(net) => nets.push(net),
            None => c.fail(
                &format!("{key}[{i}]"),
                format!("{text:?} is not an IP address or CIDR range"),
            ),
        }
    }
    nets
}

pub(super) fn check_pointer(c: &mut Checker, key: &str, pointer: &str) {
    if !pointer.starts_with('/') {
        c.fail(
            key,
            format!("{pointer:?} is not a JSON pointer: write it like /token or /data/user"),
        );
    }
}

/// A path the gateway itself asks the app for: a plain path, and a query if any.
pub(super) fn is_app_page(p: &str) -> bool {
    let (plain, query) = p.split_once('?').unwrap_or((p, ""));
    is_plain_path(plain) && !query.contains(['#', ' '])
}

pub(super) fn is_plain_path(p: &str) -> bool {
    // `//host/…` is a link to another site (protocol-relative), never a path of this one.
    p.starts_with('/')
        && !p.starts_with("//")
        && !p.contains(['?', '#', '%', '\\', ' '])
        && !p.split('/').any(|s| s == "." || s == "..")
}
