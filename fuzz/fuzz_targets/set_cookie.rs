//! `Set-Cookie` answer headers: how the gateway sees which cookies a login answer sets, and
//! removes the ones it must hold back. Input: header lines (see `header_lines`), each a
//! `Set-Cookie` value.
//!
//! Also the cookie jar built from them (`session::jar`, what the app is asked whoami with).
//!
//! Checks: no panic; the jar sends only cookies some line set, under the name and value it
//! set them with; once `remove_set_cookies` has dropped a name (as the config names it: a
//! `*` there is a run of letters and digits), neither `set_cookies` nor `sets_cookie_value`
//! finds it; and the count it returns is the number of lines gone.
#![no_main]

use http::header;
use libfuzzer_sys::fuzz_target;
use mfa_gateway::wire::set_cookie::{
    remove_set_cookies, set_cookies, sets_cookie, sets_cookie_value,
};
use mfa_gateway::wire::cookie_name::cookie_name_matches;
use mfa_gateway::session::jar::Jar;

fuzz_target!(|data: &[u8]| {
    let headers = mfa_gateway_fuzz::header_lines(data, header::SET_COOKIE, &[]);
    let names: Vec<String> = set_cookies(&headers).map(|c| c.name.to_string()).collect();
    let jar = Jar::after(&http::HeaderMap::new(), &headers, "/a/b");
    for path in ["/", "/a/b", "/a"] {
        if let Some(line) = jar.cookie_line(path) {
            for pair in line.split("; ") {
                assert!(
                    set_cookies(&headers)
                        .any(|c| !c.deleted && pair == format!("{}={}", c.name, c.value)),
                    "the jar sent {pair:?}, which no line set: {headers:?}"
                );
            }
        }
    }
    let targets = [names.first(), names.last()]
        .into_iter()
        .flatten()
        .map(String::as_str)
        .chain(["sessionid"]);
    for target in targets {
        let values = sets_cookie_value(&headers, target);
        assert_eq!(sets_cookie(&headers, target), !values.is_empty());
        let mut removed = headers.clone();
        let count = remove_set_cookies(&mut removed, |n| cookie_name_matches(n, target));
        let before = headers.get_all(header::SET_COOKIE).iter().count();
        let after = removed.get_all(header::SET_COOKIE).iter().count();
        assert_eq!(count, before - after, "remove_set_cookies miscounted");
        assert!(
            set_cookies(&removed).all(|c| !cookie_name_matches(c.name, target)),
            "a Set-Cookie for {target:?} survived remove_set_cookies: {removed:?}"
        );
        assert!(sets_cookie_value(&removed, target).is_empty());
        if names.iter().any(|n| cookie_name_matches(n, target)) {
            assert!(count > 0, "{target:?} was set but nothing was removed");
        }
    }
});
