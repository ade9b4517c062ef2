//! The JSON API for API clients: `POST {prefix}api/verify` and `api/enroll`, shaped like the
//! Django REST MFA packages (`ephemeral_token`, `code`, `method`, `backup_codes`).

use super::flow::{self, CodeOutcome, Context, PendingError, Refusal};
use super::outcome::Outcome;
use super::respond::{api_locked_by, json_response};
use crate::factors::service::Verdict;
use crate::store::{ChallengeStage, EphemeralStore};
use bytes::Bytes;
use http::{header, HeaderValue, Response, StatusCode};
use serde_json::{json, Value};

#[derive(serde::Deserialize)]
struct ApiRequest {
    ephemeral_token: Option<String>,
    /// The code; for `api/invite` the invitation code may also come as `invite_code`.
    code: Option<Value>,
    invite_code: Option<Value>,
    method: Option<String>,
}

/// The enrollment fields of an answer: the new authenticator's secret as text, URI and QR code.
pub fn add_enrollment(
    ctx: &Context<'_>,
    challenge: &crate::store::Challenge,
    body: &mut serde_json::Map<String, Value>,
) -> Result<(), PendingError> {
    let setup = flow::enroll_setup(ctx, challenge)?;
    body.insert("enrollment_required".into(), json!(true));
    body.insert("methods".into(), json!(["totp"]));
    body.insert("otpauth_uri".into(), json!(setup.otpauth_uri.as_str()));
    body.insert("secret".into(), json!(setup.secret.as_str()));
    body.insert("qr_svg".into(), json!(setup.qr_svg.as_str()));
    Ok(())
}

/// `POST {prefix}api/verify`, `api/enroll` and `api/invite` (`rest` names which).
pub async fn verify_or_enroll(ctx: &Context<'_>, rest: &str, body: &[u8]) -> Response<Bytes> {
    let enroll = rest == "api/enroll";
    let Ok(request) = serde_json::from_slice::<ApiRequest>(body) else {
        return Outcome::NotAVerifyRequest.json();
    };
    let challenge = match flow::pending(ctx, request.ephemeral_token.as_deref()).await {
        Ok(c) => c,
        Err(e) => return api_pending_failed(e),
    };
    let code = match request.code.as_ref().or(request.invite_code.as_ref()) {
        Some(Value::String(code))
            if request.code.is_some()
                && matches!(
                    challenge.stage,
                    crate::store::ChallengeStage::Verify
                        | crate::store::ChallengeStage::Enroll { .. }
                )
                && !code.trim().is_empty()
                && !flow::plausible_code(ctx, code) =>
        {
            return Outcome::CodeMalformed.json()
        }
        Some(Value::String(code)) if !code.trim().is_empty() => code.clone(),
        Some(Value::String(_)) | None => return Outcome::CodeMissing.json(),
        // An array or object of codes is an attempt to try several at once: refused, counted.
        Some(_) => {
            return match flow::wrong::<()>(ctx, &challenge, "unknown", Verdict::Wrong).await {
                Ok(CodeOutcome::Locked(until)) => api_locked_by(until, ctx.now),
                Ok(_) => Outcome::CodeNotOneString.json(),
                Err(e) => api_pending_failed(e),
            };
        }
    };
    let method = match request.method.as_deref() {
        None => None,
        Some(name) if ctx.mfa.factors.named(name).is_some() => ctx.mfa.factors.named(name),
        Some(_) => return Outcome::UnknownMethod.json(),
    };
    if rest == "api/invite" {
        return match flow::accept_invite(ctx, &challenge, &code).await {
            Ok(CodeOutcome::Accepted(())) => invited(ctx, &challenge).await,
            Ok(CodeOutcome::Wrong { left, spent, .. }) => api_wrong(left, spent),
            Ok(CodeOutcome::Dead) => api_dead(),
            Ok(CodeOutcome::Locked(until)) => api_locked_by(until, ctx.now),
            Err(e) => api_pending_failed(e),
        };
    }
    if !enroll {
        return match flow::verify(ctx, &challenge, &code, method).await {
            Ok(CodeOutcome::Accepted(verified)) => {
                let mut released = verified.response;
                // An API client cannot be shown a page: the count goes in a header of its own.
                if verified.wrong_codes > 0 {
                    released.headers_mut().insert(
                        "mfa-wrong-codes-since-last-sign-in",
                        verified.wrong_codes.into(),
                    );
                }
                // Codes made and never shown (a crash between the two): the client should
                // offer new ones (`POST /.mfa/api/recovery-codes`).
                if verified.codes_unseen {
                    released.headers_mut().insert(
                        "mfa-recovery-codes-never-shown",
                        http::HeaderValue::from_static("true"),
                    );
                }
                released
            }
            Ok(CodeOutcome::Wrong { left, spent, .. }) => api_wrong(left, spent),
            Ok(CodeOutcome::Dead) => api_dead(),
            Ok(CodeOutcome::Locked(until)) => api_locked_by(until, ctx.now),
            Err(e) => api_pending_failed(e),
        };
    }
    // Confirmed before, but the answer never arrived (a timeout, a store that failed at the
    // release): the same codes again, and the release.
    if let ChallengeStage::AcknowledgeRecoveryCodes { .. } = challenge.stage {
        return match flow::shown_recovery_codes(ctx, &challenge) {
            Ok(shown) => match flow::acknowledge(ctx, &challenge).await {
                Ok(released) => with_backup_codes(released, &shown),
                Err(e) => api_pending_failed(e),
            },
            Err(e) => api_pending_failed(e),
        };
    }
    let codes = match flow::confirm_enrollment(ctx, &challenge, &code).await {
        Ok(CodeOutcome::Accepted(codes)) => codes,
        Ok(CodeOutcome::Wrong { left, spent, .. }) => return api_wrong(left, spent),
        Ok(CodeOutcome::Dead) => return api_dead(),
        Ok(CodeOutcome::Locked(until)) => return api_locked_by(until, ctx.now),
        Err(e) => return api_pending_failed(e),
    };
    // An API client acknowledges by receiving the codes: release at once.
    let acknowledged = async {
        let current = ctx
            .mfa
            .ephemeral
            .challenge(&challenge.id, ctx.now)
            .await
            .map_err(|e| PendingError::Failed(e.into()))?
            .ok_or(PendingError::Refused(Refusal::Expired))?;
        flow::acknowledge(ctx, &current).await
    };
    let shown: Vec<String> = codes.iter().map(|c| c.display().to_string()).collect();
    match acknowledged.await {
        Ok(released) => with_backup_codes(released, &shown),
        Err(e) => api_pending_failed(e),
    }
}

/// After a good invitation code: the enrollment the client continues with at `api/enroll`.
async fn invited(ctx: &Context<'_>, challenge: &crate::store::Challenge) -> Response<Bytes> {
    let current = match ctx.mfa.ephemeral.challenge(&challenge.id, ctx.now).await {
        Ok(Some(c)) => c,
        Ok(None) => return api_pending_failed(PendingError::Refused(Refusal::Expired)),
        Err(e) => return api_pending_failed(PendingError::Failed(e.into())),
    };
    let mut body = serde_json::Map::new();
    body.insert("mfa_required".into(), json!(true));
    if let Err(e) = add_enrollment(ctx, &current, &mut body) {
        return api_pending_failed(e);
    }
    json_response(StatusCode::OK, &Value::Object(body))
}

/// The released login answer with `backup_codes` added: into the app's JSON object when it is
/// one, else around it.
fn with_backup_codes(released: Response<Bytes>, shown: &[String]) -> Response<Bytes> {
    let (mut parts, body) = released.into_parts();
    let merged = match serde_json::from_slice::<Value>(&body) {
        Ok(Value::Object(mut object)) => {
            object.insert("backup_codes".into(), json!(shown));
            Value::Object(object)
        }
        _ => json!({
            "backup_codes": shown,
            "response": String::from_utf8_lossy(&body),
        }),
    };
    parts.headers.remove(header::CONTENT_LENGTH);
    parts.headers.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/json"),
    );
    parts
        .headers
        .insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    Response::from_parts(parts, Bytes::from(format!("{merged}\n")))
}

fn api_wrong(left: u32, spent: bool) -> Response<Bytes> {
    let outcome = if spent {
        Outcome::SpentCode
    } else {
        Outcome::InvalidCode
    };
    json_response(
        outcome.status(),
        &json!({
            "error": outcome.code(),
            "message": outcome.message(),
            "remaining_attempts": left,
        }),
    )
}

fn api_dead() -> Response<Bytes> {
    Outcome::TooManyAttempts.json()
}

pub fn api_pending_failed(error: PendingError) -> Response<Bytes> {
    match error {
        PendingError::Refused(r) => Outcome::from(r).json(),
        PendingError::Failed(error) => {
            tracing::error!(error = %crate::ops::error_chain(&error), "MFA step failed");
            Outcome::Unavailable.json()
        }
    }
}
