//! Several gateways, one truth: three gateways share one Redis and one PostgreSQL (the real
//! servers on this machine) and the same key file, with config/examples/cookie-session.yaml
//! unchanged but for the variables that point it at them.

mod common;

use common::apps::{start_cookie_app, App};
use common::browser::{form_value, totp_now, Browser};
use common::flows::{enroll, login};
use common::{temp_dir, Gateway};

const EXAMPLE: &str = "config/examples/cookie-session.yaml";

/// A schema of its own in the test database and a Redis prefix of its own, so tests running
/// side by side share nothing.
async fn shared_state() -> Vec<(&'static str, String)> {
    let base = std::env::var("MFA_TEST_DATABASE_URL")
        .unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432/test".into());
    let redis =
        std::env::var("MFA_TEST_REDIS_URL").unwrap_or_else(|_| "redis://127.0.0.1:6379/".into());
    let schema = format!("e{:016x}", rand::random::<u64>());
    let pool = sqlx::PgPool::connect(&base)
        .await
        .expect("PostgreSQL must run (scripts/test starts it)");
    sqlx::query(&format!("CREATE SCHEMA {schema}"))
        .execute(&pool)
        .await
        .unwrap();
    vec![
        ("MFA_REDIS_URL", redis),
        ("MFA_REDIS_PREFIX", format!("{schema}:")),
        (
            "MFA_DATABASE_URL",
            format!("{base}?options=-c%20search_path%3D{schema}"),
        ),
    ]
}

/// Three gateways in front of `app`; the first makes the key file, the others get a copy (a
/// cluster shares one key file, like any other secret).
async fn three_gateways(app: &App) -> Vec<Gateway> {
    let env = shared_state().await;
    let first = Gateway::start_example_with(EXAMPLE, app.addr, temp_dir("shared-a"), &env);
    let keys = first.dir.join("data/keys.json");
    let mut gateways = vec![first];
    for label in ["shared-b", "shared-c"] {
        let dir = temp_dir(label);
        std::fs::create_dir_all(dir.join("data")).unwrap();
        std::fs::copy(&keys, dir.join("data/keys.json")).unwrap();
        gateways.push(Gateway::start_example_with(EXAMPLE, app.addr, dir, &env));
    }
    gateways
}

#[tokio::test]
async fn a_login_moves_freely_between_gateways() {
    let app = start_cookie_app().await;
    let gw = three_gateways(&app).await;
    let (a, b, c) = (gw[0].addr, gw[1].addr, gw[2].addr);

    // Password through A, enrollment through B, released through C.
    let mut browser = Browser::new(a);
    let answer = login(&mut browser, "alice", "secret").await;
    assert_eq!(answer.header("location"), Some("/.mfa/enroll"));
    browser.addr = b;
    let page = browser.get("/.mfa/enroll").await.text();
    let secret = common::browser::enrollment_secret(&page);
    let codes_page = browser
        .post_form(
            "/.mfa/enroll",
            &[
                ("csrf", &form_value(&page, "csrf")),
                ("code", &totp_now(&secret, 0)),
            ],
        )
        .await
        .text();
    browser.addr = c;
    let released = browser
        .post_form(
            "/.mfa/enroll/done",
            &[("csrf", &form_value(&codes_page, "csrf")), ("saved", "yes")],
        )
        .await;
    assert_eq!(released.status, 302);
    for addr in [a, b, c] {
        browser.addr = addr;
        assert_eq!(
            browser.get("/index.php").await.text(),
            "<h1>Hello alice</h1>"
        );
    }

    // Logout through B: the old cookies are refused through C at once.
    let saved = browser.cookies.clone();
    browser.addr = b;
    browser.get("/logout.php").await;
    let mut replay = Browser::new(c);
    replay.cookies = saved;
    assert_eq!(
        replay.get("/index.php").await.header("location"),
        Some("/login.php")
    );

    // The enrollment lives in PostgreSQL: a fresh login through C asks for a code.
    let mut again = Browser::new(c);
    assert_eq!(
        login(&mut again, "alice", "secret")
            .await
            .header("location"),
        Some("/.mfa/verify")
    );
}

#[tokio::test]
async fn codes_and_failures_count_once_across_gateways() {
    let app = start_cookie_app().await;
    let gw = three_gateways(&app).await;
    let addrs: Vec<_> = gw.iter().map(|g| g.addr).collect();
    let mut first = Browser::new(addrs[0]);
    let (_, codes) = enroll(&mut first, "bob", "hunter2").await;

    // A recovery code used through A is refused through C.
    for (addr, expected) in [(addrs[0], 302), (addrs[2], 401)] {
        let mut b = Browser::new(addr);
        login(&mut b, "bob", "hunter2").await;
        let csrf = form_value(&b.get("/.mfa/verify").await.text(), "csrf");
        let answer = b
            .post_form("/.mfa/verify", &[("csrf", &csrf), ("code", &codes[0])])
            .await;
        assert_eq!(answer.status, expected);
    }

    // Wrong codes sent through A, B, C, A, B add up on the one login: the fifth ends it.
    let mut attacker = Browser::new(addrs[0]);
    login(&mut attacker, "bob", "hunter2").await;
    let csrf = form_value(&attacker.get("/.mfa/verify").await.text(), "csrf");
    let mut last = None;
    for i in 0..5 {
        attacker.addr = addrs[i % 3];
        last = Some(
            attacker
                .post_form("/.mfa/verify", &[("csrf", &csrf), ("code", "000000")])
                .await,
        );
    }
    assert!(last.unwrap().text().contains("Too many wrong codes"));
}
