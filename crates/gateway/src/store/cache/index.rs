//! The index beside the cache: sessions by subject and live sessions per backend, kept up to
//! date from moka's removal notifications, so neither needs a scan.

use std::collections::HashMap;
use std::hash::BuildHasher;
use std::sync::{Arc, Weak};

use idbridge_session::Backend;
use moka::notification::RemovalCause;
use parking_lot::Mutex;

use super::Entry;

/// What moka's removal notifications keep up to date: sessions by subject, and live counts.
///
/// Each indexed key holds a weak pointer to its entry, and a removal only unindexes the entry it
/// names: a notification for a replaced or expired entry, delivered after the key was stored
/// again, leaves the new entry indexed.
#[derive(Default)]
pub(super) struct Index {
    subjects: [Mutex<Subjects>; SHARDS],
    hasher: std::collections::hash_map::RandomState,
    pub(super) live: Mutex<HashMap<Backend, u64>>,
}

/// Subject id → the keys of its sessions, each with its entry. A map, not a list, per subject:
/// one subject may hold many sessions (a service account, a user on many devices), and storing
/// one must not cost a walk through the others.
type Subjects = HashMap<Arc<str>, HashMap<Arc<str>, Weak<Entry>>>;

const SHARDS: usize = 16;

// === impl Index ===

impl Index {
    fn shard(&self, subject: &str) -> &Mutex<Subjects> {
        &self.subjects[(self.hasher.hash_one(subject) % SHARDS as u64) as usize]
    }

    /// `entry` is about to be stored under `key`.
    pub(super) fn stored(&self, key: &Arc<str>, entry: &Arc<Entry>) {
        *self.live.lock().entry(entry.session.backend).or_default() += 1;
        let subject = entry.session.subject.id.as_str();
        let mut shard = self.shard(subject).lock();
        let keys = match shard.get_mut(subject) {
            Some(keys) => keys,
            None => shard.entry(Arc::from(subject)).or_default(),
        };
        keys.insert(key.clone(), Arc::downgrade(entry));
    }

    /// moka removed `entry` (replaced, expired, evicted or invalidated).
    pub(super) fn removed(&self, key: &Arc<str>, entry: &Arc<Entry>, _cause: RemovalCause) {
        if let Some(n) = self.live.lock().get_mut(&entry.session.backend) {
            *n = n.saturating_sub(1);
        }
        let subject = entry.session.subject.id.as_str();
        let mut shard = self.shard(subject).lock();
        if let Some(keys) = shard.get_mut(subject) {
            if keys
                .get(key)
                .is_some_and(|w| Weak::as_ptr(w) == Arc::as_ptr(entry))
            {
                keys.remove(key);
            }
            if keys.is_empty() {
                shard.remove(subject);
            }
        }
    }

    pub(super) fn of(&self, subject: &str) -> Vec<Arc<Entry>> {
        let shard = self.shard(subject).lock();
        shard
            .get(subject)
            .map(|keys| keys.values().filter_map(Weak::upgrade).collect())
            .unwrap_or_default()
    }
}
