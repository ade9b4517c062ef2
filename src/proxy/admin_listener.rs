//! The admin listener: `/healthz` (the process answers), `/readyz` (config loaded, listeners
//! bound, and the state stores taking writes) and `/metrics` (Prometheus text).

use crate::proxy::state::Shared;
use bytes::Bytes;
use http::{header, Method, Request, Response, StatusCode};
use http_body_util::Full;
use hyper::body::Incoming;
use hyper::service::service_fn;
use hyper_util::rt::{TokioIo, TokioTimer};
use std::convert::Infallible;
use std::sync::atomic::Ordering;
use std::sync::Arc;
use std::time::Duration;

pub async fn serve(listener: tokio::net::TcpListener, shared: Arc<Shared>) {
    loop {
        let (stream, _) = match listener.accept().await {
            Ok(pair) => pair,
            Err(error) => {
                tracing::warn!(%error, "admin accept failed");
                tokio::time::sleep(Duration::from_millis(50)).await;
                continue;
            }
        };
        let shared = shared.clone();
        tokio::spawn(async move {
            let service = service_fn(move |req| {
                let shared = shared.clone();
                async move { Ok::<_, Infallible>(answer(&shared, req).await) }
            });
            let result = hyper::server::conn::http1::Builder::new()
                .timer(TokioTimer::new())
                .header_read_timeout(Duration::from_secs(10))
                .serve_connection(TokioIo::new(stream), service)
                .await;
            if let Err(error) = result {
                tracing::debug!(%error, "admin connection ended with an error");
            }
        });
    }
}

async fn answer(shared: &Shared, req: Request<Incoming>) -> Response<Full<Bytes>> {
    if req.method() == Method::POST && req.uri().path() == crate::admin::remote::PATH {
        return admin_operation(shared, req).await;
    }
    if req.method() != Method::GET && req.method() != Method::HEAD {
        return text(StatusCode::METHOD_NOT_ALLOWED, "only GET and HEAD\n");
    }
    match req.uri().path() {
        "/healthz" => text(StatusCode::OK, "ok\n"),
        "/readyz" => readiness(shared).await,
        "/metrics" => {
            if let Some(mfa) = &shared.mfa {
                use crate::store::EphemeralStore;
                let counted = tokio::time::timeout(
                    Duration::from_secs(1),
                    mfa.ephemeral.census(crate::mfa::unix_now()),
                )
                .await;
                if let Ok(Ok(census)) = counted {
                    mfa.metrics.set_census(census);
                }
            }
            let mut response = text(StatusCode::OK, &shared.metrics.render());
            response.headers_mut().insert(
                header::CONTENT_TYPE,
                header::HeaderValue::from_static(
                    "application/openmetrics-text; version=1.0.0; charset=utf-8",
                ),
            );
            response
        }
        _ => text(
            StatusCode::NOT_FOUND,
            "not found: try /healthz, /readyz or /metrics\n",
        ),
    }
}

/// A signed admin command's operation on this gateway's in-memory sessions and locks.
async fn admin_operation(shared: &Shared, req: Request<Incoming>) -> Response<Full<Bytes>> {
    let Some(mfa) = &shared.mfa else {
        return text(StatusCode::NOT_FOUND, "no app uses MFA here\n");
    };
    let (parts, body) = req.into_parts();
    let Ok(body) =
        crate::wire::collect::collect_limited(body, crate::admin::remote::MAX_BODY).await
    else {
        return text(StatusCode::PAYLOAD_TOO_LARGE, "too large\n");
    };
    let now = crate::mfa::unix_now();
    let (status, answer) = crate::admin::remote::serve(mfa, &parts.headers, &body, now).await;
    let mut response = text(status, &answer);
    if status == StatusCode::OK {
        response.headers_mut().insert(
            header::CONTENT_TYPE,
            header::HeaderValue::from_static("application/json"),
        );
    }
    response
}

/// Ready when the listeners are bound (and not shutting down), the key file was compared with
/// the stores, and every state store takes a write; the body names each store and, when it
/// does not, why. A store that answers reads but refuses writes (a full disk, a read-only
/// replica) fails every enrollment and code check, so it is not ready either.
///
/// Bounded for a load balancer's health check (timeout typically 2–5 s): both stores are
/// asked at once, each by one small probe write that may take `store::PROBE_LIMIT`.
async fn readiness(shared: &Shared) -> Response<Full<Bytes>> {
    use crate::ops::metrics::StoreLabels;
    use crate::store::Outcome;
    if !shared.ready.load(Ordering::SeqCst) {
        return text(StatusCode::SERVICE_UNAVAILABLE, "not ready\n");
    }
    let Some(mfa) = &shared.mfa else {
        return text(StatusCode::OK, "ready\n");
    };
    let (ephemeral, durable) = tokio::join!(mfa.ephemeral.writable(), mfa.durable.writable());
    let mut body = String::new();
    for (store, kind, outcome) in [
        ("ephemeral", mfa.ephemeral.kind(), ephemeral),
        ("durable", mfa.durable.kind(), durable),
    ] {
        shared
            .metrics
            .store_up
            .get_or_create(&StoreLabels { store, kind })
            .set(i64::from(outcome == Outcome::Written));
        let state = match outcome {
            Outcome::Written => "ok".to_string(),
            Outcome::Failed(why) if why.starts_with("unreachable") => why.to_string(),
            Outcome::Failed(why) => format!("cannot write: {why}"),
        };
        body.push_str(&format!("{store} store ({kind}): {state}\n"));
    }
    let keys_checked = mfa.keys_checked();
    if !keys_checked {
        body.push_str("key file: not yet compared with the shared stores\n");
    }
    if keys_checked && ephemeral == Outcome::Written && durable == Outcome::Written {
        text(StatusCode::OK, &format!("ready\n{body}"))
    } else {
        text(
            StatusCode::SERVICE_UNAVAILABLE,
            &format!("not ready\n{body}"),
        )
    }
}

fn text(status: StatusCode, body: &str) -> Response<Full<Bytes>> {
    let mut response = Response::new(Full::new(Bytes::from(body.to_string())));
    *response.status_mut() = status;
    response.headers_mut().insert(
        header::CONTENT_TYPE,
        header::HeaderValue::from_static("text/plain; charset=utf-8"),
    );
    response
}
