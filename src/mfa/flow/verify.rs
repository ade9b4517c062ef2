//! The verify step: a code against the user's factors, and the release it earns.

use super::attempts::{wrong_after, wrong_codes_since_last_sign_in};
use super::release::release_challenge;
use super::{CodeOutcome, Context, PendingError, Refusal, Reserved};
use crate::factors::service::{Accepted, Env, FactorError, Method, Subject, Verdict};
use crate::keys::KeyError;
use crate::mfa::MfaError;
use crate::store::{Challenge, ChallengeStage, DurableStore, EphemeralStore, FactorState};
use bytes::Bytes;
use http::Response;

/// A code typed for a login at the verify step. On success the challenge is consumed (one
/// winner however many race) and the withheld answer released.
pub async fn verify(
    ctx: &Context<'_>,
    challenge: &Challenge,
    code: &str,
    method: Option<Method>,
) -> Result<CodeOutcome<Verified>, PendingError> {
    if challenge.stage != ChallengeStage::Verify {
        return Err(PendingError::Refused(Refusal::WrongStep));
    }
    if let Some(lock) = ctx.lock_end(&challenge.realm, &challenge.user).await? {
        ctx.refused_locked(&challenge.user, lock);
        return Ok(CodeOutcome::Locked(lock));
    }
    ctx.audit_gate()?;
    let reserved = match ctx
        .reserve_attempt(&challenge.realm, &challenge.user)
        .await?
    {
        Ok(reserved) => reserved,
        // Attempts made at the same time spent the budget first.
        Err(lock) => {
            ctx.refused_locked(&challenge.user, lock);
            return Ok(CodeOutcome::Locked(lock));
        }
    };
    let who = ctx.subject(challenge);
    let verdict = check_code(ctx, &who, &challenge.began, code, method).await?;
    // The code this user's own browser used a moment ago, sent again (a double submit, or
    // typed before the app showed the next one): answered, not counted.
    if verdict.wait_for_next()
        && ctx
            .familiar(&challenge.realm, &challenge.user)
            .await?
            .is_some()
    {
        ctx.audit(
            "verify_failed",
            &challenge.user,
            "refused",
            None,
            &[(
                "reason",
                "code already used, by this browser: not counted".into(),
            )],
        );
        ctx.reserved_not_a_guess(&reserved, false).await?;
        return Ok(CodeOutcome::Wrong {
            left: ctx.settings.max_attempts.saturating_sub(challenge.failures),
            spent: true,
            counted: false,
        });
    }
    let Some(accepted) = verdict.accepted() else {
        return wrong_after(
            ctx,
            challenge,
            method.map_or("unknown", Method::as_str),
            verdict,
            Some(&reserved),
        )
        .await;
    };
    let verified = release_verified(ctx, challenge, accepted, &reserved).await?;
    Ok(CodeOutcome::Accepted(verified))
}

/// A right code at the verify step: counted as passed, recorded, and the login released to
/// the one request that takes its challenge.
async fn release_verified(
    ctx: &Context<'_>,
    challenge: &Challenge,
    accepted: Accepted,
    reserved: &Reserved,
) -> Result<Verified, PendingError> {
    ctx.mfa
        .metrics
        .outcome(&ctx.app.name, accepted.method.as_str(), "accepted");
    ctx.reserved_not_a_guess(reserved, true).await?;
    let mut detail = vec![("method", accepted.method.as_str().to_string())];
    if let Some(left) = accepted.recovery_codes_left {
        detail.push(("recovery_codes_left", left.to_string()));
    }
    ctx.audit_required(
        "verify_succeeded",
        &challenge.user,
        "accepted",
        None,
        &detail,
    )?;
    crate::ops::crash::point("verify.code_used");
    let taken = ctx
        .mfa
        .ephemeral
        .take_challenge(&challenge.id, ctx.now)
        .await?
        .ok_or(PendingError::Refused(Refusal::Expired))?;
    let response = release_challenge(ctx, &taken).await?;
    let wrong_codes =
        wrong_codes_since_last_sign_in(ctx, &taken.realm, &taken.user, taken.failures).await?;
    // Told if it can be: the login is released already and must not be lost to this.
    let codes_unseen = match ctx
        .mfa
        .durable
        .recovery_codes_unseen(&taken.realm, &taken.user)
        .await
    {
        Ok(unseen) => unseen,
        Err(error) => {
            tracing::warn!(error = %crate::ops::error_chain(&error), "cannot tell whether the user's recovery codes were shown");
            false
        }
    };
    Ok(Verified {
        response,
        wrong_codes,
        codes_unseen,
    })
}

/// A login released by its code, and what the user is to be told with it.
pub struct Verified {
    pub response: Response<Bytes>,
    /// Wrong codes entered for the user from other browsers since their last sign-in.
    pub wrong_codes: u32,
    /// The user's recovery codes were made and never shown to them.
    pub codes_unseen: bool,
}

/// Whether `code` has the shape of any code the user could mean (for the standard factors, a
/// TOTP code or a recovery code): one that has not is answered without costing an attempt —
/// a typo of length, not a guess.
pub fn plausible_code(ctx: &Context<'_>, code: &str) -> bool {
    ctx.mfa.factors.plausible(&ctx.factor_env(), code)
}

/// A code against the user's enrolled factors (consumed when accepted); `began` is what the
/// factors kept for this login. A secret sealed under a key this process has not seen yet
/// (`keys rotate` ran meanwhile) makes it read the key file once and try again.
pub async fn check_code(
    ctx: &Context<'_>,
    who: &Subject<'_>,
    began: &[FactorState],
    code: &str,
    method: Option<Method>,
) -> Result<Verdict, MfaError> {
    let factors = &ctx.mfa.factors;
    match factors
        .verify(&ctx.factor_env(), who, began, code, method)
        .await
    {
        Err(FactorError::Keys(KeyError::UnknownKey(_))) => {
            ctx.mfa.reload_keys()?;
            let keys = ctx.mfa.keys();
            let env = Env {
                keys: &keys,
                ..ctx.factor_env()
            };
            Ok(factors.verify(&env, who, began, code, method).await?)
        }
        other => Ok(other?),
    }
}
