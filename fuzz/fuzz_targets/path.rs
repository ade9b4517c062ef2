//! Request paths: which ones the gateway accepts, and the form it compares them in against its
//! login, logout and route rules. Input: a path, and optionally `\n` and a rule path (default
//! `/admin/login/`).
//!
//! Checks: no panic; a path that passes `check_path` has a canonical form that starts with `/`
//! and is its own canonical form (so comparing canonical forms is stable); a path is always at
//! or below its own route; a query that names a refused credential parameter (`key`) as a
//! plain pair anywhere is always found, however the rest of it is spelled.

#![no_main]

use libfuzzer_sys::fuzz_target;
use mfa_gateway::config::RefusedCredentials;
use mfa_gateway::wire::spelling::{canonical_path, same_route_or_below};
use mfa_gateway::wire::path::{check_path, is_under};

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    let (path, rule) = text.split_once('\n').unwrap_or((text, "/admin/login/"));
    let checked = check_path(path);
    let canonical = canonical_path(path);
    let rule = canonical_path(rule);
    let _ = same_route_or_below(&canonical, &rule);
    let _ = is_under(path, &rule);
    assert!(same_route_or_below(&canonical, &canonical));
    // The path read as a query: with `key=…` added as its own pair, it carries the key.
    let refused = RefusedCredentials {
        headers: vec![],
        query: vec!["key".into()],
    };
    let get = http::Method::GET;
    let headers = http::HeaderMap::new();
    let _ = refused.carried(&get, &headers, Some(path));
    for with_key in [
        format!("{path}&key=x"),
        format!("key=x&{path}"),
        format!("{path};key"),
    ] {
        assert!(
            refused.carried(&get, &headers, Some(&with_key)),
            "{with_key:?} carries key= but was not found"
        );
    }
    if checked.is_ok() {
        assert!(canonical.starts_with('/'), "{path:?} became {canonical:?}");
        let again = canonical_path(&canonical);
        assert_eq!(
            again, canonical,
            "canonical_path is not idempotent: {path:?} -> {canonical:?} -> {again:?}"
        );
    }
});
