//! Fields a request may carry once. When a field read as one value arrives on two lines, the
//! gateway may act on one line and the app on the other (or on both joined with a comma, which
//! is how WSGI, CGI and PHP hand repeated lines over): the credential checked is not the one
//! used, the login body is parsed as one type and read as another. Such a request is refused
//! (400) before anything reads those fields, for every app and path, the gateway's own pages
//! included.
//!
//! Only repeated *lines* count. One line holding a comma (`Content-Type: a, b`) is one value,
//! however odd, and whoever reads it reads the same bytes.

use http::header::{self, HeaderMap, HeaderName};
use http::{Uri, Version};

/// A field read as one value, and why it is in the table.
#[derive(Debug)]
pub struct SingleField {
    pub name: HeaderName,
    /// As messages spell it.
    pub shown: &'static str,
    /// The rule or the reading that makes it single: for the next person deciding a row.
    pub why: &'static str,
}

/// Every field refused when repeated. Left out, each for its reason:
/// - `Transfer-Encoding`, `Content-Encoding`, `Expect`, `Upgrade`, `If-Match`,
///   `If-None-Match`, `Accept*`, `Via`, `X-Forwarded-For`: lists (RFC 9110 §5.3), where a
///   second line only adds members.
/// - `Cookie`: HTTP/2 clients send one line per cookie (RFC 9113 §8.2.3), and the session
///   check reads every line.
/// - `Proxy-Authorization`: meant for this hop and never forwarded (RFC 9110 §11.7.2); its
///   only reading here (NTLM/Negotiate refused) looks at every line.
/// - `User-Agent`, `Range`: single, but nothing is let in or out on them; the gateway shows
///   `User-Agent` (audit, device list) and a client writes any one value it likes anyway.
///   Clients that repeat `User-Agent` by mistake exist.
/// - `X-Forwarded-Proto`, `-Host`: from an untrusted peer replaced (`headers::set_forwarded`);
///   from a trusted proxy that proxy's to set, and refusing repeats would break chains of proxies that
///   each add a line while missing a proxy that passes a client's single forged line.
// A static, not a const: `HeaderName` may hold shared bytes, which a const cannot borrow.
pub static SINGLE_FIELDS: [SingleField; 7] = [
    SingleField {
        name: header::HOST,
        shown: "Host",
        why: "RFC 9112 §3.2: more than one Host line is a 400. It routes the request; in \
              HTTP/2 a Host beside :authority must name the same host (RFC 9113 §8.3.1)",
    },
    SingleField {
        name: header::CONTENT_LENGTH,
        shown: "Content-Length",
        why: "RFC 9112 §6.3: it frames the body, and two readers of two lengths split one \
              request into two (smuggling). Equal repeats may be folded by the RFC; refusing \
              all is simpler and never refuses a client that frames its body once",
    },
    SingleField {
        name: header::CONTENT_TYPE,
        shown: "Content-Type",
        why: "RFC 9110 §8.3: one media type. The gateway reads a login body by it for the \
              user name, and parsers pick the first line, the last or both joined",
    },
    SingleField {
        name: header::AUTHORIZATION,
        shown: "Authorization",
        why: "RFC 9110 §11.6.2: one set of credentials. The gateway checks one line's binding; \
              the app could sign in with the other",
    },
    SingleField {
        name: header::ORIGIN,
        shown: "Origin",
        why: "RFC 6454 §7.3: never more than one. Apps decide cross-site writes on it (CSRF \
              checks), reading the first line, the last or both joined",
    },
    SingleField {
        name: header::REFERER,
        shown: "Referer",
        why: "RFC 9110 §10.1.3: one URI. Apps fall back on it for CSRF checks over https \
              (Django), where two lines read as neither or either",
    },
    SingleField {
        name: HeaderName::from_static("sec-fetch-site"),
        shown: "Sec-Fetch-Site",
        why: "Fetch Metadata: one token. The gateway decides on it where a Basic sign-in \
              lands, and apps' cross-site checks read it too",
    },
];

/// The row of the first single field the request gives more than one value: repeated lines,
/// or in HTTP/2 a `Host` naming another host than `:authority`.
pub fn repeated(version: Version, uri: &Uri, headers: &HeaderMap) -> Option<&'static SingleField> {
    let repeated = SINGLE_FIELDS.iter().find(|field| {
        let mut lines = headers.get_all(&field.name).iter();
        lines.next().is_some() && lines.next().is_some()
    });
    if repeated.is_some() {
        return repeated;
    }
    // HTTP/1.1's absolute form is left alone: there the target wins and Host is ignored
    // (RFC 9112 §3.2.2), which is what routing does and what the app is then sent.
    if version == Version::HTTP_2 && host_disagrees(uri, headers) {
        return SINGLE_FIELDS.iter().find(|f| f.name == header::HOST);
    }
    None
}

/// Routing reads the host name of `:authority`; a `Host` whose host name is another (or no
/// host name at all) names a second entity. Ports are not compared: routing does not read them.
fn host_disagrees(uri: &Uri, headers: &HeaderMap) -> bool {
    let (Some(authority), Some(host)) = (uri.authority(), headers.get(header::HOST)) else {
        return false;
    };
    let host = host.to_str().ok().and_then(super::routes::normalise_host);
    host.is_none() || host != super::routes::normalise_host(authority.as_str())
}

#[cfg(test)]
mod tests {
    use super::*;
    use http::HeaderValue;

    fn lines(pairs: &[(&str, &'static str)]) -> HeaderMap {
        let mut h = HeaderMap::new();
        for (name, value) in pairs {
            h.append(
                HeaderName::from_bytes(name.as_bytes()).unwrap(),
                HeaderValue::from_static(value),
            );
        }
        h
    }

    fn shown(version: Version, uri: &str, pairs: &[(&str, &'static str)]) -> Option<&'static str> {
        repeated(version, &uri.parse().unwrap(), &lines(pairs)).map(|f| f.shown)
    }

    #[test]
    fn every_row_is_refused_on_two_lines_and_passes_on_one() {
        for field in &SINGLE_FIELDS {
            let name = field.name.as_str();
            assert_eq!(
                shown(Version::HTTP_11, "/", &[(name, "1"), (name, "1")]),
                Some(field.shown),
                "{name} twice, even the same value"
            );
            assert_eq!(shown(Version::HTTP_11, "/", &[(name, "1")]), None, "{name}");
            assert_eq!(
                field.shown.to_ascii_lowercase(),
                name,
                "{name} is shown as spelled"
            );
            assert!(!field.why.is_empty(), "{name} says why");
        }
    }

    #[test]
    fn a_comma_in_one_line_is_not_a_repeat() {
        assert_eq!(
            shown(
                Version::HTTP_11,
                "/",
                &[("content-type", "text/plain, text/html")]
            ),
            None
        );
    }

    #[test]
    fn list_fields_may_repeat() {
        let h = [
            ("cookie", "a=1"),
            ("cookie", "b=2"),
            ("transfer-encoding", "gzip"),
            ("transfer-encoding", "chunked"),
            ("accept", "text/html"),
            ("accept", "*/*"),
            ("x-forwarded-for", "192.0.2.1"),
            ("x-forwarded-for", "192.0.2.2"),
        ];
        assert_eq!(shown(Version::HTTP_11, "/", &h), None);
    }

    #[test]
    fn the_first_repeated_row_is_named() {
        let h = [
            ("authorization", "Bearer a"),
            ("content-type", "a/b"),
            ("authorization", "Bearer b"),
        ];
        assert_eq!(shown(Version::HTTP_2, "/", &h), Some("Authorization"));
    }

    #[test]
    fn rfc9113_8_3_1_http2_host_must_name_the_authoritys_host() {
        let at = "http://app.example/x";
        let h2 = Version::HTTP_2;
        assert_eq!(shown(h2, at, &[("host", "other.example")]), Some("Host"));
        assert_eq!(shown(h2, at, &[("host", "bad host")]), Some("Host"));
        assert_eq!(shown(h2, at, &[("host", "APP.example:443")]), None);
        assert_eq!(shown(h2, at, &[]), None);
        // Host without :authority is the only name given.
        assert_eq!(shown(h2, "/x", &[("host", "other.example")]), None);
    }

    #[test]
    fn rfc9112_3_2_2_http1_absolute_form_ignores_host() {
        let at = "http://app.example/x";
        assert_eq!(
            shown(Version::HTTP_11, at, &[("host", "other.example")]),
            None
        );
    }
}
