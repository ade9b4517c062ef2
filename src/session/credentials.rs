//! The app's own credentials in a request: its session cookie or a bearer token. The gateway
//! forwards one only when it is bound to a live gateway session; otherwise the cookie is
//! removed from the request (the app then sees an anonymous visitor) or the bearer request is
//! refused.

use http::header::{self, HeaderMap, HeaderValue};
use std::borrow::Cow;

/// A cookie name as the stacks behind us may read it, so that every spelling one of them takes
/// for the app's session cookie is treated as that cookie: PHP before 8.0.24 percent-decodes
/// names, drops leading spaces and turns ` ` and `.` into `_` (and `[` starts an array key);
/// ASP.NET/IIS compare names without regard to case. Two names with the same canonical form
/// are one cookie to some app.
pub fn canonical_cookie_name(name: &str) -> Cow<'_, str> {
    let name = name.trim();
    let plain = name
        .bytes()
        .all(|b| !matches!(b, b'%' | b' ' | b'.' | b'[' | b'+') && !b.is_ascii_uppercase());
    if plain {
        return Cow::Borrowed(name);
    }
    let spaced = name.replace('+', " ");
    let decoded: Cow<'_, [u8]> = percent_encoding::percent_decode_str(&spaced).into();
    let text = String::from_utf8_lossy(&decoded);
    let text = text.trim_start();
    let text = text.split('[').next().unwrap_or("");
    Cow::Owned(
        text.chars()
            .map(|c| match c {
                ' ' | '.' => '_',
                c => c.to_ascii_lowercase(),
            })
            .collect(),
    )
}

/// Every (name, value) cookie pair in the request, names and values trimmed. Pairs are split at
/// `;` and also at `,`, as Rack and other older parsers do (`a=b, session=x` is a session
/// cookie to them). Lines that are not text are skipped: `strip_cookies` drops them whole.
pub fn cookie_pairs(headers: &HeaderMap) -> impl Iterator<Item = (&str, &str)> {
    headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|line| line.split([';', ',']))
        .filter_map(|pair| pair.split_once('='))
        .map(|(n, v)| (n.trim(), v.trim()))
}

/// Removes every cookie pair whose (trimmed) name `drop` picks, keeping the others as they
/// were; a `;`-separated piece goes whole when any `,`-separated part of it is picked. Header
/// lines that are not text are dropped whole (they cannot be checked). Returns how many were
/// removed; the headers are rebuilt only when something goes.
pub fn strip_cookies(headers: &mut HeaderMap, mut drop: impl FnMut(&str) -> bool) -> usize {
    let mut picked = |piece: &str| {
        piece
            .split(',')
            .any(|part| drop(part.split_once('=').map_or(part, |(n, _)| n).trim()))
    };
    let lines = headers.get_all(header::COOKIE);
    let untouched = lines.iter().all(|line| {
        line.to_str()
            .is_ok_and(|text| !text.split(';').any(&mut picked))
    });
    if untouched {
        return 0;
    }
    let lines: Vec<HeaderValue> = lines.iter().cloned().collect();
    let mut removed = 0;
    let mut kept = Vec::new();
    for line in &lines {
        let Ok(text) = line.to_str() else {
            removed += 1;
            continue;
        };
        let pieces: Vec<&str> = text
            .split(';')
            .map(str::trim)
            .filter(|piece| {
                let target = picked(piece);
                if target {
                    removed += 1;
                }
                !target && !piece.is_empty()
            })
            .collect();
        if !pieces.is_empty() {
            kept.push(pieces.join("; "));
        }
    }
    headers.remove(header::COOKIE);
    for line in kept {
        if let Ok(value) = HeaderValue::from_str(&line) {
            headers.append(header::COOKIE, value);
        }
    }
    removed
}

/// Every value the request gives the named cookie, across all `Cookie` headers. Several values
/// are possible (a browser sends both a host and a domain cookie of one name); each one must be
/// bound, or the app might pick the unbound one.
pub fn cookie_values<'a>(headers: &'a HeaderMap, name: &str) -> Vec<&'a str> {
    headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|line| line.split(';'))
        .filter_map(|pair| pair.trim().split_once('='))
        .filter(|(n, _)| n.trim() == name)
        .map(|(_, v)| v.trim())
        .collect()
}

/// Removes every occurrence of cookie `name` (exactly so spelled) from the request, keeping
/// all other cookies as they were. Returns how many were removed.
pub fn strip_cookie(headers: &mut HeaderMap, name: &str) -> usize {
    strip_cookies(headers, |n| n == name)
}

/// The bearer token of `Authorization: Bearer …`, if that is what the request carries.
pub fn bearer_token(headers: &HeaderMap) -> Option<&str> {
    authorization(headers)
        .filter(|(scheme, token)| scheme.eq_ignore_ascii_case("bearer") && !token.is_empty())
        .map(|(_, token)| token)
}

/// `Authorization` as (scheme, credentials). A header that is present but unreadable or
/// shapeless comes back with an empty token, so it is refused rather than overlooked. (Callers
/// that guard the app refuse a request with several `Authorization` lines first:
/// `repeated_authorization`.)
pub fn authorization(headers: &HeaderMap) -> Option<(&str, &str)> {
    let value = headers.get(header::AUTHORIZATION)?;
    let Ok(text) = value.to_str() else {
        return Some(("", ""));
    };
    Some(match text.trim().split_once(' ') {
        Some((scheme, token)) => (scheme, token.trim()),
        None => (text.trim(), ""),
    })
}

/// More than one `Authorization` line: the gateway would check one and the app might use
/// another (or join them), so such a request is refused.
pub fn repeated_authorization(headers: &HeaderMap) -> bool {
    let mut lines = headers.get_all(header::AUTHORIZATION).iter();
    lines.next().is_some() && lines.next().is_some()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn with_cookies(lines: &[&str]) -> HeaderMap {
        let mut h = HeaderMap::new();
        for l in lines {
            h.append(header::COOKIE, HeaderValue::from_str(l).unwrap());
        }
        h
    }

    #[test]
    fn all_values_of_a_cookie_are_found() {
        let h = with_cookies(&["csrftoken=a; sessionid=one", "sessionid=two;other=x"]);
        assert_eq!(cookie_values(&h, "sessionid"), ["one", "two"]);
        assert_eq!(cookie_values(&h, "csrftoken"), ["a"]);
        assert!(
            cookie_values(&h, "SessionId").is_empty(),
            "cookie names are case-sensitive"
        );
        assert!(cookie_values(&h, "session").is_empty());
    }

    #[test]
    fn stripping_removes_only_the_named_cookie() {
        let mut h = with_cookies(&["csrftoken=a; sessionid=one; theme=dark", "sessionid=two"]);
        assert_eq!(strip_cookie(&mut h, "sessionid"), 2);
        let left: Vec<_> = h
            .get_all(header::COOKIE)
            .iter()
            .map(|v| v.to_str().unwrap())
            .collect();
        assert_eq!(left, ["csrftoken=a; theme=dark"]);
        assert!(cookie_values(&h, "sessionid").is_empty());
        let mut none = HeaderMap::new();
        assert_eq!(strip_cookie(&mut none, "sessionid"), 0);
    }

    #[test]
    fn spacing_tricks_do_not_hide_the_cookie() {
        let mut h = with_cookies(&["  sessionid =x ;a=b", "sessionid"]);
        assert_eq!(strip_cookie(&mut h, "sessionid"), 2);
        assert_eq!(h.get(header::COOKIE).unwrap(), "a=b");
    }

    #[test]
    fn unreadable_cookie_headers_are_dropped_whole() {
        let mut h = HeaderMap::new();
        h.append(
            header::COOKIE,
            HeaderValue::from_bytes(b"sessionid=\xff").unwrap(),
        );
        assert_eq!(strip_cookie(&mut h, "sessionid"), 1);
        assert!(h.get(header::COOKIE).is_none());
    }

    #[test]
    fn cookie_names_as_legacy_stacks_read_them_meet() {
        for spelling in [
            "PHPSESSID",
            "phpsessid",
            "PhpSessId",
            " PHPSESSID ",
            "PHPSESS%49D",
            "%50HPSESSID",
            "PHPSESSID[x]",
            "PHPSESSID[",
        ] {
            assert_eq!(canonical_cookie_name(spelling), "phpsessid", "{spelling}");
        }
        assert_eq!(canonical_cookie_name("wp.session"), "wp_session");
        assert_eq!(canonical_cookie_name("wp%20session"), "wp_session");
        assert_eq!(canonical_cookie_name("wp+session"), "wp_session");
        assert_eq!(canonical_cookie_name("sessionid"), "sessionid");
        assert_ne!(canonical_cookie_name("sessionid2"), "sessionid");
    }

    #[test]
    fn pairs_split_at_commas_too() {
        let h = with_cookies(&["a=b, PHPSESSID=x;c=d", "e = f"]);
        let pairs: Vec<_> = cookie_pairs(&h).collect();
        assert_eq!(
            pairs,
            [("a", "b"), ("PHPSESSID", "x"), ("c", "d"), ("e", "f")]
        );
    }

    #[test]
    fn a_comma_joined_session_cookie_is_stripped_with_its_piece() {
        let mut h = with_cookies(&["a=b, PHPSESSID=x; c=d"]);
        assert_eq!(strip_cookies(&mut h, |n| n == "PHPSESSID"), 1);
        assert_eq!(h.get(header::COOKIE).unwrap(), "c=d");
    }

    #[test]
    fn nothing_picked_leaves_the_headers_alone() {
        let mut h = with_cookies(&["a=b; c=d", "e=f"]);
        assert_eq!(strip_cookies(&mut h, |n| n == "x"), 0);
        assert_eq!(h.get_all(header::COOKIE).iter().count(), 2);
    }

    #[test]
    fn two_authorization_lines_are_repeated() {
        let mut h = HeaderMap::new();
        assert!(!repeated_authorization(&h));
        h.append(header::AUTHORIZATION, HeaderValue::from_static("Token a"));
        assert!(!repeated_authorization(&h));
        h.append(header::AUTHORIZATION, HeaderValue::from_static("Token b"));
        assert!(repeated_authorization(&h));
    }

    #[test]
    fn bearer_tokens() {
        let mut h = HeaderMap::new();
        h.insert(
            header::AUTHORIZATION,
            HeaderValue::from_static("Bearer abc.def"),
        );
        assert_eq!(bearer_token(&h), Some("abc.def"));
        h.insert(
            header::AUTHORIZATION,
            HeaderValue::from_static("bearer  xyz "),
        );
        assert_eq!(bearer_token(&h), Some("xyz"));
        h.insert(
            header::AUTHORIZATION,
            HeaderValue::from_static("Basic Zm9v"),
        );
        assert_eq!(bearer_token(&h), None);
        h.insert(header::AUTHORIZATION, HeaderValue::from_static("Bearer "));
        assert_eq!(bearer_token(&h), None);
    }
}
