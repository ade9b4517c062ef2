//! Form fields: `application/x-www-form-urlencoded` bodies and query strings, and the names
//! frameworks give a field. PHP turns ` ` and `.` into `_`, drops leading spaces and cuts at
//! NUL; PHP, Rails/Rack and Express's `qs` read `name[]` and `name[key]` as (part of) `name`;
//! ASP.NET compares names case-insensitively; Django, Java servlets and Go read names as sent.
//! A name that any of them may read as the user name field counts as that field.

use super::ambiguous::Ambiguous;

/// The top-level name PHP reads field `name` as (`$_POST[...]`): cut at NUL, leading spaces
/// dropped, a `[...]` suffix stripped (an unmatched `[` becomes `_`), ` ` and `.` turned into
/// `_`. Case is kept. Empty when PHP drops the field.
pub fn canonical_field_name(name: &str) -> String {
    php_key(name).unwrap_or_default()
}

/// The user name in an urlencoded body (split on `&`; `+` and percent escapes decoded).
pub fn username(body: &[u8], field: &str) -> Result<Option<String>, Ambiguous> {
    // Python's cgi (before 3.10) and Rack (before 3) also split on `;`.
    if body.contains(&b';') {
        return Err(Ambiguous::Separator);
    }
    let mut matcher = Matcher::new(field);
    let mut found = None;
    for pair in body.split(|&b| b == b'&').filter(|p| !p.is_empty()) {
        let mut halves = pair.splitn(2, |&b| b == b'=');
        let name = decode(halves.next().unwrap_or_default())?;
        let name = String::from_utf8(name).map_err(|_| Ambiguous::NotUtf8)?;
        // Other fields' values may be in a legacy page's charset: only the user name is decoded.
        let value = decode(halves.next().unwrap_or_default())?;
        if is_charset_field(&name) {
            return Err(Ambiguous::Charset);
        }
        if matcher.claim(&name, None)? {
            found = Some(String::from_utf8(value).map_err(|_| Ambiguous::NotUtf8)?);
        }
    }
    matcher.finish(found)
}

/// Refuses a query string that names the user name field in any spelling: PHP's `$_REQUEST`
/// and Rails' `params` merge the query with the body. Split on `&` and `;`, decoded leniently,
/// as the most forgiving framework would.
pub fn refuse_in_query(query: &str, field: &str) -> Result<(), Ambiguous> {
    let matcher = Matcher::new(field);
    let named = query
        .split(';')
        .flat_map(|part| form_urlencoded::parse(part.as_bytes()))
        .any(|(name, _)| matcher.touches(&name));
    if named {
        Err(Ambiguous::FieldInQuery)
    } else {
        Ok(())
    }
}

/// HTML's `_charset_` field (ASCII case-insensitive) tells some servers how to decode the rest.
pub(super) fn is_charset_field(name: &str) -> bool {
    name.eq_ignore_ascii_case("_charset_")
}

/// Counts the fields of one body that may be read as the user name field.
pub(super) struct Matcher<'f> {
    field: &'f str,
    reading: Reading<'f>,
    occurrences: usize,
    misspelt: bool,
}

impl<'f> Matcher<'f> {
    pub(super) fn new(field: &'f str) -> Self {
        Self {
            field,
            reading: Reading::of(field),
            occurrences: 0,
            misspelt: false,
        }
    }

    /// Whether some framework may read `name` as the user name field, or a field that holds
    /// it (`user` for `user[email]`), or one inside it (`username[]`).
    pub(super) fn touches(&self, name: &str) -> bool {
        let name = Reading::of(name);
        match (&self.reading.plain, &name.plain) {
            (Some((fkey, fsegs)), Some((key, segs))) => {
                same(fkey, key)
                    && fsegs.iter().zip(segs).all(|(a, b)| {
                        let wildcard = |s: &str| s.trim_matches(' ').is_empty();
                        wildcard(a) || wildcard(b) || same(a, b)
                    })
            }
            _ => (self.reading.keys.iter()).any(|a| name.keys.iter().any(|b| same(a, b))),
        }
    }

    /// Counts field `name` (and `also`, another reading of it some framework makes) if it
    /// touches the user name field. `Ok(true)`: it is the field spelled as the rule spells it,
    /// so its value is the user name. A second occurrence is refused at once; a lone other
    /// spelling at [`finish`](Self::finish).
    pub(super) fn claim(&mut self, name: &str, also: Option<&str>) -> Result<bool, Ambiguous> {
        if !self.touches(name) && !also.is_some_and(|a| self.touches(a)) {
            return Ok(false);
        }
        self.occurrences += 1;
        if self.occurrences > 1 {
            return Err(Ambiguous::DuplicateField);
        }
        if name != self.field || also.is_some() {
            self.misspelt = true;
            return Ok(false);
        }
        Ok(true)
    }

    pub(super) fn finish(self, value: Option<String>) -> Result<Option<String>, Ambiguous> {
        if self.misspelt {
            Err(Ambiguous::FieldSpelling)
        } else {
            Ok(value)
        }
    }
}

/// How frameworks read one field name.
struct Reading<'a> {
    /// For `base[seg]…` without oddities, where all bracket-reading frameworks agree: the base
    /// as PHP reads it, and the segments.
    plain: Option<(String, Vec<&'a str>)>,
    /// The top-level names some framework may read.
    keys: Vec<String>,
}

impl<'a> Reading<'a> {
    fn of(name: &'a str) -> Self {
        let plain = plain(name);
        let mut keys = vec![name.to_string()];
        keys.extend(php_key(name));
        // Rack 2 and `qs` skip leading brackets and read up to the next bracket.
        let rack = name.trim_start_matches(['[', ']']);
        keys.extend(rack.split(['[', ']']).next().map(str::to_string));
        // Rack 3: up to the first `[` after the first character.
        let rack3 = name.char_indices().skip(1).find(|&(_, c)| c == '[');
        keys.extend(rack3.and_then(|(i, _)| name.get(..i)).map(str::to_string));
        keys.retain(|k| !k.is_empty());
        Self { plain, keys }
    }
}

/// `base[seg][seg]…`: no NUL, no leading space, a base without brackets, nothing after the last
/// `]`. The base is given as PHP reads it.
fn plain(name: &str) -> Option<(String, Vec<&str>)> {
    if name.starts_with(' ') || name.contains('\0') {
        return None;
    }
    let (base, mut rest) = name.split_at_checked(name.find('[').unwrap_or(name.len()))?;
    if base.is_empty() || base.contains(']') {
        return None;
    }
    let mut segments = Vec::new();
    while !rest.is_empty() {
        let (segment, after) = rest.strip_prefix('[')?.split_once(']')?;
        if segment.contains('[') {
            return None;
        }
        segments.push(segment);
        rest = after;
    }
    Some((mangle(base), segments))
}

/// PHP's `php_register_variable_ex`: the name is a C string, leading spaces are skipped, the
/// base ends at a `[` that has a `]` after it; otherwise that `[` becomes `_`.
fn php_key(name: &str) -> Option<String> {
    let name = name.split_once('\0').map_or(name, |(before, _)| before);
    let name = name.trim_start_matches(' ');
    let key = match name.split_once('[') {
        None => mangle(name),
        Some(("", _)) => return None,
        Some((base, rest)) if rest.contains(']') => mangle(base),
        Some((base, rest)) => format!("{}_{}", mangle(base), rest.replace([' ', '.', '['], "_")),
    };
    (!key.is_empty()).then_some(key)
}

fn mangle(base: &str) -> String {
    base.replace([' ', '.'], "_")
}

/// Equal under Unicode case folding (ASP.NET compares form names ignoring case).
pub(super) fn same(a: &str, b: &str) -> bool {
    let fold = |s: &str| -> String {
        s.chars()
            .flat_map(char::to_uppercase)
            .flat_map(char::to_lowercase)
            .collect()
    };
    a == b || fold(a) == fold(b)
}

/// Strict `application/x-www-form-urlencoded` decoding: `+` is a space, `%XX` a byte; a `%`
/// without two hex digits is refused (parsers keep it, drop the field, or fail).
fn decode(raw: &[u8]) -> Result<Vec<u8>, Ambiguous> {
    let mut out = Vec::with_capacity(raw.len());
    let mut bytes = raw.iter().copied();
    while let Some(b) = bytes.next() {
        out.push(match b {
            b'+' => b' ',
            b'%' => match (bytes.next().and_then(hex), bytes.next().and_then(hex)) {
                (Some(high), Some(low)) => (high << 4) | low,
                _ => return Err(Ambiguous::PercentEncoding),
            },
            other => other,
        });
    }
    Ok(out)
}

fn hex(b: u8) -> Option<u8> {
    char::from(b)
        .to_digit(16)
        .and_then(|d| u8::try_from(d).ok())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn read(body: &str) -> Result<Option<String>, Ambiguous> {
        username(body.as_bytes(), "username")
    }

    #[test]
    fn canonical_names_follow_php() {
        for (name, key) in [
            ("username", "username"),
            ("user.name", "user_name"),
            ("user name", "user_name"),
            ("  username", "username"),
            ("username[]", "username"),
            ("username[x][y]", "username"),
            ("user[name", "user_name"),
            ("user[na.me", "user_na_me"),
            ("username\0junk", "username"),
            ("UserName", "UserName"),
            ("[username]", ""),
        ] {
            assert_eq!(canonical_field_name(name), key, "{name:?}");
        }
    }

    #[test]
    fn a_django_admin_login_is_read() {
        let body = "csrfmiddlewaretoken=Zk3x9Q&username=alice%40example.com\
                    &password=p%26w%3Dd+1&next=%2Fadmin%2F";
        assert_eq!(read(body), Ok(Some("alice@example.com".into())));
        assert_eq!(read("username=&password=pw"), Ok(Some(String::new())));
        assert_eq!(read("username&password=pw"), Ok(Some(String::new())));
        assert_eq!(read("&&password=pw&"), Ok(None));
        assert_eq!(read("user=alice&usernames=bob&name=x"), Ok(None));
        assert_eq!(read("username=a=b"), Ok(Some("a=b".into())));
    }

    #[test]
    fn plus_and_percent_escapes_are_decoded() {
        assert_eq!(
            read("username=J+Doe%2B1%c3%a9"),
            Ok(Some("J Doe+1é".into()))
        );
        assert_eq!(read("user%6Eame=bob"), Ok(Some("bob".into())));
    }

    #[test]
    fn a_bad_percent_escape_is_refused() {
        for body in [
            "username=a%zz",
            "username=a%4",
            "username=a%",
            "x%G1=1&username=a",
            "username=%%41",
        ] {
            assert_eq!(read(body), Err(Ambiguous::PercentEncoding), "{body}");
        }
    }

    #[test]
    fn a_raw_semicolon_is_refused() {
        assert_eq!(
            read("username=alice;username=bob"),
            Err(Ambiguous::Separator)
        );
        assert_eq!(read("username=alice&note=a;b"), Err(Ambiguous::Separator));
        assert_eq!(read("username=alice&note=a%3Bb"), Ok(Some("alice".into())));
    }

    #[test]
    fn names_and_the_user_name_must_be_utf8() {
        assert_eq!(read("username=al%FFce"), Err(Ambiguous::NotUtf8));
        assert_eq!(read("x%FF=1&username=alice"), Err(Ambiguous::NotUtf8));
        // A legacy Latin-1 page sends the password in Latin-1: it is not ours to read.
        assert_eq!(
            read("username=alice&password=caf%E9"),
            Ok(Some("alice".into()))
        );
    }

    #[test]
    fn a_duplicate_field_is_refused() {
        for body in [
            "username=alice&username=bob",
            "username=alice&user%6Eame=bob",
            "username=alice&username[]=bob",
            "username[x]=bob&username=alice",
            "username=alice&Username=bob",
            "username=alice&+username=bob",
            "username=alice&username%00x=bob",
            "username=alice&%5Busername%5D=bob",
        ] {
            assert_eq!(read(body), Err(Ambiguous::DuplicateField), "{body}");
        }
        let dotted = username(b"user_name=alice&user.name=bob", "user_name");
        assert_eq!(dotted, Err(Ambiguous::DuplicateField));
    }

    #[test]
    fn a_lone_field_spelled_differently_is_refused() {
        for body in [
            "username[]=bob",
            "username[0]=bob",
            "USERNAME=bob",
            "%20username=bob",
            "username%00=bob",
            "[username]=bob",
            "username]=bob",
            "username[=bob",
        ] {
            assert_eq!(read(body), Err(Ambiguous::FieldSpelling), "{body}");
        }
        for (body, field) in [
            ("user.name=bob", "user_name"),
            ("user+name=bob", "user_name"),
            ("user_name=bob", "user.name"),
            ("user[name=bob", "user_name"),
        ] {
            assert_eq!(
                username(body.as_bytes(), field),
                Err(Ambiguous::FieldSpelling),
                "{body}"
            );
        }
    }

    #[test]
    fn a_nested_rails_field_is_read_beside_its_siblings() {
        let body = b"authenticity_token=t&user%5Bemail%5D=a%40b.c&user%5Bpassword%5D=pw\
                     &user%5Bremember_me%5D=0&commit=Log+in";
        assert_eq!(username(body, "user[email]"), Ok(Some("a@b.c".into())));
        let whole = b"user=x&user%5Bemail%5D=a%40b.c";
        assert_eq!(
            username(whole, "user[email]"),
            Err(Ambiguous::DuplicateField)
        );
        let deeper = b"user%5Bemail%5D%5B%5D=a%40b.c";
        assert_eq!(
            username(deeper, "user[email]"),
            Err(Ambiguous::FieldSpelling)
        );
    }

    #[test]
    fn a_charset_field_is_refused() {
        assert_eq!(read("_charset_=UTF-8&username=a"), Err(Ambiguous::Charset));
        assert_eq!(read("_CHARSET_=latin1&username=a"), Err(Ambiguous::Charset));
    }

    #[test]
    fn the_field_in_a_query_is_found_in_any_spelling() {
        for query in [
            "username=x",
            "a&username",
            "a=1;username=x",
            "user%6Eame=x",
            "username%5B%5D=x",
            "USERNAME=x",
            "[username]=x",
            "username%zz=1&username=x",
            "%20username",
        ] {
            assert_eq!(
                refuse_in_query(query, "username"),
                Err(Ambiguous::FieldInQuery),
                "{query}"
            );
        }
        for query in [
            "",
            "next=%2Fadmin%2F",
            "user=x&name=y",
            "usernames=x",
            "next=username",
        ] {
            assert_eq!(refuse_in_query(query, "username"), Ok(()), "{query}");
        }
    }
}
