//! Everything that can end a request inside the gateway, and the one mapping from it to a
//! status code and a fixed message for the client.

use crate::wire::path::AmbiguousPath;
use http::StatusCode;
use std::borrow::Cow;

#[derive(Debug, thiserror::Error)]
pub enum ProxyError {
    #[error("no app for host")]
    UnknownHost,
    #[error("missing or invalid Host")]
    BadHost,
    #[error("ambiguous path: {0:?}")]
    AmbiguousPath(AmbiguousPath),
    #[error("request headers too large")]
    HeadersTooLarge,
    #[error("no such gateway page")]
    NoGatewayPage,
    #[error("upstream unreachable")]
    UpstreamUnreachable(#[source] super::upstream::UpstreamError),
    #[error("upstream switched protocols without being asked")]
    UnexpectedSwitch,
    #[error("upstream response timed out")]
    UpstreamTimeout,
    #[error("could not build the upstream request")]
    BadUpstreamRequest(#[source] http::Error),
    #[error("credential not bound to a verified session")]
    Unauthorized,
    #[error("MFA state unavailable")]
    StateUnavailable(#[source] crate::mfa::MfaError),
    #[error("request body over the limit")]
    BodyTooLarge,
    #[error("request body could not be read")]
    BodyUnreadable,
    /// The client sent a body the gateway reads too slowly (`limits.body_read_timeout`,
    /// `limits.body_min_rate`).
    #[error("request body too slow")]
    BodyTimeout,
    #[error("the app's login answer could not be read in full")]
    LoginAnswerUnreadable,
    #[error("the app accepted a login whose user name the gateway could not read")]
    LoginWithoutUser,
    /// Too many logins the app refused, from this client or for this user name: which, and
    /// until when.
    #[error("login throttled")]
    LoginThrottled(Box<Throttle>),
    /// A request the app might read differently from the gateway (repeated `Authorization`,
    /// a login body two parsers read two ways); the label names the reason for the log.
    #[error("ambiguous request: {0}")]
    AmbiguousRequest(&'static str),
    /// A field read as one value arrived more than once (`proxy::fields`): named, as spelled
    /// in the table, on the page so the client's author can find it.
    #[error("repeated {0} field")]
    RepeatedField(&'static str),
    /// The app handed out a session or token outside a login the gateway intercepted, and who
    /// it is for cannot be told: withheld, the client must sign in through the login.
    #[error("app session minted outside the intercepted login")]
    AppSessionWithheld,
    /// The app's answer could not be checked for a credential (a token app answering a write
    /// with a body that is not JSON; no trustworthy answer from its whoami path).
    #[error("the app's answer could not be checked")]
    AnswerUnchecked,
    /// The app now says a verified session's app session is another user's.
    #[error("the app session changed hands")]
    SessionChangedHands,
    /// NTLM or Negotiate: a sign-in bound to the upstream connection, which is shared.
    #[error("connection-bound authentication refused")]
    ConnectionAuthentication,
    /// A path the config refuses (`mfa.refuse`): the app takes a password there without a
    /// session.
    #[error("path refused by the config")]
    PathRefused,
}

/// A login throttle in force: the lock (its end and what it is on), the seconds left, and what
/// its page names (the user name typed, the client's address), as of `now`.
#[derive(Debug)]
pub struct Throttle {
    pub lock: crate::regulation::Lock,
    pub seconds: u64,
    pub user: Option<String>,
    pub client: std::net::IpAddr,
    pub now: i64,
}

impl ProxyError {
    /// The app could not be reached or did not answer in time (counted per app).
    pub fn is_upstream_failure(&self) -> bool {
        matches!(
            self,
            ProxyError::UpstreamUnreachable(_) | ProxyError::UpstreamTimeout
        )
    }

    pub fn status(&self) -> StatusCode {
        match self {
            ProxyError::UnknownHost | ProxyError::NoGatewayPage => StatusCode::NOT_FOUND,
            ProxyError::BadHost | ProxyError::AmbiguousPath(_) => StatusCode::BAD_REQUEST,
            ProxyError::HeadersTooLarge => StatusCode::REQUEST_HEADER_FIELDS_TOO_LARGE,
            ProxyError::UpstreamUnreachable(_) | ProxyError::UnexpectedSwitch => {
                StatusCode::BAD_GATEWAY
            }
            ProxyError::UpstreamTimeout => StatusCode::GATEWAY_TIMEOUT,
            ProxyError::BadUpstreamRequest(_) => StatusCode::INTERNAL_SERVER_ERROR,
            ProxyError::Unauthorized => StatusCode::UNAUTHORIZED,
            ProxyError::StateUnavailable(_) => StatusCode::SERVICE_UNAVAILABLE,
            ProxyError::BodyTooLarge => StatusCode::PAYLOAD_TOO_LARGE,
            ProxyError::BodyUnreadable => StatusCode::BAD_REQUEST,
            ProxyError::BodyTimeout => StatusCode::REQUEST_TIMEOUT,
            ProxyError::LoginAnswerUnreadable | ProxyError::LoginWithoutUser => {
                StatusCode::BAD_GATEWAY
            }
            ProxyError::LoginThrottled(_) => StatusCode::TOO_MANY_REQUESTS,
            ProxyError::AmbiguousRequest(_) | ProxyError::RepeatedField(_) => {
                StatusCode::BAD_REQUEST
            }
            ProxyError::AppSessionWithheld | ProxyError::SessionChangedHands => {
                StatusCode::FORBIDDEN
            }
            ProxyError::AnswerUnchecked => StatusCode::BAD_GATEWAY,
            ProxyError::ConnectionAuthentication | ProxyError::PathRefused => StatusCode::FORBIDDEN,
        }
    }

    /// A stable machine-readable code (the `error` field of JSON answers).
    pub fn code(&self) -> &'static str {
        match self {
            ProxyError::UnknownHost => "unknown_host",
            ProxyError::NoGatewayPage => "not_found",
            ProxyError::BadHost => "bad_host",
            ProxyError::AmbiguousPath(_) => "ambiguous_path",
            ProxyError::HeadersTooLarge => "headers_too_large",
            ProxyError::UpstreamUnreachable(_) | ProxyError::UnexpectedSwitch => "bad_gateway",
            ProxyError::UpstreamTimeout => "gateway_timeout",
            ProxyError::BadUpstreamRequest(_) => "internal_error",
            ProxyError::Unauthorized => "unauthorized",
            ProxyError::StateUnavailable(_) => "unavailable",
            ProxyError::BodyTooLarge => "too_large",
            ProxyError::BodyUnreadable => "bad_request",
            ProxyError::BodyTimeout => "request_timeout",
            ProxyError::LoginAnswerUnreadable | ProxyError::LoginWithoutUser => "login_unchecked",
            ProxyError::LoginThrottled(_) => "too_many_attempts",
            ProxyError::AmbiguousRequest(_) | ProxyError::RepeatedField(_) => "ambiguous_request",
            ProxyError::AppSessionWithheld => "sign_in_required",
            ProxyError::AnswerUnchecked => "answer_unchecked",
            ProxyError::SessionChangedHands => "sign_in_required",
            ProxyError::ConnectionAuthentication => "connection_authentication_refused",
            ProxyError::PathRefused => "refused",
        }
    }

    /// The id of the sentence a page shows (`locales/*.ftl`).
    pub fn message_id(&self) -> &'static str {
        match self {
            ProxyError::UnknownHost => "proxy-unknown-host",
            ProxyError::NoGatewayPage => "proxy-no-gateway-page",
            ProxyError::BadHost => "proxy-bad-host",
            ProxyError::AmbiguousPath(_) => "proxy-ambiguous-path",
            ProxyError::HeadersTooLarge => "proxy-headers-too-large",
            ProxyError::UpstreamUnreachable(_) => "proxy-upstream-unreachable",
            ProxyError::UnexpectedSwitch => "proxy-unexpected-switch",
            ProxyError::UpstreamTimeout => "proxy-upstream-timeout",
            ProxyError::BadUpstreamRequest(_) => "proxy-bad-upstream-request",
            ProxyError::Unauthorized => "proxy-unauthorized",
            ProxyError::StateUnavailable(_) => "proxy-state-unavailable",
            ProxyError::BodyTooLarge => "proxy-body-too-large",
            ProxyError::BodyUnreadable => "proxy-body-unreadable",
            ProxyError::BodyTimeout => "proxy-body-timeout",
            ProxyError::LoginAnswerUnreadable | ProxyError::LoginWithoutUser => {
                "proxy-login-unchecked"
            }
            ProxyError::LoginThrottled(_) => "proxy-login-throttled",
            ProxyError::AmbiguousRequest(_) => "proxy-ambiguous-request",
            ProxyError::RepeatedField(_) => "proxy-repeated-field",
            ProxyError::AppSessionWithheld => "proxy-app-session-withheld",
            ProxyError::AnswerUnchecked => "proxy-answer-unchecked",
            ProxyError::SessionChangedHands => "proxy-session-changed-hands",
            ProxyError::ConnectionAuthentication => "proxy-connection-authentication",
            ProxyError::PathRefused => "proxy-path-refused",
        }
    }

    /// The sentence JSON answers carry (English, like every API message).
    pub fn message(&self) -> Cow<'static, str> {
        match self {
            ProxyError::RepeatedField(field) => Cow::Owned(format!(
                "The request gives the {field} header field more than one value, so it could be read in more than one way, and was refused."
            )),
            other => Cow::Borrowed(other.fixed_message()),
        }
    }

    /// The sentence a page shows, in the reader's language.
    pub fn page_message(&self, t: crate::i18n::Tr) -> String {
        match self {
            ProxyError::RepeatedField(field) => t.t1(self.message_id(), "field", field),
            other => t.t(other.message_id()),
        }
    }

    fn fixed_message(&self) -> &'static str {
        match self {
            ProxyError::UnknownHost => "No application is configured for this host name.",
            ProxyError::NoGatewayPage => "There is no gateway page at this address.",
            ProxyError::BadHost => "The request has no valid Host header.",
            ProxyError::AmbiguousPath(_) => "The request path is ambiguous (dot segments, encoded slashes or similar) and was refused.",
            ProxyError::HeadersTooLarge => "The request headers are too large.",
            ProxyError::UpstreamUnreachable(_) => "The application behind this gateway could not be reached. Please try again shortly.",
            ProxyError::UnexpectedSwitch => "The application behind this gateway answered in a way the gateway cannot relay.",
            ProxyError::UpstreamTimeout => "The application behind this gateway took too long to answer.",
            ProxyError::BadUpstreamRequest(_) => "The gateway could not forward this request.",
            ProxyError::Unauthorized => "This credential is not valid here. Please sign in again.",
            ProxyError::StateUnavailable(_) => "The gateway cannot check sign-ins right now. Please try again in a moment.",
            ProxyError::BodyTooLarge => "The request body is too large.",
            ProxyError::BodyUnreadable => "The request body could not be read.",
            ProxyError::BodyTimeout => "The request body did not arrive in time. Please try again.",
            ProxyError::LoginAnswerUnreadable | ProxyError::LoginWithoutUser => "The sign-in could not be completed because the gateway could not check it. Please contact the administrator.",
            ProxyError::LoginThrottled(_) => "Too many failed sign-ins from this network or for this account. For your security, signing in is paused for a few minutes.",
            ProxyError::AmbiguousRequest(_) => "The request could be read in more than one way and was refused.",
            ProxyError::RepeatedField(_) => "A header field the request may carry once came more than once.",
            ProxyError::AppSessionWithheld => "This sign-in did not go through the gateway's login. Please sign in on the login page.",
            ProxyError::AnswerUnchecked => "The application's answer could not be checked, so the gateway did not pass it on. Please contact the administrator if this keeps happening.",
            ProxyError::SessionChangedHands => "The application now says this session belongs to another account. For your security you have been signed out; please sign in again.",
            ProxyError::ConnectionAuthentication => "Windows sign-in (NTLM or Negotiate) cannot pass through this gateway: it would be shared with other users' requests.",
            ProxyError::PathRefused => "This address is not available through the gateway: it would sign in with a password alone.",
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_error_maps_to_a_non_2xx_status() {
        let errors = [
            ProxyError::UnknownHost,
            ProxyError::BadHost,
            ProxyError::AmbiguousPath(AmbiguousPath::DotSegment),
            ProxyError::HeadersTooLarge,
            ProxyError::NoGatewayPage,
            ProxyError::UpstreamTimeout,
            ProxyError::Unauthorized,
            ProxyError::BodyTooLarge,
            ProxyError::BodyUnreadable,
            ProxyError::BodyTimeout,
            ProxyError::LoginAnswerUnreadable,
            ProxyError::LoginWithoutUser,
            ProxyError::LoginThrottled(Box::new(Throttle {
                lock: crate::regulation::Lock {
                    until: 60,
                    scope: crate::regulation::Scope::Address,
                },
                seconds: 60,
                user: None,
                client: std::net::Ipv4Addr::LOCALHOST.into(),
                now: 0,
            })),
            ProxyError::AmbiguousRequest("test"),
            ProxyError::RepeatedField("Host"),
            ProxyError::AppSessionWithheld,
            ProxyError::AnswerUnchecked,
            ProxyError::SessionChangedHands,
            ProxyError::ConnectionAuthentication,
            ProxyError::PathRefused,
        ];
        let statuses: Vec<u16> = errors.iter().map(|e| e.status().as_u16()).collect();
        assert_eq!(
            statuses,
            [
                404, 400, 400, 431, 404, 504, 401, 413, 400, 408, 502, 502, 429, 400, 400, 403,
                502, 403, 403, 403
            ]
        );
        assert!(errors
            .iter()
            .all(|e| !e.message().is_empty() && !e.status().is_success()));
    }

    #[test]
    fn a_repeated_field_is_named_in_the_json_message_and_on_the_page() {
        let error = ProxyError::RepeatedField("Content-Type");
        assert!(
            error.message().contains("Content-Type"),
            "{}",
            error.message()
        );
        for lang in crate::i18n::Lang::ALL {
            let page = error.page_message(crate::i18n::Tr::new(lang));
            assert!(page.contains("Content-Type"), "{lang:?}: {page}");
        }
    }
}
