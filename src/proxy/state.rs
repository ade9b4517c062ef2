//! What every request reads: the current configuration, its route table, the upstream clients
//! and the TLS acceptors. SIGHUP swaps the whole snapshot at once; requests in flight keep the
//! one they started with.

use super::routes::RouteTable;
use super::tls;
use super::upstream::{build_client, UpstreamClient, UpstreamSetupError};
use crate::config::{Config, UpstreamTls};
use crate::ops::metrics::Metrics;
use arc_swap::ArcSwap;
use std::sync::atomic::AtomicBool;
use std::sync::Arc;
use tokio_rustls::TlsAcceptor;

pub struct Snapshot {
    pub config: Arc<Config>,
    pub routes: RouteTable,
    /// `[worker][app]`: each worker thread has its own pools.
    clients: Vec<Vec<UpstreamClient>>,
    /// One per listener, `None` for plain HTTP.
    pub tls: Vec<Option<TlsAcceptor>>,
}

#[derive(Debug, thiserror::Error)]
pub enum SnapshotError {
    #[error("upstream client for app {app}")]
    Upstream {
        app: String,
        #[source]
        source: UpstreamSetupError,
    },
    #[error("TLS setup for listener {address}")]
    Tls {
        address: std::net::SocketAddr,
        #[source]
        source: rustls::Error,
    },
}

impl Snapshot {
    pub fn build(config: Config, workers: usize) -> Result<Self, SnapshotError> {
        let mut clients = Vec::with_capacity(workers);
        for _ in 0..workers {
            let mut per_app = Vec::with_capacity(config.apps.len());
            for app in &config.apps {
                per_app.push(build_client(&app.upstream).map_err(|source| {
                    SnapshotError::Upstream {
                        app: app.name.clone(),
                        source,
                    }
                })?);
            }
            clients.push(per_app);
        }
        let mut acceptors = Vec::with_capacity(config.listeners.len());
        for listener in &config.listeners {
            acceptors.push(match &listener.tls {
                Some(t) => Some(TlsAcceptor::from(tls::server_config(t).map_err(
                    |source| SnapshotError::Tls {
                        address: listener.address,
                        source,
                    },
                )?)),
                None => None,
            });
        }
        for app in &config.apps {
            if matches!(app.upstream.tls, UpstreamTls::Insecure) {
                tracing::warn!(app = %app.name, "TLS certificate verification towards the upstream is OFF (insecure_skip_verify)");
            }
        }
        Ok(Snapshot {
            routes: RouteTable::new(&config.apps),
            config: Arc::new(config),
            clients,
            tls: acceptors,
        })
    }

    pub fn client(&self, worker: usize, app: usize) -> Option<&UpstreamClient> {
        self.clients.get(worker)?.get(app)
    }
}

/// Process-wide state shared by the workers and the admin listener.
pub struct Shared {
    pub snapshot: ArcSwap<Snapshot>,
    pub metrics: Metrics,
    /// False until every listener is bound, and again once shutdown starts.
    pub ready: AtomicBool,
}
