//! TLS listeners (SNI, HTTP/2 through ALPN), https upstreams, and tunnelled WebSocket upgrades.

// Tests time the gateway from outside: the clock rule (clippy.toml) is for the gateway's code.
#![allow(clippy::disallowed_methods)]

mod common;

use bytes::Bytes;
use common::{get, simple_config, upstream, write_file, Gateway};
use futures_util::{SinkExt, StreamExt};
use http::Request;
use http_body_util::{BodyExt, Empty};
use hyper_util::rt::{TokioExecutor, TokioIo};
use rcgen::{BasicConstraints, CertificateParams, IsCa, KeyPair};
use rustls::pki_types::{CertificateDer, ServerName};
use std::path::Path;
use std::sync::Arc;
use tokio_tungstenite::tungstenite::Message;

struct TestPki {
    ca_pem: String,
    /// (name, cert PEM, key PEM, cert DER)
    leaves: Vec<(String, String, String, Vec<u8>)>,
}

fn pki(names: &[&str]) -> TestPki {
    let mut ca_params = CertificateParams::new(Vec::<String>::new()).unwrap();
    ca_params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
    let ca_key = KeyPair::generate().unwrap();
    let ca = ca_params.self_signed(&ca_key).unwrap();
    let leaves = names
        .iter()
        .map(|name| {
            let key = KeyPair::generate().unwrap();
            let cert = CertificateParams::new(vec![name.to_string()])
                .unwrap()
                .signed_by(&key, &ca, &ca_key)
                .unwrap();
            (
                name.to_string(),
                cert.pem(),
                key.serialize_pem(),
                cert.der().to_vec(),
            )
        })
        .collect();
    TestPki {
        ca_pem: ca.pem(),
        leaves,
    }
}

fn tls_config(upstream: std::net::SocketAddr, pki: &TestPki, dir: &Path) -> String {
    let mut certs = String::new();
    for (name, cert, key, _) in &pki.leaves {
        let c = write_file(dir, &format!("{name}.crt"), cert);
        let k = write_file(dir, &format!("{name}.key"), key);
        certs.push_str(&format!(
            "        - cert_file: {}\n          key_file: {}\n",
            c.display(),
            k.display()
        ));
    }
    simple_config(upstream, "").replace(
        "  - address: \"{listen}\"\n",
        &format!("  - address: \"{{listen}}\"\n    tls:\n      certificates:\n{certs}"),
    )
}

fn client_config(ca_pem: &str, alpn: &[&[u8]]) -> Arc<rustls::ClientConfig> {
    let mut roots = rustls::RootCertStore::empty();
    for cert in rustls_pemfile_certs(ca_pem) {
        roots.add(cert).unwrap();
    }
    let mut config = rustls::ClientConfig::builder_with_provider(Arc::new(
        rustls::crypto::ring::default_provider(),
    ))
    .with_safe_default_protocol_versions()
    .unwrap()
    .with_root_certificates(roots)
    .with_no_client_auth();
    config.alpn_protocols = alpn.iter().map(|p| p.to_vec()).collect();
    Arc::new(config)
}

fn rustls_pemfile_certs(pem: &str) -> Vec<CertificateDer<'static>> {
    use rustls::pki_types::pem::PemObject;
    CertificateDer::pem_slice_iter(pem.as_bytes())
        .map(|c| c.unwrap())
        .collect()
}

async fn connect_tls(
    addr: std::net::SocketAddr,
    name: &str,
    config: Arc<rustls::ClientConfig>,
) -> tokio_rustls::client::TlsStream<tokio::net::TcpStream> {
    let tcp = tokio::net::TcpStream::connect(addr).await.unwrap();
    tokio_rustls::TlsConnector::from(config)
        .connect(ServerName::try_from(name.to_string()).unwrap(), tcp)
        .await
        .unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sni_picks_the_matching_certificate() {
    let up = upstream::start().await;
    let pki = pki(&["first.test", "second.test"]);
    let dir = common::temp_dir("sni");
    let gw = Gateway::start_in(&tls_config(up.addr, &pki, &dir), dir);
    for (name, _, _, der) in &pki.leaves {
        let tls = connect_tls(gw.addr, name, client_config(&pki.ca_pem, &[b"http/1.1"])).await;
        let presented = tls.get_ref().1.peer_certificates().unwrap()[0].to_vec();
        assert_eq!(&presented, der, "wrong certificate for {name}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn http2_over_tls_is_negotiated_and_forwarded() {
    let up = upstream::start().await;
    let pki = pki(&["app.test"]);
    let dir = common::temp_dir("h2");
    let gw = Gateway::start_in(&tls_config(up.addr, &pki, &dir), dir);
    let tls = connect_tls(
        gw.addr,
        "app.test",
        client_config(&pki.ca_pem, &[b"h2", b"http/1.1"]),
    )
    .await;
    assert_eq!(tls.get_ref().1.alpn_protocol(), Some(&b"h2"[..]));
    let (mut sender, conn) =
        hyper::client::conn::http2::handshake(TokioExecutor::new(), TokioIo::new(tls))
            .await
            .unwrap();
    tokio::spawn(conn);
    for i in 0..3 {
        let req = Request::get(format!("https://app.test/h2/{i}"))
            .body(Empty::<Bytes>::new())
            .unwrap();
        let response = sender.send_request(req).await.unwrap();
        assert_eq!(response.version(), http::Version::HTTP_2);
        assert_eq!(response.status(), 200);
        let text = String::from_utf8(
            response
                .into_body()
                .collect()
                .await
                .unwrap()
                .to_bytes()
                .to_vec(),
        )
        .unwrap();
        assert!(text.starts_with(&format!("GET /h2/{i}\n")), "{text}");
        // The upstream speaks HTTP/1.1 and needs a Host: it comes from :authority.
        assert!(text.contains("host: app.test\n"), "{text}");
        assert!(text.contains("via: 2 mfa-gateway\n"), "{text}");
        assert!(text.contains("x-forwarded-proto: https\n"), "{text}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn https_upstream_is_verified_against_the_configured_ca() {
    let up = upstream::start().await;
    let pki = pki(&["localhost"]);
    let dir = common::temp_dir("https-up");
    // Gateway A terminates TLS for "localhost" and plays the https upstream of gateway B.
    let front = Gateway::start_in(&tls_config(up.addr, &pki, &dir), dir.clone());
    let ca = write_file(&dir, "ca.pem", &pki.ca_pem);
    let https = format!("https://localhost:{}", front.addr.port());

    let with_ca = simple_config(up.addr, &format!("      ca_file: {}\n", ca.display()))
        .replace(&format!("http://{}", up.addr), &https);
    let gw = Gateway::start(&with_ca);
    let r = get(gw.addr, "a", "/through-tls", &[]).await;
    assert_eq!(r.status, 200, "{}", r.text());
    assert!(r.text().starts_with("GET /through-tls\n"));

    // System roots do not know the test CA: the upstream is refused, 502.
    let system = simple_config(up.addr, "").replace(&format!("http://{}", up.addr), &https);
    let gw = Gateway::start(&system);
    assert_eq!(get(gw.addr, "a", "/", &[]).await.status, 502);

    // The explicit opt-out connects anyway and says so in the log.
    let insecure = simple_config(up.addr, "      insecure_skip_verify: true\n")
        .replace(&format!("http://{}", up.addr), &https);
    let gw = Gateway::start(&insecure);
    assert_eq!(get(gw.addr, "a", "/", &[]).await.status, 200);
    assert!(gw
        .wait_for_log("verification")
        .contains("insecure_skip_verify"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn websocket_is_tunnelled() {
    let up = upstream::start().await;
    let gw = Gateway::start(&simple_config(up.addr, ""));
    let tcp = tokio::net::TcpStream::connect(gw.addr).await.unwrap();
    let (mut ws, response) = tokio_tungstenite::client_async(format!("ws://{}/ws", gw.addr), tcp)
        .await
        .unwrap();
    assert_eq!(response.status(), 101);
    assert_eq!(response.headers().get("via").unwrap(), "1.1 mfa-gateway");
    for i in 0..5 {
        ws.send(Message::text(format!("ping {i}"))).await.unwrap();
        let echoed = ws.next().await.unwrap().unwrap();
        assert_eq!(echoed.into_text().unwrap().as_str(), format!("ping {i}"));
    }
    ws.send(Message::binary(vec![0u8, 1, 2, 255]))
        .await
        .unwrap();
    assert_eq!(
        ws.next().await.unwrap().unwrap().into_data().to_vec(),
        vec![0u8, 1, 2, 255]
    );
    ws.close(None).await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn only_websocket_upgrades_pass() {
    // h2c (or any other protocol) after a switch would be requests no check sees
    // (SECURITY-TESTS 39): the gateway does not ask the app for it.
    let up = upstream::start().await;
    let gw = Gateway::start(&simple_config(up.addr, ""));
    for protocol in ["h2c", "HTTP/2.0", "websocket, h2c", "tls/1.2"] {
        let answer = get(
            gw.addr,
            "a",
            "/any-upgrade",
            &[
                ("connection", "Upgrade, HTTP2-Settings"),
                ("upgrade", protocol),
                ("http2-settings", "AAMAAABkAAQAoAAAAAIAAAAA"),
            ],
        )
        .await;
        assert_eq!(answer.status, 200, "{protocol}");
        assert_eq!(answer.text(), "no upgrade asked", "{protocol}");
    }
    // An app asked for WebSocket that switches to something else is not relayed either.
    let answer = get(
        gw.addr,
        "a",
        "/h2c-instead",
        &[
            ("connection", "Upgrade"),
            ("upgrade", "websocket"),
            ("sec-websocket-version", "13"),
            ("sec-websocket-key", "dGhlIHNhbXBsZSBub25jZQ=="),
        ],
    )
    .await;
    assert_eq!(answer.status, 502);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn connection_bound_sign_ins_are_refused() {
    // NTLM and Negotiate sign in the connection, and the gateway's upstream connections serve
    // every client (SECURITY-TESTS 36).
    let up = upstream::start().await;
    let gw = Gateway::start(&simple_config(up.addr, ""));
    for value in [
        "NTLM TlRMTVNTUAABAAAAB4IIog==",
        "Negotiate YIIGHgYGKwYBBQUC",
    ] {
        let answer = get(gw.addr, "a", "/intranet", &[("authorization", value)]).await;
        assert_eq!(answer.status, 403, "{value}");
    }
    assert!(up.seen.paths().is_empty());
    assert_eq!(get(gw.addr, "a", "/intranet", &[]).await.status, 200);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn unrequested_protocol_switch_is_not_relayed() {
    let up = upstream::start().await;
    let gw = Gateway::start(&simple_config(up.addr, ""));
    assert_eq!(get(gw.addr, "a", "/stale-101", &[]).await.status, 502);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_client_that_never_finishes_the_handshake_is_cut_off() {
    let up = upstream::start().await;
    let pki = pki(&["slow.test"]);
    let dir = common::temp_dir("handshake");
    let config = tls_config(up.addr, &pki, &dir)
        .replace("apps:", "limits:\n  handshake_timeout: 300ms\napps:");
    let gw = Gateway::start_in(&config, dir);
    let s = tokio::net::TcpStream::connect(gw.addr).await.unwrap();
    common::assert_closed_soon(s).await;
    // The socket closes as the timed-out handshake is dropped, a moment before the counter is
    // bumped on the worker thread: wait for it rather than race it.
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(2);
    loop {
        let metrics = get(gw.admin, "admin", "/metrics", &[]).await.text();
        if metrics.contains("mfa_gateway_tls_handshake_failures_total 1") {
            break;
        }
        assert!(std::time::Instant::now() < deadline, "{metrics}");
        tokio::time::sleep(std::time::Duration::from_millis(20)).await;
    }
}

/// SECURITY-TESTS 14: on TLS the gateway's cookies carry the `__Host-` prefix and `Secure`, and
/// the flow reads them back under that name (here over HTTP/2).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn mfa_cookies_on_tls_use_the_host_prefix() {
    let app = common::apps::start_cookie_app().await;
    let pki = pki(&["app.test"]);
    let dir = common::temp_dir("mfa-tls");
    let config = tls_config(app.addr, &pki, &dir)
        + "    mfa:\n      enrollment: { first_login: { for: 30d } }\n      login:\n        - path: /login.php\n          username_field: user\n          success:\n            set_cookie: PHPSESSID\n      session_cookies: [PHPSESSID]\n      identity: { typed_name: true }\n";
    let gw = Gateway::start_in(&config, dir);
    let tls = connect_tls(gw.addr, "app.test", client_config(&pki.ca_pem, &[b"h2"])).await;
    let (mut sender, conn) =
        hyper::client::conn::http2::handshake(TokioExecutor::new(), TokioIo::new(tls))
            .await
            .unwrap();
    tokio::spawn(conn);
    let login = Request::post("https://app.test/login.php")
        .header("content-type", "application/x-www-form-urlencoded")
        .body(http_body_util::Full::new(Bytes::from(
            "user=alice&pass=secret",
        )))
        .unwrap();
    let response = sender.send_request(login).await.unwrap();
    assert_eq!(response.status(), 303);
    let cookie = response.headers()["set-cookie"]
        .to_str()
        .unwrap()
        .to_string();
    assert!(cookie.starts_with("__Host-mfa_pending="), "{cookie}");
    assert!(
        cookie.contains("; Path=/") && cookie.contains("; Secure"),
        "{cookie}"
    );
    assert!(!cookie.contains("Domain"), "{cookie}");

    let pair = cookie.split(';').next().unwrap().to_string();
    let page = Request::get("https://app.test/.mfa/enroll")
        .header("cookie", pair)
        .body(http_body_util::Full::new(Bytes::new()))
        .unwrap();
    let response = sender.send_request(page).await.unwrap();
    assert_eq!(response.status(), 200);
    // The plain name means nothing on TLS: it could have been planted over plain HTTP.
    let value = cookie
        .split(';')
        .next()
        .unwrap()
        .split_once('=')
        .unwrap()
        .1
        .to_string();
    let planted = Request::get("https://app.test/.mfa/enroll")
        .header("cookie", format!("mfa_pending={value}"))
        .body(http_body_util::Full::new(Bytes::new()))
        .unwrap();
    assert_eq!(sender.send_request(planted).await.unwrap().status(), 401);
}
