//! Users as admin commands see them: listed, shown, pending enrollment, their remembered
//! browsers; reset and invited.

use super::state::SessionView;
use super::{Admin, AdminError};
use crate::factors::recovery::RecoveryCode;
use crate::regulation::Subject;
use crate::store::{DurableStore, FactorRecord, Invite};

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

/// What `user reset` did.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
pub struct Reset {
    pub authenticator_removed: bool,
    pub recovery_codes_removed: u32,
    pub sessions_ended: u32,
    /// Browsers remembered for the user (device credentials) that no longer count as theirs.
    pub devices_forgotten: u64,
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

impl Admin {
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
}
