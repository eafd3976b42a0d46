//! Per-operation request counters, so tests can assert on what the backend saw (did the gateway
//! answer from its cache, or call upstream?) as well as on what the client got.
//!
//! A request is counted as soon as it is routed, before faults are injected and before its body is
//! read: "the backend was asked" is what matters, whatever the answer was.

use std::collections::BTreeMap;
use std::sync::{Mutex, MutexGuard};

/// Request counts by operation name (`enos.login`, `netid.get_login_status`, …).
#[derive(Debug)]
pub struct Stats {
    counts: Mutex<BTreeMap<String, u64>>,
}

// === impl Stats ===

impl Stats {
    /// Counters for `ops`, all at zero, so a snapshot always lists every operation.
    pub(crate) fn new(ops: &[&str]) -> Self {
        Self {
            counts: Mutex::new(ops.iter().map(|op| ((*op).to_owned(), 0)).collect()),
        }
    }

    pub(crate) fn incr(&self, op: &str) {
        let mut counts = self.lock();
        match counts.get_mut(op) {
            Some(n) => *n = n.saturating_add(1),
            None => {
                counts.insert(op.to_owned(), 1);
            }
        }
    }

    /// How often `op` was requested (0 for an operation never seen or unknown).
    pub fn count(&self, op: &str) -> u64 {
        self.lock().get(op).copied().unwrap_or(0)
    }

    /// Every counter.
    pub fn snapshot(&self) -> BTreeMap<String, u64> {
        self.lock().clone()
    }

    /// Plain counters stay meaningful after a panic elsewhere; see `Faults::lock`.
    fn lock(&self) -> MutexGuard<'_, BTreeMap<String, u64>> {
        self.counts.lock().unwrap_or_else(|e| e.into_inner())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn counts_known_and_new_operations() {
        let stats = Stats::new(&["a", "b"]);
        stats.incr("a");
        stats.incr("a");
        stats.incr("c");
        assert_eq!(stats.count("a"), 2);
        assert_eq!(stats.count("b"), 0);
        assert_eq!(stats.count("c"), 1);
        assert_eq!(stats.count("nope"), 0);
        assert_eq!(stats.snapshot().len(), 3);
    }
}
