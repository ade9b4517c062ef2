//! Rolling out to an app that already has users: first-login enrollment only inside its window
//! and for the users it names, an administrator's invitation (or a refusal) for everyone else,
//! `user pending` for who is left, and a warning for the open-ended form.

mod common;

use common::apps::start_cookie_app;
use common::browser::Browser;
use common::flows::{enroll, login};
use common::{audit_events, temp_dir, Gateway};

fn config(upstream: std::net::SocketAddr, enrollment: &str) -> String {
    common::cookie_app_config(
        upstream,
        "",
        &format!("      policy: required\n      enrollment:\n{enrollment}"),
    )
}

async fn first_step(gw: &Gateway, user: &str, pass: &str) -> Option<String> {
    let mut b = Browser::new(gw.addr);
    let answer = login(&mut b, user, pass).await;
    answer.header("location").map(str::to_string)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn first_login_enrolls_only_inside_its_window_and_for_the_users_it_names() {
    let app = start_cookie_app().await;
    let dir = temp_dir("enrollment-window");
    let yaml = config(
        app.addr,
        "        first_login:\n          for: 2s\n          users: [alice, bob]\n        otherwise: invite\n",
    );
    let gw = Gateway::start_in(&yaml, dir.clone());

    // carol is not on the list: an administrator's code is needed from the start.
    assert_eq!(
        first_step(&gw, "carol", "pw").await.as_deref(),
        Some("/.mfa/invite")
    );
    // alice is: she enrolls on her password, and that opens the two seconds.
    let mut alice = Browser::new(gw.addr);
    enroll(&mut alice, "alice", "secret").await;
    // Once they are over, bob (listed) needs a code too, and a restart does not reopen them.
    tokio::time::sleep(std::time::Duration::from_millis(2100)).await;
    assert_eq!(
        first_step(&gw, "bob", "hunter2").await.as_deref(),
        Some("/.mfa/invite")
    );
    let mut gw = gw;
    gw.child.kill().unwrap();
    gw.child.wait().unwrap();
    let gw = Gateway::start_in(&yaml, dir.clone());
    assert_eq!(
        first_step(&gw, "bob", "hunter2").await.as_deref(),
        Some("/.mfa/invite")
    );
    let closed = audit_events(&gw)
        .iter()
        .filter(|e| {
            e["event"] == "login_intercepted" && e["reason"] == "first-login enrollment closed"
        })
        .map(|e| e["user"].as_str().unwrap().to_string())
        .collect::<Vec<_>>();
    assert_eq!(closed, ["carol", "bob", "bob"]);

    // Who is left: bob and carol (seen, no factor), not alice; and how they enroll now.
    let ops = |args: &[&str]| {
        let mut all = args.to_vec();
        all.extend(["--operator", "ops"]);
        gw.cli(&all, "")
    };
    let pending = ops(&["user", "pending"]);
    assert_eq!(pending.code, 0, "{}", pending.stderr);
    let out = pending.stdout;
    assert!(
        out.starts_with("intranet: a user without a factor enrolls closed since ")
            && out.contains("with an administrator's code (user invite)"),
        "{out}"
    );
    let rows: Vec<&str> = out
        .lines()
        .filter(|l| !l.starts_with("intranet:"))
        .collect();
    assert!(rows[0].starts_with("USER "), "{out}");
    assert!(
        rows[1].starts_with("bob ") && rows[2].starts_with("carol "),
        "{out}"
    );
    assert_eq!(rows[3], "2 users without a factor");
    // Against the app's own user list: dave never signed in, alice is done.
    let list = dir.join("users.txt");
    std::fs::write(
        &list,
        "# exported from the app\nalice\n bob \ncarol\ndave\n\n",
    )
    .unwrap();
    let pending = ops(&[
        "user",
        "pending",
        "--users",
        list.to_str().unwrap(),
        "--json",
    ]);
    assert_eq!(pending.code, 0, "{}", pending.stderr);
    let users: Vec<serde_json::Value> = pending
        .stdout
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    let names: Vec<&str> = users.iter().map(|u| u["user"].as_str().unwrap()).collect();
    assert_eq!(
        names,
        ["bob", "carol", "dave"],
        "names as the realm folds them"
    );
    assert_eq!(users[2]["first_seen_at"], serde_json::Value::Null);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn after_the_window_a_refusal_says_what_to_do_and_an_invitation_still_works() {
    let app = start_cookie_app().await;
    let gw = Gateway::start(&config(
        app.addr,
        "        first_login: { until: 2020-01-31 }\n        otherwise: refuse\n",
    ));
    let mut b = Browser::new(gw.addr);
    let refused = login(&mut b, "alice", "secret").await;
    assert_eq!(refused.status, 403);
    let text = refused.text();
    assert!(
        text.contains("alice has no second factor yet")
            && text.contains("mfa-gateway user invite alice"),
        "{text}"
    );
    // The app's answer is not released, nor is a pending login started.
    assert!(b.cookies.is_empty(), "{:?}", b.cookies);
    let api = common::flows::login_wanting_json(&mut b, "alice", "secret").await;
    assert_eq!(api.status, 403);
    let body: serde_json::Value = serde_json::from_slice(&api.body).unwrap();
    assert_eq!(body["error"], "enrollment_closed");

    let invited = gw.cli(&["user", "invite", "alice", "--operator", "ops"], "");
    assert_eq!(invited.code, 0, "{}", invited.stderr);
    assert_eq!(
        first_step(&gw, "alice", "secret").await.as_deref(),
        Some("/.mfa/invite")
    );
    let refusals = audit_events(&gw)
        .iter()
        .filter(|e| e["event"] == "login_intercepted" && e["outcome"] == "refused")
        .count();
    assert_eq!(refusals, 2);
}

#[test]
fn check_config_warns_about_open_ended_first_login_enrollment_and_says_where() {
    let dir = temp_dir("enrollment-check");
    let upstream: std::net::SocketAddr = "127.0.0.1:9".parse().unwrap();
    let check = |yaml: &str| {
        let path = dir.join("gateway.yaml");
        std::fs::write(
            &path,
            yaml.replace("{listen}", "127.0.0.1:0")
                .replace("{admin}", "127.0.0.1:1")
                .replace("{dir}", dir.to_str().unwrap()),
        )
        .unwrap();
        let out = std::process::Command::new(common::BIN)
            .args(["check-config", "--config"])
            .arg(&path)
            .output()
            .unwrap();
        assert!(out.status.success(), "{out:?}");
        String::from_utf8(out.stdout).unwrap()
    };
    let open = check(&common::cookie_app_config(
        upstream,
        "",
        "      enrollment: first_login",
    ));
    let warning = open
        .lines()
        .find(|l| l.starts_with("warning: "))
        .unwrap_or_else(|| panic!("{open}"));
    assert!(
        warning.contains("gateway.yaml:")
            && warning.contains("apps[0].mfa.enrollment: first_login without an end")
            && warning.contains("whoever first signs in with a user's password"),
        "{warning}"
    );
    let bounded = check(&config(upstream, "        first_login: { for: 14d }\n"));
    assert!(!bounded.contains("warning"), "{bounded}");
}
