//! Go's `net/http` (golang/go `src/net/http/cookie.go`, `readCookies`): each line trimmed
//! (`textproto.TrimString`), split at `;`, each part trimmed and skipped when empty, cut at the
//! first `=`, the name trimmed and kept only if it is a token (`isCookieNameValid`); the value
//! (`parseCookieValue(val, true)`) loses surrounding quotes and must be bytes 0x20-0x7e other
//! than `"`, `;` and `\`, or the pair is skipped. `Request.Cookie(name)` is the first match.

use super::{is_tchar, Jar};

fn trim(s: &str) -> &str {
    s.trim_matches([' ', '\t', '\n', '\r'])
}

pub fn parse(line: &str, jar: &mut Jar) {
    for part in trim(line).split(';').map(trim).filter(|p| !p.is_empty()) {
        let (name, value) = part.split_once('=').unwrap_or((part, ""));
        let Some(name) = self::name(name) else {
            continue;
        };
        let value = match value.strip_prefix('"').and_then(|v| v.strip_suffix('"')) {
            Some(inner) if value.len() > 1 => inner,
            _ => value,
        };
        if value
            .bytes()
            .all(|b| (0x20..0x7f).contains(&b) && !matches!(b, b'"' | b';' | b'\\'))
        {
            jar.keep_first(name, value.to_string());
        }
    }
}

pub fn name(raw: &str) -> Option<String> {
    let name = trim(raw);
    (!name.is_empty() && name.bytes().all(is_tchar)).then(|| name.to_string())
}
