//! The process as ops see it: check-config, --version, SIGHUP reload, graceful shutdown.

// Tests time the gateway from outside: the clock rule (clippy.toml) is for the gateway's code.
#![allow(clippy::disallowed_methods)]

mod common;

use common::{get, simple_config, upstream, write_file, Gateway, BIN};
use std::process::Command;
use std::time::{Duration, Instant};

fn check_config(text: &str) -> (bool, String, String) {
    let dir = common::temp_dir("check");
    let path = write_file(&dir, "gateway.yaml", text);
    let out = Command::new(BIN)
        .args(["check-config", "--config"])
        .arg(&path)
        .output()
        .unwrap();
    let stderr =
        String::from_utf8_lossy(&out.stderr).replace(path.to_str().unwrap(), "gateway.yaml");
    (
        out.status.success(),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        stderr,
    )
}

const BASE: &str = "listeners:\n  - address: \"127.0.0.1:8080\"\napps:\n  - name: app\n    hosts: [\"*\"]\n    upstream:\n      url: \"http://127.0.0.1:8000\"\n";

#[test]
fn version_is_printed() {
    let out = Command::new(BIN).arg("--version").output().unwrap();
    assert!(out.status.success());
    assert_eq!(
        String::from_utf8_lossy(&out.stdout).trim(),
        format!("mfa-gateway {}", env!("CARGO_PKG_VERSION"))
    );
}

#[test]
fn check_config_accepts_a_good_file() {
    let (ok, stdout, _) = check_config(BASE);
    assert!(ok);
    assert!(stdout.contains("ok (1 listener, 1 app)"), "{stdout}");
}

#[test]
fn check_config_names_file_line_column_and_key_for_each_error_class() {
    let cases = [
        // invalid value
        (BASE.replace("http://127.0.0.1:8000", "htp://x"), "gateway.yaml:7:7: apps[0].upstream.url: \"htp://x\" is not an http(s) URL"),
        // unknown key with a hint
        (BASE.replace("    hosts:", "    hots: []\n    hosts:"), "gateway.yaml:5:5: apps[0].hots: unknown key `hots` (did you mean `hosts`?)"),
        // wrong type
        (BASE.replace("hosts: [\"*\"]", "hosts: 7"), "gateway.yaml:5:12: apps[0].hosts: expected a list of host names, such as [\"app.example.com\"], found the number 7"),
        // missing required key
        (BASE.replace("      url: \"http://127.0.0.1:8000\"\n", "      ca_file: x\n"), "gateway.yaml:7:7: apps[0].upstream.url: missing: `url` is required here"),
        // unset environment variable
        (BASE.replace("127.0.0.1:8080", "${NOT_SET_ANYWHERE_42}"), "gateway.yaml:2:15: environment variable NOT_SET_ANYWHERE_42 is not set"),
        // YAML syntax
        (BASE.replace("hosts: [\"*\"]", "hosts: [\"*\""), "gateway.yaml:6:"),
        // unreadable file referenced by the config
        (
            BASE.replace("  - address: \"127.0.0.1:8080\"\n", "  - address: \"127.0.0.1:8443\"\n    tls:\n      certificates:\n        - cert_file: /nonexistent/c.pem\n          key_file: /nonexistent/k.pem\n"),
            "gateway.yaml:5:11: listeners[0].tls.certificates[0].cert_file: cannot read certificate file /nonexistent/c.pem",
        ),
        // bad duration
        (BASE.replace("apps:", "limits:\n  shutdown_timeout: soon\napps:"), "gateway.yaml:4:3: limits.shutdown_timeout: \"soon\" is not a duration"),
    ];
    for (text, expected) in cases {
        let (ok, _, stderr) = check_config(&text);
        assert!(!ok, "accepted:\n{text}");
        assert!(
            stderr.contains(expected),
            "expected {expected:?} in:\n{stderr}"
        );
    }
}

#[test]
fn check_config_lists_every_validation_problem() {
    let text = BASE
        .replace("127.0.0.1:8080", "nowhere")
        .replace("http://127.0.0.1:8000", "ftp://x")
        .replace("apps:", "logging:\n  format: xml\napps:");
    let (ok, _, stderr) = check_config(&text);
    assert!(!ok);
    assert!(stderr.contains("listeners[0].address"), "{stderr}");
    assert!(stderr.contains("logging.format"), "{stderr}");
    assert!(stderr.contains("apps[0].upstream.url"), "{stderr}");
    assert!(stderr.contains("3 problems found"), "{stderr}");

    // Structural mistakes (an unknown key, wrong kinds) and the checks after them, all in one
    // run, in file order.
    let text = text
        .replace(
            "apps:",
            "limits:\n  max_headers: many\ngateway:\n  workerz: 2\napps:",
        )
        .replace(
            "    hosts: [\"*\"]\n",
            "    hosts: [\"*\"]\n    path_prefix: [1]\n",
        );
    let (ok, _, stderr) = check_config(&text);
    assert!(!ok);
    let lines: Vec<&str> = stderr.lines().collect();
    assert!(stderr.contains("6 problems found"), "{stderr}");
    for (i, expected) in [
        "gateway.yaml:2:",
        "gateway.yaml:4:",
        "gateway.yaml:6:16: limits.max_headers: expected a whole number, found the text \"many\"",
        "gateway.yaml:8:3: gateway.workerz: unknown key `workerz` (did you mean `workers`?)",
        "gateway.yaml:12:",
        "gateway.yaml:14:",
    ]
    .iter()
    .enumerate()
    {
        assert!(
            lines[i].starts_with(expected),
            "{i}: {expected} in\n{stderr}"
        );
    }
}

/// The README's "Protect your own app" lines are a working config.
#[test]
fn the_readmes_own_app_config_passes_check_config() {
    let readme =
        std::fs::read_to_string(Path::new(env!("CARGO_MANIFEST_DIR")).join("README.md")).unwrap();
    let section = readme
        .split("## Protect your own app")
        .nth(1)
        .expect("the section");
    let yaml = section
        .split("```yaml\n")
        .nth(1)
        .and_then(|rest| rest.split("```").next())
        .expect("its YAML block");
    let text = format!("listeners:\n  - address: \"127.0.0.1:8080\"\n{yaml}");
    let (ok, stdout, stderr) = check_config(&text);
    assert!(ok, "{stderr}\n{text}");
    assert!(stdout.contains("ok (1 listener, 1 app)"), "{stdout}");
}

#[test]
fn every_shipped_config_passes_check_config_with_no_variables_set() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("config");
    let mut files = vec![root.join("demo.yaml"), root.join("reference.yaml")];
    for entry in std::fs::read_dir(root.join("examples")).unwrap() {
        files.push(entry.unwrap().path());
    }
    assert!(files.len() >= 5, "{files:?}");
    for file in files {
        let out = Command::new(BIN)
            .args(["check-config", "--config"])
            .arg(&file)
            .env_remove("MFA_LISTEN")
            .env_remove("MFA_ADMIN_LISTEN")
            .env_remove("UPSTREAM_URL")
            .env_remove("MFA_DATA_DIR")
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "{}: {}",
            file.display(),
            String::from_utf8_lossy(&out.stderr)
        );
    }
}

use std::path::Path;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sighup_applies_a_valid_file_and_refuses_an_invalid_one() {
    let first = upstream::start().await;
    let second = upstream::start().await;
    let gw = Gateway::start(&simple_config(first.addr, ""));
    // A connection opened before the reload keeps working after it.
    let stream = tokio::net::TcpStream::connect(gw.addr).await.unwrap();
    let (mut sender, conn) =
        hyper::client::conn::http1::handshake(hyper_util::rt::TokioIo::new(stream))
            .await
            .unwrap();
    tokio::spawn(conn);
    let request = |path: &str| {
        http::Request::get(path)
            .header("host", "a")
            .body(http_body_util::Empty::<bytes::Bytes>::new())
            .unwrap()
    };
    assert_eq!(
        sender
            .send_request(request("/before"))
            .await
            .unwrap()
            .status(),
        200
    );

    let text = std::fs::read_to_string(&gw.config).unwrap();
    common::replace_file(
        &gw.config,
        &text.replace(&first.addr.to_string(), &second.addr.to_string()),
    );
    gw.signal("HUP");
    gw.wait_for_log("configuration reloaded");
    get(gw.addr, "a", "/after-good-reload", &[]).await;
    assert_eq!(second.seen.paths(), ["/after-good-reload"]);
    assert_eq!(
        sender
            .send_request(request("/same-connection"))
            .await
            .unwrap()
            .status(),
        200
    );

    let good = std::fs::read_to_string(&gw.config).unwrap();
    common::replace_file(&gw.config, &good.replace("url:", "ur1:"));
    gw.signal("HUP");
    let log = gw.wait_for_log("reload refused");
    assert!(
        log.contains("apps[0].upstream.ur1: unknown key `ur1` (did you mean `url`?)"),
        "{log}"
    );
    get(gw.addr, "a", "/after-bad-reload", &[]).await;
    assert!(second
        .seen
        .paths()
        .contains(&"/after-bad-reload".to_string()));

    let metrics = get(gw.admin, "admin", "/metrics", &[]).await.text();
    assert!(
        metrics.contains("mfa_gateway_config_reloads_total{outcome=\"applied\"} 1"),
        "{metrics}"
    );
    assert!(
        metrics.contains("mfa_gateway_config_reloads_total{outcome=\"refused\"} 1"),
        "{metrics}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sigterm_lets_an_in_flight_request_finish() {
    let up = upstream::start().await;
    let mut gw = Gateway::start(
        &simple_config(up.addr, "").replace("apps:", "limits:\n  shutdown_timeout: 10s\napps:"),
    );
    let addr = gw.addr;
    let slow = tokio::spawn(async move { get(addr, "a", "/slow?ms=1500", &[]).await });
    tokio::time::sleep(Duration::from_millis(300)).await;
    let signalled = Instant::now();
    gw.signal("TERM");
    // New connections are refused soon after the signal…
    let deadline = Instant::now() + Duration::from_secs(3);
    while tokio::net::TcpStream::connect(addr).await.is_ok() {
        assert!(
            Instant::now() < deadline,
            "still accepting 3 s after SIGTERM"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    // …while the request already in flight completes.
    let answer = slow.await.unwrap();
    assert_eq!(answer.status, 200);
    assert_eq!(answer.text(), "slow done");
    let status = tokio::task::spawn_blocking(move || {
        let status = gw.child.wait().unwrap();
        (status, gw)
    })
    .await
    .unwrap();
    assert!(status.0.success());
    assert!(signalled.elapsed() < Duration::from_secs(5));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sigterm_deadline_cuts_requests_that_take_too_long() {
    let up = upstream::start().await;
    let mut gw = Gateway::start(
        &simple_config(up.addr, "").replace("apps:", "limits:\n  shutdown_timeout: 500ms\napps:"),
    );
    let addr = gw.addr;
    let slow = tokio::spawn(async move {
        common::raw_request(addr, b"GET /slow?ms=5000 HTTP/1.1\r\nHost: a\r\n\r\n")
    });
    tokio::time::sleep(Duration::from_millis(200)).await;
    let signalled = Instant::now();
    gw.signal("TERM");
    let status = tokio::task::spawn_blocking(move || gw.child.wait().unwrap())
        .await
        .unwrap();
    assert!(status.success());
    let took = signalled.elapsed();
    assert!(took < Duration::from_secs(3), "shutdown took {took:?}");
    let text = slow.await.unwrap().unwrap_or_default();
    assert!(!text.contains("slow done"));
}

/// The README's first command: `mfa-gateway demo` serves the bundled app through the gateway.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn demo_command_serves_the_bundled_app_through_the_gateway() {
    let ports = common::free_ports(3);
    let listen = std::net::SocketAddr::from(([127, 0, 0, 1], ports[0]));
    let app = format!("127.0.0.1:{}", ports[1]);
    let admin = format!("127.0.0.1:{}", ports[2]);
    let dir = common::temp_dir("demo");
    let mut child = Command::new(BIN)
        .args([
            "demo",
            "--listen",
            &listen.to_string(),
            "--app-listen",
            &app,
        ])
        .env("MFA_ADMIN_LISTEN", &admin)
        .env("MFA_DATA_DIR", dir.join("data"))
        // Not the checkout: the demo's config is built in.
        .current_dir(&dir)
        .stdout(std::process::Stdio::null())
        .stderr(std::fs::File::create(dir.join("demo.log")).unwrap())
        .spawn()
        .unwrap();
    let deadline = Instant::now() + Duration::from_secs(15);
    while tokio::net::TcpStream::connect(listen).await.is_err() {
        assert!(Instant::now() < deadline, "demo did not start");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }

    let r = get(listen, "127.0.0.1", "/", &[]).await;
    assert_eq!(r.status, 302);
    assert_eq!(r.header("location"), Some("/login"));
    assert_eq!(r.header("via"), Some("1.1 mfa-gateway"));
    // The README's walkthrough: password, then enrollment with a QR code, then the app.
    let mut browser = common::browser::Browser::new(listen);
    let r = browser
        .post_form("/login", &[("username", "demo"), ("password", "demo")])
        .await;
    assert_eq!(r.status, 303);
    assert!(
        !browser.cookies.contains_key("demo_session"),
        "released before MFA"
    );
    let page = browser.get(r.header("location").unwrap()).await.text();
    assert!(page.contains("<svg") && page.contains("otpauth://totp/mfa-gateway%20demo:demo"));
    let secret = common::browser::enrollment_secret(&page);
    let csrf = common::browser::form_value(&page, "csrf");
    let code = common::browser::totp_now(&secret, 0);
    let confirmed = browser
        .post_form("/.mfa/enroll", &[("csrf", &csrf), ("code", &code)])
        .await;
    assert_eq!(confirmed.status, 303);
    let codes = browser.get("/.mfa/enroll").await.text();
    assert_eq!(common::browser::recovery_codes(&codes).len(), 10);
    let csrf = common::browser::form_value(&codes, "csrf");
    let r = browser
        .post_form("/.mfa/enroll/done", &[("csrf", &csrf), ("saved", "yes")])
        .await;
    assert_eq!(r.status, 302);
    let r = browser.get("/").await;
    assert_eq!(r.status, 200);
    assert!(r.text().contains("Welcome, demo"), "{}", r.text());

    // A reload reads the same built-in config with the same options, from any folder: the
    // upstream stays the --app-listen one.
    let hup = Command::new("kill")
        .args(["-HUP", &child.id().to_string()])
        .status()
        .unwrap();
    assert!(hup.success());
    let log = dir.join("demo.log");
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        let text = std::fs::read_to_string(&log).unwrap_or_default();
        assert!(!text.contains("reload refused"), "{text}");
        if text.contains("configuration reloaded") {
            break;
        }
        assert!(Instant::now() < deadline, "no reload in:\n{text}");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let r = browser.get("/").await;
    assert_eq!(r.status, 200, "{}", r.text());
    assert!(r.text().contains("Welcome, demo"), "{}", r.text());

    child.kill().unwrap();
    child.wait().unwrap();
}
