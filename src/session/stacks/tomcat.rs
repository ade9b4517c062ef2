//! Tomcat (apache/tomcat): `Rfc6265CookieProcessor`, which parses with
//! `org.apache.tomcat.util.http.parser.Cookie.parseCookie`, and `LegacyCookieProcessor`
//! (`processCookieHeader`, removed in Tomcat 10.1 by commit d78c7193f1, still in 8.5 and 9).
//! The session id is the first `JSESSIONID` whose session exists (`CoyoteAdapter
//! .parseSessionCookiesId`, names compared exactly): the first wins here.
//!
//! - RFC 6265 (10.1.x as in Debian 12): skip space and tab; the name is a token
//!   (`HttpParser.isToken`); space; `=` or the pair has no value (`CookiesWithoutEquals.NAME`:
//!   an empty value); the value is cookie-octets, optionally in quotes (dropped), ending at `;`,
//!   space or tab; anything else after it makes the pair invalid and skipped up to the next `;`.
//! - Legacy (default settings): before a name, every HTTP separator (`\t ",;()<>=@?[\]{}:`,
//!   not `/`) is skipped, so `"JSESSIONID=x` and `=JSESSIONID=x` are `JSESSIONID`; `$`-names
//!   are attributes; the name is the run of non-separators; a value is a quoted string (which
//!   may span `;`) or a token; pairs end at `;` or `,`; a name without a value is dropped.

use super::{is_tchar, Jar};

/// RFC 6265 `cookie-octet`.
fn cookie_octet(b: u8) -> bool {
    matches!(b, 0x21 | 0x23..=0x2b | 0x2d..=0x3a | 0x3c..=0x5b | 0x5d..=0x7e)
}

fn lws(b: &[u8], mut i: usize) -> usize {
    while matches!(b.get(i), Some(b' ' | b'\t')) {
        i += 1;
    }
    i
}

fn until_semicolon(b: &[u8], mut i: usize) -> usize {
    while let Some(&c) = b.get(i) {
        i += 1;
        if c == b';' {
            break;
        }
    }
    i
}

fn slice(b: &[u8], from: usize, to: usize) -> String {
    String::from_utf8_lossy(b.get(from..to).unwrap_or_default()).into_owned()
}

pub fn parse_rfc6265(line: &str, jar: &mut Jar) {
    let b = line.as_bytes();
    let mut i = 0;
    loop {
        i = lws(b, i);
        let name_start = i;
        while b.get(i).copied().is_some_and(is_tchar) {
            i += 1;
        }
        let name = slice(b, name_start, i);
        i = lws(b, i);
        let mut value = None;
        if b.get(i) == Some(&b'=') {
            i = lws(b, i + 1);
            // `readCookieValueRfc6265`
            let quoted = b.get(i) == Some(&b'"');
            if quoted {
                i += 1;
            }
            let start = i;
            let mut end = None;
            let mut invalid = false;
            while let Some(&c) = b.get(i) {
                i += 1;
                if cookie_octet(c) {
                    continue;
                }
                if matches!(c, b';' | b' ' | b'\t') {
                    i -= 1;
                    end = Some(i);
                } else if quoted && c == b'"' {
                    end = Some(i - 1);
                } else {
                    invalid = true;
                }
                break;
            }
            if invalid {
                i = until_semicolon(b, i);
                continue;
            }
            value = Some(slice(b, start, end.unwrap_or(i)));
            i = lws(b, i);
        }
        let more = match b.get(i) {
            Some(b';') => {
                i += 1;
                true
            }
            Some(_) => {
                i = until_semicolon(b, i);
                continue;
            }
            None => false,
        };
        if !name.is_empty() {
            jar.keep_first(name, value.unwrap_or_default());
        }
        if !more {
            break;
        }
    }
}

pub fn name_rfc6265(raw: &str) -> Option<String> {
    let name = raw.trim_matches([' ', '\t']);
    (!name.is_empty() && name.bytes().all(is_tchar)).then(|| name.to_string())
}

/// `LegacyCookieProcessor`'s HTTP separators (with `forwardSlashIsSeparator` off).
fn separator(b: u8) -> bool {
    b"\t \",:;<=>?@[\\]{}()".contains(&b)
}

fn white(b: u8) -> bool {
    matches!(b, b' ' | b'\t' | b'\n' | b'\r' | b'\x0c')
}

pub fn parse_legacy(line: &str, jar: &mut Jar) {
    let b = line.as_bytes();
    // `isHttpSeparator` throws on control characters and bytes above 0x7e: no cookies at all.
    if b.iter().any(|&c| (c < 0x20 && c != b'\t') || c >= 0x7f) {
        return;
    }
    let end = b.len();
    let mut pos = 0;
    while pos < end {
        while b.get(pos).is_some_and(|&c| separator(c) || white(c)) {
            pos += 1;
        }
        if pos >= end {
            return;
        }
        let special = b.get(pos) == Some(&b'$');
        if special {
            pos += 1;
        }
        let name_start = pos;
        while b.get(pos).is_some_and(|&c| !separator(c)) {
            pos += 1;
        }
        let name_end = pos;
        while b.get(pos).copied().is_some_and(white) {
            pos += 1;
        }
        let mut value: Option<String> = None;
        if pos + 1 < end && b.get(pos) == Some(&b'=') {
            pos += 1;
            while b.get(pos).copied().is_some_and(white) {
                pos += 1;
            }
            if pos >= end {
                return;
            }
            match b.get(pos) {
                Some(b'"') => {
                    let start = pos + 1;
                    let mut p = start;
                    while p < end && b.get(p) != Some(&b'"') {
                        p += if b.get(p) == Some(&b'\\') && p + 1 < end {
                            2
                        } else {
                            1
                        };
                    }
                    if p >= end {
                        return;
                    }
                    // `unescapeDoubleQuotes`: a backslash keeps only the character after it.
                    let mut v = Vec::new();
                    let mut q = start;
                    while q < p {
                        let c = b.get(q).copied().unwrap_or_default();
                        if c == b'\\' && q + 1 < p {
                            q += 1;
                        }
                        v.push(b.get(q).copied().unwrap_or_default());
                        q += 1;
                    }
                    value = Some(String::from_utf8_lossy(&v).into_owned());
                    pos = p;
                }
                Some(b';' | b',') => {}
                Some(&c) if !separator(c) || c == b'=' => {
                    let start = pos;
                    while b.get(pos).is_some_and(|&c| !separator(c)) {
                        pos += 1;
                    }
                    if pos > start {
                        value = Some(slice(b, start, pos));
                    }
                }
                _ => {
                    while pos < end && !matches!(b.get(pos), Some(b';' | b',')) {
                        pos += 1;
                    }
                    pos += 1;
                    continue;
                }
            }
        } else {
            pos = name_end;
        }
        while b.get(pos).copied().is_some_and(white) {
            pos += 1;
        }
        while pos < end && !matches!(b.get(pos), Some(b';' | b',')) {
            pos += 1;
        }
        pos += 1;
        if special {
            continue;
        }
        if let Some(value) = value {
            jar.keep_first(slice(b, name_start, name_end), value);
        }
    }
}

pub fn name_legacy(raw: &str) -> Option<String> {
    let name = raw.trim_matches(|c: char| c.is_ascii() && white(c as u8));
    (!name.is_empty() && !name.starts_with('$') && name.bytes().all(|c| !separator(c)))
        .then(|| name.to_string())
}
