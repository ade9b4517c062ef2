//! Pages the gateway answers itself.

pub mod agent;
pub mod error_page;
pub mod pages;
pub mod qr;
pub mod security_headers;
