//! What every request did, in time order and in bounded memory: per second a latency
//! histogram and the count of each outcome, per 100 ms how many requests failed. Windows (a
//! fault, the whole run) and recovery times are read from these.

use std::collections::BTreeMap;
use std::time::{Duration, Instant};

use hdrhistogram::Histogram;
use parking_lot::Mutex;

use crate::judge::Outcome;

/// The resolution of recovery times.
pub const SLOT: Duration = Duration::from_millis(100);
/// Latencies are kept in microseconds, up to a minute, to two significant digits.
const MAX_MICROS: u64 = 60_000_000;

#[derive(Debug)]
pub struct Recorder {
    start: Instant,
    inner: Mutex<Inner>,
}

#[derive(Debug, Default)]
struct Inner {
    seconds: Vec<Second>,
    slots: Vec<Slot>,
}

#[derive(Debug)]
struct Second {
    latency: Histogram<u64>,
    outcomes: BTreeMap<String, u64>,
}

#[derive(Clone, Copy, Debug, Default)]
struct Slot {
    requests: u32,
    failures: u32,
}

/// What the requests sent in a window did.
#[derive(Debug)]
pub struct Window {
    pub requests: u64,
    pub outcomes: BTreeMap<String, u64>,
    pub p50: Duration,
    pub p99: Duration,
    pub max: Duration,
}

impl Window {
    pub fn count(&self, class: &str) -> u64 {
        self.outcomes.get(class).copied().unwrap_or(0)
    }
}

fn histogram() -> Histogram<u64> {
    // Bounds are constants within what the crate accepts.
    Histogram::new_with_bounds(1, MAX_MICROS, 2).unwrap_or_else(|_| unreachable!())
}

impl Recorder {
    pub fn new() -> Self {
        Self {
            start: Instant::now(),
            inner: Mutex::default(),
        }
    }

    /// Time since the run started: how requests and faults are placed.
    pub fn now(&self) -> Duration {
        self.start.elapsed()
    }

    /// A request sent at `sent` (from [`now`](Self::now)) that took `latency`.
    pub fn record(&self, sent: Duration, latency: Duration, outcome: &Outcome) {
        let second = sent.as_secs() as usize;
        let slot = (sent.as_millis() / SLOT.as_millis()) as usize;
        let micros = (latency.as_micros() as u64).clamp(1, MAX_MICROS);
        let mut inner = self.inner.lock();
        while inner.seconds.len() <= second {
            inner.seconds.push(Second {
                latency: histogram(),
                outcomes: BTreeMap::new(),
            });
        }
        if inner.slots.len() <= slot {
            inner.slots.resize(slot + 1, Slot::default());
        }
        let s = &mut inner.seconds[second];
        s.latency.saturating_record(micros);
        *s.outcomes.entry(outcome.class()).or_default() += 1;
        let s = &mut inner.slots[slot];
        s.requests += 1;
        s.failures += u32::from(outcome.is_failure());
    }

    /// The requests sent from `from` to `to` (whole seconds, rounded outwards).
    pub fn window(&self, from: Duration, to: Duration) -> Window {
        let inner = self.inner.lock();
        let end = (to.as_secs_f64().ceil() as usize).min(inner.seconds.len());
        let mut latency = histogram();
        let mut outcomes = BTreeMap::new();
        for s in inner
            .seconds
            .get(from.as_secs() as usize..end)
            .unwrap_or_default()
        {
            let _ = latency.add(&s.latency);
            for (class, n) in &s.outcomes {
                *outcomes.entry(class.clone()).or_default() += n;
            }
        }
        let q = |q: f64| Duration::from_micros(latency.value_at_quantile(q));
        Window {
            requests: latency.len(),
            outcomes,
            p50: q(0.5),
            p99: q(0.99),
            max: Duration::from_micros(latency.max()),
        }
    }

    /// How long after `from` the requests stopped failing: the start of the first `quiet` span
    /// in which every 100 ms had requests and none of them failed. `None` if that never came
    /// before `until`.
    pub fn recovery(&self, from: Duration, quiet: Duration, until: Duration) -> Option<Duration> {
        let inner = self.inner.lock();
        let slot = |t: Duration| (t.as_millis() / SLOT.as_millis()) as usize;
        let (first, last, span) = (slot(from), slot(until).min(inner.slots.len()), slot(quiet));
        let mut calm = 0;
        for i in first..last {
            let s = inner.slots[i];
            if s.requests > 0 && s.failures == 0 {
                calm += 1;
                if calm >= span {
                    let start = (i + 1 - span) as u32;
                    return Some((SLOT * start).saturating_sub(from));
                }
            } else {
                calm = 0;
            }
        }
        None
    }
}
