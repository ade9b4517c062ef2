//! Listeners and workers. One current-thread runtime per core, each with its own
//! `SO_REUSEPORT` socket per listener and its own upstream pools: on a small machine this
//! thread-per-core layout is what reaches nginx's speed (see shared/PERFORMANCE.md).

use super::admin_listener;
use super::connection;
use super::handler::{Connection, Slot};
use super::shutdown::Shutdown;
use super::state::{Shared, SnapshotError};
use crate::config::{self, Config};
use crate::ops::metrics::OpenConnection;
use socket2::{Domain, Protocol, Socket, Type};
use std::net::SocketAddr;
use std::sync::atomic::Ordering;
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::{watch, Semaphore};

#[derive(Debug, thiserror::Error)]
pub enum ServeError {
    #[error("cannot listen on {address}")]
    Bind {
        address: SocketAddr,
        #[source]
        source: std::io::Error,
    },
    #[error("cannot start the runtime")]
    Runtime(#[source] std::io::Error),
    #[error(transparent)]
    Setup(#[from] SnapshotError),
    #[error("cannot open the MFA state")]
    Mfa(#[from] crate::mfa::MfaSetupError),
}

/// Runs the gateway until SIGTERM or SIGINT, then drains connections for up to
/// `limits.shutdown_timeout`.
pub fn serve(config: Config) -> Result<(), ServeError> {
    let workers = config.workers;
    let max_connections = config.limits.max_connections;
    let listeners = bind_all(&config, workers)?;
    let admin_address = config.admin;
    // The control runtime lives as long as the process: the stores' background tasks run on it.
    let control = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .map_err(ServeError::Runtime)?;
    let mfa = if config.apps.iter().any(|a| a.mfa.is_some()) {
        Some(Arc::new(control.block_on(crate::mfa::Mfa::open(&config))?))
    } else {
        None
    };
    let shared = Arc::new(Shared::new(config, workers, mfa)?);
    let connections = Arc::new(Semaphore::new(max_connections));
    let shutdown = Shutdown::new();
    let (stop_tx, stop_rx) = watch::channel(false);
    let threads = start_workers(listeners, &shared, &connections, &shutdown, &stop_rx)?;

    control.block_on(async {
        start_background_tasks(&shared);
        if let Some(address) = admin_address {
            match tokio::net::TcpListener::bind(address).await {
                Ok(listener) => {
                    tracing::info!(%address, "admin listener ready (/healthz, /readyz, /metrics)");
                    tokio::spawn(admin_listener::serve(listener, shared.clone()));
                }
                Err(source) => return Err(ServeError::Bind { address, source }),
            }
        }
        shared.ready.store(true, Ordering::SeqCst);
        wait_for_shutdown(&shared).await;
        shared.ready.store(false, Ordering::SeqCst);
        shutdown.begin();
        drain(&shared, &connections, max_connections).await;
        Ok(())
    })?;
    let _ = stop_tx.send(true);
    for thread in threads {
        let _ = thread.join();
    }
    Ok(())
}

/// One thread a worker, each with its own current-thread runtime accepting on its sockets.
fn start_workers(
    listeners: Vec<Vec<std::net::TcpListener>>,
    shared: &Arc<Shared>,
    connections: &Arc<Semaphore>,
    shutdown: &Arc<Shutdown>,
    stop: &watch::Receiver<bool>,
) -> Result<Vec<std::thread::JoinHandle<()>>, ServeError> {
    let mut threads = Vec::new();
    for (worker, sockets) in listeners.into_iter().enumerate() {
        let shared = shared.clone();
        let connections = connections.clone();
        let shutdown = shutdown.clone();
        let mut stop = stop.clone();
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .map_err(ServeError::Runtime)?;
        let thread = std::thread::Builder::new()
            .name(format!("worker-{worker}"))
            .spawn(move || {
                runtime.block_on(async move {
                    for (index, socket) in sockets.into_iter().enumerate() {
                        match tokio::net::TcpListener::from_std(socket) {
                            Ok(listener) => {
                                tokio::spawn(accept_loop(
                                    listener,
                                    index,
                                    worker,
                                    shared.clone(),
                                    connections.clone(),
                                    shutdown.clone(),
                                ));
                            }
                            Err(error) => tracing::error!(%error, "cannot register listener"),
                        }
                    }
                    // Connection tasks live on this runtime: keep it until told to stop.
                    let _ = stop.wait_for(|stop| *stop).await;
                });
            })
            .map_err(ServeError::Runtime)?;
        threads.push(thread);
    }
    Ok(threads)
}

/// On the control runtime: the audit file's syncs, the sweep of ended sessions, and memory
/// trimming.
fn start_background_tasks(shared: &Shared) {
    if let Some(mfa) = shared.mfa.clone() {
        if let Some(every) = mfa.audit.sync_interval() {
            tokio::spawn(sync_audit(mfa.clone(), every));
        }
        // Often enough that a session's timeout is recorded close to when it happened.
        let every = shared
            .config()
            .and_then(|c| {
                c.apps
                    .iter()
                    .filter_map(|a| a.mfa.as_ref())
                    .map(|m| m.idle_timeout.min(m.absolute_timeout) / 2)
                    .min()
            })
            .unwrap_or(Duration::from_secs(60))
            .clamp(Duration::from_secs(1), Duration::from_secs(60));
        tokio::spawn(sweep(mfa, every));
    }
    tokio::spawn(crate::ops::memory::trim_now_and_then());
}

/// After shutdown began: waits for the open connections (up to `shutdown_timeout`), then
/// writes out what the audit trail still holds.
async fn drain(shared: &Shared, connections: &Semaphore, max_connections: usize) {
    let deadline = shared
        .config()
        .map_or(Duration::from_secs(30), |c| c.limits.shutdown_timeout);
    let drained =
        tokio::time::timeout(deadline, connections.acquire_many(max_connections as u32)).await;
    match drained {
        Ok(_) => tracing::info!("all connections closed"),
        Err(_) => tracing::warn!(
            open = max_connections - connections.available_permits(),
            "shutdown deadline reached; closing remaining connections"
        ),
    }
    if let Some(mfa) = &shared.mfa {
        if let Err(error) = mfa.audit.sync() {
            tracing::error!(error = %crate::ops::error_chain(&error), "audit file not synced at shutdown");
        }
        if !mfa.audit.drain(Duration::from_secs(5)).await {
            tracing::error!("audit stream: records still queued at shutdown were not sent");
        }
    }
}

/// Binds every listener once per worker. The first socket of a listener fixes the port (so
/// `:0` works), the others join it through `SO_REUSEPORT` and the kernel spreads connections.
fn bind_all(
    config: &Config,
    workers: usize,
) -> Result<Vec<Vec<std::net::TcpListener>>, ServeError> {
    let mut per_worker: Vec<Vec<std::net::TcpListener>> =
        (0..workers).map(|_| Vec::new()).collect();
    for listener in &config.listeners {
        let mut address = listener.address;
        for sockets in per_worker.iter_mut() {
            let socket = bind(address).map_err(|source| ServeError::Bind { address, source })?;
            address = socket
                .local_addr()
                .map_err(|source| ServeError::Bind { address, source })?;
            sockets.push(socket);
        }
        let scheme = if listener.tls.is_some() {
            "https"
        } else {
            "http"
        };
        tracing::info!(%address, scheme, workers, "listening");
    }
    Ok(per_worker)
}

fn bind(address: SocketAddr) -> std::io::Result<std::net::TcpListener> {
    let socket = Socket::new(
        Domain::for_address(address),
        Type::STREAM,
        Some(Protocol::TCP),
    )?;
    socket.set_reuse_address(true)?;
    socket.set_reuse_port(true)?;
    if address.is_ipv6() {
        socket.set_only_v6(false)?;
    }
    socket.set_nonblocking(true)?;
    socket.bind(&address.into())?;
    socket.listen(1024)?;
    Ok(socket.into())
}

async fn accept_loop(
    listener: tokio::net::TcpListener,
    index: usize,
    worker: usize,
    shared: Arc<Shared>,
    connections: Arc<Semaphore>,
    shutdown: Arc<Shutdown>,
) {
    loop {
        // Waiting for a permit before accepting leaves excess clients in the kernel's backlog
        // instead of accepting sockets we cannot serve.
        let permit = tokio::select! {
            permit = connections.clone().acquire_owned() => permit,
            _ = shutdown.wait() => return,
        };
        let Ok(permit) = permit else { return };
        let accepted = tokio::select! {
            accepted = listener.accept() => accepted,
            _ = shutdown.wait() => return,
        };
        let (stream, peer) = match accepted {
            Ok(pair) => pair,
            Err(error) => {
                // Out of file descriptors and the like: back off instead of spinning.
                tracing::warn!(%error, "accept failed");
                tokio::time::sleep(Duration::from_millis(50)).await;
                continue;
            }
        };
        let _ = stream.set_nodelay(true);
        // There is one snapshot per worker; without one the connection cannot be served.
        let Some(snapshot) = shared.snapshot(worker) else {
            continue;
        };
        let limits = snapshot.config.limits.clone();
        let acceptor = snapshot.tls.get(index).cloned().flatten();
        drop(snapshot);
        let connection = Arc::new(Connection {
            peer,
            peer_value: super::headers::ip_header_value(peer.ip()),
            tls: acceptor.is_some(),
            worker,
            shared: shared.clone(),
            shutdown: shutdown.clone(),
            slot: Slot {
                permit,
                counted: OpenConnection::new(&shared.metrics.open_connections),
            },
        });
        // Two kinds of task, each sized for its own connection type: a plain connection does
        // not carry the TLS handshake's state for as long as it stays open.
        match acceptor {
            Some(acceptor) => tokio::spawn(async move {
                match tokio::time::timeout(limits.handshake_timeout, acceptor.accept(stream)).await
                {
                    Ok(Ok(tls)) => {
                        // The wait for the first request head starts after the handshake.
                        let opened = crate::ops::clock::tokio_instant();
                        if tls.get_ref().1.alpn_protocol() == Some(b"h2") {
                            connection::serve_http2(tls, connection, &limits, opened).await
                        } else {
                            connection::serve_http1(tls, connection, &limits, opened).await
                        }
                    }
                    Ok(Err(error)) => {
                        connection.shared.metrics.tls_handshake_failures.inc();
                        tracing::debug!(%peer, %error, "TLS handshake failed");
                    }
                    Err(_) => {
                        connection.shared.metrics.tls_handshake_failures.inc();
                        tracing::debug!(%peer, "TLS handshake timed out");
                    }
                }
            }),
            None => {
                tokio::spawn(
                    async move { connection::serve_plain(stream, connection, &limits).await },
                )
            }
        };
    }
}

/// Forces the audit file to disk every `every` (the `fsync: <duration>` policy).
async fn sync_audit(mfa: Arc<crate::mfa::Mfa>, every: Duration) {
    let mut tick = tokio::time::interval(every);
    loop {
        tick.tick().await;
        if let Err(error) = mfa.audit.sync() {
            tracing::error!(error = %crate::ops::error_chain(&error), "audit file not synced");
        }
    }
}

/// Now and then: drops what expired from the in-memory store (so abandoned logins do not pile
/// up), and records the sessions that ended by their timeouts (both stores).
async fn sweep(mfa: Arc<crate::mfa::Mfa>, every: Duration) {
    use crate::store::EphemeralStore;
    let mut every = tokio::time::interval(every);
    loop {
        every.tick().await;
        let now = crate::mfa::unix_now();
        match mfa.ephemeral.reap_ended(now).await {
            Ok(ended) => {
                let keys = mfa.keys();
                for session in &ended {
                    audit_timeout(&mfa, &keys, session, now);
                }
            }
            Err(error) => {
                tracing::error!(error = %crate::ops::error_chain(&error), "cannot sweep the session store")
            }
        }
    }
}

/// The audit record of a session that ended by its idle or absolute timeout.
fn audit_timeout(
    mfa: &crate::mfa::Mfa,
    keys: &crate::keys::KeyRing,
    session: &crate::store::EndedSession,
    now: i64,
) {
    let mut detail = vec![("reason", session.reason.to_string())];
    if let Some(at) = session.ended_at {
        detail.push(("ended_at", crate::ops::time::rfc3339(at)));
    }
    let event = crate::audit::Event {
        event: "session_ended",
        app: &session.app,
        user: Some(&session.user),
        outcome: "accepted",
        client: None,
        user_agent: None,
        request_id: None,
        session: Some(&session.id_hash),
        detail: &detail,
    };
    if let Err(error) = mfa.audit.record(keys, now, &event) {
        tracing::error!(error = %crate::ops::error_chain(&error), "audit record of a session timeout not written");
    }
}

/// Handles signals until one asks to stop: SIGHUP reloads, SIGTERM/SIGINT return.
async fn wait_for_shutdown(shared: &Shared) {
    use tokio::signal::unix::{signal, SignalKind};
    let (Ok(mut hup), Ok(mut term), Ok(mut int)) = (
        signal(SignalKind::hangup()),
        signal(SignalKind::terminate()),
        signal(SignalKind::interrupt()),
    ) else {
        tracing::error!("cannot install signal handlers; the gateway will only stop when killed");
        std::future::pending::<()>().await;
        return;
    };
    loop {
        tokio::select! {
            _ = hup.recv() => reload(shared),
            _ = term.recv() => { tracing::info!("SIGTERM: shutting down"); return; }
            _ = int.recv() => { tracing::info!("SIGINT: shutting down"); return; }
        }
    }
}

/// Reads the config file again. A valid file replaces routes, upstreams, limits and
/// certificates; connections stay open. Listener addresses, workers and logging keep their
/// start-up values (a restart applies them).
pub fn reload(shared: &Shared) {
    let Some(current) = shared.config() else {
        return;
    };
    if let Some(mfa) = &shared.mfa {
        if let Err(error) = mfa.reload_keys() {
            tracing::error!(error = %crate::ops::error_chain(&error), "key file not reloaded; keeping the keys in use");
        }
        // logrotate moved the file away and sent SIGHUP: go on in a new one.
        if let Err(error) = mfa.audit.reopen() {
            tracing::error!(error = %crate::ops::error_chain(&error), "audit file not reopened; writing on to the old one");
        }
    }
    let path = current.source.clone();
    let result: Result<(), Vec<String>> = match config::reload(&current) {
        Err(errors) => Err(errors.0.iter().map(ToString::to_string).collect()),
        Ok(next) if shared.mfa.is_none() && next.apps.iter().any(|a| a.mfa.is_some()) => {
            Err(vec![format!(
                "{}: an app now uses MFA; restart the gateway to open its key file and database",
                path.display()
            )])
        }
        Ok(mut next) => {
            let old: Vec<_> = current
                .listeners
                .iter()
                .map(|l| (l.address, l.tls.is_some()))
                .collect();
            let new: Vec<_> = next
                .listeners
                .iter()
                .map(|l| (l.address, l.tls.is_some()))
                .collect();
            if old != new {
                tracing::warn!("listener changes need a restart; keeping the current listeners");
                next.listeners = current.listeners.clone();
            }
            if next.admin != current.admin || next.workers != current.workers {
                tracing::warn!("admin listener and worker count changes need a restart");
            }
            next.workers = current.workers;
            next.admin = current.admin;
            next.logging = current.logging.clone();
            shared
                .replace(next)
                .map_err(|error| vec![crate::ops::error_chain(&error)])
        }
    };
    // Counted before it is logged: whoever acts on the log line finds the metric up to date.
    let outcome = if result.is_ok() { "applied" } else { "refused" };
    shared
        .metrics
        .config_reloads
        .get_or_create(&crate::ops::metrics::OutcomeLabels { outcome })
        .inc();
    if let Some(mfa) = &shared.mfa {
        let detail = [
            ("file", path.display().to_string()),
            (
                "errors",
                result.as_ref().err().map_or(0, Vec::len).to_string(),
            ),
        ];
        let event = crate::audit::Event {
            event: "config_reloaded",
            app: "-",
            user: None,
            outcome: if result.is_ok() {
                "accepted"
            } else {
                "refused"
            },
            client: None,
            user_agent: None,
            request_id: None,
            session: None,
            detail: &detail,
        };
        if let Err(error) = mfa
            .audit
            .record(&mfa.keys(), crate::mfa::unix_now(), &event)
        {
            tracing::error!(error = %crate::ops::error_chain(&error), "audit record of the reload not written");
        }
    }
    match result {
        Ok(()) => tracing::info!(file = %path.display(), "configuration reloaded"),
        Err(errors) => {
            for error in errors {
                tracing::error!(%error, "configuration reload refused");
            }
        }
    }
}

/// Runs the gateway on an already loaded configuration, with logging set up from it.
pub fn run(c: Config) -> std::process::ExitCode {
    let _log_guard = crate::ops::logging::init(&c.logging);
    tracing::info!(version = env!("CARGO_PKG_VERSION"), file = %c.source.display(), "starting mfa-gateway");
    for warning in &c.warnings {
        tracing::warn!(%warning, "configuration");
    }
    match serve(c) {
        Ok(()) => std::process::ExitCode::SUCCESS,
        Err(error) => {
            tracing::error!(error = %crate::ops::error_chain(&error), "gateway stopped");
            std::process::ExitCode::FAILURE
        }
    }
}
