//! The YAML file as written: every key the operator may use, nothing checked beyond types.
//! `validate` turns it into [`super::Config`].

use serde::Deserialize;
use std::path::PathBuf;

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawConfig {
    pub listeners: Vec<RawListener>,
    #[serde(default)]
    pub admin: Option<RawAdmin>,
    #[serde(default)]
    pub data_dir: Option<PathBuf>,
    #[serde(default)]
    pub keys_file: Option<PathBuf>,
    #[serde(default)]
    pub state: RawState,
    #[serde(default)]
    pub audit: RawAudit,
    #[serde(default)]
    pub gateway: RawGateway,
    #[serde(default)]
    pub limits: RawLimits,
    #[serde(default)]
    pub logging: RawLogging,
    pub apps: Vec<RawApp>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawListener {
    pub address: String,
    #[serde(default)]
    pub tls: Option<RawTls>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawTls {
    pub certificates: Vec<RawCertificate>,
    #[serde(default)]
    pub http2: Option<bool>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawCertificate {
    pub cert_file: PathBuf,
    pub key_file: PathBuf,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawAdmin {
    #[serde(default)]
    pub enabled: Option<bool>,
    #[serde(default)]
    pub address: Option<String>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawGateway {
    #[serde(default)]
    pub reserved_prefix: Option<String>,
    #[serde(default)]
    pub workers: Option<usize>,
    #[serde(default)]
    pub trusted_proxies: Vec<String>,
    #[serde(default)]
    pub via: Option<String>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawLimits {
    #[serde(default)]
    pub max_header_bytes: Option<usize>,
    #[serde(default)]
    pub max_headers: Option<usize>,
    #[serde(default)]
    pub max_body_bytes: Option<u64>,
    #[serde(default)]
    pub header_read_timeout: Option<String>,
    #[serde(default)]
    pub handshake_timeout: Option<String>,
    #[serde(default)]
    pub max_connections: Option<usize>,
    #[serde(default)]
    pub shutdown_timeout: Option<String>,
    #[serde(default)]
    pub body_read_timeout: Option<String>,
    #[serde(default)]
    pub body_min_rate: Option<u64>,
    #[serde(default)]
    pub send_timeout: Option<String>,
    #[serde(default)]
    pub tunnel_idle_timeout: Option<String>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawLogging {
    #[serde(default)]
    pub format: Option<String>,
    #[serde(default)]
    pub level: Option<String>,
    #[serde(default)]
    pub access_log: Option<bool>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawApp {
    pub name: String,
    #[serde(default)]
    pub display_name: Option<String>,
    #[serde(default)]
    pub logo_file: Option<PathBuf>,
    pub hosts: Vec<String>,
    #[serde(default)]
    pub path_prefix: Option<String>,
    pub upstream: RawUpstream,
    #[serde(default)]
    pub mfa: Option<RawMfa>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawUpstream {
    pub url: String,
    #[serde(default)]
    pub ca_file: Option<PathBuf>,
    #[serde(default)]
    pub insecure_skip_verify: Option<bool>,
    #[serde(default)]
    pub host_header: Option<String>,
    #[serde(default)]
    pub timeouts: RawTimeouts,
    #[serde(default)]
    pub max_idle_connections: Option<usize>,
    #[serde(default)]
    pub add_headers: Vec<RawHeader>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawTimeouts {
    #[serde(default)]
    pub connect: Option<String>,
    #[serde(default)]
    pub response_header: Option<String>,
    #[serde(default)]
    pub idle: Option<String>,
}

/// A header the gateway adds to every request it forwards (e.g. a shared secret the app checks
/// so it only answers the gateway). The value may come from a file so no secret sits in the YAML.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawHeader {
    pub name: String,
    #[serde(default)]
    pub value: Option<String>,
    #[serde(default)]
    pub value_file: Option<PathBuf>,
}

/// The second factor for one app: which requests are logins, what the app's session looks
/// like, and who must use MFA.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawMfa {
    #[serde(default)]
    pub realm: Option<String>,
    #[serde(default)]
    pub policy: Option<String>,
    #[serde(default)]
    pub overrides: Vec<RawPolicyOverride>,
    #[serde(default)]
    pub issuer: Option<String>,
    pub login: Vec<RawLoginRule>,
    #[serde(default)]
    pub login_page: Option<String>,
    #[serde(default)]
    pub home_page: Option<String>,
    #[serde(default)]
    pub language: Option<String>,
    #[serde(default)]
    pub session_cookies: Vec<String>,
    #[serde(default)]
    pub token: Option<RawToken>,
    #[serde(default)]
    pub logout: Vec<String>,
    /// Paths where the app takes a password without starting a session (XML-RPC, APIs with
    /// Basic auth): refused.
    #[serde(default)]
    pub refuse: Vec<String>,
    #[serde(default)]
    pub refuse_credentials: RawRefuseCredentials,
    #[serde(default)]
    pub session_before_login: RawBeforeLogin,
    #[serde(default)]
    pub resealed_cookies: Vec<String>,
    #[serde(default)]
    pub resealed: Option<String>,
    #[serde(default)]
    pub basic_auth: Option<RawBasicAuth>,
    #[serde(default)]
    pub case_fold_users: Option<bool>,
    #[serde(default)]
    pub identity: Option<RawIdentity>,
    #[serde(default)]
    pub challenge_timeout: Option<String>,
    #[serde(default)]
    pub max_attempts: Option<u32>,
    #[serde(default)]
    pub totp_skew: Option<u8>,
    #[serde(default)]
    pub idle_timeout: Option<String>,
    #[serde(default)]
    pub absolute_timeout: Option<String>,
    #[serde(default)]
    pub bypass: RawBypass,
    #[serde(default)]
    pub regulation: RawRegulation,
    /// `invite`, `first_login` (open-ended), or a map: `first_login: {until, for, users,
    /// pattern}` and `otherwise: invite | refuse`. Read by hand (config/enrollment.rs) so
    /// that each mistake is named by its key.
    #[serde(default)]
    pub enrollment: Option<serde_yaml::Value>,
}

/// Brute-force limits; each is optional (defaults apply) and `failures: 0` switches it off.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawRegulation {
    #[serde(default)]
    pub user: Option<RawLimit>,
    #[serde(default)]
    pub device: Option<RawLimit>,
    #[serde(default)]
    pub client: Option<RawLimit>,
    #[serde(default)]
    pub network: Option<RawLimit>,
    #[serde(default)]
    pub login_client: Option<RawLimit>,
    #[serde(default)]
    pub login_user: Option<RawLimit>,
    /// Networks many people share (an office behind one NAT address).
    #[serde(default)]
    pub shared_networks: Vec<String>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawLimit {
    #[serde(default)]
    pub failures: Option<u32>,
    #[serde(default)]
    pub within: Option<String>,
    #[serde(default)]
    pub lock: Option<String>,
    #[serde(default)]
    pub max_lock: Option<String>,
    #[serde(default)]
    pub max_failures: Option<u32>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawLoginRule {
    pub path: String,
    #[serde(default)]
    pub method: Option<String>,
    #[serde(default)]
    pub body: Option<String>,
    #[serde(default)]
    pub username_field: Option<String>,
    #[serde(default)]
    pub username_pointer: Option<String>,
    #[serde(default)]
    pub username_required: bool,
    #[serde(default)]
    pub success: RawSuccess,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawSuccess {
    #[serde(default)]
    pub status: Vec<u16>,
    #[serde(default)]
    pub set_cookie: Option<RawPaths>,
    #[serde(default)]
    pub json_pointer: Option<String>,
}

/// A token the app hands out in its login answer and expects back in `Authorization`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawToken {
    pub json_pointer: String,
    #[serde(default)]
    pub scheme: Option<String>,
    #[serde(default)]
    pub answers: Option<String>,
}

/// HTTP Basic sign-ins: a request with a Basic credential bound to no session is a login,
/// checked with GETs of `check` (one path or several) before anything of it reaches the app.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawBasicAuth {
    pub check: RawPaths,
    #[serde(default)]
    pub paths: Vec<String>,
    #[serde(default)]
    pub success_status: Vec<u16>,
}

/// `session_before_login`: true (every session cookie), false, or the names of those the app
/// keeps before the login.
#[derive(Debug, Deserialize)]
#[serde(untagged)]
pub enum RawBeforeLogin {
    All(bool),
    Some(Vec<String>),
}

impl Default for RawBeforeLogin {
    fn default() -> Self {
        RawBeforeLogin::All(false)
    }
}

/// Credentials of the app the gateway cannot put a second factor in front of (API keys):
/// requests that carry one in a header or query parameter of these names are refused.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawRefuseCredentials {
    #[serde(default)]
    pub headers: Vec<String>,
    #[serde(default)]
    pub query: Vec<String>,
}

/// One path, or a list of them.
#[derive(Debug, Deserialize)]
#[serde(untagged)]
pub enum RawPaths {
    One(String),
    Many(Vec<String>),
}

impl RawPaths {
    pub fn list(&self) -> &[String] {
        match self {
            RawPaths::One(p) => std::slice::from_ref(p),
            RawPaths::Many(list) => list,
        }
    }
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawBypass {
    #[serde(default)]
    pub paths: Vec<String>,
    #[serde(default)]
    pub networks: Vec<String>,
}

/// A policy for some users: named ones, or those whose name matches a pattern.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawPolicyOverride {
    #[serde(default)]
    pub users: Vec<String>,
    #[serde(default)]
    pub pattern: Option<String>,
    pub policy: String,
}

/// Where the user's identity comes from when the login field is not enough (one account that
/// logs in by user name or e-mail). At most one source.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawIdentity {
    #[serde(default)]
    pub header: Option<String>,
    #[serde(default)]
    pub json_pointer: Option<String>,
    #[serde(default)]
    pub whoami: Option<RawWhoami>,
    #[serde(default)]
    pub cookie: Option<RawCookieIdentity>,
    /// The explicit opt-in to the name typed at login as the identity (no app-side source).
    #[serde(default)]
    pub typed_name: bool,
    /// What the app does to a user name before it looks it up: nfkc, casefold.
    #[serde(default)]
    pub normalize: Vec<String>,
}

/// The user name at the start of a session cookie's value, up to a separator (WordPress:
/// `wordpress_logged_in_<hash>=alice|expiry|token|mac`).
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawCookieIdentity {
    pub name: String,
    pub until: String,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawWhoami {
    pub path: String,
    #[serde(default)]
    pub json_pointer: Option<String>,
    #[serde(default)]
    pub pattern: Option<String>,
    #[serde(default)]
    pub after_each_answer: bool,
    /// `ask` (default) or `skip`: whether a new pre-login session is asked about.
    #[serde(default)]
    pub pre_login: Option<String>,
}

/// Where ephemeral and durable state live. Empty URLs mean the embedded stores, so one file
/// can read `${MFA_REDIS_URL:-}` and serve a laptop and a cluster alike.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawState {
    #[serde(default)]
    pub redis_url: Option<String>,
    #[serde(default)]
    pub redis_url_file: Option<PathBuf>,
    #[serde(default)]
    pub redis_prefix: Option<String>,
    #[serde(default)]
    pub redis_timeout: Option<String>,
    #[serde(default)]
    pub session_cache: Option<String>,
    #[serde(default)]
    pub redis_sentinels: Vec<String>,
    #[serde(default)]
    pub redis_sentinel_service: Option<String>,
    #[serde(default)]
    pub redis_cluster: Vec<String>,
    #[serde(default)]
    pub database_url: Option<String>,
    #[serde(default)]
    pub database_url_file: Option<PathBuf>,
    #[serde(default)]
    pub database_max_connections: Option<u32>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawAudit {
    /// The chained JSON-lines file; empty to write none.
    #[serde(default)]
    pub file: Option<String>,
    /// `always`, `never`, or a duration (e.g. `1s`): how often written records are forced to disk.
    #[serde(default)]
    pub fsync: Option<String>,
    /// Also write every record to standard output (for container log collectors).
    #[serde(default)]
    pub stdout: Option<bool>,
    #[serde(default)]
    pub redis_stream: Option<RawAuditStream>,
    /// `continue` (default) or `refuse`: whether sign-ins go on while a sink is failing.
    #[serde(default)]
    pub on_failure: Option<String>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawAuditStream {
    #[serde(default)]
    pub url: Option<String>,
    #[serde(default)]
    pub url_file: Option<std::path::PathBuf>,
    #[serde(default)]
    pub key: Option<String>,
    #[serde(default)]
    pub max_len: Option<u64>,
}
