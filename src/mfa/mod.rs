//! The second factor wired into requests: the state it needs (keys, durable and ephemeral
//! stores), the flow from a withheld login to its release (`flow`), the check every later
//! request passes (`guard`), and the gateway's own pages and JSON API (`endpoints`).

pub mod api;
pub mod endpoints;
pub mod flow;
pub mod guard;
pub mod metrics;
pub mod outcome;
pub mod reconcile;
pub mod respond;
pub mod settings;
pub mod turns;

use crate::config::{Config, DurableConfig, EphemeralConfig};
use crate::factors::service::FactorError;
use crate::keys::{KeyError, KeyRing};
use crate::store::{
    AnyDurable, AnyEphemeral, DurableStore, MemoryStore, PostgresStore, RedisStore, SqliteStore,
    StoreError, Topology,
};
use arc_swap::ArcSwap;
use std::path::PathBuf;
use std::sync::Arc;

/// The gateway's cookies, before the `__Host-` prefix they get on TLS.
pub const PENDING_COOKIE: &str = "mfa_pending";
pub const SESSION_COOKIE: &str = "mfa_session";

pub struct Mfa {
    /// Swapped whole when the key file changes (`keys rotate`, SIGHUP).
    keys: ArcSwap<KeyRing>,
    keys_file: PathBuf,
    pub durable: AnyDurable,
    pub ephemeral: AnyEphemeral,
    /// The second factors offered, built once: the flow, the settings and the API ask these,
    /// never a factor by name.
    pub factors: crate::factors::service::Factors,
    /// How long a session lookup may be reused without asking the shared store.
    session_cache: std::time::Duration,
    pub audit: crate::audit::Audit,
    pub metrics: metrics::MfaMetrics,
    /// Per client: when an unbound cookie was last audited, and how often it was stripped
    /// since without a record.
    strips: std::sync::Mutex<std::collections::HashMap<std::net::IpAddr, (i64, u64)>>,
    /// Requests of one session in order, where the app is asked after every answer.
    pub turns: turns::Turns,
    /// Set once the key file was compared with the shared stores: until then nothing of an
    /// MFA app passes (a node with another key file would write what no other node can read).
    keys_checked: Arc<std::sync::atomic::AtomicBool>,
    /// Held (shared) while this process runs with its state in memory: an admin command that
    /// can lock the file knows no gateway holds sessions or locks it cannot reach.
    running: Option<std::fs::File>,
}

/// The file a gateway keeping its state in memory holds a shared lock on while it runs.
pub fn running_lock_file(config: &Config) -> PathBuf {
    config.data_dir.join("gateway.lock")
}

#[derive(Debug, thiserror::Error)]
pub enum MfaSetupError {
    #[error("cannot create the data directory {0}")]
    DataDir(String, #[source] std::io::Error),
    #[error(transparent)]
    Keys(#[from] KeyError),
    #[error("cannot open the factor database")]
    Store(#[from] StoreError),
    #[error(transparent)]
    Audit(#[from] crate::audit::AuditError),
    #[error("{0}")]
    KeysDiffer(String),
}

/// Failures inside the flow that are not the user's doing. Each one fails closed: nothing is
/// released, nothing forwarded.
#[derive(Debug, thiserror::Error)]
pub enum MfaError {
    #[error("state store")]
    Store(#[from] StoreError),
    #[error("keys")]
    Keys(#[from] KeyError),
    #[error("factor")]
    Factor(#[from] FactorError),
    #[error("the withheld login answer could not be decoded")]
    Withheld,
    #[error("the QR code could not be drawn")]
    Qr,
    #[error("MFA was switched on by a reload; restart the gateway to open its stores")]
    NotReady,
    #[error("the key file is not yet compared with the shared stores (one is down)")]
    KeysUnchecked,
    #[error("the audit trail cannot be written and audit.on_failure is refuse")]
    Audit(#[source] crate::audit::AuditError),
}

impl Mfa {
    /// Opens the key file (creating it on first start) and the stores the config names. Shared
    /// stores connect lazily: a gateway starts while they are down (not ready, failing closed)
    /// and starts working when they come back.
    pub async fn open(config: &Config) -> Result<Mfa, MfaSetupError> {
        let data_dir = &config.data_dir;
        std::fs::create_dir_all(data_dir)
            .map_err(|e| MfaSetupError::DataDir(data_dir.display().to_string(), e))?;
        let (keys, generated) = KeyRing::load_or_generate(&config.keys_file)?;
        if generated {
            tracing::warn!(path = %config.keys_file.display(), "no keys found: generated new ones (back this file up; without it enrolled factors cannot be read)");
        }
        let fingerprint = keys.fingerprint();
        // One count of failed store operations for both stores (`store_errors_total`).
        let store_errors = prometheus_client::metrics::counter::Counter::default();
        let mfa = Mfa {
            keys: ArcSwap::from_pointee(keys),
            keys_file: config.keys_file.clone(),
            durable: open_durable(config)
                .await?
                .counting_into(store_errors.clone()),
            ephemeral: open_ephemeral(config).await?.counting_into(store_errors),
            factors: crate::factors::service::Factors::standard(),
            session_cache: match &config.state.ephemeral {
                EphemeralConfig::Redis { session_cache, .. } => *session_cache,
                EphemeralConfig::Memory => std::time::Duration::ZERO,
            },
            audit: crate::audit::Audit::open(&config.audit, &instance_name(config))?,
            metrics: metrics::MfaMetrics::default(),
            strips: std::sync::Mutex::new(std::collections::HashMap::new()),
            turns: turns::Turns::default(),
            keys_checked: Arc::default(),
            running: match &config.state.ephemeral {
                EphemeralConfig::Memory => Some(hold_running_lock(config)?),
                EphemeralConfig::Redis { .. } => None,
            },
        };
        let stores = KeyCheck {
            checked: mfa.keys_checked.clone(),
            keys: mfa.keys(),
            fingerprint,
            keys_file: config.keys_file.clone(),
            durable: mfa.durable.clone(),
            ephemeral: mfa.ephemeral.clone(),
            names: store_names(config),
        };
        match stores.run().await {
            Ok(()) => {
                stores
                    .checked
                    .store(true, std::sync::atomic::Ordering::SeqCst);
                reconcile::interrupted_changes(&mfa, config, unix_now()).await;
            }
            Err(KeyCheckError::Differ(message)) => return Err(MfaSetupError::KeysDiffer(message)),
            // A store that is down now is checked when it answers; until then nothing of it
            // is used (the gateway is not ready).
            Err(KeyCheckError::Unreachable(error)) => {
                tracing::warn!(error = %crate::ops::error_chain(&error), "the key file could not be compared with the shared stores yet; retrying");
                tokio::spawn(stores.until_checked());
                reconcile::interrupted_changes(&mfa, config, unix_now()).await;
            }
        }
        Ok(mfa)
    }

    /// When session lookups may be cached: the time bound and the current revocation epoch (a
    /// cached lookup from another epoch is stale). `None` for the in-memory store, which is
    /// local and always current.
    pub fn session_cache(&self) -> Option<(std::time::Duration, u64)> {
        match self.ephemeral.as_redis() {
            Some(redis) if !self.session_cache.is_zero() => {
                Some((self.session_cache, redis.revocation_epoch()))
            }
            _ => None,
        }
    }

    /// Whether an unbound credential from `client` at `now` (a stripped cookie, a refused
    /// Authorization) is audited: the first in a minute is, with how many went unrecorded
    /// before it. The metrics count every one.
    pub fn first_strip_in_a_while(&self, client: std::net::IpAddr, now: i64) -> Option<u64> {
        let Ok(mut strips) = self.strips.lock() else {
            return Some(0);
        };
        if strips.len() > 10_000 {
            strips.retain(|_, (at, _)| now - *at < 60);
        }
        let entry = strips.entry(client).or_insert((i64::MIN, 0));
        if now.saturating_sub(entry.0) >= 60 {
            let repeats = entry.1;
            *entry = (now, 0);
            Some(repeats)
        } else {
            entry.1 += 1;
            None
        }
    }

    /// Whether the key file was compared with the shared stores (and matched).
    pub fn keys_checked(&self) -> bool {
        self.keys_checked.load(std::sync::atomic::Ordering::Relaxed)
    }

    /// The key ring in force now.
    pub fn keys(&self) -> Arc<KeyRing> {
        self.keys.load_full()
    }

    /// Reads the key file again (after `keys rotate` re-encrypted secrets under a new key).
    pub fn reload_keys(&self) -> Result<(), KeyError> {
        let ring = KeyRing::load(&self.keys_file)?;
        tracing::info!(active = ring.active_key_id(), "key file reloaded");
        self.keys.store(Arc::new(ring));
        Ok(())
    }

    /// The stored form of an app credential (a session cookie value or a token): a keyed hash
    /// that also names the app and the credential, so a value bound for one never passes as
    /// another.
    pub fn credential_hash(&self, app: &str, name: &str, value: &str) -> [u8; 32] {
        self.keys.load().keyed_hash(
            b"app-credential-v1",
            format!("{app}\0{name}\0{value}").as_bytes(),
        )
    }

    /// Sessions are stored under a keyed hash of their id: the id exists only in the cookie.
    pub fn session_hash(&self, id: &str) -> [u8; 32] {
        self.keys.load().keyed_hash(b"session-id-v1", id.as_bytes())
    }
}

fn hold_running_lock(config: &Config) -> Result<std::fs::File, MfaSetupError> {
    let path = running_lock_file(config);
    let fail = |e| MfaSetupError::DataDir(path.display().to_string(), e);
    let file = std::fs::OpenOptions::new()
        .create(true)
        .truncate(false)
        .write(true)
        .open(&path)
        .map_err(fail)?;
    file.lock_shared().map_err(fail)?;
    Ok(file)
}

/// The comparison of this gateway's key file with the one the stores were written with.
struct KeyCheck {
    checked: Arc<std::sync::atomic::AtomicBool>,
    keys: Arc<KeyRing>,
    fingerprint: String,
    keys_file: std::path::PathBuf,
    durable: AnyDurable,
    ephemeral: AnyEphemeral,
    /// How the operator knows the durable and the ephemeral store.
    names: (String, String),
}

enum KeyCheckError {
    Differ(String),
    Unreachable(StoreError),
}

impl KeyCheck {
    async fn run(&self) -> Result<(), KeyCheckError> {
        let bound = std::time::Duration::from_secs(5);
        let timed_out = || KeyCheckError::Unreachable(StoreError::Unavailable("timed out"));
        let recorded = tokio::time::timeout(bound, self.durable.key_fingerprint())
            .await
            .map_err(|_| timed_out())?
            .map_err(KeyCheckError::Unreachable)?;
        match recorded {
            Some(theirs) => self.compare(&theirs, &self.names.0)?,
            // A store written before fingerprints were recorded has none: whoever starts
            // first would claim it. A stored secret that opens is the proof that this key
            // file is the one (or there is nothing to read yet).
            None => self.opens_what_is_stored(bound).await?,
        }
        let durable = tokio::time::timeout(
            bound,
            self.durable
                .claim_key_fingerprint(&self.fingerprint, unix_now()),
        )
        .await
        .map_err(|_| timed_out())?
        .map_err(KeyCheckError::Unreachable)?;
        self.compare(&durable, &self.names.0)?;
        let ephemeral = tokio::time::timeout(
            bound,
            self.ephemeral.claim_key_fingerprint(&self.fingerprint),
        )
        .await
        .map_err(|_| timed_out())?
        .map_err(KeyCheckError::Unreachable)?;
        self.compare(&ephemeral, &self.names.1)
    }

    async fn opens_what_is_stored(&self, bound: std::time::Duration) -> Result<(), KeyCheckError> {
        let stored = tokio::time::timeout(bound, self.durable.all_factors())
            .await
            .map_err(|_| KeyCheckError::Unreachable(StoreError::Unavailable("timed out")))?
            .map_err(KeyCheckError::Unreachable)?;
        let Some(record) = stored.first() else {
            return Ok(());
        };
        let context = crate::factors::service::secret_context(record);
        if self.keys.open(&record.secret, &context).is_ok() {
            return Ok(());
        }
        Err(KeyCheckError::Differ(format!(
            "the key file {file} (fingerprint {ours}) cannot open the factors stored in {store}: \
             every gateway sharing these stores must use the same key file. Copy the key file \
             of a gateway that works with these stores to {file} on this one, and start it \
             again.",
            file = self.keys_file.display(),
            ours = self.fingerprint,
            store = self.names.0,
        )))
    }

    fn compare(&self, theirs: &str, store: &str) -> Result<(), KeyCheckError> {
        if theirs == self.fingerprint {
            return Ok(());
        }
        Err(KeyCheckError::Differ(format!(
            "the key file {file} (fingerprint {ours}) is not the one {store} was written with \
             (fingerprint {theirs}): every gateway sharing these stores must use the same key \
             file, or none of the sessions, logins and factors the others wrote can be read. \
             Copy the key file of a gateway that works with these stores (`mfa-gateway keys \
             fingerprint` there prints {theirs}) to {file} on this one, and start it again.",
            file = self.keys_file.display(),
            ours = self.fingerprint,
        )))
    }

    /// Checks again every few seconds until the stores answer; a gateway whose keys differ
    /// then stops rather than serve with keys that read nothing.
    async fn until_checked(self) {
        loop {
            tokio::time::sleep(std::time::Duration::from_secs(5)).await;
            match self.run().await {
                Ok(()) => {
                    tracing::info!("the key file matches the shared stores");
                    self.checked
                        .store(true, std::sync::atomic::Ordering::SeqCst);
                    return;
                }
                Err(KeyCheckError::Differ(message)) => {
                    tracing::error!("{message}");
                    // The log is written by its own thread: give it time to write this line,
                    // which exiting would otherwise lose.
                    tokio::time::sleep(std::time::Duration::from_millis(300)).await;
                    std::process::exit(1);
                }
                Err(KeyCheckError::Unreachable(_)) => {}
            }
        }
    }
}

/// The stores as the operator knows them: where the config puts them.
fn store_names(config: &Config) -> (String, String) {
    let durable = match &config.state.durable {
        DurableConfig::Sqlite => format!(
            "the database {}",
            config.data_dir.join("factors.sqlite3").display()
        ),
        DurableConfig::Postgres { .. } => "the PostgreSQL database (state.database_url)".into(),
    };
    let ephemeral = match &config.state.ephemeral {
        EphemeralConfig::Memory => "this process's memory".into(),
        EphemeralConfig::Redis { prefix, .. } => {
            format!("Redis (state.redis_url, keys under {prefix:?})")
        }
    };
    (durable, ephemeral)
}

/// How this gateway names itself in audit records: host name and first listener.
fn instance_name(config: &Config) -> String {
    let host = std::fs::read_to_string("/proc/sys/kernel/hostname")
        .map(|h| h.trim().to_string())
        .unwrap_or_else(|_| "gateway".into());
    match config.listeners.first() {
        Some(listener) => format!("{host}/{}", listener.address),
        None => host,
    }
}

/// The durable store the config names; PostgreSQL's migrations run now if it answers, else
/// in the background until it does (requests fail closed meanwhile).
pub async fn open_durable(config: &Config) -> Result<AnyDurable, MfaSetupError> {
    Ok(match &config.state.durable {
        DurableConfig::Sqlite => {
            AnyDurable::sqlite(SqliteStore::open(&config.data_dir.join("factors.sqlite3")).await?)
        }
        DurableConfig::Postgres {
            url,
            max_connections,
        } => {
            let store = PostgresStore::connect(&url.0, *max_connections)?;
            if let Err(error) = store.migrate().await {
                tracing::error!(error = %crate::ops::error_chain(&error), "PostgreSQL not reachable at start; retrying in the background");
                let retry = store.clone();
                tokio::spawn(async move {
                    loop {
                        tokio::time::sleep(std::time::Duration::from_secs(5)).await;
                        if retry.migrate().await.is_ok() {
                            tracing::info!("PostgreSQL reachable; schema up to date");
                            return;
                        }
                    }
                });
            }
            AnyDurable::postgres(store)
        }
    })
}

pub async fn open_ephemeral(config: &Config) -> Result<AnyEphemeral, MfaSetupError> {
    Ok(match &config.state.ephemeral {
        EphemeralConfig::Memory => AnyEphemeral::memory(MemoryStore::new()),
        EphemeralConfig::Redis {
            url,
            prefix,
            timeout,
            sentinel,
            cluster,
            ..
        } => {
            let topology = match (sentinel, cluster) {
                (Some(s), _) => Topology::Sentinel {
                    service: s.service.clone(),
                    sentinels: s.sentinels.clone(),
                },
                (None, Some(nodes)) => Topology::Cluster {
                    nodes: nodes.clone(),
                },
                (None, None) => Topology::Single,
            };
            AnyEphemeral::redis(RedisStore::connect(&url.0, prefix, *timeout, topology).await?)
        }
    })
}

/// The one place the flow reads the clock; everything below takes `now` as a parameter.
pub fn unix_now() -> i64 {
    crate::ops::clock::unix_now()
}

/// 256 random bits from the OS CSPRNG, base64url: challenge and session ids.
pub fn random_id() -> String {
    use base64::Engine;
    let mut bytes = [0u8; 32];
    rand::RngCore::fill_bytes(&mut rand::rngs::OsRng, &mut bytes);
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(bytes)
}
