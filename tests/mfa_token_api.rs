//! The JSON flow in front of a token-login API, with `config/examples/token-api.yaml`
//! unchanged: `mfa_required` + `ephemeral_token`, enrollment through the API, verify, the
//! token released, and unbound tokens refused.

mod common;

use common::apps::{mint_session, start_token_app, App};
use common::browser::{base32_decode, totp_now, Browser};
use common::{temp_dir, Answer, Gateway};
use serde_json::{json, Value};

const EXAMPLE: &str = "config/examples/token-api.yaml";

async fn setup() -> (App, Gateway) {
    let app = start_token_app().await;
    let gw = Gateway::start_example(EXAMPLE, app.addr, temp_dir("mfa-token"));
    (app, gw)
}

fn json_of(answer: &Answer) -> Value {
    serde_json::from_slice(&answer.body)
        .unwrap_or_else(|_| panic!("not JSON ({}): {}", answer.status, answer.text()))
}

async fn login(client: &mut Browser, user: &str, pass: &str) -> Answer {
    client
        .post_json("/api/login", &json!({ "username": user, "password": pass }))
        .await
}

/// Enrolls `user` through the API; returns the base32 secret, the backup codes and the token.
async fn enroll(client: &mut Browser, user: &str, pass: &str) -> (String, Vec<String>, String) {
    let answer = login(client, user, pass).await;
    assert_eq!(answer.status, 200);
    let body = json_of(&answer);
    assert_eq!(body["mfa_required"], true);
    assert_eq!(body["enrollment_required"], true);
    assert!(
        body.get("token").is_none(),
        "token leaked before MFA: {body}"
    );
    let uri = body["otpauth_uri"].as_str().unwrap();
    let secret = body["secret"].as_str().unwrap().to_string();
    assert!(uri.starts_with("otpauth://totp/Orders%20API:"), "{uri}");
    assert!(uri.contains(&format!("secret={secret}&")));
    assert_eq!(base32_decode(&secret).len(), 20, "160-bit secret");
    assert!(body["qr_svg"].as_str().unwrap().starts_with("<svg"));
    let enrolled = client
        .post_json(
            "/.mfa/api/enroll",
            &json!({ "ephemeral_token": body["ephemeral_token"], "code": totp_now(&secret, 0) }),
        )
        .await;
    assert_eq!(enrolled.status, 200, "{}", enrolled.text());
    let released = json_of(&enrolled);
    let codes: Vec<String> = released["backup_codes"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c.as_str().unwrap().to_string())
        .collect();
    assert_eq!(codes.len(), 10);
    assert_eq!(released["user"], user);
    let token = released["token"].as_str().unwrap().to_string();
    (secret, codes, token)
}

async fn me(client: &mut Browser, authorization: &str) -> Answer {
    client
        .request(
            "GET",
            "/api/me",
            &[
                ("authorization", authorization),
                ("accept", "application/json"),
            ],
            Vec::new(),
        )
        .await
}

#[tokio::test]
async fn api_clients_enroll_verify_and_use_the_released_token() {
    let (_app, gw) = setup().await;
    let mut client = Browser::new(gw.addr);

    // Wrong password: the app's own answer.
    let wrong = login(&mut client, "alice", "nope").await;
    assert_eq!(wrong.status, 401);
    assert_eq!(json_of(&wrong)["error"], "bad credentials");

    let (secret, _codes, token) = enroll(&mut client, "alice", "secret").await;
    let answer = me(&mut client, &format!("Bearer {token}")).await;
    assert_eq!(answer.status, 200);
    assert_eq!(json_of(&answer)["user"], "alice");

    // Next login: a code, not enrollment, in the Django REST MFA shape.
    let answer = login(&mut client, "alice", "secret").await;
    let body = json_of(&answer);
    assert_eq!(body["mfa_required"], true);
    assert_eq!(body["method"], "totp");
    assert_eq!(body["methods"], json!(["totp", "recovery_code"]));
    assert_eq!(body["expires_in"], 300);
    assert!(body.get("enrollment_required").is_none());
    let ephemeral = body["ephemeral_token"].clone();

    let bad = client
        .post_json(
            "/.mfa/api/verify",
            &json!({ "ephemeral_token": ephemeral, "code": "000000" }),
        )
        .await;
    assert_eq!(bad.status, 401);
    assert_eq!(json_of(&bad)["remaining_attempts"], 4);

    // A digit short is a typo, not a guess: refused, not counted (issue 18).
    let short = client
        .post_json(
            "/.mfa/api/verify",
            &json!({ "ephemeral_token": ephemeral, "code": "00000" }),
        )
        .await;
    assert_eq!(short.status, 400);
    assert_eq!(json_of(&short)["error"], "code_malformed");

    // Several codes at once: refused and counted (SECURITY-TESTS 7).
    let many = client
        .post_json(
            "/.mfa/api/verify",
            &json!({ "ephemeral_token": ephemeral, "code": ["111111", "222222"] }),
        )
        .await;
    assert_eq!(many.status, 400);

    let ok = client
        .post_json(
            "/.mfa/api/verify",
            &json!({ "ephemeral_token": ephemeral, "code": totp_now(&secret, 30), "method": "totp" }),
        )
        .await;
    assert_eq!(ok.status, 200, "{}", ok.text());
    let new_token = json_of(&ok)["token"].as_str().unwrap().to_string();
    assert_eq!(
        me(&mut client, &format!("Bearer {new_token}")).await.status,
        200
    );

    // The challenge was consumed: the same ephemeral token releases nothing twice.
    let again = client
        .post_json(
            "/.mfa/api/verify",
            &json!({ "ephemeral_token": ephemeral, "code": totp_now(&secret, 30) }),
        )
        .await;
    assert_eq!(again.status, 401);
    assert_eq!(json_of(&again)["error"], "expired");

    // The same code in a new sign-in is a replay: named as such. From the client that just
    // used it (it keeps the device cookie) it costs nothing; from any other it is counted.
    for (mut who, left) in [(client, 5), (Browser::new(gw.addr), 4)] {
        let body = json_of(&login(&mut who, "alice", "secret").await);
        let replay = who
            .post_json(
                "/.mfa/api/verify",
                &json!({ "ephemeral_token": body["ephemeral_token"], "code": totp_now(&secret, 30) }),
            )
            .await;
        assert_eq!(replay.status, 401);
        let said = json_of(&replay);
        assert_eq!(said["error"], "code_already_used", "{said}");
        assert_eq!(said["remaining_attempts"], left);
        assert!(said["message"].as_str().unwrap().contains("next code"));
    }
}

#[tokio::test]
async fn tokens_the_gateway_did_not_release_are_refused() {
    let (app, gw) = setup().await;
    let mut client = Browser::new(gw.addr);
    // A token straight from the app (a session minted around the gateway).
    let foreign = mint_session(&app.state, "alice");
    for authorization in [
        format!("Bearer {foreign}"),
        "Basic YWxpY2U6c2VjcmV0".to_string(),
        "Bearer".to_string(),
    ] {
        let before = app.state.visits().len();
        let answer = me(&mut client, &authorization).await;
        assert_eq!(answer.status, 401, "{authorization}");
        assert_eq!(json_of(&answer)["error"], "unauthorized");
        assert_eq!(app.state.visits().len(), before, "the app was contacted");
    }
}

#[tokio::test]
async fn forged_foreign_and_expired_ephemeral_tokens_release_nothing() {
    let (_app, gw) = setup().await;
    let mut client = Browser::new(gw.addr);
    let (alice_secret, _, _) = enroll(&mut client, "alice", "secret").await;
    enroll(&mut client, "bob", "hunter2").await;

    let bob = json_of(&login(&mut client, "bob", "hunter2").await);
    let token = bob["ephemeral_token"].as_str().unwrap();

    // Alice's valid code in Bob's challenge (SECURITY-TESTS 8).
    let crossed = client
        .post_json(
            "/.mfa/api/verify",
            &json!({ "ephemeral_token": token, "code": totp_now(&alice_secret, 30) }),
        )
        .await;
    assert_eq!(crossed.status, 401);
    assert_eq!(json_of(&crossed)["error"], "invalid_code");

    // The user name swapped inside the token: the signature no longer holds (SECURITY-TESTS 12).
    let (payload, signature) = token.split_once('.').unwrap();
    use base64::Engine;
    let b64 = base64::engine::general_purpose::URL_SAFE_NO_PAD;
    let text = String::from_utf8(b64.decode(payload).unwrap()).unwrap();
    let swapped = format!("{}.{signature}", b64.encode(text.replace("bob", "alice")));
    for bad in [swapped.as_str(), "garbage", ""] {
        let answer = client
            .post_json(
                "/.mfa/api/verify",
                &json!({ "ephemeral_token": bad, "code": totp_now(&alice_secret, 30) }),
            )
            .await;
        assert_eq!(answer.status, 401, "{bad}");
        assert_eq!(json_of(&answer)["error"], "invalid_token");
    }
    let missing = client
        .post_json("/.mfa/api/verify", &json!({ "code": "1" }))
        .await;
    assert_eq!(missing.status, 401);
    let not_json = client
        .request(
            "POST",
            "/.mfa/api/verify",
            &[("content-type", "application/json")],
            b"{".to_vec(),
        )
        .await;
    assert_eq!(not_json.status, 400);
}

#[tokio::test]
async fn api_clients_sign_out_with_a_json_post_only() {
    let (_app, gw) = setup().await;
    let mut client = Browser::new(gw.addr);
    let (_secret, _codes, token) = enroll(&mut client, "alice", "secret").await;
    let bearer = format!("Bearer {token}");
    assert_eq!(me(&mut client, &bearer).await.status, 200);

    // A GET never signs out.
    let get = client
        .request(
            "GET",
            "/.mfa/logout",
            &[("authorization", &bearer), ("accept", "application/json")],
            Vec::new(),
        )
        .await;
    assert_eq!(get.status, 405);
    assert_eq!(json_of(&get)["error"], "method_not_allowed");
    assert_eq!(me(&mut client, &bearer).await.status, 200);
    // A POST that is not JSON (what a page on another site can send) needs the form token.
    let form = client
        .request(
            "POST",
            "/.mfa/logout",
            &[
                ("authorization", &bearer),
                ("accept", "application/json"),
                ("content-type", "text/plain"),
            ],
            b"{}".to_vec(),
        )
        .await;
    assert_eq!(form.status, 403);
    assert_eq!(json_of(&form)["error"], "csrf_failed");
    assert_eq!(me(&mut client, &bearer).await.status, 200);

    let out = client
        .request(
            "POST",
            "/.mfa/logout",
            &[
                ("authorization", &bearer),
                ("accept", "application/json"),
                ("content-type", "application/json"),
            ],
            b"{}".to_vec(),
        )
        .await;
    assert_eq!(out.status, 200, "{}", out.text());
    assert_eq!(json_of(&out)["detail"], "Signed out.");
    assert_eq!(me(&mut client, &bearer).await.status, 401);
    // Nothing left to end.
    let again = client.post_json("/.mfa/logout", &json!({})).await;
    assert_eq!(again.status, 401);
    assert_eq!(json_of(&again)["error"], "not_authenticated");
}
