//! The simulators' notion of "now".
//!
//! Every expiry (EnOS sessions), the EnOS failed-login window and the Net iD idle timeout read this
//! clock, never the system time directly, so tests can move time forward instead of sleeping.
//! Clones share one time: advancing the clone a test keeps advances every simulator started with
//! it.

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

/// A shareable clock: the system time or a manual time, either moved forward by [`Clock::advance`].
#[derive(Clone, Debug)]
pub struct Clock {
    inner: Arc<Inner>,
}

#[derive(Debug)]
struct Inner {
    /// `None`: the system time; `Some(ms)`: a fixed start, in milliseconds since the Unix epoch.
    start_ms: Option<u64>,
    /// Added to the base time; only ever grows, so the clock never runs backwards by our doing.
    offset_ms: AtomicU64,
}

// === impl Clock ===

impl Clock {
    /// The system time (plus whatever [`Clock::advance`] has added).
    pub fn system() -> Self {
        Self::with_start(None)
    }

    /// A clock standing still at `start_epoch_secs` (seconds since the Unix epoch) until advanced.
    pub fn manual(start_epoch_secs: u64) -> Self {
        Self::with_start(Some(start_epoch_secs.saturating_mul(1000)))
    }

    /// A manual clock starting at the current system time: handy for tests that need certificates
    /// (valid from when they were made) to be valid and time to stand still.
    pub fn manual_now() -> Self {
        Self::with_start(Some(system_ms()))
    }

    fn with_start(start_ms: Option<u64>) -> Self {
        Self {
            inner: Arc::new(Inner {
                start_ms,
                offset_ms: AtomicU64::new(0),
            }),
        }
    }

    /// Moves this clock, and every clone of it, forward.
    pub fn advance(&self, by: Duration) {
        let ms = u64::try_from(by.as_millis()).unwrap_or(u64::MAX);
        // Saturating: a huge advance pins the clock at the end of time instead of overflowing.
        let _ = self
            .inner
            .offset_ms
            .fetch_update(Ordering::SeqCst, Ordering::SeqCst, |o| {
                Some(o.saturating_add(ms))
            });
    }

    /// True for a clock made by [`Clock::manual`] or [`Clock::manual_now`].
    pub fn is_manual(&self) -> bool {
        self.inner.start_ms.is_some()
    }

    /// Milliseconds since the Unix epoch.
    pub fn now_millis(&self) -> u64 {
        let base = self.inner.start_ms.unwrap_or_else(system_ms);
        base.saturating_add(self.inner.offset_ms.load(Ordering::SeqCst))
    }

    /// Whole seconds since the Unix epoch: the resolution of every timestamp the backends send.
    pub fn now_secs(&self) -> u64 {
        self.now_millis() / 1000
    }
}

fn system_ms() -> u64 {
    // A system clock before 1970 is a broken machine; treating it as the epoch keeps us panic-free.
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| u64::try_from(d.as_millis()).unwrap_or(u64::MAX))
        .unwrap_or(0)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn manual_clock_stands_still_until_advanced_and_clones_share_time() {
        let clock = Clock::manual(1_000);
        let other = clock.clone();
        assert!(clock.is_manual());
        assert_eq!(clock.now_secs(), 1_000);
        other.advance(Duration::from_secs(90));
        assert_eq!(clock.now_secs(), 1_090);
        assert_eq!(clock.now_millis(), 1_090_000);
    }

    #[test]
    fn system_clock_follows_the_system_time_plus_the_offset() {
        let clock = Clock::system();
        assert!(!clock.is_manual());
        let before = system_ms() / 1000;
        clock.advance(Duration::from_secs(3600));
        let now = clock.now_secs();
        assert!(now >= before + 3600, "{now} < {before} + 3600");
    }

    #[test]
    fn huge_advances_saturate_instead_of_overflowing() {
        let clock = Clock::manual(u64::MAX / 1000);
        clock.advance(Duration::MAX);
        assert_eq!(clock.now_millis(), u64::MAX);
    }
}
