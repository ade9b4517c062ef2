//! Every spelling of a path that an app may route to the same handler, reduced to one form.
//!
//! Login and logout rules (and the route table) compare this form, so that `/Admin/Login`,
//! `/admin/login;jsessionid=1`, `/admin/login` and `/admin/login/` all meet the rule written as
//! `/admin/login/`. Matching too much is harmless here (a request wrongly taken for a login only
//! has its body read); matching too little would let a login answer out without its second
//! factor. Percent-encoded letters and digits never get this far: the path check refuses them.

use std::borrow::Cow;

/// The comparable form of an (already checked) request path: percent escapes decoded, path
/// parameters (`;…`, as Java servlet containers and some PHP set-ups strip them) removed from
/// each segment, letters lower-cased (servers on case-insensitive file systems, IIS, and apps
/// that lower-case routes ignore case). Trailing slashes stay; `same_route_or_below` ignores
/// them. A path with none of these is not copied (the common case, on every request).
pub fn canonical_path(path: &str) -> Cow<'_, str> {
    let plain = path
        .bytes()
        .all(|b| b != b'%' && b != b';' && !b.is_ascii_uppercase() && b.is_ascii());
    if plain {
        return Cow::Borrowed(path);
    }
    let decoded = percent_decode(path);
    let mut out = String::with_capacity(decoded.len());
    for segment in decoded.split('/').skip(1) {
        let segment = segment.split(';').next().unwrap_or("");
        out.push('/');
        out.extend(segment.chars().flat_map(char::to_lowercase));
    }
    if out.is_empty() {
        out.push('/');
    }
    Cow::Owned(out)
}

/// Percent escapes decoded; an escape that is not two hex digits, or bytes that do not form
/// UTF-8, are kept as they were (the path check has refused such paths before they get here).
fn percent_decode(path: &str) -> Cow<'_, str> {
    if !path.contains('%') {
        return Cow::Borrowed(path);
    }
    let bytes = path.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while let Some(&b) = bytes.get(i) {
        let escaped = (b == b'%')
            .then(|| bytes.get(i + 1..i + 3))
            .flatten()
            // Two hex digits exactly: `from_str_radix` alone would take `+8` as well.
            .filter(|hex| hex.iter().all(u8::is_ascii_hexdigit))
            .and_then(|hex| std::str::from_utf8(hex).ok())
            .and_then(|hex| u8::from_str_radix(hex, 16).ok());
        match escaped {
            Some(value) => {
                out.push(value);
                i += 3;
            }
            None => {
                out.push(b);
                i += 1;
            }
        }
    }
    match String::from_utf8(out) {
        Ok(s) => Cow::Owned(s),
        Err(_) => Cow::Borrowed(path),
    }
}

/// Whether `path` is the route `rule` (both in canonical form), lies below it (PHP and CGI
/// set-ups run `/login.php/anything` as `/login.php`: PATH_INFO) or adds a format suffix. Trailing slashes do not count
/// (Django's APPEND_SLASH, and servers that map `/x` and `/x/` to one handler).
pub fn same_route_or_below(path: &str, rule: &str) -> bool {
    let path = path.trim_end_matches('/');
    let rule = rule.trim_end_matches('/');
    path == rule
        || path.strip_prefix(rule).is_some_and(|rest| {
            rest.starts_with('/')
                || rule.is_empty()
                // A format suffix (Django REST framework's format_suffix_patterns, Rails'
                // `.json`) routes `/api/login.json` to the same view.
                || rest.strip_prefix('.').is_some_and(|ext| !ext.contains('/'))
        })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn spellings_an_app_routes_alike_meet() {
        for spelling in [
            "/admin/login/",
            "/Admin/LOGIN/",
            "/admin/login;jsessionid=abc/",
            "/admin;x=1/login/",
            "/%61dmin/%6Cogin/",
            "/admin/log%69n/",
        ] {
            assert_eq!(canonical_path(spelling), "/admin/login/", "{spelling}");
        }
        assert!(same_route_or_below("/admin/login", "/admin/login/"));
        assert!(same_route_or_below("/admin/login/", "/admin/login"));
        assert!(same_route_or_below("/admin/login//", "/admin/login/"));
        assert_eq!(canonical_path("/"), "/");
        assert_eq!(canonical_path("/;x"), "/");
        assert_eq!(canonical_path("/caf%C3%A9"), "/café");
        assert_eq!(canonical_path("/CAFÉ"), "/café");
        // Found by fuzzing: `%+8` is no escape, so a second pass changes nothing.
        assert_eq!(canonical_path("/%25+8i"), "/%+8i");
        assert_eq!(canonical_path("/%+8i"), "/%+8i");
    }

    #[test]
    fn plain_paths_are_not_copied() {
        assert!(matches!(canonical_path("/admin/login"), Cow::Borrowed(_)));
        assert!(matches!(canonical_path("/"), Cow::Borrowed(_)));
        assert!(matches!(canonical_path("/admin/"), Cow::Borrowed(_)));
        assert!(matches!(canonical_path("/Admin/"), Cow::Owned(_)));
    }

    #[test]
    fn path_info_below_a_script_is_the_script() {
        assert!(same_route_or_below("/login.php", "/login.php"));
        assert!(same_route_or_below("/login.php/x", "/login.php"));
        assert!(!same_route_or_below("/login.phpx", "/login.php"));
        assert!(same_route_or_below("/api/login.api", "/api/login"));
        assert!(same_route_or_below("/api/token.json/", "/api/token/"));
        assert!(!same_route_or_below("/api/loginx.json", "/api/login"));
        assert!(!same_route_or_below("/other", "/login.php"));
        assert!(same_route_or_below("/anything", "/"));
    }
}
