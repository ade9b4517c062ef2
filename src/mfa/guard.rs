//! The check every ordinary request to an MFA app passes before it is forwarded: an app
//! credential (session cookie, token) reaches the app only if it is bound to a live,
//! MFA-verified gateway session. Anything else the app might take as a login is removed or
//! refused, so a session the app minted some other way never reaches it.

use super::flow::Context;
use super::{MfaError, PENDING_COOKIE, SESSION_COOKIE};
use crate::config::AppMfa;
use crate::session::credentials::{
    authorization, basic_credential, cookie_name_reads_as, cookie_pairs, cookie_values,
    strip_cookie_pairs, strip_cookies, BasicCredential, BasicError,
};
use crate::store::{EphemeralStore, Session};
use crate::wire::cookie_name::cookie_name_matches;
use http::HeaderMap;
use std::borrow::Cow;
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
    /// The user name of the bound HTTP Basic credential the request came with (as the realm
    /// knows it): whom the app's answer to it is for.
    pub basic_user: Option<String>,
    /// Session cookies (names as sent) bound to no session that were let through because the
    /// request is to a login route (`session_before_login`): if it turns out not to be a
    /// login, they go too.
    pub before_login: Vec<String>,
    /// The session cookies that passed (name as sent, keyed hash of the value).
    pub bound: Vec<(String, [u8; 32])>,
}

#[derive(Debug, thiserror::Error)]
pub enum Denied {
    /// An `Authorization` header that is not a bound token (401: the client must sign in).
    #[error("unbound authorization")]
    UnboundAuthorization,
    /// A Basic credential of an app that takes Basic sign-ins, not bound to this request's
    /// verified session: a login (`basic_auth`). Nothing of the request reaches the app.
    #[error("basic sign-in")]
    BasicLogin(BasicCredential),
    /// A Basic credential that servers could read in more than one way (400).
    #[error("{0}")]
    BadBasic(#[from] BasicError),
    /// The session store could not answer: fail closed (503).
    #[error("session state unavailable")]
    Unavailable(#[from] MfaError),
}

/// Paths under a bypass prefix (whole segments, compared strictly as sent: a bypass rule must
/// never match more than it says) and clients from bypass networks are never checked.
pub fn bypassed(settings: &AppMfa, path: &str, client: IpAddr) -> bool {
    trusted_network(settings, client)
        || settings
            .bypass_paths
            .iter()
            .any(|prefix| crate::wire::path::is_under(path, prefix))
}

/// A client of a bypass network: neither its requests nor the app's answers to it are checked.
pub fn trusted_network(settings: &AppMfa, client: IpAddr) -> bool {
    settings.bypass_networks.iter().any(|n| n.contains(&client))
}

/// The gateway's own cookies are for the gateway: the app never sees them, in any spelling
/// an app might read as theirs (SECURITY-TESTS 17).
pub fn strip_gateway_cookies(headers: &mut HeaderMap) {
    strip_cookies(headers, is_gateway_cookie);
}

fn is_gateway_cookie(name: &str) -> bool {
    let underscored: Cow<'_, str> = if name.contains('-') {
        Cow::Owned(name.replace('-', "_"))
    } else {
        Cow::Borrowed(name)
    };
    let name = match underscored.get(..7) {
        Some(prefix) if prefix.eq_ignore_ascii_case("__host_") => {
            underscored.get(7..).unwrap_or("")
        }
        _ => &underscored,
    };
    // Device cookies are named per user: `mfa_device_<tag>`.
    [PENDING_COOKIE, SESSION_COOKIE, "mfa_device", "mfa_device_*"]
        .iter()
        .any(|target| cookie_name_reads_as(name, target))
}

/// The most values of the app's session cookies one request may have looked up.
const MAX_SESSION_VALUES: usize = 8;

/// Removes the app's session cookies (in every spelling an app reads as them) and any
/// `Authorization`: for bypass paths, which are checked for nothing.
pub fn strip_app_credentials(settings: &AppMfa, headers: &mut HeaderMap) {
    strip_cookies(headers, |name| {
        session_cookie_spelling(settings, name).is_some()
    });
    headers.remove(http::header::AUTHORIZATION);
}

/// Which of the app's session cookies, if any, a request cookie of this name is to some app
/// behind us: `Some(true)` spelled exactly as configured, `Some(false)` another spelling of it.
fn session_cookie_spelling(settings: &AppMfa, name: &str) -> Option<bool> {
    if settings
        .session_cookies
        .iter()
        .any(|s| cookie_name_matches(name, s))
    {
        return Some(true);
    }
    settings
        .session_cookies
        .iter()
        .any(|s| cookie_name_reads_as(name, s))
        .then_some(false)
}

/// `basic_area`: the request is where `basic_auth` makes a Basic credential a login.
/// `login`: the request is one of the app's login routes (a write). With
/// `session_before_login`, a session cookie bound to no session at all, spelled as configured,
/// then reaches the app: the pre-login session that holds the app's CSRF token or saved
/// request. Nowhere else can such a cookie go, and the login's answer is withheld as always.
/// `headers` hold at most one `Authorization` line: the proxy refuses repeats before routing.
pub async fn check(
    ctx: &Context<'_>,
    headers: &mut HeaderMap,
    login: bool,
    basic_area: bool,
) -> Result<Checked, Denied> {
    let mut checked = Checked::default();
    check_authorization(ctx, headers, basic_area, &mut checked).await?;
    let unbound = unbound_session_cookies(ctx, headers, login, &mut checked).await?;
    if !unbound.is_empty() {
        checked.stripped += strip_cookie_pairs(headers, |n, v| {
            unbound.iter().any(|(name, value)| name == n && value == v)
        });
    }
    strip_gateway_cookies(headers);
    Ok(checked)
}

/// The request's `Authorization`, if any: a bound token, or in a `basic_auth` area a Basic
/// credential bound beside its session's gateway cookie; anything else is denied.
async fn check_authorization(
    ctx: &Context<'_>,
    headers: &HeaderMap,
    basic_area: bool,
    checked: &mut Checked,
) -> Result<(), Denied> {
    let app = &ctx.app.name;
    let basic = |scheme: &str| basic_area && scheme.eq_ignore_ascii_case("basic");
    match authorization(headers) {
        Some((scheme, encoded)) if basic(scheme) => {
            let credential = basic_credential(encoded)?;
            let hash = ctx.mfa.credential_hash(app, "basic", credential.pair());
            // The credential is the password, one factor: it passes only with the gateway
            // cookie of the session its second factor started.
            match bound_session(ctx, &hash).await? {
                Some(session)
                    if session.app == *app && carries_gateway_cookie(ctx, headers, &session) =>
                {
                    checked.basic_user =
                        Some(super::flow::identity(ctx.settings, &credential.user));
                    checked.session = Some(session);
                }
                _ => return Err(Denied::BasicLogin(credential)),
            }
        }
        Some((scheme, token)) => {
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
        None => {}
    }
    Ok(())
}

/// The values of the app's session cookies that may not reach the app; `checked` gets the
/// session the others are bound to.
async fn unbound_session_cookies(
    ctx: &Context<'_>,
    headers: &HeaderMap,
    login: bool,
    checked: &mut Checked,
) -> Result<Vec<(String, String)>, Denied> {
    // Every value of a session cookie must be bound (the app might read any one of them); a
    // cookie spelled another way that some app reads as the session cookie never passes.
    let comma_pieces = comma_pieces(ctx.settings, headers);
    // Unbound values go one by one: a value planted beside the bound one (from a sibling
    // domain) is removed, and the bound one still reaches the app.
    let mut unbound: Vec<(String, String)> = comma_pieces.clone();
    let mut pairs: Vec<(String, String, bool)> = cookie_pairs(headers)
        .filter_map(|(name, value)| {
            session_cookie_spelling(ctx.settings, name)
                .map(|exact| (name.to_string(), value.to_string(), exact))
        })
        .collect();
    // Once each, in the request's order (the first session found is the one that passes).
    if pairs.len() > 1 {
        let mut seen = std::collections::HashSet::new();
        pairs.retain(|(name, value, _)| seen.insert((name.clone(), value.clone())));
    }
    // A browser sends a session cookie once, twice with a sibling domain's: a request with
    // more values than that is no browser's, and none of them is looked up (each would be a
    // store round trip).
    if pairs.len() > MAX_SESSION_VALUES {
        unbound.extend(pairs.drain(..).map(|(name, value, _)| (name, value)));
    }
    for (name, value, exact) in pairs {
        if comma_pieces.iter().any(|(n, v)| *n == name && *v == value) {
            continue;
        }
        let bound =
            exact && session_cookie_passes(ctx, headers, login, &name, &value, checked).await?;
        if !bound {
            unbound.push((name, value));
        }
    }
    Ok(unbound)
}

/// The session cookie pieces of the request's `Cookie` lines with a `,` in them, as (name,
/// value) of their first reading. A piece like that reads two ways: Rack splits it into two
/// pairs, PHP keeps `X,x` whole as the value (a session id PHP takes, and signs in). The
/// gateway could bind only one reading, so such a piece never passes.
fn comma_pieces(settings: &AppMfa, headers: &HeaderMap) -> Vec<(String, String)> {
    headers
        .get_all(http::header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|line| line.split(';'))
        .filter(|piece| piece.contains(','))
        .filter_map(|piece| {
            let first = piece.split(',').next()?;
            let (name, value) = first.split_once('=')?;
            Some((name.trim().to_string(), value.trim().to_string()))
        })
        .filter(|(name, _)| session_cookie_spelling(settings, name).is_some())
        .collect()
}

/// Whether one value of a session cookie, spelled as configured, reaches the app: bound to
/// this request's session beside that session's gateway cookie, or on a login route with
/// `session_before_login` a pre-login session no login has signed in yet.
async fn session_cookie_passes(
    ctx: &Context<'_>,
    headers: &HeaderMap,
    login: bool,
    name: &str,
    value: &str,
    checked: &mut Checked,
) -> Result<bool, Denied> {
    let app = &ctx.app.name;
    // Credentials of two sessions in one request: the app may act on either, so only the
    // first session's pass.
    let keeps_anonymous = login && ctx.settings.kept_before_login(name);
    let hash = ctx.mfa.credential_hash(app, name, value);
    Ok(match bound_session(ctx, &hash).await? {
        // An app cookie's value may be no secret at all (a remember-me cookie holding
        // the user's id): it acts on a session only beside that session's own gateway
        // cookie, never by its value alone.
        Some(session) if session.app == *app && carries_gateway_cookie(ctx, headers, &session) => {
            let ours = match &checked.session {
                Some(first) => first.id_hash == session.id_hash,
                None => {
                    checked.session = Some(session);
                    true
                }
            };
            if ours {
                checked.bound.push((name.to_string(), hash));
            }
            ours
        }
        Some(_) => false,
        // A pre-login session a login signed in is no longer anonymous, in whatever
        // spelling of its value the app decodes (`%4B` for `K`).
        None if keeps_anonymous
            && ctx
                .mfa
                .ephemeral
                .credential_burned(&burn_key(ctx, name, value), ctx.now)
                .await
                .map_err(|e| Denied::Unavailable(e.into()))? =>
        {
            false
        }
        None => {
            if keeps_anonymous {
                checked.before_login.push(name.to_string());
            }
            keeps_anonymous
        }
    })
}

/// The key a pre-login session value is burned under: its keyed hash as the app reads it.
pub fn burn_key(ctx: &Context<'_>, name: &str, value: &str) -> [u8; 32] {
    let read = crate::session::credentials::cookie_value_as_apps_read(value);
    ctx.mfa
        .credential_hash(&ctx.app.name, &format!("burned\0{name}"), &read)
}

/// Whether the request carries the gateway's own cookie of `session` (in the one spelling the
/// gateway sets it).
fn carries_gateway_cookie(ctx: &Context<'_>, headers: &HeaderMap, session: &Session) -> bool {
    use subtle::ConstantTimeEq;
    let name = ctx.session_cookie().full_name();
    cookie_values(headers, &name)
        .into_iter()
        .any(|id| bool::from(ctx.mfa.session_hash(id).ct_eq(&session.id_hash)))
}

/// Whether the URL carries a session id the app might take instead of its cookie, other than
/// one this request's bound cookies carry: a servlet path parameter (`;jsessionid=…`, Tomcat's
/// URL rewriting) or a query parameter (`?PHPSESSID=…`, PHP with `session.use_only_cookies`
/// off), under any name that reads as one of the app's session cookies. Run after [`check`],
/// when only bound session cookies are left in `headers`.
pub fn unbound_url_session_id(settings: &AppMfa, uri: &http::Uri, headers: &HeaderMap) -> bool {
    let path_params = uri.path().contains(';');
    if !path_params && uri.query().is_none() {
        return false;
    }
    let is_session = |name: &str| {
        settings
            .session_cookies
            .iter()
            .any(|s| cookie_name_reads_as(name, s))
    };
    let unbound = |name: &str, value: &str| {
        is_session(name) && !cookie_pairs(headers).any(|(n, v)| v == value && is_session(n))
    };
    let in_path = path_params
        && uri
            .path()
            .split('/')
            .flat_map(|segment| segment.split(';').skip(1))
            .any(|param| {
                let (name, value) = param.split_once('=').unwrap_or((param, ""));
                unbound(
                    &percent_encoding::percent_decode_str(name).decode_utf8_lossy(),
                    value,
                )
            });
    in_path
        || uri.query().is_some_and(|q| {
            form_urlencoded::parse(q.as_bytes()).any(|(name, value)| unbound(&name, &value))
        })
}

/// The live session a credential (its keyed hash) is bound to, if any.
pub async fn bound_to(
    ctx: &Context<'_>,
    credential: &[u8; 32],
) -> Result<Option<Session>, MfaError> {
    bound_session(ctx, credential).await
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
                        at: crate::ops::clock::instant(),
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
            home_page: "/".into(),
            language: None,
            session_cookies: vec!["sessionid".into()],
            token: None,
            logout: vec![],
            refuse: vec![],
            refuse_credentials: Default::default(),
            session_before_login: vec![],
            resealed_cookies: vec![],
            resealed: Default::default(),
            basic_auth: None,
            normalize: Default::default(),
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
                device: None,
                client: None,
                network: None,
                login_client: None,
                login_user: None,
                shared_networks: Vec::new(),
            },
            enrollment: crate::config::Enrollment::Invite,
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
                "mfa_session=a; __Host-mfa_pending=b; theme=dark; __Host-mfa_session=c; mfa_device=d",
            ),
        );
        strip_gateway_cookies(&mut h);
        assert_eq!(h[http::header::COOKIE], "theme=dark");
        for spelling in [
            "MFA_SESSION=a",
            "mfa-session=a",
            "__HOST-mfa_pending=b",
            "mfa%5Fsession=c",
            "__Host-mfa-device=d",
            "__Host-mfa_device_0a1b2c=d",
            "MFA_DEVICE_0A1B2C=d",
            "mfa%5Fdevice_ab=d",
        ] {
            let mut h = HeaderMap::new();
            h.append(
                http::header::COOKIE,
                http::HeaderValue::from_str(&format!("{spelling}; theme=dark")).unwrap(),
            );
            strip_gateway_cookies(&mut h);
            assert_eq!(h[http::header::COOKIE], "theme=dark", "{spelling}");
        }
    }

    #[test]
    fn session_cookie_spellings() {
        let s = settings(&[], &[]);
        assert_eq!(session_cookie_spelling(&s, "sessionid"), Some(true));
        assert_eq!(session_cookie_spelling(&s, "SessionID"), Some(false));
        assert_eq!(session_cookie_spelling(&s, "session%69d"), Some(false));
        assert_eq!(session_cookie_spelling(&s, "sessionid[]"), Some(false));
        assert_eq!(session_cookie_spelling(&s, "csrftoken"), None);
    }
}
