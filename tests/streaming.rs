//! Bodies stream through the gateway: a 1 GiB upload and a 1 GiB download pass while the
//! gateway's memory stays flat.

mod common;

use bytes::Bytes;
use common::{simple_config, upstream, Gateway};
use http::Request;
use http_body_util::{BodyExt, StreamBody};
use hyper::body::Frame;
use hyper_util::rt::TokioIo;
use std::convert::Infallible;

const GIB: u64 = 1 << 30;
/// Head-room over the idle footprint: a buffered gigabyte would blow far past it.
const MAX_GROWTH_KIB: u64 = 64 * 1024;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn one_gib_download_streams_with_flat_memory() {
    let up = upstream::start().await;
    let gw = Gateway::start(&simple_config(up.addr, ""));
    let before = gw.rss_kib();

    let stream = tokio::net::TcpStream::connect(gw.addr).await.unwrap();
    let (mut sender, conn) = hyper::client::conn::http1::handshake(TokioIo::new(stream))
        .await
        .unwrap();
    tokio::spawn(conn);
    let req = Request::get(format!("/download?bytes={GIB}"))
        .header("host", "a")
        .body(http_body_util::Empty::<Bytes>::new())
        .unwrap();
    let response = sender.send_request(req).await.unwrap();
    assert_eq!(response.status(), 200);
    let mut body = response.into_body();
    let mut received = 0u64;
    while let Some(frame) = body.frame().await {
        if let Ok(data) = frame.unwrap().into_data() {
            received += data.len() as u64;
        }
    }
    assert_eq!(received, GIB);
    let peak = gw.peak_rss_kib();
    eprintln!("idle RSS {before} KiB, peak RSS {peak} KiB");
    assert!(
        peak < before + MAX_GROWTH_KIB,
        "peak RSS {peak} KiB, idle {before} KiB: the body was buffered"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn one_gib_upload_streams_with_flat_memory() {
    let up = upstream::start().await;
    let gw = Gateway::start(&simple_config(up.addr, ""));
    let before = gw.rss_kib();

    let chunk = Bytes::from(vec![b'u'; 256 * 1024]);
    let count = GIB / chunk.len() as u64;
    let frames = futures_util::stream::iter(
        (0..count).map(move |_| Ok::<_, Infallible>(Frame::data(chunk.clone()))),
    );
    let stream = tokio::net::TcpStream::connect(gw.addr).await.unwrap();
    let (mut sender, conn) = hyper::client::conn::http1::handshake(TokioIo::new(stream))
        .await
        .unwrap();
    tokio::spawn(conn);
    let req = Request::post("/upload")
        .header("host", "a")
        .header("content-length", GIB)
        .body(StreamBody::new(frames))
        .unwrap();
    let response = sender.send_request(req).await.unwrap();
    assert_eq!(response.status(), 200);
    let text = response.into_body().collect().await.unwrap().to_bytes();
    assert_eq!(text, GIB.to_string());
    let peak = gw.peak_rss_kib();
    eprintln!("idle RSS {before} KiB, peak RSS {peak} KiB");
    assert!(
        peak < before + MAX_GROWTH_KIB,
        "peak RSS {peak} KiB, idle {before} KiB: the body was buffered"
    );
}
