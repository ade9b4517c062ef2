//! Login interception: recognise a login request, read the user name, decide whether the app
//! accepted it, and capture the app's whole answer so it can be withheld until the second factor
//! passes. The pieces here are pure (no I/O); the proxy drives them.

pub mod body;
pub mod form;
pub mod json;
pub mod multipart;
pub mod rules;
pub mod withheld;

// Path spelling is a rule every request is held to, so it lives with the HTTP helpers below;
// the proxy still names it here.
pub use crate::wire::spelling;
