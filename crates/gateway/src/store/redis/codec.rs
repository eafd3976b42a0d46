//! What the shared store writes to Redis: key names, the session encoding, and the Lua scripts
//! that keep counters atomic.
//!
//! Keys never hold a session id or a client address, only their [`handle`] (16 hex digits of
//! SHA-256): Redis tooling (`MONITOR`, `--bigkeys`, slow logs) shows key names freely. The value
//! of a session key holds the session, id included: Redis is trusted like the gateway's memory.
//!
//! Each key carries its handle as a Cluster hash tag (`idbridge:{3f2a…}:s`), so one session's
//! keys (its copy, its revocation marker, its counter) share a slot and a script may touch them
//! together, while different sessions spread over the cluster.

use std::time::{Duration, SystemTime, UNIX_EPOCH};

use idbridge_session::Session;

use crate::store::handle;

/// The encoding's version, first byte of every stored session. Another version (a replica of a
/// different release) reads as absent: the session is fetched from its backend again.
const VERSION: u8 = 1;

/// Net iD counters outlive any session (Net iD idles sessions out long before); this only
/// bounds forgotten ones, as in one process.
pub const COUNTER_TTL: Duration = Duration::from_secs(24 * 3600);

/// A revocation marker lives at least this long, and as long as the session could have.
pub const MIN_MARKER_TTL: Duration = Duration::from_secs(600);

/// Lua numbers are doubles: counts above this would lose precision inside a script.
pub const MAX_COUNT: u64 = (1 << 53) - 1;

/// Key names under one prefix.
#[derive(Clone, Debug)]
pub struct Keys {
    prefix: String,
    channel: String,
}

impl Keys {
    pub fn new(prefix: &str) -> Self {
        Self {
            prefix: prefix.to_owned(),
            channel: format!("{prefix}revoked"),
        }
    }

    fn key(&self, handle: &str, kind: &str) -> String {
        format!("{}{{{handle}}}:{kind}", self.prefix)
    }

    /// A session's shared copy.
    pub fn session(&self, id: &str) -> String {
        self.key(&handle(id), "s")
    }

    /// The session copy for an admin handle.
    pub fn session_by_handle(&self, handle: &str) -> String {
        self.key(handle, "s")
    }

    /// A session's revocation marker.
    pub fn revoked(&self, id: &str) -> String {
        self.key(&handle(id), "r")
    }

    /// A session's Net iD upstream counter.
    pub fn counter(&self, id: &str) -> String {
        self.key(&handle(id), "c")
    }

    /// The highest `Count` one client sent for one session.
    pub fn client_count(&self, key: &str) -> String {
        self.key(&handle(key), "k")
    }

    /// A throttling window.
    pub fn window(&self, key: &str) -> String {
        self.key(&handle(key), "w")
    }

    /// The handles of one subject's sessions: a sorted set scored by each session's expiry
    /// (kind `x`; `u`, a plain set of an earlier release, grew without bound and is not read).
    pub fn subject(&self, subject: &str) -> String {
        self.key(&handle(subject), "x")
    }

    /// The pub/sub channel revocations travel on.
    pub fn channel(&self) -> &str {
        &self.channel
    }
}

/// `session` as stored, confirmed by its backend `confirmed_ms` (Unix milliseconds) ago.
pub fn encode(session: &Session, confirmed_ms: u64) -> Option<Vec<u8>> {
    let mut out = vec![VERSION];
    rmp_serde::encode::write(&mut out, &(confirmed_ms, session)).ok()?;
    Some(out)
}

/// A stored session and when its backend confirmed it (Unix milliseconds); `None` for bytes of
/// another version or that do not decode.
pub fn decode(bytes: &[u8]) -> Option<(Session, u64)> {
    let (&version, body) = bytes.split_first()?;
    if version != VERSION {
        return None;
    }
    let (confirmed_ms, session): (u64, Session) = rmp_serde::from_slice(body).ok()?;
    Some((session, confirmed_ms))
}

/// The wall clock in Unix milliseconds: confirmation times are compared across replicas.
pub fn now_ms() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| u64::try_from(d.as_millis()).unwrap_or(u64::MAX))
        .unwrap_or(0)
}

pub fn millis(d: Duration) -> u64 {
    u64::try_from(d.as_millis()).unwrap_or(u64::MAX).max(1)
}

/// Stores a session copy unless its revocation marker exists. KEYS: copy, marker.
/// ARGV: bytes, ttl ms. Returns 1 when stored.
pub const SAVE: &str = r"
if redis.call('EXISTS', KEYS[2]) == 1 then return 0 end
redis.call('SET', KEYS[1], ARGV[1], 'PX', ARGV[2])
return 1";

/// Adds a handle to a subject's index, scored by the session's expiry, drops the handles of
/// sessions expired by now, and keeps the index as long as its longest session. So an index
/// holds at most the subject's sessions that could still live, however long the subject keeps
/// logging in. KEYS: index. ARGV: handle, ttl ms, now ms.
pub const INDEX: &str = r"
local now = tonumber(ARGV[3])
redis.call('ZADD', KEYS[1], now + tonumber(ARGV[2]), ARGV[1])
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', now)
if redis.call('PTTL', KEYS[1]) < tonumber(ARGV[2]) then
  redis.call('PEXPIRE', KEYS[1], ARGV[2])
end
return 1";

/// The handles of a subject's sessions that may still live, soonest to expire first, at most
/// ARGV[2]. KEYS: index. ARGV: now ms, limit.
pub const INDEX_MEMBERS: &str = r"
return redis.call('ZRANGEBYSCORE', KEYS[1], '(' .. ARGV[1], '+inf', 'LIMIT', 0, ARGV[2])";

/// Drops one handle from a subject's index (its session ended). KEYS: index. ARGV: handle.
pub const UNINDEX: &str = r"
return redis.call('ZREM', KEYS[1], ARGV[1])";

/// Revokes a session: marker for as long as the session could live (at least ARGV[1] ms),
/// copy dropped, every replica told. KEYS: copy, marker. ARGV: marker ttl ms, channel, message.
/// Returns the copy that was stored, if any.
pub const REVOKE: &str = r"
local old = redis.call('GET', KEYS[1])
local ttl = redis.call('PTTL', KEYS[1])
if ttl < tonumber(ARGV[1]) then ttl = tonumber(ARGV[1]) end
redis.call('SET', KEYS[2], '1', 'PX', ttl)
redis.call('DEL', KEYS[1])
redis.call('PUBLISH', ARGV[2], ARGV[3])
return old";

/// The next upstream `Count`: above every count handed out, never below the client's.
/// KEYS: counter. ARGV: client count, 1 = only for an existing counter, ttl ms.
/// Returns the count, or -1 when there is no counter and ARGV[2] is 1.
pub const NEXT_COUNT: &str = r"
local cur = redis.call('GET', KEYS[1])
if not cur then
  if ARGV[2] == '1' then return -1 end
  cur = '0'
end
local n = math.max(tonumber(cur) + 1, tonumber(ARGV[1]))
redis.call('SET', KEYS[1], string.format('%.0f', n), 'PX', ARGV[3])
return n";

/// Raises a counter to at least ARGV[1]. KEYS: counter. ARGV: count, ttl ms.
pub const CONFIRM_COUNT: &str = r"
local cur = tonumber(redis.call('GET', KEYS[1]) or '0')
local c = tonumber(ARGV[1])
if c > cur then cur = c end
redis.call('SET', KEYS[1], string.format('%.0f', cur), 'PX', ARGV[2])
return cur";

/// A client's `Count`: 1 and kept when strictly above the last one, 0 for a replay. A key seen
/// for the first time is kept only when ARGV[2] is 1. KEYS: key. ARGV: count, create, ttl ms.
pub const ADVANCE: &str = r"
local cur = redis.call('GET', KEYS[1])
if not cur and ARGV[2] ~= '1' then return 1 end
if tonumber(ARGV[1]) > tonumber(cur or '0') then
  redis.call('SET', KEYS[1], ARGV[1], 'PX', ARGV[3])
  return 1
end
if not cur then redis.call('SET', KEYS[1], '0', 'PX', ARGV[3]) end
return 0";

/// Counts one event in a fixed window that starts at the first. KEYS: window. ARGV: length ms.
pub const HIT: &str = r"
local n = redis.call('INCR', KEYS[1])
if n == 1 then redis.call('PEXPIRE', KEYS[1], ARGV[1]) end
return n";

/// The count in a window and the milliseconds left in it. KEYS: window.
pub const HITS: &str = r"
return {tonumber(redis.call('GET', KEYS[1]) or '0'), redis.call('PTTL', KEYS[1])}";

#[cfg(test)]
mod tests {
    use super::*;
    use idbridge_session::{Backend, SessionId, UnixTime};

    #[test]
    fn keys_hold_handles_under_the_prefix_never_ids() {
        let keys = Keys::new("idb:");
        let k = keys.session("IAM_S_secret");
        assert!(k.starts_with("idb:{") && k.ends_with("}:s"), "{k}");
        assert!(!k.contains("secret"));
        assert_eq!(k, keys.session_by_handle(&handle("IAM_S_secret")));
        assert_ne!(keys.revoked("a"), keys.revoked("b"));
        assert_eq!(keys.channel(), "idb:revoked");
    }

    #[test]
    fn a_session_round_trips_and_other_versions_read_as_absent() {
        let s = Session::new(
            Backend::ENOS,
            SessionId::new("IAM_S_x"),
            UnixTime::from_secs(1_000),
            Duration::from_secs(60),
        );
        let bytes = encode(&s, 42).unwrap();
        assert_eq!(decode(&bytes), Some((s, 42)));
        let mut other = bytes.clone();
        other[0] = 9;
        assert_eq!(decode(&other), None);
        assert_eq!(decode(&bytes[..bytes.len() / 2]), None);
        assert_eq!(decode(&[]), None);
    }
}
