//! Self-service: the settings page and the JSON API for signed-in users.

mod common;

use common::apps::{start_cookie_app, start_token_app};
use common::browser::{enrollment_secret, form_value, recovery_codes, totp_now, Browser};
use common::flows::{enroll, login};
use common::Gateway;
use serde_json::{json, Value};

/// alice must use MFA; bob may turn it off.
fn cookie_config(upstream: std::net::SocketAddr) -> String {
    common::cookie_app_config(
        upstream,
        "",
        "      policy: required\n      overrides:\n        - users: [bob]\n          policy: optional",
    )
}

#[tokio::test]
async fn settings_need_a_verified_session() {
    let app = start_cookie_app().await;
    let gw = Gateway::start(&cookie_config(app.addr));
    let mut nobody = Browser::new(gw.addr);
    assert_eq!(nobody.get("/.mfa/settings").await.status, 401);
    // A pending login (password only) is no session (SECURITY-TESTS 11).
    login(&mut nobody, "alice", "secret").await;
    assert!(nobody.cookies.contains_key("mfa_pending"));
    assert_eq!(nobody.get("/.mfa/settings").await.status, 401);
    let api = nobody
        .request(
            "GET",
            "/.mfa/api/methods",
            &[("accept", "application/json")],
            vec![],
        )
        .await;
    assert_eq!(api.status, 401);
}

#[tokio::test]
async fn new_recovery_codes_need_a_code_and_replace_the_old_set() {
    let app = start_cookie_app().await;
    let gw = Gateway::start(&cookie_config(app.addr));
    let mut b = Browser::new(gw.addr);
    let (secret, old_codes) = enroll(&mut b, "alice", "secret").await;

    let page = b.get("/.mfa/settings").await;
    assert_eq!(page.status, 200);
    let text = page.text();
    assert!(text.contains("10 unused recovery codes left"), "{text}");
    assert!(
        !text.contains("Turn off"),
        "required policy: no removal offered"
    );
    let csrf = form_value(&text, "csrf");

    let wrong = b
        .post_form(
            "/.mfa/settings/recovery-codes",
            &[("csrf", &csrf), ("code", "000000")],
        )
        .await;
    assert_eq!(wrong.status, 401);
    let no_csrf = b
        .post_form(
            "/.mfa/settings/recovery-codes",
            &[("code", &totp_now(&secret, 30))],
        )
        .await;
    assert_eq!(no_csrf.status, 403);

    let fresh = b
        .post_form(
            "/.mfa/settings/recovery-codes",
            &[("csrf", &csrf), ("code", &totp_now(&secret, 30))],
        )
        .await;
    assert_eq!(fresh.status, 200);
    let new_codes = recovery_codes(&fresh.text());
    assert_eq!(new_codes.len(), 10);
    assert!(new_codes.iter().all(|c| !old_codes.contains(c)));

    // An old code no longer signs in; a new one does.
    for (code, expected) in [(&old_codes[0], 401), (&new_codes[0], 302)] {
        let mut other = Browser::new(gw.addr);
        login(&mut other, "alice", "secret").await;
        let csrf = form_value(&other.get("/.mfa/verify").await.text(), "csrf");
        let answer = other
            .post_form("/.mfa/verify", &[("csrf", &csrf), ("code", code)])
            .await;
        assert_eq!(answer.status, expected, "{code}");
    }
}

#[tokio::test]
async fn a_new_authenticator_replaces_the_old_one_only_when_confirmed() {
    let app = start_cookie_app().await;
    let gw = Gateway::start(&cookie_config(app.addr));
    let mut b = Browser::new(gw.addr);
    let (old_secret, codes) = enroll(&mut b, "alice", "secret").await;
    // A second signed-in device (with a recovery code, so the old app's next code stays unused
    // and can show below that it stops working).
    let mut phone = Browser::new(gw.addr);
    login(&mut phone, "alice", "secret").await;
    let csrf = form_value(&phone.get("/.mfa/verify").await.text(), "csrf");
    phone
        .post_form("/.mfa/verify", &[("csrf", &csrf), ("code", &codes[0])])
        .await;
    assert_eq!(phone.get("/index.php").await.status, 200);

    let page = b.get("/.mfa/settings/authenticator").await;
    assert_eq!(page.status, 200);
    let text = page.text();
    let new_secret = enrollment_secret(&text);
    assert_ne!(new_secret, old_secret);
    let csrf = form_value(&text, "csrf");
    let setup = form_value(&text, "setup");

    // A wrong code changes nothing.
    let wrong = b
        .post_form(
            "/.mfa/settings/authenticator",
            &[("csrf", &csrf), ("setup", &setup), ("code", "000000")],
        )
        .await;
    assert_eq!(wrong.status, 401);
    // The setup token is bound to this session: another session cannot use it.
    let phone_csrf = form_value(&phone.get("/.mfa/settings").await.text(), "csrf");
    let stolen = phone
        .post_form(
            "/.mfa/settings/authenticator",
            &[
                ("csrf", &phone_csrf),
                ("setup", &setup),
                ("code", &totp_now(&new_secret, 0)),
            ],
        )
        .await;
    assert_eq!(stolen.status, 400);

    let ok = b
        .post_form(
            "/.mfa/settings/authenticator",
            &[
                ("csrf", &csrf),
                ("setup", &setup),
                ("code", &totp_now(&new_secret, 0)),
            ],
        )
        .await;
    assert_eq!(ok.status, 200);
    assert!(ok.text().contains("Your new authenticator app is active"));
    // This session goes on; the other device was signed out (SECURITY-TESTS 16).
    assert_eq!(b.get("/index.php").await.status, 200);
    assert_eq!(
        phone.get("/index.php").await.header("location"),
        Some("/login.php")
    );

    // Sign-in now takes the new app's codes, not the old one's.
    let mut again = Browser::new(gw.addr);
    login(&mut again, "alice", "secret").await;
    let csrf = form_value(&again.get("/.mfa/verify").await.text(), "csrf");
    let old = again
        .post_form(
            "/.mfa/verify",
            &[("csrf", &csrf), ("code", &totp_now(&old_secret, 30))],
        )
        .await;
    assert_eq!(old.status, 401);
    let new = again
        .post_form(
            "/.mfa/verify",
            &[("csrf", &csrf), ("code", &totp_now(&new_secret, 30))],
        )
        .await;
    assert_eq!(new.status, 302);
}

#[tokio::test]
async fn only_optional_users_can_turn_mfa_off() {
    let app = start_cookie_app().await;
    let gw = Gateway::start(&cookie_config(app.addr));
    let mut alice = Browser::new(gw.addr);
    let (alice_secret, _) = enroll(&mut alice, "alice", "secret").await;
    let csrf = form_value(&alice.get("/.mfa/settings").await.text(), "csrf");
    let refused = alice
        .post_form(
            "/.mfa/settings/remove",
            &[("csrf", &csrf), ("code", &totp_now(&alice_secret, 30))],
        )
        .await;
    assert_eq!(refused.status, 403);

    // bob (optional) has no factor: signed in on the password, he sets one up from the settings.
    let mut bob = Browser::new(gw.addr);
    let answer = login(&mut bob, "bob", "hunter2").await;
    assert_eq!(answer.status, 302);
    let page = bob.get("/.mfa/settings/authenticator").await;
    let text = page.text();
    let secret = enrollment_secret(&text);
    let codes = bob
        .post_form(
            "/.mfa/settings/authenticator",
            &[
                ("csrf", &form_value(&text, "csrf")),
                ("setup", &form_value(&text, "setup")),
                ("code", &totp_now(&secret, 0)),
            ],
        )
        .await;
    // His first authenticator comes with recovery codes, shown once.
    assert_eq!(recovery_codes(&codes.text()).len(), 10);
    let mut next = Browser::new(gw.addr);
    assert_eq!(
        login(&mut next, "bob", "hunter2").await.header("location"),
        Some("/.mfa/verify")
    );

    let settings = bob.get("/.mfa/settings").await.text();
    assert!(settings.contains("Turn off"));
    let off = bob
        .post_form(
            "/.mfa/settings/remove",
            &[
                ("csrf", &form_value(&settings, "csrf")),
                ("code", &totp_now(&secret, 30)),
            ],
        )
        .await;
    assert_eq!(off.status, 200);
    assert!(off.text().contains("Two-factor authentication is off"));
    let mut later = Browser::new(gw.addr);
    assert_eq!(login(&mut later, "bob", "hunter2").await.status, 302);
}

#[tokio::test]
async fn api_clients_list_and_change_their_methods() {
    let app = start_token_app().await;
    let dir = common::temp_dir("mfa-settings-api");
    let gw = Gateway::start_example("config/examples/token-api.yaml", app.addr, dir);
    let mut client = Browser::new(gw.addr);
    let first = client
        .post_json(
            "/api/login",
            &json!({ "username": "alice", "password": "secret" }),
        )
        .await;
    let first: Value = serde_json::from_slice(&first.body).unwrap();
    let secret = first["secret"].as_str().unwrap().to_string();
    let enrolled = client
        .post_json(
            "/.mfa/api/enroll",
            &json!({ "ephemeral_token": first["ephemeral_token"], "code": totp_now(&secret, 0) }),
        )
        .await;
    let enrolled: Value = serde_json::from_slice(&enrolled.body).unwrap();
    let bearer = format!("Bearer {}", enrolled["token"].as_str().unwrap());
    let auth = |extra: &'static str| {
        [
            ("authorization", bearer.clone()),
            ("content-type", extra.to_string()),
        ]
    };

    let headers = auth("application/json");
    let refs: Vec<(&str, &str)> = headers.iter().map(|(k, v)| (*k, v.as_str())).collect();
    let methods = client
        .request("GET", "/.mfa/api/methods", &refs, vec![])
        .await;
    assert_eq!(methods.status, 200);
    let list: Value = serde_json::from_slice(&methods.body).unwrap();
    assert_eq!(list[0]["method"], "totp");
    assert_eq!(list[0]["is_active"], true);
    assert_eq!(list[0]["is_primary"], true);
    assert_eq!(list[1]["method"], "recovery_code");
    assert_eq!(list[1]["remaining"], 10);

    // A form post (what a cross-site page could send) is refused.
    let form_headers = auth("text/plain");
    let form_refs: Vec<(&str, &str)> = form_headers.iter().map(|(k, v)| (*k, v.as_str())).collect();
    let body = json!({ "code": totp_now(&secret, 30) })
        .to_string()
        .into_bytes();
    let as_form = client
        .request("POST", "/.mfa/api/recovery-codes", &form_refs, body.clone())
        .await;
    assert_eq!(as_form.status, 415);

    let fresh = client
        .request("POST", "/.mfa/api/recovery-codes", &refs, body)
        .await;
    assert_eq!(fresh.status, 200, "{}", fresh.text());
    let fresh: Value = serde_json::from_slice(&fresh.body).unwrap();
    assert_eq!(fresh["backup_codes"].as_array().unwrap().len(), 10);

    let removal = client
        .request(
            "POST",
            "/.mfa/api/totp/remove",
            &refs,
            json!({ "code": "123456" }).to_string().into_bytes(),
        )
        .await;
    assert_eq!(removal.status, 403, "required policy");
    let body: Value = serde_json::from_slice(&removal.body).unwrap();
    assert_eq!(body["error"], "mfa_required_by_policy");
}
