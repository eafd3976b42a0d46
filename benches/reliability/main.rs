//! `idbridge-reliability`: what idbridge does under sustained load while things break (`make
//! chaos`) and over a long run of mixed and hostile traffic (`make soak`). Each writes its
//! section of `benches/RELIABILITY.md` (between `<!-- chaos:begin -->`/`<!-- chaos:end -->` and
//! the soak's markers), leaving the rest of the file as it is.
//!
//! Both drive release binaries in processes of their own: the `idbridge` gateway (two replicas),
//! `idbridge sim` (one process per backend) and redis-server, on free loopback ports. The client
//! in this process checks every answer ([`judge`]) against what the simulators hold.

#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

mod calls;
mod chaos;
mod judge;
mod record;
mod soak;
mod topology;
mod traffic;

use std::fmt::Write as _;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Duration;

use anyhow::{Context, ensure};
use clap::{Parser, Subcommand};

use crate::record::Window;

#[derive(Debug, Parser)]
#[command(
    name = "idbridge-reliability",
    about = "Chaos under load and the soak (make chaos, make soak)"
)]
struct Cli {
    #[command(subcommand)]
    run: Run,
    /// The gateway binary (a release build); it also runs the simulators (`idbridge sim`).
    #[arg(long, global = true, default_value = "target/release/idbridge")]
    idbridge: PathBuf,
    /// The report whose section the run rewrites.
    #[arg(long, global = true, default_value = "benches/RELIABILITY.md")]
    out: PathBuf,
}

#[derive(Debug, Subcommand)]
enum Run {
    /// Stall and crash each simulator, Redis and one replica under load.
    Chaos(chaos::ChaosArgs),
    /// Mixed and hostile traffic for a long time, sampling memory and descriptors.
    Soak(soak::SoakArgs),
}

/// The load, for both runs.
#[derive(Debug, clap::Args)]
pub struct Common {
    /// Concurrent clients; each owns its sessions.
    #[arg(long, default_value_t = 64)]
    pub workers: usize,
    /// Sessions each worker holds.
    #[arg(long, default_value_t = 8)]
    pub sessions: usize,
    /// Requests per second, in all (a steady rate, not as fast as possible: latencies under a
    /// fault mean something only when the machine is not saturated).
    #[arg(long, default_value_t = 1000.0)]
    pub rate: f64,
}

/// What both runs start from.
#[derive(Debug)]
pub struct Setup {
    pub binary: PathBuf,
    pub repo: PathBuf,
    /// Scratch space for the processes' configuration and logs.
    pub dir: PathBuf,
    pub http: reqwest::Client,
    /// John Doe's demo certificate and its private key, for Net iD logins.
    pub certificate: String,
    pub key: std::sync::Arc<idbridge_protocol::netid::proof::ClientKey>,
    /// The machine, date and commit, as one Markdown line.
    pub machine: String,
    pub command: String,
}

fn main() -> anyhow::Result<()> {
    let cli = Cli::parse();
    let rt = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()?;
    rt.block_on(run(cli))
}

async fn run(cli: Cli) -> anyhow::Result<()> {
    let repo = idbridge_benches::procs::repo_root();
    let binary = repo.join(&cli.idbridge);
    ensure!(
        binary.is_file(),
        "{} is missing: build it with `cargo build --release -p idbridge` (make chaos does)",
        binary.display()
    );
    let work = tempfile::Builder::new()
        .prefix("idbridge-reliability-")
        .tempdir()?;
    let certificate = std::fs::read_to_string(repo.join("config/demo/john-doe.cer"))?
        .trim()
        .to_owned();
    let setup = Setup {
        binary,
        dir: work.path().to_owned(),
        http: reqwest::Client::builder()
            .timeout(calls::CLIENT_TIMEOUT)
            .pool_max_idle_per_host(256)
            .build()?,
        certificate,
        key: std::sync::Arc::new(idbridge_protocol::netid::proof::ClientKey::from_pem(
            &std::fs::read_to_string(repo.join("config/demo/john-doe.key"))?,
        )?),
        machine: machine(&repo),
        command: std::env::args().collect::<Vec<_>>().join(" "),
        repo: repo.clone(),
    };
    let (marker, section) = match &cli.run {
        Run::Chaos(args) => ("chaos", chaos::run(args, &setup).await?),
        Run::Soak(args) => ("soak", soak::run(args, &setup).await?),
    };
    let out = repo.join(&cli.out);
    write_section(&out, marker, &section)?;
    println!("{section}");
    eprintln!("wrote the {marker} section of {}", out.display());
    Ok(())
}

/// Replaces the text between `<!-- marker:begin -->` and `<!-- marker:end -->` in `path` with
/// `section`, or appends the marked section; creates the file with its heading if missing.
pub fn write_section(path: &Path, marker: &str, section: &str) -> anyhow::Result<()> {
    let (begin, end) = (
        format!("<!-- {marker}:begin -->"),
        format!("<!-- {marker}:end -->"),
    );
    let text = std::fs::read_to_string(path).unwrap_or_else(|_| {
        "# Reliability\n\nWhat idbridge does to hostile bytes (`make fuzz`), under load while \
         things break (`make chaos`), and over a long run (`make soak`). Each command rewrites \
         its own section.\n"
            .to_owned()
    });
    let marked = format!("{begin}\n{}\n{end}", section.trim_end());
    let text = match (text.find(&begin), text.find(&end)) {
        (Some(b), Some(e)) if b < e => {
            format!("{}{marked}{}", &text[..b], &text[e + end.len()..])
        }
        _ => format!("{}\n{marked}\n", text.trim_end()),
    };
    std::fs::write(path, text).with_context(|| format!("writing {}", path.display()))
}

/// "2 × CPU model, N GiB, Linux x.y, date, commit abc1234".
fn machine(repo: &Path) -> String {
    let read = |f: &str| std::fs::read_to_string(f).unwrap_or_default();
    let cpuinfo = read("/proc/cpuinfo");
    let cpus = cpuinfo
        .lines()
        .filter(|l| l.starts_with("processor"))
        .count();
    let model = cpuinfo
        .lines()
        .find_map(|l| l.strip_prefix("model name")?.split(':').nth(1))
        .unwrap_or("unknown CPU")
        .trim()
        .to_owned();
    let mem_gib = read("/proc/meminfo")
        .lines()
        .find_map(|l| l.strip_prefix("MemTotal:"))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse::<f64>().ok())
        .map_or(0.0, |kib| kib / 1048576.0);
    let out = |cmd: &str, args: &[&str]| {
        Command::new(cmd)
            .args(args)
            .current_dir(repo)
            .output()
            .ok()
            .map(|o| String::from_utf8_lossy(&o.stdout).trim().to_owned())
            .unwrap_or_default()
    };
    let dirty = if out("git", &["status", "--porcelain"]).is_empty() {
        ""
    } else {
        " (with uncommitted changes)"
    };
    format!(
        "Machine: {cpus} × {model}, {mem_gib:.0} GiB, Linux {}; {}; commit {}{dirty}.",
        out("uname", &["-r"]),
        out("date", &["-u", "+%Y-%m-%d %H:%M UTC"]),
        out("git", &["rev-parse", "--short", "HEAD"]),
    )
}

pub fn fmt_ms(d: Duration) -> String {
    format!("{:.1} ms", d.as_secs_f64() * 1000.0)
}

/// The failing outcome classes of a window with their counts, most frequent first; "none" if
/// every answer was right.
pub fn outcome_cells(w: &Window) -> String {
    let mut failing: Vec<(&String, &u64)> = w
        .outcomes
        .iter()
        .filter(|(class, _)| *class != "ok" && *class != "lost with its backend")
        .collect();
    failing.sort_by(|a, b| b.1.cmp(a.1));
    let mut s = String::new();
    for (class, n) in &failing {
        let _ = write!(s, "{}`{class}` {n}", if s.is_empty() { "" } else { ", " });
    }
    let lost = w.count("lost with its backend");
    if lost > 0 {
        let _ = write!(
            s,
            "{}(lost with its backend: {lost})",
            if s.is_empty() { "" } else { "; " }
        );
    }
    if s.is_empty() { "none".into() } else { s }
}
