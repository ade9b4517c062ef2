//! The command line: `serve`, `check-config`, `migrate`, `audit verify`, `user …`, `session …`,
//! `keys rotate`, `demo`.

mod admin;
mod audit;
mod state;

use crate::config;
use clap::{Parser, Subcommand};
use std::path::PathBuf;
use std::process::ExitCode;

#[derive(Debug, Parser)]
#[command(
    name = "mfa-gateway",
    version,
    about = "Adds a second factor in front of legacy web apps"
)]
pub struct Cli {
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Run the gateway.
    Serve {
        /// The YAML configuration file.
        #[arg(long, short, env = "MFA_CONFIG")]
        config: PathBuf,
    },
    /// Validate a configuration file: exits 0, or lists every problem with file:line:column.
    CheckConfig {
        #[arg(long, short, env = "MFA_CONFIG")]
        config: PathBuf,
        /// Also connect to the state stores (Redis, PostgreSQL) the file names.
        #[arg(long)]
        connect: bool,
    },
    /// Apply the database migrations (the gateway also applies them when it starts).
    Migrate {
        #[arg(long, short, env = "MFA_CONFIG")]
        config: PathBuf,
    },
    /// Work with the audit trail.
    Audit {
        #[command(subcommand)]
        action: AuditCommand,
    },
    /// Users' factors, locks and invitations (admin; every change is audited).
    User {
        #[command(subcommand)]
        action: admin::UserCommand,
    },
    /// Gateway sessions (admin; every change is audited).
    Session {
        #[command(subcommand)]
        action: admin::SessionCommand,
    },
    /// Locks on client addresses (admin; every change is audited).
    Client {
        #[command(subcommand)]
        action: admin::ClientCommand,
    },
    /// Manage the gateway's keys.
    Keys {
        #[command(subcommand)]
        action: KeysCommand,
    },
    /// Start a bundled legacy-style app and the gateway in front of it (no setup needed).
    Demo {
        /// Where the gateway listens.
        #[arg(long, default_value = "127.0.0.1:8080")]
        listen: String,
        /// Where the bundled demo app listens.
        #[arg(long, default_value = "127.0.0.1:8000")]
        app_listen: std::net::SocketAddr,
    },
}

#[derive(Debug, Subcommand)]
pub enum AuditCommand {
    /// Check an audit file's chain: exits 0 when every record is intact and in order, or names
    /// the first line that was edited, removed, inserted or moved and exits 1.
    Verify {
        /// The audit file (JSON lines); several files (rotated ones first) are checked as one
        /// chain. Default: the file the config writes.
        files: Vec<PathBuf>,
        /// The gateway's configuration (for its key file).
        #[arg(long, short, env = "MFA_CONFIG")]
        config: PathBuf,
    },
    /// Show records from the audit files or the Redis Stream, filtered, as a table or JSON.
    Query(audit::QueryArgs),
}

#[derive(Debug, Subcommand)]
pub enum KeysCommand {
    /// Add a new encryption key, make it the active one and re-encrypt every stored TOTP
    /// secret under it. Older keys stay in the key file so anything sealed before still opens;
    /// running gateways pick the new key up by themselves.
    Rotate {
        #[arg(long, short, env = "MFA_CONFIG")]
        config: PathBuf,
    },
    /// Print the key file's fingerprint (16 hex digits; not a secret). Every gateway sharing
    /// one Redis or PostgreSQL must show the same.
    Fingerprint {
        #[arg(long, short, env = "MFA_CONFIG")]
        config: PathBuf,
    },
}

pub fn run(cli: Cli) -> ExitCode {
    match cli.command {
        Command::Serve { config } => serve(&config),
        Command::CheckConfig { config, connect } => match check_config(&config) {
            Some(loaded) if connect => state::check_connections(&loaded),
            Some(_) => ExitCode::SUCCESS,
            None => ExitCode::FAILURE,
        },
        Command::Migrate { config } => with_config(&config, state::migrate),
        Command::Audit {
            action: AuditCommand::Verify { files, config },
        } => match config::load(&config) {
            Ok(c) => audit::verify(&c, &files),
            Err(errors) => {
                eprintln!("{errors}");
                ExitCode::FAILURE
            }
        },
        Command::Audit {
            action: AuditCommand::Query(args),
        } => audit::run_query(args),
        Command::Keys {
            action: KeysCommand::Rotate { config },
        } => with_config(&config, state::rotate_keys),
        Command::Keys {
            action: KeysCommand::Fingerprint { config },
        } => with_config(&config, state::key_fingerprint),
        Command::User { action } => admin::user(action),
        Command::Session { action } => admin::session(action),
        Command::Client { action } => admin::client(action),
        Command::Demo { listen, app_listen } => crate::demo::run(&listen, app_listen),
    }
}

/// Validates the file, printing every problem; the configuration when it is valid.
fn check_config(path: &std::path::Path) -> Option<config::Config> {
    match config::load(path) {
        Ok(c) => {
            println!(
                "{}: ok ({} listener{}, {} app{})",
                path.display(),
                c.listeners.len(),
                if c.listeners.len() == 1 { "" } else { "s" },
                c.apps.len(),
                if c.apps.len() == 1 { "" } else { "s" }
            );
            for warning in &c.warnings {
                println!("warning: {warning}");
            }
            for app in &c.apps {
                let typed = app
                    .mfa
                    .as_ref()
                    .is_some_and(|m| m.identity == config::IdentitySource::LoginField);
                if typed {
                    println!(
                        "{}: note: app {}: the user is the name typed at login (identity.typed_name): \
                         a name the app cleans or folds differently (alice. or _alice for alice) is \
                         sent to an administrator's invite at first enrollment when it looks like \
                         an enrolled user's, and answers that start a session outside the login \
                         rules are refused (a session_before_login cookie is believed anonymous \
                         only on the login page and routes, and not when the query names a user); \
                         identity.whoami lets the app name the user instead",
                        path.display(),
                        app.name
                    );
                }
            }
            Some(c)
        }
        Err(errors) => {
            eprintln!("{errors}");
            eprintln!(
                "{} problem{} found",
                errors.0.len(),
                if errors.0.len() == 1 { "" } else { "s" }
            );
            None
        }
    }
}

/// Loads the file (printing its problems if it has any) and runs `command` on it.
fn with_config(path: &std::path::Path, command: fn(&config::Config) -> ExitCode) -> ExitCode {
    match config::load(path) {
        Ok(c) => command(&c),
        Err(errors) => {
            eprintln!("{errors}");
            ExitCode::FAILURE
        }
    }
}

fn serve(path: &std::path::Path) -> ExitCode {
    match config::load(path) {
        Ok(c) => crate::proxy::server::run(c),
        Err(errors) => {
            eprintln!("{errors}");
            ExitCode::FAILURE
        }
    }
}
