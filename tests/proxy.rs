//! Forwarding end to end: routing, keep-alive, chunked bodies, header rules and error pages,
//! through the real binary in front of a real hyper upstream.

// Tests time the gateway from outside: the clock rule (clippy.toml) is for the gateway's code.
#![allow(clippy::disallowed_methods)]

mod common;

use bytes::Bytes;
use common::{get, h2c, raw_request, send, simple_config, upstream, Gateway};
use http::Request;
use http_body_util::Full;

fn two_app_config(a: std::net::SocketAddr, b: std::net::SocketAddr) -> String {
    format!(
        "listeners:\n  - address: \"{{listen}}\"\nadmin:\n  address: \"{{admin}}\"\ngateway:\n  trusted_proxies: [\"10.0.0.0/8\"]\napps:\n  - name: site\n    hosts: [\"app.example.com\", \"*.example.org\"]\n    upstream:\n      url: \"http://{a}\"\n  - name: api\n    hosts: [\"app.example.com\"]\n    path_prefix: /api\n    upstream:\n      url: \"http://{b}\"\n      host_header: upstream\n"
    )
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn routes_by_host_and_longest_prefix() {
    let site = upstream::start().await;
    let api = upstream::start().await;
    let gw = Gateway::start(&two_app_config(site.addr, api.addr));

    let r = get(gw.addr, "APP.Example.com:8443", "/page", &[]).await;
    assert_eq!(r.status, 200);
    assert!(r.text().starts_with("GET /page\n"));
    let r = get(gw.addr, "app.example.com", "/api/users?id=1", &[]).await;
    assert!(
        r.text().starts_with("GET /api/users?id=1\n"),
        "{}",
        r.text()
    );
    // host_header: upstream sends the upstream's own authority.
    assert!(
        r.text().contains(&format!("host: {}\n", api.addr)),
        "{}",
        r.text()
    );
    let r = get(gw.addr, "app.example.com", "/apiary", &[]).await;
    assert_eq!(r.status, 200);
    let r = get(gw.addr, "x.example.org", "/", &[]).await;
    assert_eq!(r.status, 200);
    // The default is to pass the client's Host through.
    assert!(r.text().contains("host: x.example.org\n"), "{}", r.text());

    assert_eq!(site.seen.paths(), ["/page", "/apiary", "/"]);
    assert_eq!(api.seen.paths(), ["/api/users"]);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn unknown_host_gets_404_page_or_json() {
    let site = upstream::start().await;
    let gw = Gateway::start(&two_app_config(site.addr, site.addr));
    let r = get(gw.addr, "other.example.net", "/", &[]).await;
    assert_eq!(r.status, 404);
    assert_eq!(r.header("content-type"), Some("text/html; charset=utf-8"));
    assert!(r
        .text()
        .contains("No application is configured for this host name."));
    let csp = r.header("content-security-policy").unwrap();
    assert!(
        csp.contains("frame-ancestors 'none'") && !csp.contains("unsafe-inline"),
        "{csp}"
    );
    assert_eq!(r.header("cache-control"), Some("no-store"));
    assert_eq!(r.header("x-frame-options"), Some("DENY"));
    let r = get(
        gw.addr,
        "other.example.net",
        "/",
        &[("accept", "application/json")],
    )
    .await;
    assert_eq!(r.status, 404);
    assert!(
        r.text().starts_with("{\"error\":\"unknown_host\""),
        "{}",
        r.text()
    );
    assert!(site.seen.paths().is_empty());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn reserved_prefix_never_reaches_the_upstream() {
    let up = upstream::start().await;
    let gw = Gateway::start(&simple_config(up.addr, ""));
    for path in [
        "/.mfa/",
        "/.mfa/verify",
        "/.mfa",
        "/.MFA/settings",
        "/.Mfa/api/verify?x=1",
    ] {
        let r = get(gw.addr, "a", path, &[]).await;
        assert_eq!(r.status, 404, "{path}");
    }
    let r = get(gw.addr, "a", "/.mfa-not-reserved", &[]).await;
    assert_eq!(r.status, 200);
    assert_eq!(up.seen.paths(), ["/.mfa-not-reserved"]);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn ambiguous_paths_are_refused_before_routing() {
    let up = upstream::start().await;
    let gw = Gateway::start(&simple_config(up.addr, ""));
    for path in [
        "/admin/../x",
        "/pub/..%2fadmin",
        "/api%2e/admin",
        "//admin",
        "/./admin",
        "/%c0%ae%c0%ae/x",
        "/a%5cb",
    ] {
        let text = raw_request(
            gw.addr,
            format!("GET {path} HTTP/1.1\r\nHost: a\r\nConnection: close\r\n\r\n").as_bytes(),
        )
        .unwrap();
        assert!(text.starts_with("HTTP/1.1 400"), "{path}: {text}");
    }
    assert!(up.seen.paths().is_empty(), "{:?}", up.seen.paths());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn keep_alive_on_both_sides() {
    let up = upstream::start().await;
    let gw = Gateway::start(&simple_config(up.addr, ""));
    // Three requests on one client connection, answered in order.
    let text = raw_request(
        gw.addr,
        b"GET /1 HTTP/1.1\r\nHost: a\r\n\r\nGET /2 HTTP/1.1\r\nHost: a\r\n\r\nGET /3 HTTP/1.1\r\nHost: a\r\nConnection: close\r\n\r\n",
    )
    .unwrap();
    assert_eq!(text.matches("HTTP/1.1 200 OK").count(), 3, "{text}");
    let (one, two, three) = (
        text.find("GET /1").unwrap(),
        text.find("GET /2").unwrap(),
        text.find("GET /3").unwrap(),
    );
    assert!(one < two && two < three);
    // Upstream connections are pooled: 20 sequential requests need far fewer than 20.
    for _ in 0..20 {
        get(gw.addr, "a", "/again", &[]).await;
    }
    let used = up.connections.load(std::sync::atomic::Ordering::SeqCst);
    assert!(used <= 4, "upstream saw {used} connections for 23 requests");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn chunked_bodies_pass_both_ways() {
    let up = upstream::start().await;
    let gw = Gateway::start(&simple_config(up.addr, ""));
    let text = raw_request(
        gw.addr,
        b"POST /echo HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\nConnection: close\r\n\r\n5\r\nhello\r\n6\r\n world\r\n0\r\n\r\n",
    )
    .unwrap();
    assert!(text.contains("body: hello world"), "{text}");
    let r = get(gw.addr, "a", "/chunked", &[]).await;
    assert_eq!(r.text(), "first;second;third");
    let text = raw_request(
        gw.addr,
        b"GET /chunked HTTP/1.1\r\nHost: a\r\nConnection: close\r\n\r\n",
    )
    .unwrap();
    assert!(
        text.to_ascii_lowercase()
            .contains("transfer-encoding: chunked"),
        "{text}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn hop_by_hop_headers_are_stripped_both_ways() {
    let up = upstream::start().await;
    let gw = Gateway::start(&simple_config(up.addr, ""));
    let r = get(
        gw.addr,
        "a",
        "/echo",
        &[
            ("connection", "x-private-hop"),
            ("x-private-hop", "secret"),
            ("keep-alive", "timeout=5"),
            ("proxy-authorization", "Basic Zm9vOmJhcg=="),
            ("te", "trailers"),
            ("x-end-to-end", "kept"),
        ],
    )
    .await;
    let echoed = r.text();
    for gone in [
        "x-private-hop",
        "keep-alive",
        "proxy-authorization",
        "te:",
        "connection: x-private",
    ] {
        assert!(
            !echoed.contains(gone),
            "{gone} reached the upstream:\n{echoed}"
        );
    }
    assert!(echoed.contains("x-end-to-end: kept"));
    assert!(echoed.contains("via: 1.1 mfa-gateway"));

    let r = get(gw.addr, "a", "/hop", &[]).await;
    assert_eq!(r.header("x-kept"), Some("yes"));
    assert_eq!(r.header("x-hop-secret"), None);
    assert_eq!(r.header("keep-alive"), None);
    assert_eq!(r.header("proxy-connection"), None);
    assert_eq!(r.header("via"), Some("1.1 mfa-gateway"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn forwarded_headers_from_untrusted_peer_are_replaced() {
    let up = upstream::start().await;
    // 127.0.0.1 (the test client) is not trusted here.
    let gw = Gateway::start(&simple_config(up.addr, "").replace(
        "apps:",
        "gateway:\n  trusted_proxies: [\"10.0.0.0/8\"]\napps:",
    ));
    let r = get(
        gw.addr,
        "app.example.com",
        "/echo",
        &[
            ("x-forwarded-for", "6.6.6.6"),
            ("x-forwarded-proto", "https"),
            ("x-forwarded-host", "evil.example"),
            ("x-real-ip", "6.6.6.6"),
            ("x_forwarded_for", "6.6.6.6"),
            ("x-request-id", "forged-id"),
        ],
    )
    .await;
    let echoed = r.text();
    assert!(echoed.contains("x-forwarded-for: 127.0.0.1\n"), "{echoed}");
    assert!(echoed.contains("x-forwarded-proto: http\n"), "{echoed}");
    assert!(
        echoed.contains("x-forwarded-host: app.example.com\n"),
        "{echoed}"
    );
    assert!(!echoed.contains("6.6.6.6"), "{echoed}");
    assert!(!echoed.contains("forged-id"), "{echoed}");
    let id = r.header("x-request-id").unwrap();
    assert_eq!(id.len(), 32);
    assert!(echoed.contains(&format!("x-request-id: {id}\n")));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn forwarded_headers_from_trusted_peer_are_extended() {
    let up = upstream::start().await;
    let gw = Gateway::start(&simple_config(up.addr, "").replace(
        "apps:",
        "gateway:\n  trusted_proxies: [\"127.0.0.0/8\"]\napps:",
    ));
    let r = get(
        gw.addr,
        "internal",
        "/echo",
        &[
            ("x-forwarded-for", "203.0.113.9"),
            ("x-forwarded-proto", "https"),
            ("x-forwarded-host", "public.example.com"),
            ("x-request-id", "edge-42"),
        ],
    )
    .await;
    let echoed = r.text();
    assert!(
        echoed.contains("x-forwarded-for: 203.0.113.9, 127.0.0.1\n"),
        "{echoed}"
    );
    assert!(echoed.contains("x-forwarded-proto: https\n"), "{echoed}");
    assert!(
        echoed.contains("x-forwarded-host: public.example.com\n"),
        "{echoed}"
    );
    assert!(echoed.contains("x-request-id: edge-42\n"), "{echoed}");
    assert_eq!(r.header("x-request-id"), Some("edge-42"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn oversized_headers_get_431() {
    let up = upstream::start().await;
    let gw = Gateway::start(&simple_config(up.addr, "").replace(
        "apps:",
        "limits:\n  max_header_bytes: 4096\n  max_headers: 20\napps:",
    ));
    let big = "x".repeat(5000);
    let r = get(gw.addr, "a", "/", &[("x-big", &big)]).await;
    assert_eq!(r.status, 431);
    assert!(
        r.text().contains("431 Request headers too large"),
        "{}",
        r.text()
    );
    let many: Vec<(String, String)> = (0..25)
        .map(|i| (format!("x-h{i}"), "v".to_string()))
        .collect();
    let refs: Vec<(&str, &str)> = many.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect();
    let r = get(gw.addr, "a", "/", &refs).await;
    assert_eq!(r.status, 431);
    // Far beyond the limit hyper refuses it before we see it; still a 431.
    let huge = "y".repeat(64 * 1024);
    let text = raw_request(
        gw.addr,
        format!("GET / HTTP/1.1\r\nHost: a\r\nX-Huge: {huge}\r\n\r\n").as_bytes(),
    )
    .unwrap();
    assert!(
        text.starts_with("HTTP/1.1 431"),
        "{}",
        &text[..text.len().min(200)]
    );
    assert!(up.seen.paths().is_empty());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn unreachable_upstream_gets_502_without_internal_detail() {
    let dead = format!("127.0.0.1:{}", common::free_port())
        .parse()
        .unwrap();
    let gw = Gateway::start(&simple_config(dead, ""));
    let r = get(gw.addr, "a", "/", &[]).await;
    assert_eq!(r.status, 502);
    let body = r.text();
    assert!(body.contains("could not be reached"));
    assert!(
        !body.to_lowercase().contains("refused") && !body.contains("127.0.0.1"),
        "{body}"
    );
    let r = get(gw.addr, "a", "/", &[("accept", "application/json")]).await;
    assert_eq!(r.status, 502);
    assert!(r.text().starts_with("{\"error\":\"bad_gateway\""));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn slow_upstream_gets_504() {
    let up = upstream::start().await;
    let gw = Gateway::start(&simple_config(
        up.addr,
        "      timeouts:\n        response_header: 300ms\n",
    ));
    let started = std::time::Instant::now();
    let r = get(gw.addr, "a", "/slow?ms=2000", &[]).await;
    assert_eq!(r.status, 504);
    assert!(started.elapsed() < std::time::Duration::from_millis(1500));
    assert!(r.text().contains("took too long"));
    let r = get(gw.addr, "a", "/slow?ms=10", &[]).await;
    assert_eq!(r.status, 200);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_app_that_stalls_mid_answer_is_cut_off() {
    let up = upstream::start().await;
    let gw = Gateway::start(&simple_config(
        up.addr,
        "      timeouts:\n        response_header: 300ms\n",
    ));
    // Steady pieces closer than the limit: the whole answer, though it takes longer.
    let started = std::time::Instant::now();
    let answer = raw_request(
        gw.addr,
        b"GET /trickle?parts=6&gap=150 HTTP/1.1\r\nHost: a\r\nConnection: close\r\n\r\n",
    )
    .unwrap();
    assert!(started.elapsed() > std::time::Duration::from_millis(600));
    assert!(answer.contains("part5;"), "{answer}");
    assert!(answer.ends_with("0\r\n\r\n"), "{answer}");
    // A pause longer than the limit: the connection is cut without the last chunk, so the
    // client knows the answer is incomplete.
    let started = std::time::Instant::now();
    let answer = raw_request(
        gw.addr,
        b"GET /trickle?parts=2&gap=3000 HTTP/1.1\r\nHost: a\r\nConnection: close\r\n\r\n",
    )
    .unwrap();
    assert!(started.elapsed() < std::time::Duration::from_millis(2000));
    assert!(answer.contains("part0;"), "{answer}");
    assert!(!answer.contains("part1;"), "{answer}");
    assert!(!answer.ends_with("0\r\n\r\n"), "{answer}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn request_smuggling_shapes_are_refused() {
    let up = upstream::start().await;
    let gw = Gateway::start(&simple_config(up.addr, ""));
    let cases: [&[u8]; 3] = [
        b"POST / HTTP/1.1\r\nHost: a\r\nContent-Length: +5\r\n\r\nhello",
        b"POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 5\r\nContent-Length: 6\r\n\r\nhello!",
        b"POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: gzip\r\n\r\nhello",
    ];
    for case in cases {
        let text = raw_request(gw.addr, case).unwrap();
        assert!(
            text.starts_with("HTTP/1.1 400"),
            "{:?} -> {text}",
            String::from_utf8_lossy(case)
        );
    }
    assert!(up.seen.paths().is_empty());

    // Content-Length with Transfer-Encoding: RFC 9112 §6.3 lets the chunked framing win and
    // requires closing the connection afterwards. What matters is that the bytes a CL-reading
    // server would take as a second request never become one.
    let text = raw_request(
        gw.addr,
        b"POST /first HTTP/1.1\r\nHost: a\r\nContent-Length: 60\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\nGET /smuggled HTTP/1.1\r\nHost: a\r\n\r\n",
    )
    .unwrap();
    assert!(
        text.to_ascii_lowercase().contains("connection: close"),
        "{text}"
    );
    assert_eq!(text.matches("HTTP/1.1 ").count(), 1, "{text}");
    assert!(text.contains("body-bytes: 0"), "{text}");
    assert!(
        !up.seen.paths().contains(&"/smuggled".to_string()),
        "{:?}",
        up.seen.paths()
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn access_log_has_one_line_per_request_and_no_secrets() {
    let up = upstream::start().await;
    let gw = Gateway::start(&simple_config(up.addr, ""));
    let req = Request::get("/logged/path?token=query-secret")
        .header("host", "a")
        .header("cookie", "sessionid=cookie-secret-value")
        .header("authorization", "Bearer bearer-secret-value")
        .body(Full::new(Bytes::new()))
        .unwrap();
    let r = send(gw.addr, req).await;
    assert_eq!(r.status, 200);
    let id = r.header("x-request-id").unwrap().to_string();
    let log = gw.wait_for_log(&id);
    let line = log.lines().find(|l| l.contains(&id)).expect("access line");
    for field in [
        "method=GET",
        "host=a",
        "path=/logged/path",
        "status=200",
        "bytes=",
        "duration_ms=",
        "upstream_ms=",
        "app=\"main\"",
    ] {
        assert!(line.contains(field), "{field} missing in {line}");
    }
    for secret in ["query-secret", "cookie-secret-value", "bearer-secret-value"] {
        assert!(!log.contains(secret), "{secret} leaked into the log");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn admin_listener_reports_health_and_metrics() {
    let up = upstream::start().await;
    let gw = Gateway::start(&simple_config(up.addr, ""));
    get(gw.addr, "a", "/m", &[]).await;
    get(gw.addr, "a", "/.mfa/x", &[]).await;
    let health = get(gw.admin, "admin", "/healthz", &[]).await;
    assert_eq!(health.status, 200);
    let ready = get(gw.admin, "admin", "/readyz", &[]).await;
    assert_eq!(ready.status, 200);
    let metrics = get(gw.admin, "admin", "/metrics", &[]).await.text();
    let value = |needle: &str| -> f64 {
        metrics
            .lines()
            .find(|l| l.starts_with(needle))
            .and_then(|l| l.rsplit(' ').next())
            .and_then(|v| v.parse().ok())
            .unwrap_or_else(|| panic!("{needle} not in\n{metrics}"))
    };
    assert_eq!(
        value("mfa_gateway_http_requests_total{app=\"main\",status=\"200\"}"),
        1.0
    );
    assert_eq!(
        value("mfa_gateway_http_requests_total{app=\"main\",status=\"404\"}"),
        1.0
    );
    assert_eq!(
        value("mfa_gateway_upstream_response_seconds_count{app=\"main\"}"),
        1.0
    );
    assert!(value("mfa_gateway_open_connections") >= 0.0);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn json_logs_are_one_object_per_line() {
    let up = upstream::start().await;
    let gw = Gateway::start(
        &simple_config(up.addr, "").replace("apps:", "logging:\n  format: json\napps:"),
    );
    let r = get(gw.addr, "json.example", "/j", &[]).await;
    let id = r.header("x-request-id").unwrap().to_string();
    let log = gw.wait_for_log(&id);
    let mut access = None;
    for line in log.lines() {
        let value: serde_json::Value =
            serde_json::from_str(line).unwrap_or_else(|e| panic!("not JSON ({e}): {line}"));
        if value["request_id"] == id.as_str() {
            access = Some(value);
        }
    }
    let access = access.expect("access line");
    assert_eq!(access["target"], "mfa_gateway::access");
    assert_eq!(access["status"], 200);
    assert_eq!(access["path"], "/j");
    assert_eq!(access["host"], "json.example");
    assert_eq!(access["app"], "main");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn request_trailers_never_reach_the_app() {
    // A trailer is a header after the body, read by no check (SECURITY-TESTS 39): a cookie or
    // an identity header there must not reach the app.
    let up = upstream::start().await;
    let gw = Gateway::start(&simple_config(up.addr, ""));
    let request = b"POST /echo HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\
        Trailer: cookie, x-remote-user\r\nTE: trailers\r\nConnection: close\r\n\r\n\
        3\r\nabc\r\n0\r\nCookie: sessionid=minted\r\nX-Remote-User: admin\r\n\r\n";
    let answer = raw_request(gw.addr, request).unwrap();
    assert!(answer.starts_with("HTTP/1.1 200"), "{answer}");
    assert!(answer.contains("body-bytes: 3"), "{answer}");
    assert!(!answer.contains("trailer "), "{answer}");
    assert!(
        !answer.to_ascii_lowercase().contains("\ntrailer:"),
        "{answer}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn connections_beyond_the_limit_wait_until_one_closes() {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let up = upstream::start().await;
    let gw = Gateway::start(&simple_config(up.addr, "").replace(
        "apps:",
        "gateway:\n  workers: 1\nlimits:\n  max_connections: 2\napps:",
    ));
    let request = b"GET /held HTTP/1.1\r\nHost: a\r\n\r\n";
    let mut held = Vec::new();
    for _ in 0..2 {
        let mut s = tokio::net::TcpStream::connect(gw.addr).await.unwrap();
        s.write_all(request).await.unwrap();
        let mut buf = [0u8; 512];
        let n = s.read(&mut buf).await.unwrap();
        assert!(buf[..n].starts_with(b"HTTP/1.1 200"));
        held.push(s);
    }
    // The third connection sits in the backlog: no answer while both slots are taken.
    let mut third = tokio::net::TcpStream::connect(gw.addr).await.unwrap();
    third
        .write_all(b"GET /third HTTP/1.1\r\nHost: a\r\nConnection: close\r\n\r\n")
        .await
        .unwrap();
    let mut buf = Vec::new();
    let waited = tokio::time::timeout(
        std::time::Duration::from_millis(500),
        third.read_to_end(&mut buf),
    )
    .await;
    assert!(
        waited.is_err(),
        "served beyond max_connections: {}",
        String::from_utf8_lossy(&buf)
    );
    // Closing one frees a slot and the waiting client is served.
    drop(held.pop());
    tokio::time::timeout(
        std::time::Duration::from_secs(5),
        third.read_to_end(&mut buf),
    )
    .await
    .unwrap()
    .unwrap();
    assert!(
        buf.starts_with(b"HTTP/1.1 200"),
        "{}",
        String::from_utf8_lossy(&buf)
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_client_that_stalls_in_its_headers_is_cut_off() {
    use tokio::io::AsyncWriteExt;
    let up = upstream::start().await;
    let gw = Gateway::start(
        &simple_config(up.addr, "")
            .replace("apps:", "limits:\n  header_read_timeout: 300ms\napps:"),
    );
    let mut s = tokio::net::TcpStream::connect(gw.addr).await.unwrap();
    s.write_all(b"GET / HTTP/1.1\r\nHost: a\r\nX-Slow: ")
        .await
        .unwrap();
    common::assert_closed_soon(s).await;
    assert!(up.seen.paths().is_empty());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn access_log_can_be_switched_off() {
    let up = upstream::start().await;
    let gw = Gateway::start(
        &simple_config(up.addr, "").replace("apps:", "logging:\n  access_log: false\napps:"),
    );
    let r = get(gw.addr, "a", "/quiet", &[]).await;
    let id = r.header("x-request-id").unwrap().to_string();
    // A later log line proves the writer flushed past the request.
    gw.signal("HUP");
    let log = gw.wait_for_log("reload");
    assert!(!log.contains(&id), "{log}");
    assert!(!log.contains("mfa_gateway::access"), "{log}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn plain_http2_with_prior_knowledge_and_http1_share_a_listener() {
    use http_body_util::{BodyExt, Empty};
    let up = upstream::start().await;
    let gw = Gateway::start(&simple_config(up.addr, ""));
    let mut sender = h2c(gw.addr).await;
    let req = Request::get("http://a/h2c")
        .body(Empty::<Bytes>::new())
        .unwrap();
    let response = sender.send_request(req).await.unwrap();
    assert_eq!(response.version(), http::Version::HTTP_2);
    assert_eq!(response.status(), 200);
    let body = response.into_body().collect().await.unwrap().to_bytes();
    let text = String::from_utf8_lossy(&body);
    assert!(text.starts_with("GET /h2c\n"), "{text}");
    assert!(text.contains("via: 2 mfa-gateway\n"), "{text}");
    // A method that merely starts like the HTTP/2 preface is still HTTP/1.1.
    let text = raw_request(
        gw.addr,
        b"PROPFIND /dav HTTP/1.1\r\nHost: a\r\nConnection: close\r\n\r\n",
    )
    .unwrap();
    assert!(text.starts_with("HTTP/1.1 200"), "{text}");
    assert!(
        up.seen.paths().contains(&"/dav".to_string()),
        "{:?}",
        up.seen.paths()
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_silent_connection_is_closed_after_the_header_timeout() {
    use tokio::io::AsyncReadExt;
    let up = upstream::start().await;
    let config =
        simple_config(up.addr, "").replace("apps:", "limits:\n  header_read_timeout: 500ms\napps:");
    let gw = Gateway::start(&config);
    let mut tcp = tokio::net::TcpStream::connect(gw.addr).await.unwrap();
    let started = std::time::Instant::now();
    let mut buf = [0u8; 16];
    let read = tokio::time::timeout(std::time::Duration::from_secs(5), tcp.read(&mut buf)).await;
    assert!(matches!(read, Ok(Ok(0)) | Ok(Err(_))), "{read:?}");
    assert!(started.elapsed() >= std::time::Duration::from_millis(400));
}

/// A raw HTTP/1.1 upstream (hyper would parse an absolute-form target into a path and hide it):
/// it records each request line as sent and answers it with what `answer` returns for that
/// line and its number on the connection (0 for the first); `None` closes the connection
/// without answering. Request bodies are not read. Returns the address, the number of
/// connections accepted and the lines seen.
async fn raw_upstream(
    answer: fn(&str, usize) -> Option<&'static [u8]>,
) -> (
    std::net::SocketAddr,
    std::sync::Arc<std::sync::atomic::AtomicUsize>,
    std::sync::Arc<std::sync::Mutex<Vec<String>>>,
) {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let connections = std::sync::Arc::new(std::sync::atomic::AtomicUsize::new(0));
    let lines = std::sync::Arc::new(std::sync::Mutex::new(Vec::new()));
    let (counted, seen) = (connections.clone(), lines.clone());
    tokio::spawn(async move {
        loop {
            let (mut stream, _) = listener.accept().await.unwrap();
            counted.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
            let seen = seen.clone();
            tokio::spawn(async move {
                let mut buf = Vec::new();
                let mut chunk = [0u8; 4096];
                let mut answered = 0;
                loop {
                    let Ok(n) = stream.read(&mut chunk).await else {
                        return;
                    };
                    if n == 0 {
                        return;
                    }
                    buf.extend_from_slice(&chunk[..n]);
                    while let Some(end) = buf.windows(4).position(|w| w == b"\r\n\r\n") {
                        let head = String::from_utf8_lossy(&buf[..end]).to_string();
                        buf.drain(..end + 4);
                        let line = head.lines().next().unwrap_or("").to_string();
                        let reply = answer(&line, answered);
                        seen.lock().unwrap().push(line);
                        let Some(reply) = reply else { return };
                        answered += 1;
                        let _ = stream.write_all(reply).await;
                    }
                }
            });
        }
    });
    (addr, connections, lines)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_upstream_gets_an_origin_form_target_whatever_the_client_sent() {
    use http_body_util::Empty;
    let (addr, _, lines) =
        raw_upstream(|_, _| Some(b"HTTP/1.1 200 OK\r\ncontent-length: 2\r\n\r\nok")).await;
    let gw = Gateway::start(&simple_config(addr, ""));
    // HTTP/1.1 absolute-form (what a client talking to a proxy sends).
    let text = raw_request(
        gw.addr,
        b"GET http://a/admin/login/?next=/admin/ HTTP/1.1\r\nHost: a\r\nConnection: close\r\n\r\n",
    )
    .unwrap();
    assert!(text.starts_with("HTTP/1.1 200"), "{text}");
    // HTTP/2 carries scheme and authority as pseudo-headers.
    let mut sender = h2c(gw.addr).await;
    let req = Request::get("http://a/h2/path?q=1")
        .body(Empty::<Bytes>::new())
        .unwrap();
    assert_eq!(sender.send_request(req).await.unwrap().status(), 200);
    let lines = lines.lock().unwrap().clone();
    assert_eq!(
        lines,
        vec![
            "GET /admin/login/?next=/admin/ HTTP/1.1".to_string(),
            "GET /h2/path?q=1 HTTP/1.1".to_string()
        ]
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_request_never_waits_behind_another_clients_unfinished_upload() {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    // The recorder answers each request head at once without reading the body: an app that
    // refuses an upload early.
    let (addr, _, lines) =
        raw_upstream(|_, _| Some(b"HTTP/1.1 200 OK\r\ncontent-length: 2\r\n\r\nok")).await;
    let config = simple_config(addr, "").replace("apps:", "gateway:\n  workers: 1\napps:");
    let gw = Gateway::start(&config);
    let mut uploader = tokio::net::TcpStream::connect(gw.addr).await.unwrap();
    uploader
        .write_all(b"POST /upload HTTP/1.1\r\nHost: a\r\nContent-Length: 1000000\r\n\r\n")
        .await
        .unwrap();
    uploader.write_all(&[b'x'; 1000]).await.unwrap();
    let mut head = [0u8; 12];
    uploader.read_exact(&mut head).await.unwrap();
    assert_eq!(&head, b"HTTP/1.1 200");
    // The upload is still going (999,000 bytes to come) on the upstream connection that just
    // answered; the next request must not queue behind it.
    let next = tokio::time::timeout(
        std::time::Duration::from_secs(3),
        get(gw.addr, "a", "/next", &[]),
    )
    .await
    .expect("the second request waited for the first one's upload");
    assert_eq!(next.status, 200);
    assert!(lines
        .lock()
        .unwrap()
        .contains(&"GET /next HTTP/1.1".to_string()));
    drop(uploader);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_idempotent_request_on_a_connection_the_app_just_closed_is_sent_again() {
    // The second request on a connection is read and the connection closed unanswered, as an
    // app does whose keep-alive timeout ran out just as the request arrived.
    let (addr, connections, _) = raw_upstream(|_, nth| {
        (nth == 0).then_some(b"HTTP/1.1 200 OK\r\ncontent-length: 5\r\n\r\nfirst".as_slice())
    })
    .await;
    let config = simple_config(addr, "").replace("apps:", "gateway:\n  workers: 1\napps:");
    let gw = Gateway::start(&config);
    assert_eq!(get(gw.addr, "a", "/one", &[]).await.status, 200);
    // Idle long enough to be suspect: the GET fails on it and goes out again on a new one.
    tokio::time::sleep(std::time::Duration::from_millis(1200)).await;
    let again = get(gw.addr, "a", "/two", &[]).await;
    assert_eq!(again.status, 200);
    assert_eq!(again.text(), "first");
    assert_eq!(connections.load(std::sync::atomic::Ordering::SeqCst), 2);
    // A POST is never sent twice: the app may have acted on it.
    tokio::time::sleep(std::time::Duration::from_millis(1200)).await;
    let post = send(
        gw.addr,
        Request::post("/three")
            .header("host", "a")
            .body(Full::new(Bytes::from_static(b"x=1")))
            .unwrap(),
    )
    .await;
    assert_eq!(post.status, 502);
    assert_eq!(connections.load(std::sync::atomic::Ordering::SeqCst), 2);
}
