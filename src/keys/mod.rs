//! The gateway's secret keys: encryption keys for data at rest (each with an id so they can be
//! rotated), a key for keyed hashes (recovery codes, session ids in the audit log) and a key
//! for signing the tokens the gateway hands out.
//!
//! The key file is `keys_file` from the config (default `{data_dir}/keys.json`); when it does
//! not exist, the gateway generates it on first start (mode 0600) and says so in the log, so a
//! demo needs no setup.

use base64::engine::general_purpose::STANDARD as B64;
use base64::Engine;
use chacha20poly1305::aead::{Aead, KeyInit, Payload};
use chacha20poly1305::{XChaCha20Poly1305, XNonce};
use hmac::{Hmac, Mac};
use rand::RngCore;
use serde::{Deserialize, Serialize};
use sha2::Sha256;
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use zeroize::{Zeroize, Zeroizing};

const KEY_BYTES: usize = 32;
const NONCE_BYTES: usize = 24;

/// A 256-bit key; wiped on drop, never printed.
#[derive(Clone, Zeroize)]
#[zeroize(drop)]
struct Key([u8; KEY_BYTES]);

impl Key {
    fn generate() -> Self {
        let mut bytes = [0u8; KEY_BYTES];
        rand::rngs::OsRng.fill_bytes(&mut bytes);
        Key(bytes)
    }
}

/// A value encrypted under one of the ring's keys. `key_id` says which, so records written
/// before a rotation still open and `keys rotate` can find what to re-encrypt.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Sealed {
    pub key_id: String,
    pub nonce: Vec<u8>,
    pub ciphertext: Vec<u8>,
}

#[derive(Debug, thiserror::Error)]
pub enum KeyError {
    #[error("cannot read the key file {path}")]
    Read {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("cannot write the key file {path}")]
    Write {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("the key file {path} is not valid: {reason}")]
    Invalid { path: PathBuf, reason: String },
    #[error("no encryption key with id {0:?}: was it removed from the key file?")]
    UnknownKey(String),
    #[error("decryption failed: the data was altered or belongs elsewhere")]
    Decrypt,
    #[error("encryption failed")]
    Encrypt,
}

pub struct KeyRing {
    active: String,
    encryption: BTreeMap<String, Key>,
    hashing: Key,
    signing: Key,
}

impl std::fmt::Debug for KeyRing {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("KeyRing")
            .field("active", &self.active)
            .field(
                "encryption_keys",
                &self.encryption.keys().collect::<Vec<_>>(),
            )
            .finish_non_exhaustive()
    }
}

/// The key file: base64 keys by purpose.
#[derive(Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct KeyFile {
    version: u32,
    active: String,
    encryption: BTreeMap<String, String>,
    hashing: String,
    signing: String,
}

impl KeyRing {
    /// A new ring with one encryption key.
    pub fn generate() -> Self {
        let id = new_key_id();
        let mut encryption = BTreeMap::new();
        encryption.insert(id.clone(), Key::generate());
        KeyRing {
            active: id,
            encryption,
            hashing: Key::generate(),
            signing: Key::generate(),
        }
    }

    /// Reads the key file at `path`, or creates it with fresh keys. Returns whether keys were
    /// made.
    pub fn load_or_generate(path: &Path) -> Result<(KeyRing, bool), KeyError> {
        match std::fs::read_to_string(path) {
            Ok(text) => Ok((Self::parse(&Zeroizing::new(text), path)?, false)),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
                let ring = Self::generate();
                ring.save(path)?;
                Ok((ring, true))
            }
            Err(source) => Err(KeyError::Read {
                path: path.to_path_buf(),
                source,
            }),
        }
    }

    /// Reads the key file at `path`; it must exist.
    pub fn load(path: &Path) -> Result<KeyRing, KeyError> {
        let path = path.to_path_buf();
        let text =
            Zeroizing::new(
                std::fs::read_to_string(&path).map_err(|source| KeyError::Read {
                    path: path.clone(),
                    source,
                })?,
            );
        Self::parse(&text, &path)
    }

    fn parse(text: &str, path: &Path) -> Result<KeyRing, KeyError> {
        let invalid = |reason: String| KeyError::Invalid {
            path: path.to_path_buf(),
            reason,
        };
        let file: Zeroizing<String> = Zeroizing::new(text.to_string());
        let file: KeyFile = serde_json::from_str(&file).map_err(|e| invalid(e.to_string()))?;
        if file.version != 1 {
            return Err(invalid(format!("unsupported version {}", file.version)));
        }
        let decode = |name: &str, value: &str| -> Result<Key, KeyError> {
            let bytes = Zeroizing::new(
                B64.decode(value)
                    .map_err(|_| invalid(format!("{name} is not base64")))?,
            );
            let array: [u8; KEY_BYTES] = bytes
                .as_slice()
                .try_into()
                .map_err(|_| invalid(format!("{name} is not {KEY_BYTES} bytes")))?;
            Ok(Key(array))
        };
        let mut encryption = BTreeMap::new();
        for (id, value) in &file.encryption {
            encryption.insert(id.clone(), decode(&format!("encryption key {id}"), value)?);
        }
        if !encryption.contains_key(&file.active) {
            return Err(invalid(format!(
                "the active key {:?} is not in the file",
                file.active
            )));
        }
        Ok(KeyRing {
            active: file.active,
            encryption,
            hashing: decode("hashing", &file.hashing)?,
            signing: decode("signing", &file.signing)?,
        })
    }

    /// Writes the key file at `path` atomically (a temporary file beside it, renamed) with mode
    /// 0600.
    pub fn save(&self, path: &Path) -> Result<(), KeyError> {
        use std::io::Write;
        use std::os::unix::fs::OpenOptionsExt;
        let write_err = |source| KeyError::Write {
            path: path.to_path_buf(),
            source,
        };
        let dir = path.parent().unwrap_or(Path::new("."));
        std::fs::create_dir_all(dir).map_err(write_err)?;
        let file = KeyFile {
            version: 1,
            active: self.active.clone(),
            encryption: self
                .encryption
                .iter()
                .map(|(id, k)| (id.clone(), B64.encode(k.0)))
                .collect(),
            hashing: B64.encode(self.hashing.0),
            signing: B64.encode(self.signing.0),
        };
        let text = Zeroizing::new(
            serde_json::to_string_pretty(&file).map_err(|e| write_err(std::io::Error::other(e)))?,
        );
        let name = path
            .file_name()
            .and_then(|n| n.to_str())
            .unwrap_or("keys.json");
        let temp = dir.join(format!(".{name}.tmp"));
        let mut out = std::fs::OpenOptions::new()
            .write(true)
            .create(true)
            .truncate(true)
            .mode(0o600)
            .open(&temp)
            .map_err(write_err)?;
        out.write_all(text.as_bytes()).map_err(write_err)?;
        out.sync_all().map_err(write_err)?;
        std::fs::rename(&temp, path).map_err(write_err)
    }

    /// Adds a new encryption key and makes it the one new data is sealed with. Older keys stay
    /// so existing records still open until they are re-encrypted.
    pub fn rotate(&mut self) -> &str {
        let id = new_key_id();
        self.encryption.insert(id.clone(), Key::generate());
        self.active = id;
        &self.active
    }

    pub fn active_key_id(&self) -> &str {
        &self.active
    }

    /// XChaCha20-Poly1305 with a random 192-bit nonce. `context` is authenticated, not stored:
    /// pass what the value belongs to (user, factor id) so a sealed value copied to another
    /// record does not open there.
    pub fn seal(&self, plaintext: &[u8], context: &[u8]) -> Result<Sealed, KeyError> {
        let key = self
            .encryption
            .get(&self.active)
            .ok_or_else(|| KeyError::UnknownKey(self.active.clone()))?;
        let mut nonce = [0u8; NONCE_BYTES];
        rand::rngs::OsRng.fill_bytes(&mut nonce);
        let cipher = XChaCha20Poly1305::new((&key.0).into());
        let ciphertext = cipher
            .encrypt(
                XNonce::from_slice(&nonce),
                Payload {
                    msg: plaintext,
                    aad: context,
                },
            )
            .map_err(|_| KeyError::Encrypt)?;
        Ok(Sealed {
            key_id: self.active.clone(),
            nonce: nonce.to_vec(),
            ciphertext,
        })
    }

    pub fn open(&self, sealed: &Sealed, context: &[u8]) -> Result<Zeroizing<Vec<u8>>, KeyError> {
        let key = self
            .encryption
            .get(&sealed.key_id)
            .ok_or_else(|| KeyError::UnknownKey(sealed.key_id.clone()))?;
        if sealed.nonce.len() != NONCE_BYTES {
            return Err(KeyError::Decrypt);
        }
        let cipher = XChaCha20Poly1305::new((&key.0).into());
        cipher
            .decrypt(
                XNonce::from_slice(&sealed.nonce),
                Payload {
                    msg: &sealed.ciphertext,
                    aad: context,
                },
            )
            .map(Zeroizing::new)
            .map_err(|_| KeyError::Decrypt)
    }

    /// HMAC-SHA256 under the hashing key, with a label so different uses never collide.
    pub fn keyed_hash(&self, label: &[u8], data: &[u8]) -> [u8; 32] {
        mac(&self.hashing, label, data)
    }

    /// Names the key file without revealing it: 16 hex digits from the hashing and signing keys
    /// (which `keys rotate` keeps), so two files can be told apart by their fingerprints.
    pub fn fingerprint(&self) -> String {
        let hashed = self.keyed_hash(b"key-fingerprint-v1", b"");
        let both = self.sign(b"key-fingerprint-v1", &hashed);
        both[..8].iter().map(|b| format!("{b:02x}")).collect()
    }

    /// HMAC-SHA256 under the signing key, for tokens the gateway issues.
    pub fn sign(&self, label: &[u8], data: &[u8]) -> [u8; 32] {
        mac(&self.signing, label, data)
    }

    /// Constant-time check of a signature made by [`KeyRing::sign`].
    pub fn verify_signature(&self, label: &[u8], data: &[u8], signature: &[u8]) -> bool {
        use subtle::ConstantTimeEq;
        self.sign(label, data).ct_eq(signature).into()
    }
}

fn mac(key: &Key, label: &[u8], data: &[u8]) -> [u8; 32] {
    // HMAC accepts keys of any length, so this cannot fail; fall back to a zero MAC rather than
    // panic if that ever changed (it would then fail every comparison: closed, not open).
    let Ok(mut m) = <Hmac<Sha256> as Mac>::new_from_slice(&key.0) else {
        return [0u8; 32];
    };
    m.update(&(label.len() as u64).to_be_bytes());
    m.update(label);
    m.update(data);
    m.finalize().into_bytes().into()
}

fn new_key_id() -> String {
    let mut bytes = [0u8; 4];
    rand::rngs::OsRng.fill_bytes(&mut bytes);
    format!(
        "k{}",
        bytes.iter().map(|b| format!("{b:02x}")).collect::<String>()
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sealed_values_open_only_with_their_context() {
        let ring = KeyRing::generate();
        let sealed = ring.seal(b"totp secret", b"user:alice").unwrap();
        assert_ne!(sealed.ciphertext, b"totp secret");
        assert_eq!(
            ring.open(&sealed, b"user:alice").unwrap().as_slice(),
            b"totp secret"
        );
        assert!(matches!(
            ring.open(&sealed, b"user:mallory"),
            Err(KeyError::Decrypt)
        ));
        let mut tampered = sealed.clone();
        if let Some(b) = tampered.ciphertext.first_mut() {
            *b ^= 1;
        }
        assert!(matches!(
            ring.open(&tampered, b"user:alice"),
            Err(KeyError::Decrypt)
        ));
        assert!(matches!(
            KeyRing::generate().open(&sealed, b"user:alice"),
            Err(KeyError::UnknownKey(_))
        ));
    }

    #[test]
    fn nonces_are_fresh() {
        let ring = KeyRing::generate();
        let a = ring.seal(b"x", b"").unwrap();
        let b = ring.seal(b"x", b"").unwrap();
        assert_ne!(a.nonce, b.nonce);
        assert_ne!(a.ciphertext, b.ciphertext);
    }

    #[test]
    fn key_file_is_created_private_and_read_back() {
        use std::os::unix::fs::PermissionsExt;
        let dir =
            std::env::temp_dir().join(format!("mfa-keys-{}-{}", std::process::id(), new_key_id()));
        std::fs::create_dir_all(&dir).unwrap();
        let (ring, generated) = KeyRing::load_or_generate(&dir.join("keys.json")).unwrap();
        assert!(generated);
        let mode = std::fs::metadata(dir.join("keys.json"))
            .unwrap()
            .permissions()
            .mode()
            & 0o777;
        assert_eq!(mode, 0o600);
        let sealed = ring.seal(b"kept", b"ctx").unwrap();
        let (again, generated) = KeyRing::load_or_generate(&dir.join("keys.json")).unwrap();
        assert!(!generated);
        assert_eq!(again.open(&sealed, b"ctx").unwrap().as_slice(), b"kept");
        assert_eq!(again.keyed_hash(b"l", b"d"), ring.keyed_hash(b"l", b"d"));
        std::fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn rotation_keeps_old_keys_for_opening() {
        let mut ring = KeyRing::generate();
        let old = ring.seal(b"before", b"").unwrap();
        let old_id = ring.active_key_id().to_string();
        let new_id = ring.rotate().to_string();
        assert_ne!(old_id, new_id);
        let new = ring.seal(b"after", b"").unwrap();
        assert_eq!(new.key_id, new_id);
        assert_eq!(ring.open(&old, b"").unwrap().as_slice(), b"before");
    }

    #[test]
    fn signatures_verify_and_labels_separate_uses() {
        let ring = KeyRing::generate();
        let sig = ring.sign(b"pending", b"challenge-1");
        assert!(ring.verify_signature(b"pending", b"challenge-1", &sig));
        assert!(!ring.verify_signature(b"pending", b"challenge-2", &sig));
        assert!(!ring.verify_signature(b"session", b"challenge-1", &sig));
        assert!(!ring.verify_signature(b"pending", b"challenge-1", &sig[..31]));
        assert_ne!(ring.keyed_hash(b"a", b"bc"), ring.keyed_hash(b"ab", b"c"));
    }

    #[test]
    fn a_damaged_key_file_is_an_error_not_a_new_key() {
        let dir = std::env::temp_dir().join(format!(
            "mfa-keys-bad-{}-{}",
            std::process::id(),
            new_key_id()
        ));
        std::fs::create_dir_all(&dir).unwrap();
        std::fs::write(dir.join("keys.json"), "{\"version\":1}").unwrap();
        assert!(matches!(
            KeyRing::load_or_generate(&dir.join("keys.json")),
            Err(KeyError::Invalid { .. })
        ));
        std::fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn debug_output_holds_no_key_material() {
        let ring = KeyRing::generate();
        let text = format!("{ring:?}");
        assert!(!text.contains(&B64.encode(ring.hashing.0)));
    }
}
