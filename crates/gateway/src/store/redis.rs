//! The session store shared by replicas: this process's [`LocalStore`] (L1, moka) in front of
//! Redis (L2), so replicas behave as one.
//!
//! - A lookup this replica's memory cannot answer reads Redis (the copy and its revocation
//!   marker, one round trip) before it asks the backend; what the backend confirms is written
//!   back, so the next replica finds it. A copy older than `cache.revalidate_after` counts as a
//!   miss, as in one process.
//! - A revocation (logout, admin) drops the copy, leaves a marker for as long as the session
//!   could live, and is published: every replica drops it from memory at once.
//! - Net iD counters, client `Count` replay marks and throttling windows live in Redis,
//!   changed by small Lua scripts, so two replicas never hand out the same `Count`.
//! - Redis down or slow never logs anyone out ([`link`]): lookups go to memory and the backends,
//!   counters and windows fall back to this process, revocations are queued and shared when
//!   Redis returns, and memory is checked against the markers then (messages may have been
//!   missed meanwhile).

mod codec;
mod link;
mod sync;

use std::collections::VecDeque;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::Duration;

use async_trait::async_trait;
use bytes::Bytes;
use fred::prelude::{KeysInterface, LuaInterface};
use idbridge_session::{Backend, Session, UnixTime};
use parking_lot::Mutex;
use tokio::sync::watch;

use self::codec::{COUNTER_TTL, Keys, MAX_COUNT, MIN_MARKER_TTL, millis, now_ms};
use self::link::Link;
pub use self::link::StoreError;
use self::sync::{health_loop, revocations_loop};
use super::{Fetched, Fetcher, LocalStore, Lookup, SessionStore, handle};
use crate::config::{CacheConfig, StoreConfig};
use crate::error::{GatewayError, Rejection};
use crate::metrics::Metrics;

/// Revocations kept for Redis while it is unreachable; past this the oldest are dropped (and
/// logged): each still holds on this replica, and on the others within their revalidation.
const MAX_PENDING: usize = 100_000;
/// A subject's sessions read from Redis for the admin API, at most.
const MAX_SUBJECT_SESSIONS: usize = 1_000;

/// See the module documentation. Cheap to clone; clones share everything.
#[derive(Clone, Debug)]
pub struct RedisStore {
    inner: Arc<Inner>,
}

#[derive(Debug)]
struct Inner {
    l1: LocalStore,
    link: Arc<Link>,
    keys: Keys,
    /// Tells this replica's own revocation messages from the others'.
    instance: String,
    pending: Mutex<VecDeque<(String, Duration)>>,
    revalidate_after: AtomicU64,
    metrics: Metrics,
    stop: watch::Sender<bool>,
}

/// What Redis holds for a session id.
enum Shared {
    Revoked,
    Copy {
        session: Box<Session>,
        age: Duration,
    },
    /// Nothing, nothing readable, or Redis unreachable.
    Nothing,
}

// === impl RedisStore ===

impl RedisStore {
    /// Connects (in the background) and starts the health and revocation tasks. Must run inside
    /// a tokio runtime; [`SessionStore::start`] waits for the first connection.
    pub fn new(
        store: &StoreConfig,
        url: &str,
        cache: &CacheConfig,
        metrics: Metrics,
    ) -> Result<Self, StoreError> {
        let link = Link::new(store, url, metrics.clone())?;
        metrics.store_up.set(0);
        let (stop, _) = watch::channel(false);
        let inner = Arc::new(Inner {
            l1: LocalStore::new(
                cache.max_sessions,
                cache.revalidate_after,
                cache.negative_ttl,
            ),
            link,
            keys: Keys::new(&store.key_prefix),
            instance: format!("{:016x}", rand::random::<u64>()),
            pending: Mutex::default(),
            revalidate_after: AtomicU64::new(exact_millis(cache.revalidate_after)),
            metrics,
            stop,
        });
        tokio::spawn(health_loop(Arc::downgrade(&inner), inner.stop.subscribe()));
        tokio::spawn(revocations_loop(
            inner.clone_parts(),
            inner.stop.subscribe(),
        ));
        Ok(Self { inner })
    }

    /// This replica's memory (tests, diagnostics).
    pub fn local(&self) -> &LocalStore {
        &self.inner.l1
    }
}

impl Drop for Inner {
    fn drop(&mut self) {
        let _ = self.stop.send(true);
    }
}

// === impl Inner ===

impl Inner {
    fn revalidate_after(&self) -> Duration {
        Duration::from_millis(self.revalidate_after.load(Ordering::Relaxed))
    }

    /// The session's copy and marker, one round trip.
    async fn load(&self, id: &str) -> Shared {
        let keys = vec![self.keys.revoked(id), self.keys.session(id)];
        let found: Option<Vec<Option<Bytes>>> =
            self.link.call("load", self.link.calls().mget(keys)).await;
        let Some(mut found) = found else {
            return Shared::Nothing;
        };
        let copy = found.pop().flatten();
        if found.pop().flatten().is_some() {
            return Shared::Revoked;
        }
        match copy.as_deref().and_then(codec::decode) {
            // A hash collision reads as absent, never as another session.
            Some((session, confirmed)) if session.id.expose() == id => Shared::Copy {
                session: Box::new(session),
                age: Duration::from_millis(now_ms().saturating_sub(confirmed)),
            },
            _ => Shared::Nothing,
        }
    }

    /// Shares a session its backend just confirmed: the copy (unless revoked meanwhile) and the
    /// subject index.
    async fn save(&self, session: &Session, now: UnixTime) {
        let ttl = session.time_to_live(now);
        let Some(bytes) = codec::encode(session, now_ms()) else {
            return;
        };
        if ttl.is_zero() {
            return;
        }
        let id = session.id.expose();
        let ttl = millis(ttl);
        let calls = self.link.calls();
        let keys = vec![self.keys.session(id), self.keys.revoked(id)];
        let save = calls.eval::<i64, _, _, _>(
            codec::SAVE,
            keys,
            vec![Bytes::from(bytes), Bytes::from(ttl.to_string())],
        );
        if self.link.call("save", save).await != Some(1) {
            return;
        }
        let index = calls.eval::<i64, _, _, _>(
            codec::INDEX,
            self.keys.subject(&session.subject.id),
            vec![handle(id), ttl.to_string(), now_ms().to_string()],
        );
        self.link.call("index", index).await;
    }

    /// Drops an ended session's handle from its subject's index.
    async fn unindex(&self, subject: &str, id: &str) {
        let zrem = self.link.calls().eval::<i64, _, _, _>(
            codec::UNINDEX,
            self.keys.subject(subject),
            vec![handle(id)],
        );
        self.link.call("index", zrem).await;
    }

    /// Drops the copy of a session its backend no longer knows (no marker: nothing was revoked).
    async fn drop_copy(&self, id: &str) {
        let del = self.link.calls().del::<i64, _>(self.keys.session(id));
        self.link.call("save", del).await;
    }

    /// Revokes `id` in Redis and tells every replica; false when Redis could not be reached.
    async fn share_revocation(&self, id: &str, ttl: Duration) -> Option<Option<Bytes>> {
        let keys = vec![self.keys.session(id), self.keys.revoked(id)];
        let args = vec![
            millis(ttl.max(MIN_MARKER_TTL)).to_string(),
            self.keys.channel().to_owned(),
            format!("{} {id}", self.instance),
        ];
        let revoke = self
            .link
            .calls()
            .eval::<Option<Bytes>, _, _, _>(codec::REVOKE, keys, args);
        self.link.call("revoke", revoke).await
    }

    fn queue_revocation(&self, id: &str, ttl: Duration) {
        let mut pending = self.pending.lock();
        if pending.len() >= MAX_PENDING {
            pending.pop_front();
            tracing::error!(
                max = MAX_PENDING,
                "too many revocations waiting for the shared store: the oldest is dropped"
            );
        }
        pending.push_back((id.to_owned(), ttl));
        self.metrics
            .store_pending_revocations
            .set(i64::try_from(pending.len()).unwrap_or(i64::MAX));
    }

    /// Shares the revocations queued while Redis was away, oldest first; stops at a failure.
    async fn drain_pending(&self) {
        loop {
            let Some((id, ttl)) = self.pending.lock().front().cloned() else {
                return;
            };
            if self.share_revocation(&id, ttl).await.is_none() {
                return;
            }
            let mut pending = self.pending.lock();
            if pending.front().is_some_and(|(front, _)| *front == id) {
                pending.pop_front();
            }
            self.metrics
                .store_pending_revocations
                .set(i64::try_from(pending.len()).unwrap_or(i64::MAX));
        }
    }

    /// Runs a counter script, or `None` when Redis is unreachable.
    async fn script(
        &self,
        op: &'static str,
        script: &'static str,
        key: String,
        args: Vec<String>,
    ) -> Option<i64> {
        let call = self.link.calls().eval::<i64, _, _, _>(script, key, args);
        self.link.call(op, call).await
    }
}

#[async_trait]
impl SessionStore for RedisStore {
    async fn start(&self) {
        let inner = &self.inner;
        if inner.link.connected(Duration::from_secs(2)).await && inner.link.ping().await {
            inner.link.set_up(true);
            inner.link.subscribe(inner.keys.channel()).await;
        } else {
            inner.link.set_up(false);
            tracing::warn!(
                "shared store unreachable at start: starting degraded, retrying in the background"
            );
        }
    }

    async fn get_or_fetch(
        &self,
        id: &str,
        now: UnixTime,
        fetch: &Fetcher<'_>,
    ) -> (Result<Arc<Session>, GatewayError>, Lookup) {
        let inner = &self.inner;
        let shared = AtomicBool::new(false);
        let revoked = AtomicBool::new(false);
        let (result, how) = inner
            .l1
            .get_or_fetch_with(id, now, || async {
                let copy = match inner.load(id).await {
                    Shared::Revoked => {
                        revoked.store(true, Ordering::Relaxed);
                        return Err(GatewayError::NotLoggedIn(Rejection::LoggedOut));
                    }
                    Shared::Copy { session, age } => Some((session, age)),
                    Shared::Nothing => None,
                };
                if let Some((session, age)) = copy {
                    if age < inner.revalidate_after() {
                        shared.store(true, Ordering::Relaxed);
                        return Ok(Fetched {
                            session: *session,
                            age,
                            unconfirmed: false,
                        });
                    }
                    return match fetch().await {
                        Ok(fresh) => {
                            inner.save(&fresh, now).await;
                            Ok(Fetched::now(fresh))
                        }
                        // The session ended at its backend: so does the copy.
                        Err(e @ GatewayError::NotLoggedIn(_)) => {
                            inner.drop_copy(id).await;
                            Err(e)
                        }
                        // The backend cannot answer: the copy, within cache.max_stale.
                        Err(GatewayError::Upstream(_)) => Ok(Fetched {
                            session: *session,
                            age,
                            unconfirmed: true,
                        }),
                        Err(e) => Err(e),
                    };
                }
                let fresh = fetch().await?;
                inner.save(&fresh, now).await;
                Ok(Fetched::now(fresh))
            })
            .await;
        if revoked.load(Ordering::Relaxed) {
            inner.l1.revoke(id).await;
        }
        let how = match how {
            Lookup::Miss if shared.load(Ordering::Relaxed) => Lookup::Shared,
            how => how,
        };
        (result, how)
    }

    async fn insert(&self, session: Session, now: UnixTime) -> Option<Arc<Session>> {
        let stored = self.inner.l1.insert(session, now).await?;
        self.inner.save(&stored, now).await;
        Some(stored)
    }

    async fn revoke(&self, id: &str) -> Option<Arc<Session>> {
        let inner = &self.inner;
        let local = inner.l1.revoke(id).await;
        let now = UnixTime::from_system(std::time::SystemTime::now());
        let ttl = local
            .as_ref()
            .map(|s| s.time_to_live(now))
            .unwrap_or_default();
        match inner.share_revocation(id, ttl).await {
            Some(copy) => {
                let ended = local.or_else(|| {
                    copy.as_deref()
                        .and_then(codec::decode)
                        .filter(|(s, _)| s.id.expose() == id)
                        .map(|(s, _)| Arc::new(s))
                });
                if let Some(s) = &ended {
                    inner.unindex(&s.subject.id, id).await;
                }
                ended
            }
            None => {
                inner.queue_revocation(id, ttl);
                local
            }
        }
    }

    async fn is_revoked(&self, id: &str) -> bool {
        // Memory only: every replica's revocations reach it by pub/sub, and a lookup that misses
        // memory reads the marker anyway. No Redis call on every token check.
        self.inner.l1.is_revoked(id).await
    }

    async fn next_count(&self, id: &str, client: u64) -> u64 {
        let inner = &self.inner;
        let args = vec![
            client.min(MAX_COUNT).to_string(),
            "0".into(),
            millis(COUNTER_TTL).to_string(),
        ];
        match inner
            .script("count", codec::NEXT_COUNT, inner.keys.counter(id), args)
            .await
        {
            Some(n) => {
                let n = u64::try_from(n).unwrap_or(0);
                inner.l1.note_count(id, n);
                n
            }
            None => inner.l1.next_count(id, client).await,
        }
    }

    async fn next_known_count(&self, id: &str, client: u64) -> Option<u64> {
        let inner = &self.inner;
        let args = vec![
            client.min(MAX_COUNT).to_string(),
            "1".into(),
            millis(COUNTER_TTL).to_string(),
        ];
        match inner
            .script("count", codec::NEXT_COUNT, inner.keys.counter(id), args)
            .await
        {
            Some(n) if n >= 0 => {
                let n = u64::try_from(n).unwrap_or(0);
                inner.l1.note_count(id, n);
                Some(n)
            }
            // Unknown to Redis, perhaps confirmed here while it was away: this process's, shared.
            Some(_) => {
                let n = inner.l1.next_known_count(id, client).await?;
                self.confirm_count(id, n).await;
                Some(n)
            }
            None => inner.l1.next_known_count(id, client).await,
        }
    }

    async fn confirm_count(&self, id: &str, count: u64) {
        let inner = &self.inner;
        inner.l1.confirm_count(id, count).await;
        let args = vec![
            count.min(MAX_COUNT).to_string(),
            millis(COUNTER_TTL).to_string(),
        ];
        inner
            .script("count", codec::CONFIRM_COUNT, inner.keys.counter(id), args)
            .await;
    }

    async fn reset_count(&self, id: &str) {
        let inner = &self.inner;
        inner.l1.reset_count(id).await;
        let set = inner.link.calls().set::<(), _, _>(
            inner.keys.counter(id),
            0,
            Some(fred::types::Expiration::PX(
                i64::try_from(millis(COUNTER_TTL)).unwrap_or(i64::MAX),
            )),
            None,
            false,
        );
        inner.link.call("count", set).await;
    }

    async fn forget_count(&self, id: &str) {
        let inner = &self.inner;
        inner.l1.forget_count(id).await;
        let del = inner.link.calls().del::<i64, _>(inner.keys.counter(id));
        inner.link.call("count", del).await;
    }

    async fn advance_client_count(&self, key: &str, count: u64, create: bool) -> bool {
        let inner = &self.inner;
        let args = vec![
            count.min(MAX_COUNT).to_string(),
            if create { "1" } else { "0" }.into(),
            millis(COUNTER_TTL).to_string(),
        ];
        match inner
            .script("count", codec::ADVANCE, inner.keys.client_count(key), args)
            .await
        {
            Some(advanced) => advanced == 1,
            None => inner.l1.advance_client_count(key, count, create).await,
        }
    }

    async fn sessions_of(&self, subject: &str, now: UnixTime) -> Vec<Arc<Session>> {
        let inner = &self.inner;
        let mut found = inner.l1.sessions_of(subject, now).await;
        let index = inner.keys.subject(subject);
        let members = inner.link.calls().eval::<Vec<String>, _, _, _>(
            codec::INDEX_MEMBERS,
            index.clone(),
            vec![now_ms().to_string(), MAX_SUBJECT_SESSIONS.to_string()],
        );
        let Some(handles) = inner.link.call("index", members).await else {
            return found;
        };
        for h in handles {
            let get = inner
                .link
                .calls()
                .get::<Option<Bytes>, _>(inner.keys.session_by_handle(&h));
            let Some(copy) = inner.link.call("load", get).await else {
                break;
            };
            match copy.as_deref().and_then(codec::decode) {
                Some((s, _))
                    if handle(s.id.expose()) == h
                        && s.subject.id == subject
                        && !s.is_expired(now) =>
                {
                    if !found.iter().any(|f| f.id.expose() == s.id.expose()) {
                        found.push(Arc::new(s));
                    }
                }
                // Gone (expired, revoked): drop it from the index.
                _ => {
                    let zrem = inner.link.calls().eval::<i64, _, _, _>(
                        codec::UNINDEX,
                        index.clone(),
                        vec![h],
                    );
                    inner.link.call("index", zrem).await;
                }
            }
        }
        found
    }

    async fn sessions(&self, now: UnixTime) -> Vec<Arc<Session>> {
        // This replica's memory: listing every replica's would take a keyspace scan.
        self.inner.l1.sessions(now).await
    }

    async fn by_handle(&self, wanted: &str, now: UnixTime) -> Option<Arc<Session>> {
        let inner = &self.inner;
        let local = inner.l1.sessions(now).await;
        if let Some(found) = local.into_iter().find(|s| handle(s.id.expose()) == wanted) {
            return Some(found);
        }
        if wanted.len() != 16 || !wanted.bytes().all(|b| b.is_ascii_hexdigit()) {
            return None;
        }
        let get = inner
            .link
            .calls()
            .get::<Option<Bytes>, _>(inner.keys.session_by_handle(wanted));
        let (session, _) = codec::decode(&inner.link.call("load", get).await??)?;
        (handle(session.id.expose()) == wanted && !session.is_expired(now))
            .then(|| Arc::new(session))
    }

    fn state(&self) -> &'static str {
        if self.inner.link.is_up() {
            "up"
        } else {
            "degraded"
        }
    }

    async fn hit(&self, key: &str, window: Duration) -> u64 {
        let inner = &self.inner;
        let args = vec![millis(window).to_string()];
        match inner
            .script("throttle", codec::HIT, inner.keys.window(key), args)
            .await
        {
            Some(n) => u64::try_from(n).unwrap_or(0),
            None => inner.l1.hit(key, window).await,
        }
    }

    async fn hits(&self, key: &str) -> (u64, Duration) {
        let inner = &self.inner;
        let call = inner.link.calls().eval::<(i64, i64), _, _, _>(
            codec::HITS,
            inner.keys.window(key),
            Vec::<String>::new(),
        );
        match inner.link.call("throttle", call).await {
            Some((n, left)) if n > 0 && left > 0 => (
                u64::try_from(n).unwrap_or(0),
                Duration::from_millis(u64::try_from(left).unwrap_or(0)),
            ),
            Some(_) => (0, Duration::ZERO),
            None => inner.l1.hits(key).await,
        }
    }

    async fn live(&self) -> Vec<(Backend, u64)> {
        self.inner.l1.live().await
    }

    fn set_revalidate_after(&self, revalidate_after: Duration) {
        self.inner
            .revalidate_after
            .store(exact_millis(revalidate_after), Ordering::Relaxed);
        self.inner.l1.set_revalidate_after(revalidate_after);
    }

    fn set_max_stale(&self, max_stale: Duration) {
        self.inner.l1.set_max_stale(max_stale);
    }
}

/// Milliseconds, zero kept zero (`revalidate_after = 0` means every lookup asks the backend).
fn exact_millis(d: Duration) -> u64 {
    u64::try_from(d.as_millis()).unwrap_or(u64::MAX)
}
