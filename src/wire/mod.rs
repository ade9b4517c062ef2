//! HTTP helpers below both the proxy and the MFA side: the path rules every request is held to
//! (`path`) and bounded body collection (`collect`). Nothing here knows of apps, factors or
//! sessions.

pub mod collect;
pub mod path;
