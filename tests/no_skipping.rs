//! No second factor can be skipped by making the gateway read a request differently from the
//! app (SECURITY-TESTS 25–29): login routes in other spellings, sessions the app mints on other
//! paths, rotated cookies without proof, cookie names as legacy stacks read them, repeated
//! `Authorization`, ambiguous login bodies. The apps here route like PHP on a case-insensitive
//! file system (any case, `;params`, path info), so a spelling the gateway missed would log in.

mod common;

use common::apps::{mint_session, start_cookie_app, start_token_app, App};
use common::browser::Browser;
use common::flows::{enroll, login};
use common::{audit_events, cookie_app_config, set_cookies, temp_dir, Answer, Gateway};

const EXAMPLE: &str = "config/examples/cookie-session.yaml";

fn releases_app_session(answer: &Answer) -> bool {
    set_cookies(answer)
        .iter()
        .any(|c| c.to_ascii_lowercase().starts_with("phpsessid="))
}

async fn example() -> (App, Gateway) {
    let app = start_cookie_app().await;
    let gw = Gateway::start_example(EXAMPLE, app.addr, temp_dir("mfa-skip"));
    (app, gw)
}

#[tokio::test]
async fn login_routes_in_other_spellings_are_intercepted_or_refused() {
    let (app, gw) = example().await;
    let body = b"user=alice&pass=secret".to_vec();
    let form = [("content-type", "application/x-www-form-urlencoded")];
    // Percent-encoded letters: no client needs them; refused before the app sees anything.
    for path in ["/%6Cogin.php", "/login%2Ephp", "/log%69n.php"] {
        let mut b = Browser::new(gw.addr);
        let answer = b.request("POST", path, &form, body.clone()).await;
        assert_eq!(answer.status, 400, "{path}");
        assert!(!releases_app_session(&answer), "{path}");
    }
    assert!(
        app.state.visits().iter().all(|v| v.method != "POST"),
        "no refused spelling reached the app"
    );
    // Spellings the app routes to its login: the answer is withheld behind the challenge.
    for path in [
        "/LOGIN.PHP",
        "/login.php;x=1",
        "/login.php/extra",
        "/Login.php",
    ] {
        let mut b = Browser::new(gw.addr);
        let answer = b.request("POST", path, &form, body.clone()).await;
        assert_eq!(answer.status, 303, "{path}: {}", answer.text());
        assert_eq!(answer.header("location"), Some("/.mfa/enroll"), "{path}");
        assert!(!releases_app_session(&answer), "{path}");
    }
    let intercepted = audit_events(&gw)
        .iter()
        .filter(|e| e["event"] == "enrollment_started" && e["user"] == "alice")
        .count();
    assert_eq!(intercepted, 4, "each spelling was audited as a login");
}

#[tokio::test]
async fn a_session_minted_outside_the_login_is_withheld_behind_its_users_factor() {
    let (app, gw) = example().await;
    let mut alice = Browser::new(gw.addr);
    enroll(&mut alice, "alice", "secret").await;
    let mut bob = Browser::new(gw.addr);
    enroll(&mut bob, "bob", "hunter2").await;

    // A reset link that signs alice in, followed by a stranger: alice's second factor first.
    let mut stranger = Browser::new(gw.addr);
    let answer = stranger.get("/reset/alice").await;
    assert_eq!(answer.status, 303, "{}", answer.text());
    assert_eq!(answer.header("location"), Some("/.mfa/verify"));
    assert!(!releases_app_session(&answer));
    assert!(!stranger.cookies.contains_key("PHPSESSID"));

    // bob's verified session follows the same link: alice's session is not bound to bob's.
    let answer = bob.get("/reset/alice").await;
    assert_eq!(answer.status, 303);
    assert_eq!(answer.header("location"), Some("/.mfa/verify"));
    assert!(!releases_app_session(&answer));
    assert_eq!(bob.get("/index.php").await.text(), "<h1>Hello bob</h1>");
    let challenged: Vec<_> = audit_events(&gw)
        .into_iter()
        .filter(|e| e["event"] == "login_intercepted" && e["step"] == "verify")
        .map(|e| e["user"].as_str().unwrap().to_string())
        .collect();
    assert_eq!(challenged, ["alice", "alice"]);
    // The app's own rotation on a verified session is proven by whoami and still follows.
    assert_eq!(bob.get("/rotate.php").await.status, 200);
    assert_eq!(bob.get("/index.php").await.text(), "<h1>Hello bob</h1>");
    drop(app);
}

#[tokio::test]
async fn a_verified_session_the_app_gives_to_another_user_in_place_ends() {
    let (app, gw) = example().await;
    let mut bob = Browser::new(gw.addr);
    enroll(&mut bob, "bob", "hunter2").await;
    assert_eq!(bob.get("/index.php").await.text(), "<h1>Hello bob</h1>");
    // The app puts alice into bob's session (same id, no cookie in the answer): whoami after
    // the answer says alice, so the answer is refused and bob's gateway session ends.
    let answer = bob.get("/reset-here/alice").await;
    assert_eq!(answer.status, 403, "{}", answer.text());
    assert!(!answer.text().contains("Hello alice"));
    let page = bob.get("/index.php").await;
    assert_eq!(page.status, 302, "{}", page.text());
    assert_eq!(page.header("location"), Some("/login.php"));
    assert!(audit_events(&gw)
        .iter()
        .any(|e| e["event"] == "session_ended"
            && e["user"] == "bob"
            && e["reason"] == "the app session changed hands"));
    drop(app);
}

#[tokio::test]
async fn a_verified_session_whose_app_session_the_app_ended_ends_too() {
    let (app, gw) = example().await;
    let mut bob = Browser::new(gw.addr);
    enroll(&mut bob, "bob", "hunter2").await;
    assert_eq!(bob.get("/index.php").await.text(), "<h1>Hello bob</h1>");
    // The app forgets bob's session (its own timeout, or a request that switched it away and
    // back): nobody is signed in there any more, so the gateway session ends as well.
    app.state.sessions.lock().unwrap().clear();
    let answer = bob.get("/index.php").await;
    assert_eq!(answer.status, 403, "{}", answer.text());
    assert!(audit_events(&gw)
        .iter()
        .any(|e| e["event"] == "session_ended"
            && e["user"] == "bob"
            && e["reason"] == "the app session ended"));
    // A new sign-in asks for the second factor again.
    let answer = login(&mut bob, "bob", "hunter2").await;
    assert_eq!(answer.header("location"), Some("/.mfa/verify"));
}

#[tokio::test]
async fn an_app_that_removes_its_cookie_signed_out_and_refused_paths_stay_shut() {
    let app = start_cookie_app().await;
    let dir = temp_dir("mfa-skip-removal");
    // No logout path in the config: the removal of PHPSESSID alone says the app signed out.
    let text = std::fs::read_to_string(EXAMPLE)
        .unwrap()
        .replace("logout: [/logout.php]", "refuse: [/xmlrpc.php]");
    assert!(text.contains("refuse: [/xmlrpc.php]"));
    let file = dir.join("example.yaml");
    std::fs::write(&file, text).unwrap();
    let gw = Gateway::start_example(file.to_str().unwrap(), app.addr, dir);
    let mut bob = Browser::new(gw.addr);
    enroll(&mut bob, "bob", "hunter2").await;
    assert_eq!(bob.get("/index.php").await.text(), "<h1>Hello bob</h1>");
    let out = bob.get("/logout.php").await;
    assert_eq!(out.status, 302);
    assert!(audit_events(&gw)
        .iter()
        .any(|e| e["event"] == "session_ended"
            && e["user"] == "bob"
            && e["reason"] == "app logout"));
    // A path the app takes a password on without a session is shut in every spelling.
    let before = app.state.visits().len();
    for path in [
        "/xmlrpc.php",
        "/XMLRPC.PHP",
        "/xmlrpc.php/x",
        "/xmlrpc.php;a=b",
    ] {
        let answer = bob
            .request(
                "POST",
                path,
                &[("content-type", "text/xml")],
                b"<x/>".to_vec(),
            )
            .await;
        assert_eq!(answer.status, 403, "{path}");
    }
    assert_eq!(app.state.visits().len(), before);
}

#[tokio::test]
async fn with_the_typed_name_a_session_minted_outside_the_login_is_refused_whole() {
    let app = start_cookie_app().await;
    let gw = Gateway::start(&cookie_app_config(app.addr, "", ""));
    let mut bob = Browser::new(gw.addr);
    enroll(&mut bob, "bob", "hunter2").await;
    let bound = bob.cookies["PHPSESSID"].clone();

    // Nobody can ask the app whose session it is: the whole answer is refused, not passed
    // without its cookie (its body may be the signed-in page).
    let mut stranger = Browser::new(gw.addr);
    let answer = stranger.get("/reset/alice").await;
    assert_eq!(answer.status, 403, "{}", answer.text());
    assert!(!releases_app_session(&answer), "{:?}", set_cookies(&answer));
    assert!(!answer.text().contains("alice"), "{}", answer.text());

    // A rotation nobody can prove is bob's is refused too; his bound cookie goes on working.
    let answer = bob.get("/rotate.php").await;
    assert_eq!(answer.status, 403);
    assert!(!releases_app_session(&answer));
    assert_eq!(bob.cookies["PHPSESSID"], bound);
    assert_eq!(bob.get("/index.php").await.text(), "<h1>Hello bob</h1>");
    assert!(audit_events(&gw)
        .iter()
        .any(|e| e["event"] == "app_session_refused" && e["outcome"] == "refused"));
}

#[tokio::test]
async fn cookie_names_as_legacy_stacks_read_them_never_reach_the_app() {
    let (app, gw) = example().await;
    let minted = mint_session(&app.state, "alice");
    for cookie in [
        format!("PHPSESS%49D={minted}"),
        format!("phpsessid={minted}"),
        format!("PHPSESSID[x]={minted}"),
        format!("lang=en, PHPSESSID={minted}"),
        format!("PHP%53ESSID={minted}; lang=en"),
    ] {
        let mut b = Browser::new(gw.addr);
        let answer = b
            .request(
                "GET",
                "/index.php",
                &[("cookie", cookie.as_str())],
                Vec::new(),
            )
            .await;
        assert_eq!(answer.header("location"), Some("/login.php"), "{cookie}");
    }
    assert!(
        !app.state.everything_sent().contains(&minted),
        "the app never saw the minted session"
    );
}

#[tokio::test]
async fn session_ids_in_the_url_reach_the_app_only_when_bound() {
    // Tomcat reads `;jsessionid=` from the path, old PHP `?PHPSESSID=` from the query.
    let (app, gw) = example().await;
    let minted = mint_session(&app.state, "alice");
    let mut stranger = Browser::new(gw.addr);
    for target in [
        format!("/index.php;PHPSESSID={minted}"),
        format!("/x;phpsessid={minted}/index.php"),
        format!("/index.php?PHPSESSID={minted}"),
        format!("/index.php?a=1&PHPSESS%49D={minted}"),
        format!("/index.php?phpsessid={minted}"),
    ] {
        let answer = stranger.get(&target).await;
        assert_eq!(answer.status, 400, "{target}");
    }
    assert!(!app.state.everything_sent().contains(&minted));
    // The verified session's own id in the URL (URL rewriting) goes on.
    let mut bob = Browser::new(gw.addr);
    enroll(&mut bob, "bob", "hunter2").await;
    let own = bob.cookies.get("PHPSESSID").cloned().unwrap();
    let answer = bob.get(&format!("/index.php?PHPSESSID={own}")).await;
    assert_eq!(answer.status, 200, "{}", answer.text());
    let answer = bob.get(&format!("/index.php?PHPSESSID={minted}")).await;
    assert_eq!(answer.status, 400);
}

#[tokio::test]
async fn two_authorization_lines_are_refused() {
    let (app, gw) = example().await;
    let mut b = Browser::new(gw.addr);
    let answer = b
        .request(
            "GET",
            "/index.php",
            &[("authorization", "Bearer a"), ("authorization", "Bearer b")],
            Vec::new(),
        )
        .await;
    assert_eq!(answer.status, 400);
    assert!(app.state.visits().is_empty());
}

#[tokio::test]
async fn login_bodies_two_parsers_read_differently_are_refused() {
    let (app, gw) = example().await;
    let form = "application/x-www-form-urlencoded";
    let double_boundary = "multipart/form-data; boundary=AAA; boundary=BBB";
    let multipart = b"--AAA\r\nContent-Disposition: form-data; name=\"user\"\r\n\r\nbob\r\n--AAA--\r\n\
--BBB\r\nContent-Disposition: form-data; name=\"user\"\r\n\r\nalice\r\n--BBB\r\nContent-Disposition: form-data; name=\"pass\"\r\n\r\nsecret\r\n--BBB--\r\n";
    let cases: Vec<(&str, Vec<u8>)> = vec![
        (form, b"user=bob&user=alice&pass=secret".to_vec()),
        (form, b"user=bob&user[]=alice&pass=secret".to_vec()),
        (form, b"user=alice%1F&pass=secret".to_vec()),
        (form, b"user=bob;user=alice&pass=secret".to_vec()),
        (
            "application/x-www-form-urlencoded; charset=utf-16",
            b"user=alice&pass=secret".to_vec(),
        ),
        (double_boundary, multipart.to_vec()),
        (
            "application/json",
            br#"{"user":"alice","pass":"secret"}"#.to_vec(),
        ),
    ];
    for (content_type, body) in cases {
        let mut b = Browser::new(gw.addr);
        let answer = b
            .request(
                "POST",
                "/login.php",
                &[("content-type", content_type)],
                body.clone(),
            )
            .await;
        assert_eq!(
            answer.status,
            400,
            "{content_type} {}",
            String::from_utf8_lossy(&body)
        );
    }
    // The user name in the query string as well (PHP's $_REQUEST reads both).
    let mut b = Browser::new(gw.addr);
    let answer = b
        .request(
            "POST",
            "/login.php?user=alice",
            &[("content-type", form)],
            b"user=bob&pass=hunter2".to_vec(),
        )
        .await;
    assert_eq!(answer.status, 400);
    assert!(app.state.visits().iter().all(|v| v.method != "POST"));
}

#[tokio::test]
async fn a_token_login_is_read_by_its_declared_type_only() {
    let app = start_token_app().await;
    let gw = Gateway::start_example(
        "config/examples/token-api.yaml",
        app.addr,
        temp_dir("mfa-skip-token"),
    );
    let mut b = Browser::new(gw.addr);
    // A body that is JSON to one parser and a form to another.
    let body = br#"{"username":"bob","x":"=&username=alice&password=secret&y="}"#.to_vec();
    let answer = b
        .request(
            "POST",
            "/api/login",
            &[("content-type", "application/x-www-form-urlencoded")],
            body,
        )
        .await;
    assert_eq!(answer.status, 400, "{}", answer.text());
    let answer = b
        .request(
            "POST",
            "/api/login",
            &[("content-type", "application/json")],
            br#"{"username":"bob","username":"alice","password":"secret"}"#.to_vec(),
        )
        .await;
    assert_eq!(answer.status, 400, "{}", answer.text());
    assert!(app.state.visits().is_empty());
}

#[tokio::test]
async fn a_token_the_gateway_cannot_read_in_an_answer_is_not_handed_out() {
    let app = start_token_app().await;
    let gw = Gateway::start_example(
        "config/examples/token-api.yaml",
        app.addr,
        temp_dir("mfa-skip-token-html"),
    );
    let mut b = Browser::new(gw.addr);
    let password = br#"{"username":"alice","password":"secret"}"#.to_vec();
    // The app renders a fresh token as HTML for a client that asks for it: refused, and the
    // token is nowhere in the answer.
    let answer = b
        .request(
            "POST",
            "/api/session",
            &[
                ("content-type", "application/json"),
                ("accept", "text/html"),
            ],
            password.clone(),
        )
        .await;
    assert_eq!(answer.status, 502, "{}", answer.text());
    assert!(!answer.text().contains("<code>"), "{}", answer.text());
    assert!(audit_events(&gw)
        .iter()
        .any(|e| e["event"] == "app_answer_refused" && e["outcome"] == "refused"));
    // The same endpoint in JSON: the gateway sees the token, asks the app whose it is, and
    // withholds the whole answer behind that user's second factor, like a login.
    let answer = b
        .request(
            "POST",
            "/api/session",
            &[("content-type", "application/json")],
            password,
        )
        .await;
    assert_eq!(answer.status, 200, "{}", answer.text());
    let withheld: serde_json::Value = serde_json::from_str(&answer.text()).unwrap();
    assert_eq!(withheld["mfa_required"], true, "{withheld}");
    assert!(withheld.get("token").is_none(), "{withheld}");
    let minted = app
        .state
        .sessions
        .lock()
        .unwrap()
        .keys()
        .cloned()
        .collect::<Vec<_>>();
    assert!(minted.iter().all(|t| !answer.text().contains(t.as_str())));
    // JSON the gateway cannot parse may hide a token too.
    let answer = b
        .request(
            "POST",
            "/api/prefixed",
            &[("content-type", "application/json")],
            b"{}".to_vec(),
        )
        .await;
    assert_eq!(answer.status, 502, "{}", answer.text());
    assert!(!answer.text().contains("token"), "{}", answer.text());
    // Reads of other types and writes without a body still pass.
    let answer = b.request("GET", "/api/help", &[], Vec::new()).await;
    assert_eq!(
        (answer.status, answer.text().as_str()),
        (200, "POST /api/login")
    );
    let answer = b.request("POST", "/api/ping", &[], Vec::new()).await;
    assert_eq!(answer.status, 204);
}

#[tokio::test]
async fn a_first_enrollment_that_looks_like_an_enrolled_user_needs_an_invite() {
    // No case folding configured, but the app matches names without regard to case: "ALICE"
    // is alice's account to it, and must not get an authenticator of its own on the password
    // alone (tests/php/test_lax_app.py: an app that drops punctuation). A distinct account of
    // such a spelling can still be set up with an administrator's invite code.
    let app = start_cookie_app().await;
    let gw = Gateway::start(&cookie_app_config(app.addr, "", ""));
    let mut alice = Browser::new(gw.addr);
    enroll(&mut alice, "alice", "secret").await;
    for name in ["ALICE", "Alice"] {
        let mut attacker = Browser::new(gw.addr);
        let answer = login(&mut attacker, name, "secret").await;
        assert_eq!(answer.status, 303, "{name}: {}", answer.text());
        assert_eq!(answer.header("location"), Some("/.mfa/invite"), "{name}");
        assert!(!releases_app_session(&answer));
        let page = attacker.get("/.mfa/enroll").await;
        assert!(
            !page.text().contains("id=\"secret\""),
            "{name}: {}",
            page.text()
        );
    }
    assert!(audit_events(&gw)
        .iter()
        .any(|e| e["event"] == "login_intercepted"
            && e["outcome"] == "challenge"
            && e["step"] == "invite"
            && e["reason"] == "name looks like an enrolled user's"));
}

#[tokio::test]
async fn an_app_cookie_without_its_sessions_gateway_cookie_acts_on_nothing() {
    let (app, gw) = example().await;
    let mut alice = Browser::new(gw.addr);
    enroll(&mut alice, "alice", "secret").await;
    let value = alice.cookies["PHPSESSID"].clone();

    // An outsider with the app cookie's value alone (a remember-me id is no secret): the app
    // sees an anonymous visitor, and the app's logout acts on no session.
    let mut outsider = Browser::new(gw.addr);
    outsider.cookies.insert("PHPSESSID".into(), value.clone());
    let before = app.state.visits().len();
    let answer = outsider.get("/index.php").await;
    assert_eq!(answer.status, 302, "{}", answer.text());
    let answer = outsider.get("/logout.php").await;
    assert_eq!(answer.status, 302);
    assert!(app.state.visits()[before..]
        .iter()
        .all(|v| v.cookie.as_deref().is_none_or(|c| !c.contains(&value))));
    assert_eq!(alice.get("/index.php").await.text(), "<h1>Hello alice</h1>");
    assert!(!audit_events(&gw)
        .iter()
        .any(|e| e["event"] == "session_ended"));
}

#[tokio::test]
async fn bodies_that_cannot_be_a_login_stream_to_the_app_on_a_login_path() {
    let (app, gw) = example().await;
    let mut alice = Browser::new(gw.addr);
    enroll(&mut alice, "alice", "secret").await;
    let big = vec![b'x'; 1536 * 1024];
    let mut upload =
        b"--XyZ\r\nContent-Disposition: form-data; name=\"file\"; filename=\"a.bin\"\r\n\
Content-Type: application/octet-stream\r\n\r\n"
            .to_vec();
    upload.extend_from_slice(&big);
    upload.extend_from_slice(b"\r\n--XyZ--\r\n");
    let edit = [b"content=".to_vec(), big.clone()].concat();
    let cases = [
        ("multipart/form-data; boundary=XyZ", upload),
        ("application/octet-stream", big.clone()),
        ("text/plain", b"echo hello".to_vec()),
        ("application/x-www-form-urlencoded", edit),
    ];
    let posts = |app: &App| {
        app.state
            .visits()
            .iter()
            .filter(|v| v.method == "POST" && v.path == "/login.php")
            .count()
    };
    let before = posts(&app);
    for (content_type, body) in cases {
        let answer = alice
            .request(
                "POST",
                "/login.php",
                &[("content-type", content_type)],
                body,
            )
            .await;
        // The app's own answer (a failed login page here), neither 400 nor 413.
        assert_eq!(answer.status, 200, "{content_type}: {}", answer.text());
        assert!(
            answer.text().contains("Invalid user name"),
            "{content_type}"
        );
    }
    assert_eq!(posts(&app), before + 4);
    assert_eq!(alice.get("/index.php").await.text(), "<h1>Hello alice</h1>");

    // A login padded past what the gateway reads: from a client without a session it is
    // refused unread (413), not streamed past the name throttle; from a verified session it
    // streams, and the answer is withheld behind the second factor of the user the app names.
    let mut stranger = Browser::new(gw.addr);
    let padded = format!("user=alice&pass=secret&pad={}", "p".repeat(1200 * 1024));
    let answer = stranger
        .request(
            "POST",
            "/login.php",
            &[
                ("content-type", "application/x-www-form-urlencoded"),
                ("accept", "text/html"),
            ],
            padded.clone().into_bytes(),
        )
        .await;
    assert_eq!(answer.status, 413, "{}", answer.text());
    let answer = alice
        .request(
            "POST",
            "/login.php",
            &[
                ("content-type", "application/x-www-form-urlencoded"),
                ("accept", "text/html"),
            ],
            padded
                .replace("user=alice", "user=bob")
                .replace("pass=secret", "pass=hunter2")
                .into_bytes(),
        )
        .await;
    assert_eq!(answer.status, 303, "{}", answer.text());
    assert!(!releases_app_session(&answer), "{:?}", set_cookies(&answer));
    assert_eq!(answer.header("location"), Some("/.mfa/enroll"));
}

#[tokio::test]
async fn with_the_typed_name_a_pre_login_cookie_passes_as_anonymous_only_where_sessions_start() {
    // session_before_login says the app's cookie starts anonymous sessions; without a way to
    // ask the app, that is believed only on the login page and routes. A reset link that
    // signs alice in with that cookie elsewhere is refused whole.
    let app = start_cookie_app().await;
    let gw = Gateway::start(&cookie_app_config(
        app.addr,
        "",
        "      session_before_login: true\n      login_page: /login.php\n",
    ));
    let mut stranger = Browser::new(gw.addr);
    let answer = stranger.get("/reset/alice").await;
    assert_eq!(answer.status, 403, "{}", answer.text());
    assert!(!releases_app_session(&answer), "{:?}", set_cookies(&answer));
}

#[tokio::test]
async fn a_set_cookie_line_that_is_not_text_never_reaches_the_browser() {
    // The gateway cannot read it for a session cookie; a browser would store it, and the
    // answer is the page of the session it starts: refused whole.
    let (_app, gw) = example().await;
    let mut stranger = Browser::new(gw.addr);
    let answer = stranger
        .request(
            "GET",
            "/latin1/alice",
            &[("accept", "text/html")],
            Vec::new(),
        )
        .await;
    assert_eq!(answer.status, 502);
    assert!(!answer.text().contains("Hello alice"), "{}", answer.text());
    assert!(answer
        .headers
        .get_all("set-cookie")
        .iter()
        .all(|v| !v.as_bytes().starts_with(b"PHPSESSID=")));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_cookie_header_no_browser_sends_costs_no_lookups_and_reaches_nothing() {
    let (app, gw) = example().await;
    let mut alice = Browser::new(gw.addr);
    enroll(&mut alice, "alice", "secret").await;
    let bound = alice.cookies["PHPSESSID"].clone();
    let gateway_cookie: String = alice
        .cookies
        .iter()
        .filter(|(k, _)| k.starts_with("mfa_session"))
        .map(|(k, v)| format!("{k}={v}"))
        .collect();
    let with = |cookie: String| {
        let mut b = Browser::new(gw.addr);
        async move {
            b.request(
                "GET",
                "/index.php",
                &[("cookie", cookie.as_str())],
                Vec::new(),
            )
            .await
        }
    };
    // The bound session with its gateway cookie passes, one planted value beside it too.
    let answer = with(format!("{gateway_cookie}; PHPSESSID={bound}")).await;
    assert_eq!(answer.status, 200, "{}", answer.text());
    // Eight more values of the session cookie (hidden after spaces, where Python's
    // SimpleCookie reads them): none is looked up, all are removed, the app sees a visitor.
    let planted: Vec<String> = (0..8).map(|i| format!("x PHPSESSID=planted{i}")).collect();
    let answer = with(format!(
        "{gateway_cookie}; PHPSESSID={bound}; a=b {}",
        planted.join(" ")
    ))
    .await;
    assert_eq!(answer.header("location"), Some("/login.php"));
    assert!(!app.state.everything_sent().contains("planted"));
    // More cookie pairs than any browser keeps for a site: refused before any is read.
    let many: Vec<String> = (0..301).map(|i| format!("c{i}=v")).collect();
    let visits = app.state.visits().len();
    let answer = with(many.join("; ")).await;
    assert_eq!(answer.status, 431, "{}", answer.text());
    assert_eq!(app.state.visits().len(), visits);
    let answer = with(many[..300].join("; ")).await;
    assert_ne!(answer.status, 431);
}
