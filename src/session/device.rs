//! The device credential: a browser that has passed a user's second factor carries a signed
//! cookie naming that user and a device id. Its wrong codes are counted against that device
//! alone, apart from everyone else's, so that someone who has the user's password and guesses
//! codes from elsewhere never locks the user out of the browser they always use. The token
//! only names the device: the device must also be on record (listed in settings and by the
//! admin CLI, revocable there), and it expires.

use crate::keys::KeyRing;
use crate::session::cookies::{GatewayCookie, SameSite};
use crate::session::token::{sign_fields, verify_fields};
use http::HeaderMap;

const LABEL: &[u8] = b"device-v1";
/// How long a browser is remembered after its last second factor.
pub const REMEMBER_SECS: i64 = 90 * 86_400;
pub const COOKIE: &str = "mfa_device";

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DeviceToken {
    pub id: String,
    pub realm: String,
    pub user: String,
    pub expires_at: i64,
}

impl DeviceToken {
    /// `payload.signature`, both base64url; the payload is NUL-separated text.
    pub fn sign(&self, keys: &KeyRing) -> String {
        let expires = self.expires_at.to_string();
        sign_fields(keys, LABEL, [&self.id, &self.realm, &self.user, &expires])
    }

    /// The token if its signature holds (checked first, in constant time) and it has not
    /// expired at `now`.
    pub fn verify(token: &str, keys: &KeyRing, now: i64) -> Option<DeviceToken> {
        let [id, realm, user, expires] = verify_fields(token, keys, LABEL).ok()?;
        let expires_at: i64 = expires.parse().ok()?;
        (now < expires_at).then_some(DeviceToken {
            id,
            realm,
            user,
            expires_at,
        })
    }
}

/// The device cookie of `user` (sent only to this host, only from its own pages:
/// SameSite=Strict). Each user a browser signs in as has a cookie of their own, named by a
/// keyed hash of realm and user: one account's credential never replaces another's (two
/// people on one browser, or a login another site forges into it).
pub fn cookie(keys: &KeyRing, realm: &str, user: &str, tls: bool) -> GatewayCookie {
    let tag = keys.keyed_hash(b"device-cookie-v1", format!("{realm}\0{user}").as_bytes());
    let tag: String = tag.iter().take(6).map(|b| format!("{b:02x}")).collect();
    GatewayCookie {
        name: format!("{COOKIE}_{tag}").into(),
        same_site: SameSite::Strict,
        tls,
    }
}

/// Whether a request cookie's name is a device cookie's (of any user; as sent, with `__Host-`
/// on TLS).
fn is_device_cookie(name: &str, tls: bool) -> bool {
    let name = if tls {
        match name.strip_prefix("__Host-") {
            Some(rest) => rest,
            None => return false,
        }
    } else {
        name
    };
    name.strip_prefix(COOKIE)
        .is_some_and(|tag| tag.is_empty() || tag.starts_with('_'))
}

/// The device cookies a request presents, of any user, as (name, value): a user's is found by
/// its exact name (cookies planted under other device names cannot push it out of sight).
/// Most requests carry none, and are told so by one substring search.
pub fn presented(headers: &HeaderMap, tls: bool) -> Vec<(String, String)> {
    let has_one = headers
        .get_all(http::header::COOKIE)
        .iter()
        .any(|v| v.to_str().is_ok_and(|line| line.contains(COOKIE)));
    if !has_one {
        return Vec::new();
    }
    headers
        .get_all(http::header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|line| line.split(';'))
        .filter_map(|pair| pair.trim().split_once('='))
        .filter(|(name, _)| is_device_cookie(name.trim(), tls))
        .map(|(name, value)| (name.trim().to_string(), value.trim().to_string()))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn token() -> DeviceToken {
        DeviceToken {
            id: "d1".into(),
            realm: "main".into(),
            user: "alice".into(),
            expires_at: 1000,
        }
    }

    #[test]
    fn a_device_token_verifies_until_it_expires_and_only_under_its_key() {
        let keys = KeyRing::generate();
        let signed = token().sign(&keys);
        assert_eq!(DeviceToken::verify(&signed, &keys, 999), Some(token()));
        assert_eq!(DeviceToken::verify(&signed, &keys, 1000), None);
        assert_eq!(DeviceToken::verify(&signed, &KeyRing::generate(), 0), None);
        // Another user's payload under this signature.
        let (_, signature) = signed.split_once('.').unwrap();
        let forged = format!(
            "{}.{signature}",
            base64::Engine::encode(
                &base64::engine::general_purpose::URL_SAFE_NO_PAD,
                ["d1", "main", "bob", "1000"].join("\0")
            )
        );
        assert_eq!(DeviceToken::verify(&forged, &keys, 0), None);
        // A pending-login token is not a device token (another label).
        let pending = crate::session::token::PendingToken {
            challenge_id: "d1".into(),
            realm: "main".into(),
            user: "alice".into(),
            expires_at: 1000,
        }
        .sign(&keys);
        assert_eq!(DeviceToken::verify(&pending, &keys, 0), None);
    }

    #[test]
    fn each_users_cookie_has_its_own_name_and_all_are_found() {
        let keys = KeyRing::generate();
        let alice = cookie(&keys, "main", "alice", false).full_name();
        let bob = cookie(&keys, "main", "bob", false).full_name();
        assert_ne!(alice, bob);
        assert!(alice.starts_with("mfa_device_"));
        assert_eq!(
            cookie(&keys, "main", "alice", true).full_name(),
            format!("__Host-{alice}")
        );
        let mut headers = HeaderMap::new();
        headers.insert(
            http::header::COOKIE,
            format!("a=1; {alice}=t1; {bob}=t2; mfa_devicex=3; x_mfa_device_1=4")
                .parse()
                .unwrap(),
        );
        assert_eq!(
            presented(&headers, false),
            [
                (alice.clone(), "t1".to_string()),
                (bob.clone(), "t2".to_string())
            ]
        );
        assert!(
            presented(&headers, true).is_empty(),
            "TLS cookies carry __Host-"
        );
        assert!(presented(&HeaderMap::new(), false).is_empty());
    }
}
