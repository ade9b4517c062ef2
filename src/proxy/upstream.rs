//! Clients that talk to the upstream apps: one per app and worker, so each worker thread keeps
//! its own keep-alive pool and no lock is shared between cores on the hot path.

use crate::config::{Upstream, UpstreamTls};
use hyper::body::Incoming;
use hyper_rustls::HttpsConnector;
use hyper_util::client::legacy::connect::HttpConnector;
use hyper_util::client::legacy::Client;
use hyper_util::rt::{TokioExecutor, TokioTimer};
use rustls::client::danger::{HandshakeSignatureValid, ServerCertVerified, ServerCertVerifier};
use rustls::crypto::CryptoProvider;
use rustls::{ClientConfig, DigitallySignedStruct, RootCertStore, SignatureScheme};
use rustls_pki_types::{CertificateDer, ServerName, UnixTime};
use std::sync::{Arc, OnceLock};

/// What is sent upstream: the client's body streamed through, or a body the gateway read
/// first (a login request, whose user name it needed).
pub type ForwardBody = http_body_util::Either<Incoming, http_body_util::Full<bytes::Bytes>>;

pub type UpstreamClient = Client<HttpsConnector<HttpConnector>, ForwardBody>;

#[derive(Debug, thiserror::Error)]
pub enum UpstreamSetupError {
    #[error("TLS setup for the upstream failed")]
    Tls(#[from] rustls::Error),
}

fn provider() -> Arc<CryptoProvider> {
    Arc::new(rustls::crypto::ring::default_provider())
}

/// The system trust store, read once per process.
fn system_roots() -> Arc<RootCertStore> {
    static ROOTS: OnceLock<Arc<RootCertStore>> = OnceLock::new();
    ROOTS
        .get_or_init(|| {
            let loaded = rustls_native_certs::load_native_certs();
            for error in &loaded.errors {
                tracing::warn!(%error, "could not read part of the system trust store");
            }
            let mut roots = RootCertStore::empty();
            roots.add_parsable_certificates(loaded.certs);
            Arc::new(roots)
        })
        .clone()
}

fn tls_config(tls: &UpstreamTls) -> Result<ClientConfig, rustls::Error> {
    let builder =
        ClientConfig::builder_with_provider(provider()).with_safe_default_protocol_versions()?;
    let config = match tls {
        UpstreamTls::SystemRoots => builder
            .with_root_certificates(system_roots())
            .with_no_client_auth(),
        UpstreamTls::CaFile(roots) => builder
            .with_root_certificates(roots.clone())
            .with_no_client_auth(),
        UpstreamTls::Insecure => builder
            .dangerous()
            .with_custom_certificate_verifier(Arc::new(AcceptAnyCertificate(provider())))
            .with_no_client_auth(),
    };
    Ok(config)
}

pub fn build_client(upstream: &Upstream) -> Result<UpstreamClient, UpstreamSetupError> {
    let mut http = HttpConnector::new();
    http.enforce_http(false);
    http.set_nodelay(true);
    http.set_connect_timeout(Some(upstream.connect_timeout));
    let connector = hyper_rustls::HttpsConnectorBuilder::new()
        .with_tls_config(tls_config(&upstream.tls)?)
        .https_or_http()
        .enable_http1()
        .wrap_connector(http);
    Ok(Client::builder(TokioExecutor::new())
        .pool_idle_timeout(upstream.idle_timeout)
        // Idle connections kept for reuse, per worker (like nginx's `keepalive N` per worker
        // process): a burst of N concurrent requests must not leave N idle connections, each
        // with its buffers and task, behind.
        .pool_max_idle_per_host(upstream.max_idle_connections)
        .pool_timer(TokioTimer::new())
        .timer(TokioTimer::new())
        .set_host(false)
        // A fixed 8 KiB read buffer per pooled connection instead of one that grows with
        // bursts: keeps idle keep-alive memory flat (a response head may still grow it).
        .http1_read_buf_exact_size(8 * 1024)
        .build(connector))
}

/// Verifies nothing: used only when the operator set `insecure_skip_verify` (a warning is
/// logged at start). Signatures are still checked so the handshake itself stays sound.
#[derive(Debug)]
struct AcceptAnyCertificate(Arc<CryptoProvider>);

impl ServerCertVerifier for AcceptAnyCertificate {
    fn verify_server_cert(
        &self,
        _end_entity: &CertificateDer<'_>,
        _intermediates: &[CertificateDer<'_>],
        _server_name: &ServerName<'_>,
        _ocsp_response: &[u8],
        _now: UnixTime,
    ) -> Result<ServerCertVerified, rustls::Error> {
        Ok(ServerCertVerified::assertion())
    }

    fn verify_tls12_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        rustls::crypto::verify_tls12_signature(
            message,
            cert,
            dss,
            &self.0.signature_verification_algorithms,
        )
    }

    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        rustls::crypto::verify_tls13_signature(
            message,
            cert,
            dss,
            &self.0.signature_verification_algorithms,
        )
    }

    fn supported_verify_schemes(&self) -> Vec<SignatureScheme> {
        self.0.signature_verification_algorithms.supported_schemes()
    }
}
