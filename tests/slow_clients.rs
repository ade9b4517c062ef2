//! Clients that never finish: every wait of the gateway has a limit, and a stalled connection
//! gives its place under `max_connections` back at that limit.
//!
//! The gateways here wait at most 1 s for a request head, 2 s for a login body and 1 s for a
//! client to read some of its answer (`send_timeout`); each test checks the time it took to
//! be cut off against those limits plus a margin.

// Tests time the gateway from outside: the clock rule (clippy.toml) is for the gateway's code.
#![allow(clippy::disallowed_methods)]

mod common;

use common::apps::start_cookie_app;
use common::{cookie_app_config, h2_frame, simple_config, upstream, Gateway};
use std::time::{Duration, Instant};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

const HEADER_TIMEOUT: Duration = Duration::from_secs(1);
const BODY_TIMEOUT: Duration = Duration::from_secs(2);
/// Room for a loaded test machine on top of a limit.
const MARGIN: Duration = Duration::from_millis(1500);

const LIMITS: &str =
    "limits:\n  header_read_timeout: 1s\n  body_read_timeout: 2s\n  body_min_rate: 100000\n";

/// A gateway in front of the echo upstream, with the short limits; `extra` follows them (more
/// `limits` keys, indented, then other top-level YAML).
async fn echo_gateway(extra: &str) -> (upstream::Upstream, Gateway) {
    let up = upstream::start().await;
    let gw = Gateway::start(
        &simple_config(up.addr, "").replace("apps:", &format!("{LIMITS}{extra}apps:")),
    );
    (up, gw)
}

/// Reads until the gateway closes `stream` (or `wait` passes): what it sent, and when it
/// closed (`None`: still open).
async fn until_closed<S: tokio::io::AsyncRead + Unpin>(
    stream: &mut S,
    wait: Duration,
) -> (Vec<u8>, Option<Instant>) {
    let mut got = Vec::new();
    let mut buf = [0u8; 4096];
    let deadline = tokio::time::Instant::now() + wait;
    loop {
        match tokio::time::timeout_at(deadline, stream.read(&mut buf)).await {
            Err(_) => return (got, None),
            Ok(Ok(0)) | Ok(Err(_)) => return (got, Some(Instant::now())),
            Ok(Ok(n)) => got.extend_from_slice(&buf[..n]),
        }
    }
}

/// Asserts that `stream` is closed with nothing sent, at the header timeout after `since`.
async fn closed_silently_at_the_header_timeout(mut stream: TcpStream, since: Instant) {
    let (got, closed) = until_closed(&mut stream, HEADER_TIMEOUT + MARGIN * 2).await;
    let closed = closed.expect("still open well past the header timeout");
    assert!(got.is_empty(), "sent {got:?}");
    let after = closed - since;
    assert!(
        after >= HEADER_TIMEOUT - Duration::from_millis(100),
        "closed early, after {after:?}"
    );
    assert!(after <= HEADER_TIMEOUT + MARGIN, "closed after {after:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_unfinished_http2_preface_is_closed_at_the_header_timeout() {
    let (up, gw) = echo_gateway("").await;
    let mut s = TcpStream::connect(gw.addr).await.unwrap();
    let since = Instant::now();
    s.write_all(b"PRI * HTTP/2.0\r\n").await.unwrap();
    closed_silently_at_the_header_timeout(s, since).await;
    assert!(up.seen.paths().is_empty());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_first_segment_of_p_gets_no_http2_settings_and_is_closed_at_the_header_timeout() {
    let (_up, gw) = echo_gateway("").await;
    let mut s = TcpStream::connect(gw.addr).await.unwrap();
    let since = Instant::now();
    s.write_all(b"P").await.unwrap();
    closed_silently_at_the_header_timeout(s, since).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_first_segment_of_p_and_the_rest_in_time_is_http1() {
    let (up, gw) = echo_gateway("").await;
    let mut s = TcpStream::connect(gw.addr).await.unwrap();
    s.write_all(b"P").await.unwrap();
    // The gateway must not answer (with HTTP/2 SETTINGS or anything) before the rest comes.
    let mut buf = [0u8; 64];
    let early = tokio::time::timeout(Duration::from_millis(300), s.read(&mut buf)).await;
    assert!(early.is_err(), "answered a lone P: {early:?}");
    s.write_all(
        b"OST /split HTTP/1.1\r\nHost: a\r\nContent-Length: 0\r\nConnection: close\r\n\r\n",
    )
    .await
    .unwrap();
    let (got, closed) = until_closed(&mut s, Duration::from_secs(5)).await;
    assert!(closed.is_some(), "still open");
    let text = String::from_utf8_lossy(&got);
    assert!(text.starts_with("HTTP/1.1 200"), "{text}");
    assert!(text.contains("POST /split"), "{text}");
    assert_eq!(up.seen.paths(), ["/split"]);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_http2_connection_without_a_request_is_closed_at_the_header_timeout() {
    let (_up, gw) = echo_gateway("").await;
    let mut s = TcpStream::connect(gw.addr).await.unwrap();
    let since = Instant::now();
    // The whole preface: the gateway answers with its SETTINGS, then waits for a request.
    s.write_all(b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n")
        .await
        .unwrap();
    let (got, closed) = until_closed(&mut s, HEADER_TIMEOUT + MARGIN * 2).await;
    let closed = closed.expect("still open well past the header timeout");
    // A SETTINGS frame: length (3 bytes), type 4.
    assert_eq!(got.get(3), Some(&4), "{got:?}");
    let after = closed - since;
    assert!(
        after >= HEADER_TIMEOUT - Duration::from_millis(100),
        "{after:?}"
    );
    assert!(after <= HEADER_TIMEOUT + MARGIN, "{after:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_idle_http2_connection_is_closed_after_the_header_timeout() {
    use bytes::Bytes;
    use http_body_util::{BodyExt, Empty};
    use hyper_util::rt::{TokioExecutor, TokioIo};
    let (_up, gw) = echo_gateway("").await;
    let tcp = TcpStream::connect(gw.addr).await.unwrap();
    let (mut sender, conn) = hyper::client::conn::http2::handshake::<_, _, Empty<Bytes>>(
        TokioExecutor::new(),
        TokioIo::new(tcp),
    )
    .await
    .unwrap();
    let conn = tokio::spawn(conn);
    let response = sender
        .send_request(
            http::Request::get("http://a/once")
                .body(Empty::new())
                .unwrap(),
        )
        .await
        .unwrap();
    assert_eq!(response.status(), 200);
    response.into_body().collect().await.unwrap();
    let idle = Instant::now();
    // No more requests: the gateway says goodbye a header timeout later.
    tokio::time::timeout(HEADER_TIMEOUT + MARGIN * 2, conn)
        .await
        .expect("idle HTTP/2 connection still open")
        .unwrap()
        .ok();
    let after = idle.elapsed();
    assert!(
        after >= HEADER_TIMEOUT - Duration::from_millis(100),
        "{after:?}"
    );
    assert!(after <= HEADER_TIMEOUT + MARGIN, "{after:?}");
}

/// Sends a login form to `stream` a byte at a time, `every` apart, until the gateway answers;
/// returns the answer and when the gateway closed the connection.
async fn trickle_login(stream: &mut TcpStream, every: Duration) -> (String, Option<Instant>) {
    let body = b"user=alice&pass=secret&remember=please-keep-this-slow";
    let head = format!(
        "POST /login.php HTTP/1.1\r\nHost: a\r\nContent-Type: application/x-www-form-urlencoded\r\nContent-Length: {}\r\n\r\n",
        body.len()
    );
    stream.write_all(head.as_bytes()).await.unwrap();
    let mut got = Vec::new();
    let mut buf = [0u8; 4096];
    for byte in body {
        if stream.write_all(&[*byte]).await.is_err() {
            break;
        }
        match tokio::time::timeout(every, stream.read(&mut buf)).await {
            // Nothing yet: the next byte.
            Err(_) => continue,
            Ok(Ok(0)) | Ok(Err(_)) => {
                return (String::from_utf8_lossy(&got).into(), Some(Instant::now()))
            }
            Ok(Ok(n)) => {
                got.extend_from_slice(&buf[..n]);
                break;
            }
        }
    }
    let (rest, closed) = until_closed(stream, Duration::from_secs(5)).await;
    got.extend_from_slice(&rest);
    (String::from_utf8_lossy(&got).into(), closed)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_login_body_sent_a_byte_at_a_time_gets_408_at_the_body_timeout() {
    let app = start_cookie_app().await;
    let gw = Gateway::start(&cookie_app_config(app.addr, LIMITS, ""));
    let mut s = TcpStream::connect(gw.addr).await.unwrap();
    let since = Instant::now();
    let (answer, closed) = trickle_login(&mut s, Duration::from_millis(500)).await;
    assert!(answer.starts_with("HTTP/1.1 408"), "{answer}");
    let closed = closed.expect("connection left open after the 408");
    let after = closed - since;
    assert!(
        after >= BODY_TIMEOUT - Duration::from_millis(100),
        "{after:?}"
    );
    assert!(after <= BODY_TIMEOUT + MARGIN, "{after:?}");
    // The app never saw the unfinished login.
    assert!(
        app.state.visits().iter().all(|v| v.path != "/login.php"),
        "{:?}",
        app.state.visits()
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_login_body_below_the_default_minimum_rate_is_cut_off_after_the_grace() {
    // The defaults: 30 s for the body, 1024 bytes/s after 5 s. A byte every 2 s is cut off
    // just after the 5 s, long before the 30 s.
    let app = start_cookie_app().await;
    let gw = Gateway::start(&cookie_app_config(app.addr, "", ""));
    let mut s = TcpStream::connect(gw.addr).await.unwrap();
    let since = Instant::now();
    let (answer, closed) = trickle_login(&mut s, Duration::from_secs(2)).await;
    assert!(answer.starts_with("HTTP/1.1 408"), "{answer}");
    let after = closed.expect("connection left open after the 408") - since;
    assert!(after >= Duration::from_millis(4900), "{after:?}");
    assert!(after <= Duration::from_secs(5) + MARGIN, "{after:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn stalled_connections_give_their_slots_back_at_the_header_timeout() {
    let (up, gw) = echo_gateway("  max_connections: 3\ngateway:\n  workers: 1\n").await;
    let since = Instant::now();
    let mut stalled = Vec::new();
    for opening in [
        &b"PRI * HTTP/2.0\r\n"[..],
        b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n",
        b"GET /half HTTP/1.1\r\nHost: a\r\nX-Slow: ",
    ] {
        let mut s = TcpStream::connect(gw.addr).await.unwrap();
        s.write_all(opening).await.unwrap();
        stalled.push(s);
    }
    // The fourth waits in the backlog while the three hold every slot ...
    let mut fourth = TcpStream::connect(gw.addr).await.unwrap();
    fourth
        .write_all(b"GET /fourth HTTP/1.1\r\nHost: a\r\nConnection: close\r\n\r\n")
        .await
        .unwrap();
    let mut buf = [0u8; 64];
    let early = tokio::time::timeout(Duration::from_millis(500), fourth.read(&mut buf)).await;
    assert!(early.is_err(), "served beyond max_connections: {early:?}");
    // ... and is served once they were cut off.
    let (got, _) = until_closed(&mut fourth, HEADER_TIMEOUT + MARGIN * 2).await;
    let served = since.elapsed();
    let text = String::from_utf8_lossy(&got);
    assert!(text.starts_with("HTTP/1.1 200"), "{text}");
    assert!(served <= HEADER_TIMEOUT + MARGIN, "served after {served:?}");
    for mut s in stalled {
        let (_, closed) = until_closed(&mut s, Duration::from_millis(500)).await;
        assert!(closed.is_some(), "a stalled connection is still open");
    }
    assert_eq!(up.seen.paths(), ["/fourth"]);
}

const SEND_TIMEOUT: Duration = Duration::from_secs(1);
/// Far more than the socket buffers between the upstream and a client hold.
const BIG_BODY: usize = 20 * 1024 * 1024;

/// An HTTP/1.1 upstream that answers `GET /big.bin` with `BIG_BODY` bytes and anything else
/// with `ok`; `dropped` tells when a connection it was still writing the big body to was
/// closed under it.
struct BigUpstream {
    addr: std::net::SocketAddr,
    dropped: tokio::sync::mpsc::UnboundedReceiver<Instant>,
}

async fn start_big_upstream() -> BigUpstream {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let (tell, dropped) = tokio::sync::mpsc::unbounded_channel();
    tokio::spawn(async move {
        while let Ok((mut s, _)) = listener.accept().await {
            let tell = tell.clone();
            tokio::spawn(async move {
                let mut head = Vec::new();
                let mut buf = [0u8; 4096];
                loop {
                    while !head.windows(4).any(|w| w == b"\r\n\r\n") {
                        match s.read(&mut buf).await {
                            Ok(0) | Err(_) => return,
                            Ok(n) => head.extend_from_slice(&buf[..n]),
                        }
                    }
                    let big = head.starts_with(b"GET /big.bin ");
                    head.clear();
                    if !big {
                        let ok = b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok";
                        if s.write_all(ok).await.is_err() {
                            return;
                        }
                        continue;
                    }
                    let head = format!("HTTP/1.1 200 OK\r\nContent-Length: {BIG_BODY}\r\n\r\n");
                    let chunk = vec![b'x'; 64 * 1024];
                    let mut sent = s.write_all(head.as_bytes()).await;
                    for _ in 0..BIG_BODY / chunk.len() {
                        if sent.is_err() {
                            break;
                        }
                        sent = s.write_all(&chunk).await;
                    }
                    if sent.is_err() {
                        let _ = tell.send(Instant::now());
                        return;
                    }
                }
            });
        }
    });
    BigUpstream { addr, dropped }
}

/// A connection to `addr` whose receive buffer holds only a few KiB.
async fn small_window_client(addr: std::net::SocketAddr) -> TcpStream {
    let socket = tokio::net::TcpSocket::new_v4().unwrap();
    socket.set_recv_buffer_size(4096).unwrap();
    socket.connect(addr).await.unwrap()
}

/// Waits for the upstream to see the big answer's connection dropped, and checks that it was
/// at the send timeout after `since`.
async fn upstream_dropped_at_the_send_timeout(up: &mut BigUpstream, since: Instant) {
    let dropped = tokio::time::timeout(SEND_TIMEOUT + MARGIN * 2, up.dropped.recv())
        .await
        .expect("the upstream connection is still held well past the send timeout")
        .unwrap();
    let after = dropped - since;
    assert!(
        after >= SEND_TIMEOUT - Duration::from_millis(100),
        "dropped early, after {after:?}"
    );
    assert!(after <= SEND_TIMEOUT + MARGIN, "dropped after {after:?}");
}

/// A client that is answered normally afterwards: the gateway is not stuck.
async fn a_fresh_client_is_served(gw: &Gateway) {
    let answer = common::get(gw.addr, "a", "/small", &[]).await;
    assert_eq!(answer.status, 200);
    assert_eq!(&answer.body[..], b"ok");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_http1_client_that_never_reads_is_dropped_at_the_send_timeout() {
    let mut up = start_big_upstream().await;
    let gw = Gateway::start(
        &simple_config(up.addr, "").replace("apps:", "limits:\n  send_timeout: 1s\napps:"),
    );
    let mut s = small_window_client(gw.addr).await;
    let since = Instant::now();
    s.write_all(b"GET /big.bin HTTP/1.1\r\nHost: a\r\n\r\n")
        .await
        .unwrap();
    // Reads nothing: the gateway's writes stall once the socket buffers are full.
    upstream_dropped_at_the_send_timeout(&mut up, since).await;
    // Read at last: what the kernel still held, then the end, long before the whole body.
    let (got, closed) = until_closed(&mut s, Duration::from_secs(10)).await;
    assert!(closed.is_some(), "the client connection is still open");
    assert!(got.starts_with(b"HTTP/1.1 200"), "{:?}", got.get(..64));
    assert!(
        got.len() < BIG_BODY,
        "got the whole body: {} bytes",
        got.len()
    );
    a_fresh_client_is_served(&gw).await;
}

/// With prior knowledge: the preface, windows far larger than the body (so that only the
/// socket holds the gateway back), and `GET http://a/big.bin` on stream 1. A client library
/// would read the socket on its own; this one reads nothing.
fn http2_big_request() -> Vec<u8> {
    const WINDOW: u32 = 64 * 1024 * 1024;
    let mut bytes = b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n".to_vec();
    // SETTINGS_INITIAL_WINDOW_SIZE (0x4).
    let mut settings = vec![0, 4];
    settings.extend_from_slice(&WINDOW.to_be_bytes());
    bytes.extend(h2_frame(0x4, 0, 0, &settings));
    bytes.extend(h2_frame(0x8, 0, 0, &(WINDOW - 65_535).to_be_bytes()));
    // HPACK (RFC 7541): :method GET, :scheme http (static table 2, 6); :path and :authority
    // as literals without indexing under their static names (4, 1).
    let mut block = vec![0x82, 0x86, 0x04, 8];
    block.extend_from_slice(b"/big.bin");
    block.extend_from_slice(&[0x01, 1, b'a']);
    // HEADERS with END_STREAM | END_HEADERS.
    bytes.extend(h2_frame(0x1, 0x5, 1, &block));
    bytes
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_http2_client_that_never_reads_is_dropped_at_the_send_timeout() {
    let mut up = start_big_upstream().await;
    let gw = Gateway::start(
        &simple_config(up.addr, "").replace("apps:", "limits:\n  send_timeout: 1s\napps:"),
    );
    let mut s = small_window_client(gw.addr).await;
    let since = Instant::now();
    s.write_all(&http2_big_request()).await.unwrap();
    upstream_dropped_at_the_send_timeout(&mut up, since).await;
    let (got, closed) = until_closed(&mut s, Duration::from_secs(10)).await;
    assert!(closed.is_some(), "the client connection is still open");
    // The gateway's SETTINGS first, and far from the whole body.
    assert_eq!(got.get(3), Some(&4), "{:?}", got.get(..64));
    assert!(
        got.len() < BIG_BODY,
        "got the whole body: {} bytes",
        got.len()
    );
    a_fresh_client_is_served(&gw).await;
}

/// A TLS listener for `app.test` (certificate files in `dir`) in front of `upstream`, with the
/// short send timeout; and a client config that trusts it.
fn tls_gateway_config(
    upstream: std::net::SocketAddr,
    dir: &std::path::Path,
) -> (String, std::sync::Arc<rustls::ClientConfig>) {
    use rcgen::{BasicConstraints, CertificateParams, IsCa, KeyPair};
    let mut ca = CertificateParams::new(Vec::<String>::new()).unwrap();
    ca.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
    let ca_key = KeyPair::generate().unwrap();
    let ca = ca.self_signed(&ca_key).unwrap();
    let key = KeyPair::generate().unwrap();
    let leaf = CertificateParams::new(vec!["app.test".to_string()])
        .unwrap()
        .signed_by(&key, &ca, &ca_key)
        .unwrap();
    let cert_file = common::write_file(dir, "app.crt", &leaf.pem());
    let key_file = common::write_file(dir, "app.key", &key.serialize_pem());
    let yaml = simple_config(upstream, "")
        .replace(
            "  - address: \"{listen}\"\n",
            &format!(
                "  - address: \"{{listen}}\"\n    tls:\n      certificates:\n        - cert_file: {}\n          key_file: {}\n",
                cert_file.display(),
                key_file.display()
            ),
        )
        .replace("apps:", "limits:\n  send_timeout: 1s\napps:");
    let mut roots = rustls::RootCertStore::empty();
    roots.add(ca.der().clone()).unwrap();
    let client = rustls::ClientConfig::builder_with_provider(std::sync::Arc::new(
        rustls::crypto::ring::default_provider(),
    ))
    .with_safe_default_protocol_versions()
    .unwrap()
    .with_root_certificates(roots)
    .with_no_client_auth();
    (yaml, std::sync::Arc::new(client))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_tls_client_that_never_reads_is_dropped_at_the_send_timeout() {
    let mut up = start_big_upstream().await;
    let dir = common::temp_dir("send-timeout-tls");
    let (yaml, client) = tls_gateway_config(up.addr, &dir);
    let gw = Gateway::start_in(&yaml, dir);
    let tcp = small_window_client(gw.addr).await;
    let name = rustls::pki_types::ServerName::try_from("app.test").unwrap();
    let mut tls = tokio_rustls::TlsConnector::from(client)
        .connect(name, tcp)
        .await
        .unwrap();
    let since = Instant::now();
    tls.write_all(b"GET /big.bin HTTP/1.1\r\nHost: app.test\r\n\r\n")
        .await
        .unwrap();
    tls.flush().await.unwrap();
    upstream_dropped_at_the_send_timeout(&mut up, since).await;
    let (got, closed) = until_closed(&mut tls, Duration::from_secs(10)).await;
    assert!(closed.is_some(), "the client connection is still open");
    assert!(got.starts_with(b"HTTP/1.1 200"), "{:?}", got.get(..64));
    assert!(
        got.len() < BIG_BODY,
        "got the whole body: {} bytes",
        got.len()
    );
}
