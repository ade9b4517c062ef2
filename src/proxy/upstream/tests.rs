//! The pool against a real hyper upstream on a loopback port: which connections are reused,
//! kept, closed and retried.

use super::*;
use crate::config::{HostHeader, UpstreamTls};
use bytes::Bytes;
use http_body_util::{BodyExt, Either, Full};
use std::net::SocketAddr;
use std::sync::atomic::{AtomicUsize, Ordering};

struct TestUpstream {
    addr: SocketAddr,
    connections: Arc<AtomicUsize>,
}

/// Answers `/` with "ok", `/big` with 1 MiB, `/empty` with 204, `/close` with
/// `Connection: close`.
async fn start_upstream() -> TestUpstream {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let connections = Arc::new(AtomicUsize::new(0));
    let counted = connections.clone();
    tokio::spawn(async move {
        loop {
            let (stream, _) = listener.accept().await.unwrap();
            counted.fetch_add(1, Ordering::SeqCst);
            tokio::spawn(async move {
                let service = hyper::service::service_fn(|req: Request<Incoming>| async move {
                    let mut response = Response::new(Full::new(Bytes::from_static(b"ok")));
                    match req.uri().path() {
                        "/big" => {
                            *response.body_mut() = Full::new(Bytes::from(vec![b'x'; 1 << 20]))
                        }
                        "/empty" => {
                            *response.status_mut() = StatusCode::NO_CONTENT;
                            *response.body_mut() = Full::new(Bytes::new());
                        }
                        "/close" => {
                            response
                                .headers_mut()
                                .insert(http::header::CONNECTION, "close".parse().unwrap());
                        }
                        _ => {}
                    }
                    Ok::<_, std::convert::Infallible>(response)
                });
                let _ = hyper::server::conn::http1::Builder::new()
                    .serve_connection(hyper_util::rt::TokioIo::new(stream), service)
                    .await;
            });
        }
    });
    TestUpstream { addr, connections }
}

fn pool_for(addr: SocketAddr, max_idle: usize, idle_timeout: Duration) -> Arc<UpstreamPool> {
    let url: http::Uri = format!("http://{addr}").parse().unwrap();
    let upstream = Upstream {
        authority: url.authority().unwrap().clone(),
        url,
        scheme_is_https: false,
        tls: UpstreamTls::SystemRoots,
        host_header: HostHeader::Pass,
        connect_timeout: Duration::from_secs(2),
        response_header_timeout: Duration::from_secs(5),
        idle_timeout,
        max_idle_connections: max_idle,
        add_headers: Vec::new(),
    };
    UpstreamPool::new(&upstream).unwrap()
}

fn get(addr: SocketAddr, path: &str) -> Request<ForwardBody> {
    Request::builder()
        .uri(format!("http://{addr}{path}"))
        .header(http::header::HOST, "app")
        .body(Either::Right(Full::new(Bytes::new())))
        .unwrap()
}

async fn fetch(pool: &Arc<UpstreamPool>, addr: SocketAddr, path: &str) -> (StatusCode, Bytes) {
    let response = pool.send(get(addr, path)).await.unwrap();
    let status = response.status();
    (
        status,
        response.into_body().collect().await.unwrap().to_bytes(),
    )
}

#[tokio::test]
async fn sequential_requests_share_one_connection() {
    let up = start_upstream().await;
    let pool = pool_for(up.addr, 8, Duration::from_secs(30));
    for _ in 0..10 {
        assert_eq!(fetch(&pool, up.addr, "/").await.1, "ok");
        assert_eq!(fetch(&pool, up.addr, "/big").await.1.len(), 1 << 20);
        // Empty bodies are never polled by hyper's server; dropping them gives the connection back.
        let response = pool.send(get(up.addr, "/empty")).await.unwrap();
        assert_eq!(response.status(), StatusCode::NO_CONTENT);
        drop(response);
    }
    assert_eq!(up.connections.load(Ordering::SeqCst), 1);
    assert_eq!(pool.idle_count(), 1);
}

#[tokio::test]
async fn a_burst_leaves_at_most_max_idle_connections() {
    let up = start_upstream().await;
    let pool = pool_for(up.addr, 3, Duration::from_secs(30));
    // Hold 10 responses unread so that 10 connections are open at once.
    let mut held = Vec::new();
    for _ in 0..10 {
        held.push(pool.send(get(up.addr, "/")).await.unwrap());
    }
    assert_eq!(up.connections.load(Ordering::SeqCst), 10);
    for response in held {
        assert_eq!(
            response.into_body().collect().await.unwrap().to_bytes(),
            "ok"
        );
    }
    assert_eq!(pool.idle_count(), 3);
}

#[tokio::test]
async fn a_body_given_up_half_way_closes_its_connection() {
    let up = start_upstream().await;
    let pool = pool_for(up.addr, 8, Duration::from_secs(30));
    let mut response = pool.send(get(up.addr, "/big")).await.unwrap();
    let first = response.body_mut().frame().await.unwrap().unwrap();
    assert!(first.is_data());
    drop(response);
    assert_eq!(pool.idle_count(), 0);
    assert_eq!(fetch(&pool, up.addr, "/").await.1, "ok");
    assert_eq!(up.connections.load(Ordering::SeqCst), 2);
}

#[tokio::test]
async fn a_connection_the_app_closed_is_not_reused() {
    let up = start_upstream().await;
    let pool = pool_for(up.addr, 8, Duration::from_secs(30));
    assert_eq!(fetch(&pool, up.addr, "/close").await.1, "ok");
    assert_eq!(fetch(&pool, up.addr, "/").await.1, "ok");
    assert_eq!(fetch(&pool, up.addr, "/").await.1, "ok");
    assert_eq!(up.connections.load(Ordering::SeqCst), 2);
}

#[tokio::test]
async fn idle_connections_expire_without_traffic() {
    let up = start_upstream().await;
    let pool = pool_for(up.addr, 8, Duration::from_millis(300));
    assert_eq!(fetch(&pool, up.addr, "/").await.1, "ok");
    assert_eq!(pool.idle_count(), 1);
    tokio::time::sleep(Duration::from_millis(1200)).await;
    assert_eq!(pool.idle_count(), 0, "the reaper closes what nobody took");
    assert_eq!(fetch(&pool, up.addr, "/").await.1, "ok");
    assert_eq!(up.connections.load(Ordering::SeqCst), 2);
}

#[tokio::test]
async fn refused_and_timed_out_connects_are_told_apart() {
    let closed = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = closed.local_addr().unwrap();
    drop(closed);
    let pool = pool_for(addr, 8, Duration::from_secs(30));
    let error = pool.send(get(addr, "/")).await.unwrap_err();
    assert!(matches!(error, UpstreamError::Connect(_)), "{error:?}");
    assert!(!error.is_timeout());
    assert!(UpstreamError::ConnectTimeout.is_timeout());
}
