//! `make chaos`: two replicas and Redis under a steady load that checks every answer, while a
//! schedule stalls and crashes each backend simulator, Redis, and one replica in turn.
//!
//! Each fault lasts `--fault-for`; after it the part is resumed (a stall) or restarted (a crash)
//! and the system gets `--settle` before the next fault. After each settle, a sweep asks both
//! replicas about every held session still valid at its backend: none may be refused.

use std::fmt::Write as _;
use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::time::Duration;

use crate::judge::Backend;
use crate::record::{SLOT, Window};
use crate::topology::{Part, Topology};
use crate::traffic::{self, Mix, Sweep, World};
use crate::{Common, Setup, fmt_ms, outcome_cells};

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Action {
    Stall,
    Crash,
}

/// The faults, in order. Replica B (index 1) is the one that fails.
const SCHEDULE: [(Part, Action); 8] = [
    (Part::Enos, Action::Stall),
    (Part::Enos, Action::Crash),
    (Part::Netid, Action::Stall),
    (Part::Netid, Action::Crash),
    (Part::Redis, Action::Stall),
    (Part::Redis, Action::Crash),
    (Part::Replica(1), Action::Stall),
    (Part::Replica(1), Action::Crash),
];

/// A span without failures this long counts as recovered.
const QUIET: Duration = Duration::from_secs(1);

#[derive(Debug, clap::Args)]
pub struct ChaosArgs {
    /// How long each fault lasts.
    #[arg(long, default_value = "10s", value_parser = humantime::parse_duration)]
    pub fault_for: Duration,
    /// Time after each fault before the next.
    #[arg(long, default_value = "20s", value_parser = humantime::parse_duration)]
    pub settle: Duration,
    /// Steady load before the first fault.
    #[arg(long, default_value = "15s", value_parser = humantime::parse_duration)]
    pub warmup: Duration,
    #[command(flatten)]
    pub common: Common,
}

struct Done {
    name: String,
    start: Duration,
    end: Duration,
    sweep: Sweep,
}

/// Waits for the next whole second of the run and returns it.
async fn next_second(world: &World) -> Duration {
    let now = world.recorder.now();
    let next = Duration::from_secs(now.as_secs() + 1);
    tokio::time::sleep(next - now).await;
    next
}

fn backend_of(part: Part) -> Option<Backend> {
    match part {
        Part::Enos => Some(Backend::Enos),
        Part::Netid => Some(Backend::Netid),
        _ => None,
    }
}

/// Runs the schedule; returns the report section.
pub async fn run(args: &ChaosArgs, setup: &Setup) -> anyhow::Result<String> {
    // Sessions are revalidated after 2 s rather than 60 s, so that a backend's fault is met by
    // lookups that must go to it (and fall back on the stale copy) within each fault.
    let env = [("IDBRIDGE__CACHE__REVALIDATE_AFTER", "2s".to_owned())];
    let mut topology =
        Topology::start(&setup.binary, &setup.repo, &setup.dir, 2, &env, &setup.http).await?;
    let mix = Mix {
        churn: 0.05,
        pass_through: 0.05,
        hostile: 0.0,
    };
    let world = Arc::new(World::new(
        setup.http.clone(),
        topology.bases(),
        setup.certificate.clone(),
        setup.key.clone(),
        mix,
        Vec::new(),
    ));
    let c = &args.common;
    let mut workers = traffic::start(&world, c.workers, c.sessions, c.rate);
    eprintln!("chaos: warm-up {:?} at {} req/s", args.warmup, c.rate);
    tokio::time::sleep(args.warmup).await;
    let first = traffic::sweep(&world).await;
    // Faults start on whole seconds of the run, so that the per-second windows do not overlap.
    let before = next_second(&world).await;

    let mut done = Vec::new();
    for (part, action) in SCHEDULE {
        let name = format!(
            "{} {}",
            part.name(),
            if action == Action::Stall {
                "stalled"
            } else {
                "crashed"
            }
        );
        let start = next_second(&world).await;
        eprintln!("chaos: {name} for {:?}", args.fault_for);
        match action {
            Action::Stall => topology.stall(part)?,
            Action::Crash => {
                // Its sessions are lost from this moment: answers after it may say so.
                if let Some(b) = backend_of(part) {
                    world.epochs[b as usize].fetch_add(1, Ordering::SeqCst);
                }
                topology.crash(part)?;
            }
        }
        tokio::time::sleep(args.fault_for).await;
        match action {
            Action::Stall => topology.resume(part)?,
            Action::Crash => topology.restart(part, &setup.http).await?,
        }
        let end = world.recorder.now();
        tokio::time::sleep(args.settle).await;
        let sweep = traffic::sweep(&world).await;
        next_second(&world).await;
        done.push(Done {
            name,
            start,
            end,
            sweep,
        });
    }
    world.stop.store(true, Ordering::SeqCst);
    while workers.join_next().await.is_some() {}
    let total_end = world.recorder.now();
    let exits = topology.unexpected_exits();
    Ok(section(
        args, setup, &world, before, &first, &done, total_end, &exits,
    ))
}

#[allow(clippy::too_many_arguments)]
fn section(
    args: &ChaosArgs,
    setup: &Setup,
    world: &World,
    before: Duration,
    first: &Sweep,
    done: &[Done],
    end: Duration,
    exits: &[String],
) -> String {
    let rec = &world.recorder;
    let all = rec.window(Duration::ZERO, end);
    let wrong = all.count("WRONGLY LOGGED OUT");
    let refused: u64 = first.refused + done.iter().map(|d| d.sweep.refused).sum::<u64>();
    let asked: u64 = first.asked + done.iter().map(|d| d.sweep.asked).sum::<u64>();
    let mut s = String::new();
    let c = &args.common;
    let _ = writeln!(
        s,
        "## Chaos\n\n{}\n\nCommand: `make chaos` (`{}`). Two release replicas sharing one \
         redis-server, each simulator in its own process; {} workers holding {} sessions each \
         (native EnOS and Net iD sessions and gateway tokens for both), {} requests/s in all: \
         status on every face (EnOS, Net iD REST and SOAP, unified, forward-auth), 5 % logouts \
         (each followed by a status question to the replica that did it), 5 % pass-through. \
         Each fault lasts {:?}, then {:?} to settle; `cache.revalidate_after` is 2 s.\n",
        setup.machine, setup.command, c.workers, c.sessions, c.rate, args.fault_for, args.settle
    );
    let _ = writeln!(
        s,
        "**{wrong} answers wrongly said \"logged out\"; {refused} of {asked} sweep questions \
         refused a session valid at its backend; {} unexpected process exits.** {} requests in \
         all, {} failed over to the other replica because nothing listened.\n",
        exits.len(),
        all.requests,
        world.failovers.load(Ordering::Relaxed)
    );
    s.push_str(
        "| window | requests | errors by class | wrongly logged out | refused in sweep | p50 | p99 | max | recovery |\n\
         | --- | ---: | --- | ---: | ---: | ---: | ---: | ---: | ---: |\n",
    );
    let steady = rec.window(Duration::ZERO, before);
    row(
        &mut s,
        "steady, before any fault",
        &steady,
        Some(first),
        "—".into(),
    );
    for (i, d) in done.iter().enumerate() {
        let next = done.get(i + 1).map_or(end, |n| n.start);
        let resumed = Duration::from_secs(d.end.as_secs_f64().ceil() as u64);
        let during = rec.window(d.start, resumed);
        let recovery = match rec.recovery(d.end, QUIET, next) {
            Some(t) => format!("{:.1} s", t.as_secs_f64()),
            None => format!("not within {:.0} s", (next - d.end).as_secs_f64()),
        };
        row(
            &mut s,
            &format!("{} (during)", d.name),
            &during,
            None,
            recovery,
        );
        let after = rec.window(resumed, next);
        row(
            &mut s,
            "↳ after, until the next fault",
            &after,
            Some(&d.sweep),
            String::new(),
        );
    }
    row(&mut s, "whole run", &all, None, String::new());
    let _ = writeln!(
        s,
        "\nRecovery: from the end of a fault (resumed or restarted) to the first {:.0} s in \
         which every {} ms had requests and none failed. \"Lost with its backend\" answers (a \
         session its crashed simulator no longer holds, rightly called logged out) are not \
         failures. Latencies are the client's, over loopback on a shared machine.\n",
        QUIET.as_secs_f64(),
        SLOT.as_millis()
    );
    incidents(&mut s, world, exits);
    s
}

fn row(s: &mut String, name: &str, w: &Window, sweep: Option<&Sweep>, recovery: String) {
    let sweep = sweep.map_or("—".to_owned(), |sw| {
        format!("{} / {}", sw.refused, sw.asked)
    });
    let _ = writeln!(
        s,
        "| {name} | {} | {} | {} | {sweep} | {} | {} | {} | {recovery} |",
        w.requests,
        outcome_cells(w),
        w.count("WRONGLY LOGGED OUT"),
        fmt_ms(w.p50),
        fmt_ms(w.p99),
        fmt_ms(w.max),
    );
}

pub fn incidents(s: &mut String, world: &World, exits: &[String]) {
    let incidents = world.incidents.lock();
    if incidents.is_empty() && exits.is_empty() {
        return;
    }
    s.push_str("\nIncidents (the first of each run):\n\n");
    for i in exits.iter().chain(incidents.iter()) {
        let _ = writeln!(s, "- `{}`", i.replace('`', "'"));
    }
}
