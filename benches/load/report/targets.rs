//! The targets `make bench` checks (issue 14's), from the report's rows.

use super::{Report, lookups, ms};

/// One target: what it asks, what was measured, whether it holds.
pub(super) struct Target {
    pub(super) name: String,
    pub(super) measured: String,
    pub(super) met: bool,
}

impl Report {
    pub(super) fn targets(&self) -> Vec<Target> {
        let mut t = Vec::new();
        if let Some(r) = self.ratio("c", "p") {
            t.push(Target {
                name: "pass-through throughput c/p ≥ 0.95 (against the bare Pingora proxy)".into(),
                measured: format!(
                    "{r:.2} (c/b against nginx: {:.2})",
                    self.ratio("c", "b").unwrap_or(0.0)
                ),
                met: r >= 0.95,
            });
        }
        if let (Some(c), Some(p)) = (self.row("c"), self.row("p")) {
            let r = c.server_cpu_us / p.server_cpu_us.max(f64::MIN_POSITIVE);
            t.push(Target {
                name: "pass-through CPU per request c/p ≤ 1.1".into(),
                measured: format!(
                    "{r:.2} ({:.0} vs {:.0} µs)",
                    c.server_cpu_us, p.server_cpu_us
                ),
                met: r <= 1.1,
            });
        }
        if let (Some(c), Some(b)) = (self.row("c"), self.row("b")) {
            t.push(Target {
                name: "pass-through p99: c no worse than b".into(),
                measured: format!("{} vs {}", ms(c.p99), ms(b.p99)),
                met: c.p99 <= b.p99,
            });
        }
        if let Some(r) = self.ratio("c-tls", "b-tls") {
            t.push(Target {
                name: "TLS pass-through throughput c-tls/b-tls ≥ c/b (TLS costs idbridge no more than nginx)".into(),
                measured: format!(
                    "{r:.2} (c/b {:.2})",
                    self.ratio("c", "b").unwrap_or(0.0)
                ),
                met: self.ratio("c", "b").is_some_and(|plain| r >= plain),
            });
        }
        for key in ["d", "e-rest", "e-soap"] {
            if let Some(r) = self.ratio(key, "f") {
                let floor = self
                    .ratio(key, "p-hit")
                    .map(|p| format!(" (against the bare Pingora answer p-hit: {p:.2})"))
                    .unwrap_or_default();
                t.push(Target {
                    name: format!("cache hit {key}/f ≥ 0.8 (the goal is 1.0)"),
                    measured: format!("{r:.2}{floor}"),
                    met: r >= 0.8,
                });
            }
            if let (Some(hit), Some(f)) = (self.row(key), self.row("f")) {
                t.push(Target {
                    name: format!("cache hit p99: {key} no worse than f"),
                    measured: format!("{} vs {}", ms(hit.p99), ms(f.p99)),
                    met: hit.p99 <= f.p99,
                });
            }
        }
        for m in &self.memory {
            t.push(Target {
                name: format!(
                    "memory per cached {} session ≤ 2 KiB at {} sessions",
                    m.backend, m.sessions
                ),
                measured: format!(
                    "{:.0} B ({:.2} KiB)",
                    m.bytes_per_session,
                    m.bytes_per_session / 1024.0
                ),
                met: m.bytes_per_session <= 2048.0,
            });
        }
        let Some(c) = &self.coalescing else {
            return t;
        };
        t.push(Target {
            name: format!(
                "{} concurrent misses for one session → 1 upstream call",
                c.callers
            ),
            measured: format!(
                "{} call(s); {}/{} answered 200; lookups {}",
                c.upstream_calls,
                c.answered_ok,
                c.callers,
                lookups(&c.lookups)
            ),
            met: c.upstream_calls == 1 && c.answered_ok == c.callers,
        });
        t
    }
}
