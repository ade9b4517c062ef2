//! The audit trail as a security team reads it: the events of a real sign-in with their fields,
//! no secret anywhere in it, and `audit verify` finding any edit, removal, insertion or swap.

mod common;

use common::apps::start_cookie_app;
use common::browser::{form_value, Browser};
use common::flows::{enroll, login};
use common::{temp_dir, Gateway, BIN};
use serde_json::Value;

const EXAMPLE: &str = "config/examples/cookie-session.yaml";

fn verify(gw: &Gateway, file: &std::path::Path) -> (bool, String) {
    let out = std::process::Command::new(BIN)
        .args(["audit", "verify"])
        .arg(file)
        .arg("--config")
        .arg(std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join(EXAMPLE))
        .env("MFA_DATA_DIR", gw.dir.join("data"))
        .output()
        .unwrap();
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    (out.status.success(), text)
}

#[tokio::test]
async fn a_sign_in_leaves_a_verifiable_trail_without_secrets() {
    let app = start_cookie_app().await;
    let gw = Gateway::start_example(EXAMPLE, app.addr, temp_dir("audit"));
    let mut browser = Browser::new(gw.addr);
    let (secret, codes) = enroll(&mut browser, "alice", "secret").await;
    let mut again = Browser::new(gw.addr);
    login(&mut again, "alice", "secret").await;
    let csrf = form_value(&again.get("/.mfa/verify").await.text(), "csrf");
    again
        .post_form("/.mfa/verify", &[("csrf", &csrf), ("code", "000000")])
        .await;
    again
        .post_form("/.mfa/verify", &[("csrf", &csrf), ("code", &codes[0])])
        .await;
    again.get("/logout.php").await;

    let file = gw.dir.join("data/audit.jsonl");
    let text = std::fs::read_to_string(&file).unwrap();
    let records: Vec<Value> = text
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    let events: Vec<&str> = records
        .iter()
        .map(|r| r["event"].as_str().unwrap())
        .collect();
    assert_eq!(
        events,
        [
            "enrollment_started",
            "login_intercepted",
            "enrollment_completed",
            "session_created",
            "login_intercepted",
            "verify_failed",
            "verify_succeeded",
            "session_created",
            "session_ended",
        ],
        "{text}"
    );
    assert_eq!(records[0]["mode"], "first_login");
    let failed = &records[5];
    assert_eq!(failed["user"], "alice");
    assert_eq!(failed["app"], "intranet");
    assert_eq!(failed["outcome"], "refused");
    assert_eq!(failed["attempts_left"], "4");
    assert_eq!(failed["client_ip"], "127.0.0.1");
    assert!(failed["time"].as_str().unwrap().ends_with('Z'));
    assert!(failed["request_id"].as_str().unwrap().len() >= 16);
    assert_eq!(records[6]["method"], "recovery_code");
    assert_eq!(records[6]["recovery_codes_left"], "9");
    assert!(records[7]["session"].as_str().unwrap().len() == 16);
    // Never a secret, a code or a cookie value.
    let mut secrets = vec![secret.clone(), codes[0].clone(), codes[0].replace('-', "")];
    secrets.extend(browser.cookies.values().cloned());
    secrets.extend(again.cookies.values().cloned());
    for s in secrets.iter().filter(|s| s.len() > 6) {
        assert!(!text.contains(s.as_str()), "{s} in the audit file");
    }

    let (ok, said) = verify(&gw, &file);
    assert!(ok, "{said}");
    assert!(said.contains("9 records, chain intact"), "{said}");

    // Tampering is found at the line it happened.
    let lines: Vec<&str> = text.lines().collect();
    let write = |lines: &[String]| {
        let path = gw.dir.join("tampered.jsonl");
        std::fs::write(&path, lines.join("\n") + "\n").unwrap();
        path
    };
    let owned: Vec<String> = lines.iter().map(|l| l.to_string()).collect();
    let mut edited = owned.clone();
    edited[4] = edited[4].replace("\"alice\"", "\"mallory\"");
    let mut removed = owned.clone();
    removed.remove(2);
    let mut inserted = owned.clone();
    inserted.insert(3, owned[0].clone());
    let mut swapped = owned.clone();
    swapped.swap(5, 6);
    for (case, lines, expected) in [
        ("edited", edited, "line 5: its MAC does not match"),
        ("removed", removed, "line 3: does not follow"),
        ("inserted", inserted, "line 4: does not follow"),
        ("swapped", swapped, "line 6: does not follow"),
    ] {
        let (ok, said) = verify(&gw, &write(&lines));
        assert!(!ok, "{case}");
        assert!(said.contains(expected), "{case}: {said}");
    }
}

#[tokio::test]
async fn a_restarted_gateway_continues_the_chain() {
    let app = start_cookie_app().await;
    let dir = temp_dir("audit-restart");
    let gw = Gateway::start_example(EXAMPLE, app.addr, dir.clone());
    let mut browser = Browser::new(gw.addr);
    enroll(&mut browser, "bob", "hunter2").await;
    drop(gw);
    let gw = Gateway::start_example(EXAMPLE, app.addr, dir.clone());
    let mut again = Browser::new(gw.addr);
    login(&mut again, "bob", "hunter2").await;
    let file = dir.join("data/audit.jsonl");
    let (ok, said) = verify(&gw, &file);
    assert!(ok, "{said}");
    assert!(said.contains("5 records"), "{said}");
}
