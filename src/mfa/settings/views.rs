//! The settings pages (HTML): what the user has, and the forms that change it.

use super::*;

/// The settings pages (`rest` below `{prefix}settings`).
pub async fn page(
    ctx: &Context<'_>,
    prefix: &str,
    rest: &str,
    post: bool,
    headers: &HeaderMap,
    body: &[u8],
) -> Response<Bytes> {
    let pages = SettingsPages { ctx, prefix };
    let session = match current_session(ctx, headers).await {
        Ok(Some(s)) => s,
        Ok(None) => {
            return pages.message(
                StatusCode::UNAUTHORIZED,
                "sign-in-first-title",
                "sign-in-first",
            )
        }
        Err(e) => return pages.failed(&e),
    };
    let form = Form::parse(body);
    if post && !csrf_ok(ctx, &session, &form) {
        return pages.message(
            StatusCode::FORBIDDEN,
            "form-expired-title",
            "form-expired-settings",
        );
    }
    let code = form.one("code").ok().flatten().unwrap_or("");
    let result = match (rest, post) {
        ("", false) => pages.overview(&session, None, None).await,
        ("/done", true) => Ok(redirect(&format!("{prefix}settings"))),
        ("/recovery-codes", true) => match regenerate(ctx, &session, code).await {
            Ok(Ok(codes)) => Ok(pages.codes(&session, &codes, true)),
            Ok(Err(r)) => pages.overview(&session, None, Some(r)).await,
            Err(e) => Err(e),
        },
        ("/sessions/end", true) => {
            let id = form.one("session").ok().flatten().unwrap_or("");
            match browsers::end_one(ctx, &session, id).await {
                Ok(true) => {
                    pages
                        .overview(&session, Some("notice-session-ended"), None)
                        .await
                }
                Ok(false) => {
                    pages
                        .overview(&session, Some("notice-session-gone"), None)
                        .await
                }
                Err(e) => Err(e),
            }
        }
        ("/sign-out-everywhere", false) => pages.everywhere(&session).await,
        ("/sign-out-everywhere", true) => match browsers::end_all(ctx, &session).await {
            Ok(ended) => Ok(pages.signed_out_everywhere(ended)),
            Err(e) => Err(e),
        },
        ("/devices/forget", true) => {
            let id = form.one("device").ok().flatten().unwrap_or("");
            match browsers::forget(ctx, &session, id, code).await {
                Ok(Err(refused)) => pages.overview(&session, None, Some(refused)).await,
                Ok(Ok(browsers::Forgot::Nothing)) => {
                    pages
                        .overview(&session, Some("notice-device-gone"), None)
                        .await
                }
                Ok(Ok(forgot)) => {
                    let page = pages.overview(&session, Some("notice-device-forgotten"), None);
                    page.await.map(|mut page| {
                        if forgot == browsers::Forgot::This {
                            let cookie = crate::session::device::cookie(
                                &ctx.keys,
                                &session.realm,
                                &session.user,
                                ctx.tls,
                            );
                            page.headers_mut()
                                .append(header::SET_COOKIE, cookie.clear());
                        }
                        page
                    })
                }
                Err(e) => Err(e),
            }
        }
        ("/remove", true) => match remove(ctx, &session, code).await {
            Ok(Ok(())) => pages.overview(&session, Some("notice-off"), None).await,
            Ok(Err(r)) => pages.overview(&session, None, Some(r)).await,
            Err(e) => Err(e),
        },
        ("/authenticator", false) => match first_factor_refused(ctx, &session).await {
            Ok(Some(refused)) => pages.overview(&session, None, Some(refused)).await,
            Ok(None) => match (begin_setup(ctx, &session), has_factor(ctx, &session).await) {
                (Ok((token, setup)), Ok(ask_current)) => {
                    Ok(pages.enroll(&session, &token, &setup, ask_current, None))
                }
                (Err(e), _) | (_, Err(e)) => Err(e),
            },
            Err(e) => Err(e),
        },
        ("/authenticator", true) => {
            let token = form.one("setup").ok().flatten().unwrap_or("");
            let current = form.one("current_code").ok().flatten().unwrap_or("");
            match open_setup(ctx, &session, token) {
                None => {
                    let refused = Refused::SetupExpired;
                    audit_refused(ctx, &session, "authenticator_set", refused);
                    pages.overview(&session, None, Some(refused)).await
                }
                Some(record) => {
                    match confirm_setup(ctx, &session, record.clone(), code, current).await {
                        Ok(Ok(Some(codes))) => Ok(pages.codes(&session, &codes, false)),
                        Ok(Ok(None)) => {
                            let notice = "notice-new-app";
                            pages.overview(&session, Some(notice), None).await
                        }
                        Ok(Err(refused @ Refused::Locked(_))) => {
                            pages.overview(&session, None, Some(refused)).await
                        }
                        // Still this setup: the same new app, to try again.
                        Ok(Err(refused)) => {
                            match (setup_of(ctx, &record), has_factor(ctx, &session).await) {
                                (Ok(setup), Ok(ask_current)) => Ok(pages.enroll(
                                    &session,
                                    token,
                                    &setup,
                                    ask_current,
                                    Some(refused),
                                )),
                                (Err(e), _) | (_, Err(e)) => Err(e),
                            }
                        }
                        Err(e) => Err(e),
                    }
                }
            }
        }
        _ => Ok(crate::mfa::respond::not_found(ctx, headers)),
    };
    result.unwrap_or_else(|e| pages.failed(&e))
}

struct SettingsPages<'a> {
    ctx: &'a Context<'a>,
    prefix: &'a str,
}

/// The CSRF token of the forms a signed-in user posts (settings, sign out): signed over the
/// session's id hash, so it is good for this session only and a page on another site cannot
/// know it.
pub fn csrf_token(ctx: &Context<'_>, session: &Session) -> String {
    B64.encode(ctx.keys.sign(b"csrf-v1", &session.id_hash))
}

/// Whether `form` carries the session's CSRF token (exactly once).
pub fn csrf_ok(ctx: &Context<'_>, session: &Session, form: &Form) -> bool {
    let Ok(Some(sent)) = form.one("csrf") else {
        return false;
    };
    B64.decode(sent).is_ok_and(|sent| {
        ctx.keys
            .verify_signature(b"csrf-v1", &session.id_hash, &sent)
    })
}

impl SettingsPages<'_> {
    fn csrf(&self, session: &Session) -> String {
        csrf_token(self.ctx, session)
    }

    /// A page with one message: `title` and `message` are message ids.
    fn message(&self, status: StatusCode, title: &str, message: &str) -> Response<Bytes> {
        let t = self.ctx.tr();
        self.said(status, &t.t(title), &t.t(message))
    }

    /// A page with one message, both already in the user's language.
    fn said(&self, status: StatusCode, title: &str, message: &str) -> Response<Bytes> {
        let frame = pages::Frame {
            t: self.ctx.tr(),
            app_name: &self.ctx.app.display_name,
            prefix: self.prefix,
            logo: self.ctx.app.logo.is_some(),
        };
        let page = MessagePage::new(&frame, title, message, &self.ctx.settings.login_page);
        pages::html(status, &page)
    }

    fn failed(&self, error: &MfaError) -> Response<Bytes> {
        tracing::error!(app = %self.ctx.app.name, error = %crate::ops::error_chain(error), "settings change failed");
        self.message(
            StatusCode::SERVICE_UNAVAILABLE,
            "unavailable-title",
            "unavailable",
        )
    }

    /// The settings page; `notice` is a message id.
    async fn overview(
        &self,
        session: &Session,
        notice: Option<&str>,
        refused: Option<Refused>,
    ) -> Result<Response<Bytes>, MfaError> {
        let o = overview(self.ctx, session).await?;
        let csrf = self.csrf(session);
        let t = self.ctx.tr();
        let notice = notice.map(|id| t.t(id));
        let error = refused.map(|r| t.t(r.message_id()));
        let status = refused.map_or(StatusCode::OK, |r| r.outcome().status());
        let sessions: Vec<pages::SessionRow> = browsers::sessions(self.ctx, session)
            .await?
            .into_iter()
            .map(|s| pages::SessionRow {
                app: self.app_name_of(&s.app),
                browser: pages::browser_label(&s.browser, s.device),
                address: s.address,
                started: pages::utc(s.created_at),
                last_seen: pages::utc(s.last_seen_at),
                current: s.current,
                id: s.id,
            })
            .collect();
        let devices: Vec<pages::DeviceRow> = browsers::devices(self.ctx, session)
            .await?
            .into_iter()
            .map(|d| pages::DeviceRow {
                browser: pages::browser_label(&d.browser, d.device),
                address: d.address,
                since: pages::utc(d.created_at),
                last_used: pages::utc(d.last_used_at),
                current: d.current,
                id: d.id,
            })
            .collect();
        let page = pages::html(
            status,
            &SettingsPage {
                t: self.ctx.tr(),
                app_name: &self.ctx.app.display_name,
                prefix: self.prefix,
                logo: self.ctx.app.logo.is_some(),
                user: &session.user,
                totp_since: o.totp.as_ref().and_then(|t| t.created_at).map(pages::utc),
                totp_last_used: o.totp.as_ref().and_then(|t| t.last_used_at).map(pages::utc),
                remaining: o.recovery.and_then(|r| r.remaining).unwrap_or(0),
                codes_unseen: o.codes_unseen,
                can_remove: self.ctx.settings.policy_for(&session.user) == Policy::Optional,
                csrf: &csrf,
                notice: notice.as_deref(),
                error: error.as_deref(),
                home_page: &self.ctx.settings.home_page,
                sessions,
                devices,
            },
        );
        Ok(match refused {
            Some(Refused::Locked(seconds)) => crate::mfa::respond::retry_after(page, seconds),
            _ => page,
        })
    }

    /// "Sign out everywhere?": how many sessions it ends, asked before anything ends.
    async fn everywhere(&self, session: &Session) -> Result<Response<Bytes>, MfaError> {
        let count = browsers::sessions(self.ctx, session).await?.len() as u64;
        let t = self.ctx.tr();
        let (title, message) = (
            t.t("everywhere-title"),
            t.n("everywhere-confirm", "count", count),
        );
        let (csrf, button) = (self.csrf(session), t.t("settings-sign-out-everywhere"));
        let back = format!("{}settings", self.prefix);
        Ok(pages::html(
            StatusCode::OK,
            &ConfirmPage {
                t: self.ctx.tr(),
                app_name: &self.ctx.app.display_name,
                prefix: self.prefix,
                logo: self.ctx.app.logo.is_some(),
                title: &title,
                message: &message,
                action: "settings/sign-out-everywhere",
                csrf: &csrf,
                button: &button,
                back_link: &back,
            },
        ))
    }

    /// After "Sign out everywhere": how many sessions ended; this browser's cookie goes.
    fn signed_out_everywhere(&self, ended: u32) -> Response<Bytes> {
        let t = self.ctx.tr();
        let (title, message) = (
            t.t("everywhere-done-title"),
            t.n("everywhere-done", "count", ended),
        );
        let mut response = self.said(StatusCode::OK, &title, &message);
        response
            .headers_mut()
            .append(header::SET_COOKIE, self.ctx.session_cookie().clear());
        response
    }

    /// How the user knows the app a session is of (its display name, when this gateway has it).
    fn app_name_of(&self, app: &str) -> String {
        if app == self.ctx.app.name {
            return self.ctx.app.display_name.clone();
        }
        app.to_string()
    }

    /// The new app's QR code and the form confirming it; `ask_current` adds the field for a
    /// current code of the factor it replaces.
    fn enroll(
        &self,
        session: &Session,
        token: &str,
        setup: &EnrollSetup,
        ask_current: bool,
        refused: Option<Refused>,
    ) -> Response<Bytes> {
        let csrf = self.csrf(session);
        let back = format!("{}settings", self.prefix);
        let error = refused.map(|r| self.ctx.tr().t(r.message_id()));
        pages::html(
            refused.map_or(StatusCode::OK, |r| r.outcome().status()),
            &EnrollPage {
                t: self.ctx.tr(),
                app_name: &self.ctx.app.display_name,
                prefix: self.prefix,
                logo: self.ctx.app.logo.is_some(),
                user: &session.user,
                qr_svg: &setup.qr_svg,
                secret_grouped: &setup.secret_grouped(),
                otpauth_uri: &setup.otpauth_uri,
                csrf: &csrf,
                action: "settings/authenticator",
                setup: Some(token),
                ask_current,
                back_link: &back,
                valid_minutes: None,
                error: error.as_deref(),
            },
        )
    }

    /// New codes to save; `replaced`: they replace a set, which no longer works.
    fn codes(&self, session: &Session, codes: &[RecoveryCode], replaced: bool) -> Response<Bytes> {
        let shown: Vec<String> = codes.iter().map(|c| c.display().to_string()).collect();
        let (text, file_name) = pages::recovery_file(
            self.ctx.tr(),
            &self.ctx.app.display_name,
            &session.user,
            &shown,
            self.ctx.now,
        );
        let csrf = self.csrf(session);
        let notice = replaced.then(|| self.ctx.tr().t("codes-replaced"));
        pages::html(
            StatusCode::OK,
            &RecoveryCodesPage {
                t: self.ctx.tr(),
                app_name: &self.ctx.app.display_name,
                prefix: self.prefix,
                logo: self.ctx.app.logo.is_some(),
                codes: &shown,
                download_text: &pages::data_url_text(&text),
                file_name: &file_name,
                action: "settings/done",
                csrf: &csrf,
                notice: notice.as_deref(),
            },
        )
    }
}
