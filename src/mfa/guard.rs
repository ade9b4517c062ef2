//! The check every ordinary request to an MFA app passes before it is forwarded: an app
//! credential (session cookie, token) reaches the app only if it is bound to a live,
//! MFA-verified gateway session. Anything else the app might take as a login is removed or
//! refused, so a session the app minted some other way never reaches it.

use super::flow::Context;
use super::{MfaError, PENDING_COOKIE, SESSION_COOKIE};
use crate::config::AppMfa;
use crate::session::credentials::{authorization, cookie_values, strip_cookie};
use crate::store::{EphemeralStore, Session};
use http::HeaderMap;
use std::cell::RefCell;
use std::collections::HashMap;
use std::net::IpAddr;
use std::time::Instant;

/// The request may go on; its cookies were cleaned.
#[derive(Debug, Default)]
pub struct Checked {
    /// The verified session the request's credentials are bound to, if it carried any.
    pub session: Option<Session>,
    /// How many unbound app cookies were removed.
    pub stripped: usize,
}

#[derive(Debug, thiserror::Error)]
pub enum Denied {
    /// An `Authorization` header that is not a bound token (401: the client must sign in).
    #[error("unbound authorization")]
    UnboundAuthorization,
    /// The session store could not answer: fail closed (503).
    #[error("session state unavailable")]
    Unavailable(#[from] MfaError),
}

/// Paths under a bypass prefix (whole segments) and clients from bypass networks are never
/// checked.
pub fn bypassed(settings: &AppMfa, path: &str, client: IpAddr) -> bool {
    settings.bypass_networks.iter().any(|n| n.contains(&client))
        || settings
            .bypass_paths
            .iter()
            .any(|prefix| crate::proxy::path::is_under(path, prefix))
}

/// The gateway's own cookies are for the gateway: the app never sees them.
pub fn strip_gateway_cookies(headers: &mut HeaderMap) {
    for name in [PENDING_COOKIE, SESSION_COOKIE] {
        strip_cookie(headers, name);
        strip_cookie(headers, &format!("__Host-{name}"));
    }
}

pub async fn check(ctx: &Context<'_>, headers: &mut HeaderMap) -> Result<Checked, Denied> {
    let mut checked = Checked::default();
    let app = &ctx.app.name;

    if let Some((scheme, token)) = authorization(headers) {
        let expected = ctx.settings.token.as_ref().map(|t| t.scheme.as_str());
        // Any other kind of Authorization (Basic, a foreign scheme) would be a second login
        // path around the MFA: refused like an unbound token.
        if !expected.is_some_and(|s| s.eq_ignore_ascii_case(scheme)) {
            return Err(Denied::UnboundAuthorization);
        }
        let hash = ctx.mfa.credential_hash(app, "token", token);
        match bound_session(ctx, &hash).await? {
            Some(session) if session.app == *app => checked.session = Some(session),
            _ => return Err(Denied::UnboundAuthorization),
        }
    }

    for name in &ctx.settings.session_cookies {
        let values: Vec<String> = cookie_values(headers, name)
            .into_iter()
            .map(str::to_string)
            .collect();
        let mut all_bound = true;
        for value in &values {
            let hash = ctx.mfa.credential_hash(app, name, value);
            match bound_session(ctx, &hash).await? {
                Some(session) if session.app == *app => {
                    checked.session.get_or_insert(session);
                }
                _ => all_bound = false,
            }
        }
        // One unbound value spoils the name: the app might read that one.
        if !all_bound {
            checked.stripped += strip_cookie(headers, name);
        }
    }
    strip_gateway_cookies(headers);
    Ok(checked)
}

/// A lookup this worker made recently, reused without asking the shared store.
struct Cached {
    session: Session,
    at: Instant,
    epoch: u64,
}

/// Entries beyond this many are dropped wholesale (they are cheap to look up again).
const CACHE_LIMIT: usize = 100_000;

thread_local! {
    // One per worker thread: no lock shared between cores on the hot path.
    static SESSIONS: RefCell<HashMap<[u8; 32], Cached>> = RefCell::new(HashMap::new());
}

/// The live session a credential is bound to. With a shared store, a positive answer is reused
/// for up to the configured bound, unless a session ended anywhere since (the revocation
/// epoch moved) or the session's own expiry passed.
async fn bound_session(
    ctx: &Context<'_>,
    credential: &[u8; 32],
) -> Result<Option<Session>, MfaError> {
    let store = &ctx.mfa.ephemeral;
    let Some((bound, epoch)) = ctx.mfa.session_cache() else {
        return Ok(store.session_for_credential(credential, ctx.now).await?);
    };
    let hit = SESSIONS.with(|cache| {
        let cache = cache.borrow();
        cache
            .get(credential)
            .filter(|c| c.epoch == epoch && c.at.elapsed() < bound && c.session.is_live(ctx.now))
            .map(|c| c.session.clone())
    });
    if hit.is_some() {
        return Ok(hit);
    }
    let found = store.session_for_credential(credential, ctx.now).await?;
    SESSIONS.with(|cache| {
        let mut cache = cache.borrow_mut();
        match &found {
            Some(session) => {
                if cache.len() >= CACHE_LIMIT {
                    cache.clear();
                }
                cache.insert(
                    *credential,
                    Cached {
                        session: session.clone(),
                        at: Instant::now(),
                        epoch,
                    },
                );
            }
            None => {
                cache.remove(credential);
            }
        }
    });
    Ok(found)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::Policy;
    use std::time::Duration;

    fn settings(paths: &[&str], nets: &[&str]) -> AppMfa {
        AppMfa {
            realm: "r".into(),
            policy: Policy::Required,
            overrides: vec![],
            issuer: "I".into(),
            login: vec![],
            login_page: "/".into(),
            session_cookies: vec!["sessionid".into()],
            token: None,
            logout: vec![],
            case_fold_users: false,
            identity: crate::config::IdentitySource::LoginField,
            challenge_timeout: Duration::from_secs(300),
            max_attempts: 5,
            totp_skew: 1,
            idle_timeout: Duration::from_secs(60),
            absolute_timeout: Duration::from_secs(600),
            bypass_paths: paths.iter().map(|p| p.to_string()).collect(),
            bypass_networks: nets.iter().map(|n| n.parse().unwrap()).collect(),
            regulation: crate::config::Regulation {
                user: None,
                client: None,
                login_client: None,
                login_user: None,
            },
            enrollment: crate::config::Enrollment::FirstLogin,
        }
    }

    #[test]
    fn bypass_paths_match_whole_segments_only() {
        let s = settings(&["/static/", "/health"], &["10.0.0.0/8"]);
        let matches = |path: &str, ip: &str| bypassed(&s, path, ip.parse().unwrap());
        assert!(matches("/static/app.css", "192.0.2.1"));
        assert!(matches("/static", "192.0.2.1"));
        assert!(matches("/health", "192.0.2.1"));
        assert!(!matches("/staticfoo", "192.0.2.1"));
        assert!(!matches("/healthz", "192.0.2.1"));
        assert!(!matches("/admin/", "192.0.2.1"));
        assert!(matches("/admin/", "10.1.2.3"));
    }

    #[test]
    fn gateway_cookies_never_reach_the_app() {
        let mut h = HeaderMap::new();
        h.append(
            http::header::COOKIE,
            http::HeaderValue::from_static(
                "mfa_session=a; __Host-mfa_pending=b; theme=dark; __Host-mfa_session=c",
            ),
        );
        strip_gateway_cookies(&mut h);
        assert_eq!(h[http::header::COOKIE], "theme=dark");
    }
}
