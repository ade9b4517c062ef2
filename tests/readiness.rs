//! `/readyz` tells a load balancer whether the gateway can do its work: whether each state
//! store takes a write (a full disk answers reads and refuses every enrollment and code
//! check), within a health check's timeout even when a store does not answer; and every
//! store failure, on whichever endpoint, is counted in `store_errors_total`.

// Tests time the gateway from outside: the clock rule (clippy.toml) is for the gateway's code.
#![allow(clippy::disallowed_methods)]

mod common;

use common::apps::start_cookie_app;
use common::browser::Browser;
use common::flows::{at_verify, enroll, send_code};
use common::{get, parse_metrics, temp_dir, Gateway};
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

/// A load balancer's health check gives up after 2–5 s; `/readyz` must answer well inside
/// the shortest of these, whatever the stores do.
const HEALTH_CHECK_TIMEOUT: Duration = Duration::from_secs(2);

/// A small tmpfs mounted over `dir` (needs root, as `scripts/test` runs), unmounted on drop.
struct SmallDisk(PathBuf);

impl SmallDisk {
    fn mount(dir: &Path, size: &str) -> SmallDisk {
        std::fs::create_dir_all(dir).unwrap();
        let mounted = std::process::Command::new("mount")
            .args(["-t", "tmpfs", "-o", &format!("size={size}"), "tmpfs"])
            .arg(dir)
            .status()
            .expect("mount runs");
        assert!(mounted.success(), "mounting a tmpfs needs root");
        SmallDisk(dir.to_path_buf())
    }

    /// Writes a file until the disk refuses more: its path.
    fn fill(&self) -> PathBuf {
        use std::io::Write;
        let path = self.0.join("filler");
        let mut file = std::fs::File::create(&path).unwrap();
        // Big pieces, then small ones, so that not even a page is left.
        for piece in [64 * 1024, 4096, 512, 1] {
            let bytes = vec![0u8; piece];
            while file.write_all(&bytes).is_ok() {}
        }
        path
    }
}

impl Drop for SmallDisk {
    fn drop(&mut self) {
        // Lazily: the gateway may still hold its files open while it is being killed.
        let _ = std::process::Command::new("umount")
            .arg("-l")
            .arg(&self.0)
            .status();
    }
}

async fn store_errors(gw: &Gateway) -> f64 {
    let page = get(gw.admin, "admin", "/metrics", &[]).await.text();
    parse_metrics(&page)
        .get("mfa_gateway_store_errors_total")
        .copied()
        .unwrap_or_else(|| panic!("no store_errors_total in\n{page}"))
}

/// The issue 19 crash campaign's finding: with the data directory's disk full every code
/// check answered 503 while `/readyz` said "ok" and no store error was counted.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_full_disk_makes_the_gateway_unready_and_is_counted_until_space_returns() {
    let app = start_cookie_app().await;
    let dir = temp_dir("full-disk");
    // Declared before the gateway: dropped (unmounted) after it is killed.
    let disk = SmallDisk::mount(&dir.join("data"), "8m");
    let yaml = common::cookie_app_config(app.addr, "", "      policy: required\n");
    let gw = Gateway::start_in(&yaml, dir.clone());
    let mut alice = Browser::new(gw.addr);
    let (_, codes) = enroll(&mut alice, "alice", "secret").await;
    let ready = get(gw.admin, "admin", "/readyz", &[]).await;
    assert_eq!(ready.status, 200, "{}", ready.text());
    assert!(ready.text().contains("durable store (sqlite): ok"));
    assert_eq!(store_errors(&gw).await, 0.0);

    let mut b = Browser::new(gw.addr);
    let csrf = at_verify(&mut b, "alice", "secret").await;
    let filler = disk.fill();
    // Using a recovery code must mark it used (it works once): that write cannot be made, so
    // the check fails closed. (A recovery code, not a TOTP code: whether a TOTP code is a
    // replay of the enrollment's depends on the clock, and a replay writes nothing.)
    let refused = send_code(&mut b, &csrf, &codes[0]).await;
    assert_eq!(refused.status, 503, "{}", refused.text());
    assert!(!b.cookies.contains_key("PHPSESSID"), "nothing released");
    // Counted though the request never reached the proxy's forwarding path: `/.mfa/verify`
    // is the gateway's own page.
    assert!(store_errors(&gw).await >= 1.0);

    let ready = get(gw.admin, "admin", "/readyz", &[]).await;
    assert_eq!(ready.status, 503, "{}", ready.text());
    assert!(
        ready
            .text()
            .contains("durable store (sqlite): cannot write: disk full"),
        "{}",
        ready.text()
    );
    let metrics = get(gw.admin, "admin", "/metrics", &[]).await.text();
    assert!(
        metrics.contains("mfa_gateway_store_up{store=\"durable\",kind=\"sqlite\"} 0"),
        "{metrics}"
    );
    // The check itself is one small write; it fills nothing and counts nothing.
    let counted = store_errors(&gw).await;
    for _ in 0..3 {
        assert_eq!(get(gw.admin, "admin", "/readyz", &[]).await.status, 503);
    }
    assert_eq!(store_errors(&gw).await, counted);

    // Space again: ready at the next check, and a code check goes through.
    std::fs::remove_file(filler).unwrap();
    let ready = get(gw.admin, "admin", "/readyz", &[]).await;
    assert_eq!(ready.status, 200, "{}", ready.text());
    assert!(ready.text().contains("durable store (sqlite): ok"));
    let mut b = Browser::new(gw.addr);
    let csrf = at_verify(&mut b, "alice", "secret").await;
    let accepted = send_code(&mut b, &csrf, &codes[0]).await;
    // The app's own answer to the login, released.
    assert_eq!(accepted.status, 302, "{}", accepted.text());
    drop(gw);
    drop(disk);
    let _ = std::fs::remove_dir_all(dir);
}

/// PostgreSQL on a port where nothing listens: the health check gets its 503, naming the
/// store, in time — not after waiting a second for each store in turn.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn readiness_answers_in_time_when_postgres_cannot_be_reached() {
    let app = start_cookie_app().await;
    let redis =
        std::env::var("MFA_TEST_REDIS_URL").unwrap_or_else(|_| "redis://127.0.0.1:6379/".into());
    let env = [
        ("MFA_REDIS_URL", redis),
        (
            "MFA_REDIS_PREFIX",
            format!("r{:016x}:", rand::random::<u64>()),
        ),
        (
            "MFA_DATABASE_URL",
            "postgres://postgres@127.0.0.1:1/test".to_string(),
        ),
    ];
    let gw = Gateway::start_example_unready(
        "config/examples/cookie-session.yaml",
        app.addr,
        temp_dir("pg-down"),
        &env,
    );
    for _ in 0..3 {
        let asked = Instant::now();
        let ready =
            tokio::time::timeout(HEALTH_CHECK_TIMEOUT, get(gw.admin, "admin", "/readyz", &[]))
                .await
                .expect("/readyz answers within a health check's timeout");
        let took = asked.elapsed();
        assert_eq!(ready.status, 503, "{}", ready.text());
        let text = ready.text();
        assert!(
            text.contains("durable store (postgres): unreachable"),
            "{text}"
        );
        assert!(text.contains("ephemeral store (redis): ok"), "{text}");
        eprintln!("/readyz with PostgreSQL down answered in {took:?}");
    }
}

/// With `audit.on_failure: refuse` and the audit file on a full disk, a change that grants or
/// alters access (new recovery codes) is refused, but taking access away is not: a sign-out
/// must work while the trail cannot be written (issue 19's review).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_full_audit_disk_refuses_factor_changes_but_never_a_sign_out() {
    let app = start_cookie_app().await;
    let dir = temp_dir("full-audit");
    let disk = SmallDisk::mount(&dir.join("audit"), "1m");
    let top = format!(
        "audit:\n  file: \"{}\"\n  on_failure: refuse\n",
        dir.join("audit/audit.jsonl").display()
    );
    let yaml = common::cookie_app_config(app.addr, &top, "      policy: required\n");
    let gw = Gateway::start_in(&yaml, dir.clone());
    let mut alice = Browser::new(gw.addr);
    let (_, codes) = enroll(&mut alice, "alice", "secret").await;
    assert_eq!(alice.get("/index.php").await.text(), "<h1>Hello alice</h1>");
    let saved = alice.cookies.clone();
    disk.fill();
    // The audit file's last page may still hold a few records: sign-ins of bob use it up
    // (each is refused once its record cannot be written).
    let mut refused_logins = 0;
    for _ in 0..20 {
        let answer = common::flows::login(&mut Browser::new(gw.addr), "bob", "hunter2").await;
        if answer.status == 503 {
            refused_logins += 1;
            break;
        }
    }
    assert_eq!(refused_logins, 1, "the audit disk never filled");

    // New codes: refused while they cannot be recorded.
    let settings = alice.get("/.mfa/settings").await.text();
    let csrf = common::browser::form_value(&settings, "csrf");
    let refused = alice
        .post_form(
            "/.mfa/settings/recovery-codes",
            &[("csrf", &csrf), ("code", &codes[0])],
        )
        .await;
    assert_eq!(refused.status, 503, "{}", refused.text());

    // The sign-out goes through, and the session is gone.
    let page = alice.get("/.mfa/logout").await.text();
    let csrf = common::browser::form_value(&page, "csrf");
    let out = alice.post_form("/.mfa/logout", &[("csrf", &csrf)]).await;
    assert_eq!(out.status, 200, "{}", out.text());
    let mut replay = Browser::new(gw.addr);
    replay.cookies = saved;
    let answer = replay.get("/index.php").await;
    assert!(!answer.text().contains("Hello alice"), "{}", answer.text());
    drop(gw);
    drop(disk);
}
