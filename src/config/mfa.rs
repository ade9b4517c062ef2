//! The `mfa:` block of an app: login rules, the app's session credentials, policy and timers.

use super::model::{
    AppMfa, BasicAuth, IdentitySource, Limit, LogoutRule, Normalize, Policy, PolicyOverride,
    RefusedCredentials, Regulation, Resealed, TokenRule, WhoamiAnswer,
};
use super::raw::{RawBasicAuth, RawBeforeLogin, RawIdentity, RawLimit, RawRegulation};
use super::raw::{RawLoginRule, RawMfa};
use super::validate::{parse_cidr, Checker};
use crate::intercept::rules::{BodyKind, LoginRule, SuccessRule, UsernameField};
use http::{Method, StatusCode};
use std::time::Duration;

pub fn app_mfa(
    c: &mut Checker,
    key: &str,
    raw: &RawMfa,
    app_name: &str,
    display_name: &str,
) -> AppMfa {
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
    let policy = parse_policy(c, &format!("{key}.policy"), raw.policy.as_deref());
    let normalize = normalize(c, key, raw);
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
    let basic_auth = raw
        .basic_auth
        .as_ref()
        .map(|b| basic_auth(c, &format!("{key}.basic_auth"), b));
    if raw.login.is_empty() && basic_auth.is_none() {
        c.fail(
            &format!("{key}.login"),
            "at least one login rule (or basic_auth) is needed: the gateway must know which requests are logins",
        );
    }
    let numbered: Vec<(usize, LoginRule)> = raw
        .login
        .iter()
        .enumerate()
        .filter_map(|(i, r)| Some((i, login_rule(c, &format!("{key}.login[{i}]"), r)?)))
        .collect();
    shadowed_rules(c, key, &numbered);
    let login: Vec<LoginRule> = numbered.into_iter().map(|(_, r)| r).collect();

    let token = raw.token.as_ref().map(|t| {
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
    });
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
    if raw.session_cookies.is_empty() && token.is_none() && basic_auth.is_none() {
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

    let listed = |name: &str| raw.session_cookies.iter().any(|c| c == name);
    let session_before_login = match &raw.session_before_login {
        RawBeforeLogin::All(true) => raw.session_cookies.clone(),
        RawBeforeLogin::All(false) => Vec::new(),
        RawBeforeLogin::Some(names) => names.clone(),
    };
    for (key_name, names) in [
        ("session_before_login", &session_before_login),
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

    let resealed = match raw.resealed.as_deref() {
        None | Some("keep") => Resealed::Keep,
        Some("follow") => Resealed::Follow,
        Some(other) => {
            c.fail(
                &format!("{key}.resealed"),
                format!("{other:?} is not keep or follow"),
            );
            Resealed::Keep
        }
    };

    // Compared with requests in canonical spelling, like login routes. An entry may name the
    // one method that signs out ("POST /logout": Redmine's GET only asks).
    let mut methods = Vec::new();
    let bare: Vec<String> = raw
        .logout
        .iter()
        .enumerate()
        .map(|(i, entry)| match entry.split_once(' ') {
            Some((method, path)) => {
                match Method::from_bytes(method.as_bytes()) {
                    Ok(m) if method.bytes().all(|b| b.is_ascii_uppercase()) => {
                        methods.push(Some(m))
                    }
                    _ => {
                        c.fail(
                            &format!("{key}.logout[{i}]"),
                            format!("{method:?} is not a method: write e.g. \"POST /logout\""),
                        );
                        methods.push(None);
                    }
                }
                path.trim().to_string()
            }
            None => {
                methods.push(None);
                entry.clone()
            }
        })
        .collect();
    let mut paths = |list: &[String], name: &str| -> Vec<String> {
        list.iter()
            .enumerate()
            .filter_map(|(i, p)| {
                if is_plain_path(p) {
                    Some(p.clone())
                } else {
                    c.fail(
                        &format!("{key}.{name}[{i}]"),
                        format!("{p:?} must be a plain path starting with `/`"),
                    );
                    None
                }
            })
            .collect()
    };
    let logout = paths(&bare, "logout")
        .iter()
        .zip(methods)
        .map(|(p, method)| LogoutRule {
            method,
            route: crate::intercept::spelling::canonical_path(p).into_owned(),
        })
        .collect();
    let refuse = paths(&raw.refuse, "refuse")
        .iter()
        .map(|p| crate::intercept::spelling::canonical_path(p).into_owned())
        .collect();
    let bypass_paths = paths(&raw.bypass.paths, "bypass.paths");
    // A login under a bypass prefix would never be intercepted: the app's session would go out
    // without a second factor.
    for (i, rule) in login.iter().enumerate() {
        if let (true, Some(prefix)) = (rule.anywhere, bypass_paths.first()) {
            c.fail(
                &format!("{key}.login[{i}].path"),
                format!(
                    "{:?} is a login under any path, so one under the bypass path {prefix:?} would not be intercepted: drop the bypass paths",
                    rule.path
                ),
            );
        }
        if let Some(prefix) = bypass_paths
            .iter()
            .find(|p| crate::wire::path::is_under(&rule.path, p))
        {
            c.fail(
                &format!("{key}.login[{i}].path"),
                format!(
                    "{:?} is under the bypass path {prefix:?}: the login would not be intercepted",
                    rule.path
                ),
            );
        }
    }
    let mut page = |name: &str, raw: &Option<String>| match raw {
        Some(p) if is_plain_path(p) => p.clone(),
        Some(p) => {
            c.fail(
                &format!("{key}.{name}"),
                format!("{p:?} must be a plain path starting with `/`"),
            );
            "/".into()
        }
        None => "/".into(),
    };
    let login_page = page("login_page", &raw.login_page);
    let home_page = page("home_page", &raw.home_page);
    let language = match raw.language.as_deref() {
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
    };
    let bypass_networks = networks(c, &format!("{key}.bypass.networks"), &raw.bypass.networks);

    let identity = match raw.identity.as_ref() {
        Some(i) => identity(c, &format!("{key}.identity"), i, &raw.session_cookies),
        None => {
            c.fail(&format!("{key}.identity"), NO_IDENTITY);
            IdentitySource::LoginField
        }
    };

    // `pre_login: skip` is the config's word that a pre-login cookie alone signs nobody in:
    // only believable when every login signs in with another cookie, named in its success.
    if let IdentitySource::Whoami {
        skip_pre_login: true,
        ..
    } = &identity
    {
        if session_before_login.is_empty()
            || session_before_login
                .iter()
                .any(|n| super::model::signs_in_with(&login, n))
        {
            c.fail(
                &format!("{key}.identity.whoami.pre_login"),
                "skip is only for a pre-login session that signs nobody in on its own: list it in \
                 session_before_login, and give every login rule a success.set_cookie of another \
                 cookie (phpMyAdmin: its session beside pmaAuth-1)",
            );
        }
    }
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

    let regulation = regulation(c, &format!("{key}.regulation"), &raw.regulation);
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
        logout,
        refuse,
        session_before_login,
        refuse_credentials: RefusedCredentials {
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
        },
        resealed_cookies: raw.resealed_cookies.clone(),
        resealed,
        basic_auth,
        normalize,
        identity,
        challenge_timeout,
        max_attempts,
        totp_skew,
        idle_timeout,
        absolute_timeout,
        bypass_paths,
        bypass_networks,
        regulation,
        enrollment,
    }
}

/// A list of addresses and CIDR ranges; each one that is neither is named.
fn networks(c: &mut Checker, key: &str, texts: &[String]) -> Vec<ipnet::IpNet> {
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

/// The defaults: 5 wrong codes per user in 10 minutes lock the user for 15 (the issue's
/// figures; NIST 800-63B allows up to 100); a client address gets more room because several
/// people can share one (an office NAT); the app's own login is throttled generously, only
/// against credential stuffing.
fn regulation(c: &mut Checker, key: &str, raw: &RawRegulation) -> Regulation {
    let shared_networks = networks(c, &format!("{key}.shared_networks"), &raw.shared_networks);
    // A range this wide is everyone (or every client behind a proxy missing from
    // trusted_proxies): the address-wide lock, the defence against guessing across users,
    // would be off for all.
    for (i, net) in shared_networks.iter().enumerate() {
        let widest = if net.addr().is_ipv4() { 8 } else { 32 };
        if net.prefix_len() < widest {
            c.fail(
                &format!("{key}.shared_networks[{i}]"),
                format!("{net} is too wide for a shared network (at least /{widest}): name the office or VPN addresses"),
            );
        }
    }
    let minutes = |m: u64| Duration::from_secs(m * 60);
    let day = Duration::from_secs(86_400);
    let mut limit = |name: &str, raw: &Option<RawLimit>, default: Limit| -> Option<Limit> {
        let Some(raw) = raw else {
            return Some(default);
        };
        let key = format!("{key}.{name}");
        let failures = raw.failures.unwrap_or(default.failures);
        if failures > 10_000 {
            c.fail(
                &format!("{key}.failures"),
                "at most 10000 (0 switches it off)",
            );
        }
        let within = c.duration(
            &format!("{key}.within"),
            raw.within.as_deref(),
            default.within,
        );
        let lock = c.duration(&format!("{key}.lock"), raw.lock.as_deref(), default.lock);
        let max_lock = c.duration(
            &format!("{key}.max_lock"),
            raw.max_lock.as_deref(),
            default.max_lock.max(lock),
        );
        if max_lock < lock {
            c.fail(
                &format!("{key}.max_lock"),
                "must not be shorter than lock (locks grow from lock to max_lock)",
            );
        }
        let max_failures = raw.max_failures.unwrap_or(default.max_failures);
        (failures > 0).then_some(Limit {
            failures,
            within,
            lock,
            max_lock,
            max_failures,
        })
    };
    Regulation {
        shared_networks,
        // With a stolen password, from anywhere: 10 guesses, then an hour, two, four ... up to
        // a day between each 10, and one a day after 100 (NIST SP 800-63B §5.2.2). The owner's
        // own browser is judged apart (`device`), so this never locks her out of it.
        user: limit(
            "user",
            &raw.user,
            Limit {
                failures: 10,
                within: minutes(60),
                lock: minutes(60),
                max_lock: day,
                max_failures: 100,
            },
        ),
        device: limit(
            "device",
            &raw.device,
            Limit {
                failures: 5,
                within: minutes(10),
                lock: minutes(15),
                max_lock: day,
                max_failures: 0,
            },
        ),
        client: limit(
            "client",
            &raw.client,
            Limit {
                failures: 20,
                within: minutes(10),
                lock: minutes(15),
                max_lock: day,
                max_failures: 0,
            },
        ),
        network: limit(
            "network",
            &raw.network,
            Limit {
                failures: 100,
                within: minutes(10),
                lock: minutes(15),
                max_lock: day,
                max_failures: 0,
            },
        ),
        login_client: limit(
            "login_client",
            &raw.login_client,
            Limit {
                failures: 50,
                within: minutes(5),
                lock: minutes(10),
                max_lock: day,
                max_failures: 0,
            },
        ),
        // The name typed is not yet an account (the app refused it): slowed, never refused
        // for long, so that wrong passwords typed as someone cannot keep them out.
        login_user: limit(
            "login_user",
            &raw.login_user,
            Limit {
                failures: 20,
                within: minutes(10),
                lock: Duration::from_secs(30),
                max_lock: minutes(5),
                max_failures: 0,
            },
        ),
    }
}

/// `identity.normalize` (and the older `case_fold_users: true`, which is `casefold`).
fn normalize(c: &mut Checker, key: &str, raw: &RawMfa) -> Normalize {
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

/// A login rule that an earlier one matches first is never used (the first matching rule
/// decides), so its user-name field would never be read: a configuration error naming both.
fn shadowed_rules(c: &mut Checker, key: &str, rules: &[(usize, LoginRule)]) {
    for (at, (j, later)) in rules.iter().enumerate() {
        let earlier = rules
            .get(..at)
            .unwrap_or_default()
            .iter()
            .find(|(_, first)| first.matches(&later.method, &later.route));
        if let Some((i, first)) = earlier {
            c.fail(
                &format!("{key}.login[{j}].path"),
                format!(
                    "{} {:?} is never used: login[{i}] ({} {:?}) matches the same requests first; \
                     merge them, or put the more specific rule first",
                    later.method, later.path, first.method, first.path
                ),
            );
        }
    }
}

/// Why an app must say where the app names its user, and how to opt out knowingly.
const NO_IDENTITY: &str = "missing: say where the app names the user it signed in: whoami (a \
path of the app that answers who is signed in, with json_pointer or pattern), header, \
json_pointer or cookie. Or, knowingly, typed_name: true takes the name typed at login: an app \
that cleans or folds names (alice. or _alice signs in as alice) can then be signed into under \
a new identity, and answers that start a session outside the login rules can only be refused";

fn identity(
    c: &mut Checker,
    key: &str,
    raw: &RawIdentity,
    session_cookies: &[String],
) -> IdentitySource {
    if let Some(cookie) = &raw.cookie {
        if raw.header.is_some()
            || raw.json_pointer.is_some()
            || raw.whoami.is_some()
            || raw.typed_name
        {
            c.fail(
                key,
                "give at most one of header, json_pointer, whoami, cookie or typed_name",
            );
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
        return IdentitySource::ResponseCookie {
            name: cookie.name.clone(),
            until: cookie.until.clone(),
        };
    }
    let sources = [
        raw.header.is_some(),
        raw.json_pointer.is_some(),
        raw.whoami.is_some(),
        raw.typed_name,
    ];
    if sources.iter().filter(|s| **s).count() > 1 {
        c.fail(
            key,
            "give at most one of header, json_pointer, whoami, cookie or typed_name",
        );
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
        (None, None, Some(w)) => {
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
        _ => {
            c.fail(
                key,
                "give at most one of header, json_pointer, whoami, cookie or typed_name",
            );
            IdentitySource::LoginField
        }
    }
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

fn login_rule(c: &mut Checker, key: &str, raw: &RawLoginRule) -> Option<LoginRule> {
    let before = c.errors.len();
    // `*/j_security_check`: that path's end under any path (servlet containers take their
    // FORM login anywhere in the app).
    let (anywhere, path) = match raw.path.strip_prefix('*') {
        Some(rest) => (true, rest),
        None => (false, raw.path.as_str()),
    };
    if !is_plain_path(path) {
        c.fail(
            &format!("{key}.path"),
            format!(
                "{:?} must be a plain path starting with `/` (or `*/` and a path: that path at the end of any path)",
                raw.path
            ),
        );
    }
    let method = match raw.method.as_deref().unwrap_or("POST") {
        m @ ("POST" | "PUT" | "PATCH") => Method::from_bytes(m.as_bytes()).ok(),
        other => {
            c.fail(
                &format!("{key}.method"),
                format!("{other:?}: a login is a POST, PUT or PATCH (upper case)"),
            );
            None
        }
    };
    let body = match raw.body.as_deref() {
        None | Some("form" | "multipart") => BodyKind::Form,
        Some("json") => BodyKind::Json,
        Some(other) => {
            c.fail(
                &format!("{key}.body"),
                format!("{other:?} is not a body kind: use form (urlencoded or multipart) or json"),
            );
            BodyKind::Form
        }
    };
    let username = match (body, &raw.username_field, &raw.username_pointer) {
        (BodyKind::Form, Some(field), None) => {
            // An empty name (or one only spaces) would read no user from any body.
            if field.trim().is_empty() || field.contains(['\0', '=', '&']) {
                c.fail(
                    &format!("{key}.username_field"),
                    format!("{field:?} is not a form field name"),
                );
            }
            UsernameField::Form(field.clone())
        }
        (BodyKind::Form, None, None) => UsernameField::Form("username".into()),
        (BodyKind::Json, None, Some(pointer)) => {
            check_pointer(c, &format!("{key}.username_pointer"), pointer);
            UsernameField::JsonPointer(pointer.clone())
        }
        (BodyKind::Json, None, None) => UsernameField::JsonPointer("/username".into()),
        (BodyKind::Form, _, Some(_)) => {
            c.fail(
                &format!("{key}.username_pointer"),
                "a form login names its field with username_field",
            );
            return None;
        }
        (BodyKind::Json, Some(_), _) => {
            c.fail(
                &format!("{key}.username_field"),
                "a JSON login names the user with username_pointer (e.g. /username)",
            );
            return None;
        }
    };
    let mut statuses = Vec::new();
    for (i, code) in raw.success.status.iter().enumerate() {
        match StatusCode::from_u16(*code) {
            Ok(s) if s.is_success() || s.is_redirection() => statuses.push(s),
            _ => c.fail(
                &format!("{key}.success.status[{i}]"),
                format!("{code} is not a 2xx or 3xx status"),
            ),
        }
    }
    if let Some(p) = &raw.success.json_pointer {
        check_pointer(c, &format!("{key}.success.json_pointer"), p);
    }
    if raw.success.set_cookie.is_none() && raw.success.json_pointer.is_none() {
        c.fail(
            &format!("{key}.success"),
            "say what a successful login looks like: set_cookie (the session cookie the app \
             sets) or json_pointer (a token in the answer)",
        );
    }
    if c.errors.len() != before {
        return None;
    }
    Some(LoginRule {
        path: raw.path.clone(),
        route: crate::intercept::spelling::canonical_path(path).into_owned(),
        anywhere,
        method: method?,
        body,
        username,
        username_required: raw.username_required,
        success: SuccessRule {
            statuses,
            set_cookie: raw
                .success
                .set_cookie
                .as_ref()
                .map_or_else(Vec::new, |n| n.list().to_vec()),
            json_pointer: raw.success.json_pointer.clone(),
        },
    })
}

fn check_pointer(c: &mut Checker, key: &str, pointer: &str) {
    if !pointer.starts_with('/') {
        c.fail(
            key,
            format!("{pointer:?} is not a JSON pointer: write it like /token or /data/user"),
        );
    }
}

/// `basic_auth`: the check is a GET the gateway sends with the credential, so it must be a
/// path of the app (a query is allowed: Tomcat's manager takes commands in it).
fn basic_auth(c: &mut Checker, key: &str, raw: &RawBasicAuth) -> BasicAuth {
    let check = raw.check.list().to_vec();
    if check.is_empty() {
        c.fail(&format!("{key}.check"), "name at least one path");
    }
    for (i, path) in check.iter().enumerate() {
        if !is_app_page(path) {
            c.fail(
                &format!("{key}.check[{i}]"),
                format!(
                    "{path:?} must be a path of the app starting with `/` (a page that needs the credential and changes nothing)"
                ),
            );
        }
    }
    let mut success = Vec::new();
    for (i, code) in raw.success_status.iter().enumerate() {
        match http::StatusCode::from_u16(*code) {
            Ok(s) if s.is_success() => success.push(s),
            _ => c.fail(
                &format!("{key}.success_status[{i}]"),
                format!("{code} is not a 2xx status"),
            ),
        }
    }
    if success.is_empty() {
        success.push(http::StatusCode::OK);
    }
    let mut paths = Vec::new();
    for (i, path) in raw.paths.iter().enumerate() {
        if is_plain_path(path) {
            paths.push(crate::intercept::spelling::canonical_path(path).into_owned());
        } else {
            c.fail(
                &format!("{key}.paths[{i}]"),
                format!("{path:?} must be a plain path starting with `/`"),
            );
        }
    }
    if paths.is_empty() {
        paths.push("/".to_string());
    }
    BasicAuth {
        check,
        success,
        paths,
    }
}

/// A path the gateway itself asks the app for: a plain path, and a query if any.
fn is_app_page(p: &str) -> bool {
    let (plain, query) = p.split_once('?').unwrap_or((p, ""));
    is_plain_path(plain) && !query.contains(['#', ' '])
}

fn is_plain_path(p: &str) -> bool {
    // `//host/…` is a link to another site (protocol-relative), never a path of this one.
    p.starts_with('/')
        && !p.starts_with("//")
        && !p.contains(['?', '#', '%', '\\', ' '])
        && !p.split('/').any(|s| s == "." || s == "..")
}

/// RFC 6265 `token`: visible ASCII without separators.
fn is_cookie_name_byte(b: u8) -> bool {
    b.is_ascii_graphic() && !b"()<>@,;:\\\"/[]?={}".contains(&b)
}
