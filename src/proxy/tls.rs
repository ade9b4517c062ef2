//! TLS for the listeners: certificates picked by SNI, HTTP/2 offered through ALPN.

use crate::config::ListenerTls;
use rustls::server::{ClientHello, ResolvesServerCert};
use rustls::sign::CertifiedKey;
use rustls::ServerConfig;
use rustls_pki_types::ServerName;
use std::sync::Arc;

pub fn server_config(tls: &ListenerTls) -> Result<Arc<ServerConfig>, rustls::Error> {
    let mut config =
        ServerConfig::builder_with_provider(Arc::new(rustls::crypto::ring::default_provider()))
            .with_safe_default_protocol_versions()?
            .with_no_client_auth()
            .with_cert_resolver(Arc::new(SniResolver {
                keys: tls.certificates.clone(),
            }));
    config.alpn_protocols = if tls.http2 {
        vec![b"h2".to_vec(), b"http/1.1".to_vec()]
    } else {
        vec![b"http/1.1".to_vec()]
    };
    Ok(Arc::new(config))
}

/// Picks the first certificate valid for the client's SNI name (exact or wildcard, as a client
/// would check it); the first certificate answers clients without SNI or with an unknown name.
#[derive(Debug)]
struct SniResolver {
    keys: Vec<Arc<CertifiedKey>>,
}

fn serves(key: &CertifiedKey, name: &ServerName<'_>) -> bool {
    key.end_entity_cert()
        .ok()
        .and_then(|der| webpki::EndEntityCert::try_from(der).ok())
        .is_some_and(|cert| cert.verify_is_valid_for_subject_name(name).is_ok())
}

impl ResolvesServerCert for SniResolver {
    fn resolve(&self, hello: ClientHello<'_>) -> Option<Arc<CertifiedKey>> {
        let requested = hello
            .server_name()
            .and_then(|name| ServerName::try_from(name.to_string()).ok());
        requested
            .and_then(|name| self.keys.iter().find(|key| serves(key, &name)))
            .or_else(|| self.keys.first())
            .cloned()
    }
}
