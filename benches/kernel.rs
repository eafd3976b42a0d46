//! System calls and context switches of the processes under test, counted by `perf stat`.

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::Duration;

/// System calls and context switches of `pids` and their children (nginx's workers), counted by
/// `perf stat` (the `raw_syscalls:sys_enter` tracepoint and the `context-switches` event, every
/// thread) from [`KernelCount::start`] to [`KernelCount::finish`]. `/proc/PID/io` is no substitute:
/// it counts `read`/`write` but not the `recvfrom`/`sendto` a Rust server makes.
#[derive(Debug)]
pub struct KernelCount {
    child: Child,
    out: PathBuf,
}

impl KernelCount {
    /// `None` when `perf` is missing or may not trace (run as root, or lower
    /// `kernel.perf_event_paranoid`): the report then says so instead of a figure.
    pub fn start(pids: &[u32], dir: &Path) -> Option<Self> {
        let list: Vec<String> = family(pids).iter().map(u32::to_string).collect();
        let out = dir.join(format!("perf-{}.csv", list.join("-")));
        let child = Command::new("perf")
            .args([
                "stat",
                "-x",
                ",",
                "-e",
                "raw_syscalls:sys_enter,context-switches",
            ])
            .arg("-o")
            .arg(&out)
            .arg("-p")
            .arg(list.join(","))
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .ok()?;
        // perf attaches before counting; give it that moment.
        std::thread::sleep(Duration::from_millis(200));
        Some(Self { child, out })
    }

    /// Stops counting (SIGINT, as Ctrl-C would) and reads (system calls, context switches).
    pub fn finish(mut self) -> Option<(u64, u64)> {
        Command::new("kill")
            .arg("-INT")
            .arg(self.child.id().to_string())
            .status()
            .ok()?;
        self.child.wait().ok()?;
        let text = std::fs::read_to_string(&self.out).ok()?;
        let count = |event: &str| {
            text.lines()
                .find(|l| l.contains(event))
                .and_then(|l| l.split(',').next()?.trim().parse::<u64>().ok())
        };
        Some((count("raw_syscalls:sys_enter")?, count("context-switches")?))
    }
}

/// `pids` and the processes whose parent is one of them.
fn family(pids: &[u32]) -> Vec<u32> {
    std::fs::read_dir("/proc")
        .into_iter()
        .flatten()
        .flatten()
        .filter_map(|e| {
            let stat = std::fs::read_to_string(e.path().join("stat")).ok()?;
            let (head, rest) = stat.rsplit_once(')')?;
            let pid: u32 = head.split_whitespace().next()?.parse().ok()?;
            let ppid: u32 = rest.split_whitespace().nth(1)?.parse().ok()?;
            (pids.contains(&pid) || pids.contains(&ppid)).then_some(pid)
        })
        .collect()
}
