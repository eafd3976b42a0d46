//! The in-process session cache: `Arc<Session>`s in moka, keyed by backend session id, with the
//! index of sessions by subject and the live count per backend kept beside it. The key is the
//! session's own id string (`SessionId::shared`), not a copy: at a million sessions every
//! per-entry byte counts (benches/RESULTS.md).
//!
//! How it keeps the store's rules ([`super`]):
//! - per-entry expiry is the session's own time to live;
//! - concurrent misses for one key make one upstream call (moka `try_get_with`);
//! - after `revalidate_after` an entry is stale: the next lookup refreshes it, again coalesced,
//!   and a failed refresh serves the stale entry within its expiry and within `max_stale` of
//!   its last confirmation; past `max_stale` it is refused as unconfirmed (503) until the backend
//!   confirms it again;
//! - revocation leaves a tombstone, so a fetch already in flight cannot bring the session back;
//! - the subject index and the live counts follow moka's removal notifications, so neither needs
//!   a scan.

use std::future::Future;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::{Duration, Instant};

use idbridge_session::{Backend, Session, SessionId, UnixTime};
use moka::Expiry;
use moka::future::Cache;

use self::index::Index;
use crate::error::{GatewayError, Rejection};

/// The least time a logged-out id stays refused locally: it outlives any fetch in flight at
/// logout (bounded by the upstream timeout). A session the cache held stays refused until its
/// own expiry, so a logout its backend never heard of cannot come back to life.
const TOMBSTONE_TTL: Duration = Duration::from_secs(600);
/// After a failed refresh, how long a stale entry is served before the next refresh attempt, so a
/// down backend is not asked once per request.
const REFRESH_BACKOFF: Duration = Duration::from_secs(5);

/// How a lookup was answered; the label of the `idbridge_cache_lookups_total` metric.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Lookup {
    /// Answered from a fresh entry.
    Hit,
    /// Fetched from upstream by this lookup.
    Miss,
    /// Waited for another lookup's upstream call for the same key.
    Coalesced,
    /// A stale entry served because the refresh failed (backend down).
    Stale,
    /// Refused without a call: the backend said this id is no session a moment ago.
    Refused,
    /// Answered from the shared store (Redis): another replica's copy, no backend call.
    Shared,
}

impl Lookup {
    pub const ALL: [Lookup; 6] = [
        Self::Hit,
        Self::Miss,
        Self::Coalesced,
        Self::Stale,
        Self::Refused,
        Self::Shared,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Self::Hit => "hit",
            Self::Miss => "miss",
            Self::Coalesced => "coalesced",
            Self::Stale => "stale",
            Self::Refused => "refused",
            Self::Shared => "shared",
        }
    }
}

/// What a fetch found: a session, and how long ago its backend confirmed it (zero for a session
/// its backend just answered for; more for one another replica confirmed earlier).
#[derive(Debug)]
pub struct Fetched {
    pub session: Session,
    pub age: Duration,
    /// The backend was asked and could not answer; the session is a shared copy served stale,
    /// and the next refresh comes after the usual back-off.
    pub unconfirmed: bool,
}

impl Fetched {
    /// A session its backend just answered for.
    pub fn now(session: Session) -> Self {
        Self {
            session,
            age: Duration::ZERO,
            unconfirmed: false,
        }
    }
}

/// One cached session and when the backend last confirmed it.
#[derive(Debug)]
struct Entry {
    session: Arc<Session>,
    /// Monotonic time of the last upstream confirmation or, after a failed refresh, the time that
    /// makes the next attempt come `REFRESH_BACKOFF` later.
    checked: Instant,
    /// Monotonic time of the last upstream confirmation (a login, a status answer). An entry
    /// with `checked != confirmed` is backing off after a failed refresh.
    confirmed: Instant,
    /// Time to live computed at insert from the session's expiry and the wall clock then.
    ttl: Duration,
}

struct SessionExpiry;

/// A tombstone lives as long as its value says.
struct TombstoneExpiry;

impl Expiry<String, Duration> for TombstoneExpiry {
    fn expire_after_create(&self, _: &String, ttl: &Duration, _: Instant) -> Option<Duration> {
        Some(*ttl)
    }
}

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
    /// Logged-out ids, each with how long it stays refused.
    tombstones: Cache<String, Duration>,
    /// In milliseconds; a reload changes it for every clone at once.
    revalidate_after: Arc<AtomicU64>,
    /// In milliseconds, likewise.
    max_stale: Arc<AtomicU64>,
    index: Arc<Index>,
}

impl std::fmt::Debug for SessionCache {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SessionCache")
            .field("entries", &self.sessions.entry_count())
            .field("revalidate_after", &self.revalidate_after())
            .finish()
    }
}

// === impl SessionCache ===

impl SessionCache {
    pub fn new(max_sessions: u64, revalidate_after: Duration) -> Self {
        let index = Arc::new(Index::default());
        let unindex = index.clone();
        Self {
            sessions: Cache::builder()
                .max_capacity(max_sessions)
                .expire_after(SessionExpiry)
                .eviction_listener(move |key, entry: Arc<Entry>, cause| {
                    unindex.removed(&key, &entry, cause)
                })
                .build(),
            refreshes: Cache::builder()
                .max_capacity(max_sessions.min(100_000))
                .time_to_live(Duration::from_secs(60))
                .build(),
            tombstones: Cache::builder()
                .max_capacity(max_sessions)
                .expire_after(TombstoneExpiry)
                .build(),
            revalidate_after: Arc::new(AtomicU64::new(millis(revalidate_after))),
            max_stale: Arc::new(AtomicU64::new(u64::MAX)),
            index,
        }
    }

    /// Applies a reloaded revalidation age to every clone of this cache.
    pub fn set_revalidate_after(&self, revalidate_after: Duration) {
        self.revalidate_after
            .store(millis(revalidate_after), Ordering::Relaxed);
    }

    /// Applies `cache.max_stale` to every clone of this cache (unbounded until set).
    pub fn set_max_stale(&self, max_stale: Duration) {
        self.max_stale.store(millis(max_stale), Ordering::Relaxed);
    }

    fn max_stale(&self) -> Duration {
        Duration::from_millis(self.max_stale.load(Ordering::Relaxed))
    }

    fn revalidate_after(&self) -> Duration {
        Duration::from_millis(self.revalidate_after.load(Ordering::Relaxed))
    }

    /// Stores `entry` under `key` and indexes it.
    async fn store(&self, key: Arc<str>, entry: Arc<Entry>) {
        self.index.stored(&key, &entry);
        self.sessions.insert(key, entry).await;
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
        self.store(key, entry).await;
        Some(session)
    }

    /// The cached session for `key` if present, unexpired and not logged out; never calls upstream.
    #[cfg(test)]
    pub async fn peek(&self, key: &str, now: UnixTime) -> Option<Arc<Session>> {
        if self.tombstones.contains_key(key) {
            return None;
        }
        let entry = self.sessions.get(key).await?;
        (!entry.session.is_expired(now)).then(|| entry.session.clone())
    }

    /// The session for `key`: from the cache when fresh, else from `fetch` (coalesced per key).
    #[cfg(test)]
    pub async fn get_or_fetch<F, Fut>(
        &self,
        key: &str,
        now: UnixTime,
        fetch: F,
    ) -> Result<(Arc<Session>, Lookup), Arc<GatewayError>>
    where
        F: FnOnce() -> Fut,
        Fut: Future<Output = Result<Session, GatewayError>>,
    {
        self.get_or_fetch_with(key, now, || async { fetch().await.map(Fetched::now) })
            .await
    }

    /// [`Self::get_or_fetch`] with a fetch that may find a session confirmed a while ago (a copy
    /// another replica shared).
    pub async fn get_or_fetch_with<F, Fut>(
        &self,
        key: &str,
        now: UnixTime,
        fetch: F,
    ) -> Result<(Arc<Session>, Lookup), Arc<GatewayError>>
    where
        F: FnOnce() -> Fut,
        Fut: Future<Output = Result<Fetched, GatewayError>>,
    {
        if self.tombstones.contains_key(key) {
            return Err(Arc::new(GatewayError::NotLoggedIn(Rejection::LoggedOut)));
        }
        let cached = self
            .sessions
            .get(key)
            .await
            .filter(|e| !e.session.is_expired(now));
        let result = match cached {
            Some(e) => {
                // One clock read for both ages: this is every cache hit.
                let clock = Instant::now();
                let recent = clock.saturating_duration_since(e.checked) < self.revalidate_after();
                if recent && clock.saturating_duration_since(e.confirmed) < self.max_stale() {
                    return Ok((e.session.clone(), Lookup::Hit));
                }
                // Backing off after a failed refresh, and past max_stale: not asked again yet.
                if recent && e.checked != e.confirmed {
                    return Err(Arc::new(GatewayError::Unconfirmed));
                }
                self.refresh(key, now, e, fetch).await?
            }
            None => {
                if self.sessions.contains_key(key) {
                    // Expired by the wall clock before moka's timer caught up: drop it.
                    self.sessions.invalidate(key).await;
                }
                let ran = AtomicBool::new(false);
                let shared: Arc<str> = Arc::from(key);
                let init = async {
                    ran.store(true, Ordering::Relaxed);
                    let fetched = fetch().await?;
                    let entry = self.checked_entry(shared.clone(), fetched, now, None)?;
                    // moka stores what this returns.
                    self.index.stored(&shared, &entry);
                    Ok::<_, GatewayError>(entry)
                };
                let e = self.sessions.try_get_with(shared.clone(), init).await?;
                let how = if !ran.load(Ordering::Relaxed) {
                    Lookup::Coalesced
                } else if e.checked != e.confirmed {
                    Lookup::Stale
                } else {
                    Lookup::Miss
                };
                (e.session.clone(), how)
            }
        };
        // A logout may have landed while the fetch was in flight; it wins.
        if self.tombstones.contains_key(key) {
            self.sessions.invalidate(key).await;
            return Err(Arc::new(GatewayError::NotLoggedIn(Rejection::LoggedOut)));
        }
        Ok(result)
    }

    async fn refresh<F, Fut>(
        &self,
        key: &str,
        now: UnixTime,
        stale: Arc<Entry>,
        fetch: F,
    ) -> Result<(Arc<Session>, Lookup), Arc<GatewayError>>
    where
        F: FnOnce() -> Fut,
        Fut: Future<Output = Result<Fetched, GatewayError>>,
    {
        let ran = AtomicBool::new(false);
        let init = async {
            ran.store(true, Ordering::Relaxed);
            let fetched = fetch().await;
            match fetched {
                Ok(fetched) => {
                    let e = self.checked_entry(
                        stale.session.id.shared(),
                        fetched,
                        now,
                        Some(stale.confirmed),
                    )?;
                    self.store(e.session.id.shared(), e.clone()).await;
                    Ok(e)
                }
                Err(e @ GatewayError::NotLoggedIn(_)) => {
                    self.sessions.invalidate(key).await;
                    Err(e)
                }
                Err(e) => {
                    // Backend down or misbehaving: keep serving the stale entry within its expiry,
                    // and wait a little before asking again.
                    let retry_at = self.retry_at();
                    let backoff = Arc::new(Entry {
                        session: stale.session.clone(),
                        checked: retry_at,
                        confirmed: stale.confirmed,
                        ttl: stale.session.time_to_live(now),
                    });
                    if !backoff.ttl.is_zero() {
                        self.store(stale.session.id.shared(), backoff).await;
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
                    Lookup::Coalesced
                } else if e.checked != e.confirmed {
                    Lookup::Stale
                } else {
                    Lookup::Miss
                },
            )),
            Err(e) if matches!(*e, GatewayError::Upstream(_)) => {
                let unconfirmed = stale.confirmed.elapsed();
                if unconfirmed < self.max_stale() {
                    return Ok((stale.session.clone(), Lookup::Stale));
                }
                if !coalesced {
                    tracing::warn!(
                        backend = stale.session.backend.as_str(),
                        unconfirmed_secs = unconfirmed.as_secs(),
                        error = %e,
                        "the backend cannot confirm a session past cache.max_stale: answering 503"
                    );
                }
                Err(Arc::new(GatewayError::Unconfirmed))
            }
            Err(e) => Err(e),
        }
    }

    /// The entry for a session just fetched for `key`. The backend answered for that id, so the
    /// session takes the key's string as its id: key and session share one copy. Its
    /// confirmation time is `fetched.age` ago, never before `confirmed_before` (the entry it
    /// replaces); an unconfirmed one is retried after the back-off, and refused past `max_stale`.
    fn checked_entry(
        &self,
        key: Arc<str>,
        fetched: Fetched,
        now: UnixTime,
        confirmed_before: Option<Instant>,
    ) -> Result<Arc<Entry>, GatewayError> {
        if self.tombstones.contains_key(&*key) {
            return Err(GatewayError::NotLoggedIn(Rejection::LoggedOut));
        }
        let Fetched {
            mut session,
            age,
            unconfirmed,
        } = fetched;
        session.id = SessionId::from(key);
        let clock = Instant::now();
        let mut confirmed = clock.checked_sub(age).unwrap_or(clock);
        if let Some(before) = confirmed_before {
            confirmed = confirmed.max(before);
        }
        if unconfirmed && clock.saturating_duration_since(confirmed) >= self.max_stale() {
            return Err(GatewayError::Unconfirmed);
        }
        let checked = if unconfirmed {
            self.retry_at()
        } else {
            confirmed
        };
        let ttl = session.time_to_live(now);
        if ttl.is_zero() {
            return Err(GatewayError::NotLoggedIn(Rejection::NotFound));
        }
        Ok(Arc::new(Entry {
            session: Arc::new(session),
            checked,
            confirmed,
            ttl,
        }))
    }

    /// The `checked` time that makes the next refresh come `REFRESH_BACKOFF` from now.
    fn retry_at(&self) -> Instant {
        Instant::now()
            .checked_sub(self.revalidate_after().saturating_sub(REFRESH_BACKOFF))
            .unwrap_or_else(Instant::now)
    }

    /// Logs `key` out locally: drops it and refuses it from now on, whatever is in flight.
    pub async fn remove(&self, key: &str) -> Option<Arc<Session>> {
        let now = UnixTime::from_system(std::time::SystemTime::now());
        let lives = match self.sessions.get(key).await {
            Some(e) => e.session.time_to_live(now).max(TOMBSTONE_TTL),
            None => TOMBSTONE_TTL,
        };
        self.tombstones.insert(key.to_owned(), lives).await;
        self.refreshes.invalidate(key).await;
        self.sessions.remove(key).await.map(|e| e.session.clone())
    }

    /// Whether `key` was logged out through the gateway recently.
    pub fn is_logged_out(&self, key: &str) -> bool {
        self.tombstones.contains_key(key)
    }

    /// Every cached, unexpired session. O(n): for the admin listing.
    pub fn sessions(&self, now: UnixTime) -> Vec<Arc<Session>> {
        self.sessions
            .iter()
            .filter(|(_, e)| !e.session.is_expired(now))
            .map(|(_, e)| e.session.clone())
            .collect()
    }

    /// The cached, unexpired, not logged-out sessions of `subject`, from the index.
    pub fn sessions_of(&self, subject: &str, now: UnixTime) -> Vec<Arc<Session>> {
        self.index
            .of(subject)
            .into_iter()
            .filter(|e| !e.session.is_expired(now) && !self.is_logged_out(e.session.id.expose()))
            .map(|e| e.session.clone())
            .collect()
    }

    /// Cached sessions per backend, as notifications have reported them (run [`Self::sync`]
    /// first for an exact figure).
    pub fn live(&self) -> Vec<(Backend, u64)> {
        let mut live: Vec<_> = self
            .index
            .live
            .lock()
            .iter()
            .map(|(b, n)| (*b, *n))
            .collect();
        live.sort();
        live
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

fn millis(d: Duration) -> u64 {
    u64::try_from(d.as_millis()).unwrap_or(u64::MAX)
}

fn entry(mut session: Session, now: UnixTime) -> Option<Arc<Entry>> {
    let ttl = session.time_to_live(now);
    (!ttl.is_zero()).then(|| {
        session.shrink_to_fit();
        let confirmed = Instant::now();
        Arc::new(Entry {
            session: Arc::new(session),
            checked: confirmed,
            confirmed,
            ttl,
        })
    })
}

mod index;
#[cfg(test)]
mod tests;
