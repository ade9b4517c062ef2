//! Several gateways, one truth: three gateways share one Redis and one PostgreSQL (the real
//! servers on this machine) and the same key file, with config/examples/cookie-session.yaml
//! unchanged but for the variables that point it at them.

// Tests time the gateway from outside: the clock rule (clippy.toml) is for the gateway's code.
#![allow(clippy::disallowed_methods)]

mod common;

use common::apps::{start_cookie_app, App};
use common::browser::{form_value, totp_now, Browser};
use common::flows::{enroll, login};
use common::{temp_dir, Gateway};

const EXAMPLE: &str = "config/examples/cookie-session.yaml";

/// A schema of its own in the test database and a Redis prefix of its own, so tests running
/// side by side share nothing.
async fn shared_state() -> Vec<(&'static str, String)> {
    let base = std::env::var("MFA_TEST_DATABASE_URL")
        .unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432/test".into());
    let redis =
        std::env::var("MFA_TEST_REDIS_URL").unwrap_or_else(|_| "redis://127.0.0.1:6379/".into());
    let schema = format!("e{:016x}", rand::random::<u64>());
    let pool = sqlx::PgPool::connect(&base)
        .await
        .expect("PostgreSQL must run (scripts/test starts it)");
    sqlx::query(&format!("CREATE SCHEMA {schema}"))
        .execute(&pool)
        .await
        .unwrap();
    vec![
        ("MFA_REDIS_URL", redis),
        ("MFA_REDIS_PREFIX", format!("{schema}:")),
        (
            "MFA_DATABASE_URL",
            format!("{base}?options=-c%20search_path%3D{schema}"),
        ),
    ]
}

/// Three gateways in front of `app`; the first makes the key file, the others get a copy (a
/// cluster shares one key file, like any other secret).
async fn three_gateways(app: &App) -> Vec<Gateway> {
    three_gateways_running(app, EXAMPLE).await
}

async fn three_gateways_running(app: &App, example: &str) -> Vec<Gateway> {
    let env = shared_state().await;
    let first = Gateway::start_example_with(example, app.addr, temp_dir("shared-a"), &env);
    let keys = first.dir.join("data/keys.json");
    let mut gateways = vec![first];
    for label in ["shared-b", "shared-c"] {
        let dir = temp_dir(label);
        std::fs::create_dir_all(dir.join("data")).unwrap();
        std::fs::copy(&keys, dir.join("data/keys.json")).unwrap();
        gateways.push(Gateway::start_example_with(example, app.addr, dir, &env));
    }
    gateways
}

#[tokio::test]
async fn a_login_moves_freely_between_gateways() {
    let app = start_cookie_app().await;
    let gw = three_gateways(&app).await;
    let (a, b, c) = (gw[0].addr, gw[1].addr, gw[2].addr);

    // Password through A, enrollment through B, released through C.
    let mut browser = Browser::new(a);
    let answer = login(&mut browser, "alice", "secret").await;
    assert_eq!(answer.header("location"), Some("/.mfa/enroll"));
    browser.addr = b;
    let page = browser.get("/.mfa/enroll").await.text();
    let secret = common::browser::enrollment_secret(&page);
    let codes_page = browser
        .post_form(
            "/.mfa/enroll",
            &[
                ("csrf", &form_value(&page, "csrf")),
                ("code", &totp_now(&secret, 0)),
            ],
        )
        .await;
    assert_eq!(codes_page.status, 303);
    let codes_page = browser.get("/.mfa/enroll").await.text();
    browser.addr = c;
    let released = browser
        .post_form(
            "/.mfa/enroll/done",
            &[("csrf", &form_value(&codes_page, "csrf")), ("saved", "yes")],
        )
        .await;
    assert_eq!(released.status, 302);
    for addr in [a, b, c] {
        browser.addr = addr;
        assert_eq!(
            browser.get("/index.php").await.text(),
            "<h1>Hello alice</h1>"
        );
    }

    // Logout through B: C, which has the session in its cache, refuses the old cookies within
    // the cache bound (2 s by default) — in practice as soon as the revocation message arrives.
    let saved = browser.cookies.clone();
    browser.addr = b;
    browser.get("/logout.php").await;
    let logged_out = std::time::Instant::now();
    let mut replay = Browser::new(c);
    replay.cookies = saved;
    loop {
        let answer = replay.get("/index.php").await;
        if answer.header("location") == Some("/login.php") {
            break;
        }
        assert!(
            logged_out.elapsed() < std::time::Duration::from_secs(2),
            "still accepted after the bound"
        );
        tokio::time::sleep(std::time::Duration::from_millis(10)).await;
    }

    // The enrollment lives in PostgreSQL: a fresh login through C asks for a code.
    let mut again = Browser::new(c);
    assert_eq!(
        login(&mut again, "alice", "secret")
            .await
            .header("location"),
        Some("/.mfa/verify")
    );
}

#[tokio::test]
async fn codes_and_failures_count_once_across_gateways() {
    let app = start_cookie_app().await;
    let gw = three_gateways(&app).await;
    let addrs: Vec<_> = gw.iter().map(|g| g.addr).collect();
    let mut first = Browser::new(addrs[0]);
    let (_, codes) = enroll(&mut first, "bob", "hunter2").await;

    // A recovery code used through A is refused through C.
    for (addr, expected) in [(addrs[0], 302), (addrs[2], 303)] {
        let mut b = Browser::new(addr);
        login(&mut b, "bob", "hunter2").await;
        let csrf = form_value(&b.get("/.mfa/verify").await.text(), "csrf");
        let answer = b
            .post_form("/.mfa/verify", &[("csrf", &csrf), ("code", &codes[0])])
            .await;
        assert_eq!(answer.status, expected);
    }

    // Wrong codes from new browsers, sent through A, B, C, A ... in two logins (each ends after
    // five), add up on bob: with the reused recovery code above they make ten, and the tenth
    // locks his sign-in from new browsers on every gateway.
    let mut answers = Vec::new();
    for tries in [4, 5] {
        let mut attacker = Browser::new(addrs[0]);
        login(&mut attacker, "bob", "hunter2").await;
        let csrf = form_value(&attacker.get("/.mfa/verify").await.text(), "csrf");
        for i in 0..tries {
            attacker.addr = addrs[i % 3];
            answers.push(
                attacker
                    .post_form("/.mfa/verify", &[("csrf", &csrf), ("code", "000000")])
                    .await,
            );
        }
    }
    let statuses: Vec<u16> = answers.iter().map(|a| a.status).collect();
    assert_eq!(statuses, [303, 303, 303, 303, 303, 303, 303, 303, 429]);
    assert!(answers[8].text().contains("Too many wrong codes"));
    let mut again = Browser::new(addrs[2]);
    let refused = login(&mut again, "bob", "hunter2").await;
    assert_eq!(refused.status, 429);
    assert!(refused.header("retry-after").is_some());
}

/// A Redis of this test's own on a free port, so it can be stopped and started again.
struct OwnRedis {
    port: u16,
    child: std::process::Child,
}

impl OwnRedis {
    fn start(port: u16) -> OwnRedis {
        Self::start_with(port, &[])
    }

    /// A server with more arguments (`--replicaof`, or a sentinel's config file first).
    fn start_with(port: u16, extra: &[&str]) -> OwnRedis {
        let mut command = std::process::Command::new("redis-server");
        // Its files (a replica's synced dump, a sentinel's rewritten config) go to a scratch
        // folder, never into the checkout.
        command.current_dir(std::env::temp_dir());
        if extra.first().is_some_and(|a| a.ends_with(".conf")) {
            command.args(extra);
        } else {
            command
                .args(["--port", &port.to_string(), "--bind", "127.0.0.1"])
                .args(["--save", "", "--appendonly", "no"])
                .arg("--dir")
                .arg(temp_dir("redis"))
                .args(extra);
        }
        let child = command
            .stdout(std::process::Stdio::null())
            .spawn()
            .expect("redis-server (scripts/test installs it)");
        let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
        while std::net::TcpStream::connect(("127.0.0.1", port)).is_err() {
            assert!(std::time::Instant::now() < deadline, "redis did not start");
            std::thread::sleep(std::time::Duration::from_millis(20));
        }
        OwnRedis { port, child }
    }

    fn stop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }

    /// [`shared_state`] with this Redis instead of the machine's.
    async fn state(&self) -> Vec<(&'static str, String)> {
        let mut env = shared_state().await;
        env.retain(|(k, _)| *k != "MFA_REDIS_URL");
        env.push(("MFA_REDIS_URL", format!("redis://127.0.0.1:{}/", self.port)));
        env
    }
}

impl Drop for OwnRedis {
    fn drop(&mut self) {
        self.stop();
    }
}

/// Once a store is back: a fresh login (retried while the gateway still answers 503) asks for a
/// code, and the next code lets the user in.
async fn signs_in_again(browser: &mut Browser, user: &str, pass: &str, secret: &str) {
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(15);
    let answer = loop {
        let answer = login(browser, user, pass).await;
        if answer.status != 503 || std::time::Instant::now() > deadline {
            break answer;
        }
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    };
    assert_eq!(answer.header("location"), Some("/.mfa/verify"));
    let csrf = form_value(&browser.get("/.mfa/verify").await.text(), "csrf");
    let ok = browser
        .post_form(
            "/.mfa/verify",
            &[("csrf", &csrf), ("code", &totp_now(secret, 30))],
        )
        .await;
    assert_eq!(ok.status, 302);
}

#[tokio::test]
async fn with_redis_down_nothing_passes_unchecked_and_it_recovers_by_itself() {
    let app = start_cookie_app().await;
    let mut redis = OwnRedis::start(common::free_port());
    let env = redis.state().await;
    let gw = Gateway::start_example_with(EXAMPLE, app.addr, temp_dir("redis-down"), &env);
    let mut browser = Browser::new(gw.addr);
    let (secret, _) = enroll(&mut browser, "carol", "pw").await;
    assert_eq!(browser.get("/index.php").await.status, 200);
    let mut pending = Browser::new(gw.addr);
    login(&mut pending, "carol", "pw").await;
    let csrf = form_value(&pending.get("/.mfa/verify").await.text(), "csrf");

    redis.stop();
    // A request with an app session needs its binding checked: 503 (at the latest once the
    // session cache bound has passed; losing the revocation channel empties it sooner), and the
    // app is not contacted.
    // Each worker thread keeps its own cache, so one 503 does not mean every worker has
    // seen the loss yet: several in a row do.
    let stopped = std::time::Instant::now();
    let mut refused_in_a_row = 0;
    while refused_in_a_row < 8 {
        if browser.get("/index.php").await.status == 503 {
            refused_in_a_row += 1;
            continue;
        }
        refused_in_a_row = 0;
        assert!(
            stopped.elapsed() < std::time::Duration::from_secs(2),
            "served past the bound"
        );
        tokio::time::sleep(std::time::Duration::from_millis(20)).await;
    }
    let before = app.state.visits().len();
    let answer = browser.get("/index.php").await;
    assert_eq!(answer.status, 503, "{}", answer.text());
    assert_eq!(app.state.visits().len(), before);
    // A login cannot be withheld: nothing of the app's answer is released.
    let mut newcomer = Browser::new(gw.addr);
    let answer = login(&mut newcomer, "alice", "secret").await;
    assert_eq!(answer.status, 503);
    assert!(!newcomer.cookies.contains_key("PHPSESSID"));
    // A correct code for a login waiting in the lost Redis releases nothing.
    let answer = pending
        .post_form(
            "/.mfa/verify",
            &[("csrf", &csrf), ("code", &totp_now(&secret, 30))],
        )
        .await;
    assert!(answer.status >= 400, "{}", answer.status);
    assert!(!pending.cookies.contains_key("PHPSESSID"));
    // Requests that need no check keep flowing.
    assert_eq!(browser.get("/assets/site.css").await.status, 200);
    let mut anonymous = Browser::new(gw.addr);
    assert_eq!(anonymous.get("/login.php").await.status, 200);

    // Redis comes back empty (it kept nothing): sessions are gone, enrollments are not, and a
    // new login works without restarting the gateway.
    let _redis = OwnRedis::start(redis.port);
    let mut again = Browser::new(gw.addr);
    signs_in_again(&mut again, "carol", "pw", &secret).await;
    assert_eq!(again.get("/index.php").await.text(), "<h1>Hello carol</h1>");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn with_postgresql_away_logins_fail_closed_and_recover() {
    let app = start_cookie_app().await;
    let relay = common::relay::Relay::start("127.0.0.1:5432".parse().unwrap()).await;
    let mut env = shared_state().await;
    for (name, value) in env.iter_mut() {
        if *name == "MFA_DATABASE_URL" {
            *value = value.replace("127.0.0.1:5432", &format!("127.0.0.1:{}", relay.port));
        }
    }
    let gw = Gateway::start_example_with(EXAMPLE, app.addr, temp_dir("pg-down"), &env);
    let mut browser = Browser::new(gw.addr);
    let (secret, _) = enroll(&mut browser, "alice", "secret").await;

    relay.down();
    // The factor lookup cannot be made: the password's success is not released.
    let mut b = Browser::new(gw.addr);
    let answer = login(&mut b, "alice", "secret").await;
    assert_eq!(answer.status, 503, "{}", answer.text());
    assert!(!b.cookies.contains_key("PHPSESSID"));
    assert!(answer.text().contains("cannot check sign-ins right now"));
    // A verified session (its binding is in Redis) keeps working.
    assert_eq!(browser.get("/index.php").await.status, 200);

    relay.up().await;
    signs_in_again(&mut b, "alice", "secret", &secret).await;
}

#[tokio::test]
async fn readiness_and_metrics_report_the_stores() {
    let app = start_cookie_app().await;
    let mut redis = OwnRedis::start(common::free_port());
    let env = redis.state().await;
    let gw = Gateway::start_example_with(EXAMPLE, app.addr, temp_dir("readyz"), &env);
    let ready = common::get(gw.admin, "admin", "/readyz", &[]).await;
    assert_eq!(ready.status, 200);
    assert!(
        ready.text().contains("ephemeral store (redis): ok"),
        "{}",
        ready.text()
    );
    assert!(ready.text().contains("durable store (postgres): ok"));

    redis.stop();
    let ready = common::get(gw.admin, "admin", "/readyz", &[]).await;
    assert_eq!(ready.status, 503);
    assert!(ready
        .text()
        .contains("ephemeral store (redis): unreachable"));
    let mut browser = Browser::new(gw.addr);
    browser.cookies.insert("PHPSESSID".into(), "x".into());
    assert_eq!(browser.get("/index.php").await.status, 503);
    let metrics = common::get(gw.admin, "admin", "/metrics", &[]).await.text();
    assert!(
        metrics.contains("mfa_gateway_store_errors_total 1"),
        "{metrics}"
    );
    assert!(metrics.contains("mfa_gateway_store_up{store=\"ephemeral\",kind=\"redis\"} 0"));
    gw.wait_for_log("state store unavailable");
}

#[tokio::test]
async fn check_config_connects_and_migrate_applies_the_schema() {
    let env = shared_state().await;
    let example = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join(EXAMPLE);
    let dir = temp_dir("connect");
    let run = |args: &[&str], env: &[(&str, String)]| {
        let out = std::process::Command::new(common::BIN)
            .args(args)
            .arg("--config")
            .arg(&example)
            .env("MFA_DATA_DIR", dir.join("data"))
            .envs(env.iter().map(|(k, v)| (*k, v.as_str())))
            .output()
            .unwrap();
        let text = format!(
            "{}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
        (out.status.success(), text)
    };
    let (ok, text) = run(&["migrate"], &env);
    assert!(ok, "{text}");
    assert!(text.contains("postgres: schema up to date"));
    let (ok, text) = run(&["check-config", "--connect"], &env);
    assert!(ok, "{text}");
    assert!(text.contains("ephemeral store: redis: reachable"), "{text}");
    assert!(
        text.contains("durable store: postgres: reachable"),
        "{text}"
    );
    assert!(
        !text.contains("postgres://"),
        "no connection URL (it may hold a password) printed"
    );

    let dead = common::free_port();
    let mut broken = env.clone();
    broken.push((
        "MFA_REDIS_URL",
        format!("redis://:s3cret@127.0.0.1:{dead}/"),
    ));
    broken.retain(|(k, v)| *k != "MFA_REDIS_URL" || v.contains("s3cret"));
    let (ok, text) = run(&["check-config", "--connect"], &broken);
    assert!(!ok);
    assert!(
        text.contains("ephemeral store: redis: NOT reachable"),
        "{text}"
    );
    assert!(!text.contains("s3cret"), "{text}");
}

/// `n` logins of `user` through the JSON flow, spread over `addrs`, then one `code` sent in all
/// of them at once (at most 512 in flight); how many were accepted.
async fn race_across(
    addrs: &[std::net::SocketAddr],
    user: &str,
    pass: &str,
    code: &str,
    n: usize,
) -> usize {
    use bytes::Bytes;
    use futures_util::StreamExt;
    use http_body_util::{BodyExt, Full};
    use hyper_util::client::legacy::Client;
    use hyper_util::rt::TokioExecutor;
    // Keep-alive connections: 20,000 fresh ones would run out of loopback ports.
    let client: Client<_, Full<Bytes>> = Client::builder(TokioExecutor::new())
        .pool_max_idle_per_host(512)
        .build_http();
    let send =
        move |addr: std::net::SocketAddr, path: &'static str, ct: &'static str, body: String| {
            let client = client.clone();
            async move {
                let req = http::Request::post(format!("http://{addr}{path}"))
                    .header("host", "app.example")
                    .header("content-type", ct)
                    .header("accept", "application/json")
                    .body(Full::new(Bytes::from(body)))
                    .unwrap();
                let response = client.request(req).await.unwrap();
                let status = response.status().as_u16();
                let body = response.into_body().collect().await.unwrap().to_bytes();
                (status, body)
            }
        };
    let form = format!("user={user}&pass={pass}");
    let tokens: Vec<(std::net::SocketAddr, String)> = futures_util::stream::iter(0..n)
        .map(|i| {
            let addr = addrs[i % addrs.len()];
            let send = send.clone();
            let form = form.clone();
            async move {
                let (status, body) = send(
                    addr,
                    "/login.php",
                    "application/x-www-form-urlencoded",
                    form,
                )
                .await;
                assert_eq!(status, 200);
                let v: serde_json::Value = serde_json::from_slice(&body).unwrap();
                (addr, v["ephemeral_token"].as_str().unwrap().to_string())
            }
        })
        .buffer_unordered(256)
        .collect()
        .await;
    let gate = std::sync::Arc::new(tokio::sync::Semaphore::new(512));
    let tasks: Vec<_> = tokens
        .into_iter()
        .enumerate()
        .map(|(i, (_, token))| {
            // Each verification goes to another gateway than the one that took the password.
            let addr = addrs[(i + 1) % addrs.len()];
            let body = serde_json::json!({ "ephemeral_token": token, "code": code }).to_string();
            let (send, gate) = (send.clone(), gate.clone());
            tokio::spawn(async move {
                let _permit = gate.acquire().await.unwrap();
                send(addr, "/.mfa/api/verify", "application/json", body)
                    .await
                    .0
            })
        })
        .collect();
    let mut accepted = 0;
    for t in tasks {
        match t.await.unwrap() {
            302 => accepted += 1,
            401 => {}
            other => panic!("unexpected status {other}"),
        }
    }
    accepted
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn ten_thousand_parallel_uses_of_one_code_across_three_gateways() {
    let app = start_cookie_app().await;
    let example = common::example_without_locks(EXAMPLE, &temp_dir("race-config"));
    let gw = three_gateways_running(&app, &example).await;
    let addrs: Vec<_> = gw.iter().map(|g| g.addr).collect();
    let mut first = Browser::new(addrs[0]);
    let (secret, codes) = enroll(&mut first, "alice", "secret").await;
    let n = 10_000;
    assert_eq!(
        race_across(&addrs, "alice", "secret", &codes[0], n).await,
        1,
        "recovery code"
    );
    assert_eq!(
        race_across(&addrs, "alice", "secret", &totp_now(&secret, 30), n).await,
        1,
        "TOTP code"
    );
}

fn redis_cli(port: u16, args: &[&str]) -> String {
    let out = std::process::Command::new("redis-cli")
        .args(["-h", "127.0.0.1", "-p", &port.to_string()])
        .args(args)
        .output()
        .unwrap();
    String::from_utf8_lossy(&out.stdout).into_owned()
}

/// Polls `check` every 100 ms for up to `seconds`.
async fn eventually(seconds: u64, what: &str, mut check: impl FnMut() -> bool) {
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(seconds);
    while !check() {
        assert!(
            std::time::Instant::now() < deadline,
            "{what}: not within {seconds} s"
        );
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sessions_survive_a_sentinel_failover() {
    let app = start_cookie_app().await;
    let dir = temp_dir("sentinel");
    let ports = common::free_ports(5);
    let (primary_port, replica_port) = (ports[0], ports[1]);
    let mut primary = OwnRedis::start(primary_port);
    let _replica = OwnRedis::start_with(
        replica_port,
        &["--replicaof", "127.0.0.1", &primary_port.to_string()],
    );
    let mut sentinels = Vec::new();
    let mut sentinel_ports = Vec::new();
    for (i, &port) in ports[2..].iter().enumerate() {
        let conf = common::write_file(
            &dir,
            &format!("sentinel-{i}.conf"),
            &format!(
                "port {port}\nbind 127.0.0.1\nsentinel monitor mymaster 127.0.0.1 {primary_port} 2\n\
                 sentinel down-after-milliseconds mymaster 1000\nsentinel failover-timeout mymaster 3000\n\
                 sentinel parallel-syncs mymaster 1\n"
            ),
        );
        let conf = conf.display().to_string();
        sentinels.push(OwnRedis::start_with(port, &[&conf, "--sentinel"]));
        sentinel_ports.push(port);
    }
    // The sentinels must know the replica before they can promote it.
    let first = sentinel_ports[0];
    eventually(30, "sentinels see the replica", || {
        redis_cli(first, &["SENTINEL", "replicas", "mymaster"]).contains(&replica_port.to_string())
    })
    .await;

    let config = common::simple_config(app.addr, "")
        .replace(
            "apps:\n",
            &format!(
                "state:\n  redis_url: \"redis://127.0.0.1:1/\"\n  redis_sentinel_service: mymaster\n  redis_sentinels: [{}]\napps:\n",
                sentinel_ports
                    .iter()
                    .map(|p| format!("\"127.0.0.1:{p}\""))
                    .collect::<Vec<_>>()
                    .join(", ")
            ),
        )
        + "    mfa:\n      enrollment: { first_login: { for: 30d } }\n      login:\n        - path: /login.php\n          username_field: user\n          success:\n            set_cookie: PHPSESSID\n      session_cookies: [PHPSESSID]\n      identity: { typed_name: true }\n";
    let gw = Gateway::start_in(&config, dir.clone());
    let mut browser = Browser::new(gw.addr);
    let answer = login(&mut browser, "alice", "secret").await;
    assert_eq!(answer.header("location"), Some("/.mfa/enroll"));
    let page = browser.get("/.mfa/enroll").await.text();
    let secret = common::browser::enrollment_secret(&page);
    let codes = browser
        .post_form(
            "/.mfa/enroll",
            &[
                ("csrf", &form_value(&page, "csrf")),
                ("code", &totp_now(&secret, 0)),
            ],
        )
        .await;
    assert_eq!(codes.status, 303);
    let codes = browser.get("/.mfa/enroll").await.text();
    browser
        .post_form(
            "/.mfa/enroll/done",
            &[("csrf", &form_value(&codes, "csrf")), ("saved", "yes")],
        )
        .await;
    assert_eq!(browser.get("/index.php").await.status, 200);
    // Let the session reach the replica before the primary dies.
    eventually(10, "replica in sync", || {
        redis_cli(replica_port, &["DBSIZE"]).trim() == redis_cli(primary_port, &["DBSIZE"]).trim()
    })
    .await;

    primary.stop();
    eventually(30, "failover", || {
        redis_cli(first, &["SENTINEL", "get-master-addr-by-name", "mymaster"])
            .contains(&replica_port.to_string())
    })
    .await;
    // The verified session goes on through the promoted replica (503s meanwhile are fine).
    let mut status = 0;
    for _ in 0..100 {
        status = browser.get("/index.php").await.status;
        if status == 200 {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    assert_eq!(status, 200, "{}", gw.log_text());
    assert!(gw.log_text().contains("Redis master changed (Sentinel)"));
    // And a new login works against the new master.
    let mut again = Browser::new(gw.addr);
    let answer = login(&mut again, "alice", "secret").await;
    assert_eq!(answer.header("location"), Some("/.mfa/verify"));
    drop(sentinels);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn redis_over_tls_with_an_acl_user() {
    let app = start_cookie_app().await;
    let dir = temp_dir("rediss");
    // A CA and a server certificate for localhost, made for this test.
    let ca_key = rcgen::KeyPair::generate().unwrap();
    let mut ca_params = rcgen::CertificateParams::new(Vec::<String>::new()).unwrap();
    ca_params.is_ca = rcgen::IsCa::Ca(rcgen::BasicConstraints::Unconstrained);
    let ca = ca_params.self_signed(&ca_key).unwrap();
    let key = rcgen::KeyPair::generate().unwrap();
    let cert = rcgen::CertificateParams::new(vec!["localhost".to_string()])
        .unwrap()
        .signed_by(&key, &ca, &ca_key)
        .unwrap();
    let ca_file = common::write_file(&dir, "ca.pem", &ca.pem());
    let cert_file = common::write_file(&dir, "redis.pem", &cert.pem());
    let key_file = common::write_file(&dir, "redis.key", &key.serialize_pem());
    let port = common::free_port();
    let (ca_path, cert_path, key_path) = (
        ca_file.display().to_string(),
        cert_file.display().to_string(),
        key_file.display().to_string(),
    );
    let tls = [
        "--port",
        "0",
        "--tls-port",
        &port.to_string(),
        "--bind",
        "127.0.0.1",
        "--tls-cert-file",
        &cert_path,
        "--tls-key-file",
        &key_path,
        "--tls-ca-cert-file",
        &ca_path,
        "--tls-auth-clients",
        "no",
        "--save",
        "",
        "--appendonly",
        "no",
        "--user",
        "gateway",
        "on",
        ">s3cret",
        "~*",
        "&*",
        "+@all",
    ];
    let _redis = OwnRedis::start_with(port, &tls);

    let mut env = shared_state().await;
    env.retain(|(k, _)| *k != "MFA_REDIS_URL");
    env.push((
        "MFA_REDIS_URL",
        format!("rediss://gateway:s3cret@localhost:{port}/"),
    ));
    // The gateway trusts the system roots; this test's CA is added the standard way.
    env.push(("SSL_CERT_FILE", ca_path.clone()));
    let gw = Gateway::start_example_with(EXAMPLE, app.addr, dir, &env);
    let mut browser = Browser::new(gw.addr);
    enroll(&mut browser, "alice", "secret").await;
    assert_eq!(
        browser.get("/index.php").await.text(),
        "<h1>Hello alice</h1>"
    );
    let ready = common::get(gw.admin, "admin", "/readyz", &[]).await;
    assert_eq!(ready.status, 200, "{}", ready.text());
}

/// SECURITY-TESTS 22: Redis read-only (a replica whose master is gone) and Redis that never
/// answers (a socket that accepts and stays silent): 503 within the configured timeout,
/// nothing released.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_read_only_or_silent_redis_fails_closed() {
    let app = start_cookie_app().await;
    // Read-only: a replica of a master that does not exist.
    let ports = common::free_ports(2);
    let port = ports[0];
    let _replica = OwnRedis::start_with(port, &["--replicaof", "127.0.0.1", &ports[1].to_string()]);
    let mut env = shared_state().await;
    env.retain(|(k, _)| *k != "MFA_REDIS_URL");
    env.push(("MFA_REDIS_URL", format!("redis://127.0.0.1:{port}/")));
    // Not ready (nothing can be written), so not waited for.
    let gw = Gateway::start_example_unready(EXAMPLE, app.addr, temp_dir("readonly"), &env);
    let mut b = Browser::new(gw.addr);
    let answer = login(&mut b, "alice", "secret").await;
    assert_eq!(answer.status, 503, "{}", answer.text());
    assert!(!b.cookies.contains_key("PHPSESSID"));
    // The next gateway shares the database: it needs the same key file.
    let silent_dir = temp_dir("silent");
    std::fs::create_dir_all(silent_dir.join("data")).unwrap();
    std::fs::copy(
        gw.dir.join("data/keys.json"),
        silent_dir.join("data/keys.json"),
    )
    .unwrap();
    drop(gw);

    // Silent: connections are accepted and never answered.
    let silent = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let silent_port = silent.local_addr().unwrap().port();
    tokio::spawn(async move {
        let mut held = Vec::new();
        while let Ok((stream, _)) = silent.accept().await {
            held.push(stream);
        }
    });
    env.retain(|(k, _)| *k != "MFA_REDIS_URL");
    env.push(("MFA_REDIS_URL", format!("redis://127.0.0.1:{silent_port}/")));
    let gw = Gateway::start_example_unready(EXAMPLE, app.addr, silent_dir, &env);
    let mut b = Browser::new(gw.addr);
    let started = std::time::Instant::now();
    let answer = login(&mut b, "alice", "secret").await;
    assert_eq!(answer.status, 503, "{}", answer.text());
    assert!(
        started.elapsed() < std::time::Duration::from_secs(5),
        "{:?}",
        started.elapsed()
    );
    assert!(!b.cookies.contains_key("PHPSESSID"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_gateway_on_a_redis_cluster() {
    let app = start_cookie_app().await;
    let dir = temp_dir("cluster");
    let ports = common::free_ports(3);
    let _nodes: Vec<OwnRedis> = ports
        .iter()
        .map(|port| {
            let conf = dir.join(format!("nodes-{port}.conf")).display().to_string();
            let data = dir.display().to_string();
            OwnRedis::start_with(
                *port,
                &[
                    "--cluster-enabled",
                    "yes",
                    "--cluster-config-file",
                    &conf,
                    "--dir",
                    &data,
                ],
            )
        })
        .collect();
    let nodes: Vec<String> = ports.iter().map(|p| format!("127.0.0.1:{p}")).collect();
    let created = std::process::Command::new("redis-cli")
        .args(["--cluster", "create"])
        .args(&nodes)
        .args(["--cluster-replicas", "0", "--cluster-yes"])
        .output()
        .unwrap();
    assert!(created.status.success());
    let first = ports[0];
    eventually(20, "cluster ok", || {
        redis_cli(first, &["cluster", "info"]).contains("cluster_state:ok")
    })
    .await;

    let list = nodes
        .iter()
        .map(|n| format!("\"{n}\""))
        .collect::<Vec<_>>()
        .join(", ");
    let config = common::simple_config(app.addr, "")
        .replace(
            "apps:\n",
            &format!("state:\n  redis_url: \"redis://127.0.0.1:1/\"\n  redis_cluster: [{list}]\napps:\n"),
        )
        .replace("  - name: main\n", "  - name: main\n    display_name: Intranet\n")
        + "    mfa:\n      enrollment: { first_login: { for: 30d } }\n      login:\n        - path: /login.php\n          username_field: user\n          success:\n            set_cookie: PHPSESSID\n      session_cookies: [PHPSESSID]\n      logout: [/logout.php]\n      identity: { typed_name: true }\n";
    let gw = Gateway::start_in(&config, dir.clone());
    let mut browser = Browser::new(gw.addr);
    enroll(&mut browser, "carol", "pw").await;
    assert_eq!(
        browser.get("/index.php").await.text(),
        "<h1>Hello carol</h1>"
    );
    let saved = browser.cookies.clone();
    browser.get("/logout.php").await;
    let mut replay = Browser::new(gw.addr);
    replay.cookies = saved;
    assert_eq!(
        replay.get("/index.php").await.header("location"),
        Some("/login.php")
    );
}

/// The admin commands on Redis + PostgreSQL: a lock made through one gateway's config holds on
/// the others, and revocations reach every gateway within the cache bound.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn admin_commands_work_on_the_shared_stores() {
    let app = start_cookie_app().await;
    let gw = three_gateways(&app).await;
    let mut bob = Browser::new(gw[0].addr);
    let (_, codes) = enroll(&mut bob, "bob", "hunter2").await;

    let locked = gw[0].cli(&["user", "lock", "bob", "--for", "10m"], "");
    assert_eq!(locked.code, 0, "{}", locked.stderr);
    let mut elsewhere = Browser::new(gw[2].addr);
    assert_eq!(login(&mut elsewhere, "bob", "hunter2").await.status, 429);
    let list = gw[1].cli(&["user", "list", "--json"], "");
    let row: serde_json::Value = serde_json::from_str(
        list.stdout
            .lines()
            .find(|l| l.contains("\"bob\""))
            .expect("bob listed"),
    )
    .unwrap();
    assert!(row["locked_until"].as_i64().is_some(), "{row}");
    assert_eq!(row["recovery_codes_left"], 10);
    gw[1].cli(&["user", "unlock", "bob"], "");
    let mut again = Browser::new(gw[2].addr);
    login(&mut again, "bob", "hunter2").await;
    let csrf = form_value(&again.get("/.mfa/verify").await.text(), "csrf");
    let released = again
        .post_form("/.mfa/verify", &[("csrf", &csrf), ("code", &codes[0])])
        .await;
    assert_eq!(released.status, 302);

    let sessions = gw[2].cli(&["session", "list", "--user", "bob", "--json"], "");
    assert_eq!(sessions.stdout.lines().count(), 2, "{}", sessions.stdout);
    let revoked = gw[2].cli(&["session", "revoke", "--user", "bob"], "");
    assert_eq!(revoked.stdout.trim(), "2 sessions of bob (intranet) ended");
    for (browser, addr) in [(&mut bob, gw[1].addr), (&mut again, gw[0].addr)] {
        browser.addr = addr;
        assert_eq!(
            browser.get("/index.php").await.header("location"),
            Some("/login.php")
        );
    }
    let reset = gw[0].cli(&["user", "reset", "bob", "--yes"], "");
    assert_eq!(reset.code, 0, "{}", reset.stderr);
    let mut fresh = Browser::new(gw[1].addr);
    assert_eq!(
        login(&mut fresh, "bob", "hunter2").await.header("location"),
        Some("/.mfa/enroll")
    );
}

/// `audit.on_failure: refuse`: while the audit stream's Redis is away, sign-ins are refused
/// (503, nothing released, no code used up); when it returns they work again, and the records
/// queued meanwhile reach the stream.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn with_a_failing_audit_sink_and_refuse_sign_ins_wait() {
    let app = start_cookie_app().await;
    let port = common::free_port();
    let mut redis = OwnRedis::start(port);
    let yaml = common::cookie_app_config(
        app.addr,
        &format!(
            "audit:\n  on_failure: refuse\n  redis_stream:\n    url: \"redis://127.0.0.1:{port}/\"\n    key: \"audit\""
        ),
        "",
    );
    let gw = Gateway::start(&yaml);
    let mut first = Browser::new(gw.addr);
    let (_, codes) = enroll(&mut first, "alice", "secret").await;
    // A login waiting at the verify step when the sink fails.
    let mut waiting = Browser::new(gw.addr);
    login(&mut waiting, "alice", "secret").await;
    let csrf = form_value(&waiting.get("/.mfa/verify").await.text(), "csrf");

    let filed = || {
        std::fs::read_to_string(gw.dir.join("data/audit.jsonl"))
            .unwrap()
            .lines()
            .count()
    };
    // This Redis keeps nothing on disk: what it held goes with it, what comes later must reach
    // the new one.
    let before_stop = filed();
    redis.stop();
    // The first record after the stop is queued; once the stream has failed a write, logins
    // are refused.
    eventually(10, "logins refused", || {
        let gw = &gw;
        let status = std::thread::scope(|s| {
            s.spawn(|| {
                tokio::runtime::Runtime::new().unwrap().block_on(async {
                    let mut b = Browser::new(gw.addr);
                    login(&mut b, "alice", "secret").await.status
                })
            })
            .join()
            .unwrap()
        });
        status == 503
    })
    .await;
    let refused = waiting
        .post_form("/.mfa/verify", &[("csrf", &csrf), ("code", &codes[0])])
        .await;
    assert_eq!(refused.status, 503);
    assert!(!waiting.cookies.contains_key("PHPSESSID"));
    let page = common::get(gw.admin, "admin", "/metrics", &[]).await.text();
    let m = common::parse_metrics(&page);
    assert!(
        m["mfa_gateway_audit_sink_errors_total{sink=\"redis_stream\"}"] >= 1.0,
        "{page}"
    );

    let mut redis = OwnRedis::start(port);
    let mut back = Browser::new(gw.addr);
    let mut status = 0;
    for _ in 0..50 {
        status = login(&mut back, "alice", "secret").await.status;
        if status == 303 {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(200)).await;
    }
    assert_eq!(status, 303, "logins work again once the stream is back");
    // The code refused during the outage was not used up.
    let csrf = form_value(&back.get("/.mfa/verify").await.text(), "csrf");
    let released = back
        .post_form("/.mfa/verify", &[("csrf", &csrf), ("code", &codes[0])])
        .await;
    assert_eq!(released.status, 302, "{}", released.text());
    // Every record written since the stop, queued during the outage, reached the stream (which
    // may also hold a few from just before the stop that were still on their way then).
    eventually(10, "the stream caught up", || {
        let file = std::fs::read_to_string(gw.dir.join("data/audit.jsonl")).unwrap();
        let streamed = gw.cli(&["audit", "query", "--stream", "--json"], "").stdout;
        let streamed: std::collections::HashSet<serde_json::Value> = streamed
            .lines()
            .filter_map(|l| serde_json::from_str(l).ok())
            .collect();
        file.lines()
            .skip(before_stop)
            .map(|l| serde_json::from_str::<serde_json::Value>(l).unwrap())
            .all(|record| streamed.contains(&record))
    })
    .await;
    redis.stop();
}

/// On Redis a session's record expires inside Redis; the gateways still record its end (once,
/// however many of them there are).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sessions_that_time_out_on_redis_are_audited_once() {
    let app = start_cookie_app().await;
    let env = shared_state().await;
    let value = |name: &str| env.iter().find(|(k, _)| *k == name).unwrap().1.clone();
    let yaml = common::cookie_app_config(
        app.addr,
        &format!(
            "state:\n  redis_url: \"{}\"\n  redis_prefix: \"{}\"\n  database_url: \"{}\"",
            value("MFA_REDIS_URL"),
            value("MFA_REDIS_PREFIX"),
            value("MFA_DATABASE_URL")
        ),
        "      policy: optional\n      idle_timeout: 2s\n      absolute_timeout: 60s",
    );
    let first = Gateway::start(&yaml);
    let dir = temp_dir("gw");
    std::fs::create_dir_all(dir.join("data")).unwrap();
    std::fs::copy(first.dir.join("data/keys.json"), dir.join("data/keys.json")).unwrap();
    let gateways = [first, Gateway::start_in(&yaml, dir)];
    let mut alice = Browser::new(gateways[0].addr);
    let answer = login(&mut alice, "alice", "secret").await;
    assert_eq!(answer.status, 302, "optional policy, no factor: released");
    eventually(10, "the idle end is recorded", || {
        gateways
            .iter()
            .flat_map(common::audit_events)
            .any(|e| e["event"] == "session_ended")
    })
    .await;
    tokio::time::sleep(std::time::Duration::from_secs(2)).await;
    let ended: Vec<serde_json::Value> = gateways
        .iter()
        .flat_map(common::audit_events)
        .filter(|e| e["event"] == "session_ended")
        .collect();
    assert_eq!(ended.len(), 1, "{ended:?}");
    assert_eq!(ended[0]["user"], "alice");
    assert_eq!(ended[0]["app"], "intranet");
    assert_eq!(ended[0]["reason"], "idle timeout");
    let created = common::audit_events(&gateways[0])
        .into_iter()
        .find(|e| e["event"] == "session_created")
        .unwrap();
    assert_eq!(
        ended[0]["session"], created["session"],
        "the same session, by its id prefix"
    );
}

/// The natural mistake: a node with a key file of its own. It refuses to start, naming both
/// fingerprints and what to copy where; with the right file it starts. The check also holds
/// for Redis alone (a node with its own SQLite), and for a PostgreSQL that was down at start.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_gateway_with_another_key_file_refuses_to_start_and_says_what_to_copy() {
    let app = start_cookie_app().await;
    let env = shared_state().await;
    let first = Gateway::start_example_with(EXAMPLE, app.addr, temp_dir("keys-a"), &env);
    let shown = first.cli(&["keys", "fingerprint"], "");
    assert_eq!(shown.code, 0, "{}", shown.stderr);
    let theirs = shown.stdout.split_whitespace().next().unwrap().to_string();
    assert_eq!(theirs.len(), 16, "{}", shown.stdout);

    let dir = temp_dir("keys-b");
    let (code, log) = Gateway::start_example_refused(EXAMPLE, app.addr, dir.clone(), &env);
    assert_eq!(code, Some(1), "{log}");
    let keys = dir.join("data/keys.json");
    let ours = mfa_gateway::keys::KeyRing::load(&keys)
        .unwrap()
        .fingerprint();
    assert_ne!(ours, theirs);
    for needed in [
        theirs.as_str(),
        ours.as_str(),
        "PostgreSQL",
        "mfa-gateway keys fingerprint",
        &format!("to {}", keys.display()),
    ] {
        assert!(log.contains(needed), "{needed:?} not in:\n{log}");
    }
    // Copied, it starts and serves.
    std::fs::copy(first.dir.join("data/keys.json"), &keys).unwrap();
    let second = Gateway::start_example_with(EXAMPLE, app.addr, dir, &env);
    let mut browser = Browser::new(second.addr);
    enroll(&mut browser, "alice", "secret").await;

    // Redis alone: a node with its own SQLite (which claims its own key file) and the
    // cluster's Redis.
    let redis_only: Vec<(&str, String)> = env
        .iter()
        .filter(|(name, _)| *name != "MFA_DATABASE_URL")
        .cloned()
        .collect();
    let (code, log) =
        Gateway::start_example_refused(EXAMPLE, app.addr, temp_dir("keys-c"), &redis_only);
    assert_eq!(code, Some(1), "{log}");
    assert!(log.contains("Redis") && log.contains(&theirs), "{log}");

    // PostgreSQL down at start: the check waits for it, then the node stops.
    let relay = common::relay::Relay::start("127.0.0.1:5432".parse().unwrap()).await;
    relay.down();
    let mut late = env.clone();
    for (name, value) in late.iter_mut() {
        match *name {
            "MFA_DATABASE_URL" => {
                *value = value.replace("127.0.0.1:5432", &format!("127.0.0.1:{}", relay.port))
            }
            // Another Redis prefix: only PostgreSQL can tell.
            "MFA_REDIS_PREFIX" => value.insert_str(0, "late-"),
            _ => {}
        }
    }
    let mut waiting = Gateway::start_example_unready(EXAMPLE, app.addr, temp_dir("keys-d"), &late);
    // Until the key file is compared, nothing of the app passes and the node is not ready.
    let early = common::get(waiting.addr, "a", "/index.php", &[]).await;
    assert_eq!(early.status, 503, "{}", early.text());
    let ready = common::get(waiting.admin, "admin", "/readyz", &[]).await;
    assert_eq!(ready.status, 503);
    assert!(ready.text().contains("key file"), "{}", ready.text());
    relay.up().await;
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(20);
    let status = loop {
        if let Some(status) = waiting.child.try_wait().unwrap() {
            break status;
        }
        assert!(
            std::time::Instant::now() < deadline,
            "{}",
            waiting.log_text()
        );
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    };
    assert_eq!(status.code(), Some(1));
    assert!(
        waiting.log_text().contains(&theirs),
        "{}",
        waiting.log_text()
    );

    // A database written before fingerprints were kept (the row removed, a Redis of its own):
    // a node with another key file cannot claim it, since the stored secrets do not open.
    let url = &env
        .iter()
        .find(|(k, _)| *k == "MFA_DATABASE_URL")
        .unwrap()
        .1;
    let pool = sqlx::PgPool::connect(url).await.unwrap();
    sqlx::query("DELETE FROM key_fingerprint")
        .execute(&pool)
        .await
        .unwrap();
    let mut unclaimed = env.clone();
    for (name, value) in unclaimed.iter_mut() {
        if *name == "MFA_REDIS_PREFIX" {
            value.insert_str(0, "old-");
        }
    }
    let (code, log) =
        Gateway::start_example_refused(EXAMPLE, app.addr, temp_dir("keys-old"), &unclaimed);
    assert_eq!(code, Some(1), "{log}");
    assert!(log.contains("cannot open the factors stored"), "{log}");
}
