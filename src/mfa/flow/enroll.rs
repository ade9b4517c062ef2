//! The enroll step: the new factor shown, confirmed with a code, and the recovery codes the
//! user acknowledges before the login is released.

use super::release::release_challenge;
use super::{wrong, CodeOutcome, Context, PendingError, Refusable, Refusal};
use crate::factors::recovery::RecoveryCode;
use crate::factors::service::{Answer, FactorError, Provisioning, Verdict};
use crate::mfa::MfaError;
use crate::store::{Challenge, ChallengeStage, DurableStore, EphemeralStore, FactorState};
use bytes::Bytes;
use http::Response;

/// What the enrollment page shows: the secret as text, as a URI and as a QR code.
pub struct EnrollSetup {
    pub secret: zeroize::Zeroizing<String>,
    pub otpauth_uri: zeroize::Zeroizing<String>,
    pub qr_svg: zeroize::Zeroizing<String>,
}

/// The factor enrollment a challenge waits to confirm.
fn pending_state(challenge: &Challenge) -> Result<&FactorState, PendingError> {
    match &challenge.stage {
        ChallengeStage::Enroll { pending } => Ok(pending),
        _ => Err(PendingError::Refused(Refusal::WrongStep)),
    }
}

pub fn enroll_setup(ctx: &Context<'_>, challenge: &Challenge) -> Result<EnrollSetup, PendingError> {
    let pending = pending_state(challenge)?;
    let shown = ctx
        .mfa
        .factors
        .provisioning(
            &ctx.factor_env(),
            &ctx.subject(challenge),
            pending,
            &ctx.settings.issuer,
        )
        .map_err(MfaError::from)?
        .ok_or(MfaError::Factor(FactorError::State))?;
    Ok(EnrollSetup::new(shown)?)
}

impl EnrollSetup {
    pub fn new(shown: Provisioning) -> Result<EnrollSetup, MfaError> {
        let qr_svg = crate::ui::qr::svg(&shown.uri, "QR code for your authenticator app")
            .map_err(|_| MfaError::Qr)?;
        Ok(EnrollSetup {
            secret: shown.secret,
            otpauth_uri: shown.uri,
            qr_svg,
        })
    }

    /// The key in groups of four, as it is easiest to type.
    pub fn secret_grouped(&self) -> String {
        self.secret
            .as_bytes()
            .chunks(4)
            .map(|c| String::from_utf8_lossy(c).into_owned())
            .collect::<Vec<_>>()
            .join(" ")
    }
}

/// Confirms the authenticator shown at the enroll step with a current code: stores it, makes a
/// fresh set of recovery codes (returned to show) and moves the login to the step where the
/// user acknowledges them, with the codes sealed into that step: the page opened again shows
/// the same set.
pub async fn confirm_enrollment(
    ctx: &Context<'_>,
    challenge: &Challenge,
    code: &str,
) -> Result<CodeOutcome<Vec<RecoveryCode>>, PendingError> {
    let pending = pending_state(challenge)?;
    if let Some(until) = ctx.lock_end(&challenge.realm, &challenge.user).await? {
        ctx.refused_locked(&challenge.user, until);
        return Ok(CodeOutcome::Locked(until));
    }
    let confirmed = ctx
        .mfa
        .factors
        .confirm_enrollment(
            &ctx.factor_env(),
            &ctx.subject(challenge),
            pending,
            Answer::Code(code),
        )
        .await
        .map_err(MfaError::from)?;
    let Some(record) = confirmed else {
        return wrong(ctx, challenge, "enrollment", Verdict::Wrong).await;
    };
    ctx.mfa
        .metrics
        .outcome(&ctx.app.name, "enrollment", "accepted");
    // The codes are made here and sealed into the next step; the step moves before anything
    // is stored: of two racing confirmations only one goes on to store the factor and these
    // codes, so the codes the winner shows are the ones that work.
    let codes = crate::factors::recovery::generate_set();
    let mut plain = zeroize::Zeroizing::new(String::with_capacity(codes.len() * 16));
    for code in &codes {
        if !plain.is_empty() {
            plain.push('\n');
        }
        plain.push_str(&code.display());
    }
    let sealed = ctx
        .keys
        .seal(plain.as_bytes(), &recovery_codes_context(&challenge.id))
        .map_err(MfaError::from)?;
    if !ctx
        .mfa
        .ephemeral
        .advance_challenge(
            &challenge.id,
            challenge.revision,
            ChallengeStage::AcknowledgeRecoveryCodes { codes: sealed },
            ctx.now,
        )
        .await?
    {
        return Err(PendingError::Refused(Refusal::Expired));
    }
    // The confirmed record's counter is past the confirming code: it cannot log in again.
    let hashes: Vec<[u8; 32]> = codes
        .iter()
        .map(|c| crate::factors::recovery::hash(&ctx.keys, c.normalised()))
        .collect();
    let detail = [
        ("method", record.method.clone()),
        ("factor", record.id.clone()),
    ];
    ctx.change(
        "enrollment_completed",
        &challenge.user,
        None,
        &detail,
        Refusable::Yes,
        async {
            ctx.mfa
                .durable
                .enroll_factor(&record, &hashes, ctx.now)
                .await?;
            crate::ops::crash::point("enroll.factor_stored");
            // A new factor ends every other session of the user (ASVS 3.3.3).
            ctx.mfa
                .ephemeral
                .end_user_sessions(&challenge.realm, &challenge.user, None)
                .await?;
            Ok::<_, PendingError>(())
        },
    )
    .await?;
    Ok(CodeOutcome::Accepted(codes))
}

/// What the recovery codes sealed into a challenge's acknowledge step are bound to.
fn recovery_codes_context(challenge_id: &str) -> Vec<u8> {
    format!("recovery-codes-v1\0{challenge_id}").into_bytes()
}

/// At the acknowledge step, the codes page opened again (a reload, back and forward, a tab
/// restored): the codes made at the confirmation, as they were shown. Never a new set — the
/// first one is the one that works, whatever the user saved.
pub fn shown_recovery_codes(
    ctx: &Context<'_>,
    challenge: &Challenge,
) -> Result<Vec<String>, PendingError> {
    let ChallengeStage::AcknowledgeRecoveryCodes { codes } = &challenge.stage else {
        return Err(PendingError::Refused(Refusal::WrongStep));
    };
    let plain = ctx
        .keys
        .open(codes, &recovery_codes_context(&challenge.id))
        .map_err(MfaError::from)?;
    // Authenticated, so exactly the text sealed above: lossy conversion loses nothing.
    Ok(String::from_utf8_lossy(&plain)
        .split('\n')
        .map(str::to_string)
        .collect())
}

/// The user saved their codes: the login is released (the challenge, and the codes sealed in
/// it, are gone).
pub async fn acknowledge(
    ctx: &Context<'_>,
    challenge: &Challenge,
) -> Result<Response<Bytes>, PendingError> {
    if !matches!(
        challenge.stage,
        ChallengeStage::AcknowledgeRecoveryCodes { .. }
    ) {
        return Err(PendingError::Refused(Refusal::WrongStep));
    }
    // Fail closed if the factor did not make it to the store.
    if ctx
        .mfa
        .durable
        .factors(&challenge.realm, &challenge.user)
        .await?
        .is_empty()
    {
        return Err(PendingError::Refused(Refusal::Expired));
    }
    // The user has them: the page said to save them and they went on (or an API client gets
    // them in this answer). Noted before the challenge is taken, so a store that fails here
    // loses nothing: the step can be tried again.
    ctx.mfa
        .durable
        .recovery_codes_shown(&challenge.realm, &challenge.user)
        .await?;
    let taken = ctx
        .mfa
        .ephemeral
        .take_challenge(&challenge.id, ctx.now)
        .await?
        .ok_or(PendingError::Refused(Refusal::Expired))?;
    Ok(release_challenge(ctx, &taken).await?)
}
