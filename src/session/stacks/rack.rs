//! Rack's `Rack::Request#cookies`, which is `Rack::Utils.parse_cookies_header` (rack/rack
//! `lib/rack/utils.rb`, `lib/rack/request.rb`); Rails and Redmine read cookies through it.
//!
//! - Since 2.1.4 / 2.2.3 (commit 1f5763de, CVE-2020-8184), and in 3.x:
//!   `header.split(/[;] */n)`, empty pieces skipped, `cookie.split('=', 2)`: the name exactly as
//!   sent (only the spaces right after a `;` are eaten; tabs and trailing spaces stay), the
//!   value `unescape`d (`URI.decode_www_form_component`, kept as sent when that raises); the
//!   first of a name wins (`unless cookies.key?(key)`). Debian 12's ruby-rack is 2.2.22.
//! - Before 2.2.0: `parse_query(header, ';,') { |s| unescape(s) rescue s }`, so pairs split at
//!   `;` or `,` (`/[;,] */n`), name and value both unescaped, the first of a name wins
//!   (`Array === v ? v.first : v`). (2.2.0 to 2.2.2 split at `;` only but still unescaped
//!   names: covered by the name reading here.)

use super::Jar;

/// `URI.decode_www_form_component`: `+` is a space, `%XX` a byte; a `%` without two hex
/// digits raises (`None`, and Rack's `rescue` keeps the text as sent).
fn unescape(s: &str) -> Option<String> {
    let bytes = s.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while let Some(&b) = bytes.get(i) {
        match b {
            b'+' => out.push(b' '),
            b'%' => {
                let digit = |j: usize| bytes.get(j).and_then(|d| (*d as char).to_digit(16));
                let (h, l) = (digit(i + 1)?, digit(i + 2)?);
                out.push(u8::try_from(h * 16 + l).ok()?);
                i += 2;
            }
            b => out.push(b),
        }
        i += 1;
    }
    Some(super::text(out))
}

/// Ruby's `String#split` with a regexp: trailing empty fields are dropped.
fn split_at<'a>(line: &'a str, seps: &'a [char]) -> impl Iterator<Item = &'a str> {
    let mut pieces: Vec<&str> = Vec::new();
    let mut rest = line;
    while let Some(i) = rest.find(seps) {
        pieces.push(rest.get(..i).unwrap_or(""));
        // The separator, then any spaces (` *`).
        rest = rest.get(i + 1..).unwrap_or("").trim_start_matches(' ');
    }
    pieces.push(rest);
    while pieces.last().is_some_and(|p| p.is_empty()) {
        pieces.pop();
    }
    pieces.into_iter()
}

pub fn parse_modern(line: &str, jar: &mut Jar) {
    for cookie in split_at(line, &[';']).filter(|c| !c.is_empty()) {
        let (key, value) = match cookie.split_once('=') {
            Some((k, v)) => (k, unescape(v).unwrap_or_else(|| v.to_string())),
            // `"a".split('=', 2)` is `["a"]`: the value is nil (shown here as empty).
            None => (cookie, String::new()),
        };
        jar.keep_first(key.to_string(), value);
    }
}

pub fn parse_legacy(line: &str, jar: &mut Jar) {
    for cookie in split_at(line, &[';', ',']).filter(|c| !c.is_empty()) {
        let (key, value) = cookie.split_once('=').unwrap_or((cookie, ""));
        let read = |s: &str| unescape(s).unwrap_or_else(|| s.to_string());
        jar.keep_first(read(key), read(value));
    }
}

/// A name as split out (the spaces after a `;` are not part of it).
pub fn name_modern(raw: &str) -> Option<String> {
    Some(raw.trim_start_matches(' ').to_string())
}

pub fn name_legacy(raw: &str) -> Option<String> {
    let raw = raw.trim_start_matches(' ');
    Some(unescape(raw).unwrap_or_else(|| raw.to_string()))
}
