//! Instants as Unix seconds: what both backends put on the wire.

use std::time::{Duration, SystemTime, UNIX_EPOCH};

use serde::{Deserialize, Serialize};

/// Seconds since the Unix epoch (UTC). Both backends speak whole seconds, so nothing finer is kept.
#[derive(
    Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Default, Serialize, Deserialize,
)]
#[serde(transparent)]
pub struct UnixTime(pub i64);

// === impl UnixTime ===

impl UnixTime {
    pub const fn from_secs(secs: i64) -> Self {
        Self(secs)
    }

    pub const fn as_secs(self) -> i64 {
        self.0
    }

    /// Converts a clock reading; the caller owns the clock. Instants before 1970 clamp to 0.
    pub fn from_system(t: SystemTime) -> Self {
        let secs = t
            .duration_since(UNIX_EPOCH)
            .map(|d| d.as_secs())
            .unwrap_or(0);
        Self(i64::try_from(secs).unwrap_or(i64::MAX))
    }

    /// `self + d`, saturating rather than wrapping on absurd inputs.
    pub fn saturating_add(self, d: Duration) -> Self {
        let secs = i64::try_from(d.as_secs()).unwrap_or(i64::MAX);
        Self(self.0.saturating_add(secs))
    }

    /// How long from `self` until `later`; zero when `later` is not after `self`.
    pub fn until(self, later: UnixTime) -> Duration {
        let diff = later.0.saturating_sub(self.0);
        Duration::from_secs(u64::try_from(diff).unwrap_or(0))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn arithmetic_saturates() {
        let t = UnixTime(100);
        assert_eq!(t.saturating_add(Duration::from_secs(5)), UnixTime(105));
        assert_eq!(
            UnixTime(i64::MAX).saturating_add(Duration::from_secs(5)),
            UnixTime(i64::MAX)
        );
        assert_eq!(t.until(UnixTime(160)), Duration::from_secs(60));
        assert_eq!(t.until(UnixTime(40)), Duration::ZERO);
    }

    #[test]
    fn from_system_before_epoch_is_zero() {
        let before = UNIX_EPOCH - Duration::from_secs(10);
        assert_eq!(UnixTime::from_system(before), UnixTime(0));
        assert_eq!(
            UnixTime::from_system(UNIX_EPOCH + Duration::from_secs(7)),
            UnixTime(7)
        );
    }
}
