//! Brute-force regulation: failures counted per subject in the ephemeral store, so every gateway
//! sharing it counts together. A subject over its limit is locked for a while (each lock twice
//! as long as the last, up to a longest); while locked even a correct code is refused.
//!
//! Wrong codes are counted where they come from: a browser that passed the user's second factor
//! before (its device credential) against that device alone; any other against the client's
//! address, its network, and the user's account as reached from unfamiliar browsers. So someone
//! who has a user's password and guesses codes from elsewhere locks their own addresses and, at
//! worst, new browsers of that account, never the browser the user signs in with. The app's own
//! login is counted per address and per name typed (slowed, not refused for long: the name is
//! not an account yet). What counts as a failure and what a lock refuses is decided by the
//! callers (`mfa::flow` for codes, `proxy::login` for the app's login).

use crate::config::Limit;
use crate::store::{Counted, EphemeralStore, FailureLimit, Inspection, StoreError};
use ipnet::IpNet;
use std::fmt;
use std::net::IpAddr;

/// Something failures are counted against. Names embed the length of the first part, so no
/// realm, app or user name can be crafted to collide with another subject.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Subject {
    /// A user of a realm: locked by an administrator (never counted).
    User { realm: String, user: String },
    /// A user of a realm, for second-factor codes from browsers that have not passed that
    /// user's second factor before.
    NewBrowsers { realm: String, user: String },
    /// A browser that has (its device id), for its own codes.
    Device(String),
    /// A client address, for second-factor codes: see [`client_of`].
    Client(IpAddr),
    /// A client's network, for second-factor codes: see [`network_of`].
    Network(IpNet),
    /// A client address, for logins the app refused.
    LoginClient { app: String, ip: IpAddr },
    /// A user name as typed into an app's login, for logins the app refused.
    LoginUser { app: String, user: String },
}

impl Subject {
    pub fn key(&self) -> String {
        match self {
            Subject::User { realm, user } => format!("u:{}:{realm}:{user}", realm.len()),
            Subject::NewBrowsers { realm, user } => {
                format!("uf:{}:{realm}:{user}", realm.len())
            }
            Subject::Device(id) => format!("d:{id}"),
            Subject::Client(ip) => format!("c:{ip}"),
            Subject::Network(net) => format!("n:{net}"),
            Subject::LoginClient { app, ip } => format!("lc:{}:{app}:{ip}", app.len()),
            Subject::LoginUser { app, user } => format!("lu:{}:{app}:{user}", app.len()),
        }
    }

    /// The subject a stored key names (for listing locks).
    pub fn parse(key: &str) -> Option<Subject> {
        let (kind, rest) = key.split_once(':')?;
        match kind {
            "c" => return rest.parse().ok().map(Subject::Client),
            "n" => return rest.parse().ok().map(Subject::Network),
            "d" => return Some(Subject::Device(rest.to_string())),
            _ => {}
        }
        let (len, rest) = rest.split_once(':')?;
        let len: usize = len.parse().ok()?;
        let first = rest.get(..len)?.to_string();
        let second = rest.get(len..)?.strip_prefix(':')?.to_string();
        match kind {
            "u" => Some(Subject::User {
                realm: first,
                user: second,
            }),
            "uf" => Some(Subject::NewBrowsers {
                realm: first,
                user: second,
            }),
            "lc" => Some(Subject::LoginClient {
                app: first,
                ip: second.parse().ok()?,
            }),
            "lu" => Some(Subject::LoginUser {
                app: first,
                user: second,
            }),
            _ => None,
        }
    }

    /// The kind, as a metric label.
    pub fn kind(&self) -> &'static str {
        match self {
            Subject::User { .. } => "user",
            Subject::NewBrowsers { .. } => "user_new_browsers",
            Subject::Device(_) => "device",
            Subject::Client(_) => "client",
            Subject::Network(_) => "network",
            Subject::LoginClient { .. } => "login_client",
            Subject::LoginUser { .. } => "login_user",
        }
    }

    /// The event name an audit record of its lock carries.
    pub fn lock_event(&self) -> &'static str {
        match self {
            Subject::User { .. } | Subject::NewBrowsers { .. } => "user_locked",
            Subject::Device(_) => "device_locked",
            Subject::Client(_) | Subject::Network(_) => "client_locked",
            Subject::LoginClient { .. } | Subject::LoginUser { .. } => "login_throttled",
        }
    }
}

impl fmt::Display for Subject {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Subject::User { realm, user } => write!(f, "user {user} ({realm})"),
            Subject::NewBrowsers { realm, user } => {
                write!(f, "user {user} ({realm}) from browsers new to it")
            }
            Subject::Device(id) => write!(f, "device {id}"),
            Subject::Client(ip) => write!(f, "client {ip}"),
            Subject::Network(net) => write!(f, "network {net}"),
            Subject::LoginClient { app, ip } => write!(f, "logins from {ip} ({app})"),
            Subject::LoginUser { app, user } => write!(f, "logins as {user} ({app})"),
        }
    }
}

/// The address a client's failures are counted by: its IPv4 address, or its IPv6 /64 (one
/// host is usually given a whole /64, and can pick any address in it). An IPv4 client on a
/// dual-stack listener (`::ffff:a.b.c.d`) is its IPv4 address.
pub fn client_of(ip: IpAddr) -> IpAddr {
    match ip.to_canonical() {
        IpAddr::V6(v6) => IpAddr::V6(std::net::Ipv6Addr::from(u128::from(v6) & (u128::MAX << 64))),
        v4 => v4,
    }
}

/// The network a client's failures are also counted by: its IPv4 /24, or its IPv6 /48 (a
/// site's usual allocation).
pub fn network_of(ip: IpAddr) -> IpNet {
    let ip = ip.to_canonical();
    let prefix = if ip.is_ipv4() { 24 } else { 48 };
    IpNet::new(ip, prefix).map_or(IpNet::from(ip), |net| net.trunc())
}

/// What a lock holds back, for the page that says so.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Scope {
    /// A name typed into the app's login.
    Name,
    /// The client's network.
    Network,
    /// The client's address.
    Address,
    /// This browser (its device credential).
    Device,
    /// The account, from browsers new to it.
    NewBrowsers,
    /// The account, locked by an administrator.
    Account,
}

impl Scope {
    /// As the API names it.
    pub fn as_str(self) -> &'static str {
        match self {
            Scope::Name => "name",
            Scope::Network => "network",
            Scope::Address => "address",
            Scope::Device => "device",
            Scope::NewBrowsers => "new_browsers",
            Scope::Account => "account",
        }
    }
}

/// A lock in force: until when, and on what (the latest-ending one when several hold).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Lock {
    pub until: i64,
    pub scope: Scope,
}

impl Lock {
    fn later(a: Option<Lock>, b: Lock) -> Option<Lock> {
        match a {
            Some(a) if (a.until, a.scope) >= (b.until, b.scope) => Some(a),
            _ => Some(b),
        }
    }
}

impl Subject {
    pub fn scope(&self) -> Scope {
        match self {
            Subject::User { .. } => Scope::Account,
            Subject::NewBrowsers { .. } => Scope::NewBrowsers,
            Subject::Device(_) => Scope::Device,
            Subject::Client(_) | Subject::LoginClient { .. } => Scope::Address,
            Subject::Network(_) => Scope::Network,
            Subject::LoginUser { .. } => Scope::Name,
        }
    }
}

/// The latest-ending lock an inspection found among `subjects` (its `lock_ends` from
/// `offset` on are theirs, in order).
pub fn latest_lock(inspection: &Inspection, subjects: &[Subject], offset: usize) -> Option<Lock> {
    subjects
        .iter()
        .enumerate()
        .filter_map(|(i, subject)| {
            let until = (*inspection.lock_ends.get(offset + i)?)?;
            Some(Lock {
                until,
                scope: subject.scope(),
            })
        })
        .fold(None, Lock::later)
}

/// What one more failure did.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct Failure {
    /// The latest-ending lock among the subjects, if any is locked now.
    pub locked_until: Option<Lock>,
    /// Subjects this very failure locked (each is audited once), with their lock end.
    pub locked_now: Vec<(Subject, i64)>,
}

pub fn store_limit(limit: Limit) -> FailureLimit {
    let secs = |d: std::time::Duration| i64::try_from(d.as_secs()).unwrap_or(i64::MAX);
    FailureLimit {
        failures: limit.failures,
        within_secs: secs(limit.within).max(1),
        lock_secs: secs(limit.lock).max(1),
        max_lock_secs: secs(limit.max_lock).max(1),
        max_failures: limit.max_failures,
    }
}

/// Counts one failure against each subject whose limit is on.
pub async fn count_failure<S: EphemeralStore>(
    store: &S,
    subjects: &[(Subject, Option<Limit>)],
    now: i64,
) -> Result<Failure, StoreError> {
    let mut failure = Failure::default();
    for (subject, limit) in subjects {
        let Some(limit) = limit else { continue };
        let until = match store
            .count_failure(&subject.key(), store_limit(*limit), now)
            .await?
        {
            Counted::Under(_) => continue,
            Counted::Locked(until) => until,
            Counted::LockedNow(until) => {
                failure.locked_now.push((subject.clone(), until));
                until
            }
        };
        let lock = Lock {
            until,
            scope: subject.scope(),
        };
        failure.locked_until = Lock::later(failure.locked_until, lock);
    }
    Ok(failure)
}

/// The latest end of a lock in force on any of the subjects (an admin lock counts whatever
/// the limits say).
pub async fn lock_end<S: EphemeralStore>(
    store: &S,
    subjects: &[Subject],
    now: i64,
) -> Result<Option<Lock>, StoreError> {
    let keys: Vec<String> = subjects.iter().map(Subject::key).collect();
    let inspection = store.inspect(&keys, None, now).await?;
    Ok(latest_lock(&inspection, subjects, 0))
}

/// Seconds until `until`, at least one: the `Retry-After` value.
pub fn retry_after(until: i64, now: i64) -> u64 {
    u64::try_from(until.saturating_sub(now)).unwrap_or(0).max(1)
}

/// "about N minutes" for pages.
pub fn wait_text(seconds: u64) -> String {
    match seconds {
        0..=60 => "a minute".to_string(),
        s => format!("{} minutes", s.div_ceil(60)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::MemoryStore;
    use std::time::Duration;

    #[test]
    fn subject_names_round_trip_and_cannot_collide() {
        let subjects = [
            Subject::User {
                realm: "main".into(),
                user: "a:b".into(),
            },
            Subject::User {
                realm: "main:a".into(),
                user: "b".into(),
            },
            Subject::NewBrowsers {
                realm: "main".into(),
                user: "a:b".into(),
            },
            Subject::Client("2001:db8::1".parse().unwrap()),
            Subject::Device("AbC-12_x".into()),
            Subject::Network("2001:db8:7::/48".parse().unwrap()),
            Subject::Network("198.51.100.0/24".parse().unwrap()),
            Subject::LoginClient {
                app: "django".into(),
                ip: "192.0.2.7".parse().unwrap(),
            },
            Subject::LoginUser {
                app: "django".into(),
                user: "  Alice ".into(),
            },
        ];
        let keys: Vec<String> = subjects.iter().map(Subject::key).collect();
        assert_ne!(keys[0], keys[1], "realm/user boundary is unambiguous");
        for (subject, key) in subjects.iter().zip(&keys) {
            assert_eq!(Subject::parse(key).as_ref(), Some(subject));
        }
        assert_eq!(Subject::parse("u:99:short"), None);
        assert_eq!(Subject::parse("x:1:a:b"), None);
    }

    #[tokio::test]
    async fn the_limit_locks_and_only_configured_subjects_count() {
        let store = MemoryStore::new();
        let user = Subject::NewBrowsers {
            realm: "main".into(),
            user: "alice".into(),
        };
        let client = Subject::Client("192.0.2.1".parse().unwrap());
        let limit = Limit {
            failures: 2,
            within: Duration::from_secs(600),
            lock: Duration::from_secs(900),
            max_lock: Duration::from_secs(900),
            max_failures: 0,
        };
        let both = [(user.clone(), Some(limit)), (client.clone(), None)];
        assert_eq!(
            count_failure(&store, &both, 100).await.unwrap(),
            Failure::default()
        );
        let second = count_failure(&store, &both, 101).await.unwrap();
        let user_lock = Some(Lock {
            until: 1001,
            scope: Scope::NewBrowsers,
        });
        assert_eq!(second.locked_until, user_lock);
        assert_eq!(second.locked_now, vec![(user.clone(), 1001)]);
        // Locked: reported, not locked "now" again.
        let third = count_failure(&store, &both, 102).await.unwrap();
        assert_eq!(third.locked_until, user_lock);
        assert!(third.locked_now.is_empty());
        let subjects = [user, client.clone()];
        assert_eq!(lock_end(&store, &subjects, 1000).await.unwrap(), user_lock);
        assert_eq!(lock_end(&store, &subjects, 1001).await.unwrap(), None);
        assert_eq!(lock_end(&store, &[client], 500).await.unwrap(), None);
    }

    #[test]
    fn ipv6_clients_are_counted_by_their_64_and_networks_are_24s_and_48s() {
        let ip = |s: &str| s.parse::<IpAddr>().unwrap();
        assert_eq!(client_of(ip("2001:db8:1:2:aaaa::1")), ip("2001:db8:1:2::"));
        assert_eq!(
            client_of(ip("2001:db8:1:2:bbbb::9")),
            client_of(ip("2001:db8:1:2:aaaa::1"))
        );
        assert_eq!(client_of(ip("192.0.2.7")), ip("192.0.2.7"));
        assert_eq!(client_of(ip("::ffff:192.0.2.7")), ip("192.0.2.7"));
        assert_eq!(network_of(ip("192.0.2.7")).to_string(), "192.0.2.0/24");
        assert_eq!(
            network_of(ip("::ffff:192.0.2.7")).to_string(),
            "192.0.2.0/24"
        );
        assert_eq!(
            network_of(ip("2001:db8:1:2:aaaa::1")).to_string(),
            "2001:db8:1::/48"
        );
    }

    #[test]
    fn waits_are_whole_minutes_and_retry_after_is_positive() {
        assert_eq!(retry_after(100, 100), 1);
        assert_eq!(retry_after(1000, 100), 900);
        assert_eq!(wait_text(30), "a minute");
        assert_eq!(wait_text(900), "15 minutes");
        assert_eq!(wait_text(61), "2 minutes");
    }
}
