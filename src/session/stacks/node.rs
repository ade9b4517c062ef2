//! Node's `cookie` package (jshttp/cookie `src/index.ts`, `parseCookie` in 1.x/2.x; `parse`
//! with `str.split(/; */)` in 0.x reads the same names): from the current index, the next `=`
//! and the next `;`; an `=` beyond the `;` means the piece has none and the scan restarts at
//! the piece holding that `=`. The name is the text before the `=`, trimmed of spaces and tabs;
//! the value likewise, then `decodeURIComponent`d when it holds a `%` (kept as sent if that
//! throws). The first value of a name wins.

use super::Jar;

fn trim(s: &str) -> &str {
    s.trim_matches([' ', '\t'])
}

/// `decodeURIComponent`, or `None` where it throws (a bad escape, or bytes not UTF-8).
fn decode(s: &str) -> Option<String> {
    let bytes = s.as_bytes();
    for (i, b) in bytes.iter().enumerate() {
        if *b == b'%' {
            let hex = |j: usize| bytes.get(j).is_some_and(u8::is_ascii_hexdigit);
            if !(hex(i + 1) && hex(i + 2)) {
                return None;
            }
        }
    }
    String::from_utf8(super::percent_decode(s, false)).ok()
}

pub fn parse(line: &str, jar: &mut Jar) {
    let len = line.len();
    if len < 2 {
        return;
    }
    let mut index = 0;
    while index < len {
        let rest = line.get(index..).unwrap_or("");
        let Some(eq) = rest.find('=').map(|i| i + index) else {
            break;
        };
        let end = rest.find(';').map_or(len, |i| i + index);
        if eq > end {
            index = line
                .get(..eq)
                .and_then(|s| s.rfind(';'))
                .map_or(0, |i| i + 1);
            continue;
        }
        let key = trim(line.get(index..eq).unwrap_or(""));
        let value = trim(line.get(eq + 1..end).unwrap_or(""));
        let value = if value.contains('%') {
            decode(value).unwrap_or_else(|| value.to_string())
        } else {
            value.to_string()
        };
        jar.keep_first(key.to_string(), value);
        index = end + 1;
    }
}

pub fn name(raw: &str) -> Option<String> {
    Some(trim(raw).to_string())
}
