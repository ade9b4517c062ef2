//! Which request paths the gateway accepts. Routing and (later) policy are decided on exactly
//! the path that is forwarded, so any path that a server behind us might read differently from
//! us is refused instead of normalised (SECURITY-TESTS 20).

/// Why a path was refused; only a label reaches logs, the client sees a fixed 400 page.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AmbiguousPath {
    NotOriginForm,
    DotSegment,
    EmptySegment,
    EncodedSeparatorOrDot,
    /// A letter, digit, `-` or `_` written as a percent escape: no client needs it, and it is
    /// how a login route is spelled so that only the app recognises it (`/admin/%6Cogin/`).
    EncodedUnreserved,
    /// `%25` followed by two hex digits: an escape of an escape, which an app that decodes
    /// twice reads as another path (`/%2561dmin` is `/admin` to it).
    DoubleEncoded,
    Backslash,
    BadPercentEncoding,
    NotUtf8,
    ControlCharacter,
}

/// Checks the path (without query) as the client sent it.
pub fn check_path(path: &str) -> Result<(), AmbiguousPath> {
    if !path.starts_with('/') {
        return Err(AmbiguousPath::NotOriginForm);
    }
    let bytes = path.as_bytes();
    // Common case: nothing encoded, no backslash, nothing below 0x21: only the segments need
    // a look (the URI parser already refused non-ASCII bytes).
    if !bytes
        .iter()
        .any(|&b| b == b'%' || b == b'\\' || b <= 0x20 || b == 0x7f)
    {
        return check_segments(path);
    }
    let mut decoded = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while let Some(&b) = bytes.get(i) {
        match b {
            b'\\' => return Err(AmbiguousPath::Backslash),
            0..=0x20 | 0x7f => return Err(AmbiguousPath::ControlCharacter),
            b'%' => {
                let hex = bytes
                    .get(i + 1..i + 3)
                    .ok_or(AmbiguousPath::BadPercentEncoding)?;
                let value = Some(hex)
                    .filter(|h| h.iter().all(u8::is_ascii_hexdigit))
                    .and_then(|h| std::str::from_utf8(h).ok())
                    .and_then(|h| u8::from_str_radix(h, 16).ok())
                    .ok_or(AmbiguousPath::BadPercentEncoding)?;
                match value {
                    b'.' | b'/' | b'\\' => return Err(AmbiguousPath::EncodedSeparatorOrDot),
                    b'a'..=b'z' | b'A'..=b'Z' | b'0'..=b'9' | b'-' | b'_' => {
                        return Err(AmbiguousPath::EncodedUnreserved)
                    }
                    b'%' if bytes
                        .get(i + 3..i + 5)
                        .is_some_and(|h| h.iter().all(u8::is_ascii_hexdigit)) =>
                    {
                        return Err(AmbiguousPath::DoubleEncoded)
                    }
                    0..=0x1f | 0x7f => return Err(AmbiguousPath::ControlCharacter),
                    _ => decoded.push(value),
                }
                i += 3;
            }
            _ => {
                decoded.push(b);
                i += 1;
            }
        }
    }
    // Overlong or otherwise invalid UTF-8 (e.g. `%c0%ae` for `.`) is read differently by
    // different servers.
    if std::str::from_utf8(&decoded).is_err() {
        return Err(AmbiguousPath::NotUtf8);
    }
    check_segments(path)
}

fn check_segments(path: &str) -> Result<(), AmbiguousPath> {
    let mut segments = path.split('/').skip(1).peekable();
    while let Some(segment) = segments.next() {
        // Servlet containers drop `;parameters` before resolving dot segments, so `..;x` is
        // `..` to them (`/static/..;/admin`), and `;x` alone an empty segment.
        let (name, params) = match segment.split_once(';') {
            Some((name, _)) => (name, true),
            None => (segment, false),
        };
        if name == "." || name == ".." {
            return Err(AmbiguousPath::DotSegment);
        }
        if params && name.is_empty() {
            return Err(AmbiguousPath::EmptySegment);
        }
        if segment.is_empty() && segments.peek().is_some() {
            return Err(AmbiguousPath::EmptySegment);
        }
    }
    Ok(())
}

/// Whether `path` is `prefix` itself or lies below it, by whole segments (`/static` covers
/// `/static/app.css`, not `/staticfoo`). A trailing slash on the prefix changes nothing.
pub fn is_under(path: &str, prefix: &str) -> bool {
    let bare = prefix.trim_end_matches('/');
    path == bare
        || path
            .strip_prefix(bare)
            .is_some_and(|rest| rest.starts_with('/'))
}

/// The request target on the upstream in origin form (RFC 9112 §3.2.1): the client's path and
/// query unchanged (reused, not re-parsed). A client's absolute-form target, and HTTP/2's
/// scheme and authority, are not passed on: app servers such as Django's take an absolute
/// target for the path. The connection already goes to the app's address.
pub fn origin_form(original: http::Uri) -> Result<http::Uri, http::uri::InvalidUriParts> {
    if original.scheme().is_none() && original.authority().is_none() {
        return Ok(original);
    }
    let mut parts = original.into_parts();
    parts.scheme = None;
    parts.authority = None;
    if parts.path_and_query.is_none() {
        parts.path_and_query = Some(http::uri::PathAndQuery::from_static("/"));
    }
    http::Uri::from_parts(parts)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn plain_paths_pass() {
        for p in [
            "/",
            "/admin/",
            "/admin/login/",
            "/a/b.c/d..e",
            "/caf%C3%A9",
            "/a%20b",
            "/file.tar.gz",
            "/%7Euser",
            "/a;jsessionid=1/b",
            "/a%20b%21",
            "/50%25-off",
        ] {
            assert_eq!(check_path(p), Ok(()), "{p}");
        }
    }

    #[test]
    fn path_tricks_from_security_tests_20_are_refused() {
        let cases = [
            ("/admin/../secret", AmbiguousPath::DotSegment),
            ("/./admin", AmbiguousPath::DotSegment),
            ("/admin/..", AmbiguousPath::DotSegment),
            ("/pub/..%2fadmin", AmbiguousPath::EncodedSeparatorOrDot),
            ("/api%2e/admin", AmbiguousPath::EncodedSeparatorOrDot),
            ("/%2e%2e/admin", AmbiguousPath::EncodedSeparatorOrDot),
            ("//admin", AmbiguousPath::EmptySegment),
            ("/a//b", AmbiguousPath::EmptySegment),
            ("/a\\b", AmbiguousPath::Backslash),
            ("/a%5cb", AmbiguousPath::EncodedSeparatorOrDot),
            ("/%c0%ae%c0%ae/admin", AmbiguousPath::NotUtf8),
            ("/a%zz", AmbiguousPath::BadPercentEncoding),
            ("/a%2", AmbiguousPath::BadPercentEncoding),
            ("/a%+8", AmbiguousPath::BadPercentEncoding),
            ("/a%00", AmbiguousPath::ControlCharacter),
            ("/admin/%6Cogin/", AmbiguousPath::EncodedUnreserved),
            ("/%61dmin/login/", AmbiguousPath::EncodedUnreserved),
            ("/login%2Dpage", AmbiguousPath::EncodedUnreserved),
            ("/a/%5F", AmbiguousPath::EncodedUnreserved),
            ("/a/%39", AmbiguousPath::EncodedUnreserved),
            ("/static/..;/admin", AmbiguousPath::DotSegment),
            ("/static/.;x/admin", AmbiguousPath::DotSegment),
            ("/a/;x/b", AmbiguousPath::EmptySegment),
            ("/%2561dmin/login/", AmbiguousPath::DoubleEncoded),
            ("/a%252F", AmbiguousPath::DoubleEncoded),
            ("*", AmbiguousPath::NotOriginForm),
        ];
        for (path, why) in cases {
            assert_eq!(check_path(path), Err(why), "{path}");
        }
    }
}
