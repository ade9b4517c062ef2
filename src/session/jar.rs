//! The cookies a browser holds after an answer: what it sent with the request, updated by the
//! answer's `Set-Cookie` lines the way RFC 6265 stores them (§5.3: a cookie replaces the one of
//! the same name and path, a removal takes it away, `Path` defaults to the request's
//! directory) and sends them back (§5.4: only cookies whose path matches, longer paths
//! first). The gateway asks the app who a session is with this jar: an app whose login cookie
//! opens nothing without the pre-login session cookie the browser already holds (the login
//! answer does not renew it) is asked with both, as the browser's next request will be.

use crate::wire::set_cookie::set_cookies;
use http::HeaderMap;

/// One stored cookie. `path: None`: a cookie the request carried (a `Cookie` line does not
/// say its path; it was sent to this request, so it is taken to match).
#[derive(Debug, Clone, PartialEq, Eq)]
struct Stored {
    name: String,
    value: String,
    path: Option<String>,
}

#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Jar {
    cookies: Vec<Stored>,
}

impl Jar {
    /// The cookies of `request` (its `Cookie` lines, as forwarded to the app), then the
    /// `Set-Cookie` lines of `answer` in order, for a request to `request_path`.
    pub fn after(request: &HeaderMap, answer: &HeaderMap, request_path: &str) -> Jar {
        // Pieces as sent (split at `;` only, a `,` kept in the value): the app is asked with
        // the very cookies it was sent, never a re-reading of them.
        let mut cookies: Vec<Stored> = request
            .get_all(http::header::COOKIE)
            .iter()
            .filter_map(|v| v.to_str().ok())
            .flat_map(|line| line.split(';'))
            .filter_map(|piece| piece.split_once('='))
            .map(|(name, value)| Stored {
                name: name.trim().to_string(),
                value: value.trim().to_string(),
                path: None,
            })
            .collect();
        for set in set_cookies(answer) {
            let path = set
                .path
                .map_or_else(|| default_path(request_path), str::to_string);
            // A cookie the request carried is replaced by a new one of its name whatever the
            // path: most apps keep one path per name, and the request does not tell.
            cookies.retain(|c| c.name != set.name || c.path.as_deref().is_some_and(|p| p != path));
            if !set.deleted {
                cookies.push(Stored {
                    name: set.name.to_string(),
                    value: set.value.to_string(),
                    path: Some(path),
                });
            }
        }
        Jar { cookies }
    }

    /// The `Cookie` line a browser sends with this jar to `path` (a query after it is
    /// ignored), or `None` when no cookie goes.
    pub fn cookie_line(&self, path: &str) -> Option<String> {
        let path = path.split('?').next().unwrap_or(path);
        self.line(|c| c.path.as_deref().is_none_or(|p| path_matches(path, p)))
    }

    /// Every cookie of the jar whatever its path, longer paths first: what the app is asked
    /// about an answer with. Whom an answer signed in must not depend on a path the client
    /// chose: a login cookie set without `Path` belongs to the directory of the request, and
    /// a request to `/index.php/x/` would keep it from a whoami path elsewhere (the app says
    /// "nobody", and the signed-in page would pass).
    pub fn all_cookies_line(&self) -> Option<String> {
        self.line(|_| true)
    }

    fn line(&self, sent_with: impl Fn(&Stored) -> bool) -> Option<String> {
        let mut sent: Vec<&Stored> = self.cookies.iter().filter(|c| sent_with(c)).collect();
        // Longer paths first; among equals, the older first (the sort is stable).
        sent.sort_by_key(|c| std::cmp::Reverse(c.path.as_deref().map_or(0, str::len)));
        let line: Vec<String> = sent
            .iter()
            .map(|c| format!("{}={}", c.name, c.value))
            .collect();
        (!line.is_empty()).then(|| line.join("; "))
    }
}

/// Gives every `Set-Cookie` line of `answer` without a `Path` attribute the path a browser
/// would default it to for a request to `request_path` (RFC 6265 §5.1.4), so that the answer
/// means the same when a browser gets it at another URL (released from the gateway's pages).
pub fn pin_default_paths(answer: &mut HeaderMap, request_path: &str) {
    let path = default_path(request_path);
    let lines: Vec<http::HeaderValue> = answer
        .get_all(http::header::SET_COOKIE)
        .iter()
        .cloned()
        .collect();
    let has_path = |line: &str| {
        line.split(';')
            .skip(1)
            .any(|attr| attr.trim_start().to_ascii_lowercase().starts_with("path="))
    };
    if lines.iter().all(|l| l.to_str().map_or(true, &has_path)) {
        return;
    }
    answer.remove(http::header::SET_COOKIE);
    for line in lines {
        let pinned = match line.to_str() {
            Ok(text) if !has_path(text) => {
                http::HeaderValue::from_str(&format!("{text}; Path={path}")).unwrap_or(line)
            }
            _ => line,
        };
        answer.append(http::header::SET_COOKIE, pinned);
    }
}

/// RFC 6265 §5.1.4: the request path up to, not including, its last `/` ("/" when that is the
/// first character or there is none).
fn default_path(request_path: &str) -> String {
    let path = request_path.split('?').next().unwrap_or(request_path);
    match path.rfind('/') {
        Some(0) | None => "/".to_string(),
        Some(at) => path.get(..at).unwrap_or("/").to_string(),
    }
}

/// RFC 6265 §5.1.4 path-match: the same path, or `cookie_path` is a prefix that ends in `/` or
/// is followed by `/` in `request_path`.
fn path_matches(request_path: &str, cookie_path: &str) -> bool {
    request_path == cookie_path
        || (request_path.starts_with(cookie_path)
            && (cookie_path.ends_with('/')
                || request_path.as_bytes().get(cookie_path.len()) == Some(&b'/')))
}

#[cfg(test)]
mod tests {
    use super::*;
    use http::header::{COOKIE, SET_COOKIE};

    fn headers(name: http::HeaderName, lines: &[&str]) -> HeaderMap {
        let mut h = HeaderMap::new();
        for line in lines {
            h.append(name.clone(), line.parse().unwrap());
        }
        h
    }

    #[test]
    fn a_login_cookie_is_sent_with_the_pre_login_session_the_browser_holds() {
        let request = headers(COOKIE, &["PHPSESSID=pre; theme=dark"]);
        let answer = headers(SET_COOKIE, &["auth=new; path=/; HttpOnly"]);
        let jar = Jar::after(&request, &answer, "/login.php");
        assert_eq!(
            jar.cookie_line("/whoami.php").as_deref(),
            Some("auth=new; PHPSESSID=pre; theme=dark")
        );
    }

    #[test]
    fn a_new_value_replaces_the_old_and_a_removal_takes_it_away() {
        let request = headers(COOKIE, &["sid=old; remember=3"]);
        let answer = headers(
            SET_COOKIE,
            &[
                "sid=new; Path=/",
                "remember=deleted; expires=Thu, 01 Jan 1970 00:00:01 GMT; Max-Age=0; path=/",
            ],
        );
        let jar = Jar::after(&request, &answer, "/");
        assert_eq!(jar.cookie_line("/me").as_deref(), Some("sid=new"));
        // The last line of a name decides (phpMyAdmin sets a cookie, then removes it).
        let answer = headers(SET_COOKIE, &["a=1; path=/", "a=; Max-Age=0; path=/"]);
        assert_eq!(
            Jar::after(&HeaderMap::new(), &answer, "/").cookie_line("/"),
            None
        );
        // phpMyAdmin sends its old session id before the new one at login.
        let request = headers(COOKIE, &["phpMyAdmin=old"]);
        let answer = headers(
            SET_COOKIE,
            &[
                "phpMyAdmin=old; path=/",
                "phpMyAdmin=new; path=/",
                "pmaAuth-1=s; path=/",
            ],
        );
        assert_eq!(
            Jar::after(&request, &answer, "/index.php")
                .cookie_line("/index.php?route=/")
                .as_deref(),
            Some("phpMyAdmin=new; pmaAuth-1=s")
        );
    }

    #[test]
    fn paths_are_stored_and_matched_as_a_browser_does() {
        // No Path: the directory of the request; a cookie for /app is not sent to /whoami.
        let answer = headers(
            SET_COOKIE,
            &["deep=1", "root=2; Path=/", "other=3; path=/app"],
        );
        let jar = Jar::after(&HeaderMap::new(), &answer, "/app/login.php?x=/y");
        assert_eq!(jar.cookie_line("/whoami.php").as_deref(), Some("root=2"));
        assert_eq!(
            jar.cookie_line("/app/me?full=1").as_deref(),
            Some("deep=1; other=3; root=2")
        );
        assert_eq!(jar.cookie_line("/application").as_deref(), Some("root=2"));
        // A Path that is not a path is ignored (the default applies).
        let answer = headers(SET_COOKIE, &["x=1; Path=app"]);
        let jar = Jar::after(&HeaderMap::new(), &answer, "/a/b");
        assert_eq!(jar.cookie_line("/a/c").as_deref(), Some("x=1"));
        assert_eq!(jar.cookie_line("/b"), None);
    }

    #[test]
    fn cookies_without_a_path_keep_the_one_of_the_request_they_answered() {
        let mut answer = headers(
            SET_COOKIE,
            &[
                "auth=1",
                "sid=2; path=/",
                "deep=3; HttpOnly",
                "old=; Max-Age=0",
            ],
        );
        pin_default_paths(&mut answer, "/app/login.php");
        let lines: Vec<&str> = answer
            .get_all(SET_COOKIE)
            .iter()
            .map(|v| v.to_str().unwrap())
            .collect();
        assert_eq!(
            lines,
            [
                "auth=1; Path=/app",
                "sid=2; path=/",
                "deep=3; HttpOnly; Path=/app",
                "old=; Max-Age=0; Path=/app"
            ]
        );
        // Released at /.mfa/verify, the jar still takes them as the app's.
        let jar = Jar::after(&HeaderMap::new(), &answer, "/.mfa/verify");
        assert_eq!(
            jar.cookie_line("/app/x").as_deref(),
            Some("auth=1; deep=3; sid=2")
        );
    }

    #[test]
    fn request_cookies_are_kept_as_sent() {
        let request = headers(COOKIE, &["a=b, c=d; theme=x,y"]);
        let jar = Jar::after(&request, &HeaderMap::new(), "/");
        assert_eq!(
            jar.all_cookies_line().as_deref(),
            Some("a=b, c=d; theme=x,y")
        );
    }

    #[test]
    fn the_question_about_an_answer_carries_every_cookie_it_set() {
        let request = headers(COOKIE, &["PHPSESSID=pre"]);
        let answer = headers(SET_COOKIE, &["auth=new", "gone=; Max-Age=0"]);
        let jar = Jar::after(&request, &answer, "/index.php/x/");
        assert_eq!(
            jar.cookie_line("/whoami.php").as_deref(),
            Some("PHPSESSID=pre")
        );
        assert_eq!(
            jar.all_cookies_line().as_deref(),
            Some("auth=new; PHPSESSID=pre")
        );
    }

    #[test]
    fn the_default_path_and_path_match_follow_rfc_6265() {
        assert_eq!(default_path("/"), "/");
        assert_eq!(default_path("/login.php"), "/");
        assert_eq!(default_path("/app/login.php"), "/app");
        assert_eq!(default_path("/app/"), "/app");
        assert!(path_matches("/app", "/app"));
        assert!(path_matches("/app/x", "/app"));
        assert!(path_matches("/app/x", "/app/"));
        assert!(!path_matches("/application", "/app"));
        assert!(path_matches("/anything", "/"));
    }
}
