//! The factor layer from outside: authenticators stored before factors shared one table
//! survive the migration (SQLite and PostgreSQL), and a factor the gateway does not ship is
//! used by the login flow once it is registered, with no change to the flow.

use mfa_gateway::factors::service::{
    secret_context, totp_context, Accepted, Answer, Began, Env, Factor, Factors, Method,
    MethodInfo, Pending, Prompt, Subject, Tuning, Verdict,
};
use mfa_gateway::factors::totp::{code_at, TotpParams, TotpSecret};
use mfa_gateway::keys::KeyRing;
use mfa_gateway::store::{
    AnyDurable, DurableStore, FactorRecord, FactorState, PostgresStore, SqliteStore,
};
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};

const T0: i64 = 1_700_000_000;

fn temp_dir(label: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!(
        "mfa-{label}-{}-{}",
        std::process::id(),
        rand::random::<u64>()
    ));
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

/// The schema as it was before the factor table: the first seven migrations of `kind`, copied
/// as they are (their checksums must match the ones the gateway embeds).
fn migrations_up_to_0007(kind: &str) -> PathBuf {
    let from = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("migrations")
        .join(kind);
    let to = temp_dir(&format!("migrations-{kind}"));
    for entry in std::fs::read_dir(&from).unwrap() {
        let path = entry.unwrap().path();
        let name = path.file_name().unwrap().to_str().unwrap().to_string();
        let version: u32 = name[..4].parse().unwrap();
        if version <= 7 {
            std::fs::copy(&path, to.join(&name)).unwrap();
        }
    }
    to
}

/// An authenticator as a gateway at migration 0007 stored it: its secret sealed for
/// (realm, user, id), a step already used.
struct OldRow {
    secret: TotpSecret,
    id: String,
    sealed: mfa_gateway::keys::Sealed,
    last_step: i64,
}

fn old_row(keys: &KeyRing) -> OldRow {
    let secret = TotpSecret::generate();
    let id = "totp-0123456789abcdef0123456789abcdef".to_string();
    let sealed = keys
        .seal(secret.as_bytes(), &totp_context("main", "alice", &id))
        .unwrap();
    OldRow {
        secret,
        id,
        sealed,
        last_step: T0 / 30,
    }
}

const OLD_INSERT: &str = "INSERT INTO totp_factors
    (realm, user_name, id, key_id, nonce, ciphertext, created_at, last_used_at, last_step)
    VALUES ('main', 'alice', $1, $2, $3, $4, $5, $6, $7)";

/// What the gateway reads after the migration: the same factor, and codes from its secret.
async fn the_factor_survived(store: AnyDurable, keys: &KeyRing, old: &OldRow) {
    let record = store
        .factor("main", "alice", "totp")
        .await
        .unwrap()
        .expect("the authenticator moved to the factor table");
    assert_eq!(record.id, old.id);
    assert_eq!(record.secret, old.sealed);
    assert_eq!(record.counter, Some(old.last_step as u64));
    assert_eq!(
        (record.created_at, record.last_used_at, record.version),
        (T0 - 86_400, Some(T0), 1)
    );
    assert_eq!(store.all_factors().await.unwrap(), vec![record.clone()]);
    // The context of a moved secret is the one it was sealed under.
    assert!(keys.open(&record.secret, &secret_context(&record)).is_ok());

    let env = Env {
        store: &store,
        keys,
        tuning: Tuning::default(),
    };
    let factors = Factors::standard();
    let who = |now| Subject {
        realm: "main",
        user: "alice",
        now,
    };
    assert!(factors.enrolled(&env, &who(T0)).await.unwrap().any());
    // The step used before the migration stays used: its replay marker moved too.
    let used = code_at(&old.secret, TotpParams::default(), T0 as u64).unwrap();
    assert_eq!(
        factors
            .verify(&env, &who(T0), &[], &used, None)
            .await
            .unwrap(),
        Verdict::Spent(Method::TOTP)
    );
    let later = T0 + 60;
    let next = code_at(&old.secret, TotpParams::default(), later as u64).unwrap();
    assert_eq!(
        factors
            .verify(&env, &who(later), &[], &next, None)
            .await
            .unwrap(),
        Verdict::Accepted(Accepted {
            method: Method::TOTP,
            recovery_codes_left: None
        })
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sqlite_authenticators_move_into_the_factor_table() {
    let dir = temp_dir("upgrade-sqlite");
    let path = dir.join("gateway.db");
    let keys = KeyRing::generate();
    let old = old_row(&keys);
    {
        let options = sqlx::sqlite::SqliteConnectOptions::new()
            .filename(&path)
            .create_if_missing(true);
        let pool = sqlx::sqlite::SqlitePoolOptions::new()
            .max_connections(1)
            .connect_with(options)
            .await
            .unwrap();
        let migrations = migrations_up_to_0007("sqlite");
        sqlx::migrate::Migrator::new(migrations.as_path())
            .await
            .unwrap()
            .run(&pool)
            .await
            .unwrap();
        sqlx::query(OLD_INSERT)
            .bind(&old.id)
            .bind(&old.sealed.key_id)
            .bind(&old.sealed.nonce)
            .bind(&old.sealed.ciphertext)
            .bind(T0 - 86_400)
            .bind(T0)
            .bind(old.last_step)
            .execute(&pool)
            .await
            .unwrap();
        pool.close().await;
    }
    let store = SqliteStore::open(&path).await.unwrap();
    the_factor_survived(AnyDurable::sqlite(store), &keys, &old).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn postgres_authenticators_move_into_the_factor_table() {
    let base = std::env::var("MFA_TEST_DATABASE_URL")
        .unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432/test".into());
    let schema = format!("t{:016x}", rand::random::<u64>());
    let admin = sqlx::postgres::PgPoolOptions::new()
        .max_connections(1)
        .connect(&base)
        .await
        .expect("PostgreSQL must run for these tests");
    sqlx::query(&format!("CREATE SCHEMA {schema}"))
        .execute(&admin)
        .await
        .unwrap();
    let separator = if base.contains('?') { '&' } else { '?' };
    let url = format!("{base}{separator}options=-c%20search_path%3D{schema}");
    let keys = KeyRing::generate();
    let old = old_row(&keys);
    {
        let pool = sqlx::postgres::PgPoolOptions::new()
            .max_connections(1)
            .connect(&url)
            .await
            .unwrap();
        let migrations = migrations_up_to_0007("postgres");
        sqlx::migrate::Migrator::new(migrations.as_path())
            .await
            .unwrap()
            .run(&pool)
            .await
            .unwrap();
        sqlx::query(OLD_INSERT)
            .bind(&old.id)
            .bind(&old.sealed.key_id)
            .bind(&old.sealed.nonce)
            .bind(&old.sealed.ciphertext)
            .bind(T0 - 86_400)
            .bind(T0)
            .bind(old.last_step)
            .execute(&pool)
            .await
            .unwrap();
        pool.close().await;
    }
    let store = PostgresStore::open(&url, 2).await.unwrap();
    the_factor_survived(AnyDurable::postgres(store), &keys, &old).await;
}

/// A factor the gateway does not ship: an eight-digit code it sends (here into a list) when a
/// login begins, kept as a keyed hash in the challenge until the user types it.
struct SentCode {
    outbox: Arc<Mutex<Vec<(String, String)>>>,
}

const SENT_CODE: Method = Method::new("sent_code");

impl SentCode {
    fn hash(keys: &KeyRing, user: &str, code: &str) -> Vec<u8> {
        keys.sign(b"sent-code-test", format!("{user}\0{code}").as_bytes())
            .to_vec()
    }

    /// Enrolls `user`: the address codes go to, sealed in a generic factor record.
    async fn enroll(store: &AnyDurable, keys: &KeyRing, user: &str, to: &str) {
        let mut record = FactorRecord {
            id: format!("sent-{}", rand::random::<u64>()),
            realm: "main".into(),
            user: user.into(),
            method: SENT_CODE.as_str().into(),
            secret: keys.seal(b"", b"").unwrap(),
            counter: None,
            created_at: T0 - 10,
            last_used_at: None,
            version: 1,
        };
        record.secret = keys.seal(to.as_bytes(), &secret_context(&record)).unwrap();
        store.put_factor(&record).await.unwrap();
    }
}

impl Factor for SentCode {
    fn method(&self) -> Method {
        SENT_CODE
    }

    fn starts_answers(&self) -> bool {
        true
    }

    fn plausible(&self, _env: &Env<'_>, code: &str) -> bool {
        code.len() == 8 && code.bytes().all(|b| b.is_ascii_digit())
    }

    fn describe<'a>(
        &'a self,
        env: &'a Env<'a>,
        who: &'a Subject<'a>,
    ) -> Pending<'a, Option<MethodInfo>> {
        Box::pin(async move {
            let record = env.store.factor(who.realm, who.user, "sent_code").await?;
            Ok(record.map(|r| MethodInfo {
                method: SENT_CODE,
                is_active: true,
                is_primary: false,
                created_at: Some(r.created_at),
                last_used_at: r.last_used_at,
                remaining: None,
            }))
        })
    }

    fn begin<'a>(&'a self, env: &'a Env<'a>, who: &'a Subject<'a>) -> Pending<'a, Began> {
        Box::pin(async move {
            let record = env
                .store
                .factor(who.realm, who.user, "sent_code")
                .await?
                .expect("begun only for a user who has it");
            let to = env.keys.open(&record.secret, &secret_context(&record))?;
            let to = String::from_utf8(to.to_vec()).unwrap();
            let code = format!("{:08}", rand::random::<u32>() % 100_000_000);
            let state = FactorState {
                method: SENT_CODE.as_str().into(),
                data: Self::hash(env.keys, who.user, &code),
            };
            self.outbox.lock().unwrap().push((to.clone(), code));
            Ok(Began {
                prompt: Prompt::Sent { to },
                state: Some(state),
            })
        })
    }

    fn finish<'a>(
        &'a self,
        env: &'a Env<'a>,
        who: &'a Subject<'a>,
        state: Option<&'a FactorState>,
        answer: Answer<'a>,
    ) -> Pending<'a, Verdict> {
        Box::pin(async move {
            let (Some(state), Answer::Code(code)) = (state, answer) else {
                return Ok(Verdict::Wrong);
            };
            let typed = Self::hash(env.keys, who.user, code.trim());
            Ok(if typed == state.data {
                Verdict::Accepted(Accepted {
                    method: SENT_CODE,
                    recovery_codes_left: None,
                })
            } else {
                Verdict::Wrong
            })
        })
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_registered_third_factor_passes_a_login_without_a_change_to_the_flow() {
    use mfa_gateway::mfa::flow::{self, Begun, CodeOutcome, Context, Step};
    let dir = temp_dir("third-factor");
    let yaml = format!(
        "listeners:\n  - address: \"127.0.0.1:1\"\ndata_dir: \"{}\"\napps:\n  - name: a\n    hosts: [\"*\"]\n    upstream:\n      url: \"http://127.0.0.1:2\"\n    mfa:\n      realm: main\n      policy: required\n      login:\n        - path: /login\n          success:\n            set_cookie: sid\n      session_cookies: [sid]\n      identity:\n        typed_name: true\n",
        dir.display()
    );
    let config = mfa_gateway::config::load_str(&yaml, Path::new("t.yaml"), |_| None).unwrap();
    let mut mfa = mfa_gateway::mfa::Mfa::open(&config).await.unwrap();
    let outbox = Arc::new(Mutex::new(Vec::new()));
    mfa.factors = Factors::standard().with(Box::new(SentCode {
        outbox: outbox.clone(),
    }));
    SentCode::enroll(&mfa.durable, &mfa.keys(), "alice", "alice@example.org").await;

    let app = &config.apps[0];
    let ctx = Context {
        mfa: &mfa,
        keys: mfa.keys(),
        app,
        settings: app.mfa.as_ref().unwrap(),
        tls: false,
        now: T0,
        client: "192.0.2.1".parse().unwrap(),
        request_id: "test".into(),
        user_agent: "test".into(),
        accept_language: None,
        request_uri: "/login".parse().unwrap(),
        device_tokens: Vec::new(),
        familiar: Mutex::new(None),
    };
    // The registry answers for the API's `method` and for the shape of a typed code.
    assert_eq!(mfa.factors.named("sent_code"), Some(SENT_CODE));
    assert!(flow::plausible_code(&ctx, "12345678"));

    let answer = mfa_gateway::intercept::withheld::WithheldAnswer {
        status: http::StatusCode::FOUND,
        headers: http::HeaderMap::new(),
        body: bytes::Bytes::new(),
        bind: Vec::new(),
    };
    // A user whose only factor is the new one is enrolled: the login waits for a code, and
    // the factor sent one as it began.
    let Begun::Pending { challenge, .. } = flow::begin(&ctx, "alice".into(), answer, None)
        .await
        .unwrap()
    else {
        panic!("the login is not held for the second factor");
    };
    assert_eq!(Step::of(&challenge), Step::Verify);
    let sent = outbox.lock().unwrap().clone();
    assert_eq!(sent.len(), 1);
    let (to, code) = sent[0].clone();
    assert_eq!(to, "alice@example.org");
    assert_eq!(challenge.began.len(), 1);

    let wrong = if code == "00000000" {
        "00000001"
    } else {
        "00000000"
    };
    assert!(matches!(
        flow::verify(&ctx, &challenge, wrong, None).await.unwrap(),
        CodeOutcome::Wrong { .. }
    ));
    match flow::verify(&ctx, &challenge, &code, None).await.unwrap() {
        CodeOutcome::Accepted(verified) => {
            assert_eq!(verified.response.status(), http::StatusCode::FOUND)
        }
        _ => panic!("the sent code was not accepted"),
    }
}
