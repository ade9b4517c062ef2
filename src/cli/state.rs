//! Commands that work on the state a config file names: connection checks, migrations, key
//! rotation. Each runs on a small runtime of its own and prints no secret.

use crate::config::{Config, DurableConfig, EphemeralConfig};
use crate::store::DurableStore;
use std::process::ExitCode;
use std::time::Duration;

pub fn block_on<T>(work: impl std::future::Future<Output = T>) -> Option<T> {
    match tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
    {
        Ok(runtime) => Some(runtime.block_on(work)),
        Err(e) => {
            eprintln!("cannot start: {e}");
            None
        }
    }
}

/// `check-config --connect`: can the stores the file names be reached?
pub fn check_connections(config: &Config) -> ExitCode {
    let result = block_on(async {
        let mut ok = true;
        match &config.state.ephemeral {
            EphemeralConfig::Memory => println!("ephemeral store: memory (this process)"),
            EphemeralConfig::Redis { timeout, .. } => {
                let answer = match crate::mfa::open_ephemeral(config).await {
                    Ok(store) => tokio::time::timeout(*timeout, store.ping())
                        .await
                        .map_err(|_| "timed out".to_string())
                        .and_then(|r| r.map_err(|e| crate::ops::error_chain(&e))),
                    Err(e) => Err(crate::ops::error_chain(&e)),
                };
                ok &= report("ephemeral store: redis", answer);
            }
        }
        let durable = tokio::time::timeout(Duration::from_secs(10), async {
            let store = crate::mfa::open_durable(config)
                .await
                .map_err(|e| crate::ops::error_chain(&e))?;
            store.ping().await.map_err(|e| crate::ops::error_chain(&e))
        })
        .await
        .map_err(|_| "timed out".to_string())
        .and_then(|r| r);
        let kind = match config.state.durable {
            DurableConfig::Sqlite => "sqlite",
            DurableConfig::Postgres { .. } => "postgres",
        };
        ok &= report(&format!("durable store: {kind}"), durable);
        ok
    });
    match result {
        Some(true) => ExitCode::SUCCESS,
        _ => ExitCode::FAILURE,
    }
}

fn report(what: &str, answer: Result<(), String>) -> bool {
    match answer {
        Ok(()) => {
            println!("{what}: reachable");
            true
        }
        Err(cause) => {
            eprintln!("{what}: NOT reachable: {cause}");
            false
        }
    }
}

/// `migrate`: brings the durable store's schema up to date.
pub fn migrate(config: &Config) -> ExitCode {
    let result = block_on(async {
        match &config.state.durable {
            DurableConfig::Sqlite => {
                crate::store::SqliteStore::open(&config.data_dir.join("factors.sqlite3"))
                    .await
                    .map(|_| "sqlite")
            }
            DurableConfig::Postgres {
                url,
                max_connections,
            } => {
                let store = crate::store::PostgresStore::connect(&url.0, *max_connections)?;
                store.migrate().await.map(|()| "postgres")
            }
        }
    });
    match result {
        Some(Ok(kind)) => {
            println!("{kind}: schema up to date");
            ExitCode::SUCCESS
        }
        Some(Err(error)) => {
            eprintln!("migration failed: {}", crate::ops::error_chain(&error));
            ExitCode::FAILURE
        }
        None => ExitCode::FAILURE,
    }
}

/// `keys fingerprint`: which key file this config reads, by its fingerprint.
pub fn key_fingerprint(config: &Config) -> ExitCode {
    match crate::keys::KeyRing::load(&config.keys_file) {
        Ok(ring) => {
            println!("{}  {}", ring.fingerprint(), config.keys_file.display());
            ExitCode::SUCCESS
        }
        Err(error) => {
            eprintln!("{}", crate::ops::error_chain(&error));
            ExitCode::FAILURE
        }
    }
}

/// `keys rotate`: a new active key, every TOTP secret re-encrypted under it, between two
/// audit records like every admin change.
pub fn rotate_keys(config: &Config) -> ExitCode {
    match block_on(rotate_recorded(config)) {
        Some(Ok(report)) => {
            println!(
                "new active key {}; {} secret{} re-encrypted, {} already under it",
                report.new_key,
                report.resealed,
                if report.resealed == 1 { "" } else { "s" },
                report.current
            );
            ExitCode::SUCCESS
        }
        Some(Err(error)) => {
            eprintln!("key rotation failed: {}", crate::ops::error_chain(&error));
            ExitCode::FAILURE
        }
        None => ExitCode::FAILURE,
    }
}

#[derive(Debug, thiserror::Error)]
enum RecordedRotateError {
    #[error(transparent)]
    Rotate(#[from] crate::admin::rotate::RotateError),
    #[error("the change cannot be recorded, so it was not made")]
    Audit(#[from] crate::audit::AuditError),
    #[error(transparent)]
    Keys(#[from] crate::keys::KeyError),
}

/// The rotation between its `change_begun` and `keys_rotated` records (or `change_failed`):
/// the trail tells a security team when the stored secrets moved to which key. The signing
/// key the records are sealed with is not rotated.
async fn rotate_recorded(
    config: &Config,
) -> Result<crate::admin::rotate::Report, RecordedRotateError> {
    let ring = crate::keys::KeyRing::load(&config.keys_file)?;
    let audit = crate::audit::Audit::for_admin_command(&config.audit)?;
    let now = crate::mfa::unix_now();
    let detail = vec![("via", "cli".to_string())];
    let begun = audit.begin(&ring, now, &rotation_event(&detail))?;
    let rotated = crate::admin::rotate::rotate(config).await;
    let written = match &rotated {
        Ok(report) => {
            let mut done = detail.clone();
            done.push(("key", report.new_key.clone()));
            done.push(("secrets_resealed", report.resealed.to_string()));
            done.push(("secrets_current", report.current.to_string()));
            begun.finish(crate::mfa::unix_now(), &rotation_event(&done))
        }
        Err(_) => begun.fail(
            crate::mfa::unix_now(),
            &rotation_event(&detail),
            "the rotation stopped: run it again to finish (every secret is under a key the file holds)",
            &[],
        ),
    };
    if let Err(error) = written {
        eprintln!(
            "the rotation's audit record was not written: {}",
            crate::ops::error_chain(&error)
        );
    }
    let _ = audit.drain(Duration::from_secs(10)).await;
    Ok(rotated?)
}

fn rotation_event<'a>(detail: &'a [(&'static str, String)]) -> crate::audit::Event<'a> {
    crate::audit::Event {
        event: "keys_rotated",
        app: "-",
        user: None,
        outcome: "accepted",
        client: None,
        user_agent: None,
        request_id: None,
        session: None,
        detail,
    }
}
