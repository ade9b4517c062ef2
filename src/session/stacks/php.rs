//! PHP's `$_COOKIE`, after php-src `main/php_variables.c`: `php_default_treat_data` (the
//! `PARSE_COOKIE` case) splits the header and `php_register_variable_ex` turns a name into an
//! array key.
//!
//! - `php_default_treat_data`: `php_strtok_r(res, ";")` (empty pieces skipped); the name ends at
//!   the first `=` (`strchr(var, '=')`), leading `isspace` characters are skipped, an empty name
//!   is skipped. Before 8.0.24 / 8.1.11 the name went through `php_url_decode` (`+` and `%XX`);
//!   since (bug #81727, CVE-2022-31629) it is used as sent. Values: `php_url_decode` before,
//!   `php_raw_url_decode` in current releases (PHP 8.2.36 here: `+` stays `+`).
//! - `php_register_variable_ex`: the name is a C string (a decoded `%00` ends it); leading
//!   spaces skipped; ` ` and `.` become `_` up to the first `[`; `name[...]` with a closing `]`
//!   is an array under `name`; an unclosed `[` becomes `_` (current releases also turn the ` `,
//!   `.` and `[` after it into `_`); since 8.0.24 a name that mangling made start with `__Host-`
//!   or `__Secure-` is discarded. A plain name already in `$_COOKIE` is skipped (the first
//!   wins, the rfc2965 comment there), while an array replaces a plain value.

use super::{percent_decode, text, Jar};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Version {
    Modern,
    Legacy,
}

/// The value PHP gives an array cookie here (the app gets an array, never a session id string).
pub const ARRAY: &str = "[array]";

/// C's `isspace` in the "C" locale.
fn c_space(c: char) -> bool {
    matches!(c, ' ' | '\t' | '\n' | '\x0b' | '\x0c' | '\r')
}

pub fn parse(line: &str, version: Version, jar: &mut Jar) {
    for piece in line.split(';').filter(|p| !p.is_empty()) {
        let piece = piece.trim_start_matches(c_space);
        let (name, value) = piece.split_once('=').unwrap_or((piece, ""));
        if name.is_empty() {
            continue;
        }
        let value = match version {
            Version::Modern => text(percent_decode(value, false)),
            Version::Legacy => text(percent_decode(value, true)),
        };
        let Some((key, array)) = register(&sent_name(name, version), version, true) else {
            continue;
        };
        if array {
            // An array replaces a plain value of the name (and merges with an earlier array).
            jar.keep_last(key, ARRAY.to_string());
        } else {
            jar.keep_first(key, value);
        }
    }
}

/// The name as `php_register_variable_ex` gets it: decoded by old releases, up to a NUL.
fn sent_name(name: &str, version: Version) -> String {
    match version {
        Version::Modern => name.to_string(),
        Version::Legacy => {
            let mut bytes = percent_decode(name, true);
            if let Some(nul) = bytes.iter().position(|b| *b == 0) {
                bytes.truncate(nul);
            }
            text(bytes)
        }
    }
}

/// `php_register_variable_ex`'s key for a name: `(key, is_array)`, or `None` when dropped.
/// `mangle_rest`: whether the characters after an unclosed `[` are mangled too (current
/// releases) or left as they are (older ones).
fn register(name: &str, version: Version, mangle_rest: bool) -> Option<(String, bool)> {
    let name = name.trim_start_matches(' ');
    let mut key = String::with_capacity(name.len());
    let mut array = false;
    for (i, c) in name.char_indices() {
        match c {
            ' ' | '.' => key.push('_'),
            '[' => {
                let rest = name.get(i + 1..).unwrap_or("");
                // `ip++; if (isspace(*ip)) ip++; if (*ip == ']') ... else strchr(ip, ']')`
                if rest.contains(']') {
                    array = true;
                } else {
                    key.push('_');
                    for c in rest.chars() {
                        key.push(match c {
                            ' ' | '.' | '[' if mangle_rest => '_',
                            c => c,
                        });
                    }
                }
                break;
            }
            c => key.push(c),
        }
    }
    if version == Version::Modern {
        for prefix in ["__Host-", "__Secure-"] {
            if key.starts_with(prefix) && !name.starts_with(prefix) {
                return None;
            }
        }
    }
    (!key.is_empty()).then_some((key, array))
}

/// Every key a name split out by `php_default_treat_data` may become, across releases of
/// this version (array cookies included: `$_COOKIE[key]` exists, even if not as a string).
pub fn name_readings(raw: &str, version: Version) -> Vec<String> {
    let raw = raw.trim_start_matches(c_space);
    if raw.is_empty() {
        return Vec::new();
    }
    let sent = sent_name(raw, version);
    let mut keys: Vec<String> = [true, false]
        .into_iter()
        .filter_map(|rest| register(&sent, version, rest).map(|(key, _)| key))
        .collect();
    keys.dedup();
    keys
}
