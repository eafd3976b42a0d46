//! The session store of one process: sessions in moka ([`SessionCache`]), Net iD counters in a
//! sharded map ([`NetidCounters`]), throttling windows in another ([`Windows`]). Kept across
//! configuration reloads, so a SIGHUP never drops a session.

use std::collections::HashMap;
use std::future::Future;
use std::hash::BuildHasher;
use std::sync::Arc;
use std::time::{Duration, Instant};

use async_trait::async_trait;
use idbridge_session::{Backend, Session, UnixTime};
use parking_lot::Mutex;

use super::cache::{Fetched, Lookup, SessionCache};
use super::counters::NetidCounters;
use super::{Fetcher, SessionStore};
use crate::error::{GatewayError, Rejection};

/// See the module documentation. Cheap to clone; clones share everything.
#[derive(Clone)]
pub struct LocalStore {
    cache: SessionCache,
    /// Ids their backend refused, for `cache.negative_ttl`.
    refused: moka::sync::Cache<String, Rejection>,
    counters: NetidCounters,
    /// The highest `Count` each Net iD client sent per session (replay protection).
    client_counts: NetidCounters,
    windows: Windows,
}

// === impl LocalStore ===

impl LocalStore {
    pub fn new(max_sessions: u64, revalidate_after: Duration, negative_ttl: Duration) -> Self {
        Self {
            cache: SessionCache::new(max_sessions, revalidate_after),
            refused: moka::sync::Cache::builder()
                .max_capacity(max_sessions.min(100_000))
                .time_to_live(negative_ttl.max(Duration::from_millis(1)))
                .build(),
            counters: NetidCounters::new(max_sessions),
            client_counts: NetidCounters::new(max_sessions),
            windows: Windows::new(max_sessions),
        }
    }

    /// Runs pending cache maintenance, so counts are exact (tests, metrics scrapes).
    pub async fn sync(&self) {
        self.cache.sync().await;
    }

    /// Approximate number of cached sessions.
    pub fn len(&self) -> u64 {
        self.cache.len()
    }

    pub fn is_empty(&self) -> bool {
        self.cache.is_empty()
    }

    /// Net iD counters held now (tests, diagnostics).
    pub fn counters(&self) -> usize {
        self.counters.len()
    }

    /// [`SessionStore::get_or_fetch`] with a fetch that may find a session confirmed a while
    /// ago: the shared store's copy, behind this one.
    pub async fn get_or_fetch_with<F, Fut>(
        &self,
        id: &str,
        now: UnixTime,
        fetch: F,
    ) -> (Result<Arc<Session>, GatewayError>, Lookup)
    where
        F: FnOnce() -> Fut,
        Fut: Future<Output = Result<Fetched, GatewayError>>,
    {
        if let Some(why) = self.refused.get(id) {
            return (Err(GatewayError::NotLoggedIn(why)), Lookup::Refused);
        }
        match self.cache.get_or_fetch_with(id, now, fetch).await {
            Ok((session, how)) => (Ok(session), how),
            Err(e) => {
                if let GatewayError::NotLoggedIn(why @ (Rejection::NotFound | Rejection::Invalid)) =
                    *e
                {
                    self.refused.insert(id.to_owned(), why);
                }
                (Err(GatewayError::clone(&e)), Lookup::Miss)
            }
        }
    }

    /// The per-session Net iD counter, where the shared store keeps the authoritative one: the
    /// last value it handed out, so a fallback to this process continues above it.
    pub fn note_count(&self, id: &str, count: u64) {
        self.counters.confirm(id, count);
    }
}

#[async_trait]
impl SessionStore for LocalStore {
    async fn get_or_fetch(
        &self,
        id: &str,
        now: UnixTime,
        fetch: &Fetcher<'_>,
    ) -> (Result<Arc<Session>, GatewayError>, Lookup) {
        self.get_or_fetch_with(id, now, || async { fetch().await.map(Fetched::now) })
            .await
    }

    async fn insert(&self, session: Session, now: UnixTime) -> Option<Arc<Session>> {
        self.refused.invalidate(session.id.expose());
        self.cache.insert(session, now).await
    }

    async fn revoke(&self, id: &str) -> Option<Arc<Session>> {
        self.cache.remove(id).await
    }

    async fn is_revoked(&self, id: &str) -> bool {
        self.cache.is_logged_out(id)
    }

    async fn next_count(&self, id: &str, client: u64) -> u64 {
        self.counters.next(id, client)
    }

    async fn next_known_count(&self, id: &str, client: u64) -> Option<u64> {
        self.counters.next_known(id, client)
    }

    async fn confirm_count(&self, id: &str, count: u64) {
        self.counters.confirm(id, count);
    }

    async fn reset_count(&self, id: &str) {
        self.counters.reset(id);
    }

    async fn forget_count(&self, id: &str) {
        self.counters.forget(id);
    }

    async fn advance_client_count(&self, key: &str, count: u64, create: bool) -> bool {
        self.client_counts.advance(key, count, create)
    }

    async fn sessions_of(&self, subject: &str, now: UnixTime) -> Vec<Arc<Session>> {
        self.cache.sessions_of(subject, now)
    }

    async fn sessions(&self, now: UnixTime) -> Vec<Arc<Session>> {
        self.cache.sessions(now)
    }

    async fn hit(&self, key: &str, window: Duration) -> u64 {
        self.windows.hit(key, window)
    }

    async fn hits(&self, key: &str) -> (u64, Duration) {
        self.windows.hits(key)
    }

    async fn live(&self) -> Vec<(Backend, u64)> {
        self.cache.sync().await;
        self.cache.live()
    }

    fn set_revalidate_after(&self, revalidate_after: Duration) {
        self.cache.set_revalidate_after(revalidate_after);
    }

    fn set_max_stale(&self, max_stale: Duration) {
        self.cache.set_max_stale(max_stale);
    }
}

/// Fixed-window event counters for throttling, keyed by a 64-bit keyed hash of the key (so a
/// client cannot choose keys that collide), bounded in number: past `max`, expired windows are
/// dropped first, then the oldest.
#[derive(Clone)]
pub struct Windows {
    inner: Arc<WindowsInner>,
}

struct WindowsInner {
    hasher: std::collections::hash_map::RandomState,
    shards: Vec<Mutex<HashMap<u64, Window>>>,
    max_per_shard: usize,
    epoch: Instant,
}

#[derive(Clone, Copy)]
struct Window {
    /// Milliseconds since `epoch` when the window started and ends.
    start: u64,
    end: u64,
    count: u64,
}

const WINDOW_SHARDS: usize = 16;

impl std::fmt::Debug for LocalStore {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("LocalStore")
            .field("cache", &self.cache)
            .field("counters", &self.counters)
            .field("refused", &self.refused.entry_count())
            .finish()
    }
}

impl std::fmt::Debug for Windows {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Windows")
            .field("max", &(self.inner.max_per_shard * WINDOW_SHARDS))
            .finish()
    }
}

// === impl Windows ===

impl Windows {
    pub fn new(max: u64) -> Self {
        let max_per_shard = usize::try_from(max)
            .unwrap_or(usize::MAX)
            .div_ceil(WINDOW_SHARDS)
            .max(1);
        Self {
            inner: Arc::new(WindowsInner {
                hasher: Default::default(),
                shards: (0..WINDOW_SHARDS).map(|_| Mutex::default()).collect(),
                max_per_shard,
                epoch: Instant::now(),
            }),
        }
    }

    /// The count in `key`'s current window and the time left in it.
    pub fn hits(&self, key: &str) -> (u64, Duration) {
        let inner = &self.inner;
        let hash = inner.hasher.hash_one(key);
        let now = u64::try_from(inner.epoch.elapsed().as_millis()).unwrap_or(u64::MAX);
        let shard = inner.shards[(hash % WINDOW_SHARDS as u64) as usize].lock();
        match shard.get(&hash) {
            Some(w) if w.end > now => (w.count, Duration::from_millis(w.end - now)),
            _ => (0, Duration::ZERO),
        }
    }

    pub fn hit(&self, key: &str, window: Duration) -> u64 {
        let inner = &self.inner;
        let hash = inner.hasher.hash_one(key);
        let now = u64::try_from(inner.epoch.elapsed().as_millis()).unwrap_or(u64::MAX);
        let length = u64::try_from(window.as_millis()).unwrap_or(u64::MAX);
        let mut shard = inner.shards[(hash % WINDOW_SHARDS as u64) as usize].lock();
        if !shard.contains_key(&hash) && shard.len() >= inner.max_per_shard {
            shard.retain(|_, w| w.end > now);
            if shard.len() >= inner.max_per_shard
                && let Some(oldest) = shard.iter().min_by_key(|(_, w)| w.start).map(|(k, _)| *k)
            {
                shard.remove(&oldest);
            }
        }
        let w = shard.entry(hash).or_insert(Window {
            start: now,
            end: now.saturating_add(length),
            count: 0,
        });
        if w.end <= now {
            *w = Window {
                start: now,
                end: now.saturating_add(length),
                count: 0,
            };
        }
        w.count += 1;
        w.count
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn windows_count_then_start_over() {
        let w = Windows::new(100);
        assert_eq!(w.hit("a", Duration::from_secs(60)), 1);
        assert_eq!(w.hit("a", Duration::from_secs(60)), 2);
        assert_eq!(w.hit("b", Duration::from_secs(60)), 1);
        assert_eq!(w.hit("c", Duration::ZERO), 1);
        assert_eq!(w.hit("c", Duration::ZERO), 1, "an ended window starts over");
        let (count, left) = w.hits("a");
        assert_eq!(count, 2);
        assert!(left > Duration::from_secs(59) && left <= Duration::from_secs(60));
        assert_eq!(w.hits("c"), (0, Duration::ZERO));
        assert_eq!(w.hits("never"), (0, Duration::ZERO));
    }

    #[test]
    fn windows_are_bounded() {
        let w = Windows::new(32);
        for i in 0..1000 {
            w.hit(&format!("k{i}"), Duration::from_secs(60));
        }
        let held: usize = w.inner.shards.iter().map(|s| s.lock().len()).sum();
        assert!(held <= 32, "{held}");
    }
}
