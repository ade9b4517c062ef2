//! Helpers shared by the fuzz targets in `fuzz_targets/`.

use http::{HeaderMap, HeaderName, HeaderValue};

/// A header map from fuzz input, one header per `\n`-separated line (a header value can hold no
/// `\n`, so nothing expressible is lost). A line that starts with one of `prefixed`'s prefixes
/// becomes that header, without the prefix; any other line becomes a `default` header. Lines
/// that are no valid header value (other control characters) are skipped, as hyper would have
/// refused them before the gateway sees them.
pub fn header_lines(
    data: &[u8],
    default: HeaderName,
    prefixed: &[(&[u8], HeaderName)],
) -> HeaderMap {
    let mut headers = HeaderMap::new();
    for line in data.split(|&b| b == b'\n') {
        let (name, value) = prefixed
            .iter()
            .find_map(|(prefix, name)| line.strip_prefix(*prefix).map(|rest| (name, rest)))
            .unwrap_or((&default, line));
        if let Ok(value) = HeaderValue::from_bytes(value) {
            // A map holds at most 32768 values; hyper refuses far fewer headers than that.
            if headers.try_append(name.clone(), value).is_err() {
                break;
            }
        }
    }
    headers
}
