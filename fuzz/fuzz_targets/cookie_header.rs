//! `Cookie` and `Authorization` request headers: how the gateway finds, and removes, the app's
//! session cookie. Input: header lines (see `header_lines`); a line starting with
//! `Authorization:` is an `Authorization` header, any other a `Cookie` header.
//!
//! Checks: no panic; a Basic credential is read only when it is the one canonical spelling
//! of a user name and password (re-encoding gives back what was sent, the name is non-empty,
//! trimmed, without `:` or control characters); and once `strip_cookies` has removed a name (exactly spelled, or every
//! spelling some stack reads as it) no reader of the stripped headers still finds it; a name a
//! configured pattern (`wordpress_logged_in_*`) matches exactly is one of its readings too.
#![no_main]

use http::header;
use libfuzzer_sys::fuzz_target;
use mfa_gateway::wire::cookie_name::cookie_name_matches;
use mfa_gateway::session::credentials::{
    authorization, basic_credential, bearer_token, cookie_name_reads_as,
    cookie_pairs, cookie_values, strip_cookies,
};

fuzz_target!(|data: &[u8]| {
    let headers = mfa_gateway_fuzz::header_lines(
        data,
        header::COOKIE,
        &[(b"Authorization:", header::AUTHORIZATION)],
    );
    let _ = authorization(&headers);
    let _ = bearer_token(&headers);
    // Two Authorization lines are refused before anything reads one (proxy/fields.rs).
    let repeated = mfa_gateway::proxy::fields::repeated(
        http::Version::HTTP_11,
        &http::Uri::from_static("/"),
        &headers,
    );
    if headers.get_all(header::AUTHORIZATION).iter().count() > 1 {
        assert!(repeated.is_some(), "two Authorization lines not refused");
    }
    if let Some((_, encoded)) = authorization(&headers) {
        if let Ok(credential) = basic_credential(encoded) {
            use base64::Engine;
            let again = base64::engine::general_purpose::STANDARD.encode(credential.pair());
            assert_eq!(
                again, encoded,
                "a Basic credential read from a non-canonical spelling"
            );
            let user = credential.user.as_str();
            assert!(!user.is_empty() && user.trim() == user && !user.contains(':'));
            assert!(!credential.pair().chars().any(char::is_control));
            assert!(credential.pair().starts_with(&format!("{user}:")));
        }
    }

    let names: Vec<String> = cookie_pairs(&headers).map(|(n, _)| n.to_string()).collect();
    for name in &names {
        for pattern in ["wordpress_logged_in_*", "wordpress_*", "*_sid", "a*"] {
            if cookie_name_matches(name, pattern) {
                assert!(
                    cookie_name_reads_as(name, pattern),
                    "{name:?} matches {pattern:?} but is not one of its readings"
                );
            }
        }
    }
    let targets = [names.first(), names.last()]
        .into_iter()
        .flatten()
        .map(String::as_str)
        .chain(["sessionid", "PHPSESSID"]);
    for target in targets {
        let mut stripped = headers.clone();
        let removed = strip_cookies(&mut stripped, |n| n == target);
        assert!(
            cookie_pairs(&stripped).all(|(n, _)| n != target),
            "a pair named {target:?} survived strip_cookies: {stripped:?}"
        );
        assert!(
            cookie_values(&stripped, target).is_empty(),
            "cookie_values still finds {target:?} after strip_cookies: {stripped:?}"
        );
        if names.iter().any(|n| n == target) {
            assert!(
                removed > 0,
                "{target:?} was present but strip_cookies removed nothing"
            );
        }
        if removed == 0 {
            assert_eq!(
                stripped, headers,
                "nothing removed, yet the headers changed"
            );
        }

        // (A `*` in a configured name is the pattern's run of letters and digits.)
        if !target.contains(['%', '+', '*']) {
            assert!(
                cookie_name_reads_as(target, target),
                "{target:?} does not read as itself"
            );
        }
        let mut stripped = headers.clone();
        strip_cookies(&mut stripped, |n| cookie_name_reads_as(n, target));
        assert!(
            cookie_pairs(&stripped).all(|(n, _)| !cookie_name_reads_as(n, target)),
            "a spelling of {target:?} survived strip_cookies: {stripped:?}"
        );
    }
});
