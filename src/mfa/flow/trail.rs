//! The audit records the flow writes: for information, required by a step, or around a change.

use super::Context;
use crate::mfa::MfaError;

impl Context<'_> {
    /// The audit record of `event` in this request.
    pub fn event<'e>(
        &'e self,
        event: &'static str,
        user: &'e str,
        outcome: &'static str,
        session: Option<&'e [u8; 32]>,
        detail: &'e [(&'static str, String)],
    ) -> crate::audit::Event<'e> {
        crate::audit::Event {
            event,
            app: &self.app.name,
            user: Some(user),
            outcome,
            client: Some(self.client),
            user_agent: Some(&self.user_agent),
            request_id: Some(&self.request_id),
            session,
            detail,
        }
    }

    /// Writes an audit record for information (refusals, failures, stripped cookies): a failure
    /// is logged and counted, and the request goes on whatever `on_failure` says — refusing
    /// would not make a refusal any safer.
    pub fn audit(
        &self,
        event: &'static str,
        user: &str,
        outcome: &'static str,
        session: Option<&[u8; 32]>,
        detail: &[(&'static str, String)],
    ) {
        let record = self.event(event, user, outcome, session, detail);
        if let Err(error) = self.mfa.audit.record(&self.keys, self.now, &record) {
            tracing::error!(error = %crate::ops::error_chain(&error), event, "audit record not written");
        }
    }

    /// Audits a refusal that a client may repeat on every request (a stale cookie, an unbound
    /// `Authorization`): one record per client a minute, with how many went unrecorded before
    /// it (the metrics count them all).
    pub fn audit_refusal(
        &self,
        event: &'static str,
        user: &str,
        detail: &[(&'static str, String)],
    ) {
        if let Some(repeats) = self.mfa.first_strip_in_a_while(self.client, self.now) {
            let mut detail = detail.to_vec();
            detail.push(("repeats_since_last_record", repeats.to_string()));
            self.audit(event, user, "refused", None, &detail);
        }
    }

    /// Writes an audit record that a sign-in step depends on: with `audit.on_failure: refuse`
    /// the step fails (503) when the record cannot be written.
    pub fn audit_required(
        &self,
        event: &'static str,
        user: &str,
        outcome: &'static str,
        session: Option<&[u8; 32]>,
        detail: &[(&'static str, String)],
    ) -> Result<(), MfaError> {
        let record = self.event(event, user, outcome, session, detail);
        match self.mfa.audit.record(&self.keys, self.now, &record) {
            Ok(()) => Ok(()),
            Err(error) if self.mfa.audit.refuses_on_failure() => {
                tracing::error!(error = %crate::ops::error_chain(&error), event, "audit record not written: sign-in refused");
                Err(MfaError::Audit(error))
            }
            Err(error) => {
                tracing::error!(error = %crate::ops::error_chain(&error), event, "audit record not written");
                Ok(())
            }
        }
    }

    /// Makes a factor, session or admin change between its two audit records (see
    /// `audit::changes`): `change_begun` before, `event` (or `change_failed`) after, so a crash
    /// in between leaves a trail that says so instead of a change it does not know of. With
    /// `on_failure: refuse`, a begin record that cannot be written stops the change.
    pub async fn change<T, E: From<MfaError>>(
        &self,
        event: &'static str,
        user: &str,
        session: Option<&[u8; 32]>,
        detail: &[(&'static str, String)],
        refusable: Refusable,
        change: impl std::future::Future<Output = Result<T, E>>,
    ) -> Result<T, E> {
        let record = self.event(event, user, "accepted", session, detail);
        let begun = self.begin_change(&record, refusable)?;
        let result = change.await;
        crate::ops::crash::point("change.made");
        match &result {
            Ok(_) => self.end_change(begun, &record, Ok(())),
            Err(_) => {
                // A change of several steps may have failed part-way: the record says what
                // the stores hold now.
                let state = self.state_of(user).await;
                let reason = "a store refused a step: see what the stores hold now";
                self.end_change_with(begun, &record, Err(reason), &state);
            }
        }
        result
    }

    /// The `change_begun` record of the change `record` ends (for a change whose end record
    /// depends on its outcome; else `change`). `None` when the sink is failing and the change
    /// goes on: with `on_failure: continue`, or always for a change that takes access away
    /// (a sign-out must work while the disk is full). A change that grants or alters access
    /// is refused then with `on_failure: refuse`.
    pub fn begin_change(
        &self,
        record: &crate::audit::Event<'_>,
        refusable: Refusable,
    ) -> Result<Option<crate::audit::Begun<'_>>, MfaError> {
        let audit = &self.mfa.audit;
        match audit.begin(&self.keys, self.now, record) {
            Ok(begun) => Ok(Some(begun)),
            Err(error) if audit.refuses_on_failure() && refusable == Refusable::Yes => {
                tracing::error!(error = %crate::ops::error_chain(&error), event = record.event, "audit record not written: change refused");
                Err(MfaError::Audit(error))
            }
            Err(error) => {
                tracing::error!(error = %crate::ops::error_chain(&error), event = record.event, "audit record not written");
                Ok(None)
            }
        }
    }

    /// The end of a change `begin_change` began: `record` when it was made, `change_failed`
    /// with the reason when not.
    pub fn end_change(
        &self,
        begun: Option<crate::audit::Begun<'_>>,
        record: &crate::audit::Event<'_>,
        made: Result<(), &str>,
    ) {
        self.end_change_with(begun, record, made, &[]);
    }

    fn end_change_with(
        &self,
        begun: Option<crate::audit::Begun<'_>>,
        record: &crate::audit::Event<'_>,
        made: Result<(), &str>,
        state: &[(&'static str, String)],
    ) {
        let written = match (begun, made) {
            (Some(begun), Ok(())) => begun.finish(self.now, record),
            (Some(begun), Err(reason)) => begun.fail(self.now, record, reason, state),
            // The sink was failing at the start: one record after, if it is back.
            (None, Ok(())) => self.mfa.audit.record(&self.keys, self.now, record),
            (None, Err(_)) => Ok(()),
        };
        if let Err(error) = written {
            tracing::error!(error = %crate::ops::error_chain(&error), event = record.event, "audit record not written");
        }
    }

    /// What the stores hold for `user` of this app's realm now, for a change that failed
    /// (bounded: a store that does not answer makes it "unknown").
    async fn state_of(&self, user: &str) -> Vec<(&'static str, String)> {
        let stores = crate::mfa::reconcile::Stores {
            durable: &self.mfa.durable,
            ephemeral: Some(&self.mfa.ephemeral),
        };
        let asked = crate::mfa::reconcile::state_of(stores, &self.settings.realm, user, self.now);
        match tokio::time::timeout(std::time::Duration::from_secs(1), asked).await {
            Ok(Ok(state)) => state,
            _ => vec![("state", "unknown: a store could not be read".to_string())],
        }
    }

    /// With `on_failure: refuse`, a failing sink stops a code before it is checked (and used
    /// up). A new login's record is the next write that can find the sink back.
    pub(super) fn audit_gate(&self) -> Result<(), MfaError> {
        if self.mfa.audit.refuses_on_failure() && self.mfa.audit.failing() {
            return Err(MfaError::Audit(crate::audit::AuditError::Sinks(
                "a sink is failing".into(),
            )));
        }
        Ok(())
    }
}

/// Whether a change is refused while its audit record cannot be written (`on_failure:
/// refuse`): those that grant or alter access are; those that only take it away (a sign-out, a
/// revoked session, a forgotten browser) go on, and are recorded once the sink is back.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Refusable {
    Yes,
    No,
}
