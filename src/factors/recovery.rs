//! Recovery codes: single-use look-up secrets (NIST 800-63B §5.1.2) for when the phone is gone.
//!
//! Ten codes of twelve characters from an alphabet without look-alikes (no 0/o, 1/i/l), shown as
//! `xxxx-xxxx-xxxx`, accepted with or without dashes and spaces, in any case. Only a keyed hash
//! (HMAC-SHA256 under a server key) is ever stored, so a stolen database does not yield codes.

use super::service::{
    Accepted, Answer, Began, Env, Factor, FactorError, Method, MethodInfo, Pending, Subject,
    Verdict,
};
use crate::keys::KeyRing;
use crate::store::{AnyDurable, CodeUse, DurableStore, FactorState};
use rand::Rng;
use zeroize::Zeroizing;

pub const CODE_COUNT: usize = 10;
pub const CODE_LENGTH: usize = 12;
/// 31 symbols: digits 2–9 and letters without i, l, o. 12 symbols carry about 59 bits.
const ALPHABET: &[u8] = b"23456789abcdefghjkmnpqrstuvwxyz";

/// A freshly generated code, to show once. `Debug` never prints it.
pub struct RecoveryCode(Zeroizing<String>);

impl std::fmt::Debug for RecoveryCode {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("RecoveryCode(<redacted>)")
    }
}

impl RecoveryCode {
    /// Grouped for reading: `abcd-efgh-jkmn`.
    pub fn display(&self) -> Zeroizing<String> {
        let chars: Vec<char> = self.0.chars().collect();
        Zeroizing::new(
            chars
                .chunks(4)
                .map(|c| c.iter().collect::<String>())
                .collect::<Vec<_>>()
                .join("-"),
        )
    }

    pub fn normalised(&self) -> &str {
        &self.0
    }
}

/// A new set of codes from the operating system's CSPRNG (uniform: no modulo bias).
pub fn generate_set() -> Vec<RecoveryCode> {
    (0..CODE_COUNT).map(|_| generate_one()).collect()
}

/// One code of the same form (also used for enrollment invitations).
pub fn generate_one() -> RecoveryCode {
    let mut rng = rand::rngs::OsRng;
    let code: String = (0..CODE_LENGTH)
        .map(|_| {
            char::from(
                ALPHABET
                    .get(rng.gen_range(0..ALPHABET.len()))
                    .copied()
                    .unwrap_or(b'a'),
            )
        })
        .collect();
    RecoveryCode(Zeroizing::new(code))
}

/// What the user typed → the canonical code, or `None` if it cannot be one (so it is not even
/// looked up). Dashes and white space are dropped; case is ignored.
pub fn normalise(input: &str) -> Option<Zeroizing<String>> {
    let code: Zeroizing<String> = Zeroizing::new(
        input
            .chars()
            .filter(|c| !c.is_whitespace() && *c != '-')
            .map(|c| c.to_ascii_lowercase())
            .collect(),
    );
    (code.len() == CODE_LENGTH && code.bytes().all(|b| ALPHABET.contains(&b))).then_some(code)
}

/// The stored form of a code: HMAC-SHA256 under the server's recovery key.
pub fn hash(keys: &KeyRing, normalised: &str) -> [u8; 32] {
    keys.keyed_hash(b"recovery-code-v1", normalised.as_bytes())
}

/// Single-use recovery codes as a factor: a code the user holds, one of a set. The set lives
/// in its own table (keyed hashes, each used once), not as a factor record: it has no secret
/// to seal and no counter, only codes to strike off.
pub struct RecoveryCodeFactor;

impl RecoveryCodeFactor {
    /// A new set, replacing the old one whole; the codes are returned to show once.
    pub async fn regenerate(
        &self,
        store: &AnyDurable,
        keys: &KeyRing,
        who: &Subject<'_>,
    ) -> Result<Vec<RecoveryCode>, FactorError> {
        let codes = generate_set();
        let hashes: Vec<[u8; 32]> = codes.iter().map(|c| hash(keys, c.normalised())).collect();
        store
            .replace_recovery_codes(who.realm, who.user, &hashes, who.now)
            .await?;
        Ok(codes)
    }

    async fn check(
        &self,
        env: &Env<'_>,
        who: &Subject<'_>,
        code: &str,
    ) -> Result<Verdict, FactorError> {
        let Some(normalised) = normalise(code) else {
            return Ok(Verdict::Wrong);
        };
        let hash = hash(env.keys, &normalised);
        let used = env
            .store
            .consume_recovery_code(who.realm, who.user, &hash, who.now)
            .await?;
        Ok(match used {
            CodeUse::Consumed(left) => Verdict::Accepted(Accepted {
                method: Method::RECOVERY_CODE,
                recovery_codes_left: Some(left),
            }),
            CodeUse::Spent => Verdict::Spent(Method::RECOVERY_CODE),
            CodeUse::Unknown => Verdict::Wrong,
        })
    }
}

impl Factor for RecoveryCodeFactor {
    fn method(&self) -> Method {
        Method::RECOVERY_CODE
    }

    /// `backup_code` is what some Django packages call it.
    fn answers_to(&self, name: &str) -> bool {
        matches!(name, "recovery_code" | "backup_code")
    }

    fn plausible(&self, _env: &Env<'_>, code: &str) -> bool {
        normalise(code).is_some()
    }

    fn describe<'a>(
        &'a self,
        env: &'a Env<'a>,
        who: &'a Subject<'a>,
    ) -> Pending<'a, Option<MethodInfo>> {
        Box::pin(async move {
            let left = env.store.recovery_codes_left(who.realm, who.user).await?;
            Ok((left > 0).then_some(MethodInfo {
                method: Method::RECOVERY_CODE,
                is_active: true,
                is_primary: false,
                created_at: None,
                last_used_at: None,
                remaining: Some(left),
            }))
        })
    }

    fn begin<'a>(&'a self, _env: &'a Env<'a>, _who: &'a Subject<'a>) -> Pending<'a, Began> {
        Box::pin(async { Ok(Began::held()) })
    }

    fn finish<'a>(
        &'a self,
        env: &'a Env<'a>,
        who: &'a Subject<'a>,
        _state: Option<&'a FactorState>,
        answer: Answer<'a>,
    ) -> Pending<'a, Verdict> {
        Box::pin(async move {
            match answer {
                Answer::Code(code) => self.check(env, who, code).await,
                Answer::Assertion(_) => Ok(Verdict::Wrong),
            }
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashSet;

    #[test]
    fn a_set_has_ten_distinct_codes_from_the_alphabet() {
        let set = generate_set();
        assert_eq!(set.len(), CODE_COUNT);
        let distinct: HashSet<&str> = set.iter().map(|c| c.normalised()).collect();
        assert_eq!(distinct.len(), CODE_COUNT);
        for code in &set {
            assert_eq!(code.normalised().len(), CODE_LENGTH);
            assert!(code.normalised().bytes().all(|b| ALPHABET.contains(&b)));
            assert!(!code.normalised().contains(['0', '1', 'o', 'i', 'l']));
        }
    }

    #[test]
    fn codes_are_shown_grouped_and_accepted_in_any_form() {
        let code = RecoveryCode(Zeroizing::new("abcdefghjkmn".into()));
        assert_eq!(code.display().as_str(), "abcd-efgh-jkmn");
        for typed in [
            "abcd-efgh-jkmn",
            "ABCDEFGHJKMN",
            " abcd efgh jkmn ",
            "AbCd-EfGh-JkMn",
        ] {
            assert_eq!(
                normalise(typed).as_deref().map(String::as_str),
                Some("abcdefghjkmn"),
                "{typed}"
            );
        }
        for bad in [
            "",
            "abcd-efgh",
            "abcd-efgh-jkmn-p",
            "abcd-efgh-jkm0",
            "123456",
        ] {
            assert!(normalise(bad).is_none(), "{bad}");
        }
    }

    #[test]
    fn hash_is_keyed() {
        let a = KeyRing::generate();
        let b = KeyRing::generate();
        assert_eq!(hash(&a, "abcdefghjkmn"), hash(&a, "abcdefghjkmn"));
        assert_ne!(hash(&a, "abcdefghjkmn"), hash(&b, "abcdefghjkmn"));
        assert_ne!(hash(&a, "abcdefghjkmn"), hash(&a, "abcdefghjkmp"));
    }

    #[test]
    fn codes_never_appear_in_debug_output() {
        let set = generate_set();
        let text = format!("{set:?}");
        assert!(set.iter().all(|c| !text.contains(c.normalised())));
    }
}
