//! Where a pending login stands: its step, the token that names it, and why it cannot go on.

use super::Context;
use crate::mfa::MfaError;
use crate::regulation;
use crate::session::token::{PendingToken, TokenError};
use crate::store::{Challenge, ChallengeStage, EphemeralStore};

/// What the user must do after their password was accepted.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Step {
    Verify,
    Invite,
    Enroll,
}

impl Step {
    pub fn of(challenge: &Challenge) -> Step {
        match challenge.stage {
            ChallengeStage::Verify => Step::Verify,
            ChallengeStage::Invite => Step::Invite,
            _ => Step::Enroll,
        }
    }

    /// The page (below the prefix) and the audit name of the step.
    pub fn name(self) -> &'static str {
        match self {
            Step::Verify => "verify",
            Step::Invite => "invite",
            Step::Enroll => "enroll",
        }
    }
}

/// Why a pending login cannot continue; each has a fixed message for the user.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Refusal {
    /// No token, or one that was forged, altered or issued for another app.
    Invalid,
    /// Expired, already used, or killed by too many wrong codes.
    Expired,
    /// The request does not fit the step the login is at.
    WrongStep,
}

impl Refusal {
    /// The id of the sentence a page shows (`locales/*.ftl`); its status, JSON code and
    /// message are in the one table (`outcome`).
    pub fn message_id(self) -> &'static str {
        match self {
            Refusal::Invalid => "refusal-invalid",
            Refusal::Expired => "refusal-expired",
            Refusal::WrongStep => "refusal-wrong-step",
        }
    }
}

pub enum CodeOutcome<T> {
    Accepted(T),
    /// Wrong code; this many attempts are left. `spent`: a real code that was already used
    /// (the user should wait for the next one).
    /// `counted`: false when it cost no attempt (this browser's own code, sent again).
    Wrong {
        left: u32,
        spent: bool,
        counted: bool,
    },
    /// That was the last attempt: the login is gone.
    Dead,
    /// The user or the client is locked (until when, on what); no code is checked meanwhile.
    Locked(regulation::Lock),
}

/// The live challenge a token names, if the token is genuine and belongs to this app.
pub async fn pending(ctx: &Context<'_>, token: Option<&str>) -> Result<Challenge, PendingError> {
    let token = token.ok_or(PendingError::Refused(Refusal::Invalid))?;
    let claims = match PendingToken::verify(token, &ctx.keys, ctx.now) {
        Ok(c) => c,
        Err(TokenError::Expired) => return Err(PendingError::Refused(Refusal::Expired)),
        Err(_) => return Err(PendingError::Refused(Refusal::Invalid)),
    };
    let challenge = ctx
        .mfa
        .ephemeral
        .challenge(&claims.challenge_id, ctx.now)
        .await?
        .ok_or(PendingError::Refused(Refusal::Expired))?;
    // The binding lives server-side: the token's user and realm must be the challenge's own,
    // and a login made for one app cannot be finished through another.
    if challenge.user != claims.user
        || challenge.realm != claims.realm
        || challenge.app != ctx.app.name
    {
        return Err(PendingError::Refused(Refusal::Invalid));
    }
    Ok(challenge)
}

#[derive(Debug, thiserror::Error)]
pub enum PendingError {
    #[error("refused: {0:?}")]
    Refused(Refusal),
    #[error(transparent)]
    Failed(#[from] MfaError),
}

impl From<crate::store::StoreError> for PendingError {
    fn from(e: crate::store::StoreError) -> Self {
        PendingError::Failed(MfaError::Store(e))
    }
}
