//! The app's own credentials in a request: its session cookie or a bearer token. The gateway
//! forwards one only when it is bound to a live gateway session; otherwise the cookie is
//! removed from the request (the app then sees an anonymous visitor) or the bearer request is
//! refused.

use crate::session::stacks::{self, Stack};
use crate::wire::cookie_name::name_matches;
// Kept here too: the MFA side reads every cookie rule from this module.
use http::header::{self, HeaderMap, HeaderValue};

/// Whether a cookie whose name the gateway split out as `name` (see [`cookie_pairs`]) is, to
/// some stack behind us, the cookie `target` (an app's cookie name as configured, `*` standing
/// for a run of letters and digits): whether any stack modelled in [`crate::session::stacks`]
/// reads `name` and `target` as one name. That is the union of what each stack does to a name:
/// PHP mangles (` ` and `.` to `_`, `name[key]` an array under `name`) and before 8.0.24
/// percent-decodes, old Rack and old ASP.NET Core percent-decode, ASP.NET compares without
/// case (Unicode's: `ſ` is `S`), Python and others trim. Names of letters, digits, `_` and `-`
/// read as sent everywhere (only case differs), and are answered without allocating.
pub fn cookie_name_reads_as(name: &str, target: &str) -> bool {
    let plain = |s: &str, star: bool| {
        s.bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'-' || (star && b == b'*'))
    };
    if plain(name, false) && plain(target, true) {
        return name_matches(name, target, true);
    }
    Stack::ALL.iter().any(|stack| {
        let targets = stack.name_readings(target);
        !targets.is_empty()
            && stack.name_readings(name).iter().any(|read| {
                targets
                    .iter()
                    .any(|t| name_matches(read, t, stack.case_insensitive()))
            })
    })
}

/// Every (name, value) the stacks behind us may read in one `;`-separated piece of a `Cookie`
/// line, trimmed where the stack trims:
/// - each `,`-separated part up to its first `=` (`;` is every stack's separator; `,` old
///   Rack's, Tomcat's legacy parser's and ASP.NET Core's), trimmed, and as PHP sees it with
///   only its leading space gone (`sessionid =` is PHP's `sessionid_`); a part without `=` is
///   a name with an empty value (PHP, Go and Tomcat take it so);
/// - before every `=`, the names hidden from that split (see [`hidden_pairs`]).
///
/// A name any modelled stack splits out is one of these (`tests/cookie_stacks.rs` and the fuzz
/// target `cookie_stacks` check it against the models and the real stacks).
fn piece_pairs(piece: &str) -> impl Iterator<Item = (&str, &str)> {
    let parts = piece.split(',').flat_map(|part| {
        let (name, value) = part.split_once('=').unwrap_or((part, ""));
        let (trimmed, spaced) = (name.trim(), name.trim_start());
        let value = value.trim();
        [
            Some((trimmed, value)),
            (spaced != trimmed).then_some((spaced, value)),
        ]
        .into_iter()
        .flatten()
    });
    parts.chain(hidden_pairs(piece))
}

/// The names before each `=` that a split at `;`, `,` and the first `=` does not show, with
/// the value up to the next space:
/// - the word back to a space or an earlier `=` (Python's `SimpleCookie` also splits at
///   whitespace: `a=b sessionid=x` holds `sessionid`);
/// - that word's last run of token characters (Tomcat's legacy parser skips separators before
///   a name, `"JSESSIONID=x`; ASP.NET Core retries one character further after a failed pair,
///   `a=b"sessionid=x`, and reads the longest token there). A name is a token to both, so no
///   shorter tail is ever read.
///
/// One pass over the piece, so a hostile header costs time in proportion to its length; a
/// plain `name=value` part is its own pair already and adds nothing (and allocates nothing).
fn hidden_pairs(piece: &str) -> std::vec::IntoIter<(&str, &str)> {
    // The common piece, `name=value` with a token name and no space, `,` or second `=`,
    // hides nothing: answered without the scan (and its allocations).
    let plain = piece.trim();
    if let Some((name, value)) = plain.split_once('=') {
        if !name.is_empty()
            && name.bytes().all(stacks::is_tchar)
            && !value
                .bytes()
                .any(|b| b == b'=' || b == b',' || b.is_ascii_whitespace())
        {
            return Vec::new().into_iter();
        }
    }
    let bytes = piece.as_bytes();
    let mut found = Vec::new();
    // The word being read, and the last finished one since the last `=`.
    let mut word: Option<usize> = None;
    let mut last: Option<(usize, usize)> = None;
    // Where the current `,` part's text starts, and whether its first `=` was seen.
    let mut part_start = 0;
    let mut part_eq = false;
    // Names whose value has not started yet, and names whose value runs to the next space;
    // each with whether it is its part's own name (then it is no news unless its value is).
    let mut before_value: Vec<(usize, usize, bool)> = Vec::new();
    let mut in_value: Vec<(usize, usize, bool, usize)> = Vec::new();
    let mut finish = |in_value: &mut Vec<(usize, usize, bool, usize)>, end: usize| {
        for (ns, ne, own, vs) in in_value.drain(..) {
            // A part's own name with the part's whole value: already a pair. (At most one
            // name of a part is its own, so this look ahead is paid once per part.)
            if own {
                let rest = piece.get(end..).unwrap_or("");
                if rest.split(',').next().unwrap_or("").trim().is_empty() {
                    continue;
                }
            }
            if let (Some(name), Some(value)) = (piece.get(ns..ne), piece.get(vs..end)) {
                found.push((name, value));
            }
        }
    };
    for (i, &b) in bytes.iter().enumerate() {
        if b.is_ascii_whitespace() {
            if let Some(start) = word.take() {
                last = Some((start, i));
            }
            finish(&mut in_value, i);
            continue;
        }
        // A value starts at the first character after its `=` that is not a space.
        for (ns, ne, own) in before_value.drain(..) {
            in_value.push((ns, ne, own, i));
        }
        match b {
            b'=' => {
                if let Some((ns, ne)) = word.map(|s| (s, i)).or(last) {
                    let own = !part_eq
                        && piece
                            .get(part_start..ns)
                            .is_some_and(|lead| lead.trim().is_empty());
                    before_value.push((ns, ne, own));
                    let mut tail = ne;
                    while tail > ns && bytes.get(tail - 1).is_some_and(|c| stacks::is_tchar(*c)) {
                        tail -= 1;
                    }
                    if tail > ns && tail < ne {
                        before_value.push((tail, ne, false));
                    }
                }
                part_eq = true;
                word = None;
                last = None;
            }
            // Where `,` separates, it separates names too; where it does not (Python), no
            // name that has one is a name the app sets.
            b',' => {
                part_start = i + 1;
                part_eq = false;
                word = None;
                last = None;
            }
            _ => {
                if word.is_none() {
                    word = Some(i);
                }
            }
        }
    }
    finish(&mut in_value, bytes.len());
    // Names whose value never started: only space follows, so a part's own name is its pair.
    for (ns, ne, own) in before_value {
        if let (false, Some(name)) = (own, piece.get(ns..ne)) {
            found.push((name, ""));
        }
    }
    found.into_iter()
}

/// More cookie pairs than any browser sends (Chrome and Firefox keep at most 180 per site): a
/// request with more is refused before they are read (each read costs a look at every stack's
/// reading of its name).
pub const MAX_COOKIE_PAIRS: usize = 300;

/// Whether the request's `Cookie` lines hold more pairs than [`MAX_COOKIE_PAIRS`].
pub fn too_many_cookies(headers: &HeaderMap) -> bool {
    cookie_pairs(headers).nth(MAX_COOKIE_PAIRS).is_some()
}

/// Every (name, value) cookie pair in the request, as any stack behind us may split it (see
/// [`piece_pairs`]): pieces at `;`, parts at `,`, names hidden after a space or a separator.
/// Lines that are not text are skipped: `strip_cookies` drops them whole.
pub fn cookie_pairs(headers: &HeaderMap) -> impl Iterator<Item = (&str, &str)> {
    headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|line| line.split(';'))
        .flat_map(piece_pairs)
}

/// A cookie value as the stacks that decode them read it (PHP's `urldecode`, Rack's
/// `unescape`): surrounding quotes dropped, `%XX` decoded and `+` read as a space. Two spellings
/// of one session id (`K` and `%4B`) are one value to the app, so what must hold for a value
/// whatever its spelling (a burned pre-login session) is keyed by this.
pub fn cookie_value_as_apps_read(value: &str) -> String {
    let bare = value.trim().trim_matches('"').replace('+', " ");
    percent_encoding::percent_decode_str(&bare)
        .decode_utf8_lossy()
        .into_owned()
}

/// Removes every cookie pair whose (trimmed) name `drop` picks, keeping the others as they
/// were; a `;`-separated piece goes whole when any `,`-separated part of it is picked. Header
/// lines that are not text are dropped whole (they cannot be checked). Returns how many were
/// removed; the headers are rebuilt only when something goes.
pub fn strip_cookies(headers: &mut HeaderMap, mut drop: impl FnMut(&str) -> bool) -> usize {
    strip_cookie_pairs(headers, |name, _| drop(name))
}

/// As [`strip_cookies`], picking by (trimmed) name and value: one value of a name can go while
/// another value of it stays (a cookie planted beside the bound one).
pub fn strip_cookie_pairs(
    headers: &mut HeaderMap,
    mut drop: impl FnMut(&str, &str) -> bool,
) -> usize {
    let mut picked = |piece: &str| piece_pairs(piece).any(|(name, value)| drop(name, value));
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
        // Picked as sent (a space before a piece's end is PHP's `_`), kept trimmed.
        let pieces: Vec<&str> = text
            .split(';')
            .filter_map(|piece| {
                if picked(piece) {
                    removed += 1;
                    return None;
                }
                Some(piece.trim()).filter(|kept| !kept.is_empty())
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
/// shapeless comes back with an empty token, so it is refused rather than overlooked. Only
/// the first line is read: a request with several never gets this far (the proxy refuses
/// repeated single-value fields before routing, `proxy::fields`).
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

/// An HTTP Basic credential, read the one way every server reads it.
pub struct BasicCredential {
    /// The user name, as sent.
    pub user: String,
    /// `user:password`, what is hashed to bind the credential (never logged).
    pair: zeroize::Zeroizing<String>,
}

impl BasicCredential {
    pub fn pair(&self) -> &str {
        &self.pair
    }
}

impl std::fmt::Debug for BasicCredential {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("BasicCredential")
            .field("user", &self.user)
            .finish_non_exhaustive()
    }
}

/// Why a Basic credential is refused (400) rather than read: servers differ where the
/// encoding is loose (padding, characters outside the alphabet, Latin-1 against UTF-8), and a
/// credential two readers take for two users could be bound under one and used as the other.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum BasicError {
    #[error("Basic credential not in canonical base64")]
    Encoding,
    #[error("Basic credential not UTF-8 text without control characters")]
    Text,
    #[error("Basic credential without a user name")]
    NoUser,
    #[error("space at the ends of the Basic user name")]
    Space,
}

impl BasicError {
    /// The reason, for the log and the 400 page.
    pub fn label(self) -> &'static str {
        match self {
            BasicError::Encoding => "Basic credential not in canonical base64",
            BasicError::Text => "Basic credential not UTF-8 text",
            BasicError::NoUser => "Basic credential without a user name",
            BasicError::Space => "space at the ends of the Basic user name",
        }
    }
}

/// The credentials part of `Authorization: Basic …`: canonical base64 (padded, nothing
/// around it), decoding to UTF-8 `user:password` with a non-empty user name without space at
/// its ends and no control characters anywhere.
pub fn basic_credential(encoded: &str) -> Result<BasicCredential, BasicError> {
    use base64::Engine;
    let engine = &base64::engine::general_purpose::STANDARD;
    let bytes = zeroize::Zeroizing::new(engine.decode(encoded).map_err(|_| BasicError::Encoding)?);
    if engine.encode(&*bytes) != encoded {
        return Err(BasicError::Encoding);
    }
    let text = std::str::from_utf8(&bytes).map_err(|_| BasicError::Text)?;
    if text.chars().any(char::is_control) {
        return Err(BasicError::Text);
    }
    let (user, _) = text.split_once(':').ok_or(BasicError::NoUser)?;
    if user.is_empty() {
        return Err(BasicError::NoUser);
    }
    if user.trim() != user {
        return Err(BasicError::Space);
    }
    Ok(BasicCredential {
        user: user.to_string(),
        pair: zeroize::Zeroizing::new(text.to_string()),
    })
}

/// NTLM and Negotiate (Kerberos/SPNEGO) authenticate the connection, not the request: on a
/// pooled upstream connection one client's sign-in would serve the next client's requests.
pub fn connection_authentication(headers: &HeaderMap) -> bool {
    headers
        .get_all(header::AUTHORIZATION)
        .iter()
        .chain(headers.get_all(header::PROXY_AUTHORIZATION).iter())
        .any(|v| {
            let scheme = v
                .as_bytes()
                .split(|b| *b == b' ')
                .find(|s| !s.is_empty())
                .unwrap_or_default();
            scheme.eq_ignore_ascii_case(b"ntlm") || scheme.eq_ignore_ascii_case(b"negotiate")
        })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::wire::cookie_name::cookie_name_matches;

    #[test]
    fn cookie_values_read_as_apps_decode_them() {
        for spelling in ["abc", "%61bc", "ab%63", "\"abc\"", " abc "] {
            assert_eq!(cookie_value_as_apps_read(spelling), "abc", "{spelling}");
        }
        assert_eq!(cookie_value_as_apps_read("a+b"), "a b");
        assert_eq!(cookie_value_as_apps_read("a%2Bb"), "a+b");
    }

    #[test]
    fn a_star_in_a_configured_name_is_a_run_of_letters_and_digits() {
        let pattern = "wordpress_logged_in_*";
        let hash = "wordpress_logged_in_5c0b3f14c1d2a9a2bb5c6b33fbe1c0b3";
        assert!(cookie_name_matches(hash, pattern));
        assert!(!cookie_name_matches("wordpress_logged_in_", pattern));
        assert!(!cookie_name_matches("wordpress_logged_in_a_b", pattern));
        assert!(!cookie_name_matches("wordpress_test_cookie", "wordpress_*"));
        assert!(cookie_name_matches("wordpress_abc123", "wordpress_*"));
        assert!(cookie_name_matches("a1b2", "a*2"));
        assert!(!cookie_name_matches("a2", "a*2"));
        assert!(cookie_name_matches("sessionid", "sessionid"));
        assert!(!cookie_name_matches("Sessionid", "sessionid"));
        // As legacy stacks read names: case, `.` for `_`, percent escapes, arrays.
        assert!(cookie_name_reads_as("WORDPRESS_LOGGED_IN_ABC", pattern));
        assert!(cookie_name_reads_as("wordpress.logged.in.abc", pattern));
        assert!(cookie_name_reads_as("wordpress_logged_in_%61bc", pattern));
        assert!(cookie_name_reads_as("wordpress_logged_in_abc[x]", pattern));
        assert!(!cookie_name_reads_as(
            "wordpress_test_cookie",
            "wordpress_*"
        ));
    }

    #[test]
    fn ntlm_and_negotiate_in_any_case_are_connection_authentication() {
        for (name, value, expected) in [
            ("authorization", "NTLM TlRMTVNTUAABAAAAB4IIog==", true),
            ("authorization", "negotiate YIIGHgYGKwYBBQUCoIIGEjCC", true),
            ("authorization", "  Ntlm abc", true),
            ("proxy-authorization", "NTLM abc", true),
            ("authorization", "Bearer abc", false),
            ("authorization", "Basic YTpi", false),
            ("authorization", "NTLMx abc", false),
        ] {
            let mut headers = HeaderMap::new();
            headers.insert(
                http::HeaderName::from_static(name),
                http::HeaderValue::from_static(value),
            );
            assert_eq!(connection_authentication(&headers), expected, "{value}");
        }
    }

    #[test]
    fn a_basic_credential_is_read_one_way_or_refused() {
        let read = |s: &str| basic_credential(s).map(|c| (c.user.clone(), c.pair().to_string()));
        // "alice:pa:ss" (a colon belongs to the password)
        assert_eq!(
            read("YWxpY2U6cGE6c3M="),
            Ok(("alice".into(), "alice:pa:ss".into()))
        );
        // "Zoë:x" in UTF-8
        assert_eq!(read("Wm/DqzpY"), Ok(("Zoë".into(), "Zoë:X".into())));
        // Padding left out, a line break, whitespace, URL-safe letters: read differently by
        // different servers.
        assert_eq!(read("YWxpY2U6eA").unwrap_err(), BasicError::Encoding);
        assert_eq!(read("YWxp\nY2U6eA==").unwrap_err(), BasicError::Encoding);
        assert_eq!(read(" YWxpY2U6eA==").unwrap_err(), BasicError::Encoding);
        assert_eq!(read("Pz8_Pz8-").unwrap_err(), BasicError::Encoding);
        // Non-canonical trailing bits ("YWxpY2U6eB==" decodes like "YWxpY2U6eA==").
        assert_eq!(read("YWxpY2U6eB==").unwrap_err(), BasicError::Encoding);
        // "Zo\xeb:x" (Latin-1): not UTF-8.
        assert_eq!(read("Wm/rOng=").unwrap_err(), BasicError::Text);
        // "alice\n:x", ":x", "alice", " alice:x"
        assert_eq!(read("YWxpY2UKOng=").unwrap_err(), BasicError::Text);
        assert_eq!(read("Ong=").unwrap_err(), BasicError::NoUser);
        assert_eq!(read("YWxpY2U=").unwrap_err(), BasicError::NoUser);
        assert_eq!(read("IGFsaWNlOng=").unwrap_err(), BasicError::Space);
        let debug = format!("{:?}", basic_credential("YWxpY2U6cGE6c3M=").unwrap());
        assert!(!debug.contains("pa:ss"), "{debug}");
    }

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
        ] {
            assert!(cookie_name_reads_as(spelling, "PHPSESSID"), "{spelling}");
        }
        // PHP: an unmatched `[` is `_`, so this is $_COOKIE['app_session'].
        for spelling in [
            "app[session",
            "app.session",
            "app session",
            "app+session",
            "app%5Bsession",
        ] {
            assert!(cookie_name_reads_as(spelling, "app_session"), "{spelling}");
        }
        assert!(cookie_name_reads_as("wp_session", "wp.session"));
        assert!(!cookie_name_reads_as("sessionid2", "sessionid"));
        // An unclosed `[` is `_` to PHP (`PHPSESSID_`), ends the name for Tomcat's legacy
        // parser (which then wants an `=`): no stack reads this as `PHPSESSID`.
        assert!(!cookie_name_reads_as("PHPSESSID[", "PHPSESSID"));
        // What the old reading missed: PHP before 8.0.24 ends a decoded name at NUL; ASP.NET
        // Core decoding names folds `ſ` to `S`; PHP keeps a trailing space as `_`.
        assert!(cookie_name_reads_as("PHPSESSID%00x", "PHPSESSID"));
        assert!(cookie_name_reads_as("%C5%BFessionid", "sessionid"));
        assert!(cookie_name_reads_as("sid ", "sid_"));
        // CVE-2022-31629: PHP before 8.0.24 reads these as `__Host-sid` (later ones drop them).
        assert!(cookie_name_reads_as("..Host-sid", "__Host-sid"));
        assert!(cookie_name_reads_as("%5F_Host-sid", "__Host-sid"));
        assert!(!cookie_name_reads_as("app", "app_session"));
        assert!(
            !cookie_name_reads_as("app[session]", "app_session"),
            "an array named app"
        );
    }

    #[test]
    fn pairs_split_at_commas_too() {
        let h = with_cookies(&["a=b, PHPSESSID=x;c=d", "e = f"]);
        let pairs: Vec<_> = cookie_pairs(&h).collect();
        assert_eq!(
            pairs,
            [
                ("a", "b"),
                ("PHPSESSID", "x"),
                // Python's SimpleCookie: the value runs to the space, comma included.
                ("a", "b,"),
                ("c", "d"),
                ("e", "f"),
                ("e ", "f")
            ]
        );
    }

    #[test]
    fn names_hidden_from_a_semicolon_split_are_pairs_too() {
        let names = |line: &str| -> Vec<String> {
            let h = with_cookies(&[line]);
            cookie_pairs(&h).map(|(n, _)| n.to_string()).collect()
        };
        // Python's SimpleCookie splits at spaces.
        assert!(names("a=b sessionid=x").contains(&"sessionid".to_string()));
        // Tomcat's legacy parser skips separators before a name.
        assert!(names("\"JSESSIONID=x").contains(&"JSESSIONID".to_string()));
        assert!(names("=JSESSIONID=x").contains(&"JSESSIONID".to_string()));
        // ASP.NET Core retries after a failed pair one character on.
        assert!(names("a=b\"sessionid=x").contains(&"sessionid".to_string()));
        // A longer token is not its tail.
        assert!(!names("a=b xsessionid=x").contains(&"sessionid".to_string()));
        let mut h = with_cookies(&["a=b sessionid=x; c=d"]);
        assert_eq!(strip_cookies(&mut h, |n| n == "sessionid"), 1);
        assert_eq!(h.get(header::COOKIE).unwrap(), "c=d");
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
