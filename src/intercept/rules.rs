//! The login rules and the `Set-Cookie` reading this folder works with. They live below it —
//! the rule types with the config they are validated from, `Set-Cookie` reading with the HTTP
//! helpers — and are named here too because the proxy and the MFA side import them from here.

pub use crate::config::{BodyKind, LoginRule, SuccessRule, UsernameField};
pub use crate::wire::set_cookie::{
    final_set_cookies, remove_set_cookies, remove_set_cookies_where, set_cookies, sets_cookie,
    sets_cookie_value, sets_cookies_named, SetCookie,
};
