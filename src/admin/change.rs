//! An admin change between its two audit records, and what is written when a step fails.

use super::{Admin, AdminError, StateAccess};
use crate::audit::Event;

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

impl Admin {
    /// Makes an admin change on `user` of `realm` between its two audit records (see
    /// `audit::changes`): `change_begun` first, then `event` with the detail the change gives
    /// back with its result, or `change_failed` with what the stores hold. When the begin
    /// record cannot be written, a change that grants access is not made (an operator's grant
    /// is never unrecorded); one that takes access away (a revoked session, a lock, a reset)
    /// is, with its record written after if the sink is back: an incident must not stop the
    /// operator from shutting a door.
    pub(super) async fn change<T>(
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
    pub(super) async fn change_unscoped<T>(
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
