//! The index beside the cache: sessions by subject and live sessions per backend, kept up to
//! date from moka's removal notifications, so neither needs a scan.

use std::collections::{HashMap, hash_map};
use std::hash::BuildHasher;
use std::sync::{Arc, Weak};

use idbridge_session::Backend;
use moka::notification::RemovalCause;
use parking_lot::Mutex;

use super::Entry;

/// What moka's removal notifications keep up to date: sessions by subject, and live counts.
///
/// Subjects are found by a hash of their id, and each entry by its address: an index entry holds
/// a weak pointer to its cache entry, which keeps that address from being reused while it is
/// indexed, and a removal unindexes exactly the entry it names. A notification for a replaced or
/// expired entry, delivered after the key was stored again, so leaves the new entry indexed.
/// Two subjects whose ids share a hash share a slot; [`Index::of`] tells them apart.
///
/// At a million cached sessions of as many users this costs some 40 bytes a session, where a
/// map of subject names to maps of session keys cost over 200 (benches/RESULTS.md).
#[derive(Default)]
pub(super) struct Index {
    subjects: [Mutex<Subjects>; SHARDS],
    hasher: std::collections::hash_map::RandomState,
    pub(super) live: Mutex<HashMap<Backend, u64>>,
}

type Subjects = HashMap<u64, Entries>;

/// One subject's entries: most subjects hold one session; a service account or a user on many
/// devices may hold thousands, and storing one more must not cost a walk through the others.
/// Boxed, the map keeps every subject's slot at 16 bytes; inline it would make each 56.
#[allow(clippy::box_collection)]
enum Entries {
    One(Weak<Entry>),
    Many(Box<HashMap<usize, Weak<Entry>>>),
}

const SHARDS: usize = 16;

// === impl Index ===

impl Index {
    /// The shard and slot of `subject`.
    fn locate(&self, subject: &str) -> (&Mutex<Subjects>, u64) {
        let hash = self.hasher.hash_one(subject);
        (&self.subjects[(hash % SHARDS as u64) as usize], hash)
    }

    /// `entry` is about to be stored under `key`.
    pub(super) fn stored(&self, _key: &Arc<str>, entry: &Arc<Entry>) {
        *self.live.lock().entry(entry.session.backend).or_default() += 1;
        let (shard, hash) = self.locate(&entry.session.subject.id);
        let weak = Arc::downgrade(entry);
        match shard.lock().entry(hash) {
            hash_map::Entry::Vacant(slot) => {
                slot.insert(Entries::One(weak));
            }
            hash_map::Entry::Occupied(mut slot) => slot.get_mut().add(weak),
        }
    }

    /// moka removed `entry` (replaced, expired, evicted or invalidated).
    pub(super) fn removed(&self, _key: &Arc<str>, entry: &Arc<Entry>, _cause: RemovalCause) {
        if let Some(n) = self.live.lock().get_mut(&entry.session.backend) {
            *n = n.saturating_sub(1);
        }
        let (shard, hash) = self.locate(&entry.session.subject.id);
        let mut shard = shard.lock();
        let emptied = match shard.get_mut(&hash) {
            Some(Entries::One(weak)) => Weak::as_ptr(weak) == Arc::as_ptr(entry),
            Some(Entries::Many(many)) => {
                many.remove(&address(entry));
                many.is_empty()
            }
            None => false,
        };
        if emptied {
            shard.remove(&hash);
        }
    }

    /// The live entries of `subject`; where one key was stored again and its old entry's
    /// removal is still on its way, only the later entry.
    pub(super) fn of(&self, subject: &str) -> Vec<Arc<Entry>> {
        let (shard, hash) = self.locate(subject);
        let mut found: Vec<Arc<Entry>> = match shard.lock().get(&hash) {
            Some(Entries::One(weak)) => weak.upgrade().into_iter().collect(),
            Some(Entries::Many(many)) => many.values().filter_map(Weak::upgrade).collect(),
            None => Vec::new(),
        };
        found.retain(|e| e.session.subject.id == subject);
        found.sort_by(|a, b| {
            (a.session.id.expose(), b.confirmed).cmp(&(b.session.id.expose(), a.confirmed))
        });
        found.dedup_by(|later, earlier| later.session.id == earlier.session.id);
        found
    }
}

// === impl Entries ===

impl Entries {
    fn add(&mut self, weak: Weak<Entry>) {
        match self {
            Self::Many(many) => {
                many.insert(Weak::as_ptr(&weak) as usize, weak);
            }
            Self::One(first) => {
                let first = std::mem::replace(first, Weak::new());
                *self = Self::Many(Box::new(HashMap::from([
                    (Weak::as_ptr(&first) as usize, first),
                    (Weak::as_ptr(&weak) as usize, weak),
                ])));
            }
        }
    }
}

fn address(entry: &Arc<Entry>) -> usize {
    Arc::as_ptr(entry) as usize
}
