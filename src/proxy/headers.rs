//! Header rules applied when a request or response crosses the gateway.

use http::header::{self, HeaderMap, HeaderName, HeaderValue};
use ipnet::IpNet;
use std::net::IpAddr;

pub static X_FORWARDED_FOR: HeaderName = HeaderName::from_static("x-forwarded-for");
pub static X_FORWARDED_PROTO: HeaderName = HeaderName::from_static("x-forwarded-proto");
pub static X_FORWARDED_HOST: HeaderName = HeaderName::from_static("x-forwarded-host");
pub static X_REQUEST_ID: HeaderName = HeaderName::from_static("x-request-id");
static KEEP_ALIVE: HeaderName = HeaderName::from_static("keep-alive");
static PROXY_CONNECTION: HeaderName = HeaderName::from_static("proxy-connection");

/// RFC 9110 §7.6.1: headers that describe one connection and must not be forwarded, plus
/// `Proxy-Connection` (never standard, still sent) and the proxy authentication pair that is
/// meant for the proxy itself (RFC 9110 §11.7).
static FIXED_HOP_BY_HOP: [&HeaderName; 8] = [
    &header::CONNECTION,
    &header::TRANSFER_ENCODING,
    &header::TE,
    &header::UPGRADE,
    &header::PROXY_AUTHORIZATION,
    &header::PROXY_AUTHENTICATE,
    &KEEP_ALIVE,
    &PROXY_CONNECTION,
];

/// Which of the fixed hop-by-hop headers are present, one bit each. HeaderName equality is an
/// enum compare for standard names: far cheaper than matching on the string form, and this
/// runs for every header of every message.
fn fixed_hop_by_hop_present(headers: &HeaderMap) -> u8 {
    headers.keys().fold(0, |present, name| {
        FIXED_HOP_BY_HOP
            .iter()
            .position(|fixed| name == *fixed)
            .map_or(present, |bit| present | (1 << bit))
    })
}

/// The tokens of every `Connection` header.
fn connection_tokens(headers: &HeaderMap) -> impl Iterator<Item = &str> {
    headers
        .get_all(header::CONNECTION)
        .into_iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(','))
        .map(str::trim)
        .filter(|t| !t.is_empty())
}

/// Removes the hop-by-hop headers, including every header the `Connection` header names
/// (RFC 9110 §7.6.1). Returns the `Upgrade` value when the message asks to switch protocols
/// (`Connection: upgrade` and an `Upgrade` header), so the caller can forward just that.
///
/// Allocates nothing unless `Connection` names a further header that is present (rare: the
/// usual tokens are `keep-alive`, `close` and `upgrade`).
pub fn remove_hop_by_hop(headers: &mut HeaderMap) -> Option<HeaderValue> {
    let present = fixed_hop_by_hop_present(headers);
    if present == 0 {
        return None;
    }
    let upgrade = connection_tokens(headers)
        .any(|t| t.eq_ignore_ascii_case("upgrade"))
        .then(|| headers.get(header::UPGRADE).cloned())
        .flatten();
    // Looked up by the token itself (no allocation); a name is made only for one present.
    let named = connection_tokens(headers)
        .filter(|t| headers.contains_key(*t))
        .filter_map(|t| HeaderName::from_bytes(t.as_bytes()).ok())
        .collect::<Vec<_>>();
    for name in named {
        headers.remove(name);
    }
    for (bit, name) in FIXED_HOP_BY_HOP.iter().enumerate() {
        if present & (1 << bit) != 0 {
            headers.remove(*name);
        }
    }
    upgrade
}

/// An `Upgrade` naming WebSocket alone (any version suffix is not WebSocket as RFC 6455
/// spells it).
pub fn is_websocket(protocol: &HeaderValue) -> bool {
    protocol.as_bytes().eq_ignore_ascii_case(b"websocket")
}

/// Puts back exactly the headers a protocol switch needs on the next hop.
pub fn set_upgrade(headers: &mut HeaderMap, protocol: HeaderValue) {
    headers.insert(header::CONNECTION, HeaderValue::from_static("upgrade"));
    headers.insert(header::UPGRADE, protocol);
}

/// Headers a client could use to pose as a proxy in front of us, or (through WSGI/CGI, where
/// `-` and `_` both become `_`) as one of the headers we set. From an untrusted peer all of them
/// go; underscore spellings go whoever sent them.
/// Besides the forwarding headers, the ones by which a proxy tells the app the client used
/// https: apps change what they do on them (phpMyAdmin renames every cookie, `pmaAuth-1_https`,
/// past the names the config gives the gateway).
const PROXY_HEADERS: [&str; 19] = [
    "x-forwarded-for",
    "x-forwarded-proto",
    "x-forwarded-host",
    "x-forwarded-port",
    "x-forwarded-prefix",
    "x-forwarded-uri",
    "x-forwarded-server",
    "x-real-ip",
    "forwarded",
    "x-original-url",
    "x-rewrite-url",
    "x-forwarded-ssl",
    "x-forwarded-scheme",
    "x-forwarded-protocol",
    "x-url-scheme",
    "front-end-https",
    "https-from-lb",
    "cloudfront-forwarded-proto",
    "scheme",
];

fn is_proxy_header(name: &str, our_own: &[&str]) -> bool {
    PROXY_HEADERS.contains(&name) || our_own.contains(&name)
}

/// What the gateway knows about the connection a request came in on.
pub struct Peer<'a> {
    pub ip: IpAddr,
    /// `ip` as a header value, made once per connection.
    pub ip_value: &'a HeaderValue,
    pub tls: bool,
    pub trusted_proxies: &'a [IpNet],
}

/// The peer address as it goes into `X-Forwarded-For`.
pub fn ip_header_value(ip: IpAddr) -> HeaderValue {
    let ip = match ip {
        IpAddr::V6(v6) => v6.to_ipv4_mapped().map_or(ip, IpAddr::V4),
        v4 => v4,
    };
    HeaderValue::from_str(&ip.to_string()).unwrap_or_else(|_| HeaderValue::from_static("unknown"))
}

impl Peer<'_> {
    pub fn is_trusted(&self) -> bool {
        let ip = match self.ip {
            IpAddr::V6(v6) => v6.to_ipv4_mapped().map_or(self.ip, IpAddr::V4),
            v4 => v4,
        };
        self.trusted_proxies.iter().any(|net| net.contains(&ip))
    }

    /// The client's address: the peer itself, or behind trusted proxies the nearest address
    /// in `X-Forwarded-For` (read from the right) that is not one of them. Addresses left of
    /// that one were written by the client and are never believed; an entry that is not an
    /// address stops the walk at the last trusted hop.
    pub fn client_ip(&self, headers: &HeaderMap) -> IpAddr {
        let canonical = |ip: IpAddr| match ip {
            IpAddr::V6(v6) => v6.to_ipv4_mapped().map_or(ip, IpAddr::V4),
            v4 => v4,
        };
        let mut client = canonical(self.ip);
        if !self.is_trusted() {
            return client;
        }
        let hops = headers
            .get_all(&X_FORWARDED_FOR)
            .iter()
            .filter_map(|v| v.to_str().ok())
            .flat_map(|v| v.split(','))
            .map(str::trim)
            .filter(|v| !v.is_empty())
            .collect::<Vec<_>>();
        for hop in hops.iter().rev() {
            let Ok(ip) = hop.parse::<IpAddr>().map(canonical) else {
                break;
            };
            client = ip;
            if !self.trusted_proxies.iter().any(|net| net.contains(&ip)) {
                break;
            }
        }
        client
    }
}

/// Sets `X-Forwarded-For`, `-Proto` and `-Host`: a trusted proxy's values are extended (For) or
/// kept (Proto, Host); anyone else's are replaced, and the other forwarding headers dropped, so a
/// client can never hand the app a forged address. `our_own` names the further headers the
/// gateway itself sets (e.g. `x-request-id`), whose underscore spellings are always dropped.
pub fn set_forwarded(
    headers: &mut HeaderMap,
    peer: &Peer<'_>,
    original_host: Option<&HeaderValue>,
    our_own: &[&str],
) {
    let trusted = peer.is_trusted();
    let is_spoofable = |name: &HeaderName| {
        let name = name.as_str();
        if name.contains('_') {
            is_proxy_header(&name.replace('_', "-"), our_own)
        } else {
            // Every proxy header starts with `x-`, `f`, `h`, `c` or `s`: skip the rest cheaply.
            !trusted
                && (name.starts_with("x-")
                    || matches!(name.as_bytes().first(), Some(b'f' | b'h' | b'c' | b's')))
                && PROXY_HEADERS.contains(&name)
                && !is_forwarded_trio(name)
        }
    };
    if headers.keys().any(is_spoofable) {
        let spoofable: Vec<HeaderName> = headers
            .keys()
            .filter(|n| is_spoofable(n))
            .cloned()
            .collect();
        for name in spoofable {
            headers.remove(name);
        }
    }

    let previous: Vec<&str> = if trusted {
        headers
            .get_all(&X_FORWARDED_FOR)
            .iter()
            .filter_map(|v| v.to_str().ok())
            .map(str::trim)
            .filter(|v| !v.is_empty())
            .collect()
    } else {
        Vec::new()
    };
    let chain = if previous.is_empty() {
        Some(peer.ip_value.clone())
    } else {
        let peer_ip = peer.ip_value.to_str().unwrap_or("unknown");
        HeaderValue::from_str(&format!("{}, {peer_ip}", previous.join(", "))).ok()
    };
    if let Some(value) = chain {
        headers.insert(&X_FORWARDED_FOR, value);
    }

    if !(trusted && headers.contains_key(&X_FORWARDED_PROTO)) {
        let proto = if peer.tls { "https" } else { "http" };
        headers.insert(&X_FORWARDED_PROTO, HeaderValue::from_static(proto));
    }
    if !(trusted && headers.contains_key(&X_FORWARDED_HOST)) {
        match original_host {
            Some(host) => {
                headers.insert(&X_FORWARDED_HOST, host.clone());
            }
            None => {
                headers.remove(&X_FORWARDED_HOST);
            }
        }
    }
}

fn is_forwarded_trio(name: &str) -> bool {
    matches!(
        name,
        "x-forwarded-for" | "x-forwarded-proto" | "x-forwarded-host"
    )
}

/// This gateway's `Via` entries (RFC 9110 §7.6.3), made once per configuration.
#[derive(Clone)]
pub struct ViaHops {
    http10: HeaderValue,
    http11: HeaderValue,
    http2: HeaderValue,
}

impl ViaHops {
    pub fn new(name: &str) -> Self {
        let hop = |protocol: &str| {
            HeaderValue::from_str(&format!("{protocol} {name}"))
                .unwrap_or_else(|_| HeaderValue::from_static("1.1 mfa-gateway"))
        };
        ViaHops {
            http10: hop("1.0"),
            http11: hop("1.1"),
            http2: hop("2"),
        }
    }

    fn for_version(&self, version: http::Version) -> &HeaderValue {
        match version {
            http::Version::HTTP_10 => &self.http10,
            http::Version::HTTP_2 => &self.http2,
            _ => &self.http11,
        }
    }
}

/// Adds this hop to `Via`, after whatever earlier hops wrote.
pub fn append_via(headers: &mut HeaderMap, version: http::Version, hops: &ViaHops) {
    let hop = hops.for_version(version);
    let combined = match headers.get(header::VIA).and_then(|v| v.to_str().ok()) {
        Some(previous) if !previous.is_empty() => {
            HeaderValue::from_str(&format!("{previous}, {}", hop.to_str().unwrap_or_default())).ok()
        }
        _ => None,
    };
    headers.insert(header::VIA, combined.unwrap_or_else(|| hop.clone()));
}

/// A request id from a trusted proxy is kept if it looks like one (visible ASCII, ≤ 128 bytes);
/// otherwise a fresh random one is made.
pub fn request_id(headers: &HeaderMap, trusted: bool) -> HeaderValue {
    if trusted {
        if let Some(v) = headers.get(&X_REQUEST_ID) {
            if !v.is_empty() && v.len() <= 128 && v.as_bytes().iter().all(u8::is_ascii_graphic) {
                return v.clone();
            }
        }
    }
    fn hex_digit(nibble: u8) -> u8 {
        match nibble {
            0..=9 => b'0' + nibble,
            _ => b'a' + (nibble - 10),
        }
    }
    let random: [u8; 16] = rand::random();
    let mut text = [0u8; 32];
    for (pair, byte) in text.chunks_exact_mut(2).zip(random) {
        pair.copy_from_slice(&[hex_digit(byte >> 4), hex_digit(byte & 0x0f)]);
    }
    // Owned by a shared `Bytes` from the start: the id is cloned into the upstream request,
    // and a value made from a Vec would allocate again on that first clone.
    HeaderValue::from_maybe_shared(bytes::Bytes::from_owner(text))
        .unwrap_or_else(|_| HeaderValue::from_static("unknown"))
}

/// Bytes the request line and headers take, as a client would have sent them.
pub fn header_bytes(uri: &http::Uri, headers: &HeaderMap) -> usize {
    let line = uri.path_and_query().map_or(1, |pq| pq.as_str().len()) + 16;
    headers.iter().fold(line, |sum, (name, value)| {
        sum + name.as_str().len() + value.len() + 4
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn map(pairs: &[(&str, &str)]) -> HeaderMap {
        let mut h = HeaderMap::new();
        for (k, v) in pairs {
            h.append(
                HeaderName::from_bytes(k.as_bytes()).unwrap(),
                HeaderValue::from_str(v).unwrap(),
            );
        }
        h
    }

    #[test]
    fn rfc9110_7_6_1_fixed_hop_by_hop_headers_are_removed() {
        let mut h = map(&[
            ("connection", "keep-alive"),
            ("keep-alive", "timeout=5"),
            ("te", "trailers"),
            ("transfer-encoding", "chunked"),
            ("proxy-connection", "keep-alive"),
            ("proxy-authorization", "Basic eA=="),
            ("upgrade", "h2c"),
            ("accept", "*/*"),
        ]);
        assert_eq!(remove_hop_by_hop(&mut h), None);
        assert_eq!(h.len(), 1);
        assert!(h.contains_key("accept"));
    }

    #[test]
    fn rfc9110_7_6_1_headers_named_in_connection_are_removed() {
        let mut h = map(&[
            ("connection", "close, X-Secret-Hop"),
            ("connection", "x-other"),
            ("x-secret-hop", "1"),
            ("x-other", "2"),
            ("x-kept", "3"),
        ]);
        remove_hop_by_hop(&mut h);
        assert!(!h.contains_key("x-secret-hop"));
        assert!(!h.contains_key("x-other"));
        assert!(h.contains_key("x-kept"));
    }

    #[test]
    fn upgrade_is_reported_only_when_connection_asks_for_it() {
        let mut h = map(&[("connection", "Upgrade"), ("upgrade", "websocket")]);
        assert_eq!(remove_hop_by_hop(&mut h).unwrap(), "websocket");
        assert!(h.is_empty());
        let mut h = map(&[("upgrade", "websocket")]);
        assert_eq!(remove_hop_by_hop(&mut h), None);
    }

    fn peer(trusted: &[IpNet]) -> Peer<'_> {
        static IP: std::sync::OnceLock<HeaderValue> = std::sync::OnceLock::new();
        Peer {
            ip: "192.0.2.7".parse().unwrap(),
            ip_value: IP.get_or_init(|| ip_header_value("192.0.2.7".parse().unwrap())),
            tls: true,
            trusted_proxies: trusted,
        }
    }

    #[test]
    fn the_client_is_the_nearest_untrusted_hop() {
        let trusted: Vec<IpNet> = vec!["192.0.2.0/24".parse().unwrap()];
        let behind = peer(&trusted);
        let ip = |h: &[(&str, &str)]| behind.client_ip(&map(h)).to_string();
        assert_eq!(ip(&[]), "192.0.2.7", "no header: the proxy itself");
        assert_eq!(ip(&[("x-forwarded-for", "198.51.100.1")]), "198.51.100.1");
        // The client wrote the leftmost entry; our trusted proxy appended the real one.
        assert_eq!(
            ip(&[("x-forwarded-for", "6.6.6.6, 198.51.100.1, 192.0.2.9")]),
            "198.51.100.1"
        );
        assert_eq!(
            ip(&[
                ("x-forwarded-for", "6.6.6.6"),
                ("x-forwarded-for", "198.51.100.2")
            ]),
            "198.51.100.2"
        );
        assert_eq!(ip(&[("x-forwarded-for", "junk, 192.0.2.9")]), "192.0.2.9");
        // An untrusted peer's header is ignored entirely.
        let direct = peer(&[]);
        let forged = map(&[("x-forwarded-for", "198.51.100.1")]);
        assert_eq!(direct.client_ip(&forged).to_string(), "192.0.2.7");
    }

    #[test]
    fn forged_forwarding_headers_from_untrusted_peer_are_replaced() {
        let mut h = map(&[
            ("x-forwarded-for", "1.2.3.4"),
            ("x-forwarded-proto", "http"),
            ("x-forwarded-host", "evil"),
            ("x-real-ip", "1.2.3.4"),
            ("forwarded", "for=1.2.3.4"),
            ("x-forwarded-prefix", "/admin"),
        ]);
        let host = HeaderValue::from_static("app.example.com");
        set_forwarded(&mut h, &peer(&[]), Some(&host), &[]);
        assert_eq!(h["x-forwarded-for"], "192.0.2.7");
        assert_eq!(h["x-forwarded-proto"], "https");
        assert_eq!(h["x-forwarded-host"], "app.example.com");
        assert!(!h.contains_key("x-real-ip"));
        assert!(!h.contains_key("forwarded"));
        assert!(!h.contains_key("x-forwarded-prefix"));
    }

    #[test]
    fn an_untrusted_peer_cannot_claim_https_by_any_header_an_app_reads() {
        let claims = [
            ("front-end-https", "on"),
            ("https-from-lb", "on"),
            ("cloudfront-forwarded-proto", "https"),
            ("scheme", "https"),
            ("x-forwarded-ssl", "on"),
            ("x-forwarded-scheme", "https"),
            ("x-forwarded-protocol", "https"),
            ("x-url-scheme", "https"),
        ];
        let mut h = map(&claims);
        h.insert("content-type", HeaderValue::from_static("text/plain"));
        set_forwarded(&mut h, &peer(&[]), None, &[]);
        for (name, _) in claims {
            assert!(!h.contains_key(name), "{name}");
        }
        assert!(h.contains_key("content-type"));
        // A trusted proxy may say so.
        let mut h = map(&claims);
        let nets = ["192.0.2.0/24".parse().unwrap()];
        set_forwarded(&mut h, &peer(&nets), None, &[]);
        assert!(h.contains_key("front-end-https"));
    }

    #[test]
    fn trusted_peer_chain_is_extended_and_its_proto_kept() {
        let nets = ["192.0.2.0/24".parse().unwrap()];
        let mut h = map(&[
            ("x-forwarded-for", "203.0.113.1"),
            ("x-forwarded-for", "10.0.0.1"),
            ("x-forwarded-proto", "https"),
            ("x-real-ip", "203.0.113.1"),
        ]);
        let mut p = peer(&nets);
        p.tls = false;
        set_forwarded(&mut h, &p, None, &[]);
        assert_eq!(h["x-forwarded-for"], "203.0.113.1, 10.0.0.1, 192.0.2.7");
        assert_eq!(h["x-forwarded-proto"], "https");
        assert!(h.contains_key("x-real-ip"));
    }

    #[test]
    fn underscore_spellings_are_dropped_even_from_trusted_peers() {
        let nets = ["192.0.2.0/24".parse().unwrap()];
        let mut h = map(&[
            ("x_forwarded_for", "1.2.3.4"),
            ("x_request_id", "forged"),
            ("x_custom_header", "kept"),
        ]);
        set_forwarded(&mut h, &peer(&nets), None, &["x-request-id"]);
        assert!(!h.contains_key("x_forwarded_for"));
        assert!(!h.contains_key("x_request_id"));
        assert!(h.contains_key("x_custom_header"));
    }

    #[test]
    fn ipv4_mapped_peer_matches_ipv4_range() {
        let nets = ["192.0.2.0/24".parse().unwrap()];
        let value = ip_header_value("::ffff:192.0.2.7".parse().unwrap());
        assert_eq!(value, "192.0.2.7");
        let p = Peer {
            ip: "::ffff:192.0.2.7".parse().unwrap(),
            ip_value: &value,
            tls: false,
            trusted_proxies: &nets,
        };
        assert!(p.is_trusted());
    }

    #[test]
    fn via_is_appended() {
        let mut h = map(&[("via", "1.1 edge")]);
        append_via(&mut h, http::Version::HTTP_11, &ViaHops::new("mfa-gateway"));
        assert_eq!(h["via"], "1.1 edge, 1.1 mfa-gateway");
        let mut h = HeaderMap::new();
        append_via(&mut h, http::Version::HTTP_2, &ViaHops::new("gw"));
        assert_eq!(h["via"], "2 gw");
    }

    #[test]
    fn request_id_kept_only_from_trusted_peer() {
        let h = map(&[("x-request-id", "abc-123")]);
        assert_eq!(request_id(&h, true), "abc-123");
        let fresh = request_id(&h, false);
        assert_ne!(fresh, "abc-123");
        assert_eq!(fresh.len(), 32);
        let h = map(&[("x-request-id", "a b")]);
        assert_ne!(request_id(&h, true), "a b");
    }
}
