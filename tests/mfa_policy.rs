//! Policy per user (`optional` with overrides) and the cookie attacks that do not depend on it.

// Tests time the gateway from outside: the clock rule (clippy.toml) is for the gateway's code.
#![allow(clippy::disallowed_methods)]

mod common;

use common::apps::start_cookie_app;
use common::browser::Browser;
use common::Gateway;

fn config(upstream: std::net::SocketAddr) -> String {
    common::cookie_app_config(
        upstream,
        "",
        "      policy: optional\n      overrides:\n        - pattern: \"^car\"\n          policy: required",
    )
}

#[tokio::test]
async fn optional_policy_lets_unenrolled_users_in_and_overrides_require_mfa() {
    let app = start_cookie_app().await;
    let gw = Gateway::start(&config(app.addr));

    // alice has no factor and policy is optional: her login is released at once, and the
    // session it starts is bound (it keeps working through the gateway).
    let mut alice = Browser::new(gw.addr);
    let answer = alice
        .post_form("/login.php", &[("user", "alice"), ("pass", "secret")])
        .await;
    assert_eq!(answer.status, 302);
    assert_eq!(answer.header("location"), Some("/index.php"));
    assert!(alice.cookies.contains_key("PHPSESSID"));
    assert!(alice.cookies.contains_key("mfa_session"));
    assert_eq!(alice.get("/index.php").await.text(), "<h1>Hello alice</h1>");

    // carol matches the override: she must enroll.
    let mut carol = Browser::new(gw.addr);
    let answer = carol
        .post_form("/login.php", &[("user", "carol"), ("pass", "pw")])
        .await;
    assert_eq!(answer.status, 303);
    assert_eq!(answer.header("location"), Some("/.mfa/enroll"));
    assert!(!carol.cookies.contains_key("PHPSESSID"));
}

#[tokio::test]
async fn a_planted_gateway_session_cookie_is_worthless() {
    let app = start_cookie_app().await;
    let gw = Gateway::start(&config(app.addr));
    // Session fixation (SECURITY-TESTS 13): the attacker plants an id before the victim signs
    // in; the gateway issues a fresh one and the planted one unlocks nothing.
    let mut victim = Browser::new(gw.addr);
    victim
        .cookies
        .insert("mfa_session".into(), "attacker-chosen-id".into());
    victim
        .post_form("/login.php", &[("user", "alice"), ("pass", "secret")])
        .await;
    let issued = victim.cookies["mfa_session"].clone();
    assert_ne!(issued, "attacker-chosen-id");
    assert!(issued.len() >= 43, "256-bit id");

    let mut attacker = Browser::new(gw.addr);
    attacker
        .cookies
        .insert("mfa_session".into(), "attacker-chosen-id".into());
    let answer = attacker.get("/index.php").await;
    assert_eq!(answer.header("location"), Some("/login.php"));
}

#[tokio::test]
async fn a_pending_login_opens_nothing_but_its_own_pages() {
    let app = start_cookie_app().await;
    let gw = Gateway::start(&config(app.addr));
    let mut carol = Browser::new(gw.addr);
    carol
        .post_form("/login.php", &[("user", "carol"), ("pass", "pw")])
        .await;
    assert!(carol.cookies.contains_key("mfa_pending"));
    // SECURITY-TESTS 11: the pending state is no session for the app or the API.
    let before = app.state.visits().len();
    let page = carol.get("/index.php").await;
    assert_eq!(page.header("location"), Some("/login.php"));
    assert!(!app.state.everything_sent().contains("mfa_pending"));
    assert_eq!(app.state.visits().len(), before + 1);
    let verify = carol.get("/.mfa/verify").await;
    // carol has no factor yet: the verify page sends her to enrollment, nowhere else.
    assert_eq!(verify.header("location"), Some("/.mfa/enroll"));
}

/// The gateway session cookie a password login through `gw` gets when the request claims to
/// have come over TLS (`X-Forwarded-Proto: https`).
async fn session_cookie_claiming_tls(gw: &Gateway) -> String {
    let mut b = Browser::new(gw.addr);
    let answer = b
        .request(
            "POST",
            "/login.php",
            &[
                ("content-type", "application/x-www-form-urlencoded"),
                ("x-forwarded-proto", "https"),
            ],
            b"user=alice&pass=secret".to_vec(),
        )
        .await;
    answer
        .headers
        .get_all("set-cookie")
        .iter()
        .map(|v| v.to_str().unwrap().to_string())
        .find(|c| c.contains("mfa_session"))
        .unwrap()
}

#[tokio::test]
async fn behind_a_trusted_tls_proxy_the_cookies_are_secure() {
    let app = start_cookie_app().await;
    let trusted = config(app.addr).replace(
        "apps:\n",
        "gateway:\n  trusted_proxies: [\"127.0.0.1\"]\napps:\n",
    );
    let cookie = session_cookie_claiming_tls(&Gateway::start(&trusted)).await;
    assert!(
        cookie.starts_with("__Host-mfa_session=") && cookie.contains("; Secure"),
        "{cookie}"
    );
    // The same header from an untrusted client changes nothing.
    let cookie = session_cookie_claiming_tls(&Gateway::start(&config(app.addr))).await;
    assert!(
        cookie.starts_with("mfa_session=") && !cookie.contains("Secure"),
        "{cookie}"
    );
}

#[tokio::test]
async fn the_apps_logo_is_shown_and_served_inert() {
    let app = start_cookie_app().await;
    let dir = common::temp_dir("logo");
    let svg = "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"10\" height=\"10\"><script>alert(1)</script></svg>";
    common::write_file(&dir, "logo.svg", svg);
    let with_logo = config(app.addr).replace(
        "    hosts: [\"*\"]\n",
        &format!(
            "    hosts: [\"*\"]\n    logo_file: {}\n",
            dir.join("logo.svg").display()
        ),
    );
    let gw = Gateway::start_in(&with_logo, dir);
    let mut carol = Browser::new(gw.addr);
    carol
        .post_form("/login.php", &[("user", "carol"), ("pass", "pw")])
        .await;
    let page = carol.get("/.mfa/enroll").await.text();
    assert!(
        page.contains("<img class=\"logo\" src=\"/.mfa/assets/logo\""),
        "{page}"
    );
    let logo = carol.get("/.mfa/assets/logo").await;
    assert_eq!(logo.status, 200);
    assert_eq!(logo.header("content-type"), Some("image/svg+xml"));
    assert_eq!(logo.text(), svg);
    // Opened on its own, the SVG's script does not run.
    assert!(logo
        .header("content-security-policy")
        .unwrap()
        .contains("sandbox"));
}

#[tokio::test]
async fn only_login_bodies_are_read_and_they_are_bounded() {
    let app = start_cookie_app().await;
    let small = config(app.addr).replace("apps:\n", "limits:\n  max_body_bytes: 1024\napps:\n");
    let gw = Gateway::start(&small);
    let mut b = Browser::new(gw.addr);
    let big = format!("user=alice&pass=secret&pad={}", "x".repeat(4096));
    let answer = b
        .request(
            "POST",
            "/login.php",
            &[("content-type", "application/x-www-form-urlencoded")],
            big.clone().into_bytes(),
        )
        .await;
    // Larger than the limit, from a client without a session: refused unread (only signed-in
    // users upload or edit that much on a login path).
    assert_eq!(answer.status, 413, "{}", answer.text());
    assert!(!b.cookies.contains_key("PHPSESSID"));
    // Any other route streams the same body to the app without reading it.
    let other = b
        .request(
            "POST",
            "/index.php",
            &[("content-type", "application/x-www-form-urlencoded")],
            big.into_bytes(),
        )
        .await;
    assert_ne!(other.status, 413);
}

#[tokio::test]
async fn bypass_networks_are_not_checked() {
    let app = start_cookie_app().await;
    let trusted_net = config(app.addr).replace(
        "      session_cookies: [PHPSESSID]\n",
        "      session_cookies: [PHPSESSID]\n      bypass:\n        networks: [127.0.0.0/8]\n",
    );
    let gw = Gateway::start(&trusted_net);
    let foreign = common::apps::mint_session(&app.state, "alice");
    let mut b = Browser::new(gw.addr);
    b.cookies.insert("PHPSESSID".into(), foreign.clone());
    assert_eq!(b.get("/index.php").await.text(), "<h1>Hello alice</h1>");
    b.cookies.insert("mfa_session".into(), "x".into());
    b.get("/index.php").await;
    let visit = app.state.visits().pop().unwrap();
    assert_eq!(
        visit.cookie.as_deref(),
        Some(format!("PHPSESSID={foreign}").as_str()),
        "the gateway's own cookies are still removed"
    );
}

/// SECURITY-TESTS 15 end to end: idle and absolute expiry (short timeouts, real waiting; the
/// gateway counts whole seconds, so the margins are a second wide).
#[tokio::test]
async fn sessions_end_when_idle_and_at_their_absolute_limit() {
    let app = start_cookie_app().await;
    let short = config(app.addr).replace(
        "      session_cookies: [PHPSESSID]\n",
        "      session_cookies: [PHPSESSID]\n      idle_timeout: 2s\n      absolute_timeout: 4s\n",
    );
    let gw = Gateway::start(&short);
    let pause = |ms| tokio::time::sleep(std::time::Duration::from_millis(ms));

    // Idle: three seconds without a request end it.
    let mut idle = Browser::new(gw.addr);
    idle.post_form("/login.php", &[("user", "alice"), ("pass", "secret")])
        .await;
    assert_eq!(idle.get("/index.php").await.status, 200);
    pause(3100).await;
    assert_eq!(
        idle.get("/index.php").await.header("location"),
        Some("/login.php")
    );

    // Absolute: kept busy (never idle for a second), it still ends 3 to 4 s after the login.
    let mut busy = Browser::new(gw.addr);
    busy.post_form("/login.php", &[("user", "bob"), ("pass", "hunter2")])
        .await;
    let started = std::time::Instant::now();
    loop {
        let answer = busy.get("/index.php").await;
        let elapsed = started.elapsed();
        if answer.status != 200 {
            assert_eq!(answer.header("location"), Some("/login.php"));
            assert!(
                elapsed >= std::time::Duration::from_millis(2900),
                "ended early: {elapsed:?}"
            );
            break;
        }
        assert!(
            elapsed < std::time::Duration::from_millis(4500),
            "still alive after {elapsed:?}"
        );
        pause(300).await;
    }

    // Both ends are in the audit trail (the sweep records them within a second or so).
    let ended = || -> Vec<(String, String)> {
        common::audit_events(&gw)
            .iter()
            .filter(|e| e["event"] == "session_ended")
            .map(|e| {
                (
                    e["user"].as_str().unwrap().to_string(),
                    e["reason"].as_str().unwrap().to_string(),
                )
            })
            .collect()
    };
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
    while ended().len() < 2 && std::time::Instant::now() < deadline {
        pause(200).await;
    }
    let ended = ended();
    assert!(
        ended.contains(&("alice".into(), "idle timeout".into())),
        "{ended:?}"
    );
    assert!(
        ended.contains(&("bob".into(), "absolute timeout".into())),
        "{ended:?}"
    );
}
