//! HTTP Basic as a login (`mfa.basic_auth`), against the cookie app's Basic area (a stand-in
//! for Tomcat's manager): an unbound credential never reaches the app with its request; the
//! password is checked with the check path, the second factor follows, and afterwards the
//! credential passes only with the gateway cookie of the session it was bound to.

mod common;

use common::apps::{start_cookie_app, App};
use common::browser::{enrollment_secret, form_value, recovery_codes, totp_now, Browser};
use common::flows::enroll;
use common::{audit_events, cookie_app_config, temp_dir, Answer, Gateway};

const ALICE: &str = "Basic YWxpY2U6c2VjcmV0"; // alice:secret
const ALICE_WRONG: &str = "Basic YWxpY2U6d3Jvbmc="; // alice:wrong
const BOB: &str = "Basic Ym9iOmh1bnRlcjI="; // bob:hunter2

async fn setup() -> (App, Gateway) {
    let app = start_cookie_app().await;
    let config = cookie_app_config(
        app.addr,
        "",
        "      basic_auth:\n        check: /basic/status\n        paths: [/basic/]\n      identity:\n        typed_name: true\n        normalize: [casefold]",
    );
    let gw = Gateway::start_in(&config, temp_dir("mfa-basic"));
    (app, gw)
}

async fn get_as(b: &mut Browser, path: &str, authorization: &str) -> Answer {
    b.request(
        "GET",
        path,
        &[("authorization", authorization), ("accept", "text/html")],
        Vec::new(),
    )
    .await
}

fn visited(app: &App, path: &str) -> usize {
    app.state.visits().iter().filter(|v| v.path == path).count()
}

/// A first Basic sign-in brought through enrollment: the released answer, and the TOTP secret.
async fn enroll_basic(b: &mut Browser, path: &str, authorization: &str) -> (Answer, String) {
    let answer = get_as(b, path, authorization).await;
    assert_eq!(answer.status, 303, "{}", answer.text());
    assert_eq!(answer.header("location"), Some("/.mfa/enroll"));
    let page = b.get("/.mfa/enroll").await.text();
    let secret = enrollment_secret(&page);
    let code = totp_now(&secret, 0);
    let codes = b
        .post_form(
            "/.mfa/enroll",
            &[("csrf", &form_value(&page, "csrf")), ("code", &code)],
        )
        .await;
    assert_eq!(codes.status, 303, "{}", codes.text());
    let codes = b.get("/.mfa/enroll").await;
    assert_eq!(recovery_codes(&codes.text()).len(), 10);
    let csrf = form_value(&codes.text(), "csrf");
    let released = b
        .post_form("/.mfa/enroll/done", &[("csrf", &csrf), ("saved", "yes")])
        .await;
    (released, secret)
}

#[tokio::test]
async fn a_basic_sign_in_needs_the_second_factor_before_its_request_reaches_the_app() {
    let (app, gw) = setup().await;
    let mut b = Browser::new(gw.addr);

    // No credential: the app asks for one, as it would without the gateway.
    let asked = b.get("/basic/undeploy").await;
    assert_eq!(asked.status, 401);
    assert_eq!(
        asked.header("www-authenticate"),
        Some("Basic realm=\"Manager\"")
    );

    // A wrong password: the app's refusal (checked on the check path), and the request that
    // would have changed something never reached the app.
    let wrong = get_as(&mut b, "/basic/undeploy", ALICE_WRONG).await;
    assert_eq!(wrong.status, 401);
    assert_eq!(
        wrong.header("www-authenticate"),
        Some("Basic realm=\"Manager\"")
    );
    assert_eq!(visited(&app, "/basic/status"), 1);
    assert_eq!(
        visited(&app, "/basic/undeploy"),
        1,
        "only the request without a credential"
    );

    // The right password: the second factor first; still nothing of the request at the app.
    let (released, secret) = enroll_basic(&mut b, "/basic/undeploy", ALICE).await;
    assert_eq!(visited(&app, "/basic/undeploy"), 1);
    assert_eq!(released.status, 303, "{}", released.text());
    assert_eq!(released.header("location"), Some("/basic/undeploy"));
    assert!(b.cookies.contains_key("mfa_session"));

    // Back to the page asked for: the credential is bound, with the gateway cookie it passes.
    let page = get_as(&mut b, "/basic/undeploy", ALICE).await;
    assert_eq!(page.status, 200, "{}", page.text());
    assert_eq!(page.text(), "OK /basic/undeploy as alice");
    let sent = app.state.visits().last().unwrap().clone();
    assert_eq!(sent.authorization.as_deref(), Some(ALICE));
    assert!(!sent.cookie.unwrap_or_default().contains("mfa_session"));

    // The same credential without that gateway cookie is the password alone: a new login,
    // this time to the verify step (alice has her factor now).
    let mut stranger = Browser::new(gw.addr);
    let again = get_as(&mut stranger, "/basic/undeploy", ALICE).await;
    assert_eq!(again.status, 303);
    assert_eq!(again.header("location"), Some("/.mfa/verify"));
    assert_eq!(visited(&app, "/basic/undeploy"), 2);

    // An API client (curl -u, with a cookie jar): the JSON flow, then the credential with the
    // gateway cookie the verify answer set.
    let mut api = Browser::new(gw.addr);
    let json = [("authorization", ALICE), ("accept", "application/json")];
    let answer = api
        .request("GET", "/basic/undeploy", &json, Vec::new())
        .await;
    let body: serde_json::Value = serde_json::from_slice(&answer.body).unwrap();
    assert_eq!(body["mfa_required"], true, "{body}");
    let token = body["ephemeral_token"].as_str().unwrap().to_string();
    let verified = api
        .post_json(
            "/.mfa/api/verify",
            &serde_json::json!({"ephemeral_token": token, "code": totp_now(&secret, 30), "method": "totp"}),
        )
        .await;
    assert_eq!(verified.status, 303, "{}", verified.text());
    assert!(api.cookies.contains_key("mfa_session"));
    let page = api
        .request("GET", "/basic/undeploy", &json, Vec::new())
        .await;
    assert_eq!(page.text(), "OK /basic/undeploy as alice");
    assert_eq!(visited(&app, "/basic/undeploy"), 3);

    let events = audit_events(&gw);
    assert!(events
        .iter()
        .any(|e| e["event"] == "session_created" && e["user"] == "alice"));
    // The password is never written anywhere the gateway keeps.
    let log = gw.log_text();
    assert!(!log.contains("secret") && !log.contains("YWxpY2U6c2VjcmV0"));
}

#[tokio::test]
async fn a_verified_session_does_not_carry_anothers_basic_credential() {
    let (app, gw) = setup().await;
    // bob signs in through the form login and has a verified gateway session.
    let mut bob = Browser::new(gw.addr);
    enroll(&mut bob, "bob", "hunter2").await;
    assert_eq!(bob.get("/index.php").await.text(), "<h1>Hello bob</h1>");
    // With alice's password in Basic, bob's session is no help: alice's second factor first.
    let answer = get_as(&mut bob, "/basic/undeploy", ALICE).await;
    assert_eq!(answer.status, 303, "{}", answer.text());
    assert_eq!(answer.header("location"), Some("/.mfa/enroll"));
    assert_eq!(visited(&app, "/basic/undeploy"), 0);
    // bob's own credential, never bound: a login of bob's (his factor), not a free pass.
    let mut bob_basic = Browser::new(gw.addr);
    bob_basic.cookies = bob.cookies.clone();
    bob_basic.cookies.remove("mfa_pending");
    let answer = get_as(&mut bob_basic, "/basic/undeploy", BOB).await;
    assert_eq!(answer.status, 303);
    assert_eq!(answer.header("location"), Some("/.mfa/verify"));
    assert_eq!(visited(&app, "/basic/undeploy"), 0);
}

#[tokio::test]
async fn a_session_the_app_starts_for_a_basic_user_follows_the_session() {
    let (app, gw) = setup().await;
    let mut b = Browser::new(gw.addr);
    enroll_basic(&mut b, "/basic/session", ALICE).await;
    // Tomcat keeps a Basic sign-in in a session: the cookie is alice's, since the request
    // that got it signed in as alice, and is bound to her gateway session.
    let answer = get_as(&mut b, "/basic/session", ALICE).await;
    assert_eq!(answer.status, 200, "{}", answer.text());
    let id = b
        .cookies
        .get("PHPSESSID")
        .cloned()
        .expect("the app's session passed");
    assert_eq!(b.get("/index.php").await.text(), "<h1>Hello alice</h1>");
    // The same cookie in a request without the gateway's: a bound app cookie acts only beside
    // its session's gateway cookie (an app's cookie value need not be a secret).
    let mut other = Browser::new(gw.addr);
    other.cookies.insert("PHPSESSID".into(), id);
    let answer = other.get("/index.php").await;
    assert_eq!(answer.status, 302, "{}", answer.text());
    assert!(visited(&app, "/basic/session") >= 1);
}

#[tokio::test]
async fn basic_credentials_that_read_two_ways_are_refused() {
    let (app, gw) = setup().await;
    let mut b = Browser::new(gw.addr);
    for credential in [
        "Basic YWxpY2U6c2VjcmV0=",    // extra padding
        "Basic YWxpY2U6c2VjcmV0 x",   // text after it
        "Basic IGFsaWNlOnNlY3JldA==", // " alice:secret"
        "Basic QWxpY2U6c2VjcmV0\u{0}",
        "Basic YWxp4oCLY2U6c2VjcmV0", // "ali\u{200b}ce:secret" (zero-width space)
    ] {
        let Ok(value) = http::HeaderValue::from_str(credential) else {
            continue;
        };
        let answer = get_as(&mut b, "/basic/undeploy", value.to_str().unwrap()).await;
        assert_eq!(answer.status, 400, "{credential}: {}", answer.text());
    }
    assert_eq!(app.state.visits().len(), 0, "nothing reached the app");
    // Another scheme is still refused as before.
    let answer = get_as(&mut b, "/basic/undeploy", "Digest username=\"alice\"").await;
    assert_eq!(answer.status, 401);
    assert_eq!(app.state.visits().len(), 0);
}

#[tokio::test]
async fn basic_is_a_login_only_where_the_config_says() {
    let (app, gw) = setup().await;
    let mut b = Browser::new(gw.addr);
    let (_, _) = enroll_basic(&mut b, "/basic/status", ALICE).await;
    assert_eq!(get_as(&mut b, "/basic/status", ALICE).await.status, 200);
    // Outside basic_auth.paths the credential is refused, bound or not: a page there that
    // sets a cookie from its input must not get that cookie bound as alice's.
    let before = app.state.visits().len();
    let answer = get_as(&mut b, "/reset/carol", ALICE).await;
    assert_eq!(answer.status, 401, "{}", answer.text());
    assert_eq!(app.state.visits().len(), before);
}

#[tokio::test]
async fn a_sign_in_from_a_link_on_another_site_lands_on_the_check_path() {
    let (app, gw) = setup().await;
    let mut b = Browser::new(gw.addr);
    let (_, secret) = enroll_basic(&mut b, "/basic/status", ALICE).await;
    b.cookies.clear();
    // A link elsewhere to a command: after the code the browser lands on a page that changes
    // nothing, not on the command.
    let answer = b
        .request(
            "GET",
            "/basic/undeploy?path=/app",
            &[("authorization", ALICE), ("sec-fetch-site", "cross-site")],
            Vec::new(),
        )
        .await;
    assert_eq!(answer.header("location"), Some("/.mfa/verify"));
    let page = b.get("/.mfa/verify").await.text();
    let released = b
        .post_form(
            "/.mfa/verify",
            &[
                ("csrf", &form_value(&page, "csrf")),
                ("code", &totp_now(&secret, 30)),
            ],
        )
        .await;
    assert_eq!(released.status, 303, "{}", released.text());
    assert_eq!(released.header("location"), Some("/basic/status"));
    assert_eq!(visited(&app, "/basic/undeploy"), 0);
}
