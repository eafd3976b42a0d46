//! The session store: what the gateway remembers between requests, behind one trait.
//!
//! Sessions keyed by backend session id, revocation markers, Net iD upstream call counters and
//! the highest `Count` each client has sent, an index of sessions by subject, and counters for
//! throttling. [`LocalStore`] keeps all of it in this process (moka); [`RedisStore`] puts
//! Redis behind it, so replicas behave as one (`store.redis_url`).
//!
//! Rules every implementation keeps (DESIGN §2):
//! - a session is never kept beyond its own expiry;
//! - concurrent lookups of one unknown session make exactly one backend call, and a failed call
//!   is shared by its waiters but never stored;
//! - past `revalidate_after`, a lookup refreshes from the backend; if the backend cannot answer,
//!   the stored session is served within its expiry and within `cache.max_stale` of its last
//!   confirmation (a backend hiccup logs nobody out), and past that refused as unconfirmed, 503
//!   (a session revoked at a backend that stays down is not served for days either);
//! - a revoked session stays refused, whatever fetch was in flight when it was revoked;
//! - an id its backend said is no session is refused, without asking again, for a short while
//!   (`cache.negative_ttl`): made-up ids do not turn into a stream of backend calls.

mod cache;
mod counters;
mod local;
mod redis;

use std::fmt;
use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;
use idbridge_session::{Backend, Session, UnixTime};

use crate::error::GatewayError;

pub use cache::{Fetched, Lookup};
pub use local::LocalStore;
pub use redis::{RedisStore, StoreError};

use sha2::{Digest, Sha256};

/// A stable, non-secret name for a session id (or any secret key): the first 16 hex digits of
/// SHA-256. The admin API names sessions by it; the shared store names its keys by it.
pub fn handle(id: &str) -> String {
    use std::fmt::Write;
    Sha256::digest(id.as_bytes())
        .iter()
        .take(8)
        .fold(String::with_capacity(16), |mut s, b| {
            let _ = write!(s, "{b:02x}");
            s
        })
}

/// A fetch from the backend, started only when the store needs it.
pub type Fetch<'a> = Pin<Box<dyn Future<Output = Result<Session, GatewayError>> + Send + 'a>>;

/// Makes the [`Fetch`] for a lookup; not called at all on a hit.
pub type Fetcher<'a> = dyn Fn() -> Fetch<'a> + Send + Sync + 'a;

/// See the module documentation.
#[async_trait]
pub trait SessionStore: Send + Sync + fmt::Debug {
    /// Waits, briefly, for whatever the store connects to; it starts degraded rather than not
    /// at all.
    async fn start(&self) {}

    /// The session `id`: stored and fresh, else from `fetch` (one call however many ask at
    /// once), with how the lookup was answered. A revoked id is refused without a fetch, and so
    /// is an id its backend refused within the last `cache.negative_ttl`.
    async fn get_or_fetch(
        &self,
        id: &str,
        now: UnixTime,
        fetch: &Fetcher<'_>,
    ) -> (Result<Arc<Session>, GatewayError>, Lookup);

    /// Stores a session its backend just confirmed (a login). An expired or revoked session is
    /// not stored: `None`.
    async fn insert(&self, session: Session, now: UnixTime) -> Option<Arc<Session>>;

    /// Refuses `id` from now on, whatever is in flight, and drops it; returns what was stored.
    async fn revoke(&self, id: &str) -> Option<Arc<Session>>;

    /// Whether `id` was revoked (logged out through the gateway).
    async fn is_revoked(&self, id: &str) -> bool;

    /// The Net iD `Count` for the next upstream call about `id`: strictly above every count
    /// used before, and never below the client's own (`client`, 0 if none).
    async fn next_count(&self, id: &str, client: u64) -> u64;

    /// [`SessionStore::next_count`] for a session that has a counter; `None`, and nothing kept,
    /// for one that has none: a counter is created only once the backend has confirmed the
    /// session ([`SessionStore::confirm_count`]), so made-up ids cost nothing to keep.
    async fn next_known_count(&self, id: &str, client: u64) -> Option<u64>;

    /// The backend confirmed `id` in a call that used `count`: keep its counter from here.
    async fn confirm_count(&self, id: &str, count: u64);

    /// A session just logged in: the upstream has seen no `Count` for it yet.
    async fn reset_count(&self, id: &str);

    /// A session that ended: its counter can go.
    async fn forget_count(&self, id: &str);

    /// A Net iD client's own `Count` under `key` (one session and one client): true, and
    /// remembered, when it is strictly above every count seen under `key`; false for a repeated
    /// or lower one (a replay). A key seen for the first time is remembered only when `create`.
    async fn advance_client_count(&self, key: &str, count: u64, create: bool) -> bool;

    /// The live sessions of one subject, from an index (no scan).
    async fn sessions_of(&self, subject: &str, now: UnixTime) -> Vec<Arc<Session>>;

    /// Every live session. O(n): for the admin listing only.
    async fn sessions(&self, now: UnixTime) -> Vec<Arc<Session>>;

    /// The live session whose [`handle`] is `wanted` (the admin API's name for it). O(n) in
    /// this process's memory; a shared store also looks it up directly.
    async fn by_handle(&self, wanted: &str, now: UnixTime) -> Option<Arc<Session>> {
        self.sessions(now)
            .await
            .into_iter()
            .find(|s| handle(s.id.expose()) == wanted)
    }

    /// `/readyz`'s word for the store: `local` (one process), `up`, or `degraded` (the shared
    /// store is unreachable and this replica works alone).
    fn state(&self) -> &'static str {
        "local"
    }

    /// Counts one event under `key` in a fixed window of `window` (which starts at the key's
    /// first event) and returns the count so far, this one included. For throttling.
    async fn hit(&self, key: &str, window: Duration) -> u64;

    /// The events counted under `key` in its current window, and the time left in that window
    /// (0 and zero when none).
    async fn hits(&self, key: &str) -> (u64, Duration);

    /// Live sessions per backend, kept as sessions come and go (no scan).
    async fn live(&self) -> Vec<(Backend, u64)>;

    /// Applies a reloaded `revalidate_after` to lookups from now on.
    fn set_revalidate_after(&self, revalidate_after: Duration);

    /// Applies `cache.max_stale` to lookups from now on.
    fn set_max_stale(&self, max_stale: Duration);
}
