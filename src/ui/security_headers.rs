//! Headers on every response the gateway writes itself (its pages, API answers and error
//! pages): nothing from elsewhere may load, nobody may frame them (clickjacking of the code
//! form), nothing is cached (codes, tokens and recovery codes pass through them).

use base64::engine::general_purpose::STANDARD as B64;
use base64::Engine;
use http::header::{self, HeaderMap, HeaderValue};
use sha2::{Digest, Sha256};
use std::sync::LazyLock;

/// Scripts and styles only from the gateway's own origin (its assets are served from the
/// binary); forms only back to itself.
const CSP: &str = "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; \
form-action 'self'; frame-ancestors 'none'; base-uri 'none'";

/// The error pages' policy: their one inline stylesheet is allowed by hash, nothing else.
static ERROR_PAGE_CSP: LazyLock<HeaderValue> = LazyLock::new(|| {
    let hash = B64.encode(Sha256::digest(super::error_page::STYLE.as_bytes()));
    let policy = format!("default-src 'none'; style-src 'sha256-{hash}'; frame-ancestors 'none'; base-uri 'none'; form-action 'none'");
    HeaderValue::from_str(&policy)
        .unwrap_or_else(|_| HeaderValue::from_static("default-src 'none'; frame-ancestors 'none'"))
});

/// Headers for the gateway's own pages and API answers.
pub fn apply(headers: &mut HeaderMap) {
    apply_with_policy(headers, HeaderValue::from_static(CSP));
}

/// Headers for the small self-contained error pages.
pub fn apply_to_error_page(headers: &mut HeaderMap) {
    apply_with_policy(headers, ERROR_PAGE_CSP.clone());
}

fn apply_with_policy(headers: &mut HeaderMap, policy: HeaderValue) {
    headers.insert(header::CONTENT_SECURITY_POLICY, policy);
    headers.insert(header::X_FRAME_OPTIONS, HeaderValue::from_static("DENY"));
    headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    headers.insert(
        header::X_CONTENT_TYPE_OPTIONS,
        HeaderValue::from_static("nosniff"),
    );
    headers.insert(
        header::REFERRER_POLICY,
        HeaderValue::from_static("no-referrer"),
    );
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pages_cannot_be_framed_cached_or_load_foreign_content() {
        let mut h = HeaderMap::new();
        apply(&mut h);
        let csp = h[header::CONTENT_SECURITY_POLICY].to_str().unwrap();
        assert!(csp.contains("frame-ancestors 'none'"));
        assert!(csp.starts_with("default-src 'none'"));
        assert!(!csp.contains("unsafe-inline") && !csp.contains("*"));
        assert_eq!(h[header::CACHE_CONTROL], "no-store");
        assert_eq!(h[header::X_FRAME_OPTIONS], "DENY");
        assert_eq!(h[header::X_CONTENT_TYPE_OPTIONS], "nosniff");
    }

    #[test]
    fn the_error_page_style_is_allowed_by_its_hash_only() {
        let mut h = HeaderMap::new();
        apply_to_error_page(&mut h);
        let csp = h[header::CONTENT_SECURITY_POLICY].to_str().unwrap();
        let expected = B64.encode(Sha256::digest(super::super::error_page::STYLE.as_bytes()));
        assert!(
            csp.contains(&format!("style-src 'sha256-{expected}'")),
            "{csp}"
        );
        assert!(!csp.contains("unsafe-inline"));
        assert!(csp.contains("frame-ancestors 'none'"));
        // The page really carries exactly that style.
        let (page, _) = super::super::error_page::render(
            http::StatusCode::NOT_FOUND,
            "x",
            "y",
            "z",
            false,
            Default::default(),
        );
        let page = std::str::from_utf8(&page).unwrap();
        assert!(page.contains(&format!(
            "<style>{}</style>",
            super::super::error_page::STYLE
        )));
    }
}
