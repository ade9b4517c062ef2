//! The app's own credentials in a request: its session cookie or a bearer token. The gateway
//! forwards one only when it is bound to a live gateway session; otherwise the cookie is
//! removed from the request (the app then sees an anonymous visitor) or the bearer request is
//! refused.

use http::header::{self, HeaderMap, HeaderValue};

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

/// Removes every occurrence of cookie `name` from the request, keeping all other cookies as
/// they were. Returns how many were removed.
pub fn strip_cookie(headers: &mut HeaderMap, name: &str) -> usize {
    let mut removed = 0;
    let lines: Vec<HeaderValue> = headers.get_all(header::COOKIE).iter().cloned().collect();
    if lines.is_empty() {
        return 0;
    }
    let mut kept = Vec::new();
    for line in &lines {
        // A header we cannot read as text is dropped whole: it cannot be checked.
        let Ok(text) = line.to_str() else {
            removed += 1;
            continue;
        };
        let pairs: Vec<&str> = text
            .split(';')
            .map(str::trim)
            .filter(|pair| {
                let is_target = pair.split_once('=').map_or(*pair, |(n, _)| n).trim() == name;
                if is_target {
                    removed += 1;
                }
                !is_target && !pair.is_empty()
            })
            .collect();
        if !pairs.is_empty() {
            kept.push(pairs.join("; "));
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

/// The bearer token of `Authorization: Bearer …`, if that is what the request carries.
pub fn bearer_token(headers: &HeaderMap) -> Option<&str> {
    authorization(headers)
        .filter(|(scheme, token)| scheme.eq_ignore_ascii_case("bearer") && !token.is_empty())
        .map(|(_, token)| token)
}

/// `Authorization` as (scheme, credentials). A header that is present but unreadable or
/// shapeless comes back with an empty token, so it is refused rather than overlooked.
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
