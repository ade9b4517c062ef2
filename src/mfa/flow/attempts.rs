//! Wrong codes and locks: what a code counts against, counting before reading, and a wrong
//! answer on a pending login.

use super::{CodeOutcome, Context, PendingError, Refusal};
use crate::config::Limit;
use crate::factors::service::Verdict;
use crate::regulation;
use crate::store::{Challenge, EphemeralStore, FailureOutcome, StoreError};

impl Context<'_> {
    /// The subjects wrong codes count against for `user`, with their limits, the one a
    /// correct code clears first: the device alone for a browser that passed this user's
    /// second factor before (`familiar`), else the account as reached from new browsers, the
    /// address and the network. Last, the user, whom only an administrator locks.
    fn code_subjects(
        &self,
        realm: &str,
        user: &str,
        familiar: Option<String>,
    ) -> Vec<(regulation::Subject, Option<Limit>)> {
        let rules = &self.settings.regulation;
        let admin = (
            regulation::Subject::User {
                realm: realm.to_string(),
                user: user.to_string(),
            },
            None,
        );
        if let Some(id) = familiar {
            return vec![(regulation::Subject::Device(id), rules.device), admin];
        }
        vec![
            (
                regulation::Subject::NewBrowsers {
                    realm: realm.to_string(),
                    user: user.to_string(),
                },
                rules.user,
            ),
            (
                regulation::Subject::Client(regulation::client_of(self.client)),
                rules.for_address(rules.client, self.client),
            ),
            (
                regulation::Subject::Network(regulation::network_of(self.client)),
                rules.for_address(rules.network, self.client),
            ),
            admin,
        ]
    }

    /// The code subjects of `user` for this request.
    async fn subjects_here(
        &self,
        realm: &str,
        user: &str,
    ) -> Result<Vec<(regulation::Subject, Option<Limit>)>, StoreError> {
        let familiar = self.familiar(realm, user).await?;
        Ok(self.code_subjects(realm, user, familiar))
    }

    /// The end of a lock on what this request's codes for `user` count against, if one is in
    /// force.
    pub async fn lock_end(
        &self,
        realm: &str,
        user: &str,
    ) -> Result<Option<regulation::Lock>, StoreError> {
        let subjects = self.code_subjects_here(realm, user).await?;
        regulation::lock_end(&self.mfa.ephemeral, &subjects, self.now).await
    }

    /// The code subjects of `user` (for an inspection made before the login is answered).
    pub async fn code_subjects_here(
        &self,
        realm: &str,
        user: &str,
    ) -> Result<Vec<regulation::Subject>, StoreError> {
        Ok(self
            .subjects_here(realm, user)
            .await?
            .into_iter()
            .map(|(s, _)| s)
            .collect())
    }

    /// Counts a wrong code against what this request's codes for `user` count against;
    /// audits any lock it caused. The end of the lock now in force, if any.
    pub async fn code_failed(
        &self,
        realm: &str,
        user: &str,
    ) -> Result<Option<regulation::Lock>, StoreError> {
        self.code_failed_after(realm, user, None, false).await
    }

    /// Counts this attempt against the account (or this browser) before its code is read:
    /// attempts made at once cannot all be read before any of them counts. `Err`: the budget
    /// was spent before this attempt (it is refused unread). `Ok`: read the code; a lock this
    /// very attempt started is lifted again if the code is right.
    pub async fn reserve_attempt(
        &self,
        realm: &str,
        user: &str,
    ) -> Result<Result<Reserved, regulation::Lock>, StoreError> {
        let subjects = self.subjects_here(realm, user).await?;
        let Some((subject, Some(limit))) = subjects.into_iter().next() else {
            return Ok(Ok(Reserved::default()));
        };
        let counted = self
            .mfa
            .ephemeral
            .count_failure(&subject.key(), regulation::store_limit(limit), self.now)
            .await?;
        let lock = |until| regulation::Lock {
            until,
            scope: subject.scope(),
        };
        Ok(match counted {
            crate::store::Counted::Locked(until) => Err(lock(until)),
            crate::store::Counted::LockedNow(until) => Ok(Reserved {
                locked_now: Some(lock(until)),
                subject: Some(subject),
            }),
            crate::store::Counted::Under(_) => Ok(Reserved {
                locked_now: None,
                subject: Some(subject),
            }),
        })
    }

    /// As [`Context::code_failed`], for an attempt already counted against `reserved`'s
    /// subject (which is not counted again; a lock it started is audited here). `tell`: a
    /// guess at the verify step, told to the user at their next sign-in when it came from a
    /// browser other than theirs (typos while enrolling, or in a session's settings, are the
    /// user's own).
    pub async fn code_failed_after(
        &self,
        realm: &str,
        user: &str,
        reserved: Option<&Reserved>,
        tell: bool,
    ) -> Result<Option<regulation::Lock>, StoreError> {
        let mut subjects = self.subjects_here(realm, user).await?;
        let own_browser = matches!(subjects.first(), Some((regulation::Subject::Device(_), _)));
        if let Some(subject) = reserved.and_then(|r| r.subject.as_ref()) {
            subjects.retain(|(s, _)| s != subject);
        }
        if tell && !own_browser {
            self.mfa
                .ephemeral
                .count_failure(&notice_key(realm, user), NOTICE_COUNT, self.now)
                .await?;
        }
        let mut failure =
            regulation::count_failure(&self.mfa.ephemeral, &subjects, self.now).await?;
        if let Some(reserved) = reserved {
            if let (Some(subject), Some(lock)) = (&reserved.subject, reserved.locked_now) {
                failure.locked_now.push((subject.clone(), lock.until));
                failure.locked_until = Some(match failure.locked_until {
                    Some(other) if other.until > lock.until => other,
                    _ => lock,
                });
            }
        }
        for (subject, until) in &failure.locked_now {
            self.mfa
                .metrics
                .locks
                .get_or_create(&crate::mfa::metrics::LockLabels {
                    subject: subject.kind(),
                })
                .inc();
            self.audit(
                subject.lock_event(),
                user,
                "locked",
                None,
                &[
                    ("reason", "too many wrong codes".into()),
                    ("subject", subject.to_string()),
                    ("locked_until", crate::ops::time::rfc3339(*until)),
                ],
            );
        }
        Ok(failure.locked_until)
    }

    /// A code after [`Context::reserve_attempt`] that was no guess: right (`passed`: the count
    /// starts over), or this browser's own used code sent again (the attempt is taken back).
    /// Either way a lock the attempt itself started is lifted.
    pub async fn reserved_not_a_guess(
        &self,
        reserved: &Reserved,
        passed: bool,
    ) -> Result<(), StoreError> {
        let Some(subject) = &reserved.subject else {
            return Ok(());
        };
        let store = &self.mfa.ephemeral;
        let key = subject.key();
        match (reserved.locked_now.is_some(), passed) {
            (true, _) => store.set_lock(&key, None, self.now).await.map(|_| ()),
            (false, true) => store.clear_failures(&key).await,
            (false, false) => store.uncount_failure(&key, self.now).await,
        }
    }

    /// A correct code: the count of the account (or of the device it came from) starts over;
    /// the address's does not, or one good account would reset an attacker's address.
    pub async fn code_passed(&self, realm: &str, user: &str) -> Result<(), StoreError> {
        match self.subjects_here(realm, user).await?.first() {
            Some((subject, _)) => self.mfa.ephemeral.clear_failures(&subject.key()).await,
            None => Ok(()),
        }
    }

    /// A code refused unread because of a lock, audited.
    pub(super) fn refused_locked(&self, user: &str, lock: regulation::Lock) {
        self.mfa
            .metrics
            .outcome(&self.app.name, "unknown", "locked");
        self.audit(
            "verify_failed",
            user,
            "refused",
            None,
            &[
                ("reason", "locked".into()),
                ("locked_until", crate::ops::time::rfc3339(lock.until)),
                ("lock", lock.scope.as_str().into()),
            ],
        );
    }
}

/// An attempt counted before its code was read (see [`Context::reserve_attempt`]).
#[derive(Debug, Default)]
pub struct Reserved {
    subject: Option<regulation::Subject>,
    locked_now: Option<regulation::Lock>,
}

/// Where wrong codes from browsers other than the user's own are counted until the user's
/// next sign-in (never a lock: the count is only told).
fn notice_key(realm: &str, user: &str) -> String {
    format!("wn:{}:{realm}:{user}", realm.len())
}

/// Counting without a limit, kept a year from the first (so that waiting does not make
/// guesses vanish before the user hears of them).
const NOTICE_COUNT: crate::store::FailureLimit = crate::store::FailureLimit {
    failures: u32::MAX,
    within_secs: 365 * 86_400,
    lock_secs: 1,
    max_lock_secs: 1,
    max_failures: 0,
};

/// Wrong codes entered for `user` from other browsers since their last sign-in (forgotten
/// now), less `own` (this login's own typos): audited and counted in the metrics, for the page
/// that tells the user.
pub(super) async fn wrong_codes_since_last_sign_in(
    ctx: &Context<'_>,
    realm: &str,
    user: &str,
    own: u32,
) -> Result<u32, StoreError> {
    let count = ctx
        .mfa
        .ephemeral
        .take_failures(&notice_key(realm, user), ctx.now)
        .await?
        .saturating_sub(own);
    if count > 0 {
        ctx.mfa
            .metrics
            .wrong_codes_reported
            .get_or_create(&crate::mfa::metrics::AppLabels {
                app: ctx.app.name.clone(),
            })
            .inc_by(u64::from(count));
        ctx.audit(
            "wrong_codes_reported",
            user,
            "accepted",
            None,
            &[("wrong_codes", count.to_string())],
        );
    }
    Ok(count)
}

/// Counts a wrong answer (to the step `method` names) on the challenge, the user and the
/// client.
pub async fn wrong<T>(
    ctx: &Context<'_>,
    challenge: &Challenge,
    method: &'static str,
    verdict: Verdict,
) -> Result<CodeOutcome<T>, PendingError> {
    wrong_after(ctx, challenge, method, verdict, None).await
}

/// As [`wrong`], for an attempt already counted against `reserved`.
pub(super) async fn wrong_after<T>(
    ctx: &Context<'_>,
    challenge: &Challenge,
    method: &'static str,
    verdict: Verdict,
    reserved: Option<&Reserved>,
) -> Result<CodeOutcome<T>, PendingError> {
    let reason = verdict.reason();
    ctx.mfa.metrics.outcome(&ctx.app.name, method, "refused");
    let on_challenge = ctx
        .mfa
        .ephemeral
        .record_failure(&challenge.id, ctx.settings.max_attempts, ctx.now)
        .await?;
    let locked = ctx
        .code_failed_after(
            &challenge.realm,
            &challenge.user,
            reserved,
            reserved.is_some(),
        )
        .await?;
    if let (Some(lock), false) = (locked, on_challenge == FailureOutcome::Missing) {
        ctx.audit(
            "verify_failed",
            &challenge.user,
            "refused",
            None,
            &[
                ("reason", reason.into()),
                ("locked_until", crate::ops::time::rfc3339(lock.until)),
                ("lock", lock.scope.as_str().into()),
            ],
        );
        return Ok(CodeOutcome::Locked(lock));
    }
    match on_challenge {
        FailureOutcome::Remaining(left) => {
            ctx.audit(
                "verify_failed",
                &challenge.user,
                "refused",
                None,
                &[
                    ("reason", reason.into()),
                    ("attempts_left", left.to_string()),
                ],
            );
            Ok(CodeOutcome::Wrong {
                left,
                spent: verdict.wait_for_next(),
                counted: true,
            })
        }
        FailureOutcome::Dead => {
            ctx.audit(
                "verify_failed",
                &challenge.user,
                "refused",
                None,
                &[("reason", "too many wrong codes: login ended".into())],
            );
            Ok(CodeOutcome::Dead)
        }
        FailureOutcome::Missing => Err(PendingError::Refused(Refusal::Expired)),
    }
}
