//! Small self-contained error pages (HTML, or JSON for API clients). Only fixed text and the
//! request id appear on them, never internal error detail.

use bytes::Bytes;
use http::{header, HeaderMap, HeaderValue, StatusCode};

/// True when the client asked for JSON rather than a page: an `Accept` that names
/// `application/json` (or `+json`) and not `text/html`, or a JSON request without `Accept`.
pub fn wants_json(headers: &HeaderMap) -> bool {
    match headers.get(header::ACCEPT).and_then(|v| v.to_str().ok()) {
        Some(accept) => {
            (accept.contains("application/json") || accept.contains("+json"))
                && !accept.contains("text/html")
        }
        None => headers
            .get(header::CONTENT_TYPE)
            .and_then(|v| v.to_str().ok())
            .is_some_and(|ct| ct.starts_with("application/json")),
    }
}

/// The error page's only style, inline so the page needs no second request; the CSP allows
/// exactly this text by its hash.
pub const STYLE: &str = "body{font-family:system-ui,sans-serif;max-width:36rem;margin:4rem auto;padding:0 1rem;color:#222}h1{font-size:1.4rem}small{color:#666}";

/// Body and content type of an error answer.
pub fn render(
    status: StatusCode,
    code: &str,
    message: &str,
    request_id: &str,
    json: bool,
) -> (Bytes, HeaderValue) {
    if json {
        let body =
            serde_json::json!({ "error": code, "message": message, "request_id": request_id });
        let body = format!("{body}\n");
        (
            Bytes::from(body),
            HeaderValue::from_static("application/json"),
        )
    } else {
        let title = format!(
            "{} {}",
            status.as_u16(),
            status.canonical_reason().unwrap_or("Error")
        );
        let body = format!(
            "<!doctype html>\n<html lang=\"en\"><head><meta charset=\"utf-8\"><meta name=\"viewport\" content=\"width=device-width, initial-scale=1\"><title>{title}</title>\
<style>{STYLE}</style></head>\
<body><main><h1>{title}</h1><p>{}</p><p><small>Request id: {}</small></p></main></body></html>\n",
            html_escape(message),
            html_escape(request_id)
        );
        (
            Bytes::from(body),
            HeaderValue::from_static("text/html; charset=utf-8"),
        )
    }
}

pub fn html_escape(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn headers(pairs: &[(&'static str, &'static str)]) -> HeaderMap {
        pairs
            .iter()
            .map(|(k, v)| {
                (
                    header::HeaderName::from_static(k),
                    HeaderValue::from_static(v),
                )
            })
            .collect()
    }

    #[test]
    fn json_is_chosen_only_when_asked_for() {
        assert!(wants_json(&headers(&[("accept", "application/json")])));
        assert!(wants_json(&headers(&[(
            "accept",
            "application/problem+json"
        )])));
        assert!(!wants_json(&headers(&[(
            "accept",
            "text/html,application/json;q=0.9"
        )])));
        assert!(!wants_json(&headers(&[("accept", "*/*")])));
        assert!(wants_json(&headers(&[(
            "content-type",
            "application/json"
        )])));
        assert!(!wants_json(&HeaderMap::new()));
    }

    #[test]
    fn pages_escape_what_they_show() {
        let (body, ct) = render(
            StatusCode::BAD_GATEWAY,
            "bad_gateway",
            "a<b",
            "id\"1",
            false,
        );
        let text = std::str::from_utf8(&body).unwrap();
        assert!(text.contains("502 Bad Gateway"));
        assert!(text.contains("a&lt;b"));
        assert!(text.contains("id&quot;1"));
        assert_eq!(ct, "text/html; charset=utf-8");
        let (body, _) = render(StatusCode::BAD_GATEWAY, "bad_gateway", "a\"b", "x", true);
        assert_eq!(
            &body[..],
            b"{\"error\":\"bad_gateway\",\"message\":\"a\\\"b\",\"request_id\":\"x\"}\n"
        );
    }
}
