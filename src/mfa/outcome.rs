//! Every refusal and error the gateway's own endpoints answer (the sign-in steps, the JSON API,
//! the settings), each with its HTTP status, the JSON `error` code an API client goes by and
//! the English sentence of the JSON `message`, in one table. A test pins the table, as
//! `ProxyError`'s is pinned: an API client's handling of a code must not change by accident.
//! Pages show the same status with a sentence in the reader's language (`locales/`).

use super::flow::Refusal;
use super::respond::{api_error, SPENT_CODE, SPENT_CODE_ERROR, UNAVAILABLE};
use bytes::Bytes;
use http::{Response, StatusCode};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Outcome {
    // The request's shape.
    /// A verify/enroll/invite body that is not a JSON object.
    NotAVerifyRequest,
    /// A settings body that is not JSON.
    NotJson,
    /// A JSON body was needed (a cross-site form cannot send one without a CORS preflight).
    JsonRequired,
    TooLarge,
    /// An API step called with another method than POST.
    UsePost,
    UsePostToSignOut,
    /// An API path that does not exist.
    NoSuchEndpoint,

    // The sign-in steps.
    /// A token that was forged, altered or issued for another app, or none.
    InvalidToken,
    /// Expired, already used, or killed by too many wrong codes.
    Expired,
    /// The request does not fit the step the login is at.
    WrongStep,
    /// A code of no factor's shape: a typo of length, not counted.
    CodeMalformed,
    /// No code in a verify request.
    CodeMissing,
    /// Several codes at once (an array or object): counted as a wrong code.
    CodeNotOneString,
    UnknownMethod,
    /// A wrong code at sign-in (the answer also says how many attempts are left).
    InvalidCode,
    /// A real code that was already used.
    SpentCode,
    TooManyAttempts,
    EnrollmentClosed,
    Locked,

    // Signed-in requests (settings and sign-out).
    /// A settings request without a verified session.
    SignInFirst,
    /// A sign-out without a signed-in session.
    NoSessionToEnd,
    CsrfFailed,
    NoSuchSession,
    NoSuchDevice,
    /// A settings change with a wrong (current) code.
    WrongCode,
    /// A settings change without the current code it needs.
    CodeRequired,
    WrongCurrentCode,
    CurrentCodeRequired,
    RequiredByPolicy,
    SetupExpired,
    InvitationNeeded,

    /// The stores or the audit trail cannot be used: nothing was decided (fail closed).
    Unavailable,
}

impl Outcome {
    pub fn status(self) -> StatusCode {
        use Outcome::*;
        match self {
            NotAVerifyRequest | NotJson | CodeMalformed | CodeMissing | CodeNotOneString
            | UnknownMethod | CodeRequired | CurrentCodeRequired | SetupExpired => {
                StatusCode::BAD_REQUEST
            }
            InvalidToken | Expired | InvalidCode | SpentCode | TooManyAttempts | SignInFirst
            | NoSessionToEnd | WrongCode | WrongCurrentCode => StatusCode::UNAUTHORIZED,
            EnrollmentClosed | CsrfFailed | RequiredByPolicy | InvitationNeeded => {
                StatusCode::FORBIDDEN
            }
            NoSuchEndpoint | NoSuchSession | NoSuchDevice => StatusCode::NOT_FOUND,
            UsePost | UsePostToSignOut => StatusCode::METHOD_NOT_ALLOWED,
            WrongStep => StatusCode::CONFLICT,
            TooLarge => StatusCode::PAYLOAD_TOO_LARGE,
            JsonRequired => StatusCode::UNSUPPORTED_MEDIA_TYPE,
            Locked => StatusCode::TOO_MANY_REQUESTS,
            Unavailable => StatusCode::SERVICE_UNAVAILABLE,
        }
    }

    /// The JSON `error`.
    pub fn code(self) -> &'static str {
        use Outcome::*;
        match self {
            NotAVerifyRequest | NotJson | CodeNotOneString => "bad_request",
            JsonRequired => "json_required",
            TooLarge => "too_large",
            UsePost | UsePostToSignOut => "method_not_allowed",
            NoSuchEndpoint => "not_found",
            InvalidToken => "invalid_token",
            Expired => "expired",
            WrongStep => "wrong_step",
            CodeMalformed => "code_malformed",
            CodeMissing | CodeRequired => "code_required",
            UnknownMethod => "unknown_method",
            InvalidCode | WrongCode => "invalid_code",
            SpentCode => SPENT_CODE_ERROR,
            TooManyAttempts => "too_many_attempts",
            EnrollmentClosed => "enrollment_closed",
            Locked => "locked",
            SignInFirst | NoSessionToEnd => "not_authenticated",
            CsrfFailed => "csrf_failed",
            NoSuchSession => "no_such_session",
            NoSuchDevice => "no_such_device",
            WrongCurrentCode => "invalid_current_code",
            CurrentCodeRequired => "current_code_required",
            RequiredByPolicy => "mfa_required_by_policy",
            SetupExpired => "setup_expired",
            InvitationNeeded => "invitation_required",
            Unavailable => "unavailable",
        }
    }

    /// The JSON `message`: English, like every API message. A lock's names its end, so it is
    /// made where the lock is known (`respond::api_locked`).
    pub fn message(self) -> &'static str {
        use Outcome::*;
        match self {
            NotAVerifyRequest => "Send a JSON object with ephemeral_token and code.",
            NotJson => "The body is not JSON.",
            JsonRequired => "Send the request as JSON (Content-Type: application/json).",
            TooLarge => "The request body is too large.",
            UsePost => "Use POST.",
            UsePostToSignOut => "Use POST with a JSON body to sign out.",
            NoSuchEndpoint => "No such API endpoint.",
            InvalidToken => "This sign-in could not be verified. Please sign in again.",
            Expired => "This sign-in has expired or was already completed. Please sign in again.",
            WrongStep => "This sign-in is waiting for a different step.",
            CodeMalformed => {
                "A code has 6 digits, or is a 12-character recovery code; nothing was counted."
            }
            CodeMissing => "code is required.",
            CodeNotOneString => "code must be one string.",
            UnknownMethod => "method must be totp or recovery_code.",
            InvalidCode => "The code is not valid.",
            SpentCode => SPENT_CODE,
            TooManyAttempts => "Too many wrong codes. Sign in again.",
            EnrollmentClosed => {
                "This account has no second factor, and setting one up at sign-in has ended. Ask an administrator for an enrollment code."
            }
            Locked => {
                "Too many wrong codes were entered. For your security, changes are paused for a while."
            }
            SignInFirst => "Sign in first: this needs a verified session.",
            NoSessionToEnd => "There is no signed-in session to end.",
            CsrfFailed => "Sign out with a JSON body, or with the form from the sign-out page.",
            NoSuchSession => "None of your other sessions has this id.",
            NoSuchDevice => "No browser remembered for you has this id.",
            WrongCode => "That code is not valid.",
            CodeRequired => "Enter a current code from your authenticator app, or a recovery code.",
            WrongCurrentCode => {
                "The current code is not valid. Enter a code from the app you use now, or a recovery code."
            }
            CurrentCodeRequired => {
                "Replacing your authenticator needs a current code too: one from the app you use now, or a recovery code."
            }
            RequiredByPolicy => {
                "This application requires a second factor: it cannot be turned off."
            }
            SetupExpired => "This setup has expired. Start again.",
            InvitationNeeded => {
                "Setting up a second factor here needs an enrollment code from your administrator (mfa-gateway user invite); with it, sign in again."
            }
            Unavailable => UNAVAILABLE,
        }
    }

    /// The JSON answer: `{"error": code, "message": message}` with the status.
    pub fn json(self) -> Response<Bytes> {
        api_error(self.status(), self.code(), self.message())
    }
}

/// A sign-in step's refusal: its status, JSON code and message.
impl From<Refusal> for Outcome {
    fn from(refusal: Refusal) -> Outcome {
        match refusal {
            Refusal::Invalid => Outcome::InvalidToken,
            Refusal::Expired => Outcome::Expired,
            Refusal::WrongStep => Outcome::WrongStep,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::Outcome::{self, *};
    use std::collections::HashSet;

    /// Every outcome, with the status and code API clients go by.
    const TABLE: &[(Outcome, u16, &str)] = &[
        (NotAVerifyRequest, 400, "bad_request"),
        (NotJson, 400, "bad_request"),
        (JsonRequired, 415, "json_required"),
        (TooLarge, 413, "too_large"),
        (UsePost, 405, "method_not_allowed"),
        (UsePostToSignOut, 405, "method_not_allowed"),
        (NoSuchEndpoint, 404, "not_found"),
        (InvalidToken, 401, "invalid_token"),
        (Expired, 401, "expired"),
        (WrongStep, 409, "wrong_step"),
        (CodeMalformed, 400, "code_malformed"),
        (CodeMissing, 400, "code_required"),
        (CodeNotOneString, 400, "bad_request"),
        (UnknownMethod, 400, "unknown_method"),
        (InvalidCode, 401, "invalid_code"),
        (SpentCode, 401, "code_already_used"),
        (TooManyAttempts, 401, "too_many_attempts"),
        (EnrollmentClosed, 403, "enrollment_closed"),
        (Locked, 429, "locked"),
        (SignInFirst, 401, "not_authenticated"),
        (NoSessionToEnd, 401, "not_authenticated"),
        (CsrfFailed, 403, "csrf_failed"),
        (NoSuchSession, 404, "no_such_session"),
        (NoSuchDevice, 404, "no_such_device"),
        (WrongCode, 401, "invalid_code"),
        (CodeRequired, 400, "code_required"),
        (WrongCurrentCode, 401, "invalid_current_code"),
        (CurrentCodeRequired, 400, "current_code_required"),
        (RequiredByPolicy, 403, "mfa_required_by_policy"),
        (SetupExpired, 400, "setup_expired"),
        (InvitationNeeded, 403, "invitation_required"),
        (Unavailable, 503, "unavailable"),
    ];

    #[test]
    fn every_outcome_has_its_pinned_status_code_and_a_message() {
        for &(outcome, status, code) in TABLE {
            assert_eq!(outcome.status().as_u16(), status, "{outcome:?}");
            assert_eq!(outcome.code(), code, "{outcome:?}");
            assert!(!outcome.message().is_empty(), "{outcome:?}");
            assert!(!outcome.status().is_success(), "{outcome:?}");
            let answer = outcome.json();
            assert_eq!(answer.status().as_u16(), status);
            let body: serde_json::Value = serde_json::from_slice(answer.body()).unwrap();
            assert_eq!(body["error"], code);
            assert_eq!(body["message"], outcome.message());
        }
        // Listed once each, and the list is complete: a new variant fails to compile in the
        // matches above and is missing here until it is added.
        let listed: HashSet<String> = TABLE.iter().map(|(o, ..)| format!("{o:?}")).collect();
        assert_eq!(listed.len(), TABLE.len());
        assert_eq!(TABLE.len(), 32, "add the new outcome to TABLE");
    }

    #[test]
    fn a_locks_answer_is_the_tables_locked() {
        let answer = crate::mfa::respond::api_locked(60, 0);
        assert_eq!(answer.status(), Locked.status());
        let body: serde_json::Value = serde_json::from_slice(answer.body()).unwrap();
        assert_eq!(body["error"], Locked.code());
        assert_eq!(body["retry_after"], 60);
    }

    #[test]
    fn one_code_means_one_status() {
        // A client that goes by `error` must never see the same code with two statuses.
        let mut seen = std::collections::HashMap::new();
        for &(outcome, status, code) in TABLE {
            if let Some(other) = seen.insert(code, status) {
                assert_eq!(other, status, "{code} ({outcome:?})");
            }
        }
    }
}
