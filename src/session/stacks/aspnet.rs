//! ASP.NET Core's `HttpRequest.Cookies` (dotnet/aspnetcore): `RequestCookieCollection
//! .ParseInternal` fills a dictionary with `StringComparer.OrdinalIgnoreCase` through
//! `CookieHeaderParserShared.TryParseValues` (`src/Http/Shared/CookieHeaderParserShared.cs`).
//!
//! `TryParseValue` skips whitespace and runs of `,` / `;`, reads a token name, an `=` right
//! after it, a value of cookie-octets (quotes kept), whitespace, and wants a separator or the
//! end. When that fails the loop moves on ONE character (`index++`) and tries again, so a name
//! can start anywhere a parse failed: `a=b"sessionid=x` and `[sessionid=x` hold `sessionid`.
//! Pairs with an empty name or value are skipped; a later value replaces an earlier one
//! (`store[name] = ...`), whatever the case of the name. The value is
//! `Uri.UnescapeDataString`d, and the name too before ASP.NET Core 6 (or with the
//! `EnableCookieNameEncoding` switch): `%C5%BFessionid` is then `ſessionid`, which
//! `OrdinalIgnoreCase` finds as `SESSIONID`.

use super::{is_tchar, Jar};

/// RFC 6265 `cookie-octet` (`CookieValueChar`).
fn value_char(b: u8) -> bool {
    matches!(b, 0x21 | 0x23..=0x2b | 0x2d..=0x3a | 0x3c..=0x5b | 0x5d..=0x7e)
}

fn white(b: &[u8], mut i: usize) -> usize {
    while matches!(b.get(i), Some(b' ' | b'\t')) {
        i += 1;
    }
    i
}

/// `GetNextNonEmptyOrWhitespaceIndex` with empty values skipped: (index, separator found).
fn next(b: &[u8], i: usize) -> (usize, bool) {
    let mut i = white(b, i);
    if !matches!(b.get(i), Some(b',' | b';')) {
        return (i, false);
    }
    while matches!(b.get(i), Some(b',' | b';')) {
        i = white(b, i + 1);
    }
    (i, true)
}

/// Where a pair's name and value are: (name start, name end, value start, value end).
type Spans = (usize, usize, usize, usize);

/// `TryParseValue`: the new index and the pair, if any.
fn try_pair(b: &[u8], index: usize) -> Option<(usize, Option<Spans>)> {
    if index >= b.len() {
        return Some((index, None));
    }
    let (mut i, _) = next(b, index);
    if i == b.len() {
        return Some((i, None));
    }
    let name_start = i;
    while b.get(i).copied().is_some_and(is_tchar) {
        i += 1;
    }
    if i == name_start || b.get(i) != Some(&b'=') {
        return None;
    }
    let name_end = i;
    i += 1;
    let value_start = i;
    let quoted = b.get(i) == Some(&b'"');
    if quoted {
        i += 1;
    }
    while b.get(i).copied().is_some_and(value_char) {
        i += 1;
    }
    let mut value_end = i;
    if quoted {
        if b.get(i) == Some(&b'"') {
            i += 1;
            value_end = i;
        } else {
            // Missing final quote: an empty value (the pair is then skipped).
            value_end = value_start;
        }
    }
    let (after, separated) = next(b, i);
    if !separated && after < b.len() {
        return None;
    }
    Some((after, Some((name_start, name_end, value_start, value_end))))
}

/// `Uri.UnescapeDataString`: `%XX` runs that decode to UTF-8; left as sent otherwise (a
/// simplification: .NET keeps only the undecodable escapes).
fn unescape(s: &str) -> String {
    if !s.contains('%') {
        return s.to_string();
    }
    String::from_utf8(super::percent_decode(s, false)).unwrap_or_else(|_| s.to_string())
}

pub fn parse(line: &str, decode_names: bool, jar: &mut Jar) {
    let b = line.as_bytes();
    let mut index = 0;
    while index < b.len() {
        match try_pair(b, index) {
            Some((after, pair)) => {
                index = after;
                let Some((ns, ne, vs, ve)) = pair else {
                    continue;
                };
                let (Some(name), Some(value)) = (line.get(ns..ne), line.get(vs..ve)) else {
                    continue;
                };
                if name.is_empty() || value.is_empty() {
                    continue;
                }
                let name = if decode_names {
                    unescape(name)
                } else {
                    name.to_string()
                };
                jar.keep_last(name, unescape(value));
            }
            None => index += 1,
        }
    }
}

pub fn name(raw: &str, decode: bool) -> Option<String> {
    let name = raw.trim_matches([' ', '\t']);
    if name.is_empty() || !name.bytes().all(is_tchar) {
        return None;
    }
    Some(if decode {
        unescape(name)
    } else {
        name.to_string()
    })
}
