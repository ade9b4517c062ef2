//! What every section of the validation shares: the [`Checker`] that collects each problem
//! with its place in the file, and the readers of the small values sections are made of
//! (durations, addresses, host patterns, secrets kept inline or in a file).

use super::error::ConfigError;
use super::model::HostPattern;
use super::positions::Positions;
use ipnet::IpNet;
use std::net::{IpAddr, SocketAddr};
use std::path::{Path, PathBuf};
use std::time::Duration;

/// Collects every problem with its place in the file.
pub struct Checker<'a> {
    file: &'a Path,
    positions: &'a Positions,
    pub errors: Vec<ConfigError>,
    /// What works but an operator should reconsider (said by `check-config` and at start).
    pub warnings: Vec<ConfigError>,
}

impl<'a> Checker<'a> {
    pub fn new(file: &'a Path, positions: &'a Positions) -> Self {
        Checker {
            file,
            positions,
            errors: Vec::new(),
            warnings: Vec::new(),
        }
    }

    pub(super) fn warn(&mut self, key: &str, message: impl Into<String>) {
        let (line, column) = self.positions.find(key);
        self.warnings
            .push(ConfigError::at(self.file, line, column, key, message));
    }

    pub(super) fn fail(&mut self, key: &str, message: impl Into<String>) {
        let (line, column) = self.positions.find(key);
        self.errors
            .push(ConfigError::at(self.file, line, column, key, message));
    }

    /// Relative paths in the file are taken from the file's own folder, so a config works
    /// whatever directory the gateway is started in.
    pub(super) fn resolve(&self, path: &Path) -> PathBuf {
        if path.is_absolute() {
            return path.to_path_buf();
        }
        match self.file.parent() {
            Some(dir) if !dir.as_os_str().is_empty() => dir.join(path),
            _ => path.to_path_buf(),
        }
    }

    pub(super) fn duration(&mut self, key: &str, raw: Option<&str>, default: Duration) -> Duration {
        let Some(text) = raw else { return default };
        match parse_duration(text) {
            Some(d) if !d.is_zero() => d,
            Some(_) => {
                self.fail(key, "must be greater than zero");
                default
            }
            None => {
                self.fail(
                    key,
                    format!("{text:?} is not a duration: write a number with a unit, e.g. 500ms, 30s, 5m, 1h, 1d"),
                );
                default
            }
        }
    }

    pub(super) fn socket_addr(&mut self, key: &str, text: &str) -> Option<SocketAddr> {
        match text.parse() {
            Ok(addr) => Some(addr),
            Err(_) => {
                self.fail(
                    key,
                    format!("{text:?} is not an address: write IP:PORT, e.g. 127.0.0.1:8080 or [::]:443"),
                );
                None
            }
        }
    }
}

/// A secret given inline (`name`) or read from a file (`name_file`, trailing newline dropped).
pub fn secret_value(
    c: &mut Checker,
    key: &str,
    name: &str,
    inline: Option<&str>,
    file: Option<&Path>,
) -> Option<String> {
    match (inline, file) {
        (Some(_), Some(_)) => {
            c.fail(
                &format!("{key}.{name}_file"),
                format!("give either {name} or {name}_file, not both"),
            );
            None
        }
        (Some(v), None) => Some(v.to_string()),
        (None, Some(path)) => {
            let path = c.resolve(path);
            match std::fs::read_to_string(&path) {
                Ok(text) => Some(text.trim_end_matches(['\r', '\n']).to_string()),
                Err(e) => {
                    c.fail(
                        &format!("{key}.{name}_file"),
                        format!("cannot read {}: {e}", path.display()),
                    );
                    None
                }
            }
        }
        (None, None) => {
            c.fail(key, format!("{name} or {name}_file is required"));
            None
        }
    }
}

/// `500ms`, `30s`, `5m`, `1h`.
pub fn parse_duration(text: &str) -> Option<Duration> {
    let text = text.trim();
    let split = text.find(|c: char| !c.is_ascii_digit())?;
    let (number, unit) = text.split_at(split);
    let n: u64 = number.parse().ok()?;
    match unit {
        "ms" => Some(Duration::from_millis(n)),
        "s" => Some(Duration::from_secs(n)),
        "m" => n.checked_mul(60).map(Duration::from_secs),
        "h" => n.checked_mul(3600).map(Duration::from_secs),
        "d" => n.checked_mul(86_400).map(Duration::from_secs),
        _ => None,
    }
}

pub(super) fn parse_cidr(text: &str) -> Option<IpNet> {
    text.parse::<IpNet>()
        .ok()
        .or_else(|| text.parse::<IpAddr>().ok().map(IpNet::from))
        .map(|n| n.trunc())
}

pub fn parse_host_pattern(text: &str) -> Option<HostPattern> {
    if text == "*" {
        return Some(HostPattern::Any);
    }
    let lower = text.to_ascii_lowercase();
    let (pattern, name) = match lower.strip_prefix("*.") {
        Some(rest) => (true, rest),
        None => (false, lower.as_str()),
    };
    let valid = !name.is_empty()
        && name.len() <= 253
        && name.split('.').all(|label| {
            !label.is_empty()
                && label.len() <= 63
                && label
                    .bytes()
                    .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
        });
    match (valid, pattern) {
        (false, _) => None,
        (true, true) => Some(HostPattern::Suffix(format!(".{name}"))),
        (true, false) => Some(HostPattern::Exact(name.to_string())),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn durations_need_a_unit() {
        assert_eq!(parse_duration("500ms"), Some(Duration::from_millis(500)));
        assert_eq!(parse_duration("30s"), Some(Duration::from_secs(30)));
        assert_eq!(parse_duration("5m"), Some(Duration::from_secs(300)));
        assert_eq!(parse_duration("2h"), Some(Duration::from_secs(7200)));
        assert_eq!(parse_duration("1d"), Some(Duration::from_secs(86_400)));
        assert_eq!(parse_duration("30"), None);
        assert_eq!(parse_duration("s"), None);
        assert_eq!(parse_duration("3 days"), None);
    }

    #[test]
    fn host_patterns() {
        assert_eq!(parse_host_pattern("*"), Some(HostPattern::Any));
        assert_eq!(
            parse_host_pattern("Admin.Example.COM"),
            Some(HostPattern::Exact("admin.example.com".into()))
        );
        assert_eq!(
            parse_host_pattern("*.example.com"),
            Some(HostPattern::Suffix(".example.com".into()))
        );
        assert_eq!(parse_host_pattern("http://x"), None);
        assert_eq!(parse_host_pattern("x:80"), None);
        assert_eq!(parse_host_pattern("a..b"), None);
        assert_eq!(parse_host_pattern("*.*.x"), None);
    }

    #[test]
    fn cidrs_and_bare_addresses() {
        assert_eq!(parse_cidr("10.0.0.0/8"), "10.0.0.0/8".parse().ok());
        assert_eq!(parse_cidr("10.1.2.3/8"), "10.0.0.0/8".parse().ok());
        assert_eq!(parse_cidr("::1"), "::1/128".parse().ok());
        assert_eq!(parse_cidr("10.0.0.0/33"), None);
    }
}
