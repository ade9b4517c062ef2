//! The sign-in step pages (HTML): the code, invitation and enrollment steps, the recovery
//! codes shown once, and sign-out.

use super::*;

pub(super) struct Pages<'a> {
    pub(super) ctx: &'a Context<'a>,
    pub(super) prefix: &'a str,
    pub(super) headers: &'a HeaderMap,
    pub(super) query: Option<&'a str>,
}

/// Why a page after a redirect shows an error: the posted code was wrong, or already used.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Shown {
    Wrong,
    Used,
}

impl Shown {
    fn query(self) -> &'static str {
        match self {
            Shown::Wrong => "error=wrong",
            Shown::Used => "error=used",
        }
    }

    fn of(query: Option<&str>) -> Option<Shown> {
        match query? {
            "error=wrong" => Some(Shown::Wrong),
            "error=used" => Some(Shown::Used),
            _ => None,
        }
    }
}

impl Pages<'_> {
    fn frame(&self) -> Frame<'_> {
        Frame {
            t: self.ctx.tr(),
            app_name: &self.ctx.app.display_name,
            prefix: self.prefix,
            logo: self.ctx.app.logo.is_some(),
        }
    }

    fn csrf(&self, challenge: &Challenge) -> String {
        B64.encode(self.ctx.keys.sign(b"csrf-v1", challenge.id.as_bytes()))
    }

    fn csrf_ok(&self, challenge: &Challenge, form: &Form) -> bool {
        let Ok(Some(sent)) = form.one("csrf") else {
            return false;
        };
        let Ok(sent) = B64.decode(sent) else {
            return false;
        };
        self.ctx
            .keys
            .verify_signature(b"csrf-v1", challenge.id.as_bytes(), &sent)
    }

    fn pending_token(&self) -> Option<String> {
        let name = self.ctx.pending_cookie().full_name();
        cookie_values(self.headers, &name)
            .first()
            .map(|v| v.to_string())
    }

    async fn challenge(&self) -> Result<Challenge, Response<Bytes>> {
        let token = self.pending_token();
        flow::pending(self.ctx, token.as_deref())
            .await
            .map_err(|e| self.pending_failed(e))
    }

    /// A posted form of the sign-in pages (`rest` below the prefix).
    pub(super) async fn post(&self, rest: &str, form: &[u8]) -> Response<Bytes> {
        match rest {
            "verify" => self.post_verify(form).await,
            "invite" => self.post_invite(form).await,
            "enroll" => self.post_enroll(form).await,
            "enroll/done" => self.post_acknowledge(form).await,
            "logout" => self.logout(form).await,
            "start-over" => self.start_over(form).await,
            _ => not_found(self.ctx, self.headers),
        }
    }

    pub(super) fn too_large(&self) -> Response<Bytes> {
        self.message(
            StatusCode::PAYLOAD_TOO_LARGE,
            "too-large-title",
            "too-large",
        )
    }

    /// A page with one message: `title` and `message` are message ids.
    fn message(&self, status: StatusCode, title: &str, message: &str) -> Response<Bytes> {
        let t = self.ctx.tr();
        let (title, message) = (t.t(title), t.t(message));
        let frame = self.frame();
        let page = MessagePage::new(&frame, &title, &message, &self.ctx.settings.login_page);
        pages::html(status, &page)
    }

    /// A dead end: the message, and the pending cookie removed.
    fn pending_failed(&self, error: PendingError) -> Response<Bytes> {
        let mut response = match error {
            PendingError::Refused(refusal) => {
                let status = match refusal {
                    Refusal::WrongStep => StatusCode::CONFLICT,
                    _ => StatusCode::UNAUTHORIZED,
                };
                self.message(status, "sign-in-again-title", refusal.message_id())
            }
            PendingError::Failed(error) => {
                tracing::error!(app = %self.ctx.app.name, error = %crate::ops::error_chain(&error), "MFA step failed");
                return self.message(
                    StatusCode::SERVICE_UNAVAILABLE,
                    "unavailable-title",
                    "unavailable",
                );
            }
        };
        response
            .headers_mut()
            .append(header::SET_COOKIE, self.ctx.pending_cookie().clear());
        response
    }

    fn challenge_page(
        &self,
        challenge: &Challenge,
        status: StatusCode,
        error: Option<&str>,
    ) -> Response<Bytes> {
        let csrf = self.csrf(challenge);
        pages::html(
            status,
            &ChallengePage {
                t: self.ctx.tr(),
                app_name: &self.ctx.app.display_name,
                prefix: self.prefix,
                logo: self.ctx.app.logo.is_some(),
                user: &challenge.user,
                issuer: &self.ctx.settings.issuer,
                csrf: &csrf,
                error,
            },
        )
    }

    fn enroll_page(
        &self,
        challenge: &Challenge,
        status: StatusCode,
        error: Option<&str>,
    ) -> Response<Bytes> {
        let setup = match flow::enroll_setup(self.ctx, challenge) {
            Ok(s) => s,
            Err(e) => return self.pending_failed(e),
        };
        let csrf = self.csrf(challenge);
        let grouped = setup.secret_grouped();
        pages::html(
            status,
            &EnrollPage {
                t: self.ctx.tr(),
                app_name: &self.ctx.app.display_name,
                prefix: self.prefix,
                logo: self.ctx.app.logo.is_some(),
                user: &challenge.user,
                qr_svg: &setup.qr_svg,
                secret_grouped: &grouped,
                otpauth_uri: &setup.otpauth_uri,
                csrf: &csrf,
                action: "enroll",
                setup: None,
                ask_current: false,
                back_link: &self.ctx.settings.login_page,
                valid_minutes: Some(
                    u64::try_from(challenge.expires_at.saturating_sub(self.ctx.now))
                        .unwrap_or(0)
                        .div_ceil(60),
                ),
                error,
            },
        )
    }

    fn codes_page(&self, challenge: &Challenge, shown: &[String]) -> Response<Bytes> {
        let (text, file_name) = pages::recovery_file(
            self.ctx.tr(),
            &self.ctx.app.display_name,
            &challenge.user,
            shown,
            self.ctx.now,
        );
        let csrf = self.csrf(challenge);
        pages::html(
            StatusCode::OK,
            &RecoveryCodesPage {
                t: self.ctx.tr(),
                app_name: &self.ctx.app.display_name,
                prefix: self.prefix,
                logo: self.ctx.app.logo.is_some(),
                codes: shown,
                download_text: &pages::data_url_text(&text),
                file_name: &file_name,
                action: "enroll/done",
                csrf: &csrf,
                notice: None,
            },
        )
    }

    pub(super) async fn show_verify(&self) -> Response<Bytes> {
        let challenge = match self.shown_challenge().await {
            Ok(c) => c,
            Err(r) => return r,
        };
        match challenge.stage {
            crate::store::ChallengeStage::Verify => match self.shown_error(&challenge) {
                Some(message) => self.challenge_page(&challenge, StatusCode::OK, Some(&message)),
                None => self.challenge_page(&challenge, StatusCode::OK, None),
            },
            _ => self.to_step(&challenge),
        }
    }

    /// The login a page shows. Without one, a visitor who is signed in (Back after the code
    /// was accepted) goes on to the app instead of a dead end.
    async fn shown_challenge(&self) -> Result<Challenge, Response<Bytes>> {
        let token = self.pending_token();
        match flow::pending(self.ctx, token.as_deref()).await {
            Ok(challenge) => Ok(challenge),
            Err(error @ PendingError::Refused(_)) => {
                match crate::mfa::settings::current_session(self.ctx, self.headers).await {
                    Ok(Some(_)) => {
                        let mut r = redirect(&self.ctx.settings.home_page);
                        if token.is_some() {
                            r.headers_mut()
                                .append(header::SET_COOKIE, self.ctx.pending_cookie().clear());
                        }
                        Err(r)
                    }
                    _ => Err(self.pending_failed(error)),
                }
            }
            Err(error) => Err(self.pending_failed(error)),
        }
    }

    /// The error a page shows after a wrong code redirected to it: only while the login
    /// really has failures (a crafted link shows nothing), with the attempts left.
    fn shown_error(&self, challenge: &Challenge) -> Option<String> {
        let shown = Shown::of(self.query)?;
        if challenge.failures == 0 {
            return None;
        }
        let left = self
            .ctx
            .settings
            .max_attempts
            .saturating_sub(challenge.failures);
        Some(self.wrong_message(challenge, left, shown == Shown::Used))
    }

    /// Ends the login being started over (its pending state and cookie), then the app's login.
    async fn start_over(&self, body: &[u8]) -> Response<Bytes> {
        // Only the login's own form ends it: a post from another site changes nothing.
        let (challenge, _) = match self.posted(body).await {
            Ok(posted) => posted,
            Err(refused) => return refused,
        };
        let mut response = redirect(&self.ctx.settings.login_page);
        response
            .headers_mut()
            .append(header::SET_COOKIE, self.ctx.pending_cookie().clear());
        match self
            .ctx
            .mfa
            .ephemeral
            .take_challenge(&challenge.id, self.ctx.now)
            .await
        {
            Ok(Some(_)) => self.ctx.audit(
                "login_abandoned",
                &challenge.user,
                "ended",
                None,
                &[("reason", "started over".into())],
            ),
            Ok(None) => {}
            Err(error) => {
                tracing::error!(app = %self.ctx.app.name, error = %crate::ops::error_chain(&error), "login not ended");
                return self.pending_failed(PendingError::from(error));
            }
        }
        response
    }

    /// A redirect to the page the login is at.
    fn to_step(&self, challenge: &Challenge) -> Response<Bytes> {
        redirect(&format!("{}{}", self.prefix, Step::of(challenge).name()))
    }

    fn invite_page(
        &self,
        challenge: &Challenge,
        status: StatusCode,
        error: Option<&str>,
    ) -> Response<Bytes> {
        let csrf = self.csrf(challenge);
        pages::html(
            status,
            &InvitePage {
                t: self.ctx.tr(),
                app_name: &self.ctx.app.display_name,
                prefix: self.prefix,
                logo: self.ctx.app.logo.is_some(),
                user: &challenge.user,
                csrf: &csrf,
                error,
            },
        )
    }

    pub(super) async fn show_invite(&self) -> Response<Bytes> {
        let challenge = match self.shown_challenge().await {
            Ok(c) => c,
            Err(r) => return r,
        };
        match challenge.stage {
            crate::store::ChallengeStage::Invite => {
                let error = self.shown_error(&challenge);
                self.invite_page(&challenge, StatusCode::OK, error.as_deref())
            }
            _ => self.to_step(&challenge),
        }
    }

    async fn post_invite(&self, body: &[u8]) -> Response<Bytes> {
        let (challenge, code) = match self.posted_code(body).await {
            Ok(v) => v,
            Err(r) => return r,
        };
        let outcome = flow::accept_invite(self.ctx, &challenge, &code).await;
        self.code_answer(&challenge, outcome, |()| {
            redirect(&format!("{}enroll", self.prefix))
        })
    }

    pub(super) async fn show_enroll(&self) -> Response<Bytes> {
        let challenge = match self.shown_challenge().await {
            Ok(c) => c,
            Err(r) => return r,
        };
        match challenge.stage {
            crate::store::ChallengeStage::Verify | crate::store::ChallengeStage::Invite => {
                self.to_step(&challenge)
            }
            crate::store::ChallengeStage::Enroll { .. } => {
                let error = self.shown_error(&challenge);
                self.enroll_page(&challenge, StatusCode::OK, error.as_deref())
            }
            // Opened again (a reload, back and forward, a restored tab): the same codes.
            crate::store::ChallengeStage::AcknowledgeRecoveryCodes { .. } => {
                self.saved_codes_page(&challenge)
            }
        }
    }

    /// The checks every posted form passes: a live login, the CSRF token, one code.
    async fn posted(&self, body: &[u8]) -> Result<(Challenge, Form), Response<Bytes>> {
        let challenge = self.challenge().await?;
        let form = Form::parse(body);
        if !self.csrf_ok(&challenge, &form) {
            return Err(self.message(StatusCode::FORBIDDEN, "form-expired-title", "form-expired"));
        }
        Ok((challenge, form))
    }

    /// A posted form's login and its one code, or the answer refusing them (two codes count as
    /// a wrong one).
    async fn posted_code(&self, body: &[u8]) -> Result<(Challenge, String), Response<Bytes>> {
        let (challenge, form) = self.posted(body).await?;
        match form.one("code") {
            Ok(Some(code)) if !code.trim().is_empty() => {
                let checked = matches!(
                    challenge.stage,
                    crate::store::ChallengeStage::Verify
                        | crate::store::ChallengeStage::Enroll { .. }
                );
                if checked && !flow::plausible_code(self.ctx, code) {
                    return Err(self.code_format(&challenge));
                }
                Ok((challenge, code.to_string()))
            }
            Ok(_) => Err(self.code_required(&challenge)),
            Err(Repeated) => {
                let outcome =
                    flow::wrong::<()>(self.ctx, &challenge, "unknown", Verdict::Wrong).await;
                Err(match outcome {
                    Ok(CodeOutcome::Locked(lock)) => self.locked(lock, &challenge.user),
                    Ok(_) => self.message(StatusCode::BAD_REQUEST, "one-code-title", "one-code"),
                    Err(e) => self.pending_failed(e),
                })
            }
        }
    }

    /// What the page of `challenge`'s step says after a wrong (or `spent`) code.
    fn wrong_message(&self, challenge: &Challenge, left: u32, spent: bool) -> String {
        let t = self.ctx.tr();
        let said = match challenge.stage {
            crate::store::ChallengeStage::Invite => "invite-wrong",
            _ if spent => "code-spent",
            _ => "code-wrong",
        };
        format!("{} {}", t.t(said), t.n("attempts-left", "count", left))
    }

    /// A code of no shape any code has (a digit short): the form again, nothing counted.
    fn code_format(&self, challenge: &Challenge) -> Response<Bytes> {
        let status = StatusCode::BAD_REQUEST;
        let said = self.ctx.tr().t("code-format");
        match challenge.stage {
            crate::store::ChallengeStage::Enroll { .. } => {
                self.enroll_page(challenge, status, Some(&said))
            }
            _ => self.challenge_page(challenge, status, Some(&said)),
        }
    }

    /// An empty code: the form again, asking for one.
    fn code_required(&self, challenge: &Challenge) -> Response<Bytes> {
        let status = StatusCode::BAD_REQUEST;
        let t = self.ctx.tr();
        match challenge.stage {
            crate::store::ChallengeStage::Enroll { .. } => {
                self.enroll_page(challenge, status, Some(&t.t("enter-code")))
            }
            crate::store::ChallengeStage::Invite => {
                self.invite_page(challenge, status, Some(&t.t("enter-invite")))
            }
            _ => self.challenge_page(challenge, status, Some(&t.t("enter-code"))),
        }
    }

    /// After a wrong code, the step's page again by a redirect (Post/Redirect/Get): a reload
    /// or Back does not post the code again.
    fn back_to_step(&self, challenge: &Challenge, spent: bool) -> Response<Bytes> {
        let shown = if spent { Shown::Used } else { Shown::Wrong };
        redirect(&format!(
            "{}{}?{}",
            self.prefix,
            Step::of(challenge).name(),
            shown.query()
        ))
    }

    fn too_many(&self) -> Response<Bytes> {
        let mut r = self.message(StatusCode::UNAUTHORIZED, "too-many-title", "too-many");
        r.headers_mut()
            .append(header::SET_COOKIE, self.ctx.pending_cookie().clear());
        r
    }

    /// A locked user or client: no form, the wait, and the pending login left behind.
    fn locked(&self, lock: crate::regulation::Lock, user: &str) -> Response<Bytes> {
        let seconds = crate::regulation::retry_after(lock.until, self.ctx.now);
        let message = lock_text(self.ctx.tr(), lock, user, self.ctx.client, self.ctx.now);
        let title = self.ctx.tr().t("locked-title");
        let frame = self.frame();
        let page = MessagePage::waiting(&frame, &title, &message);
        let mut r = pages::html(StatusCode::TOO_MANY_REQUESTS, &page);
        r.headers_mut()
            .append(header::SET_COOKIE, self.ctx.pending_cookie().clear());
        retry_after(r, seconds)
    }

    /// The answer to a posted code: `accepted` makes the page for a good one; a wrong one
    /// shows the form again with the attempts left; the last one ends the login.
    fn code_answer<T>(
        &self,
        challenge: &Challenge,
        outcome: Result<CodeOutcome<T>, PendingError>,
        accepted: impl FnOnce(T) -> Response<Bytes>,
    ) -> Response<Bytes> {
        match outcome {
            Ok(CodeOutcome::Accepted(value)) => accepted(value),
            Ok(CodeOutcome::Wrong {
                left,
                spent,
                counted: false,
            }) => {
                // Nothing counted, so the redirect's page would show nothing: said here.
                let said = self.wrong_message(challenge, left, spent);
                self.challenge_page(challenge, StatusCode::BAD_REQUEST, Some(&said))
            }
            Ok(CodeOutcome::Wrong { spent, .. }) => self.back_to_step(challenge, spent),
            Ok(CodeOutcome::Dead) => self.too_many(),
            Ok(CodeOutcome::Locked(lock)) => self.locked(lock, &challenge.user),
            Err(e) => self.pending_failed(e),
        }
    }

    async fn post_verify(&self, body: &[u8]) -> Response<Bytes> {
        let (challenge, code) = match self.posted_code(body).await {
            Ok(v) => v,
            Err(r) => return r,
        };
        let outcome = flow::verify(self.ctx, &challenge, &code, None).await;
        self.code_answer(&challenge, outcome, |verified| self.told(verified))
    }

    /// A released login, and what the user must hear first: wrong codes entered for them from
    /// other browsers since their last sign-in mean their password is known. The answer
    /// becomes a page that says so, keeping the app's cookies and leading on to where the app
    /// sent the user (a redirect's target, when it is a web address; else the app's home).
    fn told(&self, verified: flow::Verified) -> Response<Bytes> {
        let released = verified.response;
        if verified.wrong_codes == 0 && !verified.codes_unseen {
            return released;
        }
        let t = self.ctx.tr();
        let mut title = String::new();
        let mut said = Vec::new();
        if verified.wrong_codes > 0 {
            title = t.t("wrong-codes-title");
            said.push(t.n("wrong-codes", "count", u64::from(verified.wrong_codes)));
        }
        // Codes never seen: the way on is to the settings page that makes new ones.
        let location = if verified.codes_unseen {
            if title.is_empty() {
                title = t.t("codes-unseen-title");
            }
            said.push(t.t("codes-unseen"));
            format!("{}settings", self.prefix)
        } else {
            released
                .status()
                .is_redirection()
                .then(|| released.headers().get(header::LOCATION).cloned())
                .flatten()
                .and_then(|l| l.to_str().ok().map(str::to_string))
                .filter(|l| is_web_target(l))
                .unwrap_or_else(|| self.ctx.settings.home_page.clone())
        };
        let message = said.join(" ");
        let frame = self.frame();
        let mut page = MessagePage::new(&frame, &title, &message, &location);
        page.button = "continue";
        let mut told = pages::html(StatusCode::OK, &page);
        for cookie in released.headers().get_all(header::SET_COOKIE) {
            told.headers_mut()
                .append(header::SET_COOKIE, cookie.clone());
        }
        told
    }

    async fn post_enroll(&self, body: &[u8]) -> Response<Bytes> {
        let (challenge, code) = match self.posted_code(body).await {
            Ok(v) => v,
            Err(r) => return r,
        };
        let outcome = flow::confirm_enrollment(self.ctx, &challenge, &code).await;
        // The codes are shown by the page the login is now at (Post/Redirect/Get): Back and
        // reload never post the code again.
        self.code_answer(&challenge, outcome, |_: Vec<RecoveryCode>| {
            redirect(&format!("{}enroll", self.prefix))
        })
    }

    /// The codes page of a login at the acknowledge step: the codes sealed in it at the
    /// confirmation.
    fn saved_codes_page(&self, challenge: &Challenge) -> Response<Bytes> {
        match flow::shown_recovery_codes(self.ctx, challenge) {
            Ok(shown) => self.codes_page(challenge, &shown),
            Err(e) => self.pending_failed(e),
        }
    }

    async fn post_acknowledge(&self, body: &[u8]) -> Response<Bytes> {
        let (challenge, form) = match self.posted(body).await {
            Ok(v) => v,
            Err(r) => return r,
        };
        if form.one("saved") != Ok(Some("yes")) {
            return self.saved_codes_page(&challenge);
        }
        match flow::acknowledge(self.ctx, &challenge).await {
            Ok(released) => released,
            Err(e) => self.pending_failed(e),
        }
    }

    /// The signed-in session of this app (the session cookie, or a token the gateway released).
    async fn session(&self) -> Result<Option<Session>, Response<Bytes>> {
        crate::mfa::settings::current_session(self.ctx, self.headers)
            .await
            .map_err(|error| {
                tracing::error!(error = %crate::ops::error_chain(&error), "cannot read the session");
                self.unavailable()
            })
    }

    fn unavailable(&self) -> Response<Bytes> {
        if wants_json(self.headers) {
            Outcome::Unavailable.json()
        } else {
            self.message(
                StatusCode::SERVICE_UNAVAILABLE,
                "unavailable-title",
                "unavailable",
            )
        }
    }

    /// `GET {prefix}logout` asks; it never signs out (a link, an image or a prefetch on any
    /// site could send it).
    pub(super) async fn show_logout(&self) -> Response<Bytes> {
        if wants_json(self.headers) {
            return Outcome::UsePostToSignOut.json();
        }
        let session = match self.session().await {
            Ok(Some(session)) => session,
            Ok(None) => return self.not_signed_in(),
            Err(response) => return response,
        };
        let csrf = crate::mfa::settings::csrf_token(self.ctx, &session);
        pages::html(
            StatusCode::OK,
            &LogoutPage {
                t: self.ctx.tr(),
                app_name: &self.ctx.app.display_name,
                prefix: self.prefix,
                logo: self.ctx.app.logo.is_some(),
                user: &session.user,
                csrf: &csrf,
                back_link: &self.ctx.app.path_prefix,
            },
        )
    }

    fn not_signed_in(&self) -> Response<Bytes> {
        self.message(StatusCode::OK, "not-signed-in-title", "not-signed-in")
    }

    /// `POST {prefix}logout` ends the signed-in session (the app's own session then counts for
    /// nothing: its cookie or token is no longer bound). A form must carry the session's CSRF
    /// token; an API client sends a JSON body instead, which a page on another site cannot
    /// send without a CORS preflight the gateway never grants (as for the rest of the API).
    async fn logout(&self, body: &[u8]) -> Response<Bytes> {
        let api = self
            .headers
            .get(header::CONTENT_TYPE)
            .and_then(|v| v.to_str().ok())
            .is_some_and(|ct| ct.starts_with("application/json"));
        let json = api || wants_json(self.headers);
        let session = match self.session().await {
            Ok(Some(session)) => session,
            Ok(None) if json => return Outcome::NoSessionToEnd.json(),
            // Nothing to end, and nothing cleared: the cookie may be another app's.
            Ok(None) => return self.not_signed_in(),
            Err(response) => return response,
        };
        let form = Form::parse(body);
        if !api && !crate::mfa::settings::csrf_ok(self.ctx, &session, &form) {
            return if json {
                Outcome::CsrfFailed.json()
            } else {
                self.message(
                    StatusCode::FORBIDDEN,
                    "form-expired-title",
                    "form-expired-logout",
                )
            };
        }
        let detail = [("reason", "gateway logout".into())];
        let ending = self.ctx.change(
            "session_ended",
            &session.user,
            Some(&session.id_hash),
            &detail,
            // A sign-out goes on while the trail cannot be written.
            flow::Refusable::No,
            async {
                let ended = self.ctx.mfa.ephemeral.end_session(&session.id_hash).await;
                ended.map_err(crate::mfa::MfaError::from)
            },
        );
        if let Err(error) = ending.await {
            tracing::error!(error = %crate::ops::error_chain(&error), "cannot end session");
            return self.unavailable();
        }
        let mut response = if json {
            json_response(StatusCode::OK, &json!({ "detail": "Signed out." }))
        } else {
            self.message(StatusCode::OK, "signed-out-title", "signed-out")
        };
        response
            .headers_mut()
            .append(header::SET_COOKIE, self.ctx.session_cookie().clear());
        response
    }
}
