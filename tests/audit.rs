//! The audit trail as a security team reads it: the events of a real sign-in with their fields,
//! no secret anywhere in it, and `audit verify` finding any edit, removal, insertion or swap.

mod common;

use common::apps::start_cookie_app;
use common::browser::totp_now;
use common::browser::{form_value, Browser};
use common::flows::{at_verify, enroll, login, send_code};
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
    // A change is begun before it is made and ended after, under one id: a crash between
    // leaves a begun change that the next start reports (audit::changes).
    let begun: Vec<usize> = (0..records.len())
        .filter(|&i| records[i]["event"] == "change_begun")
        .collect();
    assert_eq!(begun.len(), 6, "{text}");
    for &i in &begun {
        let (b, e) = (&records[i], &records[i + 1]);
        assert_eq!(b["change"], e["event"]);
        assert_eq!(b["outcome"], "pending");
        assert!(b["change_id"].as_str().unwrap().len() == 16);
        assert_eq!(b["change_id"], e["change_id"]);
    }
    let records: Vec<&Value> = records
        .iter()
        .filter(|r| r["event"] != "change_begun")
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
            "device_remembered",
            "login_intercepted",
            "verify_failed",
            "verify_succeeded",
            "session_created",
            "device_remembered",
            "session_ended",
        ],
        "{text}"
    );
    assert_eq!(records[0]["mode"], "first_login");
    assert_eq!(records[2]["method"], "totp");
    let failed = &records[6];
    assert_eq!(failed["user"], "alice");
    assert_eq!(failed["app"], "intranet");
    assert_eq!(failed["outcome"], "refused");
    assert_eq!(failed["attempts_left"], "4");
    assert_eq!(failed["client_ip"], "127.0.0.1");
    assert!(failed["time"].as_str().unwrap().ends_with('Z'));
    assert!(failed["request_id"].as_str().unwrap().len() >= 16);
    assert_eq!(records[7]["method"], "recovery_code");
    assert_eq!(records[7]["recovery_codes_left"], "9");
    assert!(records[8]["session"].as_str().unwrap().len() == 16);
    // Never a secret, a code or a cookie value.
    let mut secrets = vec![secret.clone(), codes[0].clone(), codes[0].replace('-', "")];
    secrets.extend(browser.cookies.values().cloned());
    secrets.extend(again.cookies.values().cloned());
    for s in secrets.iter().filter(|s| s.len() > 6) {
        assert!(!text.contains(s.as_str()), "{s} in the audit file");
    }

    let (ok, said) = verify(&gw, &file);
    assert!(ok, "{said}");
    assert!(said.contains("17 records, chain intact"), "{said}");

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
        ("edited", edited, "tampered.jsonl:5: its MAC does not match"),
        ("removed", removed, "tampered.jsonl:3: does not follow"),
        ("inserted", inserted, "tampered.jsonl:4: does not follow"),
        ("swapped", swapped, "tampered.jsonl:6: does not follow"),
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
    assert!(said.contains("9 records"), "{said}");
}

/// Every sink gets the same sealed records (file, stdout, a Redis Stream read back with
/// `audit query --stream`), `audit query` filters them, logrotate + SIGHUP go on in a new file
/// that continues the chain, and `/metrics` shows what happened.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn all_sinks_rotation_queries_and_metrics() {
    let app = start_cookie_app().await;
    let redis =
        std::env::var("MFA_TEST_REDIS_URL").unwrap_or_else(|_| "redis://127.0.0.1:6379/".into());
    let key = format!("mfa-test-audit-{:016x}", rand::random::<u64>());
    let yaml = common::cookie_app_config(
        app.addr,
        &format!(
            "audit:\n  stdout: true\n  fsync: always\n  redis_stream:\n    url: \"{redis}\"\n    key: \"{key}\""
        ),
        "",
    );
    let gw = Gateway::start(&yaml);
    let mut alice = Browser::new(gw.addr);
    alice
        .headers
        .push(("user-agent".into(), "Mozilla/5.0 (X11; Test) Gecko".into()));
    let (_, codes) = enroll(&mut alice, "alice", "secret").await;
    let mut wrong = Browser::new(gw.addr);
    login(&mut wrong, "alice", "secret").await;
    let csrf = form_value(&wrong.get("/.mfa/verify").await.text(), "csrf");
    wrong
        .post_form("/.mfa/verify", &[("csrf", &csrf), ("code", "000000")])
        .await;
    wrong
        .post_form("/.mfa/verify", &[("csrf", &csrf), ("code", &codes[0])])
        .await;

    let file = gw.dir.join("data/audit.jsonl");
    let written = std::fs::read_to_string(&file).unwrap();
    let stdout = std::fs::read_to_string(gw.dir.join("gateway.stdout")).unwrap();
    assert_eq!(written, stdout, "stdout carries the same sealed lines");
    let first: Value = serde_json::from_str(written.lines().next().unwrap()).unwrap();
    assert_eq!(first["user_agent"], "Mozilla/5.0 (X11; Test) Gecko");
    let streamed = gw.cli(&["audit", "query", "--stream", "--json"], "");
    assert_eq!(streamed.code, 0, "{}", streamed.stderr);
    let lines = |text: &str| -> Vec<Value> {
        text.lines()
            .map(|l| serde_json::from_str(l).unwrap())
            .collect()
    };
    assert_eq!(
        lines(&streamed.stdout),
        lines(&written),
        "the stream has every record"
    );

    // Queries: who signed in with which factor, who failed.
    let ok = gw.cli(
        &[
            "audit",
            "query",
            "--event",
            "verify_succeeded",
            "--since",
            "1h",
            "--json",
        ],
        "",
    );
    let ok = lines(&ok.stdout);
    assert_eq!(ok.len(), 1);
    assert_eq!(ok[0]["method"], "recovery_code");
    let failed = gw.cli(
        &["audit", "query", "--user", "alice", "--outcome", "refused"],
        "",
    );
    let rows: Vec<&str> = failed.stdout.lines().collect();
    assert!(rows[0].starts_with("TIME"), "{}", failed.stdout);
    assert_eq!(rows.len(), 2, "{}", failed.stdout);
    assert!(rows[1].contains("verify_failed") && rows[1].contains("reason=wrong code"));
    let none = gw.cli(
        &[
            "audit",
            "query",
            "--since",
            "2001-01-01",
            "--until",
            "2001-01-02",
            "--json",
        ],
        "",
    );
    assert_eq!(none.stdout, "");
    let bad = gw.cli(&["audit", "query", "--since", "last tuesday"], "");
    assert_eq!(bad.code, 2);

    // logrotate: the file is moved away, SIGHUP, and the next records start a new file that
    // continues the chain.
    let rotated = gw.dir.join("data/audit.jsonl.1");
    std::fs::rename(&file, &rotated).unwrap();
    gw.signal("HUP");
    gw.wait_for_log("configuration reloaded");
    let mut bob = Browser::new(gw.addr);
    enroll(&mut bob, "bob", "hunter2").await;
    let new_text = std::fs::read_to_string(&file).unwrap();
    let new_first: Value = serde_json::from_str(new_text.lines().next().unwrap()).unwrap();
    assert_eq!(new_first["event"], "config_reloaded");
    let both = gw.cli(
        &[
            "audit",
            "verify",
            rotated.to_str().unwrap(),
            file.to_str().unwrap(),
        ],
        "",
    );
    assert_eq!(both.code, 0, "{}{}", both.stdout, both.stderr);
    let alone = gw.cli(&["audit", "verify", file.to_str().unwrap()], "");
    assert_eq!(alone.code, 0);
    // No file named: the one the config writes, as `audit query` does.
    let configured = gw.cli(&["audit", "verify"], "");
    assert_eq!(configured.code, 0, "{}", configured.stderr);
    assert_eq!(configured.stdout, alone.stdout);
    assert!(
        alone.stdout.contains("continues an earlier file"),
        "{}",
        alone.stdout
    );
    let swapped = gw.cli(
        &[
            "audit",
            "verify",
            file.to_str().unwrap(),
            rotated.to_str().unwrap(),
        ],
        "",
    );
    assert_eq!(swapped.code, 1, "files out of order break the chain");
    assert!(
        swapped.stderr.contains("audit.jsonl.1:1:"),
        "{}",
        swapped.stderr
    );

    // The metrics, scraped and parsed.
    let page = common::get(gw.admin, "admin", "/metrics", &[]).await.text();
    let m = common::parse_metrics(&page);
    let records = (written.lines().count() + new_text.lines().count()) as f64;
    assert_eq!(m["mfa_gateway_audit_records_total"], records, "{page}");
    let outcome = |method: &str, result: &str| {
        m.get(&format!(
            "mfa_gateway_mfa_outcomes_total{{app=\"intranet\",method=\"{method}\",result=\"{result}\"}}"
        ))
        .copied()
        .unwrap_or(0.0)
    };
    assert_eq!(outcome("enrollment", "accepted"), 2.0);
    assert_eq!(outcome("recovery_code", "accepted"), 1.0);
    assert_eq!(outcome("unknown", "refused"), 1.0);
    assert_eq!(m["mfa_gateway_sessions_active"], 3.0);
    assert_eq!(m["mfa_gateway_challenges_pending"], 0.0);
    assert_eq!(m["mfa_gateway_users_locked"], 0.0);
    assert!(m["mfa_gateway_store_seconds_count{store=\"memory\"}"] > 10.0);
    assert!(m["mfa_gateway_store_seconds_count{store=\"sqlite\"}"] > 5.0);
    assert!(!m
        .keys()
        .any(|k| k.starts_with("mfa_gateway_audit_sink_errors_total{") && m[k] > 0.0));
}

/// A code that was real but already used is recorded (and told) as such, at sign-in and in
/// the settings, and still counts as a failure; a wrong code in the settings is recorded too.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_used_code_is_recorded_as_used_not_as_wrong() {
    let app = start_cookie_app().await;
    let gw = Gateway::start_example(EXAMPLE, app.addr, temp_dir("audit-spent"));
    let mut alice = Browser::new(gw.addr);
    let (secret, codes) = enroll(&mut alice, "alice", "secret").await;

    // The current code was used by the enrollment, or (the step turned meanwhile) is used
    // by this first sign-in.
    let mut first = Browser::new(gw.addr);
    let csrf = at_verify(&mut first, "alice", "secret").await;
    let code = totp_now(&secret, 0);
    let replays = match send_code(&mut first, &csrf, &code).await.status {
        302 => 1,
        303 => 2,
        other => panic!("{other}"),
    };
    // The same code again, within its 30 s, in another sign-in: a replay.
    let mut again = Browser::new(gw.addr);
    let csrf = at_verify(&mut again, "alice", "secret").await;
    let answer = send_code(&mut again, &csrf, &code).await;
    let page = common::flows::after_wrong_code(&mut again, &answer).await;
    assert!(
        page.contains("already used. Wait for the next code"),
        "{page}"
    );
    // A used recovery code releases the login; its own replay above is not reported to alice,
    // but a replay in `first`'s sign-in (when the step had moved on) is.
    let told = if replays == 2 { 200 } else { 302 };
    assert_eq!(send_code(&mut again, &csrf, &codes[0]).await.status, told);
    let mut reused = Browser::new(gw.addr);
    let csrf = at_verify(&mut reused, "alice", "secret").await;
    let answer = send_code(&mut reused, &csrf, &codes[0]).await;
    let page = common::flows::after_wrong_code(&mut reused, &answer).await;
    assert!(page.contains("4 attempts left"), "{page}");
    // Before the second factor, only the audit trail says a recovery code was used: the
    // holder of a stolen list is not told which codes are gone.
    assert!(!page.contains("already used"), "{page}");

    // The settings: a wrong code and a used one.
    for code in ["000000", codes[0].as_str()] {
        let answer = alice
            .post_json(
                "/.mfa/api/recovery-codes",
                &serde_json::json!({ "code": code }),
            )
            .await;
        assert_eq!(answer.status, 401, "{}", answer.text());
    }

    let text = std::fs::read_to_string(gw.dir.join("data/audit.jsonl")).unwrap();
    let refused: Vec<(String, String)> = text
        .lines()
        .map(|l| serde_json::from_str::<Value>(l).unwrap())
        .filter(|r| r["outcome"] == "refused")
        .map(|r| {
            (
                r["event"].as_str().unwrap().to_string(),
                r["reason"].as_str().unwrap().to_string(),
            )
        })
        .collect();
    let spent = ("verify_failed", "code already used");
    let expected: Vec<(String, String)> = std::iter::repeat_n(spent, replays)
        .chain([
            ("verify_failed", "code already used"),
            ("recovery_codes_regenerated", "wrong code"),
            ("recovery_codes_regenerated", "code already used"),
        ])
        .map(|(e, r)| (e.to_string(), r.to_string()))
        .collect();
    assert_eq!(refused, expected, "{text}");
}
