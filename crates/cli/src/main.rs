//! The `idbridge` command: run the gateway, the demo, the backend simulators, or check a config.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::Context;
use clap::{Parser, Subcommand};
use idbridge_gateway::RunningGateway;
use idbridge_gateway::config::{self, Sources};
use idbridge_sim::{SimOptions, Simulator};

/// Exit status for an invalid configuration (sysexits EX_USAGE), as scripts and CI expect.
const EXIT_CONFIG: u8 = 64;
const DEMO_ENOS: &str = "127.0.0.1:18081";
const DEMO_NETID: &str = "127.0.0.1:18082";

mod banner;
use banner::demo_banner;

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
    /// Run the gateway.
    Run {
        /// Configuration file layered over config/idbridge.toml.
        #[arg(long)]
        config: Option<PathBuf>,
    },
    /// The gateway and both simulators in one process on the demo ports, ready to curl.
    Demo,
    /// Run both backend simulators (EnOS IAM and Net iD Portal) with the demo directory.
    Sim {
        #[arg(long, default_value = "127.0.0.1:18081")]
        enos: SocketAddr,
        #[arg(long, default_value = "127.0.0.1:18082")]
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
    let cli = Cli::parse();
    match cli.command {
        Command::CheckConfig { config } => check_config(config),
        Command::Sim { enos, netid } => report(run_async("info", sim(enos, netid))),
        Command::Run { config } => match config::load(&Sources::standard(config)) {
            Ok(config) => {
                let level = config.log.level.clone();
                report(run_async(&level, run(config)))
            }
            Err(e) => {
                eprintln!("{e}");
                ExitCode::from(EXIT_CONFIG)
            }
        },
        Command::Demo => match config::load(&Sources::standard(None)) {
            Ok(config) => report(run_async("info", demo(config))),
            Err(e) => {
                eprintln!("{e}");
                ExitCode::from(EXIT_CONFIG)
            }
        },
    }
}

fn check_config(file: Option<PathBuf>) -> ExitCode {
    match config::load(&Sources::standard(file)) {
        Ok(_) => {
            println!("configuration OK");
            ExitCode::SUCCESS
        }
        Err(e) => {
            eprintln!("{e}");
            ExitCode::from(EXIT_CONFIG)
        }
    }
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
    level: &str,
    f: F,
) -> anyhow::Result<()> {
    init_logging(level);
    tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .context("starting the async runtime")?
        .block_on(f)
}

/// `RUST_LOG` wins over the configured level, so one run can be made verbose without editing files.
fn init_logging(level: &str) {
    let filter = tracing_subscriber::EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new(level));
    // Logs go to stderr: stdout is for what the command prints (the demo banner, check-config).
    tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .init();
}

async fn run(config: config::Config) -> anyhow::Result<()> {
    let gateway = RunningGateway::start(config).await?;
    println!("idbridge gateway listening on {}", gateway.base_url());
    tokio::signal::ctrl_c()
        .await
        .context("waiting for Ctrl-C")?;
    gateway.shutdown().await;
    Ok(())
}

async fn demo(mut config: config::Config) -> anyhow::Result<()> {
    let opts = SimOptions::default();
    let enos = Simulator::start_enos(DEMO_ENOS.parse()?, &opts)
        .await
        .with_context(|| format!("starting the EnOS IAM simulator on {DEMO_ENOS}"))?;
    let netid = Simulator::start_netid(DEMO_NETID.parse()?, &opts)
        .await
        .with_context(|| format!("starting the Net iD Portal simulator on {DEMO_NETID}"))?;
    config.backends.enos.url = enos.base_url().parse()?;
    config.backends.netid.url = netid.base_url().parse()?;
    let gateway = RunningGateway::start(config).await?;
    print!(
        "{}",
        demo_banner(&gateway.base_url(), &enos.base_url(), &netid.base_url())
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
    tokio::signal::ctrl_c()
        .await
        .context("waiting for Ctrl-C")?;
    enos.shutdown().await;
    netid.shutdown().await;
    Ok(())
}
