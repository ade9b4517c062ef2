//! Login rules from the config, applied to requests and to the app's answers.

use crate::wire::cookie_name::cookie_name_matches;
use http::{header, HeaderMap, Method, StatusCode};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum BodyKind {
    /// An HTML form: `application/x-www-form-urlencoded` or `multipart/form-data`, by the
    /// request's content type (a form's `enctype` decides which a browser sends).
    Form,
    Json,
}

/// Where the user name is in a login request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum UsernameField {
    /// A form field name.
    Form(String),
    /// An RFC 6901 JSON pointer, e.g. `/username` or `/credentials/email`.
    JsonPointer(String),
}

/// What a successful login answer looks like; every condition given must hold.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct SuccessRule {
    /// Status codes that can mean success (empty: any 2xx or 3xx).
    pub statuses: Vec<StatusCode>,
    /// Cookies the app sets on success, any one of them (e.g. Django's `sessionid`;
    /// phpMyAdmin's `pmaAuth-1`, `pmaAuth-1_https` over https). Empty: none needed.
    pub set_cookie: Vec<String>,
    /// A JSON pointer that must be present and not null in the answer (e.g. `/token`).
    pub json_pointer: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LoginRule {
    pub path: String,
    /// `path` in the form requests are compared in (`spelling::canonical_path`), without the
    /// leading `*` of a rule that holds anywhere.
    pub route: String,
    /// `*/j_security_check`: the route at the end of any path.
    pub anywhere: bool,
    pub method: Method,
    pub body: BodyKind,
    pub username: UsernameField,
    /// A request here without the user-name field is not a login but an ordinary request
    /// (phpMyAdmin takes a login on any POST to index.php that carries pma_username). Its
    /// answer passes the release gate, which withholds any session it starts.
    pub username_required: bool,
    pub success: SuccessRule,
}

impl LoginRule {
    /// Whether a request is (or may be, to the app) this login. `route` is the request path in
    /// canonical form. Matched liberally: every spelling the app may route to the login
    /// handler, the path info below it, and any method that can carry a body — Django and PHP
    /// dispatch `post` like `POST`, and some apps take a login on any method. Only GET, HEAD
    /// and OPTIONS, which carry no form, are left out.
    pub fn matches(&self, method: &Method, route: &str) -> bool {
        let bodiless = matches!(method.as_str(), "GET" | "HEAD" | "OPTIONS");
        let at = |tail: &str| super::spelling::same_route_or_below(tail, &self.route);
        (method == self.method || !bodiless)
            && (at(route)
                || self.anywhere
                    && route
                        .match_indices('/')
                        .any(|(i, _)| route.get(i..).is_some_and(at)))
    }

    /// Whether the app's answer says the password was right. `body` is the answer's body when
    /// the rule needs it (`json_pointer`), else may be empty.
    pub fn is_success(&self, status: StatusCode, headers: &HeaderMap, body: &[u8]) -> bool {
        self.might_succeed(status, headers)
            && self.success.json_pointer.as_deref().is_none_or(|pointer| {
                serde_json::from_slice::<serde_json::Value>(body)
                    .ok()
                    .and_then(|v| v.pointer(pointer).cloned())
                    .is_some_and(|v| !v.is_null() && v != serde_json::Value::String(String::new()))
            })
    }

    /// What the status and headers alone say: false means a failed login, whose answer can
    /// stream through untouched; true means the body must be read (to check it, or withhold it).
    pub fn might_succeed(&self, status: StatusCode, headers: &HeaderMap) -> bool {
        let status_ok = if self.success.statuses.is_empty() {
            status.is_success() || status.is_redirection()
        } else {
            self.success.statuses.contains(&status)
        };
        let cookies = &self.success.set_cookie;
        let cookie_ok = cookies.is_empty() || cookies.iter().any(|name| sets_cookie(headers, name));
        status_ok && cookie_ok
    }
}

/// A `Set-Cookie` that gives `name` a non-empty value (a deletion — empty value, `Max-Age=0` or
/// an expiry in the past — does not count).
pub fn sets_cookie(headers: &HeaderMap, name: &str) -> bool {
    !sets_cookie_value(headers, name).is_empty()
}

/// Every non-empty value the answer's `Set-Cookie` headers give `name`, deletions left out.
pub fn sets_cookie_value(headers: &HeaderMap, name: &str) -> Vec<String> {
    sets_cookies_named(headers, name)
        .into_iter()
        .map(|(_, value)| value)
        .collect()
}

/// Every (name, value) the answer's `Set-Cookie` headers set under a name `pattern` matches
/// (a configured name, `*` for a run of letters and digits), deletions left out.
pub fn sets_cookies_named(headers: &HeaderMap, pattern: &str) -> Vec<(String, String)> {
    set_cookies(headers)
        .filter(|c| !c.deleted && cookie_name_matches(c.name, pattern))
        .map(|c| (c.name.to_string(), c.value.to_string()))
        .collect()
}

/// One `Set-Cookie` of an answer.
pub struct SetCookie<'a> {
    pub name: &'a str,
    /// Kept as sent (quotes included): the browser sends it back the same way.
    pub value: &'a str,
    /// An empty value, `Max-Age=0` or less, or an expiry in 1970: the cookie is being removed.
    pub deleted: bool,
    /// The `Path` attribute, when it is a path (RFC 6265 §5.2.4: anything else is ignored).
    pub path: Option<&'a str>,
}

/// Every readable `Set-Cookie` of an answer. A line is also read as several cookies joined
/// with commas, as a client that folds header lines may (`a=1; path=/, session=x`): a cookie
/// hidden after a comma still counts. (`Expires=Thu, 01 Jan …` splits into a piece without a
/// name, which is skipped.)
pub fn set_cookies(headers: &HeaderMap) -> impl Iterator<Item = SetCookie<'_>> {
    headers
        .get_all(header::SET_COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(joined_cookies)
        .filter_map(read_set_cookie)
}

/// One cookie of a `Set-Cookie` line, if it has a name.
fn read_set_cookie(piece: &str) -> Option<SetCookie<'_>> {
    let mut parts = piece.split(';');
    let (name, value) = parts.next()?.split_once('=')?;
    let name = name.trim();
    if name.is_empty() || name.contains(' ') {
        return None;
    }
    let value = value.trim();
    let path = parts
        .clone()
        .filter_map(|attr| attr.split_once('='))
        .filter(|(key, _)| key.trim().eq_ignore_ascii_case("path"))
        .map(|(_, value)| value.trim())
        .next_back()
        .filter(|p| p.starts_with('/'));
    Some(SetCookie {
        name,
        value,
        deleted: value.trim_matches('"').is_empty() || removes(parts),
        path,
    })
}

/// The cookies an answer leaves the browser with, as it applies the answer's `Set-Cookie`
/// lines in order: per name, the last one decides (phpMyAdmin sets `pmaAuth-1` and then
/// removes it in one answer).
pub fn final_set_cookies(headers: &HeaderMap) -> Vec<SetCookie<'_>> {
    let mut last: Vec<SetCookie<'_>> = Vec::new();
    for cookie in set_cookies(headers) {
        last.retain(|c| c.name != cookie.name);
        last.push(cookie);
    }
    last
}

/// The cookies of one `Set-Cookie` line: split at each comma that is followed by `name=` (a
/// comma inside `Expires=Thu, 01 Jan …` is not).
fn joined_cookies(line: &str) -> impl Iterator<Item = &str> {
    let mut rest = Some(line);
    std::iter::from_fn(move || {
        let text = rest?;
        let mut from = 0;
        while let Some(at) = text.get(from..).and_then(|t| t.find(',')).map(|i| i + from) {
            let after = text.get(at + 1..).unwrap_or("");
            let head = after.split(';').next().unwrap_or("");
            let starts_cookie = head
                .split_once('=')
                .is_some_and(|(n, _)| !n.trim().is_empty() && !n.trim().contains(' '));
            if starts_cookie {
                rest = Some(after);
                return text.get(..at);
            }
            from = at + 1;
        }
        rest = None;
        Some(text)
    })
}

/// Whether a cookie's attributes remove it, as a browser reads them: the last `Max-Age` wins
/// over any `Expires`; without one, an expiry in 1970 removes it.
fn removes<'a>(attributes: impl Iterator<Item = &'a str>) -> bool {
    let mut max_age = None;
    let mut expired = false;
    for attr in attributes {
        let attr = attr.trim();
        let Some((key, value)) = attr.split_once('=') else {
            continue;
        };
        if key.trim().eq_ignore_ascii_case("max-age") {
            // An unreadable Max-Age is ignored by browsers.
            if let Ok(seconds) = value.trim().parse::<i64>() {
                max_age = Some(seconds <= 0);
            }
        } else if key.trim().eq_ignore_ascii_case("expires") {
            expired = value.trim().to_ascii_lowercase().contains("1970");
        }
    }
    max_age.unwrap_or(expired)
}

/// Removes the `Set-Cookie` lines that `drop` picks (by cookie name) from an answer; lines that
/// are not text go too, as nobody can say what they set. Returns how many went.
pub fn remove_set_cookies(headers: &mut HeaderMap, drop: impl Fn(&str) -> bool) -> usize {
    // By the name alone, also one with a space in it that `set_cookies` does not read (PHP
    // reads `my sid` as `my_sid`).
    remove_lines(headers, |piece| {
        let head = piece.split(';').next().unwrap_or("");
        head.split_once('=').is_some_and(|(n, _)| drop(n.trim()))
    })
}

/// Removes the `Set-Cookie` lines that set a cookie `drop` picks (by name, value and whether
/// it removes the cookie); lines that are not text go too. Returns how many went.
pub fn remove_set_cookies_where(
    headers: &mut HeaderMap,
    drop: impl Fn(&SetCookie<'_>) -> bool,
) -> usize {
    remove_lines(headers, |piece| {
        read_set_cookie(piece).is_some_and(|c| drop(&c))
    })
}

/// Removes the `Set-Cookie` lines of which any cookie (also one joined after a comma) is
/// picked, and lines that are not text.
fn remove_lines(headers: &mut HeaderMap, picked: impl Fn(&str) -> bool) -> usize {
    let lines: Vec<header::HeaderValue> = headers
        .get_all(header::SET_COOKIE)
        .iter()
        .cloned()
        .collect();
    let before = lines.len();
    headers.remove(header::SET_COOKIE);
    for line in lines {
        let keep = line
            .to_str()
            .is_ok_and(|text| !joined_cookies(text).any(&picked));
        if keep {
            headers.append(header::SET_COOKIE, line);
        }
    }
    before - headers.get_all(header::SET_COOKIE).iter().count()
}

#[cfg(test)]
mod tests {
    use super::*;
    use http::HeaderValue;

    fn django() -> LoginRule {
        LoginRule {
            path: "/admin/login/".into(),
            route: "/admin/login/".into(),
            anywhere: false,
            method: Method::POST,
            body: BodyKind::Form,
            username: UsernameField::Form("username".into()),
            username_required: false,
            success: SuccessRule {
                statuses: vec![StatusCode::FOUND],
                set_cookie: vec!["sessionid".into()],
                json_pointer: None,
            },
        }
    }

    #[test]
    fn a_rule_that_holds_anywhere_matches_the_end_of_any_path() {
        let rule = LoginRule {
            path: "*/j_security_check".into(),
            route: "/j_security_check".into(),
            anywhere: true,
            ..django()
        };
        for route in [
            "/j_security_check",
            "/examples/j_security_check",
            "/examples/jsp/security/protected/j_security_check",
            "/examples/j_security_check/",
        ] {
            assert!(rule.matches(&Method::POST, route), "{route}");
        }
        for route in [
            "/examples/j_security_checkx",
            "/examples/xj_security_check",
            "/",
        ] {
            assert!(!rule.matches(&Method::POST, route), "{route}");
        }
        assert!(!rule.matches(&Method::GET, "/examples/j_security_check"));
        let exact = django();
        assert!(!exact.matches(&Method::POST, "/x/admin/login/"));
    }

    fn token_api() -> LoginRule {
        LoginRule {
            path: "/api/login".into(),
            route: "/api/login".into(),
            anywhere: false,
            method: Method::POST,
            body: BodyKind::Json,
            username: UsernameField::JsonPointer("/credentials/email".into()),
            username_required: false,
            success: SuccessRule {
                statuses: vec![StatusCode::OK],
                set_cookie: vec![],
                json_pointer: Some("/token".into()),
            },
        }
    }

    fn cookies(lines: &[&str]) -> HeaderMap {
        let mut h = HeaderMap::new();
        for line in lines {
            h.append(header::SET_COOKIE, HeaderValue::from_str(line).unwrap());
        }
        h
    }

    #[test]
    fn every_spelling_and_body_method_of_the_route_matches() {
        use super::super::spelling::canonical_path;
        let r = django();
        let post = |path: &str| r.matches(&Method::POST, &canonical_path(path));
        for path in [
            "/admin/login/",
            "/admin/login",
            "/ADMIN/Login/",
            "/admin/login;x=1",
            "/%61dmin/%6Cogin/",
            "/admin/login/x",
        ] {
            assert!(post(path), "{path}");
        }
        assert!(!post("/admin/logins/"));
        assert!(!post("/admin/"));
        let route = canonical_path("/admin/login/");
        assert!(!r.matches(&Method::GET, &route));
        assert!(!r.matches(&Method::HEAD, &route));
        assert!(r.matches(&Method::PUT, &route));
        assert!(r.matches(&Method::from_bytes(b"post").unwrap(), &route));
    }

    #[test]
    fn django_success_needs_the_redirect_and_the_session_cookie() {
        let r = django();
        let ok = cookies(&[
            "csrftoken=abc; Path=/",
            "sessionid=s3cr3t; HttpOnly; Path=/; SameSite=Lax",
        ]);
        assert!(r.is_success(StatusCode::FOUND, &ok, b""));
        // Wrong password: Django answers 200 with the form again, no session cookie.
        assert!(!r.is_success(StatusCode::OK, &cookies(&["csrftoken=abc"]), b""));
        // A redirect without a session is not a login.
        assert!(!r.is_success(StatusCode::FOUND, &cookies(&["csrftoken=abc"]), b""));
        // Deleting the cookie is not setting it.
        for deletion in [
            "sessionid=\"\"; expires=Thu, 01 Jan 1970 00:00:00 GMT; Max-Age=0; Path=/",
            "sessionid=x; Max-Age=0",
            "sessionid=; Path=/",
        ] {
            assert!(
                !r.is_success(StatusCode::FOUND, &cookies(&[deletion]), b""),
                "{deletion}"
            );
        }
        // Name must match exactly.
        assert!(!r.is_success(StatusCode::FOUND, &cookies(&["sessionid2=x"]), b""));
    }

    #[test]
    fn a_cookie_joined_after_a_comma_is_still_set() {
        let h = cookies(&["lang=en; path=/, app_session=abc; path=/; HttpOnly"]);
        let set: Vec<_> = set_cookies(&h)
            .map(|c| (c.name, c.value, c.deleted))
            .collect();
        assert_eq!(set, [("lang", "en", false), ("app_session", "abc", false)]);
        let expiring = cookies(&["sid=x; Expires=Thu, 01 Jan 2099 00:00:00 GMT; Path=/, b=1"]);
        let set: Vec<_> = set_cookies(&expiring)
            .map(|c| (c.name, c.deleted))
            .collect();
        assert_eq!(
            set,
            [("sid", false), ("b", false)],
            "an Expires date is no cookie"
        );
        let mut h = h;
        assert_eq!(remove_set_cookies(&mut h, |n| n == "app_session"), 1);
        assert!(h.get(header::SET_COOKIE).is_none());
    }

    #[test]
    fn removal_is_read_as_a_browser_reads_it() {
        let set = |line: &str| set_cookies(&cookies(&[line])).next().unwrap().deleted;
        assert!(set("sid=x; Max-Age=0"));
        assert!(set("sid=x; Expires=Thu, 01 Jan 1970 00:00:00 GMT"));
        assert!(!set(
            "sid=x; Expires=Thu, 01 Jan 1970 00:00:00 GMT; Max-Age=3600"
        ));
        assert!(!set("sid=x; Max-Age=0; Max-Age=3600"));
        assert!(set("sid=\"\""));
    }

    #[test]
    fn token_success_needs_the_token_in_the_body() {
        let r = token_api();
        let h = HeaderMap::new();
        assert!(r.is_success(StatusCode::OK, &h, br#"{"token":"abc","user":1}"#));
        assert!(!r.is_success(StatusCode::OK, &h, br#"{"error":"bad credentials"}"#));
        assert!(!r.is_success(StatusCode::OK, &h, br#"{"token":null}"#));
        assert!(!r.is_success(StatusCode::OK, &h, br#"{"token":""}"#));
        assert!(!r.is_success(StatusCode::UNAUTHORIZED, &h, br#"{"token":"abc"}"#));
        assert!(r.might_succeed(StatusCode::OK, &h), "the body decides");
        assert!(!r.might_succeed(StatusCode::UNAUTHORIZED, &h));
    }

    #[test]
    fn without_statuses_any_2xx_or_3xx_counts() {
        let mut r = django();
        r.success.statuses.clear();
        let ok = cookies(&["sessionid=x"]);
        assert!(r.is_success(StatusCode::OK, &ok, b""));
        assert!(r.is_success(StatusCode::SEE_OTHER, &ok, b""));
        assert!(!r.is_success(StatusCode::FORBIDDEN, &ok, b""));
    }
}
