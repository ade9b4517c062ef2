//! Routing: Host (case-insensitive, port ignored) first, then the longest path prefix.
//! Prefixes are compared in the canonical spelling of the path (`wire::spelling`): an app
//! behind us may route `/API;x/token` to its `/api/token`, and so must we — or the rules of
//! another app (one without that login) would judge the request.

use crate::config::{App, HostPattern};
use std::collections::HashMap;

/// Apps in config order; routes refer to them by index so per-worker tables (upstream clients,
/// metrics handles) can be plain vectors.
#[derive(Debug, Default)]
pub struct RouteTable {
    exact: HashMap<String, Prefixes>,
    /// `.example.com` suffixes, longest first, so `*.a.example.com` beats `*.example.com`.
    suffixes: Vec<(String, Prefixes)>,
    any: Prefixes,
}

/// Path prefixes of one host, longest first.
#[derive(Debug, Default)]
struct Prefixes(Vec<(String, usize)>);

impl Prefixes {
    fn add(&mut self, prefix: &str, app: usize) {
        let prefix = crate::wire::spelling::canonical_path(prefix);
        let trimmed = prefix.trim_end_matches('/');
        let prefix = if trimmed.is_empty() { "/" } else { trimmed };
        self.0.push((prefix.to_string(), app));
        self.0
            .sort_by_key(|(prefix, _)| std::cmp::Reverse(prefix.len()));
    }

    fn find(&self, path: &str) -> Option<usize> {
        self.0
            .iter()
            .find(|(prefix, _)| prefix_matches(prefix, path))
            .map(|(_, app)| *app)
    }
}

/// `/app` matches `/app`, `/app/` and `/app/x`, never `/application`.
fn prefix_matches(prefix: &str, path: &str) -> bool {
    if prefix == "/" {
        return true;
    }
    match path.strip_prefix(prefix) {
        Some(rest) => rest.is_empty() || rest.starts_with('/'),
        None => false,
    }
}

impl RouteTable {
    pub fn new(apps: &[App]) -> Self {
        let mut table = RouteTable::default();
        for (index, app) in apps.iter().enumerate() {
            for host in &app.hosts {
                let prefixes = match host {
                    HostPattern::Exact(name) => table.exact.entry(name.clone()).or_default(),
                    HostPattern::Suffix(suffix) => {
                        if !table.suffixes.iter().any(|(s, _)| s == suffix) {
                            table.suffixes.push((suffix.clone(), Prefixes::default()));
                        }
                        match table.suffixes.iter_mut().find(|(s, _)| s == suffix) {
                            Some((_, prefixes)) => prefixes,
                            None => continue,
                        }
                    }
                    HostPattern::Any => &mut table.any,
                };
                prefixes.add(&app.path_prefix, index);
            }
        }
        table
            .suffixes
            .sort_by_key(|(suffix, _)| std::cmp::Reverse(suffix.len()));
        table
    }

    /// The app for `host` (already lower-case, port removed) and `path` (in canonical spelling).
    /// A more specific host always wins over a less specific one, even if only the latter has
    /// a matching prefix.
    pub fn find(&self, host: &str, path: &str) -> Option<usize> {
        if let Some(prefixes) = self.exact.get(host) {
            return prefixes.find(path);
        }
        for (suffix, prefixes) in &self.suffixes {
            if host.len() > suffix.len() && host.ends_with(suffix.as_str()) {
                return prefixes.find(path);
            }
        }
        self.any.find(path)
    }
}

/// The host name of a `Host` header or `:authority`: port removed, lower-cased. `None` for
/// anything that is not a plain host name or IP literal.
pub fn normalise_host(raw: &str) -> Option<std::borrow::Cow<'_, str>> {
    let name = if let Some(rest) = raw.strip_prefix('[') {
        // IPv6 literal: keep the brackets off, drop the port.
        rest.split_once(']')?.0
    } else {
        match raw.rsplit_once(':') {
            Some((name, port)) if port.bytes().all(|b| b.is_ascii_digit()) => name,
            Some(_) => return None,
            None => raw,
        }
    };
    let name = name.strip_suffix('.').unwrap_or(name);
    if name.is_empty()
        || !name
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'.' | b'-' | b'_' | b':'))
    {
        return None;
    }
    if name.bytes().any(|b| b.is_ascii_uppercase()) {
        Some(std::borrow::Cow::Owned(name.to_ascii_lowercase()))
    } else {
        Some(std::borrow::Cow::Borrowed(name))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::parse_host_pattern;

    fn app(name: &str, hosts: &[&str], prefix: &str) -> App {
        let text = format!(
            "listeners: [{{address: \"127.0.0.1:1\"}}]\napps:\n  - name: {name}\n    hosts: [{}]\n    path_prefix: \"{prefix}\"\n    upstream: {{url: \"http://127.0.0.1:2\"}}\n",
            hosts.iter().map(|h| format!("\"{h}\"")).collect::<Vec<_>>().join(", ")
        );
        let mut c =
            crate::config::load_str(&text, std::path::Path::new("t.yaml"), |_| None).unwrap();
        assert!(hosts.iter().all(|h| parse_host_pattern(h).is_some()));
        c.apps.remove(0)
    }

    #[test]
    fn longest_prefix_wins() {
        let t = RouteTable::new(&[app("root", &["a.com"], "/"), app("api", &["a.com"], "/api")]);
        assert_eq!(t.find("a.com", "/"), Some(0));
        assert_eq!(t.find("a.com", "/api"), Some(1));
        assert_eq!(t.find("a.com", "/api/x"), Some(1));
        assert_eq!(t.find("a.com", "/apiary"), Some(0));
    }

    #[test]
    fn prefixes_are_compared_in_canonical_spelling() {
        use crate::wire::spelling::canonical_path;
        let t = RouteTable::new(&[
            app("root", &["a.com"], "/"),
            app("api", &["a.com"], "/API/"),
        ]);
        for path in ["/api/token/", "/API/token/", "/api;x=1/token/", "/Api"] {
            assert_eq!(t.find("a.com", &canonical_path(path)), Some(1), "{path}");
        }
        assert_eq!(t.find("a.com", &canonical_path("/apix/")), Some(0));
    }

    #[test]
    fn exact_beats_wildcard_beats_any() {
        let t = RouteTable::new(&[
            app("any", &["*"], "/"),
            app("wild", &["*.example.com"], "/"),
            app("deep", &["*.a.example.com"], "/"),
            app("exact", &["x.example.com"], "/"),
        ]);
        assert_eq!(t.find("x.example.com", "/"), Some(3));
        assert_eq!(t.find("y.example.com", "/"), Some(1));
        assert_eq!(t.find("z.a.example.com", "/"), Some(2));
        assert_eq!(t.find("example.com", "/"), Some(0));
        assert_eq!(t.find("other.org", "/"), Some(0));
    }

    #[test]
    fn unknown_host_has_no_route() {
        let t = RouteTable::new(&[app("a", &["a.com"], "/")]);
        assert_eq!(t.find("b.com", "/"), None);
        assert_eq!(t.find("a.com.evil", "/"), None);
    }

    #[test]
    fn host_is_lower_cased_and_loses_its_port() {
        assert_eq!(normalise_host("A.Com:8080").as_deref(), Some("a.com"));
        assert_eq!(normalise_host("a.com.").as_deref(), Some("a.com"));
        assert_eq!(normalise_host("[::1]:80").as_deref(), Some("::1"));
        assert_eq!(normalise_host("127.0.0.1").as_deref(), Some("127.0.0.1"));
        assert_eq!(normalise_host("a.com:x").as_deref(), None);
        assert_eq!(normalise_host("a/b").as_deref(), None);
        assert_eq!(normalise_host("").as_deref(), None);
    }
}
