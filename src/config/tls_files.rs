//! Reading the PEM files a config names: listener certificates and upstream CA bundles.

use rustls::crypto::ring::sign::any_supported_type;
use rustls::sign::CertifiedKey;
use rustls::RootCertStore;
use rustls_pki_types::pem::PemObject;
use rustls_pki_types::{CertificateDer, PrivateKeyDer};
use std::path::{Path, PathBuf};
use std::sync::Arc;

#[derive(Debug, thiserror::Error)]
pub enum TlsFileError {
    #[error("cannot read certificate file {path}: {source}")]
    ReadCert {
        path: PathBuf,
        #[source]
        source: rustls_pki_types::pem::Error,
    },
    #[error("{path} holds no PEM certificate")]
    NoCert { path: PathBuf },
    #[error("cannot read private key file {path}: {source}")]
    ReadKey {
        path: PathBuf,
        #[source]
        source: rustls_pki_types::pem::Error,
    },
    #[error("the key in {path} is not a supported private key (RSA, ECDSA or Ed25519): {source}")]
    BadKey {
        path: PathBuf,
        #[source]
        source: rustls::Error,
    },
    #[error("the key in {key} does not belong to the certificate in {cert}")]
    Mismatch { cert: PathBuf, key: PathBuf },
    #[error("cannot read CA file {path}: {source}")]
    ReadCa {
        path: PathBuf,
        #[source]
        source: rustls_pki_types::pem::Error,
    },
    #[error("{path} holds no usable CA certificate")]
    NoCa { path: PathBuf },
}

impl TlsFileError {
    /// The config key (relative to its certificate entry) the problem belongs to.
    pub fn key(&self) -> &'static str {
        match self {
            TlsFileError::ReadCert { .. } | TlsFileError::NoCert { .. } => "cert_file",
            _ => "key_file",
        }
    }
}

pub fn load_certified_key(
    cert_file: &Path,
    key_file: &Path,
) -> Result<Arc<CertifiedKey>, TlsFileError> {
    let chain = CertificateDer::pem_file_iter(cert_file)
        .and_then(|iter| iter.collect::<Result<Vec<_>, _>>())
        .map_err(|source| TlsFileError::ReadCert {
            path: cert_file.to_path_buf(),
            source,
        })?;
    if chain.is_empty() {
        return Err(TlsFileError::NoCert {
            path: cert_file.to_path_buf(),
        });
    }
    let key = PrivateKeyDer::from_pem_file(key_file).map_err(|source| TlsFileError::ReadKey {
        path: key_file.to_path_buf(),
        source,
    })?;
    let signing_key = any_supported_type(&key).map_err(|source| TlsFileError::BadKey {
        path: key_file.to_path_buf(),
        source,
    })?;
    let certified = CertifiedKey::new(chain, signing_key);
    if certified.keys_match().is_err() {
        return Err(TlsFileError::Mismatch {
            cert: cert_file.to_path_buf(),
            key: key_file.to_path_buf(),
        });
    }
    Ok(Arc::new(certified))
}

pub fn load_roots(path: &Path) -> Result<Arc<RootCertStore>, TlsFileError> {
    let certs = CertificateDer::pem_file_iter(path)
        .and_then(|iter| iter.collect::<Result<Vec<_>, _>>())
        .map_err(|source| TlsFileError::ReadCa {
            path: path.to_path_buf(),
            source,
        })?;
    let mut roots = RootCertStore::empty();
    let (added, _ignored) = roots.add_parsable_certificates(certs);
    if added == 0 {
        return Err(TlsFileError::NoCa {
            path: path.to_path_buf(),
        });
    }
    Ok(Arc::new(roots))
}
