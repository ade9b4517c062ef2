//! The enrollment QR code, drawn as inline SVG so the page needs no image request, no script
//! and no third-party service (the secret never leaves the gateway).

use qrcode::render::svg;
use qrcode::{EcLevel, QrCode};
use zeroize::Zeroizing;

#[derive(Debug, thiserror::Error)]
#[error("the text is too long for a QR code")]
pub struct QrError;

/// An `<svg>` element for `text` (an `otpauth://` URI), sized by the page's CSS, with a label
/// for screen readers.
pub fn svg(text: &str, label: &str) -> Result<Zeroizing<String>, QrError> {
    // Medium error correction: robust to glare on a monitor, still a small code for ~120 chars.
    let code =
        QrCode::with_error_correction_level(text.as_bytes(), EcLevel::M).map_err(|_| QrError)?;
    let image = code
        .render::<svg::Color<'_>>()
        .min_dimensions(200, 200)
        .quiet_zone(true)
        .dark_color(svg::Color("#000000"))
        .light_color(svg::Color("#ffffff"))
        .build();
    // The renderer emits an XML declaration; inline SVG in HTML must not have one.
    let element = image
        .find("<svg")
        .map_or(image.as_str(), |start| image.get(start..).unwrap_or(""));
    let labelled = element.replacen(
        "<svg",
        &format!(
            "<svg role=\"img\" aria-label=\"{}\"",
            super::error_page::html_escape(label)
        ),
        1,
    );
    Ok(Zeroizing::new(labelled))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_otpauth_uri_becomes_an_inline_labelled_svg() {
        let uri = "otpauth://totp/Acme:alice?secret=GEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQ&issuer=Acme";
        let out = svg(uri, "QR code for \"Acme\"").unwrap();
        assert!(
            out.starts_with("<svg role=\"img\" aria-label=\"QR code for &quot;Acme&quot;\""),
            "{}",
            &out[..80]
        );
        assert!(out.trim_end().ends_with("</svg>"));
        assert!(!out.contains("<?xml"));
        assert!(out.contains("<path") || out.contains("<rect"));
        // The secret is in the picture, not in the markup.
        assert!(!out.contains("GEZDGNBVGY3TQOJQ"));
    }

    #[test]
    fn the_same_text_gives_the_same_picture() {
        assert_eq!(
            svg("otpauth://totp/a:b?secret=X", "x").unwrap(),
            svg("otpauth://totp/a:b?secret=X", "x").unwrap()
        );
        assert_ne!(
            svg("otpauth://totp/a:b?secret=X", "x").unwrap(),
            svg("otpauth://totp/a:b?secret=Y", "x").unwrap()
        );
    }
}
