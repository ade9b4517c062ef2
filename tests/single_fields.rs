//! A field read as one value that arrives twice is refused (400, the field named) before any
//! app, path or gateway page reads it, in HTTP/1.1 and HTTP/2 alike: one case per row of
//! `proxy::fields::SINGLE_FIELDS`, each failure naming its row. Where hyper answers first
//! (`Content-Length`), the test pins what it does, so a hyper upgrade that changes it shows.

mod common;

use bytes::Bytes;
use common::apps::start_cookie_app;
use common::{h2c, raw_request, simple_config, temp_dir, upstream, Gateway};
use http_body_util::{BodyExt, Empty};
use mfa_gateway::proxy::fields::SINGLE_FIELDS;
use std::net::SocketAddr;

/// A value a client could send for each row, and a second one. A new row fails here until it
/// has its pair, so no row goes untested.
fn values(field: &str) -> (&'static str, &'static str) {
    match field {
        "host" => ("a", "b"),
        // Empty bodies: an HTTP/2 request that ends with its headers may only say 0.
        "content-length" => ("0", "0"),
        "content-type" => ("text/plain", "application/json"),
        "authorization" => ("Bearer one", "Bearer two"),
        "origin" => ("http://a", "http://b"),
        "referer" => ("http://a/", "http://b/"),
        "sec-fetch-site" => ("same-origin", "cross-site"),
        other => panic!("row {other} has no test values here"),
    }
}

struct Seen {
    status: u16,
    text: String,
}

/// `GET path` over HTTP/1.1, the lines written exactly as given (`Host: a` unless a line is a
/// Host), asking for JSON when `json`.
fn h1(addr: SocketAddr, path: &str, lines: &[(&str, &str)], json: bool) -> Seen {
    let mut request = format!("GET {path} HTTP/1.1\r\n");
    if !lines.iter().any(|(name, _)| *name == "host") {
        request.push_str("Host: a\r\n");
    }
    for (name, value) in lines {
        request.push_str(&format!("{name}: {value}\r\n"));
    }
    if json {
        request.push_str("Accept: application/json\r\n");
    }
    request.push_str("Connection: close\r\n\r\n");
    let text = raw_request(addr, request.as_bytes()).unwrap();
    let status = text
        .get(9..12)
        .and_then(|s| s.parse().ok())
        .unwrap_or_else(|| panic!("no status line in {text:?}"));
    Seen { status, text }
}

/// `GET http://a{path}` over HTTP/2 with prior knowledge (`:authority` is `a`), each line a
/// field of its own; an error when the gateway resets the stream instead of answering.
async fn h2(
    addr: SocketAddr,
    path: &str,
    lines: &[(&str, &str)],
    json: bool,
) -> Result<Seen, hyper::Error> {
    let mut sender = h2c(addr).await;
    let mut builder = http::Request::get(format!("http://a{path}"));
    for (name, value) in lines {
        builder = builder.header(*name, *value);
    }
    if json {
        builder = builder.header("accept", "application/json");
    }
    let response = sender
        .send_request(builder.body(Empty::<Bytes>::new()).unwrap())
        .await?;
    assert_eq!(response.version(), http::Version::HTTP_2);
    let status = response.status().as_u16();
    let body = response.into_body().collect().await?.to_bytes();
    Ok(Seen {
        status,
        text: String::from_utf8_lossy(&body).into_owned(),
    })
}

fn assert_refused(seen: &Seen, shown: &str, case: &str) {
    assert_eq!(seen.status, 400, "{case}: {}", seen.text);
    assert!(
        seen.text.contains(shown),
        "{case} names {shown}: {}",
        seen.text
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_single_field_twice_is_refused_over_http1_and_once_passes() {
    let up = upstream::start().await;
    let gw = Gateway::start(&simple_config(up.addr, ""));
    for field in &SINGLE_FIELDS {
        let name = field.name.as_str();
        let (one, two) = values(name);
        let once = format!("/once/h1/{name}");
        let seen = h1(gw.addr, &once, &[(name, one)], false);
        assert_eq!(seen.status, 200, "{name} once: {}", seen.text);
        assert!(
            seen.text.contains(&format!("{name}: {one}\n")),
            "{name} once reaches the app: {}",
            seen.text
        );

        let twice = format!("/twice/h1/{name}");
        let seen = h1(gw.addr, &twice, &[(name, one), (name, two)], name == "host");
        if name == "content-length" {
            // hyper folds equal lengths into one line (RFC 9112 §6.3 allows it): the app is
            // sent one, and no second reading exists to refuse.
            assert_eq!(seen.status, 200, "{name} twice, equal: {}", seen.text);
            assert_eq!(
                seen.text.matches("content-length: 0\n").count(),
                1,
                "{}",
                seen.text
            );
            // Unequal lengths hyper refuses itself, before the gateway sees the request.
            let unequal = format!("/unequal/h1/{name}");
            let seen = h1(gw.addr, &unequal, &[(name, "0"), (name, "1")], false);
            assert_eq!(seen.status, 400, "{name} unequal: {}", seen.text);
            assert!(
                !up.seen.paths().contains(&unequal),
                "{name} unequal reached the app"
            );
            continue;
        }
        assert_refused(&seen, field.shown, &format!("{name} twice over HTTP/1.1"));
        if name == "host" {
            assert!(
                seen.text.contains("\"error\":\"ambiguous_request\""),
                "{}",
                seen.text
            );
        }
        assert!(
            seen.text.to_ascii_lowercase().contains("connection: close"),
            "{name}: {}",
            seen.text
        );
        assert!(
            !up.seen.paths().contains(&twice),
            "{name} twice reached the app"
        );
    }
    // One line with a comma is one value, however odd: it passes as sent.
    let seen = h1(
        gw.addr,
        "/comma",
        &[("content-type", "text/plain, text/html")],
        false,
    );
    assert_eq!(seen.status, 200, "{}", seen.text);
    assert!(
        seen.text.contains("content-type: text/plain, text/html\n"),
        "{}",
        seen.text
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_single_field_twice_is_refused_over_http2_and_once_passes() {
    let up = upstream::start().await;
    let gw = Gateway::start(&simple_config(up.addr, ""));
    for field in &SINGLE_FIELDS {
        let name = field.name.as_str();
        let (one, two) = values(name);
        // HTTP/2 names the host in `:authority` (here `a`); a Host line repeats it.
        let one = if name == "host" { "a" } else { one };
        let once = format!("/once/h2/{name}");
        let seen = h2(gw.addr, &once, &[(name, one)], false)
            .await
            .unwrap_or_else(|e| panic!("{name} once: {e}"));
        assert_eq!(seen.status, 200, "{name} once: {}", seen.text);
        assert!(
            up.seen.paths().contains(&once),
            "{name} once reaches the app"
        );

        let twice = format!("/twice/h2/{name}");
        let second = if name == "host" { "a" } else { two };
        let seen = h2(gw.addr, &twice, &[(name, one), (name, second)], true)
            .await
            .unwrap_or_else(|e| panic!("{name} twice: {e}"));
        assert_refused(&seen, field.shown, &format!("{name} twice over HTTP/2"));
        assert!(
            seen.text.contains("\"error\":\"ambiguous_request\""),
            "{}",
            seen.text
        );
        assert!(
            !up.seen.paths().contains(&twice),
            "{name} twice reached the app"
        );
    }
    // RFC 9113 §8.3.1: a Host naming another host than `:authority`.
    let seen = h2(gw.addr, "/other-host", &[("host", "b")], false)
        .await
        .unwrap();
    assert_refused(&seen, "Host", "Host beside another :authority");
    assert!(!up.seen.paths().contains(&"/other-host".to_string()));
    // Unequal lengths the h2 layer refuses itself: the stream is reset, nothing is answered.
    let reset = h2(
        gw.addr,
        "/unequal/h2",
        &[("content-length", "0"), ("content-length", "1")],
        false,
    )
    .await;
    assert!(
        reset.is_err(),
        "unequal lengths answered: {}",
        reset.map(|s| s.status).unwrap_or(0)
    );
    assert!(!up.seen.paths().contains(&"/unequal/h2".to_string()));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn repeats_are_refused_on_the_gateways_pages_and_an_mfa_app_before_either_reads_them() {
    let app = start_cookie_app().await;
    let gw = Gateway::start_example(
        "config/examples/cookie-session.yaml",
        app.addr,
        temp_dir("single-fields"),
    );
    for field in &SINGLE_FIELDS {
        let name = field.name.as_str();
        let (one, two) = values(name);
        let two = if name == "content-length" { one } else { two };
        for path in ["/.mfa/verify", "/index.php"] {
            let seen = h2(gw.addr, path, &[(name, one), (name, two)], false)
                .await
                .unwrap_or_else(|e| panic!("{name} on {path}: {e}"));
            assert_refused(
                &seen,
                field.shown,
                &format!("{name} twice on {path} over HTTP/2"),
            );
            if name == "content-length" {
                // Folded by hyper over HTTP/1.1 (see above): nothing left to refuse there.
                continue;
            }
            let seen = h1(gw.addr, path, &[(name, one), (name, two)], false);
            assert_refused(
                &seen,
                field.shown,
                &format!("{name} twice on {path} over HTTP/1.1"),
            );
        }
    }
    assert!(app.state.visits().is_empty(), "{:?}", app.state.visits());
    // The gateway's page itself is there for a request that says each once.
    let seen = h1(
        gw.addr,
        "/.mfa/verify",
        &[("content-type", "text/plain")],
        false,
    );
    assert_ne!(seen.status, 400, "{}", seen.text);
}
