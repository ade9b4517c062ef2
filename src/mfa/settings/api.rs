//! The settings JSON API (`{prefix}api/…` with a verified session).

use super::*;

/// The JSON API for signed-in users (`rest` below `{prefix}api/`).
pub async fn api(
    ctx: &Context<'_>,
    rest: &str,
    post: bool,
    headers: &HeaderMap,
    body: &[u8],
) -> Response<Bytes> {
    let session = match current_session(ctx, headers).await {
        Ok(Some(s)) => s,
        Ok(None) => return Outcome::SignInFirst.json(),
        Err(e) => return api_failed(&e),
    };
    // A JSON body only: a cross-site form cannot send one without a CORS preflight, which the
    // gateway never grants.
    let is_json = headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|ct| ct.starts_with("application/json"));
    if post && !is_json {
        return Outcome::JsonRequired.json();
    }
    let request: Value = if post {
        match serde_json::from_slice(body) {
            Ok(v) => v,
            Err(_) => return Outcome::NotJson.json(),
        }
    } else {
        Value::Null
    };
    let code = request.get("code").and_then(Value::as_str).unwrap_or("");
    let outcome = match (rest, post) {
        ("methods", false) => overview(ctx, &session).await.map(|o| methods_json(&o)),
        ("sessions", false) => browsers::sessions(ctx, &session)
            .await
            .map(|list| json_response(StatusCode::OK, &json!(list))),
        ("sessions/end", true) => {
            let id = request.get("session").and_then(Value::as_str).unwrap_or("");
            browsers::end_one(ctx, &session, id).await.map(|ended| {
                if ended {
                    json_response(StatusCode::OK, &json!({ "ended": 1 }))
                } else {
                    Outcome::NoSuchSession.json()
                }
            })
        }
        ("sessions/end-all", true) => browsers::end_all(ctx, &session)
            .await
            .map(|ended| json_response(StatusCode::OK, &json!({ "ended": ended }))),
        ("devices", false) => browsers::devices(ctx, &session)
            .await
            .map(|list| json_response(StatusCode::OK, &json!(list))),
        ("devices/forget", true) => {
            let id = request.get("device").and_then(Value::as_str).unwrap_or("");
            browsers::forget(ctx, &session, id, code)
                .await
                .map(|forgot| match forgot {
                    Err(refused) => api_refused(refused, ctx.now),
                    Ok(browsers::Forgot::Nothing) => Outcome::NoSuchDevice.json(),
                    Ok(_) => json_response(StatusCode::OK, &json!({ "forgotten": 1 })),
                })
        }
        ("recovery-codes", true) => regenerate(ctx, &session, code).await.map(|r| match r {
            Ok(codes) => json_response(StatusCode::OK, &json!({ "backup_codes": shown(&codes) })),
            Err(refused) => api_refused(refused, ctx.now),
        }),
        ("totp/setup", true) => match first_factor_refused(ctx, &session).await {
            Ok(Some(refused)) => Ok(api_refused(refused, ctx.now)),
            Err(e) => Err(e),
            Ok(None) => match (begin_setup(ctx, &session), has_factor(ctx, &session).await) {
                (Ok((token, setup)), Ok(ask_current)) => Ok(json_response(
                    StatusCode::OK,
                    &json!({
                        "method": "totp",
                        "setup_token": token,
                        "otpauth_uri": setup.otpauth_uri.as_str(),
                        "secret": setup.secret.as_str(),
                        "qr_svg": setup.qr_svg.as_str(),
                        "expires_in": SETUP_TTL,
                        "current_code_required": ask_current,
                    }),
                )),
                (Err(e), _) | (_, Err(e)) => Err(e),
            },
        },
        ("totp/confirm", true) => api_confirm(ctx, &session, &request, code).await,
        ("totp/remove", true) => remove(ctx, &session, code).await.map(|r| match r {
            Ok(()) => json_response(
                StatusCode::OK,
                &json!({ "method": "totp", "is_active": false }),
            ),
            Err(refused) => api_refused(refused, ctx.now),
        }),
        _ => Ok(Outcome::NoSuchEndpoint.json()),
    };
    outcome.unwrap_or_else(|e| api_failed(&e))
}

/// `GET …/api/methods`: what the user has, one entry per method.
fn methods_json(o: &Overview) -> Response<Bytes> {
    let list: Vec<Value> = o
        .methods
        .iter()
        .map(|m| {
            let mut entry = json!({
                "method": m.method.as_str(),
                "is_active": m.is_active,
                "is_primary": m.is_primary,
                "created_at": m.created_at,
                "last_used_at": m.last_used_at,
                "remaining": m.remaining,
            });
            // Codes made and never shown: the client should offer new ones.
            if m.method == Method::RECOVERY_CODE && o.codes_unseen {
                if let Some(fields) = entry.as_object_mut() {
                    fields.insert("never_shown".into(), json!(true));
                }
            }
            entry
        })
        .collect();
    json_response(StatusCode::OK, &Value::Array(list))
}

/// `POST …/api/totp/confirm`: the new authenticator's first code (and, replacing one, a
/// current code) stores it.
async fn api_confirm(
    ctx: &Context<'_>,
    session: &Session,
    request: &Value,
    code: &str,
) -> Result<Response<Bytes>, MfaError> {
    let token = request
        .get("setup_token")
        .and_then(Value::as_str)
        .unwrap_or("");
    let current = request
        .get("current_code")
        .and_then(Value::as_str)
        .unwrap_or("");
    match open_setup(ctx, session, token) {
        None => {
            audit_refused(ctx, session, "authenticator_set", Refused::SetupExpired);
            Ok(api_refused(Refused::SetupExpired, ctx.now))
        }
        Some(record) => confirm_setup(ctx, session, record, code, current)
            .await
            .map(|c| match c {
                Ok(codes) => {
                    let mut body =
                        json!({ "method": "totp", "is_active": true, "is_primary": true });
                    if let (Some(codes), Some(object)) = (codes, body.as_object_mut()) {
                        object.insert("backup_codes".into(), json!(shown(&codes)));
                    }
                    json_response(StatusCode::OK, &body)
                }
                Err(refused) => api_refused(refused, ctx.now),
            }),
    }
}

fn shown(codes: &[RecoveryCode]) -> Vec<String> {
    codes.iter().map(|c| c.display().to_string()).collect()
}

fn api_refused(refused: Refused, now: i64) -> Response<Bytes> {
    match refused {
        Refused::Locked(seconds) => crate::mfa::respond::api_locked(seconds, now),
        _ => refused.outcome().json(),
    }
}

fn api_failed(error: &MfaError) -> Response<Bytes> {
    tracing::error!(error = %crate::ops::error_chain(error), "settings change failed");
    Outcome::Unavailable.json()
}
