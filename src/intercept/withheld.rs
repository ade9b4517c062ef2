//! The app's login answer, captured whole (status, every header including each `Set-Cookie`,
//! body) so that it can be sealed into the challenge and released byte for byte after the
//! second factor.

use base64::engine::general_purpose::STANDARD as B64;
use base64::Engine;
use bytes::Bytes;
use http::{HeaderMap, HeaderName, HeaderValue, StatusCode};
use serde::{Deserialize, Serialize};
use zeroize::Zeroizing;

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WithheldAnswer {
    pub status: StatusCode,
    pub headers: HeaderMap,
    pub body: Bytes,
    /// Credentials (keyed hashes) the request itself carried, to bind to the session the
    /// release starts: an HTTP Basic credential, which no answer hands out.
    pub bind: Vec<[u8; 32]>,
}

#[derive(Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct Encoded {
    v: u8,
    status: u16,
    /// (name, base64 value): values need not be UTF-8.
    headers: Vec<(String, String)>,
    body: String,
    /// Base64 of each hash in `bind`; left out when there is none, so that answers withheld
    /// by a gateway of this version read the same in an older one during a rolling upgrade.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    bind: Vec<String>,
}

#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum WithheldError {
    #[error("the withheld answer could not be decoded")]
    Malformed,
}

impl WithheldAnswer {
    /// The answer as a response again, exactly as it was captured.
    pub fn into_response(self) -> http::Response<Bytes> {
        let mut response = http::Response::new(self.body);
        *response.status_mut() = self.status;
        *response.headers_mut() = self.headers;
        response
    }

    /// The plaintext to seal. Wrapped in `Zeroizing`: it holds the app's session secrets.
    pub fn encode(&self) -> Zeroizing<Vec<u8>> {
        let encoded = Encoded {
            v: 1,
            status: self.status.as_u16(),
            headers: self
                .headers
                .iter()
                .map(|(name, value)| (name.as_str().to_string(), B64.encode(value.as_bytes())))
                .collect(),
            body: B64.encode(&self.body),
            bind: self.bind.iter().map(|h| B64.encode(h)).collect(),
        };
        Zeroizing::new(serde_json::to_vec(&encoded).unwrap_or_default())
    }

    pub fn decode(bytes: &[u8]) -> Result<Self, WithheldError> {
        let encoded: Encoded =
            serde_json::from_slice(bytes).map_err(|_| WithheldError::Malformed)?;
        if encoded.v != 1 {
            return Err(WithheldError::Malformed);
        }
        let status = StatusCode::from_u16(encoded.status).map_err(|_| WithheldError::Malformed)?;
        // `with_capacity` and `append` panic beyond http's header limit (fuzzing found it).
        let mut headers = HeaderMap::try_with_capacity(encoded.headers.len())
            .map_err(|_| WithheldError::Malformed)?;
        for (name, value) in encoded.headers {
            let name =
                HeaderName::from_bytes(name.as_bytes()).map_err(|_| WithheldError::Malformed)?;
            let raw = B64.decode(value).map_err(|_| WithheldError::Malformed)?;
            let value = HeaderValue::from_bytes(&raw).map_err(|_| WithheldError::Malformed)?;
            headers
                .try_append(name, value)
                .map_err(|_| WithheldError::Malformed)?;
        }
        let body = Bytes::from(
            B64.decode(encoded.body)
                .map_err(|_| WithheldError::Malformed)?,
        );
        let bind = encoded
            .bind
            .iter()
            .map(|h| {
                B64.decode(h)
                    .ok()
                    .and_then(|raw| <[u8; 32]>::try_from(raw).ok())
                    .ok_or(WithheldError::Malformed)
            })
            .collect::<Result<_, _>>()?;
        Ok(WithheldAnswer {
            status,
            headers,
            body,
            bind,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use http::header;

    #[test]
    fn every_header_and_the_body_survive_the_round_trip() {
        let mut headers = HeaderMap::new();
        headers.insert(header::LOCATION, HeaderValue::from_static("/admin/"));
        headers.append(
            header::SET_COOKIE,
            HeaderValue::from_static("csrftoken=a; Path=/"),
        );
        headers.append(
            header::SET_COOKIE,
            HeaderValue::from_static("sessionid=b; HttpOnly"),
        );
        headers.insert(
            "x-binary",
            HeaderValue::from_bytes(&[0x80, 0xff, b'a']).unwrap(),
        );
        let answer = WithheldAnswer {
            status: StatusCode::FOUND,
            headers,
            body: Bytes::from_static(b"\x00\x01 body"),
            bind: vec![[7; 32]],
        };
        let back = WithheldAnswer::decode(&answer.encode()).unwrap();
        assert_eq!(back, answer);
        let cookies: Vec<_> = back.headers.get_all(header::SET_COOKIE).iter().collect();
        assert_eq!(cookies, ["csrftoken=a; Path=/", "sessionid=b; HttpOnly"]);
    }

    #[test]
    fn garbage_is_refused() {
        assert_eq!(WithheldAnswer::decode(b"{}"), Err(WithheldError::Malformed));
        assert_eq!(
            WithheldAnswer::decode(b"not json"),
            Err(WithheldError::Malformed)
        );
        assert_eq!(
            WithheldAnswer::decode(br#"{"v":1,"status":99,"headers":[],"body":""}"#),
            Err(WithheldError::Malformed)
        );
    }

    #[test]
    fn more_headers_than_a_header_map_holds_are_refused_not_a_panic() {
        let headers: Vec<String> = (0..33_000).map(|i| format!(r#"["h{i}","eA=="]"#)).collect();
        let text = format!(
            r#"{{"v":1,"status":200,"headers":[{}],"body":""}}"#,
            headers.join(",")
        );
        assert_eq!(
            WithheldAnswer::decode(text.as_bytes()),
            Err(WithheldError::Malformed)
        );
    }
}
