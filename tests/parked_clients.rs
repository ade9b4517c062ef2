//! A client that stops (or half-closes its side) at any stage of a connection costs the
//! gateway no CPU, and its place under `max_connections` is given back as soon as it closes.
//!
//! Each test parks a client at one stage — the TLS handshake, the protocol sniff, an HTTP/1
//! head, HTTP/2 frames, a request body, a response body, a WebSocket tunnel, an upstream that
//! stops half-way through its answer — then reads the gateway process's CPU time over 2 s
//! (`/proc/PID/stat`) and the `mfa_gateway_open_connections` gauge after the client closes.
//! The limits are the defaults (30 s for a head), so that nothing here is rescued by a timeout.

// Tests time the gateway from outside: the clock rule (clippy.toml) is for the gateway's code.
#![allow(clippy::disallowed_methods)]

mod common;

use common::apps::start_cookie_app;
use common::{cookie_app_config, h2_frame, parse_metrics, simple_config, upstream, Gateway};
use std::time::{Duration, Instant};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

/// Over 2 s, a gateway that only waits uses a few milliseconds; one that spins uses 2 s.
const CPU_WINDOW: Duration = Duration::from_secs(2);
const CPU_ALLOWED: Duration = Duration::from_millis(200);
/// A closed connection's slot is back within this.
const SLOT_BACK: Duration = Duration::from_secs(1);

/// The user and system CPU time the process `pid` has used so far.
fn cpu_time(pid: u32) -> Duration {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).unwrap();
    // The fields after the command name (in parentheses, which may hold spaces): utime and
    // stime are the 14th and 15th of the whole line, in clock ticks.
    let rest = &stat[stat.rfind(')').unwrap() + 2..];
    let fields: Vec<&str> = rest.split_whitespace().collect();
    let ticks: u64 = fields[11].parse::<u64>().unwrap() + fields[12].parse::<u64>().unwrap();
    // SAFETY: sysconf only reads a constant of the system.
    let per_second = unsafe { libc::sysconf(libc::_SC_CLK_TCK) } as u64;
    Duration::from_millis(ticks * 1000 / per_second)
}

async fn open_connections(gw: &Gateway) -> f64 {
    let page = common::get(gw.admin, "admin", "/metrics", &[]).await.text();
    parse_metrics(&page)["mfa_gateway_open_connections"]
}

/// Asserts that the gateway uses (almost) no CPU over the next 2 s.
async fn costs_no_cpu(gw: &Gateway, stage: &str) {
    let before = cpu_time(gw.child.id());
    tokio::time::sleep(CPU_WINDOW).await;
    let used = cpu_time(gw.child.id()) - before;
    eprintln!("{stage}: {used:?} of CPU in {CPU_WINDOW:?}");
    assert!(
        used <= CPU_ALLOWED,
        "{stage}: the gateway used {used:?} of CPU in {CPU_WINDOW:?} with a client parked"
    );
}

/// Asserts that the gauge reads `open` now.
async fn holds(gw: &Gateway, open: f64, stage: &str) {
    assert_eq!(
        open_connections(gw).await,
        open,
        "{stage}: open connections"
    );
}

/// Asserts that every connection's slot is back within a second of `since`.
async fn all_closed_soon(gw: &Gateway, since: Instant, stage: &str) {
    loop {
        let open = open_connections(gw).await;
        if open == 0.0 {
            eprintln!(
                "{stage}: every slot back {:?} after the close",
                since.elapsed()
            );
            return;
        }
        assert!(
            since.elapsed() <= SLOT_BACK,
            "{stage}: {open} connections still open {:?} after the client closed",
            since.elapsed()
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

/// The endings of a parked client: it closes (after waiting 2 s, during which it must cost
/// nothing), or it half-closes its side at once (which must end the connection). `Cut`: the
/// gateway is the one that ends it (its app stopped half-way); it must do so within a second
/// and cost nothing after.
#[derive(Clone, Copy, Debug)]
enum Ending {
    WaitThenClose,
    HalfClose,
    Cut,
}

/// Parks `client` (already at its stage) and checks the ending's promises.
async fn park<S: tokio::io::AsyncWrite + Unpin>(
    gw: &Gateway,
    mut client: S,
    ending: Ending,
    stage: &str,
) {
    let stage = format!("{stage} ({ending:?})");
    match ending {
        Ending::WaitThenClose => {
            costs_no_cpu(gw, &stage).await;
            holds(gw, 1.0, &stage).await;
            drop(client);
            all_closed_soon(gw, Instant::now(), &stage).await;
        }
        Ending::HalfClose => {
            let since = Instant::now();
            client.shutdown().await.unwrap();
            all_closed_soon(gw, since, &stage).await;
            costs_no_cpu(gw, &stage).await;
            drop(client);
        }
        Ending::Cut => {
            all_closed_soon(gw, Instant::now(), &stage).await;
            costs_no_cpu(gw, &stage).await;
            drop(client);
        }
    }
}

const ENDINGS: [Ending; 2] = [Ending::WaitThenClose, Ending::HalfClose];

async fn echo_gateway(extra_top: &str) -> (upstream::Upstream, Gateway) {
    let up = upstream::start().await;
    let gw =
        Gateway::start(&simple_config(up.addr, "").replace("apps:", &format!("{extra_top}apps:")));
    (up, gw)
}

async fn connect(gw: &Gateway, first: &[u8]) -> TcpStream {
    let mut s = TcpStream::connect(gw.addr).await.unwrap();
    if !first.is_empty() {
        s.write_all(first).await.unwrap();
    }
    s
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn protocol_detection() {
    let (_up, gw) = echo_gateway("").await;
    for first in [&b"PRI * HTTP/2.0\r\n"[..], b"P", b""] {
        for ending in ENDINGS {
            let s = connect(&gw, first).await;
            let stage = format!("sniff after {:?}", String::from_utf8_lossy(first));
            park(&gw, s, ending, &stage).await;
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn http1_head() {
    let (up, gw) = echo_gateway("").await;
    for ending in ENDINGS {
        let s = connect(&gw, b"GET /half HTTP/1.1\r\nHost: a\r\nX-Slow: ").await;
        park(&gw, s, ending, "HTTP/1 head").await;
    }
    // A second head on a kept-alive connection.
    for ending in ENDINGS {
        let mut s = connect(&gw, b"GET /one HTTP/1.1\r\nHost: a\r\n\r\n").await;
        let mut buf = [0u8; 4096];
        let n = s.read(&mut buf).await.unwrap();
        assert!(buf[..n].starts_with(b"HTTP/1.1 200"));
        s.write_all(b"GET /two HTTP/1.1\r\nHo").await.unwrap();
        park(&gw, s, ending, "second HTTP/1 head").await;
    }
    assert!(!up.seen.paths().contains(&"/half".to_string()));
}

/// The preface, an empty SETTINGS frame and its acknowledgement: an HTTP/2 client that is
/// ready for requests.
fn h2_ready() -> Vec<u8> {
    let mut bytes = b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n".to_vec();
    bytes.extend(h2_frame(0x4, 0, 0, &[]));
    bytes.extend(h2_frame(0x4, 0x1, 0, &[]));
    bytes
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn http2_frames() {
    let (up, gw) = echo_gateway("").await;
    // After the preface; in a frame's header; in a HEADERS frame's payload; in a header
    // block continued by CONTINUATION frames that never end it.
    let mut in_header = h2_ready();
    in_header.extend_from_slice(&[0, 0, 40, 0x1]);
    let mut in_payload = h2_ready();
    in_payload.extend(&h2_frame(0x1, 0x5, 1, &[0x82, 0x86, 0x84, 0x01, 1, b'a'])[..12]);
    let mut in_block = h2_ready();
    in_block.extend(h2_frame(0x1, 0x1, 1, &[0x82, 0x86]));
    in_block.extend(h2_frame(0x9, 0, 1, &[0x84]));
    for (first, stage) in [
        (h2_ready(), "HTTP/2 after the preface"),
        (in_header, "HTTP/2 frame header"),
        (in_payload, "HTTP/2 HEADERS payload"),
        (in_block, "HTTP/2 header block"),
    ] {
        for ending in ENDINGS {
            let s = connect(&gw, &first).await;
            park(&gw, s, ending, stage).await;
        }
    }
    assert!(up.seen.paths().is_empty(), "{:?}", up.seen.paths());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn request_bodies() {
    let app = start_cookie_app().await;
    let gw = Gateway::start(&cookie_app_config(app.addr, "", ""));
    // A body the gateway streams to the app, and a login body it reads itself; both with 10
    // of the 1000 bytes they announce.
    for (path, stage) in [
        ("/upload", "request body to the app"),
        ("/login.php", "login body"),
    ] {
        for ending in ENDINGS {
            let head = format!(
                "POST {path} HTTP/1.1\r\nHost: a\r\nContent-Type: application/x-www-form-urlencoded\r\nContent-Length: 1000\r\n\r\nuser=alice"
            );
            let s = connect(&gw, head.as_bytes()).await;
            park(&gw, s, ending, stage).await;
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn response_bodies() {
    let (_up, gw) = echo_gateway("").await;
    for ending in ENDINGS {
        // 200 chunks 50 ms apart: the answer runs for 10 s.
        let mut s = connect(
            &gw,
            b"GET /trickle?parts=200&gap=50 HTTP/1.1\r\nHost: a\r\n\r\n",
        )
        .await;
        let mut buf = [0u8; 1024];
        let n = s.read(&mut buf).await.unwrap();
        assert!(buf[..n].starts_with(b"HTTP/1.1 200"));
        // A client that reads nothing more: the trickle fits in the socket buffers, so the
        // gateway's writes never wait.
        park(&gw, s, ending, "response body").await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn upstream_answers() {
    // An upstream that sends half a head (or half a body) and then waits, or half-closes.
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let (tell, mut upstream_closed) = tokio::sync::mpsc::unbounded_channel();
    let (asked, mut upstream_asked) = tokio::sync::mpsc::unbounded_channel();
    tokio::spawn(async move {
        while let Ok((mut s, _)) = listener.accept().await {
            let (tell, asked) = (tell.clone(), asked.clone());
            tokio::spawn(async move {
                let mut buf = [0u8; 4096];
                let n = s.read(&mut buf).await.unwrap_or(0);
                let head = String::from_utf8_lossy(&buf[..n]).into_owned();
                let _ = asked.send(());
                let half: &[u8] = if head.contains("/half-body") {
                    b"HTTP/1.1 200 OK\r\nContent-Length: 1000\r\n\r\nten bytes."
                } else {
                    b"HTTP/1.1 200 OK\r\nContent-"
                };
                let _ = s.write_all(half).await;
                if head.contains("shut") {
                    let _ = s.shutdown().await;
                }
                // Holds its end until the gateway lets go.
                while matches!(s.read(&mut buf).await, Ok(n) if n > 0) {}
                let _ = tell.send(());
            });
        }
    });
    let gw = Gateway::start(&simple_config(addr, ""));
    for path in [
        "/half-head",
        "/half-body",
        "/half-head-shut",
        "/half-body-shut",
    ] {
        for ending in ENDINGS {
            let head = format!("GET {path} HTTP/1.1\r\nHost: a\r\n\r\n");
            let mut s = connect(&gw, head.as_bytes()).await;
            // Parked once the request is at the app (a half-close that comes with the
            // request ends it before it goes anywhere).
            tokio::time::timeout(SLOT_BACK, upstream_asked.recv())
                .await
                .expect("the request did not reach the app");
            if path.contains("body") {
                let mut buf = [0u8; 1024];
                let n = s.read(&mut buf).await.unwrap();
                assert!(buf[..n].starts_with(b"HTTP/1.1 200"));
            }
            // An app that closes half-way through a body it announced cuts the client off.
            let ending = match (path, ending) {
                ("/half-body-shut", Ending::WaitThenClose) => Ending::Cut,
                (_, ending) => ending,
            };
            park(&gw, s, ending, &format!("upstream answer {path}")).await;
            // The upstream connection is let go with the client's.
            tokio::time::timeout(SLOT_BACK, upstream_closed.recv())
                .await
                .unwrap_or_else(|_| panic!("{path} ({ending:?}): upstream connection kept"));
        }
    }
}

/// A WebSocket handshake to the echo upstream's `/ws`, raw; returns the connection once the
/// gateway relayed the 101.
async fn websocket(gw: &Gateway) -> TcpStream {
    let mut s = connect(
        gw,
        b"GET /ws HTTP/1.1\r\nHost: a\r\nConnection: Upgrade\r\nUpgrade: websocket\r\nSec-WebSocket-Version: 13\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n\r\n",
    )
    .await;
    let mut buf = [0u8; 1024];
    let n = s.read(&mut buf).await.unwrap();
    assert!(
        buf[..n].starts_with(b"HTTP/1.1 101"),
        "{:?}",
        String::from_utf8_lossy(&buf[..n])
    );
    s
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn websocket_tunnels() {
    let (_up, gw) = echo_gateway("").await;
    for ending in ENDINGS {
        let s = websocket(&gw).await;
        park(&gw, s, ending, "WebSocket tunnel").await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_idle_websocket_tunnel_is_closed_at_its_limit_and_holds_a_slot_until_then() {
    // One worker: with two, the only permit may wait on the other worker's (empty) socket.
    let (_up, gw) = echo_gateway(
        "limits:\n  tunnel_idle_timeout: 2s\n  max_connections: 1\ngateway:\n  workers: 1\n",
    )
    .await;
    let mut tunnel = websocket(&gw).await;
    let since = Instant::now();
    // The tunnel holds the only slot: another client waits in the backlog.
    let mut other = connect(
        &gw,
        b"GET /other HTTP/1.1\r\nHost: a\r\nConnection: close\r\n\r\n",
    )
    .await;
    let mut buf = [0u8; 256];
    let early = tokio::time::timeout(Duration::from_millis(1000), other.read(&mut buf)).await;
    assert!(early.is_err(), "served beyond max_connections: {early:?}");
    // Idle for its limit: closed, and the other client is served.
    let n = tokio::time::timeout(Duration::from_secs(5), tunnel.read(&mut buf))
        .await
        .expect("idle tunnel still open")
        .unwrap_or(0);
    assert_eq!(n, 0, "{:?}", &buf[..n]);
    let closed = since.elapsed();
    assert!(closed >= Duration::from_millis(1900), "{closed:?}");
    assert!(closed <= Duration::from_secs(4), "{closed:?}");
    let n = tokio::time::timeout(Duration::from_secs(2), other.read(&mut buf))
        .await
        .expect("not served once the tunnel closed")
        .unwrap();
    assert!(buf[..n].starts_with(b"HTTP/1.1 200"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_websocket_tunnel_with_traffic_outlives_its_idle_limit() {
    let (_up, gw) = echo_gateway("limits:\n  tunnel_idle_timeout: 1s\n").await;
    let mut tunnel = websocket(&gw).await;
    // A masked text frame "hi" every 400 ms for 3 s, each echoed back.
    for _ in 0..8 {
        tunnel
            .write_all(&[0x81, 0x82, 1, 2, 3, 4, b'h' ^ 1, b'i' ^ 2])
            .await
            .unwrap();
        let mut buf = [0u8; 16];
        let n = tokio::time::timeout(Duration::from_secs(2), tunnel.read(&mut buf))
            .await
            .expect("no echo")
            .unwrap();
        assert_eq!(&buf[..n], &[0x81, 2, b'h', b'i']);
        tokio::time::sleep(Duration::from_millis(400)).await;
    }
}

/// A TLS listener (a throwaway certificate) in front of the echo upstream.
async fn tls_gateway() -> (upstream::Upstream, Gateway) {
    let up = upstream::start().await;
    let dir = common::temp_dir("parked-tls");
    let key = rcgen::KeyPair::generate().unwrap();
    let cert = rcgen::CertificateParams::new(vec!["app.test".to_string()])
        .unwrap()
        .self_signed(&key)
        .unwrap();
    let cert_file = common::write_file(&dir, "app.crt", &cert.pem());
    let key_file = common::write_file(&dir, "app.key", &key.serialize_pem());
    let yaml = simple_config(up.addr, "").replace(
        "  - address: \"{listen}\"\n",
        &format!(
            "  - address: \"{{listen}}\"\n    tls:\n      certificates:\n        - cert_file: {}\n          key_file: {}\n",
            cert_file.display(),
            key_file.display()
        ),
    );
    (up, Gateway::start_in(&yaml, dir))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn tls_handshake() {
    let (_up, gw) = tls_gateway().await;
    // A handshake record's header announcing 512 bytes, and 16 of them.
    let mut partial = vec![
        0x16, 0x03, 0x01, 0x02, 0x00, 0x01, 0x00, 0x01, 0xfc, 0x03, 0x03,
    ];
    partial.extend_from_slice(&[7u8; 11]);
    for first in [&b""[..], &partial[..3], &partial] {
        for ending in ENDINGS {
            let s = connect(&gw, first).await;
            park(
                &gw,
                s,
                ending,
                &format!("TLS handshake after {} bytes", first.len()),
            )
            .await;
        }
    }
}

/// An HTTP/2 client that asks for a large answer and never opens its flow-control window
/// (it reads nothing of the body) holds a stream the gateway cannot finish; the gateway lets
/// the connection go at the send timeout, and the upstream connection with it.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_http2_stream_stalled_by_flow_control_is_let_go_at_the_send_timeout() {
    use bytes::Bytes;
    use http_body_util::Empty;
    use hyper_util::rt::{TokioExecutor, TokioIo};
    let (_up, gw) = echo_gateway("limits:\n  send_timeout: 1s\n").await;
    let tcp = TcpStream::connect(gw.addr).await.unwrap();
    let (mut sender, conn) = hyper::client::conn::http2::handshake::<_, _, Empty<Bytes>>(
        TokioExecutor::new(),
        TokioIo::new(tcp),
    )
    .await
    .unwrap();
    // The connection task answers pings and settings: only the stream is stalled.
    let conn = tokio::spawn(conn);
    let response = sender
        .send_request(
            http::Request::get("http://a/download?bytes=50000000")
                .body(Empty::new())
                .unwrap(),
        )
        .await
        .unwrap();
    assert_eq!(response.status(), 200);
    let since = Instant::now();
    // The body is held, unread: its window (64 KiB) fills and stays full.
    let _body = response.into_body();
    tokio::time::timeout(Duration::from_secs(5), conn)
        .await
        .expect("a stalled HTTP/2 connection is still open")
        .unwrap()
        .ok();
    let after = since.elapsed();
    assert!(after >= Duration::from_millis(900), "{after:?}");
    all_closed_soon(&gw, Instant::now(), "stalled HTTP/2 stream").await;
}

/// Reads HTTP/2 frames from `s` until the gateway closes it (or 5 s pass); returns the error
/// code of its GOAWAY, if it sent one.
async fn goaway_code(s: &mut TcpStream) -> Option<u32> {
    let mut got = Vec::new();
    let mut buf = [0u8; 16 * 1024];
    let deadline = tokio::time::Instant::now() + Duration::from_secs(5);
    loop {
        match tokio::time::timeout_at(deadline, s.read(&mut buf)).await {
            Ok(Ok(n)) if n > 0 => got.extend_from_slice(&buf[..n]),
            Ok(_) => break,
            Err(_) => panic!("still open 5 s after the flood"),
        }
    }
    let mut at = 0;
    let mut code = None;
    while at + 9 <= got.len() {
        let len = u32::from_be_bytes([0, got[at], got[at + 1], got[at + 2]]) as usize;
        if got[at + 3] == 0x7 && at + 9 + 8 <= got.len() {
            let p = &got[at + 9..];
            code = Some(u32::from_be_bytes([p[4], p[5], p[6], p[7]]));
        }
        at += 9 + len;
    }
    code
}

/// HPACK for `GET http://a/flood`: :method GET, :scheme http (static 2, 6), :path and
/// :authority as literals under their static names (4, 1).
fn get_block() -> Vec<u8> {
    let mut block = vec![0x82, 0x86, 0x04, 6];
    block.extend_from_slice(b"/flood");
    block.extend_from_slice(&[0x01, 1, b'a']);
    block
}

/// Rapid reset (CVE-2023-44487): thousands of requests, each cancelled at once. The gateway
/// tells the client to calm down and closes, having sent few of them to the app.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_http2_rapid_reset_flood_is_cut_off() {
    let (up, gw) = echo_gateway("").await;
    let mut flood = h2_ready();
    for i in 0..5000u32 {
        let stream = 2 * i + 1;
        flood.extend(h2_frame(0x1, 0x5, stream, &get_block()));
        // RST_STREAM with CANCEL (0x8).
        flood.extend(h2_frame(0x3, 0, stream, &8u32.to_be_bytes()));
    }
    let before = cpu_time(gw.child.id());
    let mut s = connect(&gw, &[]).await;
    // The gateway may close before it has read it all.
    let _ = s.write_all(&flood).await;
    let code = goaway_code(&mut s).await;
    assert_eq!(code, Some(11), "GOAWAY with ENHANCE_YOUR_CALM");
    let used = cpu_time(gw.child.id()) - before;
    let sent = up.seen.paths().len();
    eprintln!("rapid reset: {sent} of 5000 requests reached the app, {used:?} of CPU");
    assert!(sent < 200, "{sent} of the reset requests reached the app");
    all_closed_soon(&gw, Instant::now(), "rapid reset").await;
}

/// CONTINUATION flood (CVE-2024-27316): a header block that never ends, in tiny frames. The
/// gateway gives up on the connection long before its memory or CPU would notice.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_http2_continuation_flood_is_cut_off() {
    let (up, gw) = echo_gateway("").await;
    let mut flood = h2_ready();
    // HEADERS without END_HEADERS, then CONTINUATION frames of one byte each (an indexed
    // `:method GET`, again and again), never with END_HEADERS.
    flood.extend(h2_frame(0x1, 0x1, 1, &get_block()));
    for _ in 0..100_000 {
        flood.extend(h2_frame(0x9, 0, 1, &[0x82]));
    }
    let before = cpu_time(gw.child.id());
    let mut s = connect(&gw, &[]).await;
    let _ = s.write_all(&flood).await;
    let code = goaway_code(&mut s).await;
    let used = cpu_time(gw.child.id()) - before;
    eprintln!("CONTINUATION flood: GOAWAY {code:?}, {used:?} of CPU");
    assert!(matches!(code, Some(11) | Some(1)), "GOAWAY {code:?}");
    assert!(up.seen.paths().is_empty());
    all_closed_soon(&gw, Instant::now(), "CONTINUATION flood").await;
}
