//! The behaviour every durable store must show, run against each backend.

use super::{CodeUse, DurableStore, FactorRecord};
use crate::keys::Sealed;

/// Runs `attempt` on `n` tasks at once and counts how many succeeded.
async fn race<F, Fut>(n: usize, attempt: F) -> usize
where
    F: Fn() -> Fut,
    Fut: std::future::Future<Output = bool> + Send + 'static,
{
    let tasks: Vec<_> = (0..n).map(|_| tokio::spawn(attempt())).collect();
    let mut wins = 0;
    for task in tasks {
        wins += usize::from(task.await.unwrap());
    }
    wins
}

pub fn sample_factor(realm: &str, user: &str) -> FactorRecord {
    FactorRecord {
        id: format!("f-{}", rand::random::<u64>()),
        realm: realm.into(),
        user: user.into(),
        method: "totp".into(),
        secret: Sealed {
            key_id: "k1".into(),
            nonce: vec![1; 24],
            ciphertext: vec![2; 36],
        },
        created_at: 1_700_000_000,
        last_used_at: None,
        counter: None,
        version: 1,
    }
}

async fn consume_for<S: DurableStore>(store: &S, user: &str, hash: [u8; 32], now: i64) -> CodeUse {
    store
        .consume_recovery_code("main", user, &hash, now)
        .await
        .unwrap()
}

pub async fn durable_store_suite<S: DurableStore + Clone + 'static>(store: &S) {
    store.ping().await.unwrap();

    // Nothing for an unknown user.
    assert_eq!(store.factor("main", "nobody", "totp").await.unwrap(), None);
    assert_eq!(
        store.recovery_codes_left("main", "nobody").await.unwrap(),
        0
    );

    // Round trip, and realms keep users apart.
    let alice = sample_factor("main", "alice");
    store.put_factor(&alice).await.unwrap();
    assert_eq!(
        store.factor("main", "alice", "totp").await.unwrap(),
        Some(alice.clone())
    );
    assert_eq!(store.factor("other", "alice", "totp").await.unwrap(), None);

    // Time steps: each accepted once, never an older one after a newer.
    assert!(store
        .record_factor_step("main", "alice", &alice.id, 100, 10)
        .await
        .unwrap());
    assert!(!store
        .record_factor_step("main", "alice", &alice.id, 100, 11)
        .await
        .unwrap());
    assert!(!store
        .record_factor_step("main", "alice", &alice.id, 99, 12)
        .await
        .unwrap());
    assert!(store
        .record_factor_step("main", "alice", &alice.id, 101, 13)
        .await
        .unwrap());
    let stored = store
        .factor("main", "alice", "totp")
        .await
        .unwrap()
        .unwrap();
    assert_eq!((stored.counter, stored.last_used_at), (Some(101), Some(13)));
    // Re-sealing under a new key changes the secret only, and only from the expected key.
    let resealed = Sealed {
        key_id: "k2".into(),
        nonce: vec![3; 24],
        ciphertext: vec![4; 36],
    };
    assert!(!store
        .reseal_factor(&alice.id, "k0", &resealed)
        .await
        .unwrap());
    assert!(store
        .reseal_factor(&alice.id, "k1", &resealed)
        .await
        .unwrap());
    assert!(!store
        .reseal_factor(&alice.id, "k1", &resealed)
        .await
        .unwrap());
    let after = store
        .factor("main", "alice", "totp")
        .await
        .unwrap()
        .unwrap();
    assert_eq!(after.secret, resealed);
    assert_eq!(
        (after.counter, after.created_at),
        (stored.counter, stored.created_at)
    );
    assert_eq!(store.all_factors().await.unwrap(), vec![after.clone()]);

    // A step for a factor that was replaced in the meantime is refused.
    assert!(!store
        .record_factor_step("main", "alice", "f-gone", 200, 14)
        .await
        .unwrap());

    // Replacing the authenticator starts a fresh replay marker for the new secret.
    let replacement = sample_factor("main", "alice");
    store.put_factor(&replacement).await.unwrap();
    assert!(store
        .record_factor_step("main", "alice", &replacement.id, 50, 15)
        .await
        .unwrap());
    assert!(!store
        .record_factor_step("main", "alice", &alice.id, 300, 16)
        .await
        .unwrap());

    // Parallel verifications of one step: exactly one wins (SECURITY-TESTS 2).
    let wins = race(50, || {
        let (store, id) = (store.clone(), replacement.id.clone());
        async move {
            store
                .record_factor_step("main", "alice", &id, 60, 17)
                .await
                .unwrap()
        }
    })
    .await;
    assert_eq!(wins, 1, "one time step accepted {wins} times");

    // Methods of one user are kept apart: another method's factor neither replaces the
    // authenticator nor goes with it.
    let other = FactorRecord {
        method: "sent_code".into(),
        ..sample_factor("main", "alice")
    };
    store.put_factor(&other).await.unwrap();
    assert_eq!(
        store
            .factor("main", "alice", "totp")
            .await
            .unwrap()
            .map(|f| f.id),
        Some(replacement.id.clone())
    );
    assert_eq!(
        store.factor("main", "alice", "sent_code").await.unwrap(),
        Some(other.clone())
    );
    let methods: Vec<String> = store
        .factors("main", "alice")
        .await
        .unwrap()
        .into_iter()
        .map(|f| f.method)
        .collect();
    assert_eq!(methods, ["sent_code", "totp"]);
    assert!(store.factors("other", "alice").await.unwrap().is_empty());
    assert!(store
        .remove_factor("main", "alice", "sent_code")
        .await
        .unwrap());

    assert!(store.remove_factor("main", "alice", "totp").await.unwrap());
    assert!(!store.remove_factor("main", "alice", "totp").await.unwrap());
    assert_eq!(store.factor("main", "alice", "totp").await.unwrap(), None);

    // Recovery codes: single use, counted, replaced as a whole set.
    let hashes: Vec<[u8; 32]> = (0..10u8).map(|i| [i; 32]).collect();
    store
        .replace_recovery_codes("main", "bob", &hashes, 20)
        .await
        .unwrap();
    assert_eq!(store.recovery_codes_left("main", "bob").await.unwrap(), 10);
    let consume = |realm: &'static str, hash: [u8; 32], now: i64| {
        let store = store.clone();
        async move {
            store
                .consume_recovery_code(realm, "bob", &hash, now)
                .await
                .unwrap()
        }
    };
    assert_eq!(
        consume("main", hashes[3], 21).await,
        CodeUse::Consumed(9),
        "9 left after it"
    );
    assert_eq!(
        consume("main", hashes[3], 22).await,
        CodeUse::Spent,
        "used once only"
    );
    assert_eq!(
        consume("other", hashes[4], 22).await,
        CodeUse::Unknown,
        "another realm's"
    );
    assert_eq!(
        consume("main", [99; 32], 22).await,
        CodeUse::Unknown,
        "unknown"
    );
    assert_eq!(store.recovery_codes_left("main", "bob").await.unwrap(), 9);

    // 50 parallel uses of one code: exactly one succeeds, the count drops by one
    // (SECURITY-TESTS 3).
    let hash = hashes[5];
    let wins = race(50, || {
        let store = store.clone();
        async move {
            matches!(
                store
                    .consume_recovery_code("main", "bob", &hash, 23)
                    .await
                    .unwrap(),
                CodeUse::Consumed(_)
            )
        }
    })
    .await;
    assert_eq!(wins, 1, "one recovery code used {wins} times");
    assert_eq!(store.recovery_codes_left("main", "bob").await.unwrap(), 8);

    let fresh: Vec<[u8; 32]> = (100..110u8).map(|i| [i; 32]).collect();
    store
        .replace_recovery_codes("main", "bob", &fresh, 30)
        .await
        .unwrap();
    assert_eq!(store.recovery_codes_left("main", "bob").await.unwrap(), 10);
    assert_eq!(
        consume("main", hashes[0], 31).await,
        CodeUse::Unknown,
        "old set still valid"
    );
    assert_eq!(consume("main", fresh[0], 31).await, CodeUse::Consumed(9));

    // An authenticator and its first codes go in together.
    let dave = sample_factor("main", "dave");
    store.enroll_factor(&dave, &fresh, 40).await.unwrap();
    assert_eq!(
        store.factor("main", "dave", "totp").await.unwrap(),
        Some(dave.clone())
    );
    assert_eq!(store.recovery_codes_left("main", "dave").await.unwrap(), 10);
    assert!(store.recovery_codes_unseen("main", "dave").await.unwrap());

    // A new set is unseen until shown; one with no unused code left is nothing to tell.
    assert!(store.recovery_codes_unseen("main", "bob").await.unwrap());
    assert!(!store.recovery_codes_unseen("other", "bob").await.unwrap());
    store.recovery_codes_shown("main", "bob").await.unwrap();
    assert!(!store.recovery_codes_unseen("main", "bob").await.unwrap());
    store
        .replace_recovery_codes("main", "carol", &[[7; 32]], 32)
        .await
        .unwrap();
    assert!(store.recovery_codes_unseen("main", "carol").await.unwrap());
    assert_eq!(
        consume_for(store, "carol", [7; 32], 33).await,
        CodeUse::Consumed(0)
    );
    assert!(!store.recovery_codes_unseen("main", "carol").await.unwrap());

    // Invitations: live until they expire, a new one replaces the old, used exactly once.
    let invite = super::Invite {
        realm: "main".into(),
        user: "dave".into(),
        created_at: 100,
        expires_at: 200,
        created_by: "ops".into(),
    };
    store.put_invite(&invite, &[1; 32]).await.unwrap();
    assert_eq!(
        store.invite("main", "dave", 150).await.unwrap(),
        Some(invite.clone())
    );
    assert_eq!(
        store.invite("main", "dave", 200).await.unwrap(),
        None,
        "expired"
    );
    assert_eq!(store.invite("other", "dave", 150).await.unwrap(), None);
    assert!(!store
        .take_invite("main", "dave", &[1; 32], 200)
        .await
        .unwrap());
    let renewed = super::Invite {
        expires_at: 500,
        ..invite
    };
    store.put_invite(&renewed, &[2; 32]).await.unwrap();
    assert!(
        !store
            .take_invite("main", "dave", &[1; 32], 150)
            .await
            .unwrap(),
        "replaced"
    );
    let wins = race(20, || {
        let store = store.clone();
        async move {
            store
                .take_invite("main", "dave", &[2; 32], 160)
                .await
                .unwrap()
        }
    })
    .await;
    assert_eq!(wins, 1);
    assert_eq!(store.invite("main", "dave", 160).await.unwrap(), None);

    // Devices: on record until they expire or are removed; a use moves them forward.
    let device = |id: &str, used: i64| super::Device {
        realm: "main".into(),
        user: "erin".into(),
        id: id.into(),
        created_at: 100,
        last_used_at: used,
        expires_at: 1000,
        user_agent: "Firefox".into(),
        client: "192.0.2.1".into(),
    };
    store.put_device(&device("d1", 100)).await.unwrap();
    store.put_device(&device("d2", 200)).await.unwrap();
    let ids = |list: Vec<super::Device>| list.into_iter().map(|d| d.id).collect::<Vec<_>>();
    assert_eq!(
        ids(store.devices("main", "erin", 300).await.unwrap()),
        ["d2", "d1"]
    );
    assert!(store
        .devices("main", "frank", 300)
        .await
        .unwrap()
        .is_empty());
    assert!(store
        .use_device("main", "erin", "d1", 400, 2000)
        .await
        .unwrap());
    let listed = store.devices("main", "erin", 1500).await.unwrap();
    assert_eq!(
        ids(listed.clone()),
        ["d1"],
        "d2 expired at 1000, d1 was moved on"
    );
    assert_eq!((listed[0].last_used_at, listed[0].expires_at), (400, 2000));
    assert!(
        !store
            .use_device("main", "erin", "d2", 1500, 3000)
            .await
            .unwrap(),
        "expired"
    );
    assert!(
        !store
            .use_device("main", "bob", "d1", 500, 3000)
            .await
            .unwrap(),
        "another user's"
    );
    assert_eq!(
        store
            .remove_devices("main", "erin", Some("d1"))
            .await
            .unwrap(),
        1
    );
    assert!(
        !store
            .use_device("main", "erin", "d1", 500, 3000)
            .await
            .unwrap(),
        "revoked"
    );
    store.put_device(&device("d3", 100)).await.unwrap();
    assert_eq!(store.remove_devices("main", "erin", None).await.unwrap(), 2);

    // A realm's first-login window opens once: later calls get the first time.
    assert_eq!(store.enrollment_opened("main").await.unwrap(), None);
    assert_eq!(store.open_enrollment("main", 100).await.unwrap(), 100);
    assert_eq!(store.open_enrollment("main", 900).await.unwrap(), 100);
    assert_eq!(store.enrollment_opened("main").await.unwrap(), Some(100));
    assert_eq!(store.enrollment_opened("other").await.unwrap(), None);
    // Users seen without a factor: first and last time, per realm, by name.
    store.note_unenrolled("main", "zoe", 10).await.unwrap();
    store.note_unenrolled("main", "yan", 20).await.unwrap();
    store.note_unenrolled("main", "zoe", 30).await.unwrap();
    store.note_unenrolled("other", "xavier", 40).await.unwrap();
    let seen = store.unenrolled("main").await.unwrap();
    assert_eq!(
        seen.iter()
            .map(|u| (u.user.as_str(), u.first_seen_at, u.last_seen_at))
            .collect::<Vec<_>>(),
        [("yan", 20, 20), ("zoe", 10, 30)]
    );
}

pub fn sample_challenge(id: &str, expires_at: i64) -> super::Challenge {
    super::Challenge {
        id: id.into(),
        realm: "main".into(),
        app: "django".into(),
        user: "alice".into(),
        created_at: 0,
        expires_at,
        failures: 0,
        revision: 0,
        stage: super::ChallengeStage::Verify,
        began: vec![super::FactorState {
            method: "sent_code".into(),
            data: vec![7; 16],
        }],
        withheld: Sealed {
            key_id: "k1".into(),
            nonce: vec![0; 24],
            ciphertext: vec![1; 64],
        },
    }
}

pub fn sample_session(n: u8, now: i64) -> super::Session {
    super::Session {
        id_hash: [n; 32],
        realm: "main".into(),
        app: "django".into(),
        user: format!("user{n}"),
        created_at: now,
        last_seen_at: now,
        mfa_at: now,
        idle_timeout_secs: 600,
        absolute_expires_at: now + 3600,
        user_agent: "Mozilla/5.0 (X11; Linux x86_64) Firefox/140.0".into(),
        client: "203.0.113.7".into(),
    }
}

pub async fn ephemeral_store_suite<S: super::EphemeralStore + Clone + 'static>(store: &S) {
    use super::{ChallengeStage, FailureOutcome};

    // Challenges expire.
    let c = sample_challenge("c-expiry", 100);
    store.put_challenge(&c).await.unwrap();
    assert_eq!(
        store.challenge("c-expiry", 99).await.unwrap(),
        Some(c.clone())
    );
    assert_eq!(store.challenge("c-expiry", 100).await.unwrap(), None);
    assert_eq!(store.take_challenge("c-expiry", 100).await.unwrap(), None);
    assert_eq!(store.challenge("never-issued", 0).await.unwrap(), None);

    // Failures count down, and the last allowed one kills the challenge.
    store
        .put_challenge(&sample_challenge("c-fail", 1000))
        .await
        .unwrap();
    for remaining in (1..5).rev() {
        assert_eq!(
            store.record_failure("c-fail", 5, 10).await.unwrap(),
            FailureOutcome::Remaining(remaining)
        );
    }
    assert_eq!(
        store.record_failure("c-fail", 5, 10).await.unwrap(),
        FailureOutcome::Dead
    );
    assert_eq!(store.challenge("c-fail", 10).await.unwrap(), None);
    assert_eq!(
        store.record_failure("c-fail", 5, 10).await.unwrap(),
        FailureOutcome::Missing
    );

    // Stage changes are compare-and-set on the revision.
    store
        .put_challenge(&sample_challenge("c-stage", 1000))
        .await
        .unwrap();
    let seen = store.challenge("c-stage", 1).await.unwrap().unwrap();
    // The acknowledge stage carries the sealed recovery codes, byte for byte.
    let acknowledge = ChallengeStage::AcknowledgeRecoveryCodes {
        codes: Sealed {
            key_id: "k7".into(),
            nonce: vec![7; 24],
            ciphertext: (0..=255).collect(),
        },
    };
    assert!(store
        .advance_challenge("c-stage", seen.revision, acknowledge.clone(), 1)
        .await
        .unwrap());
    assert!(
        !store
            .advance_challenge("c-stage", seen.revision, ChallengeStage::Verify, 1)
            .await
            .unwrap(),
        "stale revision"
    );
    let now_seen = store.challenge("c-stage", 1).await.unwrap().unwrap();
    assert_eq!(now_seen.stage, acknowledge);
    assert_eq!(now_seen.revision, seen.revision + 1);
    // Reading it again shows the same codes; taking the challenge takes them with it.
    assert_eq!(
        store.challenge("c-stage", 2).await.unwrap().unwrap().stage,
        acknowledge
    );
    let taken = store.take_challenge("c-stage", 2).await.unwrap().unwrap();
    assert_eq!(taken.stage, acknowledge);
    assert_eq!(store.challenge("c-stage", 2).await.unwrap(), None);

    // Consuming is single use under a race.
    store
        .put_challenge(&sample_challenge("c-race", 1000))
        .await
        .unwrap();
    let wins = race(50, || {
        let store = store.clone();
        async move { store.take_challenge("c-race", 5).await.unwrap().is_some() }
    })
    .await;
    assert_eq!(wins, 1, "one challenge released {wins} times");

    // Sessions: idle and absolute expiry, touching extends idle only.
    let s = sample_session(1, 0);
    store.put_session(&s).await.unwrap();
    let touched = store.touch_session(&s.id_hash, 500).await.unwrap();
    // Everything shown of a session (its browser and address) comes back as stored.
    assert_eq!(
        touched.map(|t| (t.user_agent, t.client)),
        Some((s.user_agent.clone(), s.client.clone()))
    );
    assert!(
        store
            .touch_session(&s.id_hash, 1000)
            .await
            .unwrap()
            .is_some(),
        "touch at 500 extended idle"
    );
    assert!(
        store
            .touch_session(&s.id_hash, 1700)
            .await
            .unwrap()
            .is_none(),
        "idle for 700 s"
    );
    let s = sample_session(2, 0);
    store.put_session(&s).await.unwrap();
    for t in (300..3600).step_by(300) {
        assert!(
            store.touch_session(&s.id_hash, t).await.unwrap().is_some(),
            "at {t}"
        );
    }
    assert!(
        store
            .touch_session(&s.id_hash, 3600)
            .await
            .unwrap()
            .is_none(),
        "absolute expiry"
    );

    // Credentials follow their session and die with it.
    let a = sample_session(3, 0);
    let b = sample_session(4, 0);
    store.put_session(&a).await.unwrap();
    store.put_session(&b).await.unwrap();
    store
        .bind_credential(&[30; 32], &a.id_hash, 10)
        .await
        .unwrap();
    store
        .bind_credential(&[31; 32], &a.id_hash, 10)
        .await
        .unwrap();
    store
        .bind_credential(&[0xB0; 32], &b.id_hash, 10)
        .await
        .unwrap();
    assert_eq!(
        store
            .session_for_credential(&[30; 32], 10)
            .await
            .unwrap()
            .map(|s| s.user),
        Some("user3".into())
    );
    assert_eq!(
        store.session_for_credential(&[99; 32], 10).await.unwrap(),
        None
    );
    // A burned credential stays burned until its end (a later burn puts it off, an earlier one
    // does not bring it forward).
    let far = 4_000_000_000;
    assert!(!store.credential_burned(&[0xB0; 32], 10).await.unwrap());
    store.burn_credential(&[0xB0; 32], far).await.unwrap();
    store.burn_credential(&[0xB0; 32], 20).await.unwrap();
    assert!(store.credential_burned(&[0xB0; 32], 10).await.unwrap());
    assert!(store.credential_burned(&[0xB0; 32], far - 1).await.unwrap());
    assert!(!store.credential_burned(&[0xB0; 32], far).await.unwrap());
    assert!(!store.credential_burned(&[0xB1; 32], 10).await.unwrap());
    // A replaced credential keeps opening its session until its time, then no more; retiring
    // it for another session changes nothing.
    store
        .bind_credential(&[32; 32], &a.id_hash, 10)
        .await
        .unwrap();
    store
        .retire_credential(&[31; 32], &b.id_hash, 10, 10)
        .await
        .unwrap();
    store
        .retire_credential(&[32; 32], &a.id_hash, 11, 10)
        .await
        .unwrap();
    // A later time does not put it off.
    store
        .retire_credential(&[32; 32], &a.id_hash, 500, 10)
        .await
        .unwrap();
    assert!(store
        .session_for_credential(&[32; 32], 10)
        .await
        .unwrap()
        .is_some());
    // (Redis counts the time itself.)
    tokio::time::sleep(std::time::Duration::from_millis(1100)).await;
    assert_eq!(
        store.session_for_credential(&[32; 32], 11).await.unwrap(),
        None,
        "retired"
    );
    assert!(
        store
            .session_for_credential(&[31; 32], 11)
            .await
            .unwrap()
            .is_some(),
        "retiring it for another session changed nothing"
    );
    assert!(store.end_session(&a.id_hash).await.unwrap());
    assert!(!store.end_session(&a.id_hash).await.unwrap());
    assert_eq!(
        store.session_for_credential(&[30; 32], 11).await.unwrap(),
        None
    );

    // Ending a user's sessions ends exactly theirs.
    let mut c1 = sample_session(5, 0);
    c1.user = "carol".into();
    let mut c2 = sample_session(6, 0);
    c2.user = "carol".into();
    store.put_session(&c1).await.unwrap();
    store.put_session(&c2).await.unwrap();
    store
        .bind_credential(&[50; 32], &c2.id_hash, 10)
        .await
        .unwrap();
    let mut c3 = sample_session(7, 0);
    c3.user = "carol".into();
    store.put_session(&c3).await.unwrap();
    assert_eq!(
        store
            .end_user_sessions("main", "carol", Some(&c3.id_hash))
            .await
            .unwrap(),
        2
    );
    assert!(
        store
            .touch_session(&c3.id_hash, 12)
            .await
            .unwrap()
            .is_some(),
        "the session that made the change stays"
    );
    assert!(store
        .touch_session(&c1.id_hash, 12)
        .await
        .unwrap()
        .is_none());
    assert_eq!(
        store.session_for_credential(&[50; 32], 12).await.unwrap(),
        None
    );
    assert!(
        store.touch_session(&b.id_hash, 12).await.unwrap().is_some(),
        "another user's session survived"
    );

    regulation_suite(store).await;
}

/// Failure counting, locks and session listing (the regulation and admin primitives).
pub async fn regulation_suite<S: super::EphemeralStore + Clone + 'static>(store: &S) {
    use super::{Counted, FailureLimit};
    let limit = FailureLimit {
        failures: 3,
        within_secs: 600,
        lock_secs: 900,
        max_lock_secs: 900,
        max_failures: 0,
    };
    let subject = format!("u:4:main:mallory-{:x}", rand::random::<u32>());
    let other = format!("ip:192.0.2.{}", rand::random::<u8>());

    // A window that passes forgets its failures.
    assert_eq!(
        store.count_failure(&subject, limit, 1000).await.unwrap(),
        Counted::Under(1)
    );
    assert_eq!(
        store.count_failure(&subject, limit, 1100).await.unwrap(),
        Counted::Under(2)
    );
    assert_eq!(
        store.count_failure(&subject, limit, 1600).await.unwrap(),
        Counted::Under(1)
    );
    // The limit locks, for exactly lock_secs; nothing is counted while locked.
    assert_eq!(
        store.count_failure(&subject, limit, 1610).await.unwrap(),
        Counted::Under(2)
    );
    assert_eq!(
        store.count_failure(&subject, limit, 1620).await.unwrap(),
        Counted::LockedNow(2520)
    );
    assert_eq!(
        store.count_failure(&subject, limit, 1700).await.unwrap(),
        Counted::Locked(2520)
    );
    let both = [subject.clone(), other.clone()];
    let seen = store.inspect(&both, Some(&subject), 2519).await.unwrap();
    assert_eq!(seen.lock_ends, vec![Some(2520), None]);
    assert!(
        seen.counting,
        "a lock is remembered (the next one is longer) until a correct answer"
    );
    assert_eq!(seen.latest(0..2), Some(2520));
    let after = store.inspect(&both, None, 2520).await.unwrap();
    assert_eq!(after.latest(0..2), None, "the lock ended");
    assert!(store
        .inspect(&[], None, 2000)
        .await
        .unwrap()
        .lock_ends
        .is_empty());
    assert!(store
        .locks(2000)
        .await
        .unwrap()
        .contains(&(subject.clone(), 2520)));
    // After the lock a new window starts from nothing.
    assert_eq!(
        store.count_failure(&subject, limit, 2520).await.unwrap(),
        Counted::Under(1)
    );

    // A correct code forgets failures but not a lock.
    assert_eq!(
        store.count_failure(&other, limit, 10).await.unwrap(),
        Counted::Under(1)
    );
    assert!(store.inspect(&[], Some(&other), 10).await.unwrap().counting);
    assert!(
        !store
            .inspect(&[], Some(&other), 700)
            .await
            .unwrap()
            .counting,
        "window over"
    );
    store.clear_failures(&other).await.unwrap();
    assert!(!store.inspect(&[], Some(&other), 10).await.unwrap().counting);
    assert_eq!(
        store.count_failure(&other, limit, 11).await.unwrap(),
        Counted::Under(1)
    );

    // An admin lock and unlock; unlocking also forgets the failures.
    assert!(!store.set_lock(&other, Some(5000), 20).await.unwrap());
    let one = std::slice::from_ref(&other);
    assert_eq!(
        store.inspect(one, None, 4999).await.unwrap().latest(0..1),
        Some(5000)
    );
    assert!(store.set_lock(&other, None, 30).await.unwrap());
    assert_eq!(
        store.inspect(one, None, 30).await.unwrap().latest(0..1),
        None
    );
    assert!(!store
        .locks(30)
        .await
        .unwrap()
        .iter()
        .any(|(s, _)| *s == other));
    assert_eq!(
        store.count_failure(&other, limit, 31).await.unwrap(),
        Counted::Under(1)
    );

    // Locks grow: each twice the last, up to the longest; after the failures in all, each
    // failure locks for the longest. A correct answer forgets it all.
    let growing = FailureLimit {
        failures: 2,
        within_secs: 600,
        lock_secs: 100,
        max_lock_secs: 350,
        max_failures: 11,
    };
    let grower = format!("u:4:main:grow-{:x}", rand::random::<u32>());
    let mut now = 10_000;
    let mut locks = Vec::new();
    for _ in 0..5 {
        assert_eq!(
            store.count_failure(&grower, growing, now).await.unwrap(),
            Counted::Under(1)
        );
        let Counted::LockedNow(until) = store.count_failure(&grower, growing, now).await.unwrap()
        else {
            panic!("the second failure locks");
        };
        locks.push(until - now);
        now = until;
    }
    assert_eq!(locks, [100, 200, 350, 350, 350]);
    // Eleven failures in all: from the eleventh on, one is enough to lock for the longest.
    assert_eq!(
        store.count_failure(&grower, growing, now).await.unwrap(),
        Counted::LockedNow(now + 350)
    );
    assert!(
        store
            .inspect(&[], Some(&grower), now + 350)
            .await
            .unwrap()
            .counting
    );
    store.clear_failures(&grower).await.unwrap();
    now += 350;
    assert_eq!(
        store.count_failure(&grower, growing, now).await.unwrap(),
        Counted::Under(1)
    );
    assert_eq!(
        store.count_failure(&grower, growing, now).await.unwrap(),
        Counted::LockedNow(now + 100),
        "forgotten: the first lock again"
    );
    // A quiet week of the longest lock after a lock forgets it too.
    let quiet = now + 100 + growing.forget_secs();
    assert_eq!(
        store.count_failure(&grower, growing, quiet).await.unwrap(),
        Counted::Under(1)
    );
    assert_eq!(
        store.count_failure(&grower, growing, quiet).await.unwrap(),
        Counted::LockedNow(quiet + 100)
    );

    // A failure taken back: the next one is the limit's again.
    let back = format!("u:4:main:back-{:x}", rand::random::<u32>());
    assert_eq!(
        store.count_failure(&back, limit, 30_000).await.unwrap(),
        Counted::Under(1)
    );
    assert_eq!(
        store.count_failure(&back, limit, 30_001).await.unwrap(),
        Counted::Under(2)
    );
    store.uncount_failure(&back, 30_002).await.unwrap();
    assert_eq!(
        store.count_failure(&back, limit, 30_003).await.unwrap(),
        Counted::Under(2)
    );
    store
        .uncount_failure("u:4:main:never", 30_003)
        .await
        .unwrap();

    // Taking the failures in all: once, and they are gone.
    let taken = format!("wn:4:main:take-{:x}", rand::random::<u32>());
    let unlimited = FailureLimit {
        failures: u32::MAX,
        within_secs: 30 * 86_400,
        ..limit
    };
    for t in 0..7 {
        store
            .count_failure(&taken, unlimited, 20_000 + t)
            .await
            .unwrap();
    }
    assert_eq!(store.take_failures(&taken, 20_010).await.unwrap(), 7);
    assert_eq!(store.take_failures(&taken, 20_010).await.unwrap(), 0);
    assert_eq!(store.take_failures("wn:never", 20_010).await.unwrap(), 0);

    // Several gateways counting at once: exactly one failure locks.
    let racing = format!("u:4:main:race-{:x}", rand::random::<u32>());
    let locked_now = race(20, || {
        let (store, racing) = (store.clone(), racing.clone());
        async move {
            matches!(
                store.count_failure(&racing, limit, 50).await.unwrap(),
                Counted::LockedNow(_)
            )
        }
    })
    .await;
    assert_eq!(locked_now, 1);

    // The census counts pending challenges, live sessions and locked users.
    let before = store.census(60).await.unwrap();
    store
        .put_challenge(&sample_challenge("c-census", 1000))
        .await
        .unwrap();
    let mut counted = sample_session(202, 50);
    counted.user = format!("census-{:x}", rand::random::<u32>());
    store.put_session(&counted).await.unwrap();
    let locked = format!("u:4:main:census-{:x}", rand::random::<u32>());
    store.set_lock(&locked, Some(5000), 60).await.unwrap();
    store
        .set_lock("c:192.0.2.99", Some(5000), 60)
        .await
        .unwrap();
    let after = store.census(60).await.unwrap();
    assert_eq!(after.challenges, before.challenges + 1);
    assert_eq!(after.sessions, before.sessions + 1);
    assert_eq!(
        after.locked_users,
        before.locked_users + 1,
        "client locks are not users"
    );
    store.take_challenge("c-census", 60).await.unwrap();
    store.end_session(&counted.id_hash).await.unwrap();
    let done = store.census(60).await.unwrap();
    assert_eq!(
        (done.challenges, done.sessions),
        (before.challenges, before.sessions)
    );

    // Sessions are listed, all or one user's, live only.
    let mut a = sample_session(200, 0);
    a.user = format!("lister-{:x}", rand::random::<u32>());
    let mut b = sample_session(201, 0);
    b.user = a.user.clone();
    b.absolute_expires_at = 100;
    store.put_session(&a).await.unwrap();
    store.put_session(&b).await.unwrap();
    let mine = store.sessions(Some(("main", &a.user)), 50).await.unwrap();
    assert_eq!(mine.len(), 2);
    let mine = store.sessions(Some(("main", &a.user)), 150).await.unwrap();
    assert_eq!(
        mine.iter().map(|s| s.id_hash).collect::<Vec<_>>(),
        vec![a.id_hash]
    );
    let all = store.sessions(None, 150).await.unwrap();
    assert!(all.iter().any(|s| s.id_hash == a.id_hash));
    assert!(!all.iter().any(|s| s.id_hash == b.id_hash));
    store.end_session(&a.id_hash).await.unwrap();
    assert!(store
        .sessions(None, 150)
        .await
        .unwrap()
        .iter()
        .all(|s| s.id_hash != a.id_hash));
}
