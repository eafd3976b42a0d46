//! The soak: mixed traffic for a long time (default 30 minutes) — logins, status on every face,
//! logouts, pass-through and hostile requests — with more sessions in use than a replica's
//! cache holds, so sessions churn through it at capacity. Resident memory and open descriptors
//! of every process are sampled and plotted; both must stay flat.

use std::fmt::Write as _;
use std::path::Path;
use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::time::Duration;

use plotters::prelude::*;

use crate::calls;
use crate::topology::Topology;
use crate::traffic::{self, Mix, World};
use crate::{Common, Setup, fmt_ms, outcome_cells};

#[derive(Debug, clap::Args)]
pub struct SoakArgs {
    /// How long the soak runs.
    #[arg(long, default_value = "30m", value_parser = humantime::parse_duration)]
    pub duration: Duration,
    /// Every replica's `cache.max_sessions`: well below the sessions held (`--workers` ×
    /// `--sessions`, 512 by default), so they churn through it.
    #[arg(long, default_value_t = 200)]
    pub max_sessions: u64,
    /// Time between samples of memory and descriptors.
    #[arg(long, default_value = "5s", value_parser = humantime::parse_duration)]
    pub sample_every: Duration,
    /// Where the plot goes (the report links it by file name, beside it).
    #[arg(long, default_value = "benches/soak.png")]
    pub plot: std::path::PathBuf,
    #[command(flatten)]
    pub common: Common,
}

/// One process at one time: its name, resident bytes and open descriptors.
type Usage = (String, u64, usize);
/// One sample: seconds since the start, then every process.
type Sample = (f64, Vec<Usage>);
/// What a plot panel shows of a process.
type Pick = fn(&Usage) -> f64;

pub async fn run(args: &SoakArgs, setup: &Setup) -> anyhow::Result<String> {
    let env = [(
        "IDBRIDGE__CACHE__MAX_SESSIONS",
        args.max_sessions.to_string(),
    )];
    let topology =
        Topology::start(&setup.binary, &setup.repo, &setup.dir, 2, &env, &setup.http).await?;
    let mix = Mix {
        churn: 0.1,
        pass_through: 0.05,
        hostile: 0.02,
    };
    let world = Arc::new(World::new(
        setup.http.clone(),
        topology.bases(),
        setup.certificate.clone(),
        setup.key.clone(),
        mix,
        calls::hostile(),
    ));
    let c = &args.common;
    let mut workers = traffic::start(&world, c.workers, c.sessions, c.rate);
    eprintln!(
        "soak: {:?} at {} req/s, {} sessions held, cache.max_sessions {}",
        args.duration,
        c.rate,
        c.workers * c.sessions,
        args.max_sessions
    );
    let mut samples: Vec<Sample> = Vec::new();
    let mut tick = tokio::time::interval(args.sample_every);
    while world.recorder.now() < args.duration {
        tick.tick().await;
        samples.push((world.recorder.now().as_secs_f64(), topology.sample()));
        if samples.len().is_multiple_of(60) {
            eprintln!(
                "soak: {:.0} s, {:?}",
                world.recorder.now().as_secs_f64(),
                samples.last().map(|s| &s.1)
            );
        }
    }
    let sweep = traffic::sweep(&world).await;
    world.stop.store(true, Ordering::SeqCst);
    while workers.join_next().await.is_some() {}
    let end = world.recorder.now();
    let mut topology = topology;
    let exits = topology.unexpected_exits();
    plot(&setup.repo.join(&args.plot), &samples)?;

    let all = world.recorder.window(Duration::ZERO, end);
    let mut s = String::new();
    let _ = writeln!(
        s,
        "## Soak\n\n{}\n\nCommand: `make soak` (`{}`). Two release replicas sharing one \
         redis-server, {} workers holding {} sessions each ({} at a time, {} logged in over the \
         run) against `cache.max_sessions = {}` per replica, {} requests/s for {:.0} min: 10 % \
         logouts (a new login takes each one's place), 5 % pass-through, 2 % hostile requests (truncated JSON, \
         5000-deep XML, a 100 KiB body, wrong JSON types, an unknown bearer, a 40 KiB header), \
         the rest status on every face.\n",
        setup.machine,
        setup.command,
        c.workers,
        c.sessions,
        c.workers * c.sessions,
        world.logins.load(Ordering::Relaxed),
        args.max_sessions,
        c.rate,
        args.duration.as_secs_f64() / 60.0
    );
    let _ = writeln!(
        s,
        "**{} requests: {} wrongly said \"logged out\", {} hostile requests mishandled, {} \
         unexpected process exits; the final sweep found {} of {} questions refusing a valid \
         session.** p50 {}, p99 {}, max {}.\n",
        all.requests,
        all.count("WRONGLY LOGGED OUT"),
        all.outcomes
            .iter()
            .filter(|(k, _)| k.starts_with("HOSTILE"))
            .map(|(_, n)| n)
            .sum::<u64>(),
        exits.len(),
        sweep.refused,
        sweep.asked,
        fmt_ms(all.p50),
        fmt_ms(all.p99),
        fmt_ms(all.max),
    );
    let _ = writeln!(s, "Answers by class: {}.\n", outcome_cells(&all));
    s.push_str(&flatness(&samples));
    let file = args
        .plot
        .file_name()
        .map(|f| f.to_string_lossy().into_owned())
        .unwrap_or_default();
    let _ = writeln!(
        s,
        "\n![Resident memory and open descriptors over the soak]({file})"
    );
    crate::chaos::incidents(&mut s, &world, &exits);
    Ok(s)
}

/// Per process: memory and descriptors early (the median of the second tenth of the samples,
/// past the warm-up) and late (the median of the last tenth), and the peak.
fn flatness(samples: &[Sample]) -> String {
    let mut s = String::from(
        "| process | RSS early | RSS late | RSS max | growth | descriptors early | late | max |\n\
         | --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: |\n",
    );
    let names: Vec<String> = samples
        .first()
        .map(|(_, parts)| parts.iter().map(|p| p.0.clone()).collect())
        .unwrap_or_default();
    let n = samples.len();
    let tenth = (n / 10).max(1);
    for name in names {
        let series: Vec<(u64, usize)> = samples
            .iter()
            .filter_map(|(_, parts)| parts.iter().find(|p| p.0 == name).map(|p| (p.1, p.2)))
            .collect();
        let median = |range: &[(u64, usize)]| -> (u64, usize) {
            let mut rss: Vec<u64> = range.iter().map(|r| r.0).collect();
            let mut fds: Vec<usize> = range.iter().map(|r| r.1).collect();
            rss.sort_unstable();
            fds.sort_unstable();
            (
                rss.get(rss.len() / 2).copied().unwrap_or(0),
                fds.get(fds.len() / 2).copied().unwrap_or(0),
            )
        };
        let early = median(
            series
                .get(tenth..(2 * tenth).min(series.len()))
                .unwrap_or_default(),
        );
        let late = median(
            series
                .get(series.len().saturating_sub(tenth)..)
                .unwrap_or_default(),
        );
        let max_rss = series.iter().map(|r| r.0).max().unwrap_or(0);
        let max_fds = series.iter().map(|r| r.1).max().unwrap_or(0);
        let mib = |b: u64| format!("{:.1} MiB", b as f64 / 1048576.0);
        let growth = if early.0 > 0 {
            format!("{:+.1} %", (late.0 as f64 / early.0 as f64 - 1.0) * 100.0)
        } else {
            "—".into()
        };
        let _ = writeln!(
            s,
            "| {name} | {} | {} | {} | {growth} | {} | {} | {max_fds} |",
            mib(early.0),
            mib(late.0),
            mib(max_rss),
            early.1,
            late.1
        );
    }
    s
}

/// Two panels over time: resident memory (MiB) and open descriptors, one line per process.
fn plot(path: &Path, samples: &[Sample]) -> anyhow::Result<()> {
    register_font()?;
    let names: Vec<String> = samples
        .first()
        .map(|(_, parts)| parts.iter().map(|p| p.0.clone()).collect())
        .unwrap_or_default();
    let minutes = samples.last().map_or(1.0, |s| s.0 / 60.0).max(0.1);
    let series = |name: &str, pick: Pick| -> Vec<(f64, f64)> {
        samples
            .iter()
            .filter_map(|(t, parts)| Some((t / 60.0, pick(parts.iter().find(|p| p.0 == name)?))))
            .collect()
    };
    let top = |pick: Pick| {
        samples
            .iter()
            .flat_map(|(_, parts)| parts.iter().map(pick))
            .fold(1.0_f64, f64::max)
            * 1.15
    };
    let root = BitMapBackend::new(path, (1200, 900)).into_drawing_area();
    root.fill(&WHITE)?;
    let panels = root.split_evenly((2, 1));
    let rss = |p: &Usage| p.1 as f64 / 1048576.0;
    let fds = |p: &Usage| p.2 as f64;
    let specs: [(&str, &str, Pick); 2] = [
        ("Resident memory", "MiB", rss),
        ("Open file descriptors", "descriptors", fds),
    ];
    for (panel, (title, unit, pick)) in panels.iter().zip(specs) {
        let mut chart = ChartBuilder::on(panel)
            .caption(title, ("sans-serif", 24))
            .margin(12)
            .x_label_area_size(40)
            .y_label_area_size(70)
            .build_cartesian_2d(0.0..minutes, 0.0..top(pick))?;
        chart
            .configure_mesh()
            .x_desc("minutes")
            .y_desc(unit)
            .label_style(("sans-serif", 14))
            .draw()?;
        for (i, name) in names.iter().enumerate() {
            let color = Palette99::pick(i).to_rgba();
            chart
                .draw_series(LineSeries::new(series(name, pick), color.stroke_width(2)))?
                .label(name.as_str())
                .legend(move |(x, y)| {
                    PathElement::new(vec![(x, y), (x + 20, y)], color.stroke_width(2))
                });
        }
        chart
            .configure_series_labels()
            .background_style(WHITE.mix(0.8))
            .border_style(BLACK)
            .label_font(("sans-serif", 14))
            .draw()?;
    }
    root.present()?;
    Ok(())
}

/// The plot's text needs a font file: DejaVu Sans, from Debian's fonts-dejavu-core (make soak
/// installs it).
fn register_font() -> anyhow::Result<()> {
    const FONT: &str = "/usr/share/fonts/truetype/dejavu/DejaVuSans.ttf";
    let bytes = std::fs::read(FONT).map_err(|e| {
        anyhow::anyhow!("reading {FONT} ({e}); install Debian's fonts-dejavu-core (make soak does)")
    })?;
    plotters::style::register_font(
        "sans-serif",
        FontStyle::Normal,
        Box::leak(bytes.into_boxed_slice()),
    )
    .map_err(|_| anyhow::anyhow!("{FONT} is not a font plotters can read"))
}
