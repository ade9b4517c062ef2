//! `mfa.login` and `mfa.basic_auth`: which requests are the app's logins, where they carry the
//! user name, and what a successful one looks like.

use super::{check_pointer, is_app_page, is_plain_path};
use crate::config::checker::Checker;
use crate::config::login_rule::{BodyKind, LoginRule, SuccessRule, UsernameField};
use crate::config::model::BasicAuth;
use crate::config::raw::{RawBasicAuth, RawLoginRule, RawMfa};
use http::{Method, StatusCode};

/// The app's login rules, each checked, and none hidden behind an earlier one.
pub(super) fn login_rules(
    c: &mut Checker,
    key: &str,
    raw: &RawMfa,
    basic_auth: bool,
) -> Vec<LoginRule> {
    if raw.login.is_empty() && !basic_auth {
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
    numbered.into_iter().map(|(_, r)| r).collect()
}

fn login_rule(c: &mut Checker, key: &str, raw: &RawLoginRule) -> Option<LoginRule> {
    let before = c.errors.len();
    let (anywhere, path) = rule_path(c, key, raw);
    let method = method(c, key, raw);
    let body = body(c, key, raw);
    let username = username(c, key, body, raw)?;
    let success = success(c, key, raw);
    if c.errors.len() != before {
        return None;
    }
    Some(LoginRule {
        path: raw.path.clone(),
        route: crate::wire::spelling::canonical_path(path).into_owned(),
        anywhere,
        method: method?,
        body,
        username,
        username_required: raw.username_required,
        success,
    })
}

/// The path, and whether it holds at the end of any path.
fn rule_path<'a>(c: &mut Checker, key: &str, raw: &'a RawLoginRule) -> (bool, &'a str) {
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
    (anywhere, path)
}

fn method(c: &mut Checker, key: &str, raw: &RawLoginRule) -> Option<Method> {
    match raw.method.as_deref().unwrap_or("POST") {
        m @ ("POST" | "PUT" | "PATCH") => Method::from_bytes(m.as_bytes()).ok(),
        other => {
            c.fail(
                &format!("{key}.method"),
                format!("{other:?}: a login is a POST, PUT or PATCH (upper case)"),
            );
            None
        }
    }
}

fn body(c: &mut Checker, key: &str, raw: &RawLoginRule) -> BodyKind {
    match raw.body.as_deref() {
        None | Some("form" | "multipart") => BodyKind::Form,
        Some("json") => BodyKind::Json,
        Some(other) => {
            c.fail(
                &format!("{key}.body"),
                format!("{other:?} is not a body kind: use form (urlencoded or multipart) or json"),
            );
            BodyKind::Form
        }
    }
}

/// Where the user name is; `None` when the rule names it in the other body kind's way.
fn username(
    c: &mut Checker,
    key: &str,
    body: BodyKind,
    raw: &RawLoginRule,
) -> Option<UsernameField> {
    match (body, &raw.username_field, &raw.username_pointer) {
        (BodyKind::Form, Some(field), None) => {
            // An empty name (or one only spaces) would read no user from any body.
            if field.trim().is_empty() || field.contains(['\0', '=', '&']) {
                c.fail(
                    &format!("{key}.username_field"),
                    format!("{field:?} is not a form field name"),
                );
            }
            Some(UsernameField::Form(field.clone()))
        }
        (BodyKind::Form, None, None) => Some(UsernameField::Form("username".into())),
        (BodyKind::Json, None, Some(pointer)) => {
            check_pointer(c, &format!("{key}.username_pointer"), pointer);
            Some(UsernameField::JsonPointer(pointer.clone()))
        }
        (BodyKind::Json, None, None) => Some(UsernameField::JsonPointer("/username".into())),
        (BodyKind::Form, _, Some(_)) => {
            c.fail(
                &format!("{key}.username_pointer"),
                "a form login names its field with username_field",
            );
            None
        }
        (BodyKind::Json, Some(_), _) => {
            c.fail(
                &format!("{key}.username_field"),
                "a JSON login names the user with username_pointer (e.g. /username)",
            );
            None
        }
    }
}

fn success(c: &mut Checker, key: &str, raw: &RawLoginRule) -> SuccessRule {
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
    SuccessRule {
        statuses,
        set_cookie: raw
            .success
            .set_cookie
            .as_ref()
            .map_or_else(Vec::new, |n| n.list().to_vec()),
        json_pointer: raw.success.json_pointer.clone(),
    }
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

/// `basic_auth`: the check is a GET the gateway sends with the credential, so it must be a
/// path of the app (a query is allowed: Tomcat's manager takes commands in it).
pub(super) fn basic_auth(c: &mut Checker, key: &str, raw: &RawBasicAuth) -> BasicAuth {
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
            paths.push(crate::wire::spelling::canonical_path(path).into_owned());
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
