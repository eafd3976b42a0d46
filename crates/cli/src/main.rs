//! The `idbridge` command: run the gateway, the demo, the backend simulators, or check a config.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::Context;
use clap::{Parser, Subcommand};
use idbridge_gateway::RunningGateway;
use idbridge_gateway::backend::Kinds;
use idbridge_gateway::config::{self, Config, LogConfig, LogFormat, Sources};
use idbridge_gateway::runtime::Runtime;
use idbridge_sim::{SimOptions, Simulator};
use tokio::signal::unix::{SignalKind, signal};

mod banner;
mod clock;

/// mimalloc rather than the system allocator: a cached session is some forty small allocations,
/// which mimalloc's size classes hold with less overhead than glibc's, and allocation is on every
/// request's path (benches/RESULTS.md has both measurements).
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

/// Exit status for an invalid configuration (sysexits EX_USAGE), as scripts and CI expect.
const EXIT_CONFIG: u8 = 64;
const DEMO_ENOS: &str = "127.0.0.1:18081";
const DEMO_NETID: &str = "127.0.0.1:18082";

#[derive(Debug, Parser)]
#[command(
    name = "idbridge",
    version,
    about = "Protocol-bridging identity gateway for EnOS IAM and Net iD Portal"
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Run the gateway. SIGHUP reloads the configuration; SIGTERM or Ctrl-C stops.
    Run {
        /// Configuration file layered over config/idbridge.toml.
        #[arg(long)]
        config: Option<PathBuf>,
    },
    /// The gateway and both simulators in one process on the demo ports, ready to curl.
    Demo,
    /// Run both backend simulators (EnOS IAM and Net iD Portal) with the demo directory.
    Sim {
        #[arg(long, default_value = DEMO_ENOS)]
        enos: SocketAddr,
        #[arg(long, default_value = DEMO_NETID)]
        netid: SocketAddr,
    },
    /// Validate a configuration; prints every problem and exits 64 when invalid.
    CheckConfig {
        /// Configuration file layered over config/idbridge.toml.
        #[arg(long)]
        config: Option<PathBuf>,
    },
}

fn main() -> ExitCode {
    match Cli::parse().command {
        Command::CheckConfig { config } => match load(config) {
            Ok(_) => {
                println!("configuration OK");
                ExitCode::SUCCESS
            }
            Err(code) => code,
        },
        Command::Run { config: file } => match load(file.clone()) {
            Ok(config) => report(run_async(&config.log.clone(), run(config, file))),
            Err(code) => code,
        },
        Command::Demo => match load(None) {
            Ok(config) => report(run_async(&config.log.clone(), demo(config))),
            Err(code) => code,
        },
        Command::Sim { enos, netid } => {
            let log = LogConfig {
                format: LogFormat::Text,
                level: "info".into(),
            };
            report(run_async(&log, sim(enos, netid)))
        }
    }
}

/// Loads the configuration and checks what only building the runtime can tell (colliding
/// routes), or prints every problem and yields exit status 64.
fn load(file: Option<PathBuf>) -> Result<Config, ExitCode> {
    let kinds = Kinds::default();
    config::load_with(&Sources::standard(file), &kinds)
        .and_then(|c| Runtime::check(&c, &kinds).map(|()| c))
        .map_err(|e| {
            eprintln!("{e}");
            ExitCode::from(EXIT_CONFIG)
        })
}

fn report(result: anyhow::Result<()>) -> ExitCode {
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("idbridge: {e:#}");
            ExitCode::FAILURE
        }
    }
}

fn run_async<F: std::future::Future<Output = anyhow::Result<()>>>(
    log: &LogConfig,
    f: F,
) -> anyhow::Result<()> {
    // Dropped when the command returns: writes out what is still queued.
    let _flush_on_exit = init_logging(log);
    tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .context("starting the async runtime")?
        .block_on(f)
}

/// Logs go to stderr: stdout is for what the command prints (the demo banner, check-config).
/// `RUST_LOG` wins over the configured level, so one run can be made verbose without editing
/// files; either way the crates that print headers stay at `info` (see `logging::filter`).
///
/// Lines are formatted on the request's thread and written by a logging thread through a buffer,
/// several per `write` under load: one unbuffered write per access line cost a quarter of a
/// cache hit's CPU time (benches/RESULTS.md). The queue is not lossy: when the logging thread
/// falls behind, request threads wait for it rather than drop lines.
fn init_logging(log: &LogConfig) -> tracing_appender::non_blocking::WorkerGuard {
    let level = std::env::var("RUST_LOG").unwrap_or_else(|_| log.level.clone());
    let filter = tracing_subscriber::EnvFilter::new(idbridge_gateway::logging::filter(&level));
    let (writer, guard) = tracing_appender::non_blocking::NonBlockingBuilder::default()
        .lossy(false)
        .thread_name("idbridge-log")
        .finish(std::io::BufWriter::with_capacity(
            64 * 1024,
            std::io::stderr(),
        ));
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_timer(clock::LogClock)
        .with_writer(writer);
    match log.format {
        LogFormat::Json => builder.json().flatten_event(true).init(),
        LogFormat::Text => builder.init(),
    }
    guard
}

async fn run(config: Config, file: Option<PathBuf>) -> anyhow::Result<()> {
    let gateway = RunningGateway::start(config).await?;
    println!(
        "idbridge gateway on {}, admin on {}",
        gateway.base_url(),
        gateway.admin_url()
    );
    let mut hangup = signal(SignalKind::hangup()).context("installing the SIGHUP handler")?;
    let mut terminate =
        signal(SignalKind::terminate()).context("installing the SIGTERM handler")?;
    loop {
        tokio::select! {
            _ = hangup.recv() => match config::load(&Sources::standard(file.clone())) {
                // A bad file on reload must not take a running gateway down: keep the old config.
                Err(e) => tracing::error!("reload refused, keeping the running configuration: {e}"),
                Ok(config) => {
                    if let Err(e) = gateway.reload(config).await {
                        tracing::error!(error = %e, "reload failed, keeping the running configuration");
                    }
                }
            },
            _ = terminate.recv() => break,
            _ = tokio::signal::ctrl_c() => break,
        }
    }
    tracing::info!("stopping");
    gateway.shutdown().await;
    Ok(())
}

async fn demo(mut config: Config) -> anyhow::Result<()> {
    let opts = SimOptions::default();
    let enos = Simulator::start_enos(DEMO_ENOS.parse()?, &opts)
        .await
        .with_context(|| format!("starting the EnOS IAM simulator on {DEMO_ENOS}"))?;
    let netid = Simulator::start_netid(DEMO_NETID.parse()?, &opts)
        .await
        .with_context(|| format!("starting the Net iD Portal simulator on {DEMO_NETID}"))?;
    for (name, sim) in [("enos", &enos), ("netid", &netid)] {
        if let Some(backend) = config.backend_mut(name) {
            backend.url = sim.base_url().parse()?;
        }
    }
    let gateway = RunningGateway::start(config).await?;
    print!(
        "{}",
        banner::demo_banner(
            &gateway.base_url(),
            &gateway.admin_url(),
            &enos.base_url(),
            &netid.base_url()
        )
    );
    tokio::signal::ctrl_c()
        .await
        .context("waiting for Ctrl-C")?;
    gateway.shutdown().await;
    enos.shutdown().await;
    netid.shutdown().await;
    Ok(())
}

async fn sim(enos_addr: SocketAddr, netid_addr: SocketAddr) -> anyhow::Result<()> {
    let opts = SimOptions::default();
    let enos = Simulator::start_enos(enos_addr, &opts)
        .await
        .with_context(|| format!("starting the EnOS IAM simulator on {enos_addr}"))?;
    let netid = Simulator::start_netid(netid_addr, &opts)
        .await
        .with_context(|| format!("starting the Net iD Portal simulator on {netid_addr}"))?;
    println!("EnOS IAM simulator       {}", enos.base_url());
    println!("Net iD Portal simulator  {}", netid.base_url());
    println!("Stats: GET {}/__sim/stats   Ctrl-C stops.", enos.base_url());
    let mut terminate =
        signal(SignalKind::terminate()).context("installing the SIGTERM handler")?;
    tokio::select! {
        _ = terminate.recv() => {}
        r = tokio::signal::ctrl_c() => r.context("waiting for Ctrl-C")?,
    }
    enos.shutdown().await;
    netid.shutdown().await;
    Ok(())
}
