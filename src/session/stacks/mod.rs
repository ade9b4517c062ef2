//! How each web stack behind the gateway reads a `Cookie` header: which names its app sees, with
//! which values. Each module re-implements one stack's parser from that stack's own source (cited
//! beside the code), so that the gateway's check of the app's session cookie
//! ([`crate::session::credentials::cookie_name_reads_as`]) can be checked against every one of
//! them: a name that any stack here reads as the session cookie must be caught (the fuzz target
//! `cookie_stacks` and `tests/cookie_stacks.rs` hold the gateway to that).
//!
//! These models are not on the hot path: the gateway calls only [`Stack::name_readings`], and
//! only for names with characters some stack reads specially.

mod aspnet;
mod go;
mod node;
mod php;
mod python;
mod rack;
mod tomcat;

use crate::wire::cookie_name::{name_matches, same_ignoring_case};

/// One way a stack reads cookies. Versions that read names differently are separate stacks:
/// the gateway must answer for the oldest one still deployed as much as for the newest.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Stack {
    /// PHP 8.0.24, 8.1.11 and later: names as sent, mangled (CVE-2022-31629 fixed).
    PhpModern,
    /// PHP before 8.0.24 / 8.1.11: names percent-decoded, then mangled.
    PhpLegacy,
    /// Rack 2.1.4, 2.2.3 and later (CVE-2020-8184 fixed): names as sent, `;` only.
    RackModern,
    /// Rack before 2.2.0: names percent-decoded, pairs split at `;` and `,`.
    RackLegacy,
    /// Django's `parse_cookie` (1.11 and later).
    Django,
    /// Python's `http.cookies.SimpleCookie` (Bottle, CherryPy, Django before 1.11).
    PythonSimpleCookie,
    /// Tomcat 8.5 and later, the default `Rfc6265CookieProcessor`.
    TomcatRfc6265,
    /// Tomcat up to 9 with `LegacyCookieProcessor` (the default before 8.5).
    TomcatLegacy,
    /// ASP.NET Core 6 and later: `RequestCookieCollection`, names compared without case.
    AspNetCore,
    /// ASP.NET Core before 6 (and later with `EnableCookieNameEncoding`): names also unescaped.
    AspNetCoreDecodingNames,
    /// Go's `net/http` `Request.Cookie`.
    Go,
    /// Node's `cookie` package (Express's `cookie-parser`), 0.x to 2.x.
    NodeCookie,
}

impl Stack {
    pub const ALL: [Stack; 12] = [
        Stack::PhpModern,
        Stack::PhpLegacy,
        Stack::RackModern,
        Stack::RackLegacy,
        Stack::Django,
        Stack::PythonSimpleCookie,
        Stack::TomcatRfc6265,
        Stack::TomcatLegacy,
        Stack::AspNetCore,
        Stack::AspNetCoreDecodingNames,
        Stack::Go,
        Stack::NodeCookie,
    ];

    /// The cookies an app on this stack sees for one `Cookie` header line: each name once, as
    /// the app looks it up, with the value that wins (some stacks keep the first of a name,
    /// others the last), in the order the names first appear.
    pub fn parse(self, line: &str) -> Jar {
        let mut jar = Jar::new(self.case_insensitive());
        match self {
            Stack::PhpModern => php::parse(line, php::Version::Modern, &mut jar),
            Stack::PhpLegacy => php::parse(line, php::Version::Legacy, &mut jar),
            Stack::RackModern => rack::parse_modern(line, &mut jar),
            Stack::RackLegacy => rack::parse_legacy(line, &mut jar),
            Stack::Django => python::parse_django(line, &mut jar),
            Stack::PythonSimpleCookie => python::parse_simple_cookie(line, &mut jar),
            Stack::TomcatRfc6265 => tomcat::parse_rfc6265(line, &mut jar),
            Stack::TomcatLegacy => tomcat::parse_legacy(line, &mut jar),
            Stack::AspNetCore => aspnet::parse(line, false, &mut jar),
            Stack::AspNetCoreDecodingNames => aspnet::parse(line, true, &mut jar),
            Stack::Go => go::parse(line, &mut jar),
            Stack::NodeCookie => node::parse(line, &mut jar),
        }
        jar
    }

    /// Whether the app looks names up without regard to case.
    pub fn case_insensitive(self) -> bool {
        matches!(self, Stack::AspNetCore | Stack::AspNetCoreDecodingNames)
    }

    /// The names the app may see for a cookie whose name this stack split out of the header as
    /// `raw` (surrounding space included as sent): none if the stack drops such a cookie, more
    /// than one where versions of the stack differ. The same reading applied to the name an
    /// app sets gives the name it looks up.
    pub fn name_readings(self, raw: &str) -> Vec<String> {
        match self {
            Stack::PhpModern => php::name_readings(raw, php::Version::Modern),
            Stack::PhpLegacy => php::name_readings(raw, php::Version::Legacy),
            Stack::RackModern => rack::name_modern(raw).into_iter().collect(),
            Stack::RackLegacy => rack::name_legacy(raw).into_iter().collect(),
            Stack::Django => python::name_django(raw).into_iter().collect(),
            Stack::PythonSimpleCookie => python::name_simple_cookie(raw).into_iter().collect(),
            Stack::TomcatRfc6265 => tomcat::name_rfc6265(raw).into_iter().collect(),
            Stack::TomcatLegacy => tomcat::name_legacy(raw).into_iter().collect(),
            Stack::AspNetCore => aspnet::name(raw, false).into_iter().collect(),
            Stack::AspNetCoreDecodingNames => aspnet::name(raw, true).into_iter().collect(),
            Stack::Go => go::name(raw).into_iter().collect(),
            Stack::NodeCookie => node::name(raw).into_iter().collect(),
        }
    }
}

impl Stack {
    /// Whether an app on this stack, looking up its cookie `target` (as it names it when it
    /// sets it; `*` a run of letters and digits), finds one in `jar`.
    pub fn finds(self, jar: &Jar, target: &str) -> bool {
        let targets = self.name_readings(target);
        jar.pairs().iter().any(|(name, _)| {
            targets
                .iter()
                .any(|t| name_matches(name, t, self.case_insensitive()))
        })
    }
}

/// The cookies one app sees: names in first-seen order, each with the value that won.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Jar {
    pairs: Vec<(String, String)>,
    case_insensitive: bool,
}

impl Jar {
    fn new(case_insensitive: bool) -> Self {
        Jar {
            pairs: Vec::new(),
            case_insensitive,
        }
    }

    fn position(&self, name: &str) -> Option<usize> {
        self.pairs.iter().position(|(n, _)| {
            if self.case_insensitive {
                same_ignoring_case(n, name)
            } else {
                n == name
            }
        })
    }

    /// The first value of a name stays (later ones are ignored).
    fn keep_first(&mut self, name: String, value: String) {
        if self.position(&name).is_none() {
            self.pairs.push((name, value));
        }
    }

    /// A later value of a name replaces the earlier one (the name keeps its first spelling and
    /// place, as a dictionary assignment does).
    fn keep_last(&mut self, name: String, value: String) {
        match self.position(&name) {
            Some(i) => {
                if let Some(pair) = self.pairs.get_mut(i) {
                    pair.1 = value;
                }
            }
            None => self.pairs.push((name, value)),
        }
    }

    /// The value the app gets when it looks `name` up.
    pub fn get(&self, name: &str) -> Option<&str> {
        self.position(name)
            .and_then(|i| self.pairs.get(i))
            .map(|(_, v)| v.as_str())
    }

    /// Every (name, value) the app sees.
    pub fn pairs(&self) -> &[(String, String)] {
        &self.pairs
    }
}

/// RFC 9110 §5.6.2 `tchar`: the characters of a token (a cookie name, to strict parsers).
pub fn is_tchar(b: u8) -> bool {
    b.is_ascii_alphanumeric() || b"!#$%&'*+-.^_`|~".contains(&b)
}

/// `%XX` decoded where both digits are hex (others left as they are); `+` a space when
/// `plus_is_space` (form decoding), as PHP's `php_url_decode` and `php_raw_url_decode` do.
fn percent_decode(s: &str, plus_is_space: bool) -> Vec<u8> {
    let bytes = s.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while let Some(&b) = bytes.get(i) {
        let hex = |j: usize| bytes.get(j).and_then(|d| (*d as char).to_digit(16));
        match b {
            b'+' if plus_is_space => out.push(b' '),
            b'%' => match (hex(i + 1), hex(i + 2)) {
                (Some(h), Some(l)) => {
                    // Two hex digits are below 256.
                    out.push(u8::try_from(h * 16 + l).unwrap_or(b'%'));
                    i += 2;
                }
                _ => out.push(b'%'),
            },
            b => out.push(b),
        }
        i += 1;
    }
    out
}

/// Bytes as text, invalid UTF-8 replaced (such a name never equals a configured one, all of
/// which are text).
fn text(bytes: Vec<u8>) -> String {
    String::from_utf8(bytes).unwrap_or_else(|e| String::from_utf8_lossy(e.as_bytes()).into_owned())
}

#[cfg(test)]
mod tests;
