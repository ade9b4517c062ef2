//! The per-request `Context` every step of the flow is given, and what it tells of the
//! request: its language, this browser's device, the factors, the gateway's cookies.

use crate::config::{App, AppMfa};
use crate::factors::service::{Enrolled, Env, Subject, Tuning};
use crate::mfa::{Mfa, MfaError, PENDING_COOKIE, SESSION_COOKIE};
use crate::session::cookies::{GatewayCookie, SameSite};
use crate::store::{Challenge, DurableStore, StoreError};

/// Where one request stands: the app, its MFA settings, whether the client came over TLS, and
/// the time (read once per request, passed everywhere).
pub struct Context<'a> {
    pub mfa: &'a Mfa,
    /// The key ring for this request (taken once: a reload mid-request does not mix rings).
    pub keys: std::sync::Arc<crate::keys::KeyRing>,
    pub app: &'a App,
    pub settings: &'a AppMfa,
    pub tls: bool,
    pub now: i64,
    /// The client's address (through the trusted-proxy rules) and the request id, for audit.
    pub client: std::net::IpAddr,
    pub request_id: String,
    /// The client's `User-Agent`, shortened, for audit.
    pub user_agent: String,
    /// The client's `Accept-Language`, for the language of the pages.
    pub accept_language: Option<http::HeaderValue>,
    /// The request's target as sent (a reference-counted copy): its path is where the
    /// browser takes an answer's cookies to be from.
    pub request_uri: http::Uri,
    /// The device cookies the request presents (`session::device`), as (name, value),
    /// unchecked; most requests have none.
    pub device_tokens: Vec<(String, String)>,
    /// The device found on record for a user, once looked up: (realm, user, device id).
    pub familiar: std::sync::Mutex<Option<(String, String, Option<String>)>>,
}

impl Context<'_> {
    /// The language of the gateway's pages for this request: the app's, if it names one, else
    /// the one the browser asks for.
    pub fn tr(&self) -> crate::i18n::Tr {
        let lang = self.settings.language.unwrap_or_else(|| {
            crate::i18n::negotiate(self.accept_language.as_ref().and_then(|v| v.to_str().ok()))
        });
        crate::i18n::Tr::new(lang)
    }

    /// The id of this browser's device credential for `user`, when it presents one that is
    /// genuine, names that user and is on record (not revoked, not expired). Looked up once
    /// per request.
    pub async fn familiar(&self, realm: &str, user: &str) -> Result<Option<String>, StoreError> {
        if self.device_tokens.is_empty() {
            return Ok(None);
        }
        let cached = |found: &Option<(String, String, Option<String>)>| match found {
            Some((r, u, id)) if r == realm && u == user => Some(id.clone()),
            _ => None,
        };
        if let Some(id) = cached(&self.familiar.lock().unwrap_or_else(|e| e.into_inner())) {
            return Ok(id);
        }
        let mut found = None;
        let name = crate::session::device::cookie(&self.keys, realm, user, self.tls).full_name();
        let own = self
            .device_tokens
            .iter()
            .filter(|(n, _)| *n == name)
            .map(|(_, token)| token);
        for token in own {
            let Some(device) =
                crate::session::device::DeviceToken::verify(token, &self.keys, self.now)
            else {
                continue;
            };
            if device.realm != realm || device.user != user {
                continue;
            }
            let until = self
                .now
                .saturating_add(crate::session::device::REMEMBER_SECS);
            if self
                .mfa
                .durable
                .use_device(realm, user, &device.id, self.now, until)
                .await?
            {
                found = Some(device.id);
                break;
            }
        }
        *self.familiar.lock().unwrap_or_else(|e| e.into_inner()) =
            Some((realm.to_string(), user.to_string(), found.clone()));
        Ok(found)
    }

    pub(super) fn subject<'s>(&self, challenge: &'s Challenge) -> Subject<'s> {
        Subject {
            realm: &challenge.realm,
            user: &challenge.user,
            now: self.now,
        }
    }

    /// What the factors work with for this request.
    pub fn factor_env(&self) -> Env<'_> {
        Env {
            store: &self.mfa.durable,
            keys: &self.keys,
            tuning: Tuning {
                totp_skew: self.settings.totp_skew,
            },
        }
    }

    /// What `user` of `realm` has enrolled: the one place the flow, the settings and the API
    /// ask whether a user has a second factor.
    pub async fn enrolled(&self, realm: &str, user: &str) -> Result<Enrolled, MfaError> {
        let who = Subject {
            realm,
            user,
            now: self.now,
        };
        Ok(self.mfa.factors.enrolled(&self.factor_env(), &who).await?)
    }

    pub fn pending_cookie(&self) -> GatewayCookie {
        GatewayCookie {
            name: PENDING_COOKIE.into(),
            same_site: SameSite::Strict,
            tls: self.tls,
        }
    }

    pub fn session_cookie(&self) -> GatewayCookie {
        GatewayCookie {
            name: SESSION_COOKIE.into(),
            same_site: SameSite::Lax,
            tls: self.tls,
        }
    }
}

/// The user name as the realm knows it: trimmed, and normalised as configured
/// (`identity.normalize`).
pub fn identity(settings: &AppMfa, typed: &str) -> String {
    settings.normalize.apply(typed)
}
