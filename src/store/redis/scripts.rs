//! The Lua scripts that make each read-modify-write atomic on the server. Every key a script
//! touches is passed in KEYS and all of them share one hash slot, so the same scripts run on a
//! single Redis and on a Redis Cluster.

use redis::Script;
use std::sync::LazyLock;

/// KEYS[1] challenge; ARGV: fields as name/value pairs…, then the TTL last.
pub static PUT_HASH: LazyLock<Script> = LazyLock::new(|| {
    Script::new(
        r#"
redis.call('DEL', KEYS[1])
local ttl = table.remove(ARGV)
redis.call('HSET', KEYS[1], unpack(ARGV))
redis.call('EXPIRE', KEYS[1], ttl)
return 1"#,
    )
});

/// KEYS[1] challenge, KEYS[2] the index of pending challenges; ARGV fields as name/value
/// pairs…, then TTL, expiry, id, now.
pub static PUT_CHALLENGE: LazyLock<Script> = LazyLock::new(|| {
    Script::new(
        r#"
local now = table.remove(ARGV)
local id = table.remove(ARGV)
local expires = table.remove(ARGV)
local ttl = table.remove(ARGV)
redis.call('DEL', KEYS[1])
redis.call('HSET', KEYS[1], unpack(ARGV))
redis.call('EXPIRE', KEYS[1], ttl)
redis.call('ZREMRANGEBYSCORE', KEYS[2], '-inf', now)
redis.call('ZADD', KEYS[2], expires, id)
return 1"#,
    )
});

/// KEYS[1] challenge, KEYS[2] the index; ARGV max failures, now, id → -1 missing, -2 dead,
/// else attempts left.
pub static RECORD_FAILURE: LazyLock<Script> = LazyLock::new(|| {
    Script::new(
        r#"
local exp = redis.call('HGET', KEYS[1], 'expires_at')
if not exp or tonumber(exp) <= tonumber(ARGV[2]) then return -1 end
local failures = redis.call('HINCRBY', KEYS[1], 'failures', 1)
redis.call('HINCRBY', KEYS[1], 'revision', 1)
if failures >= tonumber(ARGV[1]) then
  redis.call('DEL', KEYS[1])
  redis.call('ZREM', KEYS[2], ARGV[3])
  return -2
end
return tonumber(ARGV[1]) - failures"#,
    )
});

/// KEYS[1] challenge; ARGV revision, stage, now → 1 when moved.
pub static ADVANCE: LazyLock<Script> = LazyLock::new(|| {
    Script::new(
        r#"
local v = redis.call('HMGET', KEYS[1], 'expires_at', 'revision')
if not v[1] or tonumber(v[1]) <= tonumber(ARGV[3]) or v[2] ~= ARGV[1] then return 0 end
redis.call('HSET', KEYS[1], 'stage', ARGV[2])
redis.call('HINCRBY', KEYS[1], 'revision', 1)
return 1"#,
    )
});

/// KEYS[1] challenge, KEYS[2] the index; ARGV id → its fields, and it is gone.
pub static TAKE: LazyLock<Script> = LazyLock::new(|| {
    Script::new(
        r#"
local all = redis.call('HGETALL', KEYS[1])
if #all == 0 then return false end
redis.call('DEL', KEYS[1])
redis.call('ZREM', KEYS[2], ARGV[1])
return all"#,
    )
});

/// KEYS[1] session; ARGV now → the live session's fields after marking it seen, or nothing
/// (and it is gone) when it expired.
pub static TOUCH: LazyLock<Script> = LazyLock::new(|| {
    Script::new(
        r#"
local now = tonumber(ARGV[1])
local v = redis.call('HMGET', KEYS[1], 'last_seen_at', 'idle', 'abs')
if not v[1] then return false end
local last, idle, abs = tonumber(v[1]), tonumber(v[2]), tonumber(v[3])
if now >= abs or now >= last + idle then
  redis.call('DEL', KEYS[1])
  return false
end
if now > last then
  last = now
  redis.call('HSET', KEYS[1], 'last_seen_at', last)
end
redis.call('EXPIRE', KEYS[1], math.max(1, math.min(abs, last + idle) - now))
return redis.call('HGETALL', KEYS[1])"#,
    )
});

/// KEYS[1] session, KEYS[2] its credential set; ARGV revocation channel, session id →
/// {ended (0/1), realm, user, app, credential…}. The credentials' own keys (in other slots) and the
/// user's set are cleaned by the caller; a binding left behind points at no session and reads
/// as unbound.
pub static END_SESSION: LazyLock<Script> = LazyLock::new(|| {
    Script::new(
        r#"
local who = redis.call('HMGET', KEYS[1], 'realm', 'user', 'app')
local creds = redis.call('SMEMBERS', KEYS[2])
redis.call('DEL', KEYS[2])
local ended = redis.call('DEL', KEYS[1])
if ended > 0 then redis.call('PUBLISH', ARGV[1], ARGV[2]) end
local out = {ended, who[1] or '', who[2] or '', who[3] or ''}
for _, c in ipairs(creds) do out[#out + 1] = c end
return out"#,
    )
});

/// KEYS[1] session, KEYS[2] its credential set; ARGV credential, now → the TTL the binding key
/// gets (the session's remaining absolute lifetime), or 0 when the session is gone.
pub static ADD_CREDENTIAL: LazyLock<Script> = LazyLock::new(|| {
    Script::new(
        r#"
local abs = redis.call('HGET', KEYS[1], 'abs')
if not abs then return 0 end
local ttl = math.max(1, tonumber(abs) - tonumber(ARGV[2]))
redis.call('SADD', KEYS[2], ARGV[1])
redis.call('EXPIRE', KEYS[2], ttl)
return ttl"#,
    )
});

/// KEYS[1] the subject's failure counter, KEYS[2] its lock, KEYS[3] the index of locks;
/// ARGV failures, window, lock seconds, now, subject, longest lock, failures in all before
/// each failure locks for the longest (0: never), seconds a record is kept after its lock
/// → {0, count} under the limit,
/// {1, end} locked by this failure, {2, end} locked already.
pub static COUNT_FAILURE: LazyLock<Script> = LazyLock::new(|| {
    Script::new(
        r#"
local now = tonumber(ARGV[4])
local locked = tonumber(redis.call('GET', KEYS[2]) or '0')
if locked > now then return {2, locked} end
local v = redis.call('HMGET', KEYS[1], 'n', 'start', 'within', 'strikes', 'total', 'keep')
if v[6] and now >= tonumber(v[6]) then v = {} end
local n, start, within = tonumber(v[1] or '0'), tonumber(v[2] or '0'), tonumber(v[3] or '0')
local strikes, total, keep = tonumber(v[4] or '0'), tonumber(v[5] or '0'), tonumber(v[6] or '0')
if not v[1] or now >= start + within then
  n, start, within = 0, now, tonumber(ARGV[2])
end
n = n + 1
total = total + 1
local max_failures, max_lock = tonumber(ARGV[7]), tonumber(ARGV[6])
local capped = max_failures > 0 and total >= max_failures
if n < tonumber(ARGV[1]) and not capped then
  keep = math.max(keep, start + within)
  redis.call('HSET', KEYS[1], 'n', n, 'start', start, 'within', within, 'strikes', strikes, 'total', total, 'keep', keep)
  redis.call('EXPIRE', KEYS[1], math.max(1, keep - now))
  return {0, n}
end
local len = max_lock
if not capped then
  len = tonumber(ARGV[3])
  for _ = 1, strikes do
    if len >= max_lock then break end
    len = len * 2
  end
  len = math.min(len, max_lock)
end
local ends = now + len
keep = ends + tonumber(ARGV[8])
redis.call('HSET', KEYS[1], 'n', 0, 'start', now, 'within', within, 'strikes', strikes + 1, 'total', total, 'keep', keep)
redis.call('EXPIRE', KEYS[1], math.max(1, keep - now))
redis.call('SET', KEYS[2], ends, 'EX', math.max(1, ends - now))
redis.call('ZREMRANGEBYSCORE', KEYS[3], '-inf', now)
redis.call('ZADD', KEYS[3], ends, ARGV[5])
return {1, ends}"#,
    )
});

/// KEYS[1] a subject's failure counter; ARGV now → 1 when one failure was taken back (the
/// window's and the total, never below 0), 0 when there was nothing to take.
pub static UNCOUNT_FAILURE: LazyLock<Script> = LazyLock::new(|| {
    Script::new(
        r#"
local v = redis.call('HMGET', KEYS[1], 'n', 'total', 'keep')
if not v[1] or not v[3] or tonumber(ARGV[1]) >= tonumber(v[3]) then return 0 end
redis.call('HSET', KEYS[1], 'n', math.max(0, tonumber(v[1]) - 1), 'total', math.max(0, tonumber(v[2] or '0') - 1))
return 1"#,
    )
});

/// KEYS[1] a subject's failure counter; ARGV now → its failures in all while it is kept (0
/// otherwise); it is gone after.
pub static TAKE_FAILURES: LazyLock<Script> = LazyLock::new(|| {
    Script::new(
        r#"
local v = redis.call('HMGET', KEYS[1], 'total', 'keep')
redis.call('DEL', KEYS[1])
if v[1] and v[2] and tonumber(ARGV[1]) < tonumber(v[2]) then return tonumber(v[1]) end
return 0"#,
    )
});

/// KEYS[1] the subject's lock, KEYS[2] its failure counter, KEYS[3] the index of locks;
/// ARGV end ("" to unlock), now, subject → 1 when a lock was in force before.
pub static SET_LOCK: LazyLock<Script> = LazyLock::new(|| {
    Script::new(
        r#"
local now = tonumber(ARGV[2])
local was = tonumber(redis.call('GET', KEYS[1]) or '0') > now
if ARGV[1] == '' then
  redis.call('DEL', KEYS[1], KEYS[2])
  redis.call('ZREM', KEYS[3], ARGV[3])
else
  local ends = tonumber(ARGV[1])
  redis.call('SET', KEYS[1], ends, 'EX', math.max(1, ends - now))
  redis.call('ZADD', KEYS[3], ends, ARGV[3])
end
if was then return 1 end
return 0"#,
    )
});

/// KEYS the subjects' locks…, then (when ARGV[2] is 1) a failure counter; ARGV now, 0/1 →
/// {end or 0 per lock…, 1 when the counter is within its window else 0}.
pub static INSPECT: LazyLock<Script> = LazyLock::new(|| {
    Script::new(
        r#"
local now = tonumber(ARGV[1])
local locks = #KEYS
if ARGV[2] == '1' then locks = locks - 1 end
local out = {}
for i = 1, locks do
  local ends = tonumber(redis.call('GET', KEYS[i]) or '0')
  if ends > now then out[i] = ends else out[i] = 0 end
end
local counting = 0
if ARGV[2] == '1' then
  -- The record is kept while there is something to forget.
  local keep = redis.call('HGET', KEYS[#KEYS], 'keep')
  if keep and now < tonumber(keep) then counting = 1 end
end
out[locks + 1] = counting
return out"#,
    )
});
