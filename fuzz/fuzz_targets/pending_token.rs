//! The pending-login token (a cookie for browsers, `ephemeral_token` for API clients), which a
//! client sends back. Input: a token as sent; the same text is also signed as a token's payload
//! under the ring's key, so that the parsing behind the signature check is reached too.
//!
//! Checks: no panic; a token that verifies signs and verifies again to the same token.
#![no_main]

use base64::engine::general_purpose::URL_SAFE_NO_PAD as B64;
use base64::Engine;
use libfuzzer_sys::fuzz_target;
use mfa_gateway::keys::KeyRing;
use mfa_gateway::session::token::PendingToken;
use std::path::Path;
use std::sync::OnceLock;

/// The label `PendingToken` signs under (checked against `PendingToken::sign` at start-up).
const LABEL: &[u8] = b"pending-login-v1";
/// "Now" for expiry: fixed, so a crash reproduces.
const NOW: i64 = 1_700_000_000;

/// A fixed, public key ring (fixtures/keys.json), so the seed tokens carry valid signatures.
fn keys() -> &'static KeyRing {
    static KEYS: OnceLock<KeyRing> = OnceLock::new();
    KEYS.get_or_init(|| {
        let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("fixtures/keys.json");
        let keys = KeyRing::load(&path).unwrap_or_else(|e| panic!("{e}"));
        let probe = PendingToken {
            challenge_id: "c".into(),
            realm: "r".into(),
            user: "u".into(),
            expires_at: 1,
        };
        assert_eq!(
            probe.sign(&keys),
            signed(&keys, b"c\0r\0u\x001"),
            "PendingToken no longer signs as this target does: update LABEL and `signed`"
        );
        keys
    })
}

/// `payload` as a token signed under `keys`, the way `PendingToken::sign` makes one.
fn signed(keys: &KeyRing, payload: &[u8]) -> String {
    let signature = keys.sign(LABEL, payload);
    format!("{}.{}", B64.encode(payload), B64.encode(signature))
}

fn round_trip(token: &PendingToken) {
    let again = PendingToken::verify(&token.sign(keys()), keys(), NOW);
    assert_eq!(
        again.as_ref(),
        Ok(token),
        "a verified token did not survive sign/verify"
    );
}

fuzz_target!(|data: &[u8]| {
    let keys = keys();
    if let Ok(text) = std::str::from_utf8(data) {
        if let Ok(token) = PendingToken::verify(text, keys, NOW) {
            round_trip(&token);
        }
    }
    if let Ok(token) = PendingToken::verify(&signed(keys, data), keys, NOW) {
        round_trip(&token);
    }
});
