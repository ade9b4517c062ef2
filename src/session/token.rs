//! Signed tokens the gateway hands out: the pending-login token (cookie for browsers,
//! `ephemeral_token` for API clients). A token names its challenge, user and expiry and is
//! signed under the key ring's signing key, so it cannot be forged, extended or moved to
//! another user; the challenge itself still lives server-side and is checked too.

use crate::keys::KeyRing;
use base64::engine::general_purpose::URL_SAFE_NO_PAD as B64;
use base64::Engine;

const LABEL: &[u8] = b"pending-login-v1";

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PendingToken {
    pub challenge_id: String,
    pub realm: String,
    pub user: String,
    pub expires_at: i64,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum TokenError {
    #[error("the token is malformed")]
    Malformed,
    #[error("the token's signature is not valid")]
    BadSignature,
    #[error("the token has expired")]
    Expired,
}

/// Four fields (NUL-separated text) signed under `label`: `payload.signature`, both base64url.
pub fn sign_fields(keys: &KeyRing, label: &[u8], fields: [&str; 4]) -> String {
    let payload = fields.join("\0");
    let signature = keys.sign(label, payload.as_bytes());
    format!("{}.{}", B64.encode(payload), B64.encode(signature))
}

/// The four fields of a token signed under `label`. The signature is checked (constant time)
/// before anything else is looked at.
pub fn verify_fields(token: &str, keys: &KeyRing, label: &[u8]) -> Result<[String; 4], TokenError> {
    if token.len() > 2048 {
        return Err(TokenError::Malformed);
    }
    let (payload, signature) = token.split_once('.').ok_or(TokenError::Malformed)?;
    let payload = B64.decode(payload).map_err(|_| TokenError::Malformed)?;
    let signature = B64.decode(signature).map_err(|_| TokenError::Malformed)?;
    if !keys.verify_signature(label, &payload, &signature) {
        return Err(TokenError::BadSignature);
    }
    let text = String::from_utf8(payload).map_err(|_| TokenError::Malformed)?;
    let mut parts = text.split('\0').map(str::to_string);
    match (
        parts.next(),
        parts.next(),
        parts.next(),
        parts.next(),
        parts.next(),
    ) {
        (Some(a), Some(b), Some(c), Some(d), None) => Ok([a, b, c, d]),
        _ => Err(TokenError::Malformed),
    }
}

impl PendingToken {
    /// `payload.signature`, both base64url. The payload is NUL-separated text.
    pub fn sign(&self, keys: &KeyRing) -> String {
        let expires = self.expires_at.to_string();
        sign_fields(
            keys,
            LABEL,
            [&self.challenge_id, &self.realm, &self.user, &expires],
        )
    }

    /// Checks the signature (constant time) before looking at anything else, then the expiry.
    pub fn verify(token: &str, keys: &KeyRing, now: i64) -> Result<PendingToken, TokenError> {
        let [challenge_id, realm, user, expires] = verify_fields(token, keys, LABEL)?;
        let expires_at: i64 = expires.parse().map_err(|_| TokenError::Malformed)?;
        if now >= expires_at {
            return Err(TokenError::Expired);
        }
        Ok(PendingToken {
            challenge_id,
            realm,
            user,
            expires_at,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn token() -> PendingToken {
        PendingToken {
            challenge_id: "c-123".into(),
            realm: "main".into(),
            user: "alice".into(),
            expires_at: 1000,
        }
    }

    #[test]
    fn a_signed_token_verifies_until_it_expires() {
        let keys = KeyRing::generate();
        let signed = token().sign(&keys);
        assert_eq!(PendingToken::verify(&signed, &keys, 999), Ok(token()));
        assert_eq!(
            PendingToken::verify(&signed, &keys, 1000),
            Err(TokenError::Expired)
        );
    }

    #[test]
    fn forged_and_foreign_tokens_are_refused() {
        let keys = KeyRing::generate();
        let signed = token().sign(&keys);
        // Another gateway's key (or a guessed one).
        assert_eq!(
            PendingToken::verify(&signed, &KeyRing::generate(), 0),
            Err(TokenError::BadSignature)
        );
        // The user swapped in the payload, signature kept (SECURITY-TESTS 12).
        let (_, signature) = signed.split_once('.').unwrap();
        let swapped = format!(
            "{}.{signature}",
            B64.encode("c-123\x00main\x00admin\x001000")
        );
        assert_eq!(
            PendingToken::verify(&swapped, &keys, 0),
            Err(TokenError::BadSignature)
        );
        // The expiry extended.
        let extended = format!(
            "{}.{signature}",
            B64.encode("c-123\x00main\x00alice\x0099999")
        );
        assert_eq!(
            PendingToken::verify(&extended, &keys, 0),
            Err(TokenError::BadSignature)
        );
        for junk in [
            "",
            ".",
            "abc",
            "a.b",
            &"x".repeat(3000),
            &format!("{signed}x"),
        ] {
            assert!(PendingToken::verify(junk, &keys, 0).is_err(), "{junk:.20}");
        }
    }
}
