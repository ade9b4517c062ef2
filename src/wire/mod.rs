//! HTTP helpers below both the proxy and the MFA side: the path rules every request is held to
//! (`path`), bounded body collection (`collect`), and cookie names compared with configured
//! ones (`cookie_name`). Nothing here knows of apps, factors or sessions.

pub mod collect;
pub mod cookie_name;
pub mod path;
pub mod set_cookie;
pub mod spelling;
