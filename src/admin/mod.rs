//! What the admin commands do (`mfa-gateway user …`, `session …`), on the stores a config file
//! names: list and show users, reset a user's factors, lock and unlock, invite a first
//! enrollment, list and revoke sessions. Durable state is opened directly (SQLite or
//! PostgreSQL); sessions and locks live in Redis (opened directly) or, without Redis, in the
//! running gateway's memory (reached through its admin listener, `remote`). Every change is
//! written to the audit trail with the operator's name. Nothing here prints or returns a
//! secret except the one invitation code `invite` makes to be handed out.

mod change;
mod locks;
mod reach;
pub mod remote;
pub mod rotate;
mod sessions;
pub mod state;
mod users;

pub use locks::ClientLock;
pub use users::{DeviceView, Pending, PendingUser, Reset, UserDetail, UserRow};

use crate::audit::Audit;
use crate::config::{Config, EphemeralConfig};
use crate::keys::KeyRing;
use crate::store::{AnyDurable, StoreError};
use reach::{Absent, StateAccess};
use std::sync::Arc;

#[derive(Debug, thiserror::Error)]
pub enum AdminError {
    #[error("cannot read the key file")]
    Keys(#[from] crate::keys::KeyError),
    #[error("cannot open the stores")]
    Setup(#[from] crate::mfa::MfaSetupError),
    #[error("state store")]
    Store(#[from] StoreError),
    #[error("factors")]
    Factor(#[from] crate::factors::service::FactorError),
    #[error("sessions and locks")]
    State(#[from] state::StateError),
    #[error(transparent)]
    Remote(#[from] remote::RemoteError),
    #[error("this gateway keeps sessions and locks in its own memory (no state.redis_url), and the config has no admin listener to reach it: set admin.address, or use Redis")]
    NoAdminListener,
    #[error("the gateway is not running (nothing answers at {0}): a lock lives in its memory, so start the gateway first")]
    NotRunning(std::net::SocketAddr),
    #[error("a gateway is running with this data directory (it holds {lock}) but its admin listener at {addr} refused the connection: nothing was changed; check admin.address against the running gateway's")]
    Unreachable {
        addr: std::net::SocketAddr,
        lock: String,
    },
    #[error("the audit record could not be written (the change was made)")]
    Audit(#[from] crate::audit::AuditError),
    #[error("{0}")]
    Usage(String),
}

pub struct Admin {
    config: Config,
    keys: Arc<KeyRing>,
    durable: AnyDurable,
    state: StateAccess,
    audit: Audit,
    operator: String,
    /// Set when sessions and locks could not be asked for; the command prints it.
    absent: std::sync::Mutex<Option<Absent>>,
}

impl Admin {
    /// Opens the stores `config` names, as `operator`.
    pub async fn open(config: Config, operator: String) -> Result<Admin, AdminError> {
        let keys = Arc::new(KeyRing::load(&config.keys_file)?);
        let durable = crate::mfa::open_durable(&config).await?;
        let state = match &config.state.ephemeral {
            EphemeralConfig::Redis { .. } => {
                StateAccess::Direct(crate::mfa::open_ephemeral(&config).await?)
            }
            EphemeralConfig::Memory => match config.admin {
                Some(address) => {
                    StateAccess::Gateway(remote::GatewayClient::new(address, keys.clone()))
                }
                None => StateAccess::Unreachable,
            },
        };
        let audit = Audit::for_admin_command(&config.audit)?;
        // Another command on this host may be in the middle of a change now: only stale ones
        // were cut off.
        let now = crate::mfa::unix_now();
        let cut_off = audit.take_interrupted(&keys, crate::mfa::reconcile::cut_off("", false, now));
        let ephemeral = match &state {
            StateAccess::Direct(ephemeral) => Some(ephemeral),
            _ => None,
        };
        let stores = crate::mfa::reconcile::Stores {
            durable: &durable,
            ephemeral,
        };
        crate::mfa::reconcile::end_interrupted(&audit, &keys, stores, &config, &cut_off, now).await;
        Ok(Admin {
            config,
            keys,
            durable,
            state,
            audit,
            operator,
            absent: std::sync::Mutex::new(None),
        })
    }

    /// What the operator should know about sessions and locks that could not be asked for.
    pub fn note(&self) -> Option<String> {
        self.absent.lock().ok().and_then(|a| a.map(Absent::note))
    }

    /// Before the command exits: records queued for the audit stream are sent.
    pub async fn finish(&self) -> Result<(), AdminError> {
        if self.audit.drain(std::time::Duration::from_secs(10)).await {
            Ok(())
        } else {
            Err(AdminError::Audit(crate::audit::AuditError::Sinks(
                "redis_stream".into(),
            )))
        }
    }

    /// Every realm the config's MFA apps use, with its apps.
    pub fn realms(&self) -> Vec<(String, Vec<String>)> {
        let mut realms: Vec<(String, Vec<String>)> = Vec::new();
        for app in &self.config.apps {
            let Some(mfa) = &app.mfa else { continue };
            match realms.iter_mut().find(|(r, _)| *r == mfa.realm) {
                Some((_, apps)) => apps.push(app.name.clone()),
                None => realms.push((mfa.realm.clone(), vec![app.name.clone()])),
            }
        }
        realms
    }

    /// The realm a command means: named, through an app, or the only one there is.
    pub fn realm(&self, app: Option<&str>, realm: Option<&str>) -> Result<String, AdminError> {
        let realms = self.realms();
        let known = || {
            realms
                .iter()
                .map(|(r, apps)| format!("{r} (apps: {})", apps.join(", ")))
                .collect::<Vec<_>>()
                .join("; ")
        };
        match (app, realm) {
            (Some(_), Some(_)) => Err(AdminError::Usage("give --app or --realm, not both".into())),
            (Some(app), None) => realms
                .iter()
                .find(|(_, apps)| apps.iter().any(|a| a == app))
                .map(|(r, _)| r.clone())
                .ok_or_else(|| {
                    AdminError::Usage(format!(
                        "no app with MFA is called {app:?}; known: {}",
                        known()
                    ))
                }),
            (None, Some(realm)) => realms
                .iter()
                .find(|(r, _)| r == realm)
                .map(|(r, _)| r.clone())
                .ok_or_else(|| {
                    AdminError::Usage(format!("no realm {realm:?}; known: {}", known()))
                }),
            (None, None) => match realms.as_slice() {
                [(only, _)] => Ok(only.clone()),
                [] => Err(AdminError::Usage("no app in this config uses MFA".into())),
                _ => Err(AdminError::Usage(format!(
                    "several realms: name one with --realm or --app ({})",
                    known()
                ))),
            },
        }
    }

    fn apps_of(&self, realm: &str) -> Vec<String> {
        self.realms()
            .into_iter()
            .find(|(r, _)| r == realm)
            .map(|(_, apps)| apps)
            .unwrap_or_default()
    }

    /// A user name as the realm's apps store it (trimmed, normalised as configured).
    pub fn identity(&self, realm: &str, typed: &str) -> String {
        self.config
            .apps
            .iter()
            .filter_map(|a| a.mfa.as_ref())
            .find(|m| m.realm == realm)
            .map_or_else(|| typed.trim().to_string(), |m| m.normalize.apply(typed))
    }

    /// The app named in a realm's records: its first, or the realm's name.
    fn app_of(&self, realm: &str) -> String {
        self.apps_of(realm)
            .into_iter()
            .next()
            .unwrap_or_else(|| realm.to_string())
    }
}
