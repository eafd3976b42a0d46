//! The `idbridge` command: run the gateway, the demo, the backend simulators, or check a config.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::Context;
use clap::{Parser, Subcommand};
use idbridge_gateway::RunningGateway;
use idbridge_gateway::backend::Kinds;
use idbridge_gateway::config::{
    self, ClientAuth, Config, ListenerTls, LogConfig, LogFormat, Sources,
};
use idbridge_gateway::runtime::Runtime;
use idbridge_sim::{SimOptions, Simulator};
use tokio::signal::unix::{SignalKind, signal};
use tracing_subscriber::prelude::*;

mod banner;
mod clock;
mod netid_login;

/// mimalloc rather than the system allocator: a cached session is some forty small allocations,
/// which mimalloc's size classes hold with less overhead than glibc's, and allocation is on every
/// request's path (benches/RESULTS.md has both measurements).
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

/// Exit status for an invalid configuration (sysexits EX_USAGE), as scripts and CI expect.
const EXIT_CONFIG: u8 = 64;
const DEMO_ENOS: &str = "127.0.0.1:18081";
const DEMO_NETID: &str = "127.0.0.1:18082";
/// The demo's TLS listener, when it runs over TLS.
const DEMO_TLS: &str = "127.0.0.1:8443";

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
    /// The gateway and both simulators in one process on the demo ports, ready to curl. With
    /// --tls-cert, --tls-key and --tls-ca the whole chain runs over TLS: the simulators serve the
    /// certificate, the gateway verifies them with the CA and listens on https://localhost:8443
    /// only (scripts/make-tls-certs.sh makes the files; `make demo-tls` does all of it).
    Demo {
        #[command(flatten)]
        tls: TlsFiles,
        /// The CA that signed --tls-cert, for the gateway to verify the simulators.
        #[arg(long, requires = "tls_cert")]
        tls_ca: Option<PathBuf>,
    },
    /// Run both backend simulators (EnOS IAM and Net iD Portal) with the demo directory; over TLS
    /// with --tls-cert and --tls-key.
    Sim {
        #[arg(long, default_value = DEMO_ENOS)]
        enos: SocketAddr,
        #[arg(long, default_value = DEMO_NETID)]
        netid: SocketAddr,
        #[command(flatten)]
        tls: TlsFiles,
    },
    /// Validate a configuration; prints every problem and exits 64 when invalid.
    CheckConfig {
        /// Configuration file layered over config/idbridge.toml.
        #[arg(long)]
        config: Option<PathBuf>,
    },
    /// Log in with a Net iD certificate and its private key, both steps, through the gateway
    /// (or a portal); prints the gateway token (unified faces) or the SessionId (Net iD faces).
    /// The defaults are the demo's: John Doe's certificate and key, the gateway on :8080.
    NetidLogin(netid_login::NetidLogin),
}

/// A certificate chain and its key (PEM), for serving TLS.
#[derive(Debug, clap::Args)]
struct TlsFiles {
    /// PEM certificate chain to serve TLS with.
    #[arg(long, requires = "tls_key")]
    tls_cert: Option<PathBuf>,
    /// PEM private key of --tls-cert.
    #[arg(long, requires = "tls_cert")]
    tls_key: Option<PathBuf>,
}

impl TlsFiles {
    /// Simulator options serving TLS with these files, if given.
    fn sim_options(&self) -> anyhow::Result<SimOptions> {
        let mut opts = SimOptions::default();
        if let (Some(cert), Some(key)) = (&self.tls_cert, &self.tls_key) {
            opts.tls = Some(idbridge_sim::tls::server_config(cert, key)?);
        }
        Ok(opts)
    }
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
            Ok(config) => report(run_async(
                &config.log.clone(),
                caller_threads(&config),
                run(config, file),
            )),
            Err(code) => code,
        },
        Command::Demo { tls, tls_ca } => match load(None) {
            Ok(config) => report(run_async(
                &config.log.clone(),
                caller_threads(&config),
                demo(config, tls, tls_ca),
            )),
            Err(code) => code,
        },
        Command::NetidLogin(login) => match tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .map_err(anyhow::Error::from)
            .and_then(|rt| rt.block_on(login.run()))
        {
            Ok(()) => ExitCode::SUCCESS,
            Err(e) => {
                eprintln!("netid-login: {e:#}");
                ExitCode::FAILURE
            }
        },
        Command::Sim { enos, netid, tls } => {
            let log = LogConfig {
                format: LogFormat::Text,
                level: "info".into(),
                access_sample: 1,
            };
            report(run_async(&log, None, sim(enos, netid, tls)))
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

/// The worker threads of the command's runtime when it serves client connections too
/// (`server.work_stealing`) and `server.threads` names a number; otherwise tokio's default, one
/// per core (`TOKIO_WORKER_THREADS` sets another).
fn caller_threads(config: &Config) -> Option<usize> {
    let server = &config.server;
    (server.work_stealing && server.threads > 0).then_some(server.threads)
}

fn run_async<F: std::future::Future<Output = anyhow::Result<()>>>(
    log: &LogConfig,
    threads: Option<usize>,
    f: F,
) -> anyhow::Result<()> {
    // Dropped when the command returns, the access log first (it writes into the other):
    // each writes out what is still queued.
    let (_flush_on_exit, _access_on_exit) = init_logging(log);
    let mut runtime = tokio::runtime::Builder::new_multi_thread();
    if let Some(n) = threads {
        runtime.worker_threads(n);
    }
    runtime
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
///
/// Access lines skip `tracing`'s formatting: `idbridge_gateway::access_log` builds them and hands
/// them to the same writer in batches.
fn init_logging(
    log: &LogConfig,
) -> (
    tracing_appender::non_blocking::WorkerGuard,
    Option<idbridge_gateway::access_log::Guard>,
) {
    let level = std::env::var("RUST_LOG").unwrap_or_else(|_| log.level.clone());
    let filter = tracing_subscriber::EnvFilter::new(idbridge_gateway::logging::filter(&level));
    let (writer, guard) = tracing_appender::non_blocking::NonBlockingBuilder::default()
        .lossy(false)
        .thread_name("idbridge-log")
        .finish(std::io::BufWriter::with_capacity(
            64 * 1024,
            std::io::stderr(),
        ));
    let style = match log.format {
        LogFormat::Json => idbridge_gateway::access_log::Style::Json,
        LogFormat::Text => idbridge_gateway::access_log::Style::Text,
    };
    let access = idbridge_gateway::access_log::install(
        Box::new(writer.clone()),
        style,
        clock::stamp,
        log.access_sample,
    );
    let fmt = tracing_subscriber::fmt::layer()
        .with_timer(clock::LogClock)
        .with_writer(writer);
    let fmt = match log.format {
        LogFormat::Json => fmt.json().flatten_event(true).with_filter(filter).boxed(),
        LogFormat::Text => fmt.with_filter(filter).boxed(),
    };
    tracing_subscriber::registry()
        .with(fmt)
        // Counts the TLS listener's failed handshakes, whatever level the logs are at.
        .with(idbridge_gateway::tls::HandshakeFailures::layer())
        .init();
    (guard, access)
}

async fn run(config: Config, file: Option<PathBuf>) -> anyhow::Result<()> {
    let gateway = RunningGateway::start(config).await?;
    let tls = gateway
        .tls_url()
        .map(|u| format!(", tls on {u}"))
        .unwrap_or_default();
    println!(
        "idbridge gateway on {}{tls}, admin on {}",
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

async fn demo(mut config: Config, tls: TlsFiles, tls_ca: Option<PathBuf>) -> anyhow::Result<()> {
    let opts = tls.sim_options()?;
    let enos = Simulator::start_enos(DEMO_ENOS.parse()?, &opts)
        .await
        .with_context(|| format!("starting the EnOS IAM simulator on {DEMO_ENOS}"))?;
    let netid = Simulator::start_netid(DEMO_NETID.parse()?, &opts)
        .await
        .with_context(|| format!("starting the Net iD Portal simulator on {DEMO_NETID}"))?;
    for (name, sim) in [("enos", &enos), ("netid", &netid)] {
        if let Some(backend) = config.backend_mut(name) {
            backend.url = sim.base_url().parse()?;
            backend.tls.ca_file = tls_ca.clone();
        }
    }
    let curl = match (&tls.tls_cert, &tls.tls_key) {
        (Some(cert), Some(key)) => {
            // Fully over TLS: the gateway listens on https only.
            config.server.listen = None;
            config.server.tls = Some(ListenerTls {
                listen: DEMO_TLS.parse()?,
                cert_file: cert.clone(),
                key_file: key.clone(),
                client_ca_file: None,
                client_auth: ClientAuth::Required,
            });
            match &tls_ca {
                Some(ca) => format!("curl --cacert {}", ca.display()),
                None => "curl".to_owned(),
            }
        }
        _ => "curl".to_owned(),
    };
    let gateway = RunningGateway::start(config).await?;
    // The login client is this very binary, however it was started.
    let exe =
        std::env::current_exe().map_or_else(|_| "idbridge".into(), |p| p.display().to_string());
    let mut login = format!("{exe} netid-login --url {}", gateway.base_url());
    if let (Some(ca), Some(_)) = (&tls_ca, &tls.tls_cert) {
        login.push_str(&format!(" --ca {}", ca.display()));
    }
    print!(
        "{}",
        banner::demo_banner(
            &curl,
            &login,
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

async fn sim(enos_addr: SocketAddr, netid_addr: SocketAddr, tls: TlsFiles) -> anyhow::Result<()> {
    let opts = tls.sim_options()?;
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
