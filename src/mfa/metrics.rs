//! The second factor's own series, owned by `Mfa` (the flow counts into them) and registered
//! on the admin listener's `/metrics` with the proxy's.

use prometheus_client::encoding::EncodeLabelSet;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::registry::Registry;

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct OutcomeLabels {
    pub app: String,
    /// totp, recovery_code, invite, enrollment, or unknown (a wrong code names no method).
    pub method: &'static str,
    /// accepted, refused (wrong code), locked (refused unread: a lock is in force).
    pub result: &'static str,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct AppLabels {
    pub app: String,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct LockLabels {
    /// user, user_new_browsers, device, client, network, login_client, login_user.
    pub subject: &'static str,
}

#[derive(Default)]
pub struct MfaMetrics {
    pub outcomes: Family<OutcomeLabels, Counter>,
    pub unbound_cookies: Family<AppLabels, Counter>,
    pub unbound_authorization: Family<AppLabels, Counter>,
    pub locks: Family<LockLabels, Counter>,
    pub wrong_codes_reported: Family<AppLabels, Counter>,
    pub challenges_pending: Gauge,
    pub active_sessions: Gauge,
    pub locked_users: Gauge,
    pub client_locks: Gauge,
}

impl MfaMetrics {
    /// One more of `family`'s events for `app`.
    pub fn count(&self, family: &Family<AppLabels, Counter>, app: &str) {
        family
            .get_or_create(&AppLabels {
                app: app.to_string(),
            })
            .inc();
    }

    pub fn outcome(&self, app: &str, method: &'static str, result: &'static str) {
        self.outcomes
            .get_or_create(&OutcomeLabels {
                app: app.to_string(),
                method,
                result,
            })
            .inc();
    }

    pub fn register(&self, registry: &mut Registry, audit: &crate::audit::Audit) {
        registry.register(
            "mfa_outcomes",
            "Second-factor answers by app, method and result",
            self.outcomes.clone(),
        );
        registry.register(
            "unbound_cookies_stripped",
            "Requests whose app session cookie was not bound to a verified session (removed)",
            self.unbound_cookies.clone(),
        );
        registry.register(
            "unbound_authorization_refused",
            "Requests refused (401) for an Authorization the gateway did not release",
            self.unbound_authorization.clone(),
        );
        registry.register(
            "locks",
            "Locks started by regulation, by subject",
            self.locks.clone(),
        );
        registry.register(
            "wrong_codes_reported",
            "Wrong codes from other browsers told to their user at the next sign-in (the password is known to someone)",
            self.wrong_codes_reported.clone(),
        );
        registry.register(
            "challenges_pending",
            "Logins waiting at a second-factor step (at the last scrape)",
            self.challenges_pending.clone(),
        );
        registry.register(
            "sessions_active",
            "Gateway sessions not past their end (at the last scrape)",
            self.active_sessions.clone(),
        );
        registry.register(
            "users_locked",
            "Users under a lock (at the last scrape)",
            self.locked_users.clone(),
        );
        registry.register(
            "client_locks",
            "Locks on client addresses, for codes or one app's logins (at the last scrape; `mfa-gateway client list` names them)",
            self.client_locks.clone(),
        );
        registry.register(
            "audit_records",
            "Audit records written to every sink",
            audit.records.clone(),
        );
        registry.register(
            "audit_sink_errors",
            "Audit records that did not reach a sink, by sink",
            audit.errors.clone(),
        );
        registry.register(
            "store_seconds",
            "Time per state store operation, by store",
            crate::store::LATENCY.clone(),
        );
    }

    /// Refreshes the gauges from the ephemeral store (before a scrape is rendered).
    pub fn set_census(&self, census: crate::store::Census) {
        let gauge = |v: u64| i64::try_from(v).unwrap_or(i64::MAX);
        self.challenges_pending.set(gauge(census.challenges));
        self.active_sessions.set(gauge(census.sessions));
        self.locked_users.set(gauge(census.locked_users));
        self.client_locks.set(gauge(census.client_locks));
    }
}
