//! `RawConfig` → `Config`: one check per rule, each failure telling the operator what to change.

use super::checker::{parse_cidr, Checker};
use super::error::ConfigError;
use super::model::*;
use super::positions::Positions;
use super::raw::*;
use super::tls_files;
use ipnet::IpNet;
use std::collections::HashSet;
use std::net::SocketAddr;
use std::path::Path;
use std::time::Duration;

pub fn validate(
    raw: RawConfig,
    file: &Path,
    positions: &Positions,
) -> Result<Config, Vec<ConfigError>> {
    let mut c = Checker::new(file, positions);
    let (listeners, seen_addresses) = listeners(&mut c, &raw.listeners);
    let admin = admin(&mut c, raw.admin.as_ref(), &seen_addresses);
    let Gateway {
        reserved_prefix,
        workers,
        trusted_proxies,
        via_name,
    } = gateway(&mut c, &raw.gateway);
    let limits = limits(&mut c, &raw.limits);
    let logging = logging(&mut c, &raw.logging);
    let apps = super::app::apps(&mut c, &raw.apps);
    let data_dir = c.resolve(raw.data_dir.as_deref().unwrap_or(Path::new("data")));
    let state = super::state::state(&mut c, &raw.state);
    let audit = super::audit::audit(&mut c, &raw.audit, &data_dir, &state);
    let keys_file = match &raw.keys_file {
        Some(path) => c.resolve(path),
        None => data_dir.join("keys.json"),
    };

    if c.errors.is_empty() {
        Ok(Config {
            source: file.to_path_buf(),
            origin: Origin::File,
            listeners,
            admin,
            data_dir,
            keys_file,
            state,
            audit,
            reserved_prefix,
            workers,
            trusted_proxies,
            via_name,
            limits,
            logging,
            apps,
            warnings: c.warnings,
        })
    } else {
        Err(c.errors)
    }
}

/// The listeners, and the addresses they take (the admin listener must not take one again).
fn listeners(c: &mut Checker, raw: &[RawListener]) -> (Vec<Listener>, HashSet<SocketAddr>) {
    if raw.is_empty() {
        c.fail("listeners", "at least one listener is needed");
    }
    let mut listeners = Vec::new();
    let mut seen_addresses = HashSet::new();
    for (i, l) in raw.iter().enumerate() {
        let key = format!("listeners[{i}]");
        let Some(address) = c.socket_addr(&format!("{key}.address"), &l.address) else {
            continue;
        };
        if !seen_addresses.insert(address) {
            c.fail(
                &format!("{key}.address"),
                format!("{address} is used by another listener"),
            );
        }
        let tls = l
            .tls
            .as_ref()
            .and_then(|t| listener_tls(c, &format!("{key}.tls"), t));
        listeners.push(Listener { address, tls });
    }
    (listeners, seen_addresses)
}

fn admin(
    c: &mut Checker,
    raw: Option<&RawAdmin>,
    listeners: &HashSet<SocketAddr>,
) -> Option<SocketAddr> {
    if let Some(RawAdmin {
        enabled: Some(false),
        ..
    }) = raw
    {
        return None;
    }
    let text = raw
        .and_then(|a| a.address.as_deref())
        .unwrap_or("127.0.0.1:9090");
    let addr = c.socket_addr("admin.address", text);
    if let Some(addr) = addr {
        if listeners.contains(&addr) {
            c.fail(
                "admin.address",
                format!("{addr} is already a listener's address"),
            );
        }
    }
    addr
}

/// What `gateway:` sets.
struct Gateway {
    reserved_prefix: String,
    workers: usize,
    trusted_proxies: Vec<IpNet>,
    via_name: String,
}

fn gateway(c: &mut Checker, raw: &RawGateway) -> Gateway {
    let reserved_prefix = raw
        .reserved_prefix
        .clone()
        .unwrap_or_else(|| "/.mfa/".into());
    if !is_reserved_prefix(&reserved_prefix) {
        c.fail(
            "gateway.reserved_prefix",
            format!("{reserved_prefix:?} must start and end with `/`, have at least one character between, and use only letters, digits, `.`, `_` and `-`"),
        );
    }

    let workers = match raw.workers {
        Some(0) | None => std::thread::available_parallelism().map_or(1, |n| n.get()),
        Some(n) if n > 256 => {
            c.fail(
                "gateway.workers",
                "at most 256 workers; 0 means one per core",
            );
            1
        }
        Some(n) => n,
    };

    let mut trusted_proxies = Vec::new();
    for (i, text) in raw.trusted_proxies.iter().enumerate() {
        match parse_cidr(text) {
            Some(net) => trusted_proxies.push(net),
            None => c.fail(
                &format!("gateway.trusted_proxies[{i}]"),
                format!("{text:?} is not an IP address or CIDR range (e.g. 10.0.0.0/8)"),
            ),
        }
    }

    let via_name = raw.via.clone().unwrap_or_else(|| "mfa-gateway".into());
    if via_name.is_empty() || !via_name.bytes().all(|b| b.is_ascii_graphic()) {
        c.fail(
            "gateway.via",
            "must be a single word of visible ASCII characters",
        );
    }
    Gateway {
        reserved_prefix,
        workers,
        trusted_proxies,
        via_name,
    }
}

fn listener_tls(c: &mut Checker, key: &str, raw: &RawTls) -> Option<ListenerTls> {
    if raw.certificates.is_empty() {
        c.fail(
            &format!("{key}.certificates"),
            "a TLS listener needs at least one certificate",
        );
        return None;
    }
    let mut certificates = Vec::new();
    for (i, pair) in raw.certificates.iter().enumerate() {
        let item = format!("{key}.certificates[{i}]");
        let cert_file = c.resolve(&pair.cert_file);
        let key_file = c.resolve(&pair.key_file);
        match tls_files::load_certified_key(&cert_file, &key_file) {
            Ok(k) => certificates.push(k),
            Err(e) => c.fail(&format!("{item}.{}", e.key()), e.to_string()),
        }
    }
    (certificates.len() == raw.certificates.len()).then(|| ListenerTls {
        certificates,
        http2: raw.http2.unwrap_or(true),
    })
}

fn limits(c: &mut Checker, raw: &RawLimits) -> Limits {
    let max_header_bytes = raw.max_header_bytes.unwrap_or(32 * 1024);
    if !(1024..=1024 * 1024).contains(&max_header_bytes) {
        c.fail(
            "limits.max_header_bytes",
            "must be between 1024 and 1048576",
        );
    }
    let max_headers = raw.max_headers.unwrap_or(100);
    if !(8..=1000).contains(&max_headers) {
        c.fail("limits.max_headers", "must be between 8 and 1000");
    }
    let max_body_bytes = raw.max_body_bytes.unwrap_or(1024 * 1024);
    if max_body_bytes == 0 {
        c.fail("limits.max_body_bytes", "must be greater than zero");
    }
    let max_connections = raw.max_connections.unwrap_or(10_000);
    if !(1..=1_000_000).contains(&max_connections) {
        c.fail("limits.max_connections", "must be between 1 and 1000000");
    }
    Limits {
        max_header_bytes,
        max_headers,
        max_body_bytes,
        header_read_timeout: c.duration(
            "limits.header_read_timeout",
            raw.header_read_timeout.as_deref(),
            Duration::from_secs(30),
        ),
        handshake_timeout: c.duration(
            "limits.handshake_timeout",
            raw.handshake_timeout.as_deref(),
            Duration::from_secs(10),
        ),
        max_connections,
        shutdown_timeout: c.duration(
            "limits.shutdown_timeout",
            raw.shutdown_timeout.as_deref(),
            Duration::from_secs(30),
        ),
        body_read_timeout: c.duration(
            "limits.body_read_timeout",
            raw.body_read_timeout.as_deref(),
            Limits::DEFAULT_BODY_READ_TIMEOUT,
        ),
        body_min_rate: raw.body_min_rate.unwrap_or(Limits::DEFAULT_BODY_MIN_RATE),
        send_timeout: c.duration(
            "limits.send_timeout",
            raw.send_timeout.as_deref(),
            Limits::DEFAULT_SEND_TIMEOUT,
        ),
        tunnel_idle_timeout: c.duration(
            "limits.tunnel_idle_timeout",
            raw.tunnel_idle_timeout.as_deref(),
            Limits::DEFAULT_TUNNEL_IDLE_TIMEOUT,
        ),
    }
}

fn logging(c: &mut Checker, raw: &RawLogging) -> Logging {
    let format = match raw.format.as_deref() {
        None | Some("text") => LogFormat::Text,
        Some("json") => LogFormat::Json,
        Some(other) => {
            c.fail(
                "logging.format",
                format!("{other:?} is not a log format: use text or json"),
            );
            LogFormat::Text
        }
    };
    let level = raw.level.clone().unwrap_or_else(|| "info".into());
    if tracing_subscriber::EnvFilter::builder()
        .parse(&level)
        .is_err()
    {
        c.fail(
            "logging.level",
            format!("{level:?} is not a log level: use error, warn, info, debug or trace (or a tracing filter)"),
        );
    }
    Logging {
        format,
        level,
        access_log: raw.access_log.unwrap_or(true),
    }
}

fn is_reserved_prefix(p: &str) -> bool {
    p.len() >= 3
        && p.starts_with('/')
        && p.ends_with('/')
        && p[1..p.len() - 1]
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'.' | b'_' | b'-'))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A config with `limits` (a whole `limits:` section, or nothing) from line 3: its first key
    /// is on line 4.
    fn load_limits(limits: &str) -> Result<Config, Vec<String>> {
        let text = format!(
            "listeners:\n  - address: \"127.0.0.1:8080\"\n{limits}apps:\n  - name: a\n    hosts: [\"*\"]\n    upstream:\n      url: \"http://127.0.0.1:8000\"\n"
        );
        super::super::load_str(&text, Path::new("gateway.yaml"), |_| None)
            .map_err(|e| e.0.iter().map(ToString::to_string).collect::<Vec<_>>())
    }

    #[test]
    fn body_limits_have_defaults_and_named_mistakes() {
        let load = load_limits;
        let defaults = load("").unwrap().limits;
        assert_eq!(defaults.body_read_timeout, Duration::from_secs(30));
        assert_eq!(defaults.body_min_rate, 1024);
        let set = load("limits:\n  body_read_timeout: 2s\n  body_min_rate: 0\n")
            .unwrap()
            .limits;
        assert_eq!(set.body_read_timeout, Duration::from_secs(2));
        assert_eq!(set.body_min_rate, 0);
        let errors = load("limits:\n  body_read_timeout: 30\n").unwrap_err();
        assert_eq!(errors.len(), 1, "{errors:?}");
        assert!(
            errors[0].starts_with("gateway.yaml:4:")
                && errors[0].contains("limits.body_read_timeout: \"30\" is not a duration"),
            "{errors:?}"
        );
        let errors = load("limits:\n  body_read_timeout: 0s\n").unwrap_err();
        assert!(
            errors[0].contains("limits.body_read_timeout: must be greater than zero"),
            "{errors:?}"
        );
        let errors = load("limits:\n  body_min_rate: -1\n").unwrap_err();
        assert!(
            errors[0].starts_with("gateway.yaml:4:") && errors[0].contains("limits.body_min_rate"),
            "{errors:?}"
        );
    }

    #[test]
    fn send_timeout_defaults_to_a_minute_and_names_its_mistakes() {
        let defaults = load_limits("").unwrap().limits;
        assert_eq!(defaults.send_timeout, Duration::from_secs(60));
        let set = load_limits("limits:\n  send_timeout: 1500ms\n")
            .unwrap()
            .limits;
        assert_eq!(set.send_timeout, Duration::from_millis(1500));
        for (text, says) in [
            ("60", "limits.send_timeout: \"60\" is not a duration"),
            ("0s", "limits.send_timeout: must be greater than zero"),
        ] {
            let errors = load_limits(&format!("limits:\n  send_timeout: {text}\n")).unwrap_err();
            assert_eq!(errors.len(), 1, "{errors:?}");
            assert!(
                errors[0].starts_with("gateway.yaml:4:") && errors[0].contains(says),
                "{errors:?}"
            );
        }
    }

    #[test]
    fn tunnels_idle_for_five_minutes_by_default() {
        let defaults = load_limits("").unwrap().limits;
        assert_eq!(defaults.tunnel_idle_timeout, Duration::from_secs(300));
        let set = load_limits("limits:\n  tunnel_idle_timeout: 1h\n")
            .unwrap()
            .limits;
        assert_eq!(set.tunnel_idle_timeout, Duration::from_secs(3600));
        let errors = load_limits("limits:\n  tunnel_idle_timeout: 0s\n").unwrap_err();
        assert!(
            errors[0].contains("limits.tunnel_idle_timeout: must be greater than zero"),
            "{errors:?}"
        );
    }

    #[test]
    fn reserved_prefix_shape() {
        assert!(is_reserved_prefix("/.mfa/"));
        assert!(is_reserved_prefix("/_gw/"));
        assert!(!is_reserved_prefix("/"));
        assert!(!is_reserved_prefix("/.mfa"));
        assert!(!is_reserved_prefix("/a/b/"));
        assert!(!is_reserved_prefix("/%2e/"));
    }
}
