//! Gateway sessions as the browser and the app see them: the tokens and cookies the gateway
//! issues, and the app credentials (session cookie, bearer token) it binds to them.

pub mod cookies;
pub mod credentials;
pub mod device;
pub mod jar;
pub mod stacks;
pub mod token;
