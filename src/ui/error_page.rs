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

/// The error page's only style, inline so the page needs no second request (the gateway's
/// stylesheet may be what failed); the CSP allows exactly this text by its hash. It draws the
/// same frame as the gateway's other pages.
pub const STYLE: &str = "*{box-sizing:border-box}body{font-family:system-ui,-apple-system,\"Segoe UI\",sans-serif;margin:0;background:#f4f5f7;color:#1d2330;line-height:1.5}main{max-width:28rem;margin:2rem auto;padding:1.5rem;background:#fff;border-radius:.5rem;box-shadow:0 1px 3px rgba(0,0,0,.12)}@media (max-width:30rem){main{margin:0;border-radius:0;min-height:100vh}}.app{margin:0 0 .5rem;color:#5a6275;font-size:.9rem;text-transform:uppercase;letter-spacing:.05em}h1{font-size:1.35rem;margin:.25rem 0 1rem}.button{display:inline-block;margin:1rem .5rem 0 0;padding:.65rem 1.2rem;border-radius:.35rem;background:#2a5bd7;color:#fff;text-decoration:none;min-height:44px}.button.secondary{background:#5a6275}small{color:#5a6275}";

/// Where an error page's reader can go: the app's name for the frame, and its start page; and
/// the language the page speaks.
#[derive(Debug, Clone, Copy)]
pub struct Way<'a> {
    pub app_name: Option<&'a str>,
    pub home: &'a str,
    pub t: crate::i18n::Tr,
}

impl Default for Way<'_> {
    fn default() -> Self {
        Way {
            app_name: None,
            home: "/",
            t: crate::i18n::Tr::default(),
        }
    }
}

/// Body and content type of an error answer.
pub fn render(
    status: StatusCode,
    code: &str,
    message: &str,
    request_id: &str,
    json: bool,
    way: Way<'_>,
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
        let t = way.t;
        let title = format!(
            "{} {}",
            status.as_u16(),
            t.n("error-title", "status", status.as_u16())
        );
        let app = way.app_name.map_or(String::new(), |name| {
            format!("<p class=\"app\">{}</p>", html_escape(name))
        });
        // A failure of the app or of the gateway's stores may pass: trying again is the way on.
        let again = if status.is_server_error() {
            format!(
                "<a class=\"button\" href=\"\">{}</a>",
                html_escape(&t.t("error-try-again"))
            )
        } else {
            String::new()
        };
        let body = format!(
            "<!doctype html>\n<html lang=\"{}\"><head><meta charset=\"utf-8\"><meta name=\"viewport\" content=\"width=device-width, initial-scale=1\"><meta name=\"referrer\" content=\"no-referrer\"><title>{}</title>\
<style>{STYLE}</style></head>\
<body><main>{app}<h1>{}</h1><p>{}</p><p>{again}<a class=\"button secondary\" href=\"{}\">{}</a></p>\
<p><small>{}</small></p></main></body></html>\n",
            t.lang(),
            html_escape(&title),
            html_escape(&title),
            html_escape(message),
            html_escape(way.home),
            html_escape(&t.t("error-home")),
            html_escape(&t.t1("error-reference", "id", request_id))
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
            Way {
                app_name: Some("<Intranet>"),
                home: "/start?a=1&b=\"",
                t: crate::i18n::Tr::default(),
            },
        );
        let text = std::str::from_utf8(&body).unwrap();
        assert!(text.contains("502 Application not reachable"), "{text}");
        assert!(text.contains("a&lt;b"));
        assert!(text.contains("id&quot;1"));
        // The frame: the app's name, a way back, and for a server error a way to try again.
        assert!(
            text.contains("<p class=\"app\">&lt;Intranet&gt;</p>"),
            "{text}"
        );
        assert!(text.contains("href=\"/start?a=1&amp;b=&quot;\">Go to the start page"));
        assert!(text.contains(">Try again</a>"));
        assert_eq!(ct, "text/html; charset=utf-8");
        let (body, _) = render(
            StatusCode::NOT_FOUND,
            "not_found",
            "x",
            "y",
            false,
            Way::default(),
        );
        let text = std::str::from_utf8(&body).unwrap();
        assert!(!text.contains("Try again") && !text.contains("class=\"app\""));
        assert!(text.contains("href=\"/\">Go to the start page"));
        let (body, _) = render(
            StatusCode::BAD_GATEWAY,
            "bad_gateway",
            "a\"b",
            "x",
            true,
            Way::default(),
        );
        assert_eq!(
            &body[..],
            b"{\"error\":\"bad_gateway\",\"message\":\"a\\\"b\",\"request_id\":\"x\"}\n"
        );
    }
}
