//! `Set-Cookie` lines of an answer read as a browser reads them (several cookies joined with
//! commas, deletions by `Max-Age` or an expiry in 1970), and removed by the cookies they set.

use crate::wire::cookie_name::cookie_name_matches;
use http::{header, HeaderMap};

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

/// An answer's headers with these `Set-Cookie` lines, for tests here and of the login rules.
#[cfg(test)]
pub(crate) fn answer_setting(lines: &[&str]) -> HeaderMap {
    let mut h = HeaderMap::new();
    for line in lines {
        if let Ok(value) = http::HeaderValue::from_str(line) {
            h.append(header::SET_COOKIE, value);
        }
    }
    h
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_cookie_joined_after_a_comma_is_still_set() {
        let h = answer_setting(&["lang=en; path=/, app_session=abc; path=/; HttpOnly"]);
        let set: Vec<_> = set_cookies(&h)
            .map(|c| (c.name, c.value, c.deleted))
            .collect();
        assert_eq!(set, [("lang", "en", false), ("app_session", "abc", false)]);
        let expiring =
            answer_setting(&["sid=x; Expires=Thu, 01 Jan 2099 00:00:00 GMT; Path=/, b=1"]);
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
        let set = |line: &str| {
            set_cookies(&answer_setting(&[line]))
                .next()
                .unwrap()
                .deleted
        };
        assert!(set("sid=x; Max-Age=0"));
        assert!(set("sid=x; Expires=Thu, 01 Jan 1970 00:00:00 GMT"));
        assert!(!set(
            "sid=x; Expires=Thu, 01 Jan 1970 00:00:00 GMT; Max-Age=3600"
        ));
        assert!(!set("sid=x; Max-Age=0; Max-Age=3600"));
        assert!(set("sid=\"\""));
    }
}
