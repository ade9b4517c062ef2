//! Beginning a login the app accepted: a lock, the step the user is sent to (verify, an
//! invitation, a first-login enrollment), and the invite step.

use super::release::{release, withheld_context};
use super::{wrong, CodeOutcome, Context, PendingError, Refusal, Step};
use crate::config::{Closed, Enrollment, FirstLogin, Policy};
use crate::factors::service::{Enrolled, Subject, Verdict};
use crate::intercept::withheld::WithheldAnswer;
use crate::mfa::{random_id, MfaError};
use crate::regulation;
use crate::session::token::PendingToken;
use crate::store::{Challenge, ChallengeStage, DurableStore, EphemeralStore, FactorState};
use bytes::Bytes;
use http::Response;

pub enum Begun {
    /// Nothing to ask (optional policy, no factor enrolled): the answer goes out now.
    Released(Response<Bytes>),
    /// The user or the client is locked (too many wrong codes, or an admin lock): the app's
    /// answer is dropped. With the user it was for.
    Locked(regulation::Lock, String),
    /// The user has no factor and may not set one up here now (first-login enrollment is
    /// closed and `otherwise: refuse`): the app's answer is dropped. With the user.
    Closed(String),
    /// The answer is withheld; the client continues with this signed token.
    Pending {
        token: String,
        challenge: Box<Challenge>,
        expires_in: i64,
    },
}

/// The app accepted `user`'s password and answered with `answer`: withhold it behind a
/// challenge, or release it at once when policy asks for nothing. `known_lock` is the user's
/// lock when it was already looked up with the login request.
pub async fn begin(
    ctx: &Context<'_>,
    user: String,
    answer: WithheldAnswer,
    known_lock: Option<Option<regulation::Lock>>,
) -> Result<Begun, MfaError> {
    let realm = &ctx.settings.realm;
    let lock = match known_lock {
        Some(lock) => lock,
        None => ctx.lock_end(realm, &user).await?,
    };
    if let Some(lock) = lock {
        ctx.audit(
            "login_intercepted",
            &user,
            "refused",
            None,
            &[
                ("reason", "locked".into()),
                ("locked_until", crate::ops::time::rfc3339(lock.until)),
                ("lock", lock.scope.as_str().into()),
            ],
        );
        return Ok(Begun::Locked(lock, user));
    }
    let who = Subject {
        realm,
        user: &user,
        now: ctx.now,
    };
    let enrolled = ctx.mfa.factors.at_login(&ctx.factor_env(), &who).await?;
    let (stage, reason) = match first_step(ctx, realm, &user, enrolled.any()).await? {
        FirstStep::Ask(stage, reason) => (stage, reason),
        FirstStep::Release => {
            let response = release(ctx, realm, &user, answer).await?;
            return Ok(Begun::Released(response));
        }
        FirstStep::Closed => return Ok(Begun::Closed(user)),
    };
    withhold(ctx, user, answer, stage, reason, &enrolled).await
}

/// Where a login the app accepted goes first, before anything is withheld.
enum FirstStep {
    /// Withheld behind a challenge at this stage, with the reason the trail gives for it.
    Ask(ChallengeStage, Option<&'static str>),
    /// Nothing to ask: the answer goes out now (already audited).
    Release,
    /// No factor and none may be set up now: the answer is dropped (already audited).
    Closed,
}

/// The first step of `user`'s login: verify with an enrolled factor, else as the policy and
/// the enrollment rules say.
async fn first_step(
    ctx: &Context<'_>,
    realm: &str,
    user: &str,
    enrolled: bool,
) -> Result<FirstStep, MfaError> {
    Ok(match (enrolled, ctx.settings.policy_for(user)) {
        (true, _) => FirstStep::Ask(ChallengeStage::Verify, None),
        // Also under `optional`: a look-alike of an enrolled user (`alice.` where alice is
        // enrolled) must not pass on the password, nor enroll on it alone: it may be the same
        // account to the app. It needs an administrator's invite code, so that a distinct
        // account of that spelling (j.doe beside jdoe) can still be set up.
        (false, _) if lookalike_enrolled(ctx, realm, user).await? => FirstStep::Ask(
            ChallengeStage::Invite,
            Some("name looks like an enrolled user's"),
        ),
        // Invited by an administrator: the user is to enroll now, with the code.
        (false, Policy::Optional)
            if ctx
                .mfa
                .durable
                .invite(realm, user, ctx.now)
                .await?
                .is_some() =>
        {
            FirstStep::Ask(ChallengeStage::Invite, Some("invited"))
        }
        (false, Policy::Optional) => {
            ctx.audit_required(
                "login_intercepted",
                user,
                "released",
                None,
                &[("reason", "no factor, optional policy".into())],
            )?;
            FirstStep::Release
        }
        (false, Policy::Required) => required_step(ctx, realm, user).await?,
    })
}

/// The first step of a user with no factor where one is required: enrollment on the password
/// alone while first-login enrollment is open, else an invitation, else refused.
async fn required_step(ctx: &Context<'_>, realm: &str, user: &str) -> Result<FirstStep, MfaError> {
    ctx.mfa
        .durable
        .note_unenrolled(realm, user, ctx.now)
        .await?;
    Ok(match &ctx.settings.enrollment {
        Enrollment::Invite => FirstStep::Ask(ChallengeStage::Invite, None),
        Enrollment::FirstLogin(first) if first_login_open(ctx, first, realm, user).await? => {
            ctx.audit_required(
                "enrollment_started",
                user,
                "accepted",
                None,
                &[("mode", "first_login".into())],
            )?;
            FirstStep::Ask(enrollment_stage(ctx, realm, user)?, None)
        }
        Enrollment::FirstLogin(first) => {
            let invited = first.otherwise == Closed::Invite
                || ctx
                    .mfa
                    .durable
                    .invite(realm, user, ctx.now)
                    .await?
                    .is_some();
            if !invited {
                ctx.audit_required(
                    "login_intercepted",
                    user,
                    "refused",
                    None,
                    &[(
                        "reason",
                        "no factor, and first-login enrollment closed".into(),
                    )],
                )?;
                return Ok(FirstStep::Closed);
            }
            FirstStep::Ask(
                ChallengeStage::Invite,
                Some("first-login enrollment closed"),
            )
        }
    })
}

/// Withholds `answer` behind a new challenge at `stage`: sealed to the challenge, shown in the
/// trail, and named by the signed token the client continues with.
async fn withhold(
    ctx: &Context<'_>,
    user: String,
    answer: WithheldAnswer,
    stage: ChallengeStage,
    reason: Option<&'static str>,
    enrolled: &Enrolled,
) -> Result<Begun, MfaError> {
    let realm = &ctx.settings.realm;
    let id = random_id();
    let ttl = i64::try_from(ctx.settings.challenge_timeout.as_secs()).unwrap_or(300);
    let expires_at = ctx.now.saturating_add(ttl);
    // Released later at a gateway URL, the answer's cookies without a Path would belong to
    // that URL's directory (/.mfa): they get the one the browser would have given them here.
    let mut answer = answer;
    crate::session::jar::pin_default_paths(&mut answer.headers, ctx.request_uri.path());
    let withheld = ctx.keys.seal(&answer.encode(), &withheld_context(&id))?;
    let mut challenge = Challenge {
        id: id.clone(),
        realm: realm.clone(),
        app: ctx.app.name.clone(),
        user: user.clone(),
        created_at: ctx.now,
        expires_at,
        failures: 0,
        revision: 0,
        stage,
        began: Vec::new(),
        withheld,
    };
    // Recorded before the challenge exists: with `on_failure: refuse` no login waits at a
    // step the trail does not show.
    let step = Step::of(&challenge).name();
    let mut detail = vec![("step", step.to_string())];
    detail.extend(reason.map(|r| ("reason", r.to_string())));
    ctx.audit_required("login_intercepted", &user, "challenge", None, &detail)?;
    // Begun once the trail shows the login: no code is sent for a login it does not show.
    if challenge.stage == ChallengeStage::Verify {
        challenge.began = begin_factors(ctx, realm, &user, enrolled).await?;
    }
    ctx.mfa.ephemeral.put_challenge(&challenge).await?;
    let token = PendingToken {
        challenge_id: id,
        realm: realm.clone(),
        user,
        expires_at,
    }
    .sign(&ctx.keys);
    Ok(Begun::Pending {
        token,
        challenge: Box::new(challenge),
        expires_in: ttl,
    })
}

/// Starts the user's factors for the verify step (a code sent, a challenge to sign): what they
/// keep goes with the challenge.
async fn begin_factors(
    ctx: &Context<'_>,
    realm: &str,
    user: &str,
    enrolled: &Enrolled,
) -> Result<Vec<FactorState>, MfaError> {
    let who = Subject {
        realm,
        user,
        now: ctx.now,
    };
    Ok(ctx
        .mfa
        .factors
        .begin(&ctx.factor_env(), &who, enrolled)
        .await?)
}

/// Whether `user` may set up a first factor on the password alone now. A `for:` window opens
/// at the realm's first such enrollment (recorded once, so restarts do not reopen it).
pub(in crate::mfa) async fn first_login_open(
    ctx: &Context<'_>,
    first: &FirstLogin,
    realm: &str,
    user: &str,
) -> Result<bool, MfaError> {
    // Listed and before `until`, as if the window had just opened: only then is it opened.
    if !first.admits(user, ctx.now, Some(ctx.now)) {
        return Ok(false);
    }
    let opened = match first.window {
        Some(_) => Some(ctx.mfa.durable.open_enrollment(realm, ctx.now).await?),
        None => None,
    };
    Ok(first.admits(user, ctx.now, opened))
}

/// Whether an enrolled user of the realm has a name that looks like `user` (and is not it):
/// `ａｌｉｃｅ`, `Alice` or `alicé` where `alice` is enrolled, when the app may read them as one
/// account (a collation that ignores case or accents, a normalisation the config does not
/// name). Asked only before a first enrollment, and only when the name is the one typed.
pub(in crate::mfa) async fn lookalike_enrolled(
    ctx: &Context<'_>,
    realm: &str,
    user: &str,
) -> Result<bool, MfaError> {
    // A name the app itself told us is the app's own account, whatever it looks like.
    if !matches!(
        ctx.settings.identity,
        crate::config::IdentitySource::LoginField
    ) {
        return Ok(false);
    }
    let looks = crate::config::lookalike(user);
    Ok(ctx
        .mfa
        .durable
        .all_factors()
        .await?
        .iter()
        .any(|r| r.realm == realm && r.user != user && crate::config::lookalike(&r.user) == looks))
}

/// A new factor for `user` (its secret sealed), kept in the enroll stage.
fn enrollment_stage(
    ctx: &Context<'_>,
    realm: &str,
    user: &str,
) -> Result<ChallengeStage, MfaError> {
    let who = Subject {
        realm,
        user,
        now: ctx.now,
    };
    let pending = ctx.mfa.factors.begin_enrollment(&ctx.factor_env(), &who)?;
    Ok(ChallengeStage::Enroll { pending })
}

/// At the invite step: the code from `user invite` lets the login go on to enrollment (and is
/// used up); a wrong one counts like a wrong second-factor code.
pub async fn accept_invite(
    ctx: &Context<'_>,
    challenge: &Challenge,
    code: &str,
) -> Result<CodeOutcome<()>, PendingError> {
    if challenge.stage != ChallengeStage::Invite {
        return Err(PendingError::Refused(Refusal::WrongStep));
    }
    let (realm, user) = (&challenge.realm, &challenge.user);
    if let Some(until) = ctx.lock_end(realm, user).await? {
        ctx.refused_locked(user, until);
        return Ok(CodeOutcome::Locked(until));
    }
    // An invitation is used up when it is taken: not while its use cannot be recorded.
    ctx.audit_gate()?;
    let taken = match crate::factors::invite::hash(&ctx.keys, realm, user, code) {
        Some(hash) => {
            ctx.mfa
                .durable
                .take_invite(realm, user, &hash, ctx.now)
                .await?
        }
        None => false,
    };
    if !taken {
        ctx.audit(
            "invite_refused",
            user,
            "refused",
            None,
            &[("reason", "wrong or expired invitation code".into())],
        );
        return wrong(ctx, challenge, "invite", Verdict::Wrong).await;
    }
    ctx.mfa.metrics.outcome(&ctx.app.name, "invite", "accepted");
    let stage = enrollment_stage(ctx, realm, user)?;
    if !ctx
        .mfa
        .ephemeral
        .advance_challenge(&challenge.id, challenge.revision, stage, ctx.now)
        .await?
    {
        return Err(PendingError::Refused(Refusal::Expired));
    }
    ctx.code_passed(realm, user).await?;
    ctx.audit(
        "enrollment_started",
        user,
        "accepted",
        None,
        &[("mode", "invite".into())],
    );
    Ok(CodeOutcome::Accepted(()))
}
