//! Fault injection: make a simulator slow, failing or silent on purpose, so the gateway's handling
//! of a sick backend (timeouts, 5xx, "never a 401 because a backend hiccuped") can be tested.
//!
//! Faults apply to every request of the simulated protocol, after it has been counted, and never to
//! the `/__sim/*` control routes (or nobody could clear a stall). The order is: wait while stalled,
//! then the delay, then a pending injected failure.

use std::sync::{Mutex, MutexGuard};
use std::time::Duration;

use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde::{Deserialize, Serialize};
use tokio::sync::watch;

/// The fault settings of one simulator. Cheap to read; changed through `&self`, so a test can hold
/// `sim.faults()` while requests run.
#[derive(Debug)]
pub struct Faults {
    state: Mutex<FaultState>,
    /// `true` while stalled. A watch channel, so held requests wake the moment the stall is cleared
    /// instead of polling.
    stall: watch::Sender<bool>,
}

#[derive(Debug)]
struct FaultState {
    delay: Duration,
    fail_next: u32,
    fail_status: StatusCode,
}

/// A snapshot of the fault settings; also the JSON the `/__sim/faults` routes answer with.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct FaultSettings {
    /// Fixed delay before each answer, in milliseconds (0: none).
    pub delay_ms: u64,
    /// How many of the next requests get an injected failure.
    pub fail_next: u32,
    /// The HTTP status of injected failures.
    pub fail_status: u16,
    /// Whether requests are held unanswered.
    pub stall: bool,
}

/// The body of `POST /__sim/faults`: every field optional, an absent field leaves its setting as it
/// is (so `{}` changes nothing).
/// - `delay_ms`: set the delay (0 removes it);
/// - `fail_next`: set how many of the next requests fail (replaces the remaining count; 0 cancels);
/// - `fail_status`: set the status of injected failures (400..=599; initially 503);
/// - `stall`: hold requests (`true`) or release them all (`false`).
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct FaultUpdate {
    delay_ms: Option<u64>,
    fail_next: Option<u32>,
    fail_status: Option<u16>,
    stall: Option<bool>,
}

// === impl Faults ===

impl Default for Faults {
    fn default() -> Self {
        Self {
            state: Mutex::new(FaultState::default()),
            stall: watch::Sender::new(false),
        }
    }
}

impl Faults {
    /// Answer every request only after `delay` (zero: at once). Real time, not the simulator clock:
    /// it is there to trip the gateway's timeouts.
    pub fn set_delay(&self, delay: Duration) {
        self.lock().delay = delay;
    }

    /// Answer the next `n` requests with `status` and a short body. Meant for 5xx (and 429, a
    /// throttling backend); a status outside 400..=599 is replaced by 500, because anything else
    /// would not be a failure.
    pub fn fail_next(&self, n: u32, status: u16) {
        let status = failure_status(status).unwrap_or_else(|| {
            tracing::warn!(
                status,
                "injected failure status not in 400..=599; using 500"
            );
            StatusCode::INTERNAL_SERVER_ERROR
        });
        let mut state = self.lock();
        state.fail_next = n;
        state.fail_status = status;
    }

    /// Hold every request unanswered while `on`; turning it off releases the held ones at once.
    pub fn set_stall(&self, on: bool) {
        self.stall.send_replace(on);
    }

    /// Removes every fault (and releases stalled requests).
    pub fn clear(&self) {
        *self.lock() = FaultState::default();
        self.set_stall(false);
    }

    /// The current settings.
    pub fn settings(&self) -> FaultSettings {
        let state = self.lock();
        FaultSettings {
            delay_ms: u64::try_from(state.delay.as_millis()).unwrap_or(u64::MAX),
            fail_next: state.fail_next,
            fail_status: state.fail_status.as_u16(),
            stall: *self.stall.borrow(),
        }
    }

    /// Applies a `POST /__sim/faults` body; validates it whole before changing anything.
    pub(crate) fn update(&self, update: &FaultUpdate) -> Result<FaultSettings, String> {
        let fail_status = match update.fail_status {
            Some(code) => Some(
                failure_status(code)
                    .ok_or_else(|| format!("fail_status {code} is not in 400..=599"))?,
            ),
            None => None,
        };
        {
            let mut state = self.lock();
            if let Some(ms) = update.delay_ms {
                state.delay = Duration::from_millis(ms);
            }
            if let Some(n) = update.fail_next {
                state.fail_next = n;
            }
            if let Some(status) = fail_status {
                state.fail_status = status;
            }
        }
        if let Some(on) = update.stall {
            self.set_stall(on);
        }
        Ok(self.settings())
    }

    /// Runs the faults for one request: `Some(response)` when a failure is injected.
    pub(crate) async fn inject(&self) -> Option<Response> {
        let mut stalled = self.stall.subscribe();
        // Err only if the sender is gone, and it lives as long as `self`.
        let _ = stalled.wait_for(|on| !*on).await;
        let delay = self.lock().delay;
        if !delay.is_zero() {
            tokio::time::sleep(delay).await;
        }
        let status = {
            let mut state = self.lock();
            if state.fail_next == 0 {
                return None;
            }
            state.fail_next -= 1;
            state.fail_status
        };
        Some(
            (
                status,
                [(header::CONTENT_TYPE, "text/plain; charset=utf-8")],
                "simulated failure\n",
            )
                .into_response(),
        )
    }

    /// A poisoned lock only means another request panicked mid-update of plain numbers; the
    /// settings are still meaningful, so keep serving rather than propagate the panic.
    fn lock(&self) -> MutexGuard<'_, FaultState> {
        self.state.lock().unwrap_or_else(|e| e.into_inner())
    }
}

// === impl FaultState ===

impl Default for FaultState {
    fn default() -> Self {
        Self {
            delay: Duration::ZERO,
            fail_next: 0,
            // Unless told otherwise, injected failures look like a backend that is down.
            fail_status: StatusCode::SERVICE_UNAVAILABLE,
        }
    }
}

fn failure_status(code: u16) -> Option<StatusCode> {
    (400..=599)
        .contains(&code)
        .then(|| StatusCode::from_u16(code).ok())
        .flatten()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn defaults_are_no_faults_and_503() {
        let faults = Faults::default();
        let s = faults.settings();
        assert_eq!(
            s,
            FaultSettings {
                delay_ms: 0,
                fail_next: 0,
                fail_status: 503,
                stall: false
            }
        );
    }

    #[test]
    fn empty_update_changes_nothing_and_partial_update_changes_only_its_fields() {
        let faults = Faults::default();
        faults.fail_next(3, 502);
        faults.set_delay(Duration::from_millis(7));
        let before = faults.settings();
        assert_eq!(faults.update(&FaultUpdate::default()), Ok(before));
        let after = faults
            .update(&FaultUpdate {
                stall: Some(true),
                ..FaultUpdate::default()
            })
            .unwrap();
        assert_eq!(
            after,
            FaultSettings {
                stall: true,
                ..before
            }
        );
        faults.clear();
        assert_eq!(faults.settings(), Faults::default().settings());
    }

    #[test]
    fn invalid_fail_status_is_rejected_whole() {
        let faults = Faults::default();
        let err = faults.update(&FaultUpdate {
            fail_next: Some(2),
            fail_status: Some(200),
            ..FaultUpdate::default()
        });
        assert!(err.is_err());
        assert_eq!(faults.settings().fail_next, 0);
        faults.fail_next(1, 42);
        assert_eq!(faults.settings().fail_status, 500);
    }

    #[tokio::test]
    async fn inject_counts_down_the_failures() {
        let faults = Faults::default();
        faults.fail_next(2, 503);
        for _ in 0..2 {
            let resp = faults.inject().await.unwrap();
            assert_eq!(resp.status(), StatusCode::SERVICE_UNAVAILABLE);
        }
        assert!(faults.inject().await.is_none());
    }
}
