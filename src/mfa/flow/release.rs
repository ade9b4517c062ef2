//! Releasing a withheld answer: the gateway session it starts, the app credentials bound to
//! it, and the device remembered.

use super::{Context, Refusable};
use crate::config::AppMfa;
use crate::intercept::withheld::WithheldAnswer;
use crate::mfa::{random_id, MfaError};
use crate::store::{Challenge, DurableStore, EphemeralStore, Session};
use crate::wire::set_cookie::sets_cookies_named;
use bytes::Bytes;
use http::{header, HeaderMap, Response};

/// What a withheld answer is sealed to: it opens only for the challenge it waits behind.
pub(super) fn withheld_context(challenge_id: &str) -> Vec<u8> {
    format!("withheld-v1\0{challenge_id}").into_bytes()
}

pub(super) async fn release_challenge(
    ctx: &Context<'_>,
    challenge: &Challenge,
) -> Result<Response<Bytes>, MfaError> {
    let plain = ctx
        .keys
        .open(&challenge.withheld, &withheld_context(&challenge.id))?;
    let answer = WithheldAnswer::decode(&plain).map_err(|_| MfaError::Withheld)?;
    let mut response = release(ctx, &challenge.realm, &challenge.user, answer).await?;
    // The second factor was passed here: this browser is remembered for the user, so that
    // its codes are judged apart from now on.
    if let Some(cookie) = remember_device(ctx, &challenge.realm, &challenge.user).await? {
        response.headers_mut().append(header::SET_COOKIE, cookie);
    }
    Ok(response)
}

/// The device credential for this browser and `user`: its own, renewed (it lasts
/// `REMEMBER_SECS` from its last second factor), or a new device on record.
async fn remember_device(
    ctx: &Context<'_>,
    realm: &str,
    user: &str,
) -> Result<Option<http::HeaderValue>, MfaError> {
    let expires_at = ctx
        .now
        .saturating_add(crate::session::device::REMEMBER_SECS);
    let id = match ctx.familiar(realm, user).await? {
        // On record and moved on by the lookup; the cookie gets the new end too.
        Some(id) => id,
        None => {
            let device = crate::store::Device {
                realm: realm.to_string(),
                user: user.to_string(),
                id: random_id(),
                created_at: ctx.now,
                last_used_at: ctx.now,
                expires_at,
                user_agent: ctx.user_agent.clone(),
                client: ctx.client.to_canonical().to_string(),
            };
            // Named by a prefix, as sessions are: the id is not a secret (the cookie's
            // signature is), but the trail needs no more of it.
            let detail = [("device", device.id.chars().take(16).collect())];
            // The login is released by now: a sink that fails does not undo it.
            let put = async {
                ctx.mfa
                    .durable
                    .put_device(&device)
                    .await
                    .map_err(MfaError::from)
            };
            ctx.change("device_remembered", user, None, &detail, Refusable::No, put)
                .await?;
            device.id
        }
    };
    let token = crate::session::device::DeviceToken {
        id,
        realm: realm.to_string(),
        user: user.to_string(),
        expires_at,
    }
    .sign(&ctx.keys);
    Ok(
        crate::session::device::cookie(&ctx.keys, realm, user, ctx.tls)
            .set(&token, Some(crate::session::device::REMEMBER_SECS)),
    )
}

/// Starts a gateway session for `user`, binds the app credentials in `answer` to it, and gives
/// back the answer exactly as the app sent it plus the gateway's session cookie.
pub(super) async fn release(
    ctx: &Context<'_>,
    realm: &str,
    user: &str,
    answer: WithheldAnswer,
) -> Result<Response<Bytes>, MfaError> {
    let id = random_id();
    let id_hash = ctx.mfa.session_hash(&id);
    let settings = ctx.settings;
    let seconds = |d: std::time::Duration| i64::try_from(d.as_secs()).unwrap_or(i64::MAX);
    let session = Session {
        id_hash,
        realm: realm.to_string(),
        app: ctx.app.name.clone(),
        user: user.to_string(),
        created_at: ctx.now,
        last_seen_at: ctx.now,
        mfa_at: ctx.now,
        idle_timeout_secs: seconds(settings.idle_timeout),
        absolute_expires_at: ctx.now.saturating_add(seconds(settings.absolute_timeout)),
        user_agent: ctx.user_agent.clone(),
        client: ctx.client.to_canonical().to_string(),
    };
    let record = ctx.event("session_created", user, "accepted", Some(&id_hash), &[]);
    let begun = ctx.begin_change(&record, Refusable::Yes)?;
    let stored = ctx.mfa.ephemeral.put_session(&session).await;
    crate::ops::crash::point("release.session_stored");
    let made = stored
        .as_ref()
        .map(|_| ())
        .map_err(|_| "a store did not take the change");
    ctx.end_change(begun, &record, made);
    stored?;
    let mut hashes = credentials_in(ctx, &answer.headers, &answer.body);
    hashes.extend_from_slice(&answer.bind);
    for hash in hashes {
        ctx.mfa
            .ephemeral
            .bind_credential(&hash, &id_hash, ctx.now)
            .await?;
    }
    let mut response = Response::new(answer.body);
    *response.status_mut() = answer.status;
    *response.headers_mut() = answer.headers;
    let headers = response.headers_mut();
    if let Some(cookie) = ctx.session_cookie().set(&id, None) {
        headers.append(header::SET_COOKIE, cookie);
    }
    headers.append(header::SET_COOKIE, ctx.pending_cookie().clear());
    Ok(response)
}

/// The app credentials an answer hands out: every session cookie it sets, as (name, value),
/// and the token in its body.
pub struct AppCredentials {
    pub cookies: Vec<(String, String)>,
    pub token: Option<String>,
}

pub fn app_credentials(settings: &AppMfa, headers: &HeaderMap, body: &[u8]) -> AppCredentials {
    let cookies = settings
        .session_cookies
        .iter()
        .flat_map(|name| sets_cookies_named(headers, name))
        .collect();
    let token = settings.token.as_ref().and_then(|rule| {
        serde_json::from_slice::<serde_json::Value>(body)
            .ok()?
            .pointer(&rule.json_pointer)?
            .as_str()
            .filter(|t| !t.is_empty())
            .map(str::to_string)
    });
    AppCredentials { cookies, token }
}

/// Keyed hashes of the app credentials an answer hands out, as they are bound to a session.
pub fn credentials_in(ctx: &Context<'_>, headers: &HeaderMap, body: &[u8]) -> Vec<[u8; 32]> {
    let app = &ctx.app.name;
    let found = app_credentials(ctx.settings, headers, body);
    let mut hashes: Vec<[u8; 32]> = found
        .cookies
        .iter()
        .map(|(name, value)| ctx.mfa.credential_hash(app, name, value))
        .collect();
    if let Some(token) = &found.token {
        hashes.push(ctx.mfa.credential_hash(app, "token", token));
    }
    hashes
}
