//! The shared ephemeral store: Redis, for several gateways. Every read-modify-write is one Lua
//! script, so it runs atomically on the server whichever gateway sends it. Keys live under a
//! configurable prefix and carry native TTLs; the liveness checks themselves use the time the
//! caller passes in, like every other store.
//!
//! Keys (`P` = prefix): `Pc:{challenge id}` hash; `Ps:{session}` hash; `Pb:{credential}` →
//! session; `Psb:{session}` set of its credentials; `Pu:{realm len}:{realm}:{user}` set of the
//! user's sessions. Session and credential ids are hex of their keyed hashes.

use super::ephemeral::{Challenge, ChallengeStage, EphemeralStore, FailureOutcome, Session};
use super::StoreError;
use crate::keys::Sealed;
use arc_swap::ArcSwap;
use base64::engine::general_purpose::STANDARD as B64;
use base64::Engine;
use redis::aio::ConnectionManager;
use redis::{AsyncCommands, IntoConnectionInfo, Script};
use serde_json::{json, Value};
use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, LazyLock};
use std::time::Duration;

/// The Redis the store talks to now: with Sentinel, replaced when the master changes.
struct Current {
    client: redis::Client,
    connection: ConnectionManager,
    address: Option<(String, u16)>,
}

/// Where to ask for the master when Redis runs under Sentinel.
#[derive(Debug, Clone)]
pub struct SentinelSettings {
    pub service: String,
    /// `host:port` of each sentinel, asked in turn.
    pub sentinels: Vec<String>,
}

#[derive(Clone)]
pub struct RedisStore {
    current: Arc<ArcSwap<Current>>,
    prefix: String,
    /// Bumped whenever any gateway ends a session (a message on `{prefix}revoked`), so local
    /// caches of session lookups can drop what they hold at once.
    revocations: Arc<AtomicU64>,
}

impl std::fmt::Debug for RedisStore {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RedisStore")
            .field("prefix", &self.prefix)
            .finish_non_exhaustive()
    }
}

impl RedisStore {
    /// A multiplexed connection that connects lazily and reconnects by itself: while Redis is
    /// away every call fails (and the gateway fails closed); when it is back, calls work again.
    /// With `sentinel`, the master is looked up through the sentinels (now and every half
    /// second) and the connection follows it after a failover; the URL then gives only the
    /// user, password and database.
    pub async fn connect(
        url: &str,
        prefix: &str,
        timeout: Duration,
        sentinel: Option<SentinelSettings>,
    ) -> Result<Self, StoreError> {
        let info = url.into_connection_info().map_err(StoreError::Redis)?;
        let settings = redis::aio::ConnectionManagerConfig::new()
            .set_connection_timeout(Some(timeout))
            .set_response_timeout(Some(timeout))
            // One retry: a Redis that does not answer costs a request at most two timeouts
            // before the 503, and the next request tries again anyway.
            .set_number_of_retries(1);
        let open = {
            let (info, settings) = (info.clone(), settings.clone());
            move |address: Option<(String, u16)>| -> Result<Current, StoreError> {
                let info = match &address {
                    Some((host, port)) => info
                        .clone()
                        .set_addr(redis::ConnectionAddr::Tcp(host.clone(), *port)),
                    None => info.clone(),
                };
                let client = redis::Client::open(info).map_err(StoreError::Redis)?;
                let connection =
                    ConnectionManager::new_lazy_with_config(client.clone(), settings.clone())
                        .map_err(StoreError::Redis)?;
                Ok(Current {
                    client,
                    connection,
                    address,
                })
            }
        };
        let first = match &sentinel {
            Some(s) => master_address(s, timeout).await,
            None => None,
        };
        let current = Arc::new(ArcSwap::from_pointee(open(first)?));
        let revocations = Arc::new(AtomicU64::new(0));
        tokio::spawn(listen_for_revocations(
            current.clone(),
            format!("{prefix}revoked"),
            revocations.clone(),
        ));
        if let Some(sentinel) = sentinel {
            tokio::spawn(follow_master(
                sentinel,
                timeout,
                current.clone(),
                revocations.clone(),
                open,
            ));
        }
        Ok(RedisStore {
            current,
            prefix: prefix.to_string(),
            revocations,
        })
    }

    fn conn(&self) -> ConnectionManager {
        self.current.load().connection.clone()
    }

    /// Changes whenever a session ended anywhere (see [`listen_for_revocations`]).
    pub fn revocation_epoch(&self) -> u64 {
        self.revocations.load(Ordering::Acquire)
    }

    fn key(&self, kind: &str, id: &str) -> String {
        format!("{}{kind}:{id}", self.prefix)
    }

    fn user_key(&self, realm: &str, user: &str) -> String {
        format!("{}u:{}:{realm}:{user}", self.prefix, realm.len())
    }

    pub async fn ping(&self) -> Result<(), StoreError> {
        let mut c = self.conn();
        let _: String = redis::cmd("PING")
            .query_async(&mut c)
            .await
            .map_err(StoreError::Redis)?;
        Ok(())
    }
}

/// Follows the revocation channel, reconnecting when Redis goes away (to the current master).
/// While it is not subscribed, messages could be missed: the epoch moves on each
/// (re)connection so caches start over, and their own time bound covers the gap.
async fn listen_for_revocations(
    current: Arc<ArcSwap<Current>>,
    channel: String,
    epoch: Arc<AtomicU64>,
) {
    use futures_util::StreamExt;
    loop {
        let client = current.load().client.clone();
        match client.get_async_pubsub().await {
            Ok(mut pubsub) => {
                if pubsub.subscribe(&channel).await.is_ok() {
                    epoch.fetch_add(1, Ordering::AcqRel);
                    let mut messages = pubsub.on_message();
                    while messages.next().await.is_some() {
                        epoch.fetch_add(1, Ordering::AcqRel);
                    }
                }
                epoch.fetch_add(1, Ordering::AcqRel);
            }
            Err(error) => tracing::debug!(%error, "revocation channel not connected"),
        }
        tokio::time::sleep(Duration::from_millis(500)).await;
    }
}

/// The master's address as the first sentinel that answers knows it.
async fn master_address(sentinel: &SentinelSettings, timeout: Duration) -> Option<(String, u16)> {
    for node in &sentinel.sentinels {
        let ask = async {
            let client = redis::Client::open(format!("redis://{node}/")).ok()?;
            let mut c = client.get_multiplexed_async_connection().await.ok()?;
            let reply: Option<(String, u16)> = redis::cmd("SENTINEL")
                .arg("get-master-addr-by-name")
                .arg(&sentinel.service)
                .query_async(&mut c)
                .await
                .ok()?;
            reply
        };
        if let Ok(Some(address)) = tokio::time::timeout(timeout, ask).await {
            return Some(address);
        }
    }
    None
}

/// Asks the sentinels for the master every half second and moves the store to a new master
/// after a failover (caches start over: messages may have been lost on the way).
async fn follow_master(
    sentinel: SentinelSettings,
    timeout: Duration,
    current: Arc<ArcSwap<Current>>,
    epoch: Arc<AtomicU64>,
    open: impl Fn(Option<(String, u16)>) -> Result<Current, StoreError> + Send + 'static,
) {
    loop {
        tokio::time::sleep(Duration::from_millis(500)).await;
        let Some(address) = master_address(&sentinel, timeout).await else {
            tracing::warn!(service = %sentinel.service, "no sentinel knows the Redis master");
            continue;
        };
        if current.load().address.as_ref() == Some(&address) {
            continue;
        }
        match open(Some(address.clone())) {
            Ok(next) => {
                tracing::warn!(host = %address.0, port = address.1, "Redis master changed (Sentinel); following it");
                current.store(Arc::new(next));
                epoch.fetch_add(1, Ordering::AcqRel);
            }
            Err(error) => {
                tracing::error!(error = %crate::ops::error_chain(&error), "cannot connect to the new Redis master")
            }
        }
    }
}

fn hex(bytes: &[u8; 32]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

fn unhex(text: &str) -> Option<[u8; 32]> {
    let mut out = [0u8; 32];
    if text.len() != 64 {
        return None;
    }
    for (i, byte) in out.iter_mut().enumerate() {
        *byte = u8::from_str_radix(text.get(i * 2..i * 2 + 2)?, 16).ok()?;
    }
    Some(out)
}

fn sealed_json(s: &Sealed) -> Value {
    json!({ "key": s.key_id, "nonce": B64.encode(&s.nonce), "ct": B64.encode(&s.ciphertext) })
}

fn sealed_from(v: &Value) -> Option<Sealed> {
    Some(Sealed {
        key_id: v.get("key")?.as_str()?.to_string(),
        nonce: B64.decode(v.get("nonce")?.as_str()?).ok()?,
        ciphertext: B64.decode(v.get("ct")?.as_str()?).ok()?,
    })
}

fn stage_json(stage: &ChallengeStage) -> String {
    match stage {
        ChallengeStage::Verify => json!({ "kind": "verify" }),
        ChallengeStage::Enroll {
            factor_id,
            pending_secret,
        } => {
            json!({ "kind": "enroll", "factor": factor_id, "secret": sealed_json(pending_secret) })
        }
        ChallengeStage::AcknowledgeRecoveryCodes => json!({ "kind": "acknowledge" }),
    }
    .to_string()
}

fn stage_from(text: &str) -> Option<ChallengeStage> {
    let v: Value = serde_json::from_str(text).ok()?;
    match v.get("kind")?.as_str()? {
        "verify" => Some(ChallengeStage::Verify),
        "acknowledge" => Some(ChallengeStage::AcknowledgeRecoveryCodes),
        "enroll" => Some(ChallengeStage::Enroll {
            factor_id: v.get("factor")?.as_str()?.to_string(),
            pending_secret: sealed_from(v.get("secret")?)?,
        }),
        _ => None,
    }
}

type Fields = HashMap<String, String>;

fn field<T: std::str::FromStr>(f: &Fields, name: &str) -> Result<T, StoreError> {
    f.get(name)
        .and_then(|v| v.parse().ok())
        .ok_or(StoreError::Corrupt("a stored record lacks a field"))
}

fn text(f: &Fields, name: &str) -> Result<String, StoreError> {
    f.get(name)
        .cloned()
        .ok_or(StoreError::Corrupt("a stored record lacks a field"))
}

fn challenge_from(id: &str, f: &Fields) -> Result<Challenge, StoreError> {
    let withheld: Value = serde_json::from_str(&text(f, "withheld")?)
        .map_err(|_| StoreError::Corrupt("withheld answer"))?;
    Ok(Challenge {
        id: id.to_string(),
        realm: text(f, "realm")?,
        app: text(f, "app")?,
        user: text(f, "user")?,
        created_at: field(f, "created_at")?,
        expires_at: field(f, "expires_at")?,
        failures: field(f, "failures")?,
        revision: field(f, "revision")?,
        stage: stage_from(&text(f, "stage")?).ok_or(StoreError::Corrupt("challenge stage"))?,
        withheld: sealed_from(&withheld).ok_or(StoreError::Corrupt("withheld answer"))?,
    })
}

fn session_from(f: &Fields) -> Result<Session, StoreError> {
    Ok(Session {
        id_hash: unhex(&text(f, "id")?).ok_or(StoreError::Corrupt("session id"))?,
        realm: text(f, "realm")?,
        app: text(f, "app")?,
        user: text(f, "user")?,
        created_at: field(f, "created_at")?,
        last_seen_at: field(f, "last_seen_at")?,
        mfa_at: field(f, "mfa_at")?,
        idle_timeout_secs: field(f, "idle")?,
        absolute_expires_at: field(f, "abs")?,
    })
}

/// A live session's fields after marking it seen at `now`, or nothing (and it is gone) when it
/// expired. Shared by the touch and the credential lookup.
const TOUCH_FN: &str = r#"
local function touch(skey, now)
  local v = redis.call('HMGET', skey, 'last_seen_at', 'idle', 'abs')
  if not v[1] then return nil end
  local last, idle, abs = tonumber(v[1]), tonumber(v[2]), tonumber(v[3])
  if now >= abs or now >= last + idle then
    redis.call('DEL', skey)
    return nil
  end
  if now > last then
    last = now
    redis.call('HSET', skey, 'last_seen_at', last)
  end
  redis.call('EXPIRE', skey, math.max(1, math.min(abs, last + idle) - now))
  return redis.call('HGETALL', skey)
end
"#;

static TOUCH: LazyLock<Script> = LazyLock::new(|| {
    Script::new(&format!(
        "{TOUCH_FN}\nreturn touch(KEYS[1], tonumber(ARGV[1])) or false"
    ))
});

static SESSION_FOR_CREDENTIAL: LazyLock<Script> = LazyLock::new(|| {
    Script::new(&format!(
        r#"{TOUCH_FN}
local sid = redis.call('GET', KEYS[1])
if not sid then return false end
local fields = touch(ARGV[2] .. 's:' .. sid, tonumber(ARGV[1]))
if not fields then
  redis.call('DEL', KEYS[1])
  return false
end
return fields"#
    ))
});

static RECORD_FAILURE: LazyLock<Script> = LazyLock::new(|| {
    Script::new(
        r#"
local exp = redis.call('HGET', KEYS[1], 'expires_at')
if not exp or tonumber(exp) <= tonumber(ARGV[2]) then return -1 end
local failures = redis.call('HINCRBY', KEYS[1], 'failures', 1)
redis.call('HINCRBY', KEYS[1], 'revision', 1)
if failures >= tonumber(ARGV[1]) then
  redis.call('DEL', KEYS[1])
  return -2
end
return tonumber(ARGV[1]) - failures"#,
    )
});

static ADVANCE: LazyLock<Script> = LazyLock::new(|| {
    Script::new(
        r#"
local v = redis.call('HMGET', KEYS[1], 'expires_at', 'revision')
if not v[1] or tonumber(v[1]) <= tonumber(ARGV[3]) or v[2] ~= ARGV[1] then return 0 end
redis.call('HSET', KEYS[1], 'stage', ARGV[2])
redis.call('HINCRBY', KEYS[1], 'revision', 1)
return 1"#,
    )
});

static TAKE: LazyLock<Script> = LazyLock::new(|| {
    Script::new(
        r#"
local all = redis.call('HGETALL', KEYS[1])
if #all == 0 then return false end
redis.call('DEL', KEYS[1])
return all"#,
    )
});

/// Removes one session with its credential bindings and its entry in the user's set.
const END_FN: &str = r#"
local function finish(prefix, sid)
  local skey = prefix .. 's:' .. sid
  local who = redis.call('HMGET', skey, 'realm', 'user')
  for _, c in ipairs(redis.call('SMEMBERS', prefix .. 'sb:' .. sid)) do
    redis.call('DEL', prefix .. 'b:' .. c)
  end
  redis.call('DEL', prefix .. 'sb:' .. sid)
  if who[1] then
    redis.call('SREM', prefix .. 'u:' .. string.len(who[1]) .. ':' .. who[1] .. ':' .. who[2], sid)
  end
  local ended = redis.call('DEL', skey)
  if ended > 0 then redis.call('PUBLISH', prefix .. 'revoked', sid) end
  return ended
end
"#;

static END_SESSION: LazyLock<Script> =
    LazyLock::new(|| Script::new(&format!("{END_FN}\nreturn finish(ARGV[1], ARGV[2])")));

static END_USER_SESSIONS: LazyLock<Script> = LazyLock::new(|| {
    Script::new(&format!(
        r#"{END_FN}
local n = 0
for _, sid in ipairs(redis.call('SMEMBERS', KEYS[1])) do
  if sid ~= ARGV[2] then n = n + finish(ARGV[1], sid) end
end
return n"#
    ))
});

static BIND: LazyLock<Script> = LazyLock::new(|| {
    Script::new(
        r#"
local abs = redis.call('HGET', KEYS[3], 'abs')
local ttl = 3600
if abs then ttl = math.max(1, tonumber(abs) - tonumber(ARGV[3])) end
redis.call('SET', KEYS[1], ARGV[2], 'EX', ttl)
redis.call('SADD', KEYS[2], ARGV[1])
redis.call('EXPIRE', KEYS[2], ttl)
return 1"#,
    )
});

fn unavailable(e: redis::RedisError) -> StoreError {
    StoreError::Redis(e)
}

impl EphemeralStore for RedisStore {
    async fn put_challenge(&self, c: &Challenge) -> Result<(), StoreError> {
        let key = self.key("c", &c.id);
        let ttl = (c.expires_at - c.created_at).max(1);
        let fields: [(&str, String); 9] = [
            ("realm", c.realm.clone()),
            ("app", c.app.clone()),
            ("user", c.user.clone()),
            ("created_at", c.created_at.to_string()),
            ("expires_at", c.expires_at.to_string()),
            ("failures", c.failures.to_string()),
            ("revision", c.revision.to_string()),
            ("stage", stage_json(&c.stage)),
            ("withheld", sealed_json(&c.withheld).to_string()),
        ];
        let mut conn = self.conn();
        redis::pipe()
            .atomic()
            .del(&key)
            .hset_multiple(&key, &fields)
            .expire(&key, ttl)
            .query_async::<()>(&mut conn)
            .await
            .map_err(unavailable)
    }

    async fn challenge(&self, id: &str, now: i64) -> Result<Option<Challenge>, StoreError> {
        let mut conn = self.conn();
        let fields: Fields = conn.hgetall(self.key("c", id)).await.map_err(unavailable)?;
        if fields.is_empty() {
            return Ok(None);
        }
        let challenge = challenge_from(id, &fields)?;
        Ok((challenge.expires_at > now).then_some(challenge))
    }

    async fn record_failure(
        &self,
        id: &str,
        max_failures: u32,
        now: i64,
    ) -> Result<FailureOutcome, StoreError> {
        let mut conn = self.conn();
        let left: i64 = RECORD_FAILURE
            .key(self.key("c", id))
            .arg(max_failures)
            .arg(now)
            .invoke_async(&mut conn)
            .await
            .map_err(unavailable)?;
        Ok(match left {
            -1 => FailureOutcome::Missing,
            -2 => FailureOutcome::Dead,
            n => FailureOutcome::Remaining(u32::try_from(n).unwrap_or(0)),
        })
    }

    async fn advance_challenge(
        &self,
        id: &str,
        revision: u64,
        stage: ChallengeStage,
        now: i64,
    ) -> Result<bool, StoreError> {
        let mut conn = self.conn();
        let done: i64 = ADVANCE
            .key(self.key("c", id))
            .arg(revision)
            .arg(stage_json(&stage))
            .arg(now)
            .invoke_async(&mut conn)
            .await
            .map_err(unavailable)?;
        Ok(done == 1)
    }

    async fn take_challenge(&self, id: &str, now: i64) -> Result<Option<Challenge>, StoreError> {
        let mut conn = self.conn();
        let fields: Option<Fields> = TAKE
            .key(self.key("c", id))
            .invoke_async(&mut conn)
            .await
            .map_err(unavailable)?;
        let Some(fields) = fields else {
            return Ok(None);
        };
        let challenge = challenge_from(id, &fields)?;
        Ok((challenge.expires_at > now).then_some(challenge))
    }

    async fn put_session(&self, s: &Session) -> Result<(), StoreError> {
        let sid = hex(&s.id_hash);
        let key = self.key("s", &sid);
        let end = s
            .absolute_expires_at
            .min(s.last_seen_at.saturating_add(s.idle_timeout_secs));
        let ttl = (end - s.last_seen_at).max(1);
        let fields: [(&str, String); 9] = [
            ("id", sid.clone()),
            ("realm", s.realm.clone()),
            ("app", s.app.clone()),
            ("user", s.user.clone()),
            ("created_at", s.created_at.to_string()),
            ("last_seen_at", s.last_seen_at.to_string()),
            ("mfa_at", s.mfa_at.to_string()),
            ("idle", s.idle_timeout_secs.to_string()),
            ("abs", s.absolute_expires_at.to_string()),
        ];
        let user_key = self.user_key(&s.realm, &s.user);
        let user_ttl = (s.absolute_expires_at - s.last_seen_at).max(1);
        let mut conn = self.conn();
        redis::pipe()
            .atomic()
            .hset_multiple(&key, &fields)
            .expire(&key, ttl)
            .sadd(&user_key, &sid)
            .expire(&user_key, user_ttl)
            .query_async::<()>(&mut conn)
            .await
            .map_err(unavailable)
    }

    async fn touch_session(
        &self,
        id_hash: &[u8; 32],
        now: i64,
    ) -> Result<Option<Session>, StoreError> {
        let mut conn = self.conn();
        let fields: Option<Fields> = TOUCH
            .key(self.key("s", &hex(id_hash)))
            .arg(now)
            .invoke_async(&mut conn)
            .await
            .map_err(unavailable)?;
        fields.as_ref().map(session_from).transpose()
    }

    async fn end_session(&self, id_hash: &[u8; 32]) -> Result<bool, StoreError> {
        let mut conn = self.conn();
        let ended: i64 = END_SESSION
            .arg(&self.prefix)
            .arg(hex(id_hash))
            .invoke_async(&mut conn)
            .await
            .map_err(unavailable)?;
        Ok(ended > 0)
    }

    async fn end_user_sessions(
        &self,
        realm: &str,
        user: &str,
        keep: Option<&[u8; 32]>,
    ) -> Result<u32, StoreError> {
        let mut conn = self.conn();
        let ended: i64 = END_USER_SESSIONS
            .key(self.user_key(realm, user))
            .arg(&self.prefix)
            .arg(keep.map(hex).unwrap_or_default())
            .invoke_async(&mut conn)
            .await
            .map_err(unavailable)?;
        Ok(u32::try_from(ended).unwrap_or(0))
    }

    async fn bind_credential(
        &self,
        credential_hash: &[u8; 32],
        session: &[u8; 32],
        now: i64,
    ) -> Result<(), StoreError> {
        let (cred, sid) = (hex(credential_hash), hex(session));
        let mut conn = self.conn();
        let _: i64 = BIND
            .key(self.key("b", &cred))
            .key(self.key("sb", &sid))
            .key(self.key("s", &sid))
            .arg(&cred)
            .arg(&sid)
            .arg(now)
            .invoke_async(&mut conn)
            .await
            .map_err(unavailable)?;
        Ok(())
    }

    async fn session_for_credential(
        &self,
        credential_hash: &[u8; 32],
        now: i64,
    ) -> Result<Option<Session>, StoreError> {
        let mut conn = self.conn();
        let fields: Option<Fields> = SESSION_FOR_CREDENTIAL
            .key(self.key("b", &hex(credential_hash)))
            .arg(now)
            .arg(&self.prefix)
            .invoke_async(&mut conn)
            .await
            .map_err(unavailable)?;
        fields.as_ref().map(session_from).transpose()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    pub async fn fresh() -> RedisStore {
        let url = std::env::var("MFA_TEST_REDIS_URL")
            .unwrap_or_else(|_| "redis://127.0.0.1:6379/".into());
        let prefix = format!("mfa-test-{:016x}:", rand::random::<u64>());
        RedisStore::connect(&url, &prefix, Duration::from_secs(2), None)
            .await
            .unwrap()
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn redis_passes_the_ephemeral_store_suite() {
        let store = fresh().await;
        store
            .ping()
            .await
            .expect("Redis must run for these tests (scripts/test starts it)");
        super::super::suite::ephemeral_store_suite(&store).await;
    }

    #[test]
    fn stages_and_ids_round_trip() {
        let sealed = Sealed {
            key_id: "k".into(),
            nonce: vec![1, 2],
            ciphertext: vec![3],
        };
        for stage in [
            ChallengeStage::Verify,
            ChallengeStage::AcknowledgeRecoveryCodes,
            ChallengeStage::Enroll {
                factor_id: "f".into(),
                pending_secret: sealed,
            },
        ] {
            assert_eq!(stage_from(&stage_json(&stage)), Some(stage));
        }
        let id = [0xab; 32];
        assert_eq!(unhex(&hex(&id)), Some(id));
        assert_eq!(unhex("zz"), None);
    }
}
