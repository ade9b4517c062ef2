//! Login interception: recognise a login request, read the user name, decide whether the app
//! accepted it, and capture the app's whole answer so it can be withheld until the second factor
//! passes. The pieces here are pure (no I/O); the proxy drives them.

pub mod ambiguous;
pub mod body;
pub mod form;
pub mod json;
pub mod media_type;
pub mod multipart;
pub mod withheld;
