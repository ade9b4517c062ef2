//! Pages the gateway answers itself.

pub mod error_page;
