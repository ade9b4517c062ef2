//! The behaviour every durable store must show, run against each backend.

use super::{DurableStore, TotpRecord};
use crate::keys::Sealed;

pub fn sample_totp(realm: &str, user: &str) -> TotpRecord {
    TotpRecord {
        id: format!("f-{}", rand::random::<u64>()),
        realm: realm.into(),
        user: user.into(),
        secret: Sealed {
            key_id: "k1".into(),
            nonce: vec![1; 24],
            ciphertext: vec![2; 36],
        },
        created_at: 1_700_000_000,
        last_used_at: None,
        last_step: None,
    }
}

pub async fn durable_store_suite<S: DurableStore + Clone + 'static>(store: &S) {
    store.ping().await.unwrap();

    // Nothing for an unknown user.
    assert_eq!(store.totp("main", "nobody").await.unwrap(), None);
    assert_eq!(
        store.recovery_codes_left("main", "nobody").await.unwrap(),
        0
    );

    // Round trip, and realms keep users apart.
    let alice = sample_totp("main", "alice");
    store.put_totp(&alice).await.unwrap();
    assert_eq!(
        store.totp("main", "alice").await.unwrap(),
        Some(alice.clone())
    );
    assert_eq!(store.totp("other", "alice").await.unwrap(), None);

    // Time steps: each accepted once, never an older one after a newer.
    assert!(store
        .record_totp_step("main", "alice", &alice.id, 100, 10)
        .await
        .unwrap());
    assert!(!store
        .record_totp_step("main", "alice", &alice.id, 100, 11)
        .await
        .unwrap());
    assert!(!store
        .record_totp_step("main", "alice", &alice.id, 99, 12)
        .await
        .unwrap());
    assert!(store
        .record_totp_step("main", "alice", &alice.id, 101, 13)
        .await
        .unwrap());
    let stored = store.totp("main", "alice").await.unwrap().unwrap();
    assert_eq!(
        (stored.last_step, stored.last_used_at),
        (Some(101), Some(13))
    );
    // A step for a factor that was replaced in the meantime is refused.
    assert!(!store
        .record_totp_step("main", "alice", "f-gone", 200, 14)
        .await
        .unwrap());

    // Replacing the authenticator starts a fresh replay marker for the new secret.
    let replacement = sample_totp("main", "alice");
    store.put_totp(&replacement).await.unwrap();
    assert!(store
        .record_totp_step("main", "alice", &replacement.id, 50, 15)
        .await
        .unwrap());
    assert!(!store
        .record_totp_step("main", "alice", &alice.id, 300, 16)
        .await
        .unwrap());

    // Parallel verifications of one step: exactly one wins (SECURITY-TESTS 2).
    let racers: Vec<_> = (0..50)
        .map(|_| {
            let store = store.clone();
            let id = replacement.id.clone();
            tokio::spawn(async move {
                store
                    .record_totp_step("main", "alice", &id, 60, 17)
                    .await
                    .unwrap()
            })
        })
        .collect();
    let mut wins = 0;
    for racer in racers {
        wins += usize::from(racer.await.unwrap());
    }
    assert_eq!(wins, 1, "one time step accepted {wins} times");

    assert!(store.remove_totp("main", "alice").await.unwrap());
    assert!(!store.remove_totp("main", "alice").await.unwrap());
    assert_eq!(store.totp("main", "alice").await.unwrap(), None);

    // Recovery codes: single use, counted, replaced as a whole set.
    let hashes: Vec<[u8; 32]> = (0..10u8).map(|i| [i; 32]).collect();
    store
        .replace_recovery_codes("main", "bob", &hashes, 20)
        .await
        .unwrap();
    assert_eq!(store.recovery_codes_left("main", "bob").await.unwrap(), 10);
    assert!(store
        .consume_recovery_code("main", "bob", &hashes[3], 21)
        .await
        .unwrap());
    assert!(!store
        .consume_recovery_code("main", "bob", &hashes[3], 22)
        .await
        .unwrap());
    assert!(!store
        .consume_recovery_code("other", "bob", &hashes[4], 22)
        .await
        .unwrap());
    assert!(!store
        .consume_recovery_code("main", "bob", &[99; 32], 22)
        .await
        .unwrap());
    assert_eq!(store.recovery_codes_left("main", "bob").await.unwrap(), 9);

    // 50 parallel uses of one code: exactly one succeeds, the count drops by one
    // (SECURITY-TESTS 3).
    let racers: Vec<_> = (0..50)
        .map(|_| {
            let store = store.clone();
            let hash = hashes[5];
            tokio::spawn(async move {
                store
                    .consume_recovery_code("main", "bob", &hash, 23)
                    .await
                    .unwrap()
            })
        })
        .collect();
    let mut wins = 0;
    for racer in racers {
        wins += usize::from(racer.await.unwrap());
    }
    assert_eq!(wins, 1, "one recovery code used {wins} times");
    assert_eq!(store.recovery_codes_left("main", "bob").await.unwrap(), 8);

    let fresh: Vec<[u8; 32]> = (100..110u8).map(|i| [i; 32]).collect();
    store
        .replace_recovery_codes("main", "bob", &fresh, 30)
        .await
        .unwrap();
    assert_eq!(store.recovery_codes_left("main", "bob").await.unwrap(), 10);
    assert!(
        !store
            .consume_recovery_code("main", "bob", &hashes[0], 31)
            .await
            .unwrap(),
        "old set still valid"
    );
    assert!(store
        .consume_recovery_code("main", "bob", &fresh[0], 31)
        .await
        .unwrap());
}
