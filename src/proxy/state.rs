//! What every request reads: the current configuration, its route table, the upstream clients,
//! the TLS acceptors and the per-app metric handles. SIGHUP swaps them all at once; requests in
//! flight keep the snapshot they started with.
//!
//! Each worker thread has its own snapshot (its own `Arc`, its own upstream pools), so taking a
//! reference per request never touches a reference count another core writes to.

use super::headers::ViaHops;
use super::routes::RouteTable;
use super::tls;
use super::upstream::{UpstreamPool, UpstreamSetupError};
use crate::config::{Config, UpstreamTls};
use crate::ops::metrics::{AppMetrics, Metrics};
use arc_swap::ArcSwap;
use std::sync::atomic::AtomicBool;
use std::sync::Arc;
use tokio_rustls::TlsAcceptor;

pub struct Snapshot {
    pub config: Arc<Config>,
    pub routes: Arc<RouteTable>,
    /// One per app, in config order: this worker's own upstream pools.
    upstreams: Vec<UpstreamTarget>,
    pub via: ViaHops,
    /// One per app, in config order.
    pub app_metrics: Arc<Vec<AppMetrics>>,
    /// One per listener, `None` for plain HTTP.
    pub tls: Vec<Option<TlsAcceptor>>,
}

pub struct UpstreamTarget {
    pub pool: Arc<UpstreamPool>,
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
    /// One snapshot per worker; routes, TLS and metric handles are shared between them.
    pub fn build_all(
        config: Config,
        workers: usize,
        metrics: &Metrics,
    ) -> Result<Vec<Snapshot>, SnapshotError> {
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
        let routes = Arc::new(RouteTable::new(&config.apps));
        let app_metrics = Arc::new(
            config
                .apps
                .iter()
                .map(|a| metrics.for_app(&a.name))
                .collect::<Vec<_>>(),
        );
        let config = Arc::new(config);
        let mut snapshots = Vec::with_capacity(workers);
        for _ in 0..workers {
            let mut upstreams = Vec::with_capacity(config.apps.len());
            for app in &config.apps {
                let pool =
                    UpstreamPool::new(&app.upstream).map_err(|source| SnapshotError::Upstream {
                        app: app.name.clone(),
                        source,
                    })?;
                upstreams.push(UpstreamTarget { pool });
            }
            snapshots.push(Snapshot {
                config: config.clone(),
                routes: routes.clone(),
                upstreams,
                via: ViaHops::new(&config.via_name),
                app_metrics: app_metrics.clone(),
                tls: acceptors.clone(),
            });
        }
        Ok(snapshots)
    }

    pub fn upstream(&self, app: usize) -> Option<&UpstreamTarget> {
        self.upstreams.get(app)
    }
}

/// Process-wide state shared by the workers and the admin listener.
pub struct Shared {
    /// Indexed by worker.
    snapshots: Vec<ArcSwap<Snapshot>>,
    pub metrics: Metrics,
    /// False until every listener is bound, and again once shutdown starts.
    pub ready: AtomicBool,
    /// The second factor's keys and stores; `None` while no app uses MFA.
    pub mfa: Option<Arc<crate::mfa::Mfa>>,
}

/// The proxy's series, and the second factor's when it runs.
fn metrics(mfa: Option<&crate::mfa::Mfa>) -> Metrics {
    let Some(mfa) = mfa else {
        return Metrics::new();
    };
    // The counter the stores count their failures in.
    let mut metrics = Metrics::counting_store_errors(mfa.durable.errors().clone());
    mfa.metrics.register(metrics.registry_mut(), &mfa.audit);
    metrics
}

impl Shared {
    pub fn new(
        config: Config,
        workers: usize,
        mfa: Option<Arc<crate::mfa::Mfa>>,
    ) -> Result<Self, SnapshotError> {
        let metrics = metrics(mfa.as_deref());
        let snapshots = Snapshot::build_all(config, workers, &metrics)?
            .into_iter()
            .map(ArcSwap::from_pointee)
            .collect();
        Ok(Shared {
            snapshots,
            metrics,
            ready: AtomicBool::new(false),
            mfa,
        })
    }

    /// This worker's current snapshot.
    pub fn snapshot(&self, worker: usize) -> Option<Arc<Snapshot>> {
        self.snapshots.get(worker).map(ArcSwap::load_full)
    }

    /// The configuration currently in force.
    pub fn config(&self) -> Option<Arc<Config>> {
        self.snapshots.first().map(|s| s.load().config.clone())
    }

    pub fn workers(&self) -> usize {
        self.snapshots.len()
    }

    /// Replaces every worker's snapshot with a freshly built set.
    pub fn replace(&self, config: Config) -> Result<(), SnapshotError> {
        let next = Snapshot::build_all(config, self.snapshots.len(), &self.metrics)?;
        for (slot, snapshot) in self.snapshots.iter().zip(next) {
            slot.store(Arc::new(snapshot));
        }
        Ok(())
    }
}
