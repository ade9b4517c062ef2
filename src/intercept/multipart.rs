//! Just enough of `multipart/form-data` (RFC 7578) to read one text field of a login form:
//! the user name. Anything unexpected reads as "no such field", so the login is not released
//! unless the user is known.

/// The `boundary` parameter of a `multipart/form-data` content type.
pub fn boundary(content_type: &str) -> Option<&str> {
    let mut parts = content_type.split(';');
    if !parts
        .next()?
        .trim()
        .eq_ignore_ascii_case("multipart/form-data")
    {
        return None;
    }
    parts.find_map(|p| {
        let (key, value) = p.trim().split_once('=')?;
        key.trim()
            .eq_ignore_ascii_case("boundary")
            .then(|| value.trim().trim_matches('"'))
            .filter(|b| !b.is_empty() && b.len() <= 70)
    })
}

/// The text value of field `name`: `None` when it is missing, a file, not UTF-8, or given more
/// than once (the app might read either copy).
pub fn text_field(body: &[u8], boundary: &str, name: &str) -> Option<String> {
    let delimiter = format!("--{boundary}");
    let delimiter = delimiter.as_bytes();
    let mut found = None;
    let mut rest = body;
    // Skip the preamble up to the first delimiter.
    let start = find(rest, delimiter)?;
    rest = rest.get(start + delimiter.len()..)?;
    loop {
        if rest.starts_with(b"--") {
            break; // the closing delimiter
        }
        rest = rest.strip_prefix(b"\r\n")?;
        let end = find(rest, delimiter)?;
        let part = rest.get(..end)?.strip_suffix(b"\r\n")?;
        rest = rest.get(end + delimiter.len()..)?;
        let split = find(part, b"\r\n\r\n")?;
        let head = std::str::from_utf8(part.get(..split)?).ok()?;
        let content = part.get(split + 4..)?;
        let Some(disposition) = head.lines().find_map(|l| {
            let (k, v) = l.split_once(':')?;
            k.trim()
                .eq_ignore_ascii_case("content-disposition")
                .then_some(v)
        }) else {
            continue;
        };
        let params: Vec<(&str, &str)> = disposition
            .split(';')
            .skip(1)
            .filter_map(|p| {
                let (k, v) = p.trim().split_once('=')?;
                Some((k.trim(), v.trim().trim_matches('"')))
            })
            .collect();
        let is_field = params
            .iter()
            .any(|(k, v)| k.eq_ignore_ascii_case("name") && *v == name);
        if !is_field {
            continue;
        }
        if found.is_some()
            || params
                .iter()
                .any(|(k, _)| k.eq_ignore_ascii_case("filename"))
        {
            return None;
        }
        found = Some(String::from_utf8(content.to_vec()).ok()?);
    }
    found
}

fn find(haystack: &[u8], needle: &[u8]) -> Option<usize> {
    haystack.windows(needle.len()).position(|w| w == needle)
}

#[cfg(test)]
mod tests {
    use super::*;

    const CT: &str = "multipart/form-data; boundary=----WebKitFormBoundaryx7";

    fn body(parts: &[(&str, &str)]) -> Vec<u8> {
        let mut out = b"preamble\r\n".to_vec();
        for (head, value) in parts {
            out.extend_from_slice(
                format!("------WebKitFormBoundaryx7\r\n{head}\r\n\r\n{value}\r\n").as_bytes(),
            );
        }
        out.extend_from_slice(b"------WebKitFormBoundaryx7--\r\n");
        out
    }

    #[test]
    fn the_boundary_comes_from_the_content_type() {
        assert_eq!(boundary(CT), Some("----WebKitFormBoundaryx7"));
        assert_eq!(
            boundary("Multipart/Form-Data; charset=utf-8; boundary=\"a b\""),
            Some("a b")
        );
        assert_eq!(boundary("application/x-www-form-urlencoded"), None);
        assert_eq!(boundary("multipart/form-data"), None);
    }

    #[test]
    fn a_text_field_is_read() {
        let b = body(&[
            ("Content-Disposition: form-data; name=\"csrf\"", "t"),
            (
                "Content-Disposition: form-data; name=\"username\"",
                "alice@example.com",
            ),
            (
                "Content-Disposition: form-data; name=\"password\"",
                "pw\r\nwith lines",
            ),
        ]);
        let boundary = boundary(CT).unwrap();
        assert_eq!(
            text_field(&b, boundary, "username").as_deref(),
            Some("alice@example.com")
        );
        assert_eq!(
            text_field(&b, boundary, "password").as_deref(),
            Some("pw\r\nwith lines")
        );
        assert_eq!(text_field(&b, boundary, "user"), None);
    }

    #[test]
    fn repeated_file_and_broken_fields_are_no_field() {
        let boundary = boundary(CT).unwrap();
        let twice = body(&[
            ("Content-Disposition: form-data; name=\"username\"", "alice"),
            ("Content-Disposition: form-data; name=\"username\"", "admin"),
        ]);
        assert_eq!(text_field(&twice, boundary, "username"), None);
        let file = body(&[(
            "Content-Disposition: form-data; name=\"username\"; filename=\"u.txt\"",
            "alice",
        )]);
        assert_eq!(text_field(&file, boundary, "username"), None);
        assert_eq!(text_field(b"garbage", boundary, "username"), None);
        let unterminated = b"------WebKitFormBoundaryx7\r\nContent-Disposition: form-data; name=\"username\"\r\n\r\nalice";
        assert_eq!(text_field(unterminated, boundary, "username"), None);
    }
}
