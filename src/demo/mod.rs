//! `mfa-gateway demo`: the bundled legacy-style app and the gateway in front of it, so a
//! newcomer sees the whole flow with one command and nothing to set up.

mod app;

use std::net::SocketAddr;
use std::path::Path;
use std::process::ExitCode;

/// The demo configuration, shipped in the binary so the command works from any directory.
const DEMO_CONFIG: &str = include_str!("../../config/demo.yaml");

pub fn run(listen: &str, app_listen: SocketAddr) -> ExitCode {
    let upstream = format!("http://{app_listen}");
    // The demo's data (keys, enrolled factors) goes to ./data where the command runs: the
    // config file is built in, so "relative to the config file" would mean nothing here.
    let data_dir = std::env::var("MFA_DATA_DIR").ok().unwrap_or_else(|| {
        std::env::current_dir()
            .map(|d| d.join("data").display().to_string())
            .unwrap_or_else(|_| "data".into())
    });
    // A reload (SIGHUP) reads the same built-in text with the same settings.
    let variables: std::sync::Arc<[(String, String)]> = [
        ("MFA_LISTEN", listen.to_string()),
        ("UPSTREAM_URL", upstream),
        ("MFA_DATA_DIR", data_dir),
    ]
    .map(|(k, v)| (k.to_string(), v))
    .into();
    let config = crate::config::fixed(DEMO_CONFIG.into(), Path::new("config/demo.yaml"), variables);
    let config = match config {
        Ok(c) => c,
        Err(errors) => {
            eprintln!("{errors}");
            return ExitCode::FAILURE;
        }
    };
    let app = match std::net::TcpListener::bind(app_listen) {
        Ok(l) => l,
        Err(e) => {
            eprintln!(
                "cannot start the demo app on {app_listen}: {e} (pick another with --app-listen)"
            );
            return ExitCode::FAILURE;
        }
    };
    let spawned = std::thread::Builder::new()
        .name("demo-app".into())
        .spawn(move || app::run(app));
    if let Err(e) = spawned {
        eprintln!("cannot start the demo app: {e}");
        return ExitCode::FAILURE;
    }
    eprintln!("demo app on http://{app_listen} (direct, no MFA); open the gateway at http://{listen}/ and log in as demo / demo");
    crate::proxy::server::run(config)
}
