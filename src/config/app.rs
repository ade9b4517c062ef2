//! One app of `apps:`: its name, hosts and path, its upstream, its logo and its `mfa:` block;
//! and the rules that hold between apps (names, routes and realms they share).

use super::checker::{parse_host_pattern, secret_value, Checker};
use super::model::*;
use super::raw::*;
use super::tls_files;
use std::collections::HashSet;
use std::path::Path;
use std::time::Duration;

/// Every app, each checked on its own and then against the ones before it.
pub(super) fn apps(c: &mut Checker, raw: &[RawApp]) -> Vec<App> {
    if raw.is_empty() {
        c.fail("apps", "at least one app is needed");
    }
    let mut apps = Vec::new();
    let mut names = HashSet::new();
    let mut routes = HashSet::new();
    for (i, a) in raw.iter().enumerate() {
        let key = format!("apps[{i}]");
        let Some(app) = app(c, &key, a) else {
            continue;
        };
        if !names.insert(app.name.clone()) {
            c.fail(
                &format!("{key}.name"),
                format!("another app is already named {:?}", app.name),
            );
        }
        // Prefixes route in canonical spelling: `/api` and `/API/` are one route.
        let prefix = crate::wire::spelling::canonical_path(&app.path_prefix)
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
        if let Some(mfa) = &app.mfa {
            realm_agrees(c, &key, mfa, &apps);
        }
        apps.push(app);
    }
    apps
}

/// Apps of one realm share their users, so they must agree on who a user is and how one enrolls.
fn realm_agrees(c: &mut Checker, key: &str, mfa: &AppMfa, earlier: &[App]) {
    // One realm, one idea of who a user is: otherwise `Alice` enrolled through one app is
    // another person to the next.
    let other = earlier
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
    let other = earlier
        .iter()
        .filter_map(|o: &App| o.mfa.as_ref().map(|m| (&o.name, m)))
        .find(|(_, m)| {
            m.realm == mfa.realm && format!("{:?}", m.enrollment) != format!("{:?}", mfa.enrollment)
        });
    if let Some((other, _)) = other {
        c.fail(
            &format!("{key}.mfa.enrollment"),
            format!("app {other:?} shares the realm {:?} but enrolls users differently: a factor set up through either counts in both, so give both the same enrollment", mfa.realm),
        );
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
    let (url, https, authority) = upstream_url(c, key, raw)?;
    let tls = upstream_tls(c, key, raw, https);
    let host_header = host_header(c, key, raw);
    let add_headers = add_headers(c, key, raw);
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

/// `scheme://host:port` and nothing more: the URL, whether it is https, and its authority.
fn upstream_url(
    c: &mut Checker,
    key: &str,
    raw: &RawUpstream,
) -> Option<(http::Uri, bool, http::uri::Authority)> {
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
    Some((url, https, authority))
}

fn upstream_tls(c: &mut Checker, key: &str, raw: &RawUpstream, https: bool) -> UpstreamTls {
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
            &format!("{key}.url"),
            "ca_file and insecure_skip_verify only apply to https upstreams",
        );
    }
    tls
}

fn host_header(c: &mut Checker, key: &str, raw: &RawUpstream) -> HostHeader {
    match raw.host_header.as_deref() {
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
    }
}

fn add_headers(
    c: &mut Checker,
    key: &str,
    raw: &RawUpstream,
) -> Vec<(http::HeaderName, SecretHeaderValue)> {
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
    add_headers
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

    #[test]
    fn prefixes_lose_their_trailing_slash() {
        assert_eq!(normalise_prefix("/"), "/");
        assert_eq!(normalise_prefix("/app/"), "/app");
        assert_eq!(normalise_prefix("/app"), "/app");
    }
}
