//! Second factors. Each kind verifies a user's answer to a challenge; the login flow, the
//! settings pages and the JSON API drive them through one trait (`service::Factor`) and one
//! registry (`service::Factors`).

pub mod authenticator;
pub mod invite;
pub mod recovery;
pub mod service;
pub mod totp;
