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

    // An old code no longer signs in; a new one does (and alice hears of the old code tried
    // in the other sign-in).
    for (code, expected) in [(&old_codes[0], 303), (&new_codes[0], 200)] {
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

    // With the new app's code and a current code (here a recovery code: the old app's next
    // code is kept to show below that it stops working).
    let ok = b
        .post_form(
            "/.mfa/settings/authenticator",
            &[
                ("csrf", &csrf),
                ("setup", &setup),
                ("code", &totp_now(&new_secret, 0)),
                ("current_code", &codes[1]),
            ],
        )
        .await;
    assert_eq!(ok.status, 200, "{}", ok.text());
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
    assert_eq!(old.status, 303);
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
    let (secret, bearer) = api_enrollment(&mut client).await;
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

/// The audit records of `event` for alice: (outcome, reason).
fn alice_events(gw: &Gateway, event: &str) -> Vec<(String, String)> {
    common::audit_events(gw)
        .into_iter()
        .filter(|e| e["event"] == event && e["user"] == "alice")
        .map(|e| {
            (
                e["outcome"].as_str().unwrap_or_default().to_string(),
                e["reason"].as_str().unwrap_or_default().to_string(),
            )
        })
        .collect()
}

#[tokio::test]
async fn a_borrowed_session_cannot_replace_the_authenticator_without_a_current_code() {
    let app = start_cookie_app().await;
    let gw = Gateway::start(&cookie_config(app.addr));
    let mut b = Browser::new(gw.addr);
    let (old_secret, codes) = enroll(&mut b, "alice", "secret").await;
    // The owner's other device, signed in with a recovery code.
    let mut phone = Browser::new(gw.addr);
    let csrf = common::flows::at_verify(&mut phone, "alice", "secret").await;
    common::flows::send_code(&mut phone, &csrf, &codes[0]).await;
    assert_eq!(phone.get("/index.php").await.status, 200);

    // Whoever sits at the unlocked browser sets up their own app...
    let page = b.get("/.mfa/settings/authenticator").await;
    assert_eq!(page.status, 200);
    let text = page.text();
    assert!(text.contains("name=\"current_code\""), "{text}");
    let new_secret = enrollment_secret(&text);
    let csrf = form_value(&text, "csrf");
    let setup = form_value(&text, "setup");
    // ...but its code alone replaces nothing, and neither does a guessed current code.
    let attempts = [
        (
            None,
            400,
            "Replacing your authenticator needs a current code",
        ),
        (
            Some(""),
            400,
            "Replacing your authenticator needs a current code",
        ),
        (Some("000000"), 401, "The current code is not valid"),
        (Some("abcd-efgh-jkmn"), 401, "The current code is not valid"),
    ];
    for (current, status, says) in attempts {
        let new_code = totp_now(&new_secret, 0);
        let mut fields = vec![
            ("csrf", csrf.as_str()),
            ("setup", setup.as_str()),
            ("code", new_code.as_str()),
        ];
        if let Some(current) = current {
            fields.push(("current_code", current));
        }
        let refused = b.post_form("/.mfa/settings/authenticator", &fields).await;
        assert_eq!(refused.status, status, "{current:?}");
        let text = refused.text();
        assert!(text.contains(says), "{text}");
        // The same setup is offered again, to finish with a current code.
        assert_eq!(form_value(&text, "setup"), setup);
    }
    // Nothing changed: the other device is still signed in, and the old app still signs in.
    assert_eq!(phone.get("/index.php").await.status, 200);
    let mut again = Browser::new(gw.addr);
    let csrf_again = common::flows::at_verify(&mut again, "alice", "secret").await;
    let old = common::flows::send_code(&mut again, &csrf_again, &totp_now(&old_secret, 30)).await;
    assert_eq!(old.status, 302, "{}", old.text());
    let mut later = Browser::new(gw.addr);
    let csrf_later = common::flows::at_verify(&mut later, "alice", "secret").await;
    let new = common::flows::send_code(&mut later, &csrf_later, &totp_now(&new_secret, 30)).await;
    assert_eq!(new.status, 303, "the new app was not made active");
    let refusals = alice_events(&gw, "authenticator_set");
    assert_eq!(
        refusals,
        [
            ("refused", "no current code"),
            ("refused", "no current code"),
            ("refused", "wrong current code"),
            ("refused", "wrong current code"),
        ]
        .map(|(o, r)| (o.to_string(), r.to_string()))
    );

    // The owner, with a current code (a recovery code: the old app's next code was used above).
    let ok = b
        .post_form(
            "/.mfa/settings/authenticator",
            &[
                ("csrf", &csrf),
                ("setup", &setup),
                ("code", &totp_now(&new_secret, 0)),
                ("current_code", &codes[1]),
            ],
        )
        .await;
    assert_eq!(ok.status, 200, "{}", ok.text());
    assert!(ok.text().contains("Your new authenticator app is active"));
    assert_eq!(b.get("/index.php").await.status, 200);
    for signed_out in [&mut phone, &mut again] {
        assert_eq!(
            signed_out.get("/index.php").await.header("location"),
            Some("/login.php")
        );
    }
    let events = alice_events(&gw, "authenticator_set");
    assert_eq!(events.last().unwrap().0, "accepted");
}

#[tokio::test]
async fn the_old_apps_code_proves_a_replacement_and_wrong_ones_lock_the_user() {
    let app = start_cookie_app().await;
    let gw = Gateway::start(&cookie_config(app.addr));
    let mut b = Browser::new(gw.addr);
    let (old_secret, _codes) = enroll(&mut b, "alice", "secret").await;
    let text = b.get("/.mfa/settings/authenticator").await.text();
    let new_secret = enrollment_secret(&text);
    let (csrf, setup) = (form_value(&text, "csrf"), form_value(&text, "setup"));
    let ok = b
        .post_form(
            "/.mfa/settings/authenticator",
            &[
                ("csrf", &csrf),
                ("setup", &setup),
                ("code", &totp_now(&new_secret, 0)),
                ("current_code", &totp_now(&old_secret, 30)),
            ],
        )
        .await;
    assert_eq!(ok.status, 200, "{}", ok.text());
    assert!(ok.text().contains("Your new authenticator app is active"));

    // A second replacement, guessed: wrong current codes count towards the user's lock.
    let text = b.get("/.mfa/settings/authenticator").await.text();
    let third_secret = enrollment_secret(&text);
    let setup = form_value(&text, "setup");
    let mut statuses = Vec::new();
    for guess in ["111111", "222222", "333333", "444444", "555555"] {
        let answer = b
            .post_form(
                "/.mfa/settings/authenticator",
                &[
                    ("csrf", &csrf),
                    ("setup", &setup),
                    ("code", &totp_now(&third_secret, 0)),
                    ("current_code", guess),
                ],
            )
            .await;
        statuses.push(answer.status);
    }
    assert_eq!(statuses, [401, 401, 401, 401, 429]);
    // Locked: even the right current code changes nothing now on this browser.
    let locked = b
        .post_form(
            "/.mfa/settings/authenticator",
            &[
                ("csrf", &csrf),
                ("setup", &setup),
                ("code", &totp_now(&third_secret, 0)),
                ("current_code", &totp_now(&new_secret, 30)),
            ],
        )
        .await;
    assert_eq!(locked.status, 429);
    assert!(locked.header("retry-after").is_some());
    // The guesses locked this browser (it had passed alice's second factor: its codes are
    // judged apart), not alice's sign-in from another one.
    let mut other = Browser::new(gw.addr);
    let answer = login(&mut other, "alice", "secret").await;
    assert_eq!(answer.status, 303, "{}", answer.text());
}

#[tokio::test]
async fn removing_and_new_codes_need_a_code_on_the_page_and_the_api() {
    let app = start_cookie_app().await;
    let gw = Gateway::start(&cookie_config(app.addr));
    let mut bob = Browser::new(gw.addr);
    assert_eq!(login(&mut bob, "bob", "hunter2").await.status, 302);
    let text = bob.get("/.mfa/settings/authenticator").await.text();
    // A first authenticator (no factor yet to prove) needs only the new app's code.
    assert!(!text.contains("current_code"), "{text}");
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
    let codes = recovery_codes(&codes.text());
    assert_eq!(codes.len(), 10);

    let settings = bob.get("/.mfa/settings").await.text();
    let csrf = form_value(&settings, "csrf");
    for path in ["/.mfa/settings/recovery-codes", "/.mfa/settings/remove"] {
        for fields in [
            vec![("csrf", csrf.as_str())],
            vec![("csrf", &csrf), ("code", "")],
        ] {
            let refused = bob.post_form(path, &fields).await;
            assert_eq!(refused.status, 400, "{path}");
            assert!(refused.text().contains("Enter a current code"));
        }
    }
    // The API: JSON without a code, from the same session.
    let refs = [
        ("content-type", "application/json"),
        ("accept", "application/json"),
    ];
    for path in ["/.mfa/api/recovery-codes", "/.mfa/api/totp/remove"] {
        let answer = bob.request("POST", path, &refs, b"{}".to_vec()).await;
        assert_eq!(answer.status, 400, "{path}");
        let body: Value = serde_json::from_slice(&answer.body).unwrap();
        assert_eq!(body["error"], "code_required");
    }
    // Nothing changed: the same codes, the same factor.
    let settings = bob.get("/.mfa/settings").await.text();
    assert!(
        settings.contains("10 unused recovery codes left"),
        "{settings}"
    );
    let mut next = Browser::new(gw.addr);
    let csrf = common::flows::at_verify(&mut next, "bob", "hunter2").await;
    let ok = common::flows::send_code(&mut next, &csrf, &codes[0]).await;
    assert_eq!(ok.status, 302);
    let refused: Vec<String> = common::audit_events(&gw)
        .into_iter()
        .filter(|e| e["user"] == "bob" && e["outcome"] == "refused")
        .map(|e| {
            format!(
                "{} {}",
                e["event"].as_str().unwrap(),
                e["reason"].as_str().unwrap()
            )
        })
        .collect();
    assert_eq!(
        refused,
        [
            "recovery_codes_regenerated no current code",
            "recovery_codes_regenerated no current code",
            "method_removed no current code",
            "method_removed no current code",
            "recovery_codes_regenerated no current code",
            "method_removed no current code",
        ]
    );
}

#[tokio::test]
async fn api_clients_replace_the_authenticator_with_a_current_code_only() {
    let app = start_token_app().await;
    let dir = common::temp_dir("mfa-settings-api-replace");
    let gw = Gateway::start_example("config/examples/token-api.yaml", app.addr, dir);
    let mut client = Browser::new(gw.addr);
    let login = json!({ "username": "alice", "password": "secret" });
    let first: Value =
        serde_json::from_slice(&client.post_json("/api/login", &login).await.body).unwrap();
    let old_secret = first["secret"].as_str().unwrap().to_string();
    let enrolled = client
        .post_json(
            "/.mfa/api/enroll",
            &json!({ "ephemeral_token": first["ephemeral_token"], "code": totp_now(&old_secret, 0) }),
        )
        .await;
    let enrolled: Value = serde_json::from_slice(&enrolled.body).unwrap();
    let codes = enrolled["backup_codes"].as_array().unwrap().clone();
    let bearer = format!("Bearer {}", enrolled["token"].as_str().unwrap());
    // A second client of alice's, signed in with a recovery code.
    let mut other = Browser::new(gw.addr);
    let second: Value =
        serde_json::from_slice(&other.post_json("/api/login", &login).await.body).unwrap();
    let second = other
        .post_json(
            "/.mfa/api/verify",
            &json!({ "ephemeral_token": second["ephemeral_token"], "code": codes[0] }),
        )
        .await;
    assert_eq!(second.status, 200, "{}", second.text());
    let second: Value = serde_json::from_slice(&second.body).unwrap();
    let second_bearer = format!("Bearer {}", second["token"].as_str().unwrap());

    let me = |bearer: String| {
        let mut c = Browser::new(gw.addr);
        async move {
            c.request(
                "GET",
                "/api/me",
                &[("authorization", &bearer), ("accept", "application/json")],
                vec![],
            )
            .await
            .status
        }
    };
    let mut call = async |bearer: &str, path: &str, body: Value| {
        let headers = [
            ("authorization", bearer),
            ("content-type", "application/json"),
            ("accept", "application/json"),
        ];
        let answer = client
            .request("POST", path, &headers, body.to_string().into_bytes())
            .await;
        let body: Value = serde_json::from_slice(&answer.body).unwrap();
        (answer.status, body)
    };
    let (status, setup) = call(&bearer, "/.mfa/api/totp/setup", json!({})).await;
    assert_eq!(status, 200);
    assert_eq!(setup["current_code_required"], true);
    let new_secret = setup["secret"].as_str().unwrap().to_string();
    let token = setup["setup_token"].clone();
    let confirm = |current: Option<&str>| {
        let mut body = json!({ "setup_token": token, "code": totp_now(&new_secret, 0) });
        if let Some(current) = current {
            body["current_code"] = json!(current);
        }
        body
    };
    let (status, body) = call(&bearer, "/.mfa/api/totp/confirm", confirm(None)).await;
    assert_eq!(
        (status, body["error"].as_str()),
        (400, Some("current_code_required"))
    );
    let (status, body) = call(&bearer, "/.mfa/api/totp/confirm", confirm(Some("000000"))).await;
    assert_eq!(
        (status, body["error"].as_str()),
        (401, Some("invalid_current_code"))
    );
    // Refused: the second client is still signed in.
    assert_eq!(me(second_bearer.clone()).await, 200);

    let (status, body) = call(
        &bearer,
        "/.mfa/api/totp/confirm",
        confirm(Some(codes[1].as_str().unwrap())),
    )
    .await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["is_active"], true);
    // The change ended the other client's session, not this one.
    assert_eq!(me(bearer.clone()).await, 200);
    assert_eq!(me(second_bearer.clone()).await, 401);
}

/// The row of a settings table that mentions `text`.
fn row_with<'a>(page: &'a str, text: &str) -> &'a str {
    page.split("<tr>")
        .find(|row| row.contains(text))
        .unwrap_or_else(|| panic!("no row with {text:?} in {page}"))
}

/// A browser with a `User-Agent`, signed in as alice with one of her recovery codes.
async fn signed_in(gw: &Gateway, user_agent: &str, code: &str) -> Browser {
    let mut b = Browser::new(gw.addr);
    b.headers.push(("user-agent".into(), user_agent.into()));
    let csrf = common::flows::at_verify(&mut b, "alice", "secret").await;
    let released = common::flows::send_code(&mut b, &csrf, code).await;
    assert_eq!(released.status, 302, "{}", released.text());
    b
}

const FIREFOX: &str = "Mozilla/5.0 (X11; Linux x86_64; rv:133.0) Gecko/20100101 Firefox/133.0";
const PHONE: &str = "Mozilla/5.0 (Linux; Android 14; Pixel 8) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.0.0 Mobile Safari/537.36";

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sessions_and_remembered_browsers_are_listed_and_ended_one_by_one_or_everywhere() {
    let app = start_cookie_app().await;
    let gw = Gateway::start(&common::cookie_app_config(
        app.addr,
        "",
        "      policy: required",
    ));
    let mut laptop = Browser::new(gw.addr);
    laptop.headers.push(("user-agent".into(), FIREFOX.into()));
    let (_, codes) = enroll(&mut laptop, "alice", "secret").await;
    let mut phone = signed_in(&gw, PHONE, &codes[0]).await;
    let mut script = signed_in(&gw, "curl/8.5.0", &codes[1]).await;
    let mut bob = Browser::new(gw.addr);
    enroll(&mut bob, "bob", "hunter2").await;

    // Each session with its browser, device and address; the asking one marked.
    let page = laptop.get("/.mfa/settings").await.text();
    let sessions = &page[page.find("table class=\"list sessions\"").unwrap()
        ..page.find("Browsers you have signed in from").unwrap()];
    assert_eq!(
        sessions.matches("<tr>").count(),
        4,
        "a header and three sessions: {page}"
    );
    let this = row_with(sessions, "(this browser)");
    assert!(
        this.contains("Firefox \u{b7} Linux") && this.contains("127.0.0.1"),
        "{this} in {page}"
    );
    assert!(row_with(sessions, "Chrome \u{b7} Android").contains("127.0.0.1"));
    row_with(sessions, "curl");
    // Three remembered browsers (each passed the second factor); this one marked.
    let devices = &page[page.find("Browsers you have signed in from").unwrap()..];
    assert_eq!(devices.matches("<tr>").count(), 4, "{devices}");
    assert!(row_with(devices, "(this browser)").contains("Firefox"));

    // Signing the phone out from the laptop: its cookie stops working at once.
    let csrf = form_value(&page, "csrf");
    let phone_id = form_value(row_with(sessions, "Android"), "session");
    assert_eq!(phone.get("/index.php").await.status, 200);
    let ended = laptop
        .post_form(
            "/.mfa/settings/sessions/end",
            &[("csrf", &csrf), ("session", &phone_id)],
        )
        .await;
    assert_eq!(ended.status, 200, "{}", ended.text());
    assert!(ended.text().contains("That session is signed out."));
    assert_eq!(
        phone.get("/index.php").await.header("location"),
        Some("/login.php")
    );
    // Another user's session cannot be named: bob stays signed in.
    let bob_sessions = gw.cli(
        &[
            "session",
            "list",
            "--user",
            "bob",
            "--json",
            "--operator",
            "ops",
        ],
        "",
    );
    let bob_session: Value =
        serde_json::from_str(bob_sessions.stdout.lines().next().unwrap()).unwrap();
    let bob_handle = &bob_session["id"].as_str().unwrap()[..16];
    let refused = laptop
        .post_form(
            "/.mfa/settings/sessions/end",
            &[("csrf", &csrf), ("session", bob_handle)],
        )
        .await;
    assert!(refused.text().contains("That session had already ended."));
    assert_eq!(bob.get("/index.php").await.status, 200);
    // Without the session's form token nothing ends.
    let forged = laptop
        .post_form("/.mfa/settings/sessions/end", &[("session", &phone_id)])
        .await;
    assert_eq!(forged.status, 403);

    // Forgetting the phone's browser: it leaves the list; forgetting this one clears its cookie.
    let page = laptop.get("/.mfa/settings").await.text();
    let devices = &page[page.find("Browsers you have signed in from").unwrap()..];
    let phone_device = form_value(row_with(devices, "Android"), "device");
    // Another browser than this one: a session alone (a borrowed browser) cannot strip the
    // owner's browsers of their standing; a current code is needed.
    let refused = laptop
        .post_form(
            "/.mfa/settings/devices/forget",
            &[("csrf", &csrf), ("device", &phone_device)],
        )
        .await;
    assert_eq!(refused.status, 400, "{}", refused.text());
    assert!(row_with(&refused.text(), "Android").contains(&phone_device));
    let forgot = laptop
        .post_form(
            "/.mfa/settings/devices/forget",
            &[
                ("csrf", &csrf),
                ("device", &phone_device),
                ("code", &codes[2]),
            ],
        )
        .await;
    assert!(forgot.text().contains("That browser is forgotten."));
    let devices = &forgot.text()[forgot
        .text()
        .find("Browsers you have signed in from")
        .unwrap()..]
        .to_string();
    assert!(!devices.contains("Android"), "{devices}");
    let own_device = form_value(row_with(devices, "(this browser)"), "device");
    assert!(laptop.cookies.keys().any(|k| k.starts_with("mfa_device_")));
    let forgot = laptop
        .post_form(
            "/.mfa/settings/devices/forget",
            &[("csrf", &csrf), ("device", &own_device)],
        )
        .await;
    assert!(forgot.text().contains("That browser is forgotten."));
    assert!(
        !laptop.cookies.keys().any(|k| k.starts_with("mfa_device_")),
        "{:?}",
        laptop.cookies
    );

    // "Sign out everywhere" asks first, saying how many sessions it ends; nothing ends yet.
    let asked = laptop.get("/.mfa/settings/sign-out-everywhere").await;
    assert_eq!(asked.status, 200);
    assert!(
        asked.text().contains("This ends all 2 of your sessions"),
        "{}",
        asked.text()
    );
    assert_eq!(script.get("/index.php").await.status, 200);
    let done = laptop
        .post_form("/.mfa/settings/sign-out-everywhere", &[("csrf", &csrf)])
        .await;
    assert_eq!(done.status, 200);
    assert!(done.text().contains("2 sessions ended."), "{}", done.text());
    assert_eq!(
        script.get("/index.php").await.header("location"),
        Some("/login.php")
    );
    assert_eq!(laptop.get("/.mfa/settings").await.status, 401);
    assert_eq!(
        bob.get("/index.php").await.status,
        200,
        "bob's session is his own"
    );

    let events = common::audit_events(&gw);
    let reasons: Vec<&str> = events
        .iter()
        .filter(|e| e["event"] == "session_ended" && e["user"] == "alice")
        .filter_map(|e| e["reason"].as_str())
        .collect();
    assert_eq!(
        reasons,
        [
            "signed out from the user's settings",
            "signed out everywhere"
        ]
    );
    assert_eq!(
        events
            .iter()
            .filter(|e| e["event"] == "device_forgotten" && e["user"] == "alice")
            .map(|e| e["outcome"].as_str().unwrap())
            .collect::<Vec<_>>(),
        ["refused", "accepted", "accepted"]
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn api_clients_list_and_end_their_sessions() {
    let app = start_token_app().await;
    let dir = common::temp_dir("mfa-settings-sessions-api");
    let gw = Gateway::start_example("config/examples/token-api.yaml", app.addr, dir);
    let mut client = Browser::new(gw.addr);
    client
        .headers
        .push(("user-agent".into(), "python-requests/2.32.3".into()));
    let (_, bearer) = api_enrollment(&mut client).await;
    let headers = [
        ("authorization", bearer.as_str()),
        ("content-type", "application/json"),
        ("accept", "application/json"),
    ];

    let listed = client
        .request("GET", "/.mfa/api/sessions", &headers, vec![])
        .await;
    assert_eq!(listed.status, 200, "{}", listed.text());
    let list: Value = serde_json::from_slice(&listed.body).unwrap();
    assert_eq!(list.as_array().unwrap().len(), 1);
    assert_eq!(list[0]["browser"], "python-requests");
    assert_eq!(list[0]["address"], "127.0.0.1");
    assert_eq!(list[0]["current"], true);
    assert_eq!(list[0]["id"].as_str().unwrap().len(), 16);
    let missing = client
        .request(
            "POST",
            "/.mfa/api/sessions/end",
            &headers,
            json!({ "session": "0000000000000000" })
                .to_string()
                .into_bytes(),
        )
        .await;
    assert_eq!(missing.status, 404);
    let devices = client
        .request("GET", "/.mfa/api/devices", &headers, vec![])
        .await;
    assert_eq!(devices.status, 200);
    let ended = client
        .request(
            "POST",
            "/.mfa/api/sessions/end-all",
            &headers,
            b"{}".to_vec(),
        )
        .await;
    assert_eq!(ended.status, 200, "{}", ended.text());
    let ended: Value = serde_json::from_slice(&ended.body).unwrap();
    assert_eq!(ended["ended"], 1);
    let after = client
        .request("GET", "/.mfa/api/sessions", &headers, vec![])
        .await;
    assert_eq!(after.status, 401);
}

/// alice enrolled through the token app's JSON login: her TOTP secret and `Bearer …` header.
async fn api_enrollment(client: &mut Browser) -> (String, String) {
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
    (secret, bearer)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_first_factor_in_the_settings_follows_the_enrollment_rule() {
    let app = start_cookie_app().await;
    // Optional, and enrollment by invitation (the default): a password alone signs bob in,
    // but cannot set up the factor that would then guard his account.
    let gw = Gateway::start(&common::cookie_app_config(
        app.addr,
        "",
        "      policy: optional\n      enrollment: invite",
    ));
    let mut thief = Browser::new(gw.addr);
    assert_eq!(login(&mut thief, "bob", "hunter2").await.status, 302);
    let page = thief.get("/.mfa/settings/authenticator").await;
    assert_eq!(page.status, 403, "{}", page.text());
    assert!(page
        .text()
        .contains("needs an enrollment code from your administrator"));
    assert!(!page.text().contains("otpauth://"), "no secret shown");
    // Nor through the API, nor by posting a setup made elsewhere.
    let csrf = form_value(&thief.get("/.mfa/settings").await.text(), "csrf");
    let posted = thief
        .post_form(
            "/.mfa/settings/authenticator",
            &[("csrf", &csrf), ("setup", "x.y"), ("code", "123456")],
        )
        .await;
    assert_ne!(posted.status, 200);
    assert!(gw
        .cli(&["user", "list", "--json", "--operator", "ops"], "")
        .stdout
        .is_empty());
    // Invited by an administrator, bob enrolls at his next sign-in with the code.
    let invited = gw.cli(&["user", "invite", "bob", "--operator", "ops"], "");
    assert_eq!(invited.code, 0, "{}", invited.stderr);
    let mut bob = Browser::new(gw.addr);
    let next = login(&mut bob, "bob", "hunter2").await;
    assert_eq!(next.header("location"), Some("/.mfa/invite"));
}
