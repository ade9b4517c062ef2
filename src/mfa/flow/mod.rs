//! From a password the app accepted to the release of its withheld answer: the steps shared by
//! the browser pages and the JSON API. Nothing here renders; `endpoints` turns the outcomes
//! into pages or JSON.

mod attempts;
mod begin;
mod context;
mod enroll;
mod pending;
mod release;
mod trail;
mod verify;

pub use attempts::{wrong, Reserved};
pub use begin::{accept_invite, begin, Begun};
pub(super) use begin::{first_login_open, lookalike_enrolled};
pub use context::{identity, Context};
pub use enroll::{
    acknowledge, confirm_enrollment, enroll_setup, shown_recovery_codes, EnrollSetup,
};
pub use pending::{pending, CodeOutcome, PendingError, Refusal, Step};
pub use release::{app_credentials, credentials_in, AppCredentials};
pub use trail::Refusable;
pub use verify::{check_code, plausible_code, verify, Verified};
