//! The reverse proxy: listeners, TLS, routing, header rules and forwarding.

pub mod admin_listener;
pub mod admit;
pub mod answer;
pub mod basic;
pub mod body;
pub mod connection;
pub mod error;
pub mod fields;
pub mod gate;
pub mod handler;
pub mod headers;
pub mod login;
pub mod routes;
pub mod send_timeout;
pub mod server;
pub mod shutdown;
pub mod sniff;
pub mod state;
pub mod tls;
pub mod tunnel;
pub mod upstream;
pub mod whoami;
