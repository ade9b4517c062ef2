//! The app's paths the gateway treats apart: where a user signs out, which are refused, which
//! bypass the second factor (never a login), and the pages it sends the browser to.

use super::is_plain_path;
use crate::config::checker::Checker;
use crate::config::login_rule::LoginRule;
use crate::config::model::LogoutRule;
use crate::config::raw::RawMfa;
use http::Method;

pub(super) struct Paths {
    pub logout: Vec<LogoutRule>,
    pub refuse: Vec<String>,
    pub bypass: Vec<String>,
}

pub(super) fn paths(c: &mut Checker, key: &str, raw: &RawMfa, login: &[LoginRule]) -> Paths {
    let logout = logout(c, key, raw);
    let refuse = plain_paths(c, key, "refuse", &raw.refuse)
        .iter()
        .map(|p| crate::wire::spelling::canonical_path(p).into_owned())
        .collect();
    let bypass = plain_paths(c, key, "bypass.paths", &raw.bypass.paths);
    // A login under a bypass prefix would never be intercepted: the app's session would go out
    // without a second factor.
    bypass_hides_no_login(c, key, login, &bypass);
    Paths {
        logout,
        refuse,
        bypass,
    }
}

/// `logout`: paths, each perhaps with the one method that signs out.
fn logout(c: &mut Checker, key: &str, raw: &RawMfa) -> Vec<LogoutRule> {
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
    plain_paths(c, key, "logout", &bare)
        .iter()
        .zip(methods)
        .map(|(p, method)| LogoutRule {
            method,
            route: crate::wire::spelling::canonical_path(p).into_owned(),
        })
        .collect()
}

/// The entries of `name` that are plain paths; each other one is named.
fn plain_paths(c: &mut Checker, key: &str, name: &str, list: &[String]) -> Vec<String> {
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
}

fn bypass_hides_no_login(c: &mut Checker, key: &str, login: &[LoginRule], bypass_paths: &[String]) {
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
}

/// A page of the app the gateway sends the browser to (`/` unless given).
pub(super) fn page(c: &mut Checker, key: &str, name: &str, raw: &Option<String>) -> String {
    match raw {
        Some(p) if is_plain_path(p) => p.clone(),
        Some(p) => {
            c.fail(
                &format!("{key}.{name}"),
                format!("{p:?} must be a plain path starting with `/`"),
            );
            "/".into()
        }
        None => "/".into(),
    }
}
