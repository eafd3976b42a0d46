//! `benches/RESULTS.md`: what was measured, on what, how, and against which targets.
//!
//! Everything above the `## Analysis` heading is written by the run; the analysis below it is
//! written by people (profiles, explanations) and is carried over from the previous file.

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::path::Path;
use std::process::Command;

use anyhow::Context;

use crate::wrk::{Load, Measured};

const ANALYSIS: &str = "## Analysis";

/// `idbridge_cache_lookups_total` by result.
pub type Lookups = BTreeMap<String, u64>;

/// One scenario: its median round, and the spread over all rounds.
#[derive(Debug)]
pub struct Row {
    pub key: &'static str,
    pub what: &'static str,
    pub median: Measured,
    pub min_rps: f64,
    pub max_rps: f64,
    pub errors: u64,
}

impl Row {
    pub fn from_runs(
        key: &'static str,
        what: &'static str,
        mut runs: Vec<Measured>,
    ) -> anyhow::Result<Self> {
        runs.sort_by(|a, b| a.requests_per_sec.total_cmp(&b.requests_per_sec));
        let median = runs.get(runs.len() / 2).cloned().context("no rounds")?;
        Ok(Self {
            key,
            what,
            min_rps: runs.first().map_or(0.0, |m| m.requests_per_sec),
            max_rps: runs.last().map_or(0.0, |m| m.requests_per_sec),
            errors: runs.iter().map(|m| m.errors).sum(),
            median,
        })
    }
}

#[derive(Debug)]
pub struct Coalescing {
    pub callers: usize,
    pub answered_ok: usize,
    pub upstream_calls: u64,
    pub lookups: Lookups,
}

#[derive(Debug)]
pub struct Memory {
    pub backend: &'static str,
    pub sessions: u64,
    pub bytes_per_session: f64,
    pub rss_after: u64,
}

#[derive(Debug)]
pub struct Report {
    pub command: String,
    pub load: Load,
    pub rounds: usize,
    pub rows: Vec<Row>,
    pub lookups_during_load: Lookups,
    pub upstream_calls_during_load: u64,
    pub gateway_rss: Option<u64>,
    pub coalescing: Coalescing,
    pub memory: Vec<Memory>,
}

/// One target: what it asks, what was measured, whether it holds.
struct Target {
    name: String,
    measured: String,
    met: bool,
}

impl Report {
    fn row(&self, key: &str) -> Option<&Measured> {
        self.rows.iter().find(|r| r.key == key).map(|r| &r.median)
    }

    fn ratio(&self, over: &str, under: &str) -> Option<f64> {
        Some(self.row(over)?.requests_per_sec / self.row(under)?.requests_per_sec)
    }

    fn targets(&self) -> Vec<Target> {
        let mut t = Vec::new();
        if let Some(r) = self.ratio("c", "b") {
            t.push(Target {
                name: "pass-through throughput c/b ≥ 1.0".into(),
                measured: format!("{r:.2}"),
                met: r >= 1.0,
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
                t.push(Target {
                    name: format!("cache hit {key}/f ≥ 0.7"),
                    measured: format!("{r:.2}"),
                    met: r >= 0.7,
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
        let c = &self.coalescing;
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

    /// The console summary: the targets, one per line.
    pub fn summary(&self) -> String {
        self.targets()
            .iter()
            .map(|t| {
                format!(
                    "{} {}: {}",
                    if t.met { "MET " } else { "MISS" },
                    t.name,
                    t.measured
                )
            })
            .collect::<Vec<_>>()
            .join("\n")
    }

    pub fn write(&self, path: &Path) -> anyhow::Result<()> {
        let kept = std::fs::read_to_string(path)
            .ok()
            .and_then(|old| old.find(ANALYSIS).map(|i| old[i..].to_owned()))
            .unwrap_or_else(|| format!("{ANALYSIS}\n\n(Not written yet.)\n"));
        let mut md = self.render()?;
        md.push('\n');
        md.push_str(&kept);
        std::fs::write(path, md)?;
        Ok(())
    }

    fn render(&self) -> anyhow::Result<String> {
        let mut md = String::new();
        let w = &mut md;
        writeln!(w, "# Load benchmark results\n")?;
        writeln!(
            w,
            "Written by `make bench` (`benches/load/`). Everything above **Analysis** is replaced by \
             each run; the analysis is written by hand and kept.\n"
        )?;
        writeln!(
            w,
            "Measured {} at idbridge `{}`.\n",
            output("date", &["-u", "+%Y-%m-%d %H:%M UTC"]),
            git_rev()
        )?;
        writeln!(w, "## Machine\n")?;
        for line in machine() {
            writeln!(w, "- {line}")?;
        }
        writeln!(w, "\n## Command\n")?;
        writeln!(
            w,
            "```\nmake bench\n# which runs, after building in release mode:\n{}\n```\n",
            self.command
        )?;
        writeln!(
            w,
            "wrk with {} threads and {} connections, {} s per run, {} rounds over all scenarios; each \
             scenario shows its median round (by req/s) and the range over the rounds. Everything \
             shares the machine's cores: wrk, nginx (`worker_processes auto`), the gateway (one \
             runtime thread per core, JSON access log to a file) and the simulators (in the harness). \
             nginx logs every request to a file too, and keeps 256 upstream connections alive. \
             *Server CPU per request* is the user and system time of the process that answers \
             (for a proxy: the proxy alone, not its backend; for (a): the harness holding the \
             simulators), from `/proc`, divided by the requests of that run.\n",
            self.load.threads,
            self.load.connections,
            self.load.duration.as_secs(),
            self.rounds
        )?;
        writeln!(w, "## Throughput and latency\n")?;
        writeln!(
            w,
            "| | scenario | req/s | req/s over rounds | p50 | p99 | server CPU per request | errors |"
        )?;
        writeln!(w, "|---|---|---:|---:|---:|---:|---:|---:|")?;
        for r in &self.rows {
            writeln!(
                w,
                "| {} | {} | {:.0} | {:.0}–{:.0} | {} | {} | {:.0} µs | {} |",
                r.key,
                r.what,
                r.median.requests_per_sec,
                r.min_rps,
                r.max_rps,
                ms(r.median.p50),
                ms(r.median.p99),
                r.median.server_cpu_us,
                r.errors
            )?;
        }
        writeln!(w, "\n## Targets\n")?;
        writeln!(w, "| target | measured | met |")?;
        writeln!(w, "|---|---|---|")?;
        for t in self.targets() {
            writeln!(
                w,
                "| {} | {} | {} |",
                t.name,
                t.measured,
                if t.met { "yes" } else { "**no**" }
            )?;
        }
        writeln!(w, "\n## Notes from this run\n")?;
        writeln!(
            w,
            "- Gateway cache lookups during the timed runs: {}; upstream status calls in that time: \
             {} (revalidation after `cache.revalidate_after`).",
            lookups(&self.lookups_during_load),
            self.upstream_calls_during_load
        )?;
        if let Some(rss) = self.gateway_rss {
            writeln!(
                w,
                "- Gateway resident memory after the timed runs: {:.1} MiB.",
                rss as f64 / 1048576.0
            )?;
        }
        for m in &self.memory {
            writeln!(
                w,
                "- Memory, {}: {} sessions cached in a fresh process hold {:.0} MiB resident in all; \
                 {:.0} bytes each above the empty gateway state.",
                m.backend,
                m.sessions,
                m.rss_after as f64 / 1048576.0,
                m.bytes_per_session
            )?;
        }
        writeln!(
            w,
            "- Coalescing: {} callers at once, the backend answering after 1 s.",
            self.coalescing.callers
        )?;
        Ok(md)
    }
}

fn ms(d: std::time::Duration) -> String {
    format!("{:.2} ms", d.as_secs_f64() * 1e3)
}

fn lookups(l: &Lookups) -> String {
    if l.is_empty() {
        return "none".into();
    }
    l.iter()
        .map(|(k, n)| format!("{k} {n}"))
        .collect::<Vec<_>>()
        .join(", ")
}

/// A command's first line of output (stdout, else stderr), or "unknown".
fn output(cmd: &str, args: &[&str]) -> String {
    Command::new(cmd)
        .args(args)
        .output()
        .ok()
        .and_then(|o| {
            let text = if o.stdout.is_empty() {
                o.stderr
            } else {
                o.stdout
            };
            String::from_utf8(text)
                .ok()?
                .lines()
                .next()
                .map(|l| l.trim().to_owned())
        })
        .unwrap_or_else(|| "unknown".into())
}

fn git_rev() -> String {
    let rev = output("git", &["rev-parse", "--short", "HEAD"]);
    let dirty = Command::new("git")
        .args(["status", "--porcelain", "--untracked-files=no"])
        .output()
        .is_ok_and(|o| !o.stdout.is_empty());
    if dirty {
        format!("{rev} with uncommitted changes")
    } else {
        rev
    }
}

fn machine() -> Vec<String> {
    let cpuinfo = std::fs::read_to_string("/proc/cpuinfo").unwrap_or_default();
    let model = cpuinfo
        .lines()
        .find_map(|l| l.strip_prefix("model name"))
        .map(|l| l.trim_start_matches([' ', '\t', ':']).to_owned())
        .unwrap_or_else(|| "unknown CPU".into());
    let cores = std::thread::available_parallelism().map_or(0, usize::from);
    let mem_kib = std::fs::read_to_string("/proc/meminfo")
        .ok()
        .and_then(|m| {
            m.lines()
                .find_map(|l| l.strip_prefix("MemTotal:"))
                .and_then(|v| v.trim().trim_end_matches("kB").trim().parse::<u64>().ok())
        })
        .unwrap_or(0);
    vec![
        format!("CPU: {model}, {cores} cores available"),
        format!("Memory: {:.1} GiB", mem_kib as f64 / 1048576.0),
        format!("Kernel: Linux {}", output("uname", &["-r"])),
        format!(
            "Software: {}; {}; {}",
            output("nginx", &["-v"]),
            output("wrk", &["-v"]),
            output("rustc", &["-V"])
        ),
    ]
}
