//! `mfa.enrollment`: who may set up a user's first factor. Written as a word (`invite`, or the
//! open-ended `first_login`) or as a map that bounds first-login enrollment:
//!
//! ```yaml
//! enrollment:
//!   first_login:
//!     until: 2027-01-31     # a date (through that day, UTC) or an RFC 3339 time
//!     for: 14d              # from the realm's first first-login enrollment
//!     users: [alice, bob]   # and/or pattern: "^ops-"
//!   otherwise: invite       # or refuse
//! ```
//!
//! Omitted, it is `invite`: on an app that already has users, whoever first signs in with a
//! password must not be the one who sets that account's second factor.

use super::checker::{parse_duration, Checker};
use super::model::{Closed, Enrollment, FirstLogin, Normalize};
use serde_yaml::Value;

pub(super) fn enrollment(
    c: &mut Checker,
    key: &str,
    raw: Option<&Value>,
    normalize: &Normalize,
) -> Enrollment {
    let Some(raw) = raw else {
        return Enrollment::Invite;
    };
    match raw {
        Value::String(word) if word == "invite" => Enrollment::Invite,
        Value::String(word) if word == "first_login" => {
            c.warn(
                key,
                "first_login without an end or a list of users: on an app that already has users, \
                 whoever first signs in with a user's password sets that account's second factor, \
                 for as long as this holds (a password stolen before the rollout is enough). Bound it \
                 (first_login: {until: 2027-01-31} or {for: 14d}, or users/pattern) and let the \
                 rest enroll with `mfa-gateway user invite` (otherwise: invite)",
            );
            Enrollment::FirstLogin(FirstLogin {
                until: None,
                window: None,
                users: Vec::new(),
                pattern: None,
                otherwise: Closed::Invite,
            })
        }
        Value::Mapping(map) => window(c, key, map, normalize),
        other => {
            c.fail(
                key,
                format!(
                    "{} is not an enrollment mode: use invite, first_login, or a map with first_login (until, for, users, pattern) and otherwise",
                    shown(other)
                ),
            );
            Enrollment::Invite
        }
    }
}

fn window(
    c: &mut Checker,
    key: &str,
    map: &serde_yaml::Mapping,
    normalize: &Normalize,
) -> Enrollment {
    let mut first = FirstLogin {
        until: None,
        window: None,
        users: Vec::new(),
        pattern: None,
        otherwise: Closed::Invite,
    };
    let mut bounds = None;
    for (name, value) in map {
        match name.as_str() {
            Some("first_login") => bounds = Some(value),
            Some("otherwise") => {
                first.otherwise = match value.as_str() {
                    Some("invite") => Closed::Invite,
                    Some("refuse") => Closed::Refuse,
                    _ => {
                        c.fail(
                            &format!("{key}.otherwise"),
                            format!(
                                "{} is not what a closed enrollment does: use invite or refuse",
                                shown(value)
                            ),
                        );
                        Closed::Invite
                    }
                }
            }
            _ => c.fail(
                &format!("{key}.{}", name.as_str().unwrap_or("?")),
                "unknown key: an enrollment map has first_login and otherwise",
            ),
        }
    }
    let key = format!("{key}.first_login");
    let Some(Value::Mapping(bounds)) = bounds else {
        c.fail(
            &key,
            "first_login is needed, with until, for, users or pattern (who may enroll at first sign-in, and until when)",
        );
        return Enrollment::FirstLogin(first);
    };
    for (name, value) in bounds {
        let here = format!("{key}.{}", name.as_str().unwrap_or("?"));
        match name.as_str() {
            Some("until") => first.until = until(c, &here, value),
            Some("for") => {
                first.window = match value.as_str().map(parse_duration) {
                    Some(Some(d)) if !d.is_zero() => Some(d),
                    _ => {
                        c.fail(
                            &here,
                            format!("{} is not a duration: write e.g. 14d or 72h", shown(value)),
                        );
                        None
                    }
                }
            }
            Some("users") => match value.as_sequence() {
                Some(list) => {
                    for (i, user) in list.iter().enumerate() {
                        match user.as_str() {
                            Some(u) if !u.trim().is_empty() => {
                                first.users.push(normalize.apply(u.trim()))
                            }
                            _ => c.fail(&format!("{here}[{i}]"), "a user name is text"),
                        }
                    }
                }
                None => c.fail(&here, "a list of user names, e.g. [alice, bob]"),
            },
            Some("pattern") => match value.as_str().map(regex::Regex::new) {
                Some(Ok(p)) => first.pattern = Some(p),
                Some(Err(e)) => c.fail(&here, format!("not a valid regular expression: {e}")),
                None => c.fail(&here, "a regular expression, e.g. \"^ops-\""),
            },
            _ => c.fail(
                &here,
                "unknown key: first_login has until, for, users and pattern",
            ),
        }
    }
    if first.open_ended() {
        c.fail(
            &key,
            "give until, for, users or pattern (or write `enrollment: first_login` for the open-ended form)",
        );
    }
    Enrollment::FirstLogin(first)
}

/// A date is the whole of that day (UTC): `until: 2027-01-31` still admits the 31st.
fn until(c: &mut Checker, key: &str, value: &Value) -> Option<i64> {
    let text = value.as_str().unwrap_or_default();
    let date_only = text.len() == 10;
    match crate::ops::time::parse_rfc3339(text) {
        Some(t) if date_only => Some(t.saturating_add(86_400)),
        Some(t) => Some(t),
        None => {
            c.fail(
                key,
                format!(
                    "{} is not a date or time: write e.g. 2027-01-31 or 2027-01-31T18:00:00Z",
                    shown(value)
                ),
            );
            None
        }
    }
}

fn shown(value: &Value) -> String {
    match value {
        Value::String(s) => format!("{s:?}"),
        other => serde_yaml::to_string(other)
            .map(|s| s.trim().to_string())
            .unwrap_or_else(|_| "this".into()),
    }
}
