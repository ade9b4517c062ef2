//! The admin commands against a running gateway on the embedded stores (its sessions and locks
//! reached through the signed admin API), and the `invite` enrollment mode they serve.

mod common;

use common::apps::start_cookie_app;
use common::browser::{enrollment_secret, form_value, recovery_codes, totp_now, Browser};
use common::flows::{at_verify, enroll, login, send_code};
use common::{audit_events, Answer, Gateway};

fn config(upstream: std::net::SocketAddr, enrollment: &str) -> String {
    common::cookie_app_config(
        upstream,
        "",
        &format!("      policy: required\n      enrollment: {enrollment}"),
    )
}

async fn verify_with(b: &mut Browser, user: &str, pass: &str, code: &str) -> Answer {
    let csrf = at_verify(b, user, pass).await;
    send_code(b, &csrf, code).await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn admins_list_lock_unlock_revoke_and_reset_users_of_a_running_gateway() {
    let app = start_cookie_app().await;
    let gw = Gateway::start(&config(app.addr, "first_login"));
    let mut alice = Browser::new(gw.addr);
    let (alice_secret, alice_codes) = enroll(&mut alice, "alice", "secret").await;
    let mut bob = Browser::new(gw.addr);
    let (_, bob_codes) = enroll(&mut bob, "bob", "hunter2").await;
    let as_ops = |args: &[&str]| {
        let mut all = args.to_vec();
        all.extend(["--operator", "ops-jane"]);
        gw.cli(&all, "")
    };

    // user list: both users, their methods and codes; never a secret.
    let list = as_ops(&["user", "list"]);
    assert_eq!(list.code, 0, "{}", list.stderr);
    let lines: Vec<&str> = list.stdout.lines().collect();
    assert!(lines[0].starts_with("USER "), "{}", list.stdout);
    assert!(lines.iter().any(|l| l.starts_with("alice ")
        && l.contains("totp,recovery_code")
        && l.contains(" 10 ")));
    assert!(lines.iter().any(|l| l.starts_with("bob ")));
    let json = as_ops(&["user", "list", "--json"]);
    let rows: Vec<serde_json::Value> = json
        .stdout
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert_eq!(rows.len(), 2, "{}{}", json.stdout, json.stderr);
    assert_eq!(rows[0]["user"], "alice");
    assert_eq!(rows[0]["apps"], serde_json::json!(["intranet"]));
    assert_eq!(rows[0]["locked_until"], serde_json::Value::Null);

    // session list: the two sessions enrollment started, by the id prefix the audit trail uses.
    let sessions = as_ops(&["session", "list", "--json"]);
    let sessions: Vec<serde_json::Value> = sessions
        .stdout
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert_eq!(sessions.len(), 2);
    let alice_session = sessions.iter().find(|s| s["user"] == "alice").unwrap();
    let alice_id = alice_session["id"].as_str().unwrap().to_string();
    let created: Vec<String> = audit_events(&gw)
        .iter()
        .filter(|e| e["event"] == "session_created" && e["user"] == "alice")
        .map(|e| e["session"].as_str().unwrap().to_string())
        .collect();
    assert_eq!(created, [alice_id[..16].to_string()]);

    // Remembered browsers: listed by `user devices` and `user show`, forgotten one by one (by
    // the id prefix the audit trail uses), each change audited.
    let devices = as_ops(&["user", "devices", "alice", "--json"]);
    assert_eq!(devices.code, 0, "{}", devices.stderr);
    let devices: Vec<serde_json::Value> = devices
        .stdout
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert_eq!(devices.len(), 1);
    let device = devices[0]["id"].as_str().unwrap().to_string();
    let remembered: Vec<String> = audit_events(&gw)
        .iter()
        .filter(|e| e["event"] == "device_remembered" && e["user"] == "alice")
        .map(|e| e["device"].as_str().unwrap().to_string())
        .collect();
    assert_eq!(remembered, std::slice::from_ref(&device));
    let table = as_ops(&["user", "devices", "alice"]);
    assert!(table.stdout.starts_with("ID "), "{}", table.stdout);
    assert!(table.stdout.contains("127.0.0.1"), "{}", table.stdout);
    let show = as_ops(&["user", "show", "alice"]);
    assert!(
        show.stdout.contains("remembered browsers: 1") && show.stdout.contains(&device),
        "{}",
        show.stdout
    );
    let unnamed = as_ops(&["user", "forget", "alice"]);
    assert_eq!(unnamed.code, 2, "{}", unnamed.stderr);
    let unknown = as_ops(&["user", "forget", "alice", "zzzzzzzzzz"]);
    assert_ne!(unknown.code, 0);
    assert!(
        unknown.stderr.contains("no remembered browser"),
        "{}",
        unknown.stderr
    );
    let forgot = as_ops(&["user", "forget", "alice", &device[..10]]);
    assert_eq!(forgot.code, 0, "{}", forgot.stderr);
    assert_eq!(
        forgot.stdout.trim(),
        "1 remembered browser of alice (intranet) forgotten"
    );
    assert!(as_ops(&["user", "show", "alice"])
        .stdout
        .contains("remembered browsers: 0"));
    assert!(audit_events(&gw)
        .iter()
        .any(|e| e["event"] == "admin_devices_forgotten"
            && e["user"] == "alice"
            && e["device"] == device.as_str()
            && e["operator"] == "ops-jane"));

    // Ten wrong codes from new browsers lock alice's sign-in from new browsers; user list and
    // show say so; unlock lets her in again with a correct code (the lock's end, made by an
    // admin instead of waiting).
    for _ in 0..10 {
        let mut b = Browser::new(gw.addr);
        verify_with(&mut b, "alice", "secret", "000000").await;
    }
    let mut b = Browser::new(gw.addr);
    assert_eq!(login(&mut b, "alice", "secret").await.status, 429);
    let show = as_ops(&["user", "show", "alice"]);
    assert!(
        show.stdout.contains("locked:             until"),
        "{}",
        show.stdout
    );
    assert!(show.stdout.contains("recovery codes:     10 left"));
    let unlocked = as_ops(&["user", "unlock", "alice"]);
    assert_eq!(unlocked.stdout.trim(), "alice (intranet) unlocked");
    let mut b = Browser::new(gw.addr);
    let released = verify_with(&mut b, "alice", "secret", &alice_codes[0]).await;
    // Released, and alice is told of the ten guesses first (the page leads on to the app).
    assert_eq!(released.status, 200, "{}", released.text());
    assert!(released.text().contains("then 10 wrong codes"));

    // An admin lock refuses bob even with a correct code; unlock ends it.
    let locked = as_ops(&["user", "lock", "bob", "--for", "1h"]);
    assert_eq!(locked.code, 0, "{}", locked.stderr);
    assert!(locked.stdout.starts_with("bob (intranet) locked until "));
    let mut b = Browser::new(gw.addr);
    assert_eq!(login(&mut b, "bob", "hunter2").await.status, 429);
    as_ops(&["user", "unlock", "bob"]);
    let mut b = Browser::new(gw.addr);
    assert_eq!(
        verify_with(&mut b, "bob", "hunter2", &bob_codes[0])
            .await
            .status,
        302
    );

    // Revoking alice's first session by its prefix: her old cookie stops working at once.
    assert_eq!(alice.get("/index.php").await.text(), "<h1>Hello alice</h1>");
    let revoked = as_ops(&["session", "revoke", &alice_id[..12]]);
    assert_eq!(revoked.code, 0, "{}", revoked.stderr);
    assert_eq!(
        alice.get("/index.php").await.header("location"),
        Some("/login.php")
    );
    let bad = as_ops(&["session", "revoke", "abc"]);
    assert_eq!(bad.code, 2);
    // All of bob's sessions (the enrollment one and the one after unlock).
    let all = as_ops(&["session", "revoke", "--user", "bob"]);
    assert_eq!(all.stdout.trim(), "2 sessions of bob (intranet) ended");
    assert_eq!(
        bob.get("/index.php").await.header("location"),
        Some("/login.php")
    );

    // Reset asks first; "no" changes nothing.
    let declined = gw.cli(&["user", "reset", "alice", "--operator", "ops-jane"], "n\n");
    assert_eq!(declined.code, 2, "{}", declined.stderr);
    assert!(as_ops(&["user", "show", "alice"])
        .stdout
        .contains("authenticator app:  enrolled"));
    let reset = as_ops(&["user", "reset", "alice", "--yes"]);
    assert_eq!(reset.code, 0, "{}", reset.stderr);
    assert!(
        reset
            .stdout
            .contains("authenticator removed, 9 recovery codes removed, 1 session ended"),
        "{}",
        reset.stdout
    );
    // alice enrolls again at her next sign-in; the old secret and codes are worthless.
    let mut b = Browser::new(gw.addr);
    let next = login(&mut b, "alice", "secret").await;
    assert_eq!(next.header("location"), Some("/.mfa/enroll"));

    // Every change is in the trail with the operator, the trail is one intact chain with the
    // gateway's own records, and nothing printed carries a secret.
    let events = audit_events(&gw);
    let by_admin: Vec<(&str, &str)> = events
        .iter()
        .filter(|e| e["operator"] == "ops-jane" && e["event"] != "change_begun")
        .map(|e| (e["event"].as_str().unwrap(), e["user"].as_str().unwrap()))
        .collect();
    assert_eq!(
        by_admin,
        [
            ("admin_devices_forgotten", "alice"),
            ("user_unlocked", "alice"),
            ("user_locked", "bob"),
            ("user_unlocked", "bob"),
            ("session_ended", "alice"),
            ("session_ended", "bob"),
            ("admin_user_reset", "alice"),
        ]
    );
    // Each was begun before it was made, under the id its end record carries.
    for ended in events
        .iter()
        .filter(|e| e["operator"] == "ops-jane" && e["event"] != "change_begun")
    {
        let id = &ended["change_id"];
        assert!(
            events.iter().any(|b| b["event"] == "change_begun"
                && b["change_id"] == *id
                && b["change"] == ended["event"]),
            "{ended}"
        );
    }
    assert!(events
        .iter()
        .any(|e| e["event"] == "enrollment_started" && e["mode"] == "first_login"));
    let verify = gw.cli(
        &[
            "audit",
            "verify",
            gw.dir.join("data/audit.jsonl").to_str().unwrap(),
        ],
        "",
    );
    assert_eq!(verify.code, 0, "{}{}", verify.stdout, verify.stderr);
    for run in [list, json, show, reset] {
        for secret in std::iter::once(&alice_secret)
            .chain(&alice_codes)
            .chain(&bob_codes)
        {
            assert!(!run.stdout.contains(secret.as_str()) && !run.stderr.contains(secret.as_str()));
        }
    }
    // As a value (a bare 6-digit run also turns up inside the hex of hashes now and then).
    let code = totp_now(&alice_secret, 0);
    let trail = std::fs::read_to_string(gw.dir.join("data/audit.jsonl")).unwrap();
    assert!(!trail.contains(&format!("\"{code}\"")) && !trail.contains(&format!(":{code}")));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn without_the_gateway_running_what_lives_in_the_database_is_still_managed() {
    let app = start_cookie_app().await;
    let mut gw = Gateway::start(&config(app.addr, "first_login"));
    let mut b = Browser::new(gw.addr);
    enroll(&mut b, "alice", "secret").await;
    // Running, but the command's config names another admin address: a refused connection
    // is not taken for a stopped gateway, so nothing is changed and no session survives a
    // reset unseen.
    let written = std::fs::read_to_string(&gw.config).unwrap();
    let elsewhere = gw.dir.join("elsewhere.yaml");
    let other = common::free_address_pair().1;
    std::fs::write(
        &elsewhere,
        written.replace(&gw.admin.to_string(), &other.to_string()),
    )
    .unwrap();
    let out = std::process::Command::new(common::BIN)
        .args([
            "user",
            "reset",
            "alice",
            "--yes",
            "--operator",
            "ops",
            "--config",
        ])
        .arg(&elsewhere)
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{stderr}");
    assert!(stderr.contains("a gateway is running"), "{stderr}");
    assert_eq!(
        b.get("/index.php").await.status,
        200,
        "alice's session lives on"
    );
    gw.child.kill().unwrap();
    gw.child.wait().unwrap();
    let ops = |args: &[&str]| {
        let mut all = args.to_vec();
        all.extend(["--operator", "ops"]);
        gw.cli(&all, "")
    };
    // Users and factors come from SQLite; sessions and locks died with the gateway's memory,
    // and the output says so.
    let list = ops(&["user", "list"]);
    assert_eq!(list.code, 0, "{}", list.stderr);
    assert!(
        list.stdout.lines().any(|l| l.starts_with("alice ")),
        "{}",
        list.stdout
    );
    assert!(
        list.stderr.contains("the gateway is not running") && list.stderr.contains("database"),
        "{}",
        list.stderr
    );
    let sessions = ops(&["session", "list"]);
    assert_eq!(sessions.code, 0, "{}", sessions.stderr);
    assert!(
        sessions.stderr.contains("not running"),
        "{}",
        sessions.stderr
    );
    let invite = ops(&["user", "invite", "bob"]);
    assert_eq!(invite.code, 0, "{}", invite.stderr);
    let show = ops(&["user", "show", "bob"]);
    assert!(show.stdout.contains("pending"), "{}", show.stdout);
    // A lock would live in the memory of a gateway that is not there: refused, with why.
    let lock = ops(&["user", "lock", "alice"]);
    assert_eq!(lock.code, 1);
    assert!(
        lock.stderr.contains("start the gateway first"),
        "{}",
        lock.stderr
    );
    let reset = ops(&["user", "reset", "alice", "--yes"]);
    assert_eq!(reset.code, 0, "{}", reset.stderr);
    assert!(
        reset.stdout.contains("authenticator removed"),
        "{}",
        reset.stdout
    );
    let events = audit_events(&gw);
    assert!(events
        .iter()
        .any(|e| e["event"] == "admin_user_reset" && e["operator"] == "ops"));

    // Without an admin listener, a running gateway's sessions cannot be asked for: listing
    // says so, changes to them are refused.
    let written = std::fs::read_to_string(&gw.config).unwrap();
    let admin_block = format!("admin:\n  address: \"{}\"\n", gw.admin);
    assert!(written.contains(&admin_block), "{written}");
    let quiet = gw.dir.join("no-admin.yaml");
    std::fs::write(
        &quiet,
        written.replace(&admin_block, "admin:\n  enabled: false\n"),
    )
    .unwrap();
    let run = |args: &[&str]| {
        let out = std::process::Command::new(common::BIN)
            .args(args)
            .args(["--operator", "ops", "--config"])
            .arg(&quiet)
            .output()
            .unwrap();
        (
            out.status.code(),
            String::from_utf8_lossy(&out.stderr).to_string(),
        )
    };
    let (code, stderr) = run(&["user", "list"]);
    assert_eq!(code, Some(0), "{stderr}");
    assert!(stderr.contains("no admin listener"), "{stderr}");
    let (code, stderr) = run(&["session", "revoke", "--user", "alice"]);
    assert_eq!(code, Some(1));
    assert!(stderr.contains("admin.address"), "{stderr}");
    // A forged request to a running gateway's admin API is refused.
    let gw = Gateway::start(&config(app.addr, "first_login"));
    let forged = common::raw_request(
        gw.admin,
        b"POST /admin/v1/state HTTP/1.1\r\nHost: a\r\nContent-Type: application/json\r\nx-mfa-admin-time: 1\r\nx-mfa-admin-signature: AAAA\r\nContent-Length: 13\r\nConnection: close\r\n\r\n{\"op\":\"locks\"}",
    )
    .unwrap();
    assert!(forged.starts_with("HTTP/1.1 401"), "{forged}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn invite_mode_needs_the_code_from_an_admin_before_any_secret_is_shown() {
    let app = start_cookie_app().await;
    let gw = Gateway::start(&config(app.addr, "invite"));

    // Password alone: the invitation page, no secret anywhere, enroll sends back.
    let mut carol = Browser::new(gw.addr);
    let answer = login(&mut carol, "carol", "pw").await;
    assert_eq!(answer.header("location"), Some("/.mfa/invite"));
    let page = carol.get("/.mfa/invite").await;
    assert_eq!(page.status, 200);
    assert!(page.text().contains("invitation code"));
    assert!(!page.text().contains("otpauth://"));
    let enroll_page = carol.get("/.mfa/enroll").await;
    assert_eq!(enroll_page.header("location"), Some("/.mfa/invite"));
    let csrf = form_value(&page.text(), "csrf");
    let wrong = carol
        .post_form(
            "/.mfa/invite",
            &[("csrf", &csrf), ("code", "abcd-efgh-jkmn")],
        )
        .await;
    let shown = common::flows::after_wrong_code(&mut carol, &wrong).await;
    assert!(shown.contains("4 attempts left"), "{shown}");

    // The admin's code opens enrollment, once.
    let invite = gw.cli(&["user", "invite", "carol", "--valid-for", "1h"], "");
    assert_eq!(invite.code, 0, "{}", invite.stderr);
    let code = invite
        .stdout
        .lines()
        .next()
        .unwrap()
        .rsplit(' ')
        .next()
        .unwrap()
        .to_string();
    assert_eq!(code.len(), 14, "xxxx-xxxx-xxxx: {}", invite.stdout);
    assert!(gw
        .cli(&["user", "show", "carol"], "")
        .stdout
        .contains("invitation:         pending"));
    let accepted = carol
        .post_form(
            "/.mfa/invite",
            &[("csrf", &csrf), ("code", &code.to_uppercase())],
        )
        .await;
    assert_eq!(
        accepted.header("location"),
        Some("/.mfa/enroll"),
        "{}",
        accepted.text()
    );
    let page = carol.get("/.mfa/enroll").await.text();
    let secret = enrollment_secret(&page);
    let csrf = form_value(&page, "csrf");
    let codes = carol
        .post_form(
            "/.mfa/enroll",
            &[("csrf", &csrf), ("code", &totp_now(&secret, 0))],
        )
        .await;
    assert_eq!(codes.status, 303, "{}", codes.text());
    let codes = carol.get("/.mfa/enroll").await;
    assert_eq!(recovery_codes(&codes.text()).len(), 10);

    // The same code again (another user's login, or carol's own) is worthless.
    let mut alice = Browser::new(gw.addr);
    login(&mut alice, "alice", "secret").await;
    let csrf = form_value(&alice.get("/.mfa/invite").await.text(), "csrf");
    let reused = alice
        .post_form("/.mfa/invite", &[("csrf", &csrf), ("code", &code)])
        .await;
    assert_eq!(reused.status, 303);

    // An API client: told an invitation is needed, no secret until it sends the code.
    let invite = gw.cli(&["user", "invite", "bob"], "");
    let code = invite
        .stdout
        .lines()
        .next()
        .unwrap()
        .rsplit(' ')
        .next()
        .unwrap()
        .to_string();
    let mut api = Browser::new(gw.addr);
    let started = api
        .request(
            "POST",
            "/login.php",
            &[
                ("content-type", "application/x-www-form-urlencoded"),
                ("accept", "application/json"),
            ],
            b"user=bob&pass=hunter2".to_vec(),
        )
        .await;
    let body: serde_json::Value = serde_json::from_slice(&started.body).unwrap();
    assert_eq!(body["invite_required"], true);
    assert!(body.get("secret").is_none());
    let token = body["ephemeral_token"].as_str().unwrap().to_string();
    let early = api
        .post_json(
            "/.mfa/api/enroll",
            &serde_json::json!({"ephemeral_token": token, "code": "123456"}),
        )
        .await;
    assert_eq!(
        early.status, 409,
        "enrollment before the invitation is the wrong step"
    );
    let opened = api
        .post_json(
            "/.mfa/api/invite",
            &serde_json::json!({"ephemeral_token": token, "invite_code": code}),
        )
        .await;
    assert_eq!(opened.status, 200, "{}", opened.text());
    let setup: serde_json::Value = serde_json::from_slice(&opened.body).unwrap();
    let secret = setup["secret"].as_str().unwrap().to_string();
    assert!(setup["otpauth_uri"]
        .as_str()
        .unwrap()
        .starts_with("otpauth://totp/"));
    let done = api
        .post_json(
            "/.mfa/api/enroll",
            &serde_json::json!({"ephemeral_token": token, "code": totp_now(&secret, 0)}),
        )
        .await;
    assert_eq!(done.status, 302, "{}", done.text());
    let events = audit_events(&gw);
    assert!(events
        .iter()
        .any(|e| e["event"] == "admin_user_invited" && e["user"] == "carol"));
    assert!(events
        .iter()
        .any(|e| e["event"] == "invite_refused" && e["user"] == "alice"));
    assert_eq!(
        events
            .iter()
            .filter(|e| e["event"] == "enrollment_started" && e["mode"] == "invite")
            .count(),
        2
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn without_a_login_name_the_operator_is_the_process_user() {
    let app = start_cookie_app().await;
    let gw = Gateway::start(&config(app.addr, "first_login"));
    let mut alice = Browser::new(gw.addr);
    enroll(&mut alice, "alice", "secret").await;
    // Root in a container: no $USER, $LOGNAME or $SUDO_USER.
    let unset = ["USER", "LOGNAME", "SUDO_USER", "MFA_OPERATOR"];
    let run = gw.cli_without(&["user", "unlock", "alice"], "", &unset);
    assert_eq!(run.code, 0, "{}", run.stderr);
    let me = std::process::Command::new("id")
        .arg("-un")
        .output()
        .unwrap();
    let me = String::from_utf8_lossy(&me.stdout).trim().to_string();
    let unlocked: Vec<String> = audit_events(&gw)
        .iter()
        .filter(|e| e["event"] == "user_unlocked")
        .map(|e| e["operator"].as_str().unwrap_or("").to_string())
        .collect();
    assert_eq!(unlocked, [me], "not 'unknown'");
}
