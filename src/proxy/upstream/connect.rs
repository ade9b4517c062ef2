//! Opening one connection to an upstream: TCP (name resolved per connection, so a changed DNS
//! record is picked up), TLS for https, then the HTTP/1.1 handshake. The whole of it is bounded
//! by the app's `connect_timeout`.

use super::{tls, ForwardBody, UpstreamError, UpstreamSetupError};
use crate::config::Upstream;
use hyper::client::conn::http1::{Builder, SendRequest};
use hyper_util::rt::TokioIo;
use rustls_pki_types::ServerName;
use std::sync::Arc;
use std::time::Duration;
use tokio::io::{AsyncRead, AsyncWrite};
use tokio::net::TcpStream;
use tokio::sync::oneshot;
use tokio_rustls::TlsConnector;

/// A fixed read buffer per upstream connection instead of one that grows with bursts: keeps
/// pooled connections' memory flat (a large response head may still grow it, up to hyper's
/// limit).
const READ_BUFFER: usize = 8 * 1024;

pub(super) struct Connector {
    /// Without the brackets of an IPv6 literal.
    host: String,
    port: u16,
    tls: Option<(TlsConnector, ServerName<'static>)>,
    timeout: Duration,
}

impl Connector {
    pub(super) fn new(upstream: &Upstream) -> Result<Self, UpstreamSetupError> {
        let authority = &upstream.authority;
        let host = authority
            .host()
            .trim_start_matches('[')
            .trim_end_matches(']')
            .to_string();
        let default_port = if upstream.scheme_is_https { 443 } else { 80 };
        let tls = if upstream.scheme_is_https {
            let name = ServerName::try_from(host.clone())
                .map_err(|_| UpstreamSetupError::ServerName(host.clone()))?;
            let config = tls::client_config(&upstream.tls)?;
            Some((TlsConnector::from(Arc::new(config)), name))
        } else {
            None
        };
        Ok(Connector {
            host,
            port: authority.port_u16().unwrap_or(default_port),
            tls,
            timeout: upstream.connect_timeout,
        })
    }

    pub(super) async fn connect(&self) -> Result<Sender, UpstreamError> {
        match tokio::time::timeout(self.timeout, self.open()).await {
            Ok(result) => result,
            Err(_elapsed) => Err(UpstreamError::ConnectTimeout),
        }
    }

    async fn open(&self) -> Result<Sender, UpstreamError> {
        let tcp = TcpStream::connect((self.host.as_str(), self.port))
            .await
            .map_err(UpstreamError::Connect)?;
        // Small requests and answers go out at once instead of waiting for an ACK.
        let _ = tcp.set_nodelay(true);
        match &self.tls {
            None => handshake(tcp).await,
            Some((connector, name)) => {
                let tls = connector
                    .connect(name.clone(), tcp)
                    .await
                    .map_err(UpstreamError::Tls)?;
                handshake(tls).await
            }
        }
    }
}

/// One upstream connection as the pool holds it: hyper's sender, which closes the connection
/// when it is dropped, whatever state hyper's client is in. (An app that half-closes its side
/// in the middle of a body it announced leaves hyper's client waiting, even without a
/// sender, for a read that never comes.)
pub(super) struct Sender {
    pub(super) send: SendRequest<ForwardBody>,
    close: Option<oneshot::Sender<()>>,
}

impl Sender {
    /// Leaves the connection to hyper once this is dropped: after a protocol switch it
    /// belongs to the tunnel.
    pub(super) fn switched(mut self) {
        self.close = None;
    }
}

impl Drop for Sender {
    fn drop(&mut self) {
        if let Some(close) = self.close.take() {
            let _ = close.send(());
        }
    }
}

async fn handshake<IO>(io: IO) -> Result<Sender, UpstreamError>
where
    IO: AsyncRead + AsyncWrite + Unpin + Send + 'static,
{
    let (send, connection) = Builder::new()
        .read_buf_exact_size(Some(READ_BUFFER))
        .handshake(TokioIo::new(io))
        .await
        .map_err(UpstreamError::Handshake)?;
    let (close, closed) = oneshot::channel();
    // The connection is driven by its own task; it ends when the app closes it or when its
    // sender is dropped (pool full, expired, or a response given up half-way); after a
    // protocol switch, when hyper hands it to the tunnel.
    tokio::spawn(async move {
        let connection = connection.with_upgrades();
        tokio::pin!(connection);
        tokio::select! {
            ended = &mut connection => {
                if let Err(error) = ended {
                    tracing::debug!(%error, "upstream connection ended with an error");
                }
            }
            Ok(()) = closed => {}
        }
    });
    Ok(Sender {
        send,
        close: Some(close),
    })
}
