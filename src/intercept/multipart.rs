//! `multipart/form-data` (RFC 7578), read strictly: only the shape browsers, curl and Python
//! requests send. Parsers disagree on everything else (preambles, LF-only lines, header
//! folding, `Content-Transfer-Encoding`, RFC 2231 names, escapes), so it is refused.

use super::ambiguous::Ambiguous;
use super::form::{is_charset_field, Matcher};
use super::media_type::MediaType;

/// Django looks for the end of a part's headers in its first 1024 bytes and skips the part
/// when it is not there.
const MAX_PART_HEAD: usize = 1024;

const OWS: [char; 2] = [' ', '\t'];

/// The user name in a multipart body whose content type is `media`.
pub fn username(
    media: &MediaType<'_>,
    body: &[u8],
    field: &str,
) -> Result<Option<String>, Ambiguous> {
    read_field(body, form_boundary(media)?, field)
}

/// The `boundary` of a `multipart/form-data` content type this module reads: given once,
/// 1 to 70 of RFC 2046's `bcharsnospace`, beside nothing but `charset=utf-8`.
pub fn boundary(content_type: &str) -> Option<&str> {
    let media = MediaType::parse(content_type).ok()?;
    media.is("multipart", "form-data").then_some(())?;
    form_boundary(&media).ok()
}

/// The text value of field `name`; `None` when it is missing or the body is refused.
pub fn text_field(body: &[u8], boundary: &str, name: &str) -> Option<String> {
    read_field(body, boundary, name).ok().flatten()
}

fn form_boundary<'a>(media: &MediaType<'a>) -> Result<&'a str, Ambiguous> {
    let shape = Ambiguous::MultipartShape;
    media
        .allow_only(&["boundary", "charset"])
        .map_err(|e| match e {
            Ambiguous::UnexpectedParameter => shape,
            other => other,
        })?;
    let boundary = media.param("boundary").ok_or(shape)?;
    // PHP takes the boundary after the first text `boundary` in the header (in lower case;
    // failing that, in any case), and ends an unquoted one at `,`: the parameter must be that
    // first text, so spelled in lower case with no `boundary` in any value before or after
    // (WebKit's `----WebKitFormBoundary…` is fine: PHP looks for lower case first).
    if media.params().iter().any(|(name, value)| {
        value.contains("boundary") || (name.eq_ignore_ascii_case("boundary") && *name != "boundary")
    }) || boundary.contains(',')
    {
        return Err(shape);
    }
    let bchars = |b: u8| b.is_ascii_alphanumeric() || b"'()+_-./:=?".contains(&b);
    if (1..=70).contains(&boundary.len()) && boundary.bytes().all(bchars) {
        Ok(boundary)
    } else {
        Err(shape)
    }
}

fn read_field(body: &[u8], boundary: &str, field: &str) -> Result<Option<String>, Ambiguous> {
    let mut matcher = Matcher::new(field);
    let mut found = None;
    for raw in parts(body, boundary)? {
        let part = Part::parse(raw)?;
        // Django strips the name (Python's whitespace, `\x1c`-`\x1f` included).
        let stripped = part
            .name
            .trim_matches(|c: char| c.is_whitespace() || ('\u{1c}'..='\u{1f}').contains(&c));
        if is_charset_field(stripped) {
            return Err(Ambiguous::Charset);
        }
        let also = (stripped != part.name).then_some(stripped);
        if matcher.claim(part.name, also)? {
            found = Some(part.text()?);
        }
    }
    matcher.finish(found)
}

/// The raw parts: the body opens with `--BOUNDARY CRLF` (no preamble), parts are separated by
/// `CRLF --BOUNDARY CRLF`, and `CRLF --BOUNDARY--` closes, followed by at most one CRLF. The
/// delimiter appears nowhere else: a parser that ends lines at LF alone would see it there.
fn parts<'b>(body: &'b [u8], boundary: &str) -> Result<Vec<&'b [u8]>, Ambiguous> {
    let shape = Ambiguous::MultipartShape;
    let dash = [b"--".as_slice(), boundary.as_bytes()].concat();
    let delimiter = [b"\r\n".as_slice(), &dash].concat();
    let mut rest = body
        .strip_prefix(dash.as_slice())
        .and_then(|r| r.strip_prefix(b"\r\n"))
        .ok_or(shape)?;
    let mut parts = Vec::new();
    loop {
        let end = find(rest, &delimiter).ok_or(shape)?;
        parts.push(rest.get(..end).ok_or(shape)?);
        let after = rest.get(end + delimiter.len()..).ok_or(shape)?;
        if let Some(next) = after.strip_prefix(b"\r\n") {
            rest = next;
            continue;
        }
        match after.strip_prefix(b"--") {
            Some(b"" | b"\r\n") => break,
            _ => return Err(shape),
        }
    }
    let occurrences = body.windows(dash.len()).filter(|w| *w == dash).count();
    if occurrences != parts.len() + 1 {
        return Err(shape);
    }
    Ok(parts)
}

/// One part: CRLF-separated headers, `Content-Disposition` once (required) and `Content-Type`
/// once (optional), nothing else; a blank line; the value.
struct Part<'b> {
    name: &'b str,
    filename: bool,
    content_type: Option<&'b str>,
    value: &'b [u8],
}

impl<'b> Part<'b> {
    fn parse(raw: &'b [u8]) -> Result<Self, Ambiguous> {
        let shape = Ambiguous::MultipartShape;
        let split = find(raw, b"\r\n\r\n").ok_or(shape)?;
        if split + 4 > MAX_PART_HEAD {
            return Err(shape);
        }
        let head = std::str::from_utf8(raw.get(..split).ok_or(shape)?).map_err(|_| shape)?;
        let value = raw.get(split + 4..).ok_or(shape)?;
        let (mut disposition, mut content_type) = (None, None);
        for line in head.split("\r\n") {
            // A bare CR or LF, or a folded line, is read differently by different parsers.
            if line.contains(['\r', '\n']) || line.starts_with(OWS) {
                return Err(shape);
            }
            let (name, value) = line.split_once(':').ok_or(shape)?;
            let slot = if name.eq_ignore_ascii_case("content-disposition") {
                &mut disposition
            } else if name.eq_ignore_ascii_case("content-type") {
                &mut content_type
            } else {
                // Content-Transfer-Encoding above all: Django decodes base64 fields.
                return Err(shape);
            };
            if slot.replace(value.trim_matches(OWS)).is_some() {
                return Err(shape);
            }
        }
        let (name, filename) = disposition_params(disposition.ok_or(shape)?)?;
        // RFC 2388's nested multipart/mixed, which Python's old cgi module unpacked.
        let nested = content_type
            .and_then(|ct| ct.get(..10))
            .is_some_and(|t| t.eq_ignore_ascii_case("multipart/"));
        if nested {
            return Err(shape);
        }
        Ok(Self {
            name,
            filename,
            content_type,
            value,
        })
    }

    /// The value of a text field: not a file, `text/plain` in UTF-8 if typed at all.
    fn text(&self) -> Result<String, Ambiguous> {
        if self.filename {
            return Err(Ambiguous::FieldNotText);
        }
        if let Some(content_type) = self.content_type {
            let media = MediaType::parse(content_type).map_err(|_| Ambiguous::FieldNotText)?;
            if !media.is("text", "plain") {
                return Err(Ambiguous::FieldNotText);
            }
            media.allow_only(&["charset"]).map_err(|e| match e {
                Ambiguous::Charset => e,
                _ => Ambiguous::FieldNotText,
            })?;
        }
        String::from_utf8(self.value.to_vec()).map_err(|_| Ambiguous::NotUtf8)
    }
}

/// `form-data; name="…"` with an optional `; filename="…"`, each once, quoted, without `"`,
/// `\`, `;`, CR or LF inside; no other parameter (`name*`, `filename*` included).
fn disposition_params(value: &str) -> Result<(&str, bool), Ambiguous> {
    let shape = Ambiguous::MultipartShape;
    let mut pieces = value.split(';').map(|p| p.trim_matches(OWS));
    if !pieces
        .next()
        .is_some_and(|t| t.eq_ignore_ascii_case("form-data"))
    {
        return Err(shape);
    }
    let (mut name, mut filename) = (None, None);
    for piece in pieces {
        let (key, quoted) = piece.split_once('=').ok_or(shape)?;
        let value = quoted
            .strip_prefix('"')
            .and_then(|v| v.strip_suffix('"'))
            .filter(|v| !v.contains(['"', '\\', '\r', '\n']))
            .ok_or(shape)?;
        let slot = if key.eq_ignore_ascii_case("name") {
            &mut name
        } else if key.eq_ignore_ascii_case("filename") {
            &mut filename
        } else {
            return Err(shape);
        };
        if slot.replace(value).is_some() {
            return Err(shape);
        }
    }
    Ok((name.ok_or(shape)?, filename.is_some()))
}

fn find(haystack: &[u8], needle: &[u8]) -> Option<usize> {
    haystack.windows(needle.len()).position(|w| w == needle)
}

#[cfg(test)]
mod tests {
    use super::*;

    type Read = Result<Option<String>, Ambiguous>;

    const B: &str = "----WebKitFormBoundaryx7JpQ3aLm9ZcT2bV";
    const CT: &str = "multipart/form-data; boundary=----WebKitFormBoundaryx7JpQ3aLm9ZcT2bV";
    const SHAPE: Read = Err(Ambiguous::MultipartShape);

    fn read(ct: &str, body: &[u8]) -> Read {
        username(&MediaType::parse(ct)?, body, "username")
    }

    /// A body with boundary `B` whose parts have headers `head` and value `value`.
    fn body(parts: &[(&str, &str)]) -> Vec<u8> {
        let mut out = String::new();
        for (head, value) in parts {
            out.push_str(&format!("--{B}\r\n{head}\r\n\r\n{value}\r\n"));
        }
        out.push_str(&format!("--{B}--\r\n"));
        out.into_bytes()
    }

    fn field(name: &str) -> String {
        format!("Content-Disposition: form-data; name=\"{name}\"")
    }

    /// One part with headers `head` and value `alice`.
    fn one(head: &str) -> Read {
        read(CT, &body(&[(head, "alice")]))
    }

    fn alice() -> Read {
        Ok(Some("alice".into()))
    }

    #[test]
    fn a_chromium_body_is_read() {
        let file = "Content-Disposition: form-data; name=\"avatar\"; filename=\"\"\r\n\
                    Content-Type: application/octet-stream";
        let b = body(&[
            (&field("csrfmiddlewaretoken"), "Zk3x9Q"),
            (&field("username"), "alice"),
            (&field("password"), "p\r\nw--"),
            (file, ""),
        ]);
        assert_eq!(read(CT, &b), alice());
    }

    #[test]
    fn curl_and_python_requests_bodies_are_read() {
        // Captured from curl 7.88 `-F username=alice -F password=pw`.
        let ct = "multipart/form-data; boundary=------------------------c9c3b0703135478e";
        let b = b"--------------------------c9c3b0703135478e\r\n\
            Content-Disposition: form-data; name=\"username\"\r\n\r\nalice\r\n\
            --------------------------c9c3b0703135478e\r\n\
            Content-Disposition: form-data; name=\"password\"\r\n\r\npw\r\n\
            --------------------------c9c3b0703135478e--\r\n";
        assert_eq!(read(ct, b), alice());
        // Captured from requests 2.34 `data={'username': 'alice'}, files={'avatar': ...}`.
        let ct = "multipart/form-data; boundary=4cc0f1b690afa4198628e81afb063842";
        let b = b"--4cc0f1b690afa4198628e81afb063842\r\n\
            Content-Disposition: form-data; name=\"username\"\r\n\r\nalice\r\n\
            --4cc0f1b690afa4198628e81afb063842\r\n\
            Content-Disposition: form-data; name=\"avatar\"; filename=\"a.txt\"\r\n\r\nhi\r\n\
            --4cc0f1b690afa4198628e81afb063842--\r\n";
        assert_eq!(read(ct, b), alice());
    }

    #[test]
    fn the_boundary_is_given_once_in_bcharsnospace() {
        assert_eq!(boundary(CT), Some(B));
        let quoted = "Multipart/Form-Data; charset=UTF-8; boundary=\"a:b=c?\"";
        assert_eq!(boundary(quoted), Some("a:b=c?"));
        let longest = format!("multipart/form-data; boundary={}", "a".repeat(70));
        assert_eq!(boundary(&longest).map(str::len), Some(70));
        for ct in [
            "multipart/form-data",
            "multipart/form-data; boundary=\"\"",
            "multipart/form-data; boundary=\"a b\"",
            "multipart/form-data; boundary=\"a \"",
            "multipart/form-data; boundary=a; boundary=b",
            // PHP reads these as boundaries `b"` and `a`.
            "multipart/form-data; BOUNDARY=\"xboundary=b\"",
            "multipart/form-data; boundary=a,b",
            "multipart/form-data; charset=boundary; boundary=a",
            "multipart/form-data; Boundary=a",
            "multipart/form-data; boundary=a; foo=bar",
            "multipart/form-data; boundary=a; charset=latin1",
            "multipart/mixed; boundary=a",
            "application/x-www-form-urlencoded",
            &format!("{longest}a"),
        ] {
            assert_eq!(boundary(ct), None, "{ct}");
        }
        let with = |params: &str| {
            read(
                &format!("{CT}; {params}"),
                &body(&[(&field("username"), "alice")]),
            )
        };
        assert_eq!(with("boundary=a"), Err(Ambiguous::DuplicateParameter));
        assert_eq!(with("name=x"), SHAPE);
        assert_eq!(with("charset=utf-16"), Err(Ambiguous::Charset));
        assert_eq!(with("charset=utf-8"), alice());
    }

    #[test]
    fn only_delimiters_open_separate_and_close_parts() {
        let ct = "multipart/form-data; boundary=AAA";
        let part = "Content-Disposition: form-data; name=\"username\"\r\n\r\nalice";
        for b in [
            format!("preamble\r\n--AAA\r\n{part}\r\n--AAA--\r\n"),
            format!("\r\n--AAA\r\n{part}\r\n--AAA--\r\n"),
            format!("--AAA\r\n{part}\r\n--AAA--\r\nepilogue"),
            format!("--AAA\r\n{part}\r\n--AAA--\r\n\r\n"),
            format!("--AAA\r\n{part}\r\n--AAA"),
            format!("--AAA\r\n{part}"),
            format!("--AAA \r\n{part}\r\n--AAA--\r\n"),
            format!("--AAA\n{part}\n--AAA--\n"),
            format!("--AAA\r\n{part}\n--AAA\r\n{part}\r\n--AAA--\r\n"),
            format!("--AAA\r\n{part}--AAA\r\n--AAA--\r\n"),
            format!("--AAA\r\n{part}\r\n--AAAB\r\n--AAA--\r\n"),
            "--AAA--\r\n".to_string(),
            String::new(),
        ] {
            assert_eq!(read(ct, b.as_bytes()), SHAPE, "{b:?}");
        }
        for end in ["", "\r\n"] {
            let b = format!("--AAA\r\n{part}\r\n--AAA--{end}");
            assert_eq!(read(ct, b.as_bytes()), alice(), "{b:?}");
        }
    }

    #[test]
    fn part_headers_are_disposition_and_type_only() {
        let user = field("username");
        for head in [
            format!("{user}\r\nContent-Transfer-Encoding: base64"),
            format!("{user}\r\nContent-Disposition: form-data; name=\"x\""),
            format!("{user}\r\nContent-Type: text/plain\r\ncontent-type: text/plain"),
            format!("{user}\r\nX-Note: hi"),
            format!("{user}\nX-Note: hi"),
            "Content-Disposition: form-data;\r\n name=\"username\"".into(),
            "Content-Disposition : form-data; name=\"username\"".into(),
            "Content-Type: text/plain".into(),
            String::new(),
            format!(
                "{}\r\nContent-Type: multipart/mixed; boundary=b",
                field("x")
            ),
            format!(
                "{}\r\nContent-Type: text/plain; x=\"{}\"",
                field("x"),
                "y".repeat(1000)
            ),
        ] {
            assert_eq!(one(&head), SHAPE, "{head:?}");
        }
        let head = "content-disposition: FORM-DATA; NAME=\"username\"\r\nCONTENT-TYPE: text/plain";
        assert_eq!(one(head), alice());
    }

    #[test]
    fn the_disposition_is_form_data_with_a_quoted_name() {
        for disposition in [
            "attachment; name=\"username\"",
            "form-data",
            "form-data; name=username",
            "form-data; name=\"username\"; name=\"x\"",
            "form-data; name*=UTF-8''username",
            "form-data; name=\"x\"; filename*=UTF-8''a.txt",
            "form-data; name=\"user\\\"name\"",
            "form-data; name=\"a;b\"",
            "form-data; name=\"username\"; filename=\"a\"; filename=\"b\"",
            "form-data; name=\"username\"; size=3",
            "form-data; name=\"username\";",
            "form-data; name = \"username\"",
        ] {
            let head = format!("Content-Disposition: {disposition}");
            assert_eq!(one(&head), SHAPE, "{disposition}");
        }
        assert_eq!(
            one("Content-Disposition: form-data;name=\"username\""),
            alice()
        );
    }

    #[test]
    fn the_user_name_part_is_plain_utf8_text() {
        let typed = |ct: &str| one(&format!("{}\r\nContent-Type: {ct}", field("username")));
        assert_eq!(typed("text/plain"), alice());
        assert_eq!(typed("text/plain; charset=UTF-8"), alice());
        for ct in [
            "application/octet-stream",
            "text/html",
            "text/plain; format=flowed",
            "x",
        ] {
            assert_eq!(typed(ct), Err(Ambiguous::FieldNotText), "{ct}");
        }
        assert_eq!(
            typed("text/plain; charset=iso-8859-1"),
            Err(Ambiguous::Charset)
        );
        let file = "Content-Disposition: form-data; name=\"username\"; filename=\"u.txt\"";
        assert_eq!(one(file), Err(Ambiguous::FieldNotText));
        let mut b = format!("--{B}\r\n{}\r\n\r\nal", field("username")).into_bytes();
        b.push(0xE9); // Latin-1 é
        b.extend_from_slice(format!("ce\r\n--{B}--\r\n").as_bytes());
        assert_eq!(read(CT, &b), Err(Ambiguous::NotUtf8));
    }

    #[test]
    fn duplicate_and_respelled_parts_are_refused() {
        for [first, second] in [
            ["username", "username"],
            ["username", "username[]"],
            [" username", "username"],
            ["username", "Username"],
        ] {
            let b = body(&[(&field(first), "alice"), (&field(second), "bob")]);
            assert_eq!(read(CT, &b), Err(Ambiguous::DuplicateField), "{first:?}");
        }
        for name in [
            "username[]",
            " username",
            "username ",
            "username\u{1f}",
            "USERNAME",
        ] {
            assert_eq!(one(&field(name)), Err(Ambiguous::FieldSpelling), "{name:?}");
        }
        assert_eq!(one(&field("user")), Ok(None));
    }

    #[test]
    fn a_charset_part_is_refused() {
        let b = body(&[
            (&field("_charset_"), "UTF-8"),
            (&field("username"), "alice"),
        ]);
        assert_eq!(read(CT, &b), Err(Ambiguous::Charset));
    }

    #[test]
    fn text_field_reads_one_field_or_none() {
        let b = body(&[(&field("username"), "alice"), (&field("password"), "pw")]);
        assert_eq!(text_field(&b, B, "username").as_deref(), Some("alice"));
        assert_eq!(text_field(&b, B, "password").as_deref(), Some("pw"));
        assert_eq!(text_field(&b, B, "email"), None);
        assert_eq!(text_field(b"garbage", B, "username"), None);
    }
}
