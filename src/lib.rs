//! mfa-gateway: a reverse proxy that adds a second factor in front of legacy web apps.
#![cfg_attr(
    not(test),
    deny(
        clippy::unwrap_used,
        clippy::expect_used,
        clippy::panic,
        clippy::indexing_slicing,
        clippy::await_holding_lock
    )
)]

pub mod admin;
pub mod audit;
pub mod cli;
pub mod config;
pub mod demo;
pub mod factors;
pub mod i18n;
pub mod intercept;
pub mod keys;
pub mod mfa;
pub mod ops;
pub mod proxy;
pub mod regulation;
pub mod session;
pub mod store;
pub mod ui;
pub mod wire;
