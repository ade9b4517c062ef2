//! `shared/SECURITY-TESTS.md` 40–45, from peers' 2025–26 advisories: each case as a test, so
//! that what holds when tried from outside keeps holding.

mod common;

use common::apps::start_cookie_app;
use common::browser::{form_value, totp_now, Browser};
use common::flows::{enroll, login, send_code};
use common::{cookie_app_config, get, upstream, Gateway};

fn policy_config(upstream: std::net::SocketAddr, extra: &str) -> String {
    cookie_app_config(upstream, "", &format!("      policy: required\n{extra}"))
}

/// 40. A login whose second factor is pending never loses that step: starting over, a second
/// login, the enrollment page and API reached with the pending credential, and a restart of
/// the gateway neither enroll a new factor nor release the app's answer.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_pending_second_factor_is_never_dropped() {
    let app = start_cookie_app().await;
    let dir = common::temp_dir("shared-40");
    let yaml = policy_config(app.addr, "");
    let gw = Gateway::start_in(&yaml, dir.clone());
    let mut owner = Browser::new(gw.addr);
    let (secret, _) = enroll(&mut owner, "bob", "hunter2").await;
    let sessions_before = app.state.sessions.lock().unwrap().len();

    let mut b = Browser::new(gw.addr);
    assert_eq!(
        login(&mut b, "bob", "hunter2").await.header("location"),
        Some("/.mfa/verify")
    );
    // The enrollment page with the pending credential shows no new secret.
    let enroll_page = b.get("/.mfa/enroll").await;
    assert!(
        !enroll_page.text().contains("otpauth://"),
        "{}",
        enroll_page.text()
    );
    assert_ne!(enroll_page.status, 200, "{}", enroll_page.text());
    // Nor does the enrollment API, nor does it take a code for a new factor.
    let api = b
        .post_json("/.mfa/api/enroll", &serde_json::json!({ "code": "123456" }))
        .await;
    assert!(api.status >= 400, "{} {}", api.status, api.text());
    // A second login in the same browser: the second factor again.
    assert_eq!(
        login(&mut b, "bob", "hunter2").await.header("location"),
        Some("/.mfa/verify")
    );
    // Starting over ends the login: nothing released, and the next login asks again.
    let csrf = form_value(&b.get("/.mfa/verify").await.text(), "csrf");
    let over = b.post_form("/.mfa/start-over", &[("csrf", &csrf)]).await;
    assert_eq!(over.status, 303, "{}", over.text());
    assert!(!b.cookies.contains_key("PHPSESSID"));
    assert_eq!(
        login(&mut b, "bob", "hunter2").await.header("location"),
        Some("/.mfa/verify")
    );
    let csrf = form_value(&b.get("/.mfa/verify").await.text(), "csrf");

    // A restart (the pending login lived in memory): the old pending cookie is a dead end,
    // even with the right code; a new login asks for the code, not for a new factor.
    drop(gw);
    let gw = Gateway::start_in(&yaml, dir);
    b.addr = gw.addr;
    let after = send_code(&mut b, &csrf, &totp_now(&secret, 30)).await;
    assert!(after.status >= 400, "{} {}", after.status, after.text());
    assert!(!b.cookies.contains_key("PHPSESSID"));
    assert_eq!(
        app.state.sessions.lock().unwrap().len(),
        sessions_before + 3,
        "the app signed bob in three times, and none of those reached the browser"
    );
    let mut fresh = Browser::new(gw.addr);
    assert_eq!(
        login(&mut fresh, "bob", "hunter2").await.header("location"),
        Some("/.mfa/verify")
    );
}

/// 41. A pending login counts as signed in nowhere: with only the password done, no app page,
/// gateway page or API treats the browser as signed in.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_pending_login_is_signed_in_nowhere() {
    let app = start_cookie_app().await;
    let gw = Gateway::start(&policy_config(app.addr, ""));
    let mut owner = Browser::new(gw.addr);
    enroll(&mut owner, "alice", "secret").await;

    let mut b = Browser::new(gw.addr);
    assert_eq!(login(&mut b, "alice", "secret").await.status, 303);
    assert!(b.cookies.keys().any(|k| k.contains("mfa_pending")));
    assert!(!b.cookies.contains_key("mfa_session"));
    assert_eq!(
        b.get("/index.php").await.header("location"),
        Some("/login.php")
    );
    for page in [
        "/.mfa/settings",
        "/.mfa/settings/authenticator",
        "/.mfa/settings/sessions",
    ] {
        let answer = b.get(page).await;
        assert_ne!(answer.status, 200, "{page}: {}", answer.text());
        assert!(
            !answer.text().contains("alice"),
            "{page}: {}",
            answer.text()
        );
    }
    for (path, body) in [
        (
            "/.mfa/api/recovery-codes",
            serde_json::json!({ "code": "000000" }),
        ),
        ("/.mfa/api/logout", serde_json::json!({})),
    ] {
        let answer = b.post_json(path, &body).await;
        assert!(
            answer.status == 401 || answer.status == 403 || answer.status == 404,
            "{path}: {} {}",
            answer.status,
            answer.text()
        );
    }
    // The app never saw alice's session cookie on a request.
    assert!(app
        .state
        .visits()
        .iter()
        .filter(|v| v.path == "/index.php")
        .all(|v| v.cookie.as_deref().is_none_or(|c| !c.contains("PHPSESSID"))));
}

/// 42. Bypass and refuse rules match the routed path only: never the query string, a
/// fragment, an encoded `?` or `#`, or a suffix.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn path_rules_match_the_routed_path_only() {
    let up = upstream::start().await;
    let yaml = common::simple_config(up.addr, "").replace(
        "    upstream:\n",
        "    mfa:\n      enrollment: { first_login: { for: 30d } }\n      login:\n        - path: /login\n          username_field: user\n          success: { set_cookie: sid }\n      session_cookies: [sid]\n      identity: { typed_name: true }\n      bypass:\n        paths: [/assets/]\n      refuse: [/xmlrpc.php]\n    upstream:\n",
    );
    let gw = Gateway::start(&yaml);
    // An app session cookie bound to nothing is removed everywhere; on a bypass path too, so
    // it tells nothing. A signed-in browser would keep it off the bypass path only: that is
    // the difference a rule matching too much would make. Here: refuse rules, which answer.
    for path in [
        "/xmlrpc.php",
        "/xmlrpc.php?x=1",
        "/XMLRPC.PHP",
        "/xmlrpc.php/",
        "/xmlrpc.php/x",
        "/%78mlrpc.php",
        "/assets/../xmlrpc.php",
        "/./xmlrpc.php",
    ] {
        let answer = get(gw.addr, "a", path, &[]).await;
        // Refused, or (an encoded letter, a dot segment) refused as ambiguous.
        assert!(
            answer.status == 403 || answer.status == 400,
            "{path}: {}",
            answer.text()
        );
    }
    // The query, an encoded ? or #, or a longer name are not the refused path (nor a bypass).
    for path in [
        "/index.php?r=/xmlrpc.php",
        "/index.php%3F/xmlrpc.php",
        "/index.php%23/xmlrpc.php",
        "/xmlrpc.phpx",
        "/page?/assets/x",
    ] {
        let answer = get(gw.addr, "a", path, &[]).await;
        assert_ne!(answer.status, 403, "{path}: {}", answer.text());
    }
    // Bypass: an unbound app cookie is removed on app paths; the query naming a bypass path
    // changes nothing about that (the cookie never reaches the app).
    for path in [
        "/page?x=/assets/",
        "/page%3F/assets/a.css",
        "/assetsx/a.css",
    ] {
        get(gw.addr, "a", path, &[("cookie", "sid=forged")]).await;
    }
    assert!(
        !up.seen.paths().is_empty()
            && !format!("{:?}", up.seen.0.lock().unwrap()).contains("forged"),
        "an unbound app cookie reached the app"
    );
}

/// 43. No header or well-known path grants a pass: health-check User-Agents and `/ping`,
/// `/healthz`, `/readyz` on an app's host are app paths like any other.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn health_checks_get_no_pass() {
    let app = start_cookie_app().await;
    let gw = Gateway::start(&policy_config(app.addr, ""));
    let mut owner = Browser::new(gw.addr);
    enroll(&mut owner, "alice", "secret").await;
    let stolen = owner.cookies["PHPSESSID"].clone();
    // With its gateway cookie, the app cookie is alice's session (the control).
    assert_eq!(owner.get("/index.php").await.text(), "<h1>Hello alice</h1>");
    for (path, agent) in [
        ("/index.php", "kube-probe/1.30"),
        ("/index.php", "ELB-HealthChecker/2.0"),
        ("/index.php", "GoogleHC/1.0"),
        ("/ping", "Go-http-client/1.1"),
        ("/healthz", "kube-probe/1.30"),
        ("/readyz", "kube-probe/1.30"),
        ("/.well-known/health", "Consul Health Check"),
    ] {
        let cookie = format!("PHPSESSID={stolen}");
        let answer = get(
            gw.addr,
            "app.example",
            path,
            &[("user-agent", agent), ("cookie", &cookie)],
        )
        .await;
        assert!(
            !answer.text().contains("Hello alice"),
            "{path} as {agent}: {}",
            answer.text()
        );
    }
    // The app session cookie alone reached the app on none of them.
    assert!(app
        .state
        .visits()
        .iter()
        .filter(|v| v.path != "/login.php" && !v.path.starts_with("/whoami"))
        .filter(|v| v.cookie.as_deref().is_some_and(|c| c.contains(&stolen)))
        .all(|v| v.path == "/index.php" || v.path == "/.mfa/enroll"));
}

/// 44. Policy is chosen on the canonical host: case, a trailing dot, a port and an
/// absolute-form target never select a weaker app.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_canonical_host_chooses_the_app() {
    let up = upstream::start().await;
    let yaml = format!(
        "listeners:\n  - address: \"{{listen}}\"\nadmin:\n  address: \"{{admin}}\"\ndata_dir: \"{{dir}}/data\"\napps:\n  - name: secure\n    hosts: [\"secure.example\"]\n    upstream:\n      url: \"http://{a}\"\n      add_headers: [{{ name: X-Chosen, value: secure }}]\n    mfa:\n      enrollment: {{ first_login: {{ for: 30d }} }}\n      login:\n        - path: /login\n          username_field: user\n          success: {{ set_cookie: sid }}\n      session_cookies: [sid]\n      identity: {{ typed_name: true }}\n  - name: open\n    hosts: [\"*\"]\n    upstream:\n      url: \"http://{a}\"\n      add_headers: [{{ name: X-Chosen, value: open }}]\n",
        a = up.addr
    );
    let gw = Gateway::start(&yaml);
    let mut chosen_secure = 0;
    for host in [
        "secure.example",
        "SECURE.example",
        "secure.example.",
        "Secure.Example.:8443",
        "secure.example:80",
    ] {
        let answer = get(gw.addr, host, "/p", &[("cookie", "sid=forged")]).await;
        let text = answer.text();
        if answer.status == 200 {
            chosen_secure += 1;
            assert!(
                text.to_ascii_lowercase().contains("x-chosen: secure"),
                "{host}: {text}"
            );
            assert!(
                !text.contains("forged"),
                "{host}: the MFA app's checks were skipped"
            );
        } else {
            assert_eq!(
                answer.status,
                400,
                "{host}: {}",
                text.get(..600).unwrap_or(&text)
            );
        }
    }
    assert_eq!(chosen_secure, 5, "every spelling reaches the MFA app");
    // An absolute-form target names the host; a Host header that disagrees is refused or
    // loses to it, never chooses the open app for a secure target.
    let raw = common::raw_request(
        gw.addr,
        b"GET http://secure.example/p HTTP/1.1\r\nHost: open.example\r\nCookie: sid=forged\r\nConnection: close\r\n\r\n",
    )
    .unwrap();
    assert!(
        raw.starts_with("HTTP/1.1 400") || raw.to_ascii_lowercase().contains("x-chosen: secure"),
        "{raw}"
    );
    assert!(!raw.contains("forged"), "{raw}");
}

/// 45. Parallel logins of different users never cross: each browser ends with its own user's
/// session, whatever the interleaving.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn parallel_logins_never_cross() {
    let app = start_cookie_app().await;
    let gw = Gateway::start(&policy_config(
        app.addr,
        "      regulation:\n        client: { failures: 0 }\n        network: { failures: 0 }\n",
    ));
    let mut secrets = Vec::new();
    for (user, pass) in common::apps::USERS {
        let mut b = Browser::new(gw.addr);
        let (_, codes) = enroll(&mut b, user, pass).await;
        secrets.push((user, pass, codes));
    }
    // Ten browsers per user, all at the verify step at once, then all codes at once.
    let mut waiting = Vec::new();
    for (user, pass, codes) in &secrets {
        for code in codes.iter().take(9) {
            let mut b = Browser::new(gw.addr);
            let csrf = common::flows::at_verify(&mut b, user, pass).await;
            waiting.push((user.to_string(), code.clone(), b, csrf));
        }
    }
    let tasks: Vec<_> = waiting
        .into_iter()
        .map(|(user, code, mut b, csrf)| {
            tokio::spawn(async move {
                let released = send_code(&mut b, &csrf, &code).await;
                assert_eq!(released.status, 302, "{user}: {}", released.text());
                let page = b.get("/index.php").await.text();
                (user, page)
            })
        })
        .collect();
    for task in tasks {
        let (user, page) = task.await.unwrap();
        assert_eq!(page, format!("<h1>Hello {user}</h1>"));
    }
}

/// 35. An app cookie read by an XSS in the app (many legacy apps do not make theirs HttpOnly;
/// the gateway's is) opens nothing through the gateway: a bound app session passes only beside
/// the gateway cookie of the session it is bound to — not alone, not with another user's.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_stolen_app_cookie_needs_its_own_gateway_cookie() {
    let app = start_cookie_app().await;
    let gw = Gateway::start(&policy_config(app.addr, ""));
    let mut alice = Browser::new(gw.addr);
    enroll(&mut alice, "alice", "secret").await;
    let mut bob = Browser::new(gw.addr);
    enroll(&mut bob, "bob", "hunter2").await;
    let stolen = format!("PHPSESSID={}", alice.cookies["PHPSESSID"]);
    let bobs_gateway = format!("mfa_session={}", bob.cookies["mfa_session"]);
    // The controls: each with their own cookies is themselves.
    assert_eq!(alice.get("/index.php").await.text(), "<h1>Hello alice</h1>");
    assert_eq!(bob.get("/index.php").await.text(), "<h1>Hello bob</h1>");
    for cookie in [
        stolen.clone(),
        format!("{stolen}; {bobs_gateway}"),
        format!("{bobs_gateway}; {stolen}"),
    ] {
        let answer = get(gw.addr, "app.example", "/index.php", &[("cookie", &cookie)]).await;
        assert!(
            !answer.text().contains("Hello alice"),
            "{cookie}: {}",
            answer.text()
        );
    }
    // The stolen value reached the app only in alice's own requests.
    let carried = app
        .state
        .visits()
        .iter()
        .filter(|v| v.cookie.as_deref().is_some_and(|c| c.contains(&stolen)))
        .count();
    assert_eq!(carried, 1, "alice's control request only");
}
