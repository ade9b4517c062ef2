//! Enrollment invitations: a one-time code an administrator hands to a person out of band
//! (`mfa-gateway user invite`), without which an app in `invite` mode does not let anyone
//! enroll that user's first factor — so a stolen password alone cannot claim the account.
//! Same form as a recovery code (about 59 bits, no look-alikes); stored only as a keyed hash
//! bound to the realm and user, so a code for one user is worthless for another.

use super::recovery::{self, RecoveryCode};
use crate::keys::KeyRing;

pub fn generate() -> RecoveryCode {
    recovery::generate_one()
}

/// The stored form of an invitation code for `user` of `realm`; `None` when what was typed
/// cannot be a code at all.
pub fn hash(keys: &KeyRing, realm: &str, user: &str, typed: &str) -> Option<[u8; 32]> {
    let code = recovery::normalise(typed)?;
    let bound = zeroize::Zeroizing::new(format!("{realm}\0{user}\0{}", code.as_str()));
    Some(keys.keyed_hash(b"enrollment-invite-v1", bound.as_bytes()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_code_is_bound_to_its_user_and_accepted_as_typed() {
        let keys = KeyRing::generate();
        let code = generate();
        let shown = code.display();
        let stored = hash(&keys, "main", "dave", code.normalised()).unwrap();
        assert_eq!(
            hash(&keys, "main", "dave", &shown.to_uppercase()),
            Some(stored)
        );
        assert_ne!(hash(&keys, "main", "erin", code.normalised()), Some(stored));
        assert_ne!(
            hash(&keys, "other", "dave", code.normalised()),
            Some(stored)
        );
        assert_eq!(hash(&keys, "main", "dave", "not a code"), None);
    }
}
