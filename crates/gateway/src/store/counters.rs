//! The gateway's own Net iD call counter per session.
//!
//! Net iD requires each session's `Count` to increase strictly (PROTOCOLS §2.4). The gateway answers
//! some calls from its cache, so the client's counter and the upstream's drift apart; the gateway
//! therefore sends upstream `max(own + 1, client's count)`, never a repeated or lower value.

use std::collections::HashMap;
use std::hash::BuildHasher;
use std::sync::Arc;
use std::time::{Duration, Instant};

use parking_lot::Mutex;

/// Net iD idles sessions out long before this; it only bounds forgotten counters.
const IDLE: Duration = Duration::from_secs(24 * 3600);
/// How often a shard drops counters idle for longer than [`IDLE`].
const SWEEP_EVERY: Duration = Duration::from_secs(3600);
const SHARDS: usize = 16;

/// Per-session upstream call counters.
///
/// One counter per Net iD session, so at a million sessions its size matters: a counter is a
/// 64-bit keyed hash of the session id and 16 bytes of state in a sharded map, about 50 bytes in
/// all, where a moka entry cost some 450 (benches/RESULTS.md). Two ids with the same hash (odds
/// about n²/2⁶⁵) would share one counter; each would still see strictly increasing counts.
#[derive(Clone)]
pub struct NetidCounters {
    inner: Arc<Inner>,
}

struct Inner {
    hasher: std::collections::hash_map::RandomState,
    shards: Vec<Mutex<Shard>>,
    max_per_shard: usize,
    epoch: Instant,
}

#[derive(Default)]
struct Shard {
    slots: HashMap<u64, Slot>,
    /// When this shard last dropped idle counters, in seconds since `epoch`.
    swept: u32,
}

#[derive(Clone, Copy)]
struct Slot {
    count: u64,
    /// Last use, in seconds since `epoch`.
    used: u32,
}

impl std::fmt::Debug for NetidCounters {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("NetidCounters")
            .field("max", &(self.inner.max_per_shard * SHARDS))
            .finish()
    }
}

// === impl NetidCounters ===

impl NetidCounters {
    pub fn new(max_sessions: u64) -> Self {
        let max_per_shard = usize::try_from(max_sessions)
            .unwrap_or(usize::MAX)
            .div_ceil(SHARDS)
            .max(1);
        Self {
            inner: Arc::new(Inner {
                hasher: Default::default(),
                shards: (0..SHARDS).map(|_| Mutex::default()).collect(),
                max_per_shard,
                epoch: Instant::now(),
            }),
        }
    }

    /// A session just logged in: the upstream has seen no `Count` yet.
    pub fn reset(&self, session_id: &str) {
        self.with_slot(session_id, |slot| slot.count = 0);
    }

    /// The `Count` for the next upstream call; `client` is the caller's own count (0 if none).
    pub fn next(&self, session_id: &str, client: u64) -> u64 {
        self.with_slot(session_id, |slot| {
            slot.count = slot.count.saturating_add(1).max(client);
            slot.count
        })
    }

    /// [`Self::next`] for a session with a counter; `None`, and nothing stored, for one without:
    /// a counter is created only for a session its backend confirmed ([`Self::confirm`]).
    pub fn next_known(&self, session_id: &str, client: u64) -> Option<u64> {
        let (shard, key) = self.locate(session_id);
        let mut shard = self.inner.shards[shard].lock();
        let slot = shard.slots.get_mut(&key)?;
        slot.count = slot.count.saturating_add(1).max(client);
        Some(slot.count)
    }

    /// The backend confirmed the session after a call that used `count`.
    pub fn confirm(&self, session_id: &str, count: u64) {
        self.with_slot(session_id, |slot| slot.count = slot.count.max(count));
    }

    /// Records `count` as the highest seen under `key` when it is strictly above the last one;
    /// false, and nothing changed, when it is not. A key without a counter gets one when
    /// `create`, and otherwise accepts any count without keeping it.
    pub fn advance(&self, key: &str, count: u64, create: bool) -> bool {
        if !create {
            let (shard, hashed) = self.locate(key);
            let mut shard = self.inner.shards[shard].lock();
            return match shard.slots.get_mut(&hashed) {
                Some(slot) if count <= slot.count => false,
                Some(slot) => {
                    slot.count = count;
                    true
                }
                None => true,
            };
        }
        self.with_slot(key, |slot| {
            let advanced = count > slot.count;
            if advanced {
                slot.count = count;
            }
            advanced
        })
    }

    pub fn forget(&self, session_id: &str) {
        let (shard, key) = self.locate(session_id);
        self.inner.shards[shard].lock().slots.remove(&key);
    }

    /// Counters held now (tests, diagnostics).
    pub fn len(&self) -> usize {
        self.inner.shards.iter().map(|s| s.lock().slots.len()).sum()
    }

    fn locate(&self, session_id: &str) -> (usize, u64) {
        let hash = self.inner.hasher.hash_one(session_id);
        ((hash % SHARDS as u64) as usize, hash)
    }

    fn with_slot<T>(&self, session_id: &str, f: impl FnOnce(&mut Slot) -> T) -> T {
        let (shard, key) = self.locate(session_id);
        let now = u32::try_from(self.inner.epoch.elapsed().as_secs()).unwrap_or(u32::MAX);
        let mut shard = self.inner.shards[shard].lock();
        if now.saturating_sub(shard.swept) >= SWEEP_EVERY.as_secs() as u32 {
            shard.drop_idle_before(now.saturating_sub(IDLE.as_secs() as u32));
            shard.swept = now;
        }
        if !shard.slots.contains_key(&key) && shard.slots.len() >= self.inner.max_per_shard {
            shard.make_room(now, self.inner.max_per_shard);
        }
        let slot = shard.slots.entry(key).or_insert(Slot {
            count: 0,
            used: now,
        });
        slot.used = now;
        f(slot)
    }
}

// === impl Shard ===

impl Shard {
    fn drop_idle_before(&mut self, cutoff: u32) {
        self.slots.retain(|_, s| s.used >= cutoff);
    }

    /// At capacity: drops the least recently used counters, about an eighth of the shard, by
    /// halving the idle age kept until enough are gone. Each pass is O(shard), and it leaves room
    /// for many inserts before it is needed again.
    fn make_room(&mut self, now: u32, max: usize) {
        let target = max - max / 8 - 1;
        let mut keep = IDLE.as_secs() as u32;
        while self.slots.len() > target && keep > 0 {
            keep /= 2;
            self.drop_idle_before(now.saturating_sub(keep));
        }
        if self.slots.len() > target {
            // Everything was used within the last second: drop arbitrary ones.
            let excess: Vec<u64> = self
                .slots
                .keys()
                .take(self.slots.len() - target)
                .copied()
                .collect();
            for k in excess {
                self.slots.remove(&k);
            }
        }
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
    fn advance_accepts_only_a_strictly_higher_count() {
        let c = NetidCounters::new(10);
        assert!(c.advance("k", 5, false), "unknown: accepted");
        assert_eq!(c.len(), 0, "and not kept");
        assert!(c.advance("k", 5, true));
        assert!(!c.advance("k", 5, true), "repeated");
        assert!(!c.advance("k", 4, false), "lower");
        assert!(c.advance("k", 6, false));
        assert!(!c.advance("k", 6, true));
        assert_eq!(c.len(), 1);
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

    #[test]
    fn unknown_sessions_get_no_counter_until_confirmed() {
        let c = NetidCounters::new(10);
        assert_eq!(c.next_known("s", 3), None);
        assert_eq!(c.len(), 0, "nothing stored for an unconfirmed session");
        c.confirm("s", 3);
        assert_eq!(c.next_known("s", 0), Some(4));
        assert_eq!(c.len(), 1);
    }

    #[test]
    fn capacity_is_bounded_and_forget_forgets() {
        let c = NetidCounters::new(64);
        for i in 0..1000 {
            c.next(&format!("s{i}"), 0);
        }
        assert!(c.len() <= 64, "{} counters held", c.len());
        c.reset("kept");
        assert_eq!(c.next("kept", 0), 1);
        c.forget("kept");
        assert_eq!(c.next("kept", 7), 7, "a forgotten session starts over");
    }
}
