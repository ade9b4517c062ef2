//! A small hyper upstream with the behaviours the proxy tests need.
//!
//! - any path: echoes `METHOD PATH?QUERY`, every request header and trailer, one per line
//! - `/slow?ms=N`: waits N ms before answering
//! - `/download?bytes=N`: streams N bytes
//! - `/upload`: reads the whole body and answers with its length
//! - `/chunked`: answers in three chunks of unknown total length
//! - `/trickle?parts=N&gap=MS`: N chunks, MS apart
//! - `/hop`: answers with hop-by-hop headers that must not reach the client
//! - `/ws`: WebSocket echo
//! - `/stale-101`: answers 101 although nobody asked to upgrade
//! - `/any-upgrade`: switches to any protocol asked for; `/h2c-instead`: to h2c, whatever asked

use bytes::Bytes;
use futures_util::{SinkExt, StreamExt};
use http::{header, Request, Response, StatusCode};
use http_body_util::{combinators::BoxBody, BodyExt, Full, StreamBody};
use hyper::body::{Frame, Incoming};
use hyper::service::service_fn;
use hyper_util::rt::TokioIo;
use std::convert::Infallible;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::time::Duration;

type Body = BoxBody<Bytes, Infallible>;

#[derive(Clone, Default)]
pub struct Seen(pub Arc<Mutex<Vec<String>>>);

impl Seen {
    pub fn paths(&self) -> Vec<String> {
        self.0.lock().unwrap().clone()
    }
}

pub struct Upstream {
    pub addr: SocketAddr,
    pub seen: Seen,
    /// Connections accepted so far (to check keep-alive reuse).
    pub connections: Arc<std::sync::atomic::AtomicUsize>,
}

/// Starts the upstream on the current tokio runtime.
pub async fn start() -> Upstream {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let seen = Seen::default();
    let connections = Arc::new(std::sync::atomic::AtomicUsize::new(0));
    let (seen2, connections2) = (seen.clone(), connections.clone());
    tokio::spawn(async move {
        loop {
            let Ok((stream, _)) = listener.accept().await else {
                return;
            };
            connections2.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
            let seen = seen2.clone();
            tokio::spawn(async move {
                let service = service_fn(move |req| {
                    let seen = seen.clone();
                    async move { Ok::<_, Infallible>(answer(seen, req).await) }
                });
                let _ = hyper::server::conn::http1::Builder::new()
                    .serve_connection(TokioIo::new(stream), service)
                    .with_upgrades()
                    .await;
            });
        }
    });
    Upstream {
        addr,
        seen,
        connections,
    }
}

fn full(text: impl Into<Bytes>) -> Body {
    Full::new(text.into()).boxed()
}

fn query_number(req: &Request<Incoming>, key: &str) -> u64 {
    req.uri()
        .query()
        .and_then(|q| form_urlencoded::parse(q.as_bytes()).find(|(k, _)| k == key))
        .and_then(|(_, v)| v.parse().ok())
        .unwrap_or(0)
}

async fn answer(seen: Seen, mut req: Request<Incoming>) -> Response<Body> {
    seen.0.lock().unwrap().push(req.uri().path().to_string());
    match req.uri().path() {
        "/slow" => {
            tokio::time::sleep(Duration::from_millis(query_number(&req, "ms"))).await;
            Response::new(full("slow done"))
        }
        "/download" => {
            let total = query_number(&req, "bytes");
            let chunk = Bytes::from(vec![b'x'; 64 * 1024]);
            let stream = futures_util::stream::unfold(total, move |left| {
                let chunk = chunk.clone();
                async move {
                    if left == 0 {
                        return None;
                    }
                    let n = left.min(chunk.len() as u64);
                    Some((
                        Ok::<_, Infallible>(Frame::data(chunk.slice(..n as usize))),
                        left - n,
                    ))
                }
            });
            Response::builder()
                .header(header::CONTENT_LENGTH, total)
                .body(BodyExt::boxed(StreamBody::new(stream)))
                .unwrap()
        }
        "/upload" => {
            let mut body = req.into_body();
            let mut total = 0u64;
            while let Some(frame) = body.frame().await {
                if let Ok(data) = frame.unwrap().into_data() {
                    total += data.len() as u64;
                }
            }
            Response::new(full(total.to_string()))
        }
        "/chunked" => {
            let parts = ["first;", "second;", "third"];
            let stream = futures_util::stream::iter(
                parts.map(|p| Ok::<_, Infallible>(Frame::data(Bytes::from(p)))),
            );
            Response::new(BodyExt::boxed(StreamBody::new(stream)))
        }
        // `gap` ms between each of `parts` chunks.
        "/trickle" => {
            let gap = Duration::from_millis(query_number(&req, "gap"));
            let parts = query_number(&req, "parts");
            let stream = futures_util::stream::unfold(0, move |sent| async move {
                if sent == parts {
                    return None;
                }
                if sent > 0 {
                    tokio::time::sleep(gap).await;
                }
                Some((
                    Ok::<_, Infallible>(Frame::data(Bytes::from(format!("part{sent};")))),
                    sent + 1,
                ))
            });
            Response::new(BodyExt::boxed(StreamBody::new(stream)))
        }
        "/hop" => Response::builder()
            .header("connection", "x-hop-secret")
            .header("x-hop-secret", "must-not-reach-client")
            .header("keep-alive", "timeout=99")
            .header("proxy-connection", "keep-alive")
            .header("x-kept", "yes")
            .body(full("hop"))
            .unwrap(),
        "/ws" => websocket(&mut req),
        // An app that switches to whatever protocol it is asked for (h2c included, as Go,
        // hyper and Tomcat servers can): what comes after the switch is no longer HTTP/1.1
        // requests the gateway checks.
        "/any-upgrade" => match req.headers().get(header::UPGRADE).cloned() {
            Some(protocol) => Response::builder()
                .status(StatusCode::SWITCHING_PROTOCOLS)
                .header("connection", "upgrade")
                .header("upgrade", protocol)
                .body(full(""))
                .unwrap(),
            None => Response::new(full("no upgrade asked")),
        },
        // Asked for WebSocket, switches to HTTP/2.
        "/h2c-instead" => Response::builder()
            .status(StatusCode::SWITCHING_PROTOCOLS)
            .header("connection", "upgrade")
            .header("upgrade", "h2c")
            .body(full(""))
            .unwrap(),
        "/stale-101" => Response::builder()
            .status(StatusCode::SWITCHING_PROTOCOLS)
            .header("connection", "upgrade")
            .header("upgrade", "websocket")
            .body(full(""))
            .unwrap(),
        _ => {
            let (parts, body) = req.into_parts();
            let (body, trailers) = body
                .collect()
                .await
                .map(|b| (b.trailers().cloned(), b.to_bytes()))
                .map(|(t, b)| (b, t))
                .unwrap_or_default();
            let mut text = format!(
                "{} {}\n",
                parts.method,
                parts.uri.path_and_query().map_or("/", |p| p.as_str())
            );
            for (name, value) in &parts.headers {
                text.push_str(&format!(
                    "{}: {}\n",
                    name,
                    value.to_str().unwrap_or("<binary>")
                ));
            }
            for (name, value) in trailers.iter().flatten() {
                text.push_str(&format!(
                    "trailer {}: {}\n",
                    name,
                    value.to_str().unwrap_or("<binary>")
                ));
            }
            text.push_str(&format!("body-bytes: {}\n", body.len()));
            if !body.is_empty() {
                text.push_str(&format!("body: {}\n", String::from_utf8_lossy(&body)));
            }
            Response::new(full(text))
        }
    }
}

fn websocket(req: &mut Request<Incoming>) -> Response<Body> {
    let Some(key) = req.headers().get("sec-websocket-key").cloned() else {
        return Response::builder()
            .status(400)
            .body(full("not a websocket request"))
            .unwrap();
    };
    let accept = tokio_tungstenite::tungstenite::handshake::derive_accept_key(key.as_bytes());
    let on_upgrade = hyper::upgrade::on(req);
    tokio::spawn(async move {
        let upgraded = on_upgrade.await.unwrap();
        let mut ws = tokio_tungstenite::WebSocketStream::from_raw_socket(
            TokioIo::new(upgraded),
            tokio_tungstenite::tungstenite::protocol::Role::Server,
            None,
        )
        .await;
        while let Some(Ok(message)) = ws.next().await {
            if (message.is_text() || message.is_binary()) && ws.send(message).await.is_err() {
                break;
            }
        }
    });
    Response::builder()
        .status(StatusCode::SWITCHING_PROTOCOLS)
        .header("connection", "upgrade")
        .header("upgrade", "websocket")
        .header("sec-websocket-accept", accept)
        .body(full(""))
        .unwrap()
}
