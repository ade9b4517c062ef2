//! `mfa-gateway audit verify` and `audit query`.

use crate::audit::query::{self, Filter};
use crate::config::Config;
use clap::Args;
use std::path::PathBuf;
use std::process::ExitCode;

#[derive(Debug, Args)]
pub struct QueryArgs {
    /// Audit files (JSON lines), read in the order given; default: the config's audit file.
    files: Vec<PathBuf>,
    /// The gateway's configuration.
    #[arg(long, short, env = "MFA_CONFIG")]
    config: PathBuf,
    /// Read the Redis Stream the config names (audit.redis_stream) instead of files.
    #[arg(long, conflicts_with = "files")]
    stream: bool,
    #[arg(long)]
    user: Option<String>,
    #[arg(long)]
    app: Option<String>,
    /// An event name, e.g. verify_failed, user_locked, admin_user_reset.
    #[arg(long)]
    event: Option<String>,
    /// accepted, refused, challenge, released, locked.
    #[arg(long)]
    outcome: Option<String>,
    /// From this time on: a duration back from now (24h, 90m) or a date/time (2026-11-26,
    /// 2026-11-26T08:00:00Z).
    #[arg(long)]
    since: Option<String>,
    /// Before this time (same forms as --since).
    #[arg(long)]
    until: Option<String>,
    /// The records as JSON lines (as stored) instead of a table.
    #[arg(long)]
    json: bool,
}

/// `audit verify [FILE...]`: the files' records as one chain (rotated files in order); no
/// file named: the one the config writes, as `audit query` reads it.
pub fn verify(config: &Config, files: &[PathBuf]) -> ExitCode {
    let configured;
    let files = match (files.is_empty(), &config.audit.file) {
        (false, _) => files,
        (true, Some(file)) => {
            configured = [file.clone()];
            &configured[..]
        }
        (true, None) => {
            eprintln!("the config writes no audit file: name the files to verify");
            return ExitCode::from(2);
        }
    };
    let keys = match crate::keys::KeyRing::load(&config.keys_file) {
        Ok(k) => k,
        Err(e) => {
            eprintln!("{}", crate::ops::error_chain(&e));
            return ExitCode::FAILURE;
        }
    };
    match crate::audit::verify_files(files, &keys) {
        Ok(Ok(report)) => {
            let names: Vec<String> = files.iter().map(|f| f.display().to_string()).collect();
            println!(
                "{}: {} records, chain intact",
                names.join(" + "),
                report.records
            );
            if let Some(first) = report.first_seq.filter(|s| *s > 1) {
                println!("note: the first record is number {first}: it continues an earlier file (rotated away); verify that file before this one to check the link");
            }
            ExitCode::SUCCESS
        }
        Ok(Err(broken)) => {
            eprintln!("{broken}");
            ExitCode::FAILURE
        }
        Err(e) => {
            eprintln!("cannot read {e}");
            ExitCode::FAILURE
        }
    }
}

pub fn run_query(args: QueryArgs) -> ExitCode {
    let config = match crate::config::load(&args.config) {
        Ok(c) => c,
        Err(errors) => {
            eprintln!("{errors}");
            return ExitCode::FAILURE;
        }
    };
    let now = crate::mfa::unix_now();
    let time = |text: &Option<String>, flag: &str| -> Result<Option<i64>, String> {
        text.as_deref()
            .map(|t| query::parse_time(t, now).ok_or_else(|| format!("--{flag} {t:?}: write a duration (24h) or a date/time (2026-11-26T08:00:00Z)")))
            .transpose()
    };
    let (since, until) = match (time(&args.since, "since"), time(&args.until, "until")) {
        (Ok(s), Ok(u)) => (s, u),
        (Err(e), _) | (_, Err(e)) => {
            eprintln!("{e}");
            return ExitCode::from(2);
        }
    };
    let filter = Filter {
        user: args.user,
        app: args.app,
        event: args.event,
        outcome: args.outcome,
        since,
        until,
    };
    let records = if args.stream {
        match read_stream(&config, since) {
            Ok(text) => query::select(&text, &filter),
            Err(e) => {
                eprintln!("{e}");
                return ExitCode::FAILURE;
            }
        }
    } else {
        let files = if args.files.is_empty() {
            match &config.audit.file {
                Some(f) => vec![f.clone()],
                None => {
                    eprintln!("the config writes no audit file: name files, or use --stream");
                    return ExitCode::from(2);
                }
            }
        } else {
            args.files
        };
        let mut records = Vec::new();
        for file in &files {
            match std::fs::read_to_string(file) {
                Ok(text) => records.extend(query::select(&text, &filter)),
                Err(e) => {
                    eprintln!("cannot read {}: {e}", file.display());
                    return ExitCode::FAILURE;
                }
            }
        }
        records
    };
    if args.json {
        for r in &records {
            println!("{r}");
        }
    } else {
        let rows: Vec<Vec<String>> = records.iter().map(query::row).collect();
        print!(
            "{}",
            super::admin::table(
                &["TIME", "EVENT", "APP", "USER", "OUTCOME", "CLIENT", "DETAIL"],
                &rows
            )
        );
        eprintln!(
            "{} record{}",
            records.len(),
            if records.len() == 1 { "" } else { "s" }
        );
    }
    ExitCode::SUCCESS
}

/// The stream's records from `since` on, as JSON lines (XRANGE from the entry id's time).
fn read_stream(config: &Config, since: Option<i64>) -> Result<String, String> {
    let Some(stream) = &config.audit.redis_stream else {
        return Err("the config names no audit.redis_stream".into());
    };
    let work = async {
        let client =
            redis::Client::open(stream.url.0.as_str()).map_err(|e| crate::ops::error_chain(&e))?;
        let mut conn = client
            .get_multiplexed_async_connection()
            .await
            .map_err(|e| {
                format!(
                    "cannot reach the stream's Redis: {}",
                    crate::ops::error_chain(&e)
                )
            })?;
        let mut start = since.map_or_else(|| "-".to_string(), |s| (s.max(0) * 1000).to_string());
        let mut text = String::new();
        loop {
            let batch: Vec<(String, std::collections::HashMap<String, String>)> =
                redis::cmd("XRANGE")
                    .arg(&stream.key)
                    .arg(&start)
                    .arg("+")
                    .arg("COUNT")
                    .arg(1000)
                    .query_async(&mut conn)
                    .await
                    .map_err(|e| crate::ops::error_chain(&e))?;
            let Some((last, _)) = batch.last() else { break };
            start = format!("({last}");
            for (_, fields) in &batch {
                if let Some(record) = fields.get("record") {
                    text.push_str(record);
                    text.push('\n');
                }
            }
        }
        Ok::<_, String>(text)
    };
    super::state::block_on(work).unwrap_or_else(|| Err("cannot start".into()))
}
