//! `RawConfig` → `Config`: one check per rule, each failure telling the operator what to change.

use super::error::ConfigError;
use super::model::*;
use super::positions::Positions;
use super::raw::*;
use super::tls_files;
use ipnet::IpNet;
use std::collections::HashSet;
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

    fn socket_addr(&mut self, key: &str, text: &str) -> Option<SocketAddr> {
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

pub fn validate(
    raw: RawConfig,
    file: &Path,
    positions: &Positions,
) -> Result<Config, Vec<ConfigError>> {
    let mut c = Checker::new(file, positions);

    if raw.listeners.is_empty() {
        c.fail("listeners", "at least one listener is needed");
    }
    let mut listeners = Vec::new();
    let mut seen_addresses = HashSet::new();
    for (i, l) in raw.listeners.iter().enumerate() {
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
            .and_then(|t| listener_tls(&mut c, &format!("{key}.tls"), t));
        listeners.push(Listener { address, tls });
    }

    let admin = match &raw.admin {
        Some(RawAdmin {
            enabled: Some(false),
            ..
        }) => None,
        other => {
            let text = other
                .as_ref()
                .and_then(|a| a.address.as_deref())
                .unwrap_or("127.0.0.1:9090");
            let addr = c.socket_addr("admin.address", text);
            if let Some(addr) = addr {
                if seen_addresses.contains(&addr) {
                    c.fail(
                        "admin.address",
                        format!("{addr} is already a listener's address"),
                    );
                }
            }
            addr
        }
    };

    let reserved_prefix = raw
        .gateway
        .reserved_prefix
        .clone()
        .unwrap_or_else(|| "/.mfa/".into());
    if !is_reserved_prefix(&reserved_prefix) {
        c.fail(
            "gateway.reserved_prefix",
            format!("{reserved_prefix:?} must start and end with `/`, have at least one character between, and use only letters, digits, `.`, `_` and `-`"),
        );
    }

    let workers = match raw.gateway.workers {
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
    for (i, text) in raw.gateway.trusted_proxies.iter().enumerate() {
        match parse_cidr(text) {
            Some(net) => trusted_proxies.push(net),
            None => c.fail(
                &format!("gateway.trusted_proxies[{i}]"),
                format!("{text:?} is not an IP address or CIDR range (e.g. 10.0.0.0/8)"),
            ),
        }
    }

    let via_name = raw
        .gateway
        .via
        .clone()
        .unwrap_or_else(|| "mfa-gateway".into());
    if via_name.is_empty() || !via_name.bytes().all(|b| b.is_ascii_graphic()) {
        c.fail(
            "gateway.via",
            "must be a single word of visible ASCII characters",
        );
    }

    let limits = limits(&mut c, &raw.limits);
    let logging = logging(&mut c, &raw.logging);

    if raw.apps.is_empty() {
        c.fail("apps", "at least one app is needed");
    }
    let mut apps = Vec::new();
    let mut names = HashSet::new();
    let mut routes = HashSet::new();
    for (i, a) in raw.apps.iter().enumerate() {
        let key = format!("apps[{i}]");
        let Some(app) = app(&mut c, &key, a) else {
            continue;
        };
        if !names.insert(app.name.clone()) {
            c.fail(
                &format!("{key}.name"),
                format!("another app is already named {:?}", app.name),
            );
        }
        // Prefixes route in canonical spelling: `/api` and `/API/` are one route.
        let prefix = crate::intercept::spelling::canonical_path(&app.path_prefix)
            .trim_end_matches('/')
            .to_string();
        for (h, (host, written)) in app.hosts.iter().zip(&a.hosts).enumerate() {
            if !routes.insert((host.clone(), prefix.clone())) {
                c.fail(
                    &format!("{key}.hosts[{h}]"),
                    format!(
                        "{written} with path prefix {:?} is already routed to another app",
                        app.path_prefix
                    ),
                );
            }
        }
        // One realm, one idea of who a user is: otherwise `Alice` enrolled through one app is
        // another person to the next.
        if let Some(mfa) = &app.mfa {
            let other = apps
                .iter()
                .filter_map(|o: &App| o.mfa.as_ref().map(|m| (&o.name, m)))
                .find(|(_, m)| m.realm == mfa.realm && m.normalize != mfa.normalize);
            if let Some((other, _)) = other {
                c.fail(
                    &format!("{key}.mfa.identity.normalize"),
                    format!("app {other:?} shares the realm {:?} but normalises user names differently: give both the same identity.normalize (and case_fold_users)", mfa.realm),
                );
            }
            // A factor set up through one app counts in all of them: a looser rule in one
            // would enroll users whom a stricter one sends to an administrator.
            let other = apps
                .iter()
                .filter_map(|o: &App| o.mfa.as_ref().map(|m| (&o.name, m)))
                .find(|(_, m)| {
                    m.realm == mfa.realm
                        && format!("{:?}", m.enrollment) != format!("{:?}", mfa.enrollment)
                });
            if let Some((other, _)) = other {
                c.fail(
                    &format!("{key}.mfa.enrollment"),
                    format!("app {other:?} shares the realm {:?} but enrolls users differently: a factor set up through either counts in both, so give both the same enrollment", mfa.realm),
                );
            }
        }
        apps.push(app);
    }

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

fn app(c: &mut Checker, key: &str, raw: &RawApp) -> Option<App> {
    let errors_before = c.errors.len();
    if raw.name.is_empty()
        || !raw
            .name
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
    {
        c.fail(
            &format!("{key}.name"),
            format!(
                "{:?} is not a valid app name: use letters, digits, `-` and `_`",
                raw.name
            ),
        );
    }
    if raw.hosts.is_empty() {
        c.fail(
            &format!("{key}.hosts"),
            "an app needs at least one host (`*` for any)",
        );
    }
    let mut hosts = Vec::new();
    for (i, h) in raw.hosts.iter().enumerate() {
        match parse_host_pattern(h) {
            Some(p) => hosts.push(p),
            None => c.fail(
                &format!("{key}.hosts[{i}]"),
                format!("{h:?} is not a host name, `*.domain` or `*` (no scheme, port or path)"),
            ),
        }
    }
    let path_prefix = raw.path_prefix.clone().unwrap_or_else(|| "/".into());
    if !path_prefix.starts_with('/')
        || path_prefix.contains(['?', '#', '%', '\\'])
        || path_prefix.split('/').any(|s| s == "." || s == "..")
    {
        c.fail(
            &format!("{key}.path_prefix"),
            format!(
                "{path_prefix:?} must be a plain path starting with `/` (no `..`, `%`, `?` or `#`)"
            ),
        );
    }
    let upstream = upstream(c, &format!("{key}.upstream"), &raw.upstream);
    let display_name = raw.display_name.clone().unwrap_or_else(|| raw.name.clone());
    let logo = raw
        .logo_file
        .as_deref()
        .and_then(|path| logo(c, &format!("{key}.logo_file"), path));
    let mfa = raw
        .mfa
        .as_ref()
        .map(|m| super::mfa::app_mfa(c, &format!("{key}.mfa"), m, &raw.name, &display_name));
    if c.errors.len() != errors_before {
        return None;
    }
    Some(App {
        name: raw.name.clone(),
        display_name,
        logo,
        hosts,
        path_prefix: normalise_prefix(&path_prefix),
        upstream: upstream?,
        mfa,
    })
}

fn upstream(c: &mut Checker, key: &str, raw: &RawUpstream) -> Option<Upstream> {
    let url_key = format!("{key}.url");
    let url: Option<http::Uri> = raw.url.parse::<http::Uri>().ok();
    let scheme = url
        .as_ref()
        .and_then(|u| u.scheme_str())
        .map(str::to_ascii_lowercase);
    let (url, https) = match (url, scheme.as_deref()) {
        (Some(u), Some(s @ ("http" | "https"))) if u.authority().is_some() => (u, s == "https"),
        _ => {
            c.fail(&url_key, format!("{:?} is not an http(s) URL", raw.url));
            return None;
        }
    };
    if url.path_and_query().is_some_and(|pq| pq.as_str() != "/") {
        c.fail(
            &url_key,
            format!("{:?} has a path or query; the upstream URL is scheme://host:port only (requests keep their own path)", raw.url),
        );
    }
    let authority = url.authority()?.clone();
    if authority.as_str().contains('@') {
        c.fail(
            &url_key,
            "credentials in the URL are not supported; use add_headers with value_file",
        );
    }

    let insecure = raw.insecure_skip_verify.unwrap_or(false);
    let tls = match (&raw.ca_file, insecure) {
        (Some(_), true) => {
            c.fail(
                &format!("{key}.insecure_skip_verify"),
                "choose either ca_file or insecure_skip_verify, not both",
            );
            UpstreamTls::Insecure
        }
        (_, true) => UpstreamTls::Insecure,
        (Some(path), false) => match tls_files::load_roots(&c.resolve(path)) {
            Ok(roots) => UpstreamTls::CaFile(roots),
            Err(e) => {
                c.fail(&format!("{key}.ca_file"), e.to_string());
                UpstreamTls::SystemRoots
            }
        },
        (None, false) => UpstreamTls::SystemRoots,
    };
    if !https && (raw.ca_file.is_some() || insecure) {
        c.fail(
            &url_key,
            "ca_file and insecure_skip_verify only apply to https upstreams",
        );
    }

    let host_header = match raw.host_header.as_deref() {
        None | Some("pass") => HostHeader::Pass,
        Some("upstream") => HostHeader::Upstream,
        Some(fixed) => match (
            parse_host_pattern(fixed),
            http::HeaderValue::from_str(fixed),
        ) {
            (Some(HostPattern::Exact(_)), Ok(v)) => HostHeader::Fixed(v),
            _ => {
                c.fail(
                    &format!("{key}.host_header"),
                    format!("{fixed:?} is not `pass`, `upstream` or a host name"),
                );
                HostHeader::Pass
            }
        },
    };

    let mut add_headers = Vec::new();
    for (i, h) in raw.add_headers.iter().enumerate() {
        let hkey = format!("{key}.add_headers[{i}]");
        let name = match http::HeaderName::from_bytes(h.name.as_bytes()) {
            Ok(n) => n,
            Err(_) => {
                c.fail(
                    &format!("{hkey}.name"),
                    format!("{:?} is not a header name", h.name),
                );
                continue;
            }
        };
        let Some(value) = secret_value(
            c,
            &hkey,
            "value",
            h.value.as_deref(),
            h.value_file.as_deref(),
        ) else {
            continue;
        };
        match http::HeaderValue::from_str(&value) {
            Ok(v) => add_headers.push((name, SecretHeaderValue(v))),
            Err(_) => c.fail(
                &format!("{hkey}.value"),
                "the value has characters a header cannot carry",
            ),
        }
    }

    let max_idle_connections = raw.max_idle_connections.unwrap_or(64);
    if max_idle_connections > 10_000 {
        c.fail(
            &format!("{key}.max_idle_connections"),
            "at most 10000 idle connections per worker",
        );
    }
    let t = &raw.timeouts;
    Some(Upstream {
        url,
        scheme_is_https: https,
        authority,
        tls,
        host_header,
        connect_timeout: c.duration(
            &format!("{key}.timeouts.connect"),
            t.connect.as_deref(),
            Duration::from_secs(5),
        ),
        response_header_timeout: c.duration(
            &format!("{key}.timeouts.response_header"),
            t.response_header.as_deref(),
            Duration::from_secs(60),
        ),
        idle_timeout: c.duration(
            &format!("{key}.timeouts.idle"),
            t.idle.as_deref(),
            Duration::from_secs(90),
        ),
        max_idle_connections,
        add_headers,
    })
}

/// An app's logo: SVG, PNG, JPEG or WebP, at most 256 KiB, read once when the config loads.
fn logo(c: &mut Checker, key: &str, path: &Path) -> Option<Logo> {
    let path = c.resolve(path);
    let extension = path
        .extension()
        .and_then(|e| e.to_str())
        .map(str::to_ascii_lowercase);
    let content_type = match extension.as_deref() {
        Some("svg") => "image/svg+xml",
        Some("png") => "image/png",
        Some("jpg" | "jpeg") => "image/jpeg",
        Some("webp") => "image/webp",
        _ => {
            c.fail(
                key,
                format!(
                    "{} is not an .svg, .png, .jpg or .webp file",
                    path.display()
                ),
            );
            return None;
        }
    };
    match std::fs::read(&path) {
        Ok(bytes) if bytes.len() <= 256 * 1024 => Some(Logo {
            bytes: bytes.into(),
            content_type,
        }),
        Ok(_) => {
            c.fail(key, format!("{} is larger than 256 KiB", path.display()));
            None
        }
        Err(e) => {
            c.fail(key, format!("cannot read {}: {e}", path.display()));
            None
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

fn is_reserved_prefix(p: &str) -> bool {
    p.len() >= 3
        && p.starts_with('/')
        && p.ends_with('/')
        && p[1..p.len() - 1]
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'.' | b'_' | b'-'))
}

/// `/app/` and `/app` route the same: the prefix matches whole path segments.
fn normalise_prefix(p: &str) -> String {
    let trimmed = p.trim_end_matches('/');
    if trimmed.is_empty() {
        "/".into()
    } else {
        trimmed.into()
    }
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

    #[test]
    fn reserved_prefix_shape() {
        assert!(is_reserved_prefix("/.mfa/"));
        assert!(is_reserved_prefix("/_gw/"));
        assert!(!is_reserved_prefix("/"));
        assert!(!is_reserved_prefix("/.mfa"));
        assert!(!is_reserved_prefix("/a/b/"));
        assert!(!is_reserved_prefix("/%2e/"));
    }

    #[test]
    fn prefixes_lose_their_trailing_slash() {
        assert_eq!(normalise_prefix("/"), "/");
        assert_eq!(normalise_prefix("/app/"), "/app");
        assert_eq!(normalise_prefix("/app"), "/app");
    }
}
