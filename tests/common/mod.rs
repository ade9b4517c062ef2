//! Shared fixtures for the end-to-end tests: the real gateway binary, a small hyper upstream,
//! and HTTP helpers (a proper client and a raw socket for malformed requests).

// Tests time the gateway from outside: the clock rule (clippy.toml) is for the gateway's code.
#![allow(clippy::disallowed_methods)]
#![allow(dead_code)]

pub mod apps;
pub mod browser;
pub mod flows;
pub mod relay;
pub mod upstream;

use bytes::Bytes;
use http::{Request, Response};
use http_body_util::{BodyExt, Full};
use hyper_util::rt::TokioIo;
use std::io::{Read, Write};
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

pub const BIN: &str = env!("CARGO_BIN_EXE_mfa-gateway");

/// Replaces a file's content in one step (a new file renamed over it), so that a reader never
/// sees it half written.
pub fn replace_file(path: &Path, text: &str) {
    let next = path.with_extension("next");
    std::fs::write(&next, text).unwrap();
    std::fs::rename(&next, path).unwrap();
}

/// A loopback port nobody listens on right now.
/// A copy of a shipped example (in `dir`) with the per-user and per-address locks off, for
/// tests that race many wrong codes on purpose to prove a code counts once: with the locks on,
/// the losers would lock the user before the winner is checked. Returns its absolute path.
pub fn example_without_locks(file: &str, dir: &Path) -> String {
    let text = std::fs::read_to_string(Path::new(env!("CARGO_MANIFEST_DIR")).join(file)).unwrap();
    assert!(text.contains("\n    mfa:\n"), "{file} has an mfa block");
    let text = text.replacen(
        "\n    mfa:\n",
        "\n    mfa:\n      regulation:\n        user: { failures: 0 }\n        device: { failures: 0 }\n        client: { failures: 0 }\n        network: { failures: 0 }\n        login_client: { failures: 0 }\n        login_user: { failures: 0 }\n",
        1,
    );
    std::fs::create_dir_all(dir).unwrap();
    let copy = dir.join("example-without-locks.yaml");
    std::fs::write(&copy, text).unwrap();
    copy.display().to_string()
}

pub fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

/// `count` different free loopback ports. All are held open until the last is picked: the
/// kernel hands a just-released port out again, and two calls to [`free_port`] in a row once
/// gave the gateway the same port for its listener and its admin listener.
pub fn free_ports(count: usize) -> Vec<u16> {
    let held: Vec<TcpListener> = (0..count)
        .map(|_| TcpListener::bind("127.0.0.1:0").unwrap())
        .collect();
    held.iter()
        .map(|l| l.local_addr().unwrap().port())
        .collect()
}

/// A listener and an admin address that differ.
pub fn free_address_pair() -> (SocketAddr, SocketAddr) {
    let ports = free_ports(2);
    (
        SocketAddr::from(([127, 0, 0, 1], ports[0])),
        SocketAddr::from(([127, 0, 0, 1], ports[1])),
    )
}

/// A new, empty directory. The name is random: process ids are reused within one test run,
/// and a directory left by an earlier test (with its enrolled users) must never be picked up.
pub fn temp_dir(label: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!(
        "mfa-e2e-{label}-{}-{:016x}",
        std::process::id(),
        rand::random::<u64>()
    ));
    std::fs::create_dir(&dir).unwrap();
    dir
}

/// The gateway binary running with a config file; killed on drop.
pub struct Gateway {
    pub child: Child,
    pub addr: SocketAddr,
    pub admin: SocketAddr,
    pub dir: PathBuf,
    pub config: PathBuf,
    pub log: PathBuf,
    /// The variables the gateway was started with (an admin command needs the same).
    pub env: Vec<(String, String)>,
}

/// A config for the cookie app (tests/common/apps.rs) behind the gateway: one app `intranet`
/// ("Intranet") with its login rule and session cookie. `top` is YAML added at the top level
/// (e.g. an `audit:` block), `mfa` lines go inside the app's `mfa:` block (indented six).
pub fn cookie_app_config(upstream: SocketAddr, top: &str, mfa: &str) -> String {
    // The tests' default is the name typed (their app folds case like many PHP apps); tests
    // of the app's own word on the user give an identity of their own.
    let identity = if mfa.contains("identity:") {
        ""
    } else {
        "      identity: { typed_name: true }\n"
    };
    // Users enroll at their first sign-in unless a test says otherwise (the default is an
    // administrator's invitation).
    let enrollment = if mfa.contains("enrollment:") {
        ""
    } else {
        "      enrollment: { first_login: { for: 30d } }\n"
    };
    format!(
        r#"listeners:
  - address: "{{listen}}"
admin:
  address: "{{admin}}"
data_dir: "{{dir}}/data"
{top}
apps:
  - name: intranet
    display_name: Intranet
    hosts: ["*"]
    upstream:
      url: "http://{upstream}"
    mfa:
      login:
        - path: /login.php
          username_field: user
          success:
            set_cookie: PHPSESSID
      session_cookies: [PHPSESSID]
{identity}{enrollment}{mfa}
"#
    )
}

/// The gateway's audit records, parsed.
pub fn audit_events(gw: &Gateway) -> Vec<serde_json::Value> {
    std::fs::read_to_string(gw.dir.join("data/audit.jsonl"))
        .unwrap()
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect()
}

/// A Prometheus text page as `name{labels}` → value.
pub fn parse_metrics(page: &str) -> std::collections::HashMap<String, f64> {
    page.lines()
        .filter(|l| !l.starts_with('#') && !l.trim().is_empty())
        .filter_map(|l| {
            let (series, value) = l.rsplit_once(' ')?;
            Some((series.to_string(), value.parse().ok()?))
        })
        .collect()
}

/// What a command printed and how it ended.
pub struct CliRun {
    pub code: i32,
    pub stdout: String,
    pub stderr: String,
}

impl Gateway {
    /// Starts the gateway with `yaml`, where `{listen}`, `{admin}` and `{dir}` are filled in.
    pub fn start(yaml: &str) -> Gateway {
        let dir = temp_dir("gw");
        Self::start_in(yaml, dir)
    }

    pub fn start_in(yaml: &str, dir: PathBuf) -> Gateway {
        // A port picked free can be taken by another test before the gateway binds it: then
        // the gateway is started again on others.
        for _ in 0..3 {
            let (addr, admin) = free_address_pair();
            let text = yaml
                .replace("{listen}", &addr.to_string())
                .replace("{admin}", &admin.to_string())
                .replace("{dir}", dir.to_str().unwrap());
            let config = dir.join("gateway.yaml");
            std::fs::write(&config, text).unwrap();
            let mut gw = Self::launch(config, &[], addr, admin, dir.clone());
            match gw.ready("/readyz") {
                Ok(()) => return gw,
                Err(log) if log.contains("Address already in use") => continue,
                Err(log) => panic!("{log}"),
            }
        }
        panic!("no free ports for the gateway after three tries");
    }

    /// Runs a shipped config file unchanged, as ops would: only the variables every example
    /// reads (`MFA_LISTEN`, `MFA_ADMIN_LISTEN`, `UPSTREAM_URL`, `MFA_DATA_DIR`) are set.
    pub fn start_example(file: &str, upstream: SocketAddr, dir: PathBuf) -> Gateway {
        Self::start_example_with(file, upstream, dir, &[])
    }

    /// Like [`Gateway::start_example`], with more variables (e.g. `MFA_REDIS_URL`).
    pub fn start_example_with(
        file: &str,
        upstream: SocketAddr,
        dir: PathBuf,
        extra: &[(&str, String)],
    ) -> Gateway {
        for _ in 0..3 {
            let (config, env, addr, admin) = Self::example(file, upstream, &dir, extra);
            let mut gw = Self::launch(config, &env, addr, admin, dir.clone());
            match gw.ready("/readyz") {
                Ok(()) => return gw,
                // Another test took a port picked free: again, on others.
                Err(log) if log.contains("Address already in use") => continue,
                Err(log) => panic!("{log}"),
            }
        }
        panic!("no free ports for the gateway after three tries");
    }

    /// The example's path and the variables it reads, with fresh loopback ports.
    fn example(
        file: &str,
        upstream: SocketAddr,
        dir: &Path,
        extra: &[(&str, String)],
    ) -> (PathBuf, Vec<(String, String)>, SocketAddr, SocketAddr) {
        let (addr, admin) = free_address_pair();
        let config = Path::new(env!("CARGO_MANIFEST_DIR")).join(file);
        let mut env = vec![
            ("MFA_LISTEN".to_string(), addr.to_string()),
            ("MFA_ADMIN_LISTEN".to_string(), admin.to_string()),
            ("UPSTREAM_URL".to_string(), format!("http://{upstream}")),
            (
                "MFA_DATA_DIR".to_string(),
                dir.join("data").display().to_string(),
            ),
        ];
        env.extend(extra.iter().map(|(k, v)| (k.to_string(), v.clone())));
        (config, env, addr, admin)
    }

    fn spawn(
        config: PathBuf,
        env: &[(String, String)],
        addr: SocketAddr,
        admin: SocketAddr,
        dir: PathBuf,
    ) -> Gateway {
        let mut gw = Self::launch(config, env, addr, admin, dir);
        gw.wait_for("/readyz");
        gw
    }

    fn launch(
        config: PathBuf,
        env: &[(String, String)],
        addr: SocketAddr,
        admin: SocketAddr,
        dir: PathBuf,
    ) -> Gateway {
        let log = dir.join("gateway.log");
        let child = Command::new(BIN)
            .args(["serve", "--config"])
            .arg(&config)
            .env("RUST_LOG", "info")
            .envs(env.iter().map(|(k, v)| (k.as_str(), v.as_str())))
            .stdout(std::fs::File::create(dir.join("gateway.stdout")).unwrap())
            .stderr(std::fs::File::create(&log).unwrap())
            .spawn()
            .unwrap();
        Gateway {
            child,
            addr,
            admin,
            dir,
            config,
            log,
            env: env.to_vec(),
        }
    }

    /// Runs `mfa-gateway ARGS --config <this gateway's config>` with the gateway's variables,
    /// `stdin` as its input.
    pub fn cli(&self, args: &[&str], stdin: &str) -> CliRun {
        self.cli_without(args, stdin, &[])
    }

    /// Like [`Gateway::cli`], with the named variables taken out of its environment.
    pub fn cli_without(&self, args: &[&str], stdin: &str, unset: &[&str]) -> CliRun {
        use std::io::Write;
        let mut command = Command::new(BIN);
        for name in unset {
            command.env_remove(name);
        }
        let mut child = command
            .args(args)
            .arg("--config")
            .arg(&self.config)
            .envs(self.env.iter().map(|(k, v)| (k.as_str(), v.as_str())))
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        child
            .stdin
            .take()
            .unwrap()
            .write_all(stdin.as_bytes())
            .unwrap();
        let out = child.wait_with_output().unwrap();
        CliRun {
            code: out.status.code().unwrap_or(-1),
            stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
            stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
        }
    }

    /// Like [`Gateway::start_example_with`], but waits only until the process answers
    /// (`/healthz`), not until its state stores do: for gateways started without them.
    pub fn start_example_unready(
        file: &str,
        upstream: SocketAddr,
        dir: PathBuf,
        extra: &[(&str, String)],
    ) -> Gateway {
        let (config, env, addr, admin) = Self::example(file, upstream, &dir, extra);
        let mut gw = Self::launch(config, &env, addr, admin, dir);
        gw.wait_for("/healthz");
        gw
    }

    /// Starts a gateway that is expected to refuse to start: its exit code and its log.
    pub fn start_example_refused(
        file: &str,
        upstream: SocketAddr,
        dir: PathBuf,
        extra: &[(&str, String)],
    ) -> (Option<i32>, String) {
        let (config, env, addr, admin) = Self::example(file, upstream, &dir, extra);
        let mut gw = Self::launch(config, &env, addr, admin, dir);
        let deadline = Instant::now() + Duration::from_secs(15);
        while Instant::now() < deadline {
            if let Some(status) = gw.child.try_wait().unwrap() {
                return (status.code(), gw.log_text());
            }
            std::thread::sleep(Duration::from_millis(25));
        }
        panic!("gateway still running; log:\n{}", gw.log_text());
    }

    fn wait_for(&mut self, path: &str) {
        if let Err(log) = self.ready(path) {
            panic!("{log}");
        }
    }

    /// Waits until `path` on the admin listener answers 200; the reason (and log) if the
    /// gateway exited first.
    fn ready(&mut self, path: &str) -> Result<(), String> {
        let deadline = Instant::now() + Duration::from_secs(15);
        while Instant::now() < deadline {
            if let Some(status) = self.child.try_wait().unwrap() {
                return Err(format!(
                    "gateway exited early with {status}; log:\n{}",
                    self.log_text()
                ));
            }
            if let Ok(text) = raw_request(
                self.admin,
                format!("GET {path} HTTP/1.1\r\nHost: a\r\nConnection: close\r\n\r\n").as_bytes(),
            ) {
                if text.starts_with("HTTP/1.1 200") {
                    return Ok(());
                }
            }
            std::thread::sleep(Duration::from_millis(25));
        }
        panic!("gateway not ready in time; log:\n{}", self.log_text());
    }

    pub fn log_text(&self) -> String {
        std::fs::read_to_string(&self.log).unwrap_or_default()
    }

    pub fn signal(&self, name: &str) {
        let ok = Command::new("kill")
            .args([&format!("-{name}"), &self.child.id().to_string()])
            .status()
            .unwrap()
            .success();
        assert!(ok, "kill -{name} failed");
    }

    /// Waits until the log contains `needle` (log lines are written by a background thread).
    pub fn wait_for_log(&self, needle: &str) -> String {
        let deadline = Instant::now() + Duration::from_secs(10);
        loop {
            let text = self.log_text();
            if text.contains(needle) || Instant::now() > deadline {
                return text;
            }
            std::thread::sleep(Duration::from_millis(20));
        }
    }

    /// Peak resident memory of the gateway process in KiB (VmHWM).
    pub fn peak_rss_kib(&self) -> u64 {
        status_field(self.child.id(), "VmHWM")
    }

    pub fn rss_kib(&self) -> u64 {
        status_field(self.child.id(), "VmRSS")
    }
}

fn status_field(pid: u32, field: &str) -> u64 {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap();
    status
        .lines()
        .find(|l| l.starts_with(field))
        .and_then(|l| l.split_whitespace().nth(1))
        .and_then(|v| v.parse().ok())
        .unwrap()
}

impl Drop for Gateway {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// A config with one app routing every host to `upstream`.
pub fn simple_config(upstream: SocketAddr, extra_app: &str) -> String {
    format!(
        "listeners:\n  - address: \"{{listen}}\"\nadmin:\n  address: \"{{admin}}\"\ndata_dir: \"{{dir}}/data\"\napps:\n  - name: main\n    hosts: [\"*\"]\n    upstream:\n      url: \"http://{upstream}\"\n{extra_app}"
    )
}

/// Sends raw bytes, reads until the server closes (or 5 s pass), returns the text.
pub fn raw_request(addr: SocketAddr, bytes: &[u8]) -> std::io::Result<String> {
    let mut stream = TcpStream::connect(addr)?;
    stream.set_read_timeout(Some(Duration::from_secs(5)))?;
    stream.write_all(bytes)?;
    let mut out = Vec::new();
    let mut buf = [0u8; 8192];
    loop {
        match stream.read(&mut buf) {
            Ok(0) => break,
            Ok(n) => out.extend_from_slice(&buf[..n]),
            Err(e)
                if e.kind() == std::io::ErrorKind::WouldBlock
                    || e.kind() == std::io::ErrorKind::TimedOut =>
            {
                break
            }
            Err(e) if out.is_empty() => return Err(e),
            Err(_) => break,
        }
    }
    Ok(String::from_utf8_lossy(&out).into_owned())
}

/// An HTTP/2 frame (RFC 9113 §4.1), for clients that speak it raw.
pub fn h2_frame(kind: u8, flags: u8, stream: u32, payload: &[u8]) -> Vec<u8> {
    let mut frame = (payload.len() as u32).to_be_bytes()[1..].to_vec();
    frame.extend_from_slice(&[kind, flags]);
    frame.extend_from_slice(&stream.to_be_bytes());
    frame.extend_from_slice(payload);
    frame
}

/// An HTTP/2 client with prior knowledge (no TLS, no upgrade) on a plain listener.
pub async fn h2c(
    addr: SocketAddr,
) -> hyper::client::conn::http2::SendRequest<http_body_util::Empty<Bytes>> {
    use hyper_util::rt::TokioExecutor;
    let tcp = tokio::net::TcpStream::connect(addr).await.unwrap();
    let (sender, conn) =
        hyper::client::conn::http2::handshake(TokioExecutor::new(), TokioIo::new(tcp))
            .await
            .unwrap();
    tokio::spawn(conn);
    sender
}

/// A parsed answer with its body collected.
pub struct Answer {
    pub status: u16,
    pub headers: http::HeaderMap,
    pub body: Bytes,
}

impl Answer {
    pub fn text(&self) -> String {
        String::from_utf8_lossy(&self.body).into_owned()
    }

    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers.get(name).and_then(|v| v.to_str().ok())
    }
}

/// One HTTP/1.1 request on a fresh connection. Nothing is added: the caller sets `Host`.
pub async fn send(addr: SocketAddr, req: Request<Full<Bytes>>) -> Answer {
    let stream = tokio::net::TcpStream::connect(addr).await.unwrap();
    let (mut sender, conn) = hyper::client::conn::http1::handshake(TokioIo::new(stream))
        .await
        .unwrap();
    tokio::spawn(conn);
    let response: Response<hyper::body::Incoming> = sender.send_request(req).await.unwrap();
    collect(response).await
}

pub async fn collect(response: Response<hyper::body::Incoming>) -> Answer {
    let (parts, body) = response.into_parts();
    Answer {
        status: parts.status.as_u16(),
        headers: parts.headers,
        body: body.collect().await.unwrap().to_bytes(),
    }
}

/// `GET path` with the given Host and extra headers.
pub async fn get(addr: SocketAddr, host: &str, path: &str, headers: &[(&str, &str)]) -> Answer {
    let mut builder = Request::get(path).header("host", host);
    for (k, v) in headers {
        builder = builder.header(*k, *v);
    }
    send(addr, builder.body(Full::new(Bytes::new())).unwrap()).await
}

/// Asserts the server closes `stream` within 2 s (waiting at most 5 s to find out).
pub async fn assert_closed_soon(mut stream: tokio::net::TcpStream) {
    use tokio::io::AsyncReadExt;
    let started = Instant::now();
    let mut buf = Vec::new();
    let closed = tokio::time::timeout(Duration::from_secs(5), stream.read_to_end(&mut buf)).await;
    assert!(closed.is_ok(), "connection still open after 5 s");
    assert!(
        started.elapsed() < Duration::from_secs(2),
        "closed only after {:?}",
        started.elapsed()
    );
}

/// Every `Set-Cookie` line of an answer.
pub fn set_cookies(answer: &Answer) -> Vec<String> {
    answer
        .headers
        .get_all("set-cookie")
        .iter()
        .map(|v| v.to_str().unwrap().to_string())
        .collect()
}

pub fn write_file(dir: &Path, name: &str, content: &str) -> PathBuf {
    let path = dir.join(name);
    std::fs::write(&path, content).unwrap();
    path
}
