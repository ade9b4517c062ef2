//! The validated configuration the gateway runs on. Every value here has been checked; nothing
//! downstream needs to re-validate or handle a missing default.

use ipnet::IpNet;
use rustls::sign::CertifiedKey;
use rustls::RootCertStore;
use std::fmt;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

#[derive(Debug, Clone)]
pub struct Config {
    /// The file this was loaded from; SIGHUP reads it again.
    pub source: PathBuf,
    /// What a reload reads: the file, or the text a command was started with.
    pub origin: Origin,
    pub listeners: Vec<Listener>,
    /// `None` when the admin listener is switched off.
    pub admin: Option<SocketAddr>,
    pub data_dir: PathBuf,
    /// The key file (encryption, hashing and signing keys); default `{data_dir}/keys.json`.
    pub keys_file: PathBuf,
    pub state: StateConfig,
    pub audit: AuditConfig,
    /// Always starts and ends with `/`, e.g. `/.mfa/`.
    pub reserved_prefix: String,
    pub workers: usize,
    pub trusted_proxies: Vec<IpNet>,
    /// The pseudonym this gateway writes into `Via`.
    pub via_name: String,
    pub limits: Limits,
    pub logging: Logging,
    pub apps: Vec<App>,
    /// Settings that work but an operator should reconsider, each with its place in the file.
    pub warnings: Vec<super::ConfigError>,
}

#[derive(Debug, Clone)]
pub struct Listener {
    pub address: SocketAddr,
    pub tls: Option<ListenerTls>,
}

#[derive(Clone)]
pub struct ListenerTls {
    /// Loaded key pairs in file order; the first one answers clients that send no matching SNI.
    pub certificates: Vec<Arc<CertifiedKey>>,
    pub http2: bool,
}

impl fmt::Debug for ListenerTls {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ListenerTls")
            .field("certificates", &self.certificates.len())
            .field("http2", &self.http2)
            .finish()
    }
}

#[derive(Debug, Clone)]
pub struct Limits {
    pub max_header_bytes: usize,
    pub max_headers: usize,
    pub max_body_bytes: u64,
    pub header_read_timeout: Duration,
    pub handshake_timeout: Duration,
    pub max_connections: usize,
    pub shutdown_timeout: Duration,
    /// A body the gateway reads itself (a login request, the app's login answer) must arrive
    /// whole within this.
    pub body_read_timeout: Duration,
    /// ... and, after a short grace, at an average of at least this many bytes per second
    /// (0: no minimum rate).
    pub body_min_rate: u64,
    /// A write to a client must make progress within this (nginx's `send_timeout`): a client
    /// that stops reading its answer is dropped, and the upstream connection with it.
    pub send_timeout: Duration,
    /// A WebSocket (or other switched protocol) tunnel across which nothing has moved either
    /// way for this long is closed.
    pub tunnel_idle_timeout: Duration,
}

impl Limits {
    pub const DEFAULT_BODY_READ_TIMEOUT: Duration = crate::wire::collect::BodyPace::DEFAULT_WITHIN;
    pub const DEFAULT_BODY_MIN_RATE: u64 = crate::wire::collect::BodyPace::DEFAULT_MIN_RATE;
    pub const DEFAULT_SEND_TIMEOUT: Duration = Duration::from_secs(60);
    pub const DEFAULT_TUNNEL_IDLE_TIMEOUT: Duration = Duration::from_secs(300);
}

// Logging owns what it is set to; the config fills it in.
pub use crate::ops::logging::{LogFormat, Logging};

#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum HostPattern {
    /// Lower-case host name without port.
    Exact(String),
    /// `*.example.com`, stored as `.example.com`: matches any name ending in it.
    Suffix(String),
    /// `*`: any host not claimed by another app.
    Any,
}

/// An image shown on the gateway's pages for an app.
#[derive(Clone)]
pub struct Logo {
    pub bytes: bytes::Bytes,
    pub content_type: &'static str,
}

impl fmt::Debug for Logo {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Logo({}, {} bytes)", self.content_type, self.bytes.len())
    }
}

#[derive(Debug, Clone)]
pub struct App {
    pub name: String,
    pub display_name: String,
    pub logo: Option<Logo>,
    pub hosts: Vec<HostPattern>,
    /// Starts with `/`; `/` for the whole host.
    pub path_prefix: String,
    pub upstream: Upstream,
    /// `None`: a plain proxied app, no second factor.
    pub mfa: Option<AppMfa>,
}

/// Who must present a second factor.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Policy {
    /// Everyone; a user without a factor enrolls before the login is released.
    Required,
    /// Users who enrolled verify; users without a factor pass on the password alone.
    Optional,
}

/// A policy for some users; the first override that matches a user decides.
#[derive(Debug, Clone)]
pub struct PolicyOverride {
    pub users: Vec<String>,
    /// Matched against the whole user name (anchor it yourself: `^admin`).
    pub pattern: Option<regex::Regex>,
    pub policy: Policy,
}

impl PolicyOverride {
    pub fn matches(&self, user: &str) -> bool {
        self.users.iter().any(|u| u == user)
            || self.pattern.as_ref().is_some_and(|p| p.is_match(user))
    }
}

/// Where a login's user identity is read.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum IdentitySource {
    /// The user name typed into the login form (the default).
    LoginField,
    /// A header of the app's login answer.
    ResponseHeader(http::HeaderName),
    /// A JSON pointer into the app's login answer.
    ResponseJson(String),
    /// The start of a session cookie's value (percent-decoded) the login answer sets, up to a
    /// separator: apps that sign the user name into the cookie (WordPress).
    ResponseCookie { name: String, until: String },
    /// A GET the gateway makes to the app with the new session, and where its answer names
    /// the user. `after_each_answer`: asked again after every answer to a verified session.
    Whoami {
        path: String,
        answer: WhoamiAnswer,
        after_each_answer: bool,
        /// `pre_login: skip`: a new `session_before_login` cookie alone in an answer without
        /// a session is not asked about (asking ends phpMyAdmin's anonymous session).
        skip_pre_login: bool,
    },
}

/// Where a whoami answer names the user.
#[derive(Debug, Clone)]
pub enum WhoamiAnswer {
    /// A JSON pointer into a JSON answer.
    JsonPointer(String),
    /// The first capture group of the first match in a page (apps whose only word on who is
    /// signed in is HTML: Redmine's "Logged in as").
    Pattern(regex::Regex),
}

impl PartialEq for WhoamiAnswer {
    fn eq(&self, other: &Self) -> bool {
        match (self, other) {
            (Self::JsonPointer(a), Self::JsonPointer(b)) => a == b,
            (Self::Pattern(a), Self::Pattern(b)) => a.as_str() == b.as_str(),
            _ => false,
        }
    }
}

impl Eq for WhoamiAnswer {}

/// How a user name becomes the identity the realm knows (`mfa.identity.normalize`): always
/// trimmed; then, as the app itself does, Unicode compatibility forms folded (NFKC: Django's
/// login form turns `ａｌｉｃｅ` into `alice`) and letter case ignored.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Normalize {
    pub nfkc: bool,
    pub casefold: bool,
}

impl Normalize {
    pub fn apply(self, typed: &str) -> String {
        use unicode_normalization::UnicodeNormalization;
        let trimmed = typed.trim();
        let composed: String = if self.nfkc {
            trimmed.nfkc().collect()
        } else {
            trimmed.to_string()
        };
        // NFKC can expose new surrounding spaces (an ideographic space becomes U+0020).
        let composed = composed.trim();
        if self.casefold {
            fold_case(composed)
        } else {
            composed.to_string()
        }
    }
}

/// Letter case folded as Python's `str.casefold` and case-insensitive collations do for names:
/// lower case, and `ß` as `ss` (so `STRASSE`, `straße` and `strasse` meet).
fn fold_case(text: &str) -> String {
    text.to_lowercase().replace('ß', "ss")
}

/// What two names look like to a person, or to an app with a lenient collation or its own
/// cleaning: compatibility forms, case and accents folded, and everything but letters and
/// digits dropped (apps strip `alice.`, `_alice`, `-alice-` or `a lice` down to `alice`). A
/// first enrollment under a typed name that looks like an enrolled user's is refused — it may
/// be the same account to the app. A name of nothing but such characters looks like itself.
pub fn lookalike(name: &str) -> String {
    use unicode_normalization::char::is_combining_mark;
    use unicode_normalization::UnicodeNormalization;
    let bare: String = name
        .trim()
        .nfkd()
        .filter(|c| !is_combining_mark(*c) && c.is_alphanumeric())
        .collect();
    if bare.is_empty() {
        return fold_case(name);
    }
    fold_case(&bare)
}

/// A token in the app's login answer that clients then send as `Authorization: SCHEME token`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TokenRule {
    pub json_pointer: String,
    /// `Bearer`, or e.g. `Token` for Django REST framework's TokenAuthentication.
    pub scheme: String,
    /// `answers: any`: the app answers writes with bodies other than JSON, and has no endpoint
    /// that renders a token in them (default: such answers are refused).
    pub any_answers: bool,
}

/// Whether a login of these rules may sign in with a cookie of this name (or pattern): a rule's
/// success names it (`success.set_cookie`, a `*` read either way), or a rule names no cookie
/// at all (its sign-in may be any).
pub fn signs_in_with(login: &[super::login_rule::LoginRule], name: &str) -> bool {
    use crate::wire::cookie_name::cookie_name_matches;
    login.iter().any(|rule| {
        rule.success.set_cookie.is_empty()
            || rule
                .success
                .set_cookie
                .iter()
                .any(|p| cookie_name_matches(name, p) || cookie_name_matches(p, name))
    })
}

/// `refuse_credentials`: header names in lower case with `-` for `_` (how CGI-style stacks
/// read both), query parameter names in lower case.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct RefusedCredentials {
    pub headers: Vec<String>,
    pub query: Vec<String>,
}

impl RefusedCredentials {
    /// Whether a request carries one: a header of such a name in any spelling a stack reads
    /// alike, or a query parameter of such a name in any spelling a framework reads alike
    /// (see [`query_name`]). A GET or HEAD with a body is taken to carry one too where query
    /// names are refused: Rails reads form and JSON bodies on a GET as parameters, and the
    /// gateway does not read them.
    pub fn carried(
        &self,
        method: &http::Method,
        headers: &http::HeaderMap,
        query: Option<&str>,
    ) -> bool {
        let header = self.headers.iter().any(|refused| {
            headers
                .keys()
                .any(|name| name.as_str().replace('_', "-") == *refused)
        });
        if header {
            return true;
        }
        if self.query.is_empty() {
            return false;
        }
        let bodied_read = matches!(*method, http::Method::GET | http::Method::HEAD)
            && (headers.contains_key(http::header::TRANSFER_ENCODING)
                || headers
                    .get(http::header::CONTENT_LENGTH)
                    .is_some_and(|v| v.as_bytes() != b"0"));
        bodied_read
            || query.is_some_and(|q| {
                q.split(['&', ';']).any(|pair| {
                    let name = pair.split_once('=').map_or(pair, |(n, _)| n);
                    let name = query_name(name);
                    self.query.iter().any(|r| name.eq_ignore_ascii_case(r))
                })
            })
    }
}

/// A query parameter's name as frameworks read it, the loosest reading: percent-decoded (`+`
/// a space), trimmed, leading `[` and `]` dropped and cut at the next one (Rack reads `[key]`,
/// `key]` and `key[x]` as `key`), `.` and space as `_` (PHP).
fn query_name(raw: &str) -> String {
    let spaced = raw.replace('+', " ");
    let decoded = percent_encoding::percent_decode_str(&spaced).decode_utf8_lossy();
    let name = decoded.trim().trim_start_matches(['[', ']']);
    let name = name.split(['[', ']']).next().unwrap_or("");
    name.replace(['.', ' '], "_")
}

/// One of the app's logout routes (canonical spelling, and below), for one method or any.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LogoutRule {
    pub method: Option<http::Method>,
    pub route: String,
}

impl LogoutRule {
    pub fn matches(&self, method: &http::Method, route: &str) -> bool {
        self.method.as_ref().is_none_or(|m| m == method)
            && crate::wire::spelling::same_route_or_below(route, &self.route)
    }
}

/// New values of `resealed_cookies` on a verified session.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Resealed {
    /// Removed from the answer: the browser keeps the bound value, which the app still takes
    /// (phpMyAdmin).
    #[default]
    Keep,
    /// Passed on and bound in place of the value the request carried, which keeps opening
    /// the session for a short grace time (Rails' cookie store: Redmine puts its CSRF token
    /// in the newest value only).
    Follow,
}

/// HTTP Basic sign-ins (`basic_auth`): an unbound Basic credential is a login. Its password is
/// checked with GETs of `check` (never with the request itself, which may change something
/// on the app before the second factor); after the second factor it is bound to the gateway
/// session, and passes only together with that session's gateway cookie (the credential is the
/// password: alone it proves one factor).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BasicAuth {
    /// Origin-form paths (with queries) of the app that ask for the credential and change
    /// nothing, tried in turn until one accepts it (users of different roles may each read
    /// only some of them).
    pub check: Vec<String>,
    /// The answers to `check` that mean the password is right (default 200).
    pub success: Vec<http::StatusCode>,
    /// Where Basic is a login (canonical paths, and below; default the whole app): elsewhere a
    /// Basic credential is refused. The sessions the app starts in answer to a bound Basic
    /// credential here are taken as that user's.
    pub paths: Vec<String>,
}

/// The second factor for one app.
impl AppMfa {
    /// `identity.whoami.after_each_answer`: the app is asked after every answer to a verified
    /// session whether the session is still its user's.
    pub fn asks_after_each_answer(&self) -> bool {
        matches!(
            self.identity,
            IdentitySource::Whoami {
                after_each_answer: true,
                ..
            }
        )
    }

    /// Whether the app keeps a session cookie of this name before the login
    /// (`session_before_login`).
    pub fn kept_before_login(&self, name: &str) -> bool {
        self.session_before_login
            .iter()
            .any(|p| crate::wire::cookie_name::cookie_name_matches(name, p))
    }

    /// Whether a login of the app may sign in with this cookie: a login rule's success names it
    /// (`success.set_cookie`), or a rule names no cookie at all (its sign-in may be any).
    /// Whether the app can be asked who a session is (`identity.whoami`).
    pub fn asks_whoami(&self) -> bool {
        matches!(self.identity, IdentitySource::Whoami { .. })
    }

    /// `identity.whoami.pre_login: skip`.
    pub fn skips_pre_login(&self) -> bool {
        matches!(
            self.identity,
            IdentitySource::Whoami {
                skip_pre_login: true,
                ..
            }
        )
    }

    /// Whether the app seals this cookie again in every answer (`resealed_cookies`).
    pub fn resealed(&self, name: &str) -> bool {
        self.resealed_cookies
            .iter()
            .any(|p| crate::wire::cookie_name::cookie_name_matches(name, p))
    }

    /// The policy that applies to `user` (already trimmed and case-folded).
    pub fn policy_for(&self, user: &str) -> Policy {
        self.overrides
            .iter()
            .find(|o| o.matches(user))
            .map_or(self.policy, |o| o.policy)
    }
}

#[derive(Debug, Clone)]
pub struct AppMfa {
    /// Apps naming the same realm share enrollments (one user base behind several apps).
    pub realm: String,
    /// The policy for users no override names.
    pub policy: Policy,
    pub overrides: Vec<PolicyOverride>,
    /// The issuer shown in authenticator apps.
    pub issuer: String,
    pub login: Vec<super::login_rule::LoginRule>,
    /// Where "log in again" links point.
    pub login_page: String,
    /// The app's start page for a signed-in user: where the gateway's pages lead back to.
    pub home_page: String,
    /// The language of the gateway's pages for this app; `None`: the browser's choice.
    pub language: Option<crate::i18n::Lang>,
    /// The app's session cookie names; a request's value must be bound to a verified session.
    pub session_cookies: Vec<String>,
    pub token: Option<TokenRule>,
    /// Paths (exact) of the app's logout; requests there end the gateway session too.
    pub logout: Vec<LogoutRule>,
    /// Paths (canonical spelling, and below) refused whatever the session: where the app
    /// takes a password without a session, a second factor cannot be put in front.
    pub refuse: Vec<String>,
    /// Headers and query parameters that carry a credential of the app the gateway cannot
    /// put a second factor in front of (an API key): requests with one are refused.
    pub refuse_credentials: RefusedCredentials,
    /// The app keeps a session from before the login (its CSRF token, the page asked for):
    /// these of its session cookies (configured names or patterns) it sets on anonymous pages
    /// reach the client, and come back to the app on its login routes only. Empty: none.
    pub session_before_login: Vec<String>,
    /// Session cookies the app seals again with a new value in every answer, while the values
    /// it gave before stay valid (phpMyAdmin's pmaUser-1 and pmaAuth-1): on a verified session
    /// the new values are not passed on, and the client keeps the bound ones.
    pub resealed_cookies: Vec<String>,
    /// What the gateway does with their new values (`resealed`).
    pub resealed: Resealed,
    /// HTTP Basic as a login (`None`: a Basic credential is refused like any foreign
    /// Authorization).
    pub basic_auth: Option<BasicAuth>,
    /// How user names become identities (`identity.normalize`, or `case_fold_users`).
    pub normalize: Normalize,
    pub identity: IdentitySource,
    pub challenge_timeout: Duration,
    pub max_attempts: u32,
    pub totp_skew: u8,
    pub idle_timeout: Duration,
    pub absolute_timeout: Duration,
    /// Path prefixes (whole segments) that never need a session check.
    pub bypass_paths: Vec<String>,
    /// Client networks that never need a session check.
    pub bypass_networks: Vec<IpNet>,
    pub regulation: Regulation,
    pub enrollment: Enrollment,
}

/// Where a reload reads the configuration again.
#[derive(Debug, Clone, Default)]
pub enum Origin {
    /// `source`, with the process environment (`serve`).
    #[default]
    File,
    /// This text, with these variables set as at the start and the environment for the rest
    /// (`demo`, whose config is built in and whose listen addresses come from its options).
    Fixed {
        text: Arc<str>,
        variables: Arc<[(String, String)]>,
    },
}

/// Brute-force limits; `None` is switched off.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Regulation {
    /// Wrong second-factor codes per user from browsers that have not passed that user's second
    /// factor before (across clients, challenges and gateways).
    pub user: Option<Limit>,
    /// Wrong second-factor codes from one browser that has (its device credential).
    pub device: Option<Limit>,
    /// Wrong second-factor codes per client address (an IPv6 client's /64).
    pub client: Option<Limit>,
    /// Wrong second-factor codes per network (an IPv4 /24, an IPv6 /48).
    pub network: Option<Limit>,
    /// Logins the app refused, per client address.
    pub login_client: Option<Limit>,
    /// Logins the app refused, per user name typed.
    pub login_user: Option<Limit>,
    /// Addresses in these networks are never locked as a whole (many people share one); each
    /// user's own limits still apply there.
    pub shared_networks: Vec<IpNet>,
}

impl Regulation {
    /// The limit on `client`'s address as a whole: none in a shared network.
    pub fn for_address(&self, limit: Option<Limit>, client: std::net::IpAddr) -> Option<Limit> {
        // An IPv4 client on a dual-stack listener arrives as ::ffff:a.b.c.d.
        let client = client.to_canonical();
        let shared = self.shared_networks.iter().any(|n| n.contains(&client));
        limit.filter(|_| !shared)
    }
}

/// At `failures` within `within`, locked for `lock`; each lock after the first twice as long
/// as the one before, up to `max_lock`; and after `max_failures` failures in all (0: no such
/// limit), each further one locks for `max_lock`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Limit {
    pub failures: u32,
    pub within: Duration,
    pub lock: Duration,
    pub max_lock: Duration,
    pub max_failures: u32,
}

/// Who may enroll a user's first factor.
#[derive(Debug, Clone)]
pub enum Enrollment {
    /// Whoever first logs in with the user's password (audited as such), inside the window
    /// and for the users it names; everyone else as `otherwise` says.
    FirstLogin(FirstLogin),
    /// Only someone who also has a one-time code from `mfa-gateway user invite`.
    Invite,
}

/// Where first-login enrollment is open: until a time, for a while after it first served the
/// realm, for some users — each bound optional, all of them holding. None at all is the
/// open-ended form (`enrollment: first_login`), which `check-config` warns about.
#[derive(Debug, Clone)]
pub struct FirstLogin {
    /// No first-login enrollment from this time on (unix seconds).
    pub until: Option<i64>,
    /// No first-login enrollment this long after the realm's first one (kept in the durable
    /// store, so a restart does not open it again).
    pub window: Option<Duration>,
    /// Only these users (as the realm normalises names) or those the pattern matches; both
    /// empty: everyone.
    pub users: Vec<String>,
    pub pattern: Option<regex::Regex>,
    /// What a user without a factor gets outside the window or the list.
    pub otherwise: Closed,
}

/// What a user without a factor gets where first-login enrollment is closed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Closed {
    /// Enrollment with an administrator's one-time code (`user invite`).
    Invite,
    /// Refused with a page saying to ask an administrator; an invitation the administrator
    /// made for the user still works.
    Refuse,
}

impl FirstLogin {
    /// Open to everyone for ever: the form that lets whoever first has a password enroll.
    pub fn open_ended(&self) -> bool {
        self.until.is_none()
            && self.window.is_none()
            && self.users.is_empty()
            && self.pattern.is_none()
    }

    /// Whether `user` may enroll at first login at `now`, the realm's first first-login
    /// enrollment having been at `opened` (asked only when there is a `window`).
    pub fn admits(&self, user: &str, now: i64, opened: Option<i64>) -> bool {
        let listed = (self.users.is_empty() && self.pattern.is_none())
            || self.users.iter().any(|u| u == user)
            || self.pattern.as_ref().is_some_and(|p| p.is_match(user));
        let before_until = self.until.is_none_or(|until| now < until);
        let in_window = match (self.window, opened) {
            (None, _) => true,
            (Some(window), Some(opened)) => {
                let secs = i64::try_from(window.as_secs()).unwrap_or(i64::MAX);
                now < opened.saturating_add(secs)
            }
            (Some(_), None) => false,
        };
        listed && before_until && in_window
    }

    /// The end of the window as known at `now` (`opened`: the realm's first first-login
    /// enrollment, if any yet): the earlier of `until` and `opened + window`.
    pub fn ends(&self, opened: Option<i64>) -> Option<i64> {
        let window = self
            .window
            .zip(opened)
            .map(|(w, o)| o.saturating_add(i64::try_from(w.as_secs()).unwrap_or(i64::MAX)));
        match (self.until, window) {
            (Some(a), Some(b)) => Some(a.min(b)),
            (a, b) => a.or(b),
        }
    }
}

#[derive(Debug, Clone)]
pub struct Upstream {
    pub url: http::Uri,
    pub scheme_is_https: bool,
    pub authority: http::uri::Authority,
    pub tls: UpstreamTls,
    pub host_header: HostHeader,
    pub connect_timeout: Duration,
    pub response_header_timeout: Duration,
    pub idle_timeout: Duration,
    /// Idle keep-alive connections kept per worker thread.
    pub max_idle_connections: usize,
    pub add_headers: Vec<(http::HeaderName, SecretHeaderValue)>,
}

#[derive(Clone)]
pub enum UpstreamTls {
    /// The operating system's trust store.
    SystemRoots,
    /// Only the CAs in the configured file.
    CaFile(Arc<RootCertStore>),
    /// No verification at all; the operator opted in explicitly and a warning is logged.
    Insecure,
}

impl fmt::Debug for UpstreamTls {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            UpstreamTls::SystemRoots => "SystemRoots",
            UpstreamTls::CaFile(_) => "CaFile",
            UpstreamTls::Insecure => "Insecure",
        })
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum HostHeader {
    /// Forward the client's `Host` unchanged (the default: apps build links from it).
    Pass,
    /// Send the upstream URL's authority.
    Upstream,
    /// Send this value.
    Fixed(http::HeaderValue),
}

/// Where state lives.
#[derive(Debug, Clone)]
pub struct StateConfig {
    pub ephemeral: EphemeralConfig,
    pub durable: DurableConfig,
}

#[derive(Debug, Clone)]
pub enum EphemeralConfig {
    /// In this process: challenges and sessions end with it; one gateway only.
    Memory,
    Redis {
        url: SecretText,
        prefix: String,
        timeout: Duration,
        /// How long a gateway may reuse a session lookup without asking Redis (0: never).
        /// A session ended elsewhere is refused here within this bound at the latest.
        session_cache: Duration,
        /// Redis under Sentinel: the master is looked up there (the URL's host is not used).
        sentinel: Option<SentinelConfig>,
        /// Redis Cluster: these nodes (`host:port`) to start from (the URL's host is not used).
        cluster: Option<Vec<String>>,
    },
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SentinelConfig {
    pub service: String,
    /// `host:port` of each sentinel.
    pub sentinels: Vec<String>,
}

#[derive(Debug, Clone)]
pub enum DurableConfig {
    /// `{data_dir}/factors.sqlite3`.
    Sqlite,
    Postgres {
        url: SecretText,
        max_connections: u32,
    },
}

/// Where audit records go and what happens when they cannot.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AuditConfig {
    /// The chained JSON-lines file; `None` when switched off.
    pub file: Option<PathBuf>,
    pub fsync: Fsync,
    pub stdout: bool,
    pub redis_stream: Option<AuditStream>,
    pub on_failure: AuditFailure,
}

impl AuditConfig {
    /// No sink at all (tests, tools).
    pub fn none() -> AuditConfig {
        AuditConfig {
            file: None,
            fsync: Fsync::Never,
            stdout: false,
            redis_stream: None,
            on_failure: AuditFailure::Continue,
        }
    }
}

/// When written audit records are forced to disk.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Fsync {
    /// After every record, before the request goes on.
    Always,
    /// At most this long after a record was written.
    Interval(Duration),
    /// Left to the operating system.
    Never,
}

/// A Redis Stream the records are added to (`XADD … MAXLEN ~`), for SIEM consumers.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AuditStream {
    pub url: SecretText,
    pub key: String,
    pub max_len: u64,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AuditFailure {
    /// Sign-ins go on; the failure is logged and counted.
    Continue,
    /// Sign-ins are refused (503) until every sink works again.
    Refuse,
}

/// Text that may hold a password (a connection URL); `Debug` never shows it.
#[derive(Clone, PartialEq, Eq)]
pub struct SecretText(pub String);

impl fmt::Debug for SecretText {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("<redacted>")
    }
}

/// A header value that may be a secret; `Debug` never shows it.
#[derive(Clone)]
pub struct SecretHeaderValue(pub http::HeaderValue);

impl fmt::Debug for SecretHeaderValue {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("<redacted>")
    }
}
