//! Second factors. Each kind verifies a user's answer to a challenge; the login flow (a later
//! part of the gateway) drives them through one trait.

pub mod invite;
pub mod recovery;
pub mod service;
pub mod totp;
