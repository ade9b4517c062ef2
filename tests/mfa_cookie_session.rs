//! The second factor in front of a PHP-style cookie-session app, run with
//! `config/examples/cookie-session.yaml` unchanged: enrollment, verification, session binding,
//! logout, recovery codes, and the attacks of shared/SECURITY-TESTS.md that concern them.

mod common;

use common::apps::{mint_session, start_cookie_app, App};
use common::browser::{enrollment_secret, form_value, recovery_codes, totp_now, Browser};
use common::flows::{enroll, login, race_one_code};
use common::{set_cookies, temp_dir, Gateway};

const EXAMPLE: &str = "config/examples/cookie-session.yaml";

async fn setup() -> (App, Gateway) {
    let app = start_cookie_app().await;
    let gw = Gateway::start_example(EXAMPLE, app.addr, temp_dir("mfa-cookie"));
    (app, gw)
}

#[tokio::test]
async fn first_login_enrolls_and_only_then_reaches_the_app() {
    let (app, gw) = setup().await;
    let mut browser = Browser::new(gw.addr);

    // A wrong password passes through untouched: the app's own error page.
    let wrong = login(&mut browser, "alice", "nope").await;
    assert_eq!(wrong.status, 200);
    assert!(wrong.text().contains("Invalid user name or password"));
    assert!(set_cookies(&wrong).is_empty());

    // The right one: the app's answer is withheld, only the pending cookie comes back.
    let answer = login(&mut browser, "alice", "secret").await;
    assert_eq!(answer.status, 303);
    let cookies = set_cookies(&answer);
    assert_eq!(cookies.len(), 1, "{cookies:?}");
    assert!(cookies[0].starts_with("mfa_pending="));
    assert!(cookies[0].contains("HttpOnly") && cookies[0].contains("SameSite=Strict"));
    assert!(!answer.text().contains("PHPSESSID"));
    assert!(!browser.cookies.contains_key("PHPSESSID"));

    // Nothing of the app is reachable yet.
    let early = browser.get("/index.php").await;
    assert_eq!(early.header("location"), Some("/login.php"));

    let page = browser.get("/.mfa/enroll").await;
    let text = page.text();
    let secret = enrollment_secret(&text);
    let csrf = form_value(&text, "csrf");
    assert!(text.contains("autocomplete=\"one-time-code\""));
    assert!(page
        .header("content-security-policy")
        .unwrap()
        .contains("frame-ancestors 'none'"));
    assert_eq!(page.header("cache-control"), Some("no-store"));

    // A wrong code is counted and says how many attempts are left.
    let bad = browser
        .post_form("/.mfa/enroll", &[("csrf", &csrf), ("code", "000000")])
        .await;
    let shown = common::flows::after_wrong_code(&mut browser, &bad).await;
    assert!(shown.contains("4 attempts left"), "{shown}");
    // Opened with the same link but no failure behind it, the page shows no error.
    let mut fresh = Browser::new(gw.addr);
    login(&mut fresh, "bob", "hunter2").await;
    let clean = fresh.get("/.mfa/enroll?error=wrong").await.text();
    assert!(!clean.contains("attempts left"), "{clean}");
    // A form without the CSRF token is refused.
    let forged = browser
        .post_form("/.mfa/enroll", &[("code", &totp_now(&secret, 0))])
        .await;
    assert_eq!(forged.status, 403);

    let codes_page = browser
        .post_form(
            "/.mfa/enroll",
            &[("csrf", &csrf), ("code", &totp_now(&secret, 0))],
        )
        .await;
    assert_eq!(codes_page.status, 303, "{}", codes_page.text());
    let codes_page = browser.get("/.mfa/enroll").await;
    assert_eq!(codes_page.status, 200);
    assert_eq!(recovery_codes(&codes_page.text()).len(), 10);
    assert!(
        !browser.cookies.contains_key("PHPSESSID"),
        "released before the codes were acknowledged"
    );
    let csrf = form_value(&codes_page.text(), "csrf");
    let released = browser
        .post_form("/.mfa/enroll/done", &[("csrf", &csrf), ("saved", "yes")])
        .await;
    // Exactly the app's answer: its redirect and both its cookies, plus the gateway session.
    assert_eq!(released.status, 302);
    assert_eq!(released.header("location"), Some("/index.php"));
    let cookies = set_cookies(&released);
    assert!(cookies.iter().any(|c| c.starts_with("PHPSESSID=")));
    assert!(cookies.iter().any(|c| c == "lang=en; path=/"));
    assert!(cookies
        .iter()
        .any(|c| c.starts_with("mfa_session=") && c.contains("SameSite=Lax")));
    assert!(!browser.cookies.contains_key("mfa_pending"));

    let home = browser.get("/index.php").await;
    assert_eq!(home.status, 200);
    assert_eq!(home.text(), "<h1>Hello alice</h1>");
    // The gateway's own cookies never reach the app.
    assert!(!app.state.everything_sent().contains("mfa_"));
}

#[tokio::test]
async fn a_session_the_app_minted_elsewhere_never_reaches_it() {
    let (app, gw) = setup().await;
    // A session that exists without the gateway's knowledge (made before it was installed,
    // auto-login after a password reset, copied from elsewhere): SECURITY-TESTS 9.
    let foreign = mint_session(&app.state, "alice");
    let mut browser = Browser::new(gw.addr);
    browser.cookies.insert("PHPSESSID".into(), foreign.clone());
    browser.cookies.insert("theme".into(), "dark".into());
    let answer = browser.get("/index.php").await;
    assert_eq!(answer.header("location"), Some("/login.php"));
    let visit = app.state.visits().pop().unwrap();
    assert_eq!(
        visit.cookie.as_deref(),
        Some("theme=dark"),
        "only the unbound cookie is removed"
    );
    assert!(!app.state.everything_sent().contains(&foreign));
    gw.wait_for_log("unbound app session cookie removed");

    // Public assets need no session (bypass) and still work.
    let css = browser.get("/assets/site.css").await;
    assert_eq!(css.status, 200);
}

#[tokio::test]
async fn second_login_asks_for_a_code_and_refuses_replays() {
    let (_app, gw) = setup().await;
    let mut browser = Browser::new(gw.addr);
    let (secret, _codes) = enroll(&mut browser, "bob", "hunter2").await;

    let mut again = Browser::new(gw.addr);
    // User names are case-folded by this example: "BOB" is bob, not a new user to enroll.
    let answer = login(&mut again, "BOB", "hunter2").await;
    assert_eq!(answer.header("location"), Some("/.mfa/verify"));
    let page = again.get("/.mfa/verify").await;
    assert_eq!(page.status, 200);
    let csrf = form_value(&page.text(), "csrf");

    // The code that confirmed the enrollment was used: it is refused now (SECURITY-TESTS 1).
    let replay = again
        .post_form(
            "/.mfa/verify",
            &[("csrf", &csrf), ("code", &totp_now(&secret, 0))],
        )
        .await;
    assert_eq!(replay.status, 303);
    // Two codes in one form: refused and counted (SECURITY-TESTS 7).
    let two = again
        .post_form(
            "/.mfa/verify",
            &[("csrf", &csrf), ("code", "111111"), ("code", "222222")],
        )
        .await;
    assert_eq!(two.status, 400);
    let next = totp_now(&secret, 30);
    let ok = again
        .post_form("/.mfa/verify", &[("csrf", &csrf), ("code", &next)])
        .await;
    assert_eq!(ok.status, 302, "{}", ok.text());
    assert_eq!(again.get("/index.php").await.text(), "<h1>Hello bob</h1>");
}

#[tokio::test]
async fn five_wrong_codes_end_the_login() {
    let (_app, gw) = setup().await;
    let mut browser = Browser::new(gw.addr);
    let (secret, _) = enroll(&mut browser, "carol", "pw").await;
    let mut attacker = Browser::new(gw.addr);
    login(&mut attacker, "carol", "pw").await;
    let csrf = form_value(&attacker.get("/.mfa/verify").await.text(), "csrf");
    for left in (1..=4).rev() {
        let answer = attacker
            .post_form("/.mfa/verify", &[("csrf", &csrf), ("code", "123456")])
            .await;
        let shown = common::flows::after_wrong_code(&mut attacker, &answer).await;
        assert!(shown.contains(&format!("{left} attempt")), "{shown}");
    }
    let token = attacker.cookies["mfa_pending"].clone();
    let fifth = attacker
        .post_form("/.mfa/verify", &[("csrf", &csrf), ("code", "123456")])
        .await;
    assert!(fifth.text().contains("Too many wrong codes"));
    // The challenge is dead: even the right code releases nothing now.
    assert!(!attacker.cookies.contains_key("mfa_pending"), "cleared");
    attacker.cookies.insert("mfa_pending".into(), token);
    let late = attacker
        .post_form(
            "/.mfa/verify",
            &[("csrf", &csrf), ("code", &totp_now(&secret, 30))],
        )
        .await;
    assert_eq!(late.status, 401);
    assert!(!attacker.cookies.contains_key("PHPSESSID"));
}

#[tokio::test]
async fn a_recovery_code_works_once() {
    let (_app, gw) = setup().await;
    let mut browser = Browser::new(gw.addr);
    let (secret, codes) = enroll(&mut browser, "alice", "secret").await;

    // On disk: neither a recovery code nor the TOTP secret in the clear (SECURITY-TESTS 4).
    let mut stored = Vec::new();
    for name in ["factors.sqlite3", "factors.sqlite3-wal"] {
        stored.extend(std::fs::read(gw.dir.join("data").join(name)).unwrap_or_default());
    }
    assert!(stored.len() > 1000, "the database was found");
    let raw_secret = common::browser::base32_decode(&secret);
    let contains = |needle: &[u8]| stored.windows(needle.len()).any(|w| w == needle);
    assert!(!contains(&raw_secret) && !contains(secret.as_bytes()));
    for code in &codes {
        assert!(!contains(code.replace('-', "").as_bytes()) && !contains(code.as_bytes()));
    }

    for (attempt, expected) in [(0, 302), (1, 303)] {
        let mut b = Browser::new(gw.addr);
        login(&mut b, "alice", "secret").await;
        let csrf = form_value(&b.get("/.mfa/verify").await.text(), "csrf");
        // Typed without dashes and in upper case: still the same code.
        let typed = codes[0].replace('-', "").to_uppercase();
        let answer = b
            .post_form("/.mfa/verify", &[("csrf", &csrf), ("code", &typed)])
            .await;
        assert_eq!(answer.status, expected, "attempt {attempt}");
    }
}

#[tokio::test]
async fn logout_ends_the_gateway_session_and_the_old_cookies_are_refused() {
    let (app, gw) = setup().await;
    let mut browser = Browser::new(gw.addr);
    enroll(&mut browser, "alice", "secret").await;
    assert_eq!(browser.get("/index.php").await.status, 200);
    let saved = browser.cookies.clone();

    let out = browser.get("/logout.php").await;
    assert_eq!(out.status, 302);
    assert!(set_cookies(&out)
        .iter()
        .any(|c| c.starts_with("mfa_session=;") && c.contains("Max-Age=0")));

    // Replaying the cookies from before the logout gets nowhere (SECURITY-TESTS 15).
    let mut replay = Browser::new(gw.addr);
    replay.cookies = saved;
    let answer = replay.get("/index.php").await;
    assert_eq!(answer.header("location"), Some("/login.php"));
    let last = app.state.visits().pop().unwrap();
    assert!(!last.cookie.unwrap_or_default().contains("PHPSESSID"));
}

#[tokio::test]
async fn the_binding_follows_when_the_app_rotates_its_session_cookie() {
    let (_app, gw) = setup().await;
    let mut browser = Browser::new(gw.addr);
    enroll(&mut browser, "bob", "hunter2").await;
    let before = browser.cookies["PHPSESSID"].clone();
    assert_eq!(browser.get("/rotate.php").await.status, 200);
    assert_ne!(browser.cookies["PHPSESSID"], before);
    assert_eq!(browser.get("/index.php").await.text(), "<h1>Hello bob</h1>");
}

#[tokio::test]
async fn enrolled_factors_survive_a_restart() {
    let app = start_cookie_app().await;
    let dir = temp_dir("mfa-restart");
    let gw = Gateway::start_example(EXAMPLE, app.addr, dir.clone());
    let mut browser = Browser::new(gw.addr);
    enroll(&mut browser, "alice", "secret").await;
    drop(gw);
    let gw = Gateway::start_example(EXAMPLE, app.addr, dir);
    let mut again = Browser::new(gw.addr);
    let answer = login(&mut again, "alice", "secret").await;
    assert_eq!(answer.header("location"), Some("/.mfa/verify"));
}

#[tokio::test]
async fn fifty_parallel_uses_of_one_recovery_code_give_one_session() {
    let app = start_cookie_app().await;
    let dir = temp_dir("mfa-race");
    let example = common::example_without_locks(EXAMPLE, &dir);
    let gw = Gateway::start_example(&example, app.addr, dir);
    let mut browser = Browser::new(gw.addr);
    let (_, codes) = enroll(&mut browser, "alice", "secret").await;
    // 50 separate logins, each at the verify step (SECURITY-TESTS 3).
    let statuses = race_one_code(gw.addr, "alice", "secret", &codes[3], 50).await;
    // The one winner is released (302, or 200 telling of the losers' codes first).
    assert_eq!(
        statuses.iter().filter(|s| **s == 302 || **s == 200).count(),
        1,
        "{statuses:?}"
    );
    assert!(statuses.iter().all(|s| matches!(*s, 200 | 302 | 303)));
}

#[tokio::test]
async fn keys_rotate_while_the_gateway_runs() {
    let (_app, gw) = setup().await;
    let mut browser = Browser::new(gw.addr);
    let (secret, _) = enroll(&mut browser, "alice", "secret").await;
    let out = std::process::Command::new(common::BIN)
        .args(["keys", "rotate", "--config"])
        .arg(std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join(EXAMPLE))
        .env("MFA_DATA_DIR", gw.dir.join("data"))
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let said = String::from_utf8_lossy(&out.stdout);
    assert!(said.contains("1 secret re-encrypted"), "{said}");
    let keys = std::fs::read_to_string(gw.dir.join("data/keys.json")).unwrap();
    assert!(!keys.contains(&secret), "no secret in the key file");
    // In the trail, between its two records, naming the new key.
    let trail = common::audit_events(&gw);
    let rotated = trail
        .iter()
        .find(|r| r["event"] == "keys_rotated")
        .expect("a keys_rotated record");
    assert_eq!(rotated["secrets_resealed"], "1");
    assert!(trail.iter().any(|r| r["event"] == "change_begun"
        && r["change"] == "keys_rotated"
        && r["change_id"] == rotated["change_id"]));

    // The running gateway reads the new key when it meets it: no restart, no failed sign-in.
    let mut again = Browser::new(gw.addr);
    login(&mut again, "alice", "secret").await;
    let csrf = form_value(&again.get("/.mfa/verify").await.text(), "csrf");
    let ok = again
        .post_form(
            "/.mfa/verify",
            &[("csrf", &csrf), ("code", &totp_now(&secret, 30))],
        )
        .await;
    assert_eq!(ok.status, 302, "{}", ok.text());
    gw.wait_for_log("key file reloaded");
}

#[tokio::test]
async fn fifty_parallel_uses_of_one_totp_code_give_one_session() {
    let (_app, gw) = setup().await;
    let mut browser = Browser::new(gw.addr);
    let (secret, _) = enroll(&mut browser, "bob", "hunter2").await;
    // SECURITY-TESTS 2: one code, fifty logins racing with it.
    let code = totp_now(&secret, 30);
    let statuses = race_one_code(gw.addr, "bob", "hunter2", &code, 50).await;
    assert_eq!(
        statuses.iter().filter(|s| **s == 302 || **s == 200).count(),
        1,
        "{statuses:?}"
    );
}

#[tokio::test]
async fn the_codes_page_opened_again_shows_the_same_codes_and_they_work() {
    let (_app, gw) = setup().await;
    let mut browser = Browser::new(gw.addr);
    let answer = login(&mut browser, "alice", "secret").await;
    assert_eq!(answer.header("location"), Some("/.mfa/enroll"));
    let text = browser.get("/.mfa/enroll").await.text();
    let secret = enrollment_secret(&text);
    let csrf = form_value(&text, "csrf");
    let first = browser
        .post_form(
            "/.mfa/enroll",
            &[("csrf", &csrf), ("code", &totp_now(&secret, 0))],
        )
        .await;
    assert_eq!(first.status, 303, "{}", first.text());
    let first = browser.get("/.mfa/enroll").await;
    let shown = recovery_codes(&first.text());
    assert_eq!(shown.len(), 10);

    // A reload, back and forward, a phone restoring the tab: the same codes each time.
    for _ in 0..2 {
        let again = browser.get("/.mfa/enroll").await;
        assert_eq!(again.status, 200);
        assert_eq!(again.header("cache-control"), Some("no-store"));
        assert_eq!(recovery_codes(&again.text()), shown);
    }
    // The form sent without the box ticked shows them again too.
    let unticked = browser
        .post_form("/.mfa/enroll/done", &[("csrf", &csrf)])
        .await;
    assert_eq!(recovery_codes(&unticked.text()), shown);
    let released = browser
        .post_form("/.mfa/enroll/done", &[("csrf", &csrf), ("saved", "yes")])
        .await;
    assert_eq!(released.status, 302);
    // The codes went with the login: nothing to show any more. Signed in, the browser that
    // comes back (Back, a bookmark) is sent on to the app.
    let gone = browser.get("/.mfa/enroll").await;
    assert_eq!(gone.status, 303);
    assert_eq!(
        gone.header("location"),
        Some("/index.php"),
        "the example's home_page"
    );
    assert!(recovery_codes(&gone.text()).is_empty());
    let mut stranger = Browser::new(gw.addr);
    let dead_end = stranger.get("/.mfa/enroll").await;
    assert_eq!(dead_end.status, 401);

    // No new set was made behind the user's back: the first one signs in.
    assert!(!common::audit_events(&gw)
        .iter()
        .any(|e| e["event"] == "recovery_codes_regenerated"));
    let mut later = Browser::new(gw.addr);
    let csrf = common::flows::at_verify(&mut later, "alice", "secret").await;
    let ok = common::flows::send_code(&mut later, &csrf, &shown[0]).await;
    assert_eq!(ok.status, 302, "{}", ok.text());
}

#[tokio::test]
async fn the_gateway_signs_out_only_on_a_post_with_the_form_token() {
    let (_app, gw) = setup().await;
    let mut browser = Browser::new(gw.addr);
    enroll(&mut browser, "alice", "secret").await;
    assert_eq!(browser.get("/index.php").await.status, 200);

    // A link on any site (GET): a question, never the sign-out.
    let asked = browser.get("/.mfa/logout").await;
    assert_eq!(asked.status, 200);
    let text = asked.text();
    assert!(
        text.contains("<form method=\"post\" action=\"/.mfa/logout\">"),
        "{text}"
    );
    let csrf = form_value(&text, "csrf");
    assert!(set_cookies(&asked).is_empty());
    assert_eq!(browser.get("/index.php").await.status, 200);
    let json_get = browser
        .request(
            "GET",
            "/.mfa/logout",
            &[("accept", "application/json")],
            vec![],
        )
        .await;
    assert_eq!(json_get.status, 405);
    assert_eq!(browser.get("/index.php").await.status, 200);

    // A cross-site form (no token, a wrong one, one of another session) is refused.
    let other_token = {
        let mut bob = Browser::new(gw.addr);
        enroll(&mut bob, "bob", "hunter2").await;
        form_value(&bob.get("/.mfa/logout").await.text(), "csrf")
    };
    for fields in [
        vec![],
        vec![("csrf", "AAAA")],
        vec![("csrf", other_token.as_str())],
        vec![("csrf", csrf.as_str()), ("csrf", csrf.as_str())],
    ] {
        let refused = browser.post_form("/.mfa/logout", &fields).await;
        assert_eq!(refused.status, 403, "{fields:?}");
        assert!(set_cookies(&refused).is_empty());
        assert_eq!(browser.get("/index.php").await.status, 200);
    }
    // Accept: application/json can be set by any page; without a JSON body it is still a form.
    let accept_only = browser
        .request(
            "POST",
            "/.mfa/logout",
            &[
                ("accept", "application/json"),
                ("content-type", "text/plain"),
            ],
            b"{}".to_vec(),
        )
        .await;
    assert_eq!(accept_only.status, 403);
    assert_eq!(browser.get("/index.php").await.status, 200);

    // The button on the page.
    let saved = browser.cookies.clone();
    let out = browser.post_form("/.mfa/logout", &[("csrf", &csrf)]).await;
    assert_eq!(out.status, 200);
    assert!(out.text().contains("You are signed out"));
    assert!(set_cookies(&out)
        .iter()
        .any(|c| c.starts_with("mfa_session=;") && c.contains("Max-Age=0")));
    assert_eq!(
        browser.get("/index.php").await.header("location"),
        Some("/login.php")
    );
    let mut replay = Browser::new(gw.addr);
    replay.cookies = saved;
    assert_eq!(
        replay.get("/index.php").await.header("location"),
        Some("/login.php")
    );
    let ended: Vec<_> = common::audit_events(&gw)
        .into_iter()
        .filter(|e| e["event"] == "session_ended" && e["user"] == "alice")
        .map(|e| e["reason"].as_str().unwrap_or_default().to_string())
        .collect();
    assert_eq!(ended, ["gateway logout"]);
}

#[tokio::test]
async fn a_missing_gateway_page_names_the_request_as_its_header_does() {
    let (_app, gw) = setup().await;
    let mut b = Browser::new(gw.addr);
    for accept in ["application/json", "text/html"] {
        let answer = b
            .request(
                "GET",
                "/.mfa/no-such-page",
                &[("accept", accept)],
                Vec::new(),
            )
            .await;
        assert_eq!(answer.status, 404);
        let id = answer.header("x-request-id").unwrap().to_string();
        assert!(id.len() > 8, "{id}");
        assert!(answer.text().contains(&id), "{accept}: {}", answer.text());
    }
}

/// "Start over" ends the pending login, with the login's own form only: a post from another
/// site (no form token) changes nothing.
#[tokio::test]
async fn start_over_ends_the_login_only_from_its_own_form() {
    let (_app, gw) = setup().await;
    let mut first = Browser::new(gw.addr);
    let (secret, _) = enroll(&mut first, "alice", "secret").await;
    let mut b = Browser::new(gw.addr);
    login(&mut b, "alice", "secret").await;
    let page = b.get("/.mfa/verify").await.text();
    let csrf = form_value(&page, "csrf");
    let pending = b.cookies["mfa_pending"].clone();

    let forged = b.post_form("/.mfa/start-over", &[]).await;
    assert_eq!(forged.status, 403);
    assert!(
        set_cookies(&forged).is_empty(),
        "{:?}",
        set_cookies(&forged)
    );
    assert_eq!(b.cookies["mfa_pending"], pending);

    let ended = b.post_form("/.mfa/start-over", &[("csrf", &csrf)]).await;
    assert_eq!(ended.status, 303);
    assert_eq!(ended.header("location"), Some("/login.php"));
    assert!(!b.cookies.contains_key("mfa_pending"));
    // The login is gone, even with its cookie put back.
    b.cookies.insert("mfa_pending".into(), pending);
    let late = b
        .post_form(
            "/.mfa/verify",
            &[("csrf", &csrf), ("code", &totp_now(&secret, 30))],
        )
        .await;
    assert_eq!(late.status, 401);
    assert!(!b.cookies.contains_key("PHPSESSID"));
    assert!(common::audit_events(&gw)
        .iter()
        .any(|e| e["event"] == "login_abandoned" && e["user"] == "alice"));
}
