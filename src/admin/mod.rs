//! What the admin commands do (`mfa-gateway user …`, `session …`), on the stores a config file
//! names: list and show users, reset a user's factors, lock and unlock, invite a first
//! enrollment, list and revoke sessions. Durable state is opened directly (SQLite or
//! PostgreSQL); sessions and locks live in Redis (opened directly) or, without Redis, in the
//! running gateway's memory (reached through its admin listener, `remote`). Every change is
//! written to the audit trail with the operator's name. Nothing here prints or returns a
//! secret except the one invitation code `invite` makes to be handed out.

pub mod remote;
pub mod rotate;
pub mod state;

use crate::audit::{Audit, Event};
use crate::config::{Config, EphemeralConfig};
use crate::factors::recovery::RecoveryCode;
use crate::keys::KeyRing;
use crate::regulation::Subject;
use crate::store::{AnyDurable, DurableStore, FactorRecord, Invite, StoreError};
use state::{SessionView, StateOp, StateReply};
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

/// Where sessions and locks are: a shared store every process reaches, or the running
/// gateway's memory (reached through its admin listener, or not at all without one).
enum StateAccess {
    Direct(crate::store::AnyEphemeral),
    Gateway(remote::GatewayClient),
    Unreachable,
}

/// Whether a running gateway holds the lock file (a file that cannot be opened counts as held:
/// not knowing is not proof of a stopped gateway).
fn gateway_holds(lock: &std::path::Path) -> bool {
    match std::fs::OpenOptions::new().write(true).open(lock) {
        Ok(file) => match file.try_lock() {
            Ok(()) => {
                let _ = file.unlock();
                false
            }
            Err(_) => true,
        },
        Err(e) => e.kind() != std::io::ErrorKind::NotFound,
    }
}

/// Why sessions and locks could not be asked for.
#[derive(Debug, Clone, Copy)]
enum Absent {
    /// Nothing listens at the admin address: the gateway is stopped, and with it the memory
    /// its sessions and locks lived in.
    NotRunning(std::net::SocketAddr),
    /// No admin listener is configured: a running gateway may hold some.
    NoListener,
}

impl Absent {
    fn note(self) -> String {
        match self {
            Absent::NotRunning(addr) => format!(
                "note: the gateway is not running (nothing answers at {addr}); it keeps sessions and locks in its memory, so there are none. Users, factors and invitations are read from the database."
            ),
            Absent::NoListener => "note: sessions and locks are not shown: this gateway keeps them in its own memory and the config has no admin listener (admin.address) to reach it. Users, factors and invitations are read from the database.".to_string(),
        }
    }
}

/// One enrolled user as `user list` shows it.
#[derive(Debug, Clone, serde::Serialize)]
pub struct UserRow {
    pub realm: String,
    pub user: String,
    pub apps: Vec<String>,
    pub methods: Vec<String>,
    pub recovery_codes_left: u32,
    pub enrolled_at: Option<i64>,
    pub last_used_at: Option<i64>,
    pub locked_until: Option<i64>,
}

/// `user show`: the row, the user's sessions and a pending invitation.
#[derive(Debug, Clone, serde::Serialize)]
pub struct UserDetail {
    #[serde(flatten)]
    pub row: UserRow,
    pub sessions: Vec<SessionView>,
    pub devices: Vec<DeviceView>,
    pub invite_expires_at: Option<i64>,
}

/// A remembered browser (device credential) as admin commands show it: named by the first 16
/// characters of its id, as the audit trail names it.
#[derive(Debug, Clone, serde::Serialize)]
pub struct DeviceView {
    pub id: String,
    pub user_agent: String,
    pub client: String,
    pub created_at: i64,
    pub last_used_at: i64,
    pub expires_at: i64,
}

impl DeviceView {
    fn of(d: &crate::store::Device) -> DeviceView {
        DeviceView {
            id: d.id.chars().take(16).collect(),
            user_agent: d.user_agent.clone(),
            client: d.client.clone(),
            created_at: d.created_at,
            last_used_at: d.last_used_at,
            expires_at: d.expires_at,
        }
    }
}

/// `user pending`: how first-login enrollment stands in the realm, and who has no factor.
#[derive(Debug, Clone, serde::Serialize)]
pub struct Pending {
    /// Per app of the realm: how a user without a factor enrolls there now.
    pub enrollment: Vec<(String, String)>,
    pub users: Vec<PendingUser>,
}

/// A user without a factor: seen signing in with their password (first and last time), or
/// named in the list given and never seen.
#[derive(Debug, Clone, serde::Serialize)]
pub struct PendingUser {
    pub user: String,
    pub first_seen_at: Option<i64>,
    pub last_seen_at: Option<i64>,
}

/// An address lock as `client list` shows it.
#[derive(Debug, Clone, serde::Serialize)]
pub struct ClientLock {
    pub address: String,
    /// What the lock refuses: second-factor codes (every app), or one app's logins.
    pub refuses: String,
    pub locked_until: i64,
}

/// What `user reset` did.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
pub struct Reset {
    pub authenticator_removed: bool,
    pub recovery_codes_removed: u32,
    pub sessions_ended: u32,
    /// Browsers remembered for the user (device credentials) that no longer count as theirs.
    pub devices_forgotten: u64,
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

    async fn state(&self, op: StateOp, now: i64) -> Result<StateReply, AdminError> {
        match &self.state {
            StateAccess::Direct(store) => Ok(state::apply(store, op, now).await?),
            StateAccess::Gateway(client) => match client.send(&op, now).await {
                Err(remote::RemoteError::Connect(addr, e))
                    if e.kind() == std::io::ErrorKind::ConnectionRefused =>
                {
                    // Refused is not proof of "stopped" (another address, a firewall): only a
                    // lock no running gateway holds is.
                    let lock = crate::mfa::running_lock_file(&self.config);
                    if gateway_holds(&lock) {
                        return Err(AdminError::Unreachable {
                            addr,
                            lock: lock.display().to_string(),
                        });
                    }
                    self.without_state(op, Absent::NotRunning(addr))
                }
                answer => Ok(answer?),
            },
            StateAccess::Unreachable => self.without_state(op, Absent::NoListener),
        }
    }

    /// The answer when the state is out of reach. A stopped gateway's memory is gone: it has
    /// no sessions or locks, so reads are empty and ends end nothing, but a lock cannot be set.
    /// Without a listener a running gateway may have some: reads are empty (and say so),
    /// changes are refused.
    fn without_state(&self, op: StateOp, why: Absent) -> Result<StateReply, AdminError> {
        let reply = match (op, why) {
            (StateOp::Sessions { .. }, _) => StateReply::Sessions(Vec::new()),
            (StateOp::Locks, _) => StateReply::Locks(Vec::new()),
            (StateOp::EndSession { .. }, Absent::NotRunning(_)) => StateReply::Done(false),
            (StateOp::EndUserSessions { .. }, Absent::NotRunning(_)) => StateReply::Count(0),
            (StateOp::SetLock { until: None, .. }, Absent::NotRunning(_)) => {
                StateReply::Done(false)
            }
            (StateOp::SetLock { until: Some(_), .. }, Absent::NotRunning(addr)) => {
                return Err(AdminError::NotRunning(addr))
            }
            (_, Absent::NoListener) => return Err(AdminError::NoAdminListener),
        };
        if let Ok(mut absent) = self.absent.lock() {
            *absent = Some(why);
        }
        Ok(reply)
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

    async fn locks(&self, now: i64) -> Result<Vec<(String, i64)>, AdminError> {
        match self.state(StateOp::Locks, now).await? {
            StateReply::Locks(locks) => Ok(locks),
            _ => Err(remote::RemoteError::Answer.into()),
        }
    }

    /// The end of the user's lock: an administrator's, or the one on browsers new to the
    /// account (their own browsers may still sign in).
    fn user_lock(locks: &[(String, i64)], realm: &str, user: &str) -> Option<i64> {
        let (realm, user) = (realm.to_string(), user.to_string());
        let keys = [
            Subject::User {
                realm: realm.clone(),
                user: user.clone(),
            }
            .key(),
            Subject::NewBrowsers { realm, user }.key(),
        ];
        locks
            .iter()
            .filter(|(s, _)| keys.contains(s))
            .map(|(_, until)| *until)
            .max()
    }

    /// Enrolled users (and locked ones without a factor), by realm and name.
    pub async fn users(&self, realm: Option<&str>, now: i64) -> Result<Vec<UserRow>, AdminError> {
        let locks = self.locks(now).await?;
        let mut rows = Vec::new();
        let mut enrolled: Vec<Vec<FactorRecord>> = Vec::new();
        // In (realm, user) order: a user's factors are side by side.
        for record in self.durable.all_factors().await? {
            if realm.is_some_and(|r| r != record.realm) {
                continue;
            }
            match enrolled.last_mut() {
                Some(last)
                    if last
                        .first()
                        .is_some_and(|f| (&f.realm, &f.user) == (&record.realm, &record.user)) =>
                {
                    last.push(record)
                }
                _ => enrolled.push(vec![record]),
            }
        }
        for factors in &enrolled {
            let Some(first) = factors.first() else {
                continue;
            };
            let left = self
                .durable
                .recovery_codes_left(&first.realm, &first.user)
                .await?;
            rows.push(self.row(&first.realm, &first.user, factors, left, &locks));
        }
        for (subject, _) in &locks {
            if let Some(
                Subject::User { realm: r, user } | Subject::NewBrowsers { realm: r, user },
            ) = Subject::parse(subject)
            {
                let listed = rows.iter().any(|row| row.realm == r && row.user == user);
                if !listed && realm.is_none_or(|want| want == r) {
                    rows.push(self.row(&r, &user, &[], 0, &locks));
                }
            }
        }
        rows.sort_by(|a, b| (&a.realm, &a.user).cmp(&(&b.realm, &b.user)));
        Ok(rows)
    }

    fn row(
        &self,
        realm: &str,
        user: &str,
        factors: &[FactorRecord],
        left: u32,
        locks: &[(String, i64)],
    ) -> UserRow {
        let mut methods: Vec<String> = factors.iter().map(|f| f.method.clone()).collect();
        if left > 0 {
            methods.push("recovery_code".to_string());
        }
        UserRow {
            realm: realm.to_string(),
            user: user.to_string(),
            apps: self.apps_of(realm),
            methods,
            recovery_codes_left: left,
            enrolled_at: factors.iter().map(|f| f.created_at).min(),
            last_used_at: factors.iter().filter_map(|f| f.last_used_at).max(),
            locked_until: Self::user_lock(locks, realm, user),
        }
    }

    pub async fn user(&self, realm: &str, user: &str, now: i64) -> Result<UserDetail, AdminError> {
        let factors = self.durable.factors(realm, user).await?;
        let left = self.durable.recovery_codes_left(realm, user).await?;
        let locks = self.locks(now).await?;
        let sessions = self.sessions(Some((realm, user)), now).await?;
        let invite = self.durable.invite(realm, user, now).await?;
        let devices = self.devices(realm, user, now).await?;
        Ok(UserDetail {
            row: self.row(realm, user, &factors, left, &locks),
            sessions,
            devices,
            invite_expires_at: invite.map(|i| i.expires_at),
        })
    }

    /// Who in the realm has no factor yet: everyone seen signing in without one, or (given
    /// `names`, e.g. the app's user list) each of those names without one. And how a user
    /// without a factor enrolls now, per app.
    pub async fn pending(
        &self,
        realm: &str,
        names: Option<Vec<String>>,
        now: i64,
    ) -> Result<Pending, AdminError> {
        let opened = self.durable.enrollment_opened(realm).await?;
        let enrollment = self
            .config
            .apps
            .iter()
            .filter_map(|a| Some((a.name.clone(), a.mfa.as_ref()?)))
            .filter(|(_, m)| m.realm == realm)
            .map(|(name, m)| (name, enrollment_now(&m.enrollment, opened, now)))
            .collect();
        let seen = self.durable.unenrolled(realm).await?;
        let candidates: Vec<PendingUser> = match names {
            None => seen
                .into_iter()
                .map(|u| PendingUser {
                    user: u.user,
                    first_seen_at: Some(u.first_seen_at),
                    last_seen_at: Some(u.last_seen_at),
                })
                .collect(),
            Some(names) => {
                let mut list: Vec<String> = names
                    .iter()
                    .map(|n| self.identity(realm, n))
                    .filter(|n| !n.is_empty())
                    .collect();
                list.sort();
                list.dedup();
                list.into_iter()
                    .map(|user| {
                        let met = seen.iter().find(|u| u.user == user);
                        PendingUser {
                            first_seen_at: met.map(|u| u.first_seen_at),
                            last_seen_at: met.map(|u| u.last_seen_at),
                            user,
                        }
                    })
                    .collect()
            }
        };
        let mut users = Vec::new();
        for candidate in candidates {
            let who = crate::factors::service::Subject {
                realm,
                user: &candidate.user,
                now,
            };
            let env = crate::factors::service::Env {
                store: &self.durable,
                keys: &self.keys,
                tuning: Default::default(),
            };
            // The registry the gateway runs with: the same answer to "enrolled?" as at login.
            let factors = crate::factors::service::Factors::standard();
            if !factors.enrolled(&env, &who).await?.any() {
                users.push(candidate);
            }
        }
        Ok(Pending { enrollment, users })
    }

    /// The browsers remembered for the user, most recently used first.
    pub async fn devices(
        &self,
        realm: &str,
        user: &str,
        now: i64,
    ) -> Result<Vec<DeviceView>, AdminError> {
        let mut list = self.durable.devices(realm, user, now).await?;
        list.sort_by_key(|d| std::cmp::Reverse(d.last_used_at));
        Ok(list.iter().map(DeviceView::of).collect())
    }

    /// Forgets one remembered browser of the user (named by its id's first 8 or more
    /// characters), or all of them: from then on it is judged as any new browser. How many
    /// were forgotten.
    pub async fn forget_devices(
        &self,
        realm: &str,
        user: &str,
        id: Option<&str>,
        now: i64,
    ) -> Result<u64, AdminError> {
        let full = match id {
            None => None,
            Some(prefix) => {
                let list = self.durable.devices(realm, user, now).await?;
                let mut found = list
                    .iter()
                    .filter(|d| prefix.len() >= 8 && d.id.starts_with(prefix));
                match (found.next(), found.next()) {
                    (Some(d), None) => Some(d.id.clone()),
                    (None, _) => {
                        return Err(AdminError::Usage(format!(
                            "no remembered browser of {user} ({realm}) has an id starting {prefix:?} (8 or more characters, as `user devices` shows)"
                        )))
                    }
                    (Some(_), Some(_)) => {
                        return Err(AdminError::Usage(format!(
                            "several remembered browsers of {user} have ids starting {prefix:?}: give more characters"
                        )))
                    }
                }
            }
        };
        let device: String = full
            .as_deref()
            .map_or_else(|| "all".to_string(), |id| id.chars().take(16).collect());
        self.change(
            "admin_devices_forgotten",
            realm,
            Some(user),
            now,
            false,
            async {
                let forgotten = self
                    .durable
                    .remove_devices(realm, user, full.as_deref())
                    .await?;
                let detail = vec![
                    ("device", device),
                    ("devices_forgotten", forgotten.to_string()),
                ];
                Ok((forgotten, detail))
            },
        )
        .await
    }

    /// Removes the user's factors so they enroll again at their next login, after ending their
    /// sessions (first: if that fails, nothing is removed).
    pub async fn reset(&self, realm: &str, user: &str, now: i64) -> Result<Reset, AdminError> {
        self.change("admin_user_reset", realm, Some(user), now, false, async {
            let ended = self.end_user_sessions(realm, user, now).await?;
            let left = self.durable.recovery_codes_left(realm, user).await?;
            let mut removed = false;
            for factor in self.durable.factors(realm, user).await? {
                removed |= self
                    .durable
                    .remove_factor(realm, user, &factor.method)
                    .await?;
            }
            self.durable
                .replace_recovery_codes(realm, user, &[], now)
                .await?;
            // A lost phone may be a lost laptop too: no browser keeps the user's standing.
            let devices = self.durable.remove_devices(realm, user, None).await?;
            let detail = vec![
                ("authenticator_removed", removed.to_string()),
                ("recovery_codes_removed", left.to_string()),
                ("sessions_ended", ended.to_string()),
                ("devices_forgotten", devices.to_string()),
            ];
            let reset = Reset {
                authenticator_removed: removed,
                recovery_codes_removed: left,
                sessions_ended: ended,
                devices_forgotten: devices,
            };
            Ok((reset, detail))
        })
        .await
    }

    async fn end_user_sessions(
        &self,
        realm: &str,
        user: &str,
        now: i64,
    ) -> Result<u32, AdminError> {
        let op = StateOp::EndUserSessions {
            realm: realm.into(),
            user: user.into(),
        };
        match self.state(op, now).await? {
            StateReply::Count(n) => Ok(n),
            _ => Err(remote::RemoteError::Answer.into()),
        }
    }

    /// Locks the user (sign-ins refused, even with a correct code) until `until`.
    pub async fn lock(
        &self,
        realm: &str,
        user: &str,
        until: i64,
        now: i64,
    ) -> Result<(), AdminError> {
        self.change("user_locked", realm, Some(user), now, false, async {
            self.set_lock(realm, user, Some(until), now).await?;
            let detail = vec![
                ("reason", "locked by an administrator".into()),
                ("locked_until", crate::ops::time::rfc3339(until)),
            ];
            Ok(((), detail))
        })
        .await
    }

    /// Lifts every lock that keeps the user out — an administrator's, the one on new browsers,
    /// each of their devices', and the slowing of logins typed as their name in the realm's
    /// apps — and forgets the failures; true when a lock was in force.
    pub async fn unlock(&self, realm: &str, user: &str, now: i64) -> Result<bool, AdminError> {
        self.change("user_unlocked", realm, Some(user), now, true, async {
            let was = self.lift_user_locks(realm, user, now).await?;
            Ok((was, vec![("was_locked", was.to_string())]))
        })
        .await
    }

    async fn lift_user_locks(&self, realm: &str, user: &str, now: i64) -> Result<bool, AdminError> {
        let mut was = self.set_lock(realm, user, None, now).await?;
        let devices = self.durable.devices(realm, user, now).await?;
        let name: String = crate::config::lookalike(user).chars().take(256).collect();
        let apps: Vec<String> = self
            .realms()
            .into_iter()
            .filter(|(r, _)| r == realm)
            .flat_map(|(_, apps)| apps)
            .collect();
        let subjects = std::iter::once(Subject::NewBrowsers {
            realm: realm.into(),
            user: user.into(),
        })
        .chain(devices.into_iter().map(|d| Subject::Device(d.id)))
        .chain(apps.into_iter().map(|app| Subject::LoginUser {
            app,
            user: name.clone(),
        }));
        for subject in subjects {
            let op = StateOp::SetLock {
                subject: subject.key(),
                until: None,
            };
            match self.state(op, now).await? {
                StateReply::Done(lifted) => was |= lifted,
                _ => return Err(remote::RemoteError::Answer.into()),
            }
        }
        Ok(was)
    }

    async fn set_lock(
        &self,
        realm: &str,
        user: &str,
        until: Option<i64>,
        now: i64,
    ) -> Result<bool, AdminError> {
        let subject = Subject::User {
            realm: realm.into(),
            user: user.into(),
        }
        .key();
        match self.state(StateOp::SetLock { subject, until }, now).await? {
            StateReply::Done(was) => Ok(was),
            _ => Err(remote::RemoteError::Answer.into()),
        }
    }

    /// Locks on client addresses in force, by address.
    pub async fn client_locks(&self, now: i64) -> Result<Vec<ClientLock>, AdminError> {
        let mut rows: Vec<ClientLock> = self
            .locks(now)
            .await?
            .into_iter()
            .filter_map(|(key, until)| {
                let (address, refuses) = match Subject::parse(&key)? {
                    Subject::Client(ip) => (
                        ip.to_canonical().to_string(),
                        "second-factor codes".to_string(),
                    ),
                    Subject::Network(net) => (net.to_string(), "second-factor codes".to_string()),
                    Subject::LoginClient { app, ip } => {
                        (ip.to_canonical().to_string(), format!("logins to {app}"))
                    }
                    Subject::User { .. }
                    | Subject::NewBrowsers { .. }
                    | Subject::Device(_)
                    | Subject::LoginUser { .. } => return None,
                };
                Some(ClientLock {
                    address,
                    refuses,
                    locked_until: until,
                })
            })
            .collect();
        rows.sort_by(|a, b| (&a.address, &a.refuses).cmp(&(&b.address, &b.refuses)));
        Ok(rows)
    }

    /// Lifts every lock on the address (its second-factor codes, its network's, and each app's
    /// logins) and forgets its failures; how many locks were in force.
    pub async fn unlock_client(&self, ip: std::net::IpAddr, now: i64) -> Result<u32, AdminError> {
        let ip = ip.to_canonical();
        // Counted by its /64 (IPv6); older locks under the address itself, or (a client on a
        // dual-stack listener) its IPv4-mapped IPv6 spelling.
        let mut spellings = vec![crate::regulation::client_of(ip)];
        spellings.push(ip);
        if let std::net::IpAddr::V4(v4) = ip {
            spellings.push(std::net::IpAddr::V6(v4.to_ipv6_mapped()));
        }
        spellings.dedup();
        let apps: Vec<String> = self.realms().into_iter().flat_map(|(_, a)| a).collect();
        self.change_unscoped("client_unlocked", now, async {
            let lifted = self.lift_client_locks(ip, &spellings, &apps, now).await?;
            let detail = vec![
                ("client", ip.to_string()),
                ("locks_lifted", lifted.to_string()),
            ];
            Ok((lifted, detail))
        })
        .await
    }

    async fn lift_client_locks(
        &self,
        ip: std::net::IpAddr,
        spellings: &[std::net::IpAddr],
        apps: &[String],
        now: i64,
    ) -> Result<u32, AdminError> {
        let mut lifted = 0;
        let network = Subject::Network(crate::regulation::network_of(ip));
        for (i, ip) in spellings.iter().copied().enumerate() {
            let network = (i == 0).then(|| network.clone());
            let subjects =
                std::iter::once(Subject::Client(ip))
                    .chain(network)
                    .chain(apps.iter().map(move |app| Subject::LoginClient {
                        app: app.clone(),
                        ip,
                    }));
            for subject in subjects {
                let op = StateOp::SetLock {
                    subject: subject.key(),
                    until: None,
                };
                match self.state(op, now).await? {
                    StateReply::Done(was) => lifted += u32::from(was),
                    _ => return Err(remote::RemoteError::Answer.into()),
                }
            }
        }
        Ok(lifted)
    }

    /// A one-time enrollment code for the user, valid for `valid_secs` (replacing any earlier
    /// one). The code is returned to be shown once; only its keyed hash is stored.
    pub async fn invite(
        &self,
        realm: &str,
        user: &str,
        valid_secs: i64,
        now: i64,
    ) -> Result<(RecoveryCode, i64), AdminError> {
        let code = crate::factors::invite::generate();
        let hash = crate::factors::invite::hash(&self.keys, realm, user, code.normalised())
            .ok_or_else(|| AdminError::Usage("invitation code could not be made".into()))?;
        let expires_at = now.saturating_add(valid_secs);
        let invite = Invite {
            realm: realm.into(),
            user: user.into(),
            created_at: now,
            expires_at,
            created_by: self.operator.clone(),
        };
        self.change("admin_user_invited", realm, Some(user), now, true, async {
            self.durable.put_invite(&invite, &hash).await?;
            let detail = vec![("expires_at", crate::ops::time::rfc3339(expires_at))];
            Ok(((), detail))
        })
        .await?;
        Ok((code, expires_at))
    }

    pub async fn sessions(
        &self,
        user: Option<(&str, &str)>,
        now: i64,
    ) -> Result<Vec<SessionView>, AdminError> {
        let op = StateOp::Sessions {
            user: user.map(|(r, u)| (r.to_string(), u.to_string())),
        };
        match self.state(op, now).await? {
            StateReply::Sessions(list) => Ok(list),
            _ => Err(remote::RemoteError::Answer.into()),
        }
    }

    /// Ends the one live session whose id starts with `prefix` (at least 8 hex digits; the
    /// audit trail shows 16).
    pub async fn revoke(&self, prefix: &str, now: i64) -> Result<SessionView, AdminError> {
        let prefix = prefix.trim().to_ascii_lowercase();
        if prefix.len() < 8 || !prefix.bytes().all(|b| b.is_ascii_hexdigit()) {
            return Err(AdminError::Usage(
                "a session id is at least 8 hex digits (as `session list` and the audit trail show them)".into(),
            ));
        }
        let matching: Vec<SessionView> = self
            .sessions(None, now)
            .await?
            .into_iter()
            .filter(|s| s.id.starts_with(&prefix))
            .collect();
        let session = match matching.as_slice() {
            [one] => one.clone(),
            [] => return Err(AdminError::Usage(format!("no live session {prefix}"))),
            _ => {
                return Err(AdminError::Usage(format!(
                    "{prefix} names several sessions: give more digits"
                )))
            }
        };
        let (realm, user) = (session.realm.clone(), session.user.clone());
        self.change("session_ended", &realm, Some(&user), now, false, async {
            let op = StateOp::EndSession {
                id: session.id.clone(),
            };
            match self.state(op, now).await? {
                StateReply::Done(_) => {}
                _ => return Err(remote::RemoteError::Answer.into()),
            }
            let detail = vec![
                ("reason", "revoked by an administrator".into()),
                ("session", session.id.chars().take(16).collect()),
            ];
            Ok(((), detail))
        })
        .await?;
        Ok(session)
    }

    /// Ends every session of a user; how many ended.
    pub async fn revoke_user(&self, realm: &str, user: &str, now: i64) -> Result<u32, AdminError> {
        self.change("session_ended", realm, Some(user), now, false, async {
            let ended = self.end_user_sessions(realm, user, now).await?;
            let detail = vec![
                ("reason", "revoked by an administrator".into()),
                ("sessions_ended", ended.to_string()),
            ];
            Ok((ended, detail))
        })
        .await
    }

    /// Makes an admin change on `user` of `realm` between its two audit records (see
    /// `audit::changes`): `change_begun` first, then `event` with the detail the change gives
    /// back with its result, or `change_failed` with what the stores hold. When the begin
    /// record cannot be written, a change that grants access is not made (an operator's grant
    /// is never unrecorded); one that takes access away (a revoked session, a lock, a reset)
    /// is, with its record written after if the sink is back: an incident must not stop the
    /// operator from shutting a door.
    async fn change<T>(
        &self,
        event: &'static str,
        realm: &str,
        user: Option<&str>,
        now: i64,
        grants: bool,
        change: impl std::future::Future<Output = Result<(T, Detail), AdminError>>,
    ) -> Result<T, AdminError> {
        let scope = Scope {
            app: self.app_of(realm),
            realm: Some(realm),
            user,
            grants,
        };
        self.change_in(event, scope, now, change).await
    }

    /// `change` of a change no realm scopes (an address's locks), which grants access.
    async fn change_unscoped<T>(
        &self,
        event: &'static str,
        now: i64,
        change: impl std::future::Future<Output = Result<(T, Detail), AdminError>>,
    ) -> Result<T, AdminError> {
        let scope = Scope {
            app: "-".to_string(),
            realm: None,
            user: None,
            grants: true,
        };
        self.change_in(event, scope, now, change).await
    }

    async fn change_in<T>(
        &self,
        event: &'static str,
        scope: Scope<'_>,
        now: i64,
        change: impl std::future::Future<Output = Result<(T, Detail), AdminError>>,
    ) -> Result<T, AdminError> {
        let base: Detail = scope
            .realm
            .map(|r| ("realm", r.to_string()))
            .into_iter()
            .collect();
        let (app, user) = (scope.app.as_str(), scope.user);
        let begun = match self.write(event, app, user, now, base.clone(), Phase::Begin) {
            Ok(begun) => begun,
            Err(error) if scope.grants => return Err(error),
            Err(error) => {
                tracing::error!(error = %crate::ops::error_chain(&error), event, "audit record not written: the change goes on (it takes access away)");
                None
            }
        };
        match change.await {
            Ok((value, detail)) => {
                let mut fields = base;
                fields.extend(detail);
                let written = self.write(event, app, user, now, fields, Phase::Finish(begun));
                match written {
                    Ok(_) => Ok(value),
                    Err(error) if scope.grants => Err(error),
                    Err(error) => {
                        tracing::error!(error = %crate::ops::error_chain(&error), event, "the change was made; its audit record was not written");
                        Ok(value)
                    }
                }
            }
            Err(error) => {
                let mut fields = base;
                if let (Some(realm), Some(user)) = (scope.realm, user) {
                    fields.extend(self.state_of(realm, user, now).await);
                }
                let failed = Phase::Fail(begun, "a step failed: see what the stores hold now");
                // The change's own error is the one to report.
                let _ = self.write(event, app, user, now, fields, failed);
                Err(error)
            }
        }
    }

    /// What the stores hold for the user now (bounded), for a change that failed part-way.
    async fn state_of(&self, realm: &str, user: &str, now: i64) -> Detail {
        let ephemeral = match &self.state {
            StateAccess::Direct(ephemeral) => Some(ephemeral),
            _ => None,
        };
        let stores = crate::mfa::reconcile::Stores {
            durable: &self.durable,
            ephemeral,
        };
        let asked = crate::mfa::reconcile::state_of(stores, realm, user, now);
        match tokio::time::timeout(std::time::Duration::from_secs(2), asked).await {
            Ok(Ok(state)) => state,
            _ => vec![("state", "unknown: a store could not be read".to_string())],
        }
    }

    /// The app named in a realm's records: its first, or the realm's name.
    fn app_of(&self, realm: &str) -> String {
        self.apps_of(realm)
            .into_iter()
            .next()
            .unwrap_or_else(|| realm.to_string())
    }

    /// Writes a record of `phase`, with the operator and how the change was made; a begin
    /// record gives back its handle.
    fn write(
        &self,
        event: &'static str,
        app: &str,
        user: Option<&str>,
        now: i64,
        detail: Detail,
        phase: Phase<'_>,
    ) -> Result<Option<crate::audit::Begun<'_>>, AdminError> {
        let mut fields = vec![
            ("operator", self.operator.clone()),
            ("via", "cli".to_string()),
        ];
        fields.extend(detail);
        let record = Event {
            event,
            app,
            user,
            outcome: "accepted",
            client: None,
            user_agent: None,
            request_id: None,
            session: None,
            detail: &fields,
        };
        let (audit, keys) = (&self.audit, &self.keys);
        match phase {
            Phase::Begin => return Ok(Some(audit.begin(keys, now, &record)?)),
            Phase::Finish(Some(begun)) => begun.finish(now, &record)?,
            Phase::Finish(None) => audit.record(keys, now, &record)?,
            Phase::Fail(Some(begun), reason) => begun.fail(now, &record, reason, &[])?,
            Phase::Fail(None, _) => {}
        }
        Ok(None)
    }
}

/// The detail of an admin record.
type Detail = Vec<(&'static str, String)>;

/// Which record of a change `Admin::write` writes.
enum Phase<'a> {
    Begin,
    Finish(Option<crate::audit::Begun<'a>>),
    Fail(Option<crate::audit::Begun<'a>>, &'static str),
}

/// What an admin change is about, for its records.
struct Scope<'a> {
    app: String,
    realm: Option<&'a str>,
    user: Option<&'a str>,
    /// Whether it grants access (refused while it cannot be recorded).
    grants: bool,
}

/// How a user without a factor enrolls in an app now, in words for `user pending`.
fn enrollment_now(enrollment: &crate::config::Enrollment, opened: Option<i64>, now: i64) -> String {
    use crate::config::{Closed, Enrollment};
    let Enrollment::FirstLogin(first) = enrollment else {
        return "with an administrator's code (user invite)".into();
    };
    let otherwise = match first.otherwise {
        Closed::Invite => "with an administrator's code (user invite)",
        Closed::Refuse => "refused, unless an administrator invites them (user invite)",
    };
    if first.open_ended() {
        return "at first sign-in, open-ended (whoever has the password)".into();
    }
    let whom = if first.users.is_empty() && first.pattern.is_none() {
        String::new()
    } else {
        " for the users it names".to_string()
    };
    match (first.ends(opened), first.window) {
        (Some(end), _) if end <= now => format!(
            "closed since {}: {otherwise}",
            crate::ops::time::rfc3339(end)
        ),
        (Some(end), _) => format!(
            "at first sign-in{whom} until {}; then {otherwise}",
            crate::ops::time::rfc3339(end)
        ),
        (None, Some(window)) => format!(
            "at first sign-in{whom}, for {} from the first enrollment (none yet); then {otherwise}",
            crate::ops::time::duration_words(window)
        ),
        (None, None) => format!("at first sign-in{whom}; others {otherwise}"),
    }
}
