//! Python: Django's `django.http.cookie.parse_cookie` (what `request.COOKIES` is), and the
//! standard library's `http.cookies.SimpleCookie` (`BaseCookie.__parse_string` with
//! `_CookiePattern`), which Bottle and CherryPy read cookies with, as Django did before 1.11.
//!
//! - `parse_cookie`: `cookie.split(";")`; a chunk with `=` splits at the first one, else the
//!   whole chunk is the value of the name `""`; both `strip()`ped; `cookies._unquote(val)`;
//!   a later value of a name replaces the earlier one (dict assignment).
//! - `SimpleCookie`: the pattern reads, from where the last match ended: optional space, a key
//!   of one or more `_LegalKeyChars` (shortest that fits), optionally `\s*=\s*` and a value (a
//!   double-quoted string with `\` escapes, an `expires` date, or `_LegalValueChars`), optional
//!   space, then whitespace, `;` or the end. So pairs are separated by whitespace as well as
//!   `;`. The first text that does not match ends the parse; a name without a value, or a
//!   reserved attribute name before any cookie, makes the whole header read as no cookies;
//!   names starting with `$` are attributes; the last value of a name wins.

use super::Jar;

/// Python's `str.isspace` on the characters a header line can hold.
fn py_space(c: char) -> bool {
    c.is_whitespace() || ('\x1c'..='\x1f').contains(&c)
}

/// `http.cookies._unquote`: `"…"` loses its quotes and `\ooo` / `\c` escapes are decoded.
fn unquote(value: &str) -> String {
    let Some(inner) = value
        .strip_prefix('"')
        .and_then(|v| v.strip_suffix('"'))
        .filter(|_| value.len() >= 2)
    else {
        return value.to_string();
    };
    let mut out = String::with_capacity(inner.len());
    let mut chars = inner.chars().peekable();
    while let Some(c) = chars.next() {
        if c != '\\' {
            out.push(c);
            continue;
        }
        // `\\(?:([0-3][0-7][0-7])|(.))`
        let octal: String = chars.clone().take(3).collect();
        let is_octal = matches!(octal.as_bytes(), [b'0'..=b'3', b'0'..=b'7', b'0'..=b'7']);
        if is_octal {
            let code = u32::from_str_radix(&octal, 8).unwrap_or(0);
            out.push(char::from_u32(code).unwrap_or('\u{fffd}'));
            chars.nth(2);
        } else if let Some(next) = chars.next() {
            out.push(next);
        } else {
            out.push('\\');
        }
    }
    out
}

pub fn parse_django(line: &str, jar: &mut Jar) {
    for chunk in line.split(';') {
        let (key, value) = chunk.split_once('=').unwrap_or(("", chunk));
        let (key, value) = (key.trim_matches(py_space), value.trim_matches(py_space));
        if !key.is_empty() || !value.is_empty() {
            jar.keep_last(key.to_string(), unquote(value));
        }
    }
}

pub fn name_django(raw: &str) -> Option<String> {
    Some(raw.trim_matches(py_space).to_string())
}

fn legal_key(c: char) -> bool {
    c.is_ascii_alphanumeric() || "_!#%&'~`><@,:/$*+-.^|)(?}{=".contains(c)
}

fn legal_value(c: char) -> bool {
    legal_key(c) || c == '[' || c == ']'
}

/// `\s` under `re.ASCII`.
fn re_space(c: char) -> bool {
    matches!(c, ' ' | '\t' | '\n' | '\r' | '\x0b' | '\x0c')
}

/// `Morsel._reserved`.
const RESERVED: [&str; 10] = [
    "expires",
    "path",
    "comment",
    "domain",
    "max-age",
    "secure",
    "httponly",
    "version",
    "samesite",
    "partitioned",
];

/// One match of the pattern at the start of `s`: (key, value, length matched).
fn match_pair(s: &str) -> Option<(&str, Option<&str>, usize)> {
    let start = s.len() - s.trim_start_matches(re_space).len();
    let rest = s.get(start..)?;
    let key_len = rest.find(|c: char| !legal_key(c)).unwrap_or(rest.len());
    // The key is the shortest run of legal characters after which the rest matches: try
    // every length, shortest first, as the regex engine backtracks.
    for len in 1..=key_len {
        let key = rest.get(..len)?;
        let after = rest.get(len..)?;
        for (value, used) in value_options(after) {
            let tail = after.get(used..)?;
            let spaces = tail.len() - tail.trim_start_matches(re_space).len();
            // `\s*(\s+|;|$)`: the spaces, and a `;` right after them.
            let semicolon = tail.get(spaces..).is_some_and(|t| t.starts_with(';'));
            if semicolon || spaces > 0 || tail.is_empty() {
                let end = start + len + used + spaces + usize::from(semicolon);
                return Some((key, value, end));
            }
        }
    }
    None
}

/// The ways the optional `\s*=\s*value` group can match at the start of `s` (longest first,
/// then without the group), with the length each uses.
fn value_options(s: &str) -> Vec<(Option<&str>, usize)> {
    let mut options = Vec::new();
    let before = s.len() - s.trim_start_matches(re_space).len();
    if let Some(after_eq) = s.get(before..).and_then(|r| r.strip_prefix('=')) {
        let gap = after_eq.len() - after_eq.trim_start_matches(re_space).len();
        let value_at = before + 1 + gap;
        let v = s.get(value_at..).unwrap_or("");
        if let Some(len) = quoted_len(v) {
            options.push((v.get(..len), value_at + len));
        }
        if let Some(len) = expires_len(v) {
            options.push((v.get(..len), value_at + len));
        }
        let plain = v.find(|c: char| !legal_value(c)).unwrap_or(v.len());
        // `[...]*` is greedy but may give back characters; the terminator test then decides.
        for len in (0..=plain).rev() {
            options.push((v.get(..len), value_at + len));
        }
    }
    options.push((None, 0));
    options
}

/// `"(?:[^\\"]|\\.)*"`
fn quoted_len(v: &str) -> Option<usize> {
    let mut chars = v.char_indices();
    if chars.next()?.1 != '"' {
        return None;
    }
    while let Some((i, c)) = chars.next() {
        match c {
            '"' => return Some(i + 1),
            '\\' => {
                chars.next()?;
            }
            _ => {}
        }
    }
    None
}

/// `\w{3},\s[\w\d\s-]{9,11}\s[\d:]{8}\sGMT`
fn expires_len(v: &str) -> Option<usize> {
    let b = v.as_bytes();
    let word = |c: &u8| c.is_ascii_alphanumeric() || *c == b'_';
    let space = |c: &u8| re_space(*c as char);
    if b.len() < 3 + 2 + 9 + 1 + 8 + 4
        || !b.get(..3)?.iter().all(word)
        || b.get(3)? != &b','
        || !space(b.get(4)?)
    {
        return None;
    }
    for mid in (9..=11).rev() {
        let at = 5 + mid;
        let ok = b
            .get(5..at)
            .is_some_and(|m| m.iter().all(|c| word(c) || space(c) || *c == b'-'))
            && b.get(at).is_some_and(space)
            && b.get(at + 1..at + 9)
                .is_some_and(|t| t.iter().all(|c| c.is_ascii_digit() || *c == b':'))
            && b.get(at + 9).is_some_and(space)
            && b.get(at + 10..at + 13) == Some(b"GMT");
        if ok {
            return Some(at + 13);
        }
    }
    None
}

pub fn parse_simple_cookie(line: &str, jar: &mut Jar) {
    let mut parsed: Vec<(String, String)> = Vec::new();
    let mut seen = false;
    let mut i = 0;
    while i < line.len() {
        let Some((key, value, used)) = line.get(i..).and_then(match_pair) else {
            break;
        };
        i += used.max(1);
        if key.starts_with('$') {
            continue;
        }
        if RESERVED.contains(&key.to_ascii_lowercase().as_str()) {
            if !seen {
                return;
            }
            let flag = matches!(key.to_ascii_lowercase().as_str(), "secure" | "httponly");
            if value.is_none() && !flag {
                return;
            }
            continue;
        }
        let Some(value) = value else {
            return;
        };
        parsed.push((key.to_string(), unquote(value)));
        seen = true;
    }
    // `Morsel.set` raises `CookieError` for a key outside `_LegalChars` (narrower than the
    // pattern's key characters): the cookies set before it stay, the rest are lost.
    let settable = |c: char| c.is_ascii_alphanumeric() || "!#$%&'*+-.^_`|~:".contains(c);
    for (key, value) in parsed {
        if !key.chars().all(settable) {
            break;
        }
        jar.keep_last(key, value);
    }
}

pub fn name_simple_cookie(raw: &str) -> Option<String> {
    let name = raw.trim_matches(re_space);
    (!name.is_empty() && name.chars().all(legal_key) && !name.starts_with('$'))
        .then(|| name.to_string())
}
