//! The gateway's own Net iD call counter per session.
//!
//! Net iD requires each session's `Count` to increase strictly (PROTOCOLS §2.4). The gateway answers
//! some calls from its cache, so the client's counter and the upstream's drift apart; the gateway
//! therefore sends upstream `max(own + 1, client's count)`, never a repeated or lower value.

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use moka::sync::Cache;

/// Per-session upstream call counters.
#[derive(Clone, Debug)]
pub struct NetidCounters {
    counters: Cache<String, Arc<AtomicU64>>,
}

// === impl NetidCounters ===

impl NetidCounters {
    pub fn new(max_sessions: u64) -> Self {
        Self {
            counters: Cache::builder()
                .max_capacity(max_sessions)
                // Net iD idles sessions out long before this; it only bounds forgotten counters.
                .time_to_idle(Duration::from_secs(24 * 3600))
                .build(),
        }
    }

    /// A session just logged in: the upstream has seen no `Count` yet.
    pub fn reset(&self, session_id: &str) {
        self.counters
            .insert(session_id.to_owned(), Arc::new(AtomicU64::new(0)));
    }

    /// The `Count` for the next upstream call; `client` is the caller's own count (0 if none).
    pub fn next(&self, session_id: &str, client: u64) -> u64 {
        let counter = self
            .counters
            .get_with_by_ref(session_id, || Arc::new(AtomicU64::new(0)));
        let mut current = counter.load(Ordering::Acquire);
        loop {
            let next = current.saturating_add(1).max(client);
            match counter.compare_exchange_weak(current, next, Ordering::AcqRel, Ordering::Acquire)
            {
                Ok(_) => return next,
                Err(seen) => current = seen,
            }
        }
    }

    pub fn forget(&self, session_id: &str) {
        self.counters.invalidate(session_id);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn strictly_increasing_and_never_below_the_client() {
        let c = NetidCounters::new(10);
        c.reset("s");
        assert_eq!(c.next("s", 0), 1);
        assert_eq!(
            c.next("s", 1),
            2,
            "a client count we already used is skipped"
        );
        assert_eq!(c.next("s", 10), 10, "a client ahead of us pulls us forward");
        assert_eq!(c.next("s", 3), 11);
        assert_eq!(
            c.next("unknown", 5),
            5,
            "a session logged in elsewhere starts at the client's count"
        );
    }

    #[test]
    fn concurrent_callers_never_share_a_count() {
        let c = NetidCounters::new(10);
        let seen: Vec<u64> = std::thread::scope(|s| {
            let handles: Vec<_> = (0..8)
                .map(|_| s.spawn(|| (0..100).map(|_| c.next("s", 0)).collect::<Vec<_>>()))
                .collect();
            handles
                .into_iter()
                .flat_map(|h| h.join().unwrap())
                .collect()
        });
        let mut sorted = seen.clone();
        sorted.sort_unstable();
        sorted.dedup();
        assert_eq!(sorted.len(), 800);
    }
}
