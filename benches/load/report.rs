//! `benches/RESULTS.md`: what was measured, on what, how, and against which targets.
//!
//! Everything above the `## Analysis` heading is written by the run; the analysis below it is
//! written by people (profiles, explanations) and is carried over from the previous file.

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::path::Path;
use std::process::Command;
use std::time::Duration;

use anyhow::Context;

use crate::wrk::{Load, Measured};

mod targets;

const ANALYSIS: &str = "## Analysis";

/// `idbridge_cache_lookups_total` by result.
pub type Lookups = BTreeMap<String, u64>;

/// What happened between two readings of the counters.
pub fn delta(before: &Lookups, after: &Lookups) -> Lookups {
    after
        .iter()
        .map(|(k, n)| {
            (
                k.clone(),
                n.saturating_sub(before.get(k).copied().unwrap_or(0)),
            )
        })
        .collect()
}

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

/// Two replicas, A and B, sharing sessions through one redis-server.
#[derive(Debug)]
pub struct Replicas {
    /// r-l1 (A's memory) and r-l2 (B's memory holds one session: Redis).
    pub rows: Vec<Row>,
    /// EnOS sessions both rows cycle through, all logged in through A.
    pub sessions: usize,
    /// Each replica's lookups during the timed runs, where A serves r-l1 only and B r-l2 only.
    pub lookups_a: Lookups,
    pub lookups_b: Lookups,
    /// redis-server's CPU time during the timed runs over B's lookups in that time, µs.
    pub redis_cpu_us: f64,
    pub redis_rss: Option<u64>,
    pub propagation: Propagation,
}

/// Logouts on one replica, timed until the other refuses the session.
#[derive(Debug)]
pub struct Propagation {
    /// From each logout's answer to the polled replica's first 30401, in order.
    pub times: Vec<Duration>,
    /// Logouts after which the very first poll was already refused.
    pub at_first_poll: usize,
    pub polls: u64,
    /// Revocations the polled replica applied from pub/sub (one per logout is the expectation).
    pub received: u64,
    /// The polled replica's lookups over the whole measurement.
    pub lookups: Lookups,
}

impl Replicas {
    /// The share of B's lookups during r-l2 answered from Redis.
    pub fn shared_fraction(&self) -> f64 {
        let all: u64 = self.lookups_b.values().sum();
        self.lookups_b.get("shared").copied().unwrap_or(0) as f64 / all.max(1) as f64
    }
}

impl Propagation {
    /// The `q` quantile (nearest rank) of the times.
    pub fn quantile(&self, q: f64) -> Duration {
        let mut t = self.times.clone();
        t.sort();
        let rank = ((q * t.len() as f64).ceil() as usize).clamp(1, t.len().max(1));
        t.get(rank - 1).copied().unwrap_or_default()
    }
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
    /// `None` with `--replicas-only`.
    pub coalescing: Option<Coalescing>,
    pub memory: Vec<Memory>,
    /// `None` with `--skip-replicas`.
    pub replicas: Option<Replicas>,
}

impl Report {
    fn row(&self, key: &str) -> Option<&Measured> {
        self.rows.iter().find(|r| r.key == key).map(|r| &r.median)
    }

    fn ratio(&self, over: &str, under: &str) -> Option<f64> {
        Some(self.row(over)?.requests_per_sec / self.row(under)?.requests_per_sec)
    }

    /// The console summary: the targets, one per line, then the two replicas' figures.
    pub fn summary(&self) -> String {
        let mut lines: Vec<String> = self
            .targets()
            .iter()
            .map(|t| {
                format!(
                    "{} {}: {}",
                    if t.met { "MET " } else { "MISS" },
                    t.name,
                    t.measured
                )
            })
            .collect();
        if let Some(r) = &self.replicas {
            for row in &r.rows {
                lines.push(format!(
                    "{}: {:.0} req/s, p50 {}, p99 {}, {:.0} µs CPU per request",
                    row.key,
                    row.median.requests_per_sec,
                    ms(row.median.p50),
                    ms(row.median.p99),
                    row.median.server_cpu_us
                ));
            }
            let p = &r.propagation;
            lines.push(format!(
                "replica B's lookups from Redis: {:.1} %; revocation B → A: p50 {}, p99 {}, max {}",
                r.shared_fraction() * 100.0,
                fine_ms(p.quantile(0.5)),
                fine_ms(p.quantile(0.99)),
                fine_ms(p.quantile(1.0))
            ));
        }
        lines.join("\n")
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
             simulators), from `/proc`, divided by the requests of that run; its *syscalls* and \
             *context switches* (all threads) are counted by `perf stat` (`raw_syscalls:sys_enter`, \
             `context-switches`) over the same run, per request; — where perf could not count. (p) is a bare Pingora proxy, \
             the `ProxyHttp` example with only `upstream_peer`, built from the same Pingora and \
             run on the same runtime as idbridge: the floor idbridge's pass-through stands on. \
             (b-nolog) is (b) with `access_log off`.\n",
            self.load.threads,
            self.load.connections,
            self.load.duration.as_secs(),
            self.rounds
        )?;
        writeln!(w, "## Throughput and latency\n")?;
        if self.rows.is_empty() {
            writeln!(w, "(Not run: `--replicas-only`.)")?;
        } else {
            table(w, &self.rows)?;
        }
        if let Some(r) = &self.replicas {
            replicas(w, r)?;
        }
        writeln!(w, "\n## Targets\n")?;
        writeln!(w, "| target | measured | met |")?;
        writeln!(w, "|---|---|---|")?;
        if self.targets().is_empty() {
            writeln!(w, "| (none measured: `--replicas-only`) | | |")?;
        }
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
        if !self.rows.is_empty() {
            writeln!(
                w,
                "- Gateway cache lookups during the timed runs: {}; upstream status calls in that \
                 time: {} (revalidation after `cache.revalidate_after`).",
                lookups(&self.lookups_during_load),
                self.upstream_calls_during_load
            )?;
        }
        if let Some(rss) = self.gateway_rss.filter(|_| !self.rows.is_empty()) {
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
        if let Some(c) = &self.coalescing {
            writeln!(
                w,
                "- Coalescing: {} callers at once, the backend answering after 1 s.",
                c.callers
            )?;
        }
        Ok(md)
    }
}

/// The wrk rows: median round, range, latency, CPU, errors.
fn table(w: &mut String, rows: &[Row]) -> std::fmt::Result {
    writeln!(
        w,
        "| | scenario | req/s | req/s over rounds | p50 | p99 | server CPU per request | syscalls per request | context switches per request | errors |"
    )?;
    writeln!(w, "|---|---|---:|---:|---:|---:|---:|---:|---:|---:|")?;
    for r in rows {
        writeln!(
            w,
            "| {} | {} | {:.0} | {:.0}–{:.0} | {} | {} | {:.0} µs | {} | {} | {} |",
            r.key,
            r.what,
            r.median.requests_per_sec,
            r.min_rps,
            r.max_rps,
            ms(r.median.p50),
            ms(r.median.p99),
            r.median.server_cpu_us,
            per_request(r.median.server_syscalls),
            per_request(r.median.server_switches),
            r.errors
        )?;
    }
    Ok(())
}

/// `## Two replicas with Redis`: its wrk rows, what the replicas' counters say about them, and
/// the revocation propagation.
fn replicas(w: &mut String, r: &Replicas) -> std::fmt::Result {
    writeln!(w, "\n## Two replicas with Redis\n")?;
    writeln!(
        w,
        "Two more release gateways, A and B, in front of the same simulators, sharing one \
         redis-server (loopback, no persistence) as `store.redis_url`, and one token key \
         directory. {} EnOS sessions are logged in through A, so A holds them in memory (L1) and \
         Redis (L2) holds their copies. B runs with `cache.max_sessions = 1`: its memory cannot \
         hold them, so its lookups read Redis. Both rows cycle through all the sessions (wrk \
         sets the bearer per request from a Lua table; (d) sends one fixed session) and run in \
         the same rounds as the table above; r-l1 is (d) with Redis configured. Both \
         replicas allow unlimited backend lookups per address (`limits.lookups_per_address`): \
         the benchmark is one address standing for many callers, and every session is \
         revalidated at its backend once per `cache.revalidate_after` (60 s).\n",
        r.sessions
    )?;
    table(w, &r.rows)?;
    writeln!(w)?;
    writeln!(
        w,
        "- B's lookups during the timed r-l2 runs: {}; **{:.1} % answered from Redis** (`shared`).",
        lookups(&r.lookups_b),
        r.shared_fraction() * 100.0
    )?;
    writeln!(
        w,
        "- A's lookups during the timed r-l1 runs: {}. A `miss` here is a session past \
         `cache.revalidate_after`, asked again at its backend: with rounds more than 60 s apart, \
         each r-l1 run starts by refreshing every session once, which (d)'s one session does \
         not.",
        lookups(&r.lookups_a)
    )?;
    write!(
        w,
        "- redis-server's CPU during the timed runs: {:.1} µs per lookup of B",
        r.redis_cpu_us
    )?;
    match r.redis_rss {
        Some(rss) => writeln!(w, "; {:.1} MiB resident after.", rss as f64 / 1048576.0)?,
        None => writeln!(w, ".")?,
    }
    let p = &r.propagation;
    writeln!(w, "\n### Revocation propagation\n")?;
    writeln!(
        w,
        "{} times: log in through B, look the session up on A (A reads it from Redis and keeps \
         it in memory), log out through B (EnOS `logout`, which revokes in Redis and publishes \
         the revocation), then poll A with `session/info` on one keep-alive connection, one call \
         after another, until it answers `30401`. Timed from the logout's answer to A's first \
         `30401`. (The direction is B → A because B's memory holds one session: A is the replica \
         that would go on answering from memory if the message did not arrive.)\n",
        p.times.len()
    )?;
    writeln!(
        w,
        "| logouts | p50 | p99 | max | refused at the first poll | polls |"
    )?;
    writeln!(w, "|---:|---:|---:|---:|---:|---:|")?;
    writeln!(
        w,
        "| {} | {} | {} | {} | {} | {} |\n",
        p.times.len(),
        fine_ms(p.quantile(0.5)),
        fine_ms(p.quantile(0.99)),
        fine_ms(p.quantile(1.0)),
        p.at_first_poll,
        p.polls
    )?;
    if p.at_first_poll == p.times.len() {
        writeln!(
            w,
            "- Every logout was refused at the first poll: the revocation had reached A by the \
             time B's logout answered, and the times above are one `session/info` round trip."
        )?;
    }
    writeln!(
        w,
        "- A applied {} revocations from pub/sub; its lookups meanwhile: {} (a refusal from \
         memory counts as `miss`).",
        p.received,
        lookups(&p.lookups)
    )
}

fn ms(d: Duration) -> String {
    format!("{:.2} ms", d.as_secs_f64() * 1e3)
}

/// For times of a round trip or two on loopback.
fn fine_ms(d: Duration) -> String {
    format!("{:.3} ms", d.as_secs_f64() * 1e3)
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

/// A per-request count with two decimals; — when it was not measured (NaN).
fn per_request(n: f64) -> String {
    if n.is_nan() {
        "—".to_owned()
    } else {
        format!("{n:.2}")
    }
}
