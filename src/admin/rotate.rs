//! `mfa-gateway keys rotate` (an admin operation, above the key ring and the stores it
//! works on): a new active encryption key, and every stored factor's secret (whatever its
//! method) re-encrypted under it.
//!
//! The key file is written first, the secrets after: if re-encryption stops half-way, every
//! secret is still under a key the file holds, and running the command again finishes the job.

use crate::factors::service::secret_context;
use crate::keys::{KeyError, KeyRing};
use crate::store::{DurableStore, StoreError};

#[derive(Debug, thiserror::Error)]
pub enum RotateError {
    #[error(transparent)]
    Keys(#[from] KeyError),
    #[error("cannot open the factor database")]
    Store(#[from] StoreError),
    #[error("cannot open the factor store")]
    Setup(#[source] Box<crate::mfa::MfaSetupError>),
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Report {
    pub new_key: String,
    /// Secrets moved to the new key now.
    pub resealed: usize,
    /// Secrets that were already under the active key.
    pub current: usize,
}

pub async fn rotate(config: &crate::config::Config) -> Result<Report, RotateError> {
    let mut ring = KeyRing::load(&config.keys_file)?;
    ring.rotate();
    ring.save(&config.keys_file)?;
    let store = crate::mfa::open_durable(config)
        .await
        .map_err(|e| RotateError::Setup(Box::new(e)))?;
    reseal_all(&ring, &store).await
}

/// Re-encrypts every secret that is not under the ring's active key.
pub async fn reseal_all<S: DurableStore>(ring: &KeyRing, store: &S) -> Result<Report, RotateError> {
    let active = ring.active_key_id().to_string();
    let mut report = Report {
        new_key: active.clone(),
        resealed: 0,
        current: 0,
    };
    for record in store.all_factors().await? {
        if record.secret.key_id == active {
            report.current += 1;
            continue;
        }
        let context = secret_context(&record);
        let secret = ring.open(&record.secret, &context)?;
        let sealed = ring.seal(&secret, &context)?;
        // A factor replaced meanwhile was sealed under the active key already: skipping it is right.
        if store
            .reseal_factor(&record.id, &record.secret.key_id, &sealed)
            .await?
        {
            report.resealed += 1;
        }
    }
    Ok(report)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::factors::service::{Answer, Env, Factor, Subject, TotpFactor, Tuning};
    use crate::factors::totp::{code_at, TotpParams};
    use crate::store::{AnyDurable, SqliteStore};

    #[tokio::test]
    async fn secrets_move_to_the_new_key_and_still_verify() {
        let dir = std::env::temp_dir().join(format!("mfa-rotate-{}", rand::random::<u64>()));
        std::fs::create_dir_all(&dir).unwrap();
        let keys_file = dir.join("keys.json");
        let (ring, _) = KeyRing::load_or_generate(&keys_file).unwrap();
        let store = SqliteStore::open(&dir.join("factors.sqlite3"))
            .await
            .unwrap();
        let who = Subject {
            realm: "main",
            user: "alice",
            now: 1_700_000_000,
        };
        let params = TotpParams::default();
        let (secret, pending) = TotpFactor::generate(&ring, &who).unwrap();
        let code = code_at(&secret, params, 1_700_000_000).unwrap();
        let confirmed =
            TotpFactor::confirm(&ring, Tuning::default(), &pending, &code, 1_700_000_000)
                .unwrap()
                .unwrap();
        store.put_factor(&confirmed).await.unwrap();
        let old_key = ring.active_key_id().to_string();
        drop(store);

        let yaml = format!(
            "listeners:\n  - address: \"127.0.0.1:1\"\ndata_dir: \"{}\"\napps:\n  - name: a\n    hosts: [\"*\"]\n    upstream:\n      url: \"http://127.0.0.1:2\"\n",
            dir.display()
        );
        let config =
            crate::config::load_str(&yaml, std::path::Path::new("t.yaml"), |_| None).unwrap();
        let report = rotate(&config).await.unwrap();
        assert_eq!((report.resealed, report.current), (1, 0));
        assert_ne!(report.new_key, old_key);
        let rotated = KeyRing::load(&keys_file).unwrap();
        assert_eq!(rotated.active_key_id(), report.new_key);

        let store = AnyDurable::sqlite(
            SqliteStore::open(&dir.join("factors.sqlite3"))
                .await
                .unwrap(),
        );
        let record = store
            .factor("main", "alice", "totp")
            .await
            .unwrap()
            .unwrap();
        assert_eq!(record.secret.key_id, report.new_key);
        // The replay marker survived: the enrollment code is still refused, the next one works.
        let later = Subject {
            now: 1_700_000_030,
            ..who
        };
        let env = Env {
            store: &store,
            keys: &rotated,
            tuning: Tuning::default(),
        };
        assert!(TotpFactor
            .finish(&env, &later, None, Answer::Code(&code))
            .await
            .unwrap()
            .accepted()
            .is_none());
        let next = code_at(&secret, params, 1_700_000_030).unwrap();
        assert!(TotpFactor
            .finish(&env, &later, None, Answer::Code(&next))
            .await
            .unwrap()
            .accepted()
            .is_some());

        // Finishing an interrupted run moves nothing that is already current.
        let again = reseal_all(&rotated, &store).await.unwrap();
        assert_eq!((again.resealed, again.current), (0, 1));
    }
}
