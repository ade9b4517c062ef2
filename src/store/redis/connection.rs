//! Reaching Redis: one server, a master found through Sentinel (followed after a failover), or
//! a Cluster; and the revocation channel every gateway listens to.

use crate::store::StoreError;
use arc_swap::ArcSwap;
use redis::aio::{ConnectionLike, ConnectionManager};
use redis::cluster_async::ClusterConnection;
use redis::{ConnectionAddr, ConnectionInfo, RedisFuture, Value};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::Duration;

/// How the Redis deployment is laid out.
#[derive(Debug, Clone)]
pub enum Topology {
    Single,
    /// Ask these sentinels (`host:port`) for the master of `service`.
    Sentinel {
        service: String,
        sentinels: Vec<String>,
    },
    /// Any of these nodes (`host:port`) of a Redis Cluster; the rest is discovered.
    Cluster {
        nodes: Vec<String>,
    },
}

/// A connection to whichever kind of deployment is configured.
#[derive(Clone)]
pub enum Conn {
    Single(ConnectionManager),
    Cluster(ClusterConnection),
}

impl ConnectionLike for Conn {
    fn req_packed_command<'a>(&'a mut self, cmd: &'a redis::Cmd) -> RedisFuture<'a, Value> {
        match self {
            Conn::Single(c) => c.req_packed_command(cmd),
            Conn::Cluster(c) => c.req_packed_command(cmd),
        }
    }

    fn req_packed_commands<'a>(
        &'a mut self,
        cmd: &'a redis::Pipeline,
        offset: usize,
        count: usize,
    ) -> RedisFuture<'a, Vec<Value>> {
        match self {
            Conn::Single(c) => c.req_packed_commands(cmd, offset, count),
            Conn::Cluster(c) => c.req_packed_commands(cmd, offset, count),
        }
    }

    fn get_db(&self) -> i64 {
        match self {
            Conn::Single(c) => c.get_db(),
            Conn::Cluster(c) => c.get_db(),
        }
    }
}

/// The Redis the store talks to now (replaced when a Sentinel master changes).
pub struct Current {
    /// For the revocation subscription: the server, the master, or one cluster node (classic
    /// pub/sub messages reach every node of a cluster).
    pub subscriber: redis::Client,
    pub connection: Conn,
    /// The Sentinel master this connects to.
    pub address: Option<(String, u16)>,
}

fn tcp(address: &str) -> Option<ConnectionAddr> {
    let (host, port) = address.rsplit_once(':')?;
    Some(ConnectionAddr::Tcp(host.to_string(), port.parse().ok()?))
}

/// `info` (user, password, database, TLS from the URL) pointed at another address; a TLS URL
/// keeps TLS towards it.
fn at(info: &ConnectionInfo, host: &str, port: u16) -> ConnectionInfo {
    let addr = match info.addr() {
        ConnectionAddr::TcpTls {
            insecure,
            tls_params,
            ..
        } => ConnectionAddr::TcpTls {
            host: host.to_string(),
            port,
            insecure: *insecure,
            tls_params: tls_params.clone(),
        },
        _ => ConnectionAddr::Tcp(host.to_string(), port),
    };
    info.clone().set_addr(addr)
}

/// Opens the connection for `topology`. Single and Sentinel connect lazily and reconnect by
/// themselves; a Cluster client must reach a node now to learn the slots (it then follows
/// the cluster by itself).
pub async fn open(
    info: &ConnectionInfo,
    topology: &Topology,
    timeout: Duration,
    master: Option<(String, u16)>,
) -> Result<Current, StoreError> {
    if let Topology::Cluster { nodes } = topology {
        let seeds: Vec<ConnectionInfo> = nodes
            .iter()
            .filter_map(|n| tcp(n))
            .map(|addr| match addr {
                ConnectionAddr::Tcp(host, port) => at(info, &host, port),
                other => info.clone().set_addr(other),
            })
            .collect();
        let subscriber = redis::Client::open(
            seeds
                .first()
                .cloned()
                .ok_or(StoreError::Unavailable("no Redis Cluster node configured"))?,
        )
        .map_err(StoreError::Redis)?;
        let client = redis::cluster::ClusterClient::builder(seeds)
            .connection_timeout(timeout)
            .response_timeout(timeout)
            .build()
            .map_err(StoreError::Redis)?;
        let connection = client
            .get_async_connection()
            .await
            .map_err(StoreError::Redis)?;
        return Ok(Current {
            subscriber,
            connection: Conn::Cluster(connection),
            address: None,
        });
    }
    let target = match &master {
        Some((host, port)) => at(info, host, *port),
        None => info.clone(),
    };
    let client = redis::Client::open(target).map_err(StoreError::Redis)?;
    let settings = redis::aio::ConnectionManagerConfig::new()
        .set_connection_timeout(Some(timeout))
        .set_response_timeout(Some(timeout))
        // One retry: a Redis that does not answer costs a request at most two timeouts before
        // the 503, and the next request tries again anyway.
        .set_number_of_retries(1);
    let connection = ConnectionManager::new_lazy_with_config(client.clone(), settings)
        .map_err(StoreError::Redis)?;
    Ok(Current {
        subscriber: client,
        connection: Conn::Single(connection),
        address: master,
    })
}

/// Follows the revocation channel, reconnecting when Redis goes away (to the current master).
/// While it is not subscribed, messages could be missed: the epoch moves on each
/// (re)connection so caches start over, and their own time bound covers the gap.
pub async fn listen_for_revocations(
    current: Arc<ArcSwap<Current>>,
    channel: String,
    epoch: Arc<AtomicU64>,
) {
    use futures_util::StreamExt;
    loop {
        let client = current.load().subscriber.clone();
        match client.get_async_pubsub().await {
            Ok(mut pubsub) => {
                if pubsub.subscribe(&channel).await.is_ok() {
                    epoch.fetch_add(1, Ordering::AcqRel);
                    let mut messages = pubsub.on_message();
                    while messages.next().await.is_some() {
                        epoch.fetch_add(1, Ordering::AcqRel);
                    }
                }
                epoch.fetch_add(1, Ordering::AcqRel);
            }
            Err(error) => tracing::debug!(%error, "revocation channel not connected"),
        }
        tokio::time::sleep(Duration::from_millis(500)).await;
    }
}

/// The master's address as the first sentinel that answers knows it.
pub async fn master_address(
    service: &str,
    sentinels: &[String],
    timeout: Duration,
) -> Option<(String, u16)> {
    for node in sentinels {
        let ask = async {
            let client = redis::Client::open(format!("redis://{node}/")).ok()?;
            let mut c = client.get_multiplexed_async_connection().await.ok()?;
            let reply: Option<(String, u16)> = redis::cmd("SENTINEL")
                .arg("get-master-addr-by-name")
                .arg(service)
                .query_async(&mut c)
                .await
                .ok()?;
            reply
        };
        if let Ok(Some(address)) = tokio::time::timeout(timeout, ask).await {
            return Some(address);
        }
    }
    None
}

/// Asks the sentinels for the master every half second and moves the store to a new master
/// after a failover (caches start over: messages may have been lost on the way).
pub async fn follow_master(
    info: ConnectionInfo,
    topology: Topology,
    timeout: Duration,
    current: Arc<ArcSwap<Current>>,
    epoch: Arc<AtomicU64>,
) {
    let Topology::Sentinel { service, sentinels } = &topology else {
        return;
    };
    loop {
        tokio::time::sleep(Duration::from_millis(500)).await;
        let Some(address) = master_address(service, sentinels, timeout).await else {
            tracing::warn!(%service, "no sentinel knows the Redis master");
            continue;
        };
        if current.load().address.as_ref() == Some(&address) {
            continue;
        }
        match open(&info, &topology, timeout, Some(address.clone())).await {
            Ok(next) => {
                tracing::warn!(host = %address.0, port = address.1, "Redis master changed (Sentinel); following it");
                current.store(Arc::new(next));
                epoch.fetch_add(1, Ordering::AcqRel);
            }
            Err(error) => {
                tracing::error!(error = %crate::ops::error_chain(&error), "cannot connect to the new Redis master")
            }
        }
    }
}
