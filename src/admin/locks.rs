//! Locks: an administrator's lock on a user, and lifting every lock that keeps a user or an
//! address out.

use super::remote;
use super::state::{StateOp, StateReply};
use super::{Admin, AdminError};
use crate::regulation::Subject;
use crate::store::DurableStore;

/// An address lock as `client list` shows it.
#[derive(Debug, Clone, serde::Serialize)]
pub struct ClientLock {
    pub address: String,
    /// What the lock refuses: second-factor codes (every app), or one app's logins.
    pub refuses: String,
    pub locked_until: i64,
}

impl Admin {
    pub(super) async fn locks(&self, now: i64) -> Result<Vec<(String, i64)>, AdminError> {
        match self.state(StateOp::Locks, now).await? {
            StateReply::Locks(locks) => Ok(locks),
            _ => Err(remote::RemoteError::Answer.into()),
        }
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

    /// The end of the user's lock: an administrator's, or the one on browsers new to the
    /// account (their own browsers may still sign in).
    pub(super) fn user_lock(locks: &[(String, i64)], realm: &str, user: &str) -> Option<i64> {
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
}
