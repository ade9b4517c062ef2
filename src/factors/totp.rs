//! Time-based one-time passwords (RFC 6238) as authenticator apps implement them.
//!
//! Time is always a parameter (`now` in Unix seconds), never read here, so tests are exact. A
//! successful verification returns the time step it matched; the caller stores it and passes it
//! back as `last_step`, so a code is accepted at most once (RFC 6238 §5.2, NIST 800-63B
//! §5.1.4.2) — including a different code for an earlier step inside the skew window.

use subtle::ConstantTimeEq;
use totp_rs::{Algorithm, TOTP};
use zeroize::Zeroizing;

/// RFC 4226 recommends 160-bit secrets; authenticator apps expect exactly this.
pub const SECRET_BYTES: usize = 20;

/// Settings every authenticator app understands: apps ignore `algorithm`, `digits` and
/// `period` in the URI, so we issue SHA-1, 6 digits, 30 s.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TotpParams {
    pub digits: usize,
    pub period: u64,
    /// Steps accepted on either side of the current one (RFC 6238 §5.2: at most one for delay).
    pub skew: u8,
}

impl Default for TotpParams {
    fn default() -> Self {
        TotpParams {
            digits: 6,
            period: 30,
            skew: 1,
        }
    }
}

/// A TOTP secret; never printed by `Debug`, wiped from memory when dropped.
pub struct TotpSecret(Zeroizing<Vec<u8>>);

impl std::fmt::Debug for TotpSecret {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("TotpSecret(<redacted>)")
    }
}

impl TotpSecret {
    /// A fresh 160-bit secret from the operating system's CSPRNG.
    pub fn generate() -> Self {
        let mut bytes = Zeroizing::new(vec![0u8; SECRET_BYTES]);
        rand::RngCore::fill_bytes(&mut rand::rngs::OsRng, &mut bytes);
        TotpSecret(bytes)
    }

    pub fn from_bytes(bytes: Vec<u8>) -> Self {
        TotpSecret(Zeroizing::new(bytes))
    }

    pub fn as_bytes(&self) -> &[u8] {
        &self.0
    }

    /// RFC 4648 base32 without padding, as authenticator apps want it typed or scanned.
    pub fn to_base32(&self) -> Zeroizing<String> {
        Zeroizing::new(base32_encode(&self.0))
    }
}

#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum TotpError {
    #[error("the TOTP secret is too short")]
    SecretTooShort,
}

fn totp(secret: &TotpSecret, params: TotpParams, algorithm: Algorithm) -> Result<TOTP, TotpError> {
    if secret.as_bytes().len() < 16 {
        return Err(TotpError::SecretTooShort);
    }
    Ok(TOTP::new_unchecked(
        algorithm,
        params.digits,
        0,
        params.period,
        secret.as_bytes().to_vec(),
    ))
}

/// The code for the step containing `now`.
pub fn code_at(secret: &TotpSecret, params: TotpParams, now: u64) -> Result<String, TotpError> {
    Ok(totp(secret, params, Algorithm::SHA1)?.generate(now))
}

/// What a code is against the steps around `now`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Check {
    /// The code of this step, newer than the last one used.
    Fresh(u64),
    /// The code of a step within the skew that was already used (a replay, or a second try
    /// with the same code before the next one shows).
    Spent,
    Wrong,
}

impl Check {
    pub fn fresh(self) -> Option<u64> {
        match self {
            Check::Fresh(step) => Some(step),
            Check::Spent | Check::Wrong => None,
        }
    }
}

/// Checks `code` against the steps around `now`: fresh when a step within the skew matches
/// and is newer than `last_step`, spent when only a step not newer matches.
pub fn verify(
    secret: &TotpSecret,
    params: TotpParams,
    code: &str,
    now: u64,
    last_step: Option<u64>,
) -> Result<Check, TotpError> {
    let generator = totp(secret, params, Algorithm::SHA1)?;
    // As apps show and people paste it: `123 456`, `123-456`.
    let code: String = code
        .chars()
        .filter(|c| !c.is_whitespace() && *c != '-')
        .collect();
    if code.len() != params.digits || !code.bytes().all(|b| b.is_ascii_digit()) {
        return Ok(Check::Wrong);
    }
    let current = now / params.period;
    let skew = u64::from(params.skew);
    let mut matched = None;
    let mut spent = false;
    // Every candidate is computed and compared, so timing does not reveal which step matched.
    for step in current.saturating_sub(skew)..=current.saturating_add(skew) {
        let candidate = generator.generate(step * params.period);
        let equal: bool = candidate.as_bytes().ct_eq(code.as_bytes()).into();
        let newer = last_step.is_none_or(|last| step > last);
        if equal && newer && matched.is_none() {
            matched = Some(step);
        }
        spent |= equal && !newer;
    }
    Ok(match (matched, spent) {
        (Some(step), _) => Check::Fresh(step),
        (None, true) => Check::Spent,
        (None, false) => Check::Wrong,
    })
}

/// The key URI authenticator apps scan (Google Authenticator's format): issuer in the label and
/// as a parameter, secret in unpadded base32.
pub fn otpauth_uri(secret: &TotpSecret, issuer: &str, account: &str) -> Zeroizing<String> {
    let label = format!("{}:{}", percent_encode(issuer), percent_encode(account));
    Zeroizing::new(format!(
        "otpauth://totp/{label}?secret={}&issuer={}&algorithm=SHA1&digits=6&period=30",
        secret.to_base32().as_str(),
        percent_encode(issuer)
    ))
}

fn percent_encode(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for byte in text.bytes() {
        match byte {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'.' | b'_' | b'~' | b'@' => {
                out.push(char::from(byte))
            }
            other => out.push_str(&format!("%{other:02X}")),
        }
    }
    out
}

fn base32_encode(bytes: &[u8]) -> String {
    const ALPHABET: &[u8; 32] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZ234567";
    let mut out = String::with_capacity(bytes.len().div_ceil(5) * 8);
    let mut buffer: u16 = 0;
    let mut bits = 0;
    for &byte in bytes {
        buffer = (buffer << 8) | u16::from(byte);
        bits += 8;
        while bits >= 5 {
            bits -= 5;
            let index = usize::from((buffer >> bits) & 0x1f);
            out.extend(ALPHABET.get(index).map(|&c| char::from(c)));
        }
    }
    if bits > 0 {
        let index = usize::from((buffer << (5 - bits)) & 0x1f);
        out.extend(ALPHABET.get(index).map(|&c| char::from(c)));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rfc_secret(len: usize) -> TotpSecret {
        TotpSecret::from_bytes(b"1234567890".iter().cycle().take(len).copied().collect())
    }

    /// RFC 6238 Appendix B: X = 30, T0 = 0, 8 digits, with the key length each hash needs.
    #[test]
    fn rfc6238_appendix_b_vectors() {
        let params = TotpParams {
            digits: 8,
            period: 30,
            skew: 0,
        };
        let vectors: [(u64, &str, &str, &str); 6] = [
            (59, "94287082", "46119246", "90693936"),
            (1111111109, "07081804", "68084774", "25091201"),
            (1111111111, "14050471", "67062674", "99943326"),
            (1234567890, "89005924", "91819424", "93441116"),
            (2000000000, "69279037", "90698825", "38618901"),
            (20000000000, "65353130", "77737706", "47863826"),
        ];
        for (time, sha1, sha256, sha512) in vectors {
            for (algorithm, key_len, expected) in [
                (Algorithm::SHA1, 20, sha1),
                (Algorithm::SHA256, 32, sha256),
                (Algorithm::SHA512, 64, sha512),
            ] {
                let generated = totp(&rfc_secret(key_len), params, algorithm)
                    .unwrap()
                    .generate(time);
                assert_eq!(generated, expected, "{algorithm:?} at {time}");
            }
        }
    }

    /// RFC 4226 Appendix D: HOTP is TOTP with the counter as the step.
    #[test]
    fn rfc4226_appendix_d_hotp_vectors() {
        let params = TotpParams {
            digits: 6,
            period: 1,
            skew: 0,
        };
        let expected = [
            "755224", "287082", "359152", "969429", "338314", "254676", "287922", "162583",
            "399871", "520489",
        ];
        for (counter, code) in expected.iter().enumerate() {
            assert_eq!(
                code_at(&rfc_secret(20), params, counter as u64).unwrap(),
                *code
            );
        }
    }

    #[test]
    fn current_code_is_accepted_and_returns_its_step() {
        let s = TotpSecret::generate();
        let p = TotpParams::default();
        let now = 1_700_000_015;
        let code = code_at(&s, p, now).unwrap();
        assert_eq!(
            verify(&s, p, &code, now, None).unwrap(),
            Check::Fresh(now / 30)
        );
    }

    #[test]
    fn a_code_is_accepted_once() {
        let s = TotpSecret::generate();
        let p = TotpParams::default();
        let now = 1_700_000_015;
        let code = code_at(&s, p, now).unwrap();
        let step = verify(&s, p, &code, now, None).unwrap().fresh();
        // Used once, the code is spent, not wrong: the user is told to wait for the next.
        assert_eq!(verify(&s, p, &code, now, step).unwrap(), Check::Spent);
        // An older step's code inside the window is a replay too once a newer step was used.
        let previous = code_at(&s, p, now - 30).unwrap();
        assert_eq!(verify(&s, p, &previous, now, step).unwrap(), Check::Spent);
        // A code of no step in the window is wrong, whatever was used.
        let far = code_at(&s, p, now - 3600).unwrap();
        if far != code && far != previous {
            assert_eq!(verify(&s, p, &far, now, step).unwrap(), Check::Wrong);
        }
        // The next step's code still works.
        let next = code_at(&s, p, now + 30).unwrap();
        assert_eq!(
            verify(&s, p, &next, now + 30, step).unwrap(),
            Check::Fresh(now / 30 + 1)
        );
    }

    #[test]
    fn skew_of_one_step_accepts_neighbours_and_refuses_two_steps() {
        let s = TotpSecret::generate();
        let p = TotpParams::default();
        let now = 1_700_000_015;
        for (offset, accepted) in [
            (-60i64, false),
            (-30, true),
            (0, true),
            (30, true),
            (60, false),
        ] {
            let at = (now as i64 + offset) as u64;
            let code = code_at(&s, p, at).unwrap();
            assert_eq!(
                verify(&s, p, &code, now, None).unwrap().fresh().is_some(),
                accepted,
                "offset {offset}"
            );
        }
    }

    #[test]
    fn malformed_codes_are_refused() {
        let s = TotpSecret::generate();
        let p = TotpParams::default();
        for code in ["", "12345", "1234567", "12345a", "١٢٣٤٥٦"] {
            assert_eq!(
                verify(&s, p, code, 1_700_000_000, None).unwrap(),
                Check::Wrong,
                "{code}"
            );
        }
        let code = code_at(&s, p, 1_700_000_000).unwrap();
        let (a, b) = code.split_at(3);
        for spelled in [format!(" {code} "), format!("{a} {b}"), format!("{a}-{b}")] {
            assert!(
                verify(&s, p, &spelled, 1_700_000_000, None)
                    .unwrap()
                    .fresh()
                    .is_some(),
                "{spelled}"
            );
        }
    }

    #[test]
    fn secrets_are_160_bits_and_differ() {
        let a = TotpSecret::generate();
        let b = TotpSecret::generate();
        assert_eq!(a.as_bytes().len(), 20);
        assert_ne!(a.as_bytes(), b.as_bytes());
        assert_eq!(a.to_base32().len(), 32);
        assert!(!format!("{a:?}").contains(a.to_base32().as_str()));
    }

    #[test]
    fn base32_matches_rfc4648() {
        assert_eq!(base32_encode(b""), "");
        assert_eq!(base32_encode(b"f"), "MY");
        assert_eq!(base32_encode(b"fo"), "MZXQ");
        assert_eq!(base32_encode(b"foo"), "MZXW6");
        assert_eq!(base32_encode(b"foobar"), "MZXW6YTBOI");
    }

    #[test]
    fn otpauth_uri_follows_the_key_uri_format() {
        let s = TotpSecret::from_bytes(b"12345678901234567890".to_vec());
        let uri = otpauth_uri(&s, "Acme Intranet", "alice@example.com");
        assert_eq!(
            uri.as_str(),
            "otpauth://totp/Acme%20Intranet:alice@example.com?secret=GEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQ&issuer=Acme%20Intranet&algorithm=SHA1&digits=6&period=30"
        );
    }
}
