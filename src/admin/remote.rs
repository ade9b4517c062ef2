//! Admin commands reaching a running gateway that keeps its sessions and locks in its own
//! memory (no Redis): a signed request to its admin listener, `POST /admin/v1/state`, carrying
//! one [`StateOp`]. The signature is an HMAC under the key file's signing key over the time and
//! the body, so only someone who can read the key file (who could change factors anyway) can
//! send one; a request older than a minute, or one seen before, is refused.

use super::state::{apply, StateError, StateOp, StateReply};
use crate::keys::KeyRing;
use base64::engine::general_purpose::URL_SAFE_NO_PAD as B64;
use base64::Engine;
use bytes::Bytes;
use http::{HeaderMap, Request, StatusCode};
use http_body_util::{BodyExt, Full};
use std::collections::HashMap;
use std::net::SocketAddr;
use std::sync::Mutex;
use std::time::Duration;

pub const PATH: &str = "/admin/v1/state";
const TIME_HEADER: &str = "x-mfa-admin-time";
const SIGNATURE_HEADER: &str = "x-mfa-admin-signature";
/// Random per request: two identical operations in the same second are still two requests.
const NONCE_HEADER: &str = "x-mfa-admin-nonce";
const LABEL: &[u8] = b"admin-api-v1";
/// How far the sender's clock may be from ours, and how long a signature is remembered.
const WINDOW_SECS: i64 = 60;
pub const MAX_BODY: u64 = 64 * 1024;

fn signed_text(time: i64, nonce: &str, body: &[u8]) -> Vec<u8> {
    let mut text = format!("{time}\n{nonce}\n").into_bytes();
    text.extend_from_slice(body);
    text
}

/// Signatures already used, with when they were sent.
static SEEN: Mutex<Option<HashMap<[u8; 32], i64>>> = Mutex::new(None);

fn first_use(signature: [u8; 32], time: i64, now: i64) -> bool {
    let Ok(mut guard) = SEEN.lock() else {
        return false;
    };
    let seen = guard.get_or_insert_with(HashMap::new);
    seen.retain(|_, sent| now - *sent <= 2 * WINDOW_SECS);
    seen.insert(signature, time).is_none()
}

/// The gateway's side: checks the signature and runs the operation on its own store.
pub async fn serve(
    mfa: &crate::mfa::Mfa,
    headers: &HeaderMap,
    body: &[u8],
    now: i64,
) -> (StatusCode, String) {
    let time = headers
        .get(TIME_HEADER)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse::<i64>().ok());
    let signature = headers
        .get(SIGNATURE_HEADER)
        .and_then(|v| B64.decode(v.as_bytes()).ok());
    let nonce = headers
        .get(NONCE_HEADER)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("");
    let (Some(time), Some(signature)) = (time, signature) else {
        return (StatusCode::UNAUTHORIZED, "unsigned request\n".into());
    };
    let keys = mfa.keys();
    if !keys.verify_signature(LABEL, &signed_text(time, nonce, body), &signature) {
        return (StatusCode::UNAUTHORIZED, "bad signature\n".into());
    }
    if (now - time).abs() > WINDOW_SECS {
        return (
            StatusCode::UNAUTHORIZED,
            "request too old (check the clocks)\n".into(),
        );
    }
    let Ok(fixed) = <[u8; 32]>::try_from(signature.as_slice()) else {
        return (StatusCode::UNAUTHORIZED, "bad signature\n".into());
    };
    if !first_use(fixed, time, now) {
        return (StatusCode::UNAUTHORIZED, "request replayed\n".into());
    }
    let op: StateOp = match serde_json::from_slice(body) {
        Ok(op) => op,
        Err(e) => {
            return (
                StatusCode::BAD_REQUEST,
                format!("not an admin operation: {e}\n"),
            )
        }
    };
    match apply(&mfa.ephemeral, op, now).await {
        Ok(reply) => match serde_json::to_string(&reply) {
            Ok(json) => (StatusCode::OK, json),
            Err(_) => (StatusCode::INTERNAL_SERVER_ERROR, "cannot encode\n".into()),
        },
        Err(StateError::BadId(id)) => (
            StatusCode::BAD_REQUEST,
            format!("not a session id: {id:?}\n"),
        ),
        Err(StateError::Store(e)) => {
            tracing::error!(error = %crate::ops::error_chain(&e), "admin operation failed");
            (
                StatusCode::SERVICE_UNAVAILABLE,
                "state store unavailable\n".into(),
            )
        }
    }
}

#[derive(Debug, thiserror::Error)]
pub enum RemoteError {
    #[error("cannot reach the gateway's admin listener at {0}: is the gateway running?")]
    Connect(SocketAddr, #[source] std::io::Error),
    #[error("the gateway's admin listener at {0} did not answer in time")]
    Timeout(SocketAddr),
    #[error("talking to the gateway at {0} failed")]
    Http(SocketAddr, #[source] hyper::Error),
    #[error("the gateway refused the operation ({0}): {1}")]
    Refused(StatusCode, String),
    #[error("the gateway's answer was not understood")]
    Answer,
}

/// The admin command's side.
pub struct GatewayClient {
    pub address: SocketAddr,
    pub keys: std::sync::Arc<KeyRing>,
}

impl GatewayClient {
    /// The admin listener as configured; an unspecified address (0.0.0.0, ::) is reached on
    /// loopback.
    pub fn new(configured: SocketAddr, keys: std::sync::Arc<KeyRing>) -> GatewayClient {
        let mut address = configured;
        if address.ip().is_unspecified() {
            address.set_ip(match address {
                SocketAddr::V4(_) => std::net::Ipv4Addr::LOCALHOST.into(),
                SocketAddr::V6(_) => std::net::Ipv6Addr::LOCALHOST.into(),
            });
        }
        GatewayClient { address, keys }
    }

    pub async fn send(&self, op: &StateOp, now: i64) -> Result<StateReply, RemoteError> {
        tokio::time::timeout(Duration::from_secs(10), self.exchange(op, now))
            .await
            .map_err(|_| RemoteError::Timeout(self.address))?
    }

    async fn exchange(&self, op: &StateOp, now: i64) -> Result<StateReply, RemoteError> {
        let addr = self.address;
        let body = serde_json::to_vec(op).map_err(|_| RemoteError::Answer)?;
        let nonce = crate::mfa::random_id();
        let signature = B64.encode(self.keys.sign(LABEL, &signed_text(now, &nonce, &body)));
        let stream = tokio::net::TcpStream::connect(addr)
            .await
            .map_err(|e| RemoteError::Connect(addr, e))?;
        let (mut sender, connection) =
            hyper::client::conn::http1::handshake(hyper_util::rt::TokioIo::new(stream))
                .await
                .map_err(|e| RemoteError::Http(addr, e))?;
        tokio::spawn(connection);
        let request = Request::post(PATH)
            .header(http::header::HOST, addr.to_string())
            .header(http::header::CONTENT_TYPE, "application/json")
            .header(TIME_HEADER, now.to_string())
            .header(SIGNATURE_HEADER, signature)
            .header(NONCE_HEADER, nonce)
            .body(Full::new(Bytes::from(body)))
            .map_err(|_| RemoteError::Answer)?;
        let response = sender
            .send_request(request)
            .await
            .map_err(|e| RemoteError::Http(addr, e))?;
        let status = response.status();
        let answer = response
            .into_body()
            .collect()
            .await
            .map_err(|e| RemoteError::Http(addr, e))?
            .to_bytes();
        if status != StatusCode::OK {
            let text = String::from_utf8_lossy(&answer).trim().to_string();
            return Err(RemoteError::Refused(status, text));
        }
        serde_json::from_slice(&answer).map_err(|_| RemoteError::Answer)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_signature_is_good_once() {
        let sig = [42u8; 32];
        assert!(first_use(sig, 1000, 1000));
        assert!(!first_use(sig, 1000, 1010));
        assert!(first_use([43u8; 32], 1000, 1010));
    }
}
