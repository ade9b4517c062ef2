//! One person is one identity, whichever name they type: the identity can come from the app's
//! login answer (a JSON pointer) or from a "whoami" request the gateway makes with the new
//! session.

mod common;

use common::apps::{start_cookie_app, start_token_app};
use common::browser::Browser;
use common::Gateway;
use serde_json::{json, Value};

fn config(upstream: std::net::SocketAddr, body: &str, identity: &str, login: &str) -> String {
    format!(
        r#"listeners:
  - address: "{{listen}}"
admin:
  address: "{{admin}}"
data_dir: "{{dir}}/data"
apps:
  - name: app
    hosts: ["*"]
    upstream:
      url: "http://{upstream}"
    mfa:
      enrollment: {{ first_login: {{ for: 30d }} }}
{login}
      identity:
{identity}
{body}
"#
    )
}

#[tokio::test]
async fn identity_from_the_login_answer_merges_spellings() {
    let app = start_token_app().await;
    let gw = Gateway::start(&config(
        app.addr,
        "      token:\n        json_pointer: /token",
        "        json_pointer: /user",
        "      login:\n        - path: /api/login\n          body: json\n          success:\n            json_pointer: /token",
    ));
    let mut client = Browser::new(gw.addr);
    let first = client
        .post_json(
            "/api/login",
            &json!({ "username": "ALICE", "password": "secret" }),
        )
        .await;
    let first: Value = serde_json::from_slice(&first.body).unwrap();
    assert_eq!(first["enrollment_required"], true);
    // The account is "alice" as the app says, not "ALICE" as typed.
    assert!(
        first["otpauth_uri"].as_str().unwrap().contains(":alice?"),
        "{first}"
    );
    let secret = first["secret"].as_str().unwrap();
    let enrolled = client
        .post_json(
            "/.mfa/api/enroll",
            &json!({ "ephemeral_token": first["ephemeral_token"], "code": common::browser::totp_now(secret, 0) }),
        )
        .await;
    assert_eq!(enrolled.status, 200);
    let again = client
        .post_json(
            "/api/login",
            &json!({ "username": "alice", "password": "secret" }),
        )
        .await;
    let again: Value = serde_json::from_slice(&again.body).unwrap();
    assert_eq!(again["mfa_required"], true);
    assert!(again.get("enrollment_required").is_none(), "{again}");
}

#[tokio::test]
async fn identity_from_a_whoami_request_with_the_new_session() {
    let app = start_cookie_app().await;
    let gw = Gateway::start(&config(
        app.addr,
        "      session_cookies: [PHPSESSID]",
        "        whoami:\n          path: /whoami.php\n          json_pointer: /account/name",
        "      login:\n        - path: /login.php\n          username_field: user\n          success:\n            set_cookie: PHPSESSID",
    ));
    let mut b = Browser::new(gw.addr);
    let answer = b
        .post_form("/login.php", &[("user", "Bob"), ("pass", "hunter2")])
        .await;
    assert_eq!(answer.status, 303);
    let page = b.get("/.mfa/enroll").await.text();
    assert!(
        page.contains("bob, this site needs a second factor"),
        "{page}"
    );
    // The gateway asked the app with the session the app had just started.
    let visit = app
        .state
        .visits()
        .into_iter()
        .find(|v| v.path == "/whoami.php")
        .unwrap();
    assert!(visit.cookie.unwrap().starts_with("PHPSESSID="));
}

#[tokio::test]
async fn no_identity_means_nothing_is_released() {
    let app = start_cookie_app().await;
    let gw = Gateway::start(&config(
        app.addr,
        "      session_cookies: [PHPSESSID]",
        "        header: X-Remote-User",
        "      login:\n        - path: /login.php\n          username_field: user\n          success:\n            set_cookie: PHPSESSID",
    ));
    let mut b = Browser::new(gw.addr);
    let answer = b
        .post_form("/login.php", &[("user", "alice"), ("pass", "secret")])
        .await;
    // The app sends no X-Remote-User: the gateway cannot tell who logged in and fails closed.
    assert_eq!(answer.status, 502);
    assert!(!b.cookies.contains_key("PHPSESSID"));
    assert!(!answer.text().contains("PHPSESSID"));
}
