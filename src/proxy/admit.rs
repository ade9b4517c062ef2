//! Phase: admission. Before a request of an MFA app goes anywhere, the gateway decides how it
//! is let in (one typed value, [`Admission`]) and what kind of request it is for the second
//! factor ([`RequestKind`]): the rest of the walk reads these instead of flags.

use super::error::ProxyError;
use crate::config::LoginRule;
use crate::mfa::flow::Context;
use crate::mfa::guard::{self, Checked, Denied};
use crate::session::credentials::BasicCredential;
use crate::wire::spelling::same_route_or_below;
use http::Request;

/// How a request was let in.
// One per request, made once and borrowed after: boxing the large variant would cost an
// allocation on every checked request for nothing.
#[allow(clippy::large_enum_variant)]
pub enum Admission<'a> {
    /// An app without a second factor: nothing is checked and its answers pass.
    Plain,
    /// A client of a bypass network (`bypass.networks`): nothing is checked either way, and
    /// its answers pass as they are.
    Trusted,
    /// A bypass path (static files): no session check, the app's credentials are removed,
    /// and its answers still go through the release gate.
    Bypassed,
    /// The session check passed; the request is of `kind`.
    Checked {
        checked: Checked,
        kind: RequestKind<'a>,
    },
}

impl Admission<'_> {
    /// Whether the app's answers go through the release gate. A Basic sign-in sends nothing
    /// of the request to the app, so it has no answer of the app's to gate.
    pub fn gated(&self) -> bool {
        match self {
            Admission::Checked {
                kind: RequestKind::Basic(_),
                ..
            } => false,
            Admission::Bypassed | Admission::Checked { .. } => true,
            Admission::Plain | Admission::Trusted => false,
        }
    }

    pub fn checked(&self) -> Option<&Checked> {
        match self {
            Admission::Checked { checked, .. } => Some(checked),
            _ => None,
        }
    }

    /// The verified gateway session the request's credentials are bound to.
    pub fn session(&self) -> Option<&crate::store::Session> {
        self.checked().and_then(|c| c.session.as_ref())
    }
}

/// What a checked request is, for the second factor.
pub enum RequestKind<'a> {
    Ordinary,
    /// A logout rule matched: the app's answer ends the gateway session too.
    Logout,
    /// A login rule matched (in the spelling the app reads): the body is read for the user
    /// name and a successful answer is withheld. A route may be a logout as well.
    Login {
        rule: &'a LoginRule,
        logout: bool,
    },
    /// An unbound HTTP Basic credential of a `basic_auth` area: a sign-in the gateway checks
    /// itself; nothing of the request reaches the app.
    Basic(BasicCredential),
}

impl RequestKind<'_> {
    pub fn is_logout(&self) -> bool {
        matches!(
            self,
            RequestKind::Logout | RequestKind::Login { logout: true, .. }
        )
    }
}

/// The session check. Credentials the app would take as a login reach it only when bound to
/// a verified session; refused paths and credentials are answered here. `route`: the path in
/// the spelling the app may read it in.
pub async fn admit<'a, B>(
    ctx: Option<&Context<'a>>,
    req: &mut Request<B>,
    route: &str,
) -> Result<Admission<'a>, ProxyError> {
    let Some(ctx) = ctx else {
        // An app without a second factor on the same host is still not to read the gateway's
        // cookies (another app's session, a device credential).
        guard::strip_gateway_cookies(req.headers_mut());
        return Ok(Admission::Plain);
    };
    if guard::trusted_network(ctx.settings, ctx.client) {
        guard::strip_gateway_cookies(req.headers_mut());
        return Ok(Admission::Trusted);
    }
    refused(ctx, req, route)?;
    if guard::bypassed(ctx.settings, req.uri().path(), ctx.client) {
        guard::strip_gateway_cookies(req.headers_mut());
        // Static files need no session: a front controller that serves an unknown path there
        // with the app would otherwise see the app's credentials unchecked.
        guard::strip_app_credentials(ctx.settings, req.headers_mut());
        return Ok(Admission::Bypassed);
    }
    let settings = ctx.settings;
    let method = req.method();
    let login = settings.login.iter().find(|r| r.matches(method, route));
    let logout = settings
        .logout
        .iter()
        .any(|rule| rule.matches(method, route));
    let basic_area = settings
        .basic_auth
        .as_ref()
        .is_some_and(|b| b.paths.iter().any(|p| same_route_or_below(route, p)));
    let checked = match Box::pin(guard::check(
        ctx,
        req.headers_mut(),
        login.is_some(),
        basic_area,
    ))
    .await
    {
        Ok(_) if guard::unbound_url_session_id(settings, req.uri(), req.headers()) => {
            return Err(ProxyError::AmbiguousRequest("session id in the URL"));
        }
        Ok(checked) => checked,
        Err(Denied::UnboundAuthorization) => {
            tracing::info!(app = %ctx.app.name, request_id = %ctx.request_id, "unbound Authorization refused");
            ctx.mfa
                .metrics
                .count(&ctx.mfa.metrics.unbound_authorization, &ctx.app.name);
            ctx.audit_refusal("unbound_authorization_refused", "-", &[]);
            return Err(ProxyError::Unauthorized);
        }
        Err(Denied::BadBasic(why)) => return Err(ProxyError::AmbiguousRequest(why.label())),
        // Checked with the app's check path once the request's headers are those the app
        // would see; the request itself goes nowhere.
        Err(Denied::BasicLogin(credential)) => {
            return Ok(Admission::Checked {
                checked: Checked::default(),
                kind: RequestKind::Basic(credential),
            })
        }
        Err(Denied::Unavailable(e)) => return Err(ProxyError::StateUnavailable(e)),
    };
    if checked.stripped > 0 {
        tracing::info!(app = %ctx.app.name, request_id = %ctx.request_id, cookies = checked.stripped, "unbound app session cookie removed");
        ctx.mfa
            .metrics
            .count(&ctx.mfa.metrics.unbound_cookies, &ctx.app.name);
        ctx.audit_refusal("unbound_cookie_stripped", "-", &[]);
    }
    let kind = match (login, logout) {
        (Some(rule), logout) => RequestKind::Login { rule, logout },
        (None, true) => RequestKind::Logout,
        (None, false) => RequestKind::Ordinary,
    };
    Ok(Admission::Checked { checked, kind })
}

/// Where the app takes a password without a session (a refused path), or the request carries
/// such a credential itself (an API key), no second factor can stand.
fn refused<B>(ctx: &Context<'_>, req: &Request<B>, route: &str) -> Result<(), ProxyError> {
    let settings = ctx.settings;
    if settings
        .refuse
        .iter()
        .any(|p| same_route_or_below(route, p))
        || settings
            .refuse_credentials
            .carried(req.method(), req.headers(), req.uri().query())
    {
        return Err(ProxyError::PathRefused);
    }
    Ok(())
}
