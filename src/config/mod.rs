//! Configuration: the YAML file → a validated [`Config`], with every problem reported as
//! `file:line:column: key: message`.

mod app;
mod audit;
mod checker;
mod enrollment;
mod env;
mod error;
mod login_rule;
mod mfa;
mod model;
mod positions;
mod raw;
mod state;
mod structure;
mod tls_files;
mod validate;

pub use checker::{parse_duration, parse_host_pattern};
pub use error::{ConfigError, ConfigErrors};
pub use login_rule::{BodyKind, LoginRule, SuccessRule, UsernameField};
pub use model::*;

use positions::Positions;
use std::path::Path;

/// Reads the configuration again as `current` was read: its file with the environment, or the
/// text and variables it was started with.
pub fn reload(current: &Config) -> Result<Config, ConfigErrors> {
    match &current.origin {
        Origin::File => load(&current.source),
        Origin::Fixed { text, variables } => {
            fixed(text.clone(), &current.source, variables.clone())
        }
    }
}

/// Loads `text` (shown as `path` in errors) with `variables` before the environment, and
/// keeps them for reloads.
pub fn fixed(
    text: std::sync::Arc<str>,
    path: &Path,
    variables: std::sync::Arc<[(String, String)]>,
) -> Result<Config, ConfigErrors> {
    let lookup = |name: &str| {
        variables
            .iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.clone())
            .or_else(|| std::env::var(name).ok())
    };
    let mut config = load_str(&text, path, lookup)?;
    config.origin = Origin::Fixed { text, variables };
    Ok(config)
}

/// Reads, substitutes, parses and validates `path`, using the process environment.
pub fn load(path: &Path) -> Result<Config, ConfigErrors> {
    let text = std::fs::read_to_string(path).map_err(|e| {
        ConfigErrors(vec![ConfigError::at(
            path,
            0,
            0,
            "",
            format!("cannot read the configuration file: {e}"),
        )])
    })?;
    load_str(&text, path, |name| std::env::var(name).ok())
}

/// Like [`load`] with the file's text and the variable lookup given, for tests.
pub fn load_str(
    text: &str,
    path: &Path,
    lookup: impl Fn(&str) -> Option<String>,
) -> Result<Config, ConfigErrors> {
    let text = env::substitute(text, path, lookup).map_err(ConfigErrors)?;
    let positions = Positions::index(&text);
    let structure::Read {
        raw,
        mut errors,
        mended,
    } = structure::read(&text, path, &positions);
    let Some(raw) = raw else {
        return Err(ConfigErrors(errors));
    };
    match validate::validate(raw, path, &positions) {
        Ok(config) if errors.is_empty() => return Ok(config),
        Ok(_) => {}
        // What is found in a mended place echoes a mistake already reported.
        Err(later) => errors.extend(
            later
                .into_iter()
                .filter(|e| !structure::is_under_any(&mended, &e.key)),
        ),
    }
    // In file order; problems without a place (an unreadable file) last.
    errors.sort_by_key(|e| (e.line == 0, e.line, e.column));
    Err(ConfigErrors(errors))
}

/// serde's wording with its trailing position removed (we print our own) and, for an unknown
/// key, the closest known key as a hint.
fn explain_serde_error(message: &str) -> String {
    let message = match message.rfind(" at line ") {
        Some(cut) => &message[..cut],
        None => message,
    };
    // serde_yaml starts some messages with the key path, which we print ourselves.
    let message = match message.split_once(": ") {
        Some((path, rest)) if !path.contains(' ') && !path.contains('`') => rest,
        _ => message,
    };
    let Some(rest) = message.strip_prefix("unknown field `") else {
        return message.to_string();
    };
    let Some((unknown, expected)) = rest.split_once('`') else {
        return message.to_string();
    };
    let known: Vec<&str> = expected.split('`').skip(1).step_by(2).collect();
    let hint = known
        .iter()
        .map(|k| (strsim::damerau_levenshtein(unknown, k), *k))
        .filter(|(distance, k)| *distance <= 2.max(k.len() / 3))
        .min_by_key(|(distance, _)| *distance);
    match hint {
        Some((_, k)) => format!("unknown key `{unknown}` (did you mean `{k}`?)"),
        None => format!(
            "unknown key `{unknown}`; known keys here: {}",
            known.join(", ")
        ),
    }
}

#[cfg(test)]
mod tests;
