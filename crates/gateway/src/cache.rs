//! The session cache: `Arc<Session>`s in moka, keyed by backend session id. The key is the
//! session's own id string (`SessionId::shared`), not a copy: at a million sessions every
//! per-entry byte counts (benches/RESULTS.md).
//!
//! Rules it keeps (DESIGN §2):
//! - an entry never outlives its session: per-entry expiry is the session's own time to live;
//! - concurrent misses for one key make exactly one upstream call (moka `try_get_with`), and a
//!   failed call is shared by its waiters but never cached;
//! - after `revalidate_after` an entry is stale: the next lookup refreshes it from upstream, again
//!   coalesced; if the backend is down the stale entry is served while it is still within expiry,
//!   so a backend hiccup never logs anyone out;
//! - logout leaves a tombstone, so a fetch already in flight cannot bring the session back.

use std::future::Future;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use idbridge_session::{Session, SessionId, UnixTime};
use moka::Expiry;
use moka::future::Cache;

use crate::error::{FetchError, Rejection};

/// How long a logged-out id stays refused locally. It only has to outlive any fetch that was in
/// flight at logout (bounded by the upstream timeout); after that the backend itself refuses the id.
const TOMBSTONE_TTL: Duration = Duration::from_secs(600);
/// After a failed refresh, how long a stale entry is served before the next refresh attempt, so a
/// down backend is not asked once per request.
const REFRESH_BACKOFF: Duration = Duration::from_secs(5);

/// How a lookup was answered; the label of the `idbridge_cache_lookups_total` metric.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum CacheResult {
    /// Answered from a fresh entry.
    Hit,
    /// Fetched from upstream by this lookup.
    Miss,
    /// Waited for another lookup's upstream call for the same key.
    Coalesced,
    /// A stale entry served because the refresh failed (backend down).
    Stale,
}

impl CacheResult {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Hit => "hit",
            Self::Miss => "miss",
            Self::Coalesced => "coalesced",
            Self::Stale => "stale",
        }
    }
}

/// One cached session and when the backend last confirmed it.
#[derive(Debug)]
struct Entry {
    session: Arc<Session>,
    /// Monotonic time of the last upstream confirmation (or failed refresh attempt).
    checked: Instant,
    /// Time to live computed at insert from the session's expiry and the wall clock then.
    ttl: Duration,
}

struct SessionExpiry;

impl Expiry<Arc<str>, Arc<Entry>> for SessionExpiry {
    fn expire_after_create(
        &self,
        _: &Arc<str>,
        value: &Arc<Entry>,
        _: Instant,
    ) -> Option<Duration> {
        Some(value.ttl)
    }

    fn expire_after_update(
        &self,
        _: &Arc<str>,
        value: &Arc<Entry>,
        _: Instant,
        _: Option<Duration>,
    ) -> Option<Duration> {
        Some(value.ttl)
    }
}

/// The gateway's session cache. Cheap to clone; clones share the cache.
#[derive(Clone)]
pub struct SessionCache {
    sessions: Cache<Arc<str>, Arc<Entry>>,
    /// Single-flight for refreshes of present-but-stale entries (`sessions` coalesces misses).
    refreshes: Cache<String, Arc<Entry>>,
    tombstones: Cache<String, ()>,
    revalidate_after: Duration,
}

impl std::fmt::Debug for SessionCache {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SessionCache")
            .field("entries", &self.sessions.entry_count())
            .field("revalidate_after", &self.revalidate_after)
            .finish()
    }
}

// === impl SessionCache ===

impl SessionCache {
    pub fn new(max_sessions: u64, revalidate_after: Duration) -> Self {
        Self {
            sessions: Cache::builder()
                .max_capacity(max_sessions)
                .expire_after(SessionExpiry)
                .build(),
            refreshes: Cache::builder()
                .max_capacity(max_sessions.min(100_000))
                .time_to_live(Duration::from_secs(60))
                .build(),
            tombstones: Cache::builder()
                .max_capacity(max_sessions)
                .time_to_live(TOMBSTONE_TTL)
                .build(),
            revalidate_after,
        }
    }

    /// The same cache (shared entries) with another revalidation age, for a configuration reload.
    pub fn with_revalidate_after(&self, revalidate_after: Duration) -> Self {
        Self {
            revalidate_after,
            ..self.clone()
        }
    }

    /// Stores a session the gateway just saw confirmed by its backend (a login, a status answer).
    /// A session that is already expired, or was logged out, is not stored.
    pub async fn insert(&self, session: Session, now: UnixTime) -> Option<Arc<Session>> {
        if self.tombstones.contains_key(session.id.expose()) {
            return None;
        }
        let key = session.id.shared();
        let entry = entry(session, now)?;
        let session = entry.session.clone();
        self.sessions.insert(key, entry).await;
        Some(session)
    }

    /// The cached session for `key` if present, unexpired and not logged out; never calls upstream.
    pub async fn peek(&self, key: &str, now: UnixTime) -> Option<Arc<Session>> {
        if self.tombstones.contains_key(key) {
            return None;
        }
        let entry = self.sessions.get(key).await?;
        (!entry.session.is_expired(now)).then(|| entry.session.clone())
    }

    /// The session for `key`: from the cache when fresh, else from `fetch` (coalesced per key).
    pub async fn get_or_fetch<F, Fut>(
        &self,
        key: &str,
        now: UnixTime,
        fetch: F,
    ) -> Result<(Arc<Session>, CacheResult), Arc<FetchError>>
    where
        F: FnOnce() -> Fut,
        Fut: Future<Output = Result<Session, FetchError>>,
    {
        if self.tombstones.contains_key(key) {
            return Err(Arc::new(FetchError::Rejected(Rejection::LoggedOut)));
        }
        let cached = self
            .sessions
            .get(key)
            .await
            .filter(|e| !e.session.is_expired(now));
        let result = match cached {
            Some(e) if e.checked.elapsed() < self.revalidate_after => {
                return Ok((e.session.clone(), CacheResult::Hit));
            }
            Some(stale) => self.refresh(key, now, stale, fetch).await?,
            None => {
                if self.sessions.contains_key(key) {
                    // Expired by the wall clock before moka's timer caught up: drop it.
                    self.sessions.invalidate(key).await;
                }
                let ran = AtomicBool::new(false);
                let shared: Arc<str> = Arc::from(key);
                let init = async {
                    ran.store(true, Ordering::Relaxed);
                    let session = fetch().await?;
                    self.checked_entry(shared.clone(), session, now)
                };
                let e = self.sessions.try_get_with(shared.clone(), init).await?;
                let how = if ran.load(Ordering::Relaxed) {
                    CacheResult::Miss
                } else {
                    CacheResult::Coalesced
                };
                (e.session.clone(), how)
            }
        };
        // A logout may have landed while the fetch was in flight; it wins.
        if self.tombstones.contains_key(key) {
            self.sessions.invalidate(key).await;
            return Err(Arc::new(FetchError::Rejected(Rejection::LoggedOut)));
        }
        Ok(result)
    }

    async fn refresh<F, Fut>(
        &self,
        key: &str,
        now: UnixTime,
        stale: Arc<Entry>,
        fetch: F,
    ) -> Result<(Arc<Session>, CacheResult), Arc<FetchError>>
    where
        F: FnOnce() -> Fut,
        Fut: Future<Output = Result<Session, FetchError>>,
    {
        let ran = AtomicBool::new(false);
        let init = async {
            ran.store(true, Ordering::Relaxed);
            let fetched = fetch().await;
            match fetched {
                Ok(session) => {
                    let e = self.checked_entry(stale.session.id.shared(), session, now)?;
                    self.sessions.insert(e.session.id.shared(), e.clone()).await;
                    Ok(e)
                }
                Err(FetchError::Rejected(reason)) => {
                    self.sessions.invalidate(key).await;
                    Err(FetchError::Rejected(reason))
                }
                Err(e) => {
                    // Backend down or misbehaving: keep serving the stale entry within its expiry,
                    // and wait a little before asking again.
                    let retry_at = Instant::now()
                        .checked_sub(self.revalidate_after.saturating_sub(REFRESH_BACKOFF))
                        .unwrap_or_else(Instant::now);
                    let backoff = Arc::new(Entry {
                        session: stale.session.clone(),
                        checked: retry_at,
                        ttl: stale.session.time_to_live(now),
                    });
                    if !backoff.ttl.is_zero() {
                        self.sessions
                            .insert(stale.session.id.shared(), backoff)
                            .await;
                    }
                    Err(e)
                }
            }
        };
        let result = self.refreshes.try_get_with_by_ref(key, init).await;
        let coalesced = !ran.load(Ordering::Relaxed);
        if !coalesced {
            self.refreshes.invalidate(key).await;
        }
        match result {
            Ok(e) => Ok((
                e.session.clone(),
                if coalesced {
                    CacheResult::Coalesced
                } else {
                    CacheResult::Miss
                },
            )),
            Err(e) if matches!(*e, FetchError::Upstream(_)) => {
                Ok((stale.session.clone(), CacheResult::Stale))
            }
            Err(e) => Err(e),
        }
    }

    /// The entry for a session just fetched for `key`. The backend answered for that id, so the
    /// session takes the key's string as its id: key and session share one copy.
    fn checked_entry(
        &self,
        key: Arc<str>,
        mut session: Session,
        now: UnixTime,
    ) -> Result<Arc<Entry>, FetchError> {
        if self.tombstones.contains_key(&*key) {
            return Err(FetchError::Rejected(Rejection::LoggedOut));
        }
        session.id = SessionId::from(key);
        entry(session, now).ok_or(FetchError::Rejected(Rejection::NotFound))
    }

    /// Logs `key` out locally: drops it and refuses it from now on, whatever is in flight.
    pub async fn remove(&self, key: &str) -> Option<Arc<Session>> {
        self.tombstones.insert(key.to_owned(), ()).await;
        self.refreshes.invalidate(key).await;
        self.sessions.remove(key).await.map(|e| e.session.clone())
    }

    /// Whether `key` was logged out through the gateway recently.
    pub fn is_logged_out(&self, key: &str) -> bool {
        self.tombstones.contains_key(key)
    }

    /// Every cached, unexpired session with its cache key. O(n): for the admin API and scrapes.
    pub fn sessions(&self, now: UnixTime) -> Vec<(Arc<str>, Arc<Session>)> {
        self.sessions
            .iter()
            .filter(|(_, e)| !e.session.is_expired(now))
            .map(|(k, e)| (Arc::clone(&*k), e.session.clone()))
            .collect()
    }

    /// Live sessions per backend: (EnOS, Net iD). O(n), like [`SessionCache::sessions`].
    pub fn count_by_backend(&self, now: UnixTime) -> (i64, i64) {
        self.sessions
            .iter()
            .filter(|(_, e)| !e.session.is_expired(now))
            .fold((0, 0), |(e, n), (_, entry)| match entry.session.backend {
                idbridge_session::Backend::ENOS => (e + 1, n),
                _ => (e, n + 1),
            })
    }

    /// Approximate number of cached sessions.
    pub fn len(&self) -> u64 {
        self.sessions.entry_count()
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Runs moka's pending maintenance so counts are exact (tests, metrics scrapes).
    pub async fn sync(&self) {
        self.sessions.run_pending_tasks().await;
    }
}

fn entry(session: Session, now: UnixTime) -> Option<Arc<Entry>> {
    let ttl = session.time_to_live(now);
    (!ttl.is_zero()).then(|| {
        Arc::new(Entry {
            session: Arc::new(session),
            checked: Instant::now(),
            ttl,
        })
    })
}

#[cfg(test)]
mod tests;
